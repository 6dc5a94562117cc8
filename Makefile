# nn: a Lua 5.4 module written in C.
#
#   make              build build/nn/core.so and the SQLite extension build/nn0.so
#   make test         install what is missing, build, run every spec
#   make memcheck     the same, the specs running under valgrind
#   make demo         build, run examples/leaf_flower.lua into demo.db, query it
#   make bench        run the benchmarks beside FANN, OpenBLAS and raw SQLite
#   make install      install the module, its Lua part, its C header, nn0.so
#   make uninstall    remove what install put
#   make clean        remove build/ and demo.db*
#
# Every tool and path can be overridden: make PREFIX=/usr DESTDIR=/tmp/pkg install

# --- tools --------------------------------------------------------------------

LUA        ?= lua5.4
# busted's script starts with "#!/usr/bin/env lua", which may be another Lua:
# it is always run as "$(LUA) $(BUSTED)".
BUSTED     ?= $(or $(shell command -v busted 2>/dev/null),busted)
PKG_CONFIG ?= pkg-config
SQLITE3    ?= sqlite3
VALGRIND   ?= valgrind
INSTALL    ?= install
CC         ?= cc

# --- flags --------------------------------------------------------------------

CFLAGS     ?= -std=c99 -Wall -Wextra -pedantic -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
# SQLite and libm only: the Lua API comes from the interpreter that loads the
# module, so liblua must never be linked in (two Lua runtimes in one process).
LIBS       ?= -lsqlite3 -lm
# The SQLite extension takes SQLite from the program that loads it, through
# the routines it hands over: libsqlite3 is never linked into it.
EXT_LIBS   ?= -lm
# These ?= variables are expanded when used, so pkg-config is asked only once
# deps has installed lua5.4's .pc file.
LUA_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags lua5.4 2>/dev/null)

VALGRIND_FLAGS ?= -q --error-exitcode=1 --leak-check=full \
                  --errors-for-leak-kinds=definite --show-leak-kinds=definite

# Flags the build cannot do without, kept out of CFLAGS so that overriding
# CFLAGS cannot drop them: position-independent code for a shared object,
# header dependencies (.d files), the include paths.
NN_CFLAGS   = -fPIC -MMD -MP -Isrc -I$(BUILD) $(LUA_CFLAGS)
# The extension's objects: every sqlite3_* call through sqlite3_api, and no
# symbol exported but its entry point, sqlite3_nn_init.
EXT_CFLAGS  = -fPIC -MMD -MP -Isrc -I$(BUILD) -DNN_SQLITE_EXTENSION -fvisibility=hidden

# --- paths --------------------------------------------------------------------

PREFIX       ?= /usr/local
DESTDIR      ?=
INCLUDEDIR   ?= $(PREFIX)/include
INSTALL_CMOD ?= $(or $(shell $(PKG_CONFIG) --variable=INSTALL_CMOD lua5.4 2>/dev/null),$(PREFIX)/lib/lua/5.4)
INSTALL_LMOD ?= $(or $(shell $(PKG_CONFIG) --variable=INSTALL_LMOD lua5.4 2>/dev/null),$(PREFIX)/share/lua/5.4)
# nn0.so, the SQLite extension: ".load /usr/local/lib/nn0" in the shell
LIBDIR       ?= $(PREFIX)/lib

# Debian packages, installed by .ci/deps when missing.
DEPS          ?= lua5.4 liblua5.4-dev libsqlite3-dev sqlite3 lua-busted pkgconf
MEMCHECK_DEPS ?= $(DEPS) valgrind
# Only make bench needs these: the reference programs it measures nn against.
BENCH_DEPS    ?= libfann-dev libopenblas-dev

# Where "require 'nn'" finds the module without installing it (as in .busted).
LUA_ENV = LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(BUILD)/?.so;;'

# --- sources ------------------------------------------------------------------

# Fixed, not a variable to override: .busted looks for the module here.
BUILD  := build
SRCS   := $(sort $(wildcard src/*.c))
SCHEMA := $(sort $(wildcard schema/*.sql))
OBJS   := $(SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/nn_schema.o
MODULE := $(BUILD)/nn/core.so
# The engine: all a C host needs to run a network (see src/nn_engine.h).
ENGINE_SRCS := src/nn_engine.c src/nn_kernel.c src/nn_kernel_x86.c
# The extension: the engine, the store's reader and the SQL functions, no Lua.
EXT_SRCS := $(ENGINE_SRCS) src/nn_ftoa.c src/nn_json.c src/nn_sha256.c $(wildcard src/nn_store*.c) \
            src/nn_sql.c
EXT_OBJS := $(EXT_SRCS:src/%.c=$(BUILD)/ext/%.o) $(BUILD)/ext/nn_schema.o
EXTENSION := $(BUILD)/nn0.so

.PHONY: all deps deps-memcheck deps-bench test memcheck demo bench install uninstall \
        clean FORCE

all: $(MODULE) $(EXTENSION)

$(MODULE): $(OBJS) | $(BUILD)/nn
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(EXTENSION): $(EXT_OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $(EXT_OBJS) $(EXT_LIBS)

$(BUILD)/%.o: src/%.c Makefile | $(BUILD)
	$(CC) $(NN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/ext/%.o: src/%.c Makefile | $(BUILD)/ext
	$(CC) $(EXT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# A whole schema file is one string literal, which may pass the 4095 bytes
# that -pedantic warns about; every compiler in use takes longer ones.
$(BUILD)/nn_schema.o: $(BUILD)/nn_schema.c Makefile
	$(CC) $(NN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/ext/nn_schema.o: $(BUILD)/nn_schema.c Makefile | $(BUILD)/ext
	$(CC) $(EXT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD) $(BUILD)/nn $(BUILD)/ext:
	mkdir -p $@

-include $(OBJS:.o=.d) $(EXT_OBJS:.o=.d)

# --- schema -------------------------------------------------------------------

# The list of schema files, rewritten only when it changes: adding or removing
# a file regenerates nn_schema.c whatever the files' dates.
$(BUILD)/schema.list: FORCE | $(BUILD)
	@echo '$(SCHEMA)' | cmp -s - $@ || echo '$(SCHEMA)' > $@

# Quotes each line, keeping its newline, and puts a comma after the last one.
SCHEMA_AWK = { if (NR > 1) print line; line = "  \"" $$0 "\\n\"" } \
             END { print (NR ? line : "  \"\"") "," }

# nn_schema_sql[i] is the text of the i-th schema/NNN_name.sql in name order,
# one C string per file: sed escapes \ and ", awk quotes each line and ends
# the file's string with a comma (an empty file gives "").
$(BUILD)/nn_schema.c: $(SCHEMA) $(BUILD)/schema.list Makefile | $(BUILD)
	@echo 'generating $@'
	@{ \
	  echo '/* generated by make from schema/NNN_name.sql: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'const char *const nn_schema_sql[] = {'; \
	  for f in $(SCHEMA); do \
	    printf '  /* %s */\n' "$${f##*/}"; \
	    sed 's/[\\"]/\\&/g' "$$f" | awk '$(SCHEMA_AWK)'; \
	  done; \
	  echo '  NULL'; \
	  echo '};'; \
	  echo 'const size_t nn_schema_count = $(words $(SCHEMA));'; \
	} > $@.tmp
	@mv $@.tmp $@

# --- bench references ---------------------------------------------------------

# C programs that time the same work without nn (spec/bench/ref_*.c), one
# figure a line.  -O2 after CFLAGS, so an override of CFLAGS still measures
# optimised code.  pkg-config is asked only when a rule runs, after
# deps-bench has installed the .pc files; the fallbacks are Debian's names.
# FANN's only .pc (fann) names its default library; the float build, whose
# fann_type floatfann.h declares, is libfloatfann.
BENCH_CFLAGS  ?= $(CFLAGS) -O2
FANN_CFLAGS   ?= $(shell $(PKG_CONFIG) --cflags fann 2>/dev/null)
FANN_LIBS     ?= -lfloatfann -lm
BLAS_CFLAGS   ?= $(shell $(PKG_CONFIG) --cflags openblas 2>/dev/null)
BLAS_LIBS     ?= $(or $(shell $(PKG_CONFIG) --libs openblas 2>/dev/null),-lopenblas) -lm
SQLITE_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags sqlite3 2>/dev/null)
SQLITE_LIBS   ?= $(or $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null),-lsqlite3) -lm

BENCH_REFS := $(BUILD)/bench/ref_fann $(BUILD)/bench/ref_blas $(BUILD)/bench/ref_sqlite

$(BUILD)/bench/ref_fann: spec/bench/ref_fann.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(FANN_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(FANN_LIBS)

$(BUILD)/bench/ref_blas: spec/bench/ref_blas.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(BLAS_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(BLAS_LIBS)

$(BUILD)/bench/ref_sqlite: spec/bench/ref_sqlite.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(SQLITE_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(SQLITE_LIBS)

$(BUILD)/bench:
	mkdir -p $@

# --- setup --------------------------------------------------------------------

# Silent when everything is installed.
deps:
	@bash .ci/deps $(DEPS)

deps-memcheck: deps
	@bash .ci/deps $(MEMCHECK_DEPS)

deps-bench: deps
	@bash .ci/deps $(BENCH_DEPS)

# With make -j, nothing compiles before deps is done: LUA_CFLAGS comes from
# pkg-config, which knows lua5.4 only once liblua5.4-dev is installed.
ifneq ($(filter deps deps-memcheck test memcheck demo bench,$(MAKECMDGOALS)),)
$(OBJS) $(EXT_OBJS): | deps
endif
ifneq ($(filter deps-bench bench,$(MAKECMDGOALS)),)
$(BENCH_REFS): | deps-bench
endif

# --- running ------------------------------------------------------------------

# Spec paths, module paths and the output handler are in .busted. The last
# line printed is the handler's "N passed, M failed"; busted exits non-zero
# when anything failed or errored.
test: deps all
	$(LUA) $(BUSTED)

# valgrind's -q keeps the summary line last when nothing is wrong; any error
# or definite leak makes it exit 1. Child processes are not traced.
memcheck: deps-memcheck all
	$(VALGRIND) $(VALGRIND_FLAGS) $(LUA) $(BUSTED)

demo: deps all
	rm -f demo.db*
	$(LUA_ENV) $(LUA) examples/leaf_flower.lua demo.db
	$(SQLITE3) -box -cmd '.load ./$(BUILD)/nn0' demo.db < examples/queries.sql

# The engine alone, every kernel set this processor runs (spec/bench/engine.c).
$(BUILD)/bench/engine: spec/bench/engine.c spec/bench/ref_common.h $(ENGINE_SRCS) $(wildcard src/nn_*.h) Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ spec/bench/engine.c $(ENGINE_SRCS) -lm

# A Lua C module that only moves 4 numbers in and 2 out: the floor of a call.
$(BUILD)/bench/lua_floor.so: spec/bench/lua_floor.c Makefile | $(BUILD)/bench
	$(CC) -shared -fPIC $(LUA_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The reference programs are built here only, never by all or test: the test
# machine installs neither FANN nor OpenBLAS.
bench: deps-bench all $(BENCH_REFS) $(BUILD)/bench/engine $(BUILD)/bench/lua_floor.so
	$(LUA_ENV) $(LUA) spec/bench/run.lua
	@echo
	$(BUILD)/bench/engine

# --- installing ---------------------------------------------------------------

install: all
	$(INSTALL) -d $(DESTDIR)$(INSTALL_CMOD)/nn $(DESTDIR)$(INSTALL_LMOD)/nn \
	  $(DESTDIR)$(INCLUDEDIR)/nn $(DESTDIR)$(LIBDIR)
	$(INSTALL) -m 644 $(MODULE) $(DESTDIR)$(INSTALL_CMOD)/nn/core.so
	$(INSTALL) -m 644 $(EXTENSION) $(DESTDIR)$(LIBDIR)/nn0.so
	$(INSTALL) -m 644 lua/nn/init.lua $(DESTDIR)$(INSTALL_LMOD)/nn/init.lua
	$(INSTALL) -m 644 src/nn_engine.h $(DESTDIR)$(INCLUDEDIR)/nn/nn_engine.h

uninstall:
	rm -f $(DESTDIR)$(INSTALL_CMOD)/nn/core.so $(DESTDIR)$(LIBDIR)/nn0.so \
	  $(DESTDIR)$(INSTALL_LMOD)/nn/init.lua \
	  $(DESTDIR)$(INCLUDEDIR)/nn/nn_engine.h
	rmdir $(DESTDIR)$(INSTALL_CMOD)/nn $(DESTDIR)$(INSTALL_LMOD)/nn \
	  $(DESTDIR)$(INCLUDEDIR)/nn 2>/dev/null || true

clean:
	rm -rf $(BUILD) demo.db*
