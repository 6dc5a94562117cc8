/*
** nn_kind_train.c: the kinds that act differently while training.
** BatchNorm(n), PyTorch's BatchNorm1d: outside training
** y = (x - running_mean) / sqrt(running_var + eps) * weight + bias; in a
** training step each feature is scaled by the statistics of the step's
** whole batch (biased variance), and running_mean and running_var (not
** trained) move towards the batch's mean and unbiased variance by
** momentum.  Dropout(p): the identity outside training; in a training step
** each unit is zeroed with probability p and the others scaled by
** 1 / (1 - p), the mask drawn from a counter-based generator keyed by the
** trainer's seed and step, the row's place in the batch and the unit, so
** that it depends on neither threads nor chunks.  Each kind whole: its
** forward for a sample and for the panels of a batch, its backward, its
** descriptor (the table of kinds in nn_engine.c points here).
**
** A pass is a training one when its panels carry a context (nn_panels's
** train, see nn_train_ctx in nn_engine.h); the trainer gives a net with
** BatchNorm a step as one chunk (NN_KIND_BATCH), so the statistics are
** those of the whole batch on any number of threads.
**
** Pure C99, no allocation.  BatchNorm's arithmetic is in double, rounded
** once to float: an output is within half an ulp of the double result of
** the float numbers (spec/train_kinds_spec.lua asserts it).
*/
#include <math.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kinds.h"

/* --- BatchNorm -------------------------------------------------------- */

/* params: weight [n], bias [n], running_mean [n], running_var [n];
** hyper: eps, momentum. */
#define BN_W(p, n)   (p)
#define BN_B(p, n)   ((p) + (n))
#define BN_RM(p, n)  ((p) + 2 * (n))
#define BN_RV(p, n)  ((p) + 3 * (n))

/* Feature i outside training: the running statistics. */
static float bn_infer(float x, const float *params, size_t n, size_t i, double eps) {
  double rstd = 1.0 / sqrt((double)BN_RV(params, n)[i] + eps);
  return (float)(((double)x - BN_RM(params, n)[i]) * rstd * BN_W(params, n)[i] +
                 BN_B(params, n)[i]);
}

static void batchnorm_forward(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = bn_infer(x[i], params, n_in, i, hyper[0]);
}

/* The samples of a chunk, feature i of sample s at panel s / nr, column
** s % nr: where it lies from the start of the panels. */
static size_t bn_at(const nn_panels *pn, size_t s, size_t i) {
  return (s / pn->nr) * pn->stride * pn->nr + i * pn->nr + s % pn->nr;
}

/* The batch's mean and biased variance of feature i over its m samples,
** in double, two passes. */
static void bn_stats(const float *x, const nn_panels *pn, size_t m, size_t i,
                     double *mu, double *var) {
  double sum = 0.0, sq = 0.0;
  size_t s;
  for (s = 0; s < m; s++) sum += x[bn_at(pn, s, i)];
  *mu = sum / (double)m;
  for (s = 0; s < m; s++) {
    double d = x[bn_at(pn, s, i)] - *mu;
    sq += d * d;
  }
  *var = sq / (double)m;
}

/* Training: feature i by the batch's statistics, and the running ones
** moved by momentum into the context's keep (PyTorch's unbiased variance). */
static void bn_train_feature(float *y, const float *x, const float *params,
                             const float *hyper, size_t n, size_t i,
                             const nn_panels *pn) {
  const nn_train_ctx *t = pn->train;
  double mu, var, rstd, mom = hyper[1];
  size_t s, m = t->rows;
  bn_stats(x, pn, m, i, &mu, &var);
  rstd = 1.0 / sqrt(var + (double)hyper[0]);
  for (s = 0; s < m; s++) {
    size_t at = bn_at(pn, s, i);
    y[at] = (float)(((double)x[at] - mu) * rstd * BN_W(params, n)[i] + BN_B(params, n)[i]);
  }
  for (; s < pn->count * pn->nr; s++) y[bn_at(pn, s, i)] = 0.0f;
  if (t->keep == NULL) return;
  BN_RM(t->keep, n)[i] = (float)((1.0 - mom) * BN_RM(params, n)[i] + mom * mu);
  BN_RV(t->keep, n)[i] = (float)((1.0 - mom) * BN_RV(params, n)[i] +
                                 mom * var * (double)m / (double)(m - 1));
}

static void batchnorm_batch(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out,
                            const nn_panels *pn) {
  size_t p, i, c, nr = pn->nr;
  (void)n_out;
  if (pn->train != NULL) {
    for (i = 0; i < n_in; i++) bn_train_feature(y, x, params, hyper, n_in, i, pn);
    return;
  }
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n_in; i++) {
      size_t o = p * pn->stride * nr + i * nr;
      for (c = 0; c < nr; c++) y[o + c] = bn_infer(x[o + c], params, n_in, i, hyper[0]);
    }
}

/* Training, feature i, with xh = (x - mu) rstd and g = dy weight over the
** batch's m samples: dweight += sum dy xh, dbias += sum dy,
** dx = rstd (g - mean(g) - xh mean(g xh)). */
static void bn_back_train(float *dx, float *dparams, const float *dy, const float *x,
                          const float *params, double eps, size_t n, size_t i,
                          const nn_panels *pn) {
  size_t s, m = pn->train->rows;
  double mu, var, rstd, w = BN_W(params, n)[i], mg = 0.0, mgx = 0.0, dw = 0.0, db = 0.0;
  bn_stats(x, pn, m, i, &mu, &var);
  rstd = 1.0 / sqrt(var + eps);
  for (s = 0; s < m; s++) {
    size_t at = bn_at(pn, s, i);
    double xh = ((double)x[at] - mu) * rstd;
    dw += dy[at] * xh;
    db += dy[at];
  }
  dparams[i] += (float)dw;
  dparams[n + i] += (float)db;
  if (dx == NULL) return;
  mg = w * db / (double)m;
  mgx = w * dw / (double)m;
  for (s = 0; s < m; s++) {
    size_t at = bn_at(pn, s, i);
    double xh = ((double)x[at] - mu) * rstd;
    dx[at] = (float)(rstd * (dy[at] * w - mg - xh * mgx));
  }
  for (; s < pn->count * pn->nr; s++) dx[bn_at(pn, s, i)] = 0.0f;
}

/* Outside training (net:backward): the running statistics are constants. */
static void bn_back_infer(float *dx, float *dparams, const float *dy, const float *x,
                          const float *params, double eps, size_t n, size_t i,
                          const nn_panels *pn) {
  size_t s, m = pn->count * pn->nr;
  double rstd = 1.0 / sqrt((double)BN_RV(params, n)[i] + eps), dw = 0.0, db = 0.0;
  for (s = 0; s < m; s++) {
    size_t at = bn_at(pn, s, i);
    dw += dy[at] * (((double)x[at] - BN_RM(params, n)[i]) * rstd);
    db += dy[at];
    if (dx) dx[at] = (float)(dy[at] * rstd * BN_W(params, n)[i]);
  }
  dparams[i] += (float)dw;
  dparams[n + i] += (float)db;
}

static void batchnorm_backward(float *dx, float *dparams, const float *dy,
                               const float *x, const float *y, const float *params,
                               const float *hyper, size_t n_in, size_t n_out,
                               const nn_panels *pn, float *work) {
  size_t i;
  (void)y; (void)n_out; (void)work;
  for (i = 0; i < n_in; i++) {
    if (pn->train != NULL)
      bn_back_train(dx, dparams, dy, x, params, hyper[0], n_in, i, pn);
    else
      bn_back_infer(dx, dparams, dy, x, params, hyper[0], n_in, i, pn);
  }
}


/* --- Dropout --------------------------------------------------------------- */

/* splitmix64's finaliser: every bit of z stirred into every other. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

uint64_t nn_dropout_bits(uint64_t key, uint64_t row, uint64_t unit) {
  uint64_t z = mix64(key + row * 0x9E3779B97F4A7C15u);
  return mix64(z + (unit + 1) * 0x9E3779B97F4A7C15u) >> 40;
}

/* The 24-bit numbers below it drop a unit: p of them (p < 1, a float). */
static uint64_t drop_below(float p) {
  return (uint64_t)ceil((double)p * 16777216.0);
}

/* y = x masked and scaled (y may be x), or dx = dy so; samples past the
** chunk's rows are left as they are (zeros). */
static void dropout_apply(float *y, const float *x, float p, size_t n,
                          const nn_panels *pn) {
  const nn_train_ctx *t = pn->train;
  uint64_t below = drop_below(p);
  float scale = 1.0f / (1.0f - p);
  size_t s, i;
  for (s = 0; s < t->rows; s++) {
    size_t o = (s / pn->nr) * pn->stride * pn->nr + s % pn->nr;
    for (i = 0; i < n; i++) {
      size_t at = o + i * pn->nr;
      y[at] = nn_dropout_bits(t->key, t->row0 + s, i) < below ? 0.0f : x[at] * scale;
    }
  }
}

static void dropout_batch(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out,
                          const nn_panels *pn) {
  (void)params; (void)n_out;
  if (pn->train != NULL) dropout_apply(y, x, hyper[0], n_in, pn);
}

static void dropout_backward(float *dx, float *dparams, const float *dy,
                             const float *x, const float *y, const float *params,
                             const float *hyper, size_t n_in, size_t n_out,
                             const nn_panels *pn, float *work) {
  (void)dparams; (void)x; (void)y; (void)params; (void)n_out; (void)work;
  if (dx != NULL && pn->train != NULL) dropout_apply(dx, dy, hyper[0], n_in, pn);
  else if (dx != NULL && dx != dy) memcpy(dx, dy, pn->count * pn->stride * pn->nr *
                                          sizeof(float));
}


/* --- the descriptors ------------------------------------------------------- */

static const nn_hyper batchnorm_hyper[] = {
  { "eps", "eps", 1e-5, 1e-30, 1, 0, "epsilon", NULL },
  { "momentum", "momentum", 0.1, 0, 1, 0, NN_HYPER_TRAINING, NULL }
};

static const nn_tensor_info batchnorm_tensors[] = {
  { "weight",       1, { NN_DIM_IN, 0 }, NN_INIT_ONES,  1 },
  { "bias",         1, { NN_DIM_IN, 0 }, NN_INIT_ZEROS, 1 },
  { "running_mean", 1, { NN_DIM_IN, 0 }, NN_INIT_ZEROS, 0 },
  { "running_var",  1, { NN_DIM_IN, 0 }, NN_INIT_ONES,  0 }
};

/* ONNX's BatchNormalization takes X, scale, B, input_mean, input_var: the
** tensors in their order.  Its momentum is the weight of the old running
** value (1 - PyTorch's), which an inference graph does not use. */
const nn_kind_info nn_kind_batchnorm = {
  "BatchNorm", "batch_norm", 0, 1, 2, batchnorm_hyper, 4, batchnorm_tensors,
  batchnorm_forward, batchnorm_batch, batchnorm_backward, NULL,
  { "BatchNormalization", NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_BATCH, NULL, NULL, NULL, NULL
};

/* p below 1: the largest float under it is the bound. */
static const nn_hyper dropout_hyper[] = {
  { "p", "p", 0.5, 0, 0.99999994039535522, 0, NULL, NULL }
};

const nn_kind_info nn_kind_dropout = {
  "Dropout", "dropout", 1, 0, 1, dropout_hyper, 0, NULL,
  NULL, dropout_batch, dropout_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
