/*
** nn_kernel_generic.c: the portable kernel set, "generic": Linear, its
** tile, the activations and training's updates in plain C99 that any
** compiler builds, and the scalar helpers the vector sets use for their
** tails (nn_linear_scalar, nn_relu_scalar, ...).
**
** Not the choice among sets (nn_kernel.c) and not the vector sets
** (nn_kernel_x86.c, nn_kernel_neon.c), which sit above this file: they call
** its helpers, and it calls none of theirs.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"

/* --- generic ----------------------------------------------------------- */

/* Four independent sums per row let the compiler keep four accumulators in
** flight instead of waiting on one. */
void nn_linear_scalar(float *y, const float *x, const float *w, const float *b,
                      size_t n_in, size_t n_out) {
  size_t j, i;
  if (n_in < 8) {
    /* too short for four sums to pay for their adds: the rows, independent
    ** of each other, are what runs in parallel here */
    for (j = 0; j < n_out; j++, w += n_in) {
      float s = 0.0f;
      for (i = 0; i < n_in; i++) s += w[i] * x[i];
      y[j] = s + b[j];
    }
    return;
  }
  for (j = 0; j < n_out; j++) {
    const float *row = w + j * n_in;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (i = 0; i + 4 <= n_in; i += 4) {
      s0 += row[i] * x[i];
      s1 += row[i + 1] * x[i + 1];
      s2 += row[i + 2] * x[i + 2];
      s3 += row[i + 3] * x[i + 3];
    }
    for (; i < n_in; i++) s0 += row[i] * x[i];
    y[j] = ((s0 + s1) + (s2 + s3)) + b[j];
  }
}

/* The bits of v kept under a mask from !(v <= 0), cleared otherwise: the
** same as v > 0 || v != v ? v : 0 (-0 to +0; NaN kept, bit for bit, as
** libm's fmax and PyTorch's relu keep it), which gcc compiles to a branch. */
void nn_relu_scalar(float *v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    uint32_t u, m = 0u - (uint32_t)!(v[i] <= 0.0f);
    memcpy(&u, &v[i], sizeof u);
    u &= m;
    memcpy(&v[i], &u, sizeof u);
  }
}

/* v times 1 or alpha, the factor picked by a mask from the comparison:
** the same bits as v > 0 ? v : alpha v (-0 included; NaN gives NaN, alpha
** times it), no branch. */
void nn_leaky_relu_scalar(float *v, float alpha, size_t n) {
  uint32_t one, a;
  size_t i;
  memcpy(&a, &alpha, sizeof a);
  one = 0x3f800000u;
  for (i = 0; i < n; i++) {
    uint32_t m = 0u - (uint32_t)(v[i] > 0.0f), fb = (one & m) | (a & ~m);
    float f;
    memcpy(&f, &fb, sizeof f);
    v[i] *= f;
  }
}

/* The transcendental kernels (see nn_kernel.h for the method) in blocks
** of a fixed width, each step a loop of that length over arrays: what gcc
** -O2 vectorizes (SSE on any x86-64).  Choices are masks, never branches.
** The functions are written once for three widths: 16 values, the body of
** a long array; 4, its tail; and 1, the last values and a layer narrower
** than 4 (a tail padded to 16 made the seed's net take 75 ns instead of
** 42).  Each value goes through the same operations in the same order
** whatever the width and wherever it sits: the same bits. */
#define GENERIC_BLOCK 16
#define GENERIC_TAIL  4

/* The functions of one width W, their names ending in sfx. */
#define GENERIC_FUNCTIONS(W, sfx) \
  typedef union { float f[W]; uint32_t u[W]; } block_##sfx; \
  \
  /* y = exp(x - low), low NULL or tiny beside x (GELU's low part of \
  ** -x^2 / 2), taken off the reduced argument.  NaN stays NaN through the \
  ** arithmetic, whatever the integer part makes of its bits (unsigned: no \
  ** overflow to fear). */ \
  static void exp_lo_block_##sfx(block_##sfx *y, const block_##sfx *x, \
                                 const block_##sfx *low) { \
    block_##sfx t, p, r; \
    uint32_t k_lo, k_hi, k_rounder;    /* the bits of three constants */ \
    float c; \
    size_t j; \
    c = NN_EXP_LO; memcpy(&k_lo, &c, sizeof c); \
    c = NN_EXP_HI; memcpy(&k_hi, &c, sizeof c); \
    c = NN_ROUNDER; memcpy(&k_rounder, &c, sizeof c); \
    /* x clamped to [LO, HI] by masks; NaN compares false and is kept */ \
    for (j = 0; j < W; j++) { \
      uint32_t lo = 0u - (uint32_t)(NN_EXP_LO > x->f[j]); \
      uint32_t hi = 0u - (uint32_t)(NN_EXP_HI < x->f[j]); \
      p.u[j] = (x->u[j] & ~(lo | hi)) | (k_lo & lo) | (k_hi & hi); \
    } \
    for (j = 0; j < W; j++) { \
      float v = p.f[j], n; \
      t.f[j] = v * NN_LOG2E + NN_ROUNDER;      /* n in its low bits */ \
      n = t.f[j] - NN_ROUNDER; \
      r.f[j] = v - n * NN_LN2_HI; \
      r.f[j] = r.f[j] - n * NN_LN2_LO; \
    } \
    if (low != NULL) for (j = 0; j < W; j++) r.f[j] = r.f[j] - low->f[j]; \
    for (j = 0; j < W; j++) { \
      float q, rj = r.f[j]; \
      q = NN_EXP_Q0 + rj * (NN_EXP_Q1 + rj * (NN_EXP_Q2 + rj * (NN_EXP_Q3 + rj * NN_EXP_Q4))); \
      p.f[j] = 1.0f + (rj + (rj * rj) * q); \
    } \
    /* m = n + 2^22 >= 0; 2^n = 2^n1 2^n2, n1 = floor(n / 2), both normal; \
    ** p 2^n1 is exact, so a subnormal result is rounded once */ \
    for (j = 0; j < W; j++) { \
      uint32_t m = t.u[j] - k_rounder + (1u << 22), m1 = m >> 1; \
      t.u[j] = (m1 - (1u << 21) + 127u) << 23; \
      y->u[j] = (m - m1 - (1u << 21) + 127u) << 23; \
    } \
    for (j = 0; j < W; j++) y->f[j] = (p.f[j] * t.f[j]) * y->f[j]; \
  } \
  \
  static void exp_block_##sfx(block_##sfx *y, const block_##sfx *x) { \
    exp_lo_block_##sfx(y, x, NULL); \
  } \
  \
  static void sigmoid_block_##sfx(block_##sfx *v) { \
    block_##sfx e; \
    size_t j; \
    for (j = 0; j < W; j++) e.u[j] = v->u[j] | 0x80000000u;     /* -|x| */ \
    exp_block_##sfx(&e, &e); \
    for (j = 0; j < W; j++) { \
      uint32_t neg = 0u - (v->u[j] >> 31);                  /* x < 0 or -0 */ \
      uint32_t nb = (e.u[j] & neg) | (0x3f800000u & ~neg);  /* e or 1 */ \
      float num; \
      memcpy(&num, &nb, sizeof num); \
      v->f[j] = num / (1.0f + e.f[j]); \
    } \
  } \
  \
  static void tanh_block_##sfx(block_##sfx *v) { \
    block_##sfx a, e; \
    size_t j; \
    for (j = 0; j < W; j++) { \
      a.u[j] = v->u[j] & 0x7fffffffu; \
      e.f[j] = -2.0f * a.f[j]; \
    } \
    exp_block_##sfx(&e, &e); \
    for (j = 0; j < W; j++) { \
      float x = a.f[j], z = x * x, big = (1.0f - e.f[j]) / (1.0f + e.f[j]); \
      float small = x + (x * z) * (NN_TANH_T0 + z * (NN_TANH_T1 + z * (NN_TANH_T2 \
                    + z * (NN_TANH_T3 + z * NN_TANH_T4)))); \
      uint32_t s, b, m = 0u - (uint32_t)(x < NN_TANH_SMALL); \
      memcpy(&s, &small, sizeof s); \
      memcpy(&b, &big, sizeof b); \
      v->u[j] = ((s & m) | (b & ~m)) | (v->u[j] & 0x80000000u); \
    } \
  } \
  \
  /* GELU, x Phi(x): q = exp(-a^2 / 2) t P(u), t = 1 / (1 + K a), \
  ** u = K a t - C, is Phi(-a), a = |x| (at most AMAX, and AMAX for NaN, \
  ** which x alone then carries into the result, its payload whichever \
  ** way the compiler orders the products); a^2 = h + l \
  ** exactly (the product in double, which holds it: the bits of a fused \
  ** multiply-subtract), l / 2 taken off exp's reduced argument. \
  ** x (1 - q) for x >= 0, e (x t P(u)) below, which rounds a subnormal \
  ** result once. */ \
  static void gelu_block_##sfx(block_##sfx *v) { \
    block_##sfx a, e, h, l, tp; \
    uint32_t k_amax; \
    float c = NN_GELU_AMAX; \
    size_t j; \
    memcpy(&k_amax, &c, sizeof c); \
    for (j = 0; j < W; j++) { \
      uint32_t big; \
      a.u[j] = v->u[j] & 0x7fffffffu; \
      big = 0u - (uint32_t)!(a.f[j] <= NN_GELU_AMAX);     /* NaN too */ \
      a.u[j] = (a.u[j] & ~big) | (k_amax & big); \
      h.f[j] = a.f[j] * a.f[j]; \
      l.f[j] = 0.5f * (float)((double)a.f[j] * a.f[j] - h.f[j]); \
      h.f[j] = -0.5f * h.f[j]; \
    } \
    exp_lo_block_##sfx(&e, &h, &l); \
    for (j = 0; j < W; j++) { \
      float t = 1.0f / (1.0f + NN_GELU_K * a.f[j]), p = NN_GELU_P9; \
      float u = (NN_GELU_K * a.f[j]) * t - NN_GELU_C; \
      p = p * u + NN_GELU_P8; p = p * u + NN_GELU_P7; p = p * u + NN_GELU_P6; \
      p = p * u + NN_GELU_P5; p = p * u + NN_GELU_P4; p = p * u + NN_GELU_P3; \
      p = p * u + NN_GELU_P2; p = p * u + NN_GELU_P1; p = p * u + NN_GELU_P0; \
      tp.f[j] = t * p; \
    } \
    for (j = 0; j < W; j++) { \
      float x = v->f[j], pos = x * (1.0f - e.f[j] * tp.f[j]), neg = e.f[j] * (x * tp.f[j]); \
      uint32_t m = 0u - (uint32_t)(x >= 0.0f), pb, nb; \
      memcpy(&pb, &pos, sizeof pb); \
      memcpy(&nb, &neg, sizeof nb); \
      v->u[j] = (pb & m) | (nb & ~m); \
    } \
  } \
  \
  static void exp_inplace_##sfx(block_##sfx *v) { exp_block_##sfx(v, v); }

GENERIC_FUNCTIONS(GENERIC_BLOCK, wide)
GENERIC_FUNCTIONS(GENERIC_TAIL, tail)
GENERIC_FUNCTIONS(1, one)

/* The loop over whole blocks of 16, then of 4, then the last values one
** at a time: a value copied into a block beside zeros and read back as a
** vector stalls the load (the stores cannot be forwarded to it). */
#define GENERIC_ACT(name, fn) \
  void name(float *v, size_t n) { \
    block_wide b; \
    block_tail t; \
    block_one o; \
    size_t i; \
    for (i = 0; i + GENERIC_BLOCK <= n; i += GENERIC_BLOCK) { \
      memcpy(b.f, v + i, sizeof b.f); \
      fn##_wide(&b); \
      memcpy(v + i, b.f, sizeof b.f); \
    } \
    for (; i + GENERIC_TAIL <= n; i += GENERIC_TAIL) { \
      memcpy(t.f, v + i, sizeof t.f); \
      fn##_tail(&t); \
      memcpy(v + i, t.f, sizeof t.f); \
    } \
    for (; i < n; i++) { \
      o.f[0] = v[i]; \
      fn##_one(&o); \
      v[i] = o.f[0]; \
    } \
  }

GENERIC_ACT(nn_act_exp_generic, exp_inplace)
GENERIC_ACT(nn_act_sigmoid_generic, sigmoid_block)
GENERIC_ACT(nn_act_tanh_generic, tanh_block)
GENERIC_ACT(nn_act_gelu_generic, gelu_block)

float nn_act_exp1_generic(float x) {
  block_one o;
  o.f[0] = x;
  exp_inplace_one(&o);
  return o.f[0];
}

#define GENERIC_MR 4
#define GENERIC_NR 8

/* The tile in plain C, one weight row at a time: eight named sums stay in
** registers (an array of them, indexed in a loop, lived on the stack), and
** the kc x 8 samples it reads again for each row sit in L1. */
static void tile_generic_ldc(float *c, size_t ldc, const float *a, size_t lda,
                             const float *b, size_t kc) {
  size_t k, m;
  for (m = 0; m < GENERIC_MR; m++, c += ldc, a += lda) {
    const float *bk = b;
    float s0 = c[0], s1 = c[1], s2 = c[2], s3 = c[3];
    float s4 = c[4], s5 = c[5], s6 = c[6], s7 = c[7];
    for (k = 0; k < kc; k++, bk += GENERIC_NR) {
      float am = a[k];
      s0 += am * bk[0]; s1 += am * bk[1]; s2 += am * bk[2]; s3 += am * bk[3];
      s4 += am * bk[4]; s5 += am * bk[5]; s6 += am * bk[6]; s7 += am * bk[7];
    }
    c[0] = s0; c[1] = s1; c[2] = s2; c[3] = s3;
    c[4] = s4; c[5] = s5; c[6] = s6; c[7] = s7;
  }
}

static void tile_generic(float *c, const float *a, size_t lda, const float *b,
                         size_t kc) {
  tile_generic_ldc(c, GENERIC_NR, a, lda, b, kc);
}

/* tile_generic_ldc from sums of zero, C never read. */
static void tile_generic_set(float *c, size_t ldc, const float *a, size_t lda,
                             const float *b, size_t kc) {
  size_t m;
  for (m = 0; m < GENERIC_MR; m++) memset(c + m * ldc, 0, GENERIC_NR * sizeof(float));
  tile_generic_ldc(c, ldc, a, lda, b, kc);
}

/* Plain enough (restrict, one operation) for gcc -O2 to make vector code. */
void nn_add_scalar(float *restrict sum, const float *restrict v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) sum[i] += v[i];
}

/* Each value's update in the order the vector sets use, so that the tails
** they leave here agree with them. */
void nn_adam_scalar(float *w, float *m, float *v, const float *g, size_t n,
                    const nn_adam_consts *c) {
  size_t i;
  for (i = 0; i < n; i++) {
    float mi = c->b1 * m[i] + (1.0f - c->b1) * g[i];
    float vi = c->b2 * v[i] + (1.0f - c->b2) * (g[i] * g[i]);
    float denom = sqrtf(vi) * c->inv_sqrt_bc2 + c->eps;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] * c->decay - c->step * (mi / denom);
  }
}

/* Eight sums in flight instead of one long chain of additions. */
double nn_sumsq_scalar(const float *v, size_t n) {
  float s[8] = { 0 };
  double total = 0.0;
  size_t i, j;
  for (i = 0; i + 8 <= n; i += 8)
    for (j = 0; j < 8; j++) s[j] += v[i + j] * v[i + j];
  for (; i < n; i++) total += (double)v[i] * v[i];
  for (j = 0; j < 8; j++) total += s[j];
  return total;
}

/* Eight sums a row, which gcc -O2 keeps in vector registers. */
void nn_tile_f64_scalar(double *c, size_t ldc, const double *a, const double *b,
                        size_t kc) {
  size_t r, k, j;
  for (r = 0; r < NN_F64_MR; r++, c += ldc) {
    double s[NN_F64_NR];
    for (j = 0; j < NN_F64_NR; j++) s[j] = c[j];
    for (k = 0; k < kc; k++) {
      double ar = a[k * NN_F64_MR + r];
      const double *bk = b + k * NN_F64_NR;
      for (j = 0; j < NN_F64_NR; j++) s[j] += ar * bk[j];
    }
    for (j = 0; j < NN_F64_NR; j++) c[j] = s[j];
  }
}

static int always(void) { return 1; }

const nn_kernel nn_kernel_generic = {
  "generic", always, nn_linear_scalar, tile_generic, nn_relu_scalar,
  GENERIC_MR, GENERIC_NR, 256, 0, 2,
  nn_adam_scalar, nn_sumsq_scalar, tile_generic_ldc,
  nn_leaky_relu_scalar, nn_act_tanh_generic, nn_act_sigmoid_generic,
  nn_act_exp_generic, nn_act_exp1_generic, nn_tile_f64_scalar,
  tile_generic_set, nn_add_scalar,
  nn_act_gelu_generic
};


