--- One round of make bench-compare on one tree: the single-sample and batch
-- figures of make bench from Lua, each the median of a few timed runs,
-- printed as "name value" lines (nanoseconds; a batch per row).
--
-- spec/bench/compare.lua runs this in a process of its own for each tree,
-- with LUA_PATH and LUA_CPATH pointing at that tree's lua/ and build/, so
-- that `require "nn"` is that tree's nn while this script, the seed's
-- weights and the plain-Lua reference are this tree's, the same for both.
-- It uses only what every tree since the seed has: nn.Sequential, the
-- layer constructors, nn.seed, nn.Matrix with set_row, and net:forward.
-- Figures, never assertions.

local nn = require "nn"
local seed_net = require "examples.seed_net"
local plain = require "spec.bench.plain"

local RUNS = tonumber(os.getenv("BENCH_COMPARE_RUNS")) or 3

local function median_ns(f, n) return plain.median_ns(f, n, RUNS) end

local nets = require "spec.bench.nets"
local function mlp(sizes, activation) return nets.mlp(nn, sizes, activation) end
local function inputs(rows, cols) return nets.inputs(nn, rows, cols) end

local function emit(name, ns) io.write(("%s %.6g\n"):format(name, ns)) end

do
  local net, x, out, y = seed_net.build(nn), seed_net.leaf, {}, {}
  local written = plain.forward_4_3_2(seed_net.W1, seed_net.b1, seed_net.W2, seed_net.b2)
  emit("lua.seed.forward", median_ns(function() net:forward(x, out) end, 300000))
  emit("lua.seed.plain", median_ns(function() written(x, y) end, 300000))
end

for _, case in ipairs{ { "mlp", { 784, 256, 128, 10 }, "ReLU", 600, 6 },
                       { "game", { 64, 64, 64, 8 }, "Tanh", 20000, 200 } } do
  local key, sizes, act, n_single, n_batch = case[1], case[2], case[3], case[4], case[5]
  local net = mlp(sizes, act)
  local X, x = inputs(256, sizes[1])
  local out, Y = {}, nn.Matrix(256, sizes[#sizes])
  emit("lua." .. key .. ".single", median_ns(function() net:forward(x, out) end, n_single))
  emit("lua." .. key .. ".batch", median_ns(function() net:forward(X, Y) end, n_batch) / 256)
end
