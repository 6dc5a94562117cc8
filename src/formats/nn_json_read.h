/*
** nn_json_read.h: a pull reader of JSON text (RFC 8259), one token at a
** time, over a (pointer, length) text; it allocates nothing.
**
**   nn_json_reader r;
**   nn_json_token t;
**   nn_json_init(&r, "[1.5, \"a\"]", 10, 0, 0);
**   nn_json_next(&r, &t);     NN_JSON_ARRAY
**   nn_json_next(&r, &t);     NN_JSON_NUMBER, t.number = 1.5
**   nn_json_next(&r, &t);     NN_JSON_STRING, t.s = "a", t.n = 1
**   nn_json_next(&r, &t);     NN_JSON_ARRAY_END
**   nn_json_next(&r, &t);     NN_JSON_END: nothing but white space follows
**
** Every token is checked where it stands: objects and arrays, member names
** and ':', ',' between values, strings with every escape, numbers, true,
** false and null, white space (space, tab, LF, CR only), and the depth of
** nesting.  The first thing wrong stops the reader: nn_json_next returns
** NN_JSON_ERROR from then on, r.error says what (nn_json_error_text) and
** r.at at which byte (0-based; the text's length when it ends too early).
** A caller that wants only the first value need not ask for NN_JSON_END.
**
** The callers (the SQL functions' inputs, the store's matrices, the
** binding's training histories) map tokens to what they build.  This is
** not a tree builder, not a writer (nn_json.h), and not a UTF-8 checker:
** bytes from 0x80 up pass as they are, and \u escapes of lone surrogates
** decode to their three bytes, as SQLite's JSON functions do.
*/
#ifndef NN_JSON_READ_H
#define NN_JSON_READ_H

#include <stddef.h>

/* The deepest nesting any reader takes (max_depth is at most this). */
#define NN_JSON_DEPTH_MAX  2048

/* Flags of nn_json_init.  NN_JSON_LOOSE_NUMBERS: numbers as the data
** readers take them (nn_number.h): a run of "+-.0123456789eE" that
** nn_number_read reads, such as "+1", ".5", "5." or "01", at most
** NN_NUMBER_FIELD_MAX characters.  Without it, JSON's grammar, at most
** NN_NUMBER_MAX characters. */
#define NN_JSON_LOOSE_NUMBERS  1u

typedef enum nn_json_kind {
  NN_JSON_ERROR,         /* r.error and r.at say what and where */
  NN_JSON_END,           /* the value is complete, only white space follows */
  NN_JSON_OBJECT,        /* '{' */
  NN_JSON_OBJECT_END,    /* '}' */
  NN_JSON_ARRAY,         /* '[' */
  NN_JSON_ARRAY_END,     /* ']' */
  NN_JSON_KEY,           /* a member's name, before its ':' */
  NN_JSON_STRING,
  NN_JSON_NUMBER,
  NN_JSON_TRUE,
  NN_JSON_FALSE,
  NN_JSON_NULL
} nn_json_kind;

typedef enum nn_json_error {
  NN_JSON_OK,
  NN_JSON_EVALUE,        /* no value where one must be */
  NN_JSON_EKEY,          /* no member name where one must be */
  NN_JSON_ECOLON,        /* no ':' after a member name */
  NN_JSON_EARRAY,        /* no ',' or ']' after an element */
  NN_JSON_EOBJECT,       /* no ',' or '}' after a member */
  NN_JSON_ETRAILING,     /* more than white space after the value */
  NN_JSON_EDEPTH,        /* nested deeper than max_depth */
  NN_JSON_ELITERAL,      /* a word that is not true, false or null */
  NN_JSON_ENUMBER,       /* a malformed number */
  NN_JSON_ELONG,         /* a number too long to read */
  NN_JSON_ESTRING,       /* a string the text ends in (at: its quote) */
  NN_JSON_ECONTROL,      /* a control character (below 0x20) in a string */
  NN_JSON_EESCAPE,       /* a backslash before none of "\/bfnrtu */
  NN_JSON_EHEX           /* \u without four hex digits */
} nn_json_error;

typedef struct nn_json_token {
  nn_json_kind kind;
  size_t at;             /* its first byte in the text */
  const char *s;         /* STRING, KEY: the bytes between the quotes, */
  size_t n;              /* escapes as written; NUMBER: its text */
  int escaped;           /* STRING, KEY: s holds escapes (nn_json_unescape) */
  double number;         /* NUMBER: its value, +-HUGE_VAL beyond a double */
} nn_json_token;

typedef struct nn_json_reader {
  const char *text;
  size_t len, pos;       /* pos: the next byte to read */
  unsigned flags;
  int state;             /* what may come next (nn_json_read.c) */
  size_t depth, max_depth;
  nn_json_error error;
  size_t at;             /* the error's byte */
  unsigned char in_object[NN_JSON_DEPTH_MAX / 8];  /* bit d: depth d + 1 */
} nn_json_reader;

/* A reader of text[0..len) (which need not end with a '\0') with flags
** (NN_JSON_*); max_depth nested objects and arrays at most, 0 or above
** NN_JSON_DEPTH_MAX meaning NN_JSON_DEPTH_MAX. */
void nn_json_init(nn_json_reader *r, const char *text, size_t len, unsigned flags,
                  size_t max_depth);

/* The next token into t, and its kind. */
nn_json_kind nn_json_next(nn_json_reader *r, nn_json_token *t);

/* The kind the next token has, told from its first byte, without reading
** it: a ',' or ':' before it is read and checked, the token is not (so a
** "tru" peeks as NN_JSON_TRUE, and nn_json_next then fails on it).
** NN_JSON_ERROR when no token can start there. */
nn_json_kind nn_json_peek(nn_json_reader *r);

/* What error e means, in a few words ("expected ',' or ']'"). */
const char *nn_json_error_text(nn_json_error e);

/* The string at *p (up to end: a STRING's or KEY's s and n) decoded into
** out, at most cap bytes (cap >= 4), escapes replaced by the bytes they
** stand for (\u as UTF-8, surrogate pairs joined); *p moves past what was
** decoded.  The number of bytes written: call again while *p < end.  The
** decoded string is never longer than its text. */
size_t nn_json_unescape(char *out /* [cap] */, size_t cap, const char **p, const char *end);

#endif
