/* table.c - the flat evaluation table shared by the MIMIC, synthetic and Synthea readers. */
#include "eval/table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const cat_names[EVAL_NCAT] = {"LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY",
                                                 "INSURANCE"};

const char *eval_cat_name(enum eval_cat c)
{
    return (unsigned)c < EVAL_NCAT ? cat_names[c] : "?";
}

int eval_cat_index(const char *name)
{
    for (int i = 0; i < EVAL_NCAT; i++)
        if (!strcasecmp(name, cat_names[i]))
            return i;
    return -1;
}

struct eval_row *eval_table_add(struct eval_table *t, struct error *err)
{
    struct eval_row *r = NULL;

    if (t->n >= EVAL_MAX_ROWS) {
        error_set(err, LLMSYN_E_INPUT, "more than %zu rows", EVAL_MAX_ROWS);
        return NULL;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct eval_row *n = realloc(t->rows, cap * sizeof *n);
        if (!n) {
            error_set(err, LLMSYN_E_NOMEM, "out of memory");
            return NULL;
        }
        t->rows = n;
        t->cap = cap;
    }
    r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    r->age = -1;
    r->expire = -1;
    return r;
}

/* Copies v without leading/trailing white space; NULL when memory runs out. */
static char *dup_trim(const char *v)
{
    size_t n = 0;
    char *s = NULL;

    while (*v && isspace((unsigned char)*v))
        v++;
    n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

static int is_absent(enum eval_cat c, const char *v)
{
    if (c == EVAL_LANGUAGE)
        return !strcasecmp(v, "UNKNOWN");
    if (c == EVAL_RELIGION)
        return !strcasecmp(v, "NOT SPECIFIED") || !strcasecmp(v, "UNOBTAINABLE") || !strcasecmp(v, "UNKNOWN");
    return 0;
}

int eval_row_set_cat(struct eval_row *r, enum eval_cat c, const char *v, struct error *err)
{
    char *s = dup_trim(v ? v : "");

    if (!s)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    if (is_absent(c, s))
        s[0] = '\0';
    free(r->cat[c]);
    r->cat[c] = s;
    return 0;
}

int eval_row_set_gender(struct eval_row *r, const char *v, struct error *err)
{
    char *s = dup_trim(v ? v : "");
    if (!s)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    free(r->gender);
    r->gender = s;
    return 0;
}

void eval_code_normalise(const char *code, char *out, size_t cap)
{
    size_t k = 0;

    if (!cap)
        return;
    for (; *code && k + 1 < cap; code++) {
        unsigned char c = (unsigned char)*code;
        if (c == '.' || isspace(c))
            continue;
        out[k++] = (char)toupper(c);
    }
    out[k] = '\0';
}

static int push_code(char ***v, size_t *n, size_t *cap, const char *code, struct error *err)
{
    char norm[64];
    char *s = NULL;

    eval_code_normalise(code, norm, sizeof norm);
    if (!norm[0])
        return 0;
    if (*n >= EVAL_MAX_CODES)
        return error_set(err, LLMSYN_E_INPUT, "more than %d codes in one admission", EVAL_MAX_CODES);
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        char **nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory");
        *v = nv;
        *cap = c;
    }
    s = strdup(norm);
    if (!s)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    (*v)[(*n)++] = s;
    return 0;
}

int eval_row_add_icd9(struct eval_row *r, const char *code, struct error *err)
{
    return push_code(&r->icd9, &r->nicd9, &r->cap_icd9, code, err);
}

int eval_row_add_cpt(struct eval_row *r, const char *code, struct error *err)
{
    return push_code(&r->cpt, &r->ncpt, &r->cap_cpt, code, err);
}

const char *eval_row_cat(const struct eval_row *r, enum eval_cat c)
{
    return r->cat[c] ? r->cat[c] : "";
}

const char *eval_row_main(const struct eval_row *r)
{
    return r->nicd9 ? r->icd9[0] : "";
}

static void row_free(struct eval_row *r)
{
    for (int c = 0; c < EVAL_NCAT; c++)
        free(r->cat[c]);
    free(r->gender);
    for (size_t i = 0; i < r->nicd9; i++)
        free(r->icd9[i]);
    free(r->icd9);
    for (size_t i = 0; i < r->ncpt; i++)
        free(r->cpt[i]);
    free(r->cpt);
}

void eval_table_free(struct eval_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}
