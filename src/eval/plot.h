/* plot.h - writes the report's plot data and a gnuplot script, and runs gnuplot to make the PNGs. */
#ifndef EVAL_PLOT_H
#define EVAL_PLOT_H

#include <stddef.h>

#include "eval/table.h"
#include "util/error.h"

#define EVAL_NPLOTS 3
/* The PNG files eval_plot makes, in DIR: distributions side by side, top-15 ICD-9 proportions, mortality. */
extern const char *const eval_plot_names[EVAL_NPLOTS];

/*
 * Writes DIR/plots/ (tab-separated .dat files of proportions and plots.gp) and runs `gnuplot plots.gp`
 * there (gnuplot from PATH, its output discarded), which writes the PNGs into DIR. Returns 0;
 * LLMSYN_E_NOT_FOUND when gnuplot cannot be run (the data and script are still written);
 * LLMSYN_E_OUTPUT when a file cannot be written or gnuplot fails. err names the file.
 */
int eval_plot(const char *dir, const struct eval_table *real, const struct eval_table *syn, struct error *err);

#endif
