/*
** nn_onnx_write.c: an nn_net as an ONNX ModelProto (see nn_onnx.h).
**
** One node per layer, in order, each its kind's ONNX operator as the kind
** table says (a graph's joins too, Add, and Concat on axis 1, reading the
** two values they join; every node reads the value its layer reads) (Linear is Gemm with transB = 1), its tensors as initializers
** in raw_data, little-endian (W as nn keeps it, n_out x n_in), its
** hyper-parameters as attributes; a kind that takes ids (Embedding), its
** operator (Gather) of its table and the input, then a Flatten, the input
** then of int64; an EmbeddingBag, its form of plain operators (below).
** The input is "input" of shape [batch, n_inputs],
** the output "output" of shape [batch, n_outputs], "batch" symbolic, so
** that a runtime takes any number of rows at once.
**
** Not the reader (nn_onnx_read.c).  IR version 7 and opset 13: what
** onnx 1.12's checker and every current runtime accept.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_onnx.h"
#include "formats/nn_protobuf.h"

#define IR_VERSION  7

enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7, T_FLOAT = 1, T_INT64 = 7 };

static void put_attr_int(nn_pb_out *node, const char *name, long long v) {
  nn_pb_out a = { NULL, 0, 0, 0 };
  nn_pb_put_string(&a, 1, name);
  nn_pb_put_varint(&a, 20, ATTR_INT);
  nn_pb_put_varint(&a, 3, (uint64_t)v);
  nn_pb_put_message(node, 5, &a);
}

/* An INTS attribute of one value: a ReduceMean's axes = [-1]. */
static void put_attr_ints1(nn_pb_out *node, const char *name, long long v) {
  nn_pb_out a = { NULL, 0, 0, 0 };
  nn_pb_put_string(&a, 1, name);
  nn_pb_put_varint(&a, 8, (uint64_t)v);
  nn_pb_put_varint(&a, 20, ATTR_INTS);
  nn_pb_put_message(node, 5, &a);
}

static void put_attr_float(nn_pb_out *node, const char *name, float v) {
  nn_pb_out a = { NULL, 0, 0, 0 };
  nn_pb_put_string(&a, 1, name);
  nn_pb_put_varint(&a, 20, ATTR_FLOAT);
  nn_pb_put_float(&a, 2, v);
  nn_pb_put_message(node, 5, &a);
}

/* A float initializer of dims[rank] holding p[count], little-endian. */
static void put_tensor(nn_pb_out *graph, const char *name, const size_t *dims, int rank,
                       const float *p, size_t count) {
  nn_pb_out t = { NULL, 0, 0, 0 };
  unsigned char *le = (unsigned char *)malloc(count * 4 + 1);
  int i;
  if (le == NULL) { graph->failed = 1; return; }
  for (i = 0; i < rank; i++) nn_pb_put_varint(&t, 1, dims[i]);
  nn_pb_put_varint(&t, 2, T_FLOAT);
  nn_pb_put_string(&t, 8, name);
  nn_params_to_le(le, p, count);
  nn_pb_put_bytes(&t, 9, le, count * 4);
  free(le);
  nn_pb_put_message(graph, 5, &t);
}

/* A ValueInfoProto: of type elem (float, or int64 for ids), [batch, width]. */
static void put_value_info(nn_pb_out *graph, uint32_t field, const char *name, size_t width,
                           int elem) {
  nn_pb_out vi = { NULL, 0, 0, 0 }, type = { NULL, 0, 0, 0 }, tensor = { NULL, 0, 0, 0 },
            shape = { NULL, 0, 0, 0 }, dim = { NULL, 0, 0, 0 };
  nn_pb_put_string(&dim, 2, "batch");
  nn_pb_put_message(&shape, 1, &dim);
  nn_pb_put_varint(&dim, 1, width);
  nn_pb_put_message(&shape, 1, &dim);
  nn_pb_put_varint(&tensor, 1, (uint64_t)elem);
  nn_pb_put_message(&tensor, 2, &shape);
  nn_pb_put_message(&type, 1, &tensor);
  nn_pb_put_string(&vi, 1, name);
  nn_pb_put_message(&vi, 2, &type);
  nn_pb_put_message(graph, field, &vi);
}

/* Layer l's tensors as initializers named "<c_name>_<i>.<tensor>" (PyTorch's
** names: "linear_1.weight"), each an input of node after the data. */
static void put_params(nn_pb_out *graph, nn_pb_out *node, const nn_net *net,
                       const nn_layer *l, size_t i) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t t, dims[2], at, count;
  char name[128];
  for (t = 0; t < d->n_tensors; t++) {
    count = nn_tensor_shape(l, t, dims, &at);
    snprintf(name, sizeof name, "%.40s_%zu.%.40s", d->c_name, i + 1, d->tensors[t].name);
    put_tensor(graph, name, dims, d->tensors[t].rank, net->params + l->w + at, count);
    nn_pb_put_string(node, 1, name);
  }
}

/* Layer l's attributes: the kind's fixed one, then its hyper-parameters. */
static void put_attrs(nn_pb_out *node, const nn_layer *l) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t j;
  if (d->onnx.attr) put_attr_int(node, d->onnx.attr, d->onnx.value);
  for (j = 0; j < d->n_hyper; j++) {
    if (d->hyper[j].onnx == NULL || d->hyper[j].onnx[0] == '\0') continue;
    if (d->hyper[j].integer) put_attr_int(node, d->hyper[j].onnx, (long long)l->hyper[j]);
    else put_attr_float(node, d->hyper[j].onnx, l->hyper[j]);
  }
}

/* A kind that is the identity outside training (Dropout: element-wise, no
** forward) and has no ONNX form of its own is written as an Identity node:
** an ONNX graph is for inference, where it does nothing (PyTorch's export
** leaves Dropout out). */
static int inference_identity(const nn_kind_info *d) {
  return d->elementwise && d->forward == NULL && d->onnx.op == NULL && d->onnx.n_nodes == 0;
}

/* Whether hyper-parameter j of kind d is one the shapes of an ids kind's
** form carry (an Embedding's n_ids and dim, its table's; its ids, the
** input's width). */
static int shaped(const nn_kind_info *d, size_t j) {
  if (d->shape && d->hyper[j].integer && d->hyper[j].onnx == NULL)
    return 1;     /* BatchNorm2d's channels and positions: its tensors', the data's */
  return (d->flags & NN_KIND_FIRST) && d->input && d->input->shape && j < 3;
}

/* Whether layer i has an ONNX form: an operator or a pattern, and every
** hyper-parameter that no attribute carries at its default (the form's);
** a kind written as its pattern (which nn writes where it has one, the
** pattern's numbers being the defaults') has no attributes. */
static int writable(const nn_layer *l, size_t i, char err[NN_ERRMAX]) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t j;
  if (inference_identity(d)) return NN_OK;
  if (d->onnx.op == NULL && d->onnx.n_nodes == 0) {
    snprintf(err, NN_ERRMAX, "module %zu: nn.%s has no ONNX operator", i + 1, d->name);
    return NN_EUNSUPPORTED;
  }
  for (j = 0; j < d->n_hyper; j++)
    if ((d->hyper[j].onnx == NULL || d->onnx.n_nodes > 0) && !shaped(d, j) &&
        !(d->hyper[j].onnx && d->hyper[j].onnx[0] == '\0') &&
        l->hyper[j] != (float)d->hyper[j].def) {
      const char *const *c = d->hyper[j].choices;
      if (c)
        snprintf(err, NN_ERRMAX, "module %zu: nn.%s's %s is '%s', and its ONNX form "
                 "is '%s' only", i + 1, d->name, d->hyper[j].what,
                 c[(size_t)l->hyper[j]], c[(size_t)d->hyper[j].def]);
      else
        snprintf(err, NN_ERRMAX, "module %zu: nn.%s's %s is %g, and its ONNX form has "
                 "only %g", i + 1, d->name, d->hyper[j].what, (double)l->hyper[j],
                 d->hyper[j].def);
      return NN_EUNSUPPORTED;
    }
  return NN_OK;
}

/* The name of input k of node j of layer l's pattern (layer i) into buf:
** the layer's input, a constant's initializer or one of the layer's
** tensors (written here), or an earlier node's output. */
static const char *pattern_input(nn_pb_out *graph, const nn_net *net, const nn_layer *l,
                                 size_t i, size_t j, int k, const char *in, char *buf,
                                 size_t n) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  const nn_onnx_node *nd = &d->onnx.nodes[j];
  int src = nd->in[k];
  if (src == NN_ONNX_X) return in;
  if (src == NN_ONNX_K) {
    snprintf(buf, n, "%.40s_%zu.k%zu", d->c_name, i + 1, j + 1);
    put_tensor(graph, buf, NULL, 0, &nd->k, 1);
  } else if (src <= NN_ONNX_T(0)) {
    size_t t = (size_t)(NN_ONNX_T(0) - src), dims[2], at, count;
    count = nn_tensor_shape(l, t, dims, &at);
    snprintf(buf, n, "%.40s_%zu.%.40s", d->c_name, i + 1, d->tensors[t].name);
    put_tensor(graph, buf, dims, d->tensors[t].rank, net->params + l->w + at, count);
  } else {
    snprintf(buf, n, "%.40s_%zu.%d", d->c_name, i + 1, src + 1);
  }
  return buf;
}

/* Layer i, of a kind that takes ids (Embedding), from in to out: its
** operator (Gather) of its table, then the ids, on axis 0, and a Flatten
** that puts a row's embeddings side by side, as PyTorch writes
** Embedding and Flatten. */
static void put_ids_kind(nn_pb_out *graph, const nn_net *net, size_t i, const char *in,
                         const char *out) {
  const nn_layer *l = &net->layers[i];
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  nn_pb_out gather = { NULL, 0, 0, 0 }, flatten = { NULL, 0, 0, 0 };
  size_t dims[2], at, count;
  char name[128], mid[96];
  count = nn_tensor_shape(l, 0, dims, &at);
  snprintf(name, sizeof name, "%.40s_%zu.%.40s", d->c_name, i + 1, d->tensors[0].name);
  put_tensor(graph, name, dims, 2, net->params + l->w + at, count);
  snprintf(mid, sizeof mid, "%.40s_%zu.1", d->c_name, i + 1);
  nn_pb_put_string(&gather, 1, name);
  nn_pb_put_string(&gather, 1, in);
  nn_pb_put_string(&gather, 2, mid);
  snprintf(name, sizeof name, "%.40s_%zu/%s", d->c_name, i + 1, d->onnx.op);
  nn_pb_put_string(&gather, 3, name);
  nn_pb_put_string(&gather, 4, d->onnx.op);
  put_attrs(&gather, l);
  nn_pb_put_message(graph, 1, &gather);
  nn_pb_put_string(&flatten, 1, mid);
  nn_pb_put_string(&flatten, 2, out);
  snprintf(name, sizeof name, "%.40s_%zu/Flatten", d->c_name, i + 1);
  nn_pb_put_string(&flatten, 3, name);
  nn_pb_put_string(&flatten, 4, "Flatten");
  put_attr_int(&flatten, "axis", 1);
  nn_pb_put_message(graph, 1, &flatten);
}

/* --- a bag ------------------------------------------------------------------
** EmbeddingBag(n_ids, dim, {ids = k, mode}) as plain operators, no Loop
** (PyTorch's form, which needs a runtime's control flow): of the ids x
** [batch, k], the mask of the places used, the table's rows of the ids
** there (0 elsewhere), zeroed where the mask is off and summed over the
** places; the mean divides by the count of places used, at least 1 (an
** empty bag is zeros, as nn and PyTorch give it):
**
**   m = Greater(x, -1)         s = Where(m, x, 0)      g = Gather(W, s)
**   f = Cast(m, float)         u = Unsqueeze(f, [2])   p = Mul(g, u)
**   y = ReduceSum(p, [1], keepdims 0)                              (sum)
**   c = ReduceSum(f, [1], keepdims 1)   y = Div(y, Max(c, 1))       (mean)
**
** The axes are inputs, as opset 13 takes them; the reader
** (nn_onnx_read.c) takes the same nodes back as one layer. */

/* An int64 initializer of one value: a scalar, or [1] when vec. */
static void put_int64(nn_pb_out *graph, const char *name, long long v, int vec) {
  nn_pb_out t = { NULL, 0, 0, 0 };
  unsigned char le[8];
  unsigned long long u = (unsigned long long)v;
  int b;
  for (b = 0; b < 8; b++) le[b] = (unsigned char)(u >> (8 * b));
  if (vec) nn_pb_put_varint(&t, 1, 1);
  nn_pb_put_varint(&t, 2, T_INT64);
  nn_pb_put_string(&t, 8, name);
  nn_pb_put_bytes(&t, 9, le, 8);
  nn_pb_put_message(graph, 5, &t);
}

/* Node j of layer i's bag, op of in0 (and in1, in2 when not NULL) into
** "<c_name>_<i>.<j>" or out; its attributes to come. */
static void bag_node(nn_pb_out *node, const char *c_name, size_t i, int j, const char *op,
                     const char *in0, const char *in1, const char *in2, const char *out) {
  char name[96];
  nn_pb_put_string(node, 1, in0);
  if (in1) nn_pb_put_string(node, 1, in1);
  if (in2) nn_pb_put_string(node, 1, in2);
  if (out) nn_pb_put_string(node, 2, out);
  else {
    snprintf(name, sizeof name, "%.40s_%zu.%d", c_name, i + 1, j);
    nn_pb_put_string(node, 2, name);
  }
  snprintf(name, sizeof name, "%.40s_%zu/%s_%d", c_name, i + 1, op, j);
  nn_pb_put_string(node, 3, name);
  nn_pb_put_string(node, 4, op);
}

/* Layer i, an EmbeddingBag, from in to out, as above. */
static void put_bag(nn_pb_out *graph, const nn_net *net, size_t i, const char *in,
                    const char *out) {
  const nn_layer *l = &net->layers[i];
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  const char *c = d->c_name;
  int mean = l->hyper[3] == 0.0f, j;
  size_t dims[2], at, count;
  char v[11][96], k[5][128];
  nn_pb_out node[10];
  const float one = 1.0f;
  memset(node, 0, sizeof node);
  for (j = 1; j <= 10; j++) snprintf(v[j], sizeof v[j], "%.40s_%zu.%d", c, i + 1, j);
  snprintf(k[0], sizeof k[0], "%.40s_%zu.%.40s", c, i + 1, d->tensors[0].name);
  count = nn_tensor_shape(l, 0, dims, &at);
  put_tensor(graph, k[0], dims, 2, net->params + l->w + at, count);
  snprintf(k[1], sizeof k[1], "%.40s_%zu.none", c, i + 1);
  put_int64(graph, k[1], -1, 0);
  snprintf(k[2], sizeof k[2], "%.40s_%zu.zero", c, i + 1);
  put_int64(graph, k[2], 0, 0);
  snprintf(k[3], sizeof k[3], "%.40s_%zu.axis2", c, i + 1);
  put_int64(graph, k[3], 2, 1);
  snprintf(k[4], sizeof k[4], "%.40s_%zu.axis1", c, i + 1);
  put_int64(graph, k[4], 1, 1);
  bag_node(&node[0], c, i, 1, "Greater", in, k[1], NULL, NULL);
  bag_node(&node[1], c, i, 2, "Where", v[1], in, k[2], NULL);
  bag_node(&node[2], c, i, 3, "Gather", k[0], v[2], NULL, NULL);
  put_attr_int(&node[2], "axis", 0);
  bag_node(&node[3], c, i, 4, "Cast", v[1], NULL, NULL, NULL);
  put_attr_int(&node[3], "to", T_FLOAT);
  bag_node(&node[4], c, i, 5, "Unsqueeze", v[4], k[3], NULL, NULL);
  bag_node(&node[5], c, i, 6, "Mul", v[3], v[5], NULL, NULL);
  bag_node(&node[6], c, i, 7, "ReduceSum", v[6], k[4], NULL, mean ? NULL : out);
  put_attr_int(&node[6], "keepdims", 0);
  if (mean) {
    snprintf(k[1], sizeof k[1], "%.40s_%zu.one", c, i + 1);
    put_tensor(graph, k[1], NULL, 0, &one, 1);
    bag_node(&node[7], c, i, 8, "ReduceSum", v[4], k[4], NULL, NULL);
    put_attr_int(&node[7], "keepdims", 1);
    bag_node(&node[8], c, i, 9, "Max", v[8], k[1], NULL, NULL);
    bag_node(&node[9], c, i, 10, "Div", v[7], v[9], NULL, out);
  }
  for (j = 0; j < (mean ? 10 : 7); j++) nn_pb_put_message(graph, 1, &node[j]);
}

/* Layer i, of a kind written as its pattern of nodes, from in to out. */
static void put_pattern(nn_pb_out *graph, const nn_net *net, size_t i,
                        const char *in, const char *out) {
  const nn_layer *l = &net->layers[i];
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t j;
  int k;
  for (j = 0; j < d->onnx.n_nodes; j++) {
    nn_pb_out node = { NULL, 0, 0, 0 };
    char buf[2][128], name[96];
    for (k = 0; k < 2 && d->onnx.nodes[j].in[k] != NN_ONNX_NONE; k++)
      nn_pb_put_string(&node, 1, pattern_input(graph, net, l, i, j, k, in, buf[k],
                                               sizeof buf[k]));
    snprintf(name, sizeof name, "%.40s_%zu.%zu", d->c_name, i + 1, j + 1);
    nn_pb_put_string(&node, 2, j + 1 == d->onnx.n_nodes ? out : name);
    snprintf(name, sizeof name, "%.40s_%zu/%s_%zu", d->c_name, i + 1, d->onnx.nodes[j].op, j + 1);
    nn_pb_put_string(&node, 3, name);
    nn_pb_put_string(&node, 4, d->onnx.nodes[j].op);
    /* a pattern's reduction is over each sample's features, as PyTorch writes it */
    if (strcmp(d->onnx.nodes[j].op, "ReduceMean") == 0) put_attr_ints1(&node, "axes", -1);
    nn_pb_put_message(graph, 1, &node);
  }
}

/* --- images ---------------------------------------------------------------
** A net that begins with nn.Input{c, h, w} takes [batch, c, h, w] (or
** [batch, c, l]), as PyTorch's convolutional nets do; its convolutions and
** pools are Conv, MaxPool, AveragePool (count_include_pad 1, PyTorch's
** default) and GlobalAveragePool then Flatten, with their attributes from
** the layers' hyper-parameters, the weight [c_out, c_in, kh, kw] as PyTorch
** keeps it; the data are flattened (Flatten, axis 1) where nn reads an
** image as a flat row (before a Linear, at a Flatten, at the end). */

static void put_attr_ints(nn_pb_out *node, const char *name, const long long *v, size_t n) {
  nn_pb_out a = { NULL, 0, 0, 0 };
  size_t i;
  nn_pb_put_string(&a, 1, name);
  for (i = 0; i < n; i++) nn_pb_put_varint(&a, 8, (uint64_t)v[i]);
  nn_pb_put_varint(&a, 20, ATTR_INTS);
  nn_pb_put_message(node, 5, &a);
}

/* A node of op from in to out named name, its attributes to come. */
static void node_start(nn_pb_out *node, const char *op, const char *in, const char *out,
                       const char *name) {
  nn_pb_put_string(node, 1, in);
  nn_pb_put_string(node, 2, out);
  nn_pb_put_string(node, 3, name);
  nn_pb_put_string(node, 4, op);
}

static void put_flatten(nn_pb_out *graph, const char *in, const char *out, const char *name) {
  nn_pb_out node = { NULL, 0, 0, 0 };
  node_start(&node, "Flatten", in, out, name);
  put_attr_int(&node, "axis", 1);
  nn_pb_put_message(graph, 1, &node);
}

/* The window's attributes: nd axes of kernel, stride, padding (both ends)
** and, for a convolution, dilation; h[] the layer's hyper-parameters from
** its kernel on (each height then width, or one of each for 1-d). */
static void put_window(nn_pb_out *node, const float *h, size_t nd, int conv, int square) {
  long long k[2], s[2], p[4], d[2];
  size_t i, step = square ? 0 : nd;
  for (i = 0; i < nd; i++) {
    size_t j = square ? 0 : i;
    k[i] = (long long)h[j];
    s[i] = (long long)h[step + j + (square ? 1 : 0)];
    p[i] = p[nd + i] = (long long)h[2 * step + j + (square ? 2 : 0)];
    d[i] = conv ? (long long)h[3 * step + j] : 1;
  }
  put_attr_ints(node, "kernel_shape", k, nd);
  put_attr_ints(node, "strides", s, nd);
  put_attr_ints(node, "pads", p, 2 * nd);
  if (conv) put_attr_ints(node, "dilations", d, nd);
}

/* Layer i, a convolution or pool, from in to out. */
static void put_image_layer(nn_pb_out *graph, const nn_net *net, size_t i, const char *in,
                            const char *out) {
  const nn_layer *l = &net->layers[i];
  const float *h = l->hyper;
  nn_pb_out node = { NULL, 0, 0, 0 };
  char name[64], mid[48];
  if (l->kind == NN_GLOBALAVGPOOL) {
    snprintf(mid, sizeof mid, "x%zu_pooled", i + 1);
    snprintf(name, sizeof name, "GlobalAveragePool_%zu", i + 1);
    node_start(&node, "GlobalAveragePool", in, mid, name);
    nn_pb_put_message(graph, 1, &node);
    snprintf(name, sizeof name, "Flatten_%zu", i + 1);
    put_flatten(graph, mid, out, name);
    return;
  }
  if (l->kind == NN_CONV2D || l->kind == NN_CONV1D) {
    size_t nd = l->kind == NN_CONV2D ? 2 : 1, c_out = (size_t)h[0], kk, dims[4];
    const float *p = net->params + l->w;
    dims[0] = c_out; dims[1] = (size_t)h[1]; dims[2] = (size_t)h[2];
    dims[3] = nd == 2 ? (size_t)h[3] : 1;
    kk = dims[1] * dims[2] * dims[3];
    snprintf(name, sizeof name, "Conv_%zu", i + 1);
    nn_pb_put_string(&node, 1, in);
    snprintf(mid, sizeof mid, "conv%zud_%zu.weight", nd, i + 1);
    put_tensor(graph, mid, dims, (int)nd + 2, p, c_out * kk);
    nn_pb_put_string(&node, 1, mid);
    snprintf(mid, sizeof mid, "conv%zud_%zu.bias", nd, i + 1);
    put_tensor(graph, mid, dims, 1, p + c_out * kk, c_out);
    nn_pb_put_string(&node, 1, mid);
    nn_pb_put_string(&node, 2, out);
    nn_pb_put_string(&node, 3, name);
    nn_pb_put_string(&node, 4, "Conv");
    put_window(&node, h + 2, nd, 1, 0);
    put_attr_int(&node, "group", 1);
  } else {
    int avg = l->kind == NN_AVGPOOL2D;
    snprintf(name, sizeof name, "%s_%zu", avg ? "AveragePool" : "MaxPool", i + 1);
    node_start(&node, avg ? "AveragePool" : "MaxPool", in, out, name);
    put_window(&node, h, l->kind == NN_MAXPOOL1D ? 1 : 2, 0, 1);
    if (avg) put_attr_int(&node, "count_include_pad", 1);
  }
  nn_pb_put_message(graph, 1, &node);
}

static int image_kind(nn_kind k) {
  return k == NN_CONV1D || k == NN_CONV2D || k == NN_MAXPOOL1D || k == NN_MAXPOOL2D ||
         k == NN_AVGPOOL2D || k == NN_GLOBALAVGPOOL;
}

/* A kind that may run on images as ONNX runs it: element-wise, without
** tensors or an axis (SoftMax, LayerNorm, Standardize work on a row). */
static int on_images(const nn_kind_info *d) {
  size_t j;
  if (d == nn_kind_info_of(NN_BATCHNORM2D)) return 1;   /* per channel of NCHW */
  if (!d->elementwise || d->n_tensors > 0 || d->onnx.attr || (d->flags & NN_KIND_PROBS))
    return 0;
  for (j = 0; j < d->onnx.n_nodes; j++)
    if (strcmp(d->onnx.nodes[j].op, "ReduceMean") == 0) return 0;
  return 1;
}

/* The graph's input: [batch, n_inputs], or the shape nn.Input gives. */
static void put_input(nn_pb_out *graph, const nn_net *net) {
  nn_pb_out vi = { NULL, 0, 0, 0 }, type = { NULL, 0, 0, 0 }, tensor = { NULL, 0, 0, 0 },
            shape = { NULL, 0, 0, 0 }, dim = { NULL, 0, 0, 0 };
  const nn_layer *l = &net->layers[0];
  size_t dims[3], rank = 1, i;
  if (net->n_layers == 0 || l->kind != NN_INPUT) {
    put_value_info(graph, 11, "input", net->n_inputs,
                   nn_kind_info_of(l->kind)->flags & NN_KIND_FIRST ? T_INT64 : T_FLOAT);
    return;
  }
  dims[0] = (size_t)l->hyper[0]; dims[1] = (size_t)l->hyper[1]; dims[2] = (size_t)l->hyper[2];
  rank = dims[1] == 0 ? 1 : dims[2] == 0 ? 2 : 3;
  nn_pb_put_string(&dim, 2, "batch");
  nn_pb_put_message(&shape, 1, &dim);
  for (i = 0; i < rank; i++) {
    nn_pb_put_varint(&dim, 1, dims[i]);
    nn_pb_put_message(&shape, 1, &dim);
  }
  nn_pb_put_varint(&tensor, 1, T_FLOAT);
  nn_pb_put_message(&tensor, 2, &shape);
  nn_pb_put_message(&type, 1, &tensor);
  nn_pb_put_string(&vi, 1, "input");
  nn_pb_put_message(&vi, 2, &type);
  nn_pb_put_message(graph, 11, &vi);
}

/* The ONNX name of value v of the net (0 its input, j + 1 layer j's
** output): "input", "x1", "x2", ...; the last layer's is "output". */
static void value_name(char *buf, size_t n, size_t v) {
  if (v == 0) snprintf(buf, n, "input");
  else snprintf(buf, n, "x%zu", v);
}

int nn_onnx_write(const nn_net *net, unsigned char **out, size_t *n, char err[NN_ERRMAX]) {
  nn_pb_out model = { NULL, 0, 0, 0 }, graph = { NULL, 0, 0, 0 }, opset = { NULL, 0, 0, 0 };
  char in[32], outname[32], nname[32], cur[32];
  size_t i;
  int image = 0;      /* the data are images (after nn.Input{c, h, w}) */
  int to_rows;        /* the last layer's images become the output's rows */
  *out = NULL;
  *n = 0;
  if (net->n_inputs == 0) {
    snprintf(err, NN_ERRMAX, "a network without nn.Linear has no fixed width, "
             "which an ONNX file needs");
    return NN_EUNSUPPORTED;
  }
  snprintf(cur, sizeof cur, "input");
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    const char *op = d->onnx.op;
    nn_pb_out node = { NULL, 0, 0, 0 };
    int last = i + 1 == net->n_layers, st = NN_OK;
    memcpy(in, cur, sizeof in);
    if (last) snprintf(outname, sizeof outname, "output");
    else snprintf(outname, sizeof outname, "x%zu", i + 1);
    if (l->kind == NN_INPUT) {
      if (i > 0) {
        snprintf(err, NN_ERRMAX, "module %zu: nn.Input has an ONNX form only as the "
                 "first module", i + 1);
        nn_pb_free(&graph);
        return NN_EUNSUPPORTED;
      }
      image = l->hyper[1] > 0;
      continue;
    }
    if ((image_kind(l->kind) || l->kind == NN_BATCHNORM2D) && !image) {
      snprintf(err, NN_ERRMAX, "module %zu: nn.%s has an ONNX form only after nn.Input",
               i + 1, d->name);
      st = NN_EUNSUPPORTED;
    }
    if (st == NN_OK && !image_kind(l->kind) && l->kind != NN_FLATTEN && l->kind != NN_EMBEDDINGBAG)
      st = writable(l, i, err);
    if (st != NN_OK) {
      nn_pb_free(&graph);
      return st;
    }
    if (nn_layers_graph(net->layers, net->n_layers)) {   /* never over images */
      value_name(in, sizeof in, nn_layer_input(l, i, 0) - 1);
    } else {
      snprintf(nname, sizeof nname, "Flatten_%zu", i + 1);
      if (l->kind == NN_FLATTEN) {
        put_flatten(&graph, in, outname, nname);
        image = 0;
        memcpy(cur, outname, sizeof cur);
        continue;
      }
      if (image && !image_kind(l->kind) && !on_images(d)) {
        /* the image as a flat row, as nn reads it */
        snprintf(in, sizeof in, "flat%zu", i + 1);
        put_flatten(&graph, cur, in, nname);
        image = 0;
      }
      memcpy(cur, outname, sizeof cur);
      if (image_kind(l->kind)) {
        int flat_end = last && l->kind != NN_GLOBALAVGPOOL;
        put_image_layer(&graph, net, i, in, flat_end ? "images" : outname);
        if (flat_end) put_flatten(&graph, "images", outname, "Flatten_end");
        if (l->kind == NN_GLOBALAVGPOOL) image = 0;
        continue;
      }
    }
    /* the last, on images: they become the output's rows */
    to_rows = image && last;
    if (d->onnx.n_nodes > 0) {   /* the pattern, where ONNX's op is newer (LayerNorm) */
      put_pattern(&graph, net, i, in, to_rows ? "images" : outname);
      if (to_rows) put_flatten(&graph, "images", outname, "Flatten_end");
      continue;
    }
    if (l->kind == NN_EMBEDDINGBAG) {   /* its form of plain operators */
      put_bag(&graph, net, i, in, outname);
      continue;
    }
    if (d->flags & NN_KIND_FIRST) {   /* ids: Gather of the table, Flatten */
      put_ids_kind(&graph, net, i, in, outname);
      continue;
    }
    if (inference_identity(d)) op = "Identity";
    snprintf(nname, sizeof nname, "%s_%zu", op, i + 1);
    nn_pb_put_string(&node, 1, in);
    if (l->from[1]) {          /* a join's second input (Add, Concat) */
      value_name(in, sizeof in, l->from[1] - 1);
      nn_pb_put_string(&node, 1, in);
    }
    if (op == d->onnx.op) put_params(&graph, &node, net, l, i);
    nn_pb_put_string(&node, 2, to_rows ? "images" : outname);
    nn_pb_put_string(&node, 3, nname);
    nn_pb_put_string(&node, 4, op);
    if (op == d->onnx.op) put_attrs(&node, l);
    nn_pb_put_message(&graph, 1, &node);
    if (to_rows) put_flatten(&graph, "images", outname, "Flatten_end");
  }
  nn_pb_put_string(&graph, 2, "nn");
  put_input(&graph, net);
  put_value_info(&graph, 12, "output", net->n_outputs, T_FLOAT);

  nn_pb_put_varint(&model, 1, IR_VERSION);
  nn_pb_put_string(&model, 2, "nn");
  nn_pb_put_string(&model, 3, NN_VERSION);
  nn_pb_put_message(&model, 7, &graph);
  nn_pb_put_varint(&opset, 2, NN_ONNX_OPSET_WRITE);
  nn_pb_put_message(&model, 8, &opset);
  if (model.failed) {
    nn_pb_free(&model);
    snprintf(err, NN_ERRMAX, "not enough memory");
    return NN_ENOMEM;
  }
  *out = model.p;
  *n = model.n;
  return NN_OK;
}
