/* prior.c - the prior subcommand: `prior extract` aggregates MIMIC-III-format CSVs into a prior file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "eval/mimic.h"
#include "eval/prior_extract.h"

static void usage_prior(void)
{
    printf("usage: " CLI_NAME " prior extract --mimic DIR --out FILE [--min-cell N]\n"
           "Writes a prior (docs/prior-format.md) of aggregates only: main-diagnosis counts with per-diagnosis\n"
           "mortality, demographic marginals, age bins, overall mortality. Every count below N (default %d)\n"
           "is left out or pooled into OTHER; the number of suppressed cells is reported. See docs/evaluation.md.\n",
           PRIOR_EXTRACT_DEFAULT_MIN_CELL);
}

static int parse_min_cell(const char *s, long *out)
{
    char *end = NULL;
    long v = 0;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000) {
        msg_error("prior extract: --min-cell '%s' must be an integer in [1, 1000000]", s);
        return LLMSYN_E_USAGE;
    }
    *out = v;
    return 0;
}

static int write_out(const char *path, const char *text, struct error *err)
{
    char tmp[4200];
    FILE *fp = NULL;
    int bad = 0;

    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "w")))
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno));
    bad = fputs(text, fp) < 0 || fputc('\n', fp) == EOF;
    bad |= ferror(fp) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

static int extract(const char *mimic, const char *out, long min_cell)
{
    struct eval_table t = {NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};
    struct prior_extract_stats st;
    char source[512];
    char *text = NULL;
    int rc = 0;

    snprintf(source, sizeof source, "llmsyn-fhir prior extract from MIMIC-III-format data; cells below %ld suppressed",
             min_cell);
    if ((rc = mimic_read(mimic, &t, &err)) == 0 && !(text = prior_extract_json(&t, min_cell, source, &st, &err)))
        rc = err.code;
    if (!rc)
        rc = write_out(out, text, &err);
    if (rc)
        msg_error("%s", err.msg);
    else
        msg_info("wrote '%s': %zu admissions, %zu main diagnoses, %zu cells below %ld suppressed", out,
                 st.admissions, st.diagnoses, st.suppressed_cells, min_cell);
    free(text);
    eval_table_free(&t);
    return rc;
}

int cmd_prior(int argc, char **argv)
{
    const char *mimic = NULL, *out = NULL;
    long min_cell = PRIOR_EXTRACT_DEFAULT_MIN_CELL;

    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage_prior();
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "extract")) {
        msg_error("prior: expected 'extract' (see '" CLI_NAME " prior --help')");
        return LLMSYN_E_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc || (strcmp(argv[i], "--mimic") && strcmp(argv[i], "--out") && strcmp(argv[i], "--min-cell"))) {
            msg_error("prior extract: unknown option or missing value '%s'", argv[i]);
            return LLMSYN_E_USAGE;
        }
        if (!strcmp(argv[i], "--min-cell") && parse_min_cell(argv[i + 1], &min_cell))
            return LLMSYN_E_USAGE;
        if (!strcmp(argv[i], "--mimic"))
            mimic = argv[i + 1];
        if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        i++;
    }
    if (!mimic || !out) {
        msg_error("prior extract: --mimic and --out are required");
        return LLMSYN_E_USAGE;
    }
    return extract(mimic, out, min_cell);
}
