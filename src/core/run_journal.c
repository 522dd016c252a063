/* run_journal.c - the run journal (.llmsyn-journal): header of the run's options, one line per finished record. */
#define _GNU_SOURCE /* O_CLOEXEC, fdatasync */
#include "core/run_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

#define JOURNAL_MAGIC "llmsyn-journal/1"
#define JOURNAL_MAX_BYTES ((size_t)1 << 32) /* far above any run's journal; a bigger file is not ours */

struct run_journal {
    int fd;
    char *path;          /* owned */
    unsigned since_sync; /* records appended since the last fdatasync */
    struct buf line;     /* owned; reused for each line */
};

/* Appends s escaped: '\\', control bytes and DEL as \xNN; everything else as it is. */
static int put_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p;

    for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\') {
            char e[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 15] };

            if (buf_append(b, e, sizeof e) < 0)
                return -1;
        } else if (buf_putc(b, (char)*p) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The --format name of the formats this file knows; others by number (the journal only compares them). */
static const char *format_name(llmsyn_format f, char *tmp, size_t size)
{
    if (f == LLMSYN_FORMAT_BUNDLES || f == LLMSYN_FORMAT_NDJSON || f == LLMSYN_FORMAT_CSV)
        return f == LLMSYN_FORMAT_NDJSON ? "ndjson" : f == LLMSYN_FORMAT_CSV ? "csv" : "bundles";
    snprintf(tmp, size, "%d", (int)f);
    return tmp;
}

static const char *mode_name(llmsyn_mode m)
{
    return m == LLMSYN_MODE_PRIOR ? "prior" : m == LLMSYN_MODE_BASE ? "base" : "full";
}

int run_journal_header(const struct llmsyn_options *o, char *out, size_t size)
{
    struct buf b = { 0 };
    char fmt[16];
    int rc = -1;

    buf_init(&b, RUN_JOURNAL_MAX_HEADER);
    if (buf_printf(&b, JOURNAL_MAGIC "\tseed=%" PRIu64 "\tcount=%" PRIu64 "\tshard=%u/%u\tformat=%s\tmode=%s\tsteps=",
                   o->seed, o->count, o->shard_index, o->shard_count, format_name(o->format, fmt, sizeof fmt),
                   mode_name(o->mode)) < 0 ||
        put_escaped(&b, o->extra_steps) < 0 || buf_puts(&b, "\tbackend=") < 0 ||
        put_escaped(&b, o->backend ? o->backend : "builtin") < 0 || buf_puts(&b, "\tmodel=") < 0 ||
        put_escaped(&b, o->model) < 0 || buf_putc(&b, '\n') < 0)
        goto out;
    if (b.len + 1 > size)
        goto out;
    memcpy(out, b.data, b.len + 1);
    rc = 0;
out:
    buf_free(&b);
    return rc;
}

/* The flag a header key stands for. */
static const char *key_flag(const char *key, size_t n)
{
    static const char *const map[][2] = { { "seed", "--seed" }, { "count", "--count" }, { "shard", "--shard" },
                                          { "format", "--format" }, { "mode", "--mode" }, { "steps", "--steps" },
                                          { "backend", "--llm" }, { "model", "--model" } };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strlen(map[i][0]) == n && !memcmp(map[i][0], key, n))
            return map[i][1];
    return NULL;
}

/* Finds field `key` ("key=value") in a tab-separated header line; sets its value and length. */
static int header_value(const char *line, size_t len, const char *key, size_t klen, const char **val,
                        size_t *vlen)
{
    const char *p = line, *end = line + len;

    while (p < end) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *fend = tab ? tab : end;

        if ((size_t)(fend - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
            *val = p + klen + 1;
            *vlen = (size_t)(fend - *val);
            return 1;
        }
        p = tab ? tab + 1 : end;
    }
    return 0;
}

/* Names the first field where the journal's header (have, without '\n') differs from this run's (want). */
static int header_mismatch(const char *path, const char *have, size_t hlen, const char *want, struct error *err)
{
    const char *p = strchr(want, '\t'), *wend = want + strlen(want) - 1; /* wend: at the '\n' */

    if (hlen < sizeof JOURNAL_MAGIC - 1 || memcmp(have, JOURNAL_MAGIC, sizeof JOURNAL_MAGIC - 1))
        return error_set(err, LLMSYN_E_OUTPUT, "'%s' is not a run journal of this version (line 1)", path);
    while (p && p < wend) {
        const char *key = p + 1, *eq = memchr(key, '=', (size_t)(wend - key)), *hv = NULL;
        const char *tab = memchr(key, '\t', (size_t)(wend - key));
        const char *flag;
        size_t klen, wvlen, hvlen = 0;

        if (!eq)
            break;
        klen = (size_t)(eq - key);
        wvlen = (size_t)((tab ? tab : wend) - (eq + 1));
        flag = key_flag(key, klen);
        if (!header_value(have, hlen, key, klen, &hv, &hvlen) || hvlen != wvlen || memcmp(hv, eq + 1, wvlen))
            return error_set(err, LLMSYN_E_USAGE,
                             "--resume: the run in '%s' was made with %s '%.*s', this command has '%.*s' "
                             "(use the same options, or --force to start over)",
                             path, flag ? flag : "another option", (int)(hv ? hvlen : 0), hv ? hv : "",
                             (int)wvlen, eq + 1);
        p = tab;
    }
    return error_set(err, LLMSYN_E_USAGE, "--resume: the run in '%s' was made with other options", path);
}

/* Parses a decimal uint64 at *p (advancing it). 0, or -1 when there is none or it overflows. */
static int parse_u64(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;

    if (s >= end || *s < '0' || *s > '9')
        return -1;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

static int hex_digit(char h)
{
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* Decodes an escaped value into out (at most size - 1 bytes, NUL-terminated). 0, or -1 when malformed. */
static int unescape(const char *s, size_t n, char *out, size_t size)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\\') {
            if (i + 3 >= n || s[i + 1] != 'x' || hex_digit(s[i + 2]) < 0 || hex_digit(s[i + 3]) < 0)
                return -1;
            c = (char)(hex_digit(s[i + 2]) * 16 + hex_digit(s[i + 3]));
            i += 3;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* 1 when name is a file name a sink may append to: [A-Za-z0-9._-], not starting with '.', under 64 bytes. */
static int name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= sizeof ((struct sink_length *)NULL)->name || s[0] == '.')
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* Sets the length of file `name` in st. 0, or -1 when st already holds SINK_MAX_PARTS other files. */
static int set_length(struct run_journal_state *st, const char *name, size_t n, uint64_t len)
{
    size_t i;

    for (i = 0; i < st->nfiles; i++)
        if (strlen(st->files[i].name) == n && !memcmp(st->files[i].name, name, n))
            break;
    if (i == SINK_MAX_PARTS)
        return -1;
    if (i == st->nfiles) {
        memcpy(st->files[i].name, name, n);
        st->files[i].name[n] = '\0';
        st->nfiles++;
    }
    st->files[i].len = len;
    return 0;
}

/* Parses the " name=len" list of a written record. Returns NULL or what is wrong. */
static const char *parse_files(const char *p, const char *end, struct run_journal_state *st)
{
    while (p < end) {
        const char *name, *eq;
        uint64_t len = 0;

        if (*p++ != ' ')
            return "expected ' name=length'";
        name = p;
        eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || !name_ok(name, (size_t)(eq - name)))
            return "bad file name";
        p = eq + 1;
        if (parse_u64(&p, end, &len) < 0 || (p < end && *p != ' '))
            return "bad file length";
        if (set_length(st, name, (size_t)(eq - name), len) < 0)
            return "too many files";
    }
    return NULL;
}

/* Parses one record line (without its '\n'). Returns NULL or what is wrong. */
static const char *parse_record(const char *p, const char *end, struct run_journal_state *st,
                                run_journal_failed_fn on_failed, void *user)
{
    uint64_t index = 0;
    char reason[400];

    if (parse_u64(&p, end, &index) < 0 || index != st->next)
        return "expected the next record's index";
    if (end - p >= 2 && p[0] == ' ' && p[1] == 'o') {
        const char *why = parse_files(p + 2, end, st);

        if (why)
            return why;
        st->ok++;
    } else if (end - p >= 3 && p[0] == ' ' && p[1] == 'f' && p[2] == ' ') {
        if (unescape(p + 3, (size_t)(end - p - 3), reason, sizeof reason) < 0)
            return "bad failure reason";
        if (on_failed && on_failed(user, index, reason) < 0)
            return "out of memory";
        st->failed++;
    } else {
        return "expected 'o' or 'f' after the index";
    }
    st->next++;
    return NULL;
}

int run_journal_parse(const char *path, const char *data, size_t len, const char *header, uint64_t first,
                      struct run_journal_state *st, run_journal_failed_fn on_failed, void *user,
                      struct error *err)
{
    const char *p = data, *end = data + len, *nl;
    size_t lineno = 1;

    memset(st, 0, sizeof *st);
    st->next = first;
    nl = memchr(p, '\n', len);
    if (!nl)
        return 0; /* no complete header: the run died before its first line; start over */
    if ((size_t)(nl + 1 - p) != strlen(header) || memcmp(p, header, strlen(header)))
        return header_mismatch(path, p, (size_t)(nl - p), header, err), -1;
    p = nl + 1;
    st->valid = (size_t)(p - data);
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        const char *why = parse_record(p, nl, st, on_failed, user);

        lineno++;
        if (why)
            return error_set(err, LLMSYN_E_OUTPUT, "run journal '%s' line %zu: %s (use --force to start over)",
                             path, lineno, why), -1;
        p = nl + 1;
        st->valid = (size_t)(p - data);
    }
    return 0; /* anything after the last '\n' is a torn line */
}

static int journal_error(struct error *err, const char *path, int e)
{
    return error_set(err, e == ENOMEM ? LLMSYN_E_NOMEM : LLMSYN_E_OUTPUT, "cannot write run journal '%s': %s", path,
                     strerror(e));
}

static char *journal_path(const char *dir)
{
    size_t ld = strlen(dir), ln = strlen(RUN_JOURNAL_NAME);
    char *p = malloc(ld + ln + 2); /* caller frees */

    if (!p)
        return NULL;
    memcpy(p, dir, ld);
    p[ld] = '/';
    memcpy(p + ld + 1, RUN_JOURNAL_NAME, ln + 1);
    return p;
}

/* Writes all n bytes to fd. 0, or -1 with errno. */
static int write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

struct run_journal *run_journal_open(const char *dir, const char *header, size_t keep, struct error *err)
{
    struct run_journal *j = calloc(1, sizeof *j); /* owned until returned */
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (keep ? 0 : O_TRUNC);

    if (!j || !(j->path = journal_path(dir))) {
        free(j);
        error_set(err, LLMSYN_E_NOMEM, "out of memory opening the run journal in '%s'", dir);
        return NULL;
    }
    buf_init(&j->line, 64 << 10);
    j->fd = open(j->path, flags, 0644);
    if (j->fd < 0 || (keep && ftruncate(j->fd, (off_t)keep) != 0) || lseek(j->fd, 0, SEEK_END) < 0 ||
        (!keep && write_all(j->fd, header, strlen(header)) < 0)) {
        journal_error(err, j->path, errno);
        run_journal_close(&j, 0, &(struct error){ LLMSYN_OK, "" });
        return NULL;
    }
    return j;
}

int run_journal_sync_due(const struct run_journal *j)
{
    return j && j->since_sync + 1 >= RUN_JOURNAL_SYNC_EVERY;
}

static int build_line(struct buf *b, uint64_t index, const char *failed_reason, const struct sink_length *files,
                      size_t nfiles)
{
    size_t i;

    buf_reset(b);
    if (buf_printf(b, "%" PRIu64 " %c", index, failed_reason ? 'f' : 'o') < 0)
        return -1;
    if (failed_reason)
        return buf_putc(b, ' ') < 0 || put_escaped(b, failed_reason) < 0 || buf_putc(b, '\n') < 0 ? -1 : 0;
    for (i = 0; i < nfiles; i++)
        if (buf_printf(b, " %s=%" PRIu64, files[i].name, files[i].len) < 0)
            return -1;
    return buf_putc(b, '\n');
}

int run_journal_add(struct run_journal *j, uint64_t index, const char *failed_reason,
                    const struct sink_length *files, size_t nfiles, struct error *err)
{
    if (build_line(&j->line, index, failed_reason, files, nfiles) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory writing run journal '%s'", j->path);
    /* One write(2) per record: a kill -9 loses at most the line being written (the page cache stays). */
    if (write_all(j->fd, j->line.data, j->line.len) < 0)
        return journal_error(err, j->path, errno);
    if (++j->since_sync >= RUN_JOURNAL_SYNC_EVERY) {
        if (fdatasync(j->fd) != 0 && errno != EINVAL)
            return journal_error(err, j->path, errno);
        j->since_sync = 0;
    }
    return LLMSYN_OK;
}

int run_journal_close(struct run_journal **jp, int remove, struct error *err)
{
    struct run_journal *j = jp ? *jp : NULL;
    int rc = LLMSYN_OK;

    if (!j)
        return LLMSYN_OK;
    *jp = NULL;
    if (j->fd >= 0) {
        if (!remove && fdatasync(j->fd) != 0 && errno != EINVAL)
            rc = journal_error(err, j->path, errno);
        if (close(j->fd) != 0 && rc == LLMSYN_OK)
            rc = journal_error(err, j->path, errno);
    }
    if (remove && j->path && unlink(j->path) != 0 && errno != ENOENT && rc == LLMSYN_OK)
        rc = journal_error(err, j->path, errno);
    buf_free(&j->line);
    free(j->path);
    free(j);
    return rc;
}

int run_journal_read(const char *dir, char **data, size_t *len, struct error *err)
{
    char *path = journal_path(dir); /* owned */
    FILE *fp = NULL;                /* owned */
    struct buf b = { 0 };
    char chunk[65536];
    size_t n;
    int rc = -1;

    *data = NULL;
    *len = 0;
    if (!path)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory reading the run journal in '%s'", dir), -1;
    buf_init(&b, JOURNAL_MAX_BYTES);
    fp = fopen(path, "rbe");
    if (!fp) {
        rc = errno == ENOENT ? 1 : (error_set(err, LLMSYN_E_OUTPUT, "cannot read run journal '%s': %s", path,
                                              strerror(errno)), -1);
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (buf_append(&b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_OUTPUT, "run journal '%s' is too large", path);
            goto out;
        }
    if (ferror(fp)) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot read run journal '%s': %s", path, strerror(errno ? errno : EIO));
        goto out;
    }
    if (buf_putc(&b, '\0') < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory reading run journal '%s'", path);
        goto out;
    }
    *len = b.len - 1;
    *data = b.data; /* caller frees */
    b.data = NULL;
    rc = 0;
out:
    if (fp)
        fclose(fp);
    buf_free(&b);
    free(path);
    return rc;
}
