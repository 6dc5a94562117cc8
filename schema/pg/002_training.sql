-- How each trained version was trained, as in a file (schema/002_training.sql
-- and 004_training_digests.sql): one nn_training row per trained version,
-- one nn_training_epoch row per epoch, written in the version's transaction
-- with a digest over both, immutable.

CREATE TABLE nn_training (
  version_id  bigint PRIMARY KEY REFERENCES nn_version (version_id),
  options     text NOT NULL CHECK (jsonb_typeof(options::jsonb) = 'object'),
  rows        bigint NOT NULL CHECK (rows >= 0),
  epochs      bigint NOT NULL CHECK (epochs >= 0),
  best_epoch  bigint CHECK (best_epoch BETWEEN 1 AND epochs),
  stopped     text NOT NULL CHECK (stopped IN ('epochs', 'patience', 'callback')),
  source      text,
  started_at  bigint NOT NULL,
  ended_at    bigint NOT NULL CHECK (ended_at >= started_at),
  digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$')
);

CREATE TABLE nn_training_epoch (
  version_id    bigint NOT NULL REFERENCES nn_training (version_id),
  epoch         bigint NOT NULL CHECK (epoch >= 1),
  loss          double precision NOT NULL,
  val_loss      double precision,
  val_accuracy  double precision CHECK (val_accuracy BETWEEN 0 AND 1),
  ms            double precision NOT NULL CHECK (ms >= 0),
  PRIMARY KEY (version_id, epoch)
);

CREATE TRIGGER nn_training_immutable BEFORE UPDATE OR DELETE ON nn_training
FOR EACH ROW EXECUTE FUNCTION nn_refuse('immutable');
CREATE TRIGGER nn_training_epoch_immutable BEFORE UPDATE OR DELETE ON nn_training_epoch
FOR EACH ROW EXECUTE FUNCTION nn_refuse('immutable');
