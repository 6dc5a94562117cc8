/*
** nn_protobuf.c: the protobuf wire format (see nn_protobuf.h).
**
** Not a protobuf library: no schema, no reflection, no message objects.  The
** ONNX reader walks messages field by field with nn_pb_next and keeps spans
** into the caller's bytes; the writer appends fields to a buffer.
*/
#include <stdlib.h>
#include <string.h>

#include "formats/nn_protobuf.h"

int nn_pb_varint(nn_pb_span *m, uint64_t *v) {
  uint64_t x = 0;
  size_t i;
  for (i = 0; i < 10 && i < m->n; i++) {
    unsigned char b = m->p[i];
    /* the 10th byte carries bit 63 only */
    if (i == 9 && b > 1) return -1;
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      m->p += i + 1;
      m->n -= i + 1;
      *v = x;
      return 1;
    }
  }
  return -1;
}

static uint64_t le(const unsigned char *p, int bytes) {
  uint64_t x = 0;
  int i;
  for (i = bytes - 1; i >= 0; i--) x = (x << 8) | p[i];
  return x;
}

int nn_pb_next(nn_pb_span *m, nn_pb_field *f) {
  uint64_t tag, len;
  if (m->n == 0) return 0;
  if (nn_pb_varint(m, &tag) < 0 || tag >> 3 == 0 || tag >> 3 > 0x1fffffff) return -1;
  f->number = (uint32_t)(tag >> 3);
  f->wire = (int)(tag & 7);
  f->u = 0;
  f->s.p = NULL;
  f->s.n = 0;
  switch (f->wire) {
    case 0:
      return nn_pb_varint(m, &f->u) < 0 ? -1 : 1;
    case 1: case 5: {
      size_t k = f->wire == 1 ? 8 : 4;
      if (m->n < k) return -1;
      f->u = le(m->p, (int)k);
      m->p += k;
      m->n -= k;
      return 1;
    }
    case 2:
      if (nn_pb_varint(m, &len) < 0 || len > m->n) return -1;
      f->s.p = m->p;
      f->s.n = (size_t)len;
      m->p += len;
      m->n -= (size_t)len;
      return 1;
    default:
      return -1;
  }
}

float nn_pb_float(uint64_t u) {
  uint32_t bits = (uint32_t)u;
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

float nn_pb_le_float(const unsigned char *p) {
  return nn_pb_float(le(p, 4));
}


/* --- writing ------------------------------------------------------------ */

static void put(nn_pb_out *o, const void *data, size_t n) {
  if (o->failed || n == 0) return;
  if (n > o->cap - o->n) {
    size_t cap = o->cap ? o->cap : 256;
    unsigned char *p;
    while (cap - o->n < n) {
      if (cap > ((size_t)-1) / 2) { o->failed = 1; return; }
      cap *= 2;
    }
    if ((p = (unsigned char *)realloc(o->p, cap)) == NULL) { o->failed = 1; return; }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->n, data, n);
  o->n += n;
}

static void raw_varint(nn_pb_out *o, uint64_t v) {
  unsigned char b[10];
  int n = 0;
  do {
    b[n] = (unsigned char)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  put(o, b, (size_t)n);
}

static void tag(nn_pb_out *o, uint32_t number, int wire) {
  raw_varint(o, ((uint64_t)number << 3) | (uint64_t)wire);
}

void nn_pb_put_varint(nn_pb_out *o, uint32_t number, uint64_t v) {
  tag(o, number, 0);
  raw_varint(o, v);
}

void nn_pb_put_float(nn_pb_out *o, uint32_t number, float v) {
  uint32_t bits;
  unsigned char b[4];
  memcpy(&bits, &v, sizeof bits);
  b[0] = (unsigned char)bits;
  b[1] = (unsigned char)(bits >> 8);
  b[2] = (unsigned char)(bits >> 16);
  b[3] = (unsigned char)(bits >> 24);
  tag(o, number, 5);
  put(o, b, 4);
}

void nn_pb_put_bytes(nn_pb_out *o, uint32_t number, const void *data, size_t n) {
  tag(o, number, 2);
  raw_varint(o, n);
  put(o, data, n);
}

void nn_pb_put_string(nn_pb_out *o, uint32_t number, const char *s) {
  nn_pb_put_bytes(o, number, s, strlen(s));
}

void nn_pb_put_message(nn_pb_out *o, uint32_t number, nn_pb_out *sub) {
  if (sub->failed) o->failed = 1;
  nn_pb_put_bytes(o, number, sub->p, sub->n);
  nn_pb_free(sub);
}

void nn_pb_free(nn_pb_out *o) {
  free(o->p);
  o->p = NULL;
  o->n = o->cap = 0;
}
