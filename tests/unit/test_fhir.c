/* test_fhir.c - unit tests of the record -> FHIR transaction Bundle mapping and of the bundle checker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fhir/bundle.h"
#include "fhir/check.h"
#include "fhir/terminology.h"

#define EXT_RACE "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
#define EXT_ETHNICITY "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
#define EXT_RELIGION "http://hl7.org/fhir/StructureDefinition/patient-religion"
#define ADMIT "2021-03-04T05:06:07Z"
#define DISCH "2021-03-09T17:30:00Z"

/* ---- helpers ---- */

static const char *display_cb(void *user, const char *system, const char *code)
{
    (void)user;
    if (!strcmp(system, FHIR_SYSTEM_ICD9) && !strcmp(code, "403.91"))
        return "Hypertensive chronic kidney disease, unspecified, with chronic kidney disease stage V";
    if (!strcmp(system, FHIR_SYSTEM_ICD9) && !strcmp(code, "428.0"))
        return "   "; /* blank displays must be ignored */
    if (!strcmp(system, FHIR_SYSTEM_ICD9) && !strcmp(code, "96.71"))
        return "Continuous invasive mechanical ventilation for less than 96 consecutive hours";
    return NULL;
}

static void add(struct record *r, const char *name, const char *value)
{
    assert_int_equal(record_add(r, name, value), 0);
}

/* A plausible record: 3 diagnoses, 2 procedures, no prescriptions. */
static void base_record(struct record *r, uint64_t index)
{
    memset(r, 0, sizeof *r);
    r->index = index;
    add(r, F_GENDER, "F");
    add(r, F_AGE, "67");
    add(r, F_INSURANCE, "Medicare");
    add(r, F_LANGUAGE, "ENGL");
    add(r, F_RELIGION, "CATHOLIC");
    add(r, F_MARITAL, "MARRIED");
    add(r, F_ETHNICITY, "WHITE");
    add(r, F_EXPIRE, "0");
    add(r, F_ICD9, "403.91");
    add(r, F_ICD9, "58381");
    add(r, F_ICD9, "428.0");
    add(r, F_CPT, "99223");
    add(r, F_CPT, "36556");
    add(r, F_ADMITTIME, ADMIT);
    add(r, F_DISCHTIME, DISCH);
    add(r, F_BIRTHDATE, "1954-02-28");
    add(r, F_NAME_GIVEN, "Mary");
    add(r, F_NAME_FAMILY, "Smith");
}

/* dst = src without the fields called name. */
static void copy_without(const struct record *src, const char *name, struct record *dst)
{
    size_t i;

    memset(dst, 0, sizeof *dst);
    dst->index = src->index;
    for (i = 0; i < src->nfields; i++)
        if (strcmp(src->fields[i].name, name) != 0)
            add(dst, src->fields[i].name, src->fields[i].value);
}

static cJSON *map_ok(const struct record *r, uint64_t seed)
{
    struct fhir_context ctx = { seed, display_cb, NULL };
    struct error err = { LLMSYN_OK, "" };
    cJSON *b = fhir_bundle_from_record(r, &ctx, &err);

    if (!b)
        fail_msg("mapping failed: %s", err.msg);
    assert_int_equal(err.code, LLMSYN_OK);
    return b;
}

static char *print(const cJSON *b)
{
    char *s = cJSON_PrintUnformatted(b);

    assert_non_null(s);
    return s;
}

static int count_type(const cJSON *b, const char *type)
{
    const cJSON *e;
    int n = 0;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "entry"))
    {
        const cJSON *rt = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "resourceType");

        n += cJSON_IsString(rt) && !strcmp(rt->valuestring, type);
    }
    return n;
}

/* The n-th (0-based) entry whose resource is of `type`; fails the test when absent. */
static cJSON *entry_of(const cJSON *b, const char *type, int n)
{
    cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "entry"))
    {
        const cJSON *rt = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "resource"), "resourceType");

        if (cJSON_IsString(rt) && !strcmp(rt->valuestring, type) && n-- == 0)
            return e;
    }
    fail_msg("no %s entry", type);
    return NULL;
}

static cJSON *resource_of(const cJSON *b, const char *type, int n)
{
    return cJSON_GetObjectItem(entry_of(b, type, n), "resource");
}

static const char *str_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *ext_by_url(const cJSON *node, const char *url)
{
    cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(node, "extension"))
    {
        const char *u = str_at(e, "url");

        if (u && !strcmp(u, url))
            return e;
    }
    return NULL;
}

static void assert_no_empty_strings(const cJSON *node)
{
    const cJSON *c;

    if (cJSON_IsString(node)) {
        assert_non_null(node->valuestring);
        assert_true(node->valuestring[0] != '\0');
    }
    if (cJSON_IsArray(node) || cJSON_IsObject(node))
        assert_non_null(node->child); /* no empty objects or arrays either */
    cJSON_ArrayForEach(c, node)
        assert_no_empty_strings(c);
}

static void assert_valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len, i;

    while (*p) {
        len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        assert_true(len > 0);
        for (i = 1; i < len; i++)
            assert_int_equal(p[i] & 0xc0, 0x80);
        p += len;
    }
}

static void check_ok(const cJSON *b)
{
    struct error err = { LLMSYN_OK, "" };

    if (fhir_check_bundle(b, "test.json", &err) != 0)
        fail_msg("checker refused a mapped bundle: %s", err.msg);
}

/* ---- ids ---- */

static void test_resource_id(void **state)
{
    char a[37], b[37];
    int i;

    (void)state;
    /* known answers, computed independently with Python's uuid.uuid5 and the documented namespace */
    fhir_resource_id(1, 0, "Patient", 0, a);
    assert_string_equal(a, "ff4bab70-bce7-5d35-b56c-32ade178cc90");
    fhir_resource_id(42, 7, "Condition", 3, a);
    assert_string_equal(a, "780800cc-f3a9-5d85-b6f7-130a5f8ca918");
    fhir_resource_id(UINT64_MAX, UINT64_MAX, "Procedure", 4294967295u, a);
    assert_string_equal(a, "65ed53e6-777f-55b4-9faa-d5cfc25469e9");
    /* shape: lower case, version 5, RFC 4122 variant */
    fhir_resource_id(9, 9, "Encounter", 0, a);
    assert_int_equal(strlen(a), 36);
    for (i = 0; i < 36; i++)
        assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f') || a[i] == '-');
    assert_int_equal(a[14], '5');
    assert_non_null(strchr("89ab", a[19]));
    /* every part of the name matters */
    fhir_resource_id(9, 9, "Encounter", 1, b);
    assert_string_not_equal(a, b);
    fhir_resource_id(9, 8, "Encounter", 0, b);
    assert_string_not_equal(a, b);
    fhir_resource_id(8, 9, "Encounter", 0, b);
    assert_string_not_equal(a, b);
    fhir_resource_id(9, 9, "Patient", 0, b);
    assert_string_not_equal(a, b);
    fhir_resource_id(9, 9, "Encounter", 0, b);
    assert_string_equal(a, b);
}

/* ---- structure ---- */

static void test_structure(void **state)
{
    struct record r;
    cJSON *b, *e;
    char id[37], want[64];

    (void)state;
    base_record(&r, 5);
    b = map_ok(&r, 11);
    assert_string_equal(str_at(b, "resourceType"), "Bundle");
    assert_string_equal(str_at(b, "type"), "transaction");
    assert_int_equal(count_type(b, "Patient"), 1);
    assert_int_equal(count_type(b, "Encounter"), 1);
    assert_int_equal(count_type(b, "Condition"), 3);
    assert_int_equal(count_type(b, "Procedure"), 2);
    assert_int_equal(count_type(b, "MedicationRequest"), 0);
    assert_int_equal(count_type(b, "Coverage"), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "entry")), 8);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "entry"))
    {
        const cJSON *res = cJSON_GetObjectItem(e, "resource");
        const cJSON *req = cJSON_GetObjectItem(e, "request");

        snprintf(want, sizeof want, "urn:uuid:%s", str_at(res, "id"));
        assert_string_equal(str_at(e, "fullUrl"), want);
        assert_string_equal(str_at(req, "method"), "PUT");
        snprintf(want, sizeof want, "%s/%s", str_at(res, "resourceType"), str_at(res, "id"));
        assert_string_equal(str_at(req, "url"), want);
    }
    /* ids are the documented UUIDv5 of (seed, index, resource, n) */
    fhir_resource_id(11, 5, "Patient", 0, id);
    assert_string_equal(str_at(resource_of(b, "Patient", 0), "id"), id);
    fhir_resource_id(11, 5, "Condition", 2, id);
    assert_string_equal(str_at(resource_of(b, "Condition", 2), "id"), id);
    fhir_resource_id(11, 5, "Procedure", 1, id);
    assert_string_equal(str_at(resource_of(b, "Procedure", 1), "id"), id);
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

static void test_deterministic(void **state)
{
    static const uint64_t seeds[4] = { 1, 1, 2, 1 }, indexes[4] = { 3, 3, 3, 4 };
    struct record r;
    cJSON *b[4];
    char *s[4];
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        base_record(&r, indexes[i]);
        b[i] = map_ok(&r, seeds[i]);
        s[i] = print(b[i]);
        record_free(&r);
    }
    assert_string_equal(s[0], s[1]); /* same record, same bytes */
    for (i = 2; i < 4; i++) {        /* another seed, another index: other ids */
        assert_string_not_equal(s[0], s[i]);
        assert_string_not_equal(str_at(resource_of(b[0], "Patient", 0), "id"),
                                str_at(resource_of(b[i], "Patient", 0), "id"));
        assert_string_not_equal(str_at(resource_of(b[0], "Encounter", 0), "id"),
                                str_at(resource_of(b[i], "Encounter", 0), "id"));
    }
    for (i = 0; i < 4; i++) {
        free(s[i]);
        cJSON_Delete(b[i]);
    }
}

/* ---- Patient ---- */

struct eth_case {
    const char *value; /* NULL: field missing */
    const char *race_omb, *race_det; /* NULL: sub-extension absent; "-": whole extension absent */
    const char *eth_omb, *eth_det;
};

static const cJSON *sub_coding(const cJSON *ext, const char *url)
{
    const cJSON *e = ext_by_url(ext, url);

    return e ? cJSON_GetObjectItem(e, "valueCoding") : NULL;
}

static void assert_origin(const cJSON *ext, const char *omb, const char *det, const char *text)
{
    const cJSON *c;

    if (omb && !strcmp(omb, "-")) {
        assert_null(ext);
        return;
    }
    assert_non_null(ext);
    c = sub_coding(ext, "ombCategory");
    if (omb) {
        assert_non_null(c);
        assert_string_equal(str_at(c, "code"), omb);
        assert_string_equal(str_at(c, "system"), strchr(omb, '-') ? "urn:oid:2.16.840.1.113883.6.238"
                                                                  : "http://terminology.hl7.org/CodeSystem/v3-NullFlavor");
    } else {
        assert_null(c);
    }
    c = sub_coding(ext, "detailed");
    if (det)
        assert_string_equal(str_at(c, "code"), det);
    else
        assert_null(c);
    assert_string_equal(str_at(ext_by_url(ext, "text"), "valueString"), text);
}

static void test_race_ethnicity(void **state)
{
    static const struct eth_case cases[] = {
        { "WHITE", "2106-3", NULL, "-", NULL },
        { "white - russian", "2106-3", NULL, "-", NULL },
        { "WHITE - EASTERN EUROPEAN", "2106-3", "2108-9", "-", NULL },
        { "BLACK/AFRICAN AMERICAN", "2054-5", "2058-6", "-", NULL },
        { "BLACK/HAITIAN", "2054-5", "2071-9", "-", NULL },
        { "BLACK/CAPE VERDEAN", "2054-5", NULL, "-", NULL },
        { "ASIAN - CHINESE", "2028-9", "2034-7", "-", NULL },
        { "ASIAN", "2028-9", NULL, "-", NULL },
        { "AMERICAN INDIAN/ALASKA NATIVE FEDERALLY RECOGNIZED TRIBE", "1002-5", NULL, "-", NULL },
        { "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", "2076-8", NULL, "-", NULL },
        { "MIDDLE EASTERN", "2106-3", "2118-8", "-", NULL },
        { "HISPANIC/LATINO - PUERTO RICAN", "-", NULL, "2135-2", "2180-8" },
        { "HISPANIC OR LATINO", "-", NULL, "2135-2", NULL },
        { "UNKNOWN/NOT SPECIFIED", "UNK", NULL, "UNK", NULL },
        { "UNABLE TO OBTAIN", "UNK", NULL, "UNK", NULL },
        { "PATIENT DECLINED TO ANSWER", "ASKU", NULL, "ASKU", NULL },
        { "MULTI RACE ETHNICITY", NULL, NULL, "-", NULL },
        { "OTHER", NULL, NULL, "-", NULL },
        { "CARIBBEAN ISLAND", NULL, NULL, "-", NULL },
        { "SOUTH AMERICAN", "-", NULL, NULL, NULL },
        { "Martian", NULL, NULL, "-", NULL },
        { NULL, "UNK", NULL, "UNK", NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct record full, r;
        cJSON *b, *p;
        const char *text = cases[i].value ? cases[i].value : "unknown";

        base_record(&full, i);
        copy_without(&full, F_ETHNICITY, &r);
        record_free(&full);
        if (cases[i].value)
            add(&r, F_ETHNICITY, cases[i].value);
        b = map_ok(&r, 1);
        p = resource_of(b, "Patient", 0);
        assert_origin(ext_by_url(p, EXT_RACE), cases[i].race_omb, cases[i].race_det, text);
        assert_origin(ext_by_url(p, EXT_ETHNICITY), cases[i].eth_omb, cases[i].eth_det, text);
        assert_no_empty_strings(b);
        check_ok(b);
        cJSON_Delete(b);
        record_free(&r);
    }
}

static const cJSON *first_coding(const cJSON *concept)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(concept, "coding"), 0);
}

/* The code of the first coding of obj[key] (a CodeableConcept). */
static const char *code_at(const cJSON *obj, const char *key)
{
    return str_at(first_coding(cJSON_GetObjectItem(obj, key)), "code");
}

static void test_patient_demographics(void **state)
{
    struct record r;
    cJSON *b, *p, *lang, *rel, *name;

    (void)state;
    base_record(&r, 12);
    b = map_ok(&r, 77);
    p = resource_of(b, "Patient", 0);
    assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "identifier"), 0), "value"), "77-12");
    assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "identifier"), 0), "system"),
                        "urn:llmsyn-fhir:record");
    name = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "name"), 0);
    assert_string_equal(str_at(name, "use"), "official");
    assert_string_equal(str_at(name, "family"), "Smith");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(name, "given"), 0)->valuestring, "Mary");
    assert_string_equal(str_at(p, "gender"), "female");
    assert_string_equal(str_at(p, "birthDate"), "1954-02-28");
    assert_string_equal(code_at(p, "maritalStatus"), "M");
    lang = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "communication"), 0), "language");
    assert_string_equal(str_at(first_coding(lang), "system"), "urn:ietf:bcp:47");
    assert_string_equal(str_at(first_coding(lang), "code"), "en");
    rel = ext_by_url(p, EXT_RELIGION);
    assert_string_equal(str_at(cJSON_GetObjectItem(rel, "valueCodeableConcept"), "text"), "CATHOLIC");
    cJSON_Delete(b);

    /* unknowns: language omitted, marital UNK, religion omitted, odd gender unknown, bad DOB omitted */
    assert_int_equal(record_set(&r, F_LANGUAGE, "UNKNOWN"), 0);
    assert_int_equal(record_set(&r, F_MARITAL, "UNKNOWN (DEFAULT)"), 0);
    assert_int_equal(record_set(&r, F_RELIGION, "NOT SPECIFIED"), 0);
    assert_int_equal(record_set(&r, F_GENDER, "X"), 0);
    assert_int_equal(record_set(&r, F_BIRTHDATE, "1954-02-30"), 0);
    b = map_ok(&r, 77);
    p = resource_of(b, "Patient", 0);
    assert_null(cJSON_GetObjectItem(p, "communication"));
    assert_string_equal(code_at(p, "maritalStatus"), "UNK");
    assert_string_equal(str_at(first_coding(cJSON_GetObjectItem(p, "maritalStatus")), "system"),
                        "http://terminology.hl7.org/CodeSystem/v3-NullFlavor");
    assert_null(ext_by_url(p, EXT_RELIGION));
    assert_string_equal(str_at(p, "gender"), "unknown");
    assert_null(cJSON_GetObjectItem(p, "birthDate"));
    cJSON_Delete(b);

    /* uncertain language code and unrecognised marital status keep their text, without a coding */
    assert_int_equal(record_set(&r, F_LANGUAGE, "PTUN"), 0);
    assert_int_equal(record_set(&r, F_MARITAL, "LIFE PARTNER"), 0);
    assert_int_equal(record_set(&r, F_GENDER, "male"), 0);
    b = map_ok(&r, 77);
    p = resource_of(b, "Patient", 0);
    lang = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "communication"), 0), "language");
    assert_null(cJSON_GetObjectItem(lang, "coding"));
    assert_string_equal(str_at(lang, "text"), "PTUN");
    assert_string_equal(code_at(p, "maritalStatus"), "T");
    assert_string_equal(str_at(p, "gender"), "male");
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

static void test_terminology_tables(void **state)
{
    static const char *const lang[][2] = {
        { "SPAN", "es" }, { "RUSS", "ru" }, { "CANT", "yue" }, { "PORT", "pt" }, { "CAPE", "kea" },
        { "MAND", "cmn" }, { "HAIT", "ht" }, { "VIET", "vi" }, { "CAMB", "km" }, { "*ARM", "hy" },
        { "English", "en" }, { " engl ", "en" },
    };
    struct term_coding c;
    char code[8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof lang / sizeof lang[0]; i++) {
        assert_int_equal(term_language(lang[i][0], &c), TERM_CODED);
        assert_string_equal(c.code, lang[i][1]);
        assert_string_equal(c.system, TERM_SYS_BCP47);
    }
    assert_int_equal(term_language("**TO", &c), TERM_TEXT);
    assert_null(c.code);
    assert_int_equal(term_language(NULL, &c), TERM_ABSENT);
    assert_int_equal(term_language("  ", &c), TERM_ABSENT);
    assert_int_equal(term_marital("SINGLE", &c), TERM_CODED);
    assert_string_equal(c.code, "S");
    assert_int_equal(term_marital("SEPARATED", &c), TERM_CODED);
    assert_string_equal(c.code, "L");
    assert_int_equal(term_marital("complicated", &c), TERM_TEXT);
    assert_int_equal(term_marital(NULL, &c), TERM_ABSENT);
    assert_true(term_religion_known("PROTESTANT QUAKER"));
    assert_false(term_religion_known("UNOBTAINABLE"));
    assert_false(term_religion_known(""));
    assert_int_equal(term_icd9_dotted(" 58381 ", code), 0);
    assert_string_equal(code, "583.81");
    assert_int_equal(term_icd9_dotted("e849.7", code), 0);
    assert_string_equal(code, "E849.7");
    assert_int_equal(term_icd9_dotted("V10", code), 0);
    assert_string_equal(code, "V10");
    assert_int_equal(term_icd9_dotted("250.", code), -1);
    assert_int_equal(term_icd9_dotted("250.123", code), -1);
    assert_int_equal(term_icd9_dotted("E849.12", code), -1);
    assert_int_equal(term_icd9_dotted("25 0", code), -1);
    assert_int_equal(term_icd9_dotted("I10", code), -1); /* ICD-10 */
    assert_int_equal(term_cpt_code("0001f", code), 0);
    assert_string_equal(code, "0001F");
    assert_int_equal(term_cpt_code("992231", code), -1);
    assert_int_equal(term_cpt_code("G0378", code), -1);
    assert_true(term_insurance_self_pay("Self Pay"));
    assert_false(term_insurance_self_pay("Medicaid"));
}

/* ---- outcome ---- */

static const char *disposition(const cJSON *b)
{
    const cJSON *h = cJSON_GetObjectItem(resource_of(b, "Encounter", 0), "hospitalization");

    return code_at(h, "dischargeDisposition");
}

static void test_deceased(void **state)
{
    struct record r;
    cJSON *b, *p;

    (void)state;
    base_record(&r, 1);
    b = map_ok(&r, 1);
    p = resource_of(b, "Patient", 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(p, "deceasedBoolean")));
    assert_null(cJSON_GetObjectItem(p, "deceasedDateTime"));
    assert_string_equal(disposition(b), "home");
    cJSON_Delete(b);

    assert_int_equal(record_set(&r, F_EXPIRE, " 1 "), 0);
    b = map_ok(&r, 1);
    p = resource_of(b, "Patient", 0);
    assert_string_equal(str_at(p, "deceasedDateTime"), DISCH);
    assert_null(cJSON_GetObjectItem(p, "deceasedBoolean"));
    assert_string_equal(disposition(b), "exp");
    check_ok(b);
    cJSON_Delete(b);

    assert_int_equal(record_set(&r, F_EXPIRE, "maybe"), 0);
    b = map_ok(&r, 1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(resource_of(b, "Patient", 0), "deceasedBoolean")));
    cJSON_Delete(b);
    record_free(&r);
}

/* ---- Encounter, Condition, Procedure ---- */

static void test_conditions_and_procedures(void **state)
{
    struct record r;
    cJSON *b, *enc, *c, *diag, *p;
    const cJSON *code;
    char main_url[64];
    const char *t0, *t1;
    int i;

    (void)state;
    base_record(&r, 2);
    add(&r, F_ICD9, "v1052");
    add(&r, F_ICD9, "E8497");
    add(&r, F_ICD9, "heart failure");
    add(&r, F_CPT, "9922");
    b = map_ok(&r, 5);
    assert_int_equal(count_type(b, "Condition"), 6);
    /* codes in dotted form, display only from the callback */
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Condition", 0), "code"));
    assert_string_equal(str_at(code, "system"), FHIR_SYSTEM_ICD9);
    assert_string_equal(str_at(code, "code"), "403.91");
    assert_non_null(strstr(str_at(code, "display"), "Hypertensive chronic kidney disease"));
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Condition", 1), "code"));
    assert_string_equal(str_at(code, "code"), "583.81");
    assert_null(cJSON_GetObjectItem(code, "display"));
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Condition", 2), "code"));
    assert_string_equal(str_at(code, "code"), "428.0");
    assert_null(cJSON_GetObjectItem(code, "display")); /* the callback's blank answer is dropped */
    assert_string_equal(code_at(resource_of(b, "Condition", 3), "code"), "V10.52");
    assert_string_equal(code_at(resource_of(b, "Condition", 4), "code"), "E849.7");
    c = cJSON_GetObjectItem(resource_of(b, "Condition", 5), "code");
    assert_null(cJSON_GetObjectItem(c, "coding"));
    assert_string_equal(str_at(c, "text"), "heart failure");
    c = resource_of(b, "Condition", 0);
    assert_string_equal(code_at(c, "verificationStatus"), "confirmed");
    assert_string_equal(str_at(first_coding(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "category"), 0)), "code"),
                        "encounter-diagnosis");
    assert_string_equal(str_at(c, "recordedDate"), DISCH);
    snprintf(main_url, sizeof main_url, "%s", str_at(entry_of(b, "Condition", 0), "fullUrl"));

    /* Encounter: inpatient, stay period, diagnoses ranked in record order */
    enc = resource_of(b, "Encounter", 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(enc, "class"), "code"), "IMP");
    assert_string_equal(str_at(cJSON_GetObjectItem(enc, "period"), "start"), ADMIT);
    assert_string_equal(str_at(cJSON_GetObjectItem(enc, "period"), "end"), DISCH);
    diag = cJSON_GetObjectItem(enc, "diagnosis");
    assert_int_equal(cJSON_GetArraySize(diag), 6);
    for (i = 0; i < 6; i++) {
        const cJSON *d = cJSON_GetArrayItem(diag, i);

        assert_int_equal(cJSON_GetObjectItem(d, "rank")->valueint, i + 1);
        assert_string_equal(str_at(cJSON_GetObjectItem(d, "condition"), "reference"),
                            str_at(entry_of(b, "Condition", i), "fullUrl"));
        assert_string_equal(code_at(d, "use"), "DD");
    }

    /* Procedures: CPT when shaped like one, inside the stay, in order, for the main diagnosis */
    assert_int_equal(count_type(b, "Procedure"), 3);
    p = resource_of(b, "Procedure", 0);
    assert_string_equal(str_at(first_coding(cJSON_GetObjectItem(p, "code")), "system"), FHIR_SYSTEM_CPT);
    assert_string_equal(code_at(p, "code"), "99223");
    assert_null(cJSON_GetObjectItem(first_coding(cJSON_GetObjectItem(p, "code")), "display"));
    assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "reasonReference"), 0), "reference"),
                        main_url);
    assert_string_equal(str_at(cJSON_GetObjectItem(resource_of(b, "Procedure", 2), "code"), "text"), "9922");
    for (i = 0; i < 3; i++) {
        t0 = str_at(resource_of(b, "Procedure", i), "performedDateTime");
        assert_int_equal(strlen(t0), 20);
        assert_int_equal(t0[19], 'Z');
        assert_true(strcmp(t0, ADMIT) > 0 && strcmp(t0, DISCH) < 0);
        if (i > 0) {
            t1 = str_at(resource_of(b, "Procedure", i - 1), "performedDateTime");
            assert_true(strcmp(t1, t0) < 0);
        }
    }
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

/* --procedure-codes icd9: ICD9_PROC_CODE values become Procedures in the ICD-9-CM system, dot after 2 digits. */
static void test_icd9_procedures(void **state)
{
    static const char *const values[] = { "9671", " 38.93 ", "96..71", "96.71 x", "3.91" };
    struct record base, r;
    const cJSON *code;
    cJSON *b;
    char id[37];
    size_t i;

    (void)state;
    base_record(&base, 4);
    copy_without(&base, F_CPT, &r);
    for (i = 0; i < sizeof values / sizeof values[0]; i++)
        add(&r, F_ICD9_PROC, values[i]);
    b = map_ok(&r, 9);
    assert_int_equal(count_type(b, "Procedure"), 5);
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Procedure", 0), "code"));
    assert_string_equal(str_at(code, "system"), FHIR_SYSTEM_ICD9);
    assert_string_equal(str_at(code, "code"), "96.71");
    assert_string_equal(str_at(code, "display"),
                        "Continuous invasive mechanical ventilation for less than 96 consecutive hours");
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Procedure", 1), "code"));
    assert_string_equal(str_at(code, "code"), "38.93");
    assert_null(cJSON_GetObjectItem(code, "display"));
    for (i = 2; i < 4; i++) { /* not a code: text only */
        const cJSON *c = cJSON_GetObjectItem(resource_of(b, "Procedure", (int)i), "code");

        assert_null(cJSON_GetObjectItem(c, "coding"));
        assert_string_equal(str_at(c, "text"), values[i]);
    }
    assert_string_equal(code_at(resource_of(b, "Procedure", 4), "code"), "03.91");
    fhir_resource_id(9, 4, "Procedure", 0, id);
    assert_string_equal(str_at(resource_of(b, "Procedure", 0), "id"), id);
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);

    /* both kinds in one record: CPT first, ICD-9-CM numbered on, ids distinct */
    add(&base, F_ICD9_PROC, "39.95");
    b = map_ok(&base, 9);
    assert_int_equal(count_type(b, "Procedure"), 3);
    assert_string_equal(code_at(resource_of(b, "Procedure", 0), "code"), "99223");
    code = first_coding(cJSON_GetObjectItem(resource_of(b, "Procedure", 2), "code"));
    assert_string_equal(str_at(code, "system"), FHIR_SYSTEM_ICD9);
    assert_string_equal(str_at(code, "code"), "39.95");
    fhir_resource_id(9, 4, "Procedure", 2, id);
    assert_string_equal(str_at(resource_of(b, "Procedure", 2), "id"), id);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&base);
    record_free(&r);
}

static void test_time_zone_normalised(void **state)
{
    struct record r;
    cJSON *b, *period;

    (void)state;
    base_record(&r, 2);
    assert_int_equal(record_set(&r, F_ADMITTIME, "2021-03-04T01:30:00+02:00"), 0);
    assert_int_equal(record_set(&r, F_DISCHTIME, "2021-03-05 00:15"), 0);
    b = map_ok(&r, 5);
    period = cJSON_GetObjectItem(resource_of(b, "Encounter", 0), "period");
    assert_string_equal(str_at(period, "start"), "2021-03-03T23:30:00Z");
    assert_string_equal(str_at(period, "end"), "2021-03-05T00:15:00Z");
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

/* ---- MedicationRequest ---- */

static void test_medication_requests(void **state)
{
    struct record r;
    cJSON *b, *mr, *med, *dose, *dosage;
    char main_url[64];

    (void)state;
    base_record(&r, 8);
    b = map_ok(&r, 3);
    assert_int_equal(count_type(b, "MedicationRequest"), 0);
    cJSON_Delete(b);

    add(&r, F_PRESCRIPTION, "MAIN | Insulin Glargine | INGLA | 30 | Units | 1 | Vial | SC");
    add(&r, F_PRESCRIPTION, "  |  |  |  |  |  |  |  ");
    add(&r, F_PRESCRIPTION, "MAIN | Insulin Lispro | INLIS | As needed | Units | 1 | Vial | SC");
    add(&r, F_PRESCRIPTION, "Aspirin");
    b = map_ok(&r, 3);
    assert_int_equal(count_type(b, "MedicationRequest"), 3);
    snprintf(main_url, sizeof main_url, "%s", str_at(entry_of(b, "Condition", 0), "fullUrl"));

    mr = resource_of(b, "MedicationRequest", 0);
    assert_string_equal(str_at(mr, "status"), "completed");
    assert_string_equal(str_at(mr, "intent"), "order");
    assert_string_equal(str_at(mr, "authoredOn"), ADMIT);
    med = cJSON_GetObjectItem(mr, "medicationCodeableConcept");
    assert_string_equal(str_at(med, "text"), "Insulin Glargine");
    assert_string_equal(str_at(first_coding(med), "system"), "urn:llmsyn-fhir:formulary");
    assert_string_equal(str_at(first_coding(med), "code"), "INGLA");
    assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(mr, "reasonReference"), 0), "reference"),
                        main_url);
    dosage = cJSON_GetArrayItem(cJSON_GetObjectItem(mr, "dosageInstruction"), 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(dosage, "route"), "text"), "SC");
    dose = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(dosage, "doseAndRate"), 0), "doseQuantity");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(dose, "value")));
    assert_true(cJSON_GetObjectItem(dose, "value")->valuedouble == 30.0);
    assert_string_equal(str_at(dose, "unit"), "Units");

    /* a dose that is not a number becomes instruction text; the blank prescription made no resource */
    mr = resource_of(b, "MedicationRequest", 1);
    assert_string_equal(str_at(cJSON_GetObjectItem(mr, "medicationCodeableConcept"), "text"), "Insulin Lispro");
    dosage = cJSON_GetArrayItem(cJSON_GetObjectItem(mr, "dosageInstruction"), 0);
    assert_string_equal(str_at(dosage, "text"), "As needed Units");
    assert_null(cJSON_GetObjectItem(dosage, "doseAndRate"));

    /* a bare drug name: text only, no coding, no dosage */
    mr = resource_of(b, "MedicationRequest", 2);
    med = cJSON_GetObjectItem(mr, "medicationCodeableConcept");
    assert_string_equal(str_at(med, "text"), "Aspirin");
    assert_null(cJSON_GetObjectItem(med, "coding"));
    assert_null(cJSON_GetObjectItem(mr, "dosageInstruction"));
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

/* ---- hostile values ---- */

static void test_odd_values(void **state)
{
    struct record r;
    cJSON *b, *p, *cov;
    char *s;

    (void)state;
    base_record(&r, 4);
    assert_int_equal(record_set(&r, F_RELIGION, "  \x01 CATH\xff\xfeOLIC\t\t  \n"), 0);
    assert_int_equal(record_set(&r, F_NAME_FAMILY, "   "), 0);
    assert_int_equal(record_set(&r, F_NAME_GIVEN, ""), 0);
    assert_int_equal(record_set(&r, F_INSURANCE, "Self Pay"), 0);
    assert_int_equal(record_set(&r, F_ETHNICITY, "\xc3\x28"), 0);
    add(&r, F_CPT, "   ");
    add(&r, F_ICD9, "");
    b = map_ok(&r, 9);
    s = print(b);
    assert_valid_utf8(s);
    free(s);
    p = resource_of(b, "Patient", 0);
    assert_string_equal(str_at(cJSON_GetObjectItem(ext_by_url(p, EXT_RELIGION), "valueCodeableConcept"), "text"),
                        "CATH??OLIC");
    /* no name parts: a data-absent-reason instead */
    assert_non_null(ext_by_url(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "name"), 0),
                               "http://hl7.org/fhir/StructureDefinition/data-absent-reason"));
    assert_int_equal(count_type(b, "Procedure"), 2);
    assert_int_equal(count_type(b, "Condition"), 3);
    /* self pay: the patient is the payor */
    cov = resource_of(b, "Coverage", 0);
    assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(cov, "payor"), 0), "reference"),
                        str_at(entry_of(b, "Patient", 0), "fullUrl"));
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

static void assert_map_fails(const struct record *r, const char *needle)
{
    struct fhir_context ctx = { 1, NULL, NULL };
    struct error err = { LLMSYN_OK, "" };

    assert_null(fhir_bundle_from_record(r, &ctx, &err));
    assert_int_equal(err.code, LLMSYN_E_VALIDATION);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_mapping_errors(void **state)
{
    struct record r;

    (void)state;
    base_record(&r, 6);
    assert_int_equal(record_set(&r, F_ADMITTIME, "yesterday"), 0);
    assert_map_fails(&r, "record 6: field ADMITTIME: 'yesterday' is not a date-time");
    assert_int_equal(record_set(&r, F_ADMITTIME, "2021-02-30T00:00:00Z"), 0);
    assert_map_fails(&r, "field ADMITTIME");
    assert_int_equal(record_set(&r, F_ADMITTIME, "2021-03-10T00:00:00Z"), 0);
    assert_map_fails(&r, "DISCHTIME 2021-03-09T17:30:00Z is before ADMITTIME");
    record_free(&r);

    memset(&r, 0, sizeof r);
    r.index = 7;
    add(&r, F_ADMITTIME, ADMIT);
    assert_map_fails(&r, "record 7: field DISCHTIME is missing");
    add(&r, F_DISCHTIME, DISCH);
    add(&r, F_ICD9, "  ");
    assert_map_fails(&r, "no ICD9_CODE");
    record_free(&r);
}

static void test_minimal_record(void **state)
{
    struct record r;
    struct fhir_context ctx = { 1, NULL, NULL };
    struct error err = { LLMSYN_OK, "" };
    cJSON *b, *p;

    (void)state;
    memset(&r, 0, sizeof r);
    add(&r, F_ADMITTIME, ADMIT);
    add(&r, F_DISCHTIME, ADMIT);
    add(&r, F_ICD9, "410.71");
    add(&r, F_CPT, "93458");
    b = fhir_bundle_from_record(&r, &ctx, &err);
    assert_non_null(b);
    p = resource_of(b, "Patient", 0);
    assert_string_equal(str_at(p, "gender"), "unknown");
    assert_null(cJSON_GetObjectItem(p, "communication"));
    assert_null(cJSON_GetObjectItem(p, "maritalStatus"));
    assert_int_equal(count_type(b, "Coverage"), 0);
    assert_string_equal(str_at(resource_of(b, "Procedure", 0), "performedDateTime"), ADMIT);
    assert_no_empty_strings(b);
    check_ok(b);
    cJSON_Delete(b);
    record_free(&r);
}

/* ---- the checker ---- */

static cJSON *good_bundle(void)
{
    struct record r;
    cJSON *b;

    base_record(&r, 1);
    b = map_ok(&r, 1);
    record_free(&r);
    return b;
}

static void assert_check_fails(const cJSON *b, const char *needle)
{
    struct error err = { LLMSYN_OK, "" };

    assert_int_equal(fhir_check_bundle(b, "test.json", &err), -1);
    assert_int_equal(err.code, LLMSYN_E_VALIDATION);
    if (strncmp(err.msg, "test.json: ", 11) != 0 || !strstr(err.msg, needle))
        fail_msg("message '%s' lacks 'test.json: ...%s'", err.msg, needle);
}

static void set_str(cJSON *obj, const char *key, const char *value)
{
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value)));
}

/* One change to a good bundle and the message it must produce. */
struct mutation {
    const char *type; /* resource type of the entry changed; NULL: the bundle itself */
    int n;            /* which entry of that type */
    const char *in;   /* "entry", "resource", or a member object of the resource */
    const char *key, *value, *needle;
};

static void test_check_mutations(void **state)
{
    static const struct mutation cases[] = {
        { "Condition", 0, "subject", "reference", "urn:uuid:00000000-0000-5000-8000-000000000000",
          "entry[2].resource.subject.reference: 'urn:uuid:00000000-0000-5000-8000-000000000000' does not resolve" },
        { "Condition", 0, "subject", "reference", "Patient/123", "'Patient/123' does not resolve to an entry fullUrl" },
        { "Encounter", 0, "entry", "fullUrl", "Encounter/1", "entry[1].fullUrl: 'Encounter/1' is not a urn:uuid" },
        { "Encounter", 0, "period", "start", "2021-03-04T05:06:07",
          "entry[1].resource.period.start: '2021-03-04T05:06:07' is a dateTime without a time zone" },
        { "Procedure", 0, "resource", "performedDateTime", "2021-03-04T05:06+0200", "is a malformed dateTime" },
        { "Encounter", 0, "request", "url", "Encounter/123",
          "entry[1].request: url 'Encounter/123' is not Encounter/<id of the resource>" },
        { "Patient", 0, "request", "method", "DELETE", "entry[0].request: method is 'DELETE', not PUT or POST" },
        { "Procedure", 1, "resource", "id", "something-else",
          "entry[6].resource.id: 'something-else' does not match the fullUrl's uuid" },
        { "Condition", 2, "resource", "recordedDate", "", "entry[4].resource.recordedDate: empty string" },
        { NULL, 0, NULL, "type", "collection", "bundle: type is 'collection', not transaction" },
        { NULL, 0, NULL, "resourceType", "Patient", "bundle: resourceType is 'Patient', not Bundle" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct mutation *c = &cases[i];
        cJSON *b = good_bundle(), *target = b, *e;

        if (c->type) {
            e = entry_of(b, c->type, c->n);
            target = !strcmp(c->in, "entry") ? e : cJSON_GetObjectItem(e, "resource");
            if (strcmp(c->in, "entry") != 0 && strcmp(c->in, "resource") != 0)
                target = cJSON_GetObjectItem(!strcmp(c->in, "request") ? e : target, c->in);
        }
        set_str(target, c->key, c->value);
        assert_check_fails(b, c->needle);
        cJSON_Delete(b);
    }
}

static void test_check_structural(void **state)
{
    cJSON *b = good_bundle(), *e = entry_of(b, "Patient", 0), *entries, *next;
    char url[64];
    size_t i;

    (void)state;
    snprintf(url, sizeof url, "%s", str_at(e, "fullUrl"));
    for (i = 9; url[i]; i++)
        if (url[i] >= 'a' && url[i] <= 'f')
            url[i] = (char)(url[i] - 'a' + 'A');
    set_str(e, "fullUrl", url);
    assert_check_fails(b, "entry[0].fullUrl: ");
    assert_check_fails(b, "is not a lower-case urn:uuid");
    cJSON_Delete(b);

    b = good_bundle(); /* without its Procedures */
    entries = cJSON_GetObjectItem(b, "entry");
    for (e = entries->child; e; e = next) {
        next = e->next;
        if (!strcmp(str_at(cJSON_GetObjectItem(e, "resource"), "resourceType"), "Procedure"))
            cJSON_Delete(cJSON_DetachItemViaPointer(entries, e));
    }
    assert_int_equal(count_type(b, "Procedure"), 0);
    assert_check_fails(b, "entry: no Procedure resource");
    cJSON_Delete(b);

    b = good_bundle(); /* one entry twice */
    e = cJSON_Duplicate(entry_of(b, "Condition", 0), 1);
    assert_non_null(e);
    assert_true(cJSON_AddItemToArray(cJSON_GetObjectItem(b, "entry"), e));
    assert_check_fails(b, "appears in more than one entry");
    assert_check_fails(cJSON_GetObjectItem(b, "entry"), "bundle: not a JSON object");
    cJSON_Delete(b);
}

static void test_check_accepts(void **state)
{
    cJSON *b = good_bundle(), *req = cJSON_GetObjectItem(entry_of(b, "Condition", 1), "request");

    (void)state;
    set_str(req, "method", "POST"); /* POST to the type is the create form */
    set_str(req, "url", "Condition");
    set_str(resource_of(b, "Procedure", 0), "performedDateTime", "2021-03-04T05:06:07.250-05:00");
    set_str(resource_of(b, "Patient", 0), "birthDate", "1954-02-28");
    check_ok(b);
    cJSON_Delete(b);
}

/* Writes content to a temporary file, checks it, and expects rc (and, on failure, code and needle). */
static void check_file_case(const char *content, int rc, llmsyn_status code, const char *needle)
{
    char path[] = "/tmp/test_fhir_XXXXXX";
    struct error err = { LLMSYN_OK, "" };
    size_t n = strlen(content);
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
    assert_int_equal(fhir_check_file(path, &err), rc);
    assert_int_equal(err.code, code);
    if (needle && (!strstr(err.msg, needle) || strncmp(err.msg, path, strlen(path)) != 0))
        fail_msg("message '%s' lacks '%s: ...%s'", err.msg, path, needle);
    unlink(path);
}

static void test_check_file(void **state)
{
    cJSON *b = good_bundle();
    char *json = print(b), *with_tail;
    struct error err = { LLMSYN_OK, "" };
    size_t n = strlen(json);

    (void)state;
    check_file_case(json, 0, LLMSYN_OK, NULL);
    check_file_case("{\"resourceType\": \"Bundle\", ", -1, LLMSYN_E_VALIDATION, "not valid JSON");
    check_file_case("", -1, LLMSYN_E_VALIDATION, "not valid JSON (near byte 0)");
    with_tail = malloc(n + 8);
    assert_non_null(with_tail);
    memcpy(with_tail, json, n);
    memcpy(with_tail + n, "\n {}\n", 6);
    check_file_case(with_tail, -1, LLMSYN_E_VALIDATION, "data after the JSON value");
    assert_int_equal(fhir_check_file("/nonexistent/dir/bundle.json", &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "cannot open '/nonexistent/dir/bundle.json'"));
    free(with_tail);
    free(json);
    cJSON_Delete(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_id),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_race_ethnicity),
        cmocka_unit_test(test_patient_demographics),
        cmocka_unit_test(test_terminology_tables),
        cmocka_unit_test(test_deceased),
        cmocka_unit_test(test_conditions_and_procedures),
        cmocka_unit_test(test_icd9_procedures),
        cmocka_unit_test(test_time_zone_normalised),
        cmocka_unit_test(test_medication_requests),
        cmocka_unit_test(test_odd_values),
        cmocka_unit_test(test_mapping_errors),
        cmocka_unit_test(test_minimal_record),
        cmocka_unit_test(test_check_mutations),
        cmocka_unit_test(test_check_structural),
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_check_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
