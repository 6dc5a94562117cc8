--- make bench, training: nn beside PyTorch and beside the floor, in one run.
--
-- Fashion-MNIST, 784-256-128-10 ReLU, cross-entropy, Adam lr 1e-3, batch
-- 64, 5 epochs, one thread.  nn (spec/bench/train_nn.lua) and PyTorch
-- (spec/bench/train_torch.py) each train RUNS times in processes of their
-- own; every figure is the median over the runs of CPU seconds for an
-- epoch's training and of test accuracy after it.  The floor is the step's
-- matrix products at OpenBLAS speed (spec/bench/ref_train_blas.c) times the
-- steps of an epoch.  Figures, never assertions: the machine is shared.
--
--   lua5.4 spec/bench/train.lua [DIR]      (NN_TRAIN_RUNS=3 by default)

local DIR = arg[1] or "/usr/share/datasets/fashion-mnist"
local RUNS = tonumber(os.getenv("NN_TRAIN_RUNS")) or 3
local EPOCHS, SEED, ROWS, BATCH = 5, 1, 60000, 64
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
local function measure(cmd)
  local runs = {}
  for r = 1, RUNS do runs[r] = epochs_of(cmd) end
  local seconds, accuracy = {}, {}
  for e = 1, EPOCHS do
    local s, a = {}, {}
    for r = 1, RUNS do s[r], a[r] = runs[r][e][1], runs[r][e][2] end
    seconds[e], accuracy[e] = median(s), median(a)
  end
  return seconds, accuracy
end

local args = ("'%s' %d %d"):format(DIR, EPOCHS, SEED)
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
print(("median epoch: nn %.3f s, PyTorch %.3f s (nn %.2fx faster), floor %.3f s (nn %.2fx the floor)")
  :format(nn_epoch, pt_epoch, pt_epoch / nn_epoch, floor_s, nn_epoch / floor_s))
print(("test accuracy after %d epochs: nn %.2f%%, PyTorch %.2f%%"):format(EPOCHS,
  100 * nn_a[EPOCHS], 100 * pt_a[EPOCHS]))
