/*
** nn_store_train.c: training runs in the store (see nn_store_train.h).
**
** What it implements: the checks a run must pass before anything is
** written, and the rows of nn_training and nn_training_epoch, inserted by
** the hook nn_store_save_with runs inside the version's transaction.
**
** What it is not: no Lua, no JSON parser (the options arrive as JSON text,
** and the schema's CHECK asks SQLite whether they are an object).
**
**   SELECT epoch, loss, val_loss FROM nn_training_epoch WHERE version_id = 7;
*/
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "nn_store_train.h"

#define INSERT_RUN \
  "INSERT INTO nn_training (version_id, options, rows, epochs, best_epoch," \
  " stopped, source, started_at, ended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
#define INSERT_EPOCH \
  "INSERT INTO nn_training_epoch (version_id, epoch, loss, val_loss, val_accuracy, ms)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

/* Everything about run that can be checked without the database. */
int nn_store_check_run(nn_store *s, const nn_train_run *run) {
  size_t i;
  if (!run->stopped || (strcmp(run->stopped, "epochs") != 0 &&
                        strcmp(run->stopped, "patience") != 0 &&
                        strcmp(run->stopped, "callback") != 0))
    return nn_store_fail(s, NN_STORE_ERROR, "training.stopped is '%.20s', not 'epochs', "
                         "'patience' or 'callback'", run->stopped ? run->stopped : "");
  if (run->rows < 0)
    return nn_store_fail(s, NN_STORE_ERROR, "training.rows is %" PRId64 ", not a count",
                         run->rows);
  if (run->best_epoch < 0 || (uint64_t)run->best_epoch > run->n_epochs)
    return nn_store_fail(s, NN_STORE_ERROR, "training.best_epoch is %" PRId64 ", not one "
                         "of the %zu epochs", run->best_epoch, run->n_epochs);
  if ((run->started_at == 0) != (run->ended_at == 0))
    return nn_store_fail(s, NN_STORE_ERROR, "training.started_at and training.ended_at "
                         "come together");
  if (run->ended_at < run->started_at)
    return nn_store_fail(s, NN_STORE_ERROR, "training.ended_at is before "
                         "training.started_at");
  for (i = 0; i < run->n_epochs; i++) {
    const nn_train_epoch *e = &run->epochs[i];
    if (e->epoch != (int64_t)i + 1)
      return nn_store_fail(s, NN_STORE_ERROR, "training.epochs[%zu].epoch is %" PRId64
                           ", not %zu", i + 1, e->epoch, i + 1);
    if (!isfinite(e->loss))
      return nn_store_fail(s, NN_STORE_ERROR, "training.epochs[%zu].loss is not finite",
                           i + 1);
    if (isinf(e->val_loss))
      return nn_store_fail(s, NN_STORE_ERROR, "training.epochs[%zu].val_loss is not "
                           "finite", i + 1);
    if (!isnan(e->val_accuracy) && !(e->val_accuracy >= 0 && e->val_accuracy <= 1))
      return nn_store_fail(s, NN_STORE_ERROR, "training.epochs[%zu].val_accuracy is %g, "
                           "not in [0, 1]", i + 1, e->val_accuracy);
    if (!(e->ms >= 0 && e->ms < 1e15))
      return nn_store_fail(s, NN_STORE_ERROR, "training.epochs[%zu].ms is %g, not a "
                           "duration", i + 1, e->ms);
  }
  return NN_STORE_OK;
}

static void bind_real(sqlite3_stmt *st, int col, double v) {
  if (isnan(v))
    sqlite3_bind_null(st, col);
  else
    sqlite3_bind_double(st, col, v);
}

/* The hook of nn_store_save_with: the run's rows for saved->version_id. */
static int put_run(nn_store *s, const nn_store_saved *saved, void *ctx) {
  const nn_train_run *run = (const nn_train_run *)ctx;
  sqlite3_stmt *st = NULL;
  int64_t started = run->started_at, ended = run->ended_at;
  double total_ms = 0;
  size_t i;
  int rc = NN_STORE_OK;
  if (!ended) {
    for (i = 0; i < run->n_epochs; i++)
      total_ms += run->epochs[i].ms;
    ended = saved->created_at;
    started = ended - (int64_t)llround(total_ms);
  }
  if (sqlite3_prepare_v2(s->db, INSERT_RUN, -1, &st, NULL) != SQLITE_OK)
    return nn_store_db_fail(s);
  if (sqlite3_bind_int64(st, 1, saved->version_id) ||
      sqlite3_bind_text64(st, 2, run->options, run->options_len, SQLITE_STATIC,
                          SQLITE_UTF8) ||
      sqlite3_bind_int64(st, 3, run->rows) ||
      sqlite3_bind_int64(st, 4, (sqlite3_int64)run->n_epochs) ||
      (run->best_epoch && sqlite3_bind_int64(st, 5, run->best_epoch)) ||
      sqlite3_bind_text(st, 6, run->stopped, -1, SQLITE_STATIC) ||
      (run->source && sqlite3_bind_text64(st, 7, run->source, run->source_len,
                                          SQLITE_STATIC, SQLITE_UTF8)) ||
      sqlite3_bind_int64(st, 8, started) ||
      sqlite3_bind_int64(st, 9, ended) ||
      sqlite3_step(st) != SQLITE_DONE)
    rc = nn_store_db_fail(s);   /* a text too long for SQLite, say */
  sqlite3_finalize(st);
  st = NULL;
  if (rc != NN_STORE_OK)
    return rc;
  if (sqlite3_prepare_v2(s->db, INSERT_EPOCH, -1, &st, NULL) != SQLITE_OK)
    return nn_store_db_fail(s);
  for (i = 0; i < run->n_epochs && rc == NN_STORE_OK; i++) {
    const nn_train_epoch *e = &run->epochs[i];
    sqlite3_bind_int64(st, 1, saved->version_id);
    sqlite3_bind_int64(st, 2, e->epoch);
    sqlite3_bind_double(st, 3, e->loss);
    bind_real(st, 4, e->val_loss);
    bind_real(st, 5, e->val_accuracy);
    sqlite3_bind_double(st, 6, e->ms);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = nn_store_db_fail(s);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

int nn_store_save_run(nn_store *s, const char *name, const nn_net *net,
                      const char *note, const char *const *labels,
                      const nn_train_run *run, nn_store_saved *out) {
  int rc;
  memset(out, 0, sizeof *out);
  if (!run)
    return nn_store_save(s, name, net, note, labels, out);
  if ((rc = nn_store_check_run(s, run)) != NN_STORE_OK)
    return rc;
  return nn_store_save_with(s, name, net, note, labels, put_run, (void *)run, out);
}
