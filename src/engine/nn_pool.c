/*
** nn_pool.c: the pool of threads (see nn_pool.h), and the batch forward
** pass split over it in chunks of NN_BATCH_ROWS rows.
**
** One mutex guards the pool and the call it runs; three condition
** variables: `wake` (the threads wait for a call), `idle` (the caller waits
** for the threads to leave its call), `turn` (a task waits for the tasks
** before it to add what they share, or to be done: nn_pool_after).  A thread that wakes takes tasks, one
** at a time, until none is left; so does the caller, so a call never waits
** for a thread that has not started (a descheduled thread leaves its tasks
** to the others).  Nothing here spins and nothing allocates after a
** thread's creation.
**
** Not the passes: this file knows a network only to cut a batch into
** chunks and hand each to nn_forward_batch.
*/
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "engine/nn_engine.h"
#include "engine/nn_pool.h"

struct nn_job {
  nn_pool *pool;          /* NULL: every task on the caller's thread, no lock */
  nn_task_fn *fn;
  void *ctx;
  size_t n_tasks, workers;
  size_t next;            /* the next task to hand out */
  size_t done;            /* tasks finished */
  size_t turn;            /* tasks that have ended their turn */
  size_t waiting;         /* tasks in nn_pool_after */
  double waited;          /* ns the caller's tasks spent in nn_pool_after */
};

typedef struct worker {
  nn_pool *pool;
  size_t id;              /* 1 .. : the caller is worker 0 */
  unsigned long seen;     /* the pool's gen when made: a call started
                             before the thread first runs is still its */
  pthread_t thread;
} worker;

struct nn_pool {
  pthread_mutex_t mu;
  pthread_cond_t wake, idle, turn;
  nn_job *job;            /* the call running, NULL when none */
  unsigned long gen;      /* calls started: a thread joins each once */
  size_t active;          /* threads inside the call */
  size_t n_threads;
  size_t alone;           /* calls still to run on the caller alone ... */
  size_t backoff;         /* ... and how many the next late call sets */
  int quit;
  worker w[NN_POOL_MAX - 1];
};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* With the mutex held: a task is done (nn_pool_after may wait for it). */
static void task_done(nn_job *j) {
  j->done++;
  if (j->waiting > 0) pthread_cond_broadcast(&j->pool->turn);
}

/* With the mutex held: a pool thread takes tasks, one at a time, until
** none is left. */
static void take_tasks(nn_job *j, size_t id) {
  while (j->next < j->n_tasks) {
    size_t t = j->next++;
    pthread_mutex_unlock(&j->pool->mu);
    j->fn(j->ctx, j, t, id);
    pthread_mutex_lock(&j->pool->mu);
    task_done(j);
  }
}

/* With the mutex held: the caller takes tasks likewise; how many it ran,
** and in *longest the longest of them, in ns, less its waits in
** nn_pool_after (a task's own work). */
static size_t take_own(nn_job *j, double *longest) {
  size_t ran = 0;
  *longest = 0.0;
  while (j->next < j->n_tasks) {
    size_t t = j->next++;
    double t0 = now_ns(), w0 = j->waited, dt;
    pthread_mutex_unlock(&j->pool->mu);
    j->fn(j->ctx, j, t, 0);
    pthread_mutex_lock(&j->pool->mu);
    dt = now_ns() - t0 - (j->waited - w0);
    if (dt > *longest) *longest = dt;
    task_done(j);
    ran++;
  }
  return ran;
}

static int wanted(const nn_pool *p, size_t id, unsigned long seen) {
  return p->job != NULL && p->gen != seen && id < p->job->workers;
}

static void *thread_main(void *arg) {
  worker *w = (worker *)arg;
  nn_pool *p = w->pool;
  unsigned long seen;
  pthread_mutex_lock(&p->mu);
  seen = w->seen;
  for (;;) {
    while (!p->quit && !wanted(p, w->id, seen))
      pthread_cond_wait(&p->wake, &p->mu);
    if (p->quit) break;
    seen = p->gen;
    p->active++;
    (void)take_tasks(p->job, w->id);
    if (--p->active == 0) pthread_cond_signal(&p->idle);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

nn_pool *nn_pool_new(void) {
  nn_pool *p = (nn_pool *)calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  if (pthread_mutex_init(&p->mu, NULL) != 0) goto no_mutex;
  if (pthread_cond_init(&p->wake, NULL) != 0) goto no_wake;
  if (pthread_cond_init(&p->idle, NULL) != 0) goto no_idle;
  if (pthread_cond_init(&p->turn, NULL) != 0) goto no_turn;
  return p;
no_turn: pthread_cond_destroy(&p->idle);
no_idle: pthread_cond_destroy(&p->wake);
no_wake: pthread_mutex_destroy(&p->mu);
no_mutex: free(p);
  return NULL;
}

void nn_pool_free(nn_pool *p) {
  size_t i;
  if (p == NULL) return;
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < p->n_threads; i++) pthread_join(p->w[i].thread, NULL);
  pthread_cond_destroy(&p->turn);
  pthread_cond_destroy(&p->idle);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int nn_pool_reserve(nn_pool *p, size_t workers) {
  int status = NN_OK;
  if (workers > NN_POOL_MAX) workers = NN_POOL_MAX;
  pthread_mutex_lock(&p->mu);
  while (p->n_threads + 1 < workers) {
    worker *w = &p->w[p->n_threads];
    w->pool = p;
    w->id = p->n_threads + 1;
    w->seen = p->gen;
    if (pthread_create(&w->thread, NULL, thread_main, w) != 0) {
      status = NN_ENOMEM;
      break;
    }
    p->n_threads++;
  }
  pthread_mutex_unlock(&p->mu);
  return status;
}

size_t nn_pool_workers(const nn_pool *p) {
  return p ? p->n_threads + 1 : 1;
}

static void run_alone(nn_job *j) {
  size_t t;
  j->pool = NULL;
  for (t = 0; t < j->n_tasks; t++) {
    j->fn(j->ctx, j, t, 0);
    j->turn = t + 1;
  }
}

/* A call is late when the caller waited for the pool's threads (out of
** tasks, or in nn_pool_after) longer than twice its longest task took: a
** thread was
** descheduled in the middle of one (another process has its core).  Then
** the next calls run on the caller alone, as many as `backoff`, which
** doubles with each late call up to NN_POOL_BACKOFF and starts again at 1
** after a call on time: on a busy machine the threads are tried now and
** then, not every call, and a stall costs a call in NN_POOL_BACKOFF; on a
** free one every call has them.  Which thread runs a task never changes
** what it computes. */
#ifndef NN_POOL_BACKOFF
#define NN_POOL_BACKOFF  64
#endif
#define NN_POOL_SLACK_NS  1e5

/* With the mutex held: what the call's timing says about the next calls
** (waited: ns the caller waited; longest: its longest task's own work). */
static void after_call(nn_pool *p, double waited, double longest, size_t own_tasks) {
  int late = own_tasks > 0 && waited > 2.0 * longest + NN_POOL_SLACK_NS;
  if (p->backoff == 0) p->backoff = 1;
  if (!late) { p->backoff = 1; return; }
  p->alone = p->backoff;
  if (p->backoff < NN_POOL_BACKOFF) p->backoff *= 2;
}

void nn_pool_run(nn_pool *p, size_t workers, size_t n_tasks, nn_task_fn *fn,
                 void *ctx) {
  nn_job j;
  double t_own, longest;
  size_t own;
  j.pool = p; j.fn = fn; j.ctx = ctx; j.n_tasks = n_tasks;
  j.workers = workers; j.next = j.done = j.turn = j.waiting = 0;
  j.waited = 0.0;
  if (p == NULL || workers <= 1 || n_tasks <= 1) { run_alone(&j); return; }
  pthread_mutex_lock(&p->mu);
  if (p->job != NULL || p->n_threads == 0 || p->alone > 0) {
    /* busy with another caller's call, or backing off: this caller alone */
    if (p->job == NULL && p->alone > 0) p->alone--;
    pthread_mutex_unlock(&p->mu);
    run_alone(&j);
    return;
  }
  p->job = &j;
  p->gen++;
  pthread_cond_broadcast(&p->wake);
  own = take_own(&j, &longest);
  t_own = now_ns();
  while (j.done < j.n_tasks || p->active > 0)
    pthread_cond_wait(&p->idle, &p->mu);
  after_call(p, j.waited + now_ns() - t_own, longest, own);
  p->job = NULL;
  pthread_mutex_unlock(&p->mu);
}

void nn_pool_turn_wait(nn_job *j, size_t task) {
  if (j->pool == NULL) return;
  pthread_mutex_lock(&j->pool->mu);
  while (j->turn != task) pthread_cond_wait(&j->pool->turn, &j->pool->mu);
  pthread_mutex_unlock(&j->pool->mu);
}

void nn_pool_after(nn_job *j, size_t n, size_t worker) {
  double t0;
  if (j->pool == NULL) return;
  pthread_mutex_lock(&j->pool->mu);
  if (j->done < n) {
    t0 = worker == 0 ? now_ns() : 0.0;
    j->waiting++;
    while (j->done < n) pthread_cond_wait(&j->pool->turn, &j->pool->mu);
    j->waiting--;
    if (worker == 0) j->waited += now_ns() - t0;
  }
  pthread_mutex_unlock(&j->pool->mu);
}

void nn_pool_turn_end(nn_job *j) {
  if (j->pool == NULL) return;
  pthread_mutex_lock(&j->pool->mu);
  j->turn++;
  pthread_cond_broadcast(&j->pool->turn);
  pthread_mutex_unlock(&j->pool->mu);
}

size_t nn_processors(void) {
#ifdef _SC_NPROCESSORS_ONLN
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 0) return (size_t)n;
#endif
  return 1;
}


/* --- the batch forward pass over the pool -------------------------------- */

/* Rows of a task: smaller than a pass's chunk (NN_BATCH_ROWS), so that a
** batch is more tasks than threads and a thread slowed by another process
** on its core takes fewer of them.  Any size gives the same bits: rows
** never meet in a forward pass. */
#ifndef NN_POOL_ROWS
#define NN_POOL_ROWS  32
#endif

typedef struct batch_job {
  const nn_net *net;
  float *Y;
  const float *X;
  size_t n_rows, n_x, n_y;
  size_t per;             /* floats of work per worker */
  float *work;
} batch_job;

/* Enough for a task, and for nn_forward_batch on the whole batch (one
** worker): the work of NN_BATCH_ROWS rows. */
static size_t chunk_work(const nn_net *net, size_t n_rows, size_t n_x) {
  return nn_batch_work_size(net, n_rows < NN_BATCH_ROWS ? n_rows : NN_BATCH_ROWS, n_x);
}

size_t nn_batch_pool_work_size(const nn_net *net, size_t n_rows, size_t n_x,
                               size_t workers) {
  return chunk_work(net, n_rows, n_x) * (workers > 0 ? workers : 1);
}

/* Chunk `task`: what nn_forward_batch does with those rows of the whole. */
static void batch_task(void *ctx, nn_job *job, size_t task, size_t worker) {
  batch_job *b = (batch_job *)ctx;
  size_t r0 = task * NN_POOL_ROWS;
  size_t rows = b->n_rows - r0 < NN_POOL_ROWS ? b->n_rows - r0 : NN_POOL_ROWS;
  (void)job;
  nn_forward_batch(b->net, b->Y + r0 * b->n_y, b->X + r0 * b->n_x, rows, b->n_x,
                   b->work + worker * b->per);
}

void nn_forward_batch_pool(nn_pool *pool, size_t workers, const nn_net *net,
                           float *Y, const float *X, size_t n_rows, size_t n_x,
                           float *work) {
  batch_job b;
  size_t n_tasks = (n_rows + NN_POOL_ROWS - 1) / NN_POOL_ROWS;
  if (workers > n_tasks) workers = n_tasks;
  if (workers <= 1 || pool == NULL) {
    nn_forward_batch(net, Y, X, n_rows, n_x, work);
    return;
  }
  b.net = net; b.Y = Y; b.X = X; b.n_rows = n_rows; b.n_x = n_x;
  b.n_y = net->n_outputs ? net->n_outputs : n_x;
  b.per = chunk_work(net, n_rows, n_x);
  b.work = work;
  nn_pool_run(pool, workers, n_tasks, batch_task, &b);
}
