/*
** act_check.c: the activation kernels of every kernel set this processor
** runs (exp, sigmoid, tanh, gelu in src/engine/nn_kernel*.c), checked
** against double precision, for spec/activation_spec.lua.
**
**   act_check STEP [FN]  every STEP-th float bit pattern from 0 (STEP 1: all
**                      2^32 of them), plus every float within 2^14 of each
**                      threshold listed in edges[] and the special values;
**                      with FN (exp, sigmoid, tanh or gelu), that function
**                      alone, its err, range, sat, special, tail and cross
**                      lines only
**
** The references are C's double exp(x), 1 / (1 + exp(-x)), tanh(x) and
** x erfc(-x / sqrt 2) / 2 (GELU, x Phi(x)); an
** error is |got - ref| in units in the last place of the float nearest ref
** (an infinite result counts as 2^128, the next float after FLT_MAX).  For
** NaN, +-0 and +-inf the kernels must give libm's expf, 1 / (1 + expf(-x)),
** tanhf and GELU's double formula (inf, NaN at -inf) bit for bit (NaN: any
** NaN).  It prints, and the spec judges:
**   checked N                      floats checked
**   err <set> <fn> <ulps> <x>      largest error, and a float where it is
**   range <set> <fn> <count>       results outside [-1, 1], [0, 1], [0, inf],
**                                  for GELU [x, 0] (x < 0) and [0, x], and
**                                  below its minimum
**   sat <set> <fn> <count>         results not exactly saturated far out:
**                                  tanh +-1 for |x| >= 9.1; sigmoid 1 for
**                                  x >= 17, 0 for x <= -104; exp inf for
**                                  x >= 89, 0 for x <= -104; GELU x for
**                                  x >= 5.5, 0 for x <= -14.5
**   special <set> <fn> <count>     results unlike libm's at NaN, +-0, +-inf
**   tail <set> <fn> <count>        results that change when the kernel runs
**                                  on short pieces (1 to 37 values) rather
**                                  than on long arrays: tails and narrow
**                                  layers take another path, same bits
**   cross <fn> <ulps>              largest difference between two sets
**   relu <set> <fn> <bad> <nan>    ReLU and LeakyReLU (alpha 0.01 and -2.5)
**                                  over the same floats, long arrays and
**                                  pieces of 1 to 37: results unlike
**                                  x > 0 ? x : 0 (+0 for -0) and
**                                  x > 0 ? x : alpha x bit for bit, and
**                                  NaN inputs that did not give NaN (ReLU:
**                                  the same NaN, payload and sign kept)
**   batch <set> <fn> <ulps>        nn_forward_batch against nn_forward, for
**                                  nets Linear(13, 13) (the identity, which
**                                  is exact) then Tanh, Sigmoid, GELU or
**                                  SoftMax
**   narrow <set> <fn> <width> <ulps>
**                                  the same for widths 2 and 3: one sample
**                                  takes the narrow path, a batch the vector
**                                  one
**   softmax <set> <sum> <range> <ulps>
**                                  rows of 13 logits in [-4, 4] and of 13
**                                  spread over [-100, 100]: the largest
**                                  |sum - 1| in units of 2^-24, outputs out
**                                  of [0, 1], and the largest error against
**                                  a double SoftMax of the same logits
** It holds no expected values itself.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "engine/nn_kernel.h"

#define CHUNK   4096
#define MAXSETS 8
#define N_FN    4

static const char *const fn_names[N_FN] = { "exp", "sigmoid", "tanh", "gelu" };

static const nn_kernel *sets[MAXSETS];
static size_t n_sets;
static int only = -1;             /* the one function checked, or -1: all */

static double worst[MAXSETS][N_FN], cross[N_FN];
static uint32_t worst_at[MAXSETS][N_FN];
static unsigned long long range_bad[MAXSETS][N_FN], sat_bad[MAXSETS][N_FN],
                          special_bad[MAXSETS][N_FN], tail_bad[MAXSETS][N_FN], checked;

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }

/* ReLU, LeakyReLU 0.01, LeakyReLU -2.5: the piecewise kernels. */
#define N_PW 3
static const char *const pw_names[N_PW] = { "relu", "leaky_relu", "leaky_relu_neg" };
static const float pw_alpha[N_PW] = { 0.0f, 0.01f, -2.5f };
static unsigned long long pw_bad[MAXSETS][N_PW], pw_nan[MAXSETS][N_PW];

static void apply(const nn_kernel *k, int fn, float *v, size_t n) {
  if (fn == 0) k->act_exp(v, n);
  else if (fn == 1) k->act_sigmoid(v, n);
  else if (fn == 2) k->act_tanh(v, n);
  else k->act_gelu(v, n);
}

static double reference(int fn, float x) {
  double d = x;
  if (fn == 0) return exp(d);
  if (fn == 1) return 1.0 / (1.0 + exp(-d));
  if (fn == 2) return tanh(d);
  return d * erfc(-d * 0.70710678118654752440) / 2.0;
}

static float libm(int fn, float x) {
  if (fn == 0) return expf(x);
  if (fn == 1) return 1.0f / (1.0f + expf(-x));
  if (fn == 2) return tanhf(x);
  return (float)reference(fn, x);
}

#define TWO128 3.4028236692093846e38          /* 2^128 */

/* Units in the last place of a float at r's binade (2^-149 below FLT_MIN),
** from the exponent bits of r: frexp and ldexp cost more than the rest. */
static double ulp(double r) {
  uint64_t u;
  int e;
  memcpy(&u, &r, sizeof u);
  e = (int)((u >> 52) & 0x7ff) - 1023;
  if (e < -126) e = -126;
  if (e > 127) e = 127;
  u = (uint64_t)(e - 23 + 1023) << 52;
  memcpy(&r, &u, sizeof r);
  return r;
}

/* The error of got in ulps of ref; results beyond FLT_MAX are 2^128. */
static double ulps(float got, double ref) {
  double g = isinf(got) ? copysign(TWO128, got) : (double)got;
  if (fabs(ref) > TWO128) ref = copysign(TWO128, ref);
  if (isnan(got)) return HUGE_VAL;
  return fabs(g - ref) / ulp(ref);
}

/* GELU: between min(x, 0) and max(x, 0), and no lower than its minimum,
** -0.16997 at x = -0.7518. */
static int in_range(int fn, float x, float y) {
  if (fn == 0) return y >= 0.0f;
  if (fn == 1) return y >= 0.0f && y <= 1.0f;
  if (fn == 3) return x >= 0.0f ? y >= 0.0f && y <= x : y <= 0.0f && y >= x && y >= -0.17f;
  return y >= -1.0f && y <= 1.0f;
}

/* -1: no saturation asked at x; else the exact value wanted. */
static int saturated(int fn, float x, float y) {
  if (fn == 0) {
    if (x >= 89.0f) return isinf(y) && y > 0;
    if (x <= -104.0f) return y == 0.0f;
  } else if (fn == 1) {
    if (x >= 17.0f) return y == 1.0f;
    if (x <= -104.0f) return y == 0.0f;
  } else if (fn == 3) {
    if (x >= 5.5f) return y == x;
    if (x <= -14.5f) return y == 0.0f;
  } else if (fabsf(x) >= 9.1f) {
    return y == (x > 0 ? 1.0f : -1.0f);
  }
  return 1;
}

static int same_as_libm(int fn, float x, float y) {
  float want = libm(fn, x);
  if (isnan(want)) return isnan(y);
  return memcmp(&want, &y, sizeof y) == 0;
}

static void apply_pw(const nn_kernel *k, int fn, float *v, size_t n) {
  if (fn == 0) k->relu(v, n);
  else k->leaky_relu(v, pw_alpha[fn], n);
}

/* The reference of fn at x, written out: IEEE comparisons, NaN kept. */
static float pw_reference(int fn, float x) {
  if (x != x) return x;
  if (x > 0.0f) return x;
  return fn == 0 ? 0.0f : pw_alpha[fn] * x;
}

/* Whether y is what fn gives at x: the same bits, or for LeakyReLU at NaN
** any NaN (alpha times it). */
static int pw_same(int fn, float x, float y) {
  float want = pw_reference(fn, x);
  if (x != x && fn != 0) return y != y;
  return memcmp(&want, &y, sizeof y) == 0;
}

/* Every set's ReLU and LeakyReLU on xs[0..n), whole and in pieces. */
static void check_pw(const float *xs, size_t n) {
  static float whole[CHUNK], pieces[CHUNK];
  size_t s, i, len;
  int fn;
  for (fn = 0; fn < N_PW; fn++)
    for (s = 0; s < n_sets; s++) {
      memcpy(whole, xs, n * sizeof(float));
      apply_pw(sets[s], fn, whole, n);
      memcpy(pieces, xs, n * sizeof(float));
      for (i = 0, len = 1; i < n; i += len, len = len % 37 + 1)
        apply_pw(sets[s], fn, pieces + i, n - i < len ? n - i : len);
      for (i = 0; i < n; i++) {
        if (!pw_same(fn, xs[i], whole[i]) || !pw_same(fn, xs[i], pieces[i]))
          pw_bad[s][fn]++;
        if (xs[i] != xs[i] && (whole[i] == whole[i] || pieces[i] == pieces[i]))
          pw_nan[s][fn]++;
      }
    }
}

/* Every set on xs[0..n), every function. */
static void check(const float *xs, size_t n) {
  static float out[MAXSETS][CHUNK], pieces[CHUNK];
  size_t s, t, i, len;
  int fn;
  for (fn = 0; fn < N_FN; fn++) {
    if (only >= 0 && fn != only) continue;
    for (s = 0; s < n_sets; s++) {
      memcpy(out[s], xs, n * sizeof(float));
      apply(sets[s], fn, out[s], n);
      memcpy(pieces, xs, n * sizeof(float));
      for (i = 0, len = 1; i < n; i += len, len = len % 37 + 1)
        apply(sets[s], fn, pieces + i, n - i < len ? n - i : len);
      for (i = 0; i < n; i++)
        if (memcmp(&pieces[i], &out[s][i], sizeof(float)) != 0) tail_bad[s][fn]++;
    }
    for (i = 0; i < n; i++) {
      float x = xs[i];
      double ref;
      if (isnan(x) || isinf(x) || x == 0.0f) {
        for (s = 0; s < n_sets; s++)
          if (!same_as_libm(fn, x, out[s][i])) special_bad[s][fn]++;
        continue;
      }
      ref = reference(fn, x);
      for (s = 0; s < n_sets; s++) {
        float y = out[s][i];
        double e = ulps(y, ref);
        if (e > worst[s][fn]) { worst[s][fn] = e; memcpy(&worst_at[s][fn], &x, 4); }
        if (!in_range(fn, x, y)) range_bad[s][fn]++;
        if (!saturated(fn, x, y)) sat_bad[s][fn]++;
        for (t = 0; t < s; t++) {
          double d = fabs((double)y - (double)out[t][i]) / ulp(ref);
          if (isinf(y) != isinf(out[t][i])) d = ulps(y, (double)out[t][i]) + 1.0;
          else if (isinf(y)) d = 0.0;
          if (d > cross[fn]) cross[fn] = d;
        }
      }
    }
  }
  if (only < 0) check_pw(xs, n);
  checked += n;
}

static float xs[CHUNK];
static size_t n_xs;

static void add(float x) {
  xs[n_xs++] = x;
  if (n_xs == CHUNK) { check(xs, n_xs); n_xs = 0; }
}

/* Where each function changes method, saturates, overflows or goes
** subnormal: every float within 2^14 of these is checked. */
static const float edges[] = {
  0.625f, 9.0f, 9.1f, 16.6355f, 17.3287f, 88.7228f, 89.0f,
  -87.3365f, -88.7228f, -103.2789f, -103.9721f, -104.0f, 0.34657359f, 1e-4f,
  0.7518f, 5.5f, 13.2f, 13.17f, 14.3f, 14.5f
};

static void sweep(uint64_t step) {
  static const uint32_t specials[] = { 0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                       0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fffffffu };
  uint64_t b;
  size_t e, i;
  for (b = 0; b < ((uint64_t)1 << 32); b += step) add(from_bits((uint32_t)b));
  for (e = 0; e < sizeof edges / sizeof edges[0]; e++) {
    uint32_t c;
    float m = edges[e];
    memcpy(&c, &m, 4);
    for (i = 0; i < (1u << 15); i++) {
      add(from_bits(c - (1u << 14) + (uint32_t)i));
      add(-from_bits(c - (1u << 14) + (uint32_t)i));
    }
  }
  for (i = 0; i < sizeof specials / sizeof specials[0]; i++) add(from_bits(specials[i]));
  if (n_xs > 0) check(xs, n_xs);
  n_xs = 0;
}

/* --- through the engine: a batch against one sample at a time --------- */

#define WIDTH 13          /* no multiple of a vector: one sample has a tail */
#define ROWS  300

static uint64_t rng_state = 12345;

static uint32_t next_u32(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return (uint32_t)(z ^ (z >> 31));
}

static float uniform(float lo, float hi) {
  return lo + (hi - lo) * (float)(next_u32() >> 8) * (1.0f / 16777216.0f);
}

/* Any finite float, every exponent equally likely. */
static float any_finite(void) {
  uint32_t u;
  do u = next_u32(); while ((u & 0x7f800000u) == 0x7f800000u);
  return from_bits(u);
}

/* Linear(width, width), the identity, then kind. */
static nn_net *identity_then(nn_kind kind, size_t width) {
  nn_layer arch[] = { NN_DENSE(1, 1), NN_ACT(NN_IDENTITY) };
  char err[NN_ERRMAX];
  nn_net *net;
  size_t i;
  arch[0].n_in = arch[0].n_out = width;
  arch[1].kind = kind;
  net = nn_net_new(arch, 2, err);
  if (net == NULL) { printf("fail %s\n", err); exit(1); }
  for (i = 0; i < width; i++) net->params[i * width + i] = 1.0f;
  return net;
}

/* Largest difference in ulps of the single-sample result. */
static double batch_vs_single(nn_net *net, const float *X, float *Y, float *y1, float *work) {
  size_t r, i, width = net->n_inputs;
  double most = 0.0;
  nn_forward_batch(net, Y, X, ROWS, width, work);
  for (r = 0; r < ROWS; r++) {
    nn_forward(net, y1, X + r * width, width, work);
    for (i = 0; i < width; i++) {
      float a = Y[r * width + i], b = y1[i];
      double d = (isnan(a) && isnan(b)) || a == b ? 0.0 : ulps(a, b);
      if (d > most) most = d;
    }
  }
  return most;
}

static void softmax_rows(size_t s, nn_net *net, float *X, float *Y, float *y1, float *work) {
  double sum_most = 0.0, err_most = 0.0;
  unsigned long range = 0;
  size_t r, i;
  for (r = 0; r < ROWS; r++)
    for (i = 0; i < WIDTH; i++)
      X[r * WIDTH + i] = r % 2 ? uniform(-4.0f, 4.0f) : uniform(-100.0f, 100.0f);
  printf("batch %s softmax %g\n", sets[s]->name, batch_vs_single(net, X, Y, y1, work));
  for (r = 0; r < ROWS; r++) {
    const float *x = X + r * WIDTH, *y = Y + r * WIDTH;
    double max = x[0], total = 0.0, sum = 0.0;
    for (i = 1; i < WIDTH; i++) if (x[i] > max) max = x[i];
    for (i = 0; i < WIDTH; i++) total += exp((double)x[i] - max);
    for (i = 0; i < WIDTH; i++) {
      double e = ulps(y[i], exp((double)x[i] - max) / total);
      if (r % 2 && e > err_most) err_most = e;
      if (!(y[i] >= 0.0f && y[i] <= 1.0f)) range++;
      sum += y[i];
    }
    if (fabs(sum - 1.0) * 16777216.0 > sum_most) sum_most = fabs(sum - 1.0) * 16777216.0;
  }
  printf("softmax %s %g %lu %g\n", sets[s]->name, sum_most, range, err_most);
}

/* Layers narrower than NN_ACT_FEW take the kernels' narrow path one sample
** at a time (SoftMax leaves its maximum's exp out) and the vector path in a
** batch, whose panels are wide: the same bits, asserted as 0 ulps apart.
** The logits put the maximum in every position, and ties. */
static void narrow_checks(void) {
  static const nn_kind kinds[] = { NN_TANH, NN_SIGMOID, NN_SOFTMAX, NN_GELU };
  static const char *const names[] = { "tanh", "sigmoid", "softmax", "gelu" };
  static float X[ROWS * 3], Y[ROWS * 3];
  float y1[3], *work;
  size_t s, j, width, i;
  for (s = 0; s < n_sets; s++) {
    nn_kernel_select(sets[s]->name);
    for (width = 2; width <= 3; width++)
      for (j = 0; j < 4; j++) {
        nn_net *net = identity_then(kinds[j], width);
        work = malloc(nn_batch_work_size(net, ROWS, width) * sizeof(float));
        if (work == NULL) { printf("fail no memory\n"); exit(1); }
        for (i = 0; i < ROWS * width; i++)
          X[i] = i % 7 == 0 ? X[i - (i > 0)] : i % 2 ? any_finite() : uniform(-20.0f, 20.0f);
        printf("narrow %s %s %zu %g\n", sets[s]->name, names[j], width,
               batch_vs_single(net, X, Y, y1, work));
        nn_net_free(net);
        free(work);
      }
  }
  nn_kernel_select(NULL);
}

static void engine_checks(void) {
  static const nn_kind kinds[] = { NN_TANH, NN_SIGMOID, NN_GELU };
  static const char *const names[] = { "tanh", "sigmoid", "gelu" };
  nn_net *nets[4];
  float *X, *Y, y1[WIDTH], *work;
  size_t s, j, i, most = 0;
  for (j = 0; j < 3; j++) nets[j] = identity_then(kinds[j], WIDTH);
  nets[3] = identity_then(NN_SOFTMAX, WIDTH);
  for (j = 0; j < 4; j++) {
    size_t need = nn_batch_work_size(nets[j], ROWS, WIDTH);
    if (need > most) most = need;
  }
  X = malloc(ROWS * WIDTH * sizeof(float));
  Y = malloc(ROWS * WIDTH * sizeof(float));
  work = malloc(most * sizeof(float));
  if (X == NULL || Y == NULL || work == NULL) { printf("fail no memory\n"); exit(1); }
  for (s = 0; s < n_sets; s++) {
    nn_kernel_select(sets[s]->name);
    for (j = 0; j < 3; j++) {
      /* half the values over every exponent, half where the curve bends */
      for (i = 0; i < ROWS * WIDTH; i++) X[i] = i % 2 ? any_finite() : uniform(-20.0f, 20.0f);
      printf("batch %s %s %g\n", sets[s]->name, names[j],
             batch_vs_single(nets[j], X, Y, y1, work));
    }
    softmax_rows(s, nets[3], X, Y, y1, work);
  }
  nn_kernel_select(NULL);
  for (j = 0; j < 4; j++) nn_net_free(nets[j]);
  free(X); free(Y); free(work);
}

int main(int argc, char **argv) {
  uint64_t step = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
  size_t s;
  int fn;
  if (argc > 2)
    for (fn = 0; fn < N_FN; fn++) if (strcmp(argv[2], fn_names[fn]) == 0) only = fn;
  if (step == 0 || (argc > 2 && only < 0)) {
    printf("usage: act_check STEP [exp|sigmoid|tanh|gelu]\n");
    return 2;
  }
  for (s = 0; nn_kernels[s] != NULL && n_sets < MAXSETS; s++)
    if (nn_kernels[s]->supported()) sets[n_sets++] = nn_kernels[s];
  sweep(step);
  printf("checked %llu\n", checked);
  for (s = 0; s < n_sets; s++)
    for (fn = 0; fn < N_FN; fn++) {
      if (only >= 0 && fn != only) continue;
      printf("err %s %s %.3f %08lx\n", sets[s]->name, fn_names[fn], worst[s][fn],
             (unsigned long)worst_at[s][fn]);
      printf("range %s %s %llu\n", sets[s]->name, fn_names[fn], range_bad[s][fn]);
      printf("sat %s %s %llu\n", sets[s]->name, fn_names[fn], sat_bad[s][fn]);
      printf("special %s %s %llu\n", sets[s]->name, fn_names[fn], special_bad[s][fn]);
      printf("tail %s %s %llu\n", sets[s]->name, fn_names[fn], tail_bad[s][fn]);
    }
  for (fn = 0; fn < N_FN; fn++)
    if (only < 0 || fn == only) printf("cross %s %.3f\n", fn_names[fn], cross[fn]);
  if (only >= 0) return 0;
  for (s = 0; s < n_sets; s++)
    for (fn = 0; fn < N_PW; fn++)
      printf("relu %s %s %llu %llu\n", sets[s]->name, pw_names[fn], pw_bad[s][fn],
             pw_nan[s][fn]);
  engine_checks();
  narrow_checks();
  return 0;
}
