/* error.h - first-wins error detail carried through the internals. */
#ifndef UTIL_ERROR_H
#define UTIL_ERROR_H

#include "llmsyn/llmsyn.h"

struct error {
    llmsyn_status code; /* LLMSYN_OK until the first error_set() */
    char msg[512];      /* one line, lowercase, no full stop; names the file/line/field */
};

/* Records an error unless one is already recorded (the first cause wins). Returns code. */
llmsyn_status error_set(struct error *err, llmsyn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void error_clear(struct error *err);

#endif
