/*
** nn_json_read.c: the pull reader of JSON text (see nn_json_read.h).
**
** What it implements: a state machine over the text (what may come next:
** a value, a member name, ':', ',' or a close, the end), one reader per
** kind of token in a table, the check of strings, escapes and numbers
** (their values through nn_number.h), and the decoding of a string's
** escapes into the caller's buffer.
**
** What it is not: a tree builder, a writer (nn_json.c) or a UTF-8 checker;
** nothing here allocates, prints or knows SQLite or Lua.
*/
#include <string.h>

#include "formats/nn_json_read.h"
#include "formats/nn_number.h"

enum {
  ST_START,       /* the text's value */
  ST_OPENED,      /* after '{' or '[': a member or an element, or the close */
  ST_AFTER,       /* after a member or an element: ',' or the close */
  ST_NEXT,        /* after ',' or an open without its close: a member or an element */
  ST_COLON,       /* after a member name: ':' */
  ST_VALUE,       /* after ':': the member's value */
  ST_DONE,        /* after the text's value: the end */
  ST_FAILED
};

static const char *const error_text[] = {
  [NN_JSON_OK] = "no error",
  [NN_JSON_EVALUE] = "expected a value",
  [NN_JSON_EKEY] = "expected a member name",
  [NN_JSON_ECOLON] = "expected ':' after a member name",
  [NN_JSON_EARRAY] = "expected ',' or ']'",
  [NN_JSON_EOBJECT] = "expected ',' or '}'",
  [NN_JSON_ETRAILING] = "more than white space after the value",
  [NN_JSON_EDEPTH] = "nested too deep",
  [NN_JSON_ELITERAL] = "not true, false or null",
  [NN_JSON_ENUMBER] = "a malformed number",
  [NN_JSON_ELONG] = "a number too long to read",
  [NN_JSON_ESTRING] = "a string the text ends in",
  [NN_JSON_ECONTROL] = "a control character in a string",
  [NN_JSON_EESCAPE] = "an unknown escape",
  [NN_JSON_EHEX] = "\\u without four hex digits",
};

/* The kind of value a byte starts (NN_JSON_ERROR: none); '+' and '.' start
** a number only under NN_JSON_LOOSE_NUMBERS. */
static const unsigned char value_start[256] = {
  ['{'] = NN_JSON_OBJECT, ['['] = NN_JSON_ARRAY, ['"'] = NN_JSON_STRING,
  ['t'] = NN_JSON_TRUE, ['f'] = NN_JSON_FALSE, ['n'] = NN_JSON_NULL,
  ['-'] = NN_JSON_NUMBER, ['0'] = NN_JSON_NUMBER, ['1'] = NN_JSON_NUMBER,
  ['2'] = NN_JSON_NUMBER, ['3'] = NN_JSON_NUMBER, ['4'] = NN_JSON_NUMBER,
  ['5'] = NN_JSON_NUMBER, ['6'] = NN_JSON_NUMBER, ['7'] = NN_JSON_NUMBER,
  ['8'] = NN_JSON_NUMBER, ['9'] = NN_JSON_NUMBER,
};

static const char *const words[] = {
  [NN_JSON_TRUE] = "true", [NN_JSON_FALSE] = "false", [NN_JSON_NULL] = "null",
};

void nn_json_init(nn_json_reader *r, const char *text, size_t len, unsigned flags,
                  size_t max_depth) {
  r->text = text;
  r->len = text ? len : 0;
  r->pos = 0;
  r->flags = flags;
  r->state = ST_START;
  r->depth = 0;
  r->max_depth = max_depth == 0 || max_depth > NN_JSON_DEPTH_MAX ? NN_JSON_DEPTH_MAX
                                                                 : max_depth;
  r->error = NN_JSON_OK;
  r->at = 0;
}

const char *nn_json_error_text(nn_json_error e) {
  return (size_t)e < sizeof error_text / sizeof *error_text ? error_text[e]
                                                             : "unknown error";
}

static nn_json_kind fail(nn_json_reader *r, nn_json_error e, size_t at) {
  r->state = ST_FAILED;
  r->error = e;
  r->at = at;
  return NN_JSON_ERROR;
}

/* --- where the reader is ----------------------------------------------- */

static int in_object(const nn_json_reader *r) {
  size_t d = r->depth - 1;
  return r->depth > 0 && (r->in_object[d / 8] >> (d % 8) & 1);
}

static void skip_space(nn_json_reader *r) {
  while (r->pos < r->len && (r->text[r->pos] == ' ' || r->text[r->pos] == '\t' ||
                             r->text[r->pos] == '\n' || r->text[r->pos] == '\r'))
    r->pos++;
}

/* The byte at pos is c: it is read. */
static int take(nn_json_reader *r, char c) {
  if (r->pos < r->len && r->text[r->pos] == c) {
    r->pos++;
    return 1;
  }
  return 0;
}

/* The close of the open object or array is at pos: its kind, else 0. */
static nn_json_kind close_at(const nn_json_reader *r) {
  char close = in_object(r) ? '}' : ']';
  if (r->pos < r->len && r->text[r->pos] == close)
    return in_object(r) ? NN_JSON_OBJECT_END : NN_JSON_ARRAY_END;
  return NN_JSON_ERROR;
}

/* The kind of token that starts at pos where a value or a member name
** must be. */
static nn_json_kind start_at(nn_json_reader *r) {
  unsigned char c = r->pos < r->len ? (unsigned char)r->text[r->pos] : 0;
  nn_json_kind k = (nn_json_kind)value_start[c];
  if (r->state == ST_NEXT && in_object(r))
    return c == '"' ? NN_JSON_KEY : fail(r, NN_JSON_EKEY, r->pos);
  if (k == NN_JSON_ERROR && (r->flags & NN_JSON_LOOSE_NUMBERS) && (c == '+' || c == '.'))
    k = NN_JSON_NUMBER;
  return k != NN_JSON_ERROR ? k : fail(r, NN_JSON_EVALUE, r->pos);
}

/* Past white space and any ',' or ':' before the next token: its kind. */
static nn_json_kind advance(nn_json_reader *r) {
  nn_json_kind close;
  skip_space(r);
  switch (r->state) {
  case ST_FAILED:
    return NN_JSON_ERROR;
  case ST_DONE:
    return r->pos == r->len ? NN_JSON_END : fail(r, NN_JSON_ETRAILING, r->pos);
  case ST_COLON:
    if (!take(r, ':'))
      return fail(r, NN_JSON_ECOLON, r->pos);
    r->state = ST_VALUE;
    break;
  case ST_OPENED:
  case ST_AFTER:
    if ((close = close_at(r)) != NN_JSON_ERROR)
      return close;
    if (r->state == ST_AFTER && !take(r, ','))
      return fail(r, in_object(r) ? NN_JSON_EOBJECT : NN_JSON_EARRAY, r->pos);
    r->state = ST_NEXT;
    break;
  }
  skip_space(r);
  return start_at(r);
}

static void after_value(nn_json_reader *r) {
  r->state = r->depth == 0 ? ST_DONE : ST_AFTER;
}

/* --- one reader per kind of token -------------------------------------- */

static nn_json_kind read_open(nn_json_reader *r, nn_json_token *t) {
  size_t d = r->depth;
  unsigned char bit = (unsigned char)(1u << (d % 8));
  if (d >= r->max_depth)
    return fail(r, NN_JSON_EDEPTH, r->pos);
  if (t->kind == NN_JSON_OBJECT)
    r->in_object[d / 8] |= bit;
  else
    r->in_object[d / 8] &= (unsigned char)~bit;
  r->depth++;
  r->pos++;
  r->state = ST_OPENED;
  return t->kind;
}

static nn_json_kind read_close(nn_json_reader *r, nn_json_token *t) {
  r->depth--;
  r->pos++;
  after_value(r);
  return t->kind;
}

static nn_json_kind read_word(nn_json_reader *r, nn_json_token *t) {
  const char *w = words[t->kind];
  size_t n = strlen(w);
  if (r->len - r->pos < n || memcmp(r->text + r->pos, w, n) != 0)
    return fail(r, NN_JSON_ELITERAL, r->pos);
  r->pos += n;
  after_value(r);
  return t->kind;
}

static int hex_digit(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The four hex digits at p (before end) as a number, or -1. */
static long hex4(const char *p, const char *end) {
  long v = 0;
  int i, d;
  if (end - p < 4)
    return -1;
  for (i = 0; i < 4; i++) {
    if ((d = hex_digit(p[i])) < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* The escape at text[i] (a backslash, not the text's last byte) checked:
** *n gets its length. */
static nn_json_error check_escape(const char *text, size_t i, size_t len, size_t *n) {
  char c = text[i + 1];
  *n = 2;
  if (c == 'u') {
    *n = 6;
    return hex4(text + i + 2, text + len) < 0 ? NN_JSON_EHEX : NN_JSON_OK;
  }
  return c && strchr("\"\\/bfnrt", c) ? NN_JSON_OK : NN_JSON_EESCAPE;
}

/* A string or a member name: every byte checked, escapes left as written. */
static nn_json_kind read_string(nn_json_reader *r, nn_json_token *t) {
  const char *s = r->text;
  size_t i = r->pos + 1, n;
  nn_json_error e;
  for (; i < r->len && s[i] != '"'; i++) {
    if ((unsigned char)s[i] < 0x20)
      return fail(r, NN_JSON_ECONTROL, i);
    if (s[i] != '\\' || i + 1 == r->len)
      continue;
    if ((e = check_escape(s, i, r->len, &n)) != NN_JSON_OK)
      return fail(r, e, i);
    t->escaped = 1;
    i += n - 1;
  }
  if (i >= r->len)
    return fail(r, NN_JSON_ESTRING, r->pos);
  t->s = s + r->pos + 1;
  t->n = i - r->pos - 1;
  r->pos = i + 1;
  if (t->kind == NN_JSON_KEY)
    r->state = ST_COLON;
  else
    after_value(r);
  return t->kind;
}

static size_t skip_digits(const char *s, size_t n, size_t i) {
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++;
  return i;
}

/* The length of the JSON number at s[0..n), read as far as its grammar
** goes (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: "01" is a 0 that
** something follows); 0 when a '-', '.' or exponent has no digits after it. */
static size_t json_number(const char *s, size_t n) {
  size_t i = n > 0 && s[0] == '-', j;
  if (i < n && s[i] == '0')
    i++;
  else if ((j = skip_digits(s, n, i)) > i)
    i = j;
  else
    return 0;
  if (i < n && s[i] == '.') {
    if ((j = skip_digits(s, n, i + 1)) == i + 1)
      return 0;
    i = j;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i += i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-') ? 2 : 1;
    if ((j = skip_digits(s, n, i)) == i)
      return 0;
    i = j;
  }
  return i;
}

/* The run of bytes that can belong to a number at s[0..n): its length. */
static size_t number_run(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && s[i] && strchr("+-.0123456789eE", s[i]))
    i++;
  return i;
}

/* A number: under NN_JSON_LOOSE_NUMBERS the whole run of bytes that can
** belong to one, which nn_number_read must take ("1.5.3" is one malformed
** number); else as far as JSON's grammar goes ("1.5.3" is 1.5, then a
** byte out of place). */
static nn_json_kind read_number(nn_json_reader *r, nn_json_token *t) {
  int loose = (r->flags & NN_JSON_LOOSE_NUMBERS) != 0;
  const char *s = r->text + r->pos;
  size_t left = r->len - r->pos;
  size_t n = loose ? number_run(s, left) : json_number(s, left);
  if (n == 0)
    return fail(r, NN_JSON_ENUMBER, r->pos);
  if (n > (loose ? NN_NUMBER_FIELD_MAX : NN_NUMBER_MAX))
    return fail(r, NN_JSON_ELONG, r->pos);
  if (!nn_number_read(s, n, &t->number))
    return fail(r, NN_JSON_ENUMBER, r->pos);
  t->s = s;
  t->n = n;
  r->pos += n;
  after_value(r);
  return t->kind;
}

static nn_json_kind (*const readers[])(nn_json_reader *, nn_json_token *) = {
  [NN_JSON_OBJECT] = read_open, [NN_JSON_ARRAY] = read_open,
  [NN_JSON_OBJECT_END] = read_close, [NN_JSON_ARRAY_END] = read_close,
  [NN_JSON_KEY] = read_string, [NN_JSON_STRING] = read_string,
  [NN_JSON_NUMBER] = read_number,
  [NN_JSON_TRUE] = read_word, [NN_JSON_FALSE] = read_word, [NN_JSON_NULL] = read_word,
};

nn_json_kind nn_json_peek(nn_json_reader *r) {
  return advance(r);
}

nn_json_kind nn_json_next(nn_json_reader *r, nn_json_token *t) {
  t->kind = advance(r);
  t->at = r->pos;
  t->s = NULL;
  t->n = 0;
  t->escaped = 0;
  t->number = 0;
  if (t->kind != NN_JSON_ERROR && t->kind != NN_JSON_END)
    t->kind = readers[t->kind](r, t);
  return t->kind;
}

/* --- decoding a string ------------------------------------------------- */

/* Code point c (below 0x110000) as UTF-8 into u; its length.  A lone
** surrogate gets the three bytes its value would have. */
static size_t utf8(long c, char u[4]) {
  if (c < 0x80) {
    u[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    u[0] = (char)(0xC0 | (c >> 6));
    u[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    u[0] = (char)(0xE0 | (c >> 12));
    u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    u[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  u[0] = (char)(0xF0 | (c >> 18));
  u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  u[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* The escape at p (a backslash) decoded into u: *n bytes; the bytes of text
** it took.  What is not an escape (the reader refused it) is taken as the
** backslash alone. */
static size_t decode_escape(const char *p, const char *end, char u[4], size_t *n) {
  static const char names[] = "\"\\/bfnrt", bytes[] = "\"\\/\b\f\n\r\t";
  const char *at = end - p >= 2 && p[1] ? strchr(names, p[1]) : NULL;
  long c = end - p >= 2 && p[1] == 'u' ? hex4(p + 2, end) : -1, lo;
  if (at) {
    u[0] = bytes[at - names];
    *n = 1;
    return 2;
  }
  if (c < 0) {
    u[0] = '\\';
    *n = 1;
    return 1;
  }
  if (c >= 0xD800 && c < 0xDC00 && end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
      (lo = hex4(p + 8, end)) >= 0xDC00 && lo < 0xE000) {
    *n = utf8(0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00), u);
    return 12;
  }
  *n = utf8(c, u);
  return 6;
}

size_t nn_json_unescape(char *out, size_t cap, const char **p, const char *end) {
  size_t k = 0;
  while (*p < end) {
    char u[4];
    size_t n, took;
    if (**p != '\\') {
      if (k == cap)
        break;
      out[k++] = *(*p)++;
      continue;
    }
    took = decode_escape(*p, end, u, &n);
    if (n > cap - k)
      break;
    memcpy(out + k, u, n);
    k += n;
    *p += took;
  }
  return k;
}
