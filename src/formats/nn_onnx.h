/*
** nn_onnx.h: networks from and to ONNX files, without a protobuf library.
**
** The reader takes the bytes of a ModelProto and gives an nn_net when the
** graph is a chain, from one input to one output, of operators that nn runs
** on rows:
**
**   Gemm (transA = 0, transB 0 or 1, alpha and beta folded into W and b),
**   MatMul by a constant matrix (and an Add of a constant bias after it),
**   Relu, LeakyRelu, Sigmoid, Tanh, Softmax over the last axis, Identity,
**   Dropout (nothing at inference), Flatten and Reshape that keep a row a
**   row, Transpose and Constant on constants, and first on int64 ids a
**   Gather (Embedding), or an EmbeddingBag as nn writes it or as PyTorch
**   1.13 writes it (a Loop over the bags: nn_onnx_read.c),
**
** with float32 weights in raw_data or float_data, in opsets 6 to 18 of the
** default domain.  Anything else is refused with a message naming the node,
** its operator and what is wrong; the bytes are never trusted (a truncated
** or corrupt file is an error, and no count or size read from it is
** allocated before the bytes behind it are known to be there).
**
** The writer gives a ModelProto, opset 13, of a net of Linear (Gemm with
** transB = 1), ReLU, LeakyReLU, Sigmoid, Tanh, SoftMax (axis -1) and Identity
** layers (and the other kinds with an ONNX form: see the kind table, and
** EmbeddingBag's plain operators, nn_onnx_write.c), its input "input" of
** shape [batch, n_inputs] with a symbolic batch.
**
** Pure C99: no Lua, no SQLite.  Labels are not part of either: ONNX has no
** place for them that other tools read.
*/
#ifndef NN_ONNX_H
#define NN_ONNX_H

#include <stddef.h>

#include "engine/nn_engine.h"
#include "formats/nn_io.h"

#define NN_ONNX_OPSET_MIN    6
#define NN_ONNX_OPSET_MAX    18
#define NN_ONNX_OPSET_WRITE  13
#define NN_ONNX_MAX_RANK     16

/* A serialized TensorProto given for a graph input that is not an
** initializer: the reader takes it as a constant.  The ONNX test data keep
** Gemm's B and C that way, as inputs 2 and 3 of the graph. */
typedef struct nn_onnx_feed {
  const unsigned char *data;
  size_t n;
} nn_onnx_feed;

/* What the reader learnt beside the net. */
typedef struct nn_onnx_info {
  size_t row;          /* numbers in one input row: net->n_inputs, or when the
                          net has no Linear the width fixed by the graph's
                          input shape (0 when that is symbolic) */
  long opset;          /* the default domain's opset */
  size_t name_probes;  /* what finding names cost the reader: the slots of
                          its table of names it looked at (a spec reads
                          it to prove the reader linear in its file) */
} nn_onnx_info;

/* Read the ModelProto in data[n] into a new net (nn_net_free it).  feeds
** bind, in order, the graph's data inputs after the first.  Returns NN_OK,
** or NN_EFORMAT (not a valid ModelProto), NN_EUNSUPPORTED (valid, but
** not a network nn runs) or NN_ENOMEM, with the message in err.  info
** may be NULL. */
int nn_onnx_read(const unsigned char *data /* [n] */, size_t n,
                 const nn_onnx_feed *feeds /* [n_feeds] */, size_t n_feeds,
                 nn_net **out, nn_onnx_info *info, char err[NN_ERRMAX]);

/* Read a serialized float TensorProto (a test's input_0.pb), or an int64
** one (ids, exact below 2^24): its values as floats in a new array (free
** it) and their count. */
int nn_onnx_read_tensor(const unsigned char *data /* [n] */, size_t n,
                        float **values, size_t *count, char err[NN_ERRMAX]);

/* Write net as a ModelProto into a new buffer (free it).  Returns
** NN_EUNSUPPORTED for a net ONNX cannot be given (no Linear to fix its
** width), NN_ENOMEM. */
int nn_onnx_write(const nn_net *net, unsigned char **out, size_t *n,
                  char err[NN_ERRMAX]);

#endif
