/*
** nn_store_labels.c: label maps (see nn_store.h): what each output of a
** model means, under a map name.
**
** What it implements: a model's id by its name (a map belongs to a model,
** and so does a version: nn_store_version.c asks here), adding a map (a
** new row only when its labels differ from the latest of that name),
** finding the latest map of a name that fits a version, and the
** connection's cache of maps: each read in one pass over its JSON, checked
** against its digest and against what save accepts (strings, not empty, no
** zero byte), and kept while it is used.  What it is not: versions
** (nn_store_version.c), or a JSON parser (json_each reads the labels); no
** Lua.
**
**   SELECT m.name, l.name AS map, l.labels FROM nn_labelmap AS l
**   JOIN nn_model AS m USING (model_id) ORDER BY l.labelmap_id;
*/
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_digest.h"
#include "store/nn_store_int.h"

static const char *const sql[S_COUNT] = {
  [S_MODEL_ID] = "SELECT model_id FROM nn_model WHERE name = ?1",
  [S_LATEST_OUTPUTS] =
  "SELECT n_outputs FROM nn_version WHERE model_id = ?1"
  " ORDER BY version DESC LIMIT 1",
  /* the latest row of a map, and whether it holds these labels (json() on
  ** both sides: the same labels however spaced) */
  [S_LABELMAP_CURRENT] =
  "SELECT labelmap_id, json_valid(labels) AND json(labels) = json(?3)"
  " FROM nn_labelmap WHERE model_id = ?1 AND name = ?2"
  " ORDER BY labelmap_id DESC LIMIT 1",
  [S_LABELMAP_INSERT] =
  "INSERT INTO nn_labelmap (model_id, name, labels, created_at, digest)"
  " VALUES (?1, ?2, ?3, ?4, ?5)",
  /* the maps of that name, the latest first, and the version's outputs */
  [S_LABELMAP_NAMED] =
  "SELECT l.labelmap_id, v.n_outputs"
  " FROM nn_version AS v JOIN nn_labelmap AS l ON l.model_id = v.model_id"
  " WHERE v.version_id = ?1 AND l.name = ?2 ORDER BY l.labelmap_id DESC",
  /* when none fits, what to say */
  [S_LABELMAP_WHY] =
  "SELECT m.name, v.version, v.n_outputs"
  " FROM nn_version AS v JOIN nn_model AS m ON m.model_id = v.model_id"
  " WHERE v.version_id = ?1",
  /* a map's row, for its digest */
  [S_LABELMAP_ROW] =
  "SELECT coalesce(m.name, '#' || l.model_id), l.name, l.model_id, l.labels,"
  " l.digest, typeof(l.labels), json_valid(l.labels),"
  " CASE WHEN json_valid(l.labels) THEN json_type(l.labels) END,"
  " CASE WHEN json_valid(l.labels) AND json_type(l.labels) = 'array'"
  "      THEN json_array_length(l.labels) END"
  " FROM nn_labelmap AS l LEFT JOIN nn_model AS m ON m.model_id = l.model_id"
  " WHERE l.labelmap_id = ?1",
  /* its labels, in one pass over the JSON (json_each parses it once) */
  [S_LABELS] =
  "SELECT e.type, e.value FROM nn_labelmap AS l, json_each(l.labels) AS e"
  " WHERE l.labelmap_id = ?1 ORDER BY e.key"
};

#define USE(s, slot, st)  nn_st_use(s, slot, sql[slot], st)

/* ------------------------------------------------------------------------
** Models: a map belongs to one, and so does every version
*/

/* *model_id: the model's id, or 0 when there is no such model. */
int nn_st_find_model(nn_store *s, const char *name, int64_t *model_id) {
  sqlite3_stmt *st;
  int rc, row;
  *model_id = 0;
  if ((rc = USE(s, S_MODEL_ID, &st)) != NN_OK)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && row)
    *model_id = sqlite3_column_int64(st, 0);
  nn_st_done(st);
  return rc;
}

int nn_st_need_model(nn_store *s, const char *name, int64_t *model_id) {
  int rc = nn_st_find_model(s, name, model_id);
  if (rc == NN_OK && !*model_id)
    return nn_st_fail(s, NN_ENOTFOUND, "no model named '%s'", name);
  return rc;
}

/* ------------------------------------------------------------------------
** Adding a label map
*/

void nn_store_labelmap_digest(char hex[NN_SHA256_HEX], const char *model,
                              const char *name, size_t name_len,
                              const char *labels, size_t labels_len) {
  nn_digest_model m;
  m.name = model;
  m.name_len = strlen(model);
  m.id = 0;
  nn_digest_labelmap(hex, &m, name, name_len, labels, labels_len);
}

/* labels as a JSON array into b; ERROR for a missing or empty label. */
int nn_store_labels_json(nn_store *s, nn_buf *b,
                         const char *const *labels /* [n] */, size_t n) {
  size_t i;
  b->n = 0;
  if (nn_buf_add(b, "[", 1))
    return nn_st_nomem(s);
  for (i = 0; i < n; i++) {
    if (!labels[i] || !labels[i][0])
      return nn_st_fail(s, NN_ERROR, "labels[%zu] is not a non-empty string", i + 1);
    if ((i && nn_buf_add(b, ",", 1)) ||
        nn_buf_json_string(b, labels[i], strlen(labels[i])))
      return nn_st_nomem(s);
  }
  return nn_buf_add(b, "]", 1) ? nn_st_nomem(s) : NN_OK;
}

/* Inside a transaction: the latest row of map for the model if it already
** holds the labels in s->text (JSON), else a new one. */
int nn_st_put_labelmap(nn_store *s, int64_t model_id, const char *model, const char *map,
                       int64_t now, int64_t *labelmap_id) {
  char digest[NN_SHA256_HEX];
  sqlite3_stmt *st;
  int rc, row;
  *labelmap_id = 0;
  if ((rc = USE(s, S_LABELMAP_CURRENT, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  if ((rc = nn_st_bound(s, sqlite3_bind_text(st, 3, s->text.p, (int)s->text.n,
                                             SQLITE_STATIC), "labels")) == NN_OK &&
      (rc = nn_st_step(s, st, &row)) == NN_OK && row && sqlite3_column_int(st, 1))
    *labelmap_id = sqlite3_column_int64(st, 0);
  nn_st_done(st);
  if (rc != NN_OK || *labelmap_id)
    return rc;
  if ((rc = USE(s, S_LABELMAP_INSERT, &st)) != NN_OK)
    return rc;
  nn_st_labelmap_digest(digest, model, map, strlen(map), s->text.p, s->text.n);
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_int64(st, 4, now);
  sqlite3_bind_text(st, 5, digest, 64, SQLITE_STATIC);
  if ((rc = nn_st_bound(s, sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC),
                        "the label map name")) == NN_OK &&
      (rc = nn_st_bound(s, sqlite3_bind_text(st, 3, s->text.p, (int)s->text.n,
                                             SQLITE_STATIC), "labels")) == NN_OK &&
      (rc = nn_st_step(s, st, &row)) == NN_OK)
    *labelmap_id = sqlite3_last_insert_rowid(s->db);
  nn_st_done(st);
  if (rc == NN_OK)
    rc = nn_st_fact_added(s, model_id, NN_FACT_LABELMAP, *labelmap_id, 0, map);
  return rc;
}

int nn_store_add_labels(nn_store *s, const char *name, const char *map,
                        const char *const *labels, size_t n) {
  int64_t now = nn_st_clock_ms(s->vfs), model_id, labelmap_id, n_outputs = 0;
  sqlite3_stmt *st;
  int rc, row;
  if (s->engine)
    return s->engine->add_labels(s, name, map, labels, n);
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (!map || !map[0])
    return nn_st_fail(s, NN_ERROR, "a label map name must not be empty");
  if ((rc = nn_st_json_labels(s, &s->text, labels, n)) != NN_OK ||
      (rc = nn_st_check_length(s, "the label map name", strlen(map))) != NN_OK ||
      (rc = nn_st_check_length(s, "the labels", s->text.n)) != NN_OK ||
      (rc = nn_st_begin(s)) != NN_OK)
    return rc;
  if ((rc = nn_st_need_model(s, name, &model_id)) != NN_OK ||
      (rc = USE(s, S_LATEST_OUTPUTS, &st)) != NN_OK)
    goto fail;
  sqlite3_bind_int64(st, 1, model_id);
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && row)
    n_outputs = sqlite3_column_int64(st, 0);
  nn_st_done(st);
  if (rc != NN_OK)
    goto fail;
  if ((int64_t)n != n_outputs) {
    rc = nn_st_fail(s, NN_EMISMATCH, "labels: %zu given, model '%s' has %" PRId64
                    " outputs", n, name, n_outputs);
    goto fail;
  }
  if ((rc = nn_st_put_labelmap(s, model_id, name, map, now, &labelmap_id)) != NN_OK ||
      (rc = nn_st_commit(s)) != NN_OK)
    goto fail;
  s->catalog_gen++;
  return NN_OK;
fail:
  nn_st_rollback(s);
  return rc;
}


/* Past this many bytes, maps nobody pinned are forgotten. */
#define LABELS_BUDGET  ((size_t)1 << 22)

nn_labelcache *nn_labelcache_new(void) {
  nn_labelcache *c = (nn_labelcache *)calloc(1, sizeof *c);
  if (c)
    c->refs = 1;
  return c;
}

void nn_labelcache_hold(nn_labelcache *c) {
  c->refs++;
}

/* Forget the maps after *from (or all, from the list's head) that nobody
** pinned, except keep. */
static void forget(nn_labelcache *c, nn_labelmap **from, const nn_labelmap *keep) {
  while (*from) {
    nn_labelmap *m = *from;
    if (m->pins == 0 && m != keep) {
      *from = m->next;
      c->bytes -= m->bytes;
      free(m);
    } else
      from = &m->next;
  }
}

void nn_labelcache_forget(nn_labelcache *c) {
  if (c)
    forget(c, &c->maps, NULL);
}

void nn_labelcache_release(nn_labelcache *c) {
  if (!c || --c->refs > 0)
    return;
  while (c->maps) {
    nn_labelmap *m = c->maps;
    c->maps = m->next;
    free(m);
  }
  free(c);
}

void nn_st_labels_forget(nn_store *s) {
  nn_labelcache_forget(s->maps);
}

const char *nn_labelmap_label(const nn_labelmap *m, size_t i, size_t *len) {
  size_t start = i ? m->end[i - 1] : 0;
  *len = m->end[i] - start;
  return m->text + start;
}

/* "model 'x' label map 'weather': " and what is wrong with it. */
static int bad_map(nn_store *s, sqlite3_stmt *row, const char *fmt, ...) {
  char what[NN_ERRMAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return nn_st_fail(s, NN_EINVALID, "model '%.60s' label map '%.40s': %s",
                    (const char *)sqlite3_column_text(row, 0),
                    (const char *)sqlite3_column_text(row, 1), what);
}

/* The labels of the map whose row is on `row` into s->blob (their ends)
** and s->text (the labels one after another), each checked as save checks
** it; *n gets how many. */
static int read_labels(nn_store *s, int64_t id, sqlite3_stmt *row, size_t *n) {
  sqlite3_stmt *st;
  int rc, more;
  *n = 0;
  s->blob.n = s->text.n = 0;
  if ((rc = USE(s, S_LABELS, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  while ((rc = nn_st_step(s, st, &more)) == NN_OK && more) {
    const char *type = (const char *)sqlite3_column_text(st, 0);
    const char *text;
    size_t len;
    ++*n;
    if (!type || strcmp(type, "text") != 0) {
      rc = bad_map(s, row, "label %zu is not a string", *n);
      break;
    }
    text = (const char *)sqlite3_column_text(st, 1);
    len = (size_t)sqlite3_column_bytes(st, 1);
    if (!text || len == 0) {
      rc = text ? bad_map(s, row, "label %zu is empty", *n) : nn_st_nomem(s);
      break;
    }
    if (strlen(text) != len) {
      rc = bad_map(s, row, "label %zu contains a zero byte", *n);
      break;
    }
    if (nn_buf_add(&s->text, text, len) ||
        nn_buf_add(&s->blob, &s->text.n, sizeof s->text.n)) {
      rc = nn_st_nomem(s);
      break;
    }
  }
  nn_st_done(st);
  if (rc == NN_OK && *n == 0)
    rc = bad_map(s, row, "it holds no labels");
  return rc;
}

/* The 1-based index of the first string in json, an array of strings,
** that holds the escape \u0000, or 0.  SQLite's JSON functions end such a
** string at the zero byte ("le\u0000af" reads as "le"), so the text is
** looked at itself. */
static size_t zero_label(const char *json, size_t n) {
  size_t i = 0, label = 0;
  int in_string = 0;
  while (i < n) {
    if (json[i] == '"') {
      in_string = !in_string;
      label += in_string;
    } else if (json[i] == '\\' && in_string) {
      if (i + 5 < n && memcmp(json + i + 1, "u0000", 5) == 0)
        return label;
      i++;             /* the escaped character, a quote or a backslash too */
    }
    i++;
  }
  return 0;
}

/* Whether the row of S_LABELMAP_ROW on `row` is what save wrote: labels
** that agree with its digest, JSON, an array.  INVALID naming what is not. */
static int check_map_row(nn_store *s, sqlite3_stmt *row) {
  char actual[NN_SHA256_HEX];
  const char *labels = (const char *)sqlite3_column_text(row, 3);
  const char *digest = (const char *)sqlite3_column_text(row, 4);
  const char *kind = (const char *)sqlite3_column_text(row, 7);
  if (labels) {
    nn_digest_model m = nn_st_digest_model(s, (const char *)sqlite3_column_text(row, 0),
                                           sqlite3_column_int64(row, 2));
    nn_digest_labelmap(actual, &m, (const char *)sqlite3_column_text(row, 1),
                       (size_t)sqlite3_column_bytes(row, 1), labels,
                       (size_t)sqlite3_column_bytes(row, 3));
  }
  if (!digest)
    return bad_map(s, row, "it has no digest");
  if (!labels || strcmp(digest, actual) != 0)
    return bad_map(s, row, "its labels disagree with its digest (changed outside nn?)");
  if (!sqlite3_column_int(row, 6) ||
      strcmp((const char *)sqlite3_column_text(row, 5), "text") != 0)
    return bad_map(s, row, "its labels are not JSON");
  if (!kind || strcmp(kind, "array") != 0)
    return bad_map(s, row, "its labels are not a JSON array");
  return NN_OK;
}

/* The labels of a sound row into s->blob and s->text (read_labels), then
** the escape read_labels cannot see: INVALID for a label save would
** refuse. */
static int read_map_labels(nn_store *s, int64_t id, sqlite3_stmt *row, size_t *n) {
  size_t zero;
  int rc = read_labels(s, id, row, n);
  if (rc == NN_OK &&
      (zero = zero_label((const char *)sqlite3_column_text(row, 3),
                         (size_t)sqlite3_column_bytes(row, 3))) != 0)
    rc = bad_map(s, row, "label %zu contains a zero byte", zero);
  return rc;
}

/* A map whose row is sound but one of whose labels save would refuse is
** kept all the same, with its count from the row (which version it fits is
** known) and, as its only text, the message in s->err (reading its labels
** fails with it). */
static int keep_bad(nn_store *s, sqlite3_stmt *row, size_t *n) {
  *n = (size_t)sqlite3_column_int64(row, 8);
  s->blob.n = 0;
  s->text.n = 0;
  return nn_buf_add(&s->text, s->err, strlen(s->err) + 1) ? nn_st_nomem(s) : NN_OK;
}

/* Map id of n labels, their ends in s->blob and their text in s->text (or
** bad: the message keep_bad left there), as one block first in the cache. */
static int cache_map(nn_store *s, int64_t id, size_t n, int bad, nn_labelmap **out) {
  nn_labelcache *c = s->maps;
  size_t bytes = sizeof(nn_labelmap) + s->blob.n + s->text.n;
  nn_labelmap *m = (nn_labelmap *)malloc(bytes);
  if (!m)
    return nn_st_nomem(s);
  m->id = id;
  m->pins = 0;
  m->n = n;
  m->bytes = bytes;
  m->end = (size_t *)(m + 1);
  m->text = (char *)m->end + s->blob.n;
  m->bad = bad ? m->text : NULL;
  if (s->blob.n)
    memcpy(m->end, s->blob.p, s->blob.n);
  if (s->text.n)
    memcpy(m->text, s->text.p, s->text.n);
  m->next = c->maps;
  c->maps = m;
  c->bytes += bytes;
  if (c->bytes > LABELS_BUDGET)
    forget(c, &m->next, m);
  *out = m;
  return NN_OK;
}

/* Read map id from the database, check it, and put it first in the cache,
** bad (keep_bad) or not. */
static int load_map(nn_store *s, int64_t id, nn_labelmap **out) {
  sqlite3_stmt *row;
  size_t n = 0;
  int rc, found, bad = 0;
  *out = NULL;
  if ((rc = USE(s, S_LABELMAP_ROW, &row)) != NN_OK)
    return rc;
  sqlite3_bind_int64(row, 1, id);
  if ((rc = nn_st_step(s, row, &found)) == NN_OK && !found)
    rc = nn_st_fail(s, NN_ENOTFOUND, "no label map with id %" PRId64, id);
  if (rc == NN_OK && (rc = check_map_row(s, row)) == NN_OK &&
      (rc = read_map_labels(s, id, row, &n)) == NN_EINVALID) {
    bad = 1;   /* the row is sound: what is wrong is one of its labels */
    rc = keep_bad(s, row, &n);
  }
  if (rc == NN_OK)
    rc = cache_map(s, id, n, bad, out);
  nn_st_done(row);
  return rc;
}

/* Map labelmap_id from the cache or read now, bad or not. */
static int lookup(nn_store *s, int64_t labelmap_id, const nn_labelmap **map) {
  nn_labelmap **at, *m;
  *map = NULL;
  if (!s->db)
    return nn_st_closed(s);
  if (!s->maps)
    return nn_st_fail(s, NN_ERROR, "the store has no cache of label maps");
  for (at = &s->maps->maps; *at; at = &(*at)->next)
    if ((*at)->id == labelmap_id) {
      m = *at;          /* to the front: the most recently used */
      *at = m->next;
      m->next = s->maps->maps;
      s->maps->maps = m;
      *map = m;
      return NN_OK;
    }
  return load_map(s, labelmap_id, (nn_labelmap **)map);
}

int nn_store_labelmap(nn_store *s, int64_t labelmap_id, const nn_labelmap **map) {
  int rc;
  *map = NULL;
  if (s->engine)
    return nn_store_unsupported(s, "a label map's cache");
  rc = lookup(s, labelmap_id, map);
  if (rc == NN_OK && (*map)->bad) {
    nn_st_fail(s, NN_EINVALID, "%s", (*map)->bad);
    *map = NULL;
    return NN_EINVALID;
  }
  return rc;
}

int nn_store_read_label(nn_store *s, int64_t labelmap_id, size_t i,
                        const char **label, size_t *len) {
  const nn_labelmap *m;
  int rc;
  *label = NULL;
  *len = 0;
  if (s->engine)
    return s->engine->read_label(s, labelmap_id, i, label, len);
  if ((rc = nn_store_labelmap(s, labelmap_id, &m)) != NN_OK)
    return rc;
  if (i >= m->n)
    return nn_st_fail(s, NN_ENOTFOUND, "label map %" PRId64 " has no label %zu",
                      labelmap_id, i + 1);
  *label = nn_labelmap_label(m, i, len);
  return NN_OK;
}

int nn_store_find_labelmap(nn_store *s, int64_t version_id, const char *map,
                           int64_t *labelmap_id, size_t *n_labels) {
  const nn_labelmap *m;
  sqlite3_stmt *st;
  int64_t n_outputs = 0;
  size_t latest = 0;
  int rc, row, seen = 0;
  *labelmap_id = 0;
  *n_labels = 0;
  if (s->engine)
    return s->engine->find_labelmap(s, version_id, map, labelmap_id, n_labels);
  if (!s->db)
    return nn_st_closed(s);
  if ((rc = USE(s, S_LABELMAP_NAMED, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, version_id);
  sqlite3_bind_text(st, 2, map, -1, SQLITE_STATIC);
  /* every candidate is read and checked until one fits: a map changed
  ** outside nn is an error, never skipped for an older one */
  while ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    int64_t id = sqlite3_column_int64(st, 0);
    n_outputs = sqlite3_column_int64(st, 1);
    if ((rc = lookup(s, id, &m)) != NN_OK)
      break;
    if (!seen++)
      latest = m->n;
    if ((int64_t)m->n != n_outputs && m->bad) {
      /* whether it was meant for this version cannot be told */
      rc = nn_st_fail(s, NN_EINVALID, "%s", m->bad);
      break;
    }
    if ((int64_t)m->n == n_outputs) {
      *labelmap_id = id;
      *n_labels = m->n;
      break;
    }
  }
  nn_st_done(st);
  if (rc != NN_OK || *labelmap_id)
    return rc;
  /* None fits: say why. */
  if ((rc = USE(s, S_LABELMAP_WHY, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, version_id);
  if ((rc = nn_st_step(s, st, &row)) != NN_OK)
    ;
  else if (!row)
    rc = nn_st_fail(s, NN_ENOTFOUND, "no version with id %" PRId64, version_id);
  else if (!seen)
    rc = nn_st_fail(s, NN_ENOTFOUND, "model '%s' has no label map '%s'",
                    (const char *)sqlite3_column_text(st, 0), map);
  else
    rc = nn_st_fail(s, NN_EMISMATCH, "label map '%s' has %zu labels, model '%s'"
                    " version %" PRId64 " has %" PRId64 " outputs", map, latest,
                    (const char *)sqlite3_column_text(st, 0),
                    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
  nn_st_done(st);
  return rc;
}
