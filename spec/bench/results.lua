--- make bench's memory: every run's figures in a results store, and the
-- rule that compares a run with the one before it.
--
-- The store is an nn SQLite file (build/bench/results.db, made by nn.open)
-- with two tables of its own beside nn's:
--   bench_run(run_id, commit_id, date, cpu, cores, kernel, lua, load)
--   bench_figure(run_id, name, kind, value, unit, ref, spread)
-- run_id is the run's start in Unix milliseconds: unique across clones and
-- in time order.  commit_id is git's 7-hex name, with "+" when the work
-- tree had changes (such a run is never a baseline: it cannot be checked
-- out again).  The machine is cpu (/proc/cpuinfo's model name), cores and
-- kernel (nn.kernel()); runs compare only when all three match.
--
-- What is kept in the repository is spec/bench/results.sql, the same rows
-- as INSERT statements, one a line, appended to by every make bench: text
-- that diffs and merges, from which the store is filled again whenever it
-- lacks a run (after make clean, or in another clone).
--
-- The rule (results.judge; the README states it): a figure's normalised
-- value is its value over its reference's from the same run (both as
-- times), or the value itself for one without a reference (bytes, an
-- accuracy).  The baseline is the latest run, on a comparable machine, of
-- the nearest earlier commit that has one (for a tree with changes: HEAD's
-- own).  change = now / baseline - 1 of the normalised values, turned
-- round for figures where more is better, so that above 0 is worse (none
-- when the two runs read the figure against different references).  The
-- figure's noise is the largest of: 2% for a time (0 for bytes and
-- accuracies); this run's spread; and the largest relative distance from
-- their median of the normalised values of the last 5 comparable runs
-- before this one, or 10% while there are fewer than 3 of those.  A
-- change above the noise is a regression.

local results = {}

results.HISTORY, results.MIN_HISTORY = 5, 3
results.FLOOR, results.UNKNOWN_NOISE = 0.02, 0.10

results.SCHEMA = {
  [[CREATE TABLE IF NOT EXISTS bench_run (
      run_id INTEGER PRIMARY KEY, commit_id TEXT NOT NULL, date TEXT NOT NULL,
      cpu TEXT NOT NULL, cores INTEGER NOT NULL, kernel TEXT NOT NULL,
      lua TEXT NOT NULL, load REAL) STRICT]],
  [[CREATE TABLE IF NOT EXISTS bench_figure (
      run_id INTEGER NOT NULL REFERENCES bench_run (run_id),
      name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('nn', 'ref')),
      value REAL NOT NULL, unit TEXT NOT NULL, ref TEXT, spread REAL,
      PRIMARY KEY (run_id, name)) STRICT]],
}

local RUN_COLUMNS = { "run_id", "commit_id", "date", "cpu", "cores", "kernel", "lua", "load" }
local FIGURE_COLUMNS = { "name", "kind", "value", "unit", "ref", "spread" }

-- Nanoseconds in one of each time unit; a rate is turned into a time per row.
local NS = { ns = 1, us = 1e3, ms = 1e6, s = 1e9 }
-- Units where more is better; in every other one less is.
local MORE_IS_BETTER = { ["acc%"] = true, ["rows/s"] = true }

local function exec(store, sql, ...)
  for _ in store:rows(sql, ...) do end
end

--- Opens (or makes) the store at path; raises when nn.open fails.
function results.open(nn, path)
  local store = assert(nn.open(path))
  for _, sql in ipairs(results.SCHEMA) do exec(store, sql) end
  return store
end

local function literal(v)
  if v == nil then return "NULL" end
  if type(v) == "number" then
    -- whole numbers (a run's id: Unix milliseconds) exactly, others to 9 digits
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%.0f"):format(v) end
    return ("%.9g"):format(v)
  end
  return "'" .. tostring(v):gsub("'", "''") .. "'"
end

--- The INSERT statements of a run and its figures, one string each: the
-- lines of results.sql, and what results.record executes.
function results.statements(run, figs)
  local values, list = {}, {}
  for i, c in ipairs(RUN_COLUMNS) do values[i] = literal(run[c]) end
  list[1] = ("INSERT INTO bench_run VALUES(%s);"):format(table.concat(values, ","))
  for _, f in ipairs(figs) do
    values = { literal(run.run_id) }
    for i, c in ipairs(FIGURE_COLUMNS) do values[i + 1] = literal(f[c]) end
    list[#list + 1] = ("INSERT INTO bench_figure VALUES(%s);"):format(table.concat(values, ","))
  end
  return list
end

--- Executes statements (INSERTs of results.statements) in one transaction;
-- one already in the store is left as it is.
local function apply(store, list)
  exec(store, "BEGIN")
  for _, sql in ipairs(list) do
    exec(store, (sql:gsub("^INSERT INTO", "INSERT OR IGNORE INTO"):gsub(";%s*$", "")))
  end
  exec(store, "COMMIT")
end

function results.record(store, run, figs) apply(store, results.statements(run, figs)) end

--- Fills the store from the text of results.sql: every line that is an
-- INSERT into one of the two tables.
function results.load_text(store, text)
  local list = {}
  for line in text:gmatch("[^\n]+") do
    if line:match("^INSERT INTO bench_") then list[#list + 1] = line end
  end
  apply(store, list)
  return #list
end

--- Every run on the machine of run (same cpu, cores and kernel set), latest
-- first, but run itself.
function results.comparable_runs(store, run)
  local list = {}
  for r in store:rows([[SELECT * FROM bench_run WHERE cpu = ? AND cores = ? AND kernel = ?
                         AND run_id <> ? ORDER BY run_id DESC]],
                      run.cpu, run.cores, run.kernel, run.run_id) do
    list[#list + 1] = r
  end
  return list
end

--- The figures of a run: { [name] = figure }.
function results.figures_of(store, run_id)
  local t = {}
  for f in store:rows("SELECT * FROM bench_figure WHERE run_id = ?", run_id) do t[f.name] = f end
  return t
end

--- The baseline among runs (latest first): the latest run of the nearest
-- commit of ancestors (git rev-list HEAD: HEAD first) that has one, HEAD
-- itself included only when this run's tree had changes.  nil when none.
function results.baseline(runs, ancestors, commit_id)
  local first = commit_id:sub(-1) == "+" and 1 or 2
  for i = first, #ancestors do
    for _, r in ipairs(runs) do
      if r.commit_id == ancestors[i] then return r end
    end
  end
  return nil
end

--- A figure's value as nanoseconds, when its unit is a time or a rate.
function results.ns(value, unit)
  if NS[unit] then return value * NS[unit] end
  if unit == "rows/s" then return 1e9 / value end
  return nil
end

--- The normalised value of figure f of a run whose figures are figs: f over
-- its reference as times, or f itself; nil when its reference is missing.
function results.normalised(f, figs)
  if not f.ref then return f.value end
  local r = figs[f.ref]
  local a, b = results.ns(f.value, f.unit), r and results.ns(r.value, r.unit)
  if not (a and b) or b == 0 then return nil end
  return a / b
end

local function median(t)
  local s = {}
  for i = 1, #t do s[i] = t[i] end
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

--- The noise of figure f (see the rule above): history is the list of the
-- figure sets of the comparable runs before this one, latest first.
function results.noise(f, history)
  local noise = results.ns(1, f.unit) and results.FLOOR or 0
  if f.spread and f.spread > noise then noise = f.spread end
  local past = {}
  for _, figs in ipairs(history) do
    local g = figs[f.name]
    local v = g and g.ref == f.ref and results.normalised(g, figs)
    if v then past[#past + 1] = v end
    if #past == results.HISTORY then break end
  end
  if #past < results.MIN_HISTORY then return math.max(noise, results.UNKNOWN_NOISE) end
  local m = median(past)
  for _, v in ipairs(past) do
    if m ~= 0 and math.abs(v / m - 1) > noise then noise = math.abs(v / m - 1) end
  end
  return noise
end

--- Figure f of this run (figs) against the baseline's figures (base, or
-- nil) and the history: { norm, base_norm, change, noise, regression }.
-- change is nil without a baseline value, or when the baseline read the
-- figure against another reference (the two normalised values are not the
-- same quantity); above 0 is worse.
function results.judge(f, figs, base, history)
  local j = { norm = results.normalised(f, figs), noise = results.noise(f, history) }
  local g = base and base[f.name]
  if g and g.ref ~= f.ref then g = nil end
  j.base_norm = g and results.normalised(g, base)
  if j.norm and j.base_norm and j.norm > 0 and j.base_norm > 0 then
    j.change = MORE_IS_BETTER[f.unit] and j.base_norm / j.norm - 1 or j.norm / j.base_norm - 1
    j.regression = f.kind == "nn" and j.change > j.noise
  end
  return j
end

return results
