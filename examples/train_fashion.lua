--- train_fashion.lua: a classifier of clothes trained from scratch, in C,
-- on Fashion-MNIST (70,000 28x28 grey images of ten kinds of clothing).
--
--   lua5.4 examples/train_fashion.lua [DIR]        (make train-demo runs this)
--   lua5.4 examples/train_fashion.lua DIR conv     (make train-demo-conv)
--
-- DIR holds the four IDX files of the Debian package dataset-fashion-mnist
-- (/usr/share/datasets/fashion-mnist).  Five epochs of Adam on a
-- 784-256-128-10 ReLU network, or with "conv" on a LeNet-5 that reads each
-- row of 784 pixels as one 1x28x28 image, reach 87% test accuracy or more;
-- the script exits non-zero when they do not.

-- From any folder, or with nn installed (see leaf_flower.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath

local nn = require "nn"

local dir = arg[1] or "/usr/share/datasets/fashion-mnist"
local conv = arg[2] == "conv"
local LABELS = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }

local function path(name)
  for _, p in ipairs{ dir .. "/" .. name .. ".gz", dir .. "/" .. name } do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  error("no " .. name .. " in " .. dir .. " (apt-get install dataset-fashion-mnist)", 0)
end

-- Pixels scaled to [0, 1]; labels as 1-based class indices.
local X = nn.read_idx(path("train-images-idx3-ubyte"), { scale = 1 / 255 })
local T = nn.read_idx(path("train-labels-idx1-ubyte"), { classes = true })
local Xtest = nn.read_idx(path("t10k-images-idx3-ubyte"), { scale = 1 / 255 })
local Ttest = nn.read_idx(path("t10k-labels-idx1-ubyte"), { classes = true })
print(("%d training images, %d test images"):format(X:rows(), Xtest:rows()))

nn.seed(1)
local net = conv and nn.Sequential{
  nn.Input{ 1, 28, 28 },
  nn.Conv2d(1, 6, 5, 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(2),
  nn.Conv2d(6, 16, 5, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
  nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
  nn.Linear(84, 10), nn.SoftMax(),
} or nn.Sequential{
  nn.Linear(784, 256), nn.ReLU(),
  nn.Linear(256, 128), nn.ReLU(),
  nn.Linear(128, 10), nn.SoftMax(),
}
net:set_labels(LABELS)

-- The SoftMax at the end makes cross-entropy the default loss, computed
-- from the logits before it.
local trainer = nn.Trainer(net, { optimizer = "adam", lr = 1e-3, batch = 64, seed = 1 })
local history = trainer:fit(X, T, { epochs = 5, validation = { Xtest, Ttest }, progress = true })

local last = history.epochs[#history.epochs]
print(("test accuracy after %d epochs: %.2f%%"):format(#history.epochs, 100 * last.val_accuracy))
local label, score = net:classify(Xtest:row(1))
print(("the first test image: %s (%.2f), labelled %s"):format(label, score, LABELS[Ttest[1]]))
if last.val_accuracy < 0.87 then
  io.stderr:write("below 87%: something is wrong\n")
  os.exit(1)
end
