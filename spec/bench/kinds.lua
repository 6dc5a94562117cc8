--- make bench, kinds: networks that are not a plain chain of Linear and an
-- activation, beside the same networks in PyTorch on one thread
-- (spec/bench/kinds_torch.py), in one run:
--
--   ln_gelu   784-256-128-10, each hidden Linear followed by LayerNorm, GELU
--   residual  784-256, ReLU, a residual block of two Linear(256, 256) with a
--             ReLU between, ReLU, 256-10
--   bag       EmbeddingBag(1000, 32) of 8 ids a row (mean), 32-64, ReLU, 64-10
--
-- For each: one sample (forward into a reused output), a batch of 256 rows
-- (ns a row), both the median of 7 runs of process CPU time; and a training
-- epoch (Adam lr 1e-3, batch 64, cross-entropy, 16384 rows of random inputs
-- and classes, one thread), the median of EPOCHS epochs.  A network whose
-- kinds this nn does not have is left out, with a line that says so.
-- Figures, never assertions: the machine is shared.
--
--   lua5.4 spec/bench/kinds.lua          (NN_KINDS_EPOCHS=3 epochs a network)

local nn = require "nn"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local EPOCHS = tonumber(os.getenv("NN_KINDS_EPOCHS")) or 3
local ROWS, BATCH, RUNS = 16384, 256, 7

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  return s[(#s + 1) // 2]
end

-- Each network: its input (a sample of n_in numbers from a fixed rule, for
-- row r), how to build it in nn, and the kinds it needs.
local nets = {
  { name = "ln_gelu", needs = { "LayerNorm", "GELU" }, n_in = 784,
    input = function(r, c) return ((r * 7 + c) % 17) / 17 end,
    build = function()
      return nn.Sequential{ nn.Linear(784, 256), nn.LayerNorm(256), nn.GELU(),
                            nn.Linear(256, 128), nn.LayerNorm(128), nn.GELU(),
                            nn.Linear(128, 10) }
    end },
  { name = "residual", needs = { "Residual" }, n_in = 784,
    input = function(r, c) return ((r * 7 + c) % 17) / 17 end,
    build = function()
      return nn.Sequential{ nn.Linear(784, 256), nn.ReLU(),
                            nn.Residual(nn.Sequential{ nn.Linear(256, 256), nn.ReLU(),
                                                       nn.Linear(256, 256) }),
                            nn.ReLU(), nn.Linear(256, 10) }
    end },
  { name = "bag", needs = { "EmbeddingBag" }, n_in = 8,
    input = function(r, c) return (r * 131 + c * 977) % 1000 end,
    build = function()
      return nn.Sequential{ nn.EmbeddingBag(1000, 32, { ids = 8, mode = "mean" }),
                            nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10) }
    end },
}

local function missing(net)
  for _, k in ipairs(net.needs) do
    if nn[k] == nil then return k end
  end
end

local function matrix(rows, net)
  local X, t = nn.Matrix(rows, net.n_in), {}
  for r = 1, rows do
    for c = 1, net.n_in do t[c] = net.input(r, c) end
    X:set_row(r, t)
  end
  return X, t
end

--- nn's figures for one network: single (ns), batch (ns a row), epoch (s).
local function measure(net)
  nn.seed(42)
  local m = net.build()
  local X, x = matrix(BATCH, net)
  local out, Y = {}, nn.Matrix(BATCH, 10)
  local single = plain.median_ns(function() m:forward(x, out) end, 2000, RUNS)
  local batch = plain.median_ns(function() m:forward(X, Y) end, 20, RUNS) / BATCH
  local Xt = matrix(ROWS, net)
  local T = {}
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

--- PyTorch's figures for every network: t["<net>.single"] and so on.
local function torch()
  local cmd = ("%s spec/bench/kinds_torch.py %d"):format(PYTHON, EPOCHS)
  io.stderr:write("  ", cmd, "\n")
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  local t = {}
  for name, v in out:gmatch("torch%.kinds%.(%S+) (%S+) %a+") do t[name] = tonumber(v) end
  return t
end

local pt = torch()
print("kinds: nn beside PyTorch (one thread), medians; ratios nn/PyTorch, below 1 is faster")
print(("%-10s %12s %12s %7s %12s %12s %7s %9s %9s %7s"):format("network",
  "single ns", "PyTorch", "ratio", "batch ns", "PyTorch", "ratio", "epoch s", "PyTorch", "ratio"))
for _, net in ipairs(nets) do
  local lacks = missing(net)
  if lacks then
    print(("%-10s left out: this nn has no nn.%s"):format(net.name, lacks))
  else
    local s, b, e = measure(net)
    local ps, pb, pe = pt[net.name .. ".single"], pt[net.name .. ".batch256"],
      pt[net.name .. ".epoch"]
    print(("%-10s %12.0f %12.0f %6.2fx %12.0f %12.0f %6.2fx %9.3f %9.3f %6.2fx"):format(
      net.name, s, ps, s / ps, b, pb, b / pb, e, pe, e / pe))
    local prefix = "kinds." .. net.name
    figures.reference("torch." .. prefix .. ".single", ps, "ns")
    figures.reference("torch." .. prefix .. ".batch256", pb, "ns")
    figures.reference("torch." .. prefix .. ".epoch", pe, "s")
    figures.add("nn." .. prefix .. ".single", s, "ns", "torch." .. prefix .. ".single")
    figures.add("nn." .. prefix .. ".batch256", b, "ns", "torch." .. prefix .. ".batch256")
    figures.add("nn." .. prefix .. ".epoch", e, "s", "torch." .. prefix .. ".epoch")
  end
end
