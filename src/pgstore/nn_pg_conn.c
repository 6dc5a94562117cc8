/*
** nn_pg_conn.c: the PostgreSQL engine's connection (see nn_pg_int.h).
**
** What it implements: the server's messages as the store's (one line, the
** status that says what failed), statements run with text parameters,
** transactions, COPY's text format, and telling a lost connection from a
** refused statement.  What it is not: any of the store's tables; no Lua.
**
**   PGresult *res;
**   const char *p[1] = { "leaf_flower" };
**   if (nn_pg_exec(s, "SELECT model_id FROM nn_model WHERE name = $1", 1, p,
**                  &res) == NN_OK) { ...; PQclear(res); }
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

/* text's first line, without its "ERROR:  " and trailing newline, into
** the store's message after what (when not NULL). */
static int fail_text(nn_store *s, int status, const char *what, const char *text) {
  size_t n;
  if (!text || !text[0])
    text = "unknown error";
  if (strncmp(text, "ERROR:  ", 8) == 0)
    text += 8;
  n = strcspn(text, "\n");
  if (what)
    return nn_store_fail(s, status, "%s: %.*s", what, (int)n, text);
  return nn_store_fail(s, status, "%.*s", (int)n, text);
}

int nn_pg_conn_fail(nn_store *s, int status, const char *what) {
  nn_pg *pg = PG(s);
  return fail_text(s, status, what, pg && pg->conn ? PQerrorMessage(pg->conn) : NULL);
}

int nn_pg_lost(nn_store *s) {
  nn_pg *pg = PG(s);
  return !pg || !pg->conn || PQstatus(pg->conn) != CONNECTION_OK;
}

int nn_pg_reconnect(nn_store *s) {
  nn_pg *pg = PG(s);
  PQreset(pg->conn);
  if (PQstatus(pg->conn) != CONNECTION_OK)
    return nn_pg_conn_fail(s, NN_EBUSY, "the server is unreachable");
  pg->gen++;   /* what changed meanwhile was not announced to us */
  return nn_pg_session(s);
}

int nn_pg_session(nn_store *s) {
  const char *p[1] = { PG(s)->schema };
  int rc = nn_pg_run(s, "SELECT set_config('search_path', quote_ident($1), false)", 1, p);
  return rc != NN_OK ? rc : nn_pg_run(s, "LISTEN nn_catalog", 0, NULL);
}

/* The status a failed result says: a lost connection is BUSY (the rows
** wait for it to come back), a missing row NOTFOUND, anything else ERROR. */
static int status_of(nn_store *s, PGresult *res) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (nn_pg_lost(s))
    return NN_EBUSY;
  if (state && strncmp(state, "08", 2) == 0)
    return NN_EBUSY;
  if (state && strcmp(state, "25006") == 0)
    return NN_EREADONLY;
  return NN_ERROR;
}

int nn_pg_result_fail(nn_store *s, PGresult *res, const char *what) {
  int status = status_of(s, res);
  const char *text = res ? PQresultErrorMessage(res) : NULL;
  int rc;
  if (!text || !text[0])
    text = PQerrorMessage(PG(s)->conn);
  rc = fail_text(s, status, what, text);
  PQclear(res);
  return rc;
}

int nn_pg_exec(nn_store *s, const char *sql, int n, const char *const *values,
               PGresult **res) {
  ExecStatusType st;
  int rc;
  *res = PQexecParams(PG(s)->conn, sql, n, NULL, values, NULL, NULL, 0);
  st = *res ? PQresultStatus(*res) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
    return NN_OK;
  rc = nn_pg_result_fail(s, *res, NULL);
  *res = NULL;
  return rc;
}

int nn_pg_run(nn_store *s, const char *sql, int n, const char *const *values) {
  PGresult *res;
  int rc = nn_pg_exec(s, sql, n, values, &res);
  PQclear(res);
  return rc;
}

int64_t nn_pg_int(const PGresult *res, int row, int col) {
  const char *v = PQgetvalue(res, row, col);
  return v && v[0] ? (int64_t)strtoll(v, NULL, 10) : 0;
}

const char *nn_pg_itoa(char out[24], int64_t v) {
  snprintf(out, 24, "%" PRId64, v);
  return out;
}

int nn_pg_begin(nn_store *s) {
  return nn_pg_run(s, "BEGIN", 0, NULL);
}

int nn_pg_commit(nn_store *s) {
  return nn_pg_run(s, "COMMIT", 0, NULL);
}

/* Keeps s->err: the rollback follows a failure the caller reports. */
void nn_pg_rollback(nn_store *s) {
  char err[NN_ERRMAX];
  PGresult *res;
  memcpy(err, s->err, sizeof err);
  if (!nn_pg_lost(s) && (res = PQexec(PG(s)->conn, "ROLLBACK")) != NULL)
    PQclear(res);
  memcpy(s->err, err, sizeof err);
}

int nn_pg_writable(nn_store *s) {
  if (s->opts.readonly)
    return nn_store_fail(s, NN_EREADONLY,
                         "the store was opened read-only (readonly = true)");
  return NN_OK;
}

int nn_pg_copy_text(nn_buf *b, const char *text, size_t len) {
  size_t i, from = 0;
  int bad = 0;
  if (!text)
    return nn_buf_add(b, "\\N", 2);
  for (i = 0; i < len; i++) {
    const char *esc = NULL;
    switch (text[i]) {
    case '\\': esc = "\\\\"; break;
    case '\t': esc = "\\t"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    default: continue;
    }
    bad |= nn_buf_add(b, text + from, i - from);
    bad |= nn_buf_add(b, esc, 2);
    from = i + 1;
  }
  bad |= nn_buf_add(b, text + from, len - from);
  return bad;
}
