/* compare.c - counts procedures per medical-service category for pneumonia, sepsis and CAD; writes the report. */
#include "eval/compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "out/sink.h"
#include "util/buf.h"

/* ICD-9-CM codes by prefix (without dot), SNOMED CT codes exactly; NULL-terminated. docs/compare.md. */
static const char *const pneumonia_icd9[] = {"480", "481", "482", "483", "484", "485", "486", "4870", NULL};
static const char *const pneumonia_snomed[] = {"233604007", "385093006", "53084003", "75570004",
                                               "233607000", "278516003", NULL};
static const char *const sepsis_icd9[] = {"038", "99591", "99592", "78552", NULL};
static const char *const sepsis_snomed[] = {"91302008", "76571007", "770349000", "10001005", NULL};
static const char *const cad_icd9[] = {"411", "413", "414", NULL};
static const char *const cad_snomed[] = {"53741008", "414545008", "194828000", NULL};

static const struct {
    const char *key, *title;
    const char *const *icd9, *const *snomed;
} diseases[CMP_NDISEASES] = {
    {"pneumonia", "Pneumonia", pneumonia_icd9, pneumonia_snomed},
    {"sepsis", "Sepsis", sepsis_icd9, sepsis_snomed},
    {"coronary_artery_disease", "Coronary artery disease", cad_icd9, cad_snomed},
};

static const char *const source_keys[CMP_NSOURCES] = {"synthea", "llmsyn-fhir", "real"};
static const char *const source_titles[CMP_NSOURCES] = {"Synthea", "llmsyn-fhir", "Real (MIMIC-III format)"};

const char *compare_source_key(enum compare_source s)
{
    return (unsigned)s < CMP_NSOURCES ? source_keys[s] : "invalid";
}

const char *compare_source_title(enum compare_source s)
{
    return (unsigned)s < CMP_NSOURCES ? source_titles[s] : "invalid";
}

const char *compare_disease_key(enum compare_disease d)
{
    return (unsigned)d < CMP_NDISEASES ? diseases[d].key : "invalid";
}

const char *compare_disease_title(enum compare_disease d)
{
    return (unsigned)d < CMP_NDISEASES ? diseases[d].title : "invalid";
}

int compare_disease_has(enum compare_disease d, const char *code, int snomed)
{
    char norm[64];
    const char *const *set;
    size_t i;

    if ((unsigned)d >= CMP_NDISEASES || !code)
        return 0;
    eval_code_normalise(code, norm, sizeof norm);
    if (!norm[0])
        return 0;
    set = snomed ? diseases[d].snomed : diseases[d].icd9;
    for (i = 0; set[i]; i++) {
        if (snomed ? !strcmp(norm, set[i]) : !strncmp(norm, set[i], strlen(set[i])))
            return 1;
    }
    return 0;
}

static int row_has(const struct eval_row *row, enum compare_disease d, int snomed)
{
    size_t i;

    for (i = 0; i < row->nicd9; i++)
        if (compare_disease_has(d, row->icd9[i], snomed))
            return 1;
    return 0;
}

void compare_count(struct compare_result *r, enum compare_source src, const struct eval_table *t, int snomed,
                   const struct services *svc)
{
    size_t i, k;
    int d;

    if (!r || (unsigned)src >= CMP_NSOURCES || !t)
        return;
    r->present[src] = 1;
    r->rows[src] += t->n;
    for (i = 0; i < t->n; i++) {
        const struct eval_row *row = &t->rows[i];

        for (d = 0; d < CMP_NDISEASES; d++) {
            struct compare_cell *cell = &r->cell[d][src];

            if (!row_has(row, (enum compare_disease)d, snomed))
                continue;
            cell->episodes++;
            for (k = 0; k < row->ncpt; k++) {
                enum service_category c = snomed ? services_snomed(svc, row->cpt[k]) : services_cpt(svc, row->cpt[k]);

                cell->count[c]++;
                cell->procedures++;
            }
        }
    }
}

double compare_share(const struct compare_cell *cell, enum service_category c)
{
    if (!cell || !cell->procedures || (unsigned)c >= SVC_COUNT)
        return 0.0;
    return (double)cell->count[c] / (double)cell->procedures;
}

/* ---- report.json ---- */

static cJSON *add_obj(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_CreateObject();

    if (o && !cJSON_AddItemToObject(parent, key, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *add_arr(cJSON *parent, const char *key)
{
    cJSON *a = cJSON_CreateArray();

    if (a && !cJSON_AddItemToObject(parent, key, a)) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

static void json_cell(cJSON *parent, const char *key, const struct compare_cell *cell)
{
    cJSON *o = add_obj(parent, key), *counts = add_obj(o, "counts"), *shares = add_obj(o, "shares");
    int c;

    cJSON_AddNumberToObject(o, "episodes", (double)cell->episodes);
    cJSON_AddNumberToObject(o, "procedures", (double)cell->procedures);
    for (c = 0; c < SVC_COUNT; c++) {
        cJSON_AddNumberToObject(counts, services_key((enum service_category)c), (double)cell->count[c]);
        cJSON_AddNumberToObject(shares, services_key((enum service_category)c),
                                compare_share(cell, (enum service_category)c));
    }
}

static void json_codes(cJSON *parent, const char *key, const char *const *set)
{
    cJSON *a = add_arr(parent, key);
    size_t i;

    for (i = 0; set[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(set[i]));
}

static void json_sources(cJSON *root, const struct compare_result *r, const struct compare_meta *m)
{
    cJSON *sources = add_obj(root, "sources"), *o;
    int s;

    for (s = 0; s < CMP_NSOURCES; s++) {
        if (!r->present[s])
            continue;
        o = add_obj(sources, source_keys[s]);
        cJSON_AddStringToObject(o, "path", m->path[s] ? m->path[s] : "");
        cJSON_AddStringToObject(o, "format", m->format[s] ? m->format[s] : "");
        cJSON_AddNumberToObject(o, "episodes", (double)r->rows[s]);
    }
}

static cJSON *report_json(const struct compare_result *r, const struct compare_meta *m)
{
    cJSON *root = cJSON_CreateObject(), *cats, *dis, *o, *srcs;
    int c, d, s;

    cJSON_AddStringToObject(root, "report", "llmsyn-fhir compare");
    cJSON_AddNumberToObject(root, "version", 1);
    json_sources(root, r, m);
    cats = add_arr(root, "categories");
    for (c = 0; c < SVC_COUNT; c++) {
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(cats, o);
        cJSON_AddStringToObject(o, "key", services_key((enum service_category)c));
        cJSON_AddStringToObject(o, "title", services_title((enum service_category)c));
    }
    dis = add_arr(root, "diseases");
    for (d = 0; d < CMP_NDISEASES; d++) {
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(dis, o);
        cJSON_AddStringToObject(o, "key", diseases[d].key);
        cJSON_AddStringToObject(o, "title", diseases[d].title);
        json_codes(o, "icd9_prefixes", diseases[d].icd9);
        json_codes(o, "snomed_codes", diseases[d].snomed);
        srcs = add_obj(o, "sources");
        for (s = 0; s < CMP_NSOURCES; s++)
            if (r->present[s])
                json_cell(srcs, source_keys[s], &r->cell[d][s]);
    }
    return root;
}

/* ---- report.md, compare.dat, compare.gp ---- */

static int md_disease(struct buf *b, const struct compare_result *r, int d)
{
    int s, c, rc = buf_printf(b, "\n## %s\n\n| category |", diseases[d].title);

    for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
        if (r->present[s])
            rc = buf_printf(b, " %s |", source_titles[s]);
    rc = rc ? rc : buf_puts(b, "\n|---|");
    for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
        if (r->present[s])
            rc = buf_puts(b, "---:|");
    rc = rc ? rc : buf_puts(b, "\n| episodes (procedures) |");
    for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
        if (r->present[s])
            rc = buf_printf(b, " %zu (%zu) |", r->cell[d][s].episodes, r->cell[d][s].procedures);
    for (c = 0; rc == 0 && c < SVC_COUNT; c++) {
        rc = buf_printf(b, "\n| %s |", services_title((enum service_category)c));
        for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
            if (r->present[s])
                rc = buf_printf(b, " %.1f%% (%zu) |", 100.0 * compare_share(&r->cell[d][s], (enum service_category)c),
                                r->cell[d][s].count[c]);
    }
    return rc ? rc : buf_putc(b, '\n');
}

static int report_md(struct buf *b, const struct compare_result *r, const struct compare_meta *m)
{
    int d, s, rc = buf_puts(b, "# Procedures by medical-service category: Synthea, llmsyn-fhir and real data\n\n"
                               "Share of the procedure codes of the encounters (Synthea) or admissions that have a "
                               "diagnosis of the disease, per category of the LLMSYN paper's table 6 (count in "
                               "brackets). Code sets, mapping tables and caveats: docs/compare.md.\n\n");

    for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
        if (r->present[s])
            rc = buf_printf(b, "- %s: `%s` (%s, %zu episodes)\n", source_titles[s], m->path[s] ? m->path[s] : "",
                            m->format[s] ? m->format[s] : "", r->rows[s]);
    for (d = 0; rc == 0 && d < CMP_NDISEASES; d++)
        rc = md_disease(b, r, d);
    return rc ? rc : buf_printf(b, "\n![procedures by category](" COMPARE_PLOT_PNG ")\n");
}

/* One block per disease (separated by two blank lines): category, then a share column per source given. */
static int plot_data(struct buf *b, const struct compare_result *r)
{
    int d, c, s, rc = 0;

    for (d = 0; rc == 0 && d < CMP_NDISEASES; d++) {
        if (d)
            rc = buf_puts(b, "\n\n");
        for (c = 0; rc == 0 && c < SVC_COUNT; c++) {
            rc = buf_puts(b, services_title((enum service_category)c));
            for (s = 0; rc == 0 && s < CMP_NSOURCES; s++)
                if (r->present[s])
                    rc = buf_printf(b, "\t%.6f", compare_share(&r->cell[d][s], (enum service_category)c));
            rc = rc ? rc : buf_putc(b, '\n');
        }
    }
    return rc;
}

static int plot_script(struct buf *b, const struct compare_result *r)
{
    int d, s, col, rc = buf_puts(b, "# compare.gp - draws " COMPARE_PLOT_PNG " from compare.dat; run from this folder\n"
                                    "set terminal pngcairo size 1200,1400 font ',10'\n"
                                    "set output '" COMPARE_PLOT_PNG "'\n"
                                    "set datafile separator '\\t'\n"
                                    "set style data histograms\nset style histogram clustered gap 1\n"
                                    "set style fill solid 0.85 border -1\nset yrange [0:1]\n"
                                    "set ylabel 'share of procedures'\nset key top right\n"
                                    "set xtics rotate by -20 scale 0 font ',8'\n"
                                    "set multiplot layout 3,1 title 'Procedures by medical-service category'\n");

    for (d = 0; rc == 0 && d < CMP_NDISEASES; d++) {
        rc = buf_printf(b, "set title '%s'\nplot", diseases[d].title);
        for (s = 0, col = 2; rc == 0 && s < CMP_NSOURCES; s++) {
            if (!r->present[s])
                continue;
            rc = buf_printf(b, "%s 'compare.dat' index %d using %d%s title '%s'", col > 2 ? "," : "", d, col,
                            col == 2 ? ":xtic(1)" : "", source_titles[s]);
            col++;
        }
        rc = rc ? rc : buf_putc(b, '\n');
    }
    return rc ? rc : buf_puts(b, "unset multiplot\n");
}

static int write_in(const char *dir, const char *name, const struct buf *b, struct error *err)
{
    struct buf path = {0};
    int rc;

    if (buf_printf(&path, "%s/%s", dir, name) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    rc = write_file_atomic(buf_str(&path), buf_str(b), b->len, err);
    buf_free(&path);
    return rc;
}

int compare_write_report(const struct compare_result *r, const struct compare_meta *m, const char *dir,
                         struct error *err)
{
    struct buf md = {0}, dat = {0}, gp = {0}, js = {0};
    cJSON *root = NULL; /* owned */
    char *text = NULL;  /* owned, cJSON_free */
    int rc = LLMSYN_OK;

    if (!r || !m || !dir)
        return error_set(err, LLMSYN_E_INTERNAL, "compare_write_report: missing argument");
    root = report_json(r, m);
    text = root ? cJSON_Print(root) : NULL;
    if (!text || buf_puts(&js, text) < 0 || buf_putc(&js, '\n') < 0 || report_md(&md, r, m) < 0 ||
        plot_data(&dat, r) < 0 || plot_script(&gp, r) < 0)
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory building the compare report");
    if (rc == LLMSYN_OK)
        rc = write_in(dir, "report.json", &js, err);
    if (rc == LLMSYN_OK)
        rc = write_in(dir, "report.md", &md, err);
    if (rc == LLMSYN_OK)
        rc = write_in(dir, "compare.dat", &dat, err);
    if (rc == LLMSYN_OK)
        rc = write_in(dir, COMPARE_PLOT_SCRIPT, &gp, err);
    cJSON_free(text);
    cJSON_Delete(root);
    buf_free(&md);
    buf_free(&dat);
    buf_free(&gp);
    buf_free(&js);
    return rc;
}
