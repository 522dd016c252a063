/* privacy.c - k-anonymity violation counts, distance to closest record and exact matches. */
#include "eval/privacy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"

static const char *const extra_names[] = {"EXPIRE_FLAG", "GENDER", "ICD9_CODE", "CPT_CD"};

const char *eval_quasi_name(int col)
{
    if (col >= 0 && col < EVAL_NCAT)
        return eval_cat_name((enum eval_cat)col);
    return col >= EVAL_NCAT && col < EVAL_NQ ? extra_names[col - EVAL_NCAT] : "?";
}

static int quasi_index(const char *name, size_t len)
{
    for (int c = 0; c < EVAL_NQ; c++) {
        const char *n = eval_quasi_name(c);
        if (strlen(n) == len && !strncasecmp(n, name, len))
            return c;
    }
    return -1;
}

int eval_quasi_parse(const char *list, struct eval_quasi *q, struct error *err)
{
    const char *p = list;

    memset(q, 0, sizeof *q);
    while (*p) {
        size_t len = strcspn(p, ",");
        int c = quasi_index(p, len);
        if (c < 0)
            return error_set(err, LLMSYN_E_USAGE, "--quasi: unknown column '%.*s'", (int)(len > 64 ? 64 : len), p);
        if (q->n >= EVAL_MAX_QUASI)
            return error_set(err, LLMSYN_E_USAGE, "--quasi: more than %d columns", EVAL_MAX_QUASI);
        q->col[q->n++] = c;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!q->n)
        return error_set(err, LLMSYN_E_USAGE, "--quasi: no column given");
    return 0;
}

/* Appends one quasi-identifier value of r to b, followed by a unit separator. */
static int put_quasi(struct buf *b, const struct eval_row *r, int col)
{
    int rc = 0;
    if (col < EVAL_NCAT)
        rc = buf_puts(b, eval_row_cat(r, (enum eval_cat)col));
    else if (col == EVAL_Q_EXPIRE_FLAG)
        rc = buf_puts(b, r->expire == 1 ? "1" : r->expire == 0 ? "0" : "");
    else if (col == EVAL_Q_GENDER)
        rc = buf_puts(b, r->gender ? r->gender : "");
    else if (col == EVAL_Q_ICD9_CODE)
        rc = buf_puts(b, eval_row_main(r));
    else
        for (size_t i = 0; i < r->ncpt && !rc; i++)
            rc = buf_puts(b, r->cpt[i]) || buf_putc(b, ';');
    return rc || buf_putc(b, '\x1f');
}

static int pstr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int eval_kanonymity(const struct eval_table *t, const struct eval_quasi *q, size_t k, struct eval_kanon *out,
                    struct error *err)
{
    char **keys = calloc(t->n + 1, sizeof *keys);
    struct buf b;
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->k = k;
    buf_init(&b, 0);
    if (!keys)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        buf_reset(&b);
        for (size_t j = 0; j < q->n && !rc; j++)
            rc = put_quasi(&b, &t->rows[i], q->col[j]);
        if (rc || !(keys[i] = strdup(buf_str(&b)))) {
            rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
            goto out;
        }
    }
    qsort(keys, t->n, sizeof *keys, pstr_cmp);
    for (size_t i = 0, j = 0; i < t->n; i = j) {
        for (j = i + 1; j < t->n && !strcmp(keys[i], keys[j]); j++)
            ;
        out->groups++;
        if (j - i < k) {
            out->violating_groups++;
            out->violating_records += j - i;
        }
    }
out:
    for (size_t i = 0; i < t->n; i++)
        free(keys[i]);
    free(keys);
    buf_free(&b);
    return rc;
}

/* Jaccard distance of two code lists taken as sets. */
static double jaccard(char *const *a, size_t na, char *const *b, size_t nb)
{
    size_t inter = 0, ua = 0;

    if (!na && !nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        int dup = 0, in_b = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(a[i], a[j]);
        if (dup)
            continue;
        ua++;
        for (size_t j = 0; j < nb && !in_b; j++)
            in_b = !strcmp(a[i], b[j]);
        inter += (size_t)in_b;
    }
    for (size_t i = 0; i < nb; i++) {
        int dup = 0, in_a = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(b[i], b[j]);
        for (size_t j = 0; j < na && !in_a && !dup; j++)
            in_a = !strcmp(b[i], a[j]);
        ua += (size_t)(!dup && !in_a);
    }
    return 1.0 - (double)inter / (double)ua;
}

double eval_row_distance(const struct eval_row *a, const struct eval_row *b)
{
    double d = 0;
    for (int c = 0; c < EVAL_NCAT; c++)
        d += strcmp(eval_row_cat(a, (enum eval_cat)c), eval_row_cat(b, (enum eval_cat)c)) != 0;
    d += a->expire != b->expire;
    d += jaccard(a->icd9, a->nicd9, b->icd9, b->nicd9);
    d += jaccard(a->cpt, a->ncpt, b->cpt, b->ncpt);
    return d / 8.0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int eval_dcr(const struct eval_table *real, const struct eval_table *syn, struct eval_dcr *out,
             struct error *err)
{
    double *best = NULL, sum = 0;

    out->mean = out->median = out->min = out->exact_match_rate = NAN;
    out->exact_matches = 0;
    if (!real->n || !syn->n)
        return 0;
    if (!(best = malloc(syn->n * sizeof *best)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    for (size_t i = 0; i < syn->n; i++) {
        best[i] = 2;
        for (size_t j = 0; j < real->n && best[i] > 0; j++) {
            double d = eval_row_distance(&syn->rows[i], &real->rows[j]);
            best[i] = d < best[i] ? d : best[i];
        }
        sum += best[i];
        out->exact_matches += best[i] == 0;
    }
    qsort(best, syn->n, sizeof *best, dbl_cmp);
    out->min = best[0];
    out->median = syn->n % 2 ? best[syn->n / 2] : (best[syn->n / 2 - 1] + best[syn->n / 2]) / 2;
    out->mean = sum / (double)syn->n;
    out->exact_match_rate = (double)out->exact_matches / (double)syn->n;
    free(best);
    return 0;
}
