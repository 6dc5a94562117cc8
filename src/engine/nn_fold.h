/*
** nn_fold.h: fold, the engine's algebra on whole networks: Identity layers
** dropped and each run of adjacent Linear layers merged into one,
**   W = W_k ... W_2 W_1,  b = W_k (... (W_2 b_1 + b_2) ...) + b_k,
** computed in double and rounded to float once.
**
** This is not the forward pass (nn_engine.h) and allocates nothing: the
** caller provides the folded net's block and the scratch.  Costs are those
** of the merges: a Linear with nothing to merge is copied, a run of k
** Linear layers costs its k - 1 matrix products (taken from the input side
** or from the output side, whichever costs fewer multiplications), and a
** network the fold would make too large is refused before any work.
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
** scratch (a run whose inner layers are far wider than both its ends). */
int nn_fold_layout(const nn_net *net, nn_layer *out /* [net->n_layers] */,
                   size_t *n_layers, size_t *n_params, size_t *n_work,
                   char err[NN_ERRMAX]);

/* dst (laid out by nn_fold_layout from src) gets its parameters from src's. */
void nn_fold_params(const nn_net *src, nn_net *dst,
                    double *work /* [n_work from nn_fold_layout] */);

#endif
