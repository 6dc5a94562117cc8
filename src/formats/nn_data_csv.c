/*
** nn_data_csv.c: the CSV reader of nn_data.h.
**
** What it implements: RFC 4180 records (a header row, commas, '"' quoting
** with "" inside, line breaks inside quoted fields, CRLF or LF), a target
** column read as numbers or as labels (sorted by their bytes, or the
** caller's map), every other column as numbers.  Errors name the line, the
** column and its header name.
**
** What it is not: no Lua, no SQLite; it reads, it never writes.
*/
#include <stdlib.h>
#include <string.h>

#include "formats/nn_data.h"
#include "formats/nn_data_src.h"

/* Room for need elements of size bytes in *p (capacity *cap); 0 on memory. */
static int grow(void *p, size_t *cap, size_t need, size_t size) {
  void **pp = (void **)p, *q;
  size_t c = *cap ? *cap : 16;
  if (need <= *cap)
    return 1;
  while (c < need) {
    if (c > ((size_t)-1 / 2) / size)
      return 0;
    c *= 2;
  }
  if (!(q = realloc(*pp, c * size)))
    return 0;
  *pp = q;
  *cap = c;
  return 1;
}

static char *copy_text(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

/* One record: its fields' texts one after the other, each ending in '\0'. */
typedef struct record {
  char *text;
  size_t n, cap;
  size_t *start;         /* [nf] offsets into text */
  size_t nf, fcap;
  size_t line;           /* where the record starts */
} record;

static void record_free(record *r) {
  free(r->text);
  free(r->start);
}

static int record_char(record *r, int c) {
  if (!grow(&r->text, &r->cap, r->n + 1, 1))
    return 0;
  r->text[r->n++] = (char)c;
  return 1;
}

/* Whether c ends a line: '\n', or '\r' before '\n' (both then consumed). */
static int end_of_line(nn_lexer *lx, int c, char err[NN_ERRMAX]) {
  if (c == '\r') {
    int next = nn_src_getc(&lx->s, err);
    if (next == '\n')
      return 1;
    if (next >= 0)
      lx->s.pos--;   /* it came from the buffer: give it back */
    return 0;
  }
  return c == '\n';
}

/* One more character of the record's last field, which may be at most
** lx->max_field bytes long: a field that never ends is refused, not grown. */
static int field_char(nn_lexer *lx, record *r, int c, char err[NN_ERRMAX]) {
  if (r->n - r->start[r->nf - 1] >= lx->max_field)
    return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: a field of more than %zu "
                        "bytes (option max_field)", r->line, r->nf, lx->max_field);
  return record_char(r, c) ? NN_OK : nn_data_nomem(err);
}

static int zero_byte(const nn_lexer *lx, const record *r, char err[NN_ERRMAX]) {
  return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: a zero byte", lx->line, r->nf);
}

/* A quoted field, its opening quote read: its text into r, *c the
** character after the closing quote.  NN_OK, or the error (a read error
** leaves err as the reader wrote it). */
static int read_quoted(nn_lexer *lx, record *r, int *c, char err[NN_ERRMAX]) {
  size_t opened = lx->line;
  int st;
  for (;;) {
    *c = nn_src_getc(&lx->s, err);
    if (*c == '"') {
      *c = nn_src_getc(&lx->s, err);
      if (*c != '"')
        break;
    } else if (*c < 0) {
      if (!lx->s.failed)
        return nn_data_fail(err, NN_EFORMAT, "line %zu: a quoted field opened "
                            "on this line never closes", opened);
      return NN_EFORMAT;
    } else if (*c == '\n') {
      lx->line++;
    }
    if (*c == 0)
      return zero_byte(lx, r, err);
    if ((st = field_char(lx, r, *c, err)) != NN_OK)
      return st;
  }
  if (*c >= 0 && *c != ',' && !end_of_line(lx, *c, err))
    return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: text after the "
                        "closing quote", lx->line, r->nf);
  return NN_OK;
}

/* A field without quotes, its first character in *c: its text into r, *c
** the character that ended it. */
static int read_plain(nn_lexer *lx, record *r, int *c, char err[NN_ERRMAX]) {
  int st;
  while (*c >= 0 && *c != ',' && !end_of_line(lx, *c, err)) {
    if (*c == '"')
      return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu: a quote inside "
                          "a field that does not start with one", lx->line, r->nf);
    if (*c == 0)
      return zero_byte(lx, r, err);
    if ((st = field_char(lx, r, *c, err)) != NN_OK)
      return st;
    *c = nn_src_getc(&lx->s, err);
  }
  return NN_OK;
}

/* The next record, blank lines skipped: 1, 0 at the end, or an error. */
static int read_record(nn_lexer *lx, record *r, int *status, char err[NN_ERRMAX]) {
  int c, st;
  *status = NN_OK;
  r->n = r->nf = 0;
  for (;;) {
    c = nn_src_getc(&lx->s, err);
    if (c < 0) {
      *status = lx->s.failed ? NN_EFORMAT : NN_OK;
      return 0;
    }
    if (!end_of_line(lx, c, err))
      break;
    lx->line++;
  }
  r->line = lx->line;
  for (;;) {
    if (r->nf > NN_MAX_WIDTH) {   /* a column more than nn.Matrix takes */
      *status = nn_data_fail(err, NN_EFORMAT, "line %zu: more than %zu fields", r->line,
                             (size_t)NN_MAX_WIDTH + 1);
      return 0;
    }
    if (!grow(&r->start, &r->fcap, r->nf + 1, sizeof *r->start)) {
      *status = nn_data_nomem(err);
      return 0;
    }
    r->start[r->nf++] = r->n;
    st = c == '"' ? read_quoted(lx, r, &c, err) : read_plain(lx, r, &c, err);
    if (st == NN_OK && lx->s.failed)
      st = NN_EFORMAT;   /* a read error: err says which */
    if (st == NN_OK && !record_char(r, '\0'))
      st = nn_data_nomem(err);
    if (st != NN_OK) {
      *status = st;
      return 0;
    }
    if (c != ',')
      break;
    c = nn_src_getc(&lx->s, err);
  }
  if (c >= 0)
    lx->line++;   /* the line break that ended it */
  return 1;
}

/* Labels by name: open addressing over indices into names. */
typedef struct labelset {
  char **names;          /* [n], owned */
  size_t n, cap;
  size_t *slot;          /* [nslot]: index + 1, or 0 when free */
  size_t nslot;
} labelset;

static void labelset_free(labelset *ls, int keep_names) {
  size_t i;
  if (!keep_names) {
    for (i = 0; i < ls->n; i++)
      free(ls->names[i]);
    free(ls->names);
  }
  free(ls->slot);
  memset(ls, 0, sizeof *ls);
}

/* The slot of name: where it is, or the free one where it would go. */
static size_t labelset_slot(const labelset *ls, const char *name) {
  size_t i = (size_t)nn_fnv1a64(name, strlen(name)) & (ls->nslot - 1);
  while (ls->slot[i] && strcmp(ls->names[ls->slot[i] - 1], name) != 0)
    i = (i + 1) & (ls->nslot - 1);
  return i;
}

/* *idx: the 0-based index of name, added when new and add is set, or
** (size_t)-1.  0 on memory. */
static int labelset_find(labelset *ls, const char *name, int add, size_t *idx) {
  size_t i;
  if (ls->nslot < 2 * (ls->n + 1)) {   /* at most half full */
    size_t n = ls->nslot ? 2 * ls->nslot : 64, j;
    size_t *slot = calloc(n, sizeof *slot), *old = ls->slot, old_n = ls->nslot;
    if (!slot)
      return 0;
    ls->slot = slot;
    ls->nslot = n;
    for (j = 0; j < old_n; j++)
      if (old[j])
        ls->slot[labelset_slot(ls, ls->names[old[j] - 1])] = old[j];
    free(old);
  }
  i = labelset_slot(ls, name);
  if (ls->slot[i] || !add) {
    *idx = ls->slot[i] ? ls->slot[i] - 1 : (size_t)-1;
    return 1;
  }
  if (!grow(&ls->names, &ls->cap, ls->n + 1, sizeof *ls->names) ||
      !(ls->names[ls->n] = copy_text(name)))
    return 0;
  ls->slot[i] = ++ls->n;
  *idx = ls->n - 1;
  return 1;
}

typedef struct sorted_label {
  const char *name;
  size_t old;
} sorted_label;

static int by_name(const void *a, const void *b) {
  return strcmp(((const sorted_label *)a)->name, ((const sorted_label *)b)->name);
}

/* Give the labels found their order by bytes, and the rows their new
** indices. */
static int sort_labels(nn_csv *csv, labelset *found) {
  sorted_label *order = malloc((found->n ? found->n : 1) * sizeof *order);
  size_t *now = malloc((found->n ? found->n : 1) * sizeof *now), i;
  if (!order || !now) {
    free(order);
    free(now);
    return 0;
  }
  for (i = 0; i < found->n; i++) {
    order[i].name = found->names[i];
    order[i].old = i;
  }
  qsort(order, found->n, sizeof *order, by_name);
  csv->labels = malloc((found->n ? found->n : 1) * sizeof *csv->labels);
  if (!csv->labels) {
    free(order);
    free(now);
    return 0;
  }
  for (i = 0; i < found->n; i++) {
    csv->labels[i] = found->names[order[i].old];
    now[order[i].old] = i + 1;
  }
  csv->n_labels = found->n;
  for (i = 0; i < csv->rows; i++)
    csv->cls[i] = now[csv->cls[i] - 1];
  free(order);
  free(now);
  free(found->names);
  found->names = NULL;
  found->n = 0;
  return 1;
}

/* Spaces and tabs around an unquoted number are not part of it. */
static const char *trim(const char *s, size_t *n) {
  while (*s == ' ' || *s == '\t')
    s++;
  *n = strlen(s);
  while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
    (*n)--;
  return s;
}

/* Field text s of column col (1-based, name) on line as a float. */
static int csv_number(const char *s, size_t line, size_t col, const char *name,
                      float *out, char err[NN_ERRMAX]) {
  size_t n;
  double v;
  s = trim(s, &n);
  if (n == 0)
    return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu ('%.32s'): empty field",
                line, col, name);
  if (!nn_data_field_number(s, n, &v))
    return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu ('%.32s'): '%.24s' is not "
                "a number", line, col, name, s);
  if (!nn_number_float(v, out))
    return nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu ('%.32s'): '%.24s' is out "
                "of range for float32", line, col, name, s);
  return NN_OK;
}

/* The target column, 0-based, from opts and the header's names. */
static int find_target(const nn_csv_opts *opts, const record *h, size_t *target,
                       char err[NN_ERRMAX]) {
  size_t j;
  *target = (size_t)-1;
  if (opts->target) {
    for (j = 0; j < h->nf; j++)
      if (strcmp(h->text + h->start[j], opts->target) == 0) {
        if (*target != (size_t)-1)
          return nn_data_fail(err, NN_EFORMAT, "line 1: the header names column %zu and "
                      "column %zu '%.32s'", *target + 1, j + 1, opts->target);
        *target = j;
      }
    if (*target == (size_t)-1)
      return nn_data_fail(err, NN_EFORMAT, "line 1: the header has no column '%.32s'",
                  opts->target);
  } else if (opts->target_index) {
    if (opts->target_index > h->nf)
      return nn_data_fail(err, NN_EFORMAT, "line 1: the header has %zu columns, not %zu",
                  h->nf, opts->target_index);
    *target = opts->target_index - 1;
  }
  return NN_OK;
}

/* The target texts as numbers or labels, once every row is read. */
typedef struct target_ref {
  size_t at, line;       /* a row's offset in targets.text, and its line */
} target_ref;

typedef struct targets {
  char *text;            /* each row's target text, '\0' after each */
  size_t n, cap;
  target_ref *row;       /* [rows] */
  size_t rows_cap;
} targets;

static int csv_targets(nn_csv *csv, const nn_csv_opts *opts, const targets *tg,
                       size_t col, char err[NN_ERRMAX]) {
  labelset set;
  size_t i;
  int rc = NN_OK;
  csv->classes = opts->classes == 1;
  if (opts->classes == -1 && !opts->labels) {
    csv->classes = 0;
    for (i = 0; i < csv->rows && !csv->classes; i++) {
      size_t n;
      double v;
      const char *s = trim(tg->text + tg->row[i].at, &n);
      csv->classes = !nn_data_field_number(s, n, &v);
    }
  } else if (opts->labels) {
    csv->classes = 1;
  }
  if (!csv->classes) {
    if (!(csv->t = malloc((csv->rows ? csv->rows : 1) * sizeof *csv->t)))
      return nn_data_nomem(err);
    for (i = 0; i < csv->rows && rc == NN_OK; i++)
      rc = csv_number(tg->text + tg->row[i].at, tg->row[i].line, col + 1, csv->target_name,
                      &csv->t[i], err);
    return rc;
  }
  if (!(csv->cls = malloc((csv->rows ? csv->rows : 1) * sizeof *csv->cls)))
    return nn_data_nomem(err);
  memset(&set, 0, sizeof set);
  for (i = 0; opts->labels && i < opts->n_labels; i++) {
    size_t at;
    if (!labelset_find(&set, opts->labels[i], 1, &at)) {
      rc = nn_data_nomem(err);
      goto done;
    }
    if (at != i) {
      rc = nn_data_fail(err, NN_EFORMAT, "labels[%zu] repeats labels[%zu] '%.32s'", i + 1,
                at + 1, opts->labels[i]);
      goto done;
    }
  }
  for (i = 0; i < csv->rows; i++) {
    const char *s = tg->text + tg->row[i].at;
    size_t at;
    if (!*s) {
      rc = nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu ('%.32s'): empty label",
                tg->row[i].line, col + 1, csv->target_name);
      goto done;
    }
    if (!labelset_find(&set, s, !opts->labels, &at)) {
      rc = nn_data_nomem(err);
      goto done;
    }
    if (at == (size_t)-1) {
      rc = nn_data_fail(err, NN_EFORMAT, "line %zu, column %zu ('%.32s'): '%.24s' is not "
                "one of the %zu labels given", tg->row[i].line, col + 1, csv->target_name, s,
                opts->n_labels);
      goto done;
    }
    csv->cls[i] = at + 1;
  }
  if (!opts->labels && !sort_labels(csv, &set))
    rc = nn_data_nomem(err);
done:
  labelset_free(&set, 0);
  return rc;
}

/* The header into csv->names and csv->target_name; *target 0-based or -1. */
static int csv_header(nn_lexer *lx, record *h, const nn_csv_opts *opts, nn_csv *csv,
                      size_t *target, char err[NN_ERRMAX]) {
  size_t j, k = 0;
  int rc;
  if (!read_record(lx, h, &rc, err))
    return rc ? rc : nn_data_fail(err, NN_EFORMAT, "the file is empty: no header row");
  if ((rc = find_target(opts, h, target, err)) != NN_OK)
    return rc;
  csv->cols = h->nf - (*target != (size_t)-1);
  if (csv->cols == 0)
    return nn_data_fail(err, NN_EFORMAT, "line 1: no column is left for the inputs");
  if (!(csv->names = calloc(csv->cols, sizeof *csv->names)))
    return nn_data_nomem(err);
  for (j = 0; j < h->nf; j++) {
    char *name = copy_text(h->text + h->start[j]);
    if (!name)
      return nn_data_nomem(err);
    if (j == *target)
      csv->target_name = name;
    else
      csv->names[k++] = name;
  }
  return NN_OK;
}

int nn_csv_read(const char *path, const nn_data_limits *lim, const nn_csv_opts *opts,
                nn_csv *csv, char err[NN_ERRMAX]) {
  record h, r;
  targets tg;
  size_t target = (size_t)-1, x_cap = 0, j;
  nn_lexer lx;
  int rc;
  memset(&h, 0, sizeof h);
  memset(&r, 0, sizeof r);
  memset(&tg, 0, sizeof tg);
  if ((rc = nn_src_open(&lx.s, path, lim, err)) != NN_OK)
    return rc;
  lx.line = lx.col = lx.last_line = 1;
  lx.max_field = nn_data_limits_of(lim).max_field;
  /* a UTF-8 byte order mark, as spreadsheets write, is not part of a name */
  if (nn_src_fill(&lx.s, err) && lx.s.len >= 3 && memcmp(lx.s.buf, "\xEF\xBB\xBF", 3) == 0)
    lx.s.pos = 3;
  if ((rc = csv_header(&lx, &h, opts, csv, &target, err)) != NN_OK)
    goto done;
  while (read_record(&lx, &r, &rc, err)) {
    size_t k = 0, row = csv->rows;
    if (r.nf != h.nf) {
      rc = nn_data_fail(err, NN_EFORMAT, "line %zu: %zu fields, the header has %zu",
                r.line, r.nf, h.nf);
      goto done;
    }
    if (row + 1 > NN_MAX_PARAMS / csv->cols) {
      rc = nn_data_fail(err, NN_EFORMAT, "line %zu: more than %zu numbers", r.line,
                (size_t)NN_MAX_PARAMS);
      goto done;
    }
    if (!grow(&csv->x, &x_cap, (row + 1) * csv->cols, sizeof *csv->x)) {
      rc = nn_data_nomem(err);
      goto done;
    }
    for (j = 0; j < r.nf; j++) {
      const char *s = r.text + r.start[j];
      if (j == target) {
        size_t len = strlen(s) + 1;
        if (!grow(&tg.row, &tg.rows_cap, row + 1, sizeof *tg.row) ||
            !grow(&tg.text, &tg.cap, tg.n + len, 1)) {
          rc = nn_data_nomem(err);
          goto done;
        }
        tg.row[row].at = tg.n;
        tg.row[row].line = r.line;
        memcpy(tg.text + tg.n, s, len);
        tg.n += len;
      } else if ((rc = csv_number(s, r.line, j + 1, csv->names[k], &csv->x[row * csv->cols + k],
                                  err)) != NN_OK) {
        goto done;
      } else {
        k++;
      }
    }
    csv->rows++;
  }
  if (rc == NN_OK && target != (size_t)-1)
    rc = csv_targets(csv, opts, &tg, target, err);
done:
  record_free(&h);
  record_free(&r);
  free(tg.text);
  free(tg.row);
  nn_src_close(&lx.s);
  return rc;
}

void nn_csv_free(nn_csv *csv) {
  size_t i;
  for (i = 0; csv->names && i < csv->cols; i++)
    free(csv->names[i]);
  for (i = 0; csv->labels && i < csv->n_labels; i++)
    free(csv->labels[i]);
  free(csv->names);
  free(csv->labels);
  free(csv->target_name);
  free(csv->x);
  free(csv->t);
  free(csv->cls);
  memset(csv, 0, sizeof *csv);
}
