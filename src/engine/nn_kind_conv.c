/*
** nn_kind_conv.c: the kinds of convolutional networks that are not pools:
** Input{c, h, w} (the shape of a row: one image, NCHW without the N, as
** PyTorch lays it out), Conv1d, Conv2d and Flatten.  Each kind whole: its
** shape rule, its forward for a sample and for the panels of a batch, its
** backward, and its descriptor (the table of kinds in nn_engine.c points
** here).  PyTorch's nn.Conv1d and nn.Conv2d, zero padding, groups 1, the
** tensors named as PyTorch names them: "weight" [c_out][c_in k] (Conv2d's
** k = kh kw, row-major [c_out][c_in][kh][kw] as PyTorch stores it), "bias"
** [c_out].
**
** A Conv1d is a Conv2d of height 1, so both run one arithmetic, on a
** geometry (struct geom) read from the hyper-parameters.  The layout keeps
** the input's height and width in the layer's own hyper-parameters (the
** shape rule's keep), which is how the passes know them.
**
** Pure C99.  A batch is a matrix product over patches on
** the tile kernel of the pass's kernel set (nn_kernel.h): for each output
** position of a panel, its patch [c_in kh kw][nr] gathered (im2col, one
** position and kc rows of it at a time, in the panels' scratch pn->part, so
** that no patch matrix is ever whole), then W [c_out][c_in kh kw] times it.
** One sample (nr = 1) is direct: for each weight an axpy along a row of
** outputs, each sum in one fixed order.  The backward pass runs on the tile
** kernel too, over a panel's samples laid out one after another (see
** "backward" below).  A sample's result depends on its own values only,
** never on the others of its chunk: any thread count gives the same bits;
** a batch and one sample agree within the float rounding of sums taken in
** other orders.  No allocation: the backward pass's scratch is the chunk's
** work, which work_size plans from the geometry.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_kinds.h"

/* --- geometry -------------------------------------------------------------- */

size_t nn_window_out(size_t n, size_t k, size_t s, size_t p, size_t d) {
  size_t span = d * (k - 1) + 1;
  if (n + 2 * p < span) return 0;
  return (n + 2 * p - span) / s + 1;
}

void nn_window_span(size_t *lo, size_t *hi, size_t n_out, size_t n, size_t s,
                    size_t off, size_t p) {
  *lo = off >= p ? 0 : (p - off + s - 1) / s;
  *hi = n + p > off ? (n + p - 1 - off) / s + 1 : 0;
  if (*hi > n_out) *hi = n_out;
  if (*lo > *hi) *lo = *hi;
}

/* A convolution's sizes: channels, input h x w, kernel, stride, padding,
** dilation (each height, then width) and output oh x ow. */
typedef struct geom {
  size_t c_in, c_out, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
} geom;

/* Conv2d's hyper-parameters, in order; Conv1d's. */
enum { C2_COUT, C2_CIN, C2_KH, C2_KW, C2_SH, C2_SW, C2_PH, C2_PW, C2_DH, C2_DW,
       C2_H, C2_W, C2_N };
enum { C1_COUT, C1_CIN, C1_K, C1_S, C1_P, C1_D, C1_L, C1_N };

#define HY(j)  ((size_t)hyper[j])

static void geom_out(geom *g) {
  g->oh = nn_window_out(g->h, g->kh, g->sh, g->ph, g->dh);
  g->ow = nn_window_out(g->w, g->kw, g->sw, g->pw, g->dw);
}

static void geom2d(geom *g, const float *hyper) {
  g->c_in = HY(C2_CIN); g->c_out = HY(C2_COUT);
  g->kh = HY(C2_KH); g->kw = HY(C2_KW); g->sh = HY(C2_SH); g->sw = HY(C2_SW);
  g->ph = HY(C2_PH); g->pw = HY(C2_PW); g->dh = HY(C2_DH); g->dw = HY(C2_DW);
  g->h = HY(C2_H); g->w = HY(C2_W);
  geom_out(g);
}

static void geom1d(geom *g, const float *hyper) {
  g->c_in = HY(C1_CIN); g->c_out = HY(C1_COUT);
  g->h = g->kh = g->sh = g->dh = 1;
  g->ph = 0;
  g->kw = HY(C1_K); g->sw = HY(C1_S); g->pw = HY(C1_P); g->dw = HY(C1_D);
  g->w = HY(C1_L);
  geom_out(g);
}


/* --- forward --------------------------------------------------------------- */

/* y += a x over n floats, in blocks of 4 that gcc -O2 makes one vector
** operation; each value one product and one sum, as a plain loop gives. */
static void axpy(float *restrict y, const float *restrict x, float a, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    y[i] += a * x[i];
    y[i + 1] += a * x[i + 1];
    y[i + 2] += a * x[i + 2];
    y[i + 3] += a * x[i + 3];
  }
  for (; i < n; i++) y[i] += a * x[i];
}

/* d = s over n floats, in blocks of 4 that gcc -O2 makes one vector move:
** the runs of a patch and a tile are short, too short for a call to
** memcpy, and restrict spares the reloads a plain loop makes. */
static void copy_run(float *restrict d, const float *restrict s, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    d[i] = s[i];
    d[i + 1] = s[i + 1];
    d[i + 2] = s[i + 2];
    d[i + 3] = s[i + 3];
  }
  for (; i < n; i++) d[i] = s[i];
}

/* d = v over n floats, and d += s: in blocks of 4, as copy_run. */
static void fill_run(float *restrict d, float v, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    d[i] = v;
    d[i + 1] = v;
    d[i + 2] = v;
    d[i + 3] = v;
  }
  for (; i < n; i++) d[i] = v;
}

static void add_run(float *restrict d, const float *restrict s, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    d[i] += s[i];
    d[i + 1] += s[i + 1];
    d[i + 2] += s[i + 2];
    d[i + 3] += s[i + 3];
  }
  for (; i < n; i++) d[i] += s[i];
}

/* y [c_out][oh][ow] = b + W * x over x [c_in][h][w], each value a lane of
** nr floats (the samples of a panel; 1: one sample). */
static void conv_run(float *y, const float *x, const float *params, const geom *g,
                     size_t nr) {
  const float *wt = params, *b = params + g->c_out * g->c_in * g->kh * g->kw;
  size_t ohw = g->oh * g->ow, co, ci, ky, kx, oy, ox, c, i;
  for (co = 0; co < g->c_out; co++) {
    float *yo = y + co * ohw * nr;
    for (i = 0; i < ohw * nr; i++) yo[i] = b[co];
    for (ci = 0; ci < g->c_in; ci++)
      for (ky = 0; ky < g->kh; ky++)
        for (kx = 0; kx < g->kw; kx++) {
          float wv = *wt++;
          size_t ylo, yhi, xlo, xhi;
          nn_window_span(&ylo, &yhi, g->oh, g->h, g->sh, ky * g->dh, g->ph);
          nn_window_span(&xlo, &xhi, g->ow, g->w, g->sw, kx * g->dw, g->pw);
          for (oy = ylo; oy < yhi; oy++) {
            size_t iy = oy * g->sh + ky * g->dh - g->ph;
            if (nr == 1 && g->sw == 1) {   /* one sample: an axpy along the row */
              const float *xs = x + (ci * g->h + iy) * g->w + xlo + kx * g->dw - g->pw;
              axpy(yo + oy * g->ow + xlo, xs, wv, xhi - xlo);
              continue;
            }
            for (ox = xlo; ox < xhi; ox++) {
              size_t ix = ox * g->sw + kx * g->dw - g->pw;
              const float *xs = x + ((ci * g->h + iy) * g->w + ix) * nr;
              float *ys = yo + (oy * g->ow + ox) * nr;
              for (c = 0; c < nr; c++) ys[c] += wv * xs[c];
            }
          }
        }
  }
}

/* Patch rows k0 .. k0 + kc of output position (oy, ox) of one panel:
** patch [kc][nr], row t the nr samples' input value k0 + t of the patch
** (channel, then kernel row, then column), zeros where it is padding.  A
** kernel row's values are a run of the input row (dilation 1): one copy
** of its lanes when the run lies inside the image. */
static void gather_patch(float *patch, const float *x, const geom *g, size_t oy, size_t ox,
                         size_t k0, size_t kc, size_t nr) {
  size_t khw = g->kh * g->kw, k = k0, end = k0 + kc, t;
  size_t ci = k / khw, ky = k % khw / g->kw, kx = k % g->kw;
  size_t iy0 = oy * g->sh, ix0 = ox * g->sw;
  while (k < end) {
    size_t run = g->kw - kx < end - k ? g->kw - kx : end - k, iy = iy0 + ky * g->dh;
    size_t at = ix0 + kx * g->dw;             /* the run's first column, padded */
    if (iy < g->ph || iy - g->ph >= g->h) {
      memset(patch, 0, run * nr * sizeof(float));
    } else {
      const float *row = x + (ci * g->h + iy - g->ph) * g->w * nr;
      if (g->dw == 1 && at >= g->pw && at + run - g->pw <= g->w)
        memcpy(patch, row + (at - g->pw) * nr, run * nr * sizeof(float));
      else
        for (t = 0; t < run; t++) {
          size_t ix = at + t * g->dw;
          if (ix < g->pw || ix - g->pw >= g->w) memset(patch + t * nr, 0, nr * sizeof(float));
          else memcpy(patch + t * nr, row + (ix - g->pw) * nr, nr * sizeof(float));
        }
    }
    patch += run * nr;
    k += run;
    kx = 0;
    if (++ky == g->kh) { ky = 0; ci++; }
  }
}

/* Columns k0 .. k0 + kc of W's rows from n_full on, as mr rows of kc
** floats (zeros past c_out): the edge block the tile kernel reads. */
static void pack_edge(float *edge, const float *w, const geom *g, size_t n_full, size_t k0,
                      size_t kc, size_t mr) {
  size_t kk = g->c_in * g->kh * g->kw, rows = g->c_out - n_full, j;
  for (j = 0; j < rows; j++) copy_run(edge + j * kc, w + (n_full + j) * kk + k0, kc);
  fill_run(edge + rows * kc, 0.0f, (mr - rows) * kc);
}

/* Patch columns k0 .. k0 + kc of every output position of one panel,
** y [c_out][ohw][nr] += W patches on the tile kernel: whole blocks of mr
** output channels straight into y (rows ohw nr apart), the last c_out % mr
** through ctmp, their weights packed once for all positions.  part:
** pn->part, (2 mr + nr) kc floats: the edge's weights [mr][kc], the patch
** [kc][nr], ctmp [mr][nr]. */
static void conv_block(float *y, const float *x, const float *w, const geom *g,
                       size_t k0, size_t kc, const nn_panels *pn) {
  const nn_kernel *k = pn->kernel;
  size_t mr = k->mr, nr = pn->nr, kk = g->c_in * g->kh * g->kw, ohw = g->oh * g->ow;
  size_t n_full = g->c_out / mr * mr, j, pos;
  float *edge = pn->part, *patch = edge + mr * k->kc, *ctmp = patch + k->kc * nr;
  if (n_full < g->c_out) pack_edge(edge, w, g, n_full, k0, kc, mr);
  for (pos = 0; pos < ohw; pos++) {
    gather_patch(patch, x, g, pos / g->ow, pos % g->ow, k0, kc, nr);
    for (j = 0; j < n_full; j += mr)
      k->tile_ldc(y + (j * ohw + pos) * nr, ohw * nr, w + j * kk + k0, kk, patch, kc);
    if (n_full == g->c_out) continue;
    memset(ctmp, 0, mr * nr * sizeof(float));
    k->tile(ctmp, edge, kc, patch, kc);
    for (j = n_full; j < g->c_out; j++)
      add_run(y + (j * ohw + pos) * nr, ctmp + (j - n_full) * nr, nr);
  }
}

/* Each panel of a chunk: the bias, then the product kc patch rows at a
** time. */
static void conv_panels(float *y, const float *x, const float *params, const geom *g,
                        const nn_panels *pn) {
  size_t kk = g->c_in * g->kh * g->kw, ohw = g->oh * g->ow, nr = pn->nr, p, co, k0;
  size_t kc_max = pn->kernel->kc;
  const float *b = params + g->c_out * kk;
  for (p = 0; p < pn->count; p++) {
    float *yp = y + p * pn->stride * nr;
    const float *xp = x + p * pn->stride * nr;
    for (co = 0; co < g->c_out; co++) fill_run(yp + co * ohw * nr, b[co], ohw * nr);
    for (k0 = 0; k0 < kk; k0 += kc_max)
      conv_block(yp, xp, params, g, k0, kk - k0 < kc_max ? kk - k0 : kc_max, pn);
  }
}

/* nn_window_span without a division at stride 1, the common case: the
** one-sample gather asks it for every patch row of every tile. */
static void span(size_t *lo, size_t *hi, size_t n_out, size_t n, size_t s, size_t off,
                 size_t p) {
  if (s != 1) {
    nn_window_span(lo, hi, n_out, n, s, off, p);
    return;
  }
  *lo = off >= p ? 0 : p - off;
  *hi = n + p > off ? n + p - off : 0;
  if (*hi > n_out) *hi = n_out;
  if (*lo > *hi) *lo = *hi;
}

/* One sample's patch rows k0 .. k0 + kc for the output positions pos0 ..
** pos0 + np: patch [kc][nr], lane t position pos0 + t (lanes from np on
** zeros), zeros where the window is over padding.  For each patch row,
** the outputs [ylo, yhi) x [xlo, xhi) read the image, found once; along a
** row of outputs the lanes between are input values sw apart. */
static void gather_cols(float *patch, const float *x, const geom *g, size_t pos0,
                        size_t np, size_t k0, size_t kc, size_t nr) {
  const size_t h = g->h, w = g->w, ow = g->ow, sh = g->sh, sw = g->sw, ph = g->ph;
  const size_t pw = g->pw;
  size_t khw = g->kh * g->kw, t, ci = k0 / khw, ky = k0 % khw / g->kw, kx = k0 % g->kw;
  size_t oy0 = pos0 / ow, ox0 = pos0 % ow;
  for (t = 0; t < kc; t++, patch += nr) {
    size_t oy = oy0, ox = ox0, lane = 0, ylo, yhi, xlo, xhi, c;
    size_t offy = ky * g->dh, offx = kx * g->dw;
    const float *chan = x + ci * h * w;
    span(&ylo, &yhi, g->oh, h, sh, offy, ph);
    span(&xlo, &xhi, ow, w, sw, offx, pw);
    while (lane < np) {
      size_t run = ow - ox < np - lane ? ow - ox : np - lane, end = ox + run;
      float *dst = patch + lane;            /* dst[c - ox]: output column c */
      if (oy < ylo || oy >= yhi || xlo >= xhi) {
        for (c = 0; c < run; c++) dst[c] = 0.0f;
      } else {
        const float *row = chan + (oy * sh + offy - ph) * w;
        size_t a = xlo > ox ? xlo : ox, b = xhi < end ? xhi : end;
        if (b < a) b = a;
        for (c = ox; c < a; c++) dst[c - ox] = 0.0f;
        if (sw == 1)
          copy_run(dst + a - ox, row + a + offx - pw, b - a);
        else
          for (c = a; c < b; c++) dst[c - ox] = row[c * sw + offx - pw];
        for (c = b; c < end; c++) dst[c - ox] = 0.0f;
      }
      lane += run;
      ox = 0;
      oy++;
    }
    for (lane = np; lane < nr; lane++) patch[lane] = 0.0f;
    if (++kx == g->kw) { kx = 0; if (++ky == g->kh) { ky = 0; ci++; } }
  }
}

/* y [c_out][ohw] += rows j0 .. j0 + rows of the product (rows <= mr) for
** positions pos0 .. pos0 + np, from a tile on the weights a (lda apart)
** and the patch: straight into y when the tile is whole, else through
** ctmp [mr][nr]. */
static void single_tile(float *y, const geom *g, const nn_kernel *k, size_t j0,
                        size_t rows, size_t pos0, size_t np, const float *a, size_t lda,
                        const float *patch, size_t kc, float *ctmp) {
  size_t ohw = g->oh * g->ow, nr = k->nr, j;
  if (rows == k->mr && np == nr) {
    k->tile_ldc(y + j0 * ohw + pos0, ohw, a, lda, patch, kc);
    return;
  }
  memset(ctmp, 0, k->mr * nr * sizeof(float));
  k->tile(ctmp, a, lda, patch, kc);
  for (j = 0; j < rows; j++) add_run(y + (j0 + j) * ohw + pos0, ctmp + j * nr, np);
}

/* At stride 1, the image padded: xp [c_in][hp][wp] (hp = h + 2 ph, wp =
** w + 2 pw), zeros around, and nr + (kw - 1) dw zeros after, which the
** last tile's lanes past the outputs read.  Its floats, or 0 when the
** stride is not 1. */
static size_t padded_floats(const geom *g, size_t nr) {
  if (g->sh != 1 || g->sw != 1) return 0;
  return g->c_in * (g->h + 2 * g->ph) * (g->w + 2 * g->pw) + nr + (g->kw - 1) * g->dw;
}

static void pad_image(float *xp, const float *x, const geom *g, size_t nr) {
  size_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw, ci, iy;
  memset(xp, 0, padded_floats(g, nr) * sizeof(float));
  for (ci = 0; ci < g->c_in; ci++)
    for (iy = 0; iy < g->h; iy++)
      copy_run(xp + (ci * hp + iy + g->ph) * wp + g->pw, x + (ci * g->h + iy) * g->w, g->w);
}

/* ctmp's rows [rows][nr], lanes q0 .. q0 + nr of the outputs laid out oh x
** wp, added to y [c_out][oh][ow] from channel j0 on: the lanes of columns
** ow .. wp, and past the outputs, are dropped. */
static void scatter_rows(float *y, const float *ctmp, const geom *g, size_t wp,
                         size_t j0, size_t rows, size_t q0, size_t nr) {
  size_t ohw = g->oh * g->ow, j, lane = 0, oy = q0 / wp, ox = q0 % wp;
  while (lane < nr && oy < g->oh) {
    size_t run = wp - ox < nr - lane ? wp - ox : nr - lane;
    if (ox < g->ow) {
      size_t keep = g->ow - ox < run ? g->ow - ox : run;
      for (j = 0; j < rows; j++)
        add_run(y + (j0 + j) * ohw + oy * g->ow + ox, ctmp + j * nr + lane, keep);
    }
    lane += run;
    ox = 0;
    oy++;
  }
}

/* One sample at stride 1, as if the outputs were oh x wp (the padded
** width): then a patch row's nr lanes are nr consecutive floats of the
** padded image, one copy, and the columns past ow, computed for nothing,
** are dropped.  work: the edge's weights [mr][kc], a patch [kc][nr], a
** tile [mr][nr], then the padded image. */
static void conv_padded(float *y, const float *x, const float *params, const geom *g,
                        const nn_kernel *k, float *work) {
  size_t mr = k->mr, nr = k->nr, kk = g->c_in * g->kh * g->kw, khw = g->kh * g->kw;
  size_t kc_max = kk < k->kc ? kk : k->kc, n_full = g->c_out / mr * mr, co, k0, q0, j, t;
  size_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw, nq = g->oh * wp;
  const float *b = params + g->c_out * kk;
  float *edge = work, *patch = edge + mr * kc_max, *ctmp = patch + kc_max * nr;
  float *xp = ctmp + mr * nr;
  pad_image(xp, x, g, nr);
  for (co = 0; co < g->c_out; co++) fill_run(y + co * g->oh * g->ow, b[co], g->oh * g->ow);
  for (k0 = 0; k0 < kk; k0 += kc_max) {
    size_t kc = kk - k0 < kc_max ? kk - k0 : kc_max;
    if (n_full < g->c_out) pack_edge(edge, params, g, n_full, k0, kc, mr);
    for (q0 = 0; q0 < nq; q0 += nr) {
      size_t ci = k0 / khw, ky = k0 % khw / g->kw, kx = k0 % g->kw;
      for (t = 0; t < kc; t++) {          /* patch row k0 + t: (ci, ky, kx) */
        memcpy(patch + t * nr, xp + (ci * hp + ky * g->dh) * wp + kx * g->dw + q0,
               nr * sizeof(float));
        if (++kx == g->kw) { kx = 0; if (++ky == g->kh) { ky = 0; ci++; } }
      }
      for (j = 0; j < g->c_out; j += mr) {
        size_t rows = g->c_out - j < mr ? g->c_out - j : mr;
        memset(ctmp, 0, mr * nr * sizeof(float));
        if (j < n_full) k->tile(ctmp, params + j * kk + k0, kk, patch, kc);
        else k->tile(ctmp, edge, kc, patch, kc);
        scatter_rows(y, ctmp, g, wp, j, rows, q0, nr);
      }
    }
  }
}

/* One sample as a matrix product over patches: y [c_out][ohw] = b +
** W patches, nr output positions a tile, on the kernel set k.  work:
** the pass's part (NN_PART_FLOATS(k)), the edge's weights [mr][kc], a
** patch [kc][nr] and a tile [mr][nr], and 2 n_in floats after the largest
** set's part (NN_KIND_PANEL1): where a padded image fits, conv_padded. */
static void conv_single(float *y, const float *x, const float *params, const geom *g,
                        const nn_kernel *k, float *work) {
  size_t mr = k->mr, nr = k->nr, kk = g->c_in * g->kh * g->kw, ohw = g->oh * g->ow;
  size_t kc_max = kk < k->kc ? kk : k->kc, n_full = g->c_out / mr * mr;
  size_t co, k0, pos, j;
  const float *b = params + g->c_out * kk;
  float *edge = work, *patch = edge + mr * kc_max, *ctmp = patch + kc_max * nr;
  size_t pad = padded_floats(g, nr);
  if (pad > 0 && (mr + nr) * kc_max + mr * nr + pad <= NN_PART_FLOATS(k) +
                                                       2 * g->c_in * g->h * g->w) {
    conv_padded(y, x, params, g, k, work);
    return;
  }
  for (co = 0; co < g->c_out; co++) fill_run(y + co * ohw, b[co], ohw);
  for (k0 = 0; k0 < kk; k0 += kc_max) {
    size_t kc = kk - k0 < kc_max ? kk - k0 : kc_max;
    if (n_full < g->c_out) pack_edge(edge, params, g, n_full, k0, kc, mr);
    for (pos = 0; pos < ohw; pos += nr) {
      size_t np = ohw - pos < nr ? ohw - pos : nr;
      gather_cols(patch, x, g, pos, np, k0, kc, nr);
      for (j = 0; j < n_full; j += mr)
        single_tile(y, g, k, j, mr, pos, np, params + j * kk + k0, kk, patch, kc, ctmp);
      if (n_full < g->c_out)
        single_tile(y, g, k, n_full, g->c_out - n_full, pos, np, edge, kc, patch, kc, ctmp);
    }
  }
}

static void conv2d_forward(float *y, const float *x, const float *params,
                           const float *hyper, size_t n_in, size_t n_out) {
  geom g;
  (void)n_in; (void)n_out;
  geom2d(&g, hyper);
  conv_run(y, x, params, &g, 1);
}

static void conv1d_forward(float *y, const float *x, const float *params,
                           const float *hyper, size_t n_in, size_t n_out) {
  geom g;
  (void)n_in; (void)n_out;
  geom1d(&g, hyper);
  conv_run(y, x, params, &g, 1);
}

static void conv2d_batch(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out,
                         const nn_panels *pn) {
  geom g;
  (void)n_in; (void)n_out;
  geom2d(&g, hyper);
  if (pn->nr == 1) conv_single(y, x, params, &g, pn->kernel, pn->part);
  else conv_panels(y, x, params, &g, pn);
}

static void conv1d_batch(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out,
                         const nn_panels *pn) {
  geom g;
  (void)n_in; (void)n_out;
  geom1d(&g, hyper);
  if (pn->nr == 1) conv_single(y, x, params, &g, pn->kernel, pn->part);
  else conv_panels(y, x, params, &g, pn);
}


/* --- backward -------------------------------------------------------------- */

/* The backward pass runs on the tile kernel, one panel at a time, with its
** nr samples laid out one after another (sample-major) so that a product's
** inner length runs over every (sample, output position) of the panel,
** t = s ohw + pos, T = nr ohw in all:
**   dW [c_out][k] += dY' [c_out][T] P [T][k], dY' the panel's output
**     gradient transposed (its rows past c_out zeros, up to a whole block
**     of mr), P the patches, packed kc rows and nr columns at a time;
**   dP [k][T] = W^T [k][c_out] dY' [c_out][T], nr columns at a time, then
**     each column of dP added back over its patch (col2im) into dX.
** Each sum in one fixed order: the panels' in order, and within one, the
** order of t for dW (kc at a time, in the tile's own order), of t and then
** of k for dX.  The scratch (work) is planned once from the geometry. */

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))
#define LANES_MAX 64     /* the widest nr of any kernel set, and then some */

/* Largest mr and nr of any kernel set compiled in. */
static void kernel_max(size_t *mr, size_t *nr) {
  size_t i;
  *mr = *nr = 1;
  for (i = 0; nn_kernels[i] != NULL; i++) {
    if (nn_kernels[i]->mr > *mr) *mr = nn_kernels[i]->mr;
    if (nn_kernels[i]->nr > *nr) *nr = nn_kernels[i]->nr;
  }
}

/* The parts of a panel's scratch, in floats, for tile shape mr x nr. */
typedef struct back_parts {
  size_t dyt, xs, acc, pack, wt, dxs, cb, places;
} back_parts;

/* Floats of one image with its padding: every window lies inside it. */
static size_t padded(const geom *g) {
  return g->c_in * (g->h + 2 * g->ph) * (g->w + 2 * g->pw);
}

static size_t back_floats(back_parts *b, const geom *g, size_t mr, size_t nr, size_t kc) {
  size_t k = g->c_in * g->kh * g->kw, mp = ROUND_UP(g->c_out, mr), t = nr * g->oh * g->ow;
  b->dyt = mp * t;                          /* dY' [mp][T] */
  b->xs = nr * padded(g);                   /* x sample-major, padded */
  b->acc = ROUND_UP(k, nr) * mp;            /* dW's blocks [k / nr][mp][nr] */
  b->pack = (kc > g->c_out ? kc : g->c_out) * nr;   /* P's or dY's block */
  b->wt = ROUND_UP(k, mr) * g->c_out;       /* W^T [k][c_out], rows past k zeros */
  b->dxs = nr * padded(g);                  /* dX sample-major, padded */
  b->cb = ROUND_UP(k, mr) * nr;             /* dP's columns [k][nr] */
  b->places = k;                            /* place_of each k, a uint32_t */
  return b->dyt + b->xs + b->acc + b->pack + b->wt + b->dxs + b->cb + b->places;
}

/* dyt [mp][T] = dy [c_out][ohw][nr] with each channel's samples one after
** another, rows past c_out zeros; db += each channel's sum. */
static void pack_dyt(float *dyt, float *db, const float *dy, const geom *g, size_t mp,
                     size_t nr) {
  size_t ohw = g->oh * g->ow, t = nr * ohw, co, pos, c;
  for (co = 0; co < g->c_out; co++) {
    const float *src = dy + co * ohw * nr;
    float *row = dyt + co * t, s = 0.0f;
    for (pos = 0; pos < ohw; pos++)
      for (c = 0; c < nr; c++) row[c * ohw + pos] = src[pos * nr + c];
    for (pos = 0; pos < t; pos++) s += row[pos];
    db[co] += s;
  }
  memset(dyt + g->c_out * t, 0, (mp - g->c_out) * t * sizeof(float));
}

/* xs [nr][c_in][h + 2 ph][w + 2 pw] = a panel's lanes x [c_in][h][w][nr]
** as samples one after another, each padded with zeros. */
static void to_samples(float *xs, const float *x, const geom *g, size_t nr) {
  size_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw, img = padded(g), ci, iy, ix, c;
  if (img != g->c_in * g->h * g->w) memset(xs, 0, nr * img * sizeof(float));
  for (ci = 0; ci < g->c_in; ci++)
    for (iy = 0; iy < g->h; iy++)
      for (ix = 0; ix < g->w; ix++) {
        const float *v = x + ((ci * g->h + iy) * g->w + ix) * nr;
        float *s = xs + (ci * hp + iy + g->ph) * wp + ix + g->pw;
        for (c = 0; c < nr; c++) s[c * img] = v[c];
      }
}

/* x [c_in][h][w][nr] = the insides of the padded samples xs. */
static void to_lanes(float *x, const float *xs, const geom *g, size_t nr) {
  size_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw, img = padded(g), ci, iy, ix, c;
  for (ci = 0; ci < g->c_in; ci++)
    for (iy = 0; iy < g->h; iy++)
      for (ix = 0; ix < g->w; ix++) {
        float *v = x + ((ci * g->h + iy) * g->w + ix) * nr;
        const float *s = xs + (ci * hp + iy + g->ph) * wp + ix + g->pw;
        for (c = 0; c < nr; c++) v[c] = s[c * img];
      }
}

/* Patch value k's place in a padded image, from its window's corner. */
static size_t place_of(const geom *g, size_t k) {
  size_t khw = g->kh * g->kw, ci = k / khw, ky = k % khw / g->kw, kx = k % g->kw;
  return (ci * (g->h + 2 * g->ph) + ky * g->dh) * (g->w + 2 * g->pw) + kx * g->dw;
}

/* Walks t = s ohw + oy ow + ox: the corner of its window in xs. */
typedef struct walk {
  size_t s, oy, ox;
} walk;

static walk walk_at(const geom *g, size_t t) {
  walk w;
  size_t ohw = g->oh * g->ow;
  w.s = t / ohw; w.oy = t % ohw / g->ow; w.ox = t % g->ow;
  return w;
}

static size_t corner(const geom *g, const walk *w) {
  return w->s * padded(g) + (w->oy * g->sh) * (g->w + 2 * g->pw) + w->ox * g->sw;
}

static void walk_next(const geom *g, walk *w) {
  if (++w->ox < g->ow) return;
  w->ox = 0;
  if (++w->oy < g->oh) return;
  w->oy = 0;
  w->s++;
}

/* pack [kc][nr] = P's rows t0 .. t0 + kc, the nk columns at places q
** (zeros to nr), from the padded xs. */
static void pack_patches(float *restrict pack, const float *restrict xs, const geom *g,
                         size_t t0, size_t kc, size_t nk, size_t nr,
                         const uint32_t *restrict q) {
  walk w = walk_at(g, t0);
  size_t r, j;
  for (r = 0; r < kc; r++, walk_next(g, &w)) {
    const float *restrict at = xs + corner(g, &w);
    float *restrict row = pack + r * nr;
    for (j = 0; j < nk; j++) row[j] = at[q[j]];
    for (j = nk; j < nr; j++) row[j] = 0.0f;
  }
}

/* dW += dY' P on the tile kernel: each block of nr patch columns and mr
** channels summed in acc over T, kc rows at a time, then added to dw. */
static void conv_back_dw(float *dw, const float *dyt, const float *xs, const geom *g,
                         const nn_panels *pn, float *acc, float *pack, size_t mp,
                         const uint32_t *places) {
  const nn_kernel *kn = pn->kernel;
  size_t nr = pn->nr, mr = kn->mr, kk = g->c_in * g->kh * g->kw;
  size_t t = nr * g->oh * g->ow, t0, k0, j, co, i;
  for (k0 = 0; k0 < kk; k0 += nr) {
    size_t nk = kk - k0 < nr ? kk - k0 : nr;
    float *a = acc + k0 / nr * mp * nr;
    for (t0 = 0; t0 < t; t0 += kn->kc) {
      size_t kc = t - t0 < kn->kc ? t - t0 : kn->kc;
      pack_patches(pack, xs, g, t0, kc, nk, nr, places + k0);
      for (j = 0; j < mp; j += mr)
        (t0 == 0 ? kn->tile_ldc_set : kn->tile_ldc)(a + j * nr, nr, dyt + j * t + t0, t,
                                                     pack, kc);
    }
    for (co = 0; co < g->c_out; co++)
      for (i = 0; i < nk; i++) dw[co * kk + k0 + i] += a[co * nr + i];
  }
}

/* Columns t0 .. t0 + nr of dP, in cb [k][nr], added back over their
** patches into the padded dxs: in the order of k, then of the columns. */
static void col2im(float *dxs, const float *cb, const geom *g, size_t t0, size_t nr,
                   const uint32_t *places) {
  size_t kk = g->c_in * g->kh * g->kw, k, c;
  float *img[LANES_MAX];
  walk w = walk_at(g, t0);
  for (c = 0; c < nr; c++, walk_next(g, &w)) img[c] = dxs + corner(g, &w);
  for (k = 0; k < kk; k++) {
    size_t q = places[k];
    const float *v = cb + k * nr;
    for (c = 0; c < nr; c++) img[c][q] += v[c];
  }
}

/* dxs = the panel's dX, sample-major and padded: W^T (wt) times dY', nr
** columns of it at a time into cb, each spread back by col2im. */
static void conv_back_dx(float *dxs, const float *dyt, const float *wt, const geom *g,
                         const nn_panels *pn, float *pack, float *cb,
                         const uint32_t *places) {
  const nn_kernel *kn = pn->kernel;
  size_t nr = pn->nr, mr = kn->mr, kk = g->c_in * g->kh * g->kw;
  size_t t = nr * g->oh * g->ow, t0, co, i;
  memset(dxs, 0, nr * padded(g) * sizeof(float));
  for (t0 = 0; t0 < t; t0 += nr) {
    for (co = 0; co < g->c_out; co++)
      memcpy(pack + co * nr, dyt + co * t + t0, nr * sizeof(float));
    for (i = 0; i < kk; i += mr)
      kn->tile_ldc_set(cb + i * nr, nr, wt + i * g->c_out, g->c_out, pack, g->c_out);
    col2im(dxs, cb, g, t0, nr, places);
  }
}

/* wt [ROUND_UP(k, mr)][c_out] = W^T, the rows past k zeros. */
static void transpose_w(float *wt, const float *w, const geom *g, size_t mr) {
  size_t kk = g->c_in * g->kh * g->kw, co, i;
  for (co = 0; co < g->c_out; co++)
    for (i = 0; i < kk; i++) wt[i * g->c_out + co] = w[co * kk + i];
  memset(wt + kk * g->c_out, 0, (ROUND_UP(kk, mr) - kk) * g->c_out * sizeof(float));
}

static void conv_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const geom *g, const float *params, const nn_panels *pn,
                          float *work) {
  size_t nr = pn->nr, mr = pn->kernel->mr, mp = ROUND_UP(g->c_out, mr), p, at;
  size_t kk = g->c_in * g->kh * g->kw;
  back_parts b;
  float *dyt = work, *xs, *acc, *pack, *wt, *dxs, *cb;
  uint32_t *places;
  back_floats(&b, g, mr, nr, pn->kernel->kc);
  xs = dyt + b.dyt; acc = xs + b.xs; pack = acc + b.acc; wt = pack + b.pack;
  dxs = wt + b.wt; cb = dxs + b.dxs;
  places = (uint32_t *)(cb + b.cb);          /* a float's size and alignment */
  for (p = 0; p < kk; p++) places[p] = (uint32_t)place_of(g, p);
  if (dx) transpose_w(wt, params, g, mr);
  for (p = 0; p < pn->count; p++) {
    at = p * pn->stride * nr;
    pack_dyt(dyt, dparams + g->c_out * kk, dy + at, g, mp, nr);
    to_samples(xs, x + at, g, nr);
    conv_back_dw(dparams, dyt, xs, g, pn, acc, pack, mp, places);
    if (dx == NULL) continue;
    conv_back_dx(dxs, dyt, wt, g, pn, pack, cb, places);
    to_lanes(dx + at, dxs, g, nr);
  }
}

/* The largest scratch of any kernel set compiled in. */
static size_t conv_work(const geom *g) {
  size_t mr, nr, kc = 1, i, most = 0;
  back_parts b;
  kernel_max(&mr, &nr);
  for (i = 0; nn_kernels[i] != NULL; i++)
    if (nn_kernels[i]->kc > kc) kc = nn_kernels[i]->kc;
  for (i = 0; nn_kernels[i] != NULL; i++) {
    size_t n = back_floats(&b, g, nn_kernels[i]->mr, nn_kernels[i]->nr, kc);
    if (n > most) most = n;
  }
  return most;
}

static size_t conv2d_work_size(const float *hyper, size_t n_in, size_t n_out, size_t rows) {
  geom g;
  (void)n_in; (void)n_out; (void)rows;
  geom2d(&g, hyper);
  return conv_work(&g);
}

static size_t conv1d_work_size(const float *hyper, size_t n_in, size_t n_out, size_t rows) {
  geom g;
  (void)n_in; (void)n_out; (void)rows;
  geom1d(&g, hyper);
  return conv_work(&g);
}

static void conv2d_backward(float *dx, float *dparams, const float *dy, const float *x,
                            const float *y, const float *params, const float *hyper,
                            size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  geom g;
  (void)y; (void)n_in; (void)n_out;
  geom2d(&g, hyper);
  conv_backward(dx, dparams, dy, x, &g, params, pn, work);
}

static void conv1d_backward(float *dx, float *dparams, const float *dy, const float *x,
                            const float *y, const float *params, const float *hyper,
                            size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  geom g;
  (void)y; (void)n_in; (void)n_out;
  geom1d(&g, hyper);
  conv_backward(dx, dparams, dy, x, &g, params, pn, work);
}


/* --- shape rules ----------------------------------------------------------- */

static void set_shape(nn_shape *s, size_t rank, size_t c, size_t h, size_t w) {
  s->rank = rank;
  s->d[0] = c; s->d[1] = h; s->d[2] = w;
}

/* Raises nothing; words for a shape in messages: "1x28x28". */
static void shape_words(char *buf, size_t size, const nn_shape *s) {
  if (s->rank == 1) snprintf(buf, size, "a flat row of %zu", s->d[0]);
  else if (s->rank == 2) snprintf(buf, size, "%zux%zu", s->d[0], s->d[1]);
  else snprintf(buf, size, "%zux%zux%zu", s->d[0], s->d[1], s->d[2]);
}

/* in of the rank a kind takes (2: channels x length, 3: channels x height x
** width); the reason in why when it is not. */
int nn_shape_takes(const nn_shape *in, size_t rank, char why[NN_ERRMAX]) {
  char got[48];
  if (in->rank == rank) return NN_OK;
  shape_words(got, sizeof got, in);
  if (snprintf(why, NN_ERRMAX, "takes %s, but the layer before gives %s: begin the "
               "net with nn.Input{%s}", rank == 3 ? "images (c x h x w)" :
               "sequences (c x l)", got, rank == 3 ? "c, h, w" : "c, l") < 0)
    why[0] = '\0';
  return NN_EMISMATCH;
}

/* The rule of both convolutions on geometry g (its h, w from the input). */
static int conv_rule(geom *g, nn_shape *in, nn_shape *out, size_t rank,
                     char why[NN_ERRMAX]) {
  int st = nn_shape_takes(in, rank, why);
  if (st != NN_OK) return st;
  if (in->d[0] != g->c_in) {
    snprintf(why, NN_ERRMAX, "takes %zu channels, but the layer before it gives %zu",
             g->c_in, in->d[0]);
    return NN_EMISMATCH;
  }
  g->h = rank == 3 ? in->d[1] : 1;
  g->w = rank == 3 ? in->d[2] : in->d[1];
  geom_out(g);
  if (g->oh == 0 || g->ow == 0) {
    if (rank == 3)
      snprintf(why, NN_ERRMAX, "its kernel (%zux%zu, dilation %zux%zu) is larger than "
               "its padded input (%zux%zu, padding %zux%zu)", g->kh, g->kw, g->dh, g->dw,
               g->h, g->w, g->ph, g->pw);
    else
      snprintf(why, NN_ERRMAX, "its kernel (%zu, dilation %zu) is larger than its "
               "padded input (%zu, padding %zu)", g->kw, g->dw, g->w, g->pw);
    return NN_ESIZE;
  }
  set_shape(out, rank, g->c_out, rank == 3 ? g->oh : g->ow, rank == 3 ? g->ow : 1);
  return NN_OK;
}

/* Alone (nothing before it says), a convolution takes the image it kept, or
** else the smallest image its kernel fits. */
static size_t smallest(size_t k, size_t d, size_t p) {
  size_t span = d * (k - 1) + 1;
  return span > 2 * p ? span - 2 * p : 1;
}

static int conv2d_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                        char why[NN_ERRMAX]) {
  geom g;
  int st;
  geom2d(&g, hyper);
  if (in->rank == 0)
    set_shape(in, 3, g.c_in, g.h ? g.h : smallest(g.kh, g.dh, g.ph),
              g.w ? g.w : smallest(g.kw, g.dw, g.pw));
  if ((st = conv_rule(&g, in, out, 3, why)) != NN_OK) return st;
  if (keep) { keep[C2_H] = (float)g.h; keep[C2_W] = (float)g.w; }
  return NN_OK;
}

static int conv1d_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                        char why[NN_ERRMAX]) {
  geom g;
  int st;
  geom1d(&g, hyper);
  if (in->rank == 0) set_shape(in, 2, g.c_in, g.w ? g.w : smallest(g.kw, g.dw, g.pw), 1);
  if ((st = conv_rule(&g, in, out, 2, why)) != NN_OK) return st;
  if (keep) keep[C1_L] = (float)g.w;
  return NN_OK;
}

/* Input{c, h, w}: rank 3; {c, l}: rank 2 (width 0); {n}: rank 1. */
static int input_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                       char why[NN_ERRMAX]) {
  size_t c = HY(0), h = HY(1), w = HY(2);
  (void)keep;
  set_shape(out, h == 0 ? 1 : w == 0 ? 2 : 3, c, h ? h : 1, w ? w : 1);
  if (h == 0 && w != 0) {
    snprintf(why, NN_ERRMAX, "a width needs a height");
    return NN_ESIZE;
  }
  if (in->rank == 0) *in = *out;
  return NN_OK;
}

/* Flatten: any shape to a flat row of its values. */
static int flatten_shape(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
                         char why[NN_ERRMAX]) {
  (void)hyper; (void)keep; (void)why;
  if (in->rank == 0) { out->rank = 0; return NN_OK; }
  set_shape(out, 1, in->d[0] * in->d[1] * in->d[2], 1, 1);
  return NN_OK;
}

/* Input and Flatten move no value: dx = dy, in place. */
static void same_backward(float *dx, float *dparams, const float *dy, const float *x,
                          const float *y, const float *params, const float *hyper,
                          size_t n_in, size_t n_out, const nn_panels *pn, float *work) {
  size_t p, i, n = n_in * pn->nr;
  (void)dparams; (void)x; (void)y; (void)params; (void)hyper; (void)n_out; (void)work;
  if (dx == NULL || dx == dy) return;
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n; i++) dx[p * pn->stride * pn->nr + i] = dy[p * pn->stride * pn->nr + i];
}


/* --- the descriptors ------------------------------------------------------- */

#define WHOLE(name, what, def, lo)  { name, what, def, lo, 16777215, 1, NULL, NULL }

/* out_channels first: the weight's second dimension is the product of the
** three after it (the constructors take in_channels first, as PyTorch). */
static const nn_hyper conv2d_hyper[C2_N] = {
  WHOLE("out_channels", "output channels", 1, 1),
  WHOLE("in_channels", "input channels", 1, 1),
  WHOLE("kernel_h", "kernel height", 1, 1), WHOLE("kernel_w", "kernel width", 1, 1),
  WHOLE("stride_h", "stride", 1, 1), WHOLE("stride_w", "stride", 1, 1),
  WHOLE("padding_h", "padding", 0, 0), WHOLE("padding_w", "padding", 0, 0),
  WHOLE("dilation_h", "dilation", 1, 1), WHOLE("dilation_w", "dilation", 1, 1),
  WHOLE("height", "input height", 0, 0), WHOLE("width", "input width", 0, 0)
};

static const nn_hyper conv1d_hyper[C1_N] = {
  WHOLE("out_channels", "output channels", 1, 1),
  WHOLE("in_channels", "input channels", 1, 1),
  WHOLE("kernel", "kernel size", 1, 1), WHOLE("stride", "stride", 1, 1),
  WHOLE("padding", "padding", 0, 0), WHOLE("dilation", "dilation", 1, 1),
  WHOLE("length", "input length", 0, 0)
};

/* weight [out_channels][in_channels * kernel], bias [out_channels]. */
static const nn_tensor_info conv2d_tensors[] = {
  { "weight", 2, { NN_DIM_HYPER(C2_COUT), NN_DIM_PRODUCT(C2_CIN, 3) }, NN_INIT_FAN_IN, 1 },
  { "bias",   1, { NN_DIM_HYPER(C2_COUT), 0 }, NN_INIT_FAN_IN, 1 }
};

static const nn_tensor_info conv1d_tensors[] = {
  { "weight", 2, { NN_DIM_HYPER(C1_COUT), NN_DIM_PRODUCT(C1_CIN, 2) }, NN_INIT_FAN_IN, 1 },
  { "bias",   1, { NN_DIM_HYPER(C1_COUT), 0 }, NN_INIT_FAN_IN, 1 }
};

const nn_kind_info nn_kind_conv2d = {
  "Conv2d", "conv2d", 0, 0, C2_N, conv2d_hyper, 2, conv2d_tensors,
  conv2d_forward, conv2d_batch, conv2d_backward, conv2d_work_size,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_PANEL1, NULL, NULL, NULL, conv2d_shape
};

const nn_kind_info nn_kind_conv1d = {
  "Conv1d", "conv1d", 0, 0, C1_N, conv1d_hyper, 2, conv1d_tensors,
  conv1d_forward, conv1d_batch, conv1d_backward, conv1d_work_size,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_PANEL1, NULL, NULL, NULL, conv1d_shape
};

static const nn_hyper input_hyper[] = {
  WHOLE("channels", "channels", 1, 1), WHOLE("height", "height", 0, 0),
  WHOLE("width", "width", 0, 0)
};

/* forward NULL: y = x, a layer the passes skip */
const nn_kind_info nn_kind_image_input = {
  "Input", "input", 1, 0, 3, input_hyper, 0, NULL, NULL, NULL, same_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, input_shape
};

const nn_kind_info nn_kind_flatten = {
  "Flatten", "flatten", 1, 0, 0, NULL, 0, NULL, NULL, NULL, same_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, flatten_shape
};
