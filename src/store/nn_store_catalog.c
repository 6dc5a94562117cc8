/*
** nn_store_catalog.c: has a version, a label map or a training run been
** added or removed since the last look?  (nn_store_catalog in nn_store.h.)
**
** What it implements: the cheapest answer SQLite allows.  The pager's data
** version and the connection's change count say whether anything was
** written; in WAL mode the wal-index header says so without even a read
** transaction; only then are the largest ids of nn_version and nn_labelmap
** read, and how many rows they and nn_training hold (a row deleted outside
** nn changes the count, and the next load finds the model's facts broken:
** nn_store_facts.c).  What it is not: a cache of anything (the binding and the SQL
** functions keep theirs, keyed by the generation this returns).
**
**   SELECT (SELECT max(version_id) FROM nn_version),
**          (SELECT max(labelmap_id) FROM nn_labelmap);
*/
#include <string.h>

#include "store/nn_store_int.h"

/* Run outside a transaction for the read it starts, which makes the pager
** look at the file (see nn_store_catalog). */
#define SQL_DATA_VERSION  "PRAGMA data_version"
/* Versions and label maps are append-only, so their largest ids tell
** whether anything was added; their counts (and the runs'), whether
** anything was deleted.  count(*) reads the smallest index, never the
** weights. */
#define SQL_CATALOG \
  "SELECT (SELECT max(version_id) FROM nn_version)," \
  " (SELECT max(labelmap_id) FROM nn_labelmap)," \
  " (SELECT count(*) FROM nn_version) + (SELECT count(*) FROM nn_labelmap)" \
  " + (SELECT count(*) FROM nn_training)"

/* The wal-index (the -shm file SQLite maps) starts with two copies of a
** 48-byte header that every commit rewrites, its third word counting the
** commits (SQLite's "WAL-index format" documents it).  Reading the first
** copy takes no lock and no system call, where PRAGMA data_version takes a
** read transaction and its file locks: half the time of a classify. */
#define WAL_HEADER_WORDS  12
#define WAL_REGION_BYTES  32768

typedef char nn_store_wal_seen_fits[
  sizeof ((nn_store *)0)->wal_seen == WAL_HEADER_WORDS * sizeof(uint32_t) ? 1 : -1];

/* Copy that header into h; 0 when it cannot be read.  Only called once
** check_wal found WAL mode with SQLite's own shared memory, so that asking
** the VFS for region 0 finds what SQLite mapped and creates nothing. */
static int read_wal_header(nn_store *s, uint32_t h[WAL_HEADER_WORDS]) {
  sqlite3_file *file = NULL, *wal = NULL;
  volatile void *region = NULL;
  const volatile uint32_t *words;
  int i;
  /* the WAL is still open: no PRAGMA journal_mode ran since check_wal */
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
      !wal || !wal->pMethods ||
      sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      !file || !file->pMethods || file->pMethods->iVersion < 2 ||
      !file->pMethods->xShmMap || !file->pMethods->xShmBarrier ||
      file->pMethods->xShmMap(file, 0, WAL_REGION_BYTES, 0, &region) != SQLITE_OK || !region)
    return 0;
  /* a commit that completed before this call is seen whole */
  file->pMethods->xShmBarrier(file);
  words = (const volatile uint32_t *)region;
  for (i = 0; i < WAL_HEADER_WORDS; i++)
    h[i] = words[i];
  return 1;
}

/* The single text value of sql, compared with want. */
static int query_is(nn_store *s, const char *sql, const char *want) {
  sqlite3_stmt *st = NULL;
  int is = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    is = strcmp((const char *)sqlite3_column_text(st, 0), want) == 0;
  sqlite3_finalize(st);
  return is;
}

/* Can the wal-index header be read?  In WAL mode with normal locking and
** after a read transaction (the PRAGMA data_version just run), SQLite has
** the shared memory mapped.  With exclusive locking it may keep its index
** in its own heap instead, and a ":memory:" database has no WAL at all. */
static int check_wal(nn_store *s) {
  sqlite3_file *wal = NULL;
  return query_is(s, "PRAGMA main.journal_mode", "wal") &&
         query_is(s, "PRAGMA main.locking_mode", "normal") &&
         sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
         wal && wal->pMethods;
}

/* The pager's data version counts the commits to the main database, this
** connection's and every other's, as of the pager's last look at the file;
** total_changes adds this connection's rows not committed yet.  Outside a
** transaction the pager has not looked since the last one ended: when the
** wal-index header shows no commit since the last full check and this
** connection changed nothing, nothing did; else a read (PRAGMA
** data_version's) makes the pager look.  Inside a transaction (a statement
** calling an SQL function) the pager is up to date, and this costs no
** statement.  Inside a write transaction neither number would see a
** rollback, so the catalog is read every time, and what it held then is not
** trusted after. */
int nn_store_catalog(nn_store *s, uint64_t *gen) {
  sqlite3_stmt *st;
  uint32_t header[WAL_HEADER_WORDS];
  unsigned int data_version = 0;
  int64_t changes;
  int rc, row, state, fresh = 0;
  if (s->engine)
    return s->engine->catalog(s, gen);
  *gen = s->catalog_gen;
  if (!s->db)
    return nn_st_closed(s);
  state = sqlite3_txn_state(s->db, "main");
  changes = (int64_t)sqlite3_total_changes64(s->db);
  if (state == SQLITE_TXN_NONE) {
    if (s->wal_state > 0 && read_wal_header(s, header)) {
      if (memcmp(header, s->wal_seen, sizeof header) == 0 &&
          changes == s->total_changes && s->data_version >= 0)
        return NN_OK;   /* nothing committed since the last full check */
      fresh = 1;
    }
    if ((rc = nn_st_run(s, S_DATA_VERSION, SQL_DATA_VERSION)) != NN_OK)
      return rc;
    /* The header was read before this check: a commit after it shows as a
    ** change next time.  The first time, there is none to keep yet. */
    if (fresh)
      memcpy(s->wal_seen, header, sizeof header);
    else if (s->wal_state == 0) {
      s->wal_state = check_wal(s) ? 1 : -1;
      memset(s->wal_seen, 0, sizeof s->wal_seen);   /* never a header */
    }
  }
  if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION,
                           &data_version) != SQLITE_OK)
    return nn_st_fail(s, NN_ERROR, "cannot read the data version of the database");
  if (state != SQLITE_TXN_WRITE && (int64_t)data_version == s->data_version &&
      changes == s->total_changes)
    return NN_OK;
  /* Something was written; most often log rows, which change nothing a
  ** loaded network depends on. */
  if ((rc = nn_st_use(s, S_CATALOG, SQL_CATALOG, &st)) != NN_OK)
    return rc;
  if ((rc = nn_st_step(s, st, &row)) == NN_OK && row) {
    /* fewer maps than before: a write was rolled back, and its ids may be
    ** given again to other maps */
    if (sqlite3_column_int64(st, 1) < s->max_labelmap_id)
      nn_st_labels_forget(s);
    if (sqlite3_column_int64(st, 0) != s->max_version_id ||
        sqlite3_column_int64(st, 1) != s->max_labelmap_id ||
        sqlite3_column_int64(st, 2) != s->catalog_rows) {
      s->max_version_id = sqlite3_column_int64(st, 0);
      s->max_labelmap_id = sqlite3_column_int64(st, 1);
      s->catalog_rows = sqlite3_column_int64(st, 2);
      s->catalog_gen++;
    }
    s->data_version = state == SQLITE_TXN_WRITE ? -1 : (int64_t)data_version;
    s->total_changes = changes;
  }
  nn_st_done(st);
  *gen = s->catalog_gen;
  return rc;
}

void nn_store_user_sql(nn_store *s) {
  s->wal_state = 0;
}
