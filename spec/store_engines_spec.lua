--- One store, two engines (src/store/nn_store_engine.h): the same specs run
-- against an SQLite file and against a schema of the PostgreSQL server the
-- spec run starts itself (spec/support/pg.lua).  Same methods, same table
-- and view names, same digests, same errors for the same bad input.  Then
-- what only a server can do to a store: be out of reach, hold a schema of
-- another program's, or one from a newer nn.
--
-- Every number is checked against an independent reference: the seed's
-- weights as float32 (compat.f32), a double-precision forward pass in Lua,
-- digests by sha256sum over the documented layout (spec/support/digest.lua),
-- accuracy by hand.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local compat = require "spec.support.compat"
local pg = require "spec.support.pg"

local all, value = db.all, db.value

-- the migrations of schema/pg/: the version nn_meta holds once migrated
local PG_SCHEMA = tonumber((compat.sh("ls schema/pg | grep -c '^[0-9][0-9]*_.*[.]sql$'")))

--- The seed's outputs for x in double precision: softmax(W2 relu(W1 x + b1) + b2).
local function reference(x)
  local h, o = {}, {}
  for j, row in ipairs(seed.W1) do
    local sum = seed.b1[j]
    for i, w in ipairs(row) do sum = sum + w * x[i] end
    h[j] = math.max(sum, 0)
  end
  local total = 0
  for k, row in ipairs(seed.W2) do
    local sum = seed.b2[k]
    for j, w in ipairs(row) do sum = sum + w * h[j] end
    o[k] = math.exp(sum)
    total = total + o[k]
  end
  for k = 1, #o do o[k] = o[k] / total end
  return o
end

-- float32 arithmetic against the double reference: relative error
local TOLERANCE = 1e-5

local function argmax(y)
  local best = 1
  for i = 2, #y do if y[i] > y[best] then best = i end end
  return best
end

local server
local serial = 0

--- The engines: each makes a fresh, empty database and opens stores on it.
local engines = {
  {
    name = "sqlite",
    blob = "X'01'",   -- a value of the engine's bytes type
    fresh = function()
      local path = os.tmpname()
      db.remove(path)
      return {
        open = function(opts) return nn.open(path, opts) end,
        cleanup = function() db.remove(path) end,
      }
    end,
  },
  {
    name = "postgresql",
    blob = "'\\x01'::bytea",
    fresh = function()
      serial = serial + 1
      local schema = "spec_" .. serial
      return {
        schema = schema,
        open = function(opts)
          local o = { schema = schema }
          for k, v in pairs(opts or {}) do o[k] = v end
          return nn.open(server:url(), o)
        end,
        cleanup = function() end,
      }
    end,
  },
}

setup(function()
  server = pg.start()
end)

teardown(function()
  if server then server:stop() end
end)

for _, engine in ipairs(engines) do
  describe("a store on " .. engine.name, function()
    local target, store

    before_each(function()
      target = engine.fresh()
      store = assert(target.open())
    end)

    after_each(function()
      store:close()
      target.cleanup()
    end)

    it("saves the seed's network and loads it back, weights exact as float32", function()
      assert.are.equal(1, store:save("leaf_flower", seed.network(nn, seed.labels)))
      assert.are.equal(2, store:save("leaf_flower", seed.network(nn, seed.labels)))
      local net = store:load("leaf_flower")
      local W, b = net:get_weights(1)
      for j = 1, 3 do
        for i = 1, 4 do assert.are.equal(compat.f32(seed.W1[j][i]), W[j][i]) end
        assert.are.equal(compat.f32(seed.b1[j]), b[j])
      end
      assert.are.same(seed.labels, net:labels())
      local y, ref = net:forward(seed.input), reference(seed.input)
      for k = 1, 2 do
        assert.is_true(math.abs(y[k] - ref[k]) <= TOLERANCE * math.abs(ref[k]))
      end
      assert.are.equal(1, store:load("leaf_flower", 1):n_params() - 22)
    end)

    it("saves a graph and loads it back: what each layer reads, and its outputs", function()
      -- x -> Linear -> h; y = h + ReLU(Linear(h)), then a Concat of Linear(y) and Tanh(y)
      local net = nn.Sequential{ nn.Linear(4, 3), nn.Residual{ nn.Linear(3, 3), nn.ReLU() },
        nn.Concat{ nn.Linear(3, 2), nn.Tanh() } }
      store:save("graph", net)
      local back = store:load("graph")
      assert.are.equal(tostring(net), tostring(back))
      for i, m in ipairs(net:modules()) do assert.are.same(m.inputs, back:modules()[i].inputs) end
      assert.are.same(net:forward(seed.input), back:forward(seed.input))
      -- its arch JSON names the inputs of the joins and the branch only
      local arch = value(store, "SELECT arch AS a FROM nn_version v JOIN nn_model m"
        .. " ON m.model_id = v.model_id WHERE m.name = 'graph'")
      assert.are.equal('[{"type":"Linear","in":4,"out":3},{"type":"Linear","in":3,"out":3},'
        .. '{"type":"ReLU"},{"type":"Add","from":[1,3]},{"type":"Linear","in":3,"out":2},'
        .. '{"type":"Tanh","from":[4]},{"type":"Concat","from":[5,6]}]', arch)
    end)

    it("stores the digest the documented layout gives (sha256sum)", function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local v = all(store, "SELECT m.name AS model, version, n_inputs, n_outputs, n_params,"
        .. " arch, weights, digest FROM nn_version JOIN nn_model AS m USING (model_id)")[1]
      assert.are.equal(23 * 4, #v.weights)
      assert.are.equal(digest.version(v), v.digest)
      local m = all(store, "SELECT m.name AS model, l.name, labels, digest"
        .. " FROM nn_labelmap AS l JOIN nn_model AS m USING (model_id)")[1]
      assert.are.equal('["leaf","flower"]', m.labels)
      assert.are.equal(digest.labelmap(m), m.digest)
    end)

    it("keeps a training run with its version, digested as documented, and reads it back",
       function()
      local h = {
        epochs = {
          { epoch = 1, loss = 0.6931471805599453, ms = 12.25 },
          { epoch = 2, loss = 0.4, val_loss = 0.45, val_accuracy = 0.75, ms = 10 },
          { epoch = 3, loss = 1 / 3, val_loss = 0.1 + 0.2, val_accuracy = 0.5, ms = 11.5 },
        },
        best_epoch = 2, stopped = "patience", rows = 200,
        options = { optimizer = "adam", lr = 0.001 },
        started_at = 1700000000000, ended_at = 1700000000034,
      }
      store:save("leaf_flower", seed.network(nn, seed.labels), { training = h, source = "SELECT 1" })
      local back = store:history("leaf_flower")
      assert.are.equal(3, #back.epochs)
      for i, e in ipairs(h.epochs) do
        for _, k in ipairs{ "epoch", "loss", "val_loss", "val_accuracy", "ms" } do
          assert.are.equal(e[k], back.epochs[i][k])   -- exact: the same doubles
        end
      end
      assert.are.same({ 2, "patience", 200, "adam", 0.001 },
        { back.best_epoch, back.stopped, back.rows, back.options.optimizer, back.options.lr })
      local t = all(store, "SELECT m.name AS model, v.version, t.rows, t.epochs, t.best_epoch,"
        .. " t.started_at, t.ended_at, t.stopped, t.options, t.source, t.digest"
        .. " FROM nn_training AS t JOIN nn_version AS v USING (version_id)"
        .. " JOIN nn_model AS m USING (model_id)")[1]
      local epochs = all(store, "SELECT epoch, loss, val_loss, val_accuracy, ms"
        .. " FROM nn_training_epoch ORDER BY epoch")
      assert.are.equal("SELECT 1", t.source)
      assert.are.equal(digest.training(t, epochs), t.digest)
    end)

    it("reads the same weights as another map of labels, and refuses a map that does not fit",
       function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      store:add_labels("leaf_flower", "weather", seed.weather)
      local want = argmax(reference(seed.input))
      local label, score = store:classify("leaf_flower", seed.input, { labels = "weather" })
      assert.are.equal(seed.weather[want], label)
      assert.is_true(math.abs(score - reference(seed.input)[want]) <= TOLERANCE)
      assert.has_error(function() store:add_labels("leaf_flower", "three", { "a", "b", "c" }) end,
        "bad argument #3 to 'add_labels' (labels: 3 given, model 'leaf_flower' has 2 outputs)")
      assert.has_error(function() store:classify("leaf_flower", seed.input, { labels = "nope" }) end,
        "model 'leaf_flower' has no label map 'nope'")
    end)

    it("logs predictions, takes feedback, and counts accuracy in nn_accuracy", function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local leaf = seed.labels[argmax(reference(seed.input))]
      local flower = seed.labels[argmax(reference(seed.flower_input))]
      assert.are.equal("leaf", leaf)
      assert.are.equal("flower", flower)
      local l1, _, id1 = store:classify("leaf_flower", seed.input, { request_id = "r1" })
      local l2, _, id2 = store:classify("leaf_flower", seed.flower_input, { tags = { level = 3 } })
      assert.are.equal(leaf, l1)
      assert.are.equal(flower, l2)
      assert.is_true(id1 ~= id2)
      assert.is_truthy(store:feedback(id1, "leaf"))    -- right
      assert.is_truthy(store:feedback(id2, 1))         -- wrong: 1 is leaf
      local acc = all(store, "SELECT name, version, n, correct, accuracy FROM nn_accuracy")
      assert.are.equal(1, #acc)
      assert.are.equal("leaf_flower", acc[1].name)
      assert.are.equal(1, acc[1].version)
      assert.are.equal(2, acc[1].n)
      assert.are.equal(1, acc[1].correct)
      assert.are.equal(0.5, acc[1].accuracy)
      local rows = all(store, "SELECT prediction_id, name, version, labelmap, pred_idx,"
        .. " pred_label, request_id FROM nn_predictions ORDER BY prediction_id")
      assert.are.equal(2, #rows)
      assert.are.same({ id1, "leaf_flower", 1, "default", 1, "leaf", "r1" },
        { rows[1].prediction_id, rows[1].name, rows[1].version, rows[1].labelmap,
          rows[1].pred_idx, rows[1].pred_label, rows[1].request_id })
      assert.are.equal(2, rows[2].pred_idx)
      assert.is_nil(rows[2].request_id)
    end)

    it("keeps rows in memory until flush, and counts them in stats", function()
      store:close()
      store = assert(target.open({ flush_rows = 1000, flush_ms = 60000 }))
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local net = store:load("leaf_flower")
      for _ = 1, 3 do store:log(net, seed.input, net:forward(seed.input)) end
      local st = store:stats()
      assert.are.equal(3, st.pending)
      assert.are.equal(0, st.written)
      -- store:rows writes the waiting rows first, so the query sees them
      assert.are.equal(3, value(store, "SELECT count(*) FROM nn_prediction"))
      st = store:stats()
      assert.are.equal(0, st.pending)
      assert.are.equal(3, st.written)
    end)

    it("takes feedback on a prediction still waiting in memory, and writes both at once", function()
      store:close()
      store = assert(target.open({ flush_rows = 1000, flush_ms = 60000 }))
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local _, _, id = store:classify("leaf_flower", seed.flower_input)
      local fid = store:feedback(id, "flower")
      assert.is_truthy(fid)
      -- feedback is due at once: the prediction goes first, in the same write
      assert.are.equal(0, store:stats().pending)
      assert.are.equal(2, store:stats().written)
      assert.has_error(function() store:feedback(id, "tree") end,
        "feedback: 'tree' is not a label of map 'default'")
      store:flush()
      local rows = all(store, "SELECT feedback_id, prediction_id, true_idx, true_label"
        .. " FROM nn_feedback")
      assert.are.same({ { feedback_id = fid, prediction_id = id, true_idx = 2,
                          true_label = "flower" } }, rows)
      assert.are.equal(1.0, value(store, "SELECT accuracy FROM nn_accuracy"))
    end)

    it("answers the caller's SQL with values of their own types", function()
      local row = all(store, "SELECT $1 + 1 AS i, 2.5 AS f, 'x' AS t, NULL AS n", 41)[1]
      assert.are.equal(42, row.i)
      assert.is_true(compat.is_integer(row.i))
      assert.are.equal(2.5, row.f)
      assert.is_true(compat.is_float(row.f))
      assert.are.equal("x", row.t)
      assert.is_nil(row.n)
      assert.has_error(function() store:rows("SELECT 1; SELECT 2") end,
        "bad argument #1 to 'rows' (more than one SQL statement)")
      local ok, err = pcall(store.rows, store, "SELECT * FROM no_such_table")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("no_such_table", 1, true), err)
    end)

    it("gives ids unique across two writers on the same database", function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local other = assert(target.open({ flush_rows = 3 }))
      store:close()
      store = assert(target.open({ flush_rows = 3 }))
      local seen, ids = {}, {}
      for i = 1, 10 do
        for _, s in ipairs{ store, other } do
          local _, _, id = s:classify("leaf_flower", i % 2 == 0 and seed.input or seed.flower_input)
          assert.is_nil(seen[id])
          seen[id] = true
          ids[#ids + 1] = id
        end
      end
      store:flush()
      other:close()
      local stored = {}
      for row in store:rows("SELECT prediction_id FROM nn_prediction") do
        stored[#stored + 1] = row.prediction_id
      end
      table.sort(ids)
      table.sort(stored)
      assert.are.same(ids, stored)
    end)

    it("refuses bad input with the same words", function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local _, _, id = store:classify("leaf_flower", seed.input)
      assert.has_error(function() store:load("nope") end, "no model named 'nope'")
      assert.has_error(function() store:load("leaf_flower", 9) end,
        "model 'leaf_flower' has no version 9")
      assert.has_error(function() store:feedback(id + 100000, 1) end,
        ("feedback: no prediction with id %d"):format(id + 100000))
      assert.has_error(function() store:feedback(id, "tree") end,
        "feedback: 'tree' is not a label of map 'default'")
      assert.has_error(function() store:feedback(id, 3) end, "feedback: index 3 is not in 1..2")
      local net = store:load("leaf_flower")
      assert.has_error(function() store:log(net, seed.input, { 0 / 0, 1 }) end,
        "bad argument #3 to 'log' (y[1] is NaN)")
      assert.has_error(function() store:rows("") end,
        "bad argument #1 to 'rows' (no SQL statement)")
      assert.are.equal(1, value(store, "SELECT count(*) FROM nn_prediction"))
      assert.are.equal(0, value(store, "SELECT count(*) FROM nn_feedback"))
    end)

    it("refuses to write when opened read-only", function()
      store:save("leaf_flower", seed.network(nn, seed.labels))
      local ro = assert(target.open({ readonly = true }))
      assert.are.equal("leaf", (ro:classify("leaf_flower", seed.input)))
      assert.has_error(function() ro:save("x", seed.network(nn)) end,
        "the store was opened read-only (readonly = true)")
      ro:close()
    end)

    --- store:matrix and store:feedback_set (src/store/nn_store_data.c, one C
    -- over the cursor of either engine): every number compared with the one
    -- written, rounded once to float32 in Lua; every error word for word.
    local function f32_rows(rows)
      local out = {}
      for i, row in ipairs(rows) do
        out[i] = {}
        for j, v in ipairs(row) do out[i][j] = compat.f32(v) end
      end
      return out
    end

    --- The message of what f raised, without its position.
    local function refused(f, ...)
      local ok, err = pcall(f, ...)
      assert.is_false(ok)
      return (tostring(err):gsub("^.-:%d+: ", "", 1))
    end

    local function exec(sql) for _ in store:rows(sql) do end end

    it("makes a matrix of a query: numbers in the order of the columns, JSON arrays expanded",
      function()
      exec("CREATE TABLE t (id integer, a double precision, v text, b integer)")
      exec("INSERT INTO t VALUES (1, 0.1, '[1.5, -2e-3,3]', 7), (2, -11.2, ' [ 4,5 ,6 ] ', 8),"
        .. " (3, 2.5e-7, '[16777217, 0.3, -1e30]', -9)")
      local X = store:matrix("SELECT a, v, b FROM t ORDER BY id")
      assert.equal(3, X:rows())
      assert.equal(5, X:cols())
      assert.same(f32_rows{ { 0.1, 1.5, -2e-3, 3, 7 }, { -11.2, 4, 5, 6, 8 },
                            { 2.5e-7, 16777217, 0.3, -1e30, -9 } }, X:to_table())
      -- parameters as store:rows takes them ($1.. on both), in order
      X = store:matrix("SELECT b, a FROM t WHERE id >= $1 AND a > $2 ORDER BY id", 2, -11.5)
      assert.same(f32_rows{ { 8, -11.2 }, { -9, 2.5e-7 } }, X:to_table())
      X = store:matrix("SELECT a, b FROM t WHERE id < 0")
      assert.equal(0, X:rows())
      assert.equal(2, X:cols())
    end)

    it("makes a matrix of the logged inputs, those still in memory too", function()
      store:close()
      store = assert(target.open({ flush_rows = 1000, flush_ms = 60000 }))
      store:save("leaf_flower", seed.network(nn, seed.labels))
      store:classify("leaf_flower", seed.input)
      store:classify("leaf_flower", seed.flower_input)
      assert.equal(2, store:stats().pending)
      local X = store:matrix("SELECT input FROM nn_prediction ORDER BY prediction_id")
      assert.same(f32_rows{ seed.input, seed.flower_input }, X:to_table())
    end)

    it("refuses what is not a matrix with the same words, naming the row and the column",
      function()
      local function matrix(sql, ...) return refused(store.matrix, store, sql, ...) end
      exec("CREATE TABLE t (id integer, a double precision, v text)")
      exec("INSERT INTO t VALUES (1, 1, '[1,2]'), (2, NULL, '[1,2,3]'), (3, 3, 'abc')")
      assert.equal("row 2, column 2 ('x'): NULL", matrix("SELECT id, a AS x FROM t ORDER BY id"))
      assert.equal("row 2, column 1 ('v'): 3 numbers, row 1 had 2",
                   matrix("SELECT v FROM t ORDER BY id"))
      assert.equal("row 1, column 1 ('v'): text that is not a JSON array of numbers",
                   matrix("SELECT v FROM t WHERE id = 3"))
      for _, text in ipairs{ "[1,null]", "[1,[2]]", "{\"a\":1}", "[\"1\"]", "[1e39]" } do
        assert.equal("row 1, column 1 ('v'): text that is not a JSON array of numbers",
                     matrix("SELECT v FROM t WHERE id = $1 UNION ALL SELECT $2", 0, text))
      end
      assert.equal("row 1, column 1 ('v'): an empty JSON array",
                   matrix("SELECT '[]' AS v FROM t WHERE id = 1"))
      assert.equal("row 1, column 1 ('b'): a BLOB, not a number",
                   matrix("SELECT " .. engine.blob .. " AS b"))
      assert.equal("row 1, column 2 ('big'): 1e+39 is out of range for float32",
                   matrix("SELECT 1 AS one, 1e39 AS big"))
      assert.equal("more than one SQL statement", matrix("SELECT 1 AS a; SELECT 2 AS a"))
      assert.equal("no SQL statement", matrix("  "))
      assert.equal("the statement has 1 parameter, 2 given", matrix("SELECT $1 + 0 AS a", 1, 2))
      assert.equal("the statement has 0 parameters, 1 given", matrix("SELECT 1 AS a", 1))
      -- a statement without columns is refused before it runs
      assert.equal("the statement gives no columns", matrix("CREATE TABLE u (a integer)"))
      assert.truthy(matrix("SELECT a FROM u"):find("u", 1, true))
      assert.truthy(matrix("SELECT * FROM nope"):find("nope", 1, true))
      store:close()
      assert.equal("attempt to use a closed nn.Store", matrix("SELECT 1 AS a"))
      store = assert(target.open())
    end)

    describe("with a log that got feedback", function()
      local x3 = { 11.2, 0, 0.1, 1 }
      local id1, id2, id3, id4, id5

      --- Predictions 1 (version 1) and 2 (version 2) of leaf_flower get
      -- feedback, 2 twice (the latest wins), 3 none; 4 of the unlabelled
      -- model 'other' gets an index alone; 5 is logged when 'lonely' had none.
      before_each(function()
        store:save("leaf_flower", seed.network(nn, seed.labels))   -- version 1
        store:save("leaf_flower", seed.network(nn, seed.labels))   -- version 2
        store:add_labels("leaf_flower", "reversed", { "flower", "leaf" })
        store:save("other", seed.network(nn))
        local v1 = store:load("leaf_flower", 1)
        id1 = store:log(v1, seed.input, v1:forward(seed.input))
        _, _, id2 = store:classify("leaf_flower", seed.flower_input)
        _, _, id3 = store:classify("leaf_flower", x3)
        local other = store:load("other")
        id4 = store:log(other, x3, other:forward(x3))
        store:save("lonely", seed.network(nn))
        local lonely = store:load("lonely")
        id5 = store:log(lonely, x3, lonely:forward(x3))
        store:feedback(id1, "leaf")
        store:feedback(id2, "leaf")
        store:feedback(id2, "flower")
        store:feedback(id4, 2)
        assert.is_truthy(id3 and id5)
      end)

      it("gives the inputs, the true classes and the ids, latest answer winning", function()
        local X, T, ids = store:feedback_set("leaf_flower")
        assert.same(f32_rows{ seed.input, seed.flower_input }, X:to_table())
        assert.same({ 1, 2 }, T)
        assert.same({ id1, id2 }, ids)
        X, T, ids = store:feedback_set("leaf_flower", { version = 1 })
        assert.same(f32_rows{ seed.input }, X:to_table())
        assert.same({ 1 }, T)
        assert.same({ id1 }, ids)
        X, T, ids = store:feedback_set("other")
        assert.same(f32_rows{ x3 }, X:to_table())
        assert.same({ 2 }, T)
        assert.same({ id4 }, ids)
        -- as many as nn_accuracy counts
        local n = 0
        for row in store:rows("SELECT n FROM nn_accuracy WHERE name = 'leaf_flower'") do
          n = n + row.n
        end
        assert.equal(2, n)
      end)

      it("places the true labels in a label map, or in labels given", function()
        local _, T = store:feedback_set("leaf_flower", { labels = "reversed" })
        assert.same({ 2, 1 }, T)
        _, T = store:feedback_set("leaf_flower", { labels = "default" })
        assert.same({ 1, 2 }, T)
        _, T = store:feedback_set("leaf_flower", { labels = { "cat", "flower", "leaf", "leaf" } })
        assert.same({ 3, 2 }, T)
        _, T = store:feedback_set("leaf_flower", { labels = { "fl\"ow", "flower", "l\\eaf", "leaf" } })
        assert.same({ 4, 2 }, T)
      end)

      it("gives no rows, as wide as the model's input, when nothing got feedback", function()
        local X, T, ids = store:feedback_set("lonely")
        assert.equal(0, X:rows())
        assert.equal(4, X:cols())
        assert.same({}, T)
        assert.same({}, ids)
      end)

      it("refuses with the same words what it cannot give", function()
        local function fs(...) return refused(store.feedback_set, store, ...) end
        assert.equal("no model named 'nope'", fs("nope"))
        assert.equal("model 'leaf_flower' has no version 9", fs("leaf_flower", { version = 9 }))
        assert.equal("model 'leaf_flower' has no label map 'nope'",
                     fs("leaf_flower", { labels = "nope" }))
        assert.equal(("prediction %d: its feedback 'leaf' is not one of the labels"):format(id1),
                     fs("leaf_flower", { labels = { "flower" } }))
        assert.equal(("prediction %d: its feedback has no label (it is index 2)"):format(id4),
                     fs("other", { labels = { "leaf", "flower" } }))
      end)

      it("refuses inputs of different widths", function()
        store:save("leaf_flower", nn.Sequential{ nn.Linear(3, 2) })   -- version 3 takes 3
        local v3 = store:load("leaf_flower", 3)
        local id6 = store:log(v3, { 1, 2, 3 }, v3:forward({ 1, 2, 3 }))
        store:feedback(id6, 1)
        assert.equal(("prediction %d has 3 inputs, the first one has 4"):format(id6),
                     refused(store.feedback_set, store, "leaf_flower"))
        local X = store:feedback_set("leaf_flower", { version = 3 })
        assert.same({ { 1, 2, 3 } }, X:to_table())
      end)
    end)

    it("is closed once, and refuses use after close", function()
      assert.is_true(store:close())
      assert.is_true(store:close())
      assert.has_error(function() store:load("leaf_flower") end,
        "attempt to use a closed nn.Store")
      store = assert(target.open())
    end)
  end)
end

describe("a store on PostgreSQL", function()
  local serial_pg = 0
  local function schema()
    serial_pg = serial_pg + 1
    return "pgonly_" .. serial_pg
  end

  it("saves the same digest as an SQLite store for the same network", function()
    local a = assert(nn.open(":memory:"))
    local b = assert(nn.open(server:url(), { schema = schema() }))
    a:save("leaf_flower", seed.network(nn, seed.labels))
    b:save("leaf_flower", seed.network(nn, seed.labels))
    local q = "SELECT digest FROM nn_version UNION ALL SELECT digest FROM nn_labelmap"
    local da, dbb = all(a, q), all(b, q)
    assert.are.same(da, dbb)
    a:close()
    b:close()
  end)

  it("says it cannot connect to a wrong address, as cantopen", function()
    local dir = compat.sh("mktemp -d"):gsub("\n$", "")
    local store, message, code = nn.open(("postgresql:///postgres?host=%s&user=nn"):format(dir))
    compat.sh("rmdir " .. dir)
    assert.is_nil(store)
    assert.are.equal("cantopen", code)
    assert.truthy(message:find(": cannot connect: ", 1, true), message)
  end)

  it("hides a password in what it shows", function()
    local _, message = nn.open("postgresql://nn:hunter2@/postgres?host=/nonexistent")
    assert.is_nil(message:find("hunter2", 1, true))
    assert.truthy(message:find("postgresql://nn:*******@/postgres", 1, true), message)
  end)

  it("leaves a schema of other tables alone, as foreign", function()
    local s = schema()
    server:sql(("CREATE SCHEMA %s; CREATE TABLE %s.players (name text)"):format(s, s))
    local store, message, code = nn.open(server:url(), { schema = s })
    assert.is_nil(store)
    assert.are.equal("foreign", code)
    assert.truthy(message:find("not an nn store (schema '" .. s .. "' holds tables of its own)",
      1, true), message)
    assert.are.equal("players\n", server:sql(("SELECT string_agg(relname, ',')"
      .. " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      .. " WHERE nspname = '%s'"):format(s)))
  end)

  it("refuses a schema from a newer nn", function()
    local s = schema()
    assert(nn.open(server:url(), { schema = s })):close()
    server:sql(("UPDATE %s.nn_meta SET value = '99' WHERE key = 'version'"):format(s))
    local store, message, code = nn.open(server:url(), { schema = s })
    assert.is_nil(store)
    assert.are.equal("schema", code)
    assert.truthy(message:find(("schema version 99 is newer than this nn knows (%d)")
      :format(PG_SCHEMA), 1, true), message)
  end)

  -- What schema/pg/003_store_id.sql adds, taken away again (SQL for psql).
  local function undo_store_id(s)
    return ("; DELETE FROM %s.nn_meta WHERE key = 'store_id'; DROP TABLE %s.nn_push_mark;"
      .. " DROP INDEX %s.nn_prediction_by_origin, %s.nn_feedback_by_origin;"
      .. " ALTER TABLE %s.nn_prediction DROP COLUMN origin, DROP COLUMN origin_id;"
      .. " ALTER TABLE %s.nn_feedback DROP COLUMN origin, DROP COLUMN origin_id")
      :format(s, s, s, s, s, s)
  end

  -- What schema/pg/004_model_facts.sql adds, taken away again (SQL for psql).
  local function undo_facts(s)
    return ("; ALTER TABLE %s.nn_model DROP COLUMN facts; DROP FUNCTION %s.nn_model_facts(bigint)")
      :format(s, s)
  end

  local undo_digests = pg.undo_digests_by_name

  it("migrates an older schema forward on open, keeping what it held", function()
    local s = schema()
    local store = assert(nn.open(server:url(), { schema = s }))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:close()
    local facts = server:sql(("SELECT facts FROM %s.nn_model"):format(s))
    -- back to schema 1, as an older nn left it: no training tables
    local before = server:sql(("SELECT digest FROM %s.nn_version"):format(s))
    server:sql(undo_digests(s):sub(3) .. ("; DROP TABLE %s.nn_training_epoch, %s.nn_training;"
      .. " UPDATE %s.nn_meta SET value = '1' WHERE key = 'version'"):format(s, s, s)
      .. undo_store_id(s) .. undo_facts(s))
    assert.are_not.equal(before, server:sql(("SELECT digest FROM %s.nn_version"):format(s)))
    store = assert(nn.open(server:url(), { schema = s }))
    -- the digests over the model_id, checked, then laid out over its name
    assert.are.equal(before, server:sql(("SELECT digest FROM %s.nn_version"):format(s)))
    local v = all(store, "SELECT m.name AS model, v.* FROM nn_version AS v"
      .. " JOIN nn_model AS m USING (model_id)")[1]
    assert.are.equal(digest.version(v), v.digest)
    assert.has_error(function() db.exec(store, "UPDATE nn_model SET name = 'other'") end)
    assert.are.equal(PG_SCHEMA .. "\n", server:sql(("SELECT value FROM %s.nn_meta"
      .. " WHERE key = 'version'"):format(s)))
    assert.are.equal(0, value(store, "SELECT count(*) FROM nn_training"))
    assert.are.equal(facts, value(store, "SELECT facts FROM nn_model") .. "\n")
    assert.truthy(value(store, "SELECT value FROM nn_meta WHERE key = 'store_id'")
      :match("^%x+$"))
    assert.are.equal("leaf", (store:classify("leaf_flower", seed.input)))
    store:close()
    -- a read-only open does not migrate: it says so
    server:sql(undo_digests(s):sub(3) .. ("; DROP TABLE %s.nn_training_epoch, %s.nn_training;"
      .. " UPDATE %s.nn_meta SET value = '1' WHERE key = 'version'"):format(s, s, s)
      .. undo_store_id(s) .. undo_facts(s))
    local ro, message, code = nn.open(server:url(), { schema = s, readonly = true })
    assert.is_nil(ro)
    assert.are.equal("schema", code)
    assert.truthy(message:find(("schema version 1 is older than this nn's (%d), and a read-only"
      .. " open cannot migrate it"):format(PG_SCHEMA), 1, true), message)
  end)

  it("refuses to migrate a store of schema 4 whose row does not verify, and leaves it as it was",
     function()
    local s = schema()
    local store = assert(nn.open(server:url(), { schema = s }))
    store:save("leaf_flower", seed.network(nn, seed.labels),
               { training = { epochs = { { epoch = 1, loss = 0.5, ms = 3 } }, stopped = "epochs",
                              rows = 4, options = {} } })
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:close()
    server:sql(("UPDATE %s.nn_meta SET value = '4' WHERE key = 'version'"):format(s)
      .. undo_digests(s))
    -- version 2's weights changed outside nn
    server:sql(("ALTER TABLE %s.nn_version DISABLE TRIGGER USER; UPDATE %s.nn_version"
      .. " SET weights = set_byte(weights, 0, get_byte(weights, 0) # 1) WHERE version = 2;"
      .. " ALTER TABLE %s.nn_version ENABLE TRIGGER USER"):format(s, s, s))
    local rows = ("SELECT digest FROM %s.nn_version UNION ALL SELECT digest FROM"
      .. " %s.nn_labelmap UNION ALL SELECT digest FROM %s.nn_training"):format(s, s, s)
    local before = server:sql(rows)
    local again, message, code = nn.open(server:url(), { schema = s })
    assert.is_nil(again)
    assert.truthy(message:find("schema migration 5: ", 1, true), message)
    assert.truthy(message:find("model 'leaf_flower' version 2: its digest does not verify"
      .. " (changed outside nn?); nothing was migrated", 1, true), message)
    assert.are.equal("4\n", server:sql(("SELECT value FROM %s.nn_meta WHERE key = 'version'")
      :format(s)))
    assert.are.equal(before, server:sql(rows))
    -- put right, it migrates, and its run verifies under the new layout
    server:sql(("ALTER TABLE %s.nn_version DISABLE TRIGGER USER; UPDATE %s.nn_version"
      .. " SET weights = set_byte(weights, 0, get_byte(weights, 0) # 1) WHERE version = 2;"
      .. " ALTER TABLE %s.nn_version ENABLE TRIGGER USER"):format(s, s, s))
    store = assert(nn.open(server:url(), { schema = s }))
    assert.are.equal(0.5, store:history("leaf_flower", 1).epochs[1].loss)
    assert.truthy(store:load("leaf_flower", 2))
    store:close()
  end)

  it("refuses a version whose row disagrees with its digest", function()
    local s = schema()
    local store = assert(nn.open(server:url(), { schema = s }))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    -- renumbered, and the model's facts refreshed as a tool writing rows would
    server:sql(("ALTER TABLE %s.nn_version DISABLE TRIGGER USER;"
      .. " UPDATE %s.nn_version SET version = 5;"
      .. " UPDATE %s.nn_model SET facts = %s.nn_model_facts(model_id)"):format(s, s, s, s))
    assert.has_error(function() store:load("leaf_flower") end,
      "model 'leaf_flower' version 5: its architecture, sizes or weights disagree with its"
      .. " digest (changed outside nn?)")
    store:close()
  end)

  it("is made once when two processes open a new schema at the same time", function()
    local s = schema()
    local script = ("package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path"
      .. " package.cpath = '%s/?.so;' .. package.cpath local nn = require 'nn'"
      .. " local st = assert(nn.open('%s', { schema = '%s' }))"
      .. " st:save('m', nn.Sequential{ nn.Linear(1, 1) }) st:close() print('ok')")
      :format(compat.BUILD, server:url(), s)
    local run = ("%s -e \"%s\""):format(compat.LUA, script)
    assert.are.equal("ok\nok\n", compat.sh(("(%s & %s & wait) 2>&1"):format(run, run)))
    assert.are.equal(PG_SCHEMA .. "\n", server:sql(("SELECT value FROM %s.nn_meta"
      .. " WHERE key = 'version'"):format(s)))
    assert.are.equal("1,2\n", server:sql(("SELECT string_agg(version::text, ',' ORDER BY version)"
      .. " FROM %s.nn_version"):format(s)))
  end)

  it("refuses a schema option on a file", function()
    assert.has_error(function() nn.open(":memory:", { schema = "nn" }) end,
      "bad argument #2 to 'open' (option 'schema' is for a PostgreSQL store (postgresql://...))")
  end)

  it("refuses a training run whose epochs changed outside nn", function()
    local s = schema()
    local store = assert(nn.open(server:url(), { schema = s }))
    store:save("leaf_flower", seed.network(nn, seed.labels), { training = {
      epochs = { { epoch = 1, loss = 0.5, ms = 1 } }, stopped = "epochs", rows = 4, options = {} } })
    server:sql(("ALTER TABLE %s.nn_training_epoch DISABLE TRIGGER USER;"
      .. " UPDATE %s.nn_training_epoch SET loss = 0.25"):format(s, s))
    assert.has_error(function() store:history("leaf_flower") end,
      "model 'leaf_flower' version 1: its training run disagrees with its digest"
      .. " (changed outside nn?)")
    store:close()
  end)

  describe("when the server goes down", function()
    local s, store

    before_each(function()
      s = schema()
      store = assert(nn.open(server:url(), { schema = s, flush_rows = 1, max_pending = 3 }))
      store:save("leaf_flower", seed.network(nn, seed.labels))
      store:classify("leaf_flower", seed.input)
    end)

    after_each(function()
      if not server:running() then server:start_again() end
      store:close()
    end)

    it("keeps the rows, writes them once when it is back, and loses none", function()
      server:kill()
      local ids = {}
      for i = 1, 3 do
        local label, _, id = store:classify("leaf_flower", seed.input)
        assert.are.equal("leaf", label)
        ids[i] = id
      end
      local st = store:stats()
      assert.are.equal(3, st.pending)
      assert.is_true(st.busy >= 3)
      local ok, err = pcall(store.flush, store)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("^3 rows still pending: "), err)
      -- the bound: max_pending rows wait, the next call is refused, naming it
      assert.has_error(function() store:classify("leaf_flower", seed.input) end)
      ok, err = pcall(store.classify, store, "leaf_flower", seed.input)
      assert.truthy(tostring(err):find("the log is full: 3 rows wait to be written"
        .. " (max_pending = 3, on_full = 'error')", 1, true), err)
      server:start_again()
      assert.is_true(store:flush())
      assert.are.equal(0, store:stats().pending)
      assert.are.equal("4\n", server:sql(("SELECT count(DISTINCT prediction_id)"
        .. " FROM %s.nn_prediction"):format(s)))
      for _, id in ipairs(ids) do
        assert.are.equal("1\n", server:sql(("SELECT count(*) FROM %s.nn_prediction"
          .. " WHERE prediction_id = %d"):format(s, id)))
      end
    end)

    it("drops rows at the bound when on_full is 'drop', and counts them", function()
      store:close()
      store = assert(nn.open(server:url(), { schema = s, flush_rows = 1, max_pending = 2,
                                             on_full = "drop" }))
      store:classify("leaf_flower", seed.input)
      server:kill()
      local _, _, a = store:classify("leaf_flower", seed.input)
      local _, _, b = store:classify("leaf_flower", seed.input)
      local _, _, c = store:classify("leaf_flower", seed.input)
      assert.is_truthy(a)
      assert.is_truthy(b)
      assert.is_nil(c)
      assert.are.equal(1, store:stats().dropped)
      server:start_again()
      store:flush()
      assert.are.equal("4\n", server:sql(("SELECT count(*) FROM %s.nn_prediction"):format(s)))
    end)
  end)
end)
