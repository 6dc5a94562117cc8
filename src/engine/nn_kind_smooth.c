/*
** nn_kind_smooth.c: the smooth activations of PyTorch, each whole: GELU
** (approximate "none", x Phi(x), or "tanh"), SiLU (x sigmoid(x)),
** Softplus(beta, threshold) and ELU(alpha), each its forward for a sample
** (in place, y == x, as every element-wise kind is called; the batch runs
** it over each panel's numbers), its backward on a chunk's panels, and its
** descriptor (the table of kinds in nn_engine.c points here).
**
** Pure C99, no allocation.  Where the kernel set has the function (exp,
** sigmoid, tanh, GELU's x Phi(x): nn_kernel*.c, with the accuracy
** nn_kernel.h states) the forward pass takes it, a chunk at a time through
** a block on the stack where it needs one; log1p comes from libm, a value
** at a time.  Every value is
** computed alone, so a batch gives the bits of one sample.  The backward
** passes evaluate the derivative from the stored input x (and output y
** where that is enough, ELU), with libm in float: training's gradients, not
** the forward pass's results.  The accuracy, against double precision of
** the float input, over a sweep of 9,200 inputs in every kernel set
** (spec/smooth_kinds_spec.lua asserts the bounds):
**               bound                     largest seen   how
**   GELU        5 ulp                     4.71 (over     the gelu kernel: erfc's form,
**                                         nn_kernel.h's  exp(-x^2/2) times a rational
**                                         sweep)         function, no 1 + erf
**   GELU tanh   1 ulp + 2^-24 |x|         0.61           the tanh kernel; 1 + tanh
**                                                        cancels below x = -5
**   SiLU        3 ulp                     2.36           the sigmoid kernel, a product
**   Softplus    2 ulp                     1.31           the exp kernel, libm's log1pf
**   ELU         2 ulp                     1.05           the exp kernel; a series
**                                                        for x in (-0.5, 0]
*/
#include <float.h>
#include <math.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_kinds.h"

#define CHUNK  64        /* floats of the stack block a kernel runs on */
#define SQRT1_2      0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f
#define GELU_K       0.79788456080286536f   /* sqrt(2 / pi) */
#define GELU_C       0.044715f

#define UNUSED_FWD  (void)x; (void)params; (void)n_out

/* --- forward ------------------------------------------------------------- */

/* GELU, approximate "none": x Phi(x) = x erfc(-x / sqrt 2) / 2, the kernel
** set's (erfc's form, which keeps its accuracy where 1 + erf would cancel;
** x^2 carried in two floats, since erfc's slope far out would multiply its
** rounding a hundredfold). */
static void gelu_erf(float *v /* [n] */, size_t n) {
  nn_kernel_in_use->act_gelu(v, n);
}

/* GELU, approximate "tanh", as PyTorch computes it:
** x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, tanh the kernel set's. */
static void gelu_tanh(float *v /* [n] */, size_t n) {
  float t[CHUNK];
  size_t i, j, m;
  for (i = 0; i < n; i += m) {
    m = n - i < CHUNK ? n - i : CHUNK;
    for (j = 0; j < m; j++) {
      float x = v[i + j];
      t[j] = GELU_K * (x + GELU_C * x * x * x);
    }
    nn_kernel_in_use->act_tanh(t, m);
    for (j = 0; j < m; j++) v[i + j] = 0.5f * v[i + j] * (1.0f + t[j]);
  }
}

static void gelu_forward(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out) {
  UNUSED_FWD;
  if (hyper[0] != 0.0f) gelu_tanh(y, n_in);
  else gelu_erf(y, n_in);
}

/* SiLU: x sigmoid(x), sigmoid the kernel set's. */
static void silu_forward(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out) {
  float s[CHUNK];
  size_t i, j, m;
  UNUSED_FWD; (void)hyper;
  for (i = 0; i < n_in; i += m) {
    m = n_in - i < CHUNK ? n_in - i : CHUNK;
    memcpy(s, y + i, m * sizeof(float));
    nn_kernel_in_use->act_sigmoid(s, m);
    for (j = 0; j < m; j++) y[i + j] *= s[j];
  }
}

/* Softplus: log(1 + exp(beta x)) / beta, or x where beta x > threshold
** (PyTorch's); exp the kernel set's, log1p libm's.  NaN stays NaN. */
static void softplus_forward(float *y, const float *x, const float *params,
                             const float *hyper, size_t n_in, size_t n_out) {
  float e[CHUNK], beta = hyper[0], threshold = hyper[1];
  size_t i, j, m;
  UNUSED_FWD;
  for (i = 0; i < n_in; i += m) {
    m = n_in - i < CHUNK ? n_in - i : CHUNK;
    for (j = 0; j < m; j++) e[j] = beta * y[i + j];
    nn_kernel_in_use->act_exp(e, m);
    for (j = 0; j < m; j++)
      if (!(beta * y[i + j] > threshold)) y[i + j] = log1pf(e[j]) / beta;
  }
}

/* exp(x) - 1 for x in (-0.5, 0]: its series to x^9 (within 2^-31 of it
** there), where exp(x) - 1 would lose x's digits. */
static float expm1_small(float x) {
  return x * (1.0f + x * (0.5f + x * (1.0f / 6 + x * (1.0f / 24 + x * (1.0f / 120
         + x * (1.0f / 720 + x * (1.0f / 5040 + x * (1.0f / 40320
         + x * (1.0f / 362880)))))))));
}

/* ELU: x where x > 0, alpha (exp(x) - 1) where not; exp the kernel set's. */
static void elu_forward(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out) {
  float e[CHUNK], alpha = hyper[0];
  size_t i, j, m;
  UNUSED_FWD;
  for (i = 0; i < n_in; i += m) {
    m = n_in - i < CHUNK ? n_in - i : CHUNK;
    for (j = 0; j < m; j++) e[j] = y[i + j] < 0.0f ? y[i + j] : 0.0f;
    nn_kernel_in_use->act_exp(e, m);
    for (j = 0; j < m; j++) {
      float v = y[i + j];
      if (v > -0.5f && v <= 0.0f) y[i + j] = alpha * expm1_small(v);
      else if (v < 0.0f) y[i + j] = alpha * (e[j] - 1.0f);
    }
  }
}


/* --- backward --------------------------------------------------------------
** Each runs on the n_in values of every panel's samples, skipping the
** padding rows up to the stride; dx may be dy. */

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

#define UNUSED_ARGS  (void)dparams; (void)params; (void)n_out; (void)work

/* GELU' = Phi(x) + x phi(x); the tanh form's: (1 + t) / 2 +
** x (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 x^2) / 2. */
static float gelu_grad(float x, int tanh_form) {
  if (tanh_form) {
    float t = tanhf(GELU_K * (x + GELU_C * x * x * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);
  }
  return 0.5f * erfcf(-x * SQRT1_2) + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

static void gelu_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  int tanh_form = hyper[0] != 0.0f;
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = dyp[i] * gelu_grad(xp[i], tanh_form));
}

/* SiLU' = s (1 + x (1 - s)), s = sigmoid(x). */
static float silu_grad(float x) {
  float s = 1.0f / (1.0f + expf(-x));
  return s * (1.0f + x * (1.0f - s));
}

static void silu_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS; (void)hyper;
  EACH_PANEL(dxp[i] = dyp[i] * silu_grad(xp[i]));
}

/* Softplus' = sigmoid(beta x), 1 past the threshold. */
static void softplus_backward(float *dx, float *dparams, const float *dy, const float *x,
                              const float *y, const float *params, const float *hyper,
                              size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  float beta = hyper[0], threshold = hyper[1];
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = beta * xp[i] > threshold ? dyp[i]
                      : dyp[i] / (1.0f + expf(-beta * xp[i])));
}

/* ELU' = 1 where x > 0, y + alpha where not: from the output. */
static void elu_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  float alpha = hyper[0];
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = xp[i] > 0.0f ? dyp[i] : dyp[i] * (yp[i] + alpha));
}


/* --- the descriptors ------------------------------------------------------- */

static const char *const gelu_choices[] = { "none", "tanh", NULL };

static const nn_hyper gelu_hyper[] = {
  { "approximate", "approximate", 0, 0, 1, 1, NULL, gelu_choices }
};

/* PyTorch 1.13's GELU in ONNX (no Gelu before opset 20):
** x / sqrt(2), erf, + 1, x *, * 0.5 */
static const nn_onnx_node gelu_nodes[] = {
  { "Div", { NN_ONNX_X, NN_ONNX_K }, 1.41421353816986084f },
  { "Erf", { 0, NN_ONNX_NONE }, 0 },
  { "Add", { 1, NN_ONNX_K }, 1.0f },
  { "Mul", { NN_ONNX_X, 2 }, 0 },
  { "Mul", { 3, NN_ONNX_K }, 0.5f }
};

/* and its SiLU: sigmoid, x * */
static const nn_onnx_node silu_nodes[] = {
  { "Sigmoid", { NN_ONNX_X, NN_ONNX_NONE }, 0 },
  { "Mul", { NN_ONNX_X, 0 }, 0 }
};

static const nn_hyper softplus_hyper[] = {
  { "beta", "beta", 1, FLT_MIN, FLT_MAX, 0, NULL, NULL },
  { "threshold", "threshold", 20, -FLT_MAX, FLT_MAX, 0, NULL, NULL }
};

static const nn_hyper elu_hyper[] = {
  { "alpha", "alpha", 1, -FLT_MAX, FLT_MAX, 0, "alpha", NULL }
};

const nn_kind_info nn_kind_gelu = {
  "GELU", "gelu", 1, 0, 1, gelu_hyper, 0, NULL, gelu_forward, NULL, gelu_backward, NULL,
  { NULL, NULL, 0, 5, gelu_nodes }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_silu = {
  "SiLU", "silu", 1, 0, 0, NULL, 0, NULL, silu_forward, NULL, silu_backward, NULL,
  { NULL, NULL, 0, 2, silu_nodes }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_softplus = {
  "Softplus", "softplus", 1, 0, 2, softplus_hyper, 0, NULL, softplus_forward, NULL,
  softplus_backward, NULL, { "Softplus", NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
const nn_kind_info nn_kind_elu = {
  "ELU", "elu", 1, 0, 1, elu_hyper, 0, NULL, elu_forward, NULL, elu_backward, NULL,
  { "Elu", NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};
