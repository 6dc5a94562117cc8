-- The rock (nn-<version>-1.rockspec at the top): luarocks make builds and
-- installs the module into a tree of its own, for Lua 5.1 and Lua 5.4, with
-- SQLite found through luarocks' external dependencies; the installed
-- module then loads from that tree alone and computes the seed's network.

local compat = require "spec.support.compat"
local seed = require "spec.support.seed"

-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5

local function has(tool)
  return compat.execute("command -v " .. tool .. " >/dev/null 2>&1")
end

--- The one rockspec at the top of the tree.
local function rockspec()
  local ok, out = compat.run("ls nn-*-1.rockspec")
  assert(ok, out)
  local name = out:gsub("\n$", "")
  assert.truthy(name:match("^nn%-[%d.]+%-1%.rockspec$"), name)
  return name
end

describe("luarocks make", function()
  local tree
  before_each(function()
    local _, out = compat.run("mktemp -d")
    tree = out:gsub("\n$", "")
  end)
  after_each(function() os.execute("rm -rf '" .. tree .. "'") end)

  for _, v in ipairs{ "5.1", "5.4" } do
    it("builds and installs the module into a local tree for Lua " .. v, function()
      if not has("luarocks") then
        pending("luarocks is not installed: apt-get install luarocks")
        return
      end
      if not has("lua" .. v) then
        pending("lua" .. v .. " is not installed")
        return
      end
      local rocks = ("luarocks --lua-version %s --tree '%s'"):format(v, tree)
      local ok, out = compat.run(rocks .. " make " .. rockspec())
      assert(ok, out)
      assert.truthy(out:find("nn 0.1.0-1 is now installed in " .. tree, 1, true), out)
      -- the module from the tree alone: luarocks' paths, run from elsewhere
      local script = [[
        local nn = require "nn"
        local net = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() }
        net:set_weights(1, { { 0.10, -0.29, -0.07, 0.46 }, { 0.12, -0.05, 0.03, 0.05 },
                             { -0.36, -0.21, -0.20, -0.15 } }, { 0.25, 0.27, -0.23 })
        net:set_weights(3, { { -0.17, 0.39, 0.10 }, { 0.48, 0.15, -0.32 } }, { 0.41, 0.05 })
        print(net:forward{ 32, 107, 56, 11.2 }[1])]]
      ok, out = compat.run(("eval \"$(%s path)\" && cd / && lua%s -e '%s'"):format(rocks, v, script))
      assert(ok, out)
      assert.near(seed.softmax[1], tonumber(out), TOL_PRINTED)
      -- and without the tree's paths, there is no nn to find
      ok, out = compat.run(("cd / && lua%s -e '%s'"):format(v, script))
      assert.is_false(ok)
      assert.truthy(out:find("module 'nn' not found", 1, true), out)
    end)
  end
end)
