-- NaN and infinity never hidden: ReLU, LeakyReLU and SoftMax carry NaN on
-- in every kernel set, one sample and a batch alike; an output that is not
-- finite is never classified, logged or scored (net:classify, store:classify,
-- nn_classify, nn_score), the error naming the sample and the output; and
-- cross-entropy's targets are class indices or distributions, as BCE's are
-- values in [0, 1].  The reference is IEEE's, written out: NaN ~= NaN, and
-- inf - inf is NaN.

local nn = require "nn"

local function isnan(v) return v ~= v end

local NO_LABEL = "and an output that is not finite has no label"

-- Linear(1, 2) gives inf twice for x = 1e30 (1e30 * 1e30 overflows); the
-- Linear(2, 40) after it takes inf - inf for each of its 40 outputs: NaN,
-- whatever order the kernel sums in.  x = 1e-30 gives 1 - 1 + b, exactly b.
local function nan_net(tail)
  local modules = { nn.Linear(1, 2), nn.Linear(2, 40) }
  for _, m in ipairs(tail) do modules[#modules + 1] = m end
  local net = nn.Sequential(modules)
  net:set_weights(1, { { 1e30 }, { 1e30 } }, { 0, 0 })
  local W, b = {}, {}
  for i = 1, 40 do W[i], b[i] = { 1, -1 }, (i % 3) - 1 end
  net:set_weights(2, W, b)
  return net
end

describe("NaN through the layers", function()
  local before
  before_each(function() before = nn.kernel() end)
  after_each(function() nn.kernel(before) end)

  for _, set in ipairs{ "generic", "avx2", "avx512" } do
    for _, act in ipairs{ "ReLU", "LeakyReLU" } do
      it(act .. " keeps NaN in the " .. set .. " set, one sample and a batch", function()
        if not pcall(nn.kernel, set) then return end   -- not on this processor
        local net = nan_net{ nn[act]() }
        local y = net:forward{ 1e30 }
        for i = 1, 40 do assert.is_true(isnan(y[i]), act .. " y[" .. i .. "]") end
        local Y = net:forward(nn.Matrix{ { 1e30 }, { 1e-30 }, { 1e30 } })
        for i = 1, 40 do
          assert.is_true(isnan(Y:get(1, i)) and isnan(Y:get(3, i)), "row 1, 3: " .. i)
          -- row 2: 1 - 1 + b, ReLU'd as x > 0 ? x : 0 (or alpha x)
          local b = (i % 3) - 1
          local want = b > 0 and b or (act == "ReLU" and 0 or 0.01 * b)
          assert.is_true(math.abs(Y:get(2, i) - want) < 1e-9, "row 2: " .. i)
        end
      end)
    end

    it("SoftMax gives NaN for a NaN in the " .. set .. " set", function()
      if not pcall(nn.kernel, set) then return end
      local net = nan_net{ nn.ReLU(), nn.Linear(40, 3), nn.SoftMax() }
      -- one NaN logit among finite ones: every output NaN, as exp and the sum give
      local W, b = { {}, {}, {} }, { 0, 1, 2 }
      for j = 1, 40 do W[1][j], W[2][j], W[3][j] = j == 1 and 1 or 0, 0, 0 end
      net:set_weights(4, W, b)
      for _, y in ipairs{ net:forward{ 1e30 }, net:forward(nn.Matrix{ { 1e30 } }):row(1) } do
        for i = 1, 3 do assert.is_true(isnan(y[i]), "y[" .. i .. "]") end
      end
      local y = net:forward{ 1e-30 }
      assert.is_false(isnan(y[1]) or isnan(y[2]) or isnan(y[3]))
    end)
  end
end)

describe("an output that is not finite", function()
  local net
  before_each(function()
    net = nan_net{ nn.ReLU(), nn.Linear(40, 2), nn.SoftMax() }
    -- the last Linear set, not drawn from the random stream (whose state
    -- depends on the specs before): output 1 wins for every finite x, and
    -- 0 * NaN keeps a NaN on
    local W = { {}, {} }
    for j = 1, 40 do W[1][j], W[2][j] = 0, 0 end
    net:set_weights(4, W, { 1, 0 })
  end)

  it("is never classified by net:classify, which names the output", function()
    net:set_labels{ "a", "b" }
    assert.has_error(function() net:classify{ 1e30 } end,
      "classify: x gives NaN at output 1, " .. NO_LABEL)
    local inf = nn.Linear(1, 2)
    inf:set_weights(1, { { 1 }, { 1e30 } }, { 0, 0 })
    assert.has_error(function() inf:classify{ 1e30 } end,
      "classify: x gives inf at output 2, " .. NO_LABEL)
    assert.has_error(function() inf:classify({ -1e30 }, { "x", "y" }) end,
      "classify: x gives -inf at output 2, " .. NO_LABEL)
    assert.equal("a", (net:classify{ 1 }))
  end)

  it("is never classified in a batch, whose error names the row", function()
    assert.has_error(function() net:classify(nn.Matrix{ { 1 }, { 1 }, { 1e30 } }) end,
      "classify: row 3 of X gives NaN at output 1, " .. NO_LABEL)
    local labels = net:classify(nn.Matrix{ { 1 }, { 2 } })
    assert.equal(2, #labels)
  end)

  it("is never classified nor logged by store:classify", function()
    local store = assert(nn.open(":memory:"))
    store:save("nan", net, { labels = { "a", "b" } })
    assert.has_error(function() store:classify("nan", { 1e30 }) end,
      "classify: model 'nan': x gives NaN at output 1, " .. NO_LABEL)
    store:flush()
    local n
    for row in store:rows("SELECT count(*) AS n FROM nn_prediction") do n = row.n end
    assert.equal(0, n)
    assert.equal("a", (store:classify("nan", { 1 })))
    store:close()
  end)

  it("is never answered by nn_classify or nn_score, which name the inputs", function()
    local store = assert(nn.open(":memory:"))
    store:save("nan", net, { labels = { "a", "b" } })
    local function ask(sql)
      local ok, err = pcall(function() for _ in store:rows(sql) do end end)
      assert.is_false(ok)
      return err
    end
    assert.truthy(ask("SELECT nn_classify('nan', 1e30)"):find(
      "nn_classify: model 'nan': the inputs [1.00000002e+30] give NaN at output 1, "
      .. NO_LABEL, 1, true))
    assert.truthy(ask("SELECT nn_score('nan', json_array(1e30))"):find(
      "nn_score: model 'nan': the inputs [1.00000002e+30] give NaN at output 1, and an "
      .. "output that is not finite has no score", 1, true))
    for row in store:rows("SELECT nn_classify('nan', 1) AS c") do assert.equal("a", row.c) end
    store:close()
  end)
end)

describe("cross-entropy's targets", function()
  local crit = nn.CrossEntropyCriterion()
  local KIND = "cross_entropy's targets are class indices or rows of values >= 0 that sum to 1"

  it("are refused when a value is negative, as BCE's outside [0, 1] are", function()
    assert.has_error(function() crit:forward({ 0.5, 0.5 }, { 5, -3 }) end,
      "bad argument #2 to 'forward' (t[2] is -3: " .. KIND .. ")")
    assert.has_error(function()
      crit:backward(nn.Matrix{ { 1, 2 }, { 3, 4 } }, nn.Matrix{ { 0, 1 }, { 1.5, -0.5 } })
    end, "bad argument #2 to 'backward' (T[2][2] is -0.5: " .. KIND .. ")")
  end)

  it("are refused when a row does not sum to 1 within 1e-4", function()
    assert.has_error(function() crit:forward({ 0.5, 0.5 }, { 0.5, 0.6 }) end,
      "bad argument #2 to 'forward' (t sums to 1.1: " .. KIND .. " (within 1e-4))")
    assert.has_error(function() crit:forward({ 0.5, 0.5 }, { 0, 0 }) end,
      "bad argument #2 to 'forward' (t sums to 0: " .. KIND .. " (within 1e-4))")
    local net = nn.Sequential{ nn.Linear(2, 2), nn.SoftMax() }
    local tr = nn.Trainer(net)
    assert.has_error(function()
      tr:step({ { 1, 2 }, { 3, 4 } }, nn.Matrix{ { 0.25, 0.75 }, { 0.5, 0.4 } })
    end, "bad argument #2 to 'step' (T[2] sums to 0.9: " .. KIND .. " (within 1e-4))")
    assert.has_error(function()
      tr:fit({ { 1, 2 } }, { 1 }, { validation = { { { 1, 2 } }, nn.Matrix{ { 2, -1 } } } })
    end, "bad argument #3 to 'fit' (T[1][2] is -1: " .. KIND .. ")")
  end)

  it("are taken as distributions and as class indices", function()
    local t = { 0.1, 0.2, 0.7 }
    local y = { 1, 2, 3 }
    local lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    local want = 0
    for j = 1, 3 do want = want + t[j] * (lse - y[j]) end
    assert.is_true(math.abs(crit:forward(y, t) - want) < 1e-6)
    assert.is_true(math.abs(crit:forward(y, 3) - (lse - 3)) < 1e-6)
    -- float rounding of a row is well within the tolerance
    assert.is_number(crit:forward(nn.Matrix{ y }, nn.Matrix{ { 1 / 3, 1 / 3, 1 / 3 } }))
  end)
end)
