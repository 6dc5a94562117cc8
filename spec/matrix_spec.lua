-- nn.Matrix (src/lua/nn_lua_matrix.c) and the batch forward pass over it,
-- checked against the single-sample path and the double-precision reference
-- (spec/support/reference.lua); and forward passes that make no garbage.

local nn = require "nn"
local seed = require "spec.support.seed"
local ref = require "spec.support.reference"
local compat = require "spec.support.compat"

-- A batch row and the same sample run alone may sum in another order; both
-- are float32, so they agree to a few units in the last place of values
-- that are at most about 1 here.
local TOL_BATCH = 1e-5
-- float32 against double, for outputs of magnitude up to about 1
local TOL_REF = 1e-5

--- A network and its reference layers, with random weights from a fixed stream.
local function random_net(sizes, activation, last)
  local rand = ref.stream(#sizes * 7919 + sizes[1])
  local modules, layers = {}, {}
  for k = 1, #sizes - 1 do
    local W, b = ref.random_linear(rand, sizes[k], sizes[k + 1])
    local lin = nn.Linear(sizes[k], sizes[k + 1])
    lin:set_weights(1, W, b)
    modules[#modules + 1] = lin
    layers[#layers + 1] = { "Linear", W, b }
    local act = k < #sizes - 1 and activation or last
    if act then
      modules[#modules + 1] = nn[act]()
      layers[#layers + 1] = { act }
    end
  end
  return nn.Sequential(modules), layers, rand
end

local function random_rows(rand, rows, cols)
  local t = {}
  for r = 1, rows do
    t[r] = {}
    for c = 1, cols do t[r][c] = rand(-1, 1) end
  end
  return t
end

describe("nn.Matrix", function()
  it("is zero-filled when made from sizes", function()
    local M = nn.Matrix(2, 3)
    assert.equal(2, M:rows())
    assert.equal(3, M:cols())
    assert.same({ { 0, 0, 0 }, { 0, 0, 0 } }, M:to_table())
  end)

  it("is made from a table of rows, as float32", function()
    local M = nn.Matrix{ { 1, 2, 3 }, { 4, 5, 6.5 } }
    assert.equal(2, M:rows())
    assert.equal(3, M:cols())
    assert.equal(6.5, M:get(2, 3))
    assert.equal(4, M:get(2, 1))
    -- 0.1 is stored as the nearest float32, not the nearest double
    M:set(1, 1, 0.1)
    assert.are_not.equal(0.1, M:get(1, 1))
    assert.near(0.1, M:get(1, 1), 1e-8)
    assert.equal(compat.f32(0.1), M:get(1, 1))
  end)

  it("reads and writes single numbers and whole rows", function()
    local M = nn.Matrix(3, 2)
    assert.equal(M, M:set(3, 2, -7))
    assert.equal(-7, M:get(3, 2))
    assert.same({ 0, -7 }, M:row(3))
    local out = { "old", "old", "kept" }
    assert.equal(out, M:row(3, out))
    assert.same({ 0, -7, "kept" }, out)
    assert.equal(M, M:set_row(1, { 9, 8 }))
    assert.same({ { 9, 8 }, { 0, 0 }, { 0, -7 } }, M:to_table())
  end)

  it("may have no rows, but not no columns", function()
    local M = nn.Matrix(0, 4)
    assert.equal(0, M:rows())
    assert.same({}, M:to_table())
    assert.has_error(function() nn.Matrix(2, 0) end,
      "bad argument #2 to 'Matrix' (cols must be at least 1, got 0)")
    assert.has_error(function() nn.Matrix(-1, 2) end,
      "bad argument #1 to 'Matrix' (rows must be at least 0, got -1)")
  end)

  it("prints its numbers row by row, then its size", function()
    assert.equal("1 2.5\n-3 0\n[nn.Matrix 2 x 2]", tostring(nn.Matrix{ { 1, 2.5 }, { -3, 0 } }))
    assert.equal("[nn.Matrix 0 x 3]", tostring(nn.Matrix(0, 3)))
    local lines = {}
    for line in tostring(nn.Matrix(30, 20)):gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(22, #lines)                     -- 20 rows, "...", the size
    assert.equal(("0 "):rep(12) .. "...", lines[1])
    assert.equal("...", lines[21])
    assert.equal("[nn.Matrix 30 x 20]", lines[22])
  end)

  describe("refuses", function()
    it("indices out of range, naming row or column", function()
      local M = nn.Matrix(2, 3)
      assert.has_error(function() M:get(3, 1) end,
        "bad argument #1 to 'get' (row 3 out of range 1..2)")
      assert.has_error(function() M:get(1, 0) end,
        "bad argument #2 to 'get' (column 0 out of range 1..3)")
      assert.has_error(function() M:set(0, 1, 1) end,
        "bad argument #1 to 'set' (row 0 out of range 1..2)")
      assert.has_error(function() M:row(5) end,
        "bad argument #1 to 'row' (row 5 out of range 1..2)")
      assert.has_error(function() M:get(1.5, 1) end,
        "bad argument #1 to 'get' (number has no integer representation)")
    end)

    it("NaN, infinity and numbers beyond float32 on set, leaving the matrix as it was", function()
      local M = nn.Matrix(1, 1)
      assert.has_error(function() M:set(1, 1, 0 / 0) end,
        "bad argument #3 to 'set' (value is NaN)")
      assert.has_error(function() M:set(1, 1, -math.huge) end,
        "bad argument #3 to 'set' (value is infinite)")
      assert.has_error(function() M:set(1, 1, 1e39) end,
        "bad argument #3 to 'set' (value is too large for float32)")
      assert.has_error(function() M:set(1, 1, "x") end,
        "bad argument #3 to 'set' (number expected, got string)")
      assert.equal(0, M:get(1, 1))
    end)

    it("a bad row whole, naming the row and the element", function()
      local M = nn.Matrix{ { 1, 2 } }
      assert.has_error(function() M:set_row(1, { 5, 0 / 0 }) end,
        "bad argument #2 to 'set_row' (x[2] is NaN)")
      assert.has_error(function() M:set_row(1, { 5 }) end,
        "bad argument #2 to 'set_row' (x: expected 2 numbers, got 1)")
      assert.same({ { 1, 2 } }, M:to_table())
      assert.has_error(function() nn.Matrix{ { 1, 2 }, { 3 } } end,
        "bad argument #1 to 'Matrix' (rows[2]: expected 2 numbers, got 1)")
      assert.has_error(function() nn.Matrix{ { 1, 2 }, { 3, "4" } } end,
        "bad argument #1 to 'Matrix' (rows[2][2] is not a number (got string))")
      assert.has_error(function() nn.Matrix{ { 1, 2 }, 7 } end,
        "bad argument #1 to 'Matrix' (rows[2]: table expected, got number)")
      assert.has_error(function() nn.Matrix{} end,
        "bad argument #1 to 'Matrix' (rows: empty table (use nn.Matrix(0, cols) for no rows))")
      assert.has_error(function() nn.Matrix{ {} } end,
        "bad argument #1 to 'Matrix' (rows[1]: empty table)")
      assert.has_error(function() nn.Matrix{ 1, 2 } end,
        "bad argument #1 to 'Matrix' (rows[1]: table expected, got number)")
    end)

    it("sizes too large, before allocating", function()
      assert.has_error(function() nn.Matrix(2 ^ 20, 2 ^ 10) end,
        "nn.Matrix(1048576 x 1024) is too large (at most 268435456 numbers)")
      assert.has_error(function() nn.Matrix(2 ^ 40, 1) end,
        "bad argument #1 to 'Matrix' (rows 1099511627776 is too large (at most 268435456))")
    end)

    it("a method called on something else", function()
      local M = nn.Matrix(1, 1)
      assert.has_error(function() M.get({}, 1, 1) end,
        "bad argument #1 to 'get' (nn.Matrix expected, got table)")
    end)
  end)
end)

describe("a batch forward pass", function()
  it("gives the seed's answers for the leaf and the flower, one row each", function()
    local net = seed.network(nn)
    local Y = net:forward(nn.Matrix{ seed.input, seed.flower_input })
    assert.equal(2, Y:rows())
    assert.equal(2, Y:cols())
    assert.near(seed.softmax[1], Y:get(1, 1), 5e-5)   -- printed to four digits
    assert.near(seed.softmax[2], Y:get(1, 2), 5e-5)
    assert.is_true(Y:get(2, 2) > Y:get(2, 1))          -- the flower
  end)

  local cases = {
    { "the seed's 4-3-2", { 4, 3, 2 }, "ReLU", "SoftMax" },
    { "784-256-128-10", { 784, 256, 128, 10 }, "ReLU", "SoftMax" },
    { "64-64-64-8", { 64, 64, 64, 8 }, "Tanh", "SoftMax" },
    { "odd widths 17-33-3", { 17, 33, 3 }, "Sigmoid", nil },
    { "one input, one output", { 1, 1 }, nil, nil },
  }
  for _, case in ipairs(cases) do
    local name, sizes, act, last = case[1], case[2], case[3], case[4]
    for _, rows in ipairs{ 1, 2, 7, 300 } do
      if rows < 300 or sizes[1] < 784 then
        it(("equals the single-sample path and the reference: %s, %d rows"):format(name, rows),
          function()
            local net, layers, rand = random_net(sizes, act, last)
            local t = random_rows(rand, rows, sizes[1])
            local Y = net:forward(nn.Matrix(t))
            assert.equal(rows, Y:rows())
            assert.equal(sizes[#sizes], Y:cols())
            local out = {}
            for r = 1, rows do
              local single = net:forward(t[r], out)
              local row = Y:row(r)
              assert.is_true(ref.max_diff(single, row) <= TOL_BATCH,
                ("row %d differs from the single-sample path"):format(r))
              assert.is_true(ref.max_diff(ref.forward(layers, t[r]), row) <= TOL_REF,
                ("row %d differs from the reference"):format(r))
            end
          end)
      end
    end
  end

  it("fills a given Y and returns it", function()
    local net = seed.network(nn)
    local Y = nn.Matrix(2, 2)
    assert.equal(Y, net:forward(nn.Matrix{ seed.input, seed.flower_input }, Y))
    assert.near(seed.softmax[1], Y:get(1, 1), 5e-5)
  end)

  it("runs a network of element-wise modules on any width", function()
    local Y = nn.SoftMax():forward(nn.Matrix{ { 0.8, 0.2, 0 }, { 0, 0, 0 } })
    assert.equal(3, Y:cols())
    local expected = ref.forward({ { "SoftMax" } }, { 0.8, 0.2, 0 })
    assert.is_true(ref.max_diff(expected, Y:row(1)) <= TOL_REF)
    assert.near(1 / 3, Y:get(2, 3), TOL_REF)
  end)

  it("takes a batch of no rows", function()
    local Y = seed.network(nn):forward(nn.Matrix(0, 4))
    assert.equal(0, Y:rows())
    assert.equal(2, Y:cols())
  end)

  -- (net:classify takes a batch too: spec/classify_batch_spec.lua)
  it("refuses shapes that do not fit, and batches where one sample is taken", function()
    local net = seed.network(nn)
    assert.has_error(function() net:forward(nn.Matrix(2, 3)) end,
      "bad argument #1 to 'forward' (X: expected 4 columns, got 3)")
    assert.has_error(function() net:forward(nn.Matrix(2, 4), nn.Matrix(3, 2)) end,
      "bad argument #2 to 'forward' (Y: expected 2 x 2, got 3 x 2)")
    assert.has_error(function() net:forward(nn.Matrix(2, 4), {}) end,
      "bad argument #2 to 'forward' (nn.Matrix expected, got table)")
    local X = nn.Matrix(2, 2)
    assert.has_error(function() nn.ReLU():forward(X, X) end,
      "bad argument #2 to 'forward' (Y: must not be X)")
    assert.has_error(function() net:trace(nn.Matrix(1, 4)) end,
      "bad argument #1 to 'trace' (x: table expected, got nn.Matrix)")
    assert.has_error(function() nn.Sequential{ nn.ReLU(), nn.Matrix(1, 1) } end,
      "bad argument #1 to 'Sequential' (module 2 is not an nn module (got nn.Matrix))")
    assert.has_error(function() net:forward(net) end,
      "bad argument #1 to 'forward' (table or nn.Matrix expected, got nn.Network)")
  end)
end)

describe("a forward pass into a reused table or matrix", function()
  --- KB allocated by n calls of f, the collector stopped; counted once
  -- before (LuaJIT compiles the loop then, into memory the count includes,
  -- and Lua 5.2 regrows once what its collection freed).
  local function garbage(f, n)
    local function loop(k) for _ = 1, k do f() end end
    local function grown()
      collectgarbage()
      loop(1)
      collectgarbage("stop")
      local before = collectgarbage("count")
      loop(n)
      local kb = collectgarbage("count") - before
      collectgarbage("restart")
      return kb
    end
    grown()
    return compat.interpreted(grown)
  end

  it("makes no garbage for a network wider than the stack buffer", function()
    local net, _, rand = random_net({ 784, 256, 10 }, "ReLU", "SoftMax")
    local x, out = random_rows(rand, 1, 784)[1], {}
    local kb = garbage(function() net:forward(x, out) end, 200)
    assert.equal(0, kb)
  end)

  it("makes no garbage for a batch into a given Y", function()
    local net, _, rand = random_net({ 64, 64, 8 }, "Tanh", "SoftMax")
    local X, Y = nn.Matrix(random_rows(rand, 32, 64)), nn.Matrix(32, 8)
    local kb = garbage(function() net:forward(X, Y) end, 200)
    assert.equal(0, kb)
  end)

  it("is counted: a forward pass without out does make garbage", function()
    local net = seed.network(nn)
    assert.is_true(garbage(function() net:forward(seed.input) end, 1000) > 0)
  end)
end)
