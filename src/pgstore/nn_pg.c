/*
** nn_pg.c: the top of the PostgreSQL engine (see nn_pg.h): open, migrate,
** close, the catalog, and the engine's table that nn_store.h's functions
** send their calls to.
**
** What it implements: a connection from any libpq connection string; the
** store's schema checked (nn_meta says an nn store of which version; a
** schema holding other tables is foreign and left alone), created when
** absent, and migrated forward in one transaction under an advisory lock,
** so that two processes opening a new store at once migrate it once;
** search_path set to it, so that the store's SQL and the caller's name the
** tables as on SQLite; the catalog's number bumped by every version or
** label map added by anyone, told by NOTIFY (schema/pg/001_init.sql's
** triggers), which costs a call no round trip.  What it is not: the
** tables' SQL, or the log; no Lua.
**
**   nn.open("postgresql:///games?host=/run/postgresql", { schema = "nn" })
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

int nn_pg_is_url(const char *target) {
  return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* ------------------------------------------------------------------------
** The catalog and closing
*/

/* Any notification on nn_catalog for this schema bumps the number. */
static int catalog(nn_store *s, uint64_t *gen) {
  nn_pg *pg = PG(s);
  PGnotify *n;
  if (!nn_pg_lost(s) && PQconsumeInput(pg->conn))
    while ((n = PQnotifies(pg->conn)) != NULL) {
      if (strcmp(n->extra, pg->schema) == 0)
        pg->gen++;
      PQfreemem(n);
    }
  *gen = pg->gen;
  return NN_OK;
}

static void free_pg(nn_pg *pg) {
  if (!pg)
    return;
  if (pg->conn)
    PQfinish(pg->conn);
  nn_pg_forget_maps(pg);
  nn_pg_free_log(pg);
  nn_buf_free(&pg->scratch);
  nn_buf_free(&pg->text);
  free(pg->schema);
  free(pg);
}

/* Rows not flushed are discarded, as on SQLite (flush first to keep them). */
static void close_pg(nn_store *s) {
  free_pg(PG(s));
  s->engine_state = NULL;
}

static const nn_store_engine engine = {
  "PostgreSQL", close_pg, nn_pg_flush_within, nn_pg_stats, nn_pg_save_with,
  nn_pg_save_run, nn_pg_read_run, nn_pg_add_labels, nn_pg_find_version, nn_pg_read_layers, nn_pg_read_params,
  nn_pg_find_labelmap, nn_pg_read_label, catalog, nn_pg_before_user_sql, nn_pg_log,
  nn_pg_feedback, nn_pg_cursor_open, nn_pg_cursor_params, nn_pg_cursor_bind,
  nn_pg_cursor_step, nn_pg_cursor_columns, nn_pg_cursor_name, nn_pg_cursor_value,
  nn_pg_cursor_sql, nn_pg_cursor_close
};

/* ------------------------------------------------------------------------
** Opening and migrating
*/

/* Library code prints nothing: the server's notices go nowhere. */
static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* What schema holds: *version the nn schema version (0: none yet), or
** FOREIGN when it holds tables that are not an nn store's. */
static int schema_version(nn_store *s, int64_t *version) {
  nn_pg *pg = PG(s);
  const char *p[1] = { pg->schema };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT to_regclass(quote_ident($1) || '.nn_meta') IS NOT NULL,"
                      " (SELECT count(*) FROM pg_class AS c JOIN pg_namespace AS n"
                      "  ON n.oid = c.relnamespace WHERE n.nspname = $1)", 1, p, &res);
  int has_meta;
  *version = 0;
  if (rc != NN_OK)
    return rc;
  has_meta = PQgetvalue(res, 0, 0)[0] == 't';
  if (!has_meta && nn_pg_int(res, 0, 1) > 0)
    rc = nn_store_fail(s, NN_EFOREIGN, "not an nn store (schema '%s' holds tables of"
                       " its own)", pg->schema);
  PQclear(res);
  if (rc != NN_OK || !has_meta)
    return rc;
  if ((rc = nn_pg_exec(s, "SELECT (SELECT value FROM nn_meta WHERE key = 'application'),"
                       " (SELECT value FROM nn_meta WHERE key = 'version')", 0, NULL,
                       &res)) != NN_OK)
    return rc;
  if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), "nn") != 0)
    rc = nn_store_fail(s, NN_EFOREIGN, "not an nn store (schema '%s' has an nn_meta"
                       " of another program)", pg->schema);
  else if ((*version = nn_pg_int(res, 0, 1)) > (int64_t)nn_pg_schema_count || *version < 0)
    rc = nn_store_fail(s, NN_ESCHEMA, "schema version %" PRId64 " is newer than this nn"
                       " knows (%zu)", *version, nn_pg_schema_count);
  PQclear(res);
  return rc;
}

/* search_path to the store's schema, made when absent (create), for this
** transaction only (local) or the session (nn_pg_session does that after). */
static int use_schema(nn_store *s, int create, int local) {
  nn_pg *pg = PG(s);
  char *id = PQescapeIdentifier(pg->conn, pg->schema, strlen(pg->schema));
  nn_buf sql = { NULL, 0, 0 };
  int rc, bad;
  if (!id)
    return nn_pg_conn_fail(s, NN_ERROR, "schema");
  bad = (create && (nn_buf_add(&sql, "CREATE SCHEMA IF NOT EXISTS ", 28) ||
                    nn_buf_add(&sql, id, strlen(id)) || nn_buf_add(&sql, "; ", 2))) ||
        nn_buf_add(&sql, local ? "SET LOCAL search_path TO " : "SET search_path TO ",
                   local ? 25 : 19) ||
        nn_buf_add(&sql, id, strlen(id)) || nn_buf_add(&sql, "", 1);
  PQfreemem(id);
  if (bad)
    rc = nn_store_fail(s, NN_ENOMEM, "out of memory");
  else {
    PGresult *res = PQexec(pg->conn, sql.p);
    rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? (PQclear(res), NN_OK)
                                                        : nn_pg_result_fail(s, res, NULL);
  }
  nn_buf_free(&sql);
  return rc;
}

/* Migrations version + 1 .. count, inside the caller's transaction. */
static int apply(nn_store *s, int64_t version) {
  char n[24];
  const char *p[1];
  size_t i;
  for (i = (size_t)version; i < nn_pg_schema_count; i++) {
    PGresult *res = PQexec(PG(s)->conn, nn_pg_schema_sql[i]);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
      char what[40];
      snprintf(what, sizeof what, "schema migration %zu", i + 1);
      return nn_pg_result_fail(s, res, what);
    }
    PQclear(res);
  }
  p[0] = nn_pg_itoa(n, (int64_t)nn_pg_schema_count);
  return nn_pg_run(s, "INSERT INTO nn_meta (key, value) VALUES ('version', $1)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value", 1, p);
}

/* The schema made or brought up to date in one transaction, under a lock
** that a second process opening the same store at once waits for. */
static int migrate(nn_store *s) {
  const char *p[1] = { PG(s)->schema };
  int64_t version;
  int rc;
  if ((rc = nn_pg_begin(s)) != NN_OK)
    return rc;
  if ((rc = nn_pg_run(s, "SELECT pg_advisory_xact_lock(hashtext('nn.open ' || $1))",
                      1, p)) != NN_OK ||
      (rc = use_schema(s, 1, 1)) != NN_OK ||
      (rc = schema_version(s, &version)) != NN_OK ||
      ((size_t)version < nn_pg_schema_count && (rc = apply(s, version)) != NN_OK) ||
      (rc = nn_pg_commit(s)) != NN_OK) {
    nn_pg_rollback(s);
    return rc;
  }
  return NN_OK;
}

/* A read-only open: the schema must be an nn store already, up to date. */
static int check_readonly(nn_store *s) {
  int64_t version;
  int rc;
  if ((rc = use_schema(s, 0, 0)) != NN_OK || (rc = schema_version(s, &version)) != NN_OK)
    return rc;
  if ((size_t)version < nn_pg_schema_count)
    return nn_store_fail(s, NN_ESCHEMA, "schema version %" PRId64 " is older than this"
                         " nn's (%zu), and a read-only open cannot migrate it", version,
                         nn_pg_schema_count);
  return NN_OK;
}

/* The connection, quiet and up, with its schema's name kept. */
static int connect_pg(nn_store *s, const char *conninfo, const char *schema) {
  nn_pg *pg = PG(s);
  if (!(pg->schema = (char *)malloc(strlen(schema) + 1)))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  strcpy(pg->schema, schema);
  pg->conn = PQconnectdb(conninfo);
  if (!pg->conn)
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  if (PQstatus(pg->conn) != CONNECTION_OK)
    return nn_pg_conn_fail(s, NN_ECANTOPEN, "cannot connect");
  PQsetNoticeProcessor(pg->conn, quiet, NULL);
  return NN_OK;
}

int nn_pg_open(nn_store *s, const char *conninfo, const char *schema,
               const nn_store_opts *opts) {
  int rc;
  if (nn_store_is_open(s))
    return nn_store_fail(s, NN_ERROR, "the store is already open");
  nn_store_init(s);
  if (opts)
    s->opts = *opts;
  if (s->opts.flush_rows < 1 || s->opts.flush_ms < 0 || s->opts.busy_timeout_ms < 0 ||
      s->opts.max_pending < s->opts.flush_rows || s->opts.on_full < NN_FULL_ERROR ||
      s->opts.on_full > NN_FULL_DROP)
    return nn_store_fail(s, NN_ERROR, "invalid options");
  if (!schema || !schema[0] || strlen(schema) > 63)
    return nn_store_fail(s, NN_ERROR, "a schema name must be 1 to 63 bytes");
  if (!(s->engine_state = calloc(1, sizeof(nn_pg))))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  if ((rc = connect_pg(s, conninfo, schema)) != NN_OK ||
      (rc = s->opts.readonly ? check_readonly(s) : migrate(s)) != NN_OK ||
      (rc = nn_pg_session(s)) != NN_OK) {
    free_pg(PG(s));
    s->engine_state = NULL;
    return rc;
  }
  s->engine = &engine;
  return NN_OK;
}
