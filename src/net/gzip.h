/* gzip.h - gzip compression of request bodies (zlib). */
#ifndef NET_GZIP_H
#define NET_GZIP_H

#include <stddef.h>

#include "util/error.h"

/* Compresses len bytes of in into a gzip member in *out (caller frees), *outlen bytes.
 * Returns 0, or -1 with err (LLMSYN_E_NOMEM, or LLMSYN_E_INPUT when in is too large for zlib). */
int gzip_compress(const char *in, size_t len, char **out, size_t *outlen, struct error *err);

#endif
