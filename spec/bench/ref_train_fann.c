/*
** ref_train_fann.c: libfann training on FANN's own benchmark sets, the
** reference make bench puts beside nn's RPROP (spec/bench/train.lua).
**
**   build/bench/ref_train_fann DIR SET...
**
** For each SET, DIR/SET.train and DIR/SET.test (libfann-doc's examples):
** fann_create_standard(3, inputs, 32, outputs), hidden layer
** FANN_SIGMOID_SYMMETRIC, output FANN_SIGMOID, FANN's default training
** (iRPROP- on the whole set, its tanh error function), 300 epochs of
** fann_train_epoch.  It prints
**   fann.train.SET.epoch    CPU us an epoch (median of RUNS runs of 300)
**   fann.train.SET.error    test error in % after 300 epochs (median of the
**                           RUNS runs: each starts from its own random weights)
** The error counts the test rows whose largest output is not the largest
** target (one output: on the other side of 0.5).
**
** Not a spec and not part of nn: it links libfann alone.
*/
#include "ref_common.h"

#include <string.h>

#include <floatfann.h>

#define EPOCHS 300
#define RUNS   11      /* 300 epochs each: the median of 11 */

static size_t argmax(const fann_type *v, unsigned n) {
  unsigned i, best = 0;
  for (i = 1; i < n; i++) if (v[i] > v[best]) best = i;
  return best;
}

static double test_error(struct fann *ann, struct fann_train_data *d) {
  unsigned r, wrong = 0, k = d->num_output;
  for (r = 0; r < d->num_data; r++) {
    fann_type *y = fann_run(ann, d->input[r]);
    if (k == 1) wrong += (y[0] > 0.5f) != (d->output[r][0] > 0.5f);
    else wrong += argmax(y, k) != argmax(d->output[r], k);
  }
  return 100.0 * wrong / d->num_data;
}

static void bench(const char *dir, const char *set) {
  char path[4096], name[256];
  struct fann_train_data *train, *test;
  double t[RUNS], error[RUNS];
  int r, e;
  snprintf(path, sizeof path, "%s/%s.train", dir, set);
  if ((train = fann_read_train_from_file(path)) == NULL) exit(1);
  snprintf(path, sizeof path, "%s/%s.test", dir, set);
  if ((test = fann_read_train_from_file(path)) == NULL) exit(1);
  for (r = 0; r < RUNS; r++) {
    struct fann *ann = fann_create_standard(3, train->num_input, 32, train->num_output);
    double t0;
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    t0 = ref_now_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (e = 0; e < EPOCHS; e++) fann_train_epoch(ann, train);
    t[r] = (ref_now_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) / EPOCHS / 1e6;
    error[r] = test_error(ann, test);
    fann_destroy(ann);
  }
  qsort(t, RUNS, sizeof t[0], ref_cmp_double);
  qsort(error, RUNS, sizeof error[0], ref_cmp_double);
  snprintf(name, sizeof name, "fann.train.%s.epoch", set);
  ref_print(name, t[RUNS / 2] * 1000, "us");
  snprintf(name, sizeof name, "fann.train.%s.error", set);
  printf("%s %.2f %%\n", name, error[RUNS / 2]);
  fann_destroy_train(train);
  fann_destroy_train(test);
}

int main(int argc, char **argv) {
  int i;
  if (argc < 3) {
    fprintf(stderr, "usage: ref_train_fann DIR SET...\n");
    return 2;
  }
  fann_set_error_log(NULL, NULL);
  for (i = 2; i < argc; i++) bench(argv[1], argv[i]);
  return 0;
}
