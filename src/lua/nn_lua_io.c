/*
** nn_lua_io.c: nn.import and net:export, networks from and to the files of
** other tools (ONNX, FANN .net).
**
**   local net = nn.import("model.onnx")              -- format from the content
**   local net = nn.import(bytes, { format = "fann" }) -- or the file's bytes
**   net:export("model.onnx", "onnx")                 -- or "fann"
**
** This file only moves bytes and raises; the readers and writers are
** nn_onnx_*.c and nn_fann.c.  What they allocate (the net a reader makes,
** an open file) is held by a box userdata whose __gc frees it, so that an
** error raised in between loses nothing.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#include "formats/nn_fann.h"
#include "formats/nn_io.h"
#include "lua/nn_lua.h"
#include "formats/nn_onnx.h"

#define NN_IOBOX  "nn.io box"

/* What a raise must not lose: closed and freed by __gc, or by the code
** that took it over. */
typedef struct iobox {
  FILE *f;
  nn_net *net;
  unsigned char *bytes;
} iobox;

static int box_gc(lua_State *L) {
  iobox *b = (iobox *)luaL_checkudata(L, 1, NN_IOBOX);
  if (b->f) fclose(b->f);
  nn_net_free(b->net);
  free(b->bytes);
  b->f = NULL;
  b->net = NULL;
  b->bytes = NULL;
  return 0;
}

static iobox *new_box(lua_State *L) {
  iobox *b = (iobox *)lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, NN_IOBOX);
  return b;
}

/* A string that is not a path: one that holds a byte no path has (a zero
** or a newline: every FANN file has lines), or that starts with a control
** byte (as an ONNX file does, whose first byte is a protobuf tag). */
static int is_content(const char *s, size_t n) {
  if (n == 0) return 0;
  return (unsigned char)s[0] < 0x20 || memchr(s, '\0', n) || memchr(s, '\n', n);
}

/* Push the bytes of the file at path.  Raises when it cannot be read. */
static void push_file(lua_State *L, const char *path) {
  iobox *b = new_box(L);
  luaL_Buffer buf;
  size_t k;
  if ((b->f = fopen(path, "rb")) == NULL)
    luaL_error(L, "cannot open %s: %s", path, strerror(errno));
  luaL_buffinit(L, &buf);
  do {
    k = fread(luaL_prepbuffer(&buf), 1, LUAL_BUFFERSIZE, b->f);
    luaL_addsize(&buf, k);
  } while (k == LUAL_BUFFERSIZE);
  if (ferror(b->f)) luaL_error(L, "cannot read %s: %s", path, strerror(errno));
  fclose(b->f);
  b->f = NULL;
  luaL_pushresult(&buf);
  lua_remove(L, -2);   /* the box */
}

/* The format named in opts.format at arg, or NN_FORMAT_UNKNOWN. */
static nn_format opt_format(lua_State *L, int arg) {
  nn_format f;
  const char *name;
  if (lua_isnoneornil(L, arg)) return NN_FORMAT_UNKNOWN;
  luaL_checktype(L, arg, LUA_TTABLE);
  if (lua_getfield(L, arg, "format") == LUA_TNIL) {
    lua_pop(L, 1);
    return NN_FORMAT_UNKNOWN;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "format: expected \"onnx\" or \"fann\", got %s",
                  luaL_typename(L, -1)));
  name = lua_tostring(L, -1);
  if ((f = nn_format_from_name(name)) == NN_FORMAT_UNKNOWN)
    luaL_argerror(L, arg, lua_pushfstring(L, "format: expected \"onnx\" or \"fann\", got %s",
                  name));
  lua_pop(L, 1);
  return f;
}

/* nn.import(source [, { format = "onnx" | "fann" }]) --> network.  Raises on
** a file that cannot be read, or is not a network nn runs. */
static int nn_import(lua_State *L) {
  size_t n;
  const char *src = luaL_checklstring(L, 1, &n);
  const char *path = NULL;
  nn_format format = opt_format(L, 2);
  char err[NN_ERRMAX];
  iobox *b;
  nn_net *net;
  int st;
  lua_settop(L, 2);
  if (!is_content(src, n)) {
    path = src;
    push_file(L, path);
    src = lua_tolstring(L, -1, &n);   /* at 3 */
  }
  if (format == NN_FORMAT_UNKNOWN) format = nn_io_detect((const unsigned char *)src, n);
  if (format == NN_FORMAT_UNKNOWN)
    return luaL_error(L, "%s%sneither ONNX nor FANN (name the format: "
                      "{ format = \"onnx\" } or \"fann\")", path ? path : "", path ? ": " : "");
  b = new_box(L);
  if (format == NN_FORMAT_ONNX)
    st = nn_onnx_read((const unsigned char *)src, n, NULL, 0, &b->net, NULL, err);
  else
    st = nn_fann_read((const unsigned char *)src, n, &b->net, err);
  if (st != NN_OK)
    return luaL_error(L, "%s%s%s", path ? path : "", path ? ": " : "", err);
  net = nn_lua_newnet(L, b->net->layers, b->net->n_layers, b->net->n_params, 1, NULL);
  if (b->net->n_params)
    memcpy(net->params, b->net->params, b->net->n_params * sizeof(float));
  nn_net_free(b->net);
  b->net = NULL;
  lua_pop(L, 1);   /* the block: the network is on top */
  return 1;
}

/* net:export(path, format): format "onnx" or "fann", or from path's ending
** (.onnx, .net) when nil.  Raises when the net has no form in that format
** or the file cannot be written. */
static int net_export(lua_State *L) {
  const nn_net *net;
  const char *path, *name, *dot;
  nn_format format = NN_FORMAT_UNKNOWN;
  char err[NN_ERRMAX];
  unsigned char *bytes = NULL;
  size_t n = 0;
  int st;
  nn_lua_checknet(L, 1);
  path = luaL_checkstring(L, 2);
  name = luaL_optstring(L, 3, NULL);
  dot = strrchr(path, '.');
  if (name != NULL) format = nn_format_from_name(name);
  else if (dot && strcmp(dot, ".onnx") == 0) format = NN_FORMAT_ONNX;
  else if (dot && strcmp(dot, ".net") == 0) format = NN_FORMAT_FANN;
  if (format == NN_FORMAT_UNKNOWN)
    return luaL_argerror(L, 3, lua_pushfstring(L, "format: expected \"onnx\" or \"fann\", "
                         "got %s", name ? name : "none (and the path ends in neither "
                         ".onnx nor .net)"));
  net = nn_lua_pinnet(L, 1, 3, NULL);   /* at 4 */
  /* nothing below raises until bytes is freed */
  if (format == NN_FORMAT_ONNX) st = nn_onnx_write(net, &bytes, &n, err);
  else st = nn_fann_write(net, &bytes, &n, err);
  if (st == NN_OK) st = nn_io_write_file(path, bytes, n, err);
  free(bytes);
  if (st != NN_OK)
    return luaL_error(L, "export to %s: %s", nn_format_name(format), err);
  lua_settop(L, 1);
  return 1;
}

void nn_lua_open_io(lua_State *L) {
  luaL_newmetatable(L, NN_IOBOX);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, nn_import);
  lua_setfield(L, -2, "import");
  luaL_getmetatable(L, NN_NETWORK);
  lua_getfield(L, -1, "__index");
  lua_pushcfunction(L, net_export);
  lua_setfield(L, -2, "export");
  lua_pop(L, 2);
}
