/*
** nn_kernel_neon.c: the kernel set for AArch64's Advanced SIMD, "neon" (see
** nn_kernel.h), which every AArch64 processor has: nn_kernel.c uses it from
** the start there, and nn_kernel_select("generic") still forces the
** portable one.
**
** Four floats a vector, fused multiply-adds.  Not built (empty) on other
** processors, or with -DNN_GENERIC_ONLY.  No allocation; no alignment
** assumed.  Checked under qemu (make check-arm), which says nothing of speed.
*/
#include "engine/nn_kernel.h"

#if NN_HAVE_NEON

#include <arm_neon.h>

static int always(void) { return 1; }

/* Four rows at a time share each load of x; two sums per row hide the
** latency of the multiply-add. */
static void linear_neon(float *y, const float *x, const float *w, const float *b,
                        size_t n_in, size_t n_out) {
  size_t j = 0, i;
  if (n_in < 8) { nn_linear_scalar(y, x, w, b, n_in, n_out); return; }
  for (; j + 4 <= n_out; j += 4) {
    const float *r0 = w + j * n_in, *r1 = r0 + n_in, *r2 = r1 + n_in, *r3 = r2 + n_in;
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    float32x4_t c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    float t0 = b[j], t1 = b[j + 1], t2 = b[j + 2], t3 = b[j + 3];
    for (i = 0; i + 8 <= n_in; i += 8) {
      float32x4_t x0 = vld1q_f32(x + i), x1 = vld1q_f32(x + i + 4);
      a0 = vfmaq_f32(a0, vld1q_f32(r0 + i), x0);
      a1 = vfmaq_f32(a1, vld1q_f32(r1 + i), x0);
      a2 = vfmaq_f32(a2, vld1q_f32(r2 + i), x0);
      a3 = vfmaq_f32(a3, vld1q_f32(r3 + i), x0);
      c0 = vfmaq_f32(c0, vld1q_f32(r0 + i + 4), x1);
      c1 = vfmaq_f32(c1, vld1q_f32(r1 + i + 4), x1);
      c2 = vfmaq_f32(c2, vld1q_f32(r2 + i + 4), x1);
      c3 = vfmaq_f32(c3, vld1q_f32(r3 + i + 4), x1);
    }
    for (; i < n_in; i++) {
      t0 += r0[i] * x[i]; t1 += r1[i] * x[i];
      t2 += r2[i] * x[i]; t3 += r3[i] * x[i];
    }
    y[j] = t0 + vaddvq_f32(vaddq_f32(a0, c0));
    y[j + 1] = t1 + vaddvq_f32(vaddq_f32(a1, c1));
    y[j + 2] = t2 + vaddvq_f32(vaddq_f32(a2, c2));
    y[j + 3] = t3 + vaddvq_f32(vaddq_f32(a3, c3));
  }
  for (; j < n_out; j++) {
    const float *r = w + j * n_in;
    float32x4_t a = vdupq_n_f32(0.0f), c = a;
    float t = b[j];
    for (i = 0; i + 8 <= n_in; i += 8) {
      a = vfmaq_f32(a, vld1q_f32(r + i), vld1q_f32(x + i));
      c = vfmaq_f32(c, vld1q_f32(r + i + 4), vld1q_f32(x + i + 4));
    }
    for (; i < n_in; i++) t += r[i] * x[i];
    y[j] = t + vaddvq_f32(vaddq_f32(a, c));
  }
}

/* 8 rows x 8 samples: 16 sums in registers, 2 loads of samples and 8
** broadcasts of weights per step, within the 32 vector registers.  The
** weight rows are read in place, one stream each. */
#define NEON_MR 8
#define NEON_NR 8

#define NEON_ROWS(X)  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define NEON_ROW(m)   const float *a##m = a + (m) * lda;
#define NEON_LOAD(m)  float32x4_t l##m = vld1q_f32(c + (m) * ldc), \
                                  h##m = vld1q_f32(c + (m) * ldc + 4);
#define NEON_FMA(m)   { float32x4_t am = vdupq_n_f32(a##m[k]); \
                        l##m = vfmaq_f32(l##m, am, b0); \
                        h##m = vfmaq_f32(h##m, am, b1); }
#define NEON_STORE(m) vst1q_f32(c + (m) * ldc, l##m); \
                      vst1q_f32(c + (m) * ldc + 4, h##m);

/* C's rows ldc floats apart: nr for the forward pass's panels, the
** gradient's row length for training's dW. */
static void tile_neon_ldc(float *c, size_t ldc, const float *a, size_t lda,
                          const float *b, size_t kc) {
  size_t k;
  NEON_ROWS(NEON_ROW)
  NEON_ROWS(NEON_LOAD)
  for (k = 0; k < kc; k++, b += NEON_NR) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    NEON_ROWS(NEON_FMA)
  }
  NEON_ROWS(NEON_STORE)
}

static void tile_neon(float *c, const float *a, size_t lda, const float *b, size_t kc) {
  tile_neon_ldc(c, NEON_NR, a, lda, b, kc);
}

/* tile_neon_ldc from sums of +0, C never read. */
#define NEON_ZERO(m)  float32x4_t l##m = vdupq_n_f32(0.0f), h##m = vdupq_n_f32(0.0f);

static void tile_neon_ldc_set(float *c, size_t ldc, const float *a, size_t lda,
                              const float *b, size_t kc) {
  size_t k;
  NEON_ROWS(NEON_ROW)
  NEON_ROWS(NEON_ZERO)
  for (k = 0; k < kc; k++, b += NEON_NR) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    NEON_ROWS(NEON_FMA)
  }
  NEON_ROWS(NEON_STORE)
}

/* 16 floats a turn, the tail through nn_add_scalar. */
static void add_neon(float *sum, const float *v, size_t n) {
  size_t i, k;
  for (i = 0; i + 16 <= n; i += 16)
    for (k = i; k < i + 16; k += 4) vst1q_f32(sum + k, vaddq_f32(vld1q_f32(sum + k),
                                                                 vld1q_f32(v + k)));
  nn_add_scalar(sum + i, v + i, n - i);
}

/* v selected where !(v <= 0) (NaN too: the compare is false for it), +0
** elsewhere: the bits of nn_relu_scalar.  Not maxNum, which gives the
** number when one operand is NaN, and so turns NaN into 0. */
static void relu_neon(float *v, size_t n) {
  float32x4_t zero = vdupq_n_f32(0.0f);
  size_t i;
  for (i = 0; i + 4 <= n; i += 4) {
    float32x4_t x = vld1q_f32(v + i);
    vst1q_f32(v + i, vbslq_f32(vmvnq_u32(vcleq_f32(x, zero)), x, zero));
  }
  nn_relu_scalar(v + i, n - i);
}

const nn_kernel nn_kernel_neon = {
  "neon", always, linear_neon, tile_neon, relu_neon, NEON_MR, NEON_NR, 256, 8, 4,
  /* training: the portable Adam and sum of squares, which gcc vectorizes */
  nn_adam_scalar, nn_sumsq_scalar, tile_neon_ldc,
  /* activations: the portable ones, which gcc vectorizes too */
  nn_leaky_relu_scalar, nn_act_tanh_generic, nn_act_sigmoid_generic,
  nn_act_exp_generic, nn_act_exp1_generic,
  /* fold: the portable double tile, which gcc vectorizes */
  nn_tile_f64_scalar,
  tile_neon_ldc_set, add_neon,
  /* smooth activations: the portable ones */
  nn_act_gelu_generic
};

#else
/* ISO C wants something in every translation unit. */
typedef int nn_kernel_neon_unused;
#endif
