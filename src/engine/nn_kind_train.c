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
#include <stdio.h>
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

/* What one normalisation works on: n channels (BatchNorm's features), each
** of q positions (1 for BatchNorm, an image's h w for BatchNorm2d), its
** epsilon and momentum.  The values of channel ch of a sample are its
** features ch q .. ch q + q - 1. */
typedef struct bn_geom {
  size_t n, q;
  double eps, mom;
} bn_geom;

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

/* The batch's mean and biased variance of channel ch over its m samples
** (each sample's q positions in turn), in double, two passes. */
static void bn_stats(const float *x, const nn_panels *pn, size_t m, const bn_geom *g,
                     size_t ch, double *mu, double *var) {
  double sum = 0.0, sq = 0.0, count = (double)(m * g->q);
  size_t s, j;
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) sum += x[bn_at(pn, s, ch * g->q + j)];
  *mu = sum / count;
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) {
      double d = x[bn_at(pn, s, ch * g->q + j)] - *mu;
      sq += d * d;
    }
  *var = sq / count;
}

/* Zeros for the samples of the chunk's panels past its m rows. */
static void bn_zero_tail(float *y, const nn_panels *pn, size_t m, const bn_geom *g,
                         size_t ch) {
  size_t s, j;
  for (s = m; s < pn->count * pn->nr; s++)
    for (j = 0; j < g->q; j++) y[bn_at(pn, s, ch * g->q + j)] = 0.0f;
}

/* Training: channel ch by the batch's statistics, and the running ones
** moved by momentum into the context's keep (PyTorch's unbiased variance,
** over the m q values of the channel). */
static void bn_train_channel(float *y, const float *x, const float *params,
                             const bn_geom *g, size_t ch, const nn_panels *pn) {
  const nn_train_ctx *t = pn->train;
  double mu, var, rstd, mom = g->mom, count;
  size_t s, j, n = g->n, m = t->rows;
  bn_stats(x, pn, m, g, ch, &mu, &var);
  rstd = 1.0 / sqrt(var + g->eps);
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) {
      size_t at = bn_at(pn, s, ch * g->q + j);
      y[at] = (float)(((double)x[at] - mu) * rstd * BN_W(params, n)[ch] + BN_B(params, n)[ch]);
    }
  bn_zero_tail(y, pn, m, g, ch);
  if (t->keep == NULL) return;
  count = (double)(m * g->q);
  BN_RM(t->keep, n)[ch] = (float)((1.0 - mom) * BN_RM(params, n)[ch] + mom * mu);
  BN_RV(t->keep, n)[ch] = (float)((1.0 - mom) * BN_RV(params, n)[ch] +
                                  mom * var * count / (count - 1.0));
}

static void bn_run_batch(float *y, const float *x, const float *params, const bn_geom *g,
                         const nn_panels *pn) {
  size_t p, i, c, nr = pn->nr;
  if (pn->train != NULL) {
    for (i = 0; i < g->n; i++) bn_train_channel(y, x, params, g, i, pn);
    return;
  }
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < g->n * g->q; i++) {
      size_t o = p * pn->stride * nr + i * nr;
      for (c = 0; c < nr; c++) y[o + c] = bn_infer(x[o + c], params, g->n, i / g->q, g->eps);
    }
}

static void batchnorm_batch(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out,
                            const nn_panels *pn) {
  bn_geom g;
  (void)n_out;
  g.n = n_in; g.q = 1; g.eps = hyper[0]; g.mom = hyper[1];
  bn_run_batch(y, x, params, &g, pn);
}

/* Training, channel ch, with xh = (x - mu) rstd and g = dy weight over the
** batch's m samples' M = m q values: dweight += sum dy xh, dbias += sum dy,
** dx = rstd (g - mean(g) - xh mean(g xh)). */
static void bn_back_train(float *dx, float *dparams, const float *dy, const float *x,
                          const float *params, const bn_geom *g, size_t ch,
                          const nn_panels *pn) {
  size_t s, j, n = g->n, m = pn->train->rows;
  double mu, var, rstd, w = BN_W(params, n)[ch], mg, mgx, dw = 0.0, db = 0.0;
  double count = (double)(m * g->q);
  bn_stats(x, pn, m, g, ch, &mu, &var);
  rstd = 1.0 / sqrt(var + g->eps);
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) {
      size_t at = bn_at(pn, s, ch * g->q + j);
      dw += dy[at] * (((double)x[at] - mu) * rstd);
      db += dy[at];
    }
  dparams[ch] += (float)dw;
  dparams[n + ch] += (float)db;
  if (dx == NULL) return;
  mg = w * db / count;
  mgx = w * dw / count;
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) {
      size_t at = bn_at(pn, s, ch * g->q + j);
      double xh = ((double)x[at] - mu) * rstd;
      dx[at] = (float)(rstd * (dy[at] * w - mg - xh * mgx));
    }
  bn_zero_tail(dx, pn, m, g, ch);
}

/* Outside training (net:backward): the running statistics are constants. */
static void bn_back_infer(float *dx, float *dparams, const float *dy, const float *x,
                          const float *params, const bn_geom *g, size_t ch,
                          const nn_panels *pn) {
  size_t s, j, n = g->n, m = pn->count * pn->nr;
  double rstd = 1.0 / sqrt((double)BN_RV(params, n)[ch] + g->eps), dw = 0.0, db = 0.0;
  for (s = 0; s < m; s++)
    for (j = 0; j < g->q; j++) {
      size_t at = bn_at(pn, s, ch * g->q + j);
      dw += dy[at] * (((double)x[at] - BN_RM(params, n)[ch]) * rstd);
      db += dy[at];
      if (dx) dx[at] = (float)(dy[at] * rstd * BN_W(params, n)[ch]);
    }
  dparams[ch] += (float)dw;
  dparams[n + ch] += (float)db;
}

static void bn_run_backward(float *dx, float *dparams, const float *dy, const float *x,
                            const float *params, const bn_geom *g, const nn_panels *pn) {
  size_t i;
  for (i = 0; i < g->n; i++) {
    if (pn->train != NULL) bn_back_train(dx, dparams, dy, x, params, g, i, pn);
    else bn_back_infer(dx, dparams, dy, x, params, g, i, pn);
  }
}

static void batchnorm_backward(float *dx, float *dparams, const float *dy,
                               const float *x, const float *y, const float *params,
                               const float *hyper, size_t n_in, size_t n_out,
                               const nn_panels *pn, float *work) {
  bn_geom g;
  (void)y; (void)n_out; (void)work;
  g.n = n_in; g.q = 1; g.eps = hyper[0]; g.mom = hyper[1];
  bn_run_backward(dx, dparams, dy, x, params, &g, pn);
}


/* --- BatchNorm2d -----------------------------------------------------------
** BatchNorm per channel of an image: hyper channels, eps, momentum and the
** positions of each channel (h w, or l), which the shape rule keeps; its
** tensors are [channels] as BatchNorm's are [n].  PyTorch's BatchNorm2d on
** [N, C, H, W], and BatchNorm1d on [N, C, L]: statistics over the batch
** and the positions. */
enum { B2_C, B2_EPS, B2_MOM, B2_Q, B2_N };

static void bn2d_geom(bn_geom *g, const float *hyper, size_t n_in) {
  g->n = (size_t)hyper[B2_C];
  g->q = n_in / g->n;
  g->eps = hyper[B2_EPS];
  g->mom = hyper[B2_MOM];
}

static void bn2d_forward(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out) {
  bn_geom g;
  size_t i;
  (void)n_out;
  bn2d_geom(&g, hyper, n_in);
  for (i = 0; i < n_in; i++) y[i] = bn_infer(x[i], params, g.n, i / g.q, g.eps);
}

static void bn2d_batch(float *y, const float *x, const float *params,
                       const float *hyper, size_t n_in, size_t n_out, const nn_panels *pn) {
  bn_geom g;
  (void)n_out;
  bn2d_geom(&g, hyper, n_in);
  bn_run_batch(y, x, params, &g, pn);
}

static void bn2d_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  bn_geom g;
  (void)y; (void)n_out; (void)work;
  bn2d_geom(&g, hyper, n_in);
  bn_run_backward(dx, dparams, dy, x, params, &g, pn);
}

/* An image of channels x positions in, the same out.  Alone (nothing
** before it says), the positions it kept (or 1). */
static int bn2d_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                      char why[NN_ERRMAX]) {
  size_t c = (size_t)hyper[B2_C], q = (size_t)hyper[B2_Q];
  if (in->rank == 0) {
    in->rank = 2;
    in->d[0] = c; in->d[1] = q ? q : 1; in->d[2] = 1;
  }
  if (in->rank < 2) {
    snprintf(why, NN_ERRMAX, "takes images (c x h x w or c x l), but the layer before "
             "gives a flat row of %zu (a row's is nn.BatchNorm)", in->d[0]);
    return NN_EMISMATCH;
  }
  if (in->d[0] != c) {
    snprintf(why, NN_ERRMAX, "takes %zu channels, but the layer before gives %zu", c,
             in->d[0]);
    return NN_EMISMATCH;
  }
  *out = *in;
  if (keep) keep[B2_Q] = (float)(in->d[1] * in->d[2]);
  return NN_OK;
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

static const nn_hyper bn2d_hyper[B2_N] = {
  { "channels", "channels", 1, 1, 16777215, 1, NULL, NULL },
  { "eps", "eps", 1e-5, 1e-30, 1, 0, "epsilon", NULL },
  { "momentum", "momentum", 0.1, 0, 1, 0, NN_HYPER_TRAINING, NULL },
  { "positions", "positions", 0, 0, 16777215, 1, NULL, NULL }
};

static const nn_tensor_info bn2d_tensors[] = {
  { "weight",       1, { NN_DIM_HYPER(B2_C), 0 }, NN_INIT_ONES,  1 },
  { "bias",         1, { NN_DIM_HYPER(B2_C), 0 }, NN_INIT_ZEROS, 1 },
  { "running_mean", 1, { NN_DIM_HYPER(B2_C), 0 }, NN_INIT_ZEROS, 0 },
  { "running_var",  1, { NN_DIM_HYPER(B2_C), 0 }, NN_INIT_ONES,  0 }
};

/* ONNX's BatchNormalization on NCHW (or NCL) data, as PyTorch writes
** BatchNorm2d: the reader takes it for BatchNorm2d where the data are
** images, for BatchNorm where they are rows. */
const nn_kind_info nn_kind_batchnorm2d = {
  "BatchNorm2d", "batch_norm2d", 0, 0, B2_N, bn2d_hyper, 4, bn2d_tensors,
  bn2d_forward, bn2d_batch, bn2d_backward, NULL,
  { "BatchNormalization", NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_BATCH, NULL, NULL,
  NULL, bn2d_shape
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
