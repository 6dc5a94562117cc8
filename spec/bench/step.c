/*
** step.c: training steps of the trainer (train/nn_train.h) on 1 and 2
** threads, the MLP 784-256-128-10 (ReLU, SoftMax, cross-entropy), Adam,
** batch 64 on random rows: what the pool gives a step, apart from Lua and
** the data's shuffle.
**
**   build/bench/step
**
** Prints "nn.step.adam.b64.tN V ns", ns per step (the median of 7 runs on
** the wall clock, timed as the reference programs are: ref_common.h), for
** N = 1 and 2.  The
** two counts' weights after the same steps are compared bit for bit first.
** Figures, not a test.
*/
#include "ref_common.h"     /* first: it asks for POSIX */

#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "engine/nn_pool.h"
#include "train/nn_train.h"

#define BATCH 64
#define ROWS  1024

typedef struct run_ctx {
  nn_net *net;
  nn_trainer *tr;
  const float *X;
  const uint32_t *C;
  size_t at;
} run_ctx;

static double run(void *p, size_t n) {
  run_ctx *c = p;
  char err[NN_ERRMAX];
  double loss = 0.0, acc = 0.0;
  size_t i;
  for (i = 0; i < n; i++) {
    const float *X = c->X + c->at * 784;
    if (nn_train_step(c->tr, c->net, &loss, X, 784, NULL, BATCH, NULL, c->C + c->at,
                      err) != NN_OK) {
      fprintf(stderr, "step bench: %s\n", err);
      exit(1);
    }
    c->at = (c->at + BATCH) % ROWS;
    acc += loss;
  }
  return acc;
}

/* A network of seed 1 and a trainer on `workers` workers. */
static nn_net *net_of(nn_trainer **tr, void **block, void **lanes, nn_pool *pool,
                      size_t workers) {
  nn_layer arch[] = { NN_DENSE(784, 256), NN_ACT(NN_RELU), NN_DENSE(256, 128),
                      NN_ACT(NN_RELU), NN_DENSE(128, 10), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  uint64_t rng = 1;
  nn_train_opts o;
  nn_net *net = nn_net_new(arch, 6, err);
  if (net == NULL) return NULL;
  nn_init_uniform(net, &rng);
  nn_train_defaults(&o, NN_OPT_ADAM);
  o.loss = NN_LOSS_CE;
  o.batch = BATCH;
  *block = malloc(nn_trainer_size(net, &o));
  *tr = nn_trainer_init(*block, net, &o);
  *lanes = malloc(nn_trainer_lanes_size(*tr, workers - 1));
  nn_trainer_use_pool(*tr, pool, *lanes, workers - 1);
  return net;
}

int main(void) {
  size_t i, w;
  uint64_t seed = 7;
  float *X = ref_alloc(ROWS * 784, sizeof(float));
  uint32_t *C = ref_alloc(ROWS, sizeof(uint32_t));
  nn_pool *pool = nn_pool_new();
  nn_net *nets[3];
  nn_trainer *trs[3];
  void *blocks[3], *lanes[3];
  char name[64];
  if (pool == NULL || nn_pool_reserve(pool, 2) != NN_OK) {
    fprintf(stderr, "step bench: no pool\n");
    return 1;
  }
  for (i = 0; i < ROWS * 784; i++) X[i] = ref_uniform(&seed, 0.0f, 1.0f);
  for (i = 0; i < ROWS; i++) C[i] = (uint32_t)(ref_uniform(&seed, 0.0f, 9.99f));
  for (w = 1; w <= 2; w++) {
    run_ctx c;
    nets[w] = net_of(&trs[w], &blocks[w], &lanes[w], pool, w);
    if (nets[w] == NULL) return 1;
    c.net = nets[w]; c.tr = trs[w]; c.X = X; c.C = C; c.at = 0;
    (void)run(&c, 20);
  }
  if (memcmp(nets[1]->params, nets[2]->params, nets[1]->n_params * sizeof(float)) != 0) {
    fprintf(stderr, "step bench: 2 threads give other bits than 1\n");
    return 1;
  }
  for (w = 1; w <= 2; w++) {
    run_ctx c;
    c.net = nets[w]; c.tr = trs[w]; c.X = X; c.C = C; c.at = 0;
    snprintf(name, sizeof name, "nn.step.adam.b64.t%zu", w);
    ref_print(name, ref_median_ns(run, &c, 1, CLOCK_MONOTONIC), "ns");
    nn_net_free(nets[w]);
    free(blocks[w]);
    free(lanes[w]);
  }
  nn_pool_free(pool);
  free(X); free(C);
  return 0;
}
