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
#include "engine/nn_kinds.h"

/* --- the layer kinds ------------------------------------------------------
** Each family of kinds is one file (nn_kind_linear.c, nn_kind_act.c): its
** arithmetic, forward and backward side by side, and its descriptors.  Here
** is only their one table, and what the rest of nn asks of it. */

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))
#define NN_HYPER_MAX    16   /* the most hyper-parameters of any kind */

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
  [NN_LINEAR] = &nn_kind_linear, [NN_RELU] = &nn_kind_relu,
  [NN_LEAKYRELU] = &nn_kind_leaky_relu, [NN_SIGMOID] = &nn_kind_sigmoid,
  [NN_TANH] = &nn_kind_tanh, [NN_SOFTMAX] = &nn_kind_softmax,
  [NN_IDENTITY] = &nn_kind_identity,
  [NN_KIND_COUNT] = NULL,
  [NN_GELU] = &nn_kind_gelu, [NN_SILU] = &nn_kind_silu,
  [NN_SOFTPLUS] = &nn_kind_softplus, [NN_ELU] = &nn_kind_elu,
  [NN_STANDARDIZE] = &nn_kind_standardize, [NN_LAYERNORM] = &nn_kind_layernorm,
  [NN_BATCHNORM] = &nn_kind_batchnorm, [NN_DROPOUT] = &nn_kind_dropout,
  [NN_EMBEDDING] = &nn_kind_embedding, [NN_EMBEDDINGBAG] = &nn_kind_embedding_bag,
  [NN_INPUT] = &nn_kind_image_input, [NN_CONV1D] = &nn_kind_conv1d,
  [NN_CONV2D] = &nn_kind_conv2d, [NN_MAXPOOL1D] = &nn_kind_maxpool1d,
  [NN_MAXPOOL2D] = &nn_kind_maxpool2d, [NN_AVGPOOL2D] = &nn_kind_avgpool2d,
  [NN_GLOBALAVGPOOL] = &nn_kind_global_avgpool, [NN_FLATTEN] = &nn_kind_flatten,
  [NN_ADD] = &nn_kind_add, [NN_CONCAT] = &nn_kind_concat,
  [NN_BATCHNORM2D] = &nn_kind_batchnorm2d,
  /* kinds without a C name go here, each numbered by its place */
  NN_EXTRA_KIND_LIST
};

#define KIND_END  (sizeof kinds / sizeof kinds[0])

/* The most hyper-parameters a kind with a shape rule of its own may have. */
#define NN_HYPER_MAX  16

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

nn_kind nn_kind_from_onnx(const char *op) {
  size_t k;
  for (k = 0; k < KIND_END; k++)
    if (kinds[k] && kinds[k]->onnx.op && strcmp(op, kinds[k]->onnx.op) == 0)
      return (nn_kind)k;
  return NN_KIND_COUNT;
}

nn_kind nn_kind_from_fann(int fn) {
  size_t k;
  for (k = 0; k < KIND_END; k++)
    if (kinds[k] && kinds[k]->fann == fn) return (nn_kind)k;
  return NN_KIND_COUNT;
}

size_t nn_hyper_most(void) {
  size_t k, most = 0;
  for (k = 0; k < KIND_END; k++)
    if (kinds[k] && kinds[k]->n_hyper > most) most = kinds[k]->n_hyper;
  return most;
}

/* Whether layer l is sized (writes a new vector), not element-wise. */
static int is_sized(const nn_layer *l) {
  return l->kind == NN_LINEAR || !kinds[l->kind]->elementwise;
}

/* Hyper-parameter j of layer l: its own, or its kind's default. */
static double hyper_of(const nn_layer *l, size_t j) {
  return l->hyper ? (double)l->hyper[j] : kinds[l->kind]->hyper[j].def;
}

/* A dimension of a tensor of layer l (NN_DIM_*). */
static size_t tensor_dim(const nn_layer *l, int dim) {
  if (dim == NN_DIM_IN) return l->n_in;
  if (dim == NN_DIM_OUT) return l->n_out;
  if (dim <= -16) {
    size_t j = (size_t)(-16 - dim) / 8, m = (size_t)(-16 - dim) % 8, v = 1;
    while (m-- > 0) v *= (size_t)hyper_of(l, j++);
    return v;
  }
  return (size_t)hyper_of(l, (size_t)dim);
}

size_t nn_tensor_shape(const nn_layer *l, size_t t, size_t dims[2], size_t *at) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t i, count = 0, off = 0;
  dims[0] = dims[1] = 0;
  for (i = 0; d && i <= t && i < d->n_tensors; i++) {
    const nn_tensor_info *ti = &d->tensors[i];
    off += count;
    dims[0] = tensor_dim(l, ti->dim[0]);
    dims[1] = ti->rank > 1 ? tensor_dim(l, ti->dim[1]) : 1;
    count = dims[0] * dims[1];
  }
  *at = off;
  return count;
}

size_t nn_tensor_find(const nn_kind_info *d, const char *name) {
  size_t t;
  for (t = 0; t < d->n_tensors; t++)
    if (strcmp(name, d->tensors[t].name) == 0) break;
  return t;
}

size_t nn_layer_n_params(const nn_layer *l) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t dims[2], at, count;
  if (d == NULL || d->n_tensors == 0) return 0;
  count = nn_tensor_shape(l, d->n_tensors - 1, dims, &at);
  return at + count;
}


/* --- layout ------------------------------------------------------------ */

/* Every hyper-parameter of layer i (its l->hyper, when it has one) within
** its kind's range, and whole where the kind says so. */
static int check_hypers(const nn_layer *l, size_t i, char err[NN_ERRMAX]) {
  const nn_kind_info *d = kinds[l->kind];
  size_t j;
  for (j = 0; j < d->n_hyper; j++) {
    const nn_hyper *h = &d->hyper[j];
    double v = hyper_of(l, j);
    if (!(v >= h->lo && v <= h->hi) || (h->integer && v != floor(v))) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.%s's %s must be %s between %g and %g, "
               "not %g", i + 1, d->name, h->what, h->integer ? "a whole number" :
               "a number", h->lo, h->hi, v);
      return NN_ESIZE;
    }
  }
  return NN_OK;
}

size_t nn_layer_input(const nn_layer *l, size_t i, size_t k) {
  if (k == 0) return l->from[0] ? l->from[0] : i + 1;
  return k == 1 ? l->from[1] : 0;
}

int nn_layers_graph(const nn_layer *layers, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (layers[i].from[0] || layers[i].from[1]) return 1;
  return 0;
}

/* Whether the kind of l joins two values (Add, Concat). */
static int is_join(const nn_layer *l) {
  return (kinds[l->kind]->flags & NN_KIND_JOIN) != 0;
}

/* The width of value v (0: the input, of width in) of laid-out layers. */
static size_t value_width(const nn_layer *layers, size_t v, size_t in) {
  return v == 0 ? in : layers[v - 1].n_out;
}

/* The sizes of the sized layer i, which takes width inputs. */
static int check_sizes(const nn_layer *l, size_t i, size_t width, char err[NN_ERRMAX]) {
  const nn_kind_info *d = kinds[l->kind];
  if (l->n_in == 0 || l->n_out == 0 ||
      l->n_in > NN_MAX_WIDTH || l->n_out > NN_MAX_WIDTH) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s(%zu -> %zu): sizes must be "
             "between 1 and %zu", i + 1, d->name, l->n_in, l->n_out, NN_MAX_WIDTH);
    return NN_ESIZE;
  }
  if (d->n_sizes == 1 && l->n_in != l->n_out) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s(%zu -> %zu) gives as many "
             "numbers as it takes", i + 1, d->name, l->n_in, l->n_out);
    return NN_EMISMATCH;
  }
  if (l->n_in != width) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s(%zu -> %zu) takes %zu "
             "inputs, but %s gives %zu", i + 1, d->name, l->n_in, l->n_out,
             l->n_in, l->from[0] ? "its input" : "the layer before it", width);
    return NN_EMISMATCH;
  }
  return NN_OK;
}

/* The widths of layer l of a kind whose hyper-parameters give them. */
static void shape_from_hypers(nn_layer *l, const nn_kind_info *d) {
  float h[NN_HYPER_MAX];
  size_t j;
  for (j = 0; j < d->n_hyper && j < NN_HYPER_MAX; j++) h[j] = (float)hyper_of(l, j);
  d->input->shape(h, &l->n_in, &l->n_out);
}

/* The number of values of a shape (1 for rank 0). */
static size_t shape_size(const nn_shape *s) {
  return s->d[0] * s->d[1] * s->d[2];
}

static void flat_shape(nn_shape *s, size_t n) {
  s->rank = 1;
  s->d[0] = n;
  s->d[1] = s->d[2] = 1;
}

/* Layer l's hyper-parameters, its own or its kind's defaults, into hv. */
static const float *hypers_into(float hv[NN_HYPER_MAX], const nn_layer *l) {
  size_t j, n = kinds[l->kind]->n_hyper;
  for (j = 0; j < n && j < NN_HYPER_MAX; j++) hv[j] = (float)hyper_of(l, j);
  return hv;
}

/* Layer i of a kind with a shape rule, on the shape *cur before it (which
** becomes the shape after it) and width values: its widths from the two
** shapes; keep: write into the layer's own hyper-parameters (a net's). */
static int shape_layer(nn_layer *l, size_t i, nn_shape *cur, size_t width, int keep,
                       char err[NN_ERRMAX]) {
  const nn_kind_info *d = kinds[l->kind];
  nn_shape in = *cur, out;
  float hv[NN_HYPER_MAX];
  char why[NN_ERRMAX];
  int st = d->shape(hypers_into(hv, l), &in, &out, keep ? (float *)l->hyper : NULL, why);
  if (st == NN_OK && in.rank > 0 && width > 0 && shape_size(&in) != width) {
    snprintf(why, sizeof why, "takes %zu values, but the layer before it gives %zu",
             shape_size(&in), width);
    st = NN_EMISMATCH;
  }
  if (st == NN_OK && out.rank > 0 && (shape_size(&out) == 0 || shape_size(&out) > NN_MAX_WIDTH ||
                      shape_size(&in) > NN_MAX_WIDTH)) {
    snprintf(why, sizeof why, "sizes must be between 1 and %zu", NN_MAX_WIDTH);
    st = NN_ESIZE;
  }
  if (st != NN_OK) {
    int at = snprintf(err, NN_ERRMAX, "layer %zu: nn.%s: ", i + 1, d->name);
    size_t j;
    for (j = 0; at > 0 && (size_t)at + j + 1 < NN_ERRMAX && why[j]; j++) err[at + j] = why[j];
    if (at > 0 && at < NN_ERRMAX) err[at + j] = '\0';
    return st;
  }
  if (out.rank == 0) out = in;                /* Flatten alone: any width */
  l->n_in = in.rank ? shape_size(&in) : width;
  l->n_out = d->elementwise ? l->n_in : shape_size(&out);
  if (out.rank == 0 || in.rank == 0) flat_shape(&out, l->n_out);
  *cur = out;
  return NN_OK;
}

/* The shape before the first layer: what the first layer that says says
** (a sized one its n_in; a kind with a shape rule the shape it takes
** alone), rank 0 when none does. */
static void first_shape(const nn_layer *layers, size_t n, nn_shape *cur) {
  size_t i;
  cur->rank = 0;
  cur->d[0] = cur->d[1] = cur->d[2] = 0;
  for (i = 0; i < n; i++) {
    const nn_kind_info *d = nn_kind_info_of(layers[i].kind);
    float hv[NN_HYPER_MAX];
    nn_shape out;
    char why[NN_ERRMAX];
    if (d && d->shape) {
      d->shape(hypers_into(hv, &layers[i]), cur, &out, NULL, why);
      if (cur->rank > 0) return;
    } else if (d && !d->elementwise && !(d->flags & NN_KIND_JOIN)) {
      flat_shape(cur, layers[i].n_in);
      return;
    }
  }
}

/* What layer i reads: values before it, two for a join, one otherwise. */
static int check_inputs(const nn_layer *l, size_t i, char err[NN_ERRMAX]) {
  const nn_kind_info *d = kinds[l->kind];
  size_t k;
  for (k = 0; k < 2; k++)
    if (l->from[k] > i + 1) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.%s reads the output of layer %zu, "
               "which is not before it", i + 1, d->name, (size_t)l->from[k] - 1);
      return NN_EMISMATCH;
    }
  if ((l->from[1] != 0) != is_join(l)) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s takes %s", i + 1, d->name,
             is_join(l) ? "two inputs" : "one input");
    return NN_EMISMATCH;
  }
  return NN_OK;
}

/* The widths of the join i from its inputs' widths a and b. */
static int join_sizes(nn_layer *l, size_t i, size_t a, size_t b, char err[NN_ERRMAX]) {
  const nn_kind_info *d = kinds[l->kind];
  if (a == 0 || b == 0) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s's inputs have no width yet: put "
             "a sized layer (nn.Linear) before them", i + 1, d->name);
    return NN_EMISMATCH;
  }
  if ((d->flags & NN_KIND_EQUAL) && a != b) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s of widths %zu and %zu: they must "
             "be equal", i + 1, d->name, a, b);
    return NN_EMISMATCH;
  }
  if (a + b > NN_MAX_WIDTH) {
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s wider than %zu", i + 1, d->name,
             NN_MAX_WIDTH);
    return NN_ESIZE;
  }
  l->n_in = a + b;
  l->n_out = (d->flags & NN_KIND_EQUAL) ? a : a + b;
  return NN_OK;
}

/* The widths of layer i of layers, in is the network's input width. */
static int layer_sizes(nn_layer *layers, size_t i, size_t in, char err[NN_ERRMAX]) {
  nn_layer *l = &layers[i];
  size_t width;
  int st;
  if ((st = check_inputs(l, i, err)) != NN_OK) return st;
  width = value_width(layers, nn_layer_input(l, i, 0) - 1, in);
  if (is_join(l))
    return join_sizes(l, i, width, value_width(layers, l->from[1] - 1, in), err);
  if (kinds[l->kind]->elementwise) {
    l->n_in = l->n_out = width;
    return NN_OK;
  }
  return check_sizes(l, i, width, err);
}

/* The width of the network's input: the first sized layer's that is not a
** join (0: none, any width goes through). */
static size_t input_width(const nn_layer *layers, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    const nn_kind_info *d = nn_kind_info_of(layers[i].kind);
    if (d && !d->elementwise && !(d->flags & NN_KIND_JOIN)) return layers[i].n_in;
  }
  return 0;
}

/* nn_layout, and with keep each shape rule's keeping (see nn_kind_info). */
static int lay_out(nn_layer *layers, size_t n, size_t *n_params, int keep,
                   char err[NN_ERRMAX]) {
  size_t i, in, total = 0;
  nn_shape cur;
  if (n > NN_MAX_LAYERS) {
    snprintf(err, NN_ERRMAX, "too many layers (%zu, at most %zu)", n, NN_MAX_LAYERS);
    return NN_ESIZE;
  }
  for (i = 0; i < n; i++) {
    const nn_kind_info *d = nn_kind_info_of(layers[i].kind);
    if (d == NULL) {
      snprintf(err, NN_ERRMAX, "layer %zu: unknown kind %d", i + 1, (int)layers[i].kind);
      return NN_EKIND;
    }
    if (layers[i].from[0] == i + 1) layers[i].from[0] = 0;   /* the layer before: a chain's */
    /* kinds whose hyper-parameters give their widths (Embedding) first,
    ** so that the first sized layer's width is known */
    if (d->input && d->input->shape && check_hypers(&layers[i], i, err) == NN_OK)
      shape_from_hypers(&layers[i], d);
  }
  /* The first sized layer (or an image kind's shape) fixes the width of
  ** everything before it; a graph must have one, for its passes plan
  ** buffers of known widths. */
  first_shape(layers, n, &cur);
  in = cur.rank ? shape_size(&cur) : 0;
  if (in == 0 && nn_layers_graph(layers, n)) {
    for (i = 0; !layers[i].from[0] && !layers[i].from[1]; i++) {}
    snprintf(err, NN_ERRMAX, "layer %zu: nn.%s makes a graph, whose widths a sized "
             "layer (nn.Linear) must fix, and there is none", i + 1,
             nn_kind_name(layers[i].kind));
    return NN_EMISMATCH;
  }
  for (i = 0; i < n; i++) {
    nn_layer *l = &layers[i];
    const nn_kind_info *d = kinds[l->kind];
    size_t count;
    int st;
    if ((st = check_hypers(l, i, err)) != NN_OK) return st;
    if ((d->flags & NN_KIND_FIRST) && i > 0) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.%s takes the network's input (ids), "
               "not a layer's output: it must be the first layer", i + 1, d->name);
      return NN_EMISMATCH;
    }
    if (d->input && d->input->shape) shape_from_hypers(l, d);
    if (d->shape && nn_layers_graph(layers, n)) {
      snprintf(err, NN_ERRMAX, "layer %zu: nn.%s in a graph: a network over "
               "images is a chain", i + 1, d->name);
      return NN_EUNSUPPORTED;
    }
    if (d->shape) {
      if ((st = shape_layer(l, i, &cur, i ? layers[i - 1].n_out : in, keep, err)) != NN_OK)
        return st;
    } else {
      if (l->kind == NN_BATCHNORM && cur.rank > 1 && (i > 0 || in > 0) &&
          cur.d[0] * cur.d[1] * cur.d[2] == (i ? layers[i - 1].n_out : in)) {
        snprintf(err, NN_ERRMAX, "layer %zu: nn.BatchNorm(%zu) after images of %zu "
                 "channels: per channel, it is nn.BatchNorm2d(%zu)", i + 1, l->n_in,
                 cur.d[0], cur.d[0]);
        return NN_EMISMATCH;
      }
      if ((st = layer_sizes(layers, i, in, err)) != NN_OK) return st;
      if (!d->elementwise) flat_shape(&cur, l->n_out);
    }
    /* Widths and whole hyper-parameters are below 2^24, so a count fits in
    ** 64 bits; the sum is checked. */
    count = nn_layer_n_params(l);
    if (count > NN_MAX_PARAMS - total) {
      snprintf(err, NN_ERRMAX, "layer %zu: more than %zu parameters in all",
               i + 1, NN_MAX_PARAMS);
      return NN_ESIZE;
    }
    l->w = count ? total : 0;
    total += count;
  }
  *n_params = total;
  return NN_OK;
}

void nn_net_shapes(const nn_net *net, nn_shape *in, nn_shape *out) {
  nn_shape cur;
  size_t i;
  first_shape(net->layers, net->n_layers, &cur);
  if (cur.rank == 0 && net->n_inputs > 0) flat_shape(&cur, net->n_inputs);
  *in = cur;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = kinds[l->kind];
    if (d->shape) {
      float hv[NN_HYPER_MAX];
      char why[NN_ERRMAX];
      nn_shape before = cur;
      if (d->shape(hypers_into(hv, l), &before, &cur, NULL, why) != NN_OK || cur.rank == 0)
        flat_shape(&cur, l->n_out);
    } else if (!d->elementwise) {
      flat_shape(&cur, l->n_out);
    }
    out[i] = cur;
  }
}

int nn_layout(nn_layer *layers, size_t n, size_t *n_params, char err[NN_ERRMAX]) {
  return lay_out(layers, n, n_params, 0, err);
}


/* The block: nn_net, then layers, then params, then each layer's
** hyper-parameters (nn_hyper_most() floats a layer), then a graph's plan
** (three arrays of n_layers + 1 sizes: slot, last, and the planner's
** scratch).  The params start on a 64-byte line of memory wherever the
** block is (it has room for that): a row of weights split across lines
** made a 784-256-128-10 sample 1.6 times as slow with AVX-512, and where
** a block lands is malloc's or Lua's choice. */
#define ALIGN_UP(x, a)  (((x) + (a) - 1) / (a) * (a))
#define PARAMS_ALIGN    64

static size_t layers_offset(void) {
  return ALIGN_UP(sizeof(nn_net), 16);
}

static size_t params_offset(size_t n_layers) {
  return ALIGN_UP(layers_offset() + n_layers * sizeof(nn_layer), 16);
}

/* From the params on: the params, the hyper-parameters, the plan. */
static size_t hypers_at(size_t n_params) {
  return n_params * sizeof(float);
}

static size_t plan_at(size_t n_layers, size_t n_params) {
  return ALIGN_UP(hypers_at(n_params) + n_layers * nn_hyper_most() * sizeof(float), 16);
}

size_t nn_net_size(size_t n_layers, size_t n_params) {
  if (n_layers > NN_MAX_LAYERS || n_params > NN_MAX_PARAMS) return 0;
  return params_offset(n_layers) + PARAMS_ALIGN + plan_at(n_layers, n_params) +
         3 * (n_layers + 1) * sizeof(size_t);
}

/* Each layer's hyper-parameters copied into the block's own, its pointer
** pointed there (the list's may be NULL: the kind's defaults). */
static void keep_hypers(nn_net *net, float *h, size_t most) {
  size_t i, j;
  for (i = 0; i < net->n_layers; i++, h += most) {
    nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    size_t n = d ? d->n_hyper : 0;
    for (j = 0; j < n; j++) h[j] = (float)hyper_of(l, j);
    l->hyper = n ? h : NULL;
  }
}

/* The plan of a graph: each value's last reader, then a buffer for each
** value, the first whose value's last reader ran before the layer that
** makes it (so no layer writes a buffer it reads).  busy [n + 1]: for each
** buffer, the last reader of the value it holds. */
static void plan_graph(nn_net *net, size_t *busy) {
  size_t i, k, s, n = net->n_layers;
  for (i = 0; i <= n; i++) net->last[i] = i == 0 ? 0 : i - 1;
  net->last[n] = n;
  for (i = 0; i < n; i++)
    for (k = 0; k < 2; k++) {
      size_t v = nn_layer_input(&net->layers[i], i, k);
      if (v && v - 1 < n && net->last[v - 1] < i) net->last[v - 1] = i;
    }
  net->n_slots = 0;
  for (i = 0; i <= n; i++) {     /* value i, made by layer i - 1 */
    size_t at = i == 0 ? 0 : i - 1;
    for (s = 0; s < net->n_slots && !(busy[s] < at); s++) {}
    if (s == net->n_slots) net->n_slots++;
    busy[s] = net->last[i];
    net->slot[i] = s;
  }
}

/* The scratch of a one-sample panel (NN_KIND_PANEL1): a pass's tile
** scratch for the largest of the kernel sets, whichever is in use (then
** 2 n_in floats more, plan_net adds). */
static size_t panel1_floats(void) {
  size_t i, most = 0;
  for (i = 0; nn_kernels[i] != NULL; i++)
    if (NN_PART_FLOATS(nn_kernels[i]) > most) most = NN_PART_FLOATS(nn_kernels[i]);
  return most;
}

/* One sample through an NN_KIND_PANEL1 layer: its forward_batch on one
** panel of nr 1, part the scratch. */
static void panel1_forward(const nn_kind_info *d, const nn_layer *l, const float *p,
                           float *out, const float *in, float *scratch) {
  nn_panels pn;
  pn.count = 1; pn.nr = 1; pn.stride = l->n_in > l->n_out ? l->n_in : l->n_out;
  pn.kernel = nn_kernel_in_use;
  pn.part = scratch;
  pn.shared = NULL; pn.grad_set = 0; pn.train = NULL;
  d->forward_batch(out, in, p, l->hyper, l->n_in, l->n_out, &pn);
}

/* The net's widths, and its plan when it is a graph. */
static void plan_net(nn_net *net, size_t *busy) {
  size_t i, n = net->n_layers;
  net->n_inputs = input_width(net->layers, n);
  net->n_outputs = net->max_width = net->sized_end = net->n_slots = 0;
  if (net->n_inputs > net->max_width) net->max_width = net->n_inputs;
  for (i = 0; i < n; i++) {
    const nn_layer *l = &net->layers[i];
    if (is_sized(l)) {
      net->n_outputs = l->n_out;
      net->sized_end = i + 1;
    }
    if (l->n_in > net->max_width) net->max_width = l->n_in;
    if (l->n_out > net->max_width) net->max_width = l->n_out;
  }
  net->scratch = 0;
  for (i = 0; i < n; i++) {
    const nn_layer *l = &net->layers[i];
    if ((kinds[l->kind]->flags & NN_KIND_PANEL1) &&
        panel1_floats() + 2 * l->n_in > net->scratch)
      net->scratch = panel1_floats() + 2 * l->n_in;
  }
  if (nn_layers_graph(net->layers, n)) {
    plan_graph(net, busy);
    net->sized_end = 0;     /* nn_forward tests it, and then n_slots: see there */
    if (net->n_inputs) net->n_outputs = net->layers[n - 1].n_out;
  }
}

nn_net *nn_net_init(void *block, const nn_layer *layers, size_t n, size_t n_params) {
  nn_net *net = (nn_net *)block;
  char *p = (char *)block + params_offset(n);
  p += (PARAMS_ALIGN - (uintptr_t)p % PARAMS_ALIGN) % PARAMS_ALIGN;
  net->n_layers = n;
  net->n_params = n_params;
  net->layers = (nn_layer *)((char *)block + layers_offset());
  net->params = (float *)p;
  net->slot = (size_t *)(p + plan_at(n, n_params));
  net->last = net->slot + n + 1;
  if (n > 0) memcpy(net->layers, layers, n * sizeof(nn_layer));
  if (n_params > 0) memset(net->params, 0, n_params * sizeof(float));
  keep_hypers(net, (float *)(p + hypers_at(n_params)), nn_hyper_most());
  {  /* the shape rules keep what of their input's shape they read */
    size_t np;
    char err[NN_ERRMAX];
    lay_out(net->layers, n, &np, 1, err);
  }
  plan_net(net, net->last + n + 1);
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

/* The sized layer l: out = l(in), scratch net->scratch floats.  Linear
** called directly: the hot path. */
static void sized_forward(const nn_net *net, const nn_layer *l, float *out,
                          const float *in, float *scratch) {
  const float *p = net->params + l->w;
  const nn_kind_info *d = kinds[l->kind];
  if (l->kind == NN_LINEAR)
    nn_linear_forward(out, in, p, p + l->n_out * l->n_in, l->n_in, l->n_out);
  else if (d->flags & NN_KIND_PANEL1)
    panel1_forward(d, l, p, out, in, scratch);
  else
    d->forward(out, in, p, l->hyper, l->n_in, l->n_out);
}

/* The element-wise layer l on v (n floats, writable) in place.  ReLU called
** directly: the hot path. */
static void elementwise_forward(const nn_net *net, const nn_layer *l,
                                float *v, size_t n) {
  const nn_kind_info *d;
  if (l->kind == NN_RELU) { nn_relu_forward(v, n); return; }
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

/* A graph's pass: a buffer for each of the plan's slots, and one where a
** join's two inputs are gathered side by side; a chain's, two halves.
** Then the layers' scratch. */
size_t nn_work_size(const nn_net *net, size_t n_x) {
  if (net->n_slots)
    return (net->n_slots + 1) * (net->max_width > n_x ? net->max_width : n_x) +
           net->scratch;
  return NN_WORK_MAX(net->max_width, n_x) + net->scratch;
}

static void graph_forward(const nn_net *net, float *y, const float *x, size_t n_x,
                          float *work);
static void graph_chunk(const nn_net *net, const nn_kernel *k, float *Y,
                        const float *X, size_t rows, size_t n_x, float *work);

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
    if (net->n_slots) {                 /* or a graph, whose sized_end is 0 */
      graph_forward(net, y, x, n_x, work);
      return;
    }
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
      if (d == NULL) nn_linear_forward(out, in, p, p + l->n_out * l->n_in, l->n_in, l->n_out);
      else if (d->flags & NN_KIND_PANEL1) panel1_forward(d, l, p, out, in, lo + 2 * half);
      else d->forward(out, in, p, l->hyper, l->n_in, l->n_out);
      in = cur = out;
      n = l->n_out;
    } else if (l->kind == NN_RELU || d->forward != NULL) {
      if (cur == NULL) {                /* x is read-only: work on a copy */
        memcpy(lo, x, n * sizeof(float));
        in = cur = lo;
      }
      if (l->kind == NN_RELU) nn_relu_forward(cur, n);
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
  return (net->n_slots ? net->n_slots + 1 : 2) * rows * stride + NN_PART_FLOATS(k) + WORK_ALIGN;
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
  pn.shared = NULL; pn.grad_set = 0;
  pn.train = NULL;
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
    if (rows > 0 && net->n_slots) {
      graph_chunk(net, k, Y + r * n_y, X + r * n_x, rows, n_x, aligned);
      r += rows;
    } else if (rows > 0) {
      forward_chunk(net, k, Y + r * n_y, X + r * n_x, rows, n_x, aligned);
      r += rows;
    } else {
      for (; part > 0; part--, r++)
        nn_forward(net, Y + r * n_y, X + r * n_x, n_x, work);
    }
  }
}

static void graph_trace(const nn_net *net, float *out, size_t *offsets,
                        const float *x, size_t n_x);

/* A graph's trace ends with room to gather a join's inputs; any trace,
** with the layers' scratch (net->scratch floats, last). */
size_t nn_trace_size(const nn_net *net, size_t n_x) {
  size_t i, n = n_x, total = net->n_slots ? net->max_width : 0;
  for (i = 0; i < net->n_layers; i++) {
    n = width_after(&net->layers[i], n);
    total += n;
  }
  total += net->scratch;
  return total > 0 ? total : 1;
}

void nn_trace(const nn_net *net, float *out, size_t *offsets,
              const float *x, size_t n_x) {
  size_t i, n = n_x, at = 0;
  const float *prev = x;
  if (net->n_slots) {
    graph_trace(net, out, offsets, x, n_x);
    return;
  }
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    size_t m = width_after(l, n);
    offsets[i] = at;
    if (is_sized(l)) {
      /* prev is read-only here, so the layer writes straight into out. */
      sized_forward(net, l, out + at, prev, out + nn_trace_size(net, n_x) - net->scratch);
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

int nn_check_input(const nn_net *net, const float *X, size_t rows, size_t n_x,
                   char err[NN_ERRMAX]) {
  const nn_layer *l = net->n_layers ? &net->layers[0] : NULL;
  const nn_kind_info *d = l ? kinds[l->kind] : NULL;
  char what[64];
  size_t r, at;
  if (d == NULL || d->input == NULL || d->input->check == NULL || n_x != l->n_in)
    return NN_OK;
  for (r = 0; r < rows; r++) {
    at = d->input->check(X + r * n_x, n_x, l->hyper, what);
    if (at < n_x) {
      snprintf(err, NN_ERRMAX, "layer 1 (nn.%.16s): row %zu, place %zu: %.9g "
               "is not %.44s", d->name, r + 1, at + 1,
               (double)X[r * n_x + at], what);
      return NN_EMISMATCH;
    }
  }
  return NN_OK;
}

/* --- graphs ------------------------------------------------------------ */

/* A pass over a graph keeps each value in the buffer of its slot (the
** plan of nn_net_init), buffers of `size` floats from base.  The layers
** run in order; a join's two inputs are first gathered side by side into
** the buffer after the slots'.  Every buffer holds `count` panels of
** `span` floats, a value's features [n][nr] at the start of each (one
** sample: one panel of nr 1). */
typedef struct graph_pass {
  float *base, *gather;
  size_t size, count, span, nr;
} graph_pass;

/* The width of value v of a graph. */
static size_t graph_width(const nn_net *net, size_t v) {
  return v == 0 ? net->n_inputs : net->layers[v - 1].n_out;
}

static float *value_buf(const nn_net *net, const graph_pass *g, size_t v) {
  return g->base + net->slot[v] * g->size;
}

/* The x of layer i: its input's buffer, or a join's two side by side. */
static const float *layer_x(const nn_net *net, const graph_pass *g, size_t i) {
  const nn_layer *l = &net->layers[i];
  size_t a = nn_layer_input(l, i, 0) - 1, b, wa, p;
  if (l->from[1] == 0) return value_buf(net, g, a);
  b = l->from[1] - 1;
  wa = graph_width(net, a);
  for (p = 0; p < g->count; p++) {
    float *dst = g->gather + p * g->span;
    memcpy(dst, value_buf(net, g, a) + p * g->span, wa * g->nr * sizeof(float));
    memcpy(dst + wa * g->nr, value_buf(net, g, b) + p * g->span,
           (l->n_in - wa) * g->nr * sizeof(float));
  }
  return g->gather;
}

static void graph_forward(const nn_net *net, float *y, const float *x, size_t n_x,
                          float *work) {
  size_t i, n = net->n_layers;
  graph_pass g;
  g.size = g.span = net->max_width > n_x ? net->max_width : n_x;
  g.base = work;
  g.gather = work + net->n_slots * g.size;
  g.count = g.nr = 1;
  memcpy(value_buf(net, &g, 0), x, n_x * sizeof(float));
  for (i = 0; i < n; i++) {
    const nn_layer *l = &net->layers[i];
    const float *in = layer_x(net, &g, i);
    float *out = value_buf(net, &g, i + 1);
    if (is_sized(l)) {
      sized_forward(net, l, out, in, g.gather + g.size);
    } else {
      memcpy(out, in, l->n_in * sizeof(float));
      elementwise_forward(net, l, out, l->n_in);
    }
  }
  memmove(y, value_buf(net, &g, n), net->layers[n - 1].n_out * sizeof(float));
}

/* The chunk's rows into the panels at dst (forward_chunk's packing). */
static void graph_pack(float *dst, const float *X, size_t rows, size_t n_x,
                       const graph_pass *g) {
  size_t p, i, c, nr = g->nr;
  for (p = 0; p < g->count; p++) {
    const float *src = X + p * nr * n_x;
    size_t cols = rows - p * nr < nr ? rows - p * nr : nr;
    float *d = dst + p * g->span;
    for (i = 0; i < n_x; i++, d += nr) {
      for (c = 0; c < cols; c++) d[c] = src[c * n_x + i];
      for (; c < nr; c++) d[c] = 0.0f;
    }
  }
}

/* Layer i on a chunk of panels. */
static void graph_layer_batch(const nn_net *net, const graph_pass *g, size_t i,
                              const nn_panels *pn) {
  const nn_layer *l = &net->layers[i];
  const nn_kind_info *d = kinds[l->kind];
  const float *in = layer_x(net, g, i), *w = net->params + l->w;
  float *out = value_buf(net, g, i + 1);
  size_t p;
  if (l->kind == NN_LINEAR) {
    nn_linear_panels(out, in, w, l->n_in, l->n_out, pn);
  } else if (is_sized(l)) {
    d->forward_batch(out, in, w, l->hyper, l->n_in, l->n_out, pn);
  } else {
    for (p = 0; p < g->count; p++)
      memcpy(out + p * g->span, in + p * g->span, l->n_in * g->nr * sizeof(float));
    if (d->forward_batch)
      d->forward_batch(out, out, w, l->hyper, l->n_in, l->n_out, pn);
    else
      for (p = 0; p < g->count; p++)
        elementwise_forward(net, l, out + p * g->span, l->n_in * g->nr);
  }
}

/* Y [rows][n_y] = net(X [rows][n_x]), a chunk of a graph, as forward_chunk. */
static void graph_chunk(const nn_net *net, const nn_kernel *k, float *Y,
                        const float *X, size_t rows, size_t n_x, float *work) {
  size_t i, p, c, nr = k->nr, n = net->n_layers, n_y = net->layers[n - 1].n_out;
  graph_pass g;
  nn_panels pn;
  g.nr = nr;
  g.count = (rows + nr - 1) / nr;
  g.span = batch_stride(net, n_x, k) * nr;
  g.size = g.count * g.span;
  g.base = work;
  g.gather = work + net->n_slots * g.size;
  pn.count = g.count; pn.nr = nr; pn.stride = g.span / nr; pn.kernel = k;
  pn.part = g.gather + g.size;
  pn.shared = NULL; pn.grad_set = 0; pn.train = NULL;
  graph_pack(value_buf(net, &g, 0), X, rows, n_x, &g);
  for (i = 0; i < n; i++) graph_layer_batch(net, &g, i, &pn);
  for (p = 0; p < g.count; p++)
    for (c = 0; c < nr && p * nr + c < rows; c++) {
      const float *src = value_buf(net, &g, n) + p * g.span + c;
      float *dst = Y + (p * nr + c) * n_y;
      for (i = 0; i < n_y; i++) dst[i] = src[i * nr];
    }
}

/* Each layer's output at out + offsets[i]; a value is read where the
** trace keeps it, a join's two gathered after the last. */
static void graph_trace(const nn_net *net, float *out, size_t *offsets,
                        const float *x, size_t n_x) {
  size_t i, k, at = 0;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const float *src[2] = { NULL, NULL };
    const float *in;
    offsets[i] = at;
    for (k = 0; k < 2; k++) {
      size_t v = nn_layer_input(l, i, k);
      if (v) src[k] = v == 1 ? x : out + offsets[v - 2];
    }
    in = src[0];
    if (src[1]) {
      size_t wb = graph_width(net, l->from[1] - 1);
      float *gather = out + nn_trace_size(net, n_x) - net->scratch - net->max_width;
      memcpy(gather, src[0], (l->n_in - wb) * sizeof(float));
      memcpy(gather + l->n_in - wb, src[1], wb * sizeof(float));
      in = gather;
    }
    if (is_sized(l)) {
      sized_forward(net, l, out + at, in, out + nn_trace_size(net, n_x) - net->scratch);
    } else {
      memmove(out + at, in, l->n_in * sizeof(float));
      elementwise_forward(net, l, out + at, l->n_in);
    }
    at += l->n_out;
  }
  offsets[net->n_layers] = at;
}

size_t nn_argmax(const float *y, size_t n) {
  size_t i, best = 0;
  for (i = 1; i < n; i++) if (y[i] > y[best]) best = i;
  return best;
}

size_t nn_nonfinite(const float *y, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) if (!(y[i] >= -FLT_MAX && y[i] <= FLT_MAX)) return i;
  return n;
}

const char *nn_nonfinite_name(float v) {
  return v != v ? "NaN" : v > 0.0f ? "inf" : "-inf";
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

/* Normal(0, 1) by Box-Muller on two numbers of the stream (u1 in (0, 1],
** u2 in [0, 1), 53 bits each), in double, rounded to float: the same
** numbers for a seed wherever libm's log, sqrt and cos are correctly
** rounded (glibc's are). */
static float normal01(uint64_t *state) {
  double u1 = (double)((nn_splitmix64(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
  double u2 = (double)(nn_splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* One number of a tensor filled as how says. */
static float init_value(nn_init how, float bound, uint64_t *rng_state) {
  switch (how) {
  case NN_INIT_FAN_IN: return bound * uniform_pm1(rng_state);
  case NN_INIT_NORMAL: return normal01(rng_state);
  case NN_INIT_ONES: return 1.0f;
  default: return 0.0f;
  }
}

void nn_init_layer(nn_net *net, size_t layer, uint64_t *rng_state) {
  const nn_layer *l = &net->layers[layer];
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  float *p = net->params + l->w;
  size_t t, i, dims[2], at, fan_in = l->n_in;
  float bound;
  if (d && d->n_tensors > 0 && d->tensors[0].rank == 2) {
    nn_tensor_shape(l, 0, dims, &at);
    fan_in = dims[1];
  }
  bound = fan_in ? 1.0f / sqrtf((float)fan_in) : 1.0f;
  for (t = 0; d && t < d->n_tensors; t++) {
    size_t count = nn_tensor_shape(l, t, dims, &at);
    nn_init how = d->tensors[t].init;
    for (i = 0; i < count; i++) p[at + i] = init_value(how, bound, rng_state);
  }
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
