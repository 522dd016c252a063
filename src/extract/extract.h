/* extract.h - parses the final-output block of a model answer into a step's fields. */
#ifndef EXTRACT_EXTRACT_H
#define EXTRACT_EXTRACT_H

#include <stddef.h>

#include "core/record.h"
#include "core/steps.h"
#include "util/error.h"

/* Limit on the answer text the extractor accepts. */
#define EXTRACT_MAX_ANSWER ((size_t)1 << 20)

/* Extracts the fields of `step` from `answer` (len bytes, need not be NUL-terminated)
 * into `out` (appended, normalised: ICD-9-CM codes dotted, CPT 5 characters, AGE digits,
 * GENDER M/F, HOSPITAL_EXPIRE_FLAG 0/1, upper-case categories kept as given).
 * Tolerates reasoning before the final output, markdown bold, tables, bullet lists,
 * code fences, `KEY = value`, `KEY: value`, codes without their dot and descriptions after a code.
 * When the answer holds several final-output blocks, the last complete one wins.
 * Returns 0, or -1 with err (LLMSYN_E_BACKEND) saying what is missing or malformed,
 * e.g. "answer has no AGE field" or "ICD9_CODE 'heart' is not an ICD-9-CM code". */
int extract_answer(const char *answer, size_t len, const struct step_def *step, struct record *out,
                   struct error *err);

/* Normalises one value of `field` as written by the model (markup, quotes, descriptions after codes allowed)
 * the way extract_answer does, and appends the result to out. multi: the value may list several codes,
 * each added once. Returns 0, or -1 with err (LLMSYN_E_BACKEND) naming the field. */
int extract_value(const char *field, const char *value, int multi, struct record *out, struct error *err);

/* Normalises one ICD-9-CM diagnosis code to its dotted form ("58381" -> "583.81", "v5861" -> "V58.61",
 * "E8788" -> "E878.8", "0389" -> "038.9"); text after the code is ignored.
 * Returns 0, or -1 when s does not start with a code shape. */
int extract_icd9_dx(const char *s, char *out, size_t outlen);
/* Normalises a CPT/HCPCS code (5 characters: 5 digits, 4 digits + F/T/U, or a letter + 4 digits). */
int extract_cpt(const char *s, char *out, size_t outlen);

#endif
