/*
** nn_store_cursor.c: the caller's own SQL on the store's connection (what
** store:rows runs), one statement at a time.
**
** What it implements: a statement prepared once the log is flushed, so
** that it sees every logged row (but never into a transaction the caller
** opened, which the statement may be the COMMIT of), refused when the text
** holds no statement or more than one; its steps, each telling the
** freshness check (nn_store_catalog.c) that what it runs may have changed
** the journal or locking mode.  What it is not: the store's own statements
** (nn_store_conn.c prepares those); no Lua.
**
**   sqlite3_stmt *st;
**   if (nn_store_prepare(&s, "SELECT name FROM nn_model", 25, &st) == NN_OK)
**     while (nn_store_user_step(&s, st) == SQLITE_ROW) ...;
*/
#include <stdint.h>

#include "store/nn_store_int.h"

int nn_store_prepare(nn_store *s, const char *sql, size_t len, sqlite3_stmt **st) {
  sqlite3_stmt *extra = NULL;
  const char *tail = NULL;
  int rc;
  *st = NULL;
  if (!s->db)
    return nn_st_closed(s);
  if (len > INT32_MAX)
    return nn_st_fail(s, NN_EINVALID, "SQL text too long");
  /* The log first, so that the query sees it; but not into a transaction
  ** the caller opened, which this statement may be the COMMIT of. */
  if (!s->borrowed && !nn_st_in_caller_txn(s) && (rc = nn_store_flush(s)) != NN_OK)
    return rc;
  s->wal_state = 0;   /* it may change the journal or locking mode */
  if (sqlite3_prepare_v2(s->db, sql, (int)len, st, &tail) != SQLITE_OK)
    return nn_st_db_fail(s);
  if (!*st)
    return nn_st_fail(s, NN_EINVALID, "no SQL statement");
  /* A second statement would silently not run: refuse it. */
  if (sqlite3_prepare_v2(s->db, tail, (int)(sql + len - tail), &extra, NULL) != SQLITE_OK ||
      extra) {
    sqlite3_finalize(extra);
    sqlite3_finalize(*st);
    *st = NULL;
    return nn_st_fail(s, NN_EINVALID, "more than one SQL statement");
  }
  return NN_OK;
}

int nn_store_user_step(nn_store *s, sqlite3_stmt *st) {
  int rc;
  nn_store_user_sql(s);   /* what it runs may change modes */
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    nn_st_fail(s, NN_ERROR, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
  return rc;
}
