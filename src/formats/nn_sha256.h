/*
** nn_sha256.h: SHA-256 (FIPS 180-4), for the digests the store keeps over
** every immutable row it trusts on load.
**
**   nn_sha256 h;
**   char hex[NN_SHA256_HEX];
**   nn_sha256_init(&h);
**   nn_sha256_add(&h, "abc", 3);
**   nn_sha256_hex(&h, hex);     "ba7816bf8f01cfea414140de5dae2223b00361a3..."
**
** Plain C99, no allocation, no SQLite, no Lua.  Not an HMAC or a signature:
** whoever can write the row can write its digest too.
*/
#ifndef NN_SHA256_H
#define NN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define NN_SHA256_HEX  65   /* 64 lowercase hex digits and a '\0' */

typedef struct nn_sha256 {
  uint32_t h[8];
  uint64_t bytes;             /* added so far */
  unsigned char block[64];    /* [bytes % 64] of them waiting */
} nn_sha256;

void nn_sha256_init(nn_sha256 *c);
void nn_sha256_add(nn_sha256 *c, const void *data, size_t n);
/* Finish: the digest as 64 lowercase hex digits into hex.  c is spent. */
void nn_sha256_hex(nn_sha256 *c, char hex[NN_SHA256_HEX]);

/* Add v as the store's digests lay out an integer: in decimal, then a
** newline (so that 1, 23 and 12, 3 differ). */
void nn_sha256_int(nn_sha256 *c, int64_t v);

#endif
