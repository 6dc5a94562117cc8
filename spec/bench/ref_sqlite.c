/*
** ref_sqlite.c: what a prediction-log row costs in SQLite alone, the
** reference make bench puts beside nn's store:log.
**
** It prints, in rows per second (median of NN_REF_RUNS runs):
**   sqlite.insert.txn1000        one prepared INSERT a row, 1000 rows a transaction
**   sqlite.insert.txn1           the same, one row a transaction
**   sqlite.insert_plain.txn1000  as the first, into a plain table
** The table is shaped like nn_prediction (schema/001_init.sql: the same
** columns, types, CHECKs, AUTOINCREMENT and indexes; no foreign keys, as there
** is no nn_version here); the plain one has the same columns and nothing else,
** which shows what the schema's checks and indexes cost.  Both are in one
** temporary file, with the pragmas nn.open sets: journal_mode WAL,
** synchronous NORMAL.  The row is the seed's leaf as nn logs it: input and
** output JSON text, label, score; the values are bound as they are, so JSON
** formatting, which nn does itself, is not counted.
**
** Time is process CPU time, the clock of Lua's os.clock() that the nn side
** is measured with, so that the two compare; with synchronous NORMAL a commit
** does not wait for the disk, only a checkpoint does, and neither side counts
** that wait.
**
** Not a spec and not part of nn: it links SQLite alone, and exits non-zero if
** a statement fails or the table does not hold what was inserted.
*/
#include "ref_common.h"

#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

static const char *const create_sql =
  "CREATE TABLE nn_prediction ("
  "  prediction_id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  ts            INTEGER NOT NULL,"
  "  version_id    INTEGER NOT NULL,"
  "  labelmap_id   INTEGER,"
  "  input         TEXT NOT NULL CHECK (json_valid(input)),"
  "  output        TEXT NOT NULL CHECK (json_valid(output)),"
  "  pred_idx      INTEGER NOT NULL CHECK (pred_idx >= 1),"
  "  pred_label    TEXT,"
  "  score         REAL,"
  "  request_id    TEXT,"
  "  tags          TEXT CHECK (tags IS NULL OR json_valid(tags))"
  ") STRICT;"
  "CREATE INDEX nn_prediction_by_version ON nn_prediction (version_id, ts);"
  "CREATE INDEX nn_prediction_by_ts ON nn_prediction (ts);"
  "CREATE TABLE plain_prediction ("
  "  prediction_id INTEGER PRIMARY KEY, ts INTEGER, version_id INTEGER,"
  "  labelmap_id INTEGER, input TEXT, output TEXT, pred_idx INTEGER,"
  "  pred_label TEXT, score REAL, request_id TEXT, tags TEXT"
  ");";

/* The same INSERT for either table: %s is the table's name. */
static const char *const insert_sql =
  "INSERT INTO %s (ts, version_id, labelmap_id, input, output, pred_idx,"
  " pred_label, score, request_id, tags) VALUES (?1, 1, 1, ?2, ?3, 1, ?4, ?5, NULL, NULL)";

#define ROW_INPUT  "[32,107,56,11.2]"
#define ROW_OUTPUT "[0.6456563,0.35434368]"
#define ROW_LABEL  "leaf"
#define ROW_SCORE  0.6456563

static char db_path[4096];   /* the temporary file, removed at exit */

typedef struct sql_ctx {
  sqlite3 *db;
  sqlite3_stmt *insert, *begin, *commit;
  const char *table;
  size_t per_txn;      /* rows a transaction */
  sqlite3_int64 ts;    /* of the last row in table; also the count of its rows */
} sql_ctx;

static void remove_db(void) {
  static const char *const suffix[] = { "", "-wal", "-shm" };
  char path[sizeof db_path + 8];
  size_t i;
  if (!db_path[0]) return;
  for (i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s%s", db_path, suffix[i]);
    remove(path);
  }
}

static void fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "%s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
  exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) fail(db, sql);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
  sqlite3_stmt *stmt;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) fail(db, sql);
  return stmt;
}

static void step_done(sqlite3 *db, sqlite3_stmt *stmt) {
  if (sqlite3_step(stmt) != SQLITE_DONE) fail(db, sqlite3_sql(stmt));
  sqlite3_reset(stmt);
}

/* n rows, a transaction every per_txn rows (n is a multiple of per_txn). */
static double sql_work(void *p, size_t n) {
  sql_ctx *c = p;
  size_t i;
  for (i = 0; i < n; i++) {
    if (i % c->per_txn == 0) step_done(c->db, c->begin);
    if (sqlite3_bind_int64(c->insert, 1, ++c->ts) != SQLITE_OK)
      fail(c->db, "bind");
    step_done(c->db, c->insert);
    if ((i + 1) % c->per_txn == 0) step_done(c->db, c->commit);
  }
  return (double)c->ts;
}

/* Exits non-zero unless the table holds every row inserted, the last one as
** it was bound. */
static void check_rows(sql_ctx *c) {
  char sql[256];
  sqlite3_stmt *q;
  const char *want = ROW_INPUT ROW_OUTPUT ROW_LABEL;
  const unsigned char *last;
  snprintf(sql, sizeof sql, "SELECT count(*), max(ts), (SELECT input || output ||"
           " pred_label || score FROM %s ORDER BY prediction_id DESC LIMIT 1) FROM %s",
           c->table, c->table);
  q = prepare(c->db, sql);
  if (sqlite3_step(q) != SQLITE_ROW) fail(c->db, "SELECT count(*)");
  last = sqlite3_column_text(q, 2);
  if (sqlite3_column_int64(q, 0) != c->ts || sqlite3_column_int64(q, 1) != c->ts ||
      !last || strncmp((const char *)last, want, strlen(want)) != 0) {
    fprintf(stderr, "%s holds %lld rows up to ts %lld, last \"%s\";"
            " %lld were inserted\n", c->table, sqlite3_column_int64(q, 0),
            sqlite3_column_int64(q, 1), last ? (const char *)last : "", c->ts);
    exit(1);
  }
  sqlite3_finalize(q);
}

/* A prepared INSERT into table, with every value but ts bound once. */
static sqlite3_stmt *prepare_insert(sqlite3 *db, const char *table) {
  char sql[512];
  sqlite3_stmt *stmt;
  snprintf(sql, sizeof sql, insert_sql, table);
  stmt = prepare(db, sql);
  if (sqlite3_bind_text(stmt, 2, ROW_INPUT, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(stmt, 3, ROW_OUTPUT, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(stmt, 4, ROW_LABEL, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_double(stmt, 5, ROW_SCORE) != SQLITE_OK)
    fail(db, "bind");
  return stmt;
}

/* Times rows into table (appending to what an earlier call left there),
** checks them, prints one line. */
static void bench(const char *name, sql_ctx *c, const char *table, size_t per_txn) {
  double ns;
  if (!c->table || strcmp(c->table, table) != 0) {
    sqlite3_finalize(c->insert);
    c->insert = prepare_insert(c->db, table);
    c->table = table;
    c->ts = 0;
  }
  c->per_txn = per_txn;
  ns = ref_median_ns(sql_work, c, per_txn, CLOCK_PROCESS_CPUTIME_ID);
  check_rows(c);
  ref_print(name, 1e9 / ns, "rows/s");
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  sql_ctx c;
  sqlite3_stmt *mode;
  int fd;

  snprintf(db_path, sizeof db_path, "%s/nn-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if ((fd = mkstemp(db_path)) < 0) {
    perror(db_path);
    return 1;
  }
  close(fd);
  atexit(remove_db);

  if (sqlite3_open(db_path, &c.db) != SQLITE_OK) fail(c.db, db_path);
  mode = prepare(c.db, "PRAGMA journal_mode = WAL");
  if (sqlite3_step(mode) != SQLITE_ROW ||
      strcmp((const char *)sqlite3_column_text(mode, 0), "wal") != 0) {
    fprintf(stderr, "%s: not in WAL mode\n", db_path);
    return 1;
  }
  sqlite3_finalize(mode);
  exec(c.db, "PRAGMA synchronous = NORMAL");
  exec(c.db, create_sql);

  c.begin = prepare(c.db, "BEGIN IMMEDIATE");
  c.commit = prepare(c.db, "COMMIT");
  c.insert = NULL;
  c.table = NULL;

  bench("sqlite.insert.txn1000", &c, "nn_prediction", 1000);
  bench("sqlite.insert.txn1", &c, "nn_prediction", 1);
  bench("sqlite.insert_plain.txn1000", &c, "plain_prediction", 1000);

  sqlite3_finalize(c.insert);
  sqlite3_finalize(c.begin);
  sqlite3_finalize(c.commit);
  if (sqlite3_close(c.db) != SQLITE_OK) fail(c.db, "close");
  return 0;
}
