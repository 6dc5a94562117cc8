/*
** nn_data.c: the readers of nn_data.h (IDX, FANN .data, CSV).
**
** What it implements: a byte source over zlib's gz* functions (which read
** gzip and plain files alike), and the three formats, each refusing what it
** does not understand with the byte, line or column where it stopped; their
** numbers are read by nn_number.h.
**
** What it is not: no Lua, no SQLite, no writer.  Nothing prints or exits;
** every function returns an NN_DATA_* status and fills err.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/nn_data.h"
#include "formats/nn_data_src.h"

int nn_data_fail(char err[NN_ERRMAX], int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, NN_ERRMAX, fmt, ap);
  va_end(ap);
  return status;
}

int nn_data_nomem(char err[NN_ERRMAX]) {
  return nn_data_fail(err, NN_ENOMEM, "out of memory");
}

int nn_data_field_number(const char *s, size_t n, double *out) {
  return n <= NN_NUMBER_FIELD_MAX && nn_number_read(s, n, out);
}

/* ------------------------------------------------------------------------
** Bytes in, gzip or not
*/

nn_data_limits nn_data_limits_of(const nn_data_limits *lim) {
  nn_data_limits d;
  d.max_bytes = lim && lim->max_bytes ? lim->max_bytes : NN_DATA_MAX_BYTES;
  d.max_field = lim && lim->max_field ? lim->max_field : NN_DATA_MAX_FIELD;
  return d;
}

int nn_src_open(nn_src *s, const char *path, const nn_data_limits *lim, char err[NN_ERRMAX]) {
  memset(s, 0, sizeof *s);
  s->max_bytes = nn_data_limits_of(lim).max_bytes;
  if (!(s->buf = malloc(NN_SRC_BUF)))
    return nn_data_nomem(err);
  errno = 0;
  s->gz = gzopen(path, "rb");
  if (!s->gz) {
    int e = errno;
    free(s->buf);
    s->buf = NULL;
    return e ? nn_data_fail(err, NN_EIO, "cannot open (%s)", strerror(e)) : nn_data_nomem(err);
  }
  return NN_OK;
}

void nn_src_close(nn_src *s) {
  if (s->gz)
    gzclose(s->gz);
  free(s->buf);
  memset(s, 0, sizeof *s);
}

/* Read up to what max_bytes leaves; when it leaves nothing, one byte more
** is an endless input (a device, a gzip bomb), which ends here. */
static int src_read_room(nn_src *s, char err[NN_ERRMAX]) {
  uint64_t room = s->max_bytes - s->offset;
  unsigned char extra;
  int n;
  if (room > 0)
    return gzread(s->gz, s->buf, room < NN_SRC_BUF ? (unsigned)room : NN_SRC_BUF);
  if ((n = gzread(s->gz, &extra, 1)) <= 0)
    return n;
  s->failed = 1;
  nn_data_fail(err, NN_EFORMAT, "more than %llu bytes to read (option max_bytes)",
               (unsigned long long)s->max_bytes);
  return -1;
}

/* Refill; 0 at the end of the stream or on an error (s->failed, err). */
int nn_src_fill(nn_src *s, char err[NN_ERRMAX]) {
  int n, errnum = 0;
  if (s->failed)
    return 0;
  s->offset += s->len;
  s->pos = s->len = 0;
  n = src_read_room(s, err);
  if (s->failed)
    return 0;
  if (n > 0) {
    s->len = (size_t)n;
    return 1;
  }
  gzerror(s->gz, &errnum);
  if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
    s->failed = 1;
    if (errnum == Z_ERRNO)
      nn_data_fail(err, NN_EIO, "cannot read (%s)", strerror(errno));
    else
      nn_data_fail(err, NN_EFORMAT, "the gzip stream is %s after byte %llu",
                   errnum == Z_BUF_ERROR ? "cut short" : "corrupt",
                   (unsigned long long)s->offset);
  }
  return 0;
}

/* The next byte, or -1 at the end (check s->failed). */
int nn_src_getc(nn_src *s, char err[NN_ERRMAX]) {
  if (s->pos == s->len && !nn_src_fill(s, err))
    return -1;
  return s->buf[s->pos++];
}

/* Where the next byte comes from. */
static uint64_t nn_src_tell(const nn_src *s) {
  return s->offset + s->pos;
}

/* Up to n bytes into p; how many came (fewer: the end, or s->failed). */
static size_t nn_src_read(nn_src *s, unsigned char *p, size_t n, char err[NN_ERRMAX]) {
  size_t got = 0;
  while (got < n) {
    size_t k;
    if (s->pos == s->len && !nn_src_fill(s, err))
      break;
    k = s->len - s->pos < n - got ? s->len - s->pos : n - got;
    memcpy(p + got, s->buf + s->pos, k);
    s->pos += k;
    got += k;
  }
  return got;
}

/* How many of the next need bytes can be read (need, or fewer at the
** end), read and not kept: a size a header announces is checked so before
** anything is allocated for it. */
static uint64_t nn_src_skip(nn_src *s, uint64_t need, char err[NN_ERRMAX]) {
  uint64_t got = 0;
  while (got < need) {
    size_t k;
    if (s->pos == s->len && !nn_src_fill(s, err))
      break;
    k = s->len - s->pos;
    if ((uint64_t)k > need - got) k = (size_t)(need - got);
    s->pos += k;
    got += k;
  }
  return got;
}

/* ------------------------------------------------------------------------
** IDX: 0x00 0x00 type ndims, ndims big-endian uint32 sizes, then the
** elements, big-endian, row-major.
*/

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t idx_size(int type) {
  switch (type) {
  case 0x08: case 0x09: return 1;
  case 0x0B:            return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E:            return 8;
  default:              return 0;
  }
}

static int idx_read_header(nn_src *s, nn_idx_info *info, char err[NN_ERRMAX]) {
  unsigned char h[4 + 4 * NN_IDX_MAXDIMS];
  size_t i, got, total;
  memset(info, 0, sizeof *info);
  got = nn_src_read(s, h, 4, err);
  if (s->failed)
    return NN_EFORMAT;
  if (got < 4)
    return nn_data_fail(err, NN_EFORMAT, "the file ends at byte %zu, inside its header", got);
  if (h[0] || h[1])
    return nn_data_fail(err, NN_EFORMAT, "bytes 0-1 are 0x%02x%02x, not 0: not an IDX file",
                h[0], h[1]);
  info->type = h[2];
  if (!idx_size(info->type))
    return nn_data_fail(err, NN_EFORMAT, "byte 2: unknown element type 0x%02x", h[2]);
  info->ndims = h[3];
  if (info->ndims < 1 || info->ndims > NN_IDX_MAXDIMS)
    return nn_data_fail(err, NN_EFORMAT, "byte 3: %zu dimensions (1 to %d are read)",
                info->ndims, NN_IDX_MAXDIMS);
  got = nn_src_read(s, h + 4, 4 * info->ndims, err);
  if (s->failed)
    return NN_EFORMAT;
  if (got < 4 * info->ndims)
    return nn_data_fail(err, NN_EFORMAT, "the file ends at byte %zu, inside its header",
                4 + got);
  total = 1;
  for (i = 0; i < info->ndims; i++) {
    uint32_t d = be32(h + 4 + 4 * i);
    if (d == 0 && i > 0)
      return nn_data_fail(err, NN_EFORMAT, "byte %zu: dimension %zu is 0", 4 + 4 * i, i + 1);
    if (d > NN_MAX_PARAMS || (d && total > NN_MAX_PARAMS / d))
      return nn_data_fail(err, NN_EFORMAT, "byte %zu: the dimensions hold more than %zu "
                  "elements", 4 + 4 * i, (size_t)NN_MAX_PARAMS);
    info->dims[i] = d;
    total *= d ? d : 1;
  }
  info->rows = info->dims[0];
  info->cols = 1;
  for (i = 1; i < info->ndims; i++)
    info->cols *= info->dims[i];
  return NN_OK;
}

/* The cost of the result and the bytes of the file, within max_bytes, and
** every element's bytes there after the header. */
static int idx_check_size(nn_src *s, const nn_idx_info *info, size_t cost, char err[NN_ERRMAX]) {
  uint64_t n = (uint64_t)info->rows * info->cols, size = idx_size(info->type), got;
  uint64_t start = nn_src_tell(s);
  if (n * cost > s->max_bytes)
    return nn_data_fail(err, NN_EFORMAT, "%llu elements take %llu bytes once read, more "
                "than %llu (option max_bytes)", (unsigned long long)n,
                (unsigned long long)(n * cost), (unsigned long long)s->max_bytes);
  if (start + n * size > s->max_bytes)
    return nn_data_fail(err, NN_EFORMAT, "the header announces %llu bytes with its "
                "elements, more than %llu (option max_bytes)",
                (unsigned long long)(start + n * size), (unsigned long long)s->max_bytes);
  got = nn_src_skip(s, n * size, err);
  if (s->failed)
    return NN_EFORMAT;
  if (got < n * size)
    return nn_data_fail(err, NN_EFORMAT, "the file ends at byte %llu, inside element %llu "
                "of the %llu its header announces", (unsigned long long)(start + got),
                (unsigned long long)(got / size + 1), (unsigned long long)n);
  return NN_OK;
}

int nn_idx_header(const char *path, const nn_data_limits *lim, size_t cost,
                  nn_idx_info *info, char err[NN_ERRMAX]) {
  nn_src s;
  int rc;
  if ((rc = nn_src_open(&s, path, lim, err)) != NN_OK)
    return rc;
  if ((rc = idx_read_header(&s, info, err)) == NN_OK)
    rc = idx_check_size(&s, info, cost, err);
  nn_src_close(&s);
  return rc;
}

/* Element p (size bytes, big-endian) of type as a double. */
static double idx_value(int type, const unsigned char *p) {
  uint32_t u;
  uint64_t w;
  float f;
  double d;
  switch (type) {
  case 0x08: return p[0];
  case 0x09: return p[0] < 128 ? p[0] : (double)p[0] - 256;
  case 0x0B: u = (uint32_t)p[0] << 8 | p[1];
             return u < 32768 ? (double)u : (double)u - 65536;
  case 0x0C: u = be32(p);
             return u < 0x80000000u ? (double)u : (double)u - 4294967296.0;
  case 0x0D: u = be32(p);
             memcpy(&f, &u, 4);
             return f;
  default:   w = (uint64_t)be32(p) << 32 | be32(p + 4);
             memcpy(&d, &w, 8);
             return d;
  }
}

int nn_idx_read(const char *path, const nn_data_limits *lim, const nn_idx_info *info,
                double scale, float *out, char err[NN_ERRMAX]) {
  size_t size = idx_size(info->type), n = info->rows * info->cols, i;
  nn_idx_info now;
  uint64_t start;
  nn_src s;
  int rc;
  if ((rc = nn_src_open(&s, path, lim, err)) != NN_OK)
    return rc;
  if ((rc = idx_read_header(&s, &now, err)) != NN_OK)
    goto done;
  if (memcmp(&now, info, sizeof now) != 0) {
    rc = nn_data_fail(err, NN_EFORMAT, "the header changed since it was read");
    goto done;
  }
  start = nn_src_tell(&s);
  for (i = 0; i < n; i++) {
    unsigned char tmp[8];
    const unsigned char *p;
    double v;
    if (s.len - s.pos >= size) {        /* the element is in the buffer */
      p = s.buf + s.pos;
      s.pos += size;
    } else if (nn_src_read(&s, tmp, size, err) == size) {
      p = tmp;
    } else {
      rc = s.failed ? NN_EFORMAT :
           nn_data_fail(err, NN_EFORMAT, "the file ends at byte %llu, inside element %zu "
                "of the %zu its header announces", (unsigned long long)nn_src_tell(&s),
                i + 1, n);
      goto done;
    }
    v = idx_value(info->type, p) * scale;
    if (!nn_number_float(v, &out[i])) {
      rc = nn_data_fail(err, NN_EFORMAT, "byte %llu: element %zu is %s",
                (unsigned long long)(start + i * size), i + 1,
                v != v ? "NaN" : isinf(v) ? "infinite" : "out of range for float32");
      goto done;
    }
  }
  if (nn_src_getc(&s, err) >= 0)
    rc = nn_data_fail(err, NN_EFORMAT, "byte %llu: more bytes than the %zu elements its "
              "header announces", (unsigned long long)(nn_src_tell(&s) - 1), n);
  else if (s.failed)
    rc = NN_EFORMAT;
done:
  nn_src_close(&s);
  return rc;
}

/* ------------------------------------------------------------------------
** FANN .data: "n_pairs n_in n_out", then per pair n_in inputs and n_out
** outputs, all separated by white space (FANN writes each on its own line,
** and reads them with fscanf, which does not care).
*/

typedef struct tok {
  char text[NN_NUMBER_FIELD_MAX + 2];
  size_t len;
  size_t line, col;      /* of its first character, 1-based */
} tok;

/* The next white-space separated token: 1, 0 at the end, -1 on an error. */
static int next_token(nn_lexer *lx, tok *t, char err[NN_ERRMAX]) {
  int c;
  for (;;) {
    c = nn_src_getc(&lx->s, err);
    if (c < 0)
      return lx->s.failed ? -1 : 0;
    if (c == '\n') {
      lx->line++;
      lx->col = 1;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      lx->col++;
    } else {
      break;
    }
  }
  t->line = lx->last_line = lx->line;
  t->col = lx->col;
  t->len = 0;
  while (c >= 0 && !(c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' ||
                     c == '\n')) {
    if (t->len <= NN_NUMBER_FIELD_MAX)
      t->text[t->len++] = (char)c;
    if (++lx->col - t->col > lx->max_field) {
      nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: a token of more than %zu bytes "
                   "(option max_field)", t->line, t->col, lx->max_field);
      return -1;
    }
    c = nn_src_getc(&lx->s, err);
  }
  if (lx->s.failed)
    return -1;
  if (c == '\n') {
    lx->line++;
    lx->col = 1;
  } else if (c >= 0) {
    lx->col++;
  }
  t->text[t->len] = '\0';
  return 1;
}

/* The token quoted for a message, cut to 24 characters. */
static const char *shown(const tok *t) {
  return t->len > 24 ? "(a long token)" : t->text;
}

/* The three counts of the header. */
static int fann_header(nn_lexer *lx, size_t counts[3], char err[NN_ERRMAX]) {
  static const char *const what[3] = { "pairs", "inputs", "outputs" };
  int i;
  for (i = 0; i < 3; i++) {
    tok t;
    size_t j, v = 0;
    int r = next_token(lx, &t, err);
    if (r < 0)
      return NN_EFORMAT;
    if (r == 0)
      return nn_data_fail(err, NN_EFORMAT, "line %zu: the file ends inside the header "
                  "(pairs inputs outputs): the number of %s is missing", lx->last_line,
                  what[i]);
    for (j = 0; j < t.len && t.text[j] >= '0' && t.text[j] <= '9' && v <= NN_MAX_PARAMS; j++)
      v = v * 10 + (size_t)(t.text[j] - '0');
    if (j < t.len || t.len == 0 || (i > 0 && v == 0) ||
        v > (i == 0 ? NN_MAX_PARAMS : NN_MAX_WIDTH))
      return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: '%s' is not a number of "
                  "%s (the header is: pairs inputs outputs)", t.line, t.col, shown(&t),
                  what[i]);
    counts[i] = v;
  }
  if (counts[0] && (counts[0] > NN_MAX_PARAMS / counts[1] ||
                    counts[0] > NN_MAX_PARAMS / counts[2]))
    return nn_data_fail(err, NN_EFORMAT, "line 1: %zu pairs of %zu inputs and %zu outputs "
                "are more than %zu numbers", counts[0], counts[1], counts[2],
                (size_t)NN_MAX_PARAMS);
  return NN_OK;
}

static int fann_open(nn_lexer *lx, const char *path, const nn_data_limits *lim,
                     size_t counts[3], char err[NN_ERRMAX]) {
  int rc;
  if ((rc = nn_src_open(&lx->s, path, lim, err)) != NN_OK)
    return rc;
  lx->line = lx->col = lx->last_line = 1;
  lx->max_field = nn_data_limits_of(lim).max_field;
  if ((rc = fann_header(lx, counts, err)) != NN_OK)
    nn_src_close(&lx->s);
  return rc;
}

/* The numbers the header announces, 4 bytes each once read, within
** max_bytes, and at least a byte for each in what follows the header. */
static int fann_check_size(nn_lexer *lx, const size_t counts[3], char err[NN_ERRMAX]) {
  uint64_t n = (uint64_t)counts[0] * (counts[1] + counts[2]), got;
  if (4 * n > lx->s.max_bytes)
    return nn_data_fail(err, NN_EFORMAT, "line 1: %llu numbers take %llu bytes once read, "
                "more than %llu (option max_bytes)", (unsigned long long)n,
                (unsigned long long)(4 * n), (unsigned long long)lx->s.max_bytes);
  got = nn_src_skip(&lx->s, n, err);
  if (lx->s.failed)
    return NN_EFORMAT;
  if (got < n)
    return nn_data_fail(err, NN_EFORMAT, "line 1: the header announces %zu pairs of %zu "
                "inputs and %zu outputs, but %llu bytes follow it, fewer than %llu numbers "
                "take", counts[0], counts[1], counts[2], (unsigned long long)got,
                (unsigned long long)n);
  return NN_OK;
}

int nn_fann_data_header(const char *path, const nn_data_limits *lim, size_t *n_pairs,
                        size_t *n_in, size_t *n_out, char err[NN_ERRMAX]) {
  size_t counts[3];
  nn_lexer lx;
  int rc = fann_open(&lx, path, lim, counts, err);
  if (rc != NN_OK)
    return rc;
  rc = fann_check_size(&lx, counts, err);
  nn_src_close(&lx.s);
  *n_pairs = counts[0];
  *n_in = counts[1];
  *n_out = counts[2];
  return rc;
}

int nn_fann_data_read(const char *path, const nn_data_limits *lim, size_t n_pairs,
                      size_t n_in, size_t n_out, float *x, float *t, char err[NN_ERRMAX]) {
  size_t counts[3], p, j;
  nn_lexer lx;
  tok k;
  int rc = fann_open(&lx, path, lim, counts, err), r;
  if (rc != NN_OK)
    return rc;
  if (counts[0] != n_pairs || counts[1] != n_in || counts[2] != n_out) {
    rc = nn_data_fail(err, NN_EFORMAT, "the header changed since it was read");
    goto done;
  }
  for (p = 0; p < n_pairs; p++)
    for (j = 0; j < n_in + n_out; j++) {
      int is_in = j < n_in;
      size_t which = is_in ? j + 1 : j - n_in + 1;
      double v;
      if ((r = next_token(&lx, &k, err)) <= 0) {
        rc = r < 0 ? NN_EFORMAT :
             nn_data_fail(err, NN_EFORMAT, "line %zu: the file ends in pair %zu of %zu "
                  "(%s %zu of %zu expected)", lx.last_line, p + 1, n_pairs,
                  is_in ? "input" : "output", which, is_in ? n_in : n_out);
        goto done;
      }
      if (!nn_data_field_number(k.text, k.len, &v)) {
        rc = nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: '%s' is not a number "
                  "(pair %zu, %s %zu)", k.line, k.col, shown(&k), p + 1,
                  is_in ? "input" : "output", which);
        goto done;
      }
      if (!nn_number_float(v, is_in ? &x[p * n_in + j] : &t[p * n_out + j - n_in])) {
        rc = nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: '%s' is out of range "
                  "for float32", k.line, k.col, shown(&k));
        goto done;
      }
    }
  if ((r = next_token(&lx, &k, err)) != 0)
    rc = r < 0 ? NN_EFORMAT :
         nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: '%s' follows the %zu pairs "
              "the header announces", k.line, k.col, shown(&k), n_pairs);
done:
  nn_src_close(&lx.s);
  return rc;
}

