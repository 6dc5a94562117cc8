/*
** nn_pg.h: the store on PostgreSQL, through libpq.
**
** nn_pg_open opens a store whose tables live in a schema of a PostgreSQL
** database, the same tables and views as an SQLite store's (schema/pg/),
** and from then on the store is used through nn_store.h as any other: each
** of its functions hands the call to this engine (nn_store_engine.h).
**
**   nn_store s;
**   nn_store_opts o = NN_STORE_OPTS_DEFAULT;
**   nn_store_init(&s);
**   if (nn_pg_open(&s, "postgresql://nn@db.example/games", "nn", &o) != NN_OK)
**     fprintf(stderr, "%s\n", s.err);
**
** This is not the binding: no lua.h, no raising, no printing.
*/
#ifndef NN_PG_H
#define NN_PG_H

#include "store/nn_store.h"

/* 1 when target names a PostgreSQL database: a libpq URL, which starts
** "postgresql://" or "postgres://". */
int nn_pg_is_url(const char *target);

/* Connect to conninfo, check that schema (created when absent) is an nn
** store or empty, and migrate it forward in one transaction.  On failure
** the store is left closed, with why in s->err: CANTOPEN (no connection),
** FOREIGN (a schema holding other tables, or another program's), SCHEMA
** (written by a newer nn), READONLY (readonly and not yet an nn store). */
int nn_pg_open(nn_store *s, const char *conninfo, const char *schema,
               const nn_store_opts *opts);

#endif
