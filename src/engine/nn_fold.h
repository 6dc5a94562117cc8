/*
** nn_fold.h: fold, the engine's algebra on whole networks: Identity layers
** (and Dropout, the identity outside training) dropped and each run of
** adjacent Linear layers merged into one,
**   W = W_k ... W_2 W_1,  b = W_k (... (W_2 b_1 + b_2) ...) + b_k,
** computed in double and rounded to float once; a BatchNorm right after a
** run taken into it (W's rows and b scaled by weight / sqrt(running_var +
** eps), b shifted: rounded to float once more).
**
** This is not the forward pass (nn_engine.h) and allocates nothing: the
** caller provides the folded net's block and the scratch.  Costs are those
** of the merges: a Linear with nothing to merge is copied, a run of k
** Linear layers costs its k - 1 matrix products (taken from the input side
** or from the output side, whichever costs fewer multiplications; blocked,
** on the kernel set's double tile), and a network the fold would make too
** large is refused before any work.  nn_fold_cost says what a fold costs
** before it starts.
*/
#ifndef NN_FOLD_H
#define NN_FOLD_H

#include <stddef.h>
#include "engine/nn_engine.h"

/* Lay out the folded network: its layers in out (at most net->n_layers of
** them), *n_layers, their parameter count *n_params, and *n_work, the
** doubles of scratch nn_fold_params needs.  Fails with NN_ESIZE, naming
** the layers in err, when the folded net would hold more than NN_MAX_PARAMS
** parameters or a product would need more than NN_MAX_PARAMS doubles of
** scratch (a run whose inner layers are far wider than both its ends).
** map is scratch too: each value of net (0 its input, j + 1 layer j's
** output) as a value of the folded net, so that the layers of a graph
** read what they read before (their `from` renumbered).
**
** In a graph a run is a straight stretch: each of its layers reads only
** the layer before it, whose output no other layer reads (a value read by
** a join or by a later layer is a branch point, never folded across); a
** graph's last layer is kept even when it passes through. */
int nn_fold_layout(const nn_net *net, nn_layer *out /* [net->n_layers] */,
                   size_t *map /* [net->n_layers + 1] */,
                   size_t *n_layers, size_t *n_params, size_t *n_work,
                   char err[NN_ERRMAX]);

/* The multiply-adds a fold of net costs: its products, in the order
** nn_fold_layout takes them, and its biases (copies are free).  Known
** before any work, so that a caller can refuse a fold too long to wait
** for; two Linear(8192, 8192) cost 8192^3 + 8192^2 = 5.5e11. */
double nn_fold_cost(const nn_net *net);

/* The cost above which net:fold refuses unless told otherwise: 2^34
** multiply-adds, about a second on AVX-512 and ten on the generic set
** (net:fold{ max_ops = n } raises it). */
#define NN_FOLD_MAX_OPS  17179869184.0

/* dst (laid out by nn_fold_layout from src) gets its parameters from src's. */
void nn_fold_params(const nn_net *src, nn_net *dst,
                    double *work /* [n_work from nn_fold_layout] */);

#endif
