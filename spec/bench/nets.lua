--- The networks and inputs make bench measures, built the same way by every
-- part of it (run.lua, compare_run.lua, luajit.lua): whichever tree's nn is
-- loaded, the same widths, the same seed, the same numbers in.

local nets = {}

--- A network of the given widths: activation between Linear layers, SoftMax
-- at the end; weights from nn's own initialisation with a fixed seed.
function nets.mlp(nn, sizes, activation)
  nn.seed(42)
  local modules = {}
  for k = 1, #sizes - 1 do
    modules[#modules + 1] = nn.Linear(sizes[k], sizes[k + 1])
    modules[#modules + 1] = k < #sizes - 1 and nn[activation]() or nn.SoftMax()
  end
  return nn.Sequential(modules)
end

--- An nn.Matrix of rows x cols, every row the same sample, and that sample.
function nets.inputs(nn, rows, cols)
  local X, t = nn.Matrix(rows, cols), {}
  for c = 1, cols do t[c] = (c % 17) / 17 end
  for r = 1, rows do X:set_row(r, t) end
  return X, t
end

return nets
