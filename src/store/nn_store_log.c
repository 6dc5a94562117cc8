/*
** nn_store_log.c: the prediction log (nn_store_log, nn_store_flush and
** nn_store_feedback in nn_store.h).
**
** What it implements: rows wait in a buffer of the store (no transaction is
** held between calls) and are written in one transaction at a time, many
** rows a statement, predictions first, then feedback.  Their ids are known
** before they are written: the store reserves blocks of ids in
** sqlite_sequence, which every other writer of the AUTOINCREMENT tables
** skips past.  The writes a call sets off never wait: one try (busy
** timeout 0), and when another process holds the lock the rows wait for a
** later call, up to max_pending of them; then on_full decides (fail, wait
** busy_timeout, or drop and count).  A call either records its row and
** gives its id, or fails and leaves nothing of it behind, even when the
** write it set off fails.  What it is not: label maps are read through
** nn_store_labels.c's cache; no Lua.
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
  /* the same three for feedback ids */
  [S_FB_SEQ_INIT] =
  "INSERT INTO sqlite_sequence (name, seq) VALUES ('nn_feedback',"
  " (SELECT coalesce(max(feedback_id), 0) FROM nn_feedback) + ?1)",
  [S_FB_SEQ_BUMP] =
  "UPDATE sqlite_sequence SET seq = max(seq,"
  " (SELECT coalesce(max(feedback_id), 0) FROM nn_feedback)) + ?1"
  " WHERE name = 'nn_feedback'",
  [S_FB_SEQ_READ] = "SELECT seq FROM sqlite_sequence WHERE name = 'nn_feedback'",
  /* the prediction's outputs, label map and its name */
  [S_FEEDBACK_INFO] =
  "SELECT v.n_outputs, p.labelmap_id, l.name"
  " FROM nn_prediction AS p"
  " JOIN nn_version AS v ON v.version_id = p.version_id"
  " LEFT JOIN nn_labelmap AS l ON l.labelmap_id = p.labelmap_id"
  " WHERE p.prediction_id = ?1",
  /* the same of a prediction still in the buffer, from its version and map */
  [S_FEEDBACK_PENDING] =
  "SELECT v.n_outputs, l.labelmap_id, l.name FROM nn_version AS v"
  " LEFT JOIN nn_labelmap AS l ON l.labelmap_id = ?2"
  " WHERE v.version_id = ?1",
  /* ?1 NULL: AUTOINCREMENT chooses (sync) */
  [S_FEEDBACK_INSERT] =
  "INSERT INTO nn_feedback (feedback_id, prediction_id, ts, true_idx, true_label)"
  " VALUES (?1, ?2, ?3, ?4, ?5)"
};

#define USE(s, slot, st)  nn_st_use(s, slot, sql[slot], st)

/* A buffered row is a logrec followed by its texts: input and output as
** JSON arrays, then its label, request_id and tags, each len[] bytes
** (NO_TEXT: NULL).  Headers are copied in and out with memcpy, so records
** need no alignment.
*/

#define NO_TEXT  ((size_t)-1)
#define ALL      ((size_t)-1)   /* write_pending's limit: every row */
/* After a write that left rows behind (a backlog from a long lock), the
** next write a call sets off waits this long: the backlog drains a chunk
** at a time, at most one in a frame of a game, yet far faster than any
** game logs. */
#define DRAIN_MS  5

/* A buffered feedback row: a fbrec followed by its label (NO_TEXT: NULL). */
typedef struct fbrec {
  int64_t id;                /* 0: let AUTOINCREMENT choose (sync) */
  int64_t prediction_id, ts, true_idx;
  size_t label_len;
} fbrec;

/* The tables whose ids a store reserves: s->ids[kind], and the slots of
** their statements (init, bump, read). */
enum { K_PREDICTION, K_FEEDBACK };
static const int seq_slot[2][3] = {
  { S_SEQ_INIT, S_SEQ_BUMP, S_SEQ_READ },
  { S_FB_SEQ_INIT, S_FB_SEQ_BUMP, S_FB_SEQ_READ }
};
static const char *const kind_name[2] = { "prediction", "feedback" };

typedef struct logrec {
  int64_t id;                /* 0: let AUTOINCREMENT choose (sync) */
  int64_t ts, version_id, labelmap_id, pred_idx;
  int64_t n_outputs;         /* for feedback given while the row waits */
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

/* Ids a block reserves: enough for every row the log may hold while the
** lock is another's, and for a flush's worth. */
static int64_t id_block(const nn_store *s) {
  int64_t block = s->opts.flush_rows > 256 ? s->opts.flush_rows : 256;
  return block > s->opts.max_pending ? block : s->opts.max_pending;
}

/* Reserve a block of ids of kind inside the caller's write transaction. */
static int reserve_ids(nn_store *s, int kind, int64_t *first, int64_t *last) {
  int64_t block = id_block(s);
  sqlite3_stmt *st;
  int rc, row, which;
  for (which = 1; ; which = 0) {   /* bump, else init */
    if ((rc = USE(s, seq_slot[kind][which], &st)) != NN_OK)
      return rc;
    sqlite3_bind_int64(st, 1, block);
    rc = nn_st_step(s, st, &row);
    nn_st_done(st);
    if (rc != NN_OK)
      return rc;
    if (which == 0 || sqlite3_changes(s->db) > 0)
      break;
  }
  if ((rc = USE(s, seq_slot[kind][2], &st)) != NN_OK)
    return rc;
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && !row)
    rc = nn_st_fail(s, NN_ERROR, "sqlite_sequence has no row for nn_%s", kind_name[kind]);
  if (rc == NN_OK) {
    *last = sqlite3_column_int64(st, 0);
    *first = *last - block + 1;
  }
  nn_st_done(st);
  return rc;
}

/* Take a reserved block, once the transaction that reserved it committed. */
static void add_ids(nn_idblock *b, int64_t first, int64_t last) {
  if (first == b->end)                  /* nobody else reserved in between */
    b->end = last + 1;
  else if (b->next == b->end) {
    b->next = first;
    b->end = last + 1;
  } else {
    b->spare_next = first;
    b->spare_end = last + 1;
  }
}

/* BEGIN IMMEDIATE, waiting up to timeout_ms for another writer; what it
** found counted. */
static int begin_within(nn_store *s, int timeout_ms) {
  int rc;
  if (nn_st_in_caller_txn(s))
    return nn_st_begin(s);   /* its message */
  sqlite3_busy_timeout(s->db, timeout_ms);
  rc = nn_st_begin(s);
  sqlite3_busy_timeout(s->db, s->opts.busy_timeout_ms);
  if (rc == NN_EBUSY)
    s->stats.busy++;
  else if (rc != NN_OK)
    s->stats.failed++;
  return rc;
}

/* Inside a write transaction: fewer ids of a kind left than the log may
** need while the lock is another's (none at first, for feedback too):
** reserve them now, rather than in a transaction of their own in the
** middle of a frame, or while another process holds the lock.  got[kind]:
** the block reserved, 0 none. */
static int reserve_ahead(nn_store *s, int64_t got[2][2]) {
  int64_t need = s->opts.flush_rows > s->opts.max_pending
    ? s->opts.flush_rows : s->opts.max_pending;
  int kind, rc;
  for (kind = K_PREDICTION; kind <= K_FEEDBACK; kind++) {
    const nn_idblock *b = &s->ids[kind];
    got[kind][0] = got[kind][1] = 0;
    if (s->opts.sync || b->spare_next < b->spare_end || b->end - b->next >= need)
      continue;   /* enough */
    if ((rc = reserve_ids(s, kind, &got[kind][0], &got[kind][1])) != NN_OK)
      return rc;
  }
  return NN_OK;
}

/* Take the blocks reserve_ahead reserved, once their transaction
** committed. */
static void add_reserved(nn_store *s, int64_t got[2][2]) {
  int kind;
  for (kind = K_PREDICTION; kind <= K_FEEDBACK; kind++)
    if (got[kind][1])
      add_ids(&s->ids[kind], got[kind][0], got[kind][1]);
}

/* The next reserved id of kind, reserving a block (a transaction of its
** own, waiting up to timeout_ms for the lock) when none is left. */
static int next_id(nn_store *s, int kind, int timeout_ms, int64_t *id) {
  nn_idblock *b = &s->ids[kind];
  int64_t got[2][2];
  int rc;
  if (b->next == b->end && b->spare_next < b->spare_end) {
    b->next = b->spare_next;
    b->end = b->spare_end;
    b->spare_next = b->spare_end = 0;
  }
  if (b->next == b->end) {
    if ((rc = begin_within(s, timeout_ms)) != NN_OK)
      return rc;
    if ((rc = reserve_ahead(s, got)) != NN_OK || (rc = nn_st_commit(s)) != NN_OK) {
      s->stats.failed++;
      nn_st_rollback(s);
      return rc;
    }
    add_reserved(s, got);
  }
  *id = b->next;
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

/* The offset of the record after the one at off in the log buffer. */
static size_t next_record(const char *log, size_t off) {
  logrec r;
  size_t i, n = sizeof r;
  memcpy(&r, log + off, sizeof r);
  for (i = 0; i < 5; i++)
    n += text_len(r.len[i]);
  return off + n;
}

/* Inside the write transaction: the first n buffered predictions, many a
** statement; *end: the offset of the record after them. */
static int write_predictions(nn_store *s, size_t n, size_t *end) {
  sqlite3_stmt *one, *batch = NULL;
  size_t off = 0, left, i;
  int rc = NN_OK, row;
  *end = 0;
  if (n == 0)
    return NN_OK;
  if ((rc = USE(s, S_PREDICTION_INSERT, &one)) != NN_OK ||
      (n >= LOG_BATCH && (rc = USE(s, S_PREDICTION_BATCH, &batch)) != NN_OK))
    return rc;
  for (left = n; left > 0 && rc == NN_OK; left -= i) {
    sqlite3_stmt *st = left >= LOG_BATCH ? batch : one;
    for (i = 0; i < (st == batch ? LOG_BATCH : 1); i++)
      off = bind_row(st, (int)i * LOG_COLUMNS, s->log.p, off);
    rc = nn_st_step(s, st, &row);
    sqlite3_reset(st);
  }
  /* no pointer into the log buffer outlives the write */
  sqlite3_clear_bindings(one);
  if (batch)
    sqlite3_clear_bindings(batch);
  *end = off;
  return rc;
}

/* The first n predictions written: the rest moved to the front. */
static void drop_written(nn_store *s, size_t n, size_t end) {
  logrec r;
  if (n == s->log_rows) {
    s->log.n = 0;
    s->log_rows = 0;
    return;
  }
  memmove(s->log.p, s->log.p + end, s->log.n - end);
  s->log.n -= end;
  s->log_rows -= n;
  memcpy(&r, s->log.p, sizeof r);
  s->log_first_id = r.id;
  s->log_oldest_ms = r.ts;
}

/* Inside the write transaction: the buffered feedback, after the
** predictions it may answer. */
static int write_feedback(nn_store *s) {
  sqlite3_stmt *st;
  size_t off = 0, i;
  int rc = NN_OK, row;
  fbrec r;
  if (s->fb_rows == 0)
    return NN_OK;
  if ((rc = USE(s, S_FEEDBACK_INSERT, &st)) != NN_OK)
    return rc;
  for (i = 0; i < s->fb_rows && rc == NN_OK; i++) {
    memcpy(&r, s->fb.p + off, sizeof r);
    if (r.id)
      sqlite3_bind_int64(st, 1, r.id);
    else
      sqlite3_bind_null(st, 1);
    sqlite3_bind_int64(st, 2, r.prediction_id);
    sqlite3_bind_int64(st, 3, r.ts);
    sqlite3_bind_int64(st, 4, r.true_idx);
    bind_text(st, 5, s->fb.p + off + sizeof r, r.label_len);
    rc = nn_st_step(s, st, &row);
    sqlite3_reset(st);
    off += sizeof r + text_len(r.label_len);
  }
  sqlite3_clear_bindings(st);
  return rc;
}

/* The buffered rows, in one transaction that waits up to timeout_ms for
** the lock: the first limit predictions (the rest wait for the next
** write), and the feedback once every prediction is in.  A write after a
** long lock so costs a call no more than one of flush_rows rows.  On
** failure the rows stay buffered for the next write. */
static int write_pending(nn_store *s, int timeout_ms, size_t limit) {
  size_t n = s->log_rows < limit ? s->log_rows : limit, end;
  size_t fb = n == s->log_rows ? s->fb_rows : 0;
  int64_t got[2][2];
  int rc;
  if (n + fb == 0)
    return NN_OK;
  if ((rc = begin_within(s, timeout_ms)) != NN_OK)
    return rc;
  if ((rc = write_predictions(s, n, &end)) != NN_OK ||
      (fb && (rc = write_feedback(s)) != NN_OK) ||
      (rc = reserve_ahead(s, got)) != NN_OK || (rc = nn_st_commit(s)) != NN_OK) {
    s->stats.failed++;
    nn_st_rollback(s);    /* the rows stay buffered for the next write */
    return rc;
  }
  add_reserved(s, got);
  s->stats.written += (int64_t)(n + fb);
  s->stats.writes++;
  s->drain_ms = n < s->log_rows ? nn_st_clock_ms(s->vfs) + DRAIN_MS : 0;
  drop_written(s, n, end);
  if (fb) {
    s->fb.n = 0;
    s->fb_rows = 0;
  }
  return NN_OK;
}

static size_t pending(const nn_store *s) {
  return s->log_rows + s->fb_rows;
}

int nn_store_flush_within(nn_store *s, int timeout_ms) {
  char err[NN_ERRMAX];
  size_t n = pending(s);
  int rc;
  if (s->engine)
    return s->engine->flush_within(s, timeout_ms);
  if (s->db && s->opts.readonly)
    return NN_OK;   /* nothing can have been logged */
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if ((rc = write_pending(s, timeout_ms < 0 ? 0 : timeout_ms, ALL)) == NN_EBUSY) {
    memcpy(err, s->err, sizeof err);
    nn_st_fail(s, rc, "%zu row%s still pending: %s", n, n == 1 ? "" : "s", err);
  }
  return rc;
}

int nn_store_flush(nn_store *s) {
  return nn_store_flush_within(s, s->opts.busy_timeout_ms);
}

void nn_store_stats_get(const nn_store *s, nn_store_stats *out) {
  if (s->engine) {
    s->engine->stats(s, out);
    return;
  }
  *out = s->stats;
  out->pending = (int64_t)pending(s);
}

/* The most rows a write a call sets off writes: flush_rows, 256 at least,
** so that a backlog drains faster than rows come in. */
static size_t chunk(const nn_store *s) {
  return s->opts.flush_rows > 256 ? (size_t)s->opts.flush_rows : 256;
}

/* The write a call sets off when the rows are due: one try, no wait, one
** chunk.  The lock being another's is no failure: the rows wait for a
** later call. */
static int write_due(nn_store *s, int64_t now) {
  int rc;
  if (nn_st_in_caller_txn(s) || pending(s) == 0 || now < s->drain_ms ||
      ((int64_t)s->log_rows < s->opts.flush_rows && s->fb_rows == 0 &&
       now - s->log_oldest_ms < s->opts.flush_ms))
    return NN_OK;   /* inside the caller's transaction the rows wait for its end */
  rc = write_pending(s, 0, chunk(s));
  return rc == NN_EBUSY ? NN_OK : rc;
}

/* Room for one more row of kind: OK, or what on_full says once max_pending
** rows wait (*drop: drop this row, counted) or when no id of kind is left
** (a block is reserved only under the lock).  *id: the row's id. */
static int room_for(nn_store *s, int kind, int64_t *id, int *drop) {
  int wait = s->opts.on_full == NN_FULL_BLOCK ? s->opts.busy_timeout_ms : 0;
  const char *policy = s->opts.on_full == NN_FULL_BLOCK ? "block" : "error";
  size_t n = pending(s);
  int full = (int64_t)n >= s->opts.max_pending, rc = NN_OK;
  char err[NN_ERRMAX];
  *drop = 0;
  if (full) {
    s->stats.full++;
    if (nn_st_in_caller_txn(s))
      rc = nn_st_fail(s, NN_EBUSY, "a transaction is open on the store's connection");
    else
      rc = write_pending(s, wait, chunk(s));
    if (rc != NN_OK && rc != NN_EBUSY)
      return rc;
  }
  if (rc == NN_OK && (rc = next_id(s, kind, wait, id)) == NN_OK)
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
    return nn_st_fail(s, NN_EBUSY, "the log is full: %zu rows wait to be written"
                      " (max_pending = %" PRId64 ", on_full = '%s'): %s", n,
                      s->opts.max_pending, policy, err);
  return nn_st_fail(s, NN_EBUSY, "no %s id left to give (a store reserves them in the"
                    " file, under its write lock; on_full = '%s'): %s", kind_name[kind],
                    policy, err);
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
  r.n_outputs = (int64_t)row->n_y;
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

/* With opts.sync: row written at once, waiting busy_timeout_ms for the
** lock, or not at all.  The buffer is always empty here. */
static int log_now(nn_store *s, const nn_store_row *row, int64_t now, int64_t *id) {
  int rc;
  if ((rc = buffer_row(s, row, 0, now)) != NN_OK)
    return rc;
  s->log_rows = 1;
  if ((rc = check_row(s, row, 0)) != NN_OK ||
      (rc = write_pending(s, s->opts.busy_timeout_ms, ALL)) != NN_OK) {
    s->log.n = 0;
    s->log_rows = 0;
    return rc;
  }
  *id = sqlite3_last_insert_rowid(s->db);
  return NN_OK;
}

int nn_store_log(nn_store *s, const nn_store_row *row, int64_t *id) {
  int64_t now = nn_st_clock_ms(s->vfs), first, last, oldest;
  size_t start, bad;
  int rc, drop;
  *id = 0;
  if (s->engine)
    return s->engine->log(s, row, id);
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
  if (s->opts.sync)
    return log_now(s, row, now, id);
  if ((rc = room_for(s, K_PREDICTION, id, &drop)) != NN_OK || drop)
    goto refuse;
  /* the buffer as it is once room_for may have written it */
  start = s->log.n;
  first = s->log_first_id;
  last = s->log_last_id;
  oldest = s->log_oldest_ms;
  if ((rc = buffer_row(s, row, *id, now)) != NN_OK)
    goto refuse;
  if ((rc = check_row(s, row, start)) != NN_OK)
    goto unbuffer;
  s->ids[K_PREDICTION].next++;
  if (s->log_rows++ == 0) {
    s->log_first_id = *id;
    s->log_oldest_ms = now;
  }
  s->log_last_id = *id;
  if ((rc = write_due(s, now)) != NN_OK) {
    /* The caller hears of the failure, so this row is not kept: a retry
    ** would log it twice.  The rows logged before it stay buffered under
    ** the ids their calls gave, for the next write. */
    s->ids[K_PREDICTION].next--;
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

/* The prediction id still in the log buffer, into *r: 1, or 0 when it is
** not there. */
static int find_pending(const nn_store *s, int64_t id, logrec *r) {
  size_t off = 0;
  if (!s->log_rows || id < s->log_first_id || id > s->log_last_id)
    return 0;
  for (; off < s->log.n; off = next_record(s->log.p, off)) {
    memcpy(r, s->log.p + off, sizeof *r);
    if (r->id == id)
      return 1;
  }
  return 0;
}

/* Step *info to prediction id's outputs, label map id and the map's name,
** read from the file, or from the buffer for a row that waits there; a
** read, which never waits for another writer's lock.  NOTFOUND when there
** is no such prediction. */
static int prediction_info(nn_store *s, int64_t id, sqlite3_stmt **info) {
  logrec r;
  int rc, row, waiting = find_pending(s, id, &r);
  if ((rc = USE(s, waiting ? S_FEEDBACK_PENDING : S_FEEDBACK_INFO, info)) != NN_OK)
    return rc;
  sqlite3_bind_int64(*info, 1, waiting ? r.version_id : id);
  if (waiting)
    sqlite3_bind_int64(*info, 2, r.labelmap_id);
  if ((rc = nn_st_step(s, *info, &row)) == NN_OK && !row)
    rc = nn_st_fail(s, NN_ENOTFOUND, "feedback: no prediction with id %" PRId64, id);
  return rc;
}

/* The true answer to prediction id, checked against info's row: *true_idx
** (1-based) and its label copied into s->text (*has_label 0: none). */
static int check_truth(nn_store *s, sqlite3_stmt *info, int64_t id, int64_t *true_idx,
                       const char *label, size_t label_len, int *has_label) {
  int64_t n_outputs = sqlite3_column_int64(info, 0), map = sqlite3_column_int64(info, 1);
  const char *text = NULL;
  size_t found_len = 0;
  int rc;
  if (label && !map)
    return nn_st_fail(s, NN_ENOTFOUND, "feedback: prediction %" PRId64 " has no label"
                      " map, so '%.*s' means nothing", id, (int)label_len, label);
  if (!label && (*true_idx < 1 || *true_idx > n_outputs))
    return nn_st_fail(s, NN_EMISMATCH, "feedback: index %" PRId64 " is not in 1..%"
                      PRId64, *true_idx, n_outputs);
  /* the map, checked, through the connection's cache */
  if (map && (rc = map_lookup(s, map, label, label_len, true_idx, &text,
                              &found_len)) != NN_OK)
    return rc;
  if (label && !*true_idx)
    return nn_st_fail(s, NN_ENOTFOUND, "feedback: '%.*s' is not a label of map '%s'",
                      (int)label_len, label, (const char *)sqlite3_column_text(info, 2));
  if (label) {
    text = label;
    found_len = label_len;
  }
  s->text.n = 0;
  *has_label = text != NULL;
  if (text && nn_buf_add(&s->text, text, found_len))
    return nn_st_nomem(s);
  return NN_OK;
}

/* Buffer feedback (its label in s->text when has_label) under id (0:
** AUTOINCREMENT's choice); on failure the buffer is as it was. */
static int buffer_feedback(nn_store *s, int64_t id, int64_t prediction_id,
                           int64_t true_idx, int has_label) {
  size_t start = s->fb.n;
  fbrec r;
  memset(&r, 0, sizeof r);
  r.id = id;
  r.prediction_id = prediction_id;
  r.ts = nn_st_clock_ms(s->vfs);
  r.true_idx = true_idx;
  r.label_len = has_label ? s->text.n : NO_TEXT;
  if (nn_buf_add(&s->fb, &r, sizeof r) ||
      (has_label && nn_buf_add(&s->fb, s->text.p, s->text.n))) {
    s->fb.n = start;
    return nn_st_nomem(s);
  }
  s->fb_rows++;
  return NN_OK;
}

/* The checked feedback buffered under a reserved id (0: dropped), and
** written at once when the lock is free; with opts.sync, written at once
** waiting busy_timeout_ms, or not at all. */
static int record_feedback(nn_store *s, int64_t pred, int64_t true_idx, int has_label,
                           int64_t *feedback_id) {
  size_t start;
  int64_t id = 0;
  int rc, drop = 0;
  if (!s->opts.sync &&
      ((rc = room_for(s, K_FEEDBACK, &id, &drop)) != NN_OK || drop))
    return rc;
  start = s->fb.n;   /* once room_for may have written the buffer */
  if ((rc = buffer_feedback(s, id, pred, true_idx, has_label)) != NN_OK)
    return rc;
  if (s->opts.sync)
    rc = write_pending(s, s->opts.busy_timeout_ms, ALL);
  else {
    s->ids[K_FEEDBACK].next++;
    if ((rc = write_due(s, nn_st_clock_ms(s->vfs))) != NN_OK)
      s->ids[K_FEEDBACK].next--;
  }
  if (rc != NN_OK) {   /* not kept: the caller hears of it */
    s->fb.n = start;
    s->fb_rows--;
    return rc;
  }
  *feedback_id = s->opts.sync ? (int64_t)sqlite3_last_insert_rowid(s->db) : id;
  return NN_OK;
}

int nn_store_feedback(nn_store *s, int64_t id, int64_t true_idx,
                      const char *label, size_t label_len, int64_t *feedback_id) {
  sqlite3_stmt *info;
  int64_t got = 0;
  int rc, has_label = 0;
  if (s->engine)
    return s->engine->feedback(s, id, true_idx, label, label_len, feedback_id);
  if ((rc = nn_st_writable(s)) != NN_OK)
    return rc;
  if (label && memchr(label, '\0', label_len))
    return nn_st_fail(s, NN_ERROR, "feedback: the label contains a zero byte");
  if (nn_st_in_caller_txn(s))
    return nn_st_begin(s);   /* refused, with its message */
  rc = prediction_info(s, id, &info);
  if (rc == NN_OK)
    rc = check_truth(s, info, id, &true_idx, label, label_len, &has_label);
  if (info)
    nn_st_done(info);   /* no read open across the write below */
  if (rc == NN_OK)
    rc = record_feedback(s, id, true_idx, has_label, &got);
  if (feedback_id)
    *feedback_id = rc == NN_OK ? got : 0;
  return rc;
}
