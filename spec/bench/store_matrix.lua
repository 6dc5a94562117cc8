--- store:matrix on an SQLite file: 100,000 rows of four number columns and
-- a JSON array of eight, read into one nn.Matrix (100,000 x 12); the
-- median of 5 runs.  A figure to compare between two builds, never an
-- assertion; not part of make bench.
--
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' \
--     lua5.4 spec/bench/store_matrix.lua

local nn = require "nn"

local ROWS, RUNS = 100000, 5

local path = os.tmpname()
local store = assert(nn.open(path))
local function exec(sql) for _ in store:rows(sql) do end end
exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a REAL, b REAL, c INTEGER, d REAL, v TEXT)")
exec("BEGIN")
exec(([[WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
  INSERT INTO t SELECT i, i * 0.5, -i / 3.0, i %% 7, 1.25,
    '[' || (i %% 11) || ',0.5,-2.25,' || i || ',1e-3,7,8,9]' FROM n]]):format(ROWS))
exec("COMMIT")
local times = {}
for k = 1, RUNS do
  local t0 = os.clock()
  local X = store:matrix("SELECT a, b, c, d, v FROM t ORDER BY id")
  times[k] = os.clock() - t0
  assert(X:rows() == ROWS and X:cols() == 12)
end
table.sort(times)
print(("store:matrix %d x 12: median of %d %.1f ms"):format(ROWS, RUNS,
  times[(RUNS + 1) // 2] * 1000))
store:close()
os.remove(path)
