/* codecheck.c - every code a step yields is checked against the dictionaries; invalid ones get one
 * repair re-ask quoting them with their nearest valid candidates, then are dropped with their reason. */
#include <stdio.h>
#include <string.h>

#include "core/pipeline.h"
#include "extract/extract.h"

#define CANDIDATES_PER_CODE 5

/* The dictionary system of a field, or -1 when the field holds no code. */
static int field_system(const char *field)
{
    if (!strcmp(field, F_ICD9))
        return CODE_ICD9_DX;
    if (!strcmp(field, F_CPT))
        return CODE_CPT;
    if (!strcmp(field, F_ICD9_PROC))
        return CODE_ICD9_PX;
    return -1;
}

static const char *status_reason(enum code_status st)
{
    switch (st) {
    case CODE_HEADER: return "a non-billable header code";
    case CODE_RETIRED: return "retired (not in the current code set)";
    case CODE_INVALID: return "not a code of that system";
    case CODE_VALID: break;
    }
    return "valid";
}

/* Normalises the valid codes of `r` in place and moves the others into w->invalid (when `collect`).
 * Returns the number of valid codes, or -1 on out-of-memory. */
static long classify(struct pipeline_worker *w, struct record *r, int collect)
{
    struct code_info info;
    long valid = 0;
    size_t i = 0;
    int sys;

    while (i < r->nfields) {
        struct field *f = &r->fields[i];

        if ((sys = field_system(f->name)) < 0) {
            i++;
            continue;
        }
        if (dict_lookup(w->pl->dict, (enum code_system)sys, f->value, &info) == CODE_VALID) {
            if (record_replace_at(r, i++, info.code) < 0)
                return -1;
            valid++;
            continue;
        }
        if (collect && w->ninvalid < STEP_MAX_INVALID) {
            struct invalid_code *ic = &w->invalid[w->ninvalid++];

            snprintf(ic->field, sizeof ic->field, "%s", f->name);
            snprintf(ic->code, sizeof ic->code, "%s", f->value);
            ic->status = info.status;
            ic->repaired = 0;
        }
        record_remove_at(r, i);
    }
    return valid;
}

/* Appends "code (display)" candidates for one invalid code: same prefix first, else by description. */
static int add_candidates(struct pipeline_worker *w, const struct invalid_code *ic, struct buf *out)
{
    struct code_info cand[CANDIDATES_PER_CODE];
    int sys = field_system(ic->field);
    size_t n, i;

    n = dict_search(w->pl->dict, (enum code_system)sys, ic->code, cand, CANDIDATES_PER_CODE);
    if (buf_printf(out, "- %s '%s' is %s.", ic->field, ic->code, status_reason(ic->status)) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (buf_printf(out, "%s %s%s%s%s", i ? ";" : " Nearest valid codes:", cand[i].code,
                       cand[i].display ? " (" : "", cand[i].display ? cand[i].display : "",
                       cand[i].display ? ")" : "") < 0)
            return -1;
    return buf_putc(out, '\n');
}

static int build_repair_prompt(struct pipeline_worker *w, struct buf *out)
{
    size_t i;

    buf_reset(out);
    if (buf_puts(out, "Some codes in your answer are not valid billable codes of the code set:\n") < 0)
        return -1;
    for (i = 0; i < w->ninvalid; i++)
        if (add_candidates(w, &w->invalid[i], out) < 0)
            return -1;
    return buf_puts(out, "Answer again: replace each invalid code with a valid one (or leave it out if none "
                         "fits) and end with the final output block, one `[FIELD]: value` line per code.");
}

static void note_drop(struct record_result *res, const char *step, const struct invalid_code *ic)
{
    struct dropped_code *d;

    if (res->ndrops >= RESULT_MAX_DROPS)
        return;
    d = &res->drops[res->ndrops++];
    snprintf(d->step, sizeof d->step, "%s", step);
    snprintf(d->code, sizeof d->code, "%s", ic->code);
    snprintf(d->reason, sizeof d->reason, "%s; not repaired", status_reason(ic->status));
}

/* Marks the invalid code a repaired code replaces: one of the same 3-character category first, else
 * the first one still open. */
static void match_repair(struct pipeline_worker *w, const char *code)
{
    size_t i;

    for (i = 0; i < w->ninvalid; i++)
        if (!w->invalid[i].repaired && !strncmp(w->invalid[i].code, code, 3)) {
            w->invalid[i].repaired = 1;
            return;
        }
    for (i = 0; i < w->ninvalid; i++)
        if (!w->invalid[i].repaired) {
            w->invalid[i].repaired = 1;
            return;
        }
}

/* Moves the repair answer's valid codes that are new into step_out (for a single-valued field: only
 * when step_out lost it), at most one per invalid code. Returns how many, or -1 on out-of-memory. */
static long take_repairs(struct pipeline_worker *w, const struct step_def *step)
{
    struct record *out = &w->step_out;
    const struct record *rep = &w->repair_out;
    long taken = 0;
    size_t i, before;

    for (i = 0; i < rep->nfields && (size_t)taken < w->ninvalid; i++) {
        const struct field *f = &rep->fields[i];
        int repeated = step->repeated && !strcmp(step->repeated, f->name);

        if (field_system(f->name) < 0 || (!repeated && record_get(out, f->name)))
            continue;
        before = out->nfields;
        if (record_add_unique(out, f->name, f->value) < 0)
            return -1;
        if (out->nfields > before) {
            match_repair(w, f->value);
            taken++;
        }
    }
    return taken;
}

/* The record fails when a required code field is left without a valid value. */
static int required_codes_missing(const struct step_def *step, const struct record *out, char *why, size_t n)
{
    size_t i;

    for (i = 0; step->fields[i]; i++)
        if (field_system(step->fields[i]) >= 0 && !record_get(out, step->fields[i])) {
            snprintf(why, n, "no valid %s after one repair", step->fields[i]);
            return 1;
        }
    if (step->repeated && field_system(step->repeated) >= 0 &&
        record_count(out, step->repeated) < step->min_repeated) {
        snprintf(why, n, "no valid %s after one repair", step->repeated);
        return 1;
    }
    return 0;
}

static int repair(struct pipeline_worker *w, size_t si, struct llm_request *req, long *repaired, struct error *err)
{
    const struct step_def *step = w->pl->steps[si];
    struct error parse = { LLMSYN_OK, "" };
    int rc;

    *repaired = 0;
    if (build_repair_prompt(w, &w->reask) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    req->reask = buf_str(&w->reask);
    req->previous_answer = buf_str(&w->answer);
    w->stats[si].repairs++;
    rc = pipeline_ask(w, si, req, &w->reanswer, err);
    req->reask = req->previous_answer = NULL;
    if (rc < 0)
        return -1;
    record_clear(&w->repair_out);
    if (extract_answer(buf_str(&w->reanswer), w->reanswer.len, step, &w->repair_out, &parse) < 0)
        return 0; /* an unusable repair answer repairs nothing */
    if (classify(w, &w->repair_out, 0) < 0 || (*repaired = take_repairs(w, step)) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    return 0;
}

int pipeline_check_codes(struct pipeline_worker *w, size_t si, struct llm_request *req, struct record_result *res,
                         struct error *err)
{
    const struct step_def *step = w->pl->steps[si];
    struct step_stats *st = &w->stats[si];
    long valid, repaired = 0;
    size_t i;
    char why[128];

    w->ninvalid = 0;
    if ((valid = classify(w, &w->step_out, 1)) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    st->codes_valid += (uint64_t)valid;
    if (w->ninvalid > 0 && repair(w, si, req, &repaired, err) < 0)
        return -1;
    st->codes_repaired += (uint64_t)repaired;
    st->codes_dropped += w->ninvalid - (size_t)repaired;
    for (i = 0; i < w->ninvalid; i++)
        if (!w->invalid[i].repaired)
            note_drop(res, step->name, &w->invalid[i]);
    if (!required_codes_missing(step, &w->step_out, why, sizeof why))
        return 0;
    res->failed = 1;
    if (snprintf(res->reason, sizeof res->reason, "step %s: %s (%s '%s' is %s)", step->name, why,
                 w->ninvalid ? w->invalid[0].field : "code", w->ninvalid ? w->invalid[0].code : "",
                 w->ninvalid ? status_reason(w->invalid[0].status) : "missing") < 0)
        res->reason[0] = '\0';
    st->failures++;
    return 1;
}
