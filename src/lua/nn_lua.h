/*
** nn_lua.h: what the parts of the Lua binding share (not a public header).
**
** Its groups follow the files that define them, from the bottom of the
** binding up: each file of src/lua/ calls only files listed before it,
** never one after, so they form no circle (make layers checks it):
**   nn_lua_values.c      the shared helpers: floats, labels, options, scratch
**   nn_lua_matrix.c      nn.Matrix
**   nn_lua_batch.c       a network over an nn.Matrix
**   nn_lua_net.c         nn.Network: the handle, the pin, forward, methods
**   nn_lua_ffi.c         what LuaJIT's FFI reaches a network through
**   nn_lua_layers.c      the constructors, nn.Sequential
**   nn_lua_train.c       criteria, nn.Trainer, net:backward and the params
**   nn_lua_io.c          nn.import, net:export
**   nn_lua_data.c        the file readers
**   nn_lua_history.c     a training history as a store's run and back
**   nn_lua_store.c       nn.open, nn.Store, nn.Rows
**   nn_lua_store_data.c  store:matrix, store:feedback_set, store:history
**   nn_lua.c             luaopen_nn_core, which gathers them all
**
** An "nn.Network" is a small userdata, the handle nn_lnet, whose user
** values hold
**   1: the block userdata with the nn_net, its layers and its params
**      (one allocation the collector owns; `add` swaps in a new block, so
**      it is reached only through nn_lua_pinnet: see nn_lnet),
**   2: the network's own label map, a Lua sequence of strings, or nil.
** It also remembers where it came from in a store, so that a logged
** prediction can name its version and label map.  Changing the weights or
** the labels forgets that.
*/
#ifndef NN_LUA_H
#define NN_LUA_H

#include <stdint.h>
#include "lua.h"
#include "lua/nn_lua_compat.h"   /* the 5.4 API on 5.1, 5.2, 5.3 and LuaJIT */
#include "engine/nn_engine.h"
#include "formats/nn_json.h"     /* nn_buf */

struct nn_store;       /* store/nn_store.h */
struct nn_train_run;   /* store/nn_store_train.h */

#define NN_NETWORK  "nn.Network"
#define NN_STORE    "nn.Store"
#define NN_MATRIX   "nn.Matrix"

/* Inputs and outputs at most this long live on the C stack in a forward
** pass; longer ones take a scratch userdata. */
#define NN_STACK_FLOATS  2048

/* --- the shared helpers (nn_lua_values.c) ------------------------------- */

/* Read the Lua array at arg into out[n] as floats.  Raises with the argument
** named ("x") when it is not a table, has another length than n, or holds a
** non-number, NaN or infinity: "bad argument #2 to 'forward' (x[3] is not a
** number)". */
void nn_lua_checkfloats(lua_State *L, int arg, const char *what,
                        float *out /* [n] */, size_t n);

/* The same for the array at stack index idx, errors blaming argument arg
** and naming it what ("rows[2]"). */
void nn_lua_readfloats(lua_State *L, int idx, int arg, const char *what,
                       float *out /* [n] */, size_t n);

/* The type of the value at idx for a message: its __name, else its type. */
const char *nn_lua_typename(lua_State *L, int idx);

/* Length of the Lua array at arg (raises when not a table). */
size_t nn_lua_checklen(lua_State *L, int arg, const char *what);

/* n floats of scratch that stay valid until the next call of this function:
** one buffer per Lua state, grown as needed and never shrunk, so that forward
** passes make no garbage.  A finalizer may use it too, and one may run at
** any allocation: take it after the last Lua allocation before its use.
** Raises on memory errors. */
float *nn_lua_work(lua_State *L, size_t n);

/* n floats: stack_buf when n <= NN_STACK_FLOATS, else nn_lua_work's buffer
** (with the same rule).  Raises on memory errors. */
float *nn_lua_scratch(lua_State *L, float *stack_buf /* [NN_STACK_FLOATS] */,
                      size_t n);

/* A userdata of NN_LUA_BUFS empty byte buffers, pushed, whose memory the
** collector frees (its __gc): for what C code reads into malloc'ed buffers
** while Lua may raise before it is copied out.  Raises on memory errors. */
#define NN_LUA_BUFS  4
typedef struct nn_lua_bufs {
  nn_buf buf[NN_LUA_BUFS];
} nn_lua_bufs;
nn_lua_bufs *nn_lua_newbufs(lua_State *L);

/* Check the label table at idx (errors blame argument arg): non-empty
** strings without zero bytes, exactly want of them when want > 0.  Pushes
** a fresh copy and returns the count. */
size_t nn_lua_checklabels(lua_State *L, int idx, int arg, size_t want);

/* The name at arg (a model's, a label map's): a string, never a number,
** non-empty and without zero bytes (SQL text ends at one; every text nn
** stores follows the same rule).  Errors name it what: "bad argument #1 to
** 'save' (name: string expected, got number)".  Raises. */
const char *nn_lua_checkname(lua_State *L, int arg, const char *what);

/* Raises on a key of the options table at arg that is not in known (a
** NULL-terminated list): "bad argument #2 to 'f' (unknown option 'x')",
** with " (did you mean 'y'?)" when nn_lua_closest finds one. */
void nn_lua_checkoptions(lua_State *L, int arg, const char *const known[]);

/* The name of known (a NULL-terminated list) that key most likely meant:
** the nearest by edit distance (letters inserted, deleted, replaced or
** swapped, case ignored) among those a letter or two away, that start the
** other, or that are its initials ("lr" for "learning_rate"); NULL when
** none is. */
const char *nn_lua_closest(const char *key, const char *const known[]);

/* Write y[n] into the table at idx (1..n), or push a new one when idx is 0. */
void nn_lua_pushfloats(lua_State *L, int idx, const float *y /* [n] */, size_t n);

/* Raises when one of the outputs y [n] is NaN or infinite, naming it and
** the sample (row 0: x; else row r of X) and the model when not NULL: an
** output that is not finite is no score, so it has no label.  Reads y
** before anything allocates. */
/* Raises, blaming argument arg, when a row of X (rows of n_x floats) is
** input the net's first layer cannot take (an Embedding's ids: see
** nn_check_input). */
void nn_lua_checkinput(lua_State *L, const nn_net *net, const float *X, size_t rows,
                       size_t n_x, int arg);
void nn_lua_checkoutputs(lua_State *L, const char *model, size_t row,
                         const float *y /* [n] */, size_t n);

/* Push the label for output index i (0-based) from the label table at idx,
** or the 1-based index as an integer when idx is 0 or the table is nil. */
void nn_lua_pushlabel(lua_State *L, int idx, size_t i);

/* Push the network's own labels table (user value 2) or nil; returns its type. */
int nn_lua_getlabels(lua_State *L, int arg);
/* Set them from the value on top of the stack (a checked sequence or nil),
** popping it.  Does not touch labelmap_id: callers decide. */
void nn_lua_setlabels(lua_State *L, int arg);

/* --- nn.Matrix (nn_lua_matrix.c) ---------------------------------------- */

/* An "nn.Matrix": rows x cols float32, row-major, data in the same block. */
typedef struct nn_matrix {
  size_t rows, cols;
  float data[];         /* [rows][cols] */
} nn_matrix;

/* The matrix at arg (raises "nn.Matrix expected"), or NULL if not one. */
nn_matrix *nn_lua_checkmatrix(lua_State *L, int arg);
nn_matrix *nn_lua_tomatrix(lua_State *L, int arg);
/* Push a new zero-filled matrix; raises when too large or out of memory. */
nn_matrix *nn_lua_newmatrix(lua_State *L, size_t rows, size_t cols);

/* Register nn.Matrix into the module table on top. */
void nn_lua_open_matrix(lua_State *L);

/* --- threads (nn_lua_threads.c) ------------------------------------------ */

struct nn_pool;
/* nn.threads(): the state's count of threads for batches and training. */
size_t nn_lua_threads(lua_State *L);
/* The state's pool with threads for `workers` workers (fewer when the
** system refuses more); NULL when workers <= 1.  Raises on memory errors. */
struct nn_pool *nn_lua_pool(lua_State *L, size_t workers);
/* A count of threads at idx into *n: an integer in 1..64 or "auto" (the
** processors).  NULL, or the message saying what is wrong (pushed). */
const char *nn_lua_tothreads(lua_State *L, int idx, size_t *n);
/* nn.threads([n]), the Lua function.  Raises on a bad n. */
int nn_lua_threads_fn(lua_State *L);

/* --- a network over a batch (nn_lua_batch.c) ---------------------------- */

/* net:forward(X [, Y]) for an nn.Matrix X at 2: net the pinned block of
** the network at 1, Y at 3.  Leaves Y (a new one when 3 was nil) at 3, the
** top; returns 1.  Raises "table or nn.Matrix expected" for X of another
** type, and on shapes that do not fit. */
int nn_lua_forward_batch(lua_State *L, const nn_net *net);

/* net:classify(X [, labels]) for an nn.Matrix X at 2: net the pinned block
** of the network at 1, labels the stack index of a checked label table or
** 0.  Pushes labels, scores and Y; returns 3.  Raises as
** nn_lua_forward_batch on X. */
int nn_lua_classify_batch(lua_State *L, const nn_net *net, int labels);

/* --- nn.Network (nn_lua_net.c) ------------------------------------------ */

/* The handle of an nn.Network.  It holds no pointer to the network's
** layers and params, on purpose: the only way to them is nn_lua_pinnet.
**
** Why: net:add changes a network in place, and a userdata cannot grow, so
** add gives the network a new block and leaves the old one to the
** collector.  A finalizer may call add wherever Lua allocates, inside any
** method; a pointer into the block kept across an allocation could then
** point into freed memory.  One block that never moves would need add to
** return a new network, a change to the API; so instead the pinning is
** done in one place.  nn_lua_pinnet checks the type, pushes the block onto
** the stack and returns the net inside it: while that slot holds it, the
** block stays alive and unchanged, whatever happens to the network.  A
** method cannot forget to pin, since there is no other way in.
**
** The FFI path on LuaJIT (lua/nn/ffi.lua, nn_lua_ffi.c) pins the same way,
** from Lua: it keeps a reference to the block, and the number `changes`
** tells it when the network has adopted another block or label table. */
typedef struct nn_lnet {
  uint32_t changes;     /* bumped whenever user value 1 or 2 is replaced
                           (net:add, net:set_labels, ...): see nn_lua_ffi.c */
  int sequential;       /* listed as nn.Sequential by tostring */
  int64_t version_id;   /* nn_version.version_id it was saved as or loaded from, or 0 */
  int64_t labelmap_id;  /* nn_labelmap.labelmap_id of its labels, or 0 */
  uint64_t store_serial;/* the open store those ids belong to, or 0 */
} nn_lnet;

/* The handle of the network at arg, for its fields (nn_lnet); raises "bad
** argument #arg (nn.Network expected, got X)". */
nn_lnet *nn_lua_checknet(lua_State *L, int arg);
nn_lnet *nn_lua_tonet(lua_State *L, int arg);     /* NULL if not a network */

/* The network at arg, pinned: checks its type (raising as nn_lua_checknet,
** before the stack changes), sets the stack to top slots (as lua_settop;
** lua_gettop(L) keeps it; arg <= top), pushes the network's block at top +
** 1 and returns the net in it, valid while that slot holds the block.  *h,
** unless h is NULL, is the handle.  See nn_lnet for why this is the only
** way to a network's layers and params. */
nn_net *nn_lua_pinnet(lua_State *L, int arg, int top, nn_lnet **h);

/* Push a new network of laid-out layers with zeroed params, and above it
** its block, pinned as nn_lua_pinnet pins; returns the net in the block,
** and in *h (unless NULL) the handle.  Raises on memory or size errors
** (before allocating anything absurd). */
nn_net *nn_lua_newnet(lua_State *L, const nn_layer *layers /* [n] */,
                      size_t n, size_t n_params, int sequential, nn_lnet **h);

/* Join the n networks at stack indices first, first+1, ... into one new
** network (each part's parameters copied where its layers now sit), pushed
** with its block above it as nn_lua_newnet does; returns the net.  Raises
** (as argument arg) when they do not fit together. */
nn_net *nn_lua_join(lua_State *L, int first, int n, int sequential, int arg);

/* One forward pass, the one way net:forward, net:classify and store:classify
** run a sample: the Lua array at arg read as x (raises as nn_lua_readfloats
** does, naming it "x"), x and y in scratch (stack_buf or the work buffer:
** see nn_lua_scratch), y = net(x).  pass says where they are. */
typedef struct nn_lua_pass {
  const float *x, *y;   /* [n_x], [n_y] */
  size_t n_x, n_y;
} nn_lua_pass;
void nn_lua_forward(lua_State *L, const nn_net *net, int arg,
                    float *stack_buf /* [NN_STACK_FLOATS] */, nn_lua_pass *pass);

/* Push the label of pass's largest output (from the label table at labels,
** as nn_lua_pushlabel does) and its score; returns its index. */
size_t nn_lua_pushbest(lua_State *L, int labels, const nn_lua_pass *pass);

/* Register the Network type into the module table on top: its metatable,
** also as module.Network. */
void nn_lua_open_net(lua_State *L);

/* --- the FFI's way in (nn_lua_ffi.c) ------------------------------------ */

/* Register nn.core._ffi and nn.core._ffi_pin (lua/nn/ffi.lua uses them on
** LuaJIT) into the module table on top. */
void nn_lua_open_ffi(lua_State *L);

/* --- the constructors (nn_lua_layers.c) --------------------------------- */

/* Register the constructors of every layer kind, nn.Sequential, nn.seed and
** the list module.kinds of the kinds' names into the module table on top. */
void nn_lua_open_layers(lua_State *L);

/* --- training (nn_lua_train.c) ------------------------------------------ */

/* Register training: the criteria, nn.Trainer, and net:backward,
** net:get_params, net:set_params on nn.Network. */
void nn_lua_open_train(lua_State *L);

/* --- import and export (nn_lua_io.c) ------------------------------------ */

/* Register nn.import and net:export into the module table on top. */
void nn_lua_open_io(lua_State *L);

/* --- the file readers (nn_lua_data.c) ----------------------------------- */

/* Register the data readers, nn.read_idx, nn.read_fann_data, nn.read_csv,
** into the module table on top. */
void nn_lua_open_data(lua_State *L);

/* --- training histories (nn_lua_history.c) ------------------------------ */

/* The training run that the options of store:save at arg ask it to record
** (option training, a history from tr:fit, and source), in userdata pushed
** on the stack, which the caller keeps there until it has saved; NULL when
** there is none.  Raises, naming the field, on a history of the wrong shape
** or one that does not hold together (nn_store_check_run). */
const struct nn_train_run *nn_lua_checkrun(lua_State *L, struct nn_store *s, int arg);

/* Push run as the history tr:fit returns, every field but options (the
** caller reads their JSON and sets them). */
void nn_lua_pushhistory(lua_State *L, const struct nn_train_run *run);

/* Nested tables in a history's options, written and read back. */
#define NN_LUA_JSON_DEPTH  16

/* --- nn.Store (nn_lua_store.c) ------------------------------------------ */

/* Register the store type, nn.open and nn.Rows into the module table on top. */
void nn_lua_open_store(lua_State *L);

/* The store of the open nn.Store at arg; raises on anything else, and
** "attempt to use a closed nn.Store". */
struct nn_store *nn_lua_checkstore(lua_State *L, int arg);

/* --- the store's training data and runs (nn_lua_store_data.c) ----------- */

/* Register store:matrix, store:feedback_set and store:history on the
** store type; after nn_lua_open_store. */
void nn_lua_open_store_data(lua_State *L);

#endif
