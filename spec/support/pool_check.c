/*
** pool_check.c: the engine's pool of threads from C, for
** spec/threads_spec.lua: host threads that share one pool.
**
**   pool_check          prints "ok N" after N batches compared, or what differed
**   pool_check backoff  prints "ok backoff", or which call went wrong
**
** Four host threads each run a batch forward pass of 100 rows on the same
** pool (2 workers) 200 times, so that calls overlap: a call made while the
** pool runs another's runs alone on its own thread.  Every result must be
** the bits of nn_forward_batch on one thread.  Then a pool's turns: tasks
** that add their index to a sum in their turn give 0 + 1 + ... in order.
**
** With "backoff": a call whose pool thread stalls in a task (it sleeps
** 300 ms, as a thread descheduled by another process would) is late, so
** the next call runs on the caller alone (its first task waits 200 ms for
** the thread in vain), and the one after it has the thread again (its
** first task waits up to 5 s, and sees the thread start a task).
** Not part of nn.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* --- backoff ---------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int thread_started, stall;
static size_t ran_on[8];

/* Task 0, on the caller: wait until the pool's thread has started a task,
** at most ms milliseconds.  Any other task: say so; sleep if stalling. */
static void wait_thread(long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&mu);
  while (!thread_started && pthread_cond_timedwait(&cv, &mu, &until) == 0) {}
  pthread_mutex_unlock(&mu);
}

static void backoff_task(void *ctx, nn_job *job, size_t task, size_t worker) {
  long ms = *(long *)ctx;
  (void)job;
  ran_on[task] = worker;
  if (task == 0) { wait_thread(ms); return; }
  if (worker == 0) return;
  pthread_mutex_lock(&mu);
  thread_started = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  if (stall) {
    struct timespec nap = { 0, 300000000L };
    nanosleep(&nap, NULL);
  }
}

/* One call of 4 tasks: how many ran on the pool's thread. */
static size_t backoff_call(long wait_ms, int stalls) {
  size_t i, on_thread = 0;
  thread_started = 0;
  stall = stalls;
  nn_pool_run(pool, 2, 4, backoff_task, &wait_ms);
  for (i = 0; i < 4; i++) on_thread += ran_on[i] != 0;
  return on_thread;
}

static int backoff(void) {
  pool = nn_pool_new();
  if (pool == NULL || nn_pool_reserve(pool, 2) != NN_OK) return 1;
  if (backoff_call(5000, 1) == 0) { printf("the stalling call: no task on the thread\n"); return 1; }
  if (backoff_call(200, 0) != 0) { printf("the call after a late one used the thread\n"); return 1; }
  if (backoff_call(5000, 0) == 0) { printf("the pool did not take its thread back\n"); return 1; }
  nn_pool_free(pool);
  printf("ok backoff\n");
  return 0;
}

int main(int argc, char **argv) {
  nn_layer arch[] = { NN_DENSE(12, 40), NN_ACT(NN_TANH), NN_DENSE(40, 5), NN_ACT(NN_SOFTMAX) };
  char err[NN_ERRMAX];
  uint64_t rng = 5;
  pthread_t t[HOSTS];
  turns tt;
  float *work;
  size_t i;
  if (argc > 1 && strcmp(argv[1], "backoff") == 0) return backoff();
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
