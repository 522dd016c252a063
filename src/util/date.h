/* date.h - proleptic Gregorian calendar arithmetic without the C library's time zone state. */
#ifndef UTIL_DATE_H
#define UTIL_DATE_H

#include <stdint.h>

/* Days since 1970-01-01 of a civil date, and back. */
int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

#endif
