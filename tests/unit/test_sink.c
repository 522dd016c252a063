/* test_sink.c - output sinks: exact files and bytes of each format, folder checks, atomicity, write errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "out/sink.h"

/* ---- helpers ---- */

struct fixture {
    char dir[64]; /* mkdtemp folder, removed by teardown */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/llmsyn-test-sink-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static void rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char sub[4096];

    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0755);
        d = opendir(path);
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    rm_rf(f->dir);
    free(f);
    return 0;
}

/* "<a>/<b>" into a static-sized buffer owned by the caller. */
static const char *join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);

    assert_true(n > 0 && (size_t)n < size);
    return out;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's entries, sorted, joined with ','; caller frees. */
static char *list_dir(const char *dir)
{
    char *names[64];
    size_t n = 0, i;
    struct buf out = {0};
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        assert_true(n < 64);
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    buf_puts(&out, "");
    for (i = 0; i < n; i++) {
        assert_int_equal(buf_printf(&out, "%s%s", i ? "," : "", names[i]), 0);
        free(names[i]);
    }
    return out.data;
}

static void assert_dir(const char *dir, const char *expected)
{
    char *got = list_dir(dir);

    assert_string_equal(got, expected);
    free(got);
}

/* Whole file as a string; caller frees. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    struct buf b = {0};
    char tmp[4096];
    size_t n;

    assert_non_null(fp);
    buf_puts(&b, "");
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        assert_int_equal(buf_append(&b, tmp, n), 0);
    assert_int_equal(ferror(fp), 0);
    fclose(fp);
    return b.data;
}

static void assert_file(const char *dir, const char *name, const char *expected)
{
    char path[512];
    char *got = slurp(join(path, sizeof path, dir, name));

    assert_string_equal(got, expected);
    free(got);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *fp = fopen(join(path, sizeof path, dir, name), "wb");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* A transaction-bundle entry holding {"resourceType":type,"id":id}. */
static cJSON *make_entry(const char *type, const char *id)
{
    cJSON *entry = cJSON_CreateObject(), *res, *req;
    char url[128];

    assert_non_null(entry);
    snprintf(url, sizeof url, "urn:uuid:%s", id);
    cJSON_AddStringToObject(entry, "fullUrl", url);
    res = cJSON_AddObjectToObject(entry, "resource");
    assert_non_null(res);
    cJSON_AddStringToObject(res, "resourceType", type);
    cJSON_AddStringToObject(res, "id", id);
    req = cJSON_AddObjectToObject(entry, "request");
    assert_non_null(req);
    cJSON_AddStringToObject(req, "method", "POST");
    cJSON_AddStringToObject(req, "url", type);
    return entry;
}

/* A Bundle with entries types[i]/ids[i]; caller frees with cJSON_Delete. */
static cJSON *make_bundle(const char *const *types, const char *const *ids, size_t n)
{
    cJSON *b = cJSON_CreateObject(), *entries;
    size_t i;

    assert_non_null(b);
    cJSON_AddStringToObject(b, "resourceType", "Bundle");
    cJSON_AddStringToObject(b, "type", "transaction");
    entries = cJSON_AddArrayToObject(b, "entry");
    assert_non_null(entries);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(entries, make_entry(types[i], ids[i]));
    return b;
}

/* The bytes a resource of make_entry prints as (written independently of cJSON). */
static const char *res_text(char *out, size_t size, const char *type, const char *id)
{
    snprintf(out, size, "{\"resourceType\":\"%s\",\"id\":\"%s\"}", type, id);
    return out;
}

static const char *entry_text(char *out, size_t size, const char *type, const char *id)
{
    char res[128];

    snprintf(out, size, "{\"fullUrl\":\"urn:uuid:%s\",\"resource\":%s,\"request\":{\"method\":\"POST\",\"url\":\"%s\"}}",
             id, res_text(res, sizeof res, type, id), type);
    return out;
}

static const char *const T5[] = {"Patient", "Encounter", "Condition", "Condition", "Procedure"};
static const char *const ID5[] = {"p1", "e1", "c1", "c2", "x1"};

static void rec_fields(struct record *r, uint64_t index, const char *const *kv)
{
    r->index = index;
    for (; kv[0]; kv += 2)
        assert_int_equal(record_add(r, kv[0], kv[1]), 0);
}

/* ---- BUNDLES ---- */

static void test_render_bundle_exact_and_deterministic(void **state)
{
    struct record rec = {0};
    struct sink_chunk c1 = {0}, c2 = {0};
    struct error err = {0};
    cJSON *bundle = make_bundle(T5, ID5, 5);
    struct buf want = {0};
    char e[512];
    size_t i;

    (void)state;
    rec.index = 42;
    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, bundle, &c1, &err), LLMSYN_OK);
    assert_int_equal(c1.index, 42);
    assert_int_equal(c1.nparts, 1);
    assert_string_equal(c1.parts[0].name, "record-0000000042.json");
    buf_puts(&want, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
    for (i = 0; i < 5; i++)
        buf_printf(&want, "%s%s", i ? "," : "", entry_text(e, sizeof e, T5[i], ID5[i]));
    buf_puts(&want, "]}\n");
    assert_string_equal(buf_str(&c1.parts[0].data), buf_str(&want));
    assert_int_equal(c1.parts[0].data.len, want.len);

    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, bundle, &c2, &err), LLMSYN_OK);
    assert_int_equal(c2.parts[0].data.len, c1.parts[0].data.len);
    assert_memory_equal(c2.parts[0].data.data, c1.parts[0].data.data, c1.parts[0].data.len);

    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, NULL, &c2, &err), LLMSYN_E_INTERNAL);
    assert_int_equal(c2.nparts, 0);
    assert_string_equal(err.msg, "record 42 has no bundle to write");
    buf_free(&want);
    sink_chunk_free(&c1);
    sink_chunk_free(&c2);
    cJSON_Delete(bundle);
    record_free(&rec);
}

static void test_bundle_sink_files(void **state)
{
    struct fixture *f = *state;
    struct record rec = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *s;
    cJSON *bundle = make_bundle(T5, ID5, 2);
    char out[256], e1[256], e2[256], want[1024];
    struct stat st;
    mode_t mask = umask(022);

    umask(mask);
    join(out, sizeof out, f->dir, "a/b/out");
    s = sink_open(out, LLMSYN_FORMAT_BUNDLES, 0, &err);
    assert_non_null(s);
    assert_int_equal(stat(out, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0755 & ~mask);
    rec.index = 0;
    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, bundle, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    rec.index = 7;
    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, bundle, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write_file(s, "run-report.json", "{\"ok\":2}\n", 9, &err), LLMSYN_OK);
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_null(s);
    assert_int_equal(err.code, LLMSYN_OK);

    assert_dir(out, "record-0000000000.json,record-0000000007.json,run-report.json");
    snprintf(want, sizeof want, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[%s,%s]}\n",
             entry_text(e1, sizeof e1, "Patient", "p1"), entry_text(e2, sizeof e2, "Encounter", "e1"));
    assert_file(out, "record-0000000000.json", want);
    assert_file(out, "record-0000000007.json", want);
    assert_file(out, "run-report.json", "{\"ok\":2}\n");
    sink_chunk_free(&c);
    cJSON_Delete(bundle);
    record_free(&rec);
}

/* ---- NDJSON ---- */

static void test_ndjson_files(void **state)
{
    static const char *const t2[] = {"Patient", "Condition", "MedicationRequest", "Encounter"};
    static const char *const id2[] = {"p2", "c3", "m1", "e2"};
    struct fixture *f = *state;
    struct record r0 = {0}, r1 = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *s;
    cJSON *b0 = make_bundle(T5, ID5, 5), *b1 = make_bundle(t2, id2, 4);
    char x[256], y[256], z[256], want[1024];

    /* an entry without a resource (a DELETE) has nothing to export */
    cJSON_AddItemToArray(cJSON_GetObjectItem(b1, "entry"), cJSON_Parse("{\"request\":{\"method\":\"DELETE\"}}"));
    r1.index = 1;
    s = sink_open(f->dir, LLMSYN_FORMAT_NDJSON, 0, &err);
    assert_non_null(s);
    assert_int_equal(sink_render(LLMSYN_FORMAT_NDJSON, &r0, b0, &c, &err), LLMSYN_OK);
    assert_int_equal(c.nparts, 4);
    assert_string_equal(c.parts[0].name, "Patient.ndjson");
    assert_string_equal(c.parts[1].name, "Encounter.ndjson");
    assert_string_equal(c.parts[2].name, "Condition.ndjson");
    assert_string_equal(c.parts[3].name, "Procedure.ndjson");
    snprintf(want, sizeof want, "%s\n%s\n", res_text(x, sizeof x, "Condition", "c1"),
             res_text(y, sizeof y, "Condition", "c2"));
    assert_string_equal(buf_str(&c.parts[2].data), want);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_render(LLMSYN_FORMAT_NDJSON, &r1, b1, &c, &err), LLMSYN_OK);
    assert_int_equal(c.nparts, 4);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    /* nothing visible before close: only the hidden partial files */
    assert_dir(f->dir, ".Condition.ndjson.partial,.Encounter.ndjson.partial,.MedicationRequest.ndjson.partial,"
                       ".Patient.ndjson.partial,.Procedure.ndjson.partial");
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_dir(f->dir, "Condition.ndjson,Encounter.ndjson,MedicationRequest.ndjson,Patient.ndjson,Procedure.ndjson");

    snprintf(want, sizeof want, "%s\n%s\n", res_text(x, sizeof x, "Patient", "p1"), res_text(y, sizeof y, "Patient", "p2"));
    assert_file(f->dir, "Patient.ndjson", want);
    snprintf(want, sizeof want, "%s\n%s\n%s\n", res_text(x, sizeof x, "Condition", "c1"),
             res_text(y, sizeof y, "Condition", "c2"), res_text(z, sizeof z, "Condition", "c3"));
    assert_file(f->dir, "Condition.ndjson", want);
    snprintf(want, sizeof want, "%s\n%s\n", res_text(x, sizeof x, "Encounter", "e1"),
             res_text(y, sizeof y, "Encounter", "e2"));
    assert_file(f->dir, "Encounter.ndjson", want);
    snprintf(want, sizeof want, "%s\n", res_text(x, sizeof x, "Procedure", "x1"));
    assert_file(f->dir, "Procedure.ndjson", want);
    snprintf(want, sizeof want, "%s\n", res_text(x, sizeof x, "MedicationRequest", "m1"));
    assert_file(f->dir, "MedicationRequest.ndjson", want);
    sink_chunk_free(&c);
    cJSON_Delete(b0);
    cJSON_Delete(b1);
}

static void expect_ndjson_error(cJSON *bundle, const char *msg)
{
    struct record rec = {0};
    struct sink_chunk c = {0};
    struct error err = {0};

    rec.index = 5;
    assert_int_equal(sink_render(LLMSYN_FORMAT_NDJSON, &rec, bundle, &c, &err), LLMSYN_E_VALIDATION);
    assert_int_equal(err.code, LLMSYN_E_VALIDATION);
    assert_string_equal(err.msg, msg);
    assert_int_equal(c.nparts, 0);
    sink_chunk_free(&c);
    cJSON_Delete(bundle);
}

static void test_ndjson_rejects_bad_bundles(void **state)
{
    static const char *const bad[] = {"Patient", "../evil"};
    static const char *const low[] = {"Patient", "Encounter", "condition"};
    static const char *const ids[] = {"a", "b", "c"};
    const char *many[SINK_MAX_PARTS + 1], *mids[SINK_MAX_PARTS + 1];
    char names[SINK_MAX_PARTS + 1][8];
    cJSON *b;
    size_t i;

    (void)state;
    expect_ndjson_error(make_bundle(bad, ids, 2), "entry 2 of the bundle of record 5 has no valid resourceType");
    expect_ndjson_error(make_bundle(low, ids, 3), "entry 3 of the bundle of record 5 has no valid resourceType");
    b = make_bundle(ids, ids, 0);
    cJSON_DeleteItemFromObject(b, "entry");
    expect_ndjson_error(b, "bundle of record 5 has no entry array");
    b = make_bundle(ids, ids, 0);
    cJSON_AddItemToArray(cJSON_GetObjectItem(b, "entry"), cJSON_Parse("{\"resource\":\"Patient\"}"));
    expect_ndjson_error(b, "entry 1 of the bundle of record 5 has no valid resourceType");
    b = make_bundle(ids, ids, 0);
    cJSON_AddItemToArray(cJSON_GetObjectItem(b, "entry"), cJSON_Parse("{\"resource\":{\"id\":\"q\"}}"));
    expect_ndjson_error(b, "entry 1 of the bundle of record 5 has no valid resourceType");
    for (i = 0; i <= SINK_MAX_PARTS; i++) {
        snprintf(names[i], sizeof names[i], "Type%c", (char)('a' + i));
        many[i] = names[i];
        mids[i] = "id";
    }
    expect_ndjson_error(make_bundle(many, mids, SINK_MAX_PARTS + 1),
                        "record 5 needs more than 16 output files (at 'Typeq.ndjson')");
}

/* ---- CSV ---- */

static void test_csv_rows_and_quoting(void **state)
{
    static const char *const kv0[] = {F_GENDER, "F", F_AGE, "65", F_INSURANCE, "Medicare", F_LANGUAGE, "ENGL",
                                      F_RELIGION, "CATHOLIC", F_MARITAL, "MARRIED", F_ETHNICITY, "WHITE",
                                      F_EXPIRE, "0", F_ICD9, "4280", F_CPT, "99223", F_ICD9, "42731",
                                      F_ICD9, "5849", F_CPT, "93306", NULL};
    static const char *const kv1[] = {F_GENDER, "M", F_AGE, "40", F_INSURANCE, "Self, \"Pay\"", F_LANGUAGE, "x\ry",
                                      F_RELIGION, "A\nB", F_MARITAL, "a\"b", F_EXPIRE, "1", F_ICD9, "0389", NULL};
    static const char *const t1[] = {"Encounter", "Patient", "Patient"};
    static const char *const id1[] = {"e9", "p,2", "p3"};
    struct fixture *f = *state;
    struct record r0 = {0}, r1 = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *s;
    cJSON *b0 = make_bundle(T5, ID5, 5), *b1 = make_bundle(t1, id1, 3);
    const char *row0 = "p1,F,65,Medicare,ENGL,CATHOLIC,MARRIED,WHITE,0,4280,42731;5849,99223;93306\n";
    const char *row1 = "\"p,2\",M,40,\"Self, \"\"Pay\"\"\",\"x\ry\",\"A\nB\",\"a\"\"b\",,1,0389,,\n";
    char want[1024];

    rec_fields(&r0, 0, kv0);
    rec_fields(&r1, 1, kv1);
    s = sink_open(f->dir, LLMSYN_FORMAT_CSV, 0, &err);
    assert_non_null(s);
    assert_int_equal(sink_render(LLMSYN_FORMAT_CSV, &r0, b0, &c, &err), LLMSYN_OK);
    assert_int_equal(c.nparts, 1);
    assert_string_equal(c.parts[0].name, "records.csv");
    assert_string_equal(buf_str(&c.parts[0].data), row0); /* render never writes the header */
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_render(LLMSYN_FORMAT_CSV, &r1, b1, &c, &err), LLMSYN_OK);
    assert_string_equal(buf_str(&c.parts[0].data), row1);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    assert_dir(f->dir, ".records.csv.partial");
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_dir(f->dir, "records.csv");
    snprintf(want, sizeof want,
             "RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,ETHNICITY,HOSPITAL_EXPIRE_FLAG,"
             "ICD9_CODE,COMPLICATION_CODES,CPT_CD\n%s%s",
             row0, row1);
    assert_file(f->dir, "records.csv", want);
    sink_chunk_free(&c);
    cJSON_Delete(b0);
    cJSON_Delete(b1);
    record_free(&r0);
    record_free(&r1);
}

static void test_csv_empty_run_and_missing_patient(void **state)
{
    static const char *const t[] = {"Encounter"};
    static const char *const id[] = {"e1"};
    struct fixture *f = *state;
    struct record rec = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *s = sink_open(f->dir, LLMSYN_FORMAT_CSV, 0, &err);
    cJSON *b = make_bundle(t, id, 1);

    assert_non_null(s);
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_file(f->dir, "records.csv",
                "RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,ETHNICITY,HOSPITAL_EXPIRE_FLAG,"
                "ICD9_CODE,COMPLICATION_CODES,CPT_CD\n");
    rec.index = 3;
    assert_int_equal(sink_render(LLMSYN_FORMAT_CSV, &rec, b, &c, &err), LLMSYN_E_VALIDATION);
    assert_string_equal(err.msg, "bundle of record 3 has no Patient with an id");
    assert_int_equal(c.nparts, 0);
    sink_chunk_free(&c);
    cJSON_Delete(b);
}

/* ---- folder checks ---- */

static void test_nonempty_folder_needs_force(void **state)
{
    struct fixture *f = *state;
    struct record rec = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *s;
    cJSON *b = make_bundle(T5, ID5, 1);
    char want[512], e[256];

    put_text(f->dir, "keep.txt", "mine\n");
    put_text(f->dir, "record-0000000003.json", "stale\n");
    s = sink_open(f->dir, LLMSYN_FORMAT_BUNDLES, 0, &err);
    assert_null(s);
    assert_int_equal(err.code, LLMSYN_E_OUTPUT);
    snprintf(want, sizeof want, "output folder '%s' is not empty (use --force to write into it)", f->dir);
    assert_string_equal(err.msg, want);

    error_clear(&err);
    s = sink_open(f->dir, LLMSYN_FORMAT_BUNDLES, 1, &err);
    assert_non_null(s);
    rec.index = 3;
    assert_int_equal(sink_render(LLMSYN_FORMAT_BUNDLES, &rec, b, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_dir(f->dir, "keep.txt,record-0000000003.json");
    assert_file(f->dir, "keep.txt", "mine\n");
    snprintf(want, sizeof want, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[%s]}\n",
             entry_text(e, sizeof e, "Patient", "p1"));
    assert_file(f->dir, "record-0000000003.json", want);
    sink_chunk_free(&c);
    cJSON_Delete(b);
}

/* Expects sink_open(dir) to fail with "cannot <verb> output folder '<dir>': <reason>". */
static void expect_open_error(const char *dir, const char *verb, const char *reason)
{
    struct error err = {0};
    char want[1024];

    assert_null(sink_open(dir, LLMSYN_FORMAT_BUNDLES, 1, &err));
    assert_int_equal(err.code, LLMSYN_E_OUTPUT);
    snprintf(want, sizeof want, "cannot %s output folder '%s': %s", verb, dir, reason);
    assert_string_equal(err.msg, want);
}

static void test_unwritable_folder(void **state)
{
    struct fixture *f = *state;
    char path[512], sub[600];

    if (geteuid() == 0) {
        /* root ignores permission bits: provoke ENOTDIR with a regular file in the way */
        put_text(f->dir, "file", "x");
        join(path, sizeof path, f->dir, "file");
        join(sub, sizeof sub, path, "sub");
        expect_open_error(sub, "create", "Not a directory");
        expect_open_error(path, "create", "Not a directory");
    } else {
        join(path, sizeof path, f->dir, "ro");
        assert_int_equal(mkdir(path, 0555), 0);
        join(sub, sizeof sub, path, "out");
        expect_open_error(sub, "create", "Permission denied");
        expect_open_error(path, "write to", "Permission denied");
    }
    assert_null(sink_open("", LLMSYN_FORMAT_BUNDLES, 0, &(struct error){0}));
}

/* ---- atomicity and write errors ---- */

static void test_close_not_ok_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct record rec = {0};
    struct sink_chunk c = {0};
    struct error err = {0};
    struct sink *nd, *csv;
    cJSON *b = make_bundle(T5, ID5, 5);
    char d1[256], d2[256];

    join(d1, sizeof d1, f->dir, "nd");
    join(d2, sizeof d2, f->dir, "csv");
    nd = sink_open(d1, LLMSYN_FORMAT_NDJSON, 0, &err);
    csv = sink_open(d2, LLMSYN_FORMAT_CSV, 0, &err);
    assert_non_null(nd);
    assert_non_null(csv);
    assert_int_equal(sink_render(LLMSYN_FORMAT_NDJSON, &rec, b, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write(nd, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_render(LLMSYN_FORMAT_CSV, &rec, b, &c, &err), LLMSYN_OK);
    assert_int_equal(sink_write(csv, &c, &err), LLMSYN_OK);
    assert_dir(d2, ".records.csv.partial");
    assert_int_equal(sink_close(&nd, 0, &err), LLMSYN_OK);
    assert_int_equal(sink_close(&csv, 0, &err), LLMSYN_OK);
    assert_null(nd);
    assert_dir(d1, "");
    assert_dir(d2, "");
    assert_int_equal(sink_close(&nd, 1, &err), LLMSYN_OK); /* closing twice is harmless */
    sink_chunk_free(&c);
    cJSON_Delete(b);
}

static void test_write_file_atomic(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    char path[512];

    join(path, sizeof path, f->dir, "f.json");
    assert_int_equal(write_file_atomic(path, "first\n", 6, &err), LLMSYN_OK);
    assert_int_equal(write_file_atomic(path, "2", 1, &err), LLMSYN_OK);
    assert_file(f->dir, "f.json", "2");
    assert_dir(f->dir, "f.json");
    assert_int_equal(write_file_atomic("/dev/full/x", "y", 1, &err), LLMSYN_E_OUTPUT);
    assert_string_equal(err.msg, "cannot write '/dev/full/x': Not a directory");
}

static void test_unsafe_names_refused(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    struct sink_chunk c = {0};
    struct sink *s = sink_open(f->dir, LLMSYN_FORMAT_BUNDLES, 0, &err);
    const char *bad[] = {"../x", "a/b", ".hidden", ""};
    size_t i;

    assert_non_null(s);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        error_clear(&err);
        assert_int_equal(sink_write_file(s, bad[i], "x", 1, &err), LLMSYN_E_INTERNAL);
        assert_non_null(strstr(err.msg, "not a plain file name"));
    }
    c.nparts = 1;
    memcpy(c.parts[0].name, "../evil.json", 13);
    error_clear(&err);
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_E_INTERNAL);
    memset(c.parts[0].name, 'a', sizeof c.parts[0].name); /* not NUL-terminated */
    assert_int_equal(sink_write(s, &c, &err), LLMSYN_E_INTERNAL);
    assert_int_equal(sink_close(&s, 1, &err), LLMSYN_OK);
    assert_dir(f->dir, "");
    sink_chunk_free(&c);
}

/* Result of a forked child writing under a small RLIMIT_FSIZE. */
struct child_report {
    int code;
    int close_rc;
    int again_rc;
    char msg[512];
};

/* Runs fn in a child with file size capped at 1000 bytes; returns what it reported. */
static struct child_report run_capped(void (*fn)(const char *dir, struct child_report *r), const char *dir)
{
    struct child_report r;
    int fds[2], status = 0;
    pid_t pid;

    memset(&r, 0, sizeof r);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {1000, 1000};

        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(2);
        fn(dir, &r);
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 3);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &r, sizeof r), (ssize_t)sizeof r);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return r;
}

static void big_atomic(const char *dir, struct child_report *r)
{
    struct error err = {0};
    char path[512], *data = malloc(8192);

    snprintf(path, sizeof path, "%s/big.json", dir);
    if (data) {
        memset(data, 'x', 8192);
        r->code = write_file_atomic(path, data, 8192, &err);
    }
    memcpy(r->msg, err.msg, sizeof r->msg);
    free(data);
}

static void test_file_too_large_atomic(void **state)
{
    struct fixture *f = *state;
    struct child_report r = run_capped(big_atomic, f->dir);
    char want[600];

    assert_int_equal(r.code, LLMSYN_E_OUTPUT);
    snprintf(want, sizeof want, "cannot write '%s/big.json': %s", f->dir, strerror(EFBIG));
    assert_string_equal(r.msg, want);
    assert_dir(f->dir, ""); /* neither big.json nor big.json.tmp */
}

static void big_append(const char *dir, struct child_report *r)
{
    struct error err = {0}, err2 = {0};
    struct sink_chunk c = {0};
    struct sink *s = sink_open(dir, LLMSYN_FORMAT_CSV, 0, &err);
    size_t i;

    if (!s) {
        r->code = -1;
        return;
    }
    c.nparts = 1;
    memcpy(c.parts[0].name, "records.csv", 12);
    for (i = 0; i < 8192; i++)
        buf_putc(&c.parts[0].data, 'x');
    r->code = sink_write(s, &c, &err);
    r->again_rc = sink_write(s, &c, &err2);
    r->close_rc = sink_close(&s, 1, &err2);
    memcpy(r->msg, err.msg, sizeof r->msg);
    sink_chunk_free(&c);
}

static void test_file_too_large_append(void **state)
{
    struct fixture *f = *state;
    struct child_report r = run_capped(big_append, f->dir);
    char want[600];

    assert_int_equal(r.code, LLMSYN_E_OUTPUT);
    snprintf(want, sizeof want, "cannot write '%s/records.csv': %s", f->dir, strerror(EFBIG));
    assert_string_equal(r.msg, want);
    assert_int_equal(r.again_rc, LLMSYN_E_OUTPUT);
    assert_int_equal(r.close_rc, LLMSYN_E_OUTPUT);
    /* No visible records.csv; the hidden partial file stays for --resume (the run journal says how much
     * of it is good). */
    assert_dir(f->dir, ".records.csv.partial");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_bundle_exact_and_deterministic),
        cmocka_unit_test_setup_teardown(test_bundle_sink_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_files, setup, teardown),
        cmocka_unit_test(test_ndjson_rejects_bad_bundles),
        cmocka_unit_test_setup_teardown(test_csv_rows_and_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_empty_run_and_missing_patient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonempty_folder_needs_force, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_not_ok_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_file_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_too_large_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_too_large_append, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
