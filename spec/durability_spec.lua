-- The durability promise of the prediction log (DESIGN.md, "Logging and
-- durability"): everything logged before the last completed flush() survives
-- a crash of the process, and the database is never left corrupt or
-- half-written.  A child Lua process logs into a temporary file and is
-- killed with SIGKILL; this process then reads what the file holds.

local nn = require "nn"
local seed = require "spec.support.seed"

local LUA = require("spec.support.compat").LUA

local db = require "spec.support.db"
local remove_db, value = db.remove, db.value

--- Write a child script that opens path with opts, logs K rows through the
-- saved seed network, runs `after` (Lua source) once they are logged, prints
-- "logged K" and then logs on until it is killed.  It gives up by itself
-- after 10^7 rows or 60 seconds, so that it can never run away, and then
-- exits without closing the store.
local function child_script(path, opts, K, after)
  local script = os.tmpname()
  local f = assert(io.open(script, "w"))
  f:write(([[
package.path = %q
package.cpath = %q
local nn = require "nn"
local store = assert(nn.open(%q, %s))
local net = store:load("leaf_flower")
local x, y = { 32, 107, 56, 11.2 }, { 0.75, 0.25 }
for _ = 1, %d do store:log(net, x, y) end
%s
io.write("logged %d\n")
io.flush()
local deadline = os.time() + 60
for i = 1, 10000000 do
  store:log(net, x, y)
  if i %% 1000 == 0 and os.time() > deadline then break end
end
os.exit(3, false)
]]):format(package.path, package.cpath, path, opts, K, after, K))
  f:close()
  return script
end

--- Run the script, wait for its "logged K" line, let it go on for a moment,
-- kill it with SIGKILL.  Returns the line.
local function run_and_kill(script)
  -- the inner sh prints its pid, then exec makes that pid the child's; the
  -- outer one prints how it ended (128 + 9 for SIGKILL), which io.popen's
  -- close does not tell on every Lua
  local p = assert(io.popen("{ sh -c 'echo $$; exec " .. LUA .. " " .. script
    .. " 2>&1'; } 2>/dev/null; echo \"~exit $?\""))
  local pid = assert(tonumber(p:read("*l")))
  local line = p:read("*l")
  os.execute("sleep 0.2")
  os.execute("kill -9 " .. pid)
  local rest = p:read("*a")
  p:close()
  assert.equal("137", rest:match("~exit (%d+)\n$"))
  return line
end

--- The database at path, opened again once its writer is dead: checked whole.
local function reopened(path)
  local store = assert(nn.open(path))
  assert.equal("ok", value(store, "PRAGMA integrity_check"))
  return store
end

describe("a process killed while it logs", function()
  local path, script
  before_each(function()
    path = os.tmpname()
    seed.store(nn, path):close()
  end)
  after_each(function()
    remove_db(path)
    if script then os.remove(script) end
  end)

  --- A child logs K rows into path opened with opts, runs `after`, and is
  -- killed; the file, reopened and checked whole.
  local function killed_after(opts, K, after)
    script = child_script(path, opts, K, after)
    assert.equal("logged " .. K, run_and_kill(script))
    return reopened(path)
  end

  --- Rows 1 to K, the ones logged before the kill, are all there.
  local function has_first(store, K)
    assert.equal(K, value(store,
      "SELECT count(*) FROM nn_prediction WHERE prediction_id BETWEEN 1 AND ?", K))
  end

  it("keeps every row logged before its last flush, in whole transactions", function()
    local K = 2500
    local store = killed_after("{ flush_rows = 1000, flush_ms = 3600000 }", K, "store:flush()")
    local n = value(store, "SELECT count(*) FROM nn_prediction")
    assert.is_true(n >= K)
    has_first(store, K)
    -- after the flush, rows went in 1000 at a time: all of a batch or none
    assert.equal(0, (n - K) % 1000)
    assert.equal(n, value(store, "SELECT max(prediction_id) FROM nn_prediction"))
    store:close()
  end)

  it("keeps every row with sync = true", function()
    local K = 300
    local store = killed_after("{ sync = true }", K, "")
    assert.is_true(value(store, "SELECT count(*) FROM nn_prediction") >= K)
    has_first(store, K)
    store:close()
  end)

  it("loses only what it had not flushed, and leaves a sound file", function()
    local K = 100
    local store = killed_after("{ flush_rows = 1000000, flush_ms = 3600000 }", K, "")
    assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    -- the ids it had reserved are never handed out again
    local _, _, id = store:classify("leaf_flower", seed.input)
    assert.is_true(id > K)
    store:close()
  end)
end)
