/*
** threads.c: the engine's batch forward pass on 1 and 2 threads (the pool
** of engine/nn_pool.h), for spec/bench/threads.lua.
**
**   build/bench/threads [busy]
**
** Prints "nn.mlp.batch256.tN V ns", ns per row of a batch of 256 through
** the MLP 784-256-128-10 (ReLU, SoftMax), for N = 1 and 2: the median of 7
** runs on the wall clock (CPU time would add the threads' times up), timed
** as the reference programs are (ref_common.h).  With "busy", a child
** process spins on one core the whole time (the names end in .busy): what a
** second thread costs when a core is not free.  The two counts' outputs
** are compared bit for bit first.  Figures, not a test.
*/
#include "ref_common.h"     /* first: it asks for POSIX */

#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn_engine.h"
#include "engine/nn_pool.h"

#define BATCH 256

typedef struct run_ctx {
  const nn_net *net;
  nn_pool *pool;
  size_t workers;
  const float *X;
  float *Y, *work;
} run_ctx;

static double run(void *p, size_t n) {
  run_ctx *c = p;
  size_t i;
  double acc = 0.0;
  for (i = 0; i < n; i++) {
    nn_forward_batch_pool(c->pool, c->workers, c->net, c->Y, c->X, BATCH, 784, c->work);
    acc += c->Y[i % (BATCH * 10)];
  }
  return acc;
}

/* A child that spins until killed. */
static pid_t spinner(void) {
  pid_t pid = fork();
  if (pid == 0) {
    volatile unsigned long n = 0;
    for (;;) n++;
  }
  return pid;
}

int main(int argc, char **argv) {
  nn_layer arch[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                      NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX], name[64];
  uint64_t rng = 42, seed = 7;
  int busy = argc > 1 && strcmp(argv[1], "busy") == 0;
  nn_net *net = nn_net_new(arch, 6, err);
  nn_pool *pool = nn_pool_new();
  float *X = ref_alloc(BATCH * 784, sizeof(float)), *Y1 = ref_alloc(BATCH * 10, sizeof(float));
  float *Y2 = ref_alloc(BATCH * 10, sizeof(float)), *work;
  run_ctx c;
  pid_t child = -1;
  size_t i, w;
  if (net == NULL || pool == NULL || nn_pool_reserve(pool, 2) != NN_OK) {
    fprintf(stderr, "threads bench: no network or no pool\n");
    return 1;
  }
  nn_init_uniform(net, &rng);
  for (i = 0; i < BATCH * 784; i++) X[i] = ref_uniform(&seed, 0.0f, 1.0f);
  work = ref_alloc(nn_batch_pool_work_size(net, BATCH, 784, 2), sizeof(float));
  nn_forward_batch_pool(pool, 1, net, Y1, X, BATCH, 784, work);
  nn_forward_batch_pool(pool, 2, net, Y2, X, BATCH, 784, work);
  if (memcmp(Y1, Y2, BATCH * 10 * sizeof(float)) != 0) {
    fprintf(stderr, "threads bench: 2 threads give other bits than 1\n");
    return 1;
  }
  if (busy) child = spinner();
  c.net = net; c.pool = pool; c.X = X; c.Y = Y1; c.work = work;
  for (w = 1; w <= 2; w++) {
    c.workers = w;
    snprintf(name, sizeof name, "nn.mlp.batch256.t%zu%s", w, busy ? ".busy" : "");
    ref_print(name, ref_median_ns(run, &c, 1, CLOCK_MONOTONIC) / BATCH, "ns");
  }
  if (child > 0) { kill(child, SIGKILL); waitpid(child, NULL, 0); }
  nn_pool_free(pool);
  nn_net_free(net);
  free(X); free(Y1); free(Y2); free(work);
  return 0;
}
