-- The examples, run as a new user runs them (from the top of the
-- repository), their printed numbers checked against the seed's text.

local compat = require "spec.support.compat"
local LUA, run = compat.LUA, compat.sh

--- Every one of the texts is in out, word for word.
local function has(out, ...)
  for _, text in ipairs{ ... } do
    assert(out:find(text, 1, true), "not found: " .. text .. "\nin:\n" .. out)
  end
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
    has(out,
      "= -26.598",
      "= -26.348",
      "(3) nn.Linear(3 -> 2)  (0.8000, 0.2000)",
      "(4) nn.SoftMax         (0.6457, 0.3543)",
      "leaf, with probability 0.6457",
      "read as weather: sunny (0.6457)",
      "accuracy of leaf_flower v1: 2 of 2 right (1.00)",
      "saved version 2, whose flower bias of 5 sees flowers everywhere")
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
    local out = run("sqlite3 -bail -csv -cmd '.load ./" .. compat.BUILD .. "/nn0' " .. db .. " < examples/queries.sql")
    -- label counts: leaf twice under default (leaf, flower), sunny once
    has(out,
      "leaf_flower,default,leaf,1",
      "leaf_flower,default,flower,1",
      "leaf_flower,weather,sunny,1",
      -- accuracy, then the confusion table
      "leaf_flower,1,2,2,1.0",
      "leaf_flower,1,flower,flower,1",
      "leaf_flower,1,leaf,leaf,1",
      -- in SQL: a table scored by version 1 (the seed's 0.6457) and the latest
      [["the seed's leaf",leaf,0.6457,sunny,flower,]],
      [["a poppy",flower,0.9823,rainy,flower,]],
      -- the versions disagree on the leaf, logged twice
      '1,"[32,107,56,11.2]",leaf,flower\n3,"[32,107,56,11.2]",leaf,flower',
      -- accuracy against feedback, run now: version 2 calls the leaf a flower
      "leaf_flower,1,2,2\nleaf_flower,2,2,1\n")
  end)

  it("weather.lua reads the same weights as sunny and rainy, on its own", function()
    local out = run(LUA .. " examples/weather.lua " .. db)
    has(out,
      "Monday   -> sunny (0.6457)",
      "Tuesday  -> rainy",
      "weather  sunny   1")
  end)

  -- Issue #25: they found lua/, the build and seed_net.lua only from the top
  -- of the clone.
  it("run from any folder, with no LUA_PATH or LUA_CPATH", function()
    local examples = run("pwd"):gsub("\n$", "") .. "/examples"
    -- in folder, the example script with its arguments
    local function from(folder, script, args)
      return run(("cd '%s' && env -u LUA_PATH -u LUA_CPATH %s '%s' %s")
        :format(folder, LUA, script, args or ""))
    end
    has(from("/", examples .. "/collapse.lua"), "= -0.0062 (fold: -0.0062)")
    has(from(examples, "collapse.lua"), "= 0.0088 (fold: 0.0088)")
    has(from("/", examples .. "/leaf_flower.lua", db), "leaf, with probability 0.6457")
    has(from("/", examples .. "/weather.lua", db), "weather  sunny   1")
    has(from("/", examples .. "/feedback_loop.lua"), "accuracy per version, as logged")
    has(from("/", examples .. "/train_leaf_flower.lua", db .. "-trained"), "saved as version 1")
    remove_db(db .. "-trained")
  end)

  it("collapse.lua folds the linear network into the seed's coefficients", function()
    local out = run(LUA .. " examples/collapse.lua")
    has(out,
      "= -0.0062 (fold: -0.0062)",
      "= 0.0088 (fold: 0.0088)")
  end)
end)
