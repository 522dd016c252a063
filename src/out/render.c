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

/* Appends `item` printed unformatted plus "\n"; one_line refuses text holding a line break. */
static int put_json(struct buf *b, const cJSON *item, int one_line, const struct sink_chunk *c, struct error *err)
{
    char *text = cJSON_PrintUnformatted(item); /* owned: freed with cJSON_free */
    int rc = LLMSYN_OK;

    if (!text)
        return out_of_room(c, "the printed JSON", err);
    if (one_line && strchr(text, '\n'))
        rc = error_set(err, LLMSYN_E_VALIDATION, "a resource of record %" PRIu64 " prints with a line break",
                       c->index);
    else if (buf_puts(b, text) < 0 || buf_putc(b, '\n') < 0)
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
    return rc != LLMSYN_OK ? rc : put_json(b, bundle, 0, c, err);
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
            rc = put_json(b, res, 1, c, err);
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
    if (rc == 0)
        rc = put_joined(b, rec, F_CPT, 0, 1);
    return rc == 0 ? LLMSYN_OK : out_of_room(c, "the CSV row", err);
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
    default:
        rc = error_set(err, LLMSYN_E_INTERNAL, "unknown output format %d", (int)format);
        break;
    }
    if (rc != LLMSYN_OK)
        c->nparts = 0; /* a caller that ignores the error writes nothing of this record */
    return rc;
}
