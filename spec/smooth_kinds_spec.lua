-- The smooth activations of PyTorch (src/engine/nn_kind_smooth.c): GELU in
-- its two forms, SiLU, Softplus and ELU, against a plain-Lua computation in
-- double precision (spec/support/reference.lua) of the float input, in
-- every kernel set the processor runs; their gradients against the
-- derivative in double, itself checked by central differences of the
-- reference; their store and ONNX round trips and the errors they raise.
-- PyTorch's own exports of them are imported in spec/onnx_spec.lua.

local nn = require "nn"
local f32 = require("spec.support.compat").f32
local ulp = require("spec.support.check").ulp
local ref = require "spec.support.reference"
local remove_db = require("spec.support.db").remove

local abs, exp, sqrt = math.abs, math.exp, math.sqrt
local unpack = table.unpack or unpack

-- name, constructor arguments, reference layer, and the bounds that
-- src/engine/nn_kind_smooth.c states: ulps, and an absolute term in |x|
local CASES = {
  { "GELU", {}, { "GELU", 0 }, 5, 0 },
  { "GELU", { "tanh" }, { "GELU", 1 }, 1, 2 ^ -24 },
  { "SiLU", {}, { "SiLU" }, 3, 0 },
  { "Softplus", {}, { "Softplus", 1, 20 }, 2, 0 },
  { "Softplus", { 2, 10 }, { "Softplus", 2, 10 }, 2, 0 },
  { "ELU", {}, { "ELU", 1 }, 2, 0 },
  { "ELU", { 0.5 }, { "ELU", 0.5 }, 2, 0 },
}

local function label(case)
  local args = {}
  for i, a in ipairs(case[2]) do args[i] = tostring(a) end
  return ("nn.%s(%s)"):format(case[1], table.concat(args, ", "))
end

-- 8,900 inputs: a grid over [-20, 20], small ones of both signs, and the
-- region near 0 where ELU's series meets its exp
local function sweep()
  local xs = {}
  for i = -4000, 4000 do xs[#xs + 1] = f32(i / 200) end
  for i = 1, 300 do
    xs[#xs + 1] = f32(-i * 0.0017)
    xs[#xs + 1] = f32(1e-30 * i)
    xs[#xs + 1] = f32(-1e-20 * i)
  end
  return xs
end

local SETS = { "generic", "avx2", "avx512", "neon" }

describe("the smooth activations", function()
  local before
  setup(function() before = nn.kernel() end)
  teardown(function() nn.kernel(before) end)

  describe("agree with double precision within the bounds nn_kind_smooth.c states", function()
    for _, case in ipairs(CASES) do
      it(label(case) .. ", in every kernel set", function()
        local xs, sets = sweep(), 0
        local want = ref.forward({ case[3] }, xs)
        for _, set in ipairs(SETS) do
          if pcall(nn.kernel, set) then
            sets = sets + 1
            local y = nn[case[1]](unpack(case[2])):forward(xs)
            for i, x in ipairs(xs) do
              local err = abs(y[i] - want[i]) - case[5] * abs(x)
              assert(err <= case[4] * ulp(want[i]), ("%s in %s at x = %.9g: %.9g, not %.17g")
                :format(label(case), set, x, y[i], want[i]))
            end
          end
        end
        assert.is_true(sets >= 1)
      end)
    end
  end)

  -- an identity Linear in front, exact in both passes, so that the rows
  -- reach the kind with the same bits
  it("give a batch the bits of one sample at a time", function()
    local n = 37
    local W, b = {}, {}
    for j = 1, n do
      W[j] = {}
      for i = 1, n do W[j][i] = i == j and 1 or 0 end
      b[j] = 0
    end
    for _, case in ipairs(CASES) do
      local net = nn.Sequential{ nn.Linear(n, n), nn[case[1]](unpack(case[2])) }
      net:set_weights(1, W, b)
      local rows = {}
      for r = 1, 130 do
        rows[r] = {}
        for i = 1, n do rows[r][i] = ((r * 7 + i * 13) % 97) / 6 - 8 end
      end
      local Y = net:forward(nn.Matrix(rows))
      for r = 1, #rows do
        local y = net:forward(rows[r])
        for i = 1, n do assert.equal(y[i], Y:get(r, i), label(case)) end
      end
    end
  end)

  it("are finite at the ends of float32", function()
    for _, case in ipairs(CASES) do
      local y = nn[case[1]](unpack(case[2])):forward{ 3.4e38, -3.4e38 }
      for i = 1, 2 do
        assert.is_true(y[i] == y[i] and abs(y[i]) <= 3.5e38, label(case))
      end
    end
    assert.equal(f32(3.4e38), nn.Softplus():forward{ 3.4e38 }[1])
    assert.equal(-1, nn.ELU():forward{ -3.4e38 }[1])
  end)

  describe("have the gradient of their double-precision derivative", function()
    local K, C = sqrt(2 / math.pi), 0.044715
    local function tanh(u) local e = exp(2 * u) return (e - 1) / (e + 1) end
    local DERIV = {
      ["nn.GELU()"] = function(x)
        return 0.5 * ref.erfc(-x / sqrt(2)) + x * exp(-x * x / 2) / sqrt(2 * math.pi) end,
      ["nn.GELU(tanh)"] = function(x)
        local t = tanh(K * (x + C * x ^ 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * C * x * x) end,
      ["nn.SiLU()"] = function(x) local s = 1 / (1 + exp(-x)) return s * (1 + x * (1 - s)) end,
      ["nn.Softplus()"] = function(x) return x > 20 and 1 or 1 / (1 + exp(-x)) end,
      ["nn.Softplus(2, 10)"] = function(x) return 2 * x > 10 and 1 or 1 / (1 + exp(-2 * x)) end,
      ["nn.ELU()"] = function(x) return x > 0 and 1 or exp(x) end,
      ["nn.ELU(0.5)"] = function(x) return x > 0 and 1 or 0.5 * exp(x) end,
    }
    local XS = { -6, -2.5, -1, -0.3, -0.01, 0.2, 0.7, 1.5, 4, 12 }

    -- the derivative itself, against central differences of the reference
    it("(whose formulas match central differences of the reference)", function()
      for _, case in ipairs(CASES) do
        for _, x in ipairs(XS) do
          local h = 1e-6
          local fd = (ref.forward({ case[3] }, { x + h })[1]
                      - ref.forward({ case[3] }, { x - h })[1]) / (2 * h)
          local d = DERIV[label(case)](x)
          assert(abs(fd - d) <= 1e-7, ("%s at %g: %.12g, differences %.12g")
            :format(label(case), x, d, fd))
        end
      end
    end)

    for _, case in ipairs(CASES) do
      it(label(case) .. " through net:backward", function()
        -- an identity Linear in front, so that dx is the kind's own
        local n = #XS
        local net = nn.Sequential{ nn.Linear(n, n), nn[case[1]](unpack(case[2])) }
        local W, b = {}, {}
        for j = 1, n do
          W[j] = {}
          for i = 1, n do W[j][i] = i == j and 1 or 0 end
          b[j] = 0
        end
        net:set_weights(1, W, b)
        local dy = {}
        for j = 1, n do dy[j] = 1 end
        local dx = net:backward(XS, dy)
        for i, x in ipairs(XS) do
          local d = DERIV[label(case)](x)
          assert(abs(dx[i] - d) <= 4e-6 * math.max(1, abs(d)),
            ("%s at %g: %.9g, not %.12g"):format(label(case), x, dx[i], d))
        end
      end)
    end

    it("train: an SGD step lowers the loss of a small net through each", function()
      for _, case in ipairs(CASES) do
        nn.seed(5)
        local net = nn.Sequential{ nn.Linear(2, 6), nn[case[1]](unpack(case[2])), nn.Linear(6, 1) }
        local X = nn.Matrix{ { 0, 1 }, { 1, 0 }, { 1, 1 }, { -1, 0.5 } }
        local T = nn.Matrix{ { 1 }, { 0.5 }, { -1 }, { 0.25 } }
        local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.05, batch = 4, loss = "mse" })
        local first = tr:step(X, T)
        local last
        for _ = 1, 20 do last = tr:step(X, T) end
        assert(last < first, ("%s: %g then %g"):format(label(case), first, last))
      end
    end)
  end)

  describe("in the store", function()
    local db
    before_each(function() db = os.tmpname() end)
    after_each(function() remove_db(db) end)

    it("save their hyper-parameters by name and load to the same bits", function()
      nn.seed(2)
      local net = nn.Sequential{ nn.Linear(3, 4), nn.GELU("tanh"), nn.Linear(4, 4), nn.SiLU(),
        nn.Softplus(2, 10), nn.ELU(0.5), nn.GELU(), nn.Linear(4, 2) }
      local store = assert(nn.open(db))
      store:save("smooth", net)
      local arch
      for row in store:rows("SELECT arch FROM nn_version") do arch = row.arch end
      assert.equal('[{"type":"Linear","in":3,"out":4},{"type":"GELU","approximate":1},'
        .. '{"type":"Linear","in":4,"out":4},{"type":"SiLU"},'
        .. '{"type":"Softplus","beta":2,"threshold":10},{"type":"ELU","alpha":0.5},'
        .. '{"type":"GELU","approximate":0},{"type":"Linear","in":4,"out":2}]', arch)
      local back = store:load("smooth")
      assert.equal(tostring(net), tostring(back))
      assert.same(net:forward{ 0.5, -1, 2 }, back:forward{ 0.5, -1, 2 })
      store:close()
    end)
  end)

  describe("in ONNX", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() os.remove(path) end)

    it("are written as PyTorch writes them and read back to the same answers", function()
      nn.seed(9)
      local net = nn.Sequential{ nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 6), nn.SiLU(),
        nn.Softplus(), nn.ELU(0.7), nn.Sigmoid(), nn.Linear(6, 3) }
      net:export(path, "onnx")
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      for _, op in ipairs{ "Div", "Erf", "Add", "Mul", "Sigmoid", "Softplus", "Elu" } do
        assert.truthy(bytes:find(op, 1, true), op)
      end
      local back = nn.import(path)
      assert.equal(tostring(net), tostring(back))
      local x = { 0.3, -1.2, 2, -0.5 }
      assert.is_true(ref.max_diff(net:forward(x), back:forward(x)) <= 1e-6)
    end)

    -- GELU's pattern by hand: x / sqrt 2, erf, + one, x *, * 0.5, with
    -- the number added given
    local function gelu_model(one)
      local b = require "spec.support.onnx_builder"
      return b.model{
        opset = 13,
        inputs = { b.value_info("x", { "N", 3 }) },
        outputs = { b.value_info("y", { "N", 3 }) },
        initializers = { b.tensor("r2", {}, { 1.41421353816986084 }), b.tensor("one", {}, { one }),
          b.tensor("half", {}, { 0.5 }) },
        nodes = { b.node("Div", { "x", "r2" }, { "a" }, nil, "/1/Div"),
          b.node("Erf", { "a" }, { "e" }, nil, "/1/Erf"),
          b.node("Add", { "one", "e" }, { "s" }, nil, "/1/Add"),
          b.node("Mul", { "x", "s" }, { "m" }, nil, "/1/Mul"),
          b.node("Mul", { "m", "half" }, { "y" }, nil, "/1/Mul_1") },
      }
    end

    it("read GELU's pattern with its Add either way round", function()
      local net = nn.import(gelu_model(1))
      assert.equal('nn.GELU("none")', net:modules()[1].name)
      assert.equal(1, #net:modules())
      local x = { -1.5, 0.25, 3 }
      assert.is_true(ref.max_diff(ref.forward({ { "GELU", 0 } }, x), net:forward(x)) <= 1e-6)
    end)

    it("read a pattern that breaks off as nodes of their own, and refuse those", function()
      local ok, e = pcall(nn.import, gelu_model(2))
      assert.is_false(ok)
      assert.truthy(e:find("node 1 '/1/Div' (Div) in layer '1': operator Div is not supported", 1, true), e)
    end)

    it("refuse what their ONNX form cannot say, naming the module", function()
      local ok, e = pcall(nn.Sequential{ nn.Linear(2, 2), nn.GELU("tanh") }.export,
        nn.Sequential{ nn.Linear(2, 2), nn.GELU("tanh") }, path, "onnx")
      assert.is_false(ok)
      assert.truthy(e:find("module 2: nn.GELU's approximate is 'tanh', and its ONNX form "
        .. "is 'none' only", 1, true), e)
      local net = nn.Sequential{ nn.Linear(2, 2), nn.Softplus(2) }
      ok, e = pcall(net.export, net, path, "onnx")
      assert.is_false(ok)
      assert.truthy(e:find("module 2: nn.Softplus's beta is 2, and its ONNX form has only 1",
        1, true), e)
    end)
  end)

  describe("refuse bad arguments, naming them", function()
    local function message(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return (tostring(e):gsub("^[^:]*:%d+: ", ""))
    end
    it("GELU's form", function()
      assert.truthy(message(nn.GELU, "fast"):find(
        "(approximate must be one of 'none', 'tanh', not 'fast')", 1, true))
      assert.truthy(message(nn.GELU, 0.5):find("(approximate must be a whole number)", 1, true))
      assert.truthy(message(nn.GELU, 2):find("(approximate must be between 0", 1, true))
    end)
    it("Softplus's beta and ELU's alpha", function()
      assert.truthy(message(nn.Softplus, 0):find("(beta must be between", 1, true))
      assert.truthy(message(nn.Softplus, 1, 0 / 0):find("(threshold must be a finite number)", 1, true))
      assert.truthy(message(nn.ELU, 1 / 0):find("(alpha must be a finite number)", 1, true))
    end)
  end)
end)
