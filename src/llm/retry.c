/* retry.c - the model transport: disk cache, retries with backoff and jitter, process-wide rate limits. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm/llm_internal.h"
#include "util/limits.h"

#define RL_MAX_WAIT_MS 1000L /* a worker re-checks the buckets at least this often */

/* Process-wide token buckets shared by every worker (guarded by rl_lock). */
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    double rpm, tpm;          /* limits per minute; 0: none */
    double req, tok;          /* available now */
    long last_ms;             /* time of the last refill; 0: never */
    long paused_until_ms;     /* every worker waits until then (429 Retry-After) */
} rl;

/* Failed attempts in a row across the process; a success resets it. */
static atomic_uint consecutive_failures;

static long now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Sleeps ms in slices of at most 100 ms, returning early once a stop was requested. */
static void sleep_ms(long ms)
{
    while (ms > 0 && !http_stop_requested()) {
        long slice = ms > 100 ? 100 : ms;
        struct timespec t = { 0, slice * 1000000L };

        while (nanosleep(&t, &t) != 0 && errno == EINTR)
            ;
        ms -= slice;
    }
}

void llm_ratelimit_configure(double rpm, double tpm)
{
    pthread_mutex_lock(&rl_lock);
    if (rl.rpm != rpm || rl.tpm != tpm || rl.last_ms == 0) {
        rl.rpm = rpm > 0 ? rpm : 0;
        rl.tpm = tpm > 0 ? tpm : 0;
        rl.req = rl.rpm;
        rl.tok = rl.tpm;
        rl.last_ms = now_ms();
        rl.paused_until_ms = 0;
    }
    pthread_mutex_unlock(&rl_lock);
}

/* Adds what accrued since the last refill (capacity: one minute's worth). Lock held. */
static void rl_refill(long t)
{
    double dt = (double)(t - rl.last_ms) / 60000.0;

    if (dt <= 0)
        return;
    rl.req += dt * rl.rpm;
    rl.tok += dt * rl.tpm;
    if (rl.req > rl.rpm)
        rl.req = rl.rpm;
    if (rl.tok > rl.tpm)
        rl.tok = rl.tpm;
    rl.last_ms = t;
}

/* Milliseconds until `have` reaches `need` at `per_min` per minute (at least 1). */
static long wait_for(double have, double need, double per_min)
{
    double ms = (need - have) * 60000.0 / per_min;

    return ms < 1 ? 1 : ms > RL_MAX_WAIT_MS ? RL_MAX_WAIT_MS : (long)ms + 1;
}

long llm_ratelimit_take(double tokens, long t)
{
    long wait = 0;

    pthread_mutex_lock(&rl_lock);
    rl_refill(t);
    if (rl.paused_until_ms > t)
        wait = rl.paused_until_ms - t > RL_MAX_WAIT_MS ? RL_MAX_WAIT_MS : rl.paused_until_ms - t;
    else if (rl.rpm > 0 && rl.req < 1)
        wait = wait_for(rl.req, 1, rl.rpm);
    else if (rl.tpm > 0 && rl.tok < (tokens < rl.tpm ? tokens : rl.tpm))
        wait = wait_for(rl.tok, tokens < rl.tpm ? tokens : rl.tpm, rl.tpm);
    if (wait == 0) {
        if (rl.rpm > 0)
            rl.req -= 1;
        if (rl.tpm > 0)
            rl.tok -= tokens;
    }
    pthread_mutex_unlock(&rl_lock);
    return wait;
}

void llm_ratelimit_settle(double est, double actual)
{
    pthread_mutex_lock(&rl_lock);
    if (rl.tpm > 0)
        rl.tok += est - actual;
    pthread_mutex_unlock(&rl_lock);
}

void llm_ratelimit_pause(long t, long ms)
{
    pthread_mutex_lock(&rl_lock);
    if (t + ms > rl.paused_until_ms)
        rl.paused_until_ms = t + ms;
    pthread_mutex_unlock(&rl_lock);
}

void llm_failures_reset(void)
{
    atomic_store(&consecutive_failures, 0);
}

/* xorshift32: jitter only, never anything that reaches the output. */
static unsigned jitter_next(unsigned *s)
{
    unsigned x = *s ? *s : 0x9e3779b9u;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

long llm_backoff_ms(long base_ms, unsigned attempt, long retry_after_s, unsigned *seed)
{
    long d = base_ms > 0 ? base_ms : 1;
    unsigned i;

    if (retry_after_s >= 0)
        return (retry_after_s > LLM_RETRY_AFTER_CAP_S ? LLM_RETRY_AFTER_CAP_S : retry_after_s) * 1000L +
               (long)(jitter_next(seed) % 250u);
    for (i = 1; i < attempt && d < LLM_BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > LLM_BACKOFF_CAP_MS)
        d = LLM_BACKOFF_CAP_MS;
    return d / 2 + (long)(jitter_next(seed) % (unsigned long)(d / 2 + 1));
}

/* --llm-cacert must name a readable regular file: refused before any request, naming the file. */
static int check_cacert(const char *path, struct error *err)
{
    struct stat st;
    FILE *f = NULL;

    if (!(f = fopen(path, "rb")))
        return error_set(err, LLMSYN_E_INPUT, "--llm-cacert: cannot read '%s': %s", path, strerror(errno)), -1;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return error_set(err, LLMSYN_E_INPUT, "--llm-cacert: '%s' is not a regular file", path), -1;
    }
    if (fgetc(f) == EOF) {
        fclose(f);
        return error_set(err, LLMSYN_E_INPUT, "--llm-cacert: cannot read '%s': empty or unreadable", path), -1;
    }
    fclose(f);
    return 0;
}

int llm_wire_init(struct llm_wire *w, const char *backend, const char *model, char *url,
                  const struct llmsyn_options *o, struct error *err)
{
    char dir[4096];

    memset(w, 0, sizeof *w);
    http_response_init(&w->resp);
    w->backend = backend;
    w->url = url;
    w->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000L;
    w->max_retries = o->max_retries;
    w->max_consecutive = o->max_consecutive_failures;
    w->backoff_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    w->seed = (unsigned)now_ms() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)w;
    if (!(w->model = strdup(model ? model : "")))
        goto nomem;
    if (o->cache_dir && *o->cache_dir && !o->no_cache) {
        if (snprintf(dir, sizeof dir, "%s", o->cache_dir) >= (int)sizeof dir) {
            error_set(err, LLMSYN_E_USAGE, "--cache folder path is too long");
            return -1;
        }
        if (!(w->cache_dir = strdup(dir)))
            goto nomem;
    }
    llm_ratelimit_configure(o->rpm, o->tpm);
    llm_failures_reset(); /* backends are made when a run starts: a new run starts with a clean count */
    if (o->llm_cacert && !o->llm_insecure && check_cacert(o->llm_cacert, err) < 0)
        return -1;
    if (!(w->http = http_client_new(err)))
        return -1;
    /* TLS settings never enter the cache key: they change who is trusted, not the answers */
    if ((o->llm_cacert || o->llm_insecure) &&
        http_client_set_tls(w->http, o->llm_insecure ? NULL : o->llm_cacert, o->llm_insecure, err) < 0)
        return -1;
    return 0;
nomem:
    error_set(err, LLMSYN_E_NOMEM, "out of memory");
    return -1;
}

void llm_wire_free(struct llm_wire *w)
{
    if (!w)
        return;
    http_client_free(&w->http);
    http_response_free(&w->resp);
    free(w->url);
    free(w->model);
    free(w->cache_dir);
    w->url = w->model = w->cache_dir = NULL;
}

/* Whether an attempt's failure is worth another try: transport errors (the status is 0), request
 * timeout, conflict, rate limit and server errors, and unusable 2xx replies. */
static int retryable(long status)
{
    return status == 0 || status == 408 || status == 409 || status == 429 || status >= 500 ||
           (status >= 200 && status < 300);
}

/* Waits for a slot in the process-wide limits. */
static void rate_wait(double est)
{
    long wait;

    while (!http_stop_requested() && (wait = llm_ratelimit_take(est, now_ms())) > 0)
        sleep_ms(wait);
}

/* When a reply says no requests or no tokens remain in the window (x-ratelimit-remaining-* or
 * anthropic-ratelimit-*-remaining at 0), every worker waits until that window resets (capped). */
static void rate_from_headers(const struct http_response *r)
{
    long wait = 0;

    if ((r->rl_seen & HTTP_RL_REMAINING_REQUESTS) && r->rl_remaining_requests == 0 &&
        (r->rl_seen & HTTP_RL_RESET_REQUESTS))
        wait = r->rl_reset_requests_ms;
    if ((r->rl_seen & HTTP_RL_REMAINING_TOKENS) && r->rl_remaining_tokens == 0 &&
        (r->rl_seen & HTTP_RL_RESET_TOKENS) && r->rl_reset_tokens_ms > wait)
        wait = r->rl_reset_tokens_ms;
    if (wait > LLM_RETRY_AFTER_CAP_S * 1000L)
        wait = LLM_RETRY_AFTER_CAP_S * 1000L;
    if (wait > 0)
        llm_ratelimit_pause(now_ms(), wait);
}

/* A model reply nested past LIMIT_JSON_DEPTH: refused before cJSON sees it. Returns -1. */
static int too_deep(const struct llm_wire *w, struct error *err)
{
    char where[256];

    http_redact_url(w->url, where, sizeof where);
    error_set(err, LLMSYN_E_BACKEND, "model reply from %s nests deeper than LIMIT_JSON_DEPTH (%d levels) at byte %ld",
              where, LIMIT_JSON_DEPTH, limits_json_too_deep(w->resp.body.data, w->resp.body.len, LIMIT_JSON_DEPTH));
    return -1;
}

/* One attempt: POST and turn the reply into the answer. Returns 0, or -1 with err and *status. */
static int attempt(struct llm_wire *w, const char *const *headers, const char *body, llm_reply_fn reply,
                   void *ctx, struct buf *answer, struct llm_usage *usage, long *status, struct error *err)
{
    *status = 0;
    buf_reset(answer);
    if (http_post_json(w->http, w->url, headers, body, strlen(body), w->timeout_ms, &w->resp, err) < 0)
        return -1;
    *status = w->resp.status;
    rate_from_headers(&w->resp);
    if (limits_json_too_deep(w->resp.body.data, w->resp.body.len, LIMIT_JSON_DEPTH) >= 0)
        return too_deep(w, err);
    return reply(ctx, &w->resp, answer, usage, err);
}

/* Adds the attempt count to a final error. */
static void give_up(const struct llm_wire *w, unsigned tries, int stopped, const struct error *last,
                    struct error *err)
{
    if (stopped)
        error_set(err, LLMSYN_E_BACKEND, "stopping after %u consecutive failed model requests (the server seems "
                  "down or refusing; last: %s)", w->max_consecutive, last->msg);
    else if (tries > 1)
        error_set(err, last->code, "%s (gave up after %u attempts)", last->msg, tries);
    else
        error_set(err, last->code, "%s", last->msg);
}

/* The retry loop around attempt(); usage counts requests, retries and failures. */
static int send_with_retries(struct llm_wire *w, const char *const *headers, const char *body, llm_reply_fn reply,
                             void *ctx, struct buf *answer, struct llm_usage *usage, struct error *err)
{
    double est = (double)strlen(body) / 4.0;
    struct error last;
    long status = 0;
    unsigned tries = 0;
    int stopped = 0;

    for (;;) {
        rate_wait(est);
        error_clear(&last);
        tries++;
        usage->requests++;
        if (attempt(w, headers, body, reply, ctx, answer, usage, &status, &last) == 0) {
            atomic_store(&consecutive_failures, 0);
            llm_ratelimit_settle(est, (double)(usage->prompt_tokens + usage->completion_tokens));
            return 0;
        }
        if (last.code == LLMSYN_E_INTERRUPTED) /* a stop request: no retry, not a failure of the server */
            break;
        usage->failures++;
        if (last.code == LLMSYN_E_NOMEM || !retryable(status) || (status == 0 && w->resp.tls_failed))
            break; /* an unverifiable certificate stays unverifiable: no retry */
        if (w->max_consecutive && atomic_fetch_add(&consecutive_failures, 1) + 1 >= w->max_consecutive) {
            stopped = 1;
            break;
        }
        if (tries > w->max_retries)
            break;
        if (status == 429 && w->resp.retry_after_s >= 0)
            llm_ratelimit_pause(now_ms(), llm_backoff_ms(w->backoff_ms, tries, w->resp.retry_after_s, &w->seed));
        sleep_ms(llm_backoff_ms(w->backoff_ms, tries, status ? w->resp.retry_after_s : -1, &w->seed));
        usage->retries++;
    }
    give_up(w, tries, stopped, &last, err);
    return -1;
}

int llm_wire_call(struct llm_wire *w, const char *const *headers, const char *body, llm_reply_fn reply,
                  void *ctx, struct buf *answer, struct llm_usage *usage, struct error *err)
{
    char key[LLM_CACHE_KEY_HEX];
    struct error ignored;
    int hit, rc = -1;

    memset(usage, 0, sizeof *usage);
    if (w->cache_dir && llm_cache_key(w->backend, w->url, w->model, body, strlen(body), key) < 0) {
        error_set(err, LLMSYN_E_INTERNAL, "cannot compute the cache key (openssl sha-256 failed)");
        goto out;
    }
    if (w->cache_dir) {
        buf_reset(answer);
        hit = llm_cache_get(w->cache_dir, key, answer, usage);
        if (hit < 0) {
            error_set(err, LLMSYN_E_NOMEM, "out of memory");
            goto out;
        }
        if (hit) {
            usage->cache_hit = 1;
            rc = 0;
            goto out;
        }
    }
    if (send_with_retries(w, headers, body, reply, ctx, answer, usage, err) < 0)
        goto out;
    error_clear(&ignored);
    if (w->cache_dir && llm_cache_put(w->cache_dir, key, answer->data ? answer->data : "", answer->len, usage,
                                      &ignored) < 0 && ignored.code == LLMSYN_E_NOMEM) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (w->resp.body.cap > ((size_t)1 << 20))
        buf_free(&w->resp.body);
    return rc;
}
