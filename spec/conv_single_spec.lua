-- One sample through a convolution and a pool (src/engine/nn_kind_conv.c's
-- conv_single: a matrix product over patches on the tile kernel, nr output
-- positions a tile, at stride 1 over the padded image, conv_padded;
-- nn_kind_pool.c's pool_sample, a row of outputs at a time, and
-- MaxPool2d(2)'s max2x2_row, four outputs at a time, with NaN and -0),
-- against a plain-Lua computation in double precision of the float
-- numbers, on every kernel set this processor runs: output channels below,
-- between and above each set's tile rows (mr: 4 generic, 6 AVX2, 8 NEON, 12
-- AVX-512), more output positions than a tile's lanes and a last tile of a
-- few, strides, padding, dilation, a patch longer than a kernel's inner
-- length (256), Conv1d; through net:forward of a table, of a one-row
-- matrix and net:trace, which all take the one-sample pass.

local nn = require "nn"
local f32 = require("spec.support.compat").f32
local ref = require "spec.support.conv_ref"
local conv_ref, pool_ref = ref.conv, ref.pool

local abs, floor = math.abs, math.floor
local unpack = table.unpack or unpack

local function values(n, seed)
  local t = {}
  for i = 1, n do t[i] = f32(math.sin(i * 1.3 + seed) * 1.5) end
  return t
end



-- The weights as set_weights takes them: [c_out][c_in k].
local function rows_of(w, c_out, k)
  local W = {}
  for co = 1, c_out do
    W[co] = {}
    for i = 1, k do W[co][i] = w[(co - 1) * k + i] end
  end
  return W
end

-- name, c_in, h, wd, c_out, kh, kw, options; h nil: a Conv1d over wd
local cases = {
  { "3 channels (below every set's mr), padding 1", 2, 9, 11, 3, 3, 3, { ph = 1, pw = 1 } },
  { "7 channels, a 3x2 kernel, stride 2, padding 1x0", 3, 8, 7, 7, 3, 2,
    { sh = 2, sw = 2, ph = 1 } },
  { "13 channels, dilation 2, padding 2, strides 1x2", 2, 10, 9, 13, 3, 3,
    { dh = 2, dw = 2, ph = 2, pw = 2, sw = 2 } },
  { "25 channels (above every set's mr), 144 positions, LeNet's 5x5 padding 2", 1, 12, 12,
    25, 5, 5, { ph = 2, pw = 2 } },
  { "a patch of 300 (past the kernels' inner length 256), 5 channels", 12, 7, 7, 5, 5, 5,
    { ph = 1, pw = 1 } },
  { "Conv1d: 14 channels, kernel 4, stride 2, padding 3, dilation 2", 3, nil, 37, 14, 1, 4,
    { sw = 2, pw = 3, dw = 2 } },
  { "9 channels, dilation 2 at stride 1, padding 3x1", 2, 11, 10, 9, 3, 2,
    { dh = 2, dw = 2, ph = 3, pw = 1 } },
  { "Conv1d: 5 channels, kernel 3, padding 1, stride 1", 4, nil, 70, 5, 1, 3, { pw = 1 } },
  { "a padding wider than the image (3x3, padding 4)", 1, 2, 3, 6, 3, 3, { ph = 4, pw = 4 } },
}

local function build(case)
  local _, c_in, h, wd, c_out, kh, kw, o = unpack(case)
  local k = c_in * kh * kw
  local w, b = values(c_out * k, 2), values(c_out, 3)
  local layer
  if h then
    layer = nn.Conv2d(c_in, c_out, kh, kw, { stride = { o.sh or 1, o.sw or 1 },
      padding = { o.ph or 0, o.pw or 0 }, dilation = { o.dh or 1, o.dw or 1 } })
  else
    layer = nn.Conv1d(c_in, c_out, kw, { stride = o.sw or 1, padding = o.pw or 0,
                                          dilation = o.dw or 1 })
  end
  local net = nn.Sequential{ nn.Input(h and { c_in, h, wd } or { c_in, wd }), layer }
  net:set_weights(2, "weight", rows_of(w, c_out, k))
  net:set_weights(2, "bias", b)
  return net, w, b
end

local function check(got, want, mag, n, what)
  assert.equal(#want, #got, what .. ": the number of outputs")
  for i = 1, #want do
    local tol = (n + 1) * 2 ^ -24 * mag[i]
    assert(abs(got[i] - want[i]) <= tol, ("%s [%d]: %.9g, the reference %.12g (tolerance %.3g)")
      :format(what, i, got[i], want[i], tol))
  end
end

-- Calls f(set) with each kernel set this processor runs in use.
local function each_set(f)
  local before, sets = nn.kernel(), 0
  for _, set in ipairs { "generic", "avx2", "avx512", "neon" } do
    if pcall(nn.kernel, set) then
      sets = sets + 1
      local ok, err = pcall(f, set)
      if not ok then nn.kernel(before); error(err, 0) end
    end
  end
  nn.kernel(before)
  assert.is_true(sets >= 1)
end

describe("one sample through a convolution, over patches on the tile kernel", function()
  for _, case in ipairs(cases) do
    local name, c_in, h, wd, c_out, kh, kw, o = unpack(case)
    it("gives the reference's output on every kernel set: " .. name, function()
      local net, w, b = build(case)
      local x = values(c_in * (h or 1) * wd, 1)
      local want, mag = conv_ref(x, w, b, c_in, h or 1, wd, c_out, kh, kw, o)
      local n = c_in * kh * kw
      each_set(function(set)
        check(net:forward(x), want, mag, n, set .. " forward")
        local Y = net:forward(nn.Matrix({ x }))
        local row = {}
        for i = 1, #want do row[i] = Y:get(1, i) end
        check(row, want, mag, n, set .. " a one-row matrix")
        check(net:trace(x)[2].values, want, mag, n, set .. " trace")
      end)
    end)
  end

  it("gives the output of a whole network the same through forward and trace", function()
    local net = nn.Sequential{ nn.Input{ 2, 11, 10 }, nn.Conv2d(2, 9, 3, 3, { padding = 1 }),
      nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(9, 5, 3, 3), nn.Flatten(), nn.Linear(45, 3) }
    local x = values(220, 9)
    local y, tr = net:forward(x), net:trace(x)
    local last = tr[#tr].values
    for i = 1, 3 do assert.equal(y[i], last[i]) end
  end)
end)

describe("one sample through a pool, a row of outputs at a time", function()
  -- name, c, h, wd, k, s, p, kind
  local pools = {
    { "MaxPool2d(2) on an odd size", 3, 9, 7, 2, 2, 0, "max" },
    { "MaxPool2d(3, stride 2, padding 1)", 2, 8, 9, 3, 2, 1, "max" },
    { "AvgPool2d(3, stride 2, padding 1), the padding counted", 2, 8, 9, 3, 2, 1, "avg" },
    { "AvgPool2d(2, stride 1)", 2, 5, 6, 2, 1, 0, "avg" },
    { "MaxPool2d(3, stride 1, padding 1)", 1, 6, 5, 3, 1, 1, "max" },
  }
  for _, pc in ipairs(pools) do
    local name, c, h, wd, k, s, p, kind = unpack(pc)
    it("gives the reference's output, and a batch's bits: " .. name, function()
      local ctor = kind == "max" and nn.MaxPool2d or nn.AvgPool2d
      local net = nn.Sequential{ nn.Input{ c, h, wd }, ctor(k, { stride = s, padding = p }) }
      local x = values(c * h * wd, 5)
      local want = pool_ref(x, c, h, wd, k, s, p, kind == "avg")
      local y = net:forward(x)
      assert.equal(#want, #y)
      for i = 1, #want do
        -- a maximum is one of the values; a mean, a sum of k^2 rounded ones
        local tol = kind == "max" and 0 or (k * k + 1) * 2 ^ -24 * 2
        assert(abs(y[i] - want[i]) <= tol, ("y[%d]: %.9g, the reference %.12g")
          :format(i, y[i], want[i]))
      end
      local rows = {}
      for r = 1, 20 do rows[r] = r == 3 and x or values(#x, r + 40) end
      local Y = net:forward(nn.Matrix(rows))
      for i = 1, #y do assert.equal(y[i], Y:get(3, i)) end
    end)
  end
end)

describe("one sample through MaxPool2d(2), four outputs at a time", function()
  -- Rows of 19 columns: 9 outputs a row, two blocks of four and one more;
  -- ties, -0 beside +0, and NaN (made by 1x1 convolutions).
  local c, h, wd = 3, 6, 19
  local n, oh, ow = h * wd, floor(h / 2), floor(wd / 2)

  -- The image itself: -0 and +0 apart, many ties (-0, +0, or -2, -5, -8).
  -- -0 made at run time: Lua 5.1 keeps one constant for 0.0 and -0.0.
  local signed = nn.Sequential{ nn.Input{ c, h, wd }, nn.MaxPool2d(2) }
  local neg0 = -1 / math.huge
  local function signed_image(seed)
    local x = {}
    for i = 1, c * n do
      local r = (i * 7 + seed) % 11
      x[i] = r % 3 == 0 and neg0 or r % 3 == 1 and 0 or -r
    end
    return x
  end

  -- 1e30 x1 and 1e30 x2, then their sum: inf + -inf (a NaN) where x1 =
  -- 1e10 and x2 = -1e10, else 1e30 x1 (x2 = 0).
  local nan = nn.Sequential{ nn.Input{ 2, h, wd }, nn.Conv2d(2, 2, 1, 1), nn.Conv2d(2, c, 1, 1),
                             nn.MaxPool2d(2) }
  nan:set_weights(2, "weight", { { 1e30, 0 }, { 0, 1e30 } })
  nan:set_weights(2, "bias", { 0, 0 })
  nan:set_weights(3, "weight", { { 1, 1 }, { -1, -1 }, { 1, 1 } })
  nan:set_weights(3, "bias", { 0, 0, 0 })
  local function nan_image(seed)
    local x = {}
    for i = 1, n do
      local r = (i * 5 + seed) % 11
      x[i], x[n + i] = r == 0 and 1e10 or (r % 5 - 2) * 1e-30, r == 0 and -1e10 or 0.0
    end
    return x
  end

  -- The first NaN of each window, else its first largest value, from the
  -- pool's input z.
  local function want_of(z)
    local y = {}
    for ch = 0, c - 1 do
      for oy = 0, oh - 1 do
        for ox = 0, ow - 1 do
          local m
          for _, d in ipairs { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } } do
            local v = z[(ch * h + 2 * oy + d[1]) * wd + 2 * ox + d[2] + 1]
            if m == nil or (m == m and (v ~= v or v > m)) then m = v end
          end
          y[#y + 1] = m
        end
      end
    end
    return y
  end

  -- the same float, a NaN as a NaN, -0 apart from +0
  local function same(a, b)
    if a ~= a or b ~= b then return a ~= a and b ~= b end
    return a == b and 1 / a == 1 / b
  end

  -- net's output of image(3) against want_of its pool's input (the image,
  -- or as net:trace gives it), and against row 3 of a batch; how many
  -- windows give a NaN and how many -0.
  local function check_pool(net, image)
    local x = image(3)
    local tr, y = net:trace(x), net:forward(x)
    local want, nans, negzero = want_of(#tr > 2 and tr[#tr - 1].values or x), 0, 0
    assert.equal(c * oh * ow, #y)
    for i = 1, #want do
      if want[i] ~= want[i] then nans = nans + 1 end
      if want[i] == 0 and 1 / want[i] < 0 then negzero = negzero + 1 end
      assert(same(y[i], want[i]), ("y[%d]: %.9g, the reference %.9g"):format(i, y[i], want[i]))
    end
    local rows = {}
    for r = 1, 20 do rows[r] = r == 3 and x or image(r) end
    local Y = net:forward(nn.Matrix(rows))
    for i = 1, #y do
      assert(same(y[i], Y:get(3, i)), ("y[%d]: %.9g, the batch's %.9g"):format(i, y[i], Y:get(3, i)))
    end
    return nans, negzero
  end

  it("gives each window's first largest value, -0 or +0 as it came, and a batch's bits",
     function()
    local _, negzero = check_pool(signed, signed_image)
    assert(negzero > 0, "some windows' maximum is -0")
  end)

  it("gives a NaN where a window has one, and a batch's bits", function()
    local nans = check_pool(nan, nan_image)
    assert(nans > 0, "some windows have a NaN")
  end)
end)
