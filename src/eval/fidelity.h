/* fidelity.h - distribution distances between a real and a synthetic table: K-S, TVD, MMD, top-15 ICD-9. */
#ifndef EVAL_FIDELITY_H
#define EVAL_FIDELITY_H

#include <stddef.h>

#include "eval/table.h"
#include "util/error.h"

/* The eight features of the paper's tables 2-3, in report order. */
enum eval_feature {
    EVAL_F_LANGUAGE = 0,
    EVAL_F_RELIGION,
    EVAL_F_MARITAL_STATUS,
    EVAL_F_ETHNICITY,
    EVAL_F_INSURANCE,
    EVAL_F_EXPIRE_FLAG,
    EVAL_F_ICD9_CODE,
    EVAL_F_CPT_CD,
    EVAL_NFEATURES
};

/* The column pairs of the MMD (paper table 3). */
enum eval_pair { EVAL_P_MAIN_CPT = 0, EVAL_P_MAIN_ICD9, EVAL_P_ICD9_CPT, EVAL_NPAIRS };

/* An empirical categorical distribution: distinct keys in byte order with their counts. */
struct eval_dist {
    char **key;    /* owned array of owned strings, sorted by strcmp */
    double *count; /* owned, parallel */
    size_t n;
    double total;
};

const char *eval_feature_name(enum eval_feature f); /* "LANGUAGE", ..., "EXPIRE_FLAG", "ICD9_CODE", "CPT_CD" */
const char *eval_pair_name(enum eval_pair p);       /* "main_dx-CPT_CD", "main_dx-ICD9_CODE", "ICD9_CODE-CPT_CD" */

/* Builds the distribution of a feature over a table (docs/evaluation.md: a categorical value per row,
 * "" when missing; EXPIRE_FLAG "0"/"1"/"" ; ICD9_CODE and CPT_CD every code of every row). 0 or status. */
int eval_feature_dist(const struct eval_table *t, enum eval_feature f, struct eval_dist *out, struct error *err);
/* Builds the distribution of keys (copied). 0 or status. */
int eval_dist_from(const char *const *keys, size_t n, struct eval_dist *out, struct error *err);
/* Count of key in d (0 when absent). */
double eval_dist_count(const struct eval_dist *d, const char *key);
void eval_dist_free(struct eval_dist *d);

/* Two-sample K-S statistic with the categorical encoding of docs/evaluation.md: categories ranked by
 * their frequency in `real` (descending, ties in byte order), categories only in `syn` after them in byte
 * order; D = max over the ranks of |F_real - F_syn|. 0 for identical, 1 for disjoint; NaN when either is empty. */
double eval_ks(const struct eval_dist *real, const struct eval_dist *syn);
/* Total variation distance 0.5 * sum |p - q| over the union of categories; NaN when either is empty. */
double eval_tvd(const struct eval_dist *real, const struct eval_dist *syn);
/* Squared MMD (the paper's formula, biased V-statistic) of the pair distributions of two tables, with each
 * pair embedded as two concatenated one-hot vectors and the Gaussian kernel exp(-|x-y|^2 / (2 sigma^2)),
 * sigma = 1: k = exp(-[a != a']) * exp(-[b != b']). Computed exactly from the pair counts. NaN when
 * either table has no pair. */
int eval_mmd2(const struct eval_table *real, const struct eval_table *syn, enum eval_pair p, double *out,
              struct error *err);

#define EVAL_TOPN 15
struct eval_top {
    char code[EVAL_TOPN][32]; /* the real table's most frequent ICD-9 codes (all positions) */
    double real[EVAL_TOPN];   /* proportion of all real code occurrences */
    double syn[EVAL_TOPN];    /* proportion of all synthetic code occurrences */
    double real_other, syn_other;
    size_t n;                 /* <= EVAL_TOPN */
};
int eval_top_icd9(const struct eval_table *real, const struct eval_table *syn, struct eval_top *out,
                  struct error *err);

#endif
