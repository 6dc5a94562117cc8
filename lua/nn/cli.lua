--- nn.cli: `nn`, the command, over the module: look into a model file from
-- the shell without writing a script.
--
--   nn models demo.db
--   nn show demo.db leaf_flower@1
--   nn predict demo.db leaf_flower:weather 32 107 56 11.2
--   nn draw demo.db leaf_flower --input 32,107,56,11.2 > net.svg
--
-- Every command reads; only `predict --log` and `import` write.  No command
-- creates a database unless told (`import --create`), writes into a file
-- that is not an nn database already, or writes over a database (export).
-- Output is plain text that a person and awk can read (columns separated by
-- two or more spaces, one record a line), or JSON lines with --json.  Errors
-- go to stderr, with exit status 1 (2 for a command line that makes no
-- sense), and speak of the command's arguments and options, not of the Lua
-- functions below.  This file does no arithmetic: the module computes, this
-- prints.

local nn = require "nn"

local cli = {}

local format, concat = string.format, table.concat

-- The most nn import reads of a file: it reads the whole file before it
-- parses it, and an ONNX file this long holds some 64 million float32
-- parameters.  A larger file, or an endless one (/dev/zero), is refused
-- once this much has been read (a file's size is asked first when it has one).
local IMPORT_MIB = 256
local IMPORT_MAX = IMPORT_MIB * 1024 * 1024

local USAGE = [[
usage: nn COMMAND [ARGS] [--help]

commands:
  models DB                       models, versions, notes, label maps, accuracy
  show DB NAME[@V]                a version: layers, sizes, label maps, training
  predict DB NAME[@V][:MAP] [X..] label and score of inputs (numbers, a JSON
                                  array, or CSV lines on stdin); --log logs them
  draw DB NAME[@V] [--input X,..] the network as SVG, on stdout
  curve DB NAME[@V]               the training run as SVG (loss per epoch)
  confusion DB NAME[@V][:MAP]     predictions against feedback as SVG
  import FILE DB NAME [--create]  a network from an ONNX or FANN file, saved
  export DB NAME[@V] FILE         a version written as ONNX (.onnx) or FANN (.net)
  push SRC DST                    versions, label maps, runs and the log of SRC
                                  that DST lacks, into DST (a file or a URL)
  pull DB SRC                     the same from SRC into DB

options: --json (models, show, predict: JSON lines), --help on any command

DB is an nn database that is there: no command creates one but import
--create, and export never writes over a database.
]]

local HELP = {
  push = [[
usage: nn push SRC DST [--chunk N] [--create]
Copies into DST what SRC holds and DST lacks: versions (their digests
checked; one that does not verify is refused), label maps, training runs,
and the prediction log with its feedback, each row once (a second push
sends nothing; a push cut off and run again goes on where it stopped).
SRC and DST are nn database files or PostgreSQL URLs (postgresql://...).
The log goes in transactions of N rows (default 1000).  A file DST is
made only with --create; a PostgreSQL schema is made when missing.
Prints what was copied.]],
  pull = [[
usage: nn pull DB SRC [--chunk N]
What nn push SRC DB does: DB takes what SRC holds and DB lacks.]],
  models = [[
usage: nn models DB [--json]
Lists every version of every model in DB: its sizes, note, label maps and
its accuracy against feedback (n answered, correct).]],
  show = [[
usage: nn show DB NAME[@VERSION] [--json]
Prints a version (the latest without @VERSION): its layers as nn lists them,
its sizes, its label maps and, when it was trained, its training run.]],
  predict = [[
usage: nn predict DB NAME[@VERSION][:LABELMAP] [X1 X2 ... | '[X1, X2, ...]'] [--log] [--json]
Prints the label and score of one input given as numbers or a JSON array,
or of every line of comma-separated numbers on stdin when none is given,
each answered before the next line is read.  Numbers are decimal (no hex,
no inf or nan) and within float32's range.  Nothing is logged unless --log
is given: then each prediction is logged and its id printed after the score.]],
  draw = [[
usage: nn draw DB NAME[@VERSION] [--input X1,X2,...] [--inputs NAME1,NAME2,...] [--title TEXT]
Writes the network as an SVG picture on stdout: layers left to right, lines
coloured by the weight's sign and as thick as its size.  With --input every
neuron shows its value for that input and the winning output is marked.]],
  curve = [[
usage: nn curve DB NAME[@VERSION]
Writes the loss, validation loss and validation accuracy per epoch of the
version's training run as an SVG picture on stdout.]],
  confusion = [[
usage: nn confusion DB NAME[@VERSION][:LABELMAP]
Writes the confusion matrix of a version's predictions against the feedback
they got (the latest answer per prediction) as an SVG picture on stdout.]],
  import = [[
usage: nn import FILE DB NAME [--format onnx|fann] [--note TEXT] [--create]
Reads a network from an ONNX or FANN file (256 MiB at most) and saves it as
the next version of model NAME in DB, an nn database; with --create, DB is
made when there is none (no file, or an empty one).  NAME may not hold '@' or ':', which
separate the version and the label map in NAME@VERSION:MAP.  Prints the
version.]],
  export = [[
usage: nn export DB NAME[@VERSION] FILE [--format onnx|fann]
Writes a version as an ONNX or FANN file (the format from FILE's extension
when not given).  FILE is never a database: an SQLite file there, DB under
any name included, is left as it is and the export refused.]],
}

-- An error meant for the user: the message, and the exit status.
local Fail = {}
local function fail(msg, status)
  error(setmetatable({ msg = msg, status = status or 1 }, Fail), 0)
end

-- --- JSON out -------------------------------------------------------------

local function json(v)
  local t = type(v)
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
        ["\t"] = "\\t" }
      return named[c] or format("\\u%04x", c:byte())
    end) .. '"'
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return format("%.0f", v) end
    for digits = 15, 16 do   -- the shortest that reads back as v
      local s = format("%." .. digits .. "g", v)
      if tonumber(s) == v then return s end
    end
    return format("%.17g", v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    local parts = {}
    if #v > 0 or next(v) == nil and getmetatable(v) == "array" then
      for i = 1, #v do parts[i] = json(v[i]) end
      return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for i, k in ipairs(keys) do parts[i] = json(k) .. ":" .. json(v[k]) end
    return "{" .. concat(parts, ",") .. "}"
  end
  return "null"
end
cli.json = json

-- --- arguments --------------------------------------------------------------

-- Splits argv into positional arguments and --options (flags that take a
-- value are named in takes).  Raises a usage failure on an unknown option.
local function parse(argv, first, known, takes)
  local pos, opts, i = {}, {}, first
  while i <= #argv do
    local a = argv[i]
    if a == "--help" or a == "-h" then
      opts.help = true
    elseif a:sub(1, 2) == "--" and #a > 2 then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      if not known[name] then fail(format("unknown option --%s", name), 2) end
      if takes[name] then
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then fail(format("--%s needs a value", name), 2) end
        end
        opts[name] = value
      else
        if value then fail(format("--%s takes no value", name), 2) end
        opts[name] = true
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return pos, opts
end

-- NAME[@VERSION][:MAP], as the SQL functions read a model reference.
local function parse_ref(ref, map_allowed)
  local name, rest = ref:match("^([^@:]*)(.*)$")
  if name == "" then fail(format("model reference '%s' has no model name", ref), 2) end
  local version, map
  if rest:sub(1, 1) == "@" then
    local digits, tail = rest:match("^@(%d+)(.*)$")
    if not digits or tonumber(digits) < 1 or (tail ~= "" and tail:sub(1, 1) ~= ":") then
      fail(format("model reference '%s': the version after '@' must be a positive integer",
        ref), 2)
    end
    version, rest = tonumber(digits), tail
  end
  if rest:sub(1, 1) == ":" then
    map = rest:sub(2)
    if map == "" then fail(format("model reference '%s' has no label map name after ':'", ref), 2) end
    if not map_allowed then fail(format("model reference '%s': no label map here", ref), 2) end
  end
  return name, version, map
end

-- --- inputs -----------------------------------------------------------------

-- Where float32 ends: as the module reads a number (nn_number_float), half
-- a unit in the last place above FLT_MAX still rounds to FLT_MAX.
local FLT_MAX = 3.4028234663852886e38
local FLT_END = FLT_MAX + 2 ^ 103

-- The number that text is, when it is a decimal as nn's readers take one
-- (an optional sign, digits with at most one '.', an optional exponent:
-- nn_number.h), not the hex, "inf" or "nan" that tonumber also takes; nil
-- for anything else.
local function decimal(text)
  local s = text:match("^%s*(.-)%s*$")
  local digits = s:match("^[+-]?([%d.]+)[eE][+-]?%d+$") or s:match("^[+-]?([%d.]+)$")
  if not digits or not digits:find("%d") or digits:find("%..*%.") then return nil end
  return tonumber(s)
end

-- The number of a JSON number text (RFC 8259: no '+', no leading zeros, no
-- bare '.'); nil for anything else.
local function json_number(text)
  local s = text:match("^%s*(.-)%s*$")
  local int, rest = s:match("^%-?(%d+)(.*)$")
  if not int or (#int > 1 and int:sub(1, 1) == "0") then return nil end
  rest = rest:gsub("^%.%d+", "", 1)
  rest = rest:gsub("^[eE][+-]?%d+", "", 1)
  if rest ~= "" then return nil end
  return tonumber(s)
end

-- v, the number of text, as the network will take it: within float32's
-- range (a value that rounds to FLT_MAX is FLT_MAX).  Fails naming what.
local function float32(v, text, what)
  if not (v > -FLT_END and v < FLT_END) then
    fail(format("%s: '%s' is beyond float32's range", what, text:match("^%s*(.-)%s*$")))
  end
  return math.max(-FLT_MAX, math.min(FLT_MAX, v))
end

-- The numbers of the fields of list (strings), each read by read_one; fails
-- naming what and the field that is not one (with status: 2 for the
-- command line, 1 for stdin).
local function read_fields(list, read_one, kind, what, status)
  local x = {}
  for i, field in ipairs(list) do
    local v = read_one(field)
    if v == nil then
      fail(format("%s: '%s' is not %s", what, field:match("^%s*(.-)%s*$"), kind), status)
    end
    x[i] = float32(v, field, what)
  end
  return x
end

-- The comma-separated fields of text ("" gives one empty field).
local function fields(text)
  local list = {}
  for field in (text .. ","):gmatch("([^,]*),") do list[#list + 1] = field end
  return list
end

-- Comma-separated decimal numbers: a line of stdin, or --input.
local function csv_numbers(text, what, status)
  return read_fields(fields(text), decimal, "a decimal number", what, status)
end

-- A JSON array of numbers, strictly: '[1, 2, 3, 4' and '[0x10]' are
-- refused, naming the text.
local function json_numbers(text, what)
  local body = text:match("^%s*%[(.*)%]%s*$")
  if body == nil then fail(format("%s: '%s' is not a JSON array", what, text), 2) end
  if body:match("^%s*$") then return {} end
  return read_fields(fields(body), json_number, "a JSON number", what, 2)
end

-- x, when it has the n numbers the network takes; else fails naming what.
local function check_count(x, n, what)
  if #x ~= n then fail(format("%s: expected %d numbers, got %d", what, n, #x)) end
  return x
end

-- --- files ----------------------------------------------------------------

-- io.open's and read's error numbers for a missing file and a folder (the
-- same on Linux, the BSDs and macOS).
local ENOENT, EISDIR = 2, 21

-- The file at path, opened to read, after a read of nothing that tells a
-- folder (which io.open opens on POSIX systems); else nil, the message and
-- the error number.
local function open_file(path)
  local f, msg, code = io.open(path, "rb")
  if not f then return nil, msg, code end
  local ok, err, ecode = f:read(0)
  if ok == nil and err then
    f:close()
    return nil, format("%s: %s", path, err), ecode
  end
  return f
end

-- Fails unless path holds what may be an nn database: a file, neither a
-- folder nor empty (nn.open would make a database in an empty file).  With
-- create, no file or an empty one is fine too: then true.  hint follows the
-- message for a missing file.
local function check_db(path, create, hint)
  local f, msg, code = open_file(path)
  if not f then
    if code == ENOENT and create then return true end
    if code == ENOENT then fail(format("%s: no such file%s", path, hint or "")) end
    if code == EISDIR then fail(format("%s is a folder, not an nn database", path)) end
    fail(msg)
  end
  local head = f:read(16)
  f:close()
  if head == nil and create then return true end
  if head == nil then fail(format("%s is empty: not an nn database", path)) end
end

-- The stores a command opened: cli.main closes them whatever happened, so
-- that the rows `predict --log` logged before a failure are written.
local opened = {}

-- Opens the nn database at path: mode "read" (read-only: nothing written,
-- not even a migration), "write", or "create" (write, and make it when no
-- file, or an empty one, is there).  Fails as check_db does, and with
-- nn.open's message.
local function open(path, mode, hint)
  check_db(path, mode == "create", hint)
  local store, msg
  if mode == "read" then
    store, msg = nn.open(path, { readonly = true })
  else
    store, msg = nn.open(path)
  end
  if not store then fail(msg) end
  opened[#opened + 1] = store
  return store
end

-- The first bytes of the files export never writes over: an SQLite
-- database (any: DB under another name, a link or ./DB, too), and beside
-- one its write-ahead log, its shared-memory index (little-endian) and its
-- rollback journal.
local SQLITE_FILES = {
  { "SQLite format 3\0", "an SQLite database" },
  { "\55\127\6\130", "an SQLite write-ahead log" },
  { "\55\127\6\131", "an SQLite write-ahead log" },
  { "\24\226\45\0", "an SQLite shared-memory index" },
  { "\217\213\5\249\32\161\99\215", "an SQLite journal" },
}

-- Which of SQLITE_FILES the file at path is, or nil.
local function sqlite_kind(path)
  local f = io.open(path, "rb")
  local head = f and f:read(16)
  if f then f:close() end
  if type(head) ~= "string" then return nil end
  for _, magic in ipairs(SQLITE_FILES) do
    if head:sub(1, #magic[1]) == magic[1] then return magic[2] end
  end
end

-- Fails when export must not write the file at path: one of SQLITE_FILES,
-- or the name SQLite gives the side files of a database (DB-wal, DB-shm,
-- DB-journal), which SQLite would read as such even when they are not there
-- yet.  Decided from the files' bytes and names, which need nothing Lua
-- lacks (a device and inode would need stat).
local function refuse_sqlite(path)
  local kind = sqlite_kind(path)
  if kind then fail(format("%s is %s: export never writes over one", path, kind)) end
  for _, suffix in ipairs{ "-wal", "-shm", "-journal" } do
    local db = path:sub(-#suffix) == suffix and path:sub(1, -#suffix - 1)
    if db and sqlite_kind(db) == "an SQLite database" then
      fail(format("%s is the name of %s's %s file: export never writes one", path, db,
        suffix:sub(2)))
    end
  end
end

-- The bytes of the file at path, for import: IMPORT_MAX at most.  A file
-- with a size is refused before it is read; one without (a device, a pipe)
-- is read in blocks that stop once they pass the limit.
local function read_limited(path)
  local f, msg, code = open_file(path)
  if code == EISDIR then fail(format("%s is a folder, not an ONNX or FANN file", path)) end
  if not f then fail(msg) end
  local too_long = format("%s is longer than %d MiB, the most import reads", path, IMPORT_MIB)
  local size = f:seek("end")
  if size and size > IMPORT_MAX then f:close(); fail(too_long) end
  if size then f:seek("set") end   -- a pipe has no end, and is read from where it is
  local parts, n, err = {}, 0, nil
  while true do
    local block
    block, err = f:read(65536)
    if block == nil then break end
    n = n + #block
    if n > IMPORT_MAX then f:close(); fail(too_long) end
    parts[#parts + 1] = block
  end
  f:close()
  if err then fail(format("%s: %s", path, err)) end
  if n == 0 then fail(format("%s is empty: not an ONNX or FANN file", path)) end
  return concat(parts)
end

-- --- the store ----------------------------------------------------------------

-- A module's error as the command's: without the position Lua puts before
-- it, nor the wrapper naming a Lua function the user never called
-- ("bad argument #1 to 'load' (...)", "svg_confusion: ...").
local function plain(msg)
  msg = tostring(msg):gsub("^[^:\n]*:%d+: ", "")
  msg = msg:gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1")
  msg = msg:gsub("^svg_%a+: ", ""):gsub("^nn%.svg: ", "")
  return msg
end

-- f(...), its error a failure.
local function checked(ok, ...)
  if not ok then fail(plain((...))) end
  return ...
end
local function call(f, ...)
  return checked(pcall(f, ...))
end

local function rows(store, sql, ...)
  local list = {}
  for row in store:rows(sql, ...) do list[#list + 1] = row end
  return list
end

-- Aligned columns: every column as wide as its widest cell, two spaces apart.
local function table_out(out, header, records)
  local widths = {}
  for i, h in ipairs(header) do widths[i] = #h end
  for _, r in ipairs(records) do
    for i = 1, #header do
      local cell = tostring(r[i] == nil and "-" or r[i])
      r[i] = cell
      if #cell > widths[i] then widths[i] = #cell end
    end
  end
  local function line(cells)
    local parts = {}
    for i = 1, #header do
      parts[i] = i < #header and cells[i] .. string.rep(" ", widths[i] - #cells[i]) or cells[i]
    end
    out:write((concat(parts, "  "):gsub("%s+$", "")), "\n")
  end
  line(header)
  for _, r in ipairs(records) do line(r) end
end

-- --- commands -------------------------------------------------------------

local commands = {}

function commands.models(argv, out)
  local pos, opts = parse(argv, 2, { json = true }, {})
  if opts.help then return HELP.models end
  if #pos ~= 1 then fail("models takes one database", 2) end
  local store = open(pos[1], "read")
  local list = rows(store, [[
    SELECT m.name, v.version, v.n_inputs, v.n_outputs, v.n_params, v.note,
           strftime('%Y-%m-%d %H:%M', v.created_at / 1000, 'unixepoch') AS created,
           (SELECT group_concat(name, ',') FROM
              (SELECT DISTINCT l.name FROM nn_labelmap AS l
               WHERE l.model_id = m.model_id ORDER BY l.name)) AS maps,
           a.n, a.correct, a.accuracy
    FROM nn_version AS v
    JOIN nn_model AS m ON m.model_id = v.model_id
    LEFT JOIN nn_accuracy AS a ON a.name = m.name AND a.version = v.version
    ORDER BY m.name, v.version]])
  store:close()
  if opts.json then
    for _, r in ipairs(list) do
      out:write(json{ name = r.name, version = r.version, inputs = r.n_inputs,
        outputs = r.n_outputs, params = r.n_params, note = r.note, created = r.created,
        labelmaps = r.maps and fields(r.maps) or setmetatable({}, { __metatable = "array" }),
        feedback = r.n or 0, correct = r.correct or 0, accuracy = r.accuracy }, "\n")
    end
    return
  end
  local records = {}
  for _, r in ipairs(list) do
    records[#records + 1] = {
      r.name, format("%d", r.version), format("%d -> %d", r.n_inputs, r.n_outputs),
      format("%d", r.n_params), r.maps or "-",
      r.n and format("%d/%d %.1f%%", r.correct, r.n, 100 * r.accuracy) or "-",
      r.created, r.note or "",
    }
  end
  table_out(out, { "model", "version", "shape", "params", "labelmaps", "accuracy", "created",
    "note" }, records)
end

-- The version, label maps and training run of model name (version: the
-- latest when nil), all read before the store closes.
local function version_facts(store, name, version)
  local net = call(store.load, store, name, version)
  local v = rows(store, [[
    SELECT v.version, v.version_id, v.note, v.checksum,
           strftime('%Y-%m-%d %H:%M:%S', v.created_at / 1000, 'unixepoch') AS created
    FROM nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id
    WHERE m.name = ? ORDER BY (v.version = ?) DESC, v.version DESC LIMIT 1]],
    name, version or -1)[1]
  local maps = rows(store, [[
    SELECT l.name, l.labels FROM nn_labelmap AS l JOIN nn_model AS m ON m.model_id = l.model_id
    WHERE m.name = ? AND l.labelmap_id = (SELECT max(l2.labelmap_id) FROM nn_labelmap AS l2
                                          WHERE l2.model_id = l.model_id AND l2.name = l.name)
    ORDER BY l.name]], name)
  for _, r in ipairs(maps) do
    r.list = {}
    for e in store:rows("SELECT value FROM json_each(?) ORDER BY key", r.labels) do
      r.list[#r.list + 1] = e.value
    end
  end
  -- the run through store:history, which checks it against its digest
  local run = call(store.history, store, name, v.version)
  local training
  if run then
    training = { best_epoch = run.best_epoch, ended_at = run.ended_at, epochs = #run.epochs,
      options = run.options, rows = run.rows, source = run.source,
      started_at = run.started_at, stopped = run.stopped }
  end
  return net, v, maps, training
end

-- show's text: the listing, the sizes, each label map and the run.
local function show_text(out, name, net, v, maps, training)
  out:write(format("%s version %d", name, v.version), v.note and ("  (" .. v.note .. ")") or "",
    "\n", tostring(net), "\n")
  out:write(format("inputs %d, outputs %d, parameters %d, saved %s, checksum %s\n",
    net:n_inputs(), net:n_outputs(), net:n_params(), v.created, v.checksum))
  if #maps == 0 then out:write("label maps: none\n") end
  for _, r in ipairs(maps) do out:write(format("label map %s: %s\n", r.name, r.labels)) end
  if not training then
    out:write("training: none recorded\n")
    return
  end
  local keys, parts = {}, {}
  for k in pairs(training) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local value = training[k]
    parts[#parts + 1] = k .. " " .. (type(value) == "table" and json(value) or tostring(value))
  end
  out:write("training: ", concat(parts, ", "), "\n")
end

function commands.show(argv, out)
  local pos, opts = parse(argv, 2, { json = true }, {})
  if opts.help then return HELP.show end
  if #pos ~= 2 then fail("show takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local store = open(pos[1], "read")
  local net, v, maps, training = version_facts(store, name, version)
  store:close()
  if not opts.json then return show_text(out, name, net, v, maps, training) end
  -- one JSON object: label maps and training options as objects, not text
  local m = {}
  for _, r in ipairs(maps) do m[r.name] = r.list end
  -- each module as the kind table describes it; its tensors a list even when none
  local modules = net:modules()
  for _, mod in ipairs(modules) do setmetatable(mod.params, { __metatable = "array" }) end
  out:write(json{ name = name, version = v.version, inputs = net:n_inputs(),
    outputs = net:n_outputs(), params = net:n_params(), layers = tostring(net),
    modules = modules,
    note = v.note, created = v.created, checksum = v.checksum, labelmaps = m,
    training = training }, "\n")
end

-- The labels of map `map` of model name that fit n outputs.  Raises.
local function map_labels(store, name, map, n)
  local labels = {}
  for row in store:rows([[
      SELECT e.value AS label FROM nn_labelmap AS l, json_each(l.labels) AS e
      WHERE l.labelmap_id = (SELECT max(l2.labelmap_id) FROM nn_labelmap AS l2
                             JOIN nn_model AS m ON m.model_id = l2.model_id
                             WHERE m.name = ? AND l2.name = ?)
      ORDER BY e.key]], name, map) do
    labels[#labels + 1] = tostring(row.label)
  end
  if #labels == 0 then fail(format("model '%s' has no label map '%s'", name, map)) end
  if #labels ~= n then
    fail(format("label map '%s' has %d labels, model '%s' has %d outputs", map, #labels, name, n))
  end
  return labels
end

-- The input given on predict's command line (pos[3] onwards): numbers, or
-- one JSON array.  nil when there is none: then stdin is read.
local function argument_input(pos)
  if #pos < 3 then return nil end
  if #pos == 3 and pos[3]:match("^%s*%[") then return json_numbers(pos[3], "input") end
  local list = {}
  for i = 3, #pos do list[#list + 1] = pos[i] end
  return read_fields(list, decimal, "a decimal number", "input", 2)
end

-- Classifies x, logs it with --log, and writes its answer.
local function answer(p, x, what)
  check_count(x, p.n, what)
  local label, score, y = call(p.net.classify, p.net, x, p.labels)
  local id
  if p.log then id = call(p.store.log, p.store, p.net, x, y, { labels = p.map }) end
  if p.json then
    p.out:write(json{ label = label, score = score, outputs = y, id = id }, "\n")
  else
    p.out:write(tostring(label), "\t", format("%.6g", score), id and ("\t" .. id) or "", "\n")
  end
end

function commands.predict(argv, out, input)
  local pos, opts = parse(argv, 2, { json = true, log = true }, {})
  if opts.help then return HELP.predict end
  if #pos < 2 then fail("predict takes a database, NAME[@VERSION][:MAP] and inputs", 2) end
  local name, version, map = parse_ref(pos[2], true)
  local x = argument_input(pos)
  local p = { out = out, json = opts.json, log = opts.log, map = map }
  p.store = open(pos[1], opts.log and "write" or "read")
  p.net = call(p.store.load, p.store, name, version)
  p.n = p.net:n_inputs()
  p.labels = map and map_labels(p.store, name, map, p.net:n_outputs())
  if x then
    answer(p, x, "input")
  else
    -- a line at a time, answered before the next is read: memory does not
    -- grow with the input, and a pipe gets its answers as lines come
    local n = 0
    for line in input:lines() do
      n = n + 1
      if line:match("%S") then
        local what = format("stdin line %d", n)
        answer(p, csv_numbers(line, what, 1), what)
      end
    end
  end
  call(p.store.close, p.store)
end

function commands.draw(argv, out)
  local pos, opts = parse(argv, 2, { input = true, inputs = true, title = true },
    { input = true, inputs = true, title = true })
  if opts.help then return HELP.draw end
  if #pos ~= 2 then fail("draw takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local x = opts.input and csv_numbers(opts.input, "--input", 2)
  local store = open(pos[1], "read")
  local net = call(store.load, store, name, version)
  store:close()
  if x then check_count(x, net:n_inputs(), "--input") end
  local inputs = opts.inputs and fields(opts.inputs)
  if inputs and #inputs ~= net:n_inputs() then
    fail(format("--inputs: expected %d names, got %d", net:n_inputs(), #inputs))
  end
  out:write(call(nn.svg, net, { x = x, inputs = inputs,
    title = opts.title or format("%s%s", name, version and "@" .. version or "") }))
end

function commands.curve(argv, out)
  local pos, opts = parse(argv, 2, {}, {})
  if opts.help then return HELP.curve end
  if #pos ~= 2 then fail("curve takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local store = open(pos[1], "read")
  local picture = call(store.svg_history, store, name, version)
  store:close()
  out:write(picture)
end

function commands.confusion(argv, out)
  local pos, opts = parse(argv, 2, {}, {})
  if opts.help then return HELP.confusion end
  if #pos ~= 2 then fail("confusion takes a database and NAME[@VERSION][:MAP]", 2) end
  local name, version, map = parse_ref(pos[2], true)
  local store = open(pos[1], "read")
  local picture = call(store.svg_confusion, store, name, version, map)
  store:close()
  out:write(picture)
end

-- The format named by --format: "onnx", "fann" or nil.
local function format_option(opts)
  local f = opts.format
  if f ~= nil and f ~= "onnx" and f ~= "fann" then
    fail(format("--format: expected onnx or fann, got '%s'", f), 2)
  end
  return f
end

-- The network in the bytes of FILE (path): nn.import's errors name FILE
-- and --format, not the Lua call.
local function import_bytes(path, bytes, fmt)
  -- bytes nn.import would take for a path: one line of text, which no ONNX
  -- or FANN file is (nn_lua_io.c's is_content)
  if not (bytes:byte(1) < 32 or bytes:find("\0", 1, true) or bytes:find("\n", 1, true)) then
    fail(format("%s: neither ONNX nor FANN", path))
  end
  local ok, net = pcall(nn.import, bytes, fmt and { format = fmt })
  if not ok then
    local msg = plain(net):gsub("%(name the format: .*%)$",
      "(name it: --format onnx or --format fann)")
    fail(format("%s: %s", path, msg))
  end
  return net
end

function commands.import(argv, out)
  local pos, opts = parse(argv, 2, { format = true, note = true, create = true },
    { format = true, note = true })
  if opts.help then return HELP.import end
  if #pos ~= 3 then fail("import takes a file, a database and a model name", 2) end
  local fmt, name = format_option(opts), pos[3]
  if name == "" or name:find("[@:]") then
    fail(format("model name '%s' cannot be named later: NAME@VERSION:MAP reads a name "
      .. "up to its first '@' or ':'", name), 2)
  end
  -- the file is read and understood before the database is touched
  local net = import_bytes(pos[1], read_limited(pos[1]), fmt)
  local store = open(pos[2], opts.create and "create" or "write",
    " (--create makes a new database)")
  local version = call(store.save, store, name, net, { note = opts.note })
  call(store.close, store)
  out:write(format("%s version %d\n", name, version))
end

function commands.export(argv, out)
  local pos, opts = parse(argv, 2, { format = true }, { format = true })
  if opts.help then return HELP.export end
  if #pos ~= 3 then fail("export takes a database, NAME[@VERSION] and a file", 2) end
  local name, version = parse_ref(pos[2], false)
  local fmt = format_option(opts) or (pos[3]:match("%.onnx$") and "onnx")
    or (pos[3]:match("%.net$") and "fann")
  if not fmt then fail("say --format onnx or fann (or name the file .onnx or .net)", 2) end
  local store = open(pos[1], "read")
  local net = call(store.load, store, name, version)
  store:close()
  refuse_sqlite(pos[3])
  call(net.export, net, pos[3], fmt)
  out:write(format("wrote %s\n", pos[3]))
end

-- An nn store named on the command line: a PostgreSQL URL, or a file that
-- is there, opened as open does (mode "read", "write" or "create").
local function open_any(where, mode, hint)
  if where:match("^postgres[a-z]*://") then
    local store, msg = nn.open(where, mode == "read" and { readonly = true } or nil)
    if not store then fail(msg) end
    opened[#opened + 1] = store
    return store
  end
  return open(where, mode, hint)
end

local function chunk_option(opts)
  if opts.chunk == nil then return nil end
  local n = tonumber(opts.chunk)
  if not n or n < 1 or n ~= math.floor(n) or not opts.chunk:match("^%d+$") then
    fail(format("--chunk: '%s' is not a positive integer", opts.chunk), 2)
  end
  return n
end

local function push_out(out, n)
  out:write(format("%d versions, %d label maps, %d training runs, %d predictions, "
    .. "%d feedback\n", n.versions, n.labelmaps, n.runs, n.predictions, n.feedback))
end

function commands.push(argv, out)
  local pos, opts = parse(argv, 2, { chunk = true, create = true }, { chunk = true })
  if opts.help then return HELP.push end
  if #pos ~= 2 then fail("push takes a source and a destination", 2) end
  local chunk = chunk_option(opts)
  local src = open_any(pos[1], "read")
  local dst = open_any(pos[2], opts.create and "create" or "write",
    " (--create makes a new database)")
  push_out(out, call(src.push, src, dst, { chunk = chunk }))
end

function commands.pull(argv, out)
  local pos, opts = parse(argv, 2, { chunk = true }, { chunk = true })
  if opts.help then return HELP.pull end
  if #pos ~= 2 then fail("pull takes a database and a source", 2) end
  local chunk = chunk_option(opts)
  local db = open_any(pos[1], "write")
  local src = open_any(pos[2], "read")
  push_out(out, call(db.pull, db, src, { chunk = chunk }))
end

-- Runs command cmd; its help text, or nil; raises as the command did.
-- Every store it opened is closed after it, whatever happened.
local function run(cmd, argv, out, input)
  local ok, help = pcall(commands[cmd], argv, out, input)
  for i = #opened, 1, -1 do
    pcall(opened[i].close, opened[i])
    opened[i] = nil
  end
  if not ok then error(help, 0) end
  return help
end

--- Runs the command line argv (arg of a script: argv[1] the command) with
-- output to out (io.stdout), errors to err (io.stderr), stdin from input.
-- Returns the exit status.
function cli.main(argv, out, err, input)
  out, err, input = out or io.stdout, err or io.stderr, input or io.stdin
  local cmd = argv[1]
  if cmd == nil or cmd == "--help" or cmd == "-h" or cmd == "help" then
    local topic = cmd == "help" and argv[2]
    if topic and HELP[topic] then out:write(HELP[topic], "\n") else out:write(USAGE) end
    return cmd == nil and 2 or 0
  end
  if not commands[cmd] then
    err:write(format("nn: unknown command '%s'\n", cmd), USAGE)
    return 2
  end
  local ok, help = pcall(run, cmd, argv, out, input)
  if ok then
    if help then out:write(help, "\n") end
    return 0
  end
  if getmetatable(help) == Fail then
    err:write("nn ", cmd, ": ", help.msg, "\n")
    if help.status == 2 then err:write(HELP[cmd], "\n") end
    return help.status
  end
  err:write("nn ", cmd, ": ", plain(help), "\n")
  return 1
end

return cli
