/* privacy.h - k-anonymity violations, distance to closest real record, exact-match rate (paper 5.2.3). */
#ifndef EVAL_PRIVACY_H
#define EVAL_PRIVACY_H

#include <stddef.h>

#include "eval/table.h"
#include "util/error.h"

#define EVAL_MAX_QUASI 16

/* Quasi-identifier columns: the five categorical columns, EXPIRE_FLAG, GENDER, ICD9_CODE (the main
 * diagnosis) and CPT_CD (the whole list, in order). */
struct eval_quasi {
    int col[EVAL_MAX_QUASI]; /* EVAL_Q_* below */
    size_t n;
};
enum { EVAL_Q_EXPIRE_FLAG = EVAL_NCAT, EVAL_Q_GENDER, EVAL_Q_ICD9_CODE, EVAL_Q_CPT_CD, EVAL_NQ };

/* Parses a comma-separated list such as "ETHNICITY,ICD9_CODE" (case-insensitive). 0, or LLMSYN_E_USAGE
 * with err naming the unknown column. */
int eval_quasi_parse(const char *list, struct eval_quasi *q, struct error *err);
const char *eval_quasi_name(int col);

struct eval_kanon {
    size_t k;
    size_t groups;            /* distinct quasi-identifier combinations */
    size_t violating_groups;  /* groups with fewer than k records */
    size_t violating_records; /* records in those groups */
};
/* Counts the k-anonymity violations of t for the quasi-identifiers q. 0 or status. */
int eval_kanonymity(const struct eval_table *t, const struct eval_quasi *q, size_t k, struct eval_kanon *out,
                    struct error *err);

struct eval_dcr {
    double mean, median, min; /* over the synthetic rows; NaN when either table is empty */
    double exact_match_rate;  /* share of synthetic rows at distance 0 */
    size_t exact_matches;
};
/* Distance of each synthetic row to its closest real row: the mean over 8 features of a per-feature
 * distance in [0, 1] (5 categorical columns and EXPIRE_FLAG: 0 equal, 1 not; ICD9_CODE and CPT_CD:
 * Jaccard distance of the code sets, 0 when both are empty). 0 or status. */
int eval_dcr(const struct eval_table *real, const struct eval_table *syn, struct eval_dcr *out,
             struct error *err);
/* The distance above between two rows. */
double eval_row_distance(const struct eval_row *a, const struct eval_row *b);

#endif
