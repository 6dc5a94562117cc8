/*
** nn_pgext.c: nn_classify, nn_score and nn_forward inside PostgreSQL
** (CREATE EXTENSION nn; the SQL is nn--0.1.0.sql), over the models of the
** nn store in this database (the schema named by the GUC nn.schema, 'nn'
** by default), with the same names, references, answers and messages as
** the SQLite functions (src/sql/nn_sql.c):
**
**   SELECT nn_classify('leaf_flower', ARRAY[32, 107, 56, 11.2]::real[]);
**   SELECT nn_score('leaf_flower', r, g, b, ml) FROM samples;   -- VARIADIC
**   SELECT nn_forward('leaf_flower@1:weather', x) FROM samples;  -- real[]
**
** The inputs are a real[] or, VARIADIC, any numbers (double precision):
** the columns of a row.  A NULL model, array or element gives NULL; the
** wrong number of inputs, one that is not finite or out of float32's
** range, an unknown model, version or label map is an ERROR naming it.
** nn_classify answers a label as text, or the 1-based index of the winning
** output as text when the version has no label map that fits; nn_score
** the winning output; nn_forward every output as real[].
**
** The models and their cache are nn_pgext_model.c's; this file reads the
** arguments, runs the pass and makes the answer.  Nothing is written.
*/
#include "postgres.h"

#include <float.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "pgext/nn_pgext_model.h"

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
  DefineCustomStringVariable("nn.schema", "The schema of the nn store the nn functions read.",
                             NULL, &nn_pgx_schema, "nn", PGC_USERSET, 0, NULL, NULL, NULL);
  MarkGUCPrefixReserved("nn");
}

/* The inputs in x, or 0 when the array holds a NULL.  Raises on anything
** wrong. */
static int read_inputs(const char *fn, const nn_pgx_model *m, ArrayType *a) {
  size_t want = m->net->n_inputs, got, i;
  Oid type = ARR_ELEMTYPE(a);
  const char *data;
  if (ARR_NDIM(a) > 1)
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("%s: the inputs must be a one-dimensional array, not %d "
                           "dimensions", fn, ARR_NDIM(a))));
  got = (size_t)ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
  if (got != want)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("%s: '%s' takes %zu input%s, got %zu", fn, m->ref, want,
                           want == 1 ? "" : "s", got)));
  if (ARR_HASNULL(a))
    return 0;
  data = ARR_DATA_PTR(a);
  for (i = 0; i < want; i++) {
    double d = type == FLOAT4OID ? (double)((const float4 *)data)[i]
                                 : ((const float8 *)data)[i];
    if (!(d >= -FLT_MAX && d <= FLT_MAX))   /* also NaN */
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("%s: input %zu is not a finite number", fn, i + 1)));
    m->x[i] = (float)d;
  }
  return 1;
}

/* An output that is not finite is no score and no label: the error names
** the model, the first inputs and the output. */
static void check_outputs(const char *fn, const nn_pgx_model *m, const char *what) {
  size_t n_x = m->net->n_inputs, k, i = nn_nonfinite(m->y, m->net->n_outputs);
  StringInfoData in;
  if (i == m->net->n_outputs)
    return;
  initStringInfo(&in);
  for (k = 0; k < n_x && k < 4; k++)
    appendStringInfo(&in, "%s%.9g", k ? ", " : "", (double)m->x[k]);
  if (n_x > 4)
    appendStringInfoString(&in, ", ...");
  ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                  errmsg("%s: model '%.64s': the inputs [%s] give %s at output %zu, and an "
                         "output that is not finite has no %s", fn, m->ref, in.data,
                         nn_nonfinite_name(m->y[i]), i + 1, what)));
}

/* The model of argument 0 with the pass over argument 1 done; NULL when
** an input is NULL. */
static const nn_pgx_model *run(FunctionCallInfo fcinfo, const char *fn) {
  nn_pgx_model *m = nn_pgx_model_get(fcinfo->flinfo, fn, PG_GETARG_TEXT_PP(0));
  ArrayType *a = PG_GETARG_ARRAYTYPE_P(1);
  if (ARR_ELEMTYPE(a) != FLOAT4OID && ARR_ELEMTYPE(a) != FLOAT8OID)
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("%s: the inputs must be real[] or double precision[]", fn)));
  if (!read_inputs(fn, m, a))
    return NULL;
  nn_forward(m->net, m->y, m->x, m->net->n_inputs, m->work);
  return m;
}

PG_FUNCTION_INFO_V1(nn_pgx_classify);
PG_FUNCTION_INFO_V1(nn_pgx_score);
PG_FUNCTION_INFO_V1(nn_pgx_forward);

Datum nn_pgx_classify(PG_FUNCTION_ARGS) {
  const nn_pgx_model *m = run(fcinfo, "nn_classify");
  size_t best;
  if (!m)
    PG_RETURN_NULL();
  check_outputs("nn_classify", m, "label");
  best = nn_argmax(m->y, m->net->n_outputs);
  if (m->labels)
    PG_RETURN_TEXT_P(cstring_to_text(m->labels[best]));
  PG_RETURN_TEXT_P(cstring_to_text(psprintf("%zu", best + 1)));
}

Datum nn_pgx_score(PG_FUNCTION_ARGS) {
  const nn_pgx_model *m = run(fcinfo, "nn_score");
  if (!m)
    PG_RETURN_NULL();
  check_outputs("nn_score", m, "score");
  PG_RETURN_FLOAT8((double)m->y[nn_argmax(m->y, m->net->n_outputs)]);
}

Datum nn_pgx_forward(PG_FUNCTION_ARGS) {
  const nn_pgx_model *m = run(fcinfo, "nn_forward");
  size_t n, i;
  Datum *y;
  if (!m)
    PG_RETURN_NULL();
  n = m->net->n_outputs;
  y = palloc(n * sizeof *y);
  for (i = 0; i < n; i++)
    y[i] = Float4GetDatum(m->y[i]);
  PG_RETURN_ARRAYTYPE_P(construct_array(y, (int)n, FLOAT4OID, sizeof(float4),
                                        true, TYPALIGN_INT));
}
