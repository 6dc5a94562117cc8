/*
** host.c: the seed's leaf/flower network from C alone, with no Lua and no
** SQLite: what a game engine or any C program does with src/nn_engine.h.
**
**   cc -std=c99 -O2 -Isrc examples/host.c src/nn_engine.c src/nn_kernel.c \
**      src/nn_kernel_x86.c src/nn_train.c src/nn_train_kinds.c -lm -o host
**   ./host 32 107 56 11.2
**
** prints the two outputs (leaf, flower) and the winning label.
*/
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

int main(int argc, char **argv) {
  static const char *const labels[] = { "leaf", "flower" };
  nn_layer arch[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU),
                      NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  float x[4] = { 32.0f, 107.0f, 56.0f, 11.2f }, y[2];
  float work[NN_WORK_MAX(4, 4)];
  nn_net *net;
  int i;

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
  for (i = 1; i < argc && i <= 4; i++) x[i - 1] = strtof(argv[i], NULL);

  nn_forward(net, y, x, 4, work);
  printf("%.6f %.6f %s\n", y[0], y[1], labels[nn_argmax(y, 2)]);
  nn_net_free(net);
  return 0;
}
