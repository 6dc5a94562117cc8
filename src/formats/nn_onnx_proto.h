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

#include "formats/nn_onnx.h"
#include "formats/nn_onnx_names.h"
#include "formats/nn_protobuf.h"

/* TensorProto.data_type values the reader uses. */
enum { NN_ONNX_FLOAT = 1, NN_ONNX_INT64 = 7, NN_ONNX_BOOL = 9 };

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

#define NN_ONNX_MAX_PATTERN  16   /* nodes of a kind's pattern, at most */

/* A value of the data a node has computed: its name, the net's value it
** is, and its shape. */
typedef struct nn_onnx_value {
  nn_pb_span name;
  size_t value;
  int rank;
  long long dims[NN_ONNX_MAX_RANK];
} nn_onnx_value;

typedef struct nn_onnx_reader {
  char *err;                                      /* [NN_ERRMAX] */
  long opset;
  nn_onnx_tensor *consts;  size_t n_consts, cap_consts;
  nn_onnx_names names;     /* every name the graph defines, once each */
  nn_layer *layers;        size_t n_layers;       /* at most one per node */
  size_t layers_cap;          /* room for layers, their hyper-parameters after them */
  nn_onnx_linear *lins;    size_t n_lins;
  /* the data as they leave the node before, and which value of the
  ** net they are (0 the input, j + 1 layer j's output: nn_layer.from) */
  nn_pb_span cur;
  size_t cur_value;
  /* every value the nodes have computed, a graph's branches read */
  struct nn_onnx_value *vals;  size_t n_vals;
  int rank;
  long long dims[NN_ONNX_MAX_RANK];   /* -1: not known before run time */
  int row_fixed;        /* a Linear or a SoftMax has fixed what a row is */
  int ids_in;           /* the graph's input is int64: ids, which only a
                           kind that takes ids (Gather: Embedding) reads */
  int image;            /* the data are images, whose nn.Input is made */
  int padded;           /* a Pad of pad[] waits for the AveragePool after it */
  long long pad[2];
  int open_linear;      /* the data are a Linear's output, untouched: an Add
                           of a constant is its bias */
  /* the node being read, for messages ("" outside the nodes) */
  size_t node_no;
  char node_desc[192];
  /* a kind's pattern of nodes being matched (nn_kind_info.onnx.nodes):
  ** its kind (NN_KIND_COUNT: none), the data it started from, and the
  ** nodes matched so far, with their outputs and numbers */
  int pat_kind;
  size_t pat_at;
  nn_pb_span pat_x;
  nn_pb_span pat_node[NN_ONNX_MAX_PATTERN], pat_out[NN_ONNX_MAX_PATTERN];
  size_t pat_no[NN_ONNX_MAX_PATTERN];
  /* an EmbeddingBag's form being matched (nn_onnx_read.c), nn's or
  ** PyTorch's Loop (bag_torch): the nodes matched so far (0: none), the
  ** ids, the table and the nodes' outputs (and the Loop's body's) */
  size_t bag_at;
  int bag_torch;
  nn_pb_span bag_x, bag_table, bag_out[28];
} nn_onnx_reader;

/* One AttributeProto: the fields the reader uses. */
typedef struct nn_onnx_attr {
  nn_pb_span name;
  long type;            /* AttributeProto.type, or 0 when not written */
  int has_f, has_i, has_t;
  float f;
  long long i;
  nn_pb_span t;         /* a TensorProto */
} nn_onnx_attr;

/* Every function that can fail returns an NN_IO_* status and leaves the
** message in r->err, prefixed with the node being read. */
int nn_onnx_fail(nn_onnx_reader *r, int status, const char *fmt, ...);
#define NN_ONNX_CORRUPT(r, what) \
  nn_onnx_fail((r), NN_EFORMAT, "not an ONNX model: %s is corrupt", (what))

/* For messages: a data type's name; a span as printable text (at most 40
** bytes, others as '?'). */
const char *nn_onnx_type_name(long t);
const char *nn_onnx_show(nn_pb_span s, char buf[48]);
/* Whether a span is the text; whether two spans hold the same bytes. */
int nn_onnx_is(nn_pb_span s, const char *text);
int nn_onnx_same(nn_pb_span a, nn_pb_span b);

/* A TensorProto's name, type, dims and count; refuses data kept elsewhere,
** and a float or int64 tensor whose bytes hold fewer or more values than
** its dims say (so that count is safe to allocate). */
int nn_onnx_tensor_header(nn_onnx_reader *r, nn_pb_span msg, nn_onnx_tensor *t);
/* Its values: floats (every one finite), or int64s (at most max). */
int nn_onnx_tensor_floats(nn_onnx_reader *r, const nn_onnx_tensor *t,
                          float *out /* [t->count] */);
int nn_onnx_tensor_ints(nn_onnx_reader *r, const nn_onnx_tensor *t,
                        long long *out /* [max] */, size_t max);
/* The constants by name, through the table of names (the name's entry is
** made when the name is not there yet). */
int nn_onnx_add_const(nn_onnx_reader *r, const nn_onnx_tensor *t);
nn_onnx_tensor *nn_onnx_find_const(nn_onnx_reader *r, nn_pb_span name);

/* A message's fields that may come once, by number (below 64) and name; a
** list ends with a 0 number.  Refuses, as "whose gives field 'name'
** twice", a message that gives one of them twice (protobuf would keep the
** last, or merge them: either way a reader would see another model). */
typedef struct nn_onnx_field {
  unsigned number;
  const char *name;
} nn_onnx_field;
int nn_onnx_once(nn_onnx_reader *r, nn_pb_span msg, const nn_onnx_field *once,
                 const char *whose);

/* The k-th string of field number of a node (1 input, 2 output), empty when
** there is no such; returns how many there are. */
size_t nn_onnx_node_strings(nn_pb_span node, uint32_t number, size_t k, nn_pb_span *s);
/* The node's attributes, each of whose names must be in allowed (ending in
** NULL): want[k] and raw[k] are the one named allowed[k] (an empty name when
** absent). */
int nn_onnx_node_attrs(nn_onnx_reader *r, nn_pb_span node, const char *const *allowed,
                       nn_onnx_attr *want, nn_pb_span *raw);
/* An attribute's value, or dflt when absent; refuses one of another type. */
int nn_onnx_attr_int(nn_onnx_reader *r, const nn_onnx_attr *a, long long dflt, long long *v);
int nn_onnx_attr_float(nn_onnx_reader *r, const nn_onnx_attr *a, float dflt, float *v);
/* The values of an INTS attribute, from its raw AttributeProto. */
int nn_onnx_attr_ints(nn_onnx_reader *r, nn_pb_span raw,
                      long long *out /* [max] */, size_t max, size_t *n);

#endif
