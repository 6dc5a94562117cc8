-- Pictures: the seed's figure drawn from a live network, training runs and
-- confusion matrices, checked as XML, as text, and as rendered pixels.

local nn = require "nn"
local seed = require "spec.support.seed"
local picture = require "spec.support.picture"
local remove_db = require("spec.support.db").remove

local NAMES = { "R", "G", "B", "volume" }

local function seed_figure()
  return nn.svg(seed.network(nn, seed.labels), { inputs = NAMES, x = seed.input })
end

-- The winner's circle and the other output's, from the SVG itself.
local function output_circles(svg)
  local winner, others = nil, {}
  for _, e in ipairs(picture.elements(svg, "circle")) do
    if e.class == "winner" then winner = e elseif e.r == "30" then others[#others + 1] = e end
  end
  return winner, others
end

describe("nn.svg", function()
  it("draws the seed's figure with the seed's numbers in its neurons", function()
    local svg = seed_figure()
    assert.is_nil(picture.xml_error(svg))
    -- the input, as the seed gives it
    for _, s in ipairs{ "R", "G", "B", "volume", "32", "107", "56", "11.2" } do
      assert.is_true(picture.has_text(svg, s), s)
    end
    -- the blue neuron: -26.348 with its bias, 0 after ReLU; the third -47.1
    assert.is_true(picture.has_text(svg, "-26.35"))
    assert.is_true(picture.has_text(svg, "-47.1"))
    assert.is_true(picture.has_text(svg, "→ 0"))
    -- outputs 0.8 and 0.2, softmax 0.6457 and 0.3543 (the seed's four digits)
    assert.is_true(picture.has_text(svg, "0.8"))
    assert.is_true(picture.has_text(svg, "0.2"))
    assert.is_true(picture.has_text(svg, "→ " .. seed.softmax[1]))
    assert.is_true(picture.has_text(svg, "→ " .. seed.softmax[2]))
    -- the winner is the leaf, marked
    assert.is_true(picture.has_text(svg, "leaf  ◀"))
    assert.is_true(picture.has_text(svg, "flower"))
    assert.equal(1, select(2, svg:gsub('class="winner"', "")))
  end)

  it("shows every weight of a small network, coloured by sign, as thick as its size", function()
    local svg = seed_figure()
    local lines = picture.elements(svg, "line")
    local by_weight = {}
    for w, attrs in svg:gmatch("<line([^>]*)><title>([^<]*)</title>") do by_weight[attrs] = w end
    -- the seed's weights from R (0.10, 0.12, -0.36) and G (-0.29, -0.05, -0.21)
    for _, w in ipairs{ "0.1", "0.12", "-0.36", "-0.29", "-0.05", "-0.21", "0.46", "-0.17" } do
      assert.is_true(picture.has_text(svg, w), w)
      assert.is_not_nil(by_weight[w], w)
    end
    local function line_of(w)
      local attrs = by_weight[w]
      return { stroke = attrs:match('stroke="([^"]*)"'),
               width = tonumber(attrs:match('stroke%-width="([^"]*)"')) }
    end
    assert.equal("#2166ac", line_of("0.46").stroke)     -- positive: blue
    assert.equal("#b2182b", line_of("-0.36").stroke)    -- negative: red
    -- 0.46 is the largest weight of the first layer: the thickest line, 4 px;
    -- a line is 0.4 + 3.6 |w| / 0.46 px
    assert.near(4.0, line_of("0.46").width, 0.05)
    assert.near(0.4 + 3.6 * 0.36 / 0.46, line_of("-0.36").width, 0.05)
    assert.near(0.4 + 3.6 * 0.1 / 0.46, line_of("0.1").width, 0.05)
    -- every weight of the 4-3-2 network is a line: 12 + 6
    assert.equal(18, #lines)
    -- and the biases under their neurons
    assert.is_true(picture.has_text(svg, "b 0.25"))
  end)

  it("renders to a picture of its stated size, the winner's circle filled", function()
    local svg = seed_figure()
    local w, h = picture.size(svg)
    local win, others = output_circles(svg)
    local wx, wy = tonumber(win.cx), tonumber(win.cy) - 22
    local ox, oy = tonumber(others[#others].cx), tonumber(others[#others].cy) - 22
    local info = picture.render(svg, { wx .. "," .. wy, ox .. "," .. oy, "3,3" })
    assert.equal(w, info.width)
    assert.equal(h, info.height)
    assert.is_true(info.nonwhite > 0.05 * w * h, "too blank: " .. info.nonwhite)
    assert.same({ 0xfd, 0xb8, 0x63 }, info.at[wx .. "," .. wy])   -- the winner
    assert.same({ 0xf7, 0xf7, 0xf7 }, info.at[ox .. "," .. oy])   -- a plain neuron
    assert.same({ 255, 255, 255 }, info.at["3,3"])
  end)

  local chromium = picture.have("chromium")
  local in_browser = chromium and it or pending
  in_browser("looks the same in a browser (headless Chromium): circles where the SVG says", function()
    local svg = seed_figure()
    local w, h = picture.size(svg)
    local win, others = output_circles(svg)
    local points = {}
    for _, e in ipairs{ win, others[1], others[#others] } do
      points[#points + 1] = e.cx .. "," .. (tonumber(e.cy) - 22)
    end
    points[#points + 1] = "3,3"
    local info = picture.screenshot(svg, w, h, points)
    assert.equal(w, info.width)
    assert.equal(h, info.height)
    assert.same({ 0xfd, 0xb8, 0x63 }, info.at[points[1]])
    assert.same({ 0xf7, 0xf7, 0xf7 }, info.at[points[2]])
    assert.same({ 0xf7, 0xf7, 0xf7 }, info.at[points[3]])
    assert.same({ 255, 255, 255 }, info.at[points[4]])
  end)
  if not chromium then
    print("nn.svg spec: chromium is not installed: the browser rendering is skipped "
      .. "(.ci/run installs it)")
  end

  it("keeps a 784-256-128-10 network small: cut columns, thinned lines", function()
    local big = nn.Sequential{ nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
      nn.Linear(128, 10), nn.SoftMax() }
    local x = {}
    for i = 1, 784 do x[i] = (i % 7) / 7 end
    for _, svg in ipairs{ nn.svg(big), nn.svg(big, { x = x }) } do
      assert.is_nil(picture.xml_error(svg))
      assert.is_true(#svg < require("nn.svg").SIZE_CAP, #svg)
      assert.is_true(picture.has_text(svg, "⋮ 772 more"))
      assert.is_true(picture.has_text(svg, "⋮ 244 more"))
      assert.is_true(picture.has_text(svg, "⋮ 116 more"))
      -- 60 lines between cut columns, 12 x 10 into the outputs: at most 60
      assert.equal(60 + 60 + 60, #picture.elements(svg, "line"))
      assert.is_true(picture.has_text(svg, "x784"))
      assert.is_true(picture.has_text(svg, "y10"))
    end
    local info = picture.render(nn.svg(big))
    assert.is_true(info.nonwhite > 1000)
  end)

  it("draws the strongest lines when it thins them", function()
    local net = nn.Linear(30, 1)
    local W = { {} }
    for i = 1, 30 do W[1][i] = (i == 29) and -5 or 0.001 * i end
    net:set_weights(1, W, { 0 })
    local svg = nn.svg(net, { max_neurons = 4, max_lines = 1 })
    local lines = {}
    for w in svg:gmatch("<line[^>]*><title>([^<]*)</title>") do lines[#lines + 1] = w end
    assert.same({ "-5" }, lines)
  end)

  it("refuses what it cannot draw, saying what is missing", function()
    local net = seed.network(nn)
    assert.has_error(function() nn.svg(nn.ReLU()) end,
      "nn.svg: the network has no Linear layer: there are no neurons to draw")
    assert.has_error(function() nn.svg({}) end, "nn.svg: a network expected, got table")
    assert.has_error(function() nn.svg(net, { colour = "red" }) end,
      "nn.svg: unknown option 'colour'")
    assert.has_error(function() nn.svg(net, { input = { "R", "G", "B", "volume" } }) end,
      "nn.svg: unknown option 'input' (did you mean 'inputs'?)")
    assert.has_error(function() nn.svg_history({ epochs = {} }, { titel = "run" }) end,
      "nn.svg_history: unknown option 'titel' (did you mean 'title'?)")
    assert.has_error(function() nn.svg(net, { inputs = { "R", "G" } }) end,
      "nn.svg: inputs: 2 given for 4 inputs")
    assert.has_error(function() nn.svg(net, { labels = { "leaf" } }) end,
      "nn.svg: labels: 1 given for 2 outputs")
    assert.has_error(function() nn.svg(net, { x = { 1, 2 } }) end,
      "nn.svg: x: expected 4 numbers, got 2")
    assert.has_error(function() nn.svg(net, { max_neurons = 1 }) end,
      "nn.svg: max_neurons must be an integer of at least 2")
  end)
end)

describe("nn.svg_history", function()
  local run = {
    epochs = {
      { epoch = 1, loss = 1.2, val_loss = 1.3, val_accuracy = 0.60, ms = 10 },
      { epoch = 2, loss = 0.8, val_loss = 0.9, val_accuracy = 0.75, ms = 10 },
      { epoch = 3, loss = 0.5, val_loss = 0.7, val_accuracy = 0.81, ms = 10 },
    },
    best_epoch = 3, stopped = "epochs", rows = 100,
  }

  it("draws loss, validation loss and accuracy per epoch, with axes and a legend", function()
    local svg = nn.svg_history(run)
    assert.is_nil(picture.xml_error(svg))
    for _, s in ipairs{ "epoch", "loss", "validation accuracy, %", "validation loss", "best",
                        "1", "2", "3", "100" } do
      assert.is_true(picture.has_text(svg, s), s)
    end
    local curves = {}
    for class, pts in svg:gmatch('<polyline class="([%w_]+)" points="([^"]*)"') do
      local n = 0
      for _ in pts:gmatch("%S+") do n = n + 1 end
      curves[class] = n
    end
    assert.same({ loss = 3, val_loss = 3, val_accuracy = 3 }, curves)
    assert.is_true(picture.render(svg).nonwhite > 1000)
  end)

  it("puts several runs side by side", function()
    local a, b = {}, {}
    for k, v in pairs(run) do a[k], b[k] = v, v end
    a.title, b.title = "v1", "v2"
    local svg = nn.svg_history{ a, b }
    assert.equal(2, select(2, svg:gsub('<g class="panel">', "")))
    assert.is_true(picture.has_text(svg, "v1"))
    assert.is_true(picture.has_text(svg, "v2"))
  end)

  it("says which losses are not finite, and draws the rest", function()
    local svg = nn.svg_history{ epochs = {
      { epoch = 1, loss = 1.0 }, { epoch = 2, loss = 0 / 0 }, { epoch = 3, loss = 0.5 } } }
    assert.is_true(picture.has_text(svg, "epoch 2: loss is not finite"))
    local pts = svg:match('<polyline class="loss" points="([^"]*)"')
    assert.equal(2, select(2, pts:gsub("%S+", "")))
    svg = nn.svg_history{ epochs = { { epoch = 1, loss = 0 / 0 } } }
    assert.is_true(picture.has_text(svg, "no finite loss to draw"))
    assert.is_nil(picture.xml_error(svg))
  end)

  it("refuses what is not a history", function()
    assert.has_error(function() nn.svg_history(42) end,
      "nn.svg_history: history is not a training history (a table with epochs)")
    assert.has_error(function() nn.svg_history{ epochs = { { loss = "low" } } } end,
      "nn.svg_history: history: epochs[1].loss is not a number")
    assert.has_error(function() nn.svg_history{ run, 7 } end,
      "nn.svg_history: history[2] is not a training history (a table with epochs)")
  end)
end)

describe("store:svg_confusion", function()
  local path, store
  before_each(function()
    path = os.tmpname()
    store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn, seed.labels))
    store:add_labels("leaf_flower", "weather", seed.weather)
  end)
  after_each(function()
    store:close()
    remove_db(path)
  end)

  it("counts predictions against their latest feedback, in a labelled grid", function()
    local _, _, leaf = store:classify("leaf_flower", seed.input)        -- says leaf
    local _, _, flower = store:classify("leaf_flower", seed.flower_input)  -- says flower
    local _, _, again = store:classify("leaf_flower", seed.input)
    store:feedback(leaf, "leaf")
    store:feedback(flower, "leaf")       -- wrong, then corrected: the latest wins
    store:feedback(flower, "flower")
    store:feedback(again, "flower")      -- said leaf, was a flower
    local svg = store:svg_confusion("leaf_flower")
    assert.is_nil(picture.xml_error(svg))
    local counts = {}
    for n in svg:gmatch('class="count">(%d+)<') do counts[#counts + 1] = tonumber(n) end
    -- rows are the truth (leaf, flower), columns the answer
    assert.same({ 1, 0, 1, 1 }, counts)
    assert.is_true(picture.has_text(svg, "2 of 3 right (66.7%)"))
    assert.is_true(picture.has_text(svg, "leaf"))
    assert.is_true(picture.has_text(svg, "predicted"))
    assert.is_true(picture.has_text(svg, "true"))
    svg = store:svg_confusion("leaf_flower", 1, "weather")
    assert.is_true(picture.has_text(svg, "sunny"))
    assert.is_true(picture.render(svg).nonwhite > 500)
  end)

  it("says when there is no feedback yet, and refuses what is not there", function()
    local svg = store:svg_confusion("leaf_flower")
    assert.is_true(picture.has_text(svg, "no feedback yet for leaf_flower v1"))
    assert.has_error(function() store:svg_confusion("oak") end,
      "svg_confusion: no model named 'oak'")
    assert.has_error(function() store:svg_confusion("leaf_flower", 2) end,
      "svg_confusion: model 'leaf_flower' has no version 2")
    assert.has_error(function() store:svg_confusion("leaf_flower", 1, "colour") end,
      "svg_confusion: model 'leaf_flower' has no label map 'colour'")
    assert.has_error(function() store:svg_confusion("leaf_flower", 0) end,
      "svg_confusion: version must be a positive integer")
    -- a name that is not a string is refused, as by every store method
    assert.has_error(function() store:svg_confusion(1) end,
      "svg_confusion: name must be a non-empty string")
  end)
end)

describe("store:svg_history", function()
  local path, store
  local X = { { 32, 107, 56, 11.2 }, { 250, 40, 120, 30 }, { 40, 120, 60, 9 }, { 230, 30, 140, 40 } }
  local T = { "leaf", "flower", "leaf", "flower" }
  before_each(function()
    path = os.tmpname()
    store = assert(nn.open(path))
    store:save("leaf_flower", seed.network(nn, seed.labels))            -- v1: typed in
    local net = seed.network(nn, seed.labels)
    local history = nn.Trainer(net, { optimizer = "sgd", lr = 1e-4, batch = 4, seed = 1 })
      :fit(X, T, { epochs = 4, validation = { X, T } })
    store:save("leaf_flower", net, { training = history })              -- v2: trained
  end)
  after_each(function()
    store:close()
    remove_db(path)
  end)

  it("draws the run kept with a version, one point an epoch, from the stored rows", function()
    local svg = store:svg_history("leaf_flower")
    assert.is_nil(picture.xml_error(svg))
    assert.is_true(picture.has_text(svg, "leaf_flower v2: 4 rows, stopped by epochs"))
    local stored = {}
    for row in store:rows("SELECT loss FROM nn_training_epoch ORDER BY epoch") do
      stored[#stored + 1] = row.loss
    end
    assert.equal(4, #stored)
    local ys = {}
    for y in svg:match('<polyline class="loss" points="([^"]*)"'):gmatch(",([%d.]+)") do
      ys[#ys + 1] = tonumber(y)
    end
    assert.equal(4, #ys)
    -- a larger loss is drawn higher up (a smaller y), in the stored order
    for i = 2, 4 do
      if stored[i] < stored[i - 1] then assert.is_true(ys[i] >= ys[i - 1]) end
      if stored[i] > stored[i - 1] then assert.is_true(ys[i] <= ys[i - 1]) end
    end
    assert.is_true(picture.render(svg).nonwhite > 1000)
  end)

  it("says when a version has no run, and draws versions side by side", function()
    local svg = store:svg_history("leaf_flower", 1)
    assert.is_true(picture.has_text(svg, "leaf_flower v1 has no training run"))
    svg = store:svg_history("leaf_flower", { 1, 2 })
    assert.equal(2, select(2, svg:gsub('<g class="panel">', "")))
    assert.equal(2, select(2, store:svg_history("leaf_flower", "all"):gsub('<g class="panel">', "")))
    assert.is_nil(picture.xml_error(svg))
  end)

  it("refuses a model or version that is not there", function()
    assert.has_error(function() store:svg_history("oak") end, "svg_history: no model named 'oak'")
    assert.has_error(function() store:svg_history("leaf_flower", 9) end,
      "svg_history: model 'leaf_flower' has no version 9")
    assert.has_error(function() store:svg_history("leaf_flower", {}) end,
      "svg_history: version: an empty table")
    assert.has_error(function() store:svg_history(1) end,
      "svg_history: name must be a non-empty string")
  end)
end)
