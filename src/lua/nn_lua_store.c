/*
** nn_lua_store.c: the Lua face of the store: nn.open, the "nn.Store" type
** and its row iterators, "nn.Rows".
**
**   local store = assert(nn.open("models.db", { flush_rows = 100 }))
**   local v = store:save("leaf_flower", net, { labels = { "leaf", "flower" } })
**   local label, score, id = store:classify("leaf_flower", { 32, 107, 56, 11.2 })
**   store:feedback(id, "flower")
**   for row in store:rows("SELECT * FROM nn_accuracy") do print(row.accuracy) end
**   store:close()
**
** This file checks arguments and converts between Lua values and what the
** store (nn_store.h) takes; the user's SQL in rows() runs through the
** store's cursor, so that no SQLite is called from here.
** An nn.Store is one userdata: the nn_store, then the path it was opened
** with; its user value 1 is the cache of networks that classify() loaded.
** An nn.Rows keeps its store alive through its user value 1, and the store
** keeps a list of its live iterators so that closing it finalizes them.
**
** A collection (and so any finalizer, which may use this very store) can run
** inside any Lua call that allocates.  So nothing read from the database is
** kept in the store's memory across such a call: loading reads sizes first,
** then reads into memory Lua already gave us.
*/
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "engine/nn_engine.h"
#include "lua/nn_lua.h"
#include "pgstore/nn_pg.h"
#include "sql/nn_sql.h"
#include "store/nn_store.h"
#include "store/nn_store_train.h"

#define NN_ROWS     "nn.Rows"
#define NN_BYTES    "nn.StoreBytes"   /* serialize's bytes until copied */
#define SERIAL_KEY  "nn.Store.serial"   /* in the registry */

typedef struct nn_lrows nn_lrows;

typedef struct nn_lstore {
  nn_store store;
  uint64_t serial;     /* names this open store in networks' store_serial */
  nn_lrows *rows;      /* live iterators, linked through prev/next */
  char path[];         /* as given to nn.open, for tostring */
} nn_lstore;

struct nn_lrows {
  nn_store_cursor *cur;  /* NULL once finished */
  nn_lstore *owner;      /* NULL once finished; kept alive by user value 1 */
  nn_lrows *prev, *next;
  int store_closed;      /* finished because its store was closed */
};

/* --- checking arguments --------------------------------------------------- */

static nn_lstore *tostore(lua_State *L) {
  return (nn_lstore *)luaL_checkudata(L, 1, NN_STORE);
}

/* Raises on anything but an open store. */
static nn_lstore *checkstore(lua_State *L) {
  nn_lstore *ls = tostore(L);
  if (!nn_store_is_open(&ls->store))
    luaL_error(L, "attempt to use a closed nn.Store");
  return ls;
}

/* Raises the store's message. */
static int raise_store(lua_State *L, const nn_lstore *ls) {
  return luaL_error(L, "%s", ls->store.err);
}

/* Push opts[key] (nil when opts at arg is nil).  Raises when it is neither
** nil nor of type t. */
static int push_option(lua_State *L, int arg, const char *key, int t,
                       const char *what) {
  int got = LUA_TNIL;
  if (lua_isnil(L, arg))
    lua_pushnil(L);
  else
    got = lua_getfield(L, arg, key);
  if (got != LUA_TNIL && got != t)
    luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s", key, what));
  return got;
}

/* An integer option >= min, or dflt when absent.  Raises. */
static lua_Integer int_option(lua_State *L, int arg, const char *key,
                              lua_Integer min, lua_Integer dflt, const char *what) {
  lua_Integer v = dflt;
  int isint = 0;
  if (lua_getfield(L, arg, key) != LUA_TNIL) {
    v = lua_tointegerx(L, -1, &isint);   /* 1000.0 is 1000; "1000" is refused below */
    if (lua_type(L, -1) != LUA_TNUMBER || !isint || v < min)
      luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s", key, what));
  }
  lua_pop(L, 1);
  return v;
}

/* The options of nn.open at arg into o, and the schema of a PostgreSQL
** store (pg: whether it is one) into *schema.  Raises. */
static void check_open_options(lua_State *L, int arg, nn_store_opts *o, int pg,
                               const char **schema) {
  static const char *const known[] = {
    "flush_rows", "flush_ms", "sync", "busy_timeout", "readonly", "max_pending",
    "on_full", "schema", NULL
  };
  static const char *const policies[] = { "error", "block", "drop", NULL };
  lua_Integer busy;
  *schema = "nn";
  if (lua_isnoneornil(L, arg))
    return;
  luaL_checktype(L, arg, LUA_TTABLE);
  nn_lua_checkoptions(L, arg, known);
  if (push_option(L, arg, "schema", LUA_TSTRING, "a string") != LUA_TNIL) {
    size_t len;
    *schema = lua_tolstring(L, -1, &len);   /* anchored by the options table */
    if (!pg)
      luaL_argerror(L, arg, "option 'schema' is for a PostgreSQL store "
                    "(postgresql://...)");
    if (len == 0 || len > 63 || strlen(*schema) != len)
      luaL_argerror(L, arg, "option 'schema' must be a name of 1 to 63 bytes");
  }
  lua_pop(L, 1);
  o->flush_rows = int_option(L, arg, "flush_rows", 1, o->flush_rows, "a positive integer");
  o->flush_ms = int_option(L, arg, "flush_ms", 0, o->flush_ms, "a non-negative integer");
  busy = int_option(L, arg, "busy_timeout", 0, o->busy_timeout_ms,
                    "a non-negative integer");
  o->busy_timeout_ms = busy > INT_MAX ? INT_MAX : (int)busy;
  if (push_option(L, arg, "sync", LUA_TBOOLEAN, "a boolean") != LUA_TNIL)
    o->sync = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (push_option(L, arg, "readonly", LUA_TBOOLEAN, "a boolean") != LUA_TNIL)
    o->readonly = lua_toboolean(L, -1);
  lua_pop(L, 1);
  /* rows wait flush_rows by choice: the bound is above that */
  if (o->flush_rows > o->max_pending)
    o->max_pending = o->flush_rows;
  o->max_pending = int_option(L, arg, "max_pending", o->flush_rows, o->max_pending,
                              "an integer no smaller than flush_rows");
  if (push_option(L, arg, "on_full", LUA_TSTRING,
                  "'error', 'block' or 'drop'") != LUA_TNIL) {
    const char *p = lua_tostring(L, -1);
    for (o->on_full = 0; policies[o->on_full] && strcmp(p, policies[o->on_full]); o->on_full++)
      ;
    if (!policies[o->on_full])
      luaL_argerror(L, arg, lua_pushfstring(L, "option 'on_full' must be 'error', "
                                            "'block' or 'drop', not '%s'", p));
  }
  lua_pop(L, 1);
}

/* The labels in the table at idx, checked (nn_lua_checklabels), as a C
** array in a userdata pushed above their checked copy, which anchors the
** strings while the caller keeps both on the stack.  Raises. */
static const char **check_labels(lua_State *L, int idx, int arg, size_t want,
                                 size_t *n) {
  const char **labels;
  size_t i;
  *n = nn_lua_checklabels(L, idx, arg, want);
  labels = (const char **)lua_newuserdatauv(L, *n * sizeof *labels, 0);
  for (i = 0; i < *n; i++) {
    lua_rawgeti(L, -2, (lua_Integer)i + 1);
    labels[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return labels;
}

/* --- networks in and out -------------------------------------------------- */

/* Push a new sequence of the n labels of map labelmap_id.  Raises on a
** database error. */
static void push_labels(lua_State *L, nn_lstore *ls, int64_t labelmap_id, size_t n) {
  const char *label;
  size_t i, len;
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    if (nn_store_read_label(&ls->store, labelmap_id, i, &label, &len) != NN_OK)
      raise_store(L, ls);
    lua_pushlstring(L, label, len);   /* copied before any collection runs */
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* Push version (the latest when 0) of model name as a new nn.Sequential,
** with the model's default labels.  Raises on a missing or refused version. */
static nn_lnet *push_version(lua_State *L, nn_lstore *ls, const char *name,
                             lua_Integer version) {
  nn_store *s = &ls->store;
  nn_store_version v;
  nn_layer *layers;
  nn_lnet *ln;
  nn_net *net;
  if (nn_store_find_version(s, name, (int64_t)version, &v) != NN_OK)
    raise_store(L, ls);
  layers = (nn_layer *)lua_newuserdatauv(L, nn_store_layers_size(v.n_layers), 0);
  if (nn_store_read_layers(s, &v, layers) != NN_OK)
    raise_store(L, ls);
  net = nn_lua_newnet(L, layers, v.n_layers, v.n_params, 1, &ln);
  lua_remove(L, -3);   /* the layers */
  if (nn_store_read_params(s, &v, net->params) != NN_OK)
    raise_store(L, ls);
  lua_pop(L, 1);       /* the block */
  if (v.labelmap_id)
    push_labels(L, ls, v.labelmap_id, v.n_labels);
  else
    lua_pushnil(L);
  nn_lua_setlabels(L, lua_absindex(L, -2));
  ln->version_id = v.version_id;
  ln->labelmap_id = v.labelmap_id;
  ln->store_serial = ls->serial;
  return ln;
}

/* The network classify() uses for model name: from the cache when nothing
** was added to the catalog since it was loaded (gen), else loaded anew.
** Pushes the cache entry { net = , gen = , maps = { [name] = labelmap_id } }
** and the network.  Raises as push_version. */
static nn_lnet *cached_net(lua_State *L, nn_lstore *ls, const char *name,
                           uint64_t gen) {
  lua_getiuservalue(L, 1, 1);
  if (lua_getfield(L, -1, name) == LUA_TTABLE) {
    lua_getfield(L, -1, "gen");
    if ((uint64_t)lua_tointeger(L, -1) == gen) {
      lua_pop(L, 1);
      lua_remove(L, -2);   /* the cache */
      lua_getfield(L, -1, "net");
      return (nn_lnet *)lua_touserdata(L, -1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_createtable(L, 0, 3);
  push_version(L, ls, name, 0);
  lua_setfield(L, -2, "net");
  lua_pushinteger(L, (lua_Integer)gen);
  lua_setfield(L, -2, "gen");
  lua_newtable(L);
  lua_setfield(L, -2, "maps");
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  lua_remove(L, -2);   /* the cache */
  lua_getfield(L, -1, "net");
  return (nn_lnet *)lua_touserdata(L, -1);
}

/* The id of label map `map` for the cached network ln, its cache entry at
** entry; the labels themselves live in the connection's cache of label
** maps (nn_store_labelmap).  Raises when the model has no such map that
** fits. */
static int64_t cached_map(lua_State *L, nn_lstore *ls, int entry,
                          const nn_lnet *ln, const char *map) {
  int64_t id;
  size_t n;
  lua_getfield(L, entry, "maps");
  if (lua_getfield(L, -1, map) == LUA_TNUMBER) {
    id = (int64_t)lua_tointeger(L, -1);
    lua_pop(L, 2);
    return id;
  }
  lua_pop(L, 1);
  if (nn_store_find_labelmap(&ls->store, ln->version_id, map, &id, &n) != NN_OK)
    raise_store(L, ls);
  lua_pushinteger(L, (lua_Integer)id);
  lua_setfield(L, -2, map);
  lua_pop(L, 1);   /* maps */
  return id;
}

/* --- nn.open and the store's life ----------------------------------------- */

/* A number per opened store, never 0 and never reused in this Lua state:
** what a network's store_serial compares with.  In the registry rather than
** a C static, so that Lua states in different threads share nothing. */
static uint64_t next_serial(lua_State *L) {
  lua_Integer n;
  lua_getfield(L, LUA_REGISTRYINDEX, SERIAL_KEY);
  n = lua_tointeger(L, -1) + 1;
  lua_pop(L, 1);
  lua_pushinteger(L, n);
  lua_setfield(L, LUA_REGISTRYINDEX, SERIAL_KEY);
  return (uint64_t)n;
}

/* A new closed nn.Store named name (its path, or the name of its bytes),
** with its empty cache of networks.  Closed and complete before any
** resource is taken: whatever fails after this, the collector can close
** it.  Raises on memory only. */
static nn_lstore *new_store(lua_State *L, const char *name, size_t len) {
  nn_lstore *ls = (nn_lstore *)lua_newuserdatauv(L, offsetof(nn_lstore, path) + len + 1, 1);
  nn_store_init(&ls->store);
  ls->serial = 0;
  ls->rows = NULL;
  memcpy(ls->path, name, len + 1);
  luaL_setmetatable(L, NN_STORE);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  return ls;
}

/* The store just opened (st its status), with the SQL functions on its
** connection when sql is set (a SQLite store): the store, or nil,
** "name: message", code. */
static int opened(lua_State *L, nn_lstore *ls, int st, int sql) {
  if (st != NN_OK || (sql && (st = nn_sql_register_store(&ls->store)) != NN_OK)) {
    nn_store_close(&ls->store);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", ls->path, ls->store.err);
    lua_pushstring(L, nn_status_name(st));
    return 3;
  }
  ls->serial = next_serial(L);
  return 1;
}

/* A PostgreSQL URL as tostring and messages show it, in place: the
** password, after "user:" in the authority or as "password=" in the query,
** replaced by stars of the same count (no length changes). */
static void hide_password(char *url) {
  char *at = strchr(url, '@'), *p = strstr(url, "://"), *q;
  if (p && at) {
    char *colon = memchr(p + 3, ':', (size_t)(at - p - 3));
    if (colon && !memchr(p + 3, '/', (size_t)(at - p - 3)))
      memset(colon + 1, '*', (size_t)(at - colon - 1));
  }
  for (q = strstr(url, "password="); q; q = strstr(q + 9, "password="))
    memset(q + 9, '*', strcspn(q + 9, "&"));
}

/* nn.open(path [, opts]) --> store | nil, message, code.  Raises on bad
** arguments only: the environment failing is returned. */
static int store_open(lua_State *L) {
  size_t len;
  const char *path = luaL_checklstring(L, 1, &len);
  nn_store_opts opts = NN_STORE_OPTS_DEFAULT;
  const char *schema;
  nn_lstore *ls;
  int pg = nn_pg_is_url(path);
  check_open_options(L, 2, &opts, pg, &schema);
  ls = new_store(L, path, len);
  if (pg) {
    hide_password(ls->path);
    return opened(L, ls, nn_pg_open(&ls->store, path, schema, &opts), 0);
  }
  return opened(L, ls, nn_store_open(&ls->store, path, &opts), 1);
}

/* The name option of nn.open_bytes at arg ("image" when absent), after the
** other options are checked.  Raises. */
static const char *check_bytes_options(lua_State *L, int arg, size_t *len) {
  static const char *const known[] = { "name", "readonly", NULL };
  const char *name = "image";
  *len = 5;
  if (lua_isnoneornil(L, arg))
    return name;
  luaL_checktype(L, arg, LUA_TTABLE);
  nn_lua_checkoptions(L, arg, known);
  if (push_option(L, arg, "readonly", LUA_TBOOLEAN, "a boolean") != LUA_TNIL &&
      !lua_toboolean(L, -1))
    luaL_argerror(L, arg, "a store opened from bytes is read-only (readonly = false"
                  " cannot be)");
  lua_pop(L, 1);
  if (push_option(L, arg, "name", LUA_TSTRING, "a string") != LUA_TNIL)
    name = lua_tolstring(L, -1, len);   /* anchored in the options table */
  lua_pop(L, 1);
  return name;
}

/* nn.open_bytes(bytes [, { name = }]) --> store | nil, message, code: the
** image of an nn database in a string, opened read-only from SQLite's own
** copy of it.  Raises on bad arguments only. */
static int store_open_bytes(lua_State *L) {
  size_t n, len;
  const char *bytes = luaL_checklstring(L, 1, &n);
  const char *name = check_bytes_options(L, 2, &len);
  nn_lstore *ls = new_store(L, name, len);
  return opened(L, ls, nn_store_open_bytes(&ls->store, bytes, n, NULL), 1);
}

/* Finish an iterator: cursor closed, unlinked from its store. */
static void rows_finish(nn_lrows *r) {
  nn_store_cursor_close(r->cur);   /* a no-op on NULL */
  r->cur = NULL;
  if (r->owner) {
    if (r->prev)
      r->prev->next = r->next;
    else
      r->owner->rows = r->next;
    if (r->next)
      r->next->prev = r->prev;
    r->owner = NULL;
    r->prev = r->next = NULL;
  }
}

/* Close an open store without flushing: iterators, statements, connection,
** and the cache of networks. */
static void close_store(lua_State *L, nn_lstore *ls) {
  while (ls->rows) {
    ls->rows->store_closed = 1;
    rows_finish(ls->rows);
  }
  nn_store_close(&ls->store);
  ls->serial = 0;
  lua_pushnil(L);
  lua_setiuservalue(L, 1, 1);
}

/* __gc and __close: flush what can be flushed (a failure has nobody to go
** to), then close.  Safe to run twice. */
static int store_gc(lua_State *L) {
  nn_lstore *ls = tostore(L);
  if (nn_store_is_open(&ls->store)) {
    nn_store_flush(&ls->store);
    close_store(L, ls);
  }
  return 0;
}

/* store:close() --> true.  Raises when the flush fails: the store then stays
** open with its rows, so that nothing logged is lost. */
static int store_close(lua_State *L) {
  nn_lstore *ls = tostore(L);
  if (nn_store_is_open(&ls->store)) {
    if (nn_store_flush(&ls->store) != NN_OK)
      raise_store(L, ls);
    close_store(L, ls);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int store_tostring(lua_State *L) {
  nn_lstore *ls = tostore(L);
  if (nn_store_is_open(&ls->store) && ls->store.image)
    lua_pushfstring(L, "nn.Store (%s, from bytes)", ls->path);
  else if (nn_store_is_open(&ls->store))
    lua_pushfstring(L, "nn.Store (%s)", ls->path);
  else
    lua_pushliteral(L, "nn.Store (closed)");
  return 1;
}

/* store:flush([timeout]) --> true: every waiting row written, waiting up
** to timeout ms (busy_timeout when absent; 0: one try) for another
** writer's lock.  Raises when the write fails, the rows kept: "12 rows
** still pending: database is locked". */
static int store_flush(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  int timeout = ls->store.opts.busy_timeout_ms;
  if (!lua_isnoneornil(L, 2)) {
    int isint = 0;
    lua_Integer t = lua_tointegerx(L, 2, &isint);
    if (lua_type(L, 2) != LUA_TNUMBER || !isint || t < 0)
      luaL_argerror(L, 2, "timeout must be a non-negative integer (milliseconds)");
    timeout = t > INT_MAX ? INT_MAX : (int)t;
  }
  if (nn_store_flush_within(&ls->store, timeout) != NN_OK)
    raise_store(L, ls);
  lua_pushboolean(L, 1);
  return 1;
}

/* store:stats() --> { pending = , written = , dropped = , full = , busy = ,
** failed = , writes = , max_pending = , on_full = }: what the log holds and
** did since the store opened. */
static int store_stats(lua_State *L) {
  static const char *const policies[] = { "error", "block", "drop" };
  nn_lstore *ls = checkstore(L);
  nn_store_stats st;
  nn_store_stats_get(&ls->store, &st);
  lua_createtable(L, 0, 9);
#define STAT(f)  (lua_pushinteger(L, (lua_Integer)st.f), lua_setfield(L, -2, #f))
  STAT(pending); STAT(written); STAT(dropped); STAT(full); STAT(busy); STAT(failed);
  STAT(writes);
#undef STAT
  lua_pushinteger(L, (lua_Integer)ls->store.opts.max_pending);
  lua_setfield(L, -2, "max_pending");
  lua_pushstring(L, policies[ls->store.opts.on_full]);
  lua_setfield(L, -2, "on_full");
  return 1;
}

/* The bytes nn_store_serialize returned, owned by a userdata until they
** are copied into a string, so that a raise in between frees them. */
typedef struct { unsigned char *p; } nn_lbytes;

static int bytes_gc(lua_State *L) {
  nn_lbytes *b = (nn_lbytes *)lua_touserdata(L, 1);
  nn_store_free(b->p);
  b->p = NULL;
  return 0;
}

/* store:serialize() --> the bytes of the store's database, after a flush:
** what nn.open_bytes opens, or a file's content.  Raises when the flush or
** the read fails. */
static int store_serialize(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  nn_lbytes *b;
  size_t n;
  b = (nn_lbytes *)lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  luaL_setmetatable(L, NN_BYTES);
  if (nn_store_flush(&ls->store) != NN_OK ||
      nn_store_serialize(&ls->store, &b->p, &n) != NN_OK)
    raise_store(L, ls);
  lua_pushlstring(L, (const char *)b->p, n);
  nn_store_free(b->p);
  b->p = NULL;
  return 1;
}

/* store:ship(path [, { overwrite = true }]) --> true: a compact copy of the
** store, after a flush, in a new file read without a -wal or -shm.  Raises
** on bad arguments, on a file there (unless overwrite), on a failed write
** (which leaves path as it was). */
static int store_ship(lua_State *L) {
  static const char *const known[] = { "overwrite", NULL };
  nn_lstore *ls = checkstore(L);
  const char *path = luaL_checkstring(L, 2);
  int overwrite = 0;
  lua_settop(L, 3);
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    nn_lua_checkoptions(L, 3, known);
  }
  if (push_option(L, 3, "overwrite", LUA_TBOOLEAN, "a boolean") != LUA_TNIL)
    overwrite = lua_toboolean(L, -1);
  if (nn_store_flush(&ls->store) != NN_OK ||
      nn_store_ship(&ls->store, path, overwrite) != NN_OK)
    raise_store(L, ls);
  lua_pushboolean(L, 1);
  return 1;
}

/* --- models ---------------------------------------------------------------- */

/* store:save(name, net [, { note = , labels = , training = , source = }])
** --> version; training (a history from tr:fit) is recorded with the version
** (nn_lua_history.c reads it).  Raises on bad arguments and on a failed
** write (which leaves nothing behind). */
static int store_save(lua_State *L) {
  static const char *const known[] = { "note", "labels", "training", "source", NULL };
  nn_lstore *ls = checkstore(L);
  const char *name = nn_lua_checkname(L, 2, "name");
  nn_lnet *ln = nn_lua_checknet(L, 3);
  const nn_net *net;
  const char *note = NULL;
  const char **labels = NULL;
  const nn_train_run *run;
  nn_store_saved saved;
  size_t n;
  int labels_arg = 4;
  net = nn_lua_pinnet(L, 3, 4, NULL);   /* at 5 */
  if (!lua_isnil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    nn_lua_checkoptions(L, 4, known);
  }
  if (push_option(L, 4, "note", LUA_TSTRING, "a string") == LUA_TSTRING) {
    size_t len;
    note = lua_tolstring(L, 6, &len);
    if (strlen(note) != len)
      luaL_argerror(L, 4, "option 'note' contains a zero byte");
  }
  if (push_option(L, 4, "labels", LUA_TTABLE, "a table") == LUA_TNIL) {
    lua_pop(L, 1);
    nn_lua_getlabels(L, 3);   /* the network's own, if any */
    labels_arg = 3;
  }
  if (net->n_inputs == 0)
    luaL_argerror(L, 3, "a network without a Linear layer cannot be saved");
  if (!lua_isnil(L, 7))
    labels = check_labels(L, 7, labels_arg, net->n_outputs, &n);
  run = nn_lua_checkrun(L, &ls->store, 4);   /* pushed above the rest */
  if (nn_store_save_run(&ls->store, name, net, note, labels, run, &saved) != NN_OK)
    raise_store(L, ls);
  ln->version_id = saved.version_id;
  ln->labelmap_id = saved.labelmap_id;
  ln->store_serial = ls->serial;
  lua_pushinteger(L, (lua_Integer)saved.version);
  return 1;
}

/* store:load(name [, version]) --> net.  Raises on bad arguments, an
** unknown model or version, and a stored version that fails its checks. */
static int store_load(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  const char *name = nn_lua_checkname(L, 2, "name");
  lua_Integer version = 0;
  if (!lua_isnoneornil(L, 3)) {
    version = luaL_checkinteger(L, 3);
    if (version < 1)
      luaL_argerror(L, 3, "version must be a positive integer");
  }
  push_version(L, ls, name, version);
  return 1;
}

/* store:add_labels(name, map, labels).  Raises on bad arguments, an unknown
** model, and a count other than the outputs of its latest version. */
static int store_add_labels(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  const char *name = nn_lua_checkname(L, 2, "name");
  const char *map = nn_lua_checkname(L, 3, "map name");
  const char **labels;
  size_t n;
  int st;
  lua_settop(L, 4);
  labels = check_labels(L, 4, 4, 0, &n);
  st = nn_store_add_labels(&ls->store, name, map, labels, n);
  if (st == NN_EMISMATCH)
    luaL_argerror(L, 4, ls->store.err);
  if (st != NN_OK)
    raise_store(L, ls);
  return 0;
}

/* --- the prediction log ----------------------------------------------------- */

/* Check the options of log and classify at arg and push their labels,
** request_id and tags (nil when absent).  Raises. */
static void push_log_options(lua_State *L, int arg) {
  static const char *const known[] = { "labels", "request_id", "tags", NULL };
  if (!lua_isnil(L, arg)) {
    luaL_checktype(L, arg, LUA_TTABLE);
    nn_lua_checkoptions(L, arg, known);
  }
  push_option(L, arg, "labels", LUA_TSTRING, "a string");
  if (push_option(L, arg, "request_id", LUA_TSTRING, "a string") == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
      luaL_argerror(L, arg, "option 'request_id' contains a zero byte");
  }
  push_option(L, arg, "tags", LUA_TTABLE, "a table");
}

/* The tags table at idx as a JSON object in s->tags.  Nothing here allocates
** from Lua (so no finalizer can touch the store) except to raise.  Raises,
** blaming argument arg, on a key that is not a string or a value that is
** not a string, a finite number or a boolean. */
static void build_tags(lua_State *L, int idx, int arg, nn_store *s) {
  nn_buf *b = &s->tags;
  int bad = 0, first = 1;
  b->n = 0;
  bad |= nn_buf_add(b, "{", 1);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t klen, vlen;
    const char *key, *value;
    lua_Number x;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_argerror(L, arg, "tags: keys must be strings");
    key = lua_tolstring(L, -2, &klen);   /* a string already: lua_next safe */
    if (strlen(key) != klen)
      luaL_argerror(L, arg, "tags: a key contains a zero byte");
    if (!first)
      bad |= nn_buf_add(b, ",", 1);
    first = 0;
    bad |= nn_buf_json_string(b, key, klen);
    bad |= nn_buf_add(b, ":", 1);
    switch (lua_type(L, -1)) {
    case LUA_TSTRING:
      value = lua_tolstring(L, -1, &vlen);
      if (strlen(value) != vlen)
        luaL_argerror(L, arg, lua_pushfstring(L, "tags.%s contains a zero byte", key));
      bad |= nn_buf_json_string(b, value, vlen);
      break;
    case LUA_TBOOLEAN:
      bad |= lua_toboolean(L, -1) ? nn_buf_add(b, "true", 4) : nn_buf_add(b, "false", 5);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) {
        bad |= nn_buf_json_int(b, (int64_t)lua_tointeger(L, -1));
        break;
      }
      x = lua_tonumber(L, -1);
      if (!isfinite(x))
        luaL_argerror(L, arg, lua_pushfstring(L, "tags.%s is not a finite number", key));
      bad |= nn_buf_json_double(b, (double)x);
      break;
    default:
      luaL_argerror(L, arg, lua_pushfstring(L, "tags.%s must be a string, number "
                                            "or boolean", key));
    }
    lua_pop(L, 1);
  }
  bad |= nn_buf_add(b, "}", 1);
  if (bad)
    luaL_error(L, "not enough memory");
}

/* Fill the request_id and tags of row from the option values at opt_request
** and opt_tags (the options table is argument arg).  Raises as build_tags;
** call it last before nn_store_log, after every Lua allocation. */
static void row_options(lua_State *L, nn_store *s, nn_store_row *row,
                        int opt_request, int opt_tags, int arg) {
  row->request_id = NULL;
  row->request_len = 0;
  row->tags = NULL;
  row->tags_len = 0;
  if (lua_type(L, opt_request) == LUA_TSTRING)
    row->request_id = lua_tolstring(L, opt_request, &row->request_len);
  if (lua_type(L, opt_tags) == LUA_TTABLE) {
    build_tags(L, opt_tags, arg, s);
    row->tags = s->tags.p;
    row->tags_len = s->tags.n;
  }
}

/* A row's id, or nil for a row dropped at the bound (on_full = "drop"). */
static void push_id(lua_State *L, int64_t id) {
  if (id)
    lua_pushinteger(L, (lua_Integer)id);
  else
    lua_pushnil(L);
}

/* store:log(net, x, y [, { labels = , request_id = , tags = }]) --> id.
** Raises on bad arguments, a net not saved to or loaded from this store, an
** unknown label map, and a failed write (the row then stays buffered). */
static int store_log(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  nn_store *s = &ls->store;
  nn_lnet *ln = nn_lua_checknet(L, 2);
  const nn_net *net;
  float stack_buf[NN_STACK_FLOATS], *x;
  nn_store_row row;
  int64_t id;
  size_t n;
  net = nn_lua_pinnet(L, 2, 5, NULL);   /* at 6 */
  if (ln->store_serial != ls->serial || ln->version_id <= 0)
    luaL_argerror(L, 2, "network is not a version saved in this store");
  push_log_options(L, 5);   /* labels 7, request_id 8, tags 9 */
  x = nn_lua_scratch(L, stack_buf, net->n_inputs + net->n_outputs);
  nn_lua_checkfloats(L, 3, "x", x, net->n_inputs);
  nn_lua_checkinput(L, net, x, 1, net->n_inputs, 3);
  nn_lua_checkfloats(L, 4, "y", x + net->n_inputs, net->n_outputs);
  row.version_id = ln->version_id;
  row.labelmap_id = ln->labelmap_id;
  if (lua_type(L, 7) == LUA_TSTRING &&
      nn_store_find_labelmap(s, ln->version_id, lua_tostring(L, 7), &row.labelmap_id,
                             &n) != NN_OK)
    raise_store(L, ls);
  row.x = x;
  row.n_x = net->n_inputs;
  row.y = x + net->n_inputs;
  row.n_y = net->n_outputs;
  row_options(L, s, &row, 8, 9, 5);
  if (nn_store_log(s, &row, &id) != NN_OK)
    raise_store(L, ls);
  push_id(L, id);
  return 1;
}

/* store:classify(name, x [, { labels = , request_id = , tags = }])
** --> label, score, id.  The latest version of the model, cached; the forward
** pass in C; the prediction logged.  A store opened with readonly = true
** logs nothing and gives no id.  Raises as load and log do. */
static int store_classify(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  nn_store *s = &ls->store;
  const char *name = nn_lua_checkname(L, 2, "name");
  float stack_buf[NN_STACK_FLOATS];
  nn_lua_pass pass;
  nn_lnet *ln;
  const nn_net *net;
  nn_store_row row;
  uint64_t gen;
  int64_t id;
  const char *label;
  lua_Number score;
  size_t len, best;
  lua_settop(L, 4);
  push_log_options(L, 4);   /* labels 5, request_id 6, tags 7 */
  if (nn_store_catalog(s, &gen) != NN_OK)
    raise_store(L, ls);
  ln = cached_net(L, ls, name, gen);   /* entry 8, net 9 */
  net = nn_lua_pinnet(L, 9, 9, NULL);  /* at 10 */
  row.version_id = ln->version_id;
  row.labelmap_id = ln->labelmap_id;
  if (lua_type(L, 5) == LUA_TSTRING)
    row.labelmap_id = cached_map(L, ls, 8, ln, lua_tostring(L, 5));
  nn_lua_forward(L, net, 3, stack_buf, &pass);
  nn_lua_checkoutputs(L, name, 0, pass.y, pass.n_y);
  if (!s->opts.readonly) {
    row.x = pass.x;
    row.n_x = pass.n_x;
    row.y = pass.y;
    row.n_y = pass.n_y;
    row_options(L, s, &row, 6, 7, 4);
    if (nn_store_log(s, &row, &id) != NN_OK)
      raise_store(L, ls);
  }
  /* the score before anything allocates: a finalizer may reuse the buffer */
  best = nn_argmax(pass.y, pass.n_y);
  score = (lua_Number)pass.y[best];
  /* the map the log just read: in the cache, so this reads nothing (a
  ** read-only store reads it here) */
  if (!row.labelmap_id)
    lua_pushinteger(L, (lua_Integer)best + 1);
  else if (nn_store_read_label(s, row.labelmap_id, best, &label, &len) == NN_OK)
    lua_pushlstring(L, label, len);
  else
    raise_store(L, ls);
  lua_pushnumber(L, score);
  if (s->opts.readonly)
    return 2;
  push_id(L, id);
  return 3;
}

/* store:feedback(id, truth) --> the feedback's id: truth a label or a
** 1-based index.  Raises on bad arguments, an unknown prediction or label,
** an index out of range. */
static int store_feedback(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  lua_Integer id = luaL_checkinteger(L, 2), idx = 0;
  int64_t feedback_id = 0;
  const char *label = NULL;
  size_t len = 0;
  switch (lua_type(L, 3)) {
  case LUA_TSTRING:
    label = lua_tolstring(L, 3, &len);
    break;
  case LUA_TNUMBER:
    idx = luaL_checkinteger(L, 3);
    break;
  default:
    luaL_typeerror(L, 3, "string or integer");
  }
  if (nn_store_feedback(&ls->store, (int64_t)id, (int64_t)idx, label, len,
                        &feedback_id) != NN_OK)
    raise_store(L, ls);
  push_id(L, feedback_id);
  return 1;
}

/* --- rows ------------------------------------------------------------------- */

static nn_lrows *torows(lua_State *L) {
  return (nn_lrows *)luaL_checkudata(L, 1, NN_ROWS);
}

/* Raise the store's message after finishing r.  Raises, always. */
static int rows_raise(lua_State *L, nn_lrows *r, nn_store *s) {
  lua_pushstring(L, s->err);
  rows_finish(r);
  return lua_error(L);
}

/* Push a column's value, copied (lua_pushlstring copies before any
** collection can run). */
static void push_value(lua_State *L, const nn_store_value *v) {
  switch (v->type) {
  case NN_STORE_INTEGER:
    lua_pushinteger(L, (lua_Integer)v->i);
    break;
  case NN_STORE_FLOAT:
    lua_pushnumber(L, (lua_Number)v->d);
    break;
  case NN_STORE_TEXT:
  case NN_STORE_BLOB:
    lua_pushlstring(L, v->text, v->len);
    break;
  default:
    lua_pushnil(L);
  }
}

/* The iterator function, a closure over its nn.Rows (so that iter() works
** as well as the generic for): the next row as a table by column name, NULL
** columns left out, or nil at the end.  Raises on an SQL error and after
** its store was closed. */
static int rows_next(lua_State *L) {
  nn_lrows *r = (nn_lrows *)lua_touserdata(L, lua_upvalueindex(1));
  nn_store_value v;
  int row, i, n;
  if (!r->cur) {
    if (r->store_closed)
      return luaL_error(L, "attempt to use a closed nn.Store");
    lua_pushnil(L);
    return 1;
  }
  if (nn_store_cursor_step(&r->owner->store, r->cur, &row) != NN_OK)
    return rows_raise(L, r, &r->owner->store);
  if (!row) {
    rows_finish(r);
    lua_pushnil(L);
    return 1;
  }
  n = nn_store_cursor_columns(r->cur);
  lua_createtable(L, 0, n);
  for (i = 0; i < n; i++) {
    /* Each push may run a finalizer that closes the store, and with it this
    ** cursor, or steps it: look again before every use, and read the value
    ** again after the name's push. */
    if (!r->cur)
      return luaL_error(L, "attempt to use a closed nn.Store");
    nn_store_cursor_value(r->cur, i, &v);
    if (v.type == NN_STORE_NULL)
      continue;
    if (!lua_pushstring(L, nn_store_cursor_name(r->cur, i)))
      return luaL_error(L, "not enough memory");
    if (!r->cur)
      return luaL_error(L, "attempt to use a closed nn.Store");
    nn_store_cursor_value(r->cur, i, &v);
    push_value(L, &v);
    lua_rawset(L, -3);
  }
  return 1;
}

/* __gc and __close of an iterator. */
static int rows_gc(lua_State *L) {
  rows_finish(torows(L));
  return 0;
}

static int rows_tostring(lua_State *L) {
  nn_lrows *r = torows(L);
  if (r->cur)
    lua_pushfstring(L, "nn.Rows (%s)", nn_store_cursor_sql(r->cur));
  else
    lua_pushliteral(L, "nn.Rows (closed)");
  return 1;
}

/* Argument arg as a value to bind; raises, after finishing r, on one SQL
** cannot take. */
static nn_store_value arg_value(lua_State *L, nn_lrows *r, int arg) {
  nn_store_value v = { NN_STORE_NULL, 0, 0, NULL, 0 };
  switch (lua_type(L, arg)) {
  case LUA_TNIL:
    break;
  case LUA_TBOOLEAN:
    v.type = NN_STORE_INTEGER;
    v.i = lua_toboolean(L, arg);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, arg)) {
      v.type = NN_STORE_INTEGER;
      v.i = (int64_t)lua_tointeger(L, arg);
    } else {
      v.type = NN_STORE_FLOAT;
      v.d = (double)lua_tonumber(L, arg);
    }
    break;
  case LUA_TSTRING:
    v.type = NN_STORE_TEXT;
    v.text = lua_tolstring(L, arg, &v.len);
    break;
  default:
    rows_finish(r);
    luaL_typeerror(L, arg, "nil, boolean, number or string");
  }
  return v;
}

/* Bind the arguments after the SQL to ?1, ?2, ...  Raises, after finishing
** r, on more arguments than parameters, a value SQL cannot take, and a bind
** the store refuses. */
static void bind_args(lua_State *L, nn_lrows *r, nn_store *s, int nargs) {
  int nparams = nn_store_cursor_params(r->cur), i;
  if (nargs > nparams) {
    rows_finish(r);
    luaL_argerror(L, 3 + nparams, lua_pushfstring(L,
        "the statement has %d parameter%s", nparams, nparams == 1 ? "" : "s"));
  }
  for (i = 1; i <= nargs; i++) {
    nn_store_value v = arg_value(L, r, 2 + i);
    if (nn_store_cursor_bind(s, r->cur, i, &v) != NN_OK)
      rows_raise(L, r, s);
  }
}

/* store:rows(sql, ...) --> iterator, state, nil, closing value.  The log is
** flushed first, so the query sees every logged row.  Raises on a failed
** flush, bad arguments and SQL errors. */
static int store_rows(lua_State *L) {
  nn_lstore *ls = checkstore(L);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  int nargs = lua_gettop(L) - 2, it, st;
  nn_lrows *r;
  /* Linked and finishable before the cursor exists: any error after this
  ** point leaves nothing the collector cannot clean. */
  r = (nn_lrows *)lua_newuserdatauv(L, sizeof *r, 1);
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, NN_ROWS);
  it = lua_gettop(L);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, it, 1);
  /* a finalizer run by the allocation above may have closed the store */
  if (!nn_store_is_open(&ls->store))
    return luaL_error(L, "attempt to use a closed nn.Store");
  r->owner = ls;
  r->next = ls->rows;
  if (ls->rows)
    ls->rows->prev = r;
  ls->rows = r;
  /* the log is flushed first, so that the query sees every logged row */
  if ((st = nn_store_cursor_open(&ls->store, sql, len, &r->cur)) != NN_OK) {
    if (st == NN_EINVALID) {
      rows_finish(r);
      return luaL_argerror(L, 2, ls->store.err);
    }
    return rows_raise(L, r, &ls->store);
  }
  bind_args(L, r, &ls->store, nargs);
  lua_pushvalue(L, it);
  lua_pushcclosure(L, rows_next, 1);
  lua_pushvalue(L, it);
  lua_pushnil(L);
  lua_pushvalue(L, it);   /* the closing value: an early break finalizes */
  return 4;
}

/* --- for the other binding files --------------------------------------------- */

/* Raises on anything but an open store at arg. */
nn_store *nn_lua_checkstore(lua_State *L, int arg) {
  nn_lstore *ls = (nn_lstore *)luaL_checkudata(L, arg, NN_STORE);
  if (!nn_store_is_open(&ls->store))
    luaL_error(L, "attempt to use a closed nn.Store");
  return &ls->store;
}

/* --- registration ----------------------------------------------------------- */

static const luaL_Reg store_methods[] = {
  {"save", store_save},         {"load", store_load},
  {"add_labels", store_add_labels},
  {"classify", store_classify}, {"log", store_log},
  {"feedback", store_feedback}, {"rows", store_rows},
  {"flush", store_flush},       {"close", store_close},
  {"stats", store_stats},
  {"serialize", store_serialize}, {"ship", store_ship},
  {NULL, NULL}
};

static const luaL_Reg store_meta[] = {
  {"__gc", store_gc}, {"__close", store_gc}, {"__tostring", store_tostring},
  {NULL, NULL}
};

static const luaL_Reg rows_meta[] = {
  {"__gc", rows_gc}, {"__close", rows_gc}, {"__tostring", rows_tostring},
  {NULL, NULL}
};

void nn_lua_open_store(lua_State *L) {
  luaL_newmetatable(L, NN_STORE);
  luaL_setfuncs(L, store_meta, 0);
  luaL_newlib(L, store_methods);
  lua_setfield(L, -2, "__index");
  lua_setfield(L, -2, "Store");     /* so the front module can add methods */
  luaL_newmetatable(L, NN_ROWS);
  luaL_setfuncs(L, rows_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, NN_BYTES);
  lua_pushcfunction(L, bytes_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, store_open);
  lua_setfield(L, -2, "open");
  lua_pushcfunction(L, store_open_bytes);
  lua_setfield(L, -2, "open_bytes");
}
