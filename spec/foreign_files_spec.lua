-- Foreign files untouched in every journal mode (src/store/nn_store_owner.c):
-- nn.open decides whether a file is its own from the file's bytes, before any
-- SQLite connection touches it, and leaves a foreign one byte for byte as it
-- was: the main file, its -journal, its -wal and its -shm.  Regression specs
-- for issue 24: a writable nn.open of a foreign database with a hot rollback
-- journal rolled the journal back (the main file changed, the -journal
-- deleted) before refusing it, and readonly = true on a foreign WAL database
-- rewrote its -shm.  Each file here is left by an sqlite3 shell killed in the
-- middle of its work, as a crash would leave it.

local nn = require "nn"
local db = require "spec.support.db"
local compat = require "spec.support.compat"

local SUFFIXES = { "", "-journal", "-wal", "-shm" }

--- The bytes of the database at path and of each companion there is.
local function files(path)
  local t = {}
  for _, suffix in ipairs(SUFFIXES) do
    local f = io.open(path .. suffix, "rb")
    if f then
      t[suffix] = f:read("*a")
      f:close()
    end
  end
  return t
end

--- Run script in the sqlite3 shell on path, which kills the shell at its end
-- (".system kill -9 $PPID"): what was not committed stays as a crash leaves it.
local function crash(path, script)
  local sql = path .. ".sql"
  local f = assert(io.open(sql, "w"))
  f:write(script, "\n.system kill -9 $PPID\n")
  f:close()
  compat.run(("sqlite3 %s < %s"):format(path, sql))
  os.remove(sql)
end

local HOT = [[
PRAGMA journal_mode = DELETE;
PRAGMA cache_size = 2;
CREATE TABLE scores (name TEXT, points INTEGER);
INSERT INTO scores SELECT 'x' || value, value FROM generate_series(1, 2000);
BEGIN;
UPDATE scores SET name = name || randomblob(100);]]

local function wal(extra)
  return "PRAGMA journal_mode = WAL;\n" .. extra
    .. "\nINSERT INTO scores VALUES ('a', 1);"
end

local CASES = {
  { "a hot rollback journal", HOT, "-journal",
    "not an nn database (no application_id, and tables of its own)" },
  { "its tables only in its -wal", wal("CREATE TABLE scores (name TEXT, points INTEGER);"),
    "-wal", "not an nn database (no application_id, and tables of its own)" },
  { "another application_id only in its -wal",
    wal("PRAGMA application_id = 42; CREATE TABLE scores (name TEXT, points INTEGER);"),
    "-wal", "not an nn database (application_id 0x0000002a)" },
}

describe("a foreign database", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() db.remove(path) end)

  for _, case in ipairs(CASES) do
    local what, script, companion, message = case[1], case[2], case[3], case[4]
    for _, opts in ipairs{ {}, { readonly = true } } do
      local how = opts.readonly and "read-only" or "writable"
      it(("with %s is refused by a %s open, every file left as it was"):format(what, how),
         function()
        crash(path, script)
        local before = files(path)
        assert.truthy(before[companion], companion .. " left by the crash")
        local store, err, code = nn.open(path, opts)
        assert.is_nil(store)
        assert.equal(path .. ": " .. message, err)
        assert.equal("foreign", code)
        local after = files(path)
        for _, suffix in ipairs(SUFFIXES) do
          assert.equal(before[suffix] ~= nil, after[suffix] ~= nil, "path" .. suffix)
          assert.is_true(before[suffix] == after[suffix], "bytes of path" .. suffix)
        end
      end)
    end
  end

  it("that is not SQLite at all is refused before SQLite reads it", function()
    local f = assert(io.open(path, "wb"))
    f:write(("not a database\n"):rep(20))
    f:close()
    local store, err, code = nn.open(path, { readonly = true })
    assert.is_nil(store)
    assert.equal(path .. ": file is not a database", err)
    assert.equal("notadb", code)
  end)
end)
