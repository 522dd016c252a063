/* http.c - libcurl easy-interface wrapper: JSON POST with a capped body, a timeout and no redirects. */
#include "net/http.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct http_client {
    CURL *curl;                   /* owned; keeps its connection cache between requests */
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

/* Options that hold for every request of a client. Returns 0 or -1. */
static int http_client_setup(struct http_client *c)
{
    CURL *h = c->curl;

    if (curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, HTTP_USER_AGENT) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write_cb) != CURLE_OK)
        return -1;
#if LIBCURL_VERSION_NUM >= 0x075500
    if (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
        return -1;
#else
    if (curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK)
        return -1;
#endif
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
    return c;
}

void http_client_free(struct http_client **c)
{
    if (!c || !*c)
        return;
    if ((*c)->curl)
        curl_easy_cleanup((*c)->curl);
    free(*c);
    *c = NULL;
}

void http_response_init(struct http_response *r)
{
    r->status = 0;
    r->retry_after_s = -1;
    buf_init(&r->body, HTTP_MAX_RESPONSE);
}

void http_response_free(struct http_response *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    r->status = 0;
    r->retry_after_s = -1;
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
                              const char *body, size_t len, long timeout_ms, struct http_sink *sink)
{
    CURL *h = c->curl;

    c->errbuf[0] = '\0';
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, list) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) != CURLE_OK)
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
    error_set(err, LLMSYN_E_BACKEND, "POST %s failed: %s%s%s%s", where, curl_easy_strerror(rc),
              n ? " (" : "", detail, n ? ")" : "");
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
    buf_reset(&out->body);
    out->body.max = HTTP_MAX_RESPONSE;
    if (http_headers(headers, &list, &bad) < 0) {
        if (bad >= 0)
            error_set(err, LLMSYN_E_BACKEND, "request header %ld for %s contains a line break", bad, where);
        else
            error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (http_request_setup(c, url, list, body ? body : "", body ? len : 0, timeout_ms, &sink) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up the request to %s", where);
        goto out;
    }
    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
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
    curl_slist_free_all(list);
    return ret;
}
