/*
** nn_lua_store_data.c: what the store holds for training, in Lua: data as
** matrices (store:matrix, store:feedback_set) and recorded runs
** (store:history).
**
**   local X = store:matrix("SELECT r, g, b, volume FROM objects WHERE day = ?", 3)
**   local X, T, ids = store:feedback_set("leaf_flower", { labels = "default" })
**   local history = store:history("leaf_flower", v)
**
** This file checks arguments and converts between Lua values and what
** nn_store_data.c and nn_store_train.c take; it runs no SQL itself.  What
** the store reads lands in byte buffers the collector owns (nn_lua_newbufs),
** so that they are freed if a Lua allocation raises before they are copied
** into an nn.Matrix.  store:save is in nn_lua_store.c, which this file
** extends (its methods go on the nn.Store type); a history becomes a run and
** back in nn_lua_history.c, below both.
*/
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lua/nn_lua.h"
#include "formats/nn_json_read.h"
#include "store/nn_store.h"
#include "store/nn_store_data.h"
#include "store/nn_store_train.h"

#define JSON_DEPTH  NN_LUA_JSON_DEPTH   /* nested tables in training.options */

/* Raises the store's message. */
static int raise_store(lua_State *L, nn_store *s) {
  return luaL_error(L, "%s", s->err);
}

/* The log first, so that a query sees every logged row; but not into a
** transaction the caller opened.  Raises on a failed flush. */
static void flush_for_query(lua_State *L, nn_store *s) {
  if (nn_store_before_user_sql(s) != NN_OK)
    raise_store(L, s);
}

/* Push a new matrix of rows x cols from the float32 data of b. */
static void push_matrix(lua_State *L, const nn_buf *b, size_t rows, size_t cols) {
  nn_matrix *m = nn_lua_newmatrix(L, rows, cols);
  if (rows)
    memcpy(m->data, b->p, rows * cols * sizeof(float));
}

/* Push a sequence of the n int64 of b. */
static void push_integers(lua_State *L, const nn_buf *b, size_t n) {
  size_t i;
  lua_createtable(L, n < 0x7fffffff ? (int)n : 0, 0);
  for (i = 0; i < n; i++) {
    int64_t v;
    memcpy(&v, b->p + i * sizeof v, sizeof v);
    lua_pushinteger(L, (lua_Integer)v);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* --- store:matrix ------------------------------------------------------------ */

/* store:matrix(sql, ...) --> nn.Matrix, one row per row of the query, its
** numbers in the order of the columns (a JSON array of numbers expanded in
** place).  Raises on bad arguments, SQL errors, and values that are not
** numbers, naming the row and the column. */
static int store_matrix(lua_State *L) {
  nn_store *s = nn_lua_checkstore(L, 1);
  size_t len, rows, cols;
  const char *sql = luaL_checklstring(L, 2, &len);
  int nargs = lua_gettop(L) - 2, i;
  nn_store_param *params;
  nn_lua_bufs *sc;
  params = (nn_store_param *)lua_newuserdatauv(L, (size_t)(nargs > 0 ? nargs : 1) *
                                               sizeof *params, 0);
  memset(params, 0, (size_t)(nargs > 0 ? nargs : 1) * sizeof *params);
  for (i = 0; i < nargs; i++) {
    int arg = 3 + i;
    nn_store_param *p = &params[i];
    switch (lua_type(L, arg)) {
    case LUA_TNIL:
      p->type = NN_STORE_NULL;
      break;
    case LUA_TBOOLEAN:
      p->type = NN_STORE_INTEGER;
      p->i = lua_toboolean(L, arg);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, arg)) {
        p->type = NN_STORE_INTEGER;
        p->i = (int64_t)lua_tointeger(L, arg);
      } else {
        p->type = NN_STORE_FLOAT;
        p->d = (double)lua_tonumber(L, arg);
      }
      break;
    case LUA_TSTRING:
      p->type = NN_STORE_TEXT;
      p->text = lua_tolstring(L, arg, &p->len);
      break;
    default:
      return luaL_typeerror(L, arg, "nil, boolean, number or string");
    }
  }
  sc = nn_lua_newbufs(L);
  /* the store may have been closed by a finalizer the allocations ran */
  s = nn_lua_checkstore(L, 1);
  flush_for_query(L, s);
  if (nn_store_matrix(s, sql, len, params, (size_t)nargs, &sc->buf[0], &rows,
                      &cols) != NN_OK)
    return raise_store(L, s);
  push_matrix(L, &sc->buf[0], rows, cols);
  nn_buf_free(&sc->buf[0]);
  return 1;
}

/* --- store:feedback_set --------------------------------------------------------- */

/* store:feedback_set(name [, { version = , labels = }]) --> X, T, ids
** X: the inputs of the model's logged predictions that have feedback (of
** one version, or all), in the order they were logged; T: their true
** classes, 1-based, the feedback's indices or, with labels (a label map's
** name, or a sequence of labels), the positions of the feedback's labels
** there; ids: their prediction ids.  Raises on bad arguments, an unknown
** model, version or map, and a feedback that labels cannot place. */
static int store_feedback_set(lua_State *L) {
  static const char *const known[] = { "version", "labels", NULL };
  nn_store *s = nn_lua_checkstore(L, 1);
  const char *name = nn_lua_checkname(L, 2, "name"), *map = NULL;
  lua_Integer version = 0;
  size_t rows, cols, n;
  nn_lua_bufs *sc;
  lua_settop(L, 3);   /* x, t, ids and the labels' JSON go to the scratch at 4 */
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    nn_lua_checkoptions(L, 3, known);
  }
  sc = nn_lua_newbufs(L);   /* at 4 */
  if (!lua_isnil(L, 3) && lua_getfield(L, 3, "version") != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || (version = lua_tointeger(L, -1)) < 1)
      luaL_argerror(L, 3, "option 'version' must be a positive integer");
  }
  if (!lua_isnil(L, 3)) {
    switch (lua_getfield(L, 3, "labels")) {
    case LUA_TNIL:
      break;
    case LUA_TSTRING:
      map = lua_tostring(L, -1);
      break;
    case LUA_TTABLE: {
      size_t i;
      nn_buf *b = &sc->buf[3];
      n = nn_lua_checklabels(L, -1, 3, 0);
      if (nn_buf_add(b, "[", 1))
        return luaL_error(L, "not enough memory");
      for (i = 1; i <= n; i++) {
        size_t len;
        const char *label;
        lua_rawgeti(L, -1, (lua_Integer)i);
        label = lua_tolstring(L, -1, &len);
        if ((i > 1 && nn_buf_add(b, ",", 1)) || nn_buf_json_string(b, label, len))
          return luaL_error(L, "not enough memory");
        lua_pop(L, 1);
      }
      if (nn_buf_add(b, "]", 1))
        return luaL_error(L, "not enough memory");
      break;
    }
    default:
      luaL_argerror(L, 3, "option 'labels' must be a label map's name or a table of labels");
    }
  }
  s = nn_lua_checkstore(L, 1);
  flush_for_query(L, s);
  if (nn_store_feedback_set(s, name, (int64_t)version,
                            sc->buf[3].n ? sc->buf[3].p : NULL, sc->buf[3].n, map,
                            &sc->buf[0], &sc->buf[1], &sc->buf[2], &rows, &cols) != NN_OK)
    return raise_store(L, s);
  push_matrix(L, &sc->buf[0], rows, cols);
  push_integers(L, &sc->buf[1], rows);
  push_integers(L, &sc->buf[2], rows);
  return 3;
}

/* --- store:history --------------------------------------------------------------- */

/* The string or member name t pushed, its escapes decoded. */
static void push_json_string(lua_State *L, const nn_json_token *t) {
  const char *p = t->s, *end = t->s + t->n;
  luaL_Buffer b;
  if (!t->escaped) {
    lua_pushlstring(L, t->s, t->n);
    return;
  }
  luaL_buffinit(L, &b);
  while (p < end) {
    char *room = luaL_prepbuffer(&b);
    size_t n = nn_json_unescape(room, LUAL_BUFFERSIZE, &p, end);
    luaL_addsize(&b, n);
  }
  luaL_pushresult(&b);
}

/* The number t pushed: an integer when it is digits alone (a sign before
** them) and fits in 64 bits, math.mininteger and math.maxinteger too; else
** a float. */
static void push_json_number(lua_State *L, const nn_json_token *t) {
  int neg = t->n > 0 && t->s[0] == '-';
  size_t i = t->n > 0 && (neg || t->s[0] == '+');
  uint64_t v = 0, limit = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
  if (i == t->n || t->n - i > 19) {
    lua_pushnumber(L, (lua_Number)t->number);
    return;
  }
  for (; i < t->n; i++) {
    unsigned d = (unsigned)(t->s[i] - '0');
    if (t->s[i] < '0' || t->s[i] > '9' || v > (limit - d) / 10) {
      lua_pushnumber(L, (lua_Number)t->number);
      return;
    }
    v = v * 10 + d;
  }
  /* -2^63 is computed in unsigned arithmetic: its negation overflows int64 */
  lua_pushinteger(L, neg ? (lua_Integer)(int64_t)(0 - v) : (lua_Integer)v);
}

static int push_json(lua_State *L, nn_json_reader *r, const nn_json_token *t);

/* The members or elements of the object or array t opened pushed as a
** table, up to its close. */
static int push_json_table(lua_State *L, nn_json_reader *r, const nn_json_token *t) {
  nn_json_kind close = t->kind == NN_JSON_OBJECT ? NN_JSON_OBJECT_END : NN_JSON_ARRAY_END;
  nn_json_token v;
  lua_Integer i = 0;
  int res;
  luaL_checkstack(L, 4, "training.options");
  lua_newtable(L);
  while (nn_json_next(r, &v) != close) {
    if (v.kind == NN_JSON_KEY) {
      push_json_string(L, &v);
      nn_json_next(r, &v);
    } else {
      lua_pushinteger(L, ++i);
    }
    if ((res = push_json(L, r, &v)) != 1)
      return res;
    lua_rawset(L, -3);
  }
  return 1;
}

/* The value that starts with token t pushed as Lua values: objects and
** arrays as tables, null as nil.  1, or 0 when the text is not JSON, -1 when
** it nests deeper than the reader's depth.  Raises on memory only. */
static int push_json(lua_State *L, nn_json_reader *r, const nn_json_token *t) {
  switch (t->kind) {
  case NN_JSON_STRING:
    push_json_string(L, t);
    return 1;
  case NN_JSON_NUMBER:
    push_json_number(L, t);
    return 1;
  case NN_JSON_TRUE:
  case NN_JSON_FALSE:
    lua_pushboolean(L, t->kind == NN_JSON_TRUE);
    return 1;
  case NN_JSON_NULL:
    lua_pushnil(L);
    return 1;
  case NN_JSON_OBJECT:
  case NN_JSON_ARRAY:
    return push_json_table(L, r, t);
  default:
    return r->error == NN_JSON_EDEPTH ? -1 : 0;
  }
}

/* store:history(name [, version]) --> the training run recorded with that
** version (the latest when omitted) in the shape tr:fit returns and
** store:save takes, or nil when it was saved without one.  Its digest is
** checked first.  Raises on bad arguments, an unknown model or version, and
** a run that disagrees with its digest. */
static int store_history(lua_State *L) {
  nn_store *s = nn_lua_checkstore(L, 1);
  const char *name = nn_lua_checkname(L, 2, "name"), *text;
  lua_Integer version = 0;
  nn_store_version v;
  nn_train_run run;
  nn_json_reader r;
  nn_json_token t;
  nn_lua_bufs *sc;
  int found;
  if (!lua_isnoneornil(L, 3)) {
    version = luaL_checkinteger(L, 3);
    if (version < 1)
      luaL_argerror(L, 3, "version must be a positive integer");
  }
  lua_settop(L, 3);
  sc = nn_lua_newbufs(L);   /* at 4 */
  /* the store may have been closed by a finalizer the allocation ran */
  s = nn_lua_checkstore(L, 1);
  if (nn_store_find_version(s, name, (int64_t)version, &v) != NN_OK ||
      nn_store_read_run(s, &v, &run, &found) != NN_OK)
    return raise_store(L, s);
  if (!found) {
    lua_pushnil(L);
    return 1;
  }
  /* the run, out of the store's scratch (which a finalizer running during
  ** the allocations below could reuse) into ours: texts, then epochs */
  text = s->text.p;
  if (nn_buf_add(&sc->buf[0], s->text.p, s->text.n) ||
      nn_buf_add(&sc->buf[1], s->blob.p, s->blob.n))
    return luaL_error(L, "not enough memory");
  run.options = sc->buf[0].p + (run.options - text);
  run.stopped = sc->buf[0].p + (run.stopped - text);
  if (run.source)
    run.source = sc->buf[0].p + (run.source - text);
  run.epochs = (const nn_train_epoch *)(void *)sc->buf[1].p;
  nn_lua_pushhistory(L, &run);   /* all but the options, which are JSON */
  nn_json_init(&r, run.options, run.options_len, NN_JSON_LOOSE_NUMBERS, JSON_DEPTH);
  nn_json_next(&r, &t);
  if ((found = push_json(L, &r, &t)) == 1 && nn_json_next(&r, &t) != NN_JSON_END)
    found = 0;
  if (found != 1)
    return luaL_error(L, "model '%s' version %d: its training options %s", name,
                      (int)v.version, found ? "nest too deep" : "are not JSON nn can read");
  lua_setfield(L, -2, "options");
  return 1;
}

/* --- registration --------------------------------------------------------------- */

static const luaL_Reg store_data_methods[] = {
  {"matrix", store_matrix},
  {"feedback_set", store_feedback_set},
  {"history", store_history},
  {NULL, NULL}
};

void nn_lua_open_store_data(lua_State *L) {
  luaL_getmetatable(L, NN_STORE);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, store_data_methods, 0);
  lua_pop(L, 2);
}
