/*
** nn_io.h: what the readers and writers of other tools' formats share
** (nn_onnx_*.c, nn_fann.c): their statuses, telling the formats apart, and
** whole files in and out.
**
** Pure C99: no Lua, no SQLite.  Like the engine, every function returns a
** status and leaves a message in err.
*/
#ifndef NN_IO_H
#define NN_IO_H

#include <stddef.h>

#include "engine/nn_engine.h"

typedef enum nn_format {
  NN_FORMAT_UNKNOWN = 0, NN_FORMAT_ONNX, NN_FORMAT_FANN
} nn_format;

/* The format of a file from its first bytes: a FANN .net file starts with
** "FANN_", an ONNX model (a protobuf ModelProto) with the tag of one of
** ModelProto's fields. */
nn_format nn_io_detect(const unsigned char *data /* [n] */, size_t n);

/* "onnx", "fann" and back (NN_FORMAT_UNKNOWN for another name). */
const char *nn_format_name(nn_format f);
nn_format nn_format_from_name(const char *name);

/* Write data[n] to path, replacing the file; NN_EIO with the system's
** reason in err. */
int nn_io_write_file(const char *path, const void *data /* [n] */, size_t n,
                     char err[NN_ERRMAX]);

#endif
