/*
** nn.h: the public header of libnn, for C and C++ hosts that embed Lua
** and SQLite and link nn statically (make install puts libnn.a, this header
** and nn.pc where pkg-config finds them).
**
**   #include "nn.h"                  // cc $(pkg-config --cflags nn lua5.4) ...
**
**   luaL_requiref(L, "nn.core", luaopen_nn_core, 0);   // or package.preload
**   sqlite3_auto_extension((void (*)(void))nn_sql_init); // nn_classify, ...
**                                                       // on every connection
**
** libnn.a holds the engine, the store, the Lua binding and the SQL
** functions; the Lua front module (lua/nn/init.lua, installed beside the
** Lua module) is what `require "nn"` loads over nn.core.  The library is
** built against one Lua (make LUA=...): link the host with that Lua.
** The engine alone, without Lua or SQLite, is nn_engine.h.
*/
#ifndef NN_H
#define NN_H

#include "nn_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lua_State;
struct sqlite3;
struct sqlite3_api_routines;

/* The C core of the Lua module, "nn.core": pushes its table.  Raises as any
** lua_CFunction (out of memory). */
int luaopen_nn_core(struct lua_State *L);

/* nn_classify, nn_score and nn_forward on the connection db: SQLITE_OK or
** an SQLite error code (src/nn_sql.h). */
int nn_sql_register(struct sqlite3 *db);

/* The same with an extension's entry signature, for sqlite3_auto_extension
** in a host that links SQLite itself: every connection opened after it gets
** the functions.  api is not used (the library calls SQLite directly); on
** failure *errmsg (when errmsg is not NULL) gets a message from
** sqlite3_mprintf. */
int nn_sql_init(struct sqlite3 *db, char **errmsg,
                const struct sqlite3_api_routines *api);

#ifdef __cplusplus
}
#endif

#endif
