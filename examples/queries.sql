-- queries.sql: questions an analyst asks of the prediction log, in plain SQL.
--
--   sqlite3 -box demo.db < examples/queries.sql      (after make demo)
--
-- Nothing here needs the nn module: the names are the schema's
-- (schema/001_init.sql), inputs and outputs are JSON arrays.

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
