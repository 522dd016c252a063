/* limits.c - bounded JSON parsing (a nesting pre-scan before cJSON) and bounded line reading. */
#include "util/limits.h"

#include <errno.h>

long limits_json_too_deep(const char *text, size_t len, int max_depth)
{
    int depth = 0, in_string = 0, escaped = 0;
    size_t i;

    for (i = 0; text && i < len; i++) {
        char ch = text[i];

        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (ch == '\\')
                escaped = 1;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max_depth)
                return (long)i;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
    return -1;
}

cJSON *limits_json_parse(const char *text, size_t len, const char *what, llmsyn_status code, struct error *err)
{
    long at;

    if (!text)
        return NULL;
    at = limits_json_too_deep(text, len, LIMIT_JSON_DEPTH);
    if (at >= 0) {
        error_set(err, code, "%s nests deeper than LIMIT_JSON_DEPTH (%d levels) at byte %ld", what,
                  LIMIT_JSON_DEPTH, at);
        return NULL;
    }
    return cJSON_ParseWithLength(text, len);
}

/* Appends the n bytes of chunk to line. 0, or -1 with errno ENOMEM. */
static int flush_chunk(struct buf *line, const char *chunk, size_t n)
{
    if (n && buf_append(line, chunk, n) < 0)
        return errno = ENOMEM, -1;
    return 0;
}

int limits_read_line(FILE *f, struct buf *line, size_t max, int *too_long)
{
    char chunk[4096];
    size_t k = 0;
    int ch, got = 0, rc = 0;

    buf_reset(line);
    *too_long = 0;
    flockfile(f);
    while ((ch = getc_unlocked(f)) != EOF) {
        got = 1;
        if (line->len + k < max) {
            chunk[k++] = (char)ch;
            if (k == sizeof chunk) {
                if ((rc = flush_chunk(line, chunk, k)) < 0)
                    break;
                k = 0;
            }
        } else {
            *too_long = 1;
        }
        if (ch == '\n')
            break;
    }
    funlockfile(f);
    if (rc == 0)
        rc = flush_chunk(line, chunk, k);
    if (rc < 0 || ferror(f))
        return -1;
    return got;
}
