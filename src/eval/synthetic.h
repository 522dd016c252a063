/* synthetic.h - reads llmsyn-fhir output (bundle folder, NDJSON folder, flat CSV) into the eval table. */
#ifndef EVAL_SYNTHETIC_H
#define EVAL_SYNTHETIC_H

#include "eval/table.h"
#include "util/error.h"

#define SYN_MAX_FILE ((size_t)64 << 20)  /* one bundle file */
#define SYN_MAX_LINE ((size_t)16 << 20)  /* one NDJSON line */

/*
 * Reads path, whose layout picks the reader (docs/output-formats.md):
 *  - a file, or a folder holding records.csv: the flat CSV (columns by header name, any order);
 *  - a folder holding Patient.ndjson: NDJSON (Condition, Procedure, Coverage joined to the Patient by
 *    subject / beneficiary reference; Conditions in file order, so the main diagnosis comes first);
 *  - a folder holding record-*.json: one row per bundle, files in name order.
 * The FHIR fields read back are those of docs/fhir-mapping.md (race/ethnicity extension text,
 * patient-religion text, maritalStatus.text, communication[0].language.text, deceased[x], Coverage
 * type.text, the ICD-9-CM Condition code, the Procedure code). Returns 0 or an llmsyn_status with err
 * naming the file (and line or entry).
 */
int synthetic_read(const char *path, struct eval_table *t, struct error *err);

#endif
