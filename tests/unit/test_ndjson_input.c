/* test_ndjson_input.c - NDJSON upload input: detection, line checks with file:line, chunk names, built bundles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "net/ndjson_input.h"

#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"
#define E1 "e1"
#define E2 "e2"

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void drop(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* Two records: Encounters and Conditions reference one another by urn:uuid, everything references its
 * Patient; an Observation uses a literal Patient/id, an outside Patient, a contained and an absolute one. */
static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_ndjson_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    put("Patient.ndjson", "{\"resourceType\":\"Patient\",\"id\":\"" P1 "\"}\n"
                          "{\"resourceType\":\"Patient\",\"id\":\"" P2 "\"}\n");
    put("Encounter.ndjson",
        "{\"resourceType\":\"Encounter\",\"id\":\"" E1 "\",\"subject\":{\"reference\":\"urn:uuid:" P1 "\"},"
        "\"diagnosis\":[{\"condition\":{\"reference\":\"urn:uuid:c1\"}}]}\n"
        "{\"resourceType\":\"Encounter\",\"id\":\"" E2 "\",\"subject\":{\"reference\":\"urn:uuid:" P2 "\"},"
        "\"diagnosis\":[{\"condition\":{\"reference\":\"urn:uuid:c2\"}}]}\n");
    put("Condition.ndjson",
        "{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":{\"reference\":\"urn:uuid:" P1 "\"},"
        "\"encounter\":{\"reference\":\"urn:uuid:" E1 "\"}}\r\n"
        "  \r\n"
        "{\"resourceType\":\"Condition\",\"id\":\"c2\",\"subject\":{\"reference\":\"urn:uuid:" P2 "\"},"
        "\"encounter\":{\"reference\":\"urn:uuid:" E2 "\"}}");
    put("Observation.ndjson",
        "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"subject\":{\"reference\":\"Patient/" P1 "\"},"
        "\"focus\":[{\"reference\":\"Patient/elsewhere\"},{\"reference\":\"#c\"},{\"reference\":\"http://x/Patient/1\"}]}\n");
    put("notes.txt", "not input\n");
    return 0;
}

static int teardown(void **state)
{
    const char *names[] = { "Patient.ndjson", "Encounter.ndjson", "Condition.ndjson", "Observation.ndjson",
                            "notes.txt", "Bad.ndjson", "record-0000000001.json", "post-journal.ndjson" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        drop(names[i]);
    return rmdir(dir);
}

/* Chunk i's bundle, parsed (caller frees). */
static cJSON *load(const struct upload_source *src, size_t i)
{
    char *data = NULL, reason[256] = "";
    size_t len = 0;
    cJSON *b;

    assert_int_equal(src->load(src->user, i, &data, &len, reason, sizeof reason), 0);
    assert_int_equal(strlen(data), len);
    b = cJSON_Parse(data);
    free(data);
    assert_non_null(b);
    return b;
}

/* The entry of bundle b whose request url is url. */
static const cJSON *entry(const cJSON *b, const char *url)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(b, "entry")) {
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(req, "url");

        if (cJSON_IsString(u) && !strcmp(u->valuestring, url)) {
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(req, "method")->valuestring, "PUT");
            return e;
        }
    }
    fail_msg("no entry %s", url);
    return NULL;
}

static const char *ref_at(const cJSON *e, const char *field)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");

    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, field), "reference")->valuestring;
}

static void test_detect(void **state)
{
    struct error err = { 0 };
    char path[256];

    (void)state;
    assert_int_equal(ndjson_detect(dir, &err), 1);
    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    assert_int_equal(ndjson_detect(path, &err), 1);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    assert_int_equal(ndjson_detect(path, &err), 0);
    put("post-journal.ndjson", "{}\n");
    snprintf(path, sizeof path, "%s/post-journal.ndjson", dir);
    assert_int_equal(ndjson_detect(path, &err), -1);
    assert_non_null(strstr(err.msg, "is the post journal"));
    error_clear(&err);
    put("record-0000000001.json", "{}\n");
    assert_int_equal(ndjson_detect(dir, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "holds both"));
    drop("record-0000000001.json");
}

/* One request per phase: Patients; Encounters, Conditions and the Observation. */
static void test_phases_names_bundles(void **state)
{
    struct error err = { 0 };
    struct ndjson_input *in = ndjson_open(dir, 0, 0, &err);
    struct upload_source src;
    struct ndjson_counts c;
    cJSON *b;
    const cJSON *e;

    (void)state;
    assert_non_null(in);
    ndjson_counts(in, &c);
    assert_int_equal(c.files, 4);      /* the journal from test_detect and notes.txt are not input */
    assert_int_equal(c.resources, 7);  /* the blank line is skipped */
    assert_int_equal(c.phases, 2);
    assert_int_equal(c.entries_cap, NDJSON_DEFAULT_ENTRIES);
    assert_string_equal(ndjson_dir(in), dir);
    ndjson_source(in, &src);
    assert_int_equal(src.n, 2);
    assert_string_equal(src.name(src.user, 0), "Patient.ndjson#1-2");
    assert_string_equal(src.name(src.user, 1), "Condition.ndjson#1-3+Encounter.ndjson#1-2+Observation.ndjson#1");
    assert_int_equal(src.phase_end(src.user, 0), 1);
    assert_int_equal(src.phase_end(src.user, 1), 2);
    b = load(&src, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(b, "type")->valuestring, "transaction");
    e = entry(b, "Patient/" P1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "fullUrl")->valuestring, "urn:uuid:" P1);
    cJSON_Delete(b);
    b = load(&src, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, "entry")), 5);
    e = entry(b, "Encounter/" E1);
    assert_string_equal(ref_at(e, "subject"), "Patient/" P1);  /* another request: Type/id */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "fullUrl")->valuestring, "urn:uuid:" E1);
    e = entry(b, "Condition/c1");
    assert_string_equal(ref_at(e, "encounter"), "urn:uuid:" E1);  /* the same request: kept */
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "fullUrl")->valuestring, "urn:uuid:c1");
    e = entry(b, "Observation/o1");
    assert_null(cJSON_GetObjectItemCaseSensitive(e, "fullUrl"));  /* not a UUID, never referenced */
    assert_string_equal(ref_at(e, "subject"), "Patient/" P1);
    cJSON_Delete(b);
    ndjson_close(&in);
    assert_null(in);
}

/* A small cap splits the second phase, never an Encounter from its Condition. */
static void test_small_cap(void **state)
{
    struct error err = { 0 };
    struct ndjson_input *in = ndjson_open(dir, 2, 0, &err);
    struct upload_source src;
    cJSON *b;

    (void)state;
    assert_non_null(in);
    ndjson_source(in, &src);
    assert_int_equal(src.n, 4);
    assert_string_equal(src.name(src.user, 1), "Condition.ndjson#1+Encounter.ndjson#1");
    assert_string_equal(src.name(src.user, 2), "Condition.ndjson#3+Encounter.ndjson#2");
    assert_string_equal(src.name(src.user, 3), "Observation.ndjson#1");
    assert_int_equal(src.phase_end(src.user, 1), 4);
    b = load(&src, 2);
    assert_string_equal(ref_at(entry(b, "Encounter/" E2), "subject"), "Patient/" P2);
    assert_string_equal(ref_at(entry(b, "Condition/c2"), "encounter"), "urn:uuid:" E2);
    cJSON_Delete(b);
    ndjson_close(&in);
    assert_null(ndjson_open(dir, 1, 0, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "Condition.ndjson:1 and 1 other resources reference one another; more than "
                               "--max-bundle-entries 1 allows"));
    error_clear(&err);
    assert_null(ndjson_open(dir, 0, 700, &err));  /* Encounter e1 with c1: about 800 bytes estimated */
    assert_non_null(strstr(err.msg, "Condition.ndjson:1 and 1 other resources reference one another (about "));
    error_clear(&err);
    assert_null(ndjson_open(dir, 0, 300, &err));  /* a Patient alone is over 300 bytes with the margins */
    assert_non_null(strstr(err.msg, "/Patient.ndjson:1: about "));
    assert_non_null(strstr(err.msg, "bytes in a request, more than --max-bundle-bytes 300 allows"));
}

/* Each bad line is refused with path:line before anything is planned. */
static void expect_bad(const char *text, const char *want)
{
    struct error err = { 0 };
    char path[256], msg[300];

    put("Bad.ndjson", text);
    snprintf(path, sizeof path, "%s/Bad.ndjson", dir);
    assert_null(ndjson_open(path, 0, 0, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    snprintf(msg, sizeof msg, "%s/Bad.ndjson:%s", dir, want);
    if (strncmp(err.msg, msg, strlen(msg)))
        fail_msg("got '%s', want '%s'", err.msg, msg);
}

/* A line nesting 70 arrays deep is refused before cJSON parses it. */
static void expect_deep(void)
{
    char text[512];
    size_t n = 0;
    int i;

    n += (size_t)snprintf(text, sizeof text, "{\"resourceType\":\"Patient\",\"id\":\"a\",\"x\":");
    for (i = 0; i < 70; i++)
        text[n++] = '[';
    for (i = 0; i < 70; i++)
        text[n++] = ']';
    memcpy(text + n, "}\n", 3);
    expect_bad(text, "1: nests deeper than 64 levels");
}

static void test_bad_lines(void **state)
{
    (void)state;
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{\"resourceType\":\"Patient\",\"id\":", "3: not valid JSON");
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"a\"} {}\n", "1: more than one JSON value");
    expect_bad("\n\"text\"\n", "2: not a JSON object");
    expect_bad("{\"id\":\"a\"}\n", "1: no valid resourceType");
    expect_bad("{\"resourceType\":\"patient\",\"id\":\"a\"}\n", "1: no valid resourceType");
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"a/b\"}\n", "1: no valid id");
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"a\"}\n",
               "2: Patient/a is also at");
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"a\",\"link\":[{\"other\":{\"reference\":\"urn:uuid:zz\"}}]}\n",
               "1: reference 'urn:uuid:zz' names no resource of the input");
    expect_bad("{\"resourceType\":\"Patient\",\"id\":\"x\"}\n{\"resourceType\":\"Group\",\"id\":\"x\"}\n"
               "{\"resourceType\":\"Basic\",\"id\":\"y\",\"subject\":{\"reference\":\"urn:uuid:x\"}}\n",
               "3: reference 'urn:uuid:x' is ambiguous");
    expect_deep();
    drop("Bad.ndjson");
}

static void test_no_resources(void **state)
{
    struct error err = { 0 };
    char path[256];

    (void)state;
    put("Bad.ndjson", "\n  \n");
    snprintf(path, sizeof path, "%s/Bad.ndjson", dir);
    assert_null(ndjson_open(path, 0, 0, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "holds no resources"));
    drop("Bad.ndjson");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_phases_names_bundles),
        cmocka_unit_test(test_small_cap),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_no_resources),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
