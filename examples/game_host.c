/*
** game_host.c: a C program that embeds Lua and links nn statically, as a
** game engine does: nn.core comes from libnn.a (preloaded, no .so on the
** search path), the front module from lua/nn/init.lua (the Lua files it
** requires in turn, nn.svg and the like, from package.path), and a per-frame
** script decides for many agents through one network, logging a sample of
** the decisions into SQLite.  After the run, a plain SQLite connection of
** the host's own asks the same model in SQL (nn_classify, made part of
** every connection with sqlite3_auto_extension).
**
**   make                                   # build/libnn.a
**   cc -std=c99 -O2 -Isrc/engine -Isrc examples/game_host.c build/libnn.a \
**      $(pkg-config --cflags --libs lua5.4) -lsqlite3 -lpq -lz -lm -pthread -o game_host
**   LUA_PATH='lua/?.lua;;' ./game_host lua/nn/init.lua game.db 200 60
**
** Arguments: the front module's file, the database, the number of agents
** and of frames.  Installed, link with $(pkg-config --cflags --libs nn lua5.4)
** and pass the installed init.lua.  Only the Lua C API common to 5.1 ... 5.4
** is used, so it builds against the Lua that libnn.a was built for.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include <sqlite3.h>

#include "nn.h"

/* The game's side: the brain, the agents and one frame of decisions.  An
** agent sees its health, the enemy's distance and strength and its ammo,
** and chooses to flee, fight or hide.  Every 50th decision is logged. */
static const char game_script[] =
  "local nn, path, n_agents = ...\n"
  "local store = assert(nn.open(path))\n"
  "local brain = nn.Sequential{ nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.SoftMax() }\n"
  "brain:set_weights(1, { { 1.5, -0.8, -0.9, 0.2 }, { -1.2, 0.9, 1.1, -0.3 },\n"
  "                       { 0.4, 0.3, -0.2, 1.4 }, { -0.6, -0.5, 0.8, -1.1 },\n"
  "                       { 0.9, 0.1, -1.3, 0.5 }, { 0.2, -1.0, 0.6, 0.3 } },\n"
  "                     { 0.1, -0.2, 0.05, 0.3, -0.1, 0.2 })\n"
  "brain:set_weights(3, { { -1.1, 1.4, -0.3, 0.9, -0.8, 0.6 },\n"
  "                       { 1.3, -0.9, 0.8, -0.7, 1.2, -0.5 },\n"
  "                       { -0.2, 0.3, -1.0, 0.4, 0.1, 0.8 } }, { 0.2, 0.1, -0.1 })\n"
  "brain:set_labels{ 'flee', 'fight', 'hide' }\n"
  "store:save('brain', brain, { note = 'game_host' })\n"
  "brain = store:load('brain')\n"
  "local agents, x, y = {}, {}, {}   -- x and y reused: no garbage a frame\n"
  "for i = 1, n_agents do\n"
  "  agents[i] = { health = (i * 37 % 100) / 100, ammo = (i * 11 % 7) / 6, counts = {} }\n"
  "end\n"
  "local labels, decisions, logged = brain:labels(), 0, 0\n"
  "local totals = { flee = 0, fight = 0, hide = 0 }\n"
  "return function(frame)\n"
  "  for i = 1, n_agents do\n"
  "    local a = agents[i]\n"
  "    x[1], x[2] = a.health, ((i + frame) % 20) / 20\n"
  "    x[3], x[4] = ((i * 7 + frame * 3) % 10) / 10, a.ammo\n"
  "    brain:forward(x, y)\n"
  "    local best = y[1] >= y[2] and (y[1] >= y[3] and 1 or 3) or (y[2] >= y[3] and 2 or 3)\n"
  "    local action = labels[best]\n"
  "    totals[action] = totals[action] + 1\n"
  "    decisions = decisions + 1\n"
  "    if decisions % 50 == 0 then\n"
  "      store:log(brain, x, y, { tags = { agent = i, frame = frame } })\n"
  "      logged = logged + 1\n"
  "    end\n"
  "    if action == 'fight' then a.ammo = math.max(0, a.ammo - 1 / 6) end\n"
  "  end\n"
  "  if frame == 0 then\n"
  "    store:flush()\n"
  "    return ('%d decisions: flee %d, fight %d, hide %d; %d logged'):format(decisions,\n"
  "      totals.flee, totals.fight, totals.hide, logged), store:close()\n"
  "  end\n"
  "end\n";

/* A whole number in [lo, hi] from a command-line argument, or -1. */
static long count_arg(const char *s, long lo, long hi) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) return -1;
  return v;
}

/* Run the chunk on top with nargs arguments below it; prints the error and
** returns 0 on failure. */
static int call(lua_State *L, int nargs, int nresults) {
  if (lua_pcall(L, nargs, nresults, 0) != 0) {
    fprintf(stderr, "game_host: %s\n", lua_tostring(L, -1));
    return 0;
  }
  return 1;
}

/* The host's own connection: what the logged decisions were, in SQL. */
static int report(const char *path) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
        "SELECT tags ->> '$.frame', tags ->> '$.agent', pred_label, "
        "       nn_classify('brain', input) FROM nn_prediction "
        " ORDER BY prediction_id LIMIT 5", -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "game_host: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return 0;
  }
  printf("sample of the logged decisions (frame, agent, logged, asked again in SQL):\n");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    printf("  %d %d %s %s\n", sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
  if (rc != SQLITE_DONE) fprintf(stderr, "game_host: %s\n", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc == SQLITE_DONE;
}

int main(int argc, char **argv) {
  lua_State *L;
  long agents, frames, f;
  int ok;
  if (argc != 5) {
    fprintf(stderr, "usage: game_host FRONT.lua DATABASE AGENTS FRAMES\n");
    return 2;
  }
  if ((agents = count_arg(argv[3], 1, 1000000)) < 0) {
    fprintf(stderr, "game_host: AGENTS must be a whole number from 1 to 1000000, not '%s'\n",
            argv[3]);
    return 2;
  }
  if ((frames = count_arg(argv[4], 1, INT_MAX)) < 0) {
    fprintf(stderr, "game_host: FRAMES must be a whole number from 1, not '%s'\n", argv[4]);
    return 2;
  }
  /* Every connection opened from here on has nn_classify and friends. */
  sqlite3_auto_extension((void (*)(void))nn_sql_init);

  if ((L = luaL_newstate()) == NULL) {
    fprintf(stderr, "game_host: cannot make a Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  /* package.preload["nn.core"] = luaopen_nn_core, from the static library;
  ** package.preload["nn"] = the front module's file, compiled */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_nn_core);
  lua_setfield(L, -2, "nn.core");
  if (luaL_loadfile(L, argv[1]) != 0) {
    fprintf(stderr, "game_host: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_setfield(L, -2, "nn");
  lua_pop(L, 2);

  /* frame = game_script(require "nn", path, agents) */
  ok = luaL_loadbuffer(L, game_script, sizeof game_script - 1, "=game") == 0;
  if (!ok) fprintf(stderr, "game_host: %s\n", lua_tostring(L, -1));
  if (ok) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "nn");
    ok = call(L, 1, 1);
  }
  if (ok) {
    lua_pushstring(L, argv[2]);
    lua_pushinteger(L, (lua_Integer)agents);
    ok = call(L, 3, 1);
  }
  /* the game loop: frames - 1, ..., 1, then 0, which closes the store */
  for (f = frames - 1; ok && f >= 0; f--) {
    lua_pushvalue(L, -1);
    lua_pushinteger(L, (lua_Integer)f);
    ok = call(L, 1, 1);
    if (ok && f == 0) printf("%s\n", lua_tostring(L, -1));
    if (ok) lua_pop(L, 1);
  }
  lua_close(L);
  if (ok) ok = report(argv[2]);
  sqlite3_reset_auto_extension();
  return ok ? 0 : 1;
}
