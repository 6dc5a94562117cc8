/*
** store_check.c: the store from C with SQLite's length limit lowered to
** 1000 bytes, for spec/log_atomic_spec.lua: every value over it is refused
** with its name, and nothing of the refused call is written; so is an
** output or input that is not finite (it has no label).  It prints one
** line per call, the store's message or "ok"; it holds no expected value.
**
**   store_check models.db
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/nn_store.h"

static void say(const char *what, int st, const nn_store *s) {
  printf("%s: %s\n", what, st == NN_OK ? "ok" : s->err);
}

static long long count(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  long long n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM nn_prediction", -1, &st, NULL) ==
      SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

int main(int argc, char **argv) {
  static char big[2001];
  nn_layer arch[] = { NN_DENSE(2, 2) };
  const char *labels[] = { "a", "b" };
  char err[NN_ERRMAX];
  nn_net *net;
  nn_store s;
  nn_store_saved saved;
  nn_store_row row;
  float x[2] = { 1, 2 }, y[2] = { 0.25f, 0.75f };
  int64_t id;
  if (argc != 2 || !(net = nn_net_new(arch, 1, err)))
    return 2;
  memset(net->params, 0, net->n_params * sizeof(float));
  memset(big, 'r', 2000);
  nn_store_init(&s);
  if (nn_store_open(&s, argv[1], NULL) != NN_OK) {
    fprintf(stderr, "%s\n", s.err);
    return 1;
  }
  sqlite3_limit(s.db, SQLITE_LIMIT_LENGTH, 1000);
  say("save with a long note", nn_store_save(&s, "m", net, big, labels, &saved), &s);
  say("save", nn_store_save(&s, "m", net, "short", labels, &saved), &s);
  memset(&row, 0, sizeof row);
  row.version_id = saved.version_id;
  row.labelmap_id = saved.labelmap_id;
  row.x = x;
  row.n_x = 2;
  row.y = y;
  row.n_y = 2;
  row.request_id = big;
  row.request_len = 2000;
  say("log with a long request_id", nn_store_log(&s, &row, &id), &s);
  row.request_id = "r\0r";
  row.request_len = 3;
  say("log with a zero byte in request_id", nn_store_log(&s, &row, &id), &s);
  row.request_id = NULL;
  row.tags = big;
  row.tags_len = 2000;
  say("log with long tags", nn_store_log(&s, &row, &id), &s);
  row.tags = NULL;
  y[1] = nanf("");
  say("log with a NaN output", nn_store_log(&s, &row, &id), &s);
  y[1] = -HUGE_VALF;
  say("log with an infinite output", nn_store_log(&s, &row, &id), &s);
  y[1] = 0.75f;
  x[0] = HUGE_VALF;
  say("log with an infinite input", nn_store_log(&s, &row, &id), &s);
  x[0] = 1;
  say("log", nn_store_log(&s, &row, &id), &s);
  say("flush", nn_store_flush(&s), &s);
  printf("rows: %lld, the last id %s\n", count(s.db), id > 0 ? "given" : "not given");
  nn_store_close(&s);
  nn_net_free(net);
  return 0;
}
