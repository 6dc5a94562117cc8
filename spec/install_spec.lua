-- make install, staged under DESTDIR, gives a module that a plain lua5.4
-- finds through its own search paths.

local LUA = os.getenv("LUA") or "lua5.4"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

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
end)
