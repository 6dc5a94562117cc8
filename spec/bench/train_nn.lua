--- nn's side of the training bench (spec/bench/train.lua runs it in a
-- process of its own): Fashion-MNIST, 784-256-128-10 ReLU, cross-entropy,
-- Adam lr 1e-3, batch 64, one thread, as spec/bench/train_torch.py for
-- PyTorch.
--
--   lua5.4 spec/bench/train_nn.lua DIR EPOCHS SEED [THREADS]
--
-- DIR holds the four IDX files (.gz or not).  Prints one line per epoch:
-- "epoch E seconds S accuracy A" (S: the CPU time of the epoch's training
-- alone; A: test accuracy after it).  With THREADS: on that many threads
-- (nn.threads), S the epoch's wall-clock time (fit's ms), which CPU time on
-- several threads would overstate.  Not a spec: figures, never assertions.

local nn = require "nn"

local dir, epochs, seed, threads = arg[1], tonumber(arg[2]), tonumber(arg[3]),
  tonumber(arg[4])

local function path(name)
  for _, p in ipairs{ dir .. "/" .. name, dir .. "/" .. name .. ".gz" } do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  error("missing " .. name .. " in " .. dir, 0)
end

local X = nn.read_idx(path("train-images-idx3-ubyte"), { scale = 1 / 255 })
local T = nn.read_idx(path("train-labels-idx1-ubyte"), { classes = true })
local Xt = nn.read_idx(path("t10k-images-idx3-ubyte"), { scale = 1 / 255 })
local Tt = nn.read_idx(path("t10k-labels-idx1-ubyte"), { classes = true })

nn.seed(seed)
if threads then nn.threads(threads) end
local net = nn.Sequential{ nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                           nn.Linear(128, 10) }
local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", lr = 1e-3,
                             batch = 64, seed = seed })
-- One fit, as a user trains; the test set is scored between epochs, out of
-- the epoch's time.
local mark = os.clock()
tr:fit(X, T, { epochs = epochs, on_epoch = function(stats)
  local seconds = threads and stats.ms / 1000 or os.clock() - mark
  local _, accuracy = tr:evaluate(Xt, Tt)
  print(("epoch %d seconds %.4f accuracy %.4f"):format(stats.epoch, seconds, accuracy))
  io.stdout:flush()
  mark = os.clock()
end })
