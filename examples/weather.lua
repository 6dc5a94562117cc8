--- weather.lua: the same stored weights, read through another label map.
--
--   lua5.4 examples/weather.lua [demo.db]     (after make demo, or on its own)
--
-- The network only maps 4 numbers to 2.  Feed it cloud cover, humidity,
-- wind and pressure instead of R, G, B and volume, and read its outputs as
-- "sunny" and "rainy": the weights are the same, the meaning is ours.

-- From any folder, or with nn installed (see leaf_flower.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath

local nn = require "nn"
local seed_net = require "seed_net"

local store = assert(nn.open(arg[1] or "demo.db"))   -- closed at the end

-- Make the model if this database does not have it yet.
local have = false
for _ in store:rows("SELECT 1 FROM nn_model WHERE name = ?", "leaf_flower") do have = true end
if not have then
  store:save("leaf_flower", seed_net.build(nn), { labels = { "leaf", "flower" } })
  store:add_labels("leaf_flower", "weather", { "sunny", "rainy" })
end

local net = store:load("leaf_flower")
print(("leaf_flower, latest version, default labels: %s"):format(table.concat(net:labels(), ", ")))

-- cloud cover (%), humidity (%), wind (km/h), pressure change (hPa)
local days = {
  { name = "Monday", x = { 32, 107, 56, 11.2 } },
  { name = "Tuesday", x = { 250, 40, 120, 30 } },
}
for _, day in ipairs(days) do
  local label, score, id = store:classify("leaf_flower", day.x,
    { labels = "weather", request_id = day.name })
  print(("%-8s -> %-5s (%.4f)  logged as prediction %d"):format(day.name, label, score, id))
end
store:flush()

print("\nThe log keeps which label map each answer was read through:")
for row in store:rows([[
    SELECT labelmap, pred_label, count(*) AS n FROM nn_predictions
     GROUP BY labelmap, pred_label ORDER BY labelmap, pred_label]]) do
  print(("  %-8s %-7s %d"):format(row.labelmap, row.pred_label, row.n))
end
store:close()
