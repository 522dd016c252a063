/* generate.c - the generate subcommand: flags to llmsyn_options, signals, progress, exit status. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/upload_flags.h"
#include "core/run_journal.h"

enum {
    OPT_SEED = 256, OPT_FORMAT, OPT_MODE, OPT_PRIOR, OPT_KNOWLEDGE, OPT_PROMPTS, OPT_DATA_DIR, OPT_STEPS,
    OPT_SHARD, OPT_FORCE, OPT_LLM, OPT_LLM_URL, OPT_MODEL, OPT_TEMPERATURE, OPT_MAX_TOKENS, OPT_TIMEOUT,
    OPT_CPT_DICT, OPT_KNOWLEDGE_K, OPT_KNOWLEDGE_BUDGET, OPT_MEDLINEPLUS, OPT_KNOWLEDGE_LIVE, OPT_KNOWLEDGE_CACHE,
    OPT_KNOWLEDGE_LIVE_URL, OPT_RESUME, OPT_CONCURRENCY, OPT_PROCEDURE_CODES,
};
enum { /* model traffic (retries, limits, cache, prices) */
    OPT_MAX_RETRIES = 400, OPT_MAX_FAILURES, OPT_RETRY_BASE, OPT_RPM, OPT_TPM, OPT_CACHE, OPT_NO_CACHE, OPT_PRICE_IN,
    OPT_PRICE_OUT, OPT_AZURE_API_VERSION, OPT_ANTHROPIC_VERSION, OPT_STRUCTURED_OUTPUT, OPT_LLM_CACERT,
    OPT_LLM_INSECURE,
};

static const struct option long_options[] = {
    { "count", required_argument, NULL, 'n' },     { "out", required_argument, NULL, 'o' },
    { "jobs", required_argument, NULL, 'j' },      { "quiet", no_argument, NULL, 'q' },
    { "resume", no_argument, NULL, OPT_RESUME },   { "concurrency", required_argument, NULL, OPT_CONCURRENCY },
    { "help", no_argument, NULL, 'h' },            { "seed", required_argument, NULL, OPT_SEED },
    { "format", required_argument, NULL, OPT_FORMAT }, { "mode", required_argument, NULL, OPT_MODE },
    { "prior", required_argument, NULL, OPT_PRIOR }, { "knowledge", required_argument, NULL, OPT_KNOWLEDGE },
    { "prompts", required_argument, NULL, OPT_PROMPTS }, { "data-dir", required_argument, NULL, OPT_DATA_DIR },
    { "steps", required_argument, NULL, OPT_STEPS }, { "shard", required_argument, NULL, OPT_SHARD },
    { "force", no_argument, NULL, OPT_FORCE },     { "llm", required_argument, NULL, OPT_LLM },
    { "llm-url", required_argument, NULL, OPT_LLM_URL }, { "model", required_argument, NULL, OPT_MODEL },
    { "temperature", required_argument, NULL, OPT_TEMPERATURE },
    { "max-tokens", required_argument, NULL, OPT_MAX_TOKENS }, { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "cpt-dict", required_argument, NULL, OPT_CPT_DICT },
    { "procedure-codes", required_argument, NULL, OPT_PROCEDURE_CODES },
    { "knowledge-k", required_argument, NULL, OPT_KNOWLEDGE_K },
    { "knowledge-budget", required_argument, NULL, OPT_KNOWLEDGE_BUDGET },
    { "medlineplus", required_argument, NULL, OPT_MEDLINEPLUS },
    { "knowledge-live", no_argument, NULL, OPT_KNOWLEDGE_LIVE },
    { "knowledge-cache", required_argument, NULL, OPT_KNOWLEDGE_CACHE },
    { "knowledge-live-url", required_argument, NULL, OPT_KNOWLEDGE_LIVE_URL },
    { "max-retries", required_argument, NULL, OPT_MAX_RETRIES },
    { "max-failures", required_argument, NULL, OPT_MAX_FAILURES },
    { "retry-base", required_argument, NULL, OPT_RETRY_BASE },
    { "rpm", required_argument, NULL, OPT_RPM }, { "tpm", required_argument, NULL, OPT_TPM },
    { "cache", required_argument, NULL, OPT_CACHE }, { "no-cache", no_argument, NULL, OPT_NO_CACHE },
    { "price-in", required_argument, NULL, OPT_PRICE_IN }, { "price-out", required_argument, NULL, OPT_PRICE_OUT },
    { "azure-api-version", required_argument, NULL, OPT_AZURE_API_VERSION },
    { "anthropic-version", required_argument, NULL, OPT_ANTHROPIC_VERSION },
    { "structured-output", no_argument, NULL, OPT_STRUCTURED_OUTPUT },
    { "llm-cacert", required_argument, NULL, OPT_LLM_CACERT },
    { "llm-insecure", no_argument, NULL, OPT_LLM_INSECURE },
    { NULL, 0, NULL, 0 },
};

void usage_generate(void)
{
    printf("usage: " CLI_NAME " [generate] --out DIR [options]\n"
           "Generates synthetic inpatient records (LLMSYN: demographics, main diagnosis, complications,\n"
           "procedures) and writes them as FHIR R4 transaction bundles.\n\n"
           "Output\n"
           "  -o, --out DIR          output folder (refused when not empty, unless --force)\n"
           "  -n, --count N          records in the run (default 100)\n"
           "      --format F         bundles (one file per record, default) | ndjson (one file per\n"
           "                         resource type) | csv (the paper's flat table) |\n"
           "                         synthea-csv (Synthea's patients, encounters, conditions, procedures)\n"
           "      --force            write into a non-empty output folder\n"
           "      --seed S           random seed (default 1); the same seed gives the same bytes\n"
           "  -j, --jobs N           worker threads (default 1); output is identical for any N\n"
           "      --concurrency N    records (so model requests) in flight: N workers, instead of --jobs\n"
           "      --resume           go on with the interrupted run in --out (same options) from its journal\n"
           "      --shard K/N        make only the K-th (0-based) of N disjoint slices of the run\n"
           "  -q, --quiet            no progress\n"
           "Pipeline\n"
           "      --mode M           full (prior + knowledge, default) | prior | base (paper's ablation)\n"
           "      --steps +NAME,...  enable optional steps (available: prescriptions)\n"
           "      --prior FILE       prior statistics (default mappings/prior.json)\n"
           "      --knowledge FILE   knowledge base (default mappings/knowledge.json)\n"
           "      --prompts DIR      prompt templates (default prompts/)\n"
           "      --data-dir DIR     folder holding prompts/ and mappings/\n"
           "      --cpt-dict FILE    licensed CPT file (CSV code,description): exact CPT checks and displays;\n"
           "                         without it CPT codes are checked structurally (form, section, CCS)\n"
           "      --procedure-codes S  cpt (default) | icd9: procedures as ICD-9-CM volume 3 codes\n"
           "Knowledge retrieval (mode full)\n"
           "      --knowledge-k K    passages retrieved per record by BM25 (default 3; 0: card prose)\n"
           "      --knowledge-budget T  token budget of those passages (default 1500)\n"
           "      --medlineplus FILE add NLM's MedlinePlus health-topics XML to the retrieval index\n"
           "      --knowledge-live   also ask the MedlinePlus Connect web service by ICD-9-CM code\n"
           "      --knowledge-cache DIR  cache its answers in DIR (reruns ask nothing)\n"
           "      --knowledge-live-url URL  service root (default https://connect.medlineplus.gov)\n"
           "Model backend\n"
           "      --llm NAME         builtin (default: offline, no key) | openai | azure | ollama | anthropic\n"
           "      --llm-url URL      base URL (default https://api.openai.com/v1)\n"
           "      --model NAME       model name (required for openai)\n"
           "      --llm-cacert FILE  CA bundle (PEM) to verify an HTTPS model server signed by a private CA\n"
           "                         (default: LLMSYN_LLM_CACERT, else the system store)\n"
           "      --llm-insecure     do not verify the model server's TLS certificate (warned; testing only)\n"
           "      --temperature T    sampling temperature (default 0.7)\n"
           "      --max-tokens N     completion token limit (default 2048)\n"
           "      --timeout SEC      per-request timeout in seconds (default 120)\n"
           "      --max-retries N    retries of a request on 429, 5xx, timeouts and unusable replies, with\n"
           "                         exponential backoff and jitter, honouring Retry-After (default 4)\n"
           "      --retry-base SEC   first backoff, doubled per retry (default 0.5)\n"
           "      --max-failures M   stop the run after M failed requests in a row (default 10; 0: never)\n"
           "      --rpm N, --tpm N   requests / tokens per minute for the whole process (default: no limit)\n"
           "      --cache DIR        answer cache (default $XDG_CACHE_HOME/llmsyn-fhir or ~/.cache/llmsyn-fhir);\n"
           "                         a rerun with the same seed sends no request and writes the same bytes\n"
           "      --no-cache         neither read nor write the cache\n"
           "      --price-in P, --price-out P  price per million prompt / completion tokens: cost in the report\n"
           "      --azure-api-version V  azure: api-version (default 2024-10-21); --model is the deployment\n"
           "      --anthropic-version V  anthropic: anthropic-version header (default 2023-06-01)\n"
           "      --structured-output  ask for JSON in a per-step schema (openai/azure response_format,\n"
           "                         ollama format); off by default: free reasoning then a final block works better\n"
           "  Backends: openai (any OpenAI-compatible server: OpenAI, vLLM, llama.cpp, Ollama /v1), azure,\n"
           "  ollama (native /api/chat, default http://localhost:11434), anthropic (Messages API).\n"
           "  The API key is read from LLMSYN_API_KEY or OPENAI_API_KEY (azure also AZURE_OPENAI_API_KEY;\n"
           "  anthropic ANTHROPIC_API_KEY first); it is never printed or written.\n"
           "Posting to a FHIR server while generating (bundles format)\n"
           "      --post URL         post each record's bundle to this FHIR R4 base as soon as it is written\n"
           "                         (journal post-journal.ndjson in --out; '" CLI_NAME " post DIR' resumes)\n"
           "      --post-concurrency N, --post-retries N, --post-timeout SECONDS  as post's --concurrency,\n"
           "                         --retries, --timeout; and post's --bearer, --basic, -H, --cacert, --cert,\n"
           "                         --key, --insecure, --bundle-type, --request, --no-preflight, --gzip,\n"
           "                         --max-bundle-entries, --max-bundle-bytes, --smart-* (see 'post --help')\n\n"
           "Exit status: 0 ok, 2 usage, 3 bad input file, 4 model backend, 5 validation, 6 upload,\n"
           "7 cannot write output, 8 interrupted, 9 out of memory, 10 internal error.\n");
}

static int parse_u64(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    if (!s || !*s || *s == '-')
        goto bad;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    msg_error("%s: '%s' is not a whole number between %llu and %llu", flag, s ? s : "",
              (unsigned long long)min, (unsigned long long)max);
    return -1;
}

static int parse_double(const char *flag, const char *s, double min, double max, double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
        msg_error("%s: '%s' is not a number between %g and %g", flag, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_shard(const char *s, struct llmsyn_options *o)
{
    char k[32];
    const char *slash = strchr(s, '/');
    uint64_t kv, nv;

    if (!slash || (size_t)(slash - s) >= sizeof k) {
        msg_error("--shard: '%s' is not K/N (for example 0/4)", s);
        return -1;
    }
    memcpy(k, s, (size_t)(slash - s));
    k[slash - s] = '\0';
    if (parse_u64("--shard N", slash + 1, 1, 1000000, &nv) < 0 || parse_u64("--shard K", k, 0, nv - 1, &kv) < 0)
        return -1;
    o->shard_index = (unsigned)kv;
    o->shard_count = (unsigned)nv;
    return 0;
}

static int parse_choice(const char *flag, const char *s, const char *const *names, int *out)
{
    int i;

    for (i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    msg_error("%s: unknown value '%s'", flag, s);
    return -1;
}

/* Retries, rate limits, cache, prices and API versions. */
static int parse_traffic_option(int c, const char *arg, struct llmsyn_options *o)
{
    uint64_t u;
    double d;

    switch (c) {
    case OPT_MAX_RETRIES:
        if (parse_u64("--max-retries", arg, 0, 100, &u) < 0)
            return -1;
        o->max_retries = (unsigned)u;
        return 0;
    case OPT_MAX_FAILURES:
        if (parse_u64("--max-failures", arg, 0, 1000000, &u) < 0)
            return -1;
        o->max_consecutive_failures = (unsigned)u;
        return 0;
    case OPT_RETRY_BASE:
        if (parse_double("--retry-base", arg, 0.001, 600, &d) < 0)
            return -1;
        o->retry_base_ms = (long)(d * 1000);
        return 0;
    case OPT_RPM: return parse_double("--rpm", arg, 0, 1e9, &o->rpm);
    case OPT_TPM: return parse_double("--tpm", arg, 0, 1e12, &o->tpm);
    case OPT_CACHE: o->cache_dir = arg; return 0;
    case OPT_NO_CACHE: o->no_cache = 1; return 0;
    case OPT_PRICE_IN: return parse_double("--price-in", arg, 0, 1e6, &o->price_in);
    case OPT_PRICE_OUT: return parse_double("--price-out", arg, 0, 1e6, &o->price_out);
    case OPT_AZURE_API_VERSION: o->azure_api_version = arg; return 0;
    case OPT_ANTHROPIC_VERSION: o->anthropic_version = arg; return 0;
    case OPT_STRUCTURED_OUTPUT: o->structured_output = 1; return 0;
    }
    return -1;
}

static int parse_option(int c, const char *arg, struct llmsyn_options *o, int *quiet)
{
    static const char *const formats[] = { "bundles", "ndjson", "csv", "synthea-csv", NULL };
    static const char *const modes[] = { "full", "prior", "base", NULL };
    static const char *const px_systems[] = { "cpt", "icd9", NULL };
    uint64_t u;
    double d;
    int choice;

    switch (c) {
    case 'n': return parse_u64("--count", arg, 1, UINT64_C(1) << 40, &o->count);
    case 'o': o->out_dir = arg; return 0;
    case 'j':
        if (parse_u64("--jobs", arg, 1, 256, &u) < 0)
            return -1;
        o->jobs = (unsigned)u;
        return 0;
    case 'q': *quiet = 1; return 0;
    case OPT_SEED: return parse_u64("--seed", arg, 0, UINT64_MAX, &o->seed);
    case OPT_FORMAT:
        if (parse_choice("--format", arg, formats, &choice) < 0)
            return -1;
        o->format = (llmsyn_format)choice;
        return 0;
    case OPT_MODE:
        if (parse_choice("--mode", arg, modes, &choice) < 0)
            return -1;
        o->mode = (llmsyn_mode)choice;
        return 0;
    case OPT_PRIOR: o->prior_path = arg; return 0;
    case OPT_KNOWLEDGE: o->knowledge_path = arg; return 0;
    case OPT_PROMPTS: o->prompts_dir = arg; return 0;
    case OPT_DATA_DIR: o->data_dir = arg; return 0;
    case OPT_STEPS: o->extra_steps = arg; return 0;
    case OPT_CPT_DICT: o->cpt_dict_path = arg; return 0;
    case OPT_PROCEDURE_CODES:
        if (parse_choice("--procedure-codes", arg, px_systems, &choice) < 0)
            return -1;
        o->procedure_codes_icd9 = choice == 1;
        return 0;
    case OPT_KNOWLEDGE_K:
        if (parse_u64("--knowledge-k", arg, 0, 100, &u) < 0)
            return -1;
        o->knowledge_k = (unsigned)u;
        return 0;
    case OPT_KNOWLEDGE_BUDGET:
        if (parse_u64("--knowledge-budget", arg, 1, 1000000, &u) < 0)
            return -1;
        o->knowledge_budget = (unsigned)u;
        return 0;
    case OPT_MEDLINEPLUS: o->medlineplus_path = arg; return 0;
    case OPT_KNOWLEDGE_LIVE: o->knowledge_live = 1; return 0;
    case OPT_KNOWLEDGE_CACHE: o->knowledge_cache = arg; return 0;
    case OPT_KNOWLEDGE_LIVE_URL: o->knowledge_live_url = arg; return 0;
    case OPT_MAX_RETRIES: case OPT_MAX_FAILURES: case OPT_RETRY_BASE: case OPT_RPM: case OPT_TPM: case OPT_CACHE:
    case OPT_NO_CACHE: case OPT_PRICE_IN: case OPT_PRICE_OUT: case OPT_AZURE_API_VERSION: case OPT_ANTHROPIC_VERSION:
    case OPT_STRUCTURED_OUTPUT:
        return parse_traffic_option(c, arg, o);
    case OPT_RESUME: o->resume = 1; return 0;
    case OPT_CONCURRENCY:
        if (parse_u64("--concurrency", arg, 1, 256, &u) < 0)
            return -1;
        o->concurrency = (unsigned)u;
        return 0;
    case OPT_SHARD: return parse_shard(arg, o);
    case OPT_FORCE: o->force = 1; return 0;
    case OPT_LLM: o->backend = arg; return 0;
    case OPT_LLM_URL: o->llm_url = arg; return 0;
    case OPT_LLM_CACERT: o->llm_cacert = arg; return 0;
    case OPT_LLM_INSECURE: o->llm_insecure = 1; return 0;
    case OPT_MODEL: o->model = arg; return 0;
    case OPT_TEMPERATURE: return parse_double("--temperature", arg, 0, 2, &o->temperature);
    case OPT_MAX_TOKENS:
        if (parse_u64("--max-tokens", arg, 1, 1000000, &u) < 0)
            return -1;
        o->max_tokens = (int)u;
        return 0;
    case OPT_TIMEOUT:
        if (parse_double("--timeout", arg, 0.001, 86400, &d) < 0)
            return -1;
        o->timeout_ms = (long)(d * 1000);
        return 0;
    }
    return -1;
}

static void on_signal(int sig)
{
    (void)sig;
    llmsyn_request_stop();
    upload_request_stop();
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The first non-empty variable of a NULL-terminated list, or NULL. */
static const char *first_env(const char *const *names)
{
    const char *k;

    for (; *names; names++)
        if ((k = getenv(*names)) && *k)
            return k;
    return NULL;
}

/* The key for the backend: anthropic ANTHROPIC_API_KEY, LLMSYN_API_KEY; azure LLMSYN_API_KEY,
 * AZURE_OPENAI_API_KEY, OPENAI_API_KEY; others LLMSYN_API_KEY, OPENAI_API_KEY. */
static const char *api_key_from_env(const char *backend)
{
    static const char *const anthropic[] = { "ANTHROPIC_API_KEY", "LLMSYN_API_KEY", NULL };
    static const char *const azure[] = { "LLMSYN_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY", NULL };
    static const char *const other[] = { "LLMSYN_API_KEY", "OPENAI_API_KEY", NULL };

    if (backend && !strcmp(backend, "anthropic"))
        return first_env(anthropic);
    if (backend && !strcmp(backend, "azure"))
        return first_env(azure);
    return first_env(other);
}

/* The model server's TLS: LLMSYN_LLM_CACERT when --llm-cacert is not given; a warning for --llm-insecure. */
static void llm_tls_options(struct llmsyn_options *o, int quiet)
{
    const char *env = getenv("LLMSYN_LLM_CACERT");
    int network = o->backend && strcmp(o->backend, "builtin") != 0;

    if (!o->llm_cacert && env && *env)
        o->llm_cacert = env;
    if (o->llm_insecure && network)
        msg_warn("--llm-insecure: the model server's TLS certificate and host name are NOT verified; anyone on "
                 "the path can read the prompts and forge the answers");
    else if ((o->llm_insecure || (o->llm_cacert && !(env && o->llm_cacert == env))) && !network && !quiet)
        msg_warn("--llm-cacert and --llm-insecure only apply to a network backend (--llm openai, azure, ollama or "
                 "anthropic)");
}

/* CLI defaults for model traffic (the library's are off): retries and a stop after failures in a row. */
static void traffic_defaults(struct llmsyn_options *o)
{
    o->max_retries = 4;
    o->max_consecutive_failures = 10;
}

/* The default cache folder when neither --cache nor --no-cache was given (none when no home is known). */
static void default_cache(struct llmsyn_options *o)
{
    static char dir[4096];

    if (!o->cache_dir && !o->no_cache && llmsyn_default_cache_dir(dir, sizeof dir) == 0)
        o->cache_dir = dir;
}

/* --post: the server flags, the upload fed by the writer, the progress it shares. */
struct gen_post {
    struct progress prog;        /* first: the callbacks' user is the progress and this */
    struct upload_args f;
    int used;                    /* a server flag was given */
    struct upload_feed *feed;    /* owned; NULL when not posting */
    const char *out_dir;
    uint64_t not_queued;         /* record files that could not be queued (out of memory) */
    uint64_t posted, failed;     /* bundles, for the summary line */
};

/* The writer's callback: queues the record file just written. */
static void on_record_written(void *user, const char *name)
{
    struct gen_post *gp = user;
    char path[4200];

    if (!gp->feed)
        return;
    snprintf(path, sizeof path, "%s/%s", gp->out_dir, name);
    if (upload_feed_add(gp->feed, path) < 0)
        gp->not_queued++;
}

static void on_upload_warning(void *user, const char *message)
{
    const struct progress *p = user;

    if (!p->quiet) {
        if (p->tty)
            fputc('\n', stderr);
        msg_warn("%s", message);
    }
}

/* After the options: checks --post against the format and the other server flags. Returns 0 or -1. */
static int check_post(struct gen_post *gp, const struct llmsyn_options *o)
{
    if (!gp->f.up.base_url) {
        if (gp->used)
            return msg_error("the FHIR server flags need --post URL (see '" CLI_NAME " --help')"), -1;
        return 0;
    }
    if (o->format != LLMSYN_FORMAT_BUNDLES)
        return msg_error("--post needs --format bundles: only bundles are written one file per record"), -1;
    return upload_flags_finish(&gp->f);
}

/* Ends the upload after generation and prints its failures and summary. Returns its status. */
static llmsyn_status finish_post(struct gen_post *gp, int quiet)
{
    struct upload_summary us = { 0 };
    struct error err = { 0 };
    llmsyn_status st;
    const char *p;

    if (!gp->feed)
        return LLMSYN_OK;
    st = upload_feed_finish(&gp->feed, &us, &err);
    for (p = us.failures; !quiet && p && *p;) {
        size_t n = strcspn(p, "\n");

        msg_error("%.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
    us.not_sent += gp->not_queued;
    gp->posted = us.ok + us.skipped;
    gp->failed = us.failed + us.not_sent;
    if (!quiet)
        msg_info("posted %llu of %llu bundles in %.2fs (HTTP/%d, %llu requests, %llu retries): %llu entries created, "
                 "%llu updated; %llu already posted; %llu failed; %llu not sent",
                 (unsigned long long)us.ok, (unsigned long long)us.total + gp->not_queued, us.seconds,
                 us.http_version ? us.http_version : 1, (unsigned long long)us.requests,
                 (unsigned long long)us.retries, (unsigned long long)us.created, (unsigned long long)us.updated,
                 (unsigned long long)us.skipped, (unsigned long long)us.failed, (unsigned long long)us.not_sent);
    if (st == LLMSYN_OK && gp->not_queued)
        st = error_set(&err, LLMSYN_E_UPLOAD, "%llu bundles could not be queued (out of memory)",
                       (unsigned long long)gp->not_queued);
    if (st != LLMSYN_OK)
        msg_error("posting to the FHIR server: %s; '" CLI_NAME " post %s --to URL' sends what is missing", err.msg,
                  gp->out_dir);
    upload_summary_free(&us);
    return st;
}

/* 1 when the run left its journal in dir (it failed or stopped with records to go on from). */
static int run_journal_left(const char *dir)
{
    char path[4200];
    struct stat st;

    return snprintf(path, sizeof path, "%s/%s", dir, RUN_JOURNAL_NAME) < (int)sizeof path && lstat(path, &st) == 0;
}

static int report_outcome(llmsyn_status st, const struct llmsyn_options *o, const struct llmsyn_summary *sum,
                          const char *err, const struct gen_post *gp)
{
    char posted[128] = "";

    if (st == LLMSYN_E_INTERRUPTED) {
        msg_error("%s; %llu records are complete in '%s' (see run-report.txt); to make the rest, "
                  "rerun the same command with --resume",
                  err, (unsigned long long)sum->records_ok, o->out_dir);
        return st;
    }
    if (st != LLMSYN_OK && st != LLMSYN_E_USAGE && run_journal_left(o->out_dir)) {
        msg_error("%s; the records finished so far are kept in '%s': once that is fixed, rerun the same command "
                  "with --resume", err[0] ? err : llmsyn_strerror(st), o->out_dir);
        return st;
    }
    if (st != LLMSYN_OK) {
        msg_error("%s", err[0] ? err : llmsyn_strerror(st));
        return st;
    }
    if (gp->f.up.base_url)
        snprintf(posted, sizeof posted, "; posted %llu bundles, %llu not posted", (unsigned long long)gp->posted,
                 (unsigned long long)gp->failed);
    msg_info("wrote %llu records to '%s' (%llu failed, %llu model calls, %llu re-asks) in %.2fs%s",
             (unsigned long long)sum->records_ok, o->out_dir, (unsigned long long)sum->records_failed,
             (unsigned long long)sum->model_calls, (unsigned long long)sum->reasks, sum->seconds, posted);
    if (sum->records_failed)
        msg_warn("%llu records failed; their reasons are in '%s/run-report.txt'",
                 (unsigned long long)sum->records_failed, o->out_dir);
    return LLMSYN_OK;
}

/* Parses the command line into o and gp. Returns 0 to run, 1 after --help, or -1 on a usage error. */
static int parse_generate(int argc, char **argv, struct llmsyn_options *o, struct gen_post *gp, int *quiet)
{
    struct option opts[sizeof long_options / sizeof long_options[0] + UPLOAD_FLAGS_OPTIONS + 1];
    size_t n = sizeof long_options / sizeof long_options[0] - 1;
    int c, rc;

    memcpy(opts, long_options, sizeof long_options);
    upload_flags_init(&gp->f, 1);
    if (upload_flags_options(&gp->f, opts, &n, sizeof opts / sizeof opts[0]) < 0)
        return msg_error("internal: option table too small"), -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:o:j:qhH:", opts, NULL)) != -1) {
        if (c == 'h')
            return usage_generate(), 1;
        if (c == '?' || c == ':') {
            msg_error(c == '?' ? "unknown option '%s' (see '" CLI_NAME " --help')" : "option '%s' needs a value",
                      argv[optind - 1]);
            return -1;
        }
        if ((rc = upload_flags_apply(&gp->f, c, optarg)) < 0)
            return -1;
        gp->used |= rc == 0;
        if (rc == 1 && parse_option(c, optarg, o, quiet) < 0)
            return -1;
    }
    if (optind < argc)
        return msg_error("unexpected argument '%s' (see '" CLI_NAME " --help')", argv[optind]), -1;
    if (!o->out_dir)
        return msg_error("an output folder is required: --out DIR"), -1;
    return check_post(gp, o);
}

int cmd_generate(int argc, char **argv)
{
    struct llmsyn_options o;
    struct llmsyn_summary sum;
    struct gen_post gp;
    struct llmsyn_callbacks cb = { progress_update, NULL, &gp, on_record_written };
    struct llmsyn_callbacks ucb = { NULL, on_upload_warning, &gp.prog, NULL };
    struct error uerr = { 0 };
    char err[512] = "";
    int quiet = 0, rc;
    llmsyn_status st, ust;

    memset(&gp, 0, sizeof gp);
    llmsyn_options_init(&o);
    traffic_defaults(&o);
    rc = parse_generate(argc, argv, &o, &gp, &quiet);
    if (rc != 0) {
        upload_flags_free(&gp.f);
        return rc > 0 ? 0 : LLMSYN_E_USAGE;
    }
    o.api_key = api_key_from_env(o.backend);
    llm_tls_options(&o, quiet);
    default_cache(&o);
    install_signals();
    progress_init(&gp.prog, quiet);
    gp.out_dir = o.out_dir;
    if (gp.f.up.base_url && !(gp.feed = upload_feed_start(&gp.f.up, o.out_dir, &ucb, &uerr))) {
        msg_error("%s", uerr.msg);
        upload_flags_free(&gp.f);
        return uerr.code;
    }
    st = llmsyn_generate(&o, &cb, &sum, err, sizeof err);
    progress_finish(&gp.prog);
    ust = finish_post(&gp, quiet);
    rc = report_outcome(st, &o, &sum, err, &gp);
    upload_flags_free(&gp.f);
    return rc != LLMSYN_OK ? rc : (int)ust;
}
