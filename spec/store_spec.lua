-- The store (schema/001_init.sql, src/store/nn_store.c under src/lua/nn_lua_store.c):
-- nn.open, save and load, label maps, the prediction log and rows(), each
-- checked against the seed's hand arithmetic, an independent Lua reference
-- (little-endian float32 written out bit by bit, FNV-1a in 16-bit limbs) or what
-- SQLite itself reads back from the file.  Every test has a fresh database.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local compat = require "spec.support.compat"

-- float32 keeps 24 bits: a decimal weight and its float32 differ by at most
-- 2^-24 of its size, so 1e-7 relative is a float32 round trip.
local TOL_F32 = 1e-7
-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5
-- a float32 forward pass against the double-precision softmax
local TOL_UNIT = 1e-6

local APPLICATION_ID = 0x6E6E4442   -- "nnDB"

local f32 = compat.f32

-- softmax(0.8, 0.2), the seed's outputs before softmax, in double precision
local SOFTMAX_LEAF = 1 / (1 + math.exp(-0.6))

local schema_count = db.schema_count

local function tmpdb()
  return os.tmpname()   -- an empty file: SQLite takes it as a new database
end

local remove_db, exec, all, value = db.remove, db.exec, db.all, db.value

local function count(store, tbl)
  return value(store, "SELECT count(*) AS n FROM " .. tbl)
end

local sh = compat.sh

--- a xor b for a byte b, on the low byte of a (arithmetic, for every Lua).
local function xor_byte(a, b)
  local low, r, bit = a % 256, 0, 1
  for _ = 1, 8 do
    local x, y = low % 2, b % 2
    if x ~= y then r = r + bit end
    low, b, bit = (low - x) / 2, (b - y) / 2, bit * 2
  end
  return a - a % 256 + r
end

--- FNV-1a 64 as 16 lowercase hex digits: the checksum the schema promises.
-- The hash is four 16-bit limbs, low first, so that every Lua computes it
-- exactly; times the prime 2^40 + 0x1b3, modulo 2^64.
local function fnv1a64(s)
  local h = { 0x2325, 0x8422, 0x9ce4, 0xcbf2 }   -- 0xcbf29ce484222325
  for i = 1, #s do
    h[1] = xor_byte(h[1], s:byte(i))
    local carry = 0
    local shifted = { 0, 0, h[1] * 256, h[2] * 256 }   -- h * 2^40
    for k = 1, 4 do
      local v = h[k] * 0x1b3 + shifted[k] + carry
      h[k] = v % 65536
      carry = math.floor(v / 65536)
    end
  end
  return ("%04x%04x%04x%04x"):format(h[4], h[3], h[2], h[1])
end

--- The seed's parameters as the blob must hold them: W1 row by row, b1,
-- W2, b2, each a little-endian float32.
local function seed_blob()
  local values = {}
  for _, row in ipairs(seed.W1) do for _, v in ipairs(row) do values[#values + 1] = v end end
  for _, v in ipairs(seed.b1) do values[#values + 1] = v end
  for _, row in ipairs(seed.W2) do for _, v in ipairs(row) do values[#values + 1] = v end end
  for _, v in ipairs(seed.b2) do values[#values + 1] = v end
  return compat.pack_f32le(values)
end

local SEED_ARCH = '[{"type":"Linear","in":4,"out":3},{"type":"ReLU"},'
  .. '{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]'

local function seed_net(labels) return seed.network(nn, labels) end

--- The seed's network with the flower's bias raised so that flower wins.
local function flower_net()
  local net = seed_net()
  net:set_weights(3, seed.W2, { 0.41, 5 })
  return net
end

describe("nn.open", function()
  local path
  before_each(function() path = tmpdb() end)
  after_each(function() remove_db(path) end)

  it("makes a new file an nn database: user_version, application_id, WAL", function()
    local store = assert(nn.open(path))
    assert.equal(schema_count(), value(store, "PRAGMA user_version"))
    assert.equal(APPLICATION_ID, value(store, "PRAGMA application_id"))
    assert.equal("wal", value(store, "PRAGMA journal_mode"))
    assert.equal(1, value(store, "PRAGMA foreign_keys"))
    for _, name in ipairs{ "nn_model", "nn_version", "nn_labelmap", "nn_prediction",
                           "nn_feedback", "nn_predictions", "nn_accuracy" } do
      assert.equal(1, value(store, "SELECT count(*) FROM sqlite_schema WHERE name = ?", name))
    end
    store:close()
  end)

  it("keeps what was saved when the file is opened again", function()
    local store = assert(nn.open(path))
    store:save("leaf_flower", seed_net(seed.labels))
    store:close()
    store = assert(nn.open(path))
    assert.equal("leaf", (store:load("leaf_flower"):classify(seed.input)))
    assert.equal(schema_count(), value(store, "PRAGMA user_version"))
    store:close()
  end)

  it("keeps ':memory:' in memory", function()
    local store = assert(nn.open(":memory:"))
    assert.equal("memory", value(store, "PRAGMA journal_mode"))
    assert.equal(APPLICATION_ID, value(store, "PRAGMA application_id"))
    store:close()
  end)

  it("migrates a file of an older schema version forward", function()
    -- version 0 of an nn database: ours (application_id set) and still empty
    sh("sqlite3 " .. path .. " 'PRAGMA application_id = " .. APPLICATION_ID .. "'")
    local store = assert(nn.open(path))
    assert.equal(schema_count(), value(store, "PRAGMA user_version"))
    assert.equal(1, store:save("leaf_flower", seed_net()))
    store:close()
  end)

  it("refuses a SQLite file of another program, and leaves it as it was", function()
    sh("sqlite3 " .. path .. " 'CREATE TABLE scores (name TEXT, points INTEGER)'")
    local store, message, code = nn.open(path)
    assert.is_nil(store)
    assert.equal(path .. ": not an nn database (no application_id, and tables of its own)",
                 message)
    assert.equal("foreign", code)
    assert.equal("delete\n", sh("sqlite3 " .. path .. " 'PRAGMA journal_mode'"))
  end)

  it("refuses a SQLite file with another application_id", function()
    sh("sqlite3 " .. path .. " 'PRAGMA application_id = 42'")
    local store, message, code = nn.open(path)
    assert.is_nil(store)
    assert.equal(path .. ": not an nn database (application_id 0x0000002a)", message)
    assert.equal("foreign", code)
  end)

  it("refuses a text file that is not a database", function()
    local f = assert(io.open(path, "w"))
    f:write(("leaf,flower\n"):rep(100))
    f:close()
    local store, message, code = nn.open(path)
    assert.is_nil(store)
    assert.equal(path .. ": file is not a database", message)
    assert.equal("notadb", code)
  end)

  it("refuses a file written by a newer nn", function()
    local store = assert(nn.open(path))
    exec(store, "PRAGMA user_version = " .. (schema_count() + 1))
    store:close()
    local again, message, code = nn.open(path)
    assert.is_nil(again)
    assert.equal(("%s: schema version %d is newer than this nn knows (%d)")
                 :format(path, schema_count() + 1, schema_count()), message)
    assert.equal("schema", code)
  end)

  it("reports a path it cannot open", function()
    local store, message, code = nn.open("/nonexistent-dir/models.db")
    assert.is_nil(store)
    assert.equal("/nonexistent-dir/models.db: unable to open database file", message)
    assert.equal("cantopen", code)
  end)

  it("refuses bad arguments, naming them", function()
    assert.has_error(function() nn.open() end,
                     "bad argument #1 to 'open' (string expected, got no value)")
    assert.has_error(function() nn.open(":memory:", 5) end,
                     "bad argument #2 to 'open' (table expected, got number)")
    assert.has_error(function() nn.open(":memory:", { xyz = 1 }) end,
                     "bad argument #2 to 'open' (unknown option 'xyz')")
    assert.has_error(function() nn.open(":memory:", { flush_rows = 0 }) end,
                     "bad argument #2 to 'open' (option 'flush_rows' must be a positive integer)")
    assert.has_error(function() nn.open(":memory:", { flush_rows = 1.5 }) end,
                     "bad argument #2 to 'open' (option 'flush_rows' must be a positive integer)")
    assert.has_error(function() nn.open(":memory:", { flush_rows = "10" }) end,
                     "bad argument #2 to 'open' (option 'flush_rows' must be a positive integer)")
    assert.has_error(function() nn.open(":memory:", { flush_ms = -1 }) end,
                     "bad argument #2 to 'open' (option 'flush_ms' must be a non-negative integer)")
    assert.has_error(function() nn.open(":memory:", { busy_timeout = -1 }) end,
                     "bad argument #2 to 'open' (option 'busy_timeout' must be a non-negative integer)")
    assert.has_error(function() nn.open(":memory:", { sync = 1 }) end,
                     "bad argument #2 to 'open' (option 'sync' must be a boolean)")
  end)
end)

describe("a store", function()
  it("tells its path, then that it is closed", function()
    local store = assert(nn.open(":memory:"))
    assert.equal("nn.Store (:memory:)", tostring(store))
    store:close()
    assert.equal("nn.Store (closed)", tostring(store))
  end)

  it("closes twice, returning true both times", function()
    local store = assert(nn.open(":memory:"))
    assert.is_true(store:close())
    assert.is_true(store:close())
  end)

  -- <close> is Lua 5.4's syntax: the chunk is compiled only where it parses
  if _VERSION >= "Lua 5.4" then
    it("closes at the end of the scope of a <close> variable", function()
      local scope = assert(load([[
        local nn = ...
        local seen, inside
        do
          local store <close> = assert(nn.open(":memory:"))
          seen, inside = store, tostring(store)
        end
        return seen, inside]]))
      local seen, inside = scope(nn)
      assert.equal("nn.Store (:memory:)", inside)
      assert.equal("nn.Store (closed)", tostring(seen))
    end)
  end

  it("refuses every method once closed", function()
    local store = assert(nn.open(":memory:"))
    local net = seed_net()
    store:save("leaf_flower", net)
    store:close()
    local calls = {
      function() store:save("leaf_flower", net) end,
      function() store:load("leaf_flower") end,
      function() store:add_labels("leaf_flower", "weather", seed.weather) end,
      function() store:classify("leaf_flower", seed.input) end,
      function() store:log(net, seed.input, { 0.5, 0.5 }) end,
      function() store:feedback(1, 1) end,
      function() store:rows("SELECT 1") end,
      function() store:flush() end,
    }
    for _, call in ipairs(calls) do
      assert.has_error(call, "attempt to use a closed nn.Store")
    end
  end)

  it("refuses a method called on something else", function()
    local store = assert(nn.open(":memory:"))
    assert.has_error(function() store.flush({}) end,
                     "bad argument #1 to 'flush' (nn.Store expected, got table)")
    store:close()
  end)

  describe("when collected", function()
    local path
    before_each(function() path = tmpdb() end)
    after_each(function() remove_db(path) end)

    it("writes its buffered rows and closes", function()
      local setup = assert(nn.open(path))
      setup:save("leaf_flower", seed_net())
      setup:close()
      -- in a function of its own, so no stack slot keeps the store alive
      local function log_and_drop()
        local store = assert(nn.open(path, { flush_rows = 100, flush_ms = 60000 }))
        local net = store:load("leaf_flower")
        store:log(net, seed.input, { 0.75, 0.25 })
        store:log(net, seed.input, { 0.25, 0.75 })
      end
      log_and_drop()
      collectgarbage()
      collectgarbage()
      local other = assert(nn.open(path))
      assert.equal(2, count(other, "nn_prediction"))
      other:close()
    end)
  end)
end)

describe("save and load", function()
  local store
  before_each(function() store = assert(nn.open(":memory:")) end)
  after_each(function() store:close() end)

  it("number the versions of each model 1, 2, 3", function()
    assert.equal(1, store:save("leaf_flower", seed_net()))
    assert.equal(2, store:save("leaf_flower", seed_net()))
    assert.equal(1, store:save("weather", seed_net()))
    assert.equal(3, store:save("leaf_flower", seed_net()))
    assert.equal(2, count(store, "nn_model"))
    assert.equal(4, count(store, "nn_version"))
  end)

  it("give back the very float32 weights that were saved", function()
    local net = seed_net(seed.labels)
    store:save("leaf_flower", net)
    local loaded = store:load("leaf_flower")
    for _, i in ipairs{ 1, 3 } do
      local W, b = loaded:get_weights(i)
      local W0, b0 = net:get_weights(i)
      assert.same(W0, W)   -- exact: a float32 survives the blob bit for bit
      assert.same(b0, b)
    end
    local W1, b1 = loaded:get_weights(1)
    for j = 1, 3 do
      for i = 1, 4 do
        assert.near(seed.W1[j][i], W1[j][i], TOL_F32 * math.abs(seed.W1[j][i]))
      end
      assert.near(seed.b1[j], b1[j], TOL_F32 * math.abs(seed.b1[j]))
    end
  end)

  it("give back the architecture, listed as an nn.Sequential, and the labels", function()
    local net = seed_net(seed.labels)
    store:save("leaf_flower", net)
    local loaded = store:load("leaf_flower")
    assert.equal(tostring(net), tostring(loaded))
    assert.same(seed.labels, loaded:labels())
    local label, score, y = loaded:classify(seed.input)
    assert.equal("leaf", label)
    assert.near(seed.softmax[1], score, TOL_PRINTED)
    assert.near(seed.softmax[2], y[2], TOL_PRINTED)
  end)

  it("keep a LeakyReLU's slope, printed in its shortest form", function()
    local net = nn.Sequential{ nn.Linear(4, 3), nn.LeakyReLU(0.01), nn.Linear(3, 2) }
    net:set_weights(1, seed.W1, seed.b1)
    net:set_weights(3, seed.W2, seed.b2)
    store:save("leaky", net)
    assert.equal('[{"type":"Linear","in":4,"out":3},{"type":"LeakyReLU","alpha":0.01},'
                 .. '{"type":"Linear","in":3,"out":2}]', value(store, "SELECT arch FROM nn_version"))
    local loaded = store:load("leaky")
    assert.same(net:forward(seed.input), loaded:forward(seed.input))
  end)

  it("load the latest version, or the one asked for", function()
    store:save("leaf_flower", seed_net(seed.labels))
    store:save("leaf_flower", flower_net())
    assert.equal("flower", (store:load("leaf_flower"):classify(seed.input, seed.labels)))
    assert.equal("flower", (store:load("leaf_flower", 2):classify(seed.input, seed.labels)))
    assert.equal("leaf", (store:load("leaf_flower", 1):classify(seed.input, seed.labels)))
  end)

  it("write the row an analyst reads: arch, sizes, note, times", function()
    store:save("leaf_flower", seed_net(), { note = "the seed's weights" })
    local row = all(store, "SELECT * FROM nn_version")[1]
    assert.equal(SEED_ARCH, row.arch)
    assert.equal(4, row.n_inputs)
    assert.equal(2, row.n_outputs)
    assert.equal(23, row.n_params)
    assert.equal(1, row.version)
    assert.equal("the seed's weights", row.note)
    assert.is_true(math.abs(row.created_at - os.time() * 1000) < 5000)
    assert.equal("leaf_flower", value(store, "SELECT name FROM nn_model"))
  end)

  it("write the weights as little-endian float32, with their FNV-1a checksum", function()
    store:save("leaf_flower", seed_net())
    local row = all(store, "SELECT weights, checksum FROM nn_version")[1]
    assert.equal(seed_blob(), row.weights)
    assert.equal(fnv1a64(seed_blob()), row.checksum)
  end)

  it("keep no note when none is given", function()
    store:save("leaf_flower", seed_net())
    assert.is_nil(all(store, "SELECT note FROM nn_version")[1].note)
  end)

  it("make the given labels, or else the network's own, the map 'default'", function()
    store:save("a", seed_net(), { labels = seed.labels })
    store:save("b", seed_net(seed.weather))
    store:save("c", seed_net())
    local maps = all(store, [[SELECT m.name AS model, l.name, l.labels FROM nn_labelmap AS l
                              JOIN nn_model AS m USING (model_id) ORDER BY l.labelmap_id]])
    assert.same({
      { model = "a", name = "default", labels = '["leaf","flower"]' },
      { model = "b", name = "default", labels = '["sunny","rainy"]' },
    }, maps)
    assert.is_nil(store:load("c"):labels())
  end)

  it("add a label map row only when the labels change", function()
    store:save("leaf_flower", seed_net(seed.labels))
    store:save("leaf_flower", seed_net(seed.labels))
    assert.equal(1, count(store, "nn_labelmap"))
    store:save("leaf_flower", seed_net(), { labels = { "green", "red" } })
    assert.equal(2, count(store, "nn_labelmap"))
    assert.same({ "green", "red" }, store:load("leaf_flower"):labels())
  end)

  it("leave nothing behind when the save fails", function()
    local path = tmpdb()
    local a = assert(nn.open(path, { busy_timeout = 0 }))
    local b = assert(nn.open(path))
    exec(b, "BEGIN IMMEDIATE")   -- b holds the write lock
    assert.has_error(function() a:save("leaf_flower", seed_net(seed.labels)) end,
                     "database is locked")
    exec(b, "ROLLBACK")
    assert.equal(0, count(a, "nn_model"))
    assert.equal(0, count(a, "nn_labelmap"))
    assert.equal(1, a:save("leaf_flower", seed_net()))
    a:close()
    b:close()
    remove_db(path)
  end)

  it("keep saved versions and label maps immutable", function()
    store:save("leaf_flower", seed_net(seed.labels))
    assert.has_error(function() exec(store, "UPDATE nn_version SET note = 'x'") end,
                     "nn_version is immutable")
    assert.has_error(function() exec(store, "DELETE FROM nn_version") end,
                     "nn_version is immutable")
    assert.has_error(function() exec(store, "UPDATE nn_labelmap SET name = 'x'") end,
                     "nn_labelmap is immutable")
    assert.has_error(function() exec(store, "DELETE FROM nn_labelmap") end,
                     "nn_labelmap is immutable")
    store:classify("leaf_flower", seed.input)
    assert.has_error(function() exec(store, "UPDATE nn_prediction SET score = 1") end,
                     "nn_prediction is append-only")
  end)

  it("refuse bad arguments to save, naming them", function()
    local net = seed_net()
    assert.has_error(function() store:save(nil, net) end,
                     "bad argument #1 to 'save' (name: string expected, got nil)")
    -- regression: a number was taken as its text, saving a model named "42"
    assert.has_error(function() store:save(42, net) end,
                     "bad argument #1 to 'save' (name: string expected, got number)")
    assert.has_error(function() store:save("", net) end,
                     "bad argument #1 to 'save' (name must not be empty)")
    assert.has_error(function() store:save("leaf_flower", {}) end,
                     "bad argument #2 to 'save' (nn.Network expected, got table)")
    assert.has_error(function() store:save("leaf_flower", nn.ReLU()) end,
                     "bad argument #2 to 'save' (a network without a Linear layer cannot be saved)")
    assert.has_error(function() store:save("leaf_flower", net, 5) end,
                     "bad argument #3 to 'save' (table expected, got number)")
    assert.has_error(function() store:save("leaf_flower", net, { labelz = {} }) end,
                     "bad argument #3 to 'save' (unknown option 'labelz' (did you mean 'labels'?))")
    assert.has_error(function() store:save("leaf_flower", net, { note = 5 }) end,
                     "bad argument #3 to 'save' (option 'note' must be a string)")
    assert.has_error(function() store:save("leaf_flower", net, { labels = "leaf" }) end,
                     "bad argument #3 to 'save' (option 'labels' must be a table)")
    assert.has_error(function() store:save("leaf_flower", net, { labels = { "a", "b", "c" } }) end,
                     "bad argument #3 to 'save' (labels: 3 given for 2 outputs)")
    assert.has_error(function() store:save("leaf_flower", net, { labels = { "a", "" } }) end,
                     "bad argument #3 to 'save' (labels[2] is not a non-empty string)")
    assert.has_error(function() store:save("leaf_flower", net, { labels = { "a", 2 } }) end,
                     "bad argument #3 to 'save' (labels[2] is not a non-empty string)")
    assert.has_error(function() store:save("leaf_flower", net, { labels = { "a", "b\0c" } }) end,
                     "bad argument #3 to 'save' (labels[2] contains a zero byte)")
    assert.equal(0, count(store, "nn_version"))
  end)

  it("refuse bad arguments to load, naming them", function()
    store:save("leaf_flower", seed_net())
    assert.has_error(function() store:load() end,
                     "bad argument #1 to 'load' (name: string expected, got no value)")
    assert.has_error(function() store:load(1) end,
                     "bad argument #1 to 'load' (name: string expected, got number)")
    assert.has_error(function() store:load("") end,
                     "bad argument #1 to 'load' (name must not be empty)")
    assert.has_error(function() store:load("leaf_flower", 0) end,
                     "bad argument #2 to 'load' (version must be a positive integer)")
    assert.has_error(function() store:load("leaf_flower", 1.5) end,
                     "bad argument #2 to 'load' (number has no integer representation)")
  end)

  -- Guards the order of a load: a collection can run finalizers inside any
  -- Lua allocation, and a finalizer may use this very store; the load must
  -- not keep what it read in the store's buffers across those allocations.
  it("load whole networks while finalizers use the same store", function()
    local wide = nn.Sequential{ nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3) }
    store:save("wide", wide, { labels = { "a", "b", "c" } })
    store:save("leaf_flower", seed_net(seed.labels))
    local x16 = {}
    for i = 1, 16 do x16[i] = i end
    local calls = 0
    local function busy_finalizer()
      calls = calls + 1
      store:load("wide")
      store:classify("wide", x16)
    end
    collectgarbage()
    compat.gc_tune(0, 1000)   -- collect all the time
    for _ = 1, 30 do
      for _ = 1, 4 do compat.finalized(busy_finalizer) end
      local net = store:load("leaf_flower")
      assert.equal("leaf", (net:classify(seed.input)))
      assert.same(seed_net():get_weights(1), (net:get_weights(1)))
      assert.same(seed.labels, net:labels())
      assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    end
    compat.gc_tune(200, 100)  -- Lua's defaults
    collectgarbage()
    assert.is_true(calls > 0)
  end)

  it("say which model or version does not exist", function()
    store:save("leaf_flower", seed_net())
    assert.has_error(function() store:load("x") end, "no model named 'x'")
    assert.has_error(function() store:load("leaf_flower", 7) end,
                     "model 'leaf_flower' has no version 7")
  end)
end)

describe("load refuses a damaged version", function()
  local store

  --- Change the saved version with triggers and checks out of the way, as a
  -- bug, a disk or a hand in the sqlite3 shell might.
  local function damage(sql, ...)
    exec(store, "DROP TRIGGER IF EXISTS nn_version_no_update")
    exec(store, "PRAGMA ignore_check_constraints = ON")
    exec(store, sql, ...)
    exec(store, "PRAGMA ignore_check_constraints = OFF")
  end

  local function refuses(message)
    assert.has_error(function() store:load("leaf_flower", 1) end, message)
  end

  before_each(function() store = seed.store(nn, nil, 2) end)
  after_each(function() store:close() end)

  it("whose weights blob was cut short", function()
    damage("UPDATE nn_version SET weights = substr(weights, 1, 40) WHERE version = 1")
    refuses("model 'leaf_flower' version 1: weights blob has 40 bytes, its architecture needs 92")
  end)

  it("whose weights no longer match their checksum", function()
    damage("UPDATE nn_version SET weights = zeroblob(92) WHERE version = 1")
    refuses("model 'leaf_flower' version 1: checksum is " .. fnv1a64(seed_blob())
            .. ", the weights hash to " .. fnv1a64(("\0"):rep(92)))
  end)

  it("whose checksum was changed", function()
    damage("UPDATE nn_version SET checksum = '0000000000000000' WHERE version = 1")
    refuses("model 'leaf_flower' version 1: checksum is 0000000000000000, the weights hash to "
            .. fnv1a64(seed_blob()))
  end)

  it("whose architecture is not JSON", function()
    damage([[UPDATE nn_version SET arch = '[{"type":' WHERE version = 1]])
    refuses("model 'leaf_flower' version 1: architecture is not a JSON array")
  end)

  it("whose architecture is JSON but not an array", function()
    damage([[UPDATE nn_version SET arch = '{"type":"Linear"}' WHERE version = 1]])
    refuses("model 'leaf_flower' version 1: architecture is not a JSON array")
  end)

  it("whose architecture has no layers", function()
    damage("UPDATE nn_version SET arch = '[]' WHERE version = 1")
    refuses("model 'leaf_flower' version 1: architecture has 0 layers")
  end)

  local function with_layer(i, layer)
    local layers = {
      '{"type":"Linear","in":4,"out":3}', '{"type":"ReLU"}',
      '{"type":"Linear","in":3,"out":2}', '{"type":"SoftMax"}',
    }
    layers[i] = layer
    damage("UPDATE nn_version SET arch = ? WHERE version = 1", "[" .. table.concat(layers, ",") .. "]")
  end

  it("with a layer that is not an object", function()
    with_layer(2, '"ReLU"')
    refuses("model 'leaf_flower' version 1: layer 2 is not a JSON object")
  end)

  it("with a layer without a type", function()
    with_layer(2, '{"kind":"ReLU"}')
    refuses("model 'leaf_flower' version 1: layer 2 has no type")
  end)

  it("with a layer of an unknown type", function()
    with_layer(2, '{"type":"Conv"}')
    refuses("model 'leaf_flower' version 1: layer 2 has unknown type 'Conv'")
  end)

  it("with a Linear whose sizes are missing or invalid", function()
    with_layer(1, '{"type":"Linear","out":3}')
    refuses("model 'leaf_flower' version 1: layer 1 (Linear) has no valid 'in'")
    with_layer(1, '{"type":"Linear","in":"4","out":3}')
    refuses("model 'leaf_flower' version 1: layer 1 (Linear) has no valid 'in'")
    with_layer(1, '{"type":"Linear","in":4,"out":0}')
    refuses("model 'leaf_flower' version 1: layer 1 (Linear) has no valid 'out'")
    with_layer(1, '{"type":"Linear","in":4.5,"out":3}')
    refuses("model 'leaf_flower' version 1: layer 1 (Linear) has no valid 'in'")
  end)

  it("with a LeakyReLU without a valid slope", function()
    with_layer(2, '{"type":"LeakyReLU"}')
    refuses("model 'leaf_flower' version 1: layer 2 (LeakyReLU) has no valid 'alpha'")
    with_layer(2, '{"type":"LeakyReLU","alpha":"0.01"}')
    refuses("model 'leaf_flower' version 1: layer 2 (LeakyReLU) has no valid 'alpha'")
  end)

  it("with layers whose sizes do not fit together", function()
    with_layer(3, '{"type":"Linear","in":2,"out":2}')
    refuses("model 'leaf_flower' version 1: layer 3: nn.Linear(2 -> 2) takes 2 inputs, "
            .. "but the layer before it gives 3")
  end)

  it("whose sizes disagree with its architecture", function()
    damage("UPDATE nn_version SET n_params = 24 WHERE version = 1")
    refuses("model 'leaf_flower' version 1: n_params is 24, its architecture needs 23")
    damage("UPDATE nn_version SET n_params = 23, n_inputs = 5 WHERE version = 1")
    refuses("model 'leaf_flower' version 1: n_inputs is 5, its architecture takes 4")
    damage("UPDATE nn_version SET n_inputs = 4, n_outputs = 3 WHERE version = 1")
    refuses("model 'leaf_flower' version 1: n_outputs is 3, its architecture gives 2")
  end)

  it("whose parameter count is beyond any network", function()
    damage("UPDATE nn_version SET n_params = 1e12 WHERE version = 1")
    refuses("model 'leaf_flower' version 1: n_params is 1000000000000, out of range")
  end)

  it("and goes on loading the versions that are sound", function()
    damage("UPDATE nn_version SET weights = zeroblob(92) WHERE version = 1")
    refuses("model 'leaf_flower' version 1: checksum is " .. fnv1a64(seed_blob())
            .. ", the weights hash to " .. fnv1a64(("\0"):rep(92)))
    assert.equal("leaf", (store:load("leaf_flower", 2):classify(seed.input)))
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
  end)
end)

describe("label maps", function()
  local store
  before_each(function() store = seed.store(nn) end)
  after_each(function() store:close() end)

  it("read the same weights as weather", function()
    store:add_labels("leaf_flower", "weather", seed.weather)
    local label, score = store:classify("leaf_flower", seed.input, { labels = "weather" })
    assert.equal("sunny", label)
    assert.near(seed.softmax[1], score, TOL_PRINTED)
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    assert.same(seed.labels, store:load("leaf_flower"):labels())
  end)

  it("add a row only when the labels change, and the latest row wins", function()
    store:add_labels("leaf_flower", "weather", seed.weather)
    store:add_labels("leaf_flower", "weather", seed.weather)
    assert.equal(2, count(store, "nn_labelmap"))
    store:add_labels("leaf_flower", "weather", { "dry", "wet" })
    assert.equal(3, count(store, "nn_labelmap"))
    assert.equal("dry", (store:classify("leaf_flower", seed.input, { labels = "weather" })))
  end)

  it("fit the version they are read with", function()
    -- version 2 has three outputs and labels of its own; version 1 keeps its two
    local three = nn.Sequential{ nn.Linear(4, 3), nn.SoftMax() }
    store:save("leaf_flower", three, { labels = { "leaf", "flower", "stone" } })
    assert.same(seed.labels, store:load("leaf_flower", 1):labels())
    assert.same({ "leaf", "flower", "stone" }, store:load("leaf_flower", 2):labels())
    store:add_labels("leaf_flower", "weather", { "sunny", "rainy", "snowy" })
    local net1 = store:load("leaf_flower", 1)
    assert.has_error(function() store:log(net1, seed.input, { 0.5, 0.5 }, { labels = "weather" }) end,
                     "label map 'weather' has 3 labels, model 'leaf_flower' version 1 has 2 outputs")
  end)

  it("refuse bad arguments, naming them", function()
    assert.has_error(function() store:add_labels(nil, "weather", seed.weather) end,
                     "bad argument #1 to 'add_labels' (name: string expected, got nil)")
    assert.has_error(function() store:add_labels(7, "weather", seed.weather) end,
                     "bad argument #1 to 'add_labels' (name: string expected, got number)")
    assert.has_error(function() store:add_labels("leaf_flower", 2, seed.weather) end,
                     "bad argument #2 to 'add_labels' (map name: string expected, got number)")
    assert.has_error(function() store:add_labels("leaf_flower", "", seed.weather) end,
                     "bad argument #2 to 'add_labels' (map name must not be empty)")
    assert.has_error(function() store:add_labels("leaf_flower", "weather", "sunny") end,
                     "bad argument #3 to 'add_labels' (labels: table expected, got string)")
    assert.has_error(function() store:add_labels("leaf_flower", "weather", { "sunny", false }) end,
                     "bad argument #3 to 'add_labels' (labels[2] is not a non-empty string)")
    assert.has_error(function() store:add_labels("leaf_flower", "weather", { "a", "b", "c" }) end,
                     "bad argument #3 to 'add_labels' (labels: 3 given, model 'leaf_flower' has 2 outputs)")
    assert.has_error(function() store:add_labels("oak", "weather", seed.weather) end,
                     "no model named 'oak'")
    assert.equal(1, count(store, "nn_labelmap"))
  end)

  it("name the map that does not exist", function()
    assert.has_error(function() store:classify("leaf_flower", seed.input, { labels = "colour" }) end,
                     "model 'leaf_flower' has no label map 'colour'")
  end)
end)

describe("classify, log and feedback", function()
  local store
  before_each(function() store = seed.store(nn) end)
  after_each(function() store:close() end)

  it("classify gives the seed's answer and logs it", function()
    local label, score, id = store:classify("leaf_flower", seed.input, { request_id = "r-1" })
    assert.equal("leaf", label)
    assert.near(seed.softmax[1], score, TOL_PRINTED)
    assert.near(SOFTMAX_LEAF, score, TOL_UNIT)
    assert.is_true(compat.is_integer(id))
    local row = all(store, "SELECT * FROM nn_predictions WHERE prediction_id = ?", id)[1]
    assert.equal("leaf_flower", row.name)
    assert.equal(1, row.version)
    assert.equal("default", row.labelmap)
    assert.equal(1, row.pred_idx)
    assert.equal("leaf", row.pred_label)
    assert.equal(score, row.score)   -- the float32 output, exactly
    assert.equal("r-1", row.request_id)
    assert.is_nil(row.tags)
    assert.truthy(row.time:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%.%d%d%d$"))
    assert.is_true(math.abs(row.ts - os.time() * 1000) < 5000)
  end)

  it("classify reads the flower as a flower", function()
    assert.equal("flower", (store:classify("leaf_flower", seed.flower_input)))
  end)

  it("logs inputs and outputs as JSON arrays SQL can take apart", function()
    local _, _, id = store:classify("leaf_flower", seed.input)
    local y = store:load("leaf_flower"):forward(seed.input)
    assert.equal(32, value(store, "SELECT input ->> '$[0]' FROM nn_prediction WHERE prediction_id = ?", id))
    assert.equal(11.2, value(store, "SELECT input ->> '$[3]' FROM nn_prediction WHERE prediction_id = ?", id))
    local outputs = all(store, [[SELECT o.key, o.value FROM nn_prediction AS p, json_each(p.output) AS o
                                 WHERE p.prediction_id = ? ORDER BY o.key]], id)
    assert.equal(2, #outputs)
    assert.near(SOFTMAX_LEAF, outputs[1].value, TOL_UNIT)
    assert.near(1 - SOFTMAX_LEAF, outputs[2].value, TOL_UNIT)
    -- the shortest text that reads back as the very float the net computed
    assert.equal(y[1], f32(outputs[1].value))
    assert.equal(y[2], f32(outputs[2].value))
    assert.equal("[32,107,56,11.2]", value(store, "SELECT input FROM nn_prediction"))
  end)

  it("log takes outputs computed elsewhere, with their argmax and label", function()
    local net = store:load("leaf_flower")
    local id1 = store:log(net, seed.input, { 0.25, 0.75 })
    local id2 = store:log(net, seed.input, { 0.75, 0.25 }, { tags = { source = "test" } })
    assert.is_true(id2 > id1)
    local rows = all(store, "SELECT pred_idx, pred_label, score, tags FROM nn_prediction ORDER BY prediction_id")
    assert.same({ pred_idx = 2, pred_label = "flower", score = 0.75 }, rows[1])
    assert.same({ pred_idx = 1, pred_label = "leaf", score = 0.75, tags = '{"source":"test"}' }, rows[2])
  end)

  it("log reads the outputs through the map asked for", function()
    store:add_labels("leaf_flower", "weather", seed.weather)
    local net = store:load("leaf_flower")
    store:log(net, seed.input, { 0.25, 0.75 }, { labels = "weather" })
    local row = all(store, "SELECT labelmap, pred_label FROM nn_predictions")[1]
    assert.same({ labelmap = "weather", pred_label = "rainy" }, row)
  end)

  it("log takes a network just saved, and logs no label when it has none", function()
    local net = seed_net()
    store:save("plain", net)
    store:log(net, seed.input, { 0.75, 0.25 })
    local row = all(store, "SELECT name, pred_idx, pred_label, labelmap_id FROM nn_predictions")[1]
    assert.same({ name = "plain", pred_idx = 1 }, row)
  end)

  it("classify answers with the index when the model has no labels", function()
    store:save("plain", seed_net())
    assert.equal(1, (store:classify("plain", seed.input)))
  end)

  it("escapes request ids, tags and their keys as JSON", function()
    local odd = 'say "hi"\\ back\n\tnow\1'
    store:classify("leaf_flower", seed.input, {
      request_id = odd, tags = { [odd] = odd, n = 3, x = 0.1, ok = true, no = false } })
    assert.same({ request_id = odd, valid = 1 },
                all(store, "SELECT request_id, json_valid(tags) AS valid FROM nn_prediction")[1])
    local tags = {}
    for row in store:rows("SELECT t.key, t.value FROM nn_prediction, json_each(tags) AS t") do
      tags[row.key] = row.value
    end
    assert.same({ [odd] = odd, n = 3, x = 0.1, ok = 1, no = 0 }, tags)
  end)

  it("refuses a network that is not a version of this store", function()
    local other = assert(nn.open(":memory:"))
    local elsewhere = seed_net()
    other:save("leaf_flower", elsewhere)
    local changed = store:load("leaf_flower")
    changed:set_weights(1, seed.W1, { 0, 0, 0 })
    for _, net in ipairs{ seed_net(), elsewhere, changed } do
      assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }) end,
                       "bad argument #1 to 'log' (network is not a version saved in this store)")
    end
    other:close()
  end)

  it("refuses bad arguments to log, naming them", function()
    local net = store:load("leaf_flower")
    assert.has_error(function() store:log({}, seed.input, { 0.5, 0.5 }) end,
                     "bad argument #1 to 'log' (nn.Network expected, got table)")
    assert.has_error(function() store:log(net, { 1, 2, 3 }, { 0.5, 0.5 }) end,
                     "bad argument #2 to 'log' (x: expected 4 numbers, got 3)")
    assert.has_error(function() store:log(net, seed.input, { 0.5 }) end,
                     "bad argument #3 to 'log' (y: expected 2 numbers, got 1)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0 / 0 }) end,
                     "bad argument #3 to 'log' (y[2] is NaN)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, "x") end,
                     "bad argument #4 to 'log' (table expected, got string)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { tag = {} }) end,
                     "bad argument #4 to 'log' (unknown option 'tag' (did you mean 'tags'?))")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { request_id = 7 }) end,
                     "bad argument #4 to 'log' (option 'request_id' must be a string)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { labels = {} }) end,
                     "bad argument #4 to 'log' (option 'labels' must be a string)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { tags = "x" }) end,
                     "bad argument #4 to 'log' (option 'tags' must be a table)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { tags = { "a" } }) end,
                     "bad argument #4 to 'log' (tags: keys must be strings)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { tags = { a = {} } }) end,
                     "bad argument #4 to 'log' (tags.a must be a string, number or boolean)")
    assert.has_error(function() store:log(net, seed.input, { 0.5, 0.5 }, { tags = { a = 1 / 0 } }) end,
                     "bad argument #4 to 'log' (tags.a is not a finite number)")
    assert.equal(0, count(store, "nn_prediction"))
  end)

  it("refuses bad arguments to classify, naming them", function()
    assert.has_error(function() store:classify(nil, seed.input) end,
                     "bad argument #1 to 'classify' (name: string expected, got nil)")
    assert.has_error(function() store:classify(1, seed.input) end,
                     "bad argument #1 to 'classify' (name: string expected, got number)")
    assert.has_error(function() store:classify("leaf_flower", { 1, 2 }) end,
                     "bad argument #2 to 'classify' (x: expected 4 numbers, got 2)")
    assert.has_error(function() store:classify("leaf_flower", seed.input, { labels = 1 }) end,
                     "bad argument #3 to 'classify' (option 'labels' must be a string)")
    assert.has_error(function() store:classify("oak", seed.input) end, "no model named 'oak'")
    assert.equal(0, count(store, "nn_prediction"))
  end)

  it("classify follows the versions this store saves", function()
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    store:save("leaf_flower", flower_net())
    assert.equal("flower", (store:classify("leaf_flower", seed.input)))
    assert.same({ { version = 1 }, { version = 2 } },
                all(store, "SELECT version FROM nn_predictions ORDER BY prediction_id"))
  end)

  it("classify follows the versions and maps another connection saves", function()
    local path = tmpdb()
    local a = assert(nn.open(path))
    a:save("leaf_flower", seed_net(seed.labels))
    assert.equal("leaf", (a:classify("leaf_flower", seed.input)))
    local b = assert(nn.open(path))
    b:save("leaf_flower", flower_net())
    assert.equal("flower", (a:classify("leaf_flower", seed.input)))
    b:add_labels("leaf_flower", "default", { "green", "red" })
    assert.equal("red", (a:classify("leaf_flower", seed.input)))
    a:close()
    b:close()
    remove_db(path)
  end)

  --- Store b saves a version and then a label map; store a, which classified
  -- before, answers with each at once.
  local function follows(a, b)
    b:save("leaf_flower", flower_net())
    assert.equal("flower", (a:classify("leaf_flower", seed.input)))
    assert.equal("flower", (a:classify("leaf_flower", seed.input)))
    b:add_labels("leaf_flower", "default", { "green", "red" })
    assert.equal("red", (a:classify("leaf_flower", seed.input)))
  end

  it("classify follows a save by another connection once it checks without reading", function()
    -- after two classifies the check looks at the wal-index header only
    local path = tmpdb()
    local a = assert(nn.open(path))
    a:save("leaf_flower", seed_net(seed.labels))
    for _ = 1, 3 do assert.equal("leaf", (a:classify("leaf_flower", seed.input))) end
    local b = assert(nn.open(path))
    follows(a, b)
    a:close()
    b:close()
    remove_db(path)
  end)

  it("classify follows a save by another process", function()
    local path, script = tmpdb(), os.tmpname()
    local a = assert(nn.open(path))
    a:save("leaf_flower", seed_net(seed.labels))
    for _ = 1, 3 do assert.equal("leaf", (a:classify("leaf_flower", seed.input))) end
    local f = assert(io.open(script, "w"))
    f:write(([[
package.path, package.cpath = %q, %q
local nn = require "nn"
local store = assert(nn.open(%q))
local net = store:load("leaf_flower")
net:set_weights(3, { { -0.17, 0.39, 0.10 }, { 0.48, 0.15, -0.32 } }, { 0.41, 5 })
store:save("leaf_flower", net)
store:close()
]]):format(package.path, package.cpath, path))
    f:close()
    assert.is_true(compat.execute(compat.LUA .. " " .. script))
    os.remove(script)
    assert.equal("flower", (a:classify("leaf_flower", seed.input)))
    assert.equal(2, value(a, "SELECT max(version) FROM nn_version"))
    a:close()
    remove_db(path)
  end)

  it("classify keeps following saves when SQL changes the journal mode", function()
    local path = tmpdb()
    local a = assert(nn.open(path))
    a:save("leaf_flower", seed_net(seed.labels))
    for _ = 1, 3 do a:classify("leaf_flower", seed.input) end
    assert.equal("delete", value(a, "PRAGMA journal_mode = DELETE"))
    assert.equal("leaf", (a:classify("leaf_flower", seed.input)))
    assert.equal("leaf", (a:classify("leaf_flower", seed.input)))
    a:close()
    -- nothing asked for the shared memory of a WAL that is gone: no file
    -- was made for it (and nothing leaked, says valgrind)
    assert.is_nil(io.open(path .. "-shm"))
    a = assert(nn.open(path))
    assert.equal("wal", value(a, "PRAGMA journal_mode"))
    assert.equal("delete", value(a, "PRAGMA journal_mode = DELETE"))
    for _ = 1, 3 do a:classify("leaf_flower", seed.input) end
    local b = assert(nn.open(path))   -- which turns WAL on again
    follows(a, b)
    a:close()
    b:close()
    remove_db(path)
  end)

  it("feedback waits for another writer as long as busy_timeout says", function()
    -- regression: feedback read, then wrote, in one implicit transaction,
    -- and a read that turns into a write fails at once instead of waiting
    local path, held, script = tmpdb(), os.tmpname(), os.tmpname()
    local a = assert(nn.open(path, { busy_timeout = 10000 }))
    a:save("leaf_flower", seed_net(seed.labels))
    local _, _, id = a:classify("leaf_flower", seed.input)
    a:flush()
    os.remove(held)
    local f = assert(io.open(script, "w"))
    f:write("BEGIN IMMEDIATE;\nINSERT INTO nn_model (name, created_at) VALUES ('other', 0);\n",
      ".shell touch ", held, "\n.shell sleep 1\nCOMMIT;\n")
    f:close()
    os.execute(("sqlite3 %s < %s > /dev/null 2>&1 &"):format(path, script))
    for _ = 1, 200 do   -- until the other writer holds its lock (10 s at most)
      if io.open(held) then break end
      os.execute("sleep 0.05")
    end
    assert.truthy(io.open(held), "the other writer never took its lock")
    a:feedback(id, "leaf")
    assert.equal(1, value(a, "SELECT count(*) FROM nn_feedback"))
    assert.equal(1, value(a, "SELECT count(*) FROM nn_model WHERE name = 'other'"))
    a:close()
    os.remove(held)
    os.remove(script)
    remove_db(path)
  end)

  it("leaves a transaction opened through rows to its owner, and says why it cannot write", function()
    -- regression: rows flushed the log first, into BEGIN IMMEDIATE, which
    -- failed inside the caller's transaction: even its COMMIT could not run
    local message = "cannot write while a transaction is open on the store's "
      .. "connection: COMMIT or ROLLBACK it first"
    store:classify("leaf_flower", seed.input)   -- ids reserved beforehand
    store:flush()
    exec(store, "BEGIN")
    exec(store, "CREATE TABLE mine (a)")
    store:classify("leaf_flower", seed.input)   -- buffered until the end
    assert.has_error(function() store:flush() end, message)
    assert.has_error(function() store:save("other", seed_net()) end, message)
    assert.equal(1, value(store, "SELECT count(*) FROM nn_prediction"))
    exec(store, "COMMIT")
    store:flush()
    assert.equal(2, value(store, "SELECT count(*) FROM nn_prediction"))
    assert.equal(0, value(store, "SELECT count(*) FROM mine"))
    assert.is_nil(value(store, "SELECT model_id FROM nn_model WHERE name = 'other'"))
  end)

  it("feedback by label or by index feeds nn_accuracy, the latest answer winning", function()
    local _, _, leaf = store:classify("leaf_flower", seed.input)
    local _, _, flower = store:classify("leaf_flower", seed.flower_input)
    local _, _, other = store:classify("leaf_flower", seed.input)
    store:feedback(leaf, "leaf")        -- right
    store:feedback(flower, 1)           -- wrong ...
    store:feedback(flower, "flower")    -- ... then corrected: right
    store:feedback(other, 2)            -- wrong
    local acc = all(store, "SELECT * FROM nn_accuracy")
    assert.same({ { name = "leaf_flower", version = 1, n = 3, correct = 2, accuracy = 2 / 3 } }, acc)
    local truth = all(store, "SELECT true_idx, true_label FROM nn_feedback ORDER BY feedback_id")
    assert.same({ { true_idx = 1, true_label = "leaf" }, { true_idx = 1, true_label = "leaf" },
                  { true_idx = 2, true_label = "flower" }, { true_idx = 2, true_label = "flower" } },
                truth)
  end)

  -- regression: feedback returned nothing, where the README promises the
  -- id of its row, as log and classify give theirs
  it("feedback returns the id of the row it recorded", function()
    local _, _, leaf = store:classify("leaf_flower", seed.input)
    local first = store:feedback(leaf, "leaf")
    local second = store:feedback(leaf, 2)
    assert.is_true(compat.is_integer(first))
    assert.equal(first + 1, second)
    assert.same({ { feedback_id = first, true_label = "leaf" }, { feedback_id = second, true_label = "flower" } },
                all(store, "SELECT feedback_id, true_label FROM nn_feedback ORDER BY feedback_id"))
  end)

  it("feedback resolves a label through the map the prediction was read with", function()
    store:add_labels("leaf_flower", "weather", seed.weather)
    local _, _, id = store:classify("leaf_flower", seed.input, { labels = "weather" })
    store:feedback(id, "rainy")
    assert.same({ true_idx = 2, true_label = "rainy" },
                all(store, "SELECT true_idx, true_label FROM nn_feedback")[1])
    assert.has_error(function() store:feedback(id, "leaf") end,
                     "feedback: 'leaf' is not a label of map 'weather'")
  end)

  it("feedback refuses what it cannot record", function()
    local _, _, id = store:classify("leaf_flower", seed.input)
    store:save("plain", seed_net())
    local _, _, plain = store:classify("plain", seed.input)
    assert.has_error(function() store:feedback(99, 1) end, "feedback: no prediction with id 99")
    assert.has_error(function() store:feedback(id, "tree") end,
                     "feedback: 'tree' is not a label of map 'default'")
    assert.has_error(function() store:feedback(plain, "leaf") end,
                     ("feedback: prediction %d has no label map, so 'leaf' means nothing"):format(plain))
    assert.has_error(function() store:feedback(id, 3) end, "feedback: index 3 is not in 1..2")
    assert.has_error(function() store:feedback(id, 0) end, "feedback: index 0 is not in 1..2")
    assert.has_error(function() store:feedback(id) end,
                     "bad argument #2 to 'feedback' (string or integer expected, got no value)")
    assert.has_error(function() store:feedback(id, 1.5) end,
                     "bad argument #2 to 'feedback' (number has no integer representation)")
    assert.has_error(function() store:feedback("x", 1) end,
                     "bad argument #1 to 'feedback' (number expected, got string)")
    assert.equal(0, count(store, "nn_feedback"))
  end)
end)

describe("the log buffer", function()
  local path, setup
  before_each(function()
    path = tmpdb()
    setup = seed.store(nn, path)
  end)
  after_each(function()
    setup:close()
    remove_db(path)
  end)

  it("writes nothing another connection sees until it holds flush_rows rows", function()
    local store = assert(nn.open(path, { flush_rows = 3, flush_ms = 60000 }))
    store:classify("leaf_flower", seed.input)
    store:classify("leaf_flower", seed.input)
    assert.equal(0, count(setup, "nn_prediction"))
    store:classify("leaf_flower", seed.input)
    assert.equal(3, count(setup, "nn_prediction"))
    store:close()
  end)

  it("writes on flush(), which returns true", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    local _, _, id = store:classify("leaf_flower", seed.input)
    assert.equal(0, count(setup, "nn_prediction"))
    assert.is_true(store:flush())
    assert.equal(1, count(setup, "nn_prediction"))
    assert.equal(id, value(setup, "SELECT prediction_id FROM nn_prediction"))
    store:close()
  end)

  it("writes on close()", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    store:classify("leaf_flower", seed.input)
    store:close()
    assert.equal(1, count(setup, "nn_prediction"))
  end)

  it("writes when its oldest row is flush_ms old", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 0 }))
    store:classify("leaf_flower", seed.input)
    assert.equal(1, count(setup, "nn_prediction"))
    store:close()
  end)

  it("is skipped with sync = true: each row is written at once", function()
    local store = assert(nn.open(path, { sync = true }))
    local _, _, id1 = store:classify("leaf_flower", seed.input)
    assert.equal(1, count(setup, "nn_prediction"))
    local _, _, id2 = store:classify("leaf_flower", seed.input)
    assert.equal(2, count(setup, "nn_prediction"))
    assert.is_true(id2 > id1)
    store:close()
  end)

  it("is flushed by rows(), so a query sees every logged row", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    store:classify("leaf_flower", seed.input)
    assert.equal(1, count(store, "nn_prediction"))
    store:close()
  end)

  it("is flushed by feedback() on a row it still holds", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    local _, _, id = store:classify("leaf_flower", seed.input)
    store:feedback(id, "leaf")
    assert.equal(1, count(setup, "nn_prediction"))
    assert.equal(1, count(setup, "nn_feedback"))
    store:close()
  end)

  it("hands out unique, increasing ids across two stores on one file", function()
    local a = assert(nn.open(path, { flush_rows = 2, flush_ms = 60000 }))
    local b = assert(nn.open(path, { flush_rows = 3, flush_ms = 60000 }))
    local ids, seen = { a = {}, b = {} }, {}
    for i = 1, 700 do   -- past one block of 256 ids each
      for name, store in pairs{ a = a, b = b } do
        if i % 3 ~= 0 or name == "a" then
          local _, _, id = store:classify("leaf_flower", seed.input)
          local list = ids[name]
          assert.is_true(#list == 0 or id > list[#list])
          assert.is_nil(seen[id])
          seen[id] = true
          list[#list + 1] = id
        end
      end
    end
    -- a plain INSERT by anyone else skips every reserved id
    exec(setup, [[INSERT INTO nn_prediction (ts, version_id, input, output, pred_idx)
                  VALUES (0, 1, '[]', '[]', 1)]])
    assert.is_nil(seen[value(setup, "SELECT max(prediction_id) FROM nn_prediction")])
    a:close()
    b:close()
    assert.equal(#ids.a + #ids.b + 1, count(setup, "nn_prediction"))
    assert.equal(#ids.a + #ids.b + 1,
                 value(setup, "SELECT count(DISTINCT prediction_id) FROM nn_prediction"))
  end)

  -- the README explains the gaps this leaves: here are the numbers it gives
  it("reserves ids in blocks, so that the next store on the file starts 2 blocks on", function()
    local ids = {}
    for run = 1, 3 do
      local store = assert(nn.open(path, { max_pending = 1000 }))   -- blocks of 1000
      local _, _, first = store:classify("leaf_flower", seed.input)
      local _, _, second = store:classify("leaf_flower", seed.input)
      assert.equal(first + 1, second)
      store:close()
      ids[run] = first
    end
    assert.same({ 1, 2001, 4001 }, ids)
    -- blocks of max_pending ids, 256 at least; a second one only when the
    -- flush leaves fewer than max_pending
    local store = assert(nn.open(path, { flush_rows = 10, max_pending = 10 }))
    local _, _, id = store:classify("leaf_flower", seed.input)
    store:close()
    assert.equal(6001, id)
    store = assert(nn.open(path))
    _, _, id = store:classify("leaf_flower", seed.input)
    store:close()
    assert.equal(6001 + 256, id)
    -- by default blocks of 10,000 (max_pending), and the close took a second
    store = assert(nn.open(path))
    _, _, id = store:classify("leaf_flower", seed.input)
    store:close()
    assert.equal(6257 + 2 * 10000, id)
  end)

  it("waits 5 s for another writer unless busy_timeout says otherwise", function()
    local store = assert(nn.open(path))
    assert.equal(5000, value(store, "PRAGMA busy_timeout"))
    store:close()
    store = assert(nn.open(path, { busy_timeout = 250 }))
    assert.equal(250, value(store, "PRAGMA busy_timeout"))
    store:close()
  end)

  it("writes every row of a flush as logged, in statements of many rows or one", function()
    -- 77 rows: two statements of 32 rows, then 13 of one row
    local store = assert(nn.open(path, { flush_rows = 77, flush_ms = 60000 }))
    store:add_labels("leaf_flower", "weather", seed.weather)
    local net, logged = store:load("leaf_flower"), {}
    for i = 1, 77 do
      local x = { i / 3, -i * 0.1, 1e-3 / i, i }
      local y = i % 3 == 0 and { 0.125, 0.875 } or { 0.875, 0.125 }
      local opts = { labels = i % 2 == 0 and "weather" or nil,
                     request_id = i % 5 == 0 and ("r" .. i) or nil,
                     tags = i % 7 == 0 and { i = i } or nil }
      logged[i] = { id = store:log(net, x, y, opts), x = x, y = y, opts = opts }
    end
    -- the 77th row filled the buffer
    local rows = all(setup, [[SELECT prediction_id, input, pred_idx, pred_label, score,
                              labelmap, request_id, tags FROM nn_predictions
                              ORDER BY prediction_id]])
    assert.equal(77, #rows)
    for i, row in ipairs(rows) do
      local want = logged[i]
      assert.equal(want.id, row.prediction_id)
      local j = 0
      for v in row.input:sub(2, -2):gmatch("[^,]+") do
        j = j + 1
        assert.equal(f32(want.x[j]), f32(tonumber(v)))   -- the float32 logged, exactly
      end
      assert.equal(4, j)
      local idx = want.y[1] > want.y[2] and 1 or 2
      assert.equal(idx, row.pred_idx)
      assert.equal(0.875, row.score)
      local map = want.opts.labels and seed.weather or seed.labels
      assert.equal(map[idx], row.pred_label)
      assert.equal(want.opts.labels or "default", row.labelmap)
      assert.equal(want.opts.request_id, row.request_id)
      assert.equal(want.opts.tags and ('{"i":' .. i .. '}'), row.tags)
    end
    store:close()
  end)

  it("refuses to label a row through a map holding a label save would refuse", function()
    -- regression: a map written in SQL with a null and a number where labels
    -- go labelled rows NULL and "7"; it is an error when needed, and the row
    -- is not recorded
    exec(setup, [[INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)
                  VALUES (1, 'odd', '[null, 7]', 0, nn_labelmap_digest(1, 'odd', '[null, 7]'))]])
    exec(setup, "UPDATE nn_model SET facts = nn_model_facts(model_id)")
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    local net = store:load("leaf_flower")
    assert.has_error(function() store:log(net, seed.input, { 0.75, 0.25 }, { labels = "odd" }) end,
                     "model 'leaf_flower' label map 'odd': label 1 is not a string")
    store:close()
    assert.equal(0, count(setup, "nn_prediction"))
  end)

  it("labels rows right through more label maps than it keeps at once", function()
    -- eight maps of two 10000-byte labels: more than the 64 KiB the log keeps
    local maps = {}
    for m = 1, 8 do
      maps[m] = { ("a"):rep(9999) .. m, ("b"):rep(9999) .. m }
      setup:add_labels("leaf_flower", "m" .. m, maps[m])
    end
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000 }))
    local net, want = store:load("leaf_flower"), {}
    for i = 1, 40 do
      local m, y = (i * 5) % 8 + 1, i % 2 == 0 and { 0.25, 0.75 } or { 0.75, 0.25 }
      store:log(net, seed.input, y, { labels = "m" .. m })
      want[i] = maps[m][i % 2 == 0 and 2 or 1]
    end
    store:close()
    local got = all(setup, "SELECT pred_label FROM nn_prediction ORDER BY prediction_id")
    assert.equal(40, #got)
    for i = 1, 40 do assert.equal(want[i], got[i].pred_label) end
  end)

  it("keeps its rows when a flush fails, and writes them on the next", function()
    local store = assert(nn.open(path, { flush_rows = 1000, flush_ms = 60000, busy_timeout = 0 }))
    local _, _, id1 = store:classify("leaf_flower", seed.input)
    local _, _, id2 = store:classify("leaf_flower", seed.flower_input)
    exec(setup, "BEGIN IMMEDIATE")   -- the other connection holds the write lock
    assert.has_error(function() store:flush() end, "2 rows still pending: database is locked")
    assert.has_error(function() store:close() end, "2 rows still pending: database is locked")
    exec(setup, "ROLLBACK")
    assert.equal("nn.Store (" .. path .. ")", tostring(store))   -- still open
    assert.is_true(store:flush())
    assert.same({ { prediction_id = id1, pred_label = "leaf" }, { prediction_id = id2, pred_label = "flower" } },
                all(setup, "SELECT prediction_id, pred_label FROM nn_prediction ORDER BY prediction_id"))
    store:close()
  end)
end)

describe("rows", function()
  local store
  before_each(function() store = assert(nn.open(":memory:")) end)
  after_each(function() store:close() end)

  it("gives each row as a table by column name, NULL left out", function()
    local row = all(store, [[SELECT 42 AS i, 0.5 AS r, 'text' AS t, x'00ff' AS b, NULL AS n]])[1]
    assert.same({ i = 42, r = 0.5, t = "text", b = "\0\255" }, row)
    assert.is_true(compat.is_integer(row.i))
    assert.is_true(compat.is_float(row.r))
  end)

  it("binds parameters by position: nil, booleans, integers, floats, strings", function()
    local row = all(store, "SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f",
                    nil, true, false, 7, 2.5, "x\0y")[1]
    assert.same({ b = 1, c = 0, d = 7, e = 2.5, f = "x\0y" }, row)
    assert.is_true(compat.is_integer(row.d))
  end)

  it("raises SQLite's message for an SQL error", function()
    assert.has_error(function() store:rows("SELEC 1") end, 'near "SELEC": syntax error')
    assert.has_error(function() exec(store, "SELECT * FROM nowhere") end, "no such table: nowhere")
  end)

  it("refuses bad arguments, naming them", function()
    assert.has_error(function() store:rows() end,
                     "bad argument #1 to 'rows' (string expected, got no value)")
    assert.has_error(function() store:rows("  -- nothing\n") end,
                     "bad argument #1 to 'rows' (no SQL statement)")
    assert.has_error(function() store:rows("SELECT 1; SELECT 2") end,
                     "bad argument #1 to 'rows' (more than one SQL statement)")
    assert.has_error(function() store:rows("SELECT 1", 5) end,
                     "bad argument #2 to 'rows' (the statement has 0 parameters)")
    assert.has_error(function() store:rows("SELECT ?", 1, 2) end,
                     "bad argument #3 to 'rows' (the statement has 1 parameter)")
    assert.has_error(function() store:rows("SELECT ?", {}) end,
                     "bad argument #2 to 'rows' (nil, boolean, number or string expected, got table)")
  end)

  it("ends cleanly and stays ended", function()
    local iter = store:rows("SELECT 1 AS one")
    assert.same({ one = 1 }, iter())
    assert.is_nil(iter())
    assert.is_nil(iter())
  end)

  it("finalizes its statement on an early break", function()
    local path = tmpdb()
    local a = assert(nn.open(path))
    a:save("leaf_flower", seed_net())
    for _, n in ipairs{ 1, 2, 3 } do a:classify("leaf_flower", { n, n, n, n }) end
    local b = assert(nn.open(path, { busy_timeout = 0 }))
    -- a read left open pins its snapshot: a checkpoint cannot finish ...
    local function checkpoint_busy()
      b:save("leaf_flower", seed_net())
      return all(b, "PRAGMA wal_checkpoint(TRUNCATE)")[1].busy
    end
    local iter, state = a:rows("SELECT * FROM nn_prediction")
    iter()
    assert.equal(1, checkpoint_busy())
    for _ in iter, state do end
    assert.equal(0, checkpoint_busy())
    -- ... and a break leaves none open (the generic for closes the
    -- iterator's closing value on Lua 5.4; before, only the collector does)
    if _VERSION >= "Lua 5.4" then
      for _ in a:rows("SELECT * FROM nn_prediction") do break end
      assert.equal(0, checkpoint_busy())
    end
    assert.is_true(a:close())
    b:close()
    remove_db(path)
  end)

  it("is finalized when its store closes, and then says so", function()
    local iter = store:rows("SELECT value FROM json_each('[1,2,3]')")
    assert.same({ value = 1 }, iter())
    assert.matches("^nn.Rows %(SELECT", tostring(select(2, store:rows("SELECT 1"))))
    assert.is_true(store:close())
    assert.has_error(function() iter() end, "attempt to use a closed nn.Store")
  end)

  -- Guards rows_next and store_rows: a finalizer may close the store inside
  -- any allocation, finalizing the very statement being read.  Under make
  -- memcheck, valgrind sees any use of the finalized statement.
  it("raises, and never reads a freed statement, when a finalizer closes its store", function()
    store:save("leaf_flower", seed_net(seed.labels))
    for _ = 1, 5 do store:classify("leaf_flower", seed.input, { request_id = "r" }) end
    local armed = true
    collectgarbage()
    compat.gc_tune(0, 1000)   -- collect all the time
    for _ = 1, 20 do compat.finalized(function() if armed then store:close() end end) end
    -- until the finalizers have run, however large the heap of the whole run
    local ok, err = pcall(function()
      for _ = 1, 20000 do
        for row in store:rows("SELECT * FROM nn_predictions") do assert(row.input) end
      end
    end)
    armed = false
    compat.gc_tune(200, 100)  -- Lua's defaults
    assert.is_false(ok)
    assert.equal("attempt to use a closed nn.Store", (err:gsub("^.-:%d+: ", "")))
  end)

  it("keeps its store alive while it is in use", function()
    local iter = assert(nn.open(":memory:")):rows("SELECT value FROM json_each('[1,2]')")
    collectgarbage()
    collectgarbage()
    assert.same({ value = 1 }, iter())
    assert.same({ value = 2 }, iter())
    assert.is_nil(iter())
  end)
end)
