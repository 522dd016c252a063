/* render.c - turns one record and its bundle into the bytes each output format writes (pure, thread-safe). */
#include "out/sink.h"
#include "out/sink_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE_LEN 48 /* longest accepted resourceType; "<type>.ndjson" must fit a part name */

void sink_chunk_reset(struct sink_chunk *c)
{
    size_t i;

    c->index = 0;
    c->nparts = 0;
    for (i = 0; i < SINK_MAX_PARTS; i++) {
        c->parts[i].name[0] = '\0';
        buf_reset(&c->parts[i].data);
    }
}

void sink_chunk_free(struct sink_chunk *c)
{
    size_t i;

    for (i = 0; i < SINK_MAX_PARTS; i++)
        buf_free(&c->parts[i].data);
    c->nparts = 0;
}

/* Sets *out to the part called `name`, adding it when new; fails when all parts are taken. */
static int chunk_part(struct sink_chunk *c, const char *name, struct buf **out, struct error *err)
{
    size_t i, n = strlen(name);

    for (i = 0; i < c->nparts; i++) {
        if (!strcmp(c->parts[i].name, name)) {
            *out = &c->parts[i].data;
            return LLMSYN_OK;
        }
    }
    if (c->nparts == SINK_MAX_PARTS || n >= sizeof c->parts[0].name)
        return error_set(err, LLMSYN_E_VALIDATION, "record %" PRIu64 " needs more than %d output files (at '%s')",
                         c->index, SINK_MAX_PARTS, name);
    memcpy(c->parts[c->nparts].name, name, n + 1);
    buf_reset(&c->parts[c->nparts].data);
    *out = &c->parts[c->nparts++].data;
    return LLMSYN_OK;
}

/* The string of a cJSON string item; borrowed, NULL when item is not a string. */
static const char *json_str(const cJSON *item)
{
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static int out_of_room(const struct sink_chunk *c, const char *what, struct error *err)
{
    return error_set(err, LLMSYN_E_NOMEM, "cannot hold %s of record %" PRIu64 " in memory", what, c->index);
}

/* Appends `item` printed unformatted plus "\n"; one_line refuses text holding a line break. With `entries`
 * (bulk-data export) references to those bundle entries are written as literal Type/id. */
static int put_json(struct buf *b, const cJSON *item, int one_line, const cJSON *entries, const struct sink_chunk *c,
                    struct error *err)
{
    char *text = cJSON_PrintUnformatted(item); /* owned: freed with cJSON_free */
    int rc = LLMSYN_OK;

    if (!text)
        return out_of_room(c, "the printed JSON", err);
    if (one_line && strchr(text, '\n'))
        rc = error_set(err, LLMSYN_E_VALIDATION, "a resource of record %" PRIu64 " prints with a line break",
                       c->index);
    else if ((entries ? literal_refs_append(b, text, entries) : buf_puts(b, text)) < 0 || buf_putc(b, '\n') < 0)
        rc = out_of_room(c, "the printed JSON", err);
    cJSON_free(text);
    return rc;
}

static int render_bundle(const cJSON *bundle, struct sink_chunk *c, struct error *err)
{
    char name[sizeof c->parts[0].name];
    struct buf *b = NULL; /* borrowed from c */
    int rc;

    snprintf(name, sizeof name, "record-%010" PRIu64 ".json", c->index);
    rc = chunk_part(c, name, &b, err);
    return rc != LLMSYN_OK ? rc : put_json(b, bundle, 0, NULL, c, err);
}

/* 1 when s looks like a FHIR resource type: an upper-case letter then letters and digits. */
static int valid_type(const char *s)
{
    size_t i;

    if (!(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (i = 1; s[i]; i++) {
        if (i >= MAX_TYPE_LEN)
            return 0;
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    }
    return 1;
}

/* Sets *out to the entry array of a bundle; fails when there is none. */
static int bundle_entries(const cJSON *bundle, const struct sink_chunk *c, const cJSON **out, struct error *err)
{
    *out = cJSON_GetObjectItemCaseSensitive(bundle, "entry");
    if (!cJSON_IsArray(*out))
        return error_set(err, LLMSYN_E_VALIDATION, "bundle of record %" PRIu64 " has no entry array", c->index);
    return LLMSYN_OK;
}

static int render_ndjson(const cJSON *bundle, struct sink_chunk *c, struct error *err)
{
    const cJSON *entries = NULL, *entry, *res;
    const char *type;
    char name[sizeof c->parts[0].name];
    struct buf *b = NULL; /* borrowed from c */
    size_t k = 0;
    int rc = bundle_entries(bundle, c, &entries, err);

    if (rc != LLMSYN_OK)
        return rc;
    cJSON_ArrayForEach(entry, entries) {
        res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
        k++;
        if (!res)
            continue; /* e.g. a DELETE entry: nothing to export */
        type = cJSON_IsObject(res) ? json_str(cJSON_GetObjectItemCaseSensitive(res, "resourceType")) : NULL;
        if (!type || !valid_type(type))
            return error_set(err, LLMSYN_E_VALIDATION,
                             "entry %zu of the bundle of record %" PRIu64 " has no valid resourceType", k, c->index);
        snprintf(name, sizeof name, "%s.ndjson", type);
        rc = chunk_part(c, name, &b, err);
        if (rc == LLMSYN_OK)
            rc = put_json(b, res, 1, entries, c, err); /* literal references: a bulk file stands alone */
        if (rc != LLMSYN_OK)
            return rc;
    }
    return rc;
}

/* The id of the first Patient resource in the bundle; borrowed, NULL when there is none. */
static const char *patient_id(const cJSON *entries)
{
    const cJSON *entry, *res;
    const char *type, *id;

    cJSON_ArrayForEach(entry, entries) {
        res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
        type = json_str(cJSON_GetObjectItemCaseSensitive(res, "resourceType"));
        if (!type || strcmp(type, "Patient"))
            continue;
        id = json_str(cJSON_GetObjectItemCaseSensitive(res, "id"));
        return id && id[0] ? id : NULL;
    }
    return NULL;
}

/* Appends one CSV field, quoted as RFC 4180 asks when it holds a comma, quote, CR or LF. */
static int put_field(struct buf *b, const char *s, size_t n)
{
    size_t i;

    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\r', n) && !memchr(s, '\n', n))
        return buf_append(b, s, n);
    if (buf_putc(b, '"') < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] == '"' && buf_putc(b, '"') < 0)
            return -1;
        if (buf_putc(b, s[i]) < 0)
            return -1;
    }
    return buf_putc(b, '"');
}

static int put_value(struct buf *b, const char *s, int last)
{
    if (!s)
        s = "";
    if (put_field(b, s, strlen(s)) < 0)
        return -1;
    return buf_putc(b, last ? '\n' : ',');
}

/* Appends the values of `name` from the `first`-th on, joined with ';', as one field. */
static int put_joined(struct buf *b, const struct record *rec, const char *name, size_t first, int last)
{
    struct buf tmp = {0}; /* owned */
    const char *v;
    size_t i;
    int rc = 0;

    for (i = first; rc == 0 && (v = record_get_nth(rec, name, i)) != NULL; i++) {
        if (i > first)
            rc = buf_putc(&tmp, ';');
        if (rc == 0)
            rc = buf_puts(&tmp, v);
    }
    if (rc == 0)
        rc = put_value(b, buf_str(&tmp), last);
    buf_free(&tmp);
    return rc;
}

static int render_csv(const struct record *rec, const cJSON *bundle, struct sink_chunk *c, struct error *err)
{
    static const char *const demo[] = {F_GENDER,  F_AGE,       F_INSURANCE, F_LANGUAGE,
                                       F_RELIGION, F_MARITAL, F_ETHNICITY, F_EXPIRE};
    const cJSON *entries = NULL;
    const char *id;
    struct buf *b = NULL; /* borrowed from c */
    size_t i;
    int rc = bundle_entries(bundle, c, &entries, err);

    if (rc != LLMSYN_OK)
        return rc;
    id = patient_id(entries);
    if (!id)
        return error_set(err, LLMSYN_E_VALIDATION, "bundle of record %" PRIu64 " has no Patient with an id",
                         c->index);
    rc = chunk_part(c, SINK_CSV_NAME, &b, err);
    if (rc != LLMSYN_OK)
        return rc;
    rc = put_value(b, id, 0);
    for (i = 0; rc == 0 && i < sizeof demo / sizeof demo[0]; i++)
        rc = put_value(b, record_get(rec, demo[i]), 0);
    if (rc == 0)
        rc = put_value(b, record_get(rec, F_ICD9), 0);
    if (rc == 0)
        rc = put_joined(b, rec, F_ICD9, 1, 0);
    if (rc == 0) /* CPT_CD holds the run's procedure codes: ICD-9-CM volume 3 with --procedure-codes icd9 */
        rc = put_joined(b, rec, record_get(rec, F_CPT) || !record_get(rec, F_ICD9_PROC) ? F_CPT : F_ICD9_PROC, 0, 1);
    return rc == 0 ? LLMSYN_OK : out_of_room(c, "the CSV row", err);
}

/* ---- Synthea CSV: patients, encounters, conditions, procedures with Synthea's columns ---- */

/* The resources of one bundle the Synthea files are made of; all borrowed from the bundle. */
struct synthea_view {
    const cJSON *patient;
    const cJSON *encounter;
    const cJSON *entries;
    const char *patient_id;
    const char *encounter_id;
};

/* The resource of the first entry of `type`; borrowed, NULL when there is none. */
static const cJSON *first_of_type(const cJSON *entries, const char *type)
{
    const cJSON *entry, *res;
    const char *t;

    cJSON_ArrayForEach(entry, entries) {
        res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
        t = json_str(cJSON_GetObjectItemCaseSensitive(res, "resourceType"));
        if (t && !strcmp(t, type))
            return res;
    }
    return NULL;
}

/* The string at obj.a.b (b may be NULL); borrowed, NULL when absent or not a string. */
static const char *json_path(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, a);

    if (b)
        it = cJSON_GetObjectItemCaseSensitive(it, b);
    return json_str(it);
}

/* The first coding of concept obj[key]; borrowed, NULL when there is none. */
static const cJSON *first_coding(const cJSON *obj, const char *key)
{
    const cJSON *concept = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsArray(concept))
        concept = cJSON_GetArrayItem(concept, 0);
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(concept, "coding"), 0);
}

/* The ombCategory code of the US Core extension `url` of a Patient; borrowed, NULL when absent. */
static const char *omb_code(const cJSON *patient, const char *url)
{
    const cJSON *ext, *sub;
    const char *u;

    cJSON_ArrayForEach(ext, cJSON_GetObjectItemCaseSensitive(patient, "extension")) {
        u = json_str(cJSON_GetObjectItemCaseSensitive(ext, "url"));
        if (!u || strcmp(u, url))
            continue;
        cJSON_ArrayForEach(sub, cJSON_GetObjectItemCaseSensitive(ext, "extension")) {
            u = json_str(cJSON_GetObjectItemCaseSensitive(sub, "url"));
            if (u && !strcmp(u, "ombCategory"))
                return json_path(sub, "valueCoding", "code");
        }
    }
    return NULL;
}

/* Synthea's RACE word for a CDC race code ("white", "black", "asian", "native", "hawaiian", "other"). */
static const char *synthea_race(const char *omb)
{
    static const char *const map[][2] = {{"2106-3", "white"}, {"2054-5", "black"}, {"2028-9", "asian"},
                                         {"1002-5", "native"}, {"2076-8", "hawaiian"}};
    size_t i;

    for (i = 0; omb && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(omb, map[i][0]))
            return map[i][1];
    return "other";
}

static const char *synthea_gender(const char *g)
{
    if (g && !strcmp(g, "male"))
        return "M";
    return g && !strcmp(g, "female") ? "F" : "";
}

/* Synthea's MARITAL letter: M, S, D, W from the FHIR v3 MaritalStatus code; "" for anything else. */
static const char *synthea_marital(const cJSON *patient)
{
    const char *code = json_path(first_coding(patient, "maritalStatus"), "code", NULL);

    if (code && strlen(code) == 1 && strchr("MSDW", code[0]))
        return code;
    return "";
}

/* Appends the first 10 characters (the date) of an ISO date-time, or "" when shorter. */
static int put_date(struct buf *b, const char *dt, int last)
{
    char day[11] = "";

    if (dt && strlen(dt) >= 10)
        memcpy(day, dt, 10);
    return put_value(b, day, last);
}

/* Appends n empty fields followed by ',' (or '\n' when last). */
static int put_empty(struct buf *b, size_t n, int last)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < n; i++)
        rc = put_value(b, "", last && i + 1 == n);
    return rc;
}

static int synthea_patient_row(struct buf *b, const struct synthea_view *v)
{
    const cJSON *p = v->patient;
    const cJSON *name = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "name"), 0);
    const char *eth = omb_code(p, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity");
    int rc = put_value(b, v->patient_id, 0);

    /* Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY,GENDER,
     * BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE */
    if (rc == 0)
        rc = put_value(b, json_path(p, "birthDate", NULL), 0);
    if (rc == 0)
        rc = put_date(b, json_path(p, "deceasedDateTime", NULL), 0);
    if (rc == 0)
        rc = put_empty(b, 4, 0);
    if (rc == 0)
        rc = put_value(b, json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(name, "given"), 0)), 0);
    if (rc == 0)
        rc = put_value(b, json_path(name, "family", NULL), 0);
    if (rc == 0)
        rc = put_empty(b, 2, 0);
    if (rc == 0)
        rc = put_value(b, synthea_marital(p), 0);
    if (rc == 0)
        rc = put_value(b, synthea_race(omb_code(p, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race")),
                       0);
    if (rc == 0)
        rc = put_value(b, eth && !strcmp(eth, "2135-2") ? "hispanic" : "nonhispanic", 0);
    if (rc == 0)
        rc = put_value(b, synthea_gender(json_path(p, "gender", NULL)), 0);
    return rc == 0 ? put_empty(b, 10, 1) : rc;
}

/* The main diagnosis: the Condition of the first entry, whose code is what REASONCODE holds. */
static const cJSON *main_condition_coding(const struct synthea_view *v)
{
    return first_coding(first_of_type(v->entries, "Condition"), "code");
}

static int synthea_encounter_row(struct buf *b, const struct synthea_view *v)
{
    const cJSON *reason = main_condition_coding(v);
    int rc = put_value(b, v->encounter_id, 0);

    /* Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST,
     * TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION */
    if (rc == 0)
        rc = put_value(b, json_path(v->encounter, "period", "start"), 0);
    if (rc == 0)
        rc = put_value(b, json_path(v->encounter, "period", "end"), 0);
    if (rc == 0)
        rc = put_value(b, v->patient_id, 0);
    if (rc == 0)
        rc = put_empty(b, 3, 0);
    if (rc == 0)
        rc = put_value(b, "inpatient", 0);
    if (rc == 0)
        rc = put_value(b, "32485007", 0);
    if (rc == 0)
        rc = put_value(b, "Hospital admission", 0);
    if (rc == 0)
        rc = put_empty(b, 3, 0);
    if (rc == 0)
        rc = put_value(b, json_path(reason, "code", NULL), 0);
    return rc == 0 ? put_value(b, json_path(reason, "display", NULL), 1) : rc;
}

/* START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION with the ICD-9-CM code (Synthea puts SNOMED CT here). */
static int synthea_condition_row(struct buf *b, const struct synthea_view *v, const cJSON *cond)
{
    const cJSON *coding = first_coding(cond, "code");
    int rc = put_date(b, json_path(v->encounter, "period", "start"), 0);

    if (rc == 0)
        rc = put_date(b, json_path(v->encounter, "period", "end"), 0);
    if (rc == 0)
        rc = put_value(b, v->patient_id, 0);
    if (rc == 0)
        rc = put_value(b, v->encounter_id, 0);
    if (rc == 0)
        rc = put_value(b, json_path(coding, "code", NULL), 0);
    return rc == 0 ? put_value(b, json_path(coding, "display", NULL), 1) : rc;
}

/* DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,REASONDESCRIPTION with the CPT code. */
static int synthea_procedure_row(struct buf *b, const struct synthea_view *v, const cJSON *proc)
{
    const cJSON *coding = first_coding(proc, "code"), *reason = main_condition_coding(v);
    int rc = put_value(b, json_path(proc, "performedDateTime", NULL), 0);

    if (rc == 0)
        rc = put_value(b, v->patient_id, 0);
    if (rc == 0)
        rc = put_value(b, v->encounter_id, 0);
    if (rc == 0)
        rc = put_value(b, json_path(coding, "code", NULL), 0);
    if (rc == 0)
        rc = put_value(b, json_path(coding, "display", NULL), 0);
    if (rc == 0)
        rc = put_value(b, "", 0);
    if (rc == 0)
        rc = put_value(b, json_path(reason, "code", NULL), 0);
    return rc == 0 ? put_value(b, json_path(reason, "display", NULL), 1) : rc;
}

/* Appends a row per Condition (conditions.csv) or Procedure (procedures.csv) of the bundle. */
static int synthea_rows(struct sink_chunk *c, const struct synthea_view *v, const char *type, const char *file,
                        struct error *err)
{
    const cJSON *entry, *res;
    const char *t;
    struct buf *b = NULL; /* borrowed from c */
    int rc = chunk_part(c, file, &b, err);

    if (rc != LLMSYN_OK)
        return rc;
    cJSON_ArrayForEach(entry, v->entries) {
        res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
        t = json_str(cJSON_GetObjectItemCaseSensitive(res, "resourceType"));
        if (!t || strcmp(t, type))
            continue;
        if ((!strcmp(type, "Condition") ? synthea_condition_row(b, v, res) : synthea_procedure_row(b, v, res)) < 0)
            return out_of_room(c, "the Synthea CSV rows", err);
    }
    return LLMSYN_OK;
}

static int render_synthea(const cJSON *bundle, struct sink_chunk *c, struct error *err)
{
    struct synthea_view v = {0};
    struct buf *b = NULL; /* borrowed from c */
    int rc = bundle_entries(bundle, c, &v.entries, err);

    if (rc != LLMSYN_OK)
        return rc;
    v.patient = first_of_type(v.entries, "Patient");
    v.encounter = first_of_type(v.entries, "Encounter");
    v.patient_id = json_path(v.patient, "id", NULL);
    v.encounter_id = json_path(v.encounter, "id", NULL);
    if (!v.patient_id || !v.encounter_id)
        return error_set(err, LLMSYN_E_VALIDATION, "bundle of record %" PRIu64 " has no Patient or Encounter id",
                         c->index);
    rc = chunk_part(c, SINK_SYNTHEA_PATIENTS, &b, err);
    if (rc == LLMSYN_OK && synthea_patient_row(b, &v) < 0)
        rc = out_of_room(c, "the Synthea patient row", err);
    if (rc == LLMSYN_OK)
        rc = chunk_part(c, SINK_SYNTHEA_ENCOUNTERS, &b, err);
    if (rc == LLMSYN_OK && synthea_encounter_row(b, &v) < 0)
        rc = out_of_room(c, "the Synthea encounter row", err);
    if (rc == LLMSYN_OK)
        rc = synthea_rows(c, &v, "Condition", SINK_SYNTHEA_CONDITIONS, err);
    if (rc == LLMSYN_OK)
        rc = synthea_rows(c, &v, "Procedure", SINK_SYNTHEA_PROCEDURES, err);
    return rc;
}

int sink_render(llmsyn_format format, const struct record *rec, const cJSON *bundle, struct sink_chunk *c,
                struct error *err)
{
    int rc;

    if (!rec || !c)
        return error_set(err, LLMSYN_E_INTERNAL, "sink_render: no record or no chunk");
    sink_chunk_reset(c);
    c->index = rec->index;
    if (!cJSON_IsObject(bundle))
        return error_set(err, LLMSYN_E_INTERNAL, "record %" PRIu64 " has no bundle to write", c->index);
    switch (format) {
    case LLMSYN_FORMAT_BUNDLES:
        rc = render_bundle(bundle, c, err);
        break;
    case LLMSYN_FORMAT_NDJSON:
        rc = render_ndjson(bundle, c, err);
        break;
    case LLMSYN_FORMAT_CSV:
        rc = render_csv(rec, bundle, c, err);
        break;
    case LLMSYN_FORMAT_SYNTHEA_CSV:
        rc = render_synthea(bundle, c, err);
        break;
    default:
        rc = error_set(err, LLMSYN_E_INTERNAL, "unknown output format %d", (int)format);
        break;
    }
    if (rc != LLMSYN_OK)
        c->nparts = 0; /* a caller that ignores the error writes nothing of this record */
    return rc;
}
