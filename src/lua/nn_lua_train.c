/*
** nn_lua_train.c: the Lua face of training: the criteria, net:backward,
** net:get_params / net:set_params and the "nn.Trainer" type.
**
**   local tr = nn.Trainer(net, { loss = "cross_entropy", optimizer = "adam",
**                                lr = 1e-3, batch = 64, seed = 1 })
**   local loss = tr:step(X, T)                  -- one update
**   local history = tr:fit(X, T, { epochs = 5, validation_split = 0.1,
**                                  patience = 2, progress = true })
**   print(tr:evaluate(Xtest, Ttest))             -- loss, accuracy
**
** This file checks arguments, converts targets (class indices, labels, an
** nn.Matrix) and keeps time and history; every number of training is
** computed by nn_train.c.  An nn.Trainer is one userdata: a small header,
** then the engine's trainer block.  Its user values hold what the block may
** not point to: 1 the network, 2 the options as a table (for histories),
** 3 a scratch userdata for class targets, 4 one for X given as rows, so that
** a step on a reused batch makes no garbage.
*/
#define _POSIX_C_SOURCE 200112L   /* clock_gettime, isatty, fileno */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"

#include "formats/nn_number.h"
#include "engine/nn_engine.h"
#include "formats/nn_ftoa.h"
#include "lua/nn_lua.h"
#include "train/nn_train.h"

#define NN_TRAINER    "nn.Trainer"
#define NN_CRITERION  "nn.Criterion"
#define MAX_BATCH     ((lua_Integer)1 << 20)
/* The rows RPROP's step runs through the net at a time (its trainer holds
** their activations); the gradient is that of every row. */
#define RPROP_CHUNK   512

static const char *const loss_names[] = { "mse", "cross_entropy", "bce", NULL };
static const char *const crit_names[] = {
  "nn.MSECriterion", "nn.CrossEntropyCriterion", "nn.BCECriterion" };
static const char *const optim_names[] = { "sgd", "adam", "rprop", NULL };

typedef struct nn_ltrainer {
  nn_trainer *tr;          /* inside this block, after the header */
  uint64_t rng;            /* shuffles and validation splits */
  int shuffle;
  size_t batch;
  size_t threads;          /* the option; 0: nn.threads() at each call */
} nn_ltrainer;

/* What a call's targets came to: class indices or rows (one is NULL). */
typedef struct targets {
  const float *T;
  const uint32_t *classes;
  int is_class;
} targets;


/* --- small helpers -------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A scratch userdata in user value uv of the object at obj, at least bytes
** long, grown (never shrunk) as needed.  Raises on memory errors. */
static void *scratch(lua_State *L, int obj, int uv, size_t bytes) {
  void *p;
  if (bytes == 0) bytes = 1;
  if (lua_getiuservalue(L, obj, uv) == LUA_TUSERDATA && lua_rawlen(L, -1) >= bytes) {
    p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
  }
  lua_pop(L, 1);
  p = lua_newuserdatauv(L, bytes, 0);
  lua_setiuservalue(L, obj, uv);
  return p;
}

/* X at stack index idx (errors blame argument arg): an nn.Matrix, or an
** array of rows copied into dst (a scratch of
** the object at obj, user value uv, or a new userdata left on the stack when
** obj is 0).  Returns the data; *n rows of n_x.  Raises on bad shapes. */
static const float *check_X(lua_State *L, int idx, int arg, int obj, int uv,
                            const nn_net *net, size_t n_x, size_t *n) {
  const nn_matrix *M = nn_lua_tomatrix(L, idx);
  size_t i;
  float *data;
  if (M != NULL) {
    if (M->cols != n_x)
      luaL_argerror(L, arg, lua_pushfstring(L, "X: expected %I columns, got %I",
                    (lua_Integer)n_x, (lua_Integer)M->cols));
    if (M->rows == 0) luaL_argerror(L, arg, "X: no rows");
    *n = M->rows;
    nn_lua_checkinput(L, net, M->data, *n, n_x, arg);
    return M->data;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, arg, lua_pushfstring(L, "X: table or nn.Matrix expected, got %s",
                  nn_lua_typename(L, idx)));
  *n = (size_t)lua_rawlen(L, idx);
  if (*n == 0) luaL_argerror(L, arg, "X: no rows");
  if (*n > NN_MAX_PARAMS / n_x)
    luaL_argerror(L, arg, "X: too many rows");
  if (obj) data = (float *)scratch(L, obj, uv, *n * n_x * sizeof(float));
  else data = (float *)lua_newuserdatauv(L, *n * n_x * sizeof(float), 0);
  for (i = 0; i < *n; i++) {
    char what[40];
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    snprintf(what, sizeof what, "X[%zu]", i + 1);
    nn_lua_readfloats(L, -1, arg, what, data + i * n_x, n_x);
    lua_pop(L, 1);
  }
  nn_lua_checkinput(L, net, data, *n, n_x, arg);
  return data;
}

/* Index (0-based) of the label at idx in the net's labels at lab, or -1. */
static long find_label(lua_State *L, int lab, int idx) {
  size_t i, n = (size_t)lua_rawlen(L, lab);
  idx = lua_absindex(L, idx);
  for (i = 1; i <= n; i++) {
    int same;
    lua_rawgeti(L, lab, (lua_Integer)i);
    same = lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
    if (same) return (long)i - 1;
  }
  return -1;
}

/* Raises (blaming argument arg) when the rows T [n][k], named name ("T", or
** "t" for one row), are no targets for loss: BCE's outside [0, 1],
** cross-entropy's that are no distribution (nn_targets_check). */
static void check_rows(lua_State *L, int arg, const char *name, const float *T,
                       size_t n, size_t k, nn_loss loss) {
  size_t at = 0;
  double sum = 0.0;
  char where[48], num[32];
  int st = nn_targets_check(loss, T, n, k, &at, &sum), one = name[0] == 't';
  if (st == NN_TARGETS_OK) return;
  if (st == NN_TARGETS_VALUE) {
    if (one) snprintf(where, sizeof where, "%s[%zu]", name, at + 1);
    else snprintf(where, sizeof where, "%s[%zu][%zu]", name, at / k + 1, at % k + 1);
    if (loss == NN_LOSS_BCE)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s is %f, outside [0, 1] for bce",
                    where, (lua_Number)T[at]));
    snprintf(num, sizeof num, "%.7g", (double)T[at]);
    luaL_argerror(L, arg, lua_pushfstring(L, "%s is %s: cross_entropy's targets are "
                  "class indices or rows of values >= 0 that sum to 1", where, num));
  }
  if (one) snprintf(where, sizeof where, "%s", name);
  else snprintf(where, sizeof where, "%s[%zu]", name, at + 1);
  snprintf(num, sizeof num, "%.7g", sum);
  luaL_argerror(L, arg, lua_pushfstring(L, "%s sums to %s: cross_entropy's targets are "
                "class indices or rows of values >= 0 that sum to 1 (within %s)", where,
                num, "1e-4"));
}

/* T at stack index idx (errors blame argument arg) for n rows of k outputs: an nn.Matrix [n][k], or an array of
** 1-based class indices or of labels (through the labels of the network
** at net_idx, 0 for none) into a uint32 scratch (object obj, user value
** uv; a new userdata left on the stack when obj is 0).  BCE targets must be
** in [0, 1], cross-entropy's rows distributions.  Raises naming the bad
** target. */
static targets check_T(lua_State *L, int idx, int arg, int obj, int uv, int net_idx,
                       size_t n, size_t k, nn_loss loss) {
  targets t;
  const nn_matrix *M = nn_lua_tomatrix(L, idx);
  size_t i;
  uint32_t *c;
  int lab = 0;
  memset(&t, 0, sizeof t);
  if (M != NULL) {
    if (M->rows != n)
      luaL_argerror(L, arg, lua_pushfstring(L, "T: %I rows of targets for %I rows of X",
                    (lua_Integer)M->rows, (lua_Integer)n));
    if (M->cols != k)
      luaL_argerror(L, arg, lua_pushfstring(L, "T: expected %I columns, got %I",
                    (lua_Integer)k, (lua_Integer)M->cols));
    check_rows(L, arg, "T", M->data, n, k, loss);
    t.T = M->data;
    return t;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, arg, lua_pushfstring(L, "T: table or nn.Matrix expected, got %s",
                  nn_lua_typename(L, idx)));
  if ((size_t)lua_rawlen(L, idx) != n)
    luaL_argerror(L, arg, lua_pushfstring(L, "T: %I targets for %I rows of X",
                  (lua_Integer)lua_rawlen(L, idx), (lua_Integer)n));
  c = obj ? (uint32_t *)scratch(L, obj, uv, n * sizeof(uint32_t))
          : (uint32_t *)lua_newuserdatauv(L, n * sizeof(uint32_t), 0);
  for (i = 0; i < n; i++) {
    int type = lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (type == LUA_TNUMBER) {
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 1 || (lua_Unsigned)v > k)
        luaL_argerror(L, arg, lua_pushfstring(L, "T[%I] is %s, not a class index "
                      "in 1..%I", (lua_Integer)i + 1, luaL_tolstring(L, -1, NULL),
                      (lua_Integer)k));
      c[i] = (uint32_t)(v - 1);
    } else if (type == LUA_TSTRING) {
      long at;
      if (lab == 0) {
        if (net_idx == 0 || nn_lua_getlabels(L, net_idx) != LUA_TTABLE)
          luaL_argerror(L, arg, lua_pushfstring(L, "T[%I] is a label, but the network "
                        "has no labels", (lua_Integer)i + 1));
        lua_insert(L, -2);
        lab = lua_gettop(L) - 1;
      }
      if ((at = find_label(L, lab, -1)) < 0)
        luaL_argerror(L, arg, lua_pushfstring(L, "T[%I] is '%s', not one of the "
                      "network's labels", (lua_Integer)i + 1, lua_tostring(L, -1)));
      c[i] = (uint32_t)at;
    } else {
      luaL_argerror(L, arg, lua_pushfstring(L, "T[%I] is not a class index or a "
                    "label (got %s)", (lua_Integer)i + 1, lua_typename(L, type)));
    }
    lua_pop(L, 1);
  }
  if (lab) lua_remove(L, lab);
  t.classes = c;
  t.is_class = 1;
  return t;
}


/* --- criteria ------------------------------------------------------------- */

static nn_loss check_crit(lua_State *L, int arg) {
  return *(nn_loss *)luaL_checkudata(L, arg, NN_CRITERION);
}

static int new_crit(lua_State *L, nn_loss loss) {
  *(nn_loss *)lua_newuserdatauv(L, sizeof(nn_loss), 0) = loss;
  luaL_setmetatable(L, NN_CRITERION);
  return 1;
}

static int nn_MSECriterion(lua_State *L) { return new_crit(L, NN_LOSS_MSE); }
static int nn_CrossEntropyCriterion(lua_State *L) { return new_crit(L, NN_LOSS_CE); }
static int nn_BCECriterion(lua_State *L) { return new_crit(L, NN_LOSS_BCE); }

/* crit:forward(y, t) --> loss; crit:backward(y, t) --> dy (a table for a
** table y, an nn.Matrix for a matrix).  t: a table of numbers or a class
** index for a table y; an nn.Matrix or an array of class indices for a
** matrix.  Raises on shapes that do not fit. */
static int crit_eval(lua_State *L, int backward) {
  nn_loss loss = check_crit(L, 1);
  const nn_matrix *Y = nn_lua_tomatrix(L, 2);
  size_t n, k;
  const float *y;
  float *dy;
  targets t;
  double count;
  lua_settop(L, 3);
  if (Y != NULL) {
    n = Y->rows;
    k = Y->cols;
    y = Y->data;
    if (n == 0) luaL_argerror(L, 2, "y: no rows");
    t = check_T(L, 3, 3, 0, 0, 0, n, k, loss);
  } else {
    float *buf;
    k = nn_lua_checklen(L, 2, "y");
    if (k == 0) luaL_argerror(L, 2, "y: empty");
    n = 1;
    buf = (float *)lua_newuserdatauv(L, 2 * k * sizeof(float) + sizeof(uint32_t), 0);
    nn_lua_checkfloats(L, 2, "y", buf, k);
    y = buf;
    memset(&t, 0, sizeof t);
    if (lua_type(L, 3) == LUA_TNUMBER) {
      int isint;
      lua_Integer v = lua_tointegerx(L, 3, &isint);
      uint32_t *c = (uint32_t *)(buf + 2 * k);
      if (!isint || v < 1 || (lua_Unsigned)v > k)
        luaL_argerror(L, 3, lua_pushfstring(L, "t: %s is not a class index in 1..%I",
                      luaL_tolstring(L, 3, NULL), (lua_Integer)k));
      *c = (uint32_t)(v - 1);
      t.classes = c;
    } else {
      nn_lua_checkfloats(L, 3, "t", buf + k, k);
      check_rows(L, 3, "t", buf + k, 1, k, loss);
      t.T = buf + k;
    }
  }
  count = nn_loss_count(loss, n, k);
  if (!backward) {
    lua_pushnumber(L, nn_loss_rows(loss, NULL, y, t.T, t.classes, n, k, 1.0f) / count);
    return 1;
  }
  if (Y != NULL) {
    dy = nn_lua_newmatrix(L, n, k)->data;
  } else {
    dy = (float *)lua_newuserdatauv(L, k * sizeof(float), 0);
  }
  nn_loss_rows(loss, dy, y, t.T, t.classes, n, k, (float)(1.0 / count));
  if (Y == NULL) nn_lua_pushfloats(L, 0, dy, k);
  return 1;
}

static int crit_forward(lua_State *L) { return crit_eval(L, 0); }
static int crit_backward(lua_State *L) { return crit_eval(L, 1); }

static int crit_tostring(lua_State *L) {
  lua_pushstring(L, crit_names[check_crit(L, 1)]);
  return 1;
}


/* --- parameters and the backward pass ------------------------------------- */

/* Raises (blaming argument arg, or with a plain error when arg is 0)
** unless every layer of net has a backward pass and some layer has
** parameters. */
static void check_trainable(lua_State *L, const nn_net *net, int arg) {
  size_t i;
  const char *msg = NULL;
  for (i = 0; i < net->n_layers && msg == NULL; i++)
    if (nn_kind_info_of(net->layers[i].kind)->backward == NULL)
      msg = lua_pushfstring(L, "module %I (nn.%s) has no backward pass",
                            (lua_Integer)i + 1, nn_kind_name(net->layers[i].kind));
  if (msg == NULL && (net->n_outputs == 0 || net->n_params == 0))
    msg = "the network has no parameters to train";
  if (msg != NULL && arg > 0) luaL_argerror(L, arg, msg);
  if (msg != NULL) luaL_error(L, "%s", msg);
}


/* net:get_params() --> nn.Matrix(1, n_params), the weights in stored order */
static int net_get_params(lua_State *L) {
  const nn_net *net;
  nn_matrix *M;
  net = nn_lua_pinnet(L, 1, 1, NULL);   /* at 2 */
  M = nn_lua_newmatrix(L, 1, net->n_params ? net->n_params : 1);
  if (net->n_params) memcpy(M->data, net->params, net->n_params * sizeof(float));
  return 1;
}

/* net:set_params(M) --> net.  Raises unless M is an nn.Matrix(1, n_params). */
static int net_set_params(lua_State *L) {
  nn_lnet *h = nn_lua_checknet(L, 1);
  const nn_matrix *M = nn_lua_tomatrix(L, 2);
  nn_net *net;
  size_t n;
  if (M == NULL) return luaL_typeerror(L, 2, NN_MATRIX);
  net = nn_lua_pinnet(L, 1, 2, NULL);   /* at 3 */
  n = net->n_params;
  if (M->rows != 1 || M->cols != n)
    luaL_argerror(L, 2, lua_pushfstring(L, "params: expected a 1 x %I nn.Matrix, got "
                  "%I x %I", (lua_Integer)n, (lua_Integer)M->rows, (lua_Integer)M->cols));
  if (n) memcpy(net->params, M->data, n * sizeof(float));
  h->version_id = 0;
  lua_settop(L, 1);
  return 1;
}

/* nn.threads() workers for a stateless backward pass: their lanes in a
** userdata it pushes (popped with the trainer's block).  Raises on memory
** errors. */
static void backward_threads(lua_State *L, nn_trainer *tr) {
  size_t workers = nn_lua_threads(L), bytes;
  nn_pool *pool = nn_lua_pool(L, workers);
  void *block = NULL;
  if (pool != NULL && nn_pool_workers(pool) < workers) workers = nn_pool_workers(pool);
  if (workers > 1) {
    if ((bytes = nn_trainer_lanes_size(tr, workers - 1)) == 0)
      luaL_error(L, "backward: the network is too large for %I threads",
                 (lua_Integer)workers);
    block = lua_newuserdatauv(L, bytes, 0);
  } else {
    lua_pushnil(L);
  }
  nn_trainer_use_pool(tr, pool, block, workers - 1);
}

/* net:backward(x, dy [, grads]) --> dx, grads.  Stateless: the forward pass
** is run again.  x and dy are tables (one sample) or nn.Matrix (a batch);
** grads, an nn.Matrix(1, n_params), is added to (a new one when absent).
** Raises on shapes that do not fit. */
static int net_backward(lua_State *L) {
  const nn_net *net;
  const nn_matrix *X, *DY;
  nn_matrix *G;
  nn_train_opts o;
  size_t n_x, n_y, n, bytes;
  float *x, *dy, *dx;
  void *block;
  nn_trainer *tr;
  net = nn_lua_pinnet(L, 1, 4, NULL);       /* at 5 */
  check_trainable(L, net, 0);
  n_x = net->n_inputs;
  n_y = net->n_outputs;
  X = nn_lua_tomatrix(L, 2);
  if (X != NULL) {
    if (X->cols != n_x)
      luaL_argerror(L, 2, lua_pushfstring(L, "X: expected %I columns, got %I",
                    (lua_Integer)n_x, (lua_Integer)X->cols));
    if (X->rows == 0) luaL_argerror(L, 2, "X: no rows");
    n = X->rows;
    if ((DY = nn_lua_tomatrix(L, 3)) == NULL) return luaL_typeerror(L, 3, NN_MATRIX);
    if (DY->rows != n || DY->cols != n_y)
      luaL_argerror(L, 3, lua_pushfstring(L, "dY: expected %I x %I, got %I x %I",
                    (lua_Integer)n, (lua_Integer)n_y, (lua_Integer)DY->rows,
                    (lua_Integer)DY->cols));
    nn_lua_checkinput(L, net, X->data, n, n_x, 2);
    x = (float *)X->data;
    dy = (float *)DY->data;
    dx = nn_lua_newmatrix(L, n, n_x)->data;          /* at 6 */
  } else {
    n = 1;
    x = (float *)lua_newuserdatauv(L, (n_x + n_y) * sizeof(float), 0);
    dy = x + n_x;
    nn_lua_checkfloats(L, 2, "x", x, n_x);
    nn_lua_checkinput(L, net, x, 1, n_x, 2);
    nn_lua_checkfloats(L, 3, "dy", dy, n_y);
    dx = (float *)lua_newuserdatauv(L, n_x * sizeof(float), 0);   /* at 7 */
  }
  if (lua_isnil(L, 4)) {
    G = nn_lua_newmatrix(L, 1, net->n_params);
    lua_replace(L, 4);
  } else if ((G = nn_lua_tomatrix(L, 4)) == NULL) {
    return luaL_typeerror(L, 4, NN_MATRIX);
  } else if (G->rows != 1 || G->cols != net->n_params) {
    luaL_argerror(L, 4, lua_pushfstring(L, "grads: expected a 1 x %I nn.Matrix, got "
                  "%I x %I", (lua_Integer)net->n_params, (lua_Integer)G->rows,
                  (lua_Integer)G->cols));
  }
  nn_train_defaults(&o, NN_OPT_SGD);
  o.batch = n < 256 ? n : 256;
  bytes = nn_trainer_size(net, &o);
  if (bytes == 0) return luaL_error(L, "backward: the network is too large");
  block = lua_newuserdatauv(L, bytes, 0);
  tr = nn_trainer_init(block, net, &o);
  backward_threads(L, tr);
  nn_train_backward(tr, net, dx, G->data, x, n_x, n, dy);
  lua_pop(L, 2);
  if (X != NULL) lua_pushvalue(L, 6);
  else nn_lua_pushfloats(L, 0, dx, n_x);
  lua_pushvalue(L, 4);
  return 2;
}


/* --- nn.Trainer: options -------------------------------------------------- */

static const char *const option_names[] = {
  "loss", "optimizer", "lr", "momentum", "nesterov", "beta1", "beta2", "eps",
  "weight_decay", "batch", "shuffle", "seed", "clip", "threads", NULL };

/* Raises "bad argument #arg to 'Trainer' (name: msg)". */
static int opt_error(lua_State *L, int arg, const char *name, const char *msg) {
  return luaL_argerror(L, arg, lua_pushfstring(L, "%s: %s", name, msg));
}

/* Field name of the options at arg pushed; 0 when absent (nothing pushed). */
static int get_opt(lua_State *L, int arg, const char *name, int type) {
  int t = lua_getfield(L, arg, name);
  if (t == LUA_TNIL) { lua_pop(L, 1); return 0; }
  if (t != type)
    opt_error(L, arg, name, lua_pushfstring(L, "%s expected, got %s",
              lua_typename(L, type), nn_lua_typename(L, -1)));
  return 1;
}

#define BIG  3.4e38     /* the largest option float32 holds, near enough */

/* A number option in [lo, hi] (open ends when lo_open / hi_open), or def. */
static float num_opt(lua_State *L, int arg, const char *name, float def,
                     double lo, int lo_open, double hi, int hi_open, int *given) {
  lua_Number v;
  if (given) *given = 0;
  if (!get_opt(L, arg, name, LUA_TNUMBER)) return def;
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v == v) || (lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi)) {
    if (hi >= BIG)      /* no upper bound but float32's */
      opt_error(L, arg, name, lua_pushfstring(L, "must be a finite number %s %f, got %f",
                lo_open ? ">" : ">=", (lua_Number)lo, v));
    opt_error(L, arg, name, lua_pushfstring(L, "must be in %s%f, %f%s, got %f",
              lo_open ? "(" : "[", (lua_Number)lo, (lua_Number)hi, hi_open ? ")" : "]", v));
  }
  if (given) *given = 1;
  return (float)v;
}

static int bool_opt(lua_State *L, int arg, const char *name, int def, int *given) {
  int v;
  if (given) *given = 0;
  if (!get_opt(L, arg, name, LUA_TBOOLEAN)) return def;
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (given) *given = 1;
  return v;
}

/* Raises when the option was given for an optimizer that does not use it. */
static void only_for(lua_State *L, int arg, const char *name, int given,
                     nn_optim have, int allowed_mask) {
  if (given && !(allowed_mask & (1 << have)))
    opt_error(L, arg, name, lua_pushfstring(L, "not used by optimizer '%s'",
              optim_names[have]));
}

/* A float option as histories show it: the shortest decimal that reads
** back as that float, so lr = 0.01 is kept as 0.01, not as the double
** 0.009999999776482582 that the float 0.01f is. */
static void push_option(lua_State *L, float v) {
  char text[NN_FTOA_MAX];
  double d = v;
  nn_number_read(text, nn_ftoa(text, v), &d);
  lua_pushnumber(L, (lua_Number)d);
}

/* The optimizer option, "adam" when absent.  Raises on another name. */
static nn_optim read_optimizer(lua_State *L, int arg) {
  int i;
  if (!get_opt(L, arg, "optimizer", LUA_TSTRING)) return NN_OPT_ADAM;
  for (i = 0; optim_names[i] && strcmp(optim_names[i], lua_tostring(L, -1)) != 0; i++) {}
  if (optim_names[i] == NULL)
    opt_error(L, arg, "optimizer", lua_pushfstring(L, "expected 'sgd', 'adam' or "
              "'rprop', got '%s'", lua_tostring(L, -1)));
  lua_pop(L, 1);
  return (nn_optim)i;
}

/* The loss option: a name or a criterion; when absent, cross entropy after
** a SoftMax, else mse.  Raises on anything else. */
static nn_loss read_loss(lua_State *L, int arg, const nn_net *net) {
  const nn_kind_info *last = nn_kind_info_of(net->layers[net->n_layers - 1].kind);
  nn_loss loss = (last->flags & NN_KIND_PROBS) ? NN_LOSS_CE : NN_LOSS_MSE;
  lua_getfield(L, arg, "loss");
  if (lua_type(L, -1) == LUA_TSTRING) {
    int i;
    for (i = 0; loss_names[i] && strcmp(loss_names[i], lua_tostring(L, -1)) != 0; i++) {}
    if (loss_names[i] == NULL)
      opt_error(L, arg, "loss", lua_pushfstring(L, "expected 'mse', 'cross_entropy', "
                "'bce' or a criterion, got '%s'", lua_tostring(L, -1)));
    loss = (nn_loss)i;
  } else if (luaL_testudata(L, -1, NN_CRITERION)) {
    loss = *(nn_loss *)lua_touserdata(L, -1);
  } else if (!lua_isnil(L, -1)) {
    opt_error(L, arg, "loss", lua_pushfstring(L, "string or criterion expected, got %s",
              nn_lua_typename(L, -1)));
  }
  lua_pop(L, 1);
  return loss;
}

/* The optimizer's numbers into o (its defaults for o->optimizer already
** there).  Raises on one out of range or given to an optimizer that does
** not use it. */
static void read_rates(lua_State *L, int arg, nn_train_opts *o) {
  nn_optim opt = o->optimizer;
  int g_lr, g_mom, g_nest, g_b1, g_b2, g_eps, g_wd, g_clip;
  o->lr = num_opt(L, arg, "lr", o->lr, 0, 1, BIG, 0, &g_lr);
  o->momentum = num_opt(L, arg, "momentum", 0.0f, 0, 0, 1, 1, &g_mom);
  o->nesterov = bool_opt(L, arg, "nesterov", 0, &g_nest);
  o->beta1 = num_opt(L, arg, "beta1", o->beta1, 0, 0, 1, 1, &g_b1);
  o->beta2 = num_opt(L, arg, "beta2", o->beta2, 0, 0, 1, 1, &g_b2);
  o->eps = num_opt(L, arg, "eps", o->eps, 0, 1, BIG, 0, &g_eps);
  o->weight_decay = num_opt(L, arg, "weight_decay", 0.0f, 0, 0, BIG, 0, &g_wd);
  o->clip = num_opt(L, arg, "clip", 0.0f, 0, 1, BIG, 0, &g_clip);
  only_for(L, arg, "lr", g_lr, opt, 1 << NN_OPT_SGD | 1 << NN_OPT_ADAM);
  only_for(L, arg, "momentum", g_mom, opt, 1 << NN_OPT_SGD);
  only_for(L, arg, "nesterov", g_nest, opt, 1 << NN_OPT_SGD);
  only_for(L, arg, "beta1", g_b1, opt, 1 << NN_OPT_ADAM);
  only_for(L, arg, "beta2", g_b2, opt, 1 << NN_OPT_ADAM);
  only_for(L, arg, "eps", g_eps, opt, 1 << NN_OPT_ADAM);
  only_for(L, arg, "weight_decay", g_wd, opt, 1 << NN_OPT_SGD | 1 << NN_OPT_ADAM);
  /* RPROP reads the gradient's signs alone, which a clip keeps */
  only_for(L, arg, "clip", g_clip, opt, 1 << NN_OPT_SGD | 1 << NN_OPT_ADAM);
  if (o->nesterov && o->momentum <= 0.0f)
    opt_error(L, arg, "nesterov", "needs momentum > 0");
}

/* The options batch, seed and shuffle into o and the header; returns the
** seed.  Raises on a batch out of range, a seed that is no integer, and a
** batch or shuffle given to RPROP, whose step takes every row (in chunks
** of RPROP_CHUNK, which change no sign of its gradient). */
static lua_Integer read_batching(lua_State *L, int arg, nn_train_opts *o,
                                 nn_ltrainer *lt) {
  lua_Integer batch = 32, seed = 0;
  int g_batch, g_shuffle, all_rows = o->optimizer == NN_OPT_RPROP;
  if ((g_batch = get_opt(L, arg, "batch", LUA_TNUMBER)) != 0) {
    if (!lua_isinteger(L, -1)) opt_error(L, arg, "batch", "integer expected");
    batch = lua_tointeger(L, -1);
    if (batch < 1 || batch > MAX_BATCH)
      opt_error(L, arg, "batch", lua_pushfstring(L, "must be in 1..%I, got %I",
                MAX_BATCH, batch));
    lua_pop(L, 1);
  }
  if (get_opt(L, arg, "seed", LUA_TNUMBER)) {
    if (!lua_isinteger(L, -1)) opt_error(L, arg, "seed", "integer expected");
    seed = lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  lt->shuffle = bool_opt(L, arg, "shuffle", !all_rows, &g_shuffle);
  only_for(L, arg, "batch", g_batch, o->optimizer, 1 << NN_OPT_SGD | 1 << NN_OPT_ADAM);
  only_for(L, arg, "shuffle", g_shuffle, o->optimizer, 1 << NN_OPT_SGD | 1 << NN_OPT_ADAM);
  if (all_rows) batch = RPROP_CHUNK;
  lt->batch = (size_t)batch;
  lt->rng = (uint64_t)seed;
  o->batch = (size_t)batch;
  return seed;
}

/* Push the options as histories show them: every one the optimizer uses,
** defaults filled in. */
static void push_shown_options(lua_State *L, const nn_train_opts *o,
                               const nn_ltrainer *lt, lua_Integer seed) {
  nn_optim opt = o->optimizer;
  lua_createtable(L, 0, 14);
  lua_pushstring(L, loss_names[o->loss]); lua_setfield(L, -2, "loss");
  lua_pushstring(L, optim_names[opt]);   lua_setfield(L, -2, "optimizer");
  if (opt != NN_OPT_RPROP) {
    push_option(L, o->lr);            lua_setfield(L, -2, "lr");
    push_option(L, o->weight_decay);  lua_setfield(L, -2, "weight_decay");
  }
  if (opt == NN_OPT_SGD) {
    push_option(L, o->momentum);      lua_setfield(L, -2, "momentum");
    lua_pushboolean(L, o->nesterov);     lua_setfield(L, -2, "nesterov");
  }
  if (opt == NN_OPT_ADAM) {
    push_option(L, o->beta1);         lua_setfield(L, -2, "beta1");
    push_option(L, o->beta2);         lua_setfield(L, -2, "beta2");
    push_option(L, o->eps);           lua_setfield(L, -2, "eps");
  }
  if (o->clip > 0.0f) { push_option(L, o->clip); lua_setfield(L, -2, "clip"); }
  if (opt != NN_OPT_RPROP) {
    lua_pushinteger(L, (lua_Integer)lt->batch); lua_setfield(L, -2, "batch");
    lua_pushboolean(L, lt->shuffle);     lua_setfield(L, -2, "shuffle");
  }
  lua_pushinteger(L, seed);              lua_setfield(L, -2, "seed");
}

/* A layer that takes its batch's statistics (nn.BatchNorm) trains on
** batches, which rprop, a step of every row, has not.  Raises naming it. */
static void check_whole_batch(lua_State *L, int arg, const nn_net *net,
                              const nn_train_opts *o) {
  size_t i;
  for (i = 0; i < net->n_layers && o->optimizer == NN_OPT_RPROP; i++)
    if (nn_kind_info_of(net->layers[i].kind)->flags & NN_KIND_BATCH)
      opt_error(L, arg, "optimizer", lua_pushfstring(L, "rprop takes every row in one "
                "step, which module %I (nn.%s) cannot: use sgd or adam",
                (lua_Integer)i + 1, nn_kind_name(net->layers[i].kind)));
}

/* Reads the options at arg into o and the header, in steps; pushes the
** table that histories show.  Raises on unknown or bad options. */
static void read_options(lua_State *L, int arg, const nn_net *net, nn_train_opts *o,
                         nn_ltrainer *lt) {
  lua_Integer seed;
  if (!lua_isnoneornil(L, arg)) luaL_checktype(L, arg, LUA_TTABLE);
  else { lua_newtable(L); lua_replace(L, arg); }
  nn_lua_checkoptions(L, arg, option_names);
  nn_train_defaults(o, read_optimizer(L, arg));
  o->loss = read_loss(L, arg, net);
  read_rates(L, arg, o);
  seed = read_batching(L, arg, o, lt);
  o->seed = (uint64_t)seed;
  check_whole_batch(L, arg, net, o);
  lt->threads = 0;
  if (lua_getfield(L, arg, "threads") != LUA_TNIL) {
    const char *msg = nn_lua_tothreads(L, -1, &lt->threads);
    if (msg != NULL) opt_error(L, arg, "threads", msg);
  }
  lua_pop(L, 1);
  push_shown_options(L, o, lt, seed);
}

/* nn.Trainer(net, opts) */
static int nn_Trainer(lua_State *L) {
  const nn_net *net;
  nn_train_opts o;
  nn_ltrainer head, *lt;
  size_t bytes, off = (sizeof(nn_ltrainer) + 15) / 16 * 16;
  net = nn_lua_pinnet(L, 1, 2, NULL);       /* at 3 */
  check_trainable(L, net, 1);
  read_options(L, 2, net, &o, &head);       /* options table at 4 */
  bytes = nn_trainer_size(net, &o);
  if (bytes == 0 || bytes > ((size_t)-1) / 2 - off)
    return luaL_error(L, "nn.Trainer: the network is too large");
  lt = (nn_ltrainer *)lua_newuserdatauv(L, off + bytes, 5);
  *lt = head;
  lt->tr = nn_trainer_init((char *)lt + off, net, &o);
  luaL_setmetatable(L, NN_TRAINER);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, 4);
  lua_setiuservalue(L, -2, 2);
  return 1;
}


/* --- nn.Trainer: steps ---------------------------------------------------- */

static nn_ltrainer *check_trainer(lua_State *L) {
  return (nn_ltrainer *)luaL_checkudata(L, 1, NN_TRAINER);
}

/* Pushes the trainer's network (at top - 1) and its pinned block (top);
** returns the net.  Raises when it no longer has the trainer's layers. */
static nn_net *trainer_net(lua_State *L, nn_ltrainer *lt, int *net_idx) {
  nn_net *net;
  lua_getiuservalue(L, 1, 1);
  *net_idx = lua_gettop(L);
  net = nn_lua_pinnet(L, *net_idx, *net_idx, NULL);
  if (!nn_trainer_fits(lt->tr, net))
    luaL_error(L, "the network's layers changed since its nn.Trainer was made");
  return net;
}

/* The trainer's threads (its option, else nn.threads()) for its next
** calls: the state's pool, and the lanes of the workers beyond the caller's
** in user value 5 of the trainer at 1, grown as needed.  Raises on memory
** errors. */
static void use_threads(lua_State *L, nn_ltrainer *lt) {
  size_t workers = lt->threads ? lt->threads : nn_lua_threads(L), bytes;
  nn_pool *pool = nn_lua_pool(L, workers);
  void *block = NULL;
  if (pool != NULL && nn_pool_workers(pool) < workers) workers = nn_pool_workers(pool);
  if (workers > 1) {
    if ((bytes = nn_trainer_lanes_size(lt->tr, workers - 1)) == 0)
      luaL_error(L, "the trainer is too large for %I threads", (lua_Integer)workers);
    block = scratch(L, 1, 5, bytes);
  }
  nn_trainer_use_pool(lt->tr, pool, block, workers - 1);
}

static void forget_version(lua_State *L, int net_idx) {
  nn_lnet *h = nn_lua_tonet(L, net_idx);
  h->version_id = 0;      /* the weights are no longer the stored ones */
}

/* tr:step(X, T) --> loss.  Raises on bad X or T, and on divergence (the
** weights unchanged), naming the batch: the trainer's steps so far + 1. */
static int tr_step(lua_State *L) {
  nn_ltrainer *lt = check_trainer(L);
  int net_idx;
  nn_net *net;
  const float *X;
  size_t n;
  targets t;
  double loss;
  int st;
  char err[NN_ERRMAX];
  lua_settop(L, 3);
  net = trainer_net(L, lt, &net_idx);
  X = check_X(L, 2, 2, 1, 4, net, net->n_inputs, &n);
  t = check_T(L, 3, 3, 1, 3, net_idx, n, net->n_outputs, nn_trainer_opts(lt->tr)->loss);
  use_threads(L, lt);
  if ((st = nn_train_step(lt->tr, net, &loss, X, net->n_inputs, NULL, n, t.T, t.classes,
                         err)) == NN_ESIZE)
    return luaL_argerror(L, 2, err);
  if (st != NN_OK)
    return luaL_error(L, "training diverged at batch %I: %s (the weights are those "
                      "before this step)", (lua_Integer)nn_trainer_steps(lt->tr) + 1, err);
  forget_version(L, net_idx);
  lua_pushnumber(L, loss);
  return 1;
}

/* tr:evaluate(X, T) --> loss, accuracy (nil unless T holds classes) */
static int tr_evaluate(lua_State *L) {
  nn_ltrainer *lt = check_trainer(L);
  int net_idx;
  nn_net *net;
  const float *X;
  size_t n, correct;
  targets t;
  double loss;
  lua_settop(L, 3);
  net = trainer_net(L, lt, &net_idx);
  X = check_X(L, 2, 2, 1, 4, net, net->n_inputs, &n);
  t = check_T(L, 3, 3, 1, 3, net_idx, n, net->n_outputs, nn_trainer_opts(lt->tr)->loss);
  use_threads(L, lt);
  nn_train_evaluate(lt->tr, net, &loss, &correct, X, net->n_inputs, NULL, n, t.T,
                    t.classes);
  lua_pushnumber(L, loss);
  if (t.is_class) lua_pushnumber(L, (lua_Number)correct / (lua_Number)n);
  else lua_pushnil(L);
  return 2;
}

static int tr_tostring(lua_State *L) {
  nn_ltrainer *lt = check_trainer(L);
  const nn_train_opts *o = nn_trainer_opts(lt->tr);
  lua_pushfstring(L, "nn.Trainer (%s, %s, batch %I, %I steps)", optim_names[o->optimizer],
                  loss_names[o->loss], (lua_Integer)lt->batch,
                  (lua_Integer)nn_trainer_steps(lt->tr));
  return 1;
}


/* --- nn.Trainer: fit ------------------------------------------------------ */

static const char *const fit_names[] = {
  "epochs", "validation", "validation_split", "patience", "on_epoch", "progress", NULL };

/* What a call of tr:fit knows: its options, its data (stack slots and the
** rows of X it trains and validates on), the best epoch so far, and the
** progress line's clock. */
typedef struct fit_state {
  int epochs, patience, progress;   /* the options */
  double split;
  nn_net *net;                      /* pinned at net_idx + 1 */
  int net_idx;
  const float *X, *Xv;              /* [rows][n_x]; Xv is X for a split */
  size_t n_x;
  targets t, tv;
  size_t *train, *val;              /* [n_train], [n_val]: rows of X, Xv */
  size_t n_train, n_val;
  int has_val;
  int hist, entries;                /* the history and its epochs, on the stack */
  float *best_params;               /* [n_params] with patience, else NULL */
  double best;
  int best_epoch;
  int epoch, live;                  /* live: a terminal, the line redrawn */
  size_t batches;
  double t_start, t_epoch, t_shown;
} fit_state;

/* One epoch's numbers, as its entry in the history shows them. */
typedef struct fit_epoch {
  double loss, val_loss, val_acc, ms;   /* val_acc < 0: none */
} fit_epoch;

/* The live line: where the epoch is, the loss so far, speed, time left. */
static void show_live(fit_state *f, size_t batch, double loss, size_t done) {
  double t = now_ms(), rate, left;
  if (t - f->t_shown < 100.0) return;          /* at most 10 times a second */
  f->t_shown = t;
  rate = done / ((t - f->t_epoch) / 1e3 + 1e-9);
  left = ((double)(f->epochs - f->epoch + 1) * f->n_train - done) / (rate + 1e-9);
  fprintf(stderr, "\repoch %d/%d  batch %zu/%zu  loss %.4f  %.0f samples/s  %.0f s left\033[K",
          f->epoch, f->epochs, batch, f->batches, loss, rate, left);
  fflush(stderr);
}

static void show_epoch(const fit_state *f, const fit_epoch *e) {
  fprintf(stderr, "%sepoch %d/%d  loss %.4f", f->live ? "\r" : "", f->epoch, f->epochs,
          e->loss);
  if (f->has_val) fprintf(stderr, "  val_loss %.4f", e->val_loss);
  if (e->val_acc >= 0.0) fprintf(stderr, "  val_accuracy %.4f", e->val_acc);
  fprintf(stderr, "  %.2f s%s\n", e->ms / 1e3, f->live ? "\033[K" : "");
  fflush(stderr);
}

static void set_num(lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* An integer option of fit in 1..1000000, or def. */
static int count_opt(lua_State *L, const char *name, int def) {
  lua_Integer v;
  if (!get_opt(L, 4, name, LUA_TNUMBER)) return def;
  v = lua_tointeger(L, -1);
  if (!lua_isinteger(L, -1) || v < 1 || v > 1000000)
    opt_error(L, 4, name, "must be an integer in 1..1000000");
  lua_pop(L, 1);
  return (int)v;
}

/* The options at 4 (a new table when nil) into f.  Raises on unknown or
** bad ones. */
static void fit_options(lua_State *L, fit_state *f) {
  lua_settop(L, 4);
  if (lua_isnil(L, 4)) { lua_newtable(L); lua_replace(L, 4); }
  luaL_checktype(L, 4, LUA_TTABLE);
  nn_lua_checkoptions(L, 4, fit_names);
  f->epochs = count_opt(L, "epochs", 10);
  f->patience = count_opt(L, "patience", 0);
  f->split = num_opt(L, 4, "validation_split", 0.0f, 0, 1, 1, 1, NULL);
  f->progress = bool_opt(L, 4, "progress", 0, NULL);
  if (get_opt(L, 4, "on_epoch", LUA_TFUNCTION)) lua_pop(L, 1);
  if (get_opt(L, 4, "validation", LUA_TTABLE)) {
    if (f->split > 0.0)
      opt_error(L, 4, "validation", "give validation or validation_split, not both");
    f->has_val = 1;
    lua_pop(L, 1);
  }
}

/* The network (at 5, its block at 6), X and T at 2 and 3, and the option
** validation = { Xv, Tv } when given, checked against it into f.  Raises
** on shapes that do not fit. */
static void fit_data(lua_State *L, nn_ltrainer *lt, fit_state *f, size_t *n) {
  nn_loss loss = nn_trainer_opts(lt->tr)->loss;
  f->net = trainer_net(L, lt, &f->net_idx);
  f->n_x = f->net->n_inputs;
  f->X = check_X(L, 2, 2, 0, 0, f->net, f->n_x, n);
  f->t = check_T(L, 3, 3, 0, 0, f->net_idx, *n, f->net->n_outputs, loss);
  if (f->has_val) {
    int vi;
    lua_getfield(L, 4, "validation");
    vi = lua_gettop(L);
    lua_rawgeti(L, vi, 1);
    lua_rawgeti(L, vi, 2);
    f->Xv = check_X(L, vi + 1, 4, 0, 0, f->net, f->n_x, &f->n_val);
    f->tv = check_T(L, vi + 2, 4, 0, 0, f->net_idx, f->n_val, f->net->n_outputs, loss);
  }
}

/* The rows of X to train on, all n of them in order, or with
** validation_split the rows left after a shuffled share is set aside to
** validate on.  Raises when that share comes to no row. */
static void fit_split(lua_State *L, nn_ltrainer *lt, fit_state *f, size_t n) {
  size_t i, n_val;
  f->train = (size_t *)lua_newuserdatauv(L, n * sizeof(size_t), 0);
  for (i = 0; i < n; i++) f->train[i] = i;
  f->n_train = n;
  if (f->split <= 0.0) return;
  n_val = (size_t)(f->split * (double)n);
  if (n_val == 0)      /* split < 1: some row is always left to train on */
    opt_error(L, 4, "validation_split", lua_pushfstring(L, "leaves no validation "
              "rows of %I", (lua_Integer)n));
  nn_train_shuffle(f->train, n, &lt->rng);
  f->n_train = n - n_val;
  f->val = f->train + f->n_train;
  f->n_val = n_val;
  f->Xv = f->X;
  f->tv = f->t;
  f->has_val = 1;
}

/* Push history = { epochs = {}, options = {...}, rows = n_train }: the
** trainer's options (its user value 2) and fit's own. */
static void push_history(lua_State *L, fit_state *f) {
  lua_createtable(L, 0, 5);
  f->hist = lua_gettop(L);
  lua_createtable(L, f->epochs < 1024 ? f->epochs : 1024, 0);
  f->entries = lua_gettop(L);
  lua_pushvalue(L, f->entries);
  lua_setfield(L, f->hist, "epochs");
  lua_createtable(L, 0, 20);
  lua_getiuservalue(L, 1, 2);
  lua_pushnil(L);
  while (lua_next(L, -2)) { lua_pushvalue(L, -2); lua_insert(L, -2); lua_settable(L, -5); }
  lua_pop(L, 1);
  lua_pushinteger(L, f->epochs);
  lua_setfield(L, -2, "epochs");
  if (f->patience) { lua_pushinteger(L, f->patience); lua_setfield(L, -2, "patience"); }
  /* as the caller wrote it: f->split is a float, and 0.2f is not 0.2 */
  if (f->split > 0.0) { lua_getfield(L, 4, "validation_split"); lua_setfield(L, -2, "validation_split"); }
  lua_setfield(L, f->hist, "options");
  lua_pushinteger(L, (lua_Integer)f->n_train);
  lua_setfield(L, f->hist, "rows");
}

/* One pass over the training rows, shuffled when the trainer shuffles, in
** batches (the whole set for rprop); e->loss their mean loss.  Raises on
** divergence, naming the epoch and batch (the weights those before it). */
static void train_epoch(lua_State *L, nn_ltrainer *lt, fit_state *f, fit_epoch *e) {
  size_t batch = nn_trainer_opts(lt->tr)->optimizer == NN_OPT_RPROP ? f->n_train
                                                                      : lt->batch;
  size_t b, done = 0;
  double sum = 0.0, loss;
  char err[NN_ERRMAX];
  f->t_epoch = now_ms();
  f->batches = (f->n_train + batch - 1) / batch;
  if (lt->shuffle) nn_train_shuffle(f->train, f->n_train, &lt->rng);
  for (b = 0; b < f->batches; b++) {
    size_t m = f->n_train - done < batch ? f->n_train - done : batch;
    int st = nn_train_step(lt->tr, f->net, &loss, f->X, f->n_x, f->train + done, m,
                           f->t.T, f->t.classes, err);
    if (st != NN_OK) {
      forget_version(L, f->net_idx);
      if (f->live) fputs("\n", stderr);
      if (st == NN_ESIZE)
        luaL_error(L, "epoch %d, batch %I: %s (the weights are those before this "
                   "batch)", f->epoch, (lua_Integer)b + 1, err);
      luaL_error(L, "training diverged at epoch %d, batch %I: %s (the weights "
                 "are those before this step)", f->epoch, (lua_Integer)b + 1, err);
    }
    sum += loss * (double)m;
    done += m;
    if (f->live) show_live(f, b + 1, sum / (double)done, done);
  }
  e->loss = sum / (double)f->n_train;
}

/* The loss (and accuracy, for class targets) on the validation rows. */
static void validate(nn_ltrainer *lt, const fit_state *f, fit_epoch *e) {
  size_t correct;
  e->val_loss = 0.0;
  e->val_acc = -1.0;
  if (!f->has_val) return;
  nn_train_evaluate(lt->tr, f->net, &e->val_loss, &correct, f->Xv, f->n_x, f->val,
                    f->n_val, f->tv.T, f->tv.classes);
  if (f->tv.is_class) e->val_acc = (double)correct / (double)f->n_val;
}

/* The epoch's entry, appended to the history's epochs and left on top. */
static void record_epoch(lua_State *L, const fit_state *f, const fit_epoch *e) {
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, f->epoch);
  lua_setfield(L, -2, "epoch");
  set_num(L, "loss", e->loss);
  if (f->has_val) set_num(L, "val_loss", e->val_loss);
  if (e->val_acc >= 0.0) set_num(L, "val_accuracy", e->val_acc);
  set_num(L, "ms", e->ms);
  lua_pushvalue(L, -1);
  lua_rawseti(L, f->entries, f->epoch);
}

/* The best epoch so far, by validation loss when there is one: remembered,
** and with patience its weights kept. */
static void keep_best(fit_state *f, const fit_epoch *e) {
  double score = f->has_val ? e->val_loss : e->loss;
  if (f->epoch > 1 && !(score < f->best)) return;
  f->best = score;
  f->best_epoch = f->epoch;
  if (f->best_params)
    memcpy(f->best_params, f->net->params, f->net->n_params * sizeof(float));
}

/* Calls on_epoch with the entry on top (popping it); returns why fit stops
** after this epoch ("callback", "patience"), or NULL.  Raises on an error
** in on_epoch and when it changed the network's layers. */
static const char *after_epoch(lua_State *L, nn_ltrainer *lt, const fit_state *f) {
  int stop = 0;
  if (get_opt(L, 4, "on_epoch", LUA_TFUNCTION)) {
    int moved;
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    moved = nn_lua_pinnet(L, f->net_idx, lua_gettop(L), NULL) != f->net;
    lua_pop(L, 1);
    if (moved || !nn_trainer_fits(lt->tr, f->net))
      luaL_error(L, "the network's layers changed since its nn.Trainer was made");
  }
  lua_pop(L, 1);
  if (stop) return "callback";
  if (f->patience && f->epoch - f->best_epoch >= f->patience) return "patience";
  return NULL;
}

/* The history's last fields; with patience, the best epoch's weights back. */
static void finish(lua_State *L, fit_state *f, const char *stopped) {
  lua_pushstring(L, stopped);
  lua_setfield(L, f->hist, "stopped");
  if (f->best_params)
    memcpy(f->net->params, f->best_params, f->net->n_params * sizeof(float));
  forget_version(L, f->net_idx);
  lua_pushinteger(L, f->best_epoch);
  lua_setfield(L, f->hist, "best_epoch");
  lua_pushvalue(L, f->hist);
}

/* tr:fit(X, T [, opts]) --> history.  Raises on bad arguments, on an error
** in on_epoch, and on divergence (naming the epoch and batch; the weights
** are those before that step). */
static int tr_fit(lua_State *L) {
  nn_ltrainer *lt = check_trainer(L);
  const char *stopped = NULL;
  fit_state f;
  size_t n;
  memset(&f, 0, sizeof f);
  fit_options(L, &f);
  fit_data(L, lt, &f, &n);
  fit_split(L, lt, &f, n);
  if (f.patience)
    f.best_params = (float *)lua_newuserdatauv(L, f.net->n_params * sizeof(float), 0);
  push_history(L, &f);
  use_threads(L, lt);
  f.live = f.progress && isatty(fileno(stderr));
  f.t_start = now_ms();
  for (f.epoch = 1; f.epoch <= f.epochs && stopped == NULL; f.epoch++) {
    fit_epoch e;
    train_epoch(L, lt, &f, &e);
    validate(lt, &f, &e);
    e.ms = now_ms() - f.t_epoch;
    record_epoch(L, &f, &e);
    keep_best(&f, &e);
    if (f.progress) show_epoch(&f, &e);
    stopped = after_epoch(L, lt, &f);
  }
  finish(L, &f, stopped ? stopped : "epochs");
  return 1;
}

static const luaL_Reg crit_methods[] = {
  {"forward", crit_forward}, {"backward", crit_backward}, {NULL, NULL}
};

static const luaL_Reg trainer_methods[] = {
  {"step", tr_step}, {"evaluate", tr_evaluate}, {"fit", tr_fit}, {NULL, NULL}
};

static const luaL_Reg net_methods[] = {
  {"backward", net_backward}, {"get_params", net_get_params},
  {"set_params", net_set_params}, {NULL, NULL}
};

static const luaL_Reg constructors[] = {
  {"MSECriterion", nn_MSECriterion},
  {"CrossEntropyCriterion", nn_CrossEntropyCriterion},
  {"BCECriterion", nn_BCECriterion},
  {"Trainer", nn_Trainer},
  {NULL, NULL}
};

/* A metatable named name, its methods as __index, its __tostring. */
static void new_type(lua_State *L, const char *name, const luaL_Reg *methods,
                     lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}

void nn_lua_open_train(lua_State *L) {
  new_type(L, NN_CRITERION, crit_methods, crit_tostring);
  new_type(L, NN_TRAINER, trainer_methods, tr_tostring);
  luaL_getmetatable(L, NN_NETWORK);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, net_methods, 0);
  lua_pop(L, 2);
  luaL_setfuncs(L, constructors, 0);
}
