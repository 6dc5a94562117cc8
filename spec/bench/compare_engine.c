/*
** compare_engine.c: one round of make bench-compare in the engine alone:
** the single-sample and batch figures of build/bench/engine (spec/bench/
** engine.c) for the kernel set the processor gets, as "name value" lines in
** nanoseconds per sample.
**
** spec/bench/compare.lua compiles this file against each tree's own engine
** (the sources its Makefile names ENGINE_SRCS, its headers), so it uses only
** what every tree since the seed has: NN_DENSE, NN_ACT, nn_net_new,
** nn_init_uniform, nn_forward, nn_forward_batch and their work sizes.  Each
** figure is the median of RUNS runs of about RUN_NS each.  Figures, not a
** test: nothing here checks a number.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn_engine.h"

#define RUNS   5
#define RUN_NS 4e7      /* 40 ms a run */
#define BATCH  256

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* n passes: one sample each (rows == 0) or a batch of rows; a sum of the
** outputs, so that nothing is left out. */
static double passes(const nn_net *net, const float *X, float *Y, float *work,
                     size_t rows, size_t n) {
  size_t i, n_in = net->n_inputs;
  double sum = 0.0;
  for (i = 0; i < n; i++) {
    if (rows == 0) nn_forward(net, Y, X + (i % BATCH) * n_in, n_in, work);
    else nn_forward_batch(net, Y, X, rows, n_in, work);
    sum += Y[0];
  }
  return sum;
}

/* Median ns per sample: the count of passes doubled until a run takes an
** eighth of RUN_NS, then scaled to RUN_NS. */
static double median_ns(const nn_net *net, const float *X, float *Y, float *work,
                        size_t rows) {
  double t[RUNS], t0, dt;
  volatile double sink = 0.0;
  size_t n = 1;
  int r;
  for (;;) {
    t0 = now_ns();
    sink += passes(net, X, Y, work, rows, n);
    dt = now_ns() - t0;
    if (dt >= RUN_NS / 8) break;
    n *= 2;
  }
  n = (size_t)((double)n * RUN_NS / dt) + 1;
  for (r = 0; r < RUNS; r++) {
    t0 = now_ns();
    sink += passes(net, X, Y, work, rows, n);
    t[r] = (now_ns() - t0) / (double)n;
  }
  (void)sink;
  qsort(t, RUNS, sizeof t[0], cmp_double);
  return t[RUNS / 2] / (double)(rows ? rows : 1);
}

static nn_net *build(const nn_layer *arch, size_t n) {
  char err[NN_ERRMAX];
  uint64_t rng = 42;
  nn_net *net = nn_net_new(arch, n, err);
  if (net == NULL) { fprintf(stderr, "compare_engine: %s\n", err); exit(1); }
  nn_init_uniform(net, &rng);
  return net;
}

int main(void) {
  nn_layer seed[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  nn_layer mlp[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                     NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  nn_layer game[] = { NN_DENSE(64, 64), NN_ACT(NN_TANH), NN_DENSE(64, 64),
                      NN_ACT(NN_TANH), NN_DENSE(64, 8), NN_ACT(NN_SOFTMAX) };
  static const char *const names[] = { "seed", "mlp", "game" };
  nn_net *nets[3];
  float *X, *Y, *work;
  size_t i, most = 0;
  uint64_t state = 7;

  nets[0] = build(seed, 4);
  nets[1] = build(mlp, 6);
  nets[2] = build(game, 6);
  for (i = 0; i < 3; i++) {
    size_t need = nn_batch_work_size(nets[i], BATCH, nets[i]->n_inputs);
    if (nn_work_size(nets[i], nets[i]->n_inputs) > need)
      need = nn_work_size(nets[i], nets[i]->n_inputs);
    if (need > most) most = need;
  }
  X = malloc(BATCH * 784 * sizeof(float));
  Y = malloc(BATCH * 10 * sizeof(float));
  work = malloc(most * sizeof(float));
  if (X == NULL || Y == NULL || work == NULL) { fprintf(stderr, "compare_engine: no memory\n"); return 1; }
  /* inputs in [0, 1), like pixels: no layer saturates */
  for (i = 0; i < BATCH * 784; i++) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    X[i] = (float)(state >> 40) / 16777216.0f;
  }
  for (i = 0; i < 3; i++) {
    printf("engine.%s.single %.6g\n", names[i], median_ns(nets[i], X, Y, work, 0));
    if (i > 0) printf("engine.%s.batch %.6g\n", names[i], median_ns(nets[i], X, Y, work, BATCH));
    fflush(stdout);
  }
  for (i = 0; i < 3; i++) nn_net_free(nets[i]);
  free(X); free(Y); free(work);
  return 0;
}
