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
#include "nn_kernel.h"

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

/* max(v, 0) returns its second operand when v is NaN: 0, as v > 0 ? v : 0. */
TARGET_AVX2 static void relu_avx2(float *v, size_t n) {
  size_t i;
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(v + i, _mm256_max_ps(_mm256_loadu_ps(v + i), _mm256_setzero_ps()));
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

const nn_kernel nn_kernel_avx2 = {
  "avx2", avx2_supported, linear_avx2, tile_avx2, relu_avx2, AVX2_MR, AVX2_NR, 256,
  16, 4,
  adam_avx2, sumsq_avx2, tile_ldc_avx2
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

TARGET_AVX512 static void relu_avx512(float *v, size_t n) {
  size_t i;
  for (i = 0; i + 16 <= n; i += 16)
    _mm512_storeu_ps(v + i, _mm512_max_ps(_mm512_loadu_ps(v + i), _mm512_setzero_ps()));
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

const nn_kernel nn_kernel_avx512 = {
  "avx512", avx512_supported, linear_avx512, tile_avx512, relu_avx512,
  AVX512_MR, AVX512_NR, 256, 16, 6,
  adam_avx512, sumsq_avx512, tile_ldc_avx512
};

#else

/* ISO C wants at least one declaration in a file. */
typedef int nn_kernel_x86_unused;

#endif
