/* prior.c - loads, checks and samples the aggregate prior z_P (format: docs/prior-format.md). */
#include "prior/prior.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/limits.h"

/* Limits on hostile input; going over one is an error naming the field. */
#define PRIOR_MAX_BYTES ((size_t)64 << 20) /* whole file */
#define PRIOR_MAX_DEPTH 32                 /* nesting of objects and arrays, checked before parsing */
#define PRIOR_MAX_DIAGNOSES 100000         /* entries of "diagnoses" */
#define PRIOR_MAX_CATEGORIES 10000         /* values of one categorical marginal */
#define PRIOR_MAX_AGE_BINS 121             /* disjoint bins within 0..120 */
#define PRIOR_MAX_AGE 120                  /* age bins lie within 0..PRIOR_MAX_AGE */
#define PRIOR_MAX_TEXT 4096                /* bytes of "source" and of a description */
#define PRIOR_MAX_VALUE 256                /* bytes of a category value */
#define PRIOR_CODE_SIZE 8                  /* "E878.8", "428.32" and a NUL */
#define PRIOR_PATH_SIZE 192                /* a JSON path in a message */
#define PRIOR_SHOW 48                      /* bytes of an offending value quoted in a message */

/* Where a message points: the file's name and the error sink (both borrowed). */
struct ctx {
    const char *name;
    struct error *err;
};

static int fail(struct ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records "<name>: <path>: <message>" as LLMSYN_E_INPUT; returns -1. */
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && path[0])
        error_set(c->err, LLMSYN_E_INPUT, "%s: %s: %s", c->name, path, msg);
    else
        error_set(c->err, LLMSYN_E_INPUT, "%s: %s", c->name, msg);
    return -1;
}

static int fail_nomem(struct ctx *c)
{
    error_set(c->err, LLMSYN_E_NOMEM, "%s: out of memory", c->name);
    return -1;
}

/* Copies s into out (size >= 4) for a message: at most PRIOR_SHOW bytes, control bytes and quotes as '?'. */
static void show(char *out, size_t size, const char *s)
{
    size_t i, n = 0, limit = size - 1 < PRIOR_SHOW ? size - 1 : PRIOR_SHOW;

    for (i = 0; s && s[i] && n < limit; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[n++] = (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') ? '?' : (char)ch;
    }
    out[n] = '\0';
}

static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats a JSON path into out (PRIOR_PATH_SIZE bytes); a path too long for it is cut short. */
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, PRIOR_PATH_SIZE, fmt, ap);
    va_end(ap);
}

/* path of a member: "parent.key", or "key" at the top level. */
static void path_key(char *out, const char *parent, const char *key)
{
    char k[PRIOR_SHOW + 1];

    show(k, sizeof k, key);
    if (parent[0])
        pathf(out, "%s.%s", parent, k);
    else
        pathf(out, "%s", k);
}

static void path_index(char *out, const char *parent, size_t i)
{
    pathf(out, "%s[%zu]", parent, i);
}

/* path of a category: parent["value"], so values with spaces or dots stay readable. */
static void path_value(char *out, const char *parent, const char *value)
{
    char v[PRIOR_SHOW + 1];

    show(v, sizeof v, value);
    pathf(out, "%s[\"%s\"]", parent, v);
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Rejects NUL bytes and absurd nesting before cJSON's recursive parser sees the text. */
static int prescan(struct ctx *c, const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    long deep;

    if (nul)
        return fail(c, NULL, "NUL byte at byte %zu", (size_t)(nul - text));
    deep = limits_json_too_deep(text, len, PRIOR_MAX_DEPTH);
    if (deep >= 0)
        return fail(c, NULL, "nested deeper than PRIOR_MAX_DEPTH (%d levels) near byte %ld", PRIOR_MAX_DEPTH, deep);
    return 0;
}

/* Checks an object's member names against `allowed` (NULL-terminated, at most 31 names): unknown
 * and repeated names are errors; names starting with '_' are comments and are skipped. */
static int check_keys(struct ctx *c, const cJSON *obj, const char *path, const char *const *allowed)
{
    char where[PRIOR_PATH_SIZE];
    const cJSON *it = NULL;
    unsigned long seen = 0;
    size_t k;

    cJSON_ArrayForEach(it, obj) {
        const char *key = it->string ? it->string : "";

        if (key[0] == '_')
            continue;
        for (k = 0; allowed[k] && strcmp(allowed[k], key) != 0; k++)
            ;
        path_key(where, path, key);
        if (!allowed[k])
            return fail(c, where, "unknown field");
        if (seen & (1UL << k))
            return fail(c, where, "duplicate field");
        seen |= 1UL << k;
    }
    return 0;
}

/* The member `key` of obj, or NULL; with required != 0 a missing member is an error (*bad = 1). */
static const cJSON *member(struct ctx *c, const cJSON *obj, const char *path, const char *key, int required,
                           int *bad)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key);
    char where[PRIOR_PATH_SIZE];

    if (!m && required) {
        path_key(where, path, key);
        *bad = fail(c, where, "missing");
    }
    return m;
}

static int check_weight(struct ctx *c, const cJSON *v, const char *path, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble > 0))
        return fail(c, path, "must be a positive number");
    *out = v->valuedouble;
    return 0;
}

static int check_rate(struct ctx *c, const cJSON *v, const char *path, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 || v->valuedouble > 1)
        return fail(c, path, "must be a number in [0, 1]");
    *out = v->valuedouble;
    return 0;
}

/* A string of 1..max bytes without control characters, copied into *out (caller frees). */
static int check_text(struct ctx *c, const cJSON *v, const char *path, size_t max, char **out)
{
    size_t n;

    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(c, path, "must be a string");
    n = strlen(v->valuestring);
    if (n == 0 || n > max)
        return fail(c, path, "must be 1 to %zu bytes long", max);
    if (has_control(v->valuestring))
        return fail(c, path, "contains a control character");
    *out = strdup(v->valuestring);
    return *out ? 0 : fail_nomem(c);
}

/* Writes an ICD-9-CM diagnosis code with its dot into out: "4280" and "428.0" give "428.0",
 * "v053" gives "V05.3", "E8788" gives "E878.8", "486" stays "486". Returns -1 if not code shaped. */
static int icd9_normalise(const char *in, char out[PRIOR_CODE_SIZE])
{
    size_t head = 3, tail = 2, n = 0, i = 0, d;

    if (in[0] == 'V' || in[0] == 'v') {
        out[n++] = 'V';
        i = 1;
    } else if (in[0] == 'E' || in[0] == 'e') {
        out[n++] = 'E';
        i = 1;
        head = 4;
        tail = 1;
    }
    for (; n < head; n++, i++) {
        if (in[i] < '0' || in[i] > '9')
            return -1;
        out[n] = in[i];
    }
    if (in[i] == '.' && in[++i] == '\0')
        return -1;
    if (in[i] != '\0')
        out[n++] = '.';
    for (d = 0; in[i] != '\0'; d++, i++) {
        if (d == tail || in[i] < '0' || in[i] > '9')
            return -1;
        out[n++] = in[i];
    }
    out[n] = '\0';
    return 0;
}

/* Array or object size, counting at most limit + 1 children. */
static size_t count_children(const cJSON *v, size_t limit)
{
    const cJSON *it = NULL;
    size_t n = 0;

    cJSON_ArrayForEach(it, v) {
        if (++n > limit)
            break;
    }
    return n;
}

/* Checks that v is a non-empty array (object when want_object) of at most limit entries; sets *n. */
static int check_list(struct ctx *c, const cJSON *v, const char *path, int want_object, size_t limit,
                      size_t *n)
{
    if (want_object ? !cJSON_IsObject(v) : !cJSON_IsArray(v))
        return fail(c, path, "must be %s", want_object ? "an object" : "an array");
    *n = count_children(v, limit);
    if (*n == 0)
        return fail(c, path, "must not be empty");
    if (*n > limit)
        return fail(c, path, "more than %zu entries", limit);
    return 0;
}

struct keyref {
    const char *s; /* borrowed */
    size_t i;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int r = strcmp(x->s, y->s);

    return r ? r : (x->i > y->i) - (x->i < y->i);
}

/* Finds repeated strings among the `const char *` members at `offset` of n records of `stride` bytes.
 * Returns 1 and the smallest index *dup that repeats an earlier *first, 0 if none, -1 without memory. */
static int find_duplicate(const void *base, size_t n, size_t stride, size_t offset, size_t *dup, size_t *first)
{
    struct keyref *refs = calloc(n, sizeof *refs);
    size_t k, run = 0;
    int found = 0;

    if (!refs)
        return -1;
    for (k = 0; k < n; k++) {
        const void *field = (const char *)base + k * stride + offset;

        refs[k].s = *(const char *const *)field;
        refs[k].i = k;
    }
    qsort(refs, n, sizeof *refs, keyref_cmp);
    for (k = 1; k < n; k++) {
        if (strcmp(refs[k].s, refs[run].s) != 0) {
            run = k;
        } else if (k == run + 1 && (!found || refs[k].i < *dup)) {
            *dup = refs[k].i;
            *first = refs[run].i;
            found = 1;
        }
    }
    free(refs);
    return found;
}

static int check_age(struct ctx *c, const cJSON *v, const char *path, int *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > PRIOR_MAX_AGE || floor(v->valuedouble) != v->valuedouble)
        return fail(c, path, "must be an integer in [0, %d]", PRIOR_MAX_AGE);
    *out = (int)v->valuedouble;
    return 0;
}

/* A {"min": int, "max": int} pair of whole years at path (an age bin's bounds, or a diagnosis's age range). */
static int parse_age_range(struct ctx *c, const cJSON *v, const char *path, int *min, int *max)
{
    char where[PRIOR_PATH_SIZE];
    const cJSON *m = NULL;
    int bad = 0;

    path_key(where, path, "min");
    m = member(c, v, path, "min", 1, &bad);
    if (bad || check_age(c, m, where, min) < 0)
        return -1;
    path_key(where, path, "max");
    m = member(c, v, path, "max", 1, &bad);
    if (bad || check_age(c, m, where, max) < 0)
        return -1;
    if (*min > *max)
        return fail(c, path, "min %d is greater than max %d", *min, *max);
    return 0;
}

/* The optional "age" of a diagnosis: {"min": int, "max": int}, the patient's age range for this main diagnosis. */
static int parse_diagnosis_age(struct ctx *c, const cJSON *v, const char *path, struct prior_diagnosis *d)
{
    static const char *const keys[] = {"min", "max", NULL};
    int min = -1, max = -1;

    if (!cJSON_IsObject(v))
        return fail(c, path, "must be an object");
    if (check_keys(c, v, path, keys) < 0 || parse_age_range(c, v, path, &min, &max) < 0)
        return -1;
    d->age_min = min;
    d->age_max = max;
    return 0;
}

static int parse_marginal(struct ctx *c, const cJSON *v, const char *path, struct prior_marginal *m);

/* The optional per-diagnosis marginals "gender", "insurance" and "marital_status": the same syntax and checks
 * as demographics.*; each one given replaces the global marginal for records with this main diagnosis. */
static int parse_diagnosis_marginals(struct ctx *c, const cJSON *v, const char *path, struct prior_diagnosis *d)
{
    static const char *const keys[] = {"gender", "insurance", "marital_status", NULL};
    struct prior_marginal *marginals[] = {&d->gender, &d->insurance, &d->marital_status};
    char where[PRIOR_PATH_SIZE];
    const cJSON *m = NULL;
    size_t k;
    int bad = 0;

    for (k = 0; keys[k]; k++) {
        path_key(where, path, keys[k]);
        if ((m = member(c, v, path, keys[k], 0, &bad)) && parse_marginal(c, m, where, marginals[k]) < 0)
            return -1;
    }
    return 0;
}

static int parse_diagnosis(struct ctx *c, const cJSON *v, const char *path, struct prior_diagnosis *d)
{
    static const char *const keys[] = {"code", "description", "weight", "mortality", "age",
                                       "gender", "insurance", "marital_status", NULL};
    char where[PRIOR_PATH_SIZE], code[PRIOR_CODE_SIZE], shown[PRIOR_SHOW + 1];
    const cJSON *m = NULL;
    int bad = 0;

    d->mortality = -1;
    d->age_min = d->age_max = -1;
    if (!cJSON_IsObject(v))
        return fail(c, path, "must be an object");
    if (check_keys(c, v, path, keys) < 0)
        return -1;
    m = member(c, v, path, "code", 1, &bad);
    if (bad)
        return -1;
    path_key(where, path, "code");
    if (!cJSON_IsString(m) || !m->valuestring)
        return fail(c, where, "must be a string");
    show(shown, sizeof shown, m->valuestring);
    if (strlen(m->valuestring) >= PRIOR_CODE_SIZE || icd9_normalise(m->valuestring, code) < 0)
        return fail(c, where, "\"%s\" is not an ICD-9-CM diagnosis code", shown);
    if (!(d->code = strdup(code)))
        return fail_nomem(c);
    path_key(where, path, "description");
    if ((m = member(c, v, path, "description", 0, &bad)) && check_text(c, m, where, PRIOR_MAX_TEXT, &d->description) < 0)
        return -1;
    path_key(where, path, "weight");
    m = member(c, v, path, "weight", 1, &bad);
    if (bad || check_weight(c, m, where, &d->weight) < 0)
        return -1;
    path_key(where, path, "mortality");
    if ((m = member(c, v, path, "mortality", 0, &bad)) && check_rate(c, m, where, &d->mortality) < 0)
        return -1;
    path_key(where, path, "age");
    if ((m = member(c, v, path, "age", 0, &bad)) && parse_diagnosis_age(c, m, where, d) < 0)
        return -1;
    return parse_diagnosis_marginals(c, v, path, d);
}

static int check_duplicate_codes(struct ctx *c, const struct prior *p)
{
    char where[PRIOR_PATH_SIZE];
    size_t dup = 0, first = 0;
    int r = find_duplicate(p->diagnoses, p->ndiagnoses, sizeof *p->diagnoses,
                           offsetof(struct prior_diagnosis, code), &dup, &first);

    if (r < 0)
        return fail_nomem(c);
    if (r == 0)
        return 0;
    pathf(where, "diagnoses[%zu].code", dup);
    return fail(c, where, "duplicate of diagnoses[%zu] (%s)", first, p->diagnoses[dup].code);
}

static int parse_diagnoses(struct ctx *c, const cJSON *v, struct prior *p)
{
    char where[PRIOR_PATH_SIZE];
    const cJSON *it = NULL;
    size_t n = 0;

    if (check_list(c, v, "diagnoses", 0, PRIOR_MAX_DIAGNOSES, &n) < 0)
        return -1;
    p->diagnoses = calloc(n, sizeof *p->diagnoses);
    p->diagnosis_weights = calloc(n, sizeof *p->diagnosis_weights);
    if (!p->diagnoses || !p->diagnosis_weights)
        return fail_nomem(c);
    cJSON_ArrayForEach(it, v) {
        struct prior_diagnosis *d = &p->diagnoses[p->ndiagnoses];

        path_index(where, "diagnoses", p->ndiagnoses);
        p->ndiagnoses++; /* counted before parsing so prior_free releases a half-filled entry */
        if (parse_diagnosis(c, it, where, d) < 0)
            return -1;
        p->diagnosis_weights[p->ndiagnoses - 1] = d->weight;
        p->diagnoses_total += d->weight;
    }
    if (!isfinite(p->diagnoses_total))
        return fail(c, "diagnoses", "weights add up to more than a double holds");
    return check_duplicate_codes(c, p);
}

static int parse_category(struct ctx *c, const cJSON *v, const char *path, struct prior_category *cat)
{
    char where[PRIOR_PATH_SIZE];
    const char *value = v->string ? v->string : "";
    size_t n = strlen(value);

    path_value(where, path, value);
    if (n == 0 || n > PRIOR_MAX_VALUE || has_control(value))
        return fail(c, where, "a value must be 1 to %d bytes without control characters", PRIOR_MAX_VALUE);
    if (check_weight(c, v, where, &cat->weight) < 0)
        return -1;
    cat->value = strdup(value);
    return cat->value ? 0 : fail_nomem(c);
}

/* A categorical marginal: an object of value -> positive weight, in the file's order. */
static int parse_marginal(struct ctx *c, const cJSON *v, const char *path, struct prior_marginal *m)
{
    char where[PRIOR_PATH_SIZE];
    const cJSON *it = NULL;
    size_t n = 0, dup = 0, first = 0;
    int r;

    if (check_list(c, v, path, 1, PRIOR_MAX_CATEGORIES, &n) < 0)
        return -1;
    if (!(m->items = calloc(n, sizeof *m->items)))
        return fail_nomem(c);
    cJSON_ArrayForEach(it, v) {
        if (parse_category(c, it, path, &m->items[m->n]) < 0)
            return -1;
        m->total += m->items[m->n++].weight;
    }
    if (!isfinite(m->total))
        return fail(c, path, "weights add up to more than a double holds");
    r = find_duplicate(m->items, m->n, sizeof *m->items, offsetof(struct prior_category, value), &dup, &first);
    if (r < 0)
        return fail_nomem(c);
    if (r == 0)
        return 0;
    path_value(where, path, m->items[dup].value);
    return fail(c, where, "duplicate value");
}

static int parse_age_bin(struct ctx *c, const cJSON *v, const char *path, struct prior_age_bin *b)
{
    static const char *const keys[] = {"min", "max", "weight", NULL};
    char where[PRIOR_PATH_SIZE];
    const cJSON *m = NULL;
    int bad = 0;

    if (!cJSON_IsObject(v))
        return fail(c, path, "must be an object");
    if (check_keys(c, v, path, keys) < 0 || parse_age_range(c, v, path, &b->min, &b->max) < 0)
        return -1;
    path_key(where, path, "weight");
    m = member(c, v, path, "weight", 1, &bad);
    return bad || check_weight(c, m, where, &b->weight) < 0 ? -1 : 0;
}

static int parse_age_bins(struct ctx *c, const cJSON *v, struct prior *p)
{
    const char *path = "demographics.age";
    char where[PRIOR_PATH_SIZE];
    const cJSON *it = NULL;
    size_t n = 0, k;

    if (check_list(c, v, path, 0, PRIOR_MAX_AGE_BINS, &n) < 0)
        return -1;
    p->age_bins = calloc(n, sizeof *p->age_bins);
    p->age_weights = calloc(n, sizeof *p->age_weights);
    if (!p->age_bins || !p->age_weights)
        return fail_nomem(c);
    cJSON_ArrayForEach(it, v) {
        struct prior_age_bin *b = &p->age_bins[p->nage_bins];

        path_index(where, path, p->nage_bins);
        if (parse_age_bin(c, it, where, b) < 0)
            return -1;
        for (k = 0; k < p->nage_bins; k++)
            if (b->min <= p->age_bins[k].max && p->age_bins[k].min <= b->max)
                return fail(c, where, "overlaps %s[%zu]", path, k);
        p->age_weights[p->nage_bins++] = b->weight;
        p->age_total += b->weight;
    }
    return 0;
}

static int parse_demographics(struct ctx *c, const cJSON *v, struct prior *p)
{
    static const char *const keys[] = {"gender", "age", "ethnicity", "insurance", "language",
                                       "religion", "marital_status", NULL};
    struct prior_marginal *marginals[] = {&p->gender, NULL, &p->ethnicity, &p->insurance, &p->language,
                                          &p->religion, &p->marital_status};
    const char *path = "demographics";
    char where[PRIOR_PATH_SIZE];
    const cJSON *m = NULL;
    size_t k;
    int bad = 0;

    if (!cJSON_IsObject(v))
        return fail(c, path, "must be an object");
    if (check_keys(c, v, path, keys) < 0)
        return -1;
    for (k = 0; keys[k]; k++) {
        m = member(c, v, path, keys[k], 1, &bad);
        if (bad)
            return -1;
        path_key(where, path, keys[k]);
        if (marginals[k] ? parse_marginal(c, m, where, marginals[k]) < 0 : parse_age_bins(c, m, p) < 0)
            return -1;
    }
    return 0;
}

static int parse_root(struct ctx *c, const cJSON *root, struct prior *p)
{
    static const char *const keys[] = {"source", "mortality", "diagnoses", "demographics", NULL};
    const cJSON *m = NULL;
    int bad = 0;

    if (!cJSON_IsObject(root))
        return fail(c, NULL, "the top level must be a JSON object");
    if (check_keys(c, root, "", keys) < 0)
        return -1;
    if ((m = member(c, root, "", "source", 0, &bad)) && check_text(c, m, "source", PRIOR_MAX_TEXT, &p->source) < 0)
        return -1;
    m = member(c, root, "", "mortality", 1, &bad);
    if (bad || check_rate(c, m, "mortality", &p->mortality) < 0)
        return -1;
    m = member(c, root, "", "diagnoses", 1, &bad);
    if (bad || parse_diagnoses(c, m, p) < 0)
        return -1;
    m = member(c, root, "", "demographics", 1, &bad);
    if (bad || parse_demographics(c, m, p) < 0)
        return -1;
    return 0;
}

/* Reports a syntax problem at byte `at` with its 1-based line and column; returns -1. */
static int fail_syntax(struct ctx *c, const char *text, size_t at, const char *what)
{
    size_t i, line = 1, column = 1;

    for (i = 0; i < at; i++) {
        if (text[i] == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    return fail(c, NULL, "not valid JSON near byte %zu (line %zu, column %zu)%s", at, line, column, what);
}

/* Parses text into a cJSON tree: the offset of a syntax error, or of trailing data, is reported.
 * cJSON_ParseWithLengthOpts gives the error position through return_parse_end (the same place
 * cJSON_GetErrorPtr() points to, without that function's shared global). */
static cJSON *parse_json(struct ctx *c, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *root = NULL;
    size_t at;

    if (prescan(c, text, len) < 0)
        return NULL;
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        at = (end && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
        fail_syntax(c, text, at, "");
        return NULL;
    }
    for (at = (size_t)(end - text); at < len; at++) {
        if (!strchr(" \t\r\n", text[at])) {
            fail_syntax(c, text, at, ": data after the top-level value");
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

struct prior *prior_parse(const char *text, size_t len, const char *name, struct error *err)
{
    struct ctx c = {name ? name : "prior", err};
    struct prior *p = NULL; /* returned; caller frees with prior_free */
    cJSON *root = NULL;     /* owned here */

    if (!text) {
        fail(&c, NULL, "no text");
        goto out;
    }
    if (len > PRIOR_MAX_BYTES) {
        fail(&c, NULL, "larger than PRIOR_MAX_BYTES (%zu MiB)", PRIOR_MAX_BYTES >> 20);
        goto out;
    }
    if (!(root = parse_json(&c, text, len)))
        goto out;
    if (!(p = calloc(1, sizeof *p))) {
        fail_nomem(&c);
        goto out;
    }
    if (parse_root(&c, root, p) < 0)
        prior_free(&p);
out:
    cJSON_Delete(root);
    return p;
}

struct prior *prior_load(const char *path, struct error *err)
{
    struct buf b = {NULL, 0, 0, 0}; /* file contents; freed here */
    struct prior *p = NULL;          /* returned; caller frees with prior_free */
    FILE *f = NULL;
    char chunk[65536];
    size_t n;

    buf_init(&b, PRIOR_MAX_BYTES);
    if (!(f = fopen(path, "rb"))) {
        error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > PRIOR_MAX_BYTES) {
            error_set(err, LLMSYN_E_INPUT, "%s: larger than PRIOR_MAX_BYTES (%zu MiB)", path, PRIOR_MAX_BYTES >> 20);
            goto out;
        }
        if (buf_append(&b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "cannot read '%s': %s", path, strerror(errno));
        goto out;
    }
    p = prior_parse(b.data ? b.data : "", b.len, path, err);
out:
    if (f)
        fclose(f);
    buf_free(&b);
    return p;
}

static void free_marginal(struct prior_marginal *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->items[i].value);
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

void prior_free(struct prior **pp)
{
    struct prior *p = pp ? *pp : NULL;
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->ndiagnoses; i++) {
        free(p->diagnoses[i].code);
        free(p->diagnoses[i].description);
        free_marginal(&p->diagnoses[i].gender);
        free_marginal(&p->diagnoses[i].insurance);
        free_marginal(&p->diagnoses[i].marital_status);
    }
    free(p->diagnoses);
    free(p->diagnosis_weights);
    free(p->age_bins);
    free(p->age_weights);
    free_marginal(&p->gender);
    free_marginal(&p->ethnicity);
    free_marginal(&p->insurance);
    free_marginal(&p->language);
    free_marginal(&p->religion);
    free_marginal(&p->marital_status);
    free(p->source);
    free(p);
    *pp = NULL;
}

/* One index in [0, n): by weight, or uniformly. Always one rng draw (rng_below may retry, rarely). */
static size_t pick(struct rng *r, const double *weights, size_t n, double total, int uniform)
{
    return uniform ? (size_t)rng_below(r, n) : rng_weighted(r, weights, n, total);
}

/* One value of a marginal: rng_weighted's walk over the items' own weights (marginals keep no
 * parallel array), or uniformly. */
static const char *pick_value(struct rng *r, const struct prior_marginal *m, int uniform)
{
    double u;
    size_t i;

    if (m->n == 0)
        return NULL;
    if (uniform)
        return m->items[rng_below(r, m->n)].value;
    u = rng_uniform(r) * m->total;
    for (i = 0; i + 1 < m->n; i++) {
        if (u < m->items[i].weight)
            break;
        u -= m->items[i].weight;
    }
    return m->items[i].value;
}

/* The diagnosis's own marginal when the prior gives one (n > 0), else the global one. */
static const struct prior_marginal *own_or_global(const struct prior_marginal *own,
                                                   const struct prior_marginal *global)
{
    return own->n > 0 ? own : global;
}

/* Draw order (fixed; docs/prior-format.md): diagnosis, expire, gender, ethnicity, insurance, language,
 * religion, marital_status, age bin, age within the bin; then, only when the diagnosis has an age range,
 * one more draw that replaces the age with one uniform in that range. Gender, insurance and marital status
 * come from the diagnosis's own marginal when it has one, with the same single draw, so the stream is the same. */
void prior_sample(const struct prior *p, struct rng *r, int uniform, struct prior_draw *out)
{
    const struct prior_diagnosis *dx = NULL; /* borrowed from p */
    const struct prior_age_bin *bin = NULL;  /* borrowed from p */
    double theta;

    memset(out, 0, sizeof *out);
    if (!p || !r || p->ndiagnoses == 0 || p->nage_bins == 0)
        return;
    dx = &p->diagnoses[pick(r, p->diagnosis_weights, p->ndiagnoses, p->diagnoses_total, uniform)];
    out->diagnosis = dx;
    theta = dx->mortality >= 0 ? dx->mortality : p->mortality;
    out->expire = rng_uniform(r) < theta;
    out->gender = pick_value(r, own_or_global(&dx->gender, &p->gender), uniform);
    out->ethnicity = pick_value(r, &p->ethnicity, uniform);
    out->insurance = pick_value(r, own_or_global(&dx->insurance, &p->insurance), uniform);
    out->language = pick_value(r, &p->language, uniform);
    out->religion = pick_value(r, &p->religion, uniform);
    out->marital_status = pick_value(r, own_or_global(&dx->marital_status, &p->marital_status), uniform);
    bin = &p->age_bins[pick(r, p->age_weights, p->nage_bins, p->age_total, uniform)];
    out->age = bin->min + (int)rng_below(r, (uint64_t)(bin->max - bin->min) + 1);
    if (dx->age_min >= 0 && dx->age_max >= dx->age_min) /* the diagnosis's own age range overrides the bin */
        out->age = dx->age_min + (int)rng_below(r, (uint64_t)(dx->age_max - dx->age_min) + 1);
}
