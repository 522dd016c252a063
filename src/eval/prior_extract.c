/* prior_extract.c - real table -> prior JSON of aggregates only, every cell below --min-cell suppressed. */
#include "eval/prior_extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "eval/fidelity.h"
#include "prior/prior.h"

static const struct { int min, max; } age_bins[] = {{0, 17}, {18, 34}, {35, 49}, {50, 64}, {65, 79}, {80, 89}};

/* Adds a categorical marginal of t's column to obj; 0 or status. */
static int add_marginal(cJSON *obj, const char *name, const char *const *vals, size_t n, long min_cell,
                        struct prior_extract_stats *st, struct error *err)
{
    struct eval_dist d;
    cJSON *m = cJSON_AddObjectToObject(obj, name);
    double other = 0;
    int rc = 0;

    if (!m)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    if ((rc = eval_dist_from(vals, n, &d, err)) != 0)
        return rc;
    other = eval_dist_count(&d, "OTHER");
    for (size_t i = 0; i < d.n; i++) {
        if (!d.key[i][0] || !strcmp(d.key[i], "OTHER"))
            continue;
        if (d.count[i] < (double)min_cell) {
            other += d.count[i];
            st->suppressed_cells++;
        } else if (!cJSON_AddNumberToObject(m, d.key[i], d.count[i])) {
            rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (other >= (double)min_cell)
        cJSON_AddNumberToObject(m, "OTHER", other);
    else if (other > 0)
        st->suppressed_cells++;
    if (!cJSON_GetArraySize(m))
        rc = error_set(err, LLMSYN_E_INPUT, "demographics.%s: every value is below --min-cell %ld", name, min_cell);
out:
    eval_dist_free(&d);
    return rc;
}

static int add_demographics(cJSON *root, const struct eval_table *t, long min_cell, struct prior_extract_stats *st,
                            struct error *err)
{
    static const char *const names[EVAL_NCAT] = {"language", "religion", "marital_status", "ethnicity", "insurance"};
    cJSON *demo = cJSON_AddObjectToObject(root, "demographics");
    const char **v = malloc((t->n + 1) * sizeof *v);
    int rc = 0;

    if (!demo || !v) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t->n; i++)
        v[i] = t->rows[i].gender ? t->rows[i].gender : "";
    if ((rc = add_marginal(demo, "gender", v, t->n, min_cell, st, err)) != 0)
        goto out;
    for (int c = 0; c < EVAL_NCAT && !rc; c++) {
        for (size_t i = 0; i < t->n; i++)
            v[i] = eval_row_cat(&t->rows[i], (enum eval_cat)c);
        rc = add_marginal(demo, names[c], v, t->n, min_cell, st, err);
    }
out:
    free(v);
    return rc;
}

static int add_ages(cJSON *root, const struct eval_table *t, long min_cell, struct prior_extract_stats *st,
                    struct error *err)
{
    cJSON *demo = cJSON_GetObjectItemCaseSensitive(root, "demographics");
    cJSON *arr = cJSON_AddArrayToObject(demo, "age");
    size_t nb = sizeof age_bins / sizeof age_bins[0];

    if (!arr)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    for (size_t b = 0; b < nb; b++) {
        double n = 0;
        cJSON *o = NULL;
        for (size_t i = 0; i < t->n; i++)
            n += t->rows[i].age >= age_bins[b].min && t->rows[i].age <= age_bins[b].max;
        if (n < (double)min_cell) {
            st->suppressed_cells += n > 0;
            continue;
        }
        if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(arr, o) ||
            !cJSON_AddNumberToObject(o, "min", age_bins[b].min) || !cJSON_AddNumberToObject(o, "max", age_bins[b].max) ||
            !cJSON_AddNumberToObject(o, "weight", n))
            return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    }
    if (!cJSON_GetArraySize(arr))
        return error_set(err, LLMSYN_E_INPUT, "demographics.age: every age bin is below --min-cell %ld", min_cell);
    return 0;
}

/* Deaths and admissions (known flag) among rows whose main diagnosis is code (all rows when NULL). */
static void deaths_of(const struct eval_table *t, const char *code, double *deaths, double *known)
{
    *deaths = *known = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct eval_row *r = &t->rows[i];
        if ((code && strcmp(eval_row_main(r), code)) || r->expire < 0)
            continue;
        *known += 1;
        *deaths += r->expire == 1;
    }
}

/* 1 when code (no dot) has an ICD-9-CM diagnosis shape the prior loader accepts (docs/prior-format.md). */
static int icd9_shape(const char *code)
{
    size_t n = strlen(code), lead = code[0] == 'V' ? 2 : 3;
    size_t start = code[0] == 'V' || code[0] == 'E' ? 1 : 0, maxtail = code[0] == 'E' ? 1 : 2;

    if (n < start + lead || n > start + lead + maxtail)
        return 0;
    for (size_t i = start; i < n; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return 1;
}

static int add_diagnosis(cJSON *arr, const struct eval_table *t, const char *code, double n, long min_cell,
                         struct prior_extract_stats *st)
{
    cJSON *o = cJSON_CreateObject();
    double deaths = 0, known = 0;

    if (!o || !cJSON_AddItemToArray(arr, o))
        return (cJSON_Delete(o), -1);
    if (!cJSON_AddStringToObject(o, "code", code) || !cJSON_AddNumberToObject(o, "weight", n))
        return -1;
    deaths_of(t, code, &deaths, &known);
    if (deaths >= (double)min_cell && known - deaths >= (double)min_cell) {
        if (!cJSON_AddNumberToObject(o, "mortality", deaths / known))
            return -1;
    } else {
        st->suppressed_cells++;
    }
    st->diagnoses++;
    return 0;
}

static int add_diagnoses(cJSON *root, const struct eval_table *t, long min_cell, struct prior_extract_stats *st,
                         struct error *err)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "diagnoses");
    const char **v = malloc((t->n + 1) * sizeof *v);
    struct eval_dist d;
    int rc = 0;

    memset(&d, 0, sizeof d);
    if (!arr || !v) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < t->n; i++)
        v[i] = eval_row_main(&t->rows[i]);
    if ((rc = eval_dist_from(v, t->n, &d, err)) != 0)
        goto out;
    for (size_t i = 0; i < d.n && !rc; i++) {
        if (!d.key[i][0])
            continue;
        if (d.count[i] < (double)min_cell || !icd9_shape(d.key[i]))
            st->suppressed_cells++;
        else if (add_diagnosis(arr, t, d.key[i], d.count[i], min_cell, st))
            rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
    }
    if (!rc && !st->diagnoses)
        rc = error_set(err, LLMSYN_E_INPUT, "diagnoses: every main diagnosis is below --min-cell %ld", min_cell);
out:
    eval_dist_free(&d);
    free(v);
    return rc;
}

static int add_header(cJSON *root, const struct eval_table *t, long min_cell, const char *source, struct error *err)
{
    double deaths = 0, known = 0;

    deaths_of(t, NULL, &deaths, &known);
    if (deaths < (double)min_cell || known - deaths < (double)min_cell)
        return error_set(err, LLMSYN_E_INPUT, "mortality: deaths or survivors below --min-cell %ld", min_cell);
    if (!cJSON_AddStringToObject(root, "_note", "aggregates only (llmsyn-fhir prior extract): counts of at least "
                                 "_min_cell admissions; smaller cells left out or pooled into OTHER") ||
        !cJSON_AddStringToObject(root, "source", source) || !cJSON_AddNumberToObject(root, "mortality", deaths / known))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    return 0;
}

char *prior_extract_json(const struct eval_table *t, long min_cell, const char *source,
                         struct prior_extract_stats *st, struct error *err)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    struct prior *check = NULL;

    memset(st, 0, sizeof *st);
    st->admissions = t->n;
    if (!root) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (min_cell < 1) {
        error_set(err, LLMSYN_E_USAGE, "--min-cell must be at least 1");
        goto out;
    }
    if (add_header(root, t, min_cell, source, err) || add_diagnoses(root, t, min_cell, st, err) ||
        add_demographics(root, t, min_cell, st, err) || add_ages(root, t, min_cell, st, err))
        goto out;
    if (!cJSON_AddNumberToObject(root, "_min_cell", (double)min_cell) ||
        !cJSON_AddNumberToObject(root, "_suppressed_cells", (double)st->suppressed_cells) ||
        !(text = cJSON_Print(root))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    check = prior_parse(text, strlen(text), "extracted prior", err);
    if (!check) {
        free(text);
        text = NULL;
    }
out:
    prior_free(&check);
    cJSON_Delete(root);
    return text;
}
