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
  for i = 1, width do x[i] = (i % 5) * 0.25 - 0.5 end
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

return mutate
