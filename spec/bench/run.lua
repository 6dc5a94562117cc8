--- make bench: what nn costs, beside what the same work costs without it.
--
-- Every figure is the median of RUNS timed runs, and each is printed next to
-- its reference from the same `make bench`: a plain-Lua forward pass here,
-- and FANN, OpenBLAS and a raw SQLite INSERT from the C programs of
-- spec/bench/ (spec/bench/refs.lua runs them).  Each is also handed to make
-- bench's memory with the reference it is normalised by
-- (spec/bench/figures.lua).  Figures, never assertions: the machine is
-- shared and noisy.

local nn = require "nn"
local seed_net = require "examples.seed_net"
local refs = require "spec.bench.refs"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local RUNS = 7

local function median_ns(f, n) return plain.median_ns(f, n, RUNS) end

local plain_forward, plain_layers = plain.forward_4_3_2, plain.layers

local nets = require "spec.bench.nets"
local function mlp(sizes, activation) return nets.mlp(nn, sizes, activation) end
local function inputs(rows, cols) return nets.inputs(nn, rows, cols) end

--- Bytes a network holds: what a copy of it allocates.
local function memory(net)
  collectgarbage()
  collectgarbage("stop")
  local before = collectgarbage("count")
  local copy = net:clone()
  local bytes = (collectgarbage("count") - before) * 1024
  collectgarbage("restart")
  assert(copy)
  return bytes
end

local rows = {}

--- A row of the table: nn's time against a reference's, and their ratio.
local function compare(what, ns, ref_name, ref_ns, unit)
  rows[#rows + 1] = { what, ns, ref_name, ref_ns, unit or "ns" }
end

local ref = refs.run()
do
  local names = {}
  for name in pairs(ref) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do figures.reference(name, ref[name].value, ref[name].unit) end
end

--- A reference figure in ns (a rate in rows/s becomes ns per row).
local function r(name)
  local f = assert(ref[name], name .. ": no such reference figure")
  return f.unit == "rows/s" and 1e9 / f.value or f.value
end

-- the seed's network, one sample from a Lua table into a reused one
do
  local net = seed_net.build(nn)
  local x, out = seed_net.leaf, {}
  local plain, y = plain_forward(seed_net.W1, seed_net.b1, seed_net.W2, seed_net.b2), {}
  local ns, spread = median_ns(function() net:forward(x, out) end, 1e6)
  local plain_ns, plain_spread = median_ns(function() plain(x, y) end, 1e6)
  figures.add("lua.seed.forward", ns, "ns", "lua.seed.plain", spread)
  figures.reference("lua.seed.plain", plain_ns, "ns", plain_spread)
  compare("seed 4-3-2, forward(x, out)", ns, "plain Lua, written for it", plain_ns)
  local general = plain_layers{ { W = seed_net.W1, b = seed_net.b1 }, { relu = true },
    { W = seed_net.W2, b = seed_net.b2 }, { softmax = true } }
  local layers_ns, layers_spread = median_ns(function() general(x, y) end, 1e6)
  figures.reference("lua.seed.plain_layers", layers_ns, "ns", layers_spread)
  compare("", ns, "plain Lua, a layer loop", layers_ns)
  compare("", ns, "FANN fann_run", r("fann.seed.single"))
  -- the floor: a C method that only reads 4 numbers and writes 2 (no checks,
  -- no arithmetic), called as net:forward is; its ratio is the most any C
  -- module could show against plain Lua here
  local floor = assert(package.loadlib("build/bench/lua_floor.so", "luaopen_lua_floor"))()
  local floor_ns, floor_spread = median_ns(function() floor:forward(x, y) end, 1e6)
  figures.reference("lua.seed.floor", floor_ns, "ns", floor_spread)
  compare("C method, 4 numbers in, 2 out", floor_ns, "plain Lua, written for it", plain_ns)
end

-- the MLP and the game net, one sample from a Lua table, and a batch of 256
local nets = {
  { "MLP 784-256-128-10", { 784, 256, 128, 10 }, "ReLU", "mlp", 2000, 20 },
  { "game 64-64-64-8", { 64, 64, 64, 8 }, "Tanh", "game", 50000, 500 },
}
for _, case in ipairs(nets) do
  local name, sizes, act, key, n_single, n_batch = table.unpack(case)
  local net = mlp(sizes, act)
  local X, x = inputs(256, sizes[1])
  local out, Y = {}, nn.Matrix(256, sizes[#sizes])
  local spread
  case.single, spread = median_ns(function() net:forward(x, out) end, n_single)
  figures.add("lua." .. key .. ".single", case.single, "ns", "fann." .. key .. ".single", spread)
  compare(name .. ", single", case.single, "FANN fann_run", r("fann." .. key .. ".single"))
  case.batch, spread = median_ns(function() net:forward(X, Y) end, n_batch)
  case.batch = case.batch / 256
  figures.add("lua." .. key .. ".batch", case.batch, "ns", "blas." .. key .. ".batch256", spread)
  compare(name .. ", batch 256 / row", case.batch,
    "OpenBLAS sgemm, 1 thread", r("blas." .. key .. ".batch256"))
  case.net = net
end

-- the game net beside PyTorch on one thread, and beside itself with Identity
-- in place of Tanh: what its matrix products (and SoftMax) alone cost here
do
  local game = nets[2]
  local identity = mlp(game[2], "Identity")
  local X, x = inputs(256, 64)
  local out, Y = {}, nn.Matrix(256, 8)
  compare("game 64-64-64-8 (Tanh), single", game.single, "PyTorch, 1 thread",
    r("torch.game.single"))
  local id_ns, id_spread = median_ns(function() identity:forward(x, out) end, game[5])
  figures.add("lua.game_identity.single", id_ns, "ns", "fann.game.single", id_spread)
  compare("", game.single, "same net, Identity for Tanh", id_ns)
  -- what reading 64 numbers from a table and writing 8 costs any C method:
  -- the part of a single sample from Lua that no engine can shorten
  local floor = assert(package.loadlib("build/bench/lua_floor.so", "luaopen_lua_floor"))()
  local floor_ns, floor_spread = median_ns(function() floor:forward(x, out, 8) end, game[5])
  figures.reference("lua.game.floor", floor_ns, "ns", floor_spread)
  compare("", game.single, "C method, 64 numbers in, 8 out", floor_ns)
  compare("game 64-64-64-8 (Tanh), batch / row", game.batch, "PyTorch, 1 thread",
    r("torch.game.batch256"))
  local idb_ns, idb_spread = median_ns(function() identity:forward(X, Y) end, game[6])
  figures.add("lua.game_identity.batch", idb_ns / 256, "ns", "blas.game.batch256", idb_spread)
  compare("", game.batch, "same net, Identity for Tanh", idb_ns / 256)
end

-- the prediction log, to a file in WAL mode, with the default flush policy
do
  local path = os.tmpname()
  local store = assert(nn.open(path))
  local net = seed_net.build(nn)
  store:save("leaf_flower", net, { labels = { "leaf", "flower" } })
  local loaded = store:load("leaf_flower")
  local x = seed_net.leaf
  local y = loaded:forward(x)
  local log_ns, log_spread = median_ns(function() store:log(loaded, x, y) end, 50000)
  figures.add("lua.store.log", log_ns, "ns", "sqlite.insert.txn1000", log_spread)
  compare("store:log, per row", log_ns, "raw prepared INSERT in C", r("sqlite.insert.txn1000"))
  local cl_ns, cl_spread = median_ns(function() store:classify("leaf_flower", x) end, 20000)
  figures.add("lua.store.classify", cl_ns, "ns", "sqlite.insert.txn1000", cl_spread)
  compare("store:classify (forward + log)", cl_ns)
  store:close()
  for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
end

print(("%s, medians of %d runs; ratio = reference / nn (above 1: nn is faster)\n"):format(
  nn._VERSION, RUNS))
print(("%-34s %12s   %-26s %12s  %7s"):format("nn", "time", "reference", "time", "ratio"))
local log_ns
for _, row in ipairs(rows) do
  local what, ns, ref_name, ref_ns = table.unpack(row)
  if ref_name then
    print(("%-34s %9.0f ns   %-26s %9.0f ns  %6.2fx"):format(what, ns, ref_name, ref_ns,
      ref_ns / ns))
  else
    print(("%-34s %9.0f ns"):format(what, ns))
  end
  if what == "store:log, per row" then log_ns = ns end
end
print(("\nlogged predictions: %.0f k rows/s; raw INSERT into a table shaped like "
  .. "nn_prediction: %.0f k rows/s\n(without its checks and indexes: %.0f k rows/s; one "
  .. "row per transaction: %.0f k rows/s)"):format(1e6 / log_ns,
  1e6 / r("sqlite.insert.txn1000"), 1e6 / r("sqlite.insert_plain.txn1000"),
  1e6 / r("sqlite.insert.txn1")))

print(("\n%-34s %12s %14s"):format("network memory", "bytes", "4 x params"))
for _, case in ipairs{ { "seed 4-3-2", seed_net.build(nn), "seed" },
                       { nets[1][1], nets[1].net, "mlp" }, { nets[2][1], nets[2].net, "game" } } do
  local bytes = memory(case[2])
  figures.add("mem." .. case[3], bytes, "bytes")
  print(("%-34s %12d %14d"):format(case[1], bytes, 4 * case[2]:n_params()))
end
require("spec.bench.sql")()
require("spec.bench.frame")()
