/*
** nn_lua.c: the Lua module nn.core: luaopen_nn_core gathers the parts of
** the binding into one module table, nn.kernel chooses the kernels, and
** nn.core._closest lends the Lua files the binding's guess at a misspelt
** option.
**
** The parts, each a file of src/lua/ (nn_lua.h lists them from the bottom
** up): the shared helpers, nn.Matrix and its batches, nn.Network and its
** constructors, training, import and export, the file readers, and the
** store.  This file is the top of the binding: it calls every part, and
** none calls it.  lua/nn/init.lua is the front module over this one.
*/
#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"

/* nn.kernel([name]) --> the kernel set in use, after selecting name.
** Raises on an unknown name or one this processor does not run. */
static int nn_kernel_lua(lua_State *L) {
  const char *name = luaL_optstring(L, 1, NULL);
  int status = name ? nn_kernel_select(name) : NN_OK;
  if (status == NN_ENOKERNEL)
    return luaL_argerror(L, 1, lua_pushfstring(L,
      "unknown kernel '%s': expected generic, avx2 or avx512", name));
  if (status != NN_OK)
    return luaL_argerror(L, 1, lua_pushfstring(L,
      "kernel '%s' is not supported by this processor", name));
  lua_pushstring(L, nn_kernel_name());
  return 1;
}

/* nn.core._closest(key, names) --> the one of names (an array of at most 64
** strings) that key most likely meant, or nil: nn_lua_closest for the
** options the Lua files check (nn.svg's).  Not a public name of nn.
** Raises on bad arguments. */
static int closest_lua(lua_State *L) {
  const char *known[64 + 1];
  const char *key = luaL_checkstring(L, 1), *meant;
  size_t n = nn_lua_checklen(L, 2, "names"), i;
  luaL_argcheck(L, n < sizeof known / sizeof known[0], 2, "more than 64 names");
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);   /* kept alive by the table */
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, 2, "names: strings expected");
    known[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  known[n] = NULL;
  meant = nn_lua_closest(key, known);
  if (meant)
    lua_pushstring(L, meant);
  else
    lua_pushnil(L);
  return 1;
}

static const luaL_Reg functions[] = {
  {"kernel", nn_kernel_lua},
  {"_closest", closest_lua},
  {"threads", nn_lua_threads_fn},
  {NULL, NULL}
};

/* The Lua whose C API this module is built against, as that Lua's _VERSION
** says it (LuaJIT's is "Lua 5.1": the two load each other's modules), and
** nn.core._LUA.  The text is in the file too, where lua/nn/init.lua reads
** it when another Lua's dynamic loader refuses the file before
** luaopen_nn_core can run: a module built for one Lua names C functions
** another does not have (5.1's luaL_prepbuffer, 5.4's lua_newuserdatauv). */
static const char built_for[] = "nn.core is built for " LUA_VERSION;

int luaopen_nn_core(lua_State *L) {
  luaL_newlib(L, functions);
  lua_pushliteral(L, NN_VERSION);
  lua_setfield(L, -2, "_VERSION");
  /* "Lua 5.4": the tail of built_for, which keeps that text in the file */
  lua_pushstring(L, built_for + sizeof "nn.core is built for " - 1);
  lua_setfield(L, -2, "_LUA");
  nn_lua_open_net(L);
  nn_lua_open_ffi(L);
  nn_lua_open_layers(L);
  nn_lua_open_matrix(L);
  nn_lua_open_store(L);
  nn_lua_open_data(L);
  nn_lua_open_store_data(L);
  nn_lua_open_train(L);
  nn_lua_open_io(L);
  return 1;
}
