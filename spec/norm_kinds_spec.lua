-- The kinds that scale their input by numbers they keep
-- (src/engine/nn_kind_norm.c): Standardize(mean, std), y = (x - mean) / std
-- per feature, against a plain-Lua computation in double precision
-- (spec/support/reference.lua) of the float numbers; its gradient against
-- central differences of that reference; its tensors left alone by every
-- optimizer; its store and ONNX round trips and the errors it raises.

local nn = require "nn"
local ref = require "spec.support.reference"
local remove_db = require("spec.support.db").remove

local abs = math.abs

-- a number as the float32 the module reads it as
local function f32(x)
  if string.pack then return (string.unpack("f", string.pack("f", x))) end
  return nn.Matrix{ { x } }:get(1, 1)
end

local function ulp(y)
  y = abs(y)
  if y < 2 ^ -126 then return 2 ^ -149 end
  local _, e = math.frexp(y)
  return 2 ^ (e - 24)
end

local function f32s(t)
  local out = {}
  for i = 1, #t do out[i] = f32(t[i]) end
  return out
end

-- an identity Linear(n -> n), so that a gradient through it is the next layer's own
local function identity(n)
  local net = nn.Linear(n, n)
  local W, b = {}, {}
  for j = 1, n do
    W[j] = {}
    for i = 1, n do W[j][i] = i == j and 1 or 0 end
    b[j] = 0
  end
  return net, W, b
end

local MEAN = { 0.5, -1.25, 3, 0, 100.1 }
local STD = { 2, 0.3, 1e-3, 1, 7.7 }

describe("nn.Standardize", function()
  local function message(f, ...)
    local ok, e = pcall(f, ...)
    assert.is_false(ok)
    return (tostring(e):gsub("^[^:]*:%d+: ", ""))
  end

  -- (x - mean) / std: two correctly rounded float operations, so within
  -- 1.5 ulp of the double result of the float numbers
  it("is (x - mean) / std per feature, within 1.5 ulp of double precision", function()
    local s = nn.Standardize(MEAN, STD)
    local m, sd = f32s(MEAN), f32s(STD)
    local rand = ref.stream(7)
    for _ = 1, 200 do
      local x = {}
      for i = 1, #MEAN do x[i] = f32(rand(-200, 200)) end
      local want = ref.forward({ { "Standardize", m, sd } }, x)
      local got = s:forward(x)
      for i = 1, #x do
        assert(abs(got[i] - want[i]) <= 1.5 * ulp(want[i]),
          ("feature %d at %.9g: %.9g, not %.12g"):format(i, x[i], got[i], want[i]))
      end
    end
  end)

  it("by hand: (3, 2, 1) with mean (1, 2, 3) and std (2, 4, 0.5) is (1, 0, -4)", function()
    assert.same({ 1, 0, -4 }, nn.Standardize({ 1, 2, 3 }, { 2, 4, 0.5 }):forward{ 3, 2, 1 })
    assert.same({ 3, 2, 1 }, nn.Standardize(3):forward{ 3, 2, 1 })
  end)

  it("gives a batch the bits of one sample at a time", function()
    nn.seed(3)
    local net = nn.Sequential{ nn.Standardize(MEAN, STD) }
    local rows = {}
    local rand = ref.stream(11)
    for r = 1, 37 do
      rows[r] = {}
      for i = 1, 5 do rows[r][i] = rand(-5, 5) end
    end
    local Y = net:forward(nn.Matrix(rows))
    for r = 1, #rows do
      local y = net:forward(rows[r])
      for j = 1, 5 do assert.equal(y[j], Y:get(r, j)) end
    end
  end)

  it("has the gradient dy / std, as central differences of the reference say", function()
    local lin, W, b = identity(#MEAN)
    local net = nn.Sequential{ lin, nn.Standardize(MEAN, STD) }
    net:set_weights(1, W, b)
    local x = { 1, -2, 3.001, 0.5, 90 }
    local dy = { 1, -0.5, 2, 3, 0.25 }
    local dx = net:backward(x, dy)
    local m, sd = f32s(MEAN), f32s(STD)
    for i = 1, #x do
      local h = 1e-4
      local xp, xm = { (table.unpack or unpack)(x) }, { (table.unpack or unpack)(x) }
      xp[i], xm[i] = x[i] + h, x[i] - h
      local fp = ref.forward({ { "Standardize", m, sd } }, xp)
      local fm = ref.forward({ { "Standardize", m, sd } }, xm)
      local fd = dy[i] * (fp[i] - fm[i]) / (2 * h)
      assert(abs(dx[i] - fd) <= 1e-6 * math.max(1, abs(fd)),
        ("feature %d: %.9g, differences %.12g"):format(i, dx[i], fd))
    end
  end)

  it("is not trained: every optimizer, with weight decay, leaves mean and std", function()
    for _, opt in ipairs{ "sgd", "adam", "rprop" } do
      nn.seed(5)
      local net = nn.Sequential{ nn.Standardize({ 1, -1 }, { 2, 0.5 }), nn.Linear(2, 4),
        nn.ReLU(), nn.Linear(4, 1) }
      local before = net:get_weights(2)
      local o = { optimizer = opt, batch = 4, loss = "mse" }
      if opt ~= "rprop" then o.lr, o.weight_decay = 0.05, 0.1 else o.batch = nil end
      local tr = nn.Trainer(net, o)
      local X = nn.Matrix{ { 0, 1 }, { 1, 0 }, { 1, 1 }, { -1, 0.5 } }
      local T = nn.Matrix{ { 1 }, { 0.5 }, { -1 }, { 0.25 } }
      local first = tr:step(X, T)
      local last
      for _ = 1, 30 do last = tr:step(X, T) end
      assert(last < first, ("%s: %g then %g"):format(opt, first, last))
      assert.same({ 1, -1 }, net:get_weights(1, "mean"), opt)
      assert.same({ 2, 0.5 }, net:get_weights(1, "std"), opt)
      assert.are_not.same(before, net:get_weights(2), opt)
    end
  end)

  describe("in the store", function()
    local db
    before_each(function() db = os.tmpname() end)
    after_each(function() remove_db(db) end)

    it("saves its width and tensors and loads to the same bits", function()
      nn.seed(2)
      local net = nn.Sequential{ nn.Standardize({ 0.5, 2, -3 }, { 0.25, 4, 1.5 }), nn.Linear(3, 2) }
      local store = assert(nn.open(db))
      store:save("std", net)
      local arch
      for row in store:rows("SELECT arch FROM nn_version") do arch = row.arch end
      assert.equal('[{"type":"Standardize","n":3},{"type":"Linear","in":3,"out":2}]', arch)
      local back = store:load("std")
      assert.equal(tostring(net), tostring(back))
      assert.same({ 0.5, 2, -3 }, back:get_weights(1, "mean"))
      assert.same({ 0.25, 4, 1.5 }, back:get_weights(1, "std"))
      assert.same(net:forward{ 0.5, -1, 2 }, back:forward{ 0.5, -1, 2 })
      store:close()
    end)
  end)

  describe("in ONNX", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() os.remove(path) end)

    it("is written as Sub and Div by its tensors and read back to the same bits", function()
      nn.seed(9)
      local net = nn.Sequential{ nn.Standardize(MEAN, STD), nn.Linear(5, 3), nn.Tanh() }
      net:export(path, "onnx")
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      for _, s in ipairs{ "Sub", "Div", "standardize_1.mean", "standardize_1.std" } do
        assert.truthy(bytes:find(s, 1, true), s)
      end
      local back = nn.import(path)
      assert.equal(tostring(net), tostring(back))
      assert.same(net:get_weights(1, "mean"), back:get_weights(1, "mean"))
      assert.same(net:get_weights(1, "std"), back:get_weights(1, "std"))
      local x = { 0.3, -1.2, 2, -0.5, 101 }
      assert.same(net:forward(x), back:forward(x))
    end)

    -- (x - mean) / std as a PyTorch module with two buffers exports it:
    -- Sub and Div by initializers of shape [n]
    local function std_model(mean_dims, mean)
      local b = require "spec.support.onnx_builder"
      return b.model{
        opset = 13,
        inputs = { b.value_info("x", { "N", 3 }) },
        outputs = { b.value_info("y", { "N", 3 }) },
        initializers = { b.tensor("mean", mean_dims, mean), b.tensor("std", { 3 }, { 2, 4, 0.5 }) },
        nodes = { b.node("Sub", { "x", "mean" }, { "a" }, nil, "/Sub"),
          b.node("Div", { "a", "std" }, { "y" }, nil, "/Div") },
      }
    end

    it("reads (x - mean) / std by constants of the row's width", function()
      local net = nn.import(std_model({ 3 }, { 1, 2, 3 }))
      assert.equal("nn.Standardize(3)", net:modules()[1].name)
      assert.same({ 1, 0, -4 }, net:forward{ 3, 2, 1 })
      net = nn.import(std_model({ 1, 3 }, { 1, 2, 3 }))
      assert.same({ 1, 0, -4 }, net:forward{ 3, 2, 1 })
    end)

    it("refuses a Sub by a constant of another width, naming the node", function()
      local ok, e = pcall(nn.import, std_model({ 2 }, { 1, 2 }))
      assert.is_false(ok)
      assert.truthy(e:find("'/Sub' (Sub): operator Sub is not supported", 1, true), e)
    end)
  end)

  describe("refuses bad arguments, naming them", function()
    it("a mean or std that is not a table of finite numbers", function()
      assert.truthy(message(nn.Standardize, "x"):find(
        "bad argument #1 to 'nn.Standardize' (mean must be a table of numbers, got string)", 1, true))
      assert.truthy(message(nn.Standardize, {}, {}):find(
        "(mean has 0 numbers, needs at least 1)", 1, true))
      assert.truthy(message(nn.Standardize, { 1, 0 / 0 }, { 1, 1 }):find(
        "bad argument #1 to 'nn.Standardize' (mean[2] must be a finite number, got", 1, true))
      assert.truthy(message(nn.Standardize, { 1, 2 }, { 1 }):find(
        "bad argument #2 to 'nn.Standardize' (std has 1 numbers, as mean has 2)", 1, true))
      assert.truthy(message(nn.Standardize, { 1, 2 }, { 1, 0 }):find(
        "(std[2] must be a positive finite number, got 0)", 1, true))
      assert.truthy(message(nn.Standardize, { 1 }, { "a" }):find(
        "(std[1] must be a positive finite number, got a)", 1, true))
      assert.truthy(message(nn.Standardize, { 1 }):find(
        "(std must be a table of numbers, got nil)", 1, true))
      assert.truthy(message(nn.Standardize, 0):find("(size must be positive, got 0)", 1, true))
    end)

    it("a network whose widths do not meet", function()
      local e = message(nn.Sequential, { nn.Linear(2, 3), nn.Standardize({ 1, 2 }, { 1, 1 }) })
      assert.truthy(e:find("Standardize", 1, true), e)
    end)
  end)
end)
