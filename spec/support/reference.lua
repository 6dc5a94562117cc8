--- A plain-Lua forward pass in double precision: the independent reference
-- every numeric spec compares the C engine against.
--
-- A network here is a list of layers: { "Linear", W, b }, { "ReLU" },
-- { "LeakyReLU", a }, { "Sigmoid" }, { "Tanh" }, { "SoftMax" }, { "Identity" },
-- { "GELU", approximate } (0 or "none": erf; 1 or "tanh"), { "SiLU" },
-- { "Softplus", beta, threshold }, { "ELU", alpha },
-- { "Standardize", mean, std } (tables of one number per feature),
-- { "LayerNorm", weight, bias, eps } (PyTorch's; eps 1e-5 when nil).

local reference = {}

local exp, abs, sqrt = math.exp, math.abs, math.sqrt

--- erfc(z) in double: its Taylor series below 3 (each term smaller than
-- 1e-17 of the sum when it stops), its continued fraction from 3 on.
function reference.erfc(z)
  if z < 0 then return 2 - reference.erfc(-z) end
  if z < 3 then
    local s, term, n = 0, z, 0
    repeat
      local add = term / (2 * n + 1)
      s = s + add
      n = n + 1
      term = -term * z * z / n
    until abs(add) <= 1e-17 * abs(s)
    return 1 - 2 / sqrt(math.pi) * s
  end
  local f = 0
  for k = 60, 1, -1 do f = (k / 2) / (z + f) end
  return exp(-z * z) / sqrt(math.pi) / (z + f)
end

-- tanh(u) in double, from exp (1 or -1 beyond 20, to within 1e-17)
local function tanh(u)
  if u > 20 then return 1 elseif u < -20 then return -1 end
  local e = exp(2 * u)
  return (e - 1) / (e + 1)
end

-- exp(x) - 1 without losing a small x's digits
local function expm1(x)
  if abs(x) < 1e-5 then return x + x * x / 2 + x * x * x / 6 end
  return exp(x) - 1
end

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
  GELU = function(x, approximate)
    if approximate == 1 or approximate == "tanh" then
      local k = sqrt(2 / math.pi)
      return map(x, function(v) return 0.5 * v * (1 + tanh(k * (v + 0.044715 * v ^ 3))) end)
    end
    return map(x, function(v) return 0.5 * v * reference.erfc(-v / sqrt(2)) end)
  end,
  SiLU = function(x) return map(x, function(v) return v / (1 + exp(-v)) end) end,
  Softplus = function(x, beta, threshold)
    beta, threshold = beta or 1, threshold or 20
    return map(x, function(v)
      if beta * v > threshold then return v end
      local e = exp(beta * v)
      -- log(1 + e) keeping a small e's digits: log1p from log
      local u = 1 + e
      return (u == 1 and e or math.log(u) * e / (u - 1)) / beta
    end)
  end,
  ELU = function(x, alpha)
    alpha = alpha or 1
    return map(x, function(v) return v > 0 and v or alpha * expm1(v) end)
  end,
  LayerNorm = function(x, weight, bias, eps)
    local n, mu, var = #x, 0, 0
    for i = 1, n do mu = mu + x[i] end
    mu = mu / n
    for i = 1, n do var = var + (x[i] - mu) ^ 2 end
    local rstd = 1 / sqrt(var / n + (eps or 1e-5))
    local y = {}
    for i = 1, n do y[i] = (x[i] - mu) * rstd * weight[i] + bias[i] end
    return y
  end,
  Standardize = function(x, mean, std)
    local y = {}
    for i = 1, #x do y[i] = (x[i] - mean[i]) / std[i] end
    return y
  end,
  -- outside training: the identity (training's mask is checked apart)
  Dropout = function(x) return map(x, function(v) return v end) end,
  -- outside training: params { weight, bias, running_mean, running_var }
  BatchNorm = function(x, params, eps)
    local w, b, rm, rv = params[1], params[2], params[3], params[4]
    local y = {}
    for i = 1, #x do y[i] = (x[i] - rm[i]) / sqrt(rv[i] + (eps or 1e-5)) * w[i] + b[i] end
    return y
  end,
}

-- Each kind's function by its name: the specs check that every element-wise
-- kind of the engine's table has one.
reference.apply = apply

--- y = layers(x), in double precision.
function reference.forward(layers, x)
  for _, layer in ipairs(layers) do
    x = apply[layer[1]](x, layer[2], layer[3], layer[4])
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
