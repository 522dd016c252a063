/* http_get.c - libcurl easy GET with a capped body, a timeout and same-host redirects only. */
#include "net/http_get.h"
#include "net/easy.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define HTTP_GET_URL_MAX 4096 /* bytes of a URL, ours or a redirect target */

struct http_get_client {
    CURL *curl;                   /* owned; keeps its connection cache between requests */
    char errbuf[CURL_ERROR_SIZE]; /* curl's detail for the last failed transfer */
};

/* What the write callback fills while one transfer runs. */
struct get_sink {
    struct buf *body; /* borrowed: the response's body */
    size_t max;       /* cap on body->len */
    int over_cap;
    int no_memory;
};

/* CURLOPT_WRITEFUNCTION: appends to the capped body; a short count aborts the transfer. */
static size_t get_write_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct get_sink *s = user;
    size_t n = size * nmemb;

    if (n > s->max || s->body->len > s->max - n) {
        s->over_cap = 1;
        return 0;
    }
    if (buf_append(s->body, data, n) < 0) {
        s->no_memory = 1;
        return 0;
    }
    return n;
}

static int get_client_setup(struct http_get_client *c)
{
    CURL *h = c->curl;

    if (net_easy_defaults(h, c->errbuf, get_write_cb) < 0 || curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK)
        return -1;
    return 0;
}

struct http_get_client *http_get_client_new(struct error *err)
{
    struct http_get_client *c = NULL;

    if (http_global_init() < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot initialise libcurl");
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    c->curl = curl_easy_init();
    if (!c->curl || get_client_setup(c) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up a libcurl handle");
        http_get_client_free(&c);
        return NULL;
    }
    return c;
}

void http_get_client_free(struct http_get_client **c)
{
    if (!c || !*c)
        return;
    if ((*c)->curl)
        curl_easy_cleanup((*c)->curl);
    free(*c);
    *c = NULL;
}

/* Where a URL points: scheme, host and port (the scheme's default port filled in). */
struct origin {
    char scheme[16];
    char host[256];
    char port[8];
};

/* Fills *o from url. Returns 0, or -1 when the URL does not parse or a part is too long. */
static int url_origin(const char *url, struct origin *o)
{
    static const CURLUPart parts[3] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
    char *dst[3], *part[3] = { NULL, NULL, NULL };
    size_t len[3], i;
    CURLU *u = curl_url();
    int rc = -1;

    dst[0] = o->scheme;
    len[0] = sizeof o->scheme;
    dst[1] = o->host;
    len[1] = sizeof o->host;
    dst[2] = o->port;
    len[2] = sizeof o->port;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    for (i = 0; i < 3; i++) {
        if (curl_url_get(u, parts[i], &part[i], i == 2 ? CURLU_DEFAULT_PORT : 0) != CURLUE_OK ||
            strlen(part[i]) >= len[i])
            goto out;
        memcpy(dst[i], part[i], strlen(part[i]) + 1);
    }
    rc = 0;
out:
    for (i = 0; i < 3; i++)
        curl_free(part[i]);
    curl_url_cleanup(u);
    return rc;
}

/* 1 when both URLs have the same scheme, host and port. */
static int same_origin(const char *a, const char *b)
{
    struct origin oa, ob;

    if (url_origin(a, &oa) < 0 || url_origin(b, &ob) < 0)
        return 0;
    return !strcasecmp(oa.scheme, ob.scheme) && !strcasecmp(oa.host, ob.host) && !strcmp(oa.port, ob.port);
}

/* Turns a failed transfer into err, naming the (redacted) URL and curl's reason. */
static void get_report(const struct http_get_client *c, CURLcode rc, const struct get_sink *sink,
                       const char *where, struct error *err)
{
    char detail[CURL_ERROR_SIZE];
    size_t n;

    if (sink->over_cap) {
        error_set(err, LLMSYN_E_BACKEND, "response from %s is larger than the %zu-byte cap", where, sink->max);
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
    error_set(err, LLMSYN_E_BACKEND, "GET %s failed: %s%s%s%s", where, curl_easy_strerror(rc), n ? " (" : "",
              detail, n ? ")" : "");
}

/* One transfer of `url`; on a redirect *next gets the target (caller frees). Returns 0 or -1 with err. */
static int get_once(struct http_get_client *c, const char *url, struct curl_slist *headers, long timeout_ms,
                    struct get_sink *sink, struct http_response *out, char **next, struct error *err)
{
    char where[512];
    const char *target = NULL;
    long status = 0;
    CURLcode rc;

    *next = NULL;
    http_redact_url(url, where, sizeof where);
    c->errbuf[0] = '\0';
    buf_reset(sink->body);
    sink->over_cap = sink->no_memory = 0;
    if (curl_easy_setopt(c->curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 0L) != CURLE_OK ||
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, sink) != CURLE_OK) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up the request to %s", where);
        return -1;
    }
    if ((rc = curl_easy_perform(c->curl)) != CURLE_OK) {
        get_report(c, rc, sink, where, err);
        return -1;
    }
    if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        out->status = status;
    if (status >= 300 && status < 400 && curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &target) == CURLE_OK &&
        target && target[0]) {
        if (strlen(target) >= HTTP_GET_URL_MAX || !(*next = malloc(strlen(target) + 1))) {
            error_set(err, LLMSYN_E_BACKEND, "redirect from %s is too long or out of memory", where);
            return -1;
        }
        memcpy(*next, target, strlen(target) + 1);
    }
    return 0;
}

int http_get(struct http_get_client *c, const char *url, const char *accept, long timeout_ms, size_t max_bytes,
             struct http_response *out, struct error *err)
{
    struct curl_slist *headers = NULL, *tmp;
    struct get_sink sink;
    char accept_line[256], where[512], *cur = NULL, *next = NULL;
    int hops, ret = -1;

    http_redact_url(url, where, sizeof where);
    out->status = 0;
    out->retry_after_s = -1;
    buf_reset(&out->body);
    out->body.max = HTTP_MAX_RESPONSE;
    sink.body = &out->body;
    sink.max = max_bytes && max_bytes < HTTP_MAX_RESPONSE ? max_bytes : HTTP_MAX_RESPONSE;
    if (!url || strlen(url) >= HTTP_GET_URL_MAX || (accept && strpbrk(accept, "\r\n")) ||
        snprintf(accept_line, sizeof accept_line, "Accept: %s", accept ? accept : "*/*") >= (int)sizeof accept_line) {
        error_set(err, LLMSYN_E_BACKEND, "bad request to %s", where);
        return -1;
    }
    if (!(tmp = curl_slist_append(NULL, accept_line)) || !(cur = malloc(strlen(url) + 1))) {
        curl_slist_free_all(tmp);
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return -1;
    }
    headers = tmp;
    memcpy(cur, url, strlen(url) + 1);
    for (hops = 0;; hops++) {
        if (get_once(c, cur, headers, timeout_ms, &sink, out, &next, err) < 0)
            goto out;
        if (!next)
            break;
        http_redact_url(next, where, sizeof where);
        if (hops >= HTTP_GET_MAX_REDIRECTS || !same_origin(cur, next)) {
            error_set(err, LLMSYN_E_BACKEND, "refused redirect to %s (%s)", where,
                      hops >= HTTP_GET_MAX_REDIRECTS ? "too many redirects" : "another host");
            goto out;
        }
        free(cur);
        cur = next;
        next = NULL;
    }
    ret = 0;
out:
    if (ret < 0)
        buf_reset(&out->body);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, (void *)NULL);
    curl_slist_free_all(headers);
    free(cur);
    free(next);
    return ret;
}
