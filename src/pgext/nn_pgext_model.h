/*
** nn_pgext_model.h: the models of the nn store in this database, as the
** functions inside PostgreSQL see them: a reference resolved once per
** statement, networks built once per backend (nn_pgext_model.c).
**
** A reference is 'name', 'name@version', 'name:labelmap' or
** 'name@version:labelmap', as for the SQLite functions (src/sql/nn_sql.c).
*/
#ifndef NN_PGEXT_MODEL_H
#define NN_PGEXT_MODEL_H

#include "engine/nn_engine.h"

typedef struct nn_pgx_model {
  struct nn_pgx_model *next;
  MemoryContext cx;              /* the model's own: deleted when it goes */
  char *ref;                     /* the reference as written: the cache's key */
  int64 version_id;
  int64 labelmap_id;             /* 0: no label map, classify answers the index */
  nn_net *net;
  size_t n_labels;
  char **labels;                 /* [n_labels], each ending in a zero */
  float *x, *y, *work;           /* a pass's scratch */
} nn_pgx_model;

/* The schema of the store (the GUC nn.schema), defined by _PG_init. */
extern char *nn_pgx_schema;

/* The model that ref means now, for the function fn (its name, for
** messages) called through flinfo: checked against the store once per
** statement and call site (flinfo->fn_extra keeps the answer), built once
** per backend while its version and label map stay the latest.  Raises an
** ERROR naming what is wrong. */
nn_pgx_model *nn_pgx_model_get(FmgrInfo *flinfo, const char *fn, text *ref);

#endif
