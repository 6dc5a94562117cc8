-- Gradients: net:backward for every layer kind and crit:backward for every
-- loss, against central finite differences of a double-precision plain-Lua
-- reference (spec/support/reference.lua, spec/support/train_ref.lua) that
-- shares no code with the C engine.

local nn = require "nn"
local compat = require "spec.support.compat"
local ref = require "spec.support.reference"
local tref = require "spec.support.train_ref"

-- float32 sums of a few dozen products, against differences taken in
-- double: |got - want| <= TOL_GRAD * max(1, |want|).
local TOL_GRAD = 2e-5
local SETS = { "generic", "avx2", "avx512" }

local function worst(got, want)
  assert.equal(#want, #got)
  local d = 0
  for i = 1, #want do
    local e = math.abs(got[i] - want[i]) / math.max(1, math.abs(want[i]))
    if e ~= e then return math.huge end
    d = math.max(d, e)
  end
  return d
end

local function matrix_values(M)
  local out = {}
  for i = 1, M:rows() do for j = 1, M:cols() do out[#out + 1] = M:get(i, j) end end
  return out
end

local function random_rows(rand, n, k, lo, hi)
  local rows = {}
  for r = 1, n do
    rows[r] = {}
    for j = 1, k do rows[r][j] = rand(lo or -1, hi or 1) end
  end
  return rows
end

--- net, its reference layers: Linear(n_in -> h), the kind, Linear(h -> n_out).
local function sandwich(rand, kind, n_in, h, n_out)
  local W1, b1 = ref.random_linear(rand, n_in, h)
  local W2, b2 = ref.random_linear(rand, h, n_out)
  local middle = kind == "LeakyReLU" and nn.LeakyReLU(0.2) or nn[kind]()
  local net = nn.Sequential{ nn.Linear(n_in, h), middle, nn.Linear(h, n_out) }
  net:set_weights(1, W1, b1)
  net:set_weights(3, W2, b2)
  return net, { { "Linear", W1, b1 }, { kind, 0.2 }, { "Linear", W2, b2 } }
end

--- sum over rows of dY . net(x): its gradient is what backward gives.
local function probe(layers, X, DY)
  local s = 0
  for r = 1, #X do
    local y = ref.forward(layers, X[r])
    for j = 1, #y do s = s + DY[r][j] * y[j] end
  end
  return s
end

--- The worst error of net:backward's parameter and input gradients, the
-- parameters checked at every `every`-th index.
local function check_backward(net, layers, X, DY, every)
  local dX, G = net:backward(nn.Matrix(X), nn.Matrix(DY))
  local g = matrix_values(G)
  local p = tref.flatten(layers)
  local got, want = {}, {}
  for i = 1, #p, every do
    local v = p[i]
    local function at(d)
      p[i] = v + d
      local s = probe(tref.unflatten(layers, p), X, DY)
      p[i] = v
      return s
    end
    got[#got + 1] = g[i]
    want[#want + 1] = (at(1e-6) - at(-1e-6)) / 2e-6
  end
  -- a row's inputs change only that row's term of the probe
  local dx_want = {}
  for r = 1, #X do
    local g_r = tref.fd(function(x) return probe(layers, { x }, { DY[r] }) end, X[r])
    for j = 1, #g_r do dx_want[#dx_want + 1] = g_r[j] end
  end
  return math.max(worst(got, want), worst(matrix_values(dX), dx_want))
end

describe("net:backward", function()
  local before
  before_each(function() before = nn.kernel() end)
  after_each(function() nn.kernel(before) end)

  for _, kind in ipairs{ "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "SoftMax", "Identity" } do
    it("gives " .. kind .. "'s gradients as finite differences do, with every kernel set", function()
      for _, set in ipairs(SETS) do
        if pcall(nn.kernel, set) then
          local rand = ref.stream(11)
          local net, layers
          if kind == "Linear" then
            local W1, b1 = ref.random_linear(rand, 4, 5)
            local W2, b2 = ref.random_linear(rand, 5, 3)
            net = nn.Sequential{ nn.Linear(4, 5), nn.Linear(5, 3) }
            net:set_weights(1, W1, b1)
            net:set_weights(2, W2, b2)
            layers = { { "Linear", W1, b1 }, { "Linear", W2, b2 } }
          else
            net, layers = sandwich(rand, kind, 4, 5, 3)
          end
          local X, DY = random_rows(rand, 3, 4, -2, 2), random_rows(rand, 3, 3)
          assert.is_true(check_backward(net, layers, X, DY, 1) <= TOL_GRAD, kind .. " " .. set)
        end
      end
    end)
  end

  it("gives the gradients of a wide net over full and partial tiles and panels, with every kernel set", function()
    -- 37 -> 26 -> 3 over 35 rows: more than a tile's rows and a panel's
    -- samples of every set, and no multiple of either
    for _, set in ipairs(SETS) do
      if pcall(nn.kernel, set) then
        local rand = ref.stream(5)
        local net, layers = sandwich(rand, "Tanh", 37, 26, 3)
        local X, DY = random_rows(rand, 35, 37), random_rows(rand, 35, 3)
        assert.is_true(check_backward(net, layers, X, DY, 23) <= TOL_GRAD, set)
      end
    end
  end)

  it("adds into the grads it is given, and takes one sample as tables", function()
    local rand = ref.stream(3)
    local net, layers = sandwich(rand, "Sigmoid", 4, 5, 3)
    local x, dy = { 0.5, -1, 2, 0.25 }, { 1, -0.5, 0.75 }
    local dx, G = net:backward(x, dy)
    assert.equal("table", type(dx))
    local once = matrix_values(G)
    local _, G2 = net:backward(x, dy, G)
    assert.equal(G, G2)
    local twice = matrix_values(G2)
    for i = 1, #once do assert.equal(2 * once[i], twice[i]) end
    local want = tref.fd(function(p) return probe(layers, { p }, { dy }) end, { 0.5, -1, 2, 0.25 })
    assert.is_true(worst(dx, want) <= TOL_GRAD)
  end)

  it("refuses shapes that do not fit, naming them", function()
    local net = nn.Sequential{ nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1) }
    assert.has_error(function() net:backward(nn.Matrix(2, 3), nn.Matrix(2, 1)) end,
      "bad argument #1 to 'backward' (X: expected 2 columns, got 3)")
    assert.has_error(function() net:backward(nn.Matrix(2, 2), nn.Matrix(3, 1)) end,
      "bad argument #2 to 'backward' (dY: expected 2 x 1, got 3 x 1)")
    assert.has_error(function() net:backward(nn.Matrix(2, 2), nn.Matrix(2, 1), nn.Matrix(1, 3)) end,
      "bad argument #3 to 'backward' (grads: expected a 1 x 13 nn.Matrix, got 1 x 3)")
    assert.has_error(function() net:backward({ 1, 2 }, { 1, 2 }) end,
      "bad argument #2 to 'backward' (dy: expected 1 numbers, got 2)")
    assert.has_error(function() nn.Tanh():backward({ 1 }, { 1 }) end,
      "the network has no parameters to train")
  end)
end)

describe("net:get_params and net:set_params", function()
  it("read and write every parameter in the stored order", function()
    local net = nn.Sequential{ nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1) }
    net:set_weights(1, { { 1, 2 }, { 3, 4 } }, { 5, 6 })
    net:set_weights(3, { { 7, 8 } }, { 9 })
    local P = net:get_params()
    assert.same({ { 1, 2, 3, 4, 5, 6, 7, 8, 9 } }, P:to_table())
    P:set(1, 9, -1)
    net:set_params(P)
    local _, b = net:get_weights(3)
    assert.same({ -1 }, b)
    assert.has_error(function() net:set_params(nn.Matrix(1, 8)) end,
      "bad argument #1 to 'set_params' (params: expected a 1 x 9 nn.Matrix, got 1 x 8)")
  end)
end)

describe("the criteria", function()
  local cases = {
    { "mse", nn.MSECriterion, false },
    { "cross_entropy", nn.CrossEntropyCriterion, true },
    { "bce", nn.BCECriterion, false },
  }
  for _, case in ipairs(cases) do
    local name, Crit, classes = case[1], case[2], case[3]
    it(name .. ": forward is the mean loss and backward its gradient", function()
      local rand = ref.stream(17)
      local lo, hi = -3, 3
      if name == "bce" then lo, hi = 0.05, 0.95 end
      local Y = random_rows(rand, 5, 4, lo, hi)
      local T = classes and { 2, 4, 1, 1, 3 } or random_rows(rand, 5, 4, 0, 1)
      local crit = Crit()
      local Tm = classes and T or nn.Matrix(T)
      local function mean(flat)
        local s = 0
        for r = 1, 5 do
          local y = { compat.unpack(flat, (r - 1) * 4 + 1, r * 4) }
          s = s + tref.loss[name](y, T[r])
        end
        return s / tref.count(name, 5, 4)
      end
      local flat = {}
      for r = 1, 5 do for j = 1, 4 do flat[#flat + 1] = Y[r][j] end end
      local Ym = nn.Matrix(Y)
      -- Y as stored in float32: the reference sees the same numbers
      local stored = matrix_values(Ym)
      assert.is_true(math.abs(crit:forward(Ym, Tm) - mean(stored)) <= 1e-6)
      assert.is_true(worst(matrix_values(crit:backward(Ym, Tm)), tref.fd(mean, stored)) <= TOL_GRAD)
      -- one sample as tables
      local y1 = { compat.unpack(stored, 1, 4) }
      local t1 = classes and T[1] or matrix_values(nn.Matrix{ T[1] })
      local g1 = crit:backward(y1, t1)
      local want = tref.fd(function(v) return tref.loss[name](v, t1) / tref.count(name, 1, 4) end, y1)
      assert.is_true(worst(g1, want) <= TOL_GRAD)
    end)
  end

  it("cross_entropy stays finite on logits far apart", function()
    local crit = nn.CrossEntropyCriterion()
    local loss = crit:forward({ 1000, -1000, 0 }, 2)
    assert.equal(2000, loss)
    assert.same({ 1, -1, 0 }, crit:backward({ 1000, -1000, 0 }, 2))
  end)

  it("bce clamps its logs at -100, as Torch does", function()
    assert.equal(50, nn.BCECriterion():forward({ 0, 1 }, { 1, 1 }))
  end)

  it("refuses targets that do not fit, naming them", function()
    local ce, bce = nn.CrossEntropyCriterion(), nn.BCECriterion()
    assert.has_error(function() ce:forward({ 1, 2 }, 3) end,
      "bad argument #2 to 'forward' (t: 3 is not a class index in 1..2)")
    assert.has_error(function() bce:forward({ 0.5 }, { 2 }) end,
      "bad argument #2 to 'forward' (t[1] is 2.0, outside [0, 1] for bce)")
    assert.has_error(function() ce:forward(nn.Matrix(2, 3), { 1 }) end,
      "bad argument #2 to 'forward' (T: 1 targets for 2 rows of X)")
    assert.equal("nn.CrossEntropyCriterion", tostring(ce))
  end)
end)
