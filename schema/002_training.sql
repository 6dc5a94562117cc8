-- 002_training.sql: how each trained version was trained.
--
--   nn_training        one row per trained version: its options, data, times, how it stopped
--   nn_training_epoch  one row per epoch of that run: losses, validation accuracy, time
--
-- store:save(name, net, { training = history, source = "..." }) writes both in the
-- transaction that writes the version; a version saved without a history has no row.
-- Like nn_version, neither table can be updated or deleted from.  Times are integer
-- Unix milliseconds (started_at, ended_at); ms is an epoch's duration in milliseconds.
-- options is the run's options as a JSON object; source says where the rows came from
-- (the SQL text of store:matrix, a file name), or is NULL.  The loss curve of a model:
--
--   SELECT v.version, e.epoch, e.loss, e.val_loss, e.val_accuracy
--   FROM nn_training_epoch AS e
--   JOIN nn_version AS v ON v.version_id = e.version_id
--   JOIN nn_model AS m ON m.model_id = v.model_id
--   WHERE m.name = 'leaf_flower' ORDER BY v.version, e.epoch;

CREATE TABLE nn_training (
  version_id  INTEGER PRIMARY KEY REFERENCES nn_version (version_id),
  options     TEXT NOT NULL CHECK (json_valid(options) AND json_type(options) = 'object'),
  rows        INTEGER NOT NULL CHECK (rows >= 0),
  epochs      INTEGER NOT NULL CHECK (epochs >= 0),
  best_epoch  INTEGER CHECK (best_epoch BETWEEN 1 AND epochs),
  stopped     TEXT NOT NULL CHECK (stopped IN ('epochs', 'patience', 'callback')),
  source      TEXT,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER NOT NULL CHECK (ended_at >= started_at)
) STRICT;

-- val_loss and val_accuracy are NULL without validation data (and val_accuracy
-- without class targets).
CREATE TABLE nn_training_epoch (
  version_id    INTEGER NOT NULL REFERENCES nn_training (version_id),
  epoch         INTEGER NOT NULL CHECK (epoch >= 1),
  loss          REAL NOT NULL,
  val_loss      REAL,
  val_accuracy  REAL CHECK (val_accuracy BETWEEN 0 AND 1),
  ms            REAL NOT NULL CHECK (ms >= 0),
  PRIMARY KEY (version_id, epoch)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER nn_training_no_update BEFORE UPDATE ON nn_training
BEGIN SELECT RAISE(ABORT, 'nn_training is immutable'); END;

CREATE TRIGGER nn_training_no_delete BEFORE DELETE ON nn_training
BEGIN SELECT RAISE(ABORT, 'nn_training is immutable'); END;

CREATE TRIGGER nn_training_epoch_no_update BEFORE UPDATE ON nn_training_epoch
BEGIN SELECT RAISE(ABORT, 'nn_training_epoch is immutable'); END;

CREATE TRIGGER nn_training_epoch_no_delete BEFORE DELETE ON nn_training_epoch
BEGIN SELECT RAISE(ABORT, 'nn_training_epoch is immutable'); END;
