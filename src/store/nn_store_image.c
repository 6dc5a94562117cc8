/*
** nn_store_image.c: a store's database as bytes, and as a file to ship
** (nn_store_serialize and nn_store_ship in nn_store.h).
**
** What it implements: the bytes of the database as of its last commit
** (sqlite3_serialize), with a WAL database's header turned to the rollback
** journal so that the bytes read alone, from memory (nn_store_open_bytes)
** or from a file; and a compact copy written to a new file (VACUUM INTO),
** in rollback-journal mode, so that it is read without a -wal or -shm
** beside it, replacing an existing file only when asked and then whole.
** What it is not: opening bytes (nn_store.c), the log (rows still buffered
** are the caller's to flush first).  No Lua, nothing printed.
**
**   VACUUM INTO 'game/models.db';   then PRAGMA journal_mode = DELETE on it
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/nn_store_int.h"

/* A header's file format versions (offsets 18, 19): 2 for WAL, 1 for the
** rollback journal; the pages are the same either way. */
static void rollback_header(unsigned char *p) {
  if (p[18] == 2 && p[19] == 2)
    p[18] = p[19] = 1;
}

int nn_store_serialize(nn_store *s, unsigned char **out, size_t *n) {
  sqlite3_int64 size = 0;
  unsigned char *p;
  *out = NULL;
  *n = 0;
  if (!s->db)
    return nn_st_closed(s);
  if (!(p = sqlite3_serialize(s->db, "main", &size, 0))) {
    int rc = sqlite3_errcode(s->db);
    return rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE ? nn_st_db_fail(s)
                                                                     : nn_st_nomem(s);
  }
  if (size >= 100)
    rollback_header(p);
  *out = p;
  *n = (size_t)size;
  return NN_OK;
}

void nn_store_free(void *p) {
  sqlite3_free(p);
}

/* The first 16 bytes of the file name + suffix: is it an SQLite database?
** (Its name and its bytes, as SQLite would read it.) */
static int is_database(const char *name, const char *suffix) {
  char *path = sqlite3_mprintf("%s%s", name, suffix), head[16];
  FILE *f = path ? fopen(path, "rb") : NULL;
  int is = f && fread(head, 1, 16, f) == 16 && memcmp(head, "SQLite format 3", 16) == 0;
  if (f)
    fclose(f);
  sqlite3_free(path);
  return is;
}

/* Is there a file named name + suffix (one this process cannot read
** counts)?  Memory running out counts as yes: ship then refuses. */
static int exists(const char *name, const char *suffix) {
  char *path = sqlite3_mprintf("%s%s", name, suffix);
  FILE *f;
  if (!path)
    return 1;
  errno = 0;
  f = fopen(path, "rb");
  sqlite3_free(path);
  if (f)
    fclose(f);
  return f != NULL || errno != ENOENT;
}

/* Fails when ship must not write path: a file there (unless overwrite),
** a database with a -wal or -journal beside it (it may be open: replacing
** it under its connections would let them write into the copy), or the
** name of a database's side file (which SQLite would read as one). */
static int may_write(nn_store *s, const char *path, int overwrite) {
  static const char *const sides[] = { "-wal", "-shm", "-journal" };
  size_t i, n = strlen(path), k;
  if (exists(path, "") && !overwrite)
    return nn_st_fail(s, NN_ERROR, "%s exists: ship writes a new file (overwrite ="
                      " true replaces it)", path);
  if (is_database(path, "") && (exists(path, "-wal") || exists(path, "-journal")))
    return nn_st_fail(s, NN_ERROR, "%s has a -wal or -journal beside it (it may be"
                      " open): ship never replaces it", path);
  for (i = 0; i < sizeof sides / sizeof *sides; i++) {
    k = strlen(sides[i]);
    if (n > k && strcmp(path + n - k, sides[i]) == 0) {
      char *db = sqlite3_mprintf("%.*s", (int)(n - k), path);
      int side = db && is_database(db, "");
      sqlite3_free(db);
      if (side)
        return nn_st_fail(s, NN_ERROR, "%s is the name of a database's %s file: ship"
                          " never writes one", path, sides[i] + 1);
    }
  }
  return NN_OK;
}

/* db's main database into a new file at path, compacted: VACUUM INTO
** writes a consistent snapshot, and refuses a file that is there. */
static int vacuum_into(nn_store *s, const char *path) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, "VACUUM main INTO ?", -1, &st, NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC)) == SQLITE_OK)
    rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_OK || rc == SQLITE_DONE ? NN_OK : nn_st_db_fail(s);
}

/* The file at path (nobody else's yet) to the rollback journal: a copy of
** a WAL database is one too.  Its -wal and -shm, made meanwhile, go with
** the last connection's close. */
static int to_rollback(nn_store *s, const char *path) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    rc = nn_st_db_error(s, db);
  sqlite3_close_v2(db);
  return rc;
}

int nn_store_ship(nn_store *s, const char *path, int overwrite) {
  char *tmp;
  int rc;
  if (!s->db)
    return nn_st_closed(s);
  if ((rc = may_write(s, path, overwrite)) != NN_OK)
    return rc;
  /* written whole beside path, then renamed over it: path is never half
  ** written, and a failure leaves it as it was */
  if (!(tmp = sqlite3_mprintf("%s.nn-ship", path)))
    return nn_st_nomem(s);
  if (exists(tmp, "") || exists(tmp, "-journal") || exists(tmp, "-wal")) {
    rc = nn_st_fail(s, NN_ERROR, "%s exists (a ship that did not finish?): remove"
                    " it first", tmp);
    sqlite3_free(tmp);
    return rc;
  }
  if ((rc = vacuum_into(s, tmp)) == NN_OK && (rc = to_rollback(s, tmp)) == NN_OK &&
      rename(tmp, path) != 0)
    rc = nn_st_fail(s, NN_EIO, "cannot rename %s to %s", tmp, path);
  if (rc != NN_OK)
    remove(tmp);   /* whatever VACUUM INTO wrote of it */
  sqlite3_free(tmp);
  return rc;
}
