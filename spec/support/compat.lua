--- What the specs need that differs between the Lua versions they run on
-- (5.1, 5.2, 5.3, 5.4 and LuaJIT): the build directory, shell commands and
-- their exit status, float32 bytes, integers, finalizers on plain objects.

local compat = {}

--- The Lua running the specs (for child processes) and the directory its
-- module was built into; make test sets both.
compat.LUA = os.getenv("LUA") or "lua5.4"
compat.BUILD = os.getenv("NN_BUILD") or "build"
--- Its pkg-config name (Debian's: lua5.1 ... lua5.4, luajit).
compat.LUA_PC = compat.LUA:match("[^/]*$")

compat.unpack = table.unpack or unpack

--- Run f() with LuaJIT's compiler off (elsewhere just f()): what LuaJIT
-- allocates while it records and compiles traces is its own, not garbage the
-- code under test makes, and it would show in collectgarbage("count").
function compat.interpreted(f)
  if not jit then return f() end
  jit.off()
  jit.flush()
  local ok, a, b = pcall(f)
  jit.on()
  assert(ok, a)
  return a, b
end

--- Run cmd in sh; true when it exited with 0, then everything it printed
-- (standard error included), then its exit status (128 + n for signal n).
-- On 5.1 and LuaJIT io.popen's close does not tell the status, so the
-- shell prints it last.
function compat.run(cmd)
  local p = assert(io.popen("{ " .. cmd .. "\n} 2>&1; echo \"~exit $?\""))
  local out = p:read("*a")
  p:close()
  local body, status = out:match("^(.*)~exit (%d+)\n$")
  status = tonumber(status)
  return status == 0, body, status
end

--- Run cmd in sh; everything it printed.  Raises, with that, when it fails.
function compat.sh(cmd)
  local ok, out = compat.run(cmd)
  assert(ok, cmd .. " failed:\n" .. out)
  return out
end

--- os.execute's answer as a boolean on every version (5.1 returns the
-- status number).
function compat.execute(cmd)
  local r = os.execute(cmd)
  if type(r) == "number" then return r == 0 end
  return r == true
end

--- Whether v is an integer: its subtype on 5.3 and later, an integral
-- value before (where numbers have no subtypes).
function compat.is_integer(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v)
end

--- Whether v is a float: its subtype on 5.3 and later, any number before.
function compat.is_float(v)
  if math.type then return math.type(v) == "float" end
  return type(v) == "number"
end

--- The collector's pause and step multiplier ("incremental" on 5.4 sets
-- both; "setpause" and "setstepmul" do it on every version).
function compat.gc_tune(pause, stepmul)
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
end

--- An object whose collection calls fn: a table with __gc on 5.2 and
-- later, a userdata from newproxy on 5.1 and LuaJIT (whose tables have no
-- finalizers).
function compat.finalized(fn)
  if newproxy then
    local u = newproxy(true)
    getmetatable(u).__gc = fn
    return u
  end
  return setmetatable({}, { __gc = fn })
end

--- x rounded to float32 (to nearest, ties to even), as sign, biased
-- exponent and 23-bit mantissa (infinities and NaN as float32 has them).
local function split_f32(x)
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign, x = 1, -x end
  if x == 0 then return sign, 0, 0 end
  if x ~= x then return sign, 255, 2 ^ 22 end            -- NaN: a quiet one
  if x == math.huge then return sign, 255, 0 end
  local e = 0
  while x >= 2 do x, e = x / 2, e + 1 end
  while x < 1 and e > -126 do x, e = x * 2, e - 1 end
  -- normal: x in [1, 2), 1.m x 2^e; subnormal: x in (0, 1), 0.m x 2^-126
  local m = (x >= 1 and x - 1 or x) * 2 ^ 23   -- exact: a double has 52 bits
  local fm = math.floor(m)
  local frac = m - fm
  if frac > 0.5 or (frac == 0.5 and fm % 2 == 1) then fm = fm + 1 end
  local biased = x >= 1 and e + 127 or 0
  if fm == 2 ^ 23 then fm, biased = 0, biased + 1 end
  if biased >= 255 then return sign, 255, 0 end          -- rounds to infinity
  return sign, biased, fm
end

--- x as the nearest float32 (string.unpack("f", string.pack("f", x))).
function compat.f32(x)
  if x ~= x then return x end
  local sign, biased, fm = split_f32(x)
  local v = biased == 255 and math.huge or biased == 0 and fm * 2 ^ -149 or (1 + fm / 2 ^ 23) * 2 ^ (biased - 127)
  return sign == 1 and -v or v
end

--- The float32 bytes of x, little-endian.
local function f32le(x)
  local sign, biased, fm = split_f32(x)
  local bits = sign * 2 ^ 31 + biased * 2 ^ 23 + fm
  local bytes = {}
  for i = 1, 4 do
    bytes[i] = string.char(bits % 256)
    bits = math.floor(bits / 256)
  end
  return table.concat(bytes)
end

--- The values as consecutive little-endian float32s (string.pack("<f...")
-- on 5.3 and later).
function compat.pack_f32le(values)
  local parts = {}
  for i, v in ipairs(values) do parts[i] = f32le(v) end
  return table.concat(parts)
end

--- table.pack on every version: the arguments and their count n.
compat.pack_args = table.pack or function(...)
  return { n = select("#", ...), ... }
end

--- The whole of an open file (f:read("*a"), which every version reads).
function compat.read_all(f) return f:read("*a") end

-- Bit operations on integers from 0 to 2^53: the operators on 5.3 and
-- later (loaded from text, which older parsers refuse), arithmetic before.
local native = (math.type ~= nil) and load([[
  return { xor = function(a, b) return a ~ b end,
           band = function(a, b) return a & b end,
           bor = function(a, b) return a | b end }
]])()

local function bitwise(a, b, keep)
  local r, bit = 0, 1
  while a > 0 or b > 0 do
    local x, y = a % 2, b % 2
    if keep(x, y) then r = r + bit end
    a, b, bit = (a - x) / 2, (b - y) / 2, bit * 2
  end
  return r
end

--- a XOR b, a AND b, a OR b.
function compat.bxor(a, b)
  if native then return native.xor(a, b) end
  return bitwise(a, b, function(x, y) return x ~= y end)
end
function compat.band(a, b)
  if native then return native.band(a, b) end
  return bitwise(a, b, function(x, y) return x == 1 and y == 1 end)
end
function compat.bor(a, b)
  if native then return native.bor(a, b) end
  return bitwise(a, b, function(x, y) return x == 1 or y == 1 end)
end

--- The bits of x as a float32, an unsigned 32-bit integer
-- (string.unpack("<I4", string.pack("<f", x))).
function compat.f32_bits(x)
  local sign, biased, fm = split_f32(x)
  local bits = sign * 2 ^ 31 + biased * 2 ^ 23 + fm
  return math.tointeger and math.tointeger(bits) or bits
end

--- FNV-1a 64 of s as 16 hex digits, in four 16-bit limbs (exact on every
-- version, whether numbers are 64-bit integers or doubles).
function compat.fnv1a64(s)
  local h = { 0x2325, 0x8422, 0x9ce4, 0xcbf2 }      -- 0xcbf29ce484222325, low limb first
  for i = 1, #s do
    h[1] = compat.bxor(h[1], s:byte(i))
    -- times the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64
    local p = { 0, 0, 0, 0 }
    for k = 1, 4 do
      p[k] = p[k] + h[k] * 0x1b3
    end
    p[3] = p[3] + h[1] * 0x100          -- 2^40 = limb 2 (2^32) times 2^8
    p[4] = p[4] + h[2] * 0x100
    local carry = 0
    for k = 1, 4 do
      local v = p[k] + carry
      h[k] = v % 0x10000
      carry = (v - h[k]) / 0x10000
    end
  end
  return ("%04x%04x%04x%04x"):format(h[4], h[3], h[2], h[1])
end

--- A float64's bytes, little-endian.
local function f64le(x)
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign, x = 1, -x end
  local biased, m = 0, 0
  if x ~= x then biased, m = 2047, 2 ^ 51                -- NaN: a quiet one
  elseif x == math.huge then biased = 2047
  elseif x ~= 0 then
    local e = 0
    while x >= 2 do x, e = x / 2, e + 1 end
    while x < 1 and e > -1022 do x, e = x * 2, e - 1 end
    if x >= 1 then biased, m = e + 1023, (x - 1) * 2 ^ 52 else m = x * 2 ^ 52 end
  end
  local lo = m % 2 ^ 32
  local hi = sign * 2 ^ 31 + biased * 2 ^ 20 + (m - lo) / 2 ^ 32
  local bytes = {}
  for _, w in ipairs{ lo, hi } do
    for _ = 1, 4 do
      bytes[#bytes + 1] = string.char(w % 256)
      w = (w - w % 256) / 256
    end
  end
  return table.concat(bytes)
end

--- An n-byte two's-complement integer v, little-endian.
local function intle(v, n)
  if v < 0 then v = v + 2 ^ (8 * n) end
  local bytes = {}
  for i = 1, n do
    bytes[i] = string.char(v % 256)
    v = (v - v % 256) / 256
  end
  return table.concat(bytes)
end

--- string.pack for the formats the specs write: an optional "<" or ">"
-- first, then B, b, i2, i4, I4, f and d (string.pack itself on 5.3 and later).
function compat.pack(fmt, ...)
  if string.pack then return string.pack(fmt, ...) end
  local args, out, i = { ... }, {}, 0
  local big = fmt:sub(1, 1) == ">"
  for code, size in fmt:gmatch("([BbiIfd])(%d*)") do
    i = i + 1
    local v, bytes = args[i], nil
    if code == "f" then bytes = f32le(v)
    elseif code == "d" then bytes = f64le(v)
    else bytes = intle(v, (code == "B" or code == "b") and 1 or tonumber(size)) end
    if big then bytes = bytes:reverse() end
    out[#out + 1] = bytes
  end
  return table.concat(out)
end

return compat
