--- make bench on LuaJIT: nn's forward(x, out), one sample from a Lua table
-- into a reused one, beside the same pass written in plain Lua, which LuaJIT
-- compiles to machine code; for the seed's 4-3-2 net, nets of widths 8 to
-- 64 and the 784-256-128-10 MLP.  Then what forward(x, out) allocates.
-- Each figure also goes to make bench's memory (spec/bench/figures.lua), an
-- nn figure normalised by its plain-LuaJIT pass.  Figures, never
-- assertions.  Run by make bench with build-luajit/.

local nn = require "nn"
local seed_net = require "examples.seed_net"
local plain = require "spec.bench.plain"
local figures = require "spec.bench.figures"

local RUNS = 7
local function median_ns(f, n) return plain.median_ns(f, n, RUNS) end

--- A net of the given widths (activation between, SoftMax last), nn's own
-- initialisation with a fixed seed, and the same layers for plain.layers.
local function mlp(sizes, activation)
  local layers = {}
  local net = require("spec.bench.nets").mlp(nn, sizes, activation)
  for k = 1, #sizes - 1 do
    local W, b = net:get_weights(2 * k - 1)
    layers[#layers + 1] = { W = W, b = b }
    layers[#layers + 1] = k < #sizes - 1 and { [activation:lower()] = true } or { softmax = true }
  end
  return net, layers
end

local function input(n)
  local x = {}
  for i = 1, n do x[i] = (i % 17) / 17 end
  return x
end

print(("%s on %s (%s), nn.kernel() = %s; medians of %d runs; ratio = plain / nn\n")
  :format(nn._VERSION, jit.version, jit.status() and "JIT on" or "JIT off", nn.kernel(), RUNS))
print(("%-32s %10s   %-30s %10s  %7s"):format("nn, forward(x, out)", "time", "plain LuaJIT",
  "time", "ratio"))
local function row(what, ns, ref, ref_ns)
  print(("%-32s %7.0f ns   %-30s %7.0f ns  %6.2fx"):format(what, ns, ref, ref_ns, ref_ns / ns))
end

do
  local net, x, out, y = seed_net.build(nn), seed_net.leaf, {}, {}
  local ns, spread = median_ns(function() net:forward(x, out) end, 1e6)
  local written = plain.forward_4_3_2(seed_net.W1, seed_net.b1, seed_net.W2, seed_net.b2)
  local w_ns, w_spread = median_ns(function() written(x, y) end, 1e6)
  figures.add("luajit.seed.forward", ns, "ns", "luajit.seed.plain", spread)
  figures.reference("luajit.seed.plain", w_ns, "ns", w_spread)
  row("seed 4-3-2", ns, "written out for this net", w_ns)
  local loop = plain.layers{ { W = seed_net.W1, b = seed_net.b1 }, { relu = true },
    { W = seed_net.W2, b = seed_net.b2 }, { softmax = true } }
  local l_ns, l_spread = median_ns(function() loop(x, y) end, 1e6)
  figures.reference("luajit.seed.plain_layers", l_ns, "ns", l_spread)
  row("", ns, "a loop over layers", l_ns)
end

for _, case in ipairs{ { "8-8-8-2 (Tanh)", { 8, 8, 8, 2 }, "Tanh", 1e6, "w8" },
                       { "16-16-16-4 (Tanh)", { 16, 16, 16, 4 }, "Tanh", 300000, "w16" },
                       { "32-32-32-4 (Tanh)", { 32, 32, 32, 4 }, "Tanh", 100000, "w32" },
                       { "game 64-64-64-8 (Tanh)", { 64, 64, 64, 8 }, "Tanh", 50000, "game" },
                       { "MLP 784-256-128-10 (ReLU)", { 784, 256, 128, 10 }, "ReLU", 500, "mlp" } } do
  local name, sizes, act, n, key = case[1], case[2], case[3], case[4], case[5]
  local net, layers = mlp(sizes, act)
  local x, out, y = input(sizes[1]), {}, {}
  local loop = plain.layers(layers)
  local ns, spread = median_ns(function() net:forward(x, out) end, n)
  local p_ns, p_spread = median_ns(function() loop(x, y) end, n)
  figures.add("luajit." .. key .. ".forward", ns, "ns", "luajit." .. key .. ".plain", spread)
  figures.reference("luajit." .. key .. ".plain", p_ns, "ns", p_spread)
  row(name, ns, "a loop over layers", p_ns)
end

-- what a million calls allocate, counted after the same loop once (LuaJIT
-- compiles it then, into memory the count includes)
do
  local net, x, out = seed_net.build(nn), seed_net.leaf, {}
  local function loop() for _ = 1, 1e6 do net:forward(x, out) end end
  loop()
  collectgarbage()
  collectgarbage("stop")
  local before = collectgarbage("count")
  loop()
  local kb = collectgarbage("count") - before
  collectgarbage("restart")
  print(("\nseed 4-3-2, forward(x, out): %.0f bytes allocated in 10^6 calls"):format(kb * 1024))
  figures.add("luajit.seed.garbage", kb * 1024, "bytes")
end
