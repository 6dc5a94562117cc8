/*
** sql_check.c: one prepared statement calling nn_classify, executed again
** and again while versions are saved in between, for spec/sql_spec.lua.
** It loads the extension into a plain SQLite connection, as any SQLite
** client would, and prints "step label" lines; it holds no expected value.
**
**   sql_check models.db build/nn0.so
*/
#include <stdio.h>

#include <sqlite3.h>

/* Copy version `from` of model `src` as version `to` of leaf_flower, and
** bring leaf_flower's facts up to date, as a tool that writes rows does. */
#define COPY_VERSION(src, from, to) \
  "INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs," \
  " n_params, weights, checksum, created_at, digest)" \
  " SELECT m.model_id, " #to "," \
  " arch, n_inputs, n_outputs, n_params, weights, checksum, created_at," \
  " nn_version_digest(m.model_id, " #to ", arch, n_inputs, n_outputs, n_params, weights)" \
  " FROM nn_version, (SELECT model_id FROM nn_model WHERE name = 'leaf_flower') AS m" \
  " WHERE version = " #from " AND nn_version.model_id =" \
  " (SELECT model_id FROM nn_model WHERE name = '" src "');" \
  " UPDATE nn_model SET facts = nn_model_facts(model_id) WHERE name = 'leaf_flower'"

static int fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  return 1;
}

/* Execute st once more; print its answer after name. */
static int answer(sqlite3 *db, sqlite3_stmt *st, const char *name) {
  if (sqlite3_step(st) != SQLITE_ROW)
    return fail(db, name);
  printf("%s %s\n", name, (const char *)sqlite3_column_text(st, 0));
  return sqlite3_reset(st) != SQLITE_OK ? fail(db, name) : 0;
}

int main(int argc, char **argv) {
  sqlite3 *db = NULL, *other = NULL;
  sqlite3_stmt *st = NULL;
  char *err = NULL;
  int bad;
  if (argc != 3) {
    fprintf(stderr, "usage: sql_check DB EXTENSION\n");
    return 2;
  }
  if (sqlite3_open(argv[1], &db) != SQLITE_OK)
    return fail(db, "open");
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, argv[2], NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "load: %s\n", err);
    sqlite3_free(err);
    return 1;
  }
  if (sqlite3_prepare_v2(db, "SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2)",
                         -1, &st, NULL) != SQLITE_OK)
    return fail(db, "prepare");
  bad = answer(db, st, "first") || answer(db, st, "same");
  /* another connection saves version 2: the flower network */
  if (!bad && (sqlite3_open(argv[1], &other) != SQLITE_OK ||
               sqlite3_enable_load_extension(other, 1) != SQLITE_OK ||
               sqlite3_load_extension(other, argv[2], NULL, NULL) != SQLITE_OK ||
               sqlite3_exec(other, COPY_VERSION("flowerish", 1, 2), NULL, NULL, NULL)))
    bad = fail(other, "other");
  sqlite3_close(other);
  bad = bad || answer(db, st, "other");
  /* this connection saves version 3: the leaf network again */
  if (!bad && sqlite3_exec(db, COPY_VERSION("leaf_flower", 1, 3), NULL, NULL, NULL))
    bad = fail(db, "own");
  bad = bad || answer(db, st, "own");
  sqlite3_finalize(st);
  /* sqlite3_close, not _v2: a statement the extension left behind fails it */
  if (sqlite3_close(db) != SQLITE_OK)
    return fail(db, "close");
  return bad;
}
