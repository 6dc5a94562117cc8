/*
** nn_lua_ffi.c: what LuaJIT's FFI reaches a network through, for
** lua/nn/ffi.lua, which runs net:forward and net:classify there without
** leaving compiled code.  Not a Lua type and no public name: two functions
** of nn.core, used by that file only.
**
**   local api = ffi.cast(API_TYPE, core._ffi())     -- the table below
**   local block, net, n_x, n_y, labels, changes, checked = core._ffi_pin(network)
**   api.forward(net, y, x, n_x, work)               -- nn_forward itself
**
** How the FFI finds the C: through this table of function pointers, handed
** out as a light userdata, and never by symbol.  nn.core is loaded by
** require with RTLD_LOCAL, so ffi.C does not see its symbols; a host may
** link libnn.a into its program instead, with or without exporting them;
** and ffi.load would have to guess a path and might load a second copy of
** the library, with a second kernel choice.  The table is the one the
** loaded core holds, whatever loaded it.
**
** The block: a network's layers and params live in a block that net:add
** replaces (nn_lnet in nn_lua.h).  _ffi_pin returns the block itself, which
** the Lua side keeps referenced as long as it uses the pointer into it, as
** nn_lua_pinnet keeps it on the stack; and the address of the handle's
** count of changes, which the Lua side compares at every call to learn that
** the network adopted another block or label table.  Changing weights in
** place (set_weights, set_params, training) needs no new pin: the pointer
** reads them at every call.
*/
#include <stddef.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"

/* Raised by one when lua/nn/ffi.lua must change with this table. */
#define NN_LUA_FFI_VERSION  1

/* The layout lua/nn/ffi.lua declares, field for field: change both.  The
** passes are the engine's own functions; what returns a size goes through
** the wrappers below, since LuaJIT boxes a 64-bit result (garbage, unless
** the call is compiled) where it takes an int or a double as a number. */
typedef struct nn_lua_ffi_api {
  uint32_t version, size;       /* NN_LUA_FFI_VERSION, sizeof this table */
  uint32_t matrix_data;         /* offsetof(nn_matrix, data): nn.Matrix's layout */
  uint32_t reserved;
  void (*forward)(const nn_net *net, float *y, const float *x, size_t n_x,
                  float *work);
  void (*forward_batch)(const nn_net *net, float *Y, const float *X,
                        size_t n_rows, size_t n_x, float *work);
  double (*work_size)(const nn_net *net, size_t n_x);
  double (*batch_work_size)(const nn_net *net, size_t n_rows, size_t n_x);
  int (*argmax)(const float *y, size_t n);
  int (*nonfinite)(const float *y, size_t n);
} nn_lua_ffi_api;

/* Sizes as doubles (exact below 2^53) and indices as ints (a width is at
** most NN_MAX_WIDTH). */
static double work_size(const nn_net *net, size_t n_x) {
  return (double)nn_work_size(net, n_x);
}

static double batch_work_size(const nn_net *net, size_t n_rows, size_t n_x) {
  return (double)nn_batch_work_size(net, n_rows, n_x);
}

static int argmax(const float *y, size_t n) {
  return (int)nn_argmax(y, n);
}

static int nonfinite(const float *y, size_t n) {
  return (int)nn_nonfinite(y, n);
}

static const nn_lua_ffi_api api = {
  NN_LUA_FFI_VERSION, (uint32_t)sizeof(nn_lua_ffi_api),
  (uint32_t)offsetof(nn_matrix, data), 0,
  nn_forward, nn_forward_batch, work_size, batch_work_size, argmax, nonfinite
};

/* nn.core._ffi() --> the table above, a light userdata */
static int ffi_api(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&api);
  return 1;
}

/* nn.core._ffi_pin(net) --> block, net, n_inputs, n_outputs, labels, changes,
** checked: the network's block (a userdata: keep it while using net), the
** nn_net in it (a light userdata), its widths, its own labels (or nil), the
** address of its handle's count of changes (a light userdata), and whether
** its first layer checks its input (an Embedding's ids: the C methods then
** take every call, for they check it).  Raises "nn.Network expected" on
** anything else. */
static int ffi_pin(lua_State *L) {
  nn_lnet *h;
  const nn_net *net = nn_lua_pinnet(L, 1, 1, &h);   /* at 2 */
  const nn_kind_info *d = net->n_layers ? nn_kind_info_of(net->layers[0].kind) : NULL;
  lua_pushlightuserdata(L, (void *)net);
  lua_pushinteger(L, (lua_Integer)net->n_inputs);
  lua_pushinteger(L, (lua_Integer)net->n_outputs);
  nn_lua_getlabels(L, 1);
  lua_pushlightuserdata(L, (void *)&h->changes);
  lua_pushboolean(L, d != NULL && d->input != NULL && d->input->check != NULL);
  return 7;
}

static const luaL_Reg functions[] = {
  {"_ffi", ffi_api}, {"_ffi_pin", ffi_pin}, {NULL, NULL}
};

void nn_lua_open_ffi(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
}
