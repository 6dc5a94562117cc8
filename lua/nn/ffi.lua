--- nn.ffi: on LuaJIT, net:forward and net:classify through LuaJIT's FFI.
--
-- A call of a C function through Lua's C API leaves LuaJIT's compiled code,
-- and for a small network that exit, not the arithmetic, is most of the
-- cost.  This file replaces the two methods of nn.Network with Lua functions
-- that check their arguments in Lua (compiled with the caller) and call the
-- same C, nn_forward and nn_forward_batch, through the FFI.  The front
-- module (lua/nn/init.lua) loads it on LuaJIT only; every other Lua keeps
-- the C methods.
--
--   local nnffi = require "nn.ffi"
--   nnffi.install(core)       -- done by require "nn" on LuaJIT
--   nnffi.c.forward(net, x)   -- the C methods, as they were
--
-- What it does not take on, it hands to the C method, by a tail call, so
-- that an error reads exactly as it does there, with the same argument
-- numbers and the same position: anything that is not a plain table (or an
-- nn.Matrix with a reused Y), a wrong length, a value that is not a finite
-- float32, a network of element-wise layers only (whose width is the
-- input's), labels given to classify that are not its outputs' count of
-- non-empty strings, classify of an nn.Matrix, and an output that is not
-- finite where classify wants a label.  The C method
-- then does the whole call again, and raises or answers as it always has.
--
-- How it reaches the C: nn.core._ffi() gives a table of function pointers
-- (src/lua/nn_lua_ffi.c), never a symbol looked up by name: the core is
-- loaded with RTLD_LOCAL, or linked into a host's program.
--
-- The pin: a network's layers and params live in a block userdata that
-- net:add replaces (src/lua/nn_lua.h, nn_lnet).  Each network's entry below
-- holds a reference to the block its pointer points into, so the block
-- lives as long as the pointer; and at every call the entry compares the
-- handle's count of changes, which the C side bumps whenever the network
-- adopts a new block or label table, with the count it saw.  The entries
-- are weak-keyed: a network's entry, its block reference and its scratch go
-- with it.  Weights changed in place (set_weights, set_params, training, a
-- kernel set chosen) are read by the next call, as in C.
--
-- Scratch: each network's entry has its own float buffers, made at its
-- first call (x, y and the pass's work; a batch's work, grown when a larger
-- batch comes), so that a call in steady state allocates nothing.  Nothing
-- in a call allocates after the scratch is written but forward(x) without
-- out and classify's y, which are made before the pass: a finalizer that
-- runs another pass on the same network can only run at an allocation.

local ffi = require "ffi"

local M = {}

local API = ffi.typeof [[const struct {
  uint32_t version, size, matrix_data, reserved;
  void (*forward)(const void *net, float *y, const float *x, size_t n_x, float *work);
  void (*forward_batch)(const void *net, float *Y, const float *X, size_t n_rows,
                        size_t n_x, float *work);
  double (*work_size)(const void *net, size_t n_x);
  double (*batch_work_size)(const void *net, size_t n_rows, size_t n_x);
  int (*argmax)(const float *y, size_t n);
  int (*nonfinite)(const float *y, size_t n);
} *]]
local API_VERSION = 1

-- An nn.Matrix's block (src/lua/nn_lua.h, nn_matrix); a userdata cast to a
-- pointer gives its block.
local MATRIX = ffi.typeof "struct { size_t rows, cols; float data[?]; } *"
local NET = ffi.typeof "const void *"
local COUNT = ffi.typeof "const uint32_t *"
local FLOATS = ffi.typeof "float[?]"
local FLOAT_PTR = ffi.typeof "float *"

local FLT_MAX = 3.4028234663852886e38
local BATCH_ROWS = 128           -- NN_BATCH_ROWS: a batch's work stops growing there

local cast, tonumber, type, getmetatable = ffi.cast, tonumber, type, getmetatable
local ok_tnew, tnew = pcall(require, "table.new")
if not ok_tnew then tnew = function() return {} end end

-- Readers and writers of n numbers, one per width.  Up to UNROLLED numbers
-- they are written out, with no loop: LuaJIT compiles a loop of its own as
-- a trace of its own, and a caller's loop over a few-number loop then keeps
-- leaving compiled code, which costs more than the pass of a small network.
-- Past it, a loop, whose trace the numbers amortise.
local UNROLLED = 64
local readers, writers = {}, {}

-- read(xf, x): x[1..n] into xf[0..n-1]; false at the first value that is
-- not a finite float32 (nor a number), for the C method to name.
local READ_ONE = "v = x[%d]; if type(v) ~= 'number' or not (v >= -%.17g and v <= %.17g) "
  .. "then return false end; xf[%d] = v\n"

local function reader(n)
  if readers[n] then return readers[n] end
  local f
  if n <= UNROLLED then
    local src = { "local type = type\nreturn function(xf, x)\nlocal v\n" }
    for i = 1, n do src[#src + 1] = READ_ONE:format(i, FLT_MAX, FLT_MAX, i - 1) end
    src[#src + 1] = "return true\nend\n"
    f = assert(load(table.concat(src), "=nn.ffi.read" .. n))()
  else
    f = function(xf, x)
      for i = 1, n do
        local v = x[i]
        if type(v) ~= "number" or not (v >= -FLT_MAX and v <= FLT_MAX) then return false end
        xf[i - 1] = v
      end
      return true
    end
  end
  readers[n] = f
  return f
end

-- write(out, y): y[0..n-1] into out[1..n].
local function writer(n)
  if writers[n] then return writers[n] end
  local f
  if n <= UNROLLED then
    local src = { "return function(out, y)\n" }
    for i = 1, n do src[#src + 1] = ("out[%d] = y[%d]\n"):format(i, i - 1) end
    src[#src + 1] = "end\n"
    f = assert(load(table.concat(src), "=nn.ffi.write" .. n))()
  else
    f = function(out, y) for i = 1, n do out[i] = y[i - 1] end end
  end
  writers[n] = f
  return f
end

-- The method tables already given the FFI methods.
local installed = setmetatable({}, { __mode = "k" })

-- checks(labels): whether labels[1..n] are what nn_lua_checklabels takes:
-- non-empty strings without zero bytes (the count is checked before).
local CHECK_ONE = "s = labels[%d]; if type(s) ~= 'string' or s == '' or find(s, '\\0', 1, true) "
  .. "then return false end\n"
local checkers = {}

local function checker(n)
  if checkers[n] then return checkers[n] end
  local f
  if n <= UNROLLED then
    local src = { "local type, find = type, string.find\nreturn function(labels)\nlocal s\n" }
    for i = 1, n do src[#src + 1] = CHECK_ONE:format(i) end
    src[#src + 1] = "return true\nend\n"
    f = assert(load(table.concat(src), "=nn.ffi.labels" .. n))()
  else
    f = function(labels)
      for i = 1, n do
        local s = labels[i]
        if type(s) ~= "string" or s == "" or s:find("\0", 1, true) then return false end
      end
      return true
    end
  end
  checkers[n] = f
  return f
end

--- Install the FFI methods on core's nn.Network.  Returns true when it did,
-- false (and the reason) when this core's table is not the one this file
-- knows, leaving the C methods in place.
function M.install(core)
  local api = cast(API, core._ffi())
  if api.version ~= API_VERSION or api.size ~= ffi.sizeof(ffi.typeof(
      "struct { uint32_t a[4]; void *f[6]; }")) then
    return false, "nn.core's FFI table is not version " .. API_VERSION
  end
  if api.matrix_data ~= ffi.offsetof(ffi.typeof("struct { size_t rows, cols; float data[1]; }"),
                                     "data") then
    return false, "nn.Matrix's layout is not the one nn.ffi knows"
  end
  local methods = core.Network.__index
  if installed[methods] then return true end   -- require "nn" again
  local pin_network = core._ffi_pin
  local NETWORK = core.Network
  local MATRIX_MT = getmetatable(core.Matrix(1, 1))
  local c_forward, c_classify = methods.forward, methods.classify
  local nn_forward, nn_forward_batch = api.forward, api.forward_batch
  local work_size, batch_work_size = api.work_size, api.batch_work_size
  local argmax, nonfinite = api.argmax, api.nonfinite
  M.c = { forward = c_forward, classify = c_classify }

  -- network -> its entry: the block pinned, the pointer into it, its
  -- widths and labels, the changes seen, the scratch
  local entries = setmetatable({}, { __mode = "k" })
  M.entries = entries

  -- The entry of net, made again when the network changed since; nil for
  -- anything but a network, and for a network of element-wise layers only.
  -- Called only off the steady path.
  local function refresh(net)
    if type(net) ~= "userdata" or getmetatable(net) ~= NETWORK then return nil end
    local block, p, n_x, n_y, labels, changes, checked = pin_network(net)
    local e = { block = block, net = cast(NET, p), n_x = n_x, n_y = n_y, labels = labels,
                changes = cast(COUNT, changes), seen = 0, batch = nil, batch_rows = 0 }
    e.seen = e.changes[0]
    -- the C method takes every call of a net of element-wise layers only,
    -- and of one whose first layer checks its input (an Embedding's ids)
    if n_x == 0 or checked then e.n_x = false end
    if e.n_x then
      local n = n_x + n_y + work_size(e.net, n_x)
      e.buf = FLOATS(n)                          -- kept alive by the entry
      e.x = cast(FLOAT_PTR, e.buf)
      e.y = e.x + n_x
      e.work = e.y + n_y
      e.read, e.write, e.check_labels = reader(n_x), writer(n_y), checker(n_y)
    end
    entries[net] = e
    return e
  end

  -- The batch work of e, for rows rows (the largest so far, kept).
  local function batch_work(e, rows)
    if rows > BATCH_ROWS then rows = BATCH_ROWS end
    if rows > e.batch_rows then
      e.batch = FLOATS(batch_work_size(e.net, rows, e.n_x))
      e.batch_rows = rows
    end
    return e.batch
  end

  -- nn.Matrix -> { data = its floats, rows, cols }: a matrix never changes
  -- its shape, and the cast and the reading of its sizes, each a new cdata
  -- where the call is not compiled, are done once (weak keys: the entry
  -- goes with the matrix).
  local matrices = setmetatable({}, { __mode = "k" })

  local function matrix(m)
    local v = matrices[m]
    if v == nil then
      local p = cast(MATRIX, m)
      v = { data = p.data, rows = tonumber(p.rows), cols = tonumber(p.cols) }
      matrices[m] = v
    end
    return v
  end

  -- net:forward(X, Y) for an nn.Matrix X and a reused Y; anything else
  -- (no Y: the C method makes it) goes to the C method.
  local function forward_batch(net, e, X, Y)
    if getmetatable(X) ~= MATRIX_MT or getmetatable(Y) ~= MATRIX_MT or X == Y then
      return c_forward(net, X, Y)
    end
    local xm, ym = matrix(X), matrix(Y)
    local rows = xm.rows
    if xm.cols ~= e.n_x or ym.rows ~= rows or ym.cols ~= e.n_y or rows == 0 then
      return c_forward(net, X, Y)
    end
    nn_forward_batch(e.net, ym.data, xm.data, rows, e.n_x, batch_work(e, rows))
    return Y
  end

  -- net:forward(x [, out]) --> out; net:forward(X, Y) --> Y
  function methods.forward(net, x, out)
    local e = entries[net]
    if e == nil or e.changes[0] ~= e.seen then e = refresh(net) end
    if e == nil or not e.n_x then return c_forward(net, x, out) end
    if type(x) ~= "table" then
      if type(x) == "userdata" then return forward_batch(net, e, x, out) end
      return c_forward(net, x, out)
    end
    if getmetatable(x) ~= nil or #x ~= e.n_x then return c_forward(net, x, out) end
    if out == nil then
      out = tnew(e.n_y, 0)
    elseif type(out) ~= "table" or getmetatable(out) ~= nil then
      return c_forward(net, x, out)
    end
    if not e.read(e.x, x) then return c_forward(net, x, out) end
    nn_forward(e.net, e.y, e.x, e.n_x, e.work)
    e.write(out, e.y)
    return out
  end

  -- net:classify(x [, labels]) --> label, score, y
  function methods.classify(net, x, labels)
    local e = entries[net]
    if e == nil or e.changes[0] ~= e.seen then e = refresh(net) end
    if e == nil or not e.n_x or type(x) ~= "table" or getmetatable(x) ~= nil or #x ~= e.n_x then
      return c_classify(net, x, labels)
    end
    local n, names = e.n_y, labels
    if names == nil then
      names = e.labels
    elseif type(names) ~= "table" or getmetatable(names) ~= nil or #names ~= n
        or not e.check_labels(names) then
      return c_classify(net, x, labels)
    end
    local out = tnew(n, 0)
    if not e.read(e.x, x) then return c_classify(net, x, labels) end
    local y = e.y
    nn_forward(e.net, y, e.x, e.n_x, e.work)
    if nonfinite(y, n) ~= n then return c_classify(net, x, labels) end
    e.write(out, y)
    local best = argmax(y, n) + 1
    local label = names ~= nil and names[best] or best
    return label, out[best], out
  end

  installed[methods] = true
  return true
end

return M
