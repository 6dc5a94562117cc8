--- make bench on LuaJIT: nn's forward(x, out), one sample from a Lua table
-- into a reused one, beside the same pass written in plain Lua, which LuaJIT
-- compiles to machine code; for the seed's 4-3-2 net, nets of widths 8 to
-- 64 and the 784-256-128-10 MLP.  Then what forward(x, out) allocates.
-- Last, the FFI floor: nn's calls on LuaJIT (through its FFI, lua/nn/ffi.lua)
-- beside a bare FFI call of nn_forward on float arrays, and what each
-- allocates per call.
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

-- The FFI floor: the least a call of nn_forward from LuaJIT can cost, a bare
-- FFI call on float arrays already filled, through the same table of
-- function pointers lua/nn/ffi.lua uses; beside it what nn's methods cost on
-- the same network (forward(x, out) from a Lua table into a reused one; a
-- batch of 200 rows into a reused nn.Matrix, per row; classify, with the
-- network's labels and with labels given; the C
-- methods, the way every other Lua calls), each as a ratio to the floor,
-- and the garbage of one call, counted with the collector stopped after
-- the same loop once.  Each call is timed in a loop of its own, which
-- LuaJIT compiles whole with the call inlined, as it does a game's loop
-- over its agents; code it cannot compile pays an exit a call on either path.
do
  local ffi = require "ffi"
  local core = require "nn.core"
  local c = require("nn.ffi").c
  local api = ffi.cast([[const struct { uint32_t v[4];
    void (*forward)(const void *, float *, const float *, size_t, float *);
    void *rest[5]; } *]], core._ffi())
  local ROWS = 200

  -- The median time of f, in a loop of its own made for it (a new function
  -- from the same text, so a new trace) after LuaJIT's traces are flushed:
  -- a loop that LuaJIT compiles whole, as a game's loop over its agents.  A
  -- loop shared by every f of the table, as median_ns's is, is compiled for
  -- the first and patched with side traces for the others, and the rows of
  -- the table then depend on their order.
  local LOOP = "local clock = os.clock\nreturn function(f, n) local t0 = clock() "
    .. "for _ = 1, n do f() end return clock() - t0 end"
  local function own_median_ns(f, n)
    jit.flush()
    local loop, t = assert(load(LOOP, "=timed loop"))(), {}
    for r = 1, RUNS do t[r] = loop(f, n) / n * 1e9 end
    table.sort(t)
    local median = t[math.floor((RUNS + 1) / 2)]
    return median, (t[RUNS - 1] - t[2]) / median
  end

  local function garbage_kb(f, n)
    local function loop() for _ = 1, n do f() end end
    loop()
    collectgarbage()
    collectgarbage("stop")
    local before = collectgarbage("count")
    loop()
    local kb = collectgarbage("count") - before
    collectgarbage("restart")
    return kb / n
  end

  print(("\nnn through LuaJIT's FFI (nn._FFI = %s), against the floor: a bare FFI call of "
    .. "nn_forward on float arrays;\nmedians of %d runs; ratio = time / floor; garbage per call")
    :format(tostring(nn._FFI), RUNS))
  print(("%-14s %-32s %9s  %7s  %12s"):format("network", "call", "time", "ratio", "garbage"))
  for _, case in ipairs{ { "seed 4-3-2", "seed", 1e6 }, { "8-32-32-4", "w8_32", 3e5 } } do
    local name, key, n = case[1], case[2], case[3]
    local net = key == "seed" and seed_net.build(nn)
      or require("spec.bench.nets").mlp(nn, { 8, 32, 32, 4 }, "Tanh")
    local n_x, n_y = net:n_inputs(), net:n_outputs()
    local X, x = require("spec.bench.nets").inputs(nn, ROWS, n_x)
    if key == "seed" then x = seed_net.leaf end
    local Y, out, names = nn.Matrix(ROWS, n_y), {}, {}
    for i = 1, n_y do names[i] = "action " .. i end
    local _, p = core._ffi_pin(net)
    p = ffi.cast("const void *", p)
    local xf, yf = ffi.new("float[?]", n_x), ffi.new("float[?]", n_y)
    local work = ffi.new("float[?]", 2 * math.max(n_x, 64))
    for i = 1, n_x do xf[i - 1] = x[i] end
    local calls = {
      { "bare FFI nn_forward (floor)", function() api.forward(p, yf, xf, n_x, work) end, 1 },
      { "net:forward(x, out)", function() net:forward(x, out) end, 1 },
      { ("net:forward(X, Y), per row of %d"):format(ROWS),
        function() net:forward(X, Y) end, ROWS },
      { "net:classify(x)", function() net:classify(x) end, 1 },
      { "net:classify(x, labels)", function() net:classify(x, names) end, 1 },
      { "C method forward(x, out)", function() c.forward(net, x, out) end, 1 },
      { "C method classify(x)", function() c.classify(net, x) end, 1 },
    }
    local floor
    for k, call in ipairs(calls) do
      local what, f, per = call[1], call[2], call[3]
      local ns, spread = own_median_ns(f, math.ceil(n / per))
      ns = ns / per
      floor = floor or ns
      local kb = garbage_kb(f, math.ceil(1e5 / per)) / per
      local fig = ("luajit.ffi.%s.%d"):format(key, k)
      if k == 1 then figures.reference(fig, ns, "ns", spread)
      else figures.add(fig, ns, "ns", ("luajit.ffi.%s.1"):format(key), spread) end
      figures.add(fig .. ".garbage", kb * 1024, "bytes")
      print(("%-14s %-32s %6.1f ns  %6.2fx  %9.3f KB"):format(k == 1 and name or "", what, ns,
        ns / floor, kb))
    end
  end
end
