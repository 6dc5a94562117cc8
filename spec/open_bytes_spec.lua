-- Models from bytes (issue 22): nn.open_bytes opens the image of an nn
-- database held in a string, read-only, from SQLite's own copy of it
-- (src/store/nn_store.c, nn_store_open_bytes); store:serialize gives such
-- an image of any store and store:ship writes a compact copy to a new file
-- read without a -wal or -shm (src/store/nn_store_image.c).  What they
-- write is checked with the sqlite3 shell, the tool that defines the file;
-- bad images (not a database, truncated, another application's) get named
-- errors, nil, message, code as nn.open gives.

local nn = require "nn"
local seed = require "spec.support.seed"
local compat = require "spec.support.compat"
local db = require "spec.support.db"

-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5

local READONLY = "the store was opened from bytes, read-only"
local DIGEST = "model 'leaf_flower' version 1: its architecture, sizes or weights"
  .. " disagree with its digest (changed outside nn?)"

local sh = compat.sh

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function ls(dir) return sh("ls -A " .. quote(dir)) end

--- The sqlite3 shell's answer to sql on the file at path.
local function shell(path, sql) return sh(("sqlite3 %s %s"):format(quote(path), quote(sql))) end

--- A fresh folder holding models.db, in WAL mode as nn leaves it: the
-- seed's network with its labels, the weather map, one logged prediction
-- with its feedback; closed.
local function model_file()
  local dir = sh("mktemp -d"):gsub("\n$", "")
  local path = dir .. "/models.db"
  local store = assert(nn.open(path))
  store:save("leaf_flower", seed.network(nn), { labels = seed.labels })
  store:add_labels("leaf_flower", "weather", seed.weather)
  local _, _, id = store:classify("leaf_flower", seed.input)
  store:feedback(id, "leaf")
  store:close()
  return dir, path
end

--- The network's parameters, read back through get_weights, in nn's order.
local function params_of(net)
  local out = {}
  for _, i in ipairs{ 1, 3 } do
    local W, b = net:get_weights(i)
    for _, row in ipairs(W) do for _, w in ipairs(row) do out[#out + 1] = w end end
    for _, v in ipairs(b) do out[#out + 1] = v end
  end
  return out
end

describe("nn.open_bytes", function()
  local dir, path, bytes
  before_each(function()
    dir, path = model_file()
    bytes = read_file(path)
  end)
  after_each(function() os.execute("rm -rf " .. quote(dir)) end)

  it("opens a WAL database file's bytes, as love.filesystem.read gives them", function()
    assert.equal("\2\2", bytes:sub(19, 20))   -- the header of a WAL database
    local store = assert(nn.open_bytes(bytes, { name = "models.db" }))
    assert.equal("nn.Store (models.db, from bytes)", tostring(store))
    local net = store:load("leaf_flower")
    -- the weights are the seed's, to float32
    local want = seed.params()
    local got = params_of(net)
    assert.equal(#want, #got)
    for i = 1, #want do assert.equal(compat.f32(want[i]), got[i]) end
    assert.same(seed.labels, net:labels())
    -- classify as a read-only store does: a label and a score, nothing logged
    local results = { store:classify("leaf_flower", seed.input) }
    assert.equal(2, #results)
    assert.equal("leaf", results[1])
    assert.near(seed.softmax[1], results[2], TOL_PRINTED)
    assert.equal("rainy", (store:classify("leaf_flower", seed.flower_input, { labels = "weather" })))
    assert.equal("leaf|sunny", db.value(store,
      "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2) || '|' || "
      .. "nn_classify('leaf_flower:weather', 32, 107, 56, 11.2) AS v"))
    -- what the file logged is there to read
    assert.equal(1, db.value(store, "SELECT count(*) FROM nn_prediction"))
    assert.equal(1, db.value(store, "SELECT correct FROM nn_accuracy"))
    assert.equal("leaf_flower 1", db.value(store,
      "SELECT name || ' ' || version FROM nn_model JOIN nn_version USING (model_id)"))
    assert.is_nil(store:history("leaf_flower"))   -- saved without a training run
    assert.is_true(store:flush())
    assert.is_true(store:close())
    assert.equal("nn.Store (closed)", tostring(store))
    assert.equal("models.db\n", ls(dir))
  end)

  it("keeps its own copy: the string may go", function()
    local store = assert(nn.open_bytes(bytes .. ""))
    bytes = nil
    collectgarbage()
    collectgarbage()
    assert.equal("nn.Store (image, from bytes)", tostring(store))
    assert.equal("leaf", (store:classify("leaf_flower", seed.input)))
    store:close()
  end)

  it("refuses every write, naming the open from bytes", function()
    local store = assert(nn.open_bytes(bytes))
    local net = store:load("leaf_flower")
    local function err_of(f, ...)
      local ok, err = pcall(f, store, ...)
      assert.is_false(ok)
      return err
    end
    assert.equal(READONLY, err_of(store.save, "leaf_flower", net))
    assert.equal(READONLY, err_of(store.add_labels, "leaf_flower", "other", { "a", "b" }))
    assert.equal(READONLY, err_of(store.log, net, seed.input, { 0.75, 0.25 }))
    assert.equal(READONLY, err_of(store.feedback, 1, "leaf"))
    assert.equal("attempt to write a readonly database", err_of(function(s)
      db.exec(s, "DELETE FROM nn_labelmap")
    end))
    store:close()
  end)

  it("checks the digests as on a file", function()
    -- a weight changed in the file with its checksum, the trigger dropped
    -- first, as a hand in SQL might (spec/digest_spec.lua)
    local writer = assert(nn.open(path))
    local blob = db.value(writer, "SELECT weights FROM nn_version")
    local changed = compat.pack_f32le{ 0.5 } .. blob:sub(5)
    db.exec(writer, "DROP TRIGGER nn_version_no_update")
    db.exec(writer, "UPDATE nn_version SET weights = CAST(? AS BLOB), checksum = ?", changed,
      compat.fnv1a64(changed))
    writer:close()
    local file = assert(nn.open(path, { readonly = true }))
    assert.has_error(function() file:load("leaf_flower") end, DIGEST)
    file:close()
    local store = assert(nn.open_bytes(read_file(path)))
    assert.has_error(function() store:load("leaf_flower") end, DIGEST)
    assert.has_error(function() store:classify("leaf_flower", seed.input) end, DIGEST)
    assert.has_error(function() db.value(store, "SELECT nn_score('leaf_flower', 1, 2, 3, 4)") end,
      "nn_score: " .. DIGEST)
    store:close()
  end)

  describe("refuses what is not a whole nn database, naming it", function()
    local function refused(image, message, code, opts)
      local store, got, got_code = nn.open_bytes(image, opts)
      assert.is_nil(store)
      assert.equal(message, got)
      assert.equal(code, got_code)
    end

    it("a string that is not a database", function()
      refused("hello", "image: not an SQLite database (no 'SQLite format 3' header)", "notadb")
      refused(("x"):rep(5000), "image: not an SQLite database (no 'SQLite format 3' header)",
        "notadb")
      refused("", "models.db: empty (0 bytes)", "notadb", { name = "models.db" })
    end)

    it("a header whose page size SQLite never writes", function()
      refused(bytes:sub(1, 16) .. "\3\0" .. bytes:sub(19),
        "image: not an SQLite database (its page size is none SQLite writes)", "notadb")
    end)

    it("a truncated image, cut in a page or at a page's end", function()
      local truncated = "image: truncated (its length is not the pages its header counts)"
      local page = shell(path, "PRAGMA page_size"):gsub("\n$", "")
      page = tonumber(page)
      assert.is_true(#bytes > 2 * page)
      refused(bytes:sub(1, 100), "image: truncated (shorter than its header)", "notadb")
      refused(bytes:sub(1, #bytes - 1), truncated, "notadb")
      refused(bytes:sub(1, #bytes - page), truncated, "notadb")
      refused(bytes:sub(1, page), truncated, "notadb")
    end)

    it("another application's database", function()
      local other = dir .. "/other.db"
      shell(other, "CREATE TABLE t (x)")
      refused(read_file(other), "image: not an nn database (no application_id, and tables"
        .. " of its own)", "foreign")
      shell(other, ("PRAGMA application_id = %d"):format(0x464C4B47))
      refused(read_file(other), "image: not an nn database (application_id 0x464c4b47)",
        "foreign")
    end)

    it("an empty database, or one of a newer schema", function()
      local empty = dir .. "/empty.db"
      shell(empty, "PRAGMA page_size = 4096; VACUUM")
      local image = read_file(empty)
      assert.truthy(#image > 0)
      local store, message, code = nn.open_bytes(image)
      assert.is_nil(store)
      assert.truthy(message:find("^image: schema version 0 is older than this nn's %(%d+%),"
        .. " and a read%-only open cannot migrate it$"), message)
      assert.equal("schema", code)
      shell(path, "PRAGMA user_version = 999")
      refused(read_file(path), ("image: schema version 999 is newer than this nn knows (%d)")
        :format(db.schema_count()), "schema")
    end)
  end)

  it("checks its arguments", function()
    assert.has_error(function() nn.open_bytes() end,
      "bad argument #1 to 'open_bytes' (string expected, got no value)")
    assert.has_error(function() nn.open_bytes(bytes, 1) end,
      "bad argument #2 to 'open_bytes' (table expected, got number)")
    assert.has_error(function() nn.open_bytes(bytes, { readonly = false }) end,
      "bad argument #2 to 'open_bytes' (a store opened from bytes is read-only"
      .. " (readonly = false cannot be))")
    assert.has_error(function() nn.open_bytes(bytes, { name = 1 }) end,
      "bad argument #2 to 'open_bytes' (option 'name' must be a string)")
    assert.has_error(function() nn.open_bytes(bytes, { nmae = "x" }) end,
      "bad argument #2 to 'open_bytes' (unknown option 'nmae' (did you mean 'name'?))")
    local store = assert(nn.open_bytes(bytes, { readonly = true }))
    store:close()
  end)
end)

describe("store:serialize", function()
  local dir, path
  before_each(function() dir, path = model_file() end)
  after_each(function() os.execute("rm -rf " .. quote(dir)) end)

  it("gives a file store's bytes, rows logged before it included, in rollback-journal mode",
     function()
    local store = assert(nn.open(path))
    store:classify("leaf_flower", seed.flower_input)   -- buffered: serialize flushes it
    local image = store:serialize()
    store:close()
    assert.equal("\1\1", image:sub(19, 20))
    local copy = dir .. "/copy.db"
    write_file(copy, image)
    -- the sqlite3 shell reads it whole, with no side file
    assert.equal("delete\nok\n2\n", shell(copy,
      "PRAGMA journal_mode; PRAGMA integrity_check; SELECT count(*) FROM nn_prediction"))
    local page_size = tonumber((shell(copy, "PRAGMA page_size")))
    local pages = tonumber((shell(copy, "PRAGMA page_count")))
    assert.equal(page_size * pages, #image)
    assert.equal("copy.db\nmodels.db\n", ls(dir))
  end)

  it("gives an in-memory store's bytes, which open_bytes opens", function()
    local store = seed.store(nn)
    local image = store:serialize()
    store:close()
    local copy = assert(nn.open_bytes(image))
    assert.equal("leaf", (copy:classify("leaf_flower", seed.input)))
    -- the image of an image is the same bytes
    assert.is_true(image == copy:serialize())   -- (not printed: bytes)
    copy:close()
  end)

  it("raises on a closed store", function()
    local store = assert(nn.open(path))
    store:close()
    assert.has_error(function() store:serialize() end, "attempt to use a closed nn.Store")
  end)
end)

describe("store:ship", function()
  local dir, path
  before_each(function() dir, path = model_file() end)
  after_each(function() os.execute("rm -rf " .. quote(dir)) end)

  it("writes a compact copy read with no side file, logged rows included", function()
    local store = assert(nn.open(path))
    shell(path, "SELECT 1")
    store:classify("leaf_flower", seed.flower_input)
    assert.is_true(store:ship(dir .. "/game.db"))
    store:close()
    local game = dir .. "/game.db"
    assert.equal("delete\nok\n2\n0\n", shell(game, "PRAGMA journal_mode; PRAGMA integrity_check;"
      .. " SELECT count(*) FROM nn_prediction; PRAGMA freelist_count"))
    local before = read_file(game)
    assert.equal("\1\1", before:sub(19, 20))
    local shipped = assert(nn.open(game, { readonly = true }))
    assert.equal("leaf", (shipped:classify("leaf_flower", seed.input)))
    shipped:close()
    assert.is_true(before == read_file(game))   -- (not printed: bytes)
    assert.equal("game.db\nmodels.db\n", ls(dir))
  end)

  it("ships a store opened from bytes, or read-only", function()
    local store = assert(nn.open_bytes(read_file(path)))
    store:ship(dir .. "/a.db")
    store:close()
    store = assert(nn.open(path, { readonly = true }))
    store:ship(dir .. "/b.db")
    store:close()
    for _, name in ipairs{ "a.db", "b.db" } do
      assert.equal("delete\n1\n", shell(dir .. "/" .. name,
        "PRAGMA journal_mode; SELECT count(*) FROM nn_version"))
    end
    assert.equal("a.db\nb.db\nmodels.db\n", ls(dir))
  end)

  it("refuses a file there, unless overwrite = true, and then replaces it whole", function()
    local store = assert(nn.open_bytes(read_file(path)))
    local game = dir .. "/game.db"
    write_file(game, "old")
    assert.has_error(function() store:ship(game) end,
      game .. " exists: ship writes a new file (overwrite = true replaces it)")
    assert.equal("old", read_file(game))
    assert.is_true(store:ship(game, { overwrite = true }))
    assert.equal("1\n", shell(game, "SELECT count(*) FROM nn_version"))
    assert.equal("game.db\nmodels.db\n", ls(dir))
    store:close()
  end)

  it("never replaces a database that may be open, nor writes a side file's name", function()
    local store = assert(nn.open(path))
    store:classify("leaf_flower", seed.input)
    store:flush()   -- models.db-wal now beside it
    assert.has_error(function() store:ship(path, { overwrite = true }) end,
      path .. " has a -wal or -journal beside it (it may be open): ship never replaces it")
    assert.has_error(function() store:ship(path .. "-shm", { overwrite = true }) end,
      path .. "-shm is the name of a database's shm file: ship never writes one")
    assert.has_error(function() store:ship(path .. "-journal") end,
      path .. "-journal is the name of a database's journal file: ship never writes one")
    store:close()
    assert.equal("models.db\n", ls(dir))
    assert.equal("2\n", shell(path, "SELECT count(*) FROM nn_prediction"))
  end)

  it("leaves nothing when it fails", function()
    local store = assert(nn.open(path, { readonly = true }))
    local missing = dir .. "/no/such/folder/game.db"
    local ok, err = pcall(store.ship, store, missing)
    assert.is_false(ok)
    assert.equal("unable to open database: " .. missing .. ".nn-ship", err)
    -- a copy that did not finish is not taken for ours
    write_file(dir .. "/game.db.nn-ship", "half")
    assert.has_error(function() store:ship(dir .. "/game.db") end, dir
      .. "/game.db.nn-ship exists (a ship that did not finish?): remove it first")
    assert.equal("half", read_file(dir .. "/game.db.nn-ship"))
    store:close()
    assert.equal("game.db.nn-ship\nmodels.db\n", ls(dir))
  end)

  it("checks its arguments", function()
    local store = assert(nn.open(path))
    assert.has_error(function() store:ship() end,
      "bad argument #1 to 'ship' (string expected, got no value)")
    assert.has_error(function() store:ship(dir .. "/x.db", { overwrite = 1 }) end,
      "bad argument #2 to 'ship' (option 'overwrite' must be a boolean)")
    assert.has_error(function() store:ship(dir .. "/x.db", { over = true }) end,
      "bad argument #2 to 'ship' (unknown option 'over' (did you mean 'overwrite'?))")
    store:close()
    assert.has_error(function() store:ship(dir .. "/x.db") end, "attempt to use a closed nn.Store")
  end)
end)
