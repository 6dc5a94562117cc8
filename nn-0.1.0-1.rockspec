-- The Lua module nn (nn.core in C, nn in Lua) as a rock, for Lua 5.1 to 5.4
-- and LuaJIT:
--
--   luarocks --lua-version 5.4 make        -- from the top of the source tree
--   luarocks --lua-version 5.1 make --tree ./rocks
--
-- The Makefile builds it (make backend: schema/*.sql is compiled in, so the
-- build has a generation step); SQLite and libpq (the store's PostgreSQL
-- engine) are found by luarocks as external dependencies and handed to make.  Only the Lua module is installed: the SQLite
-- extension nn0.so and the C library come with make install.
rockspec_format = "3.0"
package = "nn"
version = "0.1.0-1"
source = {
  url = "git+file://.",
}
description = {
  summary = "Small neural networks in C for Lua, with SQLite as their memory",
  detailed = [[
    Feed-forward networks described in Lua and computed in C (float32,
    vectorised kernels), with weights, label maps and a log of every
    prediction kept in one SQLite file that plain SQL can query.
  ]],
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
external_dependencies = {
  SQLITE = {
    header = "sqlite3.h",
    library = "sqlite3",
  },
  PQ = {
    header = "postgresql/libpq-fe.h",
    library = "pq",
  },
}
build = {
  type = "make",
  build_target = "module",
  build_variables = {
    LUA = "$(LUA)",
    BUILD_ROOT = "build-rock",
    LUA_CFLAGS = "-I$(LUA_INCDIR)",
    CC = "$(CC)",
    CFLAGS = "$(CFLAGS)",
    CPPFLAGS = "-I$(SQLITE_INCDIR)",
    PQ_CFLAGS = "-I$(PQ_INCDIR)/postgresql",
    LDFLAGS = "$(LIBFLAG) -L$(SQLITE_LIBDIR) -L$(PQ_LIBDIR)",
  },
  install_target = "install-module",
  install_variables = {
    LUA = "$(LUA)",
    BUILD_ROOT = "build-rock",
    INSTALL_CMOD = "$(LIBDIR)",
    INSTALL_LMOD = "$(LUADIR)",
  },
}
