--- The seed's leaf/flower network: 4 inputs (R, G, B, volume in ml),
-- 3 hidden neurons with ReLU, 2 outputs with softmax.
--
-- The seed's text keeps some of its weights: the hidden layer's weights
-- from R (0.10, 0.12, -0.36) and from G (-0.29, -0.05, -0.21), the whole
-- "blue" neuron (0.10, -0.29, -0.07, 0.46, bias 0.25) and the green output
-- neuron's weights (-0.17, 0.39, 0.1).  The rest are chosen here so that
-- the seed's other numbers come out: hidden values -26.35 and -47.1, which
-- ReLU turns to 0, and outputs 0.8 (leaf) and 0.2 (flower).

local seed_net = {}

seed_net.leaf = { 32, 107, 56, 11.2 }     -- the seed's example: a leaf
seed_net.flower = { 250, 40, 120, 30 }    -- a large red object: a flower

seed_net.W1 = {
  { 0.10, -0.29, -0.07, 0.46 },   -- the blue neuron
  { 0.12, -0.05, 0.03, 0.05 },
  { -0.36, -0.21, -0.20, -0.15 },
}
seed_net.b1 = { 0.25, 0.27, -0.23 }
seed_net.W2 = {
  { -0.17, 0.39, 0.10 },          -- the green neuron: leaf
  { 0.48, 0.15, -0.32 },          -- flower
}
seed_net.b2 = { 0.41, 0.05 }

--- The network, with the seed's weights.
function seed_net.build(nn)
  local net = nn.Sequential{ nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.SoftMax() }
  net:set_weights(1, seed_net.W1, seed_net.b1)
  net:set_weights(3, seed_net.W2, seed_net.b2)
  return net
end

return seed_net
