/* upload.c - posts bundle files over the multi interface: N in flight, backoff with jitter, a journal. */
#include "net/upload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "net/bundle_split.h"
#include "net/fhir_client.h"
#include "net/gzip.h"
#include "net/http.h"
#include "net/journal.h"
#include "net/smart.h"
#include "util/buf.h"

#define MAX_BUNDLE_BYTES ((size_t)256 << 20)
#define MAX_RETRY_AFTER_MS 120000L
#define MAX_FAILURE_TEXT ((size_t)16 << 10)
#define IDLE_WAIT_MS 200L
#define FEED_QUEUE 256 /* files queued ahead of the upload thread before upload_feed_add waits */

static volatile sig_atomic_t stop_requested;

void upload_request_stop(void)
{
    stop_requested = 1;
}

enum job_state { JOB_EMPTY = 0, JOB_WAITING, JOB_IN_FLIGHT };

/* One bundle being posted; holds a concurrency slot from load to outcome. */
struct job {
    enum job_state state;
    const char *path;        /* borrowed from the file list */
    const char *name;        /* borrowed: path's last component */
    char *data;              /* owned; the request body */
    size_t len;
    uint64_t hash;           /* of the file as read */
    unsigned entries, attempts;
    double not_before;       /* monotonic seconds */
    long last_http;
    char reason[512];
    char **parts;            /* owned; split bundles: the bodies of parts not yet sent (moved into data) */
    unsigned *part_entries;  /* owned; entries of each part */
    size_t nparts, part;     /* parts in all (0 when not split), and the one in data */
    unsigned created, updated; /* entries of the parts already stored */
    char *gz;                /* owned; data gzip-compressed (--gzip), made before the first attempt */
    size_t gzlen;
    char *owned_path;        /* owned; feed mode: the queued path (path and name point into it) */
};

/* Feed mode: file names handed over from another thread; guarded by mu. */
struct feed {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* an item queued, an item taken, closed or done */
    char *q[FEED_QUEUE];        /* owned; ring of paths */
    size_t head, count;
    int closed;                 /* no more files will come */
    int done;                   /* the upload thread left its loop: files added now are not sent */
    uint64_t late;              /* files added after done */
};

struct upload {
    const struct upload_opts *o;
    const struct llmsyn_callbacks *cb;
    struct upload_summary *sum;
    struct error *err;
    struct http_multi *multi;    /* owned */
    struct journal *journal;     /* owned */
    char url[2048];              /* the base URL without a trailing slash */
    char where[2048];            /* redacted, for messages and the journal */
    struct job *jobs;            /* owned; o->concurrency of them */
    char *const *files;
    size_t nfiles, next;
    int abort;                   /* credentials refused or the journal failed: load nothing more */
    uint64_t rng;
    struct buf failures;
    struct smart *smart;         /* owned; SMART Backend Services, or NULL */
    struct http_multi *auth_multi; /* owned; one slot for the token endpoint */
    char auth_line[8300];        /* "Authorization: Bearer <token>" while smart is set */
    const char *auth_headers[2]; /* { auth_line, NULL } */
    struct feed *feed;           /* borrowed; feed mode, else NULL (the files array) */
    const char *dir;             /* borrowed; the journal folder (feed mode opens it on the first file) */
    const struct upload_source *src; /* borrowed; items made on demand instead of files, or NULL */
};

void upload_opts_init(struct upload_opts *o)
{
    memset(o, 0, sizeof *o);
    o->concurrency = 4;
    o->preflight = 1;
    o->max_attempts = 6;
    o->timeout_ms = 60000;
    o->backoff_ms = 500;
    o->backoff_max_ms = 30000;
}

void upload_summary_free(struct upload_summary *s)
{
    if (!s)
        return;
    free(s->failures);
    s->failures = NULL;
}

/* Replaces the token after every "Bearer " (any case) with "***": a SMART access token is fetched and
 * refreshed during the run, so it is in no fixed list of secrets. */
static void scrub_bearer(char *s)
{
    static const char tokchars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=";
    char *p;

    for (p = s; p && *p; p++) {
        size_t n;

        if (strncasecmp(p, "bearer ", 7) != 0)
            continue;
        p += 7;
        n = strspn(p, tokchars);
        if (n >= 8) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
}

void upload_scrub(char *s, const char *const *secrets)
{
    size_t i;

    scrub_bearer(s);
    for (i = 0; s && secrets && secrets[i]; i++) {
        size_t n = strlen(secrets[i]);
        char *p;

        if (n < 3)
            continue;
        while ((p = strstr(s, secrets[i]))) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- loading one bundle ---- */

/* Reads a whole file into *data (caller frees). Returns 0 or -1 with reason. */
static int read_file(const char *path, char **data, size_t *len, char *reason, size_t rlen)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[65536];
    size_t n;
    int ret = -1;

    buf_init(&b, MAX_BUNDLE_BYTES);
    if (!f)
        return snprintf(reason, rlen, "cannot open: %s", strerror(errno)), -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (b.len + n > MAX_BUNDLE_BYTES) {
            snprintf(reason, rlen, "bundle exceeds MAX_BUNDLE_BYTES (%zu MiB)", MAX_BUNDLE_BYTES >> 20);
            goto out;
        } else if (buf_append(&b, chunk, n) < 0) {
            snprintf(reason, rlen, "out of memory reading the bundle");
            goto out;
        }
    if (ferror(f)) {
        snprintf(reason, rlen, "cannot read: %s", strerror(errno));
        goto out;
    }
    *len = b.len;
    *data = b.data;
    b.data = NULL;
    ret = 0;
out:
    fclose(f);
    buf_free(&b);
    return ret;
}

/* Converts one part (batch or transaction) and serialises it into *text (caller frees).
 * Returns 0 or -1 with j->reason. */
static int serialise_part(struct upload *u, struct job *j, cJSON *part, size_t k, char **text)
{
    struct error e = { 0 };

    if (u->o->batch && fhir_bundle_to_batch(part, &e) < 0)
        return snprintf(j->reason, sizeof j->reason, "part %zu: %.440s", k + 1, e.msg), -1;
    if (!u->o->batch)
        cJSON_ReplaceItemInObjectCaseSensitive(part, "type", cJSON_CreateString("transaction"));
    if (!(*text = cJSON_PrintUnformatted(part)))
        return snprintf(j->reason, sizeof j->reason, "out of memory"), -1;
    if (u->o->max_bytes && strlen(*text) > u->o->max_bytes)
        return snprintf(j->reason, sizeof j->reason, "part %zu is %zu bytes, over --max-bundle-bytes %zu", k + 1,
                        strlen(*text), u->o->max_bytes), -1;
    return 0;
}

/* Splits the bundle under the caps into j->parts (see bundle_split.h); the first goes into j->data.
 * Returns 0 or -1 with j->reason. */
static int prepare_split(struct upload *u, struct job *j, const cJSON *root)
{
    cJSON **parts = NULL;
    size_t n = 0, k;
    struct error e = { 0 };
    int ret = -1;

    if (bundle_split(root, u->o->max_entries, u->o->max_bytes, &parts, &n, &e) < 0) {
        snprintf(j->reason, sizeof j->reason, "cannot split: %.440s", e.msg);
        goto out;
    }
    if (!(j->parts = calloc(n, sizeof *j->parts)) || !(j->part_entries = calloc(n, sizeof *j->part_entries))) {
        snprintf(j->reason, sizeof j->reason, "out of memory");
        goto out;
    }
    j->nparts = n;
    for (k = 0; k < n; k++) {
        j->part_entries[k] = (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[k], "entry"));
        if (serialise_part(u, j, parts[k], k, &j->parts[k]) < 0)
            goto out;
    }
    free(j->data);
    j->data = j->parts[0];
    j->parts[0] = NULL;
    j->len = strlen(j->data);
    j->entries = j->part_entries[0];
    j->part = 0;
    ret = 0;
out:
    split_free(&parts, n);
    return ret;
}

/* Moves the next part of a split bundle into data after the current one was stored. */
static void next_part(struct job *j, const struct fhir_reply *r)
{
    j->created += r->created;
    j->updated += r->updated;
    free(j->data);
    free(j->gz);
    j->gz = NULL;
    j->part++;
    j->data = j->parts[j->part];
    j->parts[j->part] = NULL;
    j->len = strlen(j->data);
    j->entries = j->part_entries[j->part];
    j->attempts = 0;
    j->state = JOB_WAITING;
    j->not_before = 0;
}

/* Checks the bundle and rewrites it when batch or conditional create is asked for.
 * Returns 0 or -1 with job->reason. */
static int prepare(struct upload *u, struct job *j)
{
    cJSON *root = cJSON_ParseWithLength(j->data, j->len);
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    struct error e = { 0 };
    char *text = NULL;
    int ret = -1;

    if (!cJSON_IsString(rt) || strcmp(rt->valuestring, "Bundle") || !cJSON_IsString(type) ||
        (strcmp(type->valuestring, "transaction") && strcmp(type->valuestring, "batch"))) {
        snprintf(j->reason, sizeof j->reason, "not a JSON transaction or batch Bundle");
        goto out;
    }
    j->entries = (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "entry"));
    if (u->o->max_entries || u->o->max_bytes) {
        ret = prepare_split(u, j, root);
        goto out;
    }
    if (!u->o->batch && !u->o->conditional && !strcmp(type->valuestring, "transaction")) {
        ret = 0;
        goto out;
    }
    if ((u->o->conditional && fhir_bundle_to_conditional(root, &e) < 0) ||
        (u->o->batch && fhir_bundle_to_batch(root, &e) < 0)) {
        snprintf(j->reason, sizeof j->reason, "%s", e.msg);
        goto out;
    }
    if (!u->o->batch)
        cJSON_ReplaceItemInObjectCaseSensitive(root, "type", cJSON_CreateString("transaction"));
    if (!(text = cJSON_PrintUnformatted(root))) {
        snprintf(j->reason, sizeof j->reason, "out of memory");
        goto out;
    }
    free(j->data);
    j->data = text;
    j->len = strlen(text);
    ret = 0;
out:
    cJSON_Delete(root);
    return ret;
}

static void job_clear(struct job *j)
{
    size_t i;

    for (i = 0; j->parts && i < j->nparts; i++)
        free(j->parts[i]);
    free(j->parts);
    free(j->part_entries);
    free(j->gz);
    free(j->data);
    free(j->owned_path);
    memset(j, 0, sizeof *j);
}

/* ---- outcomes ---- */

static void report_progress(struct upload *u)
{
    const struct upload_summary *s = u->sum;

    if (u->cb && u->cb->progress)
        u->cb->progress(u->cb->user, s->skipped + s->ok + s->failed, s->total, s->failed);
}

static void warn(struct upload *u, const char *msg)
{
    if (u->cb && u->cb->warning)
        u->cb->warning(u->cb->user, msg);
}

/* Records a bundle's final outcome in the journal and the summary, and frees its slot. */
static void finish(struct upload *u, struct job *j, int ok, unsigned created, unsigned updated)
{
    struct journal_line line = { j->name, j->hash, ok ? "ok" : "failed", j->last_http, created, updated,
                                 j->attempts, ok ? NULL : j->reason };
    struct error e = { 0 };

    upload_scrub(j->reason, u->o->secrets);
    if (journal_append(u->journal, &line, &e) < 0) {
        error_set(u->err, e.code, "%s; once it can be written, the same command sends what it does not record",
                  e.msg);
        u->abort = 1;
    }
    if (ok) {
        u->sum->ok++;
        u->sum->created += created;
        u->sum->updated += updated;
    } else {
        u->sum->failed++;
        if (u->failures.len < MAX_FAILURE_TEXT)
            buf_printf(&u->failures, "%s: %s\n", j->name, j->reason);
    }
    job_clear(j);
    report_progress(u);
}

/* xorshift64*: jitter only, not security. */
static double rand_unit(struct upload *u)
{
    u->rng ^= u->rng >> 12;
    u->rng ^= u->rng << 25;
    u->rng ^= u->rng >> 27;
    return (double)((u->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Schedules another attempt, or fails the bundle when attempts are used up. */
static void retry_or_fail(struct upload *u, struct job *j, long retry_after_s)
{
    double delay_ms = (double)u->o->backoff_ms;
    char msg[768], why[sizeof j->reason];
    unsigned i;

    if (j->attempts >= u->o->max_attempts || stop_requested || u->abort) {
        if (j->attempts >= u->o->max_attempts)
            snprintf(why, sizeof why, "%.440s (gave up after %u attempts)", j->reason, j->attempts);
        else
            snprintf(why, sizeof why, "%.440s (stopped before retrying)", j->reason);
        memcpy(j->reason, why, sizeof why);
        finish(u, j, 0, 0, 0);
        return;
    }
    for (i = 1; i < j->attempts && delay_ms < (double)u->o->backoff_max_ms; i++)
        delay_ms *= 2;
    if (delay_ms > (double)u->o->backoff_max_ms)
        delay_ms = (double)u->o->backoff_max_ms;
    delay_ms = delay_ms / 2 + rand_unit(u) * delay_ms / 2;
    if (retry_after_s > 0 && (double)retry_after_s * 1000 > delay_ms)
        delay_ms = retry_after_s * 1000L > MAX_RETRY_AFTER_MS ? MAX_RETRY_AFTER_MS : retry_after_s * 1000.0;
    j->state = JOB_WAITING;
    j->not_before = now_s() + delay_ms / 1000;
    u->sum->retries++;
    upload_scrub(j->reason, u->o->secrets);
    snprintf(msg, sizeof msg, "%s: %s; retrying in %.1fs (attempt %u of %u)", j->name, j->reason, delay_ms / 1000,
             j->attempts + 1, u->o->max_attempts);
    warn(u, msg);
}

/* The multi interface's done callback for bundle requests. */
static void on_done(void *user, const struct http_request *req, const struct http_result *res)
{
    struct upload *u = user;
    struct job *j = req->user;
    struct fhir_reply r;

    j->last_http = res->status;
    if (res->http_version)
        u->sum->http_version = res->http_version;
    if (res->transport_failed) {
        snprintf(j->reason, sizeof j->reason, "%s%s", res->timed_out ? "timed out: " : "connection failed: ",
                 res->detail);
        retry_or_fail(u, j, -1);
        return;
    }
    fhir_read_reply(res->status, res->retry_after_s, res->body, res->len, j->entries, &r);
    if (j->nparts > 1)
        snprintf(j->reason, sizeof j->reason, "part %zu of %zu: %.440s", j->part + 1, j->nparts, r.reason);
    else
        snprintf(j->reason, sizeof j->reason, "%s", r.reason);
    if (r.kind == FHIR_REPLY_OK && j->part + 1 < j->nparts)
        next_part(j, &r);
    else if (r.kind == FHIR_REPLY_OK)
        finish(u, j, 1, j->created + r.created, j->updated + r.updated);
    else if (r.kind == FHIR_REPLY_RETRY)
        retry_or_fail(u, j, r.retry_after_s);
    else {
        if (r.auth_refused && !u->abort) {
            u->abort = 1;
            upload_scrub(r.reason, u->o->secrets);
            error_set(u->err, LLMSYN_E_UPLOAD, "%s: %s", u->where, r.reason);
        }
        finish(u, j, 0, 0, 0);
    }
}

/* ---- the loop ---- */

/* Feed mode: takes the next queued path (into *owned) without waiting; opens the journal on the first.
 * Returns NULL when none is queued now or the journal cannot be opened (u->abort). */
static const char *feed_take(struct upload *u, char **owned)
{
    struct feed *f = u->feed;

    pthread_mutex_lock(&f->mu);
    if (f->count > 0) {
        *owned = f->q[f->head];
        f->q[f->head] = NULL;
        f->head = (f->head + 1) % FEED_QUEUE;
        f->count--;
        u->sum->total++;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    if (*owned && !u->journal && !(u->journal = journal_open(u->dir, u->where, u->err))) {
        u->abort = 1;
        u->sum->not_sent++;
        free(*owned);
        *owned = NULL;
    }
    return *owned;
}

/* The next path to load (feed mode: *owned holds it, caller frees), or NULL when none is left now. */
static const char *next_path(struct upload *u, char **owned)
{
    *owned = NULL;
    if (u->feed)
        return u->abort ? NULL : feed_take(u, owned);
    if (u->src)
        return u->next < u->nfiles ? u->src->name(u->src->user, u->next++) : NULL;
    return u->next < u->nfiles ? u->files[u->next++] : NULL;
}

/* Loads the next file not yet in the journal into j. Returns 1 when loaded, 0 when none is left. */
static int load_next(struct upload *u, struct job *j)
{
    char *owned = NULL;
    const char *path;

    while ((path = next_path(u, &owned)) != NULL) {
        const char *slash = strrchr(path, '/');

        memset(j, 0, sizeof *j);
        j->owned_path = owned;
        j->path = path;
        j->name = slash ? slash + 1 : path;
        if ((u->src ? u->src->load(u->src->user, u->next - 1, &j->data, &j->len, j->reason, sizeof j->reason)
                    : read_file(path, &j->data, &j->len, j->reason, sizeof j->reason)) == 0) {
            j->hash = journal_hash(j->data, j->len);
            if (journal_has_ok(u->journal, j->name, j->hash)) {
                u->sum->skipped++;
                job_clear(j);
                report_progress(u);
                continue;
            }
            if (prepare(u, j) == 0) {
                j->state = JOB_WAITING;
                j->not_before = 0;
                return 1;
            }
        }
        finish(u, j, 0, 0, 0);
    }
    return 0;
}

/* Makes auth_line carry a current SMART access token. Returns 0 or -1 with u->err. */
static int refresh_auth(struct upload *u)
{
    const char *tok = smart_token(u->smart, u->auth_multi, u->url, u->err);

    if (!tok)
        return -1;
    snprintf(u->auth_line, sizeof u->auth_line, "Authorization: Bearer %s", tok);
    u->auth_headers[0] = u->auth_line;
    u->auth_headers[1] = NULL;
    return 0;
}

/* Starts every waiting job whose time has come. Returns the ms until the next one is due (or IDLE). */
static long start_due(struct upload *u)
{
    double now = now_s(), next = now + IDLE_WAIT_MS / 1000.0;
    unsigned i;

    for (i = 0; i < u->o->concurrency; i++) {
        struct job *j = &u->jobs[i];
        struct http_request req = { "POST", u->url, NULL, NULL, 0, NULL, NULL, NULL };
        struct error e = { 0 };

        if (j->state != JOB_WAITING)
            continue;
        if (u->abort || (stop_requested && j->attempts > 0)) {
            u->sum->not_sent++;
            job_clear(j);
            continue;
        }
        if (j->not_before > now) {
            next = j->not_before < next ? j->not_before : next;
            continue;
        }
        if (u->smart && refresh_auth(u) < 0) {
            u->abort = 1;
            u->sum->not_sent++;
            job_clear(j);
            continue;
        }
        req.headers = u->smart ? u->auth_headers : NULL;
        if (u->o->gzip && !j->gz && gzip_compress(j->data, j->len, &j->gz, &j->gzlen, &e) < 0) {
            snprintf(j->reason, sizeof j->reason, "%s", e.msg);
            finish(u, j, 0, 0, 0);
            continue;
        }
        req.body = j->gz ? j->gz : j->data;
        req.len = j->gz ? j->gzlen : j->len;
        req.content_encoding = j->gz ? "gzip" : NULL;
        req.user = j;
        if (http_multi_add(u->multi, &req, &e) < 0) {
            snprintf(j->reason, sizeof j->reason, "%s", e.msg);
            finish(u, j, 0, 0, 0);
            continue;
        }
        j->state = JOB_IN_FLIGHT;
        j->attempts++;
        u->sum->requests++;
    }
    return (long)((next - now) * 1000) + 1;
}

/* Fills empty slots; returns the number of busy slots. */
static unsigned fill_slots(struct upload *u)
{
    unsigned i, busy = 0;

    for (i = 0; i < u->o->concurrency; i++) {
        struct job *j = &u->jobs[i];

        if (j->state == JOB_EMPTY && !stop_requested && !u->abort)
            load_next(u, j);
        busy += j->state != JOB_EMPTY;
    }
    return busy;
}

/* Feed mode with every slot idle: waits for a file. Returns 1 when one is queued, 0 when the loop should end. */
static int feed_wait(struct upload *u)
{
    struct feed *f = u->feed;
    int more;

    if (!f)
        return 0;
    pthread_mutex_lock(&f->mu);
    while (f->count == 0 && !f->closed && !u->abort && !stop_requested)
        pthread_cond_wait(&f->cv, &f->mu);
    more = f->count > 0 && !u->abort && !stop_requested;
    pthread_mutex_unlock(&f->mu);
    return more;
}

static int run_loop(struct upload *u)
{
    for (;;) {
        long wait;

        if (fill_slots(u) == 0) {
            if (feed_wait(u))
                continue;
            break;
        }
        wait = start_due(u);
        if (http_multi_perform(u->multi, wait, on_done, u, u->err) < 0)
            return -1;
    }
    if (stop_requested || u->abort)
        u->sum->not_sent += u->nfiles - u->next;
    return 0;
}

/* ---- pre-flight ---- */

struct preflight {
    int done;
    long status;
    int transport_failed;
    char detail[256];
    struct buf body;
};

static void on_preflight(void *user, const struct http_request *req, const struct http_result *res)
{
    struct preflight *p = user;

    (void)req;
    p->done = 1;
    p->status = res->status;
    p->transport_failed = res->transport_failed;
    snprintf(p->detail, sizeof p->detail, "%s", res->detail);
    if (res->body && buf_append(&p->body, res->body, res->len) < 0)
        p->transport_failed = 1;
}

/* GET [base]/metadata, then the capability checks. Returns 0 or -1 with err. */
static int preflight(struct upload *u)
{
    struct preflight p = { 0 };
    char url[2100];
    struct http_request req = { "GET", url, NULL, NULL, 0, NULL, NULL, NULL };
    int ret = -1;

    buf_init(&p.body, HTTP_MAX_RESPONSE);
    snprintf(url, sizeof url, "%s/metadata", u->url);
    if (u->smart && refresh_auth(u) < 0)
        goto out;
    req.headers = u->smart ? u->auth_headers : NULL;
    if (http_multi_add(u->multi, &req, u->err) < 0)
        goto out;
    while (!p.done)
        if (http_multi_perform(u->multi, IDLE_WAIT_MS, on_preflight, &p, u->err) < 0)
            goto out;
    u->sum->requests++;
    if (p.transport_failed)
        error_set(u->err, LLMSYN_E_UPLOAD, "cannot reach %s/metadata: %s%s", u->where, p.detail,
                  strstr(p.detail, "SSL") || strstr(p.detail, "certificate")
                      ? " (TLS verification failed: give the server's CA with --cacert FILE)" : "");
    else if (p.status == 401 || p.status == 403)
        error_set(u->err, LLMSYN_E_UPLOAD, "%s/metadata: the server refused the credentials (HTTP %ld)", u->where,
                  p.status);
    else if (p.status != 200)
        error_set(u->err, LLMSYN_E_UPLOAD, "GET %s/metadata answered HTTP %ld", u->where, p.status);
    else
        ret = fhir_check_capability(buf_str(&p.body), p.body.len, u->o->batch ? "batch" : "transaction", u->where,
                                    u->err);
out:
    buf_free(&p.body);
    return ret;
}

/* ---- setup ---- */

/* SMART Backend Services: the key and a one-slot pool (same TLS settings, no extra headers). */
static int setup_smart(struct upload *u, const struct http_multi_opts *fhir)
{
    struct smart_opts so = { u->o->smart_client_id, u->o->smart_key, u->o->smart_kid, u->o->smart_scope };
    struct http_multi_opts mo = *fhir;

    mo.max_in_flight = 1;
    mo.headers = NULL;
    if (!(u->smart = smart_new(&so, u->err)))
        return -1;
    return (u->auth_multi = http_multi_new(&mo, u->err)) ? 0 : -1;
}

static int setup(struct upload *u, const char *dir)
{
    struct http_multi_opts mo = { 0 };
    size_t n = strlen(u->o->base_url);

    if (n == 0 || n >= sizeof u->url || strncmp(u->o->base_url, "http", 4))
        return error_set(u->err, LLMSYN_E_USAGE, "the server URL must be an http:// or https:// FHIR base"), -1;
    memcpy(u->url, u->o->base_url, n + 1);
    while (n > 0 && u->url[n - 1] == '/')
        u->url[--n] = '\0';
    http_redact_url(u->url, u->where, sizeof u->where);
    mo.max_in_flight = u->o->concurrency;
    mo.timeout_ms = u->o->timeout_ms;
    mo.connect_timeout_ms = u->o->timeout_ms < 10000 ? u->o->timeout_ms : 10000;
    mo.headers = u->o->headers;
    mo.cacert = u->o->cacert;
    mo.cert = u->o->cert;
    mo.key = u->o->key;
    mo.insecure = u->o->insecure;
    if (!(u->jobs = calloc(u->o->concurrency ? u->o->concurrency : 1, sizeof *u->jobs)))
        return error_set(u->err, LLMSYN_E_NOMEM, "out of memory"), -1;
    if (!(u->multi = http_multi_new(&mo, u->err)))
        return -1;
    u->dir = dir;
    if (!u->feed && !(u->journal = journal_open(dir, u->where, u->err)))
        return -1;
    if (u->o->smart_client_id && setup_smart(u, &mo) < 0)
        return -1;
    u->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
    buf_init(&u->failures, MAX_FAILURE_TEXT * 2);
    return 0;
}

static void teardown(struct upload *u)
{
    unsigned i;

    for (i = 0; u->jobs && i < u->o->concurrency; i++)
        job_clear(&u->jobs[i]);
    http_multi_free(&u->multi);
    http_multi_free(&u->auth_multi);
    smart_free(&u->smart);
    memset(u->auth_line, 0, sizeof u->auth_line);
    journal_close(&u->journal);
    free(u->jobs);
    buf_free(&u->failures);
}

/* The run's status from its summary (unless st already failed), the summary's time and failures; frees u. */
static llmsyn_status conclude(struct upload *u, llmsyn_status st, double start)
{
    struct upload_summary *sum = u->sum;
    struct error *err = u->err;

    if (st != LLMSYN_OK)
        ;
    else if (err->code)
        st = err->code;
    else if (stop_requested)
        st = error_set(err, LLMSYN_E_INTERRUPTED, "interrupted; run the same command again to resume");
    else if (sum->failed)
        st = error_set(err, LLMSYN_E_UPLOAD, "%llu of %llu bundles failed", (unsigned long long)sum->failed,
                       (unsigned long long)sum->total);
    sum->seconds = now_s() - start;
    if (u->failures.len && (sum->failures = strdup(buf_str(&u->failures))))
        upload_scrub(sum->failures, u->o->secrets);
    upload_scrub(err->msg, u->o->secrets);
    teardown(u);
    return st;
}

/* The state every run starts from: nothing sent, no stop request pending. */
static void begin(struct upload *u, const struct upload_opts *o, const struct llmsyn_callbacks *cb,
                  struct upload_summary *sum, struct error *err)
{
    memset(u, 0, sizeof *u);
    memset(sum, 0, sizeof *sum);
    u->o = o;
    u->cb = cb;
    u->sum = sum;
    u->err = err;
    stop_requested = 0;
}

llmsyn_status upload_run(const struct upload_opts *o, char *const *files, size_t n, const char *dir,
                         const struct llmsyn_callbacks *cb, struct upload_summary *sum, struct error *err)
{
    struct upload u;
    double start = now_s();
    llmsyn_status st = LLMSYN_OK;

    begin(&u, o, cb, sum, err);
    u.files = files;
    u.nfiles = n;
    sum->total = n;
    if (setup(&u, dir) < 0 || (o->preflight && preflight(&u) < 0) || run_loop(&u) < 0)
        st = err->code ? err->code : LLMSYN_E_UPLOAD;
    return conclude(&u, st, start);
}

llmsyn_status upload_run_source(const struct upload_opts *o, const struct upload_source *src, const char *dir,
                                const struct llmsyn_callbacks *cb, struct upload_summary *sum, struct error *err)
{
    struct upload u;
    double start = now_s();
    llmsyn_status st = LLMSYN_OK;

    begin(&u, o, cb, sum, err);
    u.src = src;
    sum->total = src->n;
    if (setup(&u, dir) < 0 || (o->preflight && preflight(&u) < 0))
        return conclude(&u, err->code ? err->code : LLMSYN_E_UPLOAD, start);
    while (u.next < src->n && !stop_requested && !u.abort && st == LLMSYN_OK) {
        uint64_t failed = sum->failed;
        size_t end = src->phase_end(src->user, u.next);

        u.nfiles = end > u.next && end <= src->n ? end : src->n;
        if (run_loop(&u) < 0)
            st = err->code ? err->code : LLMSYN_E_UPLOAD;
        else if (sum->failed > failed && u.nfiles < src->n)
            st = error_set(err, LLMSYN_E_UPLOAD, "%llu bundles failed; the %zu bundles of later phases, from '%s' on, "
                           "were not sent (they may reference what failed)", (unsigned long long)(sum->failed - failed),
                           src->n - u.nfiles, src->name(src->user, u.nfiles));
    }
    sum->not_sent += src->n - (u.nfiles > u.next ? u.nfiles : u.next);
    return conclude(&u, st, start);
}

/* ---- feed mode ---- */

struct upload_feed {
    struct upload u;
    struct feed feed;
    struct upload_summary sum;
    struct error err;
    char dir[4096];
    pthread_t thread;
    int started;             /* thread runs */
    int loop_failed;         /* run_loop returned -1 */
    double start;
};

static void *feed_main(void *arg)
{
    struct upload_feed *f = arg;
    struct feed *q = &f->feed;

    f->loop_failed = run_loop(&f->u) < 0;
    pthread_mutex_lock(&q->mu);
    q->done = 1;
    while (q->count > 0) {  /* left unsent: the run stopped or failed */
        free(q->q[q->head]);
        q->q[q->head] = NULL;
        q->head = (q->head + 1) % FEED_QUEUE;
        q->count--;
        f->sum.total++;
        f->sum.not_sent++;
    }
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

struct upload_feed *upload_feed_start(const struct upload_opts *o, const char *dir, const struct llmsyn_callbacks *cb,
                                      struct error *err)
{
    struct upload_feed *f = calloc(1, sizeof *f);

    if (!f)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), NULL;
    f->start = now_s();
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    pthread_mutex_init(&f->feed.mu, NULL);
    pthread_cond_init(&f->feed.cv, NULL);
    begin(&f->u, o, cb, &f->sum, &f->err);
    f->u.feed = &f->feed;
    if (setup(&f->u, f->dir) < 0 || (o->preflight && preflight(&f->u) < 0))
        goto fail;
    if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
        error_set(&f->err, LLMSYN_E_NOMEM, "cannot start the upload thread");
        goto fail;
    }
    f->started = 1;
    return f;
fail:
    upload_scrub(f->err.msg, o->secrets);
    error_set(err, f->err.code ? f->err.code : LLMSYN_E_UPLOAD, "%s", f->err.msg);
    teardown(&f->u);
    pthread_cond_destroy(&f->feed.cv);
    pthread_mutex_destroy(&f->feed.mu);
    free(f);
    return NULL;
}

int upload_feed_add(struct upload_feed *f, const char *path)
{
    struct feed *q = &f->feed;
    char *copy = strdup(path);

    pthread_mutex_lock(&q->mu);
    while (q->count == FEED_QUEUE && !q->done)
        pthread_cond_wait(&q->cv, &q->mu);
    if (q->done || !copy) {
        q->late++;
        free(copy);
    } else {
        q->q[(q->head + q->count) % FEED_QUEUE] = copy;
        q->count++;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return copy ? 0 : -1;
}

llmsyn_status upload_feed_finish(struct upload_feed **fp, struct upload_summary *sum, struct error *err)
{
    struct upload_feed *f = *fp;
    llmsyn_status st;

    *fp = NULL;
    pthread_mutex_lock(&f->feed.mu);
    f->feed.closed = 1;
    pthread_cond_broadcast(&f->feed.cv);
    pthread_mutex_unlock(&f->feed.mu);
    pthread_join(f->thread, NULL);
    f->sum.total += f->feed.late;
    f->sum.not_sent += f->feed.late;
    st = conclude(&f->u, f->loop_failed ? (f->err.code ? f->err.code : LLMSYN_E_UPLOAD) : LLMSYN_OK, f->start);
    *sum = f->sum;
    *err = f->err;
    pthread_cond_destroy(&f->feed.cv);
    pthread_mutex_destroy(&f->feed.mu);
    free(f);
    return st;
}
