/* fidelity.c - K-S, total variation distance, Gaussian-kernel MMD and the top-15 ICD-9 table. */
#include "eval/fidelity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const feature_names[EVAL_NFEATURES] = {
    "LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY", "INSURANCE", "EXPIRE_FLAG", "ICD9_CODE", "CPT_CD"};
static const char *const pair_names[EVAL_NPAIRS] = {"main_dx-CPT_CD", "main_dx-ICD9_CODE", "ICD9_CODE-CPT_CD"};

const char *eval_feature_name(enum eval_feature f)
{
    return (unsigned)f < EVAL_NFEATURES ? feature_names[f] : "?";
}

const char *eval_pair_name(enum eval_pair p)
{
    return (unsigned)p < EVAL_NPAIRS ? pair_names[p] : "?";
}

static int pstr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void eval_dist_free(struct eval_dist *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->key[i]);
    free(d->key);
    free(d->count);
    memset(d, 0, sizeof *d);
}

int eval_dist_from(const char *const *keys, size_t n, struct eval_dist *out, struct error *err)
{
    const char **v = NULL;
    int rc = 0;

    memset(out, 0, sizeof *out);
    v = malloc((n ? n : 1) * sizeof *v);
    out->key = malloc((n ? n : 1) * sizeof *out->key);
    out->count = malloc((n ? n : 1) * sizeof *out->count);
    if (!v || !out->key || !out->count) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(v, keys, n * sizeof *v);
    qsort(v, n, sizeof *v, pstr_cmp);
    for (size_t i = 0; i < n; i++) {
        if (out->n && !strcmp(out->key[out->n - 1], v[i])) {
            out->count[out->n - 1] += 1;
        } else {
            if (!(out->key[out->n] = strdup(v[i]))) {
                rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
                goto out;
            }
            out->count[out->n++] = 1;
        }
        out->total += 1;
    }
out:
    free(v);
    if (rc)
        eval_dist_free(out);
    return rc;
}

double eval_dist_count(const struct eval_dist *d, const char *key)
{
    const char *k = key;
    char **f = d->n ? bsearch(&k, d->key, d->n, sizeof *d->key, pstr_cmp) : NULL;
    return f ? d->count[f - d->key] : 0;
}

/* Collects a feature's values (borrowed from t) into a new array; caller frees the array. */
static const char **feature_values(const struct eval_table *t, enum eval_feature f, size_t *n)
{
    static const char *const flags[] = {"", "0", "1"};
    size_t cap = 0, k = 0;
    const char **v = NULL;

    for (size_t i = 0; i < t->n; i++)
        cap += f == EVAL_F_ICD9_CODE ? t->rows[i].nicd9 : f == EVAL_F_CPT_CD ? t->rows[i].ncpt : 1;
    v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct eval_row *r = &t->rows[i];
        if (f == EVAL_F_ICD9_CODE)
            for (size_t j = 0; j < r->nicd9; j++)
                v[k++] = r->icd9[j];
        else if (f == EVAL_F_CPT_CD)
            for (size_t j = 0; j < r->ncpt; j++)
                v[k++] = r->cpt[j];
        else if (f == EVAL_F_EXPIRE_FLAG)
            v[k++] = flags[r->expire == 0 ? 1 : r->expire == 1 ? 2 : 0];
        else
            v[k++] = eval_row_cat(r, (enum eval_cat)f);
    }
    *n = k;
    return v;
}

int eval_feature_dist(const struct eval_table *t, enum eval_feature f, struct eval_dist *out, struct error *err)
{
    size_t n = 0;
    const char **v = feature_values(t, f, &n);
    int rc = 0;

    if (!v)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    rc = eval_dist_from(v, n, out, err);
    free(v);
    return rc;
}

/* Ranking of the K-S encoding: real frequency descending, then byte order. */
struct rank {
    const char *key;
    double real, syn;
    int only_syn;
};

static int rank_cmp(const void *a, const void *b)
{
    const struct rank *x = a, *y = b;
    if (x->only_syn != y->only_syn)
        return x->only_syn - y->only_syn;
    if (x->real != y->real)
        return x->real > y->real ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The union of categories of a and b with both counts; caller frees; NULL when out of memory. */
static struct rank *merge(const struct eval_dist *a, const struct eval_dist *b, size_t *n)
{
    struct rank *r = malloc((a->n + b->n + 1) * sizeof *r);
    size_t i = 0, j = 0, k = 0;

    if (!r)
        return NULL;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->key[i], b->key[j]);
        r[k].key = c <= 0 ? a->key[i] : b->key[j];
        r[k].real = c <= 0 ? a->count[i] : 0;
        r[k].syn = c >= 0 ? b->count[j] : 0;
        r[k].only_syn = c > 0;
        if (c <= 0) i++;
        if (c >= 0) j++;
        k++;
    }
    *n = k;
    return r;
}

double eval_ks(const struct eval_dist *real, const struct eval_dist *syn)
{
    size_t n = 0;
    struct rank *r = NULL;
    double fa = 0, fb = 0, d = 0;

    if (real->total <= 0 || syn->total <= 0 || !(r = merge(real, syn, &n)))
        return NAN;
    qsort(r, n, sizeof *r, rank_cmp);
    for (size_t i = 0; i < n; i++) {
        fa += r[i].real / real->total;
        fb += r[i].syn / syn->total;
        if (fabs(fa - fb) > d)
            d = fabs(fa - fb);
    }
    free(r);
    return d > 1 ? 1 : d;
}

double eval_tvd(const struct eval_dist *real, const struct eval_dist *syn)
{
    size_t n = 0;
    struct rank *r = NULL;
    double s = 0;

    if (real->total <= 0 || syn->total <= 0 || !(r = merge(real, syn, &n)))
        return NAN;
    for (size_t i = 0; i < n; i++)
        s += fabs(r[i].real / real->total - r[i].syn / syn->total);
    free(r);
    s *= 0.5;
    return s > 1 ? 1 : s;
}

/* sum_k p(k) q(k) of two normalised distributions. */
static double inner(const struct eval_dist *a, const struct eval_dist *b)
{
    size_t n = 0;
    struct rank *r = merge(a, b, &n);
    double s = 0;

    if (!r)
        return NAN;
    for (size_t i = 0; i < n; i++)
        s += (r[i].real / a->total) * (r[i].syn / b->total);
    free(r);
    return s;
}

/* The pair multiset of a table: joint keys "a\x1f" "b" and both marginals (all owned by the dists). */
struct pairs {
    struct eval_dist joint, a, b;
};

static void pairs_free(struct pairs *p)
{
    eval_dist_free(&p->joint);
    eval_dist_free(&p->a);
    eval_dist_free(&p->b);
}

static size_t count_pairs(const struct eval_table *t, enum eval_pair p)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct eval_row *r = &t->rows[i];
        if (!r->nicd9)
            continue;
        n += p == EVAL_P_MAIN_CPT ? r->ncpt : p == EVAL_P_MAIN_ICD9 ? r->nicd9 - 1 : r->nicd9 * r->ncpt;
    }
    return n;
}

static int emit_pair(char **joint, const char **a, const char **b, size_t k, const char *x, const char *y)
{
    size_t lx = strlen(x), ly = strlen(y);
    joint[k] = malloc(lx + ly + 2);
    if (!joint[k])
        return -1;
    memcpy(joint[k], x, lx);
    joint[k][lx] = '\x1f';
    memcpy(joint[k] + lx + 1, y, ly + 1);
    a[k] = x;
    b[k] = y;
    return 0;
}

static int fill_pairs(const struct eval_table *t, enum eval_pair p, char **joint, const char **a, const char **b)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct eval_row *r = &t->rows[i];
        if (!r->nicd9)
            continue;
        if (p == EVAL_P_MAIN_CPT)
            for (size_t j = 0; j < r->ncpt; j++)
                if (emit_pair(joint, a, b, k++, r->icd9[0], r->cpt[j])) return -1;
        if (p == EVAL_P_MAIN_ICD9)
            for (size_t j = 1; j < r->nicd9; j++)
                if (emit_pair(joint, a, b, k++, r->icd9[0], r->icd9[j])) return -1;
        if (p == EVAL_P_ICD9_CPT)
            for (size_t d = 0; d < r->nicd9; d++)
                for (size_t j = 0; j < r->ncpt; j++)
                    if (emit_pair(joint, a, b, k++, r->icd9[d], r->cpt[j])) return -1;
    }
    return 0;
}

static int build_pairs(const struct eval_table *t, enum eval_pair p, struct pairs *out, struct error *err)
{
    size_t n = count_pairs(t, p);
    char **joint = calloc(n + 1, sizeof *joint);
    const char **a = calloc(n + 1, sizeof *a), **b = calloc(n + 1, sizeof *b);
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!joint || !a || !b || fill_pairs(t, p, joint, a, b)) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = eval_dist_from((const char *const *)joint, n, &out->joint, err)) == 0 &&
        (rc = eval_dist_from(a, n, &out->a, err)) == 0)
        rc = eval_dist_from(b, n, &out->b, err);
out:
    for (size_t i = 0; joint && i < n; i++)
        free(joint[i]);
    free(joint);
    free(a);
    free(b);
    if (rc)
        pairs_free(out);
    return rc;
}

/* Mean kernel value between two pair distributions (see eval_mmd2). */
static double kmean(const struct pairs *x, const struct pairs *y)
{
    const double c = exp(-1.0), d = 1.0 - c;
    return c * c + c * d * inner(&x->a, &y->a) + c * d * inner(&x->b, &y->b) + d * d * inner(&x->joint, &y->joint);
}

int eval_mmd2(const struct eval_table *real, const struct eval_table *syn, enum eval_pair p, double *out,
              struct error *err)
{
    struct pairs x, y;
    int rc = 0;

    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    *out = NAN;
    if ((rc = build_pairs(real, p, &x, err)) != 0 || (rc = build_pairs(syn, p, &y, err)) != 0)
        goto out;
    if (x.joint.total > 0 && y.joint.total > 0) {
        double v = kmean(&x, &x) + kmean(&y, &y) - 2 * kmean(&x, &y);
        *out = v < 0 ? 0 : v; /* rounding can leave -1e-17 */
    }
out:
    pairs_free(&x);
    pairs_free(&y);
    return rc;
}

int eval_top_icd9(const struct eval_table *real, const struct eval_table *syn, struct eval_top *out,
                  struct error *err)
{
    struct eval_dist a, b;
    struct rank *r = NULL;
    size_t n = 0;
    int rc = 0;

    memset(out, 0, sizeof *out);
    memset(&b, 0, sizeof b);
    if ((rc = eval_feature_dist(real, EVAL_F_ICD9_CODE, &a, err)) != 0)
        return rc;
    if ((rc = eval_feature_dist(syn, EVAL_F_ICD9_CODE, &b, err)) != 0)
        goto out;
    if (!(r = merge(&a, &b, &n))) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    qsort(r, n, sizeof *r, rank_cmp);
    out->real_other = a.total > 0 ? 1 : 0;
    out->syn_other = b.total > 0 ? 1 : 0;
    for (size_t i = 0; i < n && out->n < EVAL_TOPN && !r[i].only_syn; i++) {
        snprintf(out->code[out->n], sizeof out->code[0], "%s", r[i].key);
        out->real[out->n] = a.total > 0 ? r[i].real / a.total : 0;
        out->syn[out->n] = b.total > 0 ? r[i].syn / b.total : 0;
        out->real_other -= out->real[out->n];
        out->syn_other -= out->syn[out->n];
        out->n++;
    }
    out->real_other = out->real_other < 0 ? 0 : out->real_other;
    out->syn_other = out->syn_other < 0 ? 0 : out->syn_other;
out:
    free(r);
    eval_dist_free(&a);
    eval_dist_free(&b);
    return rc;
}
