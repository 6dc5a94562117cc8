-- C and C++ hosts of the library (src/nn.h, libnn.a): a C++ program that
-- links the engine, the Lua binding and the SQL functions by their C names;
-- examples/game_host.c, which embeds Lua with nn preloaded from the library
-- and runs a game loop for many agents, also under valgrind; and the
-- argument checks of examples/host.c and game_host.c.

local seed = require "spec.support.seed"
local c = require "spec.support.c"
local compat = require "spec.support.compat"
local remove_db = require("spec.support.db").remove

-- the seed prints softmax to four digits
local TOL_PRINTED = 5e-5

local function sh(cmd) return (compat.sh(cmd):gsub("\n$", "")) end

-- The Lua the library was built for: its flags from pkg-config.
local LUA_CFLAGS = sh("pkg-config --cflags " .. compat.LUA_PC)
local LUA_LIBS = sh("pkg-config --libs " .. compat.LUA_PC)
local LIBNN = compat.BUILD .. "/libnn.a"
-- NN_LDFLAGS: what linking the library needs besides (make asan: the
-- sanitizers its objects were built with)
local LDFLAGS = os.getenv("NN_LDFLAGS") or ""
local HOST_LIBS = LIBNN .. " " .. LUA_LIBS .. " -lsqlite3 -lpq -lz -lm -pthread " .. LDFLAGS

--- Run exe with args; whether it exited with 0, and what it printed.
local function try(exe, args)
  local ok, out = compat.run(exe .. " " .. args)
  return ok, out
end

describe("a C++ host", function()
  it("compiles against nn.h and links libnn.a: engine, Lua binding, SQL functions", function()
    local exe = os.tmpname()
    sh(("g++ -std=c++11 -Wall -Wextra -pedantic -Werror -O2 -Isrc -Isrc/engine %s spec/support/cpp_host.cpp %s -o %s")
      :format(LUA_CFLAGS, HOST_LIBS, exe))
    local out = c.run(exe)
    os.remove(exe)
    local leaf, flower = out:match("^engine (%S+) (%S+)\n")
    assert.near(seed.softmax[1], tonumber(leaf), TOL_PRINTED)
    assert.near(seed.softmax[2], tonumber(flower), TOL_PRINTED)
    assert.truthy(out:find("\nlua 0.1.0 2\n", 1, true), out)
    -- the function answered: code 1 (SQLITE_ERROR) with nn's own message
    assert.truthy(out:find("\nsql 1 nn_classify: not an nn database (no table nn_model)\n", 1, true),
      out)
  end)
end)

describe("examples/game_host.c", function()
  local exe, db
  -- the Lua files the front module requires (nn.svg, ...), from the clone
  local ENV = "LUA_PATH='lua/?.lua;;' "
  setup(function()
    exe = c.compile("examples/game_host.c " .. LUA_CFLAGS, HOST_LIBS)
  end)
  teardown(function() os.remove(exe) end)
  before_each(function() db = os.tmpname() end)
  after_each(function() remove_db(db) end)

  it("runs a frame loop for 200 agents with nn preloaded, logging every 50th decision", function()
    local out = c.run(ENV .. exe, "lua/nn/init.lua " .. db .. " 200 60")
    local n, flee, fight, hide, logged =
      out:match("^(%d+) decisions: flee (%d+), fight (%d+), hide (%d+); (%d+) logged\n")
    assert.equal("12000", n, out)
    assert.equal(12000, tonumber(flee) + tonumber(fight) + tonumber(hide))
    assert.equal("240", logged)
    -- the sample: what was logged, and what SQL answers for the same input
    local sample = 0
    for frame, agent, was, again in out:gmatch("\n  (%d+) (%d+) (%a+) (%a+)") do
      sample = sample + 1
      assert.equal(0, tonumber(agent) % 50)   -- 200 agents a frame: the 50th, 100th, ...
      assert.truthy(tonumber(frame) < 60)
      assert.equal(was, again)
    end
    assert.equal(5, sample)
    assert.equal("240", sh("sqlite3 " .. db .. " 'SELECT count(*) FROM nn_prediction'"))
  end)

  it("runs clean under valgrind", function()
    if not compat.execute("command -v valgrind >/dev/null") then
      pending("valgrind is not installed")
      return
    end
    if LDFLAGS:find("sanitize") then
      pending("a program built with the sanitizers does not run under valgrind")
      return
    end
    local ok, out = try(ENV .. "valgrind -q --error-exitcode=1 --leak-check=full "
      .. "--errors-for-leak-kinds=definite --show-leak-kinds=definite " .. exe,
      "lua/nn/init.lua " .. db .. " 20 5")
    assert(ok, out)
    assert.truthy(out:find("^100 decisions: "), out)
  end)

  it("checks its arguments", function()
    local cases = {
      { "", "usage: game_host FRONT.lua DATABASE AGENTS FRAMES\n" },
      { "lua/nn/init.lua x.db 200", "usage: game_host FRONT.lua DATABASE AGENTS FRAMES\n" },
      { "lua/nn/init.lua x.db 0 60",
        "game_host: AGENTS must be a whole number from 1 to 1000000, not '0'\n" },
      { "lua/nn/init.lua x.db 2.5 60",
        "game_host: AGENTS must be a whole number from 1 to 1000000, not '2.5'\n" },
      { "lua/nn/init.lua x.db 200 many",
        "game_host: FRAMES must be a whole number from 1, not 'many'\n" },
      { "missing.lua x.db 200 60", "game_host: cannot open missing.lua\n" },
    }
    for _, case in ipairs(cases) do
      local ok, out = try(exe, case[1])
      assert.is_false(ok)
      -- the message of a file that cannot be opened ends with the system's reason
      assert.equal(case[2], (out:gsub("(cannot open missing.lua).*", "%1\n")))
    end
    assert.is_nil(io.open("x.db"))
  end)
end)

describe("examples/host.c", function()
  local exe
  setup(function() exe = c.compile("examples/host.c " .. c.ENGINE) end)
  teardown(function() os.remove(exe) end)

  it("takes no arguments or exactly four finite numbers", function()
    local cases = {
      { "1 2 3", "usage: host [R G B VOLUME]\n" },
      { "1 2 3 4 5", "usage: host [R G B VOLUME]\n" },
      { "32 107 green 11.2", "host: argument 3 is not a finite number: 'green'\n" },
      { "32 107 56 11.2x", "host: argument 4 is not a finite number: '11.2x'\n" },
      { "nan 107 56 11.2", "host: argument 1 is not a finite number: 'nan'\n" },
      { "32 1e99 56 11.2", "host: argument 2 is not a finite number: '1e99'\n" },
    }
    for _, case in ipairs(cases) do
      local ok, out = try(exe, case[1])
      assert.is_false(ok)
      assert.equal(case[2], out)
    end
  end)
end)
