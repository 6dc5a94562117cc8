-- 004_training_digests.sql: a digest over every training run and its epochs.
--
-- digest: SHA-256, 64 lowercase hex digits, of a run's facts as nn lays them out
-- (nn_store_train.c says how): the model and version number of the version it belongs
-- to, its options, rows, epochs, best_epoch, stopped, source, started_at and ended_at,
-- then every nn_training_epoch row of the run in epoch order (epoch, loss, val_loss,
-- val_accuracy, ms; each REAL by its bits, NULL told apart from any number).  One
-- digest covers the run and its epochs, so a changed, deleted or added epoch row, or a
-- run moved to another version, disagrees with it.  nn writes it with the run and
-- checks it whenever it reads the run (store:history, store:svg_history, nn show).
-- Like the digests of 003_digests.sql it is not a signature, and a run deleted whole,
-- with its epochs, is not caught: the version then reads as one saved without a run.
--
-- The runs written before this migration get their digests here, once, inside the
-- migration's transaction, through nn_training_digest_1(): a C function nn.open
-- registers on its connection while it migrates, which reads the epochs of the run
-- itself and lays the digest out as it was until 008_digests_by_name.sql (over the
-- model_id); that migration checks it and rewrites it over the model's name
-- (nn_training_digest, its successor, is among the SQL functions, for tools that write
-- runs in SQL: insert the epochs first, with PRAGMA defer_foreign_keys = ON, then the
-- run and its digest).
--
--   SELECT m.name, v.version, t.digest FROM nn_training AS t
--   JOIN nn_version AS v USING (version_id) JOIN nn_model AS m USING (model_id);

ALTER TABLE nn_training ADD COLUMN digest TEXT
  CHECK (digest IS NULL OR (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'));

DROP TRIGGER nn_training_no_update;

UPDATE nn_training
SET digest = nn_training_digest_1(version_id, options, rows, epochs, best_epoch, stopped,
                                  source, started_at, ended_at);

CREATE TRIGGER nn_training_no_update BEFORE UPDATE ON nn_training
BEGIN SELECT RAISE(ABORT, 'nn_training is immutable'); END;
