/* codes.c - normalises the values the extractor finds: ICD-9-CM (dx and px) and CPT/HCPCS code shapes, AGE,
 * GENDER, HOSPITAL_EXPIRE_FLAG, prescriptions and categories (trimmed, kept as given). */
#include "extract/extract.h"
#include "codes/dict.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE 256    /* bytes of one categorical value or one prescription part */
#define MAX_REPEATED 200 /* distinct values of one repeated field in a record being extracted */
#define RX_PARTS 8
#define CODE_LEN 16

/* Parts of a PRESCRIPTION value, in order (MIMIC-III PRESCRIPTIONS columns). */
static const char *const rx_parts[RX_PARTS] = {
    "DRUG_TYPE", "DRUG", "FORMULARY_DRUG_CD", "DOSE_VAL_RX", "DOSE_UNIT_RX", "FORM_VAL_DISP", "FORM_UNIT_DISP",
    "ROUTE",
};

struct span {
    const char *s; /* borrowed */
    size_t n;
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int is_alnum(char c)
{
    return is_digit(c) || is_alpha(c);
}

static int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

/* The code shapes live in src/codes/normalise.c, shared with the dictionaries. */
int extract_icd9_dx(const char *s, char *out, size_t outlen)
{
    return code_normalise(CODE_ICD9_DX, s, out, outlen);
}

int extract_cpt(const char *s, char *out, size_t outlen)
{
    return code_normalise(CODE_CPT, s, out, outlen);
}

/* ---- text ---- */

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

/* Length of the curly quote (U+2018/2019/201C/201D) at p, or 0. */
static size_t curly_quote(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;

    if (n < 3 || u[0] != 0xE2 || u[1] != 0x80)
        return 0;
    return (u[2] == 0x98 || u[2] == 0x99 || u[2] == 0x9C || u[2] == 0x9D) ? 3 : 0;
}

/* Strips whitespace, markdown emphasis, code ticks, quotes, brackets and trailing punctuation. */
static struct span trim_value(struct span v)
{
    size_t before;

    do {
        before = v.n;
        v = trim_ws(v);
        if (v.n && in_set(v.s[0], "*_`\"'[")) {
            v.s++;
            v.n--;
        } else if (curly_quote(v.s, v.n)) {
            v.s += 3;
            v.n -= 3;
        }
        if (v.n && in_set(v.s[v.n - 1], "*_`\"'].,;:}"))
            v.n--;
        else if (v.n >= 3 && curly_quote(v.s + v.n - 3, 3))
            v.n -= 3;
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

static int utf8_valid(const char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        k = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Copies s into buf for an error message: at most ~48 bytes, whole characters, '?' for bad bytes. */
static const char *quoted(const char *s, char *buf, size_t cap)
{
    size_t i = 0, o = 0, n = strlen(s), k;

    while (i < n && o + 4 < cap && o < 48) {
        k = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (k <= 1) {
            buf[o++] = (k == 0 || (unsigned char)s[i] < 0x20) ? '?' : s[i];
            i++;
            continue;
        }
        memcpy(buf + o, s + i, k);
        o += k;
        i += k;
    }
    if (i < n && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Sets "FIELD 'value' <what>" and returns -1. */
static int fail(struct error *err, const char *field, const char *value, const char *what)
{
    char q[64];

    error_set(err, LLMSYN_E_BACKEND, "%s '%s' %s", field, quoted(value, q, sizeof q), what);
    return -1;
}

static int add_value(struct record *tmp, const char *field, const char *value, int multi, struct error *err)
{
    if (multi && record_count(tmp, field) >= MAX_REPEATED) {
        error_set(err, LLMSYN_E_BACKEND, "answer has more than %d %s values", MAX_REPEATED, field);
        return -1;
    }
    if ((multi ? record_add_unique(tmp, field, value) : record_add(tmp, field, value)) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory while reading the answer");
        return -1;
    }
    return 0;
}

static int norm_age(const char *field, const char *v, struct record *tmp, struct error *err)
{
    char out[16];
    size_t n = 0;
    int age = 0;

    while (n < 4 && is_digit(v[n]))
        age = age * 10 + (v[n++] - '0');
    if (n == 0 || n > 3 || ((v[n] == '.' || v[n] == ',') && is_digit(v[n + 1])))
        return fail(err, field, v, "is not a number of years");
    if (age > 120)
        return fail(err, field, v, "is not between 0 and 120 years");
    snprintf(out, sizeof out, "%d", age);
    return add_value(tmp, field, out, 0, err);
}

/* Length of the leading run of letters and digits of v. */
static size_t word_len(const char *v)
{
    size_t n = 0;

    while (is_alnum(v[n]))
        n++;
    return n;
}

static int word_is(const char *v, size_t n, const char *word)
{
    return n == strlen(word) && starts_ci(v, n, word);
}

static int norm_gender(const char *field, const char *v, struct record *tmp, struct error *err)
{
    size_t n = word_len(v);

    if (word_is(v, n, "m") || word_is(v, n, "male"))
        return add_value(tmp, field, "M", 0, err);
    if (word_is(v, n, "f") || word_is(v, n, "female"))
        return add_value(tmp, field, "F", 0, err);
    return fail(err, field, v, "is not M or F");
}

static int norm_expire(const char *field, const char *v, struct record *tmp, struct error *err)
{
    size_t n = word_len(v);

    if (word_is(v, n, "1") || word_is(v, n, "yes") || word_is(v, n, "true"))
        return add_value(tmp, field, "1", 0, err);
    if (word_is(v, n, "0") || word_is(v, n, "no") || word_is(v, n, "false"))
        return add_value(tmp, field, "0", 0, err);
    return fail(err, field, v, "is not 0 or 1");
}

/* Cleans one categorical value or prescription part into out (cap bytes): trims markup, drops
 * markdown backslash escapes. Returns its length, or -1 when too long or not UTF-8 (err set). */
static int clean_text(const char *field, struct span v, char *out, size_t cap, struct error *err)
{
    size_t i, o = 0;

    v = trim_value(v);
    if (!utf8_valid(v.s, v.n)) {
        error_set(err, LLMSYN_E_BACKEND, "%s value is not valid UTF-8", field);
        return -1;
    }
    for (i = 0; i < v.n; i++) {
        if (v.s[i] == '\\' && i + 1 < v.n && in_set(v.s[i + 1], "_*`#|[]\\"))
            i++;
        if (o + 1 >= cap) {
            error_set(err, LLMSYN_E_BACKEND, "%s value is longer than %d bytes", field, MAX_VALUE);
            return -1;
        }
        out[o++] = v.s[i];
    }
    out[o] = '\0';
    return (int)o;
}

static int norm_category(const char *field, const char *v, struct record *tmp, int multi, struct error *err)
{
    char out[MAX_VALUE + 1];
    int n = clean_text(field, span_of(v, strlen(v)), out, sizeof out, err);

    if (n < 0)
        return -1;
    if (n == 0) {
        error_set(err, LLMSYN_E_BACKEND, "answer has an empty %s field", field);
        return -1;
    }
    return add_value(tmp, field, out, multi, err);
}

/* "DRUG_TYPE | DRUG | ... | ROUTE": exactly 8 parts (each may carry its label), DRUG given;
 * re-joined with single spaces around the bars. */
/* "DRUG: Insulin" gives "Insulin" when the label (case, spaces and underscores aside) names part k. */
static struct span strip_rx_label(struct span v, size_t k)
{
    const char *name = rx_parts[k];
    size_t i, j = 0;

    for (i = 0; i < v.n && i <= 32; i++) {
        if (v.s[i] == ':' || v.s[i] == '=')
            return name[j] == '\0' ? span_of(v.s + i + 1, v.n - i - 1) : v;
        if (!is_alnum(v.s[i]))
            continue;
        while (name[j] == '_')
            j++;
        if (to_upper(v.s[i]) != name[j])
            return v;
        j++;
    }
    return v;
}

static int norm_prescription(const char *field, const char *v, struct record *tmp, struct error *err)
{
    char out[RX_PARTS * (MAX_VALUE + 3)], part[MAX_VALUE + 1];
    struct span s = trim_ws(span_of(v, strlen(v)));
    size_t i, k = 0, start, o = 0;
    int n;

    if (s.n && s.s[0] == '|')
        s.s++, s.n--;
    if (s.n && s.s[s.n - 1] == '|')
        s.n--;
    for (i = start = 0; i <= s.n; i++) {
        if (i < s.n && s.s[i] != '|')
            continue;
        if (k == RX_PARTS)
            break;
        n = clean_text(field, strip_rx_label(span_of(s.s + start, i - start), k), part, sizeof part, err);
        if (n < 0)
            return -1;
        if (k == 1 && n == 0)
            return fail(err, field, v, "has no DRUG");
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", k ? " | " : "", part);
        k++;
        start = i + 1;
    }
    if (k != RX_PARTS || i <= s.n)
        return fail(err, field, v,
                    "is not the 8 parts DRUG_TYPE | DRUG | FORMULARY_DRUG_CD | DOSE_VAL_RX | DOSE_UNIT_RX | "
                    "FORM_VAL_DISP | FORM_UNIT_DISP | ROUTE");
    return add_value(tmp, field, out, 1, err);
}

/* Strips list markup, quotes and brackets before a code. */
static const char *skip_code_lead(const char *p, const char *end)
{
    for (;;) {
        while (p < end && in_set(*p, " *`\"'[]#(/&"))
            p++;
        if (end - p > 4 && starts_ci(p, (size_t)(end - p), "and "))
            p += 4;
        else if (end - p > 3 && starts_ci(p, (size_t)(end - p), "or "))
            p += 3;
        else
            return p;
    }
}

/* Whether the token at p looks meant as a code (4+ characters, 3+ digits), so failing it is an error. */
static int looks_like_code(const char *p, const char *end)
{
    size_t n = 0, digits = 0;

    while (p + n < end && (is_alnum(p[n]) || (p[n] == '.' && p + n + 1 < end && is_digit(p[n + 1])))) {
        digits += is_digit(p[n]);
        n++;
    }
    return n >= 4 && digits >= 3;
}

static size_t code_token_len(const char *p, const char *end)
{
    size_t n = 0;

    while (p + n < end && (is_alnum(p[n]) || (p[n] == '.' && p + n + 1 < end && is_digit(p[n + 1]))))
        n++;
    return n;
}

/* Reads the codes at the start of one comma piece: "99223", "99223 99232", "583.81 (Glomerulonephritis)".
 * Returns how many it added; -1 with err when a code-like token is not a code (or first is nothing). */
static int piece_codes(const char *field, struct span piece, int first, int multi, struct record *tmp,
                       struct error *err)
{
    const char *end = piece.s + piece.n, *p = skip_code_lead(piece.s, end);
    char code[CODE_LEN], text[MAX_VALUE + 1];
    int icd = !strcmp(field, F_ICD9), px = !strcmp(field, F_ICD9_PROC), got = 0;

    for (;;) {
        int ok = (icd  ? extract_icd9_dx(p, code, sizeof code)
                  : px ? code_normalise(CODE_ICD9_PX, p, code, sizeof code)
                       : extract_cpt(p, code, sizeof code)) == 0;

        if (!ok && (first || looks_like_code(p, end))) {
            struct span t = trim_value(got ? span_of(p, (size_t)(end - p)) : piece);

            if (t.n > MAX_VALUE)
                t.n = MAX_VALUE;
            memcpy(text, t.s, t.n);
            text[t.n] = '\0';
            return fail(err, field, text,
                        icd  ? "is not an ICD-9-CM code"
                        : px ? "is not an ICD-9-CM procedure code"
                             : "is not a CPT or HCPCS code");
        }
        if (!ok)
            return got;
        if (add_value(tmp, field, code, multi, err) < 0)
            return -1;
        got++;
        if (!multi)
            return got;
        first = 0;
        p = skip_code_lead(p + code_token_len(p, end), end);
    }
}

/* Codes of one value: pieces split at ',' and ';' outside parentheses; pieces after the first
 * that do not start with a code are the description's ("428.0 - Heart failure, unspecified"). */
static int norm_codes(const char *field, const char *v, int multi, struct record *tmp, struct error *err)
{
    size_t i, start = 0, n = strlen(v), total = 0;
    int depth = 0, got;

    for (i = 0; i <= n; i++) {
        if (i < n) {
            depth += (v[i] == '(') - (v[i] == ')');
            if (depth > 0 || (v[i] != ',' && v[i] != ';'))
                continue;
        }
        got = piece_codes(field, span_of(v + start, i - start), total == 0, multi, tmp, err);
        if (got < 0)
            return -1;
        total += (size_t)got;
        if (!multi && total)
            return 0;
        start = i + 1;
    }
    return 0;
}

/* ---- values ---- */

static int normalise(const char *field, const char *v, int multi, struct record *tmp, struct error *err)
{
    if (!strcmp(field, F_ICD9) || !strcmp(field, F_CPT) || !strcmp(field, F_ICD9_PROC))
        return norm_codes(field, v, multi, tmp, err);
    if (!strcmp(field, F_AGE))
        return norm_age(field, v, tmp, err);
    if (!strcmp(field, F_GENDER))
        return norm_gender(field, v, tmp, err);
    if (!strcmp(field, F_EXPIRE))
        return norm_expire(field, v, tmp, err);
    if (!strcmp(field, F_PRESCRIPTION))
        return norm_prescription(field, v, tmp, err);
    return norm_category(field, v, tmp, multi, err);
}

int extract_value(const char *field, const char *value, int multi, struct record *out, struct error *err)
{
    struct span v;
    char *copy = NULL;
    int rc;

    if (!field || !value || !out) {
        error_set(err, LLMSYN_E_INTERNAL, "extract_value called without a field, value or record");
        return -1;
    }
    v = trim_value(span_of(value, strlen(value)));
    copy = malloc(v.n + 1);
    if (!copy) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory while reading the answer");
        return -1;
    }
    memcpy(copy, v.s, v.n);
    copy[v.n] = '\0';
    rc = normalise(field, copy, multi, out, err);
    free(copy);
    return rc;
}
