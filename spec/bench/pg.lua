--- make bench-pg (and make bench): nn_score over a 1,000,000-row table
-- inside PostgreSQL (CREATE EXTENSION nn) on 0, 1 and 2 parallel workers,
-- beside the same query in SQLite through build/nn0.so in the sqlite3
-- shell, and beside a plain arithmetic expression over the same four
-- columns in each.  A private PostgreSQL 15 server (spec/support/pg.lua)
-- holds the store; the extension must be installed (make install-pgext).
-- Wall-clock medians of RUNS runs of each query, printed side by side with
-- their ratios, and handed to make bench's memory (spec/bench/figures.lua).
-- Figures, never assertions.
--
--   lua5.4 spec/bench/pg.lua [build]        (build: where nn0.so and
--                                             bench/wall_clock.so are)

local nn = require "nn"
local pg = require "spec.support.pg"
local compat = require "spec.support.compat"
local seed_net = require "examples.seed_net"
local figures = require "spec.bench.figures"

local ROWS = tonumber(os.getenv("NN_BENCH_PG_ROWS")) or 1000000
local RUNS = tonumber(os.getenv("NN_BENCH_PG_RUNS")) or 5
local BUILD = arg and arg[1] or "build"

-- the table of spec/bench/sql.lua: colours 0..255, volumes 0.5..49.5
local FILL = "SELECT i * 37 %% 256, i * 91 %% 256, i * 13 %% 256, i %% 50 + 0.5"
local PLAIN = "SELECT sum(a * 0.1 - b * 0.29 - c * 0.07 + d * 0.46 + 0.25) FROM objects"
local SCORE = "SELECT sum(nn_score('leaf_flower', a, b, c, d)) FROM objects"

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local function load_average()
  local f = io.open("/proc/loadavg")
  local s = f and f:read("*l") or "?"
  if f then f:close() end
  return s:match("^(%S+ %S+ %S+)") or s
end

--- Median wall-clock seconds of sql on the PostgreSQL store's connection,
-- after settings (SET ...), and the workers the last run launched.
local function pg_median(store, clock, settings, sql)
  for _, set in ipairs(settings) do for _ in store:rows(set) do end end
  local t = {}
  for r = 1, RUNS do
    local t0 = clock.now()
    for _ in store:rows(sql) do end
    t[r] = clock.now() - t0
  end
  local launched = 0
  for row in store:rows("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " .. sql) do
    local plan = row["QUERY PLAN"] or ""
    launched = tonumber(plan:match("Workers Launched: (%d+)")) or launched
  end
  return median(t), launched
end

--- Median wall-clock seconds of sql in the sqlite3 shell with nn0.so, from
-- its own timer (".timer on": "Run Time: real ...").
local function sqlite_median(path, sql)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(".load " .. BUILD .. "/nn0\n.timer on\n")
  for _ = 1, RUNS do f:write(sql, ";\n") end
  f:close()
  local ok, out = compat.run(("%s %s < %s"):format(os.getenv("SQLITE3") or "sqlite3", path,
    script))
  os.remove(script)
  local t = {}
  for real in out:gmatch("Run Time: real (%S+)") do t[#t + 1] = tonumber(real) end
  assert(ok and #t == RUNS, "the sqlite3 shell gave no timings:\n" .. out)
  return median(t)
end

local function sqlite_table(path)
  local store = assert(nn.open(path))
  store:save("leaf_flower", seed_net.build(nn), { labels = { "leaf", "flower" } })
  for _ in store:rows("CREATE TABLE objects (a REAL, b REAL, c REAL, d REAL)") do end
  for _ in store:rows(([[WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
      WHERE i < %d) INSERT INTO objects ]] .. FILL .. " FROM n"):format(ROWS)) do end
  store:close()
end

local function pg_table(store)
  store:save("leaf_flower", seed_net.build(nn), { labels = { "leaf", "flower" } })
  for _ in store:rows("CREATE EXTENSION nn") do end
  for _ in store:rows(("CREATE TABLE objects AS SELECT (i * 37 %% 256)::real AS a," ..
      " (i * 91 %% 256)::real AS b, (i * 13 %% 256)::real AS c, (i %% 50 + 0.5)::real AS d" ..
      " FROM generate_series(1, %d) AS i"):format(ROWS)) do end
  for _ in store:rows("ANALYZE objects") do end
end

local function report(sqlite_plain, sqlite_score, pg_plain, pg_scores)
  print(("\nnn_score over %d rows of 4 real columns, wall-clock medians of %d runs;"
    .. " load average %s"):format(ROWS, RUNS, load_average()))
  local function row(what, s, note)
    print(("%-46s %8.1f ms %7.0f ns/row %6.2fx SQLite%s"):format(what, s * 1e3,
      s / ROWS * 1e9, s / sqlite_score, note or ""))
  end
  row("SQLite, nn0.so: sum(nn_score(...))", sqlite_score)
  row("SQLite: plain arithmetic", sqlite_plain)
  for _, p in ipairs(pg_scores) do
    row(("PostgreSQL, %d workers asked: sum(nn_score(...))"):format(p.workers), p.s,
      ("  (%d launched, %.2fx on 0)"):format(p.launched, p.s / pg_scores[1].s))
  end
  row("PostgreSQL, 0 workers: plain arithmetic", pg_plain)
  figures.reference("pg.sqlite.score", sqlite_score / ROWS * 1e9, "ns")
  for _, p in ipairs(pg_scores) do
    figures.add(("pg.score.workers%d"):format(p.workers), p.s / ROWS * 1e9, "ns",
      "pg.sqlite.score")
  end
end

local function run(server, clock)
  local path = os.tmpname()
  sqlite_table(path)
  local sqlite_score = sqlite_median(path, SCORE)
  local sqlite_plain = sqlite_median(path, PLAIN)
  for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
  local store = assert(nn.open(server:url()))
  pg_table(store)
  local force = { "SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0",
                  "SET min_parallel_table_scan_size = 0" }
  local pg_scores = {}
  for _, workers in ipairs{ 0, 1, 2 } do
    local settings = { ("SET max_parallel_workers_per_gather = %d"):format(workers) }
    for _, s in ipairs(force) do settings[#settings + 1] = s end
    local s, launched = pg_median(store, clock, settings, SCORE)
    pg_scores[#pg_scores + 1] = { workers = workers, s = s, launched = launched }
  end
  local pg_plain = pg_median(store, clock, { "SET max_parallel_workers_per_gather = 0" }, PLAIN)
  store:close()
  report(sqlite_plain, sqlite_score, pg_plain, pg_scores)
end

local clock = assert(package.loadlib(BUILD .. "/bench/wall_clock.so", "luaopen_wall_clock"))()
local server = pg.start()
local ok, err = pcall(run, server, clock)
server:stop()
assert(ok, err)
