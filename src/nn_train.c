/*
** nn_train.c: the trainer: batches forward and backward through a network,
** losses, and the optimizers SGD, Adam (AdamW) and iRPROP-.
**
** Pure C99: no Lua, no SQLite, no allocation (the trainer's block comes from
** the caller, see nn_train.h).  Rows go through the net a chunk at a time
** in the panel layout of nn_engine.c: panel p of a buffer holds
** [stride][nr] floats, value i of sample p*nr+c at [i][c], so that every
** product is a run of calls of the kernel set's tile (C += A B, A rows read
** in place, B a [kc][nr] block):
**   forward  Y  = W X      A: W's rows, B: X's panels
**   dX       dX = W^T dY   A: W transposed once per step, B: dY's panels
**   dW       dW = dY X^T   A: dY feature-major, B: X repacked [kc samples][nr features]
** Samples past the chunk's last row are zeros on the way in and get a zero
** gradient, so they add nothing.  Every sum is taken in one fixed order:
** the same kernel set gives the same bits.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_engine.h"
#include "nn_kernel.h"
#include "nn_train.h"

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))
#define ALIGN_FLOATS    16          /* 64 bytes: buffers start on cache lines */
#define MAX_CHUNK       ((size_t)1 << 20)

struct nn_trainer {
  nn_train_opts o;
  size_t n_layers, n_params, n_x, n_out;
  size_t cap;                /* rows per chunk */
  uint64_t steps;
  size_t mr_all, nr_all, mr_max, kc_max;   /* over every kernel set */
  nn_layer *layers;          /* [n_layers]: what nn_trainer_fits compares */
  size_t *aoff;              /* [n_layers + 1]: act i at acts + aoff[i + 1], input at aoff[0] */
  size_t *stride;            /* [n_layers + 1]: floats per panel row block, input first */
  float *grad, *m, *v;       /* [n_params] each */
  float *acts;               /* every layer's output, in panels */
  float *d0, *d1;            /* gradients in panels [panels][max stride][nr] */
  float *xs, *dyt, *wt, *part, *ctmp;
  float *rm_y, *rm_d, *rm_t; /* row-major [cap][n_out]: outputs, their gradient, targets */
  uint32_t *rm_c;            /* [cap] classes of the chunk */
};

void nn_train_defaults(nn_train_opts *o, nn_optim optimizer) {
  memset(o, 0, sizeof *o);
  o->loss = NN_LOSS_MSE;
  o->optimizer = optimizer;
  o->lr = optimizer == NN_OPT_ADAM ? 1e-3f : 0.01f;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->batch = 32;
  o->rprop_increase = 1.2f;
  o->rprop_decrease = 0.5f;
  o->rprop_delta_min = 0.0f;
  o->rprop_delta_max = 50.0f;
  o->rprop_delta_zero = 0.1f;
}


/* --- layout of the block ------------------------------------------------ */

static size_t gcd(size_t a, size_t b) {
  while (b) { size_t t = a % b; a = b; b = t; }
  return a;
}

/* Sizes every kernel set needs, so nn_kernel_select between steps is safe:
** mr_all and nr_all are multiples of every set's mr and nr. */
static void kernel_bounds(size_t *mr_all, size_t *nr_all, size_t *mr_max, size_t *kc_max) {
  size_t i;
  *mr_all = *nr_all = *mr_max = *kc_max = 1;
  for (i = 0; nn_kernels[i] != NULL; i++) {
    const nn_kernel *k = nn_kernels[i];
    *mr_all = *mr_all / gcd(*mr_all, k->mr) * k->mr;
    *nr_all = *nr_all / gcd(*nr_all, k->nr) * k->nr;
    if (k->mr > *mr_max) *mr_max = k->mr;
    if (k->kc > *kc_max) *kc_max = k->kc;
  }
}

/* The parts of the block in floats, each a whole number of cache lines. */
typedef struct plan_t {
  size_t head, layers, offsets, params, acts, d, xs, dyt, wt, part, ctmp, rm,
         rm_c, total;
} plan_t;

static size_t floats_of(size_t bytes) {
  return ROUND_UP((bytes + sizeof(float) - 1) / sizeof(float), ALIGN_FLOATS);
}

/* Floats of the buffer of one layer's output (or of the input), width wide. */
static size_t act_floats(size_t width, size_t cap, size_t mr_all, size_t nr_all) {
  return ROUND_UP(ROUND_UP(cap, nr_all) * ROUND_UP(width, mr_all), ALIGN_FLOATS);
}

/* Widths are below 2^24, cap below 2^20 and layers below 2^16: no product
** here overflows 64 bits. */
static size_t plan(plan_t *p, const nn_net *net, size_t cap) {
  size_t mr_all, nr_all, mr_max, kc_max, i, width = net->n_inputs, cap_pad;
  size_t max_width = width, max_in = 1, max_out = 1, max_w = 1;
  kernel_bounds(&mr_all, &nr_all, &mr_max, &kc_max);
  cap_pad = ROUND_UP(cap, nr_all);
  p->acts = act_floats(width, cap, mr_all, nr_all);
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    if (l->kind == NN_LINEAR) {
      width = l->n_out;
      if (l->n_in > max_in) max_in = l->n_in;
      if (l->n_out > max_out) max_out = l->n_out;
      if (l->n_in * l->n_out > max_w) max_w = l->n_in * l->n_out;
    }
    if (width > max_width) max_width = width;
    p->acts += act_floats(width, cap, mr_all, nr_all);
  }
  p->head = floats_of(sizeof(nn_trainer)) + ALIGN_FLOATS;   /* slack to align */
  p->layers = floats_of(net->n_layers * sizeof(nn_layer) + 1);
  p->offsets = floats_of((net->n_layers + 1) * sizeof(size_t));
  p->params = floats_of(net->n_params * sizeof(float));
  p->d = act_floats(max_width, cap, mr_all, nr_all);
  p->xs = ROUND_UP(ROUND_UP(max_in, nr_all) * cap_pad, ALIGN_FLOATS);
  p->dyt = ROUND_UP(ROUND_UP(max_out, mr_all) * cap_pad, ALIGN_FLOATS);
  p->wt = ROUND_UP(max_w, ALIGN_FLOATS);
  p->part = ROUND_UP(mr_max * kc_max, ALIGN_FLOATS);
  p->ctmp = ROUND_UP(mr_max * nr_all, ALIGN_FLOATS);
  p->rm = ROUND_UP(cap * (net->n_outputs ? net->n_outputs : 1), ALIGN_FLOATS);
  p->rm_c = floats_of(cap * sizeof(uint32_t));
  p->total = p->head + p->layers + 2 * p->offsets + 3 * p->params + p->acts +
             2 * p->d + p->xs + p->dyt + p->wt + p->part + p->ctmp + 3 * p->rm + p->rm_c;
  return p->total;
}

static size_t chunk_rows(const nn_train_opts *o) {
  size_t cap = o->batch ? o->batch : 32;
  return cap < MAX_CHUNK ? cap : MAX_CHUNK;
}

size_t nn_trainer_size(const nn_net *net, const nn_train_opts *o) {
  plan_t p;
  size_t total;
  if (net->n_outputs == 0) return 0;     /* nothing to train */
  total = plan(&p, net, chunk_rows(o));
  if (total > ((size_t)-1) / sizeof(float) / 2) return 0;
  return total * sizeof(float);
}

nn_trainer *nn_trainer_init(void *block, const nn_net *net, const nn_train_opts *o) {
  plan_t p;
  float *base, *at;
  nn_trainer *tr;
  size_t i, width, off;
  size_t total = plan(&p, net, chunk_rows(o));
  memset(block, 0, total * sizeof(float));
  base = (float *)block;
  base += (ALIGN_FLOATS - ((uintptr_t)base / sizeof(float)) % ALIGN_FLOATS) % ALIGN_FLOATS;
  tr = (nn_trainer *)base;
  at = base + floats_of(sizeof(nn_trainer));
  tr->o = *o;
  tr->cap = chunk_rows(o);
  tr->n_layers = net->n_layers;
  tr->n_params = net->n_params;
  tr->n_x = net->n_inputs;
  tr->n_out = net->n_outputs;
  kernel_bounds(&tr->mr_all, &tr->nr_all, &tr->mr_max, &tr->kc_max);
  tr->layers = (nn_layer *)at;  at += p.layers;
  tr->aoff = (size_t *)at;      at += p.offsets;
  tr->stride = (size_t *)at;    at += p.offsets;
  tr->grad = at;                at += p.params;
  tr->m = at;                   at += p.params;
  tr->v = at;                   at += p.params;
  tr->acts = at;                at += p.acts;
  tr->d0 = at;                  at += p.d;
  tr->d1 = at;                  at += p.d;
  tr->xs = at;                  at += p.xs;
  tr->dyt = at;                 at += p.dyt;
  tr->wt = at;                  at += p.wt;
  tr->part = at;                at += p.part;
  tr->ctmp = at;                at += p.ctmp;
  tr->rm_y = at;                at += p.rm;
  tr->rm_d = at;                at += p.rm;
  tr->rm_t = at;                at += p.rm;
  tr->rm_c = (uint32_t *)at;
  if (net->n_layers) memcpy(tr->layers, net->layers, net->n_layers * sizeof(nn_layer));
  /* Buffer 0 is the input; buffer i + 1 the output of layer i. */
  width = net->n_inputs;
  off = 0;
  for (i = 0; i <= net->n_layers; i++) {
    if (i > 0 && net->layers[i - 1].kind == NN_LINEAR) width = net->layers[i - 1].n_out;
    tr->aoff[i] = off;
    tr->stride[i] = ROUND_UP(width, tr->mr_all);
    off += act_floats(width, tr->cap, tr->mr_all, tr->nr_all);
  }
  nn_trainer_reset(tr);
  return tr;
}

int nn_trainer_fits(const nn_trainer *tr, const nn_net *net) {
  size_t i;
  if (net->n_layers != tr->n_layers || net->n_params != tr->n_params) return 0;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *a = &net->layers[i], *b = &tr->layers[i];
    if (a->kind != b->kind || a->n_in != b->n_in || a->n_out != b->n_out ||
        a->w != b->w || memcmp(&a->alpha, &b->alpha, sizeof(float)) != 0)
      return 0;
  }
  return 1;
}

void nn_trainer_reset(nn_trainer *tr) {
  size_t i;
  tr->steps = 0;
  memset(tr->m, 0, tr->n_params * sizeof(float));
  if (tr->o.optimizer == NN_OPT_RPROP)
    for (i = 0; i < tr->n_params; i++) tr->v[i] = tr->o.rprop_delta_zero;
  else
    memset(tr->v, 0, tr->n_params * sizeof(float));
}

const nn_train_opts *nn_trainer_opts(const nn_trainer *tr) { return &tr->o; }
float *nn_trainer_grad(nn_trainer *tr) { return tr->grad; }
uint64_t nn_trainer_steps(const nn_trainer *tr) { return tr->steps; }


/* --- products on panels ------------------------------------------------- */

/* out = A in (+ bias) for every panel: A is n_rows x n_k, row i at a + i lda;
** in holds n_k values a sample ([in_stride][nr] a panel), out n_rows
** ([out_stride][nr]).  As nn_engine.c's linear_panels: full tiles read A in
** place; its last n_rows % mr rows are copied into part with zero rows
** after them ([mr][kc]), so that every tile computes mr rows. */
static void gemm_panels(const nn_kernel *k, float *out, size_t out_stride,
                        const float *in, size_t in_stride, float *part,
                        const float *a, size_t lda, const float *bias,
                        size_t n_rows, size_t n_k, size_t panels) {
  size_t mr = k->mr, nr = k->nr;
  size_t n_full = n_rows / mr * mr, n_pad = ROUND_UP(n_rows, mr);
  size_t p, j, c, k0, i;
  for (p = 0; p < panels; p++) {
    float *o = out + p * out_stride * nr;
    for (j = 0; j < n_pad; j++) {
      float v = bias != NULL && j < n_rows ? bias[j] : 0.0f;
      for (c = 0; c < nr; c++) o[j * nr + c] = v;
    }
  }
  for (k0 = 0; k0 < n_k; k0 += k->kc) {
    size_t kc = n_k - k0 < k->kc ? n_k - k0 : k->kc;
    if (n_full < n_rows)
      for (j = 0; j < mr; j++)
        for (i = 0; i < kc; i++)
          part[j * kc + i] = n_full + j < n_rows ? a[(n_full + j) * lda + k0 + i] : 0.0f;
    for (p = 0; p < panels; p++) {
      const float *bp = in + p * in_stride * nr + k0 * nr;
      float *o = out + p * out_stride * nr;
      for (j = 0; j < n_full; j += mr)
        k->tile(o + j * nr, a + j * lda + k0, lda, bp, kc);
      if (n_full < n_rows) k->tile(o + n_full * nr, part, kc, bp, kc);
    }
  }
}

/* dyt [n_pad][bp] = dy's panels feature-major, rows past n_out zero; db +=
** each row's sum (padded samples are zeros). */
static void pack_dyt(float *dyt, float *db /* [n_out] */, const float *dy,
                     size_t stride, size_t n_out, size_t n_pad, size_t panels,
                     size_t nr) {
  size_t bp = panels * nr, j, p, c;
  for (j = 0; j < n_out; j++) {
    float *row = dyt + j * bp, s = 0.0f;
    for (p = 0; p < panels; p++)
      for (c = 0; c < nr; c++) row[p * nr + c] = dy[p * stride * nr + j * nr + c];
    for (c = 0; c < bp; c++) s += row[c];
    db[j] += s;
  }
  if (n_pad > n_out) memset(dyt + n_out * bp, 0, (n_pad - n_out) * bp * sizeof(float));
}

/* xs [q][bp][nr] = x's panels as blocks of nr features, sample-major: the
** B of dW = dY X^T.  Features past n_in are zeros. */
static void pack_xs(float *xs, const float *x, size_t stride, size_t n_in,
                    size_t panels, size_t nr) {
  size_t bp = panels * nr, q, s, f;
  for (q = 0; q < n_in; q += nr) {
    float *blk = xs + q / nr * bp * nr;
    size_t nf = n_in - q < nr ? n_in - q : nr;
    for (s = 0; s < bp; s++) {
      const float *src = x + (s / nr) * stride * nr + q * nr + s % nr;
      for (f = 0; f < nf; f++) blk[s * nr + f] = src[f * nr];
      for (; f < nr; f++) blk[s * nr + f] = 0.0f;
    }
  }
}

/* dw [n_out][n_in] += dyt xs^T, one mr x nr block at a time through ctmp. */
static void gemm_dw(const nn_kernel *k, float *dw, const float *dyt,
                    const float *xs, float *ctmp, size_t n_out, size_t n_in,
                    size_t bp) {
  size_t mr = k->mr, nr = k->nr, q, j, k0, m, f;
  for (q = 0; q < n_in; q += nr) {
    const float *blk = xs + q / nr * bp * nr;
    size_t nf = n_in - q < nr ? n_in - q : nr;
    for (j = 0; j < n_out; j += mr) {
      size_t nm = n_out - j < mr ? n_out - j : mr;
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


/* --- per-kind passes ---------------------------------------------------- */

void nn_relu_backward(float *dx, const float *dy, const float *y, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_leaky_relu_backward(float *dx, const float *dy, const float *x,
                            float alpha, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
}

void nn_sigmoid_backward(float *dx, const float *dy, const float *y, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
}

void nn_tanh_backward(float *dx, const float *dy, const float *y, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void nn_identity_backward(float *dx, const float *dy, size_t n) {
  if (dx != dy) memmove(dx, dy, n * sizeof(float));
}

void nn_softmax_backward(float *dx, const float *dy, const float *y,
                         size_t n, size_t nr) {
  size_t c, j;
  for (c = 0; c < nr; c++) {
    float s = 0.0f;
    for (j = 0; j < n; j++) s += dy[j * nr + c] * y[j * nr + c];
    for (j = 0; j < n; j++) dx[j * nr + c] = y[j * nr + c] * (dy[j * nr + c] - s);
  }
}

/* The element-wise forward passes, out of place over n values (the panels'
** padding included, which nothing reads).  The arithmetic of nn_engine.c. */
static void act_forward(const nn_kernel *k, const nn_layer *l, float *y,
                        const float *x, size_t n, size_t width, size_t panels,
                        size_t stride) {
  size_t i, p, c, j;
  switch (l->kind) {
    case NN_RELU:
      memcpy(y, x, n * sizeof(float));
      k->relu(y, n);
      break;
    case NN_LEAKYRELU:
      for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : l->alpha * x[i];
      break;
    case NN_SIGMOID:
      for (i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
      break;
    case NN_TANH:
      for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
      break;
    case NN_SOFTMAX:
      for (p = 0; p < panels; p++) {
        const float *xp = x + p * stride * k->nr;
        float *yp = y + p * stride * k->nr;
        for (c = 0; c < k->nr; c++) {
          float max = xp[c], sum = 0.0f;
          for (j = 1; j < width; j++) if (xp[j * k->nr + c] > max) max = xp[j * k->nr + c];
          for (j = 0; j < width; j++)
            sum += (yp[j * k->nr + c] = expf(xp[j * k->nr + c] - max));
          sum = 1.0f / sum;
          for (j = 0; j < width; j++) yp[j * k->nr + c] *= sum;
        }
      }
      break;
    default:
      memcpy(y, x, n * sizeof(float));
      break;
  }
}


/* --- a chunk forward and backward --------------------------------------- */

static float *act(nn_trainer *tr, size_t i) { return tr->acts + tr->aoff[i]; }

/* The chunk's rows into the input panels; samples past n are zeros. */
static void pack_input(nn_trainer *tr, const nn_kernel *k, const float *X,
                       size_t n_x, const size_t *rows, size_t r0, size_t n) {
  size_t nr = k->nr, panels = (n + nr - 1) / nr, s = tr->stride[0], p, c, i;
  float *in = act(tr, 0);
  for (p = 0; p < panels; p++) {
    float *dst = in + p * s * nr;
    for (c = 0; c < nr; c++) {
      size_t r = p * nr + c;
      if (r < n) {
        const float *src = X + (rows ? rows[r0 + r] : r0 + r) * n_x;
        for (i = 0; i < n_x; i++) dst[i * nr + c] = src[i];
      } else {
        for (i = 0; i < n_x; i++) dst[i * nr + c] = 0.0f;
      }
    }
  }
}

static void forward_chunk(nn_trainer *tr, const nn_kernel *k, const nn_net *net,
                          size_t panels) {
  size_t i, width = tr->n_x, nr = k->nr;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    float *x = act(tr, i), *y = act(tr, i + 1);
    if (l->kind == NN_LINEAR) {
      const float *w = net->params + l->w;
      gemm_panels(k, y, tr->stride[i + 1], x, tr->stride[i], tr->part, w, l->n_in,
                  w + l->n_out * l->n_in, l->n_out, l->n_in, panels);
      width = l->n_out;
    } else {
      act_forward(k, l, y, x, panels * tr->stride[i] * nr, width, panels, tr->stride[i]);
    }
  }
}

/* Panels of buffer b (stride s) <-> row-major [n][k]. */
static void unpack_rows(float *rm, const float *b, size_t s, size_t n, size_t kk,
                        size_t nr) {
  size_t r, j;
  for (r = 0; r < n; r++)
    for (j = 0; j < kk; j++) rm[r * kk + j] = b[(r / nr) * s * nr + j * nr + r % nr];
}

static void pack_rows(float *b, const float *rm, size_t s, size_t n, size_t kk,
                      size_t nr, size_t panels) {
  size_t r, j;
  for (r = 0; r < panels * nr; r++)
    for (j = 0; j < kk; j++)
      b[(r / nr) * s * nr + j * nr + r % nr] = r < n ? rm[r * kk + j] : 0.0f;
}

/* Backward from the gradient in d (panels, for the output of layer `top`)
** down to layer `bottom`; dx of layer bottom is computed only when want_dx.
** Returns the buffer that holds the last gradient computed. */
static float *backward_chunk(nn_trainer *tr, const nn_kernel *k, const nn_net *net,
                             float *grad, float *d, size_t top, size_t bottom,
                             int want_dx, size_t panels) {
  size_t i = top + 1, nr = k->nr, bp = panels * nr;
  float *spare = d == tr->d0 ? tr->d1 : tr->d0;
  while (i-- > bottom) {
    const nn_layer *l = &net->layers[i];
    float *x = act(tr, i), *y = act(tr, i + 1);
    size_t s = tr->stride[i + 1], n = panels * s * nr;
    switch (l->kind) {
      case NN_LINEAR: {
        const float *w = net->params + l->w;
        float *gw = grad + l->w, *t;
        pack_dyt(tr->dyt, gw + l->n_out * l->n_in, d, s, l->n_out,
                 ROUND_UP(l->n_out, k->mr), panels, nr);
        pack_xs(tr->xs, x, tr->stride[i], l->n_in, panels, nr);
        gemm_dw(k, gw, tr->dyt, tr->xs, tr->ctmp, l->n_out, l->n_in, bp);
        if (i == bottom && !want_dx) return d;
        transpose(tr->wt, w, l->n_out, l->n_in);
        gemm_panels(k, spare, tr->stride[i], d, s, tr->part, tr->wt, l->n_out, NULL,
                    l->n_in, l->n_out, panels);
        t = d; d = spare; spare = t;
        break;
      }
      case NN_RELU:      nn_relu_backward(d, d, y, n); break;
      case NN_LEAKYRELU: nn_leaky_relu_backward(d, d, x, l->alpha, n); break;
      case NN_SIGMOID:   nn_sigmoid_backward(d, d, y, n); break;
      case NN_TANH:      nn_tanh_backward(d, d, y, n); break;
      case NN_SOFTMAX: {
        size_t p;
        for (p = 0; p < panels; p++)
          nn_softmax_backward(d + p * s * nr, d + p * s * nr, y + p * s * nr,
                              l->n_out, nr);
        break;
      }
      default: break;
    }
  }
  return d;
}

/* The first Linear: below it nothing has parameters. */
static size_t first_linear(const nn_net *net) {
  size_t i;
  for (i = 0; i < net->n_layers; i++) if (net->layers[i].kind == NN_LINEAR) return i;
  return 0;
}

/* Cross-entropy on a net that ends with SoftMax takes the logits before it. */
static int fused(const nn_trainer *tr, const nn_net *net) {
  return tr->o.loss == NN_LOSS_CE && net->n_layers > 0 &&
         net->layers[net->n_layers - 1].kind == NN_SOFTMAX;
}

/* Gather the chunk's targets into rm_t or rm_c. */
static void gather_targets(nn_trainer *tr, const float *T, const uint32_t *classes,
                           const size_t *rows, size_t r0, size_t n) {
  size_t r;
  for (r = 0; r < n; r++) {
    size_t at = rows ? rows[r0 + r] : r0 + r;
    if (T) memcpy(tr->rm_t + r * tr->n_out, T + at * tr->n_out, tr->n_out * sizeof(float));
    else tr->rm_c[r] = classes[at];
  }
}

/* Forward a chunk, then the loss of its rows (sum); with grad, its gradient
** (scale times that of the sum) goes back into grad.  Returns the sum. */
static double chunk_loss(nn_trainer *tr, const nn_kernel *k, const nn_net *net,
                         float *grad, float scale, const float *X, size_t n_x,
                         const size_t *rows, size_t r0, size_t n, const float *T,
                         const uint32_t *classes, size_t *correct) {
  size_t nr = k->nr, panels = (n + nr - 1) / nr, top = net->n_layers;
  size_t kk = tr->n_out, r;
  double sum;
  if (fused(tr, net)) top--;
  pack_input(tr, k, X, n_x, rows, r0, n);
  forward_chunk(tr, k, net, panels);
  gather_targets(tr, T, classes, rows, r0, n);
  unpack_rows(tr->rm_y, act(tr, top), tr->stride[top], n, kk, nr);
  sum = nn_loss_rows(tr->o.loss, grad ? tr->rm_d : NULL, tr->rm_y,
                     T ? tr->rm_t : NULL, T ? NULL : tr->rm_c, n, kk, scale);
  if (correct)
    for (r = 0; r < n; r++) {
      const float *y = tr->rm_y + r * kk;
      size_t want = T ? (kk > 1 ? nn_argmax(tr->rm_t + r * kk, kk) : tr->rm_t[r] > 0.5f)
                      : tr->rm_c[r];
      size_t got = kk > 1 ? nn_argmax(y, kk) : (size_t)(y[0] > 0.5f);
      *correct += got == want;
    }
  if (grad && top > 0) {
    pack_rows(tr->d0, tr->rm_d, tr->stride[top], n, kk, nr, panels);
    backward_chunk(tr, k, net, grad, tr->d0, top - 1, first_linear(net), 0, panels);
  }
  return sum;
}


/* --- losses ------------------------------------------------------------- */

double nn_loss_count(nn_loss loss, size_t n, size_t k) {
  return loss == NN_LOSS_CE ? (double)n : (double)n * (double)k;
}

/* t of row r, output j: the row's value or one-hot of its class. */
#define TARGET(j)  (T ? (double)t[j] : (double)((j) == classes[r]))

double nn_loss_rows(nn_loss loss, float *dY, const float *Y, const float *T,
                    const uint32_t *classes, size_t n, size_t k, float scale) {
  double sum = 0.0;
  size_t r, j;
  for (r = 0; r < n; r++) {
    const float *y = Y + r * k, *t = T ? T + r * k : NULL;
    float *d = dY ? dY + r * k : NULL;
    if (loss == NN_LOSS_MSE) {
      for (j = 0; j < k; j++) {
        double e = (double)y[j] - TARGET(j);
        sum += e * e;
        if (d) d[j] = (float)(2.0 * e) * scale;
      }
    } else if (loss == NN_LOSS_BCE) {
      for (j = 0; j < k; j++) {
        double tj = TARGET(j), p = y[j];
        double lp = p > 0.0 ? log(p) : -100.0, lq = p < 1.0 ? log(1.0 - p) : -100.0;
        if (lp < -100.0) lp = -100.0;
        if (lq < -100.0) lq = -100.0;
        sum -= tj * lp + (1.0 - tj) * lq;
        if (d) {
          double den = (1.0 - p) * p;
          d[j] = (float)((p - tj) / (den > 1e-12 ? den : 1e-12)) * scale;
        }
      }
    } else {
      /* log-sum-exp shifted by the largest logit: nothing overflows */
      double max = y[0], se = 0.0, lse, tsum = 0.0;
      for (j = 1; j < k; j++) if (y[j] > max) max = y[j];
      for (j = 0; j < k; j++) se += exp((double)y[j] - max);
      lse = max + log(se);
      for (j = 0; j < k; j++) {
        double tj = TARGET(j);
        if (tj != 0.0) sum += tj * (lse - (double)y[j]);
        tsum += tj;
      }
      if (d)
        for (j = 0; j < k; j++)
          d[j] = (float)(exp((double)y[j] - lse) * tsum - TARGET(j)) * scale;
    }
  }
  return sum;
}


/* --- steps ---------------------------------------------------------------- */

static void sgd(nn_trainer *tr, float *w, const float *g) {
  const nn_train_opts *o = &tr->o;
  float *buf = tr->m;
  size_t i, n = tr->n_params;
  for (i = 0; i < n; i++) {
    float gi = g[i] + o->weight_decay * w[i];
    if (o->momentum > 0.0f) {
      buf[i] = tr->steps == 0 ? gi : o->momentum * buf[i] + gi;
      gi = o->nesterov ? gi + o->momentum * buf[i] : buf[i];
    }
    w[i] -= o->lr * gi;
  }
}

static void adam(nn_trainer *tr, const nn_kernel *k, float *w, const float *g) {
  const nn_train_opts *o = &tr->o;
  double t = (double)(tr->steps + 1);
  double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
  nn_adam_consts c;
  c.b1 = o->beta1;
  c.b2 = o->beta2;
  c.step = (float)(o->lr / bc1);
  c.inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
  c.eps = o->eps;
  c.decay = 1.0f - o->lr * o->weight_decay;
  k->adam(w, tr->m, tr->v, g, tr->n_params, &c);
}

/* iRPROP- (Igel and Huesken): a step size per weight, grown while the
** gradient keeps its sign and shrunk when it flips, after which that
** weight rests one step. */
static void rprop(nn_trainer *tr, float *w, const float *g) {
  const nn_train_opts *o = &tr->o;
  float *prev = tr->m, *delta = tr->v;
  size_t i;
  for (i = 0; i < tr->n_params; i++) {
    float gi = g[i], s = gi * prev[i], d = delta[i];
    if (s > 0.0f) {
      d *= o->rprop_increase;
      if (d > o->rprop_delta_max) d = o->rprop_delta_max;
    } else if (s < 0.0f) {
      d *= o->rprop_decrease;
      if (d < o->rprop_delta_min) d = o->rprop_delta_min;
      gi = 0.0f;
    }
    if (gi > 0.0f) w[i] -= d;
    else if (gi < 0.0f) w[i] += d;
    prev[i] = gi;
    delta[i] = d;
  }
}

int nn_train_step(nn_trainer *tr, nn_net *net, double *loss, const float *X,
                  size_t n_x, const size_t *rows, size_t n, const float *T,
                  const uint32_t *classes, char err[NN_ERRMAX]) {
  const nn_kernel *k = nn_kernel_in_use;
  double count = nn_loss_count(tr->o.loss, n, tr->n_out), sum = 0.0, norm = 0.0;
  float scale = (float)(1.0 / count);
  size_t r0, i;
  float *g = tr->grad;
  memset(g, 0, tr->n_params * sizeof(float));
  for (r0 = 0; r0 < n; r0 += tr->cap) {
    size_t m = n - r0 < tr->cap ? n - r0 : tr->cap;
    sum += chunk_loss(tr, k, net, g, scale, X, n_x, rows, r0, m, T, classes, NULL);
  }
  *loss = sum / count;
  if (!isfinite(*loss)) {
    snprintf(err, NN_ERRMAX, "the loss is %s", *loss != *loss ? "NaN" : "infinite");
    return NN_EDIVERGED;
  }
  for (i = 0; i < tr->n_params; i++) norm += (double)g[i] * g[i];
  if (!isfinite(norm)) {
    snprintf(err, NN_ERRMAX, "the gradient is not finite");
    return NN_EDIVERGED;
  }
  norm = sqrt(norm);
  if (tr->o.clip > 0.0f && norm > tr->o.clip) {
    float f = (float)(tr->o.clip / norm);
    for (i = 0; i < tr->n_params; i++) g[i] *= f;
  }
  switch (tr->o.optimizer) {
    case NN_OPT_SGD:   sgd(tr, net->params, g); break;
    case NN_OPT_ADAM:  adam(tr, k, net->params, g); break;
    case NN_OPT_RPROP: rprop(tr, net->params, g); break;
  }
  tr->steps++;
  return NN_OK;
}

void nn_train_evaluate(nn_trainer *tr, const nn_net *net, double *loss,
                       size_t *correct, const float *X, size_t n_x,
                       const size_t *rows, size_t n, const float *T,
                       const uint32_t *classes) {
  const nn_kernel *k = nn_kernel_in_use;
  double sum = 0.0;
  size_t r0;
  *correct = 0;
  for (r0 = 0; r0 < n; r0 += tr->cap) {
    size_t m = n - r0 < tr->cap ? n - r0 : tr->cap;
    sum += chunk_loss(tr, k, net, NULL, 0.0f, X, n_x, rows, r0, m, T, classes, correct);
  }
  *loss = n > 0 ? sum / nn_loss_count(tr->o.loss, n, tr->n_out) : 0.0;
}

void nn_train_backward(nn_trainer *tr, const nn_net *net, float *dX, float *grad,
                       const float *X, size_t n_x, size_t n, const float *dY) {
  const nn_kernel *k = nn_kernel_in_use;
  size_t nr = k->nr, r0, top = net->n_layers;
  for (r0 = 0; r0 < n; r0 += tr->cap) {
    size_t m = n - r0 < tr->cap ? n - r0 : tr->cap, panels = (m + nr - 1) / nr;
    float *d;
    pack_input(tr, k, X, n_x, NULL, r0, m);
    forward_chunk(tr, k, net, panels);
    pack_rows(tr->d0, dY + r0 * tr->n_out, tr->stride[top], m, tr->n_out, nr, panels);
    d = top > 0 ? backward_chunk(tr, k, net, grad, tr->d0, top - 1, 0, 1, panels) : tr->d0;
    if (dX) unpack_rows(dX + r0 * n_x, d, tr->stride[0], m, n_x, nr);
  }
}

void nn_train_shuffle(size_t *idx, size_t n, uint64_t *state) {
  size_t i;
  for (i = n; i > 1; i--) {
    /* j uniform in [0, i): the high half of a 64-bit product */
    uint64_t r = nn_splitmix64(state) >> 32;
    size_t j = (size_t)((r * (uint64_t)i) >> 32), t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}
