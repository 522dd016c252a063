/* http_multi.c - libcurl multi interface: a fixed pool of transfer slots over one shared connection cache. */
#include "net/http.h"
#include "net/easy.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* One transfer slot; its easy handle is reused so connections and TLS sessions are too. */
struct http_slot {
    CURL *easy;                   /* owned */
    int busy;
    struct http_request req;      /* copy; strings borrowed */
    struct curl_slist *headers;   /* owned while busy */
    struct buf body;              /* owned; response body */
    int over_cap;
    char errbuf[CURL_ERROR_SIZE];
};

struct http_multi {
    CURLM *multi;                 /* owned */
    struct http_multi_opts opts;  /* copy; strings borrowed */
    struct http_slot *slots;      /* owned; opts.max_in_flight of them */
    unsigned running;
};

/* CURLOPT_WRITEFUNCTION: appends to the slot's capped body. */
static size_t multi_write_cb(char *data, size_t size, size_t nmemb, void *user)
{
    struct http_slot *s = user;
    size_t n = size * nmemb;

    if (n > HTTP_MAX_RESPONSE || s->body.len > HTTP_MAX_RESPONSE - n || buf_append(&s->body, data, n) < 0) {
        s->over_cap = 1;
        return 0;
    }
    return n;
}

/* Options that hold for every transfer of the pool. Returns 0 or -1. */
static int slot_setup(struct http_slot *s, const struct http_multi_opts *o)
{
    CURL *h = s->easy;
    int bad = 0;

    bad |= net_easy_defaults(h, s->errbuf, multi_write_cb) < 0;
    bad |= curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_PRIVATE, s) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 0L) != CURLE_OK;
    if (o->connect_timeout_ms > 0)
        bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) != CURLE_OK;
    if (o->cacert)
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert) != CURLE_OK;
    if (o->cert)
        bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert) != CURLE_OK;
    if (o->key)
        bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, o->key) != CURLE_OK;
    if (o->insecure) {
        bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
    }
    return bad ? -1 : 0;
}

struct http_multi *http_multi_new(const struct http_multi_opts *opts, struct error *err)
{
    struct http_multi *m = NULL;
    unsigned i;

    if (!opts || opts->max_in_flight == 0 || opts->max_in_flight > 4096) {
        error_set(err, LLMSYN_E_USAGE, "concurrency must be between 1 and 4096");
        return NULL;
    }
    if (http_global_init() < 0) {
        error_set(err, LLMSYN_E_UPLOAD, "cannot initialise libcurl");
        return NULL;
    }
    if (!(m = calloc(1, sizeof *m)) || !(m->slots = calloc(opts->max_in_flight, sizeof *m->slots)))
        goto nomem;
    m->opts = *opts;
    if (!(m->multi = curl_multi_init()))
        goto nocurl;
    curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)opts->max_in_flight);
    curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS, (long)opts->max_in_flight);
    for (i = 0; i < opts->max_in_flight; i++) {
        buf_init(&m->slots[i].body, HTTP_MAX_RESPONSE);
        if (!(m->slots[i].easy = curl_easy_init()) || slot_setup(&m->slots[i], opts) < 0)
            goto nocurl;
    }
    return m;
nomem:
    error_set(err, LLMSYN_E_NOMEM, "out of memory");
    http_multi_free(&m);
    return NULL;
nocurl:
    error_set(err, LLMSYN_E_UPLOAD, "cannot set up libcurl transfers");
    http_multi_free(&m);
    return NULL;
}

void http_multi_free(struct http_multi **mp)
{
    struct http_multi *m;
    unsigned i;

    if (!mp || !*mp)
        return;
    m = *mp;
    for (i = 0; m->slots && i < m->opts.max_in_flight; i++) {
        struct http_slot *s = &m->slots[i];

        if (s->easy) {
            if (s->busy && m->multi)
                curl_multi_remove_handle(m->multi, s->easy);
            curl_easy_cleanup(s->easy);
        }
        curl_slist_free_all(s->headers);
        buf_free(&s->body);
    }
    if (m->multi)
        curl_multi_cleanup(m->multi);
    free(m->slots);
    free(m);
    *mp = NULL;
}

unsigned http_multi_running(const struct http_multi *m)
{
    return m ? m->running : 0;
}

/* Content-Type/Accept plus the pool's extra headers. Returns NULL when out of memory or a header is bad. */
static struct curl_slist *request_headers(const struct http_multi *m, const struct http_request *req)
{
    struct curl_slist *list = NULL, *tmp;
    char ctype[160];
    size_t i;

    snprintf(ctype, sizeof ctype, "Content-Type: %s",
             req->content_type ? req->content_type : "application/fhir+json");
    if (strpbrk(ctype, "\r\n"))
        return NULL;
    if (!(list = curl_slist_append(NULL, "Accept: application/fhir+json")))
        return NULL;
    if (!(tmp = curl_slist_append(list, "Expect:")) || !(tmp = curl_slist_append(list, ctype)))
        goto fail;
    for (i = 0; m->opts.headers && m->opts.headers[i]; i++)
        if (strpbrk(m->opts.headers[i], "\r\n") || !(tmp = curl_slist_append(list, m->opts.headers[i])))
            goto fail;
    for (i = 0; req->headers && req->headers[i]; i++)
        if (strpbrk(req->headers[i], "\r\n") || !(tmp = curl_slist_append(list, req->headers[i])))
            goto fail;
    if (req->content_encoding) {
        char enc[96];

        snprintf(enc, sizeof enc, "Content-Encoding: %s", req->content_encoding);
        if (strpbrk(enc, "\r\n") || !(tmp = curl_slist_append(list, enc)))
            goto fail;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

/* Per-request options. Returns 0 or -1. */
static int request_setup(struct http_slot *s, const struct http_request *req)
{
    CURL *h = s->easy;
    int bad = 0, get = !strcmp(req->method, "GET");

    bad |= curl_easy_setopt(h, CURLOPT_URL, req->url) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->headers) != CURLE_OK;
    if (get) {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, (char *)NULL) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->len : 0)) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "") != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(req->method, "POST") ? req->method : NULL)
               != CURLE_OK;
    }
    return bad ? -1 : 0;
}

int http_multi_add(struct http_multi *m, const struct http_request *req, struct error *err)
{
    struct http_slot *s = NULL;
    unsigned i;

    for (i = 0; i < m->opts.max_in_flight && !s; i++)
        if (!m->slots[i].busy)
            s = &m->slots[i];
    if (!s)
        return error_set(err, LLMSYN_E_INTERNAL, "no free transfer slot"), -1;
    s->req = *req;
    s->over_cap = 0;
    s->errbuf[0] = '\0';
    buf_reset(&s->body);
    if (!(s->headers = request_headers(m, req)))
        return error_set(err, LLMSYN_E_USAGE, "a request header is malformed (line break) or memory ran out"), -1;
    if (request_setup(s, req) < 0 || curl_multi_add_handle(m->multi, s->easy) != CURLM_OK) {
        curl_slist_free_all(s->headers);
        s->headers = NULL;
        return error_set(err, LLMSYN_E_UPLOAD, "cannot start a transfer"), -1;
    }
    s->busy = 1;
    m->running++;
    return 0;
}

/* Fills res from a finished transfer. */
static void read_result(struct http_slot *s, CURLcode rc, struct http_result *res)
{
    long status = 0, ver = 0;
    curl_off_t ra = -1;

    memset(res, 0, sizeof *res);
    res->retry_after_s = -1;
    res->detail = "";
    if (curl_easy_getinfo(s->easy, CURLINFO_HTTP_VERSION, &ver) == CURLE_OK)
        res->http_version = ver == CURL_HTTP_VERSION_2_0 ? 2 : ver == CURL_HTTP_VERSION_1_0 ? 1 : ver >= 30 ? 3 : 1;
    if (rc != CURLE_OK) {
        res->transport_failed = 1;
        res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        res->detail = s->over_cap ? "response larger than the cap" : s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
        return;
    }
    if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        res->status = status;
    if (curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        res->retry_after_s = ra > LONG_MAX ? LONG_MAX : (long)ra;
    res->body = buf_str(&s->body);
    res->len = s->body.len;
}

/* Hands every finished transfer to done() and frees its slot. */
static void drain(struct http_multi *m, http_done_fn done, void *user)
{
    CURLMsg *msg;
    int left = 0;

    while ((msg = curl_multi_info_read(m->multi, &left))) {
        struct http_slot *s = NULL;
        struct http_result res;
        struct http_request req;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s)
            continue;
        read_result(s, msg->data.result, &res);
        curl_multi_remove_handle(m->multi, s->easy);
        req = s->req;
        if (done)
            done(user, &req, &res);
        curl_slist_free_all(s->headers);
        s->headers = NULL;
        s->busy = 0;
        m->running--;
    }
}

int http_multi_perform(struct http_multi *m, long wait_ms, http_done_fn done, void *user, struct error *err)
{
    int still = 0;
    CURLMcode mc;

    mc = curl_multi_perform(m->multi, &still);
    if (mc == CURLM_OK && still == (int)m->running)
        mc = curl_multi_poll(m->multi, NULL, 0, wait_ms > 0 ? (int)(wait_ms > INT_MAX ? INT_MAX : wait_ms) : 0,
                             NULL);
    if (mc == CURLM_OK)
        mc = curl_multi_perform(m->multi, &still);
    if (mc != CURLM_OK)
        return error_set(err, LLMSYN_E_UPLOAD, "libcurl multi failed: %s", curl_multi_strerror(mc)), -1;
    drain(m, done, user);
    return 0;
}
