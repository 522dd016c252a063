/* load.c - dict_load: reads the shipped tables of mappings/codes/ (docs/codes.md) and checks every row. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codes/dict_internal.h"

#define HDR_CODES "#code\tstatus\tccs\tdisplay"
#define HDR_CCS "#scheme\tid\tlabel\tphenotype"
#define HDR_SERVICES "#lo\thi\tccs"
#define HDR_SECTIONS "#level\tlo\thi\tstatus\tlabel"
#define HDR_CHAPTERS "#lo\thi\ttitle"

struct loader {
    struct dict *d;    /* borrowed */
    const char *dir;   /* borrowed: the folder holding the tables */
    struct error *err; /* borrowed */
};

/* Opens dir/name; path receives the joined name (kept alive in the arena for messages). */
static int open_table(struct loader *ld, struct tsv *t, const char *name, const char *header)
{
    size_t n = strlen(ld->dir) + strlen(name) + 2;
    char *path = arena_alloc(&ld->d->arena, n);

    if (!path) {
        error_set(ld->err, LLMSYN_E_NOMEM, "out of memory loading the code dictionaries");
        return -1;
    }
    snprintf(path, n, "%s/%s", ld->dir, name);
    return tsv_open(t, &ld->d->arena, path, header, ld->err);
}

/* A CCS id 1..CCS_MAX_ID written in plain digits, or -1. */
static int parse_id(const char *s)
{
    char *end = NULL;
    long v;

    if (s[0] < '1' || s[0] > '9' || strlen(s) > 4)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > CCS_MAX_ID)
        return -1;
    return (int)v;
}

static int add_ccs(struct loader *ld, const struct tsv *t, char **f)
{
    struct ccs_cat **slot, *c;
    int id = parse_id(f[1]), dx = !strcmp(f[0], "dx");
    size_t n;

    if (!dx && strcmp(f[0], "pr") != 0)
        return tsv_fail(t, ld->err, "scheme '%.16s' is not dx or pr", f[0]);
    if (id < 0)
        return tsv_fail(t, ld->err, "CCS id '%.16s' is not a number from 1 to %d", f[1], CCS_MAX_ID);
    if (!f[2][0])
        return tsv_fail(t, ld->err, "empty label");
    if (strcmp(f[3], "0") != 0 && !(dx && !strcmp(f[3], "1")))
        return tsv_fail(t, ld->err, "phenotype '%.16s' is not 0 or 1 (1 only for scheme dx)", f[3]);
    slot = dx ? &ld->d->ccs_dx[id] : &ld->d->ccs_pr[id];
    if (*slot)
        return tsv_fail(t, ld->err, "duplicate CCS category %s %d", f[0], id);
    n = strlen(f[2]) + 8;
    c = arena_alloc(&ld->d->arena, sizeof *c + n);
    if (!c)
        return error_set(ld->err, LLMSYN_E_NOMEM, "out of memory loading the code dictionaries"), -1;
    snprintf((char *)(c + 1), n, "%d: %s", id, f[2]);
    c->text = (const char *)(c + 1);
    c->phenotype = f[3][0] == '1' ? f[2] : NULL;
    *slot = c;
    return 0;
}

static int load_ccs(struct loader *ld)
{
    struct tsv t;
    char *f[4];
    int rc;

    if (open_table(ld, &t, "ccs.tsv", HDR_CCS) < 0)
        return -1;
    while ((rc = tsv_next(&t, f, 4, ld->err)) == 1)
        if (add_ccs(ld, &t, f) < 0)
            return -1;
    if (rc == 0 && t.rows == 0)
        return tsv_fail(&t, ld->err, "no rows after the header");
    return rc;
}

/* The CCS category named by an id column ("" = none) of the given scheme; err when unknown. */
static int ccs_ref(struct loader *ld, const struct tsv *t, const char *s, int dx, const struct ccs_cat **out)
{
    int id;

    *out = NULL;
    if (!s[0])
        return 0;
    id = parse_id(s);
    if (id < 0 || !(dx ? ld->d->ccs_dx[id] : ld->d->ccs_pr[id]))
        return tsv_fail(t, ld->err, "CCS category '%.16s' is not in ccs.tsv (scheme %s)", s, dx ? "dx" : "pr");
    *out = dx ? ld->d->ccs_dx[id] : ld->d->ccs_pr[id];
    return 0;
}

static int parse_status(const char *s, int allow_header)
{
    if (!strcmp(s, "B"))
        return CODE_VALID;
    if (!strcmp(s, "R"))
        return CODE_RETIRED;
    if (allow_header && !strcmp(s, "H"))
        return CODE_HEADER;
    return -1;
}

static int add_code(struct loader *ld, const struct tsv *t, struct code_table *tab, enum code_system sys, char **f)
{
    char norm[DICT_CODE_MAX];
    struct code_entry e;
    const struct code_entry *dup = NULL;
    int st = parse_status(f[1], sys != CODE_HCPCS);

    memset(&e, 0, sizeof e);
    if (code_normalise(sys, f[0], norm, sizeof norm) < 0 || strcmp(norm, f[0]) != 0)
        return tsv_fail(t, ld->err, "'%.20s' is not a normalised %s code", f[0], code_system_name(sys));
    if (st < 0)
        return tsv_fail(t, ld->err, "status '%.8s' is not %s", f[1], sys == CODE_HCPCS ? "B or R" : "B, H or R");
    if (st == CODE_VALID && !f[3][0])
        return tsv_fail(t, ld->err, "billable code %s has no display", f[0]);
    if (ccs_ref(ld, t, f[2], sys == CODE_ICD9_DX, &e.ccs) < 0)
        return -1;
    e.code = f[0];
    e.display = f[3][0] ? f[3] : NULL;
    e.status = (uint8_t)st;
    e.line = t->line;
    if (table_add(tab, &e, &dup))
        return 0;
    if (dup)
        return tsv_fail(t, ld->err, "duplicate code %s (first on line %u)", f[0], (unsigned)dup->line);
    return tsv_fail(t, ld->err, "more rows than counted");
}

static int load_codes(struct loader *ld, const char *name, int which, enum code_system sys)
{
    struct code_table *tab = &ld->d->tables[which];
    struct tsv t;
    char *f[4];
    int rc;

    if (open_table(ld, &t, name, HDR_CODES) < 0)
        return -1;
    if (t.rows == 0)
        return tsv_fail(&t, ld->err, "no rows after the header");
    if (table_init(tab, &ld->d->arena, t.rows) < 0)
        return error_set(ld->err, LLMSYN_E_NOMEM, "out of memory loading '%s'", t.path), -1;
    while ((rc = tsv_next(&t, f, 4, ld->err)) == 1)
        if (add_code(ld, &t, tab, sys, f) < 0)
            return -1;
    return rc;
}

/* Appends [lo, hi] to rs (capacity counted by the caller) after checking it lies after the previous range. */
static int add_range(struct loader *ld, const struct tsv *t, struct range_set *rs, const struct code_range *r,
                     const char *lo, const char *hi)
{
    if (!r->lo || !r->hi || r->lo > r->hi || (r->lo - 1) / 100000u != (r->hi - 1) / 100000u)
        return tsv_fail(t, ld->err, "'%.8s'-'%.8s' is not a range of codes of one form", lo, hi);
    if (rs->n && r->lo <= rs->r[rs->n - 1].hi)
        return tsv_fail(t, ld->err, "range %.8s-%.8s overlaps or comes before the one on the line above", lo,
                        hi);
    rs->r[rs->n++] = *r;
    return 0;
}

static int alloc_ranges(struct loader *ld, const struct tsv *t, struct range_set *rs)
{
    if (t->rows == 0)
        return tsv_fail(t, ld->err, "no rows after the header");
    rs->n = 0;
    rs->r = arena_alloc(&ld->d->arena, t->rows * sizeof *rs->r);
    if (!rs->r)
        return error_set(ld->err, LLMSYN_E_NOMEM, "out of memory loading '%s'", t->path), -1;
    return 0;
}

static int load_services(struct loader *ld)
{
    struct code_range r;
    struct tsv t;
    char *f[3];
    int rc;

    if (open_table(ld, &t, "ccs_services.tsv", HDR_SERVICES) < 0 || alloc_ranges(ld, &t, &ld->d->services) < 0)
        return -1;
    while ((rc = tsv_next(&t, f, 3, ld->err)) == 1) {
        memset(&r, 0, sizeof r);
        r.lo = range_key(f[0]);
        r.hi = range_key(f[1]);
        if (!f[2][0])
            return tsv_fail(&t, ld->err, "no CCS category");
        if (ccs_ref(ld, &t, f[2], 0, &r.ccs) < 0 || add_range(ld, &t, &ld->d->services, &r, f[0], f[1]) < 0)
            return -1;
    }
    return rc;
}

/* A subsection's label becomes "Section: Subsection"; it must lie inside one section. */
static int add_subsection(struct loader *ld, const struct tsv *t, struct code_range *r, char **f)
{
    const struct code_range *sec = range_find(&ld->d->sections, r->lo);
    size_t n;
    char *label;

    if (!sec || r->hi > sec->hi)
        return tsv_fail(t, ld->err, "subsection %.8s-%.8s is not inside one section (sections come first)", f[1],
                        f[2]);
    n = strlen(sec->label) + strlen(f[4]) + 3;
    label = arena_alloc(&ld->d->arena, n);
    if (!label)
        return error_set(ld->err, LLMSYN_E_NOMEM, "out of memory loading '%s'", t->path), -1;
    snprintf(label, n, "%s: %s", sec->label, f[4]);
    r->label = label;
    return add_range(ld, t, &ld->d->subsections, r, f[1], f[2]);
}

static int section_row(struct loader *ld, const struct tsv *t, char **f)
{
    struct code_range r;
    int st = parse_status(f[3], 0), sub = !strcmp(f[0], "subsection");

    memset(&r, 0, sizeof r);
    if (!sub && strcmp(f[0], "section") != 0)
        return tsv_fail(t, ld->err, "level '%.16s' is not section or subsection", f[0]);
    if (st < 0 || (!sub && st != CODE_VALID))
        return tsv_fail(t, ld->err, "status '%.8s' is not B (or R for a subsection)", f[3]);
    if (!f[4][0])
        return tsv_fail(t, ld->err, "empty label");
    r.lo = range_key(f[1]);
    r.hi = range_key(f[2]);
    r.status = (uint8_t)st;
    r.label = f[4];
    if (sub)
        return add_subsection(ld, t, &r, f);
    if (ld->d->subsections.n)
        return tsv_fail(t, ld->err, "section after a subsection (sections come first)");
    return add_range(ld, t, &ld->d->sections, &r, f[1], f[2]);
}

static int load_sections(struct loader *ld)
{
    struct tsv t;
    char *f[5];
    int rc;

    if (open_table(ld, &t, "cpt_sections.tsv", HDR_SECTIONS) < 0 || alloc_ranges(ld, &t, &ld->d->sections) < 0 ||
        alloc_ranges(ld, &t, &ld->d->subsections) < 0)
        return -1;
    while ((rc = tsv_next(&t, f, 5, ld->err)) == 1)
        if (section_row(ld, &t, f) < 0)
            return -1;
    return rc;
}

static int load_chapters(struct loader *ld)
{
    struct code_range r;
    struct tsv t;
    char *f[3];
    int rc;

    if (open_table(ld, &t, "icd9_chapters.tsv", HDR_CHAPTERS) < 0 || alloc_ranges(ld, &t, &ld->d->chapters) < 0)
        return -1;
    while ((rc = tsv_next(&t, f, 3, ld->err)) == 1) {
        memset(&r, 0, sizeof r);
        r.lo = chapter_key(f[0], strlen(f[0]));
        r.hi = chapter_key(f[1], strlen(f[1]));
        r.label = f[2];
        if (!f[2][0])
            return tsv_fail(&t, ld->err, "empty title");
        if (r.lo && r.hi && (r.lo - 1) / 1000 != (r.hi - 1) / 1000)
            r.hi = 0; /* V000-E999 is not one kind of category */
        if (add_range(ld, &t, &ld->d->chapters, &r, f[0], f[1]) < 0)
            return -1;
    }
    return rc;
}

/* mappings_dir/codes, or mappings_dir itself when that holds the tables (and has no codes/ folder). */
static char *tables_dir(struct dict *d, const char *mappings_dir)
{
    size_t n = strlen(mappings_dir) + sizeof "/ccs.tsv" + sizeof "/codes";
    char *dir = arena_alloc(&d->arena, n);
    struct stat st;

    if (!dir)
        return NULL;
    snprintf(dir, n, "%s/codes", mappings_dir);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return dir;
    snprintf(dir, n, "%s/ccs.tsv", mappings_dir);
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode)) {
        snprintf(dir, n, "%s", mappings_dir);
        return dir;
    }
    snprintf(dir, n, "%s/codes", mappings_dir);
    return dir;
}

static int load_all(struct loader *ld, const char *cpt_dict_path)
{
    if (load_ccs(ld) < 0 || load_chapters(ld) < 0 || load_codes(ld, "icd9_dx.tsv", TABLE_DX, CODE_ICD9_DX) < 0 ||
        load_codes(ld, "icd9_px.tsv", TABLE_PX, CODE_ICD9_PX) < 0 ||
        load_codes(ld, "hcpcs.tsv", TABLE_HCPCS, CODE_HCPCS) < 0 || load_services(ld) < 0 ||
        load_sections(ld) < 0)
        return -1;
    if (cpt_dict_path && cpt_dict_load(ld->d, cpt_dict_path, ld->err) < 0)
        return -1;
    return 0;
}

struct dict *dict_load(const char *mappings_dir, const char *cpt_dict_path, struct error *err)
{
    struct dict *d = NULL;
    struct loader ld = { NULL, NULL, err };

    if (!mappings_dir) {
        error_set(err, LLMSYN_E_INTERNAL, "dict_load called without a mappings folder");
        return NULL;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory loading the code dictionaries");
        return NULL;
    }
    ld.d = d;
    ld.dir = tables_dir(d, mappings_dir);
    if (!ld.dir) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory loading the code dictionaries");
        dict_free(&d);
        return NULL;
    }
    if (load_all(&ld, cpt_dict_path) < 0)
        dict_free(&d);
    return d;
}

void dict_free(struct dict **d)
{
    if (!d || !*d)
        return;
    arena_free(&(*d)->arena);
    free(*d);
    *d = NULL;
}
