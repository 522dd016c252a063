/* report.c - renders the run report as JSON and as a short human summary. */
#include "core/report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = { "full", "prior", "base" };
static const char *const format_names[] = { "bundles", "ndjson", "csv", "synthea-csv" };

int report_add_failure(struct run_report *r, uint64_t record, const char *reason)
{
    struct report_failure *f;

    r->failed++;
    if (r->nfailures >= REPORT_MAX_FAILURES)
        return 0;
    if (!r->failures) {
        r->failures = calloc(REPORT_MAX_FAILURES, sizeof *r->failures);
        if (!r->failures)
            return -1;
    }
    f = &r->failures[r->nfailures++];
    f->record = record;
    snprintf(f->reason, sizeof f->reason, "%s", reason);
    return 0;
}

int report_add_drops(struct run_report *r, uint64_t record, const struct dropped_code *drops, size_t n)
{
    size_t i;

    if (n && !r->drops && !(r->drops = calloc(REPORT_MAX_DROPS, sizeof *r->drops)))
        return -1;
    for (i = 0; i < n && r->ndrops < REPORT_MAX_DROPS; i++) {
        r->drops[r->ndrops].record = record;
        r->drops[r->ndrops++].code = drops[i];
    }
    return 0;
}

void report_add_stats(struct run_report *r, const struct step_stats *stats, size_t n)
{
    size_t i;

    for (i = 0; i < n && i < PIPELINE_MAX_STEPS; i++) {
        r->steps[i].calls += stats[i].calls;
        r->steps[i].reasks += stats[i].reasks;
        r->steps[i].failures += stats[i].failures;
        r->steps[i].prompt_tokens += stats[i].prompt_tokens;
        r->steps[i].completion_tokens += stats[i].completion_tokens;
        r->steps[i].repairs += stats[i].repairs;
        r->steps[i].codes_valid += stats[i].codes_valid;
        r->steps[i].codes_repaired += stats[i].codes_repaired;
        r->steps[i].codes_dropped += stats[i].codes_dropped;
        r->steps[i].requests += stats[i].requests;
        r->steps[i].retries += stats[i].retries;
        r->steps[i].cache_hits += stats[i].cache_hits;
        r->steps[i].request_failures += stats[i].request_failures;
    }
}

/* Code validity of a step: counts and rates (valid first time, repaired, dropped). */
static void add_code_stats(cJSON *o, const struct step_stats *st)
{
    double total = (double)(st->codes_valid + st->codes_repaired + st->codes_dropped);
    cJSON *c = cJSON_AddObjectToObject(o, "codes");

    if (!c)
        return;
    cJSON_AddNumberToObject(c, "valid_first_time", (double)st->codes_valid);
    cJSON_AddNumberToObject(c, "repaired", (double)st->codes_repaired);
    cJSON_AddNumberToObject(c, "dropped", (double)st->codes_dropped);
    cJSON_AddNumberToObject(c, "repair_requests", (double)st->repairs);
    cJSON_AddNumberToObject(c, "valid_first_time_rate", total > 0 ? (double)st->codes_valid / total : 1.0);
    cJSON_AddNumberToObject(c, "repaired_rate", total > 0 ? (double)st->codes_repaired / total : 0.0);
    cJSON_AddNumberToObject(c, "dropped_rate", total > 0 ? (double)st->codes_dropped / total : 0.0);
}

/* Estimated cost in the price unit: tokens x price per million. */
static double step_cost(const struct llmsyn_options *o, const struct step_stats *st)
{
    return ((double)st->prompt_tokens * o->price_in + (double)st->completion_tokens * o->price_out) / 1e6;
}

static int has_prices(const struct llmsyn_options *o)
{
    return o->price_in > 0 || o->price_out > 0;
}

/* Model traffic of a step: requests sent, retries, cache hits, failed attempts, and the cost. */
static void add_traffic(cJSON *o, const struct llmsyn_options *opts, const struct step_stats *st)
{
    cJSON_AddNumberToObject(o, "requests", (double)st->requests);
    cJSON_AddNumberToObject(o, "retries", (double)st->retries);
    cJSON_AddNumberToObject(o, "cache_hits", (double)st->cache_hits);
    cJSON_AddNumberToObject(o, "request_failures", (double)st->request_failures);
    if (has_prices(opts))
        cJSON_AddNumberToObject(o, "estimated_cost", step_cost(opts, st));
}

/* Sums the model counters of every step into t. */
static void sum_steps(const struct run_report *r, struct step_stats *t)
{
    size_t i;

    memset(t, 0, sizeof *t);
    for (i = 0; i < r->pl->nsteps; i++) {
        t->calls += r->steps[i].calls;
        t->prompt_tokens += r->steps[i].prompt_tokens;
        t->completion_tokens += r->steps[i].completion_tokens;
        t->requests += r->steps[i].requests;
        t->retries += r->steps[i].retries;
        t->cache_hits += r->steps[i].cache_hits;
        t->request_failures += r->steps[i].request_failures;
    }
}

/* One summary line of model traffic, tokens and cost. */
static int text_traffic(const struct run_report *r, struct buf *out)
{
    const struct llmsyn_options *o = r->pl->opts;
    struct step_stats t;

    sum_steps(r, &t);
    if (buf_printf(out, "model: %llu calls, %llu requests sent, %llu retries, %llu cache hits, %llu failed "
                        "requests; tokens %llu prompt + %llu completion",
                   (unsigned long long)t.calls, (unsigned long long)t.requests, (unsigned long long)t.retries,
                   (unsigned long long)t.cache_hits, (unsigned long long)t.request_failures,
                   (unsigned long long)t.prompt_tokens, (unsigned long long)t.completion_tokens) < 0)
        return -1;
    if (has_prices(o) && buf_printf(out, "; estimated cost %.6f", step_cost(o, &t)) < 0)
        return -1;
    return buf_putc(out, '\n');
}

/* Totals over the steps: tokens, traffic and (with prices) the estimated cost. */
static cJSON *report_totals(const struct run_report *r)
{
    const struct llmsyn_options *opts = r->pl->opts;
    struct step_stats t;
    cJSON *o = cJSON_CreateObject();

    sum_steps(r, &t);
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "model_calls", (double)t.calls);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)t.prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)t.completion_tokens);
    add_traffic(o, opts, &t);
    if (has_prices(opts)) {
        cJSON_AddNumberToObject(o, "price_in_per_million", opts->price_in);
        cJSON_AddNumberToObject(o, "price_out_per_million", opts->price_out);
    }
    return o;
}

static cJSON *report_steps(const struct run_report *r)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;

    for (i = 0; arr && i < r->pl->nsteps; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "step", r->pl->steps[i]->name);
        cJSON_AddNumberToObject(o, "model_calls", (double)r->steps[i].calls);
        cJSON_AddNumberToObject(o, "reasks", (double)r->steps[i].reasks);
        cJSON_AddNumberToObject(o, "failures", (double)r->steps[i].failures);
        cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->steps[i].prompt_tokens);
        cJSON_AddNumberToObject(o, "completion_tokens", (double)r->steps[i].completion_tokens);
        add_traffic(o, r->pl->opts, &r->steps[i]);
        add_code_stats(o, &r->steps[i]);
    }
    return arr;
}

static cJSON *report_drops(const struct run_report *r)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;

    for (i = 0; arr && i < r->ndrops; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "record", (double)r->drops[i].record);
        cJSON_AddStringToObject(o, "step", r->drops[i].code.step);
        cJSON_AddStringToObject(o, "code", r->drops[i].code.code);
        cJSON_AddStringToObject(o, "reason", r->drops[i].code.reason);
    }
    return arr;
}

static cJSON *report_failures(const struct run_report *r)
{
    cJSON *arr = cJSON_CreateArray();
    size_t i;

    for (i = 0; arr && i < r->nfailures; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "record", (double)r->failures[i].record);
        cJSON_AddStringToObject(o, "reason", r->failures[i].reason);
    }
    return arr;
}

/* Which level of validation each code system got. */
static cJSON *report_validation(const struct run_report *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "icd9_cm", "exact");
    cJSON_AddStringToObject(o, "hcpcs", "exact");
    cJSON_AddStringToObject(o, "cpt", dict_cpt_exact(r->pl->dict) ? "exact" : "structural");
    return o;
}

static void add_opt_string(cJSON *o, const char *key, const char *value)
{
    if (value)
        cJSON_AddStringToObject(o, key, value);
    else
        cJSON_AddNullToObject(o, key);
}

int report_json(const struct run_report *r, struct buf *out)
{
    const struct llmsyn_options *o = r->pl->opts;
    cJSON *root = cJSON_CreateObject();
    char shard[48];
    char *text;
    int rc;

    if (!root)
        return -1;
    snprintf(shard, sizeof shard, "%u/%u", o->shard_index, o->shard_count);
    cJSON_AddStringToObject(root, "tool", "llmsyn-fhir");
    cJSON_AddStringToObject(root, "status", r->status);
    add_opt_string(root, "error", r->error);
    cJSON_AddStringToObject(root, "backend", o->backend ? o->backend : "builtin");
    add_opt_string(root, "model", o->model);
    cJSON_AddStringToObject(root, "mode", mode_names[o->mode]);
    cJSON_AddStringToObject(root, "format", format_names[o->format]);
    cJSON_AddNumberToObject(root, "seed", (double)o->seed);
    cJSON_AddNumberToObject(root, "count", (double)o->count);
    cJSON_AddStringToObject(root, "shard", shard);
    cJSON_AddNumberToObject(root, "first_record", (double)r->first);
    cJSON_AddNumberToObject(root, "end_record", (double)r->end);
    cJSON_AddNumberToObject(root, "jobs", o->jobs);
    add_opt_string(root, "prior_source", r->pl->prior->source);
    cJSON_AddNumberToObject(root, "records_ok", (double)r->ok);
    cJSON_AddNumberToObject(root, "records_failed", (double)r->failed);
    cJSON_AddItemToObject(root, "steps", report_steps(r));
    cJSON_AddItemToObject(root, "totals", report_totals(r));
    cJSON_AddItemToObject(root, "failures", report_failures(r));
    cJSON_AddItemToObject(root, "code_validation", report_validation(r));
    cJSON_AddItemToObject(root, "dropped_codes", report_drops(r));
    cJSON_AddNumberToObject(root, "elapsed_seconds", r->seconds);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return -1;
    rc = buf_puts(out, text) < 0 || buf_putc(out, '\n') < 0 ? -1 : 0;
    free(text);
    return rc;
}

int report_text(const struct run_report *r, struct buf *out)
{
    const struct llmsyn_options *o = r->pl->opts;
    size_t i;

    if (buf_printf(out, "llmsyn-fhir run: %s\nrecords: %llu written, %llu failed (records %llu..%llu of %llu)\n"
                        "backend: %s%s%s, mode %s, seed %llu, format %s, %u job(s)\n",
                   r->status, (unsigned long long)r->ok, (unsigned long long)r->failed,
                   (unsigned long long)r->first, (unsigned long long)(r->end ? r->end - 1 : 0),
                   (unsigned long long)o->count, o->backend ? o->backend : "builtin", o->model ? " " : "",
                   o->model ? o->model : "", mode_names[o->mode], (unsigned long long)o->seed,
                   format_names[o->format], o->jobs) < 0)
        return -1;
    if (r->error && buf_printf(out, "error: %s\n", r->error) < 0)
        return -1;
    for (i = 0; i < r->pl->nsteps; i++)
        if (buf_printf(out, "step %-15s %8llu calls %6llu re-asks %6llu failures; codes %llu valid, %llu repaired, "
                            "%llu dropped\n", r->pl->steps[i]->name,
                       (unsigned long long)r->steps[i].calls, (unsigned long long)r->steps[i].reasks,
                       (unsigned long long)r->steps[i].failures, (unsigned long long)r->steps[i].codes_valid,
                       (unsigned long long)r->steps[i].codes_repaired,
                       (unsigned long long)r->steps[i].codes_dropped) < 0)
            return -1;
    if (text_traffic(r, out) < 0)
        return -1;
    if (buf_printf(out, "code validation: ICD-9-CM exact, HCPCS exact, CPT %s\n",
                   dict_cpt_exact(r->pl->dict) ? "exact (licensed dictionary)" : "structural (no licensed CPT file)") < 0)
        return -1;
    for (i = 0; i < r->nfailures && i < 20; i++)
        if (buf_printf(out, "failed record %llu: %s\n", (unsigned long long)r->failures[i].record,
                       r->failures[i].reason) < 0)
            return -1;
    if (r->nfailures > 20 && buf_printf(out, "(%llu more failures in run-report.json)\n",
                                        (unsigned long long)(r->failed - 20)) < 0)
        return -1;
    return 0;
}

void report_free(struct run_report *r)
{
    free(r->drops);
    r->drops = NULL;
    r->ndrops = 0;
    free(r->failures);
    r->failures = NULL;
    r->nfailures = 0;
}
