-- The kinds whose input is ids (src/engine/nn_kind_embed.c): Embedding(n_ids,
-- dim, {ids = k}), k ids a row, the k embeddings side by side; and
-- EmbeddingBag(n_ids, dim, {ids = k, mode = "mean" | "sum"}), up to k ids a
-- row (-1: none), the mean or sum of their embeddings.  Against a plain-Lua
-- computation in double precision of the float numbers: forward, batch, the
-- weight's gradient; training (the same bits on any number of threads), the
-- store's round trip and digest, ONNX both ways (and PyTorch's exports,
-- spec/fixtures/onnx/make_embed.py: Embedding's Gather, a bag's Loop), and every path that takes input refusing
-- an id outside the table, naming it, its row and place and the layer, with
-- nothing changed.

local nn = require "nn"
local ulp = require("spec.support.check").ulp
local message = require("spec.support.check").message
local digest = require "spec.support.digest"
local remove_db = require("spec.support.db").remove

local abs = math.abs
local unpack = table.unpack or unpack

-- A stream of numbers for data: the same on every Lua.
local function stream(seed)
  local s = seed
  return function(lo, hi)
    s = (s * 1103515245 + 12345) % 2147483648
    return lo + s % (hi - lo + 1)
  end
end

-- Rows of k ids below n_ids; for a bag, each row's tail -1 from a random place.
local function id_rows(rand, rows, k, n_ids, bag)
  local X = {}
  for r = 1, rows do
    X[r] = {}
    local used = bag and rand(0, k) or k
    for j = 1, k do X[r][j] = j <= used and rand(0, n_ids - 1) or -1 end
  end
  return X
end

-- The reference in double: the embeddings of a row side by side, or their
-- mean (sum) with the count of ids present.
local function ref_embedding(W, x)
  local y = {}
  for j = 1, #x do
    for t = 1, #W[1] do y[#y + 1] = W[x[j] + 1][t] end
  end
  return y
end

local function ref_bag(W, x, mode)
  local y, count, dim = {}, 0, #W[1]
  for t = 1, dim do y[t] = 0 end
  for j = 1, #x do
    if x[j] >= 0 then
      count = count + 1
      for t = 1, dim do y[t] = y[t] + W[x[j] + 1][t] end
    end
  end
  if mode == "mean" and count > 0 then
    for t = 1, dim do y[t] = y[t] / count end
  end
  return y, count
end

-- sum |W| of the embeddings in a bag (the float sum's error scales with it)
local function abs_sum(W, x, t)
  local s = 0
  for j = 1, #x do if x[j] >= 0 then s = s + abs(W[x[j] + 1][t]) end end
  return s
end

describe("nn.Embedding", function()
  it("gives a row's embeddings side by side, as the table holds them (by hand)", function()
    local e = nn.Embedding(3, 2, { ids = 3 })
    e:set_weights(1, "weight", { { 1, 2 }, { 3, 4 }, { 5.5, -6 } })
    assert.same({ 5.5, -6, 1, 2, 5.5, -6 }, e:forward{ 2, 0, 2 })
    assert.equal(3, e:n_inputs())
    assert.equal(6, e:n_outputs())
    assert.equal("nn.Embedding(3, 2, 3)", tostring(e:modules()[1].name))
    assert.equal(1, nn.Embedding(4, 5):n_inputs())
  end)

  it("is normal(0, 1) when made, as PyTorch's, from nn.seed's stream", function()
    nn.seed(5)
    local W = nn.Embedding(200, 50):get_weights(1, "weight")
    local n, sum, sq = 0, 0, 0
    for i = 1, 200 do
      for t = 1, 50 do
        n, sum, sq = n + 1, sum + W[i][t], sq + W[i][t] ^ 2
      end
    end
    local mean = sum / n
    local var = sq / n - mean ^ 2
    -- 10000 draws: the mean within 5 standard errors (0.05), the variance within 0.1
    assert.is_true(abs(mean) < 0.05, mean)
    assert.is_true(abs(var - 1) < 0.1, var)
    nn.seed(5)
    assert.same(W, nn.Embedding(200, 50):get_weights(1, "weight"))
  end)

  it("agrees with the double reference through a Linear, in one sample and a batch; "
     .. "its own output the table's rows", function()
    nn.seed(3)
    local net = nn.Sequential{ nn.Embedding(30, 4, { ids = 3 }), nn.Linear(12, 5) }
    local W = net:get_weights(1, "weight")
    local L, b = net:get_weights(2, "weight"), net:get_weights(2, "bias")
    local rand = stream(11)
    local X = id_rows(rand, 37, 3, 30, false)
    local Y = net:forward(nn.Matrix(X))
    for r = 1, #X do
      local h = ref_embedding(W, X[r])
      assert.same(h, net:trace(X[r])[1].values)
      local y = net:forward(X[r])
      for o = 1, 5 do
        local want, bound = b[o], ulp(b[o])
        for i = 1, 12 do
          want = want + L[o][i] * h[i]
          bound = bound + abs(L[o][i] * h[i]) * 2 ^ -23
        end
        -- 12 products and sums in float, in any order (the batch's may differ)
        assert.is_true(abs(y[o] - want) <= 13 * bound, ("row %d output %d"):format(r, o))
        assert.is_true(abs(Y:get(r, o) - want) <= 13 * bound, ("batch row %d output %d"):format(r, o))
      end
    end
  end)
end)

describe("nn.EmbeddingBag", function()
  it("is the mean, or the sum, of the embeddings present, zeros for none (by hand)", function()
    local W = { { 1, 2 }, { 3, 4 }, { 5, -6 } }
    local m = nn.EmbeddingBag(3, 2, { ids = 4 })
    m:set_weights(1, "weight", W)
    assert.same({ 3, 0 }, m:forward{ 0, 2, 1, -1 })          -- (1+5+3)/3, (2-6+4)/3
    assert.same({ 3, 4 }, m:forward{ -1, 1, -1, -1 })
    assert.same({ 0, 0 }, m:forward{ -1, -1, -1, -1 })       -- PyTorch's empty bag
    local s = nn.EmbeddingBag(3, 2, { ids = 4, mode = "sum" })
    s:set_weights(1, "weight", W)
    assert.same({ 9, 0 }, s:forward{ 0, 2, 1, -1 })
    assert.same({ 2, 4 }, s:forward{ 0, -1, 0, -1 })         -- an id twice counts twice
    assert.equal('nn.EmbeddingBag(3, 2, 4, "sum")', s:modules()[1].name)
    assert.equal('nn.EmbeddingBag(3, 2, 4, "mean")', m:modules()[1].name)
  end)

  for _, mode in ipairs{ "mean", "sum" } do
    it(mode .. ": within the float sum's rounding of double precision, a batch the same bits",
       function()
      nn.seed(4)
      local k = 8
      local m = nn.EmbeddingBag(50, 6, { ids = k, mode = mode })
      local W = m:get_weights(1, "weight")
      local X = id_rows(stream(7), 70, k, 50, true)
      local Y = m:forward(nn.Matrix(X))
      for r = 1, #X do
        local want, count = ref_bag(W, X[r], mode)
        local y = m:forward(X[r])
        for t = 1, 6 do
          -- count - 1 float additions, each within half an ulp of sum |w|,
          -- then (mean) one division: half an ulp of the result
          local bound = count * abs_sum(W, X[r], t) * 2 ^ -24 / (mode == "mean" and
                        math.max(count, 1) or 1) + ulp(want[t])
          assert.is_true(abs(y[t] - want[t]) <= bound, ("row %d, %d"):format(r, t))
          assert.equal(y[t], Y:get(r, t))
        end
      end
    end)
  end
end)

describe("the embeddings' gradient", function()
  -- The reference: through Linear(L, b) after the embedding, dh = L^T dy in
  -- double, and each id's row of the table gets its part of dh (a bag's:
  -- dh / count for the mean).
  local function ref_grad(kind, W, L, x, dy, mode)
    local n_ids, dim = #W, #W[1]
    local dh = {}
    for i = 1, #L[1] do
      dh[i] = 0
      for o = 1, #L do dh[i] = dh[i] + L[o][i] * dy[o] end
    end
    local G = {}
    for i = 1, n_ids * dim do G[i] = 0 end
    local count = 0
    for j = 1, #x do if x[j] >= 0 then count = count + 1 end end
    for j = 1, #x do
      if x[j] >= 0 then
        for t = 1, dim do
          local g
          if kind == "Embedding" then g = dh[(j - 1) * dim + t]
          else g = mode == "mean" and dh[t] / count or dh[t] end
          G[x[j] * dim + t] = G[x[j] * dim + t] + g
        end
      end
    end
    return G
  end

  for _, case in ipairs{ { "Embedding", nil, 12 }, { "EmbeddingBag", "mean", 4 },
                         { "EmbeddingBag", "sum", 4 } } do
    local kind, mode, width = case[1], case[2], case[3]
    it(("of nn.%s%s is the double reference's, through net:backward"):format(kind,
       mode and "(" .. mode .. ")" or ""), function()
      nn.seed(9)
      local net = nn.Sequential{ nn[kind](6, 4, { ids = 3, mode = mode }), nn.Linear(width, 3) }
      local W = net:get_weights(1, "weight")
      local L = net:get_weights(2, "weight")
      local rand = stream(5)
      for _, x in ipairs{ { 1, 1, 5 }, { 0, 3, 2 }, mode and { 4, -1, -1 } or { 5, 5, 5 },
                          mode and { -1, -1, -1 } or { 0, 0, 0 } } do
        local dy = { rand(-100, 100) / 37, rand(-100, 100) / 37, rand(-100, 100) / 37 }
        local dx, G = net:backward(x, dy)
        local want = ref_grad(kind, W, L, x, dy, mode)
        for i = 1, #want do
          local got = G:get(1, i)
          assert.is_true(abs(got - want[i]) <= 1e-6 * (1 + abs(want[i])),
                         ("x %s, weight %d: %g, not %g"):format(table.concat(x, " "), i, got, want[i]))
        end
        assert.same({ 0, 0, 0 }, dx)     -- no gradient to ids
      end
    end)
  end
end)

describe("a net that starts with an embedding", function()
  local function bag_net(seed)
    nn.seed(seed)
    return nn.Sequential{ nn.EmbeddingBag(40, 8, { ids = 5 }), nn.Linear(8, 16), nn.ReLU(),
                          nn.Linear(16, 3) }
  end

  -- the class of a row: which third of the ids its first id is in
  local function data(rows)
    local X = id_rows(stream(21), rows, 5, 40, true)
    local T = {}
    for r = 1, rows do
      if X[r][1] < 0 then X[r][1] = r % 40 end
      T[r] = 1 + X[r][1] % 3
    end
    return X, T
  end

  for _, optimizer in ipairs{ "adam", "sgd" } do
    it("trains with " .. optimizer .. ": the loss falls and the table moves", function()
      local net = bag_net(1)
      local before = net:get_weights(1, "weight")
      local X, T = data(300)
      local tr = nn.Trainer(net, { optimizer = optimizer, loss = "cross_entropy",
                                   lr = optimizer == "sgd" and 0.5 or 0.01, batch = 16 })
      local first = tr:evaluate(X, T)
      tr:fit(X, T, { epochs = 30 })
      assert.is_true(tr:evaluate(X, T) < first / 2)
      assert.are_not.same(before, net:get_weights(1, "weight"))
    end)
  end

  it("trains to the same bits on 1, 2 and 3 threads", function()
    local X, T = data(500)
    local function run(threads)
      local net = bag_net(2)
      nn.Trainer(net, { loss = "cross_entropy", batch = 128, threads = threads, seed = 3 })
        :fit(nn.Matrix(X), T, { epochs = 3 })
      return net:get_params()
    end
    local one, two, three = run(1), run(2), run(3)
    for i = 1, one:cols() do
      assert.equal(one:get(1, i), two:get(1, i))
      assert.equal(one:get(1, i), three:get(1, i))
    end
  end)

  it("runs a batch on several threads to the same bits", function()
    local net = bag_net(6)
    local X = nn.Matrix((data(400)))
    local one = net:forward(X)
    nn.threads(2)
    local two = net:forward(X)
    nn.threads(1)
    for r = 1, 400 do
      for o = 1, 3 do assert.equal(one:get(r, o), two:get(r, o)) end
    end
  end)

  describe("in the store", function()
    local db
    before_each(function() db = os.tmpname() end)
    after_each(function() remove_db(db) end)

    it("saves its sizes by name and loads to the same bits, its digest sha256sum's", function()
      nn.seed(8)
      local net = nn.Sequential{ nn.Embedding(7, 3, { ids = 2 }), nn.Linear(6, 2) }
      local bag = bag_net(9)
      local store = assert(nn.open(db))
      store:save("emb", net)
      store:save("bag", bag)
      local v = {}
      for row in store:rows("SELECT v.*, m.name AS model FROM nn_version AS v"
          .. " JOIN nn_model AS m USING (model_id) ORDER BY version_id") do v[#v + 1] = row end
      assert.equal('[{"type":"Embedding","n_ids":7,"dim":3,"ids":2},'
                   .. '{"type":"Linear","in":6,"out":2}]', v[1].arch)
      assert.truthy(v[2].arch:find('{"type":"EmbeddingBag","n_ids":40,"dim":8,"ids":5,"mode":0}',
                                   1, true))
      assert.equal(digest.version(v[1]), v[1].digest)
      assert.equal(digest.version(v[2]), v[2].digest)
      for name, orig in pairs{ emb = net, bag = bag } do
        local back = store:load(name)
        assert.equal(tostring(orig), tostring(back))
        assert.same(orig:get_weights(1, "weight"), back:get_weights(1, "weight"))
        local x = name == "emb" and { 6, 0 } or { 3, -1, 39, 3, -1 }
        assert.same(orig:forward(x), back:forward(x))
      end
      store:close()
    end)
  end)

  describe("in other formats", function()
    local path
    before_each(function() path = os.tmpname() end)
    after_each(function() os.remove(path) end)

    it("writes Embedding as Gather of its table by int64 ids and Flatten, read back to "
       .. "the same bits", function()
      nn.seed(12)
      local net = nn.Sequential{ nn.Embedding(9, 3, { ids = 4 }), nn.Linear(12, 5), nn.ReLU(),
                                 nn.Linear(5, 2) }
      net:export(path, "onnx")
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      assert.truthy(bytes:find("Gather", 1, true))
      assert.truthy(bytes:find("Flatten", 1, true))
      assert.truthy(bytes:find("embedding_1.weight", 1, true))
      local back = nn.import(path)
      assert.equal(tostring(net), tostring(back))
      assert.same(net:get_weights(1, "weight"), back:get_weights(1, "weight"))
      for _, x in ipairs{ { 0, 1, 2, 3 }, { 8, 8, 0, 5 } } do
        assert.same(net:forward(x), back:forward(x))
      end
      assert.truthy(message(back.forward, back, { 0, 9, 1, 1 }):find("9 is not an id", 1, true))
    end)

    -- PyTorch's outputs, from the script: float32 sums in another order, so 1e-5
    it("reads PyTorch 1.13's Embedding and Flatten and gives its outputs within 1e-5", function()
      local case = dofile("spec/fixtures/onnx/embed_expected.lua").embedding_op13
      local net = nn.import("spec/fixtures/onnx/embedding_op13.onnx")
      assert.equal("Embedding", net:modules()[1].kind)
      assert.equal(12 * 4, net:modules()[1].n_params)
      for k, x in ipairs(case.inputs) do
        local y = net:forward(x)
        for o = 1, #y do
          assert.is_true(abs(y[o] - case.outputs[k][o]) <= 1e-5, ("row %d, %d"):format(k, o))
        end
      end
    end)

    -- The form nn writes for a bag (nn_onnx_write.c): node k's op and inputs,
    -- "x" the ids, "W" the table, "-1", "0", "1" the constants, "2" and
    -- "1ax" the axes, a number an earlier node's output.
    local FORM = {
      { "Greater", { "x", "-1" } }, { "Where", { 1, "x", "0" } }, { "Gather", { "W", 2 } },
      { "Cast", { 1 } }, { "Unsqueeze", { 4, "2ax" } }, { "Mul", { 3, 5 } },
      { "ReduceSum", { 6, "1ax" } }, { "ReduceSum", { 4, "1ax" } }, { "Max", { 8, "1" } },
      { "Div", { 7, 9 } },
    }

    for _, mode in ipairs{ "mean", "sum" } do
      it(mode .. ": writes EmbeddingBag as plain operators, no Loop, wired as its form; "
         .. "read back as the same layers, the same bits, the double reference's numbers",
         function()
        nn.seed(13)
        local k, dim = 6, 4
        local net = nn.Sequential{ nn.EmbeddingBag(20, dim, { ids = k, mode = mode }),
                                   nn.Linear(dim, 3) }
        net:export(path, "onnx")
        local f = assert(io.open(path, "rb"))
        local bytes = f:read("*a")
        f:close()
        local nodes, inits = require("spec.support.onnx_nodes").read(bytes)
        local n_form = mode == "mean" and 10 or 7
        assert.equal(n_form + 1, #nodes)
        assert.equal("Gemm", nodes[n_form + 1].op)
        local onnx_nodes = require "spec.support.onnx_nodes"
        local consts = { ["-1"] = -1, ["0"] = 0, ["2ax"] = 2, ["1ax"] = 1 }
        local function int_const(name, src)
          local t = inits[name]
          assert.equal(7, t.type, name)                      -- int64
          assert.equal(src:find("ax") and 1 or 0, #t.dims, name)
          assert.equal(consts[src], onnx_nodes.int64(t.raw), name)
        end
        for j = 1, n_form do
          local node, want = nodes[j], FORM[j]
          assert.equal(want[1], node.op, "node " .. j)
          assert.equal(#want[2], #node.inputs, "node " .. j)
          for i, src in ipairs(want[2]) do
            local got = node.inputs[i]
            if type(src) == "number" then assert.equal(nodes[src].outputs[1], got)
            elseif src == "x" then assert.equal("input", got)
            elseif src == "W" then assert.same({ 20, dim }, inits[got].dims)
            elseif src == "1" then
              assert.equal(require("spec.support.compat").pack_f32le{ 1 }, inits[got].raw)
            else int_const(got, src) end
          end
        end
        assert.equal(0, nodes[3].attrs.axis)
        assert.equal(1, nodes[4].attrs.to)                  -- float
        assert.equal(0, nodes[7].attrs.keepdims)
        if mode == "mean" then assert.equal(1, nodes[8].attrs.keepdims) end
        assert.equal(nodes[n_form].outputs[1], nodes[n_form + 1].inputs[1])
        assert.is_nil(bytes:find("Loop", 1, true))

        local back = nn.import(path)
        assert.equal(tostring(net), tostring(back))
        assert.same(net:modules()[1].name, back:modules()[1].name)
        assert.same(net:get_weights(1, "weight"), back:get_weights(1, "weight"))
        local W = back:get_weights(1, "weight")
        local L, b = back:get_weights(2, "weight"), back:get_weights(2, "bias")
        local X = id_rows(stream(17), 40, k, 20, true)
        X[#X + 1] = { -1, -1, -1, -1, -1, -1 }              -- an empty bag: zeros
        local Y = back:forward(nn.Matrix(X))
        for r = 1, #X do
          local h, count = ref_bag(W, X[r], mode)
          assert.same(net:forward(X[r]), back:forward(X[r]))
          assert.same(net:trace(X[r])[1].values, back:trace(X[r])[1].values)
          local got = back:trace(X[r])[1].values
          for t = 1, dim do
            local bound = count * abs_sum(W, X[r], t) * 2 ^ -24 /
                          (mode == "mean" and math.max(count, 1) or 1) + ulp(h[t])
            assert.is_true(abs(got[t] - h[t]) <= bound, ("row %d, %d"):format(r, t))
          end
          for o = 1, 3 do
            local want, bound = b[o], ulp(b[o])
            for t = 1, dim do
              want = want + L[o][t] * h[t]
              bound = bound + abs(L[o][t] * h[t]) * 2 ^ -22
            end
            assert.is_true(abs(Y:get(r, o) - want) <= (dim + 1) * bound + 1e-6,
                           ("row %d output %d"):format(r, o))
          end
        end
        assert.same({ b[1], b[2], b[3] }, back:forward(X[#X]))
        assert.truthy(message(back.forward, back, { 0, 20, 1, 1, -1, -1 })
                        :find("20 is not an id", 1, true))
      end)
    end

    -- PyTorch's outputs, from the script: float32 sums in another order, so 1e-5
    for _, case in ipairs{ { "embedding_bag_op13", "mean" }, { "embedding_bag_sum_op13", "sum" },
                           { "embedding_bag_op11", "mean" } } do
      it("reads PyTorch 1.13's bag, a Loop over the bags, of " .. case[1] .. " (" .. case[2]
         .. ") as one EmbeddingBag and gives its outputs within 1e-5", function()
        local want = dofile("spec/fixtures/onnx/embed_expected.lua")[case[1]]
        local net = nn.import("spec/fixtures/onnx/" .. case[1] .. ".onnx")
        assert.equal(('nn.EmbeddingBag(10, 3, 3, "%s")'):format(case[2]), net:modules()[1].name)
        assert.equal(2, #net:modules())
        for k, x in ipairs(want.inputs) do
          local y = net:forward(x)
          assert.equal(#want.outputs[k], #y)
          for o = 1, #y do
            assert.is_true(abs(y[o] - want.outputs[k][o]) <= 1e-5, ("row %d, %d"):format(k, o))
          end
        end
      end)
    end

    it("refuses PyTorch's bag of another mode, or changed, naming the node and its layer",
       function()
      local fixture = "spec/fixtures/onnx/embedding_bag_max_op13.onnx"
      assert.equal(fixture .. ": node 28 '/bag/Loop' (Loop) in layer 'bag': its body (at its "
        .. "node 9) is not PyTorch's EmbeddingBag of mode mean or sum", message(nn.import, fixture))
      local f = assert(io.open("spec/fixtures/onnx/embedding_bag_sum_op13.onnx", "rb"))
      local bytes = f:read("*a")
      f:close()
      -- the body's reduction, its node 10 after the Constant of its axes
      local changed = bytes:gsub("ReduceSum", "ReduceMin")
      assert.equal("node 28 '/bag/Loop' (Loop) in layer 'bag': its body (at its node 10) is not "
        .. "PyTorch's EmbeddingBag of mode mean or sum",
        message(nn.import, changed, { format = "onnx" }))
      changed = bytes:gsub("Range", "Rangf")                      -- the offsets' Range
      assert.equal("node 9 '/bag/Rangf' (Rangf) in layer 'bag': is not node 7 of the nodes of "
        .. "PyTorch's EmbeddingBag (Shape, ReduceProd, ..., Loop)",
        message(nn.import, changed, { format = "onnx" }))
      local b = require "spec.support.onnx_builder"
      for _, case in ipairs{
        { "node 1 (Loop): a Loop is control flow, which nn does not run",
          { b.value_info("x", { "N", 3 }) }, { b.node("Loop", { "m", "c" }, { "y" }) } },
        { "node 2 (Relu): is not node 2 of the nodes of PyTorch's EmbeddingBag (Shape, "
          .. "ReduceProd, ..., Loop)", { b.value_info("x", { "N", 3 }, b.INT64) },
          { b.node("Shape", { "x" }, { "s" }), b.node("Relu", { "s" }, { "y" }) } },
      } do
        local ok, err = pcall(nn.import, b.model{ inputs = case[2], nodes = case[3],
          initializers = { b.int64_tensor("m", {}, { 2 }), b.int64_tensor("c", {}, { 1 }) },
          outputs = { b.value_info("y", { "N", 3 }) } }, { format = "onnx" })
        assert.is_false(ok)
        assert.equal(case[1], (tostring(err):gsub("^[^:]*:%d+: ", "")))
      end
    end)

    -- A bag's form built by hand: the ids "x" [N, 3], the table W [4, 2].
    local function bag_form(o)
      local b = require "spec.support.onnx_builder"
      local opset = o.opset or 13
      local function axes(n, input, ax)
        if opset >= 13 then return { input, ax }, {} end
        return { input }, { b.attr_ints("axes", { n }) }
      end
      local u_in, u_at = axes(2, "f", "a2")
      local r1_in, r1_at = axes(1, "p", "a1")
      local r2_in, r2_at = axes(-1, "f", "a1m")
      local nodes = {
        b.node("Greater", { "x", o.none or "none" }, { "m" }),
        b.node("Where", { "m", "x", "zero" }, { "s" }),
        b.node("Gather", { "W", "s" }, { "g" }, { b.attr_int("axis", 0) }),
        b.node("Cast", { "m" }, { "f" }, { b.attr_int("to", 1) }),
        b.node("Unsqueeze", u_in, { "u" }, u_at),
        b.node("Mul", { "u", "g" }, { "p" }),
        b.node("ReduceSum", r1_in, { "y" }, { b.attr_int("keepdims", 0), unpack(r1_at) }),
        b.node("ReduceSum", r2_in, { "c" }, { b.attr_int("keepdims", 1), unpack(r2_at) }),
        b.node("Max", { o.one or "one", "c" }, { "d" }),
        b.node("Div", { "y", "d" }, { "out" }),
      }
      local n = o.n or (o.sum and 7 or 10)
      for j = #nodes, n + 1, -1 do nodes[j] = nil end
      if o.sum then nodes[7] = b.node("ReduceSum", r1_in, { "out" }, { b.attr_int("keepdims", 0),
                                                                       unpack(r1_at) }) end
      for _, extra in ipairs(o.after or {}) do nodes[#nodes + 1] = extra end
      return pcall(nn.import, b.model{ opset = opset, nodes = nodes,
        inputs = { b.value_info("x", { "N", o.k or 3 }, b.INT64) },
        outputs = { b.value_info(o.out or "out", { "N", 2 }) },
        initializers = { b.tensor("W", { 4, 2 }, { 1, 2, 3, 4, 5, -6, 0.5, 0.25 }),
          b.int64_tensor("none", {}, { -1 }), b.int64_tensor("minus2", {}, { -2 }),
          b.int64_tensor("zero", {}, { 0 }), b.int64_tensor("a2", { 1 }, { 2 }),
          b.int64_tensor("a1", { 1 }, { 1 }), b.int64_tensor("a1m", { 1 }, { -1 }),
          b.tensor("one", {}, { 1 }), b.tensor("two", {}, { 2 }),
          b.tensor("L", { 2, 2 }, { 1, 0, 0, -1 }) } }, { format = "onnx" })
    end

    it("reads a bag's form by hand: either opset's axes, either order of Mul and Max, "
       .. "the numbers by hand", function()
      for _, opset in ipairs{ 11, 13 } do
        local ok, net = bag_form{ opset = opset }
        assert.is_true(ok, net)
        assert.equal('nn.EmbeddingBag(4, 2, 3, "mean")', net:modules()[1].name)
        assert.same({ 3, 0 }, net:forward{ 0, 2, 1 })        -- (1+5+3)/3, (2-6+4)/3
        assert.same({ 0, 0 }, net:forward{ -1, -1, -1 })
        assert.same({ 0.5, 0.25 }, net:forward{ -1, 3, -1 })
        ok, net = bag_form{ opset = opset, sum = true }
        assert.is_true(ok, net)
        assert.equal('nn.EmbeddingBag(4, 2, 3, "sum")', net:modules()[1].name)
        assert.same({ 9, 0 }, net:forward{ 0, 2, 1 })
      end
      -- a sum's form followed by a layer: the bag, then the layer
      local b = require "spec.support.onnx_builder"
      local ok, net = bag_form{ sum = true, out = "z",
        after = { b.node("Gemm", { "out", "L" }, { "z" }, { b.attr_int("transB", 1) }) } }
      assert.is_true(ok, net)
      assert.equal(2, #net:modules())
      assert.same({ 9, 0 }, net:forward{ 0, 2, 1 })         -- (9, 0) by [[1, 0], [0, -1]]
    end)

    it("refuses a form that breaks off, naming the node and what it is not", function()
      local FORM_IS = "is not node %d of an EmbeddingBag (Greater, Where, Gather, Cast, "
        .. "Unsqueeze, Mul, ReduceSum; mean: ReduceSum, Max, Div)"
      local cases = {
        { { none = "minus2" }, "node 1 (Greater): " .. FORM_IS:format(1) },
        { { one = "two" }, "node 9 (Max): " .. FORM_IS:format(9) },
        { { n = 3 }, "the graph ends after node 3 of an EmbeddingBag's form" },
        { { k = "K" }, "node 1 (Greater): an EmbeddingBag reads ids of [batch, k], k known "
          .. "before run time" },
      }
      for _, case in ipairs(cases) do
        local ok, err = bag_form(case[1])
        assert.is_false(ok, case[2])
        assert.truthy(tostring(err):find(case[2], 1, true), err)
      end
    end)

    it("reads a Gather only of a constant table by the graph's int64 ids, first", function()
      local b = require "spec.support.onnx_builder"
      local W = b.tensor("W", { 5, 2 }, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
      local function import(m)
        m.outputs = m.outputs or { b.value_info("y", { "N", 4 }) }
        return pcall(nn.import, b.model(m), { format = "onnx" })
      end
      local ok, net = import{ inputs = { b.value_info("x", { "N", 2 }, b.INT64) },
        initializers = { W }, nodes = { b.node("Gather", { "W", "x" }, { "g" }),
                                        b.node("Flatten", { "g" }, { "y" }) } }
      assert.is_true(ok, net)
      assert.same({ 9, 10, 3, 4 }, net:forward{ 4, 1 })      -- rows 4 and 1 of W, by hand
      local GATHER = "node 1 (Gather): a Gather is read only of a table by the graph's int64 "
        .. "input of [batch, ids] (an Embedding)"
      local cases = {
        { GATHER, { inputs = { b.value_info("x", { "N", 2 }) }, initializers = { W },
                    nodes = { b.node("Gather", { "W", "x" }, { "y" }) } } },
        { GATHER, { inputs = { b.value_info("x", { "N", 2, 2 }, b.INT64) }, initializers = { W },
                    nodes = { b.node("Gather", { "W", "x" }, { "y" }) } } },
        { "node 1 (Gather): axis 1 is not supported (only 0)",
          { inputs = { b.value_info("x", { "N", 2 }, b.INT64) }, initializers = { W },
            nodes = { b.node("Gather", { "W", "x" }, { "y" }, { b.attr_int("axis", 1) }) } } },
        { "node 1 (Sigmoid): Sigmoid takes the input, whose int64 ids only a Gather of a table "
          .. "(an Embedding) reads",
          { inputs = { b.value_info("x", { "N", 4 }, b.INT64) },
            nodes = { b.node("Sigmoid", { "x" }, { "y" }) } } },
        { "input 'x' is of type int64, ids, which only a Gather of a table (an Embedding) reads "
          .. "first", { inputs = { b.value_info("x", { "N", 4 }, b.INT64) },
            nodes = { b.node("Sigmoid", { "x" }, { "s" }), b.node("Mul", { "x", "s" }, { "y" }) } } },
      }
      for _, case in ipairs(cases) do
        local ok2, err = import(case[2])
        assert.is_false(ok2, case[1])
        assert.equal(case[1], (tostring(err):gsub("^[^:]*:%d+: ", "")))
      end
    end)

    it("refuses FANN by name", function()
      assert.equal("export to fann: module 1: nn.EmbeddingBag has no FANN activation function",
                   message(bag_net(1).export, bag_net(1), path, "fann"))
      assert.equal("export to fann: module 1: nn.Embedding has no FANN activation function",
                   message(nn.Embedding(3, 2).export, nn.Embedding(3, 2), path, "fann"))
    end)
  end)
end)

describe("an id outside the table", function()
  local BAD = "layer 1 (nn.EmbeddingBag): row %d, place %d: %s is not an id "
              .. "(a whole number in 0..39, or -1)"
  local function bad(row, place, v) return BAD:format(row, place, v) end
  local db
  before_each(function() db = os.tmpname() end)
  after_each(function() remove_db(db) end)

  local function bag_net()
    nn.seed(1)
    return nn.Sequential{ nn.EmbeddingBag(40, 8, { ids = 3 }), nn.Linear(8, 2) }
  end

  it("is refused by net:forward, classify and trace, naming it, its row and place", function()
    local net = bag_net()
    assert.truthy(message(net.forward, net, { 1, 40, -1 }):find(bad(1, 2, "40"), 1, true))
    assert.truthy(message(net.forward, net, { 1, 2.5, -1 }):find(bad(1, 2, "2.5"), 1, true))
    assert.truthy(message(net.forward, net, { -2, 1, 1 }):find(bad(1, 1, "-2"), 1, true))
    assert.truthy(message(net.forward, net, { 0 / 0, 1, 1 }):find("x[1] is NaN", 1, true))
    assert.truthy(message(net.classify, net, { 1, 1, 1e9 }):find(bad(1, 3, "1e+09"), 1, true))
    assert.truthy(message(net.trace, net, { 1, 1, 41 }):find(bad(1, 3, "41"), 1, true))
    local e = nn.Embedding(5, 2, { ids = 2 })
    assert.truthy(message(e.forward, e, { -1, 0 }):find("layer 1 (nn.Embedding): row 1, place 1: "
      .. "-1 is not an id (a whole number in 0..4)", 1, true))
  end)

  it("is refused by a batch, naming its row, with Y untouched", function()
    local net = bag_net()
    local X = nn.Matrix{ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 100, -1 } }
    local Y = nn.Matrix(3, 2)
    Y:set(1, 1, 42)
    assert.truthy(message(net.forward, net, X, Y):find(bad(3, 2, "100"), 1, true))
    assert.equal(42, Y:get(1, 1))
    assert.equal(0, Y:get(2, 1))
    assert.truthy(message(net.classify, net, X):find(bad(3, 2, "100"), 1, true))
  end)

  it("is refused by the trainer and net:backward, the weights as they were", function()
    local net = bag_net()
    local before = net:get_params()
    local tr = nn.Trainer(net, { loss = "cross_entropy" })
    local X = { { 1, 2, 3 }, { 4, -1, -1 }, { 3, 3, 40 } }
    assert.truthy(message(tr.fit, tr, X, { 1, 2, 1 }):find(bad(3, 3, "40"), 1, true))
    assert.truthy(message(tr.fit, tr, nn.Matrix(X), { 1, 2, 1 }):find(bad(3, 3, "40"), 1, true))
    assert.truthy(message(tr.step, tr, X, { 1, 2, 1 }):find(bad(3, 3, "40"), 1, true))
    assert.truthy(message(tr.evaluate, tr, X, { 1, 2, 1 }):find(bad(3, 3, "40"), 1, true))
    assert.truthy(message(tr.fit, tr, { { 1, 2, 3 } }, { 1 },
      { validation = { { { 0.5, 1, 1 } }, { 1 } } }):find(bad(1, 1, "0.5"), 1, true))
    assert.truthy(message(net.backward, net, { 1, 2, 77 }, { 1, 1 }):find(bad(1, 3, "77"), 1, true))
    local after = net:get_params()
    for i = 1, before:cols() do assert.equal(before:get(1, i), after:get(1, i)) end
  end)

  it("is refused by store:classify and store:log, which log nothing", function()
    local store = assert(nn.open(db))
    store:save("bag", bag_net(), { labels = { "a", "b" } })
    local net = store:load("bag")
    assert.truthy(message(store.classify, store, "bag", { 1, 40, 2 }):find(bad(1, 2, "40"), 1, true))
    assert.truthy(message(store.log, store, net, { 1, 2, 1.5 }, { 0, 1 }):find(bad(1, 3, "1.5"), 1,
                  true))
    store:flush()
    for row in store:rows("SELECT count(*) AS n FROM nn_prediction") do assert.equal(0, row.n) end
    assert.is_string((store:classify("bag", { 1, 39, -1 })))
    store:close()
  end)

  it("is refused by the SQL functions, naming the model", function()
    local store = assert(nn.open(db))
    store:save("bag", bag_net(), { labels = { "a", "b" } })
    for _, sql in ipairs{ "SELECT nn_classify('bag', 1, 2, 40)", "SELECT nn_score('bag', 1, 2, 40)",
                          "SELECT nn_forward('bag', json_array(1, 2, 40))" } do
      local ok, err = pcall(function() for _ in store:rows(sql) do end end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("'bag': " .. bad(1, 3, "40"), 1, true), err)
    end
    for row in store:rows("SELECT nn_classify('bag', 1, 2, -1) AS c") do
      assert.is_string(row.c)
    end
    store:close()
  end)
end)

describe("the embeddings refuse bad arguments, naming them", function()
  it("sizes out of range, an unknown option or mode", function()
    assert.truthy(message(nn.Embedding):find("number of ids must be between 1", 1, true))
    assert.truthy(message(nn.Embedding, 5):find("embedding size must be between 1", 1, true))
    assert.truthy(message(nn.Embedding, 5, 2.5):find("embedding size must be a whole number", 1,
                  true))
    assert.truthy(message(nn.Embedding, 5, 2, { ids = 0 }):find("number of ids a row must be", 1,
                  true))
    assert.truthy(message(nn.Embedding, 5, 2, { idz = 2 }):find("nn.Embedding has no option idz",
                  1, true))
    assert.truthy(message(nn.EmbeddingBag, 5, 2, { mode = "max" }):find(
      "mode must be one of 'mean', 'sum', not 'max'", 1, true))
    assert.truthy(message(nn.Embedding, 2 ^ 24, 2 ^ 24):find("parameters", 1, true))
  end)

  it("an embedding anywhere but first", function()
    assert.truthy(message(nn.Sequential, { nn.Linear(2, 2), nn.Embedding(5, 2) }):find(
      "layer 2: nn.Embedding takes the network's input (ids), not a layer's output: "
      .. "it must be the first layer", 1, true))
    local net = nn.Linear(2, 2)
    assert.truthy(message(net.add, net, nn.EmbeddingBag(5, 2)):find("must be the first layer", 1,
                  true))
    assert.equal(2, net:n_inputs())
  end)
end)
