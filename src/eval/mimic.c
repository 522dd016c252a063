/* mimic.c - reads MIMIC-III-format CSVs (ADMISSIONS, PATIENTS, DIAGNOSES_ICD, CPTEVENTS) into eval rows. */
#include "eval/mimic.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/csv.h"

struct key_idx {
    long key;
    size_t idx;
};

struct code_ref {
    size_t row;  /* admission row */
    long order;  /* SEQ_NUM or TICKET_ID_SEQ */
    size_t pos;  /* file order, breaks ties */
    char *code;  /* owned */
};

struct code_list {
    struct code_ref *v; /* owned */
    size_t n, cap;
};

struct mimic_ctx {
    struct eval_table *t;
    struct key_idx *hadm;    /* owned, sorted by key */
    long *subject;           /* owned, per row */
    long *admit_ymd;         /* owned, per row: yyyymmdd of ADMITTIME or -1 */
};

/* Finds DIR/NAME.csv or its lower-case spelling; writes the path; 1 when found. */
static int find_file(const char *dir, const char *name, char *path, size_t cap)
{
    char lower[64];
    size_t i = 0;

    snprintf(path, cap, "%s/%s.csv", dir, name);
    if (access(path, R_OK) == 0)
        return 1;
    for (; name[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lower[i] = '\0';
    snprintf(path, cap, "%s/%s.csv", dir, lower);
    return access(path, R_OK) == 0;
}

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    long v = 0;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* yyyymmdd of a "YYYY-MM-DD..." timestamp, or -1. */
static long ymd(const char *s)
{
    long y = 0, m = 0, d = 0;
    char buf[5];

    if (strlen(s) < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    memcpy(buf, s, 4); buf[4] = '\0';
    if (parse_long(buf, &y)) return -1;
    memcpy(buf, s + 5, 2); buf[2] = '\0';
    if (parse_long(buf, &m)) return -1;
    memcpy(buf, s + 8, 2); buf[2] = '\0';
    if (parse_long(buf, &d)) return -1;
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    return y * 10000 + m * 100 + d;
}

/* Column indexes of names[] in the header; a missing required column is an error. */
static int columns(struct csv_reader *r, const char *const *names, int *idx, int n, int nrequired,
                   struct error *err)
{
    char **hdr = NULL;
    size_t nh = csv_nfields(r);
    int rc = 0;

    hdr = csv_copy_fields(r);
    if (!hdr)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        idx[i] = csv_column(hdr, nh, names[i]);
        if (i < nrequired && idx[i] < 0) {
            rc = error_set(err, LLMSYN_E_INPUT, "%s:1: no column '%s'", r->name, names[i]);
            break;
        }
    }
    csv_strings_free(&hdr, nh);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    long x = ((const struct key_idx *)a)->key, y = ((const struct key_idx *)b)->key;
    return (x > y) - (x < y);
}

static long find_hadm(const struct mimic_ctx *c, long key)
{
    struct key_idx k = {key, 0};
    const struct key_idx *f = c->t->n ? bsearch(&k, c->hadm, c->t->n, sizeof k, key_cmp) : NULL;
    return f ? (long)f->idx : -1;
}

static const char *const adm_cols[] = {"HADM_ID", "SUBJECT_ID", "ADMITTIME", "HOSPITAL_EXPIRE_FLAG",
                                       "LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY", "INSURANCE"};

static int admission_row(struct mimic_ctx *c, struct csv_reader *r, const int *col, struct error *err)
{
    struct eval_row *row = NULL;
    long hadm = 0, subj = 0, flag = 0;
    size_t i = c->t->n;

    if (parse_long(csv_field(r, (size_t)col[0]), &hadm) || parse_long(csv_field(r, (size_t)col[1]), &subj))
        return error_set(err, LLMSYN_E_INPUT, "%s:%lu: HADM_ID and SUBJECT_ID must be integers", r->name, r->line);
    row = eval_table_add(c->t, err);
    if (!row)
        return err->code;
    if (col[3] >= 0 && *csv_field(r, (size_t)col[3])) {
        if (parse_long(csv_field(r, (size_t)col[3]), &flag) || (flag != 0 && flag != 1))
            return error_set(err, LLMSYN_E_INPUT, "%s:%lu: HOSPITAL_EXPIRE_FLAG must be 0 or 1", r->name, r->line);
        row->expire = (int)flag;
    }
    for (int k = 0; k < EVAL_NCAT; k++)
        if (eval_row_set_cat(row, (enum eval_cat)k, col[4 + k] >= 0 ? csv_field(r, (size_t)col[4 + k]) : "", err))
            return err->code;
    c->hadm[i].key = hadm;
    c->hadm[i].idx = i;
    c->subject[i] = subj;
    c->admit_ymd[i] = col[2] >= 0 ? ymd(csv_field(r, (size_t)col[2])) : -1;
    return 0;
}

static int grow_ctx(struct mimic_ctx *c, size_t need, size_t *cap, struct error *err)
{
    size_t n = *cap ? *cap * 2 : 256;
    void *a = NULL, *b = NULL, *d = NULL;

    if (need < *cap)
        return 0;
    a = realloc(c->hadm, n * sizeof *c->hadm);
    if (a) c->hadm = a;
    b = realloc(c->subject, n * sizeof *c->subject);
    if (b) c->subject = b;
    d = realloc(c->admit_ymd, n * sizeof *c->admit_ymd);
    if (d) c->admit_ymd = d;
    if (!a || !b || !d)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    *cap = n;
    return 0;
}

static int read_admissions(struct mimic_ctx *c, const char *path, struct error *err)
{
    struct csv_reader r;
    int col[9], rc = 0;
    size_t cap = 0;

    if ((rc = csv_open(&r, path, 0, 0, err)) != 0)
        goto out;
    if (csv_read_header(&r, err) || columns(&r, adm_cols, col, 9, 2, err)) {
        rc = err->code;
        goto out;
    }
    while ((rc = csv_next(&r, err)) == 1) {
        if ((rc = grow_ctx(c, c->t->n, &cap, err)) != 0 || (rc = admission_row(c, &r, col, err)) != 0)
            goto out;
    }
    rc = rc < 0 ? err->code : 0;
    if (!rc && c->t->n)
        qsort(c->hadm, c->t->n, sizeof *c->hadm, key_cmp);
    for (size_t i = 1; !rc && i < c->t->n; i++)
        if (c->hadm[i].key == c->hadm[i - 1].key)
            rc = error_set(err, LLMSYN_E_INPUT, "%s: HADM_ID %ld appears twice", path, c->hadm[i].key);
out:
    csv_close(&r);
    return rc;
}

/* Age in whole years from dob (yyyymmdd) to admit (yyyymmdd), capped at 89; -1 when unknown. */
static int age_years(long dob, long admit)
{
    long y = 0;
    if (dob < 0 || admit < 0 || admit < dob)
        return -1;
    y = admit / 10000 - dob / 10000;
    if (admit % 10000 < dob % 10000)
        y--;
    return y > 89 ? 89 : (int)y;
}

/* Applies one PATIENTS row to every admission of its subject (subj: (subject, row) sorted by subject). */
static int apply_patient(struct mimic_ctx *c, const struct key_idx *subj, struct csv_reader *r, const int *col,
                         struct error *err)
{
    struct key_idx k = {0, 0};
    const struct key_idx *f = NULL;
    long dob = col[2] >= 0 ? ymd(csv_field(r, (size_t)col[2])) : -1;

    if (parse_long(csv_field(r, (size_t)col[0]), &k.key))
        return error_set(err, LLMSYN_E_INPUT, "%s:%lu: SUBJECT_ID must be an integer", r->name, r->line);
    f = bsearch(&k, subj, c->t->n, sizeof k, key_cmp);
    while (f && f > subj && f[-1].key == k.key)
        f--;
    for (; f && f < subj + c->t->n && f->key == k.key; f++) {
        if (col[1] >= 0 && eval_row_set_gender(&c->t->rows[f->idx], csv_field(r, (size_t)col[1]), err))
            return err->code;
        c->t->rows[f->idx].age = age_years(dob, c->admit_ymd[f->idx]);
    }
    return 0;
}

static int read_patients(struct mimic_ctx *c, const char *path, struct error *err)
{
    static const char *const names[] = {"SUBJECT_ID", "GENDER", "DOB"};
    struct key_idx *subj = malloc((c->t->n + 1) * sizeof *subj);
    struct csv_reader r;
    int col[3], rc = 0;

    memset(&r, 0, sizeof r);
    if (!subj)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->t->n; i++)
        subj[i] = (struct key_idx){c->subject[i], i};
    qsort(subj, c->t->n, sizeof *subj, key_cmp);
    if ((rc = csv_open(&r, path, 0, 0, err)) != 0)
        goto out;
    if (csv_read_header(&r, err) || columns(&r, names, col, 3, 1, err)) {
        rc = err->code;
        goto out;
    }
    while ((rc = csv_next(&r, err)) == 1)
        if ((rc = apply_patient(c, subj, &r, col, err)) != 0)
            goto out;
    rc = rc < 0 ? err->code : 0;
out:
    free(subj);
    csv_close(&r);
    return rc;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct code_ref *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int list_push(struct code_list *l, size_t row, long order, const char *code, struct error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct code_ref *n = realloc(l->v, cap * sizeof *n);
        if (!n)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory");
        l->v = n;
        l->cap = cap;
    }
    l->v[l->n].code = strdup(code);
    if (!l->v[l->n].code)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    l->v[l->n].row = row;
    l->v[l->n].order = order;
    l->v[l->n].pos = l->n;
    l->n++;
    return 0;
}

static void list_free(struct code_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].code);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Reads HADM_ID, an order column and a code column; is_dx selects diagnoses or CPT. */
static int read_codes(struct mimic_ctx *c, const char *path, int is_dx, struct error *err)
{
    const char *const dx[] = {"HADM_ID", "ICD9_CODE", "SEQ_NUM"};
    const char *const px[] = {"HADM_ID", "CPT_CD", "TICKET_ID_SEQ"};
    struct code_list l = {NULL, 0, 0};
    struct csv_reader r;
    int col[3], rc = 0;
    long hadm = 0, order = 0;

    if ((rc = csv_open(&r, path, 0, 0, err)) != 0)
        goto out;
    if (csv_read_header(&r, err) || columns(&r, is_dx ? dx : px, col, 3, 2, err)) {
        rc = err->code;
        goto out;
    }
    while ((rc = csv_next(&r, err)) == 1) {
        long row = -1;
        if (parse_long(csv_field(&r, (size_t)col[0]), &hadm))
            continue; /* MIMIC leaves HADM_ID blank on a few rows: not an admission */
        row = find_hadm(c, hadm);
        order = LONG_MAX;
        if (col[2] >= 0 && *csv_field(&r, (size_t)col[2]) && parse_long(csv_field(&r, (size_t)col[2]), &order)) {
            rc = error_set(err, LLMSYN_E_INPUT, "%s:%lu: %s must be an integer", path, r.line, is_dx ? dx[2] : px[2]);
            goto out;
        }
        if (row >= 0 && (rc = list_push(&l, (size_t)row, order, csv_field(&r, (size_t)col[1]), err)))
            goto out;
    }
    rc = rc < 0 ? err->code : 0;
    if (rc)
        goto out;
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, ref_cmp);
    for (size_t i = 0; i < l.n && !rc; i++) {
        struct eval_row *row = &c->t->rows[l.v[i].row];
        rc = is_dx ? eval_row_add_icd9(row, l.v[i].code, err) : eval_row_add_cpt(row, l.v[i].code, err);
    }
out:
    list_free(&l);
    csv_close(&r);
    return rc;
}

int mimic_read(const char *dir, struct eval_table *t, struct error *err)
{
    struct mimic_ctx c = {t, NULL, NULL, NULL};
    char path[4096];
    int rc = 0;

    if (!find_file(dir, "ADMISSIONS", path, sizeof path)) {
        rc = error_set(err, LLMSYN_E_INPUT, "cannot open '%s/ADMISSIONS.csv': %s", dir, strerror(ENOENT));
        goto out;
    }
    if ((rc = read_admissions(&c, path, err)) != 0)
        goto out;
    if (find_file(dir, "PATIENTS", path, sizeof path) && (rc = read_patients(&c, path, err)) != 0)
        goto out;
    if (find_file(dir, "DIAGNOSES_ICD", path, sizeof path) && (rc = read_codes(&c, path, 1, err)) != 0)
        goto out;
    if (find_file(dir, "CPTEVENTS", path, sizeof path) && (rc = read_codes(&c, path, 0, err)) != 0)
        goto out;
out:
    free(c.hadm);
    free(c.subject);
    free(c.admit_ymd);
    return rc;
}
