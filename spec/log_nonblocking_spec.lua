-- The log never waits for another process (src/store/nn_store_log.c,
-- src/lua/nn_lua_store.c; issue 22): while a second process holds the file's
-- write lock, store:log, store:classify and store:feedback return their ids
-- and their rows wait in memory; once the lock is free they are written, in
-- order, each once.  The bound (max_pending) and what happens there
-- (on_full), store:stats(), store:flush(timeout) and close while the lock is
-- held.  The second process is the sqlite3 shell in a transaction of its
-- own (BEGIN IMMEDIATE), holding it until this spec lets it go; every
-- check of what the file holds is made by another sqlite3 process too.

local nn = require "nn"
local seed = require "spec.support.seed"
local proc = require "spec.support.proc"
local db = require "spec.support.db"

local remove_db = db.remove

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

--- Wait until path exists (10 s at most).
local function wait_for(path, what)
  for _ = 1, 500 do
    if exists(path) then return end
    os.execute("sleep 0.02")
  end
  error(what .. " never happened")
end

--- A sqlite3 process that takes the write lock of path and holds it until
-- release() is called (or, with after, for that many seconds), then commits.
local function hold_lock(path, after)
  local h = { dir = os.tmpname() }
  os.remove(h.dir)
  assert(os.execute("mkdir " .. h.dir))
  local script = h.dir .. "/hold.sql"
  local wait = after and ("sleep " .. after)
    or ("while [ ! -e " .. h.dir .. "/release ]; do sleep 0.02; done")
  local f = assert(io.open(script, "w"))
  f:write("BEGIN IMMEDIATE;\n",
    "INSERT INTO nn_model (name, created_at) VALUES ('other', 0);\n",
    ".shell touch ", h.dir, "/held\n",
    ".shell ", wait, "\n",
    "COMMIT;\n",
    ".shell touch ", h.dir, "/done\n")
  f:close()
  os.execute(("sqlite3 %s < %s > /dev/null 2>&1 &"):format(path, script))
  wait_for(h.dir .. "/held", "the other process taking the lock")
  function h.release()
    local r = assert(io.open(h.dir .. "/release", "w"))
    r:close()
    h.wait()
  end
  function h.wait()
    wait_for(h.dir .. "/done", "the other process committing")
    os.execute("rm -r " .. h.dir)
  end
  return h
end

--- What the file holds, asked of another process: the rows of sql, each a
-- line of '|'-separated columns.
local function sql_lines(path, sql)
  local out = proc.run(("sqlite3 %s %q"):format(path, sql))
  local lines = {}
  for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function count(path, table_name)
  return tonumber(sql_lines(path, "SELECT count(*) FROM " .. table_name)[1])
end

describe("while another process holds the write lock", function()
  local path
  before_each(function()
    path = os.tmpname()
    seed.store(nn, path):close()
  end)
  after_each(function() remove_db(path) end)

  it("log, classify and feedback give ids and write nothing; flush then writes them all, in order, once", function()
    local store = assert(nn.open(path, { flush_rows = 4, flush_ms = 0 }))
    local net = store:load("leaf_flower")
    local _, _, first = store:classify("leaf_flower", seed.input)
    assert.is_true(store:flush())
    local want, feedback = { { first, "leaf", 32 } }, {}
    local h = hold_lock(path)
    for i = 1, 60 do
      local x = i % 2 == 0 and seed.input or seed.flower_input
      local label, id
      if i % 3 == 0 then
        id = store:log(net, x, i % 2 == 0 and { 0.75, 0.25 } or { 0.25, 0.75 })
        label = i % 2 == 0 and "leaf" or "flower"
      else
        label, _, id = store:classify("leaf_flower", x)
      end
      assert.is_number(id)
      assert.equal(want[#want][1] + 1, id)   -- ids in order, one after another
      want[#want + 1] = { id, label, x[1] }
      if i % 10 == 0 then   -- feedback on a row still waiting, by label and by index
        local fid = store:feedback(id, i % 20 == 0 and "flower" or 1)
        feedback[#feedback + 1] = { fid, id, i % 20 == 0 and 2 or 1 }
      end
    end
    local stats = store:stats()
    assert.equal(60 + #feedback, stats.pending)
    assert.equal(1, stats.written)
    assert.is_true(stats.busy > 0)   -- calls tried, and found the lock taken
    assert.equal(0, stats.dropped)
    assert.equal(0, stats.full)
    -- nothing of it in the file
    assert.equal(1, count(path, "nn_prediction"))
    assert.equal(0, count(path, "nn_feedback"))
    -- flush(timeout) says what is still pending, and keeps it
    local pending = ("%d rows still pending: database is locked"):format(60 + #feedback)
    assert.has_error(function() store:flush(0) end, pending)
    assert.has_error(function() store:flush(50) end, pending)
    assert.equal(60 + #feedback, store:stats().pending)
    h.release()
    assert.is_true(store:flush())
    stats = store:stats()
    assert.equal(0, stats.pending)
    assert.equal(61 + #feedback, stats.written)
    local got = sql_lines(path, "SELECT prediction_id, pred_label, input ->> '$[0]'"
      .. " FROM nn_prediction ORDER BY prediction_id")
    assert.equal(#want, #got)
    for i, w in ipairs(want) do
      assert.equal(("%d|%s|%d"):format(w[1], w[2], w[3]), got[i])   -- R: 32 or 250
    end
    got = sql_lines(path, "SELECT feedback_id, prediction_id, true_idx FROM nn_feedback"
      .. " ORDER BY feedback_id")
    assert.equal(#feedback, #got)
    for i, f in ipairs(feedback) do
      assert.equal(("%d|%d|%d"):format(f[1], f[2], f[3]), got[i])
    end
    assert.equal("1", sql_lines(path, "SELECT count(*) FROM nn_model WHERE name = 'other'")[1])
    store:close()
  end)

  it("writes the waiting rows at the first call after the lock is let go", function()
    local store = assert(nn.open(path, { flush_rows = 1 }))
    store:classify("leaf_flower", seed.input)
    local h = hold_lock(path)
    for _ = 1, 5 do store:classify("leaf_flower", seed.input) end
    assert.equal(5, store:stats().pending)
    h.release()
    store:classify("leaf_flower", seed.input)
    assert.equal(0, store:stats().pending)
    assert.equal(7, count(path, "nn_prediction"))
    store:close()
  end)

  it("refuses feedback it cannot record while the prediction waits, naming why", function()
    local store = assert(nn.open(path, { flush_rows = 100 }))
    store:classify("leaf_flower", seed.input)
    store:flush()
    local h = hold_lock(path)
    local _, _, id = store:classify("leaf_flower", seed.input)
    assert.has_error(function() store:feedback(id, "tree") end,
                     "feedback: 'tree' is not a label of map 'default'")
    assert.has_error(function() store:feedback(id, 3) end, "feedback: index 3 is not in 1..2")
    assert.has_error(function() store:feedback(id + 1, 1) end,
                     ("feedback: no prediction with id %d"):format(id + 1))
    assert.equal(1, store:stats().pending)
    h.release()
    store:close()
    assert.equal(0, count(path, "nn_feedback"))
    assert.equal(2, count(path, "nn_prediction"))
  end)

  it("close says what is still pending and stays open; a later close writes it", function()
    local store = assert(nn.open(path, { busy_timeout = 0 }))
    store:classify("leaf_flower", seed.input)
    store:flush()
    local h = hold_lock(path)
    store:classify("leaf_flower", seed.input)
    store:classify("leaf_flower", seed.flower_input)
    assert.has_error(function() store:close() end, "2 rows still pending: database is locked")
    assert.equal("nn.Store (" .. path .. ")", tostring(store))
    h.release()
    assert.is_true(store:close())
    assert.equal("nn.Store (closed)", tostring(store))
    assert.same({ "leaf", "leaf", "flower" },
                sql_lines(path, "SELECT pred_label FROM nn_prediction ORDER BY prediction_id"))
  end)

  it("with no ids reserved yet, meets on_full: the ids are reserved under the lock", function()
    local store = assert(nn.open(path))
    local h = hold_lock(path)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end,
      "no prediction id left to give (a store reserves them in the file, under its"
      .. " write lock; on_full = 'error'): database is locked")
    store:close()
    store = assert(nn.open(path, { on_full = "drop" }))
    local label, score, id = store:classify("leaf_flower", seed.input)
    assert.equal("leaf", label)
    assert.is_true(math.abs(score - seed.softmax[1]) < 1e-4)
    assert.is_nil(id)
    assert.same({ 1, 1, 0 }, { store:stats().full, store:stats().dropped, store:stats().pending })
    h.release()
    store:close()
    assert.equal(0, count(path, "nn_prediction"))
  end)
end)

describe("the bound of the log (max_pending) and on_full", function()
  local path, store, h
  before_each(function()
    path = os.tmpname()
    seed.store(nn, path):close()
  end)
  after_each(function()
    if h then h.release() end
    h = nil
    if store then store:close() end
    store = nil
    remove_db(path)
  end)

  --- A store with 3 rows waiting at a bound of 3, the lock another's.
  local function full_store(on_full, busy_timeout)
    store = assert(nn.open(path, { flush_rows = 1, max_pending = 3, on_full = on_full,
                                   busy_timeout = busy_timeout }))
    store:classify("leaf_flower", seed.input)   -- ids reserved, row written
    h = hold_lock(path)
    for _ = 1, 3 do assert.is_number(select(3, store:classify("leaf_flower", seed.input))) end
    assert.equal(3, store:stats().pending)
  end

  it("on_full = 'error' (the default) raises naming the bound and the option, and keeps the rows", function()
    full_store(nil)
    local net = store:load("leaf_flower")
    local message = "the log is full: 3 rows wait to be written (max_pending = 3,"
      .. " on_full = 'error'): database is locked"
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, message)
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }) end, message)
    assert.has_error(function() store:feedback(2, "leaf") end, message)
    local stats = store:stats()
    assert.same({ 3, 3, 0, "error", 3 },
                { stats.pending, stats.full, stats.dropped, stats.on_full, stats.max_pending })
    h.release()
    h = nil
    assert.is_number(store:feedback(2, "leaf"))   -- room again: the call wrote the rest
    store:flush()
    assert.equal(4, count(path, "nn_prediction"))
    assert.equal(1, count(path, "nn_feedback"))
  end)

  it("on_full = 'drop' drops the row, returns no id and counts it", function()
    full_store("drop")
    local net = store:load("leaf_flower")
    assert.is_nil(store:log(net, seed.input, { 0.5, 0.5 }))
    local label, _, id = store:classify("leaf_flower", seed.flower_input)
    assert.equal("flower", label)
    assert.is_nil(id)
    assert.is_nil(store:feedback(2, "leaf"))
    local stats = store:stats()
    assert.same({ 3, 3, 3 }, { stats.pending, stats.full, stats.dropped })
    h.release()
    h = nil
    store:flush()
    assert.equal(4, count(path, "nn_prediction"))
    assert.equal(0, count(path, "nn_feedback"))
  end)

  it("on_full = 'block' waits busy_timeout for the lock, then raises", function()
    full_store("block", 100)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end,
      "the log is full: 3 rows wait to be written (max_pending = 3, on_full = 'block'):"
      .. " database is locked")
    assert.equal(1, store:stats().full)
  end)

  it("on_full = 'block' writes and goes on once the lock is let go in time", function()
    store = assert(nn.open(path, { flush_rows = 1, max_pending = 2, on_full = "block",
                                   busy_timeout = 20000 }))
    store:classify("leaf_flower", seed.input)
    h = hold_lock(path, 0.5)   -- lets go by itself
    store:classify("leaf_flower", seed.input)
    store:classify("leaf_flower", seed.input)
    local _, _, id = store:classify("leaf_flower", seed.input)   -- waits for it
    assert.equal(4, id)
    h.wait()
    h = nil
    assert.same({ 1, 0, 0 }, { store:stats().full, store:stats().pending, store:stats().dropped })
    assert.same({ "1", "2", "3", "4" },
                sql_lines(path, "SELECT prediction_id FROM nn_prediction ORDER BY 1"))
  end)
end)

describe("store:stats()", function()
  it("starts at zero and counts written rows and writes", function()
    local store = assert(nn.open(":memory:", { flush_rows = 2 }))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    assert.same({ pending = 0, written = 0, dropped = 0, full = 0, busy = 0, failed = 0,
                  writes = 0, max_pending = 10000, on_full = "error" }, store:stats())
    for _ = 1, 5 do store:classify("leaf_flower", seed.input) end
    local stats = store:stats()
    assert.same({ 1, 4, 2 }, { stats.pending, stats.written, stats.writes })
    store:close()
    assert.has_error(function() store:stats() end, "attempt to use a closed nn.Store")
  end)

  it("takes flush_rows as the bound when that is larger than 10,000", function()
    local store = assert(nn.open(":memory:", { flush_rows = 20000 }))
    assert.equal(20000, store:stats().max_pending)
    store:close()
  end)
end)

describe("the options of the log", function()
  local function open_error(opts)
    local ok, err = pcall(function() nn.open(":memory:", opts) end)
    assert.is_false(ok)
    return (err:gsub("^[^:]*:%d+: ", ""))
  end

  it("refuse a bound that is not an integer at least flush_rows", function()
    local message = "bad argument #2 to 'open' (option 'max_pending' must be an integer"
      .. " no smaller than flush_rows)"
    assert.equal(message, open_error{ max_pending = 0 })
    assert.equal(message, open_error{ max_pending = 2.5 })
    assert.equal(message, open_error{ max_pending = "100" })
    assert.equal(message, open_error{ max_pending = 99, flush_rows = 100 })
  end)

  it("refuse an on_full that is not one of the three", function()
    assert.equal("bad argument #2 to 'open' (option 'on_full' must be 'error', 'block' or"
      .. " 'drop', not 'wait')", open_error{ on_full = "wait" })
    assert.equal("bad argument #2 to 'open' (option 'on_full' must be 'error', 'block' or"
      .. " 'drop')", open_error{ on_full = true })
  end)

  it("refuse a flush timeout that is not a non-negative integer", function()
    local store = assert(nn.open(":memory:"))
    for _, t in ipairs{ -1, 0.5, "10", true } do
      assert.has_error(function() store:flush(t) end,
        "bad argument #1 to 'flush' (timeout must be a non-negative integer (milliseconds))")
    end
    assert.is_true(store:flush(0))
    store:close()
  end)
end)

describe("feedback ids (schema/006_feedback_ids.sql)", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() remove_db(path) end)

  it("a file of schema 1 keeps its feedback rows and ids, and new ones come after them", function()
    -- written without nn: 001_init.sql, the seed's version, a prediction and
    -- two answers to it with ids of their own
    local compat = require "spec.support.compat"
    local blob = compat.pack_f32le(seed.params())
    local hex = blob:gsub(".", function(ch) return ("%02X"):format(ch:byte()) end)
    local arch = '[{"type":"Linear","in":4,"out":3},{"type":"ReLU"},'
      .. '{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]'
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(assert(io.open("schema/001_init.sql")):read("*a"), "\n",
      "INSERT INTO nn_model VALUES (1, 'leaf_flower', 0);\n",
      ("INSERT INTO nn_version VALUES (1, 1, 1, '%s', 4, 2, 23, X'%s', '%s', NULL, 0);\n")
        :format(arch, hex, compat.fnv1a64(blob)),
      [[INSERT INTO nn_labelmap VALUES (1, 1, 'default', '["leaf","flower"]', 0);]], "\n",
      [[INSERT INTO nn_prediction VALUES (7, 0, 1, 1, '[32,107,56,11.2]', '[0.6,0.4]',]],
      [[ 1, 'leaf', 0.6, NULL, NULL);]], "\n",
      "INSERT INTO nn_feedback VALUES (5, 7, 0, 2, 'flower');\n",
      "INSERT INTO nn_feedback VALUES (9, 7, 1, 1, 'leaf');\n",
      ("PRAGMA user_version = 1; PRAGMA application_id = %d;\n"):format(0x6E6E4442))
    f:close()
    proc.run("sqlite3 " .. path .. " < " .. script)
    os.remove(script)
    local store = assert(nn.open(path))
    store:close()
    assert.same({ "5|7|2|flower", "9|7|1|leaf" },
      sql_lines(path, "SELECT feedback_id, prediction_id, true_idx, true_label FROM nn_feedback"))
    assert.same({ "leaf_flower|1|1|1|1.0" }, sql_lines(path, "SELECT * FROM nn_accuracy"))
    assert.same({ "nn_feedback" }, sql_lines(path,
      "SELECT name FROM sqlite_schema WHERE sql LIKE '%AUTOINCREMENT%' AND name = 'nn_feedback'"))
    store = assert(nn.open(path))
    local id = store:feedback(7, "flower")
    assert.equal(10, id)   -- after 9, the largest there was
    store:close()
    assert.same({ "10|7|2|flower" }, sql_lines(path,
      "SELECT feedback_id, prediction_id, true_idx, true_label FROM nn_feedback WHERE feedback_id > 9"))
  end)

  it("a read-only open reads a file of schema 5, which it did not change", function()
    -- its digests as they were then, over the model_id (schema/008_digests_by_name.sql)
    local s = seed.store(nn, path)
    db.undo_digests_by_name(s)
    s:close()
    proc.run("sqlite3 " .. path .. " 'PRAGMA user_version = 5'")
    local store = assert(nn.open(path, { readonly = true }))
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    store:close()
    proc.run("sqlite3 " .. path .. " 'PRAGMA user_version = 4'")
    local ok, message, code = nn.open(path, { readonly = true })
    assert.is_nil(ok)
    assert.equal("schema", code)
    assert.truthy(message:find("schema version 4 is older than this nn's", 1, true))
  end)
end)

describe("a backlog left by a long lock", function()
  it("drains a chunk of flush_rows rows (256 at least) a write, in order", function()
    local path = os.tmpname()
    seed.store(nn, path):close()
    local store = assert(nn.open(path, { flush_rows = 300 }))
    store:classify("leaf_flower", seed.input)
    store:flush()
    local h = hold_lock(path)
    for _ = 1, 700 do store:classify("leaf_flower", seed.input) end
    local before = store:stats()
    assert.equal(700, before.pending)
    h.release()
    store:classify("leaf_flower", seed.input)   -- the first chunk, at once
    local after = store:stats()
    assert.equal(before.writes + 1, after.writes)
    assert.equal(701 - 300, after.pending)
    assert.equal(1 + 300, count(path, "nn_prediction"))
    assert.equal("301", sql_lines(path, "SELECT max(prediction_id) FROM nn_prediction")[1])
    store:flush()
    assert.equal(702, count(path, "nn_prediction"))
    store:close()
    remove_db(path)
  end)
end)
