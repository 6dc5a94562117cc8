/*
** nn_number.c: number text (see nn_number.h).
**
** What it implements: the check of a decimal's grammar, its conversion by
** strtod with the C locale's decimal point put in place of the text's '.',
** and the rounding to float32 with its range checked.
**
** What it is not: a JSON number grammar (the JSON reader checks the stricter
** one first), hexadecimal, "nan" or "inf" text, or a formatter.  Nothing
** here allocates: the text is copied to the C stack for strtod.
*/
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/nn_number.h"

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* Whether s[0..n) is a decimal as nn_number_read takes it; *dot gets the
** position of its '.' (n when it has none). */
static int is_decimal(const char *s, size_t n, size_t *dot) {
  size_t i = 0, digits = 0;
  *dot = n;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  for (; i < n && (is_digit(s[i]) || (s[i] == '.' && *dot == n)); i++) {
    if (s[i] == '.')
      *dot = i;
    else
      digits++;
  }
  if (digits == 0)
    return 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t exp_digits = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    for (; i < n && is_digit(s[i]); i++)
      exp_digits++;
    if (exp_digits == 0)
      return 0;
  }
  return i == n;
}

int nn_number_read(const char *s, size_t n, double *out) {
  char buf[NN_NUMBER_MAX + 1], *end;
  size_t dot;
  if (n == 0 || n > NN_NUMBER_MAX || !is_decimal(s, n, &dot))
    return 0;
  /* strtod reads the locale's decimal point, which a host may have set to
  ** a comma: give it that one */
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (dot < n)
    buf[dot] = localeconv()->decimal_point[0];
  *out = strtod(buf, &end);
  return end == buf + n;
}

/* Up to half a unit in the last place above FLT_MAX still rounds to it (so
** "3.4028235e38", FLT_MAX printed shortest, fits); the tie goes to infinity. */
int nn_number_float(double v, float *out) {
  if (!(fabs(v) < (double)FLT_MAX + ldexp(1.0, 103)))
    return 0;
  *out = (float)v;
  return 1;
}
