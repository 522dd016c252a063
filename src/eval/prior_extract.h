/* prior_extract.h - aggregates a real table into the prior JSON of docs/prior-format.md, small cells suppressed. */
#ifndef EVAL_PRIOR_EXTRACT_H
#define EVAL_PRIOR_EXTRACT_H

#include <stddef.h>

#include "eval/table.h"
#include "util/error.h"

#define PRIOR_EXTRACT_DEFAULT_MIN_CELL 11

struct prior_extract_stats {
    size_t admissions;       /* rows read */
    size_t diagnoses;        /* main diagnoses written */
    size_t suppressed_cells; /* cells below min_cell: left out, or pooled into OTHER */
};

/*
 * Builds the prior JSON text from t (docs/evaluation.md, "Prior extraction"): only counts of at least
 * min_cell admissions leave. Main diagnoses (first ICD-9 code) below min_cell are left out; a
 * per-diagnosis mortality is written only when both its deaths and its survivors reach min_cell;
 * demographic categories below min_cell are pooled into OTHER, and OTHER is dropped when it stays below;
 * age bins below min_cell are dropped; blank values are left out. The result also carries
 * "_suppressed_cells" and "_min_cell" (comment members the loader ignores). Fails (LLMSYN_E_INPUT) when a
 * required list ends up empty or the overall deaths or survivors are below min_cell. The text is checked
 * with prior_parse before it is returned. Returns the text (caller frees) or NULL with err set.
 */
char *prior_extract_json(const struct eval_table *t, long min_cell, const char *source,
                         struct prior_extract_stats *st, struct error *err);

#endif
