/* record.h - one synthetic record: an ordered list of (FIELD, value) pairs named as in the paper. */
#ifndef CORE_RECORD_H
#define CORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Field names of the paper's final-output blocks (MIMIC-III column names). */
#define F_GENDER "GENDER"
#define F_AGE "AGE"
#define F_INSURANCE "INSURANCE"
#define F_LANGUAGE "LANGUAGE"
#define F_RELIGION "RELIGION"
#define F_MARITAL "MARITAL_STATUS"
#define F_ETHNICITY "ETHNICITY"
#define F_EXPIRE "HOSPITAL_EXPIRE_FLAG"
#define F_ICD9 "ICD9_CODE"       /* repeated; the first is the main diagnosis */
#define F_CPT "CPT_CD"           /* repeated, in order performed */
#define F_ICD9_PROC "ICD9_PROC_CODE" /* repeated, in order performed; ICD-9-CM volume 3 (--procedure-codes icd9) */
#define F_PRESCRIPTION "PRESCRIPTION" /* repeated; "DRUG_TYPE | DRUG | FORMULARY_DRUG_CD | DOSE_VAL_RX | DOSE_UNIT_RX | FORM_VAL_DISP | FORM_UNIT_DISP | ROUTE" */
/* Fields the pipeline adds after the model steps (not asked of the model). */
#define F_ADMITTIME "ADMITTIME"  /* YYYY-MM-DDThh:mm:ssZ */
#define F_DISCHTIME "DISCHTIME"
#define F_BIRTHDATE "DOB"        /* YYYY-MM-DD */
#define F_NAME_GIVEN "NAME_GIVEN"
#define F_NAME_FAMILY "NAME_FAMILY"

struct field {
    char *name;  /* owned */
    char *value; /* owned */
};

struct record {
    uint64_t index;        /* position in the whole (unsharded) run, 0-based */
    struct field *fields;  /* owned; in the order they were added */
    size_t nfields;
    size_t cap;
};

/* A zero-initialised struct record is empty and valid. */
/* Appends (name, value); returns 0 or -1 on out-of-memory. */
int record_add(struct record *r, const char *name, const char *value);
/* Appends unless the same (name, value) is already present; returns 0 or -1. */
int record_add_unique(struct record *r, const char *name, const char *value);
/* Replaces the first value of name, or appends it. */
int record_set(struct record *r, const char *name, const char *value);
/* First value of name, or NULL; borrowed. */
const char *record_get(const struct record *r, const char *name);
/* n-th value (0-based) of name, or NULL; borrowed. */
const char *record_get_nth(const struct record *r, const char *name, size_t n);
size_t record_count(const struct record *r, const char *name);
/* Replaces the value of field i; returns 0 or -1 on out-of-memory. */
int record_replace_at(struct record *r, size_t i, const char *value);
/* Removes field i, keeping the order of the others. */
void record_remove_at(struct record *r, size_t i);
/* Removes every field (keeps memory for reuse). */
void record_clear(struct record *r);
void record_free(struct record *r);

#endif
