--- The seed's 4-3-2 leaf/flower network and the numbers its text gives.

local seed = {}

-- The weights are the example's (examples/seed_net.lua); the numbers below
-- them are the seed's text, worked by hand, not outputs of the module.
local net = require "examples.seed_net"

seed.input = net.leaf            -- R, G, B, volume in ml: 32, 107, 56, 11.2
seed.flower_input = net.flower   -- an example the network reads as a flower
seed.W1, seed.b1, seed.W2, seed.b2 = net.W1, net.b1, net.W2, net.b2

seed.labels = { "leaf", "flower" }
seed.weather = { "sunny", "rainy" }

-- The seed's own arithmetic, written out by hand.
seed.blue_without_bias = 0.10 * 32 + -0.29 * 107 + -0.07 * 56 + 0.46 * 11.2  -- -26.598
seed.blue_with_bias = seed.blue_without_bias + 0.25                          -- -26.348
seed.hidden_negative = -47.1
seed.output = { 0.8, 0.2 }
seed.softmax = { 0.6457, 0.3543 }  -- to the four digits the seed prints
seed.green_on_R = 0.10 * -0.17 + 0.12 * 0.39 + -0.36 * 0.1
seed.green_on_G = -0.29 * -0.17 + -0.05 * 0.39 + -0.21 * 0.1

--- The seed's parameters in the order nn keeps them: W1 row by row, b1,
-- W2 row by row, b2 (23 numbers).
function seed.params()
  local values = {}
  for _, part in ipairs{ seed.W1, seed.b1, seed.W2, seed.b2 } do
    for _, v in ipairs(part) do
      if type(v) == "table" then
        for _, w in ipairs(v) do values[#values + 1] = w end
      else
        values[#values + 1] = v
      end
    end
  end
  return values
end

--- The seed's network, built with the public API.
function seed.network(nn, labels)
  local built = net.build(nn)
  if labels then built:set_labels(labels) end
  return built
end

--- A store at path (":memory:" when nil) holding the seed's labelled
-- network as model 'leaf_flower', saved `versions` times (once when nil).
function seed.store(nn, path, versions)
  local store = assert(nn.open(path or ":memory:"))
  for _ = 1, versions or 1 do store:save("leaf_flower", seed.network(nn, seed.labels)) end
  return store
end

return seed
