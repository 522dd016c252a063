/* messages.c - the one place the CLI writes diagnostics. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
    fputs(CLI_NAME ": ", stderr);
    if (kind)
        fprintf(stderr, "%s: ", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("error", fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("warning", fmt, ap);
    va_end(ap);
}

void msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg(NULL, fmt, ap);
    va_end(ap);
}
