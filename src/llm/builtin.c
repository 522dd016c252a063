/* builtin.c - the offline default backend: answers each step from the prior draws and the
 * knowledge base's coded hints, in the same final-output format a model is asked for. */
#include <stdlib.h>
#include <string.h>

#include "llm/backend.h"

struct builtin_state {
    const struct kb *kb;
};

/* The card whose hints drive steps 2+: the diagnosis's own card in mode full, else the generic one. */
static const struct kb_card *builtin_card(const struct builtin_state *st, const struct llm_request *req)
{
    const char *main_code = record_get(req->record, F_ICD9);
    const struct kb_card *card = NULL;

    if (!st->kb)
        return NULL;
    if (req->mode == LLMSYN_MODE_FULL && main_code)
        card = kb_find(st->kb, main_code);
    return card ? card : kb_generic(st->kb);
}

static int answer_demographics(const struct llm_request *req, struct buf *out)
{
    const struct prior_draw *d = req->draw;

    return buf_printf(out,
                      "The demographics follow the population statistics drawn for this record.\n\n"
                      "Final Output:\n[GENDER]: %s\n[AGE]: %d\n[INSURANCE]: %s\n[LANGUAGE]: %s\n"
                      "[RELIGION]: %s\n[MARITAL_STATUS]: %s\n[ETHNICITY]: %s\n",
                      d->gender, d->age, d->insurance, d->language, d->religion, d->marital_status,
                      d->ethnicity);
}

static int answer_main_diagnosis(const struct llm_request *req, struct buf *out)
{
    const struct prior_diagnosis *dx = req->draw->diagnosis;

    return buf_printf(out, "The main diagnosis is the one drawn from the disease distribution.\n\n"
                           "Final Output:\n[ICD9_CODE]: %s%s%s%s\n[HOSPITAL_EXPIRE_FLAG]: %d\n",
                      dx->code, dx->description ? " (" : "", dx->description ? dx->description : "",
                      dx->description ? ")" : "", req->draw->expire);
}

/* Picks each hint with its weight as probability; at least the heaviest one. Writes
 * "[FIELD]: code" lines, skipping `skip` (the main diagnosis). Returns 0 or -1. */
static int answer_hints(const struct kb_hint *hints, size_t n, const char *field, const char *skip,
                        struct rng *rng, struct buf *out)
{
    size_t i, best = 0, written = 0;

    if (buf_puts(out, "Coded from the knowledge base's hints for this disease.\n\nFinal Output:\n") < 0)
        return -1;
    for (i = 0; i < n; i++) {
        int take = rng_uniform(rng) < hints[i].weight;

        if (hints[i].weight > hints[best].weight)
            best = i;
        if (!take || (skip && !strcmp(hints[i].code, skip)))
            continue;
        if (buf_printf(out, "[%s]: %s\n", field, hints[i].code) < 0)
            return -1;
        written++;
    }
    if (written == 0 && n > 0)
        return buf_printf(out, "[%s]: %s\n", field, hints[best].code);
    return 0;
}

static int answer_prescriptions(const struct kb_card *card, struct rng *rng, struct buf *out)
{
    size_t i, best = 0, written = 0;
    const struct kb_drug *d;

    if (buf_puts(out, "Drugs from the knowledge base's treatment hints.\n\nFinal Output:\n") < 0)
        return -1;
    for (i = 0; i < card->ndrugs; i++) {
        if (card->drugs[i].weight > card->drugs[best].weight)
            best = i;
        if (rng_uniform(rng) >= card->drugs[i].weight)
            continue;
        d = &card->drugs[i];
        if (buf_printf(out, "[PRESCRIPTION]: %s | %s | %s | %s | %s | %s | %s | %s\n", d->type, d->drug,
                       d->formulary_cd, d->dose_val, d->dose_unit, d->form_val, d->form_unit, d->route) < 0)
            return -1;
        written++;
    }
    if (written || !card->ndrugs)
        return 0;
    d = &card->drugs[best];
    return buf_printf(out, "[PRESCRIPTION]: %s | %s | %s | %s | %s | %s | %s | %s\n", d->type, d->drug,
                      d->formulary_cd, d->dose_val, d->dose_unit, d->form_val, d->form_unit, d->route);
}

static int builtin_complete(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                            struct llm_usage *usage, struct error *err)
{
    const struct builtin_state *st = b->state;
    const char *step = req->step->name;
    const struct kb_card *card;
    int rc = -1;

    memset(usage, 0, sizeof *usage);
    if (!strcmp(step, "demographics"))
        rc = answer_demographics(req, answer);
    else if (!strcmp(step, "main_diagnosis"))
        rc = answer_main_diagnosis(req, answer);
    else if (!(card = builtin_card(st, req)))
        return error_set(err, LLMSYN_E_INPUT, "builtin backend: the knowledge base has no generic '*' card"), -1;
    else if (!strcmp(step, "complications"))
        rc = answer_hints(card->complication_hints, card->ncomplication_hints, F_ICD9,
                          record_get(req->record, F_ICD9), req->rng, answer);
    else if (!strcmp(step, "procedures"))
        rc = answer_hints(card->procedure_hints, card->nprocedure_hints, F_CPT, NULL, req->rng, answer);
    else if (!strcmp(step, "procedures_icd9")) { /* cards without their own list use the generic card's */
        card = card->nicd9_procedure_hints ? card : kb_generic(st->kb);
        if (!card || !card->nicd9_procedure_hints)
            return error_set(err, LLMSYN_E_INPUT, "builtin backend: the generic '*' card has no "
                                                  "icd9_procedure_codes"), -1;
        rc = answer_hints(card->icd9_procedure_hints, card->nicd9_procedure_hints, F_ICD9_PROC, NULL, req->rng,
                          answer);
    } else if (!strcmp(step, "prescriptions"))
        rc = answer_prescriptions(card->ndrugs ? card : kb_generic(st->kb), req->rng, answer);
    else
        return error_set(err, LLMSYN_E_BACKEND, "builtin backend: no answer rule for step '%s'", step), -1;
    if (rc < 0)
        error_set(err, LLMSYN_E_NOMEM, "builtin backend: out of memory");
    return rc;
}

static void builtin_destroy(struct llm_backend *b)
{
    free(b->state);
}

struct llm_backend *builtin_backend_new(const struct llm_config *cfg, struct error *err)
{
    struct llm_backend *b = calloc(1, sizeof *b);
    struct builtin_state *st = calloc(1, sizeof *st);

    if (!b || !st) {
        free(b);
        free(st);
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    st->kb = cfg->kb;
    b->name = "builtin";
    b->complete = builtin_complete;
    b->destroy = builtin_destroy;
    b->state = st;
    return b;
}
