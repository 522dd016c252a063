/* journal.c - post journal: NDJSON lines appended with one write() each and fsync'd; loaded to resume. */
#include "net/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "util/limits.h"

#define JOURNAL_MAX_LINE ((size_t)64 << 10)

struct journal {
    int fd;              /* owned; O_APPEND */
    char *path;          /* owned */
    char *target;        /* owned; redacted base URL */
    char **keys;         /* owned; open-addressing set of "file\nhash" for ok lines */
    size_t nkeys, cap;
};

uint64_t journal_hash(const char *data, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The set key of (file, hash). Caller frees. */
static char *make_key(const char *file, uint64_t hash)
{
    size_t n = strlen(file) + 18;
    char *k = malloc(n);

    if (k)
        snprintf(k, n, "%s\n%016" PRIx64, file, hash);
    return k;
}

static size_t slot_of(const struct journal *j, const char *key)
{
    size_t i = (size_t)journal_hash(key, strlen(key)) & (j->cap - 1);

    while (j->keys[i] && strcmp(j->keys[i], key))
        i = (i + 1) & (j->cap - 1);
    return i;
}

/* Inserts key (taking ownership). Returns 0 or -1 (out of memory; key freed). */
static int set_add(struct journal *j, char *key)
{
    size_t i;

    if ((j->nkeys + 1) * 2 > j->cap) {
        struct journal old = *j;

        j->cap = j->cap ? j->cap * 2 : 1024;
        if (!(j->keys = calloc(j->cap, sizeof *j->keys))) {
            *j = old;
            free(key);
            return -1;
        }
        j->nkeys = 0;
        for (i = 0; i < old.cap; i++)
            if (old.keys[i]) {
                j->keys[slot_of(j, old.keys[i])] = old.keys[i];
                j->nkeys++;
            }
        free(old.keys);
    }
    i = slot_of(j, key);
    if (j->keys[i]) {
        free(key);
        return 0;
    }
    j->keys[i] = key;
    j->nkeys++;
    return 0;
}

int journal_has_ok(const struct journal *j, const char *file, uint64_t hash)
{
    char *key;
    int found;

    if (!j || !j->cap || !(key = make_key(file, hash)))
        return 0;
    found = j->keys[slot_of(j, key)] != NULL;
    free(key);
    return found;
}

uint64_t journal_ok_count(const struct journal *j)
{
    return j ? j->nkeys : 0;
}

/* Loads one line; lines that do not parse (a torn tail) or name another target are ignored. */
static int load_line(struct journal *j, const char *line, size_t len)
{
    cJSON *root = limits_json_too_deep(line, len, LIMIT_JSON_DEPTH) < 0 ? cJSON_ParseWithLength(line, len) : NULL;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(root, "file");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(root, "hash");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(root, "target");
    const cJSON *outcome = cJSON_GetObjectItemCaseSensitive(root, "outcome");
    int ret = 0;

    if (cJSON_IsString(file) && cJSON_IsString(hash) && cJSON_IsString(target) && cJSON_IsString(outcome) &&
        !strcmp(target->valuestring, j->target) && !strcmp(outcome->valuestring, "ok") &&
        strlen(hash->valuestring) == 16 && !strchr(file->valuestring, '\n')) {
        char *end = NULL;
        uint64_t h = strtoull(hash->valuestring, &end, 16);
        char *key = end && !*end ? make_key(file->valuestring, h) : NULL;

        if (key)
            ret = set_add(j, key);
    }
    cJSON_Delete(root);
    return ret;
}

/* Reads the existing journal; ends it with a newline when a kill left a torn line. Returns 0 or -1. */
static int load(struct journal *j, struct error *err)
{
    FILE *f = fopen(j->path, "r");
    struct buf line; /* owned; at most JOURNAL_MAX_LINE bytes, longer lines are skipped */
    int last = '\n', ret = 0, too_long = 0;

    if (!f)
        return errno == ENOENT ? 0 : (error_set(err, LLMSYN_E_OUTPUT, "cannot read '%s': %s", j->path,
                                                strerror(errno)), -1);
    buf_init(&line, JOURNAL_MAX_LINE);
    while (ret == 0 && limits_read_line(f, &line, JOURNAL_MAX_LINE, &too_long) > 0) {
        last = (unsigned char)line.data[line.len - 1];
        if (too_long) /* consumed to its newline, or to the end of a file that lacks one */
            last = feof(f) ? '\0' : '\n';
        if (!too_long && last == '\n')
            ret = load_line(j, line.data, line.len);
    }
    buf_free(&line);
    fclose(f);
    if (ret < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory loading '%s'", j->path), -1;
    if (last != '\n' && write(j->fd, "\n", 1) != 1)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", j->path, strerror(errno)), -1;
    return 0;
}

struct journal *journal_open(const char *dir, const char *target, struct error *err)
{
    struct journal *j = calloc(1, sizeof *j);
    size_t n = strlen(dir) + sizeof JOURNAL_NAME + 2;

    if (j)
        j->fd = -1;
    if (!j || !(j->path = malloc(n)) || !(j->target = strdup(target))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(j->path, n, "%s/%s", dir, JOURNAL_NAME);
    j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot open '%s': %s", j->path, strerror(errno));
        goto fail;
    }
    if (load(j, err) < 0)
        goto fail;
    return j;
fail:
    journal_close(&j);
    return NULL;
}

void journal_close(struct journal **jp)
{
    struct journal *j;
    size_t i;

    if (!jp || !*jp)
        return;
    j = *jp;
    if (j->fd >= 0)
        close(j->fd);
    for (i = 0; i < j->cap; i++)
        free(j->keys[i]);
    free(j->keys);
    free(j->path);
    free(j->target);
    free(j);
    *jp = NULL;
}

/* The current UTC time as an ISO 8601 instant. */
static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "unknown");
}

/* The line as compact JSON. Caller frees. */
static char *format_line(const struct journal *j, const struct journal_line *l)
{
    cJSON *o = cJSON_CreateObject();
    char hash[17], at[32];
    char *text = NULL;

    snprintf(hash, sizeof hash, "%016" PRIx64, l->hash);
    now_iso(at);
    if (o && cJSON_AddStringToObject(o, "file", l->file) && cJSON_AddStringToObject(o, "hash", hash) &&
        cJSON_AddStringToObject(o, "target", j->target) && cJSON_AddStringToObject(o, "outcome", l->outcome) &&
        cJSON_AddNumberToObject(o, "http", (double)l->http) &&
        cJSON_AddNumberToObject(o, "created", l->created) && cJSON_AddNumberToObject(o, "updated", l->updated) &&
        cJSON_AddNumberToObject(o, "attempts", l->attempts) && cJSON_AddStringToObject(o, "at", at) &&
        (!l->reason || cJSON_AddStringToObject(o, "reason", l->reason)))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int journal_append(struct journal *j, const struct journal_line *line, struct error *err)
{
    char *text = format_line(j, line), *full = NULL;
    size_t n, off = 0;
    off_t start;
    int ret = -1;

    if (!text || !(full = malloc((n = strlen(text)) + 1))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(full, text, n);
    full[n++] = '\n';
    start = lseek(j->fd, 0, SEEK_END);
    while (off < n) {
        ssize_t w = write(j->fd, full + off, n - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;

            /* Disk full mid-line: cut the torn line off, so a later append never joins it. */
            if (off > 0 && start >= 0 && ftruncate(j->fd, start) != 0)
                e = errno;
            error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", j->path, strerror(e));
            goto out;
        }
        off += (size_t)w;
    }
    if (fdatasync(j->fd) < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot sync '%s': %s", j->path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    free(text);
    free(full);
    return ret;
}
