-- The engine from C alone (src/engine/nn_engine.h, no Lua, no SQLite): the C host
-- example and a C program that prints what the engine computes, compiled
-- here and compared with hand arithmetic.

local seed = require "spec.support.seed"

local c = require "spec.support.c"

local function compile(sources) return c.compile(sources .. " " .. c.ENGINE) end
local run = c.run

local function lines(text)
  local t = {}
  for line in text:gmatch("[^\n]+") do
    local name, rest = line:match("^(%S+) (.*)$")
    t[name] = rest
  end
  return t
end

local function numbers(s)
  local t = {}
  for n in s:gmatch("%S+") do t[#t + 1] = tonumber(n) or n end
  return t
end

describe("the engine used from C", function()
  local check
  setup(function()
    local exe = compile("spec/support/engine_check.c src/engine/nn_fold.c")
    check = lines(run(exe))
    os.remove(exe)
  end)

  it("runs the seed's network in the host example", function()
    local exe = compile("examples/host.c")
    local leaf = numbers(run(exe))
    local flower = numbers(run(exe, "250 40 120 30"))
    os.remove(exe)
    assert.near(seed.softmax[1], leaf[1], 5e-5)
    assert.near(seed.softmax[2], leaf[2], 5e-5)
    assert.equal("leaf", leaf[3])
    assert.equal("flower", flower[3])
  end)

  it("flushes subnormal floats to zero between nn_fp_flush and nn_fp_restore only", function()
    local t = numbers(check.flush)
    local product = 1e-30 * 1e-10   -- in double; the float product is within 2^-149 of it
    assert.is_true(math.abs(t[1] - product) <= 2^-149, check.flush)
    assert.equal(0, t[2])
    assert.equal(t[1], t[3])
  end)

  it("names the layer whose sizes are wrong", function()
    assert.equal("layer 3: nn.Linear(4 -> 2) takes 4 inputs, but the layer before it gives 3",
      check.mismatch)
    assert.equal("layer 1: nn.Linear(0 -> 3): sizes must be between 1 and 16777216", check.zero)
    assert.equal("layer 1: more than 268435456 parameters in all", check.huge)
  end)

  it("runs a net of element-wise layers on any width", function()
    local t = numbers(check.softmax)
    assert.near(1 / (1 + math.exp(-0.6)), t[1], 1e-7)
    assert.near(1 / (1 + math.exp(0.6)), t[2], 1e-7)
    assert.same({ 0, 0 }, { t[3], t[4] })
  end)

  it("folds two Linear layers into their product", function()
    -- [-1 2] [[1 2] [3 4]] = [5 6]; [-1 2] (0.5, -1) + 0.25 = -2.25
    local t = numbers(check.fold)
    assert.same({ 1, 3, 5, 6, -2.25 }, { t[1], t[2], t[3], t[4], t[5] })
    -- and both give 5 * 0.5 + 6 * -1.5 - 2.25 for x = (0.5, -1.5)
    assert.near(-8.75, t[6], 1e-6)
    assert.near(-8.75, t[7], 1e-6)
  end)

  it("refuses a fold that would pass the parameter limit, naming the layers", function()
    -- Linear(2^20 -> 1) then Linear(1 -> 2^20): 2^40 weights once merged
    assert.equal("1 fold: layers 2 to 3 merge into nn.Linear(1048576 -> 1048576): "
      .. "more than 268435456 parameters in all", check.foldhuge)
  end)

  it("runs in place, x and y one array", function()
    -- [[1 2] [3 4]] (0.5, -1.5) + (0.5, -1) = (-2, -5.5); reading x after
    -- writing y[1] would give -13
    assert.same({ -2, -5.5 }, numbers(check.inplace))
  end)

  it("writes parameters as little-endian float32 and reads them back", function()
    -- 1.0f is 0x3f800000
    assert.equal("0000803f 1", check.le)
  end)

  it("checksums with FNV-1a 64 (the published test vectors)", function()
    assert.equal("cbf29ce484222325 af63dc4c8601ec8c", check.fnv)
  end)

  it("takes the first of equal maxima", function()
    assert.equal("1 0", check.argmax)
  end)
end)

-- spec/support/kernel_check.c forces each kernel set this processor runs and
-- compares nn_forward and nn_forward_batch with a double-precision C loop.
-- Each error is |got - want| / max(1, |want|): float32 sums of up to 784
-- products, then tanh, exp and a division, stay within a few 1e-7 of it.
local TOL_KERNEL = 1e-5
local SETS = { generic = true, avx2 = true, avx512 = true, neon = true }
local NETS = 5       -- seed, 784-256-128-10, 64-64-64-8, the odd widths, 255-33-1
local BATCHES = 6    -- 1, 2, 7, 37, 256 and two chunks and 5 rows

describe("the kernel sets", function()
  local out
  setup(function()
    local exe = compile("spec/support/kernel_check.c")
    out = run(exe)
    os.remove(exe)
  end)

  local function each(word)
    local t = {}
    for line in out:gmatch("[^\n]+") do
      local first, rest = line:match("^(%S+) (.*)$")
      if first == word then t[#t + 1] = numbers(rest) end
    end
    return t
  end

  local function supported()
    local names = {}
    for _, t in ipairs(each("select")) do
      if t[2] ~= "unsupported" then
        assert.equal(t[1], t[2])   -- the set asked for is the one in use
        names[#names + 1] = t[1]
      end
    end
    return names
  end

  it("start with the best set this processor runs, and always have generic", function()
    local best = each("best")[1][1]
    assert.is_true(SETS[best])
    local names = supported()
    assert.equal("generic", names[1])
    assert.equal(best, names[#names])   -- tried generic, avx2, avx512, neon
    assert.same({ 1, best }, each("reselect")[1])
  end)

  it("refuse an unknown name and keep the set in use", function()
    assert.same({ 1, 1 }, each("unknown")[1])
  end)

  it("match the double-precision reference, one sample and in batches", function()
    local cases = each("case")
    assert.equal(#supported() * NETS * BATCHES, #cases)
    for _, t in ipairs(cases) do
      local what = ("%s %s rows=%d"):format(t[1], t[2], t[3])
      assert.is_true(t[4] <= TOL_KERNEL, what .. " nn_forward: " .. t[4])
      assert.is_true(t[5] <= TOL_KERNEL, what .. " nn_forward_batch: " .. t[5])
      assert.is_true(t[6] <= TOL_KERNEL, what .. " batch against one by one: " .. t[6])
    end
  end)

  it("write nothing past the work they were given, and nothing into the net", function()
    local guards, readonly = each("guard"), each("readonly")
    assert.equal(#supported() * NETS, #guards)
    for i = 1, #guards do
      assert.equal(1, guards[i][3], guards[i][1] .. " " .. guards[i][2])
      assert.equal(1, readonly[i][3], readonly[i][1] .. " " .. readonly[i][2])
    end
  end)

  it("write training's tile from zeros as on zeros, and add with one rounding, in every set", function()
    local training = each("training")
    assert.equal(#supported(), #training)
    for _, t in ipairs(training) do
      assert.same({ t[1], 1, 1, 1 }, t)
    end
  end)

  it("need no more work for a long batch than for one chunk", function()
    assert.same({ 1 }, each("bounded")[1])
  end)
end)
