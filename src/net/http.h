/* http.h - a small HTTP client over the libcurl easy interface (the project's only libcurl user). */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

/* Hard cap on a response body; a larger body is an error, never truncated. */
#define HTTP_MAX_RESPONSE ((size_t)8 << 20)
#define HTTP_USER_AGENT "llmsyn-fhir/0.1"

/* One client per thread (never shared); it keeps its connection open between requests. */
struct http_client;

struct http_response {
    long status;        /* HTTP status of the final response; 0 when none was received */
    long retry_after_s; /* Retry-After in seconds when the server sent one, else -1 */
    struct buf body;    /* owned; capped at HTTP_MAX_RESPONSE; free with http_response_free */
};

/* Initialises libcurl once per process (pthread_once); safe from any thread.
 * Returns 0, or -1 when libcurl could not be initialised. */
int http_global_init(void);

/* Returns a new client (calls http_global_init), or NULL with err. Caller frees with http_client_free. */
struct http_client *http_client_new(struct error *err);
void http_client_free(struct http_client **c);

/* Zeroes a response before first use (a zero-initialised struct is valid too). */
void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/* POSTs `len` bytes of JSON `body` to `url`. `headers` is a NULL-terminated list of extra
 * "Name: value" lines (may be NULL); Content-Type and Accept are set to application/json.
 * Redirects are not followed; timeout_ms <= 0 means no overall timeout.
 * Returns 0 when a response arrived, whatever its status (out->status, out->body replaced),
 * or -1 with err (LLMSYN_E_BACKEND) naming the URL (userinfo and query removed) and curl's reason;
 * header values never appear in errors. */
int http_post_json(struct http_client *c, const char *url, const char *const *headers, const char *body,
                   size_t len, long timeout_ms, struct http_response *out, struct error *err);

/* Writes url into out without userinfo, query or fragment (for messages). Always NUL-terminates. */
void http_redact_url(const char *url, char *out, size_t outlen);

#endif
