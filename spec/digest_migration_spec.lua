-- Digests that travel (schema/008_digests_by_name.sql, src/formats/nn_digest.c):
-- from schema 8 on a version's, a label map's and a training run's digest covers
-- the model's name, not its id in one store.  A file of schema 7, written here
-- by the sqlite3 shell from schema/001 to 007 with the digests of the layout
-- before (over the model_id, computed by spec/support/digest.lua), is checked
-- under that layout and rewritten under the new one when nn opens it; a row that
-- does not verify stops the migration by name and leaves the file as it was.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local compat = require "spec.support.compat"
local proc = require "spec.support.proc"

local all, value = db.all, db.value

local APPLICATION_ID = 0x6E6E4442

local ARCH = '[{"type":"Linear","in":4,"out":3},{"type":"ReLU"},'
  .. '{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]'
local LABELS = '["leaf","flower"]'
local RUN = { version_id = 1, options = '{"lr":0.5}', rows = 4, epochs = 2, best_epoch = 2,
  stopped = "epochs", source = "leaves.csv", started_at = 1000, ended_at = 1020 }
local EPOCHS = { { epoch = 1, loss = 0.75, ms = 10.0 },
                 { epoch = 2, loss = 0.5, val_loss = 0.625, val_accuracy = 0.5, ms = 10.0 } }

local function read(p) return assert(io.open(p)):read("*a") end

local function sql_value(v)
  return v == nil and "NULL" or type(v) == "string" and ("'%s'"):format(v) or tostring(v)
end

--- A file of schema 7 at path, as nn before this schema wrote it: model
-- leaf_flower (model_id 3: not 1, so that an id in a digest shows), its
-- version 1 with a run of two epochs, its map "default".  tamper, when
-- given, is SQL run on the finished file.
local function schema_7_file(path, tamper)
  local blob = compat.pack_f32le(seed.params())
  local hex = blob:gsub(".", function(c) return ("%02X"):format(c:byte()) end)
  local v = { model_id = 3, version = 1, n_inputs = 4, n_outputs = 2, n_params = 23,
              arch = ARCH, weights = blob }
  local m = { model_id = 3, name = "default", labels = LABELS }
  local t = {}
  for k, x in pairs(RUN) do t[k] = x end
  t.model_id, t.version = 3, 1
  local parts = {}
  for i = 1, 7 do
    local name = assert(io.popen(("ls schema/%03d_*.sql"):format(i))):read("*l")
    -- the tables are empty as they run: their digest functions, nn.open's own,
    -- have nothing to compute here
    parts[#parts + 1] = (read(name):gsub("nn_version_digest_1%b()", "NULL")
      :gsub("nn_labelmap_digest_1%b()", "NULL"):gsub("nn_training_digest_1%b()", "NULL")
      :gsub("nn_model_facts%b()", "NULL"))
  end
  parts[#parts + 1] = table.concat({
    ".load ./" .. compat.BUILD .. "/nn0",
    "INSERT INTO nn_model (model_id, name, created_at) VALUES (3, 'leaf_flower', 0);",
    ("INSERT INTO nn_version (version_id, model_id, version, arch, n_inputs, n_outputs,"
      .. " n_params, weights, checksum, created_at, digest) VALUES (1, 3, 1, '%s', 4, 2, 23,"
      .. " X'%s', '%s', 0, '%s');"):format(ARCH, hex, compat.fnv1a64(blob), digest.version(v, 1)),
    ("INSERT INTO nn_labelmap (labelmap_id, model_id, name, labels, created_at, digest)"
      .. " VALUES (1, 3, 'default', '%s', 0, '%s');"):format(LABELS, digest.labelmap(m, 1)),
    "PRAGMA defer_foreign_keys = ON; BEGIN;",
  }, "\n")
  for _, e in ipairs(EPOCHS) do
    parts[#parts + 1] = ("INSERT INTO nn_training_epoch VALUES (1, %d, %s, %s, %s, %s);")
      :format(e.epoch, sql_value(e.loss), sql_value(e.val_loss), sql_value(e.val_accuracy),
              ("%.1f"):format(e.ms))
  end
  parts[#parts + 1] = ("INSERT INTO nn_training (version_id, options, rows, epochs, best_epoch,"
    .. " stopped, source, started_at, ended_at, digest) VALUES (1, '%s', 4, 2, 2, 'epochs',"
    .. " 'leaves.csv', 1000, 1020, '%s'); COMMIT;"):format(RUN.options,
      digest.training(t, EPOCHS, 1))
  parts[#parts + 1] = "UPDATE nn_model SET facts = nn_model_facts(model_id);"
  parts[#parts + 1] = ("PRAGMA user_version = 7; PRAGMA application_id = %d;")
    :format(APPLICATION_ID)
  if tamper then parts[#parts + 1] = tamper end
  local f = assert(io.open(path .. ".sql", "w"))
  f:write(table.concat(parts, "\n"), "\n")
  f:close()
  proc.run("sqlite3 -bail " .. path .. " < " .. path .. ".sql")
  os.remove(path .. ".sql")
end

--- What the sqlite3 shell reads in the file: its schema version, every
-- digest and the names of its triggers, in one text.
local function contents(path)
  return proc.run("sqlite3 " .. path .. [[ "PRAGMA user_version; SELECT digest FROM nn_version;
    SELECT digest FROM nn_labelmap; SELECT digest FROM nn_training;
    SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name"]])
end

describe("a file of schema 7", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() db.remove(path) end)

  it("is migrated: its digests checked over the model_id, rewritten over its name", function()
    schema_7_file(path)
    local old = contents(path)
    assert.truthy(old:match("^7\n"))
    local store = assert(nn.open(path))
    assert.equal(db.schema_count(), value(store, "PRAGMA user_version"))
    local v = all(store, "SELECT v.*, m.name AS model FROM nn_version AS v"
      .. " JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.version(v), v.digest)
    local m = all(store, "SELECT l.*, m.name AS model FROM nn_labelmap AS l"
      .. " JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.labelmap(m), m.digest)
    local t = all(store, "SELECT t.*, v.version, m.name AS model FROM nn_training AS t"
      .. " JOIN nn_version AS v USING (version_id) JOIN nn_model AS m USING (model_id)")[1]
    assert.equal(digest.training(t, EPOCHS), t.digest)
    -- and the versions load, their runs read
    local label, score = store:classify("leaf_flower", seed.input)
    assert.equal("leaf", label)
    assert.near(1 / (1 + math.exp(-0.6)), score, 1e-6)
    local h = store:history("leaf_flower")
    assert.same({ 0.75, 0.5, 0.625, "leaves.csv" },
                { h.epochs[1].loss, h.epochs[2].loss, h.epochs[2].val_loss, h.source })
    -- a model keeps its name now: every digest covers it
    assert.has_error(function() db.exec(store, "UPDATE nn_model SET name = 'tree'") end,
                     "nn_model.name cannot change: digests cover it")
    -- the triggers the migration dropped to rewrite the digests are back
    for _, tbl in ipairs{ "nn_version", "nn_labelmap", "nn_training" } do
      assert.has_error(function() db.exec(store, "UPDATE " .. tbl .. " SET digest = NULL") end,
                       tbl .. " is immutable")
    end
    store:close()
  end)

  it("read-only, as it is, has its digests checked over the model_id", function()
    schema_7_file(path)
    local store = assert(nn.open(path, { readonly = true }))
    assert.equal(7, value(store, "PRAGMA user_version"))
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    assert.equal(2, #store:history("leaf_flower").epochs)
    store:close()
    db.remove(path)
    schema_7_file(path, "DROP TRIGGER nn_labelmap_no_update;"
      .. " UPDATE nn_labelmap SET labels = '[\"flower\",\"leaf\"]';")
    store = assert(nn.open(path, { readonly = true }))
    assert.has_error(function() store:classify("leaf_flower", seed.input) end,
      "model 'leaf_flower' label map 'default': its labels disagree with its digest"
      .. " (changed outside nn?)")
    store:close()
  end)

  local tampered = {
    { "a version's weights",
      "DROP TRIGGER nn_version_no_update;"
        .. " UPDATE nn_version SET weights = CAST(X'00' || substr(weights, 2) AS BLOB);",
      "model 'leaf_flower' version 1: its digest does not verify (changed outside nn?);"
        .. " nothing was migrated" },
    { "a version's digest",
      "DROP TRIGGER nn_version_no_update; UPDATE nn_version SET digest = '"
        .. ("0"):rep(64) .. "';",
      "model 'leaf_flower' version 1: its digest does not verify (changed outside nn?);"
        .. " nothing was migrated" },
    { "a label map's labels",
      "DROP TRIGGER nn_labelmap_no_update; UPDATE nn_labelmap SET labels = '[\"a\",\"b\"]';",
      "model 'leaf_flower' label map 'default' (labelmap_id 1): its digest does not verify"
        .. " (changed outside nn?); nothing was migrated" },
    { "an epoch of its run",
      "DROP TRIGGER nn_training_epoch_no_update; UPDATE nn_training_epoch SET loss = 0.25"
        .. " WHERE epoch = 2;",
      "model 'leaf_flower' version 1: its training run's digest does not verify (changed"
        .. " outside nn?); nothing was migrated" },
  }
  for _, case in ipairs(tampered) do
    it("with " .. case[1] .. " changed outside nn is refused by name, and left as it was",
       function()
      schema_7_file(path, case[2])
      local before = contents(path)
      local store, message, code = nn.open(path)
      assert.is_nil(store)
      assert.equal(("%s: schema migration 8: %s"):format(path, case[3]), message)
      assert.equal("error", code)
      assert.equal(before, contents(path))
      assert.truthy(before:match("^7\n"))
    end)
  end
end)
