/*
** nn_sql.c: nn_classify, nn_score and nn_forward, SQL functions over the
** models of an nn database (see nn_sql.h), and the entry point of the
** loadable extension build/nn0.so.
**
**   sqlite> .load ./build/nn0
**   sqlite> SELECT nn_classify('leaf_flower', 32, 107, 56, 11.2);
**   leaf
**
** A model reference is 'name', 'name@version', 'name:labelmap' or
** 'name@version:labelmap': the name runs to the first '@' or ':', so a
** model whose name holds either cannot be named here; the version is a
** positive integer; the label map name is the rest, whatever it holds.
** Without @version the latest version answers; without :labelmap, the map
** 'default' when the version has one that fits, else nn_classify answers
** the 1-based index of the winning output.  Inputs are n numbers (INTEGER
** or REAL) or one TEXT holding a JSON array of n numbers.  A NULL model or
** a NULL input gives NULL, as NULL does in arithmetic.
**
** What it is not: no arithmetic of its own (nn_forward does it) and no
** reading of blobs or JSON columns (nn_store.c's reader does, on a
** connection it borrows only while resolving a reference); nothing here
** writes to the database.
**
** The cache, one per connection: decoded versions by version_id (immutable,
** so decoded once), label maps in the connection's nn_labelcache (the
** store's, shared with its log and the binding, on a connection nn.open
** made; else one of the functions' own), and resolved
** references by their text, valid while the catalog (the versions and label
** maps) is unchanged.  A statement checks the catalog when it first calls a
** function and keeps the resolved reference as the auxiliary data of its
** constant model argument, so the rows after the first cost no lookup; a
** version saved by this connection or another is seen by the next
** statement.  When the catalog changes, the references are dropped, and so
** are the versions none of them used since the change before.
*/
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "formats/nn_json_read.h"
#include "sql/nn_sql.h"

#ifdef NN_SQLITE_EXTENSION
SQLITE_EXTENSION_INIT1
#endif

/* Only sqlite3_nn_init leaves build/nn0.so, whose objects are built with
** -fvisibility=hidden (a GNU extension, as is this attribute). */
#if defined(__GNUC__)
#define NN_EXPORT __attribute__((visibility("default")))
#else
#define NN_EXPORT
#endif

/* ------------------------------------------------------------------------
** The cache
*/

typedef struct sql_version {     /* one decoded version */
  struct sql_version *next;
  int64_t version_id;
  uint64_t used;                 /* epoch of the last reference to it */
  size_t scratch;                /* floats a forward pass needs: x, y, work */
  nn_net *net;                   /* laid out in the block after this struct */
} sql_version;

typedef struct sql_ref {         /* one resolved model reference */
  struct sql_ref *next;
  sql_version *v;
  nn_labelmap *map;              /* pinned; NULL: nn_classify answers the index */
  int labels;                    /* resolved for nn_classify: map decoded */
  size_t len;
  char text[];                   /* [len + 1], as written in SQL */
} sql_ref;

typedef struct nn_sql {          /* the functions' context, per connection */
  int n_funcs;                   /* functions registered with it */
  uint64_t gen;                  /* catalog generation refs were resolved in */
  uint64_t epoch;                /* +1 at every purge */
  nn_store store;                /* attached only while resolving */
  int provisional;               /* the cache holds what a write transaction
                                    read, which a rollback may take back */
  sql_ref *refs;
  sql_version *versions;
  nn_labelcache *maps;           /* the connection's: the store's, if any */
  float *scratch;                /* [cap] */
  size_t cap;
  nn_buf json;                   /* nn_forward's answer */
} nn_sql;

/* What a statement keeps on its constant model argument. */
typedef struct sql_aux {
  sql_ref *ref;
  uint64_t epoch;                /* stale once the cache was purged */
} sql_aux;

/* Drop every reference, then the versions that no reference used since the
** purge before: a new version does not cost the old ones their decoding,
** but what nobody asks for any more is not kept forever.  Label maps live in
** the connection's cache, which the references pin; all: forget those too. */
static void purge(nn_sql *q, int all) {
  sql_version **pv = &q->versions;
  while (q->refs) {
    sql_ref *r = q->refs;
    q->refs = r->next;
    if (r->map)
      r->map->pins--;
    free(r);
  }
  while (*pv) {
    sql_version *v = *pv;
    if (all || v->used < q->epoch) {
      *pv = v->next;
      free(v);
    } else
      pv = &v->next;
  }
  if (all)
    nn_labelcache_forget(q->maps);
  q->epoch++;
}

/* ------------------------------------------------------------------------
** Errors: "nn_score: no model named 'oak'", through sqlite3_result_error
*/

static void sql_error(sqlite3_context *ctx, const char *fn, const char *fmt, ...) {
  char msg[2 * NN_ERRMAX], *p;
  int n;
  va_list ap;
  n = snprintf(msg, sizeof msg, "%s: ", fn);
  p = msg + (n > 0 && (size_t)n < sizeof msg ? n : 0);
  va_start(ap, fmt);
  vsnprintf(p, sizeof msg - (size_t)(p - msg), fmt, ap);
  va_end(ap);
  sqlite3_result_error(ctx, msg, -1);
}

/* The first table of the store's missing from db, or NULL when none is (or
** the question cannot be asked). */
static const char *missing_table(sqlite3 *db) {
  static const char *const tables[] = { "nn_model", "nn_version", "nn_labelmap" };
  const char *missing = NULL;
  sqlite3_stmt *st = NULL;
  size_t i;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema"
                         " WHERE type = 'table' AND name = ?1", -1, &st, NULL) != SQLITE_OK)
    return NULL;
  for (i = 0; i < sizeof tables / sizeof tables[0] && !missing; i++) {
    sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE)
      missing = tables[i];
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return missing;
}

/* The store's message, or what makes sense of it on a database that is not
** an nn one ("no such table: nn_model" says too little). */
static void store_error(sqlite3_context *ctx, const char *fn, nn_store *s,
                        sqlite3 *db, int status) {
  const char *missing = status == NN_ERROR ? missing_table(db) : NULL;
  if (status == NN_ENOMEM)
    sqlite3_result_error_nomem(ctx);
  else if (missing)
    sql_error(ctx, fn, "not an nn database (no table %s)", missing);
  else
    sql_error(ctx, fn, "%s", s->err);
}

/* ------------------------------------------------------------------------
** Resolving a reference
*/

/* Split text (len bytes) into name, version (0: latest) and map (NULL:
** default), copied into names, which has len + 2 bytes. */
static int parse_ref(sqlite3_context *ctx, const char *fn, const char *text,
                     size_t len, char *names, const char **name,
                     int64_t *version, const char **map) {
  size_t i = strcspn(text, "@:");
  memcpy(names, text, i);
  names[i] = '\0';
  *name = names;
  *version = 0;
  *map = NULL;
  if (i == 0) {
    sql_error(ctx, fn, "model reference '%.100s' has no model name", text);
    return 0;
  }
  if (text[i] == '@') {
    size_t digits = 0;
    for (i++; text[i] >= '0' && text[i] <= '9'; i++, digits++) {
      if (*version > (INT64_MAX - 9) / 10)
        break;
      *version = 10 * *version + (text[i] - '0');
    }
    if (digits == 0 || *version == 0 || (text[i] != ':' && text[i] != '\0')) {
      sql_error(ctx, fn, "model reference '%.100s': the version after '@' must be a "
                "positive integer", text);
      return 0;
    }
  }
  if (text[i] == ':') {
    if (i + 1 == len) {
      sql_error(ctx, fn, "model reference '%.100s' has no label map name after ':'", text);
      return 0;
    }
    memcpy(names + i + 1, text + i + 1, len - i);   /* with its '\0' */
    *map = names + i + 1;
  }
  return 1;
}

/* The decoded version v, from the cache or read now.  0 with the error set
** on failure. */
static sql_version *get_version(nn_sql *q, sqlite3_context *ctx, const char *fn,
                                sqlite3 *db, const nn_store_version *v) {
  nn_store *s = &q->store;
  sql_version *sv;
  nn_layer *layers;
  size_t bytes;
  int rc;
  for (sv = q->versions; sv; sv = sv->next)
    if (sv->version_id == v->version_id && sv->net->n_layers == v->n_layers &&
        sv->net->n_params == v->n_params && sv->net->n_inputs == v->n_inputs &&
        sv->net->n_outputs == v->n_outputs)
      return sv;
  /* find_version checked every size against the engine's limits */
  bytes = nn_net_size(v->n_layers, v->n_params);
  layers = (nn_layer *)malloc(nn_store_layers_size(v->n_layers));
  sv = bytes ? (sql_version *)malloc(sizeof *sv + bytes) : NULL;
  if (!layers || !sv) {
    free(layers);
    free(sv);
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  if ((rc = nn_store_read_layers(s, v, layers)) != NN_OK) {
    store_error(ctx, fn, s, db, rc);
    free(layers);
    free(sv);
    return NULL;
  }
  sv->net = nn_net_init(sv + 1, layers, v->n_layers, v->n_params);
  free(layers);
  if ((rc = nn_store_read_params(s, v, sv->net->params)) != NN_OK) {
    store_error(ctx, fn, s, db, rc);
    free(sv);
    return NULL;
  }
  sv->version_id = v->version_id;
  sv->used = q->epoch;
  sv->scratch = v->n_inputs + v->n_outputs + nn_work_size(sv->net, v->n_inputs);
  sv->next = q->versions;
  q->versions = sv;
  return sv;
}

/* Resolve text (len bytes), once the cache holds this catalog's answers. */
static sql_ref *new_ref(nn_sql *q, sqlite3_context *ctx, const char *fn,
                        sqlite3 *db, const char *text, size_t len, int labels) {
  nn_store *s = &q->store;
  nn_store_version v;
  const char *name, *map;
  int64_t version, labelmap_id;
  size_t n_labels;
  sql_version *sv;
  const nn_labelmap *m = NULL;
  sql_ref *r = (sql_ref *)malloc(sizeof *r + len + 1);
  char *names = (char *)malloc(len + 2);
  int rc;
  if (!r || !names) {
    sqlite3_result_error_nomem(ctx);
    goto fail;
  }
  if (!parse_ref(ctx, fn, text, len, names, &name, &version, &map))
    goto fail;
  if ((rc = nn_store_find_version(s, name, version, &v)) != NN_OK) {
    store_error(ctx, fn, s, db, rc);
    goto fail;
  }
  labelmap_id = v.labelmap_id;
  n_labels = v.n_labels;
  if (map && (rc = nn_store_find_labelmap(s, v.version_id, map, &labelmap_id,
                                          &n_labels)) != NN_OK) {
    store_error(ctx, fn, s, db, rc);
    goto fail;
  }
  /* only nn_classify reads the labels: a map that cannot be read fails it
  ** alone */
  if (!(sv = get_version(q, ctx, fn, db, &v)))
    goto fail;
  if (labels && labelmap_id &&
      (rc = nn_store_labelmap(s, labelmap_id, &m)) != NN_OK) {
    store_error(ctx, fn, s, db, rc);
    goto fail;
  }
  sv->used = q->epoch;
  r->v = sv;
  r->map = (nn_labelmap *)m;
  if (r->map)
    r->map->pins++;   /* kept while the reference is */
  r->labels = labels;
  r->len = len;
  memcpy(r->text, text, len + 1);
  r->next = q->refs;
  q->refs = r;
  free(names);
  return r;
fail:
  free(names);
  free(r);
  return NULL;
}

/* The reference in arg, checked against the catalog as it is now.  NULL
** with the error set on failure. */
static sql_ref *resolve(nn_sql *q, sqlite3_context *ctx, const char *fn,
                        sqlite3_value *arg, int labels) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *text;
  size_t len;
  uint64_t gen;
  sql_ref *r = NULL;
  int rc, writing;
  if (sqlite3_value_type(arg) != SQLITE_TEXT) {
    sql_error(ctx, fn, "model must be text: 'name', 'name@version', 'name:labelmap'"
              " or 'name@version:labelmap'");
    return NULL;
  }
  text = (const char *)sqlite3_value_text(arg);
  len = (size_t)sqlite3_value_bytes(arg);
  if (!text) {
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  if (strlen(text) != len) {
    sql_error(ctx, fn, "model reference '%.100s' contains a zero byte", text);
    return NULL;
  }
  /* A view or trigger that shadows the nn tables can call us from inside
  ** the store's own queries, which must not run again under themselves. */
  if (q->store.db) {
    sql_error(ctx, fn, "called again while it reads the model (from a view or "
              "trigger over the nn tables?)");
    return NULL;
  }
  /* What a write transaction reads may be rolled back, and the ids it saw
  ** given again to other rows: inside one, and after one, decode afresh. */
  writing = sqlite3_txn_state(db, "main") == SQLITE_TXN_WRITE;
  if (writing || q->provisional)
    purge(q, 1);
  q->provisional = writing;
  nn_store_attach(&q->store, db, q->maps);
  if ((rc = nn_store_catalog(&q->store, &gen)) != NN_OK) {
    store_error(ctx, fn, &q->store, db, rc);
    goto done;
  }
  if (gen != q->gen) {
    purge(q, 0);
    q->gen = gen;
  }
  for (r = q->refs; r; r = r->next)
    if (r->len == len && memcmp(r->text, text, len) == 0 && r->labels >= labels)
      break;
  if (!r)
    r = new_ref(q, ctx, fn, db, text, len, labels);
done:
  nn_store_detach(&q->store);   /* no statement outlives the call */
  return r;
}

/* ------------------------------------------------------------------------
** Inputs
*/

enum { IN_OK, IN_NULL, IN_ERROR };

/* d as input i (1-based) into *x, or the error. */
static int take_number(sqlite3_context *ctx, const char *fn, size_t i, double d,
                       float *x) {
  if (!(d >= -FLT_MAX && d <= FLT_MAX)) {   /* also NaN */
    sql_error(ctx, fn, "input %zu is not a finite number", i);
    return IN_ERROR;
  }
  *x = (float)d;
  return IN_OK;
}

/* The JSON array of numbers in text into x (at most want of them); *n gets
** how many it holds.  An element that is a string, an array, an object,
** true, false or null, even a malformed one, is "not a number"; anything
** else wrong, the whole text is. */
static int json_inputs(sqlite3_context *ctx, const char *fn, const char *text,
                       size_t len, float *x /* [want] */, size_t want, size_t *n) {
  nn_json_reader r;
  nn_json_token t;
  nn_json_kind k;
  *n = 0;
  nn_json_init(&r, text, len, 0, 1);
  if (nn_json_next(&r, &t) != NN_JSON_ARRAY)
    goto malformed;
  while ((k = nn_json_peek(&r)) != NN_JSON_ARRAY_END) {
    float f;
    if (k != NN_JSON_NUMBER && k != NN_JSON_ERROR) {
      sql_error(ctx, fn, "input %zu is not a number", *n + 1);
      return IN_ERROR;
    }
    if (nn_json_next(&r, &t) != NN_JSON_NUMBER)
      goto malformed;
    if (take_number(ctx, fn, *n + 1, t.number, &f) != IN_OK)
      return IN_ERROR;
    if (*n < want)
      x[*n] = f;
    ++*n;
  }
  if (nn_json_next(&r, &t) == NN_JSON_ARRAY_END && nn_json_next(&r, &t) == NN_JSON_END)
    return IN_OK;
malformed:
  sql_error(ctx, fn, "input is not a JSON array of numbers");
  return IN_ERROR;
}

/* The n arguments at argv as the inputs of r into x. */
static int read_inputs(sqlite3_context *ctx, const char *fn, const sql_ref *r,
                       int n, sqlite3_value **argv, float *x /* [n_inputs] */) {
  size_t want = r->v->net->n_inputs, got = (size_t)n, i;
  int st = IN_OK;
  if (n == 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL)
    return IN_NULL;   /* no array, as from a NULL input column */
  if (n == 1 && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    if (!text) {
      sqlite3_result_error_nomem(ctx);
      return IN_ERROR;
    }
    if (json_inputs(ctx, fn, text, (size_t)sqlite3_value_bytes(argv[0]), x, want,
                    &got) != IN_OK)
      return IN_ERROR;
  }
  if (got != want) {
    sql_error(ctx, fn, "'%s' takes %zu input%s, got %zu", r->text, want,
              want == 1 ? "" : "s", got);
    return IN_ERROR;
  }
  if (n == 1 && sqlite3_value_type(argv[0]) == SQLITE_TEXT)
    return IN_OK;
  for (i = 0; i < want; i++)
    switch (sqlite3_value_type(argv[i])) {
    case SQLITE_INTEGER:
      x[i] = (float)sqlite3_value_int64(argv[i]);
      break;
    case SQLITE_FLOAT:
      if (take_number(ctx, fn, i + 1, sqlite3_value_double(argv[i]), &x[i]) != IN_OK)
        return IN_ERROR;
      break;
    case SQLITE_NULL:
      st = IN_NULL;   /* NULL, unless a later input is an error */
      break;
    default:
      sql_error(ctx, fn, "input %zu is not a number", i + 1);
      return IN_ERROR;
    }
  return st;
}

/* ------------------------------------------------------------------------
** The functions
*/

enum { F_CLASSIFY, F_SCORE, F_FORWARD };

static const char *const fn_names[] = { "nn_classify", "nn_score", "nn_forward" };

/* Whether every output is finite; if not, the error names the model, the
** inputs that gave it (the first four) and the output: NaN or infinity is
** no score, and so no label. */
static int outputs_finite(sqlite3_context *ctx, const char *fn, const sql_ref *r,
                          const float *x, size_t n_x, const float *y, size_t n_y,
                          int which) {
  size_t i = nn_nonfinite(y, n_y), k;
  char inputs[4 * 18 + 8];
  int at = 0;
  if (i == n_y)
    return 1;
  for (k = 0; k < n_x && k < 4; k++)
    at += snprintf(inputs + at, sizeof inputs - (size_t)at, "%s%.9g", k ? ", " : "",
                   (double)x[k]);
  if (n_x > 4)
    snprintf(inputs + at, sizeof inputs - (size_t)at, ", ...");
  sql_error(ctx, fn, "model '%.64s': the inputs [%s] give %s at output %zu, and an "
            "output that is not finite has no %s", r->text, inputs,
            nn_nonfinite_name(y[i]), i + 1, which == F_SCORE ? "score" : "label");
  return 0;
}

static void answer(sqlite3_context *ctx, int argc, sqlite3_value **argv, int which) {
  nn_sql *q = (nn_sql *)sqlite3_user_data(ctx);
  const char *fn = fn_names[which];
  sql_aux *aux = (sql_aux *)sqlite3_get_auxdata(ctx, 0);
  const nn_net *net;
  const sql_ref *r;
  float *x, *y;
  size_t best;
  int st;
  char err[NN_ERRMAX];
  if (argc < 1) {
    sql_error(ctx, fn, "expects a model and its inputs");
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  if (aux && aux->epoch == q->epoch)
    r = aux->ref;
  else {
    sql_aux *fresh;
    if (!(r = resolve(q, ctx, fn, argv[0], which == F_CLASSIFY)))
      return;
    /* Kept by SQLite while the argument is a constant, until the statement
    ** ends; set_auxdata may free it at once, so it is not used after. */
    if ((fresh = (sql_aux *)malloc(sizeof *fresh)) != NULL) {
      fresh->ref = (sql_ref *)r;
      fresh->epoch = q->epoch;
      sqlite3_set_auxdata(ctx, 0, fresh, free);
    }
  }
  net = r->v->net;
  if (r->v->scratch > q->cap) {
    float *p = (float *)realloc(q->scratch, r->v->scratch * sizeof *p);
    if (!p) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    q->scratch = p;
    q->cap = r->v->scratch;
  }
  x = q->scratch;
  y = x + net->n_inputs;
  if ((st = read_inputs(ctx, fn, r, argc - 1, argv + 1, x)) != IN_OK) {
    if (st == IN_NULL)
      sqlite3_result_null(ctx);
    return;
  }
  if (nn_check_input(net, x, 1, net->n_inputs, err) != NN_OK) {
    sql_error(ctx, fn, "'%s': %s", r->text, err);
    return;
  }
  nn_forward(net, y, x, net->n_inputs, y + net->n_outputs);
  if (which != F_FORWARD &&
      !outputs_finite(ctx, fn, r, x, net->n_inputs, y, net->n_outputs, which))
    return;
  best = nn_argmax(y, net->n_outputs);
  switch (which) {
  case F_CLASSIFY:
    if (r->map) {
      size_t len;
      const char *label = nn_labelmap_label(r->map, best, &len);
      sqlite3_result_text(ctx, label, (int)len, SQLITE_TRANSIENT);
    } else
      sqlite3_result_int64(ctx, (sqlite3_int64)best + 1);
    break;
  case F_SCORE:
    sqlite3_result_double(ctx, (double)y[best]);
    break;
  default:
    q->json.n = 0;
    if (nn_buf_json_floats(&q->json, y, net->n_outputs)) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    sqlite3_result_text(ctx, q->json.p, (int)q->json.n, SQLITE_TRANSIENT);
    sqlite3_result_subtype(ctx, 'J');   /* JSON to json_object() and friends */
  }
}

static void fn_classify(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  answer(ctx, argc, argv, F_CLASSIFY);
}

static void fn_score(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  answer(ctx, argc, argv, F_SCORE);
}

static void fn_forward(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  answer(ctx, argc, argv, F_FORWARD);
}

/* xDestroy of each function: the context goes with the last of them. */
static void release(void *p) {
  nn_sql *q = (nn_sql *)p;
  if (--q->n_funcs > 0)
    return;
  purge(q, 1);   /* the store is detached: it holds nothing */
  nn_labelcache_release(q->maps);
  free(q->scratch);
  nn_buf_free(&q->json);
  free(q);
}

/* Register on db, with maps (held) as the connection's label maps. */
static int register_on(sqlite3 *db, nn_labelcache *maps) {
  static void (*const funcs[])(sqlite3_context *, int, sqlite3_value **) = {
    fn_classify, fn_score, fn_forward
  };
  /* Not SQLITE_DETERMINISTIC: the same arguments answer differently once a
  ** version is saved, so no index or generated column may store an answer.
  ** Not SQLITE_INNOCUOUS: the answer depends on the database, not only on
  ** the arguments.  Not SQLITE_DIRECTONLY: views over them are welcome. */
  int flags = SQLITE_UTF8, rc = SQLITE_OK;
  size_t i;
  nn_sql *q = (nn_sql *)calloc(1, sizeof *q);
  if (!q) {
    nn_labelcache_release(maps);
    return SQLITE_NOMEM;
  }
  q->maps = maps;
  nn_store_init(&q->store);
  for (i = 0; i < sizeof funcs / sizeof funcs[0] && rc == SQLITE_OK; i++) {
    int f = flags;
#ifdef SQLITE_RESULT_SUBTYPE
    if (funcs[i] == fn_forward)
      f |= SQLITE_RESULT_SUBTYPE;
#endif
    q->n_funcs++;   /* release runs if registering fails, too */
    rc = sqlite3_create_function_v2(db, fn_names[i], -1, f, q, funcs[i], NULL, NULL,
                                    release);
  }
  /* what a tool that writes versions or label maps in SQL stores with them */
  return rc == SQLITE_OK ? nn_store_digest_functions(db, 1) : rc;
}

int nn_sql_register(sqlite3 *db) {
  nn_labelcache *maps = nn_labelcache_new();
  return maps ? register_on(db, maps) : SQLITE_NOMEM;
}

int nn_sql_register_store(nn_store *s) {
  int rc;
  if (!nn_store_is_open(s)) {
    snprintf(s->err, sizeof s->err, "the store is closed");
    return NN_ERROR;
  }
  nn_labelcache_hold(s->maps);
  if ((rc = register_on(s->db, s->maps)) != SQLITE_OK) {
    snprintf(s->err, sizeof s->err, "cannot register the SQL functions: %s",
             sqlite3_errstr(rc));
    return rc == SQLITE_NOMEM ? NN_ENOMEM : NN_ERROR;
  }
  return NN_OK;
}

/* For sqlite3_auto_extension in a host that links libnn (nn.h), and the
** extension's entry point once it has checked the library. */
int nn_sql_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  int rc;
  (void)api;
  if ((rc = nn_sql_register(db)) != SQLITE_OK && errmsg)
    *errmsg = sqlite3_mprintf("nn: cannot register its functions: %s", sqlite3_errstr(rc));
  return rc;
}

#ifdef NN_SQLITE_EXTENSION
/* The entry point SQLite derives from the file name nn0.so. */
NN_EXPORT int sqlite3_nn_init(sqlite3 *db, char **errmsg,
                              const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  /* sqlite3_total_changes64 came with 3.37: an older library has no such
  ** entry in api, and calling past its end would crash */
  if (sqlite3_libversion_number() < 3037000) {
    if (errmsg)
      *errmsg = sqlite3_mprintf("nn: needs SQLite 3.37 or later, not %s",
                                sqlite3_libversion());
    return SQLITE_ERROR;
  }
  return nn_sql_init(db, errmsg, api);
}
#endif
