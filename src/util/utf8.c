/* utf8.c - UTF-8 validation shared by every reader of untrusted text. */
#include "util/utf8.h"

size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    size_t n, i;
    unsigned long cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] < 0xC2 || p[0] > 0xF4)
        return 0;
    n = p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    if (avail < n)
        return 0;
    cp = p[0] & (0x7F >> n);
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}
