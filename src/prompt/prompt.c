/* prompt.c - prompt templates: parsed once into spans, rendered as x_i = y_{i-1} + z_P + R(z_R|y_{i-1}). */
#include "prompt/prompt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A template or system message larger than this is refused. */
#define PROMPT_MAX_FILE ((size_t)256 << 10)
/* Bytes of a bad placeholder or header quoted in an error message. */
#define PROMPT_QUOTE_MAX 40

#define NOTE_NO_PRIOR "No population statistics are given; use your own judgement."
#define NOTE_NO_CARD "No reference knowledge is available for this disease."

/* Render results: 0, out of memory / over the buffer cap, or another failure already in err. */
#define RENDER_NOMEM (-1)
#define RENDER_FAIL (-2)

enum span_kind {
    SPAN_TEXT = 0,
    SPAN_STEP,
    SPAN_PREVIOUS,
    SPAN_PRIOR_DEMOGRAPHICS,
    SPAN_PRIOR_DIAGNOSIS,
    SPAN_PRIOR_MORTALITY,
    SPAN_KNOWLEDGE,
    SPAN_FIELDS
};

static const struct {
    const char *name;
    enum span_kind kind;
} placeholder_names[] = {
    { "step", SPAN_STEP },
    { "previous", SPAN_PREVIOUS },
    { "prior:demographics", SPAN_PRIOR_DEMOGRAPHICS },
    { "prior:diagnosis", SPAN_PRIOR_DIAGNOSIS },
    { "prior:mortality", SPAN_PRIOR_MORTALITY },
    { "knowledge", SPAN_KNOWLEDGE },
    { "fields", SPAN_FIELDS },
};

/* The paper's prompt sections (section 4.1 plus the final-output block), in their required order. */
static const char *const section_names[] = {
    "Task", "Examples", "Description", "Retrieval", "Steps", "Final Output",
};
#define NSECTIONS (sizeof section_names / sizeof section_names[0])

/* The value hint {{fields}} shows for a field; fields not listed get "...". */
static const struct {
    const char *field;
    const char *hint;
} field_hints[] = {
    { F_GENDER, "<M or F>" },
    { F_AGE, "<age in years>" },
    { F_INSURANCE, "<insurance>" },
    { F_LANGUAGE, "<language code>" },
    { F_RELIGION, "<religion>" },
    { F_MARITAL, "<marital status>" },
    { F_ETHNICITY, "<ethnicity>" },
    { F_EXPIRE, "<0 or 1>" },
    { F_ICD9, "<ICD-9-CM code with its dot>" },
    { F_CPT, "<5-character CPT code>" },
    { F_ICD9_PROC, "<ICD-9-CM procedure code with its dot after 2 digits>" },
    { F_PRESCRIPTION, "<DRUG_TYPE | DRUG | FORMULARY_DRUG_CD | DOSE_VAL_RX | DOSE_UNIT_RX | FORM_VAL_DISP | "
                      "FORM_UNIT_DISP | ROUTE>" },
};

struct span {
    enum span_kind kind;
    size_t off, len; /* SPAN_TEXT only: bytes of prompt_template.text */
};

struct prompt_template {
    const struct step_def *step; /* borrowed (the step table is static) */
    char *text;                  /* literal text, comments dropped; owned */
    struct span *spans;          /* owned */
    size_t nspans, cap;
    char *fields;                /* {{fields}}, rendered once at load; owned */
    size_t fields_len;
};

struct parser {
    const char *name;                      /* file name for messages; borrowed */
    struct prompt_template *t;             /* borrowed */
    struct buf text;                       /* literal text; handed to t->text at the end */
    unsigned long section_line[NSECTIONS]; /* line where each section began; 0 = not yet */
    size_t next;                           /* index of the next expected section */
    unsigned long line;                    /* 1-based line being parsed */
    struct error *err;                     /* borrowed */
};

/* ---- small helpers ---- */

static void quote(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t i, j = 0;

    for (i = 0; i < n && i < PROMPT_QUOTE_MAX && j + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[j++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (i < n && j + 4 < dstlen) {
        memcpy(dst + j, "...", 3);
        j += 3;
    }
    dst[j] = '\0';
}

static int is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

/* Offset of the first byte that is not well-formed UTF-8, or n. */
static size_t utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    unsigned long cp;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0xc2 && s[i] <= 0xdf) {
            need = 1;
            cp = s[i] & 0x1f;
        } else if (s[i] >= 0xe0 && s[i] <= 0xef) {
            need = 2;
            cp = s[i] & 0x0f;
        } else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
            need = 3;
            cp = s[i] & 0x07;
        } else {
            return i;
        }
        if (n - i <= need)
            return i;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += need + 1;
    }
    return n;
}

/* 1-based line number of byte offset off. */
static unsigned long line_at(const char *s, size_t off)
{
    unsigned long line = 1;
    size_t i;

    for (i = 0; i < off; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

/* Reads a whole file (at most PROMPT_MAX_FILE bytes, no NUL bytes). Caller frees. */
static char *read_text(const char *path, struct error *err)
{
    FILE *f = NULL;
    struct buf b;
    char chunk[8192];
    size_t n;
    char *out = NULL;
    const char *nul;

    buf_init(&b, PROMPT_MAX_FILE);
    f = fopen(path, "rb");
    if (!f) {
        error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > PROMPT_MAX_FILE) {
            error_set(err, LLMSYN_E_INPUT, "%s: file is over the %zu-byte limit", path, PROMPT_MAX_FILE);
            goto out;
        }
        if (buf_append(&b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "cannot read '%s'", path);
        goto out;
    }
    if (buf_append(&b, "", 0) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    nul = memchr(b.data, '\0', b.len);
    if (nul) {
        error_set(err, LLMSYN_E_INPUT, "%s:%lu: NUL byte in text", path, line_at(b.data, (size_t)(nul - b.data)));
        goto out;
    }
    out = b.data;
    b.data = NULL;
out:
    if (f)
        fclose(f);
    buf_free(&b);
    return out;
}

/* "<dir>/<file><suffix>"; caller frees. */
static char *join_path(const char *dir, const char *file, const char *suffix, struct error *err)
{
    struct buf b;

    buf_init(&b, 0);
    if (buf_printf(&b, "%s/%s%s", dir, file, suffix) < 0) {
        buf_free(&b);
        error_set(err, LLMSYN_E_NOMEM, "out of memory building the path of '%s%s'", file, suffix);
        return NULL;
    }
    return b.data;
}

/* ---- parsing ---- */

static int parse_error(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    error_set(p->err, LLMSYN_E_INPUT, "%s:%lu: %s", p->name, p->line ? p->line : 1UL, msg);
    return -1;
}

static int parse_nomem(struct parser *p)
{
    error_set(p->err, LLMSYN_E_NOMEM, "%s: out of memory", p->name);
    return -1;
}

static int span_push(struct parser *p, enum span_kind kind, size_t off, size_t len)
{
    struct prompt_template *t = p->t;
    struct span *last = t->nspans ? &t->spans[t->nspans - 1] : NULL;

    if (kind == SPAN_TEXT && last && last->kind == SPAN_TEXT && last->off + last->len == off) {
        last->len += len;
        return 0;
    }
    if (t->nspans == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct span *s = realloc(t->spans, cap * sizeof *s);

        if (!s)
            return parse_nomem(p);
        t->spans = s;
        t->cap = cap;
    }
    t->spans[t->nspans].kind = kind;
    t->spans[t->nspans].off = off;
    t->spans[t->nspans].len = len;
    t->nspans++;
    return 0;
}

static int add_text(struct parser *p, const char *s, size_t n)
{
    size_t off = p->text.len;

    if (!n)
        return 0;
    if (buf_append(&p->text, s, n) < 0)
        return parse_nomem(p);
    return span_push(p, SPAN_TEXT, off, n);
}

/* Which placeholder `{{s}}` names (surrounding blanks allowed), or -1. */
static int placeholder_kind(const char *s, size_t n)
{
    size_t i;

    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (i = 0; i < sizeof placeholder_names / sizeof placeholder_names[0]; i++)
        if (strlen(placeholder_names[i].name) == n && !memcmp(placeholder_names[i].name, s, n))
            return (int)placeholder_names[i].kind;
    return -1;
}

/* Splits one line (without its newline) into text and placeholder spans. */
static int scan_line(struct parser *p, const char *s, size_t n)
{
    size_t i = 0, start = 0, close;
    int kind;
    char q[PROMPT_QUOTE_MAX + 8];

    while (i + 1 < n) {
        if (s[i] != '{' || s[i + 1] != '{') {
            i++;
            continue;
        }
        for (close = i + 2; close + 1 < n && (s[close] != '}' || s[close + 1] != '}'); close++)
            ;
        if (close + 1 >= n)
            return parse_error(p, "unterminated '{{' (placeholders end with '}}' on the same line)");
        kind = placeholder_kind(s + i + 2, close - i - 2);
        if (kind < 0) {
            quote(q, sizeof q, s + i + 2, close - i - 2);
            return parse_error(p, "unknown placeholder '{{%s}}'", q);
        }
        if (add_text(p, s + start, i - start) < 0 || span_push(p, (enum span_kind)kind, 0, 0) < 0)
            return -1;
        i = close + 2;
        start = i;
    }
    return add_text(p, s + start, n - start);
}

/* 1 and *idx for an exact section header, -1 and *idx for a near miss (case, blanks), 0 otherwise. */
static int section_of(const char *s, size_t n, size_t *idx)
{
    size_t lead = 0, len, i;

    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (lead < n && (s[lead] == ' ' || s[lead] == '\t'))
        lead++;
    if (n - lead < 3 || s[lead] != '[' || s[n - 1] != ']')
        return 0;
    len = n - lead - 2;
    for (i = 0; i < NSECTIONS; i++) {
        if (strlen(section_names[i]) != len || strncasecmp(section_names[i], s + lead + 1, len))
            continue;
        *idx = i;
        return !lead && !memcmp(section_names[i], s + lead + 1, len) ? 1 : -1;
    }
    return 0;
}

static int enter_section(struct parser *p, size_t idx)
{
    if (p->section_line[idx])
        return parse_error(p, "duplicate section [%s] (first at line %lu)", section_names[idx],
                           p->section_line[idx]);
    if (idx != p->next)
        return parse_error(p, "found section [%s] where [%s] was expected (the order is [Task], [Examples], "
                           "[Description], [Retrieval], [Steps], [Final Output])",
                           section_names[idx], section_names[p->next]);
    p->section_line[idx] = p->line;
    p->next++;
    if (add_text(p, "[", 1) < 0 || add_text(p, section_names[idx], strlen(section_names[idx])) < 0)
        return -1;
    return add_text(p, "]\n", 2);
}

/* One line without its newline (and without a trailing CR). */
static int parse_line(struct parser *p, const char *s, size_t n)
{
    size_t idx = 0;
    int sec;
    char q[PROMPT_QUOTE_MAX + 8];

    if (n && s[0] == '#')
        return 0;
    sec = section_of(s, n, &idx);
    if (sec > 0)
        return enter_section(p, idx);
    if (sec < 0) {
        quote(q, sizeof q, s, n);
        return parse_error(p, "section header '%s' must be written exactly as [%s] at the start of its line", q,
                           section_names[idx]);
    }
    if (p->next == 0) {
        if (is_blank(s, n))
            return 0;
        return parse_error(p, "text before the [Task] section");
    }
    if (scan_line(p, s, n) < 0)
        return -1;
    return add_text(p, "\n", 1);
}

static int parse_lines(struct parser *p, const char *text, size_t len)
{
    const char *s = text, *end = text + len, *nl;
    size_t n;

    if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
        s += 3;
    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        p->line++;
        if (n && s[n - 1] == '\r')
            n--;
        if (parse_line(p, s, n) < 0)
            return -1;
        s = nl ? nl + 1 : end;
    }
    if (p->next < NSECTIONS)
        return parse_error(p, "missing section [%s] (the file ends here)", section_names[p->next]);
    return 0;
}

static const char *field_hint(const char *field)
{
    size_t i;

    for (i = 0; i < sizeof field_hints / sizeof field_hints[0]; i++)
        if (!strcmp(field_hints[i].field, field))
            return field_hints[i].hint;
    return "...";
}

/* {{fields}}: the step's single fields once, its repeated field as two example lines. */
static int build_fields(struct prompt_template *t, struct error *err)
{
    const struct step_def *st = t->step;
    struct buf b;
    size_t i;
    int rc = 0;

    buf_init(&b, 0);
    rc |= buf_append(&b, "", 0);
    for (i = 0; st->fields[i]; i++)
        rc |= buf_printf(&b, "%s[%s]: %s", b.len ? "\n" : "", st->fields[i], field_hint(st->fields[i]));
    if (st->repeated) {
        for (i = 0; i < 2; i++)
            rc |= buf_printf(&b, "%s[%s]: %s", b.len ? "\n" : "", st->repeated, field_hint(st->repeated));
        rc |= buf_printf(&b, "\n(one [%s] line per value", st->repeated);
        rc |= st->min_repeated ? buf_printf(&b, ", at least %u)", st->min_repeated) : buf_puts(&b, ")");
    }
    if (rc) {
        buf_free(&b);
        error_set(err, LLMSYN_E_NOMEM, "prompt '%s': out of memory", st->name);
        return -1;
    }
    t->fields = b.data;
    t->fields_len = b.len;
    return 0;
}

struct prompt_template *prompt_template_parse(const char *text, const char *name, const struct step_def *step,
                                              struct error *err)
{
    struct parser p;
    struct prompt_template *t = NULL;
    size_t len, bad;

    if (!text || !step || !step->name || !step->fields) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt_template_parse: missing text or step");
        return NULL;
    }
    if (!name)
        name = step->name;
    memset(&p, 0, sizeof p);
    buf_init(&p.text, 0);
    len = strlen(text);
    if (len > PROMPT_MAX_FILE) {
        error_set(err, LLMSYN_E_INPUT, "%s: template is over the %zu-byte limit", name, PROMPT_MAX_FILE);
        return NULL;
    }
    bad = utf8_check((const unsigned char *)text, len);
    if (bad < len) {
        error_set(err, LLMSYN_E_INPUT, "%s:%lu: invalid utf-8 at byte %zu", name, line_at(text, bad), bad);
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    t->step = step;
    p.name = name;
    p.t = t;
    p.err = err;
    if (parse_lines(&p, text, len) < 0 || build_fields(t, err) < 0) {
        buf_free(&p.text);
        prompt_template_free(&t);
        return NULL;
    }
    t->text = p.text.data;
    return t;
}

struct prompt_template *prompt_template_load(const char *dir, const struct step_def *step, struct error *err)
{
    char *path = NULL, *text = NULL;
    struct prompt_template *t = NULL;

    if (!dir || !step || !step->name) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt_template_load: missing folder or step");
        return NULL;
    }
    path = join_path(dir, step->name, ".prompt", err);
    if (!path)
        goto out;
    text = read_text(path, err);
    if (!text)
        goto out;
    t = prompt_template_parse(text, path, step, err);
out:
    free(text);
    free(path);
    return t;
}

void prompt_template_free(struct prompt_template **t)
{
    if (!t || !*t)
        return;
    free((*t)->text);
    free((*t)->spans);
    free((*t)->fields);
    free(*t);
    *t = NULL;
}

/* ---- rendering ---- */

/* Appends n bytes of s, control characters (and newlines unless keep_nl) turned into spaces. */
static int put_clean(struct buf *out, const char *s, size_t n, int keep_nl)
{
    size_t i, run = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 0x20 && c != 0x7f) || (keep_nl && (c == '\n' || c == '\t')))
            continue;
        if (buf_append(out, s + run, i - run) < 0 || buf_putc(out, ' ') < 0)
            return RENDER_NOMEM;
        run = i + 1;
    }
    return buf_append(out, s + run, n - run) < 0 ? RENDER_NOMEM : 0;
}

/* Same for a string, trailing whitespace dropped. */
static int put_text(struct buf *out, const char *s, int keep_nl)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return put_clean(out, s, n, keep_nl);
}

/* "\n[NAME]: value" (or without the newline when first). */
static int put_field(struct buf *out, int first, const char *name, const char *value)
{
    if (!first && buf_putc(out, '\n') < 0)
        return RENDER_NOMEM;
    if (buf_putc(out, '[') < 0 || put_text(out, name, 0) < 0 || buf_append(out, "]: ", 3) < 0)
        return RENDER_NOMEM;
    return put_text(out, value, 0);
}

static int put(struct buf *out, const char *s)
{
    return buf_puts(out, s) < 0 ? RENDER_NOMEM : 0;
}

/* {{previous}}: y_<i as `[FIELD]: value` lines. */
static int render_previous(const struct record *r, struct buf *out)
{
    size_t i;
    int first = 1, rc;

    for (i = 0; r && i < r->nfields; i++) {
        if (!r->fields[i].name || !r->fields[i].value)
            continue;
        rc = put_field(out, first, r->fields[i].name, r->fields[i].value);
        if (rc)
            return rc;
        first = 0;
    }
    return first ? put(out, "(none)") : 0;
}

/* {{prior:demographics}}: the sampled demographic values. */
static int render_demographics(const struct prior_draw *d, struct buf *out)
{
    char age[24];
    const char *names[] = { F_GENDER, F_AGE, F_ETHNICITY, F_INSURANCE, F_LANGUAGE, F_RELIGION, F_MARITAL };
    const char *values[] = { d->gender, age, d->ethnicity, d->insurance, d->language, d->religion,
                             d->marital_status };
    size_t i, present = 0;
    int rc;

    snprintf(age, sizeof age, "%d", d->age);
    if (d->age < 0)
        values[1] = NULL;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        present += values[i] != NULL;
    if (!present)
        return put(out, NOTE_NO_PRIOR);
    rc = put(out, "These values were drawn from the target population's statistics; use them as given:");
    for (i = 0; !rc && i < sizeof names / sizeof names[0]; i++)
        if (values[i])
            rc = put_field(out, 0, names[i], values[i]);
    return rc;
}

/* {{prior:diagnosis}}: the sampled main diagnosis code with its description. */
static int render_diagnosis(const struct prior_draw *d, struct buf *out)
{
    const struct prior_diagnosis *dx = d->diagnosis;
    int rc;

    if (!dx || !dx->code)
        return put(out, NOTE_NO_PRIOR);
    rc = put(out, "This main diagnosis was drawn from the target population's distribution of main diagnoses; "
                  "use it as the patient's main diagnosis:");
    if (!rc)
        rc = put_field(out, 0, F_ICD9, dx->code);
    if (!rc && dx->description && *dx->description) {
        rc = put(out, " (");
        rc = rc ? rc : put_text(out, dx->description, 0);
        rc = rc ? rc : put(out, ")");
    }
    return rc;
}

/* {{prior:mortality}}: the sampled HOSPITAL_EXPIRE_FLAG and the mortality it came from, when known. */
static int render_mortality(const struct prior_draw *d, const struct prior *prior, struct buf *out)
{
    double m = -1.0;
    const char *what = NULL;
    int rc;

    if (d->diagnosis && d->diagnosis->mortality >= 0.0 && d->diagnosis->mortality <= 1.0) {
        m = d->diagnosis->mortality;
        what = "in-hospital mortality for this diagnosis";
    } else if (prior && prior->mortality >= 0.0 && prior->mortality <= 1.0) {
        m = prior->mortality;
        what = "overall in-hospital mortality";
    }
    rc = put(out, "This in-hospital outcome was drawn from the target population's statistics");
    if (!rc && what)
        rc = buf_printf(out, " (%s: %.1f%%)", what, m * 100.0) < 0 ? RENDER_NOMEM : 0;
    rc = rc ? rc : put(out, "; use it as given:");
    return rc ? rc : put_field(out, 0, F_EXPIRE, d->expire ? "1" : "0");
}

/* {{knowledge}}: R(z_R | y_1), the card's name, complications and treatments. */
static int render_knowledge(const struct kb_card *c, struct buf *out)
{
    int rc;

    if (!c || ((!c->complications || !*c->complications) && (!c->treatments || !*c->treatments)))
        return put(out, NOTE_NO_CARD);
    rc = put(out, "Reference knowledge about ");
    rc = rc ? rc : put_text(out, c->name && *c->name ? c->name : "the main diagnosis", 0);
    if (!rc && c->icd9 && *c->icd9) {
        rc = put(out, " (ICD-9-CM ");
        rc = rc ? rc : put_text(out, c->icd9, 0);
        rc = rc ? rc : put(out, ")");
    }
    rc = rc ? rc : put(out, ":");
    if (!rc && c->complications && *c->complications) {
        rc = put(out, "\nComplications: ");
        rc = rc ? rc : put_text(out, c->complications, 1);
    }
    if (!rc && c->treatments && *c->treatments) {
        rc = put(out, "\nTreatments: ");
        rc = rc ? rc : put_text(out, c->treatments, 1);
    }
    return rc;
}

static const char *mode_name(llmsyn_mode mode)
{
    return mode == LLMSYN_MODE_FULL ? "full" : mode == LLMSYN_MODE_PRIOR ? "prior" : "base";
}

/* A prior placeholder: the note in mode base, else the record's draws. */
static int render_prior(const struct prompt_template *t, enum span_kind kind, const struct prompt_inputs *in,
                        struct buf *out, struct error *err)
{
    if (in->mode == LLMSYN_MODE_BASE)
        return put(out, NOTE_NO_PRIOR);
    if (!in->draw) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt '%s': mode %s needs the record's prior draws", t->step->name,
                  mode_name(in->mode));
        return RENDER_FAIL;
    }
    if (kind == SPAN_PRIOR_DEMOGRAPHICS)
        return render_demographics(in->draw, out);
    if (kind == SPAN_PRIOR_DIAGNOSIS)
        return render_diagnosis(in->draw, out);
    return render_mortality(in->draw, in->prior, out);
}

static int render_span(const struct prompt_template *t, const struct span *s, const struct prompt_inputs *in,
                       struct buf *out, struct error *err)
{
    switch (s->kind) {
    case SPAN_TEXT:
        return buf_append(out, t->text + s->off, s->len) < 0 ? RENDER_NOMEM : 0;
    case SPAN_STEP:
        return put(out, t->step->name);
    case SPAN_PREVIOUS:
        return render_previous(in->previous, out);
    case SPAN_PRIOR_DEMOGRAPHICS:
    case SPAN_PRIOR_DIAGNOSIS:
    case SPAN_PRIOR_MORTALITY:
        return render_prior(t, s->kind, in, out, err);
    case SPAN_KNOWLEDGE:
        if (in->mode != LLMSYN_MODE_FULL)
            return 0;
        return in->retrieved ? put_text(out, in->retrieved, 1) : render_knowledge(in->card, out);
    case SPAN_FIELDS:
        return buf_append(out, t->fields, t->fields_len) < 0 ? RENDER_NOMEM : 0;
    }
    error_set(err, LLMSYN_E_INTERNAL, "prompt '%s': bad span kind %d", t->step->name, (int)s->kind);
    return RENDER_FAIL;
}

int prompt_render(const struct prompt_template *t, const struct prompt_inputs *in, struct buf *out,
                  struct error *err)
{
    size_t start, i;
    int rc;

    if (!t || !in || !out) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt_render: missing template, inputs or buffer");
        return -1;
    }
    if (in->mode != LLMSYN_MODE_FULL && in->mode != LLMSYN_MODE_PRIOR && in->mode != LLMSYN_MODE_BASE) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt '%s': unknown mode %d", t->step->name, (int)in->mode);
        return -1;
    }
    start = out->len;
    rc = buf_printf(out, "Step: %s\n\n", t->step->name) < 0 ? RENDER_NOMEM : 0;
    for (i = 0; !rc && i < t->nspans; i++)
        rc = render_span(t, &t->spans[i], in, out, err);
    if (!rc)
        return 0;
    if (rc == RENDER_NOMEM)
        error_set(err, LLMSYN_E_NOMEM, "prompt '%s': out of memory or over the %zu-byte prompt cap", t->step->name,
                  out->max ? out->max : BUF_DEFAULT_MAX);
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

/* ---- system message ---- */

/* Drops '#' comment lines and CRs, trims blank lines and trailing whitespace. */
static int strip_comments(const char *text, struct buf *b)
{
    const char *s = text, *end = text + strlen(text), *nl;
    size_t n;

    while (s < end) {
        nl = memchr(s, '\n', (size_t)(end - s));
        n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        if (n && s[n - 1] == '\r')
            n--;
        if (!(n && s[0] == '#') && !(b->len == 0 && is_blank(s, n)))
            if (buf_append(b, s, n) < 0 || buf_putc(b, '\n') < 0)
                return -1;
        s = nl ? nl + 1 : end;
    }
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
        b->data[--b->len] = '\0';
    return 0;
}

char *prompt_system_load(const char *dir, struct error *err)
{
    char *path = NULL, *text = NULL, *out = NULL;
    struct buf b;
    size_t len, bad;

    buf_init(&b, 0);
    if (!dir) {
        error_set(err, LLMSYN_E_INTERNAL, "prompt_system_load: missing folder");
        goto out;
    }
    path = join_path(dir, "system", ".txt", err);
    text = path ? read_text(path, err) : NULL;
    if (!text)
        goto out;
    len = strlen(text);
    bad = utf8_check((const unsigned char *)text, len);
    if (bad < len) {
        error_set(err, LLMSYN_E_INPUT, "%s:%lu: invalid utf-8 at byte %zu", path, line_at(text, bad), bad);
        goto out;
    }
    if (strip_comments(text, &b) < 0 || buf_append(&b, "", 0) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    if (!b.len) {
        error_set(err, LLMSYN_E_INPUT, "%s: no text besides comments", path);
        goto out;
    }
    out = b.data;
    b.data = NULL;
out:
    buf_free(&b);
    free(text);
    free(path);
    return out;
}
