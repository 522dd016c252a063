/* test_fhir_client.c - reply parsing, bundle rewrites, the post journal and secret scrubbing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "net/bundle_split.h"
#include "net/fhir_client.h"
#include "net/gzip.h"
#include "net/journal.h"
#include "net/upload.h"

static void test_status_code(void **state)
{
    (void)state;
    assert_int_equal(fhir_status_code("201"), 201);
    assert_int_equal(fhir_status_code("201 Created"), 201);
    assert_int_equal(fhir_status_code("200 OK"), 200);
    assert_int_equal(fhir_status_code("4000"), -1);
    assert_int_equal(fhir_status_code("OK"), -1);
    assert_int_equal(fhir_status_code("20"), -1);
    assert_int_equal(fhir_status_code(NULL), -1);
}

static void test_location_forms(void **state)
{
    char t[65], id[65], v[65];

    (void)state;
    assert_int_equal(fhir_parse_location("Patient/abc-1", t, sizeof t, id, sizeof id, v, sizeof v), 0);
    assert_string_equal(t, "Patient");
    assert_string_equal(id, "abc-1");
    assert_string_equal(v, "");
    assert_int_equal(fhir_parse_location("Patient/abc-1/_history/7", t, sizeof t, id, sizeof id, v, sizeof v), 0);
    assert_string_equal(id, "abc-1");
    assert_string_equal(v, "7");
    assert_int_equal(fhir_parse_location("https://h.example/fhir/R4/Encounter/e.2/_history/3?x=1", t, sizeof t, id,
                                         sizeof id, v, sizeof v), 0);
    assert_string_equal(t, "Encounter");
    assert_string_equal(id, "e.2");
    assert_string_equal(v, "3");
    assert_int_equal(fhir_parse_location("http://h/fhir/Condition/c1", t, sizeof t, id, sizeof id, v, sizeof v), 0);
    assert_string_equal(t, "Condition");
    assert_string_equal(id, "c1");
    assert_int_equal(fhir_parse_location("patient/1", t, sizeof t, id, sizeof id, v, sizeof v), -1);
    assert_int_equal(fhir_parse_location("Patient/1/_history", t, sizeof t, id, sizeof id, v, sizeof v), -1);
    assert_int_equal(fhir_parse_location("Patient/has space", t, sizeof t, id, sizeof id, v, sizeof v), -1);
    assert_int_equal(fhir_parse_location("Patient", t, sizeof t, id, sizeof id, v, sizeof v), -1);
}

static void test_outcome_text(void **state)
{
    cJSON *oo = cJSON_Parse("{\"resourceType\":\"OperationOutcome\",\"issue\":["
                            "{\"severity\":\"error\",\"code\":\"invalid\",\"diagnostics\":\"bad date\","
                            "\"expression\":[\"Patient.birthDate\"]},"
                            "{\"severity\":\"warning\",\"code\":\"structure\",\"details\":{\"text\":\"odd\"}}]}");
    cJSON *notoo = cJSON_Parse("{\"resourceType\":\"Patient\"}");
    char out[256];

    (void)state;
    fhir_outcome_text(oo, out, sizeof out);
    assert_string_equal(out, "error invalid: bad date (at Patient.birthDate); warning structure: odd");
    fhir_outcome_text(notoo, out, sizeof out);
    assert_string_equal(out, "");
    fhir_outcome_text(oo, out, 12);
    assert_int_equal(strlen(out), 11);
    cJSON_Delete(oo);
    cJSON_Delete(notoo);
}

static const char *const TX_OK =
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":["
    "{\"response\":{\"status\":\"201 Created\",\"location\":\"Patient/p1/_history/1\"}},"
    "{\"response\":{\"status\":\"200\",\"location\":\"Encounter/e1\"}},"
    "{\"response\":{\"status\":\"201\",\"location\":\"http://s/fhir/Condition/c1/_history/1\"}}]}";

static void test_reply_transaction_ok(void **state)
{
    struct fhir_reply r;

    (void)state;
    fhir_read_reply(200, -1, TX_OK, strlen(TX_OK), 3, &r);
    assert_int_equal(r.kind, FHIR_REPLY_OK);
    assert_int_equal(r.entries, 3);
    assert_int_equal(r.created, 2);
    assert_int_equal(r.updated, 1);
    fhir_read_reply(200, -1, TX_OK, strlen(TX_OK), 4, &r);
    assert_int_equal(r.kind, FHIR_REPLY_FAILED);
    assert_non_null(strstr(r.reason, "3 entries for the 4 sent"));
}

static void test_reply_errors(void **state)
{
    const char *oo = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"structure\","
                     "\"diagnostics\":\"Invalid additional property\",\"expression\":[\"Patient.x\"]}]}";
    const char *entry_fail = "{\"resourceType\":\"Bundle\",\"type\":\"batch-response\",\"entry\":["
                             "{\"response\":{\"status\":\"201 Created\"}},{\"response\":{\"status\":\"422\","
                             "\"outcome\":{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
                             "\"code\":\"processing\",\"diagnostics\":\"no\"}]}}}]}";
    const char *entry_500 = "{\"resourceType\":\"Bundle\",\"type\":\"transaction-response\",\"entry\":["
                            "{\"response\":{\"status\":\"500 Internal Server Error\"}}]}";
    struct fhir_reply r;

    (void)state;
    fhir_read_reply(400, -1, oo, strlen(oo), 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_FAILED);
    assert_string_equal(r.reason, "HTTP 400: error structure: Invalid additional property (at Patient.x)");
    fhir_read_reply(429, 7, oo, strlen(oo), 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
    assert_int_equal(r.retry_after_s, 7);
    fhir_read_reply(503, -1, NULL, 0, 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
    assert_non_null(strstr(r.reason, "HTTP 503"));
    fhir_read_reply(401, -1, "", 0, 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_FAILED);
    assert_true(r.auth_refused);
    assert_non_null(strstr(r.reason, "refused the credentials (HTTP 401)"));
    fhir_read_reply(200, -1, entry_fail, strlen(entry_fail), 2, &r);
    assert_int_equal(r.kind, FHIR_REPLY_FAILED);
    assert_int_equal(r.failed_entries, 1);
    assert_string_equal(r.reason, "entry 1: status 422: error processing: no");
    fhir_read_reply(200, -1, entry_500, strlen(entry_500), 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
    fhir_read_reply(200, -1, "{\"resourceType\":\"Bun", 20, 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
    fhir_read_reply(200, -1, oo, strlen(oo), 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
}

static void test_capability(void **state)
{
    const char *r4 = "{\"resourceType\":\"CapabilityStatement\",\"fhirVersion\":\"4.0.1\",\"rest\":[{\"mode\":\"server\","
                     "\"interaction\":[{\"code\":\"transaction\"}]}]}";
    const char *r5 = "{\"resourceType\":\"CapabilityStatement\",\"fhirVersion\":\"5.0.0\"}";
    struct error e = { 0 };

    (void)state;
    assert_int_equal(fhir_check_capability(r4, strlen(r4), "transaction", "http://s", &e), 0);
    assert_int_equal(fhir_check_capability(r4, strlen(r4), "batch", "http://s", &e), -1);
    assert_non_null(strstr(e.msg, "'batch' interaction"));
    error_clear(&e);
    assert_int_equal(fhir_check_capability(r5, strlen(r5), NULL, "http://s", &e), -1);
    assert_non_null(strstr(e.msg, "FHIR 5.0.0, not R4"));
    error_clear(&e);
    assert_int_equal(fhir_check_capability("<html>", 6, NULL, "http://s", &e), -1);
    assert_non_null(strstr(e.msg, "CapabilityStatement"));
}

static const char *const TX_IN =
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"fullUrl\":\"urn:uuid:aaaa\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
    "\"identifier\":[{\"system\":\"urn:x\",\"value\":\"1 2\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Patient/p1\"}},"
    "{\"fullUrl\":\"urn:uuid:bbbb\",\"resource\":{\"resourceType\":\"Encounter\",\"id\":\"e1\","
    "\"subject\":{\"reference\":\"urn:uuid:aaaa\"}},\"request\":{\"method\":\"PUT\",\"url\":\"Encounter/e1\"}}]}";

static void test_to_batch(void **state)
{
    cJSON *b = cJSON_Parse(TX_IN), *bad;
    struct error e = { 0 };
    char *s;

    (void)state;
    assert_int_equal(fhir_bundle_to_batch(b, &e), 0);
    s = cJSON_PrintUnformatted(b);
    assert_non_null(strstr(s, "\"type\":\"batch\""));
    assert_non_null(strstr(s, "\"subject\":{\"reference\":\"Patient/p1\"}"));
    assert_null(strstr(s, "\"reference\":\"urn:uuid"));
    free(s);
    cJSON_Delete(b);
    bad = cJSON_Parse(TX_IN);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(bad, "entry"), 1), "resource"),
                              "subject", cJSON_Parse("{\"reference\":\"urn:uuid:cccc\"}"));
    assert_int_equal(fhir_bundle_to_batch(bad, &e), -1);
    assert_non_null(strstr(e.msg, "urn:uuid:cccc"));
    cJSON_Delete(bad);
}

static void test_to_conditional(void **state)
{
    cJSON *b = cJSON_Parse(TX_IN);
    struct error e = { 0 };
    char *s;

    (void)state;
    assert_int_equal(fhir_bundle_to_conditional(b, &e), 0);
    s = cJSON_PrintUnformatted(b);
    assert_non_null(strstr(s, "\"request\":{\"method\":\"POST\",\"url\":\"Patient\",\"ifNoneExist\":"
                              "\"identifier=urn:x|1%202\"}"));
    assert_non_null(strstr(s, "\"ifNoneExist\":\"identifier=" FHIR_ID_SYSTEM "|e1\""));
    assert_non_null(strstr(s, "{\"system\":\"" FHIR_ID_SYSTEM "\",\"value\":\"e1\"}"));
    assert_non_null(strstr(s, "\"reference\":\"urn:uuid:aaaa\""));
    assert_null(strstr(s, "\"id\":\"p1\""));
    free(s);
    cJSON_Delete(b);
}

static void test_journal_resume(void **state)
{
    char dir[] = "/tmp/test_journal_XXXXXX", path[128];
    struct journal *j;
    struct error e = { 0 };
    struct journal_line ok = { "record-1.json", 42, "ok", 200, 3, 0, 1, NULL };
    struct journal_line bad = { "record-2.json", 43, "failed", 400, 0, 0, 1, "HTTP 400" };
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_non_null(j = journal_open(dir, "http://s/fhir", &e));
    assert_int_equal(journal_append(j, &ok, &e), 0);
    assert_int_equal(journal_append(j, &bad, &e), 0);
    journal_close(&j);
    snprintf(path, sizeof path, "%s/%s", dir, JOURNAL_NAME);
    assert_non_null(f = fopen(path, "a"));
    fputs("{\"file\":\"record-3.json\",\"hash\":\"000000000000002c\",\"target\":\"http://s/fhir\",\"outc", f);
    fclose(f);
    assert_non_null(j = journal_open(dir, "http://s/fhir", &e));
    assert_true(journal_has_ok(j, "record-1.json", 42));
    assert_false(journal_has_ok(j, "record-1.json", 41));
    assert_false(journal_has_ok(j, "record-2.json", 43));
    assert_false(journal_has_ok(j, "record-3.json", 44));
    assert_int_equal(journal_ok_count(j), 1);
    assert_int_equal(journal_append(j, &ok, &e), 0);
    journal_close(&j);
    assert_non_null(j = journal_open(dir, "http://other/fhir", &e));
    assert_false(journal_has_ok(j, "record-1.json", 42));
    journal_close(&j);
    unlink(path);
    rmdir(dir);
}

static void test_scrub(void **state)
{
    const char *secrets[] = { "tok-SECRET", "pw", NULL };
    char s[] = "refused tok-SECRET and tok-SECRETtok-SECRET, pw";

    (void)state;
    upload_scrub(s, secrets);
    assert_string_equal(s, "refused *** and ******, pw");
}

/* A token after "Bearer " is scrubbed though no list names it (a SMART access token); short words are kept. */
static void test_scrub_bearer(void **state)
{
    const char *none[] = { NULL };
    char s[] = "headers: authorization: Bearer smt-0123456789abcdef; x: BEARER a.b-c_d~e+f/g=h; Bearer realm";

    (void)state;
    upload_scrub(s, none);
    assert_string_equal(s, "headers: authorization: Bearer ***; x: BEARER ***; Bearer realm");
}

/* Patient <- Encounter <-> Conditions (a cycle), Procedure -> all three, Coverage -> Patient. */
static const char split_json[] =
    "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
    "{\"fullUrl\":\"urn:uuid:p1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"},"
    "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/p1\"}},"
    "{\"fullUrl\":\"urn:uuid:v1\",\"resource\":{\"resourceType\":\"Coverage\",\"id\":\"v1\","
    "\"beneficiary\":{\"reference\":\"urn:uuid:p1\"}},\"request\":{\"method\":\"PUT\",\"url\":\"Coverage/v1\"}},"
    "{\"fullUrl\":\"urn:uuid:x1\",\"resource\":{\"resourceType\":\"Procedure\",\"id\":\"x1\","
    "\"subject\":{\"reference\":\"urn:uuid:p1\"},\"encounter\":{\"reference\":\"urn:uuid:e1\"},"
    "\"reasonReference\":[{\"reference\":\"urn:uuid:c1\"}]},\"request\":{\"method\":\"PUT\",\"url\":\"Procedure/x1\"}},"
    "{\"fullUrl\":\"urn:uuid:e1\",\"resource\":{\"resourceType\":\"Encounter\",\"id\":\"e1\","
    "\"subject\":{\"reference\":\"urn:uuid:p1\"},\"diagnosis\":[{\"condition\":{\"reference\":\"urn:uuid:c1\"}},"
    "{\"condition\":{\"reference\":\"urn:uuid:c2\"}}]},\"request\":{\"method\":\"PUT\",\"url\":\"Encounter/e1\"}},"
    "{\"fullUrl\":\"urn:uuid:c1\",\"resource\":{\"resourceType\":\"Condition\",\"id\":\"c1\","
    "\"subject\":{\"reference\":\"urn:uuid:p1\"},\"encounter\":{\"reference\":\"urn:uuid:e1\"}},"
    "\"request\":{\"method\":\"PUT\",\"url\":\"Condition/c1\"}},"
    "{\"fullUrl\":\"urn:uuid:c2\",\"resource\":{\"resourceType\":\"Condition\",\"id\":\"c2\","
    "\"subject\":{\"reference\":\"urn:uuid:p1\"},\"encounter\":{\"reference\":\"urn:uuid:e1\"}},"
    "\"request\":{\"method\":\"PUT\",\"url\":\"Condition/c2\"}}]}";

/* The reference at resource.<field>[.reference] of the entry with the given id in part, or NULL. */
static const char *ref_in(const cJSON *part, const char *id, const char *field)
{
    const cJSON *e, *v;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(part, "entry")) {
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");

        if (strcmp(cJSON_GetObjectItemCaseSensitive(res, "id")->valuestring, id))
            continue;
        v = cJSON_GetObjectItemCaseSensitive(res, field);
        v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
        if (!strcmp(field, "diagnosis"))
            v = cJSON_GetObjectItemCaseSensitive(v, "condition");
        return cJSON_GetObjectItemCaseSensitive(v, "reference")->valuestring;
    }
    return NULL;
}

/* Every urn:uuid reference under node names a fullUrl of the part. */
static int urns_resolve(const cJSON *part, const cJSON *node)
{
    const cJSON *child, *ref = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, "reference") : NULL;

    if (cJSON_IsString(ref) && !strncmp(ref->valuestring, "urn:uuid:", 9)) {
        int found = 0;
        const cJSON *e;

        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(part, "entry"))
            found |= !strcmp(cJSON_GetObjectItemCaseSensitive(e, "fullUrl")->valuestring, ref->valuestring);
        if (!found)
            return 0;
    }
    cJSON_ArrayForEach(child, node)
        if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && !urns_resolve(part, child))
            return 0;
    return 1;
}

static void test_split(void **state)
{
    cJSON *b = cJSON_Parse(split_json), **parts = NULL;
    struct error err = { 0 };
    size_t n = 0, i, total = 0;

    (void)state;
    assert_non_null(b);
    /* no caps: one part, references untouched */
    assert_int_equal(bundle_split(b, 0, 0, &parts, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[0], "entry")), 6);
    assert_string_equal(ref_in(parts[0], "x1", "encounter"), "urn:uuid:e1");
    split_free(&parts, n);
    assert_null(parts);
    /* 3 entries: Patient + Coverage | Encounter + Conditions | Procedure (referenced entries first) */
    assert_int_equal(bundle_split(b, 3, 0, &parts, &n, &err), 0);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[i], "entry"));
        assert_true(urns_resolve(parts[i], parts[i]));
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(parts[i], "type")->valuestring, "transaction");
    }
    assert_int_equal(total, 6);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[0], "entry")), 2); /* Patient, Coverage */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[1], "entry")), 3);
    assert_null(ref_in(parts[1], "p1", "subject"));
    assert_string_equal(ref_in(parts[1], "e1", "subject"), "Patient/p1");
    assert_string_equal(ref_in(parts[1], "e1", "diagnosis"), "urn:uuid:c1");   /* same part: stays */
    assert_string_equal(ref_in(parts[1], "c1", "encounter"), "urn:uuid:e1");
    assert_string_equal(ref_in(parts[2], "x1", "encounter"), "Encounter/e1");
    assert_string_equal(ref_in(parts[2], "x1", "reasonReference"), "Condition/c1");
    assert_string_equal(ref_in(parts[0], "v1", "beneficiary"), "urn:uuid:p1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(parts[2], "entry")), 1);
    split_free(&parts, n);
    /* the Encounter-Condition cycle (3 entries) cannot go under a cap of 2 */
    assert_int_equal(bundle_split(b, 2, 0, &parts, &n, &err), -1);
    assert_non_null(strstr(err.msg, "reference one another"));
    assert_null(parts);
    /* a byte cap: each part fits */
    memset(&err, 0, sizeof err);
    assert_int_equal(bundle_split(b, 0, 1100, &parts, &n, &err), 0);
    assert_true(n >= 2);
    for (i = 0; i < n; i++) {
        char *text = cJSON_PrintUnformatted(parts[i]);

        assert_true(strlen(text) <= 1100);
        free(text);
    }
    split_free(&parts, n);
    cJSON_Delete(b);
}

/* gzip_compress writes a gzip member (magic 1f 8b) that inflates back to the input. */
static void test_gzip(void **state)
{
    char in[20000], back[20000], *gz = NULL;
    size_t i, gzlen = 0;
    struct error err = { 0 };
    z_stream z = { 0 };

    (void)state;
    for (i = 0; i < sizeof in; i++)
        in[i] = "{\"resourceType\":\"Patient\"}"[i % 27];
    assert_int_equal(gzip_compress(in, sizeof in, &gz, &gzlen, &err), 0);
    assert_true(gzlen > 18 && gzlen < sizeof in / 10);
    assert_int_equal((unsigned char)gz[0], 0x1f);
    assert_int_equal((unsigned char)gz[1], 0x8b);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)gzlen;
    z.next_out = (Bytef *)back;
    z.avail_out = sizeof back;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, sizeof in);
    assert_memory_equal(back, in, sizeof in);
    inflateEnd(&z);
    free(gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_code),     cmocka_unit_test(test_location_forms),
        cmocka_unit_test(test_outcome_text),    cmocka_unit_test(test_reply_transaction_ok),
        cmocka_unit_test(test_reply_errors),    cmocka_unit_test(test_capability),
        cmocka_unit_test(test_to_batch),        cmocka_unit_test(test_to_conditional),
        cmocka_unit_test(test_journal_resume),  cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_scrub_bearer),
        cmocka_unit_test(test_split),           cmocka_unit_test(test_gzip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
