/* test_codes.c - unit tests of the code dictionaries (src/codes/): normaliser, loader, lookups, search. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codes/dict.h"
#include "extract/extract.h"

#define PATH_LEN 4096
#define MIN_HOSTILE_CASES 25
#define LINE_MAX_LEN 8192

static const char *const TABLES[] = { "ccs.tsv", "ccs_services.tsv", "cpt_sections.tsv", "hcpcs.tsv",
                                      "icd9_chapters.tsv", "icd9_dx.tsv", "icd9_px.tsv" };

static const char *repo_root(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

static void path_of(char *out, const char *a, const char *b)
{
    if (snprintf(out, PATH_LEN, "%s/%s", a, b) >= PATH_LEN)
        fail_msg("path too long: %s/%s", a, b);
}

/* The shared data folder (the MIMIC demo, CMS files): $LLMSYN_SHARED_DATA or ../shared/data. */
static void shared_path(char *out, const char *rel)
{
    const char *s = getenv("LLMSYN_SHARED_DATA");
    char base[PATH_LEN];

    if (s && *s)
        snprintf(base, sizeof base, "%s", s);
    else
        path_of(base, repo_root(), "../shared/data");
    path_of(out, base, rel);
}

static struct dict *load_shipped(const char *cpt)
{
    char dir[PATH_LEN];
    struct error err;
    struct dict *d;

    error_clear(&err);
    path_of(dir, repo_root(), "mappings");
    d = dict_load(dir, cpt, &err);
    if (!d)
        fail_msg("dict_load: %s", err.msg);
    assert_int_equal(err.code, LLMSYN_OK);
    return d;
}

/* ---- normalisation ---- */

struct norm_case {
    enum code_system sys;
    const char *in;
    const char *expect; /* NULL: refused */
};

static const struct norm_case norm_cases[] = {
    { CODE_ICD9_DX, "58381", "583.81" },
    { CODE_ICD9_DX, "583.81", "583.81" },
    { CODE_ICD9_DX, "583.81 (Glomerulonephritis)", "583.81" },
    { CODE_ICD9_DX, "V58.61", "V58.61" },
    { CODE_ICD9_DX, "v5861", "V58.61" },
    { CODE_ICD9_DX, "V58", "V58" },
    { CODE_ICD9_DX, "E878.8", "E878.8" },
    { CODE_ICD9_DX, "e8788", "E878.8" },
    { CODE_ICD9_DX, "E878", "E878" },
    { CODE_ICD9_DX, "038.9", "038.9" },
    { CODE_ICD9_DX, "0389", "038.9" },
    { CODE_ICD9_DX, "38.9", "038.9" },
    { CODE_ICD9_DX, "042", "042" },
    { CODE_ICD9_DX, "  428.0", "428.0" },
    { CODE_ICD9_DX, "\t428.0 ", "428.0" },
    { CODE_ICD9_DX, "428.0.", "428.0" },
    { CODE_ICD9_DX, "428", "428" },
    { CODE_ICD9_DX, "250.00", "250.00" },
    { CODE_ICD9_DX, "", NULL },
    { CODE_ICD9_DX, ".", NULL },
    { CODE_ICD9_DX, " ", NULL },
    { CODE_ICD9_DX, "9999999", NULL },
    { CODE_ICD9_DX, "E87", NULL },
    { CODE_ICD9_DX, "E878.81", NULL },
    { CODE_ICD9_DX, "V5", NULL },
    { CODE_ICD9_DX, "V5.8", NULL },
    { CODE_ICD9_DX, "\xEF\xBC\x94\xEF\xBC\x92\xEF\xBC\x98", NULL },         /* fullwidth 428 */
    { CODE_ICD9_DX, "\xD9\xA4\xD9\xA2\xD9\xA8", NULL },                     /* Arabic-Indic 428 */
    { CODE_ICD9_DX, "428\xEF\xBC\x90", NULL },                              /* 428 + fullwidth 0 */
    { CODE_ICD9_DX, "428.0.1", NULL },
    { CODE_ICD9_DX, "42", NULL },
    { CODE_ICD9_DX, "428x", NULL },
    { CODE_ICD9_DX, "-428.0", NULL },
    { CODE_ICD9_DX, "4 28.0", NULL },
    { CODE_ICD9_DX, "heart failure", NULL },
    { CODE_ICD9_PX, "9671", "96.71" },
    { CODE_ICD9_PX, "96.71", "96.71" },
    { CODE_ICD9_PX, "967", "96.7" },
    { CODE_ICD9_PX, "96", "96" },
    { CODE_ICD9_PX, "0066", "00.66" },
    { CODE_ICD9_PX, "3.91", "03.91" },
    { CODE_ICD9_PX, "  3605 ", "36.05" },
    { CODE_ICD9_PX, "9", NULL },
    { CODE_ICD9_PX, "96711", NULL },
    { CODE_ICD9_PX, "967.1", NULL },
    { CODE_ICD9_PX, "V58", NULL },
    { CODE_CPT, "99223", "99223" },
    { CODE_CPT, " 99223-25", "99223" },
    { CODE_CPT, "0001f", "0001F" },
    { CODE_CPT, "j1815", "J1815" },
    { CODE_CPT, "9922", NULL },
    { CODE_CPT, "992231", NULL },
    { CODE_CPT, "1234A", NULL },
    { CODE_CPT, "\xEF\xBC\x99\xEF\xBC\x99\xEF\xBC\x92\xEF\xBC\x92\xEF\xBC\x93", NULL }, /* fullwidth 99223 */
    { CODE_HCPCS, "J1815", "J1815" },
    { CODE_HCPCS, "g0378 ", "G0378" },
    { CODE_HCPCS, "99223", NULL },
    { CODE_HCPCS, "0001F", NULL },
};

static void test_normalise_table(void **state)
{
    size_t i, n = sizeof norm_cases / sizeof norm_cases[0];
    char out[16];
    int rc;

    (void)state;
    assert_true(n >= 40);
    for (i = 0; i < n; i++) {
        const struct norm_case *c = &norm_cases[i];

        memset(out, 'x', sizeof out);
        rc = code_normalise(c->sys, c->in, out, sizeof out);
        if (rc != (c->expect ? 0 : -1) || strcmp(out, c->expect ? c->expect : ""))
            fail_msg("case %zu %s '%s': rc %d out '%.15s'", i, code_system_name(c->sys), c->in, rc, out);
        /* the normal form is a fixed point */
        if (c->expect) {
            char again[16];

            assert_int_equal(code_normalise(c->sys, out, again, sizeof again), 0);
            assert_string_equal(again, out);
        }
    }
}

static void test_normalise_shared_with_extractor(void **state)
{
    size_t i;
    char a[16], b[16];

    (void)state;
    for (i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
        const struct norm_case *c = &norm_cases[i];

        if (c->sys != CODE_ICD9_DX && c->sys != CODE_CPT)
            continue;
        assert_int_equal(c->sys == CODE_CPT ? extract_cpt(c->in, a, sizeof a) : extract_icd9_dx(c->in, a, sizeof a),
                         code_normalise(c->sys, c->in, b, sizeof b));
        assert_string_equal(a, b);
    }
}

static void test_normalise_hostile(void **state)
{
    char out[16], small[4];
    char *longs = malloc(100001);
    int s;

    (void)state;
    assert_non_null(longs);
    memset(longs, '9', 100000);
    longs[100000] = '\0';
    for (s = CODE_ICD9_DX; s <= CODE_HCPCS; s++)
        assert_int_equal(code_normalise((enum code_system)s, longs, out, sizeof out), -1);
    assert_int_equal(code_normalise(CODE_ICD9_DX, "583.81", small, sizeof small), -1);
    assert_string_equal(small, "");
    assert_int_equal(code_normalise(CODE_ICD9_DX, "428", small, sizeof small), 0);
    assert_int_equal(code_normalise(CODE_ICD9_DX, NULL, out, sizeof out), -1);
    assert_int_equal(code_normalise(CODE_ICD9_DX, "428", NULL, 8), -1);
    assert_int_equal(code_normalise(CODE_ICD9_DX, "428", out, 0), -1);
    assert_int_equal(code_normalise((enum code_system)42, "428", out, sizeof out), -1);
    free(longs);
}

/* ---- lookups ---- */

struct lookup_case {
    enum code_system sys;
    const char *in;
    enum code_status status;
    enum code_system out_sys;
    enum code_level level;
    const char *code;
    const char *display;   /* exact; NULL: must be NULL */
    const char *ccs;       /* exact; NULL: must be NULL */
    const char *phenotype; /* exact; NULL: must be NULL */
    const char *section;   /* prefix; NULL: must be NULL */
};

static const struct lookup_case lookup_cases[] = {
    { CODE_ICD9_DX, "410.71", CODE_VALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "410.71",
      "Subendocardial infarction, initial episode of care", "100: Acute myocardial infarction",
      "Acute myocardial infarction", "Diseases of the Circulatory System" },
    { CODE_ICD9_DX, "51881", CODE_VALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "518.81", "Acute respiratory failure",
      "131: Respiratory failure; insufficiency; arrest (adult)", "Respiratory failure; insufficiency; arrest (adult)",
      "Diseases of the Respiratory System" },
    { CODE_ICD9_DX, "578.9", CODE_VALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "578.9",
      "Hemorrhage of gastrointestinal tract, unspecified", "153: Gastrointestinal hemorrhage",
      "Gastrointestinal hemorrhage", "Diseases of the Digestive System" },
    { CODE_ICD9_DX, "v5861", CODE_VALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "V58.61",
      "Long-term (current) use of anticoagulants", "257: Other aftercare", NULL, "Supplementary Classification" },
    { CODE_ICD9_DX, "0413", CODE_VALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "041.3",
      "Friedl\xC3\xA4nder's bacillus infection in conditions classified elsewhere and of unspecified site",
      "3: Bacterial infection; unspecified site", NULL, "Infectious and Parasitic Diseases" },
    { CODE_ICD9_DX, "428", CODE_HEADER, CODE_ICD9_DX, CODE_LEVEL_EXACT, "428", NULL, NULL, NULL,
      "Diseases of the Circulatory System" },
    { CODE_ICD9_DX, "428.2", CODE_HEADER, CODE_ICD9_DX, CODE_LEVEL_EXACT, "428.2", NULL, NULL, NULL, "Diseases" },
    { CODE_ICD9_DX, "E878", CODE_HEADER, CODE_ICD9_DX, CODE_LEVEL_EXACT, "E878", NULL, NULL, NULL,
      "Supplementary Classification of External Causes" },
    { CODE_ICD9_DX, "585", CODE_RETIRED, CODE_ICD9_DX, CODE_LEVEL_EXACT, "585", "CHRONIC RENAL FAILURE (End 2005)",
      "158: Chronic kidney disease", "Chronic kidney disease", "Diseases of the Genitourinary System" },
    { CODE_ICD9_DX, "999.99", CODE_INVALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "999.99", NULL, NULL, NULL, NULL },
    { CODE_ICD9_DX, "E87", CODE_INVALID, CODE_ICD9_DX, CODE_LEVEL_EXACT, "", NULL, NULL, NULL, NULL },
    { CODE_ICD9_PX, "9671", CODE_VALID, CODE_ICD9_PX, CODE_LEVEL_EXACT, "96.71",
      "Continuous invasive mechanical ventilation for less than 96 consecutive hours",
      "216: Respiratory intubation and mechanical ventilation", NULL, NULL },
    { CODE_ICD9_PX, "36.05", CODE_RETIRED, CODE_ICD9_PX, CODE_LEVEL_EXACT, "36.05",
      "PTCA-MULTIPLE VESSEL (Begin 1986 End 2005)", "45: Percutaneous transluminal coronary angioplasty (PTCA)", NULL,
      NULL },
    { CODE_ICD9_PX, "36", CODE_HEADER, CODE_ICD9_PX, CODE_LEVEL_EXACT, "36", NULL, NULL, NULL, NULL },
    { CODE_CPT, "99223", CODE_VALID, CODE_CPT, CODE_LEVEL_STRUCTURAL, "99223", NULL,
      "227: Other diagnostic procedures (interview, evaluation, consultation)", NULL,
      "Evaluation and management: Hospital inpatient services" },
    { CODE_CPT, "99261", CODE_RETIRED, CODE_CPT, CODE_LEVEL_STRUCTURAL, "99261", NULL,
      "227: Other diagnostic procedures (interview, evaluation, consultation)", NULL,
      "Evaluation and management: Follow-up inpatient consultations (deleted codes)" },
    { CODE_CPT, "0503U", CODE_INVALID, CODE_CPT, CODE_LEVEL_STRUCTURAL, "0503U", NULL, NULL, NULL, NULL },
    { CODE_CPT, "j1815", CODE_VALID, CODE_HCPCS, CODE_LEVEL_EXACT, "J1815", "Injection, insulin, per 5 units",
      "240: Medications (Injections, infusions and other forms)", NULL, NULL },
    { CODE_HCPCS, "99223", CODE_INVALID, CODE_HCPCS, CODE_LEVEL_EXACT, "", NULL, NULL, NULL, NULL },
    { CODE_HCPCS, "Z9999", CODE_INVALID, CODE_HCPCS, CODE_LEVEL_EXACT, "Z9999", NULL, NULL, NULL, NULL },
};

static void check_str(size_t i, const char *what, const char *got, const char *want, int prefix)
{
    if (!want && !got)
        return;
    if (!want || !got || (prefix ? strncmp(got, want, strlen(want)) : strcmp(got, want)))
        fail_msg("case %zu %s: got '%s', want '%s'", i, what, got ? got : "(null)", want ? want : "(null)");
}

static void test_lookup_known(void **state)
{
    struct dict *d = load_shipped(NULL);
    struct code_info c;
    size_t i;

    (void)state;
    assert_int_equal(dict_cpt_exact(d), 0);
    for (i = 0; i < sizeof lookup_cases / sizeof lookup_cases[0]; i++) {
        const struct lookup_case *k = &lookup_cases[i];
        enum code_status st = dict_lookup(d, k->sys, k->in, &c);

        if (st != k->status || c.status != st)
            fail_msg("case %zu '%s': status %s, want %s", i, k->in, code_status_name(st), code_status_name(k->status));
        assert_int_equal(c.system, k->out_sys);
        assert_int_equal(c.level, k->level);
        check_str(i, "code", c.code, k->code, 0);
        check_str(i, "display", c.display, k->display, 0);
        check_str(i, "ccs", c.ccs, k->ccs, 0);
        check_str(i, "phenotype", c.phenotype, k->phenotype, 0);
        check_str(i, "section", c.section, k->section, 1);
    }
    dict_free(&d);
    assert_null(d);
    dict_free(&d);
    dict_free(NULL);
}

static void test_lookup_hostile(void **state)
{
    struct dict *d = load_shipped(NULL);
    struct code_info c;
    char *longs = malloc(1 << 20);
    int b, s;
    char one[2] = { 0, 0 };

    (void)state;
    assert_non_null(longs);
    memset(longs, '4', (1 << 20) - 1);
    longs[(1 << 20) - 1] = '\0';
    for (s = CODE_ICD9_DX; s <= CODE_HCPCS; s++) {
        assert_int_equal(dict_lookup(d, (enum code_system)s, longs, &c), CODE_INVALID);
        assert_int_equal(dict_lookup(d, (enum code_system)s, NULL, &c), CODE_INVALID);
        assert_string_equal(c.code, "");
        for (b = 1; b < 256; b++) {
            one[0] = (char)b;
            assert_int_equal(dict_lookup(d, (enum code_system)s, one, &c), CODE_INVALID);
        }
    }
    assert_int_equal(dict_lookup(NULL, CODE_ICD9_DX, "428.0", &c), CODE_INVALID);
    assert_int_equal(dict_lookup(d, CODE_ICD9_DX, "428.0", NULL), CODE_INVALID);
    assert_int_equal(dict_lookup(d, (enum code_system)7, "428.0", &c), CODE_INVALID);
    assert_null(c.display);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, NULL, &c, 1), 0);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, "heart", NULL, 1), 0);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, "heart", &c, 0), 0);
    assert_int_equal(dict_search(NULL, CODE_ICD9_DX, "heart", &c, 1), 0);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, longs, &c, 1), 0);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, "", &c, 1), 0);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, " of the and ", &c, 1), 0);
    free(longs);
    dict_free(&d);
}

/* ---- hostile dictionary files ---- */

static void make_tmpdir(char *out)
{
    const char *t = getenv("TMPDIR");

    snprintf(out, PATH_LEN, "%s/test_codes.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(out))
        fail_msg("mkdtemp failed");
}

static void remove_dir(const char *dir)
{
    char path[PATH_LEN];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            path_of(path, dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

static void copy_file(const char *from, const char *to)
{
    char buf[4096];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    size_t n;

    if (!in || !out)
        fail_msg("cannot copy %s to %s", from, to);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void read_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");

    if (!f || !fgets(out, (int)cap, f))
        fail_msg("cannot read %s", path);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* Links to the shipped tables in tmp, the case's table copied over them; a case's cpt.csv is the --cpt-dict. */
static const char *setup_case(const char *casedir, const char *tmp, char *cpt)
{
    char path[PATH_LEN], from[PATH_LEN], shipped[PATH_LEN], *abs = NULL;
    const char *file = NULL;
    size_t i;

    path_of(path, repo_root(), "mappings/codes");
    abs = realpath(path, NULL);
    if (!abs)
        fail_msg("no %s", path);
    for (i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        path_of(from, casedir, TABLES[i]);
        path_of(path, tmp, TABLES[i]);
        path_of(shipped, abs, TABLES[i]);
        if (access(from, R_OK) == 0) {
            copy_file(from, path);
            file = TABLES[i];
        } else if (symlink(shipped, path) != 0) {
            fail_msg("cannot link %s", path);
        }
    }
    free(abs);
    path_of(cpt, casedir, "cpt.csv");
    if (access(cpt, R_OK) == 0)
        return "cpt.csv";
    cpt[0] = '\0';
    return file;
}

static void check_case(const char *casedir, const char *name)
{
    char tmp[PATH_LEN], path[PATH_LEN], expect[512], cpt[PATH_LEN];
    const char *file;
    struct error err;
    struct dict *d;

    make_tmpdir(tmp);
    file = setup_case(casedir, tmp, cpt);
    if (!file)
        fail_msg("case %s holds no table", name);
    path_of(path, casedir, "expect");
    read_line(path, expect, sizeof expect);
    error_clear(&err);
    d = dict_load(tmp, cpt[0] ? cpt : NULL, &err);
    remove_dir(tmp);
    if (d || err.code != LLMSYN_E_INPUT || !strstr(err.msg, expect) || !strstr(err.msg, file))
        fail_msg("case %s: status %d, message '%s'; want LLMSYN_E_INPUT and '%s'", name, (int)err.code, err.msg,
                 expect);
}

static void test_hostile_files(void **state)
{
    char dir[PATH_LEN], casedir[PATH_LEN];
    struct dirent *e;
    struct stat st;
    size_t n = 0;
    DIR *d;

    (void)state;
    path_of(dir, repo_root(), "tests/data/codes");
    d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    while ((e = readdir(d))) {
        path_of(casedir, dir, e->d_name);
        if (e->d_name[0] == '.' || stat(casedir, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        check_case(casedir, e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= MIN_HOSTILE_CASES);
}

static void test_missing_tables(void **state)
{
    char tmp[PATH_LEN], path[PATH_LEN];
    struct error err;
    struct dict *d;

    (void)state;
    make_tmpdir(tmp);
    error_clear(&err);
    d = dict_load(tmp, NULL, &err);
    assert_null(d);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    path_of(path, tmp, "codes/ccs.tsv");
    if (!strstr(err.msg, "cannot open") || !strstr(err.msg, path))
        fail_msg("message '%s'", err.msg);
    remove_dir(tmp);
    /* the folder of the tables itself works as well as mappings/ */
    path_of(path, repo_root(), "mappings/codes");
    error_clear(&err);
    d = dict_load(path, NULL, &err);
    assert_non_null(d);
    dict_free(&d);
    error_clear(&err);
    assert_null(dict_load(NULL, NULL, &err));
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    /* a licensed CPT file that is missing */
    error_clear(&err);
    path_of(path, repo_root(), "mappings");
    assert_null(dict_load(path, "/nonexistent/cpt.csv", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/cpt.csv"));
}

/* ---- licensed CPT file ---- */

static void test_licensed_cpt(void **state)
{
    static const char csv[] = "\xEF\xBB\xBF" "Code,Description\r\n"
                              "99223,\"Made-up description, initial hospital care\"\r\n"
                              " 99232 ,\"Made-up \"\"subsequent\"\" care\"\r\n"
                              "\r\n"
                              "0001F,Made-up measure";
    char tmp[PATH_LEN], path[PATH_LEN];
    struct code_info c, res[4];
    struct dict *d;
    FILE *f;
    size_t n;

    (void)state;
    make_tmpdir(tmp);
    path_of(path, tmp, "cpt.csv");
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(csv, 1, sizeof csv - 1, f), sizeof csv - 1);
    assert_int_equal(fclose(f), 0);
    d = load_shipped(path);
    remove_dir(tmp);
    assert_int_equal(dict_cpt_exact(d), 1);
    assert_int_equal(dict_lookup(d, CODE_CPT, "99223", &c), CODE_VALID);
    assert_int_equal(c.level, CODE_LEVEL_EXACT);
    assert_string_equal(c.display, "Made-up description, initial hospital care");
    assert_non_null(c.section);
    assert_int_equal(dict_lookup(d, CODE_CPT, "99232", &c), CODE_VALID);
    assert_string_equal(c.display, "Made-up \"subsequent\" care");
    assert_int_equal(dict_lookup(d, CODE_CPT, "0001f", &c), CODE_VALID);
    assert_string_equal(c.display, "Made-up measure");
    /* structurally fine but not in the licensed file */
    assert_int_equal(dict_lookup(d, CODE_CPT, "99231", &c), CODE_INVALID);
    assert_int_equal(c.level, CODE_LEVEL_EXACT);
    assert_int_equal(dict_lookup(d, CODE_CPT, "99261", &c), CODE_RETIRED);
    assert_int_equal(dict_lookup(d, CODE_CPT, "J1815", &c), CODE_VALID);
    assert_int_equal(c.system, CODE_HCPCS);
    n = dict_search(d, CODE_CPT, "hospital care made-up", res, 4);
    assert_true(n >= 2);
    assert_string_equal(res[0].code, "99223");
    assert_int_equal(res[0].status, CODE_VALID);
    dict_free(&d);
}

/* ---- the MIMIC-III demo: every code classified ---- */

/* Splits a CSV line in place (RFC 4180 quotes). Returns the field count. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line, *w;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = w = p;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                *w++ = *p;
                p += *p == '"';
            }
            p += *p == '"';
        }
        while (*p && *p != ',')
            *w++ = *p++;
        if (!*p) {
            *w = '\0';
            break;
        }
        *w = '\0';
        p++;
    }
    return n;
}

static int column_of(const char *header, const char *name)
{
    char copy[LINE_MAX_LEN], *f[32];
    size_t n, i;

    snprintf(copy, sizeof copy, "%s", header);
    n = csv_split(copy, f, 32);

    for (i = 0; i < n; i++)
        if (!strcmp(f[i], name))
            return (int)i;
    fail_msg("no column %s", name);
    return -1;
}

/* Counts the status of every row's code in column `col` of a shared-data CSV. Returns the rows. */
static size_t classify_file(const struct dict *d, const char *rel, const char *col, enum code_system sys,
                            size_t counts[4])
{
    char path[PATH_LEN], line[LINE_MAX_LEN], *f[32];
    struct code_info c;
    size_t rows = 0;
    FILE *fp;
    int k;

    shared_path(path, rel);
    fp = fopen(path, "r");
    if (!fp || !fgets(line, sizeof line, fp))
        fail_msg("cannot read %s (set LLMSYN_SHARED_DATA to the shared data folder)", path);
    k = column_of(line, col);
    while (fgets(line, sizeof line, fp)) {
        if (csv_split(line, f, 32) <= (size_t)k)
            fail_msg("%s: short row %zu", path, rows + 2);
        counts[dict_lookup(d, sys, f[k], &c)]++;
        rows++;
    }
    fclose(fp);
    return rows;
}

/* Rows of CPTEVENTS whose code falls in a D_CPT subsection headed "(deleted code(s))", read from the source. */
static size_t deleted_cpt_rows(void)
{
    char path[PATH_LEN], line[LINE_MAX_LEN], *f[32];
    long lo[64], hi[64], v;
    size_t n = 0, rows = 0, i;
    FILE *fp;
    int kr, kh, kc;

    shared_path(path, "mimic3-demo/D_CPT.csv");
    fp = fopen(path, "r");
    if (!fp || !fgets(line, sizeof line, fp))
        fail_msg("cannot read %s", path);
    kr = column_of(line, "subsectionrange");
    kh = column_of(line, "subsectionheader");
    while (fgets(line, sizeof line, fp) && n < 64)
        if (csv_split(line, f, 32) > (size_t)kh && strstr(f[kh], "(deleted code") &&
            sscanf(f[kr], "%ld-%ld", &lo[n], &hi[n]) == 2)
            n++;
    fclose(fp);
    assert_true(n >= 2);
    shared_path(path, "mimic3-demo/CPTEVENTS.csv");
    fp = fopen(path, "r");
    if (!fp || !fgets(line, sizeof line, fp))
        fail_msg("cannot read %s", path);
    kc = column_of(line, "cpt_cd");
    while (fgets(line, sizeof line, fp)) {
        if (csv_split(line, f, 32) <= (size_t)kc || sscanf(f[kc], "%ld", &v) != 1)
            continue;
        for (i = 0; i < n; i++)
            rows += v >= lo[i] && v <= hi[i];
    }
    fclose(fp);
    return rows;
}

/* Expected counts: ../shared/data/icd9cm/SOURCES.md cross-checked the demo against the CMS v32 files
 * independently: 45 of 1761 DIAGNOSES_ICD rows and 3 of 506 PROCEDURES_ICD rows use codes retired before
 * v32 (all listed by AHRQ CCS, which covers every code since 1980), none is a never-existing code; every
 * CPTEVENTS code lies in a D_CPT section and a CCS services range (ccs/SOURCES.md), and the rows in
 * "(deleted codes)" subsections are counted from D_CPT.csv here. tests/integration/test_codes_cli.sh
 * recomputes all of it from the raw CMS and AHRQ files, code by code. */
static void test_mimic_demo_codes(void **state)
{
    struct dict *d = load_shipped(NULL);
    size_t dx[4] = { 0 }, px[4] = { 0 }, cpt[4] = { 0 }, deleted = deleted_cpt_rows();

    (void)state;
    assert_int_equal(classify_file(d, "mimic3-demo/DIAGNOSES_ICD.csv", "icd9_code", CODE_ICD9_DX, dx), 1761);
    assert_int_equal(dx[CODE_VALID], 1716);
    assert_int_equal(dx[CODE_RETIRED], 45);
    assert_int_equal(dx[CODE_HEADER], 0);
    assert_int_equal(dx[CODE_INVALID], 0);
    assert_int_equal(classify_file(d, "mimic3-demo/PROCEDURES_ICD.csv", "icd9_code", CODE_ICD9_PX, px), 506);
    assert_int_equal(px[CODE_VALID], 503);
    assert_int_equal(px[CODE_RETIRED], 3);
    assert_int_equal(px[CODE_HEADER] + px[CODE_INVALID], 0);
    assert_int_equal(classify_file(d, "mimic3-demo/CPTEVENTS.csv", "cpt_cd", CODE_CPT, cpt), 1579);
    assert_int_equal(deleted, 5);
    assert_int_equal(cpt[CODE_RETIRED], deleted);
    assert_int_equal(cpt[CODE_VALID], 1579 - deleted);
    assert_int_equal(cpt[CODE_HEADER] + cpt[CODE_INVALID], 0);
    dict_free(&d);
}

/* Every code of MIMIC's own dictionaries (the v32 code set) is billable, with the same long title; MIMIC
 * wrote '?' for each non-ASCII character, which must be one UTF-8 character here. */
static int same_title(const char *mimic, const char *ours)
{
    while (*mimic && *ours) {
        if (*mimic == '?' && (unsigned char)*ours >= 0x80) {
            ours++;
            while (((unsigned char)*ours & 0xC0) == 0x80)
                ours++;
            mimic++;
            continue;
        }
        if (*mimic++ != *ours++)
            return 0;
    }
    return !*mimic && !*ours;
}

static size_t check_dictionary(const struct dict *d, const char *rel, enum code_system sys)
{
    char path[PATH_LEN], line[LINE_MAX_LEN], *f[8];
    struct code_info c;
    size_t n = 0;
    FILE *fp;

    shared_path(path, rel);
    fp = fopen(path, "r");
    if (!fp || !fgets(line, sizeof line, fp))
        fail_msg("cannot read %s", path);
    while (fgets(line, sizeof line, fp)) {
        if (csv_split(line, f, 8) != 4)
            fail_msg("%s: row %zu", path, n + 2);
        if (dict_lookup(d, sys, f[1], &c) != CODE_VALID || !same_title(f[3], c.display))
            fail_msg("%s %s: %s '%s' vs '%s'", rel, f[1], code_status_name(c.status), c.display, f[3]);
        n++;
    }
    fclose(fp);
    return n;
}

static void test_mimic_dictionaries(void **state)
{
    struct dict *d = load_shipped(NULL);

    (void)state;
    assert_int_equal(check_dictionary(d, "mimic3-demo/D_ICD_DIAGNOSES.csv", CODE_ICD9_DX), 14567);
    assert_int_equal(check_dictionary(d, "mimic3-demo/D_ICD_PROCEDURES.csv", CODE_ICD9_PX), 3882);
    dict_free(&d);
}

/* ---- search ---- */

static void test_search(void **state)
{
    struct dict *d = load_shipped(NULL);
    struct code_info r[10], again[10];
    size_t n, i;

    (void)state;
    n = dict_search(d, CODE_ICD9_DX, "acute myocardial infarction", r, 10);
    assert_int_equal(n, 10);
    for (i = 0; i < n; i++) {
        assert_int_equal(r[i].status, CODE_VALID);
        assert_non_null(r[i].display);
        assert_int_equal(strncmp(r[i].code, "410.", 4), 0);
        if (i)
            assert_true(strcmp(r[i - 1].code, r[i].code) < 0); /* equal scores: by code */
    }
    assert_int_equal(dict_search(d, CODE_ICD9_DX, "acute myocardial infarction", again, 10), n);
    for (i = 0; i < n; i++)
        assert_string_equal(r[i].code, again[i].code);
    /* code-like text: the same prefix first */
    n = dict_search(d, CODE_ICD9_DX, "428.9x", r, 5);
    assert_int_equal(n, 5);
    assert_string_equal(r[0].code, "428.9");
    for (i = 0; i < n; i++)
        assert_int_equal(strncmp(r[i].code, "428", 3), 0);
    n = dict_search(d, CODE_ICD9_DX, "58381 (Glomerulonephritis)", r, 3);
    assert_int_equal(n, 3);
    assert_string_equal(r[0].code, "583.81");
    n = dict_search(d, CODE_ICD9_PX, "9679", r, 3);
    assert_int_equal(n, 3);
    assert_int_equal(strncmp(r[0].code, "96.7", 4), 0);
    /* words, plural and case folded */
    n = dict_search(d, CODE_ICD9_DX, "Respiratory Failures", r, 2);
    assert_int_equal(n, 2);
    assert_string_equal(r[0].code, "518.81");
    /* headers and retired codes are never candidates */
    n = dict_search(d, CODE_ICD9_DX, "chronic renal failure", r, 10);
    for (i = 0; i < n; i++)
        assert_int_equal(r[i].status, CODE_VALID);
    /* cpt without a licensed file: HCPCS Level II only */
    n = dict_search(d, CODE_CPT, "wheelchair", r, 3);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        assert_int_equal(r[i].system, CODE_HCPCS);
    assert_int_equal(dict_search(d, CODE_ICD9_DX, "zzzzqqq", r, 3), 0);
    dict_free(&d);
}

/* ---- threads ---- */

static const char *const THREAD_CODES[] = { "410.71", "428", "585", "V58.61", "999.99", "E878.8", "518.81" };

struct thread_arg {
    const struct dict *d;
    int ok;
};

static void *lookup_many(void *p)
{
    struct thread_arg *a = p;
    struct code_info c, r[3];
    size_t i, k;

    a->ok = 1;
    for (k = 0; k < 200; k++)
        for (i = 0; i < sizeof THREAD_CODES / sizeof THREAD_CODES[0]; i++) {
            enum code_status want = i == 1 ? CODE_HEADER : i == 2 ? CODE_RETIRED : i == 4 ? CODE_INVALID : CODE_VALID;

            if (dict_lookup(a->d, CODE_ICD9_DX, THREAD_CODES[i], &c) != want || strcmp(c.code, THREAD_CODES[i]))
                a->ok = 0;
        }
    if (dict_search(a->d, CODE_ICD9_DX, "respiratory failure", r, 3) != 3 || strcmp(r[0].code, "518.81"))
        a->ok = 0;
    return NULL;
}

static void test_threads(void **state)
{
    struct dict *d = load_shipped(NULL);
    struct thread_arg args[4];
    pthread_t t[4];
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        args[i].d = d;
        assert_int_equal(pthread_create(&t[i], NULL, lookup_many, &args[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_true(args[i].ok);
    }
    dict_free(&d);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(code_system_name(CODE_ICD9_DX), "icd9-dx");
    assert_string_equal(code_system_name(CODE_ICD9_PX), "icd9-px");
    assert_string_equal(code_system_name(CODE_CPT), "cpt");
    assert_string_equal(code_system_name(CODE_HCPCS), "hcpcs");
    assert_string_equal(code_status_name(CODE_HEADER), "header");
    assert_string_equal(code_status_name(CODE_RETIRED), "retired");
    assert_string_equal(llmsyn_strerror(LLMSYN_E_NOT_FOUND), "not found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_table),
        cmocka_unit_test(test_normalise_shared_with_extractor),
        cmocka_unit_test(test_normalise_hostile),
        cmocka_unit_test(test_lookup_known),
        cmocka_unit_test(test_lookup_hostile),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_missing_tables),
        cmocka_unit_test(test_licensed_cpt),
        cmocka_unit_test(test_mimic_demo_codes),
        cmocka_unit_test(test_mimic_dictionaries),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
