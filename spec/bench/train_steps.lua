--- Training steps to count, not to time: STEPS (10) Adam steps of batch 64
-- on the same 64 random rows, 784-256-128-10 ReLU, cross-entropy, one
-- thread, as the training bench's net.  For callgrind, whose instruction
-- counts stay the same on a busy machine where the clock does not:
--
--   eval "$(make -s env)"
--   valgrind --tool=callgrind --toggle-collect=nn_train_step \
--     lua5.4 spec/bench/train_steps.lua
--
-- counts only what runs inside nn_train_step (valgrind runs the AVX2 set).
-- Prints the last step's loss, to compare two builds' arithmetic too.
-- Not a spec: figures, never assertions.

local nn = require "nn"

local ROWS, STEPS = 64, tonumber(os.getenv("STEPS")) or 10
local state = 12345
local function rand()
  state = (state * 1103515245 + 12345) % 2147483648
  return state / 2147483648
end

nn.seed(7)
local X, T = nn.Matrix(ROWS, 784), {}
for i = 1, ROWS do
  local row = {}
  for j = 1, 784 do row[j] = rand() end
  X:set_row(i, row)
  T[i] = 1 + math.floor(rand() * 10)
end
local net = nn.Sequential{ nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                           nn.Linear(128, 10) }
local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", lr = 1e-3,
                             batch = ROWS })
local loss
for _ = 1, STEPS do loss = tr:step(X, T) end
print(("steps %d loss %.9g"):format(STEPS, loss))
