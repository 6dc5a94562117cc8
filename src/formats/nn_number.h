/*
** nn_number.h: number text, read the same way everywhere nn reads one: a
** decimal to a double whatever the C locale says, and a double to float32
** with its range checked.
**
**   double d;
**   float f;
**   if (nn_number_read("-1.25e1", 7, &d) && nn_number_float(d, &f))
**     ...                                       d = -12.5, f = -12.5f
**
** The data readers (CSV, FANN .data), the JSON reader (nn_json_read.h) and
** the binding read numbers through these.  A host may set LC_NUMERIC to a
** locale whose decimal point is a comma: the text still has a '.'.
**
** This is not a JSON number grammar (nn_json_read.h checks that before it
** asks), not a writer (nn_ftoa.h, nn_json.h), and knows no file, Lua or
** SQLite.
*/
#ifndef NN_NUMBER_H
#define NN_NUMBER_H

#include <stddef.h>

/* The longest text nn_number_read takes: the exact decimal of a double runs
** to 767 significant digits, so any number a program prints fits. */
#define NN_NUMBER_MAX  1100

/* The longest number the data readers take from a field (CSV, FANN .data,
** the store's JSON arrays): longer ones are refused, not cut. */
#define NN_NUMBER_FIELD_MAX  120

/* The decimal number in s[0..n) (optional sign, digits with at most one
** '.', optional exponent: JSON's numbers, plus a leading '+' or '.', a
** trailing '.' and leading zeros), in double precision, +-HUGE_VAL beyond a
** double's range; 0 when s is anything else ("nan", "0x1p3", "1,5", "") or
** longer than NN_NUMBER_MAX. */
int nn_number_read(const char *s, size_t n, double *out);

/* v as float32 into *out; 0 for NaN and for what rounds beyond float32's
** range (up to half a unit in the last place above FLT_MAX still fits). */
int nn_number_float(double v, float *out);

#endif
