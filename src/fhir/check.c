/* check.c - checks a FHIR R4 transaction bundle against what conformance/README.md promises. */
#include "fhir/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/limits.h"

#define UUID_LEN 36
#define URN_PREFIX "urn:uuid:"
#define URN_PREFIX_LEN 9

struct checker {
    const char *name;   /* borrowed; names the bundle in messages */
    struct error *err;  /* borrowed */
    const char **urls;  /* owned array of borrowed fullUrl strings, sorted for bsearch */
    size_t nurls;
    char path[200];     /* JSON path of the value being checked, e.g. entry[3].resource.subject */
    size_t plen;
};

enum { HAS_PATIENT = 1, HAS_ENCOUNTER = 2, HAS_CONDITION = 4, HAS_PROCEDURE = 8 };

/* ---- messages ---- */

/* A value for a message: at most 60 bytes, non-printable bytes as '?'. */
static const char *shown(const char *v, char out[72])
{
    size_t i;

    for (i = 0; i < 60 && v[i]; i++)
        out[i] = (v[i] < 0x20 || v[i] == 0x7f || (unsigned char)v[i] >= 0x80) ? '?' : v[i];
    memcpy(out + i, v[i] ? "..." : "", v[i] ? 4 : 1);
    return out;
}

__attribute__((format(printf, 2, 3))) static int fail(struct checker *c, const char *fmt, ...)
{
    char detail[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    error_set(c->err, LLMSYN_E_VALIDATION, "%s: %s: %s", c->name, c->plen ? c->path : "bundle", detail);
    return -1;
}

/* ---- the JSON path in messages ---- */

static size_t path_push(struct checker *c, const char *key, long index)
{
    size_t saved = c->plen, i;
    char part[64];
    int n;

    if (key) {
        n = snprintf(part, sizeof part, "%s%.40s", c->plen ? "." : "", key);
        for (i = 0; part[i]; i++)
            if (part[i] < 0x20 || part[i] == 0x7f || (unsigned char)part[i] >= 0x80)
                part[i] = '?';
    } else {
        n = snprintf(part, sizeof part, "[%ld]", index);
    }
    if (n > 0 && c->plen + (size_t)n < sizeof c->path - 4) {
        memcpy(c->path + c->plen, part, (size_t)n + 1);
        c->plen += (size_t)n;
    } else if (c->plen >= 3 && c->plen + 4 < sizeof c->path && strcmp(c->path + c->plen - 3, "...") != 0) {
        memcpy(c->path + c->plen, "...", 4);
        c->plen += 3;
    }
    return saved;
}

static void path_pop(struct checker *c, size_t saved)
{
    c->plen = saved;
    c->path[saved] = '\0';
}

/* ---- small predicates ---- */

static const char *str_member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_lower_uuid(const char *s, int *upper)
{
    size_t i;

    *upper = 0;
    for (i = 0; i < UUID_LEN; i++) {
        char ch = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-')
                return 0;
        } else if (ch >= 'A' && ch <= 'F') {
            *upper = 1;
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return 0;
        }
    }
    return s[UUID_LEN] == '\0' && !*upper;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int digits_at(const char *s, const char *pattern)
{
    size_t i;

    for (i = 0; pattern[i]; i++) {
        if (pattern[i] == 'd' ? !is_digit(s[i]) : s[i] != pattern[i])
            return 0;
    }
    return 1;
}

/* ---- entries ---- */

static int check_full_url(struct checker *c, const cJSON *entry, const char **uuid)
{
    const char *url = str_member(entry, "fullUrl");
    char v[72];
    int upper;
    size_t saved = path_push(c, "fullUrl", 0);

    if (!url)
        return fail(c, "missing (every entry needs a urn:uuid fullUrl)");
    if (strncmp(url, URN_PREFIX, URN_PREFIX_LEN) != 0 || !is_lower_uuid(url + URN_PREFIX_LEN, &upper))
        return fail(c, "'%s' is not a %surn:uuid", shown(url, v),
                    strncmp(url, URN_PREFIX, URN_PREFIX_LEN) == 0 && upper ? "lower-case " : "");
    *uuid = url + URN_PREFIX_LEN;
    c->urls[c->nurls++] = url;
    path_pop(c, saved);
    return 0;
}

static unsigned type_bit(const char *type)
{
    if (!strcmp(type, "Patient"))
        return HAS_PATIENT;
    if (!strcmp(type, "Encounter"))
        return HAS_ENCOUNTER;
    if (!strcmp(type, "Condition"))
        return HAS_CONDITION;
    return strcmp(type, "Procedure") ? 0 : HAS_PROCEDURE;
}

static int check_resource(struct checker *c, const cJSON *entry, const char *uuid, const char **type,
                          unsigned *seen)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
    const char *id;
    char v[72];
    size_t saved = path_push(c, "resource", 0);

    if (!cJSON_IsObject(res))
        return fail(c, "missing or not an object");
    *type = str_member(res, "resourceType");
    if (!*type || !**type)
        return fail(c, "no resourceType");
    id = str_member(res, "id");
    path_push(c, "id", 0);
    if (!id)
        return fail(c, "missing (the %s needs an id equal to the fullUrl's uuid)", shown(*type, v));
    if (strcmp(id, uuid) != 0)
        return fail(c, "'%s' does not match the fullUrl's uuid", shown(id, v));
    *seen |= type_bit(*type);
    path_pop(c, saved);
    return 0;
}

static int check_request(struct checker *c, const cJSON *entry, const char *type, const char *uuid)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(entry, "request");
    const char *method, *url;
    size_t tlen = strlen(type), saved = path_push(c, "request", 0);
    char v[72];

    if (!cJSON_IsObject(req))
        return fail(c, "missing or not an object");
    method = str_member(req, "method");
    url = str_member(req, "url");
    if (!method || (strcmp(method, "PUT") != 0 && strcmp(method, "POST") != 0))
        return fail(c, "method is '%s', not PUT or POST", method ? shown(method, v) : "(none)");
    if (!url)
        return fail(c, "no url");
    if (!strcmp(method, "PUT") &&
        (strncmp(url, type, tlen) != 0 || url[tlen] != '/' || strcmp(url + tlen + 1, uuid) != 0))
        return fail(c, "url '%s' is not %s/<id of the resource>", shown(url, v), type);
    if (!strcmp(method, "POST") && strcmp(url, type) != 0)
        return fail(c, "url '%s' of a POST is not '%s'", shown(url, v), type);
    path_pop(c, saved);
    return 0;
}

static int check_entry(struct checker *c, const cJSON *entry, long i, unsigned *seen)
{
    const char *uuid = NULL, *type = NULL;
    size_t saved = path_push(c, NULL, i);

    if (!cJSON_IsObject(entry))
        return fail(c, "not an object");
    if (check_full_url(c, entry, &uuid) < 0 || check_resource(c, entry, uuid, &type, seen) < 0 ||
        check_request(c, entry, type, uuid) < 0)
        return -1;
    path_pop(c, saved);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_entries(struct checker *c, const cJSON *entries)
{
    const cJSON *e;
    unsigned seen = 0;
    long i = 0;
    size_t k, saved = path_push(c, "entry", 0);
    char v[72];

    cJSON_ArrayForEach(e, entries)
    {
        if (check_entry(c, e, i++, &seen) < 0)
            return -1;
    }
    qsort(c->urls, c->nurls, sizeof *c->urls, cmp_str);
    for (k = 1; k < c->nurls; k++)
        if (!strcmp(c->urls[k - 1], c->urls[k]))
            return fail(c, "fullUrl '%s' appears in more than one entry", shown(c->urls[k], v));
    if (!(seen & HAS_PATIENT) || !(seen & HAS_ENCOUNTER) || !(seen & HAS_CONDITION) || !(seen & HAS_PROCEDURE))
        return fail(c, "no %s resource (every bundle holds at least one Patient, Encounter, Condition and Procedure)",
                    !(seen & HAS_PATIENT)     ? "Patient"
                    : !(seen & HAS_ENCOUNTER) ? "Encounter"
                    : !(seen & HAS_CONDITION) ? "Condition"
                                              : "Procedure");
    path_pop(c, saved);
    return 0;
}

/* ---- every value ---- */

/* 0 when a string shaped like a dateTime ends in a valid time zone; else a reason. */
static const char *datetime_problem(const char *s)
{
    const char *p = s + 16;

    if (*p == ':') {
        if (!digits_at(p, ":dd"))
            return "is a malformed dateTime";
        p += 3;
        if (*p == '.') {
            if (!is_digit(p[1]))
                return "is a malformed dateTime";
            for (p++; is_digit(*p); p++)
                ;
        }
    }
    if (*p == '\0')
        return "is a dateTime without a time zone (Z or +hh:mm/-hh:mm)";
    if (*p == 'Z' && p[1] == '\0')
        return NULL;
    if ((*p == '+' || *p == '-') && digits_at(p + 1, "dd:dd") && p[6] == '\0')
        return NULL;
    return "is a malformed dateTime (time zone must be Z or +hh:mm/-hh:mm)";
}

static int check_string(struct checker *c, const char *s, const char *key)
{
    const char *problem;
    char v[72];

    if (!s)
        return fail(c, "string without a value");
    if (!*s)
        return fail(c, "empty string (FHIR forbids empty values)");
    if (key && !strcmp(key, "reference") && !bsearch(&s, c->urls, c->nurls, sizeof *c->urls, cmp_str))
        return fail(c, "'%s' does not resolve to an entry fullUrl in the bundle", shown(s, v));
    if (digits_at(s, "dddd-dd-ddTdd:dd") && (problem = datetime_problem(s)) != NULL)
        return fail(c, "'%s' %s", shown(s, v), problem);
    return 0;
}

static int walk(struct checker *c, const cJSON *node, const char *key, int depth)
{
    const cJSON *child;
    size_t saved;
    long i = 0;
    int rc;

    if (depth > LIMIT_JSON_DEPTH)
        return fail(c, "nested deeper than LIMIT_JSON_DEPTH (%d levels)", LIMIT_JSON_DEPTH);
    if (cJSON_IsString(node))
        return check_string(c, node->valuestring, key);
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
        return 0;
    cJSON_ArrayForEach(child, node)
    {
        int in_object = cJSON_IsObject(node);

        saved = path_push(c, in_object ? (child->string ? child->string : "?") : NULL, i++);
        rc = walk(c, child, in_object ? child->string : key, depth + 1);
        if (rc < 0)
            return rc;
        path_pop(c, saved);
    }
    return 0;
}

/* ---- entry points ---- */

static int check_root(struct checker *c, const cJSON *b)
{
    const char *rt, *type;
    const cJSON *entries;
    char v[72];

    if (!cJSON_IsObject(b))
        return fail(c, "not a JSON object");
    rt = str_member(b, "resourceType");
    if (!rt || strcmp(rt, "Bundle") != 0)
        return fail(c, "resourceType is '%s', not Bundle", rt ? shown(rt, v) : "(none)");
    type = str_member(b, "type");
    if (!type || strcmp(type, "transaction") != 0)
        return fail(c, "type is '%s', not transaction", type ? shown(type, v) : "(none)");
    entries = cJSON_GetObjectItemCaseSensitive(b, "entry");
    if (!cJSON_IsArray(entries) || cJSON_GetArraySize(entries) == 0)
        return fail(c, "no entries");
    return 0;
}

int fhir_check_bundle(const cJSON *bundle, const char *name, struct error *err)
{
    struct checker c;
    const cJSON *entries;
    int n, rc = -1;

    memset(&c, 0, sizeof c);
    c.name = name ? name : "bundle";
    c.err = err;
    if (check_root(&c, bundle) < 0)
        return -1;
    entries = cJSON_GetObjectItemCaseSensitive(bundle, "entry");
    n = cJSON_GetArraySize(entries);
    c.urls = malloc((size_t)n * sizeof *c.urls);
    if (!c.urls) {
        error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", c.name);
        goto out;
    }
    if (check_entries(&c, entries) < 0 || walk(&c, bundle, NULL, 0) < 0)
        goto out;
    rc = 0;
out:
    free(c.urls);
    return rc;
}

static int read_file(const char *path, struct buf *b, struct error *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = -1;

    if (!f)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b->len + n > FHIR_CHECK_MAX_FILE) {
            error_set(err, LLMSYN_E_INPUT, "'%s' is larger than FHIR_CHECK_MAX_FILE (%zu MiB)", path,
                      FHIR_CHECK_MAX_FILE >> 20);
            goto out;
        }
        if (buf_append(b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_NOMEM, "out of memory reading '%s'", path);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "cannot read '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

int fhir_check_file(const char *path, struct error *err)
{
    struct buf b;
    cJSON *json = NULL;
    const char *end = NULL, *data;
    int rc = -1;

    buf_init(&b, FHIR_CHECK_MAX_FILE);
    if (read_file(path, &b, err) < 0)
        goto out;
    data = buf_str(&b);
    json = cJSON_ParseWithLengthOpts(data, b.len, &end, 0);
    if (!json) {
        error_set(err, LLMSYN_E_VALIDATION, "%s: not valid JSON (near byte %zu)", path,
                  end ? (size_t)(end - data) : (size_t)0);
        goto out;
    }
    while (end < data + b.len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end < data + b.len) {
        error_set(err, LLMSYN_E_VALIDATION, "%s: data after the JSON value (at byte %zu)", path, (size_t)(end - data));
        goto out;
    }
    rc = fhir_check_bundle(json, path, err);
out:
    cJSON_Delete(json);
    buf_free(&b);
    return rc;
}
