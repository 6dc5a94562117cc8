-- 007_store_id.sql: who a store is, and which rows came from another.
--
-- store:push and store:pull (lua/nn/push.lua) copy versions, label maps, training runs
-- and the prediction log between stores.  For that every store has an id, made once at
-- random (128 bits, 32 lowercase hex digits) and kept in nn_meta, the table a PostgreSQL
-- store keeps it in too.  A prediction or a feedback row that came from another store
-- says so in origin (that store's id) and origin_id (its id there); a row made here has
-- both NULL.  Its local id stays the key every join uses, so nn_predictions,
-- nn_accuracy and any query over prediction_id read as before.  The pair is unique, so a
-- row can arrive once only, whatever the path it took.
--
-- nn_push_mark: per source store and table, the largest id of that store's rows that
-- this store has taken, written in the transaction that took them; a push resumes after
-- it.

CREATE TABLE nn_meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;

INSERT INTO nn_meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));

ALTER TABLE nn_prediction ADD COLUMN origin TEXT;
ALTER TABLE nn_prediction ADD COLUMN origin_id INTEGER;
CREATE UNIQUE INDEX nn_prediction_by_origin ON nn_prediction (origin, origin_id)
  WHERE origin IS NOT NULL;

ALTER TABLE nn_feedback ADD COLUMN origin TEXT;
ALTER TABLE nn_feedback ADD COLUMN origin_id INTEGER;
CREATE UNIQUE INDEX nn_feedback_by_origin ON nn_feedback (origin, origin_id)
  WHERE origin IS NOT NULL;

CREATE TABLE nn_push_mark (
  origin   TEXT NOT NULL,
  what     TEXT NOT NULL CHECK (what IN ('prediction', 'feedback')),
  last_id  INTEGER NOT NULL,
  PRIMARY KEY (origin, what)
) STRICT;
