-- queries.sql: questions an analyst asks of the prediction log, in plain SQL.
--
--   sqlite3 -box -cmd '.load ./build/nn0' demo.db < examples/queries.sql
--
-- (make demo runs this.)  The names are the schema's (schema/001_init.sql,
-- schema/002_training.sql), inputs and outputs are JSON arrays.  Only the last three queries need nn:
-- its SQL functions nn_classify, nn_score and nn_forward, from the SQLite
-- extension build/nn0.so that the .load above brings in.

-- How often each label was the answer, per model and label map.
SELECT name, labelmap, pred_label, count(*) AS n
  FROM nn_predictions
 GROUP BY name, labelmap, pred_label
 ORDER BY name, labelmap, n DESC;

-- Predictions per version, with when the version was saved and why.
SELECT m.name, v.version, v.note,
       datetime(v.created_at / 1000, 'unixepoch') AS saved,
       count(p.prediction_id) AS predictions
  FROM nn_version AS v
  JOIN nn_model AS m USING (model_id)
  LEFT JOIN nn_prediction AS p USING (version_id)
 GROUP BY v.version_id
 ORDER BY m.name, v.version;

-- How each trained version was trained: rows, epochs, how it stopped, how
-- long it took, its optimizer, and where its data came from.
SELECT m.name, v.version, t.rows, t.epochs, t.best_epoch, t.stopped,
       round((t.ended_at - t.started_at) / 1000.0, 3) AS seconds,
       t.options ->> '$.optimizer' AS optimizer, t.source
  FROM nn_training AS t
  JOIN nn_version AS v USING (version_id)
  JOIN nn_model AS m USING (model_id)
 ORDER BY m.name, v.version;

-- The loss curve of every trained version, an epoch a row: the training
-- loss drawn as a bar of up to 40 marks (the run's largest loss is 40), then
-- the validation loss and accuracy where there was validation data.
SELECT m.name, v.version, e.epoch, round(e.loss, 4) AS loss,
       substr('########################################', 1,
              CAST(round(40 * e.loss / (SELECT max(f.loss) FROM nn_training_epoch AS f
                                         WHERE f.version_id = e.version_id)) AS INTEGER))
         AS curve,
       round(e.val_loss, 4) AS val_loss, round(e.val_accuracy, 3) AS val_accuracy
  FROM nn_training_epoch AS e
  JOIN nn_version AS v USING (version_id)
  JOIN nn_model AS m USING (model_id)
 ORDER BY m.name, v.version, e.epoch;

-- The last few predictions, readable at a glance: the input's first number
-- (R for leaf_flower) and every output, straight out of the JSON.
SELECT prediction_id, time, name, version, labelmap, pred_label, round(score, 4) AS score,
       input ->> '$[0]' AS x1,
       (SELECT group_concat(round(o.value, 4), ' ') FROM json_each(output) AS o) AS outputs
  FROM nn_predictions
 ORDER BY prediction_id DESC
 LIMIT 10;

-- Accuracy per model version, over the predictions that got feedback.
SELECT name, version, n, correct, round(accuracy, 3) AS accuracy FROM nn_accuracy;

-- Confusion table: what the model said against the true answer (the latest
-- feedback per prediction wins).
WITH truth AS (
  SELECT prediction_id, true_idx, true_label
    FROM nn_feedback AS f
   WHERE feedback_id = (SELECT max(feedback_id) FROM nn_feedback AS g
                         WHERE g.prediction_id = f.prediction_id)
)
SELECT p.name, p.version,
       coalesce(t.true_label, t.true_idx) AS truth,
       coalesce(p.pred_label, p.pred_idx) AS predicted,
       count(*) AS n
  FROM truth AS t
  JOIN nn_predictions AS p USING (prediction_id)
 GROUP BY p.name, p.version, truth, predicted
 ORDER BY p.name, p.version, truth, predicted;

-- Prediction inside SQL.  Scoring a table: each object read by the latest
-- version, its score, and the same weights read as weather.  (A TEMP table:
-- nothing is written to the file.)
CREATE TEMP TABLE objects (object TEXT, r REAL, g REAL, b REAL, ml REAL);
INSERT INTO objects VALUES ('the seed''s leaf', 32, 107, 56, 11.2),
  ('a poppy', 250, 40, 120, 30), ('a fern', 40, 140, 60, 25), ('a lime', 190, 220, 40, 60);
SELECT object,
       nn_classify('leaf_flower@1', r, g, b, ml) AS v1,
       round(nn_score('leaf_flower@1', r, g, b, ml), 4) AS score,
       nn_classify('leaf_flower@1:weather', r, g, b, ml) AS weather,
       nn_classify('leaf_flower', r, g, b, ml) AS latest,
       nn_forward('leaf_flower', r, g, b, ml) AS outputs
  FROM objects;

-- Comparing two versions row by row, on every input in the log: where do
-- version 1 and version 2 disagree?
SELECT prediction_id, input,
       nn_classify('leaf_flower@1', input) AS v1,
       nn_classify('leaf_flower@2', input) AS v2
  FROM nn_predictions
 WHERE name = 'leaf_flower'
   AND nn_classify('leaf_flower@1', input) IS NOT nn_classify('leaf_flower@2', input)
 ORDER BY prediction_id;

-- Accuracy against feedback of every version, run now on the inputs that
-- got feedback (nn_accuracy counts only what was logged): each prediction
-- is read through its own label map, the one its feedback speaks.
WITH truth AS (
  SELECT prediction_id, true_idx, true_label
    FROM nn_feedback AS f
   WHERE feedback_id = (SELECT max(feedback_id) FROM nn_feedback AS g
                         WHERE g.prediction_id = f.prediction_id)
)
SELECT m.name, v.version, count(*) AS n,
       sum(nn_classify(m.name || '@' || v.version || coalesce(':' || p.labelmap, ''), p.input)
           = coalesce(t.true_label, t.true_idx)) AS correct
  FROM truth AS t
  JOIN nn_predictions AS p USING (prediction_id)
  JOIN nn_model AS m ON m.name = p.name
  JOIN nn_version AS v ON v.model_id = m.model_id
 GROUP BY m.name, v.version
 ORDER BY m.name, v.version;
