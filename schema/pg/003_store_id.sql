-- Who a store is, and which rows came from another, as in a file
-- (schema/007_store_id.sql): the store's random 128-bit id in nn_meta, origin
-- and origin_id on the log's rows that store:push brought (NULL on a row made
-- here), unique together, and the high-water mark per source store.

INSERT INTO nn_meta (key, value)
VALUES ('store_id', replace(gen_random_uuid()::text, '-', ''));

ALTER TABLE nn_prediction ADD COLUMN origin text, ADD COLUMN origin_id bigint;
CREATE UNIQUE INDEX nn_prediction_by_origin ON nn_prediction (origin, origin_id)
  WHERE origin IS NOT NULL;

ALTER TABLE nn_feedback ADD COLUMN origin text, ADD COLUMN origin_id bigint;
CREATE UNIQUE INDEX nn_feedback_by_origin ON nn_feedback (origin, origin_id)
  WHERE origin IS NOT NULL;

CREATE TABLE nn_push_mark (
  origin   text NOT NULL,
  what     text NOT NULL CHECK (what IN ('prediction', 'feedback')),
  last_id  bigint NOT NULL,
  PRIMARY KEY (origin, what)
);
