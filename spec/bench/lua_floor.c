/*
** lua_floor.c: the least any C module can cost for a 4-in, 2-out call, for
** make bench to print beside nn's forward pass.
**
**   local floor = require "lua_floor"
**   floor.method(x, out)     -- reads x[1..4], writes out[1..2]: no checks, no math
**
** Not part of nn and not a spec: a userdata with one method, called the way
** net:forward(x, out) is (through its metatable's __index), that reads four
** numbers from one table and writes two into another.
*/
#include "lua.h"
#include "lauxlib.h"

static int copy(lua_State *L) {
  lua_Number x[4];
  int i;
  for (i = 0; i < 4; i++) {
    lua_rawgeti(L, 2, i + 1);
    x[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pushnumber(L, x[0] + x[1]);
  lua_rawseti(L, 3, 1);
  lua_pushnumber(L, x[2] + x[3]);
  lua_rawseti(L, 3, 2);
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
