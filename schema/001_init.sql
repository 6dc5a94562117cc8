-- 001_init.sql: the first schema of an nn database.
--
-- An nn database keeps neural-network models and what they said:
--   nn_model       one row per model name
--   nn_version     the saved versions of a model: architecture and weights (immutable)
--   nn_labelmap    what each output of a model means, under a map name (immutable)
--   nn_prediction  the prediction log: input, output, answer (append-only)
--   nn_feedback    the true answers that arrive later (the latest row per prediction wins)
--   nn_predictions a prediction with its model name, version and label map name
--   nn_accuracy    per model version: predictions with feedback, how many were right
--
-- nn.open applies this file inside one transaction, then sets PRAGMA user_version
-- and application_id itself; it is not meant to be run by hand.  Times are integer
-- Unix milliseconds, always set by the module, never defaulted here.  pred_idx and
-- true_idx are 1-based, as Lua users see them.  input and output are JSON arrays of
-- numbers (null where an output was not finite), so these work:
--
--   SELECT name, version, n, correct, accuracy FROM nn_accuracy;
--   SELECT prediction_id, input ->> '$[0]' AS r, pred_label, score
--     FROM nn_predictions WHERE name = 'leaf_flower' ORDER BY ts DESC LIMIT 10;
--   SELECT p.prediction_id, o.key + 1 AS idx, o.value
--     FROM nn_prediction AS p, json_each(p.output) AS o;

CREATE TABLE nn_model (
  model_id    INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
  created_at  INTEGER NOT NULL
) STRICT;

-- arch: a JSON array of layers, e.g.
--   [{"type":"Linear","in":4,"out":3},{"type":"ReLU"},{"type":"LeakyReLU","alpha":0.01}]
-- weights: every parameter as little-endian float32, layer by layer, W (n_out rows of
-- n_in) row-major, then b.  checksum: FNV-1a 64 of weights, 16 lowercase hex digits.
CREATE TABLE nn_version (
  version_id  INTEGER PRIMARY KEY,
  model_id    INTEGER NOT NULL REFERENCES nn_model (model_id),
  version     INTEGER NOT NULL CHECK (version >= 1),
  arch        TEXT NOT NULL CHECK (json_valid(arch)),
  n_inputs    INTEGER NOT NULL CHECK (n_inputs >= 1),
  n_outputs   INTEGER NOT NULL CHECK (n_outputs >= 1),
  n_params    INTEGER NOT NULL CHECK (n_params >= 0),
  weights     BLOB NOT NULL CHECK (length(weights) = 4 * n_params),
  checksum    TEXT NOT NULL
              CHECK (length(checksum) = 16 AND checksum NOT GLOB '*[^0-9a-f]*'),
  note        TEXT,
  created_at  INTEGER NOT NULL,
  UNIQUE (model_id, version)
) STRICT;

-- labels: a JSON array of strings, one per output.  Several maps per model; a map
-- name resolves to its latest row (largest labelmap_id).
CREATE TABLE nn_labelmap (
  labelmap_id INTEGER PRIMARY KEY,
  model_id    INTEGER NOT NULL REFERENCES nn_model (model_id),
  name        TEXT NOT NULL CHECK (length(name) > 0),
  labels      TEXT NOT NULL CHECK (json_valid(labels) AND json_type(labels) = 'array'),
  created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX nn_labelmap_by_model ON nn_labelmap (model_id, name);

-- AUTOINCREMENT: a store hands out ids before it writes its rows, by reserving blocks
-- in sqlite_sequence; AUTOINCREMENT makes every other writer skip past them.
CREATE TABLE nn_prediction (
  prediction_id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts            INTEGER NOT NULL,
  version_id    INTEGER NOT NULL REFERENCES nn_version (version_id),
  labelmap_id   INTEGER REFERENCES nn_labelmap (labelmap_id),
  input         TEXT NOT NULL CHECK (json_valid(input)),
  output        TEXT NOT NULL CHECK (json_valid(output)),
  pred_idx      INTEGER NOT NULL CHECK (pred_idx >= 1),
  pred_label    TEXT,
  score         REAL,            -- output[pred_idx]; NULL when it was not finite
  request_id    TEXT,
  tags          TEXT CHECK (tags IS NULL OR json_valid(tags))
) STRICT;

CREATE INDEX nn_prediction_by_version ON nn_prediction (version_id, ts);
CREATE INDEX nn_prediction_by_ts ON nn_prediction (ts);

CREATE TABLE nn_feedback (
  feedback_id   INTEGER PRIMARY KEY,
  prediction_id INTEGER NOT NULL REFERENCES nn_prediction (prediction_id),
  ts            INTEGER NOT NULL,
  true_idx      INTEGER NOT NULL CHECK (true_idx >= 1),
  true_label    TEXT
) STRICT;

CREATE INDEX nn_feedback_by_prediction ON nn_feedback (prediction_id, feedback_id);

-- A saved version and a label map are facts that log rows point at: changing one
-- would silently rewrite history, so neither can be updated or deleted.
CREATE TRIGGER nn_version_no_update BEFORE UPDATE ON nn_version
BEGIN SELECT RAISE(ABORT, 'nn_version is immutable'); END;

CREATE TRIGGER nn_version_no_delete BEFORE DELETE ON nn_version
BEGIN SELECT RAISE(ABORT, 'nn_version is immutable'); END;

CREATE TRIGGER nn_labelmap_no_update BEFORE UPDATE ON nn_labelmap
BEGIN SELECT RAISE(ABORT, 'nn_labelmap is immutable'); END;

CREATE TRIGGER nn_labelmap_no_delete BEFORE DELETE ON nn_labelmap
BEGIN SELECT RAISE(ABORT, 'nn_labelmap is immutable'); END;

CREATE TRIGGER nn_prediction_no_update BEFORE UPDATE ON nn_prediction
BEGIN SELECT RAISE(ABORT, 'nn_prediction is append-only'); END;

-- time: ts as UTC text with milliseconds, for reading at a glance.
CREATE VIEW nn_predictions AS
SELECT p.prediction_id,
       p.ts,
       strftime('%Y-%m-%d %H:%M:%f', p.ts / 1000.0, 'unixepoch') AS time,
       m.name,
       v.version,
       l.name AS labelmap,
       p.pred_idx,
       p.pred_label,
       p.score,
       p.input,
       p.output,
       p.request_id,
       p.tags,
       p.version_id,
       p.labelmap_id
FROM nn_prediction AS p
JOIN nn_version AS v ON v.version_id = p.version_id
JOIN nn_model AS m ON m.model_id = v.model_id
LEFT JOIN nn_labelmap AS l ON l.labelmap_id = p.labelmap_id;

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
