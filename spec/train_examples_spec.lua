-- The training example, run as a new user runs it (from the top of the
-- repository): the seed's network trained from made-up leaves and flowers
-- reads the seed's two objects as the seed does, and is kept with its run.

local compat = require "spec.support.compat"
local remove_db = require("spec.support.db").remove

describe("examples/train_leaf_flower.lua", function()
  local db
  before_each(function() db = os.tmpname() end)
  after_each(function() remove_db(db) end)

  it("trains the seed's network to read its leaf and flower, and saves the run", function()
    local out = compat.sh(compat.LUA .. " examples/train_leaf_flower.lua " .. db)
    -- the made-up objects come from math.random, whose stream differs from
    -- one Lua to another: every one of them learns the task almost perfectly
    local accuracy = tonumber(out:match("60 epochs on 300 objects: validation accuracy ([%d.]+)"))
    assert(accuracy and accuracy >= 0.95, out)
    for _, text in ipairs{
      "the seed's leaf reads as leaf",
      "a red flower reads as flower",
      "saved as version 1 with its 60 epochs",
    } do
      assert(out:find(text, 1, true), "not found: " .. text .. "\nin:\n" .. out)
    end
  end)
end)
