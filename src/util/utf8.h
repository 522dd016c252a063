/* utf8.h - UTF-8 validation shared by every reader of untrusted text. */
#ifndef UTIL_UTF8_H
#define UTIL_UTF8_H

#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence at p (avail > 0 bytes), or 0 when it is malformed,
 * overlong, a surrogate, above U+10FFFF or cut short. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

#endif
