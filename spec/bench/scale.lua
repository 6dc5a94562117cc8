--- make bench, scale: the log past one process and past one file.
--
-- 1. Rows logged per second by 1, 4 and 16 writer processes at once into one
--    PostgreSQL schema (the server spec/support/pg.lua starts: initdb in a
--    mktemp folder, a Unix socket, fsync off) against the same into one
--    SQLite file (WAL, the default synchronous).  Each writer opens the
--    store, logs its share of ROWS rows with store:log (the 4-3-2 seed net's
--    input and output), and closes it, which writes what is left; the rate
--    is ROWS over the wall time from the first writer's first row to the
--    last writer's close.  The median of REPS runs.
-- 2. A push of PUSH_ROWS logged rows from an SQLite file into PostgreSQL
--    (store:push, chunks of 1000), rows a second, beside one writer's log
--    into PostgreSQL (COPY) of the same run.
--
-- Figures, never assertions: the machine is shared; the load average is
-- printed with them.
--
--   make build/bench/wall_clock.so
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 spec/bench/scale.lua
--   (NN_SCALE_ROWS=96000 rows a run, NN_SCALE_REPS=3, NN_SCALE_PUSH=1000000)

local nn = require "nn"
local pg = require "spec.support.pg"
local compat = require "spec.support.compat"
local figures = require "spec.bench.figures"

local LUA = os.getenv("LUA") or "lua5.4"
local BUILD = os.getenv("NN_BUILD") or "build"
local ROWS = tonumber(os.getenv("NN_SCALE_ROWS")) or 96000
local REPS = tonumber(os.getenv("NN_SCALE_REPS")) or 3
local PUSH_ROWS = tonumber(os.getenv("NN_SCALE_PUSH")) or 1000000
local WRITERS = { 1, 4, 16 }

local clock = assert(package.loadlib(BUILD .. "/bench/wall_clock.so", "luaopen_wall_clock"))()

local function median(list)
  local t = {}
  for i, v in ipairs(list) do t[i] = v end
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

-- One writer, as a child process: opens the store (where, and its schema
-- when it is PostgreSQL's), logs n rows, closes it; prints the wall clock
-- at its first row and after its close.
local WRITER = [[
package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path
package.cpath = '%s/?.so;' .. package.cpath
local nn = require 'nn'
local clock = package.loadlib('%s/bench/wall_clock.so', 'luaopen_wall_clock')()
local store = assert(nn.open('%s', { %s flush_rows = 1024, max_pending = 100000,
  on_full = 'block', busy_timeout = 60000 }))
local net = store:load('seed')
local x = { 32, 107, 56, 11.2 }
local y = net:forward(x)
local t0 = clock.now()
for i = 1, %d do store:log(net, x, y) end
store:close()
print(('%%.6f %%.6f'):format(t0, clock.now()))
]]

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function seed_net()
  return nn.Sequential({ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() })
end

-- A new store at where (schema: PostgreSQL's) holding the model 'seed'.
local function new_store(where, schema)
  local store = assert(nn.open(where, schema and { schema = schema } or nil))
  store:save("seed", seed_net(), { labels = { "leaf", "flower" } })
  return store
end

-- Rows a second of w writers at once into where.
local function writers(where, schema, w)
  new_store(where, schema):close()
  local per = math.floor(ROWS / w)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(WRITER:format(BUILD, BUILD, where,
    schema and ("schema = '%s',"):format(schema) or "", per))
  f:close()
  local cmd = {}
  for i = 1, w do cmd[i] = ("%s %s &"):format(LUA, quote(script)) end
  local out = compat.sh("( " .. table.concat(cmd, " ") .. " wait ) 2>&1")
  os.remove(script)
  local first, last, n = math.huge, -math.huge, 0
  for a, b in out:gmatch("(%d+%.%d+) (%d+%.%d+)") do
    first, last, n = math.min(first, tonumber(a)), math.max(last, tonumber(b)), n + 1
  end
  assert(n == w, "a writer failed: " .. out)
  local check = assert(nn.open(where, schema and { schema = schema } or nil))
  for row in check:rows("SELECT count(*) AS n FROM nn_prediction") do
    assert(row.n == per * w, ("%d rows logged, %d written"):format(per * w, row.n))
  end
  check:close()
  return per * w / (last - first)
end

local function load_average()
  local f = io.open("/proc/loadavg")
  local s = f and f:read("*l") or "?"
  if f then f:close() end
  return s:match("^(%S+ %S+ %S+)") or s
end

local function part_writers(server, dir)
  print(("scale: rows logged a second, %d rows a run, the median of %d runs;"
    .. " load average %s"):format(ROWS, REPS, load_average()))
  print(("%-8s %14s %14s %16s"):format("writers", "PostgreSQL", "SQLite file",
    "PostgreSQL/SQLite"))
  local pg1
  for _, w in ipairs(WRITERS) do
    local pgr, sqr = {}, {}
    for rep = 1, REPS do
      pgr[rep] = writers(server:url(), ("w%d_%d"):format(w, rep), w)
      sqr[rep] = writers(("%s/w%d_%d.db"):format(dir, w, rep), nil, w)
    end
    local p, q = median(pgr), median(sqr)
    pg1 = pg1 or p
    print(("%-8d %14.0f %14.0f %16.2f"):format(w, p, q, p / q))
    figures.reference(("scale.log.sqlite.w%d"):format(w), q, "rows/s")
    figures.add(("scale.log.pg.w%d"):format(w), p, "rows/s", ("scale.log.sqlite.w%d"):format(w))
  end
  return pg1
end

local function part_push(server, dir, pg1)
  local path = dir .. "/push.db"
  local store = new_store(path)
  local net = store:load("seed")
  local x = { 32, 107, 56, 11.2 }
  local y = net:forward(x)
  for _ = 1, PUSH_ROWS do store:log(net, x, y) end
  store:flush()
  local dst = assert(nn.open(server:url(), { schema = "push" }))
  local t0 = clock.now()
  local n = store:push(dst)
  local t = clock.now() - t0
  assert(n.predictions == PUSH_ROWS, n.predictions .. " rows pushed")
  local t1 = clock.now()
  local again = store:push(dst)
  local t2 = clock.now() - t1
  assert(again.predictions == 0)
  print(("push: %d logged rows, SQLite file -> PostgreSQL: %.1f s, %.0f rows/s (one writer's"
    .. " log into PostgreSQL: %.0f rows/s, ratio %.2f); a second push: %.2f s;"
    .. " load average %s"):format(PUSH_ROWS, t, PUSH_ROWS / t, pg1, PUSH_ROWS / t / pg1, t2,
    load_average()))
  figures.add("scale.push", PUSH_ROWS / t, "rows/s", "scale.log.pg.w1")
  dst:close()
  store:close()
end

local server = pg.start()
local dir = compat.sh("mktemp -d"):gsub("\n$", "")
local ok, err = pcall(function()
  local pg1 = part_writers(server, dir)
  if PUSH_ROWS > 0 then part_push(server, dir, pg1) end
end)
server:stop()
compat.run("rm -rf " .. quote(dir))
if not ok then error(err, 0) end
