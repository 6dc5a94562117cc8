/*
** nn_pgext_model.c: the models of the store, read through SPI, built with
** the engine, cached per backend (see nn_pgext_model.h).
**
** The check: the first call of a statement at each call site runs one
** small prepared query (the model's latest version id, or the pinned one,
** and the label map that fits it) and keeps the answer in flinfo->fn_extra,
** which lives as long as the statement: every later row of the statement
** costs a comparison of the reference's bytes.  A new version saved in
** any session is seen by the next statement that starts after its commit,
** as a STABLE function must.
**
** The cache: one entry per reference text, holding the network built from
** the version's architecture (formats/nn_arch.c, the reader of the text
** the store writes) and weights (their FNV-1a checksum and the version's
** digest checked, formats/nn_digest.c), and the label map's labels (their
** digest checked), all in a memory context of the entry's own under
** one that lives as long as the backend.  When the check finds another
** version or map for a reference, its entry's context is deleted and the
** entry built again; an epoch counter, bumped at every deletion, tells a
** statement that a pointer it kept is stale.
*/
#include "postgres.h"

#include <inttypes.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "formats/nn_arch.h"
#include "formats/nn_digest.h"
#include "formats/nn_json_read.h"
#include "pgext/nn_pgext_model.h"

char *nn_pgx_schema = NULL;

static MemoryContext models_cx;   /* every entry's context is under it */
static nn_pgx_model *models;
static uint64 epoch;              /* +1 at every entry deleted */
static char *plans_schema;        /* the schema the plans were made for */
static SPIPlanPtr plan_find, plan_version, plan_labels;
static bool reading;              /* inside current(): not to be entered again */

/* What a call site keeps for its statement. */
typedef struct site {
  nn_pgx_model *m;
  uint64 epoch;
  int len, cap;
  char ref[FLEXIBLE_ARRAY_MEMBER];
} site;

/* The reference split: name, version (0: the latest), map. */
typedef struct parsed {
  char *name;
  int64 version;
  const char *map;
  int default_map;                /* no ':map' given: 'default' if it fits */
} parsed;

/* ------------------------------------------------------------------------
** The reference
*/

static void parse_ref(const char *fn, const char *text, parsed *p) {
  size_t i = strcspn(text, "@:");
  p->name = pnstrdup(text, i);
  p->version = 0;
  p->map = "default";
  p->default_map = 1;
  if (i == 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s: model reference '%.100s' has no model name", fn, text)));
  if (text[i] == '@') {
    size_t digits = 0;
    for (i++; text[i] >= '0' && text[i] <= '9'; i++, digits++) {
      if (p->version > (INT64_MAX - 9) / 10)
        break;
      p->version = 10 * p->version + (text[i] - '0');
    }
    if (digits == 0 || p->version == 0 || (text[i] != ':' && text[i] != '\0'))
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: model reference '%.100s': the version after '@' must "
                             "be a positive integer", fn, text)));
  }
  if (text[i] == ':') {
    if (text[i + 1] == '\0')
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: model reference '%.100s' has no label map name after "
                             "':'", fn, text)));
    p->map = text + i + 1;
    p->default_map = 0;
  }
}

/* ------------------------------------------------------------------------
** The queries, prepared once per backend and schema
*/

static SPIPlanPtr prepare(const char *fmt, int nargs, Oid *types) {
  const char *s = quote_identifier(nn_pgx_schema);
  char *sql = psprintf(fmt, s, s, s, s);
  SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
  if (!plan)
    elog(ERROR, "nn: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  SPI_keepplan(plan);
  return plan;
}

/* Every entry deleted, as when the schema changes. */
static void forget_all(void) {
  while (models) {
    nn_pgx_model *m = models;
    models = m->next;
    MemoryContextDelete(m->cx);
  }
  epoch++;
}

/* The store's tables are there, or an error saying which is not. */
static void check_store(const char *fn) {
  static const char *const tables[] = { "nn_model", "nn_version", "nn_labelmap" };
  Oid types[1] = { TEXTOID };
  size_t i;
  for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char *name = psprintf("%s.%s", quote_identifier(nn_pgx_schema), tables[i]);
    Datum arg[1] = { CStringGetTextDatum(name) };
    bool isnull;
    if (SPI_execute_with_args("SELECT to_regclass($1) IS NOT NULL", 1, types, arg, NULL,
                              true, 1) != SPI_OK_SELECT ||
        !DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
                                    &isnull)))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("%s: not an nn database (no table %s)", fn, name),
                      errhint("nn.schema is '%s'", nn_pgx_schema)));
  }
}

static void make_plans(const char *fn) {
  Oid find[3] = { TEXTOID, INT8OID, TEXTOID }, one[1] = { INT8OID };
  if (plans_schema && strcmp(plans_schema, nn_pgx_schema) == 0)
    return;
  if (plans_schema) {
    SPI_freeplan(plan_find);
    SPI_freeplan(plan_version);
    SPI_freeplan(plan_labels);
    pfree(plans_schema);
    plans_schema = NULL;
    forget_all();
  }
  check_store(fn);
  plan_find = prepare(
    "SELECT m.model_id, v.version_id, v.version, v.n_outputs,"
    " (SELECT l.labelmap_id FROM %1$s.nn_labelmap AS l WHERE l.model_id = m.model_id"
    "   AND l.name = $3 AND jsonb_array_length(l.labels::jsonb) = v.n_outputs"
    "   ORDER BY l.labelmap_id DESC LIMIT 1),"
    " (SELECT jsonb_array_length(l.labels::jsonb) FROM %1$s.nn_labelmap AS l"
    "   WHERE l.model_id = m.model_id AND l.name = $3 ORDER BY l.labelmap_id DESC LIMIT 1)"
    " FROM %1$s.nn_model AS m LEFT JOIN LATERAL (SELECT version_id, version, n_outputs"
    "   FROM %1$s.nn_version WHERE model_id = m.model_id AND ($2 = 0 OR version = $2)"
    "   ORDER BY version DESC LIMIT 1) AS v ON true"
    " WHERE m.name = $1", 3, find);
  plan_version = prepare("SELECT arch, n_inputs, n_outputs, n_params, weights, checksum,"
                         " version, digest FROM %1$s.nn_version WHERE version_id = $1", 1,
                         one);
  plan_labels = prepare("SELECT labels, name, digest FROM %1$s.nn_labelmap"
                        " WHERE labelmap_id = $1", 1, one);
  plans_schema = MemoryContextStrdup(TopMemoryContext, nn_pgx_schema);
}

static int64 int_at(int col, bool *isnull) {
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
  return *isnull ? 0 : DatumGetInt64(d);
}

/* The version and label map the reference means now. */
static void find(const char *fn, const char *ref, const parsed *p, int64 *version_id,
                 int64 *labelmap_id) {
  Datum args[3] = { CStringGetTextDatum(p->name), Int64GetDatum(p->version),
                    CStringGetTextDatum(p->map) };
  bool null_version, null_map, null_latest;
  int64 n_outputs, latest, version;
  if (SPI_execute_plan(plan_find, args, NULL, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "%s: the query of model '%s' failed", fn, p->name);
  if (SPI_processed == 0)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("%s: no model named '%s'", fn, p->name)));
  *version_id = int_at(2, &null_version);
  if (null_version && p->version)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("%s: model '%s' has no version %" PRId64, fn, p->name,
                           p->version)));
  if (null_version)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("%s: model '%s' has no versions", fn, p->name)));
  version = int_at(3, &null_version);
  n_outputs = int_at(4, &null_version);
  *labelmap_id = int_at(5, &null_map);
  latest = int_at(6, &null_latest);
  if (!null_map || p->default_map)
    return;
  if (null_latest)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("%s: model '%s' has no label map '%s'", fn, p->name, p->map)));
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("%s: label map '%s' has %" PRId64 " labels, model '%s' version %"
                         PRId64 " has %" PRId64 " outputs (in '%s')", fn, p->map, latest,
                         p->name, version, n_outputs, ref)));
}

/* ------------------------------------------------------------------------
** Building an entry, in its own context
*/

static void invalid(const char *fn, const char *name, int64 version, const char *what) {
  ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                  errmsg("%s: model '%s' version %" PRId64 ": %s", fn, name, version,
                         what)));
}

/* Column col of the one row as text (copied into the current context). */
static char *text_at(int col, size_t *len) {
  bool isnull;
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
  text *t;
  if (isnull)
    return NULL;
  t = DatumGetTextPP(d);
  *len = VARSIZE_ANY_EXHDR(t);
  return pnstrdup(VARDATA_ANY(t), *len);
}

/* The layers of the architecture arch, laid out and checked against the
** row's sizes (in, out, params). */
static nn_layer *layers_of(const char *fn, const parsed *p, int64 version, const char *arch,
                           size_t len, const int64 sizes[3], size_t *n) {
  size_t most = nn_hyper_most(), max = 1, n_params, i, n_in = 0, n_out = 0;
  nn_layer *layers;
  float *hyper;
  char err[NN_ERRMAX];
  for (i = 0; i < len; i++)   /* no more layers than objects */
    max += arch[i] == '{';
  layers = palloc(max * sizeof *layers);
  hyper = palloc0((max * most + 1) * sizeof *hyper);
  if (nn_arch_read(arch, len, layers, hyper, max, n, err) != NN_OK ||
      nn_layout(layers, *n, &n_params, err) != NN_OK)
    invalid(fn, p->name, version, err);
  for (i = 0; i < *n; i++)
    if (!nn_kind_info_of(layers[i].kind)->elementwise) {
      if (!n_in)
        n_in = layers[i].n_in;
      n_out = layers[i].n_out;
    }
  if (!n_in)
    invalid(fn, p->name, version, "architecture has no Linear layer");
  if ((int64)n_in != sizes[0] || (int64)n_out != sizes[1] || (int64)n_params != sizes[2])
    invalid(fn, p->name, version, psprintf("n_inputs, n_outputs and n_params are %" PRId64
                                           ", %" PRId64 ", %" PRId64 "; its architecture "
                                           "has %zu, %zu, %zu", sizes[0], sizes[1],
                                           sizes[2], n_in, n_out, n_params));
  return layers;
}

/* The digest of the version in SPI's one row (column 8) against its
** bytes, laid out as every store lays it out (formats/nn_digest.h), over
** the model's name; DATA_CORRUPTED naming the version when they disagree. */
static void check_digest(const char *fn, const parsed *p, int64 version, const char *arch,
                         const int64 sizes[3], bytea *w) {
  size_t len = 0;
  char *stored = text_at(8, &len), actual[NN_SHA256_HEX];
  nn_digest_model m;
  m.name = p->name;
  m.name_len = strlen(p->name);
  m.id = 0;
  nn_digest_version(actual, &m, version, arch, strlen(arch), sizes[0], sizes[1], sizes[2],
                    VARDATA_ANY(w), VARSIZE_ANY_EXHDR(w));
  if (!stored || strcmp(stored, actual) != 0)
    invalid(fn, p->name, version, "its architecture, sizes or weights disagree with its"
                                  " digest (changed outside nn?)");
}

/* The network of the version in SPI's one row, built in the current
** context. */
static nn_net *net_of(const char *fn, const parsed *p) {
  size_t len = 0, n;
  bool isnull;
  int64 sizes[3] = { int_at(2, &isnull), int_at(3, &isnull), int_at(4, &isnull) };
  int64 version = int_at(7, &isnull);
  char *arch = text_at(1, &len), *checksum = text_at(6, &len), actual[17];
  bytea *w = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
                                           5, &isnull));
  nn_layer *layers = layers_of(fn, p, version, arch, strlen(arch), sizes, &n);
  nn_net *net;
  if ((int64)VARSIZE_ANY_EXHDR(w) != 4 * sizes[2])
    invalid(fn, p->name, version, "the weights' length is not 4 * n_params");
  snprintf(actual, sizeof actual, "%016" PRIx64,
           nn_fnv1a64(VARDATA_ANY(w), VARSIZE_ANY_EXHDR(w)));
  if (!checksum || strcmp(checksum, actual) != 0)
    invalid(fn, p->name, version, psprintf("checksum is %.16s, the weights hash to %s",
                                           checksum ? checksum : "NULL", actual));
  check_digest(fn, p, version, arch, sizes, w);
  net = nn_net_init(palloc(nn_net_size(n, (size_t)sizes[2])), layers, n, (size_t)sizes[2]);
  nn_params_from_le(net->params, (const unsigned char *)VARDATA_ANY(w), (size_t)sizes[2]);
  return net;
}

/* The digest of the label map in SPI's one row (its name in column 2,
** its digest in 3) against its labels json, over the model's name. */
static void check_map_digest(const char *fn, const parsed *p, const char *json, size_t len) {
  size_t name_len = 0, digest_len = 0;
  char *name = text_at(2, &name_len), *stored = text_at(3, &digest_len);
  char actual[NN_SHA256_HEX];
  nn_digest_model m;
  m.name = p->name;
  m.name_len = strlen(p->name);
  m.id = 0;
  nn_digest_labelmap(actual, &m, name ? name : "", name_len, json, len);
  if (!stored || strcmp(stored, actual) != 0)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                    errmsg("%s: model '%s' label map '%s': its labels disagree with its"
                           " digest (changed outside nn?)", fn, p->name, name ? name : "")));
}

/* The labels of the JSON array text into m. */
static void labels_of(const char *fn, nn_pgx_model *m, const char *json, size_t len) {
  nn_json_reader r;
  nn_json_token t;
  m->labels = palloc0(m->net->n_outputs * sizeof *m->labels);
  nn_json_init(&r, json, len, 0, 2);
  if (nn_json_next(&r, &t) == NN_JSON_ARRAY)
    for (m->n_labels = 0; nn_json_next(&r, &t) == NN_JSON_STRING; m->n_labels++) {
      const char *s = t.s;
      char *out = palloc(t.n + 4);
      size_t k = 0;
      if (m->n_labels == m->net->n_outputs)
        break;
      while (s < t.s + t.n)
        k += nn_json_unescape(out + k, t.n + 4 - k, &s, t.s + t.n);
      out[k] = '\0';
      m->labels[m->n_labels] = out;
    }
  if (m->n_labels != m->net->n_outputs || t.kind != NN_JSON_ARRAY_END)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                    errmsg("%s: label map %" PRId64 " is not a JSON array of %zu labels",
                           fn, m->labelmap_id, m->net->n_outputs)));
}

/* A new entry for ref, read now.  Every SPI call returns in SPI's own
** context, which SPI_finish frees: the entry's context is made current
** again after each. */
static nn_pgx_model *build(const char *fn, const char *ref, const parsed *p,
                           int64 version_id, int64 labelmap_id) {
  MemoryContext cx = AllocSetContextCreate(models_cx, "nn model", ALLOCSET_SMALL_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cx);
  nn_pgx_model *m = palloc0(sizeof *m);
  Datum arg[1];
  PG_TRY();
  {
    m->cx = cx;
    m->ref = pstrdup(ref);
    m->version_id = version_id;
    m->labelmap_id = labelmap_id;
    arg[0] = Int64GetDatum(version_id);
    if (SPI_execute_plan(plan_version, arg, NULL, true, 1) != SPI_OK_SELECT ||
        SPI_processed != 1)
      elog(ERROR, "%s: version %" PRId64 " of model '%s' vanished", fn, version_id,
           p->name);
    MemoryContextSwitchTo(cx);   /* SPI returns in its own context */
    m->net = net_of(fn, p);
    if (labelmap_id) {
      size_t len = 0;
      char *json;
      arg[0] = Int64GetDatum(labelmap_id);
      if (SPI_execute_plan(plan_labels, arg, NULL, true, 1) != SPI_OK_SELECT ||
          SPI_processed != 1)
        elog(ERROR, "%s: label map %" PRId64 " vanished", fn, labelmap_id);
      MemoryContextSwitchTo(cx);
      if (!(json = text_at(1, &len)))
        elog(ERROR, "%s: label map %" PRId64 " has no labels", fn, labelmap_id);
      check_map_digest(fn, p, json, len);
      labels_of(fn, m, json, len);
    }
    MemoryContextSwitchTo(cx);
    m->x = palloc((m->net->n_inputs + m->net->n_outputs +
                   nn_work_size(m->net, m->net->n_inputs)) * sizeof *m->x);
    m->y = m->x + m->net->n_inputs;
    m->work = m->y + m->net->n_outputs;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(old);
    MemoryContextDelete(cx);
    PG_RE_THROW();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(old);
  return m;
}

/* ------------------------------------------------------------------------
** The entry a statement uses
*/

/* The cached entry of ref if it is still what ref means, else built
** again (the old one deleted). */
static nn_pgx_model *current(const char *fn, const char *ref) {
  nn_pgx_model **pm, *m;
  int64 version_id, labelmap_id;
  parsed p;
  parse_ref(fn, ref, &p);
  if (SPI_connect() != SPI_OK_CONNECT)
    elog(ERROR, "%s: SPI_connect failed", fn);
  make_plans(fn);
  find(fn, ref, &p, &version_id, &labelmap_id);
  for (pm = &models; *pm; pm = &(*pm)->next)
    if (strcmp((*pm)->ref, ref) == 0)
      break;
  if (*pm && (*pm)->version_id == version_id && (*pm)->labelmap_id == labelmap_id) {
    SPI_finish();
    return *pm;
  }
  if (*pm) {   /* a new version or label map: the old network goes */
    m = *pm;
    *pm = m->next;
    MemoryContextDelete(m->cx);
    epoch++;
  }
  m = build(fn, ref, &p, version_id, labelmap_id);
  m->next = models;
  models = m;
  SPI_finish();
  return m;
}

/* current(), refused when called from inside itself: a view or trigger
** that shadows the nn tables can call a function from inside our own
** queries, which must not run again under themselves. */
static nn_pgx_model *current_once(const char *fn, const char *ref) {
  nn_pgx_model *volatile m = NULL;
  if (reading)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("%s: called again while it reads the model (from a view or "
                           "trigger over the nn tables?)", fn)));
  reading = true;
  PG_TRY();
  {
    m = current(fn, ref);
  }
  PG_FINALLY();
  {
    reading = false;
  }
  PG_END_TRY();
  return m;
}

nn_pgx_model *nn_pgx_model_get(FmgrInfo *flinfo, const char *fn, text *ref) {
  site *st = (site *)flinfo->fn_extra;
  int len = (int)VARSIZE_ANY_EXHDR(ref);
  char *text;
  if (st && st->epoch == epoch && st->len == len &&
      memcmp(st->ref, VARDATA_ANY(ref), (size_t)len) == 0)
    return st->m;
  text = text_to_cstring(ref);
  if ((int)strlen(text) != len)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s: model reference '%.100s' contains a zero byte", fn, text)));
  if (!models_cx)
    models_cx = AllocSetContextCreate(TopMemoryContext, "nn models",
                                      ALLOCSET_DEFAULT_SIZES);
  if (!st || st->cap < len) {
    if (st)
      pfree(st);
    st = MemoryContextAlloc(flinfo->fn_mcxt, offsetof(site, ref) + (size_t)len + 1);
    flinfo->fn_extra = st;
    st->cap = len;
  }
  st->len = -1;   /* nothing kept while current() may raise */
  st->m = current_once(fn, text);
  st->epoch = epoch;
  st->len = len;
  memcpy(st->ref, text, (size_t)len + 1);
  pfree(text);
  return st->m;
}
