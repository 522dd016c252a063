/* compare.h - Synthea vs llmsyn-fhir vs real: procedures per medical-service category for three diseases. */
#ifndef EVAL_COMPARE_H
#define EVAL_COMPARE_H

#include <stddef.h>

#include "eval/services.h"
#include "eval/table.h"
#include "util/error.h"

enum compare_source { CMP_SYNTHEA = 0, CMP_OURS, CMP_REAL, CMP_NSOURCES };
enum compare_disease { CMP_PNEUMONIA = 0, CMP_SEPSIS, CMP_CAD, CMP_NDISEASES };

const char *compare_source_key(enum compare_source s);    /* "synthea", "llmsyn-fhir", "real" */
const char *compare_source_title(enum compare_source s);  /* "Synthea", "llmsyn-fhir", "Real (MIMIC-III format)" */
const char *compare_disease_key(enum compare_disease d);  /* "pneumonia", "sepsis", "coronary_artery_disease" */
const char *compare_disease_title(enum compare_disease d);

/* 1 when `code` (any spelling; compared after eval_code_normalise) belongs to disease d: ICD-9-CM by
 * prefix (snomed 0) or SNOMED CT exactly (snomed 1). docs/compare.md lists the code sets. */
int compare_disease_has(enum compare_disease d, const char *code, int snomed);

struct compare_cell {
    size_t episodes;              /* encounters / admissions with a diagnosis of the disease */
    size_t procedures;            /* procedure codes of those episodes */
    size_t count[SVC_COUNT];      /* ... per category; sums to procedures */
};

struct compare_result {
    int present[CMP_NSOURCES];    /* the source was given */
    size_t rows[CMP_NSOURCES];    /* episodes read from the source */
    struct compare_cell cell[CMP_NDISEASES][CMP_NSOURCES];
};

/* Counts one source into r: every row with a diagnosis of a disease adds its procedure codes, mapped
 * with services_snomed (snomed 1, Synthea's own output) or services_cpt (snomed 0). */
void compare_count(struct compare_result *r, enum compare_source src, const struct eval_table *t, int snomed,
                   const struct services *svc);

/* Share of category c among the cell's procedures (0 when it has none). */
double compare_share(const struct compare_cell *cell, enum service_category c);

/* What the report says about its inputs; strings borrowed. */
struct compare_meta {
    const char *path[CMP_NSOURCES];   /* NULL for a source not given */
    const char *format[CMP_NSOURCES]; /* "synthea-csv", "synthea-fhir", "llmsyn-fhir", "mimic-iii" */
};

#define COMPARE_PLOT_SCRIPT "compare.gp"
#define COMPARE_PLOT_PNG "compare.png"

/* Writes report.json, report.md, compare.dat and compare.gp (a gnuplot script drawing compare.png, run
 * from dir) into dir, which must exist. Returns 0 or an llmsyn_status with err naming the file. */
int compare_write_report(const struct compare_result *r, const struct compare_meta *m, const char *dir,
                         struct error *err);

#endif
