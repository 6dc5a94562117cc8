-- The kinds that act differently while training (src/engine/nn_kind_train.c):
-- BatchNorm(n), PyTorch's BatchNorm1d, and Dropout(p).  Their forward passes
-- outside training against double precision; training steps (the batch's
-- statistics, their backward pass, the running statistics) against a
-- plain-Lua SGD in double precision; Dropout's mask against its generator
-- recomputed here, its rate, and the same bits on 1, 2, 3 and 8 threads;
-- the store, ONNX and FANN; the errors they raise.

local nn = require "nn"
local f32 = require("spec.support.compat").f32
local ulp = require("spec.support.check").ulp
local message = require("spec.support.check").message
local ref = require "spec.support.reference"
local remove_db = require("spec.support.db").remove

local abs, sqrt = math.abs, math.sqrt
local unpack = table.unpack or unpack

local function rows_of(rand, n, k, lo, hi)
  local X = {}
  for r = 1, n do
    X[r] = {}
    for i = 1, k do X[r][i] = f32(rand(lo, hi)) end
  end
  return X
end

local function all_params(net)
  local M = net:get_params()
  local t = {}
  for i = 1, M:cols() do t[i] = M:get(1, i) end
  return t
end

-- BatchNorm outside training, in double: (x - rm) / sqrt(rv + eps) * w + b
local function bn_infer(x, w, b, rm, rv, eps)
  return ref.forward({ { "BatchNorm", { w, b, rm, rv }, eps } }, x)
end

-- A BatchNorm with weight, bias and running statistics not its start.
local function set_bn(net, i, n, rand)
  local w, b, rm, rv = {}, {}, {}, {}
  for j = 1, n do
    w[j], b[j] = rand(0.5, 1.5), rand(-0.5, 0.5)
    rm[j], rv[j] = rand(-1, 1), rand(0.5, 2)
  end
  net:set_weights(i, "weight", w)
  net:set_weights(i, "bias", b)
  net:set_weights(i, "running_mean", rm)
  net:set_weights(i, "running_var", rv)
end

describe("nn.BatchNorm outside training", function()
  it("is (x - running_mean) / sqrt(running_var + eps) * weight + bias, within half an ulp " ..
     "of double precision", function()
    local net = nn.Sequential{ nn.BatchNorm(5, { eps = 1e-3 }) }
    local rand = ref.stream(3)
    set_bn(net, 1, 5, rand)
    local w, b, rm, rv = net:get_weights(1)
    local eps = f32(1e-3)
    for _ = 1, 200 do
      local x = {}
      for i = 1, 5 do x[i] = f32(rand(-20, 20)) end
      local want, got = bn_infer(x, w, b, rm, rv, eps), net:forward(x)
      for i = 1, 5 do
        assert(abs(got[i] - want[i]) <= 0.5 * ulp(want[i]),
          ("feature %d: %.9g, not %.12g"):format(i, got[i], want[i]))
      end
    end
  end)

  it("by hand: running mean 1, var 3, eps 1 make (5, 1) into (2, 0); weight 2, bias 1: " ..
     "(5, 1)", function()
    local net = nn.Sequential{ nn.BatchNorm(2, { eps = 1 }) }
    net:set_weights(1, "running_mean", { 1, 1 })
    net:set_weights(1, "running_var", { 3, 3 })
    assert.same({ 2, 0 }, net:forward{ 5, 1 })
    net:set_weights(1, "weight", { 2, 2 })
    net:set_weights(1, "bias", { 1, 1 })
    assert.same({ 5, 1 }, net:forward{ 5, 1 })
  end)

  it("starts as PyTorch's: weight 1, bias 0, running_mean 0, running_var 1, named so", function()
    local m = nn.Sequential{ nn.BatchNorm(3) }:modules()[1]
    local names = {}
    for i, t in ipairs(m.params) do names[i] = t.name end
    assert.same({ "weight", "bias", "running_mean", "running_var" }, names)
    local w, b, rm, rv = nn.Sequential{ nn.BatchNorm(3) }:get_weights(1)
    assert.same({ 1, 1, 1 }, w)
    assert.same({ 0, 0, 0 }, b)
    assert.same({ 0, 0, 0 }, rm)
    assert.same({ 1, 1, 1 }, rv)
    assert.equal(f32(1e-5), m.hyper.eps)
    assert.equal(f32(0.1), m.hyper.momentum)
  end)

  it("gives a batch the bits of one sample at a time, and net:backward the gradient of " ..
     "that affine map", function()
    local rand = ref.stream(5)
    local alone = nn.Sequential{ nn.BatchNorm(4), nn.Dropout(0.5) }
    set_bn(alone, 1, 4, rand)
    local X = rows_of(rand, 37, 4, -3, 3)
    local Y = alone:forward(nn.Matrix(X))
    for r = 1, #X do
      local y = alone:forward(X[r])
      for j = 1, 4 do assert.equal(y[j], Y:get(r, j)) end
    end
    local net = nn.Sequential{ nn.Linear(3, 4), nn.BatchNorm(4), nn.Dropout(0.5), nn.Linear(4, 2) }
    set_bn(net, 2, 4, rand)
    -- d(out)/dx by central differences of the net's own (inference) forward
    local x, dy = { 0.5, -1, 2 }, { 1, -0.5 }
    local dx = net:backward(x, dy)
    for i = 1, 3 do
      local h = 1e-2
      local xp, xm = { unpack(x) }, { unpack(x) }
      xp[i], xm[i] = x[i] + h, x[i] - h
      local fp, fm = net:forward(xp), net:forward(xm)
      local fd = 0
      for j = 1, 2 do fd = fd + dy[j] * (fp[j] - fm[j]) / (2 * h) end
      assert(abs(dx[i] - fd) <= 1e-4 * math.max(1, abs(fd)),
        ("input %d: %.9g, differences %.9g"):format(i, dx[i], fd))
    end
  end)
end)

-- The double-precision reference of a training step of
-- Linear(3, 4) - [BatchNorm(4) | Dropout(0)] - ReLU - Linear(4, 2), MSE, SGD
-- (no momentum): P holds W1, b1, g, be, rm, rv, W2, b2.
local function ref_step(P, X, T, lr, bn, eps, mom)
  local B, H, K = #X, 4, 2
  local h, xh, z, a, y = {}, {}, {}, {}, {}
  for r = 1, B do
    h[r] = ref.forward({ { "Linear", P.W1, P.b1 } }, X[r])
  end
  local mu, var, rstd = {}, {}, {}
  for i = 1, H do
    local s = 0
    for r = 1, B do s = s + h[r][i] end
    mu[i] = s / B
    local q = 0
    for r = 1, B do q = q + (h[r][i] - mu[i]) ^ 2 end
    var[i] = q / B
    rstd[i] = 1 / sqrt(var[i] + eps)
  end
  local loss = 0
  for r = 1, B do
    xh[r], z[r], a[r] = {}, {}, {}
    for i = 1, H do
      if bn then
        xh[r][i] = (h[r][i] - mu[i]) * rstd[i]
        z[r][i] = xh[r][i] * P.g[i] + P.be[i]
      else
        z[r][i] = h[r][i]
      end
      a[r][i] = z[r][i] > 0 and z[r][i] or 0
    end
    y[r] = ref.forward({ { "Linear", P.W2, P.b2 } }, a[r])
    for j = 1, K do loss = loss + (y[r][j] - T[r][j]) ^ 2 end
  end
  -- backward
  local G = { W1 = {}, b1 = {}, g = {}, be = {}, W2 = {}, b2 = {} }
  for j = 1, K do
    G.W2[j] = {}
    for i = 1, H do G.W2[j][i] = 0 end
    G.b2[j] = 0
  end
  for i = 1, H do
    G.W1[i] = { 0, 0, 0 }
    G.b1[i], G.g[i], G.be[i] = 0, 0, 0
  end
  local dz = {}
  for r = 1, B do
    dz[r] = {}
    local dy = {}
    for j = 1, K do
      dy[j] = 2 * (y[r][j] - T[r][j]) / (B * K)
      G.b2[j] = G.b2[j] + dy[j]
      for i = 1, H do G.W2[j][i] = G.W2[j][i] + dy[j] * a[r][i] end
    end
    for i = 1, H do
      local da = 0
      for j = 1, K do da = da + P.W2[j][i] * dy[j] end
      dz[r][i] = z[r][i] > 0 and da or 0
    end
  end
  local dh = {}
  for r = 1, B do dh[r] = {} end
  for i = 1, H do
    if bn then
      local mg, mgx = 0, 0
      for r = 1, B do
        G.g[i] = G.g[i] + dz[r][i] * xh[r][i]
        G.be[i] = G.be[i] + dz[r][i]
        mg = mg + dz[r][i] * P.g[i] / B
        mgx = mgx + dz[r][i] * P.g[i] * xh[r][i] / B
      end
      for r = 1, B do dh[r][i] = rstd[i] * (dz[r][i] * P.g[i] - mg - xh[r][i] * mgx) end
    else
      for r = 1, B do dh[r][i] = dz[r][i] end
    end
  end
  for r = 1, B do
    for i = 1, H do
      G.b1[i] = G.b1[i] + dh[r][i]
      for k = 1, 3 do G.W1[i][k] = G.W1[i][k] + dh[r][i] * X[r][k] end
    end
  end
  -- the update, and the running statistics (PyTorch's unbiased variance)
  for name, t in pairs(G) do
    for j, v in ipairs(P[name] and t or {}) do
      if type(v) == "table" then
        for i = 1, #v do P[name][j][i] = P[name][j][i] - lr * v[i] end
      else
        P[name][j] = P[name][j] - lr * v
      end
    end
  end
  if bn then
    for i = 1, H do
      P.rm[i] = (1 - mom) * P.rm[i] + mom * mu[i]
      P.rv[i] = (1 - mom) * P.rv[i] + mom * var[i] * B / (B - 1)
    end
  end
  return loss / (B * K)
end

local function tiny_net(middle, seed)
  nn.seed(seed)
  local net = nn.Sequential{ nn.Linear(3, 4), middle, nn.ReLU(), nn.Linear(4, 2) }
  local P = {}
  P.W1, P.b1 = net:get_weights(1)
  P.W2, P.b2 = net:get_weights(4)
  if tostring(middle):find("BatchNorm", 1, true) then
    set_bn(net, 2, 4, ref.stream(seed))
    P.g, P.be, P.rm, P.rv = net:get_weights(2)
  end
  return net, P
end

local function near(want, got, tol, what)
  if type(want) == "table" then
    assert.equal(#want, #got, what)
    for i = 1, #want do near(want[i], got[i], tol, what .. "[" .. i .. "]") end
    return
  end
  assert(abs(want - got) <= tol * math.max(1, abs(want)),
    ("%s: %.9g, not %.12g"):format(what, got, want))
end

describe("training through nn.BatchNorm and nn.Dropout(0)", function()
  local rand = ref.stream(17)
  local X = rows_of(rand, 6, 3, -2, 2)
  local T = rows_of(rand, 6, 2, -1, 1)

  -- float against double after 4 steps: a relative 2e-5 holds the roundings
  -- of the float passes (a few ulps a step) with room, and misses any
  -- mistake of the batch's statistics or their gradient by orders of magnitude
  local TOL = 2e-5

  for _, case in ipairs{ { "BatchNorm", 1e-5, 0.1 }, { "BatchNorm", 1e-2, 0.35 },
                         { "Dropout" } } do
    local kind, eps, mom = unpack(case)
    it(("gives a double-precision SGD's weights%s: %s"):format(
        kind == "BatchNorm" and " and running statistics" or "",
        kind == "BatchNorm" and ("eps %g, momentum %g"):format(eps, mom) or "p = 0"), function()
      local middle = kind == "BatchNorm" and nn.BatchNorm(4, { eps = eps, momentum = mom })
                     or nn.Dropout(0)
      local net, P = tiny_net(middle, 23)
      local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.1, batch = 6, shuffle = false,
                                   loss = "mse", seed = 4 })
      for s = 1, 4 do
        local want = ref_step(P, X, T, f32(0.1), kind == "BatchNorm", f32(eps or 0),
                              f32(mom or 0))
        local got = tr:step(nn.Matrix(X), nn.Matrix(T))
        near(want, got, TOL, "loss of step " .. s)
      end
      local W1, b1 = net:get_weights(1)
      local W2, b2 = net:get_weights(4)
      near(P.W1, W1, TOL, "W1"); near(P.b1, b1, TOL, "b1")
      near(P.W2, W2, TOL, "W2"); near(P.b2, b2, TOL, "b2")
      if kind == "BatchNorm" then
        local g, be, rm, rv = net:get_weights(2)
        near(P.g, g, TOL, "weight"); near(P.be, be, TOL, "bias")
        near(P.rm, rm, TOL, "running_mean"); near(P.rv, rv, TOL, "running_var")
      end
    end)
  end

  it("leaves net:forward and tr:evaluate on the running statistics", function()
    local net = tiny_net(nn.BatchNorm(4), 29)
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.1, batch = 6, loss = "mse" })
    tr:step(nn.Matrix(X), nn.Matrix(T))
    local W1, b1 = net:get_weights(1)
    local g, be, rm, rv = net:get_weights(2)
    local W2, b2 = net:get_weights(4)
    local loss = 0
    for r = 1, #X do
      local h = ref.forward({ { "Linear", W1, b1 } }, X[r])
      local y = ref.forward({ { "ReLU" }, { "Linear", W2, b2 } },
                            bn_infer(h, g, be, rm, rv, f32(1e-5)))
      near(y, net:forward(X[r]), 1e-5, "row " .. r)
      for j = 1, 2 do loss = loss + (y[j] - T[r][j]) ^ 2 end
    end
    near(loss / (#X * 2), tr:evaluate(nn.Matrix(X), nn.Matrix(T)), 1e-5, "evaluate")
  end)

  it("keeps the running statistics of a step that diverges as they were", function()
    local net = tiny_net(nn.BatchNorm(4), 31)
    local before = all_params(net)
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.1, batch = 6, loss = "mse" })
    local big = {}
    for r = 1, 6 do big[r] = { 1e35, -1e35 } end
    assert.matches("training diverged at batch 1", message(tr.step, tr, nn.Matrix(X),
      nn.Matrix(big)))
    assert.same(before, all_params(net))
  end)
end)

-- Dropout's 24 random bits for (key, row, unit), as nn_kind_train.c draws
-- them: splitmix64's finaliser over the key and the row, then the unit
-- (Lua 5.3 and later: 64-bit integers that wrap)
local dropout_bits
if math.type then
  dropout_bits = load([[
    local G = 0x9E3779B97F4A7C15
    local function mix(z)
      z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
      z = (z ~ (z >> 27)) * 0x94D049BB133111EB
      return z ~ (z >> 31)
    end
    local function splitmix(state)
      return mix(state + G)
    end
    return function(seed, step, row, unit)
      local key = splitmix(seed ~ (step * 0xD1B54A32D192ED03))
      local z = mix(key + row * G)
      return mix(z + (unit + 1) * G) >> 40
    end
  ]])()
end

describe("nn.Dropout while training", function()
  -- Linear(B, N) with every weight 1 and no bias, row r of X the r-th unit
  -- vector, targets 0: a unit's output is 1 scaled or 0, so its weight
  -- moves in the step exactly when Dropout kept it, and the loss is the
  -- count kept times scale^2 / (B N)
  local B, N = 150, 100
  local function mask_net(p)
    local net = nn.Sequential{ nn.Linear(B, N), nn.Dropout(p) }
    local W, b = {}, {}
    for j = 1, N do
      W[j] = {}
      for r = 1, B do W[j][r] = 1 end
      b[j] = 0
    end
    net:set_weights(1, W, b)
    local X, T = nn.Matrix(B, B), nn.Matrix(B, N)
    for r = 1, B do X:set(r, r, 1) end
    return net, X, T
  end

  local function step_mask(p, seed, threads, steps)
    local net, X, T = mask_net(p)
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.01, batch = B, loss = "mse",
                                 seed = seed, threads = threads })
    local loss
    for _ = 1, steps or 1 do loss = tr:step(X, T) end
    local W = net:get_weights(1)
    local kept = {}
    for r = 1, B do
      kept[r] = {}
      for j = 1, N do kept[r][j] = W[j][r] ~= 1 end
    end
    return kept, loss, all_params(net)
  end

  it("drops a unit with probability p and scales the others by 1 / (1 - p)", function()
    for _, p in ipairs{ 0.1, 0.5, 0.8 } do
      local kept, loss = step_mask(p, 7, 1)
      local count = 0
      for r = 1, B do for j = 1, N do if kept[r][j] then count = count + 1 end end end
      -- the count kept is binomial(B N, 1 - p): within 5 standard deviations
      local n = B * N
      local sd = sqrt(n * p * (1 - p))
      assert(abs(count - n * (1 - p)) <= 5 * sd, ("p %g: %d of %d kept"):format(p, count, n))
      local scale = f32(1 / f32(1 - f32(p)))
      near(count * scale ^ 2 / n, loss, 1e-6, "loss at p " .. p)
    end
  end)

  if dropout_bits then
    it("draws its mask from (seed, step, row, unit), as recomputed here", function()
      local p = f32(0.3)
      local below = math.ceil(p * 2 ^ 24)
      for _, seed in ipairs{ 0, 12345 } do
        local kept = step_mask(0.3, seed, 1)
        for r = 1, B do
          for j = 1, N do
            local want = dropout_bits(seed, 0, r - 1, j - 1) >= below
            assert(want == kept[r][j], ("seed %d, row %d, unit %d"):format(seed, r, j))
          end
        end
      end
    end)
  end

  it("gives the same bits on 1, 2, 3 and 8 threads, a batch of 150 in chunks of 64", function()
    local _, _, one = step_mask(0.4, 3, 1, 3)
    for _, threads in ipairs{ 2, 3, 8 } do
      local _, _, got = step_mask(0.4, 3, threads, 3)
      assert.same(one, got, threads .. " threads")
    end
  end)

  it("draws another mask at the next step and with another seed", function()
    local a = step_mask(0.5, 1, 1, 1)
    local b = step_mask(0.5, 2, 1, 1)
    assert.are_not.same(a, b)
  end)

  it("is the identity in net:forward and tr:evaluate", function()
    local net = nn.Sequential{ nn.Linear(2, 3), nn.Dropout(0.9) }
    local lin = nn.Sequential{ nn.Linear(2, 3) }
    lin:set_weights(1, net:get_weights(1))
    assert.same(lin:forward{ 1, -2 }, net:forward{ 1, -2 })
  end)
end)

describe("training against PyTorch (spec/fixtures/train, made by its make.py)", function()
  local fx = dofile("spec/fixtures/train/expected.lua")
  -- both in float32, their sums in other orders: a few ulps a step, which
  -- the batch's statistics may magnify a little (the largest difference
  -- seen is 1.0e-7 relative); 1e-6 relative holds them with room
  local TOL = 1e-6

  for _, name in ipairs{ "batchnorm", "batchnorm_eps_momentum", "dropout0" } do
    local case = fx.cases[name]
    it(("gives PyTorch's losses, weights and running statistics within %g: %s"):format(TOL, name),
      function()
        local middle = name == "dropout0" and nn.Dropout(case.options)
                       or nn.BatchNorm(4, case.options)
        local net = nn.Sequential{ nn.Linear(3, 4), middle, nn.ReLU(), nn.Linear(4, 2) }
        for _, t in ipairs(case.before) do net:set_weights(t[1], t[2], t[3]) end
        local tr = nn.Trainer(net, { optimizer = "sgd", lr = fx.lr, batch = #fx.X,
                                     shuffle = false, loss = "mse" })
        for s = 1, fx.steps do
          near(case.losses[s], tr:step(nn.Matrix(fx.X), nn.Matrix(fx.T)), TOL, "loss " .. s)
        end
        for _, t in ipairs(case.after) do
          near(t[3], net:get_weights(t[1], t[2]), TOL, ("module %d's %s"):format(t[1], t[2]))
        end
      end)
  end
end)

describe("fold", function()
  -- the folded Linear's W and b are the Linear's scaled by weight / sqrt(
  -- running_var + eps) in double and rounded once more, and the sums of the
  -- folded net are taken in another order: a few float ulps of outputs of
  -- order 1 (the largest seen here is 1.2e-7), 1e-6 with room
  it("takes a BatchNorm right after a Linear (or a run of them) into it, within 1e-6", function()
    local rand = ref.stream(67)
    nn.seed(67)
    local net = nn.Sequential{ nn.Linear(5, 6), nn.Dropout(0.3), nn.BatchNorm(6, { eps = 1e-3 }),
      nn.ReLU(), nn.Linear(6, 4), nn.Linear(4, 3), nn.BatchNorm(3), nn.Tanh(), nn.BatchNorm(3) }
    set_bn(net, 3, 6, rand)
    set_bn(net, 7, 3, rand)
    set_bn(net, 9, 3, rand)
    local folded = net:fold()
    local kinds = {}
    for i, m in ipairs(folded:modules()) do kinds[i] = m.kind end
    assert.equal("Linear ReLU Linear Tanh BatchNorm", table.concat(kinds, " "))
    for _ = 1, 200 do
      local x = {}
      for i = 1, 5 do x[i] = f32(rand(-3, 3)) end
      local want, got = net:forward(x), folded:forward(x)
      for j = 1, 3 do
        assert(abs(want[j] - got[j]) <= 1e-6, ("output %d: %.9g, not %.9g"):format(j,
          got[j], want[j]))
      end
    end
  end)

  it("is (x - 1) / 2 * 3 + 4 on nn.Linear(1, 1) with weight 2, bias 1: weight 3, bias 4", function()
    local net = nn.Sequential{ nn.Linear(1, 1), nn.BatchNorm(1, { eps = 0.25 }) }
    net:set_weights(1, { { 2 } }, { 1 })
    net:set_weights(2, "running_mean", { 1 })
    net:set_weights(2, "running_var", { 3.75 })     -- sqrt(3.75 + 0.25) = 2
    net:set_weights(2, "weight", { 3 })
    net:set_weights(2, "bias", { 4 })
    local W, b = net:fold():get_weights(1)
    -- y = ((2x + 1) - 1) / 2 * 3 + 4 = 3x + 4
    assert.same({ { 3 } }, W)
    assert.same({ 4 }, b)
  end)
end)

describe("a network with nn.BatchNorm on threads", function()
  it("takes a step as one chunk: the same bits on 1, 2, 3 and 8 threads, batch 150", function()
    local rand = ref.stream(41)
    local X, T = nn.Matrix(rows_of(rand, 150, 3, -2, 2)), nn.Matrix(rows_of(rand, 150, 2, -1, 1))
    local function run(threads)
      local net = tiny_net(nn.BatchNorm(4), 43)
      local tr = nn.Trainer(net, { optimizer = "adam", batch = 150, loss = "mse",
                                   threads = threads })
      for _ = 1, 3 do tr:step(X, T) end
      return all_params(net)
    end
    local one = run(1)
    for _, threads in ipairs{ 2, 3, 8 } do assert.same(one, run(threads), threads .. " threads") end
  end)
end)

describe("nn.BatchNorm and nn.Dropout in files", function()
  local function trained()
    local rand = ref.stream(47)
    nn.seed(47)
    local net = nn.Sequential{ nn.Linear(3, 4), nn.BatchNorm(4, { eps = 1e-3, momentum = 0.2 }),
      nn.ReLU(), nn.Dropout(0.25), nn.Linear(4, 2) }
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.1, batch = 8, loss = "mse" })
    tr:step(nn.Matrix(rows_of(rand, 8, 3, -2, 2)), nn.Matrix(rows_of(rand, 8, 2, -1, 1)))
    return net
  end

  it("keep a trained net's running statistics and hyper-parameters in a store", function()
    local net = trained()
    local path = os.tmpname()
    local st = assert(nn.open(path))
    st:save("bn", net)
    local back = st:load("bn")
    st:close()
    remove_db(path)
    assert.equal(tostring(net), tostring(back))
    assert.same(all_params(net), all_params(back))
    local _, _, rm = net:get_weights(2)
    assert.are_not.same({ 0, 0, 0, 0 }, rm)
    assert.same({ net:get_weights(2) }, { back:get_weights(2) })
  end)

  it("go to ONNX and back: BatchNormalization, and Dropout as the identity", function()
    local net = trained()
    local path = os.tmpname()
    net:export(path, "onnx")
    local back = nn.import(path, { format = "onnx" })
    os.remove(path)
    local kinds = {}
    for i, m in ipairs(back:modules()) do kinds[i] = m.kind end
    assert.equal("Linear BatchNorm ReLU Identity Linear", table.concat(kinds, " "))
    assert.same({ net:get_weights(2) }, { back:get_weights(2) })
    assert.near(f32(1e-3), back:modules()[2].hyper.eps, 0)
    local x = { 0.5, -1, 2 }
    assert.same(net:forward(x), back:forward(x))
  end)

  it("are refused by FANN, which has no such layer, by name", function()
    local net = nn.Sequential{ nn.Linear(2, 2), nn.BatchNorm(2), nn.Sigmoid() }
    local path = os.tmpname()
    assert.equal("export to fann: module 2: nn.BatchNorm has no FANN activation function",
      message(net.export, net, path, "fann"))
    os.remove(path)
  end)
end)

describe("errors", function()
  it("name Dropout's p outside [0, 1)", function()
    for _, p in ipairs{ 1, 1.5, -0.1, 0 / 0 } do
      assert.equal(("bad argument #1 to 'nn.Dropout' (p must be at least 0 and below 1, got %s)")
        :format(tostring(p)), message(nn.Dropout, p))
    end
  end)

  it("name BatchNorm's size, eps, momentum and unknown options", function()
    assert.equal("bad argument #1 to 'nn.BatchNorm' (size must be positive, got 0)",
      message(nn.BatchNorm, 0))
    assert.equal("bad argument #2 to 'nn.BatchNorm' (eps must be between 1e-30 and 1.0)",
      message(nn.BatchNorm, 3, { eps = 0 }))
    assert.equal("bad argument #2 to 'nn.BatchNorm' (momentum must be between 0.0 and 1.0)",
      message(nn.BatchNorm, 3, { momentum = 1.5 }))
    assert.equal("bad argument #2 to 'nn.BatchNorm' (unknown option 'mom': eps or momentum)",
      message(nn.BatchNorm, 3, { mom = 0.1 }))
  end)

  it("refuse a step of 1 row or of more rows than the batch, changing nothing", function()
    local net = tiny_net(nn.BatchNorm(4), 53)
    local before = all_params(net)
    local tr = nn.Trainer(net, { optimizer = "sgd", batch = 4, loss = "mse" })
    local rand = ref.stream(53)
    local X5, T5 = rows_of(rand, 5, 3, -1, 1), rows_of(rand, 5, 2, -1, 1)
    assert.equal("bad argument #2 to 'step' (a network with nn.BatchNorm takes a step of 2 " ..
      "to 4 rows (its batch), not 5)", (message(tr.step, tr, nn.Matrix(X5), nn.Matrix(T5))
        :gsub("'%?'", "'step'")))
    assert.equal("bad argument #2 to 'step' (a network with nn.BatchNorm takes a step of 2 " ..
      "to 4 rows (its batch), not 1)", (message(tr.step, tr, nn.Matrix{ X5[1] },
        nn.Matrix{ T5[1] }):gsub("'%?'", "'step'")))
    assert.same(before, all_params(net))
  end)

  it("refuse rprop for a network with BatchNorm, naming the module", function()
    local net = tiny_net(nn.BatchNorm(4), 59)
    assert.matches("bad argument #2 to '[^']*' %(optimizer: rprop takes every row in " ..
      "one step, which module 2 %(nn.BatchNorm%) cannot: use sgd or adam%)",
      message(nn.Trainer, net, { optimizer = "rprop" }))
  end)

  it("name the epoch and batch of a fit whose last batch is 1 row", function()
    local net = tiny_net(nn.BatchNorm(4), 61)
    local rand = ref.stream(61)
    local tr = nn.Trainer(net, { optimizer = "sgd", batch = 4, loss = "mse", shuffle = false })
    assert.equal("epoch 1, batch 3: a network with nn.BatchNorm takes a step of 2 to 4 rows " ..
      "(its batch), not 1 (the weights are those before this batch)",
      message(tr.fit, tr, nn.Matrix(rows_of(rand, 9, 3, -1, 1)),
              nn.Matrix(rows_of(rand, 9, 2, -1, 1)), { epochs = 1 }))
  end)
end)
