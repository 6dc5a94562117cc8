/*
** nn_store_engine.h: the store's interface, for an engine beside SQLite.
**
** Every operation of nn_store.h is one of the store's functions; on a store
** that an engine other than SQLite opened (s->engine not NULL: PostgreSQL,
** src/pgstore/), each of them hands the call to that engine's slot in the
** table below, so that the binding, and any C host, call one set of
** functions whatever holds the data.  SQLite is the engine of a store whose
** s->engine is NULL: its implementation is the store's own files.
**
** What an engine shares with SQLite so that both keep the same bytes: the
** architecture's JSON, the digests of versions and label maps, the labels'
** JSON, and the checks of a version's layers against its sizes.  Those are
** here too, written once in the store.
**
** This is not for users of the store: a host opens a PostgreSQL store
** through the engine's own open (nn_pg.h) and then uses nn_store.h only.
*/
#ifndef NN_STORE_ENGINE_H
#define NN_STORE_ENGINE_H

#include "formats/nn_sha256.h"
#include "store/nn_store.h"
#include "store/nn_store_train.h"

struct nn_store_engine {
  const char *name;                 /* "PostgreSQL", for messages */
  /* nn_store_close: free everything, keep s->err; never fails */
  void (*close)(nn_store *s);
  int (*flush_within)(nn_store *s, int timeout_ms);
  void (*stats)(const nn_store *s, nn_store_stats *out);
  int (*save_with)(nn_store *s, const char *name, const nn_net *net, const char *note,
                   const char *const *labels, nn_store_extra extra, void *ctx,
                   nn_store_saved *out);
  /* nn_store_save_run with a run (checked already) */
  int (*save_run)(nn_store *s, const char *name, const nn_net *net, const char *note,
                  const char *const *labels, const nn_train_run *run, nn_store_saved *out);
  /* nn_store_read_run: the texts in s->text, the epochs in s->blob */
  int (*read_run)(nn_store *s, const nn_store_version *v, nn_train_run *run, int *found);
  int (*add_labels)(nn_store *s, const char *name, const char *map,
                    const char *const *labels, size_t n);
  int (*find_version)(nn_store *s, const char *name, int64_t version,
                      nn_store_version *v);
  int (*read_layers)(nn_store *s, const nn_store_version *v, nn_layer *layers);
  int (*read_params)(nn_store *s, const nn_store_version *v, float *params);
  int (*find_labelmap)(nn_store *s, int64_t version_id, const char *map,
                       int64_t *labelmap_id, size_t *n_labels);
  int (*read_label)(nn_store *s, int64_t labelmap_id, size_t i, const char **label,
                    size_t *len);
  int (*catalog)(nn_store *s, uint64_t *gen);
  int (*before_user_sql)(nn_store *s);
  int (*log)(nn_store *s, const nn_store_row *row, int64_t *id);
  int (*feedback)(nn_store *s, int64_t id, int64_t true_idx, const char *label,
                  size_t label_len, int64_t *feedback_id);
  /* the cursor: c was made by cursor_open and starts with its head */
  int (*cursor_open)(nn_store *s, const char *sql, size_t len, nn_store_cursor **c);
  int (*cursor_params)(const nn_store_cursor *c);
  int (*cursor_bind)(nn_store *s, nn_store_cursor *c, int i, const nn_store_value *v);
  int (*cursor_step)(nn_store *s, nn_store_cursor *c, int *row);
  int (*cursor_columns)(const nn_store_cursor *c);
  const char *(*cursor_name)(const nn_store_cursor *c, int i);
  void (*cursor_value)(nn_store_cursor *c, int i, nn_store_value *v);
  const char *(*cursor_sql)(const nn_store_cursor *c);
  void (*cursor_close)(nn_store_cursor *c);
};

/* Every cursor, whichever engine made it, starts with this head, so that
** the cursor's functions know where to send a call. */
typedef struct nn_store_cursor_head {
  const nn_store_engine *engine;    /* NULL: SQLite's */
} nn_store_cursor_head;

/* The engine of a cursor (NULL: SQLite). */
#define NN_CURSOR_ENGINE(c)  (((const nn_store_cursor_head *)(const void *)(c))->engine)

/* Unix time in milliseconds, from the clock of SQLite's default VFS: the
** timestamps of every engine from one clock. */
int64_t nn_store_clock_ms(void);

/* UNSUPPORTED, naming what a store of s's engine cannot do yet. */
int nn_store_unsupported(nn_store *s, const char *what);

/* The architecture of net as save writes it:
** [{"type":"Linear","in":4,"out":3},{"type":"ReLU"},...] into b; nonzero
** when memory runs out. */
int nn_store_arch_json(nn_buf *b, const nn_net *net);

/* The digests a version's and a label map's rows carry (64 hex digits and
** a zero), over the same bytes whatever the engine or store: layout 2 of
** formats/nn_digest.h, over model, the model's name. */
void nn_store_version_digest(char hex[NN_SHA256_HEX], const char *model, int64_t version,
                             const char *arch, size_t arch_len, int64_t n_inputs,
                             int64_t n_outputs, int64_t n_params,
                             const void *weights, size_t bytes);
void nn_store_labelmap_digest(char hex[NN_SHA256_HEX], const char *model, const char *name,
                              size_t name_len, const char *labels, size_t labels_len);

/* Labels as a JSON array into b; ERROR for a missing or empty label. */
int nn_store_labels_json(nn_store *s, nn_buf *b, const char *const *labels /* [n] */,
                         size_t n);

/* "model 'x' version 2: ..." as INVALID, for a stored version refused. */
int nn_store_invalid(nn_store *s, const nn_store_version *v, const char *fmt, ...);

/* The n layers read for v, laid out and checked against its sizes:
** INVALID naming what disagrees. */
int nn_store_check_layers(nn_store *s, const nn_store_version *v, nn_layer *layers,
                          size_t n);

/* A model's facts (nn_model.facts, nn_store_facts.c): how many versions,
** label maps and training runs nn saved for it, and the XOR of one SHA-256
** per row, the same on every engine. */
enum { NN_FACT_VERSION, NN_FACT_LABELMAP, NN_FACT_RUN, NN_FACT_KINDS };
/* Room for nn_model.facts as nn writes it. */
#define NN_FACTS_MAX  192
typedef struct nn_store_facts {
  int64_t n[NN_FACT_KINDS];
  unsigned char x[64];        /* the digest's hex digits as nibbles */
} nn_store_facts;

/* The facts of a model without rows, the text a new model row starts with. */
void nn_store_no_facts(char out[NN_FACTS_MAX]);
/* One row of a kind into f (id: its version_id or labelmap_id; version: a
** version's number; name: a map's, len bytes). */
void nn_store_facts_add(nn_store_facts *f, int kind, int64_t id, int64_t version,
                        const char *name, size_t len);
/* f as the JSON text nn_model.facts holds. */
void nn_store_facts_text(const nn_store_facts *f, char out[NN_FACTS_MAX]);
/* text, as nn writes it, into f: 1 when it is that, 0 otherwise (NULL too). */
int nn_store_facts_read(const char *text, nn_store_facts *f);
/* OK when the rows a database holds for model name are those its stored
** facts count (have: whether they could be read), else INVALID naming the
** model, in the same words on every engine. */
int nn_store_facts_check(nn_store *s, const char *name, int have,
                         const nn_store_facts *stored, const nn_store_facts *rows);

#endif
