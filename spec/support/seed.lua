--- The seed's 4-3-2 leaf/flower network and the numbers its text gives.
--
-- The hidden layer's weights from R and G, the blue neuron and the green
-- output neuron's weights are the seed's; the rest are chosen so that the
-- seed's other numbers (hidden values -26.6 and -47.1, outputs 0.8 and 0.2)
-- come out of the input (32, 107, 56, 11.2).

local seed = {}

seed.input = { 32, 107, 56, 11.2 }       -- R, G, B, volume in ml
seed.flower_input = { 250, 40, 120, 30 } -- an example the network reads as a flower

seed.W1 = {
  { 0.10, -0.29, -0.07, 0.46 },  -- blue
  { 0.12, -0.05, 0.03, 0.05 },
  { -0.36, -0.21, -0.20, -0.15 },
}
seed.b1 = { 0.25, 0.27, -0.23 }
seed.W2 = {
  { -0.17, 0.39, 0.10 },  -- green: leaf
  { 0.48, 0.15, -0.32 },  -- flower
}
seed.b2 = { 0.41, 0.05 }

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

--- The seed's network, built with the public API.
function seed.network(nn, labels)
  local net = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() }
  net:set_weights(1, seed.W1, seed.b1)
  net:set_weights(3, seed.W2, seed.b2)
  if labels then net:set_labels(labels) end
  return net
end

return seed
