/* buf.h - growable byte buffer with a named cap; going over the cap is an error, never truncation. */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;  /* always NUL-terminated once anything was appended; owned */
    size_t len;
    size_t cap;
    size_t max;  /* hard cap on len; 0 means BUF_DEFAULT_MAX */
};

#define BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Zero-initialised struct buf is valid (default cap). */
void buf_init(struct buf *b, size_t max);
/* Each returns 0, or -1 when memory runs out or the cap would be passed (buffer unchanged). */
int buf_append(struct buf *b, const char *s, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Returns the contents ("" when empty); borrowed. */
const char *buf_str(const struct buf *b);
void buf_free(struct buf *b);

#endif
