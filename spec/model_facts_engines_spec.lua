--- A model's facts on both engines (schema/005_model_facts.sql for a file,
-- schema/pg/004_model_facts.sql and src/pgstore/nn_pg_facts.c for PostgreSQL):
-- the same saves give the same nn_model.facts, byte for byte, checked against
-- sha256sum over the documented layout (spec/support/digest.lua); a version, a
-- label map or a training run deleted behind nn's back is the same error on
-- both; a PostgreSQL schema from before the facts gets them once, from its rows.
-- The PostgreSQL server is the spec run's own (spec/support/pg.lua).

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local pg = require "spec.support.pg"

local all, value = db.all, db.value

local server
local serial = 0

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

--- The facts of model name as the schema files lay them out, from its rows.
local function expected_facts(store, name)
  local sum, n = ("0"):rep(64), { 0, 0, 0 }
  for _, v in ipairs(all(store, "SELECT v.version_id AS id, v.version AS version FROM"
      .. " nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id WHERE m.name = $1",
      name)) do
    sum = xor_hex(sum, digest.sha256(("nn_model version\n%d\n%d\n"):format(v.id, v.version)))
    n[1] = n[1] + 1
  end
  for _, l in ipairs(all(store, "SELECT l.labelmap_id AS id, l.name AS map FROM nn_labelmap"
      .. " AS l JOIN nn_model AS m ON m.model_id = l.model_id WHERE m.name = $1", name)) do
    sum = xor_hex(sum, digest.sha256(("nn_model labelmap\n%d\n%d\n"):format(l.id, #l.map)
      .. l.map))
    n[2] = n[2] + 1
  end
  for _, r in ipairs(all(store, "SELECT t.version_id AS id FROM nn_training AS t JOIN"
      .. " nn_version AS v ON v.version_id = t.version_id JOIN nn_model AS m"
      .. " ON m.model_id = v.model_id WHERE m.name = $1", name)) do
    sum = xor_hex(sum, digest.sha256(("nn_model training\n%d\n"):format(r.id)))
    n[3] = n[3] + 1
  end
  return ('{"versions":%d,"labelmaps":%d,"runs":%d,"digest":"%s"}'):format(n[1], n[2], n[3],
    sum)
end

local TRIGGERS = { "nn_version_no_delete", "nn_labelmap_no_delete", "nn_labelmap_no_update",
                   "nn_training_no_delete", "nn_training_epoch_no_delete" }

--- The engines: each makes a fresh database, opens stores on it, and runs
-- SQL behind nn's back (triggers and foreign keys out of the way).
local engines = {
  {
    name = "sqlite",
    fresh = function()
      local path = os.tmpname()
      db.remove(path)
      local t = { open = function() return nn.open(path) end }
      function t.behind(sql)
        local s = assert(nn.open(path))
        for _, name in ipairs(TRIGGERS) do db.exec(s, "DROP TRIGGER IF EXISTS " .. name) end
        db.exec(s, "PRAGMA foreign_keys = OFF")
        for statement in sql:gmatch("[^;]+") do db.exec(s, statement) end
        s:close()
      end
      function t.cleanup() db.remove(path) end
      return t
    end,
  },
  {
    name = "postgresql",
    fresh = function()
      serial = serial + 1
      local schema = "facts_" .. serial
      local t = { open = function() return nn.open(server:url(), { schema = schema }) end }
      function t.behind(sql)
        server:sql(("SET search_path = %s; SET session_replication_role = replica; %s")
          :format(schema, sql))
      end
      function t.cleanup() server:sql("DROP SCHEMA IF EXISTS " .. schema .. " CASCADE") end
      return t
    end,
  },
}

local RUN = { epochs = { { epoch = 1, loss = 0.5, ms = 2 } }, stopped = "epochs", rows = 4 }

--- The seed's saves: leaf_flower twice (the second with a run), a map, another model.
local function saves(store)
  store:save("leaf_flower", seed.network(nn, { "tree", "bush" }))
  store:save("leaf_flower", seed.network(nn, seed.labels), { training = RUN })
  store:add_labels("leaf_flower", "weather", seed.weather)
  store:save("other", seed.network(nn, seed.labels))
end

--- What every read of leaf_flower raises on a fresh store of target, or nil
-- when each of them raises message; other stays readable.
local function refused(target, message)
  local store = assert(target.open())
  local ok, err = pcall(function()
    assert.has_error(function() store:load("leaf_flower") end, message)
    assert.has_error(function() store:load("leaf_flower", 1) end, message)
    assert.has_error(function() store:history("leaf_flower") end, message)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, message)
    assert.has_error(function()
      store:classify("leaf_flower", seed.input, { labels = "weather" })
    end, message)
    assert.equal("leaf", (store:classify("other", seed.input)))
  end)
  store:close()
  if not ok then error(err, 0) end
end

setup(function()
  server = pg.start()
end)

teardown(function()
  if server then server:stop() end
end)

describe("a model's facts", function()
  local targets = {}

  before_each(function()
    for i, engine in ipairs(engines) do
      targets[i] = engine.fresh()
      local store = assert(targets[i].open())
      saves(store)
      store:close()
    end
  end)

  after_each(function()
    for _, t in ipairs(targets) do t.cleanup() end
  end)

  it("are the same text on both engines, the layout's digest, and nn_model_facts's", function()
    local texts = {}
    for i, t in ipairs(targets) do
      local store = assert(t.open())
      texts[i] = all(store, "SELECT name, facts, nn_model_facts(model_id) AS computed"
        .. " FROM nn_model ORDER BY name")
      assert.equal(2, #texts[i])
      for _, m in ipairs(texts[i]) do
        assert.equal(expected_facts(store, m.name), m.facts)
        assert.equal(m.facts, m.computed)
      end
      assert.truthy(texts[i][1].facts:find('^{"versions":2,"labelmaps":3,"runs":1,'), engines[i].name)
      store:close()
    end
    assert.same(texts[1], texts[2])
  end)

  it("do not change when a map is added again with the same labels", function()
    for _, t in ipairs(targets) do
      local store = assert(t.open())
      local q = "SELECT facts FROM nn_model WHERE name = 'leaf_flower'"
      local before = value(store, q)
      store:add_labels("leaf_flower", "weather", seed.weather)
      assert.equal(before, value(store, q))
      store:close()
    end
  end)

  for _, case in ipairs{
    { "the latest version", "DELETE FROM nn_version WHERE version = 2",
      "model 'leaf_flower': nn saved 2 versions, the database holds 1 (deleted outside nn?)" },
    { "the newest default label map", [[DELETE FROM nn_labelmap WHERE labelmap_id =
        (SELECT max(labelmap_id) FROM nn_labelmap WHERE name = 'default' AND model_id =
         (SELECT model_id FROM nn_model WHERE name = 'leaf_flower'))]],
      "model 'leaf_flower': nn saved 3 label maps, the database holds 2 (deleted outside nn?)" },
    { "a training run with its epochs", "DELETE FROM nn_training_epoch; DELETE FROM nn_training",
      "model 'leaf_flower': nn saved 1 training run, the database holds 0 (deleted outside nn?)" },
    { "a label map renumbered", [[UPDATE nn_labelmap SET labelmap_id = 99 WHERE labelmap_id =
        (SELECT min(labelmap_id) FROM nn_labelmap)]],
      "model 'leaf_flower': its versions, label maps and training runs are not those nn saved"
        .. " (changed outside nn?)" },
    { "its facts", "UPDATE nn_model SET facts = '{}' WHERE name = 'leaf_flower'",
      "model 'leaf_flower' has no record of its versions, label maps and training runs"
        .. " (nn_model.facts)" },
  } do
    it("refuse by name on both engines: " .. case[1] .. " changed behind nn's back", function()
      for i, t in ipairs(targets) do
        t.behind(case[2])
        local ok, err = pcall(refused, t, case[3])
        assert(ok, engines[i].name .. ": " .. tostring(err))
      end
    end)
  end

  -- A file's catalog sees a row go by the tables' counts; a server's hears of
  -- saves only (NOTIFY, and its own), so an open PostgreSQL store checks again
  -- after the next save, a new one at once.
  it("are checked by a store that was open when the row went", function()
    for i, t in ipairs(targets) do
      local store = assert(t.open())
      assert.equal("flower", (store:classify("leaf_flower", seed.flower_input)))
      store:flush()
      t.behind("DELETE FROM nn_prediction; DELETE FROM nn_version WHERE version = 2")
      if engines[i].name == "postgresql" then
        store:save("other", seed.network(nn, seed.labels))
      end
      local ok, err = pcall(store.classify, store, "leaf_flower", seed.flower_input)
      store:close()
      assert.is_false(ok, engines[i].name)
      assert.equal("model 'leaf_flower': nn saved 2 versions, the database holds 1"
        .. " (deleted outside nn?)", (tostring(err):gsub("^.-: model", "model")))
    end
  end)

  it("stay broken when a version is saved after a deletion, on both engines", function()
    for _, t in ipairs(targets) do
      t.behind("DELETE FROM nn_version WHERE version = 2")
      local store = assert(t.open())
      store:save("leaf_flower", seed.network(nn, seed.labels))
      assert.has_error(function() store:load("leaf_flower") end, "model 'leaf_flower': nn"
        .. " saved 3 versions, the database holds 2 (deleted outside nn?)")
      store:close()
    end
  end)
end)

describe("a PostgreSQL schema from before the facts", function()
  it("is migrated: its models get their facts once, the same as a file's", function()
    local file, old = engines[1].fresh(), engines[2].fresh()
    local ok, err = pcall(function()
      local texts = {}
      for i, t in ipairs{ file, old } do
        local store = assert(t.open())
        saves(store)
        texts[i] = all(store, "SELECT name, facts FROM nn_model ORDER BY name")
        store:close()
      end
      -- and what schema/pg/005_digests_by_name.sql does
      old.behind(pg.undo_digests_by_name():sub(3))
      old.behind([[ALTER TABLE nn_model DROP COLUMN facts; DROP FUNCTION nn_model_facts(bigint);
        UPDATE nn_meta SET value = '3' WHERE key = 'version']])
      local store = assert(old.open())
      assert.same(texts[1], all(store, "SELECT name, facts FROM nn_model ORDER BY name"))
      assert.same(texts[2], texts[1])
      assert.equal("sunny", (store:classify("leaf_flower", seed.input, { labels = "weather" })))
      assert.equal(1, #store:history("leaf_flower").epochs)
      store:close()
    end)
    file.cleanup()
    old.cleanup()
    assert(ok, err)
  end)
end)
