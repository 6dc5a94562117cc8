-- Tamper evidence for training runs (schema/004_training_digests.sql,
-- src/store/nn_store_train.c, store:history in src/lua/nn_lua_store_data.c): one digest
-- over a run and its epoch rows, checked whenever the run is read, by
-- store:history and through it store:svg_history and `nn show`.  Regression
-- specs for issue 9: a run or an epoch changed with the triggers dropped was
-- drawn and shown without a word.  The digests are checked against sha256sum
-- over the layout nn_store_train.c documents (spec/support/digest.lua).

local nn = require "nn"
local cli = require "nn.cli"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local compat = require "spec.support.compat"
local proc = require "spec.support.proc"

local exec, all, value = db.exec, db.all, db.value

local APPLICATION_ID = 0x6E6E4442

--- Version 2's run: three epochs, validation from the second, times and a
-- source; options JSON can hold, so that it reads back exactly.
local function history2()
  return {
    epochs = {
      { epoch = 1, loss = 0.6931471805599453, ms = 12.25 },
      { epoch = 2, loss = 0.4, val_loss = 0.45, val_accuracy = 0.75, ms = 10 },
      { epoch = 3, loss = 0.3, val_loss = 0.5, val_accuracy = 0.5, ms = 11.5 },
    },
    best_epoch = 2,
    stopped = "patience",
    options = { optimizer = "adam", lr = 0.001, batch = 32, shuffle = true,
                betas = { 0.9, 0.999 }, note = "tab\there \"quoted\" \1 é" },
    rows = 200,
    started_at = 1700000000000,
    ended_at = 1700000000034,
  }
end

--- Version 3's run: one epoch, no best epoch, no source, no times given.
local function history3()
  return { epochs = { { epoch = 1, loss = 0.2, ms = 1 } }, stopped = "epochs", rows = 4,
           options = {} }
end

--- A writer for cli.main that keeps what it is given.
local function sink()
  local parts = {}
  return { write = function(self, ...)
    for _, s in ipairs{ ... } do parts[#parts + 1] = tostring(s) end
    return self
  end, text = function() return table.concat(parts) end }
end

--- `nn show PATH ref`: its status, stdout and stderr.
local function show(path, ref)
  local out, err = sink(), sink()
  local status = cli.main({ "show", path, ref }, out, err)
  return status, out.text(), err.text()
end

describe("training digests", function()
  local path, store

  before_each(function()
    path = os.tmpname()
    store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn, seed.labels))              -- v1: no run
    store:save("leaf_flower", seed.network(nn), { training = history2(), source = "SELECT 1" })
    store:save("leaf_flower", seed.network(nn), { training = history3() })
    -- version n has version_id n: the SQL below counts on it
    assert.equal(2, value(store, "SELECT version_id FROM nn_version WHERE version = 2"))
  end)
  after_each(function()
    store:close()
    db.remove(path)
  end)

  it("are SHA-256 over the run's version, facts and epoch rows", function()
    local runs = all(store, "SELECT t.*, m.name AS model, v.version FROM nn_training AS t "
                     .. "JOIN nn_version AS v USING (version_id) "
                     .. "JOIN nn_model AS m USING (model_id) ORDER BY version_id")
    assert.equal(2, #runs)
    for _, t in ipairs(runs) do
      local epochs = all(store, "SELECT * FROM nn_training_epoch WHERE version_id = ? "
                         .. "ORDER BY epoch", t.version_id)
      assert.equal(digest.training(t, epochs), t.digest)
    end
  end)

  describe("store:history", function()
    it("gives back the history saved, exactly, with its source", function()
      local want = history2()
      want.source = "SELECT 1"
      want.options.note = "tab\there \"quoted\" \1 é"
      assert.same(want, store:history("leaf_flower", 2))
    end)

    it("reads the latest version by default, and nil for a version without a run", function()
      local got = store:history("leaf_flower")
      assert.same(history3().epochs, got.epochs)
      assert.same({}, got.options)
      assert.is_nil(got.best_epoch)
      assert.is_nil(got.source)
      assert.equal(4, got.rows)
      assert.equal("epochs", got.stopped)
      assert.equal(1, got.ended_at - got.started_at)   -- dated by save: 1 ms of epochs
      assert.is_nil(store:history("leaf_flower", 1))
    end)

    it("gives what store:save takes: saved again, the same run", function()
      local v = store:save("leaf_flower", seed.network(nn), {
        training = store:history("leaf_flower", 2), source = "SELECT 1" })
      assert.same(store:history("leaf_flower", 2), store:history("leaf_flower", v))
    end)

    it("refuses bad arguments, unknown models and versions", function()
      assert.has_error(function() store:history("tree") end, "no model named 'tree'")
      assert.has_error(function() store:history("leaf_flower", 9) end,
                       "model 'leaf_flower' has no version 9")
      assert.has_error(function() store:history("leaf_flower", 0) end,
                       "bad argument #2 to 'history' (version must be a positive integer)")
      assert.has_error(function() store:history("") end,
                       "bad argument #1 to 'history' (name must not be empty)")
      assert.has_error(function() store:history("leaf\0flower") end,
                       "bad argument #1 to 'history' (name contains a zero byte)")
      assert.has_error(function() store:history(2) end,
                       "bad argument #1 to 'history' (name: string expected, got number)")
    end)
  end)

  describe("refuse a run changed outside nn", function()
    local CHANGED = "model 'leaf_flower' version %d: its training run disagrees with its"
      .. " digest (changed outside nn?)"
    local MOVED = "model 'leaf_flower': its versions, label maps and training runs are not"
      .. " those nn saved (changed outside nn?)"

    --- The model's facts made to match its rows, as a tool writing rows does.
    local function refresh()
      exec(store, "UPDATE nn_model SET facts = nn_model_facts(model_id)")
    end

    --- Change rows with the triggers, checks and foreign keys out of the way.
    local function tamper(sql, ...)
      for _, t in ipairs{ "nn_training_no_update", "nn_training_no_delete",
                          "nn_training_epoch_no_update", "nn_training_epoch_no_delete" } do
        exec(store, "DROP TRIGGER IF EXISTS " .. t)
      end
      exec(store, "PRAGMA foreign_keys = OFF")
      exec(store, "PRAGMA ignore_check_constraints = ON")
      exec(store, sql, ...)
      exec(store, "PRAGMA ignore_check_constraints = OFF")
      exec(store, "PRAGMA foreign_keys = ON")
    end

    --- Every reader of the run raises message: store:history,
    -- store:svg_history and nn show.
    local function refused(message, version)
      version = version or 2
      assert.has_error(function() store:history("leaf_flower", version) end, message)
      assert.has_error(function() store:svg_history("leaf_flower", version) end, message)
      local status, out, err = show(path, "leaf_flower@" .. version)
      assert.equal(1, status)
      assert.equal("", out)
      assert.equal("nn show: " .. message .. "\n", err)
    end

    local changes = {
      { "its options", "UPDATE nn_training SET options = '{\"lr\":0.1}' WHERE version_id = 2" },
      { "its rows", "UPDATE nn_training SET rows = 201 WHERE version_id = 2" },
      { "its number of epochs", "UPDATE nn_training SET epochs = 2 WHERE version_id = 2" },
      { "its best epoch", "UPDATE nn_training SET best_epoch = 3 WHERE version_id = 2" },
      { "its best epoch, made NULL",
        "UPDATE nn_training SET best_epoch = NULL WHERE version_id = 2" },
      { "how it stopped", "UPDATE nn_training SET stopped = 'epochs' WHERE version_id = 2" },
      { "its source", "UPDATE nn_training SET source = 'SELECT 2' WHERE version_id = 2" },
      { "its source, made NULL", "UPDATE nn_training SET source = NULL WHERE version_id = 2" },
      { "its start", "UPDATE nn_training SET started_at = started_at - 1 WHERE version_id = 2" },
      { "its end", "UPDATE nn_training SET ended_at = ended_at + 1 WHERE version_id = 2" },
      { "its digest, another run's", "UPDATE nn_training SET digest = "
        .. "(SELECT digest FROM nn_training WHERE version_id = 3) WHERE version_id = 2" },
      { "an epoch's number",
        "UPDATE nn_training_epoch SET epoch = 4 WHERE version_id = 2 AND epoch = 3" },
      { "an epoch's loss, by one unit in the last place",
        "UPDATE nn_training_epoch SET loss = ? WHERE version_id = 2 AND epoch = 2",
        0.4 + 2 ^ -54 },
      { "an epoch's val_loss, where there was none",
        "UPDATE nn_training_epoch SET val_loss = 0.7 WHERE version_id = 2 AND epoch = 1" },
      { "an epoch's val_accuracy, made NULL",
        "UPDATE nn_training_epoch SET val_accuracy = NULL WHERE version_id = 2 AND epoch = 2" },
      { "an epoch's ms",
        "UPDATE nn_training_epoch SET ms = 11.25 WHERE version_id = 2 AND epoch = 3" },
      { "an epoch deleted", "DELETE FROM nn_training_epoch WHERE version_id = 2 AND epoch = 2" },
      { "an epoch added", "INSERT INTO nn_training_epoch VALUES (2, 4, 0.25, 0.5, 0.5, 9)" },
    }
    for _, case in ipairs(changes) do
      it(case[1], function()
        assert.is_table(store:history("leaf_flower", 2))
        tamper(case[2], compat.unpack(case, 3))
        refused(CHANGED:format(2))
      end)
    end

    it("an epoch moved to another version's run: both disagree", function()
      tamper("UPDATE nn_training_epoch SET version_id = 3 WHERE version_id = 2 AND epoch = 3")
      refused(CHANGED:format(2))
      refused(CHANGED:format(3), 3)
    end)

    it("the run moved to another version, with its epochs", function()
      tamper("UPDATE nn_training SET version_id = 1 WHERE version_id = 2")
      tamper("UPDATE nn_training_epoch SET version_id = 1 WHERE version_id = 2")
      -- the model's facts say which versions have runs
      refused(MOVED, 1)
      refused(MOVED, 2)
      -- made to agree with the rows, the run's own digest does not
      refresh()
      refused(CHANGED:format(1), 1)
    end)

    it("a best epoch of 0 where there was none, which nn never writes", function()
      -- the layout writes NULL and 0 alike: the reader refuses a 0
      tamper("UPDATE nn_training SET best_epoch = 0 WHERE version_id = 3")
      refused(CHANGED:format(3), 3)
    end)

    it("its digest removed", function()
      tamper("UPDATE nn_training SET digest = NULL WHERE version_id = 2")
      refused("model 'leaf_flower' version 2: its training run has no digest")
    end)

    it("the run deleted, its epochs left behind", function()
      tamper("DELETE FROM nn_training WHERE version_id = 2")
      refused("model 'leaf_flower': nn saved 2 training runs, the database holds 1"
              .. " (deleted outside nn?)")
      refresh()   -- the model's facts made to agree: the epochs are still there
      refused("model 'leaf_flower' version 2: its training epochs have no run"
              .. " (changed outside nn?)")
    end)

    it("options rewritten with their digest, to what save would not write", function()
      -- a digest is not a signature: what is checked then is the options' shape
      local function forge(options)
        tamper([[UPDATE nn_training SET options = ?1, digest = nn_training_digest(version_id,
                 ?1, rows, epochs, best_epoch, stopped, source, started_at, ended_at)
                 WHERE version_id = 2]], options)
      end
      forge("[1, 2]")
      refused("model 'leaf_flower' version 2: its training options are not a JSON object")
      forge(('{"a":'):rep(17) .. "1" .. ("}"):rep(17))
      refused("model 'leaf_flower' version 2: its training options nest too deep")
      forge(('{"a":'):rep(16) .. "1" .. ("}"):rep(16))
      local t = store:history("leaf_flower", 2).options
      for _ = 1, 15 do t = t.a end
      assert.same({ a = 1 }, t)
    end)
  end)

  it("take a run a tool writes in SQL, digest by nn_training_digest", function()
    exec(store, "BEGIN")
    exec(store, "PRAGMA defer_foreign_keys = ON")
    exec(store, "INSERT INTO nn_training_epoch VALUES (1, 1, 0.5, NULL, NULL, 2.5)")
    exec(store, [[INSERT INTO nn_training (version_id, options, rows, epochs, best_epoch,
      stopped, source, started_at, ended_at, digest) VALUES (1, '{"lr":0.5}', 10, 1, 1,
      'epochs', NULL, 5, 8, nn_training_digest(1, '{"lr":0.5}', 10, 1, 1, 'epochs', NULL, 5,
      8))]])
    exec(store, "UPDATE nn_model SET facts = nn_model_facts(model_id) WHERE model_id = 1")
    exec(store, "COMMIT")
    assert.same({ epochs = { { epoch = 1, loss = 0.5, ms = 2.5 } }, best_epoch = 1,
                  stopped = "epochs", options = { lr = 0.5 }, rows = 10, started_at = 5,
                  ended_at = 8 }, store:history("leaf_flower", 1))
  end)
end)

describe("a file of schema 3 with a training run", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() db.remove(path) end)

  --- Written by the sqlite3 shell from schema/001 to 003 (003's digests
  -- computed by spec/support/digest.lua), as nn before training digests
  -- wrote it: version 1 of leaf_flower and its run.
  local function schema_3_file()
    local blob = compat.pack_f32le(seed.params())
    local read = function(p) return assert(io.open(p)):read("*a") end
    local arch = '[{"type":"Linear","in":4,"out":3},{"type":"ReLU"},'
      .. '{"type":"Linear","in":3,"out":2},{"type":"SoftMax"}]'
    -- 003's digests, laid out as they were then (over the model_id): the functions
    -- it calls are nn.open's while it migrates, so the spec gives their values
    local v1 = digest.version({ model_id = 1, version = 1, n_inputs = 4, n_outputs = 2,
      n_params = 23, arch = arch, weights = blob }, 1)
    local m1 = digest.labelmap({ model_id = 1, name = "default",
      labels = '["leaf","flower"]' }, 1)
    local script = table.concat({
      read("schema/001_init.sql"), read("schema/002_training.sql"),
      "INSERT INTO nn_model VALUES (1, 'leaf_flower', 0);",
      ([[INSERT INTO nn_version VALUES (1, 1, 1, '%s', 4, 2, 23, X'%s', '%s', NULL, 0);]])
        :format(arch, (blob:gsub(".", function(c) return ("%02X"):format(c:byte()) end)),
        compat.fnv1a64(blob)),
      [[INSERT INTO nn_labelmap VALUES (1, 1, 'default', '["leaf","flower"]', 0);]],
      (read("schema/003_digests.sql"):gsub("nn_version_digest_1%b()", "'" .. v1 .. "'")
        :gsub("nn_labelmap_digest_1%b()", "'" .. m1 .. "'")),
      [[INSERT INTO nn_training VALUES (1, '{"lr":0.5,"epochs":2}', 4, 2, 2, 'epochs',
        'leaves.csv', 1000, 1020);]],
      "INSERT INTO nn_training_epoch VALUES (1, 1, 0.75, NULL, NULL, 10.0);",
      "INSERT INTO nn_training_epoch VALUES (1, 2, 0.5, 0.625, 0.5, 10.0);",
      ("PRAGMA user_version = 3; PRAGMA application_id = %d;"):format(APPLICATION_ID),
    }, "\n")
    local f = assert(io.open(path .. ".sql", "w"))
    f:write(script, "\n")
    f:close()
    proc.run("sqlite3 -bail " .. path .. " < " .. path .. ".sql")
    os.remove(path .. ".sql")
  end

  it("is migrated: its runs get their digests once, and they verify", function()
    schema_3_file()
    assert.equal("3\n", proc.run("sqlite3 " .. path .. " 'PRAGMA user_version'"))
    local store = assert(nn.open(path))
    assert.equal(db.schema_count(), value(store, "PRAGMA user_version"))
    local t = all(store, "SELECT t.*, m.name AS model, v.version FROM nn_training AS t "
                  .. "JOIN nn_version AS v USING (version_id) JOIN nn_model AS m USING (model_id)")[1]
    local epochs = all(store, "SELECT * FROM nn_training_epoch ORDER BY epoch")
    assert.equal(digest.training(t, epochs), t.digest)
    assert.same({
      epochs = { { epoch = 1, loss = 0.75, ms = 10 },
                 { epoch = 2, loss = 0.5, val_loss = 0.625, val_accuracy = 0.5, ms = 10 } },
      best_epoch = 2, stopped = "epochs", options = { lr = 0.5, epochs = 2 }, rows = 4,
      source = "leaves.csv", started_at = 1000, ended_at = 1020,
    }, store:history("leaf_flower"))
    -- the trigger the migration dropped to fill the digests is back
    assert.has_error(function() exec(store, "UPDATE nn_training SET rows = 5") end,
                     "nn_training is immutable")
    store:close()
  end)
end)
