/* mimic.h - reads MIMIC-III-format CSVs into the flat evaluation table. */
#ifndef EVAL_MIMIC_H
#define EVAL_MIMIC_H

#include "eval/table.h"
#include "util/error.h"

/*
 * Reads DIR/ADMISSIONS.csv (required), DIR/PATIENTS.csv, DIR/DIAGNOSES_ICD.csv and DIR/CPTEVENTS.csv
 * (each optional; the file name may also be lower case, and headers match in any case) into t, one row
 * per ADMISSIONS row in file order. Diagnoses are ordered by SEQ_NUM (the main one, SEQ_NUM 1, first);
 * CPT codes by TICKET_ID_SEQ where given, else file order. Rows of the other files whose HADM_ID is not
 * an admission are ignored. Age = whole years between PATIENTS.DOB and ADMITTIME, capped at 89 (MIMIC
 * shifts ages over 89 to about 300). Returns 0 or an llmsyn_status with err naming file:line.
 */
int mimic_read(const char *dir, struct eval_table *t, struct error *err);

#endif
