-- Training data out of the store (src/store/nn_store_data.c under
-- src/lua/nn_lua_store_data.c): store:matrix on queries whose values are
-- written here, and store:feedback_set on a log built row by row in SQL,
-- each result compared with the values the spec wrote, rounded once to
-- float32 in Lua.

local nn = require "nn"
local compat = require "spec.support.compat"
local seed = require "spec.support.seed"
local db = require "spec.support.db"

local exec = db.exec

local f32 = compat.f32

local function f32_rows(rows)
  local out = {}
  for i, row in ipairs(rows) do
    out[i] = {}
    for j, v in ipairs(row) do out[i][j] = f32(v) end
  end
  return out
end

describe("store:matrix", function()
  local store
  before_each(function() store = assert(nn.open(":memory:")) end)
  after_each(function() store:close() end)

  it("makes a row of each row, numbers in the order of the columns, JSON arrays expanded", function()
    exec(store, "CREATE TEMP TABLE t (id INTEGER, a REAL, v TEXT, b INTEGER)")
    exec(store, "INSERT INTO t VALUES (1, 0.1, '[1.5, -2e-3,3]', 7), (2, -11.2, ' [ 4,5 ,6 ] ', 8)")
    local X = store:matrix("SELECT a, v, b FROM t ORDER BY id")
    assert.equal(2, X:rows())
    assert.equal(5, X:cols())
    assert.same(f32_rows{ { 0.1, 1.5, -2e-3, 3, 7 }, { -11.2, 4, 5, 6, 8 } }, X:to_table())
  end)

  it("binds its arguments to the statement's parameters", function()
    local X = store:matrix("SELECT ?, ?, ?, ? + 1, coalesce(?, 9)", 3, 0.25, "[1,2]", true, nil)
    assert.same({ { 3, 0.25, 1, 2, 2, 9 } }, X:to_table())
  end)

  it("gives no rows, a column per result column, for an empty result", function()
    local X = store:matrix("SELECT 1, 2, 3 WHERE 0")
    assert.equal(0, X:rows())
    assert.equal(3, X:cols())
  end)

  it("sees the predictions logged and not yet written", function()
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:classify("leaf_flower", seed.input)
    local X = store:matrix("SELECT input FROM nn_prediction")
    assert.same(f32_rows{ seed.input }, X:to_table())
  end)

  describe("refuses, naming the row and the column", function()
    local function refused(sql, ...)
      local args = compat.pack_args(...)
      local ok, err = pcall(function() store:matrix(sql, compat.unpack(args, 1, args.n)) end)
      assert.is_false(ok)
      return (err:gsub("^.-:%d+: ", "", 1))
    end

    it("NULL, a BLOB, or text that is not a JSON array of numbers", function()
      assert.equal("row 2, column 2 ('x'): NULL",
                   refused("SELECT 1, x FROM (SELECT 1 AS x UNION ALL SELECT NULL) ORDER BY x DESC"))
      assert.equal("row 1, column 1 ('b'): a BLOB, not a number", refused("SELECT X'01' AS b"))
      for _, text in ipairs{ "abc", "[1,null]", "[1,[2]]", "[1,]", "{\"a\":1}", "[1] 2", "[\"1\"]",
                             "[nan]" } do
        assert.equal("row 1, column 1 ('v'): text that is not a JSON array of numbers",
                     refused("SELECT ? AS v", text))
      end
      assert.equal("row 1, column 1 ('v'): an empty JSON array", refused("SELECT '[]' AS v"))
    end)

    it("arrays of another length than in row 1", function()
      assert.equal("row 2, column 1 ('v'): 3 numbers, row 1 had 2",
                   refused("SELECT '[1,2]' AS v UNION ALL SELECT '[1,2,3]'"))
    end)

    it("numbers beyond float32", function()
      assert.equal("row 1, column 2 ('1e39'): 1e+39 is out of range for float32",
                   refused("SELECT 1, 1e39"))
      assert.equal("row 1, column 1 ('v'): text that is not a JSON array of numbers",
                   refused("SELECT '[1e39]' AS v"))
    end)

    it("SQL that is not one statement giving columns, and extra arguments", function()
      assert.equal("no such table: nope", refused("SELECT * FROM nope"))
      assert.equal("more than one SQL statement", refused("SELECT 1; SELECT 2"))
      assert.equal("no SQL statement", refused("  -- nothing"))
      assert.equal("the statement gives no columns", refused("CREATE TEMP TABLE u (a)"))
      assert.equal("the statement has 1 parameter, 2 given", refused("SELECT ?", 1, 2))
      assert.equal("the statement has 0 parameters, 1 given", refused("SELECT 1", 1))
      assert.equal("bad argument #2 to 'matrix' (nil, boolean, number or string expected, "
                   .. "got table)", refused("SELECT ?", {}))
    end)

    it("a closed store", function()
      store:close()
      assert.equal("attempt to use a closed nn.Store", refused("SELECT 1"))
    end)
  end)
end)

describe("store:feedback_set", function()
  local store
  before_each(function()
    store = assert(nn.open(":memory:"))
    store:save("leaf_flower", seed.network(nn, seed.labels))           -- version 1
    store:save("leaf_flower", seed.network(nn, seed.labels))           -- version 2
    store:add_labels("leaf_flower", "reversed", { "flower", "leaf" })
    store:save("other", seed.network(nn))
    -- The log, written row by row: id, version_id, labelmap_id, input.
    -- Predictions 1, 2 and 5 of leaf_flower and 4 of other get feedback;
    -- 3 gets none; 2 gets two answers, the latest wins.
    exec(store, [[
      INSERT INTO nn_prediction (prediction_id, ts, version_id, labelmap_id, input, output,
                                 pred_idx, pred_label, score) VALUES
        (1, 1, 1, 1, '[1,2,3,4]', '[0.9,0.1]', 1, 'leaf', 0.9),
        (2, 2, 2, 1, '[0.5,-6,7,8.25]', '[0.2,0.8]', 2, 'flower', 0.8),
        (3, 3, 2, 1, '[9,9,9,9]', '[0.2,0.8]', 2, 'flower', 0.8),
        (4, 4, 3, NULL, '[4,3,2,1]', '[0.5,0.5]', 1, NULL, 0.5),
        (5, 5, 1, 1, '[11.2,0,0,1]', '[0.4,0.6]', 2, 'flower', 0.6)]])
    exec(store, [[
      INSERT INTO nn_feedback (prediction_id, ts, true_idx, true_label) VALUES
        (1, 10, 1, 'leaf'), (2, 11, 1, 'leaf'), (4, 12, 2, NULL), (2, 13, 2, 'flower'),
        (5, 14, 1, 'leaf')]])
  end)
  after_each(function() store:close() end)

  it("gives the inputs, true classes and ids of the predictions with feedback, latest answer winning", function()
    local X, T, ids = store:feedback_set("leaf_flower")
    assert.same(f32_rows{ { 1, 2, 3, 4 }, { 0.5, -6, 7, 8.25 }, { 11.2, 0, 0, 1 } }, X:to_table())
    assert.same({ 1, 2, 1 }, T)
    assert.same({ 1, 2, 5 }, ids)
  end)

  it("agrees with nn_accuracy on how many there are", function()
    local _, T = store:feedback_set("leaf_flower")
    local n = 0
    for row in store:rows("SELECT n FROM nn_accuracy WHERE name = 'leaf_flower'") do n = n + row.n end
    assert.equal(n, #T)
  end)

  it("keeps to one version when asked", function()
    local X, T, ids = store:feedback_set("leaf_flower", { version = 1 })
    assert.same(f32_rows{ { 1, 2, 3, 4 }, { 11.2, 0, 0, 1 } }, X:to_table())
    assert.same({ 1, 1 }, T)
    assert.same({ 1, 5 }, ids)
  end)

  it("places the true labels in a label map, or in labels given", function()
    local _, T = store:feedback_set("leaf_flower", { labels = "reversed" })
    assert.same({ 2, 1, 2 }, T)
    _, T = store:feedback_set("leaf_flower", { labels = { "cat", "flower", "leaf" } })
    assert.same({ 3, 2, 3 }, T)
  end)

  it("gives no rows, as wide as the model's input, when nothing got feedback", function()
    exec(store, "INSERT INTO nn_prediction (prediction_id, ts, version_id, input, output, "
         .. "pred_idx) VALUES (6, 6, 3, '[1,1,1,1]', '[1,0]', 1)")
    store:save("lonely", seed.network(nn))
    local X, T, ids = store:feedback_set("lonely")
    assert.equal(0, X:rows())
    assert.equal(4, X:cols())
    assert.same({}, T)
    assert.same({}, ids)
  end)

  describe("refuses, naming what is wrong", function()
    local function refused(...)
      local args = compat.pack_args(...)
      local ok, err = pcall(function() store:feedback_set(compat.unpack(args, 1, args.n)) end)
      assert.is_false(ok)
      return (err:gsub("^.-:%d+: ", "", 1))
    end

    it("an unknown model, version or label map", function()
      assert.equal("no model named 'nope'", refused("nope"))
      assert.equal("model 'leaf_flower' has no version 9", refused("leaf_flower", { version = 9 }))
      assert.equal("model 'leaf_flower' has no label map 'nope'",
                   refused("leaf_flower", { labels = "nope" }))
    end)

    it("feedback that the labels asked for cannot place", function()
      assert.equal("prediction 1: its feedback 'leaf' is not one of the labels",
                   refused("leaf_flower", { labels = { "flower" } }))
      assert.equal("prediction 4: its feedback has no label (it is index 2)",
                   refused("other", { labels = { "leaf", "flower" } }))
    end)

    it("inputs of different widths, or not a JSON array of numbers", function()
      local wide = nn.Sequential{ nn.Linear(3, 2) }
      store:save("leaf_flower", wide)   -- version 3 takes 3 inputs
      exec(store, "INSERT INTO nn_prediction (prediction_id, ts, version_id, input, output, "
           .. "pred_idx) VALUES (7, 7, 4, '[1,2,3]', '[1,0]', 1), (8, 8, 4, '{\"a\":1}', '[1,0]', 1)")
      exec(store, "INSERT INTO nn_feedback (prediction_id, ts, true_idx) VALUES (7, 20, 1), (8, 21, 1)")
      assert.equal("prediction 7 has 3 inputs, the first one has 4", refused("leaf_flower"))
      assert.equal("prediction 8: its input is not a JSON array of numbers",
                   refused("leaf_flower", { version = 3 }))
    end)

    it("bad options, naming them", function()
      assert.equal("bad argument #2 to 'feedback_set' (unknown option 'version_id' (did you mean 'version'?))",
                   refused("leaf_flower", { version_id = 1 }))
      assert.equal("bad argument #2 to 'feedback_set' (option 'version' must be a positive "
                   .. "integer)", refused("leaf_flower", { version = 0 }))
      assert.equal("bad argument #2 to 'feedback_set' (option 'labels' must be a label map's "
                   .. "name or a table of labels)", refused("leaf_flower", { labels = 2 }))
      assert.equal("bad argument #2 to 'feedback_set' (labels[1] is not a non-empty string)",
                   refused("leaf_flower", { labels = { 1 } }))
      assert.equal("bad argument #1 to 'feedback_set' (name: string expected, got no value)", refused())
      assert.equal("bad argument #1 to 'feedback_set' (name: string expected, got number)", refused(1))
      assert.equal("bad argument #1 to 'feedback_set' (name must not be empty)", refused(""))
    end)
  end)
end)
