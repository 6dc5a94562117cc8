/*
** nn_pg_version.c: versions on PostgreSQL (see nn_pg_int.h).
**
** What it implements: a network saved as the next immutable version of a
** model in one transaction (the model's row locked, so that two writers
** never take the same number), with the architecture's JSON, the weights'
** bytes, checksum and digest computed by the store's own code, so that a
** version has the same digest on either engine; loading in the store's
** steps, every fact checked as on SQLite: sizes, layers (read by the
** server's JSON functions), the weights' length, checksum and digest.
** save's extra hook runs inside its transaction (nn_pg_train.c's runs), and
** calls this engine: a hook written for SQLite's connection has none here.
** What it is not: label maps (nn_pg_labels.c); no Lua.
**
**   SELECT m.name, v.version, v.digest FROM nn_version AS v
**   JOIN nn_model AS m USING (model_id);
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_number.h"
#include "pgstore/nn_pg_int.h"

/* Inside a transaction: model name's id, created when new, its row locked
** until the end of the transaction. */
static int put_model(nn_store *s, const char *name, int64_t now, int64_t *model_id) {
  char times[24], facts[NN_FACTS_MAX];
  const char *p[3] = { name, nn_pg_itoa(times, now), facts };
  PGresult *res;
  int rc;
  nn_store_no_facts(facts);
  rc = nn_pg_run(s, "INSERT INTO nn_model (name, created_at, facts) VALUES ($1, $2, $3)"
                 " ON CONFLICT (name) DO NOTHING", 3, p);
  if (rc == NN_OK &&
      (rc = nn_pg_exec(s, "SELECT model_id FROM nn_model WHERE name = $1 FOR UPDATE",
                       1, p, &res)) == NN_OK) {
    *model_id = nn_pg_int(res, 0, 0);
    PQclear(res);
  }
  return rc;
}

/* The parameters of a version's INSERT, as text but for the weights. */
typedef struct version_row {
  char model[24], version[24], n_in[24], n_out[24], n_params[24], now[24];
  char checksum[17], digest[NN_SHA256_HEX];
} version_row;

/* Inside a transaction: the version whose arch is in pg->text and weights
** in pg->scratch. */
static int put_version(nn_store *s, int64_t model_id, const nn_net *net, const char *note,
                       int64_t now, nn_store_saved *out) {
  static const int formats[11] = { 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
  nn_pg *pg = PG(s);
  const char *p[11];
  int lengths[11] = { 0 };
  version_row r;
  PGresult *res;
  int rc;
  p[0] = nn_pg_itoa(r.model, model_id);
  if ((rc = nn_pg_exec(s, "SELECT coalesce(max(version), 0) + 1 FROM nn_version"
                       " WHERE model_id = $1", 1, p, &res)) != NN_OK)
    return rc;
  out->version = nn_pg_int(res, 0, 0);
  PQclear(res);
  snprintf(r.checksum, sizeof r.checksum, "%016" PRIx64,
           nn_fnv1a64(pg->scratch.p, pg->scratch.n));
  nn_store_version_digest(r.digest, out->model, out->version, pg->text.p, pg->text.n - 1,
                          (int64_t)net->n_inputs, (int64_t)net->n_outputs,
                          (int64_t)net->n_params, pg->scratch.p, pg->scratch.n);
  p[1] = nn_pg_itoa(r.version, out->version);
  p[2] = pg->text.p;
  p[3] = nn_pg_itoa(r.n_in, (int64_t)net->n_inputs);
  p[4] = nn_pg_itoa(r.n_out, (int64_t)net->n_outputs);
  p[5] = nn_pg_itoa(r.n_params, (int64_t)net->n_params);
  p[6] = pg->scratch.n ? pg->scratch.p : "";
  lengths[6] = (int)pg->scratch.n;
  p[7] = r.checksum;
  p[8] = note;
  p[9] = nn_pg_itoa(r.now, now);
  p[10] = r.digest;
  res = PQexecParams(pg->conn, "INSERT INTO nn_version (model_id, version, arch, n_inputs,"
                     " n_outputs, n_params, weights, checksum, note, created_at, digest)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                     " RETURNING version_id", 11, NULL, p, lengths, formats, 0);
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
    return nn_pg_result_fail(s, res, NULL);
  out->version_id = nn_pg_int(res, 0, 0);
  PQclear(res);
  return nn_pg_fact_added(s, model_id, NN_FACT_VERSION, out->version_id, out->version,
                          NULL);
}

/* What save can refuse without the server, into pg->text (the arch, zero
** terminated) and pg->scratch (the weights). */
static int prepare_save(nn_store *s, const char *name, const nn_net *net) {
  nn_pg *pg = PG(s);
  size_t bytes = 4 * net->n_params;   /* n_params <= NN_MAX_PARAMS: no overflow */
  if (!name || !name[0])
    return nn_store_fail(s, NN_ERROR, "a model name must not be empty");
  if (net->n_inputs == 0)
    return nn_store_fail(s, NN_ERROR, "a network without a Linear layer cannot be saved");
  pg->text.n = 0;
  pg->scratch.n = 0;
  if (nn_store_arch_json(&pg->text, net) || nn_buf_add(&pg->text, "", 1) ||
      nn_buf_reserve(&pg->scratch, bytes ? bytes : 1))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  nn_params_to_le((unsigned char *)pg->scratch.p, net->params, net->n_params);
  pg->scratch.n = bytes;
  return NN_OK;
}

int nn_pg_save_with(nn_store *s, const char *name, const nn_net *net, const char *note,
                    const char *const *labels, nn_store_extra extra, void *ctx,
                    nn_store_saved *out) {
  int64_t now = nn_store_clock_ms();
  int rc;
  memset(out, 0, sizeof *out);
  if ((rc = nn_pg_writable(s)) != NN_OK)
    return rc;
  if ((rc = prepare_save(s, name, net)) != NN_OK || (rc = nn_pg_begin(s)) != NN_OK)
    return rc;
  out->created_at = now;
  out->model = name;
  if ((rc = put_model(s, name, now, &out->model_id)) != NN_OK ||
      (rc = put_version(s, out->model_id, net, note, now, out)) != NN_OK ||
      (labels && ((rc = nn_pg_labels_text(s, labels, net->n_outputs)) != NN_OK ||
                  (rc = nn_pg_put_labelmap(s, out->model_id, name, "default", now,
                                           &out->labelmap_id)) != NN_OK)) ||
      (extra && (rc = extra(s, out, ctx)) != NN_OK) ||
      (rc = nn_pg_commit(s)) != NN_OK) {
    nn_pg_rollback(s);
    memset(out, 0, sizeof *out);
    return rc;
  }
  PG(s)->gen++;
  return NN_OK;
}

/* ------------------------------------------------------------------------
** Loading
*/

/* A stored size as an integer in [lo, hi], or INVALID naming it. */
static int stored_size(nn_store *s, const nn_store_version *v, PGresult *res, int col,
                       const char *what, int64_t lo, uint64_t hi, size_t *out) {
  int64_t x = nn_pg_int(res, 0, col);
  if (x < lo || (uint64_t)x > hi)
    return nn_store_invalid(s, v, "%s is %" PRId64 ", out of range", what, x);
  *out = (size_t)x;
  return NN_OK;
}

int nn_pg_find_version(nn_store *s, const char *name, int64_t version,
                       nn_store_version *v) {
  char ids[24], versions[24];
  const char *p[2];
  int64_t model_id, n_layers;
  PGresult *res;
  int rc;
  memset(v, 0, sizeof *v);
  v->name = name;
  if ((rc = nn_pg_find_model(s, name, &model_id)) != NN_OK)
    return rc;
  if (!model_id)
    return nn_store_fail(s, NN_ENOTFOUND, "no model named '%s'", name);
  /* the model's rows checked as a whole first, as on a file */
  if ((rc = nn_pg_check_facts(s, model_id, name)) != NN_OK)
    return rc;
  p[0] = nn_pg_itoa(ids, model_id);
  p[1] = nn_pg_itoa(versions, version);
  if ((rc = nn_pg_exec(s, "SELECT version_id, version, jsonb_array_length(arch::jsonb),"
                       " n_inputs, n_outputs, n_params FROM nn_version WHERE model_id = $1"
                       " AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
                       2, p, &res)) != NN_OK)
    return rc;
  if (!PQntuples(res)) {
    PQclear(res);
    return nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no version %" PRId64, name,
                         version);
  }
  v->version_id = nn_pg_int(res, 0, 0);
  v->version = nn_pg_int(res, 0, 1);
  n_layers = nn_pg_int(res, 0, 2);
  if (n_layers < 1 || (uint64_t)n_layers > NN_MAX_LAYERS)
    rc = nn_store_invalid(s, v, "architecture has %" PRId64 " layers", n_layers);
  else if ((rc = stored_size(s, v, res, 5, "n_params", 0, NN_MAX_PARAMS, &v->n_params)) == 0 &&
           (rc = stored_size(s, v, res, 3, "n_inputs", 1, NN_MAX_WIDTH, &v->n_inputs)) == 0)
    rc = stored_size(s, v, res, 4, "n_outputs", 1, NN_MAX_WIDTH, &v->n_outputs);
  PQclear(res);
  if (rc != NN_OK)
    return rc;
  v->n_layers = (size_t)n_layers;
  rc = nn_pg_find_labelmap(s, v->version_id, "default", &v->labelmap_id, &v->n_labels);
  if (rc == NN_ENOTFOUND || rc == NN_EMISMATCH)
    rc = NN_OK;   /* no default map that fits: a network without labels */
  return rc;
}

/* A JSON integer in 1..NN_MAX_WIDTH from (jsonb_typeof, text) at col. */
static int width(PGresult *res, int row, int col, size_t *out) {
  const char *text = PQgetvalue(res, row, col + 1);
  char *end;
  long long w;
  if (strcmp(PQgetvalue(res, row, col), "number") != 0)
    return 0;
  w = strtoll(text, &end, 10);
  if (*end || end == text || w < 1 || (unsigned long long)w > NN_MAX_WIDTH)
    return 0;
  *out = (size_t)w;
  return 1;
}

/* Hyper-parameter h of the layer object (JSON text obj) into *out; *ok
** whether it is there, a number and in its range. */
static int hyper_field(nn_store *s, const char *obj, const nn_hyper *h, float *out,
                       int *ok) {
  const char *p[2] = { obj, h->name };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT jsonb_typeof($1::jsonb -> $2), $1::jsonb ->> $2", 2, p,
                      &res);
  *ok = 0;
  if (rc != NN_OK)
    return rc;
  if (strcmp(PQgetvalue(res, 0, 0), "number") == 0) {
    const char *text = PQgetvalue(res, 0, 1);
    double d = 0;
    float f = 0;
    if (nn_number_read(text, strlen(text), &d) && nn_number_float(d, &f) &&
        f >= h->lo && f <= h->hi && (!h->integer || f == (float)(int64_t)f)) {
      *out = f;
      *ok = 1;
    }
  }
  PQclear(res);
  return NN_OK;
}

/* A module number below i from the JSON type and text at columns c and
** c + 1 of res's row 0 into *out (value + 1, as nn_layer.from keeps it). */
static int from_number(PGresult *res, int c, size_t i, uint32_t *out) {
  const char *text = PQgetvalue(res, 0, c + 1);
  char *end;
  long long n;
  if (strcmp(PQgetvalue(res, 0, c), "number") != 0)
    return 0;
  n = strtoll(text, &end, 10);
  if (*end || end == text || n < 0 || (unsigned long long)n >= i)
    return 0;
  *out = (uint32_t)n + 1;
  return 1;
}

/* What layer i (1-based) reads, from its "from" (there: the caller asks
** only then), into l->from; or INVALID naming it, as the SQLite engine. */
static int read_from(nn_store *s, const nn_store_version *v, const char *obj, size_t i,
                     nn_layer *l) {
  const char *p[1] = { obj };
  PGresult *res;
  int ok = 1, rc = nn_pg_exec(s, "SELECT jsonb_typeof($1::jsonb -> 'from'),"
                              " jsonb_typeof($1::jsonb -> 'from' -> 0), $1::jsonb -> 'from' ->> 0,"
                              " jsonb_typeof($1::jsonb -> 'from' -> 1), $1::jsonb -> 'from' ->> 1,"
                              " jsonb_typeof($1::jsonb -> 'from' -> 2)", 1, p, &res);
  if (rc != NN_OK)
    return rc;
  if (!PQgetisnull(res, 0, 0)) {
    ok = strcmp(PQgetvalue(res, 0, 0), "array") == 0 && from_number(res, 1, i, &l->from[0]) &&
         (PQgetisnull(res, 0, 3) || from_number(res, 3, i, &l->from[1])) &&
         PQgetisnull(res, 0, 5);
  }
  PQclear(res);
  if (!ok)
    return nn_store_invalid(s, v, "layer %zu (%s) has no valid 'from': a list of one or "
                            "two module numbers below %zu", i, nn_kind_name(l->kind), i);
  return NN_OK;
}

/* Layer i (1-based) from row i - 1 of res into *l, its hyper-parameters
** into hyper, or INVALID naming it. */
static int read_layer(nn_store *s, const nn_store_version *v, PGresult *res, size_t i,
                      nn_layer *l, float *hyper) {
  int row = (int)i - 1;
  const char *kind = PQgetvalue(res, row, 1);
  const nn_kind_info *d;
  size_t j;
  memset(l, 0, sizeof *l);
  if (strcmp(PQgetvalue(res, row, 0), "object") != 0)
    return nn_store_invalid(s, v, "layer %zu is not a JSON object", i);
  if (PQgetisnull(res, row, 1) || strcmp(PQgetvalue(res, row, 7), "string") != 0)
    return nn_store_invalid(s, v, "layer %zu has no type", i);
  l->kind = nn_kind_from_name(kind);
  if ((d = nn_kind_info_of(l->kind)) == NULL)
    return nn_store_invalid(s, v, "layer %zu has unknown type '%.40s'", i, kind);
  if (d->n_sizes == 2) {
    if (!width(res, row, 2, &l->n_in))
      return nn_store_invalid(s, v, "layer %zu (%s) has no valid 'in'", i, d->name);
    if (!width(res, row, 4, &l->n_out))
      return nn_store_invalid(s, v, "layer %zu (%s) has no valid 'out'", i, d->name);
  } else if (d->n_sizes == 1) {
    if (!width(res, row, 8, &l->n_in))
      return nn_store_invalid(s, v, "layer %zu (%s) has no valid 'n'", i, d->name);
    l->n_out = l->n_in;
  }
  l->hyper = d->n_hyper ? hyper : NULL;
  for (j = 0; j < d->n_hyper; j++) {
    int ok, rc = hyper_field(s, PQgetvalue(res, row, 6), &d->hyper[j], &hyper[j], &ok);
    if (rc != NN_OK)
      return rc;
    if (!ok)
      return nn_store_invalid(s, v, "layer %zu (%s) has no valid '%s'", i, d->name,
                              d->hyper[j].name);
  }
  if (PQgetisnull(res, row, 10))
    return NN_OK;                    /* no "from": the layer before */
  return read_from(s, v, PQgetvalue(res, row, 6), i, l);
}

int nn_pg_read_layers(nn_store *s, const nn_store_version *v, nn_layer *layers) {
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, v->version_id) };
  PGresult *res;
  size_t n, i;
  int rc = nn_pg_exec(s, "SELECT jsonb_typeof(e), e ->> 'type', jsonb_typeof(e -> 'in'),"
                      " e ->> 'in', jsonb_typeof(e -> 'out'), e ->> 'out', e::text,"
                      " jsonb_typeof(e -> 'type'), jsonb_typeof(e -> 'n'), e ->> 'n',"
                      " jsonb_typeof(e -> 'from')"
                      " FROM nn_version, jsonb_array_elements(arch::jsonb)"
                      " WITH ORDINALITY AS t(e, i) WHERE version_id = $1 ORDER BY i",
                      1, p, &res);
  if (rc != NN_OK)
    return rc;
  n = (size_t)PQntuples(res);
  if (n > v->n_layers)
    rc = nn_store_invalid(s, v, "architecture has more than %zu layers", v->n_layers);
  for (i = 0; rc == NN_OK && i < n; i++)
    rc = read_layer(s, v, res, i + 1, &layers[i],
                    (float *)(layers + v->n_layers) + i * nn_hyper_most());
  PQclear(res);
  return rc != NN_OK ? rc : nn_store_check_layers(s, v, layers, n);
}

/* The weights of res's row (hex text) decoded into pg->scratch. */
static int weights_of(nn_store *s, PGresult *res) {
  size_t bytes = 0;
  unsigned char *w = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &bytes);
  nn_pg *pg = PG(s);
  int bad;
  if (!w)
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  pg->scratch.n = 0;
  bad = nn_buf_add(&pg->scratch, w, bytes);
  PQfreemem(w);
  return bad ? nn_store_fail(s, NN_ENOMEM, "out of memory") : NN_OK;
}

/* The checksum and digest of the weights in pg->scratch against res's row. */
static int check_weights(nn_store *s, const nn_store_version *v, PGresult *res) {
  nn_pg *pg = PG(s);
  char actual[17], digest[NN_SHA256_HEX];
  const char *checksum = PQgetvalue(res, 0, 1);
  if (pg->scratch.n != 4 * v->n_params)
    return nn_store_invalid(s, v, "weights blob has %zu bytes, its architecture needs %zu",
                            pg->scratch.n, 4 * v->n_params);
  snprintf(actual, sizeof actual, "%016" PRIx64, nn_fnv1a64(pg->scratch.p, pg->scratch.n));
  if (strcmp(checksum, actual) != 0)
    return nn_store_invalid(s, v, "checksum is %.16s, the weights hash to %s", checksum,
                            actual);
  nn_store_version_digest(digest, PQgetvalue(res, 0, 3), nn_pg_int(res, 0, 4),
                          PQgetvalue(res, 0, 5), (size_t)PQgetlength(res, 0, 5),
                          nn_pg_int(res, 0, 6), nn_pg_int(res, 0, 7), nn_pg_int(res, 0, 8),
                          pg->scratch.p, pg->scratch.n);
  if (strcmp(PQgetvalue(res, 0, 2), digest) != 0 || nn_pg_int(res, 0, 4) != v->version ||
      nn_pg_int(res, 0, 6) != (int64_t)v->n_inputs ||
      nn_pg_int(res, 0, 7) != (int64_t)v->n_outputs ||
      nn_pg_int(res, 0, 8) != (int64_t)v->n_params)
    return nn_store_invalid(s, v, "its architecture, sizes or weights disagree with its"
                            " digest (changed outside nn?)");
  return NN_OK;
}

int nn_pg_read_params(nn_store *s, const nn_store_version *v, float *params) {
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, v->version_id) };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT v.weights, v.checksum, v.digest, coalesce(m.name, ''),"
                      " v.version, v.arch, v.n_inputs, v.n_outputs, v.n_params"
                      " FROM nn_version AS v LEFT JOIN nn_model AS m USING (model_id)"
                      " WHERE v.version_id = $1",
                      1, p, &res);
  if (rc != NN_OK)
    return rc;
  if (!PQntuples(res))
    rc = nn_store_invalid(s, v, "no longer in the database");
  else if ((rc = weights_of(s, res)) == NN_OK &&
           (rc = check_weights(s, v, res)) == NN_OK)
    nn_params_from_le(params, (const unsigned char *)PG(s)->scratch.p, v->n_params);
  PQclear(res);
  return rc;
}
