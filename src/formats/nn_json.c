/*
** nn_json.c: byte buffers and JSON text (see nn_json.h).
**
** What it implements: appending to a buffer that grows by doubling, and
** JSON strings (escaped, UTF-8 passed through), integers, doubles in their
** shortest round-trip form whatever the C locale, and float32 numbers and
** arrays through nn_ftoa.  What it is not: a parser, or anything that knows
** where the text goes.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_ftoa.h"
#include "formats/nn_json.h"

int nn_buf_reserve(nn_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (extra <= b->cap - b->n)
    return 0;
  if (extra > SIZE_MAX - b->n)
    return 1;
  need = b->n + extra;
  cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
  p = realloc(b->p, cap);
  if (!p)
    return 1;
  b->p = p;
  b->cap = cap;
  return 0;
}

int nn_buf_add(nn_buf *b, const void *data, size_t n) {
  if (nn_buf_reserve(b, n))
    return 1;
  if (n)
    memcpy(b->p + b->n, data, n);
  b->n += n;
  return 0;
}

void nn_buf_free(nn_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

int nn_buf_json_string(nn_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t i;
  if (nn_buf_add(b, "\"", 1))
    return 1;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6] = { '\\', 0, '0', '0', 0, 0 };
    size_t len = 2;
    switch (c) {
    case '"':  esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      if (c >= 0x20) {       /* bytes from 0x80 up pass through: UTF-8 */
        esc[0] = (char)c;
        len = 1;
      } else {
        esc[1] = 'u';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        len = 6;
      }
    }
    if (nn_buf_add(b, esc, len))
      return 1;
  }
  return nn_buf_add(b, "\"", 1);
}

/* printf follows the C locale's decimal point, JSON does not: a host that
** set LC_NUMERIC to a comma locale must still get valid JSON. */
static void dot_decimal(char *s) {
  for (; *s; s++)
    if (*s == ',')
      *s = '.';
}

int nn_buf_json_int(nn_buf *b, int64_t v) {
  char s[24];
  int n = snprintf(s, sizeof s, "%" PRId64, v);
  return nn_buf_add(b, s, (size_t)n);
}

/* The shortest "%.{lo..hi}g" that reads back as the same value: 11.2f prints
** "11.2", not "11.1999998"; a float needs at most 9 digits, a double 17.  A
** double tries every precision from 1: 15 digits would read back too, but
** are not the shortest for 5e-324 (4.94065645841247e-324). */
int nn_buf_json_double(nn_buf *b, double v) {
  char s[40];
  int p, n = 0;
  if (!isfinite(v))
    return nn_buf_add(b, "null", 4);
  for (p = 1; p <= 17; p++) {
    n = snprintf(s, sizeof s, "%.*g", p, v);
    if (strtod(s, NULL) == v)
      break;
  }
  dot_decimal(s);
  return nn_buf_add(b, s, (size_t)n);
}

/* nn_ftoa, not printf: the log formats every input and output, and printf
** with a float format, then strtof to find the shortest, cost about a sixth
** of a logged row. */
int nn_buf_json_float(nn_buf *b, float v) {
  if (nn_buf_reserve(b, NN_FTOA_MAX))
    return 1;
  b->n += nn_ftoa(b->p + b->n, v);
  return 0;
}

/* Room for all of it is reserved once. */
int nn_buf_json_floats(nn_buf *b, const float *v, size_t n) {
  char *p;
  size_t i;
  if (n > (SIZE_MAX - 2) / (NN_FTOA_MAX + 1) || nn_buf_reserve(b, 2 + n * (NN_FTOA_MAX + 1)))
    return 1;
  p = b->p + b->n;
  *p++ = '[';
  for (i = 0; i < n; i++) {
    if (i)
      *p++ = ',';
    p += nn_ftoa(p, v[i]);
  }
  *p++ = ']';
  b->n = (size_t)(p - b->p);
  return 0;
}
