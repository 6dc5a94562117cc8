/*
** onnx_testdata_check.c: ONNX's own backend tests run through nn's reader,
** for spec/onnx_spec.lua.
**
** Reads test directories (one path a line on stdin), each holding
** model.onnx and test_data_set_N/{input_K,output_0}.pb, and prints one line
** for each:
**   "<dir> matched <max abs difference>"   every data set within 1e-5
**   "<dir> differs <max abs difference>"   imported, but the outputs differ
**   "<dir> refused <the reader's message>"
**   "<dir> broken <what>"                  the test's own files unreadable
** The graph's data inputs after the first are given as constants from the
** data set's input_1.pb, input_2.pb, ... (the node tests keep Gemm's B and
** C so).  It holds no expected values: those are the tests' output_0.pb.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "formats/nn_onnx.h"

#define MAX_INPUTS 8
#define TOLERANCE  1e-5

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *p = NULL;
  long size;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (p = (unsigned char *)malloc((size_t)size + 1)) != NULL) {
    *n = fread(p, 1, (size_t)size, f);
    if (*n != (size_t)size) { free(p); p = NULL; }
  }
  fclose(f);
  return p;
}

/* One data set against the net; the largest difference, or -1 when the
** test's files are unreadable, -2 when the shapes do not fit. */
static double run_set(const nn_net *net, size_t row, const char *set) {
  char path[2048 + 64];
  size_t n_in, n_out, n_x, n_y, rows, i, k;
  unsigned char *in_bytes, *out_bytes;
  float *x = NULL, *y_want = NULL, *y = NULL, *work = NULL;
  char err[NN_ERRMAX];
  double diff = -1;
  snprintf(path, sizeof path, "%s/input_0.pb", set);
  in_bytes = slurp(path, &n_in);
  snprintf(path, sizeof path, "%s/output_0.pb", set);
  out_bytes = slurp(path, &n_out);
  if (in_bytes == NULL || out_bytes == NULL ||
      nn_onnx_read_tensor(in_bytes, n_in, &x, &n_x, err) != NN_OK ||
      nn_onnx_read_tensor(out_bytes, n_out, &y_want, &n_y, err) != NN_OK)
    goto done;
  diff = -2;
  if (row == 0 || n_x % row != 0) goto done;
  rows = n_x / row;
  if (rows == 0 || n_y % rows != 0 || (net->n_outputs && n_y / rows != net->n_outputs))
    goto done;
  y = (float *)malloc((n_y ? n_y : 1) * sizeof(float));
  work = (float *)malloc(nn_work_size(net, row) * sizeof(float));
  if (y == NULL || work == NULL) goto done;
  diff = 0;
  for (i = 0; i < rows; i++) {
    size_t w = n_y / rows;
    nn_forward(net, y + i * w, x + i * row, row, work);
    for (k = 0; k < w; k++) {
      double d = fabs((double)y[i * w + k] - (double)y_want[i * w + k]);
      if (!(d <= diff)) diff = d;    /* a NaN is the largest difference */
    }
  }
done:
  free(in_bytes);
  free(out_bytes);
  free(x);
  free(y_want);
  free(y);
  free(work);
  return diff;
}

static void run_dir(const char *dir) {
  char path[1024 + 64], err[NN_ERRMAX];
  size_t n, k, sets;
  unsigned char *model;
  unsigned char *feed_bytes[MAX_INPUTS];
  nn_onnx_feed feeds[MAX_INPUTS];
  size_t n_feeds = 0;
  nn_net *net = NULL;
  nn_onnx_info info;
  double worst = 0;
  int st;
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  if ((model = slurp(path, &n)) == NULL) {
    printf("%s broken no model.onnx\n", dir);
    return;
  }
  /* the constants of the first data set, bound to inputs 2, 3, ... */
  for (k = 1; k < MAX_INPUTS; k++) {
    size_t m;
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%zu.pb", dir, k);
    if ((feed_bytes[n_feeds] = slurp(path, &m)) == NULL) break;
    feeds[n_feeds].data = feed_bytes[n_feeds];
    feeds[n_feeds].n = m;
    n_feeds++;
  }
  st = nn_onnx_read(model, n, feeds, n_feeds, &net, &info, err);
  if (st != NN_OK) {
    printf("%s refused %s\n", dir, err);
  } else {
    for (sets = 0;; sets++) {
      double d;
      FILE *probe;
      snprintf(path, sizeof path, "%s/test_data_set_%zu/input_0.pb", dir, sets);
      if ((probe = fopen(path, "rb")) == NULL) break;
      fclose(probe);
      snprintf(path, sizeof path, "%s/test_data_set_%zu", dir, sets);
      d = run_set(net, info.row, path);
      if (d < 0) { worst = d; sets++; break; }
      if (!(d <= worst)) worst = d;
    }
    if (sets == 0 || worst == -1) printf("%s broken test data\n", dir);
    else if (worst == -2) printf("%s differs in shape\n", dir);
    else printf("%s %s %.3g\n", dir, worst <= TOLERANCE ? "matched" : "differs", worst);
  }
  nn_net_free(net);
  for (k = 0; k < n_feeds; k++) free(feed_bytes[k]);
  free(model);
}

int main(void) {
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0]) run_dir(line);
  }
  return 0;
}
