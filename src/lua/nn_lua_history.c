/*
** nn_lua_history.c: a training history, the table tr:fit returns, as the
** nn_train_run the store records (nn_store_train.h), and back.
**
**   local history = tr:fit(X, T, { epochs = 5 })
**   store:save("leaf_flower", net, { training = history, source = sql })
**   local again = store:history("leaf_flower")   -- the same shape
**
** store:save (nn_lua_store.c) asks nn_lua_checkrun for the run to record;
** store:history (nn_lua_store_data.c) pushes a run it read with
** nn_lua_pushhistory.  This file converts and checks shapes only: whether a
** run holds together is nn_store_check_run's to say, and reading the
** options' JSON back is store:history's.  It calls no other file of the
** binding but the shared helpers of nn_lua_values.c.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lua/nn_lua.h"
#include "store/nn_store.h"
#include "store/nn_store_train.h"


/* --- a history into a run ------------------------------------------------- */

/* Raises "bad argument #arg to 'save' (training.what ...)". */
static int run_error(lua_State *L, int arg, const char *fmt, const char *what) {
  return luaL_argerror(L, arg, lua_pushfstring(L, fmt, what));
}

/* Field key of the table at idx as a number (NAN when nil and optional).
** Raises naming path.key. */
static double number_field(lua_State *L, int idx, const char *key, int optional,
                           int arg, const char *path) {
  double v = NAN;
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TNUMBER) {
    v = (double)lua_tonumber(L, -1);
    if (isnan(v) && optional)   /* NAN means "none" in a run: never silently */
      luaL_argerror(L, arg, lua_pushfstring(L, "%s.%s is NaN (leave it out for none)",
                                            path, key));
  } else if (t != LUA_TNIL || !optional)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s.%s must be a number", path, key));
  lua_pop(L, 1);
  return v;
}

/* Field key of the table at idx as an integer (dflt when nil and optional).
** Raises naming path.key. */
static int64_t integer_field(lua_State *L, int idx, const char *key, int optional,
                             int64_t dflt, int arg, const char *path) {
  int64_t v = dflt;
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TNUMBER && lua_isinteger(L, -1))
    v = (int64_t)lua_tointeger(L, -1);
  else if (t != LUA_TNIL || !optional)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s.%s must be an integer", path, key));
  lua_pop(L, 1);
  return v;
}

static int by_string(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void json_value(lua_State *L, int idx, nn_buf *b, int depth, int arg,
                       const char *path);

/* Where a value of the options is, for messages: path.key or path[i]
** into out (cut short when long). */
#define PATH_MAX_LEN  120
static void sub_path(char out[PATH_MAX_LEN], const char *path, const char *key,
                     size_t i) {
  if (key)
    snprintf(out, PATH_MAX_LEN, "%s.%.60s", path, key);
  else
    snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
}

/* A string the options cannot keep as it is (a zero byte: SQLite's JSON
** functions end a string there) raises naming where it is. */
static void check_text(lua_State *L, const char *text, size_t len, int arg,
                       const char *what, const char *path) {
  if (strlen(text) != len)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: %s contains a zero byte", path, what));
}

/* The table at idx as JSON into b: an array when its keys are 1..n, else
** an object with its string keys sorted (so that the same options give the
** same text).  Raises on other keys, on keys with a zero byte and on tables
** nested too deep. */
static void json_table(lua_State *L, int idx, nn_buf *b, int depth, int arg,
                       const char *path) {
  size_t n = 0, len = (size_t)lua_rawlen(L, idx), i, klen;
  const char **keys;
  char sub[PATH_MAX_LEN];
  int bad = 0;
  idx = lua_absindex(L, idx);
  if (depth > NN_LUA_JSON_DEPTH)
    luaL_argerror(L, arg, "training.options: tables nested too deep");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    n++;
    lua_pop(L, 1);
  }
  if (n > 0 && n == len) {
    bad |= nn_buf_add(b, "[", 1);
    for (i = 1; i <= n; i++) {
      if (i > 1)
        bad |= nn_buf_add(b, ",", 1);
      lua_rawgeti(L, idx, (lua_Integer)i);
      sub_path(sub, path, NULL, i);
      json_value(L, -1, b, depth + 1, arg, sub);
      lua_pop(L, 1);
    }
    if (bad || nn_buf_add(b, "]", 1))
      luaL_error(L, "not enough memory");
    return;
  }
  keys = (const char **)lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
  i = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, arg, "training.options: keys must be strings (or 1..n)");
    keys[i] = lua_tolstring(L, -1, &klen);   /* anchored by the table */
    check_text(L, keys[i++], klen, arg, "a key", path);
  }
  qsort(keys, n, sizeof *keys, by_string);
  bad |= nn_buf_add(b, "{", 1);
  for (i = 0; i < n; i++) {
    if (i)
      bad |= nn_buf_add(b, ",", 1);
    bad |= nn_buf_json_string(b, keys[i], strlen(keys[i]));
    bad |= nn_buf_add(b, ":", 1);
    lua_getfield(L, idx, keys[i]);
    sub_path(sub, path, keys[i], 0);
    json_value(L, -1, b, depth + 1, arg, sub);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);   /* keys */
  if (bad || nn_buf_add(b, "}", 1))
    luaL_error(L, "not enough memory");
}

/* A float as the shortest decimal that reads back as it, with ".0" when
** that looks like an integer (so that 1.0 reads back as a float).  Raises
** on NaN and infinities, which JSON cannot hold. */
static int json_float(lua_State *L, nn_buf *b, double v, int arg, const char *path) {
  size_t at = b->n, i;
  if (!isfinite(v))
    luaL_argerror(L, arg, lua_pushfstring(L, "%s is %s, which the options cannot keep",
                                          path, isnan(v) ? "NaN" : "infinite"));
  if (nn_buf_json_double(b, v))
    return 1;
  for (i = at; i < b->n; i++)
    if (b->p[i] == '.' || b->p[i] == 'e')
      return 0;
  return nn_buf_add(b, ".0", 2);
}

/* The value at idx as JSON into b: strings, numbers (integers as
** integers, floats by their shortest text), booleans and tables as
** themselves; anything else (a criterion, a callback) as the name of its
** type.  Raises naming path on what JSON would not give back: NaN, an
** infinity, a zero byte. */
static void json_value(lua_State *L, int idx, nn_buf *b, int depth, int arg,
                       const char *path) {
  size_t len;
  const char *text;
  int bad;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    text = lua_tolstring(L, idx, &len);
    check_text(L, text, len, arg, "its text", path);
    bad = nn_buf_json_string(b, text, len);
    break;
  case LUA_TNUMBER:
    bad = lua_isinteger(L, idx) ? nn_buf_json_int(b, (int64_t)lua_tointeger(L, idx))
                                : json_float(L, b, (double)lua_tonumber(L, idx), arg, path);
    break;
  case LUA_TBOOLEAN:
    bad = lua_toboolean(L, idx) ? nn_buf_add(b, "true", 4) : nn_buf_add(b, "false", 5);
    break;
  case LUA_TTABLE:
    json_table(L, idx, b, depth, arg, path);
    return;
  default:
    text = nn_lua_typename(L, idx);
    bad = nn_buf_json_string(b, text, strlen(text));
  }
  if (bad)
    luaL_error(L, "not enough memory");
}

/* The epochs of the history at idx into a new userdata; *n their count. */
static nn_train_epoch *check_epochs(lua_State *L, int idx, int arg, size_t *n) {
  nn_train_epoch *e;
  size_t i;
  if (lua_getfield(L, idx, "epochs") != LUA_TTABLE)
    run_error(L, arg, "%s.epochs must be a table", "training");
  *n = (size_t)lua_rawlen(L, -1);
  e = (nn_train_epoch *)lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *e, 0);
  lua_insert(L, -2);   /* under the epochs table */
  for (i = 0; i < *n; i++) {
    char path[48];
    snprintf(path, sizeof path, "training.epochs[%zu]", i + 1);
    if (lua_rawgeti(L, -1, (lua_Integer)i + 1) != LUA_TTABLE)
      run_error(L, arg, "%s must be a table", path);
    e[i].epoch = integer_field(L, -1, "epoch", 0, 0, arg, path);
    e[i].loss = number_field(L, -1, "loss", 0, arg, path);
    e[i].val_loss = number_field(L, -1, "val_loss", 1, arg, path);
    e[i].val_accuracy = number_field(L, -1, "val_accuracy", 1, arg, path);
    e[i].ms = number_field(L, -1, "ms", 0, arg, path);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);   /* the epochs table; the userdata stays */
  return e;
}

/* Where the rows came from: option `source`, or the history's own (what
** store:history gives back), left on the stack.  Raises when neither is a
** string or nil, and when both are given and differ. */
static void check_source(lua_State *L, int arg, int h, nn_train_run *run) {
  size_t len;
  const char *own;
  int t = lua_getfield(L, arg, "source");
  if (t != LUA_TNIL && t != LUA_TSTRING)
    luaL_argerror(L, arg, "option 'source' must be a string");
  if (t == LUA_TSTRING)
    run->source = lua_tolstring(L, -1, &run->source_len);
  t = lua_getfield(L, h, "source");
  if (t != LUA_TNIL && t != LUA_TSTRING)
    run_error(L, arg, "%s.source must be a string", "training");
  if (t == LUA_TNIL)
    return;
  own = lua_tolstring(L, -1, &len);
  if (!run->source) {
    run->source = own;   /* anchored on the stack */
    run->source_len = len;
  } else if (len != run->source_len || memcmp(own, run->source, len) != 0)
    luaL_argerror(L, arg, "option 'source' and training.source differ");
}

const nn_train_run *nn_lua_checkrun(lua_State *L, struct nn_store *s, int arg) {
  nn_train_run *run;
  nn_lua_bufs *sc;
  int h;
  /* the caller's stack holds every string the run points at until it returns */
  if (lua_isnil(L, arg) || lua_getfield(L, arg, "training") == LUA_TNIL) {
    if (!lua_isnil(L, arg) && lua_getfield(L, arg, "source") != LUA_TNIL)
      luaL_argerror(L, arg, "option 'source' needs option 'training'");
    return NULL;
  }
  if (!lua_istable(L, -1))
    luaL_argerror(L, arg, "option 'training' must be a table (the history of tr:fit)");
  h = lua_gettop(L);
  run = (nn_train_run *)lua_newuserdatauv(L, sizeof *run, 0);
  memset(run, 0, sizeof *run);
  run->epochs = check_epochs(L, h, arg, &run->n_epochs);
  run->rows = integer_field(L, h, "rows", 0, 0, arg, "training");
  run->best_epoch = integer_field(L, h, "best_epoch", 1, 0, arg, "training");
  run->started_at = integer_field(L, h, "started_at", 1, 0, arg, "training");
  run->ended_at = integer_field(L, h, "ended_at", 1, 0, arg, "training");
  if (lua_getfield(L, h, "stopped") != LUA_TSTRING)
    run_error(L, arg, "%s.stopped must be a string", "training");
  run->stopped = lua_tostring(L, -1);   /* anchored on the stack */
  sc = nn_lua_newbufs(L);
  switch (lua_getfield(L, h, "options")) {
  case LUA_TNIL:
    if (nn_buf_add(&sc->buf[0], "{}", 2))
      luaL_error(L, "not enough memory");
    break;
  case LUA_TTABLE:
    json_table(L, -1, &sc->buf[0], 1, arg, "training.options");
    if (sc->buf[0].p[0] != '{')
      run_error(L, arg, "%s.options must be a table of named options", "training");
    break;
  default:
    run_error(L, arg, "%s.options must be a table", "training");
  }
  lua_pop(L, 1);
  run->options = sc->buf[0].p;
  run->options_len = sc->buf[0].n;
  check_source(L, arg, h, run);
  if (nn_store_check_run(s, run) != NN_OK)
    luaL_argerror(L, arg, s->err);
  return run;
}


/* --- a run into a history ------------------------------------------------- */

/* Set field key of the table on top to v when it is a number (not NAN). */
static void set_real(lua_State *L, const char *key, double v) {
  if (isnan(v))
    return;
  lua_pushnumber(L, (lua_Number)v);
  lua_setfield(L, -2, key);
}

static void set_integer(lua_State *L, const char *key, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, key);
}

void nn_lua_pushhistory(lua_State *L, const nn_train_run *run) {
  size_t i;
  lua_createtable(L, 0, 8);
  lua_createtable(L, run->n_epochs < 0x7fffffff ? (int)run->n_epochs : 0, 0);
  for (i = 0; i < run->n_epochs; i++) {
    const nn_train_epoch *e = &run->epochs[i];
    lua_createtable(L, 0, 5);
    set_integer(L, "epoch", e->epoch);
    set_real(L, "loss", e->loss);
    set_real(L, "val_loss", e->val_loss);
    set_real(L, "val_accuracy", e->val_accuracy);
    set_real(L, "ms", e->ms);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "epochs");
  if (run->best_epoch)
    set_integer(L, "best_epoch", run->best_epoch);
  lua_pushstring(L, run->stopped);
  lua_setfield(L, -2, "stopped");
  set_integer(L, "rows", run->rows);
  if (run->source) {
    lua_pushlstring(L, run->source, run->source_len);
    lua_setfield(L, -2, "source");
  }
  set_integer(L, "started_at", run->started_at);
  set_integer(L, "ended_at", run->ended_at);
}
