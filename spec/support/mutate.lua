--- Mutated import files: bit flips, truncations, huge sizes and counts, for
-- spec/import_fuzz_spec.lua and for anything else that wants to fuzz
-- nn.import (a fuzz target takes SEEDS, a generator and check_import).
--
--   local mutate = require "spec.support.mutate"
--   local gen = mutate.new(42)                       -- deterministic
--   for _, seed in ipairs(mutate.SEEDS) do
--     local bytes = mutate.read(seed.path)
--     for k = 1, 1000 do
--       local case, how = gen(bytes, seed.format)
--       local verdict = mutate.check_import(nn, case, seed.format)  -- raises on a bad outcome
--     end
--   end

local compat = require "spec.support.compat"
local builder = require "spec.support.onnx_builder"

local mutate = {}

--- Valid files to start from: PyTorch's ONNX exports and libfann's .net
-- files (spec/fixtures/fann/README says how they were made).
mutate.SEEDS = {
  { format = "onnx", path = "spec/fixtures/onnx/relu_softmax_op7.onnx" },
  { format = "onnx", path = "spec/fixtures/onnx/leaky_softmax_op13.onnx" },
  { format = "onnx", path = "spec/fixtures/onnx/sigmoid_dropout_op11.onnx" },
  -- EmbeddingBag as a Loop over the bags, whose body the reader parses
  { format = "onnx", path = "spec/fixtures/onnx/embedding_bag_sum_op13.onnx" },
  { format = "fann", path = "spec/fixtures/fann/xor_sigmoid.net" },
  { format = "fann", path = "spec/fixtures/fann/deep_linear.net" },
}

function mutate.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local varint = builder.varint

-- Values that make sizes and counts huge, or make no sense.
-- (2^62 + 7 where integers have 64 bits, 2^62 where numbers are doubles)
local BIG = math.type and load("return (1 << 62) + 7")() or 2 ^ 62
local HUGE_INTS = { -1, 0x7fffffff, 0xffffffff, 0x100000000, 268435456, BIG, 0 }
local HUGE_TEXT = { "4294967295", "99999999999999", "1e39", "-1e39", "nan", "inf", "-0",
  "0", "18446744073709551616", "1e-46", "-", "." }

--- A generator of mutated copies: gen(bytes, format) --> case, how.
-- The same seed gives the same cases.
function mutate.new(seed)
  -- Park and Miller's generator: exact in doubles and in integers alike
  local state = seed % 2147483646 + 1
  local function rand(n)           -- 1..n
    state = state * 48271 % 2147483647
    return state % n + 1
  end
  local function flip(s)
    local i = rand(#s)
    local byte = compat.bxor(s:byte(i), 2 ^ (rand(8) - 1))
    return s:sub(1, i - 1) .. string.char(byte) .. s:sub(i + 1)
  end
  local ops = {
    function(s) return flip(s), "bit flip" end,
    function(s)
      for _ = 1, rand(16) do s = flip(s) end
      return s, "bit flips"
    end,
    function(s) return s:sub(1, rand(#s) - 1), "truncated" end,
    function(s)
      local i = rand(#s)
      return s:sub(1, i - 1) .. string.char(rand(256) - 1) .. s:sub(i + 1), "byte set"
    end,
    function(s, format)
      local i = rand(#s)
      if format == "onnx" then
        local v = varint(HUGE_INTS[rand(#HUGE_INTS)])
        return s:sub(1, i - 1) .. v .. s:sub(i + #v), "huge varint"
      end
      -- a number of the text replaced by a huge or senseless one
      local k = 0
      local target = rand(64)
      local out = s:gsub("[%d.eE+-]+", function(num)
        k = k + 1
        if k == target then return HUGE_TEXT[rand(#HUGE_TEXT)] end
        return num
      end)
      return out, "huge number"
    end,
    function(s)
      local i, j = rand(#s), rand(#s)
      if i > j then i, j = j, i end
      return s:sub(1, j) .. s:sub(i, j) .. s:sub(j + 1), "chunk repeated"
    end,
    function(s)
      local i, j = rand(#s), rand(#s)
      if i > j then i, j = j, i end
      return s:sub(1, i - 1) .. s:sub(j + 1), "chunk removed"
    end,
  }
  return function(bytes, format)
    local op = ops[rand(#ops)]
    return op(bytes, format)
  end
end

--- Import one case: either a clean error (a non-empty message) or a network
-- that passes the checks of one built by hand (its sizes, finite weights,
-- a forward pass of the right width, its trace, tostring, clone).  Returns
-- "refused" or "imported"; raises when the outcome is neither.
function mutate.check_import(nn, bytes, format)
  local ok, net = pcall(nn.import, bytes, { format = format })
  if not ok then
    assert(type(net) == "string" and #net > 0, "an error without a message")
    return "refused"
  end
  local n_in, n_out = net:n_inputs(), net:n_outputs()
  assert(n_in >= 1 and n_out >= 1 or n_in == 0 and n_out == 0, "sizes")
  local width = n_in > 0 and n_in or 3
  local x = {}
  -- a net that takes ids (an embedding first) takes id 0, which every table has
  local first = net:modules()[1]
  local ids = first and (first.kind == "Embedding" or first.kind == "EmbeddingBag")
  for i = 1, width do x[i] = ids and 0 or (i % 5) * 0.25 - 0.5 end
  local y = net:forward(x)
  assert(#y == (n_out > 0 and n_out or width), "output width")
  -- finite weights may still overflow a sum (as a hand-built net's may):
  -- the outputs are numbers, not necessarily finite ones
  for i = 1, #y do assert(compat.is_float(y[i]), "an output that is not a number") end
  for i, line in ipairs(net:trace(x)) do
    if line.module:match("^nn%.Linear") then
      local W, b = net:get_weights(i)
      for _, row in ipairs(W) do
        for _, v in ipairs(row) do assert(v == v and math.abs(v) < math.huge, "weight") end
      end
      for _, v in ipairs(b) do assert(v == v and math.abs(v) < math.huge, "bias") end
    end
  end
  assert(#tostring(net) > 0)
  assert(net:clone():n_params() == net:n_params())
  return "imported"
end

--- Hostile inputs every reader must refuse (issue 24), made from a seed:
-- gen() --> kind, bytes, how.  kind "onnx": a small valid chain broken in
-- one way ONNX forbids (a name defined twice, a cycle, a field or attribute
-- given twice, a huge declared size); kinds "idx", "fann" and "csv": a file
-- whose header announces far more than it holds, or a field without end;
-- kind "endless": bytes naming a reader to run on /dev/zero.
function mutate.hostile(seed)
  local b = builder
  local state = seed % 2147483646 + 1
  local function rand(n)
    state = state * 48271 % 2147483647
    return state % n + 1
  end
  local W = b.tensor("W", { 4, 4 }, { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 })
  local function chain(nodes, inits, inputs)
    return b.model{ opset = 13, inputs = inputs or { b.value_info("x", { "N", 4 }) },
      outputs = { b.value_info("y", { "N", 4 }) }, initializers = inits or { W }, nodes = nodes }
  end
  -- x -> h1 -> ... -> h(k-1) -> y, through Gemm by W and activations
  local function names(k)
    local t = { [0] = "x" }
    for i = 1, k - 1 do t[i] = "h" .. i end
    t[k] = "y"
    return t
  end
  local OPS = { "Relu", "Sigmoid", "Tanh", "Gemm" }
  local function node(op, input, output)
    if op == "Gemm" then return b.node(op, { input, "W" }, { output }, { b.attr_int("transB", 1) }) end
    return b.node(op, { input }, { output })
  end
  local onnx = {
    function(k, n)   -- an output named like an earlier name
      local i = rand(k)
      local taken = { "x", "W" }
      for j = 1, i - 1 do taken[#taken + 1] = n[j] end
      n[i] = taken[rand(#taken)]
      return "output of node " .. i .. " named " .. n[i]
    end,
    function(k, n)   -- a node taking its own output or a later one's
      local i = rand(k)
      local j = i + rand(k - i + 1) - 1
      return "node " .. i .. " takes the output of node " .. j, i, n[j]
    end,
  }
  local function hostile_onnx()
    local k = rand(5)
    local n = names(k)
    local what = rand(5)
    if what <= 2 then
      local how, rewire, input = onnx[what](k, n)
      local nodes = {}
      for i = 1, k do
        nodes[i] = node(OPS[rand(#OPS)], i == rewire and input or n[i - 1], n[i])
      end
      return chain(nodes), how
    end
    local nodes = {}
    for i = 1, k do nodes[i] = node(OPS[rand(#OPS)], n[i - 1], n[i]) end
    if what == 3 then
      return chain(nodes, { W, W }), "an initializer twice"
    elseif what == 4 then
      local i = rand(k)
      nodes[i] = nodes[i] .. (rand(2) == 1 and b.bytes(4, "Relu") or
        b.bytes(5, b.attr_float("alpha", 2)) .. b.bytes(5, b.attr_float("alpha", 3)))
      return chain(nodes), "a field or attribute of node " .. i .. " twice"
    end
    local dims = { HUGE_INTS[rand(#HUGE_INTS)], 4 }
    return chain(nodes, { b.int(1, dims[1]) .. b.int(1, 4) .. b.int(2, b.FLOAT) ..
      b.bytes(9, ("\0"):rep(16)) .. b.bytes(8, "W") }), "a huge declared size"
  end
  local function be32(v)
    return string.char(math.floor(v / 2 ^ 24) % 256, math.floor(v / 2 ^ 16) % 256,
      math.floor(v / 2 ^ 8) % 256, v % 256)
  end
  local kinds = {
    function() return "onnx", hostile_onnx() end,
    function()
      local d = 2 ^ (20 + rand(8)) - rand(3) + 1
      return "idx", "\0\0\8\1" .. be32(d) .. ("\1"):rep(rand(64)), "IDX of " .. d .. " items"
    end,
    function()
      local p = 2 ^ (20 + rand(7))
      return "fann", ("%d %d 1\n"):format(p, rand(4)) .. ("1 "):rep(rand(64)),
        "FANN data of " .. p .. " pairs"
    end,
    function()
      return "csv", "a,b\n1," .. ("9"):rep(4096 + rand(4096)) .. "\n", "a field without end"
    end,
    function()
      local readers = { "read_idx", "read_fann_data", "read_csv" }
      local r = readers[rand(3)]
      return "endless", r, r .. " of /dev/zero"
    end,
  }
  return function() return kinds[rand(#kinds)]() end
end

--- Run one hostile case (mutate.hostile) through nn: its error message, or
-- raises when nn takes the input.  Data files go through path.
function mutate.refuse_hostile(nn, kind, bytes, path)
  local ok, err
  if kind == "onnx" then
    ok, err = pcall(nn.import, bytes, { format = "onnx" })
  elseif kind == "endless" then
    local opts = { max_bytes = 1000000, max_field = 4096 }
    if bytes == "read_csv" then opts.target = false end
    ok, err = pcall(nn[bytes], "/dev/zero", bytes ~= "read_idx" and opts or { max_bytes = 1000000 })
  else
    local f = assert(io.open(path, "wb"))
    f:write(bytes)
    f:close()
    local reader = kind == "idx" and nn.read_idx or kind == "fann" and nn.read_fann_data or nn.read_csv
    ok, err = pcall(reader, path, kind == "csv" and { target = "b", max_field = 4096 } or nil)
    os.remove(path)
  end
  assert(not ok, "taken, where it must be refused")
  assert(type(err) == "string" and #err > 0, "an error without a message")
  if kind ~= "onnx" then
    assert(err:find(kind == "endless" and "/dev/zero" or path, 1, true), "the file is not named: " .. err)
  end
  return err
end


return mutate
