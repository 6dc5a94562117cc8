/*
** nn_train.c: the trainer: chunks of rows forward and backward through a
** network, losses, and the optimizers SGD, Adam (AdamW) and iRPROP-.
**
** Pure C99: no Lua, no SQLite, no allocation (the trainer's block comes from
** the caller, see nn_train.h).  Rows go through the net a chunk at a time in
** the panel layout of nn_engine.c (nn_panels), every layer through its
** kind's descriptor: forward_batch on the way in, keeping each layer's
** output, then backward (each kind's slot in the kind table)
** from the loss's gradient.
** Samples past the chunk's last row are zeros on the way in and get a zero
** gradient, so they add nothing.  Every sum is taken in one fixed order:
** the same kernel set gives the same bits.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "engine/nn_kernel.h"
#include "engine/nn_pool.h"
#include "train/nn_train.h"

#define ROUND_UP(x, m)  (((x) + (m) - 1) / (m) * (m))
#define ALIGN_FLOATS    16          /* 64 bytes: buffers start on cache lines */

/* What one worker needs to take a chunk forward and back: lane 0 is in the
** trainer's block, the others in the block nn_trainer_use_pool is given. */
typedef struct lane {
  float *acts;               /* [n_layers + 1] buffers: the input, then each layer's output */
  float *d0, *d1;            /* gradients, in panels */
  float *part, *work;        /* the tile's scratch; the backward passes' */
  float *rm_y, *rm_d, *rm_t; /* row-major [cap][n_out]: outputs, their gradient, targets */
  uint32_t *rm_c;            /* [cap] classes of the chunk */
  float *gscr;               /* [n_params]: a chunk's gradient before it is added
                                (written whole by the chunk, never zeroed) */
  /* a graph's only (NULL for a chain): the gradient of each value
  ** ([n_layers + 1] buffers), a join's inputs gathered, a layer's dx */
  float *dacts, *gx, *dx;
} lane;

struct nn_trainer {
  nn_train_opts o;
  size_t n_layers, n_params, n_x, n_out;
  size_t cap;                /* rows per chunk: at most NN_TRAIN_CHUNK */
  size_t stride;             /* floats a feature takes in a panel, rounded for every set */
  size_t act_floats;         /* floats of one buffer of panels */
  size_t lane_floats;        /* floats of one lane, lane 0 included */
  uint64_t steps;
  double mom_bound;          /* every |m| (sgd's buffer, adam's m) is below it */
  nn_layer *layers;          /* [n_layers]: what nn_trainer_fits compares */
  float *grad, *m, *v;       /* [n_params] each */
  float *shared;             /* what the kinds' prepare make, once a call */
  size_t *shared_at;         /* [n_layers]: layer i's at shared + shared_at[i] */
  float *keep;               /* [n_params]: running statistics a step's
                                NN_KIND_BATCH layers wrote, kept if it succeeds */
  int whole;                 /* the net has an NN_KIND_BATCH layer: a step is
                                one chunk of 2 .. cap rows */
  nn_pool *pool;             /* NULL: every chunk on the caller's thread */
  size_t n_lanes;            /* workers: 1 + the lanes of nn_trainer_use_pool */
  int graph;                 /* the net is a graph: the lanes have dacts */
  lane lanes[NN_POOL_MAX];
};

void nn_train_defaults(nn_train_opts *o, nn_optim optimizer) {
  memset(o, 0, sizeof *o);
  o->loss = NN_LOSS_MSE;
  o->optimizer = optimizer;
  o->lr = optimizer == NN_OPT_ADAM ? 1e-3f : 0.01f;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->batch = 32;
  o->rprop_increase = 1.2f;
  o->rprop_decrease = 0.5f;
  o->rprop_delta_min = 0.0f;
  o->rprop_delta_max = 50.0f;
  o->rprop_delta_zero = 0.1f;
}


/* --- layout of the block ------------------------------------------------ */

static size_t gcd(size_t a, size_t b) {
  while (b) { size_t t = a % b; a = b; b = t; }
  return a;
}

/* mr_all and nr_all are multiples of every kernel set's mr and nr, so that
** nn_kernel_select between steps is safe; part fits any set's tile scratch. */
static void kernel_bounds(size_t *mr_all, size_t *nr_all, size_t *part) {
  size_t i;
  *mr_all = *nr_all = *part = 1;
  for (i = 0; nn_kernels[i] != NULL; i++) {
    const nn_kernel *k = nn_kernels[i];
    *mr_all = *mr_all / gcd(*mr_all, k->mr) * k->mr;
    *nr_all = *nr_all / gcd(*nr_all, k->nr) * k->nr;
    if (NN_PART_FLOATS(k) > *part) *part = NN_PART_FLOATS(k);
  }
}

/* The parts of the block in floats, each a whole number of cache lines;
** lane: the floats of one lane (act, d, part, work, rm, rm_c and params). */
typedef struct plan_t {
  size_t head, layers, params, shared, act, part, work, rm, rm_c, stride, lane, total;
  size_t graph_bufs;         /* a graph's extra buffers a lane: n_layers + 3; 0 */
} plan_t;

static size_t floats_of(size_t bytes) {
  return ROUND_UP((bytes + sizeof(float) - 1) / sizeof(float), ALIGN_FLOATS);
}

/* Widths are below 2^24, cap below 2^20 and layers below 2^16: no product
** here overflows 64 bits. */
static size_t plan(plan_t *p, const nn_net *net, size_t cap) {
  size_t mr_all, nr_all, part, i, width = net->n_inputs, work = 1, shared = 0;
  kernel_bounds(&mr_all, &nr_all, &part);
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    size_t need = d->work_size ? d->work_size(l->hyper, l->n_in, l->n_out, cap) : 0;
    if (d->prepare) shared += ROUND_UP(d->shared_size(l->n_in, l->n_out), ALIGN_FLOATS);
    if (l->n_out > width) width = l->n_out;
    if (l->n_in > width) width = l->n_in;
    if (need > work) work = need;
  }
  p->stride = ROUND_UP(width, mr_all);
  p->head = floats_of(sizeof(nn_trainer)) + ALIGN_FLOATS;   /* slack to align */
  /* the layers, each one's hyper-parameters after them, then shared_at */
  p->layers = floats_of(net->n_layers * sizeof(nn_layer) + 1) +
              ROUND_UP(net->n_layers * nn_hyper_most(), ALIGN_FLOATS) +
              floats_of(net->n_layers * sizeof(size_t) + 1);
  p->params = floats_of(net->n_params * sizeof(float));
  p->shared = shared;
  p->act = ROUND_UP(ROUND_UP(cap, nr_all) * p->stride, ALIGN_FLOATS);
  p->part = ROUND_UP(part, ALIGN_FLOATS);
  p->work = ROUND_UP(work, ALIGN_FLOATS);
  p->rm = ROUND_UP(cap * (net->n_outputs ? net->n_outputs : 1), ALIGN_FLOATS);
  p->rm_c = floats_of(cap * sizeof(uint32_t));
  p->graph_bufs = net->n_slots ? net->n_layers + 3 : 0;
  p->lane = (net->n_layers + 3 + p->graph_bufs) * p->act + p->part + p->work +
            3 * p->rm + p->rm_c + p->params;
  p->total = p->head + p->layers + 4 * p->params + p->shared + p->lane;
  return p->total;
}

/* Whether a layer of the net takes its batch's statistics (BatchNorm). */
static int has_batch_kind(const nn_net *net) {
  size_t i;
  for (i = 0; i < net->n_layers; i++)
    if (nn_kind_info_of(net->layers[i].kind)->flags & NN_KIND_BATCH) return 1;
  return 0;
}

/* Rows per chunk: the batch, at most NN_TRAIN_CHUNK, so that a batch of
** more rows is split into chunks the pool's workers take in parallel; the
** whole batch for a net with BatchNorm, whose statistics are the batch's:
** one chunk gives the same bits on any number of threads, with no pass
** that waits for every chunk at every such layer. */
static size_t chunk_rows(const nn_train_opts *o, const nn_net *net) {
  size_t cap = o->batch ? o->batch : 32;
  return cap < NN_TRAIN_CHUNK || has_batch_kind(net) ? cap : NN_TRAIN_CHUNK;
}

size_t nn_trainer_size(const nn_net *net, const nn_train_opts *o) {
  plan_t p;
  size_t total, i;
  if (net->n_outputs == 0) return 0;     /* nothing to train */
  for (i = 0; i < net->n_layers; i++)
    if (nn_kind_info_of(net->layers[i].kind)->backward == NULL) return 0;
  total = plan(&p, net, chunk_rows(o, net));
  if (total > ((size_t)-1) / sizeof(float) / 2) return 0;
  return total * sizeof(float);
}

/* The trainer's own copy of its layers' hyper-parameters, after its layers:
** the net's block, where theirs are, may be replaced (net:add) while the
** trainer lives, and nn_trainer_fits compares the values. */
static void keep_hypers(nn_trainer *tr, float *h) {
  size_t i, most = nn_hyper_most();
  for (i = 0; i < tr->n_layers; i++, h += most) {
    nn_layer *l = &tr->layers[i];
    size_t n = nn_kind_info_of(l->kind)->n_hyper;
    if (n) memcpy(h, l->hyper, n * sizeof(float));
    l->hyper = n ? h : NULL;
  }
}

static float *align_floats(void *block) {
  float *base = (float *)block;
  return base + (ALIGN_FLOATS - ((uintptr_t)base / sizeof(float)) % ALIGN_FLOATS) %
                ALIGN_FLOATS;
}

/* Lane ln's buffers from at, laid out by p. */
static void lay_lane(lane *ln, float *at, const plan_t *p, size_t n_layers) {
  ln->acts = at;                at += (n_layers + 1) * p->act;
  ln->d0 = at;                  at += p->act;
  ln->d1 = at;                  at += p->act;
  ln->part = at;                at += p->part;
  ln->work = at;                at += p->work;
  ln->rm_y = at;                at += p->rm;
  ln->rm_d = at;                at += p->rm;
  ln->rm_t = at;                at += p->rm;
  ln->rm_c = (uint32_t *)at;    at += p->rm_c;
  ln->gscr = at;                at += p->params;
  ln->dacts = ln->gx = ln->dx = NULL;
  if (p->graph_bufs) {
    ln->dacts = at;             at += (n_layers + 1) * p->act;
    ln->gx = at;                at += p->act;
    ln->dx = at;
  }
}

/* Where each layer's shared part lies in tr->shared (0 for a kind
** without), one after another, each on a cache line. */
static void place_shared(nn_trainer *tr) {
  size_t i, at = 0;
  for (i = 0; i < tr->n_layers; i++) {
    const nn_layer *l = &tr->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    tr->shared_at[i] = at;
    if (d->prepare) at += ROUND_UP(d->shared_size(l->n_in, l->n_out), ALIGN_FLOATS);
  }
}

nn_trainer *nn_trainer_init(void *block, const nn_net *net, const nn_train_opts *o) {
  plan_t p;
  float *at;
  nn_trainer *tr;
  size_t total = plan(&p, net, chunk_rows(o, net));
  memset(block, 0, total * sizeof(float));
  tr = (nn_trainer *)align_floats(block);
  at = (float *)tr + floats_of(sizeof(nn_trainer));
  tr->o = *o;
  tr->cap = chunk_rows(o, net);
  tr->n_layers = net->n_layers;
  tr->n_params = net->n_params;
  tr->n_x = net->n_inputs;
  tr->n_out = net->n_outputs;
  tr->stride = p.stride;
  tr->act_floats = p.act;
  tr->lane_floats = p.lane;
  tr->layers = (nn_layer *)at;  at += p.layers;
  tr->grad = at;                at += p.params;
  tr->m = at;                   at += p.params;
  tr->v = at;                   at += p.params;
  tr->shared = at;              at += p.shared;
  tr->keep = at;                at += p.params;
  tr->whole = has_batch_kind(net);
  lay_lane(&tr->lanes[0], at, &p, net->n_layers);
  tr->n_lanes = 1;
  tr->graph = net->n_slots != 0;
  if (net->n_layers) memcpy(tr->layers, net->layers, net->n_layers * sizeof(nn_layer));
  keep_hypers(tr, (float *)tr->layers + floats_of(net->n_layers * sizeof(nn_layer) + 1));
  tr->shared_at = (size_t *)((float *)tr->layers + p.layers -
                             floats_of(net->n_layers * sizeof(size_t) + 1));
  place_shared(tr);
  nn_trainer_reset(tr);
  return tr;
}

static int same_hypers(const nn_layer *a, const nn_layer *b) {
  size_t n = nn_kind_info_of(a->kind)->n_hyper;
  return n == 0 || memcmp(a->hyper, b->hyper, n * sizeof(float)) == 0;
}

size_t nn_trainer_lanes_size(const nn_trainer *tr, size_t lanes) {
  if (lanes > NN_POOL_MAX - 1) lanes = NN_POOL_MAX - 1;
  if (lanes > 0 && tr->lane_floats > ((size_t)-1) / sizeof(float) / 2 / lanes) return 0;
  return (lanes * tr->lane_floats + ALIGN_FLOATS) * sizeof(float);
}

/* Lane `to` at `at`, laid out as lane 0 is (every buffer at the same
** distance from acts). */
static void copy_layout(lane *to, const lane *l0, float *at) {
#define AT(f)  (at + ((const float *)l0->f - l0->acts))
  to->acts = at;
  to->d0 = AT(d0); to->d1 = AT(d1); to->part = AT(part); to->work = AT(work);
  to->rm_y = AT(rm_y); to->rm_d = AT(rm_d); to->rm_t = AT(rm_t);
  to->rm_c = (uint32_t *)AT(rm_c); to->gscr = AT(gscr);
  to->dacts = to->gx = to->dx = NULL;
  if (l0->dacts) { to->dacts = AT(dacts); to->gx = AT(gx); to->dx = AT(dx); }
#undef AT
}

void nn_trainer_use_pool(nn_trainer *tr, nn_pool *pool, void *block, size_t lanes) {
  size_t i;
  float *at;
  if (lanes > NN_POOL_MAX - 1) lanes = NN_POOL_MAX - 1;
  if (pool == NULL || block == NULL) lanes = 0;
  tr->pool = lanes > 0 ? pool : NULL;
  tr->n_lanes = 1 + lanes;
  at = lanes > 0 ? align_floats(block) : NULL;
  for (i = 1; i <= lanes; i++, at += tr->lane_floats)
    copy_layout(&tr->lanes[i], &tr->lanes[0], at);
}

int nn_trainer_fits(const nn_trainer *tr, const nn_net *net) {
  size_t i;
  if (net->n_layers != tr->n_layers || net->n_params != tr->n_params) return 0;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *a = &net->layers[i], *b = &tr->layers[i];
    if (a->kind != b->kind || a->n_in != b->n_in || a->n_out != b->n_out ||
        a->w != b->w || a->from[0] != b->from[0] || a->from[1] != b->from[1] ||
        !same_hypers(a, b))
      return 0;
  }
  return 1;
}

void nn_trainer_reset(nn_trainer *tr) {
  size_t i;
  tr->steps = 0;
  tr->mom_bound = 0.0;
  memset(tr->m, 0, tr->n_params * sizeof(float));
  if (tr->o.optimizer == NN_OPT_RPROP)
    for (i = 0; i < tr->n_params; i++) tr->v[i] = tr->o.rprop_delta_zero;
  else
    memset(tr->v, 0, tr->n_params * sizeof(float));
}

const nn_train_opts *nn_trainer_opts(const nn_trainer *tr) { return &tr->o; }
float *nn_trainer_grad(nn_trainer *tr) { return tr->grad; }
uint64_t nn_trainer_steps(const nn_trainer *tr) { return tr->steps; }


/* --- a chunk forward and backward --------------------------------------- */

/* Buffer i of a lane: the input (0), or the output of layer i - 1. */
static float *act(const nn_trainer *tr, const lane *ln, size_t i) {
  return ln->acts + i * tr->act_floats;
}

static nn_panels panels_of(const nn_trainer *tr, const lane *ln, const nn_kernel *k,
                           size_t n) {
  nn_panels pn;
  pn.count = (n + k->nr - 1) / k->nr;
  pn.nr = k->nr;
  pn.stride = tr->stride;
  pn.kernel = k;
  pn.part = ln->part;
  pn.shared = NULL;
  pn.grad_set = 0;
  pn.train = NULL;
  return pn;
}

/* The chunk's rows into the input panels; samples past n are zeros.  In
** blocks of 16 features, whose [16][nr] floats stay in L1 while the rows
** are read. */
static void pack_input(float *in, const nn_panels *pn, const float *X,
                       size_t n_x, const size_t *rows, size_t r0, size_t n) {
  size_t nr = pn->nr, p, c, i, i0;
  for (p = 0; p < pn->count; p++) {
    float *dst = in + p * pn->stride * nr;
    for (i0 = 0; i0 < n_x; i0 += 16) {
      size_t i1 = n_x - i0 < 16 ? n_x : i0 + 16;
      for (c = 0; c < nr; c++) {
        size_t r = p * nr + c;
        if (r < n) {
          const float *src = X + (rows ? rows[r0 + r] : r0 + r) * n_x;
          for (i = i0; i < i1; i++) dst[i * nr + c] = src[i];
        } else {
          for (i = i0; i < i1; i++) dst[i * nr + c] = 0.0f;
        }
      }
    }
  }
}

/* --- graphs: what a layer reads, and the gradients of the values --------
** In a graph, layer i reads value v (nn_layer_input: the input, 0, or
** layer j's output, j + 1), every value keeps its own buffer (acts), and
** a join reads two, gathered side by side into gx.  Backward runs the
** layers from the last down, each one's dx added to the gradient of what
** it reads (dacts): a value read by several layers gets the sum of their
** gradients, in the order of the layers, last first: the same bits for
** any number of threads. */

/* The width of value v of net. */
static size_t value_width(const nn_net *net, size_t v) {
  return v == 0 ? net->n_inputs : net->layers[v - 1].n_out;
}

/* The x of layer i of a graph: its input's buffer, or a join's two
** inputs gathered into gx. */
static float *graph_x(const nn_trainer *tr, const lane *ln, const nn_net *net,
                      size_t i, const nn_panels *pn) {
  const nn_layer *l = &net->layers[i];
  size_t a = nn_layer_input(l, i, 0) - 1, b, wa, p, span = pn->stride * pn->nr;
  if (l->from[1] == 0) return act(tr, ln, a);
  b = l->from[1] - 1;
  wa = value_width(net, a);
  for (p = 0; p < pn->count; p++) {
    memcpy(ln->gx + p * span, act(tr, ln, a) + p * span, wa * pn->nr * sizeof(float));
    memcpy(ln->gx + p * span + wa * pn->nr, act(tr, ln, b) + p * span,
           (l->n_in - wa) * pn->nr * sizeof(float));
  }
  return ln->gx;
}

/* The gradient of value v += the n features of src from feature f0 on. */
static void add_to_value(const nn_trainer *tr, const lane *ln, size_t v,
                         const float *src, size_t f0, size_t n, const nn_panels *pn) {
  size_t p, j, span = pn->stride * pn->nr;
  for (p = 0; p < pn->count; p++) {
    float *d = ln->dacts + v * tr->act_floats + p * span;
    const float *s = src + p * span + f0 * pn->nr;
    for (j = 0; j < n * pn->nr; j++) d[j] += s[j];
  }
}

/* Backward through a graph from the gradient of value top (in dacts),
** down to the first layer; the input's gradient into dacts[0]. */
static void graph_backward(const nn_trainer *tr, const lane *ln, const nn_net *net,
                           float *grad, size_t top, const nn_panels *pn) {
  size_t i = top;
  nn_panels lp = *pn;       /* each kind adds its gradient (grad was zeroed) */
  lp.grad_set = 0;
  while (i-- > 0) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    const float *dy = ln->dacts + (i + 1) * tr->act_floats;
    size_t a = nn_layer_input(l, i, 0) - 1, wa = value_width(net, a);
    float *x = graph_x(tr, ln, net, i, pn);
    lp.shared = d->prepare ? tr->shared + tr->shared_at[i] : NULL;
    if (d->elementwise) {
      memcpy(ln->dx, dy, tr->act_floats * sizeof(float));
      dy = ln->dx;
    }
    d->backward(ln->dx, grad + l->w, dy, x, act(tr, ln, i + 1), net->params + l->w,
                l->hyper, l->n_in, l->n_out, &lp, ln->work);
    add_to_value(tr, ln, a, ln->dx, 0, l->from[1] ? wa : l->n_in, pn);
    if (l->from[1]) add_to_value(tr, ln, l->from[1] - 1, ln->dx, wa, l->n_in - wa, pn);
  }
}

/* Every layer's output into its own buffer, through the kind table; in
** training, each layer told so (pn_all->train, its keep pointed at the
** layer's place). */
static void forward_chunk(const nn_trainer *tr, const lane *ln, const nn_net *net,
                          const nn_panels *pn_all) {
  size_t i, p, nr = pn_all->nr;
  nn_panels layer_pn = *pn_all, *pn = &layer_pn;
  nn_train_ctx ctx;
  if (pn_all->train) {
    ctx = *pn_all->train;
    layer_pn.train = &ctx;
  }
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    const float *w = net->params + l->w;
    float *x = tr->graph ? graph_x(tr, ln, net, i, pn) : act(tr, ln, i);
    float *y = act(tr, ln, i + 1);
    if (pn_all->train) ctx.keep = pn_all->train->keep ? pn_all->train->keep + l->w : NULL;
    if (!d->elementwise) {
      d->forward_batch(y, x, w, l->hyper, l->n_in, l->n_out, pn);
      continue;
    }
    /* element-wise kinds run in place: on a copy of the input */
    for (p = 0; p < pn->count; p++)
      memcpy(y + p * pn->stride * nr, x + p * pn->stride * nr, l->n_in * nr * sizeof(float));
    if (d->forward_batch)
      d->forward_batch(y, y, w, l->hyper, l->n_in, l->n_out, pn);
    else if (d->forward)
      for (p = 0; p < pn->count; p++) {
        float *yp = y + p * pn->stride * nr;
        d->forward(yp, yp, w, l->hyper, l->n_in * nr, l->n_in * nr);
      }
  }
}

/* Panels of buffer b <-> row-major [n][kk]; packing zeroes the samples
** past n. */
static void unpack_rows(float *rm, const float *b, const nn_panels *pn, size_t n,
                        size_t kk) {
  size_t r, j, nr = pn->nr;
  for (r = 0; r < n; r++)
    for (j = 0; j < kk; j++) rm[r * kk + j] = b[(r / nr) * pn->stride * nr + j * nr + r % nr];
}

static void pack_rows(float *b, const float *rm, const nn_panels *pn, size_t n,
                      size_t kk) {
  size_t r, j, nr = pn->nr;
  for (r = 0; r < pn->count * nr; r++)
    for (j = 0; j < kk; j++)
      b[(r / nr) * pn->stride * nr + j * nr + r % nr] = r < n ? rm[r * kk + j] : 0.0f;
}

/* Backward from the gradient in d0 (for the output of layer top) down to
** layer bottom, whose dx is computed only when want_dx.  Each layer's
** backward is told where its shared part is (made by prepare_shared for
** every layer with a dx) and, through grad_set, whether grad holds nothing
** yet.  Returns the buffer that holds the last gradient computed. */
static float *backward_chunk(const nn_trainer *tr, const lane *ln, const nn_net *net,
                             float *grad, size_t top, size_t bottom, int want_dx,
                             const nn_panels *pn) {
  size_t i = top + 1;
  float *d = ln->d0, *spare = ln->d1;
  nn_panels lp = *pn;
  while (i-- > bottom) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d_info = nn_kind_info_of(l->kind);
    float *dx = d_info->elementwise ? d : (i == bottom && !want_dx ? NULL : spare);
    lp.shared = dx && d_info->prepare ? tr->shared + tr->shared_at[i] : NULL;
    d_info->backward(dx, grad + l->w, d, act(tr, ln, i), act(tr, ln, i + 1),
                     net->params + l->w, l->hyper, l->n_in, l->n_out, &lp, ln->work);
    if (dx == NULL) break;
    if (dx == spare) { spare = d; d = dx; }
  }
  return d;
}

/* Before a chunk's backward writes grad (grad_set): zeroes the gradient of
** every layer that will not write its own, so that grad is whole after
** it: a kind without NN_KIND_GRAD_SET (its backward adds), and a layer
** outside bottom .. top, which the chunk does not walk. */
static void zero_unset(const nn_net *net, float *grad, size_t top, size_t bottom) {
  size_t i, n;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    if ((n = nn_layer_n_params(l)) > 0 &&
        (i < bottom || i > top || !(nn_kind_info_of(l->kind)->flags & NN_KIND_GRAD_SET)))
      memset(grad + l->w, 0, n * sizeof(float));
  }
}

/* The first layer with parameters: below it no gradient is needed. */
static size_t first_trained(const nn_net *net) {
  size_t i;
  for (i = 0; i < net->n_layers; i++) if (nn_layer_n_params(&net->layers[i])) return i;
  return 0;
}

/* The shared parts of the layers from .. the last, from the net's
** parameters as they are: made once a call, on the caller's thread,
** before its chunks, which only read them (the pool's start orders these
** writes before the workers' reads).  from: the lowest layer whose
** backward makes a dx, as backward_chunk decides it. */
static void prepare_shared(const nn_trainer *tr, const nn_net *net, size_t bottom,
                           int want_dx) {
  size_t i, from;
  if (tr->graph) { bottom = 0; want_dx = 1; }   /* a graph's backward walks every layer */
  from = bottom;
  if (from < net->n_layers && !want_dx &&
      !nn_kind_info_of(net->layers[from].kind)->elementwise)
    from++;
  for (i = from; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    if (d->prepare)
      d->prepare(tr->shared + tr->shared_at[i], net->params + l->w, l->hyper,
                 l->n_in, l->n_out);
  }
}

/* Cross-entropy on a net that ends with SoftMax takes the logits before it. */
static int fused(const nn_trainer *tr, const nn_net *net) {
  return tr->o.loss == NN_LOSS_CE && net->n_layers > 1 &&
         (nn_kind_info_of(net->layers[net->n_layers - 1].kind)->flags & NN_KIND_PROBS);
}

/* Gather the chunk's targets into rm_t or rm_c. */
static void gather_targets(const nn_trainer *tr, const lane *ln, const float *T,
                           const uint32_t *classes, const size_t *rows, size_t r0,
                           size_t n) {
  size_t r;
  for (r = 0; r < n; r++) {
    size_t at = rows ? rows[r0 + r] : r0 + r;
    if (T) memcpy(ln->rm_t + r * tr->n_out, T + at * tr->n_out, tr->n_out * sizeof(float));
    else ln->rm_c[r] = classes[at];
  }
}

/* Rows whose largest output is their target's class, of the chunk in ln. */
static size_t count_correct(const nn_trainer *tr, const lane *ln, int targets, size_t n) {
  size_t r, kk = tr->n_out, correct = 0;
  for (r = 0; r < n; r++) {
    const float *y = ln->rm_y + r * kk;
    size_t want = targets ? (kk > 1 ? nn_argmax(ln->rm_t + r * kk, kk) : ln->rm_t[r] > 0.5f)
                          : ln->rm_c[r];
    size_t got = kk > 1 ? nn_argmax(y, kk) : (size_t)(y[0] > 0.5f);
    correct += got == want;
  }
  return correct;
}

/* The key of a step's random numbers: the seed and the step, mixed. */
static uint64_t step_key(const nn_trainer *tr) {
  uint64_t state = tr->o.seed ^ (tr->steps * 0xD1B54A32D192ED03u);
  return nn_splitmix64(&state);
}

/* The rows of a call, and where its chunks' results go: what every chunk
** of a step, an evaluation or a backward pass shares. */
typedef struct rows_job {
  nn_trainer *tr;
  const nn_kernel *k;
  const nn_net *net;
  const float *X;
  size_t n_x, n;
  const size_t *rows;       /* NULL: X's first n rows */
  const float *T;
  const uint32_t *classes;
  float *grad;              /* the sum of the chunks' gradients, or NULL */
  int defer_last;           /* 1: the last chunk (of two or more) leaves
                               its gradient in `last`, not added (a step) */
  const float *last;
  int grad_adds;            /* 1: chunk 0 adds to grad (net:backward's
                               sum), else writes it (a step's) */
  float scale;
  int count;                /* count the rows classified right */
  int training;             /* a step: the kinds told so (nn_train_ctx) */
  float *dX;                /* backward: the inputs' gradient, or NULL */
  const float *dY;          /* backward: the outputs' gradient */
  double sum;               /* the loss, chunk after chunk */
  size_t correct;
} rows_job;

/* Where chunk `task` puts its gradient: the first straight into the sum,
** every other into its lane's scratch, added in its turn (add_grad). */
static float *chunk_grad(const rows_job *j, const lane *ln, size_t task) {
  if (j->grad == NULL || task == 0) return j->grad;
  return ln->gscr;
}

/* The panels of a chunk's backward pass: whether it writes its gradient
** (the scratch always; the sum, for chunk 0 of a step) or adds to it
** (chunk 0 of net:backward).  Writing, nothing zeroes a buffer first: a
** memset of the step's gradient, or of the scratch after each add, was a
** pass over every parameter a chunk. */
static void backward_panels(nn_panels *pn, const rows_job *j, float *g, size_t task,
                            size_t top, size_t bottom) {
  pn->grad_set = task > 0 || !j->grad_adds;
  if (pn->grad_set) zero_unset(j->net, g, top, bottom);
}

/* In chunk order: its gradient into the sum (the kernel set's add); the
** last chunk's, when the job defers it, only said where it is. */
static void add_grad(rows_job *j, float *g, size_t task) {
  size_t n_tasks = (j->n + j->tr->cap - 1) / j->tr->cap;
  if (j->grad == NULL || task == 0) return;
  if (j->defer_last && task == n_tasks - 1) j->last = g;
  else j->k->add(j->grad, g, j->tr->n_params);
}

/* A chunk forward, then the loss of its rows (sum); with a gradient, that
** gradient (scale times that of the sum) goes back, and is added to the
** job's in chunk order, as the loss is. */
static void chunk_loss(void *ctx, nn_job *job, size_t task, size_t worker) {
  rows_job *j = (rows_job *)ctx;
  nn_trainer *tr = j->tr;
  const lane *ln = &tr->lanes[worker];
  size_t r0 = task * tr->cap, n = j->n - r0 < tr->cap ? j->n - r0 : tr->cap;
  nn_panels pn = panels_of(tr, ln, j->k, n);
  size_t top = j->net->n_layers - (size_t)fused(tr, j->net), kk = tr->n_out, correct = 0;
  float *g = chunk_grad(j, ln, task);
  double sum;
  nn_train_ctx tc;
  unsigned long mode = nn_fp_flush();     /* on a pool's thread too */
  if (j->training) {
    tc.key = step_key(tr);
    tc.row0 = r0;
    tc.rows = n;
    tc.keep = tr->keep;
    pn.train = &tc;
  }
  pack_input(act(tr, ln, 0), &pn, j->X, j->n_x, j->rows, r0, n);
  forward_chunk(tr, ln, j->net, &pn);
  gather_targets(tr, ln, j->T, j->classes, j->rows, r0, n);
  unpack_rows(ln->rm_y, act(tr, ln, top), &pn, n, kk);
  sum = nn_loss_rows(tr->o.loss, g ? ln->rm_d : NULL, ln->rm_y,
                     j->T ? ln->rm_t : NULL, j->T ? NULL : ln->rm_c, n, kk, j->scale);
  if (j->count) correct = count_correct(tr, ln, j->T != NULL, n);
  if (g && top > 0 && tr->graph) {
    if (task > 0 || !j->grad_adds) memset(g, 0, tr->n_params * sizeof(float));
    memset(ln->dacts, 0, (top + 1) * tr->act_floats * sizeof(float));
    pack_rows(ln->dacts + top * tr->act_floats, ln->rm_d, &pn, n, kk);
    graph_backward(tr, ln, j->net, g, top, &pn);
  } else if (g && top > 0) {
    backward_panels(&pn, j, g, task, top - 1, first_trained(j->net));
    pack_rows(ln->d0, ln->rm_d, &pn, n, kk);
    backward_chunk(tr, ln, j->net, g, top - 1, first_trained(j->net), 0, &pn);
  }
  nn_pool_turn_wait(job, task);
  add_grad(j, g, task);
  j->sum += sum;
  j->correct += correct;
  nn_pool_turn_end(job);
  nn_fp_restore(mode);
}

/* Chunks of the job's rows through fn, over the trainer's workers. */
static void run_chunks(rows_job *j, nn_task_fn *fn) {
  size_t n_tasks = (j->n + j->tr->cap - 1) / j->tr->cap;
  j->sum = 0.0;
  j->correct = 0;
  nn_pool_run(j->tr->pool, j->tr->n_lanes, n_tasks, fn, j);
}

static void rows_job_init(rows_job *j, nn_trainer *tr, const nn_net *net,
                          const float *X, size_t n_x, const size_t *rows, size_t n,
                          const float *T, const uint32_t *classes) {
  memset(j, 0, sizeof *j);
  j->tr = tr; j->k = nn_kernel_in_use; j->net = net;
  j->X = X; j->n_x = n_x; j->rows = rows; j->n = n; j->T = T; j->classes = classes;
}


/* --- losses ------------------------------------------------------------- */

int nn_targets_check(nn_loss loss, const float *T, size_t n, size_t k, size_t *at,
                     double *sum) {
  size_t r, j;
  for (r = 0; r < n && loss != NN_LOSS_MSE; r++) {
    const float *t = T + r * k;
    double s = 0.0;
    for (j = 0; j < k; j++) {
      if (!(t[j] >= 0.0f && (loss == NN_LOSS_CE || t[j] <= 1.0f))) {
        *at = r * k + j;
        return NN_TARGETS_VALUE;
      }
      s += t[j];
    }
    if (loss == NN_LOSS_CE && !(fabs(s - 1.0) <= NN_CE_SUM_TOL)) {
      *at = r;
      *sum = s;
      return NN_TARGETS_SUM;
    }
  }
  return NN_TARGETS_OK;
}

double nn_loss_count(nn_loss loss, size_t n, size_t k) {
  return loss == NN_LOSS_CE ? (double)n : (double)n * (double)k;
}

/* t of row r, output j: the row's value or one-hot of its class. */
#define TARGET(j)  (T ? (double)t[j] : (double)((j) == classes[r]))

double nn_loss_rows(nn_loss loss, float *dY, const float *Y, const float *T,
                    const uint32_t *classes, size_t n, size_t k, float scale) {
  double sum = 0.0;
  size_t r, j;
  for (r = 0; r < n; r++) {
    const float *y = Y + r * k, *t = T ? T + r * k : NULL;
    float *d = dY ? dY + r * k : NULL;
    if (loss == NN_LOSS_MSE) {
      for (j = 0; j < k; j++) {
        double e = (double)y[j] - TARGET(j);
        sum += e * e;
        if (d) d[j] = (float)(2.0 * e) * scale;
      }
    } else if (loss == NN_LOSS_BCE) {
      for (j = 0; j < k; j++) {
        double tj = TARGET(j), p = y[j];
        double lp = p > 0.0 ? log(p) : -100.0, lq = p < 1.0 ? log(1.0 - p) : -100.0;
        if (lp < -100.0) lp = -100.0;
        if (lq < -100.0) lq = -100.0;
        sum -= tj * lp + (1.0 - tj) * lq;
        if (d) {
          double den = (1.0 - p) * p;
          d[j] = (float)((p - tj) / (den > 1e-12 ? den : 1e-12)) * scale;
        }
      }
    } else {
      /* log-sum-exp shifted by the largest logit: nothing overflows */
      double max = y[0], se = 0.0, lse, tsum = 0.0;
      for (j = 1; j < k; j++) if (y[j] > max) max = y[j];
      for (j = 0; j < k; j++) se += exp((double)y[j] - max);
      lse = max + log(se);
      for (j = 0; j < k; j++) {
        double tj = TARGET(j);
        if (tj != 0.0) sum += tj * (lse - (double)y[j]);
        tsum += tj;
      }
      if (d)
        for (j = 0; j < k; j++)
          d[j] = (float)(exp((double)y[j] - lse) * tsum - TARGET(j)) * scale;
    }
  }
  return sum;
}


/* --- steps ---------------------------------------------------------------- */

/* SGD on n parameters w, with the momentum buffer buf; first: the
** trainer's first step, which starts the buffer from the gradient. */
static void sgd(const nn_train_opts *o, int first, float *w, float *buf,
                const float *g, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i] + o->weight_decay * w[i];
    if (o->momentum > 0.0f) {
      buf[i] = first ? gi : o->momentum * buf[i] + gi;
      gi = o->nesterov ? gi + o->momentum * buf[i] : buf[i];
    }
    w[i] -= o->lr * gi;
  }
}

static void adam_consts(const nn_trainer *tr, nn_adam_consts *c) {
  const nn_train_opts *o = &tr->o;
  double t = (double)(tr->steps + 1);
  double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
  c->b1 = o->beta1;
  c->b2 = o->beta2;
  c->step = (float)(o->lr / bc1);
  c->inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
  c->eps = o->eps;
  c->decay = 1.0f - o->lr * o->weight_decay;
}

/* iRPROP- (Igel and Huesken): a step size per weight, grown while the
** gradient keeps its sign and shrunk when it flips, after which that
** weight rests one step. */
static void rprop(const nn_train_opts *o, float *w, float *prev, float *delta,
                  const float *g, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    float gi = g[i], s = gi * prev[i], d = delta[i];
    if (s > 0.0f) {
      d *= o->rprop_increase;
      if (d > o->rprop_delta_max) d = o->rprop_delta_max;
    } else if (s < 0.0f) {
      d *= o->rprop_decrease;
      if (d < o->rprop_delta_min) d = o->rprop_delta_min;
      gi = 0.0f;
    }
    if (gi > 0.0f) w[i] -= d;
    else if (gi < 0.0f) w[i] += d;
    prev[i] = gi;
    delta[i] = d;
  }
}

/* The optimizer on n parameters w with their state m and v (the trainer's,
** or copies of a block of them): each value's update depends on its own
** numbers alone, so a block gives the bits the whole array gives. */
static void update(const nn_trainer *tr, const nn_kernel *k, const nn_adam_consts *c,
                   float *w, float *m, float *v, const float *g, size_t n) {
  switch (tr->o.optimizer) {
    case NN_OPT_SGD:   sgd(&tr->o, tr->steps == 0, w, m, g, n); break;
    case NN_OPT_ADAM:  k->adam(w, m, v, g, n, c); break;
    case NN_OPT_RPROP: rprop(&tr->o, w, m, v, g, n); break;
  }
}

/* The update on the trained parameters of [lo, hi) only: runs of them, one
** after another, between the tensors a kind does not train (Standardize's
** mean and std), which keep their values.  A net whose tensors are all
** trained is one run, the whole range. */
static void update_trained(const nn_trainer *tr, const nn_kernel *k,
                           const nn_adam_consts *c, const nn_net *net,
                           const float *g, size_t lo, size_t hi) {
  size_t i, t, at, dims[2], start = lo;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    for (t = 0; t < d->n_tensors; t++) {
      size_t count = nn_tensor_shape(l, t, dims, &at), pos = l->w + at;
      size_t end = pos < hi ? pos : hi;
      if (d->tensors[t].trained)
        continue;
      if (end > start)
        update(tr, k, c, net->params + start, tr->m + start, tr->v + start,
               g + start, end - start);
      if (pos + count > start)
        start = pos + count;
    }
  }
  if (hi > start)
    update(tr, k, c, net->params + start, tr->m + start, tr->v + start, g + start,
           hi - start);
}

/* A bound on every |w| after the update, in double, from norms: W of the
** weights (one pass), G of the gradient, and the running bound on the
** moments the trainer keeps (tr->mom_bound: Adam's m is a mean of past
** gradients, SGD's buffer a sum of them times powers of the momentum).
** The sums of squares are taken in float lanes, which may fall short of
** the true sum by a third on a huge array: the norms are doubled.  Also
** sets *mom, the moments' bound after this step. */
static double update_bound(const nn_trainer *tr, double W2, double G,
                           const nn_adam_consts *c, double *mom) {
  const nn_train_opts *o = &tr->o;
  double W = 2.0 * sqrt(W2), gi;
  G *= 2.0;
  *mom = tr->mom_bound;
  switch (o->optimizer) {
    case NN_OPT_SGD:
      gi = G + (double)o->weight_decay * W;
      if (o->momentum <= 0.0f) return W + (double)o->lr * gi;
      *mom = (double)o->momentum * tr->mom_bound + gi;
      return W + (double)o->lr * (o->nesterov ? gi + (double)o->momentum * *mom : *mom);
    case NN_OPT_ADAM:
      *mom = tr->mom_bound > G ? tr->mom_bound : G;
      return W * fabs((double)c->decay) + (double)c->step * *mom / (double)c->eps;
    default:
      return W + (o->rprop_delta_max > o->rprop_delta_zero ? o->rprop_delta_max
                                                           : o->rprop_delta_zero);
  }
}

#define DRY_BLOCK 256

/* The update run on copies, a block at a time, changing nothing: the index
** of the first parameter it would make NaN or infinite (its value in
** *bad), or n_params. */
static size_t dry_run(const nn_trainer *tr, const nn_kernel *k, const nn_adam_consts *c,
                      const float *w, const float *g, float *bad) {
  float cw[DRY_BLOCK], cm[DRY_BLOCK], cv[DRY_BLOCK];
  size_t i0, i, n = tr->n_params;
  for (i0 = 0; i0 < n; i0 += DRY_BLOCK) {
    size_t b = n - i0 < DRY_BLOCK ? n - i0 : DRY_BLOCK;
    memcpy(cw, w + i0, b * sizeof(float));
    memcpy(cm, tr->m + i0, b * sizeof(float));
    memcpy(cv, tr->v + i0, b * sizeof(float));
    update(tr, k, c, cw, cm, cv, g + i0, b);
    if ((i = nn_nonfinite(cw, b)) < b) {
      *bad = cw[i];
      return i0 + i;
    }
  }
  return n;
}

/* A step is one call of the pool, in four phases of tasks, each waiting
** (nn_pool_after) for the phases before it to be done:
**   1. the chunks (chunk_loss), which add their gradients in chunk order,
**      all but the last one's (when there are two or more): chunk 0 writes
**      the step's gradient, and the last chunk's stays in its lane's
**      scratch;
**   2. the parameters in NORM_BLOCKS blocks of a length fixed by their
**      count, TASK_BLOCKS blocks a task: the last chunk's gradient added
**      (the last add of the chunk order, done a block at a time), then the
**      squared norms of the block's gradient and weights;
**   3. one task: the norms summed in block order, the checks, the clipping
**      factor and the bound on the update (decide);
**   4. the update, TASK_BLOCKS blocks a task (clipped first when asked).
** Each value's add, norm term and update depends on its own numbers and
** the blocks are fixed by the work: any number of threads gives the same
** bits, those of the phases run one after another on one thread.  Before,
** what follows the chunks ran on the caller alone: a quarter of a
** one-thread step of 784-256-128-10 that the second thread could not
** share.  A net of fewer than SPLIT_PARAMS parameters runs phases 2 to 4
** on the caller after the chunks' call (the same tasks, in order): their
** work is then less than what the threads' waits would cost, and a step of
** one chunk wakes no thread. */
#define NORM_BLOCKS 64
#define TASK_BLOCKS 8
#define SPLIT_PARAMS 65536

typedef struct step_job {
  rows_job rows;                  /* phase 1; first, for chunk_loss */
  nn_trainer *tr;
  const nn_kernel *k;
  nn_net *net;
  size_t n_chunks, len;           /* len: parameters a block */
  size_t base;                    /* the call's first task among the step's */
  size_t n_blocks, n_groups;      /* blocks, and tasks of TASK_BLOCKS blocks */
  double count, loss, mom;
  double gs[NORM_BLOCKS], ws[NORM_BLOCKS];
  nn_adam_consts c;
  float clip;                     /* the update's factor on the gradient: 1, none */
  int status;
  char *err;
} step_job;

static size_t block_len(size_t n) {
  size_t len = (n + NORM_BLOCKS - 1) / NORM_BLOCKS;
  return ROUND_UP(len > 0 ? len : 1, ALIGN_FLOATS);
}

/* Blocks [*b0, *b1) of group `group`. */
static void group_of(const step_job *s, size_t group, size_t *b0, size_t *b1) {
  *b0 = group * TASK_BLOCKS;
  *b1 = *b0 + TASK_BLOCKS < s->n_blocks ? *b0 + TASK_BLOCKS : s->n_blocks;
}

/* Block b: its first parameter, and its length in *len. */
static size_t block_of(const step_job *s, size_t b, size_t *len) {
  size_t i0 = b * s->len, n = s->tr->n_params;
  *len = n - i0 < s->len ? n - i0 : s->len;
  return i0;
}

/* Phase 2: the last chunk's gradient added, then the block's norms. */
static void norms_task(step_job *s, size_t group) {
  const float *last = s->rows.last;
  float *g = s->rows.grad;
  size_t b, b0, b1, len, i0;
  group_of(s, group, &b0, &b1);
  for (b = b0; b < b1; b++) {
    i0 = block_of(s, b, &len);
    if (last) s->k->add(g + i0, last + i0, len);
    s->gs[b] = s->k->sumsq(g + i0, len);
    s->ws[b] = s->k->sumsq(s->net->params + i0, len);
  }
}

/* Phase 3: NN_OK and the update's constants, or NN_EDIVERGED with err.
** An update that a cheap bound cannot clear (update_bound) is run first
** on copies (dry_run), after the clipping, on the whole gradient. */
static int decide(step_job *s) {
  nn_trainer *tr = s->tr;
  float *g = s->rows.grad, bad_value = 0.0f;
  double norm = 0.0, W2 = 0.0;
  size_t b, i, bad;
  s->loss = s->rows.sum / s->count;
  if (!isfinite(s->loss)) {
    snprintf(s->err, NN_ERRMAX, "the loss is %s", s->loss != s->loss ? "NaN" : "infinite");
    return NN_EDIVERGED;
  }
  for (b = 0; b < s->n_blocks; b++) { norm += s->gs[b]; W2 += s->ws[b]; }
  if (!isfinite(norm)) {
    snprintf(s->err, NN_ERRMAX, "the gradient is not finite");
    return NN_EDIVERGED;
  }
  norm = sqrt(norm);
  if (tr->o.clip > 0.0f && norm > tr->o.clip) {
    s->clip = (float)(tr->o.clip / norm);
    norm = tr->o.clip;
  }
  if (tr->o.optimizer == NN_OPT_ADAM) adam_consts(tr, &s->c);
  if (update_bound(tr, W2, norm, &s->c, &s->mom) < FLT_MAX / 8) return NN_OK;
  for (i = 0; s->clip != 1.0f && i < tr->n_params; i++) g[i] *= s->clip;
  s->clip = 1.0f;
  bad = dry_run(tr, s->k, &s->c, s->net->params, g, &bad_value);
  if (bad == tr->n_params) return NN_OK;
  snprintf(s->err, NN_ERRMAX, "the update is not finite (parameter %zu would be %s)",
           bad + 1, nn_nonfinite_name(bad_value));
  return NN_EDIVERGED;
}

/* Phase 4: the update of the group's blocks. */
static void update_task(step_job *s, size_t group) {
  float *g = s->rows.grad;
  size_t b, b0, b1, len, i0, i;
  group_of(s, group, &b0, &b1);
  for (b = b0; b < b1; b++) {
    i0 = block_of(s, b, &len);
    for (i = i0; s->clip != 1.0f && i < i0 + len; i++) g[i] *= s->clip;
    update_trained(s->tr, s->k, &s->c, s->net, g, i0, i0 + len);
  }
}

static void step_task(void *ctx, nn_job *job, size_t task, size_t worker) {
  step_job *s = (step_job *)ctx;
  size_t c = s->n_chunks, groups = s->n_groups;
  unsigned long mode;
  task += s->base;
  if (task < c) { chunk_loss(&s->rows, job, task, worker); return; }
  mode = nn_fp_flush();                   /* on a pool's thread too */
  if (task < c + groups) {
    nn_pool_after(job, c, worker);
    norms_task(s, task - c);
  } else if (task == c + groups) {
    nn_pool_after(job, task, worker);
    s->status = decide(s);
  } else {
    nn_pool_after(job, c + groups + 1, worker);
    if (s->status == NN_OK) update_task(s, task - c - groups - 1);
  }
  nn_fp_restore(mode);
}

/* The untrained tensors of the NN_KIND_BATCH layers (running statistics)
** as the step's training pass wrote them into keep. */
static void keep_stats(const nn_trainer *tr, nn_net *net) {
  size_t i, t, at, dims[2];
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    const nn_kind_info *d = nn_kind_info_of(l->kind);
    if (!(d->flags & NN_KIND_BATCH)) continue;
    for (t = 0; t < d->n_tensors; t++) {
      size_t count = nn_tensor_shape(l, t, dims, &at);
      if (!d->tensors[t].trained)
        memcpy(net->params + l->w + at, tr->keep + l->w + at, count * sizeof(float));
    }
  }
}

/* One step; nothing changes unless the loss, the gradient and every weight
** after the update are finite. */
static int step(nn_trainer *tr, nn_net *net, double *loss, const float *X,
                size_t n_x, const size_t *rows, size_t n, const float *T,
                const uint32_t *classes, char err[NN_ERRMAX]) {
  step_job s;
  size_t tasks;
  if (tr->whole && (n < 2 || n > tr->cap)) {
    snprintf(err, NN_ERRMAX, "a network with nn.BatchNorm takes a step of 2 to %zu "
             "rows (its batch), not %zu", tr->cap, n);
    return NN_ESIZE;
  }
  memset(&s, 0, sizeof s);
  rows_job_init(&s.rows, tr, net, X, n_x, rows, n, T, classes);
  s.tr = tr; s.k = s.rows.k; s.net = net; s.err = err; s.clip = 1.0f;
  s.count = nn_loss_count(tr->o.loss, n, tr->n_out);
  s.rows.grad = tr->grad;
  s.rows.training = 1;
  s.rows.defer_last = 1;
  s.rows.scale = (float)(1.0 / s.count);
  s.n_chunks = (n + tr->cap - 1) / tr->cap;
  s.len = block_len(tr->n_params);
  s.n_blocks = (tr->n_params + s.len - 1) / s.len;
  s.n_groups = (s.n_blocks + TASK_BLOCKS - 1) / TASK_BLOCKS;
  tasks = s.n_chunks + 2 * s.n_groups + 1;
  prepare_shared(tr, net, first_trained(net), 0);
  if (tr->n_params >= SPLIT_PARAMS) {
    nn_pool_run(tr->pool, tr->n_lanes, tasks, step_task, &s);
  } else {
    nn_pool_run(tr->pool, tr->n_lanes, s.n_chunks, step_task, &s);
    s.base = s.n_chunks;
    nn_pool_run(NULL, 1, tasks - s.n_chunks, step_task, &s);
  }
  *loss = s.loss;
  if (s.status != NN_OK) return s.status;
  if (tr->whole) keep_stats(tr, net);
  tr->mom_bound = s.mom;
  tr->steps++;
  return NN_OK;
}

/* The steps, evaluations and backward passes run with subnormals flushed
** (nn_fp_flush in nn_kernel.h); the caller's mode is back on return. */
int nn_train_step(nn_trainer *tr, nn_net *net, double *loss, const float *X,
                  size_t n_x, const size_t *rows, size_t n, const float *T,
                  const uint32_t *classes, char err[NN_ERRMAX]) {
  unsigned long mode = nn_fp_flush();
  int status = step(tr, net, loss, X, n_x, rows, n, T, classes, err);
  nn_fp_restore(mode);
  return status;
}

void nn_train_evaluate(nn_trainer *tr, const nn_net *net, double *loss,
                       size_t *correct, const float *X, size_t n_x,
                       const size_t *rows, size_t n, const float *T,
                       const uint32_t *classes) {
  rows_job j;
  unsigned long mode = nn_fp_flush();
  rows_job_init(&j, tr, net, X, n_x, rows, n, T, classes);
  j.count = 1;
  run_chunks(&j, chunk_loss);
  *correct = j.correct;
  *loss = n > 0 ? j.sum / nn_loss_count(tr->o.loss, n, tr->n_out) : 0.0;
  nn_fp_restore(mode);
}

/* A chunk of nn_train_backward: the inputs' gradient of its rows, and the
** parameters' added to the job's in chunk order. */
static void chunk_backward(void *ctx, nn_job *job, size_t task, size_t worker) {
  rows_job *j = (rows_job *)ctx;
  nn_trainer *tr = j->tr;
  const lane *ln = &tr->lanes[worker];
  size_t r0 = task * tr->cap, m = j->n - r0 < tr->cap ? j->n - r0 : tr->cap;
  size_t top = j->net->n_layers;
  nn_panels pn = panels_of(tr, ln, j->k, m);
  float *d = ln->d0, *g = chunk_grad(j, ln, task);
  unsigned long mode = nn_fp_flush();     /* on a pool's thread too */
  pack_input(act(tr, ln, 0), &pn, j->X, j->n_x, NULL, r0, m);
  forward_chunk(tr, ln, j->net, &pn);
  if (tr->graph) {
    if (task > 0 || !j->grad_adds) memset(g, 0, tr->n_params * sizeof(float));
    memset(ln->dacts, 0, (top + 1) * tr->act_floats * sizeof(float));
    pack_rows(ln->dacts + top * tr->act_floats, j->dY + r0 * tr->n_out, &pn, m, tr->n_out);
    graph_backward(tr, ln, j->net, g, top, &pn);
    d = ln->dacts;
  } else {
    pack_rows(ln->d0, j->dY + r0 * tr->n_out, &pn, m, tr->n_out);
    if (top > 0) {
      backward_panels(&pn, j, g, task, top - 1, 0);
      d = backward_chunk(tr, ln, j->net, g, top - 1, 0, 1, &pn);
    }
  }
  if (j->dX) unpack_rows(j->dX + r0 * j->n_x, d, &pn, m, j->n_x);
  nn_pool_turn_wait(job, task);
  add_grad(j, g, task);
  nn_pool_turn_end(job);
  nn_fp_restore(mode);
}

void nn_train_backward(nn_trainer *tr, const nn_net *net, float *dX, float *grad,
                       const float *X, size_t n_x, size_t n, const float *dY) {
  rows_job j;
  unsigned long mode = nn_fp_flush();
  rows_job_init(&j, tr, net, X, n_x, NULL, n, NULL, NULL);
  j.grad = grad;
  j.grad_adds = 1;
  j.dX = dX;
  j.dY = dY;
  prepare_shared(tr, net, 0, 1);
  run_chunks(&j, chunk_backward);
  nn_fp_restore(mode);
}

void nn_train_shuffle(size_t *idx, size_t n, uint64_t *state) {
  size_t i;
  for (i = n; i > 1; i--) {
    /* j uniform in [0, i): the high half of a 64-bit product */
    uint64_t r = nn_splitmix64(state) >> 32;
    size_t j = (size_t)((r * (uint64_t)i) >> 32), t = idx[i - 1];
    idx[i - 1] = idx[j];
    idx[j] = t;
  }
}
