/*
** nn_kind_linear.c: the kind Linear, whole: y = W x + b, its forward for a
** sample and for a batch, its backward, and its descriptor (the table of
** kinds in nn_engine.c points here).  PyTorch's nn.Linear, its tensors
** named as PyTorch names them: "weight" [out][in], "bias" [out].
**
** Pure C99, no allocation: scratch comes from the caller (the trainer,
** nn_train.c).  The arithmetic is the kernel set in use (nn_kernel*.c):
**   y  = W x + b  nn_linear_forward (one sample), nn_linear_panels (a batch)
**   dX = W^T dY   the forward product itself, with W^T and a zero bias as
**                 its weights: the kind's shared part (linear_prepare),
**                 made once a call and read by every chunk of it
**   dW = dY X^T   A: dY feature-major, B: X repacked [samples][nr features];
**                 written (tile_ldc_set) when the trainer says dparams
**                 holds nothing yet (NN_KIND_GRAD_SET), else added
** Panels as in nn_engine.h: panel p starts at p * stride * nr and holds
** sample c's feature i at [i * nr + c].  Samples past a chunk's rows have
** dy = 0, so they add nothing.
*/
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_kinds.h"

/* --- forward ------------------------------------------------------------- */

static void linear_kind_forward(float *y, const float *x, const float *params,
                                const float *hyper, size_t n_in, size_t n_out) {
  (void)hyper;
  nn_linear_forward(y, x, params, params + n_out * n_in, n_in, n_out);
}

static void linear_kind_batch(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out,
                              const nn_panels *pn) {
  (void)hyper;
  nn_linear_panels(y, x, params, n_in, n_out, pn);
}


#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))

/* Largest mr and nr of any kernel set compiled in. */
static void kernel_max(size_t *mr, size_t *nr) {
  size_t i;
  *mr = *nr = 1;
  for (i = 0; nn_kernels[i] != NULL; i++) {
    if (nn_kernels[i]->mr > *mr) *mr = nn_kernels[i]->mr;
    if (nn_kernels[i]->nr > *nr) *nr = nn_kernels[i]->nr;
  }
}

static size_t linear_work_size(const float *hyper, size_t n_in, size_t n_out,
                               size_t rows) {
  size_t mr, nr, bp;
  (void)hyper;
  kernel_max(&mr, &nr);
  bp = ROUND_UP(rows > 0 ? rows : 1, nr);
  return ROUND_UP(n_out, mr) * bp         /* dY feature-major */
         + ROUND_UP(n_in, nr) * bp        /* X in blocks of nr features */
         + mr * nr;                       /* one tile of dW */
}


/* --- backward ------------------------------------------------------------ */

/* dyt [n_pad][bp] = dy feature-major, rows past n_out zero; db += each
** row's sum, or db = it when set. */
static void pack_dyt(float *dyt, float *db /* [n_out] */, const float *dy,
                     size_t n_out, size_t n_pad, const nn_panels *pn, int set) {
  size_t nr = pn->nr, bp = pn->count * nr, j, p, c;
  for (j = 0; j < n_out; j++) {
    float *row = dyt + j * bp, s = 0.0f;
    for (p = 0; p < pn->count; p++)
      memcpy(row + p * nr, dy + p * pn->stride * nr + j * nr, nr * sizeof(float));
    for (c = 0; c < bp; c++) s += row[c];
    db[j] = set ? s : db[j] + s;
  }
  if (n_pad > n_out) memset(dyt + n_out * bp, 0, (n_pad - n_out) * bp * sizeof(float));
}

/* xs [q][bp][nr] = x as blocks of nr features, sample-major: the B of
** dW = dY X^T.  Features past n_in are zeros.  An nr x nr transpose per
** panel and block, reading x's rows whole. */
static void pack_xs(float *xs, const float *x, size_t n_in, const nn_panels *pn) {
  size_t nr = pn->nr, bp = pn->count * nr, q, p, f, c;
  for (q = 0; q < n_in; q += nr) {
    size_t nf = n_in - q < nr ? n_in - q : nr;
    for (p = 0; p < pn->count; p++) {
      float *blk = xs + q / nr * bp * nr + p * nr * nr;
      const float *src = x + p * pn->stride * nr + q * nr;
      for (f = 0; f < nf; f++)
        for (c = 0; c < nr; c++) blk[c * nr + f] = src[f * nr + c];
      for (c = 0; c < nr; c++)
        for (f = nf; f < nr; f++) blk[c * nr + f] = 0.0f;
    }
  }
}

/* One mr x nr block of dw (C's rows ldc apart) += or, when set, = its
** dyt xs^T, over bp samples kc at a time: the first block of kc written
** when set, the others added. */
static void tile_dw(const nn_kernel *k, float *c, size_t ldc, const float *a,
                    const float *b, size_t bp, int set) {
  size_t k0;
  for (k0 = 0; k0 < bp; k0 += k->kc) {
    size_t kc = bp - k0 < k->kc ? bp - k0 : k->kc;
    (set && k0 == 0 ? k->tile_ldc_set : k->tile_ldc)(c, ldc, a + k0, bp,
                                                     b + k0 * k->nr, kc);
  }
}

/* dw [n_out][n_in] += dyt xs^T (= when set): whole mr x nr blocks straight
** into dw, the blocks at its edges through ctmp.  Set, the sums start
** from +0 in registers, and dw is only written: no pass zeroes it first. */
static void gemm_dw(const nn_kernel *k, float *dw, const float *dyt,
                    const float *xs, float *ctmp, size_t n_out, size_t n_in,
                    size_t bp, int set) {
  size_t mr = k->mr, nr = k->nr, q, j, m, f;
  for (q = 0; q < n_in; q += nr) {
    const float *blk = xs + q / nr * bp * nr;
    size_t nf = n_in - q < nr ? n_in - q : nr;
    for (j = 0; j < n_out; j += mr) {
      size_t nm = n_out - j < mr ? n_out - j : mr;
      if (nm == mr && nf == nr) {
        tile_dw(k, dw + j * n_in + q, n_in, dyt + j * bp, blk, bp, set);
        continue;
      }
      tile_dw(k, ctmp, nr, dyt + j * bp, blk, bp, 1);
      for (m = 0; m < nm; m++) {
        float *row = dw + (j + m) * n_in + q;
        const float *c = ctmp + m * nr;
        if (set) memcpy(row, c, nf * sizeof(float));
        else for (f = 0; f < nf; f++) row[f] += c[f];
      }
    }
  }
}

/* wt [n_in][n_out] = W^T, in blocks of 16 x 16 that stay in cache, each
** copied a row of W at a time with its bounds worked out before. */
static void transpose(float *wt, const float *w, size_t n_out, size_t n_in) {
  size_t i0, j0, i, j;
  for (j0 = 0; j0 < n_out; j0 += 16) {
    size_t nj = n_out - j0 < 16 ? n_out - j0 : 16;
    for (i0 = 0; i0 < n_in; i0 += 16) {
      size_t ni = n_in - i0 < 16 ? n_in - i0 : 16;
      for (j = 0; j < nj; j++) {
        const float *src = w + (j0 + j) * n_in + i0;
        float *dst = wt + i0 * n_out + j0 + j;
        for (i = 0; i < ni; i++) dst[i * n_out] = src[i];
      }
    }
  }
}

/* The shared part: W^T [n_in][n_out] and a zero bias [n_in], the weights
** of dX = W^T dY, made once a call rather than once a chunk. */
static size_t linear_shared_size(size_t n_in, size_t n_out) {
  return n_in * n_out + n_in;
}

static void linear_prepare(float *shared, const float *params, const float *hyper,
                           size_t n_in, size_t n_out) {
  (void)hyper;
  transpose(shared, params, n_out, n_in);
  memset(shared + n_in * n_out, 0, n_in * sizeof(float));
}

static void linear_backward(float *dx, float *dparams, const float *dy, const float *x,
                        const float *y, const float *params, const float *hyper,
                        size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  const nn_kernel *k = pn->kernel;
  size_t mr_max, nr_max, bp = pn->count * pn->nr;
  float *dyt = work, *xs, *ctmp;
  (void)y; (void)hyper; (void)params;
  kernel_max(&mr_max, &nr_max);
  xs = dyt + ROUND_UP(n_out, mr_max) * bp;
  ctmp = xs + ROUND_UP(n_in, nr_max) * bp;
  pack_dyt(dyt, dparams + n_out * n_in, dy, n_out, ROUND_UP(n_out, k->mr), pn,
           pn->grad_set);
  pack_xs(xs, x, n_in, pn);
  gemm_dw(k, dparams, dyt, xs, ctmp, n_out, n_in, bp, pn->grad_set);
  if (dx == NULL) return;
  nn_linear_panels(dx, dy, pn->shared, n_out, n_in, pn);
}



/* --- the descriptor -------------------------------------------------------- */

static const nn_tensor_info linear_tensors[] = {
  { "weight", 2, { NN_DIM_OUT, NN_DIM_IN }, NN_INIT_FAN_IN, 1 },
  { "bias",   1, { NN_DIM_OUT, 0 },         NN_INIT_FAN_IN, 1 }
};

const nn_kind_info nn_kind_linear = {
  "Linear", "linear", 0, 2, 0, NULL, 2, linear_tensors,
  linear_kind_forward, linear_kind_batch, linear_backward, linear_work_size,
  { "Gemm", "transB", 1, 0, NULL }, NN_FANN_LAYER, NN_KIND_GRAD_SET,
  linear_shared_size, linear_prepare, NULL, NULL
};
