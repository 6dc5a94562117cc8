-- The kinds of convolutional networks (src/engine/nn_kind_conv.c,
-- src/engine/nn_kind_pool.c): Input, Conv1d, Conv2d, MaxPool1d, MaxPool2d,
-- AvgPool2d, GlobalAvgPool and Flatten, against a plain-Lua computation in
-- double precision of the float numbers (PyTorch's definitions: NCHW rows,
-- zero padding, AvgPool counting the padding); their gradients against
-- central differences of that reference; a small conv net trained; the
-- store's round trip; and every error they raise, before any work.

local nn = require "nn"
local f32 = require("spec.support.compat").f32
local remove_db = require("spec.support.db").remove
local ref = require "spec.support.conv_ref"
local conv_ref, pool_ref = ref.conv, ref.pool

local abs, floor = math.abs, math.floor
local unpack = table.unpack or unpack

-- n numbers of a fixed sequence, each exact in float
local function values(n, seed)
  local t = {}
  for i = 1, n do t[i] = f32(math.sin(i * 1.7 + seed) * 1.5) end
  return t
end



local function within(got, want, tol, what)
  assert(abs(got - want) <= tol, ("%s: %.9g, the reference %.12g (tolerance %.3g)")
    :format(what, got, want, tol))
end

-- a conv layer with the given weights; x one image
local function conv2d(c_in, h, wd, c_out, kh, kw, o, w, b)
  local net = nn.Sequential{ nn.Input{ c_in, h, wd }, nn.Conv2d(c_in, c_out, kh, kw, {
    stride = { o.sh or 1, o.sw or 1 }, padding = { o.ph or 0, o.pw or 0 },
    dilation = { o.dh or 1, o.dw or 1 } }) }
  local W = {}
  for co = 1, c_out do
    W[co] = {}
    for i = 1, c_in * kh * kw do W[co][i] = w[(co - 1) * c_in * kh * kw + i] end
  end
  net:set_weights(2, "weight", W)
  net:set_weights(2, "bias", b)
  return net
end

local cases = {
  { "3x3, stride 1, no padding", 2, 6, 5, 3, 3, 3, {} },
  { "5x5 with padding 2 (LeNet's first)", 1, 8, 8, 4, 5, 5, { ph = 2, pw = 2 } },
  { "stride 2 and padding 1", 3, 7, 6, 2, 3, 3, { sh = 2, sw = 2, ph = 1, pw = 1 } },
  { "dilation 2, a 2x3 kernel, strides 1 and 2", 2, 9, 8, 3, 2, 3,
    { dh = 2, dw = 2, sw = 2, pw = 1 } },
}

describe("nn.Conv2d", function()
  for _, case in ipairs(cases) do
    local name, c_in, h, wd, c_out, kh, kw, o = unpack(case)
    it("gives the reference's output, one image and a batch: " .. name, function()
      local x = values(c_in * h * wd, 1)
      local w, b = values(c_out * c_in * kh * kw, 2), values(c_out, 3)
      local net = conv2d(c_in, h, wd, c_out, kh, kw, o, w, b)
      local want, mag = conv_ref(x, w, b, c_in, h, wd, c_out, kh, kw, o)
      local y = net:forward(x)
      assert.equal(#want, #y)
      local n = c_in * kh * kw + 1
      for i = 1, #y do within(y[i], want[i], (n + 1) * 2 ^ -24 * mag[i], "y[" .. i .. "]") end
      -- 40 rows: the batch's panels (the tile kernel's product over patches),
      -- then a few rows alone; each row within the same bound of the reference
      local rows = {}
      for r = 1, 40 do rows[r] = r == 7 and x or values(#x, r + 10) end
      local Y = net:forward(nn.Matrix(rows))
      for r = 1, 40 do
        local wr, mr = conv_ref(rows[r], w, b, c_in, h, wd, c_out, kh, kw, o)
        for i = 1, #wr do
          within(Y:get(r, i), wr[i], (n + 1) * 2 ^ -24 * mr[i], "Y[" .. r .. "][" .. i .. "]")
        end
      end
    end)

    it("has the gradient central differences of the reference give: " .. name, function()
      local x = values(c_in * h * wd, 4)
      local w, b = values(c_out * c_in * kh * kw, 5), values(c_out, 6)
      local net = conv2d(c_in, h, wd, c_out, kh, kw, o, w, b)
      local want = conv_ref(x, w, b, c_in, h, wd, c_out, kh, kw, o)
      local dy = values(#want, 7)
      local function loss(xx, ww, bb)
        local y = conv_ref(xx, ww, bb, c_in, h, wd, c_out, kh, kw, o)
        local s = 0
        for i = 1, #y do s = s + dy[i] * y[i] end
        return s
      end
      local function diff(args, which, i)
        local t = args[which]
        local v = t[i]
        t[i] = v + 0.5
        local lp = loss(args[1], args[2], args[3])
        t[i] = v - 0.5
        local lm = loss(args[1], args[2], args[3])
        t[i] = v
        return lp - lm     -- exact for a loss linear in each number
      end
      local dx, grads = net:backward(x, dy)
      local args = { { unpack(x) }, { unpack(w) }, { unpack(b) } }
      local tol = 2 ^ -16 * #dy
      for i = 1, #x do within(dx[i], diff(args, 1, i), tol, "dx[" .. i .. "]") end
      for i = 1, #w do within(grads:get(1, i), diff(args, 2, i), tol, "dweight[" .. i .. "]") end
      for i = 1, #b do within(grads:get(1, #w + i), diff(args, 3, i), tol, "dbias[" .. i .. "]") end
    end)
  end

  -- 14 channels: a whole tile of output channels and an edge on every set;
  -- 30 x 3 x 3 = 270 patch rows: more than one block of kc = 256 of them
  local geoms = {
    { 3, 9, 8, 14, 3, 3, { ph = 1, pw = 1, sh = 2 } },
    { 30, 5, 4, 7, 3, 3, { ph = 1, pw = 1 } },
  }
  for gi, geom in ipairs(geoms) do
    it("gives the reference's batch on every kernel set this processor runs: " ..
       ("%dx%dx%d to %d channels"):format(geom[1], geom[2], geom[3], geom[4]), function()
      local before = nn.kernel()
      local c_in, h, wd, c_out, kh, kw, o = unpack(geom)
      local w, b = values(c_out * c_in * kh * kw, 20 + gi), values(c_out, 21 + gi)
      local net = conv2d(c_in, h, wd, c_out, kh, kw, o, w, b)
      local rows = {}
      for r = 1, 70 do rows[r] = values(c_in * h * wd, r + 30) end
      local sets = 0
      for _, set in ipairs { "generic", "avx2", "avx512", "neon" } do
        if pcall(nn.kernel, set) then
          sets = sets + 1
          local Y = net:forward(nn.Matrix(rows))
          for r = 1, #rows do
            local want, mag = conv_ref(rows[r], w, b, c_in, h, wd, c_out, kh, kw, o)
            for i = 1, #want do
              within(Y:get(r, i), want[i], (c_in * kh * kw + 2) * 2 ^ -24 * mag[i], set .. " Y")
            end
          end
        end
      end
      nn.kernel(before)
      assert.is_true(sets >= 1)
    end)
  end

  -- The gradients of a batch in double: dW, db summed over the rows, each
  -- row's dx; and beside each value the sum of its terms' absolute values.
  local function grad_ref(rows, dys, w, c_in, h, wd, c_out, kh, kw, o)
    local sh, sw, ph, pw, dh, dw = o.sh or 1, o.sw or 1, o.ph or 0, o.pw or 0, o.dh or 1, o.dw or 1
    local oh = floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1
    local ow = floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1
    local k = c_in * kh * kw
    local g = { dw = {}, dwm = {}, db = {}, dbm = {}, dx = {}, dxm = {} }
    for i = 1, c_out * k do g.dw[i], g.dwm[i] = 0, 0 end
    for co = 1, c_out do g.db[co], g.dbm[co] = 0, 0 end
    for r, x in ipairs(rows) do
      local dx, dxm, dy = {}, {}, dys[r]
      for i = 1, #x do dx[i], dxm[i] = 0, 0 end
      for co = 0, c_out - 1 do
        for oy = 0, oh - 1 do
          for ox = 0, ow - 1 do
            local d = dy[(co * oh + oy) * ow + ox + 1]
            g.db[co + 1], g.dbm[co + 1] = g.db[co + 1] + d, g.dbm[co + 1] + abs(d)
            for ci = 0, c_in - 1 do
              for ky = 0, kh - 1 do
                for kx = 0, kw - 1 do
                  local iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
                  if iy >= 0 and iy < h and ix >= 0 and ix < wd then
                    local wi = co * k + (ci * kh + ky) * kw + kx + 1
                    local xi = (ci * h + iy) * wd + ix + 1
                    local t, u = d * x[xi], d * w[wi]
                    g.dw[wi], g.dwm[wi] = g.dw[wi] + t, g.dwm[wi] + abs(t)
                    dx[xi], dxm[xi] = dx[xi] + u, dxm[xi] + abs(u)
                  end
                end
              end
            end
          end
        end
      end
      g.dx[r], g.dxm[r] = dx, dxm
    end
    return g, oh * ow
  end

  -- geometries whose scratch and blocks differ: padding, strides, dilation,
  -- a whole tile of output channels and an edge, more patch columns than
  -- one block of nr and more rows than one of kc
  local back_geoms = {
    { 1, 8, 8, 6, 5, 5, { ph = 2, pw = 2 } },
    { 3, 9, 8, 14, 3, 3, { ph = 1, pw = 1, sh = 2 } },
    { 2, 9, 8, 3, 2, 3, { dh = 2, dw = 2, sw = 2, pw = 1 } },
    { 30, 5, 4, 7, 3, 3, { ph = 1, pw = 1 } },
    { 2, 1, 11, 3, 1, 3, { sw = 2, pw = 1, dw = 2 } },   -- a Conv1d's
  }
  for gi, geom in ipairs(back_geoms) do
    local c_in, h, wd, c_out, kh, kw, o = unpack(geom)
    it(("has the reference's gradients of a batch on every kernel set: %dx%dx%d, %d channels, %dx%d")
       :format(c_in, h, wd, c_out, kh, kw), function()
      local before = nn.kernel()
      local w, b = values(c_out * c_in * kh * kw, 40 + gi), values(c_out, 41 + gi)
      local net
      if h == 1 then
        net = nn.Sequential{ nn.Input{ c_in, wd }, nn.Conv1d(c_in, c_out, kw,
          { stride = o.sw or 1, padding = o.pw or 0, dilation = o.dw or 1 }) }
        local W = {}
        for co = 1, c_out do
          W[co] = {}
          for i = 1, c_in * kw do W[co][i] = w[(co - 1) * c_in * kw + i] end
        end
        net:set_weights(2, "weight", W)
        net:set_weights(2, "bias", b)
      else
        net = conv2d(c_in, h, wd, c_out, kh, kw, o, w, b)
      end
      local rows, dys = {}, {}
      local _, _, oh, ow = conv_ref(values(c_in * h * wd, 0), w, b, c_in, h, wd, c_out, kh, kw, o)
      for r = 1, 70 do
        rows[r] = values(c_in * h * wd, r + 50)
        dys[r] = values(c_out * oh * ow, r + 150)
      end
      local want, n_pos = grad_ref(rows, dys, w, c_in, h, wd, c_out, kh, kw, o)
      local tol_w, tol_x = (70 * n_pos + 4) * 2 ^ -24, (c_out * kh * kw + 4) * 2 ^ -24
      local sets = 0
      for _, set in ipairs { "generic", "avx2", "avx512", "neon" } do
        if pcall(nn.kernel, set) then
          sets = sets + 1
          local dX, grads = net:backward(nn.Matrix(rows), nn.Matrix(dys))
          for i = 1, #w do
            within(grads:get(1, i), want.dw[i], tol_w * want.dwm[i], set .. " dweight[" .. i .. "]")
          end
          for i = 1, c_out do
            within(grads:get(1, #w + i), want.db[i], tol_w * want.dbm[i], set .. " dbias[" .. i .. "]")
          end
          for r = 1, #rows do
            for i = 1, #rows[r] do
              within(dX:get(r, i), want.dx[r][i], tol_x * want.dxm[r][i],
                     set .. " dx[" .. r .. "][" .. i .. "]")
            end
          end
        end
      end
      nn.kernel(before)
      assert.is_true(sets >= 1)
    end)
  end

  it("keeps PyTorch's layout and initialisation: weight [out][in * kh * kw] in +-1/sqrt(fan_in)", function()
    nn.seed(3)
    local net = nn.Sequential{ nn.Input{ 3, 10, 10 }, nn.Conv2d(3, 8, 3, 3) }
    local m = net:modules()[2]
    assert.same({ 8, 27 }, m.params[1].shape)
    assert.same({ 8 }, m.params[2].shape)
    assert.equal(8 * 27 + 8, net:n_params())
    local W, bound = net:get_weights(2, "weight"), 1 / math.sqrt(27)
    for j = 1, 8 do for i = 1, 27 do assert(abs(W[j][i]) <= bound) end end
    assert.equal(3 * 10 * 10, m.n_in)
    assert.equal(8 * 8 * 8, m.n_out)
  end)
end)

describe("nn.Conv1d", function()
  it("is PyTorch's over channels x length: the reference's output and gradient", function()
    local c_in, l, c_out, k = 2, 11, 3, 3
    local x, w, b = values(c_in * l, 8), values(c_out * c_in * k, 9), values(c_out, 10)
    local net = nn.Sequential{ nn.Input{ c_in, l }, nn.Conv1d(c_in, c_out, k,
      { stride = 2, padding = 1, dilation = 2 }) }
    local W = {}
    for co = 1, c_out do
      W[co] = {}
      for i = 1, c_in * k do W[co][i] = w[(co - 1) * c_in * k + i] end
    end
    net:set_weights(2, "weight", W)
    net:set_weights(2, "bias", b)
    local o = { sw = 2, pw = 1, dw = 2 }
    local want, mag = conv_ref(x, w, b, c_in, 1, l, c_out, 1, k, o)
    local y = net:forward(x)
    assert.equal(#want, #y)
    for i = 1, #y do within(y[i], want[i], (c_in * k + 2) * 2 ^ -24 * mag[i], "y") end
    local dy = values(#y, 11)
    local dx = net:backward(x, dy)
    for i = 1, #x do
      local xp, xm = { unpack(x) }, { unpack(x) }
      xp[i], xm[i] = x[i] + 0.5, x[i] - 0.5
      local yp, ym = conv_ref(xp, w, b, c_in, 1, l, c_out, 1, k, o),
                     conv_ref(xm, w, b, c_in, 1, l, c_out, 1, k, o)
      local s = 0
      for j = 1, #dy do s = s + dy[j] * (yp[j] - ym[j]) end
      within(dx[i], s, 2 ^ -16 * #dy, "dx")
    end
  end)
end)

describe("pooling", function()
  local x = values(2 * 7 * 6, 12)
  local function check(ctor, k, s, p, avg)
    local net = nn.Sequential{ nn.Input{ 2, 7, 6 }, ctor(k, { stride = s, padding = p }) }
    local want = pool_ref(x, 2, 7, 6, k, s, p, avg)
    local y = net:forward(x)
    assert.equal(#want, #y)
    -- a maximum is exact; an average of k^2 floats within (k^2 + 1) 2^-24 of the sum of |x|
    for i = 1, #y do within(y[i], want[i], avg and (k * k + 1) * 2 ^ -24 * 1.5 or 0, "y") end
    return net, want
  end

  it("MaxPool2d: the largest of each window, with stride and padding", function()
    check(nn.MaxPool2d, 2, 2, 0)
    check(nn.MaxPool2d, 3, 2, 1)
    check(nn.MaxPool2d, 3, 1, 0)
  end)

  it("AvgPool2d: each window's mean, padding counted as zeros (PyTorch's default)", function()
    check(nn.AvgPool2d, 2, 2, 0, true)
    check(nn.AvgPool2d, 3, 2, 1, true)
  end)

  it("MaxPool1d over channels x length", function()
    local net = nn.Sequential{ nn.Input{ 3, 14 }, nn.MaxPool1d(3, { stride = 2, padding = 1 }) }
    local want = {}
    for ch = 0, 2 do
      for o = 0, floor((14 + 2 - 3) / 2) do
        local m = -math.huge
        for t = 0, 2 do
          local i = o * 2 - 1 + t
          if i >= 0 and i < 14 and x[ch * 14 + i + 1] > m then m = x[ch * 14 + i + 1] end
        end
        want[#want + 1] = m
      end
    end
    local y = net:forward({ unpack(x, 1, 42) })
    assert.same(want, y)
  end)

  -- an identity Linear before the pool, so that the net has parameters to take a gradient of
  local function identity(n)
    local m, W = nn.Linear(n, n), {}
    for j = 1, n do
      W[j] = {}
      for i = 1, n do W[j][i] = i == j and 1 or 0 end
    end
    m:set_weights(1, "weight", W)
    local b = {}
    for i = 1, n do b[i] = 0 end
    m:set_weights(1, "bias", b)
    return m
  end

  it("sends the gradient to each window's first largest value (MaxPool), or spreads it (AvgPool)", function()
    local net = nn.Sequential{ identity(8), nn.Input{ 1, 2, 4 }, nn.MaxPool2d(2) }
    local dx = net:backward({ 1, 5, 2, 2, 3, 0, 2, -1 }, { 10, 20 })
    assert.same({ 0, 10, 20, 0, 0, 0, 0, 0 }, dx)     -- ties: the first 2 wins
    net = nn.Sequential{ identity(8), nn.Input{ 1, 2, 4 }, nn.AvgPool2d(2) }
    dx = net:backward({ 1, 5, 2, 2, 3, 0, 2, -1 }, { 4, 8 })
    assert.same({ 1, 1, 2, 2, 1, 1, 2, 2 }, dx)
  end)

  it("sends a batch's gradient to each row's first largest value of a window, ties among them", function()
    -- 2 channels of 6x5, windows 3x3 with stride 2 (overlapping), values from
    -- {-2, -1, 0, 1} so that most windows hold ties; 70 rows: several panels
    local c, h, wd, k, s = 2, 6, 5, 3, 2
    local oh, ow = floor((h - k) / s) + 1, floor((wd - k) / s) + 1
    local net = nn.Sequential{ identity(c * h * wd), nn.Input{ c, h, wd },
                               nn.MaxPool2d(k, { stride = s }) }
    local rows, dys = {}, {}
    for r = 1, 70 do
      rows[r], dys[r] = {}, {}
      for i = 1, c * h * wd do rows[r][i] = (r * 7 + i * i * 3) % 4 - 2 end
      for i = 1, c * oh * ow do dys[r][i] = r + i / 8 end
    end
    local dX = net:backward(nn.Matrix(rows), nn.Matrix(dys))
    for r = 1, 70 do
      local want = {}
      for i = 1, c * h * wd do want[i] = 0 end
      for ch = 0, c - 1 do
        for oy = 0, oh - 1 do
          for ox = 0, ow - 1 do
            local best
            for ky = 0, k - 1 do
              for kx = 0, k - 1 do
                local at = (ch * h + oy * s + ky) * wd + ox * s + kx + 1
                if not best or rows[r][at] > rows[r][best] then best = at end
              end
            end
            want[best] = want[best] + dys[r][(ch * oh + oy) * ow + ox + 1]
          end
        end
      end
      for i = 1, c * h * wd do
        within(dX:get(r, i), want[i], 1e-6 * abs(want[i]), "dx[" .. r .. "][" .. i .. "]")
      end
    end
  end)

  it("GlobalAvgPool: each channel's mean, as a flat row", function()
    local net = nn.Sequential{ identity(84), nn.Input{ 2, 7, 6 }, nn.GlobalAvgPool() }
    local y = net:forward(x)
    assert.equal(2, #y)
    for ch = 0, 1 do
      local s, m = 0, 0
      for i = 1, 42 do s, m = s + x[ch * 42 + i], m + abs(x[ch * 42 + i]) end
      within(y[ch + 1], s / 42, 44 * 2 ^ -24 * m / 42, "mean")
    end
    local dx = net:backward(x, { 42, 84 })
    for i = 1, 42 do assert.equal(1, dx[i]); assert.equal(2, dx[42 + i]) end
  end)

  it("Flatten moves nothing, and a Linear after it takes the flat row", function()
    local net = nn.Sequential{ nn.Input{ 2, 3, 3 }, nn.Flatten(), nn.Linear(18, 2) }
    assert.equal(18, net:n_inputs())
    assert.equal("Flatten", net:modules()[2].kind)
  end)
end)

describe("a small conv net", function()
  local function lenet_like()
    return nn.Sequential{ nn.Input{ 1, 8, 8 }, nn.Conv2d(1, 4, 3, 3, { padding = 1 }), nn.ReLU(),
      nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
      nn.Linear(6, 3), nn.SoftMax() }
  end
  -- three classes of 8x8 images: a bar across, a bar down, a dot in the middle
  local function data()
    local rows, classes = {}, {}
    for n = 1, 60 do
      local c, img = (n - 1) % 3 + 1, {}
      for i = 1, 64 do img[i] = 0.1 * math.sin(i * n) end
      local at = 2 + n % 4
      for t = 1, 8 do
        if c == 1 then img[at * 8 + t] = 1 elseif c == 2 then img[(t - 1) * 8 + at + 1] = 1 end
      end
      if c == 3 then img[28], img[29], img[36], img[37] = 1, 1, 1, 1 end
      rows[n], classes[n] = img, c
    end
    return nn.Matrix(rows), classes
  end

  it("trains with nn.Trainer: the loss falls and it learns the classes", function()
    nn.seed(11)
    local net = lenet_like()
    local X, C = data()
    local tr = nn.Trainer(net, { optimizer = "adam", lr = 0.02, batch = 60 })
    local first = tr:evaluate(X, C)
    for _ = 1, 150 do tr:step(X, C) end
    local last = tr:evaluate(X, C)
    assert(last < first / 4, ("loss %g after 150 steps, %g at first"):format(last, first))
    local right = 0
    for r = 1, 60 do if net:classify(X:row(r)) == C[r] then right = right + 1 end end
    assert(right >= 57, right .. " of 60 right")
  end)

  it("trains to the same bits on 1, 2, 3 and 8 threads", function()
    local X, C = data()
    local function run(threads)
      nn.seed(12)
      local net = lenet_like()
      local tr = nn.Trainer(net, { optimizer = "adam", lr = 0.01, batch = 60, threads = threads })
      for _ = 1, 3 do tr:step(X, C) end
      return { net:get_weights(2, "weight"), net:get_weights(5, "weight"), net:get_weights(9, "weight") }
    end
    local one = run(1)
    for _, threads in ipairs { 2, 3, 8 } do assert.same(one, run(threads)) end
  end)

  it("saves and loads through the store with its shapes: the same outputs", function()
    nn.seed(13)
    local net = lenet_like()
    local path = os.tmpname()
    remove_db(path)
    local db = assert(nn.open(path))
    db:save("lenet", net)
    local back = db:load("lenet")
    db:close()
    remove_db(path)
    assert.equal(tostring(net), tostring(back))
    local x = values(64, 14)
    assert.same(net:forward(x), back:forward(x))
  end)
end)

describe("ONNX", function()
  local function round_trip(net, n_x)
    local path = os.tmpname()
    net:export(path, "onnx")
    local back = nn.import(path)
    os.remove(path)
    for r = 1, 3 do
      local x = values(n_x, r + 40)
      assert.same(net:forward(x), back:forward(x))
    end
    return back
  end

  it("writes every kind over images and reads it back to the same outputs", function()
    nn.seed(16)
    local back = round_trip(nn.Sequential{ nn.Input{ 3, 12, 10 },
      nn.Conv2d(3, 5, 3, 3, { stride = { 2, 1 }, padding = { 1, 2 }, dilation = 2 }), nn.ReLU(),
      nn.AvgPool2d(3, { stride = 2, padding = 1 }), nn.Conv2d(5, 4, 2, 3), nn.Tanh(),
      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 3), nn.SoftMax() }, 360)
    local kinds = {}
    for i, m in ipairs(back:modules()) do kinds[i] = m.kind end
    assert.equal("Input Conv2d ReLU AvgPool2d Conv2d Tanh MaxPool2d Linear SoftMax",
      table.concat(kinds, " "))
    round_trip(nn.Sequential{ nn.Input{ 2, 22 }, nn.Conv1d(2, 4, 3, { stride = 2, padding = 1 }),
      nn.MaxPool1d(3, { stride = 2, padding = 1 }), nn.Linear(24, 2) }, 44)
    round_trip(nn.Sequential{ nn.Input{ 2, 6, 6 }, nn.Conv2d(2, 3, 3, 3), nn.GlobalAvgPool(),
      nn.Linear(3, 2) }, 72)
    round_trip(nn.Sequential{ nn.Input{ 2, 6, 6 }, nn.Conv2d(2, 3, 3, 3) }, 72)
  end)

  it("flattens images at the end when an element-wise layer is last, as the output is rows",
     function()
    -- ONNX's shape inference refuses a [batch, c, h, w] value named as the
    -- declared [batch, n] output: the last node must be a Flatten of it
    local onnx_nodes = require "spec.support.onnx_nodes"
    for _, last in ipairs{ nn.ReLU(), nn.GELU(), nn.Tanh(), nn.Dropout(0.5) } do
      nn.seed(17)
      local net = nn.Sequential{ nn.Input{ 2, 5, 5 }, nn.Conv2d(2, 3, 3, 3), last }
      local path = os.tmpname()
      net:export(path, "onnx")
      local f = assert(io.open(path, "rb"))
      local nodes = onnx_nodes.read(f:read("*a"))
      f:close()
      local flat, before = nodes[#nodes], nodes[#nodes - 1]
      local what = tostring(last)
      assert.equal("Flatten", flat.op, what)
      assert.equal("output", flat.outputs[1], what)
      assert.equal(before.outputs[1], flat.inputs[1], what)
      assert.are_not.equal("Conv", before.op, what)
      local back = nn.import(path)
      os.remove(path)
      local x = values(50, 3)
      assert.same(net:forward(x), back:forward(x), what)
    end
  end)

  it("refuses nn.Input after other modules, and SoftMax's axis is a row's", function()
    local net = nn.Sequential{ nn.Linear(4, 16), nn.Input{ 1, 4, 4 }, nn.Conv2d(1, 2, 3, 3) }
    local ok, err = pcall(net.export, net, os.tmpname(), "onnx")
    assert.is_false(ok)
    assert.matches("module 2: nn.Input has an ONNX form only as the first module", err, 1, true)
    ok, err = pcall(net.export, net, os.tmpname(), "fann")
    assert.is_false(ok)
    assert.matches("nn.Input has no FANN activation function", err, 1, true)
  end)
end)

describe("nn.svg of a convolutional network", function()
  it("draws each convolution and pool as its feature maps, not one circle per value", function()
    nn.seed(15)
    local net = nn.Sequential{ nn.Input{ 1, 28, 28 }, nn.Conv2d(1, 6, 5, 5, { padding = 2 }),
      nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
      nn.Linear(400, 10) }
    local doc = nn.svg(net, { title = "LeNet" })
    assert.is_nil(doc:find("<circle", 1, true))
    for _, caption in ipairs { "1 @ 28x28", "6 @ 28x28", "6 @ 14x14", "16 @ 10x10", "16 @ 5x5",
        "Conv2d, ReLU", "MaxPool2d", "… 16 maps", ">400<", ">10<" } do
      assert.is_truthy(doc:find(caption, 1, true), caption)
    end
    -- 1 + 6 + 6 + 8 + 8 maps drawn (at most 8 of a stage), and one bar per flat stage
    local _, rects = doc:gsub("<rect ", "")
    assert.equal(1 + 1 + 6 + 6 + 8 + 8 + 2, rects)   -- the page's own rect first
    assert(#doc < 20000, #doc .. " bytes")
  end)
end)

describe("the table of kinds", function()
  it("says which kinds have a shape rule, and each is made by its constructor", function()
    local made = { Input = nn.Input{ 1, 4, 4 }, Conv1d = nn.Conv1d(1, 2, 3), Conv2d = nn.Conv2d(1, 2, 3, 3),
      MaxPool1d = nn.MaxPool1d(2), MaxPool2d = nn.MaxPool2d(2), AvgPool2d = nn.AvgPool2d(2),
      GlobalAvgPool = nn.GlobalAvgPool(), Flatten = nn.Flatten(), BatchNorm2d = nn.BatchNorm2d(2) }
    local n = 0
    for _, name in ipairs(nn.kinds) do
      local k = nn.kind(name)
      if k.shaped then
        n = n + 1
        assert.is_not_nil(made[name], name)
        local m = made[name]:modules()[1]
        assert.equal(name, m.kind)
        assert.equal(k.c_name, m.c_name)
        assert.equal(#k.params, #m.params)
      end
    end
    assert.equal(9, n)
    assert.is_false(nn.kind("Linear").shaped)
  end)
end)

describe("errors, before any work, naming the layer", function()
  local function refused(list, words)
    local ok, err = pcall(nn.Sequential, list)
    assert.is_false(ok)
    assert.matches(words, err, 1, true)
  end

  it("a kernel larger than the padded input", function()
    refused({ nn.Input{ 1, 4, 4 }, nn.Conv2d(1, 2, 5, 5) }, "layer 2: nn.Conv2d: its kernel "
      .. "(5x5, dilation 1x1) is larger than its padded input (4x4, padding 0x0)")
    refused({ nn.Input{ 1, 4, 4 }, nn.Conv2d(1, 2, 3, 3, { dilation = 2 }) },
      "its kernel (3x3, dilation 2x2) is larger than its padded input (4x4, padding 0x0)")
    refused({ nn.Input{ 2, 3 }, nn.Conv1d(2, 2, 5) }, "layer 2: nn.Conv1d: its kernel (5, "
      .. "dilation 1) is larger than its padded input (3, padding 0)")
    refused({ nn.Input{ 1, 3, 3 }, nn.MaxPool2d(4) }, "layer 2: nn.MaxPool2d: its window (4) "
      .. "is larger than its padded input (3x3, padding 0)")
    local ok, err = pcall(nn.MaxPool2d, 2, { padding = 2 })   -- refused when made
    assert.is_false(ok)
    assert.matches("nn.MaxPool2d: its padding (2) must be at most half its window (2)", err, 1, true)
  end)

  it("zero or negative strides, sizes and dilations", function()
    local cases = {
      { function() return nn.Conv2d(1, 2, 3, 3, { stride = 0 }) end,
        "bad argument #5 to 'nn.Conv2d' (stride must be a whole number of at least 1, got 0)" },
      { function() return nn.Conv2d(1, 2, 3, 3, { stride = { 1, -2 } }) end,
        "bad argument #5 to 'nn.Conv2d' (stride[2] must be a whole number of at least 1, got -2)" },
      { function() return nn.Conv1d(1, 2, 3, { dilation = 0 }) end,
        "bad argument #4 to 'nn.Conv1d' (dilation must be a whole number of at least 1, got 0)" },
      { function() return nn.Conv2d(0, 2, 3, 3) end,
        "bad argument #1 to 'nn.Conv2d' (in_channels must be a whole number of at least 1, got 0)" },
      { function() return nn.Conv2d(1, 2, 2.5, 3) end,
        "bad argument #3 to 'nn.Conv2d' (kernel height must be a whole number of at least 1, got 2.5)" },
      { function() return nn.MaxPool2d(2, { stride = -1 }) end,
        "bad argument #2 to 'nn.MaxPool2d' (stride must be a whole number of at least 1, got -1)" },
      { function() return nn.AvgPool2d(2, { padding = -1 }) end,
        "bad argument #2 to 'nn.AvgPool2d' (padding must be a whole number of at least 0, got -1)" },
      { function() return nn.MaxPool1d(0) end,
        "bad argument #1 to 'nn.MaxPool1d' (kernel size must be a whole number of at least 1, got 0)" },
      { function() return nn.Conv2d(1, 2, 3, 3, "wide") end,
        "bad argument #5 to 'nn.Conv2d' (options must be a table, got string)" },
      { function() return nn.Input(3) end,
        "bad argument #1 to 'nn.Input' (shape must be a table {c, h, w}, {c, l} or {n}, got number)" },
      { function() return nn.Input{ 1, 0, 4 } end,
        "bad argument #1 to 'nn.Input' (height must be a whole number of at least 1, got 0)" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(c[1])
      assert.is_false(ok)
      assert.equal(c[2], err)
    end
  end)

  it("channel mismatches between layers", function()
    refused({ nn.Input{ 3, 8, 8 }, nn.Conv2d(1, 2, 3, 3) },
      "layer 2: nn.Conv2d: takes 1 channels, but the layer before it gives 3")
    refused({ nn.Input{ 1, 8, 8 }, nn.Conv2d(1, 4, 3, 3), nn.ReLU(), nn.Conv2d(6, 2, 3, 3) },
      "layer 4: nn.Conv2d: takes 6 channels, but the layer before it gives 4")
    refused({ nn.Input{ 1, 8, 8 }, nn.Conv2d(1, 4, 3, 3), nn.Flatten(), nn.Linear(100, 2) },
      "layer 4: nn.Linear(100 -> 2) takes 100 inputs, but the layer before it gives 144")
  end)

  it("a convolution without the shape of its input", function()
    refused({ nn.Linear(4, 16), nn.Conv2d(1, 2, 3, 3) }, "layer 2: nn.Conv2d: takes images "
      .. "(c x h x w), but the layer before gives a flat row of 16: begin the net with "
      .. "nn.Input{c, h, w}")
    refused({ nn.Input{ 1, 8, 8 }, nn.Conv1d(1, 2, 3) }, "layer 2: nn.Conv1d: takes sequences "
      .. "(c x l), but the layer before gives 1x8x8: begin the net with nn.Input{c, l}")
    refused({ nn.Input{ 1, 8, 8 }, nn.Flatten(), nn.MaxPool2d(2) }, "layer 3: nn.MaxPool2d: takes "
      .. "images (c x h x w), but the layer before gives a flat row of 64")
  end)

  it("an image row of the wrong length", function()
    local net = nn.Sequential{ nn.Input{ 1, 4, 4 }, nn.Conv2d(1, 2, 3, 3) }
    local ok, err = pcall(net.forward, net, values(15, 1))
    assert.is_false(ok)
    assert.matches("16", err)
    ok, err = pcall(net.forward, net, nn.Matrix(2, 17))
    assert.is_false(ok)
    assert.matches("16", err)
  end)
end)
