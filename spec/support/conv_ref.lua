--- A convolution and a pool computed in plain Lua, in double precision of
-- the float numbers they are given, as PyTorch defines them (NCHW rows, zero
-- padding, AvgPool counting the padding): the reference of the conv specs.
--
--   local ref = require "spec.support.conv_ref"
--   local y, mag, oh, ow = ref.conv(x, w, b, c_in, h, wd, c_out, kh, kw, { sh =, ph =, dh = })
--   local y = ref.pool(x, c, h, wd, k, stride, padding, avg)

local abs, floor = math.abs, math.floor

local ref = {}

--- y of a convolution of x [c_in][h][wd] (w [c_out][c_in][kh][kw], b [c_out];
-- o: strides sh sw, paddings ph pw, dilations dh dw), for each output the sum
-- of the absolute values of its terms (a float sum of n terms is within
-- (n + 1) 2^-24 of that, whatever its order), and the output's height and width.
function ref.conv(x, w, b, c_in, h, wd, c_out, kh, kw, o)
  local sh, sw, ph, pw, dh, dw = o.sh or 1, o.sw or 1, o.ph or 0, o.pw or 0, o.dh or 1, o.dw or 1
  local oh = floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1
  local ow = floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1
  local y, mag = {}, {}
  for co = 0, c_out - 1 do
    for oy = 0, oh - 1 do
      for ox = 0, ow - 1 do
        local s, m = b[co + 1], abs(b[co + 1])
        for ci = 0, c_in - 1 do
          for ky = 0, kh - 1 do
            for kx = 0, kw - 1 do
              local iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
              if iy >= 0 and iy < h and ix >= 0 and ix < wd then
                local t = w[((co * c_in + ci) * kh + ky) * kw + kx + 1] *
                          x[(ci * h + iy) * wd + ix + 1]
                s, m = s + t, m + abs(t)
              end
            end
          end
        end
        y[#y + 1], mag[#mag + 1] = s, m
      end
    end
  end
  return y, mag, oh, ow
end

--- y of a max (or, avg true, average) pool of x [c][h][wd], a k x k window.
function ref.pool(x, c, h, wd, k, s, p, avg)
  local oh, ow = floor((h + 2 * p - k) / s) + 1, floor((wd + 2 * p - k) / s) + 1
  local y = {}
  for ch = 0, c - 1 do
    for oy = 0, oh - 1 do
      for ox = 0, ow - 1 do
        local acc = avg and 0 or -math.huge
        for ky = 0, k - 1 do
          for kx = 0, k - 1 do
            local iy, ix = oy * s - p + ky, ox * s - p + kx
            if iy >= 0 and iy < h and ix >= 0 and ix < wd then
              local v = x[(ch * h + iy) * wd + ix + 1]
              if avg then acc = acc + v elseif v > acc then acc = v end
            end
          end
        end
        y[#y + 1] = avg and acc / (k * k) or acc
      end
    end
  end
  return y
end

return ref
