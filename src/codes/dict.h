/* dict.h - public code dictionaries (ICD-9-CM dx/px, HCPCS, CPT structure or a licensed CPT file), CCS and phenotypes. */
#ifndef CODES_DICT_H
#define CODES_DICT_H

#include <stddef.h>

#include "util/error.h"

enum code_system {
    CODE_ICD9_DX = 0, /* ICD-9-CM volume 1-2 diagnoses, dotted ("428.0", "V58.61", "E878.8") */
    CODE_ICD9_PX,     /* ICD-9-CM volume 3 procedures, dotted after 2 digits ("96.71") */
    CODE_CPT,         /* CPT (5 characters) */
    CODE_HCPCS,       /* HCPCS Level II (letter + 4 digits) */
};

enum code_status {
    CODE_VALID = 0,   /* billable code of the loaded dictionary (or structurally valid CPT) */
    CODE_HEADER,      /* exists only as a non-billable category ("428" when "428.0" exists) */
    CODE_RETIRED,     /* existed in an earlier ICD-9-CM release, not in v32 */
    CODE_INVALID,     /* never existed / not a code of that system */
};

enum code_level {
    CODE_LEVEL_EXACT = 0, /* checked against a full list of codes */
    CODE_LEVEL_STRUCTURAL,/* CPT without a licensed file: form, section range and CCS category only */
};

struct code_info {
    enum code_system system;
    enum code_status status;
    enum code_level level;
    char code[16];             /* normalised form (dotted for ICD-9-CM); "" when not even shaped like a code */
    const char *display;       /* borrowed from the dictionary; NULL when none (e.g. structural CPT) */
    const char *ccs;           /* CCS category "id: label", borrowed; NULL when none */
    const char *phenotype;     /* mimic3-benchmarks phenotype name, borrowed; NULL when none */
    const char *section;       /* CPT section/subsection label, or the ICD-9-CM chapter title of a known
                                  diagnosis code; borrowed; NULL when none */
};

struct dict;

/* Loads every table under `mappings_dir` (docs/codes.md), plus an optional licensed CPT CSV
 * ("code,description"; NULL for none). Errors name file and line (LLMSYN_E_INPUT). Caller frees with dict_free. */
struct dict *dict_load(const char *mappings_dir, const char *cpt_dict_path, struct error *err);
void dict_free(struct dict **d);

/* 1 when a licensed CPT file was loaded (CPT validation exact), else 0 (structural). */
int dict_cpt_exact(const struct dict *d);

/* Normalises and classifies `raw` as a code of `system` (CODE_CPT also accepts HCPCS Level II; out->system
 * is then CODE_HCPCS). Always fills *out (status CODE_INVALID when unknown or unparseable); returns
 * out->status. CODE_RETIRED also marks terminated HCPCS codes and CPT codes of MIMIC's "(deleted codes)"
 * subsections. Thread-safe. */
enum code_status dict_lookup(const struct dict *d, enum code_system system, const char *raw, struct code_info *out);

/* Up to `limit` valid codes of `system` ranked by similarity to `text` (description words, plus a
 * shared code prefix when `text` looks like a code). Returns how many were written. Thread-safe. */
size_t dict_search(const struct dict *d, enum code_system system, const char *text, struct code_info *out,
                   size_t limit);

/* Writes the normalised form of the code at the start of `raw` (text after it ignored): ICD-9-CM dotted
 * ("58381" -> "583.81", "v5861" -> "V58.61", "E8788" -> "E878.8", "38.9" -> "038.9", px "9671" -> "96.71"),
 * CPT/HCPCS upper-case 5 characters (CODE_CPT: 5 digits, 4 digits + F/T/U, or a letter + 4 digits;
 * CODE_HCPCS: a letter + 4 digits). Needs no dictionary. Returns 0, or -1 (out = "") when `raw` does not
 * start with a code shape or `out` is too small. Thread-safe. */
int code_normalise(enum code_system system, const char *raw, char *out, size_t outlen);

const char *code_system_name(enum code_system system); /* "icd9-dx", "icd9-px", "cpt", "hcpcs" */
const char *code_status_name(enum code_status status); /* "valid", "header", "retired", "invalid" */

#endif
