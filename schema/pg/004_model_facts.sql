-- Which versions, label maps and training runs each model has, as in a file
-- (schema/005_model_facts.sql says what and why): nn_model.facts, the text
--   {"versions":2,"labelmaps":2,"runs":1,"digest":"<64 lowercase hex digits>"}
-- byte for byte as SQLite keeps it for the same rows, which nn brings up to
-- date in the transaction that adds a row (src/pgstore/nn_pg_facts.c) and
-- checks on every load.  The digest is the XOR of one SHA-256 per row over
-- "nn_model version\n" version_id "\n" version "\n",
-- "nn_model labelmap\n" labelmap_id "\n" #name "\n" name, or
-- "nn_model training\n" version_id "\n" (numbers in decimal, #x the byte length
-- of x in UTF-8).
--
-- nn_model_facts(model_id) computes the text from the rows there are: the models
-- written before this migration get their facts here, once, and a tool that
-- writes rows in SQL refreshes a model's facts with it after its own rows.
--
--   UPDATE nn_model SET facts = nn_model_facts(model_id) WHERE name = 'leaf_flower';
--   SELECT name, facts::jsonb ->> 'versions' AS versions FROM nn_model;

ALTER TABLE nn_model ADD COLUMN facts text;

-- Its tables are the store's own, whatever search_path the caller has.
CREATE FUNCTION nn_model_facts(bigint) RETURNS text LANGUAGE sql STABLE
SET search_path FROM CURRENT AS $$
  WITH row_digest (kind, h) AS (
    SELECT 1, sha256(convert_to(format(E'nn_model version\n%s\n%s\n', version_id,
                                       version), 'UTF8'))
      FROM nn_version WHERE model_id = $1
    UNION ALL
    SELECT 2, sha256(convert_to(format(E'nn_model labelmap\n%s\n%s\n', labelmap_id,
                                       octet_length(convert_to(name, 'UTF8'))), 'UTF8')
                     || convert_to(name, 'UTF8'))
      FROM nn_labelmap WHERE model_id = $1
    UNION ALL
    SELECT 3, sha256(convert_to(format(E'nn_model training\n%s\n', t.version_id), 'UTF8'))
      FROM nn_version AS v JOIN nn_training AS t ON t.version_id = v.version_id
      WHERE v.model_id = $1
  ), summed AS (
    SELECT count(*) FILTER (WHERE kind = 1) AS versions,
           count(*) FILTER (WHERE kind = 2) AS labelmaps,
           count(*) FILTER (WHERE kind = 3) AS runs,
           coalesce(bit_xor(('x' || encode(h, 'hex'))::bit(256)), repeat('0', 256)::bit(256))
             AS d
      FROM row_digest
  )
  SELECT format('{"versions":%s,"labelmaps":%s,"runs":%s,"digest":"%s"}',
                versions, labelmaps, runs,
                (SELECT string_agg(to_hex(substring(d FROM 4 * i + 1 FOR 4)::int), ''
                                   ORDER BY i)
                   FROM generate_series(0, 63) AS i))
    FROM summed
$$;

UPDATE nn_model SET facts = nn_model_facts(model_id);
