-- A history survives its round trip (src/lua/nn_lua_history.c): every field
-- store:history returns is saved back unchanged, numbers as they were written
-- (integers as integers, floats by their shortest decimal), and what JSON
-- cannot give back (NaN, an infinity, a zero byte) is refused by name.
-- Regression specs for issue 24: saving what store:history returned dropped
-- `source`, an options key with a zero byte was stored as "k":"nil", lr = NaN
-- became null, math.maxinteger read back as a float, and validation_split =
-- 0.2 was stored as 0.20000000298023224.

local nn = require "nn"
local seed = require "spec.support.seed"
local db = require "spec.support.db"

local value = db.value

local EPOCHS = { { epoch = 1, loss = 0.75, ms = 2 } }

--- The same values, and on Lua 5.3+ the same kind of number, all the way down.
local function same_kind(a, b, path)
  path = path or "history"
  assert.equal(type(a), type(b), path)
  if type(a) == "number" and math.type then
    assert.equal(math.type(a), math.type(b), path)
  end
  if type(a) ~= "table" then
    assert.equal(a, b, path)
    return
  end
  for k, v in pairs(a) do same_kind(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do assert.is_not_nil(a[k], path .. "." .. tostring(k)) end
end

describe("a history saved and read back", function()
  local store
  before_each(function() store = assert(nn.open(":memory:")) end)
  after_each(function() store:close() end)

  local function save(training, opts)
    opts = opts or {}
    opts.training = training
    -- not a tail call: LuaJIT would then count self among the arguments
    local v = store:save("leaf_flower", seed.network(nn, seed.labels), opts)
    return v
  end

  local function stored_options(v)
    return value(store, [[SELECT t.options FROM nn_training AS t JOIN nn_version AS v
                          USING (version_id) WHERE v.version = ?]], v)
  end

  it("is what store:history gave, source too, when saved again as it is", function()
    local X = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 0.5, 0.5 } }
    local net = nn.Sequential{ nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2), nn.SoftMax() }
    local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", lr = 0.01 })
    local fitted = tr:fit(X, { 1, 2, 2, 1, 1 }, { epochs = 3, validation_split = 0.2 })
    local v = store:save("xor", net, { training = fitted, source = "xor.csv" })
    local first = store:history("xor", v)
    assert.equal("xor.csv", first.source)
    local again = store:save("xor", net, { training = first })
    same_kind(first, store:history("xor", again))
  end)

  it("keeps validation_split as the caller wrote it, 0.2 and not its float", function()
    local X = { { 0 }, { 1 }, { 2 }, { 3 }, { 4 } }
    local net = nn.Sequential{ nn.Linear(1, 2), nn.SoftMax() }
    local fitted = nn.Trainer(net, { loss = "cross_entropy", optimizer = "sgd", lr = 0.01 })
      :fit(X, { 1, 1, 2, 2, 2 }, { epochs = 1, validation_split = 0.2 })
    assert.equal(0.2, fitted.options.validation_split)
    local v = store:save("line", net, { training = fitted })
    assert.truthy(value(store, "SELECT options FROM nn_training"):find('"validation_split":0.2[,}]'))
    assert.equal(0.2, store:history("line", v).options.validation_split)
  end)

  it("keeps numbers as written: integers as integers, floats by their shortest text", function()
    local options = { split = 0.2, third = 1 / 3, one = 1.0, n = 7, neg = -2, tiny = 5e-324,
                      big = 2 ^ 53 + 2, list = { 0.9, 0.999 } }
    if math.type then
      options.max, options.min = math.maxinteger, math.mininteger
    end
    local v = save({ epochs = EPOCHS, stopped = "epochs", rows = 4, options = options })
    local text = stored_options(v)
    for _, part in ipairs{ '"split":0.2,', '"third":0.3333333333333333,', '"n":7,',
                           '"neg":-2,', '"list":[0.9,0.999]', '"tiny":5e-324' } do
      assert.truthy(text:find(part, 1, true), part .. " in " .. text)
    end
    if math.type then
      assert.truthy(text:find('"one":1.0,', 1, true), text)
      assert.truthy(text:find('"max":9223372036854775807,', 1, true), text)
      assert.truthy(text:find('"min":-9223372036854775808,', 1, true), text)
    end
    same_kind(options, store:history("leaf_flower", v).options)
  end)

  describe("refuses by name what it could not give back", function()
    local function refused(message, training, opts)
      training.epochs = training.epochs or EPOCHS
      training.stopped, training.rows = "epochs", 4
      assert.has_error(function() save(training, opts) end,
                       "bad argument #3 to 'save' (" .. message .. ")")
      assert.equal(0, value(store, "SELECT count(*) FROM nn_version"))
    end

    it("NaN or an infinity in the options, wherever it is", function()
      refused("training.options.lr is NaN, which the options cannot keep",
              { options = { lr = 0 / 0 } })
      refused("training.options.lr is infinite, which the options cannot keep",
              { options = { lr = math.huge } })
      refused("training.options.betas[2] is infinite, which the options cannot keep",
              { options = { betas = { 0.9, -math.huge } } })
      refused("training.options.adam.eps is NaN, which the options cannot keep",
              { options = { adam = { eps = 0 / 0 } } })
    end)

    it("a zero byte in a key or a text of the options", function()
      refused("training.options: a key contains a zero byte", { options = { ["k\0x"] = 1 } })
      refused("training.options.note: its text contains a zero byte",
              { options = { note = "a\0b" } })
      refused("training.options.names[1]: its text contains a zero byte",
              { options = { names = { "\0" } } })
    end)

    it("NaN given for a validation number, which means none", function()
      refused("training.epochs[1].val_loss is NaN (leave it out for none)",
              { epochs = { { epoch = 1, loss = 0.5, val_loss = 0 / 0, ms = 1 } } })
      refused("training.epochs[1].val_accuracy is NaN (leave it out for none)",
              { epochs = { { epoch = 1, loss = 0.5, val_accuracy = 0 / 0, ms = 1 } } })
    end)

    it("two sources that differ, or one that is not a string", function()
      refused("option 'source' and training.source differ", { source = "a.csv" },
              { source = "b.csv" })
      refused("training.source must be a string", { source = 5 })
    end)
  end)

  it("takes the same source given twice", function()
    local v = save({ epochs = EPOCHS, stopped = "epochs", rows = 4, source = "a.csv" },
                   { source = "a.csv" })
    assert.equal("a.csv", store:history("leaf_flower", v).source)
  end)
end)
