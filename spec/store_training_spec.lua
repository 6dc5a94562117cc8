-- Training runs in the store (schema/002_training.sql, src/store/nn_store_train.c
-- under src/lua/nn_lua_store_data.c and store:save): a version-1 file migrated
-- forward, the tables' immutability, a history saved with its version and
-- read back in SQL, and every message about a history of the wrong shape.
-- The histories are written by hand, in the shape tr:fit returns.

local nn = require "nn"
local compat = require "spec.support.compat"
local files = require "spec.support.files"
local proc = require "spec.support.proc"
local seed = require "spec.support.seed"
local db = require "spec.support.db"

local exec, all, value = db.exec, db.all, db.value

local APPLICATION_ID = 0x6E6E4442

local sh = proc.run

local read = files.read

--- FNV-1a 64 in Lua integers, as 16 hex digits: the schema's checksum.
local fnv1a64 = compat.fnv1a64

--- A schema-1 database with the seed's network saved as version 1 of
-- leaf_flower, written by the sqlite3 shell from schema/001_init.sql: what
-- a file of the first nn release holds, made without this build.
local function version_1_file(path)
  local blob = compat.pack_f32le(seed.params())
  local sql = read("schema/001_init.sql") .. ([[
PRAGMA user_version = 1;
PRAGMA application_id = %d;
INSERT INTO nn_model (model_id, name, created_at) VALUES (1, 'leaf_flower', 1000);
INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs, n_params, weights,
  checksum, note, created_at) VALUES (1, 1, '[{"type":"Linear","in":4,"out":3},
  {"type":"ReLU"},{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]', 4, 2, 23,
  X'%s', '%s', 'from schema 1', 1000);
INSERT INTO nn_labelmap (model_id, name, labels, created_at)
  VALUES (1, 'default', '["leaf","flower"]', 1000);
]]):format(APPLICATION_ID, (blob:gsub(".", function(c) return ("%02x"):format(c:byte()) end)),
           fnv1a64(blob))
  local f = assert(io.open(path .. ".sql", "w"))
  f:write(sql)
  f:close()
  sh("sqlite3 " .. path .. " < " .. path .. ".sql")
  os.remove(path .. ".sql")
end

--- A history as tr:fit returns it: three epochs, validation from the second.
local function history()
  return {
    epochs = {
      { epoch = 1, loss = 0.6931471805599453, ms = 12.25 },
      { epoch = 2, loss = 0.4, val_loss = 0.45, val_accuracy = 0.75, ms = 10 },
      { epoch = 3, loss = 0.3, val_loss = 0.5, val_accuracy = 0.5, ms = 11.5 },
    },
    best_epoch = 2,
    stopped = "patience",
    options = { optimizer = "adam", lr = 0.001, batch = 32, shuffle = true,
                loss = nn.Matrix(1, 1), betas = { 0.9, 0.999 } },
    rows = 200,
  }
end

describe("schema 2, the training tables", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() db.remove(path) end)

  it("migrates a version-1 file forward, keeping what it held", function()
    version_1_file(path)
    assert.equal("1\n", sh("sqlite3 " .. path .. " 'PRAGMA user_version'"))
    local store = assert(nn.open(path))
    assert.equal(db.schema_count(), value(store, "PRAGMA user_version"))
    for _, name in ipairs{ "nn_training", "nn_training_epoch" } do
      assert.equal(1, value(store, "SELECT count(*) FROM sqlite_schema WHERE name = ?", name))
    end
    local net = store:load("leaf_flower", 1)
    assert.equal("leaf", (net:classify(seed.input)))
    assert.equal(2, store:save("leaf_flower", net, { training = history() }))
    assert.equal(3, value(store, "SELECT count(*) FROM nn_training_epoch"))
    store:close()
  end)

  it("migrates in one transaction: a failing migration leaves the file at version 1", function()
    version_1_file(path)
    sh("sqlite3 " .. path .. " 'CREATE TABLE nn_training (x INTEGER)'")
    local store, message, code = nn.open(path)
    assert.is_nil(store)
    assert.equal(path .. ": schema migration 2: table nn_training already exists", message)
    assert.equal("error", code)
    assert.equal("1\n", sh("sqlite3 " .. path .. " 'PRAGMA user_version'"))
    assert.equal("", sh("sqlite3 " .. path .. " \"SELECT name FROM sqlite_schema WHERE "
                        .. "name = 'nn_training_epoch'\""))
  end)

  it("refuses to update or delete a run or an epoch", function()
    local store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn), { training = history() })
    for sql, message in pairs{
      ["UPDATE nn_training SET rows = 1"] = "nn_training is immutable",
      ["DELETE FROM nn_training"] = "nn_training is immutable",
      ["UPDATE nn_training_epoch SET loss = 0"] = "nn_training_epoch is immutable",
      ["DELETE FROM nn_training_epoch WHERE epoch = 3"] = "nn_training_epoch is immutable",
    } do
      assert.has_error(function() exec(store, sql) end, message)
    end
    assert.equal(3, value(store, "SELECT count(*) FROM nn_training_epoch"))
    store:close()
  end)
end)

describe("store:save with a training history", function()
  local store
  before_each(function() store = assert(nn.open(":memory:")) end)
  after_each(function() store:close() end)

  it("records the run with the version, read back in SQL as it was given", function()
    local h = history()
    h.started_at, h.ended_at = 1700000000000, 1700000000034
    local v = store:save("leaf_flower", seed.network(nn), { training = h, source = "SELECT 1" })
    local run = all(store, "SELECT t.*, v.version FROM nn_training AS t "
                    .. "JOIN nn_version AS v USING (version_id)")
    assert.equal(1, #run)
    run = run[1]
    assert.equal(v, run.version)
    assert.equal(200, run.rows)
    assert.equal(3, run.epochs)
    assert.equal(2, run.best_epoch)
    assert.equal("patience", run.stopped)
    assert.equal("SELECT 1", run.source)
    assert.equal(1700000000000, run.started_at)
    assert.equal(1700000000034, run.ended_at)
    -- the options as a JSON object, keys sorted; what JSON has no word for
    -- (a criterion, say) by its type's name
    assert.equal('{"batch":32,"betas":[0.9,0.999],"loss":"nn.Matrix","lr":0.001,'
                 .. '"optimizer":"adam","shuffle":true}', run.options)
    local epochs = all(store, "SELECT * FROM nn_training_epoch ORDER BY epoch")
    assert.equal(3, #epochs)
    for i, e in ipairs(h.epochs) do
      assert.equal(e.epoch, epochs[i].epoch)
      assert.equal(e.loss, epochs[i].loss)          -- REAL: the very double given
      assert.equal(e.val_loss, epochs[i].val_loss)  -- nil: NULL, left out of the row
      assert.equal(e.val_accuracy, epochs[i].val_accuracy)
      assert.equal(e.ms, epochs[i].ms)
    end
  end)

  it("dates a run without times as ending when saved, starting its epochs' ms before", function()
    store:save("leaf_flower", seed.network(nn), { training = history() })
    local row = all(store, "SELECT t.started_at, t.ended_at, v.created_at FROM nn_training "
                    .. "AS t JOIN nn_version AS v USING (version_id)")[1]
    assert.equal(row.created_at, row.ended_at)
    assert.equal(34, row.ended_at - row.started_at)   -- 12.25 + 10 + 11.5 = 33.75 ms
    assert.is_nil(value(store, "SELECT source FROM nn_training"))
  end)

  it("gives the loss curve per version with the query of examples/queries.sql", function()
    local net = seed.network(nn)
    store:save("leaf_flower", net)                 -- typed in: no run
    store:save("leaf_flower", net, { training = history() })
    local h = history()
    h.epochs = { { epoch = 1, loss = 0.2, ms = 1 } }
    h.best_epoch, h.stopped = nil, "epochs"
    store:save("leaf_flower", net, { training = h })
    local sql = read("examples/queries.sql"):match("%-%- The loss curve.-;")
    local rows = all(store, (sql:gsub("^.-\nSELECT", "SELECT")))
    local got = {}
    for _, r in ipairs(rows) do got[#got + 1] = ("%d/%d %s %s"):format(r.version, r.epoch,
                                                                      r.loss, r.curve) end
    assert.same({
      "2/1 0.6931 ########################################",   -- 40 marks: the largest
      "2/2 0.4 #######################",                          -- 40 * 0.4 / 0.6931 = 23.08
      "2/3 0.3 #################",                                -- 40 * 0.3 / 0.6931 = 17.31
      "3/1 0.2 ########################################",
    }, got)
  end)

  it("saves nothing when the run cannot be written", function()
    local net = seed.network(nn)
    store:save("leaf_flower", net)
    exec(store, "CREATE TEMP TRIGGER no_epochs BEFORE INSERT ON nn_training_epoch "
         .. "BEGIN SELECT RAISE(ABORT, 'no epochs today'); END")
    assert.has_error(function() store:save("leaf_flower", net, { training = history() }) end,
                     "no epochs today")
    assert.equal(1, value(store, "SELECT count(*) FROM nn_version"))
    assert.equal(0, value(store, "SELECT count(*) FROM nn_training"))
    exec(store, "DROP TRIGGER no_epochs")
    assert.equal(2, store:save("leaf_flower", net, { training = history() }))
  end)

  describe("refuses a history of the wrong shape, naming the field", function()
    local function refused(change, opts)
      local h = history()
      change(h)
      local ok, err = pcall(function()
        store:save("leaf_flower", seed.network(nn), opts or { training = h })
      end)
      assert.is_false(ok)
      assert.equal(0, value(store, "SELECT count(*) FROM nn_version"))
      return (err:gsub("^.-:%d+: ", "", 1))
    end
    local function bad(message) return "bad argument #3 to 'save' (" .. message .. ")" end

    it("missing or mistyped fields", function()
      assert.equal(bad("training.epochs must be a table"),
                   refused(function(h) h.epochs = nil end))
      assert.equal(bad("training.epochs[2] must be a table"),
                   refused(function(h) h.epochs[2] = 0.4 end))
      assert.equal(bad("training.epochs[1].epoch must be an integer"),
                   refused(function(h) h.epochs[1].epoch = 1.5 end))
      assert.equal(bad("training.epochs[3].loss must be a number"),
                   refused(function(h) h.epochs[3].loss = "0.3" end))
      assert.equal(bad("training.epochs[2].val_loss must be a number"),
                   refused(function(h) h.epochs[2].val_loss = true end))
      assert.equal(bad("training.epochs[1].ms must be a number"),
                   refused(function(h) h.epochs[1].ms = nil end))
      assert.equal(bad("training.rows must be an integer"),
                   refused(function(h) h.rows = nil end))
      assert.equal(bad("training.best_epoch must be an integer"),
                   refused(function(h) h.best_epoch = "2" end))
      assert.equal(bad("training.stopped must be a string"),
                   refused(function(h) h.stopped = nil end))
      assert.equal(bad("training.options must be a table"),
                   refused(function(h) h.options = "adam" end))
      assert.equal(bad("training.options must be a table of named options"),
                   refused(function(h) h.options = { "adam" } end))
      assert.equal(bad("training.options: keys must be strings (or 1..n)"),
                   refused(function(h) h.options = { lr = 1, [2.5] = 1 } end))
      assert.equal(bad("training.started_at must be an integer"),
                   refused(function(h) h.started_at = 1.5 end))
      assert.equal(bad("training.options: tables nested too deep"),
                   refused(function(h)
                     local t = {}
                     for _ = 1, 20 do t = { inner = t } end
                     h.options = t
                   end))
    end)

    it("values that do not hold together", function()
      assert.equal(bad("training.epochs[2].epoch is 3, not 2"),
                   refused(function(h) h.epochs[2].epoch = 3 end))
      assert.equal(bad("training.epochs[1].loss is not finite"),
                   refused(function(h) h.epochs[1].loss = 0 / 0 end))
      assert.equal(bad("training.epochs[2].val_loss is not finite"),
                   refused(function(h) h.epochs[2].val_loss = 1 / 0 end))
      assert.equal(bad("training.epochs[3].val_accuracy is 1.5, not in [0, 1]"),
                   refused(function(h) h.epochs[3].val_accuracy = 1.5 end))
      assert.equal(bad("training.epochs[1].ms is -1, not a duration"),
                   refused(function(h) h.epochs[1].ms = -1 end))
      assert.equal(bad("training.best_epoch is 4, not one of the 3 epochs"),
                   refused(function(h) h.best_epoch = 4 end))
      assert.equal(bad("training.stopped is 'tired', not 'epochs', 'patience' or 'callback'"),
                   refused(function(h) h.stopped = "tired" end))
      assert.equal(bad("training.rows is -1, not a count"),
                   refused(function(h) h.rows = -1 end))
      assert.equal(bad("training.started_at and training.ended_at come together"),
                   refused(function(h) h.started_at = 5 end))
      assert.equal(bad("training.ended_at is before training.started_at"),
                   refused(function(h) h.started_at, h.ended_at = 5, 4 end))
    end)

    it("options that do not fit", function()
      assert.equal(bad("option 'training' must be a table (the history of tr:fit)"),
                   refused(function() end, { training = true }))
      assert.equal(bad("option 'source' needs option 'training'"),
                   refused(function() end, { source = "SELECT 1" }))
      assert.equal(bad("option 'source' must be a string"),
                   refused(function(h) end, { training = history(), source = 1 }))
    end)
  end)
end)
