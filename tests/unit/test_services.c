/* test_services.c - medical-service categories: CPT ranges, SNOMED CT codes, hostile tables, the shipped tables,
 * the Synthea readers and the disease code sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "eval/compare.h"
#include "eval/services.h"
#include "eval/synthea.h"

#define PATH_LEN 4096

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

/* Writes text to a new temporary file; the caller unlinks path. */
static void temp_file(char *path, const char *text)
{
    FILE *fp;
    int fd;

    snprintf(path, PATH_LEN, "/tmp/test_services_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static struct services *load_shipped(void)
{
    char cpt[PATH_LEN], snomed[PATH_LEN];
    struct error err = {0};
    struct services *s;

    path_of(cpt, repo_root(), "mappings/service_categories_cpt.tsv");
    path_of(snomed, repo_root(), "mappings/service_categories_snomed.tsv");
    s = services_load(cpt, snomed, &err);
    if (!s)
        fail_msg("services_load: %s", err.msg);
    return s;
}

/* A small hand-written table: nested ranges pick the narrowest. */
static void test_cpt_ranges_tiny(void **state)
{
    char cpt[PATH_LEN], snomed[PATH_LEN];
    struct error err = {0};
    struct services *s;

    (void)state;
    temp_file(cpt, "# comment\nfirst\tlast\tcategory\n10000\t19999\tintervention_surgical\n"
                   "15000\t15009\tward_management\n99291\t99292\temergency_care\n");
    temp_file(snomed, "code\tcategory\n371908008\trespiratory_support\n");
    s = services_load(cpt, snomed, &err);
    unlink(cpt);
    unlink(snomed);
    assert_non_null(s);
    assert_int_equal(services_cpt_rows(s), 3);
    assert_int_equal(services_cpt(s, "10000"), SVC_INTERVENTION_SURGICAL);
    assert_int_equal(services_cpt(s, "19999"), SVC_INTERVENTION_SURGICAL);
    assert_int_equal(services_cpt(s, "15000"), SVC_WARD_MANAGEMENT);
    assert_int_equal(services_cpt(s, "15009"), SVC_WARD_MANAGEMENT);
    assert_int_equal(services_cpt(s, "15010"), SVC_INTERVENTION_SURGICAL);
    assert_int_equal(services_cpt(s, " 99292 "), SVC_EMERGENCY_CARE);
    assert_int_equal(services_cpt(s, "99293"), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, "09999"), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, "1500"), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, "150000"), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, "0500F"), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, ""), SVC_UNMAPPED);
    assert_int_equal(services_cpt(s, NULL), SVC_UNMAPPED);
    assert_int_equal(services_snomed(s, "371908008"), SVC_RESPIRATORY_SUPPORT);
    assert_int_equal(services_snomed(s, "37190800"), SVC_UNMAPPED);
    services_free(&s);
    assert_null(s);
}

static void expect_load_error(const char *cpt_text, const char *snomed_text, const char *needle)
{
    char cpt[PATH_LEN], snomed[PATH_LEN];
    struct error err = {0};
    struct services *s;

    temp_file(cpt, cpt_text);
    temp_file(snomed, snomed_text);
    s = services_load(cpt, snomed, &err);
    unlink(cpt);
    unlink(snomed);
    assert_null(s);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void test_hostile_tables(void **state)
{
    static const char hdr[] = "first\tlast\tcategory\n";
    static const char sn[] = "code\tcategory\n1\tward_management\n";

    (void)state;
    expect_load_error("first\tlast\tcategory\n20000\t10000\tward_management\n", sn, ":2:");
    expect_load_error("first\tlast\tcategory\n1000\t10000\tward_management\n", sn, "five-digit");
    expect_load_error("first\tlast\tcategory\n10000\t10001\tnursing\n", sn, "unknown category 'nursing'");
    expect_load_error("first\tlast\tcategory\n10000\n", sn, ":2:");
    expect_load_error(hdr, "code\tcategory\n12a\tward_management\n", "numeric SNOMED");
    expect_load_error(hdr, "code\tcategory\n5\tward_management\n5\temergency_care\n", "listed twice");
    expect_load_error(hdr, "code\tcategory\n5\tunmapped\n", "unknown category 'unmapped'");
}

static void test_missing_table(void **state)
{
    struct error err = {0};

    (void)state;
    assert_null(services_load("/nonexistent/cpt.tsv", "/nonexistent/snomed.tsv", &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/cpt.tsv"));
}

/* The shipped CPT table puts the paper's table 6 CPT codes where the paper does (99213 aside, docs/compare.md). */
static void test_shipped_cpt(void **state)
{
    static const struct { const char *code; enum service_category cat; } cases[] = {
        {"71020", SVC_DIAGNOSTIC_IMAGING},    {"71250", SVC_DIAGNOSTIC_IMAGING},
        {"94640", SVC_RESPIRATORY_SUPPORT},   {"94002", SVC_RESPIRATORY_SUPPORT},
        {"94003", SVC_RESPIRATORY_SUPPORT},   {"99291", SVC_EMERGENCY_CARE},
        {"99292", SVC_EMERGENCY_CARE},        {"99232", SVC_WARD_MANAGEMENT},
        {"99233", SVC_WARD_MANAGEMENT},       {"36556", SVC_INTERVENTION_SURGICAL},
        {"31500", SVC_INTERVENTION_SURGICAL}, {"31624", SVC_INTERVENTION_SURGICAL},
        {"99214", SVC_PLANNING_COORDINATING}, {"99253", SVC_CONSULTATION_ASSESSMENT},
        {"99254", SVC_CONSULTATION_ASSESSMENT}, {"99255", SVC_CONSULTATION_ASSESSMENT},
        {"93306", SVC_DIAGNOSTIC_IMAGING},    {"93503", SVC_EMERGENCY_CARE},
        {"93510", SVC_INTERVENTION_SURGICAL}, {"94760", SVC_EMERGENCY_CARE},
        {"85025", SVC_NOTIFICATION_ASSESSMENT}, {"00100", SVC_INTERVENTION_SURGICAL},
        {"77300", SVC_INTERVENTION_SURGICAL}, {"99999", SVC_UNMAPPED},
    };
    struct services *s = load_shipped();
    size_t i;

    (void)state;
    assert_true(services_cpt_rows(s) >= 40);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (services_cpt(s, cases[i].code) != cases[i].cat)
            fail_msg("CPT %s: got %s, want %s", cases[i].code, services_key(services_cpt(s, cases[i].code)),
                     services_key(cases[i].cat));
    services_free(&s);
}

/* The shipped SNOMED table: the paper's table 6 codes as the paper has them, and every procedure code of the
 * Synthea sample mapped. */
static void test_shipped_snomed(void **state)
{
    static const struct { const char *code; enum service_category cat; } paper[] = {
        {"399208008", SVC_DIAGNOSTIC_IMAGING}, {"371908008", SVC_RESPIRATORY_SUPPORT},
        {"431182000", SVC_RESPIRATORY_SUPPORT}, {"315639002", SVC_EMERGENCY_CARE},
        {"385763009", SVC_EMERGENCY_CARE},     {"310417005", SVC_INTERVENTION_SURGICAL},
        {"370789001", SVC_PLANNING_COORDINATING}, {"185087000", SVC_NOTIFICATION_ASSESSMENT},
    };
    struct services *s = load_shipped();
    struct eval_table t = {0};
    struct error err = {0};
    char dir[PATH_LEN];
    size_t i, k, total = 0;

    (void)state;
    for (i = 0; i < sizeof paper / sizeof paper[0]; i++)
        assert_int_equal(services_snomed(s, paper[i].code), paper[i].cat);
    shared_path(dir, "synthea-sample/csv");
    assert_int_equal(synthea_read_csv(dir, &t, &err), 0);
    for (i = 0; i < t.n; i++) {
        for (k = 0; k < t.rows[i].ncpt; k++, total++)
            if (services_snomed(s, t.rows[i].cpt[k]) == SVC_UNMAPPED)
                fail_msg("Synthea sample procedure %s is not in the SNOMED table", t.rows[i].cpt[k]);
    }
    assert_int_equal(total, 3219); /* procedures.csv rows, header excluded */
    eval_table_free(&t);
    services_free(&s);
}

static void test_keys(void **state)
{
    int c;

    (void)state;
    for (c = 0; c < SVC_UNMAPPED; c++)
        assert_int_equal(services_from_key(services_key((enum service_category)c)), c);
    assert_int_equal(services_from_key("unmapped"), SVC_COUNT);
    assert_int_equal(services_from_key(NULL), SVC_COUNT);
    assert_string_equal(services_title(SVC_WARD_MANAGEMENT), "Ward management and daily care");
}

static void test_disease_sets(void **state)
{
    (void)state;
    assert_true(compare_disease_has(CMP_PNEUMONIA, "486", 0));
    assert_true(compare_disease_has(CMP_PNEUMONIA, "482.41", 0));
    assert_true(compare_disease_has(CMP_PNEUMONIA, "487.0", 0));
    assert_false(compare_disease_has(CMP_PNEUMONIA, "487.1", 0));
    assert_false(compare_disease_has(CMP_PNEUMONIA, "4", 0));
    assert_true(compare_disease_has(CMP_SEPSIS, "038.9", 0));
    assert_true(compare_disease_has(CMP_SEPSIS, "99592", 0));
    assert_true(compare_disease_has(CMP_SEPSIS, "785.52", 0));
    assert_false(compare_disease_has(CMP_SEPSIS, "995.90", 0));
    assert_true(compare_disease_has(CMP_CAD, "414.01", 0));
    assert_false(compare_disease_has(CMP_CAD, "410.71", 0));
    assert_true(compare_disease_has(CMP_PNEUMONIA, "233604007", 1));
    assert_false(compare_disease_has(CMP_PNEUMONIA, "2336040", 1));
    assert_false(compare_disease_has(CMP_PNEUMONIA, "486", 1));
    assert_true(compare_disease_has(CMP_SEPSIS, "770349000", 1));
    assert_true(compare_disease_has(CMP_CAD, "53741008", 1));
    assert_false(compare_disease_has(CMP_CAD, NULL, 1));
}

/* Synthea CSV sample: 18 pneumonia encounters, each with a chest X-ray (checked by hand with a script). */
static void test_synthea_csv_counts(void **state)
{
    struct services *s = load_shipped();
    struct eval_table t = {0};
    struct compare_result r;
    struct error err = {0};
    char dir[PATH_LEN];
    enum synthea_kind kind = SYNTHEA_FHIR;
    size_t c, sum = 0;

    (void)state;
    memset(&r, 0, sizeof r);
    shared_path(dir, "synthea-sample");
    assert_int_equal(synthea_read(dir, &t, &kind, &err), 0);
    assert_int_equal(kind, SYNTHEA_CSV);
    compare_count(&r, CMP_SYNTHEA, &t, 1, s);
    assert_int_equal(r.cell[CMP_PNEUMONIA][CMP_SYNTHEA].episodes, 18);
    assert_int_equal(r.cell[CMP_PNEUMONIA][CMP_SYNTHEA].count[SVC_DIAGNOSTIC_IMAGING], 18);
    assert_int_equal(r.cell[CMP_PNEUMONIA][CMP_SYNTHEA].count[SVC_RESPIRATORY_SUPPORT], 394);
    assert_int_equal(r.cell[CMP_PNEUMONIA][CMP_SYNTHEA].procedures, 413);
    assert_int_equal(r.cell[CMP_SEPSIS][CMP_SYNTHEA].episodes, 11);
    for (c = 0; c < SVC_COUNT; c++)
        sum += r.cell[CMP_SEPSIS][CMP_SYNTHEA].count[c];
    assert_int_equal(sum, r.cell[CMP_SEPSIS][CMP_SYNTHEA].procedures);
    eval_table_free(&t);
    services_free(&s);
}

/* The Synthea FHIR sample bundle: Conditions and Procedures grouped by encounter reference. */
static void test_synthea_fhir(void **state)
{
    struct eval_table t = {0};
    struct error err = {0};
    char dir[PATH_LEN];
    size_t i, dx = 0, px = 0;

    (void)state;
    shared_path(dir, "synthea-sample/fhir");
    assert_int_equal(synthea_read_fhir(dir, &t, &err), 0);
    for (i = 0; i < t.n; i++) {
        dx += t.rows[i].nicd9;
        px += t.rows[i].ncpt;
    }
    assert_int_equal(dx, 9); /* the bundle's Condition resources */
    assert_int_equal(px, 2); /* its Procedure resources */
    assert_int_equal(t.n, 4); /* distinct encounter references among them */
    eval_table_free(&t);
    assert_int_not_equal(synthea_read_fhir("/nonexistent.json", &t, &err), 0);
}

static void test_synthea_hostile_json(void **state)
{
    char path[PATH_LEN];
    struct eval_table t = {0};
    struct error err = {0};

    (void)state;
    temp_file(path, "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Condition\","
                    "\"encounter\":{\"reference\":7},\"code\":{\"coding\":[{\"code\":5}]}}}]}");
    assert_int_equal(synthea_read_fhir(path, &t, &err), 0);
    assert_int_equal(t.n, 0); /* wrong types are skipped, not trusted */
    unlink(path);
    temp_file(path, "{\"entry\": [");
    assert_int_equal(synthea_read_fhir(path, &t, &err), LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "not valid JSON"));
    unlink(path);
    eval_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpt_ranges_tiny),  cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_missing_table),    cmocka_unit_test(test_shipped_cpt),
        cmocka_unit_test(test_shipped_snomed),   cmocka_unit_test(test_keys),
        cmocka_unit_test(test_disease_sets),     cmocka_unit_test(test_synthea_csv_counts),
        cmocka_unit_test(test_synthea_fhir),     cmocka_unit_test(test_synthea_hostile_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
