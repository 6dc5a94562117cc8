/*
** nn_onnx_read.c: an ONNX ModelProto into an nn_net (see nn_onnx.h).
**
** The messages are never copied: the reader walks them with nn_protobuf.c
** and keeps spans into the caller's bytes.  It follows the data from the
** graph's one input through the nodes in their order (ONNX keeps them
** sorted), each of which must take the output of the one before it, and
** builds one nn layer per operator that computes something.  What the
** data look like is tracked as a shape whose last axis is the row; the axes
** before it are the batch, which nn runs one row at a time.
**
** Not the writer (nn_onnx_write.c), not a general ONNX runtime: no
** broadcasting beyond a bias, no shapes computed at run time.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_onnx_proto.h"

/* --- layers ------------------------------------------------------------- */

/* The hyper-parameters of layer i, after the reader's layers. */
static float *hypers_of(nn_onnx_reader *r, size_t i) {
  return (float *)(r->layers + r->layers_cap) + i * nn_hyper_most();
}

/* A layer of that kind, its hyper-parameters hyper [its n_hyper] (NULL:
** its kind's defaults). */
/* What a new layer reads: the data, when they are not the layer before's
** (a graph's branch). */
static uint32_t data_from(const nn_onnx_reader *r) {
  return r->cur_value == r->n_layers ? 0 : (uint32_t)r->cur_value + 1;
}

static int push_layer(nn_onnx_reader *r, nn_kind kind, const float *hyper) {
  nn_layer l = NN_ACT(kind);
  size_t n = nn_kind_info_of(kind)->n_hyper;
  if (hyper && n) {
    memcpy(hypers_of(r, r->n_layers), hyper, n * sizeof(float));
    l.hyper = hypers_of(r, r->n_layers);
  }
  l.from[0] = data_from(r);
  r->layers[r->n_layers++] = l;
  r->cur_value = r->n_layers;
  r->open_linear = 0;
  return NN_OK;
}

/* A new Linear of n_in -> n_out with zero weights; its block in *wb. */
static int push_linear(nn_onnx_reader *r, size_t n_in, size_t n_out, float **wb) {
  nn_layer l = NN_DENSE(n_in, n_out);
  float *p;
  if (n_in == 0 || n_out == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a weight matrix of %zu x %zu is empty", n_in, n_out);
  if (n_out > NN_MAX_PARAMS / (n_in + 1))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "more than %zu weights", NN_MAX_PARAMS);
  if ((p = (float *)calloc(n_out * (n_in + 1), sizeof(float))) == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  r->lins[r->n_lins].layer = r->n_layers;
  r->lins[r->n_lins++].wb = p;
  l.from[0] = data_from(r);
  r->layers[r->n_layers++] = l;
  r->cur_value = r->n_layers;
  r->open_linear = 1;
  r->row_fixed = 1;
  *wb = p;
  return NN_OK;
}

/* The data's row must be n numbers wide (or becomes so when not known). */
static int check_row(nn_onnx_reader *r, long long n, const char *what) {
  long long w = r->dims[r->rank - 1];
  if (w >= 0 && w != n)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s takes rows of %lld, but its input has "
                "rows of %lld", what, n, w);
  r->dims[r->rank - 1] = n;
  return NN_OK;
}

/* A constant input of the node (k-th), which must be there. */
static int node_const(nn_onnx_reader *r, nn_pb_span node, size_t k, const char *what,
                      nn_onnx_tensor **t) {
  nn_pb_span name;
  char b[48];
  nn_onnx_node_strings(node, 1, k, &name);
  if (name.n == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "has no %s", what);
  if ((*t = nn_onnx_find_const(r, name)) == NULL)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s '%s' is not a constant (an initializer)",
                what, nn_onnx_show(name, b));
  return NN_OK;
}

/* b[n] += scale * C, C a constant that broadcasts to one row of n. */
static int add_bias(nn_onnx_reader *r, float *b, size_t n, const nn_onnx_tensor *c, float scale) {
  float *v;
  size_t j;
  int st, i;
  char buf[48];
  for (i = 0; i + 1 < c->rank; i++)
    if (c->dims[i] != 1) goto shape;
  if (c->count != 1 && c->count != n) goto shape;
  if ((v = (float *)malloc(c->count * sizeof(float))) == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  if ((st = nn_onnx_tensor_floats(r, c, v)) != NN_OK) { free(v); return st; }
  for (j = 0; j < n; j++) {
    double s = (double)b[j] + (double)scale * v[c->count == 1 ? 0 : j];
    if (!(fabs(s) <= 3.4028234663852886e38)) { free(v); goto big; }
    b[j] = (float)s;
  }
  free(v);
  return NN_OK;
shape:
  return nn_onnx_fail(r, NN_EUNSUPPORTED, "bias '%s' does not broadcast to one row of %zu",
              nn_onnx_show(c->name, buf), n);
big:
  return nn_onnx_fail(r, NN_EUNSUPPORTED, "bias '%s' overflows float32", nn_onnx_show(c->name, buf));
}

/* W [n_out][n_in] = alpha * B, B [n_in][n_out] (trans 0) or [n_out][n_in]. */
static int fill_weights(nn_onnx_reader *r, float *w, const nn_onnx_tensor *B, int trans, float alpha,
                        size_t n_in, size_t n_out) {
  float *v = (float *)malloc(B->count * sizeof(float));
  size_t i, j;
  int st;
  char b[48];
  if (v == NULL) return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  if ((st = nn_onnx_tensor_floats(r, B, v)) != NN_OK) { free(v); return st; }
  for (j = 0; j < n_out; j++)
    for (i = 0; i < n_in; i++) {
      double x = (double)alpha * v[trans ? j * n_in + i : i * n_out + j];
      if (!(fabs(x) <= 3.4028234663852886e38)) {
        free(v);
        return nn_onnx_fail(r, NN_EUNSUPPORTED, "alpha * '%s' overflows float32", nn_onnx_show(B->name, b));
      }
      w[j * n_in + i] = (float)x;
    }
  free(v);
  return NN_OK;
}

static int op_gemm(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "alpha", "beta", "transA", "transB", "broadcast", NULL };
  nn_onnx_attr a[5];
  nn_pb_span raw[5], cname;
  long long transA, transB, broadcast;
  float alpha, beta, *wb;
  nn_onnx_tensor *B, *C = NULL;
  size_t n_in, n_out;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  if ((st = nn_onnx_attr_float(r, &a[0], 1.0f, &alpha)) || (st = nn_onnx_attr_float(r, &a[1], 1.0f, &beta)) ||
      (st = nn_onnx_attr_int(r, &a[2], 0, &transA)) || (st = nn_onnx_attr_int(r, &a[3], 0, &transB)) ||
      (st = nn_onnx_attr_int(r, &a[4], 1, &broadcast)))
    return st;
  if (transA != 0) return nn_onnx_fail(r, NN_EUNSUPPORTED, "transA = %lld is not supported", transA);
  if (transB != 0 && transB != 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "transB = %lld is not supported", transB);
  if (r->rank != 2)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "its input has rank %d, not 2", r->rank);
  if ((st = node_const(r, node, 1, "input B", &B)) != NN_OK) return st;
  if (B->rank != 2)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "B has rank %d, not 2", B->rank);
  n_in = (size_t)B->dims[transB ? 1 : 0];
  n_out = (size_t)B->dims[transB ? 0 : 1];
  if (nn_onnx_node_strings(node, 1, 2, &cname) > 2 && cname.n > 0 && beta != 0.0f &&
      (st = node_const(r, node, 2, "input C", &C)) != NN_OK)
    return st;
  (void)broadcast;
  if ((st = check_row(r, (long long)n_in, "B")) != NN_OK ||
      (st = push_linear(r, n_in, n_out, &wb)) != NN_OK ||
      (st = fill_weights(r, wb, B, (int)transB, alpha, n_in, n_out)) != NN_OK)
    return st;
  if (C && (st = add_bias(r, wb + n_in * n_out, n_out, C, beta)) != NN_OK) return st;
  r->dims[1] = (long long)n_out;
  return NN_OK;
}

static int op_matmul(nn_onnx_reader *r, nn_pb_span node) {
  nn_pb_span in0;
  nn_onnx_tensor *B;
  float *wb;
  size_t n_in, n_out;
  int st;
  nn_onnx_node_strings(node, 1, 0, &in0);
  if (!nn_onnx_same(in0, r->cur))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "takes the data as its second input, "
                "which is not supported");
  if ((st = node_const(r, node, 1, "input B", &B)) != NN_OK) return st;
  if (B->rank != 2)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "B has rank %d, not 2", B->rank);
  n_in = (size_t)B->dims[0];
  n_out = (size_t)B->dims[1];
  if ((st = check_row(r, (long long)n_in, "B")) != NN_OK ||
      (st = push_linear(r, n_in, n_out, &wb)) != NN_OK ||
      (st = fill_weights(r, wb, B, 0, 1.0f, n_in, n_out)) != NN_OK)
    return st;
  r->dims[r->rank - 1] = (long long)n_out;
  return NN_OK;
}

static int op_add(nn_onnx_reader *r, nn_pb_span node) {
  nn_pb_span in0, in1;
  nn_onnx_tensor *C;
  const nn_onnx_linear *lin;
  const nn_layer *l;
  char b[48];
  nn_onnx_node_strings(node, 1, 0, &in0);
  nn_onnx_node_strings(node, 1, 1, &in1);
  if (!r->open_linear || r->n_lins == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "an Add is supported only as the bias of "
                "the MatMul or Gemm before it");
  lin = &r->lins[r->n_lins - 1];
  if ((C = nn_onnx_find_const(r, nn_onnx_same(in0, r->cur) ? in1 : in0)) == NULL)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "'%s' is not a constant (an initializer)",
                nn_onnx_show(nn_onnx_same(in0, r->cur) ? in1 : in0, b));
  l = &r->layers[lin->layer];
  return add_bias(r, lin->wb + l->n_in * l->n_out, l->n_out, C, 1.0f);
}

static int op_softmax(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "axis", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  long long axis;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[0], r->opset >= 13 ? -1 : 1, &axis)) != NN_OK)
    return st;
  if (axis < 0) axis += r->rank;
  if (axis != r->rank - 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "axis %lld of a rank-%d input is not its last "
                "(in opset %ld), and nn applies SoftMax to each row", axis, r->rank, r->opset);
  r->row_fixed = 1;
  return push_layer(r, NN_SOFTMAX, NULL);
}

/* The data take a new shape dims[rank]: fine when the row stays the row,
** or when nothing before cared what a row was. */
static int reshape_to(nn_onnx_reader *r, const long long *dims, int rank) {
  long long w = dims[rank - 1];
  if (r->row_fixed && (w < 0 || w != r->dims[r->rank - 1]))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "makes rows of %lld from rows of %lld: "
                "a row must stay a row", w, r->dims[r->rank - 1]);
  if (!r->row_fixed && w < 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "gives rows of a width not known before "
                "run time");
  if (w == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "gives rows of no numbers");
  memcpy(r->dims, dims, (size_t)rank * sizeof *dims);
  r->rank = rank;
  return NN_OK;
}

static int op_flatten(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "axis", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  long long axis, d[2] = { 1, 1 };
  int st, i;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[0], 1, &axis)) != NN_OK)
    return st;
  if (axis < 0) axis += r->rank;
  if (axis < 0 || axis > r->rank)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "axis %lld is out of range for rank %d", axis, r->rank);
  for (i = 0; i < r->rank; i++) {
    long long *p = &d[i < axis ? 0 : 1];
    if (r->dims[i] < 0 || *p < 0) *p = -1;
    else if (r->dims[i] != 0 && *p > (long long)NN_MAX_PARAMS / r->dims[i]) *p = -1;
    else *p *= r->dims[i];
  }
  return reshape_to(r, d, 2);
}

static int op_reshape(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "allowzero", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  long long allowzero, s[NN_ONNX_MAX_RANK], known = 1, total = 1;
  nn_onnx_tensor *shape;
  size_t n, i;
  int st, minus = -1;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[0], 0, &allowzero)) != NN_OK ||
      (st = node_const(r, node, 1, "input shape", &shape)) != NN_OK ||
      (st = nn_onnx_tensor_ints(r, shape, s, NN_ONNX_MAX_RANK)) != NN_OK)
    return st;
  n = shape->count;
  if (n == 0) return nn_onnx_fail(r, NN_EUNSUPPORTED, "gives a scalar");
  for (i = 0; i < (size_t)r->rank; i++) {
    if (r->dims[i] < 0 || known < 0) known = -1;
    else if (r->dims[i] != 0 && known > (long long)NN_MAX_PARAMS / r->dims[i]) known = -1;
    else known *= r->dims[i];
  }
  for (i = 0; i < n; i++) {
    if (s[i] == 0 && !allowzero) {
      if (i >= (size_t)r->rank) return nn_onnx_fail(r, NN_EUNSUPPORTED, "shape value 0 at %zu "
                                            "copies no dimension", i + 1);
      s[i] = r->dims[i];
    } else if (s[i] == -1 && minus < 0) {
      minus = (int)i;
      continue;
    } else if (s[i] < 0 || s[i] > (long long)NN_MAX_PARAMS) {
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "shape value %lld is not supported", s[i]);
    }
    if (s[i] < 0 || total < 0) total = -1;
    else if (s[i] != 0 && total > (long long)NN_MAX_PARAMS / s[i]) total = -1;
    else total *= s[i];
  }
  if (minus >= 0)
    s[minus] = known >= 0 && total > 0 && known % total == 0 ? known / total : -1;
  return reshape_to(r, s, (int)n);
}

static int op_dropout(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "ratio", "is_test", "seed", NULL };
  nn_onnx_attr a[3];
  nn_pb_span raw[3], mode;
  nn_onnx_tensor *t;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  if (nn_onnx_node_strings(node, 1, 2, &mode) > 2 && mode.n > 0) {
    long long v[1];
    if ((t = nn_onnx_find_const(r, mode)) == NULL || t->type != NN_ONNX_BOOL || t->count != 1)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "training_mode is not a constant false");
    /* a bool tensor keeps its value in int32_data or raw_data */
    {
      nn_pb_span m = t->msg;
      nn_pb_field f;
      v[0] = -1;
      while (nn_pb_next(&m, &f) > 0) {
        if (f.number == 9 && f.wire == 2 && f.s.n == 1) v[0] = f.s.p[0];
        if (f.number == 5 && f.wire == 2 && f.s.n == 1) v[0] = f.s.p[0];
        if (f.number == 5 && f.wire == 0) v[0] = (long long)f.u;
      }
    }
    if (v[0] != 0)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "training_mode is not a constant false");
  }
  return NN_OK;
}

/* Transpose and Constant make constants; nothing of the data. */
static int op_transpose(nn_onnx_reader *r, nn_pb_span node, nn_pb_span out) {
  static const char *const names[] = { "perm", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  long long perm[NN_ONNX_MAX_RANK];
  size_t n = 0, i, j, rows, cols;
  nn_onnx_tensor *src, t;
  float *v;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  if (a[0].name.n && (st = nn_onnx_attr_ints(r, raw[0], perm, NN_ONNX_MAX_RANK, &n)) != NN_OK)
    return st;
  if ((st = node_const(r, node, 0, "input", &src)) != NN_OK) return st;
  if (src->rank != 2 || (n != 0 && (n != 2 || perm[0] != 1 || perm[1] != 0)))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "only a matrix's transpose is supported");
  t = *src;
  rows = (size_t)src->dims[0];
  cols = (size_t)src->dims[1];
  if ((v = (float *)malloc((src->count ? src->count : 1) * sizeof(float))) == NULL ||
      (t.owned = (float *)malloc((src->count ? src->count : 1) * sizeof(float))) == NULL) {
    free(v);
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  }
  if ((st = nn_onnx_tensor_floats(r, src, v)) != NN_OK) { free(v); free(t.owned); return st; }
  for (i = 0; i < rows; i++)
    for (j = 0; j < cols; j++) t.owned[j * rows + i] = v[i * cols + j];
  free(v);
  t.dims[0] = (long long)cols;
  t.dims[1] = (long long)rows;
  t.name = out;
  if ((st = nn_onnx_add_const(r, &t)) != NN_OK) free(t.owned);
  return st;
}

static int op_constant(nn_onnx_reader *r, nn_pb_span node, nn_pb_span out) {
  static const char *const names[] = { "value", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  nn_onnx_tensor t;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  if (!a[0].has_t)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "has no tensor 'value'");
  if ((st = nn_onnx_tensor_header(r, a[0].t, &t)) != NN_OK) return st;
  t.name = out;
  return nn_onnx_add_const(r, &t);
}

static int no_attrs(nn_onnx_reader *r, nn_pb_span node, int legacy_add);

/* An Identity of a constant names it again: PyTorch 1.13, exporting a
** BatchNorm1d not yet trained, gives running_var as an Identity of weight
** (both ones) and running_mean of bias (both zeros). */
static int op_identity_const(nn_onnx_reader *r, nn_pb_span node, const nn_onnx_tensor *src,
                             nn_pb_span out) {
  nn_onnx_tensor t = *src;
  int st;
  if ((st = no_attrs(r, node, 0)) != NN_OK) return st;
  if (src->owned) {
    if ((t.owned = (float *)malloc((src->count ? src->count : 1) * sizeof(float))) == NULL)
      return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
    memcpy(t.owned, src->owned, src->count * sizeof(float));
  }
  t.name = out;
  if ((st = nn_onnx_add_const(r, &t)) != NN_OK) free(t.owned);
  return st;
}

/* An operator that has no attribute nn reads (Add before opset 7 had axis
** and broadcast, which a bias needs neither of): any other is refused, as
** an unknown one is elsewhere, rather than ignored. */
static int no_attrs(nn_onnx_reader *r, nn_pb_span node, int legacy_add) {
  static const char *const none[] = { NULL };
  static const char *const add[] = { "axis", "broadcast", NULL };
  nn_onnx_attr a[2];
  nn_pb_span raw[2];
  return nn_onnx_node_attrs(r, node, legacy_add ? add : none, a, raw);
}

/* Appends c to buf [48] at *n, printable or '?', "..." once it is full. */
static void put_char(char *buf, size_t *n, unsigned char c) {
  if (*n < 40) buf[(*n)++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
  else if (*n == 40) { memcpy(buf + 37, "...", 3); }
}

/* The PyTorch module a node's name places it in, into buf [48]: PyTorch
** 1.13 names a node by its module's scopes and its op, "/1/Div" or
** "/0/layers.0/layers.0.1/Abs", a scope of a container's child written as
** the container's name, a dot and the child's.  The module is the
** scopes joined by dots, each child's name once: "1", "0.layers.0.1",
** as its parameters are named ("1.weight").  0 when the name is not of
** that form (no leading '/', no scope, an empty one, no op after them). */
static int pytorch_layer(nn_pb_span name, char buf[48]) {
  size_t i, end = name.n, n = 0, start, prev = 0, prev_n = 0;
  if (name.n < 3 || name.p[0] != '/') return 0;
  while (end > 0 && name.p[end - 1] != '/') end--;
  if (end < 2 || end == name.n) return 0;   /* "/Div": the root module's; "/a/": no op */
  for (start = 1; start < end; start = i + 1) {
    size_t skip = 0;
    for (i = start; name.p[i] != '/'; i++) {}
    if (i == start) return 0;
    if (prev_n && i - start > prev_n + 1 && name.p[start + prev_n] == '.' &&
        memcmp(name.p + start, name.p + prev, prev_n) == 0)
      skip = prev_n + 1;                  /* "layers.0.1" after "layers.0" */
    if (n) put_char(buf, &n, '.');
    for (skip += start; skip < i; skip++) put_char(buf, &n, (unsigned char)name.p[skip]);
    prev = start;
    prev_n = i - start;
  }
  buf[n] = '\0';
  return 1;
}

/* The node's description for messages ("node 3 'fc1' (Gemm)", "node 3
** '/1/Div' (Div) in layer '1'"), in r->node_desc; its op and domain in
** *op and *domain. */
static int describe_node(nn_onnx_reader *r, nn_pb_span node, nn_pb_span *op, nn_pb_span *domain) {
  static const nn_onnx_field once[] = {
    { 3, "name" }, { 4, "op_type" }, { 7, "domain" }, { 0, NULL }
  };
  nn_pb_span name = { NULL, 0 }, m = node;
  nn_pb_field f;
  char b1[48], b2[48], b3[48];
  int st;
  op->p = domain->p = NULL;
  op->n = domain->n = 0;
  while ((st = nn_pb_next(&m, &f)) > 0) {
    if (f.wire != 2) continue;
    if (f.number == 3) name = f.s;
    else if (f.number == 4) *op = f.s;
    else if (f.number == 7) *domain = f.s;
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "a node");
  if (name.n && pytorch_layer(name, b3))
    snprintf(r->node_desc, sizeof r->node_desc, "node %zu '%s' (%s) in layer '%s'",
             r->node_no, nn_onnx_show(name, b1), nn_onnx_show(*op, b2), b3);
  else if (name.n)
    snprintf(r->node_desc, sizeof r->node_desc, "node %zu '%s' (%s)", r->node_no,
             nn_onnx_show(name, b1), nn_onnx_show(*op, b2));
  else
    snprintf(r->node_desc, sizeof r->node_desc, "node %zu (%s)", r->node_no, nn_onnx_show(*op, b2));
  return nn_onnx_once(r, node, once, "it");
}

/* The kind whose ONNX operator op is, when it is one operator of the data
** alone: no tensors, no fixed attribute (SoftMax's axis and Linear's Gemm
** have readers of their own); NN_KIND_COUNT when none is. */
static nn_kind simple_kind(nn_pb_span op) {
  nn_kind k;
  for (k = 0; k < nn_kind_end(); k++) {
    const nn_kind_info *d = nn_kind_info_of(k);
    if (d && d->onnx.op && !d->onnx.attr && d->n_tensors == 0 &&
        !(d->flags & NN_KIND_JOIN) && nn_onnx_is(op, d->onnx.op))
      return k;
  }
  return NN_KIND_COUNT;
}

#define MAX_KIND_ATTRS  8

/* A node of such a kind: its attributes are its hyper-parameters, by the
** names the kind table gives them, each optional (its default); any other
** attribute is refused. */
/* The kind's fixed attribute, where a reader of the kind's table reads it
** (LayerNormalization's axis -1): absent, or that value (for an axis, also
** the last one by its number). */
static int fixed_attr(nn_onnx_reader *r, const nn_kind_info *d, const nn_onnx_attr *a) {
  long long v;
  int st = nn_onnx_attr_int(r, a, d->onnx.value, &v);
  if (st != NN_OK) return st;
  if (v == d->onnx.value || (strcmp(d->onnx.attr, "axis") == 0 && d->onnx.value == -1 &&
                             v == (long long)r->rank - 1))
    return NN_OK;
  return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s %lld is not supported (only %lld)",
                      d->onnx.attr, v, d->onnx.value);
}

/* The attributes of BatchNormalization that only training reads (its
** momentum, opset 6's is_test) or that must say inference and per feature
** (training_mode 0 from opset 14, spatial 1 before 9): accepted beside the
** kind's, checked, not kept. */
static const char *const bn_training_attrs[] = {
  "momentum", "is_test", "spatial", "training_mode", NULL
};

static int training_attrs(nn_onnx_reader *r, const nn_onnx_attr *a) {
  long long v;
  int st;
  if ((st = nn_onnx_attr_int(r, &a[2], 1, &v)) != NN_OK) return st;
  if (v != 1) return nn_onnx_fail(r, NN_EUNSUPPORTED, "spatial %lld is not supported", v);
  if ((st = nn_onnx_attr_int(r, &a[3], 0, &v)) != NN_OK) return st;
  if (v != 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "training_mode %lld is not supported "
                        "(only 0, inference)", v);
  return NN_OK;
}

static int read_hypers(nn_onnx_reader *r, nn_pb_span node, const nn_kind_info *d,
                       float *hyper /* [MAX_KIND_ATTRS] */) {
  const char *names[MAX_KIND_ATTRS + 6];   /* and the fixed one, and training's */
  size_t map[MAX_KIND_ATTRS], n = 0, j, k;
  nn_onnx_attr a[MAX_KIND_ATTRS + 5];
  nn_pb_span raw[MAX_KIND_ATTRS + 5];
  int st, bn = d->onnx.op && strcmp(d->onnx.op, "BatchNormalization") == 0;
  for (j = 0; j < d->n_hyper && j < MAX_KIND_ATTRS; j++) {
    hyper[j] = (float)d->hyper[j].def;
    if (d->hyper[j].onnx && d->hyper[j].onnx[0]) { map[n] = j; names[n++] = d->hyper[j].onnx; }
  }
  k = n;
  if (d->onnx.attr) names[k++] = d->onnx.attr;
  for (j = 0; bn && bn_training_attrs[j]; j++) names[k + j] = bn_training_attrs[j];
  names[k + j] = NULL;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  if (d->onnx.attr && (st = fixed_attr(r, d, &a[n])) != NN_OK) return st;
  if (bn && (st = training_attrs(r, a + k)) != NN_OK) return st;
  for (j = 0; j < n; j++) {
    const nn_hyper *h = &d->hyper[map[j]];
    long long v;
    if (h->integer) {
      if ((st = nn_onnx_attr_int(r, &a[j], (long long)h->def, &v)) != NN_OK) return st;
      hyper[map[j]] = (float)v;
    } else if ((st = nn_onnx_attr_float(r, &a[j], (float)h->def, &hyper[map[j]])) != NN_OK) {
      return st;
    }
  }
  return NN_OK;
}

static int op_kind(nn_onnx_reader *r, nn_pb_span node, nn_kind kind) {
  float hyper[MAX_KIND_ATTRS];
  int st = read_hypers(r, node, nn_kind_info_of(kind), hyper);
  return st != NN_OK ? st : push_layer(r, kind, hyper);
}

/* The kind whose ONNX operator op is, with tensors as its inputs after the
** data (Linear's Gemm has a reader of its own); NN_KIND_COUNT when none. */
static nn_kind tensor_kind(nn_pb_span op) {
  nn_kind k;
  for (k = 0; k < nn_kind_end(); k++) {
    const nn_kind_info *d = nn_kind_info_of(k);
    if (d && d->onnx.op && d->n_tensors > 0 && d->n_sizes == 1 &&
        nn_onnx_is(op, d->onnx.op))
      return k;
  }
  return NN_KIND_COUNT;
}

/* Parameters for layer l, the layer the reader pushes next, kept with the
** Linear layers' blocks (copied into the net at the end). */
static int new_params(nn_onnx_reader *r, const nn_layer *l, float **p) {
  if ((*p = (float *)calloc(nn_layer_n_params(l) + 1, sizeof(float))) == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  r->lins[r->n_lins].layer = r->n_layers;
  r->lins[r->n_lins++].wb = *p;
  return NN_OK;
}

/* Constant input 1 + t of node as tensor t of layer l, whose shape it must
** have, into p (the layer's parameters). */
static int read_tensor(nn_onnx_reader *r, nn_pb_span node, const nn_layer *l, size_t t,
                       float *p) {
  const nn_tensor_info *ti = &nn_kind_info_of(l->kind)->tensors[t];
  nn_onnx_tensor *c;
  size_t dims[2], at;
  char what[48];
  int st, i;
  nn_tensor_shape(l, t, dims, &at);
  snprintf(what, sizeof what, "input %zu (%s)", t + 2, ti->name);
  if ((st = node_const(r, node, t + 1, what, &c)) != NN_OK) return st;
  for (i = 0; i < ti->rank; i++)
    if (c->rank != ti->rank || c->dims[i] != (long long)dims[i])
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s is not of the shape nn.%s(%zu) needs",
                          what, nn_kind_name(l->kind), l->n_in);
  return nn_onnx_tensor_floats(r, c, p + at);
}

/* A node of a kind with tensors: as wide out as the data's row (a kind of
** one size), its hyper-parameters from its attributes, its tensors from
** its constant inputs; kept with the Linear layers' blocks, whose
** parameters are copied into the net at the end. */
static int op_tensor_kind(nn_onnx_reader *r, nn_pb_span node, nn_kind kind) {
  const nn_kind_info *d = nn_kind_info_of(kind);
  long long w = r->dims[r->rank - 1];
  float hyper[MAX_KIND_ATTRS], *p;
  nn_layer l = NN_ACT(kind);
  size_t t;
  int st;
  if (d->n_sizes != 1 || w <= 0 || w > (long long)NN_MAX_WIDTH)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "nn.%s needs rows of a width known before "
                        "run time", d->name);
  if ((st = read_hypers(r, node, d, hyper)) != NN_OK) return st;
  l.n_in = l.n_out = (size_t)w;
  l.hyper = hyper;
  if ((st = new_params(r, &l, &p)) != NN_OK) return st;
  for (t = 0; t < d->n_tensors; t++)
    if ((st = read_tensor(r, node, &l, t, p)) != NN_OK) return st;
  if ((st = push_layer(r, kind, hyper)) != NN_OK) return st;
  r->layers[r->n_layers - 1].n_in = r->layers[r->n_layers - 1].n_out = l.n_in;
  r->row_fixed = 1;
  return NN_OK;
}

/* Gather of a table by the graph's int64 input, on axis 0: the kind whose
** operator it is and that takes ids (Embedding), its first layer, n_ids
** and dim the table's shape, ids the input's row; the data after it are
** [batch, ids, dim], which the Flatten PyTorch writes after it makes a
** row. */
static int op_gather(nn_onnx_reader *r, nn_pb_span node) {
  nn_kind kind = nn_kind_from_onnx("Gather");
  const nn_kind_info *d = nn_kind_info_of(kind);
  long long k = r->dims[r->rank - 1];
  float hyper[MAX_KIND_ATTRS], *p;
  nn_onnx_tensor *t;
  int st;
  if (d == NULL || !r->ids_in || r->n_layers > 0 || r->rank != 2)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Gather is read only of a table by the "
                        "graph's int64 input of [batch, ids] (an Embedding)");
  if ((st = read_hypers(r, node, d, hyper)) != NN_OK ||
      (st = node_const(r, node, 0, "table", &t)) != NN_OK)
    return st;
  if (t->rank != 2 || t->dims[0] < 1 || t->dims[1] < 1 || k < 1 ||
      t->dims[0] > (long long)NN_MAX_WIDTH || t->dims[1] > (long long)NN_MAX_WIDTH ||
      k > (long long)NN_MAX_WIDTH)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the table is not [n_ids, dim] or the ids' "
                        "row is not of a width known before run time");
  hyper[0] = (float)t->dims[0];
  hyper[1] = (float)t->dims[1];
  hyper[2] = (float)k;
  if (t->count > NN_MAX_PARAMS)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "more than %zu weights", NN_MAX_PARAMS);
  if ((p = (float *)calloc(t->count + 1, sizeof(float))) == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  r->lins[r->n_lins].layer = r->n_layers;
  r->lins[r->n_lins++].wb = p;
  if ((st = nn_onnx_tensor_floats(r, t, p)) != NN_OK) return st;
  r->dims[2] = t->dims[1];
  r->rank = 3;
  return push_layer(r, kind, hyper);
}

/* --- images ----------------------------------------------------------------
** Data of rank 3 ([N, C, L]) or 4 ([N, C, H, W]) are images, which nn's
** rows hold in the same order: the first node over them makes the net's
** nn.Input of their shape.  Conv is Conv1d or Conv2d (group 1, pads the
** same at both ends, kernel_shape from the weight when not written),
** MaxPool MaxPool1d or MaxPool2d and AveragePool AvgPool2d (square windows,
** ceil_mode 0, AveragePool counting its padding when it has some),
** GlobalAveragePool GlobalAvgPool; a Flatten or Reshape after them to rows
** of C H W moves nothing, as the row is already that. */

/* The sizes of the images the data are, known before run time; the
** nn.Input of their shape pushed when it is the first image node. */
static int image_dims(nn_onnx_reader *r, size_t sz[3]) {
  int i;
  if (r->rank != 3 && r->rank != 4)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "takes data of rank %d, and nn's images are "
                        "[N, C, L] or [N, C, H, W]", r->rank);
  for (i = 1; i < r->rank; i++)
    if (r->dims[i] <= 0 || r->dims[i] > (long long)NN_MAX_WIDTH)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "takes images of a size not known before "
                          "run time");
  sz[0] = (size_t)r->dims[1];
  sz[1] = (size_t)r->dims[2];
  sz[2] = r->rank == 4 ? (size_t)r->dims[3] : 0;
  if (!r->image) {
    float hy[3];
    hy[0] = (float)sz[0]; hy[1] = (float)sz[1]; hy[2] = (float)sz[2];
    push_layer(r, NN_INPUT, hy);
    r->image = 1;
  }
  return NN_OK;
}

/* An INTS attribute of nd values (2 nd for pads), or dflt for each when
** absent. */
static int window_attr(nn_onnx_reader *r, const nn_onnx_attr *a, nn_pb_span raw,
                       const char *name, size_t want, long long dflt, long long *v) {
  size_t n, i;
  int st;
  if (a->name.n == 0) {
    for (i = 0; i < want; i++) v[i] = dflt;
    return NN_OK;
  }
  if ((st = nn_onnx_attr_ints(r, raw, v, 4, &n)) != NN_OK) return st;
  if (n != want)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s has %zu values, not %zu", name, n, want);
  for (i = 0; i < n; i++)
    if (v[i] < (dflt == 0 ? 0 : 1) || v[i] > 65535)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s value %lld is not supported", name, v[i]);
  return NN_OK;
}

/* A window over nd axes: kernel, stride, padding (the same at both ends),
** dilation, from attributes a[0..3] (kernel_shape, strides, pads,
** dilations); kernel from kdims when kernel_shape is absent. */
typedef struct window {
  long long k[2], s[2], p[4], d[2];
} window;

static int read_window(nn_onnx_reader *r, const nn_onnx_attr *a, const nn_pb_span *raw,
                       size_t nd, const long long *kdims, window *w) {
  size_t i;
  int st;
  if (a[0].name.n == 0 && kdims) for (i = 0; i < nd; i++) w->k[i] = kdims[i];
  else if (a[0].name.n == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "has no kernel_shape");
  else if ((st = window_attr(r, &a[0], raw[0], "kernel_shape", nd, 1, w->k)) != NN_OK)
    return st;
  if ((st = window_attr(r, &a[1], raw[1], "strides", nd, 1, w->s)) != NN_OK ||
      (st = window_attr(r, &a[2], raw[2], "pads", 2 * nd, 0, w->p)) != NN_OK ||
      (st = window_attr(r, &a[3], raw[3], "dilations", nd, 1, w->d)) != NN_OK)
    return st;
  for (i = 0; i < nd; i++)
    if (w->p[i] != w->p[nd + i])
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "pads %lld and %lld at the two ends of axis "
                          "%zu differ, and nn pads both ends alike", w->p[i], w->p[nd + i], i + 2);
  return NN_OK;
}

/* The data's spatial sizes after the window, or a refusal when it does not
** fit. */
static int window_out(nn_onnx_reader *r, const window *w, size_t nd) {
  size_t i;
  for (i = 0; i < nd; i++) {
    long long n = r->dims[2 + i], span = w->d[i] * (w->k[i] - 1) + 1;
    if (n + 2 * w->p[i] < span)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "its window (%lld) is larger than its padded "
                          "input (%lld, padding %lld)", span, n, w->p[i]);
    r->dims[2 + i] = (n + 2 * w->p[i] - span) / w->s[i] + 1;
  }
  return NN_OK;
}

/* A layer with parameters p (kept with the Linear layers' blocks, copied
** into the net at the end). */
static int push_with_params(nn_onnx_reader *r, nn_kind kind, const float *hy, float **p) {
  nn_layer l = NN_ACT(kind);
  int st;
  l.hyper = hy;
  if ((st = new_params(r, &l, p)) != NN_OK) return st;
  return push_layer(r, kind, hy);
}

/* BatchNormalization on images (PyTorch's BatchNorm2d on [N, C, H, W],
** BatchNorm1d on [N, C, L]): a BatchNorm2d of the images' channels, its
** tensors [C] from the node's constant inputs. */
static int op_batchnorm_images(nn_onnx_reader *r, nn_pb_span node) {
  const nn_kind_info *d = nn_kind_info_of(NN_BATCHNORM2D);
  float hyper[MAX_KIND_ATTRS], *p;
  nn_layer l = NN_ACT(NN_BATCHNORM2D);
  size_t sz[3], t;
  int st;
  if ((st = image_dims(r, sz)) != NN_OK || (st = read_hypers(r, node, d, hyper)) != NN_OK)
    return st;
  hyper[0] = (float)sz[0];
  hyper[3] = (float)(sz[1] * (sz[2] ? sz[2] : 1));
  l.n_in = l.n_out = sz[0];        /* what a message of read_tensor calls it */
  l.hyper = hyper;
  if ((st = new_params(r, &l, &p)) != NN_OK) return st;
  for (t = 0; t < d->n_tensors; t++)
    if ((st = read_tensor(r, node, &l, t, p)) != NN_OK) return st;
  return push_layer(r, NN_BATCHNORM2D, hyper);
}

/* Conv's weight [c_out, c_in, k...] and bias [c_out] into p. */
static int conv_tensors(nn_onnx_reader *r, nn_pb_span node, const nn_onnx_tensor *W,
                        float *p) {
  nn_onnx_tensor *B;
  nn_pb_span name;
  int st;
  if ((st = nn_onnx_tensor_floats(r, W, p)) != NN_OK) return st;
  if (nn_onnx_node_strings(node, 1, 2, &name) < 3 || name.n == 0) return NN_OK;
  if ((st = node_const(r, node, 2, "bias", &B)) != NN_OK) return st;
  if (B->rank != 1 || B->dims[0] != W->dims[0])
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "bias is not of %lld values", W->dims[0]);
  return nn_onnx_tensor_floats(r, B, p + W->count);
}

static int op_conv(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "kernel_shape", "strides", "pads", "dilations",
                                       "group", NULL };
  nn_onnx_attr a[5];
  nn_pb_span raw[5];
  nn_onnx_tensor *W;
  size_t sz[3], nd;
  long long group;
  window w;
  float hy[12], *p;
  int st;
  if ((st = image_dims(r, sz)) != NN_OK ||
      (st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[4], 1, &group)) != NN_OK ||
      (st = node_const(r, node, 1, "weight", &W)) != NN_OK)
    return st;
  nd = (size_t)r->rank - 2;
  if (group != 1) return nn_onnx_fail(r, NN_EUNSUPPORTED, "group %lld is not supported (only 1)", group);
  if (W->rank != (int)nd + 2 || W->dims[1] != (long long)sz[0] || W->dims[0] < 1 ||
      W->dims[0] > (long long)NN_MAX_WIDTH)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "weight is not of the shape [out, %zu, kernel] "
                        "its input of %zu channels needs", sz[0], sz[0]);
  if ((st = read_window(r, a, raw, nd, W->dims + 2, &w)) != NN_OK) return st;
  if (w.k[0] != W->dims[2] || (nd == 2 && w.k[1] != W->dims[3]))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "kernel_shape is not the weight's");
  if (nd == 2) {
    float v[12];
    v[0] = (float)W->dims[0]; v[1] = (float)sz[0]; v[2] = (float)w.k[0]; v[3] = (float)w.k[1];
    v[4] = (float)w.s[0]; v[5] = (float)w.s[1]; v[6] = (float)w.p[0]; v[7] = (float)w.p[1];
    v[8] = (float)w.d[0]; v[9] = (float)w.d[1]; v[10] = (float)sz[1]; v[11] = (float)sz[2];
    memcpy(hy, v, sizeof v);
  } else {
    hy[0] = (float)W->dims[0]; hy[1] = (float)sz[0]; hy[2] = (float)w.k[0];
    hy[3] = (float)w.s[0]; hy[4] = (float)w.p[0]; hy[5] = (float)w.d[0]; hy[6] = (float)sz[1];
  }
  if ((st = window_out(r, &w, nd)) != NN_OK ||
      (st = push_with_params(r, nd == 2 ? NN_CONV2D : NN_CONV1D, hy, &p)) != NN_OK)
    return st;
  r->dims[1] = W->dims[0];
  return conv_tensors(r, node, W, p);
}

/* MaxPool (avg 0) or AveragePool (avg 1). */
static int op_pool(nn_onnx_reader *r, nn_pb_span node, int avg) {
  static const char *const names[] = { "kernel_shape", "strides", "pads", "dilations",
                                       "ceil_mode", "storage_order", "count_include_pad", NULL };
  nn_onnx_attr a[7];
  nn_pb_span raw[7];
  size_t sz[3], nd;
  long long ceil_mode, order, include;
  window w;
  float hy[5];
  int st;
  if ((st = image_dims(r, sz)) != NN_OK ||
      (st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[4], 0, &ceil_mode)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[5], 0, &order)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[6], 0, &include)) != NN_OK)
    return st;
  nd = (size_t)r->rank - 2;
  if ((st = read_window(r, a, raw, nd, NULL, &w)) != NN_OK) return st;
  if (r->padded) {               /* the Pad before it: its padding, counted */
    if (w.p[0] || (nd == 2 && w.p[1]))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "pads after a Pad are not supported");
    w.p[0] = r->pad[0];
    w.p[1] = r->pad[1];
    include = 1;
    r->padded = 0;
  }
  if (ceil_mode != 0) return nn_onnx_fail(r, NN_EUNSUPPORTED, "ceil_mode %lld is not supported (only 0)", ceil_mode);
  if (w.d[0] != 1 || (nd == 2 && w.d[1] != 1))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a dilated pool is not supported");
  if (nd == 2 && (w.k[0] != w.k[1] || w.s[0] != w.s[1] || w.p[0] != w.p[1]))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a window of %lldx%lld, strides %lldx%lld, pads "
                        "%lldx%lld: nn's pools are square", w.k[0], w.k[1], w.s[0], w.s[1],
                        w.p[0], w.p[1]);
  if (avg && nd == 1) return nn_onnx_fail(r, NN_EUNSUPPORTED, "an AveragePool over [N, C, L] is not supported");
  if (avg && w.p[0] > 0 && include != 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "count_include_pad 0 is not supported (nn counts "
                        "the padding, as PyTorch does by default)");
  if (2 * w.p[0] > w.k[0])
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "pads %lld are more than half its window %lld",
                        w.p[0], w.k[0]);
  hy[0] = (float)w.k[0]; hy[1] = (float)w.s[0]; hy[2] = (float)w.p[0];
  hy[3] = (float)sz[1]; hy[4] = (float)sz[2];
  if ((st = window_out(r, &w, nd)) != NN_OK) return st;
  return push_layer(r, avg ? NN_AVGPOOL2D : nd == 2 ? NN_MAXPOOL2D : NN_MAXPOOL1D, hy);
}

/* Whether the raw STRING attribute holds text (absent: dflt). */
static int attr_string_is(nn_pb_span raw, const char *text, int dflt) {
  nn_pb_field f;
  int found = 0;
  while (nn_pb_next(&raw, &f) > 0)
    if (f.number == 4 && f.wire == 2) {
      found = 1;
      if (!nn_onnx_is(f.s, text)) return 0;
    }
  return found ? 1 : dflt;
}

/* Pad, as PyTorch writes it before an AveragePool that counts its padding:
** zeros, the same on both ends of each spatial axis, none on N and C;
** kept for the AveragePool after it (all zero: nothing). */
static int op_pad(nn_onnx_reader *r, nn_pb_span node) {
  static const char *const names[] = { "mode", "pads", "value", NULL };
  nn_onnx_attr a[3];
  nn_pb_span raw[3], name;
  long long pads[8];
  size_t n = 0, i, nd;
  float value = 0.0f;
  int st;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_float(r, &a[2], 0.0f, &value)) != NN_OK)
    return st;
  if (!attr_string_is(raw[0], "constant", 1))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Pad that is not of mode 'constant' is not supported");
  if (a[1].name.n > 0) {
    if ((st = nn_onnx_attr_ints(r, raw[1], pads, 8, &n)) != NN_OK) return st;
  } else {
    nn_onnx_tensor *t;
    if ((st = node_const(r, node, 1, "input pads", &t)) != NN_OK ||
        (st = nn_onnx_tensor_ints(r, t, pads, 8)) != NN_OK)
      return st;
    n = t->count;
    if (nn_onnx_node_strings(node, 1, 2, &name) >= 3 && name.n > 0) {
      if ((st = node_const(r, node, 2, "input constant_value", &t)) != NN_OK) return st;
      if (t->count != 1 || (st = nn_onnx_tensor_floats(r, t, &value)) != NN_OK)
        return st != NN_OK ? st : nn_onnx_fail(r, NN_EUNSUPPORTED, "constant_value is not one number");
    }
  }
  if ((r->rank != 3 && r->rank != 4) || n != 2 * (size_t)r->rank)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Pad of data of rank %d is not supported", r->rank);
  nd = (size_t)r->rank - 2;
  if (value != 0.0f)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Pad by %g is not supported (only zeros)", (double)value);
  if (pads[0] || pads[1] || pads[r->rank] || pads[r->rank + 1])
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Pad of N or C is not supported");
  for (i = 0; i < nd; i++) {
    if (pads[2 + i] != pads[r->rank + 2 + i] || pads[2 + i] < 0)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Pad of %lld and %lld at the two ends of "
                          "axis %zu is not supported", pads[2 + i], pads[r->rank + 2 + i], i + 2);
    r->pad[i] = pads[2 + i];
    if (pads[2 + i] > 0) r->padded = 1;
  }
  return NN_OK;
}

/* GlobalAveragePool: [N, C, 1, 1] (or [N, C, 1]) of each channel's mean. */
static int op_global_avg(nn_onnx_reader *r, nn_pb_span node) {
  size_t sz[3];
  float hy[2];
  int st;
  if ((st = image_dims(r, sz)) != NN_OK || (st = no_attrs(r, node, 0)) != NN_OK) return st;
  hy[0] = (float)sz[1];
  hy[1] = (float)(sz[2] ? sz[2] : 1);
  r->dims[2] = 1;
  if (r->rank == 4) r->dims[3] = 1;
  return push_layer(r, NN_GLOBALAVGPOOL, hy);
}

/* --- graphs -----------------------------------------------------------------
** The data a node reads may be any value a node before computed, not only
** the last: a branch.  Every value is kept (read_graph records each), so a
** node that reads an earlier one switches the data to it, and its layer
** reads that value (data_from); an Add of two computed values (neither a
** constant: not a bias) and a Concat of computed values on the features'
** axis are the joins of nn's graphs. */

static nn_onnx_value *find_value(nn_onnx_reader *r, nn_pb_span name) {
  size_t i = r->n_vals;
  while (i-- > 0)
    if (nn_onnx_same(r->vals[i].name, name)) return &r->vals[i];
  return NULL;
}

/* The data become the value v: its shape, and no Linear's open output. */
static void switch_to(nn_onnx_reader *r, const nn_onnx_value *v) {
  r->cur = v->name;
  r->cur_value = v->value;
  r->rank = v->rank;
  memcpy(r->dims, v->dims, sizeof r->dims);
  r->open_linear = 0;
}

/* The data as a value, once each name (read_graph calls it after each node). */
static void record_value(nn_onnx_reader *r) {
  nn_onnx_value *v;
  if (r->n_vals > 0 && nn_onnx_same(r->vals[r->n_vals - 1].name, r->cur)) return;
  v = &r->vals[r->n_vals++];
  v->name = r->cur;
  v->value = r->cur_value;
  v->rank = r->rank;
  memcpy(v->dims, r->dims, sizeof v->dims);
}

/* Whether every input of the node is a computed value: a join. */
static int joins_values(nn_onnx_reader *r, nn_pb_span node) {
  nn_pb_span in;
  size_t k, n = nn_onnx_node_strings(node, 1, 0, &in);
  if (n < 2) return 0;
  for (k = 0; k < n; k++) {
    nn_onnx_node_strings(node, 1, k, &in);
    if (find_value(r, in) == NULL) return 0;
  }
  return 1;
}

/* A join layer of kind reading a then b; the data become its output. */
static int push_join(nn_onnx_reader *r, nn_kind kind, size_t a, size_t b) {
  nn_layer l = NN_ACT(kind);
  l.from[0] = (uint32_t)a + 1;
  l.from[1] = (uint32_t)b + 1;
  r->layers[r->n_layers++] = l;
  r->cur_value = r->n_layers;
  r->open_linear = 0;
  return NN_OK;
}

/* The width of a value's rows (-1: not known). */
static long long value_width(const nn_onnx_value *v) {
  return v->rank > 0 ? v->dims[v->rank - 1] : -1;
}

/* Add(a, b) of two computed values of one shape: x + y. */
static int op_join_add(nn_onnx_reader *r, nn_pb_span node, nn_pb_span out0) {
  nn_pb_span in0, in1;
  nn_onnx_value *a, *b;
  int st;
  char b1[48], b2[48];
  if ((st = no_attrs(r, node, 0)) != NN_OK) return st;
  if (nn_onnx_node_strings(node, 1, 0, &in0) != 2)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "an Add takes two inputs");
  nn_onnx_node_strings(node, 1, 1, &in1);
  a = find_value(r, in0);
  b = find_value(r, in1);
  if (a->rank != b->rank || value_width(a) < 0 || value_width(a) != value_width(b))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "an Add of '%s' (%lld wide) and '%s' (%lld "
                        "wide): nn adds values of one width", nn_onnx_show(in0, b1),
                        value_width(a), nn_onnx_show(in1, b2), value_width(b));
  switch_to(r, a);
  if ((st = push_join(r, NN_ADD, a->value, b->value)) != NN_OK) return st;
  r->cur = out0;
  return NN_OK;
}

/* Concat of computed values on the last axis: a row of Concat joins. */
static int op_join_concat(nn_onnx_reader *r, nn_pb_span node, nn_pb_span out0) {
  static const char *const names[] = { "axis", NULL };
  nn_onnx_attr at[1];
  nn_pb_span raw[1], in;
  nn_onnx_value *v;
  long long axis, width = 0;
  size_t k, n = nn_onnx_node_strings(node, 1, 0, &in), at_value = 0;
  int st, rank = -1;
  if ((st = nn_onnx_node_attrs(r, node, names, at, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &at[0], 0, &axis)) != NN_OK)
    return st;
  for (k = 0; k < n; k++) {
    nn_onnx_node_strings(node, 1, k, &in);
    v = find_value(r, in);
    if (rank < 0) rank = v->rank;
    if (v->rank != rank || value_width(v) < 0 || (axis != -1 && axis != rank - 1))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Concat on axis %lld of rank-%d values: "
                          "nn joins the features of rows (the last axis)", axis, v->rank);
    width += value_width(v);
    if (k == 0) { switch_to(r, v); at_value = v->value; continue; }
    if ((st = push_join(r, NN_CONCAT, at_value, v->value)) != NN_OK) return st;
    at_value = r->cur_value;
  }
  r->dims[r->rank - 1] = width;
  r->cur = out0;
  return NN_OK;
}

/* One node: checks that it takes the data, then what its operator does. */
static int read_op(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, nn_pb_span out0) {
  nn_pb_span in0;
  nn_kind kind;
  char b1[48];
  int st;
  nn_onnx_node_strings(node, 1, 0, &in0);
  if ((nn_onnx_is(op, "Add") || nn_onnx_is(op, "Concat")) && joins_values(r, node))
    return nn_onnx_is(op, "Add") ? op_join_add(r, node, out0) : op_join_concat(r, node, out0);
  if (!nn_onnx_same(in0, r->cur) && find_value(r, in0) != NULL &&
      !nn_onnx_is(op, "Add") && !nn_onnx_is(op, "MatMul"))
    switch_to(r, find_value(r, in0));   /* a branch from an earlier value */
  if (!nn_onnx_same(in0, r->cur)) {
    nn_pb_span in1;
    if (!(nn_onnx_is(op, "Add") || nn_onnx_is(op, "MatMul") || nn_onnx_is(op, "Gather")) ||
        nn_onnx_node_strings(node, 1, 1, &in1) < 2 || !nn_onnx_same(in1, r->cur))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "takes '%s', which is not a value a node "
                  "before it computed", nn_onnx_show(in0, b1));
  }
  if ((nn_onnx_is(op, "MatMul") || nn_onnx_is(op, "Add")) &&
      (st = no_attrs(r, node, nn_onnx_is(op, "Add"))) != NN_OK)
    return st;
  if (r->ids_in && r->n_layers == 0 && !nn_onnx_is(op, "Gather"))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s takes the input, whose int64 ids only "
                        "a Gather of a table (an Embedding) reads", nn_onnx_show(op, b1));
  if (r->padded && !nn_onnx_is(op, "AveragePool"))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "follows a Pad, and nn reads a Pad only before "
                        "an AveragePool");
  if (nn_onnx_is(op, "Gemm")) st = op_gemm(r, node);
  else if (nn_onnx_is(op, "Gather")) st = op_gather(r, node);
  else if (nn_onnx_is(op, "MatMul")) st = op_matmul(r, node);
  else if (nn_onnx_is(op, "Add")) st = op_add(r, node);
  else if (nn_onnx_is(op, "Softmax")) st = op_softmax(r, node);
  else if ((kind = simple_kind(op)) != NN_KIND_COUNT) st = op_kind(r, node, kind);
  else if (nn_onnx_is(op, "BatchNormalization") && (r->rank == 3 || r->rank == 4))
    st = op_batchnorm_images(r, node);
  else if ((kind = tensor_kind(op)) != NN_KIND_COUNT) st = op_tensor_kind(r, node, kind);
  else if (nn_onnx_is(op, "Conv")) st = op_conv(r, node);
  else if (nn_onnx_is(op, "MaxPool")) st = op_pool(r, node, 0);
  else if (nn_onnx_is(op, "AveragePool")) st = op_pool(r, node, 1);
  else if (nn_onnx_is(op, "GlobalAveragePool")) st = op_global_avg(r, node);
  else if (nn_onnx_is(op, "Pad")) st = op_pad(r, node);
  else if (nn_onnx_is(op, "Dropout")) st = op_dropout(r, node);
  else if (nn_onnx_is(op, "Flatten")) st = op_flatten(r, node);
  else if (nn_onnx_is(op, "Reshape")) st = op_reshape(r, node);
  else return nn_onnx_fail(r, NN_EUNSUPPORTED, "operator %s is not supported", nn_onnx_show(op, b1));
  if (st == NN_OK) r->cur = out0;
  return st;
}


/* --- a bag ------------------------------------------------------------------
** The nodes nn writes for an EmbeddingBag (nn_onnx_write.c), read back as
** one layer: of the graph's int64 ids [batch, k], first,
**
**   0 m = Greater(x, -1)      1 s = Where(m, x, 0)    2 g = Gather(W, s)
**   3 f = Cast(m, float)      4 u = Unsqueeze(f, 2)   5 p = Mul(g, u)
**   6 y = ReduceSum(p, 1, keepdims 0)                                (sum)
**   7 c = ReduceSum(f, 1, keepdims 1)  8 d = Max(c, 1)  9 y = Div(y, d)  (mean)
**
** the axes as inputs from opset 13, as attributes before, each also by
** its negative number; Constant nodes may come between them.  A node
** that breaks the form before node 6 is refused (nothing else reads ids
** so); one after node 6 that is not node 7 ends a sum. */

#define BAG_IDS  (-1)   /* bag_input: the graph's ids */

/* Whether input k of node is the output of node j of the bag, or the ids. */
static int bag_input(nn_onnx_reader *r, nn_pb_span node, size_t k, int j) {
  nn_pb_span in;
  nn_onnx_node_strings(node, 1, k, &in);
  return j == BAG_IDS ? nn_onnx_same(in, r->bag_x) : nn_onnx_same(in, r->bag_out[j]);
}

/* Whether input k of node is a constant of one number, v (int64 or float). */
static int bag_const(nn_onnx_reader *r, nn_pb_span node, size_t k, int integer, double v) {
  nn_onnx_tensor *t;
  nn_pb_span in;
  long long i;
  float f;
  nn_onnx_node_strings(node, 1, k, &in);
  if ((t = nn_onnx_find_const(r, in)) == NULL || t->count != 1) return 0;
  if (integer)
    return t->type == NN_ONNX_INT64 && nn_onnx_tensor_ints(r, t, &i, 1) == NN_OK && i == v;
  return t->type == NN_ONNX_FLOAT && nn_onnx_tensor_floats(r, t, &f) == NN_OK && f == v;
}

/* Whether the node's attributes (of names allowed) reduce or unsqueeze on
** axis, of a value of rank (axis - rank too), as input 1 when by_input (an
** Unsqueeze's or ReduceSum's from opset 13) or the attribute "axes";
** keepdims as keep (-1: no such attribute); noop_with_empty_axes 0. */
static int bag_axes(nn_onnx_reader *r, nn_pb_span node, long long axis, int rank, int keep,
                    int by_input) {
  static const char *const names[] = { "axes", "keepdims", "noop_with_empty_axes", NULL };
  nn_onnx_attr a[3];
  nn_pb_span raw[3];
  nn_pb_span in;
  long long axes[2], kd, noop;
  size_t n = 0, n_in = nn_onnx_node_strings(node, 1, 0, &in);
  if (nn_onnx_node_attrs(r, node, names, a, raw) != NN_OK) return 0;
  if (keep < 0 ? a[1].name.n != 0
               : nn_onnx_attr_int(r, &a[1], 1, &kd) != NN_OK || kd != keep)
    return 0;
  if (nn_onnx_attr_int(r, &a[2], 0, &noop) != NN_OK || noop != 0) return 0;
  if (by_input)
    return a[0].name.n == 0 && n_in == 2 &&
           (bag_const(r, node, 1, 1, (double)axis) ||
            bag_const(r, node, 1, 1, (double)(axis - rank)));
  if (a[0].name.n == 0 || nn_onnx_attr_ints(r, raw[0], axes, 2, &n) != NN_OK || n != 1)
    return 0;
  return n_in == 1 && (axes[0] == axis || axes[0] == axis - rank);
}

/* Whether the node has no attribute (name NULL), or only the integer one
** named, of the value want (absent: want, its default). */
static int bag_attr(nn_onnx_reader *r, nn_pb_span node, const char *name, long long want) {
  const char *names[2];
  nn_onnx_attr a[1];
  nn_pb_span raw[1];
  long long v;
  names[0] = name;
  names[1] = NULL;
  if (nn_onnx_node_attrs(r, node, name ? names : names + 1, a, raw) != NN_OK) return 0;
  return name == NULL || (nn_onnx_attr_int(r, &a[0], want, &v) == NN_OK && v == want);
}

/* Whether node, of op, is node j of the bag's form. */
static int bag_node(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, size_t j) {
  static const char *const ops[] = { "Greater", "Where", "Gather", "Cast", "Unsqueeze",
                                     "Mul", "ReduceSum", "ReduceSum", "Max", "Div" };
  static const size_t n_in[] = { 2, 3, 2, 1, 0, 2, 0, 0, 2, 2 };
  nn_pb_span in;
  size_t n = nn_onnx_node_strings(node, 1, 0, &in);
  if (!nn_onnx_is(op, ops[j]) || (n_in[j] && n != n_in[j])) return 0;
  switch (j) {
  case 0: return bag_input(r, node, 0, BAG_IDS) && bag_const(r, node, 1, 1, -1) &&
                 bag_attr(r, node, NULL, 0);
  case 1: return bag_input(r, node, 0, 0) && bag_input(r, node, 1, BAG_IDS) &&
                 bag_const(r, node, 2, 1, 0) && bag_attr(r, node, NULL, 0);
  case 2: nn_onnx_node_strings(node, 1, 0, &r->bag_table);
          return bag_input(r, node, 1, 1) && bag_attr(r, node, "axis", 0);
  case 3: return bag_input(r, node, 0, 0) && bag_attr(r, node, "to", NN_ONNX_FLOAT);
  case 4: return bag_input(r, node, 0, 3) && bag_axes(r, node, 2, 3, -1, r->opset >= 13);
  case 5: return (bag_input(r, node, 0, 2) && bag_input(r, node, 1, 4)) ||
                 (bag_input(r, node, 0, 4) && bag_input(r, node, 1, 2));
  case 6: return bag_input(r, node, 0, 5) && bag_axes(r, node, 1, 3, 0, r->opset >= 13);
  case 7: return bag_input(r, node, 0, 3) && bag_axes(r, node, 1, 2, 1, r->opset >= 13);
  case 8: return (bag_input(r, node, 0, 7) && bag_const(r, node, 1, 0, 1)) ||
                 (bag_input(r, node, 1, 7) && bag_const(r, node, 0, 0, 1));
  default: return bag_input(r, node, 0, 6) && bag_input(r, node, 1, 8) &&
                  bag_attr(r, node, NULL, 0);
  }
}

/* The matched form as the net's first layer, an EmbeddingBag of mode
** (0 mean, 1 sum), its output out: n_ids and dim its table's shape, k the
** ids' row; the data after it are [batch, dim]. */
static int bag_layer(nn_onnx_reader *r, int mode, nn_pb_span out) {
  nn_onnx_tensor *t = nn_onnx_find_const(r, r->bag_table);
  float hyper[MAX_KIND_ATTRS], *p;
  int st;
  r->bag_at = 0;
  if (t == NULL || t->type != NN_ONNX_FLOAT || t->rank != 2 || t->dims[0] < 1 ||
      t->dims[1] < 1 || t->dims[0] > (long long)NN_MAX_WIDTH ||
      t->dims[1] > (long long)NN_MAX_WIDTH)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "an EmbeddingBag's table is not a float "
                        "constant of [n_ids, dim]");
  if (t->count > NN_MAX_PARAMS)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "more than %zu weights", NN_MAX_PARAMS);
  hyper[0] = (float)t->dims[0];
  hyper[1] = (float)t->dims[1];
  hyper[2] = (float)r->dims[1];
  hyper[3] = (float)mode;
  if ((p = (float *)calloc(t->count + 1, sizeof(float))) == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  r->lins[r->n_lins].layer = r->n_layers;
  r->lins[r->n_lins++].wb = p;
  if ((st = nn_onnx_tensor_floats(r, t, p)) != NN_OK) return st;
  r->dims[1] = t->dims[1];
  r->cur = out;
  return push_layer(r, NN_EMBEDDINGBAG, hyper);
}

/* --- PyTorch's bag -----------------------------------------------------------
** PyTorch 1.13 writes nn.EmbeddingBag of a 2-D input (no offsets, no
** per_sample_weights) as a Loop over the bags: the offsets of a row's ids
** in the ids made flat, R = Reshape(x, [-1]), from a Range; the Loop's
** body slices the i-th bag of R, Gathers its rows of the table and takes
** their mean (ReduceMean) or sum (ReduceSum) over axis 0.  The nodes
** around it compute only the offsets, from the input's shape:
**
**    0 Shape(x)        1 ReduceProd(0)      2 Shape(x)      3 Gather(2, 1)
**    4 Cast(1, int64)  5 Cast(3, int64)     6 Range(0, 4, 5)   (0, k, 2k ...)
**    7 R = Reshape(x, [-1])   8 Shape(7)    9 Gather(8, 0)     10 Unsqueeze(9, 0)
**   11 starts = Concat(6, 10)  12 ends = Slice(11, [1], [big], [0], [1])
**   13 Shape(12)      14 n = Gather(13, 0)  15 Loop(n, true)
**
** and the body, of i:
**
**   Gather(11, i)  Gather(12, i)  Unsqueeze(., 0) each  Slice(R, those, [0])
**   Gather(W, .)   ReduceMean(., axes [0], keepdims 0) | ReduceSum(., [0], keepdims 0)
**   Cast(true, bool)
**
** With k known (x [batch, k]) bag i is row i's k ids: one EmbeddingBag of
** that mode, read node by node as it comes (Constant nodes between, as
** ever); any other node refuses the file, naming it.  Ids of -1 are none
** in nn, where PyTorch refuses them. */

#define TB_LOOP  15

/* Whether input k of node is a constant of the one int64 value v (at
** least v when at_least: Slice's end of "all"). */
static int tb_int(nn_onnx_reader *r, nn_pb_span node, size_t k, long long v, int at_least) {
  nn_onnx_tensor *t;
  nn_pb_span in;
  long long i;
  nn_onnx_node_strings(node, 1, k, &in);
  if ((t = nn_onnx_find_const(r, in)) == NULL || t->count != 1 || t->type != NN_ONNX_INT64 ||
      nn_onnx_tensor_ints(r, t, &i, 1) != NN_OK)
    return 0;
  return at_least ? i >= v : i == v;
}

/* Whether node has n inputs, and input k is node j's output (BAG_IDS: x). */
static int tb_in(nn_onnx_reader *r, nn_pb_span node, size_t n, size_t k, int j) {
  nn_pb_span in;
  return nn_onnx_node_strings(node, 1, 0, &in) == n && bag_input(r, node, k, j);
}

/* Whether node, of op, is node j of the nodes around PyTorch's Loop. */
static int tb_node(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, size_t j) {
  static const char *const ops[] = { "Shape", "ReduceProd", "Shape", "Gather", "Cast", "Cast",
    "Range", "Reshape", "Shape", "Gather", "Unsqueeze", "Concat", "Slice", "Shape", "Gather",
    "Loop" };
  if (!nn_onnx_is(op, ops[j])) return 0;
  switch (j) {
  case 0: case 2: return tb_in(r, node, 1, 0, BAG_IDS) && bag_attr(r, node, NULL, 0);
  case 1: return tb_in(r, node, 1, 0, 0) && bag_attr(r, node, "keepdims", 0);
  case 3: return tb_in(r, node, 2, 0, 2) && tb_int(r, node, 1, 1, 0) &&
                 bag_attr(r, node, "axis", 0);
  case 4: case 5: return tb_in(r, node, 1, 0, j == 4 ? 1 : 3) &&
                         bag_attr(r, node, "to", NN_ONNX_INT64);
  case 6: return tb_in(r, node, 3, 1, 4) && tb_int(r, node, 0, 0, 0) &&
                 bag_input(r, node, 2, 5) && bag_attr(r, node, NULL, 0);
  case 7: return tb_in(r, node, 2, 0, BAG_IDS) && tb_int(r, node, 1, -1, 0) &&
                 bag_attr(r, node, NULL, 0);
  case 8: case 13: return tb_in(r, node, 1, 0, (int)j - 1) && bag_attr(r, node, NULL, 0);
  case 9: case 14: return tb_in(r, node, 2, 0, (int)j - 1) && tb_int(r, node, 1, 0, 0) &&
                          bag_attr(r, node, "axis", 0);
  case 10: return bag_input(r, node, 0, 9) && bag_axes(r, node, 0, 1, -1, r->opset >= 13);
  case 11: return tb_in(r, node, 2, 0, 6) && bag_input(r, node, 1, 10) &&
                  bag_attr(r, node, "axis", 0);
  case 12: return tb_in(r, node, 5, 0, 11) && tb_int(r, node, 1, 1, 0) &&
                  tb_int(r, node, 2, 1LL << 62, 1) && tb_int(r, node, 3, 0, 0) &&
                  tb_int(r, node, 4, 1, 0) && bag_attr(r, node, NULL, 0);
  default: return tb_in(r, node, 2, 0, 14);
  }
}

/* Whether the constant named in is one bool, true (the Loop's condition). */
static int tb_true(nn_onnx_reader *r, nn_pb_span in) {
  nn_onnx_tensor *t = nn_onnx_find_const(r, in);
  nn_pb_span m;
  nn_pb_field f;
  if (t == NULL || t->type != NN_ONNX_BOOL || t->count != 1) return 0;
  m = t->msg;
  while (nn_pb_next(&m, &f) > 0) {
    if (f.number == 9 && f.wire == 2) return f.s.n == 1 && f.s.p[0] == 1;   /* raw_data */
    if (f.number == 5 && f.wire == 0) return f.u == 1;                       /* int32_data */
    if (f.number == 5 && f.wire == 2) return f.s.n == 1 && f.s.p[0] == 1;   /* packed */
  }
  return 0;
}

#define TB_BODY  16   /* the body's nodes' outputs from bag_out[16] on */
#define TB_I     26   /* the body's inputs: the iteration, the condition */
#define TB_COND  27

/* Whether body node b (of op) is node b of the body, as above; *mode the
** reduction's (0 mean, 1 sum). */
static int tb_body_node(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, size_t b, int *mode) {
  static const char *const ops[] = { "Gather", "Gather", "Unsqueeze", "Unsqueeze", "Slice",
                                     "Gather", "Reduce", "Cast" };
  nn_pb_span in;
  size_t n = nn_onnx_node_strings(node, 1, 0, &in);
  if (b == 6) {
    *mode = nn_onnx_is(op, "ReduceSum") ? 1 : 0;
    if (!nn_onnx_is(op, "ReduceMean") && !*mode) return 0;
  } else if (!nn_onnx_is(op, ops[b])) return 0;
  switch (b) {
  case 0: case 1: return n == 2 && bag_input(r, node, 0, 11 + (int)b) &&
                         bag_input(r, node, 1, TB_I) && bag_attr(r, node, "axis", 0);
  case 2: case 3: return bag_input(r, node, 0, TB_BODY + (int)b - 2) &&
                         bag_axes(r, node, 0, 1, -1, r->opset >= 13);
  case 4: return n == 4 && bag_input(r, node, 0, 7) && bag_input(r, node, 1, TB_BODY + 2) &&
                 bag_input(r, node, 2, TB_BODY + 3) && tb_int(r, node, 3, 0, 0) &&
                 bag_attr(r, node, NULL, 0);
  case 5: nn_onnx_node_strings(node, 1, 0, &r->bag_table);
          return n == 2 && bag_input(r, node, 1, TB_BODY + 4) && bag_attr(r, node, "axis", 0);
  case 6: return bag_input(r, node, 0, TB_BODY + 5) &&
                 bag_axes(r, node, 0, 2, 0, r->opset >= (*mode ? 13 : 18));
  default: return n == 1 && tb_true(r, in) && bag_attr(r, node, "to", NN_ONNX_BOOL);
  }
}

/* The name of a ValueInfoProto. */
static nn_pb_span value_name(nn_pb_span vi) {
  nn_pb_span name = { NULL, 0 };
  nn_pb_field f;
  while (nn_pb_next(&vi, &f) > 0) if (f.number == 1 && f.wire == 2) name = f.s;
  return name;
}

/* The next node of the Loop's body, b so far: a Constant taken as a
** constant (of a new name), else whether it is node b (1: it is). */
static int tb_body_next(nn_onnx_reader *r, nn_pb_span node, size_t *b, int *mode) {
  nn_pb_span op, domain, out0;
  int st;
  if ((st = describe_node(r, node, &op, &domain)) != NN_OK) return -1;
  if (domain.n || nn_onnx_node_strings(node, 2, 0, &out0) != 1 || out0.n == 0) return 0;
  if (nn_onnx_is(op, "Constant"))
    return nn_onnx_names_find(&r->names, out0) == NULL && op_constant(r, node, out0) == NN_OK;
  if (*b == 8 || !tb_body_node(r, node, op, *b, mode)) return 0;
  r->bag_out[TB_BODY + (*b)++] = out0;
  return 1;
}

/* The body of the Loop (node, PyTorch's bag) node by node, as above; *mode
** its reduction's.  Refuses, naming the body's node, any other. */
static int tb_body(nn_onnx_reader *r, nn_pb_span node, int *mode) {
  static const char *const names[] = { "body", NULL };
  nn_onnx_attr a[1];
  nn_pb_span raw[1], g = { NULL, 0 }, m, outs[2] = { { NULL, 0 }, { NULL, 0 } };
  nn_pb_field f;
  size_t b = 0, n_in = 0, n_out = 0, at = 0;
  char desc[sizeof r->node_desc];
  int st, ok = 1;
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK) return st;
  m = raw[0];
  while (nn_pb_next(&m, &f) > 0) if (f.number == 6 && f.wire == 2) g = f.s;
  memcpy(desc, r->node_desc, sizeof desc);
  m = g;                          /* its inputs and outputs (after its nodes) */
  while (nn_pb_next(&m, &f) > 0) {
    if (f.wire != 2) continue;
    if (f.number == 11 && n_in < 2) r->bag_out[TB_I + n_in] = value_name(f.s);
    if (f.number == 12 && n_out < 2) outs[n_out] = value_name(f.s);
    n_in += f.number == 11;
    n_out += f.number == 12;
    if (f.number == 5) ok = 0;    /* an initializer of its own */
  }
  m = g;
  while (ok == 1 && n_in == 2 && nn_pb_next(&m, &f) > 0)
    if (f.wire == 2 && f.number == 1) {
      at++;
      ok = tb_body_next(r, f.s, &b, mode);
    }
  if (ok < 0) return NN_EFORMAT;
  memcpy(r->node_desc, desc, sizeof desc);
  if (!ok || b != 8 || n_in != 2 || n_out != 2 || !nn_onnx_same(outs[0], r->bag_out[TB_BODY + 7]) ||
      !nn_onnx_same(outs[1], r->bag_out[TB_BODY + 6]))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "its body (at its node %zu) is not PyTorch's "
                        "EmbeddingBag of mode mean or sum", at);
  return NN_OK;
}

/* The next node of PyTorch's bag (bag_at: the nodes matched so far). */
static int tb_next(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, nn_pb_span out0) {
  size_t j = r->bag_at;
  nn_pb_span in;
  int mode = 0, st;
  if (!tb_node(r, node, op, j))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "is not node %zu of the nodes of PyTorch's "
                        "EmbeddingBag (Shape, ReduceProd, ..., Loop)", j + 1);
  if (j < TB_LOOP) {
    r->bag_out[r->bag_at++] = out0;
    return NN_OK;
  }
  nn_onnx_node_strings(node, 1, 1, &in);
  if (!tb_true(r, in) || nn_onnx_node_strings(node, 2, 0, &in) != 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "is not PyTorch's Loop of an EmbeddingBag: "
                        "its condition is not true, or it has more than one output");
  if ((st = tb_body(r, node, &mode)) != NN_OK) return st;
  return bag_layer(r, mode, out0);
}

static int read_node_op(nn_onnx_reader *r, nn_pb_span node, int patterns);

/* The next node of a bag's form (bag_at: the nodes matched so far). */
static int bag_next(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, nn_pb_span out0) {
  size_t j = r->bag_at;
  int st;
  if (j == 0) {
    r->bag_x = r->cur;
    r->bag_torch = nn_onnx_is(op, "Shape");
    if (r->rank != 2 || r->dims[1] < 1 || r->dims[1] > (long long)NN_MAX_WIDTH)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "an EmbeddingBag reads ids of [batch, k], "
                          "k known before run time");
  }
  if (r->bag_torch) return tb_next(r, node, op, out0);
  if (!bag_node(r, node, op, j)) {
    if (j != 7)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "is not node %zu of an EmbeddingBag (Greater, "
                          "Where, Gather, Cast, Unsqueeze, Mul, ReduceSum; mean: ReduceSum, "
                          "Max, Div)", j + 1);
    if ((st = bag_layer(r, 1, r->bag_out[6])) != NN_OK) return st;   /* a sum's form ends */
    record_value(r);
    return read_node_op(r, node, 1);
  }
  r->bag_out[r->bag_at++] = out0;
  return r->bag_at == 10 ? bag_layer(r, 0, out0) : NN_OK;
}


/* --- patterns ----------------------------------------------------------------
** A kind that ONNX has no operator for (GELU, SiLU in the opsets PyTorch
** 1.13 writes) is its pattern of nodes, as the kind table gives it: the
** nodes are matched one by one as they come (Constant nodes between them
** are read as ever); when the last one matches, the layer is the kind's.
** When a node does not match, the nodes matched so far are read again
** one by one, as nodes of their own (a Sigmoid not followed by its Mul is
** a Sigmoid). */

/* The constant named in when it can be a tensor of a layer as wide as
** the data's row (a kind of one size, whose tensors are [n]): float, n
** values, every dimension but the last 1; NULL when not. */
static nn_onnx_tensor *pattern_tensor(nn_onnx_reader *r, nn_pb_span in) {
  nn_onnx_tensor *t = nn_onnx_find_const(r, in);
  long long w = r->rank > 0 ? r->dims[r->rank - 1] : -1;
  int i;
  if (t == NULL || t->type != NN_ONNX_FLOAT || t->rank < 1 || w <= 0 ||
      w > (long long)NN_MAX_WIDTH || t->dims[t->rank - 1] != w)
    return NULL;
  for (i = 0; i + 1 < t->rank; i++) if (t->dims[i] != 1) return NULL;
  return t;
}

/* Whether the name in is what pattern input src means: the data the
** pattern started from, an earlier node's output, or a constant of one
** float within 1e-6 of k. */
static int pattern_input(nn_onnx_reader *r, nn_pb_span in, int src, float k) {
  const nn_onnx_tensor *t;
  float v;
  if (src == NN_ONNX_X) return nn_onnx_same(in, r->pat_x);
  if (src >= 0) return (size_t)src < r->pat_at && nn_onnx_same(in, r->pat_out[src]);
  if (src <= NN_ONNX_T(0)) return pattern_tensor(r, in) != NULL;
  if ((t = nn_onnx_find_const(r, in)) == NULL || t->type != NN_ONNX_FLOAT || t->count != 1 ||
      nn_onnx_tensor_floats(r, t, &v) != NN_OK)
    return 0;
  return fabs((double)v - (double)k) <= 1e-6 * (fabs((double)k) > 1 ? fabs((double)k) : 1);
}

/* Whether node, of op, is node j of kind d's pattern: its op, and its
** inputs in order (either order for Add and Mul). */
static int pattern_node(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op,
                        const nn_kind_info *d, size_t j) {
  const nn_onnx_node *nd = &d->onnx.nodes[j];
  nn_pb_span in[2];
  size_t want = nd->in[1] == NN_ONNX_NONE ? 1 : 2;
  int swap = nn_onnx_is(op, "Add") || nn_onnx_is(op, "Mul");
  if (!nn_onnx_is(op, nd->op)) return 0;
  if ((size_t)nn_onnx_node_strings(node, 1, 0, &in[0]) != want) return 0;
  if (want == 1) return pattern_input(r, in[0], nd->in[0], nd->k);
  nn_onnx_node_strings(node, 1, 1, &in[1]);
  if (pattern_input(r, in[0], nd->in[0], nd->k) && pattern_input(r, in[1], nd->in[1], nd->k))
    return 1;
  return swap && pattern_input(r, in[1], nd->in[0], nd->k) &&
         pattern_input(r, in[0], nd->in[1], nd->k);
}

/* The pattern's first node: starts matching the first kind whose pattern
** begins so; NN_KIND_COUNT when none does. */
static int pattern_start(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, nn_pb_span out0) {
  nn_kind k;
  r->pat_x = r->cur;
  r->pat_at = 0;
  for (k = 0; k < nn_kind_end(); k++) {
    const nn_kind_info *d = nn_kind_info_of(k);
    if (d == NULL || d->onnx.n_nodes < 2 || d->onnx.n_nodes > NN_ONNX_MAX_PATTERN ||
        !pattern_node(r, node, op, d, 0))
      continue;
    r->pat_kind = (int)k;
    r->pat_node[0] = node;
    r->pat_out[0] = out0;
    r->pat_no[0] = r->node_no;
    r->pat_at = 1;
    return (int)k;
  }
  return NN_KIND_COUNT;
}

static int read_node_as(nn_onnx_reader *r, nn_pb_span node, int patterns);

/* The attributes of a node of a pattern: none, but a ReduceMean's, which
** must reduce each sample's features alone (axes [-1], or the last axis by
** its number, and keepdims 1), as PyTorch writes it. */
static int pattern_attrs(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op) {
  static const char *const names[] = { "axes", "keepdims", NULL };
  nn_onnx_attr a[2];
  nn_pb_span raw[2];
  long long axes[NN_ONNX_MAX_RANK], keep;
  size_t n = 0;
  int st;
  if (!nn_onnx_is(op, "ReduceMean")) return no_attrs(r, node, 0);
  if ((st = nn_onnx_node_attrs(r, node, names, a, raw)) != NN_OK ||
      (st = nn_onnx_attr_int(r, &a[1], 1, &keep)) != NN_OK)
    return st;
  if (a[0].name.n && (st = nn_onnx_attr_ints(r, raw[0], axes, NN_ONNX_MAX_RANK, &n)) != NN_OK)
    return st;
  if (keep != 1 || n != 1 || !(axes[0] == -1 || axes[0] == (long long)r->rank - 1))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "a ReduceMean is supported over the last "
                        "axis only, keeping it");
  return NN_OK;
}

/* The nodes matched so far, read again as nodes of their own. */
static int pattern_undo(nn_onnx_reader *r) {
  size_t j, n = r->pat_at, no = r->node_no;
  int st = NN_OK;
  r->pat_kind = NN_KIND_COUNT;
  for (j = 0; j < n && st == NN_OK; j++) {
    r->node_no = r->pat_no[j];
    st = read_node_as(r, r->pat_node[j], j > 0);
  }
  r->node_no = no;
  return st;
}

/* The matched pattern of a kind with tensors (Standardize: Sub, Div): a
** layer as wide as the data's row, each tensor from the constant input
** the pattern names it at, its hyper-parameters the defaults (the
** pattern's numbers); kept with the Linear layers' blocks. */
static int pattern_layer(nn_onnx_reader *r, nn_kind kind) {
  const nn_kind_info *d = nn_kind_info_of(kind);
  nn_layer l = NN_ACT(kind);
  size_t j, dims[2], at;
  float *p;
  int k, st;
  l.n_in = l.n_out = (size_t)r->dims[r->rank - 1];
  if (d->n_sizes != 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "nn.%s has no ONNX form to read", d->name);
  if ((st = new_params(r, &l, &p)) != NN_OK) return st;
  for (j = 0; j < d->onnx.n_nodes; j++)
    for (k = 0; k < 2; k++) {
      int src = d->onnx.nodes[j].in[k];
      nn_pb_span in;
      if (src > NN_ONNX_T(0)) continue;
      nn_onnx_node_strings(r->pat_node[j], 1, (size_t)k, &in);
      if (pattern_tensor(r, in) == NULL)   /* an Add or a Mul the other way round */
        nn_onnx_node_strings(r->pat_node[j], 1, (size_t)(1 - k), &in);
      nn_tensor_shape(&l, (size_t)(NN_ONNX_T(0) - src), dims, &at);
      if ((st = nn_onnx_tensor_floats(r, pattern_tensor(r, in), p + at)) != NN_OK) return st;
    }
  if ((st = push_layer(r, kind, NULL)) != NN_OK) return st;
  r->layers[r->n_layers - 1].n_in = r->layers[r->n_layers - 1].n_out = l.n_in;
  r->row_fixed = 1;
  return NN_OK;
}

/* The next node while a pattern is being matched. */
static int pattern_next(nn_onnx_reader *r, nn_pb_span node, nn_pb_span op, nn_pb_span out0) {
  const nn_kind_info *d = nn_kind_info_of((nn_kind)r->pat_kind);
  nn_kind kind;
  int st;
  if (!pattern_node(r, node, op, d, r->pat_at)) {
    if ((st = pattern_undo(r)) != NN_OK) return st;
    return read_node_as(r, node, 1);
  }
  if ((st = pattern_attrs(r, node, op)) != NN_OK) return st;
  r->pat_node[r->pat_at] = node;
  r->pat_no[r->pat_at] = r->node_no;
  r->pat_out[r->pat_at++] = out0;
  if (r->pat_at < d->onnx.n_nodes) return NN_OK;
  kind = (nn_kind)r->pat_kind;
  r->pat_kind = NN_KIND_COUNT;
  r->cur = out0;
  if (d->n_tensors > 0) return pattern_layer(r, kind);
  return push_layer(r, kind, NULL);
}

/* One node: a constant, a node of a pattern, or an operator of the chain.
** patterns 0: not the start of a pattern (a node read again). */
static int read_node_op(nn_onnx_reader *r, nn_pb_span node, int patterns) {
  nn_pb_span op, domain, out0, in0;
  char b1[48];
  int st;
  if ((st = describe_node(r, node, &op, &domain)) != NN_OK) return st;
  if (domain.n && !nn_onnx_is(domain, "ai.onnx"))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "domain '%s' is not supported", nn_onnx_show(domain, b1));
  if (nn_onnx_node_strings(node, 2, 0, &out0) == 0 || out0.n == 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "has no output");
  if (nn_onnx_is(op, "Constant")) return op_constant(r, node, out0);
  if (nn_onnx_is(op, "Transpose")) {
    nn_onnx_node_strings(node, 1, 0, &in0);
    if (nn_onnx_same(in0, r->cur))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Transpose of the data is not supported");
    return op_transpose(r, node, out0);
  }
  if (nn_onnx_is(op, "Identity")) {
    nn_onnx_tensor *c;
    nn_onnx_node_strings(node, 1, 0, &in0);
    if (!nn_onnx_same(in0, r->cur) && (c = nn_onnx_find_const(r, in0)) != NULL)
      return op_identity_const(r, node, c, out0);
  }
  if (r->bag_at > 0 || (r->ids_in && r->n_layers == 0 &&
                        (nn_onnx_is(op, "Greater") || nn_onnx_is(op, "Shape"))))
    return bag_next(r, node, op, out0);
  if (r->pat_kind != NN_KIND_COUNT) return pattern_next(r, node, op, out0);
  if (patterns && pattern_start(r, node, op, out0) != NN_KIND_COUNT)
    return pattern_attrs(r, node, op);
  return read_op(r, node, op, out0);
}

/* The same, and the data it leaves recorded as a value a later node may
** read, unless a pattern is still being matched (its nodes' outputs are
** recorded when they are read again, should it break off). */
static int read_node_as(nn_onnx_reader *r, nn_pb_span node, int patterns) {
  int st = read_node_op(r, node, patterns);
  if (st == NN_OK && r->pat_kind == NN_KIND_COUNT) record_value(r);
  return st;
}

static int read_node(nn_onnx_reader *r, nn_pb_span node) {
  return read_node_as(r, node, 1);
}


/* --- the graph ---------------------------------------------------------- */

/* The type and shape of a ValueInfoProto: elem_type, dims (-1 when
** symbolic), rank (-1 when no shape is given). */
static int read_value_info(nn_onnx_reader *r, nn_pb_span msg, nn_pb_span *name, long *type,
                           long long *dims, int *rank) {
  nn_pb_field f, g, h, d;
  nn_pb_span m = msg, tp, tt, sh, dm;
  *type = 0;
  *rank = -1;
  name->p = NULL;
  name->n = 0;
  while (nn_pb_next(&m, &f) > 0) {
    if (f.number == 1 && f.wire == 2) *name = f.s;
    if (f.number != 2 || f.wire != 2) continue;
    tp = f.s;
    while (nn_pb_next(&tp, &g) > 0) {
      if (g.number != 1 || g.wire != 2) continue;
      tt = g.s;
      while (nn_pb_next(&tt, &h) > 0) {
        if (h.number == 1 && h.wire == 0) *type = (long)h.u;
        if (h.number != 2 || h.wire != 2) continue;
        *rank = 0;
        sh = h.s;
        while (nn_pb_next(&sh, &d) > 0) {
          long long v = -1;
          nn_pb_field e;
          if (d.number != 1 || d.wire != 2) continue;
          if (*rank == NN_ONNX_MAX_RANK)
            return nn_onnx_fail(r, NN_EUNSUPPORTED, "the input has more than %d dimensions",
                        NN_ONNX_MAX_RANK);
          dm = d.s;
          while (nn_pb_next(&dm, &e) > 0)
            if (e.number == 1 && e.wire == 0 && (long long)e.u > 0 &&
                e.u <= NN_MAX_PARAMS)
              v = (long long)e.u;
          dims[(*rank)++] = v;
        }
      }
    }
  }
  return NN_OK;
}

/* Whether every message nested in the graph is well formed: then the
** walks above, which skip what they do not need, never meet a bad field. */
static int check_message(nn_pb_span m) {
  nn_pb_field f;
  int st;
  while ((st = nn_pb_next(&m, &f)) > 0) {}
  return st;
}

/* --- names: each defined once, each given before it is taken ---------- */

/* Pass 1: the initializers, each name once, and a count of the nodes. */
static int graph_constants(nn_onnx_reader *r, nn_pb_span graph, size_t *n_nodes) {
  nn_pb_span m = graph;
  nn_pb_field f;
  int st;
  char b[48];
  *n_nodes = 0;
  while ((st = nn_pb_next(&m, &f)) > 0) {
    nn_onnx_tensor t;
    nn_onnx_name *e;
    if (f.wire != 2) continue;
    if (f.number == 1) {
      if (check_message(f.s) < 0) return NN_ONNX_CORRUPT(r, "a node");
      (*n_nodes)++;
    }
    if (f.number != 5) continue;
    if ((st = nn_onnx_tensor_header(r, f.s, &t)) != NN_OK) return st;
    if (t.name.n && (st = nn_onnx_names_add(&r->names, t.name, &e)) <= 0)
      return st < 0 ? nn_onnx_fail(r, NN_ENOMEM, "not enough memory") :
             nn_onnx_fail(r, NN_EFORMAT, "two initializers are named '%s'", nn_onnx_show(t.name, b));
    if (t.name.n) e->by = NN_ONNX_BY_INITIALIZER;
    if ((st = nn_onnx_add_const(r, &t)) != NN_OK) return st;
  }
  return st < 0 ? NN_ONNX_CORRUPT(r, "the graph") : NN_OK;
}

/* What the graph's inputs and outputs are. */
typedef struct graph_io {
  nn_pb_span data_in, out_name;
  long type, out_type;
  int rank;
  size_t n_inputs, n_outputs, fed;
} graph_io;

/* A graph input's name, defined once: an initializer may be listed among
** the inputs too (as IR version 3 wants), which names it again but defines
** nothing.  Sets *init when it is one. */
static int define_input(nn_onnx_reader *r, nn_pb_span name, int *init) {
  nn_onnx_name *e;
  char b[48];
  int st = nn_onnx_names_add(&r->names, name, &e);
  *init = 0;
  if (st < 0) return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  if (st == 0 && e->by == NN_ONNX_BY_INITIALIZER) { *init = 1; return NN_OK; }
  if (st == 0)
    return nn_onnx_fail(r, NN_EFORMAT, "two graph inputs are named '%s'", nn_onnx_show(name, b));
  e->by = NN_ONNX_BY_INPUT;
  return NN_OK;
}

/* One ValueInfoProto of the graph's inputs (11) or outputs (12), with the
** fields it may give once. */
static int value_info(nn_onnx_reader *r, nn_pb_span msg, int output, nn_pb_span *name,
                      long *type, long long *dims, int *rank) {
  static const nn_onnx_field once[] = { { 1, "name" }, { 2, "type" }, { 0, NULL } };
  char b[48], whose[64];
  int st = read_value_info(r, msg, name, type, dims, rank);
  if (st != NN_OK) return st;
  snprintf(whose, sizeof whose, "%s '%s'", output ? "output" : "input", nn_onnx_show(*name, b));
  return nn_onnx_once(r, msg, once, whose);
}

/* Pass 2: the inputs that are not initializers (the data, then the
** feeds) and the outputs. */
static int graph_inputs(nn_onnx_reader *r, nn_pb_span graph, const nn_onnx_feed *feeds,
                        size_t n_feeds, graph_io *io) {
  nn_pb_span m = graph, name;
  nn_pb_field f;
  int st;
  while (nn_pb_next(&m, &f) > 0) {
    long long dims[NN_ONNX_MAX_RANK];
    long t;
    int k, init;
    if (f.number == 12 && f.wire == 2) {
      if ((st = value_info(r, f.s, 1, &io->out_name, &io->out_type, dims, &k)) != NN_OK)
        return st;
      io->n_outputs++;
    }
    if (f.number != 11 || f.wire != 2) continue;
    if ((st = value_info(r, f.s, 0, &name, &t, dims, &k)) != NN_OK ||
        (st = define_input(r, name, &init)) != NN_OK)
      return st;
    if (init) continue;
    if (io->n_inputs++ == 0) {
      io->data_in = name;
      io->type = t;
      io->rank = k;
      if (k > 0) memcpy(r->dims, dims, (size_t)k * sizeof *dims);
    } else if (io->fed < n_feeds) {
      nn_onnx_tensor c;
      nn_pb_span s;
      s.p = feeds[io->fed].data;
      s.n = feeds[io->fed].n;
      io->fed++;
      if ((st = nn_onnx_tensor_header(r, s, &c)) != NN_OK) return st;
      c.name = name;
      if ((st = nn_onnx_add_const(r, &c)) != NN_OK) return st;
    }
  }
  return NN_OK;
}

/* The node's outputs, each a name defined here and nowhere else. */
static int define_outputs(nn_onnx_reader *r, nn_pb_span node) {
  nn_pb_field f;
  char b[48];
  while (nn_pb_next(&node, &f) > 0) {
    nn_onnx_name *e;
    int st;
    if (f.number != 2 || f.wire != 2 || f.s.n == 0) continue;
    if ((st = nn_onnx_names_add(&r->names, f.s, &e)) < 0)
      return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
    if (st == 1) {
      e->by = NN_ONNX_BY_NODE;
      e->node = r->node_no;
    } else if (e->by == NN_ONNX_BY_NODE && e->node == r->node_no) {
      return nn_onnx_fail(r, NN_EFORMAT, "output '%s' is given twice", nn_onnx_show(f.s, b));
    } else if (e->by == NN_ONNX_BY_NODE) {
      return nn_onnx_fail(r, NN_EFORMAT, "output '%s' is already the output of node %zu",
                          nn_onnx_show(f.s, b), e->node);
    } else {
      return nn_onnx_fail(r, NN_EFORMAT, "output '%s' is already %s", nn_onnx_show(f.s, b),
                          e->by == NN_ONNX_BY_INPUT ? "a graph input" : "an initializer");
    }
  }
  return NN_OK;
}

/* The node's inputs: none may be its own output or a later node's (ONNX
** keeps the nodes in an order where every name is given before it is
** taken, so that is a cycle, or nodes out of order). */
static int check_inputs(nn_onnx_reader *r, nn_pb_span node) {
  nn_pb_field f;
  char b[48];
  while (nn_pb_next(&node, &f) > 0) {
    nn_onnx_name *e;
    if (f.number != 1 || f.wire != 2 || f.s.n == 0) continue;
    if ((e = nn_onnx_names_find(&r->names, f.s)) == NULL || e->by != NN_ONNX_BY_NODE ||
        e->node < r->node_no)
      continue;
    if (e->node == r->node_no)
      return nn_onnx_fail(r, NN_EFORMAT, "takes its own output '%s': the graph has a cycle",
                          nn_onnx_show(f.s, b));
    return nn_onnx_fail(r, NN_EFORMAT, "takes '%s', which node %zu after it gives: the graph "
                        "has a cycle, or its nodes are out of order", nn_onnx_show(f.s, b), e->node);
  }
  return NN_OK;
}

/* Pass 3: every node's outputs defined once, then every node's inputs
** given before it. */
static int graph_names(nn_onnx_reader *r, nn_pb_span graph) {
  int pass, st;
  for (pass = 0; pass < 2; pass++) {
    nn_pb_span m = graph, op, domain;
    nn_pb_field f;
    r->node_no = 0;
    while (nn_pb_next(&m, &f) > 0) {
      if (f.number != 1 || f.wire != 2) continue;
      r->node_no++;
      if ((st = describe_node(r, f.s, &op, &domain)) != NN_OK ||
          (st = pass == 0 ? define_outputs(r, f.s) : check_inputs(r, f.s)) != NN_OK)
        return st;
    }
  }
  r->node_desc[0] = '\0';
  return NN_OK;
}

/* --- the graph ---------------------------------------------------------- */

/* What the inputs and outputs must be for nn to run the graph. */
static int check_io(nn_onnx_reader *r, const graph_io *io) {
  char b[48];
  if (io->n_inputs == 0) return nn_onnx_fail(r, NN_EUNSUPPORTED, "the graph has no input");
  if (io->n_inputs > 1 + io->fed)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the graph has %zu inputs that are not "
                "initializers, and nn takes one", io->n_inputs - io->fed);
  if (io->n_outputs != 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the graph has %zu outputs, and nn gives one",
                io->n_outputs);
  if (io->type != NN_ONNX_FLOAT && io->type != NN_ONNX_INT64)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "input '%s' is of type %s, not float "
                "(nor int64 ids)", nn_onnx_show(io->data_in, b), nn_onnx_type_name(io->type));
  r->ids_in = io->type == NN_ONNX_INT64;
  if (io->rank < 1)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "input '%s' has %s", nn_onnx_show(io->data_in, b),
                io->rank < 0 ? "no shape" : "no dimensions");
  if (io->out_type != 0 && io->out_type != NN_ONNX_FLOAT)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "output '%s' is of type %s, not float",
                nn_onnx_show(io->out_name, b), nn_onnx_type_name(io->out_type));
  return NN_OK;
}

/* Refuses a graph with control flow (Loop, Scan, If: a subgraph run at run
** time), naming its first such node before any other: the reason the
** graph cannot be read, where the nodes before it would only show a
** symptom.  A Loop over ids is left to the reader, which reads PyTorch's
** EmbeddingBag (a Loop over the bags) and refuses any other at the node
** that differs. */
static int no_control_flow(nn_onnx_reader *r, nn_pb_span graph) {
  nn_pb_span m = graph, op, domain;
  nn_pb_field f;
  size_t i = 0;
  int st;
  while (nn_pb_next(&m, &f) > 0) {
    if (f.number != 1 || f.wire != 2) continue;
    r->node_no = ++i;
    if ((st = describe_node(r, f.s, &op, &domain)) != NN_OK) return st;
    if (nn_onnx_is(op, "Loop") && !r->ids_in)
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "a Loop is control flow, which nn does not "
                          "run");
    if (nn_onnx_is(op, "Scan") || nn_onnx_is(op, "If"))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "%s is control flow, which nn does not run",
                          nn_onnx_is(op, "If") ? "an If" : "a Scan");
  }
  r->node_no = 0;
  r->node_desc[0] = '\0';
  return NN_OK;
}

static int read_graph(nn_onnx_reader *r, nn_pb_span graph, const nn_onnx_feed *feeds,
                      size_t n_feeds) {
  nn_pb_span m = graph;
  nn_pb_field f;
  size_t n_nodes, i = 0;
  graph_io io;
  int st;
  char b[48];
  memset(&io, 0, sizeof io);
  io.rank = -1;
  if ((st = graph_constants(r, graph, &n_nodes)) != NN_OK ||
      (st = graph_inputs(r, graph, feeds, n_feeds, &io)) != NN_OK ||
      (st = check_io(r, &io)) != NN_OK || (st = graph_names(r, graph)) != NN_OK ||
      (st = no_control_flow(r, graph)) != NN_OK)
    return st;
  r->rank = io.rank;
  r->cur = io.data_in;
  r->cur_value = 0;
  /* then the nodes, in order */
  r->layers_cap = n_nodes + 1;
  r->layers = (nn_layer *)malloc(r->layers_cap * (sizeof(nn_layer) + nn_hyper_most() * sizeof(float)));
  r->lins = (nn_onnx_linear *)malloc((n_nodes + 1) * sizeof(nn_onnx_linear));
  r->vals = (nn_onnx_value *)malloc((n_nodes + 1) * sizeof(nn_onnx_value));
  if (r->layers == NULL || r->lins == NULL || r->vals == NULL)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  record_value(r);
  while (nn_pb_next(&m, &f) > 0) {
    if (f.number != 1 || f.wire != 2) continue;
    r->node_no = ++i;
    if ((st = read_node(r, f.s)) != NN_OK) return st;
  }
  /* a pattern the graph ends in the middle of: its nodes on their own */
  if (r->pat_kind != NN_KIND_COUNT && (st = pattern_undo(r)) != NN_OK) return st;
  /* a bag's form the graph ends in: a sum, after its node 7 */
  if (r->bag_at == 7 && !r->bag_torch && (st = bag_layer(r, 1, r->bag_out[6])) != NN_OK)
    return st;
  r->node_desc[0] = '\0';
  if (r->bag_at > 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the graph ends after node %zu of an "
                        "EmbeddingBag's form", r->bag_at);
  if (r->ids_in && (r->n_layers == 0 ||
                    !(nn_kind_info_of(r->layers[0].kind)->flags & NN_KIND_FIRST)))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "input '%s' is of type int64, ids, which only "
                        "a Gather of a table (an Embedding) reads first",
                        nn_onnx_show(io.data_in, b));
  if (r->padded)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the graph ends with a Pad, which nn reads only "
                        "before an AveragePool");
  if (!nn_onnx_same(r->cur, io.out_name))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "output '%s' is not the end of the chain of nodes",
                nn_onnx_show(io.out_name, b));
  return NN_OK;
}

/* One opset_import: the default domain's version, which may be named
** once. */
static int read_opset(nn_onnx_reader *r, nn_pb_span msg) {
  static const nn_onnx_field once[] = { { 1, "domain" }, { 2, "version" }, { 0, NULL } };
  nn_pb_span m = msg, domain = { NULL, 0 };
  nn_pb_field g;
  long long version = -1;
  int st;
  while ((st = nn_pb_next(&m, &g)) > 0) {
    if (g.number == 1 && g.wire == 2) domain = g.s;
    if (g.number == 2 && g.wire == 0) version = (long long)g.u;
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "an opset_import");
  if ((st = nn_onnx_once(r, msg, once, "an opset_import")) != NN_OK) return st;
  if (domain.n != 0 && !nn_onnx_is(domain, "ai.onnx")) return NN_OK;
  if (r->opset != -1)
    return nn_onnx_fail(r, NN_EFORMAT, "the model names the default domain's opset twice");
  r->opset = (long)version;
  return NN_OK;
}

static int read_model(nn_onnx_reader *r, nn_pb_span model, nn_pb_span *graph) {
  static const nn_onnx_field once[] = { { 1, "ir_version" }, { 7, "graph" }, { 0, NULL } };
  nn_pb_span m = model;
  nn_pb_field f;
  int st, has_graph = 0;
  r->opset = -1;
  while ((st = nn_pb_next(&m, &f)) > 0) {
    if (f.number == 7 && f.wire == 2) { *graph = f.s; has_graph = 1; }
    if (f.number == 8 && f.wire == 2 && (st = read_opset(r, f.s)) != NN_OK) return st;
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "the model");
  if ((st = nn_onnx_once(r, model, once, "the model")) != NN_OK) return st;
  if (!has_graph) return nn_onnx_fail(r, NN_EFORMAT, "not an ONNX model: it has no graph");
  if (r->opset < 0)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "the model names no opset of the default domain");
  if (r->opset < NN_ONNX_OPSET_MIN || r->opset > NN_ONNX_OPSET_MAX)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "opset %ld is not supported (%d to %d are)",
                r->opset, NN_ONNX_OPSET_MIN, NN_ONNX_OPSET_MAX);
  return NN_OK;
}

static void reader_free(nn_onnx_reader *r) {
  size_t i;
  for (i = 0; i < r->n_consts; i++) free(r->consts[i].owned);
  for (i = 0; i < r->n_lins; i++) free(r->lins[i].wb);
  free(r->consts);
  free(r->lins);
  free(r->vals);
  free(r->layers);
  nn_onnx_names_free(&r->names);
}

int nn_onnx_read(const unsigned char *data, size_t n, const nn_onnx_feed *feeds,
                 size_t n_feeds, nn_net **out, nn_onnx_info *info, char err[NN_ERRMAX]) {
  nn_onnx_reader r;
  nn_pb_span model, graph = { NULL, 0 };
  nn_net *net = NULL;
  size_t i;
  int st;
  memset(&r, 0, sizeof r);
  r.pat_kind = NN_KIND_COUNT;
  r.err = err;
  model.p = data;
  model.n = n;
  *out = NULL;
  if ((st = read_model(&r, model, &graph)) != NN_OK ||
      (st = read_graph(&r, graph, feeds, n_feeds)) != NN_OK)
    goto done;
  /* a graph of no layer (only a Flatten, say) is the identity */
  if (r.n_layers == 0) push_layer(&r, NN_IDENTITY, NULL);
  if ((net = nn_net_new(r.layers, r.n_layers, err)) == NULL) {
    st = NN_EUNSUPPORTED;
    goto done;
  }
  for (i = 0; i < r.n_lins; i++) {
    const nn_layer *l = &net->layers[r.lins[i].layer];
    memcpy(net->params + l->w, r.lins[i].wb, nn_layer_n_params(l) * sizeof(float));
  }
  if (info) {
    info->opset = r.opset;
    info->name_probes = r.names.probes;
    info->row = net->n_inputs;
    if (info->row == 0 && r.dims[r.rank - 1] > 0) info->row = (size_t)r.dims[r.rank - 1];
  }
  *out = net;
done:
  reader_free(&r);
  return st;
}
