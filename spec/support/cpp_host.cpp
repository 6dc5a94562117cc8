// cpp_host.cpp: a C++ host linking libnn.a (spec/host_spec.lua compiles it
// with g++ -Werror): the engine's C functions by their C names, nn.core
// preloaded into Lua, and the SQL functions on every SQLite connection.
// Prints one line per part; any failure exits 1.
#include <cstdio>
#include <cstring>

#include <sqlite3.h>
#include "lua.hpp"
#include "nn.h"

int main() {
  // the engine alone: the seed's network, its leaf
  nn_layer arch[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU), NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
  static const float params[] = { 0.10f, -0.29f, -0.07f, 0.46f, 0.12f, -0.05f, 0.03f, 0.05f,
                                  -0.36f, -0.21f, -0.20f, -0.15f, 0.25f, 0.27f, -0.23f,
                                  -0.17f, 0.39f, 0.10f, 0.48f, 0.15f, -0.32f, 0.41f, 0.05f };
  char err[NN_ERRMAX];
  nn_net *net = nn_net_new(arch, 4, err);
  if (net == NULL) return std::printf("%s\n", err), 1;
  std::memcpy(net->params, params, sizeof params);
  float x[4] = { 32.0f, 107.0f, 56.0f, 11.2f }, y[2], work[NN_WORK_MAX(4, 4)];
  nn_forward(net, y, x, 4, work);
  std::printf("engine %.4f %.4f\n", y[0], y[1]);
  nn_net_free(net);

  // Lua: nn.core from the library
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_nn_core);
  lua_setfield(L, -2, "nn.core");
  lua_pop(L, 2);
  const char *script =
    "local core = require 'nn.core'\n"
    "local net = core.Sequential{ core.Linear(2, 2), core.SoftMax() }\n"
    "return ('lua %s %d'):format(core._VERSION, #net:forward{ 1, 2 })";
  if (luaL_loadstring(L, script) != 0 || lua_pcall(L, 0, 1, 0) != 0)
    return std::printf("%s\n", lua_tostring(L, -1)), 1;
  std::printf("%s\n", lua_tostring(L, -1));
  lua_close(L);

  // SQLite: the functions on a connection the host opens
  sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(nn_sql_init));
  sqlite3 *db = NULL;
  sqlite3_open(":memory:", &db);
  char *msg = NULL;
  int rc = sqlite3_exec(db, "SELECT nn_classify('m', 1)", NULL, NULL, &msg);
  std::printf("sql %d %s\n", rc, msg ? msg : "");
  sqlite3_free(msg);
  sqlite3_close(db);
  sqlite3_reset_auto_extension();
  return 0;
}
