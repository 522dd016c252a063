/* error.c - first-wins error detail. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

llmsyn_status error_set(struct error *err, llmsyn_status code, const char *fmt, ...)
{
    va_list ap;

    if (!err || err->code != LLMSYN_OK)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

void error_clear(struct error *err)
{
    err->code = LLMSYN_OK;
    err->msg[0] = '\0';
}
