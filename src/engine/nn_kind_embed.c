/*
** nn_kind_embed.c: the kinds whose input is ids, each a row of a table of
** n_ids embeddings of dim numbers ("weight" [n_ids][dim], initialised
** normal(0, 1) as PyTorch's): Embedding(n_ids, dim [, {ids = k}]), k ids a
** row, its output the k embeddings side by side (k * dim, PyTorch's
** Embedding followed by Flatten); EmbeddingBag(n_ids, dim [, {ids = k,
** mode = "mean" | "sum"}]), up to k ids a row, -1 in the places not used,
** its output the mean (or sum) of the embeddings of the ids present, zeros
** for a row of none.  Each kind whole: its shape rule, the check of its
** input, forward for a sample and for the panels of a batch, backward on a
** chunk's panels, its descriptor (the table of kinds in nn_engine.c points
** here).
**
** An id is a float holding a whole number, exact below 2^24.  The passes
** read ids the check let through (nn_check_input, before any pass that
** takes input), and, so that a float that is no id can never index out of
** the table, each pass still skips one (as padding).  Both kinds are a
** network's first layer (NN_KIND_FIRST): no gradient flows to ids.
**
** Pure C99, no allocation.  Embedding copies numbers, so a batch gives the
** bits of one sample; a bag sums its embeddings in the order of its ids, in
** float, then divides by their count once, in a batch as in one sample.
** The backward pass adds dy (a bag: dy / count) to the rows of the ids, in
** the order of the samples of the chunk and of their ids: the same bits
** for any number of threads, as the trainer sums chunks in order.
*/
#include <stdio.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_kinds.h"

/* hyper: n_ids, dim, ids (k), and a bag's mode (0 mean, 1 sum). */
#define N_IDS(h)  ((size_t)(h)[0])
#define DIM(h)    ((size_t)(h)[1])
#define IDS(h)    ((size_t)(h)[2])

/* v as an id below n_ids, or -1 when it is none (padding, or a value the
** check refuses). */
static long id_of(float v, size_t n_ids) {
  if (!(v >= 0.0f && v < (float)n_ids) || v != (float)(long)v) return -1;
  return (long)v;
}

static size_t check_ids(const float *x, size_t n, const float *hyper, int pad,
                        char what[64]) {
  size_t i;
  for (i = 0; i < n; i++)
    if (id_of(x[i], N_IDS(hyper)) < 0 && !(pad && x[i] == -1.0f)) break;
  if (i < n)
    snprintf(what, 64, "an id (a whole number in 0..%zu%s)", N_IDS(hyper) - 1,
             pad ? ", or -1" : "");
  return i;
}


/* --- Embedding --------------------------------------------------------- */

static void embedding_shape(const float *hyper, size_t *n_in, size_t *n_out) {
  *n_in = IDS(hyper);
  *n_out = IDS(hyper) * DIM(hyper);
}

static size_t embedding_check(const float *x, size_t n, const float *hyper,
                              char what[64]) {
  return check_ids(x, n, hyper, 0, what);
}

/* Row id of the table into y, s floats apart; zeros for no id. */
static void put_row(float *y, size_t s, const float *w, long id, size_t dim) {
  size_t t;
  for (t = 0; t < dim; t++) y[t * s] = id < 0 ? 0.0f : w[(size_t)id * dim + t];
}

static void embedding_forward(float *y, const float *x, const float *params,
                              const float *hyper, size_t n_in, size_t n_out) {
  size_t j, dim = DIM(hyper);
  (void)n_out;
  for (j = 0; j < n_in; j++)
    put_row(y + j * dim, 1, params, id_of(x[j], N_IDS(hyper)), dim);
}

static void embedding_batch(float *y, const float *x, const float *params,
                            const float *hyper, size_t n_in, size_t n_out,
                            const nn_panels *pn) {
  size_t p, j, c, nr = pn->nr, dim = DIM(hyper);
  (void)n_out;
  for (p = 0; p < pn->count; p++) {
    const float *xp = x + p * pn->stride * nr;
    float *yp = y + p * pn->stride * nr;
    for (j = 0; j < n_in; j++)
      for (c = 0; c < nr; c++)
        put_row(yp + j * dim * nr + c, nr, params, id_of(xp[j * nr + c], N_IDS(hyper)),
                dim);
  }
}

/* dweight[id] += dy of the embedding of id; the ids get no gradient (dx,
** when asked for, is zeros). */
static void embedding_backward(float *dx, float *dparams, const float *dy,
                               const float *x, const float *y, const float *params,
                               const float *hyper, size_t n_in, size_t n_out,
                               const nn_panels *pn, float *work) {
  size_t p, j, c, t, nr = pn->nr, dim = DIM(hyper);
  (void)y; (void)params; (void)n_out; (void)work;
  for (p = 0; p < pn->count; p++) {
    size_t o = p * pn->stride * nr;
    for (c = 0; c < nr; c++)
      for (j = 0; j < n_in; j++) {
        long id = id_of(x[o + j * nr + c], N_IDS(hyper));
        if (id < 0) continue;
        for (t = 0; t < dim; t++)
          dparams[(size_t)id * dim + t] += dy[o + (j * dim + t) * nr + c];
      }
    if (dx) memset(dx + o, 0, n_in * nr * sizeof(float));
  }
}


/* --- EmbeddingBag ------------------------------------------------------ */

static void bag_shape(const float *hyper, size_t *n_in, size_t *n_out) {
  *n_in = IDS(hyper);
  *n_out = DIM(hyper);
}

static size_t bag_check(const float *x, size_t n, const float *hyper, char what[64]) {
  return check_ids(x, n, hyper, 1, what);
}

/* sum += v, one number at a time: a sample's bag (a batch's runs on the
** kernel set's add, whose element-wise sums round alike). */
static void add_floats(float *sum, const float *v, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) sum[i] += v[i];
}

/* One bag: its n ids s floats apart, its output s floats apart.  Sums in
** the order of the ids, then one division by their count (mean).  The sums
** run BAG_BLOCK numbers of the embedding at a time in a contiguous block
** (add: the table's rows added whole), which then goes to the output's
** places, nr floats apart in a batch. */
#define BAG_BLOCK 64

static void bag_one(float *y, const float *x, size_t s, const float *w,
                    const float *hyper, size_t n, nn_add_fn *add) {
  size_t j, t, b, count = 0, dim = DIM(hyper);
  float acc[BAG_BLOCK];
  for (j = 0; j < n; j++) count += id_of(x[j * s], N_IDS(hyper)) >= 0;
  for (b = 0; b < dim; b += BAG_BLOCK) {
    size_t m = dim - b < BAG_BLOCK ? dim - b : BAG_BLOCK;
    for (t = 0; t < m; t++) acc[t] = 0.0f;
    for (j = 0; j < n; j++) {
      long id = id_of(x[j * s], N_IDS(hyper));
      if (id >= 0) add(acc, w + (size_t)id * dim + b, m);
    }
    if (hyper[3] == 0.0f && count > 1)
      for (t = 0; t < m; t++) acc[t] /= (float)count;
    for (t = 0; t < m; t++) y[(b + t) * s] = acc[t];
  }
}

static void bag_forward(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out) {
  (void)n_out;
  bag_one(y, x, 1, params, hyper, n_in, add_floats);
}

static void bag_batch(float *y, const float *x, const float *params,
                      const float *hyper, size_t n_in, size_t n_out,
                      const nn_panels *pn) {
  size_t p, c, nr = pn->nr;
  (void)n_out;
  for (p = 0; p < pn->count; p++)
    for (c = 0; c < nr; c++) {
      size_t o = p * pn->stride * nr + c;
      bag_one(y + o, x + o, nr, params, hyper, n_in, pn->kernel->add);
    }
}

/* One bag's gradient: dweight[id] += dy / count (mean) or dy (sum) for
** each id present. */
static void bag_back_one(float *dparams, const float *dy, const float *x, size_t s,
                         const float *hyper, size_t n) {
  size_t j, t, count = 0, dim = DIM(hyper);
  int mean;
  for (j = 0; j < n; j++) count += id_of(x[j * s], N_IDS(hyper)) >= 0;
  mean = hyper[3] == 0.0f && count > 1;
  for (j = 0; j < n; j++) {
    long id = id_of(x[j * s], N_IDS(hyper));
    if (id < 0) continue;
    for (t = 0; t < dim; t++)
      dparams[(size_t)id * dim + t] += mean ? dy[t * s] / (float)count : dy[t * s];
  }
}

static void bag_backward(float *dx, float *dparams, const float *dy,
                         const float *x, const float *y, const float *params,
                         const float *hyper, size_t n_in, size_t n_out,
                         const nn_panels *pn, float *work) {
  size_t p, c, nr = pn->nr;
  (void)y; (void)params; (void)n_out; (void)work;
  for (p = 0; p < pn->count; p++) {
    size_t o = p * pn->stride * nr;
    for (c = 0; c < nr; c++) bag_back_one(dparams, dy + o + c, x + o + c, nr, hyper, n_in);
    if (dx) memset(dx + o, 0, n_in * nr * sizeof(float));
  }
}


/* --- the descriptors ------------------------------------------------------- */

/* ONNX: Embedding is Gather (axis 0) of its table by the ids, then the
** Flatten PyTorch writes for nn.Flatten (nn_onnx_write.c, nn_onnx_read.c).
** EmbeddingBag has no operator: the writer and the reader know its form of
** plain operators (Greater, Where, Gather, Cast, Unsqueeze, Mul, ReduceSum;
** for the mean ReduceSum, Max, Div) by hand, and the reader PyTorch 1.13's
** too, a Loop over the bags (nn_onnx_read.c). */
#define BIG  16777216.0   /* 2^24: ids and widths exact in a float */

static const nn_hyper embedding_hyper[] = {
  { "n_ids", "number of ids", 0, 1, BIG, 1, NULL, NULL },
  { "dim", "embedding size", 0, 1, BIG, 1, NULL, NULL },
  { "ids", "number of ids a row", 1, 1, BIG, 1, NULL, NULL }
};

static const char *const bag_modes[] = { "mean", "sum", NULL };

static const nn_hyper bag_hyper[] = {
  { "n_ids", "number of ids", 0, 1, BIG, 1, NULL, NULL },
  { "dim", "embedding size", 0, 1, BIG, 1, NULL, NULL },
  { "ids", "number of ids a row", 1, 1, BIG, 1, NULL, NULL },
  { "mode", "mode", 0, 0, 1, 1, NULL, bag_modes }
};

static const nn_tensor_info embed_tensors[] = {
  { "weight", 2, { NN_DIM_HYPER(0), NN_DIM_HYPER(1) }, NN_INIT_NORMAL, 1 }
};

static const nn_kind_input embedding_input = { embedding_shape, embedding_check };
static const nn_kind_input bag_input = { bag_shape, bag_check };

const nn_kind_info nn_kind_embedding = {
  "Embedding", "embedding", 0, 0, 3, embedding_hyper, 1, embed_tensors,
  embedding_forward, embedding_batch, embedding_backward, NULL,
  { "Gather", "axis", 0, 0, NULL }, NN_FANN_NONE, NN_KIND_FIRST, NULL, NULL,
  &embedding_input, NULL
};

const nn_kind_info nn_kind_embedding_bag = {
  "EmbeddingBag", "embedding_bag", 0, 0, 4, bag_hyper, 1, embed_tensors,
  bag_forward, bag_batch, bag_backward, NULL,
  { NULL, NULL, 0, 0, NULL }, NN_FANN_NONE, NN_KIND_FIRST, NULL, NULL, &bag_input, NULL
};
