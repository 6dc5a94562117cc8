-- The data readers bounded by what they read (issue 24): nn.read_idx,
-- nn.read_fann_data and nn.read_csv (src/formats/nn_data.c, nn_data_csv.c)
-- check a size a header announces against the bytes that follow it and
-- against max_bytes before anything is allocated, stop an endless input or
-- an endless token or field at a limit they name, and name the file in
-- every message.  Memory is measured where the kernel counts it: the peak
-- resident size (VmHWM of /proc/self/status) of a child process before and
-- after one read; no timer anywhere.

local compat = require "spec.support.compat"
local files = require "spec.support.files"
local proc = require "spec.support.proc"
local nn = require "nn"

local write = files.write
local sh = proc.run

--- The error of nn[name](...), without the caller's position.
local function error_of(name, ...)
  local args = compat.pack_args(...)
  local ok, err = pcall(function()
    if name == "read_idx" then nn.read_idx(compat.unpack(args, 1, args.n))
    elseif name == "read_csv" then nn.read_csv(compat.unpack(args, 1, args.n))
    else nn.read_fann_data(compat.unpack(args, 1, args.n)) end
  end)
  assert.is_false(ok, "no error")
  return (err:gsub("^.-:%d+: ", "", 1))
end

local HAS_PROC = io.open("/proc/self/status") ~= nil

--- How much the peak resident size of a child process grew (in KiB) while
-- it called nn[name](path, opts), opts written as Lua text; and the error.
local function peak_growth(name, path, opts)
  local script = os.tmpname()
  write(script, [==[
    package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
    package.cpath = "]==] .. compat.BUILD .. [==[/?.so;" .. package.cpath
    local nn = require "nn"
    local function hwm()
      local f = assert(io.open("/proc/self/status"))
      local s = f:read("*a")
      f:close()
      return tonumber(s:match("VmHWM:%s*(%d+)"))
    end
    collectgarbage()
    local before = hwm()
    local ok, err = pcall(nn[arg[1]], arg[2], (loadstring or load)("return " .. arg[3])())
    print(hwm() - before)
    print(ok and "ok" or err)
  ]==])
  local out = sh(("%s %s %s %s %q"):format(proc.LUA, script, name, path, opts or "nil"))
  os.remove(script)
  local kib, msg = out:match("^(%d+)\n(.*)\n$")
  return tonumber(kib), msg
end

local MIB = 1024    -- KiB

local path
before_each(function() path = os.tmpname() end)
after_each(function()
  os.remove(path)
  os.remove(path .. ".gz")
end)

describe("nn.read_idx bounded by what it reads", function()
  it("refuses an 11-byte file claiming 2^28 items before allocating for them", function()
    write(path, "\0\0\8\1" .. compat.pack(">I4", 2 ^ 28) .. "abc")
    assert.equal(path .. ": the file ends at byte 11, inside element 4 of the 268435456 its "
      .. "header announces", error_of("read_idx", path))
    if HAS_PROC then
      local kib = peak_growth("read_idx", path)
      assert.is_true(kib < 16 * MIB, kib .. " KiB")   -- it touched 1 GiB
    end
  end)

  it("costs classes what they cost: refused beyond max_bytes before reading them", function()
    -- 2^28 labels of 0 are a 261 KB .gz; as classes they took 5.1 GB (a
    -- float each, then a Lua table slot of 16 bytes each)
    sh(("{ printf '\\0\\0\\10\\1\\20\\0\\0\\0'; head -c 268435456 /dev/zero; } | gzip -1 > %s.gz")
      :format(path))
    local gz = path .. ".gz"
    local msg = gz .. ": 268435456 elements take 5368709120 bytes once read, more than "
      .. "1073741824 (option max_bytes)"
    assert.equal(msg, error_of("read_idx", gz, { classes = true }))
    if HAS_PROC then
      local kib, err = peak_growth("read_idx", gz, "{ classes = true }")
      assert.equal(msg, err)
      assert.is_true(kib < 16 * MIB, kib .. " KiB")
    end
  end)

  it("stays within a small multiple of its result", function()
    if not HAS_PROC then return pending("no /proc/self/status") end
    local n = 2 ^ 22     -- 4 Mi labels: a matrix of 16 MiB, a table of 64 MiB
    sh(("{ printf '\\0\\0\\10\\1\\0\\100\\0\\0'; head -c %d /dev/zero; } > %s"):format(n, path))
    local kib, msg = peak_growth("read_idx", path)
    assert.equal("ok", msg)
    assert.is_true(kib <= 3 * 16 * MIB, kib .. " KiB for a result of 16 MiB")
    kib, msg = peak_growth("read_idx", path, "{ classes = true }")
    assert.equal("ok", msg)
    assert.is_true(kib <= 3 * 64 * MIB, kib .. " KiB for a table of 64 MiB")
  end)

  it("takes max_bytes for the bytes it reads and the result", function()
    write(path, "\0\0\8\1" .. compat.pack(">I4", 12) .. ("\1"):rep(12))
    assert.equal(path .. ": 12 elements take 48 bytes once read, more than 40 (option "
      .. "max_bytes)", error_of("read_idx", path, { max_bytes = 40 }))
    assert.equal(12, nn.read_idx(path, { max_bytes = 48 }):rows())
    -- two float64: 16 bytes of result, 24 of file
    write(path, "\0\0\14\1" .. compat.pack(">I4", 2) .. compat.pack(">d", 1) .. compat.pack(">d", 2))
    assert.equal(path .. ": the header announces 24 bytes with its elements, more than 20 "
      .. "(option max_bytes)", error_of("read_idx", path, { max_bytes = 20 }))
    assert.equal("bad argument #2 to 'read_idx' (option 'max_bytes' must be a positive "
      .. "integer)", error_of("read_idx", path, { max_bytes = 0 }))
  end)
end)

describe("nn.read_fann_data bounded by what it reads", function()
  it("refuses an 18-byte file claiming 268,435,456 rows before allocating", function()
    write(path, "268435456 1 1\n1 1\n")
    assert.equal(path .. ": line 1: 536870912 numbers take 2147483648 bytes once read, more "
      .. "than 1073741824 (option max_bytes)", error_of("read_fann_data", path))
    write(path, "134217728 1 1\n1 1\n")
    assert.equal(path .. ": line 1: the header announces 134217728 pairs of 1 inputs and 1 "
      .. "outputs, but 4 bytes follow it, fewer than 268435456 numbers take",
      error_of("read_fann_data", path))
    if HAS_PROC then
      local kib = peak_growth("read_fann_data", path)
      assert.is_true(kib < 16 * MIB, kib .. " KiB")   -- it used 2 GB
    end
  end)

  it("ends an endless input, the zero device, with a named error", function()
    assert.equal("/dev/zero: line 1, column 1: a token of more than 1048576 bytes (option "
      .. "max_field)", error_of("read_fann_data", "/dev/zero"))
    assert.equal("/dev/zero: more than 2000000 bytes to read (option max_bytes)",
      error_of("read_fann_data", "/dev/zero", { max_bytes = 2000000, max_field = 1099511627776 }))
  end)

  it("stops a gzip holding one huge token at max_field", function()
    -- a 2 MB gzip of one 2 GB token took 9.4 s to refuse; 64 MiB here
    sh(("{ printf '1 1 1\\n'; head -c 67108864 /dev/zero | tr '\\0' 1; } | gzip -1 > %s.gz")
      :format(path))
    assert.equal(path .. ".gz: line 2, column 1: a token of more than 1048576 bytes (option "
      .. "max_field)", error_of("read_fann_data", path .. ".gz"))
    write(path, "1 1 1\n12345 1\n")
    assert.equal(path .. ": line 2, column 1: a token of more than 4 bytes (option max_field)",
      error_of("read_fann_data", path, { max_field = 4 }))
    assert.equal("bad argument #2 to 'read_fann_data' (unknown option 'max_fields' "
      .. "(did you mean 'max_field'?))", error_of("read_fann_data", path, { max_fields = 4 }))
    assert.equal("bad argument #2 to 'read_fann_data' (option 'max_field' must be a positive "
      .. "integer)", error_of("read_fann_data", path, { max_field = 1.5 }))
  end)
end)

describe("nn.read_csv bounded by what it reads", function()
  it("refuses one huge field at max_field, naming the file", function()
    write(path, "a,b\n" .. ("7"):rep(2 ^ 21) .. ",1\n")
    assert.equal(path .. ": line 2, column 1: a field of more than 1048576 bytes (option "
      .. "max_field)", error_of("read_csv", path, { target = "b" }))
    write(path, "a,b\n1,\"12345\"\n")
    assert.equal(path .. ": line 2, column 2: a field of more than 4 bytes (option max_field)",
      error_of("read_csv", path, { target = "b", max_field = 4 }))
  end)

  it("ends an endless input at max_bytes", function()
    assert.equal("/dev/zero: line 1, column 1: a zero byte", error_of("read_csv", "/dev/zero",
      { target = false }))
    sh(("{ printf 'a\\n'; head -c 3000000 /dev/zero | tr '\\0' '\\n'; } | gzip -1 > %s.gz")
      :format(path))
    assert.equal(path .. ".gz: more than 1000000 bytes to read (option max_bytes)",
      error_of("read_csv", path .. ".gz", { target = false, max_bytes = 1000000 }))
    assert.equal("bad argument #2 to 'read_csv' (option 'max_bytes' must be a positive "
      .. "integer)", error_of("read_csv", path, { target = false, max_bytes = "1" }))
  end)
end)
