/*
** nn_lua_batch.c: net:classify(X [, labels]) for a batch, one sample per row
** of an nn.Matrix.
**
**   local X = nn.Matrix{ { 32, 107, 56, 11.2 }, { 250, 40, 120, 30 } }
**   local labels, scores, Y = net:classify(X)   -- { "leaf", "flower" }, ...
**
** One batch forward pass in C and an argmax per row, with no Lua call per
** row: labels[r] is the label of row r's largest output (its 1-based index
** when there are no labels), scores[r] that output, Y every output, one row
** per sample (as net:forward(X) gives it).  net_classify in nn_lua_net.c
** calls this for a matrix; the single-sample path and the check of X that
** net:forward(X) shares (nn_lua_checkbatch) stay there.  This file does no
** arithmetic of its own.
*/
#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"

/* net at 1, X at 2, labels at labels (0: the network's own, else none);
** net is the network's pinned block.  Raises on X of another type or width. */
int nn_lua_classify_batch(lua_State *L, const nn_net *net, int labels) {
  const nn_matrix *X = nn_lua_checkbatch(L, net);
  nn_matrix *Y;
  size_t n_x = X->cols, n_y, r;
  int out_labels, out_scores;
  float *work;
  n_y = net->n_outputs > 0 ? net->n_outputs : n_x;
  if (labels == 0 && nn_lua_getlabels(L, 1) == LUA_TTABLE)
    labels = lua_gettop(L);
  /* everything that allocates, before the work buffer is taken */
  lua_createtable(L, (int)X->rows, 0);
  out_labels = lua_gettop(L);
  lua_createtable(L, (int)X->rows, 0);
  out_scores = lua_gettop(L);
  Y = nn_lua_newmatrix(L, X->rows, n_y);
  if (X->rows > 0) {
    work = nn_lua_work(L, nn_batch_work_size(net, X->rows, n_x));
    nn_forward_batch(net, Y->data, X->data, X->rows, n_x, work);
  }
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
