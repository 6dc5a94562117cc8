/*
** nn_pg_cursor.c: the caller's own SQL on a PostgreSQL store (store:rows),
** through the same cursor as on SQLite (nn_store.h).
**
** What it implements: the statement prepared under a name of its own once
** the log is written (so that it sees every logged row), refused when it
** holds more than one statement; the caller's values bound as text (a
** blob as bytes); the statement run at the first step, its rows then read
** one by one; each column as the nn_store_value of its type: integers
** (int2, int4, int8, oid, bool as 0 or 1), numbers (float4, float8,
** numeric), bytes (bytea), everything else as its text.  What it is not:
** the store's own statements (nn_pg_conn.c); no Lua.
**
**   for row in store:rows("SELECT name, accuracy FROM nn_accuracy") do ... end
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_number.h"
#include "pgstore/nn_pg_int.h"

/* Type oids, from PostgreSQL's catalog (pg_type.dat): fixed since 7.x. */
enum {
  OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23,
  OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700
};

typedef struct pg_cursor {
  nn_store_cursor_head head;
  PGconn *conn;             /* the store's: cursors close before it does */
  char name[32];            /* of its prepared statement; "" once freed */
  char *sql;
  int n_params;
  int n_fields;             /* of its result, as described before it runs */
  char **values;            /* [n_params], each malloc'd or NULL */
  int *lengths, *formats;   /* [n_params] */
  PGresult *res;            /* once run */
  int row;                  /* the current row, -1 before the first */
  unsigned char *bytes;     /* a bytea value decoded, until the next read */
} pg_cursor;

#define CUR(c)  ((pg_cursor *)(void *)(c))

int nn_pg_before_user_sql(nn_store *s) {
  return nn_pg_flush_within(s, s->opts.busy_timeout_ms);
}

/* Whether sql holds nothing but blanks and semicolons. */
static int blank(const char *sql, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (!strchr(" \t\r\n\f;", sql[i]))
      return 0;
  return 1;
}

/* Free the prepared statement on the server (once). */
static void deallocate(pg_cursor *c) {
  char sql[64];
  PGresult *res;
  if (!c->name[0])
    return;
  snprintf(sql, sizeof sql, "DEALLOCATE %s", c->name);
  if (PQstatus(c->conn) == CONNECTION_OK && (res = PQexec(c->conn, sql)) != NULL)
    PQclear(res);
  c->name[0] = '\0';
}

void nn_pg_cursor_close(nn_store_cursor *cur) {
  pg_cursor *c = CUR(cur);
  int i;
  deallocate(c);
  PQclear(c->res);
  PQfreemem(c->bytes);
  for (i = 0; c->values && i < c->n_params; i++)
    free(c->values[i]);
  free(c->values);
  free(c->lengths);
  free(c->formats);
  free(c->sql);
  free(c);
}

/* Prepare c's statement and learn its parameters. */
static int prepare(nn_store *s, pg_cursor *c) {
  PGresult *res;
  /* a name of its own on this connection (no static: a process may hold
  ** stores in many threads) */
  snprintf(c->name, sizeof c->name, "nn_rows_%lu", ++PG(s)->cursors);
  res = PQprepare(c->conn, c->name, c->sql, 0, NULL);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    const char *msg = res ? PQresultErrorMessage(res) : "";
    c->name[0] = '\0';
    if (strstr(msg, "multiple commands")) {
      PQclear(res);
      return nn_store_fail(s, NN_EINVALID, "more than one SQL statement");
    }
    return nn_pg_result_fail(s, res, NULL);
  }
  PQclear(res);
  res = PQdescribePrepared(c->conn, c->name);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
    return nn_pg_result_fail(s, res, NULL);
  c->n_params = PQnparams(res);
  c->n_fields = PQnfields(res);
  PQclear(res);
  c->values = (char **)calloc((size_t)c->n_params + 1, sizeof *c->values);
  c->lengths = (int *)calloc((size_t)c->n_params + 1, sizeof *c->lengths);
  c->formats = (int *)calloc((size_t)c->n_params + 1, sizeof *c->formats);
  if (!c->values || !c->lengths || !c->formats)
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  return NN_OK;
}

int nn_pg_cursor_open(nn_store *s, const char *sql, size_t len, nn_store_cursor **out) {
  pg_cursor *c;
  int rc;
  *out = NULL;
  if (blank(sql, len))
    return nn_store_fail(s, NN_EINVALID, "no SQL statement");
  if (memchr(sql, '\0', len))
    return nn_store_fail(s, NN_EINVALID, "the SQL text contains a zero byte");
  if ((rc = nn_pg_before_user_sql(s)) != NN_OK)
    return rc;
  if (!(c = (pg_cursor *)calloc(1, sizeof *c)) || !(c->sql = (char *)malloc(len + 1))) {
    free(c);
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  }
  memcpy(c->sql, sql, len);
  c->sql[len] = '\0';
  c->head.engine = s->engine;
  c->conn = PG(s)->conn;
  c->row = -1;
  if ((rc = prepare(s, c)) != NN_OK) {
    nn_pg_cursor_close((nn_store_cursor *)(void *)c);
    return rc;
  }
  *out = (nn_store_cursor *)(void *)c;
  return NN_OK;
}

int nn_pg_cursor_params(const nn_store_cursor *c) {
  return CUR(c)->n_params;
}

/* The server's words for the numbers that are not finite as doubles; 0
** for any other text. */
static double special(const char *text) {
  if (strcmp(text, "NaN") == 0)
    return NAN;
  if (strcmp(text, "Infinity") == 0)
    return HUGE_VAL;
  if (strcmp(text, "-Infinity") == 0)
    return -HUGE_VAL;
  return 0;
}

/* A double as text the server reads back exactly, whatever the C locale. */
static void double_text(char out[40], double d) {
  nn_buf b = { NULL, 0, 0 };
  if (isnan(d))
    strcpy(out, "NaN");
  else if (isinf(d))
    strcpy(out, d > 0 ? "Infinity" : "-Infinity");
  else if (nn_buf_json_double(&b, d) || b.n >= 40)
    strcpy(out, "NaN");
  else {
    memcpy(out, b.p, b.n);
    out[b.n] = '\0';
  }
  nn_buf_free(&b);
}

int nn_pg_cursor_bind(nn_store *s, nn_store_cursor *cur, int i, const nn_store_value *v) {
  pg_cursor *c = CUR(cur);
  char text[40];
  const char *from = text;
  size_t len;
  if (i < 1 || i > c->n_params)
    return nn_store_fail(s, NN_ERROR, "column index out of range");
  free(c->values[i - 1]);
  c->values[i - 1] = NULL;
  c->formats[i - 1] = v->type == NN_STORE_BLOB;
  switch (v->type) {
  case NN_STORE_INTEGER: snprintf(text, sizeof text, "%lld", (long long)v->i); break;
  case NN_STORE_FLOAT:   double_text(text, v->d); break;
  case NN_STORE_TEXT:
  case NN_STORE_BLOB:    from = v->text; break;
  default:               return NN_OK;   /* NULL */
  }
  len = v->type == NN_STORE_TEXT || v->type == NN_STORE_BLOB ? v->len : strlen(text);
  if (v->type == NN_STORE_TEXT && memchr(from, '\0', len))
    return nn_store_fail(s, NN_ERROR, "a text parameter contains a zero byte");
  if (!(c->values[i - 1] = (char *)malloc(len + 1)))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  memcpy(c->values[i - 1], from, len);
  c->values[i - 1][len] = '\0';
  c->lengths[i - 1] = (int)len;
  return NN_OK;
}

int nn_pg_cursor_step(nn_store *s, nn_store_cursor *cur, int *row) {
  pg_cursor *c = CUR(cur);
  *row = 0;
  if (!c->res) {
    ExecStatusType st;
    c->res = PQexecPrepared(c->conn, c->name, c->n_params,
                            (const char *const *)c->values, c->lengths, c->formats, 0);
    st = c->res ? PQresultStatus(c->res) : PGRES_FATAL_ERROR;
    deallocate(c);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      int rc = nn_pg_result_fail(s, c->res, NULL);
      c->res = NULL;
      return rc;
    }
    PG(s)->gen++;   /* it may have added a version or a label map */
  }
  if (c->row + 1 < PQntuples(c->res)) {
    c->row++;
    *row = 1;
  }
  return NN_OK;
}

int nn_pg_cursor_columns(const nn_store_cursor *c) {
  /* before a step, the columns the server described: a caller may refuse
  ** a statement without any before it runs (store:matrix does) */
  return CUR(c)->res ? PQnfields(CUR(c)->res) : CUR(c)->n_fields;
}

const char *nn_pg_cursor_name(const nn_store_cursor *c, int i) {
  return PQfname(CUR(c)->res, i);
}

void nn_pg_cursor_value(nn_store_cursor *cur, int i, nn_store_value *v) {
  static const nn_store_value none = { NN_STORE_NULL, 0, 0, NULL, 0 };
  pg_cursor *c = CUR(cur);
  const char *text;
  *v = none;
  if (!c->res || c->row < 0 || PQgetisnull(c->res, c->row, i))
    return;
  text = PQgetvalue(c->res, c->row, i);
  switch (PQftype(c->res, i)) {
  case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
    v->type = NN_STORE_INTEGER;
    v->i = (int64_t)strtoll(text, NULL, 10);
    return;
  case OID_BOOL:
    v->type = NN_STORE_INTEGER;
    v->i = text[0] == 't';
    return;
  case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
    v->type = NN_STORE_FLOAT;
    v->d = special(text);
    if (v->d == 0)   /* not NaN or an infinity: a decimal, whatever the locale */
      nn_number_read(text, strlen(text), &v->d);
    return;
  case OID_BYTEA:
    PQfreemem(c->bytes);
    c->bytes = PQunescapeBytea((const unsigned char *)text, &v->len);
    v->type = c->bytes ? NN_STORE_BLOB : NN_STORE_NULL;
    v->text = (const char *)c->bytes;
    return;
  default:
    v->type = NN_STORE_TEXT;
    v->text = text;
    v->len = (size_t)PQgetlength(c->res, c->row, i);
  }
}

const char *nn_pg_cursor_sql(const nn_store_cursor *c) {
  return CUR(c)->sql;
}
