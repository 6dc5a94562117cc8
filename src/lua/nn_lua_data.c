/*
** nn_lua_data.c: training data into nn.Matrix objects, from files.
**
**   local X, dims = nn.read_idx("train-images-idx3-ubyte.gz", { scale = 1 / 255 })
**   local T = nn.read_idx("train-labels-idx1-ubyte.gz", { classes = true })
**   local X, T = nn.read_fann_data("xor.data")
**   local X, T, labels, columns = nn.read_csv("iris.csv", { target = "species" })
**
** This file checks arguments and moves what the readers of nn_data.c found
** into Lua values; it parses nothing itself.  The readers fill arrays that
** Lua already owns (a matrix allocated from the file's header), or, for CSV,
** memory that a userdata owns until it is copied, so that nothing leaks
** when a Lua allocation raises.  The store's matrix and feedback_set are in
** nn_lua_store_data.c.
*/
#include <math.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "formats/nn_data.h"
#include "lua/nn_lua.h"

#define NN_CSV_BOX  "nn.CSV"   /* the userdata that owns a CSV reader's memory */

/* Raises "path: message". */
static int raise_file(lua_State *L, const char *path, const char *err) {
  return luaL_error(L, "%s: %s", path, err);
}

/* Check the options table at arg (nil: none) against known.  Raises. */
static void check_options(lua_State *L, int arg, const char *const known[]) {
  if (lua_isnoneornil(L, arg))
    return;
  luaL_checktype(L, arg, LUA_TTABLE);
  nn_lua_checkoptions(L, arg, known);
}

/* Push option key of the table at arg (nil when arg is none or nil). */
static int get_option(lua_State *L, int arg, const char *key) {
  if (lua_isnoneornil(L, arg)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, arg, key);
}

/* Raises "bad argument #arg to 'f' (option 'key' must be what)". */
static int option_error(lua_State *L, int arg, const char *key, const char *what) {
  return luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s", key, what));
}

/* The options max_bytes and (when field is set) max_field of the table at
** arg into lim: positive integers, the defaults when absent.  Raises. */
static void limit_options(lua_State *L, int arg, int field, nn_data_limits *lim) {
  lim->max_bytes = NN_DATA_MAX_BYTES;
  lim->max_field = NN_DATA_MAX_FIELD;
  if (get_option(L, arg, "max_bytes") != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
      option_error(L, arg, "max_bytes", "a positive integer");
    lim->max_bytes = (uint64_t)lua_tointeger(L, -1);
  }
  if (field && get_option(L, arg, "max_field") != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
      option_error(L, arg, "max_field", "a positive integer");
    lim->max_field = (size_t)lua_tointeger(L, -1);
  }
  lua_pop(L, 1 + field);
}

/* What one class costs as read: its float in the matrix read first, and
** its slot in the Lua table (a TValue, 16 bytes on Lua 5.1 to 5.4). */
#define NN_CLASS_COST  (sizeof(float) + 16)

/* --- IDX ------------------------------------------------------------------- */

/* Push a sequence of the integers in v[n], plus one each. */
static void push_classes(lua_State *L, const char *path, const float *v, size_t n) {
  size_t i;
  lua_createtable(L, n < 0x7fffffff ? (int)n : 0, 0);
  for (i = 0; i < n; i++) {
    if (v[i] < 0)
      luaL_error(L, "%s: element %I is %d, not a class (0 or more)", path,
                 (lua_Integer)i + 1, (int)v[i]);
    if (v[i] >= 16777216.0f)   /* float32 holds every integer below 2^24 */
      luaL_error(L, "%s: element %I is above 16777215, too large for a class", path,
                 (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)v[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* nn.read_idx(path [, { scale = , classes = , max_bytes = }]) --> X, dims
** X: an nn.Matrix of dims[1] rows (the other dimensions make its columns),
** every element times scale (1 when absent); with classes = true, a
** sequence of 1-based class indices (element + 1) instead.  Raises on bad
** arguments and on a file it cannot read or refuses. */
static int data_read_idx(lua_State *L) {
  static const char *const known[] = { "scale", "classes", "max_bytes", NULL };
  const char *path = luaL_checkstring(L, 1);
  char err[NN_ERRMAX];
  nn_data_limits lim;
  nn_idx_info info;
  nn_matrix *m;
  double scale = 1;
  int classes = 0;
  size_t i;
  check_options(L, 2, known);
  if (get_option(L, 2, "scale") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER || !isfinite(lua_tonumber(L, -1)))
      option_error(L, 2, "scale", "a finite number");
    scale = (double)lua_tonumber(L, -1);
  }
  if (get_option(L, 2, "classes") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      option_error(L, 2, "classes", "a boolean");
    classes = lua_toboolean(L, -1);
    if (classes && scale != 1)
      luaL_argerror(L, 2, "options 'classes' and 'scale' exclude each other");
  }
  limit_options(L, 2, 0, &lim);
  if (nn_idx_header(path, &lim, classes ? NN_CLASS_COST : sizeof(float), &info, err) != NN_OK)
    return raise_file(L, path, err);
  if (classes && info.type != 0x08 && info.type != 0x09 && info.type != 0x0B &&
      info.type != 0x0C)
    return luaL_error(L, "%s: classes must be integers; the file holds %s", path,
                      info.type == 0x0D ? "float32" : "float64");
  if (classes && info.cols != 1)
    return luaL_error(L, "%s: classes take one number per row; the file has %I",
                      path, (lua_Integer)info.cols);
  m = nn_lua_newmatrix(L, info.rows, info.cols);
  if (nn_idx_read(path, &lim, &info, scale, m->data, err) != NN_OK)
    return raise_file(L, path, err);
  if (classes)
    push_classes(L, path, m->data, m->rows);
  lua_createtable(L, (int)info.ndims, 0);
  for (i = 0; i < info.ndims; i++) {
    lua_pushinteger(L, (lua_Integer)info.dims[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 2;
}

/* --- FANN .data --------------------------------------------------------------- */

/* nn.read_fann_data(path [, { max_bytes =, max_field = }]) --> X, T: the
** inputs and the outputs of every pair, one row each.  Raises on a file it
** cannot read or refuses. */
static int data_read_fann(lua_State *L) {
  static const char *const known[] = { "max_bytes", "max_field", NULL };
  const char *path = luaL_checkstring(L, 1);
  char err[NN_ERRMAX];
  nn_data_limits lim;
  size_t n, n_in, n_out;
  nn_matrix *x, *t;
  check_options(L, 2, known);
  limit_options(L, 2, 1, &lim);
  if (nn_fann_data_header(path, &lim, &n, &n_in, &n_out, err) != NN_OK)
    return raise_file(L, path, err);
  x = nn_lua_newmatrix(L, n, n_in);
  t = nn_lua_newmatrix(L, n, n_out);
  if (nn_fann_data_read(path, &lim, n, n_in, n_out, x->data, t->data, err) != NN_OK)
    return raise_file(L, path, err);
  return 2;
}

/* --- CSV ------------------------------------------------------------------- */

static int csv_box_gc(lua_State *L) {
  nn_csv_free((nn_csv *)luaL_checkudata(L, 1, NN_CSV_BOX));
  return 0;
}

/* Push a sequence of the n strings of s. */
static void push_strings(lua_State *L, char *const *s, size_t n) {
  size_t i;
  lua_createtable(L, n < 0x7fffffff ? (int)n : 0, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, s[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* The options of read_csv at 2 into o; the labels' C array (a userdata) is
** left on the stack.  Raises. */
static void csv_options(lua_State *L, nn_csv_opts *o) {
  static const char *const known[] = { "target", "classes", "labels", "max_bytes",
                                       "max_field", NULL };
  memset(o, 0, sizeof *o);
  o->classes = -1;
  luaL_checktype(L, 2, LUA_TTABLE);
  nn_lua_checkoptions(L, 2, known);
  switch (lua_getfield(L, 2, "target")) {
  case LUA_TSTRING:
    o->target = lua_tostring(L, -1);
    break;
  case LUA_TNUMBER:
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1)
      option_error(L, 2, "target", "a column name, a 1-based column index or false");
    o->target_index = (size_t)lua_tointeger(L, -1);
    break;
  case LUA_TBOOLEAN:
    if (!lua_toboolean(L, -1))
      break;
    /* fall through */
  default:
    option_error(L, 2, "target", "a column name, a 1-based column index or false");
  }
  if (lua_getfield(L, 2, "classes") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      option_error(L, 2, "classes", "a boolean");
    o->classes = lua_toboolean(L, -1);
  }
  if (lua_getfield(L, 2, "labels") != LUA_TNIL) {
    const char **labels;
    size_t i;
    if (o->classes == 0)
      luaL_argerror(L, 2, "option 'labels' needs classes, not numbers");
    o->n_labels = nn_lua_checklabels(L, -1, 2, 0);   /* a checked copy */
    labels = (const char **)lua_newuserdatauv(L, o->n_labels * sizeof *labels, 0);
    for (i = 0; i < o->n_labels; i++) {
      lua_rawgeti(L, -2, (lua_Integer)i + 1);   /* anchored by the copy */
      labels[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    o->labels = labels;
  }
  if (!o->target && !o->target_index && (o->classes != -1 || o->labels))
    luaL_argerror(L, 2, "options 'classes' and 'labels' need a target column");
}

/* nn.read_csv(path, { target = [, classes = ] [, labels = ] [, max_bytes = ]
**                     [, max_field = ] })
** --> X, T, labels, columns
** X: every column but the target, one row per record; T: a sequence of
** 1-based class indices into labels (the labels found, sorted, or the ones
** given) when the target holds labels, else an nn.Matrix with one column
** (labels then nil); no T when target is false.  columns: X's names.
** Raises on bad arguments and on a file it cannot read or refuses. */
static int data_read_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char err[NN_ERRMAX];
  nn_data_limits lim;
  nn_csv_opts o;
  nn_csv *csv;
  nn_matrix *m;
  csv_options(L, &o);
  limit_options(L, 2, 1, &lim);
  csv = (nn_csv *)lua_newuserdatauv(L, sizeof *csv, 0);
  memset(csv, 0, sizeof *csv);
  luaL_setmetatable(L, NN_CSV_BOX);
  if (nn_csv_read(path, &lim, &o, csv, err) != NN_OK)
    return raise_file(L, path, err);   /* out of memory too: the file is named */
  m = nn_lua_newmatrix(L, csv->rows, csv->cols);
  if (csv->rows)
    memcpy(m->data, csv->x, csv->rows * csv->cols * sizeof *csv->x);
  if (!csv->target_name) {
    lua_pushnil(L);
    lua_pushnil(L);
  } else if (csv->classes) {
    size_t i;
    lua_createtable(L, csv->rows < 0x7fffffff ? (int)csv->rows : 0, 0);
    for (i = 0; i < csv->rows; i++) {
      lua_pushinteger(L, (lua_Integer)csv->cls[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    if (o.labels)
      lua_getfield(L, 2, "labels");
    else
      push_strings(L, csv->labels, csv->n_labels);
  } else {
    m = nn_lua_newmatrix(L, csv->rows, 1);
    if (csv->rows)
      memcpy(m->data, csv->t, csv->rows * sizeof *csv->t);
    lua_pushnil(L);
  }
  push_strings(L, csv->names, csv->cols);
  nn_csv_free(csv);   /* now, rather than at the next collection */
  return 4;
}

/* --- registration ------------------------------------------------------------- */

static const luaL_Reg data_functions[] = {
  {"read_idx", data_read_idx},
  {"read_fann_data", data_read_fann},
  {"read_csv", data_read_csv},
  {NULL, NULL}
};

void nn_lua_open_data(lua_State *L) {
  luaL_newmetatable(L, NN_CSV_BOX);
  lua_pushcfunction(L, csv_box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_setfuncs(L, data_functions, 0);
}
