/*
** nn_kind_act.c: the activations, each whole: ReLU, LeakyReLU(alpha),
** Sigmoid, Tanh, SoftMax and Identity, each its forward for a sample (in
** place, y == x, as every element-wise kind is called), for a batch where
** it is not the same per number (SoftMax), its backward on a chunk's
** panels, and its descriptor (the table of kinds in nn_engine.c points
** here).
**
** Pure C99, no allocation.  The transcendental functions are the kernel
** set's (nn_kernel*.c), with the accuracy nn_kernel.h states.  A backward
** pass uses only the stored input or output: no transcendental function is
** evaluated again (tanh' = 1 - y^2, sigmoid' = y (1 - y)).
*/
#include <float.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_kinds.h"

/* --- forward ------------------------------------------------------------- */

static void relu_kind_forward(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  nn_relu_forward(y, n_in);
}

/* LeakyReLU, ReLU and the transcendental kinds run in place (y == x, as
** every element-wise kind is called). */
static void leaky_relu_forward(float *y, const float *x, const float *params,
                               const float *hyper, size_t n_in, size_t n_out) {
  const nn_kernel *k = nn_kernel_in_use;
  (void)x; (void)params; (void)n_out;
  if (n_in < k->narrow) nn_leaky_relu_scalar(y, hyper[0], n_in);
  else k->leaky_relu(y, hyper[0], n_in);
}

/* The transcendental kernels take any n, narrow layers too: a value gives
** the same bits alone or in a batch's panel (nn_kernel.h). */
static void sigmoid_forward(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  nn_kernel_in_use->act_sigmoid(y, n_in);
}

static void tanh_forward(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  nn_kernel_in_use->act_tanh(y, n_in);
}

/* A row narrower than NN_ACT_FEW, whose maximum v[best] is max: each exp
** alone through the set's act_exp1, with the arithmetic and order of the
** wide path below (v - max, the sum in index order, one division), and
** the maximum's exp, which is exactly 1 in every set, left out: for the
** seed's two outputs that is half the work.  The batch, which takes whole
** panels, gets the same bits. */
static void softmax_narrow(float *v /* [n] */, size_t n, size_t best, float max) {
  nn_act1_fn *exp1 = nn_kernel_in_use->act_exp1;
  float sum = 0.0f;
  size_t i;
  for (i = 0; i < n; i++) sum += (v[i] = i == best ? 1.0f : exp1(v[i] - max));
  sum = 1.0f / sum;
  for (i = 0; i < n; i++) v[i] *= sum;
}

/* Shifted by the maximum so that exp never overflows; the result does not
** change, since softmax(v) = softmax(v - c).  The maximum's own difference
** is set to 0, whose exp is exactly 1, so that an infinite maximum gives 1
** rather than exp(inf - inf).  The sum is taken in index order, as
** softmax_batch takes it.  In place: v is y and x. */
static void softmax_forward(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out) {
  float *v = y;
  size_t i, best = 0, n = n_in;
  float max, sum = 0.0f;
  (void)x; (void)params; (void)hyper; (void)n_out;
  if (n == 0) return;
  max = v[0];
  for (i = 1; i < n; i++) if (v[i] > max) max = v[best = i];
  if (n < NN_ACT_FEW) { softmax_narrow(v, n, best, max); return; }
  for (i = 0; i < n; i++) v[i] -= max;
  v[best] = 0.0f;
  nn_kernel_in_use->act_exp(v, n);
  for (i = 0; i < n; i++) sum += v[i];
  sum = 1.0f / sum;    /* one division, not n: within an ulp of dividing */
  for (i = 0; i < n; i++) v[i] *= sum;
}

/* SoftMax down each sample's column, as softmax_forward does along a row,
** with the same arithmetic in the same order, so that a batch row and the
** sample alone agree exactly (an infinite logit too); the exponentials of
** a whole panel in one call of the pass's kernel set. */
static void softmax_batch(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out,
                          const nn_panels *pn) {
  size_t p, c, j, n = n_in, nr = pn->nr;
  (void)x; (void)params; (void)hyper; (void)n_out;
  if (n == 0) return;
  for (p = 0; p < pn->count; p++) {
    float *v = y + p * pn->stride * nr;
    for (c = 0; c < nr; c++) {
      float max = v[c];
      size_t best = 0;
      for (j = 1; j < n; j++) if (v[j * nr + c] > max) max = v[(best = j) * nr + c];
      for (j = 0; j < n; j++) v[j * nr + c] -= max;
      v[best * nr + c] = 0.0f;
    }
    pn->kernel->act_exp(v, n * nr);
    for (c = 0; c < nr; c++) {
      float sum = 0.0f;
      for (j = 0; j < n; j++) sum += v[j * nr + c];
      sum = 1.0f / sum;
      for (j = 0; j < n; j++) v[j * nr + c] *= sum;
    }
  }
}


/* --- backward --------------------------------------------------------------
** Each element-wise one runs on the n_in values of every panel's samples,
** skipping the padding rows up to the stride. */

#define EACH_PANEL(body)                                                      \
  do {                                                                        \
    size_t p_, n_ = n_in * pn->nr;                                            \
    for (p_ = 0; p_ < pn->count; p_++) {                                      \
      size_t o_ = p_ * pn->stride * pn->nr, i;                                \
      float *dxp = dx + o_;                                                   \
      const float *dyp = dy + o_, *xp = x + o_, *yp = y + o_;                 \
      (void)xp; (void)yp;                                                     \
      for (i = 0; i < n_; i++) { body; }                                      \
    }                                                                         \
  } while (0)

#define UNUSED_ARGS  (void)dparams; (void)params; (void)hyper; (void)n_out; (void)work

/* v when on, else +0, without a branch (ReLU's units are on or off as the
** data falls: a branch would mispredict half the time). */
static float pass_if(int on, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits &= (uint32_t)0 - (uint32_t)on;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static void relu_backward(float *dx, float *dparams, const float *dy, const float *x,
                      const float *y, const float *params, const float *hyper,
                      size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = pass_if(yp[i] > 0.0f, dyp[i]));
}

/* From the input: with a negative slope the output's sign says nothing. */
static void leaky_relu_backward(float *dx, float *dparams, const float *dy, const float *x,
                            const float *y, const float *params, const float *hyper,
                            size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  float alpha = hyper[0];
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = xp[i] > 0.0f ? dyp[i] : alpha * dyp[i]);
}

static void sigmoid_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = dyp[i] * (yp[i] * (1.0f - yp[i])));
}

static void tanh_backward(float *dx, float *dparams, const float *dy, const float *x,
                      const float *y, const float *params, const float *hyper,
                      size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = dyp[i] * (1.0f - yp[i] * yp[i]));
}

static void identity_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  if (dx != dy) EACH_PANEL(dxp[i] = dyp[i]);
}

/* dx = y * (dy - sum(dy * y)) down each sample's column. */
static void softmax_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  size_t p, c, j, nr = pn->nr;
  (void)x;
  UNUSED_ARGS;
  for (p = 0; p < pn->count; p++) {
    size_t o = p * pn->stride * nr;
    for (c = 0; c < nr; c++) {
      float s = 0.0f;
      for (j = 0; j < n_in; j++) s += dy[o + j * nr + c] * y[o + j * nr + c];
      for (j = 0; j < n_in; j++)
        dx[o + j * nr + c] = y[o + j * nr + c] * (dy[o + j * nr + c] - s);
    }
  }
}


/* --- the descriptors ------------------------------------------------------- */

static const nn_hyper leaky_relu_hyper[] = {
  { "alpha", "slope", 0.01, -FLT_MAX, FLT_MAX, 0, "alpha", NULL }
};

#define NO_PARAMS  0, NULL, 0, NULL

const nn_kind_info nn_kind_relu = {
  "ReLU", "relu", 1, 0, NO_PARAMS, relu_kind_forward, NULL, relu_backward, NULL,
  { "Relu", NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_leaky_relu = {
  "LeakyReLU", "leaky_relu", 1, 0, 1, leaky_relu_hyper, 0, NULL,
  leaky_relu_forward, NULL, leaky_relu_backward, NULL,
  { "LeakyRelu", NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_sigmoid = {
  "Sigmoid", "sigmoid", 1, 0, NO_PARAMS, sigmoid_forward, NULL, sigmoid_backward, NULL,
  { "Sigmoid", NULL, 0, 0, NULL }, 3 /* FANN_SIGMOID */, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_tanh = {
  "Tanh", "tanh", 1, 0, NO_PARAMS, tanh_forward, NULL, tanh_backward, NULL,
  { "Tanh", NULL, 0, 0, NULL }, 5 /* FANN_SIGMOID_SYMMETRIC */, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_softmax = {
  "SoftMax", "softmax", 1, 0, NO_PARAMS, softmax_forward, softmax_batch,
  softmax_backward, NULL, { "Softmax", "axis", -1, 0, NULL }, NN_FANN_NONE, NN_KIND_PROBS,
  NULL, NULL, NULL, NULL
};
/* forward NULL: y = x, a layer the passes and fold skip */
const nn_kind_info nn_kind_identity = {
  "Identity", "identity", 1, 0, NO_PARAMS, NULL, NULL, identity_backward, NULL,
  { "Identity", NULL, 0, 0, NULL }, 0 /* FANN_LINEAR */, 0, NULL, NULL, NULL, NULL
};
