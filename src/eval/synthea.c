/* synthea.c - Synthea CSV and FHIR bundle readers: conditions and procedures grouped per encounter. */
#include "eval/synthea.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/csv.h"

/* One condition (or procedure reason) or procedure, waiting to be grouped under its encounter. */
struct item {
    char *encounter; /* owned */
    char *code;      /* owned */
    int procedure;   /* 0: a diagnosis code, 1: a procedure code */
    size_t seq;      /* input order, keeps the grouping stable */
};

struct items {
    struct item *v; /* owned */
    size_t n, cap;
};

static void items_free(struct items *it)
{
    size_t i;

    for (i = 0; i < it->n; i++) {
        free(it->v[i].encounter);
        free(it->v[i].code);
    }
    free(it->v);
    memset(it, 0, sizeof *it);
}

/* Adds (encounter, code); empty codes or encounters are skipped. */
static int items_add(struct items *it, const char *encounter, const char *code, int procedure, struct error *err)
{
    struct item *x;

    if (!encounter || !*encounter || !code || !*code)
        return LLMSYN_OK;
    if (it->n >= SYNTHEA_MAX_ITEMS)
        return error_set(err, LLMSYN_E_INPUT, "more than %zu Synthea conditions and procedures", SYNTHEA_MAX_ITEMS);
    if (it->n == it->cap) {
        size_t c = it->cap ? it->cap * 2 : 256;
        struct item *nv = realloc(it->v, c * sizeof *nv);

        if (!nv)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory reading Synthea output");
        it->v = nv;
        it->cap = c;
    }
    x = &it->v[it->n];
    x->encounter = strdup(encounter);
    x->code = strdup(code);
    x->procedure = procedure;
    x->seq = it->n;
    if (!x->encounter || !x->code) {
        free(x->encounter);
        free(x->code);
        return error_set(err, LLMSYN_E_NOMEM, "out of memory reading Synthea output");
    }
    it->n++;
    return LLMSYN_OK;
}

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->encounter, y->encounter);

    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts the items by encounter and appends one row per encounter to t. */
static int items_to_table(struct items *it, struct eval_table *t, struct error *err)
{
    struct eval_row *row = NULL; /* borrowed from t */
    size_t i;
    int rc = LLMSYN_OK;

    if (it->n)
        qsort(it->v, it->n, sizeof *it->v, cmp_item);
    for (i = 0; i < it->n && rc == LLMSYN_OK; i++) {
        if (i == 0 || strcmp(it->v[i].encounter, it->v[i - 1].encounter)) {
            row = eval_table_add(t, err);
            if (!row)
                return err->code ? err->code : LLMSYN_E_NOMEM;
        }
        rc = it->v[i].procedure ? eval_row_add_cpt(row, it->v[i].code, err)
                                : eval_row_add_icd9(row, it->v[i].code, err);
    }
    return rc;
}

/* ---- CSV ---- */

static char *join_path(const char *dir, const char *name)
{
    struct buf b = {0};

    if (buf_printf(&b, "%s/%s", dir, name) < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data; /* caller frees */
}

/* Reads one Synthea CSV: code column `code_col` as a diagnosis (procedure 0) or a procedure (1), and, when
 * reason_col is not NULL, that column as a diagnosis too. */
static int read_csv_file(const char *dir, const char *name, const char *code_col, const char *reason_col,
                         int procedure, struct items *it, struct error *err)
{
    struct csv_reader r = {0};
    char *path = join_path(dir, name); /* owned */
    char **hdr = NULL;                 /* owned */
    size_t nh = 0;
    int enc, code, reason = -1, rc;

    if (!path)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    rc = csv_open(&r, path, 0, 0, err);
    if (rc == LLMSYN_OK && csv_read_header(&r, err) < 0)
        rc = err->code;
    if (rc == LLMSYN_OK) {
        nh = csv_nfields(&r);
        hdr = csv_copy_fields(&r);
        if (!hdr)
            rc = error_set(err, LLMSYN_E_NOMEM, "out of memory reading '%s'", path);
    }
    if (rc != LLMSYN_OK)
        goto out;
    enc = csv_column(hdr, nh, "ENCOUNTER");
    code = csv_column(hdr, nh, code_col);
    if (reason_col)
        reason = csv_column(hdr, nh, reason_col);
    if (enc < 0 || code < 0) {
        rc = error_set(err, LLMSYN_E_INPUT, "%s:1: no ENCOUNTER or %s column", path, code_col);
        goto out;
    }
    while (rc == LLMSYN_OK && (rc = csv_next(&r, err)) == 1) {
        rc = items_add(it, csv_field(&r, (size_t)enc), csv_field(&r, (size_t)code), procedure, err);
        if (rc == LLMSYN_OK && reason >= 0)
            rc = items_add(it, csv_field(&r, (size_t)enc), csv_field(&r, (size_t)reason), 0, err);
    }
    if (rc < 0)
        rc = err->code;
out:
    csv_strings_free(&hdr, nh);
    csv_close(&r);
    free(path);
    return rc;
}

int synthea_read_csv(const char *dir, struct eval_table *t, struct error *err)
{
    struct items it = {0};
    int rc = read_csv_file(dir, "conditions.csv", "CODE", NULL, 0, &it, err);

    if (rc == LLMSYN_OK)
        rc = read_csv_file(dir, "procedures.csv", "CODE", "REASONCODE", 1, &it, err);
    if (rc == LLMSYN_OK)
        rc = items_to_table(&it, t, err);
    items_free(&it);
    return rc;
}

/* ---- FHIR ---- */

static const char *str_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The code of the first coding of resource.code, preferring a SNOMED CT coding; borrowed or NULL. */
static const char *resource_code(const cJSON *res)
{
    const cJSON *codings = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "code"), "coding");
    const cJSON *c;
    const char *first = NULL, *sys;

    cJSON_ArrayForEach(c, codings) {
        sys = str_at(c, "system");
        if (sys && !strcmp(sys, "http://snomed.info/sct") && str_at(c, "code"))
            return str_at(c, "code");
        if (!first)
            first = str_at(c, "code");
    }
    return first;
}

static int bundle_items(const cJSON *bundle, const char *path, struct items *it, struct error *err)
{
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(bundle, "entry"), *e, *res;
    const char *type, *enc;
    int rc = LLMSYN_OK;

    if (!cJSON_IsArray(entries))
        return error_set(err, LLMSYN_E_INPUT, "%s: not a FHIR bundle with an entry array", path);
    cJSON_ArrayForEach(e, entries) {
        res = cJSON_GetObjectItemCaseSensitive(e, "resource");
        type = str_at(res, "resourceType");
        if (!type || (strcmp(type, "Condition") && strcmp(type, "Procedure")))
            continue;
        enc = str_at(cJSON_GetObjectItemCaseSensitive(res, "encounter"), "reference");
        rc = items_add(it, enc, resource_code(res), !strcmp(type, "Procedure"), err);
        if (rc != LLMSYN_OK)
            break;
    }
    return rc;
}

/* Reads a whole file of at most SYNTHEA_MAX_FILE bytes into b. */
static int slurp(const char *path, struct buf *b, struct error *err)
{
    FILE *fp = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = LLMSYN_OK;

    if (!fp)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
    buf_init(b, SYNTHEA_MAX_FILE);
    while (rc == LLMSYN_OK && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (buf_append(b, chunk, n) < 0)
            rc = error_set(err, LLMSYN_E_INPUT, "'%s' is larger than %zu bytes or memory ran out", path,
                           SYNTHEA_MAX_FILE);
    if (rc == LLMSYN_OK && ferror(fp))
        rc = error_set(err, LLMSYN_E_INPUT, "cannot read '%s'", path);
    fclose(fp);
    return rc;
}

static int read_bundle_file(const char *path, struct items *it, struct error *err)
{
    struct buf b = {0};
    cJSON *root = NULL; /* owned */
    int rc = slurp(path, &b, err);

    if (rc == LLMSYN_OK) {
        root = cJSON_ParseWithLength(buf_str(&b), b.len);
        if (!root)
            rc = error_set(err, LLMSYN_E_INPUT, "%s: not valid JSON", path);
    }
    if (rc == LLMSYN_OK)
        rc = bundle_items(root, path, it, err);
    cJSON_Delete(root);
    buf_free(&b);
    return rc;
}

static int has_json_suffix(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".json");
}

/* Reads every *.json file of dir in name order. */
static int read_bundle_dir(const char *dir, struct items *it, struct error *err)
{
    struct dirent **names = NULL; /* owned by scandir */
    char *path = NULL;
    int n = scandir(dir, &names, NULL, alphasort), i, rc = LLMSYN_OK, found = 0; /* name order ("C" locale) */

    if (n < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot read folder '%s': %s", dir, strerror(errno));
    for (i = 0; i < n; i++) {
        if (rc == LLMSYN_OK && has_json_suffix(names[i]->d_name)) {
            found++;
            path = join_path(dir, names[i]->d_name);
            rc = path ? read_bundle_file(path, it, err) : (int)error_set(err, LLMSYN_E_NOMEM, "out of memory");
            free(path);
        }
        free(names[i]);
    }
    free(names);
    if (rc == LLMSYN_OK && !found)
        rc = error_set(err, LLMSYN_E_INPUT, "no .json bundle in folder '%s'", dir);
    return rc;
}

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file_in(const char *dir, const char *name)
{
    char *p = join_path(dir, name); /* owned */
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);

    free(p);
    return ok;
}

int synthea_read_fhir(const char *path, struct eval_table *t, struct error *err)
{
    struct items it = {0};
    int rc;

    if (!path)
        return error_set(err, LLMSYN_E_USAGE, "no Synthea FHIR path given");
    rc = is_dir(path) ? read_bundle_dir(path, &it, err) : read_bundle_file(path, &it, err);
    if (rc == LLMSYN_OK)
        rc = items_to_table(&it, t, err);
    items_free(&it);
    return rc;
}

/* Calls the reader on dir/sub when that folder exists. Returns -1 when it does not. */
static int read_sub(const char *dir, const char *sub, int csv, struct eval_table *t, struct error *err)
{
    char *p = join_path(dir, sub); /* owned */
    int rc = -1;

    if (!p)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    if (csv && is_file_in(p, "conditions.csv"))
        rc = synthea_read_csv(p, t, err);
    else if (!csv && is_dir(p))
        rc = synthea_read_fhir(p, t, err);
    free(p);
    return rc;
}

int synthea_read(const char *path, struct eval_table *t, enum synthea_kind *kind, struct error *err)
{
    int rc;

    if (!path)
        return error_set(err, LLMSYN_E_USAGE, "no Synthea output given");
    if (kind)
        *kind = SYNTHEA_CSV;
    if (is_dir(path) && is_file_in(path, "conditions.csv"))
        return synthea_read_csv(path, t, err);
    if (is_dir(path) && (rc = read_sub(path, "csv", 1, t, err)) >= 0)
        return rc;
    if (kind)
        *kind = SYNTHEA_FHIR;
    if (is_dir(path) && (rc = read_sub(path, "fhir", 0, t, err)) >= 0)
        return rc;
    return synthea_read_fhir(path, t, err);
}
