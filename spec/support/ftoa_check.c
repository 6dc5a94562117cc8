/*
** ftoa_check.c: nn_ftoa (src/formats/nn_ftoa.c) checked against the C library, for
** spec/ftoa_spec.lua.
**
**   ftoa_check N          about N floats: every exponent, powers of two and
**                         of ten and their neighbours, subnormals, random
**                         bit patterns (a fixed seed)
**   ftoa_check all A B    every bit pattern from A to B (hex), both included
**   ftoa_check trip A B   the same, checking only that each text is JSON
**                         and reads back: a pass over all 2^32 in minutes
**   ftoa_check show X...  the text of each bit pattern X (hex), one a line
**
** For each finite float v it checks that the text
**   - is a JSON number (the grammar of RFC 8259, section 6);
**   - reads back with strtof as v, bit for bit (so -0 stays -0);
**   - has n significant digits and no decimal with n - 1 of them reads back
**     as v: the n - 1 digit neighbours of v (below, nearest, above) all
**     read back as something else;
**   - is the value printf's "%.{n}g" gives whenever that reads back as v:
**     the closest n-digit decimal.  When it does not (a power of two, whose
**     interval reaches further above than below), the text is shorter than
**     any "%.{p}g" that reads back: counted as "shorter".
** and that non-finite values give "null".  It prints "checked N",
** "failures F", "shorter S", then up to 20 lines "fail <hex> <text> <why>".
** It holds no expected texts itself.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_ftoa.h"

static unsigned long long checked, failures, shorter;

static void fail(uint32_t bits, const char *text, const char *why) {
  if (++failures <= 20)
    printf("fail %08lx %s %s\n", (unsigned long)bits, text, why);
}

static float from_bits(uint32_t bits) {
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static uint32_t to_bits(float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  return bits;
}

/* Does s read back as exactly the float with these bits? */
static int reads_as(const char *s, uint32_t bits) {
  char *end;
  float r = strtof(s, &end);
  return *end == '\0' && to_bits(r) == bits;
}

/* JSON's number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int is_json_number(const char *s) {
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (*s >= '1' && *s <= '9')
    while (*s >= '0' && *s <= '9') s++;
  else
    return 0;
  if (*s == '.') {
    if (!(*++s >= '0' && *s <= '9'))
      return 0;
    while (*s >= '0' && *s <= '9') s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!(*s >= '0' && *s <= '9'))
      return 0;
    while (*s >= '0' && *s <= '9') s++;
  }
  return *s == '\0';
}

/* Significant digits of a decimal text: leading and trailing zeros of its
** digit string (point and exponent left out) do not count. */
static int significant_digits(const char *s) {
  char d[64];
  size_t n = 0, first = 0;
  for (; *s && *s != 'e' && *s != 'E'; s++)
    if (*s >= '0' && *s <= '9' && n < sizeof d)
      d[n++] = *s;
  while (first < n && d[first] == '0') first++;
  while (n > first && d[n - 1] == '0') n--;
  return n > first ? (int)(n - first) : 1;
}

/* Does a decimal of p significant digits read back as v (bits)?  The ones
** to try are v's neighbours on the grid of p digits: printf's nearest D
** and D - 1, D + 1 around it (the round-trip set is an interval around v,
** so if it holds any p-digit decimal it holds the one next to v on that
** side).  When printf rounded up into the next decade (D = 10^(p-1)), the
** neighbour below lies on the finer grid of the decade below:
** 10^p - 1 there. */
static int shorter_exists(float v, uint32_t bits, int p) {
  char s[320], *e;
  long long d, pow;
  int x, k;
  snprintf(s, sizeof s, "%.*e", p - 1, fabs((double)v));
  e = strchr(s, 'e');
  x = atoi(e + 1);
  *e = '\0';
  d = 0;
  for (k = 0; s[k]; k++)
    if (s[k] >= '0' && s[k] <= '9')
      d = 10 * d + (s[k] - '0');
  for (k = -1; k <= 1; k++) {
    snprintf(s, sizeof s, "%s%llde%d", v < 0 ? "-" : "", d + k, x - p + 1);
    if (d + k > 0 && reads_as(s, bits))
      return 1;
  }
  for (k = 1, pow = 1; k < p; k++)
    pow *= 10;
  if (d == pow) {
    snprintf(s, sizeof s, "%s%llde%d", v < 0 ? "-" : "", 10 * pow - 1, x - p);
    return reads_as(s, bits);
  }
  return 0;
}

static int trip_only;

static void check(uint32_t bits) {
  char text[NN_FTOA_MAX + 1], ref[320];
  float v = from_bits(bits);
  size_t len = nn_ftoa(text, v);
  int n, p;
  checked++;
  if (len == 0 || len > NN_FTOA_MAX) {
    fail(bits, "?", "length out of range");
    return;
  }
  text[len] = '\0';
  if (!isfinite(v)) {
    if (strcmp(text, "null") != 0)
      fail(bits, text, "not null");
    return;
  }
  if (!is_json_number(text)) {
    fail(bits, text, "not a JSON number");
    return;
  }
  if (!reads_as(text, bits)) {
    fail(bits, text, "does not read back");
    return;
  }
  if (trip_only)
    return;
  n = significant_digits(text);
  if (n > 1 && shorter_exists(v, bits, n - 1)) {
    fail(bits, text, "a shorter decimal reads back");
    return;
  }
  snprintf(ref, sizeof ref, "%.*g", n, (double)v);
  if (reads_as(ref, bits)) {
    if (strtod(ref, NULL) != strtod(text, NULL))
      fail(bits, text, "not the closest decimal of its length");
    return;
  }
  /* printf's n digits do not read back: only a power of two, and no p-digit
  ** printf form with p < 10 may beat the text */
  if ((bits & 0x7FFFFF) != 0)
    fail(bits, text, "printf's nearest decimal of its length does not read back");
  for (p = 1; p < n; p++) {
    snprintf(ref, sizeof ref, "%.*g", p, (double)v);
    if (reads_as(ref, bits))
      fail(bits, text, "printf found a shorter decimal");
  }
  shorter++;
}

/* Both signs. */
static void check_both(uint32_t bits) {
  check(bits & 0x7FFFFFFFu);
  check(bits | 0x80000000u);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t next_random(void) {   /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (uint32_t)((rng * 0x2545F4914F6CDD1Du) >> 32);
}

static void sample(unsigned long long n) {
  uint32_t e, i, k;
  unsigned long long per_exponent = n / 4 / 256 + 1, j;
  /* values the text of nn_ftoa.h names, and the edges of the format */
  const float named[] = { 0.1f, 11.2f, 0.8f, 0.2f, 1e-45f, FLT_MIN, FLT_MAX,
                          FLT_EPSILON, 16777216.0f, 16777215.5f, 0.5f, 1e-5f,
                          1e-4f, 123456.7f, 1e10f, 3e7f, 0.0f };
  for (i = 0; i < sizeof named / sizeof named[0]; i++)
    check_both(to_bits(named[i]));
  /* every exponent: its powers of two with neighbours, random significands */
  for (e = 0; e < 256; e++) {
    for (k = 0; k < 4; k++) {
      check_both(e << 23 | k);
      check_both(e << 23 | (0x7FFFFF - k));
    }
    for (j = 0; j < per_exponent; j++)
      check_both(e << 23 | (next_random() & 0x7FFFFF));
  }
  /* the float nearest each power of ten, and its neighbours */
  for (k = 0; k <= 83; k++) {
    char s[16];
    uint32_t b;
    int d;
    snprintf(s, sizeof s, "1e%d", (int)k - 45);
    b = to_bits(strtof(s, NULL));
    for (d = -3; d <= 3; d++)
      if (b + (uint32_t)d < 0x7F800000u)
        check_both(b + (uint32_t)d);
  }
  /* the smallest subnormals, where the interval is widest for its value */
  for (i = 1; i < 4096; i++)
    check_both(i);
  /* and the rest at random, NaNs and infinities included */
  for (j = n / 2; j > 0; j--)
    check(next_random());
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "show") == 0) {
    int i;
    for (i = 2; i < argc; i++) {
      char text[NN_FTOA_MAX + 1];
      float v = from_bits((uint32_t)strtoul(argv[i], NULL, 16));
      text[nn_ftoa(text, v)] = '\0';
      printf("%s\n", text);
    }
    return 0;
  }
  if (argc == 4 && (strcmp(argv[1], "all") == 0 || strcmp(argv[1], "trip") == 0)) {
    trip_only = argv[1][0] == 't';
    uint32_t a = (uint32_t)strtoul(argv[2], NULL, 16);
    uint32_t b = (uint32_t)strtoul(argv[3], NULL, 16);
    for (;; a++) {
      check(a);
      if (a == b)
        break;
    }
  } else {
    sample(argc >= 2 ? strtoull(argv[1], NULL, 10) : 1000000);
  }
  printf("checked %llu\nfailures %llu\nshorter %llu\n", checked, failures, shorter);
  return failures != 0;
}
