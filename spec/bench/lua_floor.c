/*
** lua_floor.c: the least any C module can cost for a call that reads a
** sample from one Lua table and writes its outputs into another, for make
** bench to print beside nn's forward pass.
**
**   local floor = require "lua_floor"
**   floor:forward(x, out [, n])   -- reads x[1..#x], writes out[1..n] (n = 2)
**
** Not part of nn and not a spec: a userdata with one method, called the way
** net:forward(x, out) is (through its metatable's __index), that reads the
** numbers of one table (pushed 16 at a time, as nn reads them) and writes n
** numbers into another: no checks and no arithmetic beyond one sum.
*/
#include "lua.h"
#include "lauxlib.h"

#define CHUNK 16

static int copy(lua_State *L) {
  lua_Integer len = (lua_Integer)lua_rawlen(L, 2), n = luaL_optinteger(L, 4, 2), i, k;
  lua_Number s = 0;
  luaL_checkstack(L, CHUNK, "x");
  for (i = 0; i < len; i += CHUNK) {
    lua_Integer m = len - i < CHUNK ? len - i : CHUNK;
    for (k = 0; k < m; k++) lua_rawgeti(L, 2, i + k + 1);
    for (k = 0; k < m; k++) s += lua_tonumber(L, (int)(k - m));
    lua_pop(L, (int)m);
  }
  for (i = 0; i < n; i++) {
    lua_pushnumber(L, s);
    lua_rawseti(L, 3, i + 1);
  }
  lua_settop(L, 3);
  return 1;
}

int luaopen_lua_floor(lua_State *L) {
  lua_newuserdatauv(L, 1, 0);
  lua_createtable(L, 0, 1);           /* its metatable */
  lua_createtable(L, 0, 1);           /* __index */
  lua_pushcfunction(L, copy);
  lua_setfield(L, -2, "forward");
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  return 1;
}
