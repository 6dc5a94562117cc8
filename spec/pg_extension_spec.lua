-- nn inside PostgreSQL (src/pgext/, CREATE EXTENSION nn): nn_classify,
-- nn_score and nn_forward over the models of a store that nn.open made in
-- the database, on a private PostgreSQL 15 server (spec/support/pg.lua).
-- Numbers are checked against the seed's hand arithmetic and the
-- double-precision Lua reference, and against the same calls in SQLite on
-- the same model; every error is checked whole, with its SQLSTATE, and
-- beside SQLite's message for the same bad input.  make test installs the
-- extension (make install-pgext) before it runs this.

local nn = require "nn"
local pg = require "spec.support.pg"
local seed = require "spec.support.seed"
local reference = require "spec.support.reference"
local compat = require "spec.support.compat"
local db_util = require "spec.support.db"

-- a float32 forward pass against the double-precision reference, outputs
-- in [0, 1] (softmax)
local TOL_UNIT = 1e-6
-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5
-- PostgreSQL against SQLite: the same engine and kernels on the same
-- machine, each printing the shortest text of the same float32; anything
-- above one float32 rounding of an output in [0, 1] is a difference
local TOL_ENGINES = 1.2e-7

local SEED = {
  { "Linear", seed.W1, seed.b1 }, { "ReLU" }, { "Linear", seed.W2, seed.b2 }, { "SoftMax" },
}
local FLOWER = {
  { "Linear", seed.W1, seed.b1 }, { "ReLU" }, { "Linear", seed.W2, { 0.41, 5 } }, { "SoftMax" },
}
local LEAF = "32, 107, 56, 11.2"

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The seed's network with the flower's bias raised so that flower wins.
local function flower_net(labels)
  local net = seed.network(nn, labels)
  net:set_weights(3, seed.W2, { 0.41, 5 })
  return net
end

--- "{0.6456563,0.3543437}" as numbers.
local function array(s)
  assert(s:match("^{[-+.%deE,]*}$"), "not an array of numbers: " .. tostring(s))
  local t = {}
  for n in s:gmatch("[^,{}]+") do t[#t + 1] = tonumber(n) end
  return t
end

--- Inputs spread over the seed's range, the same every run.
local function samples(n)
  local rand, rows = reference.stream(21), {}
  for i = 1, n do
    rows[i] = { math.floor(rand(0, 256)), math.floor(rand(0, 256)), math.floor(rand(0, 256)),
                math.floor(rand(0, 400)) / 10 }
  end
  return rows
end

describe("nn inside PostgreSQL (CREATE EXTENSION nn)", function()
  local server, store, lite, lite_path

  --- psql on the server: what it printed, or nil and its error output
  -- (verbose: the SQLSTATE before the message).
  local function psql(sql)
    local ok, out = compat.run(("env -u LD_PRELOAD psql -X -q -A -t -v ON_ERROR_STOP=1 " ..
      "-v VERBOSITY=verbose %s -c %s 2>&1"):format(quote(server:url()), quote(sql)))
    if ok then return (out:gsub("\n$", "")) end
    return nil, out
  end

  --- The one value sql answers in PostgreSQL, raising on an error.
  local function value(sql)
    local out, err = psql(sql)
    assert(out, err)
    return out
  end

  --- The SQLSTATE and message sql fails with in PostgreSQL.
  local function failure(sql)
    local out, err = psql(sql)
    assert(not out, "the statement did not fail: " .. sql)
    local state, msg = err:match("ERROR:%s+(%w+): ([^\n]*)")
    assert(state, "no error in: " .. err)
    return state, msg
  end

  --- The message the same call fails with in SQLite.
  local function lite_failure(sql)
    local ok, err = pcall(db_util.all, lite, sql)
    assert(not ok, "the statement did not fail in SQLite: " .. sql)
    return (tostring(err):match("(nn_%a+: .*)$"))
  end

  setup(function()
    server = pg.start()
    store = assert(nn.open(server:url()))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:add_labels("leaf_flower", "weather", seed.weather)
    store:save("plain", seed.network(nn))
    value("CREATE EXTENSION nn")
    lite_path = os.tmpname()
    lite = assert(nn.open(lite_path))
    lite:save("leaf_flower", seed.network(nn, seed.labels))
    lite:add_labels("leaf_flower", "weather", seed.weather)
    lite:save("plain", seed.network(nn))
  end)

  teardown(function()
    if store then store:close() end
    if lite then lite:close() end
    if lite_path then db_util.remove(lite_path) end
    if server then server:stop() end
  end)

  describe("on the seed's network", function()
    it("forwards the seed's leaf to the seed's softmax, as the reference does", function()
      local y = array(value("SELECT nn_forward('leaf_flower', ARRAY[" .. LEAF .. "]::real[])"))
      local want = reference.forward(SEED, seed.input)
      assert.equal(2, #y)
      for i = 1, 2 do
        assert.near(seed.softmax[i], y[i], TOL_PRINTED)
        assert.near(want[i], y[i], TOL_UNIT)
      end
    end)

    it("classifies by the default label map, and by another map", function()
      assert.equal("leaf", value("SELECT nn_classify('leaf_flower', " .. LEAF .. ")"))
      assert.equal("flower", value("SELECT nn_classify('leaf_flower', ARRAY[" ..
        table.concat(seed.flower_input, ", ") .. "]::real[])"))
      assert.equal("sunny", value("SELECT nn_classify('leaf_flower:weather', " .. LEAF .. ")"))
      assert.equal("sunny", value("SELECT nn_classify('leaf_flower@1:weather', " .. LEAF .. ")"))
    end)

    it("runs a graph (a residual block, a Concat) as net:forward does", function()
      nn.seed(5)
      local net = nn.Sequential{ nn.Linear(4, 6), nn.Tanh(),
        nn.Residual{ nn.Linear(6, 6), nn.Tanh() },
        nn.Concat{ nn.Linear(6, 2), nn.Identity() }, nn.Linear(8, 3) }
      store:save("graph", net)
      local x = { 0.5, -1, 2, 0.25 }
      local want = net:forward(x)
      local y = array(value("SELECT nn_forward('graph', ARRAY[0.5, -1, 2, 0.25]::real[])"))
      assert.equal(3, #y)
      -- the same engine on the same float32 weights: one rounding of text apart
      for i = 1, 3 do assert.near(want[i], y[i], 1e-6 * math.max(1, math.abs(want[i]))) end
      -- (read as a chain, its "from" passed over, the version is refused:
      -- "layer 5: nn.Add takes two inputs")
    end)

    it("answers the 1-based index as text when the version has no labels", function()
      assert.equal("1", value("SELECT nn_classify('plain', " .. LEAF .. ")"))
      assert.equal("2", value("SELECT nn_classify('plain', " ..
        table.concat(seed.flower_input, ", ") .. ")"))
    end)

    it("scores the winning output, a double precision", function()
      local want = reference.forward(SEED, seed.input)
      local s = value("SELECT nn_score('leaf_flower', " .. LEAF .. ")")
      assert.near(want[1], tonumber(s), TOL_UNIT)
      assert.equal("double precision",
        value("SELECT pg_typeof(nn_score('leaf_flower', " .. LEAF .. "))"))
      assert.equal("real[]",
        value("SELECT pg_typeof(nn_forward('leaf_flower', " .. LEAF .. "))"))
    end)

    it("takes the columns of a row as it takes an array", function()
      value("CREATE TABLE leaves (r real, g real, b real, ml real)")
      value("INSERT INTO leaves VALUES (" .. LEAF .. ")")
      assert.equal(value("SELECT nn_forward('leaf_flower', ARRAY[" .. LEAF .. "]::real[])"),
                   value("SELECT nn_forward('leaf_flower', r, g, b, ml) FROM leaves"))
      assert.equal(value("SELECT nn_forward('leaf_flower', ARRAY[r, g, b, ml]) FROM leaves"),
                   value("SELECT nn_forward('leaf_flower', VARIADIC ARRAY[" .. LEAF ..
                         "]::float8[])"))
    end)

    it("gives what SQLite's functions give on the same model", function()
      for _, x in ipairs(samples(40)) do
        local args = table.concat(x, ", ")
        local lite_row = db_util.all(lite, "SELECT nn_forward('leaf_flower', " .. args ..
          ") AS y, nn_classify('leaf_flower', " .. args .. ") AS c, nn_score('leaf_flower', " ..
          args .. ") AS s")[1]
        local out = value("SELECT nn_forward('leaf_flower', " .. args ..
          ")::text || ' ' || nn_classify('leaf_flower', " .. args .. ") || ' ' || nn_score('leaf_flower', "
          .. args .. ")")
        local y, c, s = out:match("^(%S+) (%S+) (%S+)$")
        local lite_y, pg_y = {}, array(y)
        for n in lite_row.y:gmatch("[^,%[%]]+") do lite_y[#lite_y + 1] = tonumber(n) end
        assert.equal(#lite_y, #pg_y)
        for i = 1, #lite_y do assert.near(lite_y[i], pg_y[i], TOL_ENGINES) end
        assert.equal(lite_row.c, c)
        assert.near(lite_row.s, tonumber(s), TOL_ENGINES)
      end
    end)

    it("gives NULL for a NULL model, array or element, as SQLite does", function()
      assert.equal("t", value("SELECT nn_score(NULL, " .. LEAF .. ") IS NULL"))
      assert.equal("t", value("SELECT nn_score('leaf_flower', NULL::real[]) IS NULL"))
      assert.equal("t", value("SELECT nn_classify('leaf_flower', 32, 107, NULL, 11.2) IS NULL"))
      assert.equal("t", value("SELECT nn_forward('leaf_flower', ARRAY[32, NULL, 56, 11.2]::real[])"
        .. " IS NULL"))
      assert.is_nil(db_util.all(lite, "SELECT nn_classify('leaf_flower', 32, 107, NULL, 11.2) AS v")[1].v)
    end)
  end)

  describe("on a convolutional network's image rows", function()
    -- a LeNet-like net over 1x28x28 images with a BatchNorm2d whose running
    -- statistics are not its start; a row is the 784 numbers of an image
    local net
    local function image(k)
      local x = {}
      for i = 1, 784 do x[i] = compat.f32(math.sin(i * 0.37 + k) * 0.5 + 0.5) end
      return x
    end
    local function lenet()
      if net then return net end
      nn.seed(61)
      net = nn.Sequential{ nn.Input{ 1, 28, 28 }, nn.Conv2d(1, 6, 5, 5, { padding = 2 }),
        nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5, 5), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10) }
      net:set_weights(3, "running_mean", { 0.1, -0.2, 0.3, 0, 0.05, -0.1 })
      net:set_weights(3, "running_var", { 0.5, 2, 1.5, 1, 0.75, 1.25 })
      net:set_weights(3, "weight", { 1.2, 0.8, 1, 1.1, 0.9, 1 })
      net:set_weights(3, "bias", { 0.1, 0, -0.1, 0.2, 0, 0.05 })
      store:save("lenet", net)
      lite:save("lenet", net)
      return net
    end

    it("forwards, classifies and scores a row of 784 as net:forward does, in both engines",
      function()
        local n = lenet()
        for k = 1, 3 do
          local x = image(k)
          local want = n:forward(x)
          local best = 1
          for j = 2, 10 do if want[j] > want[best] then best = j end end
          local arr = "ARRAY[" .. table.concat(x, ", ") .. "]::real[]"
          local y = array(value("SELECT nn_forward('lenet', " .. arr .. ")"))
          assert.equal(10, #y)
          for j = 1, 10 do assert.near(want[j], y[j], 1e-6 * math.max(1, math.abs(want[j]))) end
          assert.equal(tostring(best), value("SELECT nn_classify('lenet', " .. arr .. ")"))
          assert.near(want[best], tonumber(value("SELECT nn_score('lenet', " .. arr .. ")")), 1e-6)
          local js = "'[" .. table.concat(x, ", ") .. "]'"
          local row = db_util.all(lite, "SELECT nn_forward('lenet', " .. js .. ") AS y, " ..
            "nn_classify('lenet', " .. js .. ") AS c, nn_score('lenet', " .. js .. ") AS s")[1]
          local lite_y = {}
          for v in row.y:gmatch("[^,%[%]]+") do lite_y[#lite_y + 1] = tonumber(v) end
          assert.equal(10, #lite_y)
          for j = 1, 10 do
            assert.near(want[j], lite_y[j], 1e-6 * math.max(1, math.abs(want[j])))
          end
          assert.equal(best, row.c)
          assert.near(want[best], row.s, 1e-6)
        end
      end)

    it("refuses a row of the wrong length by the model's name, in both engines", function()
      lenet()
      local x = image(4)
      x[784] = nil
      local state, msg = failure("SELECT nn_forward('lenet', ARRAY[" .. table.concat(x, ", ") ..
        "]::real[])")
      assert.equal("22023", state)
      assert.equal("nn_forward: 'lenet' takes 784 inputs, got 783", msg)
      assert.equal("nn_forward: 'lenet' takes 784 inputs, got 783",
        lite_failure("SELECT nn_forward('lenet', '[" .. table.concat(x, ", ") .. "]')"))
    end)
  end)

  describe("a new version", function()
    it("is seen by the next statement of a backend that cached the one before", function()
      -- the store's own connection is one backend that lives across statements
      local function on_backend(sql)
        return db_util.value(store, sql)
      end
      local pid = on_backend("SELECT pg_backend_pid()")
      assert.equal("leaf", on_backend("SELECT nn_classify('leaf_flower', " .. LEAF .. ")"))
      assert.near(reference.forward(SEED, seed.input)[1],
                  on_backend("SELECT nn_score('leaf_flower', " .. LEAF .. ")"), TOL_UNIT)
      local other = assert(nn.open(server:url()))
      other:save("leaf_flower", flower_net(seed.labels))
      other:close()
      assert.equal(pid, on_backend("SELECT pg_backend_pid()"))
      assert.equal("flower", on_backend("SELECT nn_classify('leaf_flower', " .. LEAF .. ")"))
      assert.near(reference.forward(FLOWER, seed.input)[2],
                  on_backend("SELECT nn_score('leaf_flower', " .. LEAF .. ")"), TOL_UNIT)
      -- the version before stays reachable by its number, beside the new one
      assert.equal("leaf", on_backend("SELECT nn_classify('leaf_flower@1', " .. LEAF .. ")"))
      assert.equal("flower", on_backend("SELECT nn_classify('leaf_flower@2', " .. LEAF .. ")"))
      assert.equal("sunny", on_backend("SELECT nn_classify('leaf_flower@1:weather', " .. LEAF .. ")"))
      -- one memory context a reference: the network of version 1 that
      -- 'leaf_flower' meant before was freed when it was built again
      local CONTEXTS = "SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'nn model'"
      assert.equal(4, on_backend(CONTEXTS))
      other = assert(nn.open(server:url()))
      other:save("leaf_flower", seed.network(nn, seed.labels))
      other:close()
      assert.equal("leaf", on_backend("SELECT nn_classify('leaf_flower', " .. LEAF .. ")"))
      assert.equal(4, on_backend(CONTEXTS))
    end)
  end)

  describe("a parallel scan", function()
    local N = 20000
    -- row i of the table, in SQL, and the same in Lua
    local ROW = { r = "(i * 37 % 256)::real", g = "(i * 101 % 256)::real",
                  b = "(i * 53 % 256)::real", ml = "(i * 7 % 400 / 10.0)::real" }
    local function row(i) return { i * 37 % 256, i * 101 % 256, i * 53 % 256, i * 7 % 400 / 10 } end
    local PARALLEL = "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0;" ..
      " SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
    local COUNT = "SELECT count(*) FILTER (WHERE nn_classify('leaf_flower@1', r, g, b, ml) = 'leaf')," ..
      " sum(nn_score('leaf_flower@1', ARRAY[r, g, b, ml])) FROM objects"

    setup(function()
      value(("CREATE TABLE objects AS SELECT %s AS r, %s AS g, %s AS b, %s AS ml" ..
             " FROM generate_series(1, %d) AS i; ANALYZE objects")
        :format(ROW.r, ROW.g, ROW.b, ROW.ml, N))
    end)

    it("scores the table on two workers, each running the functions", function()
      local plan = value(PARALLEL .. " EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) " .. COUNT)
      assert.is_truthy(plan:match("Workers Launched: 2"), plan)
      -- the functions are evaluated below the Gather, in the partial aggregate
      -- that each worker runs
      local below = plan:match("Gather.-\n(.*)$")
      assert.is_truthy(below and below:match("Partial Aggregate"), plan)
      assert.is_truthy(below:match("nn_classify") and below:match("nn_score"), plan)
    end)

    it("answers what a serial scan and the reference answer", function()
      local parallel = value(PARALLEL .. " " .. COUNT)
      local serial = value("SET max_parallel_workers_per_gather = 0; " .. COUNT)
      local leaves, sum, closest = 0, 0, math.huge
      for i = 1, N do
        local y = reference.forward(SEED, row(i))
        if y[1] >= y[2] then leaves = leaves + 1 end
        sum = sum + math.max(y[1], y[2])
        closest = math.min(closest, math.abs(y[1] - y[2]))
      end
      -- no sample so near the boundary that float32 could tip it
      assert.is_true(closest > 1e-4)
      local p_count, p_sum = parallel:match("^(%d+)|(%S+)$")
      local s_count, s_sum = serial:match("^(%d+)|(%S+)$")
      assert.equal(leaves, tonumber(p_count))
      assert.equal(leaves, tonumber(s_count))
      -- N scores, each within TOL_UNIT, summed in another order
      assert.near(sum, tonumber(p_sum), N * TOL_UNIT)
      assert.near(tonumber(s_sum), tonumber(p_sum), N * TOL_ENGINES)
    end)
  end)

  describe("bad input", function()
    -- each: the statement, its SQLSTATE, its message (the same as SQLite's
    -- where SQLite can be asked the same)
    local CASES = {
      { "SELECT nn_score('oak', " .. LEAF .. ")", "42704", "nn_score: no model named 'oak'" },
      { "SELECT nn_score('leaf_flower@9', " .. LEAF .. ")", "42704",
        "nn_score: model 'leaf_flower' has no version 9" },
      { "SELECT nn_classify('leaf_flower:colour', " .. LEAF .. ")", "42704",
        "nn_classify: model 'leaf_flower' has no label map 'colour'" },
      { "SELECT nn_score('leaf_flower', 32, 107, 56)", "22023",
        "nn_score: 'leaf_flower' takes 4 inputs, got 3" },
      { "SELECT nn_forward('leaf_flower', 1, 2, 3, 4, 5)", "22023",
        "nn_forward: 'leaf_flower' takes 4 inputs, got 5" },
      { "SELECT nn_classify('leaf_flower', 32, 107, 'NaN', 11.2)", "22023",
        "nn_classify: input 3 is not a finite number", "PostgreSQL only: SQLite has no NaN literal" },
      { "SELECT nn_classify('leaf_flower', 1e39, 107, 56, 11.2)", "22023",
        "nn_classify: input 1 is not a finite number" },
      { "SELECT nn_score('', " .. LEAF .. ")", "22023",
        "nn_score: model reference '' has no model name" },
      { "SELECT nn_score('leaf_flower@0', " .. LEAF .. ")", "22023",
        "nn_score: model reference 'leaf_flower@0': the version after '@' must be a positive integer" },
      { "SELECT nn_score('leaf_flower:', " .. LEAF .. ")", "22023",
        "nn_score: model reference 'leaf_flower:' has no label map name after ':'" },
    }

    it("fails the statement with a named error and its code, as SQLite words it", function()
      for _, case in ipairs(CASES) do
        local state, msg = failure(case[1])
        assert.equal(case[2], state, case[1])
        assert.equal(case[3], msg, case[1])
        if not case[4] then assert.equal(case[3], lite_failure(case[1]), case[1]) end
      end
    end)

    it("refuses a two-dimensional array, and an empty one by its width", function()
      local state, msg = failure("SELECT nn_score('leaf_flower', ARRAY[[1, 2], [3, 4]]::real[])")
      assert.equal("2202E", state)
      assert.equal("nn_score: the inputs must be a one-dimensional array, not 2 dimensions", msg)
      state, msg = failure("SELECT nn_score('leaf_flower', '{}'::real[])")
      assert.equal("22023", state)
      assert.equal("nn_score: 'leaf_flower' takes 4 inputs, got 0", msg)
    end)

    it("names the schema that holds no store (nn.schema)", function()
      local state, msg = failure("SET nn.schema = 'elsewhere'; SELECT nn_score('leaf_flower', " ..
        LEAF .. ")")
      assert.equal("42P01", state)
      assert.equal('nn_score: not an nn database (no table elsewhere.nn_model)', msg)
    end)

    it("refuses to be called from inside its own reading of the store", function()
      value("CREATE SCHEMA shadow;" ..
            " CREATE VIEW shadow.nn_model AS SELECT * FROM nn.nn_model;" ..
            " CREATE VIEW shadow.nn_labelmap AS SELECT * FROM nn.nn_labelmap;" ..
            " CREATE VIEW shadow.nn_version AS SELECT * FROM nn.nn_version" ..
            "   WHERE nn_score('leaf_flower', " .. LEAF .. ") > 0")
      local state, msg = failure("SET nn.schema = 'shadow'; SELECT nn_score('leaf_flower', " ..
        LEAF .. ")")
      assert.equal("55000", state)
      assert.equal("nn_score: called again while it reads the model (from a view or trigger "
        .. "over the nn tables?)", msg)
      -- and a backend is not left refusing every call after it
      db_util.all(store, "SET nn.schema = 'shadow'")
      local ok, err = pcall(db_util.all, store, "SELECT nn_score('leaf_flower', " .. LEAF .. ")")
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("called again while it reads the model", 1, true))
      db_util.all(store, "SET nn.schema = 'nn'")
      assert.equal("leaf", db_util.value(store, "SELECT nn_classify('leaf_flower@1', " ..
        LEAF .. ")"))
    end)

    it("refuses a stored version whose architecture or weights are wrong", function()
      -- rows another tool wrote: nn's triggers keep versions from changing,
      -- not from being inserted
      local good = "SELECT model_id, 2 + v, %s, n_inputs, n_outputs, n_params, weights, %s," ..
        " NULL, 0, digest FROM nn.nn_version, (VALUES (%d)) AS t(v) WHERE version_id = 1"
      local function insert(arch, checksum, v)
        value("INSERT INTO nn.nn_model (name, created_at) VALUES ('bad" .. v .. "', 0);" ..
              " INSERT INTO nn.nn_version (model_id, version, arch, n_inputs, n_outputs," ..
              " n_params, weights, checksum, note, created_at, digest) " ..
              good:format(arch, checksum, v):gsub("SELECT model_id",
                "SELECT (SELECT model_id FROM nn.nn_model WHERE name = 'bad" .. v .. "')"))
      end
      insert([['[{"type":"Linear","in":4,"out":3},{"type":"Frobnicate"},]] ..
             [[{"type":"Linear","in":3,"out":2}]']], "checksum", 1)
      insert("replace(arch, '\"out\":3', '\"out\":5')", "checksum", 2)
      insert("arch", "'0123456789abcdef'", 3)
      local state, msg = failure("SELECT nn_score('bad1', " .. LEAF .. ")")
      assert.equal("XX001", state)
      assert.equal("nn_score: model 'bad1' version 3: layer 2 has unknown type 'Frobnicate'", msg)
      state, msg = failure("SELECT nn_score('bad2', " .. LEAF .. ")")
      assert.equal("XX001", state)
      assert.equal("nn_score: model 'bad2' version 4: layer 3: nn.Linear(3 -> 2) takes 3 inputs, "
        .. "but the layer before it gives 5", msg)
      state, msg = failure("SELECT nn_score('bad3', " .. LEAF .. ")")
      assert.equal("XX001", state)
      assert.is_truthy(msg:match("^nn_score: model 'bad3' version 5: checksum is 0123456789abcdef, "
        .. "the weights hash to %x+$"), msg)
    end)

    it("refuses, by name, a version or label map changed with plain SQL: its digest checked",
       function()
      store:save("swapped", seed.network(nn, seed.labels))
      store:save("zeroed", seed.network(nn, seed.labels))
      store:save("relabelled", seed.network(nn, seed.labels))
      for _, name in ipairs{ "swapped", "zeroed", "relabelled" } do
        assert.equal("leaf", value("SELECT nn_classify('" .. name .. "', " .. LEAF .. ")"))
      end
      -- ReLU for Tanh: the same sizes and weights (and checksum), another network
      value("ALTER TABLE nn.nn_version DISABLE TRIGGER USER;" ..
            " ALTER TABLE nn.nn_labelmap DISABLE TRIGGER USER;" ..
            " UPDATE nn.nn_version SET arch = replace(arch, 'ReLU', 'Tanh') WHERE model_id =" ..
            " (SELECT model_id FROM nn.nn_model WHERE name = 'swapped');" ..
            " UPDATE nn.nn_version SET digest = repeat('0', 64) WHERE model_id =" ..
            " (SELECT model_id FROM nn.nn_model WHERE name = 'zeroed');" ..
            " UPDATE nn.nn_labelmap SET labels = '[\"flower\",\"leaf\"]' WHERE model_id =" ..
            " (SELECT model_id FROM nn.nn_model WHERE name = 'relabelled');" ..
            " ALTER TABLE nn.nn_version ENABLE TRIGGER USER;" ..
            " ALTER TABLE nn.nn_labelmap ENABLE TRIGGER USER")
      for _, name in ipairs{ "swapped", "zeroed" } do
        local state, msg = failure("SELECT nn_score('" .. name .. "', " .. LEAF .. ")")
        assert.equal("XX001", state)
        assert.equal("nn_score: model '" .. name .. "' version 1: its architecture, sizes or"
          .. " weights disagree with its digest (changed outside nn?)", msg)
      end
      local state, msg = failure("SELECT nn_classify('relabelled', " .. LEAF .. ")")
      assert.equal("XX001", state)
      assert.equal("nn_classify: model 'relabelled' label map 'default': its labels disagree"
        .. " with its digest (changed outside nn?)", msg)
      -- the store's own load says the same
      assert.has_error(function() store:load("swapped") end, "model 'swapped' version 1: its"
        .. " architecture, sizes or weights disagree with its digest (changed outside nn?)")
    end)

    it("leaves the server running, and the backend answering after each error", function()
      assert.is_true(server:running())
      for _, case in ipairs(CASES) do
        assert.is_false(pcall(db_util.all, store, case[1]))
        assert.equal("leaf", db_util.value(store, "SELECT nn_classify('leaf_flower@1', " ..
          LEAF .. ")"))
      end
    end)
  end)
end)
