--- train_leaf_flower.lua: the seed's 4-3-2 leaf/flower network, trained
-- instead of typed in, then kept in SQLite with its training run.
--
--   lua5.4 examples/train_leaf_flower.lua [train.db]
--
-- The seed sets its weights by hand and says that training is what sets
-- them in practice.  Here they come from 400 made-up objects: leaves are
-- green and small, flowers colourful and larger.  The trained network reads
-- the seed's leaf (32, 107, 56, 11.2) as a leaf and its flower as a flower.

-- From any folder, or with nn installed (see leaf_flower.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath

local nn = require "nn"
local seed_net = require "seed_net"

local path = arg[1] or "train.db"

-- The objects: R, G, B in 0..255 and a volume in ml, and what each is.
math.randomseed(42)
local function between(lo, hi) return lo + (hi - lo) * math.random() end
local X, T = {}, {}
for i = 1, 400 do
  if i % 2 == 1 then
    X[i] = { between(10, 100), between(90, 200), between(10, 100), between(1, 25) }
    T[i] = "leaf"
  else
    X[i] = { between(140, 255), between(10, 140), between(50, 255), between(10, 60) }
    T[i] = "flower"
  end
end

nn.seed(7)
local net = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() }
net:set_labels{ "leaf", "flower" }
local trainer = nn.Trainer(net, { optimizer = "adam", lr = 0.01, batch = 16, seed = 7 })
local history = trainer:fit(X, T, { epochs = 60, validation_split = 0.25 })
local last = history.epochs[#history.epochs]
print(("%d epochs on %d objects: validation accuracy %.2f, loss %.4f"):format(
  #history.epochs, history.rows, last.val_accuracy, last.val_loss))

for _, case in ipairs{ { "the seed's leaf", seed_net.leaf }, { "a red flower", seed_net.flower } } do
  local label, p = net:classify(case[2])
  print(("%s reads as %s (%.4f)"):format(case[1], label, p))
end

local store = assert(nn.open(path))
local v = store:save("leaf_flower_trained", net, { training = history,
                                                    source = "examples/train_leaf_flower.lua" })
print(("saved as version %d with its %d epochs"):format(v, #history.epochs))
store:close()
