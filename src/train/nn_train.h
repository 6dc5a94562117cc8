/*
** nn_train.h: training in C: backward passes, losses, optimizers, and the
** trainer that holds every piece of training state.
**
** A trainer is one block laid out by nn_trainer_init in memory the caller
** gives (malloc, or a Lua userdata the collector owns): the options, the
** gradients (ONE buffer laid out exactly like net->params: W [n_out][n_in]
** then b [n_out] per Linear), the optimizer's moments and the activations of
** one chunk of rows.  Nothing is allocated after that: a step only reads
** the rows it is given and writes the trainer and net->params.  The network
** itself holds no training state, so it may be saved or run between steps.
**
**   nn_train_opts o;
**   nn_train_defaults(&o, NN_OPT_ADAM);
**   o.loss = NN_LOSS_CE;
**   void *block = malloc(nn_trainer_size(net, &o));
**   nn_trainer *tr = nn_trainer_init(block, net, &o);
**   double loss;
**   char err[NN_ERRMAX];
**   status = nn_train_step(tr, net, &loss, X, n_x, rows, n, NULL, classes, err);
**
** Batches go through the net in the panel layout of nn_forward_batch, with
** the tile kernel of the kernel set in use (nn_kernel.h) for every product:
** Y = W X, dX = W^T dY and dW = dY X^T.  Same seed, data, options and kernel
** set: bit-identical weights (every sum is taken in a fixed order).
**
** Pure C99: includes neither lua.h nor sqlite3.h.  Not the binding
** (nn_lua_train.c) and not the arithmetic of the forward pass for hosts
** (nn_engine.c).
*/
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "engine/nn_engine.h"
#include "engine/nn_pool.h"

typedef enum nn_loss {
  NN_LOSS_MSE,     /* sum (y - t)^2 / (rows * outputs) */
  NN_LOSS_CE,      /* -log softmax(z)[class] / rows, z the logits */
  NN_LOSS_BCE      /* -(t log y + (1-t) log(1-y)) / (rows * outputs), logs >= -100 */
} nn_loss;

typedef enum nn_optim { NN_OPT_SGD, NN_OPT_ADAM, NN_OPT_RPROP } nn_optim;

typedef struct nn_train_opts {
  nn_loss loss;
  nn_optim optimizer;
  float lr;             /* sgd, adam */
  float momentum;       /* sgd: 0 for none */
  int nesterov;         /* sgd, with momentum > 0 */
  float beta1, beta2, eps;   /* adam */
  float weight_decay;   /* sgd: L2 added to the gradient; adam: decoupled (AdamW) */
  float clip;           /* > 0: gradient scaled to this norm when longer */
  size_t batch;         /* rows per chunk (at most NN_TRAIN_CHUNK, but the
                           whole batch for a net with nn.BatchNorm): the
                           activations the trainer holds */
  uint64_t seed;        /* the key, with the step, of Dropout's masks */
  /* iRPROP-: FANN's defaults */
  float rprop_increase, rprop_decrease, rprop_delta_min, rprop_delta_max,
        rprop_delta_zero;
} nn_train_opts;

/* Defaults: sgd lr 0.01; adam lr 1e-3, betas 0.9 and 0.999, eps 1e-8;
** rprop 1.2, 0.5, 0, 50, 0.1 (FANN's); batch 32; loss MSE. */
void nn_train_defaults(nn_train_opts *o, nn_optim optimizer);

/* Opaque to hosts; the layout is in nn_train.c. */
typedef struct nn_trainer nn_trainer;

/* Bytes of the trainer block for net and o (0 when too large); the block
** may have any alignment malloc or a Lua userdata gives.  nn_trainer_init
** lays the trainer out in it: zero gradients and moments, step count 0. */
size_t nn_trainer_size(const nn_net *net, const nn_train_opts *o);
nn_trainer *nn_trainer_init(void *block, const nn_net *net, const nn_train_opts *o);

/* Rows of a chunk at most: a step's rows are cut into chunks of
** min(o.batch, NN_TRAIN_CHUNK) rows whatever the number of workers, each
** chunk's gradient computed apart (the pool's workers take chunks in
** parallel) and the chunks' gradients and losses summed in chunk order.
** 32, so that a batch of 64 is two chunks, one a thread.  A second chunk
** costs one thread little: what a backward pass needs of the weights alone
** (Linear's W^T: a kind's prepare, see nn_kind_info) is made once a call
** and shared by its chunks, and each chunk writes its gradient (no pass
** zeroes one), a lane's then added into the first's by the kernel set's
** add.  (Made in each chunk, the transpose made a batch of 64 in chunks
** of 32 take 28% longer on one thread.) */
#define NN_TRAIN_CHUNK  32

/* Workers for the steps, evaluations and backward passes: lanes more than
** the caller's thread, each with its own activations and gradient, in a
** block of nn_trainer_lanes_size(tr, lanes) bytes (any alignment) that the
** caller keeps while the trainer uses it; pool runs them.  lanes 0 (or a
** NULL pool or block): every chunk on the caller's thread.  Any number of
** lanes gives the same bits. */
size_t nn_trainer_lanes_size(const nn_trainer *tr, size_t lanes);
void nn_trainer_use_pool(nn_trainer *tr, nn_pool *pool, void *block, size_t lanes);

/* 1 when net still has the layers the trainer was made for. */
int nn_trainer_fits(const nn_trainer *tr, const nn_net *net);

/* The options it was made with. */
const nn_train_opts *nn_trainer_opts(const nn_trainer *tr);

/* Forget the moments and step count (the weights are the net's). */
void nn_trainer_reset(nn_trainer *tr);

/* The gradient buffer ([n_params], laid out like net->params) and the
** number of steps taken. */
float *nn_trainer_grad(nn_trainer *tr);
uint64_t nn_trainer_steps(const nn_trainer *tr);

/* Targets for n rows: either rows T [n][n_out] (distributions for
** cross-entropy, values in [0, 1] for BCE) or classes [n], 0-based below
** net->n_outputs (one-hot for MSE and BCE).  Exactly one is non-NULL.
** The rows of a batch are X + rows[r] * n_x (rows NULL: X's first n rows);
** T and classes follow the same indices. */

/* One update from the mean loss over the n rows, whose gradient is
** accumulated a chunk of at most o.batch rows at a time; *loss is that
** mean.  NN_EDIVERGED (err names what) when the loss, the gradient or the
** update is not finite (an update is, when it leaves every weight finite):
** nothing is changed then, neither weights nor the optimizer's state. */
int nn_train_step(nn_trainer *tr, nn_net *net, double *loss,
                  const float *X /* [.][n_x] */, size_t n_x,
                  const size_t *rows /* [n] or NULL */, size_t n,
                  const float *T /* [.][n_out] or NULL */,
                  const uint32_t *classes /* [.] or NULL */,
                  char err[NN_ERRMAX]);

/* The mean loss over n rows and, with class targets (or target rows whose
** largest value is the class), the count of rows whose largest output is
** the target's class.  Changes no weight; uses the trainer's activations. */
void nn_train_evaluate(nn_trainer *tr, const nn_net *net, double *loss,
                       size_t *correct, const float *X /* [.][n_x] */,
                       size_t n_x, const size_t *rows /* [n] or NULL */,
                       size_t n, const float *T /* [.][n_out] or NULL */,
                       const uint32_t *classes /* [.] or NULL */);

/* The backward pass alone: for the n rows of X and the gradient dY of some
** loss with respect to the net's outputs, dX (when not NULL) gets the
** gradient with respect to the inputs and grad gets the parameters'
** gradient ADDED to it (laid out like params).  Uses the trainer's
** activations; changes no weight and no moment. */
void nn_train_backward(nn_trainer *tr, const nn_net *net,
                       float *dX /* [n][n_x] or NULL */,
                       float *grad /* [n_params] */,
                       const float *X /* [n][n_x] */, size_t n_x, size_t n,
                       const float *dY /* [n][n_out] */);

/* Fisher-Yates shuffle of idx[n] with the splitmix64 stream at *state. */
void nn_train_shuffle(size_t *idx /* [n] */, size_t n, uint64_t *state);

/* --- losses on rows (row-major, also the criteria of the binding) ------- */

/* How far from 1 a row of cross-entropy targets may sum: float rows that
** are distributions (a SoftMax's, label smoothing's) sum to 1 within a few
** units of 2^-24 per value; 1e-4 leaves room for thousands of them. */
#define NN_CE_SUM_TOL 1e-4

enum { NN_TARGETS_OK, NN_TARGETS_VALUE, NN_TARGETS_SUM };

/* Whether n rows T [n][k] are targets for loss: values in [0, 1] for BCE;
** distributions for cross-entropy (every value >= 0, each row summing to 1
** within NN_CE_SUM_TOL); any finite value for MSE.  NN_TARGETS_VALUE: the
** value at T[*at] is out of its range; NN_TARGETS_SUM: row *at sums to
** *sum.  The binding checks every target with it before training or a
** criterion sees it; nn_train_step trusts its caller. */
int nn_targets_check(nn_loss loss, const float *T /* [n][k] */, size_t n, size_t k,
                     size_t *at, double *sum);

/* The number the sum of a loss is divided by: rows for cross-entropy,
** rows * k for MSE and BCE. */
double nn_loss_count(nn_loss loss, size_t n, size_t k);

/* The SUM of the loss over n rows of k outputs (cross-entropy: y are the
** logits, softmax taken here, stably); when dY is not NULL it gets scale
** times the gradient of that sum with respect to y. */
double nn_loss_rows(nn_loss loss, float *dY /* [n][k] or NULL */,
                    const float *Y /* [n][k] */, const float *T /* [n][k] or NULL */,
                    const uint32_t *classes /* [n] or NULL */, size_t n,
                    size_t k, float scale);

#endif
