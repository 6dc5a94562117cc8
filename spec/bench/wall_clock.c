/*
** wall_clock.c: the time of day as make bench's frame figures need it, a
** monotonic clock finer than a microsecond and a sleep, neither of which Lua
** has (os.clock counts processor time, which a frame stalled on a lock does
** not spend).
**
**   local clock = require "wall_clock"
**   local t0 = clock.now()      -- seconds, from an arbitrary start
**   clock.sleep(0.005)          -- seconds
**
** Not part of nn and not a spec: spec/bench/frame.lua loads it from
** build/bench/wall_clock.so.
*/
#define _POSIX_C_SOURCE 200112L   /* clock_gettime, nanosleep */
#include <time.h>

#include "lua.h"
#include "lauxlib.h"

static int now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

static int nap(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (s > 0) {
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
  }
  return 0;
}

int luaopen_wall_clock(lua_State *L) {
  static const luaL_Reg fns[] = { { "now", now }, { "sleep", nap }, { NULL, NULL } };
  luaL_newlib(L, fns);
  return 1;
}
