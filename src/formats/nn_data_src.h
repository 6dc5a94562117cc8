/*
** nn_data_src.h: what the readers of nn_data.c and nn_data_csv.c share (not
** a public header): a byte source that reads gzip and plain files alike,
** line counting, and the messages.  No lua.h, no sqlite3.h.
*/
#ifndef NN_DATA_SRC_H
#define NN_DATA_SRC_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include "engine/nn_engine.h"
#include "formats/nn_data.h"
#include "formats/nn_number.h"

#define NN_SRC_BUF  65536

/* Bytes from a file through zlib, NN_SRC_BUF at a time. */
typedef struct nn_src {
  gzFile gz;
  unsigned char *buf;    /* [NN_SRC_BUF] */
  size_t pos, len;
  uint64_t offset;       /* bytes of the stream before buf[0] */
  uint64_t max_bytes;    /* more is an error */
  int failed;            /* a read error, message in err */
} nn_src;

/* Open path (gzip or not), to read at most lim->max_bytes from it (the
** defaults when lim is NULL); the buffer is allocated here. */
int nn_src_open(nn_src *s, const char *path, const nn_data_limits *lim, char err[NN_ERRMAX]);
void nn_src_close(nn_src *s);
/* Refill: 0 at the end of the stream or on an error (s->failed, err). */
int nn_src_fill(nn_src *s, char err[NN_ERRMAX]);
/* The next byte, or -1 at the end (check s->failed). */
int nn_src_getc(nn_src *s, char err[NN_ERRMAX]);

/* A byte source and where its next character is. */
typedef struct nn_lexer {
  nn_src s;
  size_t line, col;      /* of the next character */
  size_t last_line;      /* of the last token read */
  size_t max_field;      /* the longest token or field */
} nn_lexer;

/* The limits lim says, or the defaults. */
nn_data_limits nn_data_limits_of(const nn_data_limits *lim);

/* Fill err; returns status. */
int nn_data_fail(char err[NN_ERRMAX], int status, const char *fmt, ...);
int nn_data_nomem(char err[NN_ERRMAX]);

/* The number a field's text s[0..n) holds (nn_number_read); 0 also when it
** is longer than NN_NUMBER_FIELD_MAX. */
int nn_data_field_number(const char *s, size_t n, double *out);

#endif
