/* extract.c - turns a model's free-text answer into a step's fields: picks the final-output block, reads
 * `[FIELD]: value` lines, value lists under a field name and markdown tables, and normalises each value. */
#include "extract/extract.h"
#include "codes/dict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE 256    /* longest line taken as the value of a field named on the line above */
#define MAX_KEY 48       /* bytes of a field name as the model wrote it */
#define MAX_CELLS 32     /* table columns looked at */
#define MAX_PAREN 40     /* bytes of a "(years)" remark between a field name and its colon */
#define RX_PARTS 8
#define CODE_LEN 16

enum line_kind { LK_BLANK, LK_NEUTRAL, LK_ENTRY, LK_PROSE };
enum table_mode { TM_KV, TM_KV_HEADER, TM_COLUMNS, TM_RX };

struct span {
    const char *s; /* borrowed */
    size_t n;
};

struct line {
    const char *s;        /* borrowed from the work copy; NUL-terminated at s[n] */
    size_t n;
    unsigned char kind;   /* enum line_kind */
    unsigned char marker; /* mentions "final output" */
};

struct entry {
    const char *key; /* canonical field name; borrowed (static, or the step's own string) */
    char *value;     /* owned; "" when the field was named with no value */
    size_t line;
};

struct scan {
    const struct step_def *step; /* borrowed */
    char *work;                  /* owned copy of the answer: NUL and control bytes blanked, lines split */
    struct line *lines;          /* owned */
    size_t nlines;
    struct entry *entries;       /* owned, in line order */
    size_t nentries, cap;
    const char *pend_key;        /* a field named with no value: its values may follow on the next lines */
    size_t pend_line, pend_got;
};

struct scope {
    size_t a, b; /* entries [a, b) */
    int whole;   /* no final-output section: repeated values come from the last run of lines */
};

struct table {
    enum table_mode mode;
    const char *col[MAX_CELLS]; /* field of each column, or NULL */
    int rx[MAX_CELLS];          /* prescription part of each column, or -1 */
};

struct alias {
    const char *norm; /* upper-case letters and digits only */
    const char *name;
};

static const struct alias aliases[] = {
    { "GENDER", F_GENDER },
    { "SEX", F_GENDER },
    { "AGE", F_AGE },
    { "INSURANCE", F_INSURANCE },
    { "LANGUAGE", F_LANGUAGE },
    { "RELIGION", F_RELIGION },
    { "MARITALSTATUS", F_MARITAL },
    { "MARITAL", F_MARITAL },
    { "ETHNICITY", F_ETHNICITY },
    { "RACE", F_ETHNICITY },
    { "RACEETHNICITY", F_ETHNICITY },
    { "HOSPITALEXPIREFLAG", F_EXPIRE },
    { "EXPIREFLAG", F_EXPIRE },
    { "HOSPITALDEATHFLAG", F_EXPIRE },
    { "ICD9CODE", F_ICD9 },
    { "ICD9CODES", F_ICD9 },
    { "ICD9", F_ICD9 },
    { "ICD9CM", F_ICD9 },
    { "ICD9CMCODE", F_ICD9 },
    { "ICD9CMCODES", F_ICD9 },
    { "CPTCD", F_CPT },
    { "CPTCDS", F_CPT },
    { "CPT", F_CPT },
    { "CPTCODE", F_CPT },
    { "CPTCODES", F_CPT },
    { "ICD9PROCCODE", F_ICD9_PROC },
    { "ICD9PROCCODES", F_ICD9_PROC },
    { "ICD9PROC", F_ICD9_PROC },
    { "ICD9PROCEDURECODE", F_ICD9_PROC },
    { "ICD9PROCEDURECODES", F_ICD9_PROC },
    { "ICD9CMPROCEDURECODE", F_ICD9_PROC },
    { "ICD9CMPROCEDURECODES", F_ICD9_PROC },
    { "ICD9PX", F_ICD9_PROC },
    { "PRESCRIPTION", F_PRESCRIPTION },
    { "PRESCRIPTIONS", F_PRESCRIPTION },
};

static const char *const rx_columns[RX_PARTS] = {
    "DRUG_TYPE", "DRUG", "FORMULARY_DRUG_CD", "DOSE_VAL_RX", "DOSE_UNIT_RX", "FORM_VAL_DISP", "FORM_UNIT_DISP",
    "ROUTE",
};

/* Second cells that make `| ICD9_CODE | Description |` a header rather than a field/value row. */
static const char *const header_words[] = {
    "DESCRIPTION", "DESC", "NAME", "MEANING", "DETAILS", "NOTES", "NOTE", "COMMENT", "COMMENTS",
    "EXPLANATION", "RATIONALE", "REASON", "DIAGNOSIS", "PROCEDURE", "VALUE", "CODE", "TITLE",
    "DISEASE", "CONDITION", "LABEL", "SERVICE", "INDICATION",
};

/* ---- characters and spans ---- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static struct span span_of(const char *s, size_t n)
{
    struct span v = { s, n };

    return v;
}

static struct span trim_ws(struct span v)
{
    while (v.n && v.s[0] == ' ') {
        v.s++;
        v.n--;
    }
    while (v.n && v.s[v.n - 1] == ' ')
        v.n--;
    return v;
}

/* v without surrounding blanks, or empty when it has no letter, digit or non-ASCII character
 * ("**", "[ ]", "-"). Values stay as written otherwise; extract_value() strips their markup. */
static struct span content(struct span v)
{
    size_t i;

    v = trim_ws(v);
    for (i = 0; i < v.n; i++)
        if (is_alnum(v.s[i]) || (unsigned char)v.s[i] >= 0x80)
            return v;
    return span_of(v.s, 0);
}

/* Strips list, heading and quote markers: "- ", "* ", "+ ", "• ", "1. ", "2) ", "> ", "###". */
static struct span strip_prefix(struct span v)
{
    size_t before, d;

    do {
        before = v.n;
        v = trim_ws(v);
        for (d = 0; d < v.n && d < 3 && is_digit(v.s[d]);)
            d++;
        if (v.n && (v.s[0] == '#' || v.s[0] == '>'))
            d = 1;
        else if (v.n >= 2 && in_set(v.s[0], "-*+") && v.s[1] == ' ')
            d = 2;
        else if (v.n >= 3 && !memcmp(v.s, "\xE2\x80\xA2", 3))
            d = 3;
        else if (d && d + 1 < v.n && (v.s[d] == '.' || v.s[d] == ')') && v.s[d + 1] == ' ')
            d += 2;
        else
            d = 0;
        v.s += d;
        v.n -= d;
    } while (v.n != before);
    return v;
}

static int starts_ci(const char *s, size_t n, const char *word)
{
    size_t i;

    for (i = 0; word[i]; i++)
        if (i >= n || to_upper(s[i]) != to_upper(word[i]))
            return 0;
    return 1;
}

/* Where "final output" (also final_output, final-output, any case) ends in the line, or 0. */
static size_t final_output_end(struct span v)
{
    size_t i, j;

    for (i = 0; i + 5 <= v.n; i++) {
        if (!starts_ci(v.s + i, v.n - i, "final"))
            continue;
        for (j = i + 5; j < v.n && in_set(v.s[j], " _-*"); j++)
            ;
        if (j > i + 5 && starts_ci(v.s + j, v.n - j, "output"))
            return j + 6;
    }
    return 0;
}

/* What follows the "Final Output:" words on their line ("Final Output: [AGE]: 67" gives "[AGE]: 67"). */
static struct span after_marker(struct span v)
{
    size_t at = final_output_end(v);

    while (at < v.n && in_set(v.s[at], " :*_#=->"))
        at++;
    return span_of(v.s + at, v.n - at);
}

/* ---- field names ---- */

/* Upper-case letters and digits of s up to a "(remark)"; 0 when it has other scripts' bytes or is too long. */
static size_t norm_key(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < n && !(s[i] == '(' && o > 0); i++) {
        if ((unsigned char)s[i] >= 0x80 || o + 1 >= cap)
            return 0;
        if (is_alnum(s[i]))
            out[o++] = to_upper(s[i]);
    }
    out[o] = '\0';
    return o;
}

static int same_key(const char *norm, const char *name)
{
    char buf[MAX_KEY + 1];

    return norm_key(name, strlen(name), buf, sizeof buf) && !strcmp(norm, buf);
}

static int is_code_field(const char *name)
{
    return !strcmp(name, F_ICD9) || !strcmp(name, F_CPT) || !strcmp(name, F_ICD9_PROC);
}

/* The canonical field the name s denotes, or NULL. rx: also prescription table columns;
 * header: also a bare "Code" column naming the step's code field. */
static const char *lookup_key(const struct step_def *step, const char *s, size_t n, int rx, int header)
{
    char norm[MAX_KEY + 1];
    size_t i;

    if (!norm_key(s, n, norm, sizeof norm))
        return NULL;
    for (i = 0; step->fields[i]; i++)
        if (same_key(norm, step->fields[i]))
            return step->fields[i];
    if (step->repeated && same_key(norm, step->repeated))
        return step->repeated;
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(norm, aliases[i].norm))
            return aliases[i].name;
    for (i = 0; rx && i < RX_PARTS; i++)
        if (same_key(norm, rx_columns[i]))
            return rx_columns[i];
    if (header && (!strcmp(norm, "CODE") || !strcmp(norm, "CODES"))) {
        if (step->repeated && is_code_field(step->repeated))
            return step->repeated;
        for (i = 0; step->fields[i]; i++)
            if (is_code_field(step->fields[i]))
                return step->fields[i];
    }
    return NULL;
}

static int rx_index(const char *key)
{
    int i;

    for (i = 0; key && i < RX_PARTS; i++)
        if (key == rx_columns[i])
            return i;
    return -1;
}

static int is_header_word(struct span v)
{
    char norm[MAX_KEY + 1];
    size_t i;

    if (!norm_key(v.s, v.n, norm, sizeof norm))
        return 0;
    for (i = 0; i < sizeof header_words / sizeof header_words[0]; i++)
        if (!strcmp(norm, header_words[i]))
            return 1;
    return 0;
}

static int is_key_char(char c)
{
    return is_alnum(c) || in_set(c, "_ -\\/");
}

/* If the line names a known field ("[AGE]: 67", "**Age:** 67", "AGE = 67", "\"AGE\": 67",
 * "Age (years): 67", or a bare "**CPT_CD**" heading with an empty value), sets *key and the raw value
 * and returns 1; else 0. */
static int parse_key_line(const struct step_def *step, struct span line, const char **key, struct span *value)
{
    struct span v = strip_prefix(line);
    const char *p = v.s, *end = v.s + v.n, *ks, *ke, *close;

    while (p < end && in_set(*p, "*_`\"'[{"))
        p++;
    for (ks = p; p < end && p - ks <= MAX_KEY && is_key_char(*p);)
        p++;
    ke = p;
    if (p < end && *p == '(') {
        close = memchr(p, ')', (size_t)(end - p) < MAX_PAREN ? (size_t)(end - p) : MAX_PAREN);
        if (!close)
            return 0;
        p = close + 1;
    }
    while (p < end && in_set(*p, " *_`\"']"))
        p++;
    if (p < end && *p != ':' && *p != '=')
        return 0;
    *key = lookup_key(step, ks, (size_t)(ke - ks), 0, 0);
    if (!*key)
        return 0;
    *value = p < end ? span_of(p + 1, (size_t)(end - p - 1)) : span_of(end, 0);
    return 1;
}

/* ---- scanning the answer into entries ---- */

static int add_entry(struct scan *sc, const char *key, struct span v, size_t line)
{
    struct entry *e;

    if (sc->nentries == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 32;
        struct entry *p = realloc(sc->entries, cap * sizeof *p);

        if (!p)
            return -1;
        sc->entries = p;
        sc->cap = cap;
    }
    e = &sc->entries[sc->nentries];
    e->value = malloc(v.n + 1);
    if (!e->value)
        return -1;
    memcpy(e->value, v.s, v.n);
    e->value[v.n] = '\0';
    e->key = key;
    e->line = line;
    sc->nentries++;
    return 0;
}

/* Copies the answer, blanking NUL, control bytes, tabs, no-break spaces and byte-order marks
 * (same length, so offsets stay), then cuts it into NUL-terminated lines at LF, CRLF or CR. */
static int scan_init(struct scan *sc, const char *answer, size_t len)
{
    size_t i, start = 0, n = 1;
    char *w;

    w = sc->work = malloc(len + 1);
    if (!w)
        return -1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)answer[i];

        size_t blank = 0;

        w[i] = ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7F) ? ' ' : (char)c;
        if (c == 0xC2 && i + 1 < len && (unsigned char)answer[i + 1] == 0xA0)
            blank = 2;
        else if (c == 0xEF && i + 2 < len && !memcmp(answer + i + 1, "\xBB\xBF", 2))
            blank = 3;
        if (blank) {
            memset(w + i, ' ', blank);
            i += blank - 1;
        }
        n += w[i] == '\n' || (w[i] == '\r' && (i + 1 >= len || answer[i + 1] != '\n'));
    }
    w[len] = '\0';
    sc->lines = calloc(n, sizeof *sc->lines);
    if (!sc->lines)
        return -1;
    for (i = 0; i <= len; i++) {
        if (i < len && w[i] != '\n' && w[i] != '\r')
            continue;
        sc->lines[sc->nlines].s = w + start;
        sc->lines[sc->nlines].n = i - start;
        sc->lines[sc->nlines].marker = final_output_end(span_of(w + start, i - start)) > 0;
        sc->nlines++;
        if (i < len && w[i] == '\r' && w[i + 1] == '\n')
            w[i++] = '\0';
        w[i] = '\0';
        start = i + 1;
    }
    return 0;
}

static struct span line_span(const struct scan *sc, size_t i)
{
    return trim_ws(span_of(sc->lines[i].s, sc->lines[i].n));
}

static int is_fence(struct span v)
{
    return v.n >= 3 && (!memcmp(v.s, "```", 3) || !memcmp(v.s, "~~~", 3));
}

static int is_separator(struct span v)
{
    size_t i, dashes = 0, pipes = 0;

    for (i = 0; i < v.n; i++) {
        if (!in_set(v.s[i], "|-: "))
            return 0;
        dashes += v.s[i] == '-';
        pipes += v.s[i] == '|';
    }
    return dashes > 0 && pipes > 0;
}

static int starts_table(const struct scan *sc, size_t i, struct span v)
{
    return memchr(v.s, '|', v.n) && i + 1 < sc->nlines && is_separator(line_span(sc, i + 1));
}

/* Splits "| a | b |" (outer pipes optional) into at most max trimmed cells; returns the count. */
static size_t split_cells(struct span v, struct span *cells, size_t max)
{
    size_t n = 0, i, start;

    v = trim_ws(v);
    if (v.n && v.s[0] == '|')
        v.s++, v.n--;
    if (v.n && v.s[v.n - 1] == '|')
        v.n--;
    for (i = start = 0; i <= v.n && n < max; i++) {
        if (i < v.n && v.s[i] != '|')
            continue;
        cells[n++] = content(span_of(v.s + start, i - start));
        start = i + 1;
    }
    return n;
}

/* Joins cells with " | " into one entry value (a prescription). */
static int add_joined(struct scan *sc, const char *key, const struct span *parts, size_t n, size_t line)
{
    size_t i, len = 0, o = 0;
    char *buf;
    int rc;

    for (i = 0; i < n; i++)
        len += parts[i].n + 3;
    buf = malloc(len + 1);
    if (!buf)
        return -1;
    for (i = 0; i < n; i++) {
        if (i) {
            memcpy(buf + o, " | ", 3);
            o += 3;
        }
        memcpy(buf + o, parts[i].s, parts[i].n);
        o += parts[i].n;
    }
    rc = add_entry(sc, key, span_of(buf, o), line);
    free(buf);
    return rc;
}

/* A `| FIELD | value |` row: returns 1 with an entry added, 0 when cell 0 names no field, -1 on OOM. */
static int kv_row(struct scan *sc, const struct span *cells, size_t n, size_t line)
{
    const char *key = n ? lookup_key(sc->step, cells[0].s, cells[0].n, 0, 0) : NULL;
    struct span none = { "", 0 };

    if (!key)
        return 0;
    if (!strcmp(key, F_PRESCRIPTION) && n > 2)
        return add_joined(sc, key, cells + 1, n - 1, line) < 0 ? -1 : 1;
    return add_entry(sc, key, n > 1 ? cells[1] : none, line) < 0 ? -1 : 1;
}

static int rx_row(struct scan *sc, const struct table *t, const struct span *cells, size_t n, size_t line)
{
    struct span parts[RX_PARTS];
    size_t i, filled = 0;

    for (i = 0; i < RX_PARTS; i++)
        parts[i] = span_of("", 0);
    for (i = 0; i < n; i++) {
        if (t->rx[i] >= 0 && cells[i].n) {
            parts[t->rx[i]] = cells[i];
            filled++;
        }
    }
    if (!filled)
        return 0;
    return add_joined(sc, F_PRESCRIPTION, parts, RX_PARTS, line) < 0 ? -1 : 1;
}

/* One data row of a table; returns 1 when it gave entries, 0 when none, -1 on OOM. */
static int table_row(struct scan *sc, const struct table *t, struct span v, size_t line)
{
    struct span cells[MAX_CELLS];
    size_t n = split_cells(v, cells, MAX_CELLS), i;
    int got = 0;

    if (t->mode == TM_KV || t->mode == TM_KV_HEADER)
        return kv_row(sc, cells, n, line);
    if (t->mode == TM_RX)
        return rx_row(sc, t, cells, n, line);
    for (i = 0; i < n; i++) {
        if (!t->col[i] || !cells[i].n)
            continue;
        if (add_entry(sc, t->col[i], cells[i], line) < 0)
            return -1;
        got = 1;
    }
    return got;
}

/* Reads a header row: prescription columns, field-name columns, or a `| Field | Value |` table. */
static void table_header(const struct scan *sc, struct table *t, const struct span *cells, size_t n)
{
    size_t i, nrx = 0, nkeys = 0;
    int drug = 0;

    for (i = 0; i < MAX_CELLS; i++) {
        t->col[i] = NULL;
        t->rx[i] = -1;
    }
    for (i = 0; i < n; i++) {
        const char *k = lookup_key(sc->step, cells[i].s, cells[i].n, 1, 1);

        t->rx[i] = rx_index(k);
        t->col[i] = t->rx[i] >= 0 ? NULL : k;
        nrx += t->rx[i] >= 0;
        nkeys += t->col[i] != NULL;
        drug |= t->rx[i] == 1;
    }
    if (nrx >= 2 && drug)
        t->mode = TM_RX;
    else if (nkeys == 0)
        t->mode = TM_KV;
    else if (n == 2 && t->col[0] && !t->col[1] && !is_header_word(cells[1]))
        t->mode = TM_KV_HEADER;
    else
        t->mode = TM_COLUMNS;
}

/* A table from its header line i: sets line kinds, adds entries, sets *next past the table. */
static int scan_table(struct scan *sc, size_t i, size_t *next)
{
    struct span cells[MAX_CELLS];
    struct table t;
    size_t n = split_cells(line_span(sc, i), cells, MAX_CELLS), j;
    int rc = 0;

    table_header(sc, &t, cells, n);
    if (t.mode == TM_KV_HEADER)
        rc = kv_row(sc, cells, n, i);
    sc->lines[i].kind = rc > 0 ? LK_ENTRY : LK_NEUTRAL;
    sc->lines[i + 1].kind = LK_NEUTRAL;
    for (j = i + 2; rc >= 0 && j < sc->nlines; j++) {
        struct span v = line_span(sc, j);

        if (!v.n || !memchr(v.s, '|', v.n))
            break;
        rc = is_separator(v) ? 0 : table_row(sc, &t, v, j);
        sc->lines[j].kind = rc > 0 ? LK_ENTRY : LK_NEUTRAL;
    }
    *next = j;
    return rc < 0 ? -1 : 0;
}

/* Ends a pending field: when no value followed, it is recorded as named-but-empty. */
static int pend_end(struct scan *sc)
{
    int rc = 0;

    if (sc->pend_key && sc->pend_got == 0)
        rc = add_entry(sc, sc->pend_key, span_of("", 0), sc->pend_line);
    sc->pend_key = NULL;
    return rc;
}

/* Whether u (a line after "FIELD:" with no value) is a value of the pending field. */
static int pend_accepts(const struct scan *sc, struct span u, struct span raw)
{
    char code[CODE_LEN];
    const char *p = u.s, *end = u.s + u.n;

    if (!u.n || raw.s[0] == '#')
        return 0;
    while (p < end && in_set(*p, "*_`\"'["))
        p++;
    if (!strcmp(sc->pend_key, F_ICD9))
        return extract_icd9_dx(p, code, sizeof code) == 0;
    if (!strcmp(sc->pend_key, F_CPT))
        return extract_cpt(p, code, sizeof code) == 0;
    if (!strcmp(sc->pend_key, F_ICD9_PROC))
        return code_normalise(CODE_ICD9_PX, p, code, sizeof code) == 0;
    if (!strcmp(sc->pend_key, F_PRESCRIPTION))
        return memchr(u.s, '|', u.n) != NULL;
    return sc->pend_got == 0 && u.n <= MAX_VALUE;
}

/* Tries line i as a value of the pending field: 1 consumed, 0 not (pending ended), -1 OOM. */
static int pend_try(struct scan *sc, size_t i, struct span v)
{
    const char *key;
    struct span value, u;
    int multi = sc->step->repeated && !strcmp(sc->pend_key, sc->step->repeated);

    if (sc->lines[i].marker || is_fence(v) || starts_table(sc, i, v) || parse_key_line(sc->step, v, &key, &value))
        return pend_end(sc);
    u = content(v.s[0] == '|' ? v : strip_prefix(v));
    if (!pend_accepts(sc, u, v))
        return pend_end(sc);
    if (add_entry(sc, sc->pend_key, u, i) < 0)
        return -1;
    sc->lines[i].kind = LK_ENTRY;
    sc->pend_got++;
    if (!multi)
        sc->pend_key = NULL;
    return 1;
}

static int scan_key_line(struct scan *sc, size_t i, const char *key, struct span value)
{
    struct span u = content(value);

    sc->lines[i].kind = LK_ENTRY;
    if (u.n)
        return add_entry(sc, key, u, i);
    sc->pend_key = key;
    sc->pend_line = i;
    sc->pend_got = 0;
    return 0;
}

/* Classifies line i and adds its entries; *next is the line to look at after it. */
static int scan_line(struct scan *sc, size_t i, size_t *next)
{
    struct span v = line_span(sc, i), cells[MAX_CELLS], value;
    const char *key;
    int rc;

    *next = i + 1;
    if (!v.n) {
        sc->lines[i].kind = LK_BLANK;
        return sc->pend_key && sc->pend_got ? pend_end(sc) : 0;
    }
    if (sc->pend_key && (rc = pend_try(sc, i, v)) != 0)
        return rc < 0 ? -1 : 0;
    if (sc->lines[i].marker)
        v = after_marker(v);
    if (!v.n || is_fence(v) || is_separator(v)) {
        sc->lines[i].kind = LK_NEUTRAL;
        return 0;
    }
    if (starts_table(sc, i, v))
        return scan_table(sc, i, next);
    if (v.s[0] == '|') {
        rc = kv_row(sc, cells, split_cells(v, cells, MAX_CELLS), i);
        sc->lines[i].kind = rc > 0 ? LK_ENTRY : LK_NEUTRAL;
        return rc < 0 ? -1 : 0;
    }
    if (parse_key_line(sc->step, v, &key, &value))
        return scan_key_line(sc, i, key, value);
    sc->lines[i].kind = LK_PROSE;
    return 0;
}

static int scan_lines(struct scan *sc)
{
    size_t i = 0, next;

    while (i < sc->nlines) {
        if (scan_line(sc, i, &next) < 0)
            return -1;
        i = next;
    }
    return pend_end(sc);
}

static void scan_free(struct scan *sc)
{
    size_t i;

    for (i = 0; i < sc->nentries; i++)
        free(sc->entries[i].value);
    free(sc->entries);
    free(sc->lines);
    free(sc->work);
    memset(sc, 0, sizeof *sc);
}

/* ---- choosing where the fields come from ---- */

/* Index of the first entry on or after line. */
static size_t entries_from(const struct scan *sc, size_t line)
{
    size_t lo = 0, hi = sc->nentries;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sc->entries[mid].line < line)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int names_field(const struct scan *sc, size_t a, size_t b, const char *field)
{
    for (; a < b; a++)
        if (!strcmp(sc->entries[a].key, field))
            return 1;
    return 0;
}

/* 2 when entries [a, b) name every field the step needs, 1 when they name some, 0 when none. */
static int section_state(const struct scan *sc, size_t a, size_t b)
{
    const struct step_def *step = sc->step;
    size_t i;
    int any = 0, all = 1, has;

    for (i = 0; step->fields[i]; i++) {
        has = names_field(sc, a, b, step->fields[i]);
        any |= has;
        all &= has;
    }
    if (step->repeated) {
        has = names_field(sc, a, b, step->repeated);
        any |= has;
        all &= has || step->min_repeated == 0;
    }
    return !any ? 0 : all ? 2 : 1;
}

/* The last final-output section that names every field, else the last one naming any,
 * else the whole answer. A section runs from a "final output" line (its rest included) to the next one. */
static void choose_scope(const struct scan *sc, struct scope *sp)
{
    size_t i, end = sc->nlines, a, b;
    int state, partial = 0;

    sp->a = 0;
    sp->b = sc->nentries;
    sp->whole = 1;
    for (i = sc->nlines; i-- > 0;) {
        if (!sc->lines[i].marker)
            continue;
        a = entries_from(sc, i);
        b = entries_from(sc, end);
        end = i;
        state = section_state(sc, a, b);
        if (state == 0 || (state == 1 && partial))
            continue;
        sp->a = a;
        sp->b = b;
        sp->whole = 0;
        if (state == 2)
            return;
        partial = 1;
    }
}

/* In the whole answer, narrows [a, b) to the last run of lines naming `field` that no prose interrupts. */
static void last_run(const struct scan *sc, const char *field, size_t *a, size_t *b)
{
    size_t k, start, last = *b;

    for (k = *b; k-- > *a;) {
        if (!strcmp(sc->entries[k].key, field) && sc->entries[k].value[0]) {
            last = k;
            break;
        }
    }
    if (last == *b)
        return;
    k = last;
    start = sc->entries[k].line;
    while (start > 0 && sc->lines[start - 1].kind != LK_PROSE)
        start--;
    *b = k + 1;
    if (entries_from(sc, start) > *a)
        *a = entries_from(sc, start);
}

/* ---- collecting the step's fields ---- */

static int collect_single(const struct scan *sc, const struct scope *sp, const char *field, struct record *tmp,
                          struct error *err)
{
    size_t k;
    int named = 0;

    for (k = sp->b; k-- > sp->a;) {
        if (strcmp(sc->entries[k].key, field))
            continue;
        named = 1;
        if (sc->entries[k].value[0])
            return extract_value(field, sc->entries[k].value, 0, tmp, err);
    }
    error_set(err, LLMSYN_E_BACKEND, named ? "answer has an empty %s field" : "answer has no %s field", field);
    return -1;
}

static int collect_repeated(const struct scan *sc, const struct scope *sp, struct record *tmp, struct error *err)
{
    const char *field = sc->step->repeated;
    size_t a = sp->a, b = sp->b, k, count;

    if (sp->whole)
        last_run(sc, field, &a, &b);
    for (k = a; k < b; k++) {
        if (strcmp(sc->entries[k].key, field) || !sc->entries[k].value[0])
            continue;
        if (extract_value(field, sc->entries[k].value, 1, tmp, err) < 0)
            return -1;
    }
    count = record_count(tmp, field);
    if (count == 0 && sc->step->min_repeated > 0) {
        error_set(err, LLMSYN_E_BACKEND, "answer has no %s values", field);
        return -1;
    }
    if (count < sc->step->min_repeated) {
        error_set(err, LLMSYN_E_BACKEND, "answer has %zu %s values, fewer than %u", count, field,
                  sc->step->min_repeated);
        return -1;
    }
    return 0;
}

/* Appends tmp to out; repeated values already in out are not added twice. On failure out is unchanged. */
static int append_all(struct record *out, const struct record *tmp, const char *repeated)
{
    size_t i, keep = out->nfields;
    int rc;

    for (i = 0; i < tmp->nfields; i++) {
        const struct field *f = &tmp->fields[i];

        rc = repeated && !strcmp(f->name, repeated) ? record_add_unique(out, f->name, f->value)
                                                    : record_add(out, f->name, f->value);
        if (rc == 0)
            continue;
        while (out->nfields > keep) {
            out->nfields--;
            free(out->fields[out->nfields].name);
            free(out->fields[out->nfields].value);
        }
        return -1;
    }
    return 0;
}

static int answer_blank(const char *answer, size_t len)
{
    size_t i;

    for (i = 0; answer && i < len; i++)
        if (!in_set(answer[i], " \t\r\n\v\f") && answer[i] != '\0')
            return 0;
    return 1;
}

int extract_answer(const char *answer, size_t len, const struct step_def *step, struct record *out,
                   struct error *err)
{
    struct scan sc = { 0 };
    struct record tmp = { 0 };
    struct scope sp;
    size_t i;
    int rc = -1;

    if (!step || !step->fields || !out) {
        error_set(err, LLMSYN_E_INTERNAL, "extract_answer called without a step or a record");
        return -1;
    }
    if (len > EXTRACT_MAX_ANSWER) {
        error_set(err, LLMSYN_E_BACKEND, "answer is %zu bytes, over the %zu-byte limit", len, EXTRACT_MAX_ANSWER);
        return -1;
    }
    if (answer_blank(answer, len)) {
        error_set(err, LLMSYN_E_BACKEND, "answer is empty");
        return -1;
    }
    sc.step = step;
    if (scan_init(&sc, answer, len) < 0 || scan_lines(&sc) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory while reading the answer");
        goto out;
    }
    choose_scope(&sc, &sp);
    for (i = 0; step->fields[i]; i++)
        if (collect_single(&sc, &sp, step->fields[i], &tmp, err) < 0)
            goto out;
    if (step->repeated && collect_repeated(&sc, &sp, &tmp, err) < 0)
        goto out;
    if (append_all(out, &tmp, step->repeated) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory while reading the answer");
        goto out;
    }
    rc = 0;
out:
    scan_free(&sc);
    record_free(&tmp);
    return rc;
}
