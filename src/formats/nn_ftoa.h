/*
** nn_ftoa.h: a float32 as the shortest decimal text that reads back as the
** same float, in JSON syntax.
**
**   char s[NN_FTOA_MAX];
**   size_t n = nn_ftoa(s, 11.2f);      s = "11.2", n = 4
**
** It needs no printf, no strtof and no locale (a comma locale still gets a
** dot), and allocates nothing.  It is not a parser, and not for doubles.
*/
#ifndef NN_FTOA_H
#define NN_FTOA_H

#include <stddef.h>

/* Room for any text nn_ftoa writes: "-1.2345678e-38" and the like. */
#define NN_FTOA_MAX  16

/* Write v into out (not terminated) and return its length:
**  - "null" when v is NaN or infinite (JSON has no such numbers);
**  - whole numbers below 2^24 in magnitude digit by digit: "255", "-3";
**  - anything else with the fewest significant digits that strtof reads
**    back as exactly v (the closest such decimal to v when several are that
**    short), laid out as printf's "%.{P}g" would with P = max(6, digits):
**    "0.1", "1e-45", "3.4028235e+38", "-0".
*/
size_t nn_ftoa(char *out /* [NN_FTOA_MAX] */, float v);

#endif
