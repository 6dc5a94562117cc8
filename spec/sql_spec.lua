-- Prediction inside SQL (src/sql/nn_sql.c): nn_classify, nn_score, nn_forward
-- through a store's own connection (store:rows), through the loadable
-- extension build/nn0.so in the sqlite3 shell, and through a prepared
-- statement a C program executes again.  Numbers are checked against the
-- double-precision Lua reference; every error message is asserted whole.

local nn = require "nn"
local seed = require "spec.support.seed"
local reference = require "spec.support.reference"
local c = require "spec.support.c"
local db_util = require "spec.support.db"
local compat = require "spec.support.compat"

-- a float32 forward pass against the double-precision reference, outputs
-- in [0, 1] (softmax)
local TOL_UNIT = 1e-6
-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5

local SQLITE3 = os.getenv("SQLITE3") or "sqlite3"
local LUA = compat.LUA

local SEED = {
  { "Linear", seed.W1, seed.b1 }, { "ReLU" }, { "Linear", seed.W2, seed.b2 }, { "SoftMax" },
}
-- the flower network of flower_net() below
local FLOWER = {
  { "Linear", seed.W1, seed.b1 }, { "ReLU" }, { "Linear", seed.W2, { 0.41, 5 } }, { "SoftMax" },
}

local function seed_net(labels) return seed.network(nn, labels) end

--- The seed's network with the flower's bias raised so that flower wins.
local function flower_net(labels)
  local net = seed_net(labels)
  net:set_weights(3, seed.W2, { 0.41, 5 })
  return net
end

local remove_db, all = db_util.remove, db_util.all

--- The value of column v of the first row.
local function value(store, sql, ...)
  return (all(store, sql, ...)[1] or {}).v
end

--- The message a statement fails with.
local function sql_error(store, sql, ...)
  local args = { n = select("#", ...), ... }
  local ok, err = pcall(all, store, sql, compat.unpack(args, 1, args.n))
  assert(not ok, "the statement did not fail: " .. sql)
  return err
end

--- The JSON array text s as a Lua array of numbers (the shape nn_forward
-- promises: numbers, commas, brackets).
local function numbers(s)
  assert(s:match("^%[[-+.%deE,]*%]$"), "not an array of numbers: " .. s)
  local t = {}
  for n in s:gmatch("[^,%[%]]+") do t[#t + 1] = tonumber(n) end
  return t
end

local function argmax(y)
  local best = 1
  for i = 2, #y do if y[i] > y[best] then best = i end end
  return best
end

--- The seed's leaf as SQL arguments, and as a JSON array.
local LEAF = "32, 107, 56, 11.2"
local LEAF_JSON = "'[32, 107, 56, 11.2]'"

describe("SQL on a store's connection", function()
  local path, store
  before_each(function()
    path = os.tmpname()
    store = assert(nn.open(path))
    store:save("leaf_flower", seed_net(seed.labels))
    store:add_labels("leaf_flower", "weather", seed.weather)
  end)
  after_each(function()
    store:close()
    remove_db(path)
  end)

  describe("nn_classify", function()
    it("answers the label of the default map, as net:classify does", function()
      assert.equal("leaf", value(store, "SELECT nn_classify('leaf_flower', " .. LEAF .. ") AS v"))
      assert.equal("flower", value(store, "SELECT nn_classify('leaf_flower', ?, ?, ?, ?) AS v",
        compat.unpack(seed.flower_input)))
      assert.equal(2, argmax(reference.forward(SEED, seed.flower_input)))
    end)

    it("answers the 1-based index, an INTEGER, when the version has no labels", function()
      store:save("plain", seed_net())
      assert.same({ v = 1, t = "integer" }, all(store,
        "SELECT nn_classify('plain', " .. LEAF .. ") AS v, typeof(nn_classify('plain', "
        .. LEAF .. ")) AS t")[1])
      assert.equal(2, value(store, "SELECT nn_classify('plain', ?, ?, ?, ?) AS v",
        compat.unpack(seed.flower_input)))
    end)

    it("reads the answer through the label map asked for", function()
      assert.equal("sunny", value(store, "SELECT nn_classify('leaf_flower:weather', "
        .. LEAF .. ") AS v"))
      assert.equal("rainy", value(store, "SELECT nn_classify('leaf_flower:weather', ?, ?, ?, ?) AS v",
        compat.unpack(seed.flower_input)))
    end)
  end)

  describe("nn_score", function()
    it("answers the winning output, a REAL, the seed's 0.6457", function()
      local row = all(store, "SELECT nn_score('leaf_flower', " .. LEAF .. ") AS v, typeof("
        .. "nn_score('leaf_flower', " .. LEAF .. ")) AS t")[1]
      assert.equal("real", row.t)
      assert.near(reference.forward(SEED, seed.input)[1], row.v, TOL_UNIT)
      assert.near(seed.softmax[1], row.v, TOL_PRINTED)
    end)
  end)

  describe("nn_forward", function()
    it("answers every output as a JSON array", function()
      local y = numbers(value(store, "SELECT nn_forward('leaf_flower', " .. LEAF .. ") AS v"))
      assert.equal(2, #y)
      assert.is_true(reference.max_diff(reference.forward(SEED, seed.input), y) < TOL_UNIT)
    end)

    it("writes each output in the store's shortest float form", function()
      -- the float32 nearest 0.6456563 prints as that, not as 0.645656288
      local text = value(store, "SELECT nn_forward('leaf_flower', " .. LEAF .. ") AS v")
      for n in text:gmatch("[^,%[%]]+") do
        assert.is_true(#n:gsub("^0%.", "") <= 9, n)
      end
      assert.equal(1, value(store, "SELECT json_valid(nn_forward('leaf_flower', " .. LEAF
        .. ")) AS v"))
    end)

    it("is JSON to SQLite's JSON functions, not a string", function()
      local v = value(store, "SELECT json_object('y', nn_forward('leaf_flower', " .. LEAF
        .. ")) ->> '$.y[1]' AS v")
      assert.near(reference.forward(SEED, seed.input)[2], v, TOL_UNIT)
    end)
  end)

  describe("model references", function()
    before_each(function() store:save("leaf_flower", flower_net()) end)

    it("'name' is the latest version, 'name@version' the one asked for", function()
      assert.same({ latest = "flower", v1 = "leaf", v2 = "flower" }, all(store, [[
        SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2) AS latest,
               nn_classify('leaf_flower@1', 32, 107, 56, 11.2) AS v1,
               nn_classify('leaf_flower@2', 32, 107, 56, 11.2) AS v2]])[1])
      assert.near(reference.forward(FLOWER, seed.input)[2],
        value(store, "SELECT nn_score('leaf_flower', " .. LEAF .. ") AS v"), TOL_UNIT)
      assert.near(reference.forward(SEED, seed.input)[1],
        value(store, "SELECT nn_score('leaf_flower@1', " .. LEAF .. ") AS v"), TOL_UNIT)
    end)

    it("':labelmap' and '@version:labelmap' read through that map", function()
      assert.same({ latest = "rainy", v1 = "sunny" }, all(store, [[
        SELECT nn_classify('leaf_flower:weather', 32, 107, 56, 11.2) AS latest,
               nn_classify('leaf_flower@1:weather', 32, 107, 56, 11.2) AS v1]])[1])
    end)

    it("may come from a column, row by row", function()
      assert.same({ { v = "leaf" }, { v = "flower" }, { v = "sunny" } }, all(store, [[
        WITH t(i, ref) AS (VALUES (1, 'leaf_flower@1'), (2, 'leaf_flower'),
                                  (3, 'leaf_flower@1:weather'))
        SELECT nn_classify(ref, 32, 107, 56, 11.2) AS v FROM t ORDER BY i]]))
    end)

    it("split at the first '@' or ':', so such a name cannot be named", function()
      store:save("a@b", seed_net())
      assert.equal("nn_classify: model reference 'a@b': the version after '@' must be a "
        .. "positive integer", sql_error(store, "SELECT nn_classify('a@b', " .. LEAF .. ")"))
      store:add_labels("leaf_flower", "x:y", { "one", "two" })
      assert.equal("two", value(store, "SELECT nn_classify('leaf_flower@2:x:y', " .. LEAF
        .. ") AS v"))
    end)
  end)

  describe("inputs", function()
    it("are n numbers, INTEGER or REAL, or one JSON array of n numbers", function()
      local want = reference.forward(SEED, seed.input)
      for _, args in ipairs{ LEAF, "32.0, 107, 56.0, 11.2", LEAF_JSON,
                             "' [ 3.2e1 ,107,\n 56, 1.12E+1 ] '", "'[32,107,56,11.2]'" } do
        local y = numbers(value(store, "SELECT nn_forward('leaf_flower', " .. args .. ") AS v"))
        assert.is_true(reference.max_diff(want, y) < TOL_UNIT, args)
      end
    end)

    it("give NULL when the model, an input or the array is NULL, as arithmetic does", function()
      assert.same({ n = 5 }, all(store, [[
        SELECT nn_classify(NULL, 32, 107, 56, 11.2) AS a, nn_score('leaf_flower', 32, NULL, 56, 11.2) AS b,
               nn_forward('leaf_flower', NULL) AS c, nn_forward(NULL) AS d, 5 AS n]])[1])
    end)

    it("are checked in full: a NULL does not hide a wrong count or a bad input", function()
      assert.equal("nn_score: 'leaf_flower' takes 4 inputs, got 3",
        sql_error(store, "SELECT nn_score('leaf_flower', NULL, 1, 2)"))
      assert.equal("nn_score: input 3 is not a number",
        sql_error(store, "SELECT nn_score('leaf_flower', NULL, 1, 'x', 2)"))
      assert.equal("nn_score: no model named 'oak'", sql_error(store, "SELECT nn_score('oak', NULL)"))
    end)
  end)

  describe("a table", function()
    it("is scored row by row, each row as the reference computes it", function()
      local rand = reference.stream(7)
      store:rows("CREATE TABLE objects (id INTEGER PRIMARY KEY, r REAL, g REAL, b REAL, ml REAL)")()
      local rows = {}
      for i = 1, 200 do
        rows[i] = { rand(0, 255), rand(0, 255), rand(0, 255), rand(0, 50) }
        store:rows("INSERT INTO objects VALUES (?, ?, ?, ?, ?)", i, compat.unpack(rows[i]))()
      end
      local n = 0
      for row in store:rows([[
          SELECT id, nn_forward('leaf_flower', r, g, b, ml) AS y,
                 nn_classify('leaf_flower@1', r, g, b, ml) AS label,
                 nn_score('leaf_flower', json_array(r, g, b, ml)) AS score
            FROM objects ORDER BY id]]) do
        local want = reference.forward(SEED, rows[row.id])
        assert.is_true(reference.max_diff(want, numbers(row.y)) < TOL_UNIT)
        assert.equal(seed.labels[argmax(want)], row.label)
        assert.near(want[argmax(want)], row.score, TOL_UNIT)
        n = n + 1
      end
      assert.equal(200, n)
    end)

    it("is compared under two versions, row by row", function()
      store:save("leaf_flower", flower_net())
      local rows = all(store, [[
        WITH t(x) AS (VALUES ('[32, 107, 56, 11.2]'), ('[250, 40, 120, 30]'))
        SELECT x, nn_classify('leaf_flower@1', x) AS v1, nn_classify('leaf_flower@2', x) AS v2
          FROM t
         WHERE nn_classify('leaf_flower@1', x) IS NOT nn_classify('leaf_flower@2', x)]])
      assert.same({ { x = "[32, 107, 56, 11.2]", v1 = "leaf", v2 = "flower" } }, rows)
    end)

    it("gives accuracy against feedback, from the logged inputs", function()
      local _, _, leaf = store:classify("leaf_flower", seed.input)
      local _, _, flower = store:classify("leaf_flower", seed.flower_input)
      store:feedback(leaf, "leaf")
      store:feedback(flower, "leaf")   -- the model was wrong here
      store:save("leaf_flower", flower_net())
      assert.same({ logged = 0.5, v1 = 0.5, v2 = 0.0 }, all(store, [[
        SELECT avg(p.pred_label = f.true_label) AS logged,
               avg(nn_classify('leaf_flower@1', p.input) = f.true_label) AS v1,
               avg(nn_classify('leaf_flower@2', p.input) = f.true_label) AS v2
          FROM nn_prediction AS p JOIN nn_feedback AS f USING (prediction_id)]])[1])
    end)
  end)

  describe("freshness", function()
    local function leaf_label()
      return value(store, "SELECT nn_classify('leaf_flower', " .. LEAF .. ") AS v")
    end

    it("sees a version this store saves at the next statement", function()
      assert.equal("leaf", leaf_label())
      store:save("leaf_flower", flower_net())
      assert.equal("flower", leaf_label())
    end)

    it("sees versions and label maps another connection saves, without reopening", function()
      assert.equal("leaf", leaf_label())
      local other = assert(nn.open(path))
      other:save("leaf_flower", flower_net())
      assert.equal("flower", leaf_label())
      other:add_labels("leaf_flower", "default", { "green", "red" })
      assert.equal("red", leaf_label())
      other:close()
    end)

    it("sees a version inserted in an open transaction, and its rollback", function()
      store:save("flowerish", flower_net())
      assert.equal("leaf", leaf_label())
      store:rows("BEGIN")()
      store:rows([[
        INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs, n_params,
                                weights, checksum, created_at, digest)
        SELECT m.model_id, 2, arch, n_inputs, n_outputs, n_params, weights, checksum,
               created_at, nn_version_digest(m.model_id, 2, arch, n_inputs, n_outputs,
                                             n_params, weights)
          FROM nn_version, (SELECT model_id FROM nn_model WHERE name = 'leaf_flower') AS m
         WHERE nn_version.model_id = (SELECT model_id FROM nn_model WHERE name = 'flowerish')]])()
      store:rows("UPDATE nn_model SET facts = nn_model_facts(model_id)")()
      assert.equal("flower", leaf_label())
      store:rows("ROLLBACK")()
      assert.equal("leaf", leaf_label())
    end)

    it("follows predictions logged in between without losing its models", function()
      for _ = 1, 3 do
        store:classify("leaf_flower", seed.input)
        store:flush()
        assert.equal("leaf", leaf_label())
      end
    end)
  end)

  it("writes nothing, not even when it fails", function()
    local before = value(store, "SELECT total_changes() AS v")
    local other = assert(nn.open(path))
    local version = value(other, "SELECT data_version AS v FROM pragma_data_version")
    all(store, "SELECT nn_classify('leaf_flower', " .. LEAF .. "), nn_score('leaf_flower:weather', "
      .. LEAF_JSON .. "), nn_forward('leaf_flower@1', " .. LEAF .. ")")
    pcall(all, store, "SELECT nn_classify('oak', 1)")
    pcall(all, store, "SELECT nn_classify('leaf_flower', 1)")
    assert.equal(before, value(store, "SELECT total_changes() AS v"))
    assert.equal(version, value(other, "SELECT data_version AS v FROM pragma_data_version"))
    assert.equal(0, value(store, "SELECT count(*) AS v FROM nn_prediction"))
    other:close()
  end)

  describe("fails the statement, naming the culprit", function()
    local function fails(message, sql)
      assert.equal(message, sql_error(store, sql))
    end

    it("for an unknown model, version or label map", function()
      fails("nn_classify: no model named 'oak'", "SELECT nn_classify('oak', " .. LEAF .. ")")
      fails("nn_score: model 'leaf_flower' has no version 9",
        "SELECT nn_score('leaf_flower@9', " .. LEAF .. ")")
      fails("nn_forward: model 'leaf_flower' has no label map 'colour'",
        "SELECT nn_forward('leaf_flower:colour', " .. LEAF .. ")")
    end)

    it("for a label map that does not fit the version", function()
      local net = nn.Sequential{ nn.Linear(4, 3), nn.SoftMax() }
      store:save("leaf_flower", net)
      fails("nn_classify: label map 'weather' has 2 labels, model 'leaf_flower' version 2 "
        .. "has 3 outputs", "SELECT nn_classify('leaf_flower@2:weather', " .. LEAF .. ")")
      -- without one that fits, the default map is no map: the index answers
      local W, b = net:get_weights(1)
      local want = argmax(reference.forward({ { "Linear", W, b }, { "SoftMax" } }, { 1, 2, 3, 4 }))
      assert.equal(want, value(store, "SELECT nn_classify('leaf_flower', 1, 2, 3, 4) AS v"))
    end)

    it("for a malformed reference or a model that is not text", function()
      fails("nn_score: model must be text: 'name', 'name@version', 'name:labelmap' or "
        .. "'name@version:labelmap'", "SELECT nn_score(7, " .. LEAF .. ")")
      fails("nn_score: model reference '@1' has no model name", "SELECT nn_score('@1', 1)")
      fails("nn_score: model reference ':weather' has no model name",
        "SELECT nn_score(':weather', 1)")
      for _, ref in ipairs{ "leaf_flower@", "leaf_flower@x", "leaf_flower@0", "leaf_flower@1x",
                            "leaf_flower@99999999999999999999" } do
        fails("nn_score: model reference '" .. ref .. "': the version after '@' must be a "
          .. "positive integer", "SELECT nn_score('" .. ref .. "', 1)")
      end
      fails("nn_score: model reference 'leaf_flower@1:' has no label map name after ':'",
        "SELECT nn_score('leaf_flower@1:', 1)")
      fails("nn_score: model reference 'leaf_flower' contains a zero byte",
        "SELECT nn_score('leaf_flower' || char(0), 1)")
      fails("nn_score: expects a model and its inputs", "SELECT nn_score()")
    end)

    it("for the wrong number of inputs", function()
      fails("nn_forward: 'leaf_flower' takes 4 inputs, got 3", "SELECT nn_forward('leaf_flower', 1, 2, 3)")
      fails("nn_forward: 'leaf_flower' takes 4 inputs, got 0", "SELECT nn_forward('leaf_flower')")
      fails("nn_forward: 'leaf_flower@1:weather' takes 4 inputs, got 5",
        "SELECT nn_forward('leaf_flower@1:weather', '[1, 2, 3, 4, 5]')")
      fails("nn_forward: 'leaf_flower' takes 4 inputs, got 0", "SELECT nn_forward('leaf_flower', '[]')")
    end)

    it("for an input that is not a number", function()
      fails("nn_classify: input 2 is not a number", "SELECT nn_classify('leaf_flower', 1, 'a', 3, 4)")
      fails("nn_classify: input 3 is not a number", "SELECT nn_classify('leaf_flower', 1, 2, x'00', 4)")
      fails("nn_classify: input 4 is not a number",
        "SELECT nn_classify('leaf_flower', '[1, 2, 3, \"4\"]')")
      fails("nn_classify: input 1 is not a number", "SELECT nn_classify('leaf_flower', '[[1], 2, 3, 4]')")
      fails("nn_classify: input 2 is not a number", "SELECT nn_classify('leaf_flower', '[1, null, 3, 4]')")
    end)

    it("for an input that is not a finite float", function()
      fails("nn_score: input 1 is not a finite number", "SELECT nn_score('leaf_flower', 1e999, 2, 3, 4)")
      fails("nn_score: input 4 is not a finite number", "SELECT nn_score('leaf_flower', 1, 2, 3, -1e39)")
      fails("nn_score: input 2 is not a finite number", "SELECT nn_score('leaf_flower', '[1, 1e999, 3, 4]')")
    end)

    it("for text that is not a JSON array of numbers", function()
      for _, text in ipairs{ "[1, 2, 3, 4", "[1, 2, 3, 4] x", "[1,, 2, 3, 4]", "1, 2, 3, 4",
                             "[01, 2, 3, 4]", "[1., 2, 3, 4]", "[+1, 2, 3, 4]", "", "[1 2 3 4]" } do
        fails("nn_forward: input is not a JSON array of numbers",
          "SELECT nn_forward('leaf_flower', '" .. text .. "')")
      end
    end)

    it("for a stored version that fails its checks", function()
      store:rows("DROP TRIGGER nn_version_no_update")()
      store:rows("UPDATE nn_version SET checksum = '0000000000000000'")()
      local message = sql_error(store, "SELECT nn_score('leaf_flower', " .. LEAF .. ")")
      local prefix = "nn_score: model 'leaf_flower' version 1: checksum is 0000000000000000, "
        .. "the weights hash to "
      assert.equal(prefix, message:sub(1, #prefix))
      assert.truthy(message:sub(#prefix + 1):match("^%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x$"), message)
    end)
  end)
end)

--- Run a script in the sqlite3 shell on db, the extension loaded first;
-- everything it printed, standard error included.
local function shell(db, script)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write(".load ./" .. compat.BUILD .. "/nn0\n", script, "\n")
  f:close()
  local p = io.popen(("%s -batch %s < %s 2>&1"):format(SQLITE3, db, file))
  local out = p:read("*a")
  p:close()
  os.remove(file)
  return out
end

--- The message of the shell's error line, after its "... line N: " prefix.
local function shell_error(out)
  return out:match("(nn_%a+: [^\n]*)\n")
end

describe("the loadable extension in the sqlite3 shell", function()
  local db
  before_each(function()
    db = os.tmpname()
    local store = seed.store(nn, db)
    store:add_labels("leaf_flower", "weather", seed.weather)
    store:save("flowerish", flower_net())
    store:close()
  end)
  after_each(function() remove_db(db) end)

  it("exports only its entry point and links no libsqlite3", function()
    local p = io.popen(("nm -D --defined-only %s/nn0.so; ldd %s/nn0.so"):format(compat.BUILD, compat.BUILD))
    local out = p:read("*a")
    p:close()
    local exported = {}
    for name in out:gmatch(" [TDBR] (%S+)") do exported[#exported + 1] = name end
    assert.same({ "sqlite3_nn_init" }, exported)
    assert.falsy(out:find("libsqlite3", 1, true))
  end)

  it("answers every function, reference form and input form", function()
    local out = shell(db, ".mode list\n" .. [[
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
SELECT nn_classify('leaf_flower:weather', '[32, 107, 56, 11.2]');
SELECT nn_classify('leaf_flower@1', 250, 40, 120, 30);
SELECT nn_classify('leaf_flower@1:weather', 250, 40, 120, 30);
SELECT nn_classify('flowerish', 32, 107, 56, 11.2);
SELECT printf('%.9f', nn_score('leaf_flower', 32, 107, 56, 11.2));
SELECT nn_forward('leaf_flower', '[32, 107, 56, 11.2]');
SELECT nn_forward('leaf_flower', 32, NULL, 56, 11.2) IS NULL;]])
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal(8, #lines, out)
    -- flowerish has no labels: its flower is output 2
    assert.same({ "leaf", "sunny", "flower", "rainy", "2" }, { compat.unpack(lines, 1, 5) })
    local want = reference.forward(SEED, seed.input)
    assert.near(want[1], tonumber(lines[6]), TOL_UNIT)
    assert.is_true(reference.max_diff(want, numbers(lines[7])) < TOL_UNIT)
    assert.equal("1", lines[8])
  end)

  it("fails with the same messages", function()
    local cases = {
      { "SELECT nn_classify('oak', 1);", "nn_classify: no model named 'oak'" },
      { "SELECT nn_score('leaf_flower@9', 1);", "nn_score: model 'leaf_flower' has no version 9" },
      { "SELECT nn_score('leaf_flower:colour', 1);",
        "nn_score: model 'leaf_flower' has no label map 'colour'" },
      { "SELECT nn_forward('leaf_flower', 1, 2, 3);", "nn_forward: 'leaf_flower' takes 4 inputs, got 3" },
      { "SELECT nn_forward('leaf_flower', 1, 'a', 3, 4);", "nn_forward: input 2 is not a number" },
      { "SELECT nn_forward('leaf_flower', '[1, 2, 3, 4');",
        "nn_forward: input is not a JSON array of numbers" },
      { "SELECT nn_forward('leaf_flower', 1e999, 2, 3, 4);",
        "nn_forward: input 1 is not a finite number" },
    }
    for _, case in ipairs(cases) do
      assert.equal(case[2], shell_error(shell(db, case[1])))
    end
  end)

  it("fails clearly on a database without nn tables, and creates none", function()
    local plain = os.tmpname()
    local out = shell(plain, "SELECT nn_classify('leaf_flower', 1, 2, 3, 4);\n"
      .. "SELECT 'tables: ' || count(*) FROM sqlite_schema;")
    assert.equal("nn_classify: not an nn database (no table nn_model)", shell_error(out))
    assert.truthy(out:find("tables: 0\n", 1, true), out)
    remove_db(plain)
  end)

  it("scores a table and writes nothing", function()
    local out = shell(db, [[
CREATE TEMP TABLE objects (r, g, b, ml);
INSERT INTO objects VALUES (32, 107, 56, 11.2), (250, 40, 120, 30), (30, 110, 50, 10);
SELECT group_concat(nn_classify('leaf_flower', r, g, b, ml), ' ') FROM objects;
SELECT 'changes: ' || (total_changes() - 3);
SELECT 'predictions: ' || count(*) FROM nn_prediction;]])
    assert.equal("leaf flower leaf\nchanges: 0\npredictions: 0\n", out)
  end)

  it("sees a version another process saves between two statements", function()
    local save = ("%s -e \"package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path; "
      .. "package.cpath = '" .. compat.BUILD .. "/?.so;' .. package.cpath; local nn = require 'nn'; "
      .. "local s = nn.open('%s'); local n = s:load('flowerish'); s:save('leaf_flower', n); "
      .. "s:close()\""):format(LUA, db)
    local out = shell(db, "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);\n"
      .. ".system " .. save .. "\n"
      .. "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);")
    assert.equal("leaf\nflower\n", out)
  end)

  it("sees a version this connection inserts, and its rollback", function()
    local out = shell(db, [[
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
BEGIN;
INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs, n_params, weights,
                        checksum, created_at, digest)
SELECT m.model_id, 2, arch, n_inputs, n_outputs, n_params, weights, checksum, created_at,
       nn_version_digest(m.model_id, 2, arch, n_inputs, n_outputs, n_params, weights)
  FROM nn_version, (SELECT model_id FROM nn_model WHERE name = 'leaf_flower') AS m
 WHERE nn_version.model_id = (SELECT model_id FROM nn_model WHERE name = 'flowerish');
UPDATE nn_model SET facts = nn_model_facts(model_id);
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
ROLLBACK;
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);]])
    assert.equal("leaf\nflower\nleaf\n", out)
  end)

  it("forgets what a rolled-back transaction read, though its ids are given again", function()
    -- regression: the map read inside the transaction stayed cached under
    -- its id, which the next map (another model's, other labels) then got
    local out = shell(db, [[
BEGIN;
INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)
  SELECT model_id, 'w', '["s","r"]', 0, nn_labelmap_digest(model_id, 'w', '["s","r"]')
  FROM nn_model WHERE name = 'leaf_flower';
UPDATE nn_model SET facts = nn_model_facts(model_id);
SELECT nn_classify('leaf_flower:w', 32, 107, 56, 11.2);
ROLLBACK;
INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)
  SELECT model_id, 'w', '["x","y"]', 0, nn_labelmap_digest(model_id, 'w', '["x","y"]')
  FROM nn_model WHERE name = 'flowerish';
UPDATE nn_model SET facts = nn_model_facts(model_id);
SELECT count(DISTINCT labelmap_id) FROM nn_labelmap WHERE name = 'w';
SELECT nn_classify('flowerish:w', 32, 107, 56, 11.2);]])
    assert.equal("s\n1\ny\n", out)
  end)

  it("reads labels only for nn_classify, so a bad map fails it alone", function()
    local out = shell(db, [[
INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)
  SELECT model_id, 'default', '[1, 2]', 0, nn_labelmap_digest(model_id, 'default', '[1, 2]')
  FROM nn_model WHERE name = 'flowerish';
UPDATE nn_model SET facts = nn_model_facts(model_id);
SELECT nn_score('flowerish', 32, 107, 56, 11.2) > 0.9;
SELECT json_array_length(nn_forward('flowerish', 32, 107, 56, 11.2));
SELECT nn_classify('flowerish', 32, 107, 56, 11.2);]])
    assert.equal("1\n2\n", out:match("^(.-)[^\n]*error"))
    assert.equal("nn_classify: model 'flowerish' label map 'default': label 1 is not a string",
                 shell_error(out))
  end)

  it("reads a JSON number of any length", function()
    local out = shell(db, "SELECT nn_classify('leaf_flower', '[32." .. ("0"):rep(200)
      .. "1, 107, 56, 11.2]');")
    assert.equal("leaf\n", out)
  end)

  it("refuses to be called from inside its own reading of a model", function()
    -- regression: a TEMP view over the nn tables that calls the functions
    -- re-entered them while they read, and crashed the shell
    local out = shell(db, [[
CREATE TEMP VIEW nn_model (model_id, name) AS
  SELECT m.model_id + coalesce(nn_score('flowerish', 1, 2, 3, 4), 0) * 0, m.name
    FROM main.nn_model AS m;
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
SELECT 'alive';]])
    assert.equal("nn_classify: nn_score: called again while it reads the model (from a "
      .. "view or trigger over the nn tables?)", shell_error(out))
    assert.truthy(out:find("\nalive\n$"))
  end)

  it("leaves no shared-memory file when the shell changes the locking mode", function()
    -- regression: after EXCLUSIVE locking and a return to WAL, SQLite keeps
    -- its wal-index in the heap; asking for the shared memory made a -shm
    -- file (and leaked what it allocated for it)
    local out = shell(db, [[
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
PRAGMA locking_mode = EXCLUSIVE;
PRAGMA journal_mode = DELETE;
PRAGMA journal_mode = WAL;
SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);]])
    assert.equal("leaf\nexclusive\ndelete\nwal\nleaf\n", out)
    assert.is_nil(io.open(db .. "-shm"))
  end)
end)

describe("a prepared statement executed again", function()
  local db, exe
  before_each(function()
    db = os.tmpname()
    local store = assert(nn.open(db))
    store:save("leaf_flower", seed_net(seed.labels))
    store:save("flowerish", flower_net(seed.labels))
    store:close()
    exe = c.compile("spec/support/sql_check.c", "-lsqlite3")
  end)
  after_each(function()
    remove_db(db)
    os.remove(exe)
  end)

  it("sees versions saved in between, by another connection and by its own", function()
    local out = c.run(exe, db .. " " .. compat.BUILD .. "/nn0.so")
    assert.equal("first leaf\nsame leaf\nother flower\nown leaf\n", out)
  end)
end)
