/* report.c - computes the evaluation metrics and writes report.json and report.md. */
#include "eval/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/buf.h"

static const size_t k_values[EVAL_NK] = {7, 15};

static double mortality(const struct eval_table *t)
{
    double d = 0, n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->rows[i].expire < 0)
            continue;
        n += 1;
        d += t->rows[i].expire == 1;
    }
    return n > 0 ? d / n : NAN;
}

static int compute_features(const struct eval_table *real, const struct eval_table *syn, struct eval_report *out,
                            struct error *err)
{
    for (int f = 0; f < EVAL_NFEATURES; f++) {
        struct eval_dist a, b;
        int rc = eval_feature_dist(real, (enum eval_feature)f, &a, err);
        if (rc)
            return rc;
        if ((rc = eval_feature_dist(syn, (enum eval_feature)f, &b, err)) != 0) {
            eval_dist_free(&a);
            return rc;
        }
        out->ks[f] = eval_ks(&a, &b);
        out->tvd[f] = eval_tvd(&a, &b);
        out->real_cats[f] = a.n;
        out->syn_cats[f] = b.n;
        eval_dist_free(&a);
        eval_dist_free(&b);
    }
    return 0;
}

int eval_compute(const struct eval_table *real, const struct eval_table *syn, const struct eval_quasi *q,
                 struct eval_report *out, struct error *err)
{
    int rc = 0;

    out->real_rows = real->n;
    out->syn_rows = syn->n;
    out->quasi = *q;
    if ((rc = compute_features(real, syn, out, err)) != 0)
        return rc;
    for (int p = 0; p < EVAL_NPAIRS; p++)
        if ((rc = eval_mmd2(real, syn, (enum eval_pair)p, &out->mmd2[p], err)) != 0)
            return rc;
    if ((rc = eval_top_icd9(real, syn, &out->top, err)) != 0)
        return rc;
    out->mortality_real = mortality(real);
    out->mortality_syn = mortality(syn);
    for (int k = 0; k < EVAL_NK; k++)
        if ((rc = eval_kanonymity(syn, q, k_values[k], &out->kanon[k], err)) != 0)
            return rc;
    return eval_dcr(real, syn, &out->dcr, err);
}

/* A number, or null for NaN. */
static cJSON *num(cJSON *o, const char *name, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(o, name, v) : cJSON_AddNullToObject(o, name);
}

static void json_fidelity(cJSON *root, const struct eval_report *r)
{
    cJSON *fid = cJSON_AddObjectToObject(root, "fidelity");
    cJSON *feat = cJSON_AddObjectToObject(fid, "features");
    cJSON *mmd = cJSON_AddObjectToObject(fid, "mmd2");
    cJSON *top = cJSON_AddArrayToObject(fid, "top15_icd9");
    cJSON *other = cJSON_AddObjectToObject(fid, "top15_other");
    cJSON *mort = cJSON_AddObjectToObject(fid, "mortality");

    for (int f = 0; f < EVAL_NFEATURES; f++) {
        cJSON *o = cJSON_AddObjectToObject(feat, eval_feature_name((enum eval_feature)f));
        num(o, "ks", r->ks[f]);
        num(o, "tvd", r->tvd[f]);
        cJSON_AddNumberToObject(o, "real_categories", (double)r->real_cats[f]);
        cJSON_AddNumberToObject(o, "synthetic_categories", (double)r->syn_cats[f]);
    }
    for (int p = 0; p < EVAL_NPAIRS; p++)
        num(mmd, eval_pair_name((enum eval_pair)p), r->mmd2[p]);
    for (size_t i = 0; i < r->top.n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(top, o)) {
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddStringToObject(o, "code", r->top.code[i]);
        cJSON_AddNumberToObject(o, "real", r->top.real[i]);
        cJSON_AddNumberToObject(o, "synthetic", r->top.syn[i]);
    }
    cJSON_AddNumberToObject(other, "real", r->top.real_other);
    cJSON_AddNumberToObject(other, "synthetic", r->top.syn_other);
    num(mort, "real", r->mortality_real);
    num(mort, "synthetic", r->mortality_syn);
}

static void json_privacy(cJSON *root, const struct eval_report *r)
{
    cJSON *priv = cJSON_AddObjectToObject(root, "privacy");
    cJSON *qi = cJSON_AddArrayToObject(priv, "quasi_identifiers");
    cJSON *ka = cJSON_AddArrayToObject(priv, "k_anonymity");
    cJSON *dcr = cJSON_AddObjectToObject(priv, "dcr");

    for (size_t i = 0; i < r->quasi.n; i++)
        cJSON_AddItemToArray(qi, cJSON_CreateString(eval_quasi_name(r->quasi.col[i])));
    for (int k = 0; k < EVAL_NK; k++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(ka, o)) {
            cJSON_Delete(o);
            continue;
        }
        cJSON_AddNumberToObject(o, "k", (double)r->kanon[k].k);
        cJSON_AddNumberToObject(o, "groups", (double)r->kanon[k].groups);
        cJSON_AddNumberToObject(o, "violating_groups", (double)r->kanon[k].violating_groups);
        cJSON_AddNumberToObject(o, "violating_records", (double)r->kanon[k].violating_records);
    }
    num(dcr, "mean", r->dcr.mean);
    num(dcr, "median", r->dcr.median);
    num(dcr, "min", r->dcr.min);
    cJSON_AddNumberToObject(priv, "exact_matches", (double)r->dcr.exact_matches);
    num(priv, "exact_match_rate", r->dcr.exact_match_rate);
}

/* Writes text to dir/name through name.tmp and a rename; 0 or LLMSYN_E_OUTPUT. */
static int write_file(const char *dir, const char *name, const char *text, struct error *err)
{
    char path[4096], tmp[4200];
    FILE *fp = NULL;
    int bad = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(fp = fopen(tmp, "w")))
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno));
    bad = fputs(text, fp) < 0;
    bad |= ferror(fp) != 0;
    bad |= fclose(fp) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

int eval_write_json(const char *dir, const struct eval_report *r, const char *const *plots, size_t nplots,
                    struct error *err)
{
    cJSON *root = cJSON_CreateObject(), *in = NULL, *pl = NULL;
    char *text = NULL;
    int rc = 0;

    if (!root)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    cJSON_AddStringToObject(root, "format", "llmsyn-fhir-eval/1");
    in = cJSON_AddObjectToObject(root, "inputs");
    cJSON_AddStringToObject(in, "real", r->real_path ? r->real_path : "");
    cJSON_AddStringToObject(in, "synthetic", r->syn_path ? r->syn_path : "");
    cJSON_AddNumberToObject(in, "real_rows", (double)r->real_rows);
    cJSON_AddNumberToObject(in, "synthetic_rows", (double)r->syn_rows);
    json_fidelity(root, r);
    json_privacy(root, r);
    pl = cJSON_AddArrayToObject(root, "plots");
    for (size_t i = 0; i < nplots; i++)
        cJSON_AddItemToArray(pl, cJSON_CreateString(plots[i]));
    if (!(text = cJSON_Print(root)))
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
    else
        rc = write_file(dir, "report.json", text, err);
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

static void fmt(char *out, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(out, cap, "%.4f", v);
    else
        snprintf(out, cap, "n/a");
}

static int md_fidelity(struct buf *b, const struct eval_report *r)
{
    char x[32], y[32];
    int rc = buf_puts(b, "## Fidelity\n\n| feature | K-S | TVD | real categories | synthetic categories |\n"
                         "|---|---|---|---|---|\n");
    for (int f = 0; f < EVAL_NFEATURES; f++) {
        fmt(x, sizeof x, r->ks[f]);
        fmt(y, sizeof y, r->tvd[f]);
        rc |= buf_printf(b, "| %s | %s | %s | %zu | %zu |\n", eval_feature_name((enum eval_feature)f), x, y,
                         r->real_cats[f], r->syn_cats[f]);
    }
    rc |= buf_puts(b, "\n| MMD² (Gaussian kernel, one-hot pairs) | value |\n|---|---|\n");
    for (int p = 0; p < EVAL_NPAIRS; p++) {
        fmt(x, sizeof x, r->mmd2[p]);
        rc |= buf_printf(b, "| %s | %s |\n", eval_pair_name((enum eval_pair)p), x);
    }
    rc |= buf_puts(b, "\n### Top-15 ICD-9 codes of the real data (share of all code occurrences)\n\n"
                      "| code | real | synthetic |\n|---|---|---|\n");
    for (size_t i = 0; i < r->top.n; i++)
        rc |= buf_printf(b, "| %s | %.4f | %.4f |\n", r->top.code[i], r->top.real[i], r->top.syn[i]);
    rc |= buf_printf(b, "| (all other codes) | %.4f | %.4f |\n", r->top.real_other, r->top.syn_other);
    fmt(x, sizeof x, r->mortality_real);
    fmt(y, sizeof y, r->mortality_syn);
    rc |= buf_printf(b, "\n### In-hospital mortality\n\n| real | synthetic |\n|---|---|\n| %s | %s |\n\n", x, y);
    return rc;
}

static int md_privacy(struct buf *b, const struct eval_report *r)
{
    char x[32], y[32], z[32], w[32];
    int rc = buf_puts(b, "## Privacy\n\nk-anonymity of the synthetic table, quasi-identifiers:");
    for (size_t i = 0; i < r->quasi.n; i++)
        rc |= buf_printf(b, "%s %s", i ? "," : "", eval_quasi_name(r->quasi.col[i]));
    rc |= buf_puts(b, "\n\n| k | groups | groups below k | records in them |\n|---|---|---|---|\n");
    for (int k = 0; k < EVAL_NK; k++)
        rc |= buf_printf(b, "| %zu | %zu | %zu | %zu |\n", r->kanon[k].k, r->kanon[k].groups,
                         r->kanon[k].violating_groups, r->kanon[k].violating_records);
    fmt(x, sizeof x, r->dcr.mean);
    fmt(y, sizeof y, r->dcr.median);
    fmt(z, sizeof z, r->dcr.min);
    fmt(w, sizeof w, r->dcr.exact_match_rate);
    rc |= buf_printf(b, "\n| distance to closest real record | mean | median | min | exact matches | exact-match rate |\n"
                        "|---|---|---|---|---|---|\n| (0 = identical, 1 = nothing shared) | %s | %s | %s | %zu | %s |\n\n",
                     x, y, z, r->dcr.exact_matches, w);
    return rc;
}

int eval_write_md(const char *dir, const struct eval_report *r, const char *const *plots, size_t nplots,
                  struct error *err)
{
    struct buf b;
    int rc = 0, bad = 0;

    buf_init(&b, 0);
    bad |= buf_printf(&b, "# llmsyn-fhir evaluation report\n\nReal: `%s` (%zu admissions). Synthetic: `%s` (%zu records).\n"
                          "Metrics and encodings: docs/evaluation.md.\n\n",
                      r->real_path ? r->real_path : "", r->real_rows, r->syn_path ? r->syn_path : "", r->syn_rows);
    bad |= md_fidelity(&b, r);
    bad |= md_privacy(&b, r);
    if (nplots)
        bad |= buf_puts(&b, "## Plots\n\n");
    for (size_t i = 0; i < nplots; i++)
        bad |= buf_printf(&b, "![%s](%s)\n\n", plots[i], plots[i]);
    rc = bad ? (int)error_set(err, LLMSYN_E_NOMEM, "out of memory") : write_file(dir, "report.md", buf_str(&b), err);
    buf_free(&b);
    return rc;
}
