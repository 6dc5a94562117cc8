-- nn.threads and the trainer's threads option (src/engine/nn_pool.c,
-- src/lua/nn_lua_threads.c): batch forward, classify, backward and training
-- split over a pool of threads give the same bits on 1, 2, 3 and 8 threads,
-- every row checked against the double-precision reference too; and the
-- errors of a bad count.

local nn = require "nn"
local ref = require "spec.support.reference"
local tref = require "spec.support.train_ref"

-- float32 against double, for outputs of magnitude up to about 1
local TOL_REF = 1e-5
-- a gradient summed over 64 rows in float32 against double:
-- |got - want| <= TOL_SUM * (1 + |want|)
local TOL_SUM = 1e-4
-- weights after a few SGD steps against the reference's, whose gradients
-- are central differences in double (as spec/train_spec.lua)
local TOL_STEP = 1e-5
local COUNTS = { 1, 2, 3, 8 }

--- A number as text that tells every double apart (a float32 is one
-- exactly), -0 from 0 too: equal texts, same bits.  (string.pack is 5.3's.)
local function exact(v) return ("%.17g"):format(v) end

--- Every number of a matrix, exactly: equal strings, same bits.
local function bits(M)
  local parts = {}
  for r = 1, M:rows() do
    for c = 1, M:cols() do parts[#parts + 1] = exact(M:get(r, c)) end
  end
  return table.concat(parts, " ")
end

local function random_rows(rand, n, k)
  local rows = {}
  for r = 1, n do
    rows[r] = {}
    for c = 1, k do rows[r][c] = rand(-2, 2) end
  end
  return rows
end

--- A 12-40-24-5 network with Tanh and ReLU, weights from the reference stream.
local function network(seed)
  local rand = ref.stream(seed)
  local W1, b1 = ref.random_linear(rand, 12, 40)
  local W2, b2 = ref.random_linear(rand, 40, 24)
  local W3, b3 = ref.random_linear(rand, 24, 5)
  local net = nn.Sequential{ nn.Linear(12, 40), nn.Tanh(), nn.Linear(40, 24), nn.ReLU(),
                             nn.Linear(24, 5), nn.SoftMax() }
  net:set_weights(1, W1, b1)
  net:set_weights(3, W2, b2)
  net:set_weights(5, W3, b3)
  local layers = { { "Linear", W1, b1 }, { "Tanh" }, { "Linear", W2, b2 }, { "ReLU" },
                   { "Linear", W3, b3 }, { "SoftMax" } }
  return net, layers, rand
end

--- The backward pass of one row through layers (Linear, Tanh, ReLU,
-- SoftMax) in double precision, from dy: dx, and the parameters' gradient
-- added to g (laid out as the net's params: each Linear's W row by row,
-- then b).
local function ref_backward(layers, x, dy, g)
  local acts = { x }
  for i, layer in ipairs(layers) do acts[i + 1] = ref.forward({ layer }, acts[i]) end
  local at, offsets = 0, {}
  for i, layer in ipairs(layers) do
    if layer[1] == "Linear" then offsets[i] = at; at = at + #layer[2] * (#layer[2][1] + 1) end
  end
  for i = #layers, 1, -1 do
    local kind, xin, y, dx = layers[i][1], acts[i], acts[i + 1], {}
    if kind == "Linear" then
      local W, o = layers[i][2], offsets[i]
      for c = 1, #xin do dx[c] = 0 end
      for r = 1, #W do
        for c = 1, #xin do
          g[o + (r - 1) * #xin + c] = g[o + (r - 1) * #xin + c] + dy[r] * xin[c]
          dx[c] = dx[c] + W[r][c] * dy[r]
        end
        g[o + #W * #xin + r] = g[o + #W * #xin + r] + dy[r]
      end
    elseif kind == "SoftMax" then
      local s = 0
      for c = 1, #y do s = s + dy[c] * y[c] end
      for c = 1, #y do dx[c] = y[c] * (dy[c] - s) end
    elseif kind == "Tanh" then
      for c = 1, #y do dx[c] = dy[c] * (1 - y[c] * y[c]) end
    else
      for c = 1, #y do dx[c] = y[c] > 0 and dy[c] or 0 end
    end
    dy = dx
  end
  return dy
end

describe("nn.threads", function()
  after_each(function() nn.threads(1) end)

  it("is 1 until set, and reports what it is set to", function()
    assert.equal(1, nn.threads())
    assert.equal(3, nn.threads(3))
    assert.equal(3, nn.threads())
    assert.equal(1, nn.threads(1))
  end)

  --- The processors online, as Linux lists them ("0-1,4"), else nproc's count.
  local function processors()
    local f = io.open("/sys/devices/system/cpu/online")
    if not f then
      f = assert(io.popen("nproc"))
      local n = tonumber(f:read("*l"))
      f:close()
      return n
    end
    local n = 0
    for a, b in f:read("*l"):gmatch("(%d+)%-?(%d*)") do
      n = n + (b ~= "" and tonumber(b) - tonumber(a) + 1 or 1)
    end
    f:close()
    return n
  end

  it("takes \"auto\" as the processor count", function()
    assert.equal(math.min(processors(), 64), nn.threads("auto"))
  end)

  it("refuses a count that is not an integer in 1..64 or \"auto\", and keeps its own", function()
    nn.threads(2)
    for _, case in ipairs{
      { 0, 'must be in 1..64 or "auto", got 0' },
      { 65, 'must be in 1..64 or "auto", got 65' },
      { 1.5, 'an integer or "auto" expected, got number' },
      { "all", 'an integer or "auto" expected, got \'all\'' },
      { {}, 'an integer or "auto" expected, got table' },
    } do
      assert.has_error(function() nn.threads(case[1]) end,
        "bad argument #1 to 'threads' (" .. case[2] .. ")")
      assert.equal(2, nn.threads())
    end
  end)
end)

describe("a batch on several threads", function()
  after_each(function() nn.threads(1) end)

  -- 1000 rows: 31 tasks of 32 and one of 8, which no count divides
  it("forwards and classifies with the same bits on 1, 2, 3 and 8 threads", function()
    local net, layers, rand = network(77)
    local X = nn.Matrix(random_rows(rand, 1000, 12))
    local want_Y, want_labels, want_scores
    for _, n in ipairs(COUNTS) do
      nn.threads(n)
      local Y = net:forward(X)
      local labels, scores, Y2 = net:classify(X)
      if not want_Y then
        want_Y, want_labels, want_scores = bits(Y), labels, scores
        for r = 1, 1000, 37 do
          assert.is_true(ref.max_diff(ref.forward(layers, X:row(r)), Y:row(r)) <= TOL_REF)
        end
      end
      assert.equal(want_Y, bits(Y))
      assert.equal(want_Y, bits(Y2))
      assert.same(want_labels, labels)
      assert.same(want_scores, scores)
    end
  end)

  it("computes net:backward's gradients with the same bits on 1, 2, 3 and 8 threads", function()
    local net, _, rand = network(79)
    local X = nn.Matrix(random_rows(rand, 203, 12))
    local dY = nn.Matrix(random_rows(rand, 203, 5))
    local want_dx, want_g
    for _, n in ipairs(COUNTS) do
      nn.threads(n)
      local G = nn.Matrix(1, net:n_params())
      G:set(1, 1, 0.5)     -- added to, not overwritten
      local dX, grads = net:backward(X, dY, G)
      assert.equal(G, grads)
      want_dx = want_dx or bits(dX)
      want_g = want_g or bits(grads)
      assert.equal(want_dx, bits(dX))
      assert.equal(want_g, bits(grads))
    end
  end)

  -- 64 rows: two chunks of 32, whose backward passes read one W^T of each
  -- Linear made for the call (the kind's prepare); made again after the
  -- weights change
  it("gives net:backward's dX and gradient on 64 rows as a double-precision pass does", function()
    local net, layers, rand = network(82)
    local rows, dys = random_rows(rand, 64, 12), random_rows(rand, 64, 5)
    for round = 1, 2 do
      if round == 2 then
        local W, b = ref.random_linear(rand, 40, 24)
        net:set_weights(3, W, b)
        layers[3] = { "Linear", W, b }
      end
      local g, dxs = {}, {}
      for i = 1, net:n_params() do g[i] = 0 end
      for r = 1, 64 do dxs[r] = ref_backward(layers, rows[r], dys[r], g) end
      for _, n in ipairs({ 1, 2 }) do
        nn.threads(n)
        local dX, G = net:backward(nn.Matrix(rows), nn.Matrix(dys))
        for r = 1, 64 do assert.is_true(ref.max_diff(dxs[r], dX:row(r)) <= TOL_REF) end
        for i = 1, net:n_params() do
          assert.is_true(math.abs(g[i] - G:get(1, i)) <= TOL_SUM * (1 + math.abs(g[i])))
        end
      end
    end
  end)

  it("sums the gradient of every row: a batch is the sum of its rows' passes", function()
    local net, _, rand = network(80)
    local rows, dys = random_rows(rand, 70, 12), random_rows(rand, 70, 5)
    nn.threads(2)
    local _, G = net:backward(nn.Matrix(rows), nn.Matrix(dys))
    local sum = {}
    for r = 1, 70 do
      local _, g = net:backward(rows[r], dys[r])
      for i = 1, net:n_params() do sum[i] = (sum[i] or 0) + g:get(1, i) end
    end
    for i = 1, net:n_params() do
      assert.is_true(math.abs(sum[i] - G:get(1, i)) <= 1e-4 * (1 + math.abs(sum[i])))
    end
  end)
end)

describe("training on several threads", function()
  after_each(function() nn.threads(1) end)

  --- A fit of 3 epochs on 250 rows (200 to train), batch 150 (chunks of 64,
  -- 64 and 22, then 50), with validation; then a step and an evaluation on
  -- all 250 rows: the weights, the history, the losses.
  local function run(opts, threads)
    local net, _, rand = network(81)
    local X = nn.Matrix(random_rows(rand, 250, 12))
    local T = {}
    for r = 1, 250 do T[r] = 1 + (r * 7) % 5 end
    if threads then nn.threads(threads) end
    local tr = nn.Trainer(net, opts)
    local h = tr:fit(X, T, { epochs = 3, validation_split = 0.2 })
    local loss = tr:step(X, T)
    local eval_loss, acc = tr:evaluate(X, T)
    local epochs = {}
    for i, e in ipairs(h.epochs) do
      epochs[i] = exact(e.loss) .. " " .. exact(e.val_loss) .. " " .. exact(e.val_accuracy)
    end
    return bits(net:get_params()), table.concat(epochs, " "),
      exact(loss) .. " " .. exact(eval_loss) .. " " .. exact(acc)
  end

  for _, optimizer in ipairs{ "adam", "sgd" } do
    it("gives the same weights and history on 1, 2, 3 and 8 threads (" .. optimizer .. ")", function()
      local opts = { optimizer = optimizer, batch = 150, seed = 3 }
      if optimizer == "sgd" then opts.momentum = 0.9; opts.lr = 0.05 end
      local w1, h1, l1 = run(opts, 1)
      for _, n in ipairs{ 2, 3, 8 } do
        local w, h, l = run(opts, n)
        assert.equal(w1, w)
        assert.equal(h1, h)
        assert.equal(l1, l)
      end
    end)
  end

  -- After the chunks, a step adds the last chunk's gradient, takes the
  -- norms and updates a block of parameters at a time (src/train/nn_train.c,
  -- step_task): on the threads for a net of 65536 parameters or more, on
  -- the caller for a smaller one.  Clipping and weight decay included; both
  -- nets have an odd parameter count (the last block is short).
  --- 12-256-240-5: 66213 parameters, its weights from the reference stream.
  local function wide(seed)
    local rand = ref.stream(seed)
    local net = nn.Sequential{ nn.Linear(12, 256), nn.Tanh(), nn.Linear(256, 240), nn.ReLU(),
                               nn.Linear(240, 5), nn.SoftMax() }
    for i, shape in pairs{ [1] = { 12, 256 }, [3] = { 256, 240 }, [5] = { 240, 5 } } do
      net:set_weights(i, ref.random_linear(rand, shape[1], shape[2]))
    end
    return net, rand
  end

  --- Weights after a fit of 2 epochs and a step on 250 rows, batch 100
  -- (chunks of 32, 32, 32 and 4), on `threads` threads.
  local function fit_wide(opts, threads)
    local net, rand = wide(87)
    local X = nn.Matrix(random_rows(rand, 250, 12))
    local T = {}
    for r = 1, 250 do T[r] = 1 + (r * 7) % 5 end
    nn.threads(threads)
    local tr = nn.Trainer(net, opts)
    tr:fit(X, T, { epochs = 2 })
    return bits(net:get_params()), exact(tr:step(X, T))
  end

  for _, o in ipairs{
    { optimizer = "adam", weight_decay = 0.05, clip = 0.05 },
    { optimizer = "sgd", momentum = 0.9, nesterov = true, lr = 0.05, weight_decay = 0.01,
      clip = 0.05 },
    { optimizer = "rprop" } } do
    it("gives the same weights on 1, 2, 3 and 8 threads, updated a block a task ("
       .. o.optimizer .. (o.clip and ", clipped, weight decay" or "") .. ")", function()
      for _, f in ipairs{ run, fit_wide } do
        -- rprop takes no batch: a step is every row, 8 chunks
        local opts = { batch = o.optimizer ~= "rprop" and (f == run and 150 or 100) or nil,
                       seed = 3 }
        for k, v in pairs(o) do opts[k] = v end
        local w1, h1, l1 = f(opts, 1)
        for _, n in ipairs{ 2, 3, 8 } do
          local w, h, l = f(opts, n)
          assert.equal(w1, w)
          assert.equal(h1, h)
          assert.equal(l1, l)
        end
        if o.clip then
          -- the clipping took place: without it, other weights
          opts.clip = nil
          assert.are_not.equal(w1, (f(opts, 2)))
        end
      end
    end)
  end

  -- A weight of 3e37 is past what the cheap bound on the update clears: the
  -- step clips the whole gradient and runs the update on copies first, on
  -- the thread that takes the step's checks, then updates block by block
  it("gives the same weights on 1, 2, 3 and 8 threads when the update is tried on copies first", function()
    local function once(build, threads)
      local net, rand = build(83)
      local W1, b1 = net:get_weights(1)
      W1[1][1] = 3e37
      net:set_weights(1, W1, b1)
      local X = nn.Matrix(random_rows(rand, 100, 12))
      local T = {}
      for r = 1, 100 do T[r] = 1 + (r * 3) % 5 end
      local big, before = (net:get_weights(1))[1][1], bits(net:get_params())
      nn.threads(threads)
      local tr = nn.Trainer(net, { optimizer = "sgd", lr = 0.1, clip = 0.01, batch = 100 })
      for _ = 1, 3 do tr:step(X, T) end
      -- tanh is flat there: that weight's gradient is 0, the others move
      assert.equal(big, (net:get_weights(1))[1][1])
      assert.are_not.equal(before, bits(net:get_params()))
      return bits(net:get_params())
    end
    local small = function(seed) local net, _, rand = network(seed); return net, rand end
    for _, build in ipairs{ small, wide } do
      local b1 = once(build, 1)
      for _, n in ipairs{ 2, 3, 8 } do assert.equal(b1, once(build, n)) end
    end
  end)

  it("gives the same weights with the trainer's threads option as with nn.threads", function()
    local opts = { optimizer = "rprop", seed = 2 }
    local w1, h1 = run(opts, 1)
    opts.threads = 3
    local w3, h3 = run(opts)
    assert.equal(1, nn.threads())
    assert.equal(w1, w3)
    assert.equal(h1, h3)
    opts.threads = "auto"
    assert.equal(w1, (run(opts)))
  end)

  -- Batches of 64 rows: two chunks of 32, each writing its gradient whole
  -- (no pass zeroes the step's gradient or a lane's between steps), but for
  -- LayerNorm, whose backward adds, and whose part is zeroed for it first
  it("takes the reference's SGD steps on batches of 64, a LayerNorm among the layers, on 1 and 2 threads", function()
    local rand = ref.stream(85)
    local W1, b1 = ref.random_linear(rand, 6, 8)
    local W2, b2 = ref.random_linear(rand, 8, 3)
    local lw, lb = {}, {}
    for i = 1, 8 do lw[i], lb[i] = rand(0.5, 1.5), rand(-0.5, 0.5) end
    local function build()
      local net = nn.Sequential{ nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3) }
      net:set_weights(1, W1, b1)
      net:set_weights(2, "weight", lw)
      net:set_weights(2, "bias", lb)
      net:set_weights(4, W2, b2)
      return net
    end
    local batches = {}
    for s = 1, 3 do
      local T = {}
      for r = 1, 64 do T[r] = 1 + (r * s + math.floor(r / 7)) % 3 end
      batches[s] = { nn.Matrix(random_rows(rand, 64, 6)), T }
    end
    -- the reference, from the float32 weights the net holds
    local layers = { { "Linear", W1, b1 }, { "LayerNorm", lw, lb }, { "Tanh" },
                     { "Linear", W2, b2 } }
    local p, state = build():get_params():to_table()[1], {}
    for _, b in ipairs(batches) do
      local g = tref.grad("cross_entropy", tref.unflatten(layers, p), b[1]:to_table(), b[2])
      tref.step.sgd(p, g, state, { lr = 0.5 })
    end
    local first
    for _, n in ipairs{ 1, 2 } do
      local net = build()
      local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "sgd", lr = 0.5,
                                   batch = 64, threads = n })
      for _, b in ipairs(batches) do tr:step(b[1], b[2]) end
      local got = net:get_params():to_table()[1]
      assert.equal(#p, #got)
      for i = 1, #p do
        assert(math.abs(got[i] - p[i]) <= TOL_STEP,
          ("parameter %d: %.9g, the reference %.9g"):format(i, got[i], p[i]))
      end
      first = first or bits(net:get_params())
      assert.equal(first, bits(net:get_params()))
    end
  end)

  it("leaves threads out of the history's options: it changes no bit", function()
    local net, _, rand = network(84)
    local X = nn.Matrix(random_rows(rand, 100, 12))
    local T = {}
    for r = 1, 100 do T[r] = 1 + r % 5 end
    local h = nn.Trainer(net, { threads = 2 }):fit(X, T, { epochs = 1 })
    assert.is_nil(h.options.threads)
    assert.equal("adam", h.options.optimizer)
  end)

  it("learns: the loss falls on 2 threads as on 1", function()
    local net, _, rand = network(82)
    local X = nn.Matrix(random_rows(rand, 200, 12))
    local T = {}
    for r = 1, 200 do T[r] = X:get(r, 1) > 0 and 1 or 2 end
    local tr = nn.Trainer(net, { lr = 1e-2, batch = 64, threads = 2 })
    local before = tr:evaluate(X, T)
    tr:fit(X, T, { epochs = 20 })
    assert.is_true(tr:evaluate(X, T) < before / 2)
  end)

  it("refuses a threads option that is not a count, naming it", function()
    local net = network(83)
    for _, case in ipairs{
      { 0, '(threads: must be in 1..64 or "auto", got 0)' },
      { "two", '(threads: an integer or "auto" expected, got \'two\')' },
    } do
      assert.has_error(function() nn.Trainer(net, { threads = case[1] }) end,
        "bad argument #2 to 'Trainer' " .. case[2])
    end
  end)
end)
