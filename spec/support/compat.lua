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
-- exponent and 23-bit mantissa (finite values within float32's range only).
local function split_f32(x)
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign, x = 1, -x end
  if x == 0 then return sign, 0, 0 end
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
  return sign, biased, fm
end

--- x as the nearest float32 (string.unpack("f", string.pack("f", x))).
function compat.f32(x)
  local sign, biased, fm = split_f32(x)
  local v = biased == 0 and fm * 2 ^ -149 or (1 + fm / 2 ^ 23) * 2 ^ (biased - 127)
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

return compat
