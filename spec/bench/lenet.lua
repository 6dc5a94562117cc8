-- make bench, lenet (also make bench-conv): the LeNet-5 of issue 20's
-- figures (1x28x28; Conv2d 6@5x5 padding 2, ReLU, MaxPool 2; Conv2d 16@5x5,
-- ReLU, MaxPool 2; 400-120, ReLU, 120-84, ReLU, 84-10) forward, one image
-- (into a reused output) and a batch of 256 rows (ns a row), each the
-- median of 7 runs of process CPU time on one thread; and training (Adam
-- lr 1e-3, batch 64, cross-entropy, each framework's default initialisation,
-- uniform within 1/sqrt(fan_in) in both): given the folder of Fashion-MNIST's
-- four IDX files, NN_LENET_EPOCHS (1) epochs of its 60,000 training images,
-- each epoch's time and the test accuracy (10,000 images) after it; without
-- it, ROWS rows of random images and classes (the time, not the accuracy),
-- the median of 3 epochs; beside the same network in PyTorch
-- (spec/bench/lenet_torch.py) in the same run, and its forward in ONNX
-- Runtime (spec/bench/lenet_ort.js on nn's own ONNX export of it, one
-- intra-op and one inter-op thread) when BENCH_ORT names the node_modules
-- folder that holds onnxruntime-node (make bench-conv installs it).
-- NN_LENET_SEEDS=n (1) adds the mean test accuracy after one epoch over
-- seeds 1..n on each side: one seed's accuracy moves by a point or more from
-- seed to seed in either framework.  Figures, never assertions: the machine
-- is shared.
--
--   lua5.4 spec/bench/lenet.lua [FASHION_MNIST_DIR]
--                                 (without: NN_LENET_ROWS=4096 random rows)

local nn = require "nn"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local BATCH, RUNS, N_IN, EPOCHS = 256, 7, 784, 3
local ROWS = tonumber(os.getenv("NN_LENET_ROWS")) or 4096
local ORT = os.getenv("BENCH_ORT")
local FM_EPOCHS = tonumber(os.getenv("NN_LENET_EPOCHS")) or 1
local SEEDS = tonumber(os.getenv("NN_LENET_SEEDS")) or 1

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

-- Fashion-MNIST's path in dir of a file (gzipped or not), or nil.
local function idx_path(dir, name)
  for _, p in ipairs { dir .. "/" .. name .. ".gz", dir .. "/" .. name } do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
end

-- Fashion-MNIST from dir (pixels scaled to [0, 1], classes 1-based), or
-- nil when dir is nil or lacks one of the files.
local function fashion(dir)
  if not dir then return nil end
  local names = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" }
  local paths = {}
  for i, name in ipairs(names) do
    paths[i] = idx_path(dir, name)
    if not paths[i] then
      io.stderr:write("  no ", name, " in ", dir, ": random images instead\n")
      return nil
    end
  end
  return { dir = dir,
           X = nn.read_idx(paths[1], { scale = 1 / 255 }),
           T = nn.read_idx(paths[2], { classes = true }),
           Xtest = nn.read_idx(paths[3], { scale = 1 / 255 }),
           Ttest = nn.read_idx(paths[4], { classes = true }) }
end

local function trainer(m, seed)
  return nn.Trainer(m, { loss = "cross_entropy", optimizer = "adam", lr = 1e-3,
                         batch = 64, seed = seed or 1, threads = 1 })
end

-- Training's figures: on Fashion-MNIST, { seconds = {...}, accuracy = {...} }
-- an epoch each (a new network); else the median epoch on random rows.
local function train_figures(m, fm, seed, epochs)
  if fm then
    nn.seed(seed or 1)
    local net, f = lenet(), { seconds = {}, accuracy = {} }
    local tr = trainer(net, seed)
    for e = 1, epochs or FM_EPOCHS do
      local t0 = os.clock()
      tr:fit(fm.X, fm.T, { epochs = 1 })
      f.seconds[e] = os.clock() - t0
      f.accuracy[e] = select(2, tr:evaluate(fm.Xtest, fm.Ttest))
    end
    return f
  end
  local Xt, T = images(ROWS), {}
  for r = 1, ROWS do T[r] = (r * 31) % 10 + 1 end
  local tr, epochs = trainer(m), {}
  for e = 1, EPOCHS do
    local t0 = os.clock()
    tr:fit(Xt, T, { epochs = 1 })
    epochs[e] = os.clock() - t0
  end
  return { seconds = { median(epochs) } }
end

--- nn's figures: single (ns), batch (ns an image), training's (train_figures).
local function measure(fm)
  nn.seed(42)
  nn.threads(1)
  local m = lenet()
  local X, x = images(BATCH)
  local out, Y = {}, nn.Matrix(BATCH, 10)
  local single = plain.median_ns(function() m:forward(x, out) end, 200, RUNS)
  local batch = plain.median_ns(function() m:forward(X, Y) end, 4, RUNS) / BATCH
  return single, batch, train_figures(m, fm)
end

-- What a reference's command prints, and its figures "<prefix>.lenet.NAME V
-- ns" (or s) by NAME.
local function run(cmd, prefix)
  io.stderr:write("  ", cmd, "\n")
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  local t = { seconds = {}, accuracy = {} }
  for name, v in out:gmatch(prefix .. "%.lenet%.(%S+) (%S+) n?s") do t[name] = tonumber(v) end
  return t, out
end

local function torch(fm)
  local cmd = ("%s spec/bench/lenet_torch.py %d %d"):format(PYTHON, ROWS, EPOCHS)
  if fm then cmd = ("%s %q %d"):format(cmd, fm.dir, FM_EPOCHS) end
  local t, out = run(cmd, "torch")
  for e, v in out:gmatch("torch%.lenet%.fashion_epoch(%d+) (%S+) s") do
    t.seconds[tonumber(e)] = tonumber(v)
  end
  for e, v in out:gmatch("torch%.lenet%.fashion_accuracy(%d+) (%S+)") do
    t.accuracy[tonumber(e)] = tonumber(v)
  end
  if not fm then t.seconds[1] = t.epoch end
  return t
end

-- ONNX Runtime on nn's export of the network (its weights do not change
-- the time); nil without BENCH_ORT.
local function ort()
  if not ORT or ORT == "" then return nil end
  local path = os.tmpname()
  lenet():export(path, "onnx")
  local ok, t = pcall(run, ("NODE_PATH='%s' node spec/bench/lenet_ort.js '%s' 1 28 28")
                             :format(ORT, path), "ort")
  os.remove(path)
  if not ok then error(t, 0) end
  return t
end

-- The test accuracy after one epoch from seeds 2 .. SEEDS, nn's and
-- PyTorch's (each drawing its own weights and order from the seed), so that
-- the comparison of one seed's accuracies can be read against either
-- framework's spread from seed to seed.
local function seed_accuracies(fm)
  local a, b = {}, {}
  for seed = 2, SEEDS do
    a[#a + 1] = train_figures(nil, fm, seed, 1).accuracy[1]
    local t, out = run(("%s spec/bench/lenet_torch.py %d %d %q 1 %d")
                         :format(PYTHON, ROWS, EPOCHS, fm.dir, seed), "torch")
    b[#b + 1] = tonumber(out:match("torch%.lenet%.fashion_accuracy1 (%S+)"))
    assert(t and b[#b], "no accuracy from PyTorch for seed " .. seed)
  end
  return a, b
end

local function mean(t)
  local s = 0
  for _, v in ipairs(t) do s = s + v end
  return s / #t
end

local fm = fashion(arg[1])
local pt, rt = torch(fm), ort()
local s, b, tf = measure(fm)
print("lenet: LeNet-5 forward and training epoch, nn beside PyTorch and ONNX Runtime (one "
      .. "thread), medians; ratios nn/reference, below 1 is faster")
print(("%-10s %12s %12s %7s %12s %7s"):format("", "nn", "PyTorch", "ratio", "ORT", "ratio"))
local function row(name, v, ref)
  local o = rt and rt[name]
  print(("%-10s %9.0f ns %9.0f ns %6.2fx %s"):format(name, v, ref, v / ref,
        o and ("%9.0f ns %6.2fx"):format(o, v / o) or "     (no ORT)"))
end
row("single", s, pt.single)
row("batch256", b, pt.batch256)
if fm then
  for e = 1, FM_EPOCHS do
    print(("%-10s %10.3f s %10.3f s %6.2fx  (Fashion-MNIST, 60,000 images)")
      :format("epoch " .. e, tf.seconds[e], pt.seconds[e], tf.seconds[e] / pt.seconds[e]))
    print(("%-10s %11.2f%% %11.2f%% %+6.2f points  (test accuracy after epoch %d)")
      :format("accuracy", 100 * tf.accuracy[e], 100 * pt.accuracy[e],
              100 * (tf.accuracy[e] - pt.accuracy[e]), e))
  end
  if SEEDS > 1 then
    local a, b = seed_accuracies(fm)
    table.insert(a, 1, tf.accuracy[1])
    table.insert(b, 1, pt.accuracy[1])
    print(("%-10s %11.2f%% %11.2f%% %+6.2f points  (mean test accuracy after epoch 1, seeds 1-%d)")
      :format("mean", 100 * mean(a), 100 * mean(b), 100 * (mean(a) - mean(b)), SEEDS))
    figures.reference("torch.lenet.fashion_accuracy_mean", 100 * mean(b), "%")
    figures.add("nn.lenet.fashion_accuracy_mean", 100 * mean(a), "%",
                "torch.lenet.fashion_accuracy_mean")
  end
else
  print(("%-10s %10.3f s %10.3f s %6.2fx  (%d random rows, median of %d)")
    :format("epoch", tf.seconds[1], pt.seconds[1], tf.seconds[1] / pt.seconds[1], ROWS, EPOCHS))
end
figures.reference("torch.lenet.single", pt.single, "ns")
figures.reference("torch.lenet.batch256", pt.batch256, "ns")
figures.add("nn.lenet.single", s, "ns", "torch.lenet.single")
figures.add("nn.lenet.batch256", b, "ns", "torch.lenet.batch256")
if rt then
  figures.reference("ort.lenet.single", rt.single, "ns")
  figures.reference("ort.lenet.batch256", rt.batch256, "ns")
  figures.add("nn.lenet.single_ort", s, "ns", "ort.lenet.single")
  figures.add("nn.lenet.batch256_ort", b, "ns", "ort.lenet.batch256")
end
local epoch = fm and "fashion_epoch" or "epoch"
figures.reference("torch.lenet." .. epoch, pt.seconds[1], "s")
figures.add("nn.lenet." .. epoch, tf.seconds[1], "s", "torch.lenet." .. epoch)
if fm then
  figures.reference("torch.lenet.fashion_accuracy", 100 * pt.accuracy[1], "%")
  figures.add("nn.lenet.fashion_accuracy", 100 * tf.accuracy[1], "%",
              "torch.lenet.fashion_accuracy")
end
