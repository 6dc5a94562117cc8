-- nn.Trainer: optimizer steps against a double-precision plain-Lua
-- reference (spec/support/train_ref.lua), XOR learned, determinism,
-- divergence, early stopping, callbacks, options and shapes refused with
-- their exact messages, and no garbage per step.

local nn = require "nn"
local compat = require "spec.support.compat"
local ref = require "spec.support.reference"
local tref = require "spec.support.train_ref"

-- Parameters after a few steps against the reference's, whose gradients
-- are finite differences in double: float32 rounding of a few steps.
local TOL_STEP = 1e-5

local function params(net)
  return net:get_params():to_table()[1]
end

local function worst(got, want)
  assert.equal(#want, #got)
  local d = 0
  for i = 1, #want do
    local e = math.abs(got[i] - want[i])
    if e ~= e then return math.huge end
    d = math.max(d, e)
  end
  return d
end

--- A 3 -> 4 -> k net with fixed weights, its reference layers, and rows.
local function small(rand, act, k, last)
  local W1, b1 = ref.random_linear(rand, 3, 4)
  local W2, b2 = ref.random_linear(rand, 4, k)
  local mods = { nn.Linear(3, 4), nn[act](), nn.Linear(4, k) }
  local layers = { { "Linear", W1, b1 }, { act }, { "Linear", W2, b2 } }
  if last then mods[4] = nn[last]() end
  local net = nn.Sequential(mods)
  net:set_weights(1, W1, b1)
  net:set_weights(3, W2, b2)
  local X = {}
  for r = 1, 10 do X[r] = { rand(-1, 1), rand(-1, 1), rand(-1, 1) } end
  return net, layers, X
end

--- The reference's layers after each of `steps` steps of optimizer o.
local function reference_run(layers, loss, X, T, o, steps)
  local p, state = tref.flatten(layers), {}
  for _ = 1, steps do
    local g = tref.grad(loss, tref.unflatten(layers, p), X, T)
    tref.step[o.optimizer](p, g, state, o)
  end
  return p
end

describe("nn.Trainer's steps", function()
  local cases = {
    { "sgd, momentum, nesterov, weight decay, mse",
      { optimizer = "sgd", lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.01 },
      "mse", "Tanh" },
    { "sgd with plain momentum, cross_entropy on a net that ends with SoftMax (fused)",
      { optimizer = "sgd", lr = 0.5, momentum = 0.5 }, "cross_entropy", "ReLU", "SoftMax" },
    { "adam with decoupled weight decay (AdamW), cross_entropy on logits",
      { optimizer = "adam", lr = 0.01, weight_decay = 0.1 }, "cross_entropy", "Tanh" },
    { "adam with its defaults, bce after a Sigmoid",
      { optimizer = "adam", lr = 0.05 }, "bce", "Tanh", "Sigmoid" },
    { "iRPROP- on the full batch, mse", { optimizer = "rprop" }, "mse", "Sigmoid" },
  }
  for _, case in ipairs(cases) do
    local what, o, loss, act, last = case[1], case[2], case[3], case[4], case[5]
    it("take the reference's steps: " .. what, function()
      local rand = ref.stream(29)
      local k = loss == "bce" and 2 or 3
      local net, layers, X = small(rand, act, k, last)
      local T, Tn = {}, nil
      if loss == "cross_entropy" then
        for r = 1, #X do T[r] = (r % k) + 1 end
      else
        for r = 1, #X do
          T[r] = {}
          for j = 1, k do T[r][j] = rand(0, 1) end
        end
        Tn = nn.Matrix(T)
        T = Tn:to_table()     -- the float32 targets the trainer sees
      end
      -- rows in chunks of 4 (rprop takes every row in one step, its own chunks)
      local opts = { loss = loss, batch = o.optimizer ~= "rprop" and 4 or nil, seed = 1 }
      for key, v in pairs(o) do opts[key] = v end
      local tr = nn.Trainer(net, opts)
      local Xm = nn.Matrix(X)
      X = Xm:to_table()
      -- the reference computes the loss on the logits when the trainer fuses
      local rl = layers
      if last == "Sigmoid" then rl = { layers[1], layers[2], layers[3], { "Sigmoid" } } end
      for _ = 1, 3 do tr:step(Xm, Tn or T) end
      local want = reference_run(rl, loss, X, T, o, 3)
      assert.is_true(worst(params(net), want) <= TOL_STEP, what)
    end)
  end

  it("take the reference's steps with every kernel set", function()
    local before = nn.kernel()
    for _, set in ipairs{ "generic", "avx2", "avx512" } do
      if pcall(nn.kernel, set) then
        local rand = ref.stream(31)
        local net, layers, X = small(rand, "ReLU", 3)
        local T = { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 }
        local o = { optimizer = "adam", lr = 0.01, weight_decay = 0.01 }
        local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", lr = 0.01,
                                     weight_decay = 0.01, batch = 3 })
        local Xm = nn.Matrix(X)
        for _ = 1, 2 do tr:step(Xm, T) end
        local want = reference_run(layers, "cross_entropy", Xm:to_table(), T, o, 2)
        assert.is_true(worst(params(net), want) <= TOL_STEP, set)
      end
    end
    nn.kernel(before)
  end)

  it("scale the gradient down to the norm clip gives", function()
    local rand = ref.stream(8)
    local net, _, X = small(rand, "Tanh", 2)
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 1, clip = 1e-3 })
    local p0 = params(net)
    tr:step(X, { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 })
    local p1, sq = params(net), 0
    for i = 1, #p0 do sq = sq + (p1[i] - p0[i]) ^ 2 end
    -- float32 weights near 1 round each difference to about 1e-7 of 1e-3
    assert.is_true(math.abs(math.sqrt(sq) - 1e-3) <= 1e-6)
  end)

  it("returns the batch's mean loss before the step, as evaluate gives it", function()
    local rand = ref.stream(2)
    local net, layers, X = small(rand, "Tanh", 3)
    local T = { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 }
    local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "sgd", lr = 0.1 })
    local Xm = nn.Matrix(X)
    local loss, acc = tr:evaluate(Xm, T)
    local want = tref.mean_loss("cross_entropy", layers, Xm:to_table(), T)
    assert.is_true(math.abs(loss - want) <= 1e-6)
    assert.equal(loss, tr:step(Xm, T))
    local right = 0
    for r, x in ipairs(Xm:to_table()) do
      local y = ref.forward(layers, x)
      local best = 1
      for j = 2, 3 do if y[j] > y[best] then best = j end end
      if best == T[r] then right = right + 1 end
    end
    assert.equal(right / 10, acc)
  end)
end)

describe("nn.Trainer:fit", function()
  local XOR_X = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }

  it("learns XOR", function()
    nn.seed(4)
    local net = nn.Sequential{ nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2), nn.SoftMax() }
    net:set_labels{ "same", "different" }
    local tr = nn.Trainer(net, { optimizer = "adam", lr = 0.05, batch = 4, seed = 1 })
    local h = tr:fit(XOR_X, { "same", "different", "different", "same" }, { epochs = 300 })
    assert.equal("epochs", h.stopped)
    assert.equal(300, #h.epochs)
    assert.equal(4, h.rows)
    for i, want in ipairs{ "same", "different", "different", "same" } do
      assert.equal(want, (net:classify(XOR_X[i])))
    end
    assert.is_true(h.epochs[300].loss < 0.05)
  end)

  it("keeps its options in the history as they were written, not as floats", function()
    local net = nn.Sequential{ nn.Linear(2, 2), nn.SoftMax() }
    local h = nn.Trainer(net, { lr = 0.01, weight_decay = 0.3, clip = 0.1 })
      :fit(XOR_X, { 1, 2, 2, 1 }, { epochs = 1 })
    -- the defaults 0.9, 0.999 and 1e-8 too: each a float option whose
    -- float32 (0.01f is 0.009999999776482582) is not the number written
    for k, want in pairs{ lr = 0.01, weight_decay = 0.3, clip = 0.1, beta1 = 0.9,
                          beta2 = 0.999, eps = 1e-8 } do
      assert.equal(want, h.options[k], k)
    end
    h = nn.Trainer(net, { optimizer = "sgd", momentum = 0.7, nesterov = true })
      :fit(XOR_X, { 1, 2, 2, 1 }, { epochs = 1 })
    assert.equal(0.7, h.options.momentum)
    assert.equal(0.01, h.options.lr)
  end)

  it("gives bit-identical weights for the same seed, data and options", function()
    local function run(seed)
      nn.seed(7)
      local net = nn.Sequential{ nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid() }
      local tr = nn.Trainer(net, { loss = "bce", lr = 0.01, batch = 3, seed = seed })
      tr:fit(XOR_X, nn.Matrix{ { 0 }, { 1 }, { 1 }, { 0 } },
             { epochs = 20, validation_split = 0.25 })
      return params(net)
    end
    local a, b, c = run(1), run(1), run(2)
    assert.same(a, b)
    assert.are_not.same(a, c)
  end)

  it("stops at divergence, naming epoch and batch, with the weights of before that step", function()
    -- row 2's output overflows float32: its step is the one refused
    local function net_at(w)
      local net = nn.Linear(1, 1)
      net:set_weights(1, { { w } }, { 0 })
      return net
    end
    local net = net_at(1e30)
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 1e-3, batch = 1, shuffle = false })
    local ok, err = pcall(tr.fit, tr, { { 1 }, { 1e10 } }, nn.Matrix{ { 0 }, { 0 } }, { epochs = 3 })
    assert.is_false(ok)
    assert.equal("training diverged at epoch 1, batch 2: the loss is infinite (the weights "
      .. "are those before this step)", err)
    local twin = net_at(1e30)
    nn.Trainer(twin, { optimizer = "sgd", lr = 1e-3, batch = 1 }):step({ { 1 } }, nn.Matrix{ { 0 } })
    assert.same(params(twin), params(net))
    assert.has_error(function() tr:step({ { 1e10 } }, nn.Matrix{ { 0 } }) end,
      "training diverged at batch 2: the loss is infinite (the weights are those before this step)")
    assert.same(params(twin), params(net))
  end)

  it("stops at a gradient that overflows float32 while the loss does not", function()
    local net = nn.Linear(1, 1)
    net:set_weights(1, { { 1e38 } }, { 0 })
    local tr = nn.Trainer(net, { optimizer = "sgd" })
    local before = params(net)
    assert.has_error(function() tr:step({ { 1 } }, nn.Matrix{ { -1e38 } }) end,
      "training diverged at batch 1: the gradient is not finite (the weights are those before "
      .. "this step)")
    assert.same(before, params(net))
  end)

  --- A Linear(1, 1) at w = 0.5, b = 0.25 and an SGD trainer with lr.
  local function sgd_at(lr)
    local net = nn.Linear(1, 1)
    net:set_weights(1, { { 0.5 } }, { 0.25 })
    return net, nn.Trainer(net, { optimizer = "sgd", lr = lr, shuffle = false })
  end

  local function all_finite(p)
    for _, v in ipairs(p) do if not (v == v and math.abs(v) < math.huge) then return false end end
    return true
  end

  it("undoes an update that would make a weight infinite while loss and gradient are finite", function()
    -- lr 1e30 on inputs 1e18: loss ~1e36 and gradient ~1e36 fit, lr times it does not
    local net, tr = sgd_at(1e30)
    local X, T = { { 1e18 }, { 2e18 } }, nn.Matrix{ { 1 }, { 0 } }
    local ok, err = pcall(tr.fit, tr, X, T, { epochs = 3 })
    assert.is_false(ok)
    assert.equal("training diverged at epoch 1, batch 1: the update is not finite (parameter 1 "
      .. "would be -inf) (the weights are those before this step)", err)
    assert.same({ 0.5, 0.25 }, params(net))
    assert.has_error(function() tr:step(X, T) end, "training diverged at batch 1: the update "
      .. "is not finite (parameter 1 would be -inf) (the weights are those before this step)")
    assert.same({ 0.5, 0.25 }, params(net))
  end)

  it("stops lr 1e10 on inputs 1 and 2 at the step that would overflow, its weights those of the epoch before", function()
    local net, tr = sgd_at(1e10)
    local X, T = { { 1 }, { 2 } }, nn.Matrix{ { 1 }, { 0 } }
    local ok, err = pcall(tr.fit, tr, X, T, { epochs = 30 })
    assert.is_false(ok)
    assert.equal("training diverged at epoch 4, batch 1: the update is not finite (parameter 1 "
      .. "would be inf) (the weights are those before this step)", err)
    local got = params(net)
    assert.is_true(all_finite(got))
    local twin, ttr = sgd_at(1e10)
    ttr:fit(X, T, { epochs = 3 })
    assert.same(params(twin), got)
    -- the optimizer's state was not touched either: the same step is refused again
    assert.has_error(function() tr:step(X, T) end, "training diverged at batch 4: the update "
      .. "is not finite (parameter 1 would be inf) (the weights are those before this step)")
    assert.same(got, params(net))
  end)

  for _, o in ipairs{ { optimizer = "sgd", lr = 1e30, momentum = 0.5, nesterov = true },
                      { optimizer = "adam", lr = 1e30 }, { optimizer = "rprop" } } do
    it("never leaves a weight that is not finite: " .. o.optimizer, function()
      -- weights near float32's limit: rprop's steps of 0.1 and more are lost
      -- in them, sgd and adam overflow them
      local net = nn.Linear(2, 1)
      net:set_weights(1, { { 3e38, -3e38 } }, { 0 })
      local tr = nn.Trainer(net, o)
      for _ = 1, 5 do pcall(tr.step, tr, { { 1e-38, 1e-38 } }, nn.Matrix{ { 1 } }) end
      assert.is_true(all_finite(params(net)))
    end)
  end

  it("takes a step near float32's limit that stays finite, as any other step", function()
    -- |w| 3e37 is beyond what the cheap bound clears: the update runs on copies first
    local net = nn.Linear(1, 1)
    net:set_weights(1, { { 3e37 } }, { 0 })
    local w = params(net)[1]
    nn.Trainer(net, { optimizer = "sgd", lr = 0.5 }):step({ { 1e-37 } }, nn.Matrix{ { 0 } })
    -- y = 3, dL/db = 2 y = 6: b = 0 - 0.5 * 6; w moves by 3e-37, lost in it
    local p = params(net)
    assert.equal(w, p[1])
    assert.is_true(math.abs(p[2] + 3) < 1e-5)
  end)

  it("stops early with patience and ends with the best epoch's weights", function()
    -- validation wants the other class: its loss grows from epoch 1 on
    local function fresh()
      nn.seed(3)
      local net = nn.Sequential{ nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2) }
      return net, nn.Trainer(net, { loss = "cross_entropy", optimizer = "sgd", lr = 0.1, seed = 5 })
    end
    local X = { { 0.1, 0.2 }, { 0.3, -0.1 }, { -0.2, 0.4 } }
    local net, tr = fresh()
    local seen = 0
    local h = tr:fit(X, { 1, 1, 1 }, { epochs = 50, patience = 2,
      validation = { X, { 2, 2, 2 } }, on_epoch = function(s) seen = s.epoch end })
    assert.equal("patience", h.stopped)
    assert.equal(1, h.best_epoch)
    assert.equal(3, #h.epochs)
    assert.equal(3, seen)
    assert.is_true(h.epochs[3].val_loss > h.epochs[1].val_loss)
    assert.equal(0, h.epochs[1].val_accuracy)
    assert.equal(2, h.options.patience)
    assert.equal("sgd", h.options.optimizer)
    local twin, ttr = fresh()
    ttr:fit(X, { 1, 1, 1 }, { epochs = 1 })
    assert.same(params(twin), params(net))
  end)

  it("stops when on_epoch returns false, and keeps a history of every epoch", function()
    nn.seed(1)
    local net = nn.Sequential{ nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1) }
    local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.05 })
    local h = tr:fit(XOR_X, nn.Matrix{ { 0 }, { 1 }, { 1 }, { 0 } }, {
      epochs = 10, on_epoch = function(s) return s.epoch < 4 end })
    assert.equal("callback", h.stopped)
    assert.equal(4, #h.epochs)
    for i, e in ipairs(h.epochs) do
      assert.equal(i, e.epoch)
      assert.equal("number", type(e.loss))
      assert.equal("number", type(e.ms))
      assert.is_nil(e.val_loss)
    end
    assert.equal(10, h.options.epochs)
    assert.equal("mse", h.options.loss)
  end)
end)

describe("nn.Trainer refuses", function()
  local net
  before_each(function()
    net = nn.Sequential{ nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.SoftMax() }
  end)

  local bad_options = {
    { { lrr = 1 }, "unknown option 'lrr' (did you mean 'lr'?)" },
    -- regression: an unknown option named no known one; the nearest is named
    -- when it is a slip of a letter or two, a start, or initials
    { { learning_rate = 1e-3 }, "unknown option 'learning_rate' (did you mean 'lr'?)" },
    { { LR = 1e-3 }, "unknown option 'LR' (did you mean 'lr'?)" },
    { { mometnum = 0.9 }, "unknown option 'mometnum' (did you mean 'momentum'?)" },
    { { batch_size = 64 }, "unknown option 'batch_size' (did you mean 'batch'?)" },
    { { wd = 0.1 }, "unknown option 'wd' (did you mean 'weight_decay'?)" },
    { { beta = 0.9 }, "unknown option 'beta' (did you mean 'beta1'?)" },
    { { velocity = 1 }, "unknown option 'velocity'" },
    { { x = 1 }, "unknown option 'x'" },
    { { [1] = 1 }, "unknown option '1'" },
    { { lr = "fast" }, "lr: number expected, got string" },
    { { lr = 0 }, "lr: must be a finite number > 0.0, got 0.0" },
    { { lr = 1 / 0 }, "lr: must be a finite number > 0.0, got inf" },
    { { optimizer = "sgd", weight_decay = -1 }, "weight_decay: must be a finite number >= 0.0, got -1.0" },
    { { optimizer = "sgd", momentum = 1 }, "momentum: must be in [0.0, 1.0), got 1.0" },
    { { optimizer = "lbfgs" }, "optimizer: expected 'sgd', 'adam' or 'rprop', got 'lbfgs'" },
    { { loss = "hinge" }, "loss: expected 'mse', 'cross_entropy', 'bce' or a criterion, got 'hinge'" },
    { { loss = 1 }, "loss: string or criterion expected, got number" },
    { { momentum = 0.9 }, "momentum: not used by optimizer 'adam'" },
    { { optimizer = "rprop", lr = 0.1 }, "lr: not used by optimizer 'rprop'" },
    { { optimizer = "rprop", batch = 8 }, "batch: not used by optimizer 'rprop'" },
    { { optimizer = "rprop", shuffle = false }, "shuffle: not used by optimizer 'rprop'" },
    { { optimizer = "rprop", clip = 1 }, "clip: not used by optimizer 'rprop'" },
    { { optimizer = "rprop", weight_decay = 0 }, "weight_decay: not used by optimizer 'rprop'" },
    { { optimizer = "sgd", beta1 = 0.9 }, "beta1: not used by optimizer 'sgd'" },
    { { optimizer = "sgd", eps = 1e-8 }, "eps: not used by optimizer 'sgd'" },
    { { nesterov = false }, "nesterov: not used by optimizer 'adam'" },
    { { optimizer = "sgd", nesterov = true }, "nesterov: needs momentum > 0" },
    { { batch = 0 }, "batch: must be in 1..1048576, got 0" },
    { { batch = 2.5 }, "batch: integer expected" },
    { { shuffle = 1 }, "shuffle: boolean expected, got number" },
    { { beta2 = -0.1 }, "beta2: must be in [0.0, 1.0), got -0.1" },
    { { clip = -1 }, "clip: must be a finite number > 0.0, got -1.0" },
    { { seed = "x" }, "seed: number expected, got string" },
  }
  for _, case in ipairs(bad_options) do
    it("the option " .. case[2], function()
      assert.has_error(function() nn.Trainer(net, case[1]) end,
        "bad argument #2 to 'Trainer' (" .. case[2] .. ")")
    end)
  end

  it("bad fit options, naming them", function()
    local tr = nn.Trainer(net)
    local X, T = { { 1, 2 }, { 3, 4 } }, { 1, 2 }
    assert.has_error(function() tr:fit(X, T, { epoch = 2 }) end,
      "bad argument #3 to 'fit' (unknown option 'epoch' (did you mean 'epochs'?))")
    assert.has_error(function() tr:fit(X, T, { epochs = 0 }) end,
      "bad argument #3 to 'fit' (epochs: must be an integer in 1..1000000)")
    assert.has_error(function() tr:fit(X, T, { validation_split = 1 }) end,
      "bad argument #3 to 'fit' (validation_split: must be in (0.0, 1.0), got 1.0)")
    assert.has_error(function() tr:fit(X, T, { validation_split = 0.1 }) end,
      "bad argument #3 to 'fit' (validation_split: leaves no validation rows of 2)")
    assert.has_error(function() tr:fit(X, T, { validation = { X, T }, validation_split = 0.5 }) end,
      "bad argument #3 to 'fit' (validation: give validation or validation_split, not both)")
    assert.has_error(function() tr:fit(X, T, { patience = 0 }) end,
      "bad argument #3 to 'fit' (patience: must be an integer in 1..1000000)")
    assert.has_error(function() tr:fit(X, T, { validation = { X, { 1 } } }) end,
      "bad argument #3 to 'fit' (T: 1 targets for 2 rows of X)")
    assert.has_error(function() tr:fit(X, T, { on_epoch = true }) end,
      "bad argument #3 to 'fit' (on_epoch: function expected, got boolean)")
  end)

  it("X and T that do not fit the network, naming what is wrong", function()
    local tr = nn.Trainer(net)
    net:set_labels{ "a", "b" }
    local cases = {
      { nn.Matrix(2, 3), { 1, 2 }, "bad argument #1 to 'step' (X: expected 2 columns, got 3)" },
      { "rows", { 1 }, "bad argument #1 to 'step' (X: table or nn.Matrix expected, got string)" },
      { { { 1, 2 } }, { 1, 2 }, "bad argument #2 to 'step' (T: 2 targets for 1 rows of X)" },
      { { { 1, 2 } }, { 3 }, "bad argument #2 to 'step' (T[1] is 3, not a class index in 1..2)" },
      { { { 1, 2 } }, { 1.5 }, "bad argument #2 to 'step' (T[1] is 1.5, not a class index in 1..2)" },
      { { { 1, 2 } }, { "c" }, "bad argument #2 to 'step' (T[1] is 'c', not one of the network's labels)" },
      { { { 1, 2 } }, { true }, "bad argument #2 to 'step' (T[1] is not a class index or a label (got boolean))" },
      { { { 1, 2 } }, nn.Matrix(1, 3), "bad argument #2 to 'step' (T: expected 2 columns, got 3)" },
      { { { 1 } }, { 1 }, "bad argument #1 to 'step' (X[1]: expected 2 numbers, got 1)" },
      { {}, {}, "bad argument #1 to 'step' (X: no rows)" },
      { { { 1, 2 } }, nn.Matrix(2, 2), "bad argument #2 to 'step' (T: 2 rows of targets for 1 rows of X)" },
      { { { 1, 2 } }, 7, "bad argument #2 to 'step' (T: table or nn.Matrix expected, got number)" },
    }
    for _, c in ipairs(cases) do
      assert.has_error(function() tr:step(c[1], c[2]) end, c[3])
    end
    assert.has_error(function() nn.Trainer(nn.Tanh()) end,
      "bad argument #1 to 'Trainer' (the network has no parameters to train)")
    local bce = nn.Trainer(net, { loss = "bce" })
    assert.has_error(function() bce:step({ { 1, 2 } }, nn.Matrix{ { 0.5, 1.5 } }) end,
      "bad argument #2 to 'step' (T[1][2] is 1.5, outside [0, 1] for bce)")
    net:add(nn.Linear(2, 2))
    assert.has_error(function() tr:step({ { 1, 2 } }, { 1 }) end,
      "the network's layers changed since its nn.Trainer was made")
  end)
end)

describe("nn.Trainer:step on a reused batch", function()
  it("makes no garbage", function()
    nn.seed(2)
    local net = nn.Sequential{ nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4), nn.SoftMax() }
    local X = nn.Matrix(40, 8)
    local T = {}
    for r = 1, 40 do
      T[r] = r % 4 + 1
      for j = 1, 8 do X:set(r, j, (r * j) % 7 / 7) end
    end
    local tr = nn.Trainer(net, { batch = 16 })
    tr:step(X, T)                      -- the scratch for T is made once
    compat.interpreted(function()
      collectgarbage("collect")
      collectgarbage("stop")
      local before = collectgarbage("count")
      for _ = 1, 200 do tr:step(X, T) end
      local after = collectgarbage("count")
      collectgarbage("restart")
      assert.equal(before, after)
    end)
  end)
end)

-- Training flushes subnormal floats to zero (nn_kernel.h says why), and
-- only while it runs.  The flush is seen from a child process: valgrind,
-- under which make memcheck runs this file, does not emulate it.
describe("subnormals in training", function()
  it("are flushed: a gradient below the smallest normal float moves no weight", function()
    -- y = w x + b with w = b = 0, x = 1e-30, target 1e-10: MSE gives
    -- dL/db = -2e-10 and dL/dw = -2e-40, a subnormal.  One SGD step at
    -- lr 1 moves b to 2e-10 and leaves w at 0 (2e-40 without the flush).
    local script = [[
      local nn = require "nn"
      local net = nn.Sequential{ nn.Linear(1, 1) }
      net:set_weights(1, { { 0 } }, { 0 })
      local tr = nn.Trainer(net, { loss = "mse", optimizer = "sgd", lr = 1, batch = 1,
                                   shuffle = false })
      tr:step(nn.Matrix{ { 1e-30 } }, nn.Matrix{ { 1e-10 } })
      local W, b = net:get_weights(1)
      io.write(string.format("%.9g %.9g", W[1][1], b[1]))
    ]]
    local out = compat.sh(("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s -e %q")
      :format(compat.BUILD, compat.LUA, script))
    local w, b = out:match("^(%S+) (%S+)$")
    assert.equal(0, tonumber(w))
    assert.is_true(math.abs(tonumber(b) - 2e-10) <= 2e-10 * 2^-23)
  end)

  it("are kept again once a step, an evaluation, a fit or a backward pass returns", function()
    local function half(x) return x * 0.5 end
    local tiny = nn.Sequential{ nn.Linear(1, 1) }
    tiny:set_weights(1, { { 1e-20 } }, { 0 })
    local function subnormals_kept()
      -- 2^-1070 / 2 is a double subnormal; 1e-20 * 1e-20 a float one
      assert.is_true(half(2^-1070) > 0)
      local y = tiny:forward{ 1e-20 }[1]
      assert.is_true(y > 0 and y < 1.2e-38)
    end
    subnormals_kept()
    local net = nn.Sequential{ nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1) }
    local X, T = nn.Matrix{ { 1, 2 }, { 3, 4 } }, nn.Matrix{ { 1 }, { 0 } }
    local tr = nn.Trainer(net, { loss = "mse" })
    tr:step(X, T)
    subnormals_kept()
    tr:evaluate(X, T)
    subnormals_kept()
    tr:fit(X, T, { epochs = 2 })
    subnormals_kept()
    net:backward({ 1, 2 }, { 1 })
    subnormals_kept()
  end)
end)
