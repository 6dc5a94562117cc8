--- leaf_flower.lua: the seed's network, step by step, then kept in SQLite.
--
--   lua5.4 examples/leaf_flower.lua [demo.db]     (make demo runs this)
--
-- A network is a box that takes numbers in and gives numbers out.  Here the
-- numbers in are an object's colour (R, G, B) and volume in ml, and the two
-- numbers out are read as "leaf" and "flower": that reading is ours.

-- From any folder, or with nn installed: this clone's lua/ and its module
-- for this Lua (build/ for Lua 5.4, build-luajit/ for LuaJIT, build-lua5.1/
-- and so on for the others: make LUA=lua5.1) are found from this file's own
-- path, and so is seed_net.lua beside it.
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath

local nn = require "nn"
local seed_net = require "seed_net"

local path = arg[1] or "demo.db"

local function list(values)
  local parts = {}
  for i, v in ipairs(values) do parts[i] = ("%.4f"):format(v) end
  return "(" .. table.concat(parts, ", ") .. ")"
end

print("1. The box: 4 numbers in, 3 hidden neurons, 2 numbers out.\n")
local net = seed_net.build(nn)
print(net)
print(("   %d parameters: every weight and every bias.\n"):format(net:n_params()))

print("2. The forward pass, layer by layer, for the leaf (R, G, B, ml) = (32, 107, 56, 11.2):\n")
local x = seed_net.leaf
local W1, b1 = net:get_weights(1)
local blue = 0
for i = 1, 4 do blue = blue + W1[1][i] * x[i] end
print(("   blue neuron: 0.10*32 - 0.29*107 - 0.07*56 + 0.46*11.2 = %.3f"):format(blue))
print(("   with its bias 0.25:                                    = %.3f\n"):format(blue + b1[1]))
for i, step in ipairs(net:trace(x)) do
  print(("   (%d) %-18s %s"):format(i, step.module, list(step.values)))
end
print("\n   ReLU turned the negative hidden values -26.35 and -47.1 into 0.")
print("   Before softmax the outputs are 0.8 (leaf) and 0.2 (flower);")
print("   softmax makes them probabilities that add up to 1.\n")

print("3. The answer, read through a label map:\n")
net:set_labels{ "leaf", "flower" }
local label, score = net:classify(x)
print(("   %s, with probability %.4f"):format(label, score))
label, score = net:classify(x, { "sunny", "rainy" })
print(("   the same weights, the same numbers, read as weather: %s (%.4f)\n"):format(label, score))

print(("4. Kept in SQLite (%s): weights, label maps, and a log of every prediction.\n"):format(path))
local store = assert(nn.open(path))   -- closed at the end (on Lua 5.4, <close> can do it)
local version = store:save("leaf_flower", net, { note = "the seed's weights" })
store:add_labels("leaf_flower", "weather", { "sunny", "rainy" })
print(("   saved leaf_flower version %d, with label maps 'default' and 'weather'"):format(version))

local leaf_id = select(3, store:classify("leaf_flower", seed_net.leaf, { request_id = "demo-1" }))
local flower_id = select(3, store:classify("leaf_flower", seed_net.flower, { request_id = "demo-2" }))
local weather_id = select(3, store:classify("leaf_flower", seed_net.leaf,
  { labels = "weather", tags = { source = "demo" } }))
print(("   logged predictions %d, %d and %d"):format(leaf_id, flower_id, weather_id))
store:feedback(leaf_id, "leaf")        -- the true answers arrive later
store:feedback(flower_id, "flower")
local eager = net:clone()                 -- a second version to compare with:
eager:set_weights(3, seed_net.W2, { 0.41, 5 })   -- the flower's bias raised from 0.05 to 5
version = store:save("leaf_flower", eager, { note = "flower bias 5" })
print(("   saved version %d, whose flower bias of 5 sees flowers everywhere"):format(version))
store:flush()

print("\n5. Queried back in SQL:\n")
for row in store:rows([[
    SELECT prediction_id, name, version, labelmap, pred_label, round(score, 4) AS score,
           input ->> '$[0]' AS r
      FROM nn_predictions ORDER BY prediction_id]]) do
  print(("   #%d %s v%d [%s] -> %s (%.4f), R = %s"):format(row.prediction_id, row.name,
    row.version, row.labelmap, row.pred_label, row.score, row.r))
end
for row in store:rows("SELECT name, version, n, correct, accuracy FROM nn_accuracy") do
  print(("   accuracy of %s v%d: %d of %d right (%.2f)"):format(row.name, row.version,
    row.correct, row.n, row.accuracy))
end
print(("\n   Open it yourself: sqlite3 %s 'SELECT * FROM nn_predictions'"):format(path))
store:close()

-- The seed's figure, drawn from the network itself: its weights on the lines,
-- the leaf's values in the neurons, the winning output marked.
local picture = path:gsub("%.db$", "") .. "-network.svg"
local f = assert(io.open(picture, "w"))
f:write(nn.svg(net, { inputs = { "R", "G", "B", "volume" }, x = seed_net.leaf,
  title = "leaf or flower? The seed's network, for the leaf (32, 107, 56, 11.2)" }))
f:close()
print(("\n6. Drawn: %s (open it in a browser)"):format(picture))
