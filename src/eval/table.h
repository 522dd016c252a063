/* table.h - the flat evaluation table: one row per admission, the paper's columns (section 5.2). */
#ifndef EVAL_TABLE_H
#define EVAL_TABLE_H

#include <stddef.h>

#include "util/error.h"

/* The categorical columns, in report order. */
enum eval_cat {
    EVAL_LANGUAGE = 0,
    EVAL_RELIGION,
    EVAL_MARITAL_STATUS,
    EVAL_ETHNICITY,
    EVAL_INSURANCE,
    EVAL_NCAT
};

/*
 * One admission. Every reader fills it the same way (docs/evaluation.md, "The table"):
 *  - cat[]: the MIMIC-III spelling, trimmed; "" when missing. eval_row_set_cat() folds the values that
 *    mean "not given" into "" so the readers agree: LANGUAGE "UNKNOWN", RELIGION "NOT SPECIFIED",
 *    "UNOBTAINABLE", "UNKNOWN" (a FHIR bundle cannot tell them from a blank, docs/fhir-mapping.md);
 *  - expire: in-hospital death (MIMIC HOSPITAL_EXPIRE_FLAG), 0/1, or -1 when unknown;
 *  - icd9: the diagnosis codes, main (SEQ_NUM 1) first, stored without dot, upper case ("V5867");
 *  - cpt: the CPT/HCPCS codes in order, trimmed, upper case;
 *  - gender ("M"/"F"/""), age in whole years (-1 unknown): used by prior extraction only.
 */
struct eval_row {
    char *cat[EVAL_NCAT]; /* owned, never NULL once set; NULL means "" */
    char *gender;         /* owned; may be NULL */
    int age;
    int expire;
    char **icd9;          /* owned array of owned strings */
    size_t nicd9, cap_icd9;
    char **cpt;           /* owned array of owned strings */
    size_t ncpt, cap_cpt;
};

struct eval_table {
    struct eval_row *rows; /* owned */
    size_t n, cap;
};

#define EVAL_MAX_ROWS ((size_t)10 << 20)
#define EVAL_MAX_CODES 4096 /* codes of one kind in one row */

/* Name of a categorical column ("LANGUAGE", ...). */
const char *eval_cat_name(enum eval_cat c);
/* Column index of a name (case-insensitive), or -1. */
int eval_cat_index(const char *name);

/* Appends a zeroed row (expire = age = -1) and returns it (borrowed; moves when the table grows),
 * or NULL when memory runs out or EVAL_MAX_ROWS is reached (err set). */
struct eval_row *eval_table_add(struct eval_table *t, struct error *err);
/* Each returns 0, or an llmsyn_status with err set. v is copied. */
int eval_row_set_cat(struct eval_row *r, enum eval_cat c, const char *v, struct error *err);
int eval_row_set_gender(struct eval_row *r, const char *v, struct error *err);
int eval_row_add_icd9(struct eval_row *r, const char *code, struct error *err);
int eval_row_add_cpt(struct eval_row *r, const char *code, struct error *err);
/* Value of a categorical column: "" when missing; borrowed. */
const char *eval_row_cat(const struct eval_row *r, enum eval_cat c);
/* Main diagnosis or "" ; borrowed. */
const char *eval_row_main(const struct eval_row *r);
void eval_table_free(struct eval_table *t);

/* Writes code normalised (trimmed, dots and spaces removed, upper case) into out (cap bytes). */
void eval_code_normalise(const char *code, char *out, size_t cap);

#endif
