/*
** nn_fold.c: fold, the merging of adjacent Linear layers (see nn_fold.h).
**
** Pure C99 like the rest of the engine: no Lua, no SQLite, no allocation.
** Not the forward pass: nothing here runs a sample through a network.
**
** A run of Linear layers x -> W_k (... (W_1 x + b_1) ...) + b_k is one
** affine map.  Its matrix is the product W_k ... W_1, taken left to right
** (M = W_i M, n_i x n_0 doubles between steps) or right to left
** (P = P W_i, n_k x n_(i-1) doubles between steps), whichever needs fewer
** multiplications; its bias is b_1 carried through the run.  Everything is
** summed in double and rounded to float once, at the end.
**
** Each product is blocked as a matrix product is (Goto's layout): blocks
** of FOLD_KC terms, of FOLD_MC rows of A and of FOLD_NC columns of B are
** packed as doubles, so that they stay in cache while the kernel set's
** tile_f64 (nn_kernel.h) works through them 4 rows by 8 columns at a
** time.  Each entry still gets its terms in the order of the inner index,
** a product and a sum at a time: the bits of the plain triple loop.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn_fold.h"
#include "engine/nn_kernel.h"

#define FOLD_KC  256            /* terms of each sum per block */
#define FOLD_MC  256            /* rows of A per block: a multiple of NN_F64_MR */
#define FOLD_NC  256            /* columns of B per block: a multiple of NN_F64_NR */
/* A's block, B's block and the block of C they add to */
#define FOLD_SCRATCH  (FOLD_MC * FOLD_KC + FOLD_KC * FOLD_NC + FOLD_MC * FOLD_NC)

/* A matrix read as floats (a layer's W, in the params) or as doubles (a
** product between two steps): exactly one pointer is set. */
typedef struct fold_mat {
  const float *f;
  const double *d;
} fold_mat;

/* Identity and any other kind that passes its input through unchanged
** (element-wise, no forward): fold drops them. */
static int passes_through(const nn_layer *l) {
  const nn_kind_info *k = nn_kind_info_of(l->kind);
  return k != NULL && k->elementwise && k->forward == NULL;
}

/* Whether layer i continues the stretch of layer i - 1: it reads that
** layer's output and nothing else, and no other layer reads that output
** (net->last, the plan of a graph: a value read by a join or by a later
** layer is a branch point, never folded across).  Every layer of a chain
** does. */
static int follows(const nn_net *net, size_t i) {
  const nn_layer *l = &net->layers[i];
  if (!net->n_slots) return 1;
  return nn_layer_input(l, i, 0) == i + 1 && l->from[1] == 0 && net->last[i] == i;
}

/* Whether fold drops layer s outside a run: a layer that passes through,
** but not the last of a graph, whose output is the network's. */
static int drops(const nn_net *net, size_t s) {
  return passes_through(&net->layers[s]) && (!net->n_slots || s + 1 < net->n_layers);
}

/* The first layer at or after i that does not pass through, or end. */
static size_t skip_identity(const nn_net *net, size_t i, size_t end) {
  while (i < end && passes_through(&net->layers[i])) i++;
  return i;
}

/* The run starting at the Linear layer s: Linear layers and layers that
** pass through, up to the next layer of another kind or the next that does
** not follow the one before it.  Its last Linear in
** *last.  fold knows the algebra of Linear only. */
static size_t run_end(const nn_net *net, size_t s, size_t *last) {
  size_t i;
  *last = s;
  for (i = s + 1; i < net->n_layers && follows(net, i); i++) {
    const nn_layer *l = &net->layers[i];
    if (l->kind == NN_LINEAR) *last = i;
    else if (!passes_through(l)) break;
  }
  return i;
}

/* One past the BatchNorm that layer end is (a run of Linear layers stops
** at it), or 0 when it is none: outside training a BatchNorm scales each
** feature and shifts it, y = (x - running_mean) / sqrt(running_var + eps)
** * weight + bias, so the run's folded Linear takes it in, each row of W
** and of b scaled, b shifted. */
static size_t batchnorm_at(const nn_net *net, size_t end) {
  return end < net->n_layers && net->layers[end].kind == NN_BATCHNORM &&
         follows(net, end) ? end + 1 : 0;
}

/* One past the BatchNorm2d right after the convolution at layer s, or 0
** when there is none: outside training it scales and shifts each of the
** convolution's output channels, so the convolution takes it in, the
** weights of each output channel scaled, its bias scaled and shifted. */
static size_t conv_batchnorm_at(const nn_net *net, size_t s) {
  nn_kind k = net->layers[s].kind;
  return (k == NN_CONV1D || k == NN_CONV2D) && s + 1 < net->n_layers &&
         net->layers[s + 1].kind == NN_BATCHNORM2D && follows(net, s + 1) ? s + 2 : 0;
}

/* The BatchNorm (or BatchNorm2d) at layer i into the layer just written,
** W [n][n_in] and b [n] after it (a Linear's, or a convolution's weight
** [c_out][c_in k] and bias): per row, in double, rounded to float again. */
static void take_batchnorm(const nn_net *src, size_t i, float *w, size_t n, size_t n_in) {
  const nn_layer *l = &src->layers[i];
  const float *p = src->params + l->w;
  double eps = l->kind == NN_BATCHNORM2D ? (double)l->hyper[1] : (double)l->hyper[0];
  size_t j, k;
  float *b = w + n * n_in;
  for (j = 0; j < n; j++) {
    double sc = (double)p[j] / sqrt((double)p[3 * n + j] + eps);
    for (k = 0; k < n_in; k++) w[j * n_in + k] = (float)((double)w[j * n_in + k] * sc);
    b[j] = (float)(((double)b[j] - p[2 * n + j]) * sc + p[n + j]);
  }
}

/* The Linear layer before layer i (there is one: s starts the run). */
static size_t previous_linear(const nn_net *net, size_t i) {
  do i--; while (net->layers[i].kind != NN_LINEAR);
  return i;
}

/* How to multiply the run [s, end) whose Linear layers are s .. last: from
** the output side or not, and the doubles each of the two intermediate
** products needs (0 when the run has at most two Linear layers).  Counted
** in double, so that no product of widths overflows.  Returns 0 when
** neither order keeps its intermediates within NN_MAX_PARAMS doubles. */
static int plan_run(const nn_net *net, size_t s, size_t end, size_t last,
                    int *from_output, size_t *inter, double *cost) {
  double n0 = (double)net->layers[s].n_in, nk = (double)net->layers[last].n_out;
  double left = 0, right = 0, left_inter = 0, right_inter = 0;
  size_t i;
  for (i = skip_identity(net, s + 1, end); i < end;
       i = skip_identity(net, i + 1, end)) {
    double ni = (double)net->layers[i].n_out, nh = (double)net->layers[i].n_in;
    left += ni * nh * n0;                       /* M = W_i M */
    if (i != last && ni * n0 > left_inter) left_inter = ni * n0;
  }
  for (i = s; i != last; i = skip_identity(net, i + 1, end)) {
    double ni = (double)net->layers[i].n_out, nh = (double)net->layers[i].n_in;
    right += nk * ni * nh;                      /* P = P W_i */
    if (i != s && nk * nh > right_inter) right_inter = nk * nh;
  }
  *from_output = right < left;
  *cost = *from_output ? right : left;          /* the cheaper, fitting or not */
  if (*from_output ? right_inter > (double)NN_MAX_PARAMS
                   : left_inter > (double)NN_MAX_PARAMS)
    *from_output = !*from_output;               /* the other order, if it fits */
  if (*from_output ? right_inter > (double)NN_MAX_PARAMS
                   : left_inter > (double)NN_MAX_PARAMS)
    return 0;
  *inter = (size_t)(*from_output ? right_inter : left_inter);
  *cost = *from_output ? right : left;
  return 1;
}

/* The multiply-adds of the bias of the run [s, end): b_1 through each
** Linear after s. */
static double bias_cost(const nn_net *net, size_t s, size_t end) {
  double c = 0;
  size_t i;
  for (i = skip_identity(net, s + 1, end); i < end; i = skip_identity(net, i + 1, end))
    c += (double)net->layers[i].n_out * (double)net->layers[i].n_in;
  return c;
}

double nn_fold_cost(const nn_net *net) {
  size_t s = 0, end, last, inter;
  double total = 0, c;
  int from_output;
  while (s < net->n_layers) {
    if (net->layers[s].kind != NN_LINEAR) { s++; continue; }
    end = run_end(net, s, &last);
    if (last != s) {
      /* a run that no order fits (nn_fold_layout refuses it) costs the
      ** cheaper order's */
      plan_run(net, s, end, last, &from_output, &inter, &c);
      total += c + bias_cost(net, s, end);
    }
    s = end;
  }
  return total;
}

/* The run of Linear layers that starts at layer s, laid out as one Linear
** in *o, its parameters at *total (advanced past them), its scratch in
** *work; one past its end (a BatchNorm after it included) in *end. */
static int layout_run(const nn_net *net, size_t s, nn_layer *o, size_t *total,
                      size_t *work, size_t *end, char err[NN_ERRMAX]) {
  size_t last, inter = 0;
  int from_output;
  double cost;
  *end = run_end(net, s, &last);
  o->n_out = net->layers[last].n_out;
  if ((double)o->n_out * ((double)o->n_in + 1) > (double)(NN_MAX_PARAMS - *total)) {
    snprintf(err, NN_ERRMAX, "fold: layers %zu to %zu merge into nn.Linear(%zu -> %zu): "
             "more than %zu parameters in all", s + 1, last + 1, o->n_in,
             o->n_out, NN_MAX_PARAMS);
    return NN_ESIZE;
  }
  if (last != s && !plan_run(net, s, *end, last, &from_output, &inter, &cost)) {
    snprintf(err, NN_ERRMAX, "fold: layers %zu to %zu: their product needs more "
             "than %zu numbers of scratch", s + 1, last + 1, NN_MAX_PARAMS);
    return NN_ESIZE;
  }
  if (last != s && 2 * inter + FOLD_SCRATCH + 2 * net->max_width > *work)
    *work = 2 * inter + FOLD_SCRATCH + 2 * net->max_width;
  o->w = *total;
  *total += o->n_out * (o->n_in + 1);
  if (batchnorm_at(net, *end)) *end = batchnorm_at(net, *end);
  return NN_OK;
}

/* What o, the folded layer d made from the layers from s on, reads: the
** values layer s reads, through map (a value of net to the folded net's);
** 0, the layer before, where that is what it reads. */
static void relink(const nn_net *net, size_t s, nn_layer *o, size_t d,
                   const size_t *map) {
  size_t v = map[nn_layer_input(&net->layers[s], s, 0) - 1];
  o->from[0] = v == d ? 0 : (uint32_t)(v + 1);
  if (o->from[1]) o->from[1] = (uint32_t)(map[o->from[1] - 1] + 1);
}

int nn_fold_layout(const nn_net *net, nn_layer *out, size_t *map, size_t *n_layers,
                   size_t *n_params, size_t *n_work, char err[NN_ERRMAX]) {
  size_t s = 0, n = 0, total = 0, work = 0;
  map[0] = 0;
  while (s < net->n_layers) {
    const nn_layer *l = &net->layers[s];
    size_t end = s + 1;
    if (drops(net, s)) {                    /* its value is what it reads */
      map[s + 1] = map[nn_layer_input(l, s, 0) - 1];
      s++;
      continue;
    }
    out[n] = *l;
    relink(net, s, &out[n], n, map);
    if (l->kind != NN_LINEAR) {             /* kept as it is, parameters too */
      size_t count = nn_layer_n_params(l);
      if ((double)count > (double)(NN_MAX_PARAMS - total)) {
        snprintf(err, NN_ERRMAX, "fold: layer %zu: more than %zu parameters in all",
                 s + 1, NN_MAX_PARAMS);
        return NN_ESIZE;
      }
      out[n].w = count ? total : 0;
      total += count;
      if (conv_batchnorm_at(net, s)) end = conv_batchnorm_at(net, s);
    } else {
      int status = layout_run(net, s, &out[n], &total, &work, &end, err);
      if (status != NN_OK) return status;
    }
    map[end] = ++n;             /* the values inside a run: read by no other */
    s = end;
  }
  if (n == 0 && net->n_layers > 0) out[n++] = net->layers[0];  /* all Identity */
  *n_layers = n;
  *n_params = total;
  *n_work = work;
  return NN_OK;
}

/* Element (i, j) of M as a double, 0 outside its rows x cols. */
static double at(fold_mat M, size_t cols, size_t i, size_t j) {
  return M.f != NULL ? (double)M.f[i * cols + j] : M.d[i * cols + j];
}

/* Rows [i0, i0 + mb) and terms [q0, q0 + kb) of A [.][p] into panels of
** NN_F64_MR rows, [kb][MR] each; rows past m are zeros. */
static void pack_a(double *ap, fold_mat A, size_t m, size_t p, size_t i0, size_t mb,
                   size_t q0, size_t kb) {
  size_t i, k, r;
  for (i = 0; i < mb; i += NN_F64_MR)
    for (k = 0; k < kb; k++)
      for (r = 0; r < NN_F64_MR; r++)
        *ap++ = i0 + i + r < m ? at(A, p, i0 + i + r, q0 + k) : 0.0;
}

/* Terms [q0, q0 + kb) and columns [c0, c0 + nb) of B [p][n] into panels of
** NN_F64_NR columns, [kb][NR] each; columns past n are zeros. */
static void pack_b(double *bp, fold_mat B, size_t n, size_t q0, size_t kb, size_t c0,
                   size_t nb) {
  size_t j, k, c;
  for (j = 0; j < nb; j += NN_F64_NR)
    for (k = 0; k < kb; k++)
      for (c = 0; c < NN_F64_NR; c++)
        *bp++ = c0 + j + c < n ? at(B, n, q0 + k, c0 + j + c) : 0.0;
}

/* C = A B for A [m][p] and B [p][n]; each entry a sum in double, in the
** order of p.  The result goes to C [m][n] doubles, or, when C is NULL, to
** Cf [m][n] floats.  scratch: FOLD_SCRATCH doubles. */
static void product(double *C, float *Cf, fold_mat A, fold_mat B,
                    size_t m, size_t p, size_t n, double *scratch) {
  const nn_kernel *k = nn_kernel_in_use;
  double *ap = scratch, *bp = ap + FOLD_MC * FOLD_KC, *cb = bp + FOLD_KC * FOLD_NC;
  size_t i0, c0, q0, i, j, mb, nb, kb;
  for (i0 = 0; i0 < m; i0 += FOLD_MC)
    for (c0 = 0; c0 < n; c0 += FOLD_NC) {
      mb = m - i0 < FOLD_MC ? m - i0 : FOLD_MC;
      nb = n - c0 < FOLD_NC ? n - c0 : FOLD_NC;
      memset(cb, 0, sizeof(double) * FOLD_MC * FOLD_NC);
      for (q0 = 0; q0 < p; q0 += FOLD_KC) {
        kb = p - q0 < FOLD_KC ? p - q0 : FOLD_KC;
        pack_a(ap, A, m, p, i0, mb, q0, kb);
        pack_b(bp, B, n, q0, kb, c0, nb);
        for (j = 0; j < nb; j += NN_F64_NR)
          for (i = 0; i < mb; i += NN_F64_MR)
            k->tile_f64(cb + i * FOLD_NC + j, FOLD_NC, ap + i * kb, bp + j * kb, kb);
      }
      for (i = 0; i < mb; i++)
        for (j = 0; j < nb; j++) {
          if (C != NULL) C[(i0 + i) * n + c0 + j] = cb[i * FOLD_NC + j];
          else Cf[(i0 + i) * n + c0 + j] = (float)cb[i * FOLD_NC + j];
        }
    }
}

static fold_mat weights(const nn_net *net, size_t i) {
  fold_mat m;
  m.f = net->params + net->layers[i].w;
  m.d = NULL;
  return m;
}

static fold_mat doubles(const double *d) {
  fold_mat m;
  m.f = NULL;
  m.d = d;
  return m;
}

/* The folded W [n_k][n_0] of the run s .. last into dw: the intermediate
** products alternate between two buffers of inter doubles. */
static void run_matrix(const nn_net *src, size_t s, size_t end, size_t last,
                       float *dw, double *work) {
  size_t inter, i, n0 = src->layers[s].n_in, nk = src->layers[last].n_out;
  double *buf[2], *row, cost;
  int from_output, turn = 0;
  fold_mat prev;
  plan_run(src, s, end, last, &from_output, &inter, &cost);   /* fits: see layout */
  buf[0] = work;
  buf[1] = work + inter;
  row = work + 2 * inter;     /* the product's scratch */
  if (!from_output) {
    prev = weights(src, s);                       /* M = W_1, [n_1][n_0] */
    for (i = skip_identity(src, s + 1, end); i < end;
         i = skip_identity(src, i + 1, end)) {
      const nn_layer *l = &src->layers[i];
      double *to = i == last ? NULL : buf[turn];
      product(to, dw, weights(src, i), prev, l->n_out, l->n_in, n0, row);
      prev = doubles(buf[turn]);
      turn = !turn;
    }
  } else {
    prev = weights(src, last);                    /* P = W_k, [n_k][n_(k-1)] */
    for (i = previous_linear(src, last); ; i = previous_linear(src, i)) {
      const nn_layer *l = &src->layers[i];
      double *to = i == s ? NULL : buf[turn];
      product(to, dw, prev, weights(src, i), nk, l->n_out, l->n_in, row);
      if (i == s) break;
      prev = doubles(buf[turn]);
      turn = !turn;
    }
  }
}

/* The folded b [n_k] of the run: b_1 through the rest of it, in double. */
static void run_bias(const nn_net *src, size_t s, size_t end, float *db,
                     double *v /* [max_width] */, double *spare /* [max_width] */) {
  const nn_layer *l = &src->layers[s];
  const float *b = src->params + l->w + l->n_out * l->n_in;
  size_t i, j, k, n = l->n_out;
  for (j = 0; j < n; j++) v[j] = b[j];
  for (i = skip_identity(src, s + 1, end); i < end;
       i = skip_identity(src, i + 1, end)) {
    const float *w = src->params + src->layers[i].w;
    l = &src->layers[i];
    b = w + l->n_out * l->n_in;
    for (j = 0; j < l->n_out; j++) {
      double acc = 0.0;
      for (k = 0; k < l->n_in; k++) acc += (double)w[j * l->n_in + k] * v[k];
      spare[j] = acc + b[j];
    }
    memcpy(v, spare, l->n_out * sizeof(double));
    n = l->n_out;
  }
  for (j = 0; j < n; j++) db[j] = (float)v[j];
}

void nn_fold_params(const nn_net *src, nn_net *dst, double *work) {
  size_t s = 0, d = 0;
  while (s < src->n_layers) {
    const nn_layer *l = &src->layers[s];
    size_t end, last;
    float *dw;
    if (drops(src, s)) { s++; continue; }
    if (l->kind != NN_LINEAR) {                   /* kept as it is */
      size_t count = nn_layer_n_params(l), bn = conv_batchnorm_at(src, s);
      if (count) memcpy(dst->params + dst->layers[d].w, src->params + l->w,
                        count * sizeof(float));
      if (bn) {                                   /* a convolution's BatchNorm2d */
        size_t c_out = (size_t)l->hyper[0];
        take_batchnorm(src, s + 1, dst->params + dst->layers[d].w, c_out,
                       (count - c_out) / c_out);
      }
      s = bn ? bn : s + 1;
      d++;
      continue;
    }
    end = run_end(src, s, &last);
    dw = dst->params + dst->layers[d].w;
    if (last == s) {                              /* nothing to merge: a copy */
      memcpy(dw, src->params + l->w, l->n_out * (l->n_in + 1) * sizeof(float));
    } else {
      size_t inter;
      int from_output;
      double *tail, cost;
      plan_run(src, s, end, last, &from_output, &inter, &cost);
      tail = work + 2 * inter + FOLD_SCRATCH;
      run_matrix(src, s, end, last, dw, work);
      run_bias(src, s, end, dw + dst->layers[d].n_out * dst->layers[d].n_in,
               tail, tail + src->max_width);
    }
    if (batchnorm_at(src, end)) {
      take_batchnorm(src, end, dw, dst->layers[d].n_out, dst->layers[d].n_in);
      end = batchnorm_at(src, end);
    }
    d++;
    s = end;
  }
}
