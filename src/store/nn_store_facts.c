/*
** nn_store_facts.c: a model's facts as a whole: how many versions, label
** maps and training runs nn saved for it, and a digest over which.
**
** What it implements: nn_model.facts (schema/005_model_facts.sql), a JSON
** object {"versions":N,"labelmaps":N,"runs":N,"digest":"<64 hex>"} kept on
** the model's row and brought up to date in the transaction that adds a
** row; the check a load runs against the rows the database holds now, so
** that a version, a label map or a run deleted or lost outside nn is an
** error naming the model, never an older row answering in its place; and
** nn_model_facts(model_id), the SQL function that computes the object
** from the rows (a migration fills it in with it, a tool that writes rows
** in SQL refreshes it).  The digest is the XOR of one SHA-256 per row
** (its kind, its id and what names it: a version's number, a map's name),
** so a row added is one XOR and a check is one pass over the model's
** index entries, whatever its weights weigh.  The rows' contents have
** digests of their own (nn_store_version.c, nn_store_labels.c,
** nn_store_train.c); this says only which rows there are.  The counting,
** the text, its reading and the check's message are shared with the
** PostgreSQL engine (nn_store_facts_*, nn_store_engine.h;
** src/pgstore/nn_pg_facts.c), so both keep the same bytes and say the same.  What it is not:
** a signature (whoever deletes a row can rewrite the facts too), a cache.
**
**   SELECT name, facts ->> 'versions' AS versions FROM nn_model;
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "formats/nn_sha256.h"
#include "store/nn_store_int.h"

/* The model's stored facts (kind 0), then one row per fact: a version
** (1: version_id, version), a label map (2: labelmap_id, name), a run
** (3: version_id).  One statement, so one snapshot of the file. */
#define FACTS_ROWS \
  "SELECT 0, json_valid(facts) AND json_type(facts) = 'object'," \
  " facts ->> '$.versions', facts ->> '$.labelmaps', facts ->> '$.runs'," \
  " facts ->> '$.digest' FROM nn_model WHERE model_id = ?1" \
  " UNION ALL SELECT 1, version_id, version, NULL, NULL, NULL" \
  "  FROM nn_version WHERE model_id = ?1" \
  " UNION ALL SELECT 2, labelmap_id, NULL, NULL, NULL, name" \
  "  FROM nn_labelmap WHERE model_id = ?1" \
  " UNION ALL SELECT 3, t.version_id, NULL, NULL, NULL, NULL" \
  "  FROM nn_version AS v JOIN nn_training AS t ON t.version_id = v.version_id" \
  "  WHERE v.model_id = ?1"

#define FACTS_UPDATE  "UPDATE nn_model SET facts = ?2 WHERE model_id = ?1"

static const char *const kinds[2][NN_FACT_KINDS] = {
  { "versions", "label maps", "training runs" },
  { "version", "label map", "training run" }
};

typedef nn_store_facts facts;

static int nibble(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One row of a kind into f: its count, and its SHA-256 XORed in. */
void nn_store_facts_add(facts *f, int kind, int64_t id, int64_t version,
                     const char *name, size_t len) {
  static const char *const tags[NN_FACT_KINDS] = { "nn_model version\n",
    "nn_model labelmap\n", "nn_model training\n" };
  char hex[NN_SHA256_HEX];
  nn_sha256 h;
  int i;
  nn_sha256_init(&h);
  nn_sha256_add(&h, tags[kind], strlen(tags[kind]));
  nn_sha256_int(&h, id);
  if (kind == NN_FACT_VERSION)
    nn_sha256_int(&h, version);
  else if (kind == NN_FACT_LABELMAP) {
    nn_sha256_int(&h, (int64_t)len);
    nn_sha256_add(&h, name, len);
  }
  nn_sha256_hex(&h, hex);
  for (i = 0; i < 64; i++)
    f->x[i] ^= (unsigned char)nibble(hex[i]);
  f->n[kind]++;
}

void nn_store_facts_text(const facts *f, char out[NN_FACTS_MAX]) {
  static const char digits[] = "0123456789abcdef";
  char hex[65];
  int i;
  for (i = 0; i < 64; i++)
    hex[i] = digits[f->x[i] & 15];
  hex[64] = '\0';
  snprintf(out, NN_FACTS_MAX, "{\"versions\":%" PRId64 ",\"labelmaps\":%" PRId64
           ",\"runs\":%" PRId64 ",\"digest\":\"%s\"}", f->n[0], f->n[1], f->n[2], hex);
}

void nn_store_no_facts(char out[NN_FACTS_MAX]) {
  facts f;
  memset(&f, 0, sizeof f);
  nn_store_facts_text(&f, out);
}

/* The stored facts on the kind-0 row of FACTS_ROWS into f: 1 when they
** are what nn writes (counts, 64 lowercase hex digits). */
static int stored_facts(sqlite3_stmt *st, facts *f) {
  const char *hex = (const char *)sqlite3_column_text(st, 5);
  int i;
  if (!sqlite3_column_int(st, 1) || !hex || strlen(hex) != 64)
    return 0;
  for (i = 0; i < NN_FACT_KINDS; i++) {
    if (sqlite3_column_type(st, 2 + i) != SQLITE_INTEGER ||
        (f->n[i] = sqlite3_column_int64(st, 2 + i)) < 0)
      return 0;
  }
  for (i = 0; i < 64; i++) {
    int v = nibble(hex[i]);
    if (v < 0)
      return 0;
    f->x[i] = (unsigned char)v;
  }
  return 1;
}

/* Step st (FACTS_ROWS) to its end: the rows into *rows, the stored facts
** into *stored (*have: whether there were any nn can read).  An SQLite
** result code. */
static int walk(sqlite3_stmt *st, facts *rows, facts *stored, int *have) {
  int rc;
  memset(rows, 0, sizeof *rows);
  memset(stored, 0, sizeof *stored);
  *have = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int kind = sqlite3_column_int(st, 0) - 1;
    if (kind < 0)
      *have = stored_facts(st, stored);
    else
      nn_store_facts_add(rows, kind, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
               (const char *)sqlite3_column_text(st, 5),
               (size_t)sqlite3_column_bytes(st, 5));
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ------------------------------------------------------------------------
** Adding a row, checking a model
*/

int nn_st_fact_added(nn_store *s, int64_t model_id, int kind, int64_t id,
                     int64_t version, const char *name) {
  char text[NN_FACTS_MAX];
  facts rows, stored;
  sqlite3_stmt *st;
  int rc, have, row;
  if ((rc = nn_st_use(s, S_FACTS_ROWS, FACTS_ROWS, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  rc = walk(st, &rows, &stored, &have);
  nn_st_done(st);
  if (rc != SQLITE_OK)
    return nn_st_db_fail(s);
  /* facts nn cannot read stay as they are: every read of the model fails */
  if (!have)
    return NN_OK;
  nn_store_facts_add(&stored, kind, id, version, name, name ? strlen(name) : 0);
  nn_store_facts_text(&stored, text);
  if ((rc = nn_st_use(s, S_FACTS_UPDATE, FACTS_UPDATE, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
  rc = nn_st_step(s, st, &row);
  nn_st_done(st);
  return rc;
}

int nn_st_check_facts(nn_store *s, int64_t model_id, const char *name) {
  facts rows, stored;
  sqlite3_stmt *st;
  int rc, have;
  if ((rc = nn_st_use(s, S_FACTS_ROWS, FACTS_ROWS, &st)) != NN_OK)
    return rc;
  sqlite3_bind_int64(st, 1, model_id);
  rc = walk(st, &rows, &stored, &have);
  nn_st_done(st);
  if (rc != SQLITE_OK)
    return nn_st_db_fail(s);
  return nn_store_facts_check(s, name, have, &stored, &rows);
}

int nn_store_facts_check(nn_store *s, const char *name, int have, const facts *stored,
                         const facts *rows) {
  int i;
  if (!have)
    return nn_store_fail(s, NN_EINVALID, "model '%s' has no record of its versions,"
                         " label maps and training runs (nn_model.facts)", name);
  for (i = 0; i < NN_FACT_KINDS; i++)
    if (rows->n[i] != stored->n[i])
      return nn_store_fail(s, NN_EINVALID, "model '%s': nn saved %" PRId64 " %s, the"
                           " database holds %" PRId64 " (%s outside nn?)", name,
                           stored->n[i], kinds[stored->n[i] == 1][i], rows->n[i],
                           rows->n[i] < stored->n[i] ? "deleted" : "added");
  if (memcmp(rows->x, stored->x, sizeof rows->x) != 0)
    return nn_store_fail(s, NN_EINVALID, "model '%s': its versions, label maps and"
                         " training runs are not those nn saved (changed outside nn?)",
                         name);
  return NN_OK;
}

/* A count at *p as nn writes it (decimal digits, no sign, no leading
** zero), p moved past it; -1 when there is none. */
static int64_t count_at(const char **p) {
  const char *q = *p;
  int64_t v = 0;
  if (*q < '0' || *q > '9' || (q[0] == '0' && q[1] >= '0' && q[1] <= '9'))
    return -1;
  for (; *q >= '0' && *q <= '9'; q++) {
    if (v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (*q - '0');
  }
  *p = q;
  return v;
}

/* Whether text at *p starts with word, *p moved past it. */
static int skip(const char **p, const char *word) {
  size_t n = strlen(word);
  if (strncmp(*p, word, n) != 0)
    return 0;
  *p += n;
  return 1;
}

int nn_store_facts_read(const char *text, facts *f) {
  static const char *const keys[NN_FACT_KINDS] = { "{\"versions\":", ",\"labelmaps\":",
    ",\"runs\":" };
  const char *p = text;
  int i;
  memset(f, 0, sizeof *f);
  if (!p)
    return 0;
  for (i = 0; i < NN_FACT_KINDS; i++)
    if (!skip(&p, keys[i]) || (f->n[i] = count_at(&p)) < 0)
      return 0;
  if (!skip(&p, ",\"digest\":\""))
    return 0;
  for (i = 0; i < 64; i++) {
    int v = nibble(p[i]);
    if (v < 0)
      return 0;
    f->x[i] = (unsigned char)v;
  }
  return strcmp(p + 64, "\"}") == 0;
}

/* ------------------------------------------------------------------------
** nn_model_facts(model_id): the facts of the rows there are now
*/

static void sql_model_facts(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  sqlite3_stmt *st = NULL;
  char text[NN_FACTS_MAX];
  facts rows, stored;
  int rc, have;
  (void)argc;
  if ((rc = sqlite3_prepare_v2(db, FACTS_ROWS, -1, &st, NULL)) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, sqlite3_value_int64(argv[0]));
    rc = walk(st, &rows, &stored, &have);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
    return;
  }
  nn_store_facts_text(&rows, text);
  sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

int nn_st_facts_function(sqlite3 *db, int on) {
  /* not deterministic: the answer depends on the rows it reads */
  return sqlite3_create_function_v2(db, "nn_model_facts", 1, SQLITE_UTF8, NULL,
                                    on ? sql_model_facts : NULL, NULL, NULL, NULL);
}
