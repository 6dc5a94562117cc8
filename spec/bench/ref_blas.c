/*
** ref_blas.c: what a batch of forward passes costs with OpenBLAS on one
** thread, the reference make bench puts beside nn's batch figures.
**
** It prints, in ns per sample (a batch of 256 timed whole, divided by 256;
** median of NN_REF_RUNS runs, process CPU time):
**   blas.mlp.batch256    784-256-128-10, ReLU, SoftMax, fixed-seed weights
**   blas.game.batch256   64-64-64-8, Tanh, SoftMax, fixed-seed weights
** A layer is one cblas_sgemm, A [256][n_in] times W^T (W is [n_out][n_in]
** as nn stores it), then one pass adding the bias and applying the
** activation; SoftMax per row at the end.
**
** One thread: openblas_set_num_threads(1) here, OPENBLAS_NUM_THREADS=1 from
** spec/bench/refs.lua, and a check that OpenBLAS agrees; nn computes on one
** thread too.
**
** Not a spec and not part of nn: it links OpenBLAS alone, and exits non-zero
** if a row's output differs from the double computation (ref_common.h).
*/
#include "ref_common.h"

#include <cblas.h>

#define BATCH 256

/* CPU time for one thread; the wall clock for several. */
static clockid_t bench_clock = CLOCK_PROCESS_CPUTIME_ID;

typedef struct blas_ctx {
  const ref_mlp *m;
  float *a[NN_REF_MAX_LINEAR + 1];   /* a[0]: the inputs [BATCH][width[0]];
                                        a[l]: layer l's outputs [BATCH][width[l]] */
} blas_ctx;

/* max(v, 0) written without a compare: gcc 12 -O2 makes "v > 0 ? v : 0" (and
** "v * (v > 0)") a branch, which on random signs mispredicts half the time
** and cost this reference as much as a third of its sgemm.  (v + |v|) / 2 is
** exactly max(v, 0) for every finite v below FLT_MAX / 2: 2v and the halving
** are exact in binary floating point. */
static void add_bias_relu(float *restrict y /* [n] */, const float *restrict b /* [n] */,
                          size_t n) {
  size_t j;
  for (j = 0; j < n; j++) {
    float v = y[j] + b[j];
    y[j] = (v + fabsf(v)) * 0.5f;
  }
}

/* One batch through the network; the outputs are in c->a[n_linear]. */
static void blas_forward(blas_ctx *c) {
  const ref_mlp *m = c->m;
  size_t l, r, j;
  for (l = 0; l < m->n_linear; l++) {
    size_t n_in = m->width[l], n_out = m->width[l + 1];
    float *y = c->a[l + 1];
    const float *b = m->b[l];
    int last = l + 1 == m->n_linear;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, BATCH, (int)n_out, (int)n_in,
                1.0f, c->a[l], (int)n_in, m->W[l], (int)n_in, 0.0f, y, (int)n_out);
    for (r = 0; r < BATCH; r++, y += n_out) {
      if (last) {
        for (j = 0; j < n_out; j++) y[j] += b[j];
        ref_softmax(y, n_out);
      } else if (m->hidden == REF_RELU) {
        add_bias_relu(y, b, n_out);
      } else {
        for (j = 0; j < n_out; j++) y[j] = tanhf(y[j] + b[j]);
      }
    }
  }
}

/* n batches. */
static double blas_work(void *p, size_t n) {
  blas_ctx *c = p;
  size_t i, n_out = c->m->width[c->m->n_linear];
  double acc = 0;
  for (i = 0; i < n; i++) {
    blas_forward(c);
    acc += c->a[c->m->n_linear][(i % BATCH) * n_out];
  }
  return acc;
}

/* Checks the first and last rows against the double computation, then
** times; prints one line, in ns per sample. */
static void bench(const char *name, const size_t *width, size_t n_linear, ref_act hidden,
                  uint64_t seed) {
  ref_mlp m;
  blas_ctx c;
  size_t l, i, n_out = width[n_linear];
  size_t rows[2] = { 0, BATCH - 1 };
  double *want = ref_alloc(n_out, sizeof(double));

  ref_mlp_random(&m, width, n_linear, hidden, seed);
  c.m = &m;
  for (l = 0; l <= n_linear; l++) c.a[l] = ref_alloc(BATCH * width[l], sizeof(float));
  for (i = 0; i < BATCH * width[0]; i++) c.a[0][i] = ref_uniform(&seed, 0.0f, 1.0f);

  blas_forward(&c);
  for (i = 0; i < 2; i++) {
    ref_mlp_forward_double(&m, want, c.a[0] + rows[i] * width[0]);
    ref_check(name, c.a[n_linear] + rows[i] * n_out, want, n_out);
  }
  ref_print(name, ref_median_ns(blas_work, &c, 1, bench_clock) / BATCH, "ns");

  for (l = 0; l <= n_linear; l++) free(c.a[l]);
  ref_mlp_free(&m);
  free(want);
}

/* With an argument N: the MLP's batch alone on N OpenBLAS threads, timed
** on the wall clock (CPU time would add the threads' times up), as
** "blas.mlp.batch256.tN": what spec/bench/threads.lua puts beside nn's
** threads. */
int main(int argc, char **argv) {
  size_t mlp[] = { 784, 256, 128, 10 }, game[] = { 64, 64, 64, 8 };
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  char name[64];
  openblas_set_num_threads(threads);
  if (threads < 1 || openblas_get_num_threads() != threads) {
    fprintf(stderr, "OpenBLAS runs %d threads, not %d\n", openblas_get_num_threads(), threads);
    return 1;
  }
  if (argc > 1) {
    snprintf(name, sizeof name, "blas.mlp.batch256.t%d", threads);
    bench_clock = CLOCK_MONOTONIC;
    bench(name, mlp, 3, REF_RELU, 784);
    return 0;
  }
  bench("blas.mlp.batch256", mlp, 3, REF_RELU, 784);
  bench("blas.game.batch256", game, 3, REF_TANH, 64);
  return 0;
}
