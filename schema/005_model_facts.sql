-- 005_model_facts.sql: which versions, label maps and training runs each model has.
--
-- facts: a JSON object nn keeps on the model's row,
--   {"versions":2,"labelmaps":2,"runs":1,"digest":"<64 lowercase hex digits>"}
-- how many rows of each kind nn saved for the model, and the XOR of one SHA-256 per
-- row (nn_store_facts.c says how): "nn_model version\n" version_id "\n" version "\n",
-- "nn_model labelmap\n" labelmap_id "\n" #name "\n" name, or
-- "nn_model training\n" version_id "\n" (numbers in decimal, #x the byte length of x).
-- nn brings it up to date in the transaction that adds a row, and every load of the
-- model (store:load, store:classify, store:history, the SQL functions) checks it
-- against the rows the database holds: a version, a label map or a training run
-- deleted, renumbered or renamed outside nn is then an error naming the model,
-- never an older version or map answering in its place.  The rows' contents carry
-- digests of their own (003_digests.sql, 004_training_digests.sql).  Not a
-- signature: whoever deletes a row and rewrites facts is not caught.
--
-- The models written before this migration get their facts here, once, from the rows
-- they have, through nn_model_facts(): a C function nn.open registers on its
-- connection while it migrates (it is among the SQL functions too: a tool that writes
-- rows in SQL refreshes a model's facts with it after its own rows).
--
--   UPDATE nn_model SET facts = nn_model_facts(model_id) WHERE name = 'leaf_flower';
--   SELECT name, facts ->> 'versions' AS versions FROM nn_model;

ALTER TABLE nn_model ADD COLUMN facts TEXT
  CHECK (facts IS NULL OR (json_valid(facts) AND json_type(facts) = 'object'));

UPDATE nn_model SET facts = nn_model_facts(model_id);
