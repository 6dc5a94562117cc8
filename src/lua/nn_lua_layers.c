/*
** nn_lua_layers.c: the module functions that make networks: one constructor
** per layer kind, made from the engine's table of kinds (nn.Linear,
** nn.ReLU, nn.LeakyReLU, ...), nn.Sequential, and nn.seed for the random
** stream that initialises new parameters.
**
** Not the Network type and its methods (nn_lua_net.c).
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"

/* Upvalue 1 of the constructors and nn.seed: the random stream. */
#define rng_state(L)  ((uint64_t *)lua_touserdata(L, lua_upvalueindex(1)))

/* Push a network of the one layer l, its parameters drawn from the random
** stream.  Raises when l does not lay out. */
static void push_layer(lua_State *L, nn_layer l) {
  size_t n_params = 0;
  nn_net *net;
  char err[NN_ERRMAX];
  if (nn_layout(&l, 1, &n_params, err) != NN_OK) luaL_error(L, "%s", err);
  net = nn_lua_newnet(L, &l, 1, n_params, 0, NULL);
  if (net->n_params) nn_init_uniform(net, rng_state(L));
  lua_pop(L, 1);   /* the block */
}

/* A size argument: an integer in 1..NN_MAX_WIDTH. */
static size_t check_size(lua_State *L, int arg) {
  lua_Integer n = luaL_checkinteger(L, arg);
  if (n < 1)
    luaL_argerror(L, arg, lua_pushfstring(L, "size must be positive, got %I", n));
  if ((lua_Unsigned)n > NN_MAX_WIDTH)
    luaL_argerror(L, arg, lua_pushfstring(L, "size %I is too large (at most %I)",
                  n, (lua_Integer)NN_MAX_WIDTH));
  return (size_t)n;
}

/* A hyper-parameter given by the name of one of its choices ("tanh"). */
static float check_choice(lua_State *L, const nn_hyper *hp, int arg) {
  const char *name = lua_tostring(L, arg);
  luaL_Buffer b;
  size_t v;
  for (v = 0; hp->choices[v]; v++)
    if (strcmp(name, hp->choices[v]) == 0) return (float)v;
  luaL_buffinit(L, &b);
  for (v = 0; hp->choices[v]; v++) {
    luaL_addstring(&b, v ? ", '" : "'");
    luaL_addstring(&b, hp->choices[v]);
    luaL_addchar(&b, '\'');
  }
  luaL_pushresult(&b);
  return (float)luaL_argerror(L, arg, lua_pushfstring(L, "%s must be one of %s, not '%s'",
                              hp->what, lua_tostring(L, -1), name));
}

/* Hyper-parameter j of kind d at argument arg, or its default: a number in
** its range (whole where the kind says so).  Raises naming the argument. */
static float check_hyper(lua_State *L, const nn_kind_info *d, size_t j, int arg) {
  const nn_hyper *hp = &d->hyper[j];
  lua_Number a;
  if (hp->choices && lua_type(L, arg) == LUA_TSTRING) return check_choice(L, hp, arg);
  a = luaL_optnumber(L, arg, hp->def);
  if (!(a >= hp->lo && a <= hp->hi)) {
    if (hp->lo == -FLT_MAX && hp->hi == FLT_MAX)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a finite number", hp->what));
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be between %f and %f",
                  hp->what, (lua_Number)hp->lo, (lua_Number)hp->hi));
  }
  if (hp->integer && a != floor(a))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a whole number", hp->what));
  return (float)a;
}

/* A table in place of the hyper-parameters from the first it stands for
** on (nn.Embedding(1000, 32, {ids = 8})): each of those read from it by
** name into its own argument.  Raises on a name that is none of them. */
static void read_options(lua_State *L, const nn_kind_info *d) {
  int first = d->n_sizes + 1, top = lua_gettop(L), opts = 0, arg;
  size_t j;
  for (arg = first; arg <= top && !opts; arg++)
    if (lua_type(L, arg) == LUA_TTABLE) opts = arg;
  if (!opts) return;
  lua_pushvalue(L, opts);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    for (j = (size_t)(opts - first); j < d->n_hyper; j++)
      if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), d->hyper[j].name) == 0)
        break;
    if (j == d->n_hyper)
      luaL_argerror(L, opts, lua_pushfstring(L, "nn.%s has no option %s", d->name,
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "of that key"));
  }
  for (j = (size_t)(opts - first); j < d->n_hyper; j++) {
    lua_getfield(L, -1, d->hyper[j].name);
    lua_replace(L, first + (int)j);
  }
  lua_pop(L, 1);
}

/* The constructor of every kind, made from its descriptor (upvalue 2 is the
** kind): its n_sizes sizes (nn.Linear(n_in, n_out); one, n, for a kind as
** wide out as in), then its hyper-parameters in the descriptor's order,
** each optional (nn.LeakyReLU([alpha])).  The parameters are filled as the
** descriptor's tensors say; their count is checked before anything is
** allocated.  A table may stand for the hyper-parameters from its place on
** (read_options).  Raises on a bad size or hyper-parameter. */
static int nn_layer_new(lua_State *L) {
  nn_kind kind = (nn_kind)lua_tointeger(L, lua_upvalueindex(2));
  const nn_kind_info *d = nn_kind_info_of(kind);
  nn_layer l = NN_ACT(kind);
  float *hyper;
  int arg = d->n_sizes + 1;
  size_t j;
  if (d->n_sizes >= 1) l.n_in = l.n_out = check_size(L, 1);
  if (d->n_sizes == 2) l.n_out = check_size(L, 2);
  /* the collector's, so that an error below leaks nothing; above the
  ** arguments, which absent ones must not see */
  lua_settop(L, d->n_sizes + (int)d->n_hyper);
  read_options(L, d);
  hyper = (float *)lua_newuserdatauv(L, d->n_hyper * sizeof(float) + 1, 0);
  for (j = 0; j < d->n_hyper; j++, arg++) hyper[j] = check_hyper(L, d, j, arg);
  l.hyper = d->n_hyper ? hyper : NULL;
  if (d->n_sizes > 0 && nn_layer_n_params(&l) > NN_MAX_PARAMS) {
    if (d->n_sizes == 2)
      luaL_argerror(L, 2, lua_pushfstring(L, "nn.%s(%I -> %I) would have more "
                    "than %I parameters", d->name, (lua_Integer)l.n_in,
                    (lua_Integer)l.n_out, (lua_Integer)NN_MAX_PARAMS));
    luaL_argerror(L, 1, lua_pushfstring(L, "nn.%s(%I) would have more than %I "
                  "parameters", d->name, (lua_Integer)l.n_in, (lua_Integer)NN_MAX_PARAMS));
  }
  push_layer(L, l);
  return 1;
}

/* One constructor per kind in the table, named as the kind, into the table
** at lib, with the rng at index rng as upvalue 1; and lib.kinds, the list
** of their names. */
static void open_kinds(lua_State *L, int lib, int rng) {
  nn_kind k;
  lua_Integer n = 0;
  lua_newtable(L);
  for (k = 0; k < nn_kind_end(); k++) {
    const nn_kind_info *d = nn_kind_info_of(k);
    /* a join is made by nn.Residual, nn.Concat and nn.Graph, not alone */
    if (d == NULL || (d->flags & NN_KIND_JOIN)) continue;
    lua_pushstring(L, d->name);
    lua_rawseti(L, -2, ++n);
    lua_pushvalue(L, rng);
    lua_pushinteger(L, (lua_Integer)k);
    lua_pushcclosure(L, nn_layer_new, 2);
    lua_setfield(L, lib, d->name);
  }
  lua_setfield(L, lib, "kinds");
}

/* A tensor dimension as nn.kind shows it: "in", "out", a hyper-parameter's
** name, or "fan_in" for a product of them (in_channels * kernel). */
static const char *dim_name(const nn_kind_info *d, int dim) {
  if (dim <= NN_DIM_PRODUCT(0, 0)) return "fan_in";   /* a convolution's */
  return dim == NN_DIM_IN ? "in" : dim == NN_DIM_OUT ? "out" : d->hyper[dim].name;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (v == NULL) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, lua_Number v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* nn.kind(name) --> what the kind table says of that kind: { name, c_name,
** sizes, elementwise, trainable, shaped, hyper = { {name, what, default, min, max,
** integer, onnx}, ... }, params = { {name, dims = {"out", "in"}, init,
** trained}, ... }, onnx, fann }; nil for an unknown name. */
static int nn_kind_describe(lua_State *L) {
  static const char *const inits[] = { "fan_in", "zeros", "ones", "normal" };
  const nn_kind_info *d = nn_kind_info_of(nn_kind_from_name(luaL_checkstring(L, 1)));
  size_t j;
  int r;
  if (d == NULL) return 0;
  lua_createtable(L, 0, 10);
  set_str(L, "name", d->name);
  set_str(L, "c_name", d->c_name);
  set_int(L, "sizes", d->n_sizes);
  lua_pushboolean(L, d->elementwise);
  lua_setfield(L, -2, "elementwise");
  lua_pushboolean(L, d->backward != NULL);
  lua_setfield(L, -2, "trainable");
  lua_pushboolean(L, d->shape != NULL);     /* over images: a shape rule */
  lua_setfield(L, -2, "shaped");
  lua_pushboolean(L, (d->flags & NN_KIND_JOIN) != 0);
  lua_setfield(L, -2, "join");
  lua_createtable(L, (int)d->n_hyper, 0);
  for (j = 0; j < d->n_hyper; j++) {
    const nn_hyper *h = &d->hyper[j];
    lua_createtable(L, 0, 7);
    set_str(L, "name", h->name);
    set_str(L, "what", h->what);
    set_num(L, "default", h->def);
    set_num(L, "min", h->lo);
    set_num(L, "max", h->hi);
    lua_pushboolean(L, h->integer);
    lua_setfield(L, -2, "integer");
    set_str(L, "onnx", h->onnx && h->onnx[0] ? h->onnx : NULL);   /* "": none */
    if (h->choices) {
      int v;
      lua_newtable(L);
      for (v = 0; h->choices[v]; v++) {
        lua_pushstring(L, h->choices[v]);
        lua_rawseti(L, -2, v + 1);
      }
      lua_setfield(L, -2, "choices");
    }
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
  lua_setfield(L, -2, "hyper");
  lua_createtable(L, (int)d->n_tensors, 0);
  for (j = 0; j < d->n_tensors; j++) {
    const nn_tensor_info *t = &d->tensors[j];
    lua_createtable(L, 0, 4);
    set_str(L, "name", t->name);
    lua_createtable(L, t->rank, 0);
    for (r = 0; r < t->rank; r++) {
      lua_pushstring(L, dim_name(d, t->dim[r]));
      lua_rawseti(L, -2, r + 1);
    }
    lua_setfield(L, -2, "dims");
    set_str(L, "init", inits[t->init]);
    lua_pushboolean(L, t->trained);
    lua_setfield(L, -2, "trained");
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
  lua_setfield(L, -2, "params");
  set_str(L, "onnx", d->onnx.op);
  if (d->fann >= 0) set_int(L, "fann", d->fann);
  return 1;
}

/* nn.Sequential([modules]) --> a new network of the modules' layers, in
** order, their parameters copied.  Raises on anything but a sequence of
** networks, and on modules that do not fit together. */
static int nn_Sequential(lua_State *L) {
  lua_Integer i, len = 0;
  lua_settop(L, 1);
  if (!lua_isnil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    len = (lua_Integer)lua_rawlen(L, 1);
    if (len > (lua_Integer)NN_MAX_LAYERS)
      return luaL_argerror(L, 1, "too many modules");
    luaL_checkstack(L, (int)len + 8, "too many modules");
  }
  for (i = 1; i <= len; i++) {
    lua_rawgeti(L, 1, i);
    if (nn_lua_tonet(L, -1) == NULL)
      return luaL_argerror(L, 1, lua_pushfstring(L,
          "module %I is not an nn module (got %s)", i, nn_lua_typename(L, -1)));
  }
  nn_lua_join(L, 2, (int)len, 1, 1);
  lua_pop(L, 1);   /* its block */
  return 1;
}

/* Node k of the list at 1: its module's block pinned (pushed), or a join
** (nothing pushed); its inputs (node numbers, 0 the graph's input) into
** in[2] (in[1] 0 when one).  Returns the layers it adds. */
static size_t graph_node(lua_State *L, lua_Integer k, nn_kind *join, size_t in[2]) {
  size_t n = 0;
  lua_rawgeti(L, 1, k);
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_rawgeti(L, -1, 2);
  in[0] = (size_t)lua_tointeger(L, -1);
  lua_rawgeti(L, -2, 3);
  in[1] = lua_isnil(L, -1) ? 0 : (size_t)lua_tointeger(L, -1) + 1;
  lua_pop(L, 2);
  lua_rawgeti(L, -1, 1);
  *join = NN_KIND_COUNT;
  if (lua_type(L, -1) == LUA_TSTRING) {
    *join = nn_kind_from_name(lua_tostring(L, -1));
    lua_pop(L, 2);
    return 1;
  }
  n = nn_lua_pinnet(L, -1, lua_gettop(L), NULL)->n_layers;
  lua_replace(L, -3);       /* the block where the node was */
  lua_pop(L, 1);
  return n;
}

/* The layers of node k, whose first value is at (its input: value u),
** copied with their inputs renumbered; or its join. */
static void graph_layers(const nn_net *p, nn_kind join, size_t u, size_t b,
                         size_t at, nn_layer *out) {
  size_t i, k;
  if (p == NULL) {
    nn_layer l = NN_ACT(join);
    l.from[0] = u + 1;
    l.from[1] = b + 1;
    *out = l;
    return;
  }
  memcpy(out, p->layers, p->n_layers * sizeof(nn_layer));
  for (i = 0; i < p->n_layers; i++)
    for (k = 0; k < 2; k++) {
      size_t f = out[i].from[k];
      if (k == 0 && f == 0 && i == 0) f = 1;
      if (f == 1) out[i].from[k] = u + 1;        /* the module's input */
      else if (f > 1) out[i].from[k] = f + at;   /* one of its layers */
    }
}

/* core.graph(nodes) --> a network of the nodes in order, each
** { module, a [, b] }: module a network or a join's kind name ("Add"),
** a and b the nodes it reads (0 the input, k node k, before it); the last
** node is the output.  nn.Residual, nn.Concat and nn.Graph (lua/nn/init.lua)
** check names and widths first; this raises on what they let through. */
static int nn_graph(lua_State *L) {
  lua_Integer k, len;
  size_t n_layers = 0, n_params = 0, at = 0, *value;
  nn_layer *layers;
  nn_net *net;
  char err[NN_ERRMAX];
  int pins;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  len = (lua_Integer)lua_rawlen(L, 1);
  if (len < 1 || len > (lua_Integer)NN_MAX_LAYERS) return luaL_argerror(L, 1, "no nodes");
  luaL_checkstack(L, (int)len + 8, "too many nodes");
  value = (size_t *)lua_newuserdatauv(L, ((size_t)len + 1) * sizeof(size_t), 0);
  pins = lua_gettop(L) + 1;
  for (k = 1; k <= len; k++) {
    size_t in[2];
    nn_kind join;
    n_layers += graph_node(L, k, &join, in);
    if (join != NN_KIND_COUNT) lua_pushnil(L);
    if (n_layers > NN_MAX_LAYERS) return luaL_argerror(L, 1, "too many modules");
  }
  layers = (nn_layer *)lua_newuserdatauv(L, (n_layers ? n_layers : 1) * sizeof(nn_layer), 0);
  value[0] = 0;
  for (k = 1; k <= len; k++) {
    size_t in[2];
    nn_kind join;
    const nn_net *p = (const nn_net *)lua_touserdata(L, pins + (int)k - 1);
    graph_node(L, k, &join, in);
    if (p == NULL) lua_pushnil(L);
    lua_pop(L, 1);
    if ((lua_Integer)in[0] >= k || (lua_Integer)in[1] > k)
      return luaL_argerror(L, 1, lua_pushfstring(L, "node %I reads a node after it", k));
    graph_layers(p, join, value[in[0]], in[1] ? value[in[1] - 1] : 0, at, layers + at);
    at += p ? p->n_layers : 1;
    value[k] = at;
  }
  if (nn_layout(layers, n_layers, &n_params, err) != NN_OK)
    return luaL_argerror(L, 1, lua_pushstring(L, err));
  net = nn_lua_newnet(L, layers, n_layers, n_params, 1, NULL);
  at = 0;
  for (k = 1; k <= len; k++) {
    const nn_net *p = (const nn_net *)lua_touserdata(L, pins + (int)k - 1);
    size_t i;
    for (i = 0; p && i < p->n_layers; i++, at++) {
      size_t count = nn_layer_n_params(&p->layers[i]);
      if (count)
        memcpy(net->params + net->layers[at].w, p->params + p->layers[i].w,
               count * sizeof(float));
    }
    if (p == NULL) at++;
  }
  lua_pop(L, 1);   /* its block */
  return 1;
}

/* nn.seed(n): restart the stream that initialises new Linear layers. */
static int nn_seed(lua_State *L) {
  *rng_state(L) = (uint64_t)luaL_checkinteger(L, 1);
  return 0;
}

static const luaL_Reg functions[] = {
  {"Sequential", nn_Sequential}, {"seed", nn_seed}, {"kind", nn_kind_describe},
  {"graph", nn_graph},
  {NULL, NULL}
};

void nn_lua_open_layers(lua_State *L) {
  uint64_t *rng = (uint64_t *)lua_newuserdatauv(L, sizeof *rng, 0);
  *rng = 0;
  open_kinds(L, lua_gettop(L) - 1, lua_gettop(L));
  luaL_setfuncs(L, functions, 1);
}
