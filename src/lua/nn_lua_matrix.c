/*
** nn_lua_matrix.c: the "nn.Matrix" type, a batch of samples for the engine.
**
**   local X = nn.Matrix{ { 32, 107, 56, 11.2 }, { 250, 40, 120, 30 } }
**   local Y = net:forward(X)              -- one output row per input row
**   print(Y:get(2, 1), Y:rows(), Y:cols())
**
** A matrix is float32, row-major, and one userdata block: its sizes and then
** its data, so the collector owns everything and the engine reads the rows
** in place.  This file checks indices and values and converts to and from
** Lua tables; it does no arithmetic (the forward pass is in nn_lua.c, over
** nn_engine.c).
*/
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"

/* Shown by tostring; a larger matrix is cut with "...". */
#define SHOW_ROWS  20
#define SHOW_COLS  12

nn_matrix *nn_lua_tomatrix(lua_State *L, int arg) {
  return (nn_matrix *)luaL_testudata(L, arg, NN_MATRIX);
}

nn_matrix *nn_lua_checkmatrix(lua_State *L, int arg) {
  return (nn_matrix *)luaL_checkudata(L, arg, NN_MATRIX);
}

/* Raises when rows x cols is too large (before allocating) or on memory. */
nn_matrix *nn_lua_newmatrix(lua_State *L, size_t rows, size_t cols) {
  nn_matrix *m;
  if (cols != 0 && rows > NN_MAX_PARAMS / cols)
    luaL_error(L, "nn.Matrix(%I x %I) is too large (at most %I numbers)",
               (lua_Integer)rows, (lua_Integer)cols, (lua_Integer)NN_MAX_PARAMS);
  m = (nn_matrix *)lua_newuserdatauv(L, sizeof(nn_matrix) + rows * cols * sizeof(float), 0);
  m->rows = rows;
  m->cols = cols;
  if (rows > 0) memset(m->data, 0, rows * cols * sizeof(float));
  luaL_setmetatable(L, NN_MATRIX);
  return m;
}

/* A size argument: rows may be 0 (an empty batch), columns may not. */
static size_t check_dim(lua_State *L, int arg, const char *what, lua_Integer least) {
  lua_Integer n = luaL_checkinteger(L, arg);
  if (n < least)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s must be at least %I, got %I",
                  what, least, n));
  if ((lua_Unsigned)n > NN_MAX_PARAMS)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s %I is too large (at most %I)",
                  what, n, (lua_Integer)NN_MAX_PARAMS));
  return (size_t)n;
}

/* nn.Matrix(rows, cols) zero-filled, or nn.Matrix{ {...}, ... } from rows of
** equal length. */
static int matrix_new(lua_State *L) {
  size_t rows, cols, i;
  nn_matrix *m;
  if (lua_type(L, 1) != LUA_TTABLE) {
    rows = check_dim(L, 1, "rows", 0);
    cols = check_dim(L, 2, "cols", 1);
    nn_lua_newmatrix(L, rows, cols);
    return 1;
  }
  lua_settop(L, 1);
  rows = (size_t)lua_rawlen(L, 1);
  if (rows == 0)
    return luaL_argerror(L, 1, "rows: empty table (use nn.Matrix(0, cols) for no rows)");
  if (lua_rawgeti(L, 1, 1) != LUA_TTABLE)
    return luaL_argerror(L, 1, lua_pushfstring(L, "rows[1]: table expected, got %s",
                         nn_lua_typename(L, -1)));
  cols = (size_t)lua_rawlen(L, -1);
  lua_pop(L, 1);
  if (cols == 0)
    return luaL_argerror(L, 1, "rows[1]: empty table");
  m = nn_lua_newmatrix(L, rows, cols);
  for (i = 0; i < rows; i++) {
    char what[40];
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    snprintf(what, sizeof what, "rows[%zu]", i + 1);
    nn_lua_readfloats(L, -1, 1, what, m->data + i * cols, cols);
    lua_pop(L, 1);
  }
  return 1;
}

/* A 1-based row (arg) or column index, checked against n; returns it 0-based. */
static size_t check_index(lua_State *L, int arg, const char *what, size_t n) {
  lua_Integer i = luaL_checkinteger(L, arg);
  if (i < 1 || (lua_Unsigned)i > n)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s %I out of range 1..%I",
                  what, i, (lua_Integer)n));
  return (size_t)i - 1;
}

static int matrix_rows(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_lua_checkmatrix(L, 1)->rows);
  return 1;
}

static int matrix_cols(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nn_lua_checkmatrix(L, 1)->cols);
  return 1;
}

/* M:get(i, j) --> the number at row i, column j */
static int matrix_get(lua_State *L) {
  const nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i = check_index(L, 2, "row", m->rows), j = check_index(L, 3, "column", m->cols);
  lua_pushnumber(L, (lua_Number)m->data[i * m->cols + j]);
  return 1;
}

/* M:set(i, j, v) --> M.  Raises on NaN, infinity, or beyond float32. */
static int matrix_set(lua_State *L) {
  nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i = check_index(L, 2, "row", m->rows), j = check_index(L, 3, "column", m->cols);
  lua_Number v = luaL_checknumber(L, 4);
  if (v != v)
    luaL_argerror(L, 4, "value is NaN");
  if (v > FLT_MAX || v < -FLT_MAX)
    luaL_argerror(L, 4, isinf(v) ? "value is infinite" : "value is too large for float32");
  m->data[i * m->cols + j] = (float)v;
  lua_settop(L, 1);
  return 1;
}

/* M:row(i [, out]) --> row i as a table of numbers (out, reused, when given) */
static int matrix_row(lua_State *L) {
  const nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i = check_index(L, 2, "row", m->rows);
  if (lua_isnoneornil(L, 3)) {
    nn_lua_pushfloats(L, 0, m->data + i * m->cols, m->cols);
    return 1;
  }
  luaL_checktype(L, 3, LUA_TTABLE);
  nn_lua_pushfloats(L, 3, m->data + i * m->cols, m->cols);
  lua_settop(L, 3);
  return 1;
}

/* M:set_row(i, x) --> M, row i replaced by the numbers of x; checked whole
** before anything is written. */
static int matrix_set_row(lua_State *L) {
  nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i = check_index(L, 2, "row", m->rows);
  float buf[NN_STACK_FLOATS];
  float *x = nn_lua_scratch(L, buf, m->cols);
  nn_lua_readfloats(L, 3, 3, "x", x, m->cols);
  memcpy(m->data + i * m->cols, x, m->cols * sizeof(float));
  lua_settop(L, 1);
  return 1;
}

/* M:to_table() --> { {...}, ... }, one table per row */
static int matrix_to_table(lua_State *L) {
  const nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i;
  lua_createtable(L, (int)(m->rows < INT_MAX ? m->rows : INT_MAX), 0);
  for (i = 0; i < m->rows; i++) {
    nn_lua_pushfloats(L, 0, m->data + i * m->cols, m->cols);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* Torch's layout: the numbers row by row, then the type and size. */
static int matrix_tostring(lua_State *L) {
  const nn_matrix *m = nn_lua_checkmatrix(L, 1);
  size_t i, j;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i < m->rows && i < SHOW_ROWS; i++) {
    for (j = 0; j < m->cols && j < SHOW_COLS; j++) {
      char num[32];
      snprintf(num, sizeof num, "%s%.7g", j ? " " : "", (double)m->data[i * m->cols + j]);
      luaL_addstring(&b, num);
    }
    if (m->cols > SHOW_COLS) luaL_addstring(&b, " ...");
    luaL_addchar(&b, '\n');
  }
  if (m->rows > SHOW_ROWS) luaL_addstring(&b, "...\n");
  lua_pushfstring(L, "[nn.Matrix %I x %I]", (lua_Integer)m->rows, (lua_Integer)m->cols);
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg matrix_methods[] = {
  {"rows", matrix_rows}, {"cols", matrix_cols},
  {"get", matrix_get},   {"set", matrix_set},
  {"row", matrix_row},   {"set_row", matrix_set_row},
  {"to_table", matrix_to_table},
  {NULL, NULL}
};

void nn_lua_open_matrix(lua_State *L) {
  luaL_newmetatable(L, NN_MATRIX);
  luaL_newlib(L, matrix_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, matrix_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_pushcfunction(L, matrix_new);
  lua_setfield(L, -2, "Matrix");
}
