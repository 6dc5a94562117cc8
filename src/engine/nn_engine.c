/*
** nn_engine.c: the table of layer kinds, layout, forward pass and
** initialisation of feed-forward networks in float32 (folding is in
** nn_fold.c).
**
** Pure C99: no Lua, no SQLite, no allocation except in nn_net_new (for C
** hosts).  Every layer function follows one order of arguments: outputs,
** inputs, weights, sizes.  Element-wise layers work in place.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_backward.h"

/* --- the layer kinds ------------------------------------------------------
** Each kind's arithmetic, then its descriptor in the one table.  Every
** forward follows the engine's order of arguments: outputs, inputs,
** weights, sizes; element-wise ones run in place (y == x). */

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))

/* y = W x + b with the kernel set in use (nn_kernel.c). */
static void linear_forward(float *y /* [n_out] */, const float *x /* [n_in] */,
                           const float *w /* [n_out][n_in] */,
                           const float *b /* [n_out] */,
                           size_t n_in, size_t n_out) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n_in < k->narrow) nn_linear_scalar(y, x, w, b, n_in, n_out);
  else k->linear(y, x, w, b, n_in, n_out);
}

static void linear_kind_forward(float *y, const float *x, const float *params,
                                const float *hyper, size_t n_in, size_t n_out) {
  (void)hyper;
  linear_forward(y, x, params, params + n_out * n_in, n_in, n_out);
}

static void linear_kind_batch(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out,
                              const nn_panels *pn) {
  (void)hyper;
  nn_linear_panels(y, x, params, n_in, n_out, pn);
}

static size_t linear_n_params(size_t n_in, size_t n_out) {
  return n_out * (n_in + 1);
}

static void relu_forward(float *v /* [n] */, size_t n) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n < k->narrow) nn_relu_scalar(v, n);
  else k->relu(v, n);
}

static void relu_kind_forward(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  relu_forward(y, n_in);
}

/* LeakyReLU, ReLU and the transcendental kinds run in place (y == x, as
** every element-wise kind is called). */
static void leaky_relu_forward(float *y, const float *x, const float *params,
                               const float *hyper, size_t n_in, size_t n_out) {
  const nn_kernel *k = nn_kernel_in_use;
  (void)x; (void)params; (void)n_out;
  if (n_in < k->narrow) nn_leaky_relu_scalar(y, hyper[0], n_in);
  else k->leaky_relu(y, hyper[0], n_in);
}

/* The transcendental kernels take any n, narrow layers too: a value gives
** the same bits alone or in a batch's panel (nn_kernel.h). */
static void sigmoid_forward(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  nn_kernel_in_use->act_sigmoid(y, n_in);
}

static void tanh_forward(float *y, const float *x, const float *params,
                         const float *hyper, size_t n_in, size_t n_out) {
  (void)x; (void)params; (void)hyper; (void)n_out;
  nn_kernel_in_use->act_tanh(y, n_in);
}

/* A row narrower than NN_ACT_FEW, whose maximum v[best] is max: each exp
** alone through the set's act_exp1, with the arithmetic and order of the
** wide path below (v - max, the sum in index order, one division), and
** the maximum's exp, which is exactly 1 in every set, left out: for the
** seed's two outputs that is half the work.  The batch, which takes whole
** panels, gets the same bits. */
static void softmax_narrow(float *v /* [n] */, size_t n, size_t best, float max) {
  nn_act1_fn *exp1 = nn_kernel_in_use->act_exp1;
  float sum = 0.0f;
  size_t i;
  for (i = 0; i < n; i++) sum += (v[i] = i == best ? 1.0f : exp1(v[i] - max));
  sum = 1.0f / sum;
  for (i = 0; i < n; i++) v[i] *= sum;
}

/* Shifted by the maximum so that exp never overflows; the result does not
** change, since softmax(v) = softmax(v - c).  The maximum's own difference
** is set to 0, whose exp is exactly 1, so that an infinite maximum gives 1
** rather than exp(inf - inf).  The sum is taken in index order, as
** softmax_batch takes it.  In place: v is y and x. */
static void softmax_forward(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out) {
  float *v = y;
  size_t i, best = 0, n = n_in;
  float max, sum = 0.0f;
  (void)x; (void)params; (void)hyper; (void)n_out;
  if (n == 0) return;
  max = v[0];
  for (i = 1; i < n; i++) if (v[i] > max) max = v[best = i];
  if (n < NN_ACT_FEW) { softmax_narrow(v, n, best, max); return; }
  for (i = 0; i < n; i++) v[i] -= max;
  v[best] = 0.0f;
  nn_kernel_in_use->act_exp(v, n);
  for (i = 0; i < n; i++) sum += v[i];
  sum = 1.0f / sum;    /* one division, not n: within an ulp of dividing */
  for (i = 0; i < n; i++) v[i] *= sum;
}

/* SoftMax down each sample's column, as softmax_forward does along a row,
** with the same arithmetic in the same order, so that a batch row and the
** sample alone agree exactly (an infinite logit too); the exponentials of
** a whole panel in one call of the pass's kernel set. */
static void softmax_batch(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out,
                          const nn_panels *pn) {
  size_t p, c, j, n = n_in, nr = pn->nr;
  (void)x; (void)params; (void)hyper; (void)n_out;
  if (n == 0) return;
  for (p = 0; p < pn->count; p++) {
    float *v = y + p * pn->stride * nr;
    for (c = 0; c < nr; c++) {
      float max = v[c];
      size_t best = 0;
      for (j = 1; j < n; j++) if (v[j * nr + c] > max) max = v[(best = j) * nr + c];
      for (j = 0; j < n; j++) v[j * nr + c] -= max;
      v[best * nr + c] = 0.0f;
    }
    pn->kernel->act_exp(v, n * nr);
    for (c = 0; c < nr; c++) {
      float sum = 0.0f;
      for (j = 0; j < n; j++) sum += v[j * nr + c];
      sum = 1.0f / sum;
      for (j = 0; j < n; j++) v[j * nr + c] *= sum;
    }
  }
}

/* The descriptors: name, element-wise, parameter count, hyper-parameters,
** forward for one sample, for a batch, backward. */
static const nn_kind_info linear_kind = {
  "Linear", 0, linear_n_params, 0, {{0}},
  linear_kind_forward, linear_kind_batch, nn_linear_backward
};
static const nn_kind_info relu_kind = {
  "ReLU", 1, NULL, 0, {{0}}, relu_kind_forward, NULL, nn_relu_backward
};
static const nn_kind_info leaky_relu_kind = {
  "LeakyReLU", 1, NULL, 1, {{"alpha", "slope", 0.01, -FLT_MAX, FLT_MAX}},
  leaky_relu_forward, NULL, nn_leaky_relu_backward
};
static const nn_kind_info sigmoid_kind = {
  "Sigmoid", 1, NULL, 0, {{0}}, sigmoid_forward, NULL, nn_sigmoid_backward
};
static const nn_kind_info tanh_kind = {
  "Tanh", 1, NULL, 0, {{0}}, tanh_forward, NULL, nn_tanh_backward
};
static const nn_kind_info softmax_kind = {
  "SoftMax", 1, NULL, 0, {{0}}, softmax_forward, softmax_batch, nn_softmax_backward
};
static const nn_kind_info identity_kind = {
  "Identity", 1, NULL, 0, {{0}}, NULL, NULL, nn_identity_backward
};

/* A build may add kinds after the built-ins without touching this file:
** -DNN_EXTRA_KINDS='"file.h"' names a file that defines their descriptors
** and NN_EXTRA_KIND_LIST, a list of their addresses each followed by a
** comma (the specs add one so). */
#ifdef NN_EXTRA_KINDS
#include NN_EXTRA_KINDS
#else
#define NN_EXTRA_KIND_LIST
#endif

/* Indexed by kind; NN_KIND_COUNT is no kind (nn_kind_from_name's unknown). */
static const nn_kind_info *const kinds[] = {
  [NN_LINEAR] = &linear_kind, [NN_RELU] = &relu_kind,
  [NN_LEAKYRELU] = &leaky_relu_kind, [NN_SIGMOID] = &sigmoid_kind,
  [NN_TANH] = &tanh_kind, [NN_SOFTMAX] = &softmax_kind,
  [NN_IDENTITY] = &identity_kind,
  [NN_KIND_COUNT] = NULL,
  /* kinds without a C name go here, each numbered by its place */
  NN_EXTRA_KIND_LIST
};

#define KIND_END  (sizeof kinds / sizeof kinds[0])

const nn_kind_info *nn_kind_info_of(nn_kind kind) {
  return (size_t)kind < KIND_END ? kinds[kind] : NULL;
}

nn_kind nn_kind_end(void) { return (nn_kind)KIND_END; }

const char *nn_kind_name(nn_kind kind) {
  const nn_kind_info *d = nn_kind_info_of(kind);
  return d ? d->name : "?";
}

nn_kind nn_kind_from_name(const char *name) {
  size_t k;
  for (k = 0; k < KIND_END; k++)
    if (kinds[k] && strcmp(name, kinds[k]->name) == 0) return (nn_kind)k;
  return NN_KIND_COUNT;
}

/* Whether layer l is sized (writes a new vector), not element-wise. */
static int is_sized(const nn_layer *l) {
  return l->kind == NN_LINEAR || !kinds[l->kind]->elementwise;
}

size_t nn_layer_n_params(const nn_layer *l) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  return d && d->n_params ? d->n_params(l->n_in, l->n_out) : 0;
}


/* --- layout ------------------------------------------------------------ */

int nn_layout(nn_layer *layers, size_t n, size_t *n_params, char err[NN_ERRMAX]) {
  size_t i, width = 0, total = 0;
  if (n > NN_MAX_LAYERS) {
    snprintf(err, NN_ERRMAX, "too many layers (%zu, at most %zu)", n, NN_MAX_LAYERS);
    return NN_ESIZE;
  }
  /* The first sized layer fixes the width of everything before it. */
  for (i = 0; i < n; i++) {
    const nn_kind_info *d = nn_kind_info_of(layers[i].kind);
    if (d && !d->elementwise) { width = layers[i].n_in; break; }
  }
  for (i = 0; i < n; i++) {
    nn_layer *l = &layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    size_t count;
    if (d == NULL) {
      snprintf(err, NN_ERRMAX, "layer %zu: unknown kind %d", i + 1, (int)l->kind);
      return NN_EKIND;
    }
    if (d->elementwise) {
      l->n_in = l->n_out = width;
    } else {
      if (l->n_in == 0 || l->n_out == 0 ||
          l->n_in > NN_MAX_WIDTH || l->n_out > NN_MAX_WIDTH) {
        snprintf(err, NN_ERRMAX, "layer %zu: nn.%s(%zu -> %zu): sizes must be "
                 "between 1 and %zu", i + 1, d->name, l->n_in, l->n_out, NN_MAX_WIDTH);
        return NN_ESIZE;
      }
      if (l->n_in != width) {
        snprintf(err, NN_ERRMAX, "layer %zu: nn.%s(%zu -> %zu) takes %zu "
                 "inputs, but the layer before it gives %zu", i + 1, d->name,
                 l->n_in, l->n_out, l->n_in, width);
        return NN_EMISMATCH;
      }
    }
    /* Widths are below 2^24, so a count fits; the sum is checked. */
    count = d->n_params ? d->n_params(l->n_in, l->n_out) : 0;
    if (count > NN_MAX_PARAMS - total) {
      snprintf(err, NN_ERRMAX, "layer %zu: more than %zu parameters in all",
               i + 1, NN_MAX_PARAMS);
      return NN_ESIZE;
    }
    l->w = count ? total : 0;
    total += count;
    width = l->n_out;
  }
  *n_params = total;
  return NN_OK;
}


/* The block: nn_net, then layers, then params, each part aligned for its type. */
#define ALIGN_UP(x, a)  (((x) + (a) - 1) / (a) * (a))

static size_t layers_offset(void) {
  return ALIGN_UP(sizeof(nn_net), 16);
}

static size_t params_offset(size_t n_layers) {
  return ALIGN_UP(layers_offset() + n_layers * sizeof(nn_layer), 16);
}

size_t nn_net_size(size_t n_layers, size_t n_params) {
  if (n_layers > NN_MAX_LAYERS || n_params > NN_MAX_PARAMS) return 0;
  return params_offset(n_layers) + n_params * sizeof(float);
}

nn_net *nn_net_init(void *block, const nn_layer *layers, size_t n, size_t n_params) {
  nn_net *net = (nn_net *)block;
  size_t i;
  net->n_layers = n;
  net->n_params = n_params;
  net->layers = (nn_layer *)((char *)block + layers_offset());
  net->params = (float *)((char *)block + params_offset(n));
  if (n > 0) memcpy(net->layers, layers, n * sizeof(nn_layer));
  if (n_params > 0) memset(net->params, 0, n_params * sizeof(float));
  net->n_inputs = net->n_outputs = net->max_width = net->sized_end = 0;
  for (i = 0; i < n; i++) {
    const nn_layer *l = &layers[i];
    if (is_sized(l)) {
      if (net->n_inputs == 0) net->n_inputs = l->n_in;
      net->n_outputs = l->n_out;
      net->sized_end = i + 1;
    }
    if (l->n_in > net->max_width) net->max_width = l->n_in;
    if (l->n_out > net->max_width) net->max_width = l->n_out;
  }
  return net;
}

nn_net *nn_net_new(const nn_layer *layers, size_t n, char err[NN_ERRMAX]) {
  nn_layer *copy;
  nn_net *net = NULL;
  size_t n_params = 0, bytes;
  if (n > NN_MAX_LAYERS) {
    snprintf(err, NN_ERRMAX, "too many layers (%zu, at most %zu)", n, NN_MAX_LAYERS);
    return NULL;
  }
  copy = (nn_layer *)malloc((n ? n : 1) * sizeof(nn_layer));
  if (copy == NULL) goto nomem;
  if (n > 0) memcpy(copy, layers, n * sizeof(nn_layer));
  if (nn_layout(copy, n, &n_params, err) != NN_OK) { free(copy); return NULL; }
  bytes = nn_net_size(n, n_params);
  if (bytes != 0 && (net = (nn_net *)malloc(bytes)) != NULL)
    nn_net_init(net, copy, n, n_params);
  free(copy);
  if (net != NULL) return net;
nomem:
  snprintf(err, NN_ERRMAX, "not enough memory");
  return NULL;
}

void nn_net_free(nn_net *net) { free(net); }


/* --- one sample -------------------------------------------------------- */

/* The sized layer l: out = l(in).  Linear called directly: the hot path. */
static void sized_forward(const nn_net *net, const nn_layer *l, float *out,
                          const float *in) {
  const float *p = net->params + l->w;
  if (l->kind == NN_LINEAR)
    linear_forward(out, in, p, p + l->n_out * l->n_in, l->n_in, l->n_out);
  else
    kinds[l->kind]->forward(out, in, p, l->hyper, l->n_in, l->n_out);
}

/* The element-wise layer l on v (n floats, writable) in place.  ReLU called
** directly: the hot path. */
static void elementwise_forward(const nn_net *net, const nn_layer *l,
                                float *v, size_t n) {
  const nn_kind_info *d;
  if (l->kind == NN_RELU) { relu_forward(v, n); return; }
  d = kinds[l->kind];
  if (d->forward) d->forward(v, v, net->params + l->w, l->hyper, n, n);
}

/* Whether the element-wise layer l changes anything (Identity does not). */
static int does_something(const nn_layer *l) {
  return kinds[l->kind]->forward != NULL;
}

static size_t width_after(const nn_layer *l, size_t n) {
  return is_sized(l) ? l->n_out : n;
}

size_t nn_work_size(const nn_net *net, size_t n_x) {
  return NN_WORK_MAX(net->max_width, n_x);
}

/* The layers read x where it is and the last sized layer writes straight into y,
** so the layers after it work in place there: for a small net the two
** copies this saves cost as much as the arithmetic.  work is two halves: a
** sized layer writes into the one its input is not in (the lower one when
** it reads x), so no pointer to the spare half is carried from layer to
** layer: on the seed's 4-3-2 net every value kept live in the loop shows. */
void nn_forward(const nn_net *net, float *y, const float *x, size_t n_x, float *work) {
  size_t half = net->max_width > n_x ? net->max_width : n_x;
  size_t i, last = net->sized_end, n = n_x;
  float *lo = work, *cur = NULL;        /* cur: the result, once it is writable */
  const float *in = x;
  if (last > 0 && (uintptr_t)x < (uintptr_t)(y + net->n_outputs) &&
      (uintptr_t)y < (uintptr_t)(x + n_x)) {
    /* y overlaps x, which the layers read until the last of them */
    memcpy(lo, x, n_x * sizeof(float));
    in = cur = lo;
  }
  if (last == 0) {                      /* no sized layer: everything happens in y */
    memmove(y, x, n_x * sizeof(float));
    in = cur = y;
  }
  /* Linear and ReLU are called directly, every other kind through its
  ** descriptor: for a small net each call saved shows. */
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = NULL;
    if (l->kind == NN_LINEAR || !(d = kinds[l->kind])->elementwise) {
      const float *p = net->params + l->w;
      float *out = i + 1 == last ? y : (cur == lo ? lo + half : lo);
      if (d == NULL) linear_forward(out, in, p, p + l->n_out * l->n_in, l->n_in, l->n_out);
      else d->forward(out, in, p, l->hyper, l->n_in, l->n_out);
      in = cur = out;
      n = l->n_out;
    } else if (l->kind == NN_RELU || d->forward != NULL) {
      if (cur == NULL) {                /* x is read-only: work on a copy */
        memcpy(lo, x, n * sizeof(float));
        in = cur = lo;
      }
      if (l->kind == NN_RELU) relu_forward(cur, n);
      else d->forward(cur, cur, net->params + l->w, l->hyper, n, n);
    }
  }
  if (in != y) memmove(y, in, n * sizeof(float));
}


/* --- batches ----------------------------------------------------------- */

/* A chunk of up to NN_BATCH_ROWS samples goes through the net as a whole,
** each layer one matrix product.  Between layers the chunk lives in work as
** panels of nr samples, feature-major: panel p holds [stride][nr] floats,
** value i of sample p*nr+c at [i][c], so that kc consecutive features of a
** panel are one contiguous block (the tile kernel's B).  The weights are
** read in place (the tile kernel's A); the net itself is only read.  stride
** is the widest layer rounded up to mr, so a tile may always write all its
** mr rows. */

#define WORK_ALIGN      16      /* floats: 64 bytes, a cache line */

static size_t batch_stride(const nn_net *net, size_t n_x, const nn_kernel *k) {
  size_t width = net->max_width > n_x ? net->max_width : n_x;
  return ROUND_UP(width, k->mr);
}

static size_t kernel_work(const nn_net *net, size_t n_rows, size_t n_x,
                          const nn_kernel *k) {
  size_t rows = n_rows < NN_BATCH_ROWS ? n_rows : NN_BATCH_ROWS;
  size_t stride = batch_stride(net, n_x, k);
  rows = ROUND_UP(rows > 0 ? rows : 1, k->nr);
  return 2 * rows * stride + k->mr * k->kc + WORK_ALIGN;
}

/* Sized for every kernel set, not just the one in use, so that a work
** buffer stays large enough whatever nn_kernel_select does later. */
size_t nn_batch_work_size(const nn_net *net, size_t n_rows, size_t n_x) {
  size_t i, most = nn_work_size(net, n_x);
  if (net->n_outputs == 0) return most;      /* no Linear: row by row */
  for (i = 0; nn_kernels[i] != NULL; i++) {
    size_t need = kernel_work(net, n_rows, n_x, nn_kernels[i]);
    if (need > most) most = need;
  }
  return most;
}

/* Y [rows][n_y] = net(X [rows][n_x]) for rows <= NN_BATCH_ROWS, in panels. */
static void forward_chunk(const nn_net *net, const nn_kernel *k, float *Y,
                          const float *X, size_t rows, size_t n_x, float *work) {
  size_t nr = k->nr, stride = batch_stride(net, n_x, k);
  size_t panels = (rows + nr - 1) / nr, i, p, c, n = n_x;
  float *cur = work, *spare = work + panels * stride * nr;
  nn_panels pn;
  pn.count = panels; pn.nr = nr; pn.stride = stride; pn.kernel = k;
  pn.part = spare + panels * stride * nr;
  /* Into panels in the order they are written, reading nr rows at once;
  ** samples past rows are zeros, so that they stay finite. */
  for (p = 0; p < panels; p++) {
    const float *src = X + p * nr * n_x;
    size_t cols = rows - p * nr < nr ? rows - p * nr : nr;
    float *dst = cur + p * stride * nr;
    for (i = 0; i < n_x; i++, dst += nr) {
      for (c = 0; c < cols; c++) dst[c] = src[c * n_x + i];
      for (; c < nr; c++) dst[c] = 0.0f;
    }
  }
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const float *w = net->params + l->w;
    if (is_sized(l)) {
      float *t;
      if (l->kind == NN_LINEAR)   /* the hot path: no indirect call */
        nn_linear_panels(spare, cur, w, l->n_in, l->n_out, &pn);
      else
        kinds[l->kind]->forward_batch(spare, cur, w, l->hyper, l->n_in, l->n_out, &pn);
      t = cur; cur = spare; spare = t;
      n = l->n_out;
    } else if (kinds[l->kind]->forward_batch) {
      kinds[l->kind]->forward_batch(cur, cur, w, l->hyper, n, n, &pn);
    } else {
      for (p = 0; p < panels; p++)
        elementwise_forward(net, l, cur + p * stride * nr, n * nr);
    }
  }
  for (p = 0; p < panels; p++)
    for (c = 0; c < nr && p * nr + c < rows; c++) {
      const float *src = cur + p * stride * nr + c;
      float *dst = Y + (p * nr + c) * n;
      for (i = 0; i < n; i++) dst[i] = src[i * nr];
    }
}

void nn_forward_batch(const nn_net *net, float *Y, const float *X,
                      size_t n_rows, size_t n_x, float *work) {
  const nn_kernel *k = nn_kernel_in_use;
  size_t r = 0, n_y = net->n_outputs ? net->n_outputs : n_x;
  /* The panels start on a cache line, whatever the caller's alignment. */
  float *aligned = work + (WORK_ALIGN - ((uintptr_t)work / sizeof(float)) % WORK_ALIGN)
                          % WORK_ALIGN;
  if (net->n_outputs == 0) {                 /* no Linear: nothing to gain */
    for (; r < n_rows; r++) nn_forward(net, Y + r * n_y, X + r * n_x, n_x, work);
    return;
  }
  while (r < n_rows) {
    size_t rows = n_rows - r < NN_BATCH_ROWS ? n_rows - r : NN_BATCH_ROWS;
    size_t part = rows % k->nr;
    /* A last panel of a few samples costs a whole panel; below k->few of
    ** them, one sample at a time is cheaper. */
    if (part > 0 && part < k->few) rows -= part;
    if (rows > 0) {
      forward_chunk(net, k, Y + r * n_y, X + r * n_x, rows, n_x, aligned);
      r += rows;
    } else {
      for (; part > 0; part--, r++)
        nn_forward(net, Y + r * n_y, X + r * n_x, n_x, work);
    }
  }
}

size_t nn_trace_size(const nn_net *net, size_t n_x) {
  size_t i, n = n_x, total = 0;
  for (i = 0; i < net->n_layers; i++) {
    n = width_after(&net->layers[i], n);
    total += n;
  }
  return total > 0 ? total : 1;
}

void nn_trace(const nn_net *net, float *out, size_t *offsets,
              const float *x, size_t n_x) {
  size_t i, n = n_x, at = 0;
  const float *prev = x;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    size_t m = width_after(l, n);
    offsets[i] = at;
    if (is_sized(l)) {
      /* prev is read-only here, so the layer writes straight into out. */
      sized_forward(net, l, out + at, prev);
    } else {
      memmove(out + at, prev, n * sizeof(float));
      if (does_something(l)) elementwise_forward(net, l, out + at, n);
    }
    prev = out + at;
    at += m;
    n = m;
  }
  offsets[net->n_layers] = at;
}

size_t nn_argmax(const float *y, size_t n) {
  size_t i, best = 0;
  for (i = 1; i < n; i++) if (y[i] > y[best]) best = i;
  return best;
}


/* --- initialisation ---------------------------------------------------- */

/* splitmix64: small, fast, and every seed (0 too) gives a good stream. */
uint64_t nn_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform in [-1, 1) from the top 24 bits, exact in float. */
static float uniform_pm1(uint64_t *state) {
  return (float)(nn_splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

void nn_init_layer(nn_net *net, size_t layer, uint64_t *rng_state) {
  const nn_layer *l = &net->layers[layer];
  float *p = net->params + l->w;
  float bound;
  size_t i, count;
  count = nn_layer_n_params(l);
  if (count == 0) return;
  bound = 1.0f / sqrtf((float)l->n_in);
  for (i = 0; i < count; i++) p[i] = bound * uniform_pm1(rng_state);
}

void nn_init_uniform(nn_net *net, uint64_t *rng_state) {
  size_t i;
  for (i = 0; i < net->n_layers; i++) nn_init_layer(net, i, rng_state);
}


/* --- bytes ------------------------------------------------------------- */

void nn_params_to_le(unsigned char *out, const float *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &p[i], 4);
    out[4 * i] = (unsigned char)u;
    out[4 * i + 1] = (unsigned char)(u >> 8);
    out[4 * i + 2] = (unsigned char)(u >> 16);
    out[4 * i + 3] = (unsigned char)(u >> 24);
  }
}

void nn_params_from_le(float *p, const unsigned char *in, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    uint32_t u = (uint32_t)in[4 * i] | (uint32_t)in[4 * i + 1] << 8 |
                 (uint32_t)in[4 * i + 2] << 16 | (uint32_t)in[4 * i + 3] << 24;
    memcpy(&p[i], &u, 4);
  }
}

uint64_t nn_fnv1a64(const void *data, size_t n) {
  const unsigned char *s = (const unsigned char *)data;
  uint64_t h = 0xCBF29CE484222325u;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001B3u;
  }
  return h;
}
