-- The nn store in a PostgreSQL schema: the tables and views of an SQLite
-- store (schema/*.sql), with the same names and columns, in PostgreSQL's
-- types.  nn.open runs this inside one transaction, with search_path set to
-- the store's schema; nn_meta says which nn wrote the schema and how far it
-- is migrated (what application_id and user_version say of a file).
--
-- Times are integer Unix milliseconds set by nn; arch and labels are the
-- exact JSON text nn wrote (their digests are over those bytes); input,
-- output and tags are jsonb, so that input->>0 and jsonb_array_elements
-- work.  A prediction's id comes from blocks nn reserves from
-- nn_prediction_ids (nextval hands out the first id of a block of 1024), so
-- that many writers log without a round trip per row and never collide; a
-- row inserted in SQL without an id takes a block of its own.

CREATE TABLE nn_meta (
  key    text PRIMARY KEY,
  value  text NOT NULL
);

INSERT INTO nn_meta (key, value) VALUES ('application', 'nn');

CREATE TABLE nn_model (
  model_id    bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) > 0),
  created_at  bigint NOT NULL
);

CREATE TABLE nn_version (
  version_id  bigserial PRIMARY KEY,
  model_id    bigint NOT NULL REFERENCES nn_model (model_id),
  version     bigint NOT NULL CHECK (version >= 1),
  arch        text NOT NULL CHECK (jsonb_typeof(arch::jsonb) = 'array'),
  n_inputs    bigint NOT NULL CHECK (n_inputs >= 1),
  n_outputs   bigint NOT NULL CHECK (n_outputs >= 1),
  n_params    bigint NOT NULL CHECK (n_params >= 0),
  weights     bytea NOT NULL CHECK (length(weights) = 4 * n_params),
  checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{16}$'),
  note        text,
  created_at  bigint NOT NULL,
  digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  UNIQUE (model_id, version)
);

CREATE TABLE nn_labelmap (
  labelmap_id bigserial PRIMARY KEY,
  model_id    bigint NOT NULL REFERENCES nn_model (model_id),
  name        text NOT NULL CHECK (length(name) > 0),
  labels      text NOT NULL CHECK (jsonb_typeof(labels::jsonb) = 'array'),
  created_at  bigint NOT NULL,
  digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$')
);

CREATE INDEX nn_labelmap_by_model ON nn_labelmap (model_id, name);

CREATE SEQUENCE nn_prediction_ids INCREMENT BY 1024;
CREATE SEQUENCE nn_feedback_ids INCREMENT BY 1024;

CREATE TABLE nn_prediction (
  prediction_id bigint PRIMARY KEY DEFAULT nextval('nn_prediction_ids'),
  ts            bigint NOT NULL,
  version_id    bigint NOT NULL REFERENCES nn_version (version_id),
  labelmap_id   bigint REFERENCES nn_labelmap (labelmap_id),
  input         jsonb NOT NULL,
  output        jsonb NOT NULL,
  pred_idx      bigint NOT NULL CHECK (pred_idx >= 1),
  pred_label    text,
  score         double precision,
  request_id    text,
  tags          jsonb
);

CREATE INDEX nn_prediction_by_version ON nn_prediction (version_id, ts);
CREATE INDEX nn_prediction_by_ts ON nn_prediction (ts);

CREATE TABLE nn_feedback (
  feedback_id   bigint PRIMARY KEY DEFAULT nextval('nn_feedback_ids'),
  prediction_id bigint NOT NULL REFERENCES nn_prediction (prediction_id),
  ts            bigint NOT NULL,
  true_idx      bigint NOT NULL CHECK (true_idx >= 1),
  true_label    text
);

CREATE INDEX nn_feedback_by_prediction ON nn_feedback (prediction_id, feedback_id);

CREATE FUNCTION nn_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is %', TG_TABLE_NAME, TG_ARGV[0];
END $$;

CREATE TRIGGER nn_version_immutable BEFORE UPDATE OR DELETE ON nn_version
FOR EACH ROW EXECUTE FUNCTION nn_refuse('immutable');
CREATE TRIGGER nn_labelmap_immutable BEFORE UPDATE OR DELETE ON nn_labelmap
FOR EACH ROW EXECUTE FUNCTION nn_refuse('immutable');
CREATE TRIGGER nn_prediction_append_only BEFORE UPDATE ON nn_prediction
FOR EACH ROW EXECUTE FUNCTION nn_refuse('append-only');

CREATE VIEW nn_predictions AS
SELECT p.prediction_id,
       p.ts,
       to_char(to_timestamp(p.ts / 1000.0) AT TIME ZONE 'UTC',
               'YYYY-MM-DD HH24:MI:SS.MS') AS time,
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

CREATE VIEW nn_accuracy AS
WITH truth AS (
  SELECT DISTINCT ON (f.prediction_id) f.prediction_id, f.true_idx
  FROM nn_feedback AS f
  ORDER BY f.prediction_id, f.feedback_id DESC
)
SELECT m.name,
       v.version,
       count(*) AS n,
       sum((p.pred_idx = t.true_idx)::int) AS correct,
       avg((p.pred_idx = t.true_idx)::int)::double precision AS accuracy
FROM truth AS t
JOIN nn_prediction AS p ON p.prediction_id = t.prediction_id
JOIN nn_version AS v ON v.version_id = p.version_id
JOIN nn_model AS m ON m.model_id = v.model_id
GROUP BY m.name, v.version
ORDER BY m.name, v.version;

-- A version or a label map added, by anyone: every store on this schema
-- hears it on its next call (LISTEN nn_catalog), and loads afresh.
CREATE FUNCTION nn_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('nn_catalog', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;

CREATE TRIGGER nn_version_catalog AFTER INSERT ON nn_version
FOR EACH STATEMENT EXECUTE FUNCTION nn_catalog_changed();
CREATE TRIGGER nn_labelmap_catalog AFTER INSERT ON nn_labelmap
FOR EACH STATEMENT EXECUTE FUNCTION nn_catalog_changed();
