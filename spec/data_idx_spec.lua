-- nn.read_idx (src/formats/nn_data.c under src/lua/nn_lua_data.c): IDX files, the MNIST
-- family's format, plain and gzip-compressed.  Every file here is written
-- by the spec itself with string.pack (big-endian, as the format says), and
-- every value read is compared with what string.unpack gives for the same
-- bytes, times the scale in double precision, rounded once to float32.

local nn = require "nn"
local compat = require "spec.support.compat"
local files = require "spec.support.files"
local proc = require "spec.support.proc"

local f32 = compat.f32

local TYPES = {   -- type byte, string.pack format of one element
  ubyte = { 0x08, "B" }, sbyte = { 0x09, "b" }, short = { 0x0B, "i2" },
  int = { 0x0C, "i4" }, float = { 0x0D, "f" }, double = { 0x0E, "d" },
}

--- The bytes of an IDX file of elements values (a flat list) of type name.
local function idx_bytes(name, dims, values)
  local t = TYPES[name]
  local parts = { compat.pack(">BBBB", 0, 0, t[1], #dims) }
  for _, d in ipairs(dims) do parts[#parts + 1] = compat.pack(">I4", d) end
  for _, v in ipairs(values) do parts[#parts + 1] = compat.pack(">" .. t[2], v) end
  return table.concat(parts)
end

local write = files.write

local sh = proc.run

--- path .. ".gz", made by the gzip program from path.
local function gzip(path)
  sh("gzip -n -c " .. path .. " > " .. path .. ".gz")
  return path .. ".gz"
end

--- The error of nn.read_idx(...), called by name as a user calls it.
local function read_error(...)
  local args = compat.pack_args(...)
  local ok, err = pcall(function() nn.read_idx(compat.unpack(args, 1, args.n)) end)
  assert.is_false(ok)
  return (err:gsub("^.-:%d+: ", "", 1))   -- without the caller's position
end

describe("nn.read_idx", function()
  local path, made
  before_each(function()
    path = os.tmpname()
    made = { path }
  end)
  after_each(function()
    for _, p in ipairs(made) do os.remove(p) end
  end)
  local function file(name, dims, values)
    write(path, idx_bytes(name, dims, values))
    return path
  end

  -- 2 images of 2 x 3 bytes, the first row of each the extremes
  local IMAGES = { 0, 255, 128, 1, 2, 3, 254, 7, 9, 100, 200, 50 }

  it("reads unsigned bytes as rows of the first dimension, scaled in double precision", function()
    local X, dims = nn.read_idx(file("ubyte", { 2, 2, 3 }, IMAGES), { scale = 1 / 255 })
    assert.same({ 2, 2, 3 }, dims)
    assert.equal(2, X:rows())
    assert.equal(6, X:cols())
    for i = 1, 2 do
      for j = 1, 6 do
        assert.equal(f32(IMAGES[(i - 1) * 6 + j] * (1 / 255)), X:get(i, j))
      end
    end
    assert.equal(1, X:get(1, 2))   -- 255 / 255
  end)

  it("reads the raw values when no scale is given", function()
    local X = nn.read_idx(file("ubyte", { 2, 2, 3 }, IMAGES))
    assert.same({ { 0, 255, 128, 1, 2, 3 }, { 254, 7, 9, 100, 200, 50 } }, X:to_table())
  end)

  for name, values in pairs{
    sbyte = { -128, -1, 0, 127 },
    short = { -32768, -2, 300, 32767 },
    int = { -2147483648, -70000, 16777216, 2147483647 },
    float = { -1.5, 3.25e-3, 1e30, f32(0.1) },
    double = { -2.5, 0.1, 1e-40, 3.4028234663852886e38 },
  } do
    it(("reads %s elements, big-endian, as float32"):format(name), function()
      local X = nn.read_idx(file(name, { 4 }, values), { scale = 0.5 })
      assert.equal(4, X:rows())
      assert.equal(1, X:cols())
      for i, v in ipairs(values) do
        assert.equal(f32(v * 0.5), X:get(i, 1))
      end
    end)
  end

  it("reads a gzip file as the file it holds", function()
    local plain = file("short", { 3, 2 }, { 1, -2, 3, -4, 5, 600 })
    local gz = gzip(plain)
    made[#made + 1] = gz
    local A, dims_a = nn.read_idx(plain)
    local B, dims_b = nn.read_idx(gz)
    assert.same(A:to_table(), B:to_table())
    assert.same({ { 1, -2 }, { 3, -4 }, { 5, 600 } }, B:to_table())
    assert.same(dims_a, dims_b)
  end)

  it("reads a file of no rows", function()
    local X, dims = nn.read_idx(file("ubyte", { 0, 28, 28 }, {}))
    assert.equal(0, X:rows())
    assert.equal(784, X:cols())
    assert.same({ 0, 28, 28 }, dims)
  end)

  it("gives class indices, element + 1, with classes = true", function()
    local T, dims = nn.read_idx(file("ubyte", { 5 }, { 9, 0, 3, 255, 1 }), { classes = true })
    assert.same({ 10, 1, 4, 256, 2 }, T)
    assert.same({ 5 }, dims)
  end)

  local FASHION = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
  local has_fashion = io.open(FASHION, "rb")
  if has_fashion then has_fashion:close() end
  ;(has_fashion and it or pending)("reads Fashion-MNIST's test labels (the first five published: 9 2 1 1 6)", function()
    local T, dims = nn.read_idx(FASHION, { classes = true })
    assert.same({ 10000 }, dims)
    assert.same({ 10, 3, 2, 2, 7 }, { T[1], T[2], T[3], T[4], T[5] })
  end)

  describe("refuses, naming the byte", function()
    local function raw(bytes)
      write(path, bytes)
      return path
    end

    it("a file it cannot open", function()
      os.remove(path)
      assert.equal(path .. ": cannot open (No such file or directory)", read_error(path))
    end)

    it("a file that is not IDX", function()
      assert.equal(path .. ": bytes 0-1 are 0x2320, not 0: not an IDX file",
                   read_error(raw("# not IDX\n")))
    end)

    it("an element type it does not know", function()
      assert.equal(path .. ": byte 2: unknown element type 0x07",
                   read_error(raw("\0\0\7\1\0\0\0\1\0")))
    end)

    it("no dimensions, or more than 8", function()
      assert.equal(path .. ": byte 3: 0 dimensions (1 to 8 are read)",
                   read_error(raw("\0\0\8\0")))
      assert.equal(path .. ": byte 3: 9 dimensions (1 to 8 are read)",
                   read_error(raw("\0\0\8\9")))
    end)

    it("a header cut short", function()
      assert.equal(path .. ": the file ends at byte 2, inside its header",
                   read_error(raw("\0\0")))
      assert.equal(path .. ": the file ends at byte 10, inside its header",
                   read_error(raw("\0\0\8\2\0\0\0\2\0\0")))
    end)

    it("a dimension of 0 after the first", function()
      assert.equal(path .. ": byte 8: dimension 2 is 0",
                   read_error(raw(idx_bytes("ubyte", { 2, 0 }, {}))))
    end)

    it("dimensions that hold more than nn.Matrix takes, before reading them", function()
      -- the second dimension (bytes 8-11) makes 2^32 elements
      assert.equal(path .. ": byte 8: the dimensions hold more than 268435456 elements",
                   read_error(raw(idx_bytes("ubyte", { 65536, 65536, 65536 }, {}))))
    end)

    it("data cut short, or longer than the header says", function()
      -- a header of 8 bytes, two elements of 2, one byte of the third: 13 bytes
      assert.equal(path .. ": the file ends at byte 13, inside element 3 of the 4 its "
                   .. "header announces", read_error(raw(idx_bytes("short", { 4 }, { 1, 2 })
                   .. "\0")))
      assert.equal(path .. ": byte 10: more bytes than the 2 elements its header announces",
                   read_error(raw(idx_bytes("ubyte", { 2 }, { 1, 2, 3 }))))
    end)

    it("NaN, infinities and values beyond float32", function()
      assert.equal(path .. ": byte 16: element 3 is NaN",
                   read_error(raw(idx_bytes("float", { 3 }, { 1, 2, 0 / 0 }))))
      assert.equal(path .. ": byte 16: element 2 is infinite",
                   read_error(raw(idx_bytes("double", { 2 }, { 1, -1 / 0 }))))
      assert.equal(path .. ": byte 8: element 1 is out of range for float32",
                   read_error(raw(idx_bytes("double", { 1 }, { 1e300 }))))
      -- the scale counts: 255 * 2e36 is beyond float32
      assert.equal(path .. ": byte 9: element 2 is out of range for float32",
                   read_error(raw(idx_bytes("ubyte", { 2 }, { 1, 255 })), { scale = 2e36 }))
    end)

    it("a gzip file cut short or corrupt", function()
      local plain = file("ubyte", { 2, 2, 3 }, IMAGES)
      local gz = gzip(plain)
      made[#made + 1] = gz
      local f = assert(io.open(gz, "rb"))
      local bytes = f:read("*a")
      f:close()
      -- without its trailer (CRC-32 and length, 8 bytes): all 28 bytes come out first
      write(gz, bytes:sub(1, #bytes - 8))
      assert.equal(gz .. ": the gzip stream is cut short after byte 28", read_error(gz))
      -- a CRC-32 that does not match: zlib refuses the whole read it checked
      local crc = #bytes - 7
      write(gz, bytes:sub(1, crc - 1) .. string.char(compat.bxor(bytes:byte(crc), 1)) .. bytes:sub(crc + 1))
      assert.equal(gz .. ": the gzip stream is corrupt after byte 0", read_error(gz))
    end)

    it("classes that are not integers, several to a row, or negative", function()
      assert.equal(path .. ": classes must be integers; the file holds float32",
                   read_error(file("float", { 1 }, { 1 }), { classes = true }))
      assert.equal(path .. ": classes take one number per row; the file has 3",
                   read_error(file("ubyte", { 2, 3 }, { 1, 2, 3, 4, 5, 6 }), { classes = true }))
      assert.equal(path .. ": element 2 is -3, not a class (0 or more)",
                   read_error(file("sbyte", { 2 }, { 1, -3 }), { classes = true }))
      assert.equal(path .. ": element 3 is above 16777215, too large for a class",
                   read_error(file("int", { 3 }, { 0, 16777215, 16777217 }), { classes = true }))
    end)

    it("bad options, naming them", function()
      local p = file("ubyte", { 1 }, { 1 })
      assert.equal("bad argument #2 to 'read_idx' (unknown option 'scal' (did you mean 'scale'?))",
                   read_error(p, { scal = 1 }))
      assert.equal("bad argument #2 to 'read_idx' (option 'scale' must be a finite number)",
                   read_error(p, { scale = 1 / 0 }))
      assert.equal("bad argument #2 to 'read_idx' (option 'scale' must be a finite number)",
                   read_error(p, { scale = "0.5" }))
      assert.equal("bad argument #2 to 'read_idx' (option 'classes' must be a boolean)",
                   read_error(p, { classes = 1 }))
      assert.equal("bad argument #2 to 'read_idx' (options 'classes' and 'scale' exclude "
                   .. "each other)", read_error(p, { classes = true, scale = 2 }))
      assert.equal("bad argument #1 to 'read_idx' (string expected, got no value)",
                   read_error())
    end)
  end)
end)
