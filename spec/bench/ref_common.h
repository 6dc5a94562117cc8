/*
** ref_common.h: what the reference programs of make bench share: a
** fixed-seed generator for weights and inputs, a network description with a
** double-precision forward pass to check each reference against, and the
** timer that prints one "name value unit" line per figure.
**
** These programs measure what the same work costs WITHOUT nn (FANN, OpenBLAS,
** raw SQLite), so this file includes no nn header and the references link
** nothing of nn; engine.c, nn's own figures, borrows its timer.  They are
** not specs: they check their own numbers once, print an error and exit
** non-zero when a check fails, and never assert on a time.
**
** Include this file first: it asks for POSIX (clock_gettime, mkstemp) before
** any system header is read.
*/
#ifndef NN_REF_COMMON_H
#define NN_REF_COMMON_H

#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NN_REF_RUNS       7      /* each figure is the median of this many runs */
#define NN_REF_RUN_NS     1e8    /* ... each run about this long (100 ms) */
#define NN_REF_MAX_LINEAR 4      /* Linear layers in the largest network here */
#define NN_REF_TOL        1e-4   /* |float output - double output|, outputs in [0, 1] */

/* --- fixed-seed numbers ----------------------------------------------------- */

/* splitmix64: the same numbers on every machine and every run, so every
** reference times the same weights and inputs. */
static inline uint64_t ref_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi), from the top 24 bits: exact in a float. */
static inline float ref_uniform(uint64_t *state, float lo, float hi) {
  return lo + (hi - lo) * (float)(ref_next(state) >> 40) / 16777216.0f;
}

/* --- networks --------------------------------------------------------------- */

typedef enum { REF_RELU, REF_TANH } ref_act;

/* Linear, act, Linear, act, ..., Linear, SoftMax: every Linear but the last is
** followed by the hidden activation.  W[l] is [width[l+1]][width[l]] row-major
** (row j: the weights into output j), as nn stores it; b[l] is [width[l+1]]. */
typedef struct ref_mlp {
  size_t n_linear;
  size_t width[NN_REF_MAX_LINEAR + 1];
  ref_act hidden;
  float *W[NN_REF_MAX_LINEAR];
  float *b[NN_REF_MAX_LINEAR];
} ref_mlp;

static inline void *ref_alloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

/* Weights uniform in +-sqrt(6 / n_in) (He's bound, so that the outputs are
** not all alike and a wrong weight shows), biases in +-0.1. */
static inline void ref_mlp_random(ref_mlp *m, const size_t *width /* [n_linear + 1] */,
                                  size_t n_linear, ref_act hidden, uint64_t seed) {
  size_t l, i;
  m->n_linear = n_linear;
  m->hidden = hidden;
  for (l = 0; l <= n_linear; l++) m->width[l] = width[l];
  for (l = 0; l < n_linear; l++) {
    size_t n_in = width[l], n_out = width[l + 1];
    float a = (float)sqrt(6.0 / (double)n_in);
    m->W[l] = ref_alloc(n_out * n_in, sizeof(float));
    m->b[l] = ref_alloc(n_out, sizeof(float));
    for (i = 0; i < n_out * n_in; i++) m->W[l][i] = ref_uniform(&seed, -a, a);
    for (i = 0; i < n_out; i++) m->b[l][i] = ref_uniform(&seed, -0.1f, 0.1f);
  }
}

static inline void ref_mlp_free(ref_mlp *m) {
  size_t l;
  for (l = 0; l < m->n_linear; l++) {
    free(m->W[l]);
    free(m->b[l]);
  }
}

static inline size_t ref_max_width(const ref_mlp *m) {
  size_t l, w = 0;
  for (l = 0; l <= m->n_linear; l++)
    if (m->width[l] > w) w = m->width[l];
  return w;
}

/* The same network in double, a straightforward loop: what every reference
** is checked against. */
static inline void ref_mlp_forward_double(const ref_mlp *m,
                                          double *y /* [width[n_linear]] */,
                                          const float *x /* [width[0]] */) {
  size_t l, i, j, w = ref_max_width(m);
  double *a = ref_alloc(w, sizeof(double)), *z = ref_alloc(w, sizeof(double));
  double max = -HUGE_VAL, sum = 0;
  size_t n_out = m->width[m->n_linear];
  for (i = 0; i < m->width[0]; i++) a[i] = x[i];
  for (l = 0; l < m->n_linear; l++) {
    size_t n_in = m->width[l], n = m->width[l + 1];
    for (j = 0; j < n; j++) {
      double s = m->b[l][j];
      for (i = 0; i < n_in; i++) s += (double)m->W[l][j * n_in + i] * a[i];
      z[j] = s;
    }
    for (j = 0; j < n; j++) {
      if (l + 1 == m->n_linear) a[j] = z[j];
      else if (m->hidden == REF_RELU) a[j] = z[j] > 0 ? z[j] : 0;
      else a[j] = tanh(z[j]);
    }
  }
  for (j = 0; j < n_out; j++) if (a[j] > max) max = a[j];
  for (j = 0; j < n_out; j++) sum += (y[j] = exp(a[j] - max));
  for (j = 0; j < n_out; j++) y[j] /= sum;
  free(a);
  free(z);
}

/* SoftMax in float, in place, as the timed loops do it. */
static inline void ref_softmax(float *y /* [n] */, size_t n) {
  size_t j;
  float max = y[0], sum = 0;
  for (j = 1; j < n; j++) if (y[j] > max) max = y[j];
  for (j = 0; j < n; j++) sum += (y[j] = expf(y[j] - max));
  for (j = 0; j < n; j++) y[j] /= sum;
}

/* Exits non-zero, saying which output of which figure is off, unless every
** output is within NN_REF_TOL of the double computation. */
static inline void ref_check(const char *what, const float *got /* [n] */,
                             const double *want /* [n] */, size_t n) {
  size_t j;
  for (j = 0; j < n; j++) {
    if (!(fabs((double)got[j] - want[j]) <= NN_REF_TOL)) {
      fprintf(stderr, "%s: output %zu is %.9g, the double computation gives %.9g"
              " (tolerance %g)\n", what, j + 1, (double)got[j], want[j], NN_REF_TOL);
      exit(1);
    }
  }
}

/* --- timing ----------------------------------------------------------------- */

static inline double ref_now_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int ref_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* work(ctx, n) does n units of work and returns a number that depends on all
** of it; storing that in a volatile keeps the compiler from dropping any.
**
** The median over NN_REF_RUNS runs of the time of one unit, in ns, with n
** fixed once so that a run lasts about NN_REF_RUN_NS (found by doubling n,
** which also warms the caches).  n is always a multiple of unit, for work
** that comes in blocks (a transaction of 1000 rows).  clock is
** CLOCK_PROCESS_CPUTIME_ID for arithmetic (the clock behind Lua's
** os.clock(), which the nn side uses; another process on a shared core does
** not count), CLOCK_MONOTONIC where waiting on the disk is part of the cost. */
static inline double ref_median_ns(double (*work)(void *ctx, size_t n), void *ctx,
                                   size_t unit, clockid_t clock) {
  double t[NN_REF_RUNS], t0, dt;
  volatile double sink;
  size_t n = unit;
  int r;
  for (;;) {
    t0 = ref_now_ns(clock);
    sink = work(ctx, n);
    dt = ref_now_ns(clock) - t0;
    if (dt >= NN_REF_RUN_NS / 8) break;
    n *= 2;
  }
  n = (size_t)((double)n * NN_REF_RUN_NS / dt) / unit * unit;
  if (n < unit) n = unit;
  for (r = 0; r < NN_REF_RUNS; r++) {
    t0 = ref_now_ns(clock);
    sink = work(ctx, n);
    t[r] = (ref_now_ns(clock) - t0) / (double)n;
  }
  (void)sink;
  qsort(t, NN_REF_RUNS, sizeof t[0], ref_cmp_double);
  return t[NN_REF_RUNS / 2];
}

/* One figure, one line, for spec/bench/refs.lua: "name value unit". */
static inline void ref_print(const char *name, double value, const char *unit) {
  printf("%s %.1f %s\n", name, value, unit);
  fflush(stdout);
}

#endif
