/*
** nn_json.h: growable byte buffers and the JSON text nn writes into them.
**
**   nn_buf b = { NULL, 0, 0 };
**   float y[2] = { 0.6456563f, 0.3543437f };
**   if (nn_buf_json_floats(&b, y, 2) == 0)      b holds [0.6456563,0.3543437]
**     ...
**   nn_buf_free(&b);
**
** The store writes architectures, label maps and logged rows with these,
** the SQL functions nn_forward's answer, the binding a row's tags: one
** writer, so that a number or a string reads the same wherever nn wrote it.
** This is not a JSON reader (nn_json_read.h is), and it knows nothing of
** SQLite or Lua.
*/
#ifndef NN_JSON_H
#define NN_JSON_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer.  Its owner reuses it from call to call, so that
** steady-state logging allocates nothing. */
typedef struct nn_buf {
  char *p;
  size_t n, cap;
} nn_buf;

/* Every function below returns 0, or nonzero when memory (or size_t) runs
** out; b then holds what it held before the call's last append. */
int nn_buf_reserve(nn_buf *b, size_t extra);   /* room for extra more bytes */
int nn_buf_add(nn_buf *b, const void *data, size_t n);
int nn_buf_json_string(nn_buf *b, const char *s, size_t n);  /* quoted, escaped */
int nn_buf_json_int(nn_buf *b, int64_t v);
int nn_buf_json_double(nn_buf *b, double v);  /* shortest round trip; null if not finite */
int nn_buf_json_float(nn_buf *b, float v);    /* the same, for a float */
/* v as a JSON array of floats, as nn_buf_json_float writes each. */
int nn_buf_json_floats(nn_buf *b, const float *v /* [n] */, size_t n);
void nn_buf_free(nn_buf *b);

#endif
