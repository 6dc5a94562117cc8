-- 006_feedback_ids.sql: nn_feedback's ids given before its rows are written.
--
-- store:feedback returns the new row's id at once, and the row may then wait in memory
-- while another process holds the write lock (a browser, a backup, a second instance).
-- So a store reserves feedback ids in blocks in sqlite_sequence, as it does prediction
-- ids, and AUTOINCREMENT makes every other writer of the table skip past them.  SQLite
-- cannot add AUTOINCREMENT to a table: it is made anew, its rows copied with their ids,
-- and the view that reads it made again as 001_init.sql wrote it.  A read-only open
-- reads a file of schema 5 as well: nothing read changed.

DROP VIEW nn_accuracy;

CREATE TABLE nn_feedback_new (
  feedback_id   INTEGER PRIMARY KEY AUTOINCREMENT,
  prediction_id INTEGER NOT NULL REFERENCES nn_prediction (prediction_id),
  ts            INTEGER NOT NULL,
  true_idx      INTEGER NOT NULL CHECK (true_idx >= 1),
  true_label    TEXT
) STRICT;

INSERT INTO nn_feedback_new (feedback_id, prediction_id, ts, true_idx, true_label)
SELECT feedback_id, prediction_id, ts, true_idx, true_label FROM nn_feedback
ORDER BY feedback_id;

DROP TABLE nn_feedback;
ALTER TABLE nn_feedback_new RENAME TO nn_feedback;

CREATE INDEX nn_feedback_by_prediction ON nn_feedback (prediction_id, feedback_id);

-- Only predictions with feedback count; when a prediction got several answers, the
-- latest (largest feedback_id) wins.
CREATE VIEW nn_accuracy AS
WITH truth AS (
  SELECT f.prediction_id, f.true_idx
  FROM nn_feedback AS f
  WHERE f.feedback_id = (SELECT max(g.feedback_id) FROM nn_feedback AS g
                         WHERE g.prediction_id = f.prediction_id)
)
SELECT m.name,
       v.version,
       count(*) AS n,
       sum(p.pred_idx = t.true_idx) AS correct,
       avg(p.pred_idx = t.true_idx) AS accuracy
FROM truth AS t
JOIN nn_prediction AS p ON p.prediction_id = t.prediction_id
JOIN nn_version AS v ON v.version_id = p.version_id
JOIN nn_model AS m ON m.model_id = v.model_id
GROUP BY m.name, v.version
ORDER BY m.name, v.version;
