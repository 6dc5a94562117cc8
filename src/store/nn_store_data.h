/*
** nn_store_data.h: training data out of the store: any query as a matrix,
** and the logged predictions that got feedback.
**
**   nn_buf x = { 0 };
**   size_t rows, cols;
**   nn_store_matrix(&s, "SELECT r, g, b, volume FROM objects", -1, NULL, 0,
**                   &x, &rows, &cols);      // x.p: rows x cols float32
**   nn_buf_free(&x);
**
** A query's columns become numbers in their order: an INTEGER or REAL is
** one, a TEXT holding a JSON array of numbers is as many as it holds (the
** same count in every row); NULL, a BLOB or any other text is an error
** naming the row and the column.  This is not the binding: no lua.h; the
** results go into the caller's nn_buf, which the caller frees.
*/
#ifndef NN_STORE_DATA_H
#define NN_STORE_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "store/nn_store.h"

/* A value bound to a query parameter, nn_store_param, is nn_store.h's
** nn_store_value: store:rows binds the same values, with the same
** tags (NN_STORE_NULL, _INTEGER, _FLOAT, _TEXT), bound through the store's
** cursor on either engine. */

/* Run the single statement sql (len bytes) with params bound to ?1.. and
** append every row's numbers to out as float32; *cols is the count per row
** (with no rows, one per result column). */
int nn_store_matrix(nn_store *s, const char *sql, size_t len,
                    const nn_store_param *params /* [n_params] */, size_t n_params,
                    nn_buf *out, size_t *rows, size_t *cols);

/* The predictions of model name (of its version `version`, or of every
** version when 0) whose latest feedback gives their true class, in the
** order they were logged: x gets their inputs as float32 rows, t their
** classes as int64 (1-based), ids their prediction ids as int64.  The
** classes are the feedback's indices; with labels (a JSON array of label
** strings) or map (the name of one of the model's label maps) they are the
** positions of the feedback's labels in those labels instead, and a label
** that is not there is an error naming the prediction. */
int nn_store_feedback_set(nn_store *s, const char *name, int64_t version,
                          const char *labels /* or NULL */, size_t labels_len,
                          const char *map /* or NULL */,
                          nn_buf *x, nn_buf *t, nn_buf *ids, size_t *rows, size_t *cols);

#endif
