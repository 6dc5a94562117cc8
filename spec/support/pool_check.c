/*
** pool_check.c: the engine's pool of threads from C, for
** spec/threads_spec.lua: host threads that share one pool.
**
**   pool_check   prints "ok N" after N batches compared, or what differed
**
** Four host threads each run a batch forward pass of 100 rows on the same
** pool (2 workers) 200 times, so that calls overlap: a call made while the
** pool runs another's runs alone on its own thread.  Every result must be
** the bits of nn_forward_batch on one thread.  Then a pool's turns: tasks
** that add their index to a sum in their turn give 0 + 1 + ... in order.
** Not part of nn.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "engine/nn_pool.h"

#define ROWS     100
#define CALLS    200
#define HOSTS    4

static nn_net *net;
static nn_pool *pool;
static float X[ROWS * 12], want[ROWS * 5];
static int bad[HOSTS];

static void *host(void *arg) {
  int id = (int)(size_t)arg, i;
  size_t n = nn_batch_pool_work_size(net, ROWS, 12, 2);
  float *work = malloc(n * sizeof(float)), Y[ROWS * 5];
  for (i = 0; i < CALLS && work != NULL; i++) {
    nn_forward_batch_pool(pool, 2, net, Y, X, ROWS, 12, work);
    if (memcmp(Y, want, sizeof Y) != 0) bad[id]++;
  }
  if (work == NULL) bad[id] = -1;
  free(work);
  return NULL;
}

/* Each task appends its index to the list in its turn. */
typedef struct turns { size_t order[64], n; } turns;
static void turn_task(void *ctx, nn_job *job, size_t task, size_t worker) {
  turns *t = ctx;
  (void)worker;
  nn_pool_turn_wait(job, task);
  t->order[t->n++] = task;
  nn_pool_turn_end(job);
}

int main(void) {
  nn_layer arch[] = { NN_DENSE(12, 40), NN_ACT(NN_TANH), NN_DENSE(40, 5), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  uint64_t rng = 5;
  pthread_t t[HOSTS];
  turns tt;
  float *work;
  size_t i;
  net = nn_net_new(arch, 4, err);
  pool = nn_pool_new();
  if (net == NULL || pool == NULL || nn_pool_reserve(pool, 2) != NN_OK) return 1;
  nn_init_uniform(net, &rng);
  for (i = 0; i < ROWS * 12; i++) X[i] = (float)((i * 37) % 101) / 25.0f - 2.0f;
  work = malloc(nn_batch_work_size(net, ROWS, 12) * sizeof(float));
  nn_forward_batch(net, want, X, ROWS, 12, work);
  free(work);
  for (i = 0; i < HOSTS; i++) pthread_create(&t[i], NULL, host, (void *)i);
  for (i = 0; i < HOSTS; i++) pthread_join(t[i], NULL);
  for (i = 0; i < HOSTS; i++)
    if (bad[i] != 0) { printf("host %zu: %d batches differ\n", i, bad[i]); return 1; }
  tt.n = 0;
  nn_pool_run(pool, 2, 64, turn_task, &tt);
  for (i = 0; i < 64; i++)
    if (tt.n != 64 || tt.order[i] != i) { printf("turn %zu out of order\n", i); return 1; }
  nn_pool_free(pool);
  nn_net_free(net);
  printf("ok %d\n", HOSTS * CALLS);
  return 0;
}
