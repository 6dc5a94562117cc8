-- net:fold() (src/engine/nn_fold.c): the merged weights checked against the
-- matrix product taken in double in plain Lua (bit for bit, in every kernel
-- set, where both take it from the input side), a layer with nothing to
-- merge copied bit for bit, a fold too large to make refused, and one that
-- costs more multiply-adds than max_ops refused by name.

local nn = require "nn"
local ref = require "spec.support.reference"

-- Merged weights are sums of products taken in double and rounded to float
-- once: within float32's relative precision (6e-8), with room, of the
-- double product.
local TOL_PRODUCT = 1e-6

-- The largest difference between a and b relative to the size of a's value.
local function max_rel_diff(a, b)
  local d = 0
  for i = 1, #a do d = math.max(d, math.abs(a[i] - b[i]) / math.max(1, math.abs(a[i]))) end
  return d
end

-- W2 (n2 x n1) W1 (n1 x n0), and W2 b1 + b2, in double.
local function compose(W2, b2, W1, b1)
  local W, b = {}, {}
  for j = 1, #W2 do
    W[j] = {}
    for c = 1, #W1[1] do
      local s = 0
      for k = 1, #W1 do s = s + W2[j][k] * W1[k][c] end
      W[j][c] = s
    end
    local s = b2[j]
    for k = 1, #b1 do s = s + W2[j][k] * b1[k] end
    b[j] = s
  end
  return W, b
end

-- A Sequential of Linear layers of these widths with random weights, and
-- its merged W and b computed in double from the weights it holds.
local function linear_run(rand, widths)
  local modules = {}
  for i = 2, #widths do modules[#modules + 1] = nn.Linear(widths[i - 1], widths[i]) end
  local net = nn.Sequential(modules)
  local W, b
  for i = 1, #modules do
    net:set_weights(i, ref.random_linear(rand, widths[i], widths[i + 1]))
    local Wi, bi = net:get_weights(i)
    if W then W, b = compose(Wi, bi, W, b) else W, b = Wi, bi end
  end
  return net, W, b
end

local function flat(rows)
  local t = {}
  for _, row in ipairs(rows) do for _, v in ipairs(row) do t[#t + 1] = v end end
  return t
end

describe("fold", function()
  -- widths 2, 8, 8, 8, 3 multiply cheaper from the input side, 8, 8, 8, 2
  -- from the output side: both orders are taken
  for _, widths in ipairs{ { 2, 8, 8, 8, 3 }, { 8, 8, 8, 2 }, { 5, 1, 6 }, { 3, 7 } } do
    it("merges Linear layers of widths " .. table.concat(widths, ", ")
       .. " into their product taken in double", function()
      local net, W, b = linear_run(ref.stream(#widths), widths)
      local folded = net:fold()
      assert.equal(("nn.Linear(%d -> %d)"):format(widths[1], widths[#widths]),
        tostring(folded):match("nn%.Linear%(%d+ %-> %d+%)"))
      assert.equal(1, #folded:trace(W[1]))
      local FW, fb = folded:get_weights(1)
      assert.equal(#flat(W), #flat(FW))
      assert.is_true(max_rel_diff(flat(W), flat(FW)) < TOL_PRODUCT)
      assert.is_true(max_rel_diff(b, fb) < TOL_PRODUCT)
    end)
  end

  -- float32 rounding: the float nearest x
  local f32 = require("spec.support.compat").f32

  it("gives the bits of the plain loop in double, in every kernel set, across its blocks", function()
    -- 261 rows and 300 terms cross the 256 of a block, 20 columns are no
    -- multiple of the tile's 8; from the input side, as the reference takes
    -- it: M = W2 W1, then W3 M, each sum in the order of its terms
    local net, W = linear_run(ref.stream(11), { 20, 300, 261, 270 })
    local before, first = nn.kernel(), nil
    for _, set in ipairs{ "generic", "avx2", "avx512" } do
      if pcall(nn.kernel, set) then
        local FW = flat((net:fold():get_weights(1)))
        local want = flat(W)
        for i = 1, #want do
          if FW[i] ~= f32(want[i]) then
            nn.kernel(before)
            error(("%s: W[%d] is %.9g, not %.9g"):format(set, i, FW[i], f32(want[i])))
          end
        end
        if first then assert.same(first, FW) else first = FW end
      end
    end
    nn.kernel(before)
  end)

  it("states its cost and refuses one over max_ops, which the caller may raise", function()
    local net = nn.Sequential{ nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64), nn.Linear(64, 64) }
    -- the run 3 to 4: 64^3 multiply-adds for W4 W3 and 64^2 for its bias
    assert.has_error(function() net:fold{ max_ops = 1000 } end, "fold: 266240 multiply-adds, "
      .. "more than max_ops allows (1000): net:fold{ max_ops = 266240 } takes them")
    assert.equal(2 * 64 * 65, net:fold{ max_ops = 266240 }:n_params())
    assert.has_error(function() net:fold{ max_op = 1 } end,
      "bad argument #1 to 'fold' (unknown option 'max_op' (did you mean 'max_ops'?))")
    assert.has_error(function() net:fold{ max_ops = -1 } end,
      "bad argument #1 to 'fold' (max_ops: a number >= 0 expected, got -1)")
    -- a layer with nothing to merge is copied: it costs nothing
    assert.equal(64 * 65, nn.Sequential{ nn.Linear(64, 64) }:fold{ max_ops = 0 }:n_params())
  end)

  it("refuses by default a fold of more than 2^34 multiply-adds, before any work", function()
    -- 16000 x 128 x 16000 and the bias: 3.3e10 multiply-adds, for 16 MB of weights
    local net = nn.Sequential{ nn.Linear(16000, 128), nn.Linear(128, 16000) }
    assert.has_error(function() net:fold() end, "fold: 32770048000 multiply-adds, more "
      .. "than max_ops allows (17179869184): net:fold{ max_ops = 32770048000 } takes them")
  end)

  it("copies a wide layer with nothing to merge bit for bit", function()
    -- 2^18 inputs: a fold by unit vectors would take 2^37 multiplications
    local n = 2 ^ 18
    local W, b = { {}, {} }, { 0.1, -3.75 }
    for c = 1, n do
      W[1][c] = (c % 97) / 3
      W[2][c] = -c / n
    end
    local net = nn.Sequential{ nn.Linear(n, 2), nn.Tanh() }
    net:set_weights(1, W, b)
    local FW, fb = net:fold():get_weights(1)
    local gW, gb = net:get_weights(1)
    assert.same(gb, fb)
    for j = 1, 2 do
      for c = 1, n do
        if gW[j][c] ~= FW[j][c] then
          error(("W[%d][%d]: %.9g, not %.9g"):format(j, c, FW[j][c], gW[j][c]))
        end
      end
    end
  end)

  it("keeps the layers between runs, their parameters included", function()
    local net = nn.Sequential{ nn.Identity(), nn.LeakyReLU(0.25), nn.Linear(2, 2),
      nn.Identity(), nn.Sigmoid(), nn.Identity() }
    net:set_weights(3, { { 1, 2 }, { 3, 4 } }, { 5, 6 })
    local folded = net:fold()
    assert.equal([[
nn.Sequential {
  [input -> (1) -> (2) -> (3) -> output]
  (1): nn.LeakyReLU(0.25)
  (2): nn.Linear(2 -> 2)
  (3): nn.Sigmoid
}]], tostring(folded))
    local W, b = folded:get_weights(2)
    assert.same({ { 1, 2 }, { 3, 4 } }, W)
    assert.same({ 5, 6 }, b)
  end)

  it("folds a network of Identity layers into one Identity", function()
    assert.equal([[
nn.Sequential {
  [input -> (1) -> output]
  (1): nn.Identity
}]], tostring(nn.Sequential{ nn.Identity(), nn.Identity() }:fold()))
  end)

  it("refuses a fold that would pass the parameter limit, before any work", function()
    local net = nn.Sequential{ nn.Linear(2 ^ 20, 1), nn.Linear(1, 2 ^ 20) }
    assert.has_error(function() net:fold() end, "fold: layers 1 to 2 merge into "
      .. "nn.Linear(1048576 -> 1048576): more than 268435456 parameters in all")
  end)

  it("refuses a run whose products, taken from either end, pass the limit", function()
    -- from the input side W3 W2 W1 is 131072 x 4096, from the output side
    -- W4 W3 W2 is 4096 x 131072: 2^29 numbers either way
    local net = nn.Sequential{ nn.Linear(4096, 1), nn.Linear(1, 131072),
      nn.Linear(131072, 1), nn.Linear(1, 4096) }
    assert.has_error(function() net:fold() end, "fold: layers 1 to 4: their product "
      .. "needs more than 268435456 numbers of scratch")
  end)
end)
