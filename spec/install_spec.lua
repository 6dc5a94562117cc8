-- make install: exactly the files it lists, under PREFIX (staged under
-- DESTDIR), for the Lua that runs the specs; a module that Lua loads from
-- there and an SQLite extension that the sqlite3 shell loads; an install
-- under $HOME/.local by a user without root; make uninstall removes exactly
-- what install put.

local compat = require "spec.support.compat"
local user = require "spec.support.user"

local LUA = compat.LUA
-- the version the Lua module paths are named after: 5.4, ..., 5.1 (LuaJIT)
local V = _VERSION:sub(5)

local run = compat.sh

local function make(args)
  return run("make -s " .. args .. " LUA=" .. LUA)
end

--- The lines of out, sorted.
local function sorted_lines(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = line end
  table.sort(list)
  return list
end

--- The files (and links) under dir, as sorted paths relative to it.
local function files(dir)
  return sorted_lines(run("cd '" .. dir .. "' && find . -type f -o -type l"))
end

--- The files make install puts under prefix, sorted as files() lists them:
-- every Lua file of lua/nn (nn, nn.svg, nn.cli, ...) among them.
local function installed(prefix)
  local list = {
    prefix .. "/bin/nn",
    prefix .. "/include/nn/nn.h",
    prefix .. "/include/nn/nn_engine.h",
    prefix .. "/lib/libnn.a",
    prefix .. "/lib/lua/" .. V .. "/nn/core.so",
    prefix .. "/lib/nn0.so",
    prefix .. "/lib/pkgconfig/nn.pc",
  }
  for _, name in ipairs(sorted_lines(run("cd lua/nn && ls *.lua"))) do
    list[#list + 1] = prefix .. "/share/lua/" .. V .. "/nn/" .. name
  end
  table.sort(list)
  return list
end

--- The paths that find nn only under the prefix at root, as shell words.
local function installed_paths(root)
  return ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua' LUA_CPATH='%s/lib/lua/%s/?.so'")
    :format(root, V, root, V, root, V)
end

--- What a Lua script prints with nn found only under the prefix at root.
local function run_installed(root)
  local script = [[local nn = require "nn"
    local net = nn.Sequential{ nn.Linear(2, 2), nn.SoftMax() }
    print(nn._VERSION, #net:forward{ 1, 2 })]]
  return run(("cd / && %s %s -e '%s'"):format(installed_paths(root), LUA, script))
end

describe("make install", function()
  local dest
  before_each(function()
    dest = os.tmpname()
    os.remove(dest)
  end)
  after_each(function() os.execute("rm -rf '" .. dest .. "'") end)

  it("puts exactly its files under PREFIX, and uninstall removes exactly them", function()
    make("install DESTDIR='" .. dest .. "' PREFIX=/opt/nn")
    assert.same(installed("./opt/nn"), files(dest))
    -- someone else's file beside ours stays
    local other = assert(io.open(dest .. "/opt/nn/lib/lua/" .. V .. "/other.so", "w"))
    other:close()
    make("uninstall DESTDIR='" .. dest .. "' PREFIX=/opt/nn")
    assert.same({ "./opt/nn/lib/lua/" .. V .. "/other.so" }, files(dest))
  end)

  it("gives a module that Lua loads from the installed paths, and the command", function()
    make("install DESTDIR='" .. dest .. "' PREFIX=/usr")
    assert.equal("nn 0.1.0\t2\n", run_installed(dest .. "/usr"))
    local out = run(("cd / && %s %s/usr/bin/nn models --help"):format(installed_paths(dest .. "/usr"), dest))
    assert.truthy(out:find("^usage: nn models"), out)
  end)

  -- Issue #25: the command required nn.cli from LUA_PATH, which under
  -- $HOME/.local or any other PREFIX did not name it.
  it("gives a command that runs the nn it came with, whatever LUA_PATH holds", function()
    local prefix = dest .. "/opt/nn-1"
    make("install PREFIX='" .. prefix .. "'")
    -- another nn first on the paths: a command that took it would say so
    run(("mkdir -p '%s/decoy/nn' && echo 'error(\"the decoy nn\")' > '%s/decoy/nn/cli.lua'")
      :format(dest, dest))
    local decoy = ("LUA_PATH='%s/decoy/?.lua;;' LUA_CPATH='%s/decoy/?.so;;'"):format(dest, dest)
    for _, env in ipairs{ decoy, "env -u LUA_PATH -u LUA_CPATH" } do
      local out = run(("cd / && %s '%s/bin/nn' models --help"):format(env, prefix))
      assert.truthy(out:find("^usage: nn models DB"), out)
    end
  end)

  it("writes a pkg-config file with the installed paths", function()
    make("install DESTDIR='" .. dest .. "' PREFIX=/opt/nn")
    local pc = dest .. "/opt/nn/lib/pkgconfig"
    assert.equal("-I/opt/nn/include/nn \n", run("PKG_CONFIG_PATH='" .. pc .. "' pkg-config --cflags nn"))
    assert.equal("-L/opt/nn/lib -lnn -lsqlite3 -lpq -lz -lm -pthread \n",
      run("PKG_CONFIG_PATH='" .. pc .. "' pkg-config --libs nn"))
    assert.equal("0.1.0\n", run("PKG_CONFIG_PATH='" .. pc .. "' pkg-config --modversion nn"))
  end)

  it("puts the SQLite extension under LIBDIR, where the sqlite3 shell loads it", function()
    make("install DESTDIR='" .. dest .. "' PREFIX=/usr")
    assert.truthy(io.open(dest .. "/usr/lib/nn0.so"))
    local ok, out = compat.run(("cd / && sqlite3 :memory: '.load %s/usr/lib/nn0' "
      .. [["SELECT nn_score('leaf_flower', 1)"]]):format(dest))
    assert.falsy(ok)   -- the statement fails: the extension answered
    assert.truthy(out:find("nn_score: not an nn database (no table nn_model)", 1, true), out)
  end)

  -- As root, the install runs as the unprivileged user nobody (root's own
  -- writes would succeed anywhere, proving nothing); as anyone else, as
  -- that user.  Its home is a fresh directory that only it may write.  It
  -- runs make in a copy of the clone and its build that it may read (the
  -- clone may sit in a folder only its owner enters), a build it may not
  -- write: install finds it up to date and writes nothing into it.
  it("lets a user without root install under $HOME/.local", function()
    local as_user = user.prefix()
    if not as_user then
      pending("no unprivileged user 'nobody' to install as")
      return
    end
    run("mkdir -p '" .. dest .. "' && chmod 700 '" .. dest .. "'")
    if as_user ~= "" then run("chown nobody '" .. dest .. "'") end
    local clone = user.readable_copy({ "Makefile", "src", "lua", "schema", compat.BUILD },
      user.build_extras(compat.BUILD))
    local ok, out = compat.run(("%senv HOME='%s' make -s -C '%s' install LUA=%s PREFIX='%s/.local'")
      :format(as_user, dest, clone, LUA, dest))
    os.execute("rm -rf '" .. clone .. "'")
    assert.is_true(ok, out)
    assert.equal("", out)
    assert.same(installed("./.local"), files(dest))
    assert.equal("nn 0.1.0\t2\n", run_installed(dest .. "/.local"))
  end)
end)
