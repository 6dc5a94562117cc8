-- make install, staged under DESTDIR, gives a module that a plain lua5.4
-- finds through its own search paths, and an SQLite extension that the
-- sqlite3 shell loads; make uninstall takes them away again.

local proc = require "spec.support.proc"
local LUA, run = proc.LUA, proc.try

local function pkg_var(name)
  local ok, out = run("pkg-config --variable=" .. name .. " lua5.4")
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

describe("make install", function()
  local dest
  before_each(function()
    dest = os.tmpname()
    os.remove(dest)
  end)
  after_each(function() os.execute("rm -rf '" .. dest .. "'") end)

  it("puts the module, its Lua part and the C header under DESTDIR", function()
    local ok, out = run("make -s install DESTDIR='" .. dest .. "' PREFIX=/usr")
    assert(ok, out)
    local cmod = dest .. pkg_var("INSTALL_CMOD")
    local lmod = dest .. pkg_var("INSTALL_LMOD")
    assert.truthy(io.open(cmod .. "/nn/core.so"))
    assert.truthy(io.open(lmod .. "/nn/init.lua"))
    assert.truthy(io.open(dest .. "/usr/include/nn/nn_engine.h"))
    local script = [[local nn = require "nn"
      local net = nn.Sequential{ nn.Linear(2, 2), nn.SoftMax() }
      print(nn._VERSION, #net:forward{ 1, 2 })]]
    ok, out = run(("cd / && LUA_PATH='%s/?/init.lua' LUA_CPATH='%s/?.so' %s -e '%s'")
      :format(lmod, cmod, LUA, script))
    assert(ok, out)
    assert.equal("nn 0.1.0\t2\n", out)
  end)

  it("puts the SQLite extension under LIBDIR, where the sqlite3 shell loads it", function()
    local ok, out = run("make -s install DESTDIR='" .. dest .. "' PREFIX=/usr")
    assert(ok, out)
    assert.truthy(io.open(dest .. "/usr/lib/nn0.so"))
    ok, out = run(("cd / && sqlite3 :memory: '.load %s/usr/lib/nn0' "
      .. [["SELECT nn_score('leaf_flower', 1)"]]):format(dest))
    assert.falsy(ok)   -- the statement fails: the extension answered
    assert.truthy(out:find("nn_score: not an nn database (no table nn_model)", 1, true), out)
    ok, out = run("make -s uninstall DESTDIR='" .. dest .. "' PREFIX=/usr")
    assert(ok, out)
    assert.falsy(io.open(dest .. "/usr/lib/nn0.so"))
    assert.falsy(io.open(dest .. pkg_var("INSTALL_CMOD") .. "/nn/core.so"))
  end)
end)
