/*
** nn_store_cursor.c: the caller's own SQL on the store's connection (what
** store:rows runs), one statement stepped a row at a time through a cursor
** (see nn_store.h).
**
** What it implements: the statement prepared once the log is flushed, so
** that it sees every logged row (but never into a transaction the caller
** opened, which the statement may be the COMMIT of), refused when the text
** holds no statement or more than one; values bound and columns read as
** nn_store_value, so that the caller needs no SQLite; every step telling
** the freshness check (nn_store_catalog.c) that what it runs may have
** changed the journal or locking mode.  What it is not: the store's own
** statements (nn_store_conn.c prepares those), or store:matrix
** (nn_store_data.c); no Lua.
**
**   nn_store_cursor *c;
**   nn_store_value v;
**   int row;
**   if (nn_store_cursor_open(&s, "SELECT name FROM nn_model", 25, &c) == NN_OK) {
**     while (nn_store_cursor_step(&s, c, &row) == NN_OK && row)
**       nn_store_cursor_value(c, 0, &v);     v.text, v.len: a name
**     nn_store_cursor_close(c);
**   }
*/
#include <stdint.h>
#include <stdlib.h>

#include "store/nn_store_int.h"

/* The tags of nn_store_value are SQLite's type codes (C99 has no
** static_assert: an array of negative size stops the build). */
typedef char nn_store_value_tags_are_sqlites[
  NN_STORE_INTEGER == SQLITE_INTEGER && NN_STORE_FLOAT == SQLITE_FLOAT &&
  NN_STORE_TEXT == SQLITE_TEXT && NN_STORE_BLOB == SQLITE_BLOB &&
  NN_STORE_NULL == SQLITE_NULL ? 1 : -1];

/* A cursor is the statement behind the head every engine's cursor starts
** with (nn_store_engine.h): the caller holds no SQLite type.  The caller's
** const is dropped here because SQLite takes a statement as non-const even
** to read its column count or names. */
struct nn_store_cursor {
  nn_store_cursor_head head;   /* engine NULL: SQLite's */
  sqlite3_stmt *st;
};

static sqlite3_stmt *stmt_of(const nn_store_cursor *c) {
  return c->st;
}

/* SQLite's message for what st last did, as s->err. */
static int cursor_fail(nn_store *s, sqlite3_stmt *st) {
  return nn_st_fail(s, NN_ERROR, "%s", sqlite3_errmsg(sqlite3_db_handle(st)));
}

int nn_store_before_user_sql(nn_store *s) {
  int rc;
  if (s->engine)
    return s->engine->before_user_sql(s);
  if (!s->db)
    return nn_st_closed(s);
  /* the log first, so that the SQL sees it; but not into a transaction
  ** the caller opened, which this SQL may be the COMMIT of */
  if (!s->borrowed && !nn_st_in_caller_txn(s) && (rc = nn_store_flush(s)) != NN_OK)
    return rc;
  nn_store_user_sql(s);   /* it may change the journal or locking mode */
  return NN_OK;
}

int nn_store_cursor_open(nn_store *s, const char *sql, size_t len, nn_store_cursor **c) {
  sqlite3_stmt *st = NULL, *extra = NULL;
  const char *tail = NULL;
  int rc;
  *c = NULL;
  if (s->engine)
    return s->engine->cursor_open(s, sql, len, c);
  if (!s->db)
    return nn_st_closed(s);
  if (len > INT32_MAX)
    return nn_st_fail(s, NN_EINVALID, "SQL text too long");
  if ((rc = nn_store_before_user_sql(s)) != NN_OK)
    return rc;
  if (sqlite3_prepare_v2(s->db, sql, (int)len, &st, &tail) != SQLITE_OK)
    return nn_st_db_fail(s);
  if (!st)
    return nn_st_fail(s, NN_EINVALID, "no SQL statement");
  /* A second statement would silently not run: refuse it. */
  if (sqlite3_prepare_v2(s->db, tail, (int)(sql + len - tail), &extra, NULL) != SQLITE_OK ||
      extra) {
    sqlite3_finalize(extra);
    sqlite3_finalize(st);
    return nn_st_fail(s, NN_EINVALID, "more than one SQL statement");
  }
  if ((*c = (nn_store_cursor *)malloc(sizeof **c)) == NULL) {
    sqlite3_finalize(st);
    return nn_st_nomem(s);
  }
  (*c)->head.engine = NULL;
  (*c)->st = st;
  return NN_OK;
}

int nn_store_cursor_params(const nn_store_cursor *c) {
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_params(c);
  return sqlite3_bind_parameter_count(stmt_of(c));
}

int nn_store_cursor_bind(nn_store *s, nn_store_cursor *c, int i, const nn_store_value *v) {
  sqlite3_stmt *st;
  int rc;
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_bind(s, c, i, v);
  st = stmt_of(c);
  switch (v->type) {
  case NN_STORE_INTEGER: rc = sqlite3_bind_int64(st, i, v->i); break;
  case NN_STORE_FLOAT:   rc = sqlite3_bind_double(st, i, v->d); break;
  case NN_STORE_TEXT:    rc = sqlite3_bind_text64(st, i, v->text, v->len,
                                                  SQLITE_TRANSIENT, SQLITE_UTF8); break;
  case NN_STORE_BLOB:    rc = sqlite3_bind_blob64(st, i, v->text, v->len,
                                                  SQLITE_TRANSIENT); break;
  default:               rc = sqlite3_bind_null(st, i);
  }
  return rc == SQLITE_OK ? NN_OK : cursor_fail(s, st);
}

int nn_store_cursor_step(nn_store *s, nn_store_cursor *c, int *row) {
  sqlite3_stmt *st;
  int rc;
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_step(s, c, row);
  st = stmt_of(c);
  nn_store_user_sql(s);   /* what it runs may change modes */
  rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? NN_OK : cursor_fail(s, st);
}

int nn_store_cursor_columns(const nn_store_cursor *c) {
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_columns(c);
  return sqlite3_column_count(stmt_of(c));
}

const char *nn_store_cursor_name(const nn_store_cursor *c, int i) {
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_name(c, i);
  return sqlite3_column_name(stmt_of(c), i);
}

/* Each value read by the accessor of its own type, so that no conversion
** changes what sqlite3_column_type says of it. */
void nn_store_cursor_value(nn_store_cursor *c, int i, nn_store_value *v) {
  static const nn_store_value none = { NN_STORE_NULL, 0, 0, NULL, 0 };
  sqlite3_stmt *st;
  if (NN_CURSOR_ENGINE(c)) {
    NN_CURSOR_ENGINE(c)->cursor_value(c, i, v);
    return;
  }
  st = stmt_of(c);
  *v = none;
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER:
    v->type = NN_STORE_INTEGER;
    v->i = sqlite3_column_int64(st, i);
    break;
  case SQLITE_FLOAT:
    v->type = NN_STORE_FLOAT;
    v->d = sqlite3_column_double(st, i);
    break;
  case SQLITE_TEXT:
    v->type = NN_STORE_TEXT;
    v->text = (const char *)sqlite3_column_text(st, i);
    v->len = (size_t)sqlite3_column_bytes(st, i);
    break;
  case SQLITE_BLOB:
    v->type = NN_STORE_BLOB;
    v->text = (const char *)sqlite3_column_blob(st, i);
    v->len = (size_t)sqlite3_column_bytes(st, i);
    break;
  }
}

const char *nn_store_cursor_sql(const nn_store_cursor *c) {
  if (NN_CURSOR_ENGINE(c))
    return NN_CURSOR_ENGINE(c)->cursor_sql(c);
  return sqlite3_sql(stmt_of(c));
}

void nn_store_cursor_close(nn_store_cursor *c) {
  if (!c)
    return;
  if (NN_CURSOR_ENGINE(c)) {
    NN_CURSOR_ENGINE(c)->cursor_close(c);
    return;
  }
  sqlite3_finalize(c->st);
  free(c);
}
