--- make bench: the frame time of a game's nn work, with and without another
-- process holding the store's write lock (issue 22).
--
-- 200 agents, each an 8-32-32-4 network's forward pass a frame from a Lua
-- table into a reused one, and a sample of their decisions logged (10 a
-- frame, 600 rows a second) to a WAL file with the default options; frames
-- paced at 60 Hz for 5 s, and only the nn part of each timed, on a wall
-- clock (build/bench/wall_clock.so).  Run twice: alone, then with the sqlite3
-- shell holding the write lock (BEGIN IMMEDIATE) for 3 s from the first
-- second on.  Median, p99 and max over the frames; every logged row is then
-- checked to be in the file once.  Figures, never assertions.
--
-- Run alone, from the top of the tree, after make and
-- make build/bench/wall_clock.so:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' \
--     lua5.4 -e 'require("spec.bench.frame")()'

local AGENTS, SIZES, LOGGED = 200, { 8, 32, 32, 4 }, 10
local HZ, SECONDS, LOCK_FROM, LOCK_FOR = 60, 5, 1, 3
local EVERY = math.floor(AGENTS / LOGGED)   -- agent a logs when a = frame, modulo this

--- One run: the frame times in seconds, sorted, and what the store said.
local function run(nn, clock, locked)
  local path = os.tmpname()
  local store = assert(nn.open(path))
  store:save("agent", require("spec.bench.nets").mlp(nn, SIZES, "Tanh"))
  local net = store:load("agent")
  local xs, out = {}, {}
  for a = 1, AGENTS do
    xs[a] = {}
    for i = 1, SIZES[1] do xs[a][i] = ((a * 7 + i * 3) % 23) / 23 end
  end
  local script = os.tmpname()
  if locked then
    local f = assert(io.open(script, "w"))
    f:write("BEGIN IMMEDIATE;\nINSERT INTO nn_model (name, created_at) VALUES ('other', 0);\n",
      ".shell sleep ", LOCK_FOR, "\nCOMMIT;\n.shell rm ", script, "\n")
    f:close()
  end
  local frames, times, logged = HZ * SECONDS, {}, 0
  local start = clock.now()
  for frame = 1, frames do
    if locked and frame == HZ * LOCK_FROM then
      os.execute(("sqlite3 %s < %s > /dev/null 2>&1 &"):format(path, script))
    end
    local t0 = clock.now()
    for a = 1, AGENTS do
      local x = xs[a]
      x[1] = (frame % 60) / 60
      net:forward(x, out)
      if a % EVERY == frame % EVERY then
        store:log(net, x, out)
        logged = logged + 1
      end
    end
    times[frame] = clock.now() - t0
    clock.sleep(start + frame / HZ - clock.now())
  end
  local stats = store:stats()
  while locked and os.rename(script, script) do clock.sleep(0.05) end   -- the lock let go
  store:close()
  local check = assert(nn.open(path, { readonly = true }))
  local rows
  for row in check:rows("SELECT count(DISTINCT prediction_id) AS n FROM nn_prediction") do
    rows = row.n
  end
  check:close()
  for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
  os.remove(script)
  table.sort(times)
  return times, stats, logged, rows
end

local function at(sorted, q)
  return sorted[math.max(1, math.ceil(q * #sorted))]
end

return function()
  local nn = require "nn"
  local figures = require "spec.bench.figures"
  local clock = assert(package.loadlib("build/bench/wall_clock.so", "luaopen_wall_clock"))()
  print(("\nframe time of the nn part: %d agents, %s net, forward each a frame, %d decisions"
    .. " logged a frame; %d Hz for %d s"):format(AGENTS, table.concat(SIZES, "-"), LOGGED,
    HZ, SECONDS))
  print(("%-36s %9s %9s %9s   %8s %6s %6s"):format("", "median", "p99", "max", "logged",
    "busy", "full"))
  for _, case in ipairs{ { "alone", false, "lua.frame" },
                         { ("another process locks %d s"):format(LOCK_FOR), true,
                           "lua.frame_locked" } } do
    local times, stats, logged, rows = run(nn, clock, case[2])
    assert(rows == logged, ("%d rows logged, %d in the file"):format(logged, rows))
    local median, p99, max = at(times, 0.5), at(times, 0.99), times[#times]
    figures.add(case[3] .. ".median", median * 1e9, "ns")
    figures.add(case[3] .. ".p99", p99 * 1e9, "ns")
    figures.add(case[3] .. ".max", max * 1e9, "ns")
    print(("%-36s %6.0f us %6.0f us %6.0f us   %8d %6d %6d"):format(case[1], median * 1e6,
      p99 * 1e6, max * 1e6, logged, stats.busy, stats.full))
  end
end
