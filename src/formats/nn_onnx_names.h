/*
** nn_onnx_names.h: the ONNX reader's table of names (not a public header):
** every initializer, graph input and node output by its name, in a hash
** table, so that reading a graph costs in proportion to its file, however
** many names it defines.  nn_onnx_names.c implements it.
*/
#ifndef NN_ONNX_NAMES_H
#define NN_ONNX_NAMES_H

#include <stddef.h>

#include "formats/nn_protobuf.h"

/* What defined a name. */
enum { NN_ONNX_BY_INITIALIZER = 1, NN_ONNX_BY_INPUT, NN_ONNX_BY_NODE };

typedef struct nn_onnx_name {
  nn_pb_span name;
  int by;               /* NN_ONNX_BY_* */
  size_t node;          /* the 1-based node that gives it (NN_ONNX_BY_NODE) */
  size_t konst;         /* 1 + its index in the reader's constants, or 0 */
} nn_onnx_name;

typedef struct nn_onnx_names {
  nn_onnx_name *at;     /* [n] in the order they were added */
  size_t n, cap;
  size_t *slot;         /* [nslot]: 1 + an index into at, 0 when free; a
                           power of two, at most half full */
  size_t nslot;
  size_t probes;        /* slots looked at: what the lookups cost */
} nn_onnx_names;

/* The entry of name, or NULL.  The pointer holds until the next add. */
nn_onnx_name *nn_onnx_names_find(nn_onnx_names *t, nn_pb_span name);
/* Add name: 1 and *e the new entry (zeroed but for its name), 0 and *e the
** entry it has already, -1 out of memory. */
int nn_onnx_names_add(nn_onnx_names *t, nn_pb_span name, nn_onnx_name **e);
void nn_onnx_names_free(nn_onnx_names *t);

#endif
