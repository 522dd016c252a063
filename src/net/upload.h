/* upload.h - posts bundle files to a FHIR server: concurrency, retries, a resumable journal, a summary. */
#ifndef NET_UPLOAD_H
#define NET_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "llmsyn/llmsyn.h"
#include "util/error.h"

struct upload_opts {
    const char *base_url;        /* FHIR base URL; may carry no secret (userinfo is refused) */
    unsigned concurrency;        /* requests in flight; default 4 */
    int batch;                   /* send Bundle.type batch instead of transaction */
    int conditional;             /* --request post: conditional creates (ifNoneExist) instead of PUT */
    int preflight;               /* GET [base]/metadata first */
    unsigned max_attempts;       /* per bundle, including the first; default 6 */
    long timeout_ms;             /* per request; default 60000 */
    long backoff_ms;             /* first retry delay; doubles each time, jittered; default 500 */
    long backoff_max_ms;         /* cap on one delay (Retry-After included); default 30000 */
    const char *const *headers;  /* extra "Name: value" lines (auth included); may hold secrets */
    const char *const *secrets;  /* strings scrubbed from every reason, journal line and error */
    const char *cacert, *cert, *key;
    int insecure;
    size_t max_entries;          /* split bundles into requests of at most this many entries; 0: no cap */
    size_t max_bytes;            /* split bundles into requests of at most this many bytes; 0: no cap */
    int gzip;                    /* send bodies gzip-compressed (Content-Encoding: gzip) */
    const char *smart_client_id; /* SMART Backend Services when set (see smart.h); key, kid needed too */
    const char *smart_key, *smart_kid, *smart_scope;
};

/* Defaults for everything but base_url. */
void upload_opts_init(struct upload_opts *o);

struct upload_summary {
    uint64_t total;      /* bundle files found */
    uint64_t skipped;    /* already posted according to the journal */
    uint64_t ok;         /* posted now */
    uint64_t failed;
    uint64_t not_sent;   /* left unsent because the run stopped (credentials refused, interrupted) */
    uint64_t requests;   /* HTTP requests made, retries included */
    uint64_t retries;
    uint64_t created, updated; /* entries */
    int http_version;    /* of the last reply */
    double seconds;
    char *failures;      /* owned; "file: reason\n" lines of the first failures; free with upload_summary_free */
};

void upload_summary_free(struct upload_summary *s);

/* Lists the bundle files of PATH (a folder's record-*.json sorted, or one file) into *files
 * (caller frees each and the array) and the journal folder into dir (size dirlen).
 * Returns 0 or -1 with err (LLMSYN_E_INPUT). */
int upload_list(const char *path, char ***files, size_t *n, char *dir, size_t dirlen, struct error *err);

/* Posts the files (paths as listed) with the journal in `dir`. progress and warning callbacks are used.
 * Returns LLMSYN_OK when every bundle is on the server, LLMSYN_E_UPLOAD when any failed (err holds the
 * first reason), LLMSYN_E_INTERRUPTED after upload_request_stop(), or another status with err. */
llmsyn_status upload_run(const struct upload_opts *o, char *const *files, size_t n, const char *dir,
                         const struct llmsyn_callbacks *cb, struct upload_summary *sum, struct error *err);

/* Request bodies made on demand instead of read from bundle files (NDJSON chunks, see ndjson_input.h). */
struct upload_source {
    size_t n;     /* items, ordered by phase */
    void *user;   /* handed to the callbacks */
    /* Item i's name in messages and the journal (borrowed, valid while the source lives; no '/' or newline). */
    const char *(*name)(void *user, size_t i);
    /* One past the last item of the phase item i is in (> i, <= n). */
    size_t (*phase_end)(void *user, size_t i);
    /* Item i's transaction bundle into *data (caller frees) and *len. Returns 0, or -1 with reason. */
    int (*load)(void *user, size_t i, char **data, size_t *len, char *reason, size_t rlen);
};

/* As upload_run, for src's items, one phase after another: a phase starts when the one before it is
 * stored completely. When an item of a phase failed, the later phases are not sent (counted not sent;
 * err says why: they may reference what failed). The journal keys items by name and body hash. */
llmsyn_status upload_run_source(const struct upload_opts *o, const struct upload_source *src, const char *dir,
                                const struct llmsyn_callbacks *cb, struct upload_summary *sum, struct error *err);

/* Feed mode: posts files handed over one by one while they are being made (generate --post), through the
 * same loop as upload_run, in a thread of its own. Checks the URL and runs the pre-flight before returning;
 * the journal in `dir` is opened when the first file arrives (dir may not exist yet). o and cb must outlive
 * the feed; cb is called from the upload thread. Returns the feed (finish with upload_feed_finish) or NULL
 * with err. */
struct upload_feed;
struct upload_feed *upload_feed_start(const struct upload_opts *o, const char *dir, const struct llmsyn_callbacks *cb,
                                      struct error *err);
/* Queues a bundle file (the path is copied); waits while the bounded queue is full. Thread-safe.
 * Files added after the upload stopped are counted as not sent. Returns 0 or -1 when out of memory. */
int upload_feed_add(struct upload_feed *f, const char *path);
/* No more files: waits until every queued file is posted or failed, fills sum, frees *f (set to NULL).
 * Returns as upload_run. */
llmsyn_status upload_feed_finish(struct upload_feed **f, struct upload_summary *sum, struct error *err);

/* Asks a running upload to stop sending new bundles and finish those in flight (signal-safe). */
void upload_request_stop(void);

/* Replaces every occurrence of each secret in s, and the token after any "Bearer " (a SMART access token is in
 * no fixed list), with "***" (in place, s stays NUL-terminated). */
void upload_scrub(char *s, const char *const *secrets);

#endif
