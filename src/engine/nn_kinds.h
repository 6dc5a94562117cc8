/*
** nn_kinds.h: the descriptors of the built-in layer kinds, one file of
** src/engine/ per family (nn_kind_linear.c, nn_kind_act.c,
** nn_kind_smooth.c, nn_kind_norm.c, nn_kind_join.c), gathered into
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
extern const nn_kind_info nn_kind_add, nn_kind_concat;

#endif
