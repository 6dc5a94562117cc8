--- Forward passes in plain Lua, the references of make bench (spec/bench/
-- run.lua on Lua 5.4, spec/bench/luajit.lua on LuaJIT, which compiles them),
-- and the timer both use.  Every Lua from 5.1 on runs them.

local plain = {}

--- Median time of one call of f, in nanoseconds, over n calls a run; and
-- the spread of the runs: the range of all but the fastest and the slowest
-- over the median (0 with fewer than 3 runs), which make bench's memory
-- keeps with the figure.
function plain.median_ns(f, n, runs)
  local t = {}
  for r = 1, runs do
    local t0 = os.clock()
    for _ = 1, n do f() end
    t[r] = (os.clock() - t0) / n * 1e9
  end
  table.sort(t)
  local median = t[math.floor((runs + 1) / 2)]
  local spread = runs >= 3 and median > 0 and (t[runs - 1] - t[2]) / median or 0
  return median, spread
end

--- The seed's 4-3-2 forward pass in plain Lua, into a reused table.
function plain.forward_4_3_2(W1, b1, W2, b2)
  local exp, h = math.exp, {}
  return function(x, y)
    for j = 1, #W1 do
      local s, w = b1[j], W1[j]
      for i = 1, #x do s = s + w[i] * x[i] end
      h[j] = s > 0 and s or 0
    end
    local max = -math.huge
    for j = 1, #W2 do
      local s, w = b2[j], W2[j]
      for i = 1, #h do s = s + w[i] * h[i] end
      y[j] = s
      if s > max then max = s end
    end
    local sum = 0
    for j = 1, #y do y[j] = exp(y[j] - max); sum = sum + y[j] end
    for j = 1, #y do y[j] = y[j] / sum end
    return y
  end
end

--- The same in plain Lua as a general library would run it: a list of
-- layers, each writing into a table of its own, reused from call to call.
function plain.layers(layers)
  local exp, huge, outs = math.exp, math.huge, {}
  for k = 1, #layers do outs[k] = {} end
  return function(x, y)
    local cur, n = x, #x
    for k = 1, #layers do
      local layer, out = layers[k], outs[k]
      if layer.W then
        local W, b = layer.W, layer.b
        for j = 1, #W do
          local s, w = b[j], W[j]
          for i = 1, n do s = s + w[i] * cur[i] end
          out[j] = s
        end
        n = #W
      elseif layer.relu then
        for i = 1, n do local v = cur[i]; out[i] = v > 0 and v or 0 end
      elseif layer.tanh then
        for i = 1, n do
          local v = cur[i]
          if v > 20 then v = 20 elseif v < -20 then v = -20 end
          local e = exp(2 * v)
          out[i] = (e - 1) / (e + 1)
        end
      else
        local max, sum = -huge, 0
        for i = 1, n do if cur[i] > max then max = cur[i] end end
        for i = 1, n do local e = exp(cur[i] - max); out[i] = e; sum = sum + e end
        for i = 1, n do out[i] = out[i] / sum end
      end
      cur = out
    end
    for i = 1, n do y[i] = cur[i] end
    return y
  end
end

return plain
