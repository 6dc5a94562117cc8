/*
** nn_kinds.h: the descriptors of the built-in layer kinds, one file of
** src/engine/ per family (nn_kind_linear.c, nn_kind_act.c,
** nn_kind_smooth.c, nn_kind_norm.c, nn_kind_train.c, nn_kind_embed.c,
** nn_kind_conv.c, nn_kind_pool.c, nn_kind_join.c), gathered into
** the one table by nn_engine.c.  Internal to the engine: hosts reach a kind
** through nn_kind_info_of.
*/
#ifndef NN_KINDS_H
#define NN_KINDS_H

#include "engine/nn_engine.h"

extern const nn_kind_info nn_kind_linear;
extern const nn_kind_info nn_kind_relu, nn_kind_leaky_relu, nn_kind_sigmoid,
                          nn_kind_tanh, nn_kind_softmax, nn_kind_identity;
extern const nn_kind_info nn_kind_gelu, nn_kind_silu, nn_kind_softplus, nn_kind_elu;
extern const nn_kind_info nn_kind_standardize, nn_kind_layernorm;
extern const nn_kind_info nn_kind_batchnorm, nn_kind_dropout;
extern const nn_kind_info nn_kind_embedding, nn_kind_embedding_bag;
extern const nn_kind_info nn_kind_image_input, nn_kind_conv1d, nn_kind_conv2d, nn_kind_flatten;
extern const nn_kind_info nn_kind_maxpool1d, nn_kind_maxpool2d, nn_kind_avgpool2d,
                          nn_kind_global_avgpool;

/* The output length along one axis of a window of k values d apart,
** moved s at a time over n values padded by p at each end: 0 when the
** window is wider than the padded input (nn_kind_conv.c). */
size_t nn_window_out(size_t n, size_t k, size_t s, size_t p, size_t d);
/* The outputs o in [*lo, *hi) of such an axis whose input o s + off - p is
** one of the n (not padding). */
void nn_window_span(size_t *lo, size_t *hi, size_t n_out, size_t n, size_t s,
                    size_t off, size_t p);
/* NN_OK when in is of the rank a kind takes (2: channels x length, 3:
** channels x height x width); else the reason in why, which says to begin
** the net with nn.Input (nn_kind_conv.c). */
int nn_shape_takes(const nn_shape *in, size_t rank, char why[NN_ERRMAX]);
extern const nn_kind_info nn_kind_add, nn_kind_concat;
extern const nn_kind_info nn_kind_batchnorm2d;

#endif
