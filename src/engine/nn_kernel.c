/*
** nn_kernel.c: which kernel set the engine uses, Linear over a batch's
** panels on the tile of a set (the product that the forward pass and
** training's dX = W^T dY share), and the flush of subnormal floats that
** training runs under.
**
** The sets themselves are below this file: the portable one in
** nn_kernel_generic.c, the x86 ones in nn_kernel_x86.c, the AArch64 one in
** nn_kernel_neon.c.
** The choice is made once when the library is loaded (from what the
** processor and the OS support) and changed only by nn_kernel_select; it is
** one process-wide pointer, read by every forward pass.  Not thread-safe to
** change while forward passes run, as nn_engine.h says.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))

/* --- Linear on panels ------------------------------------------------ */

/* out = W in + b for every panel: out starts as the bias, then each block
** of kc columns of W adds its part, a tile at a time.  Full tiles read W in
** place; the last mr rows, when n_out is no multiple of mr, are copied
** into part with zero rows after them ([mr][kc]), so that every tile may
** compute and write mr rows. */
void nn_linear_panels(float *out, const float *in, const float *w,
                      size_t n_in, size_t n_out, const nn_panels *pn) {
  const nn_kernel *k = pn->kernel;
  const float *b = w + n_out * n_in;
  float *part = pn->part;
  size_t mr = k->mr, nr = pn->nr, stride = pn->stride, panels = pn->count;
  size_t n_full = n_out / mr * mr, n_pad = ROUND_UP(n_out, mr);
  size_t p, j, c, k0, i;
  for (p = 0; p < panels; p++) {
    float *o = out + p * stride * nr;
    for (j = 0; j < n_pad; j++) {
      float v = j < n_out ? b[j] : 0.0f;
      for (c = 0; c < nr; c++) o[j * nr + c] = v;
    }
  }
  for (k0 = 0; k0 < n_in; k0 += k->kc) {
    size_t kc = n_in - k0 < k->kc ? n_in - k0 : k->kc;
    if (n_full < n_out)
      for (j = 0; j < mr; j++)
        for (i = 0; i < kc; i++)
          part[j * kc + i] = n_full + j < n_out ? w[(n_full + j) * n_in + k0 + i] : 0.0f;
    for (p = 0; p < panels; p++) {
      const float *bp = in + p * stride * nr + k0 * nr;
      float *o = out + p * stride * nr;
      for (j = 0; j < n_full; j += mr)
        k->tile(o + j * nr, w + j * n_in + k0, n_in, bp, kc);
      if (n_full < n_out) k->tile(o + n_full * nr, part, kc, bp, kc);
    }
  }
}

/* --- subnormals (see nn_kernel.h) ------------------------------------- */

#if defined(__x86_64__) || defined(__SSE2__)
#define MXCSR_FTZ 0x8000u   /* results below FLT_MIN become zero */
#define MXCSR_DAZ 0x0040u   /* and so do such inputs */

unsigned long nn_fp_flush(void) {
  unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | MXCSR_FTZ | MXCSR_DAZ);
  return csr;
}

void nn_fp_restore(unsigned long saved) { _mm_setcsr((unsigned)saved); }

#elif defined(__aarch64__) && defined(__GNUC__)
#define FPCR_FZ (1ul << 24)

unsigned long nn_fp_flush(void) {
  unsigned long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | FPCR_FZ));
  return fpcr;
}

void nn_fp_restore(unsigned long saved) {
  __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
}

#else
unsigned long nn_fp_flush(void) { return 0; }
void nn_fp_restore(unsigned long saved) { (void)saved; }
#endif


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
