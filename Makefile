# nn: a Lua module written in C, for Lua 5.4 first, and 5.1, 5.2, 5.3, LuaJIT.
#
#   make              build build/nn/core.so and the SQLite extension build/nn0.so
#   make LUA=luajit   the same for another Lua (lua5.1 ... lua5.4, luajit), into
#                     its own directory: build-luajit/nn/core.so
#   make test         install what is missing, build, run every spec (on Lua 5.4;
#                     make test LUA=lua5.1 runs them on 5.1)
#   make layers       check that every include and call in src/ runs down the layers
#   make test-all     make test on every Lua: 5.4, 5.3, 5.2, 5.1 and LuaJIT
#   make memcheck     the same, the specs running under valgrind
#   make check-arm    the engine's C checks built for aarch64, run under qemu
#   make asan         the specs against a build with AddressSanitizer and UBSan
#   make tsan         the specs that use threads against a ThreadSanitizer build
#   make fuzz         the seeded fuzzers of spec/fuzz/ (FUZZ_SEED, FUZZ_N, ...)
#   make asan-fuzz    the fuzzers against the sanitized build
#   make demo         build, run examples/leaf_flower.lua into demo.db, query it
#   make love-example examples/love/ as a game folder for LÖVE 11.4, with nn
#                     built for LuaJIT: love build-luajit/love/nn_agents
#   make env          print the LUA_PATH and LUA_CPATH that find nn in this clone
#   make bench        run the benchmarks beside FANN, OpenBLAS and raw SQLite, and
#                     on LuaJIT beside plain LuaJIT code; record them, and print
#                     each beside the previous commit's run on this machine
#   make bench-threads  make bench's threads part alone
#   make bench-kinds  make bench's part on LayerNorm/GELU, residual and
#                     embedding-bag networks beside PyTorch
#   make bench-conv   make bench's LeNet-5 forward (one image, a batch of 256)
#                     and a Fashion-MNIST training epoch (time, test accuracy)
#                     beside PyTorch
#   make bench-scale  make bench's log past one process and one file: 1, 4 and 16
#                     writers into PostgreSQL and into SQLite, a push of 1,000,000 rows
#   make bench-readme write the README's speed tables from the recorded runs
#   make bench-compare A [B]  two commits' single-sample and batch figures,
#                     interleaved in one run
#   make check-onnx   nn's ONNX exports through onnx.checker and ONNX Runtime
#   make onnx-fixtures  export spec/fixtures/onnx/ again from PyTorch
#   make pgext        build the extension inside PostgreSQL (CREATE EXTENSION nn)
#                     with PGXS into build/pgext/nn.so
#   make install-pgext  install it into PostgreSQL's directories (as root;
#                     silent when the installed files are these already)
#   make bench-pg     nn_score over 1,000,000 rows in PostgreSQL on 0, 1 and 2
#                     parallel workers beside SQLite with nn0.so (in make bench)
#   make install      install the module, its Lua part, nn0.so, and for C and C++
#                     hosts libnn.a, nn.h, nn_engine.h and nn.pc
#   make uninstall    remove exactly what install put
#   make train-demo   train on Fashion-MNIST to 87% test accuracy in five epochs
#   make train-demo-conv  a LeNet-5 on Fashion-MNIST, 87% or more in five epochs
#   make clean        remove build/ and demo.db*
#
# Every tool and path can be overridden: make PREFIX=/usr DESTDIR=/tmp/pkg install
# Without root: make install PREFIX=$$HOME/.local

# --- tools --------------------------------------------------------------------

# The Lua to build for, by its interpreter's Debian name: lua5.1, lua5.2,
# lua5.3, lua5.4 (the default) or luajit.  Each has its own build directory
# and its own -dev package; the binding's source is the same for all (the
# differences are in src/lua/nn_lua_compat.h).
LUA        ?= lua5.4
LUAS       ?= lua5.4 lua5.3 lua5.2 lua5.1 luajit
LUA_NAME   ?= $(notdir $(LUA))
# Its pkg-config name, and the version its module paths are named after.
LUA_PC      ?= $(LUA_NAME)
LUA_VERSION ?= $(if $(filter luajit,$(LUA_NAME)),5.1,$(patsubst lua%,%,$(LUA_NAME)))
# Its Debian packages: the interpreter and the headers (5.1's are -0-dev).
LUA_DEPS    ?= $(or $(LUA_DEPS_$(LUA_NAME)),$(LUA_NAME) lib$(LUA_NAME)-dev)
LUA_DEPS_lua5.1 = lua5.1 liblua5.1-0-dev
LUA_DEPS_luajit = luajit libluajit-5.1-dev
# busted's script starts with "#!/usr/bin/env lua", which may be another Lua:
# it is always run as "$(LUA) $(BUSTED)".
BUSTED     ?= $(or $(shell command -v busted 2>/dev/null),busted)
PKG_CONFIG ?= pkg-config
SQLITE3    ?= sqlite3
VALGRIND   ?= valgrind
INSTALL    ?= install
CC         ?= cc
AR         ?= ar
# Debian's Python, which has python3-onnx and python3-torch (check-onnx,
# onnx-fixtures, and make bench's PyTorch reference).
PYTHON     ?= /usr/bin/python3
NPM        ?= npm

# --- flags --------------------------------------------------------------------

CFLAGS     ?= -std=c99 -Wall -Wextra -pedantic -O2 -g
CPPFLAGS   ?=
LDFLAGS    ?=
# SQLite, libpq (the store's PostgreSQL engine), zlib (the data readers take
# .gz files) and libm: the Lua API comes
# from the interpreter that loads the module, so liblua must never be linked
# in (two Lua runtimes in one process).
LIBS       ?= -lsqlite3 -lpq -lz -lm -pthread
# The shared objects call their own functions directly, not through the
# procedure linkage table as if another library could replace them: on the
# seed's 4-3-2 net a call from Lua makes ten such calls, and binding them at
# link time took 3% off net:forward.  (GNU ld and lld; SO_LDFLAGS= without.)
SO_LDFLAGS ?= -Wl,-Bsymbolic
# The SQLite extension takes SQLite from the program that loads it, through
# the routines it hands over: libsqlite3 is never linked into it.
EXT_LIBS   ?= -lm -pthread
# These ?= variables are expanded when used, so pkg-config is asked only once
# deps has installed lua5.4's .pc file.
LUA_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null)
# libpq's header, libpq-fe.h (Debian: /usr/include/postgresql).
PQ_CFLAGS  ?= $(or $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null),-I/usr/include/postgresql)

VALGRIND_FLAGS ?= -q --error-exitcode=1 --leak-check=full \
                  --errors-for-leak-kinds=definite --show-leak-kinds=definite
# Mutated import files per seed file in spec/import_fuzz_spec.lua under
# valgrind: a sample (make test runs 2000 per seed).
MEMCHECK_FUZZ_CASES ?= 400

# Every file includes another by its folder ("store/nn_store.h"), from src/;
# the public headers (nn.h, nn_engine.h) are installed side by side, so nn.h
# includes "nn_engine.h" as a host finds it: src/engine is on the path for
# that, as $(INCLUDEDIR)/nn is for a host.
NN_INCLUDES = -Isrc -Isrc/engine

# Flags the build cannot do without, kept out of CFLAGS so that overriding
# CFLAGS cannot drop them: position-independent code for a shared object,
# header dependencies (.d files), the include paths.
NN_CFLAGS   = -fPIC -MMD -MP $(NN_INCLUDES) -I$(BUILD) $(LUA_CFLAGS) $(PQ_CFLAGS)
# The extension's objects: every sqlite3_* call through sqlite3_api, and no
# symbol exported but its entry point, sqlite3_nn_init.
EXT_CFLAGS  = -fPIC -MMD -MP $(NN_INCLUDES) -I$(BUILD) -DNN_SQLITE_EXTENSION -fvisibility=hidden

# --- paths --------------------------------------------------------------------

PREFIX       ?= /usr/local
DESTDIR      ?=
INCLUDEDIR   ?= $(PREFIX)/include
# The Lua module paths follow PREFIX: /usr/local/lib/lua/5.4 and
# /usr/local/share/lua/5.4 are on the default search paths of Debian's Lua,
# and so are the /usr ones; with PREFIX=$$HOME/.local, add them to LUA_PATH
# and LUA_CPATH (make env prints them for the clone).
INSTALL_CMOD ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
INSTALL_LMOD ?= $(PREFIX)/share/lua/$(LUA_VERSION)
# nn0.so, the SQLite extension (".load /usr/local/lib/nn0" in the shell), and
# libnn.a with its pkg-config file
LIBDIR       ?= $(PREFIX)/lib
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# nn, the command
BINDIR       ?= $(PREFIX)/bin

# Debian packages, installed by .ci/deps when missing.
# g++ compiles the C++ host of spec/host_spec.lua; luarocks builds the rock;
# xmllint, rsvg-convert and zlib check the pictures (spec/svg_spec.lua).
# The specs read ONNX's own backend tests where libonnx-testdata installs
# them, check FANN files and data sets (libfann-doc has the sets) against
# libfann (libfann-dev), the tools that define
# the formats, and compile a comma-decimal locale from the sources in locales.
# The store's second engine is PostgreSQL through libpq (libpq-dev); the specs
# start a PostgreSQL 15 server of their own (postgresql-15), and the server's
# headers (postgresql-server-dev-15) are what an extension inside it builds on.
PG_DEPS       ?= postgresql-15 postgresql-server-dev-15 libpq-dev
# LÖVE 11.4 runs on LuaJIT: spec/love_spec.lua builds the module for it and
# runs examples/love/ in love under xvfb-run (which needs xauth), as a game
# folder and as a .love archive (zip).
LOVE_DEPS     ?= love xvfb xauth zip luajit libluajit-5.1-dev
DEPS          ?= $(LUA_DEPS) libsqlite3-dev sqlite3 lua-busted pkgconf g++ luarocks \
                 libxml2-utils librsvg2-bin zlib1g-dev \
                 libonnx-testdata libfann-dev libfann-doc locales $(LOVE_DEPS) $(PG_DEPS)
MEMCHECK_DEPS ?= $(DEPS) valgrind
# make train-demo's data, and where the Debian package puts it.
DEMO_DEPS     ?= dataset-fashion-mnist
FASHION_MNIST ?= /usr/share/datasets/fashion-mnist
# FANN's benchmark sets (libfann-doc), for the RPROP rows of make bench.
FANN_SETS     ?= /usr/share/doc/libfann-dev/examples/datasets
# Only make bench needs these: the references it measures nn against (C
# programs, and spec/bench/ref_torch.py run by the system's python3).
BENCH_DEPS    ?= libfann-dev libfann-doc libopenblas-dev luajit libluajit-5.1-dev \
                 dataset-fashion-mnist python3-torch nodejs
# make check-onnx: onnx.checker, and node (whose package has npm) to run ONNX
# Runtime from npm.
CHECK_ONNX_DEPS ?= python3-onnx nodejs
ONNX_FIXTURE_DEPS ?= python3-onnx python3-torch

# Where "require 'nn'" finds the module without installing it (as in .busted).
LUA_ENV = LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(BUILD)/?.so;;'

# --- sources ------------------------------------------------------------------

# One per Lua, not a variable to override: build/ for Lua 5.4 (where .busted
# looks), build-lua5.1/ and so on for the others (make test tells busted).
# The rock builds under BUILD_ROOT=build-rock, apart from these.
BUILD_ROOT ?= build
BUILD  := $(BUILD_ROOT)$(if $(filter lua5.4,$(LUA_NAME)),,-$(LUA_NAME))
# ONNX Runtime from npm, for make check-onnx and make bench's LeNet-5
# (prerequisites, so defined before the rules that name them).
ORT_DIR := $(BUILD)/onnxruntime
ORT_PKG := $(ORT_DIR)/node_modules/onnxruntime-node/package.json
# src/pgext/ is the extension inside PostgreSQL, built by PGXS apart from these
# (make pgext).
SRCS   := $(sort $(filter-out src/pgext/%,$(wildcard src/*/*.c)))
SCHEMA := $(sort $(wildcard schema/*.sql))
# The PostgreSQL engine's schema (src/pgstore/), compiled in the same way.
PG_SCHEMA := $(sort $(wildcard schema/pg/*.sql))
OBJS   := $(SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/nn_schema.o $(BUILD)/nn_pg_schema.o
MODULE := $(BUILD)/nn/core.so
VERSION := $(shell sed -n 's/^\#define NN_VERSION *"\(.*\)"/\1/p' src/engine/nn_engine.h)
# The engine: all a C host needs to run a network (see src/engine/nn_engine.h).
ENGINE_SRCS := $(sort $(wildcard src/engine/*.c src/train/*.c))
# The extension: the engine, the store's reader and the SQL functions, no Lua.
# The store's core (nn_store_int.h's files), with its training runs for the
# digest function nn_training_digest; not its data readers (nn_store_data.c),
# which the extension never calls.  Of the formats, the JSON the SQL
# functions write (nn_json.c, nn_ftoa.c) and read (nn_json_read.c, nn_number.c),
# and the digests (nn_sha256.c, nn_digest.c).
STORE_SRCS := $(filter-out src/store/nn_store_data.c,$(sort $(wildcard src/store/*.c)))
EXT_SRCS := $(ENGINE_SRCS) src/formats/nn_ftoa.c src/formats/nn_json.c \
            src/formats/nn_json_read.c src/formats/nn_number.c \
            src/formats/nn_sha256.c src/formats/nn_digest.c $(STORE_SRCS) \
            $(wildcard src/sql/*.c)
EXT_OBJS := $(EXT_SRCS:src/%.c=$(BUILD)/ext/%.o) $(BUILD)/ext/nn_schema.o
EXTENSION := $(BUILD)/nn0.so
# For C and C++ hosts that embed Lua: the module's objects, engine, store,
# binding and SQL functions, in a static library (nn.h), built against the
# Lua of this build directory.
LIBRARY := $(BUILD)/libnn.a
# The headers a host includes, installed under $(INCLUDEDIR)/nn.
PUBLIC_HEADERS := src/nn.h src/engine/nn_engine.h
# nn, the command (lua/nn/cli.lua), runnable from the clone
COMMAND := $(BUILD)/bin/nn
# The Lua part of the module: nn (init.lua), nn.svg, nn.cli, ...
LUA_SRCS := $(sort $(wildcard lua/nn/*.lua))
# Every file make install writes, which make uninstall removes.
INSTALLED = $(INSTALL_CMOD)/nn/core.so $(LUA_SRCS:lua/nn/%=$(INSTALL_LMOD)/nn/%) \
            $(LIBDIR)/nn0.so $(LIBDIR)/libnn.a $(PKGCONFIGDIR)/nn.pc $(BINDIR)/nn \
            $(addprefix $(INCLUDEDIR)/nn/,$(notdir $(PUBLIC_HEADERS)))

.PHONY: pgext install-pgext bench-pg all layers module install-module env love-example deps deps-memcheck deps-bench test test-all check-arm memcheck demo train-demo train-demo-conv bench bench-readme bench-compare install uninstall \
        clean FORCE check-onnx onnx-fixtures deps-asan asan asan-build fuzz asan-fuzz \
        tsan tsan-build bench-threads bench-kinds bench-scale bench-conv

all: $(MODULE) $(EXTENSION) $(LIBRARY) $(COMMAND)

# The Lua module alone (the rock builds and installs only this).
module: $(MODULE)

$(MODULE): $(OBJS) | $(BUILD)/nn
	$(CC) -shared $(SO_LDFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(EXTENSION): $(EXT_OBJS)
	$(CC) -shared $(SO_LDFLAGS) $(LDFLAGS) -o $@ $(EXT_OBJS) $(EXT_LIBS)

$(LIBRARY): $(OBJS)
	rm -f $@
	$(AR) rcs $@ $(OBJS)

# nn.pc, written by make install where it goes (it holds the install paths).
PC_LINES = 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: nn' \
  'Description: small neural networks in C, with SQLite as their memory ($(LUA_NAME))' \
  'Version: $(VERSION)' 'Cflags: -I$${includedir}/nn' 'Libs: -L$${libdir} -lnn -lsqlite3 -lpq -lz -lm -pthread'

$(BUILD)/%.o: src/%.c Makefile | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(NN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/ext/%.o: src/%.c Makefile | $(BUILD)/ext
	@mkdir -p $(@D)
	$(CC) $(EXT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# A whole schema file is one string literal, which may pass the 4095 bytes
# that -pedantic warns about; every compiler in use takes longer ones.
$(BUILD)/nn_schema.o: $(BUILD)/nn_schema.c Makefile
	$(CC) $(NN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/nn_pg_schema.o: $(BUILD)/nn_pg_schema.c Makefile
	$(CC) $(NN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(BUILD)/ext/nn_schema.o: $(BUILD)/nn_schema.c Makefile | $(BUILD)/ext
	$(CC) $(EXT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

# nn, the command: a Lua script for $(LUA) that puts the directories of its
# own Lua files ($(2)) and of nn.core ($(3)) first on package.path and
# package.cpath, so it runs the nn it came with whatever LUA_PATH and
# LUA_CPATH hold; $(1) says which.  Long brackets keep any path a Lua string.
COMMAND_SCRIPT = printf '%s\n' '\#!/usr/bin/env $(LUA)' '-- nn, the command, $(1): generated by make' \
  'package.path = [==[$(2)/?.lua;$(2)/?/init.lua;]==] .. package.path' \
  'package.cpath = [==[$(3)/?.so;]==] .. package.cpath' \
  'os.exit(require("nn.cli").main(arg))'

# The command, from the clone: it finds the module here.
$(COMMAND): Makefile | $(BUILD)/bin
	@$(call COMMAND_SCRIPT,run from the clone,$(CURDIR)/lua,$(CURDIR)/$(BUILD)) > $@
	@chmod +x $@

$(BUILD) $(BUILD)/nn $(BUILD)/ext $(BUILD)/bin:
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

# The same for schema/pg/: nn_pg_schema_sql[i] is the i-th file's text.
$(BUILD)/pg_schema.list: FORCE | $(BUILD)
	@echo '$(PG_SCHEMA)' | cmp -s - $@ || echo '$(PG_SCHEMA)' > $@

$(BUILD)/nn_pg_schema.c: $(PG_SCHEMA) $(BUILD)/pg_schema.list Makefile | $(BUILD)
	@echo 'generating $@'
	@{ \
	  echo '/* generated by make from schema/pg/NNN_name.sql: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'const char *const nn_pg_schema_sql[] = {'; \
	  for f in $(PG_SCHEMA); do \
	    printf '  /* %s */\n' "$${f##*/}"; \
	    sed 's/[\\"]/\\&/g' "$$f" | awk '$(SCHEMA_AWK)'; \
	  done; \
	  echo '  NULL'; \
	  echo '};'; \
	  echo 'const size_t nn_pg_schema_count = $(words $(PG_SCHEMA));'; \
	} > $@.tmp
	@mv $@.tmp $@

# --- the extension inside PostgreSQL -------------------------------------------

# src/pgext/ built by PGXS (src/pgext/Makefile) in $(BUILD)/pgext, linked with
# the objects of the engine and of the formats it reads with, built here:
# the same code as the module's.  PG_CONFIG names the PostgreSQL to build for.
PG_CONFIG   ?= pg_config
PGEXT_DIR   := $(BUILD)/pgext
PGEXT_SO    := $(PGEXT_DIR)/nn.so
PGEXT_SRCS  := $(sort $(wildcard src/pgext/*.c src/pgext/*.h)) src/pgext/Makefile \
               src/pgext/nn.control src/pgext/nn--0.1.0.sql
PGEXT_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(sort $(wildcard src/engine/*.c)) \
               src/formats/nn_arch.c src/formats/nn_json_read.c src/formats/nn_number.c \
               src/formats/nn_sha256.c src/formats/nn_digest.c)
PGEXT_MAKE   = $(MAKE) --no-print-directory -C $(PGEXT_DIR) -f $(CURDIR)/src/pgext/Makefile \
               with_llvm=no srcdir='$(CURDIR)/src/pgext' NN_SRC='$(CURDIR)/src' PG_CONFIG='$(PG_CONFIG)' \
               NN_OBJS='$(addprefix $(CURDIR)/,$(PGEXT_OBJS))'

pgext: $(PGEXT_SO)

# PGXS knows no header of ours: whatever changed, its two objects are made again.
$(PGEXT_SO): $(PGEXT_OBJS) $(PGEXT_SRCS) $(wildcard src/engine/*.h src/formats/*.h)
	@mkdir -p $(PGEXT_DIR)
	rm -f $(PGEXT_DIR)/nn_pgext.o $(PGEXT_DIR)/nn_pgext_model.o
	$(PGEXT_MAKE)
	@touch $@

# Installs only what differs from the installed files, so that make test,
# which needs the extension for spec/pg_extension_spec.lua, is silent when
# it is in place; not as root, it says what would install it, and fails.
PG_PKGLIBDIR  = $(shell $(PG_CONFIG) --pkglibdir)
PG_EXTDIR     = $(shell $(PG_CONFIG) --sharedir)/extension
install-pgext: $(PGEXT_SO)
	@if cmp -s $(PGEXT_SO) $(DESTDIR)$(PG_PKGLIBDIR)/nn.so && \
	    cmp -s src/pgext/nn.control $(DESTDIR)$(PG_EXTDIR)/nn.control && \
	    cmp -s src/pgext/nn--0.1.0.sql $(DESTDIR)$(PG_EXTDIR)/nn--0.1.0.sql; then :; \
	  elif [ -n '$(DESTDIR)' ] || [ "$$(id -u)" -eq 0 ]; then $(PGEXT_MAKE) install; \
	  else echo "the nn extension is not installed in PostgreSQL: sudo make install-pgext" >&2; \
	    exit 1; fi

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

BENCH_REFS := $(BUILD)/bench/ref_fann $(BUILD)/bench/ref_blas $(BUILD)/bench/ref_sqlite \
              $(BUILD)/bench/ref_train_blas $(BUILD)/bench/ref_train_fann

$(BUILD)/bench/ref_fann: spec/bench/ref_fann.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(FANN_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(FANN_LIBS)

$(BUILD)/bench/ref_blas: spec/bench/ref_blas.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(BLAS_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(BLAS_LIBS)

$(BUILD)/bench/ref_train_blas: spec/bench/ref_train_blas.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(BLAS_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(BLAS_LIBS)

$(BUILD)/bench/ref_train_fann: spec/bench/ref_train_fann.c spec/bench/ref_common.h Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(FANN_CFLAGS) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(FANN_LIBS)

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

deps-asan: deps
	@bash .ci/deps $(ASAN_DEPS)

# With make -j, nothing compiles before deps is done: LUA_CFLAGS comes from
# pkg-config, which knows lua5.4 only once liblua5.4-dev is installed.
ifneq ($(filter deps deps-memcheck test pgext install-pgext bench-pg memcheck demo train-demo train-demo-conv bench bench-compare check-onnx deps-asan asan asan-fuzz fuzz tsan bench-threads bench-kinds bench-conv bench-scale,$(MAKECMDGOALS)),)
$(OBJS) $(EXT_OBJS): | deps
endif
ifneq ($(filter deps-bench bench bench-threads bench-kinds bench-conv,$(MAKECMDGOALS)),)
$(BENCH_REFS): | deps-bench
endif

# --- running ------------------------------------------------------------------

# Spec paths, module paths and the output handler are in .busted. The last
# line printed is the handler's "N passed, M failed"; busted exits non-zero
# when anything failed or errored.
# The specs learn which Lua runs them (for the child processes they start)
# and where its build is from LUA and NN_BUILD.
SPEC_ENV = LUA='$(LUA)' NN_BUILD='$(BUILD)'
test: deps all install-pgext
	$(SPEC_ENV) $(LUA) $(BUSTED) --cpath='$(BUILD)/?.so'

# The direction of every include and call in src/ (ARCHITECTURE.md), read
# from the sources and from the objects' symbols: prints each breach and
# each circle among files, and fails when there is one.  spec/layers_spec.lua
# checks the same in make test.
layers: all
	$(LUA) spec/support/layers.lua $(BUILD)

# Every Lua in turn, each in its own build directory; fails when any failed.
test-all:
	@st=0; for l in $(LUAS); do \
	  echo "== make test LUA=$$l"; \
	  $(MAKE) --no-print-directory test LUA=$$l || st=1; \
	done; exit $$st

# valgrind's -q keeps the summary line last when nothing is wrong; any error
# or definite leak makes it exit 1. Child processes are not traced.
memcheck: deps-memcheck all install-pgext
	NN_FUZZ_CASES=$(MEMCHECK_FUZZ_CASES) $(SPEC_ENV) $(VALGRIND) $(VALGRIND_FLAGS) $(LUA) $(BUSTED) --cpath='$(BUILD)/?.so'

# --- sanitizers ---------------------------------------------------------------

# make asan builds the module and the extension with AddressSanitizer and
# UndefinedBehaviorSanitizer into build/asan/build and runs every spec
# against them from build/asan, a tree of links to the sources whose build/
# is that one (.busted and the specs look for build/).  lua5.4, the sqlite3
# shell and the C checkers are not instrumented, so the runtime is preloaded
# into every process the specs start.  Reports go to files, so that one in a
# process a spec expects to fail is seen too: any report fails the target.
# Leaks are memcheck's business (detect_leaks=0: the preloaded runtime would
# also blame the interpreter and the compiler the specs run).  The README and
# .ci are linked too: spec/readme_spec.lua runs the README's blocks, make demo
# among them, from the tree.
ASAN_CC      ?= gcc
ASAN_CFLAGS  ?= -std=c99 -Wall -Wextra -pedantic -O1 -g -fno-omit-frame-pointer
ASAN_SAN     ?= -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
# gcc brings its sanitizer runtimes (libasan, libubsan) with it.
ASAN_DEPS    ?= $(DEPS) gcc
ASAN_TREE    := $(BUILD)/asan
ASAN_REPORTS  = $(CURDIR)/$(ASAN_TREE)/reports
ASAN_ENV      = PATH="$(CURDIR)/$(ASAN_TREE)/bin:$$PATH" \
  LD_PRELOAD=$$($(ASAN_CC) -print-file-name=libasan.so) \
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:log_path=$(ASAN_REPORTS)/asan \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan \
  NN_LDFLAGS='$(ASAN_SAN)' 
ASAN_LINKS   := .busted .ci Makefile README.md examples lua schema spec src $(wildcard *.rockspec)
# Programs the specs start that must run without the preloaded runtime (a
# browser's own processes do not take it): build/asan/bin has a wrapper for
# each, first in PATH, that starts the real one without it.
ASAN_PLAIN   ?= chromium xvfb-run

asan-build: | deps-asan
	@mkdir -p $(ASAN_TREE)
	@for f in $(ASAN_LINKS); do ln -sfn ../../$$f $(ASAN_TREE)/$$f; done
	@mkdir -p $(ASAN_TREE)/bin
	@for p in $(ASAN_PLAIN); do real=$$(command -v $$p) || continue; \
	  printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$$@"\n' "$$real" > $(ASAN_TREE)/bin/$$p; \
	  chmod +x $(ASAN_TREE)/bin/$$p; done
	$(MAKE) -C $(ASAN_TREE) CC='$(ASAN_CC)' CFLAGS='$(ASAN_CFLAGS) $(ASAN_SAN)' \
	  LDFLAGS='$(ASAN_SAN)' all

asan: deps-asan asan-build install-pgext
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	@cd $(ASAN_TREE) && $(ASAN_ENV) $(LUA) $(BUSTED); status=$$?; \
	  if ls $(ASAN_REPORTS)/* >/dev/null 2>&1; then cat $(ASAN_REPORTS)/*; \
	    echo "make asan: the sanitizers reported errors (above)"; exit 1; fi; \
	  exit $$status

# make tsan builds the module with ThreadSanitizer into build/tsan/build (a
# tree of links, as make asan's) and runs the specs that use threads
# against it: the pool's threads, the batch passes and the trainers on 1,
# 2, 3 and 8 threads.  The runtime is preloaded into lua5.4, which is not
# instrumented; any report, written to build/tsan/reports, fails the target.
TSAN_CFLAGS  ?= -std=c99 -Wall -Wextra -pedantic -O1 -g -fno-omit-frame-pointer
TSAN_SAN     ?= -fsanitize=thread
# (not train_spec.lua: it compiles and runs C checks, which the preloaded
# runtime would enter too)
TSAN_SPECS   ?= spec/threads_spec.lua spec/classify_batch_spec.lua spec/train_grad_spec.lua
TSAN_TREE    := $(BUILD)/tsan
TSAN_REPORTS  = $(CURDIR)/$(TSAN_TREE)/reports
TSAN_ENV      = LD_PRELOAD=$$($(ASAN_CC) -print-file-name=libtsan.so) \
  TSAN_OPTIONS=halt_on_error=1:log_path=$(TSAN_REPORTS)/tsan

tsan-build: | deps-asan
	@mkdir -p $(TSAN_TREE)
	@for f in $(ASAN_LINKS); do ln -sfn ../../$$f $(TSAN_TREE)/$$f; done
	$(MAKE) -C $(TSAN_TREE) CC='$(ASAN_CC)' CFLAGS='$(TSAN_CFLAGS) $(TSAN_SAN)' \
	  LDFLAGS='$(TSAN_SAN)' module

tsan: deps-asan tsan-build
	@rm -rf $(TSAN_REPORTS) && mkdir -p $(TSAN_REPORTS)
	@cd $(TSAN_TREE) && $(TSAN_ENV) $(LUA) $(BUSTED) $(TSAN_SPECS); status=$$?; \
	  if ls $(TSAN_REPORTS)/* >/dev/null 2>&1; then cat $(TSAN_REPORTS)/*; \
	    echo "make tsan: ThreadSanitizer reported errors (above)"; exit 1; fi; \
	  exit $$status

# --- fuzzing ------------------------------------------------------------------

# make fuzz runs the seeded fuzzers of spec/fuzz/ (run.lua says what each
# does): FUZZ_N cases each from FUZZ_SEED, every case in a child process
# that may take FUZZ_TIMEOUT seconds.  Any crash, hang or changed fact
# accepted silently fails the target; what failed is kept in build/fuzz/.
# The defaults take about a minute; a longer run: make fuzz FUZZ_N=20000.
# FUZZ_FACTS=1 (the default) fails a load or answer that succeeds on a
# changed stored fact: every fact a load relies on carries a digest it checks.
FUZZ_SEED    ?= 1
FUZZ_N       ?= 200
FUZZ_FROM    ?= 1
FUZZ_TIMEOUT ?= 10
FUZZ_ONLY    ?=
FUZZ_FACTS   ?= 1
FUZZ_WRAP    ?=
FUZZ_VARS     = FUZZ_SEED='$(FUZZ_SEED)' FUZZ_N='$(FUZZ_N)' FUZZ_FROM='$(FUZZ_FROM)' \
  FUZZ_TIMEOUT='$(FUZZ_TIMEOUT)' FUZZ_ONLY='$(FUZZ_ONLY)' FUZZ_FACTS='$(FUZZ_FACTS)' \
  FUZZ_WRAP='$(FUZZ_WRAP)' LUA='$(LUA)' SQLITE3='$(SQLITE3)'

fuzz: deps all
	$(LUA_ENV) $(FUZZ_VARS) $(LUA) spec/fuzz/run.lua

# The same fuzzers against the sanitized build of make asan: any report of
# the sanitizers fails the target too.
asan-fuzz: deps-asan asan-build
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS)
	@LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='$(ASAN_TREE)/$(BUILD)/?.so;;' \
	  FUZZ_EXT=./$(ASAN_TREE)/$(BUILD)/nn0 FUZZ_MEMORY=0 $(FUZZ_VARS) $(ASAN_ENV) \
	  $(LUA) spec/fuzz/run.lua; status=$$?; \
	  if ls $(ASAN_REPORTS)/* >/dev/null 2>&1; then cat $(ASAN_REPORTS)/*; \
	    echo "make asan-fuzz: the sanitizers reported errors (above)"; exit 1; fi; \
	  exit $$status

# examples/love/ as a game folder LÖVE runs (README.md, "In LÖVE"): its
# Lua files, and nn beside them (the front module, and the core built for
# LuaJIT, which LÖVE 11.4 runs).
LOVE_GAME ?= build-luajit/love/nn_agents
love-example:
	@bash .ci/deps $(LOVE_DEPS)
	$(MAKE) --no-print-directory LUA=luajit module
	rm -rf $(LOVE_GAME) && mkdir -p $(LOVE_GAME)/nn
	cp examples/love/main.lua examples/love/conf.lua examples/love/brain.lua $(LOVE_GAME)/
	cp lua/nn/init.lua lua/nn/ffi.lua lua/nn/svg.lua build-luajit/nn/core.so $(LOVE_GAME)/nn/

demo: deps all
	rm -f demo.db*
	$(LUA_ENV) $(LUA) examples/leaf_flower.lua demo.db
	@echo
	$(LUA_ENV) $(LUA) examples/train_leaf_flower.lua demo.db
	$(SQLITE3) -box -cmd '.load ./$(BUILD)/nn0' demo.db < examples/queries.sql
	$(COMMAND) curve demo.db leaf_flower_trained > demo-loss.svg
	@echo
	@echo "Drawn: demo-network.svg (the seed's figure; the README shows it as"
	@echo "examples/demo-network.svg) and demo-loss.svg (the trained network's loss curve)."
	@echo "Look around with the command: $(COMMAND) models demo.db"

# The engine alone, every kernel set this processor runs (spec/bench/engine.c).
$(BUILD)/bench/engine: spec/bench/engine.c spec/bench/ref_common.h $(ENGINE_SRCS) $(wildcard src/engine/*.h src/train/*.h) Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(NN_INCLUDES) $(LDFLAGS) -o $@ spec/bench/engine.c $(ENGINE_SRCS) -lm -pthread

# A trainer's steps on 1 and 2 threads, without Lua (spec/bench/step.c).
$(BUILD)/bench/step: spec/bench/step.c spec/bench/ref_common.h $(ENGINE_SRCS) $(wildcard src/engine/*.h src/train/*.h) Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(NN_INCLUDES) $(LDFLAGS) -o $@ spec/bench/step.c $(ENGINE_SRCS) -lm -pthread

# A Lua C module that only moves a sample in and outputs out: the floor of a call.
# The engine's batch on 1 and 2 threads, with a core free and with one kept
# busy (spec/bench/threads.c, run by spec/bench/threads.lua).
$(BUILD)/bench/threads: spec/bench/threads.c spec/bench/ref_common.h $(ENGINE_SRCS) $(wildcard src/engine/*.h src/train/*.h) Makefile | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(NN_INCLUDES) $(LDFLAGS) -o $@ spec/bench/threads.c $(ENGINE_SRCS) -lm -pthread

$(BUILD)/bench/lua_floor.so: spec/bench/lua_floor.c Makefile | $(BUILD)/bench
	$(CC) -shared -fPIC $(LUA_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# A monotonic clock and a sleep for the frame figures (spec/bench/frame.lua).
$(BUILD)/bench/wall_clock.so: spec/bench/wall_clock.c Makefile | $(BUILD)/bench
	$(CC) -shared -fPIC $(LUA_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# OpenBLAS (the sgemm references, and PyTorch's matrix products) picks its
# kernels from the processor's model, and takes one it does not know, such
# as a virtual machine's "Intel Xeon Processor", for a Prescott: SSE3
# kernels, which made PyTorch's Fashion-MNIST epoch twice as long.  make
# bench names them from the instruction sets the processor reports instead,
# unless OPENBLAS_CORETYPE is set already.
BENCH_BLAS_CORE := $(or $(OPENBLAS_CORETYPE),$(shell \
  grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo SkylakeX || \
  { grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo Haswell; }))
BENCH_ENV = $(if $(BENCH_BLAS_CORE),OPENBLAS_CORETYPE=$(BENCH_BLAS_CORE))

# make bench's memory (spec/bench/results.lua): every part appends its
# figures to BENCH_FIGURES; at the end spec/bench/memory.lua puts them in the
# results store BENCH_DB, an nn file, and appends them to BENCH_RESULTS, the
# text kept in the repository that the store is filled from again when it
# lacks a run, and prints each beside the last run of the previous commit
# measured on this machine.
BENCH_FIGURES ?= $(BUILD)/bench/figures.txt
BENCH_DB      ?= $(BUILD)/bench/results.db
BENCH_RESULTS ?= spec/bench/results.sql
BENCH_MEMORY   = NN_BENCH_FIGURES='$(BENCH_FIGURES)' NN_BENCH_DB='$(BENCH_DB)' \
                 NN_BENCH_RESULTS='$(BENCH_RESULTS)'

# The reference programs are built here only, never by all or test: the test
# machine installs neither FANN nor OpenBLAS.
bench: deps-bench all install-pgext $(BENCH_REFS) $(BUILD)/bench/engine $(BUILD)/bench/lua_floor.so \
       $(BUILD)/bench/wall_clock.so \
       $(BUILD)/bench/threads $(ORT_PKG)
	$(LUA_ENV) $(BENCH_MEMORY) $(LUA) spec/bench/memory.lua start
	@echo "OpenBLAS kernels: $(or $(BENCH_BLAS_CORE),as OpenBLAS detects them)"
	$(BENCH_ENV) $(LUA_ENV) $(BENCH_MEMORY) BENCH_PYTHON='$(PYTHON)' $(LUA) spec/bench/run.lua
	@echo
	$(BENCH_MEMORY) $(BUILD)/bench/engine
	@echo
	$(MAKE) --no-print-directory LUA=luajit module
	LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build-luajit/?.so;;' $(BENCH_MEMORY) \
	  luajit spec/bench/luajit.lua
	@echo
	$(BENCH_ENV) $(LUA_ENV) $(BENCH_MEMORY) LUA=$(LUA) $(LUA) spec/bench/train.lua \
	  $(FASHION_MNIST) $(FANN_SETS)
	@echo
	$(BENCH_ENV) $(LUA_ENV) $(BENCH_MEMORY) LUA=$(LUA) BENCH_PYTHON='$(PYTHON)' \
	  $(LUA) spec/bench/threads.lua $(FASHION_MNIST)
	@echo
	$(BENCH_ENV) $(LUA_ENV) $(BENCH_MEMORY) BENCH_PYTHON='$(PYTHON)' $(LUA) spec/bench/kinds.lua
	@echo
	$(BENCH_ENV) $(LUA_ENV) $(BENCH_MEMORY) BENCH_PYTHON='$(PYTHON)' \
	  BENCH_ORT='$(ORT_DIR)/node_modules' $(LUA) spec/bench/lenet.lua $(FASHION_MNIST)
	@echo
	$(LUA_ENV) $(BENCH_MEMORY) $(LUA) spec/bench/pg.lua $(BUILD)
	@echo
	$(LUA_ENV) $(BENCH_MEMORY) LUA=$(LUA) NN_BUILD=$(BUILD) $(LUA) spec/bench/scale.lua
	$(LUA_ENV) $(BENCH_MEMORY) $(LUA) spec/bench/memory.lua finish

# make bench's PostgreSQL part alone (spec/bench/pg.lua): nn_score over
# 1,000,000 rows inside PostgreSQL on 0, 1 and 2 parallel workers, beside
# the same query in SQLite with nn0.so.  NN_BENCH_PG_ROWS and
# NN_BENCH_PG_RUNS (1000000 and 5) change its size.
bench-pg: deps all install-pgext $(BUILD)/bench/wall_clock.so
	$(LUA_ENV) $(LUA) spec/bench/pg.lua $(BUILD)

# make bench's scale part alone (spec/bench/scale.lua): rows logged a second
# by 1, 4 and 16 writer processes into one PostgreSQL schema and into one
# SQLite file, and a push of 1,000,000 logged rows from a file into
# PostgreSQL, against a server of its own.  NN_SCALE_ROWS (96000 a run),
# NN_SCALE_REPS (3) and NN_SCALE_PUSH (1000000) make it shorter.
bench-scale: deps all $(BUILD)/bench/wall_clock.so
	$(LUA_ENV) LUA=$(LUA) NN_BUILD=$(BUILD) $(LUA) spec/bench/scale.lua

# make bench's threads part alone (spec/bench/threads.lua): the batch and
# the epoch on 1 and 2 threads beside PyTorch and sgemm, and with a core
# kept busy.  NN_THREADS_ROUNDS and NN_THREADS_EPOCHS (3 each) make it shorter.
bench-threads: deps-bench all $(BUILD)/bench/ref_blas $(BUILD)/bench/ref_train_blas \
               $(BUILD)/bench/threads
	$(BENCH_ENV) $(LUA_ENV) LUA=$(LUA) BENCH_PYTHON='$(PYTHON)' \
	  $(LUA) spec/bench/threads.lua $(FASHION_MNIST)

# make bench's kinds part alone (spec/bench/kinds.lua): networks with
# LayerNorm and GELU, a residual block, an embedding bag, beside PyTorch on
# one thread.  NN_KINDS_EPOCHS (3) sets the epochs a network.
bench-kinds: deps-bench all
	$(BENCH_ENV) $(LUA_ENV) BENCH_PYTHON='$(PYTHON)' $(LUA) spec/bench/kinds.lua

# make bench's convolution part alone (spec/bench/lenet.lua): a LeNet-5's
# forward pass, one image and a batch of 256, beside PyTorch and ONNX
# Runtime, and training beside PyTorch, on one thread: NN_LENET_EPOCHS (1)
# epochs of Fashion-MNIST, each one's time and test accuracy (NN_LENET_SEEDS=n
# adds the mean accuracy over seeds 1..n); without its files, an epoch of
# NN_LENET_ROWS (4096) random rows.
bench-conv: deps-bench all $(ORT_PKG)
	$(BENCH_ENV) $(LUA_ENV) BENCH_PYTHON='$(PYTHON)' BENCH_ORT='$(ORT_DIR)/node_modules' \
	  $(LUA) spec/bench/lenet.lua $(FASHION_MNIST)

# The README's speed tables, written again from the latest run in the
# results store (BENCH_RUN=<run id> for another): spec/bench/readme.lua
# replaces what lies between its marker comments in README.md.
BENCH_RUN ?=
bench-readme: all
	$(LUA_ENV) NN_BENCH_DB='$(BENCH_DB)' NN_BENCH_RESULTS='$(BENCH_RESULTS)' \
	  $(LUA) spec/bench/readme.lua README.md $(BENCH_RUN)

# make bench-compare A B: commits A and B (B = HEAD when left out; "." is
# this work tree) built apart in build/compare/ by their own Makefiles, then
# the single-sample and batch figures of both, in the engine alone and from
# Lua, interleaved round by round in one run (spec/bench/compare.lua).
# BENCH_ROUNDS sets the rounds.  Also: make bench-compare A=a490e73 B=HEAD.
ifeq (bench-compare,$(firstword $(MAKECMDGOALS)))
COMPARE_REVS := $(wordlist 2,3,$(MAKECMDGOALS))
ifneq ($(COMPARE_REVS),)
# the commits' names are arguments, not targets: nothing to make for them
.PHONY: $(COMPARE_REVS)
$(eval $(COMPARE_REVS): ; @:)
endif
endif
A ?= $(word 1,$(COMPARE_REVS))
B ?= $(or $(word 2,$(COMPARE_REVS)),HEAD)
bench-compare: deps all
	@test -n '$(A)' || { echo 'usage: make bench-compare A [B]' >&2; exit 2; }
	$(LUA_ENV) LUA='$(LUA)' CC='$(CC)' NN_BUILD='$(BUILD)' MAKE='$(MAKE)' \
	  $(LUA) spec/bench/compare.lua '$(A)' '$(B)'

# Fashion-MNIST to 87% test accuracy or more in five epochs, from the Debian
# package's files (installed when missing).
train-demo: deps all
	@bash .ci/deps $(DEMO_DEPS)
	$(LUA_ENV) $(LUA) examples/train_fashion.lua $(FASHION_MNIST)

# A LeNet-5 on the same images, each row one 1x28x28 image: 87% test accuracy
# or more in five epochs.
train-demo-conv: deps all
	@bash .ci/deps $(DEMO_DEPS)
	$(LUA_ENV) $(LUA) examples/train_fashion.lua $(FASHION_MNIST) conv

# --- ARM ----------------------------------------------------------------------

# The engine built by an aarch64 cross compiler and its C checks run under
# qemu (spec/engine_spec.lua: the engine from C, the host example, every
# kernel set against a double-precision loop; spec/activation_spec.lua: the
# activation kernels' accuracy, in its quick sweep).  Correctness only: qemu
# says nothing about speed.
ARM_CC   ?= aarch64-linux-gnu-gcc
ARM_RUN  ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
ARM_DEPS ?= gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user

check-arm: deps all
	@bash .ci/deps $(ARM_DEPS)
	CC='$(ARM_CC)' NN_RUN='$(ARM_RUN)' NN_SPEC_QUICK=1 $(SPEC_ENV) $(LUA) $(BUSTED) \
	  --cpath='$(BUILD)/?.so' spec/engine_spec.lua spec/activation_spec.lua

# Paths for running your own script with nn from this clone, for the Lua of
# LUA:   eval "$(make -s env)"   then   lua5.4 my_script.lua
env:
	@echo "export LUA_PATH='$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;'"
	@echo "export LUA_CPATH='$(CURDIR)/$(BUILD)/?.so;;'"

# onnxruntime-node ships its native library in the npm package; its install
# script only fetches GPU files, which --ignore-scripts skips.
$(ORT_PKG):
	@bash .ci/deps $(CHECK_ONNX_DEPS)
	mkdir -p $(ORT_DIR)
	test -f $(ORT_DIR)/package.json || echo '{ "private": true }' > $(ORT_DIR)/package.json
	cd $(ORT_DIR) && $(NPM) install --ignore-scripts --no-audit --no-fund onnxruntime-node

# Exports networks of every kind, then onnx.checker and ONNX Runtime on them
# (spec/interop/check_onnx.lua); not part of make test, which needs neither.
check-onnx: deps all $(ORT_PKG)
	@bash .ci/deps $(CHECK_ONNX_DEPS)
	rm -rf $(BUILD)/check-onnx
	mkdir -p $(BUILD)/check-onnx
	$(LUA_ENV) $(LUA) spec/interop/check_onnx.lua $(BUILD)/check-onnx $(PYTHON) \
	  $(ORT_DIR)/node_modules

# The PyTorch fixtures of spec/onnx_spec.lua, exported again, and the
# training steps of spec/train_kinds_spec.lua, taken again (commit them).
onnx-fixtures:
	@bash .ci/deps $(ONNX_FIXTURE_DEPS)
	$(PYTHON) spec/fixtures/onnx/make.py
	$(PYTHON) spec/fixtures/train/make.py
	$(PYTHON) spec/fixtures/onnx/make_embed.py

# --- installing ---------------------------------------------------------------

# Writes nothing into the build directory, so a user who may not write
# there installs a build made by another.
install: all
	$(INSTALL) -d $(sort $(dir $(addprefix $(DESTDIR),$(INSTALLED))))
	$(INSTALL) -m 644 $(MODULE) $(DESTDIR)$(INSTALL_CMOD)/nn/core.so
	$(INSTALL) -m 644 $(LUA_SRCS) $(DESTDIR)$(INSTALL_LMOD)/nn/
	$(INSTALL) -m 644 $(EXTENSION) $(DESTDIR)$(LIBDIR)/nn0.so
	$(INSTALL) -m 644 $(LIBRARY) $(DESTDIR)$(LIBDIR)/libnn.a
	printf '%s\n' $(PC_LINES) > $(DESTDIR)$(PKGCONFIGDIR)/nn.pc
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/nn/
	$(call COMMAND_SCRIPT,installed,$(INSTALL_LMOD),$(INSTALL_CMOD)) > $(DESTDIR)$(BINDIR)/nn
	chmod 755 $(DESTDIR)$(BINDIR)/nn

# The Lua module alone, for the rock (nn-*.rockspec).
install-module: $(MODULE)
	$(INSTALL) -d $(DESTDIR)$(INSTALL_CMOD)/nn $(DESTDIR)$(INSTALL_LMOD)/nn
	$(INSTALL) -m 644 $(MODULE) $(DESTDIR)$(INSTALL_CMOD)/nn/core.so
	$(INSTALL) -m 644 $(LUA_SRCS) $(DESTDIR)$(INSTALL_LMOD)/nn/

# The files, then the nn directories they leave empty; nothing else.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(INSTALL_CMOD)/nn $(DESTDIR)$(INSTALL_LMOD)/nn \
	  $(DESTDIR)$(INCLUDEDIR)/nn 2>/dev/null || true

clean:
	rm -rf build $(addprefix build-,$(LUAS)) build-rock build-rock-* demo.db*
