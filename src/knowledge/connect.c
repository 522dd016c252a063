/* connect.c - MedlinePlus Connect by ICD-9-CM code: paced GETs, Atom answers, an atomic on-disk cache. */
#include "knowledge/connect.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "knowledge/text.h"
#include "net/http_get.h"
#include "util/buf.h"

#define CONNECT_ACCEPT "text/xml, application/atom+xml;q=0.9"
#define CONNECT_URL_MAX 2048
#define CONNECT_PATH_MAX 4096

struct connect_client {
    struct http_get_client *http; /* owned */
    char *base;                   /* service root, no trailing '/'; owned */
    char *cache_dir;              /* owned; NULL: no cache */
    long timeout_ms, interval_ms;
    struct connect_stats stats;
};

/* Process-wide pacing of requests (all clients share one IP address). */
static pthread_mutex_t pace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec pace_last;
static int pace_started;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

struct connect_client *connect_client_new(const struct connect_options *opts, struct error *err)
{
    struct connect_client *c = NULL;
    const char *base = opts && opts->base_url ? opts->base_url : CONNECT_DEFAULT_BASE;
    size_t n;

    if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
        error_set(err, LLMSYN_E_USAGE, "medlineplus connect: base url must start with http:// or https://");
        return NULL;
    }
    if (strlen(base) > CONNECT_URL_MAX / 2 || strpbrk(base, " \t\r\n?#")) {
        error_set(err, LLMSYN_E_USAGE, "medlineplus connect: base url is too long or holds a query");
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c)) || !(c->base = dup_str(base)) ||
        (opts && opts->cache_dir && !(c->cache_dir = dup_str(opts->cache_dir)))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        connect_client_free(&c);
        return NULL;
    }
    for (n = strlen(c->base); n > 0 && c->base[n - 1] == '/'; n--)
        c->base[n - 1] = '\0';
    c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : CONNECT_DEFAULT_TIMEOUT_MS;
    c->interval_ms = opts && opts->interval_ms >= 0 ? opts->interval_ms : CONNECT_DEFAULT_INTERVAL_MS;
    if (!(c->http = http_get_client_new(err)))
        connect_client_free(&c);
    return c;
}

void connect_client_free(struct connect_client **c)
{
    if (!c || !*c)
        return;
    http_get_client_free(&(*c)->http);
    free((*c)->base);
    free((*c)->cache_dir);
    free(*c);
    *c = NULL;
}

void connect_client_stats(const struct connect_client *c, struct connect_stats *out)
{
    if (!out)
        return;
    out->requests = c ? c->stats.requests : 0;
    out->cache_hits = c ? c->stats.cache_hits : 0;
}

/* Dotted form of an ICD-9-CM code, or -1. */
static int dotted_code(const char *icd9, char out[KTEXT_MAX_CODE])
{
    char undotted[KTEXT_MAX_CODE];

    if (!icd9 || ktext_icd9_undot(icd9, undotted) < 0)
        return -1;
    ktext_icd9_dot(undotted, out);
    return 0;
}

int connect_request_url(const char *base_url, const char *icd9, char *out, size_t outlen)
{
    char code[KTEXT_MAX_CODE];
    const char *base = base_url ? base_url : CONNECT_DEFAULT_BASE;
    size_t n = strlen(base);
    int w;

    if (dotted_code(icd9, code) < 0)
        return -1;
    while (n > 0 && base[n - 1] == '/')
        n--;
    w = snprintf(out, outlen,
                 "%.*s/service?mainSearchCriteria.v.cs=%s&mainSearchCriteria.v.c=%s"
                 "&informationRecipient.languageCode.c=en&knowledgeResponseType=text/xml",
                 (int)n, base, CONNECT_ICD9_OID, code);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

/* Waits until interval_ms have passed since the process's last request, then marks a new one. */
static void pace(long interval_ms)
{
    struct timespec now, wait;
    long long due_ns, now_ns;

    if (interval_ms <= 0)
        return;
    pthread_mutex_lock(&pace_lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (pace_started) {
        due_ns = (long long)pace_last.tv_sec * 1000000000LL + pace_last.tv_nsec + interval_ms * 1000000LL;
        now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
        if (due_ns > now_ns) {
            wait.tv_sec = (time_t)((due_ns - now_ns) / 1000000000LL);
            wait.tv_nsec = (long)((due_ns - now_ns) % 1000000000LL);
            while (nanosleep(&wait, &wait) < 0 && errno == EINTR)
                ;
            clock_gettime(CLOCK_MONOTONIC, &now);
        }
    }
    pace_last = now;
    pace_started = 1;
    pthread_mutex_unlock(&pace_lock);
}

/* Every topic of the answer is for `code` (the feed names the code it answers). */
static int answer_matches(const struct mplus_topics *t, size_t from, const char *code)
{
    size_t i;

    for (i = from; i < t->n; i++)
        if (!t->items[i].icd9 || strcmp(t->items[i].icd9, code))
            return 0;
    return 1;
}

/* Reads <dir>/<code>.xml into b; returns 1 when read, 0 when absent or unreadable. */
static int cache_read(const char *path, struct buf *b)
{
    char chunk[8192];
    FILE *f = fopen(path, "rb");
    size_t n;
    int ok = 1;

    if (!f)
        return 0;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = b->len + n <= CONNECT_MAX_RESPONSE && buf_append(b, chunk, n) == 0;
    if (ferror(f))
        ok = 0;
    fclose(f);
    return ok;
}

/* Serves the code from the cache when it holds a good answer. Returns topics added, or -1 for a miss. */
static int cache_lookup(struct connect_client *c, const char *path, const char *code, struct mplus_topics *out)
{
    struct buf b;
    struct error quiet = { LLMSYN_OK, "" };
    size_t before = out->n;
    int rc = -1;

    buf_init(&b, CONNECT_MAX_RESPONSE);
    if (cache_read(path, &b) && mplus_parse_connect(b.data ? b.data : "", b.len, path, code, out, &quiet) == 0) {
        if (answer_matches(out, before, code)) {
            c->stats.cache_hits++;
            rc = (int)(out->n - before);
        } else {
            mplus_topics_truncate(out, before);
        }
    }
    buf_free(&b);
    return rc;
}

/* Writes the answer to <path> through a temporary file in the same folder and a rename. */
static int cache_write(const char *dir, const char *path, const char *code, const struct buf *body,
                       struct error *err)
{
    char tmp[CONNECT_PATH_MAX];
    FILE *f = NULL;
    int fd = -1, rc = -1, created = 0;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot create cache folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s/.%s.xml.XXXXXX", dir, code) >= (int)sizeof tmp) {
        error_set(err, LLMSYN_E_OUTPUT, "cache folder path '%s' is too long", dir);
        return -1;
    }
    fd = mkstemp(tmp);
    created = fd >= 0;
    if (fd < 0 || !(f = fdopen(fd, "wb"))) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot create a file in cache folder '%s': %s", dir, strerror(errno));
        goto out;
    }
    fd = -1;
    if (fwrite(body->data ? body->data : "", 1, body->len, f) != body->len || fflush(f) != 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot write cache file '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        error_set(err, LLMSYN_E_OUTPUT, "cannot write cache file '%s': %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc < 0 && created)
        unlink(tmp);
    return rc;
}

/* Fetches and parses the answer; the body stays in resp for the cache. Returns topics added or -1. */
static int fetch(struct connect_client *c, const char *code, struct http_response *resp, struct mplus_topics *out,
                 struct error *err)
{
    char url[CONNECT_URL_MAX], where[CONNECT_URL_MAX], name[64];
    size_t before = out->n;

    if (connect_request_url(c->base, code, url, sizeof url) < 0) {
        error_set(err, LLMSYN_E_USAGE, "medlineplus connect: request url for code %s is too long", code);
        return -1;
    }
    pace(c->interval_ms);
    if (http_get(c->http, url, CONNECT_ACCEPT, c->timeout_ms, CONNECT_MAX_RESPONSE, resp, err) < 0)
        return -1;
    c->stats.requests++;
    if (resp->status != 200) {
        http_redact_url(url, where, sizeof where);
        error_set(err, LLMSYN_E_BACKEND, "medlineplus connect: GET %s for code %s returned HTTP %ld", where, code,
                  resp->status);
        return -1;
    }
    snprintf(name, sizeof name, "medlineplus connect answer for %s", code);
    if (mplus_parse_connect(resp->body.data ? resp->body.data : "", resp->body.len, name, code, out, err) < 0)
        return -1;
    if (!answer_matches(out, before, code)) {
        error_set(err, LLMSYN_E_INPUT, "%s: the answer is for code %s", name, out->items[before].icd9);
        mplus_topics_truncate(out, before);
        return -1;
    }
    return (int)(out->n - before);
}

int connect_lookup(struct connect_client *c, const char *icd9, struct mplus_topics *out, struct error *err)
{
    char code[KTEXT_MAX_CODE], path[CONNECT_PATH_MAX];
    struct http_response resp;
    size_t before;
    int rc;

    if (!c || !out) {
        error_set(err, LLMSYN_E_INTERNAL, "medlineplus connect: no client or no output");
        return -1;
    }
    if (dotted_code(icd9, code) < 0) {
        error_set(err, LLMSYN_E_INPUT, "medlineplus connect: '%.20s' is not an icd-9-cm diagnosis code",
                  icd9 ? icd9 : "");
        return -1;
    }
    if (c->cache_dir) {
        if (snprintf(path, sizeof path, "%s/%s.xml", c->cache_dir, code) >= (int)sizeof path) {
            error_set(err, LLMSYN_E_USAGE, "medlineplus connect: cache folder path is too long");
            return -1;
        }
        if ((rc = cache_lookup(c, path, code, out)) >= 0)
            return rc;
    }
    http_response_init(&resp);
    before = out->n;
    rc = fetch(c, code, &resp, out, err);
    if (rc >= 0 && c->cache_dir && cache_write(c->cache_dir, path, code, &resp.body, err) < 0) {
        mplus_topics_truncate(out, before);
        rc = -1;
    }
    http_response_free(&resp);
    return rc;
}
