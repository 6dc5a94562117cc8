/*
** nn_digest.h: what the digests of a store's rows cover, byte by byte: a
** version, a label map, a training run.  Both store engines and the
** extension inside PostgreSQL compute them here, so that the same row has
** the same digest wherever it lives.
**
** Layout 2 (schema 8 on; schema/pg 5 on) covers the model's name, which is
** the same in every store a version travels to.  Layout 1, before it,
** covered the model's numeric id in its store; it is kept for the
** migration that checks every row under it before rewriting the digest.
** An nn_digest_model says which: name (name_len bytes) for layout 2, NULL
** and id for layout 1.
**
**   nn_digest_model m = { "leaf_flower", 11, 0 };
**   char hex[NN_SHA256_HEX];
**   nn_digest_version(hex, &m, 3, arch, arch_len, 4, 3, 35, weights, 140);
**
** Plain C99: no SQLite, no libpq, no Lua, no allocation.
*/
#ifndef NN_DIGEST_H
#define NN_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "formats/nn_sha256.h"

typedef struct nn_digest_model {
  const char *name;   /* layout 2: the model's name; NULL: layout 1 */
  size_t name_len;
  int64_t id;         /* layout 1: the model's id in its store */
} nn_digest_model;

void nn_digest_version(char hex[NN_SHA256_HEX], const nn_digest_model *m, int64_t version,
                       const char *arch, size_t arch_len, int64_t n_inputs,
                       int64_t n_outputs, int64_t n_params, const void *weights,
                       size_t bytes);

void nn_digest_labelmap(char hex[NN_SHA256_HEX], const nn_digest_model *m,
                        const char *name, size_t name_len, const char *labels,
                        size_t labels_len);

/* A training run: its head, then each epoch row in order, then
** nn_sha256_hex.  Texts are (pointer, length); source NULL for none;
** best_epoch 0 for none; a NAN value for NULL. */
typedef struct nn_digest_run {
  int64_t version, rows, epochs, best_epoch, started_at, ended_at;
  const char *stopped, *options, *source;
  size_t stopped_len, options_len, source_len;
} nn_digest_run;

void nn_digest_run_head(nn_sha256 *h, const nn_digest_model *m, const nn_digest_run *run);
void nn_digest_run_epoch(nn_sha256 *h, int64_t epoch, double loss, double val_loss,
                         double val_accuracy, double ms);

#endif
