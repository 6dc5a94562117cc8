--- The agents' brain, shared by main.lua (in LÖVE) and make_brain.lua (in
-- any Lua): what an agent sees (8 numbers), the rule a teacher steers by,
-- and an 8-32-32-4 network trained on that rule.  No LÖVE here.
--
-- An agent sees the way to its food (a unit vector and a distance), its own
-- velocity, and the way to the predator with how close it is; it chooses
-- one of four thrusts.  The teacher seeks the food, flees the predator more
-- the closer it is, and brakes against its own velocity; the network learns
-- to imitate it, and steers every agent every frame.

local brain = {}

brain.ACTIONS = { "left", "right", "up", "down" }
brain.THRUST = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } }
brain.MAX_SPEED = 160    -- pixels a second
brain.SIGHT = 200        -- the predator is felt within this many pixels
brain.FAR = 400          -- distances are read as a fraction of this

--- Fill x (a reused table of 8 numbers) with what an agent at (ax, ay),
-- moving at (vx, vy), sees of its food at (fx, fy) and the predator at
-- (px, py).
function brain.features(x, ax, ay, vx, vy, fx, fy, px, py)
  local dx, dy = fx - ax, fy - ay
  local d = math.sqrt(dx * dx + dy * dy) + 1e-6
  x[1], x[2], x[3] = dx / d, dy / d, math.min(d / brain.FAR, 1)
  x[4], x[5] = vx / brain.MAX_SPEED, vy / brain.MAX_SPEED
  dx, dy = px - ax, py - ay
  d = math.sqrt(dx * dx + dy * dy) + 1e-6
  x[6], x[7] = dx / d, dy / d
  x[8] = math.max(0, 1 - d / brain.SIGHT)
  return x
end

--- The teacher's choice for features x: the 1-based index of the thrust
-- closest to where it wants to go.
function brain.teacher(x)
  local near = x[8] * 3
  local wx = x[1] * math.min(1, x[3] * 4) - x[6] * near - x[4] * 0.5
  local wy = x[2] * math.min(1, x[3] * 4) - x[7] * near - x[5] * 0.5
  local best, best_dot = 1, -math.huge
  for i, t in ipairs(brain.THRUST) do
    local dot = wx * t[1] + wy * t[2]
    if dot > best_dot then best, best_dot = i, dot end
  end
  return best
end

-- A Park-Miller generator: the same samples on every Lua (math.random is
-- not), every product exact in a double.
local function generator(seed)
  local state = seed
  return function()
    state = (state * 16807) % 2147483647
    return state / 2147483647
  end
end

--- n random situations and the teacher's choices: rows of 8, classes.
function brain.samples(n, seed)
  local rand = generator(seed or 12345)
  local X, T = {}, {}
  for i = 1, n do
    local angle, pangle = rand() * 2 * math.pi, rand() * 2 * math.pi
    local d, pd = rand() * brain.FAR, rand() * brain.SIGHT * 1.5
    local speed, vangle = rand() * brain.MAX_SPEED, rand() * 2 * math.pi
    X[i] = brain.features({}, 0, 0, speed * math.cos(vangle), speed * math.sin(vangle),
      d * math.cos(angle), d * math.sin(angle), pd * math.cos(pangle), pd * math.sin(pangle))
    T[i] = brain.teacher(X[i])
  end
  return X, T
end

--- A new 8-32-32-4 network trained on the teacher's choices, and the share
-- of held-out situations it chooses as the teacher does.
function brain.train(nn)
  nn.seed(1)
  local net = nn.Sequential{ nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
    nn.Linear(32, 4), nn.SoftMax() }
  net:set_labels(brain.ACTIONS)
  local X, T = brain.samples(3000, 12345)
  local Xtest, Ttest = brain.samples(500, 54321)
  local tr = nn.Trainer(net, { optimizer = "adam", lr = 1e-2, batch = 32, seed = 1 })
  tr:fit(X, T, { epochs = 40 })
  local _, accuracy = tr:evaluate(Xtest, Ttest)
  return net, accuracy
end

return brain
