-- nn.kernel: which kernel set (generic, avx2, avx512) runs the arithmetic,
-- and that each set the processor runs gives the double-precision reference
-- (spec/support/reference.lua).  The choice is process-wide, so every test
-- that changes it puts the previous one back.

local nn = require "nn"
local seed = require "spec.support.seed"
local ref = require "spec.support.reference"

-- |got - want| / max(1, |want|): float32 sums of 40 products and a SoftMax.
local TOL_KERNEL = 1e-5
local SETS = { "generic", "avx2", "avx512" }

local function rel_diff(want, got)
  assert.equal(#want, #got)
  local d = 0
  for i = 1, #want do
    d = math.max(d, math.abs(got[i] - want[i]) / math.max(1, math.abs(want[i])))
  end
  return d
end

-- 40 inputs: more than a vector of either x86 set, and not a multiple of one.
local function wide_net()
  local rand = ref.stream(7)
  local W1, b1 = ref.random_linear(rand, 40, 33)
  local W2, b2 = ref.random_linear(rand, 33, 5)
  local net = nn.Sequential{ nn.Linear(40, 33), nn.Tanh(), nn.Linear(33, 5), nn.SoftMax() }
  net:set_weights(1, W1, b1)
  net:set_weights(3, W2, b2)
  local layers = { { "Linear", W1, b1 }, { "Tanh" }, { "Linear", W2, b2 }, { "SoftMax" } }
  local x = {}
  for i = 1, 40 do x[i] = rand(-1, 1) end
  return net, layers, x
end

local function seed_layers()
  return {
    { "Linear", seed.W1, seed.b1 }, { "ReLU" },
    { "Linear", seed.W2, seed.b2 }, { "SoftMax" },
  }
end

--- Forward passes of the seed's net and of a wider one, against the reference.
local function assert_matches_reference(set)
  local net = seed.network(nn)
  for _, x in ipairs{ seed.input, seed.flower_input } do
    assert.is_true(rel_diff(ref.forward(seed_layers(), x), net:forward(x)) <= TOL_KERNEL, set)
  end
  local wide, layers, x = wide_net()
  assert.is_true(rel_diff(ref.forward(layers, x), wide:forward(x)) <= TOL_KERNEL, set)
end

describe("nn.kernel", function()
  local before
  before_each(function() before = nn.kernel() end)
  after_each(function() nn.kernel(before) end)

  it("names the set in use", function()
    local name = nn.kernel()
    assert.is_true(name == "generic" or name == "avx2" or name == "avx512", name)
  end)

  it("forces the generic set, and the forward pass still matches the reference", function()
    assert.equal("generic", nn.kernel("generic"))
    assert.equal("generic", nn.kernel())
    assert_matches_reference("generic")
  end)

  it("forces each set the processor runs, or says that it cannot", function()
    for _, set in ipairs(SETS) do
      local ok, got = pcall(function() return nn.kernel(set) end)
      if ok then
        assert.equal(set, got)
        assert_matches_reference(set)
      else
        -- called through a field, the message names the field: 'kernel', and
        -- starts with the caller's position
        assert.equal(("bad argument #1 to 'kernel' (kernel '%s' is not supported by " ..
          "this processor)"):format(set), (got:gsub("^.-:%d+: ", "")))
        assert.equal(before, nn.kernel())   -- unchanged
      end
    end
  end)

  it("raises on an unknown name and keeps the set in use", function()
    assert.has_error(function() nn.kernel("nope") end,
      "bad argument #1 to 'kernel' (unknown kernel 'nope': expected generic, avx2 or avx512)")
    assert.has_error(function() nn.kernel{} end,
      "bad argument #1 to 'kernel' (string expected, got table)")
    assert.equal(before, nn.kernel())
  end)
end)
