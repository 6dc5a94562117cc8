/*
** nn_pool.h: a pool of threads for the batch passes and the trainer, and
** the batch forward pass split over it.
**
** A pool is made once and grows to the number of workers a call asks for;
** its threads sleep on a condition variable between calls (they never
** spin) and live until nn_pool_free.  A call (nn_pool_run) hands out tasks
** 0 .. n-1, each a fixed piece of the work (rows in fixed chunks), to the
** caller's own thread (worker 0) and to up to workers - 1 of the pool's
** threads; it returns when every task is done.  Which worker runs which
** task varies; what a task computes does not, and whatever a task adds to
** a shared sum it adds in task order (nn_pool_turn_wait/_end): results are
** the same bits whatever the number of workers.
**
** A call that waited for a descheduled thread (another process on its
** core) makes the next calls run on the caller alone, more of them for
** each late call in a row (see nn_pool.c): a busy machine costs a stall
** now and then, not every call.
**
** Two callers at once (two host threads on one pool): the second does not
** wait for the first, it runs its own tasks alone on its own thread, in
** order (same bits).  A pool is never needed: NULL, or 1 worker, runs every
** task on the caller's thread without taking any lock.
**
** Pure C99 and POSIX threads; no Lua, no SQLite.  Not the passes
** themselves (nn_engine.c, train/nn_train.c).
*/
#ifndef NN_POOL_H
#define NN_POOL_H

#include <stddef.h>

#include "engine/nn_engine.h"

/* Workers a pool may have, the caller's thread included. */
#define NN_POOL_MAX  64

typedef struct nn_pool nn_pool;

/* One call's tasks, as each task sees them: which one it is and on which
** worker (0 .. workers - 1: the index of its scratch). */
typedef struct nn_job nn_job;
typedef void nn_task_fn(void *ctx, nn_job *job, size_t task, size_t worker);

/* A pool with no thread yet; NULL when out of memory. */
nn_pool *nn_pool_new(void);
/* Stops and joins every thread, then frees the pool.  NULL is no-op. */
void nn_pool_free(nn_pool *pool);

/* Threads enough for `workers` workers (the caller's thread is one of
** them; at most NN_POOL_MAX).  NN_ENOMEM when the system refuses a thread
** (the pool keeps those it has, and runs with them). */
int nn_pool_reserve(nn_pool *pool, size_t workers);
/* Workers the pool can run now: its threads plus the caller's. */
size_t nn_pool_workers(const nn_pool *pool);

/* Tasks 0 .. n_tasks-1 of fn, on at most `workers` workers (fewer when the
** pool has fewer, or is running another caller's call).  Returns when all
** are done. */
void nn_pool_run(nn_pool *pool, size_t workers, size_t n_tasks, nn_task_fn *fn,
                 void *ctx);

/* Within a task: wait until every task before it has called
** nn_pool_turn_end, then add to what the tasks share; end with
** nn_pool_turn_end.  Tasks are handed out in order, so the one waited for
** is always running. */
void nn_pool_turn_wait(nn_job *job, size_t task);
void nn_pool_turn_end(nn_job *job);

/* Within a task of worker `worker`: wait until tasks 0 .. n-1 have
** returned.  For calls in phases: every task from n on waits so (for n or
** a later phase's start) before it returns, and a task is handed out only
** after those before it, so the tasks waited for are running: a finished
** count of n means those n.  A call that runs alone never waits. */
void nn_pool_after(nn_job *job, size_t n, size_t worker);

/* The processors online (1 when unknown). */
size_t nn_processors(void);

/* nn_forward_batch over the pool: rows in tasks of 32 (NN_POOL_ROWS in
** nn_pool.c), each with its own work; the same bits as nn_forward_batch.
** work has nn_batch_pool_work_size(net, n_rows, n_x, workers) floats. */
size_t nn_batch_pool_work_size(const nn_net *net, size_t n_rows, size_t n_x,
                               size_t workers);
void nn_forward_batch_pool(nn_pool *pool, size_t workers, const nn_net *net,
                           float *Y /* [n_rows][n_out] */,
                           const float *X /* [n_rows][n_x] */, size_t n_rows,
                           size_t n_x, float *work);

#endif
