/* tsv.c - reads a dictionary table: one read of the file, whole-file checks (UTF-8, control characters,
 * final newline, header line), then rows split in place; every error names file and line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codes/dict_internal.h"
#include "util/utf8.h"

int tsv_fail(const struct tsv *t, struct error *err, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_set(err, LLMSYN_E_INPUT, "%s:%u: %s", t->path, (unsigned)t->line, msg);
    return -1;
}

/* Reads fd to its end into buf (cap bytes). Returns the bytes read, or -1 (errno set). */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    while (got < cap) {
        n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

char *read_file(struct arena *a, const char *path, size_t *len, struct error *err)
{
    struct stat st;
    char *buf = NULL;
    ssize_t got;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        error_set(err, LLMSYN_E_INPUT, "'%s' is not a regular file", path);
        goto out;
    }
    if ((unsigned long long)st.st_size > DICT_MAX_FILE) {
        error_set(err, LLMSYN_E_INPUT, "%s: file is larger than %zu bytes", path, DICT_MAX_FILE);
        goto out;
    }
    /* one byte more than the size, to see a file that grew, and room for the NUL */
    buf = arena_alloc(a, (size_t)st.st_size + 2);
    if (!buf) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    got = read_all(fd, buf, (size_t)st.st_size + 1);
    if (got < 0 || (size_t)got > (size_t)st.st_size) {
        error_set(err, LLMSYN_E_INPUT, "cannot read '%s': %s", path, got < 0 ? strerror(errno) : "file changed");
        buf = NULL;
        goto out;
    }
    buf[got] = '\0';
    *len = (size_t)got;
out:
    close(fd);
    return buf;
}

/* Whole-file checks; sets t->rows. */
static int check_bytes(struct tsv *t, const char *data, size_t len, struct error *err)
{
    size_t i = 0, k, start = 0;

    t->line = 1;
    t->rows = 0;
    if (len == 0)
        return tsv_fail(t, err, "file is empty");
    while (i < len) {
        unsigned char c = (unsigned char)data[i];

        if (c == '\n') {
            t->line++;
            t->rows++;
            start = ++i;
            continue;
        }
        if (c >= 0x20 && c < 0x80) { /* the common case */
            i++;
            continue;
        }
        if (c < 0x20 && c != '\t')
            return tsv_fail(t, err, "control character 0x%02x at byte %zu of the line", c, i - start + 1);
        k = utf8_seq_len((const unsigned char *)data + i, len - i);
        if (k == 0)
            return tsv_fail(t, err, "invalid UTF-8 (byte 0x%02x at byte %zu of the line)", c, i - start + 1);
        i += k;
    }
    if (data[len - 1] != '\n')
        return tsv_fail(t, err, "truncated line: the file does not end with a newline");
    t->rows--; /* the header */
    return 0;
}

int tsv_init(struct tsv *t, const char *path, char *data, size_t len, const char *header, struct error *err)
{
    size_t hl = strlen(header);

    memset(t, 0, sizeof *t);
    t->path = path;
    if (check_bytes(t, data, len, err) < 0)
        return -1;
    t->line = 1;
    if (len < hl + 1 || memcmp(data, header, hl) != 0 || data[hl] != '\n')
        return tsv_fail(t, err, "first line is not the header '%s' (see docs/codes.md)", header);
    if (t->rows > DICT_MAX_ROWS)
        return tsv_fail(t, err, "more than %u rows", DICT_MAX_ROWS);
    t->p = data + hl + 1;
    t->end = data + len;
    return 0;
}

int tsv_open(struct tsv *t, struct arena *a, const char *path, const char *header, struct error *err)
{
    size_t len = 0;
    char *data = read_file(a, path, &len, err);

    if (!data)
        return -1;
    return tsv_init(t, path, data, len, header, err);
}

int tsv_next(struct tsv *t, char **f, size_t nf, struct error *err)
{
    char *nl;
    size_t k = 0;

    if (t->p >= t->end)
        return 0;
    t->line++;
    nl = memchr(t->p, '\n', (size_t)(t->end - t->p)); /* present: the file ends with one */
    *nl = '\0';
    f[k++] = t->p;
    for (char *q = t->p; q < nl; q++) {
        if (*q != '\t')
            continue;
        *q = '\0';
        if (k == nf)
            return tsv_fail(t, err, "expected %zu tab-separated fields, found more", nf);
        f[k++] = q + 1;
    }
    t->p = nl + 1;
    if (k != nf)
        return tsv_fail(t, err, "expected %zu tab-separated fields, found %zu", nf, k);
    return 1;
}
