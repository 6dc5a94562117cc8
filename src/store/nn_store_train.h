/*
** nn_store_train.h: a training run, saved with the version it made.
**
** schema/002_training.sql keeps one nn_training row per trained version
** (options, rows, times, how it stopped, where the data came from) and one
** nn_training_epoch row per epoch.  nn_store_save_run writes them in the
** transaction that writes the version: both are there, or neither is,
** with a digest over the run and its epochs (schema/004_training_digests.sql)
** that nn_store_read_run checks when it reads them back.
**
**   nn_train_epoch e[2] = { { 1, 0.69, NAN, NAN, 12.5 }, { 2, 0.41, NAN, NAN, 11.9 } };
**   nn_train_run run = { "{\"lr\":0.1}", 10, 200, 2, "epochs", NULL, 0, 0, 0, e, 2 };
**   nn_store_save_run(&s, "leaf_flower", net, NULL, NULL, &run, &saved);
**
** This is not the trainer (nn_train.h) and not the binding: no lua.h; it
** checks a run and writes it, and returns an NN_STORE_* status.
*/
#ifndef NN_STORE_TRAIN_H
#define NN_STORE_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "store/nn_store.h"

typedef struct nn_train_epoch {
  int64_t epoch;                 /* 1, 2, ... in order */
  double loss;                   /* finite */
  double val_loss, val_accuracy; /* NAN: none; val_accuracy in [0, 1] */
  double ms;                     /* >= 0 */
} nn_train_epoch;

typedef struct nn_train_run {
  const char *options;           /* a JSON object, options_len bytes */
  size_t options_len;
  int64_t rows;                  /* >= 0: the training rows */
  int64_t best_epoch;            /* 1..n_epochs, or 0: none */
  const char *stopped;           /* "epochs", "patience" or "callback" */
  const char *source;            /* source_len bytes, or NULL */
  size_t source_len;
  int64_t started_at, ended_at;  /* Unix ms; 0 and 0: ended when saved, started
                                    the epochs' total ms before that */
  const nn_train_epoch *epochs;  /* [n_epochs] */
  size_t n_epochs;
} nn_train_run;

/* ERROR, naming the field, for a run that does not hold together (epochs
** out of order, a best_epoch that is not one of them, an unknown stop
** reason, a time or value out of range). */
int nn_store_check_run(nn_store *s, const nn_train_run *run);

/* nn_store_save, with run recorded for the new version in the same
** transaction; nothing is saved when the run fails nn_store_check_run or
** a write fails.  run NULL: a plain nn_store_save. */
int nn_store_save_run(nn_store *s, const char *name, const nn_net *net,
                      const char *note /* or NULL */,
                      const char *const *labels /* [net->n_outputs] or NULL */,
                      const nn_train_run *run, nn_store_saved *out);

/* For another engine, what keeps a run the same bytes on every engine: run
** with its times filled in as save stores them (ended when the version was
** created, started the epochs' total ms before, unless the run says), and
** the digest over it and its n_epochs epochs (epochs: the count stored). */
void nn_store_run_dated(const nn_train_run *run, int64_t created_at, nn_train_run *dated);
void nn_store_run_digest(char hex[65], const char *model, int64_t version,
                         const nn_train_run *run, int64_t epochs);

/* The run recorded for version v (from nn_store_find_version) into *run,
** checked against its digest; *found 0 (and OK) when v has none.  The
** run's texts and epochs live in s's scratch: valid until the next call on
** s.  INVALID, naming the model and version, when the run or its epochs
** disagree with the digest, when it has none, when epochs have no run. */
int nn_store_read_run(nn_store *s, const nn_store_version *v, nn_train_run *run,
                      int *found);

#endif
