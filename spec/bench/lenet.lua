-- make bench, lenet (also make bench-conv): the LeNet-5 of issue 20's
-- figures (1x28x28; Conv2d 6@5x5 padding 2, ReLU, MaxPool 2; Conv2d 16@5x5,
-- ReLU, MaxPool 2; 400-120, ReLU, 120-84, ReLU, 84-10) forward, one image
-- (into a reused output) and a batch of 256 rows (ns a row), each the
-- median of 7 runs of process CPU time on one thread; and a training epoch
-- (Adam lr 1e-3, batch 64, cross-entropy, ROWS rows of random images and
-- classes: the time, not the accuracy), the median of 3 epochs; beside the
-- same network in PyTorch (spec/bench/lenet_torch.py) in the same run.
-- Figures, never assertions: the machine is shared.
--
--   lua5.4 spec/bench/lenet.lua          (NN_LENET_ROWS=4096 rows an epoch)

local nn = require "nn"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local BATCH, RUNS, N_IN, EPOCHS = 256, 7, 784, 3
local ROWS = tonumber(os.getenv("NN_LENET_ROWS")) or 4096

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  return s[(#s + 1) // 2]
end

local function lenet()
  return nn.Sequential{
    nn.Input{ 1, 28, 28 },
    nn.Conv2d(1, 6, 5, 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10) }
end

local function images(rows)
  local X, x = nn.Matrix(rows, N_IN), {}
  for r = 1, rows do
    for c = 1, N_IN do x[c] = ((r * 7 + c) % 17) / 17 end
    X:set_row(r, x)
  end
  return X, x
end

--- nn's figures: single (ns), batch (ns an image), epoch (s).
local function measure()
  nn.seed(42)
  nn.threads(1)
  local m = lenet()
  local X, x = images(BATCH)
  local out, Y = {}, nn.Matrix(BATCH, 10)
  local single = plain.median_ns(function() m:forward(x, out) end, 200, RUNS)
  local batch = plain.median_ns(function() m:forward(X, Y) end, 4, RUNS) / BATCH
  local Xt, T = images(ROWS), {}
  for r = 1, ROWS do T[r] = (r * 31) % 10 + 1 end
  local tr = nn.Trainer(m, { loss = "cross_entropy", optimizer = "adam", lr = 1e-3,
                             batch = 64, seed = 1, threads = 1 })
  local epochs = {}
  for e = 1, EPOCHS do
    local t0 = os.clock()
    tr:fit(Xt, T, { epochs = 1 })
    epochs[e] = os.clock() - t0
  end
  return single, batch, median(epochs)
end

local function torch()
  local cmd = ("%s spec/bench/lenet_torch.py %d %d"):format(PYTHON, ROWS, EPOCHS)
  io.stderr:write("  ", cmd, "\n")
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  local t = {}
  for name, v in out:gmatch("torch%.lenet%.(%S+) (%S+) n?s") do t[name] = tonumber(v) end
  return t
end

local pt = torch()
local s, b, e = measure()
print("lenet: LeNet-5 forward and training epoch, nn beside PyTorch (one thread), medians; "
      .. "ratios nn/PyTorch, below 1 is faster")
print(("%-10s %12s %12s %7s"):format("", "nn", "PyTorch", "ratio"))
print(("%-10s %9.0f ns %9.0f ns %6.2fx"):format("single", s, pt.single, s / pt.single))
print(("%-10s %9.0f ns %9.0f ns %6.2fx"):format("batch256", b, pt.batch256, b / pt.batch256))
print(("%-10s %10.3f s %10.3f s %6.2fx  (%d rows)"):format("epoch", e, pt.epoch, e / pt.epoch,
                                                          ROWS))
figures.reference("torch.lenet.single", pt.single, "ns")
figures.reference("torch.lenet.batch256", pt.batch256, "ns")
figures.add("nn.lenet.single", s, "ns", "torch.lenet.single")
figures.add("nn.lenet.batch256", b, "ns", "torch.lenet.batch256")
figures.reference("torch.lenet.epoch", pt.epoch, "s")
figures.add("nn.lenet.epoch", e, "s", "torch.lenet.epoch")
