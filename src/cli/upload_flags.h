/* upload_flags.h - the FHIR server flags (target, auth, TLS, requests) of post, shared with generate --post. */
#ifndef CLI_UPLOAD_FLAGS_H
#define CLI_UPLOAD_FLAGS_H

#include <getopt.h>
#include <stddef.h>

#include "net/upload.h"

#define UPLOAD_FLAGS_MAX_HEADERS 32
#define UPLOAD_FLAGS_TOKEN_ENV "LLMSYN_FHIR_TOKEN"
#define UPLOAD_FLAGS_OPTIONS 24 /* entries upload_flags_options adds at most */

/* Everything the flags set or allocate; free with upload_flags_free. */
struct upload_args {
    struct upload_opts up;
    int generate;                                        /* names as generate spells them (--post, --post-*) */
    const char *headers[UPLOAD_FLAGS_MAX_HEADERS + 2];   /* NULL-terminated; borrowed or owned by `owned` */
    const char *secrets[UPLOAD_FLAGS_MAX_HEADERS + 4];   /* NULL-terminated; borrowed */
    size_t nh, ns;
    char *owned[4];                                      /* auth header lines built here */
    int bearer, basic;                                   /* --bearer, --basic given */
};

/* Defaults; generate != 0 for generate's spelling: --to is --post, and --concurrency, --timeout and
 * --retries are --post-concurrency, --post-timeout and --post-retries (generate has its own). */
void upload_flags_init(struct upload_args *a, int generate);

/* Appends the flags' getopt_long entries (with -H as 'H') to opts[*n..], at most UPLOAD_FLAGS_OPTIONS,
 * leaving a NULL entry after them. Returns 0, or -1 when cap is too small. */
int upload_flags_options(const struct upload_args *a, struct option *opts, size_t *n, size_t cap);

/* Applies option c with value v. Returns 0, -1 on a bad value (message printed), 1 when c is not one of these. */
int upload_flags_apply(struct upload_args *a, int c, const char *v);

/* After all options: the token from the environment, the combination checks, headers and secrets into up.
 * Returns 0 or -1 (message printed). */
int upload_flags_finish(struct upload_args *a);

void upload_flags_free(struct upload_args *a);

#endif
