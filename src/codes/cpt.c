/* cpt.c - CPT without descriptors: section and CCS ranges (structural validation), MIMIC's "(deleted codes)"
 * subsections, and the user's licensed CPT file ("code,description") for exact validation. */
#include <stdio.h>
#include <string.h>

#include "codes/dict_internal.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static uint32_t digits_value(const char *s, size_t n)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    return v;
}

uint32_t range_key(const char *s)
{
    size_t i, digits = 0;

    for (i = 0; i < 5 && s[i]; i++)
        digits += is_digit(s[i]);
    if (i != 5 || s[5] != '\0')
        return 0;
    if (digits == 5)
        return 1 + digits_value(s, 5);
    if (digits == 4 && is_upper(s[4]))
        return 1 + (uint32_t)(100 + (s[4] - 'A')) * 100000u + digits_value(s, 4);
    if (digits == 4 && is_upper(s[0]))
        return 1 + (uint32_t)(200 + (s[0] - 'A')) * 100000u + digits_value(s + 1, 4);
    return 0;
}

uint32_t chapter_key(const char *s, size_t n)
{
    size_t i;

    for (i = (s[0] == 'V' || s[0] == 'E') ? 1 : 0; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    if (n == 3 && is_digit(s[0]))
        return 1 + digits_value(s, 3);
    if (n == 3 && s[0] == 'V')
        return 1 + 1000 + digits_value(s + 1, 2);
    if (n == 4 && s[0] == 'E')
        return 1 + 2000 + digits_value(s + 1, 3);
    return 0;
}

const struct code_range *range_find(const struct range_set *rs, uint32_t key)
{
    size_t lo = 0, hi = rs->n;

    if (key == 0)
        return NULL;
    while (lo < hi) { /* first range with r.lo > key */
        size_t mid = lo + (hi - lo) / 2;

        if (rs->r[mid].lo <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || rs->r[lo - 1].hi < key)
        return NULL;
    return &rs->r[lo - 1];
}

const char *dict_chapter(const struct dict *d, const char *code)
{
    size_t n = code[0] == 'E' ? 4 : 3;
    const struct code_range *r;

    if (strlen(code) < n)
        return NULL;
    r = range_find(&d->chapters, chapter_key(code, n));
    return r ? r->label : NULL;
}

enum code_status cpt_classify(const struct dict *d, struct code_info *out)
{
    uint32_t key = range_key(out->code);
    const struct code_range *sec = range_find(&d->sections, key), *sub = range_find(&d->subsections, key);
    const struct code_range *sp = range_find(&d->services, key);
    const struct code_entry *e = NULL;
    int deleted = sub && sub->status == CODE_RETIRED;

    out->system = CODE_CPT;
    out->ccs = sp && sp->ccs ? sp->ccs->text : NULL;
    out->section = sub ? sub->label : sec ? sec->label : NULL;
    if (d->cpt_exact) {
        out->level = CODE_LEVEL_EXACT;
        e = table_find(&d->tables[TABLE_CPT], out->code);
        if (e)
            out->display = e->display;
        out->status = e ? CODE_VALID : deleted ? CODE_RETIRED : CODE_INVALID;
        return out->status;
    }
    out->level = CODE_LEVEL_STRUCTURAL;
    out->status = (!sec || !sp) ? CODE_INVALID : deleted ? CODE_RETIRED : CODE_VALID;
    return out->status;
}

/* ---- the licensed CPT file ---- */

struct csv_line {
    const char *path; /* borrowed */
    uint32_t line;
};

static int csv_fail(const struct csv_line *l, struct error *err, const char *what, const char *value)
{
    char shown[40];
    size_t n = value ? strlen(value) : 0, i;

    if (n >= sizeof shown)
        n = sizeof shown - 1;
    for (i = 0; value && i < n; i++)
        shown[i] = ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x80) ? '?' : value[i];
    shown[n] = '\0';
    if (value)
        error_set(err, LLMSYN_E_INPUT, "%s:%u: %s '%s'", l->path, (unsigned)l->line, what, shown);
    else
        error_set(err, LLMSYN_E_INPUT, "%s:%u: %s", l->path, (unsigned)l->line, what);
    return -1;
}

/* Unquotes one RFC 4180 field starting at *pp inside [*pp, end) in place. Returns the NUL-terminated value
 * and moves *pp past the comma (or to end); NULL on a stray or unclosed quote. */
static char *csv_field(char **pp, char *end)
{
    char *p = *pp, *w = p, *start = p;

    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end)
                return NULL;
            if (*p == '"' && p + 1 < end && p[1] == '"') {
                *w++ = '"';
                p += 2;
            } else if (*p == '"') {
                p++;
                break;
            } else {
                *w++ = *p++;
            }
        }
        if (p < end && *p != ',')
            return NULL;
    } else {
        while (p < end && *p != ',') {
            if (*p == '"')
                return NULL;
            *w++ = *p++;
        }
    }
    *pp = p < end ? p + 1 : end + 1;
    *w = '\0';
    return start;
}

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Whether code is a CPT code shape, exactly (no HCPCS, nothing after it). */
static int is_cpt_shape(const char *code)
{
    char norm[DICT_CODE_MAX];

    return code_normalise(CODE_CPT, code, norm, sizeof norm) == 0 && !strcmp(norm, code) && !is_upper(code[0]);
}

/* One line "code,description". Returns 1 when added, 0 when it is the header line, -1 on error. */
static int cpt_row(struct dict *d, const struct csv_line *l, char *line, char *end, struct error *err)
{
    char *p = line, *code, *desc;
    struct code_entry e;
    const struct code_entry *dup = NULL;

    code = csv_field(&p, end);
    if (code && p > end)
        return csv_fail(l, err, "expected 2 comma-separated fields (code,description), found 1", NULL);
    desc = code ? csv_field(&p, end) : NULL;
    if (!code || !desc)
        return csv_fail(l, err, "misplaced or unclosed double quote", NULL);
    if (p <= end)
        return csv_fail(l, err, "expected 2 comma-separated fields (code,description), found more", NULL);
    code = trim(code);
    desc = trim(desc);
    if (!is_cpt_shape(code))
        return l->line == 1 ? 0 : csv_fail(l, err, "not a CPT code (5 digits, or 4 digits and F, T or U):", code);
    if (!*desc)
        return csv_fail(l, err, "empty description for", code);
    memset(&e, 0, sizeof e);
    e.code = code;
    e.display = desc;
    e.line = l->line;
    e.status = CODE_VALID;
    if (table_add(&d->tables[TABLE_CPT], &e, &dup))
        return 1;
    if (dup) {
        char what[64];

        snprintf(what, sizeof what, "duplicate code (first on line %u):", (unsigned)dup->line);
        return csv_fail(l, err, what, code);
    }
    return csv_fail(l, err, "too many rows", NULL);
}

/* Checks the encoding and counts the lines. Returns the count, or 0 with err set. */
static size_t csv_check(const char *path, const char *data, size_t len, struct error *err)
{
    struct csv_line l = { path, 1 };
    size_t i = 0, k;

    if (len == 0) {
        csv_fail(&l, err, "file is empty", NULL);
        return 0;
    }
    while (i < len) {
        if (data[i] == '\n') {
            l.line++;
            i++;
            continue;
        }
        k = data[i] == '\0' ? 0 : utf8_seq_len((const unsigned char *)data + i, len - i);
        if (k == 0) {
            csv_fail(&l, err, data[i] ? "invalid UTF-8 (save the file as UTF-8)" : "NUL byte", NULL);
            return 0;
        }
        i += k;
    }
    return l.line;
}

int cpt_dict_parse(struct dict *d, const char *path, char *data, size_t len, struct error *err)
{
    struct csv_line l = { path, 0 };
    size_t lines = csv_check(path, data, len, err);
    char *p = data, *end = data + len, *nl, *stop;

    if (lines == 0)
        return -1;
    if (table_init(&d->tables[TABLE_CPT], &d->arena, lines) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory loading '%s'", path);
        return -1;
    }
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3; /* byte order mark */
    while (p < end) {
        l.line++;
        nl = memchr(p, '\n', (size_t)(end - p));
        stop = nl ? nl : end;
        if (stop > p && stop[-1] == '\r')
            stop--;
        *stop = '\0';
        if (stop > p && cpt_row(d, &l, p, stop, err) < 0)
            return -1;
        p = nl ? nl + 1 : end;
    }
    if (d->tables[TABLE_CPT].n == 0)
        return csv_fail(&l, err, "no CPT codes in the file", NULL);
    d->cpt_exact = 1;
    return 0;
}

int cpt_dict_load(struct dict *d, const char *path, struct error *err)
{
    size_t len = 0;
    char *data = read_file(&d->arena, path, &len, err);

    if (!data)
        return -1;
    return cpt_dict_parse(d, path, data, len, err);
}
