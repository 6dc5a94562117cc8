/*
** nn_kind_norm.c: the kinds that scale their input by numbers they keep:
** Standardize(mean, std), y = (x - mean) / std per feature, a fixed input
** scaling as exported policies carry (its tensors "mean" and "std" are not
** trained).  Each kind whole: its forward for a sample and for the panels
** of a batch, its backward on a chunk's panels, its descriptor (the table
** of kinds in nn_engine.c points here).
**
** Pure C99, no allocation.  Each value is computed alone, a subtraction and
** a division correctly rounded in float: a batch gives the bits of one
** sample, and (x - mean) / std is within 1.5 ulp of the double result of
** the float numbers (spec/norm_kinds_spec.lua).
*/
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kinds.h"

/* --- Standardize ------------------------------------------------------- */

/* params: mean [n], then std [n]. */
static void standardize_forward(float *y, const float *x, const float *params,
                                const float *hyper, size_t n_in, size_t n_out) {
  const float *mean = params, *sd = params + n_in;
  size_t i;
  (void)hyper; (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = (x[i] - mean[i]) / sd[i];
}

static void standardize_batch(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out,
                              const nn_panels *pn) {
  const float *mean = params, *sd = params + n_in;
  size_t p, i, c, nr = pn->nr;
  (void)hyper; (void)n_out;
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n_in; i++) {
      size_t o = p * pn->stride * nr + i * nr;
      for (c = 0; c < nr; c++) y[o + c] = (x[o + c] - mean[i]) / sd[i];
    }
}

/* dx = dy / std; mean and std are not trained, so no gradient of them. */
static void standardize_backward(float *dx, float *dparams, const float *dy,
                                 const float *x, const float *y, const float *params,
                                 const float *hyper, size_t n_in, size_t n_out,
                                 const nn_panels *pn, float *work) {
  const float *sd = params + n_in;
  size_t p, i, c, nr = pn->nr;
  (void)dparams; (void)x; (void)y; (void)hyper; (void)n_out; (void)work;
  if (dx == NULL) return;
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n_in; i++) {
      size_t o = p * pn->stride * nr + i * nr;
      for (c = 0; c < nr; c++) dx[o + c] = dy[o + c] / sd[i];
    }
}


/* --- the descriptors ------------------------------------------------------- */

static const nn_tensor_info standardize_tensors[] = {
  { "mean", 1, { NN_DIM_IN, 0 }, NN_INIT_ZEROS, 0 },
  { "std",  1, { NN_DIM_IN, 0 }, NN_INIT_ONES,  0 }
};

/* PyTorch's (x - mean) / std with the two as constants: Sub, then Div. */
static const nn_onnx_node standardize_nodes[] = {
  { "Sub", { NN_ONNX_X, NN_ONNX_T(0) }, 0 },
  { "Div", { 0, NN_ONNX_T(1) }, 0 }
};

const nn_kind_info nn_kind_standardize = {
  "Standardize", "standardize", 0, 1, 0, NULL, 2, standardize_tensors,
  standardize_forward, standardize_batch, standardize_backward, NULL,
  { NULL, NULL, 0, 2, standardize_nodes }, NN_FANN_NONE, 0
};
