/* http.h - the model client: POSTs of JSON over libcurl, carried by the shared multi loop (transport.h). */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

/* Hard cap on a response body; a larger body is an error, never truncated. */
#define HTTP_MAX_RESPONSE ((size_t)8 << 20)
#define HTTP_USER_AGENT "llmsyn-fhir/0.1"

/* One client per worker thread (never shared between threads at once). Its requests run on the
 * process-wide transport (src/net/transport.c): one libcurl multi handle driven by one loop thread, so
 * the requests of every client are in flight together over one pool of kept-alive connections (at
 * most one per client and host; HTTP/2 multiplexed where the server offers it). */
struct http_client;

struct http_response {
    long status;        /* HTTP status of the final response; 0 when none was received */
    long retry_after_s; /* Retry-After in seconds when the server sent one, else -1 */
    struct buf body;    /* owned; capped at HTTP_MAX_RESPONSE; free with http_response_free */
    /* Rate-limit headers of the final response (OpenAI x-ratelimit-*, Anthropic anthropic-ratelimit-*
     * requests/tokens remaining and reset). A field is valid only when its HTTP_RL_* bit is set in
     * rl_seen (0 in a zeroed struct: nothing known). Filled by http_post_json only. */
    unsigned rl_seen;
    long rl_remaining_requests, rl_remaining_tokens; /* >= 0 */
    long rl_reset_requests_ms, rl_reset_tokens_ms;   /* time until the window resets, 0..HTTP_RL_MAX_MS */
    /* Set by a failed http_post_json when TLS verification or the CA file failed (certificate verify
     * failed, unknown issuer, bad CA bundle): a retry cannot help. 0 otherwise. */
    int tls_failed;
};

#define HTTP_RL_REMAINING_REQUESTS 1u
#define HTTP_RL_REMAINING_TOKENS 2u
#define HTTP_RL_RESET_REQUESTS 4u
#define HTTP_RL_RESET_TOKENS 8u
#define HTTP_RL_MAX_MS 86400000L /* reset times are clamped to one day */

/* Parses a rate-limit reset duration: a sequence of <number>[.<fraction>]<unit> with units h, m, s,
 * ms, us and ns ("1s", "6m0s", "120ms", "1h2m3.5s"), or a bare number of seconds. At most 64 bytes
 * of s are read (n: length). Returns milliseconds (rounded up, clamped to HTTP_RL_MAX_MS), or -1 for
 * anything else (empty, negative, unknown unit, too long). */
long http_parse_duration_ms(const char *s, size_t n);

/* Parses an RFC 3339 time ("2024-05-01T12:00:30Z", optional fraction, "Z" or +hh:mm / -hh:mm)
 * of length n into milliseconds since the Unix epoch. Returns 0, or -1 when malformed. */
int http_parse_rfc3339_ms(const char *s, size_t n, long long *epoch_ms);

/* Initialises libcurl once per process (pthread_once); safe from any thread.
 * Returns 0, or -1 when libcurl could not be initialised. */
int http_global_init(void);

/* Returns a new client (calls http_global_init; the first client starts the transport's loop thread),
 * or NULL with err. Caller frees with http_client_free (the last one stops and joins that thread). */
struct http_client *http_client_new(struct error *err);
void http_client_free(struct http_client **c);

/* TLS of every later request of c: cacert is a CA bundle file (PEM) used instead of the system store
 * (NULL: system store; borrowed only for this call); insecure skips peer and host name verification.
 * Returns 0, or -1 with err (LLMSYN_E_BACKEND) when libcurl refused the setting. */
int http_client_set_tls(struct http_client *c, const char *cacert, int insecure, struct error *err);

/* Stop requests for model traffic (llmsyn_request_stop calls http_request_stop): every request in
 * flight is abandoned and every later one fails at once, with LLMSYN_E_INTERRUPTED, until
 * http_clear_stop. http_request_stop is async-signal-safe (it sets a flag the loop thread polls at
 * least every 100 ms). */
void http_request_stop(void);
void http_clear_stop(void);
int http_stop_requested(void);

/* Zeroes a response before first use (a zero-initialised struct is valid too). */
void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/* POSTs `len` bytes of JSON `body` to `url` and waits for the reply (the transfer runs on the shared
 * transport; the calling thread sleeps). `headers` is a NULL-terminated list of extra
 * "Name: value" lines (may be NULL); Content-Type and Accept are set to application/json.
 * Redirects are not followed; timeout_ms <= 0 means no overall timeout.
 * Returns 0 when a response arrived, whatever its status (out->status, out->body replaced),
 * or -1 with err (LLMSYN_E_BACKEND) naming the URL (userinfo and query removed) and curl's reason
 * (a TLS verification failure sets out->tls_failed and hints at --llm-cacert),
 * or LLMSYN_E_INTERRUPTED after http_request_stop; header values never appear in errors. */
int http_post_json(struct http_client *c, const char *url, const char *const *headers, const char *body,
                   size_t len, long timeout_ms, struct http_response *out, struct error *err);

/* Writes url into out without userinfo, query or fragment (for messages). Always NUL-terminates. */
void http_redact_url(const char *url, char *out, size_t outlen);

/* ---- The multi interface: many requests in flight over one connection pool ---- */

/* Settings shared by every transfer of one pool. Strings are borrowed for the pool's life. */
struct http_multi_opts {
    unsigned max_in_flight;    /* transfers running at once (>= 1) */
    long timeout_ms;           /* per transfer, <= 0 for none */
    long connect_timeout_ms;   /* <= 0 for libcurl's default */
    const char *const *headers;/* NULL-terminated "Name: value" lines added to every request; may hold secrets */
    const char *cacert;        /* CA bundle file, or NULL for the system store */
    const char *cert, *key;    /* client certificate and key (PEM) for mutual TLS, or NULL */
    int insecure;              /* skip TLS verification (explicit opt-in only) */
};

/* One request. method is "GET", "POST" or "PUT"; body may be NULL (GET). The body is borrowed
 * until the transfer's done callback returns; `user` is handed back to that callback. */
struct http_request {
    const char *method;
    const char *url;
    const char *content_type; /* NULL means application/fhir+json */
    const char *body;
    size_t len;
    void *user;
    const char *content_encoding; /* e.g. "gzip" when body is compressed; NULL for none */
    const char *const *headers;   /* NULL-terminated "Name: value" lines for this request only (after the
                                   * pool's), or NULL; may hold secrets */
};

/* What one finished transfer produced. Valid only during the done callback. */
struct http_result {
    int transport_failed;  /* no complete response: connection refused/reset, timeout, ... */
    int timed_out;         /* transport_failed because of the timeout */
    long status;           /* HTTP status, 0 when transport_failed */
    long retry_after_s;    /* Retry-After in seconds, or -1 */
    int http_version;      /* 1 or 2 (or 3) as negotiated */
    const char *detail;    /* transport failure reason (never holds header values), else "" */
    const char *body;      /* response body (NUL-terminated), capped at HTTP_MAX_RESPONSE */
    size_t len;
};

struct http_multi;
typedef void (*http_done_fn)(void *user, const struct http_request *req, const struct http_result *res);

/* Returns a pool, or NULL with err. Caller frees with http_multi_free. */
struct http_multi *http_multi_new(const struct http_multi_opts *opts, struct error *err);
void http_multi_free(struct http_multi **m);

/* Starts a request (the request struct is copied; its strings are borrowed). Fails with err when
 * max_in_flight transfers are already running. Returns 0 or -1. */
int http_multi_add(struct http_multi *m, const struct http_request *req, struct error *err);

/* Transfers in flight. */
unsigned http_multi_running(const struct http_multi *m);

/* Drives the transfers for up to wait_ms, calling done() for each that finished.
 * Returns 0, or -1 with err when libcurl itself failed. */
int http_multi_perform(struct http_multi *m, long wait_ms, http_done_fn done, void *user, struct error *err);

#endif
