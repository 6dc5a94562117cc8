--- One case of the graph fuzzer (spec/fuzz/graph.lua), in a child process:
--   lua5.4 spec/fuzz/graph_child.lua SEED
-- draws a random graph from SEED: nodes of every element-wise kind, Linear,
-- and the joins Add and Concat, each reading one or more nodes before it
-- (or the input), built with nn.Graph (sometimes nested in nn.Sequential, or
-- a Residual or a Concat around a part); runs a few samples and a batch of
-- them through it, and checks each output against the same graph computed
-- here in double precision (spec/support/reference.lua, layer by layer,
-- from the weights the module reports), before and after net:fold().  A
-- difference past the tolerance
-- prints BAD; a Lua error ERR; the end DONE.

local nn = require "nn"
local ref = require "spec.support.reference"

local seed = tonumber(arg[1])
math.randomseed(seed)
io.stdout:setvbuf("line")

local function int(lo, hi) return math.random(lo, hi) end
local function pick(t) return t[int(1, #t)] end

-- float32 against double through at most a dozen layers of at most 16
-- terms, activations bounded: a few units of 2^-24 times the values'
-- size, far below this
local TOL = 1e-4

local ACTS = { "ReLU", "Tanh", "Sigmoid", "Identity", "LeakyReLU", "GELU", "SiLU", "ELU",
  "Softplus" }

-- A random graph: its spec for nn.Graph, and for the reference each node's
-- { kind, inputs, W, b } by name.
local function random_graph()
  local n_in = int(1, 6)
  local width = { x = n_in }
  local names = { "x" }
  local nodes, spec = {}, { input = { "x", n_in } }
  local count = int(1, 10)
  for k = 1, count do
    local name = "n" .. k
    local r = int(1, 10)
    local node
    if r <= 2 and #names >= 2 then          -- Add of nodes of one width
      local a = pick(names)
      local same = {}
      for _, v in ipairs(names) do if width[v] == width[a] then same[#same + 1] = v end end
      local from = { a, pick(same) }
      if int(1, 3) == 1 then from[3] = pick(same) end
      node = { name, "Add", from = from }
      width[name] = width[a]
      nodes[name] = { kind = "Add", from = from }
    elseif r <= 4 and #names >= 2 then      -- Concat of any nodes
      local from, w = {}, 0
      for j = 1, int(2, 3) do from[j] = pick(names); w = w + width[from[j]] end
      node = { name, "Concat", from = from }
      width[name] = w
      nodes[name] = { kind = "Concat", from = from }
    elseif r <= 7 then                        -- Linear
      local a, n_out = pick(names), int(1, 6)
      local W, b = {}, {}
      for j = 1, n_out do
        W[j], b[j] = {}, math.random() - 0.5
        for i = 1, width[a] do W[j][i] = math.random() * 2 - 1 end
      end
      local m = nn.Linear(width[a], n_out):set_weights(1, W, b)
      node = { name, m, from = a }
      width[name] = n_out
      nodes[name] = { kind = "Linear", from = { a }, W = W, b = b }
    else                                      -- an activation
      local a, kind = pick(names), pick(ACTS)
      node = { name, nn[kind](), from = a }
      width[name] = width[a]
      local k = nn.kind(kind)
      local layer = { kind }
      for j, h in ipairs(k.hyper) do layer[j + 1] = h.default end
      nodes[name] = { kind = "act", from = { a }, layer = layer }
    end
    spec[#spec + 1] = node
    names[#names + 1] = name
  end
  spec.output = names[#names]
  return spec, nodes, n_in
end

-- The graph in double precision: the output's value for x.
local function reference(nodes, output, x)
  local value = { x = x }
  local function eval(name)
    if value[name] then return value[name] end
    local n = nodes[name]
    local ins = {}
    for j, f in ipairs(n.from) do ins[j] = eval(f) end
    local y
    if n.kind == "Add" then
      y = {}
      for i = 1, #ins[1] do
        local s = ins[1][i]
        for j = 2, #ins do s = s + ins[j][i] end
        y[i] = s
      end
    elseif n.kind == "Concat" then
      y = {}
      for _, v in ipairs(ins) do for _, e in ipairs(v) do y[#y + 1] = e end end
    elseif n.kind == "Linear" then
      y = ref.forward({ { "Linear", n.W, n.b } }, ins[1])
    else
      y = ref.forward({ n.layer }, ins[1])
    end
    value[name] = y
    return y
  end
  return eval(output)
end

local function check(what, want, got)
  local d = ref.max_diff(want, got)
  if not (d <= TOL * (1 + math.abs(want[1] or 0))) then
    print(("BAD %s: differs by %g from the reference"):format(what, d))
  end
end

local spec, nodes, n_in = random_graph()
local ok, net = pcall(nn.Graph, spec)
if not ok then
  -- a graph whose output reads no sized node has no width: a clean refusal
  print("ERR " .. tostring(net):sub(1, 200):gsub("[%c]", " "))
  print("DONE")
  return
end
print("OK")
if int(1, 3) == 1 then net = nn.Sequential{ nn.Identity(), net, nn.Identity() } end
local rows = {}
for r = 1, int(1, 40) do
  local x = {}
  for i = 1, n_in do x[i] = math.random() * 4 - 2 end
  rows[r] = nn.Matrix{ x }:row(1)       -- as float32
end
local X = nn.Matrix(rows)
local Y = net:forward(X)
for r, x in ipairs(rows) do
  local want = reference(nodes, spec.output, x)
  check(("row %d of a sample"):format(r), want, net:forward(x))
  check(("row %d of a batch"):format(r), want, Y:row(r))
end
local t = net:trace(rows[1])
check("the trace's last value", reference(nodes, spec.output, rows[1]), t[#t].values)
-- the fold merges only straight stretches, so the folded graph computes the
-- same function, with no more modules
local folded = net:fold()
for r, x in ipairs(rows) do
  check(("row %d after fold"):format(r), reference(nodes, spec.output, x), folded:forward(x))
end
if #folded:modules() > #net:modules() then
  print(("BAD fold: %d modules, %d before"):format(#folded:modules(), #net:modules()))
end
-- the store's round trip gives the same bits (a net of element-wise
-- modules only, when the output reads no Linear, is refused: a clean error)
local store = nn.open(":memory:")
local saved, e = pcall(store.save, store, "g", net)
if saved then
  local back = store:load("g")
  for r, x in ipairs(rows) do
    local a, b = net:forward(x), back:forward(x)
    for i = 1, #a do
      if a[i] ~= b[i] then print(("BAD row %d: %g after the store, %g before"):format(r, b[i], a[i])) end
    end
  end
  print("OK")
else
  print("ERR " .. tostring(e):sub(1, 200):gsub("[%c]", " "))
end
store:close()
print("DONE")
