/* gzip.c - gzip compression of request bodies with zlib's deflate (windowBits 15 + 16 writes a gzip header). */
#include "net/gzip.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <zlib.h>

#include "llmsyn/llmsyn.h"

int gzip_compress(const char *in, size_t len, char **out, size_t *outlen, struct error *err)
{
    z_stream z = { 0 };
    unsigned char *buf = NULL;
    uLong bound;
    int ret = -1;

    *out = NULL;
    *outlen = 0;
    if (len > UINT_MAX / 2)
        return error_set(err, LLMSYN_E_INPUT, "body of %zu bytes is too large to compress", len), -1;
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return error_set(err, LLMSYN_E_NOMEM, "cannot start gzip compression"), -1;
    bound = deflateBound(&z, (uLong)len) + 32;
    if (!(buf = malloc(bound))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        error_set(err, LLMSYN_E_NOMEM, "gzip compression failed");
        goto out;
    }
    *outlen = (size_t)z.total_out;
    *out = (char *)buf;
    buf = NULL;
    ret = 0;
out:
    deflateEnd(&z);
    free(buf);
    return ret;
}
