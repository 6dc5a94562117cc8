/*
** nn_arch.c: a version's architecture read from its JSON text (see
** nn_arch.h).
**
** Each layer object is read twice with the pull reader: once for its
** "type", which says which members matter, then for those members, in
** whatever order they come.  Nothing is allocated.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "formats/nn_arch.h"
#include "formats/nn_json_read.h"
#include "formats/nn_number.h"

/* The longest member name or type compared: longer ones match nothing. */
#define NAME_MAX_BYTES 48

static int fail(char err[NN_ERRMAX], const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, NN_ERRMAX, fmt, ap);
  va_end(ap);
  return NN_EFORMAT;
}

/* A key's or string's text decoded into out ("" when longer than fits). */
static void name_of(const nn_json_token *t, char out[NAME_MAX_BYTES]) {
  const char *p = t->s, *end = t->s + t->n;
  size_t n = 0;
  while (p < end && n < NAME_MAX_BYTES - 4)
    n += nn_json_unescape(out + n, NAME_MAX_BYTES - 1 - n, &p, end);
  out[p < end ? 0 : n] = '\0';
}

/* Past the value that comes next (a whole object or array); 0 if malformed. */
static int skip(nn_json_reader *r) {
  nn_json_token t;
  size_t depth = 0;
  do {
    switch (nn_json_next(r, &t)) {
    case NN_JSON_ERROR:
    case NN_JSON_END:
      return 0;
    case NN_JSON_OBJECT:
    case NN_JSON_ARRAY:
      depth++;
      break;
    case NN_JSON_OBJECT_END:
    case NN_JSON_ARRAY_END:
      depth--;
      break;
    default:
      break;
    }
  } while (depth > 0);
  return 1;
}

/* A width: a whole number in 1..NN_MAX_WIDTH, written without a fraction
** or an exponent. */
static int width(const nn_json_token *t, size_t *out) {
  size_t i;
  if (t->kind != NN_JSON_NUMBER || t->n == 0)
    return 0;
  for (i = 0; i < t->n; i++)
    if (t->s[i] < '0' || t->s[i] > '9')
      return 0;
  if (!(t->number >= 1 && t->number <= (double)NN_MAX_WIDTH))
    return 0;
  *out = (size_t)t->number;
  return 1;
}

/* A hyper-parameter's value, checked as the stores check it. */
static int hyper_value(const nn_json_token *t, const nn_hyper *h, float *out) {
  float f = 0;
  if (t->kind != NN_JSON_NUMBER || !nn_number_float(t->number, &f))
    return 0;
  if (!(f >= h->lo && f <= h->hi) || (h->integer && f != (float)(long long)f))
    return 0;
  *out = f;
  return 1;
}

/* The object at text + at: its "type" into type ("" when none, or not a
** string: *typed 0). */
static int read_type(const char *text, size_t len, size_t at, char type[NAME_MAX_BYTES],
                     int *typed) {
  nn_json_reader r;
  nn_json_token t;
  char key[NAME_MAX_BYTES];
  type[0] = '\0';
  *typed = 0;
  nn_json_init(&r, text + at, len - at, 0, 0);
  if (nn_json_next(&r, &t) != NN_JSON_OBJECT)
    return 0;
  while (nn_json_next(&r, &t) == NN_JSON_KEY) {
    name_of(&t, key);
    if (strcmp(key, "type") == 0 && nn_json_peek(&r) == NN_JSON_STRING) {
      if (nn_json_next(&r, &t) != NN_JSON_STRING)
        return 0;
      name_of(&t, type);
      *typed = 1;
    } else if (!skip(&r))
      return 0;
  }
  return 1;
}

enum { F_IN, F_OUT, F_N, F_FROM, F_BADFROM, F_HYPER };   /* members read; then one bit per hyper */

/* "from": what a layer of a graph reads, one or two module numbers (0 the
** input), each + 1 into l->from; 0 when it is not such a list.  Below the
** layer's own number is read_layer's to check. */
static int read_from(nn_json_reader *r, nn_layer *l) {
  nn_json_token t;
  size_t k = 0, v;
  if (nn_json_next(r, &t) != NN_JSON_ARRAY) return 0;
  while (nn_json_next(r, &t) == NN_JSON_NUMBER) {
    if (k == 2 || !(t.number == 0 || width(&t, &v))) return 0;
    l->from[k++] = t.number == 0 ? 1u : (uint32_t)v + 1;
  }
  return t.kind == NN_JSON_ARRAY_END && k > 0;
}

/* The members of kind d of the object at text + at into l and hyper; a bit
** of *seen set for each that is there and valid. */
static int read_members(const char *text, size_t len, size_t at, const nn_kind_info *d,
                        nn_layer *l, float *hyper, unsigned long *seen) {
  nn_json_reader r;
  nn_json_token t;
  char key[NAME_MAX_BYTES];
  size_t j;
  *seen = 0;
  nn_json_init(&r, text + at, len - at, 0, 0);
  nn_json_next(&r, &t);   /* the '{' read_type saw */
  while (nn_json_next(&r, &t) == NN_JSON_KEY) {
    name_of(&t, key);
    if (strcmp(key, "from") == 0 && nn_json_peek(&r) == NN_JSON_ARRAY) {
      *seen |= 1ul << (read_from(&r, l) ? F_FROM : F_BADFROM);
      if (*seen & (1ul << F_BADFROM)) return 1;
      continue;
    }
    if (nn_json_peek(&r) != NN_JSON_NUMBER) {
      if (!skip(&r))
        return 0;
      continue;
    }
    if (nn_json_next(&r, &t) != NN_JSON_NUMBER)
      return 0;
    if (strcmp(key, "in") == 0 && width(&t, &l->n_in))
      *seen |= 1ul << F_IN;
    else if (strcmp(key, "out") == 0 && width(&t, &l->n_out))
      *seen |= 1ul << F_OUT;
    else if (strcmp(key, "n") == 0 && width(&t, &l->n_in))
      *seen |= 1ul << F_N;
    for (j = 0; j < d->n_hyper && j < 8 * sizeof *seen - F_HYPER; j++)
      if (strcmp(key, d->hyper[j].name) == 0 && hyper_value(&t, &d->hyper[j], &hyper[j]))
        *seen |= 1ul << (F_HYPER + j);
  }
  return 1;
}

/* Layer i (1-based), the object at text + at, into *l and hyper. */
static int read_layer(const char *text, size_t len, size_t at, size_t i, nn_layer *l,
                      float *hyper, char err[NN_ERRMAX]) {
  char type[NAME_MAX_BYTES];
  const nn_kind_info *d;
  unsigned long seen;
  int typed;
  size_t j;
  memset(l, 0, sizeof *l);
  if (text[at] != '{')
    return fail(err, "layer %zu is not a JSON object", i);
  if (!read_type(text, len, at, type, &typed))
    return fail(err, "architecture is not valid JSON (layer %zu)", i);
  if (!typed)
    return fail(err, "layer %zu has no type", i);
  if ((d = nn_kind_info_of(l->kind = nn_kind_from_name(type))) == NULL)
    return fail(err, "layer %zu has unknown type '%.40s'", i, type);
  if (!read_members(text, len, at, d, l, hyper, &seen))
    return fail(err, "architecture is not valid JSON (layer %zu)", i);
  if (d->n_sizes == 2 && !(seen & (1ul << F_IN)))
    return fail(err, "layer %zu (%s) has no valid 'in'", i, d->name);
  if (d->n_sizes == 2 && !(seen & (1ul << F_OUT)))
    return fail(err, "layer %zu (%s) has no valid 'out'", i, d->name);
  if (d->n_sizes == 1 && !(seen & (1ul << F_N)))
    return fail(err, "layer %zu (%s) has no valid 'n'", i, d->name);
  if (d->n_sizes == 1)
    l->n_out = l->n_in;
  if (d->n_sizes == 0)
    l->n_in = l->n_out = 0;
  for (j = 0; j < d->n_hyper; j++)
    if (!(seen & (1ul << (F_HYPER + j))))
      return fail(err, "layer %zu (%s) has no valid '%s'", i, d->name, d->hyper[j].name);
  if ((seen & (1ul << F_BADFROM)) ||
      ((seen & (1ul << F_FROM)) && (l->from[0] > i || l->from[1] > i)))
    return fail(err, "layer %zu (%s) has no valid 'from': a list of one or two module "
                "numbers below %zu", i, d->name, i);
  l->hyper = d->n_hyper ? hyper : NULL;
  return NN_OK;
}

int nn_arch_read(const char *text, size_t len, nn_layer *layers, float *hyper,
                 size_t max, size_t *n, char err[NN_ERRMAX]) {
  nn_json_reader r;
  nn_json_token t;
  int rc;
  *n = 0;
  nn_json_init(&r, text, len, 0, 0);
  if (nn_json_next(&r, &t) != NN_JSON_ARRAY)
    return fail(err, "architecture is not a JSON array");
  while (nn_json_peek(&r) != NN_JSON_ARRAY_END) {
    size_t at;
    if (nn_json_peek(&r) == NN_JSON_ERROR)
      break;
    if (*n == max)
      return fail(err, "architecture has more than %zu layers", max);
    /* the reader has read the ',' by now: the value starts at r.pos after
    ** white space */
    at = r.pos;
    while (at < len && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' ||
                        text[at] == '\r'))
      at++;
    if ((rc = read_layer(text, len, at, *n + 1, &layers[*n],
                         hyper + *n * nn_hyper_most(), err)) != NN_OK)
      return rc;
    if (!skip(&r))
      break;
    ++*n;
  }
  if (nn_json_next(&r, &t) != NN_JSON_ARRAY_END || nn_json_next(&r, &t) != NN_JSON_END)
    return fail(err, "architecture is not valid JSON (%s at byte %zu)",
                nn_json_error_text(r.error), r.at + 1);
  return NN_OK;
}
