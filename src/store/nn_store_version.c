/*
** nn_store_version.c: saved versions (see nn_store.h).
**
** What it implements: saving a network as the next immutable version of a
** model (architecture as JSON, weights as a little-endian float32 blob with
** its FNV-1a checksum, and a SHA-256 digest over everything a load relies
** on), its default label map in the same transaction, loading a version
** back in steps with every stored fact checked, and the digest functions
** SQL gets (a migration fills digests in with them).  What it is not:
** label maps (nn_store_labels.c), the log (nn_store_log.c) or the
** connection (nn_store_conn.c); no JSON parser (SQLite's JSON functions read
** what is stored), no Lua.
**
**   SELECT m.name, v.version, v.digest FROM nn_version AS v
**   JOIN nn_model AS m USING (model_id);
*/
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_digest.h"
#include "store/nn_store_int.h"

/* Columns of S_VERSION_LATEST and S_VERSION_PINNED. */
#define VERSION_COLUMNS \
  "SELECT version_id, version, " \
  "CASE WHEN json_valid(arch) THEN json_type(arch) END, " \
  "CASE WHEN json_valid(arch) THEN json_array_length(arch) END, " \
  "n_inputs, n_outputs, n_params, " \
  "typeof(n_inputs), typeof(n_outputs), typeof(n_params) FROM nn_version "

static const char *const sql[S_COUNT] = {
  [S_MODEL_INSERT] =
  "INSERT INTO nn_model (name, created_at, facts) VALUES (?1, ?2, ?3)",
  [S_NEXT_VERSION] =
  "SELECT coalesce(max(version), 0) + 1 FROM nn_version WHERE model_id = ?1",
  [S_VERSION_INSERT] =
  "INSERT INTO nn_version (model_id, version, arch, n_inputs, n_outputs,"
  " n_params, weights, checksum, note, created_at, digest)"
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
  [S_VERSION_LATEST] = VERSION_COLUMNS "WHERE model_id = ?1 ORDER BY version DESC LIMIT 1",
  [S_VERSION_PINNED] = VERSION_COLUMNS "WHERE model_id = ?1 AND version = ?2",
  /* one row per layer; o is NULL for an element that is not an object, so
  ** that the JSON functions never see a bare string.  The sizes of a sized
  ** kind, then o itself for S_LAYER_FIELD to read the kind's
  ** hyper-parameters from */
  [S_LAYERS] =
  "SELECT type, o ->> '$.type', json_type(o, '$.in'), o ->> '$.in',"
  " json_type(o, '$.out'), o ->> '$.out', o, json_type(o, '$.n'), o ->> '$.n',"
  " json_type(o, '$.from')"
  " FROM (SELECT e.key, e.type, CASE e.type WHEN 'object' THEN e.value END AS o"
  "       FROM nn_version AS v, json_each(v.arch) AS e"
  "       WHERE v.version_id = ?1)"
  " ORDER BY key",
  /* everything the digest covers */
  [S_WEIGHTS] =
  "SELECT v.weights, v.checksum, v.digest, coalesce(m.name, ''), v.version, v.arch,"
  " v.n_inputs, v.n_outputs, v.n_params, v.model_id FROM nn_version AS v"
  " LEFT JOIN nn_model AS m ON m.model_id = v.model_id WHERE v.version_id = ?1",
  /* a field of one layer's object (?1) by its path (?2) */
  [S_LAYER_FIELD] = "SELECT json_type(?1, ?2), ?1 ->> ?2"
};

#define USE(s, slot, st)  nn_st_use(s, slot, sql[slot], st)

/* ------------------------------------------------------------------------
** Digests: SHA-256 over a row's facts, laid out by formats/nn_digest.c
** (layout 2: the model by its name, so that a row keeps its digest in
** every store).  A training run's function is nn_store_train.c's;
** nn_store_digest_functions (nn_store.c) puts them all on a connection.
*/

void nn_store_version_digest(char hex[NN_SHA256_HEX], const char *model, int64_t version,
                             const char *arch, size_t arch_len, int64_t n_inputs,
                             int64_t n_outputs, int64_t n_params,
                             const void *weights, size_t bytes) {
  nn_digest_model m;
  m.name = model;
  m.name_len = strlen(model);
  m.id = 0;
  nn_digest_version(hex, &m, version, arch, arch_len, n_inputs, n_outputs, n_params,
                    weights, bytes);
}

/* The text (or blob) of v and its length: "" for NULL. */
static const char *value_text(sqlite3_value *v, size_t *len) {
  const char *p = sqlite3_value_type(v) == SQLITE_BLOB
    ? (const char *)sqlite3_value_blob(v) : (const char *)sqlite3_value_text(v);
  *len = (size_t)sqlite3_value_bytes(v);
  return p ? p : "";
}

/* The model an SQL digest function's first argument names.  Layout 1
** (the function's user data NULL): its model_id.  Layout 2: its name, given
** as text, or found by its model_id in the connection's nn_model; *st holds
** the name then (finalize it after use).  0 and an error on ctx when the id
** names no model. */
static int digest_model(sqlite3_context *ctx, sqlite3_value *arg, nn_digest_model *m,
                        sqlite3_stmt **st) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  int rc;
  m->id = sqlite3_value_int64(arg);
  m->name = NULL;
  m->name_len = 0;
  *st = NULL;
  if (!sqlite3_user_data(ctx))
    return 1;
  if (sqlite3_value_type(arg) != SQLITE_INTEGER) {
    m->name = value_text(arg, &m->name_len);
    return 1;
  }
  if (sqlite3_prepare_v2(db, "SELECT name FROM nn_model WHERE model_id = ?1", -1, st,
                         NULL) != SQLITE_OK) {
    sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
    return 0;
  }
  sqlite3_bind_int64(*st, 1, m->id);
  if ((rc = sqlite3_step(*st)) == SQLITE_ROW && sqlite3_column_text(*st, 0)) {
    m->name = (const char *)sqlite3_column_text(*st, 0);
    m->name_len = (size_t)sqlite3_column_bytes(*st, 0);
    return 1;
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
    char *msg = sqlite3_mprintf("no model with model_id %lld", (long long)m->id);
    sqlite3_result_error(ctx, msg ? msg : "no such model", -1);
    sqlite3_free(msg);
  } else
    sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
  return 0;
}

/* nn_version_digest(model, version, arch, n_inputs, n_outputs, n_params,
** weights) and nn_labelmap_digest(model, name, labels): what save stores,
** model the model's name or its model_id here, for tools that write rows
** in SQL.  nn_version_digest_1 and nn_labelmap_digest_1, layout 1 over a
** model_id, only while nn.open migrates (schema/003_digests.sql fills the
** rows written before it with them, 008_digests_by_name.sql checks them). */
static void sql_version_digest(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char hex[NN_SHA256_HEX];
  size_t arch_len, bytes;
  const char *arch = value_text(argv[2], &arch_len);
  const char *weights = value_text(argv[6], &bytes);
  nn_digest_model m;
  sqlite3_stmt *st;
  (void)argc;
  if (!digest_model(ctx, argv[0], &m, &st))
    return;
  nn_digest_version(hex, &m, sqlite3_value_int64(argv[1]), arch, arch_len,
                    sqlite3_value_int64(argv[3]), sqlite3_value_int64(argv[4]),
                    sqlite3_value_int64(argv[5]), weights, bytes);
  sqlite3_finalize(st);
  sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
}

static void sql_labelmap_digest(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char hex[NN_SHA256_HEX];
  size_t name_len, labels_len;
  const char *name = value_text(argv[1], &name_len);
  const char *labels = value_text(argv[2], &labels_len);
  nn_digest_model m;
  sqlite3_stmt *st;
  (void)argc;
  if (!digest_model(ctx, argv[0], &m, &st))
    return;
  nn_digest_labelmap(hex, &m, name, name_len, labels, labels_len);
  sqlite3_finalize(st);
  sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
}

int nn_st_version_digest_functions(sqlite3 *db, int on, int layout) {
  static char layout2;
  void *data = layout == 1 ? NULL : &layout2;
  /* not deterministic: a model_id is read in nn_model */
  int rc = sqlite3_create_function_v2(db, layout == 1 ? "nn_version_digest_1"
                                      : "nn_version_digest", 7, SQLITE_UTF8, data,
                                      on ? sql_version_digest : NULL, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, layout == 1 ? "nn_labelmap_digest_1"
                                    : "nn_labelmap_digest", 3, SQLITE_UTF8, data,
                                    on ? sql_labelmap_digest : NULL, NULL, NULL, NULL);
  return rc;
}

/* ------------------------------------------------------------------------
** JSON of what save writes
*/

/* ,"from":[2,0]: what layer i reads, as net:modules() numbers them (0 the
** input, j module j), when it is not only the layer before it: a chain is
** written as it always was. */
static int arch_json_from(nn_buf *b, const nn_layer *l, size_t i) {
  size_t k;
  int bad = 0;
  if (l->from[0] == 0 && l->from[1] == 0)
    return 0;
  bad |= nn_buf_add(b, ",\"from\":[", 9);
  for (k = 0; k < 2 && nn_layer_input(l, i, k); k++) {
    if (k)
      bad |= nn_buf_add(b, ",", 1);
    bad |= nn_buf_json_int(b, (int64_t)nn_layer_input(l, i, k) - 1);
  }
  return bad | nn_buf_add(b, "]", 1);
}

int nn_store_arch_json(nn_buf *b, const nn_net *net) {
  size_t i;
  int bad = 0;
  b->n = 0;
  bad |= nn_buf_add(b, "[", 1);
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    const char *type = nn_kind_name(l->kind);
    size_t j;
    if (i)
      bad |= nn_buf_add(b, ",", 1);
    bad |= nn_buf_add(b, "{\"type\":", 8);
    bad |= nn_buf_json_string(b, type, strlen(type));
    if (d && d->n_sizes == 2) {
      bad |= nn_buf_add(b, ",\"in\":", 6);
      bad |= nn_buf_json_int(b, (int64_t)l->n_in);
      bad |= nn_buf_add(b, ",\"out\":", 7);
      bad |= nn_buf_json_int(b, (int64_t)l->n_out);
    } else if (d && d->n_sizes == 1) {
      bad |= nn_buf_add(b, ",\"n\":", 5);
      bad |= nn_buf_json_int(b, (int64_t)l->n_in);
    }
    for (j = 0; d && j < d->n_hyper; j++) {
      const char *name = d->hyper[j].name;
      bad |= nn_buf_add(b, ",", 1);
      bad |= nn_buf_json_string(b, name, strlen(name));
      bad |= nn_buf_add(b, ":", 1);
      bad |= nn_buf_json_float(b, l->hyper[j]);
    }
    bad |= arch_json_from(b, l, i);
    bad |= nn_buf_add(b, "}", 1);
  }
  bad |= nn_buf_add(b, "]", 1);
  return bad;
}

/* The architecture of net into s->json. */
static int json_arch(nn_store *s, const nn_net *net) {
  return nn_store_arch_json(&s->json, net) ? nn_st_nomem(s) : NN_OK;
}

/* ------------------------------------------------------------------------
** Models, saving, adding label maps
*/

/* Inside a transaction: the id of model name, created when new. */
static int put_model(nn_store *s, const char *name, int64_t now, int64_t *model_id) {
  char facts[NN_FACTS_MAX];
  sqlite3_stmt *st;
  int rc, row;
  if ((rc = nn_st_find_model(s, name, model_id)) != NN_OK || *model_id)
    return rc;
  if ((rc = USE(s, S_MODEL_INSERT, &st)) != NN_OK)
    return rc;
  nn_store_no_facts(facts);
  sqlite3_bind_int64(st, 2, now);
  sqlite3_bind_text(st, 3, facts, -1, SQLITE_TRANSIENT);
  if ((rc = nn_st_bound(s, sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC),
                        "the model name")) == NN_OK &&
      (rc = nn_st_step(s, st, &row)) == NN_OK)
    *model_id = sqlite3_last_insert_rowid(s->db);
  nn_st_done(st);
  return rc;
}

/* Inside a transaction: insert the version whose arch is in s->json and
** weights in s->blob; *version gets its number. */
static int put_version(nn_store *s, int64_t model_id, const char *model,
                       const nn_net *net, const char *note, int64_t now,
                       int64_t *version, int64_t *version_id) {
  sqlite3_stmt *st;
  char checksum[17], digest[NN_SHA256_HEX];
  int rc, row;
  if ((rc = USE(s, S_NEXT_VERSION, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  if ((rc = nn_st_step(s, st, &row)) == NN_OK)
    *version = sqlite3_column_int64(st, 0);
  nn_st_done(st);
  if (rc != NN_OK || (rc = USE(s, S_VERSION_INSERT, &st)) != NN_OK)
    return rc;
  snprintf(checksum, sizeof checksum, "%016" PRIx64, nn_fnv1a64(s->blob.p, s->blob.n));
  nn_store_version_digest(digest, model, *version, s->json.p, s->json.n,
                 (int64_t)net->n_inputs, (int64_t)net->n_outputs,
                 (int64_t)net->n_params, s->blob.p, s->blob.n);
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_int64(st, 2, *version);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)net->n_inputs);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)net->n_outputs);
  sqlite3_bind_int64(st, 6, (sqlite3_int64)net->n_params);
  sqlite3_bind_text(st, 8, checksum, 16, SQLITE_STATIC);
  sqlite3_bind_int64(st, 10, now);
  sqlite3_bind_text(st, 11, digest, 64, SQLITE_STATIC);
  if ((rc = nn_st_bound(s, sqlite3_bind_text(st, 3, s->json.p, (int)s->json.n,
                                             SQLITE_STATIC), "the architecture")) ||
      (rc = nn_st_bound(s, sqlite3_bind_blob64(st, 7, s->blob.p, s->blob.n,
                                               SQLITE_STATIC), "the weights")) ||
      (note && (rc = nn_st_bound(s, sqlite3_bind_text(st, 9, note, -1, SQLITE_STATIC),
                                 "the note"))))
    ;
  else if ((rc = nn_st_step(s, st, &row)) == NN_OK)
    *version_id = sqlite3_last_insert_rowid(s->db);
  nn_st_done(st);
  if (rc == NN_OK)
    rc = nn_st_fact_added(s, model_id, NN_FACT_VERSION, *version_id, *version, NULL);
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
  int64_t now = nn_st_clock_ms(s->vfs);
  size_t bytes;
  int rc;
  if (s->engine)
    return s->engine->save_with(s, name, net, note, labels, extra, ctx, out);
  memset(out, 0, sizeof *out);
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (!name || !name[0])
    return nn_st_fail(s, NN_ERROR, "a model name must not be empty");
  if (net->n_inputs == 0)
    return nn_st_fail(s, NN_ERROR, "a network without a Linear layer cannot be saved");
  /* Everything that can fail without the database, first. */
  bytes = 4 * net->n_params;    /* n_params <= NN_MAX_PARAMS: no overflow */
  s->blob.n = 0;
  if ((rc = json_arch(s, net)) != NN_OK)
    return rc;
  if (nn_buf_reserve(&s->blob, bytes))
    return nn_st_nomem(s);
  nn_params_to_le((unsigned char *)s->blob.p, net->params, net->n_params);
  s->blob.n = bytes;
  if (labels && (rc = nn_st_json_labels(s, &s->text, labels, net->n_outputs)) != NN_OK)
    return rc;
  /* what SQLite would refuse, named, before anything is written */
  if ((rc = nn_st_check_length(s, "the model name", strlen(name))) ||
      (note && (rc = nn_st_check_length(s, "the note", strlen(note)))) ||
      (rc = nn_st_check_length(s, "the architecture", s->json.n)) ||
      (rc = nn_st_check_length(s, "the weights", s->blob.n)) ||
      (labels && (rc = nn_st_check_length(s, "the labels", s->text.n))))
    return rc;
  if ((rc = nn_st_begin(s)) != NN_OK)
    return rc;
  out->created_at = now;
  out->model = name;
  if ((rc = put_model(s, name, now, &out->model_id)) != NN_OK ||
      (rc = put_version(s, out->model_id, name, net, note, now, &out->version,
                        &out->version_id)) != NN_OK ||
      (labels && (rc = nn_st_put_labelmap(s, out->model_id, name, "default", now,
                                    &out->labelmap_id)) != NN_OK) ||
      (extra && (rc = extra(s, out, ctx)) != NN_OK) ||
      (rc = nn_st_commit(s)) != NN_OK) {
    nn_st_rollback(s);
    memset(out, 0, sizeof *out);
    return rc;
  }
  s->catalog_gen++;   /* data_version does not see this connection's writes */
  return NN_OK;
}

/* ------------------------------------------------------------------------
** Loading a version
*/

/* A stored size at column col (its typeof at col + 3) as an integer in
** [lo, hi], or INVALID naming it: a REAL 4.5 is not truncated to 4. */
static int stored_size(nn_store *s, const nn_store_version *v, sqlite3_stmt *st,
                       int col, const char *what, int64_t lo, uint64_t hi,
                       int64_t *out) {
  const char *type = (const char *)sqlite3_column_text(st, col + 3);
  if (!type || strcmp(type, "integer") != 0) {
    const char *text = (const char *)sqlite3_column_text(st, col);
    return nn_st_invalid(s, v, "%s is %.30s (%s), not an integer", what,
                         text ? text : "NULL", type ? type : "?");
  }
  *out = sqlite3_column_int64(st, col);
  if (*out < lo || (uint64_t)*out > hi)
    return nn_st_invalid(s, v, "%s is %" PRId64 ", out of range", what, *out);
  return NN_OK;
}

int nn_store_find_version(nn_store *s, const char *name, int64_t version,
                          nn_store_version *v) {
  sqlite3_stmt *st;
  int64_t model_id, n_layers, n_params = 0, n_inputs = 0, n_outputs = 0;
  const char *arch_type;
  int rc, row;
  if (s->engine)
    return s->engine->find_version(s, name, version, v);
  memset(v, 0, sizeof *v);
  v->name = name;
  if (!s->db)
    return nn_st_closed(s);
  /* the model's rows checked as a whole first: a version or a map deleted
  ** outside nn is an error, never the one before answering for it */
  if ((rc = nn_st_need_model(s, name, &model_id)) != NN_OK ||
      (rc = nn_st_check_facts(s, model_id, name)) != NN_OK ||
      (rc = USE(s, version ? S_VERSION_PINNED : S_VERSION_LATEST, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  if (version)
    sqlite3_bind_int64(st, 2, version);
  if ((rc = nn_st_step(s, st, &row)) != NN_OK || !row) {
    nn_st_done(st);
    return rc ? rc : nn_st_fail(s, NN_ENOTFOUND, "model '%s' has no version %" PRId64,
                                name, version);
  }
  v->version_id = sqlite3_column_int64(st, 0);
  v->version = sqlite3_column_int64(st, 1);
  arch_type = (const char *)sqlite3_column_text(st, 2);
  n_layers = sqlite3_column_int64(st, 3);
  if (!arch_type || strcmp(arch_type, "array") != 0)
    rc = nn_st_invalid(s, v, "architecture is not a JSON array");
  else if (n_layers < 1 || (uint64_t)n_layers > NN_MAX_LAYERS)
    rc = nn_st_invalid(s, v, "architecture has %" PRId64 " layers", n_layers);
  else if ((rc = stored_size(s, v, st, 6, "n_params", 0, NN_MAX_PARAMS, &n_params)) == 0 &&
           (rc = stored_size(s, v, st, 4, "n_inputs", 1, NN_MAX_WIDTH, &n_inputs)) == 0)
    rc = stored_size(s, v, st, 5, "n_outputs", 1, NN_MAX_WIDTH, &n_outputs);
  nn_st_done(st);
  if (rc != NN_OK)
    return rc;
  v->n_layers = (size_t)n_layers;
  v->n_params = (size_t)n_params;
  v->n_inputs = (size_t)n_inputs;
  v->n_outputs = (size_t)n_outputs;
  rc = nn_store_find_labelmap(s, v->version_id, "default", &v->labelmap_id,
                              &v->n_labels);
  if (rc == NN_ENOTFOUND || rc == NN_EMISMATCH)
    rc = NN_OK;   /* no default map that fits: a network without labels */
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
  if ((rc = USE(s, S_LAYER_FIELD, &st)) != NN_OK)
    return rc;
  snprintf(path, sizeof path, "$.\"%s\"", h->name);
  sqlite3_bind_value(st, 1, sqlite3_column_value(layers, 6));
  sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    type = (const char *)sqlite3_column_text(st, 0);
    f = (float)sqlite3_column_double(st, 1);
    if (type && (strcmp(type, "real") == 0 || strcmp(type, "integer") == 0) &&
        f >= h->lo && f <= h->hi && (!h->integer || f == (float)(int64_t)f)) {
      *out = f;
      *ok = 1;
    }
  }
  nn_st_done(st);
  return rc;
}

/* Field path (a JSON path) of the layer object at column 6 of S_LAYERS:
** its json_type into type (NULL when absent), its integer into *out. */
static int layer_field(nn_store *s, sqlite3_stmt *layers, const char *path,
                       char type[16], int64_t *out) {
  sqlite3_stmt *st;
  int rc, row;
  const char *t;
  type[0] = 0;
  *out = 0;
  if ((rc = USE(s, S_LAYER_FIELD, &st)) != NN_OK)
    return rc;
  sqlite3_bind_value(st, 1, sqlite3_column_value(layers, 6));
  sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    t = (const char *)sqlite3_column_text(st, 0);
    if (t)
      snprintf(type, 16, "%s", t);
    *out = sqlite3_column_int64(st, 1);
  }
  nn_st_done(st);
  return rc;
}

/* What layer i (1-based) reads, from its "from" (absent: the layer
** before; its json_type is column 9 of S_LAYERS): a list of one or two
** module numbers below i, into l->from; or INVALID naming it.  nn_layout
** checks the rest (a join reads two). */
static int read_from(nn_store *s, const nn_store_version *v, sqlite3_stmt *layers,
                     size_t i, nn_layer *l) {
  char type[16], path[24];
  int64_t n;
  size_t k;
  int rc = NN_OK;
  const char *t = (const char *)sqlite3_column_text(layers, 9);
  if (t == NULL)
    return NN_OK;                    /* absent: the layer before */
  if (strcmp(t, "array") != 0)
    goto bad;
  for (k = 0; k < 3; k++) {
    snprintf(path, sizeof path, "$.from[%zu]", k);
    if ((rc = layer_field(s, layers, path, type, &n)) != NN_OK)
      return rc;
    if (type[0] == 0)
      break;                         /* past its end */
    if (k == 2 || strcmp(type, "integer") != 0 || n < 0 || (uint64_t)n >= i)
      goto bad;
    l->from[k] = (uint32_t)n + 1;
  }
  if (k > 0)
    return NN_OK;
bad:
  return nn_st_invalid(s, v, "layer %zu (%s) has no valid 'from': a list of one or "
                       "two module numbers below %zu", i, nn_kind_name(l->kind), i);
}

size_t nn_store_layers_size(size_t n_layers) {
  return n_layers * (sizeof(nn_layer) + nn_hyper_most() * sizeof(float)) + 1;
}

/* One layer of S_LAYERS into *l, its hyper-parameters into hyper, or
** INVALID naming it (1-based i). */
static int read_layer(nn_store *s, const nn_store_version *v, sqlite3_stmt *st,
                      size_t i, nn_layer *l, float *hyper) {
  /* column_type first: after a conversion by column_text it means nothing */
  int kind_is_text = sqlite3_column_type(st, 1) == SQLITE_TEXT;
  const char *type = (const char *)sqlite3_column_text(st, 0);
  const char *kind = (const char *)sqlite3_column_text(st, 1);
  const nn_kind_info *d;
  size_t j;
  memset(l, 0, sizeof *l);
  if (!type || strcmp(type, "object") != 0)
    return nn_st_invalid(s, v, "layer %zu is not a JSON object", i);
  if (!kind_is_text)
    return nn_st_invalid(s, v, "layer %zu has no type", i);
  l->kind = nn_kind_from_name(kind);
  if ((d = nn_kind_info_of(l->kind)) == NULL)
    return nn_st_invalid(s, v, "layer %zu has unknown type '%.40s'", i, kind);
  if (d->n_sizes == 2) {
    if (!width(st, 3, &l->n_in))
      return nn_st_invalid(s, v, "layer %zu (%s) has no valid 'in'", i, d->name);
    if (!width(st, 5, &l->n_out))
      return nn_st_invalid(s, v, "layer %zu (%s) has no valid 'out'", i, d->name);
  } else if (d->n_sizes == 1) {
    if (!width(st, 8, &l->n_in))
      return nn_st_invalid(s, v, "layer %zu (%s) has no valid 'n'", i, d->name);
    l->n_out = l->n_in;
  }
  l->hyper = d->n_hyper ? hyper : NULL;
  for (j = 0; j < d->n_hyper; j++) {
    int ok, rc = hyper_field(s, st, &d->hyper[j], &hyper[j], &ok);
    if (rc != NN_OK)
      return rc;
    if (!ok)
      return nn_st_invalid(s, v, "layer %zu (%s) has no valid '%s'", i, d->name,
                           d->hyper[j].name);
  }
  return read_from(s, v, st, i, l);
}

int nn_store_read_layers(nn_store *s, const nn_store_version *v, nn_layer *layers) {
  sqlite3_stmt *st;
  size_t n = 0;
  int rc, row;
  if (s->engine)
    return s->engine->read_layers(s, v, layers);
  if (!s->db)
    return nn_st_closed(s);
  if ((rc = USE(s, S_LAYERS, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, v->version_id);
  while ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    if (n == v->n_layers) {   /* the row changed since find_version */
      rc = nn_st_invalid(s, v, "architecture has more than %zu layers", v->n_layers);
      break;
    }
    if ((rc = read_layer(s, v, st, n + 1, &layers[n],
                         (float *)(layers + v->n_layers) + n * nn_hyper_most())) != NN_OK)
      break;
    n++;
  }
  nn_st_done(st);
  return rc != NN_OK ? rc : nn_store_check_layers(s, v, layers, n);
}

int nn_store_check_layers(nn_store *s, const nn_store_version *v, nn_layer *layers,
                          size_t n) {
  char err[NN_ERRMAX];
  size_t i, n_params, n_in = 0, n_out = 0;
  if (n != v->n_layers)
    return nn_st_invalid(s, v, "architecture has %zu layers, not %zu", n, v->n_layers);
  if (nn_layout(layers, n, &n_params, err) != NN_OK)
    return nn_st_invalid(s, v, "%s", err);
  for (i = 0; i < n; i++) {
    const nn_kind_info *d = nn_kind_info_of(layers[i].kind);
    if (!d->elementwise) {
      if (!n_in && !(d->flags & NN_KIND_JOIN))
        n_in = layers[i].n_in;
      n_out = layers[i].n_out;
    }
  }
  if (nn_layers_graph(layers, n))
    n_out = layers[n - 1].n_out;
  if (!n_in)
    return nn_st_invalid(s, v, "architecture has no Linear layer");
  if (n_in != v->n_inputs)
    return nn_st_invalid(s, v, "n_inputs is %zu, its architecture takes %zu",
                         v->n_inputs, n_in);
  if (n_out != v->n_outputs)
    return nn_st_invalid(s, v, "n_outputs is %zu, its architecture gives %zu",
                         v->n_outputs, n_out);
  if (n_params != v->n_params)
    return nn_st_invalid(s, v, "n_params is %zu, its architecture needs %zu",
                         v->n_params, n_params);
  return NN_OK;
}

int nn_store_read_params(nn_store *s, const nn_store_version *v, float *params) {
  sqlite3_stmt *st;
  char actual[17], digest[NN_SHA256_HEX];
  const unsigned char *blob;
  const char *checksum, *stored;
  size_t bytes;
  int rc, row, is_blob;
  if (s->engine)
    return s->engine->read_params(s, v, params);
  if (!s->db)
    return nn_st_closed(s);
  if ((rc = USE(s, S_WEIGHTS, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, v->version_id);
  if ((rc = nn_st_step(s, st, &row)) != NN_OK || !row) {
    nn_st_done(st);
    return rc ? rc : nn_st_invalid(s, v, "no longer in the database");
  }
  is_blob = sqlite3_column_type(st, 0) == SQLITE_BLOB;
  blob = sqlite3_column_blob(st, 0);
  bytes = (size_t)sqlite3_column_bytes(st, 0);
  checksum = (const char *)sqlite3_column_text(st, 1);
  stored = (const char *)sqlite3_column_text(st, 2);
  if (!is_blob)
    rc = nn_st_invalid(s, v, "weights are not a blob");
  else if (bytes != 4 * v->n_params)
    rc = nn_st_invalid(s, v, "weights blob has %zu bytes, its architecture needs %zu",
                       bytes, 4 * v->n_params);
  else {
    snprintf(actual, sizeof actual, "%016" PRIx64, nn_fnv1a64(blob, bytes));
    if (!checksum || strcmp(checksum, actual) != 0)
      rc = nn_st_invalid(s, v, "checksum is %.16s, the weights hash to %s",
                         checksum ? checksum : "NULL", actual);
  }
  if (rc == NN_OK) {
    const char *arch = (const char *)sqlite3_column_text(st, 5);
    nn_digest_model m = nn_st_digest_model(s, (const char *)sqlite3_column_text(st, 3),
                                           sqlite3_column_int64(st, 9));
    nn_digest_version(digest, &m, sqlite3_column_int64(st, 4),
                      arch ? arch : "", (size_t)sqlite3_column_bytes(st, 5),
                      sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7),
                      sqlite3_column_int64(st, 8), blob, bytes);
    if (!stored)
      rc = nn_st_invalid(s, v, "it has no digest");
    else if (strcmp(stored, digest) != 0 ||
             sqlite3_column_int64(st, 4) != v->version ||
             sqlite3_column_int64(st, 6) != (int64_t)v->n_inputs ||
             sqlite3_column_int64(st, 7) != (int64_t)v->n_outputs ||
             sqlite3_column_int64(st, 8) != (int64_t)v->n_params)
      rc = nn_st_invalid(s, v, "its architecture, sizes or weights disagree with its"
                         " digest (changed outside nn?)");
    else
      nn_params_from_le(params, blob, v->n_params);
  }
  nn_st_done(st);
  return rc;
}
