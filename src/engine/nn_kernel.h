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
**           nn_engine.c lays the samples out in such panels, and
**           nn_linear_panels (nn_kernel.c) calls tile once per tile.  Training (nn_train.c) calls it for the
**           backward products too, on panels it packs the same way.
**   adam    one Adam update of a run of parameters.
**   sumsq   a sum of squares: the gradient's norm, and whether it is finite.
**   tile_ldc   tile with C's rows at any distance.
**   tile_ldc_set  tile_ldc on a C of zeros, which it never reads: training's
**           dW written in place of a memset and an add.
**   add     sum += v: a chunk's gradient into the step's, in chunk order.
**   relu, leaky_relu, act_tanh, act_sigmoid, act_exp, act_gelu
**           element-wise, in place, on n values one after another: one
**           sample's layer, or a whole panel of a batch.  act_exp is
**           SoftMax's exponential, act_gelu GELU's x Phi(x).
**   tile_f64   fold's blocked product in double (nn_fold.c).
** None allocates or needs aligned pointers.  Training runs its forward
** activations through the same pointers (nn_kernel_in_use->act_tanh, ...);
** its backward passes need no kernel of their own, since they read the
** stored outputs y: tanh' = 1 - y^2, sigmoid' = y (1 - y).
**
** The transcendental kernels are range-reduced polynomials, the same in
** every set (the constants below), with no call into libm:
**   exp(x)      x = n ln2 + r, |r| <= ln2/2 (ln2 in two parts, Cody and
**               Waite); exp(r) = 1 + r + r^2 q(r), q of degree 4; times 2^n
**               in two steps, 2^(n/2) then the rest, so that results from
**               FLT_MIN down to the smallest subnormal round once.
**   sigmoid(x)  e = exp(-|x|) <= 1, never overflowing; e / (1 + e) for
**               x < 0, 1 / (1 + e) otherwise.
**   tanh(x)     |x| < 0.625: x + x^3 t(x^2), t of degree 4; beyond:
**               (1 - e) / (1 + e) with e = exp(-2|x|); the sign of x put
**               back last (tanh(-0) = -0).
**   gelu(x)     x Phi(x), from q = Phi(-a) = erfc(a / sqrt 2) / 2 of
**               a = min(|x|, 14.5), never from 1 + erf, which cancels:
**               q = exp(-a^2 / 2) t P(u), t = 1 / (1 + K a),
**               u = K a t - C (= 1 - t - C, but exact where t is near 1),
**               P of degree 9 (a weighted least-squares fit of the relative
**               error, 2.5e-9 before its coefficients were rounded to
**               float); a^2 = h + l exactly (a fused multiply-subtract, or
**               the product in double in the generic set), exp of -h/2
**               with l/2 taken off its reduced argument; then
**               x (1 - q) for x >= 0 and e (x t P(u)) below, where a
**               subnormal result rounds once.
** Each element's result depends on its value alone, never on its place in
** the array (a tail goes through the same arithmetic: in blocks of 4 and
** then a value at a time in the generic set; in the x86 ones, 8 and then 4
** values at a time in narrower vectors, the rest a value at a time in a
** vector's first lane), so a batch gives bit for bit what one sample gives,
** and a layer narrower than a vector pays for no vector width.  The generic set is
** plain C in fixed blocks that gcc -O2 turns into SSE code; the x86 sets
** use FMA, which moves some results by a unit in the last place.
**
** Accuracy, against double-precision exp, 1/(1+exp(-x)), tanh and
** x erfc(-x/sqrt 2)/2, in units in the last place (ulp) of the float
** result (2^-149 for a subnormal one): the bound that
** spec/activation_spec.lua asserts over a sweep of every float bit pattern
** (every 101st, and every float near each threshold, by
** spec/support/act_check.c), and the largest error over all 2^32 bit
** patterns (act_check 1, on a processor with AVX-512):
**               exp           sigmoid       tanh          gelu
**   bound       1.5           2.5           2             5
**   generic     0.989         2.402         1.519         4.712 *
**   avx2        1.014         2.402         1.509         4.024 *
**   avx512      1.014         2.402         1.509         4.024 *
**   neon        the generic set's functions
** * GELU's over the sweep of every 101st bit pattern and the floats near its
** thresholds, not yet over all 2^32 (act_check 1 gelu does that alone).
** Its worst cases are where Phi(x) is small, x < 0, the error there being
** the sum of exp's (up to 1 ulp), of the polynomial's rounded coefficients
** and evaluation (up to 2, where P(u) falls from 0.5 at x = 0 towards 0.12
** far out, its terms cancelling) and of t's and the products' roundings:
** generic at x = -9.105 (c111aec8), avx2 and avx512 at x = -0.3225
** (bea51b8d).
** Any two sets are within the same bounds of each other (1, 2, 2 and 5 ulps
** apart at most, over all 2^32 too; GELU's 4 in the sweep).  NaN gives NaN; exp(+inf) = inf,
** exp(-inf) = 0, sigmoid(+-inf) = 1 and 0, tanh(+-inf) = +-1 as libm's;
** far out the results are exact: tanh = +-1 for |x| >= 9.1, sigmoid = 1
** for x >= 17 and 0 for x <= -104, exp = inf for x >= 89 and 0 for
** x <= -104, gelu = x for x >= 5.5 and 0 for x <= -14.5 (gelu(+inf) = inf,
** gelu(-inf) NaN, as x erfc(-x/sqrt 2)/2 gives them in double).  tanh is
** always in [-1, 1], sigmoid in [0, 1], exp >= 0, gelu between x and 0
** and never below its minimum, -0.17.
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
typedef void nn_leaky_fn(float *v /* [n] */, float alpha, size_t n);
typedef void nn_act_fn(float *v /* [n] */, size_t n);
typedef float nn_act1_fn(float x);
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

/* sum[i] += v[i], one rounding each: every set gives the same bits. */
typedef void nn_add_fn(float *sum /* [n] */, const float *v /* [n] */, size_t n);

/* fold's product (nn_fold.c), in double: C [4][8] += A B, with A kc
** columns of 4 rows packed [kc][4] and B kc rows of 8 packed [kc][8], C's
** rows ldc doubles apart.  Each entry is summed in the order of k, a
** product rounded and then a sum rounded (no fused multiply-add): every
** set gives the bits of the plain loop, and of the fold before it was
** blocked. */
#define NN_F64_MR 4
#define NN_F64_NR 8
typedef void nn_tile_f64_fn(double *c /* [4][ldc] */, size_t ldc,
                            const double *a /* [kc][4] */,
                            const double *b /* [kc][8] */, size_t kc);

typedef struct nn_kernel {
  const char *name;
  int (*supported)(void);     /* 1 when this processor (and its OS) runs it */
  nn_linear_fn *linear;
  nn_tile_fn *tile;
  nn_relu_fn *relu;           /* v = max(v, 0) in place, NaN kept (as fmax
                                 and PyTorch keep it), -0 to +0: no branch,
                                 which would mispredict half the time */
  size_t mr, nr;              /* tile shape: weight rows x samples */
  size_t kc;                  /* inner length per call: kc x nr floats of
                                 samples stay in L1 while weight rows stream */
  size_t narrow;              /* linear, relu and leaky_relu on fewer values
                                 than this go to the (branch-free) scalar
                                 code without a call; the transcendental
                                 kernels take any n, so that a sample and a
                                 batch round alike */
  size_t few;                 /* a last panel with fewer samples than this is
                                 cheaper one sample at a time with linear */
  /* training (nn_train.c); new fields go after the last one */
  nn_adam_fn *adam;
  nn_sumsq_fn *sumsq;
  nn_tile_ldc_fn *tile_ldc;
  /* activations (nn_engine.c's kinds, forward in inference and training) */
  nn_leaky_fn *leaky_relu;    /* v = v > 0 ? v : alpha v, NaN stays NaN */
  nn_act_fn *act_tanh;        /* v = tanh(v) */
  nn_act_fn *act_sigmoid;     /* v = 1 / (1 + exp(-v)) */
  nn_act_fn *act_exp;         /* v = exp(v), SoftMax's: exp(0) is exactly 1 */
  nn_act1_fn *act_exp1;       /* exp of one value, the bits act_exp gives it:
                                 SoftMax's rows narrower than NN_ACT_FEW */
  /* fold (nn_fold.c) */
  nn_tile_f64_fn *tile_f64;
  /* training again (nn_kind_linear.c, nn_train.c) */
  nn_tile_ldc_fn *tile_ldc_set;   /* C = A B: the bits of tile_ldc on zeros */
  nn_add_fn *add;
  /* smooth activations (nn_kind_smooth.c); new fields go after the last */
  nn_act_fn *act_gelu;        /* v = v Phi(v) = v erfc(-v / sqrt 2) / 2 */
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

/* Floats of a pass's tile scratch (nn_panels.part) for kernel set k: a
** Linear's edge rows [mr][kc]; a convolution's (nn_kind_conv.c) edge rows,
** a patch [kc][nr] and a tile [mr][nr]. */
#define NN_PART_FLOATS(k)  ((2 * (k)->mr + (k)->nr) * (k)->kc)

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

/* The scalar sum += v, for the tails of the vector ones. */
void nn_add_scalar(float *sum, const float *v, size_t n);

/* The scalar ReLU and LeakyReLU, branch-free, for narrow layers and the
** tails of the vector ones. */
void nn_relu_scalar(float *v /* [n] */, size_t n);
void nn_leaky_relu_scalar(float *v /* [n] */, float alpha, size_t n);

/* The portable double tile of fold, which sets without their own use. */
void nn_tile_f64_scalar(double *c, size_t ldc, const double *a, const double *b,
                        size_t kc);

/* The portable tanh, sigmoid and exp (the generic set's), which sets
** without their own use too. */
void nn_act_tanh_generic(float *v /* [n] */, size_t n);
void nn_act_sigmoid_generic(float *v /* [n] */, size_t n);
void nn_act_exp_generic(float *v /* [n] */, size_t n);
float nn_act_exp1_generic(float x);
void nn_act_gelu_generic(float *v /* [n] */, size_t n);

/* Fewer values than this take no vector width in any set: each is
** computed alone (the x86 sets in a vector's first lane, without their
** loops; the generic set, and NEON through it, in plain scalar code).
** SoftMax (nn_engine.c) takes such a row a value at a time through
** act_exp1, leaving its maximum's exp out. */
#define NN_ACT_FEW     4

/* The constants of the transcendental kernels, shared by every set. */
#define NN_EXP_LO      (-110.0f)   /* exp clamps x to [LO, HI]: beyond, the */
#define NN_EXP_HI      90.0f       /* result is 0 or inf already */
#define NN_LOG2E       1.44269502f
#define NN_LN2_HI      0.693359375f        /* 9 bits: n LN2_HI is exact */
#define NN_LN2_LO      (-2.12194442e-4f)   /* ln 2 - LN2_HI */
#define NN_ROUNDER     12582912.0f         /* 1.5 2^23: x + it - it rounds x */
#define NN_EXP_Q0      4.999999404e-01f    /* exp(r) = 1 + r + r^2 q(r) */
#define NN_EXP_Q1      1.666652113e-01f
#define NN_EXP_Q2      4.166838899e-02f
#define NN_EXP_Q3      8.368710987e-03f
#define NN_EXP_Q4      1.381460461e-03f
#define NN_TANH_SMALL  0.625f              /* below: the polynomial */
#define NN_TANH_T0     (-3.333328068e-01f) /* tanh(x) = x + x^3 t(x^2) */
#define NN_TANH_T1     1.333144158e-01f
#define NN_TANH_T2     (-5.373970047e-02f)
#define NN_TANH_T3     2.063904889e-02f
#define NN_TANH_T4     (-5.704947282e-03f)
#define NN_GELU_AMAX   14.5f               /* |x| beyond: Phi(x) is 0 or 1 */
#define NN_GELU_K      0.296875f           /* t = 1 / (1 + K |x|) */
#define NN_GELU_C      0.5f                /* u = K |x| t - C, in [-C, 0.31] */
#define NN_GELU_P0     2.199536562e-01f /* Phi(-|x|) = */
#define NN_GELU_P1     (-3.279313445e-01f)/*   exp(-x^2 / 2) t P(u) */
#define NN_GELU_P2     3.494772017e-01f
#define NN_GELU_P3     (-2.314654440e-01f)
#define NN_GELU_P4     3.937774152e-02f
#define NN_GELU_P5     7.477889955e-02f
#define NN_GELU_P6     (-4.172275215e-02f)
#define NN_GELU_P7     (-3.284493834e-02f)
#define NN_GELU_P8     2.284093760e-02f
#define NN_GELU_P9     2.047086135e-02f


/* Training runs with subnormal floats flushed to zero, as results and as
** inputs: gradients through saturated Tanh and Sigmoid units shrink into
** the subnormal range, where each operation costs a hundred times a normal
** one (an RPROP run on a small set slowed fivefold as it converged).  Such
** values change no weight by anything a float can hold.  nn_fp_flush sets
** the mode for the calling thread and returns the mode before, which
** nn_fp_restore puts back: the host's and Lua's own arithmetic are never
** touched.  x86-64: MXCSR's FTZ and DAZ; AArch64: FPCR.FZ; elsewhere, a
** no-op.  Forward passes outside training do not flush: an inference keeps
** every subnormal result. */
unsigned long nn_fp_flush(void);
void nn_fp_restore(unsigned long saved);

/* The scalar y = W x + b, which the vector sets also use for layers too
** narrow to fill a vector. */
void nn_linear_scalar(float *y /* [n_out] */, const float *x /* [n_in] */,
                      const float *w /* [n_out][n_in] */, const float *b /* [n_out] */,
                      size_t n_in, size_t n_out);

/* out = W in + b for every panel of a batch (nn_engine.h: struct
** nn_panels), on the tile of the panels' kernel set: Linear's batch
** forward, and training's dX = W^T dY with W^T and a zero bias. */
struct nn_panels;
void nn_linear_panels(float *out /* panels of n_out */, const float *in /* panels of n_in */,
                      const float *w /* [n_out][n_in], then b [n_out] */,
                      size_t n_in, size_t n_out, const struct nn_panels *pn);

/* The two kinds the forward pass of one sample calls without its
** descriptor (nn_engine.c), and their own descriptors call too
** (nn_kind_linear.c, nn_kind_act.c): inline, so that the hot path makes no
** call more than the kernel's own. */
static inline void nn_linear_forward(float *y /* [n_out] */, const float *x /* [n_in] */,
                                     const float *w /* [n_out][n_in] */,
                                     const float *b /* [n_out] */,
                                     size_t n_in, size_t n_out) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n_in < k->narrow) nn_linear_scalar(y, x, w, b, n_in, n_out);
  else k->linear(y, x, w, b, n_in, n_out);
}

static inline void nn_relu_forward(float *v /* [n] */, size_t n) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n < k->narrow) nn_relu_scalar(v, n);
  else k->relu(v, n);
}

#endif
