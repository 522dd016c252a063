/* http_get.h - HTTP GET over the libcurl easy interface, for read-only web services (MedlinePlus Connect). */
#ifndef NET_HTTP_GET_H
#define NET_HTTP_GET_H

#include <stddef.h>

#include "net/http.h"
#include "util/error.h"

/* Redirects followed per request; each must stay on the same scheme, host and port. */
#define HTTP_GET_MAX_REDIRECTS 3

/* One client per thread (never shared); it keeps its connection open between requests. */
struct http_get_client;

/* Returns a new client (calls http_global_init), or NULL with err. Caller frees with http_get_client_free. */
struct http_get_client *http_get_client_new(struct error *err);
void http_get_client_free(struct http_get_client **c);

/* GETs `url` (http or https only) with "Accept: <accept>" (accept may be NULL). A redirect is followed
 * only to the same scheme, host and port, at most HTTP_GET_MAX_REDIRECTS times; a redirect elsewhere is
 * an error. The body may hold at most max_bytes (0 or more than HTTP_MAX_RESPONSE means
 * HTTP_MAX_RESPONSE); a longer body is an error, never truncated. timeout_ms <= 0 means no overall
 * timeout. Returns 0 when a final response arrived, whatever its status (out->status, out->body
 * replaced), or -1 with err (LLMSYN_E_BACKEND; LLMSYN_E_NOMEM) naming the URL without userinfo, query
 * or fragment. */
int http_get(struct http_get_client *c, const char *url, const char *accept, long timeout_ms, size_t max_bytes,
             struct http_response *out, struct error *err);

#endif
