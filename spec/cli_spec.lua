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
    out, err, status = nn_cmd("import " .. onnx .. " " .. copy .. " from_onnx")
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
    assert.truthy(err:find("^nn export: export: say %-%-format onnx or fann"), err)
    os.remove(onnx)
    remove_db(copy)
  end)

  it("says what went wrong on stderr, with a non-zero status", function()
    local out, err, status = nn_cmd("predict " .. db .. " oak 1 2 3 4")
    assert.equal("", out)
    assert.equal("nn predict: no model named 'oak'\n", err)
    assert.equal(1, status)
    out, err, status = nn_cmd("predict " .. db .. " leaf_flower 1 2 3")
    assert.equal("nn predict: bad argument #1 to 'classify' (x: expected 4 numbers, got 3)\n", err)
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
