-- The activation kernels (exp for SoftMax, Sigmoid, Tanh, GELU's x Phi(x)) of
-- every kernel set this processor runs, from C alone:
-- spec/support/act_check.c, compiled here, runs each set over a sweep of
-- every float bit pattern (every 101st, and every float near each
-- threshold) against double-precision exp, 1 / (1 + exp(-x)), tanh and
-- x erfc(-x / sqrt 2) / 2; this file holds the bounds that
-- src/engine/nn_kernel.h states and asserts them.
--
-- NN_SPEC_QUICK=1 checks every 1021st bit pattern instead (the checker runs
-- as a child process, which valgrind does not trace).  The whole 2^32 is
-- `act_check 1`, about 20 minutes on one core.

local c = require "spec.support.c"

local STEP = os.getenv("NN_SPEC_QUICK") and "1021" or "101"

-- Largest error in units in the last place, against the double reference
-- and between any two sets: the bounds src/engine/nn_kernel.h and the README state.
local BOUND = { exp = 1.5, sigmoid = 2.5, tanh = 2, gelu = 5 }
-- |sum - 1| of a SoftMax row of 13 in units of 2^-24: its 13 roundings
local SUM_BOUND = 13
-- SoftMax of logits within 8 of each other against a double SoftMax: the
-- exp's ulp, the rounding of each logit minus the largest (up to 8 half
-- ulps of the result), the sum's and the scaling's
local SOFTMAX_BOUND = 8

local SETS = { "generic", "avx2", "avx512", "neon" }
local FNS = { "exp", "sigmoid", "tanh", "gelu" }

describe("the activation kernels", function()
  local out
  setup(function()
    local exe = c.compile("spec/support/act_check.c " .. c.ENGINE)
    out = c.run(exe, STEP)
    os.remove(exe)
  end)

  --- The sets the checker ran: the generic one always.
  local function sets()
    local t = {}
    for _, set in ipairs(SETS) do
      if out:find("\nerr " .. set .. " ", 1, true) then t[#t + 1] = set end
    end
    return t
  end

  local function figure(...)
    local pattern = "\n" .. table.concat({ ... }, " "):gsub("%-", "%%-") .. " (%S+)"
    local v = out:match(pattern)
    assert(v, "no line for " .. table.concat({ ... }, " ") .. " in:\n" .. out)
    return tonumber(v)
  end

  it("checks millions of floats, in every set the processor runs", function()
    assert.is_true(tonumber(out:match("^checked (%d+)")) >= 4000000, out)
    local names = sets()
    assert.equal("generic", names[1])
    for _, set in ipairs(names) do
      assert.truthy(out:find("\nbatch " .. set .. " softmax ", 1, true), set)
    end
  end)

  it("keeps within the stated ulps of double-precision exp, sigmoid, tanh and GELU", function()
    for _, set in ipairs(sets()) do
      for _, fn in ipairs(FNS) do
        local e = figure("err", set, fn)
        assert.is_true(e <= BOUND[fn], ("%s %s: %s ulps"):format(set, fn, e))
      end
    end
  end)

  it("gives every set's results within the same bound of each other", function()
    for _, fn in ipairs(FNS) do
      assert.is_true(figure("cross", fn) <= BOUND[fn], fn)
    end
  end)

  --- Asserts that the checker counted 0 for what, in every set and function.
  local function none(what, fns)
    for _, set in ipairs(sets()) do
      for _, fn in ipairs(fns or FNS) do
        assert.equal(0, figure(what, set, fn), ("%s %s %s"):format(what, set, fn))
      end
    end
  end

  it("stays in range: tanh in [-1, 1], sigmoid in [0, 1], exp never negative, GELU between "
     .. "x and 0 and above its minimum", function()
    none("range")
  end)

  it("saturates exactly far out: tanh +-1, sigmoid 0 and 1, exp 0 and inf, GELU x and 0",
     function()
    none("sat")
  end)

  it("gives libm's results at NaN, +-0 and +-inf (NaN for every NaN; GELU's of the "
     .. "double formula: NaN at -inf)", function()
    none("special")
  end)

  it("keeps NaN through ReLU and LeakyReLU, with the bits of x > 0 ? x : alpha x elsewhere", function()
    -- the reference, as IEEE comparisons give it (NaN ~= NaN) and as libm's
    -- fmax and PyTorch's relu keep NaN, is written out in act_check.c; the
    -- sweep holds NaNs of both signs and several payloads, +-0 and +-inf
    for _, set in ipairs(sets()) do
      for _, fn in ipairs{ "relu", "leaky_relu", "leaky_relu_neg" } do
        local bad, nan = out:match("\nrelu " .. set .. " " .. fn .. " (%d+) (%d+)")
        assert.equal("0", bad, set .. " " .. fn)
        assert.equal("0", nan, set .. " " .. fn .. ": NaN lost")
      end
    end
  end)

  it("gives the same bits on a long array, in its tail, and on a short one", function()
    none("tail")
  end)

  it("gives a batch the bits one sample gets, Tanh, Sigmoid, SoftMax and GELU alike", function()
    none("batch", { "tanh", "sigmoid", "softmax", "gelu" })
  end)

  -- Guards the narrow path: layers of 2 and 3 values skip the vector width
  -- one sample at a time (SoftMax leaves its maximum's exp out), while a
  -- batch takes whole panels; the seed's net is 15% slower without it.
  it("gives layers of 2 and 3 values the bits of the vector path, one sample and in batches",
     function()
    for _, set in ipairs(sets()) do
      for _, fn in ipairs{ "tanh", "sigmoid", "softmax", "gelu" } do
        for width = 2, 3 do
          assert.equal(0, figure("narrow", set, fn, width), ("%s %s %d"):format(set, fn, width))
        end
      end
    end
  end)

  it("gives SoftMax rows in [0, 1] that sum to 1 within float rounding", function()
    for _, set in ipairs(sets()) do
      local sum, range, err = out:match("\nsoftmax " .. set .. " (%S+) (%S+) (%S+)")
      assert.is_true(tonumber(sum) <= SUM_BOUND, set .. " sum " .. sum)
      assert.equal("0", range, set)
      assert.is_true(tonumber(err) <= SOFTMAX_BOUND, set .. " error " .. err)
    end
  end)
end)
