/* synthetic.c - reads llmsyn-fhir output back into the flat evaluation table. */
#include "eval/synthetic.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "util/csv.h"
#include "util/limits.h"

struct ref_idx {
    char *ref;  /* "urn:uuid:ID" or "Patient/ID"; owned */
    size_t row;
};

struct ndjson_ctx {
    struct eval_table *t;
    struct ref_idx *refs; /* owned, sorted */
    size_t nrefs, cap;
};

static const char *str_at(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* "text" sub-extension of an extension, or NULL. */
static const char *ext_text(const cJSON *ext)
{
    const cJSON *sub = NULL;
    cJSON_ArrayForEach(sub, cJSON_GetObjectItemCaseSensitive(ext, "extension")) {
        const char *url = str_at(sub, "url");
        if (url && !strcmp(url, "text"))
            return str_at(sub, "valueString");
    }
    return NULL;
}

static const char *ethnicity_of(const cJSON *pat, const char **religion)
{
    const char *race = NULL, *eth = NULL;
    const cJSON *ext = NULL;

    cJSON_ArrayForEach(ext, cJSON_GetObjectItemCaseSensitive(pat, "extension")) {
        const char *url = str_at(ext, "url");
        if (!url)
            continue;
        if (strstr(url, "us-core-race"))
            race = ext_text(ext);
        else if (strstr(url, "us-core-ethnicity"))
            eth = ext_text(ext);
        else if (strstr(url, "patient-religion"))
            *religion = str_at(cJSON_GetObjectItemCaseSensitive(ext, "valueCodeableConcept"), "text");
    }
    return race ? race : eth;
}

static int apply_patient(const cJSON *pat, struct eval_row *row, struct error *err)
{
    const char *religion = NULL, *eth = ethnicity_of(pat, &religion), *g = str_at(pat, "gender");
    const cJSON *comm = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pat, "communication"), 0);
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(pat, "deceasedBoolean");
    const char *lang = str_at(cJSON_GetObjectItemCaseSensitive(comm, "language"), "text");
    const char *mar = str_at(cJSON_GetObjectItemCaseSensitive(pat, "maritalStatus"), "text");

    if (eval_row_set_cat(row, EVAL_ETHNICITY, eth, err) || eval_row_set_cat(row, EVAL_RELIGION, religion, err) ||
        eval_row_set_cat(row, EVAL_LANGUAGE, lang, err) || eval_row_set_cat(row, EVAL_MARITAL_STATUS, mar, err))
        return err->code;
    if (g && eval_row_set_gender(row, !strcmp(g, "male") ? "M" : !strcmp(g, "female") ? "F" : "", err))
        return err->code;
    if (str_at(pat, "deceasedDateTime"))
        row->expire = 1;
    else if (cJSON_IsBool(dec))
        row->expire = cJSON_IsTrue(dec) ? 1 : 0;
    return 0;
}

/* The code of a CodeableConcept: the coding whose system contains `sys` (any when NULL), else text. */
static const char *concept_code(const cJSON *cc, const char *sys)
{
    const cJSON *c = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(cc, "coding")) {
        const char *s = str_at(c, "system"), *code = str_at(c, "code");
        if (code && (!sys || (s && strstr(s, sys))))
            return code;
    }
    return str_at(cc, "text");
}

/* Applies one resource of a record to its row. */
static int apply_resource(const cJSON *res, struct eval_row *row, struct error *err)
{
    const char *type = str_at(res, "resourceType"), *code = NULL;

    if (!type)
        return 0;
    if (!strcmp(type, "Patient"))
        return apply_patient(res, row, err);
    if (!strcmp(type, "Coverage")) {
        const char *ins = str_at(cJSON_GetObjectItemCaseSensitive(res, "type"), "text");
        return ins ? eval_row_set_cat(row, EVAL_INSURANCE, ins, err) : 0;
    }
    if (!strcmp(type, "Condition")) {
        code = concept_code(cJSON_GetObjectItemCaseSensitive(res, "code"), "icd-9");
        return code ? eval_row_add_icd9(row, code, err) : 0;
    }
    if (!strcmp(type, "Procedure")) {
        code = concept_code(cJSON_GetObjectItemCaseSensitive(res, "code"), NULL);
        return code ? eval_row_add_cpt(row, code, err) : 0;
    }
    return 0;
}

/* Reads a whole file (at most max bytes); caller frees. */
static char *slurp(const char *path, size_t max, size_t *len, struct error *err)
{
    FILE *fp = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0;

    if (!fp) {
        error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    data = malloc(max + 1);
    if (!data) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    n = fread(data, 1, max + 1, fp);
    if (n > max) {
        error_set(err, LLMSYN_E_INPUT, "%s: larger than SYN_MAX_FILE (%zu MiB)", path, max >> 20);
        free(data);
        data = NULL;
        goto out;
    }
    if (ferror(fp)) {
        error_set(err, LLMSYN_E_INPUT, "%s: read error", path);
        free(data);
        data = NULL;
        goto out;
    }
    data[n] = '\0';
    *len = n;
out:
    fclose(fp);
    return data;
}

static int read_bundle(const char *path, struct eval_table *t, struct error *err)
{
    size_t len = 0;
    char *text = slurp(path, SYN_MAX_FILE, &len, err);
    cJSON *root = NULL;
    const cJSON *e = NULL;
    struct eval_row *row = NULL;
    int rc = 0;

    if (!text)
        return err->code;
    root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "entry"))) {
        rc = error_set(err, LLMSYN_E_INPUT, "%s: not a FHIR Bundle with an entry array", path);
        goto out;
    }
    if (!(row = eval_table_add(t, err))) {
        rc = err->code;
        goto out;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "entry"))
        if ((rc = apply_resource(cJSON_GetObjectItemCaseSensitive(e, "resource"), row, err)) != 0)
            goto out;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_record_name(const char *n)
{
    size_t l = strlen(n);
    return l > 12 && !strncmp(n, "record-", 7) && !strcmp(n + l - 5, ".json");
}

static int read_bundle_dir(const char *dir, struct eval_table *t, struct error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de = NULL;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_record_name(de->d_name))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *nn);
            if (!nn) { rc = error_set(err, LLMSYN_E_NOMEM, "out of memory"); goto out; }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) { rc = error_set(err, LLMSYN_E_NOMEM, "out of memory"); goto out; }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = read_bundle(path, t, err);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* ---- NDJSON: Patients first, then the resources that point at them ---- */

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ref_idx *)a)->ref, ((const struct ref_idx *)b)->ref);
}

static int add_ref(struct ndjson_ctx *c, const char *prefix, const char *id, size_t row, struct error *err)
{
    size_t len = strlen(prefix) + strlen(id) + 1;

    if (c->nrefs == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct ref_idx *n = realloc(c->refs, cap * sizeof *n);
        if (!n)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory");
        c->refs = n;
        c->cap = cap;
    }
    c->refs[c->nrefs].ref = malloc(len);
    if (!c->refs[c->nrefs].ref)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    snprintf(c->refs[c->nrefs].ref, len, "%s%s", prefix, id);
    c->refs[c->nrefs++].row = row;
    return 0;
}

static struct eval_row *row_of(struct ndjson_ctx *c, const cJSON *res, const char *member)
{
    struct ref_idx k = {NULL, 0};
    const struct ref_idx *f = NULL;

    k.ref = (char *)(uintptr_t)str_at(cJSON_GetObjectItemCaseSensitive(res, member), "reference");
    if (!k.ref)
        return NULL;
    f = bsearch(&k, c->refs, c->nrefs, sizeof k, ref_cmp);
    return f ? &c->t->rows[f->row] : NULL;
}

static int ndjson_line(struct ndjson_ctx *c, const cJSON *res, int patients, struct error *err)
{
    struct eval_row *row = NULL;
    const char *type = str_at(res, "resourceType"), *id = str_at(res, "id");

    if (patients) {
        if (!type || strcmp(type, "Patient") || !id)
            return LLMSYN_E_INPUT;
        if (!(row = eval_table_add(c->t, err)))
            return err->code;
        if (add_ref(c, "urn:uuid:", id, c->t->n - 1, err) || add_ref(c, "Patient/", id, c->t->n - 1, err))
            return err->code;
        return apply_resource(res, row, err);
    }
    row = row_of(c, res, type && !strcmp(type, "Coverage") ? "beneficiary" : "subject");
    return row ? apply_resource(res, row, err) : 0;
}

static int read_ndjson_file(struct ndjson_ctx *c, const char *path, int patients, struct error *err)
{
    FILE *fp = fopen(path, "rb");
    struct buf line; /* owned; at most SYN_MAX_LINE bytes */
    unsigned long lineno = 0;
    int rc = 0, too_long = 0;

    if (!fp)
        return patients ? error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)) : 0;
    buf_init(&line, SYN_MAX_LINE);
    while (limits_read_line(fp, &line, SYN_MAX_LINE, &too_long) > 0) {
        cJSON *res = NULL;
        char what[512];
        lineno++;
        if (too_long) {
            rc = error_set(err, LLMSYN_E_INPUT, "%s:%lu: line exceeds SYN_MAX_LINE (%zu MiB)", path, lineno,
                           SYN_MAX_LINE >> 20);
            break;
        }
        snprintf(what, sizeof what, "%.400s:%lu", path, lineno);
        res = limits_json_parse(line.data, line.len, what, LLMSYN_E_INPUT, err);
        if (err->code != LLMSYN_OK) {
            rc = err->code;
            break;
        }
        if (!cJSON_IsObject(res))
            rc = error_set(err, LLMSYN_E_INPUT, "%s:%lu: not a JSON object", path, lineno);
        else if ((rc = ndjson_line(c, res, patients, err)) == LLMSYN_E_INPUT && err->code == LLMSYN_OK)
            rc = error_set(err, LLMSYN_E_INPUT, "%s:%lu: not a Patient with an id", path, lineno);
        cJSON_Delete(res);
        if (rc)
            break;
    }
    if (!rc && ferror(fp))
        rc = error_set(err, LLMSYN_E_INPUT, "%s: read error", path);
    buf_free(&line);
    fclose(fp);
    return rc;
}

static int read_ndjson(const char *dir, struct eval_table *t, struct error *err)
{
    static const char *const others[] = {"Condition", "Procedure", "Coverage"};
    struct ndjson_ctx c = {t, NULL, 0, 0};
    char path[4096];
    int rc = 0;

    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    if ((rc = read_ndjson_file(&c, path, 1, err)) != 0)
        goto out;
    if (c.nrefs)
        qsort(c.refs, c.nrefs, sizeof *c.refs, ref_cmp);
    for (size_t i = 0; i < 3 && !rc; i++) {
        snprintf(path, sizeof path, "%s/%s.ndjson", dir, others[i]);
        rc = read_ndjson_file(&c, path, 0, err);
    }
out:
    for (size_t i = 0; i < c.nrefs; i++)
        free(c.refs[i].ref);
    free(c.refs);
    return rc;
}

/* ---- flat CSV ---- */

static int csv_row(struct csv_reader *r, const int *col, struct eval_table *t, struct error *err)
{
    struct eval_row *row = eval_table_add(t, err);
    const char *flag = NULL;
    char *list = NULL, *p = NULL;
    int rc = 0;

    if (!row)
        return err->code;
    for (int k = 0; k < EVAL_NCAT && !rc; k++)
        rc = eval_row_set_cat(row, (enum eval_cat)k, col[k] >= 0 ? csv_field(r, (size_t)col[k]) : "", err);
    flag = col[5] >= 0 ? csv_field(r, (size_t)col[5]) : "";
    row->expire = !strcmp(flag, "1") ? 1 : !strcmp(flag, "0") ? 0 : -1;
    if (!rc && col[6] >= 0)
        rc = eval_row_add_icd9(row, csv_field(r, (size_t)col[6]), err);
    for (int k = 7; k <= 8 && !rc; k++) {
        if (col[k] < 0)
            continue;
        if (!(list = strdup(csv_field(r, (size_t)col[k]))))
            return error_set(err, LLMSYN_E_NOMEM, "out of memory");
        for (p = list; p && !rc;) {
            char *semi = strchr(p, ';');
            if (semi)
                *semi = '\0';
            rc = k == 7 ? eval_row_add_icd9(row, p, err) : eval_row_add_cpt(row, p, err);
            p = semi ? semi + 1 : NULL;
        }
        free(list);
    }
    if (!rc && col[9] >= 0)
        rc = eval_row_set_gender(row, csv_field(r, (size_t)col[9]), err);
    return rc;
}

static int read_flat_csv(const char *path, struct eval_table *t, struct error *err)
{
    static const char *const names[] = {"LANGUAGE", "RELIGION", "MARITAL_STATUS", "ETHNICITY", "INSURANCE",
                                        "HOSPITAL_EXPIRE_FLAG", "ICD9_CODE", "COMPLICATION_CODES", "CPT_CD",
                                        "GENDER"};
    struct csv_reader r;
    char **hdr = NULL;
    size_t nh = 0;
    int col[10], rc = 0;

    if ((rc = csv_open(&r, path, 0, 0, err)) != 0)
        goto out;
    if (csv_read_header(&r, err) || !(hdr = csv_copy_fields(&r))) {
        rc = err->code ? err->code : error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    nh = csv_nfields(&r);
    for (int i = 0; i < 10; i++)
        col[i] = csv_column(hdr, nh, names[i]);
    if (col[6] < 0) {
        rc = error_set(err, LLMSYN_E_INPUT, "%s:1: no column 'ICD9_CODE'", path);
        goto out;
    }
    while ((rc = csv_next(&r, err)) == 1)
        if ((rc = csv_row(&r, col, t, err)) != 0)
            goto out;
    rc = rc < 0 ? err->code : 0;
out:
    csv_strings_free(&hdr, nh);
    csv_close(&r);
    return rc;
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int synthetic_read(const char *path, struct eval_table *t, struct error *err)
{
    struct stat st;
    char csv[4096];

    if (stat(path, &st) != 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISREG(st.st_mode))
        return read_flat_csv(path, t, err);
    if (exists(path, "records.csv")) {
        snprintf(csv, sizeof csv, "%s/records.csv", path);
        return read_flat_csv(csv, t, err);
    }
    if (exists(path, "Patient.ndjson"))
        return read_ndjson(path, t, err);
    return read_bundle_dir(path, t, err);
}
