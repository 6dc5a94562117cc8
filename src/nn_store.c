/*
** nn_store.c: the SQLite side of nn (see nn_store.h for the interface).
**
** What it implements: opening and migrating an nn database, saving a network
** as an immutable version (architecture as JSON, weights as a little-endian
** float32 blob with its FNV-1a checksum), loading one back with every stored
** fact checked, label maps, and the prediction log: rows wait in a buffer of
** this store (no transaction is held between calls) and are written in one
** transaction at a time.  Their ids are known before they are written: the
** store reserves blocks of ids in sqlite_sequence, which every other writer
** of the AUTOINCREMENT table skips past.
**
** What it is not: no Lua here, and no JSON parser (SQLite's own JSON
** functions read the architecture and the label maps).  Nothing prints,
** exits or aborts: a status comes back and s->err says what went wrong.
**
** The log a store writes looks like this in SQL:
**
**   SELECT prediction_id, input ->> '$[0]', pred_label, score
**   FROM nn_predictions WHERE name = 'leaf_flower';
*/
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn_ftoa.h"
#include "nn_store.h"
#include "nn_sql.h"

/* ------------------------------------------------------------------------
** Statements: prepared on first use, kept for the life of the connection.
*/

enum {
  S_BEGIN, S_COMMIT, S_ROLLBACK,
  S_MODEL_ID, S_MODEL_INSERT, S_NEXT_VERSION, S_VERSION_INSERT,
  S_LATEST_OUTPUTS, S_LABELMAP_CURRENT, S_LABELMAP_INSERT,
  S_VERSION_LATEST, S_VERSION_PINNED, S_LAYERS, S_WEIGHTS,
  S_LABELMAP_FIND, S_LABELMAP_WHY, S_LABEL_AT,
  S_DATA_VERSION, S_CATALOG,
  S_SEQ_INIT, S_SEQ_BUMP, S_SEQ_READ, S_PREDICTION_INSERT, S_PREDICTION_BATCH, S_LABELS,
  S_FEEDBACK_INFO, S_FEEDBACK_INSERT, S_LAYER_FIELD,
  S_COUNT
};

/* C99 has no static_assert: an array of negative size stops the build. */
typedef char nn_store_nstmt_is_enough[S_COUNT <= NN_STORE_NSTMT ? 1 : -1];

/* Columns of S_VERSION_LATEST and S_VERSION_PINNED. */
#define VERSION_COLUMNS \
  "SELECT version_id, version, " \
  "CASE WHEN json_valid(arch) THEN json_type(arch) END, " \
  "CASE WHEN json_valid(arch) THEN json_array_length(arch) END, " \
  "n_inputs, n_outputs, n_params FROM nn_version "

/* A logged row: its label is bound from the (immutable) map, read once and
** kept by the store, rather than looked up by SQL for every row. */
#define LOG_INSERT \
  "INSERT INTO nn_prediction (prediction_id, ts, version_id, labelmap_id," \
  " input, output, pred_idx, pred_label, score, request_id, tags) VALUES "
#define LOG_COLUMNS  11
#define LOG_ROW      "(?,?,?,?,?,?,?,?,?,?,?)"
#define LOG_ROW4     LOG_ROW "," LOG_ROW "," LOG_ROW "," LOG_ROW
#define LOG_ROW16    LOG_ROW4 "," LOG_ROW4 "," LOG_ROW4 "," LOG_ROW4
#define LOG_BATCH    32   /* the rows of S_PREDICTION_BATCH */

static const char *const stmt_sql[S_COUNT] = {
  /* S_BEGIN: take the write lock now, so that a busy database fails here
  ** (after the busy timeout) rather than halfway through */
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
  /* S_MODEL_ID */
  "SELECT model_id FROM nn_model WHERE name = ?1",
  /* S_MODEL_INSERT */
  "INSERT INTO nn_model (name, created_at) VALUES (?1, ?2)",
  /* S_NEXT_VERSION */
  "SELECT coalesce(max(version), 0) + 1 FROM nn_version WHERE model_id = ?1",
  /* S_VERSION_INSERT */
  "INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs,"
  " n_params, weights, checksum, note, created_at)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
  /* S_LATEST_OUTPUTS */
  "SELECT n_outputs FROM nn_version WHERE model_id = ?1"
  " ORDER BY version DESC LIMIT 1",
  /* S_LABELMAP_CURRENT: the latest row of a map, and whether it holds these
  ** labels (json() on both sides: the same labels however spaced) */
  "SELECT labelmap_id, json(labels) = json(?3) FROM nn_labelmap"
  " WHERE model_id = ?1 AND name = ?2 ORDER BY labelmap_id DESC LIMIT 1",
  /* S_LABELMAP_INSERT */
  "INSERT INTO nn_labelmap (model_id, name, labels, created_at)"
  " VALUES (?1, ?2, ?3, ?4)",
  /* S_VERSION_LATEST */
  VERSION_COLUMNS "WHERE model_id = ?1 ORDER BY version DESC LIMIT 1",
  /* S_VERSION_PINNED */
  VERSION_COLUMNS "WHERE model_id = ?1 AND version = ?2",
  /* S_LAYERS: one row per layer; o is NULL for an element that is not an
  ** object, so that the JSON functions never see a bare string.  The sizes
  ** of a sized kind, then o itself for S_LAYER_FIELD to read the kind's
  ** hyper-parameters from */
  "SELECT type, o ->> '$.type', json_type(o, '$.in'), o ->> '$.in',"
  " json_type(o, '$.out'), o ->> '$.out', o"
  " FROM (SELECT e.key, e.type, CASE e.type WHEN 'object' THEN e.value END AS o"
  "       FROM nn_version AS v, json_each(v.arch) AS e"
  "       WHERE v.version_id = ?1)"
  " ORDER BY key",
  /* S_WEIGHTS */
  "SELECT weights, checksum FROM nn_version WHERE version_id = ?1",
  /* S_LABELMAP_FIND: the latest map of that name that fits the version */
  "SELECT l.labelmap_id, v.n_outputs"
  " FROM nn_version AS v JOIN nn_labelmap AS l ON l.model_id = v.model_id"
  " WHERE v.version_id = ?1 AND l.name = ?2"
  "   AND json_array_length(l.labels) = v.n_outputs"
  " ORDER BY l.labelmap_id DESC LIMIT 1",
  /* S_LABELMAP_WHY: when there is none, what to say */
  "SELECT m.name, v.version, v.n_outputs,"
  " (SELECT json_array_length(l.labels) FROM nn_labelmap AS l"
  "  WHERE l.model_id = v.model_id AND l.name = ?2"
  "  ORDER BY l.labelmap_id DESC LIMIT 1)"
  " FROM nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id"
  " WHERE v.version_id = ?1",
  /* S_LABEL_AT */
  "SELECT json_type(labels, '$[' || ?2 || ']'),"
  " json_extract(labels, '$[' || ?2 || ']')"
  " FROM nn_labelmap WHERE labelmap_id = ?1",
  /* S_DATA_VERSION: run outside a transaction for the read it starts, which
  ** makes the pager look at the file (see nn_store_catalog) */
  "PRAGMA data_version",
  /* S_CATALOG: versions and label maps are append-only, so their largest
  ** ids tell whether anything was added */
  "SELECT (SELECT max(version_id) FROM nn_version),"
  " (SELECT max(labelmap_id) FROM nn_labelmap)",
  /* S_SEQ_INIT: the row S_SEQ_BUMP found missing (sqlite_sequence has
  ** none for a table never written to), with ?1 ids reserved */
  "INSERT INTO sqlite_sequence (name, seq) VALUES ('nn_prediction',"
  " (SELECT coalesce(max(prediction_id), 0) FROM nn_prediction) + ?1)",
  /* S_SEQ_BUMP: reserve ?1 ids; the new seq is the last of them.  Neither
  ** this nor S_SEQ_INIT reads the table it writes, nor returns rows: either
  ** would make SQLite build and drop a temporary table, which cost more
  ** than the rest of a flush of 1000 rows. */
  "UPDATE sqlite_sequence SET seq = max(seq,"
  " (SELECT coalesce(max(prediction_id), 0) FROM nn_prediction)) + ?1"
  " WHERE name = 'nn_prediction'",
  /* S_SEQ_READ */
  "SELECT seq FROM sqlite_sequence WHERE name = 'nn_prediction'",
  /* S_PREDICTION_INSERT: one row (LOG_COLUMNS) */
  LOG_INSERT LOG_ROW,
  /* S_PREDICTION_BATCH: LOG_BATCH rows, in one statement: SQLite's work
  ** for a statement (its sub-journal, the AUTOINCREMENT row, the JSON
  ** cache) is then done once for all of them */
  LOG_INSERT LOG_ROW16 "," LOG_ROW16,
  /* S_LABELS: the labels of a map, as the SQL text each one reads as */
  "SELECT l.labels ->> e.key"
  " FROM nn_labelmap AS l, json_each(l.labels) AS e"
  " WHERE l.labelmap_id = ?1 ORDER BY e.key",
  /* S_FEEDBACK_INFO: outputs, map name, index of label ?2, label at ?3 */
  "SELECT v.n_outputs, l.name,"
  " (SELECT e.key + 1 FROM json_each(l.labels) AS e"
  "  WHERE e.type = 'text' AND e.value = ?2 ORDER BY e.key LIMIT 1),"
  " l.labels ->> (?3 - 1)"
  " FROM nn_prediction AS p"
  " JOIN nn_version AS v ON v.version_id = p.version_id"
  " LEFT JOIN nn_labelmap AS l ON l.labelmap_id = p.labelmap_id"
  " WHERE p.prediction_id = ?1",
  /* S_FEEDBACK_INSERT */
  "INSERT INTO nn_feedback (prediction_id, ts, true_idx, true_label)"
  " VALUES (?1, ?2, ?3, ?4)",
  /* S_LAYER_FIELD: a field of one layer's object (?1) by its path (?2) */
  "SELECT json_type(?1, ?2), ?1 ->> ?2"
};

/* ------------------------------------------------------------------------
** Errors
*/

const char *nn_store_status_name(int status) {
  switch (status) {
  case NN_STORE_OK:       return "ok";
  case NN_STORE_CANTOPEN: return "cantopen";
  case NN_STORE_NOTADB:   return "notadb";
  case NN_STORE_CORRUPT:  return "corrupt";
  case NN_STORE_BUSY:     return "busy";
  case NN_STORE_READONLY: return "readonly";
  case NN_STORE_IOERR:    return "ioerr";
  case NN_STORE_FULL:     return "full";
  case NN_STORE_FOREIGN:  return "foreign";
  case NN_STORE_SCHEMA:   return "schema";
  default:                return "error";
  }
}

static int status_of(int rc) {
  switch (rc & 0xff) {   /* the primary code of an extended one */
  case SQLITE_OK:       return NN_STORE_OK;
  case SQLITE_CANTOPEN: return NN_STORE_CANTOPEN;
  case SQLITE_NOTADB:   return NN_STORE_NOTADB;
  case SQLITE_CORRUPT:  return NN_STORE_CORRUPT;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:   return NN_STORE_BUSY;
  case SQLITE_READONLY: return NN_STORE_READONLY;
  case SQLITE_IOERR:    return NN_STORE_IOERR;
  case SQLITE_FULL:     return NN_STORE_FULL;
  case SQLITE_NOMEM:    return NN_STORE_NOMEM;
  default:              return NN_STORE_ERROR;
  }
}

/* Say what went wrong in s->err; returns status. */
static int fail(nn_store *s, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return status;
}

/* The connection's last error, which must be read before anything else runs
** on the connection (a rollback would replace it). */
static int db_fail(nn_store *s) {
  int status;
  if (!s->db)
    return fail(s, NN_STORE_NOMEM, "out of memory");
  status = status_of(sqlite3_errcode(s->db));
  /* a failure is never OK, whatever the connection last said */
  return fail(s, status ? status : NN_STORE_ERROR, "%s", sqlite3_errmsg(s->db));
}

static int closed(nn_store *s) {
  return fail(s, NN_STORE_ERROR, "the store is closed");
}

static int nomem(nn_store *s) {
  return fail(s, NN_STORE_NOMEM, "out of memory");
}

/* What every writing function checks first. */
static int writable(nn_store *s) {
  if (!s->db)
    return closed(s);
  if (s->borrowed)
    return fail(s, NN_STORE_READONLY, "the store only reads a borrowed connection");
  if (s->opts.readonly)
    return fail(s, NN_STORE_READONLY, "the store was opened read-only (readonly = true)");
  return NN_STORE_OK;
}

/* A stored version refused: "model 'x' version 2: ..." */
static int invalid(nn_store *s, const nn_store_version *v, const char *fmt, ...) {
  char what[NN_ERRMAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return fail(s, NN_STORE_INVALID, "model '%s' version %" PRId64 ": %s",
              v->name, v->version, what);
}

/* For the store's other files (nn_store.h). */
int nn_store_fail(nn_store *s, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return status;
}

int nn_store_db_fail(nn_store *s) {
  return db_fail(s);
}

/* ------------------------------------------------------------------------
** Buffers and JSON text
*/

static int buf_reserve(nn_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra <= b->cap - b->n)
    return NN_STORE_OK;
  if (extra > SIZE_MAX - b->n)
    return NN_STORE_NOMEM;
  need = b->n + extra;
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
  p = realloc(b->p, cap);
  if (!p)
    return NN_STORE_NOMEM;
  b->p = p;
  b->cap = cap;
  return NN_STORE_OK;
}

int nn_buf_add(nn_buf *b, const void *data, size_t n) {
  if (buf_reserve(b, n))
    return NN_STORE_NOMEM;
  if (n)
    memcpy(b->p + b->n, data, n);
  b->n += n;
  return NN_STORE_OK;
}

static int buf_char(nn_buf *b, char c) {
  return nn_buf_add(b, &c, 1);
}

void nn_buf_free(nn_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

int nn_buf_json_string(nn_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i;
  if (buf_char(b, '"'))
    return NN_STORE_NOMEM;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6] = { '\\', 0, '0', '0', 0, 0 };
    size_t len = 2;
    switch (c) {
    case '"':  esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      if (c >= 0x20) {       /* bytes from 0x80 up pass through: UTF-8 */
        esc[0] = (char)c;
        len = 1;
      } else {
        esc[1] = 'u';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        len = 6;
      }
    }
    if (nn_buf_add(b, esc, len))
      return NN_STORE_NOMEM;
  }
  return buf_char(b, '"');
}

/* printf follows the C locale's decimal point, JSON does not: a host that
** set LC_NUMERIC to a comma locale must still get valid JSON. */
static void dot_decimal(char *s) {
  for (; *s; s++)
    if (*s == ',')
      *s = '.';
}

int nn_buf_json_int(nn_buf *b, int64_t v) {
  char s[24];
  int n = snprintf(s, sizeof s, "%" PRId64, v);
  return nn_buf_add(b, s, (size_t)n);
}

/* The shortest "%.{lo..hi}g" that reads back as the same value: 11.2f prints
** "11.2", not "11.1999998"; a float needs at most 9 digits, a double 17. */
int nn_buf_json_double(nn_buf *b, double v) {
  char s[40];
  int p, n = 0;
  if (!isfinite(v))
    return nn_buf_add(b, "null", 4);
  for (p = 15; p <= 17; p++) {
    n = snprintf(s, sizeof s, "%.*g", p, v);
    if (strtod(s, NULL) == v)
      break;
  }
  dot_decimal(s);
  return nn_buf_add(b, s, (size_t)n);
}

/* nn_ftoa, not printf: the log formats every input and output, and printf
** with a float format, then strtof to find the shortest, cost about a sixth
** of a logged row. */
int nn_buf_json_float(nn_buf *b, float v) {
  if (buf_reserve(b, NN_FTOA_MAX))
    return NN_STORE_NOMEM;
  b->n += nn_ftoa(b->p + b->n, v);
  return NN_STORE_OK;
}

/* v as a JSON array: room for all of it is reserved once. */
static int json_floats(nn_buf *b, const float *v /* [n] */, size_t n) {
  char *p;
  size_t i;
  if (n > (SIZE_MAX - 2) / (NN_FTOA_MAX + 1) || buf_reserve(b, 2 + n * (NN_FTOA_MAX + 1)))
    return NN_STORE_NOMEM;
  p = b->p + b->n;
  *p++ = '[';
  for (i = 0; i < n; i++) {
    if (i)
      *p++ = ',';
    p += nn_ftoa(p, v[i]);
  }
  *p++ = ']';
  b->n = (size_t)(p - b->p);
  return NN_STORE_OK;
}

/* labels as a JSON array into b; ERROR for a missing or empty label. */
static int json_labels(nn_store *s, nn_buf *b,
                       const char *const *labels /* [n] */, size_t n) {
  size_t i;
  b->n = 0;
  if (buf_char(b, '['))
    return nomem(s);
  for (i = 0; i < n; i++) {
    if (!labels[i] || !labels[i][0])
      return fail(s, NN_STORE_ERROR, "labels[%zu] is not a non-empty string", i + 1);
    if ((i && buf_char(b, ',')) ||
        nn_buf_json_string(b, labels[i], strlen(labels[i])))
      return nomem(s);
  }
  return buf_char(b, ']') ? nomem(s) : NN_STORE_OK;
}

/* [{"type":"Linear","in":4,"out":3},{"type":"ReLU"},...] into s->json. */
static int json_arch(nn_store *s, const nn_net *net) {
  nn_buf *b = &s->json;
  size_t i;
  int bad = 0;
  b->n = 0;
  bad |= buf_char(b, '[');
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    const char *type = nn_kind_name(l->kind);
    size_t j;
    if (i)
      bad |= buf_char(b, ',');
    bad |= nn_buf_add(b, "{\"type\":", 8);
    bad |= nn_buf_json_string(b, type, strlen(type));
    if (d && !d->elementwise) {
      bad |= nn_buf_add(b, ",\"in\":", 6);
      bad |= nn_buf_json_int(b, (int64_t)l->n_in);
      bad |= nn_buf_add(b, ",\"out\":", 7);
      bad |= nn_buf_json_int(b, (int64_t)l->n_out);
    }
    for (j = 0; d && j < d->n_hyper; j++) {
      const char *name = d->hyper[j].name;
      bad |= buf_char(b, ',');
      bad |= nn_buf_json_string(b, name, strlen(name));
      bad |= buf_char(b, ':');
      bad |= nn_buf_json_float(b, l->hyper[j]);
    }
    bad |= buf_char(b, '}');
  }
  bad |= buf_char(b, ']');
  return bad ? nomem(s) : NN_STORE_OK;
}

/* ------------------------------------------------------------------------
** Statements, transactions, time
*/

/* The prepared statement `which`, reset and unbound by done() after use. */
static int use(nn_store *s, int which, sqlite3_stmt **st) {
  if (!s->stmt[which] &&
      sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                         &s->stmt[which], NULL) != SQLITE_OK) {
    *st = NULL;
    return db_fail(s);
  }
  *st = s->stmt[which];
  return NN_STORE_OK;
}

static void done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/* Step st: OK with *row set to whether a row came; any error in s->err. */
static int step(nn_store *s, sqlite3_stmt *st, int *row) {
  int rc = sqlite3_step(st);
  *row = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return NN_STORE_OK;
  return db_fail(s);
}

/* Run a statement that returns nothing we need. */
static int run(nn_store *s, int which) {
  sqlite3_stmt *st;
  int rc, row;
  if ((rc = use(s, which, &st)) != NN_STORE_OK)
    return rc;
  rc = step(s, st, &row);
  done(st);
  return rc;
}

/* A transaction the caller opened on the connection (BEGIN through
** store:rows, say) would make BEGIN IMMEDIATE fail, and the store's writes
** part of whatever the caller then commits or rolls back. */
static int in_caller_txn(nn_store *s) {
  return !sqlite3_get_autocommit(s->db);
}

static int begin(nn_store *s) {
  if (in_caller_txn(s))
    return fail(s, NN_STORE_ERROR, "cannot write while a transaction is open on the "
                "store's connection: COMMIT or ROLLBACK it first");
  return run(s, S_BEGIN);
}
static int commit(nn_store *s) { return run(s, S_COMMIT); }

/* Undo the open transaction, if any; the error that led here is already in
** s->err, and a failing rollback cannot add anything useful to it. */
static void rollback(nn_store *s) {
  char err[NN_ERRMAX];
  if (sqlite3_get_autocommit(s->db))
    return;
  memcpy(err, s->err, sizeof err);
  run(s, S_ROLLBACK);
  memcpy(s->err, err, sizeof err);
}

/* A statement run once (opening, migrating): sqlite3_exec, errors kept. */
static int exec(nn_store *s, const char *sql) {
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(s);
  return NN_STORE_OK;
}

static int query_int(nn_store *s, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc, row = 0;
  *out = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_fail(s);
  rc = step(s, st, &row);
  if (row)
    *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc;
}

/* Unix time in ms from SQLite's own clock: C99 has no clock finer than a
** second, and the VFS already carries one for every platform it runs on. */
static int64_t clock_ms(sqlite3_vfs *vfs) {
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

/* ------------------------------------------------------------------------
** Opening, migrating, closing
*/

void nn_store_init(nn_store *s) {
  static const nn_store_opts defaults = NN_STORE_OPTS_DEFAULT;
  memset(s, 0, sizeof *s);
  s->opts = defaults;
}

/* Whose file is it?  *version: the schema version to migrate from. */
static int check_owner(nn_store *s, int64_t *version) {
  int64_t app, user_version, objects;
  int rc;
  if ((rc = query_int(s, "PRAGMA application_id", &app)) ||
      (rc = query_int(s, "PRAGMA user_version", &user_version)) ||
      (rc = query_int(s, "SELECT count(*) FROM sqlite_schema", &objects)))
    return rc;
  if (app == 0 && objects == 0) {   /* empty: it becomes ours */
    *version = 0;
    return NN_STORE_OK;
  }
  if (app != NN_APPLICATION_ID) {
    if (app != 0)
      return fail(s, NN_STORE_FOREIGN,
                  "not an nn database (application_id 0x%08" PRIx32 ")",
                  (uint32_t)app);
    return fail(s, NN_STORE_FOREIGN,
                "not an nn database (no application_id, and tables of its own)");
  }
  if (user_version < 0 || user_version > (int64_t)nn_schema_count)
    return fail(s, NN_STORE_SCHEMA,
                "schema version %" PRId64 " is newer than this nn knows (%zu)",
                user_version, nn_schema_count);
  *version = user_version;
  return NN_STORE_OK;
}

/* Apply the missing migrations, all of them or none. */
static int migrate(nn_store *s) {
  char sql[96];
  int64_t version;
  size_t i;
  int rc;
  if ((rc = exec(s, "BEGIN IMMEDIATE")) != NN_STORE_OK)
    return rc;
  /* Another process may have migrated the file since we looked. */
  if ((rc = check_owner(s, &version)) != NN_STORE_OK)
    goto fail;
  for (i = (size_t)version; i < nn_schema_count; i++)
    if ((rc = exec(s, nn_schema_sql[i])) != NN_STORE_OK) {
      char err[NN_ERRMAX];
      memcpy(err, s->err, sizeof err);
      rc = fail(s, rc, "schema migration %zu: %s", i + 1, err);
      goto fail;
    }
  snprintf(sql, sizeof sql, "PRAGMA user_version = %zu; PRAGMA application_id = %ld",
           nn_schema_count, (long)NN_APPLICATION_ID);
  if ((rc = exec(s, sql)) != NN_STORE_OK || (rc = exec(s, "COMMIT")) != NN_STORE_OK)
    goto fail;
  return NN_STORE_OK;
fail:
  rollback(s);
  return rc;
}

/* The read-only open of nn_store_open, up to the owner check.  A WAL
** database needs its -shm file, which a read-only folder or medium cannot
** hold when the file was shipped without one: SQLite then refuses to read
** (SQLITE_READONLY_CANTINIT), and the file is opened again as immutable,
** without locks or shared memory.  So a change another process makes to
** such a file while it is open is not seen. */
static int open_readonly(nn_store *s, const char *path, int64_t *version) {
  nn_buf uri = { NULL, 0, 0 };
  const char *c;
  int rc;
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    return db_fail(s);
  rc = check_owner(s, version);
  if (rc != NN_STORE_READONLY && rc != NN_STORE_CANTOPEN)
    return rc;
  sqlite3_close_v2(s->db);
  s->db = NULL;
  /* file:PATH?immutable=1, with the characters a URI gives a meaning escaped;
  ** an absolute path after an empty authority (file:///...) */
  rc = nn_buf_add(&uri, path[0] == '/' ? "file://" : "file:", path[0] == '/' ? 7 : 5);
  for (c = path; *c && rc == NN_STORE_OK; c++) {
    char esc[4];
    if (*c == '?' || *c == '#' || *c == '%') {
      snprintf(esc, sizeof esc, "%%%02X", (unsigned)(unsigned char)*c);
      rc = nn_buf_add(&uri, esc, 3);
    } else {
      rc = nn_buf_add(&uri, c, 1);
    }
  }
  if (rc == NN_STORE_OK)
    rc = nn_buf_add(&uri, "?immutable=1", 13);   /* with its terminating zero */
  if (rc != NN_STORE_OK) {
    nn_buf_free(&uri);
    return nomem(s);
  }
  rc = sqlite3_open_v2(uri.p, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
  nn_buf_free(&uri);
  if (rc != SQLITE_OK)
    return db_fail(s);
  return check_owner(s, version);
}

int nn_store_open(nn_store *s, const char *path, const nn_store_opts *opts) {
  int64_t version;
  int rc;
  if (s->db)
    return fail(s, NN_STORE_ERROR, "the store is already open");
  nn_store_init(s);
  if (opts)
    s->opts = *opts;
  if (s->opts.flush_rows < 1 || s->opts.flush_ms < 0 || s->opts.busy_timeout_ms < 0)
    return fail(s, NN_STORE_ERROR, "invalid options");
  if (s->opts.readonly) {
    if ((rc = open_readonly(s, path, &version)) != NN_STORE_OK)
      goto fail;
    if ((size_t)version < nn_schema_count) {
      rc = fail(s, NN_STORE_SCHEMA, "schema version %" PRId64 " is older than this nn's "
                "(%zu), and a read-only open cannot migrate it", version, nn_schema_count);
      goto fail;
    }
    sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms);
    s->vfs = sqlite3_vfs_find(NULL);
    goto functions;
  }
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK) {
    rc = db_fail(s);
    goto fail;
  }
  sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms);
  /* the log reads the clock for every row: without the lock of a lookup */
  s->vfs = sqlite3_vfs_find(NULL);
  /* Ownership before WAL: a foreign file must be left as it was found. */
  if ((rc = exec(s, "PRAGMA foreign_keys = ON")) != NN_STORE_OK ||
      (rc = check_owner(s, &version)) != NN_STORE_OK ||
      (rc = exec(s, "PRAGMA journal_mode = WAL")) != NN_STORE_OK ||
      (rc = exec(s, "PRAGMA synchronous = NORMAL")) != NN_STORE_OK)
    goto fail;
  if ((size_t)version < nn_schema_count && (rc = migrate(s)) != NN_STORE_OK)
    goto fail;
functions:
  /* SELECT nn_classify(...) through store:rows, as in the sqlite3 shell */
  if (nn_sql_register(s->db) != SQLITE_OK) {
    rc = db_fail(s);
    goto fail;
  }
  return NN_STORE_OK;
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

void nn_store_close(nn_store *s) {
  char err[NN_ERRMAX];
  if (s->borrowed) {
    nn_store_detach(s);
    return;
  }
  finalize_all(s);
  /* _v2: should a statement we do not know of survive, the connection
  ** closes when it is finalized instead of leaking */
  sqlite3_close_v2(s->db);
  nn_buf_free(&s->log);
  nn_buf_free(&s->json);
  nn_buf_free(&s->text);
  nn_buf_free(&s->blob);
  nn_buf_free(&s->tags);
  nn_buf_free(&s->labels);
  memcpy(err, s->err, sizeof err);
  nn_store_init(s);
  memcpy(s->err, err, sizeof err);
}

void nn_store_attach(nn_store *s, sqlite3 *db) {
  s->db = db;
  s->borrowed = 1;
  /* The owner of db may change its journal or locking mode at any time
  ** without telling us, so the wal-index header is never read through a
  ** borrowed connection (with its index in heap memory, asking for the
  ** shared memory would create a -shm file nobody closes). */
  s->wal_state = -1;
}

void nn_store_detach(nn_store *s) {
  finalize_all(s);
  nn_buf_free(&s->log);
  nn_buf_free(&s->json);
  nn_buf_free(&s->text);
  nn_buf_free(&s->blob);
  nn_buf_free(&s->tags);
  s->db = NULL;
  s->borrowed = 0;
}

/* ------------------------------------------------------------------------
** Models, versions, label maps
*/

/* *model_id: the model's id, or 0 when there is no such model. */
static int find_model(nn_store *s, const char *name, int64_t *model_id) {
  sqlite3_stmt *st;
  int rc, row;
  *model_id = 0;
  if ((rc = use(s, S_MODEL_ID, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row)
    *model_id = sqlite3_column_int64(st, 0);
  done(st);
  return rc;
}

static int need_model(nn_store *s, const char *name, int64_t *model_id) {
  int rc = find_model(s, name, model_id);
  if (rc == NN_STORE_OK && !*model_id)
    return fail(s, NN_STORE_NOTFOUND, "no model named '%s'", name);
  return rc;
}

/* Inside a transaction: the latest row of map for the model if it already
** holds the labels in s->text (JSON), else a new one. */
static int put_labelmap(nn_store *s, int64_t model_id, const char *map,
                        int64_t now, int64_t *labelmap_id) {
  sqlite3_stmt *st;
  int rc, row;
  *labelmap_id = 0;
  if ((rc = use(s, S_LABELMAP_CURRENT, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, s->text.p, (int)s->text.n, SQLITE_STATIC);
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row && sqlite3_column_int(st, 1))
    *labelmap_id = sqlite3_column_int64(st, 0);
  done(st);
  if (rc != NN_STORE_OK || *labelmap_id)
    return rc;
  if ((rc = use(s, S_LABELMAP_INSERT, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, s->text.p, (int)s->text.n, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now);
  if ((rc = step(s, st, &row)) == NN_STORE_OK)
    *labelmap_id = sqlite3_last_insert_rowid(s->db);
  done(st);
  return rc;
}

/* Inside a transaction: the id of model name, created when new. */
static int put_model(nn_store *s, const char *name, int64_t now, int64_t *model_id) {
  sqlite3_stmt *st;
  int rc, row;
  if ((rc = find_model(s, name, model_id)) != NN_STORE_OK || *model_id)
    return rc;
  if ((rc = use(s, S_MODEL_INSERT, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now);
  if ((rc = step(s, st, &row)) == NN_STORE_OK)
    *model_id = sqlite3_last_insert_rowid(s->db);
  done(st);
  return rc;
}

/* Inside a transaction: insert the version whose arch is in s->json and
** weights in s->blob; *version gets its number. */
static int put_version(nn_store *s, int64_t model_id, const nn_net *net,
                       const char *note, int64_t now, int64_t *version,
                       int64_t *version_id) {
  sqlite3_stmt *st;
  char checksum[17];
  int rc, row;
  if ((rc = use(s, S_NEXT_VERSION, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  if ((rc = step(s, st, &row)) == NN_STORE_OK)
    *version = sqlite3_column_int64(st, 0);
  done(st);
  if (rc != NN_STORE_OK || (rc = use(s, S_VERSION_INSERT, &st)) != NN_STORE_OK)
    return rc;
  snprintf(checksum, sizeof checksum, "%016" PRIx64, nn_fnv1a64(s->blob.p, s->blob.n));
  if (sqlite3_bind_int64(st, 1, model_id) ||
      sqlite3_bind_int64(st, 2, *version) ||
      sqlite3_bind_text(st, 3, s->json.p, (int)s->json.n, SQLITE_STATIC) ||
      sqlite3_bind_int64(st, 4, (sqlite3_int64)net->n_inputs) ||
      sqlite3_bind_int64(st, 5, (sqlite3_int64)net->n_outputs) ||
      sqlite3_bind_int64(st, 6, (sqlite3_int64)net->n_params) ||
      sqlite3_bind_blob64(st, 7, s->blob.p, s->blob.n, SQLITE_STATIC) ||
      sqlite3_bind_text(st, 8, checksum, 16, SQLITE_STATIC) ||
      (note && sqlite3_bind_text(st, 9, note, -1, SQLITE_STATIC)) ||
      sqlite3_bind_int64(st, 10, now))
    rc = db_fail(s);   /* a blob too big for SQLite, say */
  else if ((rc = step(s, st, &row)) == NN_STORE_OK)
    *version_id = sqlite3_last_insert_rowid(s->db);
  done(st);
  return rc;
}

int nn_store_save(nn_store *s, const char *name, const nn_net *net,
                  const char *note, const char *const *labels,
                  nn_store_saved *out) {
  return nn_store_save_with(s, name, net, note, labels, NULL, NULL, out);
}

int nn_store_save_with(nn_store *s, const char *name, const nn_net *net,
                       const char *note, const char *const *labels,
                       nn_store_extra extra, void *ctx, nn_store_saved *out) {
  int64_t now = clock_ms(s->vfs), model_id;
  size_t bytes;
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = writable(s)) != NN_STORE_OK)
    return rc;
  if (!name || !name[0])
    return fail(s, NN_STORE_ERROR, "a model name must not be empty");
  if (net->n_inputs == 0)
    return fail(s, NN_STORE_ERROR, "a network without a Linear layer cannot be saved");
  /* Everything that can fail without the database, first. */
  bytes = 4 * net->n_params;    /* n_params <= NN_MAX_PARAMS: no overflow */
  s->blob.n = 0;
  if ((rc = json_arch(s, net)) != NN_STORE_OK)
    return rc;
  if (buf_reserve(&s->blob, bytes))
    return nomem(s);
  nn_params_to_le((unsigned char *)s->blob.p, net->params, net->n_params);
  s->blob.n = bytes;
  if (labels && (rc = json_labels(s, &s->text, labels, net->n_outputs)) != NN_STORE_OK)
    return rc;
  if ((rc = begin(s)) != NN_STORE_OK)
    return rc;
  out->created_at = now;
  if ((rc = put_model(s, name, now, &model_id)) != NN_STORE_OK ||
      (rc = put_version(s, model_id, net, note, now, &out->version,
                        &out->version_id)) != NN_STORE_OK ||
      (labels && (rc = put_labelmap(s, model_id, "default", now,
                                    &out->labelmap_id)) != NN_STORE_OK) ||
      (extra && (rc = extra(s, out, ctx)) != NN_STORE_OK) ||
      (rc = commit(s)) != NN_STORE_OK) {
    rollback(s);
    memset(out, 0, sizeof *out);
    return rc;
  }
  s->catalog_gen++;   /* data_version does not see this connection's writes */
  return NN_STORE_OK;
}

int nn_store_add_labels(nn_store *s, const char *name, const char *map,
                        const char *const *labels, size_t n) {
  int64_t now = clock_ms(s->vfs), model_id, labelmap_id, n_outputs = 0;
  sqlite3_stmt *st;
  int rc, row;
  if ((rc = writable(s)) != NN_STORE_OK)
    return rc;
  if (!map || !map[0])
    return fail(s, NN_STORE_ERROR, "a label map name must not be empty");
  if ((rc = json_labels(s, &s->text, labels, n)) != NN_STORE_OK ||
      (rc = begin(s)) != NN_STORE_OK)
    return rc;
  if ((rc = need_model(s, name, &model_id)) != NN_STORE_OK ||
      (rc = use(s, S_LATEST_OUTPUTS, &st)) != NN_STORE_OK)
    goto fail;
  sqlite3_bind_int64(st, 1, model_id);
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row)
    n_outputs = sqlite3_column_int64(st, 0);
  done(st);
  if (rc != NN_STORE_OK)
    goto fail;
  if ((int64_t)n != n_outputs) {
    rc = fail(s, NN_STORE_MISMATCH, "labels: %zu given, model '%s' has %" PRId64
              " outputs", n, name, n_outputs);
    goto fail;
  }
  if ((rc = put_labelmap(s, model_id, map, now, &labelmap_id)) != NN_STORE_OK ||
      (rc = commit(s)) != NN_STORE_OK)
    goto fail;
  s->catalog_gen++;
  return NN_STORE_OK;
fail:
  rollback(s);
  return rc;
}

int nn_store_find_labelmap(nn_store *s, int64_t version_id, const char *map,
                           int64_t *labelmap_id, size_t *n_labels) {
  sqlite3_stmt *st;
  int rc, row;
  *labelmap_id = 0;
  *n_labels = 0;
  if (!s->db)
    return closed(s);
  if ((rc = use(s, S_LABELMAP_FIND, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, version_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row) {
    *labelmap_id = sqlite3_column_int64(st, 0);
    *n_labels = (size_t)sqlite3_column_int64(st, 1);
  }
  done(st);
  if (rc != NN_STORE_OK || *labelmap_id)
    return rc;
  /* None fits: say why. */
  if ((rc = use(s, S_LABELMAP_WHY, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, version_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  if ((rc = step(s, st, &row)) != NN_STORE_OK)
    ;
  else if (!row)
    rc = fail(s, NN_STORE_NOTFOUND, "no version with id %" PRId64, version_id);
  else if (sqlite3_column_type(st, 3) == SQLITE_NULL)
    rc = fail(s, NN_STORE_NOTFOUND, "model '%s' has no label map '%s'",
              (const char *)sqlite3_column_text(st, 0), map);
  else
    rc = fail(s, NN_STORE_MISMATCH, "label map '%s' has %" PRId64 " labels, model '%s'"
              " version %" PRId64 " has %" PRId64 " outputs", map,
              sqlite3_column_int64(st, 3), (const char *)sqlite3_column_text(st, 0),
              sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
  done(st);
  return rc;
}

int nn_store_read_label(nn_store *s, int64_t labelmap_id, size_t i,
                        const char **label, size_t *len) {
  sqlite3_stmt *st;
  int rc, row;
  *label = NULL;
  *len = 0;
  if (!s->db)
    return closed(s);
  if ((rc = use(s, S_LABEL_AT, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, labelmap_id);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
  if ((rc = step(s, st, &row)) != NN_STORE_OK)
    ;
  else if (!row || sqlite3_column_type(st, 0) == SQLITE_NULL)
    rc = fail(s, NN_STORE_NOTFOUND, "label map %" PRId64 " has no label %zu",
              labelmap_id, i + 1);
  else if (strcmp((const char *)sqlite3_column_text(st, 0), "text") != 0)
    rc = fail(s, NN_STORE_INVALID, "label map %" PRId64 ": label %zu is not a string",
              labelmap_id, i + 1);
  else {
    /* the copy outlives the statement, which is reset before returning */
    const char *text = (const char *)sqlite3_column_text(st, 1);
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    s->text.n = 0;
    if (nn_buf_add(&s->text, text, n) || buf_char(&s->text, '\0'))
      rc = nomem(s);
    else {
      *label = s->text.p;
      *len = n;
    }
  }
  done(st);
  return rc;
}

int nn_store_find_version(nn_store *s, const char *name, int64_t version,
                          nn_store_version *v) {
  sqlite3_stmt *st;
  int64_t model_id, n_layers, n_params, n_inputs, n_outputs;
  const char *arch_type;
  int rc, row;
  memset(v, 0, sizeof *v);
  v->name = name;
  if (!s->db)
    return closed(s);
  if ((rc = need_model(s, name, &model_id)) != NN_STORE_OK ||
      (rc = use(s, version ? S_VERSION_PINNED : S_VERSION_LATEST, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  if (version)
    sqlite3_bind_int64(st, 2, version);
  if ((rc = step(s, st, &row)) != NN_STORE_OK || !row) {
    done(st);
    return rc ? rc : fail(s, NN_STORE_NOTFOUND, "model '%s' has no version %" PRId64,
                          name, version);
  }
  v->version_id = sqlite3_column_int64(st, 0);
  v->version = sqlite3_column_int64(st, 1);
  arch_type = (const char *)sqlite3_column_text(st, 2);
  n_layers = sqlite3_column_int64(st, 3);
  n_inputs = sqlite3_column_int64(st, 4);
  n_outputs = sqlite3_column_int64(st, 5);
  n_params = sqlite3_column_int64(st, 6);
  if (!arch_type || strcmp(arch_type, "array") != 0)
    rc = invalid(s, v, "architecture is not a JSON array");
  else if (n_layers < 1 || (uint64_t)n_layers > NN_MAX_LAYERS)
    rc = invalid(s, v, "architecture has %" PRId64 " layers", n_layers);
  else if (n_params < 0 || (uint64_t)n_params > NN_MAX_PARAMS)
    rc = invalid(s, v, "n_params is %" PRId64 ", out of range", n_params);
  else if (n_inputs < 1 || (uint64_t)n_inputs > NN_MAX_WIDTH)
    rc = invalid(s, v, "n_inputs is %" PRId64 ", out of range", n_inputs);
  else if (n_outputs < 1 || (uint64_t)n_outputs > NN_MAX_WIDTH)
    rc = invalid(s, v, "n_outputs is %" PRId64 ", out of range", n_outputs);
  done(st);
  if (rc != NN_STORE_OK)
    return rc;
  v->n_layers = (size_t)n_layers;
  v->n_params = (size_t)n_params;
  v->n_inputs = (size_t)n_inputs;
  v->n_outputs = (size_t)n_outputs;
  rc = nn_store_find_labelmap(s, v->version_id, "default", &v->labelmap_id,
                              &v->n_labels);
  if (rc == NN_STORE_NOTFOUND || rc == NN_STORE_MISMATCH)
    rc = NN_STORE_OK;   /* no default map that fits: a network without labels */
  return rc;
}

/* A JSON integer in 1..NN_MAX_WIDTH at column col (its json_type at col - 1). */
static int width(sqlite3_stmt *st, int col, size_t *out) {
  const char *type = (const char *)sqlite3_column_text(st, col - 1);
  sqlite3_int64 w = sqlite3_column_int64(st, col);
  if (!type || strcmp(type, "integer") != 0 || w < 1 || (uint64_t)w > NN_MAX_WIDTH)
    return 0;
  *out = (size_t)w;
  return 1;
}

/* Hyper-parameter h of the layer object at column 6 of S_LAYERS into *out,
** *ok set to whether it is there, a number and in its range.  Returns the
** status of reading it. */
static int hyper_field(nn_store *s, sqlite3_stmt *layers, const nn_hyper *h,
                       float *out, int *ok) {
  char path[64];
  sqlite3_stmt *st;
  const char *type;
  float f;
  int rc, row;
  *ok = 0;
  if ((rc = use(s, S_LAYER_FIELD, &st)) != NN_STORE_OK)
    return rc;
  snprintf(path, sizeof path, "$.\"%s\"", h->name);
  sqlite3_bind_value(st, 1, sqlite3_column_value(layers, 6));
  sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row) {
    type = (const char *)sqlite3_column_text(st, 0);
    f = (float)sqlite3_column_double(st, 1);
    if (type && (strcmp(type, "real") == 0 || strcmp(type, "integer") == 0) &&
        f >= h->lo && f <= h->hi) {
      *out = f;
      *ok = 1;
    }
  }
  done(st);
  return rc;
}

/* One layer of S_LAYERS into *l, or INVALID naming it (1-based i). */
static int read_layer(nn_store *s, const nn_store_version *v, sqlite3_stmt *st,
                      size_t i, nn_layer *l) {
  /* column_type first: after a conversion by column_text it means nothing */
  int kind_is_text = sqlite3_column_type(st, 1) == SQLITE_TEXT;
  const char *type = (const char *)sqlite3_column_text(st, 0);
  const char *kind = (const char *)sqlite3_column_text(st, 1);
  const nn_kind_info *d;
  size_t j;
  memset(l, 0, sizeof *l);
  if (!type || strcmp(type, "object") != 0)
    return invalid(s, v, "layer %zu is not a JSON object", i);
  if (!kind_is_text)
    return invalid(s, v, "layer %zu has no type", i);
  l->kind = nn_kind_from_name(kind);
  if ((d = nn_kind_info_of(l->kind)) == NULL)
    return invalid(s, v, "layer %zu has unknown type '%.40s'", i, kind);
  if (!d->elementwise) {
    if (!width(st, 3, &l->n_in))
      return invalid(s, v, "layer %zu (%s) has no valid 'in'", i, d->name);
    if (!width(st, 5, &l->n_out))
      return invalid(s, v, "layer %zu (%s) has no valid 'out'", i, d->name);
  }
  for (j = 0; j < d->n_hyper; j++) {
    int ok, rc = hyper_field(s, st, &d->hyper[j], &l->hyper[j], &ok);
    if (rc != NN_STORE_OK)
      return rc;
    if (!ok)
      return invalid(s, v, "layer %zu (%s) has no valid '%s'", i, d->name,
                     d->hyper[j].name);
  }
  return NN_STORE_OK;
}

int nn_store_read_layers(nn_store *s, const nn_store_version *v, nn_layer *layers) {
  char err[NN_ERRMAX];
  sqlite3_stmt *st;
  size_t n = 0, i, n_params, n_in = 0, n_out = 0;
  int rc, row;
  if (!s->db)
    return closed(s);
  if ((rc = use(s, S_LAYERS, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, v->version_id);
  while ((rc = step(s, st, &row)) == NN_STORE_OK && row) {
    if (n == v->n_layers) {   /* the row changed since find_version */
      rc = invalid(s, v, "architecture has more than %zu layers", v->n_layers);
      break;
    }
    if ((rc = read_layer(s, v, st, n + 1, &layers[n])) != NN_STORE_OK)
      break;
    n++;
  }
  done(st);
  if (rc != NN_STORE_OK)
    return rc;
  if (n != v->n_layers)
    return invalid(s, v, "architecture has %zu layers, not %zu", n, v->n_layers);
  if (nn_layout(layers, n, &n_params, err) != NN_OK)
    return invalid(s, v, "%s", err);
  for (i = 0; i < n; i++)
    if (!nn_kind_info_of(layers[i].kind)->elementwise) {
      if (!n_in)
        n_in = layers[i].n_in;
      n_out = layers[i].n_out;
    }
  if (!n_in)
    return invalid(s, v, "architecture has no Linear layer");
  if (n_in != v->n_inputs)
    return invalid(s, v, "n_inputs is %zu, its architecture takes %zu", v->n_inputs, n_in);
  if (n_out != v->n_outputs)
    return invalid(s, v, "n_outputs is %zu, its architecture gives %zu", v->n_outputs, n_out);
  if (n_params != v->n_params)
    return invalid(s, v, "n_params is %zu, its architecture needs %zu", v->n_params, n_params);
  return NN_STORE_OK;
}

int nn_store_read_params(nn_store *s, const nn_store_version *v, float *params) {
  sqlite3_stmt *st;
  char actual[17];
  const unsigned char *blob;
  const char *checksum;
  size_t bytes;
  int rc, row, is_blob;
  if (!s->db)
    return closed(s);
  if ((rc = use(s, S_WEIGHTS, &st)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(st, 1, v->version_id);
  if ((rc = step(s, st, &row)) != NN_STORE_OK || !row) {
    done(st);
    return rc ? rc : invalid(s, v, "no longer in the database");
  }
  is_blob = sqlite3_column_type(st, 0) == SQLITE_BLOB;
  blob = sqlite3_column_blob(st, 0);
  bytes = (size_t)sqlite3_column_bytes(st, 0);
  checksum = (const char *)sqlite3_column_text(st, 1);
  if (!is_blob)
    rc = invalid(s, v, "weights are not a blob");
  else if (bytes != 4 * v->n_params)
    rc = invalid(s, v, "weights blob has %zu bytes, its architecture needs %zu",
                 bytes, 4 * v->n_params);
  else {
    snprintf(actual, sizeof actual, "%016" PRIx64, nn_fnv1a64(blob, bytes));
    if (!checksum || strcmp(checksum, actual) != 0)
      rc = invalid(s, v, "checksum is %.16s, the weights hash to %s",
                   checksum ? checksum : "NULL", actual);
    else
      nn_params_from_le(params, blob, v->n_params);
  }
  done(st);
  return rc;
}

/* The wal-index (the -shm file SQLite maps) starts with two copies of a
** 48-byte header that every commit rewrites, its third word counting the
** commits (SQLite's "WAL-index format" documents it).  Reading the first
** copy takes no lock and no system call, where PRAGMA data_version takes a
** read transaction and its file locks: half the time of a classify. */
#define WAL_HEADER_WORDS  12
#define WAL_REGION_BYTES  32768

typedef char nn_store_wal_seen_fits[
  sizeof ((nn_store *)0)->wal_seen == WAL_HEADER_WORDS * sizeof(uint32_t) ? 1 : -1];

/* Copy that header into h; 0 when it cannot be read.  Only called once
** check_wal found WAL mode with SQLite's own shared memory, so that asking
** the VFS for region 0 finds what SQLite mapped and creates nothing. */
static int read_wal_header(nn_store *s, uint32_t h[WAL_HEADER_WORDS]) {
  sqlite3_file *file = NULL, *wal = NULL;
  volatile void *region = NULL;
  const volatile uint32_t *words;
  int i;
  /* the WAL is still open: no PRAGMA journal_mode ran since check_wal */
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
      !wal || !wal->pMethods ||
      sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      !file || !file->pMethods || file->pMethods->iVersion < 2 ||
      !file->pMethods->xShmMap || !file->pMethods->xShmBarrier ||
      file->pMethods->xShmMap(file, 0, WAL_REGION_BYTES, 0, &region) != SQLITE_OK || !region)
    return 0;
  /* a commit that completed before this call is seen whole */
  file->pMethods->xShmBarrier(file);
  words = (const volatile uint32_t *)region;
  for (i = 0; i < WAL_HEADER_WORDS; i++)
    h[i] = words[i];
  return 1;
}

/* The single text value of sql, compared with want. */
static int query_is(nn_store *s, const char *sql, const char *want) {
  sqlite3_stmt *st = NULL;
  int is = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    is = strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
  sqlite3_finalize(st);
  return is;
}

/* Can the wal-index header be read?  In WAL mode with normal locking and
** after a read transaction (the PRAGMA data_version just run), SQLite has
** the shared memory mapped.  With exclusive locking it may keep its index
** in its own heap instead, and a ":memory:" database has no WAL at all. */
static int check_wal(nn_store *s) {
  sqlite3_file *wal = NULL;
  return query_is(s, "PRAGMA main.journal_mode", "wal") &&
         query_is(s, "PRAGMA main.locking_mode", "normal") &&
         sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
         wal && wal->pMethods;
}

void nn_store_user_sql(nn_store *s) {
  s->wal_state = 0;
}

/* The pager's data version counts the commits to the main database, this
** connection's and every other's, as of the pager's last look at the file;
** total_changes adds this connection's rows not committed yet.  Outside a
** transaction the pager has not looked since the last one ended: when the
** wal-index header shows no commit since the last full check and this
** connection changed nothing, nothing did; else a read (PRAGMA
** data_version's) makes the pager look.  Inside a transaction (a statement
** calling an SQL function) the pager is up to date, and this costs no
** statement.  Inside a write transaction neither number would see a
** rollback, so the catalog is read every time, and what it held then is not
** trusted after. */
int nn_store_catalog(nn_store *s, uint64_t *gen) {
  sqlite3_stmt *st;
  uint32_t header[WAL_HEADER_WORDS];
  unsigned int data_version = 0;
  int64_t changes;
  int rc, row, state, fresh = 0;
  *gen = s->catalog_gen;
  if (!s->db)
    return closed(s);
  state = sqlite3_txn_state(s->db, "main");
  changes = (int64_t)sqlite3_total_changes64(s->db);
  if (state == SQLITE_TXN_NONE) {
    if (s->wal_state > 0 && read_wal_header(s, header)) {
      if (memcmp(header, s->wal_seen, sizeof header) == 0 &&
          changes == s->total_changes && s->data_version >= 0)
        return NN_STORE_OK;   /* nothing committed since the last full check */
      fresh = 1;
    }
    if ((rc = run(s, S_DATA_VERSION)) != NN_STORE_OK)
      return rc;
    /* The header was read before this check: a commit after it shows as a
    ** change next time.  The first time, there is none to keep yet. */
    if (fresh)
      memcpy(s->wal_seen, header, sizeof header);
    else if (s->wal_state == 0) {
      s->wal_state = check_wal(s) ? 1 : -1;
      memset(s->wal_seen, 0, sizeof s->wal_seen);   /* never a header */
    }
  }
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION,
                           &data_version) != SQLITE_OK)
    return fail(s, NN_STORE_ERROR, "cannot read the data version of the database");
  if (state != SQLITE_TXN_WRITE && (int64_t)data_version == s->data_version &&
      changes == s->total_changes)
    return NN_STORE_OK;
  /* Something was written; most often log rows, which change nothing a
  ** loaded network depends on. */
  if ((rc = use(s, S_CATALOG, &st)) != NN_STORE_OK)
    return rc;
  if ((rc = step(s, st, &row)) == NN_STORE_OK && row) {
    if (sqlite3_column_int64(st, 0) != s->max_version_id ||
        sqlite3_column_int64(st, 1) != s->max_labelmap_id) {
      s->max_version_id = sqlite3_column_int64(st, 0);
      s->max_labelmap_id = sqlite3_column_int64(st, 1);
      s->catalog_gen++;
    }
    s->data_version = state == SQLITE_TXN_WRITE ? -1 : (int64_t)data_version;
    s->total_changes = changes;
  }
  done(st);
  *gen = s->catalog_gen;
  return rc;
}

/* ------------------------------------------------------------------------
** The prediction log
**
** A buffered row is a logrec followed by its texts: input and output as
** JSON arrays, then its label, request_id and tags, each len[] bytes
** (NO_TEXT: NULL).  Headers are copied in and out with memcpy, so records
** need no alignment.
*/

#define NO_TEXT  ((size_t)-1)

typedef struct logrec {
  int64_t id;                /* 0: let AUTOINCREMENT choose (sync) */
  int64_t ts, version_id, labelmap_id, pred_idx;
  double score;              /* NaN: not finite, stored as NULL */
  size_t len[5];             /* input, output, label, request_id, tags */
} logrec;

/* The label maps the log has read live in s->labels, one after the other:
** a labelhdr, n textref, then the texts.  A map never changes once written
** (triggers refuse it), so nothing in here goes stale; past LABELS_MAX
** bytes the cache starts over. */
typedef struct labelhdr {
  int64_t id;
  size_t n, size;            /* labels, and bytes of the whole entry */
} labelhdr;

typedef struct textref {
  size_t off, len;           /* in the entry's texts; len NO_TEXT: NULL */
} textref;

#define LABELS_MAX  65536

/* Read map id into a new entry of s->labels at *at; *at = NO_TEXT when the
** map does not exist (or holds no labels), which is not cached: it may be
** written later. */
static int load_labels(nn_store *s, int64_t id, size_t *at) {
  nn_buf *refs = &s->blob, *texts = &s->text;
  sqlite3_stmt *st;
  labelhdr h;
  textref ref;
  int rc, row;
  *at = NO_TEXT;
  if ((rc = use(s, S_LABELS, &st)) != NN_STORE_OK)
    return rc;
  refs->n = texts->n = 0;
  sqlite3_bind_int64(st, 1, id);
  while ((rc = step(s, st, &row)) == NN_STORE_OK && row) {
    const char *text = (const char *)sqlite3_column_text(st, 0);
    ref.off = texts->n;
    ref.len = text ? (size_t)sqlite3_column_bytes(st, 0) : NO_TEXT;
    if (nn_buf_add(refs, &ref, sizeof ref) ||
        (text && nn_buf_add(texts, text, ref.len))) {
      rc = nomem(s);
      break;
    }
  }
  done(st);
  if (rc != NN_STORE_OK || refs->n == 0)
    return rc;
  h.id = id;
  h.n = refs->n / sizeof ref;
  h.size = sizeof h + refs->n + texts->n;
  if (s->labels.n > LABELS_MAX - (h.size < LABELS_MAX ? h.size : LABELS_MAX))
    s->labels.n = 0;
  if (buf_reserve(&s->labels, h.size))
    return nomem(s);
  *at = s->labels.n;
  nn_buf_add(&s->labels, &h, sizeof h);   /* reserved: cannot fail */
  nn_buf_add(&s->labels, refs->p, refs->n);
  nn_buf_add(&s->labels, texts->p, texts->n);
  return NN_STORE_OK;
}

/* Label idx (0-based) of map id, as pred_label takes it: *len NO_TEXT when
** the map has no such label.  *text is valid until the next call. */
static int find_label(nn_store *s, int64_t id, size_t idx, const char **text,
                      size_t *len) {
  size_t at = 0;
  labelhdr h;
  textref ref;
  int rc;
  *text = NULL;
  *len = NO_TEXT;
  while (at < s->labels.n) {
    memcpy(&h, s->labels.p + at, sizeof h);
    if (h.id == id)
      break;
    at += h.size;
  }
  if (at == s->labels.n) {
    if ((rc = load_labels(s, id, &at)) != NN_STORE_OK || at == NO_TEXT)
      return rc;
    memcpy(&h, s->labels.p + at, sizeof h);
  }
  if (idx < h.n) {
    memcpy(&ref, s->labels.p + at + sizeof h + idx * sizeof ref, sizeof ref);
    *text = s->labels.p + at + sizeof h + h.n * sizeof ref + ref.off;
    *len = ref.len;
  }
  return NN_STORE_OK;
}

static size_t text_len(size_t len) {
  return len == NO_TEXT ? 0 : len;
}

static void bind_text(sqlite3_stmt *st, int col, const char *text, size_t len) {
  if (len == NO_TEXT)
    sqlite3_bind_null(st, col);
  else
    sqlite3_bind_text(st, col, text, (int)len, SQLITE_STATIC);
}

/* Reserve a block of ids inside the caller's write transaction. */
static int reserve_ids(nn_store *s, int64_t *first, int64_t *last) {
  int64_t block = s->opts.flush_rows > 256 ? s->opts.flush_rows : 256;
  sqlite3_stmt *st;
  int rc, row, which;
  for (which = S_SEQ_BUMP; ; which = S_SEQ_INIT) {
    if ((rc = use(s, which, &st)) != NN_STORE_OK)
      return rc;
    sqlite3_bind_int64(st, 1, block);
    rc = step(s, st, &row);
    done(st);
    if (rc != NN_STORE_OK)
      return rc;
    if (which == S_SEQ_INIT || sqlite3_changes(s->db) > 0)
      break;
  }
  if ((rc = use(s, S_SEQ_READ, &st)) != NN_STORE_OK)
    return rc;
  if ((rc = step(s, st, &row)) == NN_STORE_OK && !row)
    rc = fail(s, NN_STORE_ERROR, "sqlite_sequence has no row for nn_prediction");
  if (rc == NN_STORE_OK) {
    *last = sqlite3_column_int64(st, 0);
    *first = *last - block + 1;
  }
  done(st);
  return rc;
}

/* Take a reserved block, once the transaction that reserved it committed. */
static void add_ids(nn_store *s, int64_t first, int64_t last) {
  if (first == s->id_end)               /* nobody else reserved in between */
    s->id_end = last + 1;
  else if (s->id_next == s->id_end) {
    s->id_next = first;
    s->id_end = last + 1;
  } else {
    s->spare_next = first;
    s->spare_end = last + 1;
  }
}

/* The next reserved id, reserving a block (a transaction of its own) when
** none is left. */
static int next_id(nn_store *s, int64_t *id) {
  int64_t first, last;
  int rc;
  if (s->id_next == s->id_end && s->spare_next < s->spare_end) {
    s->id_next = s->spare_next;
    s->id_end = s->spare_end;
    s->spare_next = s->spare_end = 0;
  }
  if (s->id_next == s->id_end) {
    if ((rc = begin(s)) != NN_STORE_OK)
      return rc;
    if ((rc = reserve_ids(s, &first, &last)) != NN_STORE_OK ||
        (rc = commit(s)) != NN_STORE_OK) {
      rollback(s);
      return rc;
    }
    add_ids(s, first, last);
  }
  *id = s->id_next;
  return NN_STORE_OK;
}

/* Bind the record at log.p + off as the row of st that starts at
** parameter base + 1; returns the offset of the next record.  The texts
** are bound from the log buffer, which does not move during a flush. */
static size_t bind_row(sqlite3_stmt *st, int base, const char *log, size_t off) {
  logrec r;
  const char *text = log + off + sizeof r;
  int i;
  memcpy(&r, log + off, sizeof r);
  if (r.id)
    sqlite3_bind_int64(st, base + 1, r.id);
  else
    sqlite3_bind_null(st, base + 1);
  sqlite3_bind_int64(st, base + 2, r.ts);
  sqlite3_bind_int64(st, base + 3, r.version_id);
  if (r.labelmap_id)
    sqlite3_bind_int64(st, base + 4, r.labelmap_id);
  else
    sqlite3_bind_null(st, base + 4);
  sqlite3_bind_int64(st, base + 7, r.pred_idx);
  if (isnan(r.score))
    sqlite3_bind_null(st, base + 9);
  else
    sqlite3_bind_double(st, base + 9, r.score);
  /* input 5, output 6, label 8, request_id 10, tags 11 */
  for (i = 0; i < 5; i++) {
    static const int column[5] = { 5, 6, 8, 10, 11 };
    bind_text(st, base + column[i], text, r.len[i]);
    text += text_len(r.len[i]);
  }
  return (size_t)(text - log);
}

int nn_store_flush(nn_store *s) {
  sqlite3_stmt *one, *batch = NULL;
  int64_t first = 0, last = 0;
  size_t off = 0, left, i;
  int rc, row;
  if (s->db && s->opts.readonly)
    return NN_STORE_OK;   /* nothing can have been logged */
  if ((rc = writable(s)) != NN_STORE_OK)
    return rc;
  if (s->log_rows == 0)
    return NN_STORE_OK;
  if ((rc = use(s, S_PREDICTION_INSERT, &one)) != NN_STORE_OK ||
      (s->log_rows >= LOG_BATCH &&
       (rc = use(s, S_PREDICTION_BATCH, &batch)) != NN_STORE_OK) ||
      (rc = begin(s)) != NN_STORE_OK)
    return rc;
  for (left = s->log_rows; left > 0; left -= i) {
    sqlite3_stmt *st = left >= LOG_BATCH ? batch : one;
    for (i = 0; i < (st == batch ? LOG_BATCH : 1); i++)
      off = bind_row(st, (int)i * LOG_COLUMNS, s->log.p, off);
    rc = step(s, st, &row);
    sqlite3_reset(st);
    if (rc != NN_STORE_OK)
      goto fail;
  }
  /* Fewer ids left than the next batch needs: reserve them now, in this
  ** transaction, rather than in one of their own in the middle of a frame. */
  if (!s->opts.sync && s->spare_next == s->spare_end &&
      s->id_end - s->id_next < s->opts.flush_rows &&
      (rc = reserve_ids(s, &first, &last)) != NN_STORE_OK)
    goto fail;
  if ((rc = commit(s)) != NN_STORE_OK)
    goto fail;
  if (last)
    add_ids(s, first, last);
  s->log.n = 0;
  s->log_rows = 0;
  rc = NN_STORE_OK;
  goto unbind;
fail:
  rollback(s);    /* the rows stay buffered for the next flush */
unbind:
  /* no pointer into the log buffer outlives the flush */
  sqlite3_clear_bindings(one);
  if (batch)
    sqlite3_clear_bindings(batch);
  return rc;
}

/* Append row as a record; on failure the buffer is as it was. */
static int buffer_row(nn_store *s, const nn_store_row *row, int64_t id,
                      int64_t now) {
  nn_buf *b = &s->log;
  size_t start = b->n, idx = nn_argmax(row->y, row->n_y), mark, label_len = NO_TEXT;
  const char *label = NULL;
  logrec r;
  int rc;
  if (row->labelmap_id &&
      (rc = find_label(s, row->labelmap_id, idx, &label, &label_len)) != NN_STORE_OK)
    return rc;
  memset(&r, 0, sizeof r);
  r.id = id;
  r.ts = now;
  r.version_id = row->version_id;
  r.labelmap_id = row->labelmap_id;
  r.pred_idx = (int64_t)idx + 1;
  r.score = isfinite(row->y[idx]) ? (double)row->y[idx] : NAN;
  if (nn_buf_add(b, &r, sizeof r))
    goto nomem;
  mark = b->n;
  if (json_floats(b, row->x, row->n_x))
    goto nomem;
  r.len[0] = b->n - mark;
  mark = b->n;
  if (json_floats(b, row->y, row->n_y))
    goto nomem;
  r.len[1] = b->n - mark;
  r.len[2] = label_len;
  r.len[3] = row->request_id ? row->request_len : NO_TEXT;
  r.len[4] = row->tags ? row->tags_len : NO_TEXT;
  if ((label_len != NO_TEXT && nn_buf_add(b, label, label_len)) ||
      (row->request_id && nn_buf_add(b, row->request_id, row->request_len)) ||
      (row->tags && nn_buf_add(b, row->tags, row->tags_len)))
    goto nomem;
  memcpy(b->p + start, &r, sizeof r);
  return NN_STORE_OK;
nomem:
  b->n = start;
  return nomem(s);
}

int nn_store_log(nn_store *s, const nn_store_row *row, int64_t *id) {
  int64_t now = clock_ms(s->vfs);
  int rc;
  *id = 0;
  if ((rc = writable(s)) != NN_STORE_OK)
    return rc;
  if (row->n_y == 0)
    return fail(s, NN_STORE_ERROR, "a prediction needs at least one output");
  if (s->opts.sync) {
    /* The buffer is always empty here: this row alone, written at once or
    ** not at all. */
    if ((rc = buffer_row(s, row, 0, now)) != NN_STORE_OK)
      return rc;
    s->log_rows = 1;
    if ((rc = nn_store_flush(s)) != NN_STORE_OK) {
      s->log.n = 0;
      s->log_rows = 0;
      return rc;
    }
    *id = sqlite3_last_insert_rowid(s->db);
    return NN_STORE_OK;
  }
  if ((rc = next_id(s, id)) != NN_STORE_OK ||
      (rc = buffer_row(s, row, *id, now)) != NN_STORE_OK) {
    *id = 0;
    return rc;
  }
  s->id_next++;
  if (s->log_rows++ == 0) {
    s->log_first_id = *id;
    s->log_oldest_ms = now;
  }
  s->log_last_id = *id;
  /* inside the caller's transaction the rows wait for its end */
  if (((int64_t)s->log_rows >= s->opts.flush_rows ||
       now - s->log_oldest_ms >= s->opts.flush_ms) && !in_caller_txn(s))
    return nn_store_flush(s);
  return NN_STORE_OK;
}

int nn_store_feedback(nn_store *s, int64_t id, int64_t true_idx,
                      const char *label, size_t label_len) {
  sqlite3_stmt *info, *st;
  int64_t n_outputs;
  int rc, row;
  if ((rc = writable(s)) != NN_STORE_OK)
    return rc;
  if (s->log_rows && id >= s->log_first_id && id <= s->log_last_id &&
      (rc = nn_store_flush(s)) != NN_STORE_OK)
    return rc;
  /* BEGIN IMMEDIATE waits (busy_timeout) for another writer; a read that
  ** then turned into a write would fail at once instead */
  if ((rc = use(s, S_FEEDBACK_INFO, &info)) != NN_STORE_OK ||
      (rc = use(s, S_FEEDBACK_INSERT, &st)) != NN_STORE_OK ||
      (rc = begin(s)) != NN_STORE_OK)
    return rc;
  sqlite3_bind_int64(info, 1, id);
  if (label)
    sqlite3_bind_text(info, 2, label, (int)label_len, SQLITE_STATIC);
  else
    sqlite3_bind_int64(info, 3, true_idx);
  if ((rc = step(s, info, &row)) != NN_STORE_OK)
    goto done;
  if (!row) {
    rc = fail(s, NN_STORE_NOTFOUND, "feedback: no prediction with id %" PRId64, id);
    goto done;
  }
  n_outputs = sqlite3_column_int64(info, 0);
  if (label && sqlite3_column_type(info, 1) == SQLITE_NULL) {
    rc = fail(s, NN_STORE_NOTFOUND, "feedback: prediction %" PRId64 " has no label"
              " map, so '%.*s' means nothing", id, (int)label_len, label);
    goto done;
  }
  if (label && sqlite3_column_type(info, 2) == SQLITE_NULL) {
    rc = fail(s, NN_STORE_NOTFOUND, "feedback: '%.*s' is not a label of map '%s'",
              (int)label_len, label, (const char *)sqlite3_column_text(info, 1));
    goto done;
  }
  if (label)
    true_idx = sqlite3_column_int64(info, 2);
  else if (true_idx < 1 || true_idx > n_outputs) {
    rc = fail(s, NN_STORE_MISMATCH, "feedback: index %" PRId64 " is not in 1..%" PRId64,
              true_idx, n_outputs);
    goto done;
  }
  /* info stays on its row: the label it found is bound from there */
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, clock_ms(s->vfs));
  sqlite3_bind_int64(st, 3, true_idx);
  if (label)
    sqlite3_bind_text(st, 4, label, (int)label_len, SQLITE_STATIC);
  else if (sqlite3_column_type(info, 3) != SQLITE_NULL)
    sqlite3_bind_text(st, 4, (const char *)sqlite3_column_text(info, 3),
                      sqlite3_column_bytes(info, 3), SQLITE_TRANSIENT);
  rc = step(s, st, &row);
  done(st);
done:
  done(info);
  if (rc == NN_STORE_OK)
    rc = commit(s);
  if (rc != NN_STORE_OK)
    rollback(s);
  return rc;
}
