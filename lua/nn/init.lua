--- nn: small neural networks in C, with SQLite as their memory.
--
-- This front module is what `require "nn"` loads.  The C core (`nn.core`)
-- does every piece of arithmetic and every database call; this file only
-- gathers the public names in one table, as `socket.lua` does over
-- `socket.core`.  Nothing here runs in a forward pass; on LuaJIT, nn.ffi
-- (lua/nn/ffi.lua) does, in place of the C methods it replaces.

-- nn.core, or an error that says which Lua it is built for when that is
-- not this one.  A module built for another Lua names C functions this one
-- lacks, so the dynamic loader refuses it before it can say so itself; its
-- file holds the words (src/lua/nn_lua.c), read here only then.
local function load_core()
  local ok, core = pcall(require, "nn.core")
  if ok then return core end
  local path = tostring(core):match("from file '([^']+)'")
  local f = path and io.open(path, "rb")
  local built = f and f:read("*a"):match("nn%.core is built for (Lua [%d.]+)")
  if f then f:close() end
  if not built or built == _VERSION then error(core, 0) end
  local v = _VERSION:match("[%d.]+$")
  error(("nn.core in %s is built for %s, and this is %s: build nn for %s (make LUA=%s, "
    .. "or luarocks --lua-version %s make)"):format(path, built, _VERSION, _VERSION,
    jit and "luajit" or "lua" .. v, v), 0)
end

local core = load_core()
local svg = require "nn.svg"

local nn = {
  _VERSION = "nn " .. core._VERSION,
  -- modules: each returns a one-module network, as in Torch
  -- (every kind of layer, from the engine's table: see the loop below)
  Sequential = core.Sequential,
  -- the kinds: nn.kinds (their names), nn.kind(name) (what the table says of one)
  kinds = core.kinds,
  kind = core.kind,
  -- a batch of samples, one per row, float32
  Matrix = core.Matrix,
  -- the random stream that initialises new nn.Linear weights
  seed = core.seed,
  -- which kernel set runs the arithmetic: nn.kernel() or nn.kernel("generic")
  kernel = core.kernel,
  -- threads for batches and training: nn.threads(2), nn.threads("auto"), nn.threads()
  threads = core.threads,
  -- persistence
  open = core.open,
  open_bytes = core.open_bytes,
  -- pictures, as SVG text: nn.svg(net [, opts]), nn.svg_history(history)
  svg = svg.network,
  svg_history = svg.history,
  -- training data from files: IDX (MNIST), FANN .data, CSV; .gz too
  read_idx = core.read_idx,
  read_fann_data = core.read_fann_data,
  read_csv = core.read_csv,
  -- training: criteria (crit:forward, crit:backward) and the trainer
  MSECriterion = core.MSECriterion,
  CrossEntropyCriterion = core.CrossEntropyCriterion,
  BCECriterion = core.BCECriterion,
  Trainer = core.Trainer,
  -- networks from other tools' files: nn.import("model.onnx"), net:export(path, "fann")
  import = core.import,
}

-- nn.Linear, nn.ReLU, nn.LeakyReLU, ...: one constructor per layer kind
for _, kind in ipairs(core.kinds) do nn[kind] = core[kind] end

-- On LuaJIT, net:forward and net:classify go through its FFI to the same
-- C (lua/nn/ffi.lua); every other Lua keeps the C methods.  nn._FFI says
-- which.  A copy of nn without nn/ffi.lua beside this file (a game folder
-- put together by hand) keeps the C methods too; any other error in it is
-- raised.
nn._FFI = false
if type(jit) == "table" and pcall(require, "ffi") then
  local found, nnffi = pcall(require, "nn.ffi")
  if found then
    nn._FFI = nnffi.install(core)
  elseif not tostring(nnffi):find("module 'nn.ffi' not found", 1, true) then
    error(nnffi, 0)
  end
end

-- nn.Standardize(mean, std): y = (x - mean) / std per feature, mean and std
-- tables of n numbers (std's positive); nn.Standardize(n): mean 0, std 1.
local function standardize_arg(t, arg, what, n)
  if type(t) ~= "table" then
    error(("bad argument #%d to 'nn.Standardize' (%s must be a table of numbers, got %s)")
      :format(arg, what, type(t)), 3)
  end
  if #t == 0 or (n and #t ~= n) then
    error(("bad argument #%d to 'nn.Standardize' (%s has %d numbers, %s)"):format(arg, what, #t,
      n and ("as mean has " .. n) or "needs at least 1"), 3)
  end
  for i = 1, #t do
    local v = t[i]
    local ok = type(v) == "number" and v == v and v > -math.huge and v < math.huge
    if ok and what == "std" then ok = v > 0 end
    if not ok then
      error(("bad argument #%d to 'nn.Standardize' (%s[%d] must be a %s number, got %s)")
        :format(arg, what, i, what == "std" and "positive finite" or "finite", tostring(v)), 3)
    end
  end
end

function nn.Standardize(mean, std)
  if type(mean) == "number" and std == nil then return core.Standardize(mean) end
  standardize_arg(mean, 1, "mean")
  standardize_arg(std, 2, "std", #mean)
  local m = core.Standardize(#mean)
  m:set_weights(1, "mean", mean)
  m:set_weights(1, "std", std)
  return m
end

-- nn.BatchNorm(n [, { eps = 1e-5, momentum = 0.1 }]), and nn.BatchNorm2d(c
-- [, {...}]) per channel of an image: the options by name, as PyTorch's
-- keywords (numbers in their order reach the core too).
for _, name in ipairs { "BatchNorm", "BatchNorm2d" } do
  nn[name] = function(n, opts, ...)
    local named, eps, momentum = type(opts) == "table", opts, ...
    if named then
      for k in pairs(opts) do
        if k ~= "eps" and k ~= "momentum" then
          error(("bad argument #2 to 'nn.%s' (unknown option '%s': eps or momentum)")
            :format(name, tostring(k)), 2)
        end
      end
      eps, momentum = opts.eps, opts.momentum
    end
    local ok, m = pcall(core[name], n, eps, momentum)
    if not ok then
      local arg, why = tostring(m):match("bad argument #(%d+) to '[^']*' %((.*)%)$")
      if not why then error(m, 2) end
      error(("bad argument #%s to 'nn.%s' (%s)"):format(named and arg ~= "1" and "2" or arg,
        name, why), 2)
    end
    return m
  end
end

-- Graphs: nn.Residual, nn.Concat and nn.Graph wire modules into one network
-- through core.graph, a list of nodes { module, a [, b] }: module a network
-- or a join's kind ("Add", "Concat"), a and b the nodes it reads (0 the
-- input).  Names and widths are checked here, so that an error names the
-- node; the engine checks them again.

-- A module, or a list of modules made one Sequential; what errors call it.
local function as_module(m, fn, what)
  if type(m) == "table" and getmetatable(m) == nil then
    local ok, net = pcall(core.Sequential, m)
    if not ok then
      error(("bad argument #1 to '%s' (%s: %s)"):format(fn, what,
        tostring(net):gsub("^bad argument #1 to 'Sequential' %((.*)%)$", "%1")), 3)
    end
    return net
  end
  if type(m) ~= "userdata" or not pcall(m.n_inputs, m) then
    error(("bad argument #1 to '%s' (%s must be an nn module or a list of them, got %s)")
      :format(fn, what, type(m)), 3)
  end
  return m
end

-- nn.Dropout([p]): p at least 0 and below 1 (the float below 1 is the
-- core's bound, which a message would show as 0.99999994...).
function nn.Dropout(p, ...)
  if p ~= nil and (type(p) ~= "number" or not (p >= 0 and p < 1)) then
    error(("bad argument #1 to 'nn.Dropout' (p must be at least 0 and below 1, got %s)")
      :format(tostring(p)), 2)
  end
  return core.Dropout(p, ...)
end

-- The width a module gives from width in inputs (0: not known yet), or
-- nil and what is wrong.
local function width_after(m, w)
  local n_in, n_out = m:n_inputs(), m:n_outputs()
  if n_in > 0 and w > 0 and n_in ~= w then
    return nil, ("takes %d inputs, but is given %d"):format(n_in, w)
  end
  if n_out > 0 then return n_out end
  return w
end

-- core.graph(nodes), its errors raised as fn's (what the checks here let
-- through: widths no sized module fixes).
local function build(fn, nodes)
  local ok, net = pcall(core.graph, nodes)
  if not ok then
    error(("bad argument #1 to '%s' (%s)"):format(fn,
      tostring(net):gsub("^.-bad argument #1 to '[^']*' %((.*)%)$", "%1")), 3)
  end
  return net
end

-- nn.Residual(block) --> x + block(x); block a module or a list of them,
-- giving as many numbers as it takes.
function nn.Residual(block)
  block = as_module(block, "nn.Residual", "block")
  local n_in, n_out = block:n_inputs(), block:n_outputs()
  if n_in ~= n_out then
    error(("bad argument #1 to 'nn.Residual' (the block takes %d numbers and gives %d: "
      .. "a residual block must keep the width)"):format(n_in, n_out), 2)
  end
  return build("nn.Residual", { { block, 0 }, { "Add", 0, 1 } })
end

-- Nodes that join the nodes list[1..n] with kind, two at a time in order,
-- appended to nodes; the number of the last.
local function join_all(nodes, kind, list)
  local at = list[1]
  for i = 2, #list do
    nodes[#nodes + 1] = { kind, at, list[i] }
    at = #nodes
  end
  return at
end

-- nn.Concat{ a, b, ... } --> each branch on the same input, their outputs
-- side by side in order; a branch is a module or a list of them.
function nn.Concat(branches)
  if type(branches) ~= "table" or getmetatable(branches) ~= nil or #branches < 2 then
    error("bad argument #1 to 'nn.Concat' (a list of at least 2 branches expected)", 2)
  end
  local nodes, outs, width = {}, {}, 0
  for i, b in ipairs(branches) do
    local m = as_module(b, "nn.Concat", "branch " .. i)
    local n_in = m:n_inputs()
    if n_in > 0 and width > 0 and n_in ~= width then
      error(("bad argument #1 to 'nn.Concat' (branch %d takes %d inputs, branch 1 %d: "
        .. "every branch takes the same input)"):format(i, n_in, width), 2)
    end
    if n_in > 0 then width = n_in end
    nodes[#nodes + 1] = { m, 0 }
    outs[i] = #nodes
  end
  join_all(nodes, "Concat", outs)
  return build("nn.Concat", nodes)
end

local JOINS = { Add = true, Concat = true }

-- The node of spec at position i checked: { name, module, from = { names } }.
local function graph_spec(spec, i, prev)
  local function bad(msg, ...)
    error(("bad argument #1 to 'nn.Graph' (node %d: " .. msg .. ")"):format(i, ...), 4)
  end
  if type(spec) ~= "table" then bad("a table { name, module, from = ... } expected") end
  local name, m, from = spec[1], spec[2], spec.from
  if type(name) ~= "string" or name == "" then bad("its name must be a non-empty string") end
  if type(m) == "string" then
    if not JOINS[m] then bad("'%s': unknown join '%s' (\"Add\" or \"Concat\")", name, m) end
  else
    m = as_module(m, "nn.Graph", "node '" .. name .. "'")
  end
  if from == nil then from = { prev } end
  if type(from) == "string" then from = { from } end
  if type(from) ~= "table" or #from == 0 then
    bad("'%s': from must be a name or a list of names", name)
  end
  if type(m) ~= "string" and #from ~= 1 then
    bad("'%s' reads %d nodes: only \"Add\" and \"Concat\" read several", name, #from)
  end
  if type(m) == "string" and #from < 2 then bad("'%s' (%s) reads at least 2 nodes", name, m) end
  return { name = name, module = m, from = from }
end

-- nn.Graph{ input = { name, width }, output = name, { name, module, from = name
-- or { names } }, ... } --> the network of the nodes the output reads.
function nn.Graph(def)
  if type(def) ~= "table" then error("bad argument #1 to 'nn.Graph' (table expected)", 2) end
  local input = def.input
  if type(input) ~= "table" or type(input[1]) ~= "string" or math.type and
      math.type(input[2]) ~= "integer" or type(input[2]) ~= "number" or input[2] < 1 then
    error("bad argument #1 to 'nn.Graph' (input must be { name, width }, a width of at least 1)", 2)
  end
  if type(def.output) ~= "string" then
    error("bad argument #1 to 'nn.Graph' (no output: output must be the name of a node)", 2)
  end
  local by_name, prev = {}, input[1]
  for i = 1, #def do
    local node = graph_spec(def[i], i, prev)
    if by_name[node.name] or node.name == input[1] then
      error(("bad argument #1 to 'nn.Graph' (node %d: the name '%s' is taken)"):format(i, node.name), 2)
    end
    by_name[node.name] = node
    prev = node.name
  end
  if not by_name[def.output] then
    error(("bad argument #1 to 'nn.Graph' (output '%s' is no node)"):format(def.output), 2)
  end
  -- the nodes the output reads, each after what it reads (depth first)
  local nodes, number, width, state = {}, { [input[1]] = 0 }, { [input[1]] = input[2] }, {}
  local function visit(name, reader)
    if number[name] then return end
    local node = by_name[name]
    if not node then
      error(("bad argument #1 to 'nn.Graph' (node '%s' reads '%s', which no node defines)")
        :format(reader, name), 4)
    end
    if state[name] then
      error(("bad argument #1 to 'nn.Graph' (node '%s' is in a cycle: it reads itself "
        .. "through '%s')"):format(name, reader), 4)
    end
    state[name] = true
    for _, f in ipairs(node.from) do visit(f, name) end
    local ins = {}
    for j, f in ipairs(node.from) do ins[j] = number[f] end
    if type(node.module) == "string" then
      local w = 0
      for _, f in ipairs(node.from) do
        if node.module == "Add" and w > 0 and width[f] ~= w then
          error(("bad argument #1 to 'nn.Graph' (node '%s' (Add): '%s' gives %d numbers, "
            .. "'%s' %d: an Add takes equal widths)"):format(name, node.from[1], w, f, width[f]), 4)
        end
        w = node.module == "Add" and width[f] or w + width[f]
      end
      width[name] = w
      number[name] = join_all(nodes, node.module, ins)
    else
      local w, err = width_after(node.module, width[node.from[1]])
      if not w then error(("bad argument #1 to 'nn.Graph' (node '%s' %s)"):format(name, err), 4) end
      width[name] = w
      nodes[#nodes + 1] = { node.module, ins[1] }
      number[name] = #nodes
    end
  end
  visit(def.output, "output")
  if #nodes == 0 then
    error("bad argument #1 to 'nn.Graph' (the output is the input: no node to run)", 2)
  end
  return build("nn.Graph", nodes)
end

-- net:svg([opts]), the same as nn.svg(net [, opts]).
core.Network.__index.svg = svg.network

-- Pictures of what a store holds, as methods of every store.
core.Store.__index.svg_confusion = svg.store_confusion
core.Store.__index.svg_history = svg.store_history
-- Versions and logs that travel: store:push(dst), store:pull(src)
-- (lua/nn/push.lua).  A copy of nn without nn/push.lua (a game folder that
-- holds only what a game needs) has no push and pull, and runs.
do
  local found, push = pcall(require, "nn.push")
  if found then
    push.install(core.Store)
  elseif not tostring(push):find("module 'nn.push' not found", 1, true) then
    error(push, 0)
  end
end

-- Convolutional networks (src/engine/nn_kind_conv.c, nn_kind_pool.c): the
-- constructors take PyTorch's arguments, options in a table; each number
-- is checked here, so that a message names the argument as the caller
-- wrote it.
local function whole(v, arg, fname, what, min)
  if math.type then
    if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) or v end
  end
  if type(v) ~= "number" or v ~= math.floor(v) or v < min or v > 16777215 then
    error(("bad argument #%d to 'nn.%s' (%s must be a whole number of at least %d, got %s)")
      :format(arg, fname, what, min, tostring(v)), 0)
  end
  return v
end

-- An option of a table of options: a number, or {h, w} for a 2-d kind.
local function option(opts, arg, fname, name, min, def, pair)
  if opts == nil then return def, def end
  if type(opts) ~= "table" then
    error(("bad argument #%d to 'nn.%s' (options must be a table, got %s)")
      :format(arg, fname, type(opts)), 0)
  end
  local v = opts[name]
  if v == nil then return def, def end
  if pair and type(v) == "table" then
    return whole(v[1], arg, fname, name .. "[1]", min), whole(v[2], arg, fname, name .. "[2]", min)
  end
  v = whole(v, arg, fname, name, min)
  return v, v
end

function nn.Conv2d(c_in, c_out, kh, kw, opts)
  if type(kw) == "table" and opts == nil then kw, opts = nil, kw end
  whole(c_in, 1, "Conv2d", "in_channels", 1)
  whole(c_out, 2, "Conv2d", "out_channels", 1)
  whole(kh, 3, "Conv2d", "kernel height", 1)
  kw = kw == nil and kh or whole(kw, 4, "Conv2d", "kernel width", 1)
  local sh, sw = option(opts, 5, "Conv2d", "stride", 1, 1, true)
  local ph, pw = option(opts, 5, "Conv2d", "padding", 0, 0, true)
  local dh, dw = option(opts, 5, "Conv2d", "dilation", 1, 1, true)
  return core.Conv2d(c_out, c_in, kh, kw, sh, sw, ph, pw, dh, dw)
end

function nn.Conv1d(c_in, c_out, k, opts)
  whole(c_in, 1, "Conv1d", "in_channels", 1)
  whole(c_out, 2, "Conv1d", "out_channels", 1)
  whole(k, 3, "Conv1d", "kernel size", 1)
  local s = option(opts, 4, "Conv1d", "stride", 1, 1)
  local p = option(opts, 4, "Conv1d", "padding", 0, 0)
  local d = option(opts, 4, "Conv1d", "dilation", 1, 1)
  return core.Conv1d(c_out, c_in, k, s, p, d)
end

-- nn.MaxPool2d(k [, {stride = k, padding = 0}]), and the same of the others.
for _, name in ipairs { "MaxPool2d", "AvgPool2d", "MaxPool1d" } do
  nn[name] = function(k, opts)
    whole(k, 1, name, "kernel size", 1)
    local s = option(opts, 2, name, "stride", 1, k)
    local p = option(opts, 2, name, "padding", 0, 0)
    return core[name](k, s, p)
  end
end

-- nn.Input{c, h, w} (images), nn.Input{c, l} (sequences), nn.Input{n}: the
-- shape of a row, which the layers after it follow.
function nn.Input(shape)
  if type(shape) ~= "table" or #shape < 1 or #shape > 3 then
    error(("bad argument #1 to 'nn.Input' (shape must be a table {c, h, w}, {c, l} or {n}, "
      .. "got %s)"):format(type(shape) == "table" and #shape .. " numbers" or type(shape)), 2)
  end
  local names = { "channels", "height", "width" }
  for i = 1, #shape do whole(shape[i], 1, "Input", names[i], 1) end
  return core.Input(shape[1], shape[2] or 0, shape[3] or 0)
end

return nn
