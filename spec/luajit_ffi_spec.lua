-- net:forward and net:classify through LuaJIT's FFI (lua/nn/ffi.lua): on
-- LuaJIT the same bits as the C methods, within float rounding of a
-- double-precision Lua pass, the same errors word for word, no garbage, and
-- a network's changes (new weights, a new block from add, new labels, a
-- load) seen by the next call; a collected network takes its pointer with
-- it.  Every other Lua keeps the C methods, and this file checks that too:
-- there the LuaJIT cases are pending.

local nn = require "nn"
local reference = require "spec.support.reference"
local compat = require "spec.support.compat"

local LUAJIT = type(jit) == "table"
local on_luajit = LUAJIT and it or function(name) pending(name .. " (LuaJIT only)") end
local elsewhere = LUAJIT and function(name) pending(name .. " (not on LuaJIT)") end or it

-- A float32 pass against a double one: outputs in [-1, 1] (Tanh, SoftMax)
-- from inputs in [-1, 1] and weights of at most 1, through widths of 32:
-- each sum's rounding is a few units of 2^-24 of a sum below 33, and the
-- kernels' Tanh and exp are within a few ulps (src/engine/nn_kernel.h).
local TOLERANCE = 2e-5

-- The seed's 4-3-2 net and the 8-32-32-4 net of a game's agents, with
-- random weights from the spec's own stream, and the same layers for the
-- reference.
local function random_net(sizes, rand)
  local modules, layers = {}, {}
  for k = 1, #sizes - 1 do
    local W, b = reference.random_linear(rand, sizes[k], sizes[k + 1])
    modules[#modules + 1] = nn.Linear(sizes[k], sizes[k + 1])
    layers[#layers + 1] = { "Linear", W, b }
    local act = k < #sizes - 1 and (#sizes == 3 and "ReLU" or "Tanh") or "SoftMax"
    modules[#modules + 1] = nn[act]()
    layers[#layers + 1] = { act }
  end
  local net = nn.Sequential(modules)
  for k = 1, #sizes - 1 do net:set_weights(2 * k - 1, layers[2 * k - 1][2], layers[2 * k - 1][3]) end
  return net, layers
end

local function random_x(rand, n)
  local x = {}
  for i = 1, n do x[i] = rand(-1, 1) end
  return x
end

-- The value a double takes as a float32 on its way into the engine.
local f32 = compat.f32

local NETS = { { "the seed's 4-3-2 net", { 4, 3, 2 } }, { "the 8-32-32-4 net", { 8, 32, 32, 4 } } }

describe("net:forward and net:classify on a Lua other than LuaJIT", function()
  elsewhere("are the C methods, and nn.ffi is not loaded", function()
    assert.is_false(nn._FFI)
    local methods = getmetatable(nn.Identity()).__index
    assert.equal("C", debug.getinfo(methods.forward, "S").what)
    assert.equal("C", debug.getinfo(methods.classify, "S").what)
    assert.is_nil(package.loaded["nn.ffi"])
  end)
end)

describe("net:forward and net:classify on LuaJIT", function()
  local nnffi, c, methods
  setup(function()
    if not LUAJIT then return end
    nnffi = require "nn.ffi"
    c = nnffi.c
    methods = getmetatable(nn.Identity()).__index
  end)

  on_luajit("go through the FFI: Lua methods in place of the C ones", function()
    assert.is_true(nn._FFI)
    assert.equal("Lua", debug.getinfo(methods.forward, "S").what)
    assert.equal("Lua", debug.getinfo(methods.classify, "S").what)
    assert.equal("C", debug.getinfo(c.forward, "S").what)
    assert.equal("C", debug.getinfo(c.classify, "S").what)
  end)

  on_luajit("keep the C methods in a copy of nn without nn/ffi.lua (a game folder made by hand)",
            function()
    local dir = compat.sh("mktemp -d"):gsub("\n$", "")
    compat.sh(("mkdir %s/nn && cp lua/nn/init.lua lua/nn/svg.lua %s/nn/core.so %s/nn/")
      :format(dir, compat.BUILD, dir))
    local script = "local nn = require 'nn' "
      .. "print(nn._FFI, debug.getinfo(getmetatable(nn.Identity()).__index.forward, 'S').what)"
    local ok, out = compat.run(("cd %s && LUA_PATH='./?.lua;./?/init.lua' LUA_CPATH='./?.so' %s -e %q")
      :format(dir, compat.LUA, script))
    compat.sh("rm -rf " .. dir)
    assert.is_true(ok, out)
    assert.equal("false\tC\n", out)
  end)

  for _, case in ipairs(NETS) do
    local name, sizes = case[1], case[2]

    on_luajit("give the C methods' bits and the double reference within " .. TOLERANCE
              .. " for 2000 random inputs, " .. name, function()
      local rand = reference.stream(#sizes * 7 + sizes[2])
      local net, layers = random_net(sizes, rand)
      local out, worst, names = {}, 0, {}
      for i = 1, sizes[#sizes] do names[i] = "action " .. i end
      for _ = 1, 2000 do
        local x = random_x(rand, sizes[1])
        local y, want = net:forward(x, out), c.forward(net, x)
        assert.equal(out, y)
        for i = 1, #want do assert.equal(want[i], y[i]) end   -- the same bits
        local ref = reference.forward(layers, x)
        worst = math.max(worst, reference.max_diff(ref, y))
        local label, score, yc = net:classify(x)
        local label_c, score_c, yc_c = c.classify(net, x)
        assert.equal(label_c, label)
        assert.equal(score_c, score)
        assert.same(yc_c, yc)
        assert.equal(names[label], (net:classify(x, names)))
        assert.equal((c.classify(net, x, names)), (net:classify(x, names)))
      end
      assert.is_true(worst <= TOLERANCE, ("%.3g from the reference"):format(worst))
    end)

    on_luajit("gives the C method's bits for a batch into a reused Y, " .. name, function()
      local rand = reference.stream(sizes[1] + 11)
      local net, layers = random_net(sizes, rand)
      for _, rows in ipairs{ 1, 5, 128, 200, 300 } do
        local t = {}
        for r = 1, rows do t[r] = random_x(rand, sizes[1]) end
        local X, Y = nn.Matrix(t), nn.Matrix(rows, sizes[#sizes])
        assert.equal(Y, net:forward(X, Y))
        local want = c.forward(net, X)
        for r = 1, rows do
          local y, w = Y:row(r), want:row(r)
          for i = 1, #w do assert.equal(w[i], y[i]) end
          assert.is_true(reference.max_diff(reference.forward(layers, t[r]), y) <= TOLERANCE)
        end
      end
    end)
  end

  on_luajit("reads x as the C method does: float32 values, integers, -0", function()
    local net = nn.Identity()
    local lin = nn.Linear(3, 3)
    lin:set_weights(1, { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }, { 0, 0, 0 })
    for _, x in ipairs{ { 0.1, 1 / 3, 3.4028234663852886e38 }, { 1, 2, -3 }, { -0.0, 1e-45, 1e-40 } } do
      local y, want = lin:forward(x), c.forward(lin, x)
      for i = 1, 3 do assert.equal(want[i], y[i]) end
      assert.equal(f32(x[1]), y[1])
    end
    assert.same({ 1, 2 }, net:forward{ 1, 2 })   -- element-wise only: the C method's
  end)

  on_luajit("makes no garbage in 10000 calls of forward(x, out) or a batch into Y", function()
    local function garbage(f)
      local function loop() for _ = 1, 10000 do f() end end
      loop()
      collectgarbage()
      collectgarbage("stop")
      local before = collectgarbage("count")
      loop()
      local kb = collectgarbage("count") - before
      collectgarbage("restart")
      return kb
    end
    for _, case in ipairs(NETS) do
      local net = random_net(case[2], reference.stream(3))
      local x, out = random_x(reference.stream(4), case[2][1]), {}
      local X, Y = nn.Matrix(20, case[2][1]), nn.Matrix(20, case[2][#case[2]])
      assert.equal(0, garbage(function() net:forward(x, out) end))
      assert.equal(0, garbage(function() net:forward(X, Y) end))
      -- and with the compiler off, every call in the interpreter
      assert.equal(0, compat.interpreted(function() return garbage(function() net:forward(x, out) end) end))
      assert.equal(0, compat.interpreted(function() return garbage(function() net:forward(X, Y) end) end))
    end
  end)

  describe("raise the C method's errors, word for word", function()
    -- The error of f() with the C methods in place of the FFI ones, and with
    -- the FFI ones: f calls them the way a user does, on one line, so that
    -- both carry the same position (and not as a tail call, which would
    -- hide the method's name from both).
    local function both(f)
      local ffi_forward, ffi_classify = methods.forward, methods.classify
      methods.forward, methods.classify = c.forward, c.classify
      local ok_c, err_c = pcall(f)
      methods.forward, methods.classify = ffi_forward, ffi_classify
      local ok, err = pcall(f)
      return ok_c, err_c, ok, err
    end

    local net, X, Y
    local nan_net
    before_each(function()
      net = random_net({ 4, 3, 2 }, reference.stream(9))
      X, Y = nn.Matrix(3, 4), nn.Matrix(3, 2)
      nan_net = nn.Linear(1, 2)
      nan_net:set_weights(1, { { 1e30 }, { 1 } }, { 0, 0 })
    end)

    local cases = {
      { "x too short", function() local r = net:forward{ 1, 2, 3 } return r end,
        "bad argument #1 to 'forward' (x: expected 4 numbers, got 3)" },
      { "x too long", function() local r = net:forward({ 1, 2, 3, 4, 5 }, {}) return r end,
        "bad argument #1 to 'forward' (x: expected 4 numbers, got 5)" },
      { "a string in x", function() local r = net:forward({ 1, 2, "3", 4 }, {}) return r end,
        "bad argument #1 to 'forward' (x[3] is not a number (got string))" },
      { "a hole in x", function() return net:forward({ 1, nil, 3, 4 }, {}) end },
      { "NaN in x", function() local r = net:forward({ 1, 0 / 0, 3, 4 }, {}) return r end,
        "bad argument #1 to 'forward' (x[2] is NaN)" },
      { "inf in x", function() local r = net:forward({ 1, 2, 3, math.huge }, {}) return r end,
        "bad argument #1 to 'forward' (x[4] is infinite)" },
      { "-inf in x", function() return net:forward({ -math.huge, 2, 3, 4 }, {}) end },
      { "a number too large for float32", function() local r = net:forward({ 1, 1e39, 3, 4 }) return r end,
        "bad argument #1 to 'forward' (x[2] is too large for float32)" },
      { "x a number", function() local r = net:forward(4) return r end,
        "bad argument #1 to 'forward' (x: table expected, got number)" },
      { "x missing", function() return net:forward() end },
      { "out a number", function() local r = net:forward({ 1, 2, 3, 4 }, 2) return r end,
        "bad argument #2 to 'forward' (table expected, got number)" },
      { "self not a network", function() local r = net.forward({}, { 1, 2, 3, 4 }) return r end,
        "bad argument #1 to 'forward' (nn.Network expected, got table)" },
      { "self an nn.Matrix", function() return net.forward(X, { 1, 2, 3, 4 }) end },
      { "self nil", function() return net.forward(nil, { 1, 2, 3, 4 }) end },
      { "X of another width", function() local r = net:forward(nn.Matrix(2, 3), Y) return r end,
        "bad argument #1 to 'forward' (X: expected 4 columns, got 3)" },
      { "Y of another shape", function() local r = net:forward(X, nn.Matrix(2, 2)) return r end,
        "bad argument #2 to 'forward' (Y: expected 3 x 2, got 2 x 2)" },
      { "Y a table", function() return net:forward(X, {}) end },
      { "Y that is X", function() return net:forward(X, X) end },
      { "x another userdata", function() return net:forward(io.stdout, {}) end },
      { "classify: NaN in x", function() local r = net:classify{ 1, 2, 0 / 0, 4 } return r end,
        "bad argument #1 to 'classify' (x[3] is NaN)" },
      { "classify: x too short", function() return net:classify{ 1 } end },
      { "classify: labels of another count", function() local r = net:classify({ 1, 2, 3, 4 }, { "a" }) return r end,
        "bad argument #2 to 'classify' (labels: 1 given for 2 outputs)" },
      { "classify: an empty label", function() local r = net:classify({ 1, 2, 3, 4 }, { "a", "" }) return r end,
        "bad argument #2 to 'classify' (labels[2] is not a non-empty string)" },
      { "classify: a label with a zero byte", function() local r = net:classify({ 1, 2, 3, 4 }, { "a\0b", "c" }) return r end,
        "bad argument #2 to 'classify' (labels[1] contains a zero byte)" },
      { "classify: a label that is a number", function() local r = net:classify({ 1, 2, 3, 4 }, { "a", 2 }) return r end },
      { "classify: labels a string", function() local r = net:classify({ 1, 2, 3, 4 }, "ab") return r end,
        "bad argument #2 to 'classify' (labels: table expected, got string)" },
      { "classify: good labels, NaN in x", function() local r = net:classify({ 0 / 0, 2, 3, 4 }, { "a", "b" }) return r end },
      { "classify: self not a network", function() return net.classify(7, { 1, 2, 3, 4 }) end },
      { "classify: an output that is not finite", function() local r = nan_net:classify{ 1e30 } return r end,
        "classify: x gives inf at output 1, and an output that is not finite has no label" },
    }
    for _, case in ipairs(cases) do
      on_luajit(case[1], function()
        local ok_c, err_c, ok, err = both(case[2])
        assert.is_false(ok_c)
        assert.is_false(ok)
        assert.equal(err_c, err)
        if case[3] then assert.matches(case[3], err, 1, true) end
      end)
    end
  end)

  describe("see a network's changes at the next call", function()
    local x = { 0.5, -0.25, 1, 0.125 }

    local function check(net)
      local y, want = net:forward(x, {}), c.forward(net, x)
      assert.same(want, y)
      return y
    end

    on_luajit("new weights: set_weights, set_params, a training step", function()
      local net = random_net({ 4, 3, 2 }, reference.stream(21))
      local y0 = check(net)
      net:set_weights(3, { { 1, 2, 3 }, { -1, -2, -3 } }, { 0.5, -0.5 })
      local y1 = check(net)
      assert.are_not.same(y0, y1)
      local P = net:get_params()
      for i = 1, P:cols() do P:set(1, i, 0) end
      net:set_params(P)
      assert.same({ 0.5, 0.5 }, check(net))     -- every weight 0: SoftMax of zeros
      net = random_net({ 4, 3, 2 }, reference.stream(22))
      local before = check(net)
      local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "sgd", lr = 0.5 })
      tr:step(nn.Matrix{ x }, { 1 })
      assert.are_not.same(before, check(net))
    end)

    on_luajit("a new block from add, with other widths", function()
      local net = nn.Sequential{ nn.Linear(4, 3) }
      assert.equal(3, #check(net))
      net:add(nn.Linear(3, 5))
      collectgarbage()
      collectgarbage()   -- the old block, had nothing kept it
      assert.equal(5, #check(net))
      local X, Y = nn.Matrix{ x, x }, nn.Matrix(2, 5)
      net:forward(X, Y)
      assert.same(c.forward(net, X):row(2), Y:row(2))
    end)

    on_luajit("new labels, and the labels given to classify", function()
      local net = random_net({ 4, 3, 2 }, reference.stream(23))
      local _, _, _ = net:classify(x)
      local best = select(1, c.classify(net, x))
      assert.equal(best, (net:classify(x)))
      net:set_labels{ "leaf", "flower" }
      local want = ({ "leaf", "flower" })[best]
      assert.equal(want, (net:classify(x)))
      assert.equal(({ "a", "b" })[best], (net:classify(x, { "a", "b" })))
      net:set_labels(nil)
      assert.equal(best, (net:classify(x)))
    end)

    on_luajit("a network saved, changed and loaded again", function()
      local store = assert(nn.open(":memory:"))
      local net = random_net({ 4, 3, 2 }, reference.stream(24))
      local saved = check(net)
      store:save("agent", net)
      net:set_weights(1, { { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } }, { 1, 2, 3 })
      local loaded = store:load("agent")
      assert.same(saved, check(loaded))
      assert.are_not.same(saved, check(net))
      store:close()
    end)
  end)

  on_luajit("lets a network go: no entry, no pointer left behind", function()
    local entries = nnffi.entries
    local function count() local n = 0 for _ in pairs(entries) do n = n + 1 end return n end
    collectgarbage()
    local base = count()
    local kept = random_net({ 8, 32, 32, 4 }, reference.stream(25))
    local x, y = random_x(reference.stream(26), 8), {}
    kept:forward(x, y)
    for k = 1, 200 do
      local net = random_net({ 8, 32, 32, 4 }, reference.stream(k))
      net:forward(x, {})
      net:classify(x)
      if k % 50 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    assert.equal(base + 1, count())
    assert.same(c.forward(kept, x), kept:forward(x, {}))
  end)
end)
