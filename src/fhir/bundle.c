/* bundle.c - maps one record to a FHIR R4 transaction Bundle (each choice is explained in docs/fhir-mapping.md). */
#include "fhir/bundle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes/dict.h"
#include "fhir/terminology.h"
#include "util/date.h"

#define SYS_RECORD_ID "urn:llmsyn-fhir:record"
#define SYS_FORMULARY "urn:llmsyn-fhir:formulary"
#define SYS_ACTCODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define SYS_SNOMED "http://snomed.info/sct"
#define SYS_DISCHARGE "http://terminology.hl7.org/CodeSystem/discharge-disposition"
#define SYS_DIAG_ROLE "http://terminology.hl7.org/CodeSystem/diagnosis-role"
#define SYS_COND_CLINICAL "http://terminology.hl7.org/CodeSystem/condition-clinical"
#define SYS_COND_VER "http://terminology.hl7.org/CodeSystem/condition-ver-status"
#define SYS_COND_CAT "http://terminology.hl7.org/CodeSystem/condition-category"
#define SYS_MEDREQ_CAT "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
#define EXT_RACE "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
#define EXT_ETHNICITY "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
#define EXT_RELIGION "http://hl7.org/fhir/StructureDefinition/patient-religion"
#define EXT_DATA_ABSENT "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

#define ID_LEN 37
#define DT_LEN 32
#define SECONDS_PER_DAY 86400

struct mapper {
    const struct record *rec;        /* borrowed */
    const struct fhir_context *ctx;  /* borrowed */
    cJSON *entries;                  /* borrowed: the bundle's entry array */
    int oom;                         /* some cJSON allocation failed */
    int died;
    int64_t admit, disch;            /* seconds since 1970-01-01T00:00:00Z */
    char admit_s[DT_LEN], disch_s[DT_LEN];
    char patient[ID_LEN], encounter[ID_LEN], main_condition[ID_LEN];
};

/* ---- text: every string that comes from the record passes through clean_text ---- */

static int is_blank_byte(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

static int is_blank_n(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_blank_byte((unsigned char)s[i]))
            return 0;
    return 1;
}

static int is_blank(const char *s)
{
    return !s || is_blank_n(s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (n bytes available), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    unsigned long cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
        return 0;
    return len;
}

/* A new string from s[0..n): trimmed, each run of blanks/control bytes folded to one space, malformed
 * UTF-8 bytes replaced by '?'. NULL when nothing is left, or out of memory (*oom set). Caller frees. */
static char *clean_text(const char *s, size_t n, int *oom)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out;
    size_t i = 0, o = 0, len;

    while (n > 0 && is_blank_byte(p[n - 1]))
        n--;
    while (i < n && is_blank_byte(p[i]))
        i++;
    if (i == n)
        return NULL;
    out = malloc(n - i + 1);
    if (!out) {
        *oom = 1;
        return NULL;
    }
    while (i < n) {
        if (is_blank_byte(p[i])) {
            if (out[o - 1] != ' ')
                out[o++] = ' ';
            i++;
        } else if ((len = utf8_len(p + i, n - i)) == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- tree building: allocation failures set m->oom and never leak ---- */

/* Adds item to parent under key (NULL: append to an array); returns item, or NULL (item freed). */
static cJSON *attach(struct mapper *m, cJSON *parent, const char *key, cJSON *item)
{
    cJSON_bool ok;

    if (!item) {
        m->oom = 1;
        return NULL;
    }
    ok = parent && (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item));
    if (!ok) {
        cJSON_Delete(item);
        m->oom = 1;
        return NULL;
    }
    return item;
}

static cJSON *put_obj(struct mapper *m, cJSON *parent, const char *key)
{
    return attach(m, parent, key, cJSON_CreateObject());
}

static cJSON *put_arr(struct mapper *m, cJSON *parent, const char *key)
{
    return attach(m, parent, key, cJSON_CreateArray());
}

/* A string the mapper itself chose (never empty). */
static void put_str(struct mapper *m, cJSON *parent, const char *key, const char *lit)
{
    if (lit && *lit)
        attach(m, parent, key, cJSON_CreateString(lit));
}

/* Text from outside (record, display callback); returns 1 when added, 0 when blank. */
static int put_text_n(struct mapper *m, cJSON *parent, const char *key, const char *s, size_t n)
{
    char *t = s ? clean_text(s, n, &m->oom) : NULL;
    cJSON *item;

    if (!t)
        return 0;
    item = attach(m, parent, key, cJSON_CreateString(t));
    free(t);
    return item != NULL;
}

static int put_text(struct mapper *m, cJSON *parent, const char *key, const char *s)
{
    return s ? put_text_n(m, parent, key, s, strlen(s)) : 0;
}

/* Removes an object or array that ended up without members; returns item or NULL. */
static cJSON *drop_if_empty(cJSON *parent, cJSON *item)
{
    if (item && !item->child) {
        cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
        return NULL;
    }
    return item;
}

static void put_ref(struct mapper *m, cJSON *parent, const char *key, const char *id)
{
    char urn[16 + ID_LEN];

    snprintf(urn, sizeof urn, "urn:uuid:%s", id);
    put_str(m, put_obj(m, parent, key), "reference", urn);
}

static cJSON *put_coding(struct mapper *m, cJSON *parent, const char *key, const char *system, const char *code,
                         const char *display)
{
    cJSON *c = put_obj(m, parent, key);

    put_str(m, c, "system", system);
    put_str(m, c, "code", code);
    put_text(m, c, "display", display);
    return c;
}

/* CodeableConcept with at most one coding (when code is set) and a text; left out when both are missing. */
static cJSON *put_concept(struct mapper *m, cJSON *parent, const char *key, const char *system, const char *code,
                          const char *display, const char *text)
{
    cJSON *cc = put_obj(m, parent, key);

    if (code && *code)
        put_coding(m, put_arr(m, cc, "coding"), NULL, system, code, display);
    put_text(m, cc, "text", text);
    return drop_if_empty(parent, cc);
}

static cJSON *put_term_concept(struct mapper *m, cJSON *parent, const char *key, enum term_match match,
                               const struct term_coding *c, const char *text)
{
    if (match == TERM_ABSENT)
        return NULL;
    if (match == TERM_CODED)
        return put_concept(m, parent, key, c->system, c->code, c->display, text);
    return put_concept(m, parent, key, NULL, NULL, NULL, text);
}

static const char *lookup_display(const struct mapper *m, const char *system, const char *code)
{
    const char *d;

    if (!m->ctx->display)
        return NULL;
    d = m->ctx->display(m->ctx->display_user, system, code);
    return is_blank(d) ? NULL : d;
}

static void make_id(const struct mapper *m, const char *type, size_t n, char out[ID_LEN])
{
    fhir_resource_id(m->ctx->seed, m->rec->index, type, (unsigned)n, out);
}

/* Appends {fullUrl, resource {resourceType, id}, request {PUT Type/id}}; returns the resource. */
static cJSON *add_entry(struct mapper *m, const char *type, const char *id)
{
    char buf[128];
    cJSON *entry = put_obj(m, m->entries, NULL), *res, *req;

    snprintf(buf, sizeof buf, "urn:uuid:%s", id);
    put_str(m, entry, "fullUrl", buf);
    res = put_obj(m, entry, "resource");
    put_str(m, res, "resourceType", type);
    put_str(m, res, "id", id);
    req = put_obj(m, entry, "request");
    put_str(m, req, "method", "PUT");
    snprintf(buf, sizeof buf, "%s/%s", type, id);
    put_str(m, req, "url", buf);
    return res;
}

/* ---- dates ---- */

static const char *skip_blank(const char *s)
{
    while (*s && is_blank_byte((unsigned char)*s))
        s++;
    return s;
}

static int read_digits(const char *p, int n, unsigned *v)
{
    unsigned x = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(p[i] - '0');
    }
    *v = x;
    return 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

/* "YYYY-MM-DD" at the start of p -> day number since 1970-01-01; 0 or -1. */
static int parse_date(const char *p, int64_t *day)
{
    unsigned y, mo, d;

    if (read_digits(p, 4, &y) || p[4] != '-' || read_digits(p + 5, 2, &mo) || p[7] != '-' ||
        read_digits(p + 8, 2, &d))
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -1;
    *day = days_from_civil((int)y, mo, d);
    return 0;
}

/* Time-zone suffix at *pp: "Z", "+hh:mm", "-hh:mm" or nothing (UTC); offset in seconds east. */
static int parse_zone(const char **pp, int64_t *offset)
{
    const char *p = *pp;
    unsigned zh, zm;

    *offset = 0;
    if (*p == 'Z') {
        *pp = p + 1;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return 0;
    if (read_digits(p + 1, 2, &zh) || p[3] != ':' || read_digits(p + 4, 2, &zm) || zh > 14 || zm > 59)
        return -1;
    *offset = (*p == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
    *pp = p + 6;
    return 0;
}

/* "YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm]" -> seconds since the epoch (UTC); 0 or -1. */
static int parse_datetime(const char *s, int64_t *out)
{
    const char *p = skip_blank(s);
    unsigned hh, mm, ss = 0;
    int64_t day, offset, t;

    if (parse_date(p, &day) || (p[10] != 'T' && p[10] != ' ') || read_digits(p + 11, 2, &hh) || p[13] != ':' ||
        read_digits(p + 14, 2, &mm) || hh > 23 || mm > 59)
        return -1;
    p += 16;
    if (*p == ':') {
        if (read_digits(p + 1, 2, &ss) || ss > 59)
            return -1;
        p += 3;
        if (*p == '.' && p[1] >= '0' && p[1] <= '9')
            for (p++; *p >= '0' && *p <= '9'; p++)
                ; /* whole seconds only */
    }
    if (parse_zone(&p, &offset) < 0 || *skip_blank(p) != '\0')
        return -1;
    t = day * SECONDS_PER_DAY + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss - offset;
    if (t < days_from_civil(1, 1, 1) * SECONDS_PER_DAY || t >= days_from_civil(10000, 1, 1) * SECONDS_PER_DAY)
        return -1;
    *out = t;
    return 0;
}

static void format_datetime(int64_t t, char out[DT_LEN])
{
    int64_t day = t / SECONDS_PER_DAY, sec = t % SECONDS_PER_DAY;
    int y;
    unsigned mo, d;

    if (sec < 0) {
        sec += SECONDS_PER_DAY;
        day--;
    }
    civil_from_days(day, &y, &mo, &d);
    snprintf(out, DT_LEN, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, mo, d, (unsigned)(sec / 3600),
             (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
}

/* ---- codes and numbers ---- */

/* Plain non-negative decimal ("12", "0.5", ".5", "2.50"), at most 15 digits: 0 and *v, or -1.
 * Computed as one correctly rounded division, so it does not depend on the locale. */
static int parse_decimal(const char *s, size_t n, double *v)
{
    static const double pow10[16] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
    uint64_t mant = 0;
    size_t i = 0, digits = 0, frac = 0;
    int dot = 0;

    while (n > 0 && is_blank_byte((unsigned char)s[n - 1]))
        n--;
    while (i < n && is_blank_byte((unsigned char)s[i]))
        i++;
    for (; i < n; i++) {
        if (s[i] == '.' && !dot) {
            dot = 1;
        } else if (s[i] >= '0' && s[i] <= '9' && digits < 15) {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
            frac += dot;
        } else {
            return -1;
        }
    }
    if (digits == 0 || (dot && s[n - 1] == '.'))
        return -1;
    *v = (double)mant / pow10[frac];
    return 0;
}

/* ---- Patient ---- */

static void put_sub_coding(struct mapper *m, cJSON *exts, const char *url, const struct term_coding *c)
{
    cJSON *e = put_obj(m, exts, NULL);

    put_str(m, e, "url", url);
    put_coding(m, e, "valueCoding", c->system, c->code, c->display);
}

/* One US Core race/ethnicity extension: ombCategory, detailed, and the required text. */
static void put_origin(struct mapper *m, cJSON *exts, const char *url, const struct term_origin *o, const char *text)
{
    cJSON *ext, *sub, *t;

    if (o->match == TERM_ABSENT)
        return;
    ext = put_obj(m, exts, NULL);
    put_str(m, ext, "url", url);
    sub = put_arr(m, ext, "extension");
    if (o->omb.code)
        put_sub_coding(m, sub, "ombCategory", &o->omb);
    if (o->detailed.code)
        put_sub_coding(m, sub, "detailed", &o->detailed);
    t = put_obj(m, sub, NULL);
    put_str(m, t, "url", "text");
    if (!put_text(m, t, "valueString", text))
        put_str(m, t, "valueString", "unknown");
}

static void patient_extensions(struct mapper *m, cJSON *p)
{
    const char *eth = record_get(m->rec, F_ETHNICITY);
    const char *religion = record_get(m->rec, F_RELIGION);
    struct term_race_ethnicity re;
    cJSON *exts = put_arr(m, p, "extension"), *e;

    term_race_ethnicity(eth, &re);
    put_origin(m, exts, EXT_RACE, &re.race, eth);
    put_origin(m, exts, EXT_ETHNICITY, &re.ethnicity, eth);
    if (term_religion_known(religion)) {
        e = put_obj(m, exts, NULL);
        put_str(m, e, "url", EXT_RELIGION);
        put_concept(m, e, "valueCodeableConcept", NULL, NULL, NULL, religion);
    }
    drop_if_empty(p, exts);
}

static void patient_name(struct mapper *m, cJSON *p)
{
    cJSON *name = put_obj(m, put_arr(m, p, "name"), NULL), *dar;
    int has_family, has_given;

    put_str(m, name, "use", "official");
    has_family = put_text(m, name, "family", record_get(m->rec, F_NAME_FAMILY));
    has_given = put_text(m, put_arr(m, name, "given"), NULL, record_get(m->rec, F_NAME_GIVEN));
    drop_if_empty(name, cJSON_GetObjectItemCaseSensitive(name, "given"));
    if (has_family || has_given)
        return;
    /* US Core: a name without parts carries a data-absent-reason instead */
    cJSON_DeleteItemFromObjectCaseSensitive(name, "use");
    dar = put_obj(m, put_arr(m, name, "extension"), NULL);
    put_str(m, dar, "url", EXT_DATA_ABSENT);
    put_str(m, dar, "valueCode", "unknown");
}

static void patient_identity(struct mapper *m, cJSON *p)
{
    const char *dob = record_get(m->rec, F_BIRTHDATE);
    char buf[64];
    cJSON *ident = put_obj(m, put_arr(m, p, "identifier"), NULL);
    int64_t day;
    int y;
    unsigned mo, d;

    put_str(m, ident, "system", SYS_RECORD_ID);
    snprintf(buf, sizeof buf, "%" PRIu64 "-%" PRIu64, m->ctx->seed, m->rec->index);
    put_str(m, ident, "value", buf);
    patient_name(m, p);
    put_str(m, p, "gender", term_gender(record_get(m->rec, F_GENDER)));
    if (dob && parse_date(skip_blank(dob), &day) == 0) {
        civil_from_days(day, &y, &mo, &d);
        snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, mo, d);
        put_str(m, p, "birthDate", buf);
    }
}

static void patient_status(struct mapper *m, cJSON *p)
{
    const char *marital = record_get(m->rec, F_MARITAL);
    const char *language = record_get(m->rec, F_LANGUAGE);
    struct term_coding c;
    enum term_match match;
    cJSON *comm;

    if (m->died)
        put_str(m, p, "deceasedDateTime", m->disch_s);
    else
        attach(m, p, "deceasedBoolean", cJSON_CreateFalse());
    match = term_marital(marital, &c);
    put_term_concept(m, p, "maritalStatus", match, &c, marital);
    match = term_language(language, &c);
    if (match != TERM_ABSENT) {
        comm = put_arr(m, p, "communication");
        put_term_concept(m, put_obj(m, comm, NULL), "language", match, &c, language);
    }
}

static void add_patient(struct mapper *m)
{
    cJSON *p = add_entry(m, "Patient", m->patient);

    patient_extensions(m, p);
    patient_identity(m, p);
    patient_status(m, p);
}

/* ---- Encounter and Conditions ---- */

static void encounter_diagnoses(struct mapper *m, cJSON *e)
{
    size_t i, count = record_count(m->rec, F_ICD9);
    cJSON *list = put_arr(m, e, "diagnosis"), *d;
    char id[ID_LEN];
    int rank = 0;

    for (i = 0; i < count; i++) {
        if (is_blank(record_get_nth(m->rec, F_ICD9, i)))
            continue;
        make_id(m, "Condition", i, id);
        d = put_obj(m, list, NULL);
        put_ref(m, d, "condition", id);
        put_concept(m, d, "use", SYS_DIAG_ROLE, "DD", "Discharge diagnosis", NULL);
        attach(m, d, "rank", cJSON_CreateNumber(++rank));
    }
}

static void add_encounter(struct mapper *m)
{
    cJSON *e = add_entry(m, "Encounter", m->encounter), *x;

    put_str(m, e, "status", "finished");
    put_coding(m, e, "class", SYS_ACTCODE, "IMP", "inpatient encounter");
    put_concept(m, put_arr(m, e, "type"), NULL, SYS_SNOMED, "32485007", "Hospital admission", NULL);
    put_ref(m, e, "subject", m->patient);
    x = put_obj(m, e, "period");
    put_str(m, x, "start", m->admit_s);
    put_str(m, x, "end", m->disch_s);
    encounter_diagnoses(m, e);
    x = put_obj(m, e, "hospitalization");
    if (m->died)
        put_concept(m, x, "dischargeDisposition", SYS_DISCHARGE, "exp", "Expired", NULL);
    else
        put_concept(m, x, "dischargeDisposition", SYS_DISCHARGE, "home", "Home", NULL);
}

static void add_condition(struct mapper *m, const char *value, size_t n)
{
    char id[ID_LEN], code[8];
    cJSON *c;

    make_id(m, "Condition", n, id);
    c = add_entry(m, "Condition", id);
    put_concept(m, c, "clinicalStatus", SYS_COND_CLINICAL, "active", "Active", NULL);
    put_concept(m, c, "verificationStatus", SYS_COND_VER, "confirmed", "Confirmed", NULL);
    put_concept(m, put_arr(m, c, "category"), NULL, SYS_COND_CAT, "encounter-diagnosis", "Encounter Diagnosis", NULL);
    if (term_icd9_dotted(value, code) == 0)
        put_concept(m, c, "code", FHIR_SYSTEM_ICD9, code, lookup_display(m, FHIR_SYSTEM_ICD9, code), NULL);
    else
        put_concept(m, c, "code", NULL, NULL, NULL, value);
    put_ref(m, c, "subject", m->patient);
    put_ref(m, c, "encounter", m->encounter);
    put_str(m, c, "recordedDate", m->disch_s);
}

static void add_conditions(struct mapper *m)
{
    size_t i, count = record_count(m->rec, F_ICD9);
    const char *v;

    for (i = 0; i < count; i++) {
        v = record_get_nth(m->rec, F_ICD9, i);
        if (!is_blank(v))
            add_condition(m, v, i);
    }
}

/* ---- Procedures ---- */

/* Procedure k of count happens at admit + (k + 1) / (count + 1) of the stay. */
static int64_t spread_time(const struct mapper *m, size_t k, size_t count)
{
    int64_t dur = m->disch - m->admit, parts = (int64_t)count + 1, step = (int64_t)k + 1;

    return m->admit + dur / parts * step + dur % parts * step / parts;
}

/* An ICD-9-CM volume 3 code written alone ("9671", " 96.71 "): its form with the dot after two digits. */
static int icd9_px_code(const char *value, char out[8])
{
    const char *s = value + strspn(value, " ");
    size_t n = strcspn(s, " "), dot = strcspn(s, ".");

    if (n == 0 || strspn(s, "0123456789.") != n || s[n + strspn(s + n, " ")] != '\0' ||
        (dot < n && memchr(s + dot + 1, '.', n - dot - 1)))
        return -1;
    return code_normalise(CODE_ICD9_PX, s, out, 8);
}

/* The Procedure's code: CPT, or ICD-9-CM volume 3 (same system as the diagnoses, --procedure-codes icd9). */
static void put_procedure_code(struct mapper *m, cJSON *p, const char *field, const char *value)
{
    char code[8];

    if (!strcmp(field, F_ICD9_PROC) && icd9_px_code(value, code) == 0)
        put_concept(m, p, "code", FHIR_SYSTEM_ICD9, code, lookup_display(m, FHIR_SYSTEM_ICD9, code), NULL);
    else if (!strcmp(field, F_CPT) && term_cpt_code(value, code) == 0)
        put_concept(m, p, "code", FHIR_SYSTEM_CPT, code, lookup_display(m, FHIR_SYSTEM_CPT, code), NULL);
    else
        put_concept(m, p, "code", NULL, NULL, NULL, value);
}

static void add_procedure(struct mapper *m, const char *field, const char *value, size_t n, size_t count)
{
    char id[ID_LEN], when[DT_LEN];
    cJSON *p;

    make_id(m, "Procedure", n, id);
    p = add_entry(m, "Procedure", id);
    put_str(m, p, "status", "completed");
    put_procedure_code(m, p, field, value);
    put_ref(m, p, "subject", m->patient);
    put_ref(m, p, "encounter", m->encounter);
    format_datetime(spread_time(m, n, count), when);
    put_str(m, p, "performedDateTime", when);
    put_ref(m, put_arr(m, p, "reasonReference"), NULL, m->main_condition);
}

/* CPT_CD values, then ICD9_PROC_CODE values (a record normally holds one kind), numbered on from each other. */
static void add_procedures(struct mapper *m)
{
    static const char *const fields[] = { F_CPT, F_ICD9_PROC };
    size_t ncpt = record_count(m->rec, F_CPT), count = ncpt + record_count(m->rec, F_ICD9_PROC), i, f;
    const char *v;

    for (f = 0; f < 2; f++)
        for (i = 0; i < (f ? count - ncpt : ncpt); i++) {
            v = record_get_nth(m->rec, fields[f], i);
            if (!is_blank(v))
                add_procedure(m, fields[f], v, f * ncpt + i, count);
        }
}

/* ---- MedicationRequests ---- */

enum { RX_TYPE, RX_DRUG, RX_CODE, RX_DOSE, RX_DOSE_UNIT, RX_FORM, RX_FORM_UNIT, RX_ROUTE, RX_FIELDS };

struct span {
    const char *p;
    size_t n;
};

/* Splits "DRUG_TYPE | DRUG | ... | ROUTE"; a value without '|' is the drug alone; fields past the 8th are ignored. */
static void split_rx(const char *s, struct span f[RX_FIELDS])
{
    const char *bar;
    size_t i;

    memset(f, 0, RX_FIELDS * sizeof *f);
    if (!strchr(s, '|')) {
        f[RX_DRUG].p = s;
        f[RX_DRUG].n = strlen(s);
        return;
    }
    for (i = 0; i < RX_FIELDS && s; i++) {
        bar = strchr(s, '|');
        f[i].p = s;
        f[i].n = bar ? (size_t)(bar - s) : strlen(s);
        s = bar ? bar + 1 : NULL;
    }
}

static int span_blank(const struct span *f)
{
    return !f->p || is_blank_n(f->p, f->n);
}

static int put_span(struct mapper *m, cJSON *parent, const char *key, const struct span *f)
{
    return f->p ? put_text_n(m, parent, key, f->p, f->n) : 0;
}

/* {value, unit} when the amount is a plain number; 1 when added. */
static int put_quantity(struct mapper *m, cJSON *parent, const char *key, const struct span *amount,
                        const struct span *unit)
{
    double v;
    cJSON *q;

    if (span_blank(amount) || parse_decimal(amount->p, amount->n, &v) < 0)
        return 0;
    q = put_obj(m, parent, key);
    attach(m, q, "value", cJSON_CreateNumber(v));
    put_span(m, q, "unit", unit);
    return 1;
}

static void rx_dosage(struct mapper *m, cJSON *r, const struct span *f)
{
    cJSON *list = put_arr(m, r, "dosageInstruction"), *d = put_obj(m, list, NULL), *rate, *route;
    char *text;

    if (!span_blank(&f[RX_DOSE]) && parse_decimal(f[RX_DOSE].p, f[RX_DOSE].n, &(double){ 0 }) < 0) {
        /* not a number ("1-2", "As needed"): keep dose and unit as the instruction text */
        text = malloc(f[RX_DOSE].n + f[RX_DOSE_UNIT].n + 2);
        if (!text) {
            m->oom = 1;
            return;
        }
        memcpy(text, f[RX_DOSE].p, f[RX_DOSE].n);
        text[f[RX_DOSE].n] = ' ';
        if (f[RX_DOSE_UNIT].n)
            memcpy(text + f[RX_DOSE].n + 1, f[RX_DOSE_UNIT].p, f[RX_DOSE_UNIT].n);
        put_text_n(m, d, "text", text, f[RX_DOSE].n + 1 + f[RX_DOSE_UNIT].n);
        free(text);
    }
    route = put_obj(m, d, "route");
    put_span(m, route, "text", &f[RX_ROUTE]);
    drop_if_empty(d, route);
    rate = put_obj(m, put_arr(m, d, "doseAndRate"), NULL);
    put_quantity(m, rate, "doseQuantity", &f[RX_DOSE], &f[RX_DOSE_UNIT]);
    drop_if_empty(cJSON_GetObjectItemCaseSensitive(d, "doseAndRate"), rate);
    drop_if_empty(d, cJSON_GetObjectItemCaseSensitive(d, "doseAndRate"));
    drop_if_empty(list, d);
    drop_if_empty(r, list);
}

static void add_medication_request(struct mapper *m, const char *value, size_t n)
{
    struct span f[RX_FIELDS];
    char id[ID_LEN];
    cJSON *r, *med, *coding, *dispense;

    split_rx(value, f);
    if (span_blank(&f[RX_DRUG]) && span_blank(&f[RX_CODE]))
        return; /* nothing says which medication */
    make_id(m, "MedicationRequest", n, id);
    r = add_entry(m, "MedicationRequest", id);
    put_str(m, r, "status", "completed");
    put_str(m, r, "intent", "order");
    put_concept(m, put_arr(m, r, "category"), NULL, SYS_MEDREQ_CAT, "inpatient", "Inpatient", NULL);
    med = put_obj(m, r, "medicationCodeableConcept");
    if (!span_blank(&f[RX_CODE])) {
        coding = put_obj(m, put_arr(m, med, "coding"), NULL);
        put_str(m, coding, "system", SYS_FORMULARY);
        put_span(m, coding, "code", &f[RX_CODE]);
    }
    put_span(m, med, "text", &f[RX_DRUG]);
    put_ref(m, r, "subject", m->patient);
    put_ref(m, r, "encounter", m->encounter);
    put_str(m, r, "authoredOn", m->admit_s);
    put_ref(m, put_arr(m, r, "reasonReference"), NULL, m->main_condition);
    rx_dosage(m, r, f);
    dispense = put_obj(m, r, "dispenseRequest");
    put_quantity(m, dispense, "quantity", &f[RX_FORM], &f[RX_FORM_UNIT]);
    drop_if_empty(r, dispense);
}

static void add_medication_requests(struct mapper *m)
{
    size_t i, count = record_count(m->rec, F_PRESCRIPTION);
    const char *v;

    for (i = 0; i < count; i++) {
        v = record_get_nth(m->rec, F_PRESCRIPTION, i);
        if (!is_blank(v))
            add_medication_request(m, v, i);
    }
}

/* ---- Coverage ---- */

static void add_coverage(struct mapper *m)
{
    const char *ins = record_get(m->rec, F_INSURANCE);
    char id[ID_LEN];
    cJSON *c, *payors;

    if (is_blank(ins))
        return;
    make_id(m, "Coverage", 0, id);
    c = add_entry(m, "Coverage", id);
    put_str(m, c, "status", "active");
    put_concept(m, c, "type", NULL, NULL, NULL, ins);
    put_ref(m, c, "beneficiary", m->patient);
    payors = put_arr(m, c, "payor");
    if (term_insurance_self_pay(ins))
        put_ref(m, payors, NULL, m->patient);
    else
        put_text(m, put_obj(m, payors, NULL), "display", ins);
}

/* ---- the record's frame: stay, outcome, main diagnosis ---- */

/* A field value for an error message: at most 40 bytes, non-printable bytes as '?'. */
static const char *quote(const char *v, char out[48])
{
    size_t i;

    for (i = 0; i < 40 && v[i]; i++)
        out[i] = (v[i] < 0x20 || v[i] == 0x7f || (unsigned char)v[i] >= 0x80) ? '?' : v[i];
    out[i] = '\0';
    return out;
}

static int read_time(const struct mapper *m, const char *field, int64_t *t, char out[DT_LEN], struct error *err)
{
    const char *v = record_get(m->rec, field);
    char q[48];

    if (!v)
        return error_set(err, LLMSYN_E_VALIDATION, "record %" PRIu64 ": field %s is missing", m->rec->index, field),
               -1;
    if (parse_datetime(v, t) < 0)
        return error_set(err, LLMSYN_E_VALIDATION, "record %" PRIu64 ": field %s: '%s' is not a date-time",
                         m->rec->index, field, quote(v, q)),
               -1;
    format_datetime(*t, out);
    return 0;
}

static int read_frame(struct mapper *m, struct error *err)
{
    const char *flag = record_get(m->rec, F_EXPIRE);
    size_t i, count = record_count(m->rec, F_ICD9);

    if (read_time(m, F_ADMITTIME, &m->admit, m->admit_s, err) < 0 ||
        read_time(m, F_DISCHTIME, &m->disch, m->disch_s, err) < 0)
        return -1;
    if (m->disch < m->admit)
        return error_set(err, LLMSYN_E_VALIDATION, "record %" PRIu64 ": field %s %s is before %s %s", m->rec->index,
                         F_DISCHTIME, m->disch_s, F_ADMITTIME, m->admit_s),
               -1;
    flag = flag ? skip_blank(flag) : "";
    m->died = flag[0] == '1' && *skip_blank(flag + 1) == '\0';
    for (i = 0; i < count && is_blank(record_get_nth(m->rec, F_ICD9, i)); i++)
        ;
    if (i == count)
        return error_set(err, LLMSYN_E_VALIDATION, "record %" PRIu64 ": no %s (a main diagnosis is required)",
                         m->rec->index, F_ICD9),
               -1;
    make_id(m, "Condition", i, m->main_condition);
    make_id(m, "Patient", 0, m->patient);
    make_id(m, "Encounter", 0, m->encounter);
    return 0;
}

cJSON *fhir_bundle_from_record(const struct record *rec, const struct fhir_context *ctx, struct error *err)
{
    struct mapper m;
    cJSON *bundle = NULL;

    if (!rec || !ctx) {
        error_set(err, LLMSYN_E_INTERNAL, "fhir mapping: no record or no context");
        return NULL;
    }
    memset(&m, 0, sizeof m);
    m.rec = rec;
    m.ctx = ctx;
    if (read_frame(&m, err) < 0)
        return NULL;
    bundle = cJSON_CreateObject();
    if (!bundle)
        goto out;
    put_str(&m, bundle, "resourceType", "Bundle");
    put_str(&m, bundle, "type", "transaction");
    m.entries = put_arr(&m, bundle, "entry");
    add_patient(&m);
    add_encounter(&m);
    add_conditions(&m);
    add_procedures(&m);
    add_medication_requests(&m);
    add_coverage(&m);
    if (!m.oom)
        return bundle;
out:
    cJSON_Delete(bundle);
    error_set(err, LLMSYN_E_NOMEM, "record %" PRIu64 ": out of memory building the fhir bundle", rec->index);
    return NULL;
}
