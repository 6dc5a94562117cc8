-- Absence is a fact too (schema/005_model_facts.sql, src/store/nn_store_facts.c):
-- each model keeps how many versions, label maps and training runs nn saved for
-- it and a digest over which, and every load checks them against the rows there
-- are.  Regression specs for issue 24: deleting the latest version row let the
-- one before answer (its score went 0.559 -> 0.602), deleting the newest default
-- label map reverted to an older map, and a run deleted with its epochs read as a
-- version saved without one.  The digest is checked against sha256sum over the
-- layout the schema file documents (spec/support/digest.lua).

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"

local exec, all, value = db.exec, db.all, db.value

--- Delete rows as a hand in the sqlite3 shell might: triggers and foreign
-- keys out of the way.
local function delete(store, sql)
  for _, t in ipairs{ "nn_version_no_delete", "nn_labelmap_no_delete", "nn_labelmap_no_update",
                      "nn_training_no_delete", "nn_training_epoch_no_delete" } do
    exec(store, "DROP TRIGGER IF EXISTS " .. t)
  end
  exec(store, "PRAGMA foreign_keys = OFF")
  for statement in sql:gmatch("[^;]+") do exec(store, statement) end
  exec(store, "PRAGMA foreign_keys = ON")
end

--- XOR of 64-digit hex strings, digit by digit (no bit library: Lua 5.1 too).
local function xor_hex(a, b)
  local out = {}
  for i = 1, 64 do
    local x, y, r, bit = tonumber(a:sub(i, i), 16), tonumber(b:sub(i, i), 16), 0, 1
    for _ = 1, 4 do
      if x % 2 ~= y % 2 then r = r + bit end
      x, y, bit = math.floor(x / 2), math.floor(y / 2), bit * 2
    end
    out[i] = ("%x"):format(r)
  end
  return table.concat(out)
end

--- The facts of model_id as the schema file lays them out, from its rows.
local function expected_facts(store, model_id)
  local sum, n = ("0"):rep(64), { 0, 0, 0 }
  for _, v in ipairs(all(store, "SELECT version_id, version FROM nn_version WHERE model_id = ?",
                         model_id)) do
    sum = xor_hex(sum, digest.sha256(("nn_model version\n%d\n%d\n"):format(v.version_id,
      v.version)))
    n[1] = n[1] + 1
  end
  for _, m in ipairs(all(store, "SELECT labelmap_id, name FROM nn_labelmap WHERE model_id = ?",
                         model_id)) do
    sum = xor_hex(sum, digest.sha256(("nn_model labelmap\n%d\n%d\n"):format(m.labelmap_id,
      #m.name) .. m.name))
    n[2] = n[2] + 1
  end
  for _, r in ipairs(all(store, [[SELECT t.version_id FROM nn_training AS t
      JOIN nn_version AS v USING (version_id) WHERE v.model_id = ?]], model_id)) do
    sum = xor_hex(sum, digest.sha256(("nn_model training\n%d\n"):format(r.version_id)))
    n[3] = n[3] + 1
  end
  return ('{"versions":%d,"labelmaps":%d,"runs":%d,"digest":"%s"}'):format(n[1], n[2], n[3],
    sum)
end

local RUN = { epochs = { { epoch = 1, loss = 0.5, ms = 2 } }, stopped = "epochs", rows = 4 }

describe("a model's facts", function()
  local store
  before_each(function()
    store = assert(nn.open(":memory:"))
    store:save("leaf_flower", seed.network(nn, { "tree", "bush" }))
    store:save("leaf_flower", seed.network(nn, seed.labels), { training = RUN })
    store:add_labels("leaf_flower", "weather", seed.weather)
    store:save("other", seed.network(nn, seed.labels))
  end)
  after_each(function() store:close() end)

  it("are counts and a digest over which rows nn saved, as the schema says", function()
    for _, m in ipairs(all(store, "SELECT model_id, facts FROM nn_model")) do
      assert.equal(expected_facts(store, m.model_id), m.facts)
      assert.equal(m.facts, value(store, "SELECT nn_model_facts(?)", m.model_id))
    end
    assert.equal('{"versions":2,"labelmaps":3,"runs":1}', value(store, [[SELECT json_remove(
      facts, '$.digest') FROM nn_model WHERE name = 'leaf_flower']]))
  end)

  it("do not change when a map is added again with the same labels", function()
    local before = value(store, "SELECT facts FROM nn_model WHERE name = 'leaf_flower'")
    store:add_labels("leaf_flower", "weather", seed.weather)
    assert.equal(before, value(store, "SELECT facts FROM nn_model WHERE name = 'leaf_flower'"))
  end)

  --- Every read of leaf_flower raises message, and nothing is logged.
  local function refused(message)
    local logged = value(store, "SELECT count(*) FROM nn_prediction")
    assert.has_error(function() store:load("leaf_flower") end, message)
    assert.has_error(function() store:load("leaf_flower", 1) end, message)
    assert.has_error(function() store:history("leaf_flower") end, message)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, message)
    assert.has_error(function()
      store:classify("leaf_flower", seed.input, { labels = "weather" })
    end, message)
    assert.has_error(function()
      value(store, "SELECT nn_score('leaf_flower', 32, 107, 56, 11.2)")
    end, "nn_score: " .. message)
    assert.has_error(function()
      value(store, "SELECT nn_classify('leaf_flower@1:default', 32, 107, 56, 11.2)")
    end, "nn_classify: " .. message)
    assert.equal(logged, value(store, "SELECT count(*) FROM nn_prediction"))
    -- another model is not concerned
    assert.equal("leaf", (store:classify("other", seed.input)))
  end

  describe("refuse by name", function()
    it("the latest version deleted, rather than answer with the one before", function()
      delete(store, "DELETE FROM nn_version WHERE version_id = 2")
      refused("model 'leaf_flower': nn saved 2 versions, the database holds 1"
              .. " (deleted outside nn?)")
    end)

    it("an older version deleted", function()
      delete(store, "DELETE FROM nn_version WHERE version_id = 1")
      refused("model 'leaf_flower': nn saved 2 versions, the database holds 1"
              .. " (deleted outside nn?)")
    end)

    it("the newest default label map deleted, rather than revert to the older", function()
      delete(store, [[DELETE FROM nn_labelmap WHERE labelmap_id =
                      (SELECT max(labelmap_id) FROM nn_labelmap WHERE name = 'default'
                       AND model_id = 1)]])
      refused("model 'leaf_flower': nn saved 3 label maps, the database holds 2"
              .. " (deleted outside nn?)")
    end)

    it("a training run deleted with its epochs, rather than read as none", function()
      delete(store, "DELETE FROM nn_training_epoch; DELETE FROM nn_training")
      refused("model 'leaf_flower': nn saved 1 training run, the database holds 0"
              .. " (deleted outside nn?)")
    end)

    it("a version added outside nn without its facts", function()
      exec(store, [[INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs,
        n_params, weights, checksum, created_at, digest)
        SELECT model_id, 3, arch, n_inputs, n_outputs, n_params, weights, checksum, 0,
               nn_version_digest(model_id, 3, arch, n_inputs, n_outputs, n_params, weights)
        FROM nn_version WHERE version_id = 2]])
      refused("model 'leaf_flower': nn saved 2 versions, the database holds 3"
              .. " (added outside nn?)")
    end)

    it("a label map renumbered, which would make an older map the latest", function()
      delete(store, [[UPDATE nn_labelmap SET labelmap_id = 99 WHERE labelmap_id = 1]])
      refused("model 'leaf_flower': its versions, label maps and training runs are not"
              .. " those nn saved (changed outside nn?)")
    end)

    it("facts removed or not what nn writes", function()
      for _, facts in ipairs{ "NULL", "'{}'", [['{"versions":"2","labelmaps":3,"runs":1,
        "digest":"00"}']] } do
        exec(store, "UPDATE nn_model SET facts = " .. facts .. " WHERE name = 'leaf_flower'")
        refused("model 'leaf_flower' has no record of its versions, label maps and"
                .. " training runs (nn_model.facts)")
      end
    end)
  end)

  it("are checked by a store that was open when the row went", function()
    assert.equal("flower", (store:classify("leaf_flower", seed.flower_input)))
    delete(store, "DELETE FROM nn_version WHERE version_id = 2")
    assert.has_error(function() store:classify("leaf_flower", seed.flower_input) end,
      "model 'leaf_flower': nn saved 2 versions, the database holds 1 (deleted outside nn?)")
  end)

  it("stay broken when a version is saved after a deletion: nothing is forgotten", function()
    delete(store, "DELETE FROM nn_version WHERE version_id = 2")
    store:save("leaf_flower", seed.network(nn, seed.labels))
    assert.has_error(function() store:load("leaf_flower") end,
      "model 'leaf_flower': nn saved 3 versions, the database holds 2 (deleted outside nn?)")
  end)
end)

describe("a file of schema 4", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() db.remove(path) end)

  it("is migrated: its models get their facts once, from the rows they have", function()
    local store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn, seed.labels), { training = RUN })
    store:add_labels("leaf_flower", "weather", seed.weather)
    local facts = value(store, "SELECT facts FROM nn_model")
    exec(store, "ALTER TABLE nn_model DROP COLUMN facts")
    -- and what schema/007_store_id.sql and 008_digests_by_name.sql do
    for _, sql in ipairs(db.UNDO_STORE_ID) do exec(store, sql) end
    db.undo_digests_by_name(store)
    exec(store, "PRAGMA user_version = 4")
    store:close()
    store = assert(nn.open(path))
    assert.equal(db.schema_count(), value(store, "PRAGMA user_version"))
    assert.equal(facts, value(store, "SELECT facts FROM nn_model"))
    assert.equal("sunny", (store:classify("leaf_flower", seed.input, { labels = "weather" })))
    assert.equal(1, #store:history("leaf_flower").epochs)
    store:close()
  end)
end)
