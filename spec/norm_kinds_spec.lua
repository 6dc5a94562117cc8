-- The kinds that scale their input by numbers they keep
-- (src/engine/nn_kind_norm.c): Standardize(mean, std), y = (x - mean) / std
-- per feature, and LayerNorm(n), PyTorch's, against a plain-Lua computation
-- in double precision (spec/support/reference.lua) of the float numbers;
-- their gradients against central differences of that reference;
-- Standardize's tensors left alone by every optimizer; their store and ONNX
-- round trips and the errors they raise.

local nn = require "nn"
local f32 = require("spec.support.compat").f32
local ulp = require("spec.support.check").ulp
local ref = require "spec.support.reference"
local remove_db = require("spec.support.db").remove

local abs = math.abs

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

describe("nn.LayerNorm", function()
  local W = { 1, -0.5, 2, 0.25, 1.5 }
  local B = { 0, 0.1, -1, 3, 0.5 }

  local function layer(w, b, eps)
    local net = nn.Sequential{ nn.LayerNorm(#w, eps) }
    net:set_weights(1, "weight", w)
    net:set_weights(1, "bias", b)
    return net
  end

  -- xh = (x - mu) / sqrt(var + eps) in double, rounded once to float; then
  -- * weight and + bias in float, each rounded: within half an ulp of y,
  -- half an ulp of weight * xh and half of |weight| ulp(xh)
  it("is PyTorch's, within the roundings of xh, weight * xh and y of double precision", function()
    local w, b = f32s(W), f32s(B)
    local rand = ref.stream(17)
    for _, eps in ipairs{ 1e-5, 0.1 } do
      local net = layer(W, B, eps)
      local e = f32(eps)
      for _ = 1, 300 do
        local x, scale = {}, 10 ^ rand(-3, 3)
        for i = 1, #W do x[i] = f32(rand(-1, 1) * scale + rand(-2, 2)) end
        local want = ref.forward({ { "LayerNorm", w, b, e } }, x)
        local xh = ref.forward({ { "LayerNorm", { 1, 1, 1, 1, 1 }, { 0, 0, 0, 0, 0 }, e } }, x)
        local got = net:forward(x)
        for i = 1, #x do
          local bound = 0.5 * ulp(want[i]) + 0.5 * ulp(w[i] * xh[i]) + 0.5 * abs(w[i]) * ulp(xh[i])
            + 1e-12 * abs(want[i])
          assert(abs(got[i] - want[i]) <= bound, ("eps %g, feature %d: %.9g, not %.12g")
            :format(eps, i, got[i], want[i]))
        end
      end
    end
  end)

  it("by hand: (1, 2, 6) is (-2, -1, 3) / sqrt(14 / 3 + 1e-5)", function()
    local got = nn.LayerNorm(3):forward{ 1, 2, 6 }
    local s = math.sqrt(14 / 3 + 1e-5)
    for i, v in ipairs{ -2 / s, -1 / s, 3 / s } do
      assert(abs(got[i] - v) <= 2 ^ -22, ("%d: %.9g, not %.9g"):format(i, got[i], v))
    end
    -- PyTorch's start: weight 1, bias 0
    assert.same({ 1, 1, 1 }, nn.LayerNorm(3):get_weights(1, "weight"))
    assert.same({ 0, 0, 0 }, nn.LayerNorm(3):get_weights(1, "bias"))
  end)

  it("gives a batch the bits of one sample at a time", function()
    local net = layer(W, B)
    local rows = {}
    local rand = ref.stream(23)
    for r = 1, 41 do
      rows[r] = {}
      for i = 1, 5 do rows[r][i] = rand(-5, 5) * r end
    end
    local Y = net:forward(nn.Matrix(rows))
    for r = 1, #rows do
      local y = net:forward(rows[r])
      for j = 1, 5 do assert.equal(y[j], Y:get(r, j)) end
    end
  end)

  -- L = sum dy_i y_i: dL/dx, dL/dweight and dL/dbias by central
  -- differences of the double reference
  it("has the gradient central differences of the reference give, for x, weight and bias", function()
    local w, b = f32s(W), f32s(B)
    local x = { 0.5, -1.25, 2, 0.75, -3 }
    local dy = { 1, -0.5, 2, 0.3, -1.5 }
    local function loss(xx, ww, bb)
      local y = ref.forward({ { "LayerNorm", ww, bb } }, xx)
      local s = 0
      for i = 1, #y do s = s + dy[i] * y[i] end
      return s
    end
    local function diff(which, i)
      local h = 1e-5
      local args = { { (table.unpack or unpack)(x) }, { (table.unpack or unpack)(w) },
        { (table.unpack or unpack)(b) } }
      local t = args[which]
      local v = t[i]
      t[i] = v + h
      local lp = loss(args[1], args[2], args[3])
      t[i] = v - h
      local lm = loss(args[1], args[2], args[3])
      return (lp - lm) / (2 * h)
    end
    local dx, grads = layer(W, B):backward(x, dy)
    for i = 1, #x do
      local checks = { { dx[i], diff(1, i), "x" }, { grads:get(1, i), diff(2, i), "weight" },
        { grads:get(1, #x + i), diff(3, i), "bias" } }
      for _, c in ipairs(checks) do
        assert(abs(c[1] - c[2]) <= 1e-5 * math.max(1, abs(c[2])),
          ("d%s[%d]: %.9g, differences %.12g"):format(c[3], i, c[1], c[2]))
      end
    end
  end)

  it("trains: weight and bias move and the loss falls", function()
    nn.seed(5)
    local net = nn.Sequential{ nn.Linear(2, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 1) }
    local X = nn.Matrix{ { 0, 1 }, { 1, 0 }, { 1, 1 }, { -1, 0.5 } }
    local T = nn.Matrix{ { 1 }, { 0.5 }, { -1 }, { 0.25 } }
    local tr = nn.Trainer(net, { optimizer = "adam", lr = 0.02, batch = 4, loss = "mse" })
    local first = tr:step(X, T)
    local last
    for _ = 1, 40 do last = tr:step(X, T) end
    assert(last < first / 2, ("%g then %g"):format(first, last))
    assert.are_not.same({ 1, 1, 1, 1, 1, 1 }, net:get_weights(2, "weight"))
    assert.are_not.same({ 0, 0, 0, 0, 0, 0 }, net:get_weights(2, "bias"))
  end)

  describe("in the store", function()
    local db
    before_each(function() db = os.tmpname() end)
    after_each(function() remove_db(db) end)

    it("saves its width, eps and tensors and loads to the same bits", function()
      nn.seed(2)
      local net = nn.Sequential{ nn.Linear(3, 5), nn.LayerNorm(5, 1e-3), nn.Linear(5, 2) }
      net:set_weights(2, "weight", W)
      net:set_weights(2, "bias", B)
      local store = assert(nn.open(db))
      store:save("ln", net)
      local arch
      for row in store:rows("SELECT arch FROM nn_version") do arch = row.arch end
      assert.equal('[{"type":"Linear","in":3,"out":5},{"type":"LayerNorm","n":5,"eps":0.001},'
        .. '{"type":"Linear","in":5,"out":2}]', arch)
      local back = store:load("ln")
      assert.equal(tostring(net), tostring(back))
      assert.same(net:get_weights(2, "weight"), back:get_weights(2, "weight"))
      assert.same(net:forward{ 0.5, -1, 2 }, back:forward{ 0.5, -1, 2 })
      store:close()
    end)
  end)

  describe("in ONNX", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() os.remove(path) end)

    it("is written as PyTorch 1.13 writes it below opset 17 and read back to the same bits", function()
      nn.seed(9)
      local net = nn.Sequential{ nn.Linear(3, 5), nn.LayerNorm(5), nn.Linear(5, 2) }
      net:set_weights(2, "weight", W)
      net:set_weights(2, "bias", B)
      net:export(path, "onnx")
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      for _, op in ipairs{ "ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Mul", "Add",
                           "layer_norm_2.weight", "layer_norm_2.bias" } do
        assert.truthy(bytes:find(op, 1, true), op)
      end
      assert.falsy(bytes:find("LayerNormalization", 1, true))
      local back = nn.import(path)
      assert.equal(tostring(net), tostring(back))
      assert.same(net:get_weights(2, "weight"), back:get_weights(2, "weight"))
      assert.same(net:get_weights(2, "bias"), back:get_weights(2, "bias"))
      local x = { 0.3, -1.2, 2 }
      assert.same(net:forward(x), back:forward(x))
    end)

    local b = require "spec.support.onnx_builder"
    local w3, b3 = { 1, -0.5, 2 }, { 0, 0.1, -1 }

    -- LayerNormalization (opset 17) as PyTorch 1.13 writes it: axis -1, epsilon
    local function op17(eps, axis)
      return b.model{
        opset = 17,
        inputs = { b.value_info("x", { "N", 3 }) },
        outputs = { b.value_info("y", { "N", 3 }) },
        initializers = { b.tensor("ln.weight", { 3 }, w3), b.tensor("ln.bias", { 3 }, b3) },
        nodes = { b.node("LayerNormalization", { "x", "ln.weight", "ln.bias" }, { "y" },
          { b.attr_int("axis", axis or -1), b.attr_float("epsilon", eps) },
          "/ln/LayerNormalization") },
      }
    end

    it("reads LayerNormalization, its epsilon, against the double reference", function()
      local x = { 0.5, -1.25, 2 }
      for _, eps in ipairs{ 1e-5, 0.5 } do
        local net = nn.import(op17(eps))
        assert.equal(("nn.LayerNorm(3, %g)"):format(f32(eps)), net:modules()[1].name)
        local want = ref.forward({ { "LayerNorm", w3, b3, f32(eps) } }, x)
        assert.is_true(ref.max_diff(want, net:forward(x)) <= 1e-6)
      end
      assert.same(nn.import(op17(1e-5)):forward(x), nn.import(op17(1e-5, 1)):forward(x))
    end)

    it("refuses a LayerNormalization over another axis, naming the node", function()
      local ok, e = pcall(nn.import, op17(1e-5, 0))
      assert.is_false(ok)
      assert.truthy(e:find("'/ln/LayerNormalization' (LayerNormalization) in layer 'ln': axis 0 is not "
        .. "supported (only -1)", 1, true), e)
    end)

    -- below opset 17, PyTorch 1.13's pattern: its numbers as Constant nodes
    local function pattern(axes)
      local function const(name, v)
        return b.node("Constant", {}, { name }, { b.attr_tensor("value", b.tensor("", {}, { v })) })
      end
      return b.model{
        opset = 13,
        inputs = { b.value_info("x", { "N", 3 }) },
        outputs = { b.value_info("y", { "N", 3 }) },
        initializers = { b.tensor("ln.weight", { 3 }, w3), b.tensor("ln.bias", { 3 }, b3) },
        nodes = {
          b.node("ReduceMean", { "x" }, { "m" }, { b.attr_ints("axes", { axes }) }, "/ln/ReduceMean"),
          b.node("Sub", { "x", "m" }, { "d" }, nil, "/ln/Sub"),
          const("two", 2),
          b.node("Pow", { "d", "two" }, { "p" }, nil, "/ln/Pow"),
          b.node("ReduceMean", { "p" }, { "v" }, { b.attr_ints("axes", { axes }) }, "/ln/ReduceMean_1"),
          const("eps", 1e-5),
          b.node("Add", { "v", "eps" }, { "ve" }, nil, "/ln/Add"),
          b.node("Sqrt", { "ve" }, { "s" }, nil, "/ln/Sqrt"),
          b.node("Div", { "d", "s" }, { "n" }, nil, "/ln/Div"),
          b.node("Mul", { "n", "ln.weight" }, { "nw" }, nil, "/ln/Mul"),
          b.node("Add", { "nw", "ln.bias" }, { "y" }, nil, "/ln/Add_1") },
      }
    end

    it("reads the pattern PyTorch 1.13 writes below opset 17", function()
      local net = nn.import(pattern(-1))
      assert.equal(1, #net:modules())
      assert.equal("LayerNorm", net:modules()[1].kind)
      local x = { 0.5, -1.25, 2 }
      local want = ref.forward({ { "LayerNorm", w3, b3 } }, x)
      assert.is_true(ref.max_diff(want, net:forward(x)) <= 1e-6)
      assert.same(net:forward(x), nn.import(pattern(1)):forward(x))
    end)

    it("refuses a ReduceMean over another axis, naming the node", function()
      local ok, e = pcall(nn.import, pattern(0))
      assert.is_false(ok)
      assert.truthy(e:find("'/ln/ReduceMean' (ReduceMean) in layer 'ln': a ReduceMean is supported over "
        .. "the last axis only", 1, true), e)
    end)

    it("refuses to write an eps its pattern cannot say, naming the module", function()
      local net = nn.Sequential{ nn.Linear(2, 2), nn.LayerNorm(2, 1e-3) }
      local ok, e = pcall(net.export, net, path, "onnx")
      assert.is_false(ok)
      assert.truthy(e:find("module 2: nn.LayerNorm's eps is 0.001, and its ONNX form has only "
        .. "1e-05", 1, true), e)
    end)
  end)

  describe("refuses bad arguments, naming them", function()
    local function message(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return (tostring(e):gsub("^[^:]*:%d+: ", ""))
    end
    it("a width of 0, an eps out of range, widths that do not meet", function()
      local e = message(nn.LayerNorm, 0)
      assert.truthy(e:find("bad argument #1 to", 1, true) and
        e:find("' (size must be positive, got 0)", 1, true), e)
      assert.truthy(message(nn.LayerNorm, 3, 0):find("(eps must be between", 1, true))
      assert.truthy(message(nn.LayerNorm, 3, 0 / 0):find("(eps must be between", 1, true))
      e = message(nn.Sequential, { nn.Linear(2, 3), nn.LayerNorm(4) })
      assert.truthy(e:find("layer 2: nn.LayerNorm(4 -> 4) takes 4 inputs, but the layer "
        .. "before it gives 3", 1, true), e)
    end)
  end)
end)
