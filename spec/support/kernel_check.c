/*
** kernel_check.c: every kernel set this processor runs, against a plain
** double-precision loop, for spec/engine_spec.lua.
**
** For each set (forced with nn_kernel_select), each net and each batch size
** it prints "case <set> <net> <rows> <single> <batch> <agree>": the largest
** error of nn_forward against the reference, of nn_forward_batch against the
** reference, and of nn_forward_batch against nn_forward, each error being
** |got - want| / max(1, |want|).  The spec holds the tolerance; this program
** holds no expected values.  The reference below shares no code with the
** engine: it reads the parameter block as nn_engine.h documents it.
**
** For training's kernels of each set it prints "training <set> <same>
** <kept> <exact>": 1 when tile_ldc_set gives the bits tile_ldc gives on a C
** of zeros, when it leaves the columns of C past nr as they were, and when
** add gives every sum + v as one rounding of the exact sum does.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "nn_kernel.h"

/* Rows of a batch: one, two, a part of one panel, several panels and a
** part, a full 256, and more than one chunk with a few rows over. */
static const size_t batch_rows[] = { 1, 2, 7, 37, 256, 2 * NN_BATCH_ROWS + 5 };
#define N_BATCHES (sizeof batch_rows / sizeof batch_rows[0])
#define MAX_ROWS  (2 * NN_BATCH_ROWS + 5)

/* y = net(x) in double, straight from the layer list. */
static void reference(const nn_net *net, double *y /* [n_outputs] */,
                      const float *x /* [n_inputs] */, double *a, double *b) {
  size_t i, j, k, n = net->n_inputs;
  for (k = 0; k < n; k++) a[k] = x[k];
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    switch (l->kind) {
      case NN_LINEAR: {
        const float *w = net->params + l->w, *bias = w + l->n_out * l->n_in;
        double *t;
        for (j = 0; j < l->n_out; j++) {
          double s = bias[j];
          for (k = 0; k < l->n_in; k++) s += (double)w[j * l->n_in + k] * a[k];
          b[j] = s;
        }
        t = a; a = b; b = t;
        n = l->n_out;
        break;
      }
      case NN_RELU:      for (k = 0; k < n; k++) a[k] = a[k] > 0 ? a[k] : 0; break;
      case NN_LEAKYRELU: for (k = 0; k < n; k++) a[k] = a[k] > 0 ? a[k] : l->hyper[0] * a[k]; break;
      case NN_SIGMOID:   for (k = 0; k < n; k++) a[k] = 1 / (1 + exp(-a[k])); break;
      case NN_TANH:      for (k = 0; k < n; k++) a[k] = tanh(a[k]); break;
      case NN_SOFTMAX: {
        double max = a[0], sum = 0;
        for (k = 1; k < n; k++) if (a[k] > max) max = a[k];
        for (k = 0; k < n; k++) sum += (a[k] = exp(a[k] - max));
        for (k = 0; k < n; k++) a[k] /= sum;
        break;
      }
      default: break;
    }
  }
  for (k = 0; k < n; k++) y[k] = a[k];
}

static double error(double got, double want) {
  double scale = fabs(want) > 1 ? fabs(want) : 1;
  return fabs(got - want) / scale;
}

typedef struct test_net {
  const char *name;
  nn_net *net;
  float *X;        /* [MAX_ROWS][n_inputs] */
  double *want;    /* [MAX_ROWS][n_outputs] */
} test_net;

/* [0, 1) from a 64-bit xorshift: inputs need only be spread, not good. */
static float uniform01(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (float)(*s >> 40) / 16777216.0f;
}

static void *alloc(size_t bytes) {
  void *p = malloc(bytes);
  if (p == NULL) { fprintf(stderr, "kernel_check: out of memory\n"); exit(1); }
  return p;
}

/* A net with random weights (or the given ones) and MAX_ROWS random inputs
** in [lo, hi), with their reference outputs. */
static test_net make(const char *name, nn_layer *arch, size_t n,
                     const float *params, float lo, float hi, uint64_t seed) {
  char err[NN_ERRMAX];
  test_net t;
  size_t r, i, n_in, n_out;
  double *a, *b;
  t.name = name;
  t.net = nn_net_new(arch, n, err);
  if (t.net == NULL) { fprintf(stderr, "kernel_check: %s\n", err); exit(1); }
  if (params) memcpy(t.net->params, params, t.net->n_params * sizeof(float));
  else nn_init_uniform(t.net, &seed);
  n_in = t.net->n_inputs;
  n_out = t.net->n_outputs;
  t.X = alloc(MAX_ROWS * n_in * sizeof(float));
  for (i = 0; i < MAX_ROWS * n_in; i++) t.X[i] = lo + (hi - lo) * uniform01(&seed);
  t.want = alloc(MAX_ROWS * n_out * sizeof(double));
  a = alloc(t.net->max_width * sizeof(double));
  b = alloc(t.net->max_width * sizeof(double));
  for (r = 0; r < MAX_ROWS; r++)
    reference(t.net, t.want + r * n_out, t.X + r * n_in, a, b);
  free(a);
  free(b);
  return t;
}

/* Runs one set over one net and every batch size.  The pointers handed to
** the engine are 8 bytes past a malloc'd block (so 8-byte aligned, not 16),
** and a guard after work must come back untouched. */
static void check(const char *set, const test_net *t) {
  const nn_net *net = t->net;
  size_t n_in = net->n_inputs, n_out = net->n_outputs, s, r, j;
  size_t n_work = nn_batch_work_size(net, MAX_ROWS, n_in);
  uint64_t sum = nn_fnv1a64(net->params, net->n_params * sizeof(float));
  float *wblock = alloc((n_work + 2 + 16) * sizeof(float)), *work = wblock + 2;
  float *yblock = alloc((MAX_ROWS * n_out + 2) * sizeof(float)), *Y = yblock + 2;
  float *xblock = alloc((MAX_ROWS * n_in + 2) * sizeof(float)), *X = xblock + 2;
  float *single = alloc(n_out * sizeof(float));
  int guard_ok = 1;
  memcpy(X, t->X, MAX_ROWS * n_in * sizeof(float));
  for (j = 0; j < 16; j++) work[n_work + j] = -12345.0f;
  for (s = 0; s < N_BATCHES; s++) {
    size_t rows = batch_rows[s];
    double e_single = 0, e_batch = 0, e_agree = 0;
    nn_forward_batch(net, Y, X, rows, n_in, work);
    for (r = 0; r < rows; r++) {
      nn_forward(net, single, X + r * n_in, n_in, work);
      for (j = 0; j < n_out; j++) {
        double want = t->want[r * n_out + j];
        double es = error(single[j], want), eb = error(Y[r * n_out + j], want);
        double ea = error(Y[r * n_out + j], single[j]);
        if (!(es <= e_single)) e_single = es;      /* NaN sticks */
        if (!(eb <= e_batch)) e_batch = eb;
        if (!(ea <= e_agree)) e_agree = ea;
      }
    }
    printf("case %s %s %zu %.3g %.3g %.3g\n", set, t->name, rows, e_single, e_batch, e_agree);
  }
  for (j = 0; j < 16; j++) if (work[n_work + j] != -12345.0f) guard_ok = 0;
  printf("guard %s %s %d\n", set, t->name, guard_ok);
  printf("readonly %s %s %d\n", set, t->name,
         sum == nn_fnv1a64(net->params, net->n_params * sizeof(float)));
  free(wblock); free(yblock); free(xblock); free(single);
}

#define T_MR 16      /* at least any set's mr and nr */
#define T_NR 32
#define T_KC 300     /* more than a set's kc: C's sums run long */
#define T_ADD 1001   /* adds of 0 .. T_ADD values: every tail */

/* Training's tile_ldc_set and add of the set in use, against tile_ldc on
** zeros and against the sum rounded once from double. */
static void check_training(const char *set) {
  static float a[T_MR * T_KC], b[T_KC * T_NR], c0[T_MR * (T_NR + 8)],
               c1[T_MR * (T_NR + 8)], s[T_ADD], v[T_ADD];
  const nn_kernel *k = nn_kernel_in_use;
  size_t i, n, ldc = k->nr + 8;
  int same = k->mr <= T_MR && k->nr <= T_NR, kept = same, exact = 1;
  uint64_t r = 11;
  for (i = 0; i < T_MR * T_KC; i++) a[i] = uniform01(&r) - 0.5f;
  for (i = 0; i < T_KC * T_NR; i++) b[i] = uniform01(&r) - 0.5f;
  for (i = 0; i < T_MR * (T_NR + 8); i++) { c0[i] = 0.0f; c1[i] = 7.0f; }
  if (same) {
    k->tile_ldc(c0, ldc, a, T_KC, b, T_KC);
    k->tile_ldc_set(c1, ldc, a, T_KC, b, T_KC);
    for (i = 0; i < k->mr * ldc; i++) {
      if (i % ldc < k->nr) same &= memcmp(&c0[i], &c1[i], sizeof(float)) == 0;
      else kept &= c1[i] == 7.0f;
    }
  }
  for (n = 0; n <= T_ADD; n += 7) {
    for (i = 0; i < T_ADD; i++) { s[i] = a[i]; v[i] = b[i] * 1e-3f; }
    k->add(s, v, n);
    for (i = 0; i < T_ADD; i++)
      exact &= s[i] == (i < n ? (float)((double)a[i] + (double)v[i]) : a[i]);
  }
  printf("training %s %d %d %d\n", set, same, kept, exact);
}

int main(void) {
  static const char *const sets[] = { "generic", "avx2", "avx512", "neon" };
  /* The seed's weights (examples/host.c), on colours and volumes. */
  static const float seed_params[] = {
    0.10f, -0.29f, -0.07f, 0.46f, 0.12f, -0.05f, 0.03f, 0.05f,
    -0.36f, -0.21f, -0.20f, -0.15f, 0.25f, 0.27f, -0.23f,
    -0.17f, 0.39f, 0.10f, 0.48f, 0.15f, -0.32f, 0.41f, 0.05f,
  };
  nn_layer seed[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  nn_layer mnist[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                       NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  nn_layer deep[] = { NN_DENSE(64, 64), NN_ACT(NN_TANH), NN_DENSE(64, 64),
                      NN_ACT(NN_TANH), NN_DENSE(64, 8), NN_ACT(NN_TANH) };
  /* Widths that are no multiple of 4, 8, 16 or 32, each as n_in and n_out,
  ** through every kind of layer. */
  nn_layer odd[] = { NN_DENSE(1, 3), NN_ACT(NN_SIGMOID), NN_DENSE(3, 17),
                     NN_ACT(NN_LEAKYRELU), NN_DENSE(17, 33), NN_ACT(NN_RELU),
                     NN_DENSE(33, 255), NN_ACT(NN_TANH), NN_DENSE(255, 17),
                     NN_ACT(NN_IDENTITY), NN_DENSE(17, 3), NN_ACT(NN_SOFTMAX) };
  nn_layer wide[] = { NN_DENSE(255, 33), NN_ACT(NN_RELU), NN_DENSE(33, 1) };
  static const float alpha[] = { 0.1f };   /* LeakyReLU's slope */
  test_net nets[5];
  size_t i, s;
  const char *best;
  odd[3].hyper = alpha;
  nets[0] = make("seed", seed, 4, seed_params, 0.0f, 255.0f, 1);
  nets[1] = make("784-256-128-10", mnist, 6, NULL, 0.0f, 1.0f, 2);
  nets[2] = make("64-64-64-8", deep, 6, NULL, -1.0f, 1.0f, 3);
  nets[3] = make("1-3-17-33-255-17-3", odd, 12, NULL, -2.0f, 2.0f, 4);
  nets[4] = make("255-33-1", wide, 3, NULL, -1.0f, 1.0f, 5);

  best = nn_kernel_name();
  printf("best %s\n", best);
  printf("unknown %d %d\n", nn_kernel_select("nope") == NN_ENOKERNEL,
         strcmp(best, nn_kernel_name()) == 0);
  for (s = 0; s < sizeof sets / sizeof sets[0]; s++) {
    int status = nn_kernel_select(sets[s]);
    printf("select %s %s\n", sets[s], status == NN_OK ? nn_kernel_name()
           : status == NN_ECPU ? "unsupported" : "error");
    if (status != NN_OK) continue;
    for (i = 0; i < 5; i++) check(sets[s], &nets[i]);
    check_training(sets[s]);
  }
  printf("reselect %d %s\n", nn_kernel_select(NULL) == NN_OK, nn_kernel_name());
  printf("bounded %d\n", nn_batch_work_size(nets[1].net, 100000, 784) ==
         nn_batch_work_size(nets[1].net, NN_BATCH_ROWS, 784));
  for (i = 0; i < 5; i++) {
    nn_net_free(nets[i].net);
    free(nets[i].X);
    free(nets[i].want);
  }
  return 0;
}
