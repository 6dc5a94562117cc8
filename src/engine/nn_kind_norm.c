/*
** nn_kind_norm.c: the kinds that scale their input by numbers they keep:
** Standardize(mean, std), y = (x - mean) / std per feature, a fixed input
** scaling as exported policies carry (its tensors "mean" and "std" are not
** trained); LayerNorm(n), PyTorch's: each sample scaled to mean 0 and
** variance 1 over its n features, y = (x - mu) / sqrt(var + eps) * weight
** + bias, weight and bias trained.  Each kind whole: its forward for a sample and for the panels
** of a batch, its backward on a chunk's panels, its descriptor (the table
** of kinds in nn_engine.c points here).
**
** Pure C99, no allocation.  Each value is computed alone, a subtraction and
** a division correctly rounded in float: a batch gives the bits of one
** sample, and (x - mean) / std is within 1.5 ulp of the double result of
** the float numbers (spec/norm_kinds_spec.lua).  LayerNorm takes a sample's
** mean and variance in double (two passes, so no cancellation) and rounds
** its normalised value xh once to float, then weight * xh and + bias in
** float: its output is within half an ulp of y, half an ulp of weight * xh
** and half of |weight| ulp(xh) of the double result (the spec asserts it);
** its backward pass is in double, rounded once.
*/
#include <math.h>
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


/* --- LayerNorm -------------------------------------------------------- */

/* A sample's mean and 1 / sqrt(var + eps), its n features s floats apart. */
static void sample_stats(const float *x, size_t n, size_t s, double eps,
                         double *mu, double *rstd) {
  double sum = 0.0, sq = 0.0;
  size_t i;
  for (i = 0; i < n; i++) sum += x[i * s];
  *mu = sum / (double)n;
  for (i = 0; i < n; i++) {
    double d = x[i * s] - *mu;
    sq += d * d;
  }
  *rstd = 1.0 / sqrt(sq / (double)n + eps);
}

/* One sample, its features s floats apart in x and y; params weight [n],
** then bias [n]. */
static void layernorm_one(float *y, const float *x, size_t n, size_t s,
                          const float *params, double eps) {
  const float *w = params, *b = params + n;
  double mu, rstd;
  size_t i;
  sample_stats(x, n, s, eps, &mu, &rstd);
  for (i = 0; i < n; i++)
    y[i * s] = (float)(((double)x[i * s] - mu) * rstd) * w[i] + b[i];
}

static void layernorm_forward(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out) {
  (void)n_out;
  layernorm_one(y, x, n_in, 1, params, hyper[0]);
}

static void layernorm_batch(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out,
                            const nn_panels *pn) {
  size_t p, c, nr = pn->nr;
  (void)n_out;
  for (p = 0; p < pn->count; p++)
    for (c = 0; c < nr; c++) {
      size_t o = p * pn->stride * nr + c;
      layernorm_one(y + o, x + o, n_in, nr, params, hyper[0]);
    }
}

/* With xh = (x - mu) rstd and g = dy weight, per sample:
** dweight += dy xh, dbias += dy,
** dx = rstd (g - mean(g) - xh mean(g xh)). */
static void layernorm_back_one(float *dx, float *dparams, const float *dy,
                               const float *x, const float *params, size_t n,
                               size_t s, double eps) {
  const float *w = params;
  double mu, rstd, mg = 0.0, mgx = 0.0;
  size_t i;
  sample_stats(x, n, s, eps, &mu, &rstd);
  for (i = 0; i < n; i++) {
    double xh = ((double)x[i * s] - mu) * rstd, g = (double)dy[i * s] * w[i];
    dparams[i] += (float)(dy[i * s] * xh);
    dparams[n + i] += dy[i * s];
    mg += g;
    mgx += g * xh;
  }
  if (dx == NULL) return;
  mg /= (double)n;
  mgx /= (double)n;
  for (i = 0; i < n; i++) {
    double xh = ((double)x[i * s] - mu) * rstd, g = (double)dy[i * s] * w[i];
    dx[i * s] = (float)(rstd * (g - mg - xh * mgx));
  }
}

static void layernorm_backward(float *dx, float *dparams, const float *dy,
                               const float *x, const float *y, const float *params,
                               const float *hyper, size_t n_in, size_t n_out,
                               const nn_panels *pn, float *work) {
  size_t p, c, nr = pn->nr;
  (void)y; (void)n_out; (void)work;
  for (p = 0; p < pn->count; p++)
    for (c = 0; c < nr; c++) {
      size_t o = p * pn->stride * nr + c;
      layernorm_back_one(dx ? dx + o : NULL, dparams, dy + o, x + o, params, n_in, nr,
                         hyper[0]);
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
  { NULL, NULL, 0, 2, standardize_nodes }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};

static const nn_hyper layernorm_hyper[] = {
  { "eps", "eps", 1e-5, 1e-30, 1, 0, "epsilon", NULL }
};

static const nn_tensor_info layernorm_tensors[] = {
  { "weight", 1, { NN_DIM_IN, 0 }, NN_INIT_ONES,  1 },
  { "bias",   1, { NN_DIM_IN, 0 }, NN_INIT_ZEROS, 1 }
};

/* LayerNormalization from opset 17 (read); before it, and as nn writes it
** (opset 13), what PyTorch 1.13 writes: mean, x - mean, ^2, mean, + eps,
** sqrt, divide, * weight, + bias, each ReduceMean over the last axis. */
static const nn_onnx_node layernorm_nodes[] = {
  { "ReduceMean", { NN_ONNX_X, NN_ONNX_NONE }, 0 },
  { "Sub", { NN_ONNX_X, 0 }, 0 },
  { "Pow", { 1, NN_ONNX_K }, 2.0f },
  { "ReduceMean", { 2, NN_ONNX_NONE }, 0 },
  { "Add", { 3, NN_ONNX_K }, 1e-5f },
  { "Sqrt", { 4, NN_ONNX_NONE }, 0 },
  { "Div", { 1, 5 }, 0 },
  { "Mul", { 6, NN_ONNX_T(0) }, 0 },
  { "Add", { 7, NN_ONNX_T(1) }, 0 }
};

const nn_kind_info nn_kind_layernorm = {
  "LayerNorm", "layer_norm", 0, 1, 1, layernorm_hyper, 2, layernorm_tensors,
  layernorm_forward, layernorm_batch, layernorm_backward, NULL,
  { "LayerNormalization", "axis", -1, 9, layernorm_nodes }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
