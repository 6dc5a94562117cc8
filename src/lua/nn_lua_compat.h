/*
** nn_lua_compat.h: the Lua 5.4 C API that the binding uses, on Lua 5.1,
** 5.2, 5.3 and LuaJIT 2.1 (which speaks 5.1's API).
**
** The binding is written against Lua 5.4 only.  This header, included by
** nn_lua.h after lua.h and lauxlib.h, fills in or reshapes what an older Lua
** lacks so that the same code compiles unchanged; on 5.4 it adds nothing.
** It is not a general compatibility library: it holds what nn uses.
**
**   - user values: lua_newuserdatauv / lua_getiuservalue /
**     lua_setiuservalue keep them in a table, the userdata's environment on
**     5.1 and LuaJIT, its single user value on 5.2 and 5.3;
**   - functions that return the pushed value's type since 5.3
**     (lua_rawgeti, lua_getfield, luaL_getmetafield, lua_rawgetp);
**   - integers: before 5.3 a number is an integer when its value is
**     integral and fits lua_Integer, and luaL_checkinteger raises 5.4's
**     "number has no integer representation" on the others;
**   - "%I" in lua_pushfstring and luaL_error, which 5.1 and 5.2 lack, and
**     "%f" written as 5.3 and later write a float ("4.0", not "4");
**   - type names in messages: metatables carry __name, so "got nn.Matrix"
**     reads the same on every version;
**   - luaL_testudata, luaL_setmetatable, luaL_setfuncs with upvalues,
**     luaL_newlib, lua_rawlen, lua_absindex, lua_rawgetp / lua_rawsetp,
**     lua_geti / lua_seti, lua_copy, lua_len, luaL_tolstring,
**     luaL_typeerror, luaL_len, luaL_optinteger, LUA_OK.
** Each replacement is a static inline function under its own name, and a
** macro points the 5.4 name at it, so no call site changes.
*/
#ifndef NN_LUA_COMPAT_H
#define NN_LUA_COMPAT_H

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM < 504

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* --- before 5.2 (5.1 and LuaJIT) ----------------------------------------- */

#if LUA_VERSION_NUM < 502

#ifndef LUA_OK
#define LUA_OK 0
#endif

#define lua_rawlen(L, i)  lua_objlen((L), (i))
#define luaL_len(L, i)    ((lua_Integer)lua_objlen((L), (i)))

static inline int nn_compat_absindex(lua_State *L, int idx) {
  return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}
#define lua_absindex nn_compat_absindex

static inline int nn_compat_rawgetp(lua_State *L, int idx, const void *p) {
  idx = lua_absindex(L, idx);
  lua_pushlightuserdata(L, (void *)p);
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
#define lua_rawgetp nn_compat_rawgetp

/* Pops the value on top into t[p]. */
static inline void nn_compat_rawsetp(lua_State *L, int idx, const void *p) {
  idx = lua_absindex(L, idx);
  lua_pushlightuserdata(L, (void *)p);
  lua_insert(L, -2);
  lua_rawset(L, idx);
}
#define lua_rawsetp nn_compat_rawsetp

/* Pushes the value at from again, over the slot at to. */
static inline void nn_compat_copy(lua_State *L, int from, int to) {
  to = lua_absindex(L, to);
  lua_pushvalue(L, from);
  lua_replace(L, to);
}
#define lua_copy nn_compat_copy

/* Pushes #v (5.1 has no __len for tables: the raw length). */
#define lua_len(L, i)  lua_pushinteger((L), (lua_Integer)lua_objlen((L), (i)))

/* Raises "too many upvalues" when the stack cannot grow. */
static inline void nn_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    if (l->func == NULL) {
      lua_pushboolean(L, 0);
    } else {
      for (i = 0; i < nup; i++)
        lua_pushvalue(L, -nup);
      lua_pushcclosure(L, l->func, nup);
    }
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}
#define luaL_setfuncs nn_compat_setfuncs

static inline void nn_compat_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}
#define luaL_setmetatable nn_compat_setmetatable

/* Since 5.2 these return the string pushed (NULL for a NULL s). */
static inline const char *nn_compat_pushstring(lua_State *L, const char *s) {
  lua_pushstring(L, s);
  return lua_tostring(L, -1);
}
#define lua_pushstring nn_compat_pushstring

static inline const char *nn_compat_pushlstring(lua_State *L, const char *s, size_t n) {
  lua_pushlstring(L, s, n);
  return lua_tostring(L, -1);
}
#define lua_pushlstring nn_compat_pushlstring

#ifndef luaL_newlib
#define luaL_newlibtable(L, l) \
  lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1))
#define luaL_newlib(L, l)  (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))
#endif

/* User values live in the environment table of the userdata. */
static inline void *nn_compat_newuserdatauv(lua_State *L, size_t size, int nuv) {
  void *p = lua_newuserdata(L, size);
  if (nuv > 0) {
    lua_createtable(L, nuv, 0);
    lua_setfenv(L, -2);
  }
  return p;
}
#define nn_compat_getuvtable(L, idx)  lua_getfenv((L), (idx))
#define nn_compat_setuvtable(L, idx)  lua_setfenv((L), (idx))

#else   /* 5.2 and 5.3: user values live in the single user value, a table */

static inline void *nn_compat_newuserdatauv(lua_State *L, size_t size, int nuv) {
  void *p = lua_newuserdata(L, size);
  if (nuv > 0) {
    lua_createtable(L, nuv, 0);
    lua_setuservalue(L, -2);
  }
  return p;
}
#define nn_compat_getuvtable(L, idx)  lua_getuservalue((L), (idx))
#define nn_compat_setuvtable(L, idx)  lua_setuservalue((L), (idx))

#endif

/* --- before 5.3 (5.1, 5.2 and LuaJIT) ------------------------------------ */

#if LUA_VERSION_NUM < 503

/* lua_Integer is ptrdiff_t here; 5.2's own lua_Unsigned is 32 bits wide,
** which would cut the range checks that cast to it. */
typedef size_t nn_compat_Unsigned;
#define lua_Unsigned nn_compat_Unsigned

#ifndef LUA_MAXINTEGER
#define LUA_MAXINTEGER PTRDIFF_MAX
#define LUA_MININTEGER PTRDIFF_MIN
#endif

static inline int nn_compat_rawgeti(lua_State *L, int idx, lua_Integer n) {
  lua_rawgeti(L, idx, (int)n);
  return lua_type(L, -1);
}
#define lua_rawgeti nn_compat_rawgeti

/* t[n] with metamethods, as 5.3 added them: pushes it, returns its type. */
static inline int nn_compat_geti(lua_State *L, int idx, lua_Integer n) {
  idx = lua_absindex(L, idx);
  lua_pushinteger(L, n);
  lua_gettable(L, idx);
  return lua_type(L, -1);
}
#define lua_geti nn_compat_geti

/* t[n] = the value on top, popped. */
static inline void nn_compat_seti(lua_State *L, int idx, lua_Integer n) {
  idx = lua_absindex(L, idx);
  lua_pushinteger(L, n);
  lua_insert(L, -2);
  lua_settable(L, idx);
}
#define lua_seti nn_compat_seti

static inline int nn_compat_getfield(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}
#define lua_getfield nn_compat_getfield

static inline int nn_compat_getmetafield(lua_State *L, int obj, const char *e) {
  return luaL_getmetafield(L, obj, e) ? lua_type(L, -1) : LUA_TNIL;
}
#define luaL_getmetafield nn_compat_getmetafield

#if LUA_VERSION_NUM == 502
static inline int nn_compat_rawgetp(lua_State *L, int idx, const void *p) {
  lua_rawgetp(L, idx, p);
  return lua_type(L, -1);
}
#define lua_rawgetp nn_compat_rawgetp
#endif

/* The integer a number n stands for, as 5.3's lua_numbertointeger: only an
** integral value inside lua_Integer's range (NaN is neither). */
static inline int nn_compat_numtoint(lua_Number n, lua_Integer *out) {
  const lua_Number lim = (lua_Number)((size_t)1 << (sizeof(lua_Integer) * CHAR_BIT - 1));
  if (n >= -lim && n < lim && (lua_Number)(lua_Integer)n == n) {
    *out = (lua_Integer)n;
    return 1;
  }
  return 0;
}

static inline int nn_compat_isinteger(lua_State *L, int idx) {
  lua_Integer i;
  return lua_type(L, idx) == LUA_TNUMBER && nn_compat_numtoint(lua_tonumber(L, idx), &i);
}
#define lua_isinteger nn_compat_isinteger

/* As 5.4: a number or numeric string with an integral value; else 0. */
static inline lua_Integer nn_compat_tointegerx(lua_State *L, int idx, int *isnum) {
  lua_Integer i = 0;
  int ok = lua_isnumber(L, idx) && nn_compat_numtoint(lua_tonumber(L, idx), &i);
  if (isnum != NULL) *isnum = ok;
  return ok ? i : 0;
}
#define lua_tointegerx nn_compat_tointegerx
#undef lua_tointeger
#define lua_tointeger(L, i)  nn_compat_tointegerx((L), (i), NULL)

#endif   /* < 503 */

/* --- messages (every version before 5.4) --------------------------------- */

#if LUA_VERSION_NUM < 503
/* lua_pushvfstring with 5.4's conversions, "%I" among them.  The pieces are
** joined as they come, so the stack never holds more than three. */
static inline const char *nn_compat_pushvfstring(lua_State *L, const char *fmt,
                                                 va_list ap) {
  const char *e;
  char num[32];
  lua_pushliteral(L, "");
  while ((e = strchr(fmt, '%')) != NULL) {
    lua_pushlstring(L, fmt, (size_t)(e - fmt));
    switch (e[1]) {
    case 'I':
      snprintf(num, sizeof num, "%lld", (long long)va_arg(ap, lua_Integer));
      lua_pushstring(L, num);
      break;
    case 'd': lua_pushfstring(L, "%d", va_arg(ap, int)); break;
    case 'c': lua_pushfstring(L, "%c", va_arg(ap, int)); break;
    case 'f':   /* as 5.3 and 5.4 print a float: 4.0, not 4 */
      snprintf(num, sizeof num - 2, LUA_NUMBER_FMT, (double)va_arg(ap, lua_Number));
      if (num[strspn(num, "-0123456789")] == '\0') strcat(num, ".0");
      lua_pushstring(L, num);
      break;
    case 'p': lua_pushfstring(L, "%p", va_arg(ap, void *)); break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      lua_pushstring(L, s ? s : "(null)");
      break;
    }
    case '%': lua_pushliteral(L, "%"); break;
    default:
      return luaL_error(L, "invalid conversion '%%%c' to 'lua_pushfstring'", e[1]),
             (const char *)NULL;
    }
    lua_concat(L, 3);
    fmt = e + 2;
  }
  lua_pushstring(L, fmt);
  lua_concat(L, 2);
  return lua_tostring(L, -1);
}
#define lua_pushvfstring nn_compat_pushvfstring

static inline const char *nn_compat_pushfstring(lua_State *L, const char *fmt, ...) {
  const char *s;
  va_list ap;
  va_start(ap, fmt);
  s = nn_compat_pushvfstring(L, fmt, ap);
  va_end(ap);
  return s;
}
#define lua_pushfstring nn_compat_pushfstring

static inline int nn_compat_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  luaL_where(L, 1);
  nn_compat_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return lua_error(L);
}
#define luaL_error nn_compat_error
#endif   /* < 503 */

/* 5.4's message: the value's __name when its metatable has one. */
static inline int nn_compat_typeerror(lua_State *L, int arg, const char *tname) {
  const char *typearg;
  if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING)
    typearg = lua_tostring(L, -1);
  else if (lua_type(L, arg) == LUA_TLIGHTUSERDATA)
    typearg = "light userdata";
  else
    typearg = luaL_typename(L, arg);
  return luaL_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", tname, typearg));
}
#define luaL_typeerror nn_compat_typeerror

#if LUA_VERSION_NUM < 503
/* 5.3 gave metatables __name and its checks the messages that use it; the
** checks below raise through luaL_typeerror as 5.4's do. */
static inline int nn_compat_newmetatable(lua_State *L, const char *tname) {
  if (!luaL_newmetatable(L, tname)) return 0;
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  return 1;
}
#define luaL_newmetatable nn_compat_newmetatable

static inline void *nn_compat_testudata(lua_State *L, int ud, const char *tname) {
  void *p = lua_touserdata(L, ud);
  if (p != NULL && lua_getmetatable(L, ud)) {
    luaL_getmetatable(L, tname);
    if (!lua_rawequal(L, -1, -2)) p = NULL;
    lua_pop(L, 2);
    return p;
  }
  return NULL;
}
#define luaL_testudata nn_compat_testudata

static inline void *nn_compat_checkudata(lua_State *L, int ud, const char *tname) {
  void *p = luaL_testudata(L, ud, tname);
  if (p == NULL) luaL_typeerror(L, ud, tname);
  return p;
}
#define luaL_checkudata nn_compat_checkudata

static inline void nn_compat_checktype(lua_State *L, int arg, int t) {
  if (lua_type(L, arg) != t) luaL_typeerror(L, arg, lua_typename(L, t));
}
#define luaL_checktype nn_compat_checktype

static inline lua_Number nn_compat_checknumber(lua_State *L, int arg) {
  lua_Number d = lua_tonumber(L, arg);
  if (d == 0 && !lua_isnumber(L, arg)) luaL_typeerror(L, arg, "number");
  return d;
}
#define luaL_checknumber nn_compat_checknumber

static inline lua_Number nn_compat_optnumber(lua_State *L, int arg, lua_Number def) {
  return lua_isnoneornil(L, arg) ? def : luaL_checknumber(L, arg);
}
#define luaL_optnumber nn_compat_optnumber

static inline const char *nn_compat_checklstring(lua_State *L, int arg, size_t *len) {
  const char *s = lua_tolstring(L, arg, len);
  if (s == NULL) luaL_typeerror(L, arg, "string");
  return s;
}
#undef luaL_checkstring
#define luaL_checklstring nn_compat_checklstring
#define luaL_checkstring(L, n)  nn_compat_checklstring((L), (n), NULL)

static inline const char *nn_compat_optlstring(lua_State *L, int arg,
                                               const char *def, size_t *len) {
  if (lua_isnoneornil(L, arg)) {
    if (len != NULL) *len = def ? strlen(def) : 0;
    return def;
  }
  return luaL_checklstring(L, arg, len);
}
#undef luaL_optstring
#define luaL_optlstring nn_compat_optlstring
#define luaL_optstring(L, n, d)  nn_compat_optlstring((L), (n), (d), NULL)

/* 5.4's message for a number that is not an integer, or a non-number. */
static inline lua_Integer nn_compat_checkinteger(lua_State *L, int arg) {
  int isnum;
  lua_Integer d = lua_tointegerx(L, arg, &isnum);
  if (!isnum) {
    if (lua_isnumber(L, arg))
      luaL_argerror(L, arg, "number has no integer representation");
    else
      luaL_typeerror(L, arg, "number");
  }
  return d;
}
#define luaL_checkinteger nn_compat_checkinteger

static inline lua_Integer nn_compat_optinteger(lua_State *L, int arg, lua_Integer def) {
  return lua_isnoneornil(L, arg) ? def : luaL_checkinteger(L, arg);
}
#define luaL_optinteger nn_compat_optinteger

/* As 5.4: __tostring, else the value, else "name: address" by __name. */
static inline const char *nn_compat_tolstring(lua_State *L, int idx, size_t *len) {
  idx = lua_absindex(L, idx);
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
  } else {
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx))
        lua_pushfstring(L, "%I", lua_tointeger(L, idx));
      else
        lua_pushfstring(L, "%f", lua_tonumber(L, idx));
      break;
    case LUA_TSTRING: lua_pushvalue(L, idx); break;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNIL: lua_pushliteral(L, "nil"); break;
    default: {
      int tt = luaL_getmetafield(L, idx, "__name");
      const char *kind = tt == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, idx);
      lua_pushfstring(L, "%s: %p", kind, lua_topointer(L, idx));
      if (tt != LUA_TNIL) lua_remove(L, -2);
      break;
    }
    }
  }
  return lua_tolstring(L, -1, len);
}
#define luaL_tolstring nn_compat_tolstring
#endif   /* < 503 */

/* --- user values (every version before 5.4) ------------------------------ */

static inline int nn_compat_getiuservalue(lua_State *L, int idx, int n) {
  nn_compat_getuvtable(L, idx);
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNONE;
  }
  lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return lua_type(L, -1);
}
#define lua_getiuservalue nn_compat_getiuservalue

/* Pops the value on top into user value n; 0 when the userdata has none. */
static inline int nn_compat_setiuservalue(lua_State *L, int idx, int n) {
  idx = lua_absindex(L, idx);
  nn_compat_getuvtable(L, idx);
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 2);
    return 0;
  }
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}
#define lua_setiuservalue nn_compat_setiuservalue
#define lua_newuserdatauv nn_compat_newuserdatauv

#endif   /* LUA_VERSION_NUM < 504 */

#endif
