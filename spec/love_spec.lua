-- nn in LÖVE (issue 22): examples/love/ runs in Debian's love 11.4 (LuaJIT)
-- under xvfb-run for a few seconds, as a game folder (its network trained
-- at load) and as a .love archive shipping brain.db (read with
-- love.filesystem.read and opened with nn.open_bytes, nn/core.so copied to
-- the save directory to load).  Then the decisions it logged to the save
-- directory are read back in SQL and checked against a double-precision
-- forward pass of the logged network, and every frame's nn work (timed by
-- the example) is checked against the 2 ms a frame the issue allows: the
-- main thread's CPU time, for on this 2-core machine the clock also counts
-- the milliseconds the system gives other processes (a suite running
-- beside it: 4.7 ms on the clock for 0.14 ms of CPU, seen), in the first
-- of up to three runs whose every frame is within it (run_within_budget).
-- The game runs in a child process, which valgrind does not trace.

local nn = require "nn"
local compat = require "spec.support.compat"
local db = require "spec.support.db"
local reference = require "spec.support.reference"

local sh = compat.sh

-- the issue's budget for a frame's nn work: 200 agents, one logged decision
local FRAME_BUDGET_US = 2000
-- float32 forward pass against double precision, outputs in [0, 1]
local TOL_FORWARD = 1e-5
local ACTIONS = { "left", "right", "up", "down" }
local SECONDS = 3
local TOP = compat.sh("pwd"):gsub("\n$", "")

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

--- The game folder (make love-example, which builds nn for LuaJIT) in dir.
local function game_folder(dir)
  local game = dir .. "/nn_agents"
  sh(("env -u MAKEFLAGS -u MAKELEVEL make -s love-example LOVE_GAME=%s >/dev/null"):format(quote(game)))
  return game
end

--- Run love on game (a folder or a .love) headless for SECONDS, its save
-- directory under dir/share.  Returns the save directory and the frames'
-- nn times in microseconds: { clock, cpu } each.
local function run_love(dir, game)
  local timings = dir .. "/timings.txt"
  local cmd = ("cd %s && HOME=%s XDG_DATA_HOME=%s/share NN_LOVE_SECONDS=%d NN_LOVE_TIMINGS=%s"
    .. " NN_LOVE_SCREENSHOT=last.png timeout 120 xvfb-run -a -s '-screen 0 800x600x24'"
    .. " love %s 2>&1"):format(quote(dir), quote(dir), quote(dir), SECONDS, quote(timings),
      quote(game))
  local ok, out = compat.run(cmd)
  assert(ok, out)
  local us = {}
  for line in read_file(timings):gmatch("[^\n]+") do
    local clock, cpu = line:match("^(%S+) (%S+)$")
    us[#us + 1] = { tonumber(clock), tonumber(cpu) }
  end
  return dir .. "/share/love/nn_agents", us
end

-- examples/love/brain.lua's network, module by module as net:trace names them
local MODULES = { "nn.Linear(8 -> 32)", "nn.Tanh", "nn.Linear(32 -> 32)", "nn.Tanh",
  "nn.Linear(32 -> 4)", "nn.SoftMax" }

--- The logged network's layers for reference.forward, read with get_weights.
local function layers_of(net)
  local names = {}
  for i, step in ipairs(net:trace({ 0, 0, 0, 0, 0, 0, 0, 0 })) do names[i] = step.module end
  assert.same(MODULES, names)
  local layers = {}
  for i, name in ipairs(MODULES) do
    local kind = name:match("^nn%.(%a+)")
    if kind == "Linear" then
      local W, b = net:get_weights(i)
      layers[i] = { kind, W, b }
    else
      layers[i] = { kind }
    end
  end
  return layers
end

--- Check every logged decision of the store at path: n rows, one a frame,
-- each the network's answer for its input.  Returns the version's note.
local function check_log(path, frames)
  local store = assert(nn.open(path, { readonly = true }))
  local net = store:load("steer")
  local layers = layers_of(net)
  assert.equal(8, net:n_inputs())
  assert.equal(4, net:n_outputs())
  local rows = db.all(store, [[SELECT prediction_id, input, output, pred_idx, pred_label,
    tags ->> '$.agent' AS agent, name, version, labelmap FROM nn_predictions
    ORDER BY prediction_id]])
  assert.equal(frames, #rows)
  local worst = 0
  for k, row in ipairs(rows) do
    assert.equal("steer", row.name)
    assert.equal(1, row.version)
    assert.equal("default", row.labelmap)
    local x, y = {}, {}
    for v in store:rows("SELECT value FROM json_each(?)", row.input) do x[#x + 1] = v.value end
    for v in store:rows("SELECT value FROM json_each(?)", row.output) do y[#y + 1] = v.value end
    assert.equal(8, #x)
    local want = reference.forward(layers, x)
    worst = math.max(worst, reference.max_diff(want, y))
    local best = 1
    for i = 2, 4 do if want[i] > want[best] then best = i end end
    -- a near tie could go either way in float32: the logged choice must
    -- then be the other near-best one
    if row.pred_idx ~= best then
      assert.is_true(want[best] - want[row.pred_idx] < 2 * TOL_FORWARD)
    end
    assert.equal(ACTIONS[row.pred_idx], row.pred_label)
    -- one agent a frame, in turn
    assert.equal((rows[1].agent + k - 2) % 200 + 1, row.agent)
  end
  assert.is_true(worst <= TOL_FORWARD, ("largest difference %g"):format(worst))
  local note = db.value(store, "SELECT note FROM nn_version")
  store:close()
  return note
end

--- The most CPU time a frame's nn work took in a run (us: { clock, cpu } each).
local function slowest_frame(us)
  local most = 0
  for _, t in ipairs(us) do most = math.max(most, t[2] or math.huge) end
  return most
end

--- run_love, up to ATTEMPTS times while a frame goes over the budget: the
-- same game, a new save directory each time.  A frame of this shared
-- machine's can be made slow by another process evicting the game's cache
-- (2.9 ms of CPU seen, once, in a run whose every other frame took under
-- 1 ms); a game whose nn work is slow (a log call waiting for a lock, say)
-- is slow in every run.  Returns the first run within the budget, or the
-- last, and the slowest frame of each run.
local ATTEMPTS = 3
local function run_within_budget(dir, game)
  local save, us, seen = nil, nil, {}
  for _ = 1, ATTEMPTS do
    os.execute("rm -rf " .. quote(dir .. "/share"))
    save, us = run_love(dir, game)
    local most = slowest_frame(us)
    seen[#seen + 1] = ("%.0f"):format(most)
    if most <= FRAME_BUDGET_US then break end
  end
  return save, us, table.concat(seen, ", ")
end

--- Every frame's nn work within the budget, in CPU time; the run long
-- enough to say so.
local function check_frames(us, seen)
  assert.is_true(#us >= 10 * SECONDS, ("only %d frames in %d s"):format(#us, SECONDS))
  local slowest, clock = 0, 0
  for _, t in ipairs(us) do
    assert.is_number(t[1])
    assert.is_number(t[2])   -- Linux: the thread's CPU time is known
    slowest, clock = math.max(slowest, t[2]), math.max(clock, t[1])
  end
  assert.is_true(slowest <= FRAME_BUDGET_US, ("a frame's nn work took %.0f us of CPU"
    .. " (%.0f us on the clock at most; the slowest frame of each run, us: %s)")
    :format(slowest, clock, seen))
end

--- The width and height in a PNG's IHDR, or nil when it is no PNG.
local function png_size(bytes)
  if bytes:sub(1, 8) ~= "\137PNG\r\n\26\n" or bytes:sub(13, 16) ~= "IHDR" then return nil end
  local function be32(at)
    local a, b, c, d = bytes:byte(at, at + 3)
    return ((a * 256 + b) * 256 + c) * 256 + d
  end
  return be32(17), be32(21)
end

-- make asan links nn's library with the sanitizers, and its build of nn for
-- LuaJIT may be linked so by the cc its other specs use: LÖVE, which runs
-- without the sanitizers' preloaded runtime, cannot load it.  make test
-- (every Lua) and make memcheck run the game.
local SANITIZED = (os.getenv("NN_LDFLAGS") or ""):find("-fsanitize", 1, true) ~= nil

describe("examples/love in LÖVE 11.4 under xvfb-run", function()
  local dir
  before_each(function() dir = sh("mktemp -d"):gsub("\n$", "") end)
  after_each(function() os.execute("rm -rf " .. quote(dir)) end)

  it("steers 200 agents with a network trained at load, logs a decision a frame", function()
    if SANITIZED then return pending("under make asan: LÖVE cannot load a sanitized nn") end
    local game = game_folder(dir)
    local save, us, seen = run_within_budget(dir, game)
    check_frames(us, seen)
    local note = check_log(save .. "/logs/agents.db", #us)
    assert.truthy(note:find("^trained at load in %d+ ms, as its teacher %d+%.%d%% of the time$"),
      note)
    -- closed cleanly: no -wal or -shm left; the last frame drawn, 800 x 600
    assert.equal("agents.db\n", sh("ls -A " .. quote(save .. "/logs")))
    local w, h = png_size(read_file(save .. "/last.png"))
    assert.equal(800, w)
    assert.equal(600, h)
  end)

  it("runs from a .love archive, its brain.db read from the archive as bytes", function()
    if SANITIZED then return pending("under make asan: LÖVE cannot load a sanitized nn") end
    local game = game_folder(dir)
    local env = ("LUA_PATH=%s LUA_CPATH=%s"):format(
      quote(TOP .. "/lua/?.lua;" .. TOP .. "/lua/?/init.lua;;"),
      quote(TOP .. "/" .. compat.BUILD .. "/?.so;;"))
    sh(("cd %s && %s %s make_brain.lua %s"):format(quote(TOP .. "/examples/love"), env,
      compat.LUA, quote(game .. "/brain.db")))
    sh(("cd %s && zip -q -r ../nn_agents.love ."):format(quote(game)))
    sh("rm -rf " .. quote(game))
    local save, us, seen = run_within_budget(dir, dir .. "/nn_agents.love")
    check_frames(us, seen)
    assert.equal("brain.db, read from the game's files", check_log(save .. "/logs/agents.db", #us))
    -- the core was copied where LÖVE loads C modules from
    assert.equal(read_file(TOP .. "/build-luajit/nn/core.so"), read_file(save .. "/nn/core.so"))
  end)
end)
