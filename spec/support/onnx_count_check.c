/*
** onnx_count_check.c: what reading an ONNX file costs nn's reader, counted
** rather than timed, for spec/onnx_spec.lua: the file through nn_onnx_read,
** then one line "status name_probes layers", where name_probes is the
** number of slots of the reader's table of names it looked at (a scan of
** the names would be counted there too, once per name compared).
**
**   onnx_count_check model.onnx
*/
#include <stdio.h>
#include <stdlib.h>

#include "formats/nn_onnx.h"

int main(int argc, char **argv) {
  FILE *f;
  unsigned char *data;
  long n;
  nn_net *net = NULL;
  nn_onnx_info info = { 0, 0, 0 };
  char err[NN_ERRMAX];
  int st;
  if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) return 1;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
      (data = (unsigned char *)malloc((size_t)n + 1)) == NULL ||
      fread(data, 1, (size_t)n, f) != (size_t)n)
    return 1;
  fclose(f);
  st = nn_onnx_read(data, (size_t)n, NULL, 0, &net, &info, err);
  printf("%d %zu %zu\n", st, info.name_probes, net ? net->n_layers : (size_t)0);
  if (st != NN_OK) printf("%s\n", err);
  nn_net_free(net);
  free(data);
  return 0;
}
