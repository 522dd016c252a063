/* services.c - loads the service-category tables and maps CPT and SNOMED CT codes to the paper's categories. */
#include "eval/services.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_MAX_LINE 4096
#define SVC_MAX_ROWS 100000
#define SVC_MAX_CODE 24

struct cpt_range {
    long first, last;
    enum service_category cat;
};

struct snomed_row {
    char code[SVC_MAX_CODE];
    enum service_category cat;
};

struct services {
    struct cpt_range *cpt;    /* owned */
    size_t ncpt;
    struct snomed_row *snomed; /* owned; sorted by code */
    size_t nsnomed;
};

static const char *const keys[SVC_COUNT] = {
    "diagnostic_imaging",  "respiratory_support",    "emergency_care",          "ward_management",
    "intervention_surgical", "planning_coordinating", "notification_assessment", "consultation_assessment",
    "unmapped",
};
static const char *const titles[SVC_COUNT] = {
    "Diagnostic imaging",           "Respiratory support and treatment", "Emergency care and monitoring",
    "Ward management and daily care", "Intervention and surgical procedures", "Planning and coordinating care",
    "Notification and assessment",  "Consultation and detailed assessment", "Unmapped",
};

const char *services_key(enum service_category c)
{
    return (unsigned)c < SVC_COUNT ? keys[c] : "invalid";
}

const char *services_title(enum service_category c)
{
    return (unsigned)c < SVC_COUNT ? titles[c] : "invalid";
}

enum service_category services_from_key(const char *key)
{
    unsigned i;

    for (i = 0; key && i < SVC_UNMAPPED; i++)
        if (!strcmp(key, keys[i]))
            return (enum service_category)i;
    return SVC_COUNT;
}

/* Splits line at tabs into at most n fields (in place); returns how many there were. */
static size_t split_tabs(char *line, char **fields, size_t n)
{
    size_t k = 0;
    char *p = line, *tab;

    while (k < n) {
        fields[k++] = p;
        tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return k;
}

/* Parses a five-digit CPT number ("00100".."99607") into *out; -1 when it is not one. */
static int parse_cpt(const char *s, long *out)
{
    size_t i, n;
    long v = 0;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, " \t\r\n");
    if (n != 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Reads a table line by line, calling row() with the tab-split fields of each data line. */
typedef int (*row_fn)(struct services *s, char **f, size_t nf, const char *path, size_t line, struct error *err);

static int read_table(struct services *s, const char *path, row_fn row, struct error *err)
{
    FILE *fp = fopen(path, "r");
    char line[SVC_MAX_LINE];
    char *f[8];
    size_t lineno = 0, nf;
    int header_seen = 0, rc = LLMSYN_OK;

    if (!fp)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
    while (rc == LLMSYN_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(fp)) {
            rc = error_set(err, LLMSYN_E_INPUT, "%s:%zu: line longer than %d bytes", path, lineno, SVC_MAX_LINE);
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!header_seen) {
            header_seen = 1;
            continue;
        }
        nf = split_tabs(line, f, sizeof f / sizeof f[0]);
        rc = row(s, f, nf, path, lineno, err);
    }
    if (rc == LLMSYN_OK && ferror(fp))
        rc = error_set(err, LLMSYN_E_INPUT, "cannot read '%s'", path);
    fclose(fp);
    return rc;
}

/* Grows *arr (of elements of `size`) to hold one more than n; -1 when over the cap or out of memory. */
static int grow(void **arr, size_t n, size_t size)
{
    void *p;

    if (n >= SVC_MAX_ROWS)
        return -1;
    if (n && (n & (n - 1)))
        return 0; /* capacity is the next power of two above n */
    p = realloc(*arr, (n ? 2 * n : 16) * size);
    if (!p)
        return -1;
    *arr = p;
    return 0;
}

static int category_of(const char *key, const char *path, size_t line, enum service_category *out,
                       struct error *err)
{
    *out = services_from_key(key);
    if (*out == SVC_COUNT)
        return error_set(err, LLMSYN_E_INPUT, "%s:%zu: unknown category '%.40s'", path, line, key);
    return LLMSYN_OK;
}

static int cpt_row(struct services *s, char **f, size_t nf, const char *path, size_t line, struct error *err)
{
    struct cpt_range r;

    if (nf < 3 || parse_cpt(f[0], &r.first) < 0 || parse_cpt(f[1], &r.last) < 0 || r.first > r.last)
        return error_set(err, LLMSYN_E_INPUT, "%s:%zu: want first<TAB>last<TAB>category with five-digit codes",
                         path, line);
    if (category_of(f[2], path, line, &r.cat, err) != LLMSYN_OK)
        return err->code;
    if (grow((void **)&s->cpt, s->ncpt, sizeof *s->cpt) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "%s:%zu: too many rows or out of memory", path, line);
    s->cpt[s->ncpt++] = r;
    return LLMSYN_OK;
}

static int snomed_row(struct services *s, char **f, size_t nf, const char *path, size_t line, struct error *err)
{
    struct snomed_row r;
    size_t n = nf ? strlen(f[0]) : 0;

    if (nf < 2 || n == 0 || n >= sizeof r.code || strspn(f[0], "0123456789") != n)
        return error_set(err, LLMSYN_E_INPUT, "%s:%zu: want code<TAB>category with a numeric SNOMED CT code", path,
                         line);
    memcpy(r.code, f[0], n + 1);
    if (category_of(f[1], path, line, &r.cat, err) != LLMSYN_OK)
        return err->code;
    if (grow((void **)&s->snomed, s->nsnomed, sizeof *s->snomed) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "%s:%zu: too many rows or out of memory", path, line);
    s->snomed[s->nsnomed++] = r;
    return LLMSYN_OK;
}

static int cmp_snomed(const void *a, const void *b)
{
    return strcmp(((const struct snomed_row *)a)->code, ((const struct snomed_row *)b)->code);
}

/* Fails when the sorted SNOMED table lists a code twice (two categories for one code would be ambiguous). */
static int check_unique(const struct services *s, const char *path, struct error *err)
{
    size_t i;

    for (i = 1; i < s->nsnomed; i++)
        if (!strcmp(s->snomed[i - 1].code, s->snomed[i].code))
            return error_set(err, LLMSYN_E_INPUT, "%s: code %s is listed twice", path, s->snomed[i].code);
    return LLMSYN_OK;
}

struct services *services_load(const char *cpt_path, const char *snomed_path, struct error *err)
{
    struct services *s = calloc(1, sizeof *s); /* owned until returned */

    if (!s) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory loading the service categories");
        return NULL;
    }
    if (!cpt_path || !snomed_path) {
        error_set(err, LLMSYN_E_USAGE, "no service-category table given");
        goto fail;
    }
    if (read_table(s, cpt_path, cpt_row, err) != LLMSYN_OK || read_table(s, snomed_path, snomed_row, err) != LLMSYN_OK)
        goto fail;
    if (s->nsnomed)
        qsort(s->snomed, s->nsnomed, sizeof *s->snomed, cmp_snomed);
    if (check_unique(s, snomed_path, err) != LLMSYN_OK)
        goto fail;
    return s;
fail:
    services_free(&s);
    return NULL;
}

void services_free(struct services **sp)
{
    if (!sp || !*sp)
        return;
    free((*sp)->cpt);
    free((*sp)->snomed);
    free(*sp);
    *sp = NULL;
}

enum service_category services_cpt(const struct services *s, const char *code)
{
    enum service_category best = SVC_UNMAPPED;
    long v, width = -1;
    size_t i;

    if (!s || !code || parse_cpt(code, &v) < 0)
        return SVC_UNMAPPED;
    for (i = 0; i < s->ncpt; i++) {
        const struct cpt_range *r = &s->cpt[i];

        if (v < r->first || v > r->last)
            continue;
        if (width < 0 || r->last - r->first < width) {
            width = r->last - r->first;
            best = r->cat;
        }
    }
    return best;
}

enum service_category services_snomed(const struct services *s, const char *code)
{
    struct snomed_row key;
    const struct snomed_row *hit;
    size_t n;

    if (!s || !code || !s->nsnomed)
        return SVC_UNMAPPED;
    while (*code == ' ')
        code++;
    n = strcspn(code, " \t\r\n");
    if (n == 0 || n >= sizeof key.code)
        return SVC_UNMAPPED;
    memcpy(key.code, code, n);
    key.code[n] = '\0';
    hit = bsearch(&key, s->snomed, s->nsnomed, sizeof *s->snomed, cmp_snomed);
    return hit ? hit->cat : SVC_UNMAPPED;
}

size_t services_cpt_rows(const struct services *s)
{
    return s ? s->ncpt : 0;
}

size_t services_snomed_rows(const struct services *s)
{
    return s ? s->nsnomed : 0;
}
