/*
** extra_kinds.h: two layer kinds that only the specs' own build of the
** module has (spec/kinds_spec.lua compiles it with
** -DNN_EXTRA_KINDS='"extra_kinds.h"'), to show that a kind is one
** descriptor and nothing else: Square, parameter-free, y = x * x; Scale, a
** hyper-parameter `factor` (default 2, 0.5 to 4), y = factor * x; PReLU(n),
** a parameterised kind (a trained slope per feature).
**
** Not part of the module that make builds or installs.
*/

static void square_forward(float *y, const float *x, const float *params,
                           const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)params; (void)hyper; (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = x[i] * x[i];
}

static const nn_kind_info square_kind = {
  "Square", "square", 1, 0, 0, NULL, 0, NULL, square_forward, NULL, NULL, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};

static void scale_forward(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)params; (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = hyper[0] * x[i];
}

static const nn_hyper scale_hyper[] = {
  { "factor", "factor", 2.0, 0.5, 4.0, 0, NULL, NULL }
};

static const nn_kind_info scale_kind = {
  "Scale", "scale", 1, 0, 1, scale_hyper, 0, NULL, scale_forward, NULL, NULL, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};

/* PReLU(n): y = x where x > 0, weight[i] * x where not, a slope per
** feature, trained; ONNX's PRelu, whose second input is that slope.  Its
** descriptor is all the module, the trainer, the store and the ONNX writer
** learn of it. */
static void prelu_forward(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)hyper; (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = x[i] > 0.0f ? x[i] : params[i] * x[i];
}

static void prelu_batch(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out,
                        const nn_panels *pn) {
  size_t p, i, c, nr = pn->nr;
  (void)hyper; (void)n_out;
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n_in; i++)
      for (c = 0; c < nr; c++) {
        size_t o = p * pn->stride * nr + i * nr + c;
        y[o] = x[o] > 0.0f ? x[o] : params[i] * x[o];
      }
}

/* dx = dy where x > 0, weight * dy where not; dweight += x * dy there. */
static void prelu_backward(float *dx, float *dparams, const float *dy,
                           const float *x, const float *y, const float *params,
                           const float *hyper, size_t n_in, size_t n_out,
                           const nn_panels *pn, float *work) {
  size_t p, i, c, nr = pn->nr;
  (void)y; (void)hyper; (void)n_out; (void)work;
  for (p = 0; p < pn->count; p++)
    for (i = 0; i < n_in; i++)
      for (c = 0; c < nr; c++) {
        size_t o = p * pn->stride * nr + i * nr + c;
        if (x[o] <= 0.0f) dparams[i] += x[o] * dy[o];
        if (dx) dx[o] = x[o] > 0.0f ? dy[o] : params[i] * dy[o];
      }
}

static const nn_tensor_info prelu_tensors[] = {
  { "weight", 1, { NN_DIM_IN, 0 }, NN_INIT_FAN_IN, 1 }
};

static const nn_kind_info prelu_kind = {
  "PReLU", "prelu", 0, 1, 0, NULL, 1, prelu_tensors,
  prelu_forward, prelu_batch, prelu_backward, NULL,
  { "PRelu", NULL, 0, 0, NULL }, NN_FANN_NONE, 0, NULL, NULL, NULL, NULL
};

#define NN_EXTRA_KIND_LIST  &square_kind, &scale_kind, &prelu_kind,
