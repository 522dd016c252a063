/* test_utility.c - eval --utility pieces: the records.csv writer, the report merge, the data folder lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eval/synthetic.h"
#include "eval/table.h"
#include "eval/utility.h"
#include "util/datadir.h"

static char tmpdir[] = "/tmp/test_utility.XXXXXX";

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void put_file(const char *name, const char *text)
{
    char p[512];
    FILE *f = NULL;

    path_of(p, sizeof p, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Caller frees. */
static char *get_file(const char *name)
{
    char p[512];
    FILE *f = NULL;
    char *s = calloc(1, 65536);
    size_t n = 0;

    path_of(p, sizeof p, name);
    f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, 65535, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void add_row(struct eval_table *t, const char *ins, const char *eth, int expire, const char *const *icd,
                    size_t nicd, const char *cpt)
{
    struct error err = {LLMSYN_OK, ""};
    struct eval_row *r = eval_table_add(t, &err);

    assert_non_null(r);
    r->expire = expire;
    r->age = 71;
    assert_int_equal(eval_row_set_gender(r, "F", &err), 0);
    assert_int_equal(eval_row_set_cat(r, EVAL_INSURANCE, ins, &err), 0);
    assert_int_equal(eval_row_set_cat(r, EVAL_ETHNICITY, eth, &err), 0);
    for (size_t i = 0; i < nicd; i++)
        assert_int_equal(eval_row_add_icd9(r, icd[i], &err), 0);
    if (cpt)
        assert_int_equal(eval_row_add_cpt(r, cpt, &err), 0);
}

/* A table written as records.csv reads back (through the flat CSV reader) to the same table, with RFC 4180
 * quoting for a value holding a comma and quotes. */
static void test_records_csv_round_trip(void **state)
{
    static const char *const icd1[] = {"4280", "42731", "5849"}, *const icd2[] = {"486"};
    struct eval_table t = {NULL, 0, 0}, back = {NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};
    char p[512], *text = NULL;

    (void)state;
    add_row(&t, "Self, \"Pay\"", "WHITE", 1, icd1, 3, "99223");
    add_row(&t, "Medicare", "", 0, icd2, 1, NULL);
    path_of(p, sizeof p, "records.csv");
    assert_int_equal(eval_write_records_csv(p, &t, &err), 0);
    text = get_file("records.csv");
    assert_non_null(strstr(text, "RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,ETHNICITY,"
                                 "HOSPITAL_EXPIRE_FLAG,ICD9_CODE,COMPLICATION_CODES,CPT_CD\n"));
    assert_non_null(strstr(text, "1,F,71,\"Self, \"\"Pay\"\"\",,,,WHITE,1,4280,42731;5849,99223\n"));
    assert_non_null(strstr(text, "2,F,71,Medicare,,,,,0,486,,\n"));
    assert_int_equal(synthetic_read(p, &back, &err), 0);
    assert_int_equal(back.n, 2);
    assert_string_equal(eval_row_cat(&back.rows[0], EVAL_INSURANCE), "Self, \"Pay\"");
    assert_int_equal(back.rows[0].nicd9, 3);
    assert_string_equal(back.rows[0].icd9[2], "5849");
    assert_int_equal(back.rows[0].ncpt, 1);
    assert_int_equal(back.rows[1].expire, 0);
    assert_int_equal(back.rows[1].ncpt, 0);
    free(text);
    eval_table_free(&t);
    eval_table_free(&back);
}

static void test_write_to_missing_folder_fails(void **state)
{
    struct eval_table t = {NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    assert_int_equal(eval_write_records_csv("/nonexistent-dir/x/records.csv", &t, &err), LLMSYN_E_OUTPUT);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/records.csv"));
}

/* utility.json is spliced into report.json unchanged (every digit kept) and utility.md appended to
 * report.md with its headings one level down. */
static void test_merge(void **state)
{
    struct error err = {LLMSYN_OK, ""};
    char *json = NULL, *md = NULL;
    cJSON *o = NULL;

    (void)state;
    put_file("report.json", "{\n\t\"format\":\t\"llmsyn-fhir-eval/1\",\n\t\"plots\":\t[]\n}\n");
    put_file("utility.json", "{\"n_real\": 129, \"auc\": 0.7593021261317922, \"none\": null}\n");
    put_file("report.md", "# Report\n\ntext\n");
    put_file("utility.md", "# Utility\n\n## phenotype\n| a # b |\n");
    assert_int_equal(eval_utility_merge(tmpdir, &err), 0);
    json = get_file("report.json");
    md = get_file("report.md");
    assert_non_null(strstr(json, "0.7593021261317922"));
    o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "format")->valuestring, "llmsyn-fhir-eval/1");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "utility"), "n_real")->valueint, 129);
    assert_string_equal(md, "# Report\n\ntext\n\n## Utility\n\n### phenotype\n| a # b |\n");
    cJSON_Delete(o);
    /* a second merge would add a second key: refused */
    assert_int_not_equal(eval_utility_merge(tmpdir, &err), 0);
    assert_non_null(strstr(err.msg, "utility key"));
    free(json);
    free(md);
}

static void test_merge_rejects_bad_utility_json(void **state)
{
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    put_file("report.json", "{\"format\": \"x\"}\n");
    put_file("utility.json", "[1, 2]\n");
    assert_int_equal(eval_utility_merge(tmpdir, &err), LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "utility.json"));
    error_clear(&err);
    put_file("utility.json", "{\"a\": \n");
    assert_int_equal(eval_utility_merge(tmpdir, &err), LLMSYN_E_INPUT);
}

static void test_find_data_dir(void **state)
{
    char out[64], small[4];

    (void)state;
    assert_int_equal(find_data_dir("/opt/x", out, sizeof out), 0);
    assert_string_equal(out, "/opt/x");
    assert_int_equal(setenv("LLMSYN_DATA_DIR", "/from/env", 1), 0);
    assert_int_equal(find_data_dir(NULL, out, sizeof out), 0);
    assert_string_equal(out, "/from/env");
    assert_int_equal(find_data_dir("/opt/x", out, sizeof out), 0); /* the option beats the environment */
    assert_string_equal(out, "/opt/x");
    assert_int_equal(find_data_dir("/too/long", small, sizeof small), -1);
    assert_string_equal(small, "");
    assert_int_equal(unsetenv("LLMSYN_DATA_DIR"), 0);
    /* build/tests/.. holds no prompts/: the install prefix */
    assert_int_equal(find_data_dir(NULL, out, sizeof out), 0);
    assert_string_equal(out, LLMSYN_DATADIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_csv_round_trip),
        cmocka_unit_test(test_write_to_missing_folder_fails),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_rejects_bad_utility_json),
        cmocka_unit_test(test_find_data_dir),
    };
    int rc = 0;

    if (!mkdtemp(tmpdir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    {
        static const char *const names[] = {"records.csv", "report.json", "utility.json", "report.md", "utility.md"};
        char p[512];

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            path_of(p, sizeof p, names[i]);
            unlink(p);
        }
        rmdir(tmpdir);
    }
    return rc;
}
