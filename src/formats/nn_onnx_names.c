/*
** nn_onnx_names.c: the ONNX reader's names in a hash table (see
** nn_onnx_names.h): open addressing with linear probing over FNV-1a of the
** name's bytes, grown to stay at most half full, so that a lookup looks at
** a few slots whatever the number of names.  Every slot looked at is
** counted in probes, which a spec reads to prove the reader linear in its
** file without a timer.
**
** Not the rules about names (each defined once, no cycle): nn_onnx_read.c
** states those; this only stores and finds.
*/
#include <stdlib.h>
#include <string.h>

#include "engine/nn_engine.h"
#include "formats/nn_onnx_names.h"

static int same(nn_pb_span a, nn_pb_span b) {
  return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* The slot of name: where it is, or the free one where it would go. */
static size_t slot_of(nn_onnx_names *t, nn_pb_span name) {
  size_t i = (size_t)nn_fnv1a64(name.p, name.n) & (t->nslot - 1);
  for (;;) {
    t->probes++;
    if (!t->slot[i] || same(t->at[t->slot[i] - 1].name, name)) return i;
    i = (i + 1) & (t->nslot - 1);
  }
}

nn_onnx_name *nn_onnx_names_find(nn_onnx_names *t, nn_pb_span name) {
  size_t i;
  if (t->nslot == 0) return NULL;
  i = slot_of(t, name);
  return t->slot[i] ? &t->at[t->slot[i] - 1] : NULL;
}

/* Room for one more name, the slots at most half full after it. */
static int make_room(nn_onnx_names *t) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    nn_onnx_name *p = (nn_onnx_name *)realloc(t->at, cap * sizeof *p);
    if (p == NULL) return 0;
    t->at = p;
    t->cap = cap;
  }
  if (t->nslot < 2 * (t->n + 1)) {
    size_t n = t->nslot ? 2 * t->nslot : 64, j;
    size_t *slot = (size_t *)calloc(n, sizeof *slot), *old = t->slot;
    if (slot == NULL) return 0;
    t->slot = slot;
    t->nslot = n;
    for (j = 0; j < t->n; j++) t->slot[slot_of(t, t->at[j].name)] = j + 1;
    free(old);
  }
  return 1;
}

int nn_onnx_names_add(nn_onnx_names *t, nn_pb_span name, nn_onnx_name **e) {
  size_t i;
  if ((*e = nn_onnx_names_find(t, name)) != NULL) return 0;
  if (!make_room(t)) return -1;
  i = slot_of(t, name);
  *e = &t->at[t->n];
  memset(*e, 0, sizeof **e);
  (*e)->name = name;
  t->slot[i] = ++t->n;
  return 1;
}

void nn_onnx_names_free(nn_onnx_names *t) {
  free(t->at);
  free(t->slot);
  memset(t, 0, sizeof *t);
}
