--- nn.cli: `nn`, the command, over the module: look into a model file from
-- the shell without writing a script.
--
--   nn models demo.db
--   nn show demo.db leaf_flower@1
--   nn predict demo.db leaf_flower:weather 32 107 56 11.2
--   nn draw demo.db leaf_flower --input 32,107,56,11.2 > net.svg
--
-- Every command reads; only `predict --log` and `import` write.  Output is
-- plain text that a person and awk can read (columns separated by two or
-- more spaces, one record a line), or JSON lines with --json.  Errors go to
-- stderr, with exit status 1 (2 for a command line that makes no sense).
-- This file does no arithmetic: the module computes, this prints.

local nn = require "nn"

local cli = {}

local format, concat = string.format, table.concat

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
  import FILE DB NAME             a network from an ONNX or FANN file, saved
  export DB NAME[@V] FILE         a version written as ONNX (.onnx) or FANN (.net)

options: --json (models, show, predict: JSON lines), --help on any command
]]

local HELP = {
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
or of every line of comma-separated numbers on stdin when none is given.
Nothing is logged unless --log is given: then each prediction is logged and
its id printed after the score.]],
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
usage: nn import FILE DB NAME [--format onnx|fann] [--note TEXT]
Reads a network from an ONNX or FANN file and saves it as the next version
of model NAME in DB (created when missing).  Prints the version.]],
  export = [[
usage: nn export DB NAME[@VERSION] FILE [--format onnx|fann]
Writes a version as an ONNX or FANN file (the format from FILE's extension
when not given).]],
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

local function numbers(text, what)
  local list = {}
  for field in (text .. ","):gmatch("([^,]*),") do
    local v = tonumber((field:gsub("^%s+", ""):gsub("%s+$", "")))
    if v == nil then fail(format("%s: '%s' is not a number", what, field), 2) end
    list[#list + 1] = v
  end
  return list
end

local function names(text)
  local list = {}
  for field in (text .. ","):gmatch("([^,]*),") do list[#list + 1] = field end
  return list
end

-- --- the store ----------------------------------------------------------------

-- Opens DB, which must exist: a command never creates a file it was asked
-- to read.  Read-only where the module can (nn.open's readonly option).
local function open(path, write)
  local f = io.open(path, "rb")
  if not f then fail(format("%s: no such file", path)) end
  f:close()
  local store, msg
  if not write then
    local ok
    ok, store, msg = pcall(nn.open, path, { readonly = true })
    if not ok then store, msg = nn.open(path) end
  else
    store, msg = nn.open(path)
  end
  if not store then fail(msg) end
  return store
end

-- f(...), its error (without the position Lua puts before it) a failure.
local function checked(ok, ...)
  if not ok then fail((tostring((...)):gsub("^[^:\n]*:%d+: ", ""))) end
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
  local store = open(pos[1])
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
        labelmaps = r.maps and names(r.maps) or setmetatable({}, { __metatable = "array" }),
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

function commands.show(argv, out)
  local pos, opts = parse(argv, 2, { json = true }, {})
  if opts.help then return HELP.show end
  if #pos ~= 2 then fail("show takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local store = open(pos[1])
  local net = call(function() return store:load(name, version) end)
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
  -- the run through store:history, which checks it against its digest
  local run = call(function() return store:history(name, v.version) end)
  local training
  if run then
    training = { best_epoch = run.best_epoch, ended_at = run.ended_at, epochs = #run.epochs,
      options = json(run.options), rows = run.rows, source = run.source,
      started_at = run.started_at, stopped = run.stopped }
  end
  store:close()
  if opts.json then
    local m = {}
    for _, r in ipairs(maps) do m[r.name] = r.labels end
    out:write(json{ name = name, version = v.version, inputs = net:n_inputs(),
      outputs = net:n_outputs(), params = net:n_params(), layers = tostring(net),
      note = v.note, created = v.created, checksum = v.checksum, labelmaps = m,
      training = training }, "\n")
    return
  end
  out:write(format("%s version %d", name, v.version), v.note and ("  (" .. v.note .. ")") or "",
    "\n", tostring(net), "\n")
  out:write(format("inputs %d, outputs %d, parameters %d, saved %s, checksum %s\n",
    net:n_inputs(), net:n_outputs(), net:n_params(), v.created, v.checksum))
  if #maps == 0 then out:write("label maps: none\n") end
  for _, r in ipairs(maps) do out:write(format("label map %s: %s\n", r.name, r.labels)) end
  if training then
    local keys = {}
    for k in pairs(training) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
      parts[#parts + 1] = k .. " " .. tostring(training[k])
    end
    out:write("training: ", concat(parts, ", "), "\n")
  else
    out:write("training: none recorded\n")
  end
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

function commands.predict(argv, out, input)
  local pos, opts = parse(argv, 2, { json = true, log = true }, {})
  if opts.help then return HELP.predict end
  if #pos < 2 then fail("predict takes a database, NAME[@VERSION][:MAP] and inputs", 2) end
  local name, version, map = parse_ref(pos[2], true)
  local store = open(pos[1], opts.log)
  local net = call(function() return store:load(name, version) end)
  local labels = map and map_labels(store, name, map, net:n_outputs())
  local inputs = {}
  if #pos == 3 and pos[3]:match("^%s*%[") then
    inputs[1] = numbers(pos[3]:gsub("^%s*%[", ""):gsub("%]%s*$", ""), "input")
  elseif #pos > 2 then
    local x = {}
    for i = 3, #pos do
      x[#x + 1] = tonumber(pos[i]) or fail(format("input: '%s' is not a number", pos[i]), 2)
    end
    inputs[1] = x
  else
    local n = 0
    for line in input:lines() do
      n = n + 1
      if line:match("%S") then
        inputs[#inputs + 1] = numbers(line, format("stdin line %d", n))
      end
    end
  end
  for _, x in ipairs(inputs) do
    -- not a tail call, so that LuaJIT too names 'classify' in its errors
    local label, score, y = call(function()
      local l, sc, out_y = net:classify(x, labels)
      return l, sc, out_y
    end)
    local id
    if opts.log then id = call(function() return store:log(net, x, y, { labels = map }) end) end
    if opts.json then
      out:write(json{ label = label, score = score, outputs = y, id = id }, "\n")
    else
      out:write(tostring(label), "\t", format("%.6g", score), id and ("\t" .. id) or "", "\n")
    end
  end
  call(function() return store:close() end)
end

function commands.draw(argv, out)
  local pos, opts = parse(argv, 2, { input = true, inputs = true, title = true },
    { input = true, inputs = true, title = true })
  if opts.help then return HELP.draw end
  if #pos ~= 2 then fail("draw takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local store = open(pos[1])
  local net = call(function() return store:load(name, version) end)
  store:close()
  local x = opts.input and numbers(opts.input, "--input")
  out:write(call(nn.svg, net, { x = x, inputs = opts.inputs and names(opts.inputs),
    title = opts.title or format("%s%s", name, version and "@" .. version or "") }))
end

function commands.curve(argv, out)
  local pos, opts = parse(argv, 2, {}, {})
  if opts.help then return HELP.curve end
  if #pos ~= 2 then fail("curve takes a database and NAME[@VERSION]", 2) end
  local name, version = parse_ref(pos[2], false)
  local store = open(pos[1])
  if not store.svg_history then fail("this nn keeps no training runs") end
  local picture = call(function() return store:svg_history(name, version) end)
  store:close()
  out:write(picture)
end

function commands.confusion(argv, out)
  local pos, opts = parse(argv, 2, {}, {})
  if opts.help then return HELP.confusion end
  if #pos ~= 2 then fail("confusion takes a database and NAME[@VERSION][:MAP]", 2) end
  local name, version, map = parse_ref(pos[2], true)
  local store = open(pos[1])
  local picture = call(function() return store:svg_confusion(name, version, map) end)
  store:close()
  out:write(picture)
end

function commands.import(argv, out)
  local pos, opts = parse(argv, 2, { format = true, note = true }, { format = true, note = true })
  if opts.help then return HELP.import end
  if #pos ~= 3 then fail("import takes a file, a database and a model name", 2) end
  if not nn.import then fail("this nn cannot import networks") end
  local net = call(nn.import, pos[1], opts.format and { format = opts.format })
  local store, msg = nn.open(pos[2])
  if not store then fail(msg) end
  local version = call(function() return store:save(pos[3], net, { note = opts.note }) end)
  call(function() return store:close() end)
  out:write(format("%s version %d\n", pos[3], version))
end

function commands.export(argv, out)
  local pos, opts = parse(argv, 2, { format = true }, { format = true })
  if opts.help then return HELP.export end
  if #pos ~= 3 then fail("export takes a database, NAME[@VERSION] and a file", 2) end
  local name, version = parse_ref(pos[2], false)
  local fmt = opts.format or (pos[3]:match("%.onnx$") and "onnx")
    or (pos[3]:match("%.net$") and "fann")
  if not fmt then fail("export: say --format onnx or fann (or name the file .onnx or .net)", 2) end
  local store = open(pos[1])
  local net = call(function() return store:load(name, version) end)
  store:close()
  if not net.export then fail("this nn cannot export networks") end
  call(function() return net:export(pos[3], fmt) end)
  out:write(format("wrote %s\n", pos[3]))
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
  local run = commands[cmd]
  if not run then
    err:write(format("nn: unknown command '%s'\n", cmd), USAGE)
    return 2
  end
  local ok, help = pcall(run, argv, out, input)
  if ok then
    if help then out:write(help, "\n") end
    return 0
  end
  if getmetatable(help) == Fail then
    err:write("nn ", cmd, ": ", help.msg, "\n")
    if help.status == 2 then err:write(HELP[cmd], "\n") end
    return help.status
  end
  err:write("nn ", cmd, ": ", tostring(help), "\n")
  return 1
end

return cli
