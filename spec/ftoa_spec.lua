-- The text of a float32 in the prediction log (src/formats/nn_ftoa.c), from C alone:
-- spec/support/ftoa_check.c, compiled here, formats millions of floats and
-- checks each against strtof and printf; this file asserts that it found
-- nothing wrong, and compares a few texts with their known shortest forms.
--
-- NN_SPEC_QUICK=1 checks fewer floats (the checker runs as a child process,
-- which valgrind does not trace, so `make memcheck` is not slowed by it).

local c = require "spec.support.c"

local COUNT = os.getenv("NN_SPEC_QUICK") and 200000 or 2000000

describe("a float32 written as JSON", function()
  local exe
  setup(function() exe = c.compile("spec/support/ftoa_check.c src/formats/nn_ftoa.c") end)
  teardown(function() os.remove(exe) end)

  it("reads back as itself, with the fewest digits, over millions of floats", function()
    local out = c.run(exe, tostring(COUNT))
    local checked = tonumber(out:match("checked (%d+)"))
    assert.is_true(checked >= COUNT, out)
    assert.equal("0", out:match("failures (%d+)"), out)
    assert.is_nil(out:match("fail "), out)
    -- powers of two whose shortest text printf's %.{p}g cannot find: every
    -- power of two is among the floats checked, and 2^-96 is one of them
    assert.is_true(tonumber(out:match("shorter (%d+)")) >= 1, out)
  end)

  it("checks every one of the smallest subnormals and of the floats from 1 up", function()
    -- 2^18 of each (2^16 when quick): where the interval is widest for its
    -- value, and where the decimal exponent is 0; the checker counts what
    -- it walked, so a range that ends below its start cannot pass
    local n = os.getenv("NN_SPEC_QUICK") and 0x10000 or 0x40000
    for _, first in ipairs{ 0x00000001, 0x3f800000 } do
      local out = c.run(exe, ("all %08x %08x"):format(first, first + n - 1))
      assert.equal(tostring(n), out:match("checked (%d+)"), out)
      assert.equal("0", out:match("failures (%d+)"), out)
    end
  end)

  local function show(...)
    local out = c.run(exe, "show " .. table.concat({ ... }, " "))
    local t = {}
    for line in out:gmatch("[^\n]+") do t[#t + 1] = line end
    return t
  end

  it("gives the known shortest forms", function()
    assert.same({
      "0.1",              -- 0x3dcccccd, 0.100000001490116...
      "11.2",             -- the seed's volume, 11.1999998092651...
      "0.33333334",       -- 1/3: eight digits are needed
      "1e-45",            -- the smallest subnormal, 1.40129846e-45
      "1.1754944e-38",    -- FLT_MIN
      "3.4028235e+38",    -- FLT_MAX
      "1e+10",            -- 10^10 is a float
      "1.2621775e-29",    -- 2^-96: printf needs 9 digits, 8 read back
      "0.0001",           -- the last exponent printf writes without e
      "1e-05",
      "8388607.5",
    }, show("3dcccccd", "41333333", "3eaaaaab", "00000001", "00800000", "7f7fffff",
            "501502f9", "0f800000", "38d1b717", "3727c5ac", "4affffff"))
  end)

  it("writes whole numbers below 2^24 as integers, as before", function()
    assert.same({ "0", "-0", "255", "-3", "16777215", "16777216", "1000000" },
      show("00000000", "80000000", "437f0000", "c0400000", "4b7fffff", "4b800000",
           "49742400"))
  end)

  it("writes NaN and the infinities as null", function()
    assert.same({ "null", "null", "null" }, show("7fc00000", "7f800000", "ff800000"))
  end)
end)
