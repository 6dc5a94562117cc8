--- make bench, threads: what a second thread gives nn, beside what it gives
-- PyTorch and OpenBLAS, in one run; and what it costs when another process
-- keeps a core busy.
--
-- 1. The MLP 784-256-128-10 on a batch of 256 rows, ns a row, on 1 and 2
--    threads: nn's engine (build/bench/threads, the pool of nn.threads),
--    PyTorch (spec/bench/ref_torch.py N), OpenBLAS sgemm (build/bench/ref_blas
--    N).  Each the median of 7 runs on the wall clock; ROUNDS rounds,
--    interleaved, and the median of those.
-- 2. A Fashion-MNIST training epoch (Adam, batch 64, as spec/bench/train.lua)
--    on 1 and 2 threads: nn (spec/bench/train_nn.lua ... N), PyTorch
--    (spec/bench/train_torch.py ... N), and the sgemm floor (the step's
--    products, build/bench/ref_train_blas N, times the steps of an epoch).
--    Wall-clock seconds, the median of the epochs of ROUNDS runs.
-- 3. Busy: the same batch and nn's epoch on 1 and 2 threads while a child
--    process spins on one of the cores.
--
-- Figures, never assertions: the machine is shared.  Ratios are of the same
-- run.  Every figure also goes to make bench's memory (spec/bench/figures.lua).
--
--   lua5.4 spec/bench/threads.lua [DIR]
--   (NN_THREADS_ROUNDS=3 rounds and NN_THREADS_EPOCHS=3 epochs a run by default)

local figures = require "spec.bench.figures"

local DIR = arg[1] or "/usr/share/datasets/fashion-mnist"
local ROUNDS = tonumber(os.getenv("NN_THREADS_ROUNDS")) or 3
local EPOCHS, ROWS, BATCH = tonumber(os.getenv("NN_THREADS_EPOCHS")) or 3, 60000, 64
local PYTHON = os.getenv("BENCH_PYTHON") or "/usr/bin/python3"
local LUA = os.getenv("LUA") or "lua5.4"

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

--- Runs cmd; its output, raising when it fails.  Says on stderr what runs.
local function run(cmd)
  io.stderr:write("  ", cmd, "\n")
  local pipe = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = pipe:read("a")
  if not pipe:close() then error(cmd .. " failed:\n" .. out, 0) end
  return out
end

--- "name value ns" lines of cmd, into t[name] (a list of values).
local function collect(t, cmd)
  for name, v in run(cmd):gmatch("(%S+) (%S+) ns") do
    t[name] = t[name] or {}
    table.insert(t[name], tonumber(v))
  end
end

--- The epochs' seconds of a training script, appended to list.
local function epochs(list, cmd)
  local out = run(cmd)
  local n = 0
  for s in out:gmatch("epoch %d+ seconds (%S+)") do
    list[#list + 1] = tonumber(s)
    n = n + 1
  end
  if n ~= EPOCHS then error(cmd .. " printed:\n" .. out, 0) end
end

--- A child that spins on one core until stop() kills it.
local function busy()
  local pipe = assert(io.popen("sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!", "r"))
  local pid = assert(tonumber(pipe:read("l")))
  pipe:close()
  return function() os.execute("kill " .. pid) end
end

local batch, train = {}, {}
local args = ("'%s' %d"):format(DIR, EPOCHS)
for round = 1, ROUNDS do
  for _, n in ipairs{ 1, 2 } do
    collect(batch, "build/bench/ref_blas " .. n)
    collect(batch, PYTHON .. " spec/bench/ref_torch.py " .. n)
    collect(batch, "build/bench/ref_train_blas " .. n)
    for _, who in ipairs{ { "nn", LUA .. " spec/bench/train_nn.lua" },
                          { "torch", PYTHON .. " spec/bench/train_torch.py" } } do
      local key = who[1] .. ".t" .. n
      train[key] = train[key] or {}
      epochs(train[key], ("%s %s %d %d"):format(who[2], args, round, n))
    end
  end
  collect(batch, "build/bench/threads")
  local stop = busy()
  local ok, err = pcall(function()
    collect(batch, "build/bench/threads busy")
    for _, n in ipairs{ 1, 2 } do
      local key = "nn.t" .. n .. ".busy"
      train[key] = train[key] or {}
      epochs(train[key], ("%s spec/bench/train_nn.lua %s %d %d"):format(LUA, args, round, n))
    end
  end)
  stop()
  if not ok then error(err, 0) end
end

local function b(name) return median(assert(batch[name], name)) end
local function e(name) return median(assert(train[name], name)) end
local floor = {}
for _, n in ipairs{ 1, 2 } do
  floor[n] = b("blas.train.step.t" .. n) * math.ceil(ROWS / BATCH) / 1e9
end

print(("threads: medians of %d rounds, wall clock; ratios from this run"):format(ROUNDS))
print("MLP 784-256-128-10, batch of 256, ns a row")
print("threads        nn   PyTorch   sgemm   nn/PyTorch   nn/sgemm")
for _, n in ipairs{ 1, 2 } do
  local v, pt, bl = b("nn.mlp.batch256.t" .. n), b("torch.mlp.batch256.t" .. n),
    b("blas.mlp.batch256.t" .. n)
  print(("%7d %9.0f %9.0f %7.0f %12.2fx %9.2fx"):format(n, v, pt, bl, v / pt, v / bl))
  figures.reference("threads.torch.mlp.batch256.t" .. n, pt, "ns")
  figures.reference("threads.blas.mlp.batch256.t" .. n, bl, "ns")
  figures.add("threads.nn.mlp.batch256.t" .. n, v, "ns", "threads.blas.mlp.batch256.t" .. n)
end
local s_batch = b("nn.mlp.batch256.t1") / b("nn.mlp.batch256.t2")
print(("second thread: nn %.2fx, PyTorch %.2fx, sgemm %.2fx"):format(s_batch,
  b("torch.mlp.batch256.t1") / b("torch.mlp.batch256.t2"),
  b("blas.mlp.batch256.t1") / b("blas.mlp.batch256.t2")))

print("Fashion-MNIST epoch (Adam, batch 64), seconds")
print("threads        nn   PyTorch   floor   nn/PyTorch   nn/floor")
for _, n in ipairs{ 1, 2 } do
  local v, pt = e("nn.t" .. n), e("torch.t" .. n)
  print(("%7d %9.3f %9.3f %7.3f %12.2fx %9.2fx"):format(n, v, pt, floor[n], v / pt, v / floor[n]))
  figures.reference("threads.torch.epoch.t" .. n, pt, "s")
  figures.reference("threads.floor.epoch.t" .. n, floor[n], "s")
  figures.add("threads.nn.epoch.t" .. n, v, "s", "threads.floor.epoch.t" .. n)
end
print(("second thread: nn %.2fx, PyTorch %.2fx, floor %.2fx"):format(e("nn.t1") / e("nn.t2"),
  e("torch.t1") / e("torch.t2"), floor[1] / floor[2]))

print("one core kept busy by another process: 2 threads against 1")
local bb1, bb2 = b("nn.mlp.batch256.t1.busy"), b("nn.mlp.batch256.t2.busy")
local eb1, eb2 = e("nn.t1.busy"), e("nn.t2.busy")
print(("batch of 256: %.0f ns a row on 1 thread, %.0f on 2: 2 threads take %.2fx the time"):format(
  bb1, bb2, bb2 / bb1))
print(("epoch: %.3f s on 1 thread, %.3f on 2: 2 threads take %.2fx the time"):format(
  eb1, eb2, eb2 / eb1))
figures.add("threads.nn.mlp.batch256.t2.busy", bb2, "ns", "threads.nn.mlp.batch256.t1.busy.ref")
figures.reference("threads.nn.mlp.batch256.t1.busy.ref", bb1, "ns")
figures.add("threads.nn.epoch.t2.busy", eb2, "s", "threads.nn.epoch.t1.busy.ref")
figures.reference("threads.nn.epoch.t1.busy.ref", eb1, "s")
