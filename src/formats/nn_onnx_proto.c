/*
** nn_onnx_proto.c: the ONNX messages below the graph, read from their bytes
** (see nn_onnx_proto.h): a TensorProto's header and values, a node's
** inputs, outputs and attributes.  Every count is checked against the bytes
** behind it before anything is allocated for it.
**
** Not the graph: nn_onnx_read.c follows the nodes and builds the layers.
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_onnx_proto.h"

const char *nn_onnx_type_name(long t) {
  static const char *const names[] = {
    "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
    "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
    "complex128", "bfloat16"
  };
  return t >= 0 && t <= 16 ? names[t] : "an unknown type";
}




int nn_onnx_fail(nn_onnx_reader *r, int status, const char *fmt, ...) {
  va_list ap;
  int k = 0;
  if (r->node_desc[0]) k = snprintf(r->err, NN_ERRMAX, "%s: ", r->node_desc);
  if (k < 0 || k >= NN_ERRMAX) k = 0;
  va_start(ap, fmt);
  vsnprintf(r->err + k, NN_ERRMAX - (size_t)k, fmt, ap);
  va_end(ap);
  return status;
}


/* A span as printable text for a message, at most 40 bytes. */
const char *nn_onnx_show(nn_pb_span s, char buf[48]) {
  size_t i, n = s.n > 40 ? 40 : s.n;
  for (i = 0; i < n; i++) {
    unsigned char c = s.p[i];
    buf[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (s.n > 40) { buf[37] = buf[38] = buf[39] = '.'; }
  buf[n] = '\0';
  return buf;
}

int nn_onnx_is(nn_pb_span s, const char *text) {
  size_t n = strlen(text);
  return s.n == n && memcmp(s.p, text, n) == 0;
}

int nn_onnx_same(nn_pb_span a, nn_pb_span b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}


/* --- tensors ------------------------------------------------------------ */

static int bad_count(nn_onnx_reader *r, const nn_onnx_tensor *t) {
  char b[48];
  return nn_onnx_fail(r, NN_EFORMAT, "tensor '%s' does not hold the %zu values its "
                      "dims say", nn_onnx_show(t->name, b), t->count);
}

/* A float or int64 tensor must hold as many values as its dims say, before
** anything is allocated for them: a count in the dims costs nothing to fake. */
static int check_present(nn_onnx_reader *r, const nn_onnx_tensor *t) {
  nn_pb_span m = t->msg;
  nn_pb_field f;
  size_t raw = 0, listed = 0, size = t->type == NN_ONNX_FLOAT ? 4 : 8;
  int has_raw = 0;
  if (t->type != NN_ONNX_FLOAT && t->type != NN_ONNX_INT64) return NN_OK;
  while (nn_pb_next(&m, &f) > 0) {
    if (f.number == 9 && f.wire == 2) { raw += f.s.n; has_raw = 1; }
    else if (t->type == NN_ONNX_FLOAT && f.number == 4)
      listed += f.wire == 2 ? f.s.n / 4 : 1;
    else if (t->type == NN_ONNX_INT64 && f.number == 7 && f.wire == 0) listed++;
    else if (t->type == NN_ONNX_INT64 && f.number == 7 && f.wire == 2) {
      size_t i;
      for (i = 0; i < f.s.n; i++) listed += !(f.s.p[i] & 0x80);
    }
  }
  if (has_raw ? raw / size == t->count && raw % size == 0 : listed == t->count)
    return NN_OK;
  return bad_count(r, t);
}

/* A TensorProto's fields that come once. */
static int tensor_once(nn_onnx_reader *r, const nn_onnx_tensor *t) {
  static const nn_onnx_field once[] = {
    { 2, "data_type" }, { 8, "name" }, { 9, "raw_data" }, { 14, "data_location" }, { 0, NULL }
  };
  char b[48], whose[64];
  snprintf(whose, sizeof whose, "tensor '%s'", nn_onnx_show(t->name, b));
  return nn_onnx_once(r, t->msg, once, whose);
}

/* Read a TensorProto's header: name, type, dims, count; refuses data kept
** elsewhere. */
int nn_onnx_tensor_header(nn_onnx_reader *r, nn_pb_span msg, nn_onnx_tensor *t) {
  nn_pb_span m = msg;
  nn_pb_field f;
  int st, i;
  memset(t, 0, sizeof *t);
  t->msg = msg;
  while ((st = nn_pb_next(&m, &f)) > 0) {
    if (f.number == 1 && f.wire == 0) {
      if (t->rank == NN_ONNX_MAX_RANK)
        return nn_onnx_fail(r, NN_EUNSUPPORTED, "a tensor has more than %d dimensions",
                    NN_ONNX_MAX_RANK);
      t->dims[t->rank++] = (long long)f.u;
    } else if (f.number == 1 && f.wire == 2) {
      nn_pb_span p = f.s;
      uint64_t v;
      while (p.n > 0) {
        if (nn_pb_varint(&p, &v) < 0) return NN_ONNX_CORRUPT(r, "a tensor's dims");
        if (t->rank == NN_ONNX_MAX_RANK)
          return nn_onnx_fail(r, NN_EUNSUPPORTED, "a tensor has more than %d dimensions",
                      NN_ONNX_MAX_RANK);
        t->dims[t->rank++] = (long long)v;
      }
    } else if (f.number == 2 && f.wire == 0) {
      t->type = (long)f.u;
    } else if (f.number == 8 && f.wire == 2) {
      t->name = f.s;
    } else if (f.number == 3 || f.number == 13 || (f.number == 14 && f.u == 1)) {
      char b[48];
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' keeps its data in %s, "
                  "which is not supported", nn_onnx_show(t->name, b),
                  f.number == 3 ? "segments" : "an external file");
    }
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "a tensor");
  if ((st = tensor_once(r, t)) != NN_OK) return st;
  t->count = 1;
  for (i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0 || (unsigned long long)t->dims[i] > NN_MAX_PARAMS) {
      char b[48];
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' has a dimension of %lld",
                  nn_onnx_show(t->name, b), t->dims[i]);
    }
    if (t->dims[i] != 0 && t->count > NN_MAX_PARAMS / (size_t)t->dims[i]) {
      char b[48];
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' has more than %zu values",
                  nn_onnx_show(t->name, b), NN_MAX_PARAMS);
    }
    t->count *= (size_t)t->dims[i];
  }
  return check_present(r, t);
}

/* The values of a float tensor into out[t->count]; the bytes must hold
** exactly that many, every one finite. */
int nn_onnx_tensor_floats(nn_onnx_reader *r, const nn_onnx_tensor *t, float *out) {
  nn_pb_span m = t->msg;
  nn_pb_field f;
  size_t got = 0, i;
  int st;
  char b[48];
  if (t->type != NN_ONNX_FLOAT)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' is of type %s, not float",
                nn_onnx_show(t->name, b), nn_onnx_type_name(t->type));
  if (t->owned) {
    memcpy(out, t->owned, t->count * sizeof(float));
    return NN_OK;
  }
  while ((st = nn_pb_next(&m, &f)) > 0) {
    if (f.number == 9 && f.wire == 2) {
      if (got != 0 || f.s.n != t->count * 4) goto count;
      for (i = 0; i < t->count; i++) out[i] = nn_pb_le_float(f.s.p + 4 * i);
      got = t->count;
    } else if (f.number == 4 && f.wire == 2) {
      if (f.s.n % 4 != 0 || f.s.n / 4 > t->count - got) goto count;
      for (i = 0; i < f.s.n / 4; i++) out[got++] = nn_pb_le_float(f.s.p + 4 * i);
    } else if (f.number == 4 && f.wire == 5) {
      if (got == t->count) goto count;
      out[got++] = nn_pb_float(f.u);
    }
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "a tensor");
  if (got != t->count) goto count;
  for (i = 0; i < t->count; i++)
    if (!isfinite(out[i]))
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s': value %zu is not finite",
                  nn_onnx_show(t->name, b), i + 1);
  return NN_OK;
count:
  return bad_count(r, t);
}

/* The values of an int64 tensor of at most max values. */
int nn_onnx_tensor_ints(nn_onnx_reader *r, const nn_onnx_tensor *t, long long *out, size_t max) {
  nn_pb_span m = t->msg;
  nn_pb_field f;
  size_t got = 0, i;
  int st;
  char b[48];
  if (t->type != NN_ONNX_INT64)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' is of type %s, not int64",
                nn_onnx_show(t->name, b), nn_onnx_type_name(t->type));
  if (t->count > max)
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "tensor '%s' has too many values (%zu)",
                nn_onnx_show(t->name, b), t->count);
  while ((st = nn_pb_next(&m, &f)) > 0) {
    if (f.number == 9 && f.wire == 2) {
      if (got != 0 || f.s.n != t->count * 8) goto count;
      for (i = 0; i < t->count; i++) {
        unsigned long long v = 0;
        int k;
        for (k = 7; k >= 0; k--) v = (v << 8) | f.s.p[8 * i + (size_t)k];
        out[i] = (long long)v;
      }
      got = t->count;
    } else if (f.number == 7 && f.wire == 2) {
      nn_pb_span p = f.s;
      uint64_t v;
      while (p.n > 0) {
        if (nn_pb_varint(&p, &v) < 0 || got == t->count) goto count;
        out[got++] = (long long)v;
      }
    } else if (f.number == 7 && f.wire == 0) {
      if (got == t->count) goto count;
      out[got++] = (long long)f.u;
    }
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "a tensor");
  if (got == t->count) return NN_OK;
count:
  return bad_count(r, t);
}

int nn_onnx_add_const(nn_onnx_reader *r, const nn_onnx_tensor *t) {
  nn_onnx_name *e = NULL;
  if (r->n_consts == r->cap_consts) {
    size_t cap = r->cap_consts ? 2 * r->cap_consts : 16;
    nn_onnx_tensor *p = (nn_onnx_tensor *)realloc(r->consts, cap * sizeof *p);
    if (p == NULL) return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
    r->consts = p;
    r->cap_consts = cap;
  }
  /* a constant without a name is kept (its memory freed with the others)
  ** but no node can take it */
  if (t->name.n && nn_onnx_names_add(&r->names, t->name, &e) < 0)
    return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  r->consts[r->n_consts++] = *t;
  if (e) e->konst = r->n_consts;
  return NN_OK;
}

/* The constant of that name, found in the table (never by a scan: a graph
** may have a hundred thousand initializers). */
nn_onnx_tensor *nn_onnx_find_const(nn_onnx_reader *r, nn_pb_span name) {
  nn_onnx_name *e;
  if (name.n == 0 || (e = nn_onnx_names_find(&r->names, name)) == NULL || !e->konst)
    return NULL;
  return &r->consts[e->konst - 1];
}

int nn_onnx_once(nn_onnx_reader *r, nn_pb_span msg, const nn_onnx_field *once,
                 const char *whose) {
  unsigned long long seen = 0;
  nn_pb_field f;
  size_t k;
  while (nn_pb_next(&msg, &f) > 0)
    for (k = 0; once[k].number; k++) {
      unsigned long long bit = 1ULL << once[k].number;
      if (f.number != once[k].number) continue;
      if (seen & bit)
        return nn_onnx_fail(r, NN_EFORMAT, "%s gives field '%s' twice", whose, once[k].name);
      seen |= bit;
    }
  return NN_OK;
}


/* --- nodes -------------------------------------------------------------- */

/* The k-th string of field number in a node (input 1, output 2); returns
** how many there are.  The node was checked whole before. */
size_t nn_onnx_node_strings(nn_pb_span node, uint32_t number, size_t k, nn_pb_span *s) {
  nn_pb_field f;
  size_t count = 0;
  s->p = NULL;
  s->n = 0;
  while (nn_pb_next(&node, &f) > 0)
    if (f.number == number && f.wire == 2) {
      if (count == k) *s = f.s;
      count++;
    }
  return count;
}


static int read_attr(nn_onnx_reader *r, nn_pb_span msg, nn_onnx_attr *a) {
  nn_pb_span m = msg;
  nn_pb_field f;
  int st;
  memset(a, 0, sizeof *a);
  while ((st = nn_pb_next(&m, &f)) > 0) {
    switch (f.number) {
      case 1:  if (f.wire == 2) a->name = f.s; break;
      case 20: if (f.wire == 0) a->type = (long)f.u; break;
      case 2:  if (f.wire == 5) { a->f = nn_pb_float(f.u); a->has_f = 1; } break;
      case 3:  if (f.wire == 0) { a->i = (long long)f.u; a->has_i = 1; } break;
      case 5:  if (f.wire == 2) { a->t = f.s; a->has_t = 1; } break;
      default: break;
    }
  }
  if (st < 0) return NN_ONNX_CORRUPT(r, "an attribute");
  {
    static const nn_onnx_field once[] = {
      { 1, "name" }, { 2, "f" }, { 3, "i" }, { 4, "s" }, { 5, "t" }, { 6, "g" },
      { 20, "type" }, { 0, NULL }
    };
    char b[48], whose[64];
    snprintf(whose, sizeof whose, "attribute '%s'", nn_onnx_show(a->name, b));
    return nn_onnx_once(r, msg, once, whose);
  }
}

/* The values of an INTS attribute (at most max). */
int nn_onnx_attr_ints(nn_onnx_reader *r, nn_pb_span node_attr, long long *out, size_t max,
                     size_t *n) {
  nn_pb_field f;
  *n = 0;
  while (nn_pb_next(&node_attr, &f) > 0) {
    if (f.number != 8) continue;
    if (f.wire == 0) {
      if (*n == max) return nn_onnx_fail(r, NN_EUNSUPPORTED, "too many values in an attribute");
      out[(*n)++] = (long long)f.u;
    } else if (f.wire == 2) {
      nn_pb_span p = f.s;
      uint64_t v;
      while (p.n > 0) {
        if (nn_pb_varint(&p, &v) < 0) return NN_ONNX_CORRUPT(r, "an attribute");
        if (*n == max) return nn_onnx_fail(r, NN_EUNSUPPORTED, "too many values in an attribute");
        out[(*n)++] = (long long)v;
      }
    }
  }
  return NN_OK;
}

/* The node's attributes, each checked against the names allowed (a list
** ending in NULL), found ones copied into want[] by position. */
int nn_onnx_node_attrs(nn_onnx_reader *r, nn_pb_span node, const char *const *allowed,
                      nn_onnx_attr *want, nn_pb_span *raw) {
  nn_pb_field f;
  size_t k;
  for (k = 0; allowed[k]; k++) { memset(&want[k], 0, sizeof want[k]); raw[k].n = 0; }
  while (nn_pb_next(&node, &f) > 0) {
    nn_onnx_attr a;
    int st;
    char b[48];
    if (f.number != 5 || f.wire != 2) continue;
    if ((st = read_attr(r, f.s, &a)) != NN_OK) return st;
    for (k = 0; allowed[k]; k++)
      if (nn_onnx_is(a.name, allowed[k])) break;
    if (!allowed[k])
      return nn_onnx_fail(r, NN_EUNSUPPORTED, "attribute '%s' is not supported", nn_onnx_show(a.name, b));
    if (want[k].name.n)
      return nn_onnx_fail(r, NN_EFORMAT, "attribute '%s' is given twice", nn_onnx_show(a.name, b));
    want[k] = a;
    raw[k] = f.s;
  }
  return NN_OK;
}

int nn_onnx_attr_int(nn_onnx_reader *r, const nn_onnx_attr *a, long long dflt, long long *v) {
  char b[48];
  if (a->name.n == 0) { *v = dflt; return NN_OK; }
  if (!a->has_i || (a->type != 0 && a->type != 2))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "attribute '%s' is not an integer", nn_onnx_show(a->name, b));
  *v = a->i;
  return NN_OK;
}

int nn_onnx_attr_float(nn_onnx_reader *r, const nn_onnx_attr *a, float dflt, float *v) {
  char b[48];
  if (a->name.n == 0) { *v = dflt; return NN_OK; }
  if (!a->has_f || (a->type != 0 && a->type != 1))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "attribute '%s' is not a float", nn_onnx_show(a->name, b));
  if (!isfinite(a->f))
    return nn_onnx_fail(r, NN_EUNSUPPORTED, "attribute '%s' is not finite", nn_onnx_show(a->name, b));
  *v = a->f;
  return NN_OK;
}

/* An int64 tensor (ids) as floats, exact below 2^24. */
static int int64_floats(nn_onnx_reader *r, const nn_onnx_tensor *t, float *out) {
  long long *v = (long long *)malloc((t->count ? t->count : 1) * sizeof *v);
  size_t i;
  int st;
  if (v == NULL) return nn_onnx_fail(r, NN_ENOMEM, "not enough memory");
  if ((st = nn_onnx_tensor_ints(r, t, v, t->count)) == NN_OK)
    for (i = 0; i < t->count; i++) out[i] = (float)v[i];
  free(v);
  return st;
}

int nn_onnx_read_tensor(const unsigned char *data, size_t n, float **values,
                        size_t *count, char err[NN_ERRMAX]) {
  nn_onnx_reader r;
  nn_onnx_tensor t;
  nn_pb_span s;
  int st;
  memset(&r, 0, sizeof r);
  r.err = err;
  s.p = data;
  s.n = n;
  *values = NULL;
  if ((st = nn_onnx_tensor_header(&r, s, &t)) != NN_OK) return st;
  if ((*values = (float *)malloc((t.count ? t.count : 1) * sizeof(float))) == NULL)
    return nn_onnx_fail(&r, NN_ENOMEM, "not enough memory");
  if (t.type == NN_ONNX_INT64) st = int64_floats(&r, &t, *values);
  else st = nn_onnx_tensor_floats(&r, &t, *values);
  if (st != NN_OK) {
    free(*values);
    *values = NULL;
    return st;
  }
  *count = t.count;
  return NN_OK;
}
