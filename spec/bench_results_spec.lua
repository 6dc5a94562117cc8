-- make bench's memory (spec/bench/results.lua, spec/bench/figures.lua): the
-- results store, the choice of the run to compare with, and the rule that
-- calls a change a regression, on small made-up runs.  No timing here.

local nn = require "nn"
local results = require "spec.bench.results"
local figures = require "spec.bench.figures"

local MACHINE = { cpu = "Test CPU", cores = 2, kernel = "avx2" }

--- A run on MACHINE (or on other, a table of fields to change).
local function run(id, commit_id, other)
  local r = { run_id = id, commit_id = commit_id, date = "2025-01-01T00:00:00Z",
              cpu = MACHINE.cpu, cores = MACHINE.cores, kernel = MACHINE.kernel,
              lua = "Lua 5.4", load = 1.5 }
  for k, v in pairs(other or {}) do r[k] = v end
  return r
end

--- The seed's forward pass at ns, its plain-Lua reference at plain_ns.
local function seed_figures(ns, plain_ns, spread)
  return {
    { name = "lua.seed.forward", kind = "nn", value = ns, unit = "ns", ref = "lua.seed.plain",
      spread = spread },
    { name = "lua.seed.plain", kind = "ref", value = plain_ns, unit = "ns" },
  }
end

local function by_name(list)
  local t = {}
  for _, f in ipairs(list) do t[f.name] = f end
  return t
end

describe("make bench's results store", function()
  local store
  before_each(function() store = results.open(nn, ":memory:") end)
  after_each(function() store:close() end)

  it("keeps a run as INSERT lines that fill a store again, once", function()
    local lines = results.statements(run(1000, "abc1234"), seed_figures(150, 600, 0.03))
    assert.equal(3, #lines)
    assert.equal("INSERT INTO bench_run VALUES(1000,'abc1234','2025-01-01T00:00:00Z',"
      .. "'Test CPU',2,'avx2','Lua 5.4',1.5);", lines[1])
    assert.equal("INSERT INTO bench_figure VALUES(1000,'lua.seed.forward','nn',150,'ns',"
      .. "'lua.seed.plain',0.03);", lines[2])
    local text = "-- make bench's runs\n" .. table.concat(lines, "\n") .. "\n"
    assert.equal(3, results.load_text(store, text))
    results.load_text(store, text)      -- a second time: nothing doubles
    local n = 0
    for _ in store:rows("SELECT * FROM bench_figure") do n = n + 1 end
    assert.equal(2, n)
    local figs = results.figures_of(store, 1000)
    assert.equal(150, figs["lua.seed.forward"].value)
    assert.equal("lua.seed.plain", figs["lua.seed.forward"].ref)
    assert.equal("ref", figs["lua.seed.plain"].kind)
  end)

  it("quotes names with quotes in them", function()
    local lines = results.statements(run(1, "abc1234", { cpu = "it's" }), {})
    assert.truthy(lines[1]:find("'it''s'", 1, true))
    results.load_text(store, lines[1])
    assert.equal("it's", store:rows("SELECT cpu FROM bench_run")().cpu)
  end)

  it("compares only runs on the same processor, core count and kernel set", function()
    results.record(store, run(1, "aaaaaaa"), {})
    results.record(store, run(2, "bbbbbbb", { kernel = "generic" }), {})
    results.record(store, run(3, "ccccccc", { cores = 4 }), {})
    results.record(store, run(4, "ddddddd", { cpu = "Other CPU" }), {})
    results.record(store, run(5, "eeeeeee"), {})
    local list = results.comparable_runs(store, run(6, "fffffff"))
    assert.same({ 5, 1 }, { list[1].run_id, list[2].run_id })
    assert.equal(2, #list)
  end)
end)

describe("make bench's baseline", function()
  -- latest first, as results.comparable_runs gives them
  local runs = { run(4, "ccccccc+"), run(3, "bbbbbbb"), run(2, "bbbbbbb"), run(1, "aaaaaaa") }

  it("is the latest run of the nearest earlier commit that has one", function()
    local base = results.baseline(runs, { "ddddddd", "ccccccc", "bbbbbbb", "aaaaaaa" }, "ddddddd")
    assert.equal(3, base.run_id)
  end)

  it("leaves out the commit's own runs, and runs of trees with changes", function()
    local base = results.baseline(runs, { "bbbbbbb", "aaaaaaa" }, "bbbbbbb")
    assert.equal(1, base.run_id)
  end)

  it("is the commit's own latest run when this run's tree had changes", function()
    local base = results.baseline(runs, { "bbbbbbb", "aaaaaaa" }, "bbbbbbb+")
    assert.equal(3, base.run_id)
  end)

  it("is nothing when no earlier commit was measured", function()
    assert.is_nil(results.baseline(runs, { "eeeeeee", "fffffff" }, "eeeeeee"))
    assert.is_nil(results.baseline({}, { "eeeeeee" }, "eeeeeee+"))
  end)
end)

describe("make bench's rule", function()
  it("divides a figure by its reference from the same run, as times", function()
    local figs = by_name(seed_figures(150, 600))
    assert.equal(0.25, results.normalised(figs["lua.seed.forward"], figs))
    -- a rate is a time per row: 2e5 rows/s is 5000 ns a row
    local log = { name = "lua.store.log", value = 4000, unit = "ns", ref = "sqlite" }
    assert.equal(0.8, results.normalised(log, { sqlite = { value = 2e5, unit = "rows/s" } }))
    -- 2 us over 500 ns
    assert.equal(4, results.normalised({ value = 2, unit = "us", ref = "r" },
      { r = { value = 500, unit = "ns" } }))
    -- no reference in the run: no normalised value
    assert.is_nil(results.normalised(log, {}))
    -- bytes are compared as they are
    assert.equal(460, results.normalised({ value = 460, unit = "bytes" }, {}))
  end)

  it("calls a change slower than the noise a regression, and a busier machine none", function()
    local base = by_name(seed_figures(150, 600))
    -- the whole machine 20% slower: nn and its reference alike
    local busy = by_name(seed_figures(180, 720))
    local j = results.judge(busy["lua.seed.forward"], busy, base, {})
    assert.near(0, j.change, 1e-12)
    assert.is_false(j.regression)
    -- nn alone 20% slower, with the 10% noise of a figure without history
    local slow = by_name(seed_figures(180, 600))
    j = results.judge(slow["lua.seed.forward"], slow, base, {})
    assert.near(0.2, j.change, 1e-12)
    assert.equal(results.UNKNOWN_NOISE, j.noise)
    assert.is_true(j.regression)
    -- 5% slower: within that noise
    local bit = by_name(seed_figures(157.5, 600))
    assert.is_false(results.judge(bit["lua.seed.forward"], bit, base, {}).regression)
  end)

  it("takes a figure's noise from its last runs, at least 2% for a time", function()
    local f = by_name(seed_figures(150, 600))["lua.seed.forward"]
    local function past(...)
      local h = {}
      for i, ns in ipairs{ ... } do h[i] = by_name(seed_figures(ns, 600)) end
      return h
    end
    -- fewer than 3 earlier runs: 10%
    assert.equal(0.10, results.noise(f, past(150, 150)))
    -- 3 alike: the floor
    assert.equal(0.02, results.noise(f, past(150, 150, 150)))
    -- the largest distance from their median: 165 / 150 - 1
    assert.near(0.10, results.noise(f, past(150, 165, 150, 140)), 1e-12)
    -- only the last 5 count
    assert.near(0.02, results.noise(f, past(150, 150, 150, 150, 150, 300)), 1e-12)
    -- this run's own spread, when larger
    f.spread = 0.3
    assert.equal(0.3, results.noise(f, past(150, 150, 150)))
    -- bytes: no floor, and any growth beyond what they have shown counts
    local bytes = { name = "mem.seed", kind = "nn", value = 464, unit = "bytes" }
    local h = { { ["mem.seed"] = { name = "mem.seed", value = 460, unit = "bytes" } } }
    h[2], h[3] = h[1], h[1]
    local j = results.judge(bytes, { ["mem.seed"] = bytes }, h[1], h)
    assert.equal(0, j.noise)
    assert.is_true(j.regression)
  end)

  it("turns the change round where more is better, and never flags a reference", function()
    local acc = { name = "train.nn.acc5", kind = "nn", value = 85, unit = "acc%" }
    local base = { ["train.nn.acc5"] = { name = "train.nn.acc5", value = 87.5, unit = "acc%" } }
    local j = results.judge(acc, { [acc.name] = acc }, base, {})
    assert.is_true(j.change > 0)
    assert.is_false(j.regression)           -- 2.9% worse, within 10% without history
    local ref = by_name(seed_figures(150, 900))["lua.seed.plain"]
    j = results.judge(ref, { [ref.name] = ref }, by_name(seed_figures(150, 600)), {})
    assert.near(0.5, j.change, 1e-12)
    assert.is_false(j.regression)
  end)

  it("compares a figure only with runs that read it against the same reference", function()
    local now = by_name(seed_figures(150, 600))
    local before = by_name(seed_figures(150, 600))
    before["lua.seed.forward"].ref = "fann.seed.single"
    before["fann.seed.single"] = { name = "fann.seed.single", kind = "ref", value = 50, unit = "ns" }
    local j = results.judge(now["lua.seed.forward"], now, before, { before, before, before })
    assert.is_nil(j.change)
    assert.is_nil(j.regression)
    assert.equal(results.UNKNOWN_NOISE, j.noise)
  end)

  it("has nothing to say without a baseline", function()
    local figs = by_name(seed_figures(150, 600))
    local j = results.judge(figs["lua.seed.forward"], figs, nil, {})
    assert.is_nil(j.change)
    assert.is_nil(j.regression)
    assert.equal(0.25, j.norm)
  end)
end)

describe("make bench's figures file", function()
  it("reads back what the parts wrote", function()
    local list = figures.parse("nn\tlua.seed.forward\t150.5\tns\tlua.seed.plain\t0.03\n"
      .. "ref\tlua.seed.plain\t600\tns\t-\t-\n")
    assert.same({ kind = "nn", name = "lua.seed.forward", value = 150.5, unit = "ns",
                  ref = "lua.seed.plain", spread = 0.03 }, list[1])
    assert.same({ kind = "ref", name = "lua.seed.plain", value = 600, unit = "ns" }, list[2])
  end)

  it("refuses a line that is not a figure", function()
    assert.has_error(function() figures.parse("nn lua.seed.forward fast\n") end,
      "not a figure: nn lua.seed.forward fast")
  end)
end)
