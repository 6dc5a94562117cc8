/*
** json_check.c: the JSON reader (src/formats/nn_json_read.c) and the number
** parser (src/formats/nn_number.c) driven from text, for spec/json_spec.lua,
** which compares what this prints with SQLite's JSON functions and with
** Lua's own reading of numbers.
**
**   json_check [locale] < cases
**
** Each line of input is one case: "<flags> <max_depth> <hex of the text>"
** (flags: 0, or 1 for NN_JSON_LOOSE_NUMBERS).  Each line of output is that
** case's tokens, space-separated:
**   {  }  [  ]  t  f  z (null)
**   k<hex>  s<hex>     a member name, a string: its bytes decoded, in hex
**   n<double>/<float>  a number: "%.17g" of its double, then "%.9g" of its
**                      float32 (nn_number_float), or "x" when it is beyond
**   end                the text is read to its end
**   error <name> <at>  the reader's error (NN_JSON_E<name>) and its byte
** The text is read twice, once peeking before every token and once not;
** "peek-differs" follows when the two readings differ, "peek-wrong" when a
** peek told another kind than the token read.  A string is decoded both
** into 4 bytes at a time and at once; "unescape-differs" when they differ.
** "locale" first sets the C locale from the environment (LC_ALL).
** It holds no expected output itself.
*/
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_json_read.h"
#include "formats/nn_number.h"

#define OUT_MAX  (1 << 20)

typedef struct out {
  char text[OUT_MAX];
  size_t n;
} out;

static void put(out *o, const char *s) {
  size_t n = strlen(s);
  if (o->n + n + 1 < OUT_MAX) {
    memcpy(o->text + o->n, s, n);
    o->n += n;
    o->text[o->n] = '\0';
  }
}

/* printf follows LC_NUMERIC: a comma locale would print "1,5". */
static void put_number(out *o, const char *fmt, double v) {
  char s[64], *c;
  snprintf(s, sizeof s, fmt, v);
  for (c = s; *c; c++)
    if (*c == ',')
      *c = '.';
  put(o, s);
}

static void put_hex(out *o, const char *s, size_t n) {
  char h[3];
  size_t i;
  for (i = 0; i < n; i++) {
    snprintf(h, sizeof h, "%02X", (unsigned char)s[i]);
    put(o, h);
  }
}

/* A string token decoded, 4 bytes at a time and at once; both must agree. */
static void put_string(out *o, const nn_json_token *t, int *differs) {
  static char whole[OUT_MAX], bits[OUT_MAX];
  const char *p = t->s, *end = t->s + t->n;
  size_t n = nn_json_unescape(whole, t->n, &p, end), m = 0;
  if (p != end || n > t->n)
    *differs = 1;
  p = t->s;
  while (p < end && m + 4 <= sizeof bits) {
    size_t k = nn_json_unescape(bits + m, 4, &p, end);
    if (k == 0)
      break;
    m += k;
  }
  if (p != end || m != n || memcmp(whole, bits, n) != 0)
    *differs = 1;
  put_hex(o, whole, n);
}

static void put_token(out *o, const nn_json_token *t, int *differs) {
  static const char *const plain[] = {
    [NN_JSON_OBJECT] = "{", [NN_JSON_OBJECT_END] = "}", [NN_JSON_ARRAY] = "[",
    [NN_JSON_ARRAY_END] = "]", [NN_JSON_TRUE] = "t", [NN_JSON_FALSE] = "f",
    [NN_JSON_NULL] = "z", [NN_JSON_END] = "end",
  };
  float f;
  if (t->kind == NN_JSON_KEY || t->kind == NN_JSON_STRING) {
    put(o, t->kind == NN_JSON_KEY ? "k" : "s");
    put_string(o, t, differs);
  } else if (t->kind == NN_JSON_NUMBER) {
    put_number(o, "n%.17g", t->number);
    if (nn_number_float(t->number, &f))
      put_number(o, "/%.9g", (double)f);
    else
      put(o, "/x");
  } else {
    put(o, plain[t->kind]);
  }
}

static const char *const error_names[] = {
  [NN_JSON_OK] = "OK", [NN_JSON_EVALUE] = "VALUE", [NN_JSON_EKEY] = "KEY",
  [NN_JSON_ECOLON] = "COLON", [NN_JSON_EARRAY] = "ARRAY", [NN_JSON_EOBJECT] = "OBJECT",
  [NN_JSON_ETRAILING] = "TRAILING", [NN_JSON_EDEPTH] = "DEPTH",
  [NN_JSON_ELITERAL] = "LITERAL", [NN_JSON_ENUMBER] = "NUMBER", [NN_JSON_ELONG] = "LONG",
  [NN_JSON_ESTRING] = "STRING", [NN_JSON_ECONTROL] = "CONTROL",
  [NN_JSON_EESCAPE] = "ESCAPE", [NN_JSON_EHEX] = "HEX",
};

/* Every token of text into o, peeking before each when peek is set. */
static void read_all(out *o, const char *text, size_t len, unsigned flags, size_t depth,
                     int peek, int *wrong, int *differs) {
  nn_json_reader r;
  nn_json_token t;
  char at[32];
  o->n = 0;
  o->text[0] = '\0';
  nn_json_init(&r, text, len, flags, depth);
  for (;;) {
    nn_json_kind p = peek ? nn_json_peek(&r) : NN_JSON_ERROR;
    if (peek && nn_json_peek(&r) != p)
      *wrong = 1;
    nn_json_next(&r, &t);
    if (peek && t.kind != p && t.kind != NN_JSON_ERROR)
      *wrong = 1;
    if (t.kind == NN_JSON_ERROR)
      break;
    put_token(o, &t, differs);
    if (t.kind == NN_JSON_END)
      return;
    put(o, " ");
  }
  snprintf(at, sizeof at, " %lu", (unsigned long)r.at);
  put(o, "error ");
  put(o, error_names[r.error]);
  put(o, at);
}

static int unhex(const char *h, char *s, size_t *n) {
  unsigned v;
  for (*n = 0; h[0] && h[0] != '\n'; h += 2) {
    if (sscanf(h, "%2x", &v) != 1)
      return 0;
    s[(*n)++] = (char)v;
  }
  return 1;
}

int main(int argc, char **argv) {
  static char line[2 * OUT_MAX + 64], text[OUT_MAX];
  static out plain, peeked;
  if (argc > 1 && strcmp(argv[1], "locale") == 0 && !setlocale(LC_ALL, ""))
    return 2;
  while (fgets(line, sizeof line, stdin)) {
    unsigned flags;
    unsigned long depth;
    int used = 0, wrong = 0, differs = 0;
    size_t n;
    if (sscanf(line, "%u %lu %n", &flags, &depth, &used) < 2 || !unhex(line + used, text, &n))
      return 2;
    read_all(&plain, text, n, flags, depth, 0, &wrong, &differs);
    read_all(&peeked, text, n, flags, depth, 1, &wrong, &differs);
    fputs(plain.text, stdout);
    if (strcmp(plain.text, peeked.text) != 0)
      fputs(" peek-differs", stdout);
    if (wrong)
      fputs(" peek-wrong", stdout);
    if (differs)
      fputs(" unescape-differs", stdout);
    putchar('\n');
  }
  return 0;
}
