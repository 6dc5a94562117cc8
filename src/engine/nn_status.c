/*
** nn_status.c: the short names of nn's statuses (nn_engine.h), the words
** nn.open returns as its third value when the environment fails.
**
** One table, read by every layer: the store names what SQLite said, the
** binding hands the name to Lua.  Not the messages: those are written
** where the failure is seen, into the caller's error buffer.
*/
#include <stddef.h>

#include "engine/nn_engine.h"

static const char *const names[NN_STATUS_COUNT] = {
  [NN_OK] = "ok",
  [NN_ECANTOPEN] = "cantopen",
  [NN_ENOTADB] = "notadb",
  [NN_ECORRUPT] = "corrupt",
  [NN_EBUSY] = "busy",
  [NN_EREADONLY] = "readonly",
  [NN_EIO] = "ioerr",
  [NN_EFULL] = "full",
  [NN_EFOREIGN] = "foreign",
  [NN_ESCHEMA] = "schema",
};

const char *nn_status_name(int status) {
  if (status < 0 || status >= NN_STATUS_COUNT || names[status] == NULL) return "error";
  return names[status];
}
