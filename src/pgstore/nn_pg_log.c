/*
** nn_pg_log.c: the prediction log and feedback on PostgreSQL (see
** nn_pg_int.h).
**
** What it implements: rows kept in memory as lines of COPY's text format
** and written in one transaction of two COPYs (predictions, then the
** feedback that may answer them) every flush_rows rows or flush_ms, on
** flush and on close, as on SQLite; ids handed out at once from blocks of
** NN_PG_BLOCK reserved from a sequence (nextval gives a block's first id),
** so that any number of writers log without a round trip per row and never
** collide, max_pending of each kind reserved ahead by each write.  A server
** that is down (or a connection cut) is to the log what another writer's
** lock is on SQLite: the rows wait, a write is tried again on a later call,
** max_pending and on_full bound them, flush says how many wait.  A COMMIT
** whose answer was lost is settled before the next write by looking for
** one of its rows: since their ids were given before the write, the rows
** are there once or not at all, never twice.  What it is not: the
** tables' SQL (schema/pg/); no Lua.
**
**   SELECT name, version, n, accuracy FROM nn_accuracy;
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

enum { K_PREDICTION, K_FEEDBACK };
static const char *const kind_name[2] = { "prediction", "feedback" };
static const char *const sequence[2] = {
  "SELECT nextval('nn_prediction_ids') FROM generate_series(1, $1)",
  "SELECT nextval('nn_feedback_ids') FROM generate_series(1, $1)"
};
static const char *const copy_sql[2] = {
  "COPY nn_prediction (prediction_id, ts, version_id, labelmap_id, input, output,"
  " pred_idx, pred_label, score, request_id, tags) FROM STDIN",
  "COPY nn_feedback (feedback_id, prediction_id, ts, true_idx, true_label) FROM STDIN"
};
static const char *const exists_sql[2] = {
  "SELECT 1 FROM nn_prediction WHERE prediction_id = $1",
  "SELECT 1 FROM nn_feedback WHERE feedback_id = $1"
};

static size_t pending(const nn_pg *pg) {
  return pg->log_rows + pg->fb_rows;
}

void nn_pg_stats(const nn_store *s, nn_store_stats *out) {
  *out = s->stats;
  out->pending = (int64_t)pending(PG(s));
}

void nn_pg_free_log(nn_pg *pg) {
  int k;
  nn_buf_free(&pg->log);
  nn_buf_free(&pg->fb);
  nn_buf_free(&pg->log_index);
  for (k = 0; k < 2; k++)
    nn_buf_free(&pg->ids[k].spare);
}

/* ------------------------------------------------------------------------
** Ids
*/

static int64_t reserved(const nn_pg_ids *ids) {
  return ids->end - ids->next + (int64_t)(ids->spare.n / 8) * NN_PG_BLOCK;
}

/* Blocks of kind reserved until max_pending ids wait to be given. */
static int top_up(nn_store *s, int kind) {
  nn_pg_ids *ids = &PG(s)->ids[kind];
  int64_t want = s->opts.max_pending - reserved(ids), blocks;
  char n[24];
  const char *p[1];
  PGresult *res;
  int i, rc;
  if (want <= 0)
    return NN_OK;
  blocks = (want + NN_PG_BLOCK - 1) / NN_PG_BLOCK;
  p[0] = nn_pg_itoa(n, blocks);
  if ((rc = nn_pg_exec(s, sequence[kind], 1, p, &res)) != NN_OK)
    return rc;
  for (i = 0; i < PQntuples(res); i++) {
    int64_t start = nn_pg_int(res, i, 0);
    if (nn_buf_add(&ids->spare, &start, sizeof start)) {
      PQclear(res);
      return nn_store_fail(s, NN_ENOMEM, "out of memory");
    }
  }
  PQclear(res);
  return NN_OK;
}

/* The next id of kind, not yet taken (the caller takes it with take_id). */
static int next_id(nn_store *s, int kind, int64_t *id) {
  nn_pg_ids *ids = &PG(s)->ids[kind];
  int rc;
  if (ids->next == ids->end) {
    if (ids->spare.n == 0 && (rc = top_up(s, kind)) != NN_OK)
      return rc;
    memcpy(&ids->next, ids->spare.p, 8);
    ids->end = ids->next + NN_PG_BLOCK;
    memmove(ids->spare.p, ids->spare.p + 8, ids->spare.n - 8);
    ids->spare.n -= 8;
  }
  *id = ids->next;
  return NN_OK;
}

/* ------------------------------------------------------------------------
** Writing
*/

/* Send the lines of b through a COPY of kind. */
static int copy_rows(nn_store *s, int kind, const nn_buf *b) {
  PGconn *conn = PG(s)->conn;
  PGresult *res = PQexec(conn, copy_sql[kind]);
  if (!res || PQresultStatus(res) != PGRES_COPY_IN)
    return nn_pg_result_fail(s, res, NULL);
  PQclear(res);
  if (PQputCopyData(conn, b->p, (int)b->n) != 1 || PQputCopyEnd(conn, NULL) != 1)
    return nn_pg_conn_fail(s, nn_pg_lost(s) ? NN_EBUSY : NN_ERROR, NULL);
  res = PQgetResult(conn);
  if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
    int rc = nn_pg_result_fail(s, res, NULL);
    while ((res = PQgetResult(conn)) != NULL)
      PQclear(res);
    return rc;
  }
  PQclear(res);
  while ((res = PQgetResult(conn)) != NULL)
    PQclear(res);
  return NN_OK;
}

/* A COMMIT whose answer was lost: were its rows written?  *written 1 when
** one of them is there. */
static int settle(nn_store *s, int *written) {
  nn_pg *pg = PG(s);
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, pg->uncertain_id) };
  PGresult *res;
  int rc = nn_pg_exec(s, exists_sql[pg->uncertain_kind], 1, p, &res);
  *written = 0;
  if (rc != NN_OK)
    return rc;
  *written = PQntuples(res) > 0;
  PQclear(res);
  pg->uncertain = 0;
  return NN_OK;
}

/* The first k bytes of b dropped (b->p is NULL while nothing was ever
** buffered, and memmove may not be given NULL even for no bytes). */
static void drop_front(nn_buf *b, size_t k) {
  if (k > 0)
    memmove(b->p, b->p + k, b->n - k);
  b->n -= k;
}

/* The first log_rows predictions (log_bytes of text) and fb_rows feedback
** rows (fb_bytes) are in the database: out of the buffers. */
static void written(nn_store *s, size_t log_rows, size_t log_bytes, size_t fb_rows,
                    size_t fb_bytes) {
  nn_pg *pg = PG(s);
  size_t index_bytes = log_rows * sizeof(nn_pg_pending);
  s->stats.written += (int64_t)(log_rows + fb_rows);
  s->stats.writes++;
  drop_front(&pg->log, log_bytes);
  drop_front(&pg->log_index, index_bytes);
  drop_front(&pg->fb, fb_bytes);
  pg->log_rows -= log_rows;
  pg->fb_rows -= fb_rows;
}

/* Before a COMMIT: what it holds, to be settled should its answer be lost. */
static void remember(nn_pg *pg) {
  pg->uncertain = 1;
  pg->uncertain_kind = pg->log_rows ? K_PREDICTION : K_FEEDBACK;
  pg->uncertain_id = pg->log_rows
    ? ((const nn_pg_pending *)(const void *)pg->log_index.p)->id
    : (int64_t)strtoll(pg->fb.p, NULL, 10);
  pg->sent[0] = pg->log_rows;
  pg->sent[1] = pg->log.n;
  pg->sent[2] = pg->fb_rows;
  pg->sent[3] = pg->fb.n;
}

/* One transaction: the predictions, then the feedback. */
static int write_once(nn_store *s) {
  nn_pg *pg = PG(s);
  int rc;
  if ((rc = nn_pg_begin(s)) != NN_OK)
    return rc;
  if ((pg->log_rows && (rc = copy_rows(s, K_PREDICTION, &pg->log)) != NN_OK) ||
      (pg->fb_rows && (rc = copy_rows(s, K_FEEDBACK, &pg->fb)) != NN_OK)) {
    nn_pg_rollback(s);
    return rc;
  }
  remember(pg);
  if ((rc = nn_pg_commit(s)) != NN_OK) {
    /* refused: rolled back; lost: settled before the next write */
    pg->uncertain = rc == NN_EBUSY;
    return rc;
  }
  pg->uncertain = 0;
  written(s, pg->log_rows, pg->log.n, pg->fb_rows, pg->fb.n);
  return NN_OK;
}

/* Write every waiting row.  BUSY, the rows kept, while the server cannot
** be reached; any other failure: the rows kept, the status said. */
static int write_pending(nn_store *s) {
  nn_pg *pg = PG(s);
  int rc, done = 0, k;
  if (pending(pg) == 0)
    return NN_OK;
  if (nn_pg_lost(s) && (rc = nn_pg_reconnect(s)) != NN_OK) {
    s->stats.busy++;
    return rc;
  }
  if (pg->uncertain && (rc = settle(s, &done)) != NN_OK)
    return rc;
  if (done)
    written(s, pg->sent[0], pg->sent[1], pg->sent[2], pg->sent[3]);
  if (pending(pg) == 0)
    return NN_OK;
  if ((rc = write_once(s)) == NN_OK) {
    for (k = 0; k < 2 && rc == NN_OK; k++)
      rc = top_up(s, k);
    return NN_OK;   /* the rows are in; a top-up that failed is tried again later */
  }
  if (rc == NN_EBUSY)
    s->stats.busy++;
  else
    s->stats.failed++;
  return rc;
}

int nn_pg_flush_within(nn_store *s, int timeout_ms) {
  char err[NN_ERRMAX];
  size_t n = pending(PG(s));
  int rc;
  (void)timeout_ms;   /* nothing waits for a lock: a write is one try */
  if (s->opts.readonly)
    return NN_OK;
  if ((rc = write_pending(s)) != NN_OK) {
    memcpy(err, s->err, sizeof err);
    nn_store_fail(s, rc, "%zu row%s still pending: %s", n, n == 1 ? "" : "s", err);
  }
  return rc;
}

/* The write a call sets off when the rows are due: a server out of reach
** is no failure, the rows wait for a later call. */
static int write_due(nn_store *s, int64_t now) {
  nn_pg *pg = PG(s);
  int rc;
  if (pending(pg) == 0 ||
      ((int64_t)pg->log_rows < s->opts.flush_rows && pg->fb_rows == 0 &&
       now - pg->log_oldest_ms < s->opts.flush_ms))
    return NN_OK;
  rc = write_pending(s);
  return rc == NN_EBUSY ? NN_OK : rc;
}

/* Room for one more row of kind, as on SQLite: OK with *id, or what
** on_full says once max_pending rows wait or no id is left. */
static int room_for(nn_store *s, int kind, int64_t *id, int *drop) {
  const char *policy = s->opts.on_full == NN_FULL_BLOCK ? "block" : "error";
  size_t n = pending(PG(s));
  int full = (int64_t)n >= s->opts.max_pending, rc = NN_OK;
  char err[NN_ERRMAX];
  *drop = 0;
  if (full) {
    s->stats.full++;
    if ((rc = write_pending(s)) != NN_OK && rc != NN_EBUSY)
      return rc;
  }
  if (rc == NN_OK && (rc = next_id(s, kind, id)) == NN_OK)
    return NN_OK;
  if (rc != NN_EBUSY)
    return rc;
  if (!full)
    s->stats.full++;
  if (s->opts.on_full == NN_FULL_DROP) {
    s->stats.dropped++;
    *drop = 1;
    return NN_OK;
  }
  memcpy(err, s->err, sizeof err);
  if (full)
    return nn_store_fail(s, NN_EBUSY, "the log is full: %zu rows wait to be written"
                         " (max_pending = %" PRId64 ", on_full = '%s'): %s", n,
                         s->opts.max_pending, policy, err);
  return nn_store_fail(s, NN_EBUSY, "no %s id left to give (a store reserves them"
                       " from the server; on_full = '%s'): %s", kind_name[kind], policy, err);
}

/* ------------------------------------------------------------------------
** Predictions
*/

/* An integer in decimal. */
static int add_num(nn_buf *b, int64_t v) {
  char text[24];
  nn_pg_itoa(text, v);
  return nn_buf_add(b, text, strlen(text));
}

/* A tab and an integer, or \N for 0 when null0. */
static int add_int(nn_buf *b, int64_t v, int null0) {
  if (nn_buf_add(b, "\t", 1))
    return 1;
  if (null0 && !v)
    return nn_buf_add(b, "\\N", 2);
  return add_num(b, v);
}

/* The row's line: id, ts, version, map, input, output, pred_idx, label,
** score, request_id, tags. */
static int row_line(nn_store *s, const nn_store_row *row, int64_t id, int64_t now) {
  nn_pg *pg = PG(s);
  nn_buf *b = &pg->log;
  size_t best = nn_argmax(row->y, row->n_y), len = 0;
  const char *label = NULL;
  int rc, bad = 0;
  if (row->labelmap_id &&
      (rc = nn_pg_read_label(s, row->labelmap_id, best, &label, &len)) != NN_OK)
    return rc;
  bad |= add_num(b, id);
  bad |= add_int(b, now, 0) || add_int(b, row->version_id, 0) ||
         add_int(b, row->labelmap_id, 1) || nn_buf_add(b, "\t", 1);
  bad |= nn_buf_json_floats(b, row->x, row->n_x) || nn_buf_add(b, "\t", 1);
  bad |= nn_buf_json_floats(b, row->y, row->n_y);
  bad |= add_int(b, (int64_t)best + 1, 0) || nn_buf_add(b, "\t", 1);
  bad |= nn_pg_copy_text(b, label, len) || nn_buf_add(b, "\t", 1);
  bad |= nn_buf_json_double(b, (double)row->y[best]) || nn_buf_add(b, "\t", 1);
  bad |= nn_pg_copy_text(b, row->request_id, row->request_len) || nn_buf_add(b, "\t", 1);
  bad |= nn_pg_copy_text(b, row->tags, row->tags_len) || nn_buf_add(b, "\n", 1);
  return bad ? nn_store_fail(s, NN_ENOMEM, "out of memory") : NN_OK;
}

/* What nn_store_log refuses before anything is kept, as on SQLite. */
static int check_log_row(nn_store *s, const nn_store_row *row) {
  size_t bad;
  if (row->n_y == 0)
    return nn_store_fail(s, NN_ERROR, "a prediction needs at least one output");
  if ((bad = nn_nonfinite(row->y, row->n_y)) < row->n_y)
    return nn_store_fail(s, NN_ERROR, "output %zu is %s: an output that is not finite "
                         "has no label, and is not logged", bad + 1,
                         nn_nonfinite_name(row->y[bad]));
  if ((bad = nn_nonfinite(row->x, row->n_x)) < row->n_x)
    return nn_store_fail(s, NN_ERROR, "input %zu is %s: an input that is not finite is "
                         "not logged", bad + 1, nn_nonfinite_name(row->x[bad]));
  if (row->request_id && memchr(row->request_id, '\0', row->request_len))
    return nn_store_fail(s, NN_ERROR, "request_id contains a zero byte");
  if (row->tags && memchr(row->tags, '\0', row->tags_len))
    return nn_store_fail(s, NN_ERROR, "tags contains a zero byte");
  return NN_OK;
}

int nn_pg_log(nn_store *s, const nn_store_row *row, int64_t *id) {
  nn_pg *pg = PG(s);
  int64_t now = nn_store_clock_ms();
  nn_pg_pending rec;
  size_t start, index_start;
  int rc, drop;
  *id = 0;
  if ((rc = nn_pg_writable(s)) != NN_OK || (rc = check_log_row(s, row)) != NN_OK)
    return rc;
  if ((rc = room_for(s, K_PREDICTION, id, &drop)) != NN_OK || drop)
    return *id = 0, rc;
  start = pg->log.n;
  index_start = pg->log_index.n;
  rec.id = *id;
  rec.labelmap_id = row->labelmap_id;
  rec.n_outputs = (int64_t)row->n_y;
  if ((rc = row_line(s, row, *id, now)) != NN_OK ||
      (nn_buf_add(&pg->log_index, &rec, sizeof rec) &&
       (rc = nn_store_fail(s, NN_ENOMEM, "out of memory")) != NN_OK))
    goto unbuffer;
  pg->ids[K_PREDICTION].next++;
  if (pg->log_rows++ == 0)
    pg->log_oldest_ms = now;
  if (s->opts.sync)
    rc = write_pending(s);
  else
    rc = write_due(s, now);
  if (rc == NN_OK || pg->uncertain)
    return rc;   /* a row in a COMMIT whose answer was lost stays, to be settled */
  /* the caller hears of the failure, so this row is not kept */
  pg->ids[K_PREDICTION].next--;
  pg->log_rows--;
unbuffer:
  pg->log.n = start;
  pg->log_index.n = index_start;
  *id = 0;
  return rc;
}

/* ------------------------------------------------------------------------
** Feedback
*/

/* Prediction id's outputs and label map, from the buffer or the server. */
static int prediction_info(nn_store *s, int64_t id, int64_t *n_outputs, int64_t *map) {
  nn_pg *pg = PG(s);
  const nn_pg_pending *r = (const nn_pg_pending *)(const void *)pg->log_index.p;
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, id) };
  PGresult *res;
  size_t i;
  int rc;
  for (i = 0; i < pg->log_rows; i++)
    if (r[i].id == id) {
      *n_outputs = r[i].n_outputs;
      *map = r[i].labelmap_id;
      return NN_OK;
    }
  if ((rc = nn_pg_exec(s, "SELECT jsonb_array_length(output), coalesce(labelmap_id, 0)"
                       " FROM nn_prediction WHERE prediction_id = $1", 1, p, &res)) != NN_OK)
    return rc;
  if (!PQntuples(res))
    rc = nn_store_fail(s, NN_ENOTFOUND, "feedback: no prediction with id %" PRId64, id);
  else {
    *n_outputs = nn_pg_int(res, 0, 0);
    *map = nn_pg_int(res, 0, 1);
  }
  PQclear(res);
  return rc;
}

/* The true answer checked against the prediction: *true_idx (1-based) and
** its label (NULL: none) in *text, as on SQLite. */
static int check_truth(nn_store *s, int64_t id, int64_t *true_idx, const char *label,
                       size_t label_len, const char **text, size_t *text_len) {
  const nn_pg_map *m = NULL;
  int64_t n_outputs = 0, map = 0;
  size_t i;
  int rc;
  *text = NULL;
  if ((rc = prediction_info(s, id, &n_outputs, &map)) != NN_OK)
    return rc;
  if (label && !map)
    return nn_store_fail(s, NN_ENOTFOUND, "feedback: prediction %" PRId64 " has no label"
                         " map, so '%.*s' means nothing", id, (int)label_len, label);
  if (!label && (*true_idx < 1 || *true_idx > n_outputs))
    return nn_store_fail(s, NN_EMISMATCH, "feedback: index %" PRId64 " is not in 1..%"
                         PRId64, *true_idx, n_outputs);
  if (map && (rc = nn_pg_map_of(s, map, &m)) != NN_OK)
    return rc;
  if (!label)
    return m ? nn_pg_read_label(s, map, (size_t)*true_idx - 1, text, text_len) : NN_OK;
  for (*true_idx = 0, i = 0; i < m->n && !*true_idx; i++) {
    size_t from = i ? m->end[i - 1] : 0;
    if (m->end[i] - from == label_len && memcmp(m->text + from, label, label_len) == 0)
      *true_idx = (int64_t)i + 1;
  }
  if (!*true_idx)
    return nn_store_fail(s, NN_ENOTFOUND, "feedback: '%.*s' is not a label of map '%s'",
                         (int)label_len, label, m->name);
  *text = label;
  *text_len = label_len;
  return NN_OK;
}

/* The feedback's line: id, prediction, ts, true_idx, true_label. */
static int feedback_line(nn_store *s, int64_t id, int64_t pred, int64_t true_idx,
                         const char *text, size_t len) {
  nn_buf *b = &PG(s)->fb;
  int bad = add_num(b, id) ||
            add_int(b, pred, 0) || add_int(b, nn_store_clock_ms(), 0) ||
            add_int(b, true_idx, 0) || nn_buf_add(b, "\t", 1) ||
            nn_pg_copy_text(b, text, len) || nn_buf_add(b, "\n", 1);
  return bad ? nn_store_fail(s, NN_ENOMEM, "out of memory") : NN_OK;
}

int nn_pg_feedback(nn_store *s, int64_t id, int64_t true_idx, const char *label,
                   size_t label_len, int64_t *feedback_id) {
  nn_pg *pg = PG(s);
  const char *text;
  size_t text_len = 0, start;
  int64_t fid = 0;
  int rc, drop;
  if (feedback_id)
    *feedback_id = 0;
  if ((rc = nn_pg_writable(s)) != NN_OK)
    return rc;
  if (label && memchr(label, '\0', label_len))
    return nn_store_fail(s, NN_ERROR, "feedback: the label contains a zero byte");
  if ((rc = check_truth(s, id, &true_idx, label, label_len, &text, &text_len)) != NN_OK ||
      (rc = room_for(s, K_FEEDBACK, &fid, &drop)) != NN_OK || drop)
    return rc;
  start = pg->fb.n;
  if ((rc = feedback_line(s, fid, id, true_idx, text, text_len)) != NN_OK)
    return rc;
  pg->ids[K_FEEDBACK].next++;
  pg->fb_rows++;
  rc = s->opts.sync ? write_pending(s) : write_due(s, nn_store_clock_ms());
  if (rc != NN_OK && !pg->uncertain) {   /* not kept: the caller hears of it */
    pg->ids[K_FEEDBACK].next--;
    pg->fb_rows--;
    pg->fb.n = start;
    return rc;
  }
  if (feedback_id)
    *feedback_id = fid;
  return NN_OK;
}
