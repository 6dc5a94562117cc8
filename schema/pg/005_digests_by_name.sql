-- Digests over the model's name, as in a file (schema/008_digests_by_name.sql
-- says why): a version, a label map or a training run has the same digest in
-- every store, SQLite or PostgreSQL, laid out as src/formats/nn_digest.c says
-- (layout 2).  nn computes them in C when it saves and loads; the functions
-- here compute the same bytes in SQL, for this migration and for tools that
-- write rows in SQL:
--
--   nn_version_digest(model, version, arch, n_inputs, n_outputs, n_params, weights)
--   nn_labelmap_digest(model, name, labels)
--   nn_training_digest(version_id, options, rows, epochs, best_epoch, stopped,
--                      source, started_at, ended_at)   (reads the run's epochs)
--
-- model is the model's name.  Every digest written before is checked here under
-- the layout it was written in (over the model_id, nn_digest_head(kind, NULL, id))
-- before it is rewritten: a row that does not verify stops the migration with an
-- error naming it, and the migration's one transaction changes nothing.  A model
-- keeps its name from now on (nn_model_no_rename).
--
--   SELECT m.name, v.version, v.digest = nn_version_digest(m.name, v.version, v.arch,
--          v.n_inputs, v.n_outputs, v.n_params, v.weights) AS ok
--   FROM nn_version AS v JOIN nn_model AS m USING (model_id);

-- The head of a digest: kind " 2\n" #model "\n" model, or (model NULL, the layout
-- before) kind "\n" model_id "\n".
CREATE FUNCTION nn_digest_head(kind text, model text, model_id bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $$
  SELECT CASE WHEN model IS NULL THEN convert_to(format(E'%s\n%s\n', kind, model_id), 'UTF8')
         ELSE convert_to(format(E'%s 2\n%s\n', kind, octet_length(convert_to(model, 'UTF8')))
                         || model, 'UTF8') END
$$;

-- A length-prefixed text: #x "\n" x.
CREATE FUNCTION nn_digest_text(x text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_to(octet_length(convert_to(x, 'UTF8')) || E'\n' || x, 'UTF8')
$$;

-- A REAL: its binary64 bits in hex (-0 as 0) and "\n", or "-\n" for NULL.
CREATE FUNCTION nn_digest_real(x double precision) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN x IS NULL OR x = 'NaN' THEN E'-\n'
         ELSE encode(float8send(x + 0.0), 'hex') || E'\n' END
$$;

CREATE FUNCTION nn_version_digest_at(head bytea, version bigint, arch text,
  n_inputs bigint, n_outputs bigint, n_params bigint, weights bytea) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $$
  SELECT encode(sha256(head || convert_to(format(E'%s\n%s\n%s\n%s\n', version, n_inputs,
                n_outputs, n_params), 'UTF8') || nn_digest_text(arch) || weights), 'hex')
$$;

CREATE FUNCTION nn_labelmap_digest_at(head bytea, name text, labels text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $$
  SELECT encode(sha256(head || nn_digest_text(name) || nn_digest_text(labels)), 'hex')
$$;

-- Its tables are the store's own, whatever search_path the caller has.
CREATE FUNCTION nn_training_digest_at(head bytea, version_id bigint, version bigint,
  options text, rows bigint, epochs bigint, best_epoch bigint, stopped text, source text,
  started_at bigint, ended_at bigint) RETURNS text
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT encode(sha256(head
    || convert_to(format(E'%s\n%s\n%s\n%s\n%s\n%s\n', version, rows, epochs,
                         coalesce(best_epoch::text, '-'), started_at, ended_at), 'UTF8')
    || nn_digest_text(stopped) || nn_digest_text(options)
    || CASE WHEN source IS NULL THEN convert_to(E'-\n', 'UTF8') ELSE nn_digest_text(source) END
    || convert_to(coalesce((SELECT string_agg(e.epoch || E'\n' || nn_digest_real(e.loss)
                              || nn_digest_real(e.val_loss) || nn_digest_real(e.val_accuracy)
                              || nn_digest_real(e.ms), '' ORDER BY e.epoch)
                            FROM nn_training_epoch AS e WHERE e.version_id = $2), ''),
                  'UTF8')), 'hex')
$$;

CREATE FUNCTION nn_version_digest(model text, version bigint, arch text, n_inputs bigint,
  n_outputs bigint, n_params bigint, weights bytea) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $$
  SELECT nn_version_digest_at(nn_digest_head('nn_version', model, NULL), version, arch,
                              n_inputs, n_outputs, n_params, weights)
$$;

CREATE FUNCTION nn_labelmap_digest(model text, name text, labels text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $$
  SELECT nn_labelmap_digest_at(nn_digest_head('nn_labelmap', model, NULL), name, labels)
$$;

CREATE FUNCTION nn_training_digest(version_id bigint, options text, rows bigint,
  epochs bigint, best_epoch bigint, stopped text, source text, started_at bigint,
  ended_at bigint) RETURNS text
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT nn_training_digest_at(nn_digest_head('nn_training', m.name, NULL), $1, v.version,
                               $2, $3, $4, $5, $6, $7, $8, $9)
  FROM nn_version AS v JOIN nn_model AS m USING (model_id) WHERE v.version_id = $1
$$;

DO $$
DECLARE r record;
BEGIN
  SELECT m.name, v.version INTO r FROM nn_version AS v JOIN nn_model AS m USING (model_id)
  WHERE v.digest IS DISTINCT FROM nn_version_digest_at(
    nn_digest_head('nn_version', NULL, v.model_id), v.version, v.arch, v.n_inputs,
    v.n_outputs, v.n_params, v.weights)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'model ''%'' version %: its digest does not verify (changed outside'
                    ' nn?); nothing was migrated', r.name, r.version;
  END IF;
  SELECT m.name, l.name AS map, l.labelmap_id INTO r
  FROM nn_labelmap AS l JOIN nn_model AS m USING (model_id)
  WHERE l.digest IS DISTINCT FROM nn_labelmap_digest_at(
    nn_digest_head('nn_labelmap', NULL, l.model_id), l.name, l.labels)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'model ''%'' label map ''%'' (labelmap_id %): its digest does not'
                    ' verify (changed outside nn?); nothing was migrated', r.name, r.map,
                    r.labelmap_id;
  END IF;
  SELECT m.name, v.version INTO r FROM nn_training AS t JOIN nn_version AS v
  USING (version_id) JOIN nn_model AS m USING (model_id)
  WHERE t.digest IS DISTINCT FROM nn_training_digest_at(
    nn_digest_head('nn_training', NULL, v.model_id), t.version_id, v.version, t.options,
    t.rows, t.epochs, t.best_epoch, t.stopped, t.source, t.started_at, t.ended_at)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'model ''%'' version %: its training run''s digest does not verify'
                    ' (changed outside nn?); nothing was migrated', r.name, r.version;
  END IF;
END $$;

ALTER TABLE nn_version DISABLE TRIGGER nn_version_immutable;
ALTER TABLE nn_labelmap DISABLE TRIGGER nn_labelmap_immutable;
ALTER TABLE nn_training DISABLE TRIGGER nn_training_immutable;

UPDATE nn_version AS v SET digest = nn_version_digest(m.name, v.version, v.arch,
  v.n_inputs, v.n_outputs, v.n_params, v.weights)
FROM nn_model AS m WHERE m.model_id = v.model_id;

UPDATE nn_labelmap AS l SET digest = nn_labelmap_digest(m.name, l.name, l.labels)
FROM nn_model AS m WHERE m.model_id = l.model_id;

UPDATE nn_training SET digest = nn_training_digest(version_id, options, rows, epochs,
  best_epoch, stopped, source, started_at, ended_at);

ALTER TABLE nn_version ENABLE TRIGGER nn_version_immutable;
ALTER TABLE nn_labelmap ENABLE TRIGGER nn_labelmap_immutable;
ALTER TABLE nn_training ENABLE TRIGGER nn_training_immutable;

CREATE FUNCTION nn_refuse_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'nn_model.name cannot change: digests cover it';
END $$;

CREATE TRIGGER nn_model_no_rename BEFORE UPDATE OF name ON nn_model
FOR EACH ROW WHEN (NEW.name IS DISTINCT FROM OLD.name) EXECUTE FUNCTION nn_refuse_rename();
