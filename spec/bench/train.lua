--- make bench, training: nn beside PyTorch and beside the floor, in one run.
--
-- Fashion-MNIST, 784-256-128-10 ReLU, cross-entropy, Adam lr 1e-3, batch
-- 64, 5 epochs, one thread.  nn (spec/bench/train_nn.lua) and PyTorch
-- (spec/bench/train_torch.py) each train RUNS times in processes of their
-- own, run r from seed r; every figure is the median over the runs of CPU
-- seconds for an epoch's training and of test accuracy after it.  The floor is the step's
-- matrix products at OpenBLAS speed (spec/bench/ref_train_blas.c) times the
-- steps of an epoch.  Figures, never assertions: the machine is shared.
--
-- Then FANN's own benchmark sets (libfann-doc): one hidden layer of 32
-- (Tanh, then Sigmoid), RPROP on the whole set, 300 epochs: CPU time an
-- epoch and test error (medians of 11 runs: nn's run r from seed r,
-- libfann's from its own random weights), nn beside libfann's
-- fann_train_epoch (spec/bench/ref_train_fann.c); and the memory a trainer
-- takes beside 4 bytes a parameter.
--
-- Every figure also goes to make bench's memory (spec/bench/figures.lua):
-- nn's epochs normalised by the sgemm floor, FANN's sets by libfann's.
--
--   lua5.4 spec/bench/train.lua [DIR [FANN_DIR]]   (NN_TRAIN_RUNS=3 by default)

local nn = require "nn"
local figures = require "spec.bench.figures"

local DIR = arg[1] or "/usr/share/datasets/fashion-mnist"
local FANN_DIR = arg[2] or "/usr/share/doc/libfann-dev/examples/datasets"
local FANN_SETS = { "mushroom", "thyroid", "diabetes", "gene", "soybean", "building" }
local FANN_RUNS = 11  -- as ref_train_fann.c: the test errors of small sets vary from run to run
local RUNS = tonumber(os.getenv("NN_TRAIN_RUNS")) or 3
local EPOCHS, ROWS, BATCH = 5, 60000, 64
local PYTHON = os.getenv("PYTHON") or "/usr/bin/python3"
local LUA = os.getenv("LUA") or "lua5.4"

--- Runs cmd; its "epoch E seconds S accuracy A" lines as { {s, a}, ... }.
local function epochs_of(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  local rows = {}
  for e, s, a in out:gmatch("epoch (%d+) seconds (%S+) accuracy (%S+)") do
    rows[tonumber(e)] = { tonumber(s), tonumber(a) }
  end
  if #rows ~= EPOCHS then error(cmd .. " printed:\n" .. out, 0) end
  return rows
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or (t[n // 2] + t[n // 2 + 1]) / 2
end

--- Per epoch, the medians over RUNS runs of cmd: seconds[e], accuracy[e].
-- Run r trains from seed r (weights and shuffles), for both libraries.
local function measure(cmd)
  local runs = {}
  for r = 1, RUNS do runs[r] = epochs_of(cmd .. " " .. r) end
  local seconds, accuracy = {}, {}
  for e = 1, EPOCHS do
    local s, a = {}, {}
    for r = 1, RUNS do s[r], a[r] = runs[r][e][1], runs[r][e][2] end
    seconds[e], accuracy[e] = median(s), median(a)
  end
  return seconds, accuracy
end

local args = ("'%s' %d"):format(DIR, EPOCHS)
local nn_s, nn_a = measure(("%s spec/bench/train_nn.lua %s"):format(LUA, args))
local pt_s, pt_a = measure(("OMP_NUM_THREADS=1 %s spec/bench/train_torch.py %s"):format(PYTHON, args))
local pipe = assert(io.popen("OPENBLAS_NUM_THREADS=1 build/bench/ref_train_blas 2>&1", "r"))
local line = pipe:read("a")
assert(pipe:close(), "build/bench/ref_train_blas failed:\n" .. line)
local step_ns = assert(tonumber(line:match("^blas%.train%.step (%S+) ns")), line)
local floor_s = step_ns * math.ceil(ROWS / BATCH) / 1e9

print(("training: Fashion-MNIST 784-256-128-10 ReLU, cross-entropy, Adam 1e-3, batch %d, "
  .. "one thread; CPU seconds, medians of %d runs"):format(BATCH, RUNS))
print("epoch   nn s   PyTorch s   floor s   nn acc   PyTorch acc")
for e = 1, EPOCHS do
  print(("%5d %6.3f %11.3f %9.3f %8.4f %13.4f"):format(e, nn_s[e], pt_s[e], floor_s, nn_a[e], pt_a[e]))
end
local nn_epoch, pt_epoch = median({ table.unpack(nn_s) }), median({ table.unpack(pt_s) })
figures.reference("train.floor.epoch", floor_s, "s")
for e = 1, EPOCHS do
  figures.add("train.nn.epoch" .. e, nn_s[e], "s", "train.floor.epoch")
  figures.reference("train.torch.epoch" .. e, pt_s[e], "s")
  figures.add("train.nn.acc" .. e, 100 * nn_a[e], "acc%")
  figures.reference("train.torch.acc" .. e, 100 * pt_a[e], "acc%")
end
figures.add("train.nn.epoch", nn_epoch, "s", "train.floor.epoch")
figures.reference("train.torch.epoch", pt_epoch, "s")
print(("median epoch: nn %.3f s, PyTorch %.3f s (nn %.2fx faster), floor %.3f s (nn %.2fx the floor)")
  :format(nn_epoch, pt_epoch, pt_epoch / nn_epoch, floor_s, nn_epoch / floor_s))
print(("test accuracy after %d epochs: nn %.2f%%, PyTorch %.2f%%"):format(EPOCHS,
  100 * nn_a[EPOCHS], 100 * pt_a[EPOCHS]))

-- FANN's sets: nn's RPROP beside libfann's.
local function test_error(net, X, T)
  local Y, wrong = net:forward(X), 0
  local k = Y:cols()
  for r = 1, Y:rows() do
    local y, t = Y:row(r), T:row(r)
    if k == 1 then
      if (y[1] > 0.5) ~= (t[1] > 0.5) then wrong = wrong + 1 end
    else
      local by, bt = 1, 1
      for j = 2, k do
        if y[j] > y[by] then by = j end
        if t[j] > t[bt] then bt = j end
      end
      if by ~= bt then wrong = wrong + 1 end
    end
  end
  return 100 * wrong / Y:rows()
end

local function nn_fann_set(set)
  local X, T = nn.read_fann_data(FANN_DIR .. "/" .. set .. ".train")
  local Xt, Tt = nn.read_fann_data(FANN_DIR .. "/" .. set .. ".test")
  local t, err = {}, {}
  for r = 1, FANN_RUNS do
    nn.seed(r)
    local net = nn.Sequential{ nn.Linear(X:cols(), 32), nn.Tanh(), nn.Linear(32, T:cols()),
                               nn.Sigmoid() }
    -- BCE, the loss of sigmoid outputs and 0/1 targets; libfann trains with
    -- its default error function, tanh, which also weighs large errors up
    local tr = nn.Trainer(net, { loss = "bce", optimizer = "rprop", batch = 512 })
    local t0 = os.clock()
    tr:fit(X, T, { epochs = 300 })
    t[r] = (os.clock() - t0) / 300 * 1e6
    err[r] = test_error(net, Xt, Tt)
  end
  return median(t), median(err)
end

local fpipe = assert(io.popen(("build/bench/ref_train_fann '%s' %s 2>&1"):format(FANN_DIR,
  table.concat(FANN_SETS, " ")), "r"))
local fout = fpipe:read("a")
assert(fpipe:close(), "build/bench/ref_train_fann failed:\n" .. fout)
print()
print("FANN's sets: 1 hidden layer of 32, RPROP, 300 epochs; CPU us an epoch and test error, medians of " .. FANN_RUNS)
print("set         nn us   libfann us   ratio   nn error   libfann error")
for _, set in ipairs(FANN_SETS) do
  local f_us = tonumber(fout:match("fann%.train%." .. set .. "%.epoch (%S+) us"))
  local f_err = tonumber(fout:match("fann%.train%." .. set .. "%.error (%S+) %%"))
  local n_us, n_err = nn_fann_set(set)
  figures.add("train." .. set .. ".nn_epoch", n_us, "us", "train." .. set .. ".fann_epoch")
  figures.reference("train." .. set .. ".fann_epoch", f_us, "us")
  figures.add("train." .. set .. ".nn_error", n_err, "err%")
  figures.reference("train." .. set .. ".fann_error", f_err, "err%")
  print(("%-9s %8.1f %12.1f %6.2fx %9.2f%% %14.2f%%"):format(set, n_us, f_us, f_us / n_us,
    n_err, f_err))
end

-- A trainer's memory, beside the 4 bytes a parameter the network itself takes.
nn.seed(1)
local net = nn.Sequential{ nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                           nn.Linear(128, 10) }
collectgarbage("collect")
local before = collectgarbage("count")
local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", batch = 64 })
local bytes = (collectgarbage("count") - before) * 1024
print()
print(("training memory, 784-256-128-10, Adam, batch 64: %d bytes, %.2f x 4 x params (%d params)")
  :format(bytes, bytes / (4 * net:n_params()), net:n_params()))
figures.add("train.memory", bytes, "bytes")
assert(tr)
