/* post.c - `llmsyn-fhir post PATH --to URL`: uploads bundle folders to a FHIR server. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli/cli.h"
#include "net/upload.h"
#include "util/error.h"

#define MAX_HEADERS 32
#define TOKEN_ENV "LLMSYN_FHIR_TOKEN"

/* Everything the options allocate; freed by post_args_free. */
struct post_args {
    struct upload_opts up;
    const char *path;
    int quiet;
    const char *headers[MAX_HEADERS + 2];  /* NULL-terminated; [0..nh) borrowed or owned by `owned` */
    const char *secrets[MAX_HEADERS + 4];  /* NULL-terminated; borrowed */
    size_t nh, ns;
    char *owned[4];                        /* auth header lines this file built */
};

static void usage_post(void)
{
    printf("usage: " CLI_NAME " post PATH --to URL [options]\n"
           "  PATH                     a folder of record-*.json bundles (or one bundle file)\n"
           "  --to URL                 FHIR R4 base URL (required)\n"
           "  --concurrency N          requests in flight (default 4)\n"
           "  --bundle-type T          transaction (default) or batch\n"
           "  --request M              put (default: PUT Type/id, re-posting updates) or post\n"
           "                           (conditional create with ifNoneExist on the identifier)\n"
           "  --no-preflight           skip GET [base]/metadata (FHIR 4.0.x and transaction support)\n"
           "  --retries N              retries per bundle on 429/5xx/timeouts (default 5)\n"
           "  --timeout SECONDS        per request (default 60)\n"
           "  --bearer TOKEN           bearer token (or the " TOKEN_ENV " environment variable)\n"
           "  --basic USER:PASS        HTTP basic authentication\n"
           "  -H 'Name: value'         extra request header (repeatable; values are treated as secrets)\n"
           "  --cacert FILE            CA bundle for TLS verification\n"
           "  --cert FILE --key FILE   client certificate and key (mutual TLS)\n"
           "  --insecure               do not verify the server's TLS certificate\n"
           "  --max-bundle-entries N   split bundles into requests of at most N entries\n"
           "  --max-bundle-bytes N     split bundles into requests of at most N bytes\n"
           "                           (references between parts become Type/id; referenced parts go first)\n"
           "  --gzip                   gzip request bodies (Content-Encoding: gzip)\n"
           "  --smart-client-id ID     SMART Backend Services (client_credentials, private_key_jwt)\n"
           "  --smart-key FILE         PEM private key: RSA (RS384) or EC P-384 (ES384)\n"
           "  --smart-kid KID          the key's id in the registered JWKS\n"
           "  --smart-scope SCOPE      scope to ask for (default system/*.write)\n"
           "  -q, --quiet              no progress or summary\n"
           "The journal " "post-journal.ndjson in the bundle folder records each bundle's outcome; running the\n"
           "same command again sends only what is not yet on the server. Exit status 6 when a bundle failed.\n");
}

static void on_signal(int sig)
{
    (void)sig;
    upload_request_stop();
}

static void on_warning(void *user, const char *message)
{
    const struct progress *p = user;

    if (!p->quiet) {
        if (p->tty)
            fputc('\n', stderr);
        msg_warn("%s", message);
    }
}

/* Parses a positive integer option. Returns 0 or -1 (message printed). */
static int parse_uint(const char *opt, const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || !end || *end || end == s || s[0] == '-' || v == 0 || v > max) {
        msg_error("%s wants a whole number from 1 to %lu, not '%s'", opt, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Adds a header line the args own. Returns 0 or -1. */
static int add_owned_header(struct post_args *a, const char *prefix, const char *value)
{
    size_t n = strlen(prefix) + strlen(value) + 1, k;
    char *line;

    for (k = 0; k < 4 && a->owned[k]; k++)
        ;
    if (k == 4 || a->nh >= MAX_HEADERS || !(line = malloc(n)))
        return -1;
    snprintf(line, n, "%s%s", prefix, value);
    a->owned[k] = line;
    a->headers[a->nh++] = line;
    return 0;
}

static int add_bearer(struct post_args *a, const char *token)
{
    if (!*token || strpbrk(token, "\r\n")) {
        msg_error("--bearer wants a non-empty token on one line");
        return -1;
    }
    a->secrets[a->ns++] = token;
    return add_owned_header(a, "Authorization: Bearer ", token);
}

static int add_basic(struct post_args *a, const char *userpass)
{
    size_t n = strlen(userpass);
    unsigned char *b64 = NULL;
    int ret = -1;

    if (!strchr(userpass, ':') || strpbrk(userpass, "\r\n") || n > 4096) {
        msg_error("--basic wants USER:PASS");
        return -1;
    }
    if (!(b64 = malloc(4 * ((n + 2) / 3) + 1)))
        return -1;
    EVP_EncodeBlock(b64, (const unsigned char *)userpass, (int)n);
    a->secrets[a->ns++] = userpass;
    a->secrets[a->ns++] = strchr(userpass, ':') + 1;
    ret = add_owned_header(a, "Authorization: Basic ", (const char *)b64);
    if (ret == 0)
        a->secrets[a->ns++] = a->headers[a->nh - 1] + strlen("Authorization: Basic ");
    free(b64);
    return ret;
}

static int add_header(struct post_args *a, const char *line)
{
    const char *colon = strchr(line, ':');

    if (!colon || colon == line || strpbrk(line, "\r\n") || a->nh >= MAX_HEADERS) {
        msg_error("-H wants 'Name: value' on one line (at most %d)", MAX_HEADERS);
        return -1;
    }
    a->headers[a->nh++] = line;
    colon++;
    while (*colon == ' ')
        colon++;
    if (*colon && a->ns < MAX_HEADERS)
        a->secrets[a->ns++] = colon;
    return 0;
}

static void post_args_free(struct post_args *a)
{
    size_t k;

    for (k = 0; k < 4; k++)
        free(a->owned[k]);
}

enum { OPT_TO = 1000, OPT_CONC, OPT_TYPE, OPT_REQUEST, OPT_NOPRE, OPT_RETRIES, OPT_TIMEOUT, OPT_BEARER, OPT_BASIC,
       OPT_CACERT, OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_MAX_ENTRIES, OPT_MAX_BYTES, OPT_GZIP,
       OPT_SMART_ID, OPT_SMART_KEY, OPT_SMART_KID, OPT_SMART_SCOPE };

static const struct option post_options[] = {
    { "to", required_argument, NULL, OPT_TO },
    { "concurrency", required_argument, NULL, OPT_CONC },
    { "bundle-type", required_argument, NULL, OPT_TYPE },
    { "request", required_argument, NULL, OPT_REQUEST },
    { "no-preflight", no_argument, NULL, OPT_NOPRE },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "bearer", required_argument, NULL, OPT_BEARER },
    { "basic", required_argument, NULL, OPT_BASIC },
    { "header", required_argument, NULL, 'H' },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "insecure", no_argument, NULL, OPT_INSECURE },
    { "max-bundle-entries", required_argument, NULL, OPT_MAX_ENTRIES },
    { "max-bundle-bytes", required_argument, NULL, OPT_MAX_BYTES },
    { "gzip", no_argument, NULL, OPT_GZIP },
    { "smart-client-id", required_argument, NULL, OPT_SMART_ID },
    { "smart-key", required_argument, NULL, OPT_SMART_KEY },
    { "smart-kid", required_argument, NULL, OPT_SMART_KID },
    { "smart-scope", required_argument, NULL, OPT_SMART_SCOPE },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* Applies one option with a value-less or simple effect. Returns 0 or -1. */
static int apply_choice(struct post_args *a, int c, const char *v)
{
    unsigned long n = 0;

    switch (c) {
    case OPT_TO: a->up.base_url = v; return 0;
    case OPT_NOPRE: a->up.preflight = 0; return 0;
    case OPT_INSECURE: a->up.insecure = 1; return 0;
    case OPT_GZIP: a->up.gzip = 1; return 0;
    case OPT_SMART_ID: a->up.smart_client_id = v; return 0;
    case OPT_SMART_KEY: a->up.smart_key = v; return 0;
    case OPT_SMART_KID: a->up.smart_kid = v; return 0;
    case OPT_SMART_SCOPE: a->up.smart_scope = v; return 0;
    case OPT_CACERT: a->up.cacert = v; return 0;
    case OPT_CERT: a->up.cert = v; return 0;
    case OPT_KEY: a->up.key = v; return 0;
    case 'q': a->quiet = 1; return 0;
    case OPT_CONC:
        return parse_uint("--concurrency", v, 256, &n) < 0 ? -1 : (a->up.concurrency = (unsigned)n, 0);
    case OPT_MAX_ENTRIES:
        return parse_uint("--max-bundle-entries", v, 1000000, &n) < 0 ? -1 : (a->up.max_entries = n, 0);
    case OPT_MAX_BYTES:
        if (parse_uint("--max-bundle-bytes", v, (unsigned long)1 << 34, &n) < 0)
            return -1;
        if (n < 1024)
            return msg_error("--max-bundle-bytes wants at least 1024, not '%s'", v), -1;
        return a->up.max_bytes = n, 0;
    case OPT_TIMEOUT:
        return parse_uint("--timeout", v, 86400, &n) < 0 ? -1 : (a->up.timeout_ms = (long)n * 1000, 0);
    case OPT_RETRIES:
        if (!strcmp(v, "0"))
            return a->up.max_attempts = 1, 0;
        return parse_uint("--retries", v, 100, &n) < 0 ? -1 : (a->up.max_attempts = (unsigned)n + 1, 0);
    case OPT_TYPE:
        if (strcmp(v, "transaction") && strcmp(v, "batch"))
            return msg_error("--bundle-type wants transaction or batch, not '%s'", v), -1;
        return a->up.batch = !strcmp(v, "batch"), 0;
    case OPT_REQUEST:
        if (strcmp(v, "put") && strcmp(v, "post"))
            return msg_error("--request wants put or post, not '%s'", v), -1;
        return a->up.conditional = !strcmp(v, "post"), 0;
    case OPT_BEARER: return add_bearer(a, v);
    case OPT_BASIC: return add_basic(a, v);
    case 'H': return add_header(a, v);
    default: return -1;
    }
}

/* Returns 0 to run, 1 after --help, or -1 on a usage error (message printed). */
static int parse_args(int argc, char **argv, struct post_args *a)
{
    int c, bearer = 0, basic = 0;

    upload_opts_init(&a->up);
    optind = 1;
    while ((c = getopt_long(argc, argv, "qhH:", post_options, NULL)) != -1) {
        if (c == 'h')
            return usage_post(), 1;
        if (c == '?' || apply_choice(a, c, optarg) < 0)
            return -1;
        bearer |= c == OPT_BEARER;
        basic |= c == OPT_BASIC;
    }
    if (optind != argc - 1)
        return msg_error("post wants exactly one PATH (see '" CLI_NAME " post --help')"), -1;
    a->path = argv[optind];
    if (!a->up.base_url)
        return msg_error("post needs --to URL (see '" CLI_NAME " post --help')"), -1;
    if (a->up.smart_client_id || a->up.smart_key || a->up.smart_kid || a->up.smart_scope) {
        if (!a->up.smart_client_id || !a->up.smart_key || !a->up.smart_kid)
            return msg_error("SMART Backend Services needs --smart-client-id, --smart-key and --smart-kid"), -1;
        if (bearer || basic)
            return msg_error("--smart-client-id cannot be combined with --bearer or --basic"), -1;
        bearer = 1; /* the token comes from the token endpoint, not the environment */
    }
    if (!bearer && getenv(TOKEN_ENV) && *getenv(TOKEN_ENV) && add_bearer(a, getenv(TOKEN_ENV)) < 0)
        return -1;
    if (a->up.batch && a->up.conditional)
        return msg_error("--request post needs --bundle-type transaction (references travel as urn:uuid)"), -1;
    if (a->up.conditional && (a->up.max_entries || a->up.max_bytes))
        return msg_error("--request post cannot be split (--max-bundle-entries, --max-bundle-bytes): references "
                         "between parts need the PUT Type/id"), -1;
    if ((a->up.cert != NULL) != (a->up.key != NULL))
        return msg_error("--cert and --key go together"), -1;
    a->headers[a->nh] = NULL;
    a->secrets[a->ns] = NULL;
    a->up.headers = a->headers;
    a->up.secrets = a->secrets;
    return 0;
}

static void print_summary(const struct post_args *a, const struct upload_summary *s)
{
    double rate = s->seconds > 0 ? (double)s->ok / s->seconds : 0;

    if (a->quiet)
        return;
    msg_info("posted %llu of %llu bundles in %.2fs (%.0f bundles/s, HTTP/%d, %llu requests, %llu retries): "
             "%llu entries created, %llu updated; %llu already posted; %llu failed; %llu not sent",
             (unsigned long long)s->ok, (unsigned long long)s->total, s->seconds, rate, s->http_version ? s->http_version : 1,
             (unsigned long long)s->requests, (unsigned long long)s->retries, (unsigned long long)s->created,
             (unsigned long long)s->updated, (unsigned long long)s->skipped, (unsigned long long)s->failed,
             (unsigned long long)s->not_sent);
}

/* Prints each "file: reason" line of the failures as an error. */
static void print_failures(const struct upload_summary *s)
{
    const char *p = s->failures;

    while (p && *p) {
        size_t n = strcspn(p, "\n");

        msg_error("%.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

int cmd_post(int argc, char **argv)
{
    struct post_args a;
    struct upload_summary sum = { 0 };
    struct error err = { 0 };
    struct progress prog;
    struct llmsyn_callbacks cb = { progress_update, on_warning, &prog };
    char **files = NULL, dir[4096];
    size_t n = 0, i;
    int rc;
    llmsyn_status st;

    memset(&a, 0, sizeof a);
    rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        post_args_free(&a);
        return rc > 0 ? 0 : LLMSYN_E_USAGE;
    }
    if (upload_list(a.path, &files, &n, dir, sizeof dir, &err) < 0) {
        msg_error("%s", err.msg);
        st = err.code;
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    progress_init(&prog, a.quiet);
    st = upload_run(&a.up, files, n, dir, &cb, &sum, &err);
    progress_finish(&prog);
    if (!a.quiet)
        print_failures(&sum);
    print_summary(&a, &sum);
    if (st != LLMSYN_OK)
        msg_error("%s", err.msg);
out:
    for (i = 0; i < n; i++)
        free(files[i]);
    free(files);
    upload_summary_free(&sum);
    post_args_free(&a);
    return (int)st;
}
