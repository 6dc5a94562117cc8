/*
** nn_io.c: telling ONNX from FANN, and writing a whole file (see nn_io.h).
**
** Not a reader of either format: nn_onnx_read.c and nn_fann.c are.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "formats/nn_io.h"

nn_format nn_io_detect(const unsigned char *data, size_t n) {
  if (n >= 5 && memcmp(data, "FANN_", 5) == 0) return NN_FORMAT_FANN;
  /* ModelProto's fields as their first tag byte: ir_version (1, varint),
  ** producer_name, producer_version, domain (2..4, bytes), model_version
  ** (5, varint), doc_string, graph (6, 7, bytes), opset_import (8, bytes),
  ** metadata_props (14, bytes).  Every writer puts ir_version first. */
  if (n >= 2) {
    switch (data[0]) {
      case 0x08: case 0x12: case 0x1a: case 0x22: case 0x28: case 0x32:
      case 0x3a: case 0x42: case 0x72:
        return NN_FORMAT_ONNX;
      default: break;
    }
  }
  return NN_FORMAT_UNKNOWN;
}

const char *nn_format_name(nn_format f) {
  return f == NN_FORMAT_ONNX ? "onnx" : f == NN_FORMAT_FANN ? "fann" : "unknown";
}

nn_format nn_format_from_name(const char *name) {
  if (strcmp(name, "onnx") == 0) return NN_FORMAT_ONNX;
  if (strcmp(name, "fann") == 0) return NN_FORMAT_FANN;
  return NN_FORMAT_UNKNOWN;
}

int nn_io_write_file(const char *path, const void *data, size_t n, char err[NN_ERRMAX]) {
  FILE *f = fopen(path, "wb");
  int ok;
  if (f == NULL) {
    snprintf(err, NN_ERRMAX, "cannot open %s: %s", path, strerror(errno));
    return NN_EIO;
  }
  ok = fwrite(data, 1, n, f) == n;
  if (!ok) snprintf(err, NN_ERRMAX, "cannot write %s: %s", path, strerror(errno));
  if (fclose(f) != 0 && ok) {
    snprintf(err, NN_ERRMAX, "cannot write %s: %s", path, strerror(errno));
    ok = 0;
  }
  if (!ok) remove(path);
  return ok ? NN_OK : NN_EIO;
}
