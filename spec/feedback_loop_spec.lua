-- examples/feedback_loop.lua, run as a user runs it; what it prints from
-- SQL (nn_accuracy, nn_classify over the log) is checked against the same
-- counts made here in Lua, from the database it leaves, with the versions
-- loaded and run by net:classify.

local nn = require "nn"
local db = require "spec.support.db"
local proc = require "spec.support.proc"

describe("examples/feedback_loop.lua", function()
  local path, out, store
  setup(function()
    path = os.tmpname()
    out = proc.run(proc.LUA .. " examples/feedback_loop.lua " .. path)
    store = assert(nn.open(path))
  end)
  teardown(function()
    store:close()
    db.remove(path)
  end)

  --- Every prediction with feedback: its version, input, logged label and
  -- latest true label, read from the tables rather than the views.
  local function labelled()
    local rows = {}
    for row in store:rows([[
      SELECT p.prediction_id, v.version, p.input, p.pred_label,
             (SELECT f.true_label FROM nn_feedback AS f WHERE f.prediction_id = p.prediction_id
               ORDER BY f.feedback_id DESC LIMIT 1) AS truth
        FROM nn_prediction AS p JOIN nn_version AS v USING (version_id)
       WHERE EXISTS (SELECT 1 FROM nn_feedback AS f WHERE f.prediction_id = p.prediction_id)
       ORDER BY p.prediction_id]]) do
      local x = {}
      for n in row.input:gmatch("[^%[%],]+") do x[#x + 1] = tonumber(n) end
      row.x = x
      rows[#rows + 1] = row
    end
    return rows
  end

  it("trains version 2 from version 1's feedback and records the run", function()
    local epochs, best, stopped = out:match("saved version 2: (%d+) epochs, best (%d+), stopped by (%a+)")
    assert.truthy(epochs, out)
    local run = db.all(store, "SELECT t.* FROM nn_training AS t JOIN nn_version AS v "
                       .. "USING (version_id) WHERE v.version = 2")[1]
    assert.equal(tonumber(epochs), run.epochs)
    assert.equal(tonumber(best), run.best_epoch)
    assert.equal(stopped, run.stopped)
    assert.equal(150, run.rows)   -- 200 rows of feedback, 25% held out for validation
    assert.equal(tonumber(epochs), db.value(store, "SELECT count(*) FROM nn_training_epoch"))
    assert.is_nil(db.value(store, "SELECT version_id FROM nn_training WHERE version_id = 1"))
  end)

  it("prints nn_accuracy as the logged answers and the feedback give it", function()
    local right, n = { 0, 0 }, { 0, 0 }
    for _, row in ipairs(labelled()) do
      n[row.version] = n[row.version] + 1
      if row.pred_label == row.truth then right[row.version] = right[row.version] + 1 end
    end
    for v = 1, 2 do
      assert.truthy(out:find(("v%d  %d of %d right (%.3f)"):format(v, right[v], n[v],
                                                                 right[v] / n[v]), 1, true), out)
    end
    assert.is_true(right[2] > right[1])   -- the loop made the model better
  end)

  it("prints what both versions, loaded and run here, say of every input with feedback", function()
    local nets = { store:load("leaf_flower", 1), store:load("leaf_flower", 2) }
    local rows, right = labelled(), { 0, 0 }
    for _, row in ipairs(rows) do
      for v = 1, 2 do
        if nets[v]:classify(row.x) == row.truth then right[v] = right[v] + 1 end
      end
    end
    assert.equal(400, #rows)
    assert.truthy(out:find(("v1 %d of 400 right, v2 %d of 400 right"):format(right[1], right[2]),
                           1, true), out)
  end)
end)
