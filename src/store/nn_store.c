/*
** nn_store.c: an nn database opened, migrated and closed (see nn_store.h
** for the interface); the top of the store.
**
** What it implements: nn_store_open checks that a file is an nn database
** (or an empty one) without changing a foreign one, switches it to WAL and
** applies schema/NNN_name.sql in one transaction, with the digest functions
** the migrations need on the connection meanwhile; a read-only open that
** leaves no file behind, a writable one refused when the file is read-only
** to the process, and an image in memory opened read-only
** (nn_store_open_bytes, through sqlite3_deserialize); closing, and borrowing
** someone else's connection (attach, detach).  It is the one file that
** needs every other: the label-map cache a connection owns
** (nn_store_labels.c), the digest functions of versions and training runs
** (nn_store_version.c, nn_store_train.c), the connection's helpers
** (nn_store_conn.c); none of them calls it.  What it is not: the helpers
** themselves, versions, label maps, the log, the caller's own SQL
** (nn_store_cursor.c); and it registers no SQL function but the digests of
** its own migrations (whoever opens a connection does: see nn_sql.h).  No
** Lua, nothing printed: a status comes back and s->err says what went
** wrong.
**
**   nn_store s;
**   nn_store_init(&s);
**   if (nn_store_open(&s, "models.db", NULL) != NN_OK) ... s.err ...
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/nn_store_int.h"

/* The oldest schema a read-only open reads as it is: 006 changed only how
** feedback ids are given. */
#define NN_SCHEMA_READABLE  5
/* The first schema whose digests cover the model's name (a read-only open
** of an older file checks them over its model_id, as they were written). */
#define NN_SCHEMA_DIGESTS_BY_NAME  8

/* A statement run once (opening, migrating): sqlite3_exec, errors kept. */
static int exec(nn_store *s, const char *sql) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  return NN_OK;
}

/* ------------------------------------------------------------------------
** Opening, migrating, closing
*/

void nn_store_init(nn_store *s) {
  static const nn_store_opts defaults = NN_STORE_OPTS_DEFAULT;
  memset(s, 0, sizeof *s);
  s->opts = defaults;
}

int nn_store_is_open(const nn_store *s) {
  return s->db != NULL || s->engine != NULL;
}

/* The application_id, user_version and number of schema objects of db, in
** one read transaction. */
static int read_owner(nn_store *s, sqlite3 *db, int64_t out[3]) {
  static const char *const sql[3] = {
    "PRAGMA application_id", "PRAGMA user_version", "SELECT count(*) FROM sqlite_schema"
  };
  sqlite3_stmt *st = NULL;
  int i, rc = SQLITE_OK;
  for (i = 0; i < 3 && rc == SQLITE_OK; i++) {
    out[i] = 0;
    if ((rc = sqlite3_prepare_v2(db, sql[i], -1, &st, NULL)) == SQLITE_OK) {
      if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        out[i] = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
      }
      sqlite3_finalize(st);
    }
  }
  return rc == SQLITE_OK ? NN_OK : nn_st_db_error(s, db);
}

/* Whose file is it, from what read_owner read?  *version: the schema
** version to migrate from. */
static int check_owner(nn_store *s, const int64_t owner[3], int64_t *version) {
  int64_t app = owner[0], user_version = owner[1], objects = owner[2];
  if (app == 0 && objects == 0) {   /* empty: it becomes ours */
    *version = 0;
    return NN_OK;
  }
  if (app != NN_APPLICATION_ID) {
    if (app != 0)
      return nn_st_fail(s, NN_EFOREIGN,
                        "not an nn database (application_id 0x%08" PRIx32 ")",
                        (uint32_t)app);
    return nn_st_fail(s, NN_EFOREIGN,
                      "not an nn database (no application_id, and tables of its own)");
  }
  if (user_version < 0)
    return nn_st_fail(s, NN_ESCHEMA, "schema version %" PRId64 " is not one nn"
                      " writes (0 to %zu)", user_version, nn_schema_count);
  if (user_version > (int64_t)nn_schema_count)
    return nn_st_fail(s, NN_ESCHEMA,
                      "schema version %" PRId64 " is newer than this nn knows (%zu)",
                      user_version, nn_schema_count);
  *version = user_version;
  return NN_OK;
}

static int owner_of(nn_store *s, int64_t *version) {
  int64_t owner[3];
  int rc = read_owner(s, s->db, owner);
  return rc ? rc : check_owner(s, owner, version);
}

int nn_store_digest_functions(sqlite3 *db, int on) {
  int rc = nn_st_version_digest_functions(db, on, 2);
  if (rc == SQLITE_OK)
    rc = nn_st_training_digest_function(db, on, 2);
  return rc == SQLITE_OK ? nn_st_facts_function(db, on) : rc;
}

/* nn_migration_refuse(message): fails with message, so that a migration
** stops on a row it cannot take (schema/008_digests_by_name.sql). */
static void sql_refuse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *msg = (const char *)sqlite3_value_text(argv[0]);
  (void)argc;
  sqlite3_result_error(ctx, msg ? msg : "refused", -1);
}

/* What only migrations use: the digests of layout 1, nn_migration_refuse. */
static int migration_functions(sqlite3 *db, int on) {
  int rc = nn_st_version_digest_functions(db, on, 1);
  if (rc == SQLITE_OK)
    rc = nn_st_training_digest_function(db, on, 1);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "nn_migration_refuse", 1, SQLITE_UTF8, NULL,
                                    on ? sql_refuse : NULL, NULL, NULL, NULL);
  return rc == SQLITE_OK ? nn_store_digest_functions(db, on) : rc;
}

/* Apply the missing migrations, all of them or none, with the SQL functions
** they need (nn_store_digest_functions) on the connection meanwhile. */
static int migrate(nn_store *s) {
  char sql[96];
  int64_t version;
  size_t i;
  int rc;
  if ((rc = exec(s, "BEGIN IMMEDIATE")) != NN_OK)
    return rc;
  /* Another process may have migrated the file since we looked. */
  if ((rc = owner_of(s, &version)) != NN_OK)
    goto fail;
  if ((size_t)version < nn_schema_count && migration_functions(s->db, 1) != SQLITE_OK) {
    rc = nn_st_db_fail(s);
    goto fail;
  }
  for (i = (size_t)version; i < nn_schema_count; i++)
    if ((rc = exec(s, nn_schema_sql[i])) != NN_OK) {
      char err[NN_ERRMAX];
      memcpy(err, s->err, sizeof err);
      rc = nn_st_fail(s, rc, "schema migration %zu: %s", i + 1, err);
      goto fail;
    }
  snprintf(sql, sizeof sql, "PRAGMA user_version = %zu; PRAGMA application_id = %ld",
           nn_schema_count, (long)NN_APPLICATION_ID);
  if ((rc = exec(s, sql)) != NN_OK || (rc = exec(s, "COMMIT")) != NN_OK)
    goto fail;
  migration_functions(s->db, 0);
  return NN_OK;
fail:
  nn_st_rollback(s);
  migration_functions(s->db, 0);
  return rc;
}

/* path as an SQLite URI filename with query: "file:" and the path with
** every byte a URI would read otherwise percent-encoded.  NULL when memory
** runs out; sqlite3_free it. */
static char *uri_of(const char *path, const char *query) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(path), i, k = 0;
  char *uri = (char *)sqlite3_malloc64(5 + 3 * n + strlen(query) + 1);
  if (!uri)
    return NULL;
  memcpy(uri, "file:", 5);
  k = 5;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7f) {
      uri[k++] = '%';
      uri[k++] = hex[c >> 4];
      uri[k++] = hex[c & 15];
    } else
      uri[k++] = (char)c;
  }
  strcpy(uri + k, query);
  return uri;
}

/* Is an existing file at path someone else's?  Asked of its bytes, before
** any SQLite connection touches it (nn_store_owner.c): even a read-only one
** rolls back a hot journal and rebuilds a WAL's -shm, and a read-write one
** checkpoints on close.  FOREIGN or SCHEMA when it is not ours to open,
** NOTADB when it is no database; OK when it is ours, when it is new, or
** when this cannot tell (the connection then asks again, in SQL). */
static int probe(nn_store *s, const char *path) {
  int64_t owner[3], version;
  int rc, known;
  if (strcmp(path, ":memory:") == 0 || path[0] == '\0' || strncmp(path, "file:", 5) == 0)
    return NN_OK;
  if ((rc = nn_st_file_owner(path, owner, &known)) == NN_ENOTADB)
    return nn_st_fail(s, rc, "file is not a database");
  if (rc != NN_OK)
    return nn_st_nomem(s);
  if (!known)
    return NN_OK;
  rc = check_owner(s, owner, &version);
  return rc == NN_EFOREIGN || rc == NN_ESCHEMA ? rc : NN_OK;
}

/* Is there a file named path + suffix (one this process cannot read
** counts)?  -1 when memory runs out. */
static int side_file(const char *path, const char *suffix) {
  char *name = sqlite3_mprintf("%s%s", path, suffix);
  FILE *f;
  int there;
  if (!name)
    return -1;
  errno = 0;
  f = fopen(name, "rb");
  there = f != NULL || errno != ENOENT;
  if (f)
    fclose(f);
  sqlite3_free(name);
  return there;
}

/* Open path read-only as SQLite's immutable URI: no lock, no -shm. */
static int open_immutable(nn_store *s, const char *path) {
  char *uri = uri_of(path, "?immutable=1");
  int rc;
  if (!uri)
    return nn_st_nomem(s);
  rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
  sqlite3_free(uri);
  return rc == SQLITE_OK ? NN_OK : nn_st_db_fail(s);
}

/* How to read path without leaving a file beside it.  A WAL database is
** read through its -shm, which SQLite creates, with a -wal, wherever it
** may (as root, in a writable folder) and a read-only connection never
** deletes.  When both are there (a writer has the file open, or left
** them), reading through them creates nothing.  Else the file is read as
** immutable: no -shm, no lock, so a change another process makes while it
** is open is not seen; and a -wal holding commits, which only a -shm could
** read, is refused.  A file in rollback-journal mode needs neither.
** 1: immutable; 0: a plain read-only open; else a status. */
static int readonly_way(nn_store *s, const char *path) {
  int wal_mode, commits, shm, wal;
  if (strcmp(path, ":memory:") == 0 || path[0] == '\0' || strncmp(path, "file:", 5) == 0)
    return 0;   /* the caller's own URI decides */
  if (nn_st_file_wal(path, &wal_mode, &commits) != NN_OK ||
      (shm = side_file(path, "-shm")) < 0 || (wal = side_file(path, "-wal")) < 0)
    return nn_st_nomem(s);
  if (!wal_mode || (shm && wal))
    return 0;
  if (commits > 0)
    return nn_st_fail(s, NN_EREADONLY, "its -wal holds commits not in the file yet,"
                      " which only a -shm beside it could read: open it once writable"
                      " first");
  return 1;
}

/* The read-only open of nn_store_open, up to the owner check (readonly_way
** says how).  A plain open may still fail for want of a -shm (in a
** read-only folder SQLite cannot make one, SQLITE_READONLY_CANTINIT): the
** file is then opened again as immutable. */
static int open_readonly(nn_store *s, const char *path, int64_t *version) {
  int rc, way = readonly_way(s, path);
  if (way != 0 && way != 1)
    return way;
  if (way == 1)
    return (rc = open_immutable(s, path)) != NN_OK ? rc : owner_of(s, version);
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  rc = owner_of(s, version);
  if (rc != NN_EREADONLY && rc != NN_ECANTOPEN)
    return rc;
  sqlite3_close_v2(s->db);
  s->db = NULL;
  return (rc = open_immutable(s, path)) != NN_OK ? rc : owner_of(s, version);
}

/* The writable open of nn_store_open.  SQLite opens a file it may not
** write read-only without a word, and every write then fails: a file
** read-only to this process is refused here instead. */
static int open_writable(nn_store *s, const char *path) {
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  if (sqlite3_db_readonly(s->db, "main") == 1)
    return nn_st_fail(s, NN_EREADONLY, "the file is read-only to this process: open"
                      " it with readonly = true to read it");
  return NN_OK;
}

/* What every open store has: its cache of label maps, its busy timeout and
** the clock the log reads for every row (found once: a lookup locks). */
static int open_common(nn_store *s) {
  if (!(s->maps = nn_labelcache_new()))
    return nn_st_nomem(s);
  sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms);
  s->vfs = sqlite3_vfs_find(NULL);
  return NN_OK;
}

/* A read-only store is never migrated: its schema must be one this nn reads
** as it is (NN_SCHEMA_READABLE or later). */
static int readonly_schema(nn_store *s, int64_t version) {
  s->digests_by_id = version < NN_SCHEMA_DIGESTS_BY_NAME;
  if ((size_t)version >= NN_SCHEMA_READABLE)
    return NN_OK;
  return nn_st_fail(s, NN_ESCHEMA, "schema version %" PRId64 " is older than this"
                    " nn's (%zu), and a read-only open cannot migrate it", version,
                    nn_schema_count);
}

static int check_opts(nn_store *s, const nn_store_opts *opts) {
  nn_store_init(s);
  if (opts)
    s->opts = *opts;
  if (s->opts.flush_rows < 1 || s->opts.flush_ms < 0 || s->opts.busy_timeout_ms < 0 ||
      s->opts.max_pending < s->opts.flush_rows || s->opts.on_full < NN_FULL_ERROR ||
      s->opts.on_full > NN_FULL_DROP)
    return nn_st_fail(s, NN_ERROR, "invalid options");
  return NN_OK;
}

int nn_store_open(nn_store *s, const char *path, const nn_store_opts *opts) {
  int64_t version = 0;
  int rc;
  if (s->db)
    return nn_st_fail(s, NN_ERROR, "the store is already open");
  if ((rc = check_opts(s, opts)) != NN_OK)
    return rc;
  /* A foreign file must be left as it was found: any connection may roll
  ** back its journal or rebuild its -shm, a read-write one checkpoints its
  ** WAL and deletes its -wal and -shm on close. */
  if ((rc = probe(s, path)) != NN_OK)
    ;
  else if (s->opts.readonly)
    rc = open_readonly(s, path, &version);
  else
    rc = open_writable(s, path);
  if (rc != NN_OK || (rc = open_common(s)) != NN_OK)
    goto fail;
  if (s->opts.readonly) {   /* no WAL switch, no migration */
    if ((rc = readonly_schema(s, version)) != NN_OK)
      goto fail;
    return NN_OK;
  }
  /* Ownership before WAL: a foreign file must be left as it was found. */
  if ((rc = exec(s, "PRAGMA foreign_keys = ON")) != NN_OK ||
      (rc = owner_of(s, &version)) != NN_OK ||
      (rc = exec(s, "PRAGMA journal_mode = WAL")) != NN_OK ||
      (rc = exec(s, "PRAGMA synchronous = NORMAL")) != NN_OK)
    goto fail;
  if ((size_t)version < nn_schema_count && (rc = migrate(s)) != NN_OK)
    goto fail;
  return NN_OK;
fail:
  nn_store_close(s);
  return rc;
}

/* The connection of nn_store_open_bytes: ":memory:", its main database
** replaced by a copy of the image that SQLite owns (and frees on close,
** or at once when the call fails). */
static int deserialize(nn_store *s, const unsigned char *bytes, size_t n) {
  unsigned char *copy;
  if (sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  if (!(copy = (unsigned char *)sqlite3_malloc64(n)))
    return nn_st_nomem(s);
  memcpy(copy, bytes, n);
  /* The file format's read and write versions (offsets 18 and 19) are 2
  ** in a WAL database, which a memory database cannot read (no -wal, no
  ** -shm to read it through); 1, the rollback journal, reads the same
  ** pages.  Any other number is SQLite's to refuse. */
  if (copy[18] == 2 && copy[19] == 2)
    copy[18] = copy[19] = 1;
  if (sqlite3_deserialize(s->db, "main", copy, (sqlite3_int64)n, (sqlite3_int64)n,
                          SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY)
      != SQLITE_OK)
    return nn_st_db_fail(s);
  return NN_OK;
}

int nn_store_open_bytes(nn_store *s, const void *bytes, size_t n,
                        const nn_store_opts *opts) {
  int64_t owner[3], version = 0;
  const char *bad;
  int rc;
  if (s->db)
    return nn_st_fail(s, NN_ERROR, "the store is already open");
  if ((rc = check_opts(s, opts)) != NN_OK)
    return rc;
  s->opts.readonly = 1;
  if ((bad = nn_st_bytes_owner((const unsigned char *)bytes, n, owner)) != NULL)
    return nn_st_fail(s, NN_ENOTADB, "%s", bad);
  if ((rc = check_owner(s, owner, &version)) != NN_OK)
    return rc;
  /* then SQLite reads it: the schema's pages, the owner again */
  if ((rc = deserialize(s, (const unsigned char *)bytes, n)) != NN_OK ||
      (rc = owner_of(s, &version)) != NN_OK || (rc = open_common(s)) != NN_OK ||
      (rc = readonly_schema(s, version)) != NN_OK)
    goto fail;
  s->image = 1;
  return NN_OK;
fail:
  nn_store_close(s);
  return rc;
}

/* Finalize every statement prepared on s->db. */
static void finalize_all(nn_store *s) {
  size_t i;
  for (i = 0; i < NN_STORE_NSTMT; i++) {
    sqlite3_finalize(s->stmt[i]);   /* a no-op on NULL */
    s->stmt[i] = NULL;
  }
}

static void free_scratch(nn_store *s) {
  nn_buf_free(&s->log);
  nn_buf_free(&s->fb);
  nn_buf_free(&s->json);
  nn_buf_free(&s->text);
  nn_buf_free(&s->blob);
  nn_buf_free(&s->tags);
}

void nn_store_close(nn_store *s) {
  char err[NN_ERRMAX];
  if (s->engine) {
    s->engine->close(s);
    free_scratch(s);   /* the binding's tags are kept here on any engine */
    memcpy(err, s->err, sizeof err);
    nn_store_init(s);
    memcpy(s->err, err, sizeof err);
    return;
  }
  if (s->borrowed) {
    nn_store_detach(s);
    return;
  }
  finalize_all(s);
  /* _v2: should a statement we do not know of survive, the connection
  ** closes when it is finalized instead of leaking.  The SQL functions'
  ** hold on the label maps goes with the connection, before ours. */
  sqlite3_close_v2(s->db);
  nn_labelcache_release(s->maps);
  free_scratch(s);
  memcpy(err, s->err, sizeof err);
  nn_store_init(s);
  memcpy(s->err, err, sizeof err);
}

void nn_store_attach(nn_store *s, sqlite3 *db, nn_labelcache *maps) {
  s->db = db;
  s->maps = maps;
  s->borrowed = 1;
  /* The owner of db may change its journal or locking mode at any time
  ** without telling us, so the wal-index header is never read through a
  ** borrowed connection (with its index in heap memory, asking for the
  ** shared memory would create a -shm file nobody closes). */
  s->wal_state = -1;
}

void nn_store_detach(nn_store *s) {
  finalize_all(s);
  free_scratch(s);
  s->db = NULL;
  s->maps = NULL;
  s->borrowed = 0;
}
