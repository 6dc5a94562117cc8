/*
** ref_train_blas.c: the floor of a training step, the matrix products of
** one mini-batch at OpenBLAS speed on one thread, which make bench puts
** beside nn's and PyTorch's training epochs (spec/bench/train.lua).
**
** The step of 784-256-128-10 with a batch of 64, as nn runs it: for each
** Linear layer Y = X W^T (forward), dW = dY^T X, and dX = dY W for every
** layer but the first (nothing needs the gradient of the inputs).  Eight
** cblas_sgemm calls, nothing else: no bias, activation, loss or optimizer,
** so no training can take less.  It prints, median of NN_REF_RUNS runs,
** process CPU time:
**   blas.train.step   ns per step
**
** Not a spec and not part of nn: it links OpenBLAS alone.
*/
#include "ref_common.h"

#include <cblas.h>

#define BATCH  64
#define LAYERS 3

static const int width[LAYERS + 1] = { 784, 256, 128, 10 };

typedef struct step_ctx {
  float *a[LAYERS + 1], *d[LAYERS + 1];   /* activations and their gradients [BATCH][width] */
  float *w[LAYERS], *dw[LAYERS];          /* [width[l+1]][width[l]] */
} step_ctx;

static void step(step_ctx *c) {
  int l;
  for (l = 0; l < LAYERS; l++)       /* a[l+1] = a[l] W^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, width[l + 1], width[l],
                1.0f, c->a[l], width[l], c->w[l], width[l], 0.0f, c->a[l + 1], width[l + 1]);
  for (l = LAYERS - 1; l >= 0; l--) {
    /* dW = d[l+1]^T a[l] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, width[l + 1], width[l], BATCH,
                1.0f, c->d[l + 1], width[l + 1], c->a[l], width[l], 0.0f, c->dw[l], width[l]);
    if (l > 0)                       /* d[l] = d[l+1] W */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, BATCH, width[l], width[l + 1],
                  1.0f, c->d[l + 1], width[l + 1], c->w[l], width[l], 0.0f, c->d[l], width[l]);
  }
}

static double work(void *p, size_t n) {
  step_ctx *c = p;
  size_t i;
  double acc = 0;
  for (i = 0; i < n; i++) {
    step(c);
    acc += c->dw[0][i % 100];
  }
  return acc;
}

/* With an argument N: on N OpenBLAS threads, timed on the wall clock (CPU
** time would add the threads' times up), as "blas.train.step.tN". */
int main(int argc, char **argv) {
  step_ctx c;
  uint64_t seed = 64;
  int l, threads = argc > 1 ? atoi(argv[1]) : 1;
  size_t i;
  char name[64] = "blas.train.step";
  openblas_set_num_threads(threads);
  if (threads < 1 || openblas_get_num_threads() != threads) {
    fprintf(stderr, "OpenBLAS runs %d threads, not %d\n", openblas_get_num_threads(), threads);
    return 1;
  }
  if (argc > 1) snprintf(name, sizeof name, "blas.train.step.t%d", threads);
  for (l = 0; l <= LAYERS; l++) {
    c.a[l] = ref_alloc((size_t)BATCH * width[l], sizeof(float));
    c.d[l] = ref_alloc((size_t)BATCH * width[l], sizeof(float));
    for (i = 0; i < (size_t)BATCH * width[l]; i++) {
      c.a[l][i] = ref_uniform(&seed, 0.0f, 1.0f);
      c.d[l][i] = ref_uniform(&seed, -1.0f, 1.0f);
    }
  }
  for (l = 0; l < LAYERS; l++) {
    size_t n = (size_t)width[l] * width[l + 1];
    c.w[l] = ref_alloc(n, sizeof(float));
    c.dw[l] = ref_alloc(n, sizeof(float));
    for (i = 0; i < n; i++) c.w[l][i] = ref_uniform(&seed, -0.05f, 0.05f);
  }
  ref_print(name, ref_median_ns(work, &c, 1, argc > 1 ? CLOCK_MONOTONIC
                                                          : CLOCK_PROCESS_CPUTIME_ID), "ns");
  for (l = 0; l <= LAYERS; l++) { free(c.a[l]); free(c.d[l]); }
  for (l = 0; l < LAYERS; l++) { free(c.w[l]); free(c.dw[l]); }
  return 0;
}
