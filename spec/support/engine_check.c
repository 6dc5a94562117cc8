/*
** engine_check.c: the engine seen from C alone, for spec/engine_spec.lua.
** Each line it prints is "name value..." for the spec to compare with its
** own expectations; it holds no expected values itself.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_engine.h"
#include "engine/nn_fold.h"
#include "engine/nn_kernel.h"

static void try_new(const char *name, const nn_layer *arch, size_t n) {
  char err[NN_ERRMAX] = "";
  nn_net *net = nn_net_new(arch, n, err);
  printf("%s %s\n", name, net ? "ok" : err);
  nn_net_free(net);
}

int main(void) {
  nn_layer mismatch[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(4, 2) };
  nn_layer zero[] = { NN_DENSE(0, 3) };
  nn_layer huge[] = { NN_DENSE(1u << 20, 1u << 20) };
  nn_layer free_width[] = { NN_ACT(NN_SOFTMAX) };
  nn_layer two[] = { NN_DENSE(2, 2), NN_ACT(NN_IDENTITY), NN_DENSE(2, 1) };
  nn_layer wide[] = { NN_ACT(NN_TANH), NN_DENSE(1u << 20, 1), NN_DENSE(1, 1u << 20) };
  char err[NN_ERRMAX];
  nn_net *net;
  float x[2] = { 0.8f, 0.2f }, y[2], work[8], back[3];
  float fx[2] = { 0.5f, -1.5f }, fy[1], gy[1];
  unsigned char le[12];
  const float p[3] = { 1.0f, -2.5f, 0.1f };
  nn_layer folded[3];
  size_t map[4];
  size_t n, n_params;

  try_new("mismatch", mismatch, 3);
  try_new("zero", zero, 1);
  try_new("huge", huge, 1);

  net = nn_net_new(free_width, 1, err);
  nn_forward(net, y, x, 2, work);
  printf("softmax %.9g %.9g %zu %zu\n", y[0], y[1], net->n_inputs, net->n_params);
  nn_net_free(net);

  /* (x1, x2) -> [[1, 2], [3, 4]] + (0.5, -1) -> [[-1, 2]] + 0.25 */
  net = nn_net_new(two, 3, err);
  memcpy(net->params, (const float[]){ 1, 2, 3, 4, 0.5f, -1, -1, 2, 0.25f },
         9 * sizeof(float));
  nn_forward(net, fy, fx, 2, work);
  {
    size_t n_work;
    double *dwork;
    nn_fold_layout(net, folded, map, &n, &n_params, &n_work, err);
    char block[512];
    nn_net *f = nn_net_init(block, folded, n, n_params);
    if ((dwork = malloc(n_work * sizeof *dwork)) == NULL) return 1;
    nn_fold_params(net, f, dwork);
    free(dwork);
    nn_forward(f, gy, fx, 2, work);
    printf("fold %zu %zu %.9g %.9g %.9g %.9g %.9g\n", n, n_params,
           f->params[0], f->params[1], f->params[2], fy[0], gy[0]);
  }
  nn_net_free(net);

  /* fold refuses what it would make too large, before any work */
  net = nn_net_new(wide, 3, err);
  {
    size_t n_work;
    int status = nn_fold_layout(net, folded, map, &n, &n_params, &n_work, err);
    printf("foldhuge %d %s\n", status == NN_ESIZE, err);
  }
  nn_net_free(net);

  /* in place: one Linear reads x while it writes y, the same array */
  net = nn_net_new(two, 1, err);
  memcpy(net->params, (const float[]){ 1, 2, 3, 4, 0.5f, -1 }, 6 * sizeof(float));
  {
    float io[2] = { 0.5f, -1.5f };
    nn_forward(net, io, io, 2, work);
    printf("inplace %.9g %.9g\n", io[0], io[1]);
  }
  nn_net_free(net);

  nn_params_to_le(le, p, 3);
  nn_params_from_le(back, le, 3);
  printf("le %02x%02x%02x%02x %d\n", le[0], le[1], le[2], le[3],
         memcmp(p, back, sizeof p) == 0);
  printf("fnv %016llx %016llx\n", (unsigned long long)nn_fnv1a64("", 0),
         (unsigned long long)nn_fnv1a64("a", 1));
  printf("argmax %zu %zu\n", nn_argmax((const float[]){ 1, 3, 3 }, 3),
         nn_argmax(NULL, 0));
  {
    /* 1e-30 x 1e-10: a subnormal product, before, during and after the
    ** flush that training runs under */
    volatile float a = 1e-30f, b = 1e-10f;
    float before = a * b, during, after;
    unsigned long mode = nn_fp_flush();
    during = a * b;
    nn_fp_restore(mode);
    after = a * b;
    printf("flush %.9g %.9g %.9g\n", before, during, after);
  }
  return 0;
}
