-- 003_digests.sql: a digest over every immutable fact a load relies on.
--
-- digest: SHA-256, 64 lowercase hex digits, of a row's facts as nn lays them out
-- (nn_store_version.c says how): for nn_version its model_id, version, arch,
-- n_inputs, n_outputs, n_params and weights; for nn_labelmap its model_id, name and
-- labels.  nn writes it with the row and checks it whenever it reads the row, so a
-- change made outside nn is an error naming the model, version or map.  It is not a
-- signature: whoever rewrites a row and its digest together is not caught.
--
-- The rows written before this migration get their digests here, once, inside the
-- migration's transaction, through nn_version_digest_1() and nn_labelmap_digest_1():
-- C functions nn.open registers on its connection while it migrates, which lay the
-- digests out as they were until 008_digests_by_name.sql (over the model_id); that
-- migration checks them and rewrites them over the model's name.
--
--   SELECT m.name, v.version, v.digest FROM nn_version AS v JOIN nn_model AS m
--   USING (model_id);

ALTER TABLE nn_version ADD COLUMN digest TEXT
  CHECK (digest IS NULL OR (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'));

ALTER TABLE nn_labelmap ADD COLUMN digest TEXT
  CHECK (digest IS NULL OR (length(digest) = 64 AND digest NOT GLOB '*[^0-9a-f]*'));

DROP TRIGGER nn_version_no_update;
DROP TRIGGER nn_labelmap_no_update;

UPDATE nn_version
SET digest = nn_version_digest_1(model_id, version, arch, n_inputs, n_outputs, n_params,
                                 weights);

UPDATE nn_labelmap SET digest = nn_labelmap_digest_1(model_id, name, labels);

CREATE TRIGGER nn_version_no_update BEFORE UPDATE ON nn_version
BEGIN SELECT RAISE(ABORT, 'nn_version is immutable'); END;

CREATE TRIGGER nn_labelmap_no_update BEFORE UPDATE ON nn_labelmap
BEGIN SELECT RAISE(ABORT, 'nn_labelmap is immutable'); END;
