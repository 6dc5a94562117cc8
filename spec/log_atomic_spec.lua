-- Nothing silent in the log (src/store/nn_store_log.c, src/lua/nn_lua_store.c):
-- store:log, store:classify and store:feedback either record their row and
-- give its id, or raise and record nothing, under every option and while a
-- second connection holds the write lock; no value is cut short or turned
-- into NULL.  Regression specs for issue 9: with a short busy_timeout, log
-- and classify raised "database is locked" and their rows were written at
-- the next flush anyway; a note was cut at its first zero byte; a
-- request_id over SQLite's length limit was stored as NULL.  Since issue 22
-- the lock held by another connection refuses nothing: the rows wait in
-- memory (spec/log_nonblocking_spec.lua), and the ids given are still
-- exactly the rows written.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local c = require "spec.support.c"
local compat = require "spec.support.compat"

local exec, all, value, remove_db = db.exec, db.all, db.value, db.remove

local LOCKED = "database is locked"

local function ids_logged(store)
  local ids = {}
  for _, row in ipairs(all(store, "SELECT prediction_id FROM nn_prediction ORDER BY 1")) do
    ids[#ids + 1] = row.prediction_id
  end
  return ids
end

describe("while another connection holds the write lock", function()
  local path, other
  before_each(function()
    path = os.tmpname()
    local setup = assert(nn.open(path))
    setup:save("leaf_flower", seed.network(nn, seed.labels))
    setup:close()
    other = assert(nn.open(path))
  end)
  after_each(function()
    if other then other:close() end
    remove_db(path)
  end)

  local function lock() exec(other, "BEGIN IMMEDIATE") end
  local function unlock() exec(other, "COMMIT") end

  for _, opts in ipairs{
    { flush_rows = 3, flush_ms = 60000, busy_timeout = 0 },
    { flush_rows = 3, flush_ms = 60000, busy_timeout = 50 },
    { flush_rows = 1, busy_timeout = 0 },
    { flush_rows = 1000, flush_ms = 0, busy_timeout = 0 },
  } do
    local name = ("flush_rows = %d, flush_ms = %s, busy_timeout = %d")
      :format(opts.flush_rows, tostring(opts.flush_ms), opts.busy_timeout)
    it("log and classify record exactly the rows whose ids they gave (" .. name .. ")", function()
      local store = assert(nn.open(path, opts))
      local net = store:load("leaf_flower")
      local given = { store:log(net, seed.input, { 0.75, 0.25 }) }
      store:flush()
      lock()
      local refused = 0
      for i = 1, 7 do
        local ok, a, _, c3 = pcall(i % 2 == 0 and store.classify or store.log, store,
          i % 2 == 0 and "leaf_flower" or net, seed.input, i % 2 == 1 and { 0.75, 0.25 } or nil)
        if ok then
          given[#given + 1] = i % 2 == 0 and c3 or a
        else
          assert.equal(LOCKED, a)
          refused = refused + 1
        end
      end
      assert.equal(0, refused)   -- the rows wait for the lock
      assert.same({ given[1] }, ids_logged(other))
      unlock()
      store:flush()
      table.sort(given)
      assert.same(given, ids_logged(store))
      store:close()
    end)
  end

  it("sync = true: log and classify raise and record nothing, then record again", function()
    local store = assert(nn.open(path, { sync = true, busy_timeout = 0 }))
    local net = store:load("leaf_flower")
    lock()
    assert.has_error(function() store:log(net, seed.input, { 0.75, 0.25 }) end, LOCKED)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, LOCKED)
    unlock()
    assert.same({}, ids_logged(store))
    local _, _, id = store:classify("leaf_flower", seed.input)
    assert.same({ id }, ids_logged(store))
    store:close()
  end)

  it("feedback gives its id at once, and its row is written once the lock is free", function()
    local store = assert(nn.open(path, { busy_timeout = 0 }))
    local _, _, id = store:classify("leaf_flower", seed.input)
    store:flush()
    lock()
    local fid = store:feedback(id, "flower")
    assert.equal(0, value(other, "SELECT count(*) FROM nn_feedback"))
    unlock()
    store:flush()
    assert.same({ { feedback_id = fid, prediction_id = id, true_idx = 2, true_label = "flower" } },
                all(store, "SELECT feedback_id, prediction_id, true_idx, true_label FROM nn_feedback"))
    store:close()
  end)
end)

describe("text the store keeps", function()
  local store, net
  before_each(function()
    store = assert(nn.open(":memory:"))
    net = seed.network(nn, seed.labels)
    store:save("leaf_flower", net)
  end)
  after_each(function() store:close() end)

  -- One rule for every text field: a zero byte is refused, as names and
  -- labels always were, since SQL text ends at one.
  it("is refused with a zero byte in a note", function()
    assert.has_error(function() store:save("leaf_flower", net, { note = "before\0after" }) end,
      "bad argument #3 to 'save' (option 'note' contains a zero byte)")
    assert.equal(1, value(store, "SELECT count(*) FROM nn_version"))
  end)

  it("is refused with a zero byte in a request_id or a tag", function()
    assert.has_error(function()
      store:log(net, seed.input, { 0.75, 0.25 }, { request_id = "r\0" })
    end, "bad argument #4 to 'log' (option 'request_id' contains a zero byte)")
    assert.has_error(function()
      store:classify("leaf_flower", seed.input, { tags = { npc = "b\0b" } })
    end, "bad argument #3 to 'classify' (tags.npc contains a zero byte)")
    assert.has_error(function()
      store:classify("leaf_flower", seed.input, { tags = { ["n\0pc"] = "bob" } })
    end, "bad argument #3 to 'classify' (tags: a key contains a zero byte)")
    assert.has_error(function() store:feedback(1, "le\0af") end,
                     "feedback: the label contains a zero byte")
    store:flush()
    assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
  end)

  it("is refused, named, when it is longer than SQLite takes or not finite, and nothing is written", function()
    local path = os.tmpname()
    local exe = c.compile("spec/support/store_check.c " .. c.STORE
      .. " src/formats/nn_json.c src/formats/nn_ftoa.c " .. compat.BUILD .. "/nn_schema.c"
      .. " -Wno-overlength-strings " .. c.ENGINE,
      "-lsqlite3 -lm")
    local out = c.run(exe, path)
    os.remove(exe)
    remove_db(path)
    assert.equal(table.concat({
      "save with a long note: the note is 2000 bytes, longer than SQLite's limit of 1000",
      "save: ok",
      "log with a long request_id: request_id is 2000 bytes, longer than SQLite's limit of 1000",
      "log with a zero byte in request_id: request_id contains a zero byte",
      "log with long tags: tags is 2000 bytes, longer than SQLite's limit of 1000",
      "log with a NaN output: output 2 is NaN: an output that is not finite has no label, "
        .. "and is not logged",
      "log with an infinite output: output 2 is -inf: an output that is not finite has no "
        .. "label, and is not logged",
      "log with an infinite input: input 1 is inf: an input that is not finite is not logged",
      "log: ok",
      "flush: ok",
      "rows: 1, the last id given",
    }, "\n") .. "\n", out)
  end)
end)

describe("a file nn did not write as it is", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() remove_db(path) end)

  local sha = require("spec.support.digest").file

  it("a foreign WAL database whose writer died before a checkpoint is left byte for byte as"
     .. " it was, its -wal and -shm included", function()
    -- the sqlite3 shell commits into its WAL, then kills itself
    local p = assert(io.popen("exec sqlite3 " .. path .. " >/dev/null 2>&1", "w"))
    p:write("PRAGMA journal_mode = WAL;\n",
            "CREATE TABLE scores (name TEXT, points INTEGER);\n",
            "INSERT INTO scores VALUES ('ada', 7);\n",
            ".system kill -9 $PPID\n")
    p:close()
    local before = { sha(path), sha(path .. "-wal"), sha(path .. "-shm") }
    assert.is_not_nil(before[2])
    assert.is_not_nil(before[3])
    local store, message, code = nn.open(path)
    assert.is_nil(store)
    assert.equal(path .. ": not an nn database (no application_id, and tables of its own)",
                 message)
    assert.equal("foreign", code)
    assert.same(before, { sha(path), sha(path .. "-wal"), sha(path .. "-shm") })
  end)

  it("a damaged file with a label map whose bytes changed on disk makes load and classify raise", function()
    -- regression: a map that no longer fit its version was skipped, and
    -- classify logged the index
    local store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:close()
    local f = assert(io.open(path, "r+b"))
    local bytes = f:read("*a")
    local at = assert(bytes:find('["leaf","flower"]', 1, true))
    f:seek("set", at - 1)
    f:write('["leaf__flower"] ')
    f:close()
    local CHANGED = "model 'leaf_flower' label map 'default': its labels disagree with its"
      .. " digest (changed outside nn?)"
    store = assert(nn.open(path, { sync = true }))
    assert.equal('["leaf__flower"] ', value(store, "SELECT labels FROM nn_labelmap"))
    assert.has_error(function() store:load("leaf_flower") end, CHANGED)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, CHANGED)
    assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    store:close()
  end)

  it("a damaged file makes load and classify raise, and nothing is logged after it", function()
    -- labels long enough to live on overflow pages, one of which is zeroed
    local store = assert(nn.open(path))
    local labels = { ("l"):rep(6000), ("f"):rep(6000) }
    store:save("leaf_flower", seed.network(nn, labels))
    store:close()
    local p = assert(io.popen("sqlite3 " .. path .. [[ "SELECT pageno FROM dbstat
      WHERE name = 'nn_labelmap' AND pagetype = 'overflow' ORDER BY pageno LIMIT 1"]]))
    local page = assert(tonumber(p:read("*l")))
    p:close()
    local f = assert(io.open(path, "r+b"))
    f:seek("set", (page - 1) * 4096)
    f:write(("\0"):rep(4096))
    f:close()
    store = assert(nn.open(path, { sync = true }))
    assert.has_error(function() store:load("leaf_flower") end,
                     "database disk image is malformed")
    assert.has_error(function() store:classify("leaf_flower", seed.input) end,
                     "database disk image is malformed")
    assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    store:close()
  end)
end)
