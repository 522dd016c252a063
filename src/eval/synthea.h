/* synthea.h - reads Synthea output (CSV folder or FHIR R4 bundles) into the flat evaluation table. */
#ifndef EVAL_SYNTHEA_H
#define EVAL_SYNTHEA_H

#include "eval/table.h"
#include "util/error.h"

#define SYNTHEA_MAX_FILE ((size_t)256 << 20) /* one FHIR bundle file */
#define SYNTHEA_MAX_ITEMS ((size_t)20 << 20) /* condition and procedure rows of one input */

/* Which reader synthea_read used. */
enum synthea_kind { SYNTHEA_CSV = 0, SYNTHEA_FHIR };

/*
 * One row of t per encounter that has a condition or a procedure, in encounter-id order:
 *  - icd9[]: the encounter's condition codes (CODE of conditions.csv / Condition.code) then the procedures'
 *    REASONCODEs, normalised as eval_code_normalise does; for Synthea's own output these are SNOMED CT
 *    codes although the column is called icd9 (llmsyn-fhir's --format synthea-csv puts ICD-9-CM there);
 *  - cpt[]: the procedure codes (SNOMED CT from Synthea; CPT from llmsyn-fhir's synthea-csv), in file order.
 * The categorical columns stay empty and expire is -1.
 */

/* Reads DIR/conditions.csv and DIR/procedures.csv (Synthea's column names, any order, any case).
 * Returns 0 or an llmsyn_status with err naming file:line. */
int synthea_read_csv(const char *dir, struct eval_table *t, struct error *err);

/* Reads one Synthea FHIR R4 bundle file, or every *.json file of a folder (name order): Condition and
 * Procedure resources, grouped by their encounter reference; resources without one are skipped. */
int synthea_read_fhir(const char *path, struct eval_table *t, struct error *err);

/* Picks the reader: a folder holding conditions.csv, or a "csv" subfolder holding it, is read as CSV;
 * otherwise path (or its "fhir" subfolder) as FHIR bundles. *kind (may be NULL) says which was used. */
int synthea_read(const char *path, struct eval_table *t, enum synthea_kind *kind, struct error *err);

#endif
