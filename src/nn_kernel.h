/*
** nn_kernel.h: the dense kernels behind every Linear layer, one set per
** instruction set, and the choice among them.  Internal to the engine: not
** installed, not for hosts (they use nn_kernel_name / nn_kernel_select).
**
** The kernels of each set:
**   linear  y = W x + b for one sample, W [n_out][n_in] row-major as stored.
**   tile    the batch micro-kernel: C [mr][nr] += A B, with A kc columns
**           of mr weight rows, read where they are (row i at a + i lda), and
**           B kc rows of a panel of nr samples ([kc][nr], contiguous).
**           nn_engine.c lays the samples out in such panels and calls tile
**           once per tile.  Training (nn_train.c) calls it for the
**           backward products too, on panels it packs the same way.
**   adam    one Adam update of a run of parameters.
**   sumsq   a sum of squares: the gradient's norm, and whether it is finite.
**   tile_ldc   tile with C's rows at any distance.
** Neither allocates nor needs aligned pointers.
*/
#ifndef NN_KERNEL_H
#define NN_KERNEL_H

#include <stddef.h>

/* The x86 sets are compiled with GNU target attributes, so only x86-64 GNU
** compilers (gcc, clang) build them; anything else gets the generic one.
** -DNN_GENERIC_ONLY leaves them out on x86 too. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(NN_GENERIC_ONLY)
#define NN_HAVE_X86 1
#else
#define NN_HAVE_X86 0
#endif

typedef void nn_linear_fn(float *y /* [n_out] */, const float *x /* [n_in] */,
                          const float *w /* [n_out][n_in] */,
                          const float *b /* [n_out] */, size_t n_in, size_t n_out);
typedef void nn_relu_fn(float *v /* [n] */, size_t n);
typedef void nn_tile_fn(float *c /* [mr][nr] */, const float *a /* [mr][lda] */,
                        size_t lda, const float *b /* [kc][nr] */, size_t kc);

/* One Adam (AdamW) update of n parameters, as nn_train.c computes the
** constants of step t: w = w * decay; m = b1 m + (1 - b1) g;
** v = b2 v + (1 - b2) g^2; w -= step * m / (sqrt(v) * inv_sqrt_bc2 + eps). */
typedef struct nn_adam_consts {
  float b1, b2, step, inv_sqrt_bc2, eps, decay;
} nn_adam_consts;
typedef void nn_adam_fn(float *w /* [n] */, float *m /* [n] */, float *v /* [n] */,
                        const float *g /* [n] */, size_t n, const nn_adam_consts *c);

/* tile with C's rows ldc floats apart instead of nr: the training's dW
** accumulates into the gradient in place. */
typedef void nn_tile_ldc_fn(float *c /* [mr][ldc] */, size_t ldc,
                            const float *a /* [mr][lda] */, size_t lda,
                            const float *b /* [kc][nr] */, size_t kc);

/* The sum of v[i]^2 (a gradient's squared norm): NaN or infinite when a
** value is, so that one pass also checks a gradient. */
typedef double nn_sumsq_fn(const float *v /* [n] */, size_t n);

typedef struct nn_kernel {
  const char *name;
  int (*supported)(void);     /* 1 when this processor (and its OS) runs it */
  nn_linear_fn *linear;
  nn_tile_fn *tile;
  nn_relu_fn *relu;           /* v = max(v, 0) in place, NaN to 0: a branch
                                 per value would mispredict half the time */
  size_t mr, nr;              /* tile shape: weight rows x samples */
  size_t kc;                  /* inner length per call: kc x nr floats of
                                 samples stay in L1 while weight rows stream */
  size_t narrow;              /* linear and relu on fewer values than this
                                 go to the scalar code without a call */
  size_t few;                 /* a last panel with fewer samples than this is
                                 cheaper one sample at a time with linear */
  /* training (nn_train.c); new fields go after the last one */
  nn_adam_fn *adam;
  nn_sumsq_fn *sumsq;
  nn_tile_ldc_fn *tile_ldc;
} nn_kernel;

/* AArch64 always has Advanced SIMD (nn_kernel_neon.c). */
#if defined(__aarch64__) && !defined(NN_GENERIC_ONLY)
#define NN_HAVE_NEON 1
#else
#define NN_HAVE_NEON 0
#endif

extern const nn_kernel nn_kernel_generic;
#if NN_HAVE_X86
extern const nn_kernel nn_kernel_avx2, nn_kernel_avx512;
#endif
#if NN_HAVE_NEON
extern const nn_kernel nn_kernel_neon;
#endif

/* Every kernel compiled in, best first, NULL-terminated. */
extern const nn_kernel *const nn_kernels[];

/* The kernel in use (see nn_kernel_select in nn_engine.h): a variable
** rather than a function, since the seed's 4-3-2 net takes some 40 ns and
** every call shows. */
extern const nn_kernel *nn_kernel_in_use;

/* The scalar Adam update, for the tails of the vector ones. */
void nn_adam_scalar(float *w, float *m, float *v, const float *g, size_t n,
                    const nn_adam_consts *c);

/* The scalar sum of squares, for the tails of the vector ones. */
double nn_sumsq_scalar(const float *v, size_t n);

/* The scalar ReLU, for the tails of the vector ones. */
void nn_relu_scalar(float *v /* [n] */, size_t n);

/* The scalar y = W x + b, which the vector sets also use for layers too
** narrow to fill a vector. */
void nn_linear_scalar(float *y /* [n_out] */, const float *x /* [n_in] */,
                      const float *w /* [n_out][n_in] */, const float *b /* [n_out] */,
                      size_t n_in, size_t n_out);

#endif
