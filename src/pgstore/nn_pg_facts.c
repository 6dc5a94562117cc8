/*
** nn_pg_facts.c: a model's facts on PostgreSQL (see nn_pg_int.h).
**
** What it implements: nn_model.facts as on a file (schema/pg/004_model_facts.sql,
** src/store/nn_store_facts.c): the row a version, a label map or a training
** run adds, XORed into the model's facts in the transaction that adds it,
** and the check a load runs, one statement over the model's rows, in the
** store's words.  The counts, the digest, their text and the message are
** the store's code, so both engines keep the same bytes and say the same.
** What it is not: nn_model_facts(model_id), the SQL function a migration
** or a tool uses (the schema file defines it in SQL, over the same layout).
**
**   SELECT name, facts::jsonb ->> 'versions' AS versions FROM nn_model;
*/
#include <stdlib.h>
#include <string.h>

#include "pgstore/nn_pg_int.h"

/* The model's stored facts (kind 0, its text), then one row per fact: a
** version (1: version_id, version), a label map (2: labelmap_id, name), a
** run (3: version_id).  One statement, so one snapshot. */
#define FACTS_ROWS \
  "SELECT 0, 0::bigint, 0::bigint, facts FROM nn_model WHERE model_id = $1" \
  " UNION ALL SELECT 1, version_id, version, NULL FROM nn_version WHERE model_id = $1" \
  " UNION ALL SELECT 2, labelmap_id, 0, name FROM nn_labelmap WHERE model_id = $1" \
  " UNION ALL SELECT 3, t.version_id, 0, NULL FROM nn_version AS v" \
  "  JOIN nn_training AS t ON t.version_id = v.version_id WHERE v.model_id = $1"

int nn_pg_fact_added(nn_store *s, int64_t model_id, int kind, int64_t id,
                     int64_t version, const char *name) {
  char ids[24], text[NN_FACTS_MAX];
  const char *p[2] = { nn_pg_itoa(ids, model_id), text };
  nn_store_facts f;
  PGresult *res;
  int rc, have;
  /* the model's row is locked already: no other writer adds meanwhile */
  if ((rc = nn_pg_exec(s, "SELECT facts FROM nn_model WHERE model_id = $1", 1, p,
                       &res)) != NN_OK)
    return rc;
  have = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
         nn_store_facts_read(PQgetvalue(res, 0, 0), &f);
  PQclear(res);
  /* facts nn cannot read stay as they are: every read of the model fails */
  if (!have)
    return NN_OK;
  nn_store_facts_add(&f, kind, id, version, name, name ? strlen(name) : 0);
  nn_store_facts_text(&f, text);
  return nn_pg_run(s, "UPDATE nn_model SET facts = $2 WHERE model_id = $1", 2, p);
}

int nn_pg_check_facts(nn_store *s, int64_t model_id, const char *name) {
  char ids[24];
  const char *p[1] = { nn_pg_itoa(ids, model_id) };
  nn_store_facts rows, stored;
  PGresult *res;
  int rc, i, have = 0;
  if ((rc = nn_pg_exec(s, FACTS_ROWS, 1, p, &res)) != NN_OK)
    return rc;
  memset(&rows, 0, sizeof rows);
  memset(&stored, 0, sizeof stored);
  for (i = 0; i < PQntuples(res); i++) {
    int kind = (int)nn_pg_int(res, i, 0) - 1;
    const char *t = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
    if (kind < 0)
      have = nn_store_facts_read(t, &stored);
    else
      nn_store_facts_add(&rows, kind, nn_pg_int(res, i, 1), nn_pg_int(res, i, 2), t,
                         t ? (size_t)PQgetlength(res, i, 3) : 0);
  }
  PQclear(res);
  return nn_store_facts_check(s, name, have, &stored, &rows);
}
