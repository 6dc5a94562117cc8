/*
** engine.c: what a forward pass costs in the engine alone, for each kernel
** set this processor runs (make bench builds and runs it).
**
** Prints nanoseconds per sample, the median of 7 runs, for one sample at a
** time (nn_forward) and for batches of 256 (nn_forward_batch).  Figures,
** not a test: nothing here checks the numbers (spec/engine_spec.lua does).
*/
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_engine.h"

#define RUNS  7
#define BATCH 256

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Enough calls for a run to last about 20 ms, from one timed call. */
static size_t calls_for(double ns_per_call) {
  double n = 2e7 / (ns_per_call > 1.0 ? ns_per_call : 1.0);
  return n < 1.0 ? 1 : (size_t)n;
}

static volatile float sink;

/* Median ns per sample of nn_forward (rows == 0) or of nn_forward_batch. */
static double time_net(const nn_net *net, const float *X /* [BATCH][n_in] */,
                       float *Y, float *work, size_t rows) {
  double t[RUNS], t0;
  size_t n_in = net->n_inputs, calls, c, r;
  t0 = now_ns();
  if (rows == 0) nn_forward(net, Y, X, n_in, work);
  else nn_forward_batch(net, Y, X, rows, n_in, work);
  calls = calls_for(now_ns() - t0);
  for (r = 0; r < RUNS; r++) {
    t0 = now_ns();
    for (c = 0; c < calls; c++) {
      if (rows == 0) nn_forward(net, Y, X + (c % BATCH) * n_in, n_in, work);
      else nn_forward_batch(net, Y, X, rows, n_in, work);
      sink += Y[0];
    }
    t[r] = (now_ns() - t0) / (double)calls / (double)(rows ? rows : 1);
  }
  qsort(t, RUNS, sizeof t[0], by_value);
  return t[RUNS / 2];
}

static nn_net *build(const nn_layer *arch, size_t n) {
  char err[NN_ERRMAX];
  uint64_t rng = 42;
  nn_net *net = nn_net_new(arch, n, err);
  if (net == NULL) { fprintf(stderr, "engine bench: %s\n", err); exit(1); }
  nn_init_uniform(net, &rng);
  return net;
}

int main(void) {
  static const char *const sets[] = { "generic", "avx2", "avx512" };
  nn_layer seed[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  nn_layer mnist[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                       NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  nn_layer deep[] = { NN_DENSE(64, 64), NN_ACT(NN_TANH), NN_DENSE(64, 64),
                      NN_ACT(NN_TANH), NN_DENSE(64, 8), NN_ACT(NN_TANH) };
  nn_net *nets[3];
  float *X, *Y, *work;
  size_t i, s, most = 0;
  uint64_t rng = 7;

  nets[0] = build(seed, 4);
  nets[1] = build(mnist, 6);
  nets[2] = build(deep, 6);
  for (i = 0; i < 3; i++) {
    size_t need = nn_batch_work_size(nets[i], BATCH, nets[i]->n_inputs);
    if (need > most) most = need;
  }
  X = malloc(BATCH * 784 * sizeof(float));
  Y = malloc(BATCH * 10 * sizeof(float));
  work = malloc(most * sizeof(float));
  if (X == NULL || Y == NULL || work == NULL) { fprintf(stderr, "engine bench: no memory\n"); return 1; }
  /* Inputs in [0, 1), like pixels: no layer saturates. */
  {
    float *row = X;
    nn_net *tmp = build((nn_layer[]){ NN_DENSE(BATCH * 784, 1) }, 1);
    memcpy(row, tmp->params, BATCH * 784 * sizeof(float));
    for (i = 0; i < BATCH * 784; i++) row[i] = 0.5f * row[i] + 0.5f;
    nn_net_free(tmp);
    (void)rng;
  }

  printf("ns per sample, median of %d runs; batch = %d rows per nn_forward_batch\n",
         RUNS, BATCH);
  printf("%-8s %12s %14s %14s %14s %14s\n", "kernel", "4-3-2", "784-256-128-10",
         "784.. batch", "64-64-64-8", "64.. batch");
  for (s = 0; s < 3; s++) {
    if (nn_kernel_select(sets[s]) != NN_OK) {
      printf("%-8s (not supported here)\n", sets[s]);
      continue;
    }
    printf("%-8s %12.1f %14.1f %14.1f %14.1f %14.1f\n", nn_kernel_name(),
           time_net(nets[0], X, Y, work, 0),
           time_net(nets[1], X, Y, work, 0), time_net(nets[1], X, Y, work, BATCH),
           time_net(nets[2], X, Y, work, 0), time_net(nets[2], X, Y, work, BATCH));
    fflush(stdout);
  }
  nn_kernel_select(NULL);
  for (i = 0; i < 3; i++) nn_net_free(nets[i]);
  free(X); free(Y); free(work);
  return 0;
}
