/*
** host.c: the seed's leaf/flower network from C alone, with no Lua and no
** SQLite: what a game engine or any C program does with src/engine/nn_engine.h.
**
**   cc -std=c99 -O2 -Isrc -Isrc/engine examples/host.c src/engine/nn_*.c src/train/nn_*.c \
**      -lm -pthread -o host
**   ./host 32 107 56 11.2
**
** prints the two outputs (leaf, flower) and the winning label.  With no
** arguments it classifies the seed's leaf (32 107 56 11.2); otherwise it
** takes exactly four finite numbers.
*/
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"

/* W1 [3][4], b1 [3], W2 [2][3], b2 [2]: the order of the parameter block. */
static const float seed_params[] = {
  0.10f, -0.29f, -0.07f, 0.46f,
  0.12f, -0.05f, 0.03f, 0.05f,
  -0.36f, -0.21f, -0.20f, -0.15f,
  0.25f, 0.27f, -0.23f,
  -0.17f, 0.39f, 0.10f,
  0.48f, 0.15f, -0.32f,
  0.41f, 0.05f,
};

/* The finite number s, into *out; 0 when s is not one. */
static int read_number(const char *s, float *out) {
  char *end;
  errno = 0;
  *out = strtof(s, &end);
  return end != s && *end == '\0' && errno == 0 && isfinite(*out);
}

int main(int argc, char **argv) {
  static const char *const labels[] = { "leaf", "flower" };
  nn_layer arch[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU),
                      NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  float x[4] = { 32.0f, 107.0f, 56.0f, 11.2f }, y[2];
  float work[NN_WORK_MAX(4, 4)];
  nn_net *net;
  int i;

  if (argc != 1 && argc != 5) {
    fprintf(stderr, "usage: host [R G B VOLUME]\n");
    return 2;
  }
  for (i = 1; i < argc; i++) {
    if (!read_number(argv[i], &x[i - 1])) {
      fprintf(stderr, "host: argument %d is not a finite number: '%s'\n", i, argv[i]);
      return 2;
    }
  }
  net = nn_net_new(arch, sizeof arch / sizeof arch[0], err);
  if (net == NULL) {
    fprintf(stderr, "host: %s\n", err);
    return 1;
  }
  if (net->n_params != sizeof seed_params / sizeof seed_params[0]) {
    fprintf(stderr, "host: %zu parameters expected\n", net->n_params);
    nn_net_free(net);
    return 1;
  }
  memcpy(net->params, seed_params, sizeof seed_params);

  nn_forward(net, y, x, 4, work);
  printf("%.6f %.6f %s\n", y[0], y[1], labels[nn_argmax(y, 2)]);
  nn_net_free(net);
  return 0;
}
