/* post.c - `llmsyn-fhir post PATH --to URL`: uploads bundle folders or FHIR NDJSON to a FHIR server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/upload_flags.h"
#include "net/ndjson_input.h"
#include "net/upload.h"
#include "util/error.h"

/* The post command's options; free with post_args_free. */
struct post_args {
    struct upload_args f;   /* the server flags (shared with generate --post) */
    const char *path;
    int quiet;
};

static void usage_post(void)
{
    printf("usage: " CLI_NAME " post PATH --to URL [options]\n"
           "  PATH                     a folder of record-*.json bundles (or one bundle file), or FHIR NDJSON:\n"
           "                           a folder of <ResourceType>.ndjson files (--format ndjson) or one .ndjson file\n"
           "  --to URL                 FHIR R4 base URL (required)\n"
           "  --concurrency N          requests in flight (default 4)\n"
           "  --bundle-type T          transaction (default) or batch\n"
           "  --request M              put (default: PUT Type/id, re-posting updates) or post\n"
           "                           (conditional create with ifNoneExist on the identifier)\n"
           "  --no-preflight           skip GET [base]/metadata (FHIR 4.0.x and transaction support)\n"
           "  --retries N              retries per bundle on 429/5xx/timeouts (default 5)\n"
           "  --timeout SECONDS        per request (default 60)\n"
           "  --bearer TOKEN           bearer token (or the " UPLOAD_FLAGS_TOKEN_ENV " environment variable)\n"
           "  --basic USER:PASS        HTTP basic authentication\n"
           "  -H 'Name: value'         extra request header (repeatable; values are treated as secrets)\n"
           "  --cacert FILE            CA bundle for TLS verification\n"
           "  --cert FILE --key FILE   client certificate and key (mutual TLS)\n"
           "  --insecure               do not verify the server's TLS certificate\n"
           "  --max-bundle-entries N   split bundles into requests of at most N entries (NDJSON: default 100)\n"
           "  --max-bundle-bytes N     split bundles into requests of at most N bytes\n"
           "                           (references between parts become Type/id; referenced parts go first)\n"
           "  --gzip                   gzip request bodies (Content-Encoding: gzip)\n"
           "  --smart-client-id ID     SMART Backend Services (client_credentials, private_key_jwt)\n"
           "  --smart-key FILE         PEM private key: RSA (RS384) or EC P-384 (ES384)\n"
           "  --smart-kid KID          the key's id in the registered JWKS\n"
           "  --smart-scope SCOPE      scope to ask for (default system/*.write)\n"
           "  -q, --quiet              no progress or summary\n"
           "The journal " "post-journal.ndjson in the bundle folder records each bundle's outcome; running the\n"
           "same command again sends only what is not yet on the server. Exit status 6 when a bundle failed.\n"
           "NDJSON: every line is checked before anything is sent (a bad line is exit 3, naming file:line);\n"
           "resources go as PUT Type/id in transactions, referenced ones in earlier phases (Patient before\n"
           "Encounter and its Conditions before Procedure); the journal goes next to the input.\n");
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

static void post_args_free(struct post_args *a)
{
    upload_flags_free(&a->f);
}

/* Returns 0 to run, 1 after --help, or -1 on a usage error (message printed). */
static int parse_args(int argc, char **argv, struct post_args *a)
{
    struct option opts[UPLOAD_FLAGS_OPTIONS + 4] = { { "quiet", no_argument, NULL, 'q' },
                                                      { "help", no_argument, NULL, 'h' } };
    size_t n = 2;
    int c;

    upload_flags_init(&a->f, 0);
    if (upload_flags_options(&a->f, opts, &n, sizeof opts / sizeof opts[0]) < 0)
        return msg_error("internal: option table too small"), -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qhH:", opts, NULL)) != -1) {
        if (c == 'h')
            return usage_post(), 1;
        if (c == 'q') {
            a->quiet = 1;
            continue;
        }
        if (c == '?' || upload_flags_apply(&a->f, c, optarg) != 0)
            return -1;
    }
    if (optind != argc - 1)
        return msg_error("post wants exactly one PATH (see '" CLI_NAME " post --help')"), -1;
    a->path = argv[optind];
    if (!a->f.up.base_url)
        return msg_error("post needs --to URL (see '" CLI_NAME " post --help')"), -1;
    return upload_flags_finish(&a->f);
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

/* NDJSON input: read and checked whole, then posted phase by phase. Returns the status (err set). */
static llmsyn_status post_ndjson(const struct post_args *a, const struct llmsyn_callbacks *cb, struct progress *prog,
                                 struct upload_summary *sum, struct error *err)
{
    struct ndjson_input *in = NULL;
    struct upload_source src;
    struct ndjson_counts c;
    llmsyn_status st;

    if (a->f.up.conditional)
        return error_set(err, LLMSYN_E_USAGE, "--request post cannot post NDJSON: the resources reference one another "
                         "by id across requests, and conditional creates drop the ids (use the default --request put)");
    if (!(in = ndjson_open(a->path, a->f.up.max_entries, a->f.up.max_bytes, err)))
        return err->code;
    ndjson_counts(in, &c);
    if (!a->quiet)
        msg_info("%zu resources in %zu NDJSON files: %zu bundles of at most %zu entries, in %u phases", c.resources,
                 c.files, c.chunks, c.entries_cap, c.phases);
    ndjson_source(in, &src);
    signal(SIGINT, on_signal); /* only now: upload_run_source clears an earlier stop request */
    signal(SIGTERM, on_signal);
    progress_init(prog, a->quiet);
    st = upload_run_source(&a->f.up, &src, ndjson_dir(in), cb, sum, err);
    progress_finish(prog);
    ndjson_close(&in);
    return st;
}

int cmd_post(int argc, char **argv)
{
    struct post_args a;
    struct upload_summary sum = { 0 };
    struct error err = { 0 };
    struct progress prog;
    struct llmsyn_callbacks cb = { progress_update, on_warning, &prog, NULL };
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
    if ((rc = ndjson_detect(a.path, &err)) != 0) {
        st = rc > 0 ? post_ndjson(&a, &cb, &prog, &sum, &err) : err.code;
        if (rc > 0 && (sum.total || st == LLMSYN_OK))
            goto report;
        msg_error("%s", err.msg);
        goto out;
    }
    if (upload_list(a.path, &files, &n, dir, sizeof dir, &err) < 0) {
        msg_error("%s", err.msg);
        st = err.code;
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    progress_init(&prog, a.quiet);
    st = upload_run(&a.f.up, files, n, dir, &cb, &sum, &err);
    progress_finish(&prog);
report:
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
