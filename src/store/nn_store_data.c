/*
** nn_store_data.c: matrices out of the store (see nn_store_data.h).
**
** What it implements: the conversion of a query's rows into float32 rows
** (numbers, and JSON arrays of numbers expanded in place), and the query
** behind feedback_set, which reads the prediction log as nn_accuracy does:
** only predictions with feedback, the latest feedback winning.
**
** What it is not: no Lua; no JSON parser of its own (nn_json_read.h reads
** the text; only a flat array of numbers is taken, anything else refused).
**
**   SELECT input, true_idx FROM nn_prediction JOIN nn_feedback USING (prediction_id);
*/
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_json_read.h"
#include "formats/nn_number.h"
#include "store/nn_store_data.h"
#include "store/nn_store_engine.h"

/* The feedback set: the latest feedback of each prediction of model ?1
** (version ?2, or all when 0) with the position of its label in the JSON
** array ?3 (NULL when there is none). */
#define FEEDBACK_SET \
  "WITH truth AS (" \
  " SELECT f.prediction_id, f.true_idx, f.true_label FROM nn_feedback AS f" \
  " WHERE f.feedback_id = (SELECT max(g.feedback_id) FROM nn_feedback AS g" \
  "                        WHERE g.prediction_id = f.prediction_id))" \
  " SELECT p.prediction_id, p.input, t.true_idx, t.true_label," \
  " (SELECT e.key + 1 FROM json_each(?3) AS e" \
  "  WHERE e.type = 'text' AND e.value = t.true_label ORDER BY e.key LIMIT 1)" \
  " FROM truth AS t" \
  " JOIN nn_prediction AS p ON p.prediction_id = t.prediction_id" \
  " JOIN nn_version AS v ON v.version_id = p.version_id" \
  " WHERE v.model_id = ?1 AND (?2 = 0 OR v.version = ?2)" \
  " ORDER BY p.prediction_id"

/* The model's id, the inputs of version ?2 (the latest when 0), and the
** latest label map called ?3 (NULL when there is none, or ?3 is NULL). */
#define FEEDBACK_MODEL \
  "SELECT m.model_id, v.n_inputs," \
  " (SELECT l.labels FROM nn_labelmap AS l WHERE l.model_id = m.model_id" \
  "  AND l.name = ?3 ORDER BY l.labelmap_id DESC LIMIT 1)" \
  " FROM nn_model AS m LEFT JOIN nn_version AS v ON v.model_id = m.model_id" \
  "  AND (?2 = 0 OR v.version = ?2)" \
  " WHERE m.name = ?1 ORDER BY v.version DESC LIMIT 1"

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

/* Column c (0-based) of the current row of st appended to out as numbers;
** width[c] is its count in row 1 (set when row is 1). */
static int row_column(nn_store *s, sqlite3_stmt *st, size_t row, int c, size_t *width,
                      nn_buf *out) {
  const char *name = sqlite3_column_name(st, c);
  size_t n = 1;
  int type = sqlite3_column_type(st, c), oom;
  double v;
  float f;
  switch (type) {
  case SQLITE_INTEGER:
  case SQLITE_FLOAT:
    v = sqlite3_column_double(st, c);
    if (!nn_number_float(v, &f))
      return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): %g is out "
                           "of range for float32", row, c + 1, name, v);
    if (nn_buf_add(out, &f, sizeof f))
      return nomem(s);
    break;
  case SQLITE_TEXT:
    if (!json_numbers((const char *)sqlite3_column_text(st, c),
                      (size_t)sqlite3_column_bytes(st, c), out, &n, &oom))
      return oom ? nomem(s) :
             nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): text that "
                           "is not a JSON array of numbers", row, c + 1, name);
    if (n == 0)
      return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): an empty "
                           "JSON array", row, c + 1, name);
    break;
  case SQLITE_NULL:
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): NULL", row,
                         c + 1, name);
  default:
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): a BLOB, not "
                         "a number", row, c + 1, name);
  }
  if (row == 1)
    width[c] = n;
  else if (n != width[c])
    return nn_store_fail(s, NN_ERROR, "row %zu, column %d ('%.32s'): %zu numbers, "
                         "row 1 had %zu", row, c + 1, name, n, width[c]);
  return NN_OK;
}

/* After the last sqlite3_step (its result step): the count of rows, and
** the width of a result without rows. */
static int rows_done(nn_store *s, int step, size_t row, size_t empty_cols,
                     size_t *rows, size_t *cols) {
  if (step != SQLITE_DONE)
    return nn_store_db_fail(s);
  *rows = row;
  if (row == 0)
    *cols = empty_cols;
  return NN_OK;
}

static int bind_params(nn_store *s, sqlite3_stmt *st, const nn_store_param *params,
                       size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    const nn_store_param *p = &params[i];
    int col = (int)i + 1, rc;
    switch (p->type) {
    case SQLITE_INTEGER: rc = sqlite3_bind_int64(st, col, p->i); break;
    case SQLITE_FLOAT:   rc = sqlite3_bind_double(st, col, p->d); break;
    case SQLITE_TEXT:    rc = sqlite3_bind_text64(st, col, p->text, p->len,
                                                  SQLITE_STATIC, SQLITE_UTF8); break;
    default:             rc = sqlite3_bind_null(st, col);
    }
    if (rc != SQLITE_OK)
      return nn_store_db_fail(s);
  }
  return NN_OK;
}

int nn_store_matrix(nn_store *s, const char *sql, size_t len,
                    const nn_store_param *params, size_t n_params,
                    nn_buf *out, size_t *rows, size_t *cols) {
  sqlite3_stmt *st = NULL, *extra = NULL;
  const char *tail = NULL;
  size_t *width = NULL, row = 0;
  int rc = NN_OK, n_cols, c, step;
  *rows = *cols = 0;
  if (s->engine)
    return nn_store_unsupported(s, "store:matrix");
  if (!s->db)
    return nn_store_fail(s, NN_ERROR, "the store is closed");
  if (len > 0x7fffffff)
    return nn_store_fail(s, NN_ERROR, "SQL text too long");
  if (sqlite3_prepare_v2(s->db, sql, (int)len, &st, &tail) != SQLITE_OK)
    return nn_store_db_fail(s);
  if (!st)
    return nn_store_fail(s, NN_ERROR, "no SQL statement");
  if (sqlite3_prepare_v2(s->db, tail, (int)(sql + len - tail), &extra, NULL) != SQLITE_OK ||
      extra) {
    rc = nn_store_fail(s, NN_ERROR, "more than one SQL statement");
    goto done;
  }
  if (n_params > (size_t)sqlite3_bind_parameter_count(st)) {
    int n = sqlite3_bind_parameter_count(st);
    rc = nn_store_fail(s, NN_ERROR, "the statement has %d parameter%s, %zu given",
                       n, n == 1 ? "" : "s", n_params);
    goto done;
  }
  if ((rc = bind_params(s, st, params, n_params)) != NN_OK)
    goto done;
  n_cols = sqlite3_column_count(st);
  if (n_cols == 0) {
    rc = nn_store_fail(s, NN_ERROR, "the statement gives no columns");
    goto done;
  }
  if (!(width = calloc((size_t)n_cols, sizeof *width))) {
    rc = nomem(s);
    goto done;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    size_t before = out->n / sizeof(float);
    row++;
    for (c = 0; c < n_cols && rc == NN_OK; c++)
      rc = row_column(s, st, row, c, width, out);
    if (rc != NN_OK)
      goto done;
    if (row == 1)
      *cols = out->n / sizeof(float) - before;
    if (row > NN_MAX_PARAMS / *cols) {
      rc = nn_store_fail(s, NN_ERROR, "row %zu: more than %zu numbers", row,
                         (size_t)NN_MAX_PARAMS);
      goto done;
    }
  }
  rc = rows_done(s, step, row, (size_t)n_cols, rows, cols);
done:
  free(width);
  sqlite3_finalize(extra);
  sqlite3_finalize(st);
  if (rc != NN_OK)
    *rows = *cols = 0;
  return rc;
}

/* The model's id, the input width of the version asked for, and the labels
** of map (a JSON array, copied into labels_buf) when map is not NULL. */
static int feedback_model(nn_store *s, const char *name, int64_t version, const char *map,
                          int64_t *model_id, size_t *n_inputs, nn_buf *labels_buf) {
  sqlite3_stmt *st = NULL;
  int rc = NN_OK;
  if (sqlite3_prepare_v2(s->db, FEEDBACK_MODEL, -1, &st, NULL) != SQLITE_OK)
    return nn_store_db_fail(s);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, version);
  if (map)
    sqlite3_bind_text(st, 3, map, -1, SQLITE_STATIC);
  switch (sqlite3_step(st)) {
  case SQLITE_ROW:
    break;
  case SQLITE_DONE:
    rc = nn_store_fail(s, NN_ENOTFOUND, "no model named '%s'", name);
    goto done;
  default:
    rc = nn_store_db_fail(s);
    goto done;
  }
  *model_id = sqlite3_column_int64(st, 0);
  *n_inputs = (size_t)sqlite3_column_int64(st, 1);
  if (sqlite3_column_type(st, 1) == SQLITE_NULL)
    rc = nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no version %" PRId64, name,
                       version);
  else if (map && sqlite3_column_type(st, 2) == SQLITE_NULL)
    rc = nn_store_fail(s, NN_ENOTFOUND, "model '%s' has no label map '%s'", name, map);
  else if (map && nn_buf_add(labels_buf, sqlite3_column_text(st, 2),
                             (size_t)sqlite3_column_bytes(st, 2)))
    rc = nomem(s);
done:
  sqlite3_finalize(st);
  return rc;
}

/* One row of FEEDBACK_SET appended to x, t and ids. */
static int feedback_row(nn_store *s, sqlite3_stmt *st, int by_label, size_t *cols,
                        nn_buf *x, nn_buf *t, nn_buf *ids, size_t row) {
  int64_t id = sqlite3_column_int64(st, 0), cls;
  size_t n;
  int oom;
  if (!json_numbers((const char *)sqlite3_column_text(st, 1),
                    (size_t)sqlite3_column_bytes(st, 1), x, &n, &oom))
    return oom ? nomem(s) :
           nn_store_fail(s, NN_EINVALID, "prediction %" PRId64 ": its input is not "
                         "a JSON array of numbers", id);
  if (row == 1)
    *cols = n;
  else if (n != *cols)
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 " has %zu inputs, "
                         "the first one has %zu", id, n, *cols);
  cls = sqlite3_column_int64(st, 2);
  if (by_label && sqlite3_column_type(st, 3) == SQLITE_NULL)
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 ": its feedback "
                         "has no label (it is index %" PRId64 ")", id, cls);
  if (by_label && sqlite3_column_type(st, 4) == SQLITE_NULL)
    return nn_store_fail(s, NN_EMISMATCH, "prediction %" PRId64 ": its feedback "
                         "'%.40s' is not one of the labels", id, sqlite3_column_text(st, 3));
  if (by_label)
    cls = sqlite3_column_int64(st, 4);
  if (nn_buf_add(t, &cls, sizeof cls) || nn_buf_add(ids, &id, sizeof id))
    return nomem(s);
  return NN_OK;
}

int nn_store_feedback_set(nn_store *s, const char *name, int64_t version,
                          const char *labels, size_t labels_len, const char *map,
                          nn_buf *x, nn_buf *t, nn_buf *ids, size_t *rows, size_t *cols) {
  nn_buf map_labels = { NULL, 0, 0 };
  sqlite3_stmt *st = NULL;
  int64_t model_id = 0;
  size_t n_inputs = 0, row = 0;
  int rc, step;
  *rows = *cols = 0;
  if (s->engine)
    return nn_store_unsupported(s, "store:feedback_set");
  if (!s->db)
    return nn_store_fail(s, NN_ERROR, "the store is closed");
  if ((rc = feedback_model(s, name, version, map, &model_id, &n_inputs,
                           &map_labels)) != NN_OK)
    goto done;
  if (map) {
    labels = map_labels.p;
    labels_len = map_labels.n;
  }
  if (sqlite3_prepare_v2(s->db, FEEDBACK_SET, -1, &st, NULL) != SQLITE_OK) {
    rc = nn_store_db_fail(s);
    goto done;
  }
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_int64(st, 2, version);
  if (labels)
    sqlite3_bind_text64(st, 3, labels, labels_len, SQLITE_STATIC, SQLITE_UTF8);
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    if ((rc = feedback_row(s, st, labels != NULL, cols, x, t, ids, ++row)) != NN_OK)
      goto done;
  rc = rows_done(s, step, row, n_inputs, rows, cols);
done:
  sqlite3_finalize(st);
  nn_buf_free(&map_labels);
  if (rc != NN_OK)
    *rows = *cols = 0;
  return rc;
}
