--- make bench: what nn costs, beside what the same work costs without it.
--
-- Each figure is the median of 7 runs of os.clock() over many calls, printed
-- with its reference from the same run.  Figures, never assertions: the
-- machine is shared and noisy.

local nn = require "nn"
local seed_net = require "examples.seed_net"

local RUNS = 7

--- Median time of one call of f, in nanoseconds, over n calls a run.
local function median_ns(f, n)
  local t = {}
  for r = 1, RUNS do
    local t0 = os.clock()
    for _ = 1, n do f() end
    t[r] = (os.clock() - t0) / n * 1e9
  end
  table.sort(t)
  return t[(RUNS + 1) // 2]
end

--- The seed's 4-3-2 forward pass in plain Lua, into a reused table.
local function plain_forward(W1, b1, W2, b2)
  local exp, h = math.exp, {}
  return function(x, y)
    for j = 1, #W1 do
      local s, w = b1[j], W1[j]
      for i = 1, #x do s = s + w[i] * x[i] end
      h[j] = s > 0 and s or 0
    end
    local max = -math.huge
    for j = 1, #W2 do
      local s, w = b2[j], W2[j]
      for i = 1, #h do s = s + w[i] * h[i] end
      y[j] = s
      if s > max then max = s end
    end
    local sum = 0
    for j = 1, #y do y[j] = exp(y[j] - max); sum = sum + y[j] end
    for j = 1, #y do y[j] = y[j] / sum end
    return y
  end
end

local function row(what, ns, ref_what, ref_ns)
  print(("%-34s %10.0f ns   %-26s %10.0f ns   %5.2fx"):format(what, ns, ref_what, ref_ns,
    ref_ns / ns))
end

print(("%s, medians of %d runs; the last column is reference / nn\n"):format(
  nn._VERSION, RUNS))

-- the seed's network, one sample from a Lua table
local net = seed_net.build(nn)
local x, out = seed_net.leaf, {}
local plain, y = plain_forward(seed_net.W1, seed_net.b1, seed_net.W2, seed_net.b2), {}
row("seed 4-3-2 net:forward(x, out)", median_ns(function() net:forward(x, out) end, 1e6),
  "plain Lua forward", median_ns(function() plain(x, y) end, 1e6))

-- the prediction log, to a file in WAL mode, flushed every 1000 rows
local path = os.tmpname()
local store = assert(nn.open(path, { flush_rows = 1000 }))
store:save("leaf_flower", net, { labels = { "leaf", "flower" } })
local loaded = store:load("leaf_flower")
local ys = loaded:forward(x)
local log_ns = median_ns(function() store:log(loaded, x, ys) end, 20000)
local classify_ns = median_ns(function() store:classify("leaf_flower", x) end, 20000)
store:close()
for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
print(("%-34s %10.0f ns   (%.0f k rows/s)"):format("store:log, file, WAL", log_ns, 1e6 / log_ns))
print(("%-34s %10.0f ns   (%.0f k rows/s)"):format("store:classify, file, WAL", classify_ns,
  1e6 / classify_ns))
require("spec.bench.sql")()
