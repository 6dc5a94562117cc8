--- collapse.lua: why a network needs its activations.
--
--   lua5.4 examples/collapse.lua
--
-- Without ReLU, the seed's network is only additions and multiplications
-- all the way through, so its two layers collapse into one: every output is
-- a weighted sum of the inputs.  net:fold() does that algebra for real.

-- From any folder, or with nn installed (see leaf_flower.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath

local nn = require "nn"
local seed_net = require "seed_net"

local linear = nn.Sequential{ nn.Linear(4, 3), nn.Linear(3, 2) }
linear:set_weights(1, seed_net.W1, seed_net.b1)
linear:set_weights(2, seed_net.W2, seed_net.b2)

print("The seed's weights with no activation between the layers:\n")
print(linear)
local folded = linear:fold()
print("\nfold() merges them into one layer:\n")
print(folded)

local W = folded:get_weights(1)
print("\nThe green (leaf) output as a weighted sum of the inputs:")
print(("  on R: 0.10 * -0.17 + 0.12 * 0.39 - 0.36 * 0.1 = %.4f (fold: %.4f)")
  :format(0.10 * -0.17 + 0.12 * 0.39 - 0.36 * 0.1, W[1][1]))
print(("  on G: -0.29 * -0.17 - 0.05 * 0.39 - 0.21 * 0.1 = %.4f (fold: %.4f)")
  :format(-0.29 * -0.17 - 0.05 * 0.39 - 0.21 * 0.1, W[1][2]))

local x = seed_net.leaf
local a, b = linear:forward(x), folded:forward(x)
print(("\nBoth give the same outputs for the leaf: (%.4f, %.4f) and (%.4f, %.4f):")
  :format(a[1], a[2], b[1], b[2]))
print("the hidden layer added nothing.\n")

local relu = seed_net.build(nn)
print("With ReLU between them, fold() has nothing to merge; the hidden layer stays:\n")
print(relu:fold())
