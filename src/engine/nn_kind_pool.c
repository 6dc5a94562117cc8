/*
** nn_kind_pool.c: the pooling kinds, PyTorch's: MaxPool1d, MaxPool2d,
** AvgPool2d (count_include_pad: a window's sum over k x k, padding counted
** as zeros) and GlobalAvgPool (each channel's mean, AdaptiveAvgPool2d(1)
** then a flat row of the channels).  Each kind whole: its shape rule, its
** forward for a sample and for the panels of a batch, its backward, and its
** descriptor.  No parameters; square windows (kernel, stride, padding
** each one number, as nn.MaxPool2d(2) is), stride 1 and up.
**
** Pure C99, no allocation.  The layout keeps the input's height and width
** in the layer's own hyper-parameters; channels are n_in / (h w).  Every
** value is computed alone over the nr samples of a panel (nr = 1: one
** sample): a batch gives the bits of one sample.  MaxPool's gradient goes
** to the first largest value of a window, as PyTorch's does; a NaN in a
** window is its maximum, as in PyTorch.
*/
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/nn_engine.h"
#include "engine/nn_kinds.h"

/* A pool's sizes: channels, input h x w, window, stride, padding (each
** height, then width), output oh x ow; avg: an average, not a maximum. */
typedef struct pgeom {
  size_t c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
  int avg;
} pgeom;

enum { P_K, P_S, P_P, P_H, P_W, P2_N };           /* MaxPool2d, AvgPool2d */
enum { P1_L = 3, P1_N };                           /* MaxPool1d */

#define HY(j)  ((size_t)hyper[j])

static void pgeom_out(pgeom *g) {
  g->oh = nn_window_out(g->h, g->kh, g->sh, g->ph, 1);
  g->ow = nn_window_out(g->w, g->kw, g->sw, g->pw, 1);
}

static void pgeom2d(pgeom *g, const float *hyper, size_t n_in, int avg) {
  g->kh = g->kw = HY(P_K);
  g->sh = g->sw = HY(P_S);
  g->ph = g->pw = HY(P_P);
  g->h = HY(P_H); g->w = HY(P_W);
  g->c = g->h > 0 && g->w > 0 ? n_in / (g->h * g->w) : 0;
  g->avg = avg;
  pgeom_out(g);
}

static void pgeom1d(pgeom *g, const float *hyper, size_t n_in) {
  g->h = g->kh = g->sh = 1;
  g->ph = 0;
  g->kw = HY(P_K); g->sw = HY(P_S); g->pw = HY(P_P);
  g->w = HY(P1_L);
  g->c = g->w ? n_in / g->w : 0;
  g->avg = 0;
  pgeom_out(g);
}


/* --- forward and backward -------------------------------------------------- */

/* The window of output (oy, ox): its rows [*y0, *y1) and columns [*x0,
** *x1) of the input, clipped to it (padding is not in it). */
static void window_of(const pgeom *g, size_t oy, size_t ox, size_t *y0, size_t *y1,
                      size_t *x0, size_t *x1) {
  size_t ty = oy * g->sh, tx = ox * g->sw;    /* the window's start, padded */
  *y0 = ty > g->ph ? ty - g->ph : 0;
  *x0 = tx > g->pw ? tx - g->pw : 0;
  *y1 = ty + g->kh > g->ph ? ty + g->kh - g->ph : 0;
  *x1 = tx + g->kw > g->pw ? tx + g->kw - g->pw : 0;
  if (*y1 > g->h) *y1 = g->h;
  if (*x1 > g->w) *x1 = g->w;
}

/* y = v where v is larger or NaN (and y not NaN), over n lanes: MaxPool's
** step, a select rather than a branch, in blocks of 4 that gcc -O2 makes
** vector compares and a blend; and y += v. */
#define MAX_STEP(i)  y[i] = (v[i] > y[i]) | ((v[i] != v[i]) & (y[i] == y[i])) ? v[i] : y[i]
static void max_run(float *restrict y, const float *restrict v, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    MAX_STEP(i);
    MAX_STEP(i + 1);
    MAX_STEP(i + 2);
    MAX_STEP(i + 3);
  }
  for (; i < n; i++) MAX_STEP(i);
}

static void sum_run(float *restrict y, const float *restrict v, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    y[i] += v[i];
    y[i + 1] += v[i + 1];
    y[i + 2] += v[i + 2];
    y[i + 3] += v[i + 3];
  }
  for (; i < n; i++) y[i] += v[i];
}

/* Output (oy, ox) of one channel x, all nr lanes at once into y [nr]: the
** window's maximum (NaN if one is) or average, each lane's values taken in
** the order of the window's rows, then columns.  The window is found once
** for all lanes, and the loops over lanes are innermost. */
static void pool_lanes(float *y, const float *x, const pgeom *g, size_t oy, size_t ox,
                       size_t nr) {
  size_t y0, y1, x0, x1, iy, ix, c;
  int any = 0;
  window_of(g, oy, ox, &y0, &y1, &x0, &x1);
  for (c = 0; c < nr; c++) y[c] = 0.0f;
  for (iy = y0; iy < y1; iy++)
    for (ix = x0; ix < x1; ix++) {
      const float *v = x + (iy * g->w + ix) * nr;
      if (g->avg) sum_run(y, v, nr);
      else if (!any) memcpy(y, v, nr * sizeof(float));
      else max_run(y, v, nr);
      any = 1;
    }
  if (g->avg)
    for (c = 0; c < nr; c++) y[c] /= (float)(g->kh * g->kw);
}

/* The window of output o along one axis: inputs [*lo, *hi), clipped. */
static void axis_window(size_t o, size_t s, size_t k, size_t p, size_t n, size_t *lo,
                        size_t *hi) {
  size_t t = o * s;
  *lo = t > p ? t - p : 0;
  *hi = t + k > p ? t + k - p : 0;
  if (*hi > n) *hi = n;
}

/* Output (oy, ox) of one channel x of one sample (pool_lanes at nr 1,
** the same comparisons and sums in the same order, so the same bits),
** its window rows [y0, y1), without a call or a loop over lanes. */
static float pool_one(const float *x, const pgeom *g, size_t y0, size_t y1, size_t x0,
                      size_t x1) {
  size_t iy, ix;
  float m = 0.0f;
  int any = 0;
  for (iy = y0; iy < y1; iy++)
    for (ix = x0; ix < x1; ix++) {
      float v = x[iy * g->w + ix];
      if (g->avg) m += v;
      else m = !any || ((v > m) | ((v != v) & (m == m))) ? v : m;
      any = 1;
    }
  return g->avg ? m / (float)(g->kh * g->kw) : m;
}

/* Outputs [xa, xb) of one output row of one sample, whose windows lie
** inside the input's columns, window rows [y0, y1): each window value in
** turn for the whole row, the outputs the inner loop, so that their
** comparisons overlap; each output sees its values in pool_one's order,
** with its arithmetic (the same bits). */
static void pool_row(float *restrict yr, const float *restrict x, const pgeom *g,
                     size_t y0, size_t y1, size_t xa, size_t xb) {
  const size_t sw = g->sw, pw = g->pw, w = g->w;
  size_t iy, kx, ox;
  int first = 1;
  if (g->avg || y0 >= y1)
    for (ox = xa; ox < xb; ox++) yr[ox] = 0.0f;
  for (iy = y0; iy < y1; iy++)
    for (kx = 0; kx < g->kw; kx++) {
      const float *r = x + iy * w + kx;         /* r[ox sw - pw]: column ox's */
      if (g->avg)
        for (ox = xa; ox < xb; ox++) yr[ox] += r[ox * sw - pw];
      else if (first)
        for (ox = xa; ox < xb; ox++) yr[ox] = r[ox * sw - pw];
      else
        for (ox = xa; ox < xb; ox++) {
          float v = r[ox * sw - pw], m = yr[ox];
          yr[ox] = (m == m) & !(v <= m) ? v : m;    /* MAX_STEP's choice */
        }
      first = 0;
    }
  if (g->avg)
    for (ox = xa; ox < xb; ox++) yr[ox] /= (float)(g->kh * g->kw);
}

/* MaxPool's choice between the maximum so far m and the next value v: v
** when it is larger, or a NaN after no NaN (MAX_STEP's, pool_row's). */
static float max_step(float m, float v) {
  return (m == m) & !(v <= m) ? v : m;
}

#if defined(__SSE2__)
/* max_step on 4 lanes: v where m is not NaN and not (v <= m). */
static __m128 max_step4(__m128 m, __m128 v) {
  __m128 take = _mm_and_ps(_mm_cmpord_ps(m, m), _mm_cmpnle_ps(v, m));
  return _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, m));
}
#endif

/* One row of n outputs of a 2x2 window at stride 2 without padding, from
** the input rows r0 and r1: each output the step over (r0 pair) and (r1
** pair) of the steps within each pair.  The same value as the steps in
** the window's order: the first NaN, else the first largest value, bits
** and all, as the batch's.  Four outputs a time on SSE2: the pairs'
** first and second values are the even and odd lanes of two loads. */
static void max2x2_row(float *restrict y, const float *restrict r0,
                       const float *restrict r1, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) {
    __m128 a0 = _mm_loadu_ps(r0 + 2 * i), a1 = _mm_loadu_ps(r0 + 2 * i + 4);
    __m128 b0 = _mm_loadu_ps(r1 + 2 * i), b1 = _mm_loadu_ps(r1 + 2 * i + 4);
    __m128 p = max_step4(_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)));
    __m128 q = max_step4(_mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm_storeu_ps(y + i, max_step4(p, q));
  }
#endif
  for (; i < n; i++)
    y[i] = max_step(max_step(r0[2 * i], r0[2 * i + 1]), max_step(r1[2 * i], r1[2 * i + 1]));
}

/* One sample of MaxPool2d(2) (stride 2, no padding): max2x2_row a row. */
static int pool_2x2(float *y, const float *x, const pgeom *g) {
  size_t ch, oy;
  if (g->avg || g->kh != 2 || g->kw != 2 || g->sh != 2 || g->sw != 2 || g->ph || g->pw)
    return 0;
  for (ch = 0; ch < g->c; ch++)
    for (oy = 0; oy < g->oh; oy++) {
      const float *r0 = x + (ch * g->h + 2 * oy) * g->w;
      max2x2_row(y + (ch * g->oh + oy) * g->ow, r0, r0 + g->w, g->ow);
    }
  return 1;
}

/* One sample: the outputs of a row whose windows are inside it by
** pool_row, those at its ends (over padding, [0, xa) and [xb, ow)) one at
** a time. */
static void pool_sample(float *y, const float *x, const pgeom *g) {
  size_t ch, oy, ox, y0, y1, x0, x1;
  size_t xa = (g->pw + g->sw - 1) / g->sw;       /* first ox with ox sw >= pw */
  size_t xb = g->w + g->pw >= g->kw ? (g->w + g->pw - g->kw) / g->sw + 1 : 0;
  if (xb > g->ow) xb = g->ow;
  if (xa > xb) xa = xb;
  for (ch = 0; ch < g->c; ch++)
    for (oy = 0; oy < g->oh; oy++) {
      float *yr = y + (ch * g->oh + oy) * g->ow;
      const float *xc = x + ch * g->h * g->w;
      axis_window(oy, g->sh, g->kh, g->ph, g->h, &y0, &y1);
      pool_row(yr, xc, g, y0, y1, xa, xb);
      for (ox = xa > 0 ? 0 : xb; ox < g->ow; ox = ox + 1 == xa ? xb : ox + 1) {
        axis_window(ox, g->sw, g->kw, g->pw, g->w, &x0, &x1);
        yr[ox] = pool_one(xc, g, y0, y1, x0, x1);
      }
    }
}

static void pool_run(float *y, const float *x, const pgeom *g, size_t nr) {
  size_t ch, oy, ox;
  if (nr == 1) {
    if (!pool_2x2(y, x, g)) pool_sample(y, x, g);
    return;
  }
  for (ch = 0; ch < g->c; ch++)
    for (oy = 0; oy < g->oh; oy++)
      for (ox = 0; ox < g->ow; ox++)
        pool_lanes(y + ((ch * g->oh + oy) * g->ow + ox) * nr, x + ch * g->h * g->w * nr,
                   g, oy, ox, nr);
}

/* Window (oy, ox) of one channel's gradient, n lanes (at most LANES_MAX)
** of a panel of nr at once: MaxPool's to each lane's first largest value (a
** NaN first), found in the order of the window's rows, then columns, as
** pool_lanes finds it; AvgPool's spread evenly over the window.  The window
** is found once for all lanes, and the loops over lanes are innermost and
** have no branch: which value wins is the data's, and a branch would
** mispredict. */
#define LANES_MAX 64

/* Lanes that now hold a larger value, or a first NaN: their maximum and
** its place become v's and at.  n lanes; max_lanes8 the same on 8, which
** gcc -O2 makes vector operations without a branch. */
static void max_lanes(float *restrict top, uint32_t *restrict best, const float *restrict v,
                      uint32_t at, size_t n) {
  size_t c;
  for (c = 0; c < n; c++) {
    int more = (v[c] > top[c]) | ((v[c] != v[c]) & (top[c] == top[c]));
    top[c] = more ? v[c] : top[c];
    best[c] = more ? at : best[c];
  }
}

static void max_lanes8(float *restrict top, uint32_t *restrict best, const float *restrict v,
                       uint32_t at) {
  int c;
  for (c = 0; c < 8; c++) {
    int more = (v[c] > top[c]) | ((v[c] != v[c]) & (top[c] == top[c]));
    top[c] = more ? v[c] : top[c];
    best[c] = more ? at : best[c];
  }
}

static void back_lanes(float *dx, const float *dy, const float *x, const pgeom *g,
                       size_t oy, size_t ox, size_t nr, size_t n) {
  size_t y0, y1, x0, x1, iy, ix, c;
  uint32_t best[LANES_MAX];
  float top[LANES_MAX];
  window_of(g, oy, ox, &y0, &y1, &x0, &x1);
  if (y0 >= y1 || x0 >= x1) return;
  if (g->avg) {
    float k = (float)(g->kh * g->kw);
    for (iy = y0; iy < y1; iy++)
      for (ix = x0; ix < x1; ix++)
        for (c = 0; c < n; c++) dx[(iy * g->w + ix) * nr + c] += dy[c] / k;
    return;
  }
  memcpy(top, x + (y0 * g->w + x0) * nr, n * sizeof(float));
  for (c = 0; c < n; c++) best[c] = (uint32_t)((y0 * g->w + x0) * nr);
  for (iy = y0; iy < y1; iy++)
    for (ix = x0; ix < x1; ix++) {
      uint32_t at = (uint32_t)((iy * g->w + ix) * nr);
      for (c = 0; c + 8 <= n; c += 8) max_lanes8(top + c, best + c, x + at + c, at);
      max_lanes(top + c, best + c, x + at + c, at, n - c);
    }
  for (c = 0; c < n; c++) dx[best[c] + c] += dy[c];
}

/* dx of one panel: each output's gradient to its window's maximum, or
** spread evenly over its window. */
static void pool_back(float *dx, const float *dy, const float *x, const pgeom *g,
                      size_t nr) {
  size_t ch, oy, ox, c0, hw = g->h * g->w;
  memset(dx, 0, g->c * hw * nr * sizeof(float));
  for (ch = 0; ch < g->c; ch++)
    for (oy = 0; oy < g->oh; oy++)
      for (ox = 0; ox < g->ow; ox++)
        for (c0 = 0; c0 < nr; c0 += LANES_MAX) {
          size_t n = nr - c0 < LANES_MAX ? nr - c0 : LANES_MAX;
          back_lanes(dx + ch * hw * nr + c0, dy + ((ch * g->oh + oy) * g->ow + ox) * nr + c0,
                     x + ch * hw * nr + c0, g, oy, ox, nr, n);
        }
}

static void pool_panels(float *y, const float *x, const pgeom *g, const nn_panels *pn) {
  size_t p, at;
  for (p = 0; p < pn->count; p++) {
    at = p * pn->stride * pn->nr;
    pool_run(y + at, x + at, g, pn->nr);
  }
}

static void pool_back_panels(float *dx, const float *dy, const float *x, const pgeom *g,
                             const nn_panels *pn) {
  size_t p, at;
  if (dx == NULL) return;
  for (p = 0; p < pn->count; p++) {
    at = p * pn->stride * pn->nr;
    pool_back(dx + at, dy + at, x + at, g, pn->nr);
  }
}

/* The geometry of layer kind `kind` (0: MaxPool2d, 1: AvgPool2d, 2: MaxPool1d). */
static void pgeom_of(pgeom *g, int kind, const float *hyper, size_t n_in) {
  if (kind == 2) pgeom1d(g, hyper, n_in);
  else pgeom2d(g, hyper, n_in, kind == 1);
}

#define POOL_PASSES(name, kind)                                                   \
  static void name##_forward(float *y, const float *x, const float *params,      \
                             const float *hyper, size_t n_in, size_t n_out) {    \
    pgeom g;                                                                      \
    (void)params; (void)n_out;                                                    \
    pgeom_of(&g, kind, hyper, n_in);                                              \
    pool_run(y, x, &g, 1);                                                        \
  }                                                                               \
  static void name##_batch(float *y, const float *x, const float *params,        \
                           const float *hyper, size_t n_in, size_t n_out,        \
                           const nn_panels *pn) {                                \
    pgeom g;                                                                      \
    (void)params; (void)n_out;                                                    \
    pgeom_of(&g, kind, hyper, n_in);                                              \
    pool_panels(y, x, &g, pn);                                                    \
  }                                                                               \
  static void name##_backward(float *dx, float *dparams, const float *dy,        \
                              const float *x, const float *y, const float *params,\
                              const float *hyper, size_t n_in, size_t n_out,     \
                              const nn_panels *pn, float *work) {                \
    pgeom g;                                                                      \
    (void)dparams; (void)y; (void)params; (void)n_out; (void)work;               \
    pgeom_of(&g, kind, hyper, n_in);                                              \
    pool_back_panels(dx, dy, x, &g, pn);                                          \
  }

POOL_PASSES(maxpool2d, 0)
POOL_PASSES(avgpool2d, 1)
POOL_PASSES(maxpool1d, 2)


/* --- GlobalAvgPool --------------------------------------------------------- */

/* y [c] = the mean of each channel's hw values, lanes nr; hyper: h, w. */
static void gap_run(float *y, const float *x, size_t c, size_t hw, size_t nr) {
  size_t ch, i, l;
  for (ch = 0; ch < c; ch++)
    for (l = 0; l < nr; l++) {
      float s = 0.0f;
      for (i = 0; i < hw; i++) s += x[(ch * hw + i) * nr + l];
      y[ch * nr + l] = s / (float)hw;
    }
}

static void gap_forward(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out) {
  (void)params; (void)hyper;
  gap_run(y, x, n_out, n_in / n_out, 1);
}

static void gap_batch(float *y, const float *x, const float *params, const float *hyper,
                      size_t n_in, size_t n_out, const nn_panels *pn) {
  size_t p, at;
  (void)params; (void)hyper;
  for (p = 0; p < pn->count; p++) {
    at = p * pn->stride * pn->nr;
    gap_run(y + at, x + at, n_out, n_in / n_out, pn->nr);
  }
}

static void gap_backward(float *dx, float *dparams, const float *dy, const float *x,
                         const float *y, const float *params, const float *hyper,
                         size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  size_t p, ch, i, l, nr = pn->nr, hw = n_in / n_out;
  (void)dparams; (void)x; (void)y; (void)params; (void)hyper; (void)work;
  if (dx == NULL) return;
  for (p = 0; p < pn->count; p++) {
    float *dxp = dx + p * pn->stride * nr;
    const float *dyp = dy + p * pn->stride * nr;
    for (ch = 0; ch < n_out; ch++)
      for (i = 0; i < hw; i++)
        for (l = 0; l < nr; l++) dxp[(ch * hw + i) * nr + l] = dyp[ch * nr + l] / (float)hw;
  }
}


/* --- shape rules ----------------------------------------------------------- */

static void set_shape(nn_shape *s, size_t rank, size_t c, size_t h, size_t w) {
  s->rank = rank;
  s->d[0] = c; s->d[1] = h; s->d[2] = w;
}

/* The rule of every windowed pool: in of rank `rank`, padding at most half
** the window (PyTorch's rule), the window within the padded input. */
static int pool_rule(pgeom *g, nn_shape *in, nn_shape *out, size_t rank,
                     char why[NN_ERRMAX]) {
  int st = nn_shape_takes(in, rank, why);
  if (st != NN_OK) return st;
  g->c = in->d[0];
  g->h = rank == 3 ? in->d[1] : 1;
  g->w = rank == 3 ? in->d[2] : in->d[1];
  pgeom_out(g);
  if (2 * g->pw > g->kw) {
    snprintf(why, NN_ERRMAX, "its padding (%zu) must be at most half its window (%zu)",
             g->pw, g->kw);
    return NN_ESIZE;
  }
  if (g->oh == 0 || g->ow == 0) {
    snprintf(why, NN_ERRMAX, "its window (%zu) is larger than its padded input "
             "(%zux%zu, padding %zu)", g->kw, g->h, g->w, g->pw);
    return NN_ESIZE;
  }
  set_shape(out, rank, g->c, rank == 3 ? g->oh : g->ow, rank == 3 ? g->ow : 1);
  return NN_OK;
}

static int pool2d_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                        char why[NN_ERRMAX]) {
  pgeom g;
  int st;
  pgeom2d(&g, hyper, 0, 0);
  if (in->rank == 0) set_shape(in, 3, 1, g.h ? g.h : g.kh, g.w ? g.w : g.kw);
  if ((st = pool_rule(&g, in, out, 3, why)) != NN_OK) return st;
  if (keep) { keep[P_H] = (float)g.h; keep[P_W] = (float)g.w; }
  return NN_OK;
}

static int pool1d_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                        char why[NN_ERRMAX]) {
  pgeom g;
  int st;
  pgeom1d(&g, hyper, 0);
  if (in->rank == 0) set_shape(in, 2, 1, g.w ? g.w : g.kw, 1);
  if ((st = pool_rule(&g, in, out, 2, why)) != NN_OK) return st;
  if (keep) keep[P1_L] = (float)g.w;
  return NN_OK;
}

/* GlobalAvgPool: channels x anything to a flat row of the channels. */
static int gap_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                     char why[NN_ERRMAX]) {
  (void)keep;
  if (in->rank == 0) set_shape(in, 3, 1, HY(0) ? HY(0) : 1, HY(1) ? HY(1) : 1);
  if (in->rank < 2) return nn_shape_takes(in, 3, why);
  set_shape(out, 1, in->d[0], 1, 1);
  if (keep) { keep[0] = (float)in->d[1]; keep[1] = (float)in->d[2]; }
  return NN_OK;
}


/* --- the descriptors ------------------------------------------------------- */

#define WHOLE(name, what, def, lo)  { name, what, def, lo, 16777215, 1, NULL, NULL }

static const nn_hyper pool2d_hyper[P2_N] = {
  WHOLE("kernel", "window", 1, 1), WHOLE("stride", "stride", 1, 1),
  WHOLE("padding", "padding", 0, 0),
  WHOLE("height", "input height", 0, 0), WHOLE("width", "input width", 0, 0)
};

static const nn_hyper pool1d_hyper[P1_N] = {
  WHOLE("kernel", "window", 1, 1), WHOLE("stride", "stride", 1, 1),
  WHOLE("padding", "padding", 0, 0), WHOLE("length", "input length", 0, 0)
};

static const nn_hyper gap_hyper[] = {
  WHOLE("height", "input height", 0, 0), WHOLE("width", "input width", 0, 0)
};

const nn_kind_info nn_kind_maxpool2d = {
  "MaxPool2d", "max_pool2d", 0, 0, P2_N, pool2d_hyper, 0, NULL,
  maxpool2d_forward, maxpool2d_batch, maxpool2d_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, pool2d_shape
};

const nn_kind_info nn_kind_avgpool2d = {
  "AvgPool2d", "avg_pool2d", 0, 0, P2_N, pool2d_hyper, 0, NULL,
  avgpool2d_forward, avgpool2d_batch, avgpool2d_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, pool2d_shape
};

const nn_kind_info nn_kind_maxpool1d = {
  "MaxPool1d", "max_pool1d", 0, 0, P1_N, pool1d_hyper, 0, NULL,
  maxpool1d_forward, maxpool1d_batch, maxpool1d_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, pool1d_shape
};

const nn_kind_info nn_kind_global_avgpool = {
  "GlobalAvgPool", "global_avg_pool", 0, 0, 2, gap_hyper, 0, NULL,
  gap_forward, gap_batch, gap_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, gap_shape
};
