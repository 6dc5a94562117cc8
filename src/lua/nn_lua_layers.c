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

/* The constructor of every kind, made from its descriptor (upvalue 2 is the
** kind): nn.Linear(n_in, n_out) for a sized kind, then its hyper-parameters
** in the descriptor's order, each optional (nn.LeakyReLU([alpha])).  The
** parameters are uniform in +-1/sqrt(n_in); their count is checked before
** anything is allocated.  Raises on a bad size or hyper-parameter. */
static int nn_layer_new(lua_State *L) {
  nn_kind kind = (nn_kind)lua_tointeger(L, lua_upvalueindex(2));
  const nn_kind_info *d = nn_kind_info_of(kind);
  nn_layer l = NN_ACT(kind);
  int arg = 1;
  size_t j;
  if (!d->elementwise) {
    l.n_in = check_size(L, 1);
    l.n_out = check_size(L, 2);
    if (d->n_params && d->n_params(l.n_in, l.n_out) > NN_MAX_PARAMS)
      luaL_argerror(L, 2, lua_pushfstring(L, "nn.%s(%I -> %I) would have more "
                    "than %I parameters", d->name, (lua_Integer)l.n_in,
                    (lua_Integer)l.n_out, (lua_Integer)NN_MAX_PARAMS));
    arg = 3;
  }
  for (j = 0; j < d->n_hyper; j++, arg++) {
    const nn_hyper *hp = &d->hyper[j];
    lua_Number a = luaL_optnumber(L, arg, hp->def);
    if (!(a >= hp->lo && a <= hp->hi)) {
      if (hp->lo == -FLT_MAX && hp->hi == FLT_MAX)
        luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a finite number", hp->what));
      luaL_argerror(L, arg, lua_pushfstring(L, "%s must be between %f and %f",
                    hp->what, (lua_Number)hp->lo, (lua_Number)hp->hi));
    }
    l.hyper[j] = (float)a;
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
    if (d == NULL) continue;
    lua_pushstring(L, d->name);
    lua_rawseti(L, -2, ++n);
    lua_pushvalue(L, rng);
    lua_pushinteger(L, (lua_Integer)k);
    lua_pushcclosure(L, nn_layer_new, 2);
    lua_setfield(L, lib, d->name);
  }
  lua_setfield(L, lib, "kinds");
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

/* nn.seed(n): restart the stream that initialises new Linear layers. */
static int nn_seed(lua_State *L) {
  *rng_state(L) = (uint64_t)luaL_checkinteger(L, 1);
  return 0;
}

static const luaL_Reg functions[] = {
  {"Sequential", nn_Sequential}, {"seed", nn_seed},
  {NULL, NULL}
};

void nn_lua_open_layers(lua_State *L) {
  uint64_t *rng = (uint64_t *)lua_newuserdatauv(L, sizeof *rng, 0);
  *rng = 0;
  open_kinds(L, lua_gettop(L) - 1, lua_gettop(L));
  luaL_setfuncs(L, functions, 1);
}
