/* kb.c - loads the knowledge base z_R (mappings/knowledge.json) and looks up cards and code labels. */
#include "knowledge/kb.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codes/dict.h"
#include "util/buf.h"

/* Named limits: input beyond them is an error, never silently cut. */
#define KB_MAX_FILE_BYTES ((size_t)16 << 20) /* knowledge file size */
#define KB_MAX_CARDS 10000                   /* cards in one file */
#define KB_MAX_HINTS 64                      /* entries of one hint list (complication_codes, ...) */
#define KB_MAX_DRUGS 64                      /* entries of drugs */
#define KB_MAX_SYNONYMS 64                   /* entries of synonyms */
#define KB_MAX_FIELDS 64                     /* members of one JSON object */
#define KB_MAX_PROSE 8192                    /* bytes of source, complications, treatments */
#define KB_MAX_LABEL 512                     /* bytes of name, synonym, display, drug name */
#define KB_MAX_SHORT 64                      /* bytes of drug type, formulary code, dose, unit, route */
#define KB_MAX_CODE 16                       /* bytes of a code, dot included, plus NUL */
#define KB_MAX_PATH 160                      /* bytes of a JSON path in a message */
#define KB_READ_CHUNK 65536
#define KB_GENERIC "*"

/* One entry of the code -> display index; both strings borrowed from the cards. */
struct kb_label {
    const char *code;
    const char *display;
    size_t seq; /* insertion order: card names first, then hints in card order; lowest wins */
};

/* What kb_parse allocates; callers only see `pub`. kb_display needs a kb made by kb_parse/kb_load. */
struct kb_impl {
    struct kb pub;           /* must stay first */
    struct kb_label *labels; /* sorted by code, one per code; owned */
    size_t nlabels;
};

struct parse_ctx {
    const char *name;  /* file name for messages; borrowed */
    struct error *err; /* borrowed */
};

enum hint_kind { HINT_ICD9, HINT_CPT, HINT_ICD9_PX };

static const char *const ROOT_KEYS[] = {"source", "cards", NULL};
static const char *const CARD_KEYS[] = {"icd9", "name", "synonyms", "complications", "treatments",
                                        "complication_codes", "procedure_codes", "drugs",
                                        "icd9_procedure_codes", NULL};
static const char *const HINT_KEYS[] = {"code", "display", "weight", NULL};
static const char *const DRUG_KEYS[] = {"type", "drug", "formulary_cd", "dose_val", "dose_unit",
                                        "form_val", "form_unit", "route", "weight", NULL};
static const char *const DRUG_TYPES[] = {"MAIN", "BASE", "ADDITIVE", NULL};

static int fail(const struct parse_ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "<file>: <path>: <what>" as LLMSYN_E_INPUT; returns -1. */
static int fail(const struct parse_ctx *c, const char *path, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    error_set(c->err, LLMSYN_E_INPUT, "%s: %s: %s", c->name, path, what);
    return -1;
}

static int nomem(const struct parse_ctx *c)
{
    error_set(c->err, LLMSYN_E_NOMEM, "%s: out of memory", c->name);
    return -1;
}

/* Joins a parent path and a member name ("cards[3]" + "name"), or an index when key is NULL. Control
 * characters of hostile member names become '?' so messages stay on one line. */
static void path_join(char *out, const char *parent, const char *key, size_t index)
{
    char *p;
    int n;

    if (key)
        n = snprintf(out, KB_MAX_PATH, "%s%s%s", parent, parent[0] ? "." : "", key);
    else
        n = snprintf(out, KB_MAX_PATH, "%s[%zu]", parent, index);
    if (n < 0)
        out[0] = '\0';
    for (p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
}

static int is_listed(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* Rejects non-objects, unknown members (except "_comment"-style ones), repeats and too many members. */
static int check_object(const struct parse_ctx *c, const cJSON *obj, const char *path,
                        const char *const *allowed)
{
    const cJSON *it, *prev;
    char sub[KB_MAX_PATH];
    size_t n = 0;

    if (!cJSON_IsObject(obj))
        return fail(c, path[0] ? path : "top level", "must be an object");
    cJSON_ArrayForEach(it, obj) {
        if (++n > KB_MAX_FIELDS)
            return fail(c, path[0] ? path : "top level", "more than %d fields", KB_MAX_FIELDS);
        path_join(sub, path, it->string, 0);
        if (it->string[0] != '_' && !is_listed(it->string, allowed))
            return fail(c, sub, "unknown field");
        for (prev = obj->child; prev != it; prev = prev->next)
            if (!strcmp(prev->string, it->string))
                return fail(c, sub, "duplicate field");
    }
    return 0;
}

/* Rejects control characters other than newline and tab. */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
            return 1;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

/* Copies the string member `key` of obj into *out (owned). A missing or null optional member gives
 * *out = NULL. Required members must be non-empty. */
static int get_string(const struct parse_ctx *c, const cJSON *obj, const char *key, const char *path,
                      size_t max, int required, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char sub[KB_MAX_PATH];
    size_t len;

    *out = NULL;
    path_join(sub, path, key, 0);
    if (!v || (cJSON_IsNull(v) && !required))
        return required ? fail(c, sub, "missing") : 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(c, sub, "must be a string");
    len = strlen(v->valuestring);
    if (len > max)
        return fail(c, sub, "longer than %zu bytes", max);
    if (required && len == 0)
        return fail(c, sub, "must not be empty");
    if (has_control(v->valuestring))
        return fail(c, sub, "contains a control character");
    *out = dup_str(v->valuestring);
    return *out ? 0 : nomem(c);
}

/* Like get_string, but a missing optional member becomes "" so readers never see NULL. */
static int get_string_or_empty(const struct parse_ctx *c, const cJSON *obj, const char *key,
                               const char *path, size_t max, char **out)
{
    if (get_string(c, obj, key, path, max, 0, out) < 0)
        return -1;
    if (!*out && !(*out = dup_str("")))
        return nomem(c);
    return 0;
}

static int get_weight(const struct parse_ctx *c, const cJSON *obj, const char *path, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "weight");
    char sub[KB_MAX_PATH];

    path_join(sub, path, "weight", 0);
    if (!v)
        return fail(c, sub, "missing");
    if (!cJSON_IsNumber(v))
        return fail(c, sub, "must be a number");
    if (!(v->valuedouble > 0.0 && v->valuedouble <= 1.0))
        return fail(c, sub, "must be in (0, 1]");
    *out = v->valuedouble;
    return 0;
}

/* Finds the array member `key` of obj: *out is the array (NULL when an optional one is absent) and *n its
 * length. Returns 0, or -1 after recording an error. */
static int get_array(const struct parse_ctx *c, const cJSON *obj, const char *key, const char *path,
                     size_t max, int required, const cJSON **out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
    char sub[KB_MAX_PATH];

    *out = NULL;
    *n = 0;
    path_join(sub, path, key, 0);
    if (!v)
        return required ? fail(c, sub, "missing") : 0;
    if (!cJSON_IsArray(v))
        return fail(c, sub, "must be an array");
    cJSON_ArrayForEach(it, v) {
        if (++*n > max)
            return fail(c, sub, "more than %zu entries", max);
    }
    *out = v;
    return 0;
}

/* Length of the code part before the dot: 3 for numeric and V codes, 4 for E codes. */
static size_t icd9_head(char first)
{
    return first == 'E' ? 4 : 3;
}

/* Writes the undotted upper-case form of an ICD-9-CM diagnosis code (4280, V053, E8788) into out.
 * A dot, if present, must sit where ICD-9-CM puts it. Returns 0, or -1 if the text is not shaped like one. */
static int icd9_undot(const char *code, char out[KB_MAX_CODE])
{
    char first = (char)(code[0] >= 'a' && code[0] <= 'z' ? code[0] - 'a' + 'A' : code[0]);
    size_t head = icd9_head(first), tail = first == 'E' ? 1 : 2, n = 0, i;
    int dot = 0;

    if (first != 'E' && first != 'V' && (first < '0' || first > '9'))
        return -1;
    out[n++] = first;
    for (i = 1; code[i]; i++) {
        if (code[i] == '.' && !dot && n == head && code[i + 1]) {
            dot = 1;
            continue;
        }
        if (code[i] < '0' || code[i] > '9' || n >= head + tail)
            return -1;
        out[n++] = code[i];
    }
    if (n < head)
        return -1;
    out[n] = '\0';
    return 0;
}

/* Writes the dotted form of a code icd9_undot accepted (428.0, V05.3, E878.8) into out. */
static void icd9_dot(const char *undotted, char out[KB_MAX_CODE])
{
    size_t head = icd9_head(undotted[0]), len = strlen(undotted);

    memcpy(out, undotted, head);
    if (len > head) {
        out[head] = '.';
        memcpy(out + head + 1, undotted + head, len - head + 1);
    } else {
        out[head] = '\0';
    }
}

/* A procedure code: CPT (5 digits, or 4 digits and F/T) or HCPCS Level II (a letter and 4 digits). */
static int procedure_code_valid(const char *code)
{
    size_t i;

    if (strlen(code) != 5)
        return 0;
    for (i = 1; i < 4; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    if (code[0] >= '0' && code[0] <= '9')
        return (code[4] >= '0' && code[4] <= '9') || code[4] == 'F' || code[4] == 'T';
    return code[0] >= 'A' && code[0] <= 'V' && code[4] >= '0' && code[4] <= '9';
}

/* Writes the dotted form of an ICD-9-CM procedure code ("9671" or "96.71" -> "96.71"): digits and at most
 * one dot only, nothing after the code. Returns 0, or -1 if the text is not shaped like one. */
static int icd9_px_dot(const char *code, char out[KB_MAX_CODE])
{
    size_t n = strlen(code);

    if (n == 0 || strspn(code, "0123456789.") != n || strchr(code, '.') != strrchr(code, '.'))
        return -1;
    return code_normalise(CODE_ICD9_PX, code, out, KB_MAX_CODE);
}

/* Replaces *code (owned) by its canonical form: dotted ICD-9-CM, or a checked procedure code. */
static int canonical_code(const struct parse_ctx *c, char **code, enum hint_kind kind, const char *path)
{
    char undotted[KB_MAX_CODE], dotted[KB_MAX_CODE], *p;

    if (kind == HINT_CPT) {
        if (!procedure_code_valid(*code))
            return fail(c, path, "'%s' is not a cpt or hcpcs code", *code);
        return 0;
    }
    if (kind == HINT_ICD9_PX) {
        if (icd9_px_dot(*code, dotted) < 0)
            return fail(c, path, "'%s' is not an icd-9-cm procedure code", *code);
    } else {
        if (icd9_undot(*code, undotted) < 0)
            return fail(c, path, "'%s' is not an icd-9-cm diagnosis code", *code);
        icd9_dot(undotted, dotted);
    }
    if (!strcmp(dotted, *code))
        return 0;
    if (!(p = dup_str(dotted)))
        return nomem(c);
    free(*code);
    *code = p;
    return 0;
}

static int parse_hint(const struct parse_ctx *c, const cJSON *obj, const char *path, enum hint_kind kind,
                      struct kb_hint *h)
{
    char sub[KB_MAX_PATH];

    if (check_object(c, obj, path, HINT_KEYS) < 0 ||
        get_string(c, obj, "code", path, KB_MAX_CODE - 1, 1, &h->code) < 0 ||
        get_string(c, obj, "display", path, KB_MAX_LABEL, 0, &h->display) < 0 ||
        get_weight(c, obj, path, &h->weight) < 0)
        return -1;
    path_join(sub, path, "code", 0);
    return canonical_code(c, &h->code, kind, sub);
}

/* Parses the hint list `key` of a card into *out (owned by the card; *n set before parsing so
 * kb_free releases a half-filled list). The ICD-9-CM procedure list is optional, the others required. */
static int parse_hints(const struct parse_ctx *c, const cJSON *card, const char *key, const char *path,
                       enum hint_kind kind, struct kb_hint **out, size_t *n)
{
    const cJSON *arr, *it;
    char sub[KB_MAX_PATH], item[KB_MAX_PATH];
    size_t count, i = 0;

    if (get_array(c, card, key, path, KB_MAX_HINTS, kind != HINT_ICD9_PX, &arr, &count) < 0)
        return -1;
    if (count && !(*out = calloc(count, sizeof **out)))
        return nomem(c);
    *n = count;
    path_join(sub, path, key, 0);
    cJSON_ArrayForEach(it, arr) {
        path_join(item, sub, NULL, i);
        if (parse_hint(c, it, item, kind, &(*out)[i++]) < 0)
            return -1;
    }
    return 0;
}

static int parse_drug(const struct parse_ctx *c, const cJSON *obj, const char *path, struct kb_drug *d)
{
    char sub[KB_MAX_PATH];

    if (check_object(c, obj, path, DRUG_KEYS) < 0 ||
        get_string(c, obj, "type", path, KB_MAX_SHORT, 1, &d->type) < 0 ||
        get_string(c, obj, "drug", path, KB_MAX_LABEL, 1, &d->drug) < 0 ||
        get_string_or_empty(c, obj, "formulary_cd", path, KB_MAX_SHORT, &d->formulary_cd) < 0 ||
        get_string_or_empty(c, obj, "dose_val", path, KB_MAX_SHORT, &d->dose_val) < 0 ||
        get_string_or_empty(c, obj, "dose_unit", path, KB_MAX_SHORT, &d->dose_unit) < 0 ||
        get_string_or_empty(c, obj, "form_val", path, KB_MAX_SHORT, &d->form_val) < 0 ||
        get_string_or_empty(c, obj, "form_unit", path, KB_MAX_SHORT, &d->form_unit) < 0 ||
        get_string_or_empty(c, obj, "route", path, KB_MAX_SHORT, &d->route) < 0 ||
        get_weight(c, obj, path, &d->weight) < 0)
        return -1;
    path_join(sub, path, "type", 0);
    if (!is_listed(d->type, DRUG_TYPES))
        return fail(c, sub, "must be one of MAIN, BASE, ADDITIVE");
    return 0;
}

static int parse_drugs(const struct parse_ctx *c, const cJSON *card, const char *path, struct kb_card *k)
{
    const cJSON *arr, *it;
    char sub[KB_MAX_PATH], item[KB_MAX_PATH];
    size_t count, i = 0;

    if (get_array(c, card, "drugs", path, KB_MAX_DRUGS, 0, &arr, &count) < 0)
        return -1;
    if (count && !(k->drugs = calloc(count, sizeof *k->drugs)))
        return nomem(c);
    k->ndrugs = count;
    path_join(sub, path, "drugs", 0);
    cJSON_ArrayForEach(it, arr) {
        path_join(item, sub, NULL, i);
        if (parse_drug(c, it, item, &k->drugs[i++]) < 0)
            return -1;
    }
    return 0;
}

static int parse_synonyms(const struct parse_ctx *c, const cJSON *card, const char *path, struct kb_card *k)
{
    const cJSON *arr, *it;
    char sub[KB_MAX_PATH], item[KB_MAX_PATH];
    size_t count, i = 0;

    if (get_array(c, card, "synonyms", path, KB_MAX_SYNONYMS, 0, &arr, &count) < 0)
        return -1;
    if (count && !(k->synonyms = calloc(count, sizeof *k->synonyms)))
        return nomem(c);
    k->nsynonyms = count;
    path_join(sub, path, "synonyms", 0);
    cJSON_ArrayForEach(it, arr) {
        path_join(item, sub, NULL, i);
        if (!cJSON_IsString(it) || !it->valuestring)
            return fail(c, item, "must be a string");
        if (!it->valuestring[0] || strlen(it->valuestring) > KB_MAX_LABEL || has_control(it->valuestring))
            return fail(c, item, "must be a non-empty line of at most %d bytes", KB_MAX_LABEL);
        if (!(k->synonyms[i++] = dup_str(it->valuestring)))
            return nomem(c);
    }
    return 0;
}

/* The card's main code: "*" for the generic card, else a dotted ICD-9-CM diagnosis code. */
static int parse_card_code(const struct parse_ctx *c, const cJSON *obj, const char *path, struct kb_card *k)
{
    char sub[KB_MAX_PATH];

    if (get_string(c, obj, "icd9", path, KB_MAX_CODE - 1, 1, &k->icd9) < 0)
        return -1;
    if (!strcmp(k->icd9, KB_GENERIC))
        return 0;
    path_join(sub, path, "icd9", 0);
    return canonical_code(c, &k->icd9, HINT_ICD9, sub);
}

static int parse_card(const struct parse_ctx *c, const cJSON *obj, const char *path, struct kb_card *k)
{
    if (check_object(c, obj, path, CARD_KEYS) < 0 || parse_card_code(c, obj, path, k) < 0 ||
        get_string(c, obj, "name", path, KB_MAX_LABEL, 1, &k->name) < 0 ||
        parse_synonyms(c, obj, path, k) < 0 ||
        get_string(c, obj, "complications", path, KB_MAX_PROSE, 1, &k->complications) < 0 ||
        get_string(c, obj, "treatments", path, KB_MAX_PROSE, 1, &k->treatments) < 0 ||
        parse_hints(c, obj, "complication_codes", path, HINT_ICD9, &k->complication_hints,
                    &k->ncomplication_hints) < 0 ||
        parse_hints(c, obj, "procedure_codes", path, HINT_CPT, &k->procedure_hints, &k->nprocedure_hints) < 0 ||
        parse_hints(c, obj, "icd9_procedure_codes", path, HINT_ICD9_PX, &k->icd9_procedure_hints,
                    &k->nicd9_procedure_hints) < 0)
        return -1;
    return parse_drugs(c, obj, path, k);
}

/* Compares an undotted key with a stored code, skipping the stored code's dot: the order of
 * undotted codes, so one sort serves dotted and undotted look-ups. */
static int cmp_undotted(const char *key, const char *code)
{
    for (;; key++, code++) {
        if (*code == '.')
            code++;
        if (*key != *code || !*key)
            return (unsigned char)*key - (unsigned char)*code;
    }
}

struct card_key {
    char key[KB_MAX_CODE]; /* undotted code, or "*" */
    size_t index;          /* position in the file */
};

static int cmp_card_key(const void *a, const void *b)
{
    const struct card_key *x = a, *y = b;
    int r = strcmp(x->key, y->key);

    if (r)
        return r;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void card_key_of(const struct kb_card *k, size_t index, struct card_key *out)
{
    out->index = index;
    if (!strcmp(k->icd9, KB_GENERIC) || icd9_undot(k->icd9, out->key) < 0)
        memcpy(out->key, KB_GENERIC, sizeof KB_GENERIC);
}

/* Sorts the cards by undotted code and rejects a code that appears twice. */
static int sort_cards(const struct parse_ctx *c, struct kb *kb)
{
    struct card_key *keys = NULL;
    struct kb_card *sorted = NULL;
    char path[KB_MAX_PATH];
    size_t i;
    int rc = -1;

    if (kb->ncards < 2)
        return 0;
    keys = calloc(kb->ncards, sizeof *keys);
    sorted = calloc(kb->ncards, sizeof *sorted);
    if (!keys || !sorted) {
        rc = nomem(c);
        goto out;
    }
    for (i = 0; i < kb->ncards; i++)
        card_key_of(&kb->cards[i], i, &keys[i]);
    qsort(keys, kb->ncards, sizeof *keys, cmp_card_key);
    for (i = 1; i < kb->ncards; i++) {
        if (strcmp(keys[i - 1].key, keys[i].key))
            continue;
        snprintf(path, sizeof path, "cards[%zu].icd9", keys[i].index);
        rc = fail(c, path, "duplicate of cards[%zu] (%s)", keys[i - 1].index, kb->cards[keys[i - 1].index].icd9);
        goto out;
    }
    for (i = 0; i < kb->ncards; i++)
        sorted[i] = kb->cards[keys[i].index];
    free(kb->cards);
    kb->cards = sorted;
    sorted = NULL;
    rc = 0;
out:
    free(keys);
    free(sorted);
    return rc;
}

static int cmp_label(const void *a, const void *b)
{
    const struct kb_label *x = a, *y = b;
    int r = strcmp(x->code, y->code);

    if (r)
        return r;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_hint_labels(struct kb_label *labels, size_t *n, const struct kb_hint *h, size_t nh)
{
    size_t i;

    for (i = 0; i < nh; i++) {
        if (!h[i].display)
            continue;
        labels[*n].code = h[i].code;
        labels[*n].display = h[i].display;
        labels[*n].seq = *n;
        ++*n;
    }
}

/* Builds the sorted code -> display index: card names first, then hint labels; the first one of a code wins. */
static int build_labels(const struct parse_ctx *c, struct kb_impl *impl)
{
    const struct kb *kb = &impl->pub;
    size_t total = kb->ncards, n = 0, i, out;

    for (i = 0; i < kb->ncards; i++)
        total += kb->cards[i].ncomplication_hints + kb->cards[i].nprocedure_hints;
    if (!(impl->labels = calloc(total ? total : 1, sizeof *impl->labels)))
        return nomem(c);
    for (i = 0; i < kb->ncards; i++) {
        impl->labels[n].code = kb->cards[i].icd9;
        impl->labels[n].display = kb->cards[i].name;
        impl->labels[n].seq = n;
        n++;
    }
    for (i = 0; i < kb->ncards; i++) {
        add_hint_labels(impl->labels, &n, kb->cards[i].complication_hints, kb->cards[i].ncomplication_hints);
        add_hint_labels(impl->labels, &n, kb->cards[i].procedure_hints, kb->cards[i].nprocedure_hints);
    }
    qsort(impl->labels, n, sizeof *impl->labels, cmp_label);
    for (i = 0, out = 0; i < n; i++)
        if (out == 0 || strcmp(impl->labels[out - 1].code, impl->labels[i].code))
            impl->labels[out++] = impl->labels[i];
    impl->nlabels = out;
    return 0;
}

static int parse_cards(const struct parse_ctx *c, const cJSON *root, struct kb *kb)
{
    const cJSON *arr, *it;
    char path[KB_MAX_PATH];
    size_t count, i = 0;

    if (get_array(c, root, "cards", "", KB_MAX_CARDS, 1, &arr, &count) < 0)
        return -1;
    if (count == 0)
        return fail(c, "cards", "must not be empty");
    if (!(kb->cards = calloc(count, sizeof *kb->cards)))
        return nomem(c);
    kb->ncards = count;
    cJSON_ArrayForEach(it, arr) {
        path_join(path, "cards", NULL, i);
        if (parse_card(c, it, path, &kb->cards[i++]) < 0)
            return -1;
    }
    return 0;
}

/* Line and column (1-based) of byte offset `at` in text, for syntax errors. */
static void line_col(const char *text, size_t at, size_t *line, size_t *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < at; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

/* Parses the JSON text; rejects syntax errors and anything but white space after the value. */
static cJSON *parse_json(const struct parse_ctx *c, const char *text, size_t len)
{
    const char *end = NULL;
    size_t at, line, col;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);

    if (root) {
        at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
        while (at < len && (text[at] == ' ' || text[at] == '\t' || text[at] == '\r' || text[at] == '\n'))
            at++;
        if (at == len)
            return root;
        cJSON_Delete(root);
        line_col(text, at, &line, &col);
        error_set(c->err, LLMSYN_E_INPUT, "%s:%zu:%zu: unexpected data after the json value", c->name, line, col);
        return NULL;
    }
    at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    line_col(text, at, &line, &col);
    error_set(c->err, LLMSYN_E_INPUT, "%s:%zu:%zu: invalid json", c->name, line, col);
    return NULL;
}

struct kb *kb_parse(const char *text, size_t len, const char *name, struct error *err)
{
    struct parse_ctx c = {name ? name : "knowledge", err};
    struct kb_impl *impl = NULL;
    struct kb *kb = NULL;
    cJSON *root = NULL;

    if (!text) {
        error_set(err, LLMSYN_E_INPUT, "%s: no text", c.name);
        goto out;
    }
    if (len > KB_MAX_FILE_BYTES) {
        error_set(err, LLMSYN_E_INPUT, "%s: larger than %zu bytes", c.name, KB_MAX_FILE_BYTES);
        goto out;
    }
    if (!(root = parse_json(&c, text, len)))
        goto out;
    if (!(impl = calloc(1, sizeof *impl))) {
        nomem(&c);
        goto out;
    }
    kb = &impl->pub;
    if (check_object(&c, root, "", ROOT_KEYS) < 0 ||
        get_string(&c, root, "source", "", KB_MAX_PROSE, 1, &kb->source) < 0 ||
        parse_cards(&c, root, kb) < 0 || sort_cards(&c, kb) < 0 || build_labels(&c, impl) < 0)
        kb_free(&kb);
out:
    cJSON_Delete(root);
    return kb;
}

/* Reads the whole file into b, refusing more than KB_MAX_FILE_BYTES. */
static int read_file(const char *path, struct buf *b, struct error *err)
{
    char chunk[KB_READ_CHUNK];
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = -1;

    if (!f) {
        error_set(err, LLMSYN_E_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b->len + n > KB_MAX_FILE_BYTES) {
            error_set(err, LLMSYN_E_INPUT, "%s: larger than %zu bytes", path, KB_MAX_FILE_BYTES);
            goto out;
        }
        if (buf_append(b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "%s: read error", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

struct kb *kb_load(const char *path, struct error *err)
{
    struct buf b;
    struct kb *kb = NULL;

    buf_init(&b, KB_MAX_FILE_BYTES);
    if (!path) {
        error_set(err, LLMSYN_E_INPUT, "knowledge base: no path");
        return NULL;
    }
    if (read_file(path, &b, err) == 0)
        kb = kb_parse(b.data ? b.data : "", b.len, path, err);
    buf_free(&b);
    return kb;
}

static void free_hints(struct kb_hint *h, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(h[i].code);
        free(h[i].display);
    }
    free(h);
}

static void free_drugs(struct kb_drug *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(d[i].type);
        free(d[i].drug);
        free(d[i].formulary_cd);
        free(d[i].dose_val);
        free(d[i].dose_unit);
        free(d[i].form_val);
        free(d[i].form_unit);
        free(d[i].route);
    }
    free(d);
}

static void free_card(struct kb_card *k)
{
    size_t i;

    free(k->icd9);
    free(k->name);
    for (i = 0; i < k->nsynonyms; i++)
        free(k->synonyms[i]);
    free(k->synonyms);
    free(k->complications);
    free(k->treatments);
    free_hints(k->complication_hints, k->ncomplication_hints);
    free_hints(k->procedure_hints, k->nprocedure_hints);
    free_hints(k->icd9_procedure_hints, k->nicd9_procedure_hints);
    free_drugs(k->drugs, k->ndrugs);
}

void kb_free(struct kb **kb)
{
    struct kb_impl *impl;
    size_t i;

    if (!kb || !*kb)
        return;
    impl = (struct kb_impl *)*kb;
    for (i = 0; i < impl->pub.ncards; i++)
        free_card(&impl->pub.cards[i]);
    free(impl->pub.cards);
    free(impl->pub.source);
    free(impl->labels);
    free(impl);
    *kb = NULL;
}

static int cmp_find(const void *key, const void *elem)
{
    const struct kb_card *k = elem;

    return cmp_undotted(key, k->icd9);
}

const struct kb_card *kb_find(const struct kb *kb, const char *icd9)
{
    char key[KB_MAX_CODE];

    if (!kb || !icd9 || !kb->cards || strlen(icd9) >= KB_MAX_CODE)
        return NULL;
    if (!strcmp(icd9, KB_GENERIC))
        memcpy(key, KB_GENERIC, sizeof KB_GENERIC);
    else if (icd9_undot(icd9, key) < 0)
        return NULL;
    return bsearch(key, kb->cards, kb->ncards, sizeof *kb->cards, cmp_find);
}

const struct kb_card *kb_generic(const struct kb *kb)
{
    return kb_find(kb, KB_GENERIC);
}

static int cmp_display(const void *key, const void *elem)
{
    const struct kb_label *l = elem;

    return strcmp(key, l->code);
}

static const char *label_of(const struct kb_impl *impl, const char *code)
{
    const struct kb_label *l = bsearch(code, impl->labels, impl->nlabels, sizeof *impl->labels, cmp_display);

    return l ? l->display : NULL;
}

/* Exact code first (CPT codes and dotted ICD-9-CM), then the code read as an ICD-9-CM diagnosis. */
const char *kb_display(const struct kb *kb, const char *code)
{
    const struct kb_impl *impl = (const struct kb_impl *)kb;
    char undotted[KB_MAX_CODE], dotted[KB_MAX_CODE];
    const char *label;

    if (!kb || !code || !impl->labels || strlen(code) >= KB_MAX_CODE)
        return NULL;
    if ((label = label_of(impl, code)))
        return label;
    if (icd9_undot(code, undotted) < 0)
        return NULL;
    icd9_dot(undotted, dotted);
    return strcmp(dotted, code) ? label_of(impl, dotted) : NULL;
}
