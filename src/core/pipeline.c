/* pipeline.c - loads a run's inputs and walks one record through the enabled steps. */
#include "core/pipeline.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extract/extract.h"
#include "util/datadir.h"

/* ---- data folder: prompts/ and mappings/ ---- */

/* out = a + b; returns 0, or -1 when the result would not fit. */
static int path_join(char *out, size_t n, const char *a, const char *b)
{
    int len = snprintf(out, n, "%s%s", a, b);

    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---- steps ---- */

static int step_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (p && *p) {
        while (*p == '+' || *p == ',' || *p == ' ')
            p++;
        if (!strncmp(p, name, n) && (p[n] == '\0' || p[n] == ','))
            return 1;
        p = strchr(p, ',');
    }
    return 0;
}

/* Checks every name in --steps exists and is optional. */
static int check_extra_steps(const char *list, struct error *err)
{
    char name[64];
    const char *p = list, *end;
    const struct step_def *s;

    while (p && *p) {
        while (*p == '+' || *p == ',' || *p == ' ')
            p++;
        end = p + strcspn(p, ",");
        if (end == p)
            break;
        snprintf(name, sizeof name, "%.*s", (int)(end - p), p);
        s = step_find(name);
        if (!s)
            return error_set(err, LLMSYN_E_USAGE, "--steps: unknown step '%s'", name), -1;
        p = end;
    }
    return 0;
}

/* Whether step s runs: "procedures_icd9" (--procedure-codes icd9, or --steps +procedures_icd9) takes the
 * place of "procedures"; other steps run when on by default or listed in --steps. */
static int step_wanted(const struct llmsyn_options *o, const struct step_def *s)
{
    int icd9 = o->procedure_codes_icd9 || step_listed(o->extra_steps, "procedures_icd9");

    if (!strcmp(s->name, "procedures"))
        return !icd9;
    if (!strcmp(s->name, "procedures_icd9"))
        return icd9;
    return s->default_on || step_listed(o->extra_steps, s->name);
}

static int load_steps(struct pipeline *pl, const char *prompts_dir, struct error *err)
{
    size_t i;

    if (check_extra_steps(pl->opts->extra_steps, err) < 0)
        return -1;
    for (i = 0; i < step_count && pl->nsteps < PIPELINE_MAX_STEPS; i++) {
        const struct step_def *s = &step_table[i];

        if (!step_wanted(pl->opts, s))
            continue;
        pl->templates[pl->nsteps] = prompt_template_load(prompts_dir, s, err);
        if (!pl->templates[pl->nsteps])
            return -1;
        pl->steps[pl->nsteps++] = s;
    }
    return 0;
}

/* The retrieval index over the cards (and a MedlinePlus dump), in mode full only. */
static int load_index(struct pipeline *pl, struct error *err)
{
    const struct llmsyn_options *o = pl->opts;

    if (o->mode != LLMSYN_MODE_FULL || o->knowledge_k == 0)
        return 0;
    pl->kix = knowledge_index_build(pl->kb, err);
    if (!pl->kix)
        return -1;
    if (o->medlineplus_path && knowledge_index_add_medlineplus(pl->kix, o->medlineplus_path, err) < 0)
        return -1;
    return 0;
}

int pipeline_load(struct pipeline *pl, const struct llmsyn_options *opts, struct error *err)
{
    char data[PATH_MAX], prior[PATH_MAX], kb[PATH_MAX], prompts[PATH_MAX], mappings[PATH_MAX];

    memset(pl, 0, sizeof *pl);
    pl->opts = opts;
    if (find_data_dir(opts->data_dir, data, sizeof data) != 0)
        return error_set(err, LLMSYN_E_USAGE, "data folder path is too long"), -1;
    if (path_join(prior, sizeof prior, data, "/mappings/prior.json") < 0 ||
        path_join(kb, sizeof kb, data, "/mappings/knowledge.json") < 0 ||
        path_join(mappings, sizeof mappings, data, "/mappings") < 0 ||
        path_join(prompts, sizeof prompts, opts->prompts_dir ? opts->prompts_dir : data,
                  opts->prompts_dir ? "" : "/prompts") < 0)
        return error_set(err, LLMSYN_E_USAGE, "data folder path '%s' is too long", data), -1;
    pl->prior = prior_load(opts->prior_path ? opts->prior_path : prior, err);
    if (!pl->prior)
        return -1;
    pl->kb = kb_load(opts->knowledge_path ? opts->knowledge_path : kb, err);
    if (!pl->kb)
        return -1;
    pl->dict = dict_load(mappings, opts->cpt_dict_path, err);
    if (!pl->dict || load_index(pl, err) < 0)
        return -1;
    pl->system_prompt = prompt_system_load(prompts, err);
    if (!pl->system_prompt)
        return -1;
    return load_steps(pl, prompts, err);
}

void pipeline_unload(struct pipeline *pl)
{
    size_t i;

    for (i = 0; i < pl->nsteps; i++)
        prompt_template_free(&pl->templates[i]);
    prior_free(&pl->prior);
    kb_free(&pl->kb);
    dict_free(&pl->dict);
    knowledge_index_free(&pl->kix);
    free(pl->system_prompt);
    pl->system_prompt = NULL;
    pl->nsteps = 0;
}

int pipeline_worker_init(struct pipeline_worker *w, struct pipeline *pl, struct error *err)
{
    struct llm_config cfg = { pl->opts, pl->prior, pl->kb };

    memset(w, 0, sizeof *w);
    w->pl = pl;
    w->backend = llm_backend_new(&cfg, err);
    if (!w->backend)
        return -1;
    if (pl->kix && pl->opts->knowledge_live) {
        struct connect_options co = { pl->opts->knowledge_live_url, pl->opts->knowledge_cache, 0, -1 };

        w->connect = connect_client_new(&co, err);
        if (!w->connect)
            return -1;
    }
    return 0;
}

void pipeline_worker_free(struct pipeline_worker *w)
{
    llm_backend_free(&w->backend);
    record_free(&w->rec);
    record_free(&w->step_out);
    record_free(&w->repair_out);
    connect_client_free(&w->connect);
    mplus_topics_free(&w->live);
    buf_free(&w->retrieved);
    buf_free(&w->prompt);
    buf_free(&w->answer);
    buf_free(&w->reask);
    buf_free(&w->reanswer);
}

/* ---- one record ---- */

/* Per-request seed: a model server that honours `seed` answers the same request the same way. */
static uint64_t request_seed(uint64_t seed, uint64_t index, size_t step)
{
    struct rng r;

    rng_seed(&r, seed, index * PIPELINE_MAX_STEPS + step + 1);
    return rng_next(&r) >> 33; /* servers take seeds as signed 32-bit or 64-bit ints */
}

int pipeline_ask(struct pipeline_worker *w, size_t si, const struct llm_request *req, struct buf *answer,
                 struct error *err)
{
    struct llm_usage usage;

    int rc;

    buf_reset(answer);
    memset(&usage, 0, sizeof usage);
    rc = w->backend->complete(w->backend, req, answer, &usage, err);
    w->stats[si].requests += usage.requests;
    w->stats[si].retries += usage.retries;
    w->stats[si].request_failures += usage.failures;
    w->stats[si].cache_hits += usage.cache_hit ? 1 : 0;
    if (rc < 0)
        return -1;
    w->stats[si].calls++;
    if (!usage.cache_hit) { /* tokens billed: a cache hit sent nothing */
        w->stats[si].prompt_tokens += usage.prompt_tokens;
        w->stats[si].completion_tokens += usage.completion_tokens;
    }
    return 0;
}

static int parse_answer(struct pipeline_worker *w, const struct step_def *step, const struct buf *answer,
                        struct error *parse)
{
    error_clear(parse);
    record_clear(&w->step_out);
    return extract_answer(buf_str(answer), answer->len, step, &w->step_out, parse);
}

/* Runs step si: ask, extract, re-ask once quoting the parse error. Returns 0 with the step's
 * fields in w->step_out, 1 when the record fails (res filled), -1 on a run-stopping error. */
static int run_step(struct pipeline_worker *w, size_t si, struct llm_request *req, struct record_result *res,
                    struct error *err)
{
    const struct step_def *step = w->pl->steps[si];
    struct error parse;
    int rc;

    if (pipeline_ask(w, si, req, &w->answer, err) < 0)
        return -1;
    if (parse_answer(w, step, &w->answer, &parse) == 0)
        return pipeline_check_codes(w, si, req, res, err);
    buf_reset(&w->reask);
    if (buf_printf(&w->reask,
                   "Your answer could not be used: %s. Answer again and end with the final output block, "
                   "one `[FIELD]: value` line per field, exactly as the instructions show.",
                   parse.msg) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    req->reask = buf_str(&w->reask);
    req->previous_answer = buf_str(&w->answer);
    w->stats[si].reasks++;
    rc = pipeline_ask(w, si, req, &w->reanswer, err);
    req->reask = req->previous_answer = NULL;
    if (rc < 0)
        return -1;
    if (parse_answer(w, step, &w->reanswer, &parse) == 0) {
        /* The usable answer is now the re-asked one: repairs quote it. */
        struct buf t = w->answer;

        w->answer = w->reanswer;
        w->reanswer = t;
        return pipeline_check_codes(w, si, req, res, err);
    }
    w->stats[si].failures++;
    res->failed = 1;
    if (snprintf(res->reason, sizeof res->reason, "step %s: %s (after one re-ask)", step->name, parse.msg) < 0)
        res->reason[0] = '\0';
    return 1;
}

static int merge_step(struct record *rec, const struct record *out)
{
    size_t i;

    for (i = 0; i < out->nfields; i++)
        if (record_add_unique(rec, out->fields[i].name, out->fields[i].value) < 0)
            return -1;
    return 0;
}

/* ICD-9-CM diagnoses and procedures share one FHIR system; the code's form tells them apart: the mapper
 * writes volume 3 procedure codes with the dot after two digits ("96.71"), diagnoses after three ("428.0")
 * or after a V/E prefix ("V58.61"), so no diagnosis code has that form. */
static enum code_system display_system(const char *system, const char *code)
{
    if (strcmp(system, FHIR_SYSTEM_ICD9))
        return CODE_CPT;
    if (code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9' && code[2] == '.')
        return CODE_ICD9_PX;
    return CODE_ICD9_DX;
}

/* The display of a code for FHIR comes from the dictionary, never from the model's text. */
static const char *pipeline_display(void *user, const char *system, const char *code)
{
    const struct pipeline *pl = user;
    struct code_info info;
    enum code_system sys = display_system(system, code);

    if (dict_lookup(pl->dict, sys, code, &info) != CODE_VALID)
        return NULL;
    return info.display; /* NULL for CPT without a licensed dictionary */
}

static int render_record(struct pipeline_worker *w, struct sink_chunk *c, struct record_result *res,
                         struct error *err)
{
    const struct pipeline *pl = w->pl;
    struct fhir_context fc = { pl->opts->seed, pipeline_display, w->pl };
    struct error berr = { LLMSYN_OK, "" };
    cJSON *bundle;
    int rc;

    if (record_add_synthetic_details(&w->rec, pl->opts->seed) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    bundle = fhir_bundle_from_record(&w->rec, &fc, &berr);
    if (!bundle) {
        res->failed = 1;
        if (snprintf(res->reason, sizeof res->reason, "fhir mapping: %s", berr.msg) < 0)
            res->reason[0] = '\0';
        return 0;
    }
    rc = sink_render(pl->opts->format, &w->rec, bundle, c, err);
    cJSON_Delete(bundle);
    return rc;
}

/* R(z_R | y_1): the top passages for the main diagnosis, queried by its code and its dictionary name.
 * Returns the text (borrowed from w), NULL when nothing was found, or sets *failed on a run-stopping error. */
static const char *retrieve_knowledge(struct pipeline_worker *w, const char *main_code, int *failed,
                                      struct error *err)
{
    const struct pipeline *pl = w->pl;
    struct code_info ci;
    const char *name = dict_lookup(pl->dict, CODE_ICD9_DX, main_code, &ci) == CODE_VALID ? ci.display : NULL;
    int n;

    buf_reset(&w->retrieved);
    mplus_topics_free(&w->live);
    if (w->connect && connect_lookup(w->connect, main_code, &w->live, err) < 0) {
        *failed = 1;
        return NULL;
    }
    n = knowledge_retrieve_extra(pl->kix, w->connect ? &w->live : NULL, main_code, name, pl->opts->knowledge_k,
                                 pl->opts->knowledge_budget, &w->retrieved, err);
    if (n < 0)
        *failed = 1;
    return n > 0 ? buf_str(&w->retrieved) : NULL;
}

int pipeline_generate(struct pipeline_worker *w, uint64_t index, struct sink_chunk *c, struct record_result *res,
                      struct error *err)
{
    const struct pipeline *pl = w->pl;
    struct prior_draw draw;
    struct rng rng;
    struct llm_request req;
    struct prompt_inputs in;
    const char *retrieved = NULL; /* retrieved once per record, after the main diagnosis */
    size_t si;
    int rc, looked = 0, failed = 0;

    memset(res, 0, sizeof *res);
    sink_chunk_reset(c);
    c->index = index;
    record_clear(&w->rec);
    w->rec.index = index;
    rng_seed(&rng, pl->opts->seed, index);
    prior_sample(pl->prior, &rng, pl->opts->mode == LLMSYN_MODE_BASE, &draw);
    for (si = 0; si < pl->nsteps; si++) {
        const char *main_code = record_get(&w->rec, F_ICD9);

        in = (struct prompt_inputs){ pl->opts->mode, &w->rec, &draw, pl->prior, NULL, NULL };
        if (pl->opts->mode == LLMSYN_MODE_FULL && main_code)
            in.card = kb_find(pl->kb, main_code);
        if (pl->kix && main_code && !looked) {
            looked = 1;
            retrieved = retrieve_knowledge(w, main_code, &failed, err);
            if (failed)
                return -1;
        }
        in.retrieved = retrieved;
        buf_reset(&w->prompt);
        if (prompt_render(pl->templates[si], &in, &w->prompt, err) < 0)
            return -1;
        req = (struct llm_request){ pl->steps[si], pl->system_prompt, w->prompt.data, NULL, NULL, &w->rec, &draw,
                                    pl->opts->mode, request_seed(pl->opts->seed, index, si), &rng };
        rc = run_step(w, si, &req, res, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        if (merge_step(&w->rec, &w->step_out) < 0)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    }
    return render_record(w, c, res, err);
}
