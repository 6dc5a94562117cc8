--- nn in LÖVE 11.4: 200 agents steered by one network, every frame.
--
-- Each agent looks for its food and away from the predator (brain.lua says
-- what it sees); an 8-32-32-4 network chooses its thrust, 200 forward
-- passes a frame into one reused table, no garbage.  The network is the
-- model "steer" of brain.db when the game ships one (read with
-- love.filesystem.read, so from inside a .love archive too, and opened
-- with nn.open_bytes), else it is trained at load (a tenth of a second).
-- One decision a frame is logged to logs/agents.db in the save directory, for
-- SQL afterwards.  The game folder holds this file, conf.lua, brain.lua,
-- and nn (nn/init.lua, nn/ffi.lua, nn/svg.lua, nn/core.so built with make LUA=luajit).
--
-- For measuring (spec/love_spec.lua runs it so), from the environment:
--   NN_LOVE_SECONDS=n         quit after n seconds
--   NN_LOVE_TIMINGS=file      write each frame's nn time there, a line a frame:
--                             microseconds of the clock, and of the main
--                             thread's CPU time (Linux; "-" elsewhere), which
--                             leaves out the time the system gave to others
--   NN_LOVE_SCREENSHOT=name   save the last frame as name (a PNG) in the save
--                             directory

local fs = love.filesystem

-- A C module loads from a real folder only.  In a game folder nn/core.so is
-- one; inside a .love archive or a fused game it is not, so it is copied to
-- the save directory, where LÖVE's require looks for C modules too.
local function find_core()
  local real = fs.getRealDirectory("nn/core.so")
  if not real or real == fs.getSaveDirectory() then return end
  local f = io.open(real .. "/nn/core.so", "rb")
  if f then f:close() return end
  fs.createDirectory("nn")
  assert(fs.write("nn/core.so", assert(fs.read("nn/core.so"))))
end
find_core()

local nn = require "nn"
local brain = require "brain"

local W, H = 800, 600
local N_AGENTS, N_FOODS = 200, 5
local ACCEL, CATCH, EAT = 420, 14, 10
local COLORS = { { 0.35, 0.7, 1 }, { 1, 0.8, 0.3 }, { 0.6, 1, 0.5 }, { 1, 0.45, 0.8 } }

local settings = {
  seconds = tonumber(os.getenv("NN_LOVE_SECONDS") or ""),
  timings = os.getenv("NN_LOVE_TIMINGS"),
  screenshot = os.getenv("NN_LOVE_SCREENSHOT"),
}

local rng = love.math.newRandomGenerator(7)
local agents, foods, predator = {}, {}, nil
local net, brain_from, store, store_path
local x, out = {}, {}           -- reused by every forward pass
local log_options = { tags = { agent = 0 } }
local frame, elapsed, logged, eaten, caught = 0, 0, 0, 0, 0
local think                     -- the nn part of a frame (below)
local frame_us = {}             -- each frame's nn time, microseconds
local frame_cpu_us = {}         -- ... of the main thread's CPU time
local recent, quit_at = "", nil

-- The main thread's CPU time in seconds (Linux, through LuaJIT's FFI), or
-- nil: on a busy machine the clock also counts what other processes ran.
local thread_clock = (function()
  local ok, ffi = pcall(require, "ffi")
  if not ok or ffi.os ~= "Linux" then return nil end
  ffi.cdef [[
    struct nn_agents_timespec { long tv_sec; long tv_nsec; };
    int clock_gettime(int clock, struct nn_agents_timespec *ts);
  ]]
  local ts = ffi.new("struct nn_agents_timespec")
  return function()
    ffi.C.clock_gettime(3, ts)   -- CLOCK_THREAD_CPUTIME_ID
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
end)()

local function place(thing)
  thing.x, thing.y = rng:random(20, W - 20), rng:random(20, H - 20)
  return thing
end

--- The network: brain.db's model "steer" when the game ships one, else
-- one trained now.
local function load_brain()
  if fs.getInfo("brain.db") then
    local shipped = assert(nn.open_bytes(assert(fs.read("brain.db")), { name = "brain.db" }))
    local steer = shipped:load("steer")
    shipped:close()
    return steer, "brain.db, read from the game's files"
  end
  local started = love.timer.getTime()
  local trained, accuracy = brain.train(nn)
  return trained, ("trained at load in %.0f ms, as its teacher %.1f%% of the time")
    :format((love.timer.getTime() - started) * 1000, accuracy * 100)
end

function love.load()
  net, brain_from = load_brain()
  -- in the save directory, which exists once something is made in it
  fs.createDirectory("logs")
  store_path = fs.getSaveDirectory() .. "/logs/agents.db"
  -- a frame that logs may write the buffered rows (every flush_rows rows,
  -- or flush_ms after the oldest): fewer rows a write, a cheaper frame
  store = assert(nn.open(store_path, { flush_rows = 64 }))
  store:save("steer", net, { note = brain_from })
  for i = 1, N_FOODS do foods[i] = place{} end
  for i = 1, N_AGENTS do
    agents[i] = place{ vx = 0, vy = 0, food = (i - 1) % N_FOODS + 1, action = 1 }
  end
  predator = place{ vx = 90, vy = 70 }
  -- one pass before the first frame, not timed and logging nothing: LuaJIT
  -- compiles its loop there, so that the first frame costs what any other does
  think(true)
end

--- The nn part of a frame: every agent's features, forward pass and
-- choice, and one decision logged.  Returns its time in seconds, of the
-- clock and of the thread's CPU (or nil).
function think(rehearsal)
  local cpu = thread_clock and thread_clock()
  local started = love.timer.getTime()
  local p, sampled = predator, frame % N_AGENTS + 1
  for i = 1, N_AGENTS do
    local a = agents[i]
    local f = foods[a.food]
    brain.features(x, a.x, a.y, a.vx, a.vy, f.x, f.y, p.x, p.y)
    net:forward(x, out)
    local best = 1
    for k = 2, 4 do if out[k] > out[best] then best = k end end
    a.action = best
    if i == sampled and not rehearsal then
      log_options.tags.agent = i
      store:log(net, x, out, log_options)
      logged = logged + 1
    end
  end
  local wall = love.timer.getTime() - started
  return wall, cpu and thread_clock() - cpu
end

local function move(a, dt)
  local t = brain.THRUST[a.action]
  a.vx, a.vy = a.vx + t[1] * ACCEL * dt, a.vy + t[2] * ACCEL * dt
  local speed = math.sqrt(a.vx * a.vx + a.vy * a.vy)
  if speed > brain.MAX_SPEED then
    a.vx, a.vy = a.vx * brain.MAX_SPEED / speed, a.vy * brain.MAX_SPEED / speed
  end
  a.x = math.min(W, math.max(0, a.x + a.vx * dt))
  a.y = math.min(H, math.max(0, a.y + a.vy * dt))
end

local function near(a, b, d)
  local dx, dy = a.x - b.x, a.y - b.y
  return dx * dx + dy * dy < d * d
end

local function move_predator(dt)
  local p = predator
  p.x, p.y = p.x + p.vx * dt, p.y + p.vy * dt
  if p.x < 0 or p.x > W then p.vx = -p.vx end
  if p.y < 0 or p.y > H then p.vy = -p.vy end
end

function love.update(dt)
  dt = math.min(dt, 1 / 30)
  frame, elapsed = frame + 1, elapsed + dt
  move_predator(dt)
  local wall, cpu = think()
  frame_us[#frame_us + 1] = wall * 1e6
  frame_cpu_us[#frame_cpu_us + 1] = cpu and cpu * 1e6 or false
  for i = 1, N_AGENTS do
    local a = agents[i]
    move(a, dt)
    if near(a, foods[a.food], EAT) then
      eaten = eaten + 1
      place(foods[a.food])
    elseif near(a, predator, CATCH) then
      caught = caught + 1
      place(a)
    end
  end
  if frame % 30 == 0 then
    local last = {}
    for i = math.max(1, #frame_us - 119), #frame_us do last[#last + 1] = frame_us[i] end
    table.sort(last)
    recent = ("nn: %.2f ms median, %.2f ms max a frame (last %d frames)")
      :format(last[math.ceil(#last / 2)] / 1000, last[#last] / 1000, #last)
  end
  if settings.seconds and elapsed >= settings.seconds and not quit_at then
    if settings.screenshot then love.graphics.captureScreenshot(settings.screenshot) end
    quit_at = frame + 2   -- the screenshot is taken at the end of this frame
  end
  if quit_at and frame >= quit_at then love.event.quit() end
end

function love.draw()
  love.graphics.clear(0.08, 0.09, 0.12)
  love.graphics.setColor(1, 0.3, 0.25, 0.25)
  love.graphics.circle("line", predator.x, predator.y, brain.SIGHT)
  love.graphics.setColor(1, 0.3, 0.25)
  love.graphics.circle("fill", predator.x, predator.y, 12)
  love.graphics.setColor(0.4, 1, 0.4)
  for _, f in ipairs(foods) do love.graphics.circle("fill", f.x, f.y, 7) end
  for _, a in ipairs(agents) do
    love.graphics.setColor(COLORS[a.action])
    love.graphics.circle("fill", a.x, a.y, 3)
    love.graphics.line(a.x, a.y, a.x - a.vx * 0.06, a.y - a.vy * 0.06)
  end
  love.graphics.setColor(1, 1, 1)
  love.graphics.print(("brain: %s\n%s\neaten %d, caught %d; %d decisions logged to %s")
    :format(brain_from, recent, eaten, caught, logged, store_path), 10, 10)
  for i, name in ipairs(brain.ACTIONS) do
    love.graphics.setColor(COLORS[i])
    love.graphics.print(name, 10 + (i - 1) * 60, H - 24)
  end
end

function love.quit()
  store:close()   -- writes the decisions still buffered
  if settings.timings then
    local f = assert(io.open(settings.timings, "w"))
    for i, us in ipairs(frame_us) do
      local cpu = frame_cpu_us[i]
      f:write(("%.1f %s\n"):format(us, cpu and ("%.1f"):format(cpu) or "-"))
    end
    f:close()
  end
  return false
end
