-- FANN .net import and export (src/formats/nn_fann.c through nn.import and
-- net:export), checked against libfann itself: spec/support/fann_check.c
-- creates, trains and saves networks with libfann and runs fann_run on any
-- .net file, nn's exports included.

local nn = require "nn"
local compat = require "spec.support.compat"
local ref = require "spec.support.reference"
local c = require "spec.support.c"

local TOL = 1e-5

local exe, dir

--- fann_run's outputs for rows of inputs, through libfann.
local function fann_run(file, rows)
  local args = {}
  for _, x in ipairs(rows) do
    for _, v in ipairs(x) do args[#args + 1] = ("%.9g"):format(v) end
  end
  local out = c.run(exe, ("run %s %s"):format(file, table.concat(args, " ")))
  local ys = {}
  for line in out:gmatch("[^\n]+") do
    local y = {}
    for v in line:gmatch("%S+") do y[#y + 1] = tonumber(v) end
    ys[#ys + 1] = y
  end
  return ys
end

local rand = ref.stream(23)
local function rows_for(n_in, count)
  local rows = {}
  for r = 1, count do
    rows[r] = {}
    for i = 1, n_in do rows[r][i] = rand(-1.5, 1.5) end
  end
  return rows
end

local function same_as_libfann(net, file)
  local rows = rows_for(net:n_inputs(), 6)
  local want = fann_run(file, rows)
  for r, x in ipairs(rows) do
    local d = ref.max_diff(want[r], net:forward(x))
    assert(d <= TOL, ("row %d differs by %g"):format(r, d))
  end
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function refusal(source)
  local ok, err = pcall(nn.import, source, { format = "fann" })
  assert(not ok, "imported, but should have been refused")
  return (err:gsub("^[^:]*:%d+: ", ""))
end

setup(function()
  exe = c.compile("spec/support/fann_check.c", "-lfloatfann -lm")
  dir = os.tmpname()
  os.remove(dir)
  assert(compat.execute("mkdir " .. dir))
  c.run(exe, "make " .. dir)
end)

teardown(function()
  os.execute("rm -rf " .. dir)
  os.remove(exe)
end)

describe("nn.import of FANN networks created, trained and saved by libfann", function()
  for _, name in ipairs{ "xor_sigmoid", "xor_symmetric", "deep_linear", "sparse" } do
    it("gives fann_run's outputs within 1e-5: " .. name, function()
      local file = dir .. "/" .. name .. ".net"
      local net = nn.import(file)
      same_as_libfann(net, file)
      assert.is_nil(net:labels())
    end)
  end

  it("maps FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC and FANN_LINEAR to layers", function()
    assert.equal("nn.Sequential {\n  [input -> (1) -> (2) -> (3) -> (4) -> (5) -> output]\n" ..
      "  (1): nn.Linear(5 -> 6)\n  (2): nn.Sigmoid\n  (3): nn.Linear(6 -> 4)\n" ..
      "  (4): nn.Sigmoid\n  (5): nn.Linear(4 -> 3)\n}", tostring(nn.import(dir .. "/deep_linear.net")))
    assert.equal("nn.Tanh", nn.import(dir .. "/xor_symmetric.net"):trace({ 0, 1 })[4].module)
  end)

  it("reads the bytes of a file as well as its path", function()
    local file = dir .. "/xor_sigmoid.net"
    local a, b = nn.import(file), nn.import(read(file))
    assert.same(a:get_weights(1), b:get_weights(1))
  end)

  it("reads FANN_FLO_2.0 and FANN_FLO_1.1 files as libfann does", function()
    local text = read(dir .. "/xor_sigmoid.net")
    -- 2.0: no scale_included line
    local v20 = text:gsub("^FANN_FLO_2.1", "FANN_FLO_2.0"):gsub("scale_included=0\n", "")
    write(dir .. "/v20.net", v20)
    same_as_libfann(nn.import(dir .. "/v20.net"), dir .. "/v20.net")
    -- 1.1: one line of settings, then sizes, each neuron's count, "(from weight)"
    local sizes = text:match("\nlayer_sizes=([^\n]*)")
    local counts, fns, steeps = {}, {}, {}
    for n, fn, s in text:match("\nneurons [^=]*=([^\n]*)"):gmatch("%((%d+), (%d+), ([^)]+)%)") do
      counts[#counts + 1] = n
      if n ~= "0" then fns[#fns + 1], steeps[#steeps + 1] = fn, s end
    end
    local conns = text:match("\nconnections [^=]*=([^\n]*)"):gsub("%((%d+), ", "(%1 ")
    local v11 = ("FANN_FLO_1.1\n3 0.7 1 0 %s %s %s %s\n%s\n%s\n%s\n"):format(fns[1], fns[#fns],
      steeps[1], steeps[#steeps], sizes, table.concat(counts, " "), conns)
    write(dir .. "/v11.net", v11)
    same_as_libfann(nn.import(dir .. "/v11.net"), dir .. "/v11.net")
    assert.same(nn.import(dir .. "/xor_sigmoid.net"):get_weights(3),
      nn.import(dir .. "/v11.net"):get_weights(3))
  end)

  it("refuses stepwise and inexact functions, naming the neuron and the function", function()
    assert.equal(dir .. "/stepwise.net: neuron 3 (layer 2): FANN_SIGMOID_STEPWISE has no " ..
      "exact equal in nn", refusal(dir .. "/stepwise.net"))
    assert.equal(dir .. "/elliot.net: neuron 3 (layer 2): FANN_ELLIOT has no exact equal in nn",
      refusal(dir .. "/elliot.net"))
    assert.equal(dir .. "/shortcut.net: network_type 1 is not supported (0, layered, is)",
      refusal(dir .. "/shortcut.net"))
    local text = read(dir .. "/xor_sigmoid.net")
    local steep = text:gsub("%(5, 3, [^)]+%)", "(5, 3, 30)", 1)
    assert.equal("neuron 8 (layer 3): FANN_SIGMOID of steepness 30, where libfann's clip is " ..
      "not within 1e-5 of nn (0 to 20 are)", refusal(steep))
    local mixed = text:gsub("%(3, 5, ([^)]+)%)", "(3, 0, %1)", 1)
    assert.equal("neuron 4 (layer 2): FANN_SIGMOID_SYMMETRIC in a layer of FANN_LINEAR, and nn " ..
      "gives a layer one function", refusal(mixed))
  end)

  it("refuses every other layout it cannot take, naming the neuron", function()
    -- a 1-1 net with only the lines nn reads: neurons 0 and 1 the input and
    -- its bias, 2 the output, 3 the output layer's bias
    local function net(neurons, conns, sizes, layers)
      return ("FANN_FLO_2.1\nnum_layers=%s\nnetwork_type=0\nlayer_sizes=%s\n" ..
        "neurons (num_inputs, activation_function, activation_steepness)=%s\n" ..
        "connections (connected_to_neuron, weight)=%s\n"):format(layers or 2, sizes or "2 2",
        neurons, conns)
    end
    local ok_neurons, ok_conns = "(0, 0, 0) (0, 0, 0) (2, 0, 1) (0, 0, 0)", "(0, 0.5) (1, 0.25)"
    assert.same({ { 0.5 } }, nn.import(net(ok_neurons, ok_conns)):get_weights(1))
    local cases = {
      { "not a FANN file: num_layers 1 is not between 2 and the file's size",
        net(ok_neurons, ok_conns, nil, 1) },
      { "layer 2 has 1 neurons (bias included): nn takes 1 to 16777216 and a bias",
        net(ok_neurons, ok_conns, "2 1") },
      { "neuron 0 (layer 1): an input neuron with 1 inputs",
        net("(1, 0, 0) (0, 0, 0) (1, 0, 1) (0, 0, 0)", ok_conns) },
      { "neuron 3 (layer 2): a bias neuron with inputs",
        net("(0, 0, 0) (0, 0, 0) (1, 0, 1) (1, 0, 0)", ok_conns) },
      { "neuron 2 (layer 2): activation function 99 does not exist in FANN",
        net("(0, 0, 0) (0, 0, 0) (2, 99, 1) (0, 0, 0)", ok_conns) },
      { "neuron 2 (layer 2): a weight that is not a finite float",
        net(ok_neurons, "(0, 1e39) (1, 0.25)") },
      { "neuron 2 (layer 2): a connection from neuron 0, which is not the only one from there",
        net(ok_neurons, "(0, 0.5) (0, 0.25)") },
      { "not a FANN file: network_type is missing or corrupt",
        (net(ok_neurons, ok_conns):gsub("network_type=0\n", "")) },
      { "not a FANN file: num_layers is missing or corrupt",
        (net(ok_neurons, ok_conns):gsub("num_layers=2", "num_layers=x")) },
      { "not a FANN file: the settings line is missing or corrupt", "FANN_FLO_1.1\n2 x\n" },
      { "network_type 1 is not supported (0, layered, is)",
        "FANN_FLO_1.1\n2 0.7 1 1 0 0 1 1\n2 2\n0 0 2 0\n(0 0.5) (1 0.25)\n" },
    }
    for _, case in ipairs(cases) do
      assert.equal(case[1], refusal(case[2]))
    end
  end)

  it("refuses a truncated or corrupt file, and fixed-point files", function()
    local text = read(dir .. "/xor_sigmoid.net")
    assert.equal("not a FANN file: the connections is missing or corrupt",
      refusal(text:sub(1, #text - 30)))
    assert.equal("not a FANN file: layer_sizes is missing or corrupt",
      refusal((text:gsub("layer_sizes=", "layer_size="))))
    assert.equal("not a FANN file: the neurons is missing or corrupt",
      refusal((text:gsub("%(0, 0, ", "(0 0, ", 1))))
    assert.equal("neuron 3 (layer 2): a connection from neuron 7, which is not in the layer " ..
      "before", refusal((text:gsub("connections %(connected_to_neuron, weight%)=%(0,",
        "connections (connected_to_neuron, weight)=(7,"))))
    assert.equal("fixed-point FANN files are not supported (float files are)",
      refusal("FANN_FIX_2.0\ndecimal_point=13\n"))
    assert.equal("not a FANN file of a version nn reads (FANN_FLO_2.1, 2.0 or 1.1)",
      refusal("FANN_FLO_3.0\n"))
  end)
end)

describe("net:export to FANN", function()
  local function check_export(net)
    local file = dir .. "/export.net"
    assert.equal(net, net:export(file, "fann"))
    same_as_libfann(net, file)
    local back = nn.import(file)
    for _, x in ipairs(rows_for(net:n_inputs(), 4)) do
      assert(ref.max_diff(net:forward(x), back:forward(x)) <= TOL)
    end
    assert.is_nil(back:labels())
    return read(file)
  end

  it("writes files libfann loads and runs as nn does: Linear, Sigmoid, Tanh, Identity", function()
    nn.seed(9)
    check_export(nn.Sequential{ nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Tanh() })
    check_export(nn.Sequential{ nn.Identity(), nn.Linear(5, 5), nn.Tanh(), nn.Identity(),
      nn.Linear(5, 3), nn.Linear(3, 3), nn.Sigmoid() })
    local net = nn.Sequential{ nn.Linear(2, 2) }
    net:set_labels{ "left", "right" }
    local text = check_export(net)
    assert.is_nil(text:find("left", 1, true))
  end)

  it("writes each weight as the shortest decimal with a '.' that reads back as it", function()
    local net = nn.Linear(2, 1)
    net:set_weights(1, { { 0.1, -1e-45 } }, { 1e-7 })
    local text = check_export(net)
    assert.truthy(text:find("(0, 0.1) (1, -1e-45) (2, 1e-07)", 1, true))
    assert.same(net:get_weights(1), nn.import(text):get_weights(1))
  end)

  it("writes and reads numbers with a '.' in a locale whose decimal point is ','", function()
    -- a German locale compiled here (localedef, from Debian's locales) and
    -- used by a child Lua, since LOCPATH is read from the environment
    local locpath = dir .. "/locale"
    assert(compat.execute(("mkdir -p %s && localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>/dev/null")
      :format(locpath, locpath)))
    local file, libfann_file = dir .. "/comma.net", dir .. "/deep_linear.net"
    -- (LuaJIT formats numbers its own way, whatever LC_NUMERIC says: the
    -- check that the locale took is for the other Luas)
    local script = ([[
      local nn = require "nn"
      assert(os.setlocale("de_DE.UTF-8", "numeric"))
      assert(jit or ("%%.1f"):format(0.5) == "0,5", "not a comma locale")
      local net = nn.Sequential{ nn.Linear(2, 2), nn.Sigmoid() }
      net:set_weights(1, { { 0.5, -0.25 }, { 1.5, 2 } }, { 0.125, -3.75 })
      net:export(%q, "fann")
      local W = nn.import(%q):get_weights(1)
      local bits = require("spec.support.compat").f32_bits
      io.write(bits(W[1][1]), " ", bits(W[2][2]))
    ]]):format(file, libfann_file)
    local ok, out = compat.run(("LOCPATH=%s LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' " ..
      "%s -e %q"):format(locpath, compat.BUILD, compat.LUA, script))
    assert(ok, out)
    local text = read(file)
    assert.truthy(text:find("(0, 0.5) (1, -0.25) (2, 0.125) (0, 1.5) (1, 2) (2, -3.75)", 1, true))
    assert.is_nil(text:find("%d,%d"))
    same_as_libfann(nn.import(file), file)
    -- the libfann file read under the comma locale gives the same weights
    local W = nn.import(libfann_file):get_weights(1)
    local bits = compat.f32_bits
    assert.equal(bits(W[1][1]) .. " " .. bits(W[2][2]), out)
  end)

  it("refuses what FANN 2.2 cannot express", function()
    local function export_error(net)
      local ok, err = pcall(function() return net:export(dir .. "/no.net", "fann") end)
      assert.is_false(ok)
      return (err:gsub("^[^:]*:%d+: ", ""))
    end
    assert.equal("export to fann: module 2: nn.ReLU has no FANN activation function",
      export_error(nn.Sequential{ nn.Linear(2, 2), nn.ReLU() }))
    assert.equal("export to fann: module 2: nn.SoftMax has no FANN activation function",
      export_error(nn.Sequential{ nn.Linear(2, 2), nn.SoftMax() }))
    assert.equal("export to fann: module 2: nn.LeakyReLU has no FANN activation function",
      export_error(nn.Sequential{ nn.Linear(2, 2), nn.LeakyReLU(0.1) }))
    assert.equal("export to fann: module 3: nn.Tanh after another function, and FANN gives " ..
      "each layer one function",
      export_error(nn.Sequential{ nn.Linear(2, 2), nn.Sigmoid(), nn.Tanh() }))
    assert.equal("export to fann: module 1: nn.Sigmoid before any nn.Linear, and FANN gives " ..
      "each layer one function", export_error(nn.Sequential{ nn.Sigmoid(), nn.Linear(2, 2) }))
    assert.equal("export to fann: a network without nn.Linear has no FANN layers",
      export_error(nn.Identity()))
  end)
end)

describe("nn.import and the store", function()
  it("saves an imported network with store:save(name, nn.import(path))", function()
    local store = assert(nn.open(":memory:"))
    local file = dir .. "/deep_linear.net"
    assert.equal(1, store:save("from_fann", nn.import(file)))
    same_as_libfann(store:load("from_fann"), file)
    assert.equal(2, store:save("from_onnx", nn.import("spec/fixtures/onnx/tanh_op9.onnx")) + 1)
    store:close()
  end)

  it("names a file it cannot open", function()
    local ok, err = pcall(nn.import, dir .. "/missing.net")
    assert.is_false(ok)
    assert.matches("cannot open " .. dir:gsub("%p", "%%%0") .. "/missing.net: No such file " ..
      "or directory$", err)
    -- called from Lua, not by pcall itself, so that every Lua can name it
    ok, err = pcall(function() local net = nn.import("x", { format = "caffe" }) return net end)
    assert.is_false(ok)
    assert.matches("bad argument #2 to '[%w.]*import' %(format: expected \"onnx\" or \"fann\", " ..
      "got caffe%)", err)
  end)
end)
