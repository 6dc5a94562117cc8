/*
** nn_kind_join.c: the kinds that join two values of a graph: Add (x + y,
** of one width) and Concat (x then y), each whole: its forward for a
** sample and for a batch's panels, its backward, and its descriptor.
**
** A join's two inputs reach it side by side, as one x of n_in floats (the
** engine gathers them: see "Graphs" in nn_engine.h); a batch's panel holds
** [n_in][nr] floats, the first input's features, then the second's.  So a
** join is a kind of the one table like any other, with one flag, and its
** backward gives the gradient of both inputs as one dx, which the trainer
** adds to each.
**
** Pure C99, no allocation.  Not the graph's plan or passes (nn_engine.c).
*/
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kinds.h"

/* y [n_out] = x[0 .. n_out) + x[n_out .. 2 n_out). */
static void add_forward(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)params; (void)hyper; (void)n_in;
  for (i = 0; i < n_out; i++) y[i] = x[i] + x[n_out + i];
}

/* Each panel: [n_out][nr] of the sum of its two halves. */
static void add_batch(float *y, const float *x, const float *params,
                      const float *hyper, size_t n_in, size_t n_out,
                      const nn_panels *pn) {
  size_t p, span = pn->stride * pn->nr;
  for (p = 0; p < pn->count; p++)
    add_forward(y + p * span, x + p * span, params, hyper, n_in, n_out * pn->nr);
}

/* d(a + b)/da = d(a + b)/db = 1: dy to both halves of dx. */
static void add_backward(float *dx, float *dparams, const float *dy,
                         const float *x, const float *y, const float *params,
                         const float *hyper, size_t n_in, size_t n_out,
                         const nn_panels *pn, float *work) {
  size_t p, span = pn->stride * pn->nr, n = n_out * pn->nr;
  (void)dparams; (void)x; (void)y; (void)params; (void)hyper; (void)n_in; (void)work;
  if (dx == NULL) return;
  for (p = 0; p < pn->count; p++) {
    memcpy(dx + p * span, dy + p * span, n * sizeof(float));
    memcpy(dx + p * span + n, dy + p * span, n * sizeof(float));
  }
}

/* Concat: its x is already its two inputs side by side. */
static void concat_forward(float *y, const float *x, const float *params,
                           const float *hyper, size_t n_in, size_t n_out) {
  (void)params; (void)hyper; (void)n_out;
  if (y != x) memcpy(y, x, n_in * sizeof(float));
}

static void concat_batch(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out,
                         const nn_panels *pn) {
  size_t p, span = pn->stride * pn->nr;
  for (p = 0; p < pn->count; p++)
    concat_forward(y + p * span, x + p * span, params, hyper, n_in * pn->nr, n_out);
}

static void concat_backward(float *dx, float *dparams, const float *dy,
                            const float *x, const float *y, const float *params,
                            const float *hyper, size_t n_in, size_t n_out,
                            const nn_panels *pn, float *work) {
  (void)dparams; (void)x; (void)y; (void)work;
  if (dx != NULL) concat_batch(dx, dy, params, hyper, n_in, n_out, pn);
}

const nn_kind_info nn_kind_add = {
  "Add", "add", 0, 0, 0, NULL, 0, NULL, add_forward, add_batch, add_backward, NULL,
  { "Add", NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_JOIN | NN_KIND_EQUAL, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_concat = {
  "Concat", "concat", 0, 0, 0, NULL, 0, NULL, concat_forward, concat_batch,
  concat_backward, NULL, { "Concat", "axis", 1, 0, NULL }, NN_FANN_NONE, NN_KIND_JOIN,
  NULL, NULL, NULL, NULL
};
