/*
** nn_store_int.h: what the store's files share and nobody else sees.
**
** The store is four files over one nn_store: nn_store.c (statements,
** transactions, errors, opening and migrating), nn_store_version.c
** (versions and label maps), nn_store_log.c (the prediction log) and
** nn_store_catalog.c (has anything been added?).  Each prepares its own
** statements into s->stmt, in slots numbered here so that none collide.
** Nothing in this header is part of the interface in nn_store.h.
*/
#ifndef NN_STORE_INT_H
#define NN_STORE_INT_H

#include "nn_store.h"

/* Slots of s->stmt, grouped by the file that holds their SQL text. */
enum {
  /* nn_store.c */
  S_BEGIN, S_COMMIT, S_ROLLBACK,
  /* nn_store_version.c */
  S_MODEL_ID, S_MODEL_INSERT, S_NEXT_VERSION, S_VERSION_INSERT,
  S_LATEST_OUTPUTS, S_LABELMAP_CURRENT, S_LABELMAP_INSERT,
  S_VERSION_LATEST, S_VERSION_PINNED, S_LAYERS, S_WEIGHTS,
  S_LABELMAP_NAMED, S_LABELMAP_WHY, S_LABELMAP_ROW, S_LABELS, S_LAYER_FIELD,
  /* nn_store_catalog.c */
  S_DATA_VERSION, S_CATALOG,
  /* nn_store_log.c */
  S_SEQ_INIT, S_SEQ_BUMP, S_SEQ_READ, S_PREDICTION_INSERT, S_PREDICTION_BATCH,
  S_FEEDBACK_INFO, S_FEEDBACK_INSERT,
  S_COUNT
};

/* Errors: each fills s->err and returns its status. */
int nn_st_fail(nn_store *s, int status, const char *fmt, ...);
int nn_st_db_fail(nn_store *s);       /* the connection's last error */
int nn_st_closed(nn_store *s);
int nn_st_nomem(nn_store *s);
int nn_st_writable(nn_store *s);      /* OK, or why s cannot write */
/* A stored version refused: "model 'x' version 2: ..." */
int nn_st_invalid(nn_store *s, const nn_store_version *v, const char *fmt, ...);
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

/* Forget every label map the cache holds that nobody pinned. */
void nn_st_labels_forget(nn_store *s);

#endif
