/*
** nn_arch.h: a version's architecture read from its JSON text, in C.
**
**   [{"type":"Linear","in":4,"out":3},{"type":"ReLU"},{"type":"Linear",...}]
**
** is the text the store writes for every version (nn_store_arch_json, the
** same bytes in SQLite and PostgreSQL).  The two stores read it back with
** their database's own JSON functions, inside the query that finds the
** version; a reader that has the text and no SQL around it (the functions
** inside PostgreSQL, src/pgext/) reads it here, with the same rules and
** the same messages: every layer an object with a known "type", its sizes
** ("in" and "out", or "n") whole numbers in 1..NN_MAX_WIDTH, each of its
** kind's hyper-parameters a number in its range; other members ignored.
**
** What it is not: the layout (nn_layout checks the widths against each
** other and counts the parameters) or a writer.
*/
#ifndef NN_ARCH_H
#define NN_ARCH_H

#include <stddef.h>

#include "engine/nn_engine.h"

/* The layers of the architecture text[0..len) into layers (at most max;
** layer i's hyper-parameters at hyper + i * nn_hyper_most()), their
** number into *n.  NN_OK, or NN_EFORMAT with err naming the layer
** (1-based) and what is wrong with it, or the byte of a malformed text. */
int nn_arch_read(const char *text, size_t len, nn_layer *layers /* [max] */,
                 float *hyper /* [max * nn_hyper_most()] */, size_t max, size_t *n,
                 char err[NN_ERRMAX]);

#endif
