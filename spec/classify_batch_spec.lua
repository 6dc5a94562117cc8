-- net:classify(X [, labels]) for a batch (src/lua/nn_lua_batch.c): one label
-- (or 1-based index) and one score per row of an nn.Matrix, and every
-- output, from one batch pass with no Lua call per row; checked against the
-- seed's hand arithmetic, the single-sample path and the double-precision
-- reference.

local nn = require "nn"
local seed = require "spec.support.seed"
local ref = require "spec.support.reference"

-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5
-- float32 against double, for outputs of magnitude up to about 1
local TOL_REF = 1e-5

--- The index of the largest value, the first on ties.
local function argmax(y)
  local best = 1
  for i = 2, #y do if y[i] > y[best] then best = i end end
  return best
end

describe("a batch classify", function()
  it("gives the seed's labels and scores for the leaf and the flower, one row each", function()
    local net = seed.network(nn, seed.labels)
    local labels, scores, Y = net:classify(nn.Matrix{ seed.input, seed.flower_input })
    assert.same({ "leaf", "flower" }, labels)
    assert.near(seed.softmax[1], scores[1], TOL_PRINTED)
    assert.equal(2, #scores)
    assert.equal(2, Y:rows())
    assert.equal(scores[1], Y:get(1, 1))
    assert.equal(scores[2], Y:get(2, 2))
  end)

  it("reads through labels given, else the network's own, else gives indices", function()
    local X = nn.Matrix{ seed.input, seed.flower_input }
    assert.same({ "sunny", "rainy" }, (seed.network(nn, seed.labels):classify(X, seed.weather)))
    assert.same({ 1, 2 }, (seed.network(nn):classify(X)))
  end)

  it("agrees with the single-sample path and the reference on 300 random rows", function()
    local rand = ref.stream(4242)
    local W1, b1 = ref.random_linear(rand, 8, 16)
    local W2, b2 = ref.random_linear(rand, 16, 5)
    local net = nn.Sequential{ nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 5), nn.SoftMax() }
    net:set_weights(1, W1, b1)
    net:set_weights(3, W2, b2)
    local layers = { { "Linear", W1, b1 }, { "Tanh" }, { "Linear", W2, b2 }, { "SoftMax" } }
    local rows = {}
    for r = 1, 300 do
      rows[r] = {}
      for c = 1, 8 do rows[r][c] = rand(-2, 2) end
    end
    local X = nn.Matrix(rows)
    local labels, scores = net:classify(X, { "a", "b", "c", "d", "e" })
    assert.equal(300, #labels)
    for r = 1, 300 do
      local x = X:row(r)   -- the float32 row, as the network reads it
      local want = ref.forward(layers, x)
      local label, score = net:classify(x, { "a", "b", "c", "d", "e" })
      assert.near(want[argmax(want)], scores[r], TOL_REF)
      -- a tie within float rounding could flip the reference's argmax; the
      -- single-sample pass decides the same way as the batch
      assert.equal(label, labels[r])
      assert.near(score, scores[r], TOL_REF)
    end
  end)

  it("makes no Lua call per row", function()
    local net = seed.network(nn, seed.labels)
    -- every call of a Lua function while a batch runs (the hook itself
    -- and C functions are not counted): as many for 500 rows as for 1
    -- (none where net:classify is a C function; on LuaJIT a few, nn.ffi's,
    -- before it hands a matrix to the C method); locals, as the spec's
    -- globals are looked up through Lua functions of the test runner
    local sethook, getinfo = debug.sethook, debug.getinfo
    local function lua_calls(n)
      local rows, count = {}, 0
      for r = 1, n do rows[r] = seed.input end
      local X = nn.Matrix(rows)
      sethook(function()
        if getinfo(2, "S").what ~= "C" then count = count + 1 end
      end, "c")
      local labels = net:classify(X)
      sethook()
      assert.equal(n, #labels)
      return count
    end
    lua_calls(1)   -- nn.ffi's first call of a network prepares it
    local one = lua_calls(1)
    assert.equal(one, lua_calls(500))
    if not nn._FFI then assert.equal(0, one) end
  end)

  it("takes a batch of no rows", function()
    local labels, scores, Y = seed.network(nn):classify(nn.Matrix(0, 4))
    assert.same({}, labels)
    assert.same({}, scores)
    assert.equal(0, Y:rows())
  end)

  it("refuses a matrix of another width, labels of another count, other userdata", function()
    local net = seed.network(nn)
    assert.has_error(function() net:classify(nn.Matrix(2, 3)) end,
      "bad argument #1 to 'classify' (X: expected 4 columns, got 3)")
    assert.has_error(function() net:classify(nn.Matrix(2, 4), { "leaf" }) end,
      "bad argument #2 to 'classify' (labels: 1 given for 2 outputs)")
    assert.has_error(function() net:classify(net) end,
      "bad argument #1 to 'classify' (table or nn.Matrix expected, got nn.Network)")
  end)
end)
