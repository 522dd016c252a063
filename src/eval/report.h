/* report.h - runs the fidelity and privacy metrics and writes report.json, report.md and the plot data. */
#ifndef EVAL_REPORT_H
#define EVAL_REPORT_H

#include <stddef.h>

#include "eval/fidelity.h"
#include "eval/privacy.h"
#include "eval/table.h"
#include "util/error.h"

#define EVAL_NK 2 /* k = 7 and k = 15 (paper table 5) */

struct eval_report {
    const char *real_path, *syn_path; /* borrowed */
    size_t real_rows, syn_rows;
    double ks[EVAL_NFEATURES], tvd[EVAL_NFEATURES]; /* NaN when undefined */
    size_t real_cats[EVAL_NFEATURES], syn_cats[EVAL_NFEATURES];
    double mmd2[EVAL_NPAIRS];
    struct eval_top top;
    double mortality_real, mortality_syn; /* share of rows with EXPIRE_FLAG 1 among rows with a flag; NaN if none */
    struct eval_quasi quasi;
    struct eval_kanon kanon[EVAL_NK];
    struct eval_dcr dcr;
};

/* Computes every metric of the report. 0 or status. */
int eval_compute(const struct eval_table *real, const struct eval_table *syn, const struct eval_quasi *q,
                 struct eval_report *out, struct error *err);
/* Writes DIR/report.json (keys in docs/evaluation.md); `plots` lists the PNG names written (may be NULL). */
int eval_write_json(const char *dir, const struct eval_report *r, const char *const *plots, size_t nplots,
                    struct error *err);
/* Writes DIR/report.md: the same figures as tables. */
int eval_write_md(const char *dir, const struct eval_report *r, const char *const *plots, size_t nplots,
                  struct error *err);

#endif
