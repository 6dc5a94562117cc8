/*
** nn_store_data.c: matrices out of the store (see nn_store_data.h).
**
** What it implements: the conversion of a query's rows into float32 rows
** (numbers, and JSON arrays of numbers expanded in place), and the query
** behind feedback_set, which reads the prediction log as nn_accuracy does:
** only predictions with feedback, the latest feedback winning.
**
** Both run through the store's cursor (nn_store.h), so that the same code
** serves every engine: SQLite, and PostgreSQL (src/pgstore/), whose jsonb
** inputs come back as their JSON text.  The SQL of feedback_set is written
** once for both, its placeholders aside (?N on SQLite, $N on PostgreSQL);
** the position of a feedback's label among the labels asked for is found
** here, not in SQL, as neither engine's JSON functions are the other's.
**
** What it is not: no Lua; no SQLite; no JSON parser of its own
** (nn_json_read.h reads the text; only a flat array of numbers is taken,
** anything else refused).
**
**   SELECT input, true_idx FROM nn_prediction JOIN nn_feedback USING (prediction_id);
*/
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_json_read.h"
#include "formats/nn_number.h"
#include "store/nn_store_data.h"

/* The feedback set: the latest feedback of each prediction of model P1
** (version P2, or all when 0), in the order the predictions were logged. */
#define FEEDBACK_SET(P1, P2) \
  "WITH truth AS (" \
  " SELECT f.prediction_id, f.true_idx, f.true_label FROM nn_feedback AS f" \
  " WHERE f.feedback_id = (SELECT max(g.feedback_id) FROM nn_feedback AS g" \
  "                        WHERE g.prediction_id = f.prediction_id))" \
  " SELECT p.prediction_id, p.input, t.true_idx, t.true_label" \
  " FROM truth AS t" \
  " JOIN nn_prediction AS p ON p.prediction_id = t.prediction_id" \
  " JOIN nn_version AS v ON v.version_id = p.version_id" \
  " WHERE v.model_id = " P1 " AND (" P2 " = 0 OR v.version = " P2 ")" \
  " ORDER BY p.prediction_id"

/* The model's id, the inputs of version P2 (the latest when 0), and the
** latest label map called P3 (NULL when there is none, or P3 is NULL). */
#define FEEDBACK_MODEL(P1, P2, P3) \
  "SELECT m.model_id, v.n_inputs," \
  " (SELECT l.labels FROM nn_labelmap AS l WHERE l.model_id = m.model_id" \
  "  AND l.name = " P3 " ORDER BY l.labelmap_id DESC LIMIT 1)" \
  " FROM nn_model AS m LEFT JOIN nn_version AS v ON v.model_id = m.model_id" \
  "  AND (" P2 " = 0 OR v.version = " P2 ")" \
  " WHERE m.name = " P1 " ORDER BY v.version DESC LIMIT 1"

/* The integers as bigint on both engines (an untyped $2 would be int4). */
static const char *const feedback_set_sql[2] = {
  FEEDBACK_SET("?1", "CAST(?2 AS bigint)"),
  FEEDBACK_SET("$1", "CAST($2 AS bigint)")
};
static const char *const feedback_model_sql[2] = {
  FEEDBACK_MODEL("?1", "CAST(?2 AS bigint)", "?3"),
  FEEDBACK_MODEL("$1", "CAST($2 AS bigint)", "$3")
};

/* The numbers of the JSON array text[0..n) appended to out; *count gets
** how many.  0 when text is anything but a flat array of numbers that fit
** float32 (or out of memory: *nomem).  Numbers as the data readers take
** them ("+1", ".5", "5." too), as this reader always has. */
static int json_numbers(const char *text, size_t n, nn_buf *out, size_t *count,
                        int *nomem) {
  nn_json_reader r;
  nn_json_token t;
  nn_json_kind k;
  float f;
  *count = 0;
  *nomem = 0;
  nn_json_init(&r, text, n, NN_JSON_LOOSE_NUMBERS, 1);
  if (nn_json_next(&r, &t) != NN_JSON_ARRAY)
    return 0;
  while ((k = nn_json_next(&r, &t)) == NN_JSON_NUMBER) {
    if (!nn_number_float(t.number, &f))
      return 0;
    if (nn_buf_add(out, &f, sizeof f)) {
      *nomem = 1;
      return 0;
    }
    ++*count;
  }
  return k == NN_JSON_ARRAY_END && nn_json_next(&r, &t) == NN_JSON_END;
}

static int nomem(nn_store *s) {
  return nn_store_fail(s, NN_ENOMEM, "out of memory");
}

/* Which of the SQL texts above serves s: 0 SQLite, 1 PostgreSQL. */
static int dialect(const nn_store *s) {
  return s->engine != NULL;
}

/* Column c (0-based) of the current row of cur appended to out as numbers;
** width[c] is its count in row 1 (set when row is 1). */
static int row_column(nn_store *s, nn_store_cursor *cur, size_t row, int c, size_t *width,
                      nn_buf *out) {
  nn_store_value v;
  size_t n = 1;
  int oom;
  float f;
  nn_store_cursor_value(cur, c, &v);
  switch (v.type) {
  case NN_STORE_INTEGER:
  case NN_STORE_FLOAT:
    if (v.type == NN_STORE_INTEGER)
      v.d = (double)v.i;
    if (!nn_number_float(v.d, &f))
      return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): %g is out "
                           "of range for float32", row, c + 1,
                           nn_store_cursor_name(cur, c), v.d);
    if (nn_buf_add(out, &f, sizeof f))
      return nomem(s);
    break;
  case NN_STORE_TEXT:
    if (!json_numbers(v.text, v.len, out, &n, &oom))
      return oom ? nomem(s) :
             nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): text that "
                           "is not a JSON array of numbers", row, c + 1,
                           nn_store_cursor_name(cur, c));
    if (n == 0)
      return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): an empty "
                           "JSON array", row, c + 1, nn_store_cursor_name(cur, c));
    break;
  case NN_STORE_NULL:
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): NULL", row,
                         c + 1, nn_store_cursor_name(cur, c));
  default:
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): a BLOB, not "
                         "a number", row, c + 1, nn_store_cursor_name(cur, c));
  }
  if (row == 1)
    width[c] = n;
  else if (n != width[c])
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): %zu numbers, "
                         "row 1 had %zu", row, c + 1, nn_store_cursor_name(cur, c),
                         n, width[c]);
  return NN_OK;
}

/* The statement sql opened as *cur with the n params bound to its first
** parameters; refused when it has fewer. */
static int open_bound(nn_store *s, const char *sql, size_t len,
                      const nn_store_param *params, size_t n, nn_store_cursor **cur) {
  size_t i;
  int rc, have;
  if ((rc = nn_store_cursor_open(s, sql, len, cur)) != NN_OK)
    return rc;
  have = nn_store_cursor_params(*cur);
  if (n > (size_t)have)
    return nn_store_fail(s, NN_ERROR, "the statement has %d parameter%s, %zu given",
                         have, have == 1 ? "" : "s", n);
  for (i = 0; i < n; i++)
    if ((rc = nn_store_cursor_bind(s, *cur, (int)i + 1, &params[i])) != NN_OK)
      return rc;
  return NN_OK;
}

/* The rows of cur (n_cols columns) appended to out; *rows and *cols as
** nn_store_matrix gives them. */
static int matrix_rows(nn_store *s, nn_store_cursor *cur, int n_cols, size_t *width,
                       nn_buf *out, size_t *rows, size_t *cols) {
  size_t row = 0;
  int rc = NN_OK, c, more;
  while ((rc = nn_store_cursor_step(s, cur, &more)) == NN_OK && more) {
    size_t before = out->n / sizeof(float);
    row++;
    for (c = 0; c < n_cols && rc == NN_OK; c++)
      rc = row_column(s, cur, row, c, width, out);
    if (rc != NN_OK)
      return rc;
    if (row == 1)
      *cols = out->n / sizeof(float) - before;
    if (row > NN_MAX_PARAMS / *cols)
      return nn_store_fail(s, NN_ERROR, "row %zu: more than %zu numbers", row,
                           (size_t)NN_MAX_PARAMS);
  }
  if (rc != NN_OK)
    return rc;
  *rows = row;
  if (row == 0)
    *cols = (size_t)n_cols;
  return NN_OK;
}

int nn_store_matrix(nn_store *s, const char *sql, size_t len,
                    const nn_store_param *params, size_t n_params,
                    nn_buf *out, size_t *rows, size_t *cols) {
  nn_store_cursor *cur = NULL;
  size_t *width = NULL;
  int rc, n_cols;
  *rows = *cols = 0;
  if ((rc = open_bound(s, sql, len, params, n_params, &cur)) != NN_OK)
    goto done;
  /* known before a step on both engines: a statement without columns is
  ** refused before it runs */
  if ((n_cols = nn_store_cursor_columns(cur)) == 0) {
    rc = nn_store_fail(s, NN_ERROR, "the statement gives no columns");
    goto done;
  }
  if (!(width = (size_t *)calloc((size_t)n_cols, sizeof *width))) {
    rc = nomem(s);
    goto done;
  }
  rc = matrix_rows(s, cur, n_cols, width, out, rows, cols);
done:
  free(width);
  nn_store_cursor_close(cur);
  if (rc != NN_OK)
    *rows = *cols = 0;
  return rc;
}

/* The model's id, the input width of the version asked for, and the labels
** of map (a JSON array, copied into labels_buf) when map is not NULL. */
static int feedback_model(nn_store *s, const char *name, int64_t version, const char *map,
                          int64_t *model_id, size_t *n_inputs, nn_buf *labels_buf) {
  const char *sql = feedback_model_sql[dialect(s)];
  nn_store_param p[3];
  nn_store_cursor *cur = NULL;
  nn_store_value v;
  int rc, row;
  memset(p, 0, sizeof p);
  p[0].type = NN_STORE_TEXT;
  p[0].text = name;
  p[0].len = strlen(name);
  p[1].type = NN_STORE_INTEGER;
  p[1].i = version;
  p[2].type = map ? NN_STORE_TEXT : NN_STORE_NULL;
  p[2].text = map;
  p[2].len = map ? strlen(map) : 0;
  if ((rc = open_bound(s, sql, strlen(sql), p, 3, &cur)) != NN_OK ||
      (rc = nn_store_cursor_step(s, cur, &row)) != NN_OK)
    goto done;
  if (!row) {
    rc = nn_store_fail(s, NN_ENOTFOUND, "no model named '%s'", name);
    goto done;
  }
  nn_store_cursor_value(cur, 0, &v);
  *model_id = v.i;
  nn_store_cursor_value(cur, 1, &v);
  *n_inputs = (size_t)v.i;
  if (v.type == NN_STORE_NULL) {
    rc = nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no version %" PRId64, name,
                       version);
    goto done;
  }
  nn_store_cursor_value(cur, 2, &v);
  if (map && v.type == NN_STORE_NULL)
    rc = nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no label map '%s'", name, map);
  else if (map && nn_buf_add(labels_buf, v.text, v.len))
    rc = nomem(s);
done:
  nn_store_cursor_close(cur);
  return rc;
}

/* The labels of the JSON array text[0..n) read for label_position: each
** element's bytes (its escapes decoded) into names, and into spans its
** offset and length there, or SIZE_MAX as the offset of an element that is
** not a string.  0 when the text is not a flat array. */
static int read_labels(const char *text, size_t n, nn_buf *names, nn_buf *spans,
                       int *oom) {
  nn_json_reader r;
  nn_json_token t;
  nn_json_kind k;
  *oom = 0;
  nn_json_init(&r, text, n, NN_JSON_LOOSE_NUMBERS, 1);
  if (nn_json_next(&r, &t) != NN_JSON_ARRAY)
    return 0;
  while ((k = nn_json_next(&r, &t)) != NN_JSON_ARRAY_END) {
    size_t span[2] = { SIZE_MAX, 0 };
    if (k == NN_JSON_END || k == NN_JSON_ERROR)
      return 0;
    if (k == NN_JSON_STRING) {
      const char *p = t.s, *end = t.s + t.n;
      span[0] = names->n;
      if (nn_buf_reserve(names, t.n + 4)) {
        *oom = 1;
        return 0;
      }
      while (p < end)   /* never longer than its text */
        names->n += nn_json_unescape(names->p + names->n, t.n + 4, &p, end);
      span[1] = names->n - span[0];
    }
    if (nn_buf_add(spans, span, sizeof span)) {
      *oom = 1;
      return 0;
    }
  }
  return 1;
}

/* The 1-based position of the first label equal to label[0..len), or 0. */
static int64_t label_position(const nn_buf *names, const nn_buf *spans, const char *label,
                              size_t len) {
  size_t i, n = spans->n / (2 * sizeof(size_t));
  for (i = 0; i < n; i++) {
    size_t span[2];
    memcpy(span, spans->p + i * sizeof span, sizeof span);
    if (span[0] != SIZE_MAX && span[1] == len && memcmp(names->p + span[0], label, len) == 0)
      return (int64_t)i + 1;
  }
  return 0;
}

/* The labels to place feedback in, read once for every row. */
typedef struct feedback_labels {
  int on;                 /* 0: the classes are the feedback's indices */
  nn_buf names, spans;
} feedback_labels;

/* One row of the feedback set appended to x, t and ids. */
static int feedback_row(nn_store *s, nn_store_cursor *cur, const feedback_labels *lb,
                        size_t *cols, nn_buf *x, nn_buf *t, nn_buf *ids, size_t row) {
  nn_store_value v, label;
  int64_t id, cls;
  size_t n;
  int oom;
  nn_store_cursor_value(cur, 0, &v);
  id = v.i;
  nn_store_cursor_value(cur, 1, &v);
  if (v.type != NN_STORE_TEXT || !json_numbers(v.text, v.len, x, &n, &oom))
    return v.type == NN_STORE_TEXT && oom ? nomem(s) :
           nn_store_fail(s, NN_EINVALID, "prediction %" PRId64 ": its input is not "
                         "a JSON array of numbers", id);
  if (row == 1)
    *cols = n;
  else if (n != *cols)
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 " has %zu inputs, "
                         "the first one has %zu", id, n, *cols);
  nn_store_cursor_value(cur, 2, &v);
  cls = v.i;
  nn_store_cursor_value(cur, 3, &label);
  if (lb->on && label.type == NN_STORE_NULL)
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 ": its feedback "
                         "has no label (it is index %" PRId64 ")", id, cls);
  if (lb->on && !(cls = label_position(&lb->names, &lb->spans, label.text, label.len)))
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 ": its feedback "
                         "'%.40s' is not one of the labels", id, label.text);
  if (nn_buf_add(t, &cls, sizeof cls) || nn_buf_add(ids, &id, sizeof id))
    return nomem(s);
  return NN_OK;
}

/* The rows of the feedback set of model_id into x, t and ids. */
static int feedback_rows(nn_store *s, int64_t model_id, int64_t version,
                         const feedback_labels *lb, nn_buf *x, nn_buf *t, nn_buf *ids,
                         size_t *rows, size_t *cols) {
  const char *sql = feedback_set_sql[dialect(s)];
  nn_store_param p[2];
  nn_store_cursor *cur = NULL;
  size_t row = 0;
  int rc, more;
  memset(p, 0, sizeof p);
  p[0].type = p[1].type = NN_STORE_INTEGER;
  p[0].i = model_id;
  p[1].i = version;
  if ((rc = open_bound(s, sql, strlen(sql), p, 2, &cur)) == NN_OK) {
    while ((rc = nn_store_cursor_step(s, cur, &more)) == NN_OK && more)
      if ((rc = feedback_row(s, cur, lb, cols, x, t, ids, ++row)) != NN_OK)
        break;
  }
  nn_store_cursor_close(cur);
  *rows = row;
  return rc;
}

int nn_store_feedback_set(nn_store *s, const char *name, int64_t version,
                          const char *labels, size_t labels_len, const char *map,
                          nn_buf *x, nn_buf *t, nn_buf *ids, size_t *rows, size_t *cols) {
  feedback_labels lb = { 0, { NULL, 0, 0 }, { NULL, 0, 0 } };
  nn_buf map_labels = { NULL, 0, 0 };
  int64_t model_id = 0;
  size_t n_inputs = 0;
  int rc, oom;
  *rows = *cols = 0;
  if ((rc = feedback_model(s, name, version, map, &model_id, &n_inputs,
                           &map_labels)) != NN_OK)
    goto done;
  if (map) {
    labels = map_labels.p;
    labels_len = map_labels.n;
  }
  if (labels && !(lb.on = read_labels(labels, labels_len, &lb.names, &lb.spans, &oom))) {
    rc = oom ? nomem(s) : nn_store_fail(s, NN_EINVALID, "the labels are not a JSON array");
    goto done;
  }
  rc = feedback_rows(s, model_id, version, &lb, x, t, ids, rows, cols);
  if (rc == NN_OK && *rows == 0)
    *cols = n_inputs;
done:
  nn_buf_free(&lb.names);
  nn_buf_free(&lb.spans);
  nn_buf_free(&map_labels);
  if (rc != NN_OK)
    *rows = *cols = 0;
  return rc;
}
