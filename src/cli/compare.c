/* compare.c - `llmsyn-fhir compare`: Synthea, llmsyn-fhir and real data side by side per service category. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "eval/compare.h"
#include "eval/mimic.h"
#include "eval/synthea.h"
#include "eval/synthetic.h"

enum { OPT_SYNTHEA = 256, OPT_OURS, OPT_REAL, OPT_REPORT, OPT_DATA_DIR, OPT_CPT_MAP, OPT_SNOMED_MAP, OPT_NO_PLOT };

static const struct option long_options[] = {
    {"synthea", required_argument, NULL, OPT_SYNTHEA},   {"ours", required_argument, NULL, OPT_OURS},
    {"real", required_argument, NULL, OPT_REAL},         {"report", required_argument, NULL, OPT_REPORT},
    {"data-dir", required_argument, NULL, OPT_DATA_DIR}, {"cpt-map", required_argument, NULL, OPT_CPT_MAP},
    {"snomed-map", required_argument, NULL, OPT_SNOMED_MAP}, {"no-plot", no_argument, NULL, OPT_NO_PLOT},
    {"help", no_argument, NULL, 'h'},                    {NULL, 0, NULL, 0},
};

struct compare_args {
    const char *synthea, *ours, *real, *report; /* borrowed from argv */
    const char *data_dir, *cpt_map, *snomed_map;
    int no_plot;
};

static void usage_compare(void)
{
    printf("usage: " CLI_NAME " compare --synthea DIR --ours PATH [--real DIR] --report DIR [options]\n"
           "  Procedures of pneumonia, sepsis and coronary artery disease per medical-service category\n"
           "  (the LLMSYN paper's table 6 and figure 3): Synthea vs llmsyn-fhir vs real data.\n"
           "      --synthea DIR      Synthea output: a CSV folder (conditions.csv, procedures.csv), a folder of\n"
           "                         FHIR bundles, one bundle file, or a folder with csv/ or fhir/ inside\n"
           "      --ours PATH        llmsyn-fhir output: bundles, NDJSON, records.csv or synthea-csv folder\n"
           "      --real DIR         MIMIC-III-format folder (ADMISSIONS, DIAGNOSES_ICD, CPTEVENTS)\n"
           "      --report DIR       writes report.json, report.md, compare.dat, compare.gp, compare.png\n"
           "      --data-dir DIR     folder holding mappings/ (default: as for generate)\n"
           "      --cpt-map FILE     CPT range table (default mappings/service_categories_cpt.tsv)\n"
           "      --snomed-map FILE  SNOMED CT table (default mappings/service_categories_snomed.tsv)\n"
           "      --no-plot          do not run gnuplot (compare.gp is still written)\n"
           "  See docs/compare.md.\n");
}

/* Returns 0, 1 after --help, or -1 on a usage error (message printed). */
static int parse_args(int argc, char **argv, struct compare_args *a)
{
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case 'h': usage_compare(); return 1;
        case OPT_SYNTHEA: a->synthea = optarg; break;
        case OPT_OURS: a->ours = optarg; break;
        case OPT_REAL: a->real = optarg; break;
        case OPT_REPORT: a->report = optarg; break;
        case OPT_DATA_DIR: a->data_dir = optarg; break;
        case OPT_CPT_MAP: a->cpt_map = optarg; break;
        case OPT_SNOMED_MAP: a->snomed_map = optarg; break;
        case OPT_NO_PLOT: a->no_plot = 1; break;
        default:
            msg_error(c == '?' ? "unknown option '%s' (see '" CLI_NAME " compare --help')" : "option '%s' needs a value",
                      argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc || !a->synthea || !a->ours || !a->report) {
        msg_error(optind < argc ? "unexpected argument '%s'" : "compare needs --synthea, --ours and --report%s",
                  optind < argc ? argv[optind] : "");
        return -1;
    }
    return 0;
}

static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Fills path with the default table `name`: --data-dir, $LLMSYN_DATA_DIR, the tree around the binary, then
 * the install prefix. Returns 0, or -1 when the path is too long. */
static int default_map(const char *data_dir, const char *name, char *path, size_t n)
{
    const char *env = getenv("LLMSYN_DATA_DIR");
    char exe[PATH_MAX], *slash;
    ssize_t len;
    int k;

    if (!data_dir && env && *env)
        data_dir = env;
    if (!data_dir) {
        len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = '\0';
            slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0';
            k = snprintf(path, n, "%s/../mappings/%s", exe, name);
            if (k > 0 && (size_t)k < n && readable(path))
                return 0;
        }
    }
    k = snprintf(path, n, "%s/mappings/%s", data_dir ? data_dir : LLMSYN_DATADIR, name);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

/* A folder of llmsyn-fhir's --format synthea-csv output (and not the flat records.csv). */
static int is_our_synthea_csv(const char *path)
{
    char p[PATH_MAX];
    int n1 = snprintf(p, sizeof p, "%s/records.csv", path);

    if (n1 < 0 || (size_t)n1 >= sizeof p || readable(p))
        return 0;
    n1 = snprintf(p, sizeof p, "%s/conditions.csv", path);
    return n1 > 0 && (size_t)n1 < sizeof p && readable(p);
}

static int read_sources(const struct compare_args *a, const struct services *svc, struct compare_result *r,
                        struct compare_meta *m, struct error *err)
{
    struct eval_table t = {0};
    enum synthea_kind kind = SYNTHEA_CSV;
    int ours_syn = is_our_synthea_csv(a->ours);
    int rc = synthea_read(a->synthea, &t, &kind, err);

    m->path[CMP_SYNTHEA] = a->synthea;
    m->format[CMP_SYNTHEA] = kind == SYNTHEA_CSV ? "synthea-csv" : "synthea-fhir";
    if (rc == LLMSYN_OK)
        compare_count(r, CMP_SYNTHEA, &t, 1, svc);
    eval_table_free(&t);
    m->path[CMP_OURS] = a->ours;
    m->format[CMP_OURS] = ours_syn ? "llmsyn-fhir synthea-csv" : "llmsyn-fhir";
    if (rc == LLMSYN_OK)
        rc = ours_syn ? synthea_read_csv(a->ours, &t, err) : synthetic_read(a->ours, &t, err);
    if (rc == LLMSYN_OK)
        compare_count(r, CMP_OURS, &t, 0, svc);
    eval_table_free(&t);
    if (rc == LLMSYN_OK && a->real) {
        m->path[CMP_REAL] = a->real;
        m->format[CMP_REAL] = "mimic-iii";
        rc = mimic_read(a->real, &t, err);
        if (rc == LLMSYN_OK)
            compare_count(r, CMP_REAL, &t, 0, svc);
        eval_table_free(&t);
    }
    return rc;
}

/* Runs `gnuplot compare.gp` inside dir. Returns 0, or -1 (message printed). */
static int run_gnuplot(const char *dir)
{
    pid_t pid = fork();
    int status = 0;

    if (pid < 0) {
        msg_error("cannot start gnuplot: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (chdir(dir) == 0)
            execlp("gnuplot", "gnuplot", COMPARE_PLOT_SCRIPT, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        msg_error("gnuplot failed on '%s/" COMPARE_PLOT_SCRIPT "'%s", dir,
                  WIFEXITED(status) && WEXITSTATUS(status) == 127
                      ? " (is gnuplot installed? tools/install-deps.sh; or pass --no-plot)" : "");
        return -1;
    }
    return 0;
}

static int load_maps(const struct compare_args *a, struct services **svc, struct error *err)
{
    char cpt[PATH_MAX], snomed[PATH_MAX];

    if ((!a->cpt_map && default_map(a->data_dir, "service_categories_cpt.tsv", cpt, sizeof cpt) < 0) ||
        (!a->snomed_map && default_map(a->data_dir, "service_categories_snomed.tsv", snomed, sizeof snomed) < 0))
        return error_set(err, LLMSYN_E_USAGE, "--data-dir: path is too long");
    *svc = services_load(a->cpt_map ? a->cpt_map : cpt, a->snomed_map ? a->snomed_map : snomed, err);
    return *svc ? LLMSYN_OK : err->code;
}

int cmd_compare(int argc, char **argv)
{
    struct compare_args a = {0};
    struct compare_result r;
    struct compare_meta m;
    struct services *svc = NULL; /* owned */
    struct error err = {0};
    int rc = parse_args(argc, argv, &a);

    if (rc != 0)
        return rc > 0 ? 0 : LLMSYN_E_USAGE;
    memset(&r, 0, sizeof r);
    memset(&m, 0, sizeof m);
    rc = load_maps(&a, &svc, &err);
    if (rc == LLMSYN_OK)
        rc = read_sources(&a, svc, &r, &m, &err);
    if (rc == LLMSYN_OK && mkdir(a.report, 0755) != 0 && errno != EEXIST)
        rc = error_set(&err, LLMSYN_E_OUTPUT, "cannot create report folder '%s': %s", a.report, strerror(errno));
    if (rc == LLMSYN_OK)
        rc = compare_write_report(&r, &m, a.report, &err);
    services_free(&svc);
    if (rc != LLMSYN_OK) {
        msg_error("%s", err.msg);
        return rc;
    }
    if (!a.no_plot && run_gnuplot(a.report) < 0)
        return LLMSYN_E_OUTPUT;
    msg_info("wrote %s/report.md, report.json%s", a.report, a.no_plot ? "" : " and " COMPARE_PLOT_PNG);
    return 0;
}
