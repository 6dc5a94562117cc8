/*
** nn_onnx_proto.h: what the two halves of the ONNX reader share (not a
** public header): the reader's state, and the ONNX messages below the
** graph (TensorProto, AttributeProto, a NodeProto's fields) read from their
** bytes.  nn_onnx_proto.c reads those messages; nn_onnx_read.c follows the
** graph and builds the layers.
*/
#ifndef NN_ONNX_PROTO_H
#define NN_ONNX_PROTO_H

#include <stddef.h>

#include "nn_onnx.h"
#include "nn_protobuf.h"

enum { T_FLOAT = 1, T_INT64 = 7, T_BOOL = 9 };

/* A constant: an initializer, a Constant node's value, a feed, or a
** Transpose of one of those (then its values are in owned). */
typedef struct nn_onnx_tensor {
  nn_pb_span name, msg;
  long type;
  int rank;
  long long dims[NN_ONNX_MAX_RANK];
  size_t count;          /* product of dims */
  float *owned;          /* [count], or NULL: the values are in msg */
} nn_onnx_tensor;

/* A Linear being built: W [n_out][n_in] then b [n_out], in one block. */
typedef struct nn_onnx_linear {
  size_t layer;
  float *wb;
} nn_onnx_linear;

typedef struct nn_onnx_reader {
  char *err;
  long opset;
  nn_pb_span *nodes;    size_t n_nodes;
  nn_onnx_tensor *consts;       size_t n_consts, cap_consts;
  nn_layer *layers;     size_t n_layers;
  nn_onnx_linear *lins;         size_t n_lins;
  /* the data as it leaves the node before */
  nn_pb_span cur;
  int rank;
  long long dims[NN_ONNX_MAX_RANK];   /* -1: not known before run time */
  int row_fixed;        /* a Linear or a SoftMax has fixed what a row is */
  int open_linear;      /* the data are a Linear's output, untouched: an Add
                           of a constant is its bias */
  /* the node being read, for messages */
  size_t node_no;
  char node_desc[128];
} nn_onnx_reader;

#define CORRUPT(r, what) nn_onnx_fail((r), NN_IO_EFORMAT, "not an ONNX model: %s is corrupt", (what))

typedef struct nn_onnx_attr {
  nn_pb_span name;
  long type;            /* AttributeProto.type, or 0 when not written */
  int has_f, has_i, has_t, has_ints;
  float f;
  long long i;
  nn_pb_span t, ints;   /* ints: the packed payload, or one varint's field */
  int ints_packed;
} nn_onnx_attr;

const char *nn_onnx_type_name(long t);
int nn_onnx_fail(nn_onnx_reader *r, int status, const char *fmt, ...);
const char *nn_onnx_show(nn_pb_span s, char buf[48]);
int nn_onnx_is(nn_pb_span s, const char *text);
int nn_onnx_same(nn_pb_span a, nn_pb_span b);
int nn_onnx_tensor_header(nn_onnx_reader *r, nn_pb_span msg, nn_onnx_tensor *t);
int nn_onnx_tensor_floats(nn_onnx_reader *r, const nn_onnx_tensor *t, float *out);
int nn_onnx_tensor_ints(nn_onnx_reader *r, const nn_onnx_tensor *t, long long *out, size_t max);
int nn_onnx_add_const(nn_onnx_reader *r, const nn_onnx_tensor *t);
nn_onnx_tensor *nn_onnx_find_const(nn_onnx_reader *r, nn_pb_span name);
size_t nn_onnx_node_strings(nn_pb_span node, uint32_t number, size_t k, nn_pb_span *s);
int nn_onnx_read_attr(nn_onnx_reader *r, nn_pb_span msg, nn_onnx_attr *a);
int nn_onnx_attr_ints(nn_onnx_reader *r, nn_pb_span node_attr,
                      long long *out /* [max] */, size_t max, size_t *n);
int nn_onnx_node_attrs(nn_onnx_reader *r, nn_pb_span node, const char *const *allowed,
                       nn_onnx_attr *want, nn_pb_span *raw);
int nn_onnx_attr_int(nn_onnx_reader *r, const nn_onnx_attr *a, long long dflt, long long *v);
int nn_onnx_attr_float(nn_onnx_reader *r, const nn_onnx_attr *a, float dflt, float *v);

#endif
