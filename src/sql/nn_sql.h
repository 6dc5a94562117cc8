/*
** nn_sql.h: the engine answering in SQL, through the store's reader.
**
**   SELECT nn_classify('leaf_flower', r, g, b, volume) FROM objects;
**   SELECT nn_score('leaf_flower@2', '[32, 107, 56, 11.2]');
**   SELECT nn_forward('leaf_flower:weather', r, g, b, volume) FROM objects;
**
** nn_sql_register puts these three functions on a connection: build/nn0.so
** (entry sqlite3_nn_init) on any connection that loads it, the sqlite3
** shell's with ".load ./build/nn0".  nn_sql_register_store puts them on a
** store's connection, sharing its label maps: whoever opens a store calls it
** (nn.open does).  The store knows nothing of these functions.
**
** This is not a second store: models are read with nn_store.c's reading
** functions on a borrowed connection and computed with nn_forward; nothing
** is written, and no table is created.
*/
#ifndef NN_SQL_H
#define NN_SQL_H

#include "store/nn_store.h"

/* Register nn_classify, nn_score and nn_forward on db, sharing a cache of
** decoded models that is freed when the connection closes (or the last of
** them is replaced).  SQLITE_OK, or an SQLite error code. */
int nn_sql_register(sqlite3 *db);

/* The same on the open store s's connection, with s's cache of label maps
** as theirs.  An NN_STORE_* status, the message in s->err. */
int nn_sql_register_store(nn_store *s);

#endif
