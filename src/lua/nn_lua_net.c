/*
** nn_lua_net.c: the "nn.Network" type of the Lua binding: its handle and
** block, its name in tostring, the one forward pass of a sample that
** net:forward, net:classify and store:classify share, and its methods (a
** batch, an nn.Matrix, goes on to nn_lua_batch.c; training's methods are
** nn_lua_train.c's, export nn_lua_io.c's).
**
** Every module constructor (nn.Linear, nn.ReLU, ...) returns a one-layer
** network and nn.Sequential joins networks (nn_lua_layers.c), so a module
** and a network are the same thing to the user, as in Torch.  This file
** converts and checks arguments; the arithmetic is all in nn_engine.c.
** Scratch for a forward pass lives on the C stack (or, for wide networks,
** in the per-state work buffer), never in the network.
*/
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "engine/nn_fold.h"
#include "lua/nn_lua.h"


/* --- the Network type ---------------------------------------------------- */

nn_lnet *nn_lua_tonet(lua_State *L, int arg) {
  return (nn_lnet *)luaL_testudata(L, arg, NN_NETWORK);
}

nn_lnet *nn_lua_checknet(lua_State *L, int arg) {
  return (nn_lnet *)luaL_checkudata(L, arg, NN_NETWORK);
}

/* The pin itself, the one place that reads a network's block (see
** nn_lnet), for the network at arg, already checked.  The net is the start
** of its block (nn_net_init). */
static nn_net *pin(lua_State *L, int arg, int top) {
  arg = lua_absindex(L, arg);
  assert(arg <= top);
  lua_settop(L, top);
  lua_getiuservalue(L, arg, 1);
  return (nn_net *)lua_touserdata(L, -1);
}

nn_net *nn_lua_pinnet(lua_State *L, int arg, int top, nn_lnet **h) {
  nn_lnet *handle = nn_lua_checknet(L, arg);
  if (h != NULL) *h = handle;
  return pin(L, arg, top);
}

/* nn_lua_pinnet for the network at 1 of this file's methods, its type
** checked against the metatable that is the method's upvalue: cheaper than
** luaL_checkudata's registry lookup, in the calls made most often.
** Raises as nn_lua_checknet. */
static nn_net *pin_self(lua_State *L, int top) {
  if (lua_touserdata(L, 1) != NULL && lua_getmetatable(L, 1)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return pin(L, 1, top);
  }
  return nn_lua_pinnet(L, 1, top, NULL);
}

/* Raises on memory errors and on sizes too large to allocate. */
nn_net *nn_lua_newnet(lua_State *L, const nn_layer *layers, size_t n,
                      size_t n_params, int sequential, nn_lnet **h) {
  size_t bytes = nn_net_size(n, n_params);
  nn_lnet *handle;
  nn_net *net;
  if (bytes == 0)
    luaL_error(L, "network too large (%I parameters)", (lua_Integer)n_params);
  /* The handle first, empty, so that nothing is lost if the block fails. */
  handle = (nn_lnet *)lua_newuserdatauv(L, sizeof(nn_lnet), 2);
  memset(handle, 0, sizeof *handle);
  handle->sequential = sequential;
  luaL_setmetatable(L, NN_NETWORK);
  net = nn_net_init(lua_newuserdatauv(L, bytes, 0), layers, n, n_params);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, -3, 1);
  if (h != NULL) *h = handle;
  return net;
}

/* Writes "nn.Linear(4 -> 3)", "nn.ReLU", "nn.LeakyReLU(0.01)" ... into the
** buffer: the sizes of a sized kind, then its hyper-parameters. */
static void add_module_name(luaL_Buffer *b, const nn_layer *l) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  char num[64];
  size_t j;
  const char *sep = "(";
  luaL_addstring(b, "nn.");
  luaL_addstring(b, nn_kind_name(l->kind));
  if (d == NULL) return;
  if (d->n_sizes == 1) {
    snprintf(num, sizeof num, "(%zu", l->n_in);
    luaL_addstring(b, num);
    sep = ", ";
  } else if (d->n_sizes == 2) {
    snprintf(num, sizeof num, "(%zu -> %zu", l->n_in, l->n_out);
    luaL_addstring(b, num);
    sep = ", ";
  }
  for (j = 0; j < d->n_hyper; j++, sep = ", ") {
    if (d->hyper[j].choices)   /* by its name: nn.GELU("tanh") */
      snprintf(num, sizeof num, "%s\"%s\"", sep, d->hyper[j].choices[(size_t)l->hyper[j]]);
    else
      snprintf(num, sizeof num, "%s%.7g", sep, (double)l->hyper[j]);
    luaL_addstring(b, num);
  }
  if (sep[0] == ',') luaL_addchar(b, ')');
}

static void push_module_name(lua_State *L, const nn_layer *l) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  add_module_name(&b, l);
  luaL_pushresult(&b);
}


/* --- forward ------------------------------------------------------------- */

/* Number of inputs this call takes: the net's, or #x for a net of
** element-wise layers only. */
static size_t input_width(lua_State *L, const nn_net *net, int arg) {
  if (net->n_inputs > 0) return net->n_inputs;
  return nn_lua_checklen(L, arg, "x");
}

static size_t output_width(const nn_net *net, size_t n_x) {
  return net->n_outputs > 0 ? net->n_outputs : n_x;
}

/* Raises on bad x. */
void nn_lua_forward(lua_State *L, const nn_net *net, int arg, float *stack_buf,
                    nn_lua_pass *pass) {
  size_t n_x = input_width(L, net, arg), n_y = output_width(net, n_x);
  float *x = nn_lua_scratch(L, stack_buf, n_x + n_y + nn_work_size(net, n_x));
  float *y = x + n_x;
  nn_lua_readfloats(L, arg, arg, "x", x, n_x);
  nn_lua_checkinput(L, net, x, 1, n_x, arg);
  nn_forward(net, y, x, n_x, y + n_y);
  pass->x = x;
  pass->y = y;
  pass->n_x = n_x;
  pass->n_y = n_y;
}

size_t nn_lua_pushbest(lua_State *L, int labels, const nn_lua_pass *pass) {
  size_t best = nn_argmax(pass->y, pass->n_y);
  nn_lua_pushlabel(L, labels, best);
  lua_pushnumber(L, (lua_Number)pass->y[best]);
  return best;
}

/* A wide net's y lives in the per-state work buffer (nn_lua_work), which a
** finalizer running another forward pass could overwrite, and a finalizer
** may run wherever Lua allocates.  So the table that receives y is made
** before the pass, and y is copied out with lua_pushnumber and lua_rawseti,
** which never collect. */
static void new_result(lua_State *L, int idx, const nn_net *net) {
  lua_createtable(L, (int)output_width(net, input_width(L, net, 2)), 0);
  lua_replace(L, idx);
}

static void copy_out(lua_State *L, int idx, const float *y /* [n] */, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    lua_pushnumber(L, (lua_Number)y[i]);
    lua_rawseti(L, idx, (lua_Integer)i + 1);
  }
}

/* net:forward(x [, out]) --> y, or net:forward(X [, Y]) --> Y (nn_lua_batch.c) */
static int net_forward(lua_State *L) {
  float buf[NN_STACK_FLOATS];
  nn_lua_pass pass;
  int in = lua_type(L, 2), out = lua_type(L, 3);
  const nn_net *net = pin_self(L, 3);   /* at 4 */
  if (in == LUA_TUSERDATA) return nn_lua_forward_batch(L, net);
  if (out != LUA_TTABLE) {
    if (out != LUA_TNONE && out != LUA_TNIL) luaL_typeerror(L, 3, "table");
    new_result(L, 3, net);
  }
  nn_lua_forward(L, net, 2, buf, &pass);
  copy_out(L, 3, pass.y, pass.n_y);
  lua_settop(L, 3);
  return 1;
}

/* net:classify(x [, labels]) --> label, score, y
** net:classify(X [, labels]) --> labels, scores, Y (nn_lua_batch.c) */
static int net_classify(lua_State *L) {
  float buf[NN_STACK_FLOATS];
  nn_lua_pass pass;
  int labels = 0;
  const nn_net *net = pin_self(L, 3);   /* at 4 */
  if (!lua_isnil(L, 3)) {
    nn_lua_checklabels(L, 3, 3, net->n_outputs);
    lua_replace(L, 3);
    labels = 3;
  }
  if (lua_type(L, 2) == LUA_TUSERDATA) return nn_lua_classify_batch(L, net, labels);
  lua_pushnil(L);
  new_result(L, 5, net);            /* y, at 5 */
  nn_lua_forward(L, net, 2, buf, &pass);
  if (pass.n_y == 0) return luaL_error(L, "classify: the network gives no outputs");
  nn_lua_checkoutputs(L, NULL, 0, pass.y, pass.n_y);
  copy_out(L, 5, pass.y, pass.n_y);
  /* neither of these allocates, so y is still there */
  if (labels == 0 && nn_lua_getlabels(L, 1) == LUA_TTABLE) labels = lua_gettop(L);
  nn_lua_pushbest(L, labels, &pass);
  lua_pushvalue(L, 5);
  return 3;
}

/* A shape as a list of its dimensions: {6, 28, 28}, {4, 10}, {84}. */
static void push_shape(lua_State *L, const nn_shape *sh) {
  size_t r;
  lua_createtable(L, (int)sh->rank, 0);
  for (r = 0; r < sh->rank; r++) {
    lua_pushinteger(L, (lua_Integer)sh->d[r]);
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
}

/* Each layer's output shape, in a userdata pushed on the stack (the input's
** at [n_layers]).  Raises on memory errors. */
static const nn_shape *net_shapes(lua_State *L, const nn_net *net) {
  nn_shape *sh = (nn_shape *)lua_newuserdatauv(L, (net->n_layers + 1) * sizeof(nn_shape), 0);
  nn_net_shapes(net, &sh[net->n_layers], sh);
  return sh;
}

/* net:trace(x) --> { { module = "nn.Linear(4 -> 3)", values = {...} },
** ... }, and shape, the dimensions of values that are an image ({6, 28,
** 28} after a Conv2d: channels, height, width). */
static int net_trace(lua_State *L) {
  const nn_net *net = nn_lua_pinnet(L, 1, 2, NULL);   /* at 3 */
  size_t n_x = input_width(L, net, 2), i, n_out = nn_trace_size(net, n_x);
  float *x, *out;
  size_t *offsets;
  const nn_shape *shapes;
  /* One scratch userdata: the offsets, then x, then every layer's output. */
  size_t bytes = (net->n_layers + 1) * sizeof(size_t) + (n_x + n_out) * sizeof(float);
  offsets = (size_t *)lua_newuserdatauv(L, bytes, 0);
  x = (float *)(offsets + net->n_layers + 1);
  out = x + n_x;
  nn_lua_checkfloats(L, 2, "x", x, n_x);
  nn_lua_checkinput(L, net, x, 1, n_x, 2);
  nn_trace(net, out, offsets, x, n_x);
  shapes = net_shapes(L, net);
  lua_createtable(L, (int)net->n_layers, 0);
  for (i = 0; i < net->n_layers; i++) {
    lua_createtable(L, 0, 3);
    if (shapes[i].rank > 1) {   /* an image's: a flat row's is #values */
      push_shape(L, &shapes[i]);
      lua_setfield(L, -2, "shape");
    }
    push_module_name(L, &net->layers[i]);
    lua_setfield(L, -2, "module");
    nn_lua_pushfloats(L, 0, out + offsets[i], offsets[i + 1] - offsets[i]);
    lua_setfield(L, -2, "values");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}


/* --- weights and labels -------------------------------------------------- */

/* The layer at module position i, argument arg, with parameters; raises
** when out of range or a kind without. */
static const nn_layer *check_params(lua_State *L, const nn_net *net, int arg,
                                    lua_Integer i) {
  const nn_layer *l;
  if (i < 1 || (lua_Unsigned)i > net->n_layers)
    luaL_argerror(L, arg, lua_pushfstring(L, "module %I out of range 1..%I",
                  i, (lua_Integer)net->n_layers));
  l = &net->layers[i - 1];
  if (nn_layer_n_params(l) == 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "module %I is nn.%s, which has no "
                  "parameters", i, nn_kind_name(l->kind)));
  return l;
}

/* The tensor of layer l named by the string at arg.  Raises naming the
** tensors it has. */
static size_t check_tensor(lua_State *L, const nn_layer *l, int arg) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  const char *name = luaL_checkstring(L, arg);
  size_t t = nn_tensor_find(d, name), j;
  luaL_Buffer b;
  if (t < d->n_tensors) return t;
  luaL_buffinit(L, &b);
  for (j = 0; j < d->n_tensors; j++) {
    if (j) luaL_addstring(&b, ", ");
    luaL_addstring(&b, d->tensors[j].name);
  }
  luaL_pushresult(&b);
  return (size_t)luaL_argerror(L, arg, lua_pushfstring(L, "nn.%s has no tensor "
                               "'%s' (it has %s)", d->name, name, lua_tostring(L, -1)));
}

/* What messages call tensor t of l given in order: W and b for PyTorch's
** weight and bias, as the README names them, else its own name. */
static const char *tensor_label(const nn_layer *l, size_t t) {
  const char *name = nn_kind_info_of(l->kind)->tensors[t].name;
  return strcmp(name, "weight") == 0 ? "W" : strcmp(name, "bias") == 0 ? "b" : name;
}

/* Tensor t of l from argument arg into dst: a table of
** rows for a rank-2 tensor, of numbers for a rank-1 one.  Raises naming it. */
static void read_tensor(lua_State *L, const nn_layer *l, size_t t, int arg,
                        const char *label, float *dst) {
  int idx = arg;
  size_t dims[2], at, j, rows;
  nn_tensor_shape(l, t, dims, &at);
  if (nn_kind_info_of(l->kind)->tensors[t].rank == 1) {
    nn_lua_readfloats(L, idx, arg, label, dst + at, dims[0]);
    return;
  }
  rows = nn_lua_checklen(L, idx, label);   /* idx is arg */
  if (rows != dims[0])
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: expected %I rows, got %I",
                  label, (lua_Integer)dims[0], (lua_Integer)rows));
  for (j = 0; j < dims[0]; j++) {
    char what[48];
    lua_rawgeti(L, idx, (lua_Integer)j + 1);
    snprintf(what, sizeof what, "%.20s[%zu]", label, j + 1);
    nn_lua_readfloats(L, -1, arg, what, dst + at + j * dims[1], dims[1]);
    lua_pop(L, 1);
  }
}

static void push_tensor(lua_State *L, const nn_layer *l, size_t t, const float *p) {
  size_t dims[2], at, j;
  nn_tensor_shape(l, t, dims, &at);
  if (nn_kind_info_of(l->kind)->tensors[t].rank == 1) {
    nn_lua_pushfloats(L, 0, p + at, dims[0]);
    return;
  }
  lua_createtable(L, (int)dims[0], 0);
  for (j = 0; j < dims[0]; j++) {
    nn_lua_pushfloats(L, 0, p + at + j * dims[1], dims[1]);
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
}

/* net:set_weights(i, W, b), every tensor of module i in its kind's order,
** or net:set_weights(i, name, T), one by its name: all is checked before
** any weight changes, so a bad call leaves the network as it was. */
static int net_set_weights(lua_State *L) {
  nn_lnet *h;
  nn_net *net;
  const nn_layer *l;
  const nn_kind_info *d;
  size_t t, count;
  float *tmp;
  int top;
  nn_lua_checknet(L, 1);
  top = lua_gettop(L);
  net = nn_lua_pinnet(L, 1, top, &h);   /* at top + 1 */
  l = check_params(L, net, 2, luaL_checkinteger(L, 2));
  d = nn_kind_info_of(l->kind);
  count = nn_layer_n_params(l);
  tmp = (float *)lua_newuserdatauv(L, count * sizeof(float), 0);
  memcpy(tmp, net->params + l->w, count * sizeof(float));
  if (lua_type(L, 3) == LUA_TSTRING) {
    t = check_tensor(L, l, 3);
    read_tensor(L, l, t, 4, d->tensors[t].name, tmp);
  } else {
    for (t = 0; t < d->n_tensors; t++)
      read_tensor(L, l, t, 3 + (int)t, tensor_label(l, t), tmp);
  }
  memcpy(net->params + l->w, tmp, count * sizeof(float));
  h->version_id = 0;   /* no longer the stored version */
  lua_settop(L, 1);
  return 1;
}

/* net:get_weights(i [, name]) --> every tensor of module i in its kind's
** order (Linear: W, b), or the one of that name */
static int net_get_weights(lua_State *L) {
  const nn_net *net;
  const nn_layer *l;
  size_t t, n;
  nn_lua_checknet(L, 1);
  lua_settop(L, 3);
  net = nn_lua_pinnet(L, 1, 3, NULL);   /* at 4 */
  l = check_params(L, net, 2, luaL_checkinteger(L, 2));
  n = nn_kind_info_of(l->kind)->n_tensors;
  if (!lua_isnil(L, 3)) {
    push_tensor(L, l, check_tensor(L, l, 3), net->params + l->w);
    return 1;
  }
  luaL_checkstack(L, (int)n, "too many tensors");
  for (t = 0; t < n; t++) push_tensor(L, l, t, net->params + l->w);
  return (int)n;
}

/* net:set_labels(labels | nil) */
static int net_set_labels(lua_State *L) {
  nn_lnet *h;
  const nn_net *net = nn_lua_pinnet(L, 1, 2, &h);   /* at 3 */
  if (lua_isnil(L, 2))
    lua_pushnil(L);
  else
    nn_lua_checklabels(L, 2, 2, net->n_outputs);
  nn_lua_setlabels(L, 1);
  h->labelmap_id = 0;  /* no longer the stored map */
  lua_settop(L, 1);
  return 1;
}

/* net:labels() --> a copy of the labels, or nil */
static int net_labels(lua_State *L) {
  nn_lua_checknet(L, 1);
  if (nn_lua_getlabels(L, 1) == LUA_TTABLE) {
    size_t i, n = (size_t)lua_rawlen(L, -1);
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, (lua_Integer)i);
      lua_rawseti(L, -2, (lua_Integer)i);
    }
  }
  return 1;
}


/* --- joining, copying, folding ------------------------------------------- */

nn_net *nn_lua_join(lua_State *L, int first, int n, int sequential, int arg) {
  size_t n_layers = 0, n_params = 0, at = 0;
  nn_layer *layers;
  nn_net *net;
  char err[NN_ERRMAX];
  int k, pins = lua_gettop(L) + 1;   /* the parts' blocks, pinned */
  luaL_checkstack(L, n + 8, "too many modules");
  for (k = 0; k < n; k++) {
    size_t m = nn_lua_pinnet(L, first + k, lua_gettop(L), NULL)->n_layers;
    if (m > NN_MAX_LAYERS - n_layers)
      luaL_argerror(L, arg, "too many modules");
    n_layers += m;
  }
  layers = (nn_layer *)lua_newuserdatauv(L, (n_layers ? n_layers : 1) * sizeof(nn_layer), 0);
  for (k = 0; k < n; k++) {
    const nn_net *p = (const nn_net *)lua_touserdata(L, pins + k);
    size_t i;
    if (p->n_layers) memcpy(layers + at, p->layers, p->n_layers * sizeof(nn_layer));
    /* a part's values are numbered from its input, the output before it */
    for (i = 0; i < p->n_layers; i++) {
      if (layers[at + i].from[0]) layers[at + i].from[0] += at;
      if (layers[at + i].from[1]) layers[at + i].from[1] += at;
    }
    at += p->n_layers;
  }
  if (nn_layout(layers, n_layers, &n_params, err) != NN_OK)
    luaL_argerror(L, arg, lua_pushstring(L, err));
  net = nn_lua_newnet(L, layers, n_layers, n_params, sequential, NULL);
  /* Copy each part's parameters to where its layers now sit. */
  at = 0;
  for (k = 0; k < n; k++) {
    const nn_net *p = (const nn_net *)lua_touserdata(L, pins + k);
    size_t i;
    for (i = 0; i < p->n_layers; i++, at++) {
      const nn_layer *src = &p->layers[i];
      size_t count = nn_layer_n_params(src);
      if (count)
        memcpy(net->params + net->layers[at].w, p->params + src->w,
               count * sizeof(float));
    }
  }
  /* the new network and its block where the pins began */
  lua_pushvalue(L, -2);
  lua_replace(L, pins);
  lua_replace(L, pins + 1);
  lua_settop(L, pins + 1);
  return net;
}

/* net:add(module) --> net, now with module at its end: the network adopts
** the block of the two joined, and its old block is left to the collector
** (and to whoever still pins it). */
static int net_add(lua_State *L) {
  nn_lnet *h;
  size_t old_outputs, new_outputs;
  nn_lua_checknet(L, 1);
  nn_lua_checknet(L, 2);
  old_outputs = nn_lua_pinnet(L, 1, 2, &h)->n_outputs;   /* at 3 */
  new_outputs = nn_lua_join(L, 1, 2, 1, 2)->n_outputs;   /* block on top */
  lua_setiuservalue(L, 1, 1);      /* adopt the joined block */
  h->changes++;                    /* for the FFI path: see nn_lnet */
  h->sequential = 1;
  h->version_id = 0;
  if (new_outputs != old_outputs) {
    lua_pushnil(L);
    nn_lua_setlabels(L, 1);
    h->labelmap_id = 0;
  }
  lua_settop(L, 1);
  return 1;
}

/* net:clone() --> an independent copy, labels and origin included */
static int net_clone(lua_State *L) {
  nn_lnet *h, *c;
  const nn_net *net = nn_lua_pinnet(L, 1, 1, &h);   /* at 2 */
  nn_net *copy = nn_lua_newnet(L, net->layers, net->n_layers, net->n_params,
                               h->sequential, &c);   /* at 3, its block at 4 */
  if (net->n_params) memcpy(copy->params, net->params, net->n_params * sizeof(float));
  c->version_id = h->version_id;
  c->labelmap_id = h->labelmap_id;
  c->store_serial = h->store_serial;
  lua_pop(L, 1);
  /* A label table is never written after it is set, so both can share it. */
  nn_lua_getlabels(L, 1);
  nn_lua_setlabels(L, -2);
  return 1;
}

/* The fold's limit in multiply-adds: the option max_ops of the table at
** arg (a number >= 0), or NN_FOLD_MAX_OPS.  Raises on another option or a
** bad value, naming it. */
static double fold_limit(lua_State *L, int arg) {
  static const char *const known[] = { "max_ops", NULL };
  double limit = NN_FOLD_MAX_OPS;
  if (lua_isnoneornil(L, arg)) return limit;
  luaL_checktype(L, arg, LUA_TTABLE);
  nn_lua_checkoptions(L, arg, known);
  if (lua_getfield(L, arg, "max_ops") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0))
      luaL_argerror(L, arg, lua_pushfstring(L, "max_ops: a number >= 0 expected, got %s",
                    luaL_tolstring(L, -1, NULL)));
    limit = (double)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return limit;
}

/* net:fold([{ max_ops = n }]) --> a new network, each run of Linear layers
** merged into one (in a graph, each straight stretch: see nn_fold.h).  Raises when the folded network would be too large, then
** when its cost (nn_fold_cost) passes the limit, before any work. */
static int net_fold(lua_State *L) {
  nn_lnet *h;
  double limit = fold_limit(L, 2), cost;
  const nn_net *net = nn_lua_pinnet(L, 1, 2, &h);   /* at 3 */
  nn_net *folded;
  size_t n, n_params, n_work;
  nn_layer *layers;
  size_t *map;
  double *work;
  int same_outputs;
  char err[NN_ERRMAX];
  layers = (nn_layer *)lua_newuserdatauv(L,
      (net->n_layers ? net->n_layers : 1) * sizeof(nn_layer), 0);
  map = (size_t *)lua_newuserdatauv(L, (net->n_layers + 1) * sizeof(size_t), 0);
  if (nn_fold_layout(net, layers, map, &n, &n_params, &n_work, err) != NN_OK)
    return luaL_error(L, "%s", err);
  if ((cost = nn_fold_cost(net)) > limit) {
    snprintf(err, sizeof err, "fold: %.0f multiply-adds, more than max_ops allows "
             "(%.0f): net:fold{ max_ops = %.0f } takes them", cost, limit, cost);
    return luaL_error(L, "%s", err);
  }
  work = (double *)lua_newuserdatauv(L, (n_work ? n_work : 1) * sizeof(double), 0);
  folded = nn_lua_newnet(L, layers, n, n_params, n > 1 || h->sequential, NULL);
  nn_fold_params(net, folded, work);
  same_outputs = folded->n_outputs == net->n_outputs;
  lua_pop(L, 1);   /* the folded block */
  if (same_outputs) {
    nn_lua_getlabels(L, 1);
    nn_lua_setlabels(L, -2);
  }
  return 1;
}

/* What layer i reads: a list of module numbers, 0 for the network's input
** ({ i - 1 } for a chain's, { 0 } for the first). */
static void push_inputs(lua_State *L, const nn_layer *l, size_t i) {
  size_t k;
  lua_createtable(L, 2, 0);
  for (k = 0; k < 2; k++) {
    size_t v = nn_layer_input(l, i, k);
    if (v == 0) break;
    lua_pushinteger(L, (lua_Integer)v - 1);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
}

/* One module of net:modules(): { kind, c_name, name, n_in, n_out,
** n_params, inputs, hyper = { by name }, params = { { name, shape }, ... },
** shape = its output's {c, h, w} or {c, l} when that is an image }. */
static void push_module(lua_State *L, const nn_layer *l, const nn_shape *shape,
                        size_t i) {
  const nn_kind_info *d = nn_kind_info_of(l->kind);
  size_t j, dims[2], at;
  lua_createtable(L, 0, 8);
  lua_pushstring(L, d->name);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, d->c_name);
  lua_setfield(L, -2, "c_name");
  push_module_name(L, l);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)l->n_in);
  lua_setfield(L, -2, "n_in");
  lua_pushinteger(L, (lua_Integer)l->n_out);
  lua_setfield(L, -2, "n_out");
  lua_pushinteger(L, (lua_Integer)nn_layer_n_params(l));
  lua_setfield(L, -2, "n_params");
  push_inputs(L, l, i);
  lua_setfield(L, -2, "inputs");
  lua_createtable(L, 0, (int)d->n_hyper);
  for (j = 0; j < d->n_hyper; j++) {
    if (d->hyper[j].choices) lua_pushstring(L, d->hyper[j].choices[(size_t)l->hyper[j]]);
    else if (d->hyper[j].integer) lua_pushinteger(L, (lua_Integer)l->hyper[j]);
    else lua_pushnumber(L, (lua_Number)l->hyper[j]);
    lua_setfield(L, -2, d->hyper[j].name);
  }
  lua_setfield(L, -2, "hyper");
  lua_createtable(L, (int)d->n_tensors, 0);
  for (j = 0; j < d->n_tensors; j++) {
    nn_tensor_shape(l, j, dims, &at);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, d->tensors[j].name);
    lua_setfield(L, -2, "name");
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, (lua_Integer)dims[0]);
    lua_rawseti(L, -2, 1);
    if (d->tensors[j].rank > 1) {
      lua_pushinteger(L, (lua_Integer)dims[1]);
      lua_rawseti(L, -2, 2);
    }
    lua_setfield(L, -2, "shape");
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
  lua_setfield(L, -2, "params");
  if (shape->rank > 1) {     /* an image's: a flat row's is n_out */
    push_shape(L, shape);
    lua_setfield(L, -2, "shape");
  }
}

/* net:modules() --> a list of tables, one per module in order: what each
** is, as the kind table says; the SVG and the command read it. */
static int net_modules(lua_State *L) {
  const nn_net *net = nn_lua_pinnet(L, 1, 1, NULL);   /* at 2 */
  const nn_shape *shapes = net_shapes(L, net);        /* at 3 */
  size_t i;
  lua_createtable(L, (int)net->n_layers, 0);
  for (i = 0; i < net->n_layers; i++) {
    push_module(L, &net->layers[i], &shapes[i], i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int net_n_inputs(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_lua_pinnet(L, 1, 1, NULL)->n_inputs);
  return 1;
}

static int net_n_outputs(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_lua_pinnet(L, 1, 1, NULL)->n_outputs);
  return 1;
}

static int net_n_params(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_lua_pinnet(L, 1, 1, NULL)->n_params);
  return 1;
}

/* " <- (2), input": what layer i of a graph reads, when it is not only
** the layer before it. */
static void add_inputs(luaL_Buffer *b, const nn_layer *l, size_t i) {
  size_t k;
  if (l->from[0] == 0 && l->from[1] == 0) return;
  luaL_addstring(b, " <- ");
  for (k = 0; k < 2; k++) {
    size_t v = nn_layer_input(l, i, k);
    if (v == 0) break;
    if (k) luaL_addstring(b, ", ");
    if (v == 1) luaL_addstring(b, "input");
    else {
      char num[32];
      snprintf(num, sizeof num, "(%zu)", v - 1);
      luaL_addstring(b, num);
    }
  }
}

/* Torch's listing for a Sequential (nn.Graph's for a graph, each layer
** with what it reads when not the layer before), the module's name
** otherwise. */
static int net_tostring(lua_State *L) {
  nn_lnet *h;
  const nn_net *net = nn_lua_pinnet(L, 1, 1, &h);   /* at 2 */
  luaL_Buffer b;
  size_t i;
  if (!h->sequential && net->n_layers == 1) {
    push_module_name(L, &net->layers[0]);
    return 1;
  }
  luaL_buffinit(L, &b);
  luaL_addstring(&b, net->n_slots ? "nn.Graph {\n  [input" : "nn.Sequential {\n  [input");
  for (i = 0; i < net->n_layers; i++) {
    lua_pushfstring(L, " -> (%I)", (lua_Integer)i + 1);
    luaL_addvalue(&b);
  }
  luaL_addstring(&b, " -> output]\n");
  for (i = 0; i < net->n_layers; i++) {
    lua_pushfstring(L, "  (%I): ", (lua_Integer)i + 1);
    luaL_addvalue(&b);
    add_module_name(&b, &net->layers[i]);
    add_inputs(&b, &net->layers[i], i);
    luaL_addchar(&b, '\n');
  }
  luaL_addchar(&b, '}');
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg net_methods[] = {
  {"forward", net_forward},   {"classify", net_classify},
  {"trace", net_trace},       {"set_weights", net_set_weights},
  {"get_weights", net_get_weights}, {"set_labels", net_set_labels},
  {"labels", net_labels},     {"add", net_add},
  {"clone", net_clone},       {"fold", net_fold},
  {"n_inputs", net_n_inputs}, {"n_outputs", net_n_outputs},
  {"n_params", net_n_params}, {"modules", net_modules},
  {NULL, NULL}
};


void nn_lua_open_net(lua_State *L) {
  luaL_newmetatable(L, NN_NETWORK);
  luaL_newlibtable(L, net_methods);
  lua_pushvalue(L, -2);             /* the methods' upvalue: see pin_self */
  luaL_setfuncs(L, net_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, net_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setfield(L, -2, "Network");   /* so the front module can add methods */
}
