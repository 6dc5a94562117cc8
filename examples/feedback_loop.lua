--- The closed loop: a model answers, the answers are logged, the true
-- answers arrive as feedback, a new version is trained from exactly those
-- rows, and SQL compares the versions.
--
--   lua5.4 examples/feedback_loop.lua [loop.db]
--
-- Version 1 is the seed's hand-set leaf/flower network.  It classifies a
-- day of objects (colour R, G, B and volume in ml), each logged; a gardener
-- says what each one really was.  store:feedback_set gives those inputs and
-- true classes; version 2 is trained from them, saved with its training
-- history, and the next day is classified by version 2.  Then SQL reads the
-- log: nn_accuracy per version, the loss curve, and nn_classify running
-- both versions on every input that got feedback.

-- From any folder, or with nn installed (see leaf_flower.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)[/\\]") or "."
package.path = ("%s/../lua/?.lua;%s/../lua/?/init.lua;%s/?.lua;"):format(here, here, here)
  .. package.path
package.cpath = ("%s/../%s/?.so;"):format(here, jit and "build-luajit"
  or _VERSION == "Lua 5.4" and "build" or "build-lua" .. _VERSION:sub(5)) .. package.cpath
local nn = require "nn"
local seed_net = require "seed_net"

local path = arg[1] or ":memory:"
if path ~= ":memory:" then
  for _, suffix in ipairs{ "", "-wal", "-shm" } do os.remove(path .. suffix) end
end
local store = assert(nn.open(path))   -- closed at the end (no <close> before 5.4)

--- n objects of a day, from a seeded stream: leaves are green and small,
-- flowers red or blue and larger, and a few of each look like the other.
local function day(seed, n)
  math.randomseed(seed)
  local objects = {}
  for i = 1, n do
    local flower = math.random() < 0.5
    local odd = math.random() < 0.1       -- a red leaf, a green flower
    local x
    if flower ~= odd then
      x = { math.random(140, 255), math.random(20, 120), math.random(60, 255), math.random(8, 60) }
    else
      x = { math.random(10, 90), math.random(90, 200), math.random(20, 90), math.random(2, 25) }
    end
    objects[i] = { x = x, truth = flower and "flower" or "leaf" }
  end
  return objects
end

--- Classify the objects with the latest version, log each answer, and give
-- the true answer as feedback.
local function work(objects)
  for _, o in ipairs(objects) do
    local _, _, id = store:classify("leaf_flower", o.x)
    store:feedback(id, o.truth)
  end
end

-- Version 1: the seed's weights, typed in.
store:save("leaf_flower", seed_net.build(nn), { labels = { "leaf", "flower" },
                                               note = "the seed's weights" })
work(day(1, 200))

-- Version 2: trained from the feedback on version 1's answers.
local X, T, ids = store:feedback_set("leaf_flower", { version = 1, labels = "default" })
print(("feedback set: %d rows of %d inputs (predictions %d to %d)"):format(
  X:rows(), X:cols(), ids[1], ids[#ids]))
local net = store:load("leaf_flower", 1)
local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam", lr = 0.01,
                             batch = 16, seed = 7 })
local history = tr:fit(X, T, { epochs = 60, validation_split = 0.25, patience = 10 })
local v = store:save("leaf_flower", net, {
  training = history, note = "trained on version 1's feedback",
  source = "store:feedback_set('leaf_flower', { version = 1, labels = 'default' })" })
print(("saved version %d: %d epochs, best %d, stopped by %s"):format(
  v, #history.epochs, history.best_epoch, history.stopped))
work(day(2, 200))
store:flush()

print("\naccuracy per version, as logged (nn_accuracy):")
for row in store:rows("SELECT version, n, correct, accuracy FROM nn_accuracy "
                      .. "WHERE name = 'leaf_flower' ORDER BY version") do
  print(("  v%d  %d of %d right (%.3f)"):format(row.version, row.correct, row.n, row.accuracy))
end

print("\nthe loss curve of version 2 (every 5th epoch):")
for row in store:rows([[
  SELECT e.epoch, e.loss, e.val_loss, e.val_accuracy FROM nn_training_epoch AS e
    JOIN nn_version AS v USING (version_id) JOIN nn_model AS m USING (model_id)
   WHERE m.name = 'leaf_flower' AND v.version = 2 AND (e.epoch % 5 = 0 OR e.epoch = 1)
   ORDER BY e.epoch]]) do
  print(("  epoch %2d  loss %.4f  val_loss %.4f  val_accuracy %.3f"):format(
    row.epoch, row.loss, row.val_loss, row.val_accuracy))
end

-- Both versions on the same rows: every input that got feedback, read by
-- nn_classify in SQL, the latest feedback as the truth.
print("\nboth versions on all 400 inputs with feedback (nn_classify):")
for row in store:rows([[
  WITH truth AS (
    SELECT f.prediction_id, f.true_label FROM nn_feedback AS f
     WHERE f.feedback_id = (SELECT max(g.feedback_id) FROM nn_feedback AS g
                             WHERE g.prediction_id = f.prediction_id))
  SELECT count(*) AS n,
         sum(nn_classify('leaf_flower@1', p.input) = t.true_label) AS v1,
         sum(nn_classify('leaf_flower@2', p.input) = t.true_label) AS v2
    FROM truth AS t JOIN nn_predictions AS p USING (prediction_id)
   WHERE p.name = 'leaf_flower']]) do
  print(("  v1 %d of %d right, v2 %d of %d right"):format(row.v1, row.n, row.v2, row.n))
end
store:close()
