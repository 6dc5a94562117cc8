/*
** extra_kinds.h: two layer kinds that only the specs' own build of the
** module has (spec/kinds_spec.lua compiles it with
** -DNN_EXTRA_KINDS='"extra_kinds.h"'), to show that a kind is one
** descriptor and nothing else: Square, parameter-free, y = x * x; Scale, a
** hyper-parameter `factor` (default 2, 0.5 to 4), y = factor * x.
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
  "Square", 1, NULL, 0, {{0}}, square_forward, NULL, NULL
};

static void scale_forward(float *y, const float *x, const float *params,
                          const float *hyper, size_t n_in, size_t n_out) {
  size_t i;
  (void)params; (void)n_out;
  for (i = 0; i < n_in; i++) y[i] = hyper[0] * x[i];
}

static const nn_kind_info scale_kind = {
  "Scale", 1, NULL, 1, {{"factor", "factor", 2.0, 0.5, 4.0}},
  scale_forward, NULL, NULL
};

#define NN_EXTRA_KIND_LIST  &square_kind, &scale_kind,
