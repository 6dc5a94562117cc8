--- `make check-onnx`: nn's ONNX exports checked by the tools that define
-- ONNX, onnx.checker (Debian's python3-onnx) and ONNX Runtime (npm's
-- onnxruntime-node), and by nn itself after a re-import.
--
--   lua5.4 spec/interop/check_onnx.lua DIR PYTHON NODE_PATH
--
-- Exports networks of every kind nn has, of several widths, into DIR with
-- the outputs nn computes for a batch of rows; then runs
-- spec/interop/onnx_checker.py and spec/interop/ort_run.js on them.  Exits
-- non-zero when any check fails.

local nn = require "nn"
local ref = require "spec.support.reference"

local dir, python, node_path = arg[1], arg[2], arg[3]
local TOLERANCE = 1e-5

-- a bag's rows: every place used, some, none
local BAG_ROWS = { { 0, 1, 2, 3 }, { 8, -1, 8, -1 }, { -1, -1, -1, -1 }, { 5, -1, -1, -1 },
                   { -1, 2, -1, 7 }, { 4, 4, 4, 4 }, { 3, 0, -1, 1 } }

local cases = {
  seed_like = function() return nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() } end,
  every_kind = function()
    return nn.Sequential{ nn.Linear(6, 8), nn.LeakyReLU(0.05), nn.Linear(8, 8), nn.Sigmoid(),
      nn.Linear(8, 5), nn.Tanh(), nn.Identity(), nn.Linear(5, 4), nn.ReLU(), nn.SoftMax() }
  end,
  linear_only = function() return nn.Linear(7, 3) end,
  wide = function() return nn.Sequential{ nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10), nn.SoftMax() } end,
  two_linear = function() return nn.Sequential{ nn.Linear(5, 5), nn.Linear(5, 2), nn.Sigmoid() } end,
  -- GELU and SiLU as the patterns PyTorch writes, Softplus and Elu as operators
  smooth = function()
    return nn.Sequential{ nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 6), nn.SiLU(),
      nn.Linear(6, 5), nn.Softplus(), nn.Linear(5, 5), nn.ELU(0.7), nn.Linear(5, 3) }
  end,
  -- Standardize as Sub and Div by its tensors, LayerNorm as the nodes
  -- PyTorch 1.13 writes below opset 17
  norm = function()
    local net = nn.Sequential{ nn.Standardize({ 0.5, -1, 2, 0 }, { 2, 0.5, 3, 1 }),
      nn.Linear(4, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 3) }
    net:set_weights(3, "weight", { 1, -0.5, 2, 0.25, 1.5, 0.75 })
    net:set_weights(3, "bias", { 0, 0.1, -1, 0.3, 0.5, -0.2 })
    return net
  end,
  -- BatchNorm as BatchNormalization with its running statistics, Dropout as
  -- an Identity node
  batchnorm = function()
    local net = nn.Sequential{ nn.Linear(4, 5), nn.BatchNorm(5, { eps = 1e-3 }), nn.ReLU(),
      nn.Dropout(0.3), nn.Linear(5, 3) }
    net:set_weights(2, "weight", { 1, -0.5, 2, 0.25, 1.5 })
    net:set_weights(2, "bias", { 0, 0.1, -1, 0.3, 0.5 })
    net:set_weights(2, "running_mean", { 0.2, -0.3, 0.1, 0, 1 })
    net:set_weights(2, "running_var", { 0.5, 2, 1.5, 1, 0.8 })
    return net
  end,
  -- Embedding as Gather of its table by int64 ids, then Flatten; its
  -- inputs ids below 9 (the second result)
  embedding = function()
    return nn.Sequential{ nn.Embedding(9, 3, { ids = 4 }), nn.Linear(12, 5), nn.ReLU(),
      nn.Linear(5, 2) }, 9
  end,
  -- EmbeddingBag as its plain operators (Greater, Where, Gather, Cast,
  -- Unsqueeze, Mul, ReduceSum; the mean's ReduceSum, Max, Div): ids below
  -- 9, -1 in places not used, an empty row (zeros) among them
  bag_mean = function()
    return nn.Sequential{ nn.EmbeddingBag(9, 3, { ids = 4 }), nn.Linear(3, 2) }, 9, BAG_ROWS
  end,
  bag_sum = function() return nn.EmbeddingBag(9, 5, { ids = 4, mode = "sum" }), 9, BAG_ROWS end,
  -- a graph: a residual block (Add of two branches) and a Concat (axis 1)
  graph = function()
    return nn.Sequential{ nn.Linear(4, 6), nn.ReLU(), nn.Residual{ nn.Linear(6, 6), nn.Tanh() },
      nn.Concat{ nn.Linear(6, 2), { nn.Linear(6, 3), nn.Sigmoid() }, nn.Identity() },
      nn.Linear(11, 3), nn.SoftMax() }
  end,
}

local function json_rows(rows)
  local out = {}
  for i, row in ipairs(rows) do
    local t = {}
    for k, v in ipairs(row) do t[k] = ("%.17g"):format(v) end
    out[i] = "[" .. table.concat(t, ",") .. "]"
  end
  return "[" .. table.concat(out, ",") .. "]"
end

local names = {}
for name in pairs(cases) do names[#names + 1] = name end
table.sort(names)
nn.seed(42)
local rand = ref.stream(7)
local failed = false
for _, name in ipairs(names) do
  local net, n_ids, rows = cases[name]()
  local path = dir .. "/" .. name .. ".onnx"
  net:export(path, "onnx")
  local back = nn.import(path)
  local inputs, outputs, worst = {}, {}, 0
  for r = 1, 7 do
    local x = rows and rows[r] or {}
    for i = 1, rows and 0 or net:n_inputs() do
      x[i] = rand(-3, 3)
      if n_ids then x[i] = math.floor((x[i] + 3) / 6 * n_ids) % n_ids end
    end
    inputs[r], outputs[r] = x, net:forward(x)
    worst = math.max(worst, ref.max_diff(outputs[r], back:forward(x)))
  end
  print(("%s nn re-import %.3g"):format(name, worst))
  failed = failed or worst > TOLERANCE
  local f = assert(io.open(dir .. "/" .. name .. ".json", "w"))
  f:write(('{"n_in": %d, "ids": %s, "inputs": %s, "outputs": %s}\n'):format(net:n_inputs(),
    n_ids and "true" or "false", json_rows(inputs), json_rows(outputs)))
  f:close()
end

local files = {}
for i, name in ipairs(names) do files[i] = dir .. "/" .. name .. ".onnx" end
local ok = os.execute(python .. " spec/interop/onnx_checker.py " .. table.concat(files, " "))
failed = failed or not ok
ok = os.execute(("NODE_PATH=%s node spec/interop/ort_run.js %s %s"):format(node_path, dir,
  table.concat(names, " ")))
failed = failed or not ok
print(failed and "check-onnx: FAILED" or "check-onnx: every export passed")
os.exit(failed and 1 or 0)
