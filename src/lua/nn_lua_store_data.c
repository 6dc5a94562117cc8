/*
** nn_lua_store_data.c: the store's training data and training runs, in Lua.
**
**   local X = store:matrix("SELECT r, g, b, volume FROM objects WHERE day = ?", 3)
**   local X, T, ids = store:feedback_set("leaf_flower", { labels = "default" })
**   local v = store:save("leaf_flower", net, { training = history, source = sql })
**   local history = store:history("leaf_flower", v)
**
** This file checks arguments and converts between Lua values and what
** nn_store_data.c and nn_store_train.c take; it runs no SQL itself.  What
** the store reads lands in the buffers of an "nn.Scratch" userdata, so that
** the collector frees them if a Lua allocation raises before they are
** copied into an nn.Matrix.  store:save itself is in nn_lua_store.c; it
** asks nn_lua_checkrun for the run to record.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "lua/nn_lua.h"
#include "formats/nn_json_read.h"
#include "store/nn_store.h"
#include "store/nn_store_data.h"
#include "store/nn_store_train.h"

#define NN_SCRATCH  "nn.Scratch"
#define JSON_DEPTH  16   /* nested tables in training.options */

#define SCRATCH_BUFS  4

typedef struct scratch {
  nn_buf buf[SCRATCH_BUFS];
} scratch;

static int scratch_gc(lua_State *L) {
  scratch *sc = (scratch *)luaL_checkudata(L, 1, NN_SCRATCH);
  int i;
  for (i = 0; i < SCRATCH_BUFS; i++)
    nn_buf_free(&sc->buf[i]);
  return 0;
}

/* Push a new, empty scratch. */
static scratch *new_scratch(lua_State *L) {
  scratch *sc = (scratch *)lua_newuserdatauv(L, sizeof *sc, 0);
  memset(sc, 0, sizeof *sc);
  luaL_setmetatable(L, NN_SCRATCH);
  return sc;
}

/* Raises the store's message. */
static int raise_store(lua_State *L, nn_store *s) {
  return luaL_error(L, "%s", s->err);
}

/* The log first, so that a query sees every logged row; but not into a
** transaction the caller opened.  Raises on a failed flush. */
static void flush_for_query(lua_State *L, nn_store *s) {
  if (sqlite3_get_autocommit(s->db) && nn_store_flush(s) != NN_OK)
    raise_store(L, s);
  nn_store_user_sql(s);
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
  scratch *sc;
  params = (nn_store_param *)lua_newuserdatauv(L, (size_t)(nargs > 0 ? nargs : 1) *
                                               sizeof *params, 0);
  memset(params, 0, (size_t)(nargs > 0 ? nargs : 1) * sizeof *params);
  for (i = 0; i < nargs; i++) {
    int arg = 3 + i;
    nn_store_param *p = &params[i];
    switch (lua_type(L, arg)) {
    case LUA_TNIL:
      p->type = SQLITE_NULL;
      break;
    case LUA_TBOOLEAN:
      p->type = SQLITE_INTEGER;
      p->i = lua_toboolean(L, arg);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, arg)) {
        p->type = SQLITE_INTEGER;
        p->i = (int64_t)lua_tointeger(L, arg);
      } else {
        p->type = SQLITE_FLOAT;
        p->d = (double)lua_tonumber(L, arg);
      }
      break;
    case LUA_TSTRING:
      p->type = SQLITE_TEXT;
      p->text = lua_tolstring(L, arg, &p->len);
      break;
    default:
      return luaL_typeerror(L, arg, "nil, boolean, number or string");
    }
  }
  sc = new_scratch(L);
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
  const char *name = luaL_checkstring(L, 2), *map = NULL;
  lua_Integer version = 0;
  size_t rows, cols, n;
  scratch *sc;
  lua_settop(L, 3);   /* x, t, ids and the labels' JSON go to the scratch at 4 */
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    nn_lua_checkoptions(L, 3, known);
  }
  sc = new_scratch(L);   /* at 4 */
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

/* --- training runs ------------------------------------------------------------ */

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
  if (t == LUA_TNUMBER)
    v = (double)lua_tonumber(L, -1);
  else if (t != LUA_TNIL || !optional)
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

static void json_value(lua_State *L, int idx, nn_buf *b, int depth, int arg);

/* The table at idx as JSON into b: an array when its keys are 1..n, else
** an object with its string keys sorted (so that the same options give the
** same text).  Raises on other keys and on tables nested too deep. */
static void json_table(lua_State *L, int idx, nn_buf *b, int depth, int arg) {
  size_t n = 0, len = (size_t)lua_rawlen(L, idx), i;
  const char **keys;
  int bad = 0;
  idx = lua_absindex(L, idx);
  if (depth > JSON_DEPTH)
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
      json_value(L, -1, b, depth + 1, arg);
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
    keys[i++] = lua_tostring(L, -1);   /* anchored by the table */
  }
  qsort(keys, n, sizeof *keys, by_string);
  bad |= nn_buf_add(b, "{", 1);
  for (i = 0; i < n; i++) {
    if (i)
      bad |= nn_buf_add(b, ",", 1);
    bad |= nn_buf_json_string(b, keys[i], strlen(keys[i]));
    bad |= nn_buf_add(b, ":", 1);
    lua_getfield(L, idx, keys[i]);
    json_value(L, -1, b, depth + 1, arg);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);   /* keys */
  if (bad || nn_buf_add(b, "}", 1))
    luaL_error(L, "not enough memory");
}

/* The value at idx as JSON into b: strings, numbers (null when not
** finite), booleans and tables as themselves; anything else (a criterion,
** a callback) as the name of its type. */
static void json_value(lua_State *L, int idx, nn_buf *b, int depth, int arg) {
  size_t len;
  const char *text;
  int bad;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    text = lua_tolstring(L, idx, &len);
    bad = nn_buf_json_string(b, text, len);
    break;
  case LUA_TNUMBER:
    bad = lua_isinteger(L, idx) ? nn_buf_json_int(b, (int64_t)lua_tointeger(L, idx))
                                : nn_buf_json_double(b, (double)lua_tonumber(L, idx));
    break;
  case LUA_TBOOLEAN:
    bad = lua_toboolean(L, idx) ? nn_buf_add(b, "true", 4) : nn_buf_add(b, "false", 5);
    break;
  case LUA_TTABLE:
    json_table(L, idx, b, depth, arg);
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

const nn_train_run *nn_lua_checkrun(lua_State *L, struct nn_store *s, int arg) {
  nn_train_run *run;
  scratch *sc;
  int h;
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
  sc = new_scratch(L);
  switch (lua_getfield(L, h, "options")) {
  case LUA_TNIL:
    if (nn_buf_add(&sc->buf[0], "{}", 2))
      luaL_error(L, "not enough memory");
    break;
  case LUA_TTABLE:
    json_table(L, -1, &sc->buf[0], 1, arg);
    if (sc->buf[0].p[0] != '{')
      run_error(L, arg, "%s.options must be a table of named options", "training");
    break;
  default:
    run_error(L, arg, "%s.options must be a table", "training");
  }
  lua_pop(L, 1);
  run->options = sc->buf[0].p;
  run->options_len = sc->buf[0].n;
  switch (lua_getfield(L, arg, "source")) {
  case LUA_TNIL:
    break;
  case LUA_TSTRING:
    run->source = lua_tolstring(L, -1, &run->source_len);
    break;
  default:
    luaL_argerror(L, arg, "option 'source' must be a string");
  }
  if (nn_store_check_run(s, run) != NN_OK)
    luaL_argerror(L, arg, s->err);
  return run;
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
** them) and fits, else a float. */
static void push_json_number(lua_State *L, const nn_json_token *t) {
  size_t i = t->n > 0 && (t->s[0] == '-' || t->s[0] == '+');
  int64_t v = 0;
  if (t->n > 18 || i == t->n) {
    lua_pushnumber(L, (lua_Number)t->number);
    return;
  }
  for (; i < t->n; i++) {
    if (t->s[i] < '0' || t->s[i] > '9') {
      lua_pushnumber(L, (lua_Number)t->number);
      return;
    }
    v = v * 10 + (t->s[i] - '0');
  }
  lua_pushinteger(L, (lua_Integer)(t->s[0] == '-' ? -v : v));
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

/* store:history(name [, version]) --> the training run recorded with that
** version (the latest when omitted) in the shape tr:fit returns and
** store:save takes, or nil when it was saved without one.  Its digest is
** checked first.  Raises on bad arguments, an unknown model or version, and
** a run that disagrees with its digest. */
static int store_history(lua_State *L) {
  nn_store *s = nn_lua_checkstore(L, 1);
  size_t len, i;
  const char *name = luaL_checklstring(L, 2, &len), *text;
  lua_Integer version = 0;
  nn_store_version v;
  nn_train_run run;
  nn_json_reader r;
  nn_json_token t;
  scratch *sc;
  int found;
  if (len == 0)
    luaL_argerror(L, 2, "name must not be empty");
  if (strlen(name) != len)
    luaL_argerror(L, 2, "name contains a zero byte");
  if (!lua_isnoneornil(L, 3)) {
    version = luaL_checkinteger(L, 3);
    if (version < 1)
      luaL_argerror(L, 3, "version must be a positive integer");
  }
  lua_settop(L, 3);
  sc = new_scratch(L);   /* at 4 */
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
  lua_createtable(L, 0, 8);
  lua_createtable(L, run.n_epochs < 0x7fffffff ? (int)run.n_epochs : 0, 0);
  for (i = 0; i < run.n_epochs; i++) {
    const nn_train_epoch *e = &run.epochs[i];
    lua_createtable(L, 0, 5);
    set_integer(L, "epoch", e->epoch);
    set_real(L, "loss", e->loss);
    set_real(L, "val_loss", e->val_loss);
    set_real(L, "val_accuracy", e->val_accuracy);
    set_real(L, "ms", e->ms);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "epochs");
  if (run.best_epoch)
    set_integer(L, "best_epoch", run.best_epoch);
  lua_pushstring(L, run.stopped);
  lua_setfield(L, -2, "stopped");
  nn_json_init(&r, run.options, run.options_len, NN_JSON_LOOSE_NUMBERS, JSON_DEPTH);
  nn_json_next(&r, &t);
  if ((found = push_json(L, &r, &t)) == 1 && nn_json_next(&r, &t) != NN_JSON_END)
    found = 0;
  if (found != 1)
    return luaL_error(L, "model '%s' version %d: its training options %s", name,
                      (int)v.version, found ? "nest too deep" : "are not JSON nn can read");
  lua_setfield(L, -2, "options");
  set_integer(L, "rows", run.rows);
  if (run.source) {
    lua_pushlstring(L, run.source, run.source_len);
    lua_setfield(L, -2, "source");
  }
  set_integer(L, "started_at", run.started_at);
  set_integer(L, "ended_at", run.ended_at);
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
  luaL_newmetatable(L, NN_SCRATCH);
  lua_pushcfunction(L, scratch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_getmetatable(L, NN_STORE);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, store_data_methods, 0);
  lua_pop(L, 2);
}
