/*
** nn_lua_values.c: what every part of the Lua binding shares: Lua arrays to
** float arrays and back with every value checked, label tables, the name of
** a value's type for messages, the check of a name and of an options
** table's keys (naming the known option a wrong key most likely meant), the
** refusal of outputs that are not finite where a label is asked for, and
** the per-state scratch buffer, and byte buffers the collector frees.  It
** is the bottom of the binding: it calls no other file of src/lua/.
**
** Not a Lua type and no module function: nothing here is registered.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"


/* --- Lua values <-> floats ----------------------------------------------- */

/* The type of the value at idx as messages name it: its metatable's __name
** ("nn.Matrix") when it has one, as luaL_typeerror does. */
const char *nn_lua_typename(lua_State *L, int idx) {
  const char *name = NULL;
  if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING)
    name = lua_tostring(L, -1);       /* stays on the stack for the caller */
  return name ? name : luaL_typename(L, idx);
}

size_t nn_lua_checklen(lua_State *L, int arg, const char *what) {
  if (lua_type(L, arg) != LUA_TTABLE)
    return (size_t)luaL_argerror(L, arg, lua_pushfstring(L,
        "%s: table expected, got %s", what, nn_lua_typename(L, arg)));
  return (size_t)lua_rawlen(L, arg);
}

/* The error for element i of the array at idx, which is not a finite float. */
static int bad_float(lua_State *L, int idx, int arg, const char *what, size_t i) {
  int t = lua_rawgeti(L, idx, (lua_Integer)i + 1);
  lua_Number v = lua_tonumber(L, -1);
  if (t != LUA_TNUMBER)
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s[%I] is not a number (got %s)",
                         what, (lua_Integer)i + 1, lua_typename(L, t)));
  if (v != v)
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s[%I] is NaN", what, (lua_Integer)i + 1));
  return luaL_argerror(L, arg, lua_pushfstring(L, "%s[%I] is %s", what, (lua_Integer)i + 1,
                       isinf(v) ? "infinite" : "too large for float32"));
}

#define READ_CHUNK  16

/* Raises on the first element that is not a finite float.  This loop is most
** of the cost of a small forward pass, so the messages are built elsewhere. */
void nn_lua_readfloats(lua_State *L, int idx, int arg, const char *what,
                       float *out, size_t n) {
  size_t i, len;
  if (idx < 0) idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: table expected, got %s",
                  what, nn_lua_typename(L, idx)));
  len = (size_t)lua_rawlen(L, idx);
  if (len != n)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: expected %I numbers, got %I",
                  what, (lua_Integer)n, (lua_Integer)len));
  /* READ_CHUNK elements pushed, then read and popped together: one
  ** lua_settop per chunk instead of one per element. */
  luaL_checkstack(L, READ_CHUNK, "x");
  for (i = 0; i < n; i += READ_CHUNK) {
    int k, m = n - i < READ_CHUNK ? (int)(n - i) : READ_CHUNK, bad = 0;
    for (k = 0; k < m; k++)
      bad |= lua_rawgeti(L, idx, (lua_Integer)(i + k) + 1) != LUA_TNUMBER;
    for (k = 0; k < m; k++) {
      lua_Number v = lua_tonumber(L, k - m);
      /* false for NaN as well as for the infinities and beyond float32 */
      bad |= !(v >= -FLT_MAX && v <= FLT_MAX);
      out[i + k] = (float)v;
    }
    lua_pop(L, m);
    if (bad) {
      for (k = 0; k < m; k++) {
        int t = lua_rawgeti(L, idx, (lua_Integer)(i + k) + 1);
        lua_Number v = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (t != LUA_TNUMBER || !(v >= -FLT_MAX && v <= FLT_MAX))
          bad_float(L, idx, arg, what, i + k);
      }
    }
  }
}

void nn_lua_checkfloats(lua_State *L, int arg, const char *what,
                        float *out, size_t n) {
  nn_lua_readfloats(L, arg, arg, what, out, n);
}

void nn_lua_checkinput(lua_State *L, const nn_net *net, const float *X, size_t rows,
                       size_t n_x, int arg) {
  char err[NN_ERRMAX];
  if (nn_check_input(net, X, rows, n_x, err) != NN_OK)
    luaL_argerror(L, arg, lua_pushstring(L, err));
}

void nn_lua_checkoutputs(lua_State *L, const char *model, size_t row,
                         const float *y, size_t n) {
  size_t i = nn_nonfinite(y, n);
  char sample[48];
  if (i == n) return;
  if (row == 0) snprintf(sample, sizeof sample, "x");
  else snprintf(sample, sizeof sample, "row %zu of X", row);
  luaL_error(L, "classify: %s%s%s%s gives %s at output %d, and an output that is "
             "not finite has no label", model ? "model '" : "", model ? model : "",
             model ? "': " : "", sample, nn_nonfinite_name(y[i]), (int)i + 1);
}

void nn_lua_pushfloats(lua_State *L, int idx, const float *y, size_t n) {
  size_t i;
  if (idx == 0) {
    lua_createtable(L, (int)n, 0);
    idx = lua_gettop(L);
  }
  idx = lua_absindex(L, idx);
  for (i = 0; i < n; i++) {
    lua_pushnumber(L, (lua_Number)y[i]);
    lua_rawseti(L, idx, (lua_Integer)i + 1);
  }
}

/* A net of element-wise layers only takes labels of any count, so a label
** may be missing for a wider input: the index stands in for it. */
void nn_lua_pushlabel(lua_State *L, int idx, size_t i) {
  if (idx != 0 && lua_type(L, idx) == LUA_TTABLE) {
    if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TNIL) return;
    lua_pop(L, 1);
  }
  lua_pushinteger(L, (lua_Integer)i + 1);
}

int nn_lua_getlabels(lua_State *L, int arg) {
  return lua_getiuservalue(L, arg, 2);
}

/* Every replacement of a network's user value counts in its handle's
** changes, which the FFI path compares (nn_lnet). */
void nn_lua_setlabels(lua_State *L, int arg) {
  nn_lnet *h = (nn_lnet *)lua_touserdata(L, arg);
  lua_setiuservalue(L, arg, 2);
  h->changes++;
}

/* Raises on a count other than want (when want > 0), or a label that is not
** a non-empty string without zero bytes. */
size_t nn_lua_checklabels(lua_State *L, int idx, int arg, size_t want) {
  size_t i, len;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_argerror(L, arg, lua_pushfstring(L, "labels: table expected, got %s",
                  nn_lua_typename(L, idx)));
  len = (size_t)lua_rawlen(L, idx);
  if (want > 0 && len != want)
    luaL_argerror(L, arg, lua_pushfstring(L, "labels: %I given for %I outputs",
                  (lua_Integer)len, (lua_Integer)want));
  if (len == 0)
    luaL_argerror(L, arg, "labels: empty");
  lua_createtable(L, (int)len, 0);
  for (i = 1; i <= len; i++) {
    size_t sz = 0;
    const char *s = NULL;
    if (lua_rawgeti(L, idx, (lua_Integer)i) == LUA_TSTRING)
      s = lua_tolstring(L, -1, &sz);
    if (s == NULL || sz == 0)
      luaL_argerror(L, arg, lua_pushfstring(L, "labels[%I] is not a non-empty string",
                    (lua_Integer)i));
    if (strlen(s) != sz)
      luaL_argerror(L, arg, lua_pushfstring(L, "labels[%I] contains a zero byte",
                    (lua_Integer)i));
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  return len;
}


/* --- names ---------------------------------------------------------------- */

/* Raises.  A number is refused rather than turned into its text: a model
** saved as 42 would be a model named "42", found by no later load(42). */
const char *nn_lua_checkname(lua_State *L, int arg, const char *what) {
  size_t len;
  const char *s;
  if (lua_type(L, arg) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: string expected, got %s", what,
                                          nn_lua_typename(L, arg)));
  s = lua_tolstring(L, arg, &len);
  if (len == 0)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must not be empty", what));
  if (strlen(s) != len)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s contains a zero byte", what));
  return s;
}


/* --- options ------------------------------------------------------------- */

/* Names compared letter by letter are at most this long: option names are
** short, and the distance below keeps three rows of this size on the stack. */
#define NAME_MAX_LEN  40
#define FAR           ((size_t)-1)

static int lower(int c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* The optimal string alignment distance between a[na] and b[nb], ignoring
** case: insertions, deletions, substitutions and swaps of two neighbours,
** each costing 1 (Damerau-Levenshtein, no substring edited twice); FAR when
** either is longer than NAME_MAX_LEN. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
  size_t rows[3][NAME_MAX_LEN + 1], i, j;
  size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
  if (na > NAME_MAX_LEN || nb > NAME_MAX_LEN)
    return FAR;
  for (j = 0; j <= nb; j++)
    prev[j] = j;
  for (i = 1; i <= na; i++) {
    cur[0] = i;
    for (j = 1; j <= nb; j++) {
      size_t sub = prev[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1, best = sub;
      if (del < best) best = del;
      if (ins < best) best = ins;
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
    }
    t = prev2; prev2 = prev; prev = cur; cur = t;
  }
  return prev[nb];
}

/* Whether short is the initials of the words of long ("lr" of
** "learning_rate"; words split at '_' or '-'), long having two words or more. */
static int initials_of(const char *short_name, const char *long_name) {
  const char *p = long_name;
  size_t n = 0;
  int words = 0;
  for (; *p; p++) {
    if (p == long_name || p[-1] == '_' || p[-1] == '-') {
      if (*p == '_' || *p == '-' || lower(*p) != lower(short_name[n]))
        return 0;
      n++;
      words++;
    }
  }
  return words >= 2 && short_name[n] == '\0';
}

/* How far key is from name, or FAR when name is not a likely meaning of
** key: a slip of a letter or two (one for keys of up to 3 letters), one
** being the start of the other (3 letters or more), or initials. */
static size_t likeness(const char *key, const char *name) {
  size_t nk = strlen(key), nn = strlen(name);
  size_t d = edit_distance(key, nk, name, nn), shorter = nk < nn ? nk : nn;
  if (d <= (nk <= 3 ? 1u : 2u))
    return d;
  if (shorter >= 3 && strncmp(key, name, shorter) == 0)
    return d;
  if (initials_of(key, name) || initials_of(name, key))
    return d;
  return FAR;
}

const char *nn_lua_closest(const char *key, const char *const known[]) {
  const char *best = NULL;
  size_t best_d = FAR, i, d;
  for (i = 0; known[i]; i++) {
    d = likeness(key, known[i]);
    if (d < best_d) {
      best_d = d;
      best = known[i];
    }
  }
  return best;
}

/* Raises on a key of the options table at arg that is not in known, naming
** the known one it most likely meant. */
void nn_lua_checkoptions(lua_State *L, int arg, const char *const known[]) {
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    const char *meant;
    size_t i = 0;
    while (key && known[i] && strcmp(key, known[i]) != 0)
      i++;
    if (!key || !known[i]) {
      meant = key ? nn_lua_closest(key, known) : NULL;
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'%s%s%s",
                                            luaL_tolstring(L, -2, NULL),
                                            meant ? " (did you mean '" : "",
                                            meant ? meant : "", meant ? "'?)" : ""));
    }
    lua_pop(L, 1);
  }
}


/* --- scratch ------------------------------------------------------------ */

/* Raises on memory errors. */
float *nn_lua_scratch(lua_State *L, float *stack_buf, size_t n) {
  return n <= NN_STACK_FLOATS ? stack_buf : nn_lua_work(L, n);
}

/* The registry key of the buffer behind nn_lua_work: this variable's address. */
static const char work_key = 0;

float *nn_lua_work(lua_State *L, size_t n) {
  void *p;
  if (n == 0) n = 1;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &work_key) == LUA_TUSERDATA &&
      lua_rawlen(L, -1) / sizeof(float) >= n) {
    p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return (float *)p;
  }
  lua_pop(L, 1);
  if (n > ((size_t)-1) / sizeof(float)) luaL_error(L, "scratch too large");
  p = lua_newuserdatauv(L, n * sizeof(float), 0);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &work_key);
  return (float *)p;
}


/* --- byte buffers ------------------------------------------------------- */

#define NN_BUFS  "nn.Scratch"

static int bufs_gc(lua_State *L) {
  nn_lua_bufs *b = (nn_lua_bufs *)luaL_checkudata(L, 1, NN_BUFS);
  int i;
  for (i = 0; i < NN_LUA_BUFS; i++)
    nn_buf_free(&b->buf[i]);
  return 0;
}

/* The metatable is made by the first call rather than registered with the
** module: nothing else needs it.  The buffers are empty until the metatable
** is set, so a memory error in between loses nothing. */
nn_lua_bufs *nn_lua_newbufs(lua_State *L) {
  nn_lua_bufs *b = (nn_lua_bufs *)lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  if (luaL_newmetatable(L, NN_BUFS)) {
    lua_pushcfunction(L, bufs_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}
