/*
** nn_kernel_x86.c: the AVX2+FMA and AVX-512F kernels (see nn_kernel.h).
**
** Each function carries its own GNU target attribute instead of the file
** being compiled with -mavx2 or -mavx512f: the file then builds with the
** same flags as the rest of the engine (a C host needs no special rule), and
** the compiler cannot let wider instructions leak into code that runs before
** the processor has been asked what it supports.  nn_kernel.c calls these
** only after __builtin_cpu_supports said yes.
**
** Not built (empty) on other processors or compilers, or with
** -DNN_GENERIC_ONLY.  No allocation; no alignment assumed (unaligned loads
** cost nothing extra on aligned data).
*/
#include "engine/nn_kernel.h"

#if NN_HAVE_X86

#include <immintrin.h>

#define TARGET_AVX2    __attribute__((target("avx2,fma")))
#define TARGET_AVX512  __attribute__((target("avx512f,avx2,fma")))

/* --- AVX2 + FMA -------------------------------------------------------- */

static int avx2_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The four sums of a0..a3 in one vector: [sum a0, sum a1, sum a2, sum a3]. */
TARGET_AVX2 static __m128 sum4_avx2(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

TARGET_AVX2 static float sum1_avx2(__m256 a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* Four rows at a time share each load of x; two sums per row hide the
** latency of the FMA. */
TARGET_AVX2 static void linear_avx2(float *y, const float *x, const float *w,
                                    const float *b, size_t n_in, size_t n_out) {
  size_t j = 0, i;
  if (n_in < 16) { nn_linear_scalar(y, x, w, b, n_in, n_out); return; }
  for (; j + 4 <= n_out; j += 4) {
    const float *r0 = w + j * n_in, *r1 = r0 + n_in, *r2 = r1 + n_in, *r3 = r2 + n_in;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    float t[4];
    for (i = 0; i + 16 <= n_in; i += 16) {
      __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), x0, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), x0, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), x0, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), x0, a3);
      c0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i + 8), x1, c0);
      c1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i + 8), x1, c1);
      c2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i + 8), x1, c2);
      c3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i + 8), x1, c3);
    }
    if (i + 8 <= n_in) {
      __m256 x0 = _mm256_loadu_ps(x + i);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), x0, a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), x0, a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), x0, a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), x0, a3);
      i += 8;
    }
    t[0] = b[j]; t[1] = b[j + 1]; t[2] = b[j + 2]; t[3] = b[j + 3];
    for (; i < n_in; i++) {
      t[0] += r0[i] * x[i]; t[1] += r1[i] * x[i];
      t[2] += r2[i] * x[i]; t[3] += r3[i] * x[i];
    }
    _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(t),
      sum4_avx2(_mm256_add_ps(a0, c0), _mm256_add_ps(a1, c1),
                _mm256_add_ps(a2, c2), _mm256_add_ps(a3, c3))));
  }
  for (; j < n_out; j++) {
    const float *r = w + j * n_in;
    __m256 a = _mm256_setzero_ps(), c = a;
    float t = b[j];
    for (i = 0; i + 16 <= n_in; i += 16) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(x + i), a);
      c = _mm256_fmadd_ps(_mm256_loadu_ps(r + i + 8), _mm256_loadu_ps(x + i + 8), c);
    }
    if (i + 8 <= n_in) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(x + i), a);
      i += 8;
    }
    for (; i < n_in; i++) t += r[i] * x[i];
    y[j] = t + sum1_avx2(_mm256_add_ps(a, c));
  }
}

/* 6 rows x 16 samples: 12 sums in registers, 2 loads of samples and 6
** broadcasts of weights per step, within the 16 ymm registers.  The weight
** rows are read in place, one stream each: packing them first would cost a
** copy of every weight per chunk of samples. */
#define AVX2_MR 6
#define AVX2_NR 16

#define AVX2_ROWS(X)  X(0) X(1) X(2) X(3) X(4) X(5)
#define AVX2_LOAD(m)  __m256 l##m = _mm256_loadu_ps(c + (m) * ldc), \
                             h##m = _mm256_loadu_ps(c + (m) * ldc + 8);
#define AVX2_ROW(m)   const float *a##m = a + (m) * lda;
#define AVX2_FMA(m)   { __m256 am = _mm256_broadcast_ss(a##m + k); \
                        l##m = _mm256_fmadd_ps(am, b0, l##m); \
                        h##m = _mm256_fmadd_ps(am, b1, h##m); }
#define AVX2_STORE(m) _mm256_storeu_ps(c + (m) * ldc, l##m); \
                      _mm256_storeu_ps(c + (m) * ldc + 8, h##m);

/* C's rows ldc apart; tile_avx2 is this with ldc = AVX2_NR. */
TARGET_AVX2 static void tile_ldc_avx2(float *c, size_t ldc, const float *a, size_t lda,
                                      const float *b, size_t kc) {
  size_t k;
  AVX2_ROWS(AVX2_ROW)
  AVX2_ROWS(AVX2_LOAD)
  for (k = 0; k < kc; k++, b += AVX2_NR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    AVX2_ROWS(AVX2_FMA)
  }
  AVX2_ROWS(AVX2_STORE)
}

TARGET_AVX2 static void tile_avx2(float *c, const float *a, size_t lda,
                                  const float *b, size_t kc) {
  tile_ldc_avx2(c, AVX2_NR, a, lda, b, kc);
}

/* tile_ldc_avx2 from sums of +0, C never read: the same bits as on zeros. */
#define AVX2_ZERO(m)  __m256 l##m = _mm256_setzero_ps(), h##m = _mm256_setzero_ps();

TARGET_AVX2 static void tile_ldc_set_avx2(float *c, size_t ldc, const float *a,
                                          size_t lda, const float *b, size_t kc) {
  size_t k;
  AVX2_ROWS(AVX2_ROW)
  AVX2_ROWS(AVX2_ZERO)
  for (k = 0; k < kc; k++, b += AVX2_NR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    AVX2_ROWS(AVX2_FMA)
  }
  AVX2_ROWS(AVX2_STORE)
}

/* 32 floats a turn, the tail through nn_add_scalar: an add is one
** rounding, the same in any width. */
TARGET_AVX2 static void add_avx2(float *sum, const float *v, size_t n) {
  size_t i, k;
  for (i = 0; i + 32 <= n; i += 32)
    for (k = i; k < i + 32; k += 8)
      _mm256_storeu_ps(sum + k, _mm256_add_ps(_mm256_loadu_ps(sum + k),
                                              _mm256_loadu_ps(v + k)));
  nn_add_scalar(sum + i, v + i, n - i);
}

/* v kept under the mask of !(v <= 0), an unordered compare that is true
** for NaN: the bits of nn_relu_scalar (-0 to +0, NaN kept as it is).  Not
** max_ps, which returns its second operand when either is NaN and so
** drops the NaN in one order of operands, or turns -0 to -0 in the other. */
TARGET_AVX2 static void relu_avx2(float *v, size_t n) {
  __m256 zero = _mm256_setzero_ps();
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(v + i);
    _mm256_storeu_ps(v + i, _mm256_and_ps(x, _mm256_cmp_ps(x, zero, _CMP_NLE_UQ)));
  }
  nn_relu_scalar(v + i, n - i);
}

/* nn_adam_scalar eight values at a time, with the same operations in the
** same order (no fused multiply-add), so the tail agrees with the body. */
TARGET_AVX2 static void adam_avx2(float *w, float *m, float *v, const float *g,
                                  size_t n, const nn_adam_consts *c) {
  __m256 b1 = _mm256_set1_ps(c->b1), b2 = _mm256_set1_ps(c->b2);
  __m256 a1 = _mm256_set1_ps(1.0f - c->b1), a2 = _mm256_set1_ps(1.0f - c->b2);
  __m256 step = _mm256_set1_ps(c->step), ibc = _mm256_set1_ps(c->inv_sqrt_bc2);
  __m256 eps = _mm256_set1_ps(c->eps), decay = _mm256_set1_ps(c->decay);
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 gi = _mm256_loadu_ps(g + i);
    __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(a1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                              _mm256_mul_ps(a2, _mm256_mul_ps(gi, gi)));
    __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), ibc), eps);
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(w + i), decay),
                                          _mm256_mul_ps(step, _mm256_div_ps(mi, den))));
  }
  nn_adam_scalar(w + i, m + i, v + i, g + i, n - i, c);
}

TARGET_AVX2 static double sumsq_avx2(const float *v, size_t n) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  size_t i;
  for (i = 0; i + 32 <= n; i += 32) {
    __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + 8);
    __m256 x2 = _mm256_loadu_ps(v + i + 16), x3 = _mm256_loadu_ps(v + i + 24);
    a = _mm256_fmadd_ps(x0, x0, a);
    b = _mm256_fmadd_ps(x1, x1, b);
    c = _mm256_fmadd_ps(x2, x2, c);
    d = _mm256_fmadd_ps(x3, x3, d);
  }
  return (double)sum1_avx2(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d))) +
         nn_sumsq_scalar(v + i, n - i);
}


/* v > 0 ? v : alpha v, by a blend on the comparison (NaN: alpha NaN). */
TARGET_AVX2 static void leaky_relu_avx2(float *v, float alpha, size_t n) {
  __m256 a = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 x = _mm256_loadu_ps(v + i);
    _mm256_storeu_ps(v + i, _mm256_blendv_ps(_mm256_mul_ps(a, x), x,
                                             _mm256_cmp_ps(x, zero, _CMP_GT_OQ)));
  }
  nn_leaky_relu_scalar(v + i, alpha, n - i);
}

/* exp, sigmoid and tanh (see nn_kernel.h) with FMA, written once for
** vectors of W = 256 bits (8 values) and of W = 128 bits, whose first lane
** computes single values: the tails of the vector loops, and every value of
** a layer narrower than a vector.  A lone value goes in and out through a
** scalar load and store, which a masked vector load or store right beside
** the scalar code around it would stall for (store forwarding fails); the
** same operations round the same way in every lane, so a value gets the
** same bits whichever way it goes.
**
** exp: t holds n in its low bits, n = round(x / ln2) as a float,
** p = exp(x - n ln2), then 2^n = 2^n1 2^n2 with n1 = floor(n / 2), both
** normal, so that p 2^n1 is exact and a subnormal result rounds once.  The
** clamp keeps NaN (max and min return their second operand when one is
** NaN) and the arithmetic carries it on.  Sigmoid and tanh only ever ask
** for exp of x <= 0 (exp_low): the upper clamp is SoftMax's alone. */
#define EXP_POLY(T, P, x, t, n, p) EXP_POLY_LO(T, P, x, , t, n, p)

/* exp(x - c) (GELU's) when lo is "r_ = P##_sub_ps(r_, c)": c, tiny beside
** x, taken off the reduced argument; EXP_POLY passes no lo. */
#define EXP_POLY_LO(T, P, x, lo, t, n, p) do { \
    T rounder_ = P##_set1_ps(NN_ROUNDER), r_, q_; \
    x = P##_max_ps(P##_set1_ps(NN_EXP_LO), x); \
    t = P##_fmadd_ps(x, P##_set1_ps(NN_LOG2E), rounder_); \
    n = P##_sub_ps(t, rounder_); \
    r_ = P##_fnmadd_ps(n, P##_set1_ps(NN_LN2_HI), x); \
    r_ = P##_fnmadd_ps(n, P##_set1_ps(NN_LN2_LO), r_); \
    lo; \
    q_ = P##_fmadd_ps(r_, P##_set1_ps(NN_EXP_Q4), P##_set1_ps(NN_EXP_Q3)); \
    q_ = P##_fmadd_ps(r_, q_, P##_set1_ps(NN_EXP_Q2)); \
    q_ = P##_fmadd_ps(r_, q_, P##_set1_ps(NN_EXP_Q1)); \
    q_ = P##_fmadd_ps(r_, q_, P##_set1_ps(NN_EXP_Q0)); \
    p = P##_add_ps(P##_set1_ps(1.0f), P##_fmadd_ps(P##_mul_ps(r_, r_), q_, r_)); \
  } while (0)

/* tanh of a = |x| >= 0: small = the polynomial, big = (1 - e) / (1 + e),
** e = exp(-2a) (exp_low the exp of that width). */
#define TANH_PARTS(T, P, exp_low, a, small, big) do { \
    T one_ = P##_set1_ps(1.0f), z_ = P##_mul_ps(a, a), e_; \
    small = P##_fmadd_ps(z_, P##_set1_ps(NN_TANH_T4), P##_set1_ps(NN_TANH_T3)); \
    small = P##_fmadd_ps(z_, small, P##_set1_ps(NN_TANH_T2)); \
    small = P##_fmadd_ps(z_, small, P##_set1_ps(NN_TANH_T1)); \
    small = P##_fmadd_ps(z_, small, P##_set1_ps(NN_TANH_T0)); \
    small = P##_fmadd_ps(P##_mul_ps(a, z_), small, a); \
    e_ = exp_low(P##_mul_ps(P##_set1_ps(-2.0f), a)); \
    big = P##_div_ps(P##_sub_ps(one_, e_), P##_add_ps(one_, e_)); \
  } while (0)

/* GELU's parts (see nn_kernel.h and nn_kernel_generic.c's gelu_block) from
** a = |x|: e = exp(-a^2 / 2) and tp = t P(u), t = 1 / (1 + K a),
** u = K a t - C, a clamped to AMAX (NaN too, whose result x carries);
** a^2 = h + l exactly by a fused multiply-subtract (exp_lo the exp(x - c)
** of that width). */
#define GELU_PARTS(T, P, exp_lo, a, e, tp) do { \
    T one_ = P##_set1_ps(1.0f), a_ = P##_min_ps(a, P##_set1_ps(NN_GELU_AMAX)), h_, t_, u_, p_; \
    h_ = P##_mul_ps(a_, a_); \
    e = exp_lo(P##_mul_ps(P##_set1_ps(-0.5f), h_), \
               P##_mul_ps(P##_set1_ps(0.5f), P##_fmsub_ps(a_, a_, h_))); \
    u_ = P##_mul_ps(P##_set1_ps(NN_GELU_K), a_); \
    t_ = P##_div_ps(one_, P##_add_ps(u_, one_)); \
    u_ = P##_fmsub_ps(u_, t_, P##_set1_ps(NN_GELU_C)); \
    p_ = P##_fmadd_ps(P##_set1_ps(NN_GELU_P9), u_, P##_set1_ps(NN_GELU_P8)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P7)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P6)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P5)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P4)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P3)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P2)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P1)); \
    p_ = P##_fmadd_ps(p_, u_, P##_set1_ps(NN_GELU_P0)); \
    tp = P##_mul_ps(t_, p_); \
  } while (0)

/* The functions of one width: T the vector type, I its integer type, P the
** intrinsics' prefix, W the width in bits, and the suffix of their names. */
#define AVX2_FUNCTIONS(T, I, P, W, sfx) \
  /* p 2^n, n in t's low bits */ \
  TARGET_AVX2 static T exp_scale_##sfx(T p, T t) { \
    I m, n1, n2; \
    m = P##_sub_epi32(P##_castps_si##W(t), P##_castps_si##W(P##_set1_ps(NN_ROUNDER))); \
    n1 = P##_srai_epi32(m, 1); \
    n2 = P##_sub_epi32(m, n1); \
    n1 = P##_slli_epi32(P##_add_epi32(n1, P##_set1_epi32(127)), 23); \
    n2 = P##_slli_epi32(P##_add_epi32(n2, P##_set1_epi32(127)), 23); \
    return P##_mul_ps(P##_mul_ps(p, P##_castsi##W##_ps(n1)), P##_castsi##W##_ps(n2)); \
  } \
  TARGET_AVX2 static T exp_low_##sfx(T x) { \
    T t, n, p; \
    EXP_POLY(T, P, x, t, n, p); \
    return exp_scale_##sfx(p, t); \
  } \
  TARGET_AVX2 static T exp_lo_##sfx(T x, T c) { \
    T t, n, p; \
    EXP_POLY_LO(T, P, x, r_ = P##_sub_ps(r_, c), t, n, p); \
    return exp_scale_##sfx(p, t); \
  } \
  TARGET_AVX2 static T exp_##sfx(T x) { \
    return exp_low_##sfx(P##_min_ps(P##_set1_ps(NN_EXP_HI), x)); \
  } \
  /* e / (1 + e), e = exp(-|x|), where x has its sign bit set; 1 / (1 + e) \
  ** elsewhere */ \
  TARGET_AVX2 static T sigmoid_##sfx(T x) { \
    T one = P##_set1_ps(1.0f), e = exp_low_##sfx(P##_or_ps(x, P##_set1_ps(-0.0f))); \
    return P##_div_ps(P##_blendv_ps(one, e, x), P##_add_ps(one, e)); \
  } \
  TARGET_AVX2 static T tanh_##sfx(T x) { \
    T sign = P##_set1_ps(-0.0f), a = P##_andnot_ps(sign, x), t, big; \
    TANH_PARTS(T, P, exp_low_##sfx, a, t, big); \
    t = P##_blendv_ps(big, t, P##_cmp_ps(a, P##_set1_ps(NN_TANH_SMALL), _CMP_LT_OQ)); \
    return P##_or_ps(t, P##_and_ps(sign, x)); \
  } \
  /* x (1 - e tp) where x >= 0, e (x tp) where x has its sign bit set */ \
  TARGET_AVX2 static T gelu_##sfx(T x) { \
    T e, tp, pos, neg; \
    GELU_PARTS(T, P, exp_lo_##sfx, P##_andnot_ps(P##_set1_ps(-0.0f), x), e, tp); \
    pos = P##_mul_ps(x, P##_fnmadd_ps(e, tp, P##_set1_ps(1.0f))); \
    neg = P##_mul_ps(e, P##_mul_ps(x, tp)); \
    return P##_blendv_ps(pos, neg, x); \
  }

AVX2_FUNCTIONS(__m256, __m256i, _mm256, 256, avx2)
AVX2_FUNCTIONS(__m128, __m128i, _mm, 128, one)

/* One value at a time through the first lane. */
#define ONE_BY_ONE(v, n, f) do { \
    size_t k_; \
    for (k_ = 0; k_ < (n); k_++) (v)[k_] = _mm_cvtss_f32(f(_mm_set_ss((v)[k_]))); \
  } while (0)

/* vzeroupper on every way out: gcc leaves it off the path that ran no
** 256-bit instruction, and upper halves that earlier code left dirty then
** slowed every SSE instruction of the engine's scalar code after us: the
** seed's net took 5 times as long in make bench.
** The loop of either set: L values a vector, P the intrinsics' prefix, sfx
** the suffix of the vector function's name; the AVX-512 set's too.  What a
** whole vector leaves goes 8 values (in the AVX-512 set) and then 4 at a
** time through the narrower functions, whose lanes round as its do, and
** only the last 3 at most one by one: SoftMax's 8 exponentials on 16-wide
** vectors were 8 calls in a row.  Fewer than NN_ACT_FEW values (SoftMax's
** two in the seed's net) take none of that: the loop is a function of its
** own, never inlined, so that its vector registers, which it keeps on a
** stack it aligns for them, cost a narrow layer nothing. */
#define VECTOR_ACT(target, name, f, L, P, sfx) \
  target __attribute__((noinline)) static void name##_long(float *v, size_t n) { \
    size_t i; \
    for (i = 0; i + L <= n; i += L) P##_storeu_ps(v + i, f##_##sfx(P##_loadu_ps(v + i))); \
    if (L > 8 && i + 8 <= n) { _mm256_storeu_ps(v + i, f##_avx2(_mm256_loadu_ps(v + i))); i += 8; } \
    if (i + 4 <= n) { _mm_storeu_ps(v + i, f##_one(_mm_loadu_ps(v + i))); i += 4; } \
    ONE_BY_ONE(v + i, n - i, f##_one); \
    _mm256_zeroupper(); \
  } \
  target static void name(float *v, size_t n) { \
    if (n >= NN_ACT_FEW) { name##_long(v, n); return; } \
    ONE_BY_ONE(v, n, f##_one); \
    _mm256_zeroupper(); \
  }

/* One value through the first lane, as the loops above compute their last
** ones: SoftMax's narrow rows, in both sets (the AVX-512 set's tails are
** these functions too). */
TARGET_AVX2 static float exp1_avx2(float x) {
  float y = _mm_cvtss_f32(exp_one(_mm_set_ss(x)));
  _mm256_zeroupper();
  return y;
}

VECTOR_ACT(TARGET_AVX2, act_exp_avx2, exp, 8, _mm256, avx2)
VECTOR_ACT(TARGET_AVX2, act_sigmoid_avx2, sigmoid, 8, _mm256, avx2)
VECTOR_ACT(TARGET_AVX2, act_tanh_avx2, tanh, 8, _mm256, avx2)
VECTOR_ACT(TARGET_AVX2, act_gelu_avx2, gelu, 8, _mm256, avx2)

/* fold's double tile: 4 rows of 2 vectors, a product then a sum (no FMA:
** the bits of nn_tile_f64_scalar). */
TARGET_AVX2 static void tile_f64_avx2(double *c, size_t ldc, const double *a,
                                      const double *b, size_t kc) {
  __m256d c0 = _mm256_loadu_pd(c), c1 = _mm256_loadu_pd(c + 4);
  __m256d c2 = _mm256_loadu_pd(c + ldc), c3 = _mm256_loadu_pd(c + ldc + 4);
  __m256d c4 = _mm256_loadu_pd(c + 2 * ldc), c5 = _mm256_loadu_pd(c + 2 * ldc + 4);
  __m256d c6 = _mm256_loadu_pd(c + 3 * ldc), c7 = _mm256_loadu_pd(c + 3 * ldc + 4);
  size_t k;
  for (k = 0; k < kc; k++, a += 4, b += 8) {
    __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4), ar;
    ar = _mm256_broadcast_sd(a);
    c0 = _mm256_add_pd(c0, _mm256_mul_pd(ar, b0));
    c1 = _mm256_add_pd(c1, _mm256_mul_pd(ar, b1));
    ar = _mm256_broadcast_sd(a + 1);
    c2 = _mm256_add_pd(c2, _mm256_mul_pd(ar, b0));
    c3 = _mm256_add_pd(c3, _mm256_mul_pd(ar, b1));
    ar = _mm256_broadcast_sd(a + 2);
    c4 = _mm256_add_pd(c4, _mm256_mul_pd(ar, b0));
    c5 = _mm256_add_pd(c5, _mm256_mul_pd(ar, b1));
    ar = _mm256_broadcast_sd(a + 3);
    c6 = _mm256_add_pd(c6, _mm256_mul_pd(ar, b0));
    c7 = _mm256_add_pd(c7, _mm256_mul_pd(ar, b1));
  }
  _mm256_storeu_pd(c, c0);               _mm256_storeu_pd(c + 4, c1);
  _mm256_storeu_pd(c + ldc, c2);         _mm256_storeu_pd(c + ldc + 4, c3);
  _mm256_storeu_pd(c + 2 * ldc, c4);     _mm256_storeu_pd(c + 2 * ldc + 4, c5);
  _mm256_storeu_pd(c + 3 * ldc, c6);     _mm256_storeu_pd(c + 3 * ldc + 4, c7);
  _mm256_zeroupper();
}

const nn_kernel nn_kernel_avx2 = {
  "avx2", avx2_supported, linear_avx2, tile_avx2, relu_avx2, AVX2_MR, AVX2_NR, 256,
  16, 4,
  adam_avx2, sumsq_avx2, tile_ldc_avx2,
  leaky_relu_avx2, act_tanh_avx2, act_sigmoid_avx2, act_exp_avx2, exp1_avx2,
  tile_f64_avx2, tile_ldc_set_avx2, add_avx2,
  act_gelu_avx2
};


/* --- AVX-512F ---------------------------------------------------------- */

static int avx512_supported(void) {
  return avx2_supported() && __builtin_cpu_supports("avx512f");
}

/* [sum a0, sum a1, sum a2, sum a3] by halving: the upper halves of pairs
** are added in while the lanes are shuffled together. */
TARGET_AVX512 static __m128 sum4_avx512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  __m256 s0 = _mm256_add_ps(_mm512_castps512_ps256(a0),
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a0), 1)));
  __m256 s1 = _mm256_add_ps(_mm512_castps512_ps256(a1),
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a1), 1)));
  __m256 s2 = _mm256_add_ps(_mm512_castps512_ps256(a2),
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a2), 1)));
  __m256 s3 = _mm256_add_ps(_mm512_castps512_ps256(a3),
                            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a3), 1)));
  return sum4_avx2(s0, s1, s2, s3);
}

/* As linear_avx2, 16 floats a vector; the last partial vector of a row is
** read with a mask, which never touches memory past the row. */
TARGET_AVX512 static void linear_avx512(float *y, const float *x, const float *w,
                                        const float *b, size_t n_in, size_t n_out) {
  size_t j = 0, i, n_main = n_in / 16 * 16;
  __mmask16 tail = (__mmask16)((1u << (n_in - n_main)) - 1u);
  __m512 xt;
  if (n_in < 16) { nn_linear_scalar(y, x, w, b, n_in, n_out); return; }
  xt = _mm512_maskz_loadu_ps(tail, x + n_main);
  for (; j + 4 <= n_out; j += 4) {
    const float *r0 = w + j * n_in, *r1 = r0 + n_in, *r2 = r1 + n_in, *r3 = r2 + n_in;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0;
    for (i = 0; i + 32 <= n_in; i += 32) {
      __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i), x0, a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i), x0, a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i), x0, a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i), x0, a3);
      c0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i + 16), x1, c0);
      c1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i + 16), x1, c1);
      c2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i + 16), x1, c2);
      c3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i + 16), x1, c3);
    }
    if (i < n_main) {
      __m512 x0 = _mm512_loadu_ps(x + i);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + i), x0, a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + i), x0, a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r2 + i), x0, a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r3 + i), x0, a3);
    }
    if (tail) {
      c0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r0 + n_main), xt, c0);
      c1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r1 + n_main), xt, c1);
      c2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r2 + n_main), xt, c2);
      c3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r3 + n_main), xt, c3);
    }
    _mm_storeu_ps(y + j, _mm_add_ps(_mm_loadu_ps(b + j),
      sum4_avx512(_mm512_add_ps(a0, c0), _mm512_add_ps(a1, c1),
                  _mm512_add_ps(a2, c2), _mm512_add_ps(a3, c3))));
  }
  for (; j < n_out; j++) {
    const float *r = w + j * n_in;
    __m512 a = _mm512_setzero_ps(), c = a;
    for (i = 0; i + 32 <= n_in; i += 32) {
      a = _mm512_fmadd_ps(_mm512_loadu_ps(r + i), _mm512_loadu_ps(x + i), a);
      c = _mm512_fmadd_ps(_mm512_loadu_ps(r + i + 16), _mm512_loadu_ps(x + i + 16), c);
    }
    if (i < n_main) a = _mm512_fmadd_ps(_mm512_loadu_ps(r + i), _mm512_loadu_ps(x + i), a);
    if (tail) c = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + n_main), xt, c);
    y[j] = b[j] + _mm512_reduce_add_ps(_mm512_add_ps(a, c));
  }
}

/* 12 rows x 32 samples: 24 sums in zmm registers, 2 loads of samples and
** 12 broadcasts of weights per step; enough independent FMAs to keep both
** FMA pipes of a core busy through their latency.  gcc keeps all but one of
** the 12 row pointers in registers. */
#define AVX512_MR 12
#define AVX512_NR 32

#define AVX512_ROWS(X)  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define AVX512_LOAD(m)  __m512 l##m = _mm512_loadu_ps(c + (m) * ldc), \
                               h##m = _mm512_loadu_ps(c + (m) * ldc + 16);
#define AVX512_ROW(m)   const float *a##m = a + (m) * lda;
#define AVX512_FMA(m)   { __m512 am = _mm512_set1_ps(a##m[k]); \
                          l##m = _mm512_fmadd_ps(am, b0, l##m); \
                          h##m = _mm512_fmadd_ps(am, b1, h##m); }
#define AVX512_STORE(m) _mm512_storeu_ps(c + (m) * ldc, l##m); \
                        _mm512_storeu_ps(c + (m) * ldc + 16, h##m);

/* C's rows ldc apart; tile_avx512 is this with ldc = AVX512_NR. */
TARGET_AVX512 static void tile_ldc_avx512(float *c, size_t ldc, const float *a,
                                          size_t lda, const float *b, size_t kc) {
  size_t k;
  AVX512_ROWS(AVX512_ROW)
  AVX512_ROWS(AVX512_LOAD)
  for (k = 0; k < kc; k++, b += AVX512_NR) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    AVX512_ROWS(AVX512_FMA)
  }
  AVX512_ROWS(AVX512_STORE)
}

TARGET_AVX512 static void tile_avx512(float *c, const float *a, size_t lda,
                                      const float *b, size_t kc) {
  tile_ldc_avx512(c, AVX512_NR, a, lda, b, kc);
}

/* tile_ldc_avx512 from sums of +0, C never read. */
#define AVX512_ZERO(m)  __m512 l##m = _mm512_setzero_ps(), h##m = _mm512_setzero_ps();

TARGET_AVX512 static void tile_ldc_set_avx512(float *c, size_t ldc, const float *a,
                                              size_t lda, const float *b, size_t kc) {
  size_t k;
  AVX512_ROWS(AVX512_ROW)
  AVX512_ROWS(AVX512_ZERO)
  for (k = 0; k < kc; k++, b += AVX512_NR) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    AVX512_ROWS(AVX512_FMA)
  }
  AVX512_ROWS(AVX512_STORE)
}

/* 64 floats a turn, the last partial vector under a mask. */
TARGET_AVX512 static void add_avx512(float *sum, const float *v, size_t n) {
  size_t i, k;
  for (i = 0; i + 64 <= n; i += 64)
    for (k = i; k < i + 64; k += 16)
      _mm512_storeu_ps(sum + k, _mm512_add_ps(_mm512_loadu_ps(sum + k),
                                              _mm512_loadu_ps(v + k)));
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(sum + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, sum + i),
                                                    _mm512_maskz_loadu_ps(m, v + i)));
  }
}

/* As relu_avx2: v where !(v <= 0) (NaN too), +0 elsewhere. */
TARGET_AVX512 static void relu_avx512(float *v, size_t n) {
  __m512 zero = _mm512_setzero_ps();
  size_t i;
  for (i = 0; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(v + i);
    _mm512_storeu_ps(v + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, zero, _CMP_NLE_UQ), x));
  }
  relu_avx2(v + i, n - i);
}

TARGET_AVX512 static void adam_avx512(float *w, float *m, float *v, const float *g,
                                      size_t n, const nn_adam_consts *c) {
  __m512 b1 = _mm512_set1_ps(c->b1), b2 = _mm512_set1_ps(c->b2);
  __m512 a1 = _mm512_set1_ps(1.0f - c->b1), a2 = _mm512_set1_ps(1.0f - c->b2);
  __m512 step = _mm512_set1_ps(c->step), ibc = _mm512_set1_ps(c->inv_sqrt_bc2);
  __m512 eps = _mm512_set1_ps(c->eps), decay = _mm512_set1_ps(c->decay);
  size_t i;
  for (i = 0; i + 16 <= n; i += 16) {
    __m512 gi = _mm512_loadu_ps(g + i);
    __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(a1, gi));
    __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)),
                              _mm512_mul_ps(a2, _mm512_mul_ps(gi, gi)));
    __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), ibc), eps);
    _mm512_storeu_ps(m + i, mi);
    _mm512_storeu_ps(v + i, vi);
    _mm512_storeu_ps(w + i, _mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(w + i), decay),
                                          _mm512_mul_ps(step, _mm512_div_ps(mi, den))));
  }
  adam_avx2(w + i, m + i, v + i, g + i, n - i, c);
}

TARGET_AVX512 static double sumsq_avx512(const float *v, size_t n) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  size_t i;
  for (i = 0; i + 64 <= n; i += 64) {
    __m512 x0 = _mm512_loadu_ps(v + i), x1 = _mm512_loadu_ps(v + i + 16);
    __m512 x2 = _mm512_loadu_ps(v + i + 32), x3 = _mm512_loadu_ps(v + i + 48);
    a = _mm512_fmadd_ps(x0, x0, a);
    b = _mm512_fmadd_ps(x1, x1, b);
    c = _mm512_fmadd_ps(x2, x2, c);
    d = _mm512_fmadd_ps(x3, x3, d);
  }
  return (double)_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d))) +
         nn_sumsq_scalar(v + i, n - i);
}


TARGET_AVX512 static void leaky_relu_avx512(float *v, float alpha, size_t n) {
  __m512 a = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
  size_t i;
  for (i = 0; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(v + i);
    _mm512_storeu_ps(v + i, _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_NGT_UQ),
                                               a, x));
  }
  leaky_relu_avx2(v + i, alpha, n - i);
}

/* As exp_low_avx2, 16 values a vector; scalef multiplies by 2^n and
** rounds once, as the two steps of exp_low_avx2 do (subnormal results and
** overflow to inf included): the same bits. */
TARGET_AVX512 static __m512 exp_low_avx512(__m512 x) {
  __m512 t, n, p;
  EXP_POLY(__m512, _mm512, x, t, n, p);
  return _mm512_scalef_ps(p, n);
}

TARGET_AVX512 static __m512 exp_lo_avx512(__m512 x, __m512 c) {
  __m512 t, n, p;
  EXP_POLY_LO(__m512, _mm512, x, r_ = _mm512_sub_ps(r_, c), t, n, p);
  return _mm512_scalef_ps(p, n);
}

TARGET_AVX512 static __m512 exp_avx512(__m512 x) {
  return exp_low_avx512(_mm512_min_ps(_mm512_set1_ps(NN_EXP_HI), x));
}

TARGET_AVX512 static __m512 sigmoid_avx512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = exp_low_avx512(_mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x),
                                              _mm512_set1_epi32((int)0x80000000u))));
  __mmask16 neg = _mm512_cmplt_epi32_mask(_mm512_castps_si512(x), _mm512_setzero_si512());
  return _mm512_div_ps(_mm512_mask_blend_ps(neg, one, e), _mm512_add_ps(one, e));
}

TARGET_AVX512 static __m512 tanh_avx512(__m512 x) {
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(x))), t, big;
  TANH_PARTS(__m512, _mm512, exp_low_avx512, a, t, big);
  t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(NN_TANH_SMALL), _CMP_LT_OQ),
                           big, t);
  /* t | (x & sign) in one instruction: 0xf8 is the truth table of a | (b & c) */
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(t),
                                                       _mm512_castps_si512(x), sign, 0xf8));
}

TARGET_AVX512 static __m512 gelu_avx512(__m512 x) {
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(x))), e, tp;
  __mmask16 neg = _mm512_cmplt_epi32_mask(_mm512_castps_si512(x), _mm512_setzero_si512());
  GELU_PARTS(__m512, _mm512, exp_lo_avx512, a, e, tp);
  return _mm512_mask_blend_ps(neg, _mm512_mul_ps(x, _mm512_fnmadd_ps(e, tp, _mm512_set1_ps(1.0f))),
                              _mm512_mul_ps(e, _mm512_mul_ps(x, tp)));
}

/* The last n % 16 values as in the AVX2 set: the same bits. */
VECTOR_ACT(TARGET_AVX512, act_exp_avx512, exp, 16, _mm512, avx512)
VECTOR_ACT(TARGET_AVX512, act_sigmoid_avx512, sigmoid, 16, _mm512, avx512)
VECTOR_ACT(TARGET_AVX512, act_tanh_avx512, tanh, 16, _mm512, avx512)
VECTOR_ACT(TARGET_AVX512, act_gelu_avx512, gelu, 16, _mm512, avx512)

/* fold's double tile: a vector a row, a product then a sum (no FMA). */
TARGET_AVX512 static void tile_f64_avx512(double *c, size_t ldc, const double *a,
                                          const double *b, size_t kc) {
  __m512d c0 = _mm512_loadu_pd(c), c1 = _mm512_loadu_pd(c + ldc);
  __m512d c2 = _mm512_loadu_pd(c + 2 * ldc), c3 = _mm512_loadu_pd(c + 3 * ldc);
  size_t k;
  for (k = 0; k < kc; k++, a += 4, b += 8) {
    __m512d bk = _mm512_loadu_pd(b);
    c0 = _mm512_add_pd(c0, _mm512_mul_pd(_mm512_set1_pd(a[0]), bk));
    c1 = _mm512_add_pd(c1, _mm512_mul_pd(_mm512_set1_pd(a[1]), bk));
    c2 = _mm512_add_pd(c2, _mm512_mul_pd(_mm512_set1_pd(a[2]), bk));
    c3 = _mm512_add_pd(c3, _mm512_mul_pd(_mm512_set1_pd(a[3]), bk));
  }
  _mm512_storeu_pd(c, c0);
  _mm512_storeu_pd(c + ldc, c1);
  _mm512_storeu_pd(c + 2 * ldc, c2);
  _mm512_storeu_pd(c + 3 * ldc, c3);
}

const nn_kernel nn_kernel_avx512 = {
  "avx512", avx512_supported, linear_avx512, tile_avx512, relu_avx512,
  AVX512_MR, AVX512_NR, 256, 16, 6,
  adam_avx512, sumsq_avx512, tile_ldc_avx512,
  leaky_relu_avx512, act_tanh_avx512, act_sigmoid_avx512, act_exp_avx512, exp1_avx2,
  tile_f64_avx512, tile_ldc_set_avx512, add_avx512,
  act_gelu_avx512
};

#else

/* ISO C wants at least one declaration in a file. */
typedef int nn_kernel_x86_unused;

#endif
