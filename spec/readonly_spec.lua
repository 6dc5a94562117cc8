-- Read-only models: nn.open(path, { readonly = true }) on a model file
-- shipped with a program (src/store/nn_store.c, open_readonly): loading,
-- classifying without logging, rows and the SQL functions work; every write
-- raises, naming the read-only open; the file is left byte for byte as it
-- was.  Then the same from a folder nobody may write into, and nn0.so
-- through the sqlite3 shell's read-only open.
--
-- A read-only folder stops every user but root, so as root those checks
-- run as the unprivileged user nobody (a read-only bind mount would need
-- privileges a test machine may not give); without such a user they are
-- skipped, saying so.

local nn = require "nn"
local seed = require "spec.support.seed"
local compat = require "spec.support.compat"
local db = require "spec.support.db"
local user = require "spec.support.user"

-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5

local READONLY = "the store was opened read-only (readonly = true)"
local UNWRITABLE = "the file is read-only to this process: open it with readonly = true to"
  .. " read it"

local sh = compat.sh

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- A fresh folder holding models.db: the seed's network with its labels
-- and the weather map, saved and closed (so no -wal or -shm beside it).
local function shipped_model()
  local dir = sh("mktemp -d"):gsub("\n$", "")
  local path = dir .. "/models.db"
  local store = assert(nn.open(path))
  store:save("leaf_flower", seed.network(nn), { labels = seed.labels })
  store:add_labels("leaf_flower", "weather", seed.weather)
  store:close()
  return dir, path
end

--- A folder that user can read holding the module (lua/ and build/nn/core.so)
-- and the extension (build/nn0.so): the clone may sit in a folder only its
-- owner enters.
local function module_copy()
  return user.readable_copy({ "lua", compat.BUILD .. "/nn/core.so", compat.BUILD .. "/nn0.so" })
end

describe("nn.open with readonly = true", function()
  local dir, path, before
  before_each(function()
    dir, path = shipped_model()
    before = read_file(path)
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("loads, classifies without logging, runs rows and the SQL functions", function()
    local store = assert(nn.open(path, { readonly = true }))
    assert.equal("nn.Store (" .. path .. ")", tostring(store))
    local net = store:load("leaf_flower")
    assert.same(seed.labels, net:labels())
    local results = { store:classify("leaf_flower", seed.input) }
    assert.equal(2, #results)   -- a label and a score: no prediction id
    assert.equal("leaf", results[1])
    assert.near(seed.softmax[1], results[2], TOL_PRINTED)
    assert.equal("sunny", (store:classify("leaf_flower", seed.input, { labels = "weather" })))
    assert.equal("leaf|sunny", db.value(store,
      "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2) || '|' || "
      .. "nn_classify('leaf_flower:weather', 32, 107, 56, 11.2) AS v"))
    assert.equal(0, db.value(store, "SELECT count(*) AS n FROM nn_prediction"))
    assert.is_true(store:flush())
    assert.is_true(store:close())
    -- the file is as it was, and alone: no -wal, no -shm (issue 22)
    assert.equal(before, read_file(path))
    assert.equal("models.db\n", sh("ls -A '" .. dir .. "'"))
  end)

  it("refuses every write, naming the read-only open, and keeps the file as it was", function()
    local store = assert(nn.open(path, { readonly = true }))
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
    assert.is_true(store:close())
    assert.equal(before, read_file(path))
  end)

  it("refuses a file it would have to create or migrate, creating nothing", function()
    local store, message, code = nn.open(dir .. "/absent.db", { readonly = true })
    assert.is_nil(store)
    assert.equal(dir .. "/absent.db: unable to open database file", message)
    assert.equal("cantopen", code)
    assert.is_false(exists(dir .. "/absent.db"))
    local f = assert(io.open(dir .. "/empty.db", "wb"))
    f:close()
    store, message, code = nn.open(dir .. "/empty.db", { readonly = true })
    assert.is_nil(store)
    assert.truthy(message:find("^" .. dir:gsub("%p", "%%%0")
      .. "/empty%.db: schema version 0 is older than this nn's %(%d+%), and a read%-only "
      .. "open cannot migrate it$"), message)
    assert.equal("schema", code)
    assert.equal("", read_file(dir .. "/empty.db"))
  end)

  it("takes readonly as a boolean only", function()
    assert.has_error(function() nn.open(path, { readonly = 1 }) end,
      "bad argument #2 to 'open' (option 'readonly' must be a boolean)")
  end)
end)

--- The side files beside path, as ls names them.
local function listing(dir) return sh("ls -A '" .. dir .. "'") end

describe("a read-only open leaves no file behind (issue 22)", function()
  local dir, path, before
  before_each(function()
    dir, path = shipped_model()
    before = read_file(path)
  end)
  after_each(function() os.execute("chmod -R u+w '" .. dir .. "'; rm -rf '" .. dir .. "'") end)

  --- Open path read-only, classify, run SQL, close: the label.
  local function use()
    local store = assert(nn.open(path, { readonly = true }))
    local label = store:classify("leaf_flower", seed.input)
    assert.equal(1, db.value(store, "SELECT count(*) FROM nn_version"))
    assert.is_true(store:close())
    return label
  end

  it("a WAL file alone, as root or not, in a writable folder", function()
    assert.equal("\2\2", before:sub(19, 20))
    sh(("chmod 444 '%s'"):format(path))
    assert.equal("leaf", use())
    assert.equal("models.db\n", listing(dir))
    assert.equal(before, read_file(path))
  end)

  it("a WAL file whose -wal and -shm another connection has open", function()
    local writer = assert(nn.open(path))
    writer:log(writer:load("leaf_flower"), seed.input, { 0.75, 0.25 })
    writer:flush()
    assert.equal("models.db\nmodels.db-shm\nmodels.db-wal\n", listing(dir))
    local store = assert(nn.open(path, { readonly = true }))
    -- it reads through them: the row still in the -wal is seen
    assert.equal(1, db.value(store, "SELECT count(*) FROM nn_prediction"))
    store:close()
    assert.equal("models.db\nmodels.db-shm\nmodels.db-wal\n", listing(dir))
    writer:close()
    assert.equal("models.db\n", listing(dir))
  end)

  it("a WAL file with a stale -shm and no -wal: read as it is, nothing added", function()
    local f = assert(io.open(path .. "-shm", "wb"))
    f:close()
    assert.equal("leaf", use())
    assert.equal("models.db\nmodels.db-shm\n", listing(dir))
    assert.equal("", read_file(path .. "-shm"))
  end)

  it("refuses a -wal holding commits with no -shm beside it, creating nothing", function()
    -- a copy taken while a writer had commits in its -wal, without its -shm
    local writer = assert(nn.open(path))
    writer:log(writer:load("leaf_flower"), seed.input, { 0.75, 0.25 })
    writer:flush()
    local copy = sh("mktemp -d"):gsub("\n$", "")
    sh(("cp '%s' '%s-wal' '%s'"):format(path, path, copy))
    writer:close()
    local store, message, code = nn.open(copy .. "/models.db", { readonly = true })
    assert.is_nil(store)
    assert.equal(copy .. "/models.db: its -wal holds commits not in the file yet, which only"
      .. " a -shm beside it could read: open it once writable first", message)
    assert.equal("readonly", code)
    assert.equal("models.db\nmodels.db-wal\n", listing(copy))
    -- a writable open reads them, and leaves the file alone again
    store = assert(nn.open(copy .. "/models.db"))
    assert.equal(1, db.value(store, "SELECT count(*) FROM nn_prediction"))
    store:close()
    assert.equal("models.db\n", listing(copy))
    assert.equal("leaf", (assert(nn.open(copy .. "/models.db", { readonly = true }))
      :classify("leaf_flower", seed.input)))
    assert.equal("models.db\n", listing(copy))
    os.execute("rm -rf '" .. copy .. "'")
  end)

  it("an empty -wal and no -shm (a writer's leftover): read as it is", function()
    local f = assert(io.open(path .. "-wal", "wb"))
    f:close()
    assert.equal("leaf", use())
    assert.equal("models.db\nmodels.db-wal\n", listing(dir))
  end)

  it("a file in rollback-journal mode, as store:ship writes it", function()
    local store = assert(nn.open(path, { readonly = true }))
    store:ship(dir .. "/game.db")
    store:close()
    path = dir .. "/game.db"
    assert.equal("\1\1", read_file(path):sub(19, 20))
    assert.equal("leaf", use())
    assert.equal("game.db\nmodels.db\n", listing(dir))
  end)
end)

describe("a writable open of a file this user may not write (issue 22)", function()
  local dir, path, as_user, copy
  before_each(function()
    dir, path = shipped_model()
    as_user = user.prefix()
    copy = module_copy()
    -- the file read-only, the folder writable by all: SQLite can make (or
    -- find, left there by a reader) the -wal and -shm it reads through
    sh(("chmod 444 '%s' && chmod 777 '%s'"):format(path, dir))
  end)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "' '" .. copy .. "'")
  end)

  it("is refused at open, side files left or not, instead of failing every write", function()
    if not as_user then
      pending("running as root, and no user 'nobody' to lose root's rights as")
      return
    end
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
package.path, package.cpath = %q, %q
local nn = require "nn"
print(nn.open(%q))
local store = assert(nn.open(%q, { readonly = true }))
print(store:classify("leaf_flower", { 32, 107, 56, 11.2 }), store:close())
]]):format(copy .. "/lua/?.lua;" .. copy .. "/lua/?/init.lua",
      copy .. "/" .. compat.BUILD .. "/?.so", path, path))
    f:close()
    sh("chmod 644 " .. script)
    local function run() return sh(as_user .. compat.LUA .. " " .. script):gsub("\t0%.%d+", "") end
    local want = "nil\t" .. path .. ": " .. UNWRITABLE .. "\treadonly\nleaf\ttrue\n"
    -- and the read-only open, in a folder it may write, leaves nothing
    assert.equal(want, run())
    assert.equal("models.db\n", listing(dir))
    -- the sqlite3 shell's read-only open leaves a -wal and a -shm behind;
    -- nn's reads through them, and leaves them as they were
    sh(("%ssqlite3 -readonly '%s' 'SELECT count(*) FROM nn_version'"):format(as_user, path))
    assert.equal("models.db\nmodels.db-shm\nmodels.db-wal\n", listing(dir))
    assert.equal(want, run())
    assert.equal("models.db\nmodels.db-shm\nmodels.db-wal\n", listing(dir))
    os.remove(script)
  end)
end)

describe("a model file in a read-only folder", function()
  local dir, path, as_user, copy
  before_each(function()
    dir, path = shipped_model()
    as_user = user.prefix()
    copy = module_copy()
    -- readable by all, writable by none: the file, and the folder that
    -- could otherwise hold the -shm file SQLite makes to read a WAL database
    sh(("chmod 444 '%s' && chmod 555 '%s'"):format(path, dir))
  end)
  after_each(function()
    os.execute("chmod 755 '" .. dir .. "'; rm -rf '" .. dir .. "' '" .. copy .. "'")
  end)

  it("opens read-only and classifies, where a plain open fails", function()
    if not as_user then
      pending("running as root, and no user 'nobody' to lose root's rights as")
      return
    end
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
package.path, package.cpath = %q, %q
local nn = require "nn"
local store, message = nn.open(%q)
print(store, message)
store = assert(nn.open(%q, { readonly = true }))
local label, score = store:classify("leaf_flower", { 32, 107, 56, 11.2 })
print(label, ("%%.4f"):format(score))
for row in store:rows("SELECT nn_classify('leaf_flower:weather', 250, 40, 120, 30) AS w") do
  print(row.w)
end
print(store:close())
]]):format(copy .. "/lua/?.lua;" .. copy .. "/lua/?/init.lua",
      copy .. "/" .. compat.BUILD .. "/?.so", path, path))
    f:close()
    sh("chmod 644 " .. script)
    local out = sh(as_user .. compat.LUA .. " " .. script)
    os.remove(script)
    assert.equal("nil\t" .. path .. ": " .. UNWRITABLE .. "\n"
      .. "leaf\t0.6457\nrainy\ntrue\n", out)
    assert.equal("models.db\n", sh("ls '" .. dir .. "'"))
  end)

  it("answers nn0.so's functions in the sqlite3 shell, opened read-only", function()
    if not as_user then
      pending("running as root, and no user 'nobody' to lose root's rights as")
      return
    end
    local ext = copy .. "/" .. compat.BUILD .. "/nn0"
    local query = [["SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2)"]]
    -- the shell's read-only open of a WAL file needs a -shm file this folder
    -- cannot hold; the immutable URI reads it without one
    local ok, out = compat.run(("%ssqlite3 -readonly -cmd '.load %s' '%s' %s")
      :format(as_user, ext, path, query))
    assert.is_false(ok)
    assert.truthy(out:find("attempt to write a readonly database", 1, true), out)
    out = sh(("%ssqlite3 -readonly -cmd '.load %s' 'file:%s?immutable=1' %s")
      :format(as_user, ext, path, query))
    assert.equal("leaf\n", out)
  end)
end)

describe("nn0.so on a read-only file in the sqlite3 shell's read-only open", function()
  local dir, path
  before_each(function()
    dir, path = shipped_model()
    sh(("chmod 444 '%s'"):format(path))
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("answers, and writes nothing into the file", function()
    local before = read_file(path)
    local ext = compat.BUILD .. "/nn0"
    assert.equal("leaf|rainy\n", sh(("sqlite3 -readonly -cmd '.load ./%s' '%s' %s"):format(ext, path,
      [["SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2) || '|' || ]]
      .. [[nn_classify('leaf_flower:weather', 250, 40, 120, 30)"]])))
    assert.equal(before, read_file(path))
  end)
end)
