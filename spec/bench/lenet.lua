-- make bench, lenet (also make bench-conv): the LeNet-5 of issue 20's
-- figures (1x28x28; Conv2d 6@5x5 padding 2, ReLU, MaxPool 2; Conv2d 16@5x5,
-- ReLU, MaxPool 2; 400-120, ReLU, 120-84, ReLU, 84-10) forward, one image
-- (into a reused output) and a batch of 256 rows (ns a row), each the
-- median of 7 runs of process CPU time on one thread, beside the same
-- network in PyTorch (spec/bench/lenet_torch.py) in the same run.  Figures,
-- never assertions: the machine is shared.
--
--   lua5.4 spec/bench/lenet.lua

local nn = require "nn"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local BATCH, RUNS, N_IN = 256, 7, 784

local function lenet()
  return nn.Sequential{
    nn.Input{ 1, 28, 28 },
    nn.Conv2d(1, 6, 5, 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10) }
end

local function measure()
  nn.seed(42)
  nn.threads(1)
  local m = lenet()
  local X, x = nn.Matrix(BATCH, N_IN), {}
  for r = 1, BATCH do
    for c = 1, N_IN do x[c] = ((r * 7 + c) % 17) / 17 end
    X:set_row(r, x)
  end
  local out, Y = {}, nn.Matrix(BATCH, 10)
  local single = plain.median_ns(function() m:forward(x, out) end, 200, RUNS)
  local batch = plain.median_ns(function() m:forward(X, Y) end, 4, RUNS) / BATCH
  return single, batch
end

local function torch()
  local cmd = ("%s spec/bench/lenet_torch.py"):format(PYTHON)
  io.stderr:write("  ", cmd, "\n")
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  local t = {}
  for name, v in out:gmatch("torch%.lenet%.(%S+) (%S+) ns") do t[name] = tonumber(v) end
  return t
end

local pt = torch()
local s, b = measure()
print("lenet: LeNet-5 forward, nn beside PyTorch (one thread), medians; ratios nn/PyTorch, "
      .. "below 1 is faster")
print(("%-10s %12s %12s %7s"):format("", "nn ns", "PyTorch ns", "ratio"))
print(("%-10s %12.0f %12.0f %6.2fx"):format("single", s, pt.single, s / pt.single))
print(("%-10s %12.0f %12.0f %6.2fx"):format("batch256", b, pt.batch256, b / pt.batch256))
figures.reference("torch.lenet.single", pt.single, "ns")
figures.reference("torch.lenet.batch256", pt.batch256, "ns")
figures.add("nn.lenet.single", s, "ns", "torch.lenet.single")
figures.add("nn.lenet.batch256", b, "ns", "torch.lenet.batch256")
