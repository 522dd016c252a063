/* codes.c - the codes subcommand: look codes up in the shipped dictionaries, or search them by description. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "codes/dict.h"

#define DEFAULT_LIMIT 10
#define MAX_LIMIT 1000
#define ALL_SYSTEMS (-1)

enum { OPT_SYSTEM = 256, OPT_LIMIT, OPT_DATA_DIR, OPT_CPT_DICT };

static const struct option long_options[] = {
    { "system", required_argument, NULL, OPT_SYSTEM },   { "limit", required_argument, NULL, OPT_LIMIT },
    { "data-dir", required_argument, NULL, OPT_DATA_DIR }, { "cpt-dict", required_argument, NULL, OPT_CPT_DICT },
    { "help", no_argument, NULL, 'h' },                  { NULL, 0, NULL, 0 },
};

struct codes_args {
    int system;            /* enum code_system, or ALL_SYSTEMS */
    unsigned long limit;
    const char *data_dir;  /* borrowed from argv; NULL: search */
    const char *cpt_dict;  /* borrowed from argv */
};

static void usage_codes(void)
{
    printf("usage: " CLI_NAME " codes lookup CODE... [--system S] [options]\n"
           "       " CLI_NAME " codes search TEXT [--system S] [--limit N] [options]\n"
           "Looks codes up in the shipped dictionaries (ICD-9-CM v32 diagnoses and procedures, HCPCS Level II\n"
           "2020, CPT section and CCS ranges) or ranks valid codes by similarity to TEXT.\n\n"
           "  lookup CODE...     prints system, normalised code, display, status (billable | header | retired),\n"
           "                     validation level (exact | structural), CCS category, phenotype and chapter or\n"
           "                     section of each code; without --system every system where it is known\n"
           "  search TEXT        valid codes ranked by description words (and a shared prefix when TEXT\n"
           "                     starts like a code); one line each: system, code, display\n"
           "      --system S     icd9-dx | icd9-px | cpt | hcpcs (search default: icd9-dx); cpt also\n"
           "                     covers HCPCS Level II\n"
           "      --limit N      search results, 1 to %d (default %d)\n"
           "      --data-dir DIR folder holding mappings/codes/ (default: as for generate)\n"
           "      --cpt-dict FILE licensed CPT file (CSV code,description): exact CPT validation and displays;\n"
           "                     without it CPT codes are checked structurally (form, section range, CCS)\n\n"
           "Exit status: 0 found, 2 usage, 3 bad dictionary file, 11 not found (a code of no system\n"
           "searched, or no search result).\n",
           MAX_LIMIT, DEFAULT_LIMIT);
}

static int parse_system(const char *s, int *out)
{
    int i;

    for (i = CODE_ICD9_DX; i <= CODE_HCPCS; i++)
        if (!strcmp(s, code_system_name((enum code_system)i))) {
            *out = i;
            return 0;
        }
    msg_error("--system: '%s' is not icd9-dx, icd9-px, cpt or hcpcs", s);
    return -1;
}

static int parse_limit(const char *s, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < 1 || v > MAX_LIMIT) {
        msg_error("--limit: '%s' is not a whole number from 1 to %d", s, MAX_LIMIT);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses the options after "codes lookup|search"; optind is left at the first operand.
 * Returns 0, 1 after --help, or -1 on a usage error (message printed). */
static int parse_args(int argc, char **argv, struct codes_args *a)
{
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (c == 'h') {
            usage_codes();
            return 1;
        }
        if (c == '?' || c == ':') {
            msg_error(c == '?' ? "unknown option '%s' (see '" CLI_NAME " codes --help')" : "option '%s' needs a value",
                      argv[optind - 1]);
            return -1;
        }
        if ((c == OPT_SYSTEM && parse_system(optarg, &a->system) < 0) ||
            (c == OPT_LIMIT && parse_limit(optarg, &a->limit) < 0))
            return -1;
        if (c == OPT_DATA_DIR)
            a->data_dir = optarg;
        if (c == OPT_CPT_DICT)
            a->cpt_dict = optarg;
    }
    return 0;
}

static int has_tables(const char *dir)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/mappings/codes/icd9_dx.tsv", dir);

    return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

/* --data-dir, $LLMSYN_DATA_DIR, the source tree around the binary, then the install prefix (as generate).
 * Returns 0, or -1 when the path is too long (message printed). */
static int find_mappings(const char *data_dir, char *out, size_t n)
{
    const char *env = getenv("LLMSYN_DATA_DIR");
    char exe[PATH_MAX], *slash;
    ssize_t len;

    if (!data_dir && env && *env)
        data_dir = env;
    if (!data_dir) {
        len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (len > 0) {
            exe[len] = '\0';
            slash = strrchr(exe, '/');
            if (slash && (size_t)(slash - exe) + sizeof "/.." <= sizeof exe) {
                memcpy(slash, "/..", sizeof "/..");
                data_dir = has_tables(exe) ? exe : NULL;
            }
        }
    }
    len = snprintf(out, n, "%s/mappings", data_dir ? data_dir : LLMSYN_DATADIR);
    if (len < 0 || (size_t)len >= n) {
        msg_error("--data-dir: path is too long");
        return -1;
    }
    return 0;
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *status_word(const struct code_info *c)
{
    if (c->status == CODE_VALID)
        return c->level == CODE_LEVEL_STRUCTURAL ? "valid (structural check; CPT descriptors are not shipped)"
                                                  : "billable";
    if (c->status == CODE_HEADER)
        return "header (a category, not billable: use a code below it)";
    if (c->status == CODE_RETIRED)
        return c->system == CODE_HCPCS || c->system == CODE_CPT ? "retired (deleted or terminated code)"
                                                                 : "retired (not in ICD-9-CM v32)";
    return code_status_name(c->status);
}

static void print_info(const struct code_info *c, int first)
{
    int icd = c->system == CODE_ICD9_DX || c->system == CODE_ICD9_PX;

    printf("%ssystem:     %s\n", first ? "" : "\n", code_system_name(c->system));
    printf("code:       %s\n", c->code);
    printf("display:    %s\n", or_dash(c->display));
    printf("status:     %s\n", status_word(c));
    printf("validation: %s\n", c->level == CODE_LEVEL_STRUCTURAL ? "structural" : "exact");
    printf("ccs:        %s\n", or_dash(c->ccs));
    printf("phenotype:  %s\n", or_dash(c->phenotype));
    printf("%s    %s\n", icd ? "chapter:" : "section:", or_dash(c->section));
}

/* Looks one code up in one system or in all. Returns how many systems know it. */
static int lookup_one(const struct dict *d, int system, const char *raw, int *printed)
{
    struct code_info c;
    int s, found = 0;

    for (s = CODE_ICD9_DX; s <= CODE_HCPCS; s++) {
        if (system != ALL_SYSTEMS ? s != system : s == CODE_HCPCS) /* cpt already covers HCPCS */
            continue;
        if (dict_lookup(d, (enum code_system)s, raw, &c) == CODE_INVALID)
            continue;
        print_info(&c, *printed == 0);
        (*printed)++;
        found++;
    }
    return found;
}

static int run_lookup(const struct dict *d, const struct codes_args *a, int n, char **codes)
{
    int i, printed = 0, missing = 0;

    for (i = 0; i < n; i++) {
        if (lookup_one(d, a->system, codes[i], &printed))
            continue;
        missing++;
        if (a->system == ALL_SYSTEMS)
            msg_error("'%s' is not a known icd9-dx, icd9-px, cpt or hcpcs code", codes[i]);
        else
            msg_error("'%s' is not a known %s code", codes[i], code_system_name((enum code_system)a->system));
    }
    return missing ? LLMSYN_E_NOT_FOUND : 0;
}

static int run_search(const struct dict *d, const struct codes_args *a, const char *text)
{
    enum code_system sys = a->system == ALL_SYSTEMS ? CODE_ICD9_DX : (enum code_system)a->system;
    struct code_info *res = calloc(a->limit, sizeof *res);
    size_t n, i;

    if (!res) {
        msg_error("out of memory");
        return LLMSYN_E_NOMEM;
    }
    n = dict_search(d, sys, text, res, a->limit);
    for (i = 0; i < n; i++)
        printf("%s\t%s\t%s\n", code_system_name(res[i].system), res[i].code, or_dash(res[i].display));
    free(res);
    if (n == 0) {
        msg_error("no %s code matches '%s'", code_system_name(sys), text);
        return LLMSYN_E_NOT_FOUND;
    }
    return 0;
}

static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        msg_error("cannot write the output: %s", strerror(errno));
        return LLMSYN_E_OUTPUT;
    }
    return rc;
}

int cmd_codes(int argc, char **argv)
{
    struct codes_args a = { ALL_SYSTEMS, DEFAULT_LIMIT, NULL, NULL };
    struct error err = { LLMSYN_OK, "" };
    char mappings[PATH_MAX];
    struct dict *d = NULL;
    int rc, lookup;

    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage_codes();
        return argc < 2 ? LLMSYN_E_USAGE : 0;
    }
    lookup = !strcmp(argv[1], "lookup");
    if (!lookup && strcmp(argv[1], "search") != 0) {
        msg_error("unknown codes command '%s': lookup or search (see '" CLI_NAME " codes --help')", argv[1]);
        return LLMSYN_E_USAGE;
    }
    rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != 0)
        return rc > 0 ? 0 : LLMSYN_E_USAGE;
    argc -= optind + 1;
    argv += optind + 1;
    if (argc < 1 || (!lookup && argc != 1)) {
        msg_error(lookup ? "codes lookup needs at least one CODE" : "codes search needs one TEXT (quote it)");
        return LLMSYN_E_USAGE;
    }
    if (find_mappings(a.data_dir, mappings, sizeof mappings) < 0)
        return LLMSYN_E_USAGE;
    d = dict_load(mappings, a.cpt_dict, &err);
    if (!d) {
        msg_error("%s", err.msg);
        return err.code ? (int)err.code : LLMSYN_E_INPUT;
    }
    rc = lookup ? run_lookup(d, &a, argc, argv) : run_search(d, &a, argv[0]);
    dict_free(&d);
    return finish_output(rc);
}
