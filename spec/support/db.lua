--- What the specs do with a store's database again and again: run SQL
-- through store:rows and remove a database file with its companions.

local db = {}

--- Remove the database at path, its WAL, shared memory and journal.
function db.remove(path)
  for _, suffix in ipairs{ "", "-wal", "-shm", "-journal" } do os.remove(path .. suffix) end
end

--- Run a statement for its effect.
function db.exec(store, sql, ...)
  for _ in store:rows(sql, ...) do end
end

--- Every row, as tables by column name.
function db.all(store, sql, ...)
  local rows = {}
  for row in store:rows(sql, ...) do rows[#rows + 1] = row end
  return rows
end

--- The single value of the first row (a query of one column), or nil.
-- Every row is read: a loop left early finalizes its statement at once only
-- on Lua 5.4 (its closing value); before, the statement stays open until
-- collected.
function db.value(store, sql, ...)
  local first
  for row in store:rows(sql, ...) do
    first = first or row
  end
  if first then
    local _, v = next(first)
    return v
  end
end

--- The number of schema/NNN_name.sql files: the user_version nn.open sets.
--- What schema/007_store_id.sql adds to a file, taken away again, one
-- statement a string: a spec that makes a file of an older schema runs them.
db.UNDO_STORE_ID = {
  "DROP TABLE nn_meta", "DROP TABLE nn_push_mark",
  "DROP INDEX nn_prediction_by_origin", "DROP INDEX nn_feedback_by_origin",
  "ALTER TABLE nn_prediction DROP COLUMN origin",
  "ALTER TABLE nn_prediction DROP COLUMN origin_id",
  "ALTER TABLE nn_feedback DROP COLUMN origin", "ALTER TABLE nn_feedback DROP COLUMN origin_id",
}

--- What schema/008_digests_by_name.sql did to a store, undone: every digest
-- laid out over the model_id again (layout 1, computed by
-- spec/support/digest.lua), the rename trigger dropped; for a spec that
-- makes a file of an older schema.
function db.undo_digests_by_name(store)
  local digest = require "spec.support.digest"
  local triggers = {}
  for _, t in ipairs{ "nn_version", "nn_labelmap", "nn_training" } do
    triggers[#triggers + 1] = db.value(store, "SELECT sql FROM sqlite_schema WHERE name = ?",
                                       t .. "_no_update")
    db.exec(store, "DROP TRIGGER " .. t .. "_no_update")
  end
  db.exec(store, "DROP TRIGGER nn_model_no_rename")
  for _, v in ipairs(db.all(store, "SELECT * FROM nn_version")) do
    db.exec(store, "UPDATE nn_version SET digest = ? WHERE version_id = ?",
            digest.version(v, 1), v.version_id)
  end
  for _, m in ipairs(db.all(store, "SELECT * FROM nn_labelmap")) do
    db.exec(store, "UPDATE nn_labelmap SET digest = ? WHERE labelmap_id = ?",
            digest.labelmap(m, 1), m.labelmap_id)
  end
  for _, t in ipairs(db.all(store, "SELECT t.*, v.model_id, v.version FROM nn_training AS t"
                            .. " JOIN nn_version AS v USING (version_id)")) do
    local epochs = db.all(store, "SELECT * FROM nn_training_epoch WHERE version_id = ?"
                          .. " ORDER BY epoch", t.version_id)
    db.exec(store, "UPDATE nn_training SET digest = ? WHERE version_id = ?",
            digest.training(t, epochs, 1), t.version_id)
  end
  for _, sql in ipairs(triggers) do db.exec(store, sql) end
end

function db.schema_count()
  local n, p = 0, io.popen("ls schema")
  for name in p:lines() do
    if name:match("^%d+_.*%.sql$") then n = n + 1 end
  end
  p:close()
  return n
end

return db
