/*
** ref_fann.c: what one forward pass costs in FANN 2.2 (float build), the
** reference make bench puts beside nn's single-sample figures.
**
** It prints, in ns per sample (median of NN_REF_RUNS runs, process CPU time):
**   fann.seed.single   the seed's 4-3-2 leaf/flower net, ReLU, SoftMax
**   fann.mlp.single    784-256-128-10, ReLU, SoftMax, fixed-seed weights
**   fann.game.single   64-64-64-8, Tanh, SoftMax, fixed-seed weights
** Each is fann_run followed by a SoftMax in C over its outputs: FANN has no
** SoftMax, so its output layer is FANN_LINEAR (the logits) and the SoftMax
** nn does is done here too, in the timed loop.
**
** ReLU: FANN 2.2 has no FANN_LINEAR_PIECE_RECT (fann_data.h lists none), so
** the hidden layers use the nearest, FANN_LINEAR_PIECE, min(max(s z, 0), 1),
** with steepness s = 2^-8 and the next layer's weights times 2^8.  While
** s z <= 1 that is exactly s relu(z) and the next layer sees W relu(z): the
** same network, at the cost of one compare more per neuron, which is small
** beside the multiply-adds.  The check below fails if a sum ever passed 256.
** Tanh is FANN_SIGMOID_SYMMETRIC with steepness 1, which is tanh(z).
**
** Not a spec and not part of nn: it links FANN alone, and exits non-zero if
** a network's output differs from the double computation (ref_common.h).
*/
#include "ref_common.h"

#include <string.h>

#include <floatfann.h>

#define RELU_STEEPNESS (1.0f / 256.0f)   /* a power of two: the scaling is exact */
#define N_INPUTS 16                      /* inputs cycled through in the timed loop */

/* Exits non-zero unless FANN reads back exactly the connections and weights
** in want. */
static void check_weights(struct fann *ann, const struct fann_connection *want /* [n] */,
                          unsigned int n) {
  struct fann_connection *got = ref_alloc(n, sizeof *got);
  unsigned int k;
  fann_get_connection_array(ann, got);
  for (k = 0; k < n; k++) {
    if (got[k].from_neuron != want[k].from_neuron || got[k].to_neuron != want[k].to_neuron ||
        got[k].weight != want[k].weight) {
      fprintf(stderr, "FANN connection %u -> %u reads back as %u -> %u, weight %g for %g\n",
              want[k].from_neuron, want[k].to_neuron, got[k].from_neuron, got[k].to_neuron,
              (double)got[k].weight, (double)want[k].weight);
      exit(1);
    }
  }
  free(got);
}

/* A FANN network with m's weights.  FANN numbers its neurons across layers,
** each layer followed by a bias neuron: layer l's neuron i is base[l] + i and
** its bias is base[l] + width[l]. */
static struct fann *fann_from(const ref_mlp *m) {
  unsigned int sizes[NN_REF_MAX_LINEAR + 1], base[NN_REF_MAX_LINEAR + 2];
  unsigned int n_conn, k, expected = 0;
  size_t l;
  struct fann *ann;
  struct fann_connection *c;
  int relu = m->hidden == REF_RELU;

  base[0] = 0;
  for (l = 0; l <= m->n_linear; l++) {
    sizes[l] = (unsigned int)m->width[l];
    base[l + 1] = base[l] + sizes[l] + 1;
    if (l < m->n_linear) expected += (sizes[l] + 1) * (unsigned int)m->width[l + 1];
  }
  ann = fann_create_standard_array((unsigned int)m->n_linear + 1, sizes);
  if (!ann) {
    fprintf(stderr, "fann_create_standard_array failed\n");
    exit(1);
  }
  fann_set_activation_function_hidden(ann, relu ? FANN_LINEAR_PIECE : FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_steepness_hidden(ann, relu ? RELU_STEEPNESS : 1.0f);
  fann_set_activation_function_output(ann, FANN_LINEAR);
  fann_set_activation_steepness_output(ann, 1.0f);

  n_conn = fann_get_total_connections(ann);
  if (n_conn != expected) {
    fprintf(stderr, "FANN made %u connections, %u expected\n", n_conn, expected);
    exit(1);
  }
  c = ref_alloc(n_conn, sizeof *c);
  fann_get_connection_array(ann, c);
  for (k = 0; k < n_conn; k++) {
    unsigned int from = c[k].from_neuron, to = c[k].to_neuron, i, j;
    for (l = 0; l < m->n_linear; l++)
      if (from >= base[l] && from < base[l + 1]) break;
    if (l == m->n_linear || to < base[l + 1] || to - base[l + 1] >= m->width[l + 1]) {
      fprintf(stderr, "FANN connection %u -> %u is not between two layers\n", from, to);
      exit(1);
    }
    i = from - base[l];
    j = to - base[l + 1];
    if (i == m->width[l]) c[k].weight = m->b[l][j];
    else c[k].weight = m->W[l][j * m->width[l] + i] / (relu && l > 0 ? RELU_STEEPNESS : 1.0f);
    /* fann_set_weight_array would do, but FANN 2.2 looks each connection up
    ** from the start (33 s for the 784 net); connection k of
    ** fann_get_connection_array is ann->weights[k], which the read-back
    ** below confirms. */
    ann->weights[k] = c[k].weight;
  }
  check_weights(ann, c, n_conn);
  free(c);
  return ann;
}

typedef struct fann_ctx {
  struct fann *ann;
  float *x;              /* [N_INPUTS][n_in] */
  float *y;              /* [n_out] */
  size_t n_in, n_out, n_x;
} fann_ctx;

/* n forward passes, each fann_run then SoftMax, as nn's forward does. */
static double fann_work(void *p, size_t n) {
  fann_ctx *c = p;
  double acc = 0;
  size_t i;
  for (i = 0; i < n; i++) {
    const fann_type *out = fann_run(c->ann, c->x + (i % c->n_x) * c->n_in);
    memcpy(c->y, out, c->n_out * sizeof(float));
    ref_softmax(c->y, c->n_out);
    acc += c->y[i % c->n_out];
  }
  return acc;
}

/* Checks x[0] against the double computation, then times; prints one line. */
static void bench(const char *name, const ref_mlp *m, float *x /* [n_x][width[0]] */,
                  size_t n_x) {
  fann_ctx c;
  double *want = ref_alloc(m->width[m->n_linear], sizeof(double));
  c.ann = fann_from(m);
  c.x = x;
  c.n_x = n_x;
  c.n_in = m->width[0];
  c.n_out = m->width[m->n_linear];
  c.y = ref_alloc(c.n_out, sizeof(float));
  fann_work(&c, 1);
  ref_mlp_forward_double(m, want, x);
  ref_check(name, c.y, want, c.n_out);
  ref_print(name, ref_median_ns(fann_work, &c, 1, CLOCK_PROCESS_CPUTIME_ID), "ns");
  fann_destroy(c.ann);
  free(c.y);
  free(want);
}

/* A network with fixed-seed weights, timed over N_INPUTS fixed-seed inputs. */
static void bench_random(const char *name, const size_t *width, size_t n_linear,
                         ref_act hidden, uint64_t seed) {
  ref_mlp m;
  size_t i;
  float *x = ref_alloc(N_INPUTS * width[0], sizeof(float));
  ref_mlp_random(&m, width, n_linear, hidden, seed);
  for (i = 0; i < N_INPUTS * width[0]; i++) x[i] = ref_uniform(&seed, 0.0f, 1.0f);
  bench(name, &m, x, N_INPUTS);
  ref_mlp_free(&m);
  free(x);
}

int main(void) {
  /* the seed's weights (examples/seed_net.lua) and its leaf, then a flower */
  float W1[] = { 0.10f, -0.29f, -0.07f, 0.46f,  0.12f, -0.05f, 0.03f, 0.05f,
                 -0.36f, -0.21f, -0.20f, -0.15f };
  float b1[] = { 0.25f, 0.27f, -0.23f };
  float W2[] = { -0.17f, 0.39f, 0.10f,  0.48f, 0.15f, -0.32f };
  float b2[] = { 0.41f, 0.05f };
  float seed_x[] = { 32, 107, 56, 11.2f,  250, 40, 120, 30 };
  ref_mlp seed = { 2, { 4, 3, 2 }, REF_RELU, { W1, W2 }, { b1, b2 } };
  size_t mlp[] = { 784, 256, 128, 10 }, game[] = { 64, 64, 64, 8 };

  bench("fann.seed.single", &seed, seed_x, 2);
  bench_random("fann.mlp.single", mlp, 3, REF_RELU, 784);
  bench_random("fann.game.single", game, 3, REF_TANH, 64);
  return 0;
}
