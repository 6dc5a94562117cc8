/*
** nn_lua_batch.c: a network over a batch, one sample per row of an
** nn.Matrix: net:forward(X [, Y]) and net:classify(X [, labels]).
**
**   local X = nn.Matrix{ { 32, 107, 56, 11.2 }, { 250, 40, 120, 30 } }
**   local Y = net:forward(X)                     -- one output row per row
**   local labels, scores, Y = net:classify(X)   -- { "leaf", "flower" }, ...
**
** One batch forward pass in C (nn_forward_batch_pool: tasks of 32 rows on
** nn.threads() threads), and for classify an argmax per row, with no Lua call per row: labels[r] is
** the label of row r's largest output (its 1-based index when there are no
** labels), scores[r] that output, Y every output.  net_forward and
** net_classify in nn_lua_net.c call this file for a matrix and keep the
** single sample; this file checks X and Y against the network and does no
** arithmetic of its own.
*/
#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "engine/nn_pool.h"
#include "lua/nn_lua.h"

/* Outputs per row: the net's, or X's width for element-wise layers only. */
static size_t output_width(const nn_net *net, size_t n_x) {
  return net->n_outputs > 0 ? net->n_outputs : n_x;
}

/* Raises when X at 2 is not an nn.Matrix ("table or nn.Matrix expected":
** a sample is taken too) or has another width than the net's inputs. */
static const nn_matrix *check_batch(lua_State *L, const nn_net *net) {
  const nn_matrix *X = nn_lua_tomatrix(L, 2);
  if (X == NULL)
    luaL_typeerror(L, 2, "table or " NN_MATRIX);
  else if (net->n_inputs > 0 && X->cols != net->n_inputs)
    luaL_argerror(L, 2, lua_pushfstring(L, "X: expected %I columns, got %I",
                  (lua_Integer)net->n_inputs, (lua_Integer)X->cols));
  nn_lua_checkinput(L, net, X->data, X->rows, X->cols, 2);
  return X;
}

/* Y = net(X) on the state's threads (nn.threads), chunks of NN_BATCH_ROWS
** rows a task: the same bits on any number.  Raises on memory errors
** (before the work buffer is taken, after which nothing allocates). */
static void forward_rows(lua_State *L, const nn_net *net, float *Y,
                         const nn_matrix *X) {
  size_t workers = nn_lua_threads(L);
  nn_pool *pool = nn_lua_pool(L, workers);
  float *work = nn_lua_work(L, nn_batch_pool_work_size(net, X->rows, X->cols, workers));
  nn_forward_batch_pool(pool, workers, net, Y, X->data, X->rows, X->cols, work);
}

/* Y at 3 (nil for a new one).  Raises on shapes that do not fit. */
int nn_lua_forward_batch(lua_State *L, const nn_net *net) {
  const nn_matrix *X = check_batch(L, net);
  nn_matrix *Y;
  size_t n_x = X->cols, n_y;
  n_y = output_width(net, n_x);
  if (lua_isnil(L, 3)) {
    Y = nn_lua_newmatrix(L, X->rows, n_y);
    lua_replace(L, 3);
  } else {
    if ((Y = nn_lua_tomatrix(L, 3)) == NULL)
      luaL_typeerror(L, 3, NN_MATRIX);
    if (Y->rows != X->rows || Y->cols != n_y)
      luaL_argerror(L, 3, lua_pushfstring(L, "Y: expected %I x %I, got %I x %I",
                    (lua_Integer)X->rows, (lua_Integer)n_y, (lua_Integer)Y->rows,
                    (lua_Integer)Y->cols));
    if (Y == X)
      luaL_argerror(L, 3, "Y: must not be X");
  }
  if (X->rows > 0) forward_rows(L, net, Y->data, X);
  lua_settop(L, 3);
  return 1;
}

/* net at 1, X at 2, labels at labels (0: the network's own, else none);
** net is the network's pinned block.  Raises on X of another type or width. */
int nn_lua_classify_batch(lua_State *L, const nn_net *net, int labels) {
  const nn_matrix *X = check_batch(L, net);
  nn_matrix *Y;
  size_t n_x = X->cols, n_y, r;
  int out_labels, out_scores;
  n_y = output_width(net, n_x);
  if (labels == 0 && nn_lua_getlabels(L, 1) == LUA_TTABLE)
    labels = lua_gettop(L);
  /* everything that allocates, before the work buffer is taken */
  lua_createtable(L, (int)X->rows, 0);
  out_labels = lua_gettop(L);
  lua_createtable(L, (int)X->rows, 0);
  out_scores = lua_gettop(L);
  Y = nn_lua_newmatrix(L, X->rows, n_y);
  if (X->rows > 0) forward_rows(L, net, Y->data, X);
  /* Y is the matrix's own block: an error message may allocate */
  for (r = 0; r < X->rows; r++)
    nn_lua_checkoutputs(L, NULL, r + 1, Y->data + r * n_y, n_y);
  /* the label strings are the table's own and the tables are sized: from
  ** here on nothing allocates */
  for (r = 0; r < X->rows; r++) {
    const float *y = Y->data + r * n_y;
    size_t best = nn_argmax(y, n_y);
    nn_lua_pushlabel(L, labels, best);
    lua_rawseti(L, out_labels, (lua_Integer)r + 1);
    lua_pushnumber(L, (lua_Number)y[best]);
    lua_rawseti(L, out_scores, (lua_Integer)r + 1);
  }
  lua_pushvalue(L, out_labels);
  lua_pushvalue(L, out_scores);
  lua_pushvalue(L, -3);   /* Y */
  return 3;
}
