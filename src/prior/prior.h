/* prior.h - the aggregate prior z_P: weighted lists the pipeline samples from (docs/prior-format.md). */
#ifndef PRIOR_PRIOR_H
#define PRIOR_PRIOR_H

#include <stddef.h>

#include "util/error.h"
#include "util/rng.h"

struct prior_category {
    char *value;   /* e.g. "Medicare", "WHITE", "ENGL"; owned */
    double weight; /* > 0 */
};

struct prior_marginal {
    struct prior_category *items; /* owned */
    size_t n;
    double total;                 /* sum of weights */
};

struct prior_diagnosis {
    char *code;        /* ICD-9-CM with its dot, e.g. "428.0", "V05.3"; owned */
    char *description; /* owned; may be NULL */
    double weight;     /* > 0 */
    double mortality;  /* in [0, 1], or -1 when the prior gives none for this code */
    int age_min, age_max; /* inclusive years the age is drawn from for this main diagnosis (0 <= min <= max
                           * <= 120), or -1/-1 when the prior gives no range and the age bins apply */
    /* Optional per-diagnosis marginals that replace struct prior's own for records with this main
     * diagnosis; n == 0 (items NULL) when the prior gives none and the global marginal applies. Owned. */
    struct prior_marginal gender, insurance, marital_status;
};

struct prior_age_bin {
    int min, max;  /* inclusive years */
    double weight;
};

struct prior {
    char *source;                       /* provenance note; owned; may be NULL */
    struct prior_diagnosis *diagnoses;  /* owned */
    size_t ndiagnoses;
    double diagnoses_total;
    double *diagnosis_weights;          /* owned; parallel array for rng_weighted */
    struct prior_age_bin *age_bins;     /* owned */
    size_t nage_bins;
    double *age_weights;                /* owned; parallel array */
    double age_total;
    struct prior_marginal gender, ethnicity, insurance, language, religion, marital_status;
    double mortality;                   /* overall in-hospital mortality in [0, 1] */
};

/* Loads and checks a prior JSON file. On failure returns NULL and sets err
 * (LLMSYN_E_INPUT) to a message naming the file and the offending field,
 * e.g. "prior.json: diagnoses[3].weight: must be a positive number". Caller frees with prior_free. */
struct prior *prior_load(const char *path, struct error *err);
/* Same, from a string; `name` stands for the file in messages. */
struct prior *prior_parse(const char *text, size_t len, const char *name, struct error *err);
void prior_free(struct prior **p);

/* What the pipeline sampled from the prior for one record (all borrowed from the prior). */
struct prior_draw {
    const struct prior_diagnosis *diagnosis;
    int expire;           /* 0/1, Bernoulli(per-diagnosis mortality, else overall) */
    const char *gender, *ethnicity, *insurance, *language, *religion, *marital_status;
    int age;
};

/* Draws one record's prior values. uniform != 0 ignores the weights (mode base). */
void prior_sample(const struct prior *p, struct rng *r, int uniform, struct prior_draw *out);

#endif
