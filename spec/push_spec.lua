--- store:push and store:pull (lua/nn/push.lua), and `nn push` / `nn pull`:
-- versions, label maps, training runs and the log copied between SQLite
-- files (in mktemp folders) and a schema of the PostgreSQL server this spec
-- starts (spec/support/pg.lua), both ways, each row once.
--
-- The reference for what arrived is what the source holds, read with SQL
-- from the source and compared row by row: the bytes of every version, the
-- labels of every map, each run as store:history gives it, each logged row's
-- numbers and texts; a digest in the destination against sha256sum over the
-- documented layout (spec/support/digest.lua).  Faults are made for real: a
-- server stopped between two chunks, a row changed outside nn, two
-- processes pushing one file at the same time.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"
local digest = require "spec.support.digest"
local compat = require "spec.support.compat"
local pg = require "spec.support.pg"

local all, value, exec = db.all, db.value, db.exec

local server, dir
local n_schema = 0

setup(function()
  server = pg.start()
  dir = compat.sh("mktemp -d"):gsub("\n$", "")
end)

teardown(function()
  if server then server:stop() end
  if dir then compat.run("rm -rf '" .. dir .. "'") end
end)

-- A fresh schema of the server: its name.
local function schema()
  n_schema = n_schema + 1
  return "push" .. n_schema
end

local function pg_store(s)
  return assert(nn.open(server:url(), { schema = s or schema() }))
end

local n_file = 0
local function path()
  n_file = n_file + 1
  return ("%s/f%d.db"):format(dir, n_file)
end

local RUN = { epochs = { { epoch = 1, loss = 0.5, ms = 2, val_loss = 0.625 },
  { epoch = 2, loss = 0.25, ms = 3, val_loss = 0.375, val_accuracy = 0.75 } },
  stopped = "epochs", rows = 4, options = { lr = 0.125 }, best_epoch = 2 }

-- A store holding two versions of leaf_flower (the second trained), the
-- weather and quoted maps, and n logged predictions (input {i, 2, 3, 4}), every third
-- with feedback.
local function fill(store, n)
  store:save("leaf_flower", seed.network(nn, seed.labels), { note = "the seed" })
  store:add_labels("leaf_flower", "weather", seed.weather)
  -- labels that JSON escapes: they must arrive as the same strings
  store:add_labels("leaf_flower", "quoted", { 'say "hi"', "tab\there \195\188 \\/" })
  local net = seed.network(nn, seed.labels)
  local W, b = net:get_weights(3)
  b[2] = 5
  net:set_weights(3, W, b)
  store:save("leaf_flower", net, { note = "flower bias 5", training = RUN })
  for i = 1, n do
    local _, _, id = store:classify("leaf_flower", { i, 2, 3, 4 }, {
      labels = i % 2 == 0 and "weather" or nil, request_id = "r-" .. i,
      tags = i % 5 == 0 and { npc = "bob" } or nil })
    if i % 3 == 0 then store:feedback(id, i % 2 == 0 and "sunny" or "leaf") end
  end
  store:flush()
end

-- A JSON text's tokens, numbers as numbers: jsonb writes ", " between
-- elements and 0.00002652487 where nn writes 2.652487e-05, the same number.
local function compact(json)
  if not json then return nil end
  local list = {}
  for tok in json:gmatch('"[^"]*"') do list[#list + 1] = tok end
  for tok in json:gsub('"[^"]*"', ""):gmatch("[^%s,:%[%]{}]+") do
    list[#list + 1] = tonumber(tok) or tok
  end
  return list
end

local VERSIONS = "SELECT m.name, m.name AS model, v.version, v.arch, v.weights, v.note, v.n_inputs, v.n_outputs,"
  .. " v.n_params, v.checksum, v.model_id, v.digest FROM nn_version AS v JOIN nn_model AS m"
  .. " ON m.model_id = v.model_id ORDER BY m.name, v.version"
local MAPS = "SELECT m.name AS model, l.name, l.labels, l.digest FROM nn_labelmap AS l"
  .. " JOIN nn_model AS m ON m.model_id = l.model_id ORDER BY l.labelmap_id"
local RUNS = "SELECT m.name, v.version, t.digest FROM nn_training AS t JOIN nn_version AS v"
  .. " ON v.version_id = t.version_id JOIN nn_model AS m ON m.model_id = v.model_id"
-- a prediction by where it was made, with what it points at by name
local PREDICTIONS = "SELECT p.prediction_id, p.origin, p.origin_id, p.ts, m.name, v.version,"
  .. " l.name AS map, p.input, p.output, p.pred_idx, p.pred_label, p.score, p.request_id,"
  .. " p.tags FROM nn_prediction AS p JOIN nn_version AS v ON v.version_id = p.version_id"
  .. " JOIN nn_model AS m ON m.model_id = v.model_id LEFT JOIN nn_labelmap AS l"
  .. " ON l.labelmap_id = p.labelmap_id"
local FEEDBACK = "SELECT f.feedback_id, f.origin, f.origin_id, f.ts, f.true_idx, f.true_label,"
  .. " p.prediction_id, p.origin AS p_origin, p.origin_id AS p_origin_id FROM nn_feedback AS f"
  .. " JOIN nn_prediction AS p ON p.prediction_id = f.prediction_id"

local function store_id(store)
  return value(store, "SELECT value FROM nn_meta WHERE key = 'store_id'")
end

-- Rows keyed by where they were made: (origin, origin_id), a local row of
-- store id as (id, its own id).
local function by_origin(store, sql, idcol)
  local id, t = store_id(store), {}
  for _, r in ipairs(all(store, sql)) do
    local key = (r.origin or id) .. "/" .. (r.origin_id or r[idcol])
    assert.is_nil(t[key], "twice: " .. key)
    t[key] = r
  end
  return t
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- dst holds what src holds, row by row.
local function same_contents(src, dst)
  local a, b = all(src, VERSIONS), all(dst, VERSIONS)
  assert.are.equal(#a, #b)
  for i, v in ipairs(a) do
    local w = b[i]
    for _, col in ipairs({ "name", "version", "arch", "weights", "note", "n_inputs",
        "n_outputs", "n_params", "checksum" }) do
      assert.are.equal(v[col], w[col], col)
    end
    -- the digest arrives as it left, byte for byte: the documented layout over the
    -- model's name and the same bytes
    assert.are.equal(v.digest, w.digest)
    assert.are.equal(digest.version(w), w.digest)
    assert.are.same(src:history(v.name, v.version), dst:history(w.name, w.version))
  end
  local ma, mb = all(src, MAPS), all(dst, MAPS)
  local seen = {}
  local function key(m) return m.model .. "/" .. m.name .. "/" .. m.labels .. "/" .. m.digest end
  for _, m in ipairs(mb) do seen[key(m)] = true end
  for _, m in ipairs(ma) do assert.is_true(seen[key(m)], "label map " .. key(m)) end
  local runs = {}
  for _, t in ipairs(all(dst, RUNS)) do runs[t.name .. "/" .. t.version] = t.digest end
  for _, t in ipairs(all(src, RUNS)) do
    assert.are.equal(t.digest, runs[t.name .. "/" .. t.version], "the run of " .. t.name)
  end
  local pa, pb = by_origin(src, PREDICTIONS, "prediction_id"),
    by_origin(dst, PREDICTIONS, "prediction_id")
  assert.are.equal(count(pa), count(pb))
  for key, p in pairs(pa) do
    local q = assert(pb[key], "missing prediction " .. key)
    for _, col in ipairs({ "ts", "name", "version", "map", "pred_idx", "pred_label", "score",
        "request_id" }) do
      assert.are.equal(p[col], q[col], col)
    end
    for _, col in ipairs({ "input", "output", "tags" }) do
      assert.are.same(compact(p[col]), compact(q[col]), col)
    end
  end
  local fa, fb = by_origin(src, FEEDBACK, "feedback_id"), by_origin(dst, FEEDBACK, "feedback_id")
  assert.are.equal(count(fa), count(fb))
  local sid, did = store_id(src), store_id(dst)
  for key, f in pairs(fa) do
    local g = assert(fb[key], "missing feedback " .. key)
    assert.are.equal(f.ts, g.ts)
    assert.are.equal(f.true_idx, g.true_idx)
    assert.are.equal(f.true_label, g.true_label)
    -- it answers the same prediction
    assert.are.equal((f.p_origin or sid) .. "/" .. (f.p_origin_id or f.prediction_id),
      (g.p_origin or did) .. "/" .. (g.p_origin_id or g.prediction_id))
  end
end

local NONE = { versions = 0, labelmaps = 0, runs = 0, predictions = 0, feedback = 0 }

describe("store:push", function()
  it("gives every store its own random 128-bit id, files and schemas alike", function()
    local a, b, c = assert(nn.open(path())), assert(nn.open(path())), pg_store()
    local ids = { store_id(a), store_id(b), store_id(c) }
    for _, id in ipairs(ids) do assert.truthy(id:match("^" .. ("%x"):rep(32) .. "$"), id) end
    assert.are_not.equal(ids[1], ids[2])
    assert.are_not.equal(ids[1], ids[3])
    a:close() b:close() c:close()
  end)

  it("copies a file into PostgreSQL, row by row, and a second push sends nothing", function()
    local src, dst = assert(nn.open(path())), pg_store()
    fill(src, 50)
    local n = src:push(dst)
    assert.are.same({ versions = 2, labelmaps = 3, runs = 1, predictions = 50, feedback = 16 }, n)
    same_contents(src, dst)
    assert.are.same(NONE, src:push(dst))
    assert.are.equal(50, value(dst, "SELECT count(*) FROM nn_prediction"))
    -- the views read as on the file
    assert.are.same(all(src, "SELECT name, version, n, correct FROM nn_accuracy"),
      all(dst, "SELECT name, version, n, correct FROM nn_accuracy"))
    -- and the version that arrived answers as the one that left (the same bytes)
    local la, sa = src:classify("leaf_flower", seed.input)
    local lb, sb = dst:classify("leaf_flower", seed.input)
    assert.are.equal(la, lb)
    assert.are.equal(sa, sb)
    src:close() dst:close()
  end)

  it("pulls from PostgreSQL into a new file, and nothing comes back to where it was made",
    function()
      local a, central, b = assert(nn.open(path())), pg_store(), assert(nn.open(path()))
      fill(a, 30)
      a:push(central)
      local n = b:pull(central)
      assert.are.same({ versions = 2, labelmaps = 3, runs = 1, predictions = 30, feedback = 10 }, n)
      same_contents(central, b)
      same_contents(a, b)
      -- b's rows say they were made in a, with a's ids
      assert.are.equal(30, value(b, "SELECT count(*) FROM nn_prediction WHERE origin = $1"
        .. " AND origin_id BETWEEN 1 AND 30", store_id(a)))
      assert.are.same(NONE, a:pull(central))
      assert.are.same(NONE, a:pull(b))
      a:close() central:close() b:close()
    end)

  it("copies a file into a file, and a file's new rows only on the next push", function()
    local a, b = assert(nn.open(path())), assert(nn.open(path()))
    fill(a, 10)
    a:push(b)
    local _, _, id = a:classify("leaf_flower", { 9, 9, 9, 9 })
    a:feedback(id, "flower")
    a:feedback(3, "flower")   -- a second answer to an old prediction: the latest wins
    assert.are.same({ versions = 0, labelmaps = 0, runs = 0, predictions = 1, feedback = 2 },
      a:push(b))
    same_contents(a, b)
    assert.are.same(all(a, "SELECT * FROM nn_accuracy"), all(b, "SELECT * FROM nn_accuracy"))
    a:close() b:close()
  end)

  it("keeps the logs of many files apart in one schema", function()
    local central = pg_store()
    local files = {}
    for i = 1, 3 do
      files[i] = assert(nn.open(path()))
      fill(files[i], 20)   -- the same ids, 1 to 20, in each file
      files[i]:push(central)
    end
    assert.are.equal(60, value(central, "SELECT count(*) FROM nn_prediction"))
    assert.are.equal(3, value(central, "SELECT count(DISTINCT origin) FROM nn_prediction"))
    for i = 1, 3 do
      assert.are.same({ { n = 20, lo = 1, hi = 20 } }, all(central, "SELECT count(*) AS n,"
        .. " min(origin_id) AS lo, max(origin_id) AS hi FROM nn_prediction WHERE origin = $1",
        store_id(files[i])))
      files[i]:close()
    end
    -- their versions were the same bytes: each arrived once
    assert.are.equal(2, value(central, "SELECT count(*) FROM nn_version"))
    central:close()
  end)

  for _, cut in ipairs({ 1, 2, 3, 5, 6 }) do
    it(("cut off after chunk %d and repeated: no duplicate, no gap"):format(cut), function()
      local src, dst = assert(nn.open(path())), pg_store()
      fill(src, 47)   -- 5 chunks of 10 predictions, then 2 of feedback (16 rows)
      local chunks = 0
      local ok, err = pcall(src.push, src, dst, { chunk = 10, on_chunk = function()
        chunks = chunks + 1
        if chunks == cut then error("cut off here", 0) end
      end })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("cut off here", 1, true), err)
      local before = value(dst, "SELECT count(*) FROM nn_prediction")
      assert.are.equal(math.min(cut * 10, 47), before)
      src:push(dst, { chunk = 10 })
      same_contents(src, dst)
      src:close() dst:close()
    end)
  end

  it("stops with a named error when the server goes down between chunks, and resumes",
    function()
      local s = schema()
      local src, dst = assert(nn.open(path())), pg_store(s)
      fill(src, 35)
      local chunks = 0
      local ok, err = pcall(src.push, src, dst, { chunk = 10, on_chunk = function()
        chunks = chunks + 1
        if chunks == 2 then server:kill() end
      end })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("^push: "), err)
      dst:close()
      server:start_again()
      dst = pg_store(s)
      assert.are.equal(20, value(dst, "SELECT count(*) FROM nn_prediction"))
      src:push(dst, { chunk = 10 })
      same_contents(src, dst)
      src:close() dst:close()
    end)

  it("names a wrong URL, a server that is down, and a destination that is not a store",
    function()
      local src = assert(nn.open(path()))
      fill(src, 3)
      local bad = "postgresql:///postgres?host=" .. dir .. "/nowhere&user=nn"
      local ok, err = pcall(src.push, src, bad)
      assert.is_false(ok)
      assert.truthy(err:find("push: destination postgresql:///postgres", 1, true), err)
      assert.truthy(err:find("(cantopen)", 1, true), err)
      assert.is_false((pcall(src.push, src, "postgresql://[nonsense")))
      server:kill()
      ok, err = pcall(src.push, src, server:url())
      server:start_again()
      assert.is_false(ok)
      assert.truthy(err:find("(cantopen)", 1, true), err)
      -- a source path that is not there: an error, and no file made
      local missing = dir .. "/missing.db"
      local mem = assert(nn.open(":memory:"))
      ok, err = pcall(mem.pull, mem, missing)
      mem:close()
      assert.is_false(ok)
      assert.truthy(err:find("push: source " .. missing, 1, true), err)
      assert.is_nil(io.open(missing))
      -- a file of another program's
      local other = path()
      compat.sh(("sqlite3 '%s' 'CREATE TABLE t (x)'"):format(other))
      local bytes = io.open(other, "rb"):read("*a")
      ok, err = pcall(src.push, src, other)
      assert.is_false(ok)
      assert.truthy(err:find("(foreign)", 1, true), err)
      assert.are.equal(bytes, io.open(other, "rb"):read("*a"))
      -- a database whose schema nn is another program's, left as it was
      server:sql("CREATE DATABASE theirs")
      server:sql("CREATE SCHEMA nn; CREATE TABLE nn.t (x int)", "theirs")
      ok, err = pcall(src.push, src, server:url("theirs"))
      assert.is_false(ok)
      assert.truthy(err:find("(foreign)", 1, true), err)
      assert.are.equal("t\n", server:sql("SELECT string_agg(relname, ',') FROM pg_class"
        .. " WHERE relnamespace = 'nn'::regnamespace", "theirs"))
      -- not a store at all
      assert.has_error(function() src:push(42) end,
        "push: destination must be a store, a path or a URL, not number")
      assert.has_error(function() src:push(src) end,
        "push: the source and the destination are one store")
      assert.has_error(function() src:push(":memory:", { chunk = 0 }) end,
        "push: option 'chunk' must be a positive integer, not 0")
      assert.has_error(function() src:push(":memory:", { chunks = 1 }) end,
        "push: unknown option 'chunks'")
      src:close()
    end)

  it("refuses, by name, a version whose bytes disagree with its digest", function()
    local p = path()
    local src, dst = assert(nn.open(p)), pg_store()
    fill(src, 5)
    src:close()
    -- the weights and their checksum changed together: only the digest can tell
    compat.sh(("sqlite3 '%s' \"DROP TRIGGER nn_version_no_update; UPDATE nn_version SET"
      .. " weights = zeroblob(92), checksum = '%s' WHERE version = 2\""):format(p,
        compat.fnv1a64(("\0"):rep(92))))
    src = assert(nn.open(p))
    local ok, err = pcall(src.push, src, dst)
    assert.is_false(ok)
    assert.truthy(err:find("push: model 'leaf_flower' version 2: ", 1, true), err)
    assert.truthy(err:find("digest", 1, true), err)
    -- nothing of it arrived, and no log row pointing at it
    assert.are.equal(1, value(dst, "SELECT count(*) FROM nn_version"))
    assert.are.equal(0, value(dst, "SELECT count(*) FROM nn_prediction"))
    src:close() dst:close()
  end)

  it("refuses a version whose number holds other bytes in the destination", function()
    local a, b = assert(nn.open(path())), assert(nn.open(path()))
    a:save("leaf_flower", seed.network(nn, seed.labels))
    local other = seed.network(nn, seed.labels)
    local W, bias = other:get_weights(1)
    bias[1] = 7
    other:set_weights(1, W, bias)
    b:save("leaf_flower", other)
    assert.has_error(function() a:push(b) end, "push: model 'leaf_flower' version 1 differs"
      .. " between the source and the destination: a version is never changed")
    a:close() b:close()
  end)

  it("keeps every digest byte for byte both ways, and names a version whose digest"
    .. " differs at the other end", function()
    local s = schema()
    local a, central, b = assert(nn.open(path())), pg_store(s), assert(nn.open(path()))
    -- a model_id that differs from store to store: the digests must not care
    central:save("first", seed.network(nn, seed.labels))
    b:save("second", seed.network(nn, seed.labels))
    b:save("third", seed.network(nn, seed.labels))
    fill(a, 3)
    a:push(central)
    b:pull(central)
    local ids = {}
    for _, store in ipairs{ a, central, b } do
      ids[#ids + 1] = value(store, "SELECT model_id FROM nn_model WHERE name = 'leaf_flower'")
    end
    assert.are.same({ 1, 2, 4 }, ids)
    -- every digest of leaf_flower's rows, the same text in the three stores
    local function digests(store)
      local list = {}
      for _, sql in ipairs{ VERSIONS, MAPS, RUNS } do
        for _, r in ipairs(all(store, sql)) do
          if (r.model or r.name) == "leaf_flower" then list[#list + 1] = r.digest end
        end
      end
      table.sort(list)
      return table.concat(list, " ")
    end
    assert.are.equal(2 + 3 + 1, select(2, digests(a):gsub("%x+", "")))
    assert.are.equal(digests(a), digests(central))
    assert.are.equal(digests(a), digests(b))
    -- and each the documented layout over the model's name, in the store of id 4
    for _, w in ipairs(all(b, VERSIONS)) do assert.are.equal(digest.version(w), w.digest) end
    -- a version's digest changed outside nn in the destination: named, nothing sent
    server:sql(("ALTER TABLE %s.nn_version DISABLE TRIGGER USER; UPDATE %s.nn_version AS v"
      .. " SET digest = repeat('0', 64) FROM %s.nn_model AS m WHERE m.model_id = v.model_id"
      .. " AND m.name = 'leaf_flower' AND v.version = 1"):format(s, s, s))
    local d = value(a, "SELECT digest FROM nn_version WHERE version = 1")
    assert.has_error(function() a:push(central) end, ("push: model 'leaf_flower' version 1:"
      .. " its digest is %s in the source and %s in the destination: a digest travels"
      .. " unchanged"):format(d, ("0"):rep(64)))
    -- and in a file
    exec(b, "DROP TRIGGER nn_version_no_update")
    exec(b, "UPDATE nn_version SET digest = $1 WHERE version = 2 AND model_id = 4",
      ("1"):rep(64))
    d = value(a, "SELECT digest FROM nn_version WHERE version = 2")
    assert.has_error(function() a:push(b) end, ("push: model 'leaf_flower' version 2:"
      .. " its digest is %s in the source and %s in the destination: a digest travels"
      .. " unchanged"):format(d, ("1"):rep(64)))
    a:close() central:close() b:close()
  end)

  it("refuses a file whose digests predate schema 8, opened read-only, by name", function()
    local p = path()
    local src = assert(nn.open(p))
    fill(src, 2)
    src:close()
    compat.sh(("sqlite3 '%s' 'PRAGMA user_version = 7'"):format(p))
    local dst = assert(nn.open(path()))
    assert.has_error(function() dst:pull(p) end, "push: the source's digests cover its"
      .. " own model ids: a file of an older nn opened read-only (open it once writable to"
      .. " migrate it)")
    assert.are.equal(0, value(dst, "SELECT count(*) FROM nn_version"))
    dst:close()
  end)

  -- Two processes push one file into dst at the same time.
  local function race(dst_where, dst_open)
    local src_path = path()
    local src = assert(nn.open(src_path))
    fill(src, 300)
    src:close()
    local script = ("package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path"
      .. " package.cpath = '%s/?.so;' .. package.cpath local nn = require 'nn'"
      .. " local ok, err = pcall(function() local s = assert(nn.open('%s'))"
      .. " local d = assert(nn.open('%s'%s)) s:push(d, { chunk = 7 }) end)"
      .. " print(ok and 'ok' or err)"):format(compat.BUILD, src_path, dst_where[1],
        dst_where[2] and (", { schema = '%s' }"):format(dst_where[2]) or "")
    local run = ("%s -e \"%s\""):format(compat.LUA, script)
    local out = compat.sh(("(%s & %s & wait) 2>&1"):format(run, run))
    for line in out:gmatch("[^\n]+") do
      assert.truthy(line == "ok" or line:find("^push: "), out)
    end
    src = assert(nn.open(src_path))
    local dst = dst_open()
    src:push(dst)
    same_contents(src, dst)
    src:close() dst:close()
    return out
  end

  it("two processes pushing one file into PostgreSQL both finish, nothing doubled", function()
    local s = schema()
    assert.are.equal("ok\nok\n", race({ server:url(), s }, function() return pg_store(s) end))
  end)

  it("two processes pushing one file into a file: nothing doubled", function()
    local p = path()
    assert(nn.open(p)):close()
    race({ p }, function() return assert(nn.open(p)) end)
  end)
end)

describe("nn push and nn pull", function()
  local NN = compat.BUILD .. "/bin/nn"

  local function nn_cmd(args)
    local ok, out = compat.run(("%s %s 2>&1; echo \"status $?\""):format(NN, args))
    assert(ok)
    return out
  end

  it("push a file to a URL and pull it into a new file, as a user runs them", function()
    local a, b = path(), path()
    local src = assert(nn.open(a))
    fill(src, 12)
    src:close()
    server:sql("CREATE DATABASE cli")
    local url = "'" .. server:url("cli") .. "'"
    assert.are.equal("2 versions, 3 label maps, 1 training runs, 12 predictions, 4 feedback\n"
      .. "status 0\n", nn_cmd(("push %s %s --chunk 5"):format(a, url)))
    assert.are.equal("0 versions, 0 label maps, 0 training runs, 0 predictions, 0 feedback\n"
      .. "status 0\n", nn_cmd(("push %s %s"):format(a, url)))
    assert.truthy(nn_cmd(("pull %s %s"):format(b, url)):find("no such file", 1, true))
    assert.are.equal("2 versions, 3 label maps, 1 training runs, 12 predictions, 4 feedback\n"
      .. "status 0\n", nn_cmd(("push %s %s --create"):format(url, b)))
    assert.are.equal("0 versions, 0 label maps, 0 training runs, 0 predictions, 0 feedback\n"
      .. "status 0\n", nn_cmd(("pull %s %s"):format(b, url)))
    local sa, sb = assert(nn.open(a)), assert(nn.open(b))
    same_contents(sa, sb)
    sa:close() sb:close()
  end)

  it("says what is wrong with the command line", function()
    local a = path()
    assert(nn.open(a)):close()
    local out = nn_cmd(("push %s"):format(a))
    assert.truthy(out:find("nn push: push takes a source and a destination", 1, true), out)
    assert.truthy(out:find("status 2\n", 1, true), out)
    out = nn_cmd(("push %s %s --chunk 0"):format(a, a))
    assert.truthy(out:find("nn push: --chunk: '0' is not a positive integer", 1, true), out)
    out = nn_cmd(("push %s postgresql:///x?host=%s/nowhere"):format(a, dir))
    assert.truthy(out:find("^nn push: ") and out:find("status 1\n", 1, true), out)
  end)
end)
