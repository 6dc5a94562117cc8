/*
** nn_pg_train.c: training runs on PostgreSQL (see nn_pg_int.h).
**
** What it implements: a run written in its version's transaction (the
** extra hook of nn_pg_save_with), its times and digest computed by the
** store's own code (nn_store_run_dated, nn_store_run_digest) so that a run
** has the same digest on either engine, its epochs' doubles sent as the
** shortest text that reads back as the same bits; a run read back with its
** epochs in the server's binary form (exact bits, whatever the locale) and
** its digest checked.  What it is not: the trainer, or the checks of a run
** (nn_store_check_run); no Lua.
**
**   SELECT epoch, loss, val_loss FROM nn_training_epoch WHERE version_id = 7;
*/
#include <math.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

#define CHANGED  "its training run disagrees with its digest (changed outside nn?)"

/* A double as an SQL value, into b: NULL for NaN, else '<shortest>'::float8. */
static int add_double(nn_buf *b, double v) {
  if (isnan(v))
    return nn_buf_add(b, "NULL", 4);
  return nn_buf_add(b, "'", 1) || nn_buf_json_double(b, v) ||
         nn_buf_add(b, "'::float8", 9);
}

/* The epochs of run as one INSERT into pg->scratch (zero-terminated). */
static int epochs_sql(nn_store *s, int64_t version_id, const nn_train_run *run) {
  static const char head[] = "INSERT INTO nn_training_epoch (version_id, epoch, loss,"
                             " val_loss, val_accuracy, ms) VALUES ";
  nn_buf *b = &PG(s)->scratch;
  char id[24], n[24];
  size_t i;
  int bad = 0;
  b->n = 0;
  nn_pg_itoa(id, version_id);
  bad |= nn_buf_add(b, head, sizeof head - 1);
  for (i = 0; i < run->n_epochs; i++) {
    const nn_train_epoch *e = &run->epochs[i];
    nn_pg_itoa(n, e->epoch);
    bad |= nn_buf_add(b, i ? ",(" : "(", i ? 2 : 1) || nn_buf_add(b, id, strlen(id)) ||
           nn_buf_add(b, ",", 1) || nn_buf_add(b, n, strlen(n)) || nn_buf_add(b, ",", 1) ||
           add_double(b, e->loss) || nn_buf_add(b, ",", 1) ||
           add_double(b, e->val_loss) || nn_buf_add(b, ",", 1) ||
           add_double(b, e->val_accuracy) || nn_buf_add(b, ",", 1) ||
           add_double(b, e->ms) || nn_buf_add(b, ")", 1);
  }
  bad |= nn_buf_add(b, "", 1);
  return bad ? nn_store_fail(s, NN_ENOMEM, "out of memory") : NN_OK;
}

/* A text of len bytes, zero-terminated, into pg->text at *at. */
static int keep(nn_store *s, const char *text, size_t len, size_t *at) {
  nn_buf *t = &PG(s)->text;
  *at = t->n;
  if (memchr(text, '\0', len))
    return nn_store_fail(s, NN_ERROR, "a training run's text contains a zero byte");
  if (nn_buf_add(t, text, len) || nn_buf_add(t, "", 1))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  return NN_OK;
}

/* The hook of nn_pg_save_with: the run's rows for saved->version_id. */
static int put_run(nn_store *s, const nn_store_saved *saved, void *ctx) {
  char digest[NN_SHA256_HEX], v[24], rows[24], epochs[24], best[24], from[24], to[24];
  nn_train_run run;
  const char *p[10];
  size_t options_at, source_at = 0;
  int rc;
  nn_store_run_dated((const nn_train_run *)ctx, saved->created_at, &run);
  nn_store_run_digest(digest, saved->model, saved->version, &run, (int64_t)run.n_epochs);
  PG(s)->text.n = 0;
  if ((rc = keep(s, run.options, run.options_len, &options_at)) != NN_OK ||
      (run.source && (rc = keep(s, run.source, run.source_len, &source_at)) != NN_OK))
    return rc;
  p[0] = nn_pg_itoa(v, saved->version_id);
  p[1] = PG(s)->text.p + options_at;
  p[2] = nn_pg_itoa(rows, run.rows);
  p[3] = nn_pg_itoa(epochs, (int64_t)run.n_epochs);
  p[4] = run.best_epoch ? nn_pg_itoa(best, run.best_epoch) : NULL;
  p[5] = run.stopped;
  p[6] = run.source ? PG(s)->text.p + source_at : NULL;
  p[7] = nn_pg_itoa(from, run.started_at);
  p[8] = nn_pg_itoa(to, run.ended_at);
  p[9] = digest;
  if ((rc = nn_pg_run(s, "INSERT INTO nn_training (version_id, options, rows, epochs,"
                      " best_epoch, stopped, source, started_at, ended_at, digest)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, p)) != NN_OK ||
      (rc = nn_pg_fact_added(s, saved->model_id, NN_FACT_RUN, saved->version_id, 0,
                             NULL)) != NN_OK ||
      run.n_epochs == 0)
    return rc;
  if ((rc = epochs_sql(s, saved->version_id, &run)) != NN_OK)
    return rc;
  return nn_pg_run(s, PG(s)->scratch.p, 0, NULL);
}

int nn_pg_save_run(nn_store *s, const char *name, const nn_net *net, const char *note,
                   const char *const *labels, const nn_train_run *run,
                   nn_store_saved *out) {
  return nn_pg_save_with(s, name, net, note, labels, put_run, (void *)run, out);
}

/* ------------------------------------------------------------------------
** Reading a run back
*/

/* A big-endian 8-byte value of the binary result: an int8 or a float8. */
static uint64_t be64(const char *p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v = v << 8 | (unsigned char)p[i];
  return v;
}

static double be_double(PGresult *res, int row, int col) {
  uint64_t bits;
  double d;
  if (PQgetisnull(res, row, col))
    return NAN;
  bits = be64(PQgetvalue(res, row, col));
  memcpy(&d, &bits, sizeof d);
  return d;
}

/* The epochs of version_id, in order, into s->blob; *n their count. */
static int read_epochs(nn_store *s, int64_t version_id, size_t *n) {
  char id[24];
  const char *p[1] = { nn_pg_itoa(id, version_id) };
  PGresult *res = PQexecParams(PG(s)->conn, "SELECT epoch, loss, val_loss, val_accuracy,"
                               " ms FROM nn_training_epoch WHERE version_id = $1"
                               " ORDER BY epoch", 1, NULL, p, NULL, NULL, 1);
  int i;
  if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
    return nn_pg_result_fail(s, res, NULL);
  s->blob.n = 0;
  for (i = 0; i < PQntuples(res); i++) {
    nn_train_epoch e;
    e.epoch = (int64_t)be64(PQgetvalue(res, i, 0));
    e.loss = be_double(res, i, 1);
    e.val_loss = be_double(res, i, 2);
    e.val_accuracy = be_double(res, i, 3);
    e.ms = be_double(res, i, 4);
    if (nn_buf_add(&s->blob, &e, sizeof e)) {
      PQclear(res);
      return nn_store_fail(s, NN_ENOMEM, "out of memory");
    }
  }
  *n = (size_t)PQntuples(res);
  PQclear(res);
  return NN_OK;
}

/* Column col of res's row as text kept in s->text, its offset in *at. */
static int keep_column(nn_store *s, PGresult *res, int col, size_t *at, size_t *len) {
  *len = (size_t)PQgetlength(res, 0, col);
  *at = s->text.n;
  if (nn_buf_add(&s->text, PQgetvalue(res, 0, col), *len) || nn_buf_add(&s->text, "", 1))
    return nn_store_fail(s, NN_ENOMEM, "out of memory");
  return NN_OK;
}

/* The texts and numbers of the run's row into *run (texts in s->text). */
static int run_of_row(nn_store *s, PGresult *res, nn_train_run *run) {
  size_t options_at, stopped_at, source_at = 0, stopped_len;
  int rc, has_source = !PQgetisnull(res, 0, 7);
  s->text.n = 0;
  run->rows = nn_pg_int(res, 0, 3);
  run->best_epoch = nn_pg_int(res, 0, 5);
  run->started_at = nn_pg_int(res, 0, 8);
  run->ended_at = nn_pg_int(res, 0, 9);
  if ((rc = keep_column(s, res, 2, &options_at, &run->options_len)) != NN_OK ||
      (rc = keep_column(s, res, 6, &stopped_at, &stopped_len)) != NN_OK ||
      (has_source && (rc = keep_column(s, res, 7, &source_at, &run->source_len)) != NN_OK))
    return rc;
  run->options = s->text.p + options_at;
  run->stopped = s->text.p + stopped_at;
  run->source = has_source ? s->text.p + source_at : NULL;
  return NN_OK;
}

int nn_pg_read_run(nn_store *s, const nn_store_version *v, nn_train_run *run, int *found) {
  char id[24], digest[NN_SHA256_HEX];
  const char *p[1] = { nn_pg_itoa(id, v->version_id) };
  PGresult *res;
  int rc = nn_pg_exec(s, "SELECT coalesce(m.name, ''), v.version, t.options, t.rows, t.epochs,"
                      " coalesce(t.best_epoch, 0), t.stopped, t.source, t.started_at,"
                      " t.ended_at, t.digest FROM nn_training AS t JOIN nn_version AS v"
                      " USING (version_id) LEFT JOIN nn_model AS m USING (model_id)"
                      " WHERE t.version_id = $1", 1, p, &res);
  memset(run, 0, sizeof *run);
  *found = 0;
  if (rc != NN_OK)
    return rc;
  if (!PQntuples(res)) {
    PQclear(res);
    return NN_OK;
  }
  if ((rc = run_of_row(s, res, run)) == NN_OK &&
      (rc = read_epochs(s, v->version_id, &run->n_epochs)) == NN_OK) {
    run->epochs = (const nn_train_epoch *)(void *)s->blob.p;
    nn_store_run_digest(digest, PQgetvalue(res, 0, 0), nn_pg_int(res, 0, 1), run,
                        nn_pg_int(res, 0, 4));
    if (strcmp(digest, PQgetvalue(res, 0, 10)) != 0)
      rc = nn_store_invalid(s, v, CHANGED);
  }
  PQclear(res);
  if (rc != NN_OK) {
    memset(run, 0, sizeof *run);
    return rc;
  }
  *found = 1;
  return NN_OK;
}
