/*
** nn_pg_labels.c: label maps on PostgreSQL (see nn_pg_int.h).
**
** What it implements: a model's id by name; a label map read once, its
** digest checked over the exact JSON text stored (the same bytes and the
** same SHA-256 as an SQLite store's), its labels read by the server's own
** JSON functions and kept in the store's list; the latest map of a name
** that fits a version; a map added unless its latest row holds the same
** labels.  What it is not: versions (nn_pg_version.c), the log; no Lua.
**
**   SELECT name, labels FROM nn_labelmap WHERE model_id = 1;
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

int nn_pg_find_model(nn_store *s, const char *name, int64_t *model_id) {
  const char *p[1] = { name };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT model_id FROM nn_model WHERE name = $1", 1, p, &res);
  *model_id = rc == NN_OK && PQntuples(res) ? nn_pg_int(res, 0, 0) : 0;
  PQclear(res);
  return rc;
}

void nn_pg_forget_maps(nn_pg *pg) {
  while (pg->maps) {
    nn_pg_map *m = pg->maps;
    pg->maps = m->next;
    free(m->end);
    free(m->text);
    free(m->name);
    free(m);
  }
}

/* A map of n labels, the rows of res (jsonb_typeof, text), into *out. */
static int keep_map(nn_store *s, int64_t id, const char *name, PGresult *res,
                    nn_pg_map **out) {
  int i, n = PQntuples(res);
  size_t bytes = 0;
  nn_pg_map *m = (nn_pg_map *)calloc(1, sizeof *m);
  if (!m)
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  for (i = 0; i < n; i++)
    bytes += (size_t)PQgetlength(res, i, 1);
  m->id = id;
  m->n = (size_t)n;
  m->end = (size_t *)malloc((size_t)(n ? n : 1) * sizeof *m->end);
  m->text = (char *)malloc(bytes ? bytes : 1);
  m->name = (char *)malloc(strlen(name) + 1);
  if (!m->end || !m->text || !m->name) {
    free(m->end);
    free(m->text);
    free(m->name);
    free(m);
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  }
  strcpy(m->name, name);
  for (bytes = 0, i = 0; i < n; i++) {
    size_t len = (size_t)PQgetlength(res, i, 1);
    memcpy(m->text + bytes, PQgetvalue(res, i, 1), len);
    bytes += len;
    m->end[i] = bytes;
  }
  m->next = PG(s)->maps;
  PG(s)->maps = m;
  *out = m;
  return NN_OK;
}

/* The labels of JSON text labels, checked as save writes them: an array
** of non-empty strings. */
static int read_map(nn_store *s, int64_t id, const char *model, const char *name,
                    const char *labels, nn_pg_map **out) {
  const char *p[1] = { labels };
  PGresult *res;
  int i, rc;
  rc = nn_pg_exec(s, "SELECT jsonb_typeof(e), e #>> '{}'"
                  " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, i)"
                  " ORDER BY i", 1, p, &res);
  if (rc != NN_OK)
    return rc;
  for (i = 0; i < PQntuples(res); i++)
    if (strcmp(PQgetvalue(res, i, 0), "string") != 0 || PQgetlength(res, i, 1) == 0) {
      PQclear(res);
      return nn_store_fail(s, NN_EINVALID, "model '%.60s' label map '%.40s': label %d"
                           " is not a non-empty string", model, name, i + 1);
    }
  rc = keep_map(s, id, name, res, out);
  PQclear(res);
  return rc;
}

/* Label map id read from the server, its digest checked. */
static int load_map(nn_store *s, int64_t id, nn_pg_map **out) {
  char digest[NN_SHA256_HEX], ids[24];
  const char *p[1] = { nn_pg_itoa(ids, id) };
  const char *name, *labels, *model;
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT l.model_id, l.name, l.labels, l.digest, m.name"
                      " FROM nn_labelmap AS l JOIN nn_model AS m USING (model_id)"
                      " WHERE l.labelmap_id = $1", 1, p, &res);
  if (rc != NN_OK)
    return rc;
  if (!PQntuples(res)) {
    PQclear(res);
    return nn_store_fail(s, NN_ENOTFOUND, "no label map with id %" PRId64, id);
  }
  name = PQgetvalue(res, 0, 1);
  labels = PQgetvalue(res, 0, 2);
  model = PQgetvalue(res, 0, 4);
  nn_store_labelmap_digest(digest, PQgetvalue(res, 0, 4), name, strlen(name), labels,
                           (size_t)PQgetlength(res, 0, 2));
  if (strcmp(digest, PQgetvalue(res, 0, 3)) != 0)
    rc = nn_store_fail(s, NN_EINVALID, "model '%.60s' label map '%.40s': its labels"
                       " disagree with its digest (changed outside nn?)", model, name);
  else
    rc = read_map(s, id, model, name, labels, out);
  PQclear(res);
  return rc;
}

int nn_pg_map_of(nn_store *s, int64_t id, const nn_pg_map **out) {
  nn_pg_map *m;
  int rc;
  for (m = PG(s)->maps; m; m = m->next)
    if (m->id == id) {
      *out = m;
      return NN_OK;
    }
  rc = load_map(s, id, &m);
  *out = rc == NN_OK ? m : NULL;
  return rc;
}

int nn_pg_read_label(nn_store *s, int64_t labelmap_id, size_t i, const char **label,
                     size_t *len) {
  const nn_pg_map *m;
  int rc = nn_pg_map_of(s, labelmap_id, &m);
  if (rc != NN_OK)
    return rc;
  if (i >= m->n)
    return nn_store_fail(s, NN_ENOTFOUND, "label map %" PRId64 " has no label %zu",
                         labelmap_id, i + 1);
  *label = m->text + (i ? m->end[i - 1] : 0);
  *len = m->end[i] - (i ? m->end[i - 1] : 0);
  return NN_OK;
}

/* None of the maps called map fits version_id: say why, as SQLite does. */
static int why_none(nn_store *s, int64_t version_id, const char *map, int seen,
                    size_t latest) {
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, version_id) };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT m.name, v.version, v.n_outputs FROM nn_version AS v"
                      " JOIN nn_model AS m USING (model_id) WHERE v.version_id = $1",
                      1, p, &res);
  if (rc != NN_OK)
    return rc;
  if (!PQntuples(res))
    rc = nn_store_fail(s, NN_ENOTFOUND, "no version with id %" PRId64, version_id);
  else if (!seen)
    rc = nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no label map '%s'",
                       PQgetvalue(res, 0, 0), map);
  else
    rc = nn_store_fail(s, NN_EMISMATCH, "label map '%s' has %zu labels, model '%s'"
                       " version %" PRId64 " has %" PRId64 " outputs", map, latest,
                       PQgetvalue(res, 0, 0), nn_pg_int(res, 0, 1), nn_pg_int(res, 0, 2));
  PQclear(res);
  return rc;
}

int nn_pg_find_labelmap(nn_store *s, int64_t version_id, const char *map,
                        int64_t *labelmap_id, size_t *n_labels) {
  char ids[24];
  const char *p[2] = { nn_pg_itoa(ids, version_id), map };
  const nn_pg_map *m;
  size_t latest = 0;
  PGresult *res;
  int i, rc;
  *labelmap_id = 0;
  *n_labels = 0;
  rc = nn_pg_exec(s, "SELECT l.labelmap_id, v.n_outputs FROM nn_version AS v"
                  " JOIN nn_labelmap AS l ON l.model_id = v.model_id AND l.name = $2"
                  " WHERE v.version_id = $1 ORDER BY l.labelmap_id DESC", 2, p, &res);
  if (rc != NN_OK)
    return rc;
  /* every candidate is read and checked until one fits */
  for (i = 0; i < PQntuples(res); i++) {
    if ((rc = nn_pg_map_of(s, nn_pg_int(res, i, 0), &m)) != NN_OK)
      break;
    if (!i)
      latest = m->n;
    if ((int64_t)m->n == nn_pg_int(res, i, 1)) {
      *labelmap_id = m->id;
      *n_labels = m->n;
      break;
    }
  }
  i = PQntuples(res);
  PQclear(res);
  if (rc != NN_OK || *labelmap_id)
    return rc;
  return why_none(s, version_id, map, i, latest);
}

int nn_pg_put_labelmap(nn_store *s, int64_t model_id, const char *model, const char *map,
                       int64_t now, int64_t *labelmap_id) {
  char digest[NN_SHA256_HEX], ids[24], times[24];
  nn_buf *t = &PG(s)->text;
  const char *p[5];
  PGresult *res;
  int rc;
  p[0] = nn_pg_itoa(ids, model_id);
  p[1] = map;
  p[2] = t->p;
  rc = nn_pg_exec(s, "SELECT labelmap_id, labels = $3 FROM nn_labelmap"
                  " WHERE model_id = $1 AND name = $2 ORDER BY labelmap_id DESC LIMIT 1",
                  3, p, &res);
  if (rc != NN_OK)
    return rc;
  *labelmap_id = PQntuples(res) && PQgetvalue(res, 0, 1)[0] == 't' ? nn_pg_int(res, 0, 0) : 0;
  PQclear(res);
  if (*labelmap_id)
    return NN_OK;
  nn_store_labelmap_digest(digest, model, map, strlen(map), t->p, t->n - 1);
  p[3] = nn_pg_itoa(times, now);
  p[4] = digest;
  rc = nn_pg_exec(s, "INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)"
                  " VALUES ($1, $2, $3, $4, $5) RETURNING labelmap_id", 5, p, &res);
  if (rc != NN_OK)
    return rc;
  *labelmap_id = nn_pg_int(res, 0, 0);
  PQclear(res);
  return nn_pg_fact_added(s, model_id, NN_FACT_LABELMAP, *labelmap_id, 0, map);
}

/* (nn_pg_int.h) */
int nn_pg_labels_text(nn_store *s, const char *const *labels, size_t n) {
  nn_buf *t = &PG(s)->text;
  int rc = nn_store_labels_json(s, t, labels, n);
  if (rc == NN_OK && nn_buf_add(t, "", 1))
    rc = nn_store_fail(s, NN_ENOMEM, "out of memory");
  return rc;
}

/* Inside a transaction: the outputs of model_id's latest version, its row
** locked so that no version lands meanwhile. */
static int latest_outputs(nn_store *s, int64_t model_id, int64_t *n_outputs) {
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, model_id) };
  PGresult *res;
  int rc = nn_pg_run(s, "SELECT 1 FROM nn_model WHERE model_id = $1 FOR UPDATE", 1, p);
  if (rc == NN_OK &&
      (rc = nn_pg_exec(s, "SELECT n_outputs FROM nn_version WHERE model_id = $1"
                       " ORDER BY version DESC LIMIT 1", 1, p, &res)) == NN_OK) {
    *n_outputs = PQntuples(res) ? nn_pg_int(res, 0, 0) : 0;
    PQclear(res);
  }
  return rc;
}

int nn_pg_add_labels(nn_store *s, const char *name, const char *map,
                     const char *const *labels, size_t n) {
  int64_t model_id, labelmap_id, n_outputs = 0;
  int rc;
  if ((rc = nn_pg_writable(s)) != NN_OK)
    return rc;
  if (!map || !map[0])
    return nn_store_fail(s, NN_ERROR, "a label map name must not be empty");
  if ((rc = nn_pg_labels_text(s, labels, n)) != NN_OK || (rc = nn_pg_begin(s)) != NN_OK)
    return rc;
  if ((rc = nn_pg_find_model(s, name, &model_id)) != NN_OK)
    goto fail;
  if (!model_id) {
    rc = nn_store_fail(s, NN_ENOTFOUND, "no model named '%s'", name);
    goto fail;
  }
  if ((rc = latest_outputs(s, model_id, &n_outputs)) != NN_OK)
    goto fail;
  if ((int64_t)n != n_outputs) {
    rc = nn_store_fail(s, NN_EMISMATCH, "labels: %zu given, model '%s' has %" PRId64
                       " outputs", n, name, n_outputs);
    goto fail;
  }
  if ((rc = nn_pg_put_labelmap(s, model_id, name, map, nn_store_clock_ms(), &labelmap_id)) != NN_OK ||
      (rc = nn_pg_commit(s)) != NN_OK)
    goto fail;
  PG(s)->gen++;
  return NN_OK;
fail:
  nn_pg_rollback(s);
  return rc;
}
