-- nn, the command, run as a user runs it from the clone (build/bin/nn, which
-- make builds): what it prints on stdout, on stderr, and its exit status.

local seed = require "spec.support.seed"
local picture = require "spec.support.picture"
local remove_db = require("spec.support.db").remove
local compat = require "spec.support.compat"

-- The command make built for the Lua under test.
local NN = compat.BUILD .. "/bin/nn"

-- Runs `build/bin/nn args` (stdin from input when given): stdout, stderr, status.
local function nn_cmd(args, input)
  local out, err = os.tmpname(), os.tmpname()
  local cmd = ("%s %s >%s 2>%s"):format(NN, args, out, err)
  if input then
    local inp = os.tmpname()
    local f = assert(io.open(inp, "w"))
    f:write(input)
    f:close()
    cmd = cmd .. " <" .. inp
  end
  local ok, _, status = os.execute(cmd)
  if type(ok) == "number" then status = ok / 256 end   -- Lua 5.1
  local function slurp(path)
    local f = assert(io.open(path))
    local s = f:read("*a")
    f:close()
    os.remove(path)
    return s
  end
  return slurp(out), slurp(err), status
end

describe("nn, the command", function()
  local db
  setup(function()
    db = os.tmpname()
    compat.sh(compat.LUA .. " examples/leaf_flower.lua " .. db)
  end)
  teardown(function() remove_db(db) end)

  it("lists models and versions in columns awk can read", function()
    local out, err, status = nn_cmd("models " .. db)
    assert.equal(0, status)
    assert.equal("", err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(3, #lines)
    assert.truthy(lines[1]:find("^model%s+version%s+shape%s+params%s+labelmaps%s+accuracy"))
    -- version 1: the seed's net, 4*3+3 + 3*2+2 = 23 parameters, both answers right
    local f = {}
    for w in lines[2]:gmatch("%S+") do f[#f + 1] = w end
    assert.same({ "leaf_flower", "1", "4", "->", "2", "23", "default,weather", "2/2", "100.0%" },
      { (table.unpack or unpack)(f, 1, 9) })
    assert.truthy(lines[2]:find("the seed's weights$"))
    assert.truthy(lines[3]:find("^leaf_flower%s+2%s.*flower bias 5$"))
  end)

  it("lists them as JSON lines with --json", function()
    local out, _, status = nn_cmd("models --json " .. db)
    assert.equal(0, status)
    local first = out:match("[^\n]+")
    assert.truthy(first:find('"name":"leaf_flower"', 1, true))
    assert.truthy(first:find('"labelmaps":["default","weather"]', 1, true))
    assert.truthy(first:find('"correct":2', 1, true))
    assert.truthy(first:find('"params":23', 1, true))
  end)

  it("shows a version: its layers, sizes and label maps", function()
    local out, _, status = nn_cmd("show " .. db .. " leaf_flower@1")
    assert.equal(0, status)
    assert.truthy(out:find("leaf_flower version 1  (the seed's weights)", 1, true))
    assert.truthy(out:find("  (1): nn.Linear(4 -> 3)\n  (2): nn.ReLU\n", 1, true))
    assert.truthy(out:find("inputs 4, outputs 2, parameters 23", 1, true))
    assert.truthy(out:find('label map weather: ["sunny","rainy"]', 1, true))
  end)

  it("predicts from numbers, a JSON array or CSV lines, and logs nothing", function()
    local before = nn_cmd("models --json " .. db)
    local out, _, status = nn_cmd("predict " .. db .. " leaf_flower@1 32 107 56 11.2")
    assert.equal(0, status)
    local label, score = out:match("^(%S+)\t(%S+)\n$")
    assert.equal("leaf", label)
    assert.near(seed.softmax[1], tonumber(score), 5e-5)
    out = nn_cmd("predict " .. db .. " 'leaf_flower@1:weather' '[32, 107, 56, 11.2]'")
    assert.equal("sunny", out:match("^(%S+)\t"))
    out = nn_cmd("predict " .. db .. " leaf_flower@1", "32,107,56,11.2\n250, 40, 120, 30\n")
    local answers = {}
    for l in out:gmatch("(%S+)\t%S+\n") do answers[#answers + 1] = l end
    assert.same({ "leaf", "flower" }, answers)
    assert.equal(before, (nn_cmd("models --json " .. db)))
  end)

  it("logs with --log, printing each prediction's id", function()
    local out, _, status = nn_cmd("predict --log --json " .. db .. " leaf_flower@1 32 107 56 11.2")
    assert.equal(0, status)
    local id = tonumber(out:match('"id":(%d+)'))
    assert.is_true(id > 3)
    assert.truthy(out:find('"label":"leaf"', 1, true))
  end)

  it("shows a version as one JSON object, its label maps and training nested", function()
    local out, err, status = nn_cmd("show --json " .. db .. " leaf_flower@1")
    assert.equal(0, status, err)
    assert.truthy(out:find('"labelmaps":{"default":["leaf","flower"],'
      .. '"weather":["sunny","rainy"]}', 1, true), out)
    -- its modules as net:modules() gives them: the first Linear's tensors, then ReLU's
    -- none, each with what it reads (the input, then module 1)
    assert.truthy(out:find('"modules":[{"c_name":"linear","hyper":{},"inputs":[0],'
      .. '"kind":"Linear","n_in":4,"n_out":3,"n_params":15,"name":"nn.Linear(4 -> 3)",'
      .. '"params":[{"name":"weight","shape":[3,4]},{"name":"bias","shape":[3]}]},'
      .. '{"c_name":"relu","hyper":{},"inputs":[1],"kind":"ReLU","n_in":3,"n_out":3,'
      .. '"n_params":0,"name":"nn.ReLU","params":[]}', 1, true), out)
    local trained = os.tmpname()
    compat.sh(compat.LUA .. " examples/train_leaf_flower.lua " .. trained)
    out = nn_cmd("show --json " .. trained .. " leaf_flower_trained")
    -- the options are an object, not a string holding one
    assert.truthy(out:find('"options":{"batch":16,', 1, true), out)
    assert.falsy(out:find('\\"', 1, true), out)
    remove_db(trained)
  end)

  it("draws a version as SVG, with the values of an input", function()
    local out, _, status = nn_cmd("draw " .. db .. " leaf_flower@1 --input 32,107,56,11.2"
      .. " --inputs R,G,B,volume")
    assert.equal(0, status)
    assert.is_nil(picture.xml_error(out))
    assert.is_true(picture.has_text(out, "-26.35"))
    assert.is_true(picture.has_text(out, "→ " .. seed.softmax[1]))
    assert.is_true(picture.has_text(out, "volume"))
    out = nn_cmd("confusion " .. db .. " leaf_flower@1")
    assert.is_nil(picture.xml_error(out))
    assert.is_true(picture.has_text(out, "2 of 2 right (100.0%)"))
  end)

  it("draws a training run, and shows it with its version", function()
    local trained = os.tmpname()
    compat.sh(compat.LUA .. " examples/train_leaf_flower.lua " .. trained)
    local out, err, status = nn_cmd("curve " .. trained .. " leaf_flower_trained")
    assert.equal(0, status, err)
    assert.is_nil(picture.xml_error(out))
    assert.truthy(out:find('<polyline class="loss"', 1, true))
    out = nn_cmd("show " .. trained .. " leaf_flower_trained")
    assert.truthy(out:find("training: .*stopped epochs"), out)
    out = nn_cmd("show " .. db .. " leaf_flower@1")
    assert.truthy(out:find("training: none recorded", 1, true))
    remove_db(trained)
  end)

  it("exports a version to ONNX and FANN files and imports them back", function()
    local onnx, copy = os.tmpname() .. ".onnx", os.tmpname()
    local out, err, status = nn_cmd("export " .. db .. " leaf_flower@1 " .. onnx)
    assert.equal(0, status, err)
    assert.equal("wrote " .. onnx .. "\n", out)
    out, err, status = nn_cmd("import --create " .. onnx .. " " .. copy .. " from_onnx")
    assert.equal(0, status, err)
    assert.equal("from_onnx version 1\n", out)
    -- the same answer: the seed's softmax for the leaf (no labels travel in ONNX)
    out = nn_cmd("predict " .. copy .. " from_onnx 32 107 56 11.2")
    local idx, score = out:match("^(%S+)\t(%S+)\n$")
    assert.equal("1", idx)
    assert.near(seed.softmax[1], tonumber(score), 5e-5)
    out, err, status = nn_cmd("export " .. db .. " leaf_flower@1 " .. copy .. ".net")
    assert.equal(1, status)
    assert.truthy(err:find("^nn export: "), err)     -- ReLU has no FANN function
    out, err, status = nn_cmd("export " .. db .. " leaf_flower@1 out.bin")
    assert.equal(2, status)
    assert.truthy(err:find("^nn export: say %-%-format onnx or fann"), err)
    os.remove(onnx)
    remove_db(copy)
  end)

  it("says what went wrong on stderr, with a non-zero status", function()
    local out, err, status = nn_cmd("predict " .. db .. " oak 1 2 3 4")
    assert.equal("", out)
    assert.equal("nn predict: no model named 'oak'\n", err)
    assert.equal(1, status)
    out, err, status = nn_cmd("predict " .. db .. " leaf_flower 1 2 3")
    assert.equal("nn predict: input: expected 4 numbers, got 3\n", err)
    assert.equal(1, status)
    local missing = os.tmpname()
    os.remove(missing)
    out, err, status = nn_cmd("models " .. missing)
    assert.equal("nn models: " .. missing .. ": no such file\n", err)
    assert.equal(1, status)
    assert.is_nil(io.open(missing))              -- and it was not created
    out, err, status = nn_cmd("predict " .. db .. " leaf_flower@x 1")
    assert.truthy(err:find("^nn predict: model reference 'leaf_flower@x': the version after "
      .. "'@' must be a positive integer\nusage: nn predict"))
    assert.equal(2, status)
    out, err, status = nn_cmd("frobnicate")
    assert.truthy(err:find("^nn: unknown command 'frobnicate'\nusage: nn COMMAND"))
    assert.equal(2, status)
    out, err, status = nn_cmd("models --colour " .. db)
    assert.truthy(err:find("^nn models: unknown option %-%-colour\n"))
    assert.equal(2, status)
  end)

  it("helps on every command", function()
    for _, cmd in ipairs{ "models", "show", "predict", "draw", "curve", "confusion", "import",
                          "export" } do
      local out, err, status = nn_cmd(cmd .. " --help")
      assert.equal(0, status, cmd)
      assert.equal("", err, cmd)
      assert.truthy(out:find("^usage: nn " .. cmd), cmd)
    end
    local out, _, status = nn_cmd("--help")
    assert.equal(0, status)
    assert.truthy(out:find("commands:", 1, true))
  end)
end)

--- The bytes of the file at path, or nil when there is none.
local function bytes(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Issue #25: the command never harms a file, and every message speaks of
-- its own arguments and options.
describe("nn, the command, never harms a file", function()
  local db, dir
  setup(function()
    db = os.tmpname()
    compat.sh(compat.LUA .. " examples/leaf_flower.lua " .. db)
    dir = compat.sh("mktemp -d"):gsub("\n$", "")
  end)
  teardown(function()
    remove_db(db)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("export refuses to write over the database it reads, under any name", function()
    local copy = dir .. "/copy.db"
    compat.sh(("cp '%s' '%s' && ln -s copy.db '%s/link.onnx' && ln '%s' '%s/hard.onnx'")
      :format(db, copy, dir, copy, dir))
    local before = bytes(copy)
    local export = "export %s leaf_flower@1 %s --format onnx"
    for _, target in ipairs{ copy, dir .. "/./copy.db", dir .. "/link.onnx",
                             dir .. "/hard.onnx" } do
      local out, err, status = nn_cmd(export:format(copy, target))
      assert.equal(1, status, target)
      assert.equal("", out)
      assert.equal("nn export: " .. target .. " is an SQLite database: export never writes "
        .. "over one\n", err)
    end
    -- nor where SQLite looks for the database's write-ahead log
    local wal = bytes(copy .. "-wal")
    local _, err, status = nn_cmd(export:format(copy, copy .. "-wal"))
    assert.equal(1, status)
    assert.equal(("nn export: %s-wal is the name of %s's wal file: export never writes one\n")
      :format(copy, copy), err)
    assert.equal(wal, bytes(copy .. "-wal"))
    assert.equal(before, bytes(copy))
  end)

  it("writes no database that is not there, unless import is given --create", function()
    local onnx, missing = dir .. "/seed.onnx", dir .. "/missing.db"
    assert.equal(0, select(3, nn_cmd("export " .. db .. " leaf_flower@1 " .. onnx)))
    local out, err, status = nn_cmd("import " .. onnx .. " " .. missing .. " seed")
    assert.equal(1, status)
    assert.equal("nn import: " .. missing .. ": no such file (--create makes a new database)\n",
      err)
    assert.is_nil(io.open(missing))
    out, err, status = nn_cmd("predict --log " .. missing .. " seed 1 2 3 4")
    assert.equal("nn predict: " .. missing .. ": no such file\n", err)
    assert.equal(1, status)
    assert.is_nil(io.open(missing))
    out, err, status = nn_cmd("import --create " .. onnx .. " " .. missing .. " seed")
    assert.equal(0, status, err)
    assert.equal("seed version 1\n", out)
    assert.truthy(nn_cmd("models " .. missing):find("\nseed%s+1%s+4 %-> 2"))
    remove_db(missing)
  end)

  it("imports at most 256 MiB: an endless input ends with a named error", function()
    local out, err, status = nn_cmd("import /dev/zero " .. db .. " zeros")
    assert.equal("", out)
    assert.equal("nn import: /dev/zero is longer than 256 MiB, the most import reads\n", err)
    assert.equal(1, status)
  end)

  it("predicts a line of stdin at a time, in memory that does not grow with the input", function()
    local cli = require "nn.cli"
    local N, answers, heap = 20000, 0, {}
    local sink = { write = function() answers = answers + 1 end }
    local input = { lines = function()
      local i = 0
      return function()
        -- every line read so far is answered before the next is read
        assert.equal(i, answers)
        i = i + 1
        if i == 1000 or i == N then
          collectgarbage()
          collectgarbage()
          heap[#heap + 1] = collectgarbage("count")
        end
        if i <= N then return "32,107,56,11.2" end
      end
    end }
    local status = compat.interpreted(function()
      return cli.main({ "predict", db, "leaf_flower@1" }, sink, sink, input)
    end)
    assert.equal(0, status)
    assert.equal(N, answers)
    -- 19000 more rows held would be over 1 MiB of tables
    assert.is_true(heap[2] - heap[1] < 64, ("%.0f KiB more"):format(heap[2] - heap[1]))
  end)

  it("reads numbers strictly, naming the input that is not one", function()
    local usage = "\nusage: nn predict DB"
    local cases = {
      { "'[32,107,56,11.2'", "nn predict: input: '[32,107,56,11.2' is not a JSON array" .. usage,
        2 },
      { "0x10 107 56 11.2", "nn predict: input: '0x10' is not a decimal number" .. usage, 2 },
      { "'[0x10,107,56,11.2]'", "nn predict: input: '0x10' is not a JSON number" .. usage, 2 },
      { "'[032,107,56,11.2]'", "nn predict: input: '032' is not a JSON number" .. usage, 2 },
      { "nan 107 56 11.2", "nn predict: input: 'nan' is not a decimal number" .. usage, 2 },
      { "1e39 107 56 11.2", "nn predict: input: '1e39' is beyond float32's range\n$", 1 },
      { "32 107 56", "nn predict: input: expected 4 numbers, got 3\n$", 1 },
    }
    for _, c in ipairs(cases) do
      local out, err, status = nn_cmd("predict " .. db .. " leaf_flower@1 " .. c[1])
      assert.equal("", out, c[1])
      assert.equal(c[3], status, c[1])
      assert.truthy(err:find("^" .. c[2]:gsub("[%[%]%.%-]", "%%%0")), err)
    end
    local out, err, status = nn_cmd("predict " .. db .. " leaf_flower@1", "32,107,56,11.2\n"
      .. "32,0x10,56,11.2\n")
    assert.truthy(out:find("^leaf\t"))                     -- line 1 was answered
    assert.equal("nn predict: stdin line 2: '0x10' is not a decimal number\n", err)
    assert.equal(1, status)
    -- float32's largest value, as printed to 8 digits, is still one
    out, err, status = nn_cmd("predict " .. db .. " leaf_flower@1 3.4028235e38 107 56 11.2")
    assert.equal(0, status, err)
  end)

  it("refuses to import under a model name that NAME@VERSION:MAP could not name", function()
    local onnx = dir .. "/named.onnx"
    nn_cmd("export " .. db .. " leaf_flower@1 " .. onnx)
    local before = nn_cmd("models " .. db)
    for _, name in ipairs{ "a@b", "a:b", "@1" } do
      local out, err, status = nn_cmd("import " .. onnx .. " " .. db .. " '" .. name .. "'")
      assert.equal("", out)
      assert.truthy(err:find("^nn import: model name '" .. name .. "' cannot be named later: "
        .. "NAME@VERSION:MAP reads a name up to its first '@' or ':'\nusage: nn import"), err)
      assert.equal(2, status)
    end
    assert.equal(before, (nn_cmd("models " .. db)))
  end)

  it("names an empty file and a folder given as a database, and leaves them so", function()
    local empty, folder, onnx = dir .. "/empty.db", dir .. "/folder.db", dir .. "/e.onnx"
    compat.sh(("touch '%s' && mkdir '%s'"):format(empty, folder))
    nn_cmd("export " .. db .. " leaf_flower@1 " .. onnx)
    for _, cmd in ipairs{ "models %s", "show %s leaf_flower", "predict %s leaf_flower 1 2 3 4",
                          "import " .. onnx .. " %s m" } do
      local name = cmd:match("^%S+")
      local _, err, status = nn_cmd(cmd:format(empty))
      assert.equal("nn " .. name .. ": " .. empty .. " is empty: not an nn database\n", err)
      assert.equal(1, status)
      _, err, status = nn_cmd(cmd:format(folder))
      assert.equal("nn " .. name .. ": " .. folder .. " is a folder, not an nn database\n", err)
      assert.equal(1, status)
    end
    assert.equal("", bytes(empty))
    assert.equal("", compat.sh("ls -A '" .. folder .. "'"))
    local _, err = nn_cmd("import " .. folder .. " " .. db .. " m")
    assert.equal("nn import: " .. folder .. " is a folder, not an ONNX or FANN file\n", err)
    _, err = nn_cmd("import " .. empty .. " " .. db .. " m")
    assert.equal("nn import: " .. empty .. " is empty: not an ONNX or FANN file\n", err)
    -- an empty file is where import --create may make one (mktemp's)
    local out, status
    out, err, status = nn_cmd("import --create " .. onnx .. " " .. empty .. " m")
    assert.equal(0, status, err)
    assert.equal("m version 1\n", out)
  end)

  it("speaks of its own arguments and options, not of the Lua calls under it", function()
    local text = dir .. "/words.txt"
    compat.sh("echo hello > '" .. text .. "'")
    local cases = {
      { "draw %s leaf_flower --input 1,2,3", "nn draw: --input: expected 4 numbers, got 3\n" },
      { "draw %s leaf_flower --inputs R,G", "nn draw: --inputs: expected 4 names, got 2\n" },
      { "predict %s leaf_flower 1 2 3 1e999",
        "nn predict: input: '1e999' is beyond float32's range\n" },
      { "confusion %s leaf_flower@9", "nn confusion: model 'leaf_flower' has no version 9\n" },
      { "import " .. text .. " %s m", "nn import: " .. text .. ": neither ONNX nor FANN "
        .. "(name it: --format onnx or --format fann)\n" },
    }
    for _, c in ipairs(cases) do
      local out, err, status = nn_cmd(c[1]:format(db))
      assert.equal("", out, c[1])
      assert.equal(c[2], err)
      assert.equal(1, status, c[1])
    end
    for _, cmd in ipairs{ "import " .. text .. " %s m --format zip",
                          "export %s leaf_flower x.onnx --format zip" } do
      local _, err, status = nn_cmd(cmd:format(db))
      assert.truthy(err:find("^nn %a+: %-%-format: expected onnx or fann, got 'zip'\nusage: "), err)
      assert.equal(2, status)
    end
  end)
end)
