--- A plain-Lua forward pass in double precision: the independent reference
-- every numeric spec compares the C engine against.
--
-- A network here is a list of layers: { "Linear", W, b }, { "ReLU" },
-- { "LeakyReLU", a }, { "Sigmoid" }, { "Tanh" }, { "SoftMax" }, { "Identity" }.

local reference = {}

local exp = math.exp

local function map(v, f)
  local out = {}
  for i = 1, #v do out[i] = f(v[i]) end
  return out
end

local apply = {
  Linear = function(x, W, b)
    local y = {}
    for j = 1, #W do
      local s = b[j]
      for i = 1, #x do s = s + W[j][i] * x[i] end
      y[j] = s
    end
    return y
  end,
  ReLU = function(x) return map(x, function(v) return v > 0 and v or 0 end) end,
  LeakyReLU = function(x, a) return map(x, function(v) return v > 0 and v or a * v end) end,
  Sigmoid = function(x) return map(x, function(v) return 1 / (1 + exp(-v)) end) end,
  Tanh = function(x)
    -- beyond |v| = 20, tanh is 1 to within 1e-17, and exp(2v) would overflow
    return map(x, function(v)
      if v > 20 then return 1 elseif v < -20 then return -1 end
      local e = exp(2 * v)
      return (e - 1) / (e + 1)
    end)
  end,
  SoftMax = function(x)
    local max = math.max((table.unpack or unpack)(x))
    local e = map(x, function(v) return exp(v - max) end)
    local sum = 0
    for i = 1, #e do sum = sum + e[i] end
    return map(e, function(v) return v / sum end)
  end,
  Identity = function(x) return map(x, function(v) return v end) end,
}

-- Each kind's function by its name: the specs check that every element-wise
-- kind of the engine's table has one.
reference.apply = apply

--- y = layers(x), in double precision.
function reference.forward(layers, x)
  for _, layer in ipairs(layers) do
    x = apply[layer[1]](x, layer[2], layer[3])
  end
  return x
end

--- The largest absolute difference between two arrays of equal length;
-- infinite when either holds a NaN (which math.max would pass over).
function reference.max_diff(a, b)
  assert(#a == #b, ("lengths differ: %d and %d"):format(#a, #b))
  local d = 0
  for i = 1, #a do
    local diff = a[i] == b[i] and 0 or math.abs(a[i] - b[i])
    if diff ~= diff then return math.huge end
    d = math.max(d, diff)
  end
  return d
end

--- Random numbers from a fixed linear congruential stream, independent of
-- the module's own generator, so specs are deterministic.
function reference.stream(seed)
  local state = seed
  return function(lo, hi)
    state = (state * 1103515245 + 12345) % 2147483648
    return lo + (hi - lo) * state / 2147483648
  end
end

--- A random W (n_out rows of n_in) and b in [-1, 1].
function reference.random_linear(rand, n_in, n_out)
  local W, b = {}, {}
  for j = 1, n_out do
    W[j] = {}
    for i = 1, n_in do W[j][i] = rand(-1, 1) end
    b[j] = rand(-1, 1)
  end
  return W, b
end

return reference
