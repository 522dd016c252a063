/* transport.h - every model request of the process on one libcurl multi handle, driven by one loop thread. */
#ifndef NET_TRANSPORT_H
#define NET_TRANSPORT_H

#include <curl/curl.h>

#include "util/error.h"

/* The process-wide transport: one multi handle (so one connection pool, HTTP/2 multiplexing allowed)
 * and one thread driving it with curl_multi_socket_action over poll(). Each http_client holds it; it starts with
 * the first holder and stops (thread joined, pool freed) when the last one lets go. */
struct transport;

/* Takes one hold on the transport, creating it when nobody holds it. The pool allows as many
 * connections per host as there are holders (one per worker, so --concurrency). Returns it, or NULL
 * with err. Each successful call is matched by one transport_release. Thread-safe. */
struct transport *transport_acquire(struct error *err);

/* Lets go of one hold and sets *t to NULL; the last hold stops and joins the loop thread and frees the
 * multi handle. No transfer of the caller may be running. Thread-safe. */
void transport_release(struct transport **t);

/* Runs one configured easy handle to completion on the loop thread while the caller waits. The handle
 * is borrowed by the loop until this returns (its callbacks run on the loop thread); CURLOPT_PRIVATE
 * is used by the transport. Returns 0 with the transfer's result in *rc, or 1 when the transfer was
 * abandoned (or never started) because a stop was requested with http_request_stop. */
int transport_run(struct transport *t, CURL *easy, CURLcode *rc);

#endif
