/*
** nn_backward.h: the backward pass of every built-in layer kind, the
** `backward` slots of the kind table (nn_backward.c holds them; the table in
** nn_engine.c points there).  Engine code, so that the table needs nothing
** above it: the trainer (src/train/) reaches them through the table.
**
** Each runs on a chunk of panels (nn_engine.h says what each argument is):
** dx may be dy for element-wise kinds, and the parameters' gradient is
** ADDED to dparams.  Element-wise kinds use only the stored input or
** output: no transcendental function is evaluated again.
*/
#ifndef NN_BACKWARD_H
#define NN_BACKWARD_H

#include <stddef.h>

#include "engine/nn_engine.h"

/* Floats of scratch a backward pass needs for a layer of these sizes on a
** chunk of at most rows samples, with any kernel set. */
size_t nn_backward_work_size(size_t n_in, size_t n_out, size_t rows);

#define NN_BACKWARD_ARGS  float *dx, float *dparams, const float *dy,           \
                          const float *x, const float *y, const float *params,  \
                          const float *hyper, size_t n_in, size_t n_out,        \
                          const nn_panels *panels, float *work
void nn_linear_backward(NN_BACKWARD_ARGS);
void nn_relu_backward(NN_BACKWARD_ARGS);
void nn_leaky_relu_backward(NN_BACKWARD_ARGS);
void nn_sigmoid_backward(NN_BACKWARD_ARGS);
void nn_tanh_backward(NN_BACKWARD_ARGS);
void nn_softmax_backward(NN_BACKWARD_ARGS);
void nn_identity_backward(NN_BACKWARD_ARGS);

#endif
