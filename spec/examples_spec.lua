-- The examples, run as a new user runs them (from the top of the
-- repository), their printed numbers checked against the seed's text.

local LUA = os.getenv("LUA") or "lua5.4"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  assert(ok, cmd .. " failed:\n" .. out)
  return out
end

local remove_db = require("spec.support.db").remove

describe("examples", function()
  local db
  before_each(function() db = os.tmpname() end)
  after_each(function()
    remove_db(db)
    os.remove(db .. "-network.svg")
  end)

  it("leaf_flower.lua tells the seed's numbers and logs them", function()
    local out = run(LUA .. " examples/leaf_flower.lua " .. db)
    assert.truthy(out:find("= -26.598", 1, true))
    assert.truthy(out:find("= -26.348", 1, true))
    assert.truthy(out:find("(3) nn.Linear(3 -> 2)  (0.8000, 0.2000)", 1, true))
    assert.truthy(out:find("(4) nn.SoftMax         (0.6457, 0.3543)", 1, true))
    assert.truthy(out:find("leaf, with probability 0.6457", 1, true))
    assert.truthy(out:find("read as weather: sunny (0.6457)", 1, true))
    assert.truthy(out:find("accuracy of leaf_flower v1: 2 of 2 right (1.00)", 1, true))
    assert.truthy(out:find("saved version 2, whose flower bias of 5 sees flowers everywhere",
      1, true))
  end)

  it("leaf_flower.lua draws the seed's figure: the picture the README shows", function()
    local out = run(LUA .. " examples/leaf_flower.lua " .. db)
    local drawn = db .. "-network.svg"
    assert.truthy(out:find("6. Drawn: " .. drawn, 1, true))
    local f = assert(io.open(drawn))
    local svg = f:read("*a")
    f:close()
    os.remove(drawn)
    f = assert(io.open("examples/demo-network.svg"))
    local committed = f:read("*a")
    f:close()
    -- make demo made examples/demo-network.svg; it must not drift from the code
    assert.equal(committed, svg)
  end)

  it("queries.sql runs in the sqlite3 shell on the demo's database", function()
    run(LUA .. " examples/leaf_flower.lua " .. db)
    local out = run("sqlite3 -bail -csv -cmd '.load ./build/nn0' " .. db .. " < examples/queries.sql")
    -- label counts: leaf twice under default (leaf, flower), sunny once
    assert.truthy(out:find("leaf_flower,default,leaf,1", 1, true))
    assert.truthy(out:find("leaf_flower,default,flower,1", 1, true))
    assert.truthy(out:find("leaf_flower,weather,sunny,1", 1, true))
    -- accuracy, then the confusion table
    assert.truthy(out:find("leaf_flower,1,2,2,1.0", 1, true))
    assert.truthy(out:find("leaf_flower,1,flower,flower,1", 1, true))
    assert.truthy(out:find("leaf_flower,1,leaf,leaf,1", 1, true))
    -- in SQL: a table scored by version 1 (the seed's 0.6457) and the latest
    assert.truthy(out:find([["the seed's leaf",leaf,0.6457,sunny,flower,]], 1, true))
    assert.truthy(out:find([["a poppy",flower,0.9823,rainy,flower,]], 1, true))
    -- the versions disagree on the leaf, logged twice
    assert.truthy(out:find('1,"[32,107,56,11.2]",leaf,flower\n3,"[32,107,56,11.2]",leaf,flower',
      1, true))
    -- accuracy against feedback, run now: version 2 calls the leaf a flower
    assert.truthy(out:find("leaf_flower,1,2,2\nleaf_flower,2,2,1\n", 1, true))
  end)

  it("weather.lua reads the same weights as sunny and rainy, on its own", function()
    local out = run(LUA .. " examples/weather.lua " .. db)
    assert.truthy(out:find("Monday   -> sunny (0.6457)", 1, true))
    assert.truthy(out:find("Tuesday  -> rainy", 1, true))
    assert.truthy(out:find("weather  sunny   1", 1, true))
  end)

  it("collapse.lua folds the linear network into the seed's coefficients", function()
    local out = run(LUA .. " examples/collapse.lua")
    assert.truthy(out:find("= -0.0062 (fold: -0.0062)", 1, true))
    assert.truthy(out:find("= 0.0088 (fold: 0.0088)", 1, true))
  end)
end)
