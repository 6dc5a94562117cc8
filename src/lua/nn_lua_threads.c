/*
** nn_lua_threads.c: nn.threads([n]) and the pool of threads of a Lua
** state, which the batch passes and the trainers run on.
**
**   nn.threads(2)        -- batch forward, classify, backward, training: 2 threads
**   nn.threads("auto")   -- one per processor
**   print(nn.threads())  --> 2
**
** Each Lua state has its own count (1 until set) and its own pool
** (engine/nn_pool.h), made when a count above 1 is first set or used and
** grown, never shrunk, to the largest count asked; its threads sleep
** between calls and are joined when the state is closed (the pool's
** userdata, in the registry, has a __gc).  Not the passes: nn_lua_batch.c
** and nn_lua_train.c ask this file for the pool and the count.
*/
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "engine/nn_pool.h"
#include "lua/nn_lua.h"

#define NN_POOL_TYPE  "nn.Pool"

typedef struct lua_pool {
  nn_pool *pool;          /* NULL until a count above 1 needs it */
  size_t threads;         /* nn.threads(): 1 until set */
} lua_pool;

/* The registry key of the state's lua_pool: this variable's address. */
static const char pool_key = 0;

static int pool_gc(lua_State *L) {
  lua_pool *lp = (lua_pool *)luaL_checkudata(L, 1, NN_POOL_TYPE);
  nn_pool_free(lp->pool);     /* joins its threads; safe to run twice */
  lp->pool = NULL;
  return 0;
}

/* The state's lua_pool, made on first use.  Raises on memory errors. */
static lua_pool *state_pool(lua_State *L) {
  lua_pool *lp;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &pool_key) == LUA_TUSERDATA) {
    lp = (lua_pool *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return lp;
  }
  lua_pop(L, 1);
  lp = (lua_pool *)lua_newuserdatauv(L, sizeof *lp, 0);
  lp->pool = NULL;
  lp->threads = 1;
  if (luaL_newmetatable(L, NN_POOL_TYPE)) {
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &pool_key);
  return lp;
}

size_t nn_lua_threads(lua_State *L) {
  return state_pool(L)->threads;
}

nn_pool *nn_lua_pool(lua_State *L, size_t workers) {
  lua_pool *lp = state_pool(L);
  if (workers <= 1) return NULL;
  if (lp->pool == NULL && (lp->pool = nn_pool_new()) == NULL)
    luaL_error(L, "not enough memory for a pool of threads");
  if (nn_pool_workers(lp->pool) < workers) nn_pool_reserve(lp->pool, workers);
  return lp->pool;
}

const char *nn_lua_tothreads(lua_State *L, int idx, size_t *n) {
  lua_Integer v;
  if (lua_type(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, idx), "auto") == 0) {
    *n = nn_processors() < NN_POOL_MAX ? nn_processors() : NN_POOL_MAX;
    return NULL;
  }
  if (!lua_isinteger(L, idx))
    return lua_pushfstring(L, "an integer or \"auto\" expected, got %s",
                           lua_type(L, idx) == LUA_TSTRING ? lua_pushfstring(L, "'%s'",
                           lua_tostring(L, idx)) : nn_lua_typename(L, idx));
  v = lua_tointeger(L, idx);
  if (v < 1 || v > NN_POOL_MAX)
    return lua_pushfstring(L, "must be in 1..%d or \"auto\", got %I", NN_POOL_MAX, v);
  *n = (size_t)v;
  return NULL;
}

/* nn.threads([n]) --> the count in use, after setting it to n.  The threads
** are started here, not in the passes; when the system refuses one, the
** count is what could be started.  Raises on n of another type or range. */
int nn_lua_threads_fn(lua_State *L) {
  lua_pool *lp;
  if (!lua_isnoneornil(L, 1)) {
    size_t n = 1;
    const char *msg = nn_lua_tothreads(L, 1, &n);
    if (msg != NULL) luaL_argerror(L, 1, msg);
    lp = state_pool(L);
    if (n > 1) {
      nn_lua_pool(L, n);
      if (nn_pool_workers(lp->pool) < n) n = nn_pool_workers(lp->pool);
    }
    lp->threads = n;
  }
  lua_pushinteger(L, (lua_Integer)nn_lua_threads(L));
  return 1;
}
