/* upload_flags.c - parses the FHIR server flags (target, auth, TLS, requests) for post and generate --post. */
#include "cli/upload_flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli/cli.h"

enum { OPT_TO = 1000, OPT_CONC, OPT_TYPE, OPT_REQUEST, OPT_NOPRE, OPT_RETRIES, OPT_TIMEOUT, OPT_BEARER, OPT_BASIC,
       OPT_CACERT, OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_MAX_ENTRIES, OPT_MAX_BYTES, OPT_GZIP,
       OPT_SMART_ID, OPT_SMART_KEY, OPT_SMART_KID, OPT_SMART_SCOPE };

/* One flag: its post name, generate's name (NULL: the same), getopt's has_arg and code. */
struct flag {
    const char *name, *gen_name;
    int has_arg, code;
};

static const struct flag flags[] = {
    { "to", "post", required_argument, OPT_TO },
    { "concurrency", "post-concurrency", required_argument, OPT_CONC },
    { "bundle-type", NULL, required_argument, OPT_TYPE },
    { "request", NULL, required_argument, OPT_REQUEST },
    { "no-preflight", NULL, no_argument, OPT_NOPRE },
    { "retries", "post-retries", required_argument, OPT_RETRIES },
    { "timeout", "post-timeout", required_argument, OPT_TIMEOUT },
    { "bearer", NULL, required_argument, OPT_BEARER },
    { "basic", NULL, required_argument, OPT_BASIC },
    { "header", NULL, required_argument, 'H' },
    { "cacert", NULL, required_argument, OPT_CACERT },
    { "cert", NULL, required_argument, OPT_CERT },
    { "key", NULL, required_argument, OPT_KEY },
    { "insecure", NULL, no_argument, OPT_INSECURE },
    { "max-bundle-entries", NULL, required_argument, OPT_MAX_ENTRIES },
    { "max-bundle-bytes", NULL, required_argument, OPT_MAX_BYTES },
    { "gzip", NULL, no_argument, OPT_GZIP },
    { "smart-client-id", NULL, required_argument, OPT_SMART_ID },
    { "smart-key", NULL, required_argument, OPT_SMART_KEY },
    { "smart-kid", NULL, required_argument, OPT_SMART_KID },
    { "smart-scope", NULL, required_argument, OPT_SMART_SCOPE },
};
#define NFLAGS (sizeof flags / sizeof flags[0])

void upload_flags_init(struct upload_args *a, int generate)
{
    memset(a, 0, sizeof *a);
    upload_opts_init(&a->up);
    a->generate = generate;
}

int upload_flags_options(const struct upload_args *a, struct option *opts, size_t *n, size_t cap)
{
    size_t i;

    if (*n + NFLAGS + 1 > cap)
        return -1;
    for (i = 0; i < NFLAGS; i++) {
        struct option *o = &opts[(*n)++];

        o->name = a->generate && flags[i].gen_name ? flags[i].gen_name : flags[i].name;
        o->has_arg = flags[i].has_arg;
        o->flag = NULL;
        o->val = flags[i].code;
    }
    memset(&opts[*n], 0, sizeof opts[*n]);
    return 0;
}

/* "--name" of a flag as this command spells it, for messages (static storage). */
static const char *flag_name(const struct upload_args *a, int code)
{
    static char name[64];
    size_t i;

    for (i = 0; i < NFLAGS; i++)
        if (flags[i].code == code) {
            snprintf(name, sizeof name, "--%s", a->generate && flags[i].gen_name ? flags[i].gen_name : flags[i].name);
            return name;
        }
    return "--?";
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
static int add_owned_header(struct upload_args *a, const char *prefix, const char *value)
{
    size_t n = strlen(prefix) + strlen(value) + 1, k;
    char *line;

    for (k = 0; k < 4 && a->owned[k]; k++)
        ;
    if (k == 4 || a->nh >= UPLOAD_FLAGS_MAX_HEADERS || !(line = malloc(n)))
        return -1;
    snprintf(line, n, "%s%s", prefix, value);
    a->owned[k] = line;
    a->headers[a->nh++] = line;
    return 0;
}

static int add_bearer(struct upload_args *a, const char *token)
{
    if (!*token || strpbrk(token, "\r\n")) {
        msg_error("--bearer wants a non-empty token on one line");
        return -1;
    }
    a->secrets[a->ns++] = token;
    return add_owned_header(a, "Authorization: Bearer ", token);
}

static int add_basic(struct upload_args *a, const char *userpass)
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

static int add_header(struct upload_args *a, const char *line)
{
    const char *colon = strchr(line, ':');

    if (!colon || colon == line || strpbrk(line, "\r\n") || a->nh >= UPLOAD_FLAGS_MAX_HEADERS) {
        msg_error("-H wants 'Name: value' on one line (at most %d)", UPLOAD_FLAGS_MAX_HEADERS);
        return -1;
    }
    a->headers[a->nh++] = line;
    colon++;
    while (*colon == ' ')
        colon++;
    if (*colon && a->ns < UPLOAD_FLAGS_MAX_HEADERS)
        a->secrets[a->ns++] = colon;
    return 0;
}

void upload_flags_free(struct upload_args *a)
{
    size_t k;

    for (k = 0; k < 4; k++) {
        free(a->owned[k]);
        a->owned[k] = NULL;
    }
}

/* The flags with a number or a choice. Returns 0, -1 (message printed) or 1 when c is none of them. */
static int apply_value(struct upload_args *a, int c, const char *v)
{
    unsigned long n = 0;

    switch (c) {
    case OPT_CONC:
        return parse_uint(flag_name(a, c), v, 256, &n) < 0 ? -1 : (a->up.concurrency = (unsigned)n, 0);
    case OPT_MAX_ENTRIES:
        return parse_uint("--max-bundle-entries", v, 1000000, &n) < 0 ? -1 : (a->up.max_entries = n, 0);
    case OPT_MAX_BYTES:
        if (parse_uint("--max-bundle-bytes", v, (unsigned long)1 << 34, &n) < 0)
            return -1;
        if (n < 1024)
            return msg_error("--max-bundle-bytes wants at least 1024, not '%s'", v), -1;
        return a->up.max_bytes = n, 0;
    case OPT_TIMEOUT:
        return parse_uint(flag_name(a, c), v, 86400, &n) < 0 ? -1 : (a->up.timeout_ms = (long)n * 1000, 0);
    case OPT_RETRIES:
        if (!strcmp(v, "0"))
            return a->up.max_attempts = 1, 0;
        return parse_uint(flag_name(a, c), v, 100, &n) < 0 ? -1 : (a->up.max_attempts = (unsigned)n + 1, 0);
    case OPT_TYPE:
        if (strcmp(v, "transaction") && strcmp(v, "batch"))
            return msg_error("--bundle-type wants transaction or batch, not '%s'", v), -1;
        return a->up.batch = !strcmp(v, "batch"), 0;
    case OPT_REQUEST:
        if (strcmp(v, "put") && strcmp(v, "post"))
            return msg_error("--request wants put or post, not '%s'", v), -1;
        return a->up.conditional = !strcmp(v, "post"), 0;
    default: return 1;
    }
}

int upload_flags_apply(struct upload_args *a, int c, const char *v)
{
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
    case OPT_BEARER: a->bearer = 1; return add_bearer(a, v);
    case OPT_BASIC: a->basic = 1; return add_basic(a, v);
    case 'H': return add_header(a, v);
    default: return apply_value(a, c, v);
    }
}

int upload_flags_finish(struct upload_args *a)
{
    const char *env = getenv(UPLOAD_FLAGS_TOKEN_ENV);
    int bearer = a->bearer;

    if (a->up.smart_client_id || a->up.smart_key || a->up.smart_kid || a->up.smart_scope) {
        if (!a->up.smart_client_id || !a->up.smart_key || !a->up.smart_kid)
            return msg_error("SMART Backend Services needs --smart-client-id, --smart-key and --smart-kid"), -1;
        if (a->bearer || a->basic)
            return msg_error("--smart-client-id cannot be combined with --bearer or --basic"), -1;
        bearer = 1; /* the token comes from the token endpoint, not the environment */
    }
    if (!bearer && env && *env && add_bearer(a, env) < 0)
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
