/*
** nn_store_train.c: training runs in the store (see nn_store_train.h).
**
** What it implements: the checks a run must pass before anything is
** written; the rows of nn_training and nn_training_epoch, inserted by the
** hook nn_store_save_with runs inside the version's transaction, with the
** run's digest; reading a run back with that digest checked; and
** nn_training_digest, the SQL function a migration fills digests in with.
**
** What it is not: no Lua, no JSON parser (the options arrive as JSON text,
** and the schema's CHECK asks SQLite whether they are an object).
**
**   SELECT epoch, loss, val_loss FROM nn_training_epoch WHERE version_id = 7;
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats/nn_digest.h"
#include "store/nn_store_int.h"
#include "store/nn_store_train.h"

#define INSERT_RUN \
  "INSERT INTO nn_training (version_id, options, rows, epochs, best_epoch," \
  " stopped, source, started_at, ended_at, digest)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
#define INSERT_EPOCH \
  "INSERT INTO nn_training_epoch (version_id, epoch, loss, val_loss, val_accuracy, ms)" \
  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

/* ------------------------------------------------------------------------
** The digest of a run: SHA-256 over its facts and its epochs, laid out by
** formats/nn_digest.c (its head names the model of the version the run
** belongs to, and that version's number, so a run moved to another version
** disagrees).  epochs is the column; the rows follow it, so that an epoch
** row changed, deleted or added disagrees with the digest.
*/

/* The run's own facts: everything but its epoch rows.  epochs: the count
** stored in nn_training.epochs. */
static void digest_head(nn_sha256 *h, const nn_digest_model *m, int64_t version,
                        const nn_train_run *run, int64_t epochs) {
  nn_digest_run r;
  r.version = version;
  r.rows = run->rows;
  r.epochs = epochs;
  r.best_epoch = run->best_epoch;
  r.started_at = run->started_at;
  r.ended_at = run->ended_at;
  r.stopped = run->stopped;
  r.stopped_len = strlen(run->stopped);
  r.options = run->options;
  r.options_len = run->options_len;
  r.source = run->source;
  r.source_len = run->source_len;
  nn_digest_run_head(h, m, &r);
}

static void digest_epoch(nn_sha256 *h, const nn_train_epoch *e) {
  nn_digest_run_epoch(h, e->epoch, e->loss, e->val_loss, e->val_accuracy, e->ms);
}

/* Layout 2's model: its name. */
static nn_digest_model named(const char *model) {
  nn_digest_model m;
  m.name = model ? model : "";
  m.name_len = strlen(m.name);
  m.id = 0;
  return m;
}

/* An epoch row of EPOCHS_OF (columns 0..4) as stored; a NULL REAL is NAN. */
static void epoch_of_row(sqlite3_stmt *st, nn_train_epoch *e) {
  int i;
  double *real[4];
  real[0] = &e->loss;
  real[1] = &e->val_loss;
  real[2] = &e->val_accuracy;
  real[3] = &e->ms;
  e->epoch = sqlite3_column_int64(st, 0);
  for (i = 0; i < 4; i++)
    *real[i] = sqlite3_column_type(st, i + 1) == SQLITE_NULL ? NAN
               : sqlite3_column_double(st, i + 1);
}

/* The epoch rows of a run in order, and whether each holds what nn writes:
** an INTEGER epoch, REAL loss and ms, REAL or NULL val_loss and
** val_accuracy. */
#define EPOCHS_OF \
  "SELECT epoch, loss, val_loss, val_accuracy, ms," \
  " typeof(epoch) = 'integer' AND typeof(loss) = 'real' AND typeof(ms) = 'real'" \
  " AND typeof(val_loss) IN ('real', 'null') AND typeof(val_accuracy) IN ('real', 'null')" \
  " FROM nn_training_epoch WHERE version_id = ?1 ORDER BY epoch"

/* nn_training_digest(version_id, options, rows, epochs, best_epoch,
** stopped, source, started_at, ended_at): the digest save stores for that
** run, over the epoch rows nn_training_epoch holds for version_id, for
** tools that write runs in SQL.  nn_training_digest_1, the same in layout
** 1, only while nn.open migrates (schema/004_training_digests.sql fills
** digests in with it, 008_digests_by_name.sql checks them).  The function's
** user data is the layout. */
static void sql_training_digest(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *st = NULL, *ver = NULL;
  int64_t version_id = sqlite3_value_int64(argv[0]), version = 0;
  nn_digest_model m = named(NULL);
  nn_train_run run;
  nn_train_epoch e;
  nn_sha256 h;
  char hex[NN_SHA256_HEX];
  int rc;
  (void)argc;
  memset(&run, 0, sizeof run);
  if (sqlite3_prepare_v2(db, "SELECT v.model_id, v.version, m.name FROM nn_version AS v"
                         " LEFT JOIN nn_model AS m ON m.model_id = v.model_id"
                         " WHERE v.version_id = ?1", -1, &ver, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(ver, 1, version_id);
  if ((rc = sqlite3_step(ver)) == SQLITE_ROW) {
    m = named((const char *)sqlite3_column_text(ver, 2));
    m.id = sqlite3_column_int64(ver, 0);
    version = sqlite3_column_int64(ver, 1);
  } else if (rc != SQLITE_DONE)
    goto fail;
  if (sqlite3_user_data(ctx) == NULL)   /* layout 1 */
    m.name = NULL;
  run.options = (const char *)sqlite3_value_text(argv[1]);
  run.options_len = (size_t)sqlite3_value_bytes(argv[1]);
  run.rows = sqlite3_value_int64(argv[2]);
  run.best_epoch = sqlite3_value_int64(argv[4]);
  run.stopped = (const char *)sqlite3_value_text(argv[5]);
  if (sqlite3_value_type(argv[6]) != SQLITE_NULL) {
    run.source = (const char *)sqlite3_value_text(argv[6]);
    run.source_len = (size_t)sqlite3_value_bytes(argv[6]);
  }
  run.started_at = sqlite3_value_int64(argv[7]);
  run.ended_at = sqlite3_value_int64(argv[8]);
  if (!run.options)
    run.options = "";
  if (!run.stopped)
    run.stopped = "";
  digest_head(&h, &m, version, &run, sqlite3_value_int64(argv[3]));
  sqlite3_finalize(ver);
  ver = NULL;
  if (sqlite3_prepare_v2(db, EPOCHS_OF, -1, &st, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(st, 1, version_id);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    epoch_of_row(st, &e);
    digest_epoch(&h, &e);
  }
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_finalize(st);
  nn_sha256_hex(&h, hex);
  sqlite3_result_text(ctx, hex, 64, SQLITE_TRANSIENT);
  return;
fail:
  sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
  sqlite3_finalize(ver);
  sqlite3_finalize(st);
}

int nn_st_training_digest_function(sqlite3 *db, int on, int layout) {
  static char layout2;
  /* not deterministic: the answer depends on the rows it reads */
  return sqlite3_create_function_v2(db, layout == 1 ? "nn_training_digest_1"
                                    : "nn_training_digest", 9, SQLITE_UTF8,
                                    layout == 1 ? NULL : &layout2,
                                    on ? sql_training_digest : NULL, NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
** Writing a run
*/

/* Everything about run that can be checked without the database. */
int nn_store_check_run(nn_store *s, const nn_train_run *run) {
  size_t i;
  if (!run->stopped || (strcmp(run->stopped, "epochs") != 0 &&
                        strcmp(run->stopped, "patience") != 0 &&
                        strcmp(run->stopped, "callback") != 0))
    return nn_store_fail(s, NN_ERROR, "training.stopped is '%.20s', not 'epochs', "
                         "'patience' or 'callback'", run->stopped ? run->stopped : "");
  if (run->rows < 0)
    return nn_store_fail(s, NN_ERROR, "training.rows is %" PRId64 ", not a count",
                         run->rows);
  if (run->best_epoch < 0 || (uint64_t)run->best_epoch > run->n_epochs)
    return nn_store_fail(s, NN_ERROR, "training.best_epoch is %" PRId64 ", not one "
                         "of the %zu epochs", run->best_epoch, run->n_epochs);
  if ((run->started_at == 0) != (run->ended_at == 0))
    return nn_store_fail(s, NN_ERROR, "training.started_at and training.ended_at "
                         "come together");
  if (run->ended_at < run->started_at)
    return nn_store_fail(s, NN_ERROR, "training.ended_at is before "
                         "training.started_at");
  for (i = 0; i < run->n_epochs; i++) {
    const nn_train_epoch *e = &run->epochs[i];
    if (e->epoch != (int64_t)i + 1)
      return nn_store_fail(s, NN_ERROR, "training.epochs[%zu].epoch is %" PRId64
                           ", not %zu", i + 1, e->epoch, i + 1);
    if (!isfinite(e->loss))
      return nn_store_fail(s, NN_ERROR, "training.epochs[%zu].loss is not finite",
                           i + 1);
    if (isinf(e->val_loss))
      return nn_store_fail(s, NN_ERROR, "training.epochs[%zu].val_loss is not "
                           "finite", i + 1);
    if (!isnan(e->val_accuracy) && !(e->val_accuracy >= 0 && e->val_accuracy <= 1))
      return nn_store_fail(s, NN_ERROR, "training.epochs[%zu].val_accuracy is %g, "
                           "not in [0, 1]", i + 1, e->val_accuracy);
    if (!(e->ms >= 0 && e->ms < 1e15))
      return nn_store_fail(s, NN_ERROR, "training.epochs[%zu].ms is %g, not a "
                           "duration", i + 1, e->ms);
  }
  return NN_OK;
}

static void bind_real(sqlite3_stmt *st, int col, double v) {
  if (isnan(v))
    sqlite3_bind_null(st, col);
  else
    sqlite3_bind_double(st, col, v);
}

void nn_store_run_dated(const nn_train_run *run, int64_t created_at, nn_train_run *dated) {
  double total_ms = 0;
  size_t i;
  *dated = *run;
  if (run->ended_at)
    return;
  for (i = 0; i < run->n_epochs; i++)
    total_ms += run->epochs[i].ms;
  dated->ended_at = created_at;
  dated->started_at = created_at - (int64_t)llround(total_ms);
}

void nn_store_run_digest(char hex[NN_SHA256_HEX], const char *model, int64_t version,
                         const nn_train_run *run, int64_t epochs) {
  nn_digest_model m = named(model);
  nn_sha256 h;
  size_t i;
  digest_head(&h, &m, version, run, epochs);
  for (i = 0; i < run->n_epochs; i++)
    digest_epoch(&h, &run->epochs[i]);
  nn_sha256_hex(&h, hex);
}

/* The hook of nn_store_save_with: the run's rows for saved->version_id. */
static int put_run(nn_store *s, const nn_store_saved *saved, void *ctx) {
  nn_train_run dated;
  const nn_train_run *run = &dated;
  sqlite3_stmt *st = NULL;
  int64_t started, ended;
  size_t i;
  int rc = NN_OK;
  char digest[NN_SHA256_HEX];
  nn_store_run_dated((const nn_train_run *)ctx, saved->created_at, &dated);
  started = dated.started_at;
  ended = dated.ended_at;
  nn_store_run_digest(digest, saved->model, saved->version, run, (int64_t)run->n_epochs);
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
      sqlite3_bind_text(st, 10, digest, 64, SQLITE_STATIC) ||
      sqlite3_step(st) != SQLITE_DONE)
    rc = nn_store_db_fail(s);   /* a text too long for SQLite, say */
  sqlite3_finalize(st);
  st = NULL;
  if (rc != NN_OK)
    return rc;
  if (sqlite3_prepare_v2(s->db, INSERT_EPOCH, -1, &st, NULL) != SQLITE_OK)
    return nn_store_db_fail(s);
  for (i = 0; i < run->n_epochs && rc == NN_OK; i++) {
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
  if (rc == NN_OK)
    rc = nn_st_fact_added(s, saved->model_id, NN_FACT_RUN, saved->version_id, 0, NULL);
  return rc;
}

int nn_store_save_run(nn_store *s, const char *name, const nn_net *net,
                      const char *note, const char *const *labels,
                      const nn_train_run *run, nn_store_saved *out) {
  int rc;
  memset(out, 0, sizeof *out);
  if (!run)
    return nn_store_save(s, name, net, note, labels, out);
  if ((rc = nn_store_check_run(s, run)) != NN_OK)
    return rc;
  if (s->engine)
    return s->engine->save_run(s, name, net, note, labels, run, out);
  return nn_store_save_with(s, name, net, note, labels, put_run, (void *)run, out);
}

/* ------------------------------------------------------------------------
** Reading a run back
*/

/* The run of a version, with the version it belongs to, and whether each
** column holds what nn writes (column 11: the types, and no best_epoch 0,
** which the layout could not tell from NULL) and its options an object (12). */
#define RUN_OF \
  "SELECT coalesce(m.name, ''), v.version, t.options, t.rows, t.epochs, t.best_epoch, t.stopped," \
  " t.source, t.started_at, t.ended_at, t.digest," \
  " typeof(t.options) = 'text' AND typeof(t.rows) = 'integer'" \
  " AND typeof(t.epochs) = 'integer' AND typeof(t.best_epoch) IN ('integer', 'null')" \
  " AND t.best_epoch IS NOT 0" \
  " AND typeof(t.stopped) = 'text' AND typeof(t.source) IN ('text', 'null')" \
  " AND typeof(t.started_at) = 'integer' AND typeof(t.ended_at) = 'integer'," \
  " CASE WHEN json_valid(t.options) THEN json_type(t.options) = 'object' ELSE 0 END," \
  " v.model_id" \
  " FROM nn_training AS t JOIN nn_version AS v ON v.version_id = t.version_id" \
  " LEFT JOIN nn_model AS m ON m.model_id = v.model_id WHERE t.version_id = ?1"

#define CHANGED  "its training run disagrees with its digest (changed outside nn?)"

/* Text column col of st appended to s->text; *at its offset there. */
static int keep_text(nn_store *s, sqlite3_stmt *st, int col, size_t *at, size_t *len) {
  const unsigned char *p = sqlite3_column_text(st, col);
  *len = (size_t)sqlite3_column_bytes(st, col);
  *at = s->text.n;
  if (!p && sqlite3_errcode(s->db) == SQLITE_NOMEM)
    return nn_st_nomem(s);
  if (nn_buf_add(&s->text, p ? (const char *)p : "", *len) || nn_buf_add(&s->text, "", 1))
    return nn_st_nomem(s);
  return NN_OK;
}

/* The run's epoch rows into s->blob (an array of nn_train_epoch), each
** added to h; *n their count, *typed whether each holds what nn writes. */
static int read_epochs(nn_store *s, int64_t version_id, nn_sha256 *h, size_t *n,
                       int *typed) {
  sqlite3_stmt *st = NULL;
  nn_train_epoch e;
  int rc = NN_OK, row = 0;
  *n = 0;
  *typed = 1;
  s->blob.n = 0;
  if (sqlite3_prepare_v2(s->db, EPOCHS_OF, -1, &st, NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  sqlite3_bind_int64(st, 1, version_id);
  while ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    epoch_of_row(st, &e);
    *typed &= sqlite3_column_int(st, 5);
    if (h)
      digest_epoch(h, &e);
    if (nn_buf_add(&s->blob, &e, sizeof e)) {
      rc = nn_st_nomem(s);
      break;
    }
    (*n)++;
  }
  sqlite3_finalize(st);
  return rc;
}

int nn_store_read_run(nn_store *s, const nn_store_version *v, nn_train_run *run,
                      int *found) {
  sqlite3_stmt *st = NULL;
  size_t options_at = 0, source_at = 0, stopped_at = 0, stopped_len, n;
  const char *stored;
  char digest[NN_SHA256_HEX];
  nn_sha256 h;
  int rc, row, typed, source_null = 1, epochs_typed;
  memset(run, 0, sizeof *run);
  *found = 0;
  if (s->engine)
    return s->engine->read_run(s, v, run, found);
  if (!s->db)
    return nn_st_closed(s);
  if (sqlite3_prepare_v2(s->db, RUN_OF, -1, &st, NULL) != SQLITE_OK)
    return nn_st_db_fail(s);
  sqlite3_bind_int64(st, 1, v->version_id);
  if ((rc = nn_st_step(s, st, &row)) != NN_OK || !row) {
    sqlite3_finalize(st);
    if (rc != NN_OK)
      return rc;
    /* no run: then no epochs either (a run deleted with its epochs is the
    ** model's facts' to catch: nn_store_facts.c, checked by find_version) */
    if ((rc = read_epochs(s, v->version_id, NULL, &n, &typed)) != NN_OK)
      return rc;
    return n ? nn_st_invalid(s, v, "its training epochs have no run (changed outside nn?)")
             : NN_OK;
  }
  s->text.n = 0;
  typed = sqlite3_column_int(st, 11);
  run->rows = sqlite3_column_int64(st, 3);
  run->best_epoch = sqlite3_column_int64(st, 5);
  run->started_at = sqlite3_column_int64(st, 8);
  run->ended_at = sqlite3_column_int64(st, 9);
  if ((rc = keep_text(s, st, 2, &options_at, &run->options_len)) == NN_OK &&
      (rc = keep_text(s, st, 6, &stopped_at, &stopped_len)) == NN_OK &&
      (source_null = sqlite3_column_type(st, 7) == SQLITE_NULL) == 0)
    rc = keep_text(s, st, 7, &source_at, &run->source_len);
  if (rc == NN_OK) {
    run->options = s->text.p + options_at;   /* s->text holds them all now */
    run->stopped = s->text.p + stopped_at;
    run->source = source_null ? NULL : s->text.p + source_at;
    nn_digest_model m = nn_st_digest_model(s, (const char *)sqlite3_column_text(st, 0),
                                           sqlite3_column_int64(st, 13));
    digest_head(&h, &m, sqlite3_column_int64(st, 1), run, sqlite3_column_int64(st, 4));
    stored = (const char *)sqlite3_column_text(st, 10);
    if (!stored)
      rc = nn_st_invalid(s, v, "its training run has no digest");
    else if ((rc = read_epochs(s, v->version_id, &h, &run->n_epochs,
                               &epochs_typed)) == NN_OK) {
      nn_sha256_hex(&h, digest);
      if (strcmp(stored, digest) != 0 || !typed || !epochs_typed ||
          strlen(run->stopped) != stopped_len)
        rc = nn_st_invalid(s, v, CHANGED);
      else if (!sqlite3_column_int(st, 12))
        rc = nn_st_invalid(s, v, "its training options are not a JSON object");
    }
  }
  sqlite3_finalize(st);
  if (rc != NN_OK) {
    memset(run, 0, sizeof *run);
    return rc;
  }
  run->epochs = (const nn_train_epoch *)(void *)s->blob.p;
  *found = 1;
  return NN_OK;
}
