-- Tamper evidence (schema/003_digests.sql, src/store/nn_store_version.c): every
-- immutable fact a load relies on carries a SHA-256 digest, checked when it
-- is read, so a change made outside nn is an error naming the model, the
-- version or the map.  Regression specs for issue 9: an architecture edited
-- by hand loaded as another network, and a damaged label map made load
-- answer indices without a word.  The digests are checked against
-- sha256sum over the layout the schema file documents (spec/support/digest.lua).

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local compat = require "spec.support.compat"

local exec, all, value, remove_db = db.exec, db.all, db.value, db.remove

local APPLICATION_ID = 0x6E6E4442

local sh = require("spec.support.proc").run
local schema_count = db.schema_count

--- Change the store's rows with the triggers and checks out of the way, as
-- a hand in the sqlite3 shell might.
local function tamper(store, sql, ...)
  exec(store, "DROP TRIGGER IF EXISTS nn_version_no_update")
  exec(store, "DROP TRIGGER IF EXISTS nn_labelmap_no_update")
  exec(store, "DROP TRIGGER IF EXISTS nn_labelmap_no_delete")
  exec(store, "PRAGMA ignore_check_constraints = ON")
  exec(store, sql, ...)
  exec(store, "PRAGMA ignore_check_constraints = OFF")
end

--- The model's facts made to match its rows again, as a tool that writes
-- rows in SQL does after them (schema/005_model_facts.sql).
local function refresh(store)
  exec(store, "UPDATE nn_model SET facts = nn_model_facts(model_id)")
end

local MOVED = "model 'leaf_flower': its versions, label maps and training runs are not"
  .. " those nn saved (changed outside nn?)"

--- Add a label map in SQL, with the digest nn would store, as a tool does.
local function add_map(store, name, labels)
  exec(store, [[INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)
                VALUES (1, ?1, ?2, 0, nn_labelmap_digest(1, ?1, ?2))]], name, labels)
  refresh(store)
end

describe("digests", function()
  local store
  before_each(function()
    store = assert(nn.open(":memory:"))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:add_labels("leaf_flower", "weather", { "sunny", "rainy" })
  end)
  after_each(function() store:close() end)

  it("are SHA-256 over a version's model, number, sizes, architecture and weights", function()
    local v = all(store, "SELECT v.*, m.name AS model FROM nn_version AS v JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.version(v), v.digest)
  end)

  it("are SHA-256 over a label map's model, name and labels", function()
    for _, m in ipairs(all(store, "SELECT l.*, m.name AS model FROM nn_labelmap AS l JOIN nn_model AS m USING (model_id)")) do
      assert.equal(digest.labelmap(m), m.digest)
    end
  end)

  describe("refuse a version changed outside nn", function()
    local DIGEST = "model 'leaf_flower' version 1: its architecture, sizes or weights"
      .. " disagree with its digest (changed outside nn?)"

    local function refused()
      assert.has_error(function() store:load("leaf_flower") end, DIGEST)
      assert.has_error(function() store:classify("leaf_flower", seed.input) end, DIGEST)
      assert.has_error(function() value(store, "SELECT nn_score('leaf_flower', 1, 2, 3, 4)") end,
                       "nn_score: " .. DIGEST)
      assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    end

    it("an activation swapped for another", function()
      tamper(store, [[UPDATE nn_version SET arch = replace(arch, '"ReLU"', '"Tanh"')]])
      refused()
    end)

    it("an Identity layer added", function()
      tamper(store, [[UPDATE nn_version SET arch = replace(arch, '{"type":"SoftMax"}',
                      '{"type":"Identity"},{"type":"SoftMax"}')]])
      refused()
    end)

    it("weights changed together with their checksum", function()
      local blob = value(store, "SELECT weights FROM nn_version")
      local changed = compat.pack_f32le{ 0.5 } .. blob:sub(5)
      tamper(store, "UPDATE nn_version SET weights = CAST(? AS BLOB), checksum = ?", changed,
             compat.fnv1a64(changed))
      refused()
    end)

    it("moved to another version number", function()
      store:save("leaf_flower", seed.network(nn))
      tamper(store, "UPDATE nn_version SET version = 3 WHERE version = 1")
      assert.has_error(function() store:load("leaf_flower", 3) end, MOVED)
      -- the model's facts made to agree: the version's own digest still does not
      refresh(store)
      assert.has_error(function() store:load("leaf_flower", 3) end,
        "model 'leaf_flower' version 3: its architecture, sizes or weights disagree with its"
        .. " digest (changed outside nn?)")
    end)

    it("its digest removed", function()
      tamper(store, "UPDATE nn_version SET digest = NULL")
      assert.has_error(function() store:load("leaf_flower") end,
                       "model 'leaf_flower' version 1: it has no digest")
    end)
  end)

  describe("refuse a label map changed outside nn", function()
    local function refused(message)
      assert.has_error(function() store:load("leaf_flower") end, message)
      assert.has_error(function() store:classify("leaf_flower", seed.input) end, message)
      assert.has_error(function()
        value(store, "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2)")
      end, "nn_classify: " .. message)
      assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    end

    local CHANGED = "model 'leaf_flower' label map 'default': its labels disagree with its"
      .. " digest (changed outside nn?)"

    for what, sql in pairs{
      ["with a label more"] = [[UPDATE nn_labelmap SET labels = '["leaf","flower","tree"]'
                                WHERE name = 'default']],
      ["that is no longer an array"] = [[UPDATE nn_labelmap SET labels = '{"1":"leaf"}'
                                         WHERE name = 'default']],
      ["with its labels swapped"] = [[UPDATE nn_labelmap SET labels = '["flower","leaf"]'
                                      WHERE name = 'default']],
    } do
      it(what, function()
        tamper(store, sql)
        refused(CHANGED)
      end)
    end

    it("moved to another name", function()
      tamper(store, "UPDATE nn_labelmap SET name = 'default' WHERE name = 'weather'")
      refused(MOVED)
      refresh(store)   -- the model's facts made to agree: the map's digest does not
      refused(CHANGED)
    end)
  end)

  describe("do not make a map that save would refuse readable", function()
    it("an empty label", function()
      add_map(store, "default", '["", "flower"]')
      assert.has_error(function() store:load("leaf_flower") end,
                       "model 'leaf_flower' label map 'default': label 1 is empty")
    end)

    it("a label with a zero byte, which SQL would cut short", function()
      add_map(store, "default", '["leaf", "le\\u0000af"]')
      assert.has_error(function() store:load("leaf_flower") end,
                       "model 'leaf_flower' label map 'default': label 2 contains a zero byte")
    end)

    it("a label that is not a string", function()
      add_map(store, "weather", '["sunny", 2]')
      assert.has_error(function()
        store:classify("leaf_flower", seed.input, { labels = "weather" })
      end, "model 'leaf_flower' label map 'weather': label 2 is not a string")
      assert.equal(0, value(store, "SELECT count(*) FROM nn_prediction"))
    end)

    it("no labels at all", function()
      add_map(store, "weather", '[]')
      assert.has_error(function()
        store:classify("leaf_flower", seed.input, { labels = "weather" })
      end, "model 'leaf_flower' label map 'weather': it holds no labels")
    end)

    it("but keeps a backslash before u0000 that is only text", function()
      add_map(store, "weather", '["a\\\\u0000", "b"]')
      assert.equal("a\\u0000", (store:classify("leaf_flower", seed.input,
                                               { labels = "weather" })))
    end)
  end)

  it("read a map of 100,000 labels in one pass, and log through it", function()
    local labels = {}
    for i = 1, 100000 do labels[i] = "label " .. i end
    local big = nn.Sequential{ nn.Linear(2, 100000) }
    big:set_labels(labels)
    store:save("big", big)
    local net = store:load("big")
    assert.equal("label 100000", net:labels()[100000])
    assert.equal(100000, #net:labels())
    local x = { 1, 2 }
    local y = {}
    for i = 1, 100000 do y[i] = 0 end
    y[77777] = 1
    local id = store:log(net, x, y)
    store:flush()
    assert.equal("label 77777",
                 value(store, "SELECT pred_label FROM nn_prediction WHERE prediction_id = ?", id))
  end)
end)

describe("nn.open and load say what they mean", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() remove_db(path) end)

  it("stored sizes are refused when they are not integers, even without STRICT", function()
    local setup = assert(nn.open(path))
    setup:save("leaf_flower", seed.network(nn, seed.labels))
    setup:close()
    -- regression: with STRICT removed by hand, n_inputs = 4.5 was read as 4
    sh("sqlite3 " .. path .. [[ "PRAGMA writable_schema = ON;
      UPDATE sqlite_schema SET sql = replace(sql, ') STRICT', ')') WHERE name = 'nn_version'"]])
    sh("sqlite3 " .. path .. [[ "DROP TRIGGER nn_version_no_update;
      UPDATE nn_version SET n_inputs = 4.5"]])
    local store = assert(nn.open(path))
    assert.equal("real", value(store, "SELECT typeof(n_inputs) FROM nn_version"))
    assert.has_error(function() store:load("leaf_flower") end,
                     "model 'leaf_flower' version 1: n_inputs is 4.5 (real), not an integer")
    store:close()
  end)

  it("a negative schema version is not nn's, rather than newer", function()
    local store = assert(nn.open(path))
    exec(store, "PRAGMA user_version = -1")
    store:close()
    local again, message, code = nn.open(path)
    assert.is_nil(again)
    assert.equal(("%s: schema version -1 is not one nn writes (0 to %d)")
                 :format(path, schema_count()), message)
    assert.equal("schema", code)
  end)

  it("a file of schema 1 is migrated, its digests computed once", function()
    -- a schema 1 file written without nn: 001_init.sql and the seed's version
    local blob = compat.pack_f32le(seed.params())
    local h = compat.fnv1a64(blob)
    local hex = blob:gsub(".", function(c) return ("%02X"):format(c:byte()) end)
    local arch = '[{"type":"Linear","in":4,"out":3},{"type":"ReLU"},'
      .. '{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]'
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(assert(io.open("schema/001_init.sql")):read("*a"), "\n",
      "INSERT INTO nn_model VALUES (1, 'leaf_flower', 0);\n",
      ("INSERT INTO nn_version VALUES (1, 1, 1, '%s', 4, 2, 23, X'%s', '%s', NULL, 0);\n")
        :format(arch, hex, h),
      [[INSERT INTO nn_labelmap VALUES (1, 1, 'default', '["leaf","flower"]', 0);]], "\n",
      ("PRAGMA user_version = 1; PRAGMA application_id = %d;\n"):format(APPLICATION_ID))
    f:close()
    sh("sqlite3 " .. path .. " < " .. script)
    os.remove(script)
    local store = assert(nn.open(path))
    assert.equal(schema_count(), value(store, "PRAGMA user_version"))
    local v = all(store, "SELECT v.*, m.name AS model FROM nn_version AS v JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.version(v), v.digest)
    local m = all(store, "SELECT l.*, m.name AS model FROM nn_labelmap AS l JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.labelmap(m), m.digest)
    local label, score = store:classify("leaf_flower", seed.input)
    assert.equal("leaf", label)
    assert.near(1 / (1 + math.exp(-0.6)), score, 1e-6)
    -- the triggers the migration dropped to fill the digests are back
    assert.has_error(function()
      exec(store, "UPDATE nn_version SET note = 'x'")
    end, "nn_version is immutable")
    store:close()
  end)
end)
