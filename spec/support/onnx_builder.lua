--- ONNX models written byte by byte in Lua, for the specs: a protobuf
-- writer of its own (not nn's, which the specs check) and the few ONNX
-- messages a model needs, field numbers from onnx.proto.
--
--   local b = require "spec.support.onnx_builder"
--   local bytes = b.model{
--     opset = 13,
--     inputs = { b.value_info("x", { "N", 4 }) },
--     outputs = { b.value_info("y", { "N", 2 }) },
--     initializers = { b.tensor("W", { 2, 4 }, { ... }) },
--     nodes = { b.node("Gemm", { "x", "W" }, { "y" }, { b.attr_int("transB", 1) }) },
--   }

local compat = require "spec.support.compat"

local b = {}

local FLOAT, INT64 = 1, 7
b.FLOAT, b.INT64 = FLOAT, INT64

--- A varint: n as an unsigned 64-bit integer (negative ones take 10 bytes).
-- With the bit operators on 5.3 and later (loaded from text, which older
-- parsers refuse); before, in two 32-bit halves of arithmetic, exact for
-- every n a double holds as an integer.
local native_varint = math.type and load([[
  return function(n)
    local out = {}
    repeat
      local byte = n & 0x7f
      n = n >> 7            -- logical shift: a negative n ends after 10 bytes
      if n ~= 0 then byte = byte | 0x80 end
      out[#out + 1] = string.char(byte)
    until n == 0
    return table.concat(out)
  end
]])()

function b.varint(n)
  if native_varint then return native_varint(n) end
  local lo = n % 2 ^ 32                  -- two's complement of a negative n
  local hi = ((n - lo) / 2 ^ 32) % 2 ^ 32
  local out = {}
  repeat
    local byte = lo % 128
    lo = (lo - byte) / 128 + (hi % 128) * 2 ^ 25
    hi = (hi - hi % 128) / 128
    if lo ~= 0 or hi ~= 0 then byte = byte + 128 end
    out[#out + 1] = string.char(byte)
  until lo == 0 and hi == 0
  return table.concat(out)
end

local function key(field, wire) return b.varint(field * 8 + wire) end

function b.int(field, v) return key(field, 0) .. b.varint(v) end
function b.bytes(field, s) return key(field, 2) .. b.varint(#s) .. s end
function b.float(field, v) return key(field, 5) .. compat.pack("<f", v) end

local function cat(list, f)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = f(v) end
  return table.concat(out)
end

--- A float TensorProto, values in raw_data (or float_data when packed = "float_data").
function b.tensor(name, dims, values, how)
  local s = cat(dims, function(d) return b.int(1, d) end) .. b.int(2, FLOAT)
  local raw = {}
  for i, v in ipairs(values) do raw[i] = compat.pack("<f", v) end
  if how == "float_data" then
    s = s .. b.bytes(4, table.concat(raw))
  else
    s = s .. b.bytes(9, table.concat(raw))
  end
  return s .. b.bytes(8, name)
end

--- An int64 TensorProto (a Reshape's shape), values in int64_data, packed.
function b.int64_tensor(name, dims, values)
  return cat(dims, function(d) return b.int(1, d) end) .. b.int(2, INT64) ..
    b.bytes(7, cat(values, b.varint)) .. b.bytes(8, name)
end

function b.attr_int(name, v) return b.bytes(1, name) .. b.int(20, 2) .. b.int(3, v) end
function b.attr_float(name, v) return b.bytes(1, name) .. b.int(20, 1) .. b.float(2, v) end
function b.attr_ints(name, list)
  return b.bytes(1, name) .. b.int(20, 7) .. b.bytes(8, cat(list, b.varint))
end
function b.attr_tensor(name, t) return b.bytes(1, name) .. b.int(20, 4) .. b.bytes(5, t) end

function b.node(op, inputs, outputs, attrs, name, domain)
  return cat(inputs, function(s) return b.bytes(1, s) end) ..
    cat(outputs, function(s) return b.bytes(2, s) end) ..
    (name and b.bytes(3, name) or "") .. b.bytes(4, op) ..
    cat(attrs, function(a) return b.bytes(5, a) end) ..
    (domain and b.bytes(7, domain) or "")
end

--- A ValueInfoProto of a tensor of elem_type (FLOAT when nil); dims are
-- numbers or names (symbolic); no shape at all when dims is false.
function b.value_info(name, dims, elem_type)
  local tensor = b.int(1, elem_type or FLOAT)
  if dims then
    tensor = tensor .. b.bytes(2, cat(dims, function(d)
      return b.bytes(1, compat.is_integer(d) and b.int(1, d) or b.bytes(2, d))
    end))
  end
  return b.bytes(1, name) .. b.bytes(2, b.bytes(1, tensor))
end

--- A ModelProto: ir_version, opset_import, graph.
function b.model(m)
  local graph = cat(m.nodes, function(n) return b.bytes(1, n) end) ..
    b.bytes(2, "spec") ..
    cat(m.initializers, function(t) return b.bytes(5, t) end) ..
    cat(m.inputs, function(v) return b.bytes(11, v) end) ..
    cat(m.outputs, function(v) return b.bytes(12, v) end)
  local opset = ""
  if m.opset ~= false then
    opset = b.bytes(8, (m.domain and b.bytes(1, m.domain) or "") .. b.int(2, m.opset or 13))
  end
  return b.int(1, m.ir_version or 7) .. b.bytes(7, graph) .. opset
end

--- W (rows of numbers) flattened row by row, and its transpose.
function b.flat(W)
  local out = {}
  for _, row in ipairs(W) do for _, v in ipairs(row) do out[#out + 1] = v end end
  return out
end

function b.transpose(W)
  local T = {}
  for j = 1, #W[1] do
    T[j] = {}
    for i = 1, #W do T[j][i] = W[i][j] end
  end
  return T
end

return b
