-- make bench-readme (spec/bench/readme.lua): the README's speed tables
-- written from a run of the results store, on made-up runs.  No timing here.

local readme = require "spec.bench.readme"

local RUN = { run_id = 1765000000000, commit_id = "abc1234", date = "2025-12-06T10:20:30Z",
              cpu = "Test CPU", cores = 2, kernel = "avx512" }

--- A run's figures: the given ones, and 100 ns for any other name asked.
local function figures(t)
  return setmetatable(t or {}, { __index = function(_, name)
    if name:match("%.acc%d$") or name:match("_error$") then return { value = 50, unit = "acc%" } end
    if name:match("^mem%.") or name:match("garbage$") or name == "train.memory" then
      return { value = 1000, unit = "bytes" }
    end
    return { value = 100, unit = "ns" }
  end })
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("make bench-readme", function()
  it("writes times, ratios and byte counts as the README does", function()
    assert.equal("432 ns", readme.time(432.4))
    assert.equal("5.50 ns", readme.time(5.5))
    assert.equal("27.2 µs", readme.time(27234))
    assert.equal("1.00 µs", readme.time(999.7))
    assert.equal("190 µs", readme.time(190300))
    assert.equal("1.09 s", readme.time(1.09e9))
    assert.equal("0.23x", readme.ratio(0.234))
    assert.equal("12.6x", readme.ratio(12.61))
    assert.equal("151x", readme.ratio(151.2))
    assert.equal("941,032", readme.thousands(941032))
    assert.equal("460", readme.thousands(460))
    assert.equal("0", readme.thousands(0))
    assert.equal("5,545,424", readme.thousands(5545424))
  end)

  it("wraps prose at 92 characters, as the README is written", function()
    local long = ("word "):rep(40)
    for line in readme.wrap(long):gmatch("[^\n]+") do assert.is_true(#line <= 92, line) end
    assert.equal("a b c", readme.wrap("a  b\nc"))
  end)

  it("renders a table from the run's figures, naming the run", function()
    local figs = figures{
      ["lua.seed.forward"] = { value = 150, unit = "ns" },
      ["lua.seed.plain"] = { value = 600, unit = "ns" },
      ["lua.store.log"] = { value = 4, unit = "us" },
      ["sqlite.insert.txn1000"] = { value = 200000, unit = "rows/s" },
    }
    local text = readme.blocks.speed(RUN, readme.getter(RUN, figs))
    local prose = text:gsub("\n(%S)", " %1")   -- the header's lines joined
    assert.truthy(prose:find("_From `make bench` run 1765000000000: commit `abc1234`, "
      .. "2025-12-06 10:20:30 UTC, Test CPU, 2 cores, kernel set `avx512`", 1, true), prose)
    assert.truthy(text:find("\n| | | plain Lua, a loop over layers | 100 ns | 0.67x |", 1, true), text)
    assert.truthy(text:find("| seed 4-3-2, `net:forward(x, out)` | 150 ns | plain Lua, written "
      .. "out for this net | 600 ns | 4.00x |", 1, true), text)
    -- a rate shown as a time and as rows a second, the ratio of the two times
    assert.truthy(text:find("| 4.00 µs (250 k rows/s) | raw prepared INSERT, 1000 rows a "
      .. "transaction | 5.00 µs (200 k rows/s) | 1.25x |", 1, true), text)
  end)

  it("replaces what lies between the markers, and nothing else", function()
    local text = "# Speed\n\n<!-- bench:trainer -->\nold figures\n<!-- /bench:trainer -->\n\nafter\n"
    local figs = figures{ ["train.memory"] = { value = 4000, unit = "bytes" } }
    local new = readme.rewrite(text, RUN, figs)
    assert.equal("# Speed\n\n<!-- bench:trainer -->\nA trainer for the 784-256-128-10 net, Adam, "
      .. "batch 64, takes 4,000 bytes (run 1765000000000):\n0.0 times the 4 bytes a parameter "
      .. "(gradients and the two moments are 3 of those; the rest is\none batch's activations "
      .. "and the backward passes' scratch).\n<!-- /bench:trainer -->\n\nafter\n", new)
    assert.equal(new, readme.rewrite(new, RUN, figs))
  end)

  it("refuses markers without their pair, and blocks it does not know", function()
    assert.has_error(function()
      readme.rewrite("<!-- bench:speed -->\ntable\n", RUN, figures())
    end, "README: <!-- bench:speed --> without <!-- /bench:speed -->")
    assert.has_error(function()
      readme.rewrite("<!-- bench:nothing -->\nx\n<!-- /bench:nothing -->\n", RUN, figures())
    end, "README: no block named nothing in spec/bench/readme.lua")
    assert.has_error(function()
      readme.rewrite("text\n<!-- /bench:speed -->\n", RUN, figures())
    end, "README: a <!-- /bench:... --> without its opening marker")
  end)

  it("names a figure the run lacks", function()
    assert.has_error(function()
      readme.rewrite("<!-- bench:trainer -->\nx\n<!-- /bench:trainer -->\n", RUN, {})
    end, "run 1765000000000 has no figure train.memory")
  end)

  it("knows every block the README marks, and writes it the same way twice", function()
    local text = slurp("README.md")
    local once = readme.rewrite(text, RUN, figures())
    local _, blocks = once:gsub("<!%-%- bench:[%w_]+ %-%->", "")
    assert.is_true(blocks >= 8, "blocks: " .. blocks)
    assert.equal(once, readme.rewrite(once, RUN, figures()))
  end)
end)
