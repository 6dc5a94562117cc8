--- Training in plain Lua, double precision: the independent reference the
-- training specs compare the C engine against.  Losses and their gradients
-- written out from their definitions, gradients of whole networks by
-- central finite differences over spec/support/reference.lua's forward
-- pass, and one step of each optimizer from its published update rule.
--
-- A network is a list of layers as in reference.lua; its parameters are
-- also one flat array in nn's order (each Linear's W row by row, then b;
-- each LayerNorm's weight, then bias).

local ref = require "spec.support.reference"

local M = {}

local exp, log, sqrt, max = math.exp, math.log, math.sqrt, math.max

--- Layers -> the flat array of their parameters, in nn's order.
function M.flatten(layers)
  local p = {}
  for _, l in ipairs(layers) do
    if l[1] == "Linear" then
      for _, row in ipairs(l[2]) do for _, v in ipairs(row) do p[#p + 1] = v end end
      for _, v in ipairs(l[3]) do p[#p + 1] = v end
    elseif l[1] == "LayerNorm" then
      for _, t in ipairs{ l[2], l[3] } do for _, v in ipairs(t) do p[#p + 1] = v end end
    end
  end
  return p
end

--- A copy of layers whose parameters are those of the flat array p.
function M.unflatten(layers, p)
  local out, at = {}, 0
  for i, l in ipairs(layers) do
    if l[1] == "Linear" then
      local W, b = {}, {}
      for j = 1, #l[2] do
        W[j] = {}
        for k = 1, #l[2][j] do at = at + 1; W[j][k] = p[at] end
      end
      for j = 1, #l[3] do at = at + 1; b[j] = p[at] end
      out[i] = { "Linear", W, b }
    elseif l[1] == "LayerNorm" then
      local w, b = {}, {}
      for j = 1, #l[2] do at = at + 1; w[j] = p[at] end
      for j = 1, #l[3] do at = at + 1; b[j] = p[at] end
      out[i] = { "LayerNorm", w, b, l[4] }
    else
      out[i] = l
    end
  end
  return out
end

--- Losses of one row: y the outputs (logits for cross-entropy), t a table
-- of targets or, for cross-entropy, a 1-based class.  Sums, not means.
M.loss = {
  mse = function(y, t)
    local s = 0
    for j = 1, #y do s = s + (y[j] - t[j]) ^ 2 end
    return s
  end,
  cross_entropy = function(y, t)
    local m = -math.huge
    for j = 1, #y do m = max(m, y[j]) end
    local se = 0
    for j = 1, #y do se = se + exp(y[j] - m) end
    if type(t) == "number" then return m + log(se) - y[t] end
    local s = 0
    for j = 1, #y do s = s + t[j] * (m + log(se) - y[j]) end
    return s
  end,
  bce = function(y, t)
    local s = 0
    for j = 1, #y do
      s = s - (t[j] * max(log(y[j]), -100) + (1 - t[j]) * max(log(1 - y[j]), -100))
    end
    return s
  end,
}

--- What the sum of a loss over n rows of k outputs is divided by.
function M.count(name, n, k)
  return name == "cross_entropy" and n or n * k
end

--- The mean loss of the network given by layers on rows X with targets T.
function M.mean_loss(name, layers, X, T)
  local s = 0
  for r = 1, #X do s = s + M.loss[name](ref.forward(layers, X[r]), T[r]) end
  return s / M.count(name, #X, #ref.forward(layers, X[1]))
end

--- Central finite differences of f at the array p: df/dp[i] for every i.
function M.fd(f, p, h)
  h = h or 1e-6
  local g = {}
  for i = 1, #p do
    local v = p[i]
    p[i] = v + h
    local a = f(p)
    p[i] = v - h
    local b = f(p)
    p[i] = v
    g[i] = (a - b) / (2 * h)
  end
  return g
end

--- The gradient of the mean loss with respect to the flat parameters.
function M.grad(name, layers, X, T)
  return M.fd(function(p) return M.mean_loss(name, M.unflatten(layers, p), X, T) end,
              M.flatten(layers))
end

--- One optimizer step on the flat parameters p with gradient g; state is
-- a table kept between steps.  The rules as their papers and PyTorch's
-- documentation give them.
M.step = {
  sgd = function(p, g, s, o)
    local mom, wd = o.momentum or 0, o.weight_decay or 0
    s.buf = s.buf or {}
    for i = 1, #p do
      local d = g[i] + wd * p[i]
      if mom > 0 then
        s.buf[i] = s.t and mom * s.buf[i] + d or d
        d = o.nesterov and d + mom * s.buf[i] or s.buf[i]
      end
      p[i] = p[i] - o.lr * d
    end
    s.t = (s.t or 0) + 1
  end,
  -- AdamW: the decay is applied to the weights, not added to the gradient
  adam = function(p, g, s, o)
    local b1, b2, eps, wd = o.beta1 or 0.9, o.beta2 or 0.999, o.eps or 1e-8, o.weight_decay or 0
    s.t = (s.t or 0) + 1
    s.m, s.v = s.m or {}, s.v or {}
    local bc1, bc2 = 1 - b1 ^ s.t, 1 - b2 ^ s.t
    for i = 1, #p do
      s.m[i] = b1 * (s.m[i] or 0) + (1 - b1) * g[i]
      s.v[i] = b2 * (s.v[i] or 0) + (1 - b2) * g[i] ^ 2
      p[i] = p[i] * (1 - o.lr * wd)
      p[i] = p[i] - o.lr / bc1 * s.m[i] / (sqrt(s.v[i]) / sqrt(bc2) + eps)
    end
  end,
  -- iRPROP- (Igel and Huesken 2000) with FANN's defaults: 1.2, 0.5, 0, 50, 0.1
  rprop = function(p, g, s)
    s.prev, s.delta = s.prev or {}, s.delta or {}
    for i = 1, #p do
      local d, gi, prev = s.delta[i] or 0.1, g[i], s.prev[i] or 0
      if gi * prev > 0 then
        d = math.min(d * 1.2, 50)
      elseif gi * prev < 0 then
        d = max(d * 0.5, 0)
        gi = 0
      end
      if gi > 0 then p[i] = p[i] - d elseif gi < 0 then p[i] = p[i] + d end
      s.prev[i], s.delta[i] = gi, d
    end
  end,
}

return M
