/* http.c - model POSTs on the shared transport: JSON, capped body, timeout, no redirects, rate-limit headers. */
#include "net/http.h"
#include "net/easy.h"
#include "net/transport.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct http_client {
    CURL *curl;                   /* owned; run on the transport, whose multi handle holds the connections */
    struct transport *transport;  /* held; released by http_client_free */
    char errbuf[CURL_ERROR_SIZE]; /* curl's detail for the last failed transfer */
};

/* What the write callback fills while one transfer runs. */
struct http_sink {
    struct buf *body; /* borrowed: the response's body */
    int over_cap;     /* the body would pass HTTP_MAX_RESPONSE */
    int no_memory;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_FAILED_INIT;

static void http_global_init_once(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(void)
{
    if (pthread_once(&http_once, http_global_init_once) != 0)
        return -1;
    return http_global_rc == CURLE_OK ? 0 : -1;
}

/* Appends at most n bytes of s to out (size outlen, *used so far); always NUL-terminates. */
static void put_span(char *out, size_t outlen, size_t *used, const char *s, size_t n)
{
    size_t room = outlen - 1 - *used;

    if (n > room)
        n = room;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

void http_redact_url(const char *url, char *out, size_t outlen)
{
    const char *auth, *auth_end, *end, *at = NULL, *p;
    size_t used = 0;

    if (!out || outlen == 0)
        return;
    out[0] = '\0';
    if (!url)
        return;
    auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    auth_end = auth + strcspn(auth, "/?#");
    for (p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    end = url + strcspn(url, "?#");
    put_span(out, outlen, &used, url, (size_t)(auth - url));
    if (at)
        auth = at + 1;
    if (end > auth)
        put_span(out, outlen, &used, auth, (size_t)(end - auth));
}

/* CURLOPT_WRITEFUNCTION: appends to the capped body; a short count aborts the transfer. */
static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct http_sink *s = user;
    size_t n = size * nmemb;

    if (n > HTTP_MAX_RESPONSE || s->body->len > HTTP_MAX_RESPONSE - n) {
        s->over_cap = 1;
        return 0;
    }
    if (buf_append(s->body, data, n) < 0) {
        s->no_memory = 1;
        return 0;
    }
    return n;
}

/* ---- rate-limit headers ---- */

#define RL_TEXT_MAX 64 /* longest header value or duration read */

/* Reads <digits>[.<digits>] at s[*i..n). Returns the value, or -1 when there is no number there. */
static double duration_number(const char *s, size_t n, size_t *i)
{
    double v = 0, scale = 1;
    size_t digits = 0;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        digits++;
    }
    if (*i < n && s[*i] == '.') {
        (*i)++;
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
            scale /= 10;
            v += (s[*i] - '0') * scale;
            (*i)++;
        }
    }
    return digits ? v : -1;
}

/* Milliseconds per unit at the start of s (n bytes), its length in *ulen; 0 when no unit is known. */
static double duration_unit(const char *s, size_t n, size_t *ulen)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = { { "ms", 1.0 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "ns", 1e-6 },
                  { "h", 3600000.0 }, { "m", 60000.0 }, { "s", 1000.0 } };
    size_t i, l;

    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        l = strlen(units[i].name);
        if (l <= n && memcmp(s, units[i].name, l) == 0) {
            *ulen = l;
            return units[i].ms;
        }
    }
    return 0;
}

long http_parse_duration_ms(const char *s, size_t n)
{
    double total = 0, v, unit;
    size_t i = 0, ulen = 0;
    unsigned parts = 0;
    long ms;

    if (!s || n == 0 || n > RL_TEXT_MAX)
        return -1;
    while (i < n) {
        if ((v = duration_number(s, n, &i)) < 0)
            return -1;
        if (i == n && parts == 0)
            unit = 1000.0; /* a bare number: seconds */
        else if ((unit = duration_unit(s + i, n - i, &ulen)) == 0)
            return -1;
        total += v * unit;
        i += ulen;
        parts++;
    }
    if (total >= (double)HTTP_RL_MAX_MS)
        return HTTP_RL_MAX_MS;
    ms = (long)total;
    return (double)ms < total ? ms + 1 : ms;
}

/* Reads exactly `digits` decimal digits at s[*i..n) into *v. Returns 0 or -1. */
static int fixed_digits(const char *s, size_t n, size_t *i, int digits, int *v)
{
    int k;

    *v = 0;
    for (k = 0; k < digits; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        *v = *v * 10 + (s[*i] - '0');
    }
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153LL * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads the optional fraction and the zone of an RFC 3339 time at s[*i..n): *frac_ms, *off_min. */
static int rfc3339_tail(const char *s, size_t n, size_t *i, long *frac_ms, int *off_min)
{
    double scale = 100;
    int oh, om;
    char sign;

    *frac_ms = 0;
    if (*i < n && s[*i] == '.') {
        if (++(*i) >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
            *frac_ms += (long)((s[*i] - '0') * scale);
            scale /= 10;
        }
    }
    *off_min = 0;
    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z'))
        return ++(*i) == n ? 0 : -1;
    if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
        return -1;
    sign = s[(*i)++];
    if (fixed_digits(s, n, i, 2, &oh) < 0 || *i >= n || s[(*i)++] != ':' || fixed_digits(s, n, i, 2, &om) < 0 ||
        oh > 23 || om > 59 || *i != n)
        return -1;
    *off_min = (sign == '-' ? -1 : 1) * (oh * 60 + om);
    return 0;
}

int http_parse_rfc3339_ms(const char *s, size_t n, long long *epoch_ms)
{
    int f[6], off_min;
    long frac_ms;
    size_t i = 0;

    if (!s || n > RL_TEXT_MAX || fixed_digits(s, n, &i, 4, &f[0]) < 0 || i >= n || s[i++] != '-' ||
        fixed_digits(s, n, &i, 2, &f[1]) < 0 || i >= n || s[i++] != '-' || fixed_digits(s, n, &i, 2, &f[2]) < 0 ||
        i >= n || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        return -1;
    i++;
    if (fixed_digits(s, n, &i, 2, &f[3]) < 0 || i >= n || s[i++] != ':' || fixed_digits(s, n, &i, 2, &f[4]) < 0 ||
        i >= n || s[i++] != ':' || fixed_digits(s, n, &i, 2, &f[5]) < 0 ||
        rfc3339_tail(s, n, &i, &frac_ms, &off_min) < 0)
        return -1;
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
        return -1;
    *epoch_ms = ((days_from_civil(f[0], f[1], f[2]) * 86400LL + f[3] * 3600LL + f[4] * 60LL + f[5] -
                  off_min * 60LL) * 1000LL) + frac_ms;
    return 0;
}

/* A non-negative decimal count (clamped to LONG_MAX), or -1. */
static long rl_count(const char *v, size_t n)
{
    long long x = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        if (x < LONG_MAX)
            x = x * 10 + (v[i] - '0');
    }
    return x > LONG_MAX ? LONG_MAX : (long)x;
}

/* Milliseconds from now until an RFC 3339 time (0 when past, clamped), or -1. */
static long rl_until(const char *v, size_t n)
{
    struct timespec t;
    long long at, now, d;

    if (http_parse_rfc3339_ms(v, n, &at) < 0 || clock_gettime(CLOCK_REALTIME, &t) != 0)
        return -1;
    now = (long long)t.tv_sec * 1000LL + t.tv_nsec / 1000000L;
    d = at - now;
    return d <= 0 ? 0 : d > HTTP_RL_MAX_MS ? HTTP_RL_MAX_MS : (long)d;
}

enum rl_kind { RL_COUNT, RL_DURATION, RL_TIME };

/* Stores one header value (v, n bytes, trimmed) when name is a known rate-limit header. */
static void rl_header(struct http_response *r, const char *name, size_t nlen, const char *v, size_t n)
{
    static const struct {
        const char *name;
        unsigned bit;
        enum rl_kind kind;
    } known[] = {
        { "x-ratelimit-remaining-requests", HTTP_RL_REMAINING_REQUESTS, RL_COUNT },
        { "x-ratelimit-remaining-tokens", HTTP_RL_REMAINING_TOKENS, RL_COUNT },
        { "x-ratelimit-reset-requests", HTTP_RL_RESET_REQUESTS, RL_DURATION },
        { "x-ratelimit-reset-tokens", HTTP_RL_RESET_TOKENS, RL_DURATION },
        { "anthropic-ratelimit-requests-remaining", HTTP_RL_REMAINING_REQUESTS, RL_COUNT },
        { "anthropic-ratelimit-tokens-remaining", HTTP_RL_REMAINING_TOKENS, RL_COUNT },
        { "anthropic-ratelimit-requests-reset", HTTP_RL_RESET_REQUESTS, RL_TIME },
        { "anthropic-ratelimit-tokens-reset", HTTP_RL_RESET_TOKENS, RL_TIME },
    };
    long *field[] = { &r->rl_remaining_requests, &r->rl_remaining_tokens, &r->rl_reset_requests_ms,
                      &r->rl_reset_tokens_ms };
    size_t i, k;
    long x;

    for (i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) != nlen)
            continue;
        for (k = 0; k < nlen && tolower((unsigned char)name[k]) == known[i].name[k]; k++)
            ;
        if (k < nlen)
            continue;
        x = known[i].kind == RL_COUNT ? rl_count(v, n) : known[i].kind == RL_DURATION ? http_parse_duration_ms(v, n)
                                                                                       : rl_until(v, n);
        if (x < 0)
            return;
        for (k = 0; !((1u << k) & known[i].bit); k++)
            ;
        *field[k] = x;
        r->rl_seen |= known[i].bit;
        return;
    }
}

/* CURLOPT_HEADERFUNCTION: a status line starts a new response (forget the last one's limits);
 * "Name: value" lines go to rl_header. */
static size_t http_header_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct http_response *r = user;
    size_t n = size * nmemb;
    const char *colon, *v, *end;

    if (!r || n == 0)
        return n;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        r->rl_seen = 0;
        return n;
    }
    if (!(colon = memchr(data, ':', n)))
        return n;
    v = colon + 1;
    end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if ((size_t)(end - v) <= RL_TEXT_MAX)
        rl_header(r, data, (size_t)(colon - data), v, (size_t)(end - v));
    return n;
}

/* Options that hold for every request of a client. Returns 0 or -1. */
static int http_client_setup(struct http_client *c)
{
    CURL *h = c->curl;

    if (net_easy_defaults(h, c->errbuf, http_write_cb) < 0 ||
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L) != CURLE_OK) /* prefer an HTTP/2 stream to a new connection */
        return -1;
    return 0;
}

struct http_client *http_client_new(struct error *err)
{
    struct http_client *c = NULL;

    if (http_global_init() < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot initialise libcurl");
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    c->curl = curl_easy_init();
    if (!c->curl || http_client_setup(c) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up a libcurl handle");
        http_client_free(&c);
        return NULL;
    }
    if (!(c->transport = transport_acquire(err))) {
        http_client_free(&c);
        return NULL;
    }
    return c;
}

void http_client_free(struct http_client **c)
{
    if (!c || !*c)
        return;
    if ((*c)->curl)
        curl_easy_cleanup((*c)->curl);
    transport_release(&(*c)->transport);
    free(*c);
    *c = NULL;
}

int http_client_set_tls(struct http_client *c, const char *cacert, int insecure, struct error *err)
{
    CURL *h = c->curl;

    if ((cacert && curl_easy_setopt(h, CURLOPT_CAINFO, cacert) != CURLE_OK) ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, insecure ? 0L : 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, insecure ? 0L : 2L) != CURLE_OK)
        return error_set(err, LLMSYN_E_BACKEND, "libcurl refused the TLS settings of the model client"), -1;
    return 0;
}

/* Failures of certificate verification or of the CA bundle itself: permanent, worth a hint. */
static int http_tls_verify_failure(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
           rc == CURLE_SSL_CRL_BADFILE;
}

void http_response_init(struct http_response *r)
{
    r->status = 0;
    r->retry_after_s = -1;
    r->rl_seen = 0;
    r->tls_failed = 0;
    buf_init(&r->body, HTTP_MAX_RESPONSE);
}

void http_response_free(struct http_response *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    r->status = 0;
    r->retry_after_s = -1;
    r->rl_seen = 0;
    r->tls_failed = 0;
}

/* Builds the header list; *bad is set to the index of a header holding a line break.
 * Returns 0, or -1 (out of memory, or *bad >= 0). Caller frees *list with curl_slist_free_all. */
static int http_headers(const char *const *extra, struct curl_slist **list, long *bad)
{
    static const char *const fixed[] = { "Content-Type: application/json", "Accept: application/json",
                                         "Expect:", NULL };
    struct curl_slist *tmp;
    size_t i;

    *bad = -1;
    for (i = 0; fixed[i]; i++) {
        if (!(tmp = curl_slist_append(*list, fixed[i])))
            return -1;
        *list = tmp;
    }
    for (i = 0; extra && extra[i]; i++) {
        if (strpbrk(extra[i], "\r\n")) {
            *bad = (long)i;
            return -1;
        }
        if (!(tmp = curl_slist_append(*list, extra[i])))
            return -1;
        *list = tmp;
    }
    return 0;
}

/* Per-request options. Returns 0 or -1. */
static int http_request_setup(struct http_client *c, const char *url, struct curl_slist *list,
                              const char *body, size_t len, long timeout_ms, struct http_sink *sink,
                              struct http_response *resp)
{
    CURL *h = c->curl;

    c->errbuf[0] = '\0';
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, list) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_header_cb) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HEADERDATA, resp) != CURLE_OK)
        return -1;
    return 0;
}

/* Turns a failed transfer into err, naming the (redacted) URL and curl's reason. */
static void http_report(const struct http_client *c, CURLcode rc, const struct http_sink *sink,
                        const char *where, struct error *err)
{
    char detail[CURL_ERROR_SIZE];
    size_t n;

    if (sink->over_cap) {
        error_set(err, LLMSYN_E_BACKEND, "response from %s is larger than the %zu-byte cap", where,
                  (size_t)HTTP_MAX_RESPONSE);
        return;
    }
    if (sink->no_memory) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory reading the response from %s", where);
        return;
    }
    memcpy(detail, c->errbuf, sizeof detail);
    detail[sizeof detail - 1] = '\0';
    n = strlen(detail);
    while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == '\r'))
        detail[--n] = '\0';
    error_set(err, LLMSYN_E_BACKEND, "POST %s failed: %s%s%s%s%s", where, curl_easy_strerror(rc),
              n ? " (" : "", detail, n ? ")" : "",
              http_tls_verify_failure(rc) ? "; the server's certificate could not be verified: give its CA bundle with "
                                            "--llm-cacert FILE (or LLMSYN_LLM_CACERT)" : "");
}

/* Reads status and Retry-After after a completed transfer. */
static void http_read_info(struct http_client *c, struct http_response *out)
{
    long status = 0;

    if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        out->status = status;
#if LIBCURL_VERSION_NUM >= 0x074200
    {
        curl_off_t ra = -1;

        if (curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            out->retry_after_s = ra > LONG_MAX ? LONG_MAX : (long)ra;
    }
#endif
}

int http_post_json(struct http_client *c, const char *url, const char *const *headers, const char *body,
                   size_t len, long timeout_ms, struct http_response *out, struct error *err)
{
    struct curl_slist *list = NULL;
    struct http_sink sink = { &out->body, 0, 0 };
    char where[512];
    long bad = -1;
    CURLcode rc;
    int ret = -1;

    http_redact_url(url, where, sizeof where);
    out->status = 0;
    out->retry_after_s = -1;
    out->rl_seen = 0;
    out->tls_failed = 0;
    buf_reset(&out->body);
    out->body.max = HTTP_MAX_RESPONSE;
    if (http_headers(headers, &list, &bad) < 0) {
        if (bad >= 0)
            error_set(err, LLMSYN_E_BACKEND, "request header %ld for %s contains a line break", bad, where);
        else
            error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (http_request_setup(c, url, list, body ? body : "", body ? len : 0, timeout_ms, &sink, out) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up the request to %s", where);
        goto out;
    }
    if (transport_run(c->transport, c->curl, &rc) != 0) {
        error_set(err, LLMSYN_E_INTERRUPTED, "POST %s: interrupted", where);
        goto out;
    }
    if (rc != CURLE_OK) {
        out->tls_failed = http_tls_verify_failure(rc);
        http_report(c, rc, &sink, where, err);
        goto out;
    }
    http_read_info(c, out);
    ret = 0;
out:
    if (ret < 0)
        buf_reset(&out->body);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, (void *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, (void *)NULL);
    curl_slist_free_all(list);
    return ret;
}
