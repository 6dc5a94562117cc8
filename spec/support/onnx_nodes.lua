--- The nodes of an ONNX file's graph, read in Lua (not by nn, which the
-- specs check): each node's op_type, inputs, outputs and integer
-- attributes, and the graph's initializers by name, with their dims and
-- raw bytes.
-- Field numbers from onnx.proto; plain arithmetic, so any Lua reads it.
--
--   local nodes, inits = require("spec.support.onnx_nodes").read(bytes)
--   nodes[1].op, nodes[1].inputs[2], nodes[1].attrs.axis, inits.W.dims

local M = {}

-- The varint at i: its value (exact below 2^53) and the index after it.
local function varint(s, i)
  local v, scale = 0, 1
  repeat
    local byte = s:byte(i)
    assert(byte, "truncated varint")
    v = v + (byte % 128) * scale
    scale = scale * 128
    i = i + 1
  until byte < 128
  return v, i
end

-- The fields of the message s[i..j], in order: { number, wire, value }
-- where value is a number (varint) or the bytes (length-delimited).
local function fields(s, i, j)
  local out = {}
  i, j = i or 1, j or #s
  while i <= j do
    local k
    k, i = varint(s, i)
    local number, wire = math.floor(k / 8), k % 8
    local value
    if wire == 0 then
      value, i = varint(s, i)
    elseif wire == 2 then
      local n
      n, i = varint(s, i)
      value = s:sub(i, i + n - 1)
      i = i + n
    elseif wire == 5 then
      value, i = s:sub(i, i + 3), i + 4
    elseif wire == 1 then
      value, i = s:sub(i, i + 7), i + 8
    else
      error("wire type " .. wire)
    end
    out[#out + 1] = { number, wire, value }
  end
  return out
end

local function node_of(bytes)
  local node = { inputs = {}, outputs = {}, attrs = {} }
  for _, f in ipairs(fields(bytes)) do
    if f[1] == 1 then node.inputs[#node.inputs + 1] = f[3]
    elseif f[1] == 2 then node.outputs[#node.outputs + 1] = f[3]
    elseif f[1] == 3 then node.name = f[3]
    elseif f[1] == 4 then node.op = f[3]
    elseif f[1] == 5 then
      local name, i
      for _, a in ipairs(fields(f[3])) do
        if a[1] == 1 then name = a[3] elseif a[1] == 3 then i = a[3] end
      end
      node.attrs[name] = i or true
    end
  end
  return node
end

--- The int64 in 8 little-endian bytes (exact below 2^53 either side of 0).
function M.int64(raw)
  local v, neg = 0, raw:byte(8) >= 128
  for i = 8, 1, -1 do
    local byte = raw:byte(i)
    v = v * 256 + (neg and 255 - byte or byte)
  end
  return neg and -(v + 1) or v
end

--- The graph's nodes in order, and its initializers by name ({ dims, type,
-- raw: the raw_data bytes }).
function M.read(bytes)
  local nodes, inits = {}, {}
  for _, m in ipairs(fields(bytes)) do
    if m[1] == 7 then
      for _, g in ipairs(fields(m[3])) do
        if g[1] == 1 then
          nodes[#nodes + 1] = node_of(g[3])
        elseif g[1] == 5 then
          local t = { dims = {} }
          for _, f in ipairs(fields(g[3])) do
            if f[1] == 1 then t.dims[#t.dims + 1] = f[3]
            elseif f[1] == 2 then t.type = f[3]
            elseif f[1] == 8 then t.name = f[3]
            elseif f[1] == 9 then t.raw = f[3] end
          end
          inits[t.name] = t
        end
      end
    end
  end
  return nodes, inits
end

return M
