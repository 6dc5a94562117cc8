/*
** nn_store_int.h: what the store's files share and nobody else sees.
**
** The store's files stand in a strict order, each calling only the ones
** before it (spec/support/layers.lua checks that no two call each other,
** directly or through others):
**
**   nn_sha256.c          SHA-256 and the digests' integers
**   nn_store_owner.c     whose database a file is, from its bytes
**   nn_store_conn.c      statuses and messages, statements, binds,
**                        transactions, the clock
**   nn_store_facts.c     a model's facts: which versions, label maps and
**                        runs nn saved for it
**   nn_store_labels.c    models' ids, label maps and their cache
**   nn_store_version.c   versions saved and loaded, their digest functions
**   nn_store_train.c     training runs, saved through a version's hook
**   nn_store_log.c       the prediction log and feedback
**   nn_store_catalog.c   has a version or a label map been added?
**   nn_store_cursor.c    the caller's own SQL (store:rows)
**   nn_store.c           open, migrate, close, attach, detach
**
** nn_store_data.c stands beside them on nn_store.h alone.  Every helper
** below has one owner, named above its group; a file prepares its own
** statements into s->stmt, in slots numbered here so that none collide.
** Nothing in this header is part of the interface in nn_store.h.
*/
#ifndef NN_STORE_INT_H
#define NN_STORE_INT_H

#include "formats/nn_digest.h"
#include "store/nn_store.h"
#include "store/nn_store_engine.h"

/* Slots of s->stmt, grouped by the file that holds their SQL text. */
enum {
  /* nn_store_conn.c */
  S_BEGIN, S_COMMIT, S_ROLLBACK,
  /* nn_store_facts.c */
  S_FACTS_ROWS, S_FACTS_UPDATE,
  /* nn_store_labels.c */
  S_MODEL_ID, S_LATEST_OUTPUTS, S_LABELMAP_CURRENT, S_LABELMAP_INSERT,
  S_LABELMAP_NAMED, S_LABELMAP_WHY, S_LABELMAP_ROW, S_LABELS,
  /* nn_store_version.c */
  S_MODEL_INSERT, S_NEXT_VERSION, S_VERSION_INSERT,
  S_VERSION_LATEST, S_VERSION_PINNED, S_LAYERS, S_WEIGHTS, S_LAYER_FIELD,
  /* nn_store_log.c */
  S_SEQ_INIT, S_SEQ_BUMP, S_SEQ_READ, S_PREDICTION_INSERT, S_PREDICTION_BATCH,
  S_FB_SEQ_INIT, S_FB_SEQ_BUMP, S_FB_SEQ_READ,
  S_FEEDBACK_INFO, S_FEEDBACK_PENDING, S_FEEDBACK_INSERT,
  /* nn_store_catalog.c */
  S_DATA_VERSION, S_CATALOG,
  S_COUNT
};

/* ------------------------------------------------------------------------
** nn_store_owner.c
*/

/* The application_id, user_version and whether page 1 holds schema objects
** (0 or 1) of the database file at path, as of its last commit (its -wal
** read too), read without SQLite: *known 1 when read; 0 when there is no
** file, or an empty one.  ENOTADB for a file that is not an SQLite
** database, ENOMEM; no message (the caller writes it). */
int nn_st_file_owner(const char *path, int64_t owner[3], int *known);

/* Is the database file at path in WAL mode (*wal_mode, from its header),
** and how many commits does its -wal hold (*commits, 0 without one)?
** Both 0 for anything that is not a database.  OK or ENOMEM. */
int nn_st_file_wal(const char *path, int *wal_mode, int *commits);

/* The owner (as nn_st_file_owner's) of a database image of n bytes at p:
** NULL, or why p is no whole database (its header checked, its length
** against the page count the header gives). */
const char *nn_st_bytes_owner(const unsigned char *p, size_t n, int64_t owner[3]);

/* ------------------------------------------------------------------------
** nn_store_conn.c
*/

/* Errors: each fills s->err and returns its status.  nn_st_fail and
** nn_st_db_fail (s->db's last error) are nn_store.h's; nn_st_db_error is
** any connection's (the probe's, before s->db exists). */
#define nn_st_fail     nn_store_fail
#define nn_st_db_fail  nn_store_db_fail
int nn_st_db_error(nn_store *s, sqlite3 *db);
int nn_st_closed(nn_store *s);
int nn_st_nomem(nn_store *s);
int nn_st_writable(nn_store *s);      /* OK, or why s cannot write */
/* A stored version refused: "model 'x' version 2: ..." (nn_store_engine.h) */
#define nn_st_invalid  nn_store_invalid
/* A value that SQLite would refuse (SQLITE_TOOBIG): "<what> is N bytes, ..." */
int nn_st_check_length(nn_store *s, const char *what, size_t len);

/* The statement in slot (sql its text, prepared on first use); done()
** resets it and clears its bindings after use. */
int nn_st_use(nn_store *s, int slot, const char *sql, sqlite3_stmt **st);
void nn_st_done(sqlite3_stmt *st);
/* Step st: OK with *row set to whether a row came; any error in s->err. */
int nn_st_step(nn_store *s, sqlite3_stmt *st, int *row);
/* Run the statement in slot for its effect. */
int nn_st_run(nn_store *s, int slot, const char *sql);
/* A bind's result: SQLITE_TOOBIG names what, anything else is the
** connection's error. */
int nn_st_bound(nn_store *s, int rc, const char *what);

/* Transactions: begin takes the write lock at once (BEGIN IMMEDIATE), and
** refuses inside a transaction the caller opened; rollback keeps s->err. */
int nn_st_in_caller_txn(nn_store *s);
int nn_st_begin(nn_store *s);
int nn_st_commit(nn_store *s);
void nn_st_rollback(nn_store *s);

/* Unix time in milliseconds from the VFS's clock. */
int64_t nn_st_clock_ms(sqlite3_vfs *vfs);
/* Whose row a digest read on s covers: the model's name, or its model_id
** in a file read as it was before schema 8 (s->digests_by_id). */
nn_digest_model nn_st_digest_model(const nn_store *s, const char *name, int64_t model_id);

/* ------------------------------------------------------------------------
** nn_store_facts.c
*/

/* Inside the transaction that inserted it: the row of that kind (id: its
** version_id or labelmap_id; version: a version's number; name: a map's)
** added to the model's facts. */
int nn_st_fact_added(nn_store *s, int64_t model_id, int kind, int64_t id,
                     int64_t version, const char *name);
/* INVALID naming the model when the versions, label maps and runs the
** database holds for it are not those its facts count. */
int nn_st_check_facts(nn_store *s, int64_t model_id, const char *name);
/* nn_model_facts(model_id) registered (on) or removed (!on) on db. */
int nn_st_facts_function(sqlite3 *db, int on);

/* ------------------------------------------------------------------------
** nn_store_labels.c
*/

/* A model's id by its name, for label maps and versions: find gives 0 when
** there is none, need fails with NOTFOUND. */
int nn_st_find_model(nn_store *s, const char *name, int64_t *model_id);
int nn_st_need_model(nn_store *s, const char *name, int64_t *model_id);
/* Labels as a JSON array into b (nn_store_engine.h). */
#define nn_st_json_labels  nn_store_labels_json
/* Inside a transaction: the labels in s->text (JSON) as map's latest row
** (a new one only when they differ). */
int nn_st_put_labelmap(nn_store *s, int64_t model_id, const char *model, const char *map,
                       int64_t now, int64_t *labelmap_id);
/* A label map's digest under its model's name, as save stores it and a
** load checks it (nn_store_engine.h). */
#define nn_st_labelmap_digest  nn_store_labelmap_digest
/* Forget every label map the cache holds that nobody pinned. */
void nn_st_labels_forget(nn_store *s);

/* ------------------------------------------------------------------------
** nn_store_version.c, nn_store_train.c
*/

/* The digest functions registered (on) or removed (!on) on db, SQLITE_OK
** or an error: nn_version_digest and nn_labelmap_digest
** (nn_store_version.c), nn_training_digest (nn_store_train.c); layout 1:
** the same names with "_1", the digests before schema 8, for migrations.
** nn_store_digest_functions (nn_store.c) does layout 2. */
int nn_st_version_digest_functions(sqlite3 *db, int on, int layout);
int nn_st_training_digest_function(sqlite3 *db, int on, int layout);

#endif
