/*
** nn_fann.c: FANN .net files to and from nn_net (see nn_fann.h).
**
** The reader reads the file as libfann does, as text, but keeps only the
** layer sizes, the neurons and the connections (the training settings
** mean nothing to a forward pass; neither does the scaling libfann keeps
** for fann_scale_input, which fann_run does not apply).  It never reads past
** the bytes it is given and allocates nothing a count in the file asks for
** before the bytes behind that count are known to be there.
**
** Not libfann: no training settings are kept, and nothing is guessed.
*/
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_fann.h"
#include "formats/nn_ftoa.h"

enum {
  F_LINEAR = 0, F_THRESHOLD, F_THRESHOLD_SYMMETRIC, F_SIGMOID, F_SIGMOID_STEPWISE,
  F_SIGMOID_SYMMETRIC, F_SIGMOID_SYMMETRIC_STEPWISE, F_GAUSSIAN, F_GAUSSIAN_SYMMETRIC,
  F_GAUSSIAN_STEPWISE, F_ELLIOT, F_ELLIOT_SYMMETRIC, F_LINEAR_PIECE,
  F_LINEAR_PIECE_SYMMETRIC, F_SIN_SYMMETRIC, F_COS_SYMMETRIC, F_SIN, F_COS, F_COUNT
};

static const char *const fn_names[F_COUNT] = {
  "FANN_LINEAR", "FANN_THRESHOLD", "FANN_THRESHOLD_SYMMETRIC", "FANN_SIGMOID",
  "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_SYMMETRIC", "FANN_SIGMOID_SYMMETRIC_STEPWISE",
  "FANN_GAUSSIAN", "FANN_GAUSSIAN_SYMMETRIC", "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",
  "FANN_ELLIOT_SYMMETRIC", "FANN_LINEAR_PIECE", "FANN_LINEAR_PIECE_SYMMETRIC",
  "FANN_SIN_SYMMETRIC", "FANN_COS_SYMMETRIC", "FANN_SIN", "FANN_COS"
};

/* --- reading text -------------------------------------------------------- */

typedef struct cursor {
  const char *p, *end;
} cursor;

static void skip_space(cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' ||
                           *c->p == '\r'))
    c->p++;
}

static int expect(cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
  return 0;
}

/* An unsigned decimal of at most 9 digits (below 10^9: any count nn takes). */
static int read_uint(cursor *c, size_t *v) {
  size_t x = 0;
  int digits = 0;
  skip_space(c);
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    if (++digits > 9) return 0;
    x = x * 10 + (size_t)(*c->p++ - '0');
  }
  *v = x;
  return digits > 0;
}

/* A float as C's strtof reads it in the "C" locale: the text is copied and
** its '.' turned into the locale's decimal point, as Lua does for numbers. */
static int read_float(cursor *c, float *v) {
  char buf[64], *endp;
  const char *dp = localeconv()->decimal_point;
  size_t n = 0;
  skip_space(c);
  while (c->p + n < c->end && n < sizeof buf - 1 &&
         strchr("0123456789+-.eEinfatyINFATY", c->p[n]) != NULL && c->p[n] != '\0')
    n++;
  if (n == 0 || n == sizeof buf - 1) return 0;
  memcpy(buf, c->p, n);
  buf[n] = '\0';
  if (dp[0] != '.' && dp[0] != '\0' && dp[1] == '\0') {
    char *d = strchr(buf, '.');
    if (d) *d = dp[0];
  }
  *v = strtof(buf, &endp);
  if (endp != buf + n) return 0;
  c->p += n;
  return 1;
}

/* The value of "key=" in the file: the rest of its line.  Keys are looked
** for at the start of a line. */
static int find_key(const char *data, size_t n, const char *key, cursor *value) {
  size_t k = strlen(key), i = 0;
  while (i < n) {
    size_t eol = i;
    while (eol < n && data[eol] != '\n') eol++;
    if (eol - i > k && memcmp(data + i, key, k) == 0 && data[i + k] == '=') {
      value->p = data + i + k + 1;
      value->end = data + eol;
      return 1;
    }
    i = eol + 1;
  }
  return 0;
}


/* --- building the net ---------------------------------------------------- */

typedef struct neuron {
  size_t n_in;
  size_t fn;
  float steep;
} neuron;

typedef struct fann_file {
  size_t n_layers;
  size_t *sizes;        /* [n_layers], bias included */
  size_t n_neurons;
  neuron *neurons;      /* [n_neurons] */
  size_t n_conns;
  size_t *from;         /* [n_conns] */
  float *weight;        /* [n_conns] */
} fann_file;

static int fail(char *err, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, NN_ERRMAX, fmt, ap);
  va_end(ap);
  return status;
}

#define CORRUPT(err, what) \
  fail((err), NN_EFORMAT, "not a FANN file: %s is missing or corrupt", (what))

static int parse_sizes(fann_file *f, cursor *c, size_t n, char *err) {
  size_t i;
  if (f->n_layers < 2 || f->n_layers > n / 2)
    return fail(err, NN_EFORMAT, "not a FANN file: num_layers %zu is not between 2 and "
                "the file's size", f->n_layers);
  if ((f->sizes = (size_t *)malloc(f->n_layers * sizeof(size_t))) == NULL)
    return fail(err, NN_ENOMEM, "not enough memory");
  f->n_neurons = 0;
  for (i = 0; i < f->n_layers; i++) {
    if (!read_uint(c, &f->sizes[i])) return CORRUPT(err, "layer_sizes");
    if (f->sizes[i] < 2 || f->sizes[i] - 1 > NN_MAX_WIDTH)
      return fail(err, NN_EUNSUPPORTED, "layer %zu has %zu neurons (bias included): "
                  "nn takes 1 to 16777216 and a bias", i + 1, f->sizes[i]);
    f->n_neurons += f->sizes[i];
  }
  /* every neuron takes at least "(0, 0, 0) ": more than the file can hold? */
  if (f->n_neurons > n / 8)
    return CORRUPT(err, "the neurons");
  return NN_OK;
}

static int parse_neurons(fann_file *f, cursor c, size_t n, char *err) {
  size_t i;
  f->neurons = (neuron *)malloc(f->n_neurons * sizeof(neuron));
  if (f->neurons == NULL) return fail(err, NN_ENOMEM, "not enough memory");
  f->n_conns = 0;
  for (i = 0; i < f->n_neurons; i++) {
    neuron *ne = &f->neurons[i];
    if (!expect(&c, '(') || !read_uint(&c, &ne->n_in) || !expect(&c, ',') ||
        !read_uint(&c, &ne->fn) || !expect(&c, ',') || !read_float(&c, &ne->steep) ||
        !expect(&c, ')'))
      return CORRUPT(err, "the neurons");
    f->n_conns += ne->n_in;
    if (f->n_conns > n / 6) return CORRUPT(err, "the connections");
  }
  return NN_OK;
}

static int parse_connections(fann_file *f, cursor *c, int old, char *err) {
  size_t i;
  f->from = (size_t *)malloc((f->n_conns + 1) * sizeof(size_t));
  f->weight = (float *)malloc((f->n_conns + 1) * sizeof(float));
  if (f->from == NULL || f->weight == NULL)
    return fail(err, NN_ENOMEM, "not enough memory");
  for (i = 0; i < f->n_conns; i++)
    if (!expect(c, '(') || !read_uint(c, &f->from[i]) || (!old && !expect(c, ',')) ||
        !read_float(c, &f->weight[i]) || !expect(c, ')'))
      return CORRUPT(err, "the connections");
  return NN_OK;
}

/* Neuron first + j of layer l (0-based), in a layer of function fn: one
** that nn runs exactly, or the error naming it. */
static int check_neuron(const fann_file *f, size_t first, size_t j, size_t l, size_t fn,
                        char *err) {
  const neuron *ne = &f->neurons[first + j];
  double s = ne->steep;
  if (ne->fn >= F_COUNT)
    return fail(err, NN_EFORMAT, "neuron %zu (layer %zu): activation function "
                "%zu does not exist in FANN", first + j, l + 1, ne->fn);
  if (ne->fn != F_LINEAR && nn_kind_from_fann((int)ne->fn) == NN_KIND_COUNT)
    return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): %s has no exact "
                "equal in nn", first + j, l + 1, fn_names[ne->fn]);
  if (ne->fn != fn)
    return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): %s in a layer of "
                "%s, and nn gives a layer one function", first + j, l + 1,
                fn_names[ne->fn], fn_names[fn]);
  if (!(s >= 0.0 && s <= NN_FANN_MAX_STEEPNESS))
    return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): %s of steepness %g, where libfann's "
               "clip is not within 1e-5 of nn (0 to %g are)", first + j, l + 1,
               fn_names[ne->fn], s, NN_FANN_MAX_STEEPNESS);
  return NN_OK;
}

/* The nn layers of the parsed file into layers [2 * n_layers]: each FANN
** layer a Linear and its function. */
static int plan_layers(const fann_file *f, nn_layer *layers, size_t *n_layers, char *err) {
  size_t l, j, k, first = f->sizes[0];
  int st;
  *n_layers = 0;
  for (k = 0; k < f->sizes[0]; k++)
    if (f->neurons[k].n_in != 0)
      return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer 1): an input neuron with "
                  "%zu inputs", k, f->neurons[k].n_in);
  for (l = 1; l < f->n_layers; first += f->sizes[l], l++) {
    size_t fn = f->neurons[first].fn;
    for (j = 0; j + 1 < f->sizes[l]; j++)
      if ((st = check_neuron(f, first, j, l, fn, err)) != NN_OK) return st;
    if (f->neurons[first + f->sizes[l] - 1].n_in != 0)
      return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): a bias neuron with "
                  "inputs", first + f->sizes[l] - 1, l + 1);
    layers[(*n_layers)++] = (nn_layer)NN_DENSE(f->sizes[l - 1] - 1, f->sizes[l] - 1);
    /* the kind the kind table gives that function (none for FANN_LINEAR) */
    if (fn != F_LINEAR) layers[(*n_layers)++] = (nn_layer)NN_ACT(nn_kind_from_fann((int)fn));
  }
  return NN_OK;
}

/* The connections of neuron first + j (layer l, 0-based) into row j of W
** [n_out][n_in] and b [n_out], folded with its steepness, starting at
** connection *conn; seen [n_in + 1] marks the inputs already connected. */
static int fill_neuron(const fann_file *f, size_t first, size_t first_prev, size_t j,
                       size_t l, size_t n_in, float *w, float *b, unsigned char *seen,
                       size_t *conn, char *err) {
  const neuron *ne = &f->neurons[first + j];
  double s = ne->fn == F_SIGMOID ? 2.0 * ne->steep : ne->steep;
  size_t k;
  memset(seen, 0, n_in + 1);
  for (k = 0; k < ne->n_in; k++, (*conn)++) {
    size_t from = f->from[*conn];
    double v = s * f->weight[*conn];
    if (from < first_prev || from > first_prev + n_in || seen[from - first_prev])
      return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): a connection from "
                  "neuron %zu, which is not %s", first + j, l + 1, from,
                  from >= first_prev && from <= first_prev + n_in ?
                  "the only one from there" : "in the layer before");
    if (!isfinite(f->weight[*conn]) || !(fabs(v) <= 3.4028234663852886e38))
      return fail(err, NN_EUNSUPPORTED, "neuron %zu (layer %zu): a weight that is "
                  "not a finite float", first + j, l + 1);
    seen[from - first_prev] = 1;
    if (from == first_prev + n_in) b[j] = (float)v;
    else w[j * n_in + (from - first_prev)] = (float)v;
  }
  return NN_OK;
}

/* The weights of the parsed file into net's Linear layers, neuron by
** neuron. */
static int fill_weights(const fann_file *f, nn_net *net, char *err) {
  size_t l, j, li = 0, conn = 0, first_prev = 0, first = f->sizes[0];
  unsigned char *seen = NULL;
  int st = NN_OK;
  for (l = 1; l < f->n_layers && st == NN_OK; first_prev = first, first += f->sizes[l], l++, li++) {
    size_t n_in = f->sizes[l - 1] - 1;
    const nn_layer *lay;
    float *w;
    while (nn_kind_info_of(net->layers[li].kind)->fann != NN_FANN_LAYER) li++;
    lay = &net->layers[li];
    w = net->params + lay->w;
    free(seen);
    if ((seen = (unsigned char *)calloc(n_in + 1, 1)) == NULL) {
      st = fail(err, NN_ENOMEM, "not enough memory");
      break;
    }
    for (j = 0; j + 1 < f->sizes[l] && st == NN_OK; j++)
      st = fill_neuron(f, first, first_prev, j, l, n_in, w, w + lay->n_out * n_in, seen,
                       &conn, err);
  }
  free(seen);
  return st;
}

/* The nn network of the parsed file, its weights folded with the
** steepness of each neuron. */
static int build(const fann_file *f, nn_net **out, char *err) {
  nn_layer *layers = (nn_layer *)malloc(2 * f->n_layers * sizeof(nn_layer));
  size_t n_layers;
  nn_net *net = NULL;
  int st;
  if (layers == NULL) return fail(err, NN_ENOMEM, "not enough memory");
  st = plan_layers(f, layers, &n_layers, err);
  if (st == NN_OK && (net = nn_net_new(layers, n_layers, err)) == NULL) st = NN_EUNSUPPORTED;
  if (st == NN_OK) st = fill_weights(f, net, err);
  if (st == NN_OK) {
    *out = net;
    net = NULL;
  }
  nn_net_free(net);
  free(layers);
  return st;
}

/* FANN_FLO_1.1: "num_layers learning_rate connection_rate network_type
** fn_hidden fn_output steepness_hidden steepness_output", the layer sizes,
** each neuron's count of inputs, then "(from weight)" connections. */
static int read_1_1(fann_file *f, cursor c, size_t n, char *err) {
  size_t type, fn_h, fn_o, i, first = 0, l;
  float lr, cr, s_h, s_o;
  int st;
  if (!read_uint(&c, &f->n_layers) || !read_float(&c, &lr) || !read_float(&c, &cr) ||
      !read_uint(&c, &type) || !read_uint(&c, &fn_h) || !read_uint(&c, &fn_o) ||
      !read_float(&c, &s_h) || !read_float(&c, &s_o))
    return CORRUPT(err, "the settings line");
  if (type != 0)
    return fail(err, NN_EUNSUPPORTED, "network_type %zu is not supported (0, layered, "
                "is)", type);
  if ((st = parse_sizes(f, &c, n, err)) != NN_OK) return st;
  if ((f->neurons = (neuron *)malloc(f->n_neurons * sizeof(neuron))) == NULL)
    return fail(err, NN_ENOMEM, "not enough memory");
  f->n_conns = 0;
  for (l = 0; l < f->n_layers; first += f->sizes[l], l++)
    for (i = first; i < first + f->sizes[l]; i++) {
      neuron *ne = &f->neurons[i];
      if (!read_uint(&c, &ne->n_in)) return CORRUPT(err, "the neurons");
      ne->fn = l + 1 == f->n_layers ? fn_o : fn_h;
      ne->steep = l + 1 == f->n_layers ? s_o : s_h;
      f->n_conns += ne->n_in;
      if (f->n_conns > n / 4) return CORRUPT(err, "the connections");
    }
  return parse_connections(f, &c, 1, err);
}

int nn_fann_read(const unsigned char *data, size_t n, nn_net **out, char err[NN_ERRMAX]) {
  const char *text = (const char *)data;
  fann_file f;
  cursor c;
  size_t eol = 0, type = 0;
  int st;
  memset(&f, 0, sizeof f);
  *out = NULL;
  while (eol < n && eol < 32 && text[eol] != '\n') eol++;
  c.p = text + eol;
  c.end = text + n;
  if (eol == 12 && memcmp(text, "FANN_FLO_1.1", 12) == 0) {
    st = read_1_1(&f, c, n, err);
  } else if (eol == 12 && (memcmp(text, "FANN_FLO_2.1", 12) == 0 ||
                           memcmp(text, "FANN_FLO_2.0", 12) == 0)) {
    if (!find_key(text, n, "num_layers", &c) || !read_uint(&c, &f.n_layers)) {
      st = CORRUPT(err, "num_layers");
    } else if (!find_key(text, n, "network_type", &c) || !read_uint(&c, &type)) {
      st = CORRUPT(err, "network_type");
    } else if (type != 0) {
      st = fail(err, NN_EUNSUPPORTED, "network_type %zu is not supported (0, layered, "
                "is)", type);
    } else if (!find_key(text, n, "layer_sizes", &c)) {
      st = CORRUPT(err, "layer_sizes");
    } else if ((st = parse_sizes(&f, &c, n, err)) != NN_OK) {
      /* st */
    } else if (!find_key(text, n, "neurons (num_inputs, activation_function, "
                         "activation_steepness)", &c)) {
      st = CORRUPT(err, "the neurons");
    } else if ((st = parse_neurons(&f, c, n, err)) != NN_OK) {
      /* st */
    } else if (!find_key(text, n, "connections (connected_to_neuron, weight)", &c)) {
      st = CORRUPT(err, "the connections");
    } else {
      st = parse_connections(&f, &c, 0, err);
    }
  } else if (eol >= 9 && memcmp(text, "FANN_FIX_", 9) == 0) {
    st = fail(err, NN_EUNSUPPORTED, "fixed-point FANN files are not supported "
              "(float files are)");
  } else {
    st = fail(err, NN_EFORMAT, "not a FANN file of a version nn reads (FANN_FLO_2.1, "
              "2.0 or 1.1)");
  }
  if (st == NN_OK) st = build(&f, out, err);
  free(f.sizes);
  free(f.neurons);
  free(f.from);
  free(f.weight);
  return st;
}


/* --- writing ------------------------------------------------------------- */

typedef struct text {
  char *p;
  size_t n, cap;
  int failed;
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->failed) return;
  if (n > t->cap - t->n) {
    size_t cap = t->cap ? t->cap : 4096;
    char *p;
    while (cap - t->n < n) {
      if (cap > ((size_t)-1) / 2) { t->failed = 1; return; }
      cap *= 2;
    }
    if ((p = (char *)realloc(t->p, cap)) == NULL) { t->failed = 1; return; }
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->n, s, n);
  t->n += n;
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_float(text *t, float v) {
  char s[NN_FTOA_MAX];
  put(t, s, nn_ftoa(s, v));
}

static void put_uint(text *t, size_t v) {
  char s[32];
  int k = snprintf(s, sizeof s, "%zu", v);
  put(t, s, (size_t)k);
}

/* The settings libfann 2.2 saves for a new network: fann_create_from_file
** wants every one of them, in this order. */
static const char settings[] =
  "learning_rate=0.700000\nconnection_rate=1.000000\nnetwork_type=0\n"
  "learning_momentum=0.000000\ntraining_algorithm=2\ntrain_error_function=1\n"
  "train_stop_function=0\ncascade_output_change_fraction=0.010000\n"
  "quickprop_decay=-0.000100\nquickprop_mu=1.750000\nrprop_increase_factor=1.200000\n"
  "rprop_decrease_factor=0.500000\nrprop_delta_min=0.000000\nrprop_delta_max=50.000000\n"
  "rprop_delta_zero=0.100000\ncascade_output_stagnation_epochs=12\n"
  "cascade_candidate_change_fraction=0.010000\ncascade_candidate_stagnation_epochs=12\n"
  "cascade_max_out_epochs=150\ncascade_min_out_epochs=50\ncascade_max_cand_epochs=150\n"
  "cascade_min_cand_epochs=50\ncascade_num_candidate_groups=2\nbit_fail_limit=0.35\n"
  "cascade_candidate_limit=1000\ncascade_weight_multiplier=0.4\n"
  "cascade_activation_functions_count=10\n"
  "cascade_activation_functions=3 5 7 8 10 11 14 15 16 17 \n"
  "cascade_activation_steepnesses_count=4\n"
  "cascade_activation_steepnesses=0.25 0.5 0.75 1 \n";

/* Each Linear of net into lin [n_layers], the FANN function of the one
** activation after it into fn: the FANN layers, or the error naming the
** module FANN cannot hold. */
static int plan_write(const nn_net *net, const nn_layer **lin, size_t *fn, size_t *n_lin,
                      char *err) {
  size_t i;
  *n_lin = 0;
  for (i = 0; i < net->n_layers; i++) {
    const nn_layer *l = &net->layers[i];
    int f = nn_kind_info_of(l->kind)->fann;   /* the kind table's */
    if (f == NN_FANN_LAYER) {
      lin[*n_lin] = l;
      fn[(*n_lin)++] = F_LINEAR;
    } else if (f == F_LINEAR) {
      continue;          /* y = x: FANN's linear function, every layer's own */
    } else if (f < 0 || f >= F_COUNT) {
      return fail(err, NN_EUNSUPPORTED, "module %zu: nn.%s has no FANN activation "
                  "function", i + 1, nn_kind_name(l->kind));
    } else if (*n_lin == 0 || fn[*n_lin - 1] != F_LINEAR) {
      return fail(err, NN_EUNSUPPORTED, "module %zu: nn.%s %s, and FANN gives each "
                  "layer one function", i + 1, nn_kind_name(l->kind),
                  *n_lin == 0 ? "before any nn.Linear" : "after another function");
    } else {
      fn[*n_lin - 1] = (size_t)f;
    }
  }
  if (*n_lin == 0)
    return fail(err, NN_EUNSUPPORTED, "a network without nn.Linear has no FANN "
                "layers");
  return NN_OK;
}

/* The header and the neurons of the FANN layers lin [n_lin], functions fn. */
static void put_neurons(text *t, const nn_layer *const *lin, const size_t *fn, size_t n_lin) {
  static const char *const steep[] = { "1", "", "", "0.5", "", "1" };
  size_t k, j;
  puts_(t, "FANN_FLO_2.1\nnum_layers=");
  put_uint(t, n_lin + 1);
  puts_(t, "\n");
  puts_(t, settings);
  puts_(t, "layer_sizes=");
  put_uint(t, lin[0]->n_in + 1);
  for (k = 0; k < n_lin; k++) { puts_(t, " "); put_uint(t, lin[k]->n_out + 1); }
  puts_(t, " \nscale_included=0\n");
  puts_(t, "neurons (num_inputs, activation_function, activation_steepness)=");
  for (j = 0; j <= lin[0]->n_in; j++) puts_(t, "(0, 0, 0) ");
  for (k = 0; k < n_lin; k++) {
    for (j = 0; j < lin[k]->n_out; j++) {
      puts_(t, "(");
      put_uint(t, lin[k]->n_in + 1);
      puts_(t, ", ");
      put_uint(t, fn[k]);
      puts_(t, ", ");
      puts_(t, steep[fn[k]]);
      puts_(t, ") ");
    }
    puts_(t, "(0, 0, 0) ");
  }
}

/* The connections of the FANN layers lin [n_lin]: every input and the bias
** neuron of the layer before, to each neuron. */
static void put_connections(text *t, const nn_net *net, const nn_layer *const *lin,
                            size_t n_lin) {
  size_t k, j, i, first_prev = 0, first = lin[0]->n_in + 1;
  puts_(t, "\nconnections (connected_to_neuron, weight)=");
  for (k = 0; k < n_lin; first_prev = first, first += lin[k]->n_out + 1, k++) {
    const nn_layer *l = lin[k];
    const float *w = net->params + l->w, *b = w + l->n_out * l->n_in;
    for (j = 0; j < l->n_out; j++) {
      for (i = 0; i <= l->n_in; i++) {
        puts_(t, "(");
        put_uint(t, first_prev + i);
        puts_(t, ", ");
        put_float(t, i < l->n_in ? w[j * l->n_in + i] : b[j]);
        puts_(t, ") ");
      }
    }
  }
  puts_(t, "\n");
}

int nn_fann_write(const nn_net *net, unsigned char **out, size_t *n, char err[NN_ERRMAX]) {
  text t = { NULL, 0, 0, 0 };
  size_t n_lin = 0;
  size_t *fn = (size_t *)malloc((net->n_layers + 1) * sizeof(size_t));
  const nn_layer **lin = (const nn_layer **)malloc((net->n_layers + 1) * sizeof *lin);
  int st = NN_OK;
  *out = NULL;
  *n = 0;
  if (fn == NULL || lin == NULL) st = fail(err, NN_ENOMEM, "not enough memory");
  if (st == NN_OK && net->n_slots)
    st = fail(err, NN_EUNSUPPORTED, "a FANN file holds a chain of layers, not a graph "
              "(nn.Residual, nn.Concat, nn.Graph)");
  if (st == NN_OK) st = plan_write(net, lin, fn, &n_lin, err);
  if (st == NN_OK) {
    put_neurons(&t, lin, fn, n_lin);
    put_connections(&t, net, lin, n_lin);
    if (t.failed) st = fail(err, NN_ENOMEM, "not enough memory");
  }
  if (st == NN_OK) {
    *out = (unsigned char *)t.p;
    *n = t.n;
    t.p = NULL;
  }
  free(t.p);
  free(fn);
  free(lin);
  return st;
}
