/*
** nn_ftoa.c: the shortest decimal text of a float32 (see nn_ftoa.h).
**
** What it implements: the Schubfach method for binary32.  A finite float is
** c * 2^q; every real number closer to it than to its neighbours (its
** rounding interval) reads back as it.  With k = floor(log10 of the
** interval's width), the interval holds one or two multiples of 10^k and at
** most one multiple of 10^(k+1); which of them lie inside follows from
** v * 10^-k and the interval's ends at the same scale, computed here to 31
** bits past the point from a 63-bit table of powers of ten and rounded to
** odd, which is enough to decide every comparison exactly for binary32.
** The decimal is then written without printf: nothing depends on the C
** locale, and nothing is read back with strtof.
**
** What it is not: a general printf replacement (no doubles, no precision
** argument) and not a parser.  spec/support/ftoa_check.c checks it against
** strtof and printf over millions of floats.
*/
#include <stdint.h>
#include <string.h>

#include "formats/nn_ftoa.h"

#define C_MIN  (UINT32_C(1) << 23)   /* the significand of a power of two */
#define Q_MIN  (-149)                /* the exponent of every subnormal */
#define E_MIN  (-31)                 /* G[i] is for 10^(E_MIN + i) */

/* G[e - E_MIN] = floor(10^e * 2^(62 - floor(log2 10^e))) + 1, for e in
** -31..45: 10^e scaled into [2^62, 2^63), rounded up.  Every k a binary32
** needs (-45..31) is -e for one of them. */
static const uint64_t G[] = {
  UINT64_C(0x40e7599625a1fe7b), UINT64_C(0x51212ffbaf0a7e19), UINT64_C(0x65697bfa9acd1da0),
  UINT64_C(0x7ec3daf941806507), UINT64_C(0x4f3a68dbc8f03f25), UINT64_C(0x63090312bb2c4eee),
  UINT64_C(0x7bcb43d769f762a9), UINT64_C(0x4d5f0a66a23a9daa), UINT64_C(0x60b6cd004ac94514),
  UINT64_C(0x78e480405d7b9659), UINT64_C(0x4b8ed0283a6d3df8), UINT64_C(0x5e72843249088d76),
  UINT64_C(0x760f253edb4ab0d3), UINT64_C(0x49c97747490eae84), UINT64_C(0x5c3bd5191b525a25),
  UINT64_C(0x734aca5f6226f0ae), UINT64_C(0x480ebe7b9d58566d), UINT64_C(0x5a126e1a84ae6c08),
  UINT64_C(0x709709a125da070a), UINT64_C(0x465e6604b7a84466), UINT64_C(0x57f5ff85e5925580),
  UINT64_C(0x6df37f675ef6eae0), UINT64_C(0x44b82fa09b5a52cc), UINT64_C(0x55e63b88c230e77f),
  UINT64_C(0x6b5fca6af2bd215f), UINT64_C(0x431bde82d7b634db), UINT64_C(0x53e2d6238da3c212),
  UINT64_C(0x68db8bac710cb296), UINT64_C(0x4189374bc6a7ef9e), UINT64_C(0x51eb851eb851eb86),
  UINT64_C(0x6666666666666667), UINT64_C(0x4000000000000001), UINT64_C(0x5000000000000001),
  UINT64_C(0x6400000000000001), UINT64_C(0x7d00000000000001), UINT64_C(0x4e20000000000001),
  UINT64_C(0x61a8000000000001), UINT64_C(0x7a12000000000001), UINT64_C(0x4c4b400000000001),
  UINT64_C(0x5f5e100000000001), UINT64_C(0x7735940000000001), UINT64_C(0x4a817c8000000001),
  UINT64_C(0x5d21dba000000001), UINT64_C(0x746a528800000001), UINT64_C(0x48c2739500000001),
  UINT64_C(0x5af3107a40000001), UINT64_C(0x71afd498d0000001), UINT64_C(0x470de4df82000001),
  UINT64_C(0x58d15e1762800001), UINT64_C(0x6f05b59d3b200001), UINT64_C(0x4563918244f40001),
  UINT64_C(0x56bc75e2d6310001), UINT64_C(0x6c6b935b8bbd4001), UINT64_C(0x43c33c1937564801),
  UINT64_C(0x54b40b1f852bda01), UINT64_C(0x69e10de76676d081), UINT64_C(0x422ca8b0a00a4251),
  UINT64_C(0x52b7d2dcc80cd2e5), UINT64_C(0x6765c793fa10079e), UINT64_C(0x409f9cbc7c4a04c3),
  UINT64_C(0x50c783eb9b5c85f3), UINT64_C(0x64f964e68233a770), UINT64_C(0x7e37be2022c0914c),
  UINT64_C(0x4ee2d6d415b85acf), UINT64_C(0x629b8c891b267183), UINT64_C(0x7b426fab61f00de4),
  UINT64_C(0x4d0985cb1d3608af), UINT64_C(0x604be73de4838ada), UINT64_C(0x785ee10d5da46d91),
  UINT64_C(0x4b3b4ca85a86c47b), UINT64_C(0x5e0a1fd271287599), UINT64_C(0x758ca7c70d7292ff),
  UINT64_C(0x4977e8dc68679be0), UINT64_C(0x5bd5e313828182d7), UINT64_C(0x72cb5bd86321e38d),
  UINT64_C(0x47bf19673df52e38), UINT64_C(0x59aedfc10d7279c6)
};

/* floor(a / 2^s) for a of either sign (>> of a negative int is left to the
** implementation by C99). */
static int floor_shift(int32_t a, int s) {
  return a >= 0 ? (int)(a >> s) : -(int)((-(int64_t)a + (INT64_C(1) << s) - 1) >> s);
}

/* floor(log10(2^q)), floor(log10(3/4 * 2^q)) for q in -149..104, and
** floor(log2(10^e)) for e in -31..45: fixed-point approximations whose
** floors are exact on those ranges (checked with exact rationals when the
** constants were chosen, and by every float the checker formats). */
static int floor_log10_pow2(int q) {
  return floor_shift(q * 315653, 20);
}

static int floor_log10_three_quarters_pow2(int q) {
  return floor_shift(q * 315653 - 131008, 20);
}

static int floor_log2_pow10(int e) {
  return floor_shift(e * 1741647, 19);
}

/* The high 64 bits of the 128-bit product a * b, from 32-bit halves. */
static uint64_t mul_high(uint64_t a, uint64_t b) {
  uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
  return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* g * cp / 2^95, truncated and rounded to odd: its lowest bit says whether
** anything was cut off, which is what keeps the comparisons exact. */
static uint32_t round_to_odd(uint64_t g, uint64_t cp) {
  uint64_t x = mul_high(g, cp);
  return (uint32_t)(x >> 31) | ((x & 0x7FFFFFFFu) != 0);
}

/* The decimal d * 10^*e10 with the fewest digits in the rounding interval
** of c * 2^q (c > 0), the closest to it when two are that short (the even
** one on a tie).  d may end in zeros. */
static uint32_t shortest(uint32_t c, int q, int *e10) {
  /* Four times the value and the interval's ends, in units of 2^(q-2):
  ** the interval reaches half a unit of c below, a quarter below a power
  ** of two (whose lower neighbour is closer), half a unit above. */
  uint64_t cb = (uint64_t)c << 2, cbl, cbr = cb + 2;
  /* an odd c excludes the ends (they read back as the even neighbour) */
  uint32_t out = c & 1, vb, vbl, vbr, s, t, sp10, tp10;
  uint64_t g;
  int k, h, up_in, wp_in, u_in, w_in;
  if (c != C_MIN || q == Q_MIN) {
    cbl = cb - 2;
    k = floor_log10_pow2(q);
  } else {
    cbl = cb - 1;
    k = floor_log10_three_quarters_pow2(q);
  }
  /* cb << h < 2^63 because h is 33..36 and cb < 2^26 */
  h = q + floor_log2_pow10(-k) + 33;
  g = G[-k - E_MIN];
  vb = round_to_odd(g, cb << h);      /* ~ 4 v 10^-k */
  vbl = round_to_odd(g, cbl << h);
  vbr = round_to_odd(g, cbr << h);
  *e10 = k;
  /* A multiple of 10^(k+1) inside is shorter than anything else: at most
  ** one can be, as the interval is narrower than 10^(k+1). */
  s = vb >> 2;
  sp10 = s / 10 * 10;
  tp10 = sp10 + 10;
  up_in = vbl + out <= sp10 << 2;
  wp_in = (tp10 << 2) + out <= vbr;
  if (up_in != wp_in)
    return up_in ? sp10 : tp10;
  /* Else s * 10^k or (s + 1) * 10^k: the interval, at least 10^k wide,
  ** holds one of them; when it holds both, the closer wins. */
  t = s + 1;
  u_in = vbl + out <= s << 2;
  w_in = (t << 2) + out <= vbr;
  if (u_in != w_in)
    return u_in ? s : t;
  if (vb != (s + t) << 1)
    return vb < (s + t) << 1 ? s : t;
  return s & 1 ? t : s;
}

/* Write the n digits of d (n >= 1) to p, most significant first. */
static void put_digits(char *p /* [n] */, uint32_t d, int n) {
  while (n-- > 0) {
    p[n] = (char)('0' + d % 10);
    d /= 10;
  }
}

static int count_digits(uint32_t d) {
  int n = 1;
  while (d >= 10) {
    d /= 10;
    n++;
  }
  return n;
}

size_t nn_ftoa(char *out, float v) {
  char digits[10], *p = out;
  uint32_t bits, biased, c, d;
  int q, e10, n, e, i;
  memcpy(&bits, &v, sizeof bits);
  biased = (bits >> 23) & 0xFF;
  if (biased == 0xFF) {
    memcpy(out, "null", 4);
    return 4;
  }
  if (bits >> 31)
    *p++ = '-';
  /* Whole numbers below 2^24 (every one exact in a float: pixel values,
  ** counts, sizes) are their own shortest text, written without a point
  ** or an exponent. */
  if (v > -16777216.0f && v < 16777216.0f && v == (float)(int32_t)v) {
    d = (uint32_t)(v < 0 ? -v : v);
    n = count_digits(d);
    put_digits(p, d, n);
    return (size_t)(p - out) + (size_t)n;
  }
  if (biased) {
    c = (bits & 0x7FFFFF) | C_MIN;
    q = (int)biased - 150;
  } else {
    c = bits & 0x7FFFFF;   /* not 0: zero was a whole number */
    q = Q_MIN;
  }
  d = shortest(c, q, &e10);
  while (d % 10 == 0) {
    d /= 10;
    e10++;
  }
  n = count_digits(d);
  put_digits(digits, d, n);
  e = e10 + n - 1;   /* v = d.ddd * 10^e */
  if (e < -4 || e >= (n > 6 ? n : 6)) {
    *p++ = digits[0];
    if (n > 1) {
      *p++ = '.';
      memcpy(p, digits + 1, (size_t)n - 1);
      p += n - 1;
    }
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    if (e < 0)
      e = -e;
    *p++ = (char)('0' + e / 10);   /* at least two digits, as printf */
    *p++ = (char)('0' + e % 10);
  } else if (e >= 0) {
    for (i = 0; i <= e || i < n; i++) {
      if (i == e + 1)
        *p++ = '.';
      *p++ = i < n ? digits[i] : '0';
    }
  } else {
    *p++ = '0';
    *p++ = '.';
    for (i = -1; i > e; i--)
      *p++ = '0';
    memcpy(p, digits, (size_t)n);
    p += n;
  }
  return (size_t)(p - out);
}
