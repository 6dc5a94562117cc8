/*
** nn_engine.c: layout, forward pass, folding and initialisation of
** feed-forward networks in float32.
**
** Pure C99: no Lua, no SQLite, no allocation except in nn_net_new (for C
** hosts).  Every layer function follows one order of arguments: outputs,
** inputs, weights, sizes.  Element-wise layers work in place.
*/
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "nn_kernel.h"

static const char *const kind_names[NN_KIND_COUNT] = {
  "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "SoftMax", "Identity"
};

const char *nn_kind_name(nn_kind kind) {
  return (unsigned)kind < NN_KIND_COUNT ? kind_names[kind] : "?";
}

nn_kind nn_kind_from_name(const char *name) {
  int k;
  for (k = 0; k < NN_KIND_COUNT; k++)
    if (strcmp(name, kind_names[k]) == 0) return (nn_kind)k;
  return NN_KIND_COUNT;
}


/* --- layout ------------------------------------------------------------ */

int nn_layout(nn_layer *layers, size_t n, size_t *n_params, char err[NN_ERRMAX]) {
  size_t i, width = 0, total = 0;
  if (n > NN_MAX_LAYERS) {
    snprintf(err, NN_ERRMAX, "too many layers (%zu, at most %zu)", n, NN_MAX_LAYERS);
    return NN_ESIZE;
  }
  /* The first Linear fixes the width of everything before it. */
  for (i = 0; i < n; i++)
    if (layers[i].kind == NN_LINEAR) { width = layers[i].n_in; break; }
  for (i = 0; i < n; i++) {
    nn_layer *l = &layers[i];
    if ((unsigned)l->kind >= NN_KIND_COUNT) {
      snprintf(err, NN_ERRMAX, "layer %zu: unknown kind %d", i + 1, (int)l->kind);
      return NN_EKIND;
    }
    if (l->kind != NN_LINEAR) {
      l->n_in = l->n_out = width;
      l->w = 0;
      continue;
    }
    if (l->n_in == 0 || l->n_out == 0 ||
        l->n_in > NN_MAX_WIDTH || l->n_out > NN_MAX_WIDTH) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.Linear(%zu -> %zu): sizes must be "
               "between 1 and %zu", i + 1, l->n_in, l->n_out, NN_MAX_WIDTH);
      return NN_ESIZE;
    }
    if (l->n_in != width) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.Linear(%zu -> %zu) takes %zu "
               "inputs, but the layer before it gives %zu", i + 1, l->n_in,
               l->n_out, l->n_in, width);
      return NN_EMISMATCH;
    }
    /* Widths are below 2^24, so the product fits; the sum is checked. */
    if (l->n_out * (l->n_in + 1) > NN_MAX_PARAMS - total) {
      snprintf(err, NN_ERRMAX, "layer %zu: more than %zu parameters in all",
               i + 1, NN_MAX_PARAMS);
      return NN_ESIZE;
    }
    l->w = total;
    total += l->n_out * (l->n_in + 1);
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
  net->n_inputs = net->n_outputs = net->max_width = 0;
  for (i = 0; i < n; i++) {
    const nn_layer *l = &layers[i];
    if (l->kind == NN_LINEAR) {
      if (net->n_inputs == 0) net->n_inputs = l->n_in;
      net->n_outputs = l->n_out;
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


/* --- layers ------------------------------------------------------------ */

/* y = W x + b with the kernel set in use (nn_kernel.c). */
static void linear_forward(float *y /* [n_out] */, const float *x /* [n_in] */,
                           const float *w /* [n_out][n_in] */,
                           const float *b /* [n_out] */,
                           size_t n_in, size_t n_out) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n_in < k->narrow) nn_linear_scalar(y, x, w, b, n_in, n_out);
  else k->linear(y, x, w, b, n_in, n_out);
}

static void relu_forward(float *v /* [n] */, size_t n) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n < k->narrow) nn_relu_scalar(v, n);
  else k->relu(v, n);
}

static void leaky_relu_forward(float *v /* [n] */, float alpha, size_t n) {
  const nn_kernel *k = nn_kernel_in_use;
  if (n < k->narrow) nn_leaky_relu_scalar(v, alpha, n);
  else k->leaky_relu(v, alpha, n);
}

/* The transcendental kernels take any n, narrow layers too: a value gives
** the same bits alone or in a batch's panel. */
static void sigmoid_forward(float *v /* [n] */, size_t n) {
  nn_kernel_in_use->act_sigmoid(v, n);
}

static void tanh_forward(float *v /* [n] */, size_t n) {
  nn_kernel_in_use->act_tanh(v, n);
}

/* Shifted by the maximum so that exp never overflows; the result does not
** change, since softmax(v) = softmax(v - c).  The maximum's own difference
** is set to 0, whose exp is exactly 1, so that an infinite maximum gives 1
** rather than exp(inf - inf).  The sum is taken in index order, as
** softmax_panel takes it. */
static void softmax_forward(float *v /* [n] */, size_t n) {
  size_t i, best = 0;
  float max, sum = 0.0f;
  if (n == 0) return;
  max = v[0];
  for (i = 1; i < n; i++) if (v[i] > max) max = v[best = i];
  for (i = 0; i < n; i++) v[i] -= max;
  v[best] = 0.0f;
  nn_kernel_in_use->act_exp(v, n);
  for (i = 0; i < n; i++) sum += v[i];
  sum = 1.0f / sum;    /* one division, not n: within an ulp of dividing */
  for (i = 0; i < n; i++) v[i] *= sum;
}

/* Apply layer l to cur (n floats, already in writable memory) in place, or,
** for a Linear, into next; returns where the result is. */
static float *layer_forward(const nn_net *net, const nn_layer *l,
                            float *cur /* [l->n_in] */, float *next /* [l->n_out] */,
                            size_t n) {
  switch (l->kind) {
    case NN_LINEAR: {
      const float *w = net->params + l->w;
      linear_forward(next, cur, w, w + l->n_out * l->n_in, l->n_in, l->n_out);
      return next;
    }
    case NN_RELU:      relu_forward(cur, n); break;
    case NN_LEAKYRELU: leaky_relu_forward(cur, l->alpha, n); break;
    case NN_SIGMOID:   sigmoid_forward(cur, n); break;
    case NN_TANH:      tanh_forward(cur, n); break;
    case NN_SOFTMAX:   softmax_forward(cur, n); break;
    case NN_IDENTITY:  case NN_KIND_COUNT: break;
  }
  return cur;
}

static size_t width_after(const nn_layer *l, size_t n) {
  return l->kind == NN_LINEAR ? l->n_out : n;
}

size_t nn_work_size(const nn_net *net, size_t n_x) {
  return NN_WORK_MAX(net->max_width, n_x);
}

/* The layers read x where it is and the last Linear writes straight into y,
** so the layers after it work in place there: for a small net the two
** copies this saves cost as much as the arithmetic. */
void nn_forward(const nn_net *net, float *y, const float *x, size_t n_x, float *work) {
  size_t half = net->max_width > n_x ? net->max_width : n_x;
  size_t i, last = net->n_layers, n = n_x;
  const float *in = x;
  float *cur = NULL, *spare = work;     /* cur: the result, once it is writable */
  while (last > 0 && net->layers[last - 1].kind != NN_LINEAR) last--;
  if (last > 0 && (uintptr_t)x < (uintptr_t)(y + net->n_outputs) &&
      (uintptr_t)y < (uintptr_t)(x + n_x)) {
    /* y overlaps x, which the layers read until the last of them */
    memcpy(spare, x, n_x * sizeof(float));
    in = spare;
    spare = work + half;
    cur = (float *)in;
  }
  if (last == 0) {                      /* no Linear: everything happens in y */
    memmove(y, x, n_x * sizeof(float));
    in = cur = y;
  }
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    if (l->kind == NN_LINEAR) {
      const float *w = net->params + l->w;
      float *out = i + 1 == last ? y : spare;
      linear_forward(out, in, w, w + l->n_out * l->n_in, l->n_in, l->n_out);
      spare = cur != NULL && cur != y ? cur : (out == work ? work + half : work);
      in = cur = out;
      n = l->n_out;
    } else if (l->kind != NN_IDENTITY) {
      if (cur == NULL) {                /* x is read-only: work on a copy */
        memcpy(spare, x, n * sizeof(float));
        in = cur = spare;
        spare = work + half;
      }
      layer_forward(net, l, cur, NULL, n);
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

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))
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

/* out = W in + b for every panel: out starts as the bias, then each block
** of kc columns of W adds its part, a tile at a time.  Full tiles read W in
** place; the last mr rows, when n_out is no multiple of mr, are copied
** into part with zero rows after them ([mr][kc]), so that every tile may
** compute and write mr rows. */
static void linear_panels(const nn_kernel *k, float *out, const float *in,
                          float *part, const nn_layer *l, const float *params,
                          size_t panels, size_t stride) {
  const float *w = params + l->w, *b = w + l->n_out * l->n_in;
  size_t mr = k->mr, nr = k->nr, n_in = l->n_in, n_out = l->n_out;
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

/* SoftMax down each sample's column, as softmax_forward does along a row,
** with the same arithmetic in the same order, so that a batch row and the
** sample alone agree exactly (an infinite logit too); the exponentials of
** the whole panel in one call of the kernel. */
#define MAX_NR 64

static void softmax_panel(const nn_kernel *k, float *v /* [n][nr] */, size_t n,
                          size_t nr) {
  float max[MAX_NR], sum[MAX_NR];
  size_t best[MAX_NR], c, j;
  assert(nr <= MAX_NR);      /* the widest tile of any kernel set is 32 */
  if (n == 0) return;
  for (c = 0; c < nr; c++) { max[c] = v[c]; best[c] = 0; sum[c] = 0.0f; }
  for (j = 1; j < n; j++)
    for (c = 0; c < nr; c++)
      if (v[j * nr + c] > max[c]) { max[c] = v[j * nr + c]; best[c] = j; }
  for (j = 0; j < n; j++)
    for (c = 0; c < nr; c++) v[j * nr + c] -= max[c];
  for (c = 0; c < nr; c++) v[best[c] * nr + c] = 0.0f;
  k->act_exp(v, n * nr);
  for (j = 0; j < n; j++)
    for (c = 0; c < nr; c++) sum[c] += v[j * nr + c];
  for (c = 0; c < nr; c++) sum[c] = 1.0f / sum[c];
  for (j = 0; j < n; j++)
    for (c = 0; c < nr; c++) v[j * nr + c] *= sum[c];
}

/* Y [rows][n_y] = net(X [rows][n_x]) for rows <= NN_BATCH_ROWS, in panels. */
static void forward_chunk(const nn_net *net, const nn_kernel *k, float *Y,
                          const float *X, size_t rows, size_t n_x, float *work) {
  size_t nr = k->nr, stride = batch_stride(net, n_x, k);
  size_t panels = (rows + nr - 1) / nr, i, p, c, n = n_x;
  float *cur = work, *spare = work + panels * stride * nr;
  float *part = spare + panels * stride * nr;
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
    if (l->kind == NN_LINEAR) {
      float *t;
      linear_panels(k, spare, cur, part, l, net->params, panels, stride);
      t = cur; cur = spare; spare = t;
      n = l->n_out;
    } else if (l->kind == NN_SOFTMAX) {
      for (p = 0; p < panels; p++) softmax_panel(k, cur + p * stride * nr, n, nr);
    } else {
      for (p = 0; p < panels; p++)
        layer_forward(net, l, cur + p * stride * nr, NULL, n * nr);
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
    if (l->kind == NN_LINEAR) {
      /* prev is read-only here, so the Linear writes straight into out. */
      const float *w = net->params + l->w;
      linear_forward(out + at, prev, w, w + l->n_out * l->n_in, l->n_in, l->n_out);
    } else {
      memmove(out + at, prev, n * sizeof(float));
      layer_forward(net, l, out + at, NULL, n);
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
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform in [-1, 1) from the top 24 bits, exact in float. */
static float uniform_pm1(uint64_t *state) {
  return (float)(splitmix64(state) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

void nn_init_layer(nn_net *net, size_t layer, uint64_t *rng_state) {
  const nn_layer *l = &net->layers[layer];
  float *p = net->params + l->w;
  float bound;
  size_t i, count;
  if (l->kind != NN_LINEAR) return;
  bound = 1.0f / sqrtf((float)l->n_in);
  count = l->n_out * (l->n_in + 1);
  for (i = 0; i < count; i++) p[i] = bound * uniform_pm1(rng_state);
}

void nn_init_uniform(nn_net *net, uint64_t *rng_state) {
  size_t i;
  for (i = 0; i < net->n_layers; i++) nn_init_layer(net, i, rng_state);
}


/* --- fold -------------------------------------------------------------- */

size_t nn_fold_layout(const nn_net *net, nn_layer *out, size_t *n_params) {
  size_t i, n = 0, total = 0;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    if (l->kind == NN_IDENTITY) continue;
    if (l->kind == NN_LINEAR && n > 0 && out[n - 1].kind == NN_LINEAR) {
      out[n - 1].n_out = l->n_out;           /* merged into the one before */
      continue;
    }
    out[n++] = *l;
  }
  if (n == 0 && net->n_layers > 0) out[n++] = net->layers[0];  /* all Identity */
  for (i = 0; i < n; i++)
    if (out[i].kind == NN_LINEAR) {
      out[i].w = total;
      total += out[i].n_out * (out[i].n_in + 1);
    }
  *n_params = total;
  return n;
}

/* A run of Linear layers y = W_k(...(W_1 x + b_1)...) + b_k is affine, so
** its matrix is the run applied to each unit vector without biases, and its
** bias the run applied to zero with them; computed in double. */
static void run_apply(double *v /* [max_width] */, double *spare,
                      const nn_net *net, size_t first, size_t end, int with_bias) {
  size_t s, j, k;
  for (s = first; s < end; s++) {
    const nn_layer *l = &net->layers[s];
    const float *w = net->params + l->w, *b = w + l->n_out * l->n_in;
    if (l->kind != NN_LINEAR) continue;
    for (j = 0; j < l->n_out; j++) {
      double acc = with_bias ? b[j] : 0.0;
      for (k = 0; k < l->n_in; k++) acc += (double)w[j * l->n_in + k] * v[k];
      spare[j] = acc;
    }
    memcpy(v, spare, l->n_out * sizeof(double));
  }
}

void nn_fold_params(const nn_net *src, nn_net *dst, double *work) {
  double *v = work, *spare = work + src->max_width;
  size_t s = 0, d, c, j;
  for (d = 0; d < dst->n_layers; d++) {
    const nn_layer *dl = &dst->layers[d];
    float *dw, *db;
    size_t end;
    while (s < src->n_layers && src->layers[s].kind == NN_IDENTITY &&
           dl->kind != NN_IDENTITY) s++;
    if (dl->kind != NN_LINEAR) { s++; continue; }
    for (end = s + 1; end < src->n_layers; end++) {
      nn_kind k = src->layers[end].kind;
      if (k != NN_LINEAR && k != NN_IDENTITY) break;
    }
    dw = dst->params + dl->w;
    db = dw + dl->n_out * dl->n_in;
    for (c = 0; c < dl->n_in; c++) {
      memset(v, 0, dl->n_in * sizeof(double));
      v[c] = 1.0;
      run_apply(v, spare, src, s, end, 0);
      for (j = 0; j < dl->n_out; j++) dw[j * dl->n_in + c] = (float)v[j];
    }
    memset(v, 0, dl->n_in * sizeof(double));
    run_apply(v, spare, src, s, end, 1);
    for (j = 0; j < dl->n_out; j++) db[j] = (float)v[j];
    s = end;
  }
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
