/*
** nn_digest.c: the layouts of the store's digests (see nn_digest.h).
**
** Each is SHA-256 over a row's facts as text, lengths before what they
** measure, integers in decimal and a newline (nn_sha256_int), #x the byte
** length of x.  The head names the row's kind and, in layout 2, the model
** by name:
**   layout 2: "nn_version 2\n"  #model "\n" model
**   layout 1: "nn_version\n"    model_id "\n"
** (and "nn_labelmap", "nn_training" alike), then
**   version:  version n_inputs n_outputs n_params #arch "\n" arch weights
**   labelmap: #name "\n" name #labels "\n" labels
**   training: version rows epochs best_epoch started_at ended_at
**             #stopped "\n" stopped #options "\n" options source
**             then for every epoch row, in epoch order:
**             epoch loss val_loss val_accuracy ms
** In a run, best_epoch is its decimal, or "-\n" for none; source is
** #source "\n" source, or "-\n" for none; a REAL is the 16 lowercase hex
** digits of its IEEE 754 binary64 bits and "\n" (-0 as 0, for SQLite may
** keep a REAL that holds an integer as that integer), or "-\n" for NULL.
** epochs is the run's column; the rows follow it, so that an epoch row
** changed, deleted or added disagrees with the digest.
**
** The model's name is unique in a store and fixed (the schemas refuse to
** change it), so a row copied to another store keeps its digest byte for
** byte, and a row moved to another model disagrees with it.  Not a
** signature: whoever rewrites a row and its digest together is not caught.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "formats/nn_digest.h"

static void head(nn_sha256 *h, const char *kind, const nn_digest_model *m) {
  nn_sha256_init(h);
  nn_sha256_add(h, kind, strlen(kind));
  if (m->name) {
    nn_sha256_add(h, " 2\n", 3);
    nn_sha256_int(h, (int64_t)m->name_len);
    nn_sha256_add(h, m->name, m->name_len);
  } else {
    nn_sha256_add(h, "\n", 1);
    nn_sha256_int(h, m->id);
  }
}

void nn_digest_version(char hex[NN_SHA256_HEX], const nn_digest_model *m, int64_t version,
                       const char *arch, size_t arch_len, int64_t n_inputs,
                       int64_t n_outputs, int64_t n_params, const void *weights,
                       size_t bytes) {
  nn_sha256 h;
  head(&h, "nn_version", m);
  nn_sha256_int(&h, version);
  nn_sha256_int(&h, n_inputs);
  nn_sha256_int(&h, n_outputs);
  nn_sha256_int(&h, n_params);
  nn_sha256_int(&h, (int64_t)arch_len);
  nn_sha256_add(&h, arch, arch_len);
  nn_sha256_add(&h, weights, bytes);
  nn_sha256_hex(&h, hex);
}

void nn_digest_labelmap(char hex[NN_SHA256_HEX], const nn_digest_model *m,
                        const char *name, size_t name_len, const char *labels,
                        size_t labels_len) {
  nn_sha256 h;
  head(&h, "nn_labelmap", m);
  nn_sha256_int(&h, (int64_t)name_len);
  nn_sha256_add(&h, name, name_len);
  nn_sha256_int(&h, (int64_t)labels_len);
  nn_sha256_add(&h, labels, labels_len);
  nn_sha256_hex(&h, hex);
}

/* A text that may be absent: #x "\n" x, or "-\n". */
static void maybe_text(nn_sha256 *h, const char *p, size_t n) {
  if (p) {
    nn_sha256_int(h, (int64_t)n);
    nn_sha256_add(h, p, n);
  } else
    nn_sha256_add(h, "-\n", 2);
}

void nn_digest_run_head(nn_sha256 *h, const nn_digest_model *m, const nn_digest_run *run) {
  head(h, "nn_training", m);
  nn_sha256_int(h, run->version);
  nn_sha256_int(h, run->rows);
  nn_sha256_int(h, run->epochs);
  if (run->best_epoch)
    nn_sha256_int(h, run->best_epoch);
  else
    nn_sha256_add(h, "-\n", 2);
  nn_sha256_int(h, run->started_at);
  nn_sha256_int(h, run->ended_at);
  nn_sha256_int(h, (int64_t)run->stopped_len);
  nn_sha256_add(h, run->stopped, run->stopped_len);
  nn_sha256_int(h, (int64_t)run->options_len);
  nn_sha256_add(h, run->options, run->options_len);
  maybe_text(h, run->source, run->source_len);
}

static void real(nn_sha256 *h, double v) {
  char text[20];
  uint64_t bits;
  if (isnan(v)) {
    nn_sha256_add(h, "-\n", 2);
    return;
  }
  if (v == 0)
    v = 0;
  memcpy(&bits, &v, sizeof bits);
  snprintf(text, sizeof text, "%016" PRIx64 "\n", bits);
  nn_sha256_add(h, text, 17);
}

void nn_digest_run_epoch(nn_sha256 *h, int64_t epoch, double loss, double val_loss,
                         double val_accuracy, double ms) {
  nn_sha256_int(h, epoch);
  real(h, loss);
  real(h, val_loss);
  real(h, val_accuracy);
  real(h, ms);
}
