/* utility.h - eval --utility: writes the flat records.csv, runs tools/utility.py, merges its figures. */
#ifndef EVAL_UTILITY_H
#define EVAL_UTILITY_H

#include <stddef.h>

#include "eval/table.h"
#include "util/error.h"

#define EVAL_UTILITY_MAX_JSON ((size_t)4 << 20) /* utility.json / report.json read back */

/* Writes t as a flat records.csv (docs/output-formats.md) at path; RECORD_ID is the row number (1-based).
 * 0 or LLMSYN_E_OUTPUT. */
int eval_write_records_csv(const char *path, const struct eval_table *t, struct error *err);

/* Picks the Python interpreter: "/usr/bin/python3" when it imports sklearn, else "python3" on PATH when it
 * does; returns the borrowed static name, or NULL with err set (LLMSYN_E_INPUT naming python3-sklearn). */
const char *eval_utility_python(struct error *err);

/* Runs `python datadir/tools/utility.py --synthetic csv --real real --codes datadir/mappings/codes --seeds 5
 * --seed 1 --json report/utility.json --md report/utility.md` without a shell; the script's stderr is
 * inherited. 0, or LLMSYN_E_INPUT when it cannot start or exits non-zero. */
int eval_utility_run(const char *python, const char *datadir, const char *csv, const char *real,
                     const char *report, struct error *err);

/* Adds report/utility.json under the key "utility" of report/report.json and appends report/utility.md
 * (headings one level down) to report/report.md. 0 or status. */
int eval_utility_merge(const char *report, struct error *err);

#endif
