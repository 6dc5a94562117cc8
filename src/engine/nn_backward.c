/*
** nn_backward.c: the backward pass of every built-in layer kind, on a
** chunk of samples in panels; the `backward` slots of the kind table
** (nn_engine.c) point here.
**
** Pure C99, no allocation: scratch comes from the caller (the trainer,
** nn_train.c).  Arguments in the engine's order: outputs (dx, dparams),
** inputs (dy, x, y), weights, sizes.  Panels as in nn_engine.h: panel p
** starts at p * stride * nr and holds sample c's feature i at [i * nr + c].
** Element-wise kinds use only the stored input or output: no transcendental
** function is evaluated again (tanh' = 1 - y^2, sigmoid' = y (1 - y)).
** The products of Linear run on the tile kernel of the pass's kernel set:
**   dX = W^T dY   the forward product itself (nn_engine.c), with W^T and a
**                 zero bias as its weights
**   dW = dY X^T   A: dY feature-major, B: X repacked [samples][nr features]
** Samples past a chunk's rows have dy = 0, so they add nothing.
*/
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_backward.h"

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

size_t nn_backward_work_size(size_t n_in, size_t n_out, size_t rows) {
  size_t mr, nr, bp;
  kernel_max(&mr, &nr);
  bp = ROUND_UP(rows > 0 ? rows : 1, nr);
  return n_in * n_out + n_in              /* W^T and a zero bias */
         + ROUND_UP(n_out, mr) * bp       /* dY feature-major */
         + ROUND_UP(n_in, nr) * bp        /* X in blocks of nr features */
         + mr * nr;                       /* one tile of dW */
}


/* --- Linear --------------------------------------------------------------- */

/* dyt [n_pad][bp] = dy feature-major, rows past n_out zero; db += each
** row's sum. */
static void pack_dyt(float *dyt, float *db /* [n_out] */, const float *dy,
                     size_t n_out, size_t n_pad, const nn_panels *pn) {
  size_t nr = pn->nr, bp = pn->count * nr, j, p, c;
  for (j = 0; j < n_out; j++) {
    float *row = dyt + j * bp, s = 0.0f;
    for (p = 0; p < pn->count; p++)
      memcpy(row + p * nr, dy + p * pn->stride * nr + j * nr, nr * sizeof(float));
    for (c = 0; c < bp; c++) s += row[c];
    db[j] += s;
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

/* dw [n_out][n_in] += dyt xs^T: whole mr x nr blocks straight into dw,
** the blocks at its edges through ctmp. */
static void gemm_dw(const nn_kernel *k, float *dw, const float *dyt,
                    const float *xs, float *ctmp, size_t n_out, size_t n_in,
                    size_t bp) {
  size_t mr = k->mr, nr = k->nr, q, j, k0, m, f;
  for (q = 0; q < n_in; q += nr) {
    const float *blk = xs + q / nr * bp * nr;
    size_t nf = n_in - q < nr ? n_in - q : nr;
    for (j = 0; j < n_out; j += mr) {
      size_t nm = n_out - j < mr ? n_out - j : mr;
      if (nm == mr && nf == nr) {
        for (k0 = 0; k0 < bp; k0 += k->kc) {
          size_t kc = bp - k0 < k->kc ? bp - k0 : k->kc;
          k->tile_ldc(dw + j * n_in + q, n_in, dyt + j * bp + k0, bp, blk + k0 * nr, kc);
        }
        continue;
      }
      memset(ctmp, 0, mr * nr * sizeof(float));
      for (k0 = 0; k0 < bp; k0 += k->kc) {
        size_t kc = bp - k0 < k->kc ? bp - k0 : k->kc;
        k->tile(ctmp, dyt + j * bp + k0, bp, blk + k0 * nr, kc);
      }
      for (m = 0; m < nm; m++) {
        float *row = dw + (j + m) * n_in + q;
        const float *c = ctmp + m * nr;
        for (f = 0; f < nf; f++) row[f] += c[f];
      }
    }
  }
}

/* wt [n_in][n_out] = W^T, in blocks that stay in cache. */
static void transpose(float *wt, const float *w, size_t n_out, size_t n_in) {
  size_t i0, j0, i, j;
  for (j0 = 0; j0 < n_out; j0 += 16)
    for (i0 = 0; i0 < n_in; i0 += 16)
      for (j = j0; j < n_out && j < j0 + 16; j++)
        for (i = i0; i < n_in && i < i0 + 16; i++)
          wt[i * n_out + j] = w[j * n_in + i];
}

void nn_linear_backward(float *dx, float *dparams, const float *dy, const float *x,
                        const float *y, const float *params, const float *hyper,
                        size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  const nn_kernel *k = pn->kernel;
  size_t mr_max, nr_max, bp = pn->count * pn->nr;
  float *wt = work, *dyt, *xs, *ctmp;
  (void)y; (void)hyper;
  kernel_max(&mr_max, &nr_max);
  dyt = wt + n_in * n_out + n_in;
  xs = dyt + ROUND_UP(n_out, mr_max) * bp;
  ctmp = xs + ROUND_UP(n_in, nr_max) * bp;
  pack_dyt(dyt, dparams + n_out * n_in, dy, n_out, ROUND_UP(n_out, k->mr), pn);
  pack_xs(xs, x, n_in, pn);
  gemm_dw(k, dparams, dyt, xs, ctmp, n_out, n_in, bp);
  if (dx == NULL) return;
  transpose(wt, params, n_out, n_in);
  memset(wt + n_in * n_out, 0, n_in * sizeof(float));
  nn_linear_panels(dx, dy, wt, n_out, n_in, pn);
}


/* --- element-wise kinds ----------------------------------------------------
** Each runs on the n_in values of every panel's samples, skipping the
** padding rows up to the stride. */

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

#define UNUSED_ARGS  (void)dparams; (void)params; (void)hyper; (void)n_out; (void)work

void nn_relu_backward(float *dx, float *dparams, const float *dy, const float *x,
                      const float *y, const float *params, const float *hyper,
                      size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = yp[i] > 0.0f ? dyp[i] : 0.0f);
}

/* From the input: with a negative slope the output's sign says nothing. */
void nn_leaky_relu_backward(float *dx, float *dparams, const float *dy, const float *x,
                            const float *y, const float *params, const float *hyper,
                            size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  float alpha = hyper[0];
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = xp[i] > 0.0f ? dyp[i] : alpha * dyp[i]);
}

void nn_sigmoid_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = dyp[i] * (yp[i] * (1.0f - yp[i])));
}

void nn_tanh_backward(float *dx, float *dparams, const float *dy, const float *x,
                      const float *y, const float *params, const float *hyper,
                      size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  EACH_PANEL(dxp[i] = dyp[i] * (1.0f - yp[i] * yp[i]));
}

void nn_identity_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  UNUSED_ARGS;
  if (dx != dy) EACH_PANEL(dxp[i] = dyp[i]);
}

/* dx = y * (dy - sum(dy * y)) down each sample's column. */
void nn_softmax_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  size_t p, c, j, nr = pn->nr;
  (void)x;
  UNUSED_ARGS;
  for (p = 0; p < pn->count; p++) {
    size_t o = p * pn->stride * nr;
    for (c = 0; c < nr; c++) {
      float s = 0.0f;
      for (j = 0; j < n_in; j++) s += dy[o + j * nr + c] * y[o + j * nr + c];
      for (j = 0; j < n_in; j++)
        dx[o + j * nr + c] = y[o + j * nr + c] * (dy[o + j * nr + c] - s);
    }
  }
}
