--- The private PostgreSQL server the store specs run against
-- (spec/support/pg.lua): started by the spec run itself, reachable only
-- through its Unix socket, gone with its files once stopped.

local pg = require "spec.support.pg"
local compat = require "spec.support.compat"

describe("the specs' own PostgreSQL server", function()
  local server

  setup(function()
    server = pg.start()
  end)

  teardown(function()
    server:stop()
  end)

  it("answers SQL on its socket as the superuser nn", function()
    assert.are.equal("3\n", server:sql("SELECT 1 + 2"))
    assert.are.equal("nn\n", server:sql("SELECT current_user"))
  end)

  it("is PostgreSQL 15", function()
    assert.are.equal("15\n", server:sql("SELECT current_setting('server_version_num')::int / 10000"))
  end)

  it("listens on no TCP address and keeps its socket in its own folder", function()
    assert.are.equal("\n", server:sql("SHOW listen_addresses"))
    assert.are.equal(server.dir .. "\n", server:sql("SHOW unix_socket_directories"))
  end)

  it("runs as a user without root", function()
    assert.is_not.equal("0\n", compat.sh("stat -c %u " .. server.dir .. "/data/postmaster.pid"))
  end)

  it("stops, and leaves no folder behind", function()
    local other = pg.start()
    local dir = other.dir
    assert.is_true(other:running())
    other:stop()
    assert.is_false(compat.execute("test -e " .. dir))
    other:stop()   -- twice is fine
  end)

  it("is stopped and removed when the process that started it dies without stopping it", function()
    local out = compat.sh(("%s -e %q"):format(compat.LUA,
      "package.path = './?.lua;' .. package.path " ..
      "local s = require('spec.support.pg').start() print(s.dir) os.exit(0)"))
    local dir = out:match("(%S+)\n$")
    assert.is_truthy(dir)
    -- the watchdog looks once a second; wait for it (no time is asserted)
    local gone = compat.execute(("for i in $(seq 50); do test -e %s || exit 0; sleep 0.2; done; exit 1")
      :format(dir))
    assert.is_true(gone, dir .. " is still there")
  end)
end)
