--- make bench, prediction inside SQL: scoring a 200,000-row table with the
-- seed's network against a plain arithmetic expression over the same four
-- columns, through a store's connection.  The medians of 7 runs of each,
-- and their ratio (the target: at most 3x), also handed to make bench's
-- memory (spec/bench/figures.lua).  Figures, never assertions.

local nn = require "nn"
local seed_net = require "examples.seed_net"
local figures = require "spec.bench.figures"

local ROWS, RUNS = 200000, 7

--- Median seconds of one run of the query sql, which returns one row.
local function median_s(store, sql)
  local t = {}
  for r = 1, RUNS do
    local t0 = os.clock()
    for _ in store:rows(sql) do end
    t[r] = os.clock() - t0
  end
  table.sort(t)
  return t[(RUNS + 1) // 2]
end

return function()
  local path = os.tmpname()
  local store = assert(nn.open(path))
  store:save("leaf_flower", seed_net.build(nn), { labels = { "leaf", "flower" } })
  for _ in store:rows("CREATE TABLE objects (a REAL, b REAL, c REAL, d REAL)") do end
  -- colours 0..255 and volumes 0.5..49.5, varied row by row
  for _ in store:rows(([[
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
      INSERT INTO objects SELECT i * 37 %% 256, i * 91 %% 256, i * 13 %% 256, i %% 50 + 0.5
        FROM n]]):format(ROWS)) do end
  local plain = median_s(store,
    "SELECT sum(a * 0.1 - b * 0.29 - c * 0.07 + d * 0.46 + 0.25) FROM objects")
  local score = median_s(store, "SELECT sum(nn_score('leaf_flower', a, b, c, d)) FROM objects")
  local classify = median_s(store,
    "SELECT count(*) FROM objects WHERE nn_classify('leaf_flower', a, b, c, d) = 'leaf'")
  store:close()
  for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
  print(("\nSQL over %d rows of 4 REAL columns, medians of %d runs (target: nn / plain <= 3x)")
    :format(ROWS, RUNS))
  local function row(what, s)
    print(("%-44s %8.1f ms %7.0f ns/row   %5.2fx plain"):format(what, s * 1e3, s / ROWS * 1e9,
      s / plain))
  end
  row("sum(a*0.1 - b*0.29 - c*0.07 + d*0.46 + 0.25)", plain)
  row("sum(nn_score('leaf_flower', a, b, c, d))", score)
  row("count(*) WHERE nn_classify(...) = 'leaf'", classify)
  figures.reference("sql.plain", plain / ROWS * 1e9, "ns")
  figures.add("sql.score", score / ROWS * 1e9, "ns", "sql.plain")
  figures.add("sql.classify", classify / ROWS * 1e9, "ns", "sql.plain")
end
