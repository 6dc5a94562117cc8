/*
** nn_engine.h: the arithmetic of nn, for Lua and for C hosts alike.
**
** A network is a list of layers (Linear, ReLU, LeakyReLU, Sigmoid, Tanh,
** SoftMax, Identity, GELU, SiLU, Softplus, ELU, Standardize, LayerNorm,
** BatchNorm, Dropout, Embedding, EmbeddingBag, Input, Conv1d, Conv2d,
** MaxPool1d, MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten: the kinds of one
** table, nn_kind_info) over ONE contiguous float buffer of parameters; each
** layer with parameters is a view into it at an offset,
** its tensors one after another (Linear: weight [n_out][n_in] row-major,
** then bias [n_out]).  That is also the order in which the store writes them.
**
** This is not the Lua binding and not the store: it includes neither lua.h
** nor sqlite3.h, allocates nothing in a forward pass, and keeps no scratch
** in the network, so one network may be shared read-only between threads.
**
** A C host builds a network like this:
**
**   nn_layer arch[] = { NN_DENSE(4, 3), NN_ACT(NN_RELU),
**                       NN_DENSE(3, 2), NN_ACT(NN_SOFTMAX) };
**   char err[NN_ERRMAX];
**   nn_net *net = nn_net_new(arch, 4, err);        // NULL + message on error
**   memcpy(net->params, my_weights, net->n_params * sizeof(float));
**   float y[2], work[NN_WORK_MAX(4, 4)];           // or nn_work_size(net, 4)
**   nn_forward(net, y, x, 4, work);
**   size_t best = nn_argmax(y, 2);
**   nn_net_free(net);
**
** What to compile and link: every file of src/engine/ (the kinds, their
** backward passes, the kernels, fold, the statuses) and src/train/ (the
** trainer), C99 with any flags (no -march needed: the AVX2 and AVX-512
** kernels carry their own target attributes and run only where the
** processor has them), libm and POSIX threads (engine/nn_pool.h, the pool
** the batch passes and the trainer may run on):
**
**   cc -std=c99 -O2 -Isrc -Isrc/engine -c src/engine/nn_*.c src/train/nn_*.c
**   cc host.o nn_*.o -lm -pthread
**
** On other processors or compilers nn_kernel_x86.c compiles to nothing, and
** so does nn_kernel_neon.c but on AArch64 (where its set is always used);
** -DNN_GENERIC_ONLY leaves out both.
*/
#ifndef NN_ENGINE_H
#define NN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NN_VERSION  "0.1.0"
#define NN_ERRMAX   160          /* size of every error buffer */

/* Largest width and parameter count accepted: beyond these a size is a
** mistake, not a network, and we refuse it before allocating anything. */
#define NN_MAX_WIDTH   ((size_t)1 << 24)
#define NN_MAX_PARAMS  ((size_t)1 << 28)   /* 1 GiB of float32 */
#define NN_MAX_LAYERS  ((size_t)1 << 16)

/* The status of every C function of nn that can fail, in every layer (the
** engine, training, the formats, the store, the SQL functions): NN_OK, or
** what went wrong, with the words in the caller's error buffer
** (char err[NN_ERRMAX], or the store's).  The engine's codes keep the
** numbers they had for C hosts. */
typedef enum nn_status {
  NN_OK = 0,
  NN_ESIZE,         /* a size out of range, or one that would overflow */
  NN_EMISMATCH,     /* sizes or counts that do not fit each other */
  NN_ENOMEM,
  NN_EKIND,         /* no layer kind of that name or number */
  NN_ENOKERNEL,     /* nn_kernel_select: no kernel set of that name */
  NN_ECPU,          /* nn_kernel_select: this processor (or build) lacks it */
  NN_EDIVERGED,     /* a training step's loss, gradient or update is NaN or
                       infinite (an update: a weight it would leave so):
                       the weights and the optimizer's state are as before it */
  NN_EFORMAT,       /* a file that is not valid in its format: truncated, corrupt */
  NN_EUNSUPPORTED,  /* a valid file holding what nn cannot run (or write) */
  NN_EIO,           /* the file system failed: open, read, write, disk I/O */
  NN_ERROR,         /* the store: anything without a code of its own */
  NN_ECANTOPEN,     /* the store cannot open its file */
  NN_ENOTADB,       /* ... which is not a database */
  NN_ECORRUPT,
  NN_EBUSY,         /* locked past the busy timeout */
  NN_EREADONLY,
  NN_EFULL,
  NN_EFOREIGN,      /* a SQLite database, but not an nn one */
  NN_ESCHEMA,       /* written by a newer nn */
  NN_ENOTFOUND,     /* no such model, version, label map, prediction */
  NN_EINVALID,      /* a stored version refused on load */
  NN_STATUS_COUNT
} nn_status;

/* The short name nn.open returns as its third value for the environment
** failing ("cantopen", "notadb", "corrupt", "busy", "readonly", "ioerr",
** "full", "foreign", "schema"), "ok" for NN_OK, and "error" for any other. */
const char *nn_status_name(int status);

/* The built-in kinds, named for C hosts.  NN_KIND_COUNT is what
** nn_kind_from_name gives for an unknown name; a kind added to the table
** after the built-ins gets the next number after it (see nn_kind_info). */
typedef enum nn_kind {
  NN_LINEAR, NN_RELU, NN_LEAKYRELU, NN_SIGMOID, NN_TANH, NN_SOFTMAX,
  NN_IDENTITY, NN_KIND_COUNT,
  /* after the one that marks the end of the first ones, in the table's order */
  NN_GELU, NN_SILU, NN_SOFTPLUS, NN_ELU, NN_STANDARDIZE, NN_LAYERNORM,
  NN_BATCHNORM, NN_DROPOUT, NN_EMBEDDING, NN_EMBEDDINGBAG,
  NN_INPUT, NN_CONV1D, NN_CONV2D, NN_MAXPOOL1D, NN_MAXPOOL2D, NN_AVGPOOL2D,
  NN_GLOBALAVGPOOL, NN_FLATTEN,
  NN_ADD, NN_CONCAT, NN_BATCHNORM2D
} nn_kind;

typedef struct nn_layer {
  nn_kind kind;
  size_t n_in, n_out;   /* widths; an element-wise layer has n_in == n_out,
                           0 while no sized layer (Linear) fixes them */
  size_t w;             /* offset of the layer's parameters in params: its
                           tensors one after another, in the order of the
                           kind's descriptor (Linear: weight, then bias) */
  const float *hyper;   /* [the kind's n_hyper] its hyper-parameters, in the
                           order of the descriptor (LeakyReLU: hyper[0] =
                           alpha); NULL in a list given to nn_layout or
                           nn_net_new: the descriptor's defaults.  A net
                           keeps its own copy in its block. */
  uint32_t from[2];     /* what the layer reads (see "Graphs" below):
                           from[0] 0, the output of the layer before it (the
                           network's input for the first); from[1] 0, no
                           second input; else NN_FROM_INPUT or
                           NN_FROM_LAYER(j), j < this layer's index */
} nn_layer;

#define NN_DENSE(n_in, n_out)  { NN_LINEAR, (n_in), (n_out), 0, NULL, { 0, 0 } }
#define NN_ACT(kind)           { (kind), 0, 0, 0, NULL, { 0, 0 } }

/* --- graphs ---------------------------------------------------------------
** A network is a chain unless a layer says otherwise: a layer may read the
** network's input or the output of any layer before it (from[0]), and a
** join kind (Add, Concat: NN_KIND_JOIN) reads two (from[0], then from[1]),
** side by side as one input of both widths.  The values of a network are
** numbered: 0 the network's input, j + 1 the output of layer j (0-based);
** a from field holds a value + 1, so that 0 keeps meaning "the layer
** before", and every chain, literal or stored, stays what it was.
**
**   nn_layer arch[] = { NN_DENSE(4, 4), NN_ACT(NN_RELU),        // x -> h
**                       { NN_ADD, 0, 0, 0, NULL,                 // h + x
**                         { NN_FROM_LAYER(1), NN_FROM_INPUT } },
**                       NN_DENSE(4, 2) };
**
** Such a network's buffers are planned once, in nn_net_init: a value's
** buffer is reused once its last reader has run, so the passes allocate
** nothing (nn_work_size and nn_batch_work_size count the plan's buffers).
** A chain has no plan and keeps the chain's code path. */
#define NN_FROM_INPUT     ((size_t)1)
#define NN_FROM_LAYER(j)  ((size_t)(j) + 2)

/* --- layer kinds ----------------------------------------------------------
** Every kind is ONE descriptor in one table (nn_engine.c); the engine, the
** trainer, the formats, the binding, the store and the SQL functions ask it
** instead of naming kinds.  Adding a kind is adding one descriptor (and its
** arithmetic) in one file of src/engine/kinds/: see ARCHITECTURE.md,
** "Adding a layer kind". */

/* A hyper-parameter: a number fixed when the layer is made. */
typedef struct nn_hyper {
  const char *name;     /* the JSON field and the constructor argument */
  const char *what;     /* what messages call it ("slope") */
  double def;           /* its value when the constructor is not given one */
  double lo, hi;        /* valid values, bounds included */
  int integer;          /* 1: a whole number (kept exactly: below 2^24) */
  const char *onnx;     /* the ONNX attribute that carries it; NULL: none;
                           "" (NN_HYPER_TRAINING): only training reads it
                           (BatchNorm's momentum), so an ONNX graph, which
                           is inference, carries none at any value */
  const char *const *choices;   /* an integer one given by name too:
                                   choices[v] names v ("none", "tanh");
                                   NULL-terminated; NULL: numbers only */
} nn_hyper;

#define NN_HYPER_TRAINING  ""

/* A dimension of a parameter tensor: the layer's input width, its output
** width, or its hyper-parameter j (an integer one). */
#define NN_DIM_IN        (-1)
#define NN_DIM_OUT       (-2)
#define NN_DIM_HYPER(j)  (j)
/* The product of the m hyper-parameters j, j+1, ..., j+m-1 (m below 8):
** a convolution's in_channels * kernel_h * kernel_w. */
#define NN_DIM_PRODUCT(j, m)  (-16 - (j) * 8 - (m))

/* How a new layer's tensor is filled. */
typedef enum nn_init {
  NN_INIT_FAN_IN = 0,   /* uniform in +-1/sqrt(fan_in), from the random
                           stream: fan_in is the second dimension of the
                           kind's first tensor when that has two (Linear's
                           n_in, a convolution's in_channels * kernel), n_in
                           otherwise, as PyTorch initialises them */
  NN_INIT_ZEROS,
  NN_INIT_ONES,
  NN_INIT_NORMAL        /* normal(0, 1), PyTorch's Embedding: Box-Muller on two
                           numbers of the stream, in double, rounded to float */
} nn_init;

/* A parameter tensor of a kind, named as PyTorch names it ("weight",
** "bias", "running_mean"): its rank, its dimensions (NN_DIM_*), row-major,
** and its initialiser.  trained 0: a tensor the optimizer leaves alone
** (running statistics, which a kind's forward pass in training keeps). */
typedef struct nn_tensor_info {
  const char *name;
  int rank;             /* 1 or 2 */
  int dim[2];
  nn_init init;
  int trained;
} nn_tensor_info;

/* A node of a kind's ONNX pattern: its op_type and its inputs, each the
** layer's input (NN_ONNX_X), a float constant (NN_ONNX_K: k), the layer's
** tensor t as an initializer (NN_ONNX_T(t): Standardize's mean), or the
** output of node j of the pattern before it (j >= 0); NN_ONNX_NONE: no
** second input.  The last node's output is the layer's.  An Add or a Mul
** matches its inputs in either order. */
#define NN_ONNX_X     (-1)
#define NN_ONNX_K     (-2)
#define NN_ONNX_NONE  (-3)
#define NN_ONNX_T(t)  (-4 - (t))   /* the layer's tensor t, an initializer */
typedef struct nn_onnx_node {
  const char *op;
  signed char in[2];
  float k;
} nn_onnx_node;

/* The ONNX form of a kind, for the writer and the reader: one operator and
** one integer attribute it is written with (Gemm's transB = 1, Softmax's
** axis = -1; attr NULL: none), whose inputs after the data are the kind's
** tensors, in order, as initializers; or, where ONNX's opsets have no
** operator, the pattern of nodes PyTorch writes (n_nodes of nodes, op
** NULL; GELU: Div, Erf, Add, Mul, Mul).  op NULL and n_nodes 0: none.
** A hyper-parameter without an ONNX attribute is written only when it
** holds its default (the form is the default's). */
typedef struct nn_onnx_op {
  const char *op;
  const char *attr;
  long long value;
  size_t n_nodes;
  const nn_onnx_node *nodes;
} nn_onnx_op;

/* FANN's activation functions a kind is (FANN_SIGMOID is 3): the function
** number, NN_FANN_NONE when FANN has no such function, NN_FANN_LAYER for
** the kind that is FANN's layer itself (Linear). */
#define NN_FANN_NONE   (-1)
#define NN_FANN_LAYER  (-2)

/* flags */
#define NN_KIND_PROBS  1u   /* gives probabilities from logits (SoftMax): the
                               trainer fuses cross-entropy with it */
#define NN_KIND_GRAD_SET 2u /* backward WRITES its parameters' gradient
                               when panels->grad_set is 1 (see backward);
                               without it the trainer zeroes that part of
                               dparams first, and backward adds */
#define NN_KIND_BATCH  4u   /* its training pass takes statistics of the step's
                               whole batch (BatchNorm): the trainer runs a step
                               as one chunk of 2 to batch rows, and keeps the
                               untrained tensors it writes (nn_train_ctx's keep)
                               when the step succeeds */

/* What a pass in training tells a kind (NULL in nn_panels outside training:
** net:forward, evaluation, net:backward).  The trainer's one per layer. */
typedef struct nn_train_ctx {
  uint64_t key;         /* the trainer's seed and step, mixed: the key of a
                           counter-based generator (Dropout's mask) */
  size_t row0;          /* the place in the step's batch of the chunk's first row */
  size_t rows;          /* the chunk's samples (panels hold zeros past them) */
  float *keep;          /* laid out as the layer's params: where an
                           NN_KIND_BATCH kind writes its untrained tensors'
                           new values (running statistics); NULL: nowhere */
} nn_train_ctx;

/* Dropout's 24 random bits for (key, row, unit): below p * 2^24 the unit
** is dropped.  Exported so that a check may recompute a mask. */
uint64_t nn_dropout_bits(uint64_t key, uint64_t row, uint64_t unit);

#define NN_KIND_FIRST  8u   /* takes the network's input itself (ids, not
                               numbers a layer computed): only a first layer,
                               and no gradient flows to its input */

/* What a kind whose widths its hyper-parameters give (n_sizes 0, not
** element-wise) and whose input must hold certain values (ids) adds to
** its descriptor.  shape: its n_in and n_out from its hyper-parameters.
** check: the place (0..n_in-1) of the first value of x the kind cannot
** take, or n_in when every one is fine, and then what it must be in
** `what` ("a whole number from 0 to 999"); NULL: any number.  nn_check_input
** asks it of every row before any pass that takes input. */
typedef struct nn_kind_input {
  void (*shape)(const float *hyper, size_t *n_in, size_t *n_out);
  size_t (*check)(const float *x, size_t n_in, const float *hyper, char what[64]);
} nn_kind_input;

#define NN_KIND_JOIN  16u   /* reads two values (from[0], from[1]), given to
                               its passes side by side as one x of n_in =
                               the sum of their widths (nn_kind_join.c) */
#define NN_KIND_EQUAL 32u   /* a join whose two inputs have one width, which
                               is its output's (Add); else n_out = n_in */
#define NN_KIND_PANEL1 64u  /* a sized kind whose one-sample passes (nn_forward,
                               nn_trace) call forward_batch on one panel of
                               one sample (nr 1), its part the net's scratch:
                               NN_PART_FLOATS of the largest kernel set, then
                               2 n_in floats (nn_work_size counts them): a
                               convolution, a matrix product over patches */

/* A chunk of samples in the batch path (see forward_chunk in nn_engine.c):
** `count` panels of `nr` samples each, feature-major: panel p starts at
** p * stride * nr, and feature i of its sample c is at [i * nr + c]. */
typedef struct nn_panels {
  size_t count, nr, stride;
  const struct nn_kernel *kernel;   /* the kernel set of this pass */
  float *part;                      /* scratch: NN_PART_FLOATS(kernel) floats
                                       (nn_kernel.h) */
  /* A backward pass's, set by the trainer for each layer (NULL and 0 in a
  ** forward pass): */
  const float *shared;  /* what the kind's prepare made of the layer's
                           parameters for this call, read only; NULL for a
                           kind without prepare, and where dx is NULL */
  int grad_set;         /* 1: dparams holds nothing of this call yet, and a
                           kind with NN_KIND_GRAD_SET writes its gradient
                           there (=) instead of adding it */
  const nn_train_ctx *train;        /* NULL: not training */
} nn_panels;

/* The shape of the values a layer takes or gives, one sample's, in the
** order PyTorch lays them out (NCHW without the N): rank 1, a flat row of
** d[0]; rank 2, d[0] channels of d[1] values (Conv1d's); rank 3, d[0]
** channels of d[1] x d[2] (height x width).  The dimensions past the rank
** are 1.  Rank 0: not known (nothing before the layer says). */
typedef struct nn_shape {
  size_t rank, d[3];
} nn_shape;

typedef struct nn_kind_info {
  const char *name;     /* as the API and the arch JSON spell it: "LeakyReLU" */
  const char *c_name;   /* as C and other files spell it: "leaky_relu" (the
                           ONNX writer's initializers, "linear_1.weight") */
  /* The shape rule and the constructor's arity: n_sizes size arguments
  ** (2: n_in and n_out, "in"/"out" in JSON; 1: n, n_in = n_out = n, "n";
  ** 0: the width of the layer before), then the hyper-parameters.
  ** elementwise 1 (n_sizes 0): n_out == n_in, computed in place. */
  int elementwise;
  int n_sizes;
  size_t n_hyper;
  const nn_hyper *hyper;            /* [n_hyper] */
  /* The parameters: tensors one after another at params + layer.w. */
  size_t n_tensors;
  const nn_tensor_info *tensors;    /* [n_tensors] */
  /* One sample: y = layer(x), params the layer's own (net->params + l->w).
  ** An element-wise kind is called with y == x (in place); NULL: y = x
  ** (Identity), a layer that the passes and fold skip. */
  void (*forward)(float *y /* [n_out] */, const float *x /* [n_in] */,
                  const float *params, const float *hyper,
                  size_t n_in, size_t n_out);
  /* A chunk of panels: y = layer(x), each panel [n_out][nr] from [n_in][nr].
  ** An element-wise kind is called with y == x.  NULL, for an element-wise
  ** kind only: forward on the n*nr floats of each panel. */
  void (*forward_batch)(float *y, const float *x, const float *params,
                        const float *hyper, size_t n_in, size_t n_out,
                        const nn_panels *panels);
  /* Training, on the chunk of panels of a forward pass: from dy, the
  ** layer's input x and output y (each [n][nr] a panel), writes dx (unless
  ** NULL) and ADDS the gradient of the parameters to dparams (laid out like
  ** params; unused by a kind without), or writes it when the kind has
  ** NN_KIND_GRAD_SET and panels->grad_set is 1.  dx may be dy for an
  ** element-wise kind.  work: work_size(n_in, n_out, rows) floats of the
  ** chunk's own scratch; panels->shared: prepare's part (below).  NULL:
  ** the kind cannot be trained through. */
  void (*backward)(float *dx, float *dparams, const float *dy,
                   const float *x, const float *y,
                   const float *params, const float *hyper,
                   size_t n_in, size_t n_out, const nn_panels *panels,
                   float *work);
  /* Floats of scratch backward needs on a chunk of at most rows samples,
  ** with any kernel set, from the layer's hyper-parameters (a
  ** convolution's geometry) and widths; NULL: none. */
  size_t (*work_size)(const float *hyper, size_t n_in, size_t n_out, size_t rows);
  nn_onnx_op onnx;
  int fann;             /* FANN's function number, NN_FANN_NONE or NN_FANN_LAYER */
  unsigned flags;       /* NN_KIND_* */
  /* Training, once a call (a step, net:backward) before its chunks: what
  ** backward needs of the parameters alone, not of the rows (Linear: W^T),
  ** which prepare writes from the layer's params into shared_size(n_in,
  ** n_out) floats, on the caller's thread, for only the layers whose dx the
  ** call asks; every chunk's backward reads it as panels->shared.  NULL,
  ** NULL: nothing per call. */
  size_t (*shared_size)(size_t n_in, size_t n_out);
  void (*prepare)(float *shared, const float *params, const float *hyper,
                  size_t n_in, size_t n_out);
  const nn_kind_input *input;   /* NULL: widths from the sizes or the layer
                                   before, and any number for input */
  /* The shape rule of a kind over images (nn_kind_conv.c, nn_kind_pool.c);
  ** NULL for a kind of flat rows, whose sizes are its widths.  From the
  ** input's shape *in and the hyper-parameters, the output's into *out;
  ** NN_OK, or a status and the reason in why (the layout adds the layer).
  ** in->rank 0: nothing before the layer says; the kind puts the shape it
  ** takes alone into *in (Input's own; a convolution's kept one).  keep,
  ** when not NULL, is the layer's own copy of its hyper-parameters, where
  ** the rule keeps what of the input's shape its forward pass reads (the
  ** layout of a net calls it so, once its hyper-parameters are copied). */
  int (*shape)(const float *hyper, nn_shape *in, nn_shape *out, float *keep,
               char why[NN_ERRMAX]);
} nn_kind_info;

/* The descriptor of a kind; NULL when there is no such kind. */
const nn_kind_info *nn_kind_info_of(nn_kind kind);
/* One past the largest kind number: loop over 0..nn_kind_end()-1 and skip
** the numbers nn_kind_info_of gives NULL for. */
nn_kind nn_kind_end(void);
/* Parameters of one laid-out layer (0 for a kind without). */
size_t nn_layer_n_params(const nn_layer *l);
/* Tensor t of the laid-out layer l: its dimensions into dims[2] (a rank-1
** tensor's second is 1), its offset from the layer's parameters into *at;
** the number of its floats. */
size_t nn_tensor_shape(const nn_layer *l, size_t t, size_t dims[2], size_t *at);
/* The number of the tensor of that name in the kind's descriptor, or
** n_tensors when it has none of that name. */
size_t nn_tensor_find(const nn_kind_info *d, const char *name);
/* The kind whose descriptor's ONNX operator, or FANN function, is that;
** NN_KIND_COUNT when none is. */
nn_kind nn_kind_from_onnx(const char *op);
nn_kind nn_kind_from_fann(int fn);
/* The most hyper-parameters any kind has (a net's block keeps that many
** for each layer). */
size_t nn_hyper_most(void);

typedef struct nn_net {
  size_t n_layers;
  size_t n_params;
  size_t n_inputs, n_outputs;  /* 0: no Linear, any width goes through */
  size_t max_width;            /* widest layer input or output */
  nn_layer *layers;            /* [n_layers] */
  float *params;               /* [n_params] */
  size_t sized_end;            /* one past the last sized layer (0: none, or
                                  a graph), the one nn_forward writes
                                  straight into y: laid out once, not looked
                                  for every call */
  /* The plan of a graph (0 and NULL for a chain): buffers of the passes,
  ** the buffer of each value ([n_layers + 1]), and each value's last
  ** reader (the layer index; n_layers for the output). */
  size_t n_slots;
  size_t *slot;
  size_t *last;
  size_t scratch;              /* floats of the one-sample passes' scratch
                                  (0 without an NN_KIND_PANEL1 layer) */
} nn_net;

/* Value v + 1 that input k (0 or 1) of layer i reads (0: the network's
** input, j + 1: layer j's output); 0 when the layer has no input k. */
size_t nn_layer_input(const nn_layer *l, size_t i, size_t k);
/* 1 when some layer of layers [n] reads another value than the output of
** the layer before it: a graph, not a chain. */
int nn_layers_graph(const nn_layer *layers, size_t n);

/* Name of a kind as the Lua API spells it ("Linear", "ReLU", ...; "?" when
** there is no such kind), and back (NN_KIND_COUNT when the name is unknown). */
const char *nn_kind_name(nn_kind kind);
nn_kind nn_kind_from_name(const char *name);

/* Check a list of layers and fill in what follows from it: the widths of
** element-wise layers, every Linear's offset, the parameter count.  Fails
** with NN_ESIZE (a size of 0, or too large) or NN_EMISMATCH (a Linear whose
** input is not the width before it), naming the layer (1-based) in err. */
int nn_layout(nn_layer *layers /* [n] */, size_t n, size_t *n_params,
              char err[NN_ERRMAX]);

/* The shape of the net's input (*in) and of each layer's output
** (out[i]): images where a kind over images says so (nn_kind_conv.c), flat
** rows of their width otherwise; rank 0 for the input of a net that takes
** any width. */
struct nn_net;
void nn_net_shapes(const struct nn_net *net, nn_shape *in,
                   nn_shape *out /* [net->n_layers] */);

/* Bytes of the single block that holds a net, its layers and its params;
** 0 when that would overflow.  nn_net_init lays a net out in such a block
** (any alignment malloc or lua_newuserdata gives), copies the laid-out layers
** and zeroes the params. */
size_t nn_net_size(size_t n_layers, size_t n_params);
nn_net *nn_net_init(void *block, const nn_layer *layers /* [n] laid out */,
                    size_t n, size_t n_params);

/* For C hosts: nn_layout + malloc + nn_net_init; NULL and err on failure. */
nn_net *nn_net_new(const nn_layer *layers /* [n] */, size_t n,
                   char err[NN_ERRMAX]);
void nn_net_free(nn_net *net);

/* Whether every one of rows rows of X (n_x floats apart) is input the
** net's first layer takes (an Embedding's ids): NN_OK, or NN_EMISMATCH and
** err naming the layer, the row (1-based), the place in it (1-based) and
** the value.  NN_OK at once for a net whose first layer takes any number.
** Every caller that takes input asks this before the pass. */
int nn_check_input(const nn_net *net, const float *X, size_t rows, size_t n_x,
                   char err[NN_ERRMAX]);

/* Floats of scratch nn_forward needs for an input of n_x numbers.
** NN_WORK_MAX gives it at compile time for a net without a convolution
** (whose one-sample pass needs scratch of its own: nn_work_size). */
size_t nn_work_size(const nn_net *net, size_t n_x);
#define NN_WORK_MAX(max_width, n_x) \
  (2 * ((max_width) > (n_x) ? (max_width) : (n_x)))

/* The forward pass: y = net(x).  n_x must be net->n_inputs (any, when the
** net has no Linear); y has net->n_outputs floats (n_x when 0).  work has
** nn_work_size(net, n_x) floats.  x and y may overlap each other (even be
** one array), but not work. */
void nn_forward(const nn_net *net, float *y /* [n_out] */,
                const float *x /* [n_x] */, size_t n_x,
                float *work /* [nn_work_size] */);

/* A batch: row r of Y = net(row r of X), for n_rows rows stored one after
** another (row-major, n_x floats a row in X, net->n_outputs, or n_x when 0,
** a row in Y).  The result of each row is that of nn_forward within float
** rounding (sums may be taken in another order).  work has
** nn_batch_work_size(net, n_rows, n_x) floats; none of X, Y and work may
** overlap another.
** Rows go through the net NN_BATCH_ROWS at a time, so work stops growing
** with n_rows beyond that: about 2 * NN_BATCH_ROWS * max_width floats plus
** one panel of packed weights.  No alignment is needed of any pointer. */
#define NN_BATCH_ROWS  128
size_t nn_batch_work_size(const nn_net *net, size_t n_rows, size_t n_x);
void nn_forward_batch(const nn_net *net, float *Y /* [n_rows][n_out] */,
                      const float *X /* [n_rows][n_x] */, size_t n_rows,
                      size_t n_x, float *work /* [nn_batch_work_size] */);

/* The same, keeping every layer's output: out holds the layers' outputs one
** after another, layer i's at offsets[i] (nn_trace_size floats in all). */
size_t nn_trace_size(const nn_net *net, size_t n_x);
void nn_trace(const nn_net *net, float *out /* [nn_trace_size] */,
              size_t *offsets /* [n_layers + 1] */,
              const float *x /* [n_x] */, size_t n_x);

/* The kernels behind every Linear layer and every activation come in
** sets: "generic" (portable C), "avx2" (AVX2 + FMA) and "avx512"
** (AVX-512F), the x86 ones only in builds for x86-64 with gcc or clang.
** The best set this processor and its OS support is chosen when the
** library is loaded.  nn_kernel_name gives
** the set in use; nn_kernel_select forces one by name (NULL: the best
** again) and returns NN_OK, NN_ENOKERNEL (no such name) or NN_ECPU (not
** supported here), leaving the choice unchanged on error.  The choice is
** process-wide and unsynchronised: never change it while another thread
** may be in a forward pass.  Every set gives the same results within float
** rounding; Tanh, Sigmoid and SoftMax's exp within the few units in the
** last place that src/nn_kernel.h states, of double precision and of each
** other, and a batch the same bits as one sample. */
const char *nn_kernel_name(void);
int nn_kernel_select(const char *name);

/* Index of the largest value (the first one on ties); 0 when n is 0.
** A NaN is never larger than anything: check nn_nonfinite first. */
size_t nn_argmax(const float *y /* [n] */, size_t n);

/* Index of the first value of y that is NaN or infinite, or n when every
** one is finite: an output that is not finite is no score, and the
** callers that classify or log refuse it, naming it. */
size_t nn_nonfinite(const float *y /* [n] */, size_t n);

/* "NaN", "inf" or "-inf": a value that is not finite, as messages name it. */
const char *nn_nonfinite_name(float v);

/* Fill every layer's tensors as its kind's descriptor says (Linear's:
** uniform numbers in +-1/sqrt(n_in)), the random ones drawn from a
** splitmix64 stream whose state the caller keeps, tensor by tensor. */
void nn_init_uniform(nn_net *net, uint64_t *rng_state);
void nn_init_layer(nn_net *net, size_t layer, uint64_t *rng_state);

/* The next number of that splitmix64 stream (training shuffles with it). */
uint64_t nn_splitmix64(uint64_t *state);

/* Little-endian float32 <-> params, for files and blobs on any host. */
void nn_params_to_le(unsigned char *out /* [4 n] */, const float *p, size_t n);
void nn_params_from_le(float *p /* [n] */, const unsigned char *in, size_t n);

/* FNV-1a 64 of bytes: the checksum the store keeps beside each blob. */
uint64_t nn_fnv1a64(const void *data, size_t n);

#ifdef __cplusplus
}
#endif

#endif
