/*
** nn_store_log.c: the prediction log (nn_store_log, nn_store_flush and
** nn_store_feedback in nn_store.h).
**
** What it implements: rows wait in a buffer of the store (no transaction is
** held between calls) and are written in one transaction at a time, many
** rows a statement.  Their ids are known before they are written: the
** store reserves blocks of ids in sqlite_sequence, which every other writer
** of the AUTOINCREMENT table skips past.  A call either records its row and
** gives its id, or fails and leaves nothing of it behind, even when the
** flush it set off fails.  Feedback is written at once.  What it is not:
** label maps are read through nn_store_labels.c's cache; no Lua.
**
**   SELECT prediction_id, input ->> '$[0]', pred_label, score
**   FROM nn_predictions WHERE name = 'leaf_flower';
*/
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "store/nn_store_int.h"

/* A logged row: its label is bound from the (immutable) map, read once and
** kept in the connection's cache, rather than looked up by SQL for every
** row. */
#define LOG_INSERT \
  "INSERT INTO nn_prediction (prediction_id, ts, version_id, labelmap_id," \
  " input, output, pred_idx, pred_label, score, request_id, tags) VALUES "
#define LOG_COLUMNS  11
#define LOG_ROW      "(?,?,?,?,?,?,?,?,?,?,?)"
#define LOG_ROW4     LOG_ROW "," LOG_ROW "," LOG_ROW "," LOG_ROW
#define LOG_ROW16    LOG_ROW4 "," LOG_ROW4 "," LOG_ROW4 "," LOG_ROW4
#define LOG_BATCH    32   /* the rows of S_PREDICTION_BATCH */

static const char *const sql[S_COUNT] = {
  /* the row S_SEQ_BUMP found missing (sqlite_sequence has none for a table
  ** never written to), with ?1 ids reserved */
  [S_SEQ_INIT] =
  "INSERT INTO sqlite_sequence (name, seq) VALUES ('nn_prediction',"
  " (SELECT coalesce(max(prediction_id), 0) FROM nn_prediction) + ?1)",
  /* reserve ?1 ids; the new seq is the last of them.  Neither this nor
  ** S_SEQ_INIT reads the table it writes, nor returns rows: either would
  ** make SQLite build and drop a temporary table, which cost more than the
  ** rest of a flush of 1000 rows. */
  [S_SEQ_BUMP] =
  "UPDATE sqlite_sequence SET seq = max(seq,"
  " (SELECT coalesce(max(prediction_id), 0) FROM nn_prediction)) + ?1"
  " WHERE name = 'nn_prediction'",
  [S_SEQ_READ] = "SELECT seq FROM sqlite_sequence WHERE name = 'nn_prediction'",
  /* one row (LOG_COLUMNS) */
  [S_PREDICTION_INSERT] = LOG_INSERT LOG_ROW,
  /* LOG_BATCH rows, in one statement: SQLite's work for a statement (its
  ** sub-journal, the AUTOINCREMENT row, the JSON cache) is then done once
  ** for all of them */
  [S_PREDICTION_BATCH] = LOG_INSERT LOG_ROW16 "," LOG_ROW16,
  /* the prediction's outputs, label map and its name */
  [S_FEEDBACK_INFO] =
  "SELECT v.n_outputs, p.labelmap_id, l.name"
  " FROM nn_prediction AS p"
  " JOIN nn_version AS v ON v.version_id = p.version_id"
  " LEFT JOIN nn_labelmap AS l ON l.labelmap_id = p.labelmap_id"
  " WHERE p.prediction_id = ?1",
  [S_FEEDBACK_INSERT] =
  "INSERT INTO nn_feedback (prediction_id, ts, true_idx, true_label)"
  " VALUES (?1, ?2, ?3, ?4)"
};

#define USE(s, slot, st)  nn_st_use(s, slot, sql[slot], st)

/* A buffered row is a logrec followed by its texts: input and output as
** JSON arrays, then its label, request_id and tags, each len[] bytes
** (NO_TEXT: NULL).  Headers are copied in and out with memcpy, so records
** need no alignment.
*/

#define NO_TEXT  ((size_t)-1)

typedef struct logrec {
  int64_t id;                /* 0: let AUTOINCREMENT choose (sync) */
  int64_t ts, version_id, labelmap_id, pred_idx;
  double score;              /* always finite (nn_store_log refuses others) */
  size_t len[5];             /* input, output, label, request_id, tags */
} logrec;

/* Label idx (0-based) of map id, as pred_label takes it: *len NO_TEXT when
** the map has no such label.  *text is valid until the next call. */
static int find_label(nn_store *s, int64_t id, size_t idx, const char **text,
                      size_t *len) {
  const nn_labelmap *m;
  int rc;
  *text = NULL;
  *len = NO_TEXT;
  if ((rc = nn_store_labelmap(s, id, &m)) != NN_OK)
    return rc;
  if (idx < m->n)
    *text = nn_labelmap_label(m, idx, len);
  return NN_OK;
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
    if ((rc = USE(s, which, &st)) != NN_OK)
      return rc;
    sqlite3_bind_int64(st, 1, block);
    rc = nn_st_step(s, st, &row);
    nn_st_done(st);
    if (rc != NN_OK)
      return rc;
    if (which == S_SEQ_INIT || sqlite3_changes(s->db) > 0)
      break;
  }
  if ((rc = USE(s, S_SEQ_READ, &st)) != NN_OK)
    return rc;
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && !row)
    rc = nn_st_fail(s, NN_ERROR, "sqlite_sequence has no row for nn_prediction");
  if (rc == NN_OK) {
    *last = sqlite3_column_int64(st, 0);
    *first = *last - block + 1;
  }
  nn_st_done(st);
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
    if ((rc = nn_st_begin(s)) != NN_OK)
      return rc;
    if ((rc = reserve_ids(s, &first, &last)) != NN_OK ||
        (rc = nn_st_commit(s)) != NN_OK) {
      nn_st_rollback(s);
      return rc;
    }
    add_ids(s, first, last);
  }
  *id = s->id_next;
  return NN_OK;
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
    return NN_OK;   /* nothing can have been logged */
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (s->log_rows == 0)
    return NN_OK;
  if ((rc = USE(s, S_PREDICTION_INSERT, &one)) != NN_OK ||
      (s->log_rows >= LOG_BATCH &&
       (rc = USE(s, S_PREDICTION_BATCH, &batch)) != NN_OK) ||
      (rc = nn_st_begin(s)) != NN_OK)
    return rc;
  for (left = s->log_rows; left > 0; left -= i) {
    sqlite3_stmt *st = left >= LOG_BATCH ? batch : one;
    for (i = 0; i < (st == batch ? LOG_BATCH : 1); i++)
      off = bind_row(st, (int)i * LOG_COLUMNS, s->log.p, off);
    rc = nn_st_step(s, st, &row);
    sqlite3_reset(st);
    if (rc != NN_OK)
      goto fail;
  }
  /* Fewer ids left than the next batch needs: reserve them now, in this
  ** transaction, rather than in one of their own in the middle of a frame. */
  if (!s->opts.sync && s->spare_next == s->spare_end &&
      s->id_end - s->id_next < s->opts.flush_rows &&
      (rc = reserve_ids(s, &first, &last)) != NN_OK)
    goto fail;
  if ((rc = nn_st_commit(s)) != NN_OK)
    goto fail;
  if (last)
    add_ids(s, first, last);
  s->log.n = 0;
  s->log_rows = 0;
  rc = NN_OK;
  goto unbind;
fail:
  nn_st_rollback(s);    /* the rows stay buffered for the next flush */
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
      (rc = find_label(s, row->labelmap_id, idx, &label, &label_len)) != NN_OK)
    return rc;
  memset(&r, 0, sizeof r);
  r.id = id;
  r.ts = now;
  r.version_id = row->version_id;
  r.labelmap_id = row->labelmap_id;
  r.pred_idx = (int64_t)idx + 1;
  r.score = (double)row->y[idx];   /* finite: nn_store_log checked */
  if (nn_buf_add(b, &r, sizeof r))
    goto nomem;
  mark = b->n;
  if (nn_buf_json_floats(b, row->x, row->n_x))
    goto nomem;
  r.len[0] = b->n - mark;
  mark = b->n;
  if (nn_buf_json_floats(b, row->y, row->n_y))
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
  return NN_OK;
nomem:
  b->n = start;
  return nn_st_nomem(s);
}

/* Refuse a text that SQL would cut at a zero byte, or that SQLite would
** refuse as too long, naming it. */
static int check_text(nn_store *s, const char *what, const char *text, size_t len) {
  if (!text)
    return NN_OK;   /* none */
  if (memchr(text, '\0', len))
    return nn_st_fail(s, NN_ERROR, "%s contains a zero byte", what);
  return nn_st_check_length(s, what, len);
}

/* What SQLite would refuse in the row buffered at off, before it is kept:
** a text, or the whole row, longer than its limit. */
static int check_row(nn_store *s, const nn_store_row *row, size_t off) {
  static const char *const what[5] = { "input", "output", "label", "request_id", "tags" };
  size_t total = 0;
  logrec r;
  int i, rc;
  memcpy(&r, s->log.p + off, sizeof r);
  if ((rc = check_text(s, "request_id", row->request_id, row->request_len)) ||
      (rc = check_text(s, "tags", row->tags, row->tags_len)))
    return rc;
  for (i = 0; i < 5; i++) {
    if ((rc = nn_st_check_length(s, what[i], text_len(r.len[i]))) != NN_OK)
      return rc;
    total += text_len(r.len[i]);
  }
  return nn_st_check_length(s, "the prediction row", total + 64);
}

int nn_store_log(nn_store *s, const nn_store_row *row, int64_t *id) {
  int64_t now = nn_st_clock_ms(s->vfs);
  int64_t first = s->log_first_id, last = s->log_last_id, oldest = s->log_oldest_ms;
  size_t start = s->log.n, bad;
  int rc;
  *id = 0;
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (row->n_y == 0)
    return nn_st_fail(s, NN_ERROR, "a prediction needs at least one output");
  if ((bad = nn_nonfinite(row->y, row->n_y)) < row->n_y)
    return nn_st_fail(s, NN_ERROR, "output %zu is %s: an output that is not finite "
                      "has no label, and is not logged", bad + 1,
                      nn_nonfinite_name(row->y[bad]));
  if ((bad = nn_nonfinite(row->x, row->n_x)) < row->n_x)
    return nn_st_fail(s, NN_ERROR, "input %zu is %s: an input that is not finite is "
                      "not logged", bad + 1, nn_nonfinite_name(row->x[bad]));
  if (s->opts.sync) {
    /* The buffer is always empty here: this row alone, written at once or
    ** not at all. */
    if ((rc = buffer_row(s, row, 0, now)) != NN_OK)
      return rc;
    s->log_rows = 1;
    if ((rc = check_row(s, row, 0)) != NN_OK ||
        (rc = nn_store_flush(s)) != NN_OK) {
      s->log.n = 0;
      s->log_rows = 0;
      return rc;
    }
    *id = sqlite3_last_insert_rowid(s->db);
    return NN_OK;
  }
  if ((rc = next_id(s, id)) != NN_OK ||
      (rc = buffer_row(s, row, *id, now)) != NN_OK)
    goto refuse;
  if ((rc = check_row(s, row, start)) != NN_OK)
    goto unbuffer;
  s->id_next++;
  if (s->log_rows++ == 0) {
    s->log_first_id = *id;
    s->log_oldest_ms = now;
  }
  s->log_last_id = *id;
  /* inside the caller's transaction the rows wait for its end */
  if (((int64_t)s->log_rows >= s->opts.flush_rows ||
       now - s->log_oldest_ms >= s->opts.flush_ms) && !nn_st_in_caller_txn(s) &&
      (rc = nn_store_flush(s)) != NN_OK) {
    /* The caller hears of the failure, so this row is not kept: a retry
    ** would log it twice.  The rows logged before it stay buffered under
    ** the ids their calls gave, for the next flush. */
    s->id_next--;
    s->log_rows--;
    s->log_first_id = first;
    s->log_last_id = last;
    s->log_oldest_ms = oldest;
    goto unbuffer;
  }
  return NN_OK;
unbuffer:
  s->log.n = start;
refuse:
  *id = 0;
  return rc;
}

/* Label i (1-based) of map id, or the index of label text in it (0: none). */
static int map_lookup(nn_store *s, int64_t map, const char *text, size_t len,
                      int64_t *idx, const char **label, size_t *label_len) {
  const nn_labelmap *m;
  size_t i, n;
  int rc;
  if ((rc = nn_store_labelmap(s, map, &m)) != NN_OK)
    return rc;
  if (!text) {
    *label = *idx >= 1 && (size_t)*idx <= m->n
      ? nn_labelmap_label(m, (size_t)*idx - 1, label_len) : NULL;
    return NN_OK;
  }
  *idx = 0;
  for (i = 0; i < m->n && !*idx; i++) {
    const char *l = nn_labelmap_label(m, i, &n);
    if (n == len && memcmp(l, text, len) == 0)
      *idx = (int64_t)i + 1;
  }
  return NN_OK;
}

int nn_store_feedback(nn_store *s, int64_t id, int64_t true_idx,
                      const char *label, size_t label_len, int64_t *feedback_id) {
  sqlite3_stmt *info, *st;
  int64_t n_outputs, map;
  const char *text = NULL;
  size_t found_len = 0;
  int rc, row;
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (label && memchr(label, '\0', label_len))
    return nn_st_fail(s, NN_ERROR, "feedback: the label contains a zero byte");
  if (s->log_rows && id >= s->log_first_id && id <= s->log_last_id &&
      (rc = nn_store_flush(s)) != NN_OK)
    return rc;
  /* BEGIN IMMEDIATE waits (busy_timeout) for another writer; a read that
  ** then turned into a write would fail at once instead */
  if ((rc = USE(s, S_FEEDBACK_INFO, &info)) != NN_OK ||
      (rc = USE(s, S_FEEDBACK_INSERT, &st)) != NN_OK ||
      (rc = nn_st_begin(s)) != NN_OK)
    return rc;
  sqlite3_bind_int64(info, 1, id);
  if ((rc = nn_st_step(s, info, &row)) != NN_OK)
    goto done;
  if (!row) {
    rc = nn_st_fail(s, NN_ENOTFOUND, "feedback: no prediction with id %" PRId64, id);
    goto done;
  }
  n_outputs = sqlite3_column_int64(info, 0);
  map = sqlite3_column_int64(info, 1);
  if (label && !map) {
    rc = nn_st_fail(s, NN_ENOTFOUND, "feedback: prediction %" PRId64 " has no label"
                    " map, so '%.*s' means nothing", id, (int)label_len, label);
    goto done;
  }
  if (!label && (true_idx < 1 || true_idx > n_outputs)) {
    rc = nn_st_fail(s, NN_EMISMATCH, "feedback: index %" PRId64 " is not in 1..%"
                    PRId64, true_idx, n_outputs);
    goto done;
  }
  /* the map, checked, through the connection's cache */
  if (map && (rc = map_lookup(s, map, label, label_len, &true_idx, &text,
                              &found_len)) != NN_OK)
    goto done;
  if (label && !true_idx) {
    rc = nn_st_fail(s, NN_ENOTFOUND, "feedback: '%.*s' is not a label of map '%s'",
                    (int)label_len, label, (const char *)sqlite3_column_text(info, 2));
    goto done;
  }
  /* info stays on its row: the map's name is read from there above */
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, nn_st_clock_ms(s->vfs));
  sqlite3_bind_int64(st, 3, true_idx);
  if (label)
    sqlite3_bind_text(st, 4, label, (int)label_len, SQLITE_STATIC);
  else if (text)
    sqlite3_bind_text(st, 4, text, (int)found_len, SQLITE_TRANSIENT);
  rc = nn_st_step(s, st, &row);
  if (rc == NN_OK && feedback_id)
    *feedback_id = (int64_t)sqlite3_last_insert_rowid(s->db);
  nn_st_done(st);
done:
  nn_st_done(info);
  if (rc == NN_OK)
    rc = nn_st_commit(s);
  if (rc != NN_OK)
    nn_st_rollback(s);
  return rc;
}
