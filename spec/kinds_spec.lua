-- Layer kinds are one table in the engine (src/engine/nn_engine.c): a kind added
-- as one descriptor, and nothing else in C, has its Lua constructor, its
-- name in tostring, its place in the layout, forward passes for a sample
-- and a batch, and a round trip through the store's arch JSON.  The spec
-- builds its own copy of the module with two kinds only that build has
-- (spec/support/extra_kinds.h): Square, y = x * x, and Scale(factor),
-- y = factor * x, for the Lua under test (its headers, its build directory),
-- and runs that Lua on it.  The numbers are worked by hand below.

local nn = require "nn"
local c = require "spec.support.c"
local compat = require "spec.support.compat"
local remove_db = require("spec.support.db").remove

--- Build the module with the extra kinds into dir/nn/core.so.
local function build_module(dir)
  os.execute("mkdir -p " .. dir .. "/nn")
  local lua_cflags = compat.sh("pkg-config --cflags " .. compat.LUA_PC .. " libpq"):gsub("\n", "")
  -- the module's sources: every folder but src/pgext/, the extension inside
  -- PostgreSQL, built apart (make pgext)
  local sources = compat.sh("ls src/*/*.c | grep -v '^src/pgext/'"):gsub("\n", " ") .. " "
    .. compat.BUILD .. "/nn_schema.c "
    .. compat.BUILD .. "/nn_pg_schema.c"
  compat.sh(("%s -std=c99 -Wall -Wextra -pedantic -Werror -Wno-overlength-strings -O1"
    .. " -fPIC -shared -Isrc -Isrc/engine -I%s -Ispec/support %s"
    .. [[ -DNN_EXTRA_KINDS='"extra_kinds.h"' %s -o %s/nn/core.so -lsqlite3 -lpq -lz -lm -pthread]])
    :format(c.CC, compat.BUILD, lua_cflags, sources, dir))
end

-- Linear(2 -> 2) with W = [[1, 2], [-1, 1]], b = [0.5, 0], then Square,
-- Scale(3), Linear(2 -> 1) with W = [[1, -1]], b = [0.25], then Scale():
-- x = (1, -3) -> (-4.5, -4) -> (20.25, 16) -> (60.75, 48) -> 13 -> 26.
-- x = (0, 1)  -> (2.5, 1)   -> (6.25, 1)   -> (18.75, 3)  -> 16 -> 32.
local CHILD = [=[
local nn = require "nn"
local db = arg[1]
-- numbers as %g, the same on every Lua (5.1 prints 26 where 5.4 prints 26.0)
local function num(...)
  local t = {}
  for i, v in ipairs{ ... } do t[i] = ("%g"):format(v) end
  return table.concat(t, " ")
end
local net = nn.Sequential{ nn.Linear(2, 2), nn.Square(), nn.Scale(3),
                           nn.Linear(2, 1), nn.Scale() }
net:set_weights(1, { { 1, 2 }, { -1, 1 } }, { 0.5, 0 })
net:set_weights(4, { { 1, -1 } }, { 0.25 })
print("tostring " .. tostring(net):gsub("\n", "|"))
print("n_params " .. net:n_params())
print("forward " .. num(net:forward{ 1, -3 }[1]))
local Y = net:forward(nn.Matrix{ { 1, -3 }, { 0, 1 } })
print("batch " .. num(Y:get(1, 1), Y:get(2, 1)))
print("trace " .. num((unpack or table.unpack)(net:trace{ 1, -3 }[2].values)))
-- called by name, so that every Lua names it; the caller's position cut
print("error " .. select(2, pcall(function() nn.Scale(5) end)):gsub("^[^:]*:%d+: ", ""))
local store = assert(nn.open(db))
store:save("square", net)
for row in store:rows("SELECT arch FROM nn_version") do print("arch " .. row.arch) end
local back = store:load("square")
print("loaded " .. tostring(back):gsub("\n", "|"))
print("loaded_forward " .. num(back:forward{ 0, 1 }[1]))
-- PReLU(2): a kind with a tensor, "weight", a slope per feature.
-- Linear(2 -> 2) as above, PReLU with weight (0.25, 0.5), Linear(2 -> 1)
-- with W = [[1, -1]], b = [0]:
-- x = (1, -3) -> (-4.5, -4) -> (-1.125, -2) -> 0.875
-- x = (0, 1)  -> (2.5, 1)   -> (2.5, 1)      -> 1.5
local p = nn.Sequential{ nn.Linear(2, 2), nn.PReLU(2), nn.Linear(2, 1) }
p:set_weights(1, { { 1, 2 }, { -1, 1 } }, { 0.5, 0 })
p:set_weights(2, "weight", { 0.25, 0.5 })
p:set_weights(3, { { 1, -1 } }, { 0 })
print("p_tostring " .. tostring(p):gsub("\n", "|"))
print("p_n_params " .. p:n_params())
print("p_forward " .. num(p:forward{ 1, -3 }[1], p:forward{ 0, 1 }[1]))
local PY = p:forward(nn.Matrix{ { 1, -3 }, { 0, 1 } })
print("p_batch " .. num(PY:get(1, 1), PY:get(2, 1)))
print("p_weight " .. num((unpack or table.unpack)(p:get_weights(2, "weight"))))
local m = p:modules()[2]
print("p_module " .. m.kind .. " " .. m.c_name .. " " .. m.n_in .. " " .. m.n_out .. " "
  .. m.params[1].name .. " " .. table.concat(m.params[1].shape, "x"))
local k = nn.kind("PReLU")
print("p_kind " .. k.sizes .. " " .. k.params[1].name .. " " .. table.concat(k.params[1].dims, ",")
  .. " " .. k.params[1].init .. " " .. tostring(k.onnx))
print("p_badname " .. select(2, pcall(p.get_weights, p, 2, "bias")):gsub("^[^:]*:%d+: ", ""))
local store2 = assert(nn.open(db))
store2:save("prelu", p)
for row in store2:rows("SELECT arch FROM nn_version v JOIN nn_model m USING (model_id)"
  .. " WHERE m.name = 'prelu'") do print("p_arch " .. row.arch) end
local pb = store2:load("prelu")
print("p_loaded " .. num(pb:forward{ 1, -3 }[1]) .. " " .. num((unpack or table.unpack)(pb:get_weights(2))))
store2:close()
local onnx = os.tmpname()
p:export(onnx, "onnx")
local f = assert(io.open(onnx, "rb"))
local bytes = f:read("*a")
f:close()
local imported = nn.import(onnx)
os.remove(onnx)
print("p_imported " .. tostring(imported):gsub("\n", "|") .. " " .. num(imported:forward{ 1, -3 }[1])
  .. " " .. num((unpack or table.unpack)(imported:get_weights(2, "weight"))))
print("p_onnx " .. tostring(bytes:find("PRelu", 1, true) ~= nil) .. " "
  .. tostring(bytes:find("prelu_2.weight", 1, true) ~= nil))
-- one SGD step on (1, -3) -> 0, MSE: dL/dy = 2 * 0.875; where both
-- features are negative, dy/dweight = (h1, -h2) = (-4.5, 4), so the
-- weight moves by -0.01 * 1.75 * (-4.5, 4) = (0.07875, -0.07)
local tr = nn.Trainer(p, { optimizer = "sgd", lr = 0.01, batch = 1, loss = "mse" })
print("p_loss " .. num(tr:step(nn.Matrix{ { 1, -3 } }, nn.Matrix{ { 0 } })))
print("p_trained " .. num((unpack or table.unpack)(p:get_weights(2, "weight"))))
]=]

describe("a layer kind added as one descriptor", function()
  local dir, db, script, out
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    build_module(dir)
    db = os.tmpname()
    script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(CHILD)
    f:close()
    out = {}
    local text = compat.sh(("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='%s/?.so;;' %s %s %s")
      :format(dir, compat.LUA, script, db))
    for key, value in text:gmatch("(%S+) ([^\n]*)\n") do out[key] = value end
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
    os.remove(script)
    remove_db(db)
  end)

  it("exists in that build only", function()
    assert.is_nil(nn.Square)
    assert.is_nil(nn.Scale)
  end)

  it("has its constructor, its name and its hyper-parameter in tostring", function()
    assert.equal("nn.Sequential {|  [input -> (1) -> (2) -> (3) -> (4) -> (5) -> output]|"
      .. "  (1): nn.Linear(2 -> 2)|  (2): nn.Square|  (3): nn.Scale(3)|"
      .. "  (4): nn.Linear(2 -> 1)|  (5): nn.Scale(2)|}", out.tostring)
  end)

  it("takes no parameters and keeps the width in the layout", function()
    assert.equal("9", out.n_params)
    -- module 2, Square, gives two numbers: the width it was given
    assert.equal("20.25 16", out.trace)
  end)

  it("runs forward for one sample and for a batch", function()
    assert.equal("26", out.forward)
    assert.equal("26 32", out.batch)
  end)

  it("checks its hyper-parameter against the range its descriptor gives", function()
    assert.equal("bad argument #1 to 'Scale' (factor must be between 0.5 and 4.0)", out.error)
  end)

  describe("with parameters (PReLU, a slope per feature)", function()
    it("takes its size and lays out its tensor", function()
      assert.equal("nn.Sequential {|  [input -> (1) -> (2) -> (3) -> output]|"
        .. "  (1): nn.Linear(2 -> 2)|  (2): nn.PReLU(2)|  (3): nn.Linear(2 -> 1)|}", out.p_tostring)
      assert.equal("11", out.p_n_params)
    end)
    it("runs forward for one sample and for a batch", function()
      assert.equal("0.875 1.5", out.p_forward)
      assert.equal("0.875 1.5", out.p_batch)
    end)
    it("gives its tensor by name, and says so in net:modules() and nn.kind", function()
      assert.equal("0.25 0.5", out.p_weight)
      assert.equal("PReLU prelu 2 2 weight 2", out.p_module)
      assert.equal("1 weight in fan_in PRelu", out.p_kind)
      -- the function's name in the message differs between Luas
      assert.equal("nn.PReLU has no tensor 'bias' (it has weight)",
        out.p_badname:match("^bad argument #3 to '[^']*' %((.*)%)$"))
    end)
    it("saves and loads through the store", function()
      assert.equal('[{"type":"Linear","in":2,"out":2},{"type":"PReLU","n":2},'
        .. '{"type":"Linear","in":2,"out":1}]', out.p_arch)
      assert.equal("0.875 0.25 0.5", out.p_loaded)
    end)
    it("exports to ONNX as its operator with its tensor, and imports back", function()
      assert.equal("true true", out.p_onnx)
      assert.equal("nn.Sequential {|  [input -> (1) -> (2) -> (3) -> output]|"
        .. "  (1): nn.Linear(2 -> 2)|  (2): nn.PReLU(2)|  (3): nn.Linear(2 -> 1)|} 0.875 0.25 0.5",
        out.p_imported)
    end)
    it("trains: its gradient is the hand-worked one", function()
      -- loss (0.875 - 0)^2
      assert.equal("0.765625", out.p_loss)
      local a, b = out.p_trained:match("(%S+) (%S+)")
      assert.is_true(math.abs(tonumber(a) - 0.32875) < 1e-6)
      assert.is_true(math.abs(tonumber(b) - 0.43) < 1e-6)
    end)
  end)

  it("round-trips through the store's arch JSON by its name and fields", function()
    assert.equal('[{"type":"Linear","in":2,"out":2},{"type":"Square"},'
      .. '{"type":"Scale","factor":3},{"type":"Linear","in":2,"out":1},'
      .. '{"type":"Scale","factor":2}]', out.arch)
    assert.equal(out.tostring, out.loaded)
    assert.equal("32", out.loaded_forward)
  end)
end)
