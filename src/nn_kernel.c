/*
** nn_kernel.c: the portable (generic) kernels, and which kernel set the
** engine uses.
**
** Plain C99 that any compiler builds; the x86 sets are in nn_kernel_x86.c,
** the AArch64 one in nn_kernel_neon.c.
** The choice is made once when the library is loaded (from what the
** processor and the OS support) and changed only by nn_kernel_select; it is
** one process-wide pointer, read by every forward pass.  Not thread-safe to
** change while forward passes run, as nn_engine.h says.
*/
#include <math.h>
#include <string.h>

#include "nn_engine.h"
#include "nn_kernel.h"

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

void nn_relu_scalar(float *v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) v[i] = v[i] > 0.0f ? v[i] : 0.0f;
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

static int always(void) { return 1; }

const nn_kernel nn_kernel_generic = {
  "generic", always, nn_linear_scalar, tile_generic, nn_relu_scalar,
  GENERIC_MR, GENERIC_NR, 256, 0, 2,
  nn_adam_scalar, nn_sumsq_scalar, tile_generic_ldc
};


/* --- the choice -------------------------------------------------------- */

const nn_kernel *const nn_kernels[] = {
#if NN_HAVE_X86
  &nn_kernel_avx512, &nn_kernel_avx2,
#endif
#if NN_HAVE_NEON
  &nn_kernel_neon,
#endif
  &nn_kernel_generic, NULL
};

/* Names a build may lack (no x86 sets): known, so that asking for one is
** "not supported here" rather than "unknown". */
static const char *const known_names[] = { "generic", "avx2", "avx512", "neon", NULL };

static const nn_kernel *best(void) {
  size_t i;
  for (i = 0; nn_kernels[i] != NULL; i++)
    if (nn_kernels[i]->supported()) return nn_kernels[i];
  return &nn_kernel_generic;
}

#if NN_HAVE_NEON
const nn_kernel *nn_kernel_in_use = &nn_kernel_neon;   /* every AArch64 has it */
#else
const nn_kernel *nn_kernel_in_use = &nn_kernel_generic;
#endif

#if NN_HAVE_X86
/* At load time, so that forward passes only ever read the pointer. */
__attribute__((constructor)) static void choose_at_load(void) {
  nn_kernel_in_use = best();
}
#endif

const char *nn_kernel_name(void) { return nn_kernel_in_use->name; }

int nn_kernel_select(const char *name) {
  size_t i;
  if (name == NULL) {
    nn_kernel_in_use = best();
    return NN_OK;
  }
  for (i = 0; nn_kernels[i] != NULL; i++)
    if (strcmp(name, nn_kernels[i]->name) == 0) {
      if (!nn_kernels[i]->supported()) return NN_ECPU;
      nn_kernel_in_use = nn_kernels[i];
      return NN_OK;
    }
  for (i = 0; known_names[i] != NULL; i++)
    if (strcmp(name, known_names[i]) == 0) return NN_ECPU;
  return NN_ENOKERNEL;
}
