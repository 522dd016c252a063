/* eval.c - the eval subcommand: fidelity and privacy of synthetic output against real MIMIC-III-format data. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "eval/mimic.h"
#include "eval/plot.h"
#include "eval/privacy.h"
#include "eval/report.h"
#include "eval/synthetic.h"
#include "eval/utility.h"
#include "util/datadir.h"

#define EVAL_DEFAULT_QUASI "ETHNICITY,ICD9_CODE"

struct eval_opts {
    const char *real, *syn, *report, *quasi, *data_dir; /* borrowed from argv */
    int no_plots, utility;
};

static void usage_eval(void)
{
    printf("usage: " CLI_NAME " eval --real DIR --synthetic PATH --report DIR [--quasi COLS] [--no-plots]\n"
           "       [--utility [--data-dir DIR]]\n"
           "Compares synthetic output with real data like the paper (section 5.2): K-S and total variation\n"
           "distance per feature, MMD on column pairs, top-15 ICD-9 proportions, k-anonymity (k = 7, 15),\n"
           "distance to closest real record. Writes DIR/report.json, DIR/report.md and PNG plots (gnuplot).\n"
           "  --real DIR        MIMIC-III-format CSVs (ADMISSIONS, DIAGNOSES_ICD, CPTEVENTS, PATIENTS)\n"
           "  --synthetic PATH  llmsyn-fhir output: bundle folder, NDJSON folder, or records.csv\n"
           "  --report DIR      output folder (created)\n"
           "  --quasi COLS      quasi-identifiers, default " EVAL_DEFAULT_QUASI "; any of LANGUAGE, RELIGION,\n"
           "                    MARITAL_STATUS, ETHNICITY, INSURANCE, EXPIRE_FLAG, GENDER, ICD9_CODE, CPT_CD\n"
           "  --no-plots        skip gnuplot\n"
           "  --utility         also train the paper's random forests (tools/utility.py, python3-sklearn):\n"
           "                    phenotype and mortality, FS / REAL / DA, 5 seeds; adds \"utility\" to\n"
           "                    report.json, a section to report.md, and DIR/utility.json, DIR/utility.md\n"
           "  --data-dir DIR    folder holding tools/utility.py and mappings/codes (default: as generate)\n"
           "See docs/evaluation.md.\n");
}

static int parse(int argc, char **argv, struct eval_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--real") ? &o->real : !strcmp(a, "--synthetic") ? &o->syn
                         : !strcmp(a, "--report") ? &o->report : !strcmp(a, "--quasi") ? &o->quasi
                         : !strcmp(a, "--data-dir") ? &o->data_dir : NULL;
        if (!strcmp(a, "--no-plots") || !strcmp(a, "--utility")) {
            *(a[2] == 'n' ? &o->no_plots : &o->utility) = 1;
            continue;
        }
        if (!dst) {
            msg_error("eval: unknown option '%s' (see '" CLI_NAME " eval --help')", a);
            return LLMSYN_E_USAGE;
        }
        if (i + 1 >= argc) {
            msg_error("eval: option '%s' needs a value", a);
            return LLMSYN_E_USAGE;
        }
        *dst = argv[++i];
    }
    if (!o->real || !o->syn || !o->report) {
        msg_error("eval: --real, --synthetic and --report are required (see '" CLI_NAME " eval --help')");
        return LLMSYN_E_USAGE;
    }
    return 0;
}

static int load(const struct eval_opts *o, struct eval_table *real, struct eval_table *syn, struct error *err)
{
    if (mimic_read(o->real, real, err) || synthetic_read(o->syn, syn, err))
        return err->code;
    if (!real->n)
        return error_set(err, LLMSYN_E_INPUT, "'%s': no admission", o->real);
    if (!syn->n)
        return error_set(err, LLMSYN_E_INPUT, "'%s': no synthetic record", o->syn);
    return 0;
}

/* The flat CSV utility.py reads: --synthetic itself when it is a file or a folder holding records.csv,
 * else the loaded table written as REPORT/records.csv. */
static int utility_csv(const struct eval_opts *o, const struct eval_table *syn, char *out, size_t n,
                       struct error *err)
{
    struct stat st;
    int len = 0;

    if (stat(o->syn, &st) == 0 && S_ISDIR(st.st_mode)) {
        len = snprintf(out, n, "%s/records.csv", o->syn);
        if (len > 0 && (size_t)len < n && access(out, R_OK) == 0)
            return 0;
    } else if (stat(o->syn, &st) == 0) {
        len = snprintf(out, n, "%s", o->syn);
        return len > 0 && (size_t)len < n ? 0 : error_set(err, LLMSYN_E_USAGE, "path '%s' is too long", o->syn);
    }
    len = snprintf(out, n, "%s/records.csv", o->report);
    if (len < 0 || (size_t)len >= n)
        return error_set(err, LLMSYN_E_USAGE, "report folder path '%s' is too long", o->report);
    return eval_write_records_csv(out, syn, err);
}

/* --utility: tools/utility.py on the synthetic records against --real, merged into the report. */
static int run_utility(const struct eval_opts *o, const struct eval_table *syn, const char *python,
                       struct error *err)
{
    char data[PATH_MAX], script[PATH_MAX], csv[PATH_MAX];
    int len = 0, rc = 0;

    if (find_data_dir(o->data_dir, data, sizeof data) != 0)
        return error_set(err, LLMSYN_E_USAGE, "data folder path is too long");
    len = snprintf(script, sizeof script, "%s/tools/utility.py", data);
    if (len < 0 || (size_t)len >= sizeof script || access(script, R_OK) != 0)
        return error_set(err, LLMSYN_E_INPUT, "no tools/utility.py in data folder '%s' (see --data-dir)", data);
    if ((rc = utility_csv(o, syn, csv, sizeof csv, err)) != 0 ||
        (rc = eval_utility_run(python, data, csv, o->real, o->report, err)) != 0)
        return rc;
    return eval_utility_merge(o->report, err);
}

static int run(const struct eval_opts *o, struct error *err)
{
    const char *python = NULL; /* borrowed static name */
    struct eval_table real = {NULL, 0, 0}, syn = {NULL, 0, 0};
    struct eval_report rep;
    struct eval_quasi q;
    size_t nplots = 0;
    int rc = 0;

    memset(&rep, 0, sizeof rep);
    if (o->utility && !(python = eval_utility_python(err))) /* checked first: fail before the long part */
        return err->code;
    if ((rc = eval_quasi_parse(o->quasi ? o->quasi : EVAL_DEFAULT_QUASI, &q, err)) != 0 ||
        (rc = load(o, &real, &syn, err)) != 0 || (rc = eval_compute(&real, &syn, &q, &rep, err)) != 0)
        goto out;
    rep.real_path = o->real;
    rep.syn_path = o->syn;
    if (mkdir(o->report, 0755) != 0 && errno != EEXIST) {
        rc = error_set(err, LLMSYN_E_OUTPUT, "cannot create report folder '%s': %s", o->report, strerror(errno));
        goto out;
    }
    if (!o->no_plots) {
        struct error perr = {LLMSYN_OK, ""};
        if (eval_plot(o->report, &real, &syn, &perr) == 0)
            nplots = EVAL_NPLOTS;
        else
            msg_warn("%s", perr.msg);
    }
    if ((rc = eval_write_json(o->report, &rep, eval_plot_names, nplots, err)) == 0)
        rc = eval_write_md(o->report, &rep, eval_plot_names, nplots, err);
    if (rc == 0 && o->utility)
        rc = run_utility(o, &syn, python, err);
out:
    eval_table_free(&real);
    eval_table_free(&syn);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    struct eval_opts o = {NULL, NULL, NULL, NULL, NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};
    int rc = 0;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage_eval();
        return 0;
    }
    if ((rc = parse(argc, argv, &o)) != 0)
        return rc;
    if ((rc = run(&o, &err)) != 0) {
        msg_error("%s", err.msg);
        return rc;
    }
    msg_info("report written to '%s/report.json' and '%s/report.md'", o.report, o.report);
    return 0;
}
