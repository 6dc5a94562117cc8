/*
** nn_data.h: training data from the files people have: IDX (the MNIST
** family), FANN's .data training files and CSV, each also gzip-compressed.
**
** Every reader refuses what it does not understand with a message naming
** where (byte, line, column) and what, and never guesses.  Numbers are read
** by nn_number.h, with '.' as the decimal point whatever the C locale says,
** and at most NN_NUMBER_FIELD_MAX characters long.  Files ending in
** .gz or not: zlib reads both (a file that is not gzip is read as it is).
**
** This is not the Lua binding and not the store: no lua.h, no sqlite3.h.
** The caller owns every buffer.  IDX and FANN files announce their sizes in
** a header, so they are read in two steps: the header, then the data into
** the caller's arrays (the header is read again and must not have changed).
** A CSV file is read whole into an nn_csv that nn_csv_free releases.
**
** Every reader is bounded by what it reads, never by what a file claims:
** a size announced in a header is checked against the bytes that follow
** it (and against max_bytes) before the caller allocates anything for it,
** and nn_data_limits caps the bytes read from a file once decompressed and
** the length of one token or field, so that an endless input (a device, a
** gzip bomb) ends with an error that names the limit.
**
**   nn_idx_info h;
**   char err[NN_ERRMAX];
**   if (nn_idx_header("train-images-idx3-ubyte.gz", &h, err) == NN_OK) {
**     float *x = malloc(h.rows * h.cols * sizeof *x);     // 60000 x 784
**     nn_idx_read("train-images-idx3-ubyte.gz", &h, 1.0 / 255, x, err);
**   }
*/
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "engine/nn_engine.h"

/* --- limits ------------------------------------------------------------ */

#define NN_DATA_MAX_BYTES  ((uint64_t)1 << 30)   /* 1 GiB */
#define NN_DATA_MAX_FIELD  ((size_t)1 << 20)     /* 1 MiB */

/* What a reader takes from one file at most; NULL for a limits argument
** means these defaults. */
typedef struct nn_data_limits {
  uint64_t max_bytes;   /* bytes read, once decompressed, and bytes of the
                           result (NN_DATA_MAX_BYTES) */
  size_t max_field;     /* bytes of one token (FANN) or field (CSV)
                           (NN_DATA_MAX_FIELD) */
} nn_data_limits;

/* --- IDX ---------------------------------------------------------------- */

#define NN_IDX_MAXDIMS  8

typedef struct nn_idx_info {
  int type;                       /* 0x08 ubyte, 0x09 sbyte, 0x0B int16,
                                     0x0C int32, 0x0D float32, 0x0E float64 */
  size_t ndims, dims[NN_IDX_MAXDIMS];
  size_t rows, cols;              /* dims[0], and the product of the others */
} nn_idx_info;

/* The header of the IDX file at path, checked: magic, type, dimensions
** (their product at most NN_MAX_PARAMS), a result of cost bytes an element
** and the file within lim->max_bytes, and every element's bytes there. */
int nn_idx_header(const char *path, const nn_data_limits *lim, size_t cost,
                  nn_idx_info *info, char err[NN_ERRMAX]);

/* Every element, times scale, as float32 into out: the file must still
** have the header in info and exactly the bytes it announces.  Refuses NaN,
** infinities and values beyond float32. */
int nn_idx_read(const char *path, const nn_data_limits *lim, const nn_idx_info *info,
                double scale, float *out /* [info->rows * info->cols] */,
                char err[NN_ERRMAX]);

/* --- FANN .data --------------------------------------------------------- */

/* The header "n_pairs n_in n_out" of a FANN training file, checked: the
** numbers (4 bytes each) within lim->max_bytes, and a byte at least for
** each of them after the header. */
int nn_fann_data_header(const char *path, const nn_data_limits *lim, size_t *n_pairs,
                        size_t *n_in, size_t *n_out, char err[NN_ERRMAX]);

/* The pairs: x gets the inputs, t the outputs; the header must still be
** n_pairs n_in n_out, and nothing may follow the last pair. */
int nn_fann_data_read(const char *path, const nn_data_limits *lim, size_t n_pairs,
                      size_t n_in, size_t n_out,
                      float *x /* [n_pairs][n_in] */, float *t /* [n_pairs][n_out] */,
                      char err[NN_ERRMAX]);

/* --- CSV ---------------------------------------------------------------- */

typedef struct nn_csv_opts {
  const char *target;        /* the target column's name, or NULL */
  size_t target_index;       /* else its 1-based index; 0: no target column */
  int classes;               /* 1: the target holds labels; 0: numbers;
                                -1: numbers when every value is one */
  const char *const *labels; /* the label map to use, or NULL: the labels
                                found, sorted by their bytes */
  size_t n_labels;
} nn_csv_opts;

typedef struct nn_csv {
  size_t rows, cols;         /* of x: every column but the target */
  float *x;                  /* [rows][cols] */
  char **names;              /* [cols] the header's names of x's columns */
  char *target_name;         /* NULL without a target */
  int classes;               /* the target was read as labels */
  float *t;                  /* [rows] numbers, when !classes */
  size_t *cls;               /* [rows] 1-based label indices, when classes */
  char **labels;             /* [n_labels] found (when opts->labels is NULL) */
  size_t n_labels;
} nn_csv;

/* Read the CSV file at path (RFC 4180: a header row, fields separated by
** commas, quoted with '"' where they hold commas, quotes or line breaks)
** into csv, which the caller zeroes first and frees with nn_csv_free
** whatever this returns. */
int nn_csv_read(const char *path, const nn_data_limits *lim, const nn_csv_opts *opts,
                nn_csv *csv, char err[NN_ERRMAX]);
void nn_csv_free(nn_csv *csv);

#endif
