-- 008_digests_by_name.sql: digests over the model's name, so that they travel.
--
-- The digests of 003_digests.sql and 004_training_digests.sql covered the model's
-- model_id, which is this store's own: store:push and store:pull copy a version into a
-- store where its model has another id, and its digest there differed.  From this
-- schema on they cover the model's name instead (unique in a store, and fixed: the
-- trigger below refuses to change it), laid out as src/formats/nn_digest.c says
-- ("layout 2"), so that a version, a label map or a training run has the same digest
-- in every store, SQLite or PostgreSQL, and arrives with it byte for byte.
--
-- Every digest is checked here under the layout it was written in
-- (nn_version_digest_1, nn_labelmap_digest_1, nn_training_digest_1: C functions
-- nn.open registers on its connection only while it migrates) before it is rewritten
-- under the new one (nn_version_digest, nn_labelmap_digest, nn_training_digest).  A row
-- that does not verify stops the migration with an error naming it
-- (nn_migration_refuse), and the whole migration, in one transaction, changes nothing:
-- a digest that was wrong is never made right by rewriting it.
--
--   SELECT m.name, v.version, v.digest = nn_version_digest(m.name, v.version, v.arch,
--          v.n_inputs, v.n_outputs, v.n_params, v.weights) AS ok
--   FROM nn_version AS v JOIN nn_model AS m USING (model_id);

SELECT nn_migration_refuse(printf('model ''%s'' version %d: its digest does not verify'
                                  || ' (changed outside nn?); nothing was migrated',
                                  coalesce(m.name, '#' || v.model_id), v.version))
FROM nn_version AS v LEFT JOIN nn_model AS m ON m.model_id = v.model_id
WHERE v.digest IS NOT nn_version_digest_1(v.model_id, v.version, v.arch, v.n_inputs,
                                          v.n_outputs, v.n_params, v.weights)
LIMIT 1;

SELECT nn_migration_refuse(printf('model ''%s'' label map ''%s'' (labelmap_id %d): its'
                                  || ' digest does not verify (changed outside nn?);'
                                  || ' nothing was migrated',
                                  coalesce(m.name, '#' || l.model_id), l.name, l.labelmap_id))
FROM nn_labelmap AS l LEFT JOIN nn_model AS m ON m.model_id = l.model_id
WHERE l.digest IS NOT nn_labelmap_digest_1(l.model_id, l.name, l.labels)
LIMIT 1;

SELECT nn_migration_refuse(printf('model ''%s'' version %d: its training run''s digest'
                                  || ' does not verify (changed outside nn?); nothing was'
                                  || ' migrated', coalesce(m.name, '#' || v.model_id),
                                  coalesce(v.version, t.version_id)))
FROM nn_training AS t LEFT JOIN nn_version AS v ON v.version_id = t.version_id
LEFT JOIN nn_model AS m ON m.model_id = v.model_id
WHERE t.digest IS NOT nn_training_digest_1(t.version_id, t.options, t.rows, t.epochs,
                                           t.best_epoch, t.stopped, t.source,
                                           t.started_at, t.ended_at)
LIMIT 1;

DROP TRIGGER nn_version_no_update;
DROP TRIGGER nn_labelmap_no_update;
DROP TRIGGER nn_training_no_update;

UPDATE nn_version
SET digest = nn_version_digest(model_id, version, arch, n_inputs, n_outputs, n_params,
                               weights);

UPDATE nn_labelmap SET digest = nn_labelmap_digest(model_id, name, labels);

UPDATE nn_training
SET digest = nn_training_digest(version_id, options, rows, epochs, best_epoch, stopped,
                                source, started_at, ended_at);

CREATE TRIGGER nn_version_no_update BEFORE UPDATE ON nn_version
BEGIN SELECT RAISE(ABORT, 'nn_version is immutable'); END;

CREATE TRIGGER nn_labelmap_no_update BEFORE UPDATE ON nn_labelmap
BEGIN SELECT RAISE(ABORT, 'nn_labelmap is immutable'); END;

CREATE TRIGGER nn_training_no_update BEFORE UPDATE ON nn_training
BEGIN SELECT RAISE(ABORT, 'nn_training is immutable'); END;

-- A model keeps its name: every digest of its rows covers it.
CREATE TRIGGER nn_model_no_rename BEFORE UPDATE OF name ON nn_model
WHEN NEW.name IS NOT OLD.name
BEGIN SELECT RAISE(ABORT, 'nn_model.name cannot change: digests cover it'); END;
