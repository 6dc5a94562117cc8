/*
** nn_store_owner.c: whose database a file is, from its bytes alone.
**
** What it implements: nn_st_file_owner reads the database header of a file
** (the application_id at offset 68, the user_version at 60, and whether
** page 1, the schema's page, holds any object) with plain reads, before
** SQLite opens it at all: an SQLite connection, even a read-only one,
** rolls back a hot journal and rebuilds a WAL's -shm, which would change a
** file nn then refuses.  A file in WAL mode may have its latest page 1 in
** its -wal: that file is read too, frame by frame, each checked against its
** salts and checksums as SQLite checks them ("The WAL File Format" in
** SQLite's documentation), and the page 1 of the last committed frame that
** holds one wins.  The same facts of an image in memory (nn_st_bytes_owner,
** its length checked against the pages its header counts), and whether a
** file is in WAL mode with commits in its -wal (nn_st_file_wal: how a
** read-only open may read it without leaving a file behind).  What it is
** not: a judge (nn_store.c decides what the owner means), a reader of
** anything else in the file; no SQLite, no Lua.
**
**   int64_t owner[3];   application_id, user_version, schema objects (0, 1)
**   int known;
**   nn_st_file_owner("models.db", owner, &known);
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/nn_store_int.h"

#define HEADER_BYTES  108   /* the database header and page 1's b-tree header */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* SQLite's WAL checksum over n bytes (a multiple of 8) of p, continuing
** s[2]; big: the words are big-endian (the magic's low bit). */
static void wal_checksum(const unsigned char *p, size_t n, int big, uint32_t s[2]) {
  size_t i;
  for (i = 0; i + 8 <= n; i += 8) {
    s[0] += (big ? be32(p + i) : le32(p + i)) + s[1];
    s[1] += (big ? be32(p + i + 4) : le32(p + i + 4)) + s[0];
  }
}

/* The page 1 of the last commit in the -wal at path into page (size
** bytes): 1 when there is one, 0 when the -wal holds none (or is not
** there, or its frames are for another page size), -1 when memory runs
** out.  *commits: how many valid commits the -wal holds. */
static int wal_page1(const char *path, unsigned char *page, size_t size, int *commits) {
  unsigned char head[32], frame[24], *data, *pending;
  uint32_t s[2] = { 0, 0 };
  int big, found = 0, have_pending = 0;
  FILE *f;
  size_t n = strlen(path);
  char *name = (char *)malloc(n + 5);
  *commits = 0;
  if (!name)
    return -1;
  memcpy(name, path, n);
  memcpy(name + n, "-wal", 5);
  f = fopen(name, "rb");
  free(name);
  if (!f)
    return 0;
  data = (unsigned char *)malloc(2 * size);
  if (!data || fread(head, 1, 32, f) != 32 || (be32(head) & ~1u) != 0x377f0682u ||
      be32(head + 8) != (size == 65536 ? 1 : size)) {
    fclose(f);
    free(data);
    return data ? 0 : -1;
  }
  pending = data + size;
  big = be32(head) & 1;
  wal_checksum(head, 24, big, s);
  if (s[0] != be32(head + 24) || s[1] != be32(head + 28))
    goto done;
  while (fread(frame, 1, 24, f) == 24 && fread(data, 1, size, f) == size) {
    if (memcmp(frame + 8, head + 16, 8) != 0)   /* salts of another generation */
      break;
    wal_checksum(frame, 8, big, s);
    wal_checksum(data, size, big, s);
    if (s[0] != be32(frame + 16) || s[1] != be32(frame + 20))
      break;
    if (be32(frame) == 1) {
      memcpy(pending, data, size);
      have_pending = 1;
    }
    if (be32(frame + 4) != 0)
      ++*commits;
    if (be32(frame + 4) != 0 && have_pending) {   /* a commit: page 1 as of it */
      memcpy(page, pending, size);
      found = 1;
    }
  }
done:
  fclose(f);
  free(data);
  return found;
}

/* The owner from a page 1's first HEADER_BYTES bytes. */
static void owner_of_page1(const unsigned char *p, int64_t owner[3]) {
  owner[0] = (int64_t)(int32_t)be32(p + 68);   /* as PRAGMA application_id says */
  owner[1] = (int64_t)(int32_t)be32(p + 60);
  /* a leaf page of no cells: sqlite_schema is empty */
  owner[2] = !(p[100] == 0x0d && p[103] == 0 && p[104] == 0);
}

/* The page size of a database header, or 0 when head is none. */
static size_t page_size_of(const unsigned char *head) {
  size_t size;
  if (memcmp(head, "SQLite format 3", 16) != 0)
    return 0;
  size = (size_t)head[16] << 8 | head[17];
  if (size == 1)
    size = 65536;
  return size < 512 || (size & (size - 1)) != 0 ? 0 : size;
}

/* The file's first HEADER_BYTES bytes into head: their count, or 0 when
** there is no file (or it cannot be read, or is empty). */
static size_t read_head(const char *path, unsigned char head[HEADER_BYTES]) {
  size_t got;
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  got = fread(head, 1, HEADER_BYTES, f);
  fclose(f);
  return got;
}

/* The -wal's last page 1 over owner, and its commits in *commits. */
static int wal_owner(const char *path, size_t size, int64_t owner[3], int *commits) {
  unsigned char *page = (unsigned char *)malloc(size);
  int wal;
  if (!page)
    return NN_ENOMEM;
  if ((wal = wal_page1(path, page, size, commits)) > 0)
    owner_of_page1(page, owner);
  free(page);
  return wal < 0 ? NN_ENOMEM : NN_OK;
}

int nn_st_file_owner(const char *path, int64_t owner[3], int *known) {
  unsigned char head[HEADER_BYTES];
  size_t size, got;
  int commits;
  *known = 0;
  if ((got = read_head(path, head)) == 0)
    return NN_OK;   /* not there (SQLite makes it), not ours to read, or empty */
  if (got < sizeof head || (size = page_size_of(head)) == 0)
    return NN_ENOTADB;
  owner_of_page1(head, owner);
  *known = 1;
  return wal_owner(path, size, owner, &commits);
}

int nn_st_file_wal(const char *path, int *wal_mode, int *commits) {
  unsigned char head[HEADER_BYTES];
  int64_t owner[3];
  size_t size;
  *wal_mode = *commits = 0;
  if (read_head(path, head) < sizeof head || (size = page_size_of(head)) == 0)
    return NN_OK;   /* SQLite says what it is */
  *wal_mode = head[18] == 2 || head[19] == 2;
  return wal_owner(path, size, owner, commits);
}

const char *nn_st_bytes_owner(const unsigned char *p, size_t n, int64_t owner[3]) {
  size_t size, pages;
  if (n == 0)
    return "empty (0 bytes)";
  if (n < 16 || memcmp(p, "SQLite format 3", 16) != 0)
    return "not an SQLite database (no 'SQLite format 3' header)";
  if (n < HEADER_BYTES)
    return "truncated (shorter than its header)";
  if ((size = page_size_of(p)) == 0)
    return "not an SQLite database (its page size is none SQLite writes)";
  /* the page count at offset 28 is valid when the change counter at 24 is
  ** repeated at 92 (SQLite's "The Database Header") */
  pages = be32(p + 28);
  if (n % size != 0 || (memcmp(p + 24, p + 92, 4) == 0 && n / size < pages))
    return "truncated (its length is not the pages its header counts)";
  owner_of_page1(p, owner);
  return NULL;
}
