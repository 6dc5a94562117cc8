/*
** chain_calls.c: the calls whose instructions callgrind counts to compare
** a chain's forward passes between two trees of nn (ARCHITECTURE.md,
** "Graphs": a chain keeps its code path).  Mode 0: the seed's 4-3-2 net,
** 1000 samples; 1: 784-256-128-10, 10 samples; 2: that net, a batch of
** 256; 3: the seed's net, a batch of 256.  Build it against each tree's
** engine and count one function's instructions, inclusive:
**
**   cc -std=c99 -O2 -Isrc -Isrc/engine -o calls spec/bench/chain_calls.c \
**     src/engine/nn_*.c -lm -pthread
**   valgrind --tool=callgrind --toggle-collect=nn_forward ./calls 0
**   valgrind --tool=callgrind --toggle-collect=nn_forward_batch ./calls 2
**
** Counts, not times: the same on any machine with the same compiler and
** kernel set.  Uses only what every tree has (NN_DENSE, NN_ACT, nn_net_new).
*/
#include <stdio.h>
#include <stdlib.h>

#include "nn_engine.h"

#define ROWS 256

int main(int argc, char **argv) {
  nn_layer seed[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  nn_layer mlp[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                     NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  int mode = argc > 1 ? atoi(argv[1]) : 0;
  nn_net *a = nn_net_new(seed, 4, err), *b = nn_net_new(mlp, 6, err);
  uint64_t rng = 1;
  size_t i;
  float *X = malloc(ROWS * 784 * sizeof(float)), *Y = malloc(ROWS * 10 * sizeof(float));
  float *wb = malloc(nn_batch_work_size(b, ROWS, 784) * sizeof(float));
  float *wa = malloc(nn_batch_work_size(a, ROWS, 4) * sizeof(float));
  float sum = 0.0f;
  if (a == NULL || b == NULL || X == NULL || Y == NULL || wa == NULL || wb == NULL) return 1;
  nn_init_uniform(a, &rng);
  nn_init_uniform(b, &rng);
  for (i = 0; i < ROWS * 784; i++) X[i] = (float)((i * 37) % 101) / 101.0f;
  if (mode == 0)
    for (i = 0; i < 1000; i++) {
      float y[2], w[16];
      X[0] = (float)i;
      nn_forward(a, y, X, 4, w);
      sum += y[0];
    }
  if (mode == 1)
    for (i = 0; i < 10; i++) {
      float y[10];
      nn_forward(b, y, X + i * 784, 784, wb);
      sum += y[0];
    }
  if (mode == 2) nn_forward_batch(b, Y, X, ROWS, 784, wb);
  if (mode == 3) nn_forward_batch(a, Y, X, ROWS, 4, wa);
  printf("%g\n", (double)(sum + Y[5]));
  return 0;
}
