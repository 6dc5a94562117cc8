/*
** engine.c: what a forward pass costs in the engine alone, for each kernel
** set this processor runs (make bench builds and runs it).
**
** Prints nanoseconds per sample, the median of 7 runs, for one sample at a
** time (nn_forward) and for batches of 256 (nn_forward_batch), timed and
** seeded as the reference programs are (ref_common.h).  The game net
** 64-64-64-8 runs twice: with Tanh after each Linear, and with Identity in
** its place, which leaves the matrix products alone.  Figures, not a test:
** nothing here checks the numbers (spec/engine_spec.lua does).
**
** First the same nets in plain C, one sample at a time, written the
** simplest way (plain_forward: a loop per layer, libm's expf and tanhf):
** the reference, measured in this process, that make bench's memory
** divides the engine's figures by.  With NN_BENCH_FIGURES set, each figure
** is also appended to the file it names, as spec/bench/figures.lua writes
** them: engine.plain.<net> and engine.<set>.<net>.
*/
#include "ref_common.h"     /* first: it asks for POSIX */

#include <math.h>
#include <string.h>

#include "nn_engine.h"

#define BATCH 256

/* One forward pass of a sample (rows == 0) or of a batch of rows. */
typedef struct run_ctx {
  const nn_net *net;
  const float *X;              /* [BATCH][n_inputs] */
  float *Y, *work;
  size_t rows;
} run_ctx;

static double forward_work(void *p, size_t n) {
  const run_ctx *c = (const run_ctx *)p;
  size_t n_in = c->net->n_inputs, i;
  double sum = 0.0;
  for (i = 0; i < n; i++) {
    if (c->rows == 0) nn_forward(c->net, c->Y, c->X + (i % BATCH) * n_in, n_in, c->work);
    else nn_forward_batch(c->net, c->Y, c->X, c->rows, n_in, c->work);
    sum += c->Y[0];
  }
  return sum;
}

/* y = net(x) in plain C, the simplest way: every layer from one buffer of
** buf into the other, max_width floats each.  Reads the net's layers and
** parameters as the engine lays them out; no kernel of the engine. */
static void plain_forward(const nn_net *net, float *y, const float *x,
                          float *buf /* [2][max_width] */) {
  const float *in = x;
  float *out = buf;
  size_t n = net->n_inputs, k, i, j;
  for (k = 0; k < net->n_layers; k++, in = out, out = out == buf ? buf + net->max_width : buf) {
    const nn_layer *l = &net->layers[k];
    const float *w = net->params + l->w;
    float max = -INFINITY, sum = 0.0f;
    if (l->kind == NN_LINEAR) {
      for (j = 0; j < l->n_out; j++) {
        float s = w[l->n_out * l->n_in + j];
        for (i = 0; i < l->n_in; i++) s += w[j * l->n_in + i] * in[i];
        out[j] = s;
      }
      n = l->n_out;
      continue;
    }
    for (i = 0; i < n; i++) {
      float v = in[i];
      out[i] = l->kind == NN_RELU ? (v > 0.0f ? v : 0.0f) : l->kind == NN_TANH ? tanhf(v) : v;
      if (v > max) max = v;
    }
    if (l->kind != NN_SOFTMAX) continue;
    for (i = 0; i < n; i++) sum += (out[i] = expf(out[i] - max));
    for (i = 0; i < n; i++) out[i] /= sum;
  }
  memcpy(y, in, n * sizeof(float));
}

static double plain_work(void *p, size_t n) {
  const run_ctx *c = (const run_ctx *)p;
  size_t n_in = c->net->n_inputs, i;
  double sum = 0.0;
  for (i = 0; i < n; i++) {
    plain_forward(c->net, c->Y, c->X + (i % BATCH) * n_in, c->work);
    sum += c->Y[0];
  }
  return sum;
}

/* Median ns per sample, on the clock the references and os.clock() use. */
static double time_net(const nn_net *net, const float *X, float *Y, float *work,
                       size_t rows) {
  run_ctx c;
  c.net = net;
  c.X = X;
  c.Y = Y;
  c.work = work;
  c.rows = rows;
  return ref_median_ns(forward_work, &c, 1, CLOCK_PROCESS_CPUTIME_ID) /
         (double)(rows ? rows : 1);
}

/* Median ns per sample of plain_forward. */
static double time_plain(const nn_net *net, const float *X, float *Y, float *work) {
  run_ctx c;
  c.net = net;
  c.X = X;
  c.Y = Y;
  c.work = work;
  c.rows = 0;
  return ref_median_ns(plain_work, &c, 1, CLOCK_PROCESS_CPUTIME_ID);
}

static const char *const net_names[] = { "seed", "mlp", "game", "identity" };

/* The figures of one kernel set (set) or of plain C (set NULL), one line
** each in the figures file: an engine figure names the plain figure of its
** net as its reference (a batch row too).  Nothing without the file. */
static void record(FILE *f, const char *set, const double *t /* [7], or [4] plain */) {
  static const char *const names[] = { "seed", "mlp", "mlp_batch", "game", "game_batch",
                                       "identity", "identity_batch" };
  static const size_t net_of[] = { 0, 1, 1, 2, 2, 3, 3 };
  size_t i;
  if (f == NULL) return;
  if (set == NULL) {
    for (i = 0; i < 4; i++)
      fprintf(f, "ref\tengine.plain.%s\t%.9g\tns\t-\t-\n", net_names[i], t[i]);
    return;
  }
  for (i = 0; i < 7; i++)
    fprintf(f, "nn\tengine.%s.%s\t%.9g\tns\tengine.plain.%s\t-\n", set, names[i], t[i],
            net_names[net_of[i]]);
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
  nn_layer linear[] = { NN_DENSE(64, 64), NN_ACT(NN_IDENTITY), NN_DENSE(64, 64),
                        NN_ACT(NN_IDENTITY), NN_DENSE(64, 8), NN_ACT(NN_IDENTITY) };
  nn_net *nets[4];
  float *X, *Y, *work;
  size_t i, s, most = 0;
  uint64_t rng = 7;
  const char *path = getenv("NN_BENCH_FIGURES");
  FILE *figures = path != NULL && *path != '\0' ? fopen(path, "a") : NULL;
  double t[7];

  nets[0] = build(seed, 4);
  nets[1] = build(mnist, 6);
  nets[2] = build(deep, 6);
  nets[3] = build(linear, 6);
  for (i = 0; i < 4; i++) {
    size_t need = nn_batch_work_size(nets[i], BATCH, nets[i]->n_inputs);
    if (need > most) most = need;
  }
  X = malloc(BATCH * 784 * sizeof(float));
  Y = malloc(BATCH * 10 * sizeof(float));
  work = malloc(most * sizeof(float));
  if (X == NULL || Y == NULL || work == NULL) { fprintf(stderr, "engine bench: no memory\n"); return 1; }
  /* Inputs in [0, 1), like pixels: no layer saturates. */
  for (i = 0; i < BATCH * 784; i++) X[i] = ref_uniform(&rng, 0.0f, 1.0f);

  printf("ns per sample, median of %d runs; batch = %d rows per nn_forward_batch\n",
         NN_REF_RUNS, BATCH);
  printf("%-8s %8s %14s %12s %12s %12s %12s %12s\n", "kernel", "4-3-2", "784-256-128-10",
         "784.. batch", "64.. Tanh", "Tanh batch", "64.. Ident", "Ident batch");
  for (i = 0; i < 4; i++) t[i] = time_plain(nets[i], X, Y, work);
  printf("%-8s %8.1f %14.1f %12s %12.1f %12s %12.1f %12s\n", "plain C", t[0], t[1], "-",
         t[2], "-", t[3], "-");
  fflush(stdout);
  record(figures, NULL, t);
  for (s = 0; s < 3; s++) {
    if (nn_kernel_select(sets[s]) != NN_OK) {
      printf("%-8s (not supported here)\n", sets[s]);
      continue;
    }
    t[0] = time_net(nets[0], X, Y, work, 0);
    for (i = 1; i < 4; i++) {
      t[2 * i - 1] = time_net(nets[i], X, Y, work, 0);
      t[2 * i] = time_net(nets[i], X, Y, work, BATCH);
    }
    printf("%-8s %8.1f %14.1f %12.1f %12.1f %12.1f %12.1f %12.1f\n", nn_kernel_name(),
           t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
    fflush(stdout);
    record(figures, nn_kernel_name(), t);
  }
  nn_kernel_select(NULL);
  if (figures != NULL && fclose(figures) != 0) { fprintf(stderr, "engine bench: %s\n", path); return 1; }
  for (i = 0; i < 4; i++) nn_net_free(nets[i]);
  free(X); free(Y); free(work);
  return 0;
}
