--- Trains the agents' brain and ships it as a model file for the game:
--   lua make_brain.lua brain.db        (any Lua with nn; run from this folder)
-- The file is the model "steer" in a compact store that needs no -wal or
-- -shm beside it (store:ship), ready to go into a .love archive, where
-- main.lua reads it with love.filesystem.read and nn.open_bytes.

local nn = require "nn"
local brain = require "brain"

local out = arg[1] or "brain.db"
local net, accuracy = brain.train(nn)
local store = assert(nn.open(":memory:"))
store:save("steer", net, { note = ("the teacher's choice %.1f%% of the time"):format(accuracy * 100) })
store:ship(out, { overwrite = true })
store:close()
print(("%s: model 'steer', %d parameters, as the teacher %.1f%% of the time")
  :format(out, net:n_params(), accuracy * 100))
