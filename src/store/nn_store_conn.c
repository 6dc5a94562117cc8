/*
** nn_store_conn.c: the connection's helpers, the bottom of the store: every
** other file of the store prepares, steps, binds and writes through them.
**
** What it implements: statuses and messages (SQLite's result codes as
** nn_status, s->err filled), the prepared statements of s->stmt and their
** steps, the check of a value's length before it is bound, transactions
** (BEGIN IMMEDIATE, refused inside one the caller opened), and the clock
** of the log's timestamps.  What it is not: opening or closing a
** connection (nn_store.c), or anything about versions, label maps or the
** log; it calls no other file of the store.  No Lua, nothing printed.
**
**   sqlite3_stmt *st;
**   int row, rc = nn_st_use(s, S_COMMIT, "COMMIT", &st);
**   if (rc == NN_OK) { rc = nn_st_step(s, st, &row); nn_st_done(st); }
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/nn_store_int.h"

/* C99 has no static_assert: an array of negative size stops the build. */
typedef char nn_store_nstmt_is_enough[S_COUNT <= NN_STORE_NSTMT ? 1 : -1];

/* S_BEGIN: take the write lock now, so that a busy database fails here
** (after the busy timeout) rather than halfway through. */
#define SQL_BEGIN     "BEGIN IMMEDIATE"
#define SQL_COMMIT    "COMMIT"
#define SQL_ROLLBACK  "ROLLBACK"

/* ------------------------------------------------------------------------
** Errors
*/

static int status_of(int rc) {
  switch (rc & 0xff) {   /* the primary code of an extended one */
  case SQLITE_OK:       return NN_OK;
  case SQLITE_CANTOPEN: return NN_ECANTOPEN;
  case SQLITE_NOTADB:   return NN_ENOTADB;
  case SQLITE_CORRUPT:  return NN_ECORRUPT;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:   return NN_EBUSY;
  case SQLITE_READONLY: return NN_EREADONLY;
  case SQLITE_IOERR:    return NN_EIO;
  case SQLITE_FULL:     return NN_EFULL;
  case SQLITE_NOMEM:    return NN_ENOMEM;
  default:              return NN_ERROR;
  }
}

int nn_store_fail(nn_store *s, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return status;
}

/* db's last error, which must be read before anything else runs on db (a
** rollback would replace it). */
int nn_st_db_error(nn_store *s, sqlite3 *db) {
  int status = status_of(sqlite3_errcode(db));
  /* a failure is never OK, whatever the connection last said */
  return nn_st_fail(s, status ? status : NN_ERROR, "%s", sqlite3_errmsg(db));
}

int nn_store_db_fail(nn_store *s) {
  if (!s->db)
    return nn_st_fail(s, NN_ENOMEM, "out of memory");
  return nn_st_db_error(s, s->db);
}

int nn_store_unsupported(nn_store *s, const char *what) {
  return nn_st_fail(s, NN_EUNSUPPORTED, "%s is not available on a %s store", what,
                    s->engine ? s->engine->name : "SQLite");
}

int nn_st_closed(nn_store *s) {
  return nn_st_fail(s, NN_ERROR, "the store is closed");
}

int nn_st_nomem(nn_store *s) {
  return nn_st_fail(s, NN_ENOMEM, "out of memory");
}

int nn_st_writable(nn_store *s) {
  if (!s->db)
    return nn_st_closed(s);
  if (s->borrowed)
    return nn_st_fail(s, NN_EREADONLY, "the store only reads a borrowed connection");
  if (s->image)
    return nn_st_fail(s, NN_EREADONLY, "the store was opened from bytes, read-only");
  if (s->opts.readonly)
    return nn_st_fail(s, NN_EREADONLY, "the store was opened read-only (readonly = true)");
  return NN_OK;
}

int nn_store_invalid(nn_store *s, const nn_store_version *v, const char *fmt, ...) {
  char what[NN_ERRMAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return nn_st_fail(s, NN_EINVALID, "model '%s' version %" PRId64 ": %s",
                    v->name, v->version, what);
}

/* SQLite refuses a string or blob longer than its length limit (a bind
** returns SQLITE_TOOBIG): say which value, before anything is written. */
int nn_st_check_length(nn_store *s, const char *what, size_t len) {
  int limit = s->db ? sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1) : 0;
  if (s->db && len > (size_t)limit)
    return nn_st_fail(s, NN_ERROR, "%s is %zu bytes, longer than SQLite's limit"
                      " of %d", what, len, limit);
  return NN_OK;
}

int nn_st_bound(nn_store *s, int rc, const char *what) {
  if (rc == SQLITE_OK)
    return NN_OK;
  if (rc == SQLITE_TOOBIG)
    return nn_st_fail(s, NN_ERROR, "%s is longer than SQLite's limit of %d bytes",
                      what, sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1));
  return nn_st_db_fail(s);
}

/* ------------------------------------------------------------------------
** Statements and transactions
*/

int nn_st_use(nn_store *s, int slot, const char *sql, sqlite3_stmt **st) {
  if (!s->stmt[slot] &&
      sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                         &s->stmt[slot], NULL) != SQLITE_OK) {
    *st = NULL;
    return nn_st_db_fail(s);
  }
  *st = s->stmt[slot];
  return NN_OK;
}

void nn_st_done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

int nn_st_step(nn_store *s, sqlite3_stmt *st, int *row) {
  int rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return NN_OK;
  return nn_st_db_fail(s);
}

int nn_st_run(nn_store *s, int slot, const char *sql) {
  sqlite3_stmt *st;
  int rc, row;
  if ((rc = nn_st_use(s, slot, sql, &st)) != NN_OK)
    return rc;
  rc = nn_st_step(s, st, &row);
  nn_st_done(st);
  return rc;
}

/* A transaction the caller opened on the connection (BEGIN through
** store:rows, say) would make BEGIN IMMEDIATE fail, and the store's writes
** part of whatever the caller then commits or rolls back. */
int nn_st_in_caller_txn(nn_store *s) {
  return !sqlite3_get_autocommit(s->db);
}

int nn_st_begin(nn_store *s) {
  if (nn_st_in_caller_txn(s))
    return nn_st_fail(s, NN_ERROR, "cannot write while a transaction is open on the "
                      "store's connection: COMMIT or ROLLBACK it first");
  return nn_st_run(s, S_BEGIN, SQL_BEGIN);
}

int nn_st_commit(nn_store *s) {
  return nn_st_run(s, S_COMMIT, SQL_COMMIT);
}

/* Undo the open transaction, if any; the error that led here is already in
** s->err, and a failing rollback cannot add anything useful to it. */
void nn_st_rollback(nn_store *s) {
  char err[NN_ERRMAX];
  if (sqlite3_get_autocommit(s->db))
    return;
  memcpy(err, s->err, sizeof err);
  nn_st_run(s, S_ROLLBACK, SQL_ROLLBACK);
  memcpy(s->err, err, sizeof err);
}

/* ------------------------------------------------------------------------
** Time
*/

nn_digest_model nn_st_digest_model(const nn_store *s, const char *name, int64_t model_id) {
  nn_digest_model m;
  m.name = s->digests_by_id ? NULL : name ? name : "";
  m.name_len = m.name ? strlen(m.name) : 0;
  m.id = model_id;
  return m;
}

int64_t nn_store_clock_ms(void) {
  return nn_st_clock_ms(sqlite3_vfs_find(NULL));
}

/* Unix time in ms from SQLite's own clock: C99 has no clock finer than a
** second, and the VFS already carries one for every platform it runs on. */
int64_t nn_st_clock_ms(sqlite3_vfs *vfs) {
  static const int64_t unix_epoch_jd_ms = INT64_C(210866760000000);
  sqlite3_int64 t = 0;
  double day;
  if (!vfs)
    return 0;
  if (vfs->iVersion >= 2 && vfs->xCurrentTimeInt64) {
    vfs->xCurrentTimeInt64(vfs, &t);
  } else {
    vfs->xCurrentTime(vfs, &day);
    t = (sqlite3_int64)(day * 86400000.0);
  }
  return (int64_t)t - unix_epoch_jd_ms;
}
