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

--- The paths of the tree at tree for Lua v, as shell words before a command.
local function tree_paths(v, tree)
  return ("eval \"$(luarocks --lua-version %s --tree '%s' path)\" && "):format(v, tree)
end

describe("luarocks make", function()
  -- the tree each Lua's rock went into, when it was built
  local trees = {}
  teardown(function()
    for _, tree in pairs(trees) do os.execute("rm -rf '" .. tree .. "'") end
  end)

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
      local _, made = compat.run("mktemp -d")
      local tree = made:gsub("\n$", "")
      trees[v] = tree
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
      ok, out = compat.run(("%scd / && lua%s -e '%s'"):format(tree_paths(v, tree), v, script))
      assert(ok, out)
      assert.near(seed.softmax[1], tonumber(out), TOL_PRINTED)
      -- and without the tree's paths, there is no nn to find
      ok, out = compat.run(("cd / && lua%s -e '%s'"):format(v, script))
      assert.is_false(ok)
      assert.truthy(out:find("module 'nn' not found", 1, true), out)
    end)
  end

  -- Issue #25: the dynamic loader refused such a module with "undefined
  -- symbol: luaL_prepbuffer", which named no Lua.
  it("gives a module that says which Lua it is built for when another loads it", function()
    if not (trees["5.1"] and trees["5.4"]) then
      pending("the rocks for Lua 5.1 and 5.4 were not both built")
      return
    end
    for v, other in pairs{ ["5.1"] = "5.4", ["5.4"] = "5.1" } do
      local ok, out = compat.run(("%scd / && lua%s -e 'require \"nn\"'")
        :format(tree_paths(other, trees[other]), v))
      assert.is_false(ok)
      local core = ("%s/lib/lua/%s/nn/core.so"):format(trees[other], other)
      assert.truthy(out:find(("nn.core in %s is built for Lua %s, and this is Lua %s: build nn "
        .. "for Lua %s (make LUA=lua%s, or luarocks --lua-version %s make)")
        :format(core, other, v, v, v, v), 1, true), out)
    end
  end)
end)
