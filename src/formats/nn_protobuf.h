/*
** nn_protobuf.h: the protobuf wire format, read from a byte span and written
** into a growing buffer, for the ONNX reader and writer (nn_onnx_*.c).
**
** Only the wire format: varints, fixed 32/64-bit values and length-delimited
** fields (messages, strings, packed arrays).  It knows no .proto schema and
** no message; groups (wire types 3 and 4, unused since proto2) are refused.
** Pure C99: no Lua, no SQLite.  A reader never reads past its span, whatever
** the bytes say; a writer that runs out of memory says so once, at the end.
*/
#ifndef NN_PROTOBUF_H
#define NN_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

/* A span of bytes: a whole message, or a field's payload inside one. */
typedef struct nn_pb_span {
  const unsigned char *p;
  size_t n;
} nn_pb_span;

/* One field as read from a message. */
typedef struct nn_pb_field {
  uint32_t number;      /* the field number (tag >> 3) */
  int wire;             /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
  uint64_t u;           /* wire 0, 1 and 5: the value */
  nn_pb_span s;         /* wire 2: the payload */
} nn_pb_field;

/* Read the next field of *m into f and advance *m past it.  Returns 1 for a
** field, 0 at the end of the message, -1 when the bytes are not a valid
** message (a varint of more than 10 bytes, a length beyond the end, a group
** or an unknown wire type, field number 0). */
int nn_pb_next(nn_pb_span *m, nn_pb_field *f);

/* The next varint of *m (for packed arrays); -1 when malformed or at the end. */
int nn_pb_varint(nn_pb_span *m, uint64_t *v);

/* A fixed32 field's bits as a float (wire 5 only). */
float nn_pb_float(uint64_t u);

/* Little-endian float32 at p (any alignment). */
float nn_pb_le_float(const unsigned char *p /* [4] */);

/* A growing output buffer. */
typedef struct nn_pb_out {
  unsigned char *p;
  size_t n, cap;
  int failed;           /* out of memory (or too large) at some point */
} nn_pb_out;

/* Field writers; each appends the tag and the value.  They never fail
** visibly: a failure sets o->failed and later writes do nothing. */
void nn_pb_put_varint(nn_pb_out *o, uint32_t number, uint64_t v);
void nn_pb_put_float(nn_pb_out *o, uint32_t number, float v);
void nn_pb_put_bytes(nn_pb_out *o, uint32_t number, const void *data, size_t n);
void nn_pb_put_string(nn_pb_out *o, uint32_t number, const char *s);
/* A nested message: the content of sub, which is then freed. */
void nn_pb_put_message(nn_pb_out *o, uint32_t number, nn_pb_out *sub);
void nn_pb_free(nn_pb_out *o);

#endif
