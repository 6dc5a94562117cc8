--- make bench: the embedding bag model beside PyTorch on one thread.
--
-- EmbeddingBag(1000, 32, {ids = 8}) (the mean of 8 ids a row) -> Linear(32,
-- 64) -> ReLU -> Linear(64, 10): one row of ids from a Lua table into a
-- reused one, a batch of 256 rows (nn.Matrix), each the median of 7 runs of
-- CPU time; and one epoch of training on 20000 rows (cross-entropy, Adam lr
-- 1e-3, batch 64, shuffled, one thread), the median of 3 epochs.  PyTorch
-- does the same work in spec/bench/embed_torch.py (a 2-D LongTensor of ids,
-- EmbeddingBag(mode="mean")).  Figures, never assertions.
--
-- Run alone, from the top of the tree, after make:
--   LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' \
--     lua5.4 -e 'require("spec.bench.embed")()'

local N_IDS, DIM, IDS, HIDDEN, CLASSES = 1000, 32, 8, 64, 10
local ROWS, BATCH, EPOCHS, RUNS = 20000, 64, 3, 7

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

--- PyTorch's figures: { [name] = value }.
local function torch_figures(python)
  local pipe = assert(io.popen("OMP_NUM_THREADS=1 " .. python
    .. " spec/bench/embed_torch.py 2>&1", "r"))
  local out = pipe:read("*a")
  if not pipe:close() then error("spec/bench/embed_torch.py failed:\n" .. out, 0) end
  local t = {}
  for name, value in out:gmatch("(torch%.bag%.%S+) (%S+)") do t[name] = tonumber(value) end
  return t
end

return function()
  local nn = require "nn"
  local plain = require "spec.bench.plain"
  local figures = require "spec.bench.figures"
  nn.seed(42)
  local net = nn.Sequential{ nn.EmbeddingBag(N_IDS, DIM, { ids = IDS }), nn.Linear(DIM, HIDDEN),
                             nn.ReLU(), nn.Linear(HIDDEN, CLASSES) }
  -- ids from a fixed stream: the same rows on every Lua
  local s = 7
  local function id()
    s = (s * 1103515245 + 12345) % 2147483648
    return s % N_IDS
  end
  local x, out = {}, {}
  for j = 1, IDS do x[j] = id() end
  local rows = {}
  for r = 1, 256 do
    rows[r] = {}
    for j = 1, IDS do rows[r][j] = id() end
  end
  local X, Y = nn.Matrix(rows), nn.Matrix(256, CLASSES)
  local single, single_spread = plain.median_ns(function() net:forward(x, out) end, 50000, RUNS)
  local batch, batch_spread = plain.median_ns(function() net:forward(X, Y) end, 500, RUNS)
  batch = batch / 256
  local data, T = {}, {}
  for r = 1, ROWS do
    data[r] = {}
    for j = 1, IDS do data[r][j] = id() end
    T[r] = 1 + id() % CLASSES
  end
  data = nn.Matrix(data)
  local tr = nn.Trainer(net, { optimizer = "adam", lr = 1e-3, loss = "cross_entropy",
                               batch = BATCH, shuffle = true, seed = 1 })
  local epochs = {}
  for e = 1, EPOCHS do
    local t0 = os.clock()
    tr:fit(data, T, { epochs = 1 })
    epochs[e] = os.clock() - t0
  end
  local epoch = median(epochs)
  local torch = torch_figures(os.getenv("BENCH_PYTHON") or "/usr/bin/python3")
  figures.reference("torch.bag.single", torch["torch.bag.single"], "ns")
  figures.reference("torch.bag.batch256", torch["torch.bag.batch256"], "ns")
  figures.reference("torch.bag.epoch", torch["torch.bag.epoch"], "s")
  figures.add("lua.bag.single", single, "ns", "torch.bag.single", single_spread)
  figures.add("lua.bag.batch", batch, "ns", "torch.bag.batch256", batch_spread)
  figures.add("train.nn.bag_epoch", epoch, "s", "torch.bag.epoch")
  print(("\nembedding bag model: EmbeddingBag(%d, %d, 8 ids, mean) -> Linear(%d, %d) -> ReLU -> "
    .. "Linear(%d, %d), one thread;\nratio = PyTorch / nn (above 1: nn is faster)"):format(
    N_IDS, DIM, DIM, HIDDEN, HIDDEN, CLASSES))
  print(("%-34s %12s %14s  %7s"):format("", "nn", "PyTorch", "ratio"))
  for _, row in ipairs{
    { "single row, forward(x, out)", single, torch["torch.bag.single"], "ns" },
    { "batch 256, per row", batch, torch["torch.bag.batch256"], "ns" },
    { ("training epoch, %d rows"):format(ROWS), epoch, torch["torch.bag.epoch"], "s" },
  } do
    local fmt = row[4] == "s" and "%-34s %10.3f s %12.3f s  %6.2fx" or "%-34s %9.0f ns %11.0f ns  %6.2fx"
    print(fmt:format(row[1], row[2], row[3], row[3] / row[2]))
  end
end
