-- Graphs (src/engine/nn_engine.c "graphs", src/engine/nn_kind_join.c,
-- lua/nn/init.lua): nn.Residual, nn.Concat and nn.Graph, their forward pass
-- for a sample, a batch and a trace, and their gradients, against a
-- computation in double precision written here from the weights alone
-- (spec/support/reference.lua for each layer); training a residual net on
-- any number of threads; the store's round trip; and the errors.

local nn = require "nn"
local ref = require "spec.support.reference"
local remove_db = require("spec.support.db").remove

local unpack = table.unpack or unpack

-- float32 against double: a few units of 2^-24 on values of order 1,
-- through a handful of layers of at most 8 terms
local TOL = 1e-5
-- a gradient against central differences of the double reference, step
-- 1e-4: the difference's truncation error is below 1e-7 here, the float
-- gradient's rounding a few units of 2^-24
local TOL_GRAD = 1e-4

-- A Linear module with weights from the stream, and its reference layer.
local function linear(rand, n_in, n_out)
  local W, b = ref.random_linear(rand, n_in, n_out)
  local m = nn.Linear(n_in, n_out)
  m:set_weights(1, W, b)
  return m, { "Linear", W, b }
end

local function add(a, b)
  local y = {}
  for i = 1, #a do y[i] = a[i] + b[i] end
  return y
end

local function concat(a, b)
  local y = { unpack(a) }
  for i = 1, #b do y[#y + 1] = b[i] end
  return y
end

-- x as float32, as the module reads it
local function f32(x)
  local m = nn.Matrix{ x }
  return m:row(1)
end

-- A residual MLP, a Concat and a Graph, each with its reference function.
local function cases()
  local rand = ref.stream(7)
  local out = {}
  do   -- Linear(3, 4) -> x + Tanh(Linear(4, 4) x) -> Linear(4, 2)
    local l1, r1 = linear(rand, 3, 4)
    local l2, r2 = linear(rand, 4, 4)
    local l3, r3 = linear(rand, 4, 2)
    out[#out + 1] = { "a residual MLP",
      nn.Sequential{ l1, nn.Residual{ l2, nn.Tanh() }, l3 },
      function(x)
        local h = ref.forward({ r1 }, x)
        return ref.forward({ r3 }, add(h, ref.forward({ r2, { "Tanh" } }, h)))
      end, 3 }
  end
  do   -- Concat{ Linear(3, 2), { Linear(3, 3), ReLU }, Sigmoid } -> Linear(8, 2)
    local a, ra = linear(rand, 3, 2)
    local b, rb = linear(rand, 3, 3)
    local c, rc = linear(rand, 8, 2)
    out[#out + 1] = { "a Concat of three branches",
      nn.Sequential{ nn.Concat{ a, { b, nn.ReLU() }, nn.Sigmoid() }, c, nn.SoftMax() },
      function(x)
        local y = concat(concat(ref.forward({ ra }, x), ref.forward({ rb, { "ReLU" } }, x)),
                         ref.forward({ { "Sigmoid" } }, x))
        return ref.forward({ rc, { "SoftMax" } }, y)
      end, 3 }
  end
  do   -- a Graph: h = L(x), s = h + ReLU(h) + x, y = L(concat(s, x))
    local l1, r1 = linear(rand, 4, 4)
    local l2, r2 = linear(rand, 8, 3)
    out[#out + 1] = { "an nn.Graph of named nodes",
      nn.Graph{ input = { "x", 4 }, output = "y",
        { "h", l1 }, { "a", nn.ReLU() }, { "s", "Add", from = { "h", "a", "x" } },
        { "c", "Concat", from = { "s", "x" } }, { "y", l2, from = "c" } },
      function(x)
        local h = ref.forward({ r1 }, x)
        local s = add(add(h, ref.forward({ { "ReLU" } }, h)), x)
        return ref.forward({ r2 }, concat(s, x))
      end, 4 }
  end
  return out
end

local function sample(rand, n)
  local x = {}
  for i = 1, n do x[i] = rand(-2, 2) end
  return f32(x)
end

describe("a graph network", function()
  for _, case in ipairs(cases()) do
    local name, net, reference, n = unpack(case)

    describe(name, function()
      it("runs a sample as the double-precision reference does", function()
        local rand = ref.stream(11)
        for _ = 1, 20 do
          local x = sample(rand, n)
          assert.is_true(ref.max_diff(reference(x), net:forward(x)) < TOL)
        end
      end)

      it("runs a batch (more rows than a chunk, and a few) as the reference does", function()
        local rand = ref.stream(12)
        for _, rows in ipairs({ 300, 3 }) do
          local X = nn.Matrix(rows, n)
          for r = 1, rows do X:set_row(r, sample(rand, n)) end
          local Y = net:forward(X)
          for r = 1, rows do
            assert.is_true(ref.max_diff(reference(X:row(r)), Y:row(r)) < TOL)
          end
        end
      end)

      it("traces every module, its last value the output", function()
        local x = sample(ref.stream(13), n)
        local t = net:trace(x)
        assert.equal(#net:modules(), #t)
        assert.is_true(ref.max_diff(reference(x), t[#t].values) < TOL)
      end)

      it("gives the gradient of its input as central differences of the reference", function()
        local rand = ref.stream(14)
        local x = sample(rand, n)
        local k = #reference(x)
        local dy = {}
        for j = 1, k do dy[j] = rand(-1, 1) end
        local dx = net:backward(x, dy)
        for i = 1, n do
          local a, b = { unpack(x) }, { unpack(x) }
          a[i], b[i] = a[i] + 1e-4, b[i] - 1e-4
          local ya, yb, d = reference(a), reference(b), 0
          for j = 1, k do d = d + dy[j] * (ya[j] - yb[j]) / 2e-4 end
          assert.is_true(math.abs(d - dx[i]) < TOL_GRAD, ("dx[%d]: %g, not %g"):format(i, dx[i], d))
        end
      end)
    end)
  end

  it("gives the gradient of a weight read through both sides of an Add", function()
    -- y = W x + ReLU(W x): dL/dW = (dy + dy * [Wx > 0]) x^T, by hand
    local W, b = { { 0.5, -1 }, { 2, 0.25 } }, { 0.1, -0.2 }
    local l = nn.Linear(2, 2):set_weights(1, W, b)
    local net = nn.Graph{ input = { "x", 2 }, output = "y",
      { "h", l }, { "r", nn.ReLU() }, { "y", "Add", from = { "h", "r" } } }
    local x, dy = { 1, 2 }, { 1, -1 }
    local _, g = net:backward(x, dy)
    -- h = (0.5 - 2 + 0.1, 2 + 0.5 - 0.2) = (-1.4, 2.3): ReLU passes the second
    local dh = { 1, -2 }
    local want = { dh[1] * 1, dh[1] * 2, dh[2] * 1, dh[2] * 2, dh[1], dh[2] }
    for i = 1, 6 do assert.equal(want[i], g:get(1, i)) end
  end)

  it("trains a residual net, with the same bits on 1 and 2 threads", function()
    local function data(n, seed)
      local rand, X, T = ref.stream(seed), nn.Matrix(n, 4), {}
      for i = 1, n do
        local x = { rand(-1, 1), rand(-1, 1), rand(-1, 1), rand(-1, 1) }
        X:set_row(i, x)
        T[i] = x[1] * x[2] + x[3] > 0 and 1 or 2
      end
      return X, T
    end
    local X, T = data(512, 21)
    local Xt, Tt = data(256, 22)
    local results = {}
    for _, threads in ipairs({ 1, 2 }) do
      nn.seed(5)
      local net = nn.Sequential{ nn.Linear(4, 16), nn.Residual{ nn.Linear(16, 16), nn.ReLU() },
        nn.Concat{ nn.Linear(16, 4), { nn.Linear(16, 4), nn.Tanh() } }, nn.Linear(8, 2),
        nn.SoftMax() }
      local tr = nn.Trainer(net, { lr = 1e-2, batch = 128, seed = 1, threads = threads })
      local before = select(2, tr:evaluate(Xt, Tt))
      tr:fit(X, T, { epochs = 40 })
      local loss, accuracy = tr:evaluate(Xt, Tt)
      assert.is_true(accuracy > 0.9 and accuracy > before, ("accuracy %g, %g before"):format(accuracy, before))
      results[threads] = net:get_params()
    end
    for i = 1, results[1]:cols() do assert.equal(results[1]:get(1, i), results[2]:get(1, i)) end
  end)

  it("runs a batch on 2 threads to the bits of 1", function()
    local net = cases()[1][2]
    local rand = ref.stream(15)
    local X = nn.Matrix(500, 3)
    for r = 1, 500 do X:set_row(r, sample(rand, 3)) end
    local before = nn.threads()
    nn.threads(1)
    local Y1 = net:forward(X)
    nn.threads(2)
    local Y2 = net:forward(X)
    nn.threads(before)
    for r = 1, 500 do assert.same(Y1:row(r), Y2:row(r)) end
  end)

  it("classifies a sample and a batch", function()
    local net = cases()[2][2]
    local x = { 0.3, -0.2, 1 }
    local label, score, y = net:classify(x)
    assert.equal(y[1] > y[2] and 1 or 2, label)
    local labels = net:classify(nn.Matrix{ x, x })
    assert.same({ label, label }, labels)
  end)

  it("nests inside nn.Sequential and lists what each module reads", function()
    local net = nn.Sequential{ nn.Linear(3, 4), nn.Residual{ nn.Linear(4, 4), nn.ReLU() },
      nn.Linear(4, 2) }
    assert.equal(table.concat({
      "nn.Graph {",
      "  [input -> (1) -> (2) -> (3) -> (4) -> (5) -> output]",
      "  (1): nn.Linear(3 -> 4)",
      "  (2): nn.Linear(4 -> 4)",
      "  (3): nn.ReLU",
      "  (4): nn.Add <- (1), (3)",
      "  (5): nn.Linear(4 -> 2)",
      "}" }, "\n"), tostring(net))
    local m = net:modules()
    assert.same({ 0 }, m[1].inputs)
    assert.same({ 1 }, m[2].inputs)
    assert.same({ 1, 3 }, m[4].inputs)
    assert.equal("Add", m[4].kind)
    assert.equal(8, m[4].n_in)
    assert.equal(4, m[4].n_out)
    assert.equal(3, net:n_inputs())
    assert.equal(2, net:n_outputs())
  end)

  describe("folds only inside straight stretches", function()
    -- A BatchNorm with running statistics from the stream, and its reference.
    local function batchnorm(rand, n)
      local p = { {}, {}, {}, {} }
      for i = 1, n do
        p[1][i], p[2][i], p[3][i], p[4][i] = rand(0.5, 2), rand(-1, 1), rand(-1, 1), rand(0.5, 2)
      end
      local m = nn.BatchNorm(n)
      for k, name in ipairs({ "weight", "bias", "running_mean", "running_var" }) do
        m:set_weights(1, name, p[k])
      end
      return m, { "BatchNorm", p }
    end

    local function kinds(net)
      local out = {}
      for i, m in ipairs(net:modules()) do
        out[i] = m.kind .. "(" .. table.concat(m.inputs, ",") .. ")"
      end
      return out
    end

    -- The folded net against the double-precision reference of the unfolded
    -- one's weights, and against the unfolded net: float32 rounding of
    -- values below 10 through a few layers of at most 5 terms, the folded
    -- weights rounded once more.
    local function same_function(net, folded, reference, n, seed)
      local rand = ref.stream(seed)
      for _ = 1, 20 do
        local x = sample(rand, n)
        assert.is_true(ref.max_diff(reference(x), folded:forward(x)) < TOL)
        assert.is_true(ref.max_diff(net:forward(x), folded:forward(x)) < TOL)
      end
    end

    it("a residual MLP: the runs inside the block and after the join, not across", function()
      local rand = ref.stream(31)
      local l1, r1 = linear(rand, 3, 4)
      local l2, r2 = linear(rand, 4, 5)
      local l3, r3 = linear(rand, 5, 4)
      local bn, rbn = batchnorm(rand, 4)
      local l4, r4 = linear(rand, 4, 3)
      local l5, r5 = linear(rand, 3, 2)
      local net = nn.Sequential{ l1, nn.Residual{ l2, l3, bn, nn.Identity() },
                                 l4, nn.Dropout(0.5), l5 }
      local folded = net:fold()
      -- Linear(3, 4) is read by the block and by the Add: a branch point
      assert.same({ "Linear(0)", "Linear(1)", "Add(1,2)", "Linear(3)" }, kinds(folded))
      assert.equal(9, #net:modules())
      assert.equal(4, folded:modules()[2].n_out)
      same_function(net, folded, function(x)
        local h = ref.forward({ r1 }, x)
        return ref.forward({ r4, r5 }, add(h, ref.forward({ r2, r3, rbn }, h)))
      end, 3, 32)
    end)

    it("a Concat: each branch's run, and the run after the join", function()
      local rand = ref.stream(33)
      local a1, ra1 = linear(rand, 3, 4)
      local a2, ra2 = linear(rand, 4, 2)
      local b1, rb1 = linear(rand, 3, 3)
      local c1, rc1 = linear(rand, 5, 3)
      local c2, rc2 = linear(rand, 3, 2)
      local net = nn.Sequential{ nn.Concat{ { a1, a2 }, { b1, nn.ReLU() } }, c1, c2 }
      local folded = net:fold()
      assert.equal(7, #net:modules())
      assert.same({ "Linear(0)", "Linear(0)", "ReLU(2)", "Concat(1,3)", "Linear(4)" },
        kinds(folded))
      same_function(net, folded, function(x)
        local y = concat(ref.forward({ ra1, ra2 }, x), ref.forward({ rb1, { "ReLU" } }, x))
        return ref.forward({ rc1, rc2 }, y)
      end, 3, 34)
    end)

    it("leaves a run that crosses a branch point as it is, to the bit", function()
      local rand = ref.stream(35)
      local h, a, b = linear(rand, 4, 4), linear(rand, 4, 4), linear(rand, 4, 4)
      -- h's output is read by a, the layer right after it, and by b
      local net = nn.Graph{ input = { "x", 4 }, output = "s", { "h", h }, { "a", a },
        { "b", b, from = "h" }, { "s", "Add", from = { "a", "b" } } }
      local folded = net:fold()
      assert.same(kinds(net), kinds(folded))
      assert.same({ "Linear(0)", "Linear(1)", "Linear(1)", "Add(2,3)" }, kinds(folded))
      local rand2 = ref.stream(36)
      for _ = 1, 5 do
        local x = sample(rand2, 4)
        assert.same(net:forward(x), folded:forward(x))
      end
    end)
  end)

  describe("in a store", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() remove_db(path) end)

    it("saves, loads and verifies it, its arch naming only what is not a chain", function()
      local case = cases()[1]
      local net = case[2]
      local store = assert(nn.open(path))
      store:save("res", net)
      store:save("chain", nn.Sequential{ nn.Linear(2, 2), nn.ReLU() })
      local arch = {}
      for row in store:rows("SELECT m.name, v.arch FROM nn_version v JOIN nn_model m USING (model_id)") do
        arch[row.name] = row.arch
      end
      assert.equal('[{"type":"Linear","in":3,"out":4},{"type":"Linear","in":4,"out":4},'
        .. '{"type":"Tanh"},{"type":"Add","from":[1,3]},{"type":"Linear","in":4,"out":2}]', arch.res)
      assert.equal('[{"type":"Linear","in":2,"out":2},{"type":"ReLU"}]', arch.chain)
      store:close()
      store = assert(nn.open(path))
      local back = store:load("res")
      assert.equal(tostring(net), tostring(back))
      local x = { 0.5, -1, 2 }
      assert.same(net:forward(x), back:forward(x))
      -- the SQL functions run it too
      local y = net:forward(x)
      for row in store:rows("SELECT nn_forward('res', 0.5, -1, 2) AS y") do
        local a, b = row.y:match("^%[([^,]+),([^%]]+)%]$")
        assert.is_true(math.abs(tonumber(a) - y[1]) < 1e-6 and math.abs(tonumber(b) - y[2]) < 1e-6)
      end
      store:close()
    end)
  end)

  describe("refuses, naming what is wrong and changing nothing,", function()
    local function err(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return (tostring(e):gsub("^[^:]*:%d+: ", ""))
    end

    it("a Residual whose block changes the width", function()
      assert.equal("bad argument #1 to 'nn.Residual' (the block takes 4 numbers and gives 3: "
        .. "a residual block must keep the width)", err(nn.Residual, { nn.Linear(4, 3) }))
    end)

    it("an Add of mismatched widths", function()
      assert.equal("bad argument #1 to 'nn.Graph' (node 's' (Add): 'a' gives 3 numbers, "
        .. "'b' 2: an Add takes equal widths)", err(nn.Graph, { input = { "x", 4 }, output = "s",
          { "a", nn.Linear(4, 3) }, { "b", nn.Linear(4, 2), from = "x" },
          { "s", "Add", from = { "a", "b" } } }))
    end)

    it("a Concat whose branches take different inputs, and a node given the wrong width", function()
      assert.equal("bad argument #1 to 'nn.Concat' (branch 2 takes 3 inputs, branch 1 4: "
        .. "every branch takes the same input)", err(nn.Concat, { nn.Linear(4, 1), nn.Linear(3, 1) }))
      assert.equal("bad argument #1 to 'nn.Graph' (node 'y' takes 5 inputs, but is given 6)",
        err(nn.Graph, { input = { "x", 4 }, output = "y",
          { "a", nn.Linear(4, 2) }, { "c", "Concat", from = { "a", "x" } }, { "y", nn.Linear(5, 1) } }))
    end)

    it("a cycle", function()
      assert.equal("bad argument #1 to 'nn.Graph' (node 'b' is in a cycle: it reads itself "
        .. "through 'a')", err(nn.Graph, { input = { "x", 2 }, output = "b",
          { "a", nn.ReLU(), from = "b" }, { "b", nn.Linear(2, 2), from = "a" } }))
    end)

    it("a dangling input", function()
      assert.equal("bad argument #1 to 'nn.Graph' (node 'y' reads 'q', which no node defines)",
        err(nn.Graph, { input = { "x", 2 }, output = "y", { "y", nn.Linear(2, 2), from = "q" } }))
    end)

    it("a graph with no output, or an output that is no node", function()
      assert.equal("bad argument #1 to 'nn.Graph' (no output: output must be the name of a node)",
        err(nn.Graph, { input = { "x", 2 }, { "y", nn.Linear(2, 2) } }))
      assert.equal("bad argument #1 to 'nn.Graph' (output 'z' is no node)",
        err(nn.Graph, { input = { "x", 2 }, output = "z", { "y", nn.Linear(2, 2) } }))
    end)

    it("a node name used twice, a join of one node, an unknown join", function()
      assert.equal("bad argument #1 to 'nn.Graph' (node 2: the name 'y' is taken)",
        err(nn.Graph, { input = { "x", 2 }, output = "y", { "y", nn.Linear(2, 2) },
          { "y", nn.ReLU() } }))
      assert.equal("bad argument #1 to 'nn.Graph' (node 2: 's' (Add) reads at least 2 nodes)",
        err(nn.Graph, { input = { "x", 2 }, output = "s", { "y", nn.Linear(2, 2) },
          { "s", "Add" } }))
      assert.equal("bad argument #1 to 'nn.Graph' (node 1: 's': unknown join 'Mul' "
        .. "(\"Add\" or \"Concat\"))", err(nn.Graph, { input = { "x", 2 }, output = "s",
          { "s", "Mul", from = { "x", "x" } } }))
    end)

    it("export to FANN", function()
      local net = cases()[1][2]
      local path = os.tmpname()
      assert.matches("a FANN file holds a chain of layers, not a graph", err(net.export, net, path, "fann"))
      os.remove(path)
    end)

    it("a stored arch whose layer reads what it cannot, when the version is loaded", function()
      local db = require "spec.support.db"
      local store = assert(nn.open(":memory:"))
      store:save("res", cases()[1][2])
      local function with_add(add)
        db.exec(store, "DROP TRIGGER IF EXISTS nn_version_no_update")
        db.exec(store, "UPDATE nn_version SET arch = ?", '[{"type":"Linear","in":3,"out":4},'
          .. '{"type":"Linear","in":4,"out":4},{"type":"Tanh"},' .. add
          .. ',{"type":"Linear","in":4,"out":2}]')
        local ok, e = pcall(store.load, store, "res")
        assert.is_false(ok)
        return tostring(e)
      end
      local bad = "model 'res' version 1: layer 4 (Add) has no valid 'from': a list of one or "
        .. "two module numbers below 4"
      assert.matches(bad, with_add('{"type":"Add","from":[1,4]}'), 1, true)
      assert.matches(bad, with_add('{"type":"Add","from":[1,-1]}'), 1, true)
      assert.matches(bad, with_add('{"type":"Add","from":[1,"3"]}'), 1, true)
      assert.matches(bad, with_add('{"type":"Add","from":[1,2,3]}'), 1, true)
      assert.matches(bad, with_add('{"type":"Add","from":3}'), 1, true)
      assert.matches("model 'res' version 1: layer 4: nn.Add takes two inputs",
        with_add('{"type":"Add","from":[3]}'), 1, true)
      assert.matches("model 'res' version 1: layer 4: nn.Add takes two inputs",
        with_add('{"type":"Add"}'), 1, true)
      store:close()
    end)
  end)
end)

describe("a graph network's picture (nn.svg, net:svg)", function()
  -- the boxes of an SVG: { text, x, y } in document order
  local function boxes(doc)
    local t = {}
    for class, x, y, text in doc:gmatch('<rect class="(%a+)" x="([%d.]+)" y="([%d.]+)"'
        .. '[^>]*/>\n<text[^>]*>([^<]*)</text>') do
      text = text:gsub("&gt;", ">")
      t[#t + 1] = { class = class, text = text, x = tonumber(x), y = tonumber(y) }
    end
    return t
  end

  it("draws a box per module, the input first, and a skip arc for a Residual", function()
    local net = nn.Sequential{ nn.Linear(3, 4), nn.Residual{ nn.Linear(4, 4), nn.ReLU() },
      nn.Linear(4, 2) }
    local doc = net:svg{ title = "residual" }
    assert.equal(doc, nn.svg(net, { title = "residual" }))
    local b = boxes(doc)
    local texts = {}
    for i, x in ipairs(b) do texts[i] = x.text end
    assert.same({ "input (3)", "Linear(3 -> 4)", "Linear(4 -> 4)", "ReLU", "+ (4)",
      "Linear(4 -> 2)" }, texts)
    assert.equal("join", b[5].class)
    -- one line: straight down the main line, every box below the one before
    for i = 2, #b do
      assert.equal(b[1].x, b[i].x)
      assert.is_true(b[i].y > b[i - 1].y)
    end
    local _, skips = doc:gsub('class="skip"', "")
    local _, edges = doc:gsub('class="edge"', "")
    assert.equal(1, skips)       -- Linear(3 -> 4) to the Add, past the block
    assert.equal(5, edges)
    assert.matches("output %(2%)", doc)
  end)

  it("draws a Concat's branches side by side, at one depth", function()
    local net = nn.Sequential{ nn.Linear(3, 4),
      nn.Concat{ { nn.Linear(4, 2), nn.Tanh() }, { nn.Linear(4, 3), nn.ReLU() } } }
    local b = boxes(nn.svg(net))
    local by = {}
    for _, x in ipairs(b) do by[x.text] = x end
    assert.equal(by["Linear(4 -> 2)"].y, by["Linear(4 -> 3)"].y)
    assert.is_true(by["Linear(4 -> 3)"].x > by["Linear(4 -> 2)"].x)
    assert.equal(by["Tanh"].y, by["ReLU"].y)
    assert.is_true(by["concat (5)"].y > by["ReLU"].y)
  end)
end)
