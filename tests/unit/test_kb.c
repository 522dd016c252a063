/* test_kb.c - unit tests of the knowledge base loader and look-ups (src/knowledge/kb.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knowledge/kb.h"
#include "util/buf.h"

#define MIN_SHIPPED_CARDS 30 /* the brief: cards for at least the 30 most frequent prior diagnoses */
#define MIN_BAD_SAMPLES 8

/* Two cards whose labels overlap, to pin down which label kb_display returns. */
static const char INLINE_KB[] =
    "{\"source\": \"test\", \"cards\": ["
    "{\"icd9\": \"428.0\", \"name\": \"HF card\", \"complications\": \"c\", \"treatments\": \"t\","
    " \"complication_codes\": [{\"code\": \"584.9\", \"display\": \"aki from A\", \"weight\": 0.5}],"
    " \"procedure_codes\": [{\"code\": \"42731\", \"display\": \"cpt label\", \"weight\": 0.1},"
    "                       {\"code\": \"93306\", \"display\": \"echo A\", \"weight\": 1}]},"
    "{\"icd9\": \"42731\", \"name\": \"AF card\", \"complications\": \"c\", \"treatments\": \"t\","
    " \"complication_codes\": [{\"code\": \"428.0\", \"display\": \"hf hint\", \"weight\": 0.5},"
    "                          {\"code\": \"5849\", \"display\": \"aki from B\", \"weight\": 0.5}],"
    " \"procedure_codes\": [{\"code\": \"93306\", \"display\": \"echo B\", \"weight\": 0.2},"
    "                       {\"code\": \"99291\", \"weight\": 0.2}],"
    " \"drugs\": [{\"type\": \"BASE\", \"drug\": \"Saline\", \"weight\": 0.3}]}]}";

static const char *repo_root(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

static struct kb *load_shipped(void)
{
    char path[4096];
    struct error err;
    struct kb *kb;

    error_clear(&err);
    if (snprintf(path, sizeof path, "%s/mappings/knowledge.json", repo_root()) >= (int)sizeof path)
        fail_msg("LLMSYN_ROOT too long");
    kb = kb_load(path, &err);
    if (!kb)
        fail_msg("%s", err.msg);
    assert_int_equal(err.code, LLMSYN_OK);
    return kb;
}

static struct kb *parse_str(const char *text, struct error *err)
{
    error_clear(err);
    return kb_parse(text, strlen(text), "inline.json", err);
}

static void assert_hints_valid(const struct kb_hint *h, size_t n)
{
    size_t i;

    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        assert_non_null(h[i].code);
        assert_non_null(h[i].display);
        assert_true(h[i].weight > 0.0 && h[i].weight <= 1.0);
    }
}

static void test_shipped_loads(void **state)
{
    struct kb *kb = load_shipped();
    const struct kb_card *generic = kb_generic(kb);
    size_t i, coded = 0;

    (void)state;
    assert_non_null(kb->source);
    assert_true(strlen(kb->source) > 0);
    assert_non_null(generic);
    assert_string_equal(generic->icd9, "*");
    for (i = 0; i < kb->ncards; i++) {
        const struct kb_card *c = &kb->cards[i];

        coded += strcmp(c->icd9, "*") != 0;
        assert_true(strlen(c->name) > 0 && strlen(c->complications) > 0 && strlen(c->treatments) > 0);
        assert_hints_valid(c->complication_hints, c->ncomplication_hints);
        assert_hints_valid(c->procedure_hints, c->nprocedure_hints);
        assert_true(c->ndrugs > 0);
    }
    assert_true(coded >= MIN_SHIPPED_CARDS);
    assert_int_equal(coded + 1, kb->ncards);
    kb_free(&kb);
    assert_null(kb);
}

/* Strips the dot, as a caller holding an undotted MIMIC code would have it. */
static void undot(const char *code, char *out, size_t n)
{
    size_t j = 0;

    for (; *code && j + 1 < n; code++)
        if (*code != '.')
            out[j++] = *code;
    out[j] = '\0';
}

static void test_find_dotted_and_undotted(void **state)
{
    struct kb *kb = load_shipped();
    const struct kb_card *a = kb_find(kb, "428.0"), *b = kb_find(kb, "4280");
    char plain[32];
    size_t i;

    (void)state;
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_string_equal(a->icd9, "428.0");
    assert_ptr_equal(kb_find(kb, "V05.3"), kb_find(kb, "V053"));
    assert_non_null(kb_find(kb, "v05.3"));
    for (i = 0; i < kb->ncards; i++) {
        undot(kb->cards[i].icd9, plain, sizeof plain);
        assert_ptr_equal(kb_find(kb, kb->cards[i].icd9), &kb->cards[i]);
        assert_ptr_equal(kb_find(kb, plain), &kb->cards[i]);
    }
    assert_null(kb_find(kb, "42.80"));
    assert_null(kb_find(kb, "4280."));
    assert_null(kb_find(kb, ""));
    assert_null(kb_find(kb, NULL));
    assert_null(kb_find(NULL, "428.0"));
    assert_null(kb_find(kb, "V99.99"));
    kb_free(&kb);
}

static void test_cards_sorted_by_undotted_code(void **state)
{
    struct kb *kb = load_shipped();
    char prev[32], cur[32];
    size_t i;

    (void)state;
    undot(kb->cards[0].icd9, prev, sizeof prev);
    for (i = 1; i < kb->ncards; i++) {
        undot(kb->cards[i].icd9, cur, sizeof cur);
        assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof cur);
    }
    kb_free(&kb);
}

static void test_display_shipped(void **state)
{
    struct kb *kb = load_shipped();
    char plain[32];
    size_t i, j;

    (void)state;
    for (i = 0; i < kb->ncards; i++) {
        const struct kb_card *c = &kb->cards[i];

        assert_ptr_equal(kb_display(kb, c->icd9), c->name);
        undot(c->icd9, plain, sizeof plain);
        assert_ptr_equal(kb_display(kb, plain), c->name);
        for (j = 0; j < c->ncomplication_hints; j++)
            assert_non_null(kb_display(kb, c->complication_hints[j].code));
        for (j = 0; j < c->nprocedure_hints; j++)
            assert_non_null(kb_display(kb, c->procedure_hints[j].code));
    }
    assert_null(kb_display(kb, NULL));
    assert_null(kb_display(NULL, "428.0"));
    assert_null(kb_display(kb, "0000F"));
    kb_free(&kb);
}

static void test_display_precedence(void **state)
{
    struct error err;
    struct kb *kb = parse_str(INLINE_KB, &err);
    const struct kb_card *af;

    (void)state;
    assert_non_null(kb);
    assert_string_equal(kb_display(kb, "428.0"), "HF card");   /* card name beats a hint label */
    assert_string_equal(kb_display(kb, "4280"), "HF card");
    assert_string_equal(kb_display(kb, "427.31"), "AF card");
    assert_string_equal(kb_display(kb, "42731"), "cpt label"); /* exact CPT match beats the ICD-9 reading */
    assert_string_equal(kb_display(kb, "584.9"), "aki from B"); /* first in card order: 427.31 sorts first */
    assert_string_equal(kb_display(kb, "93306"), "echo B");
    assert_null(kb_display(kb, "99291"));                        /* hint without a display */
    assert_null(kb_display(kb, "12345"));
    af = kb_find(kb, "42731");
    assert_non_null(af);
    assert_string_equal(af->icd9, "427.31");                     /* stored dotted */
    assert_string_equal(af->complication_hints[1].code, "584.9");
    assert_null(af->procedure_hints[1].display);
    assert_int_equal(af->nsynonyms, 0);
    assert_int_equal(af->ndrugs, 1);
    assert_string_equal(af->drugs[0].type, "BASE");
    assert_string_equal(af->drugs[0].route, "");                 /* optional drug fields read as "" */
    assert_null(kb_generic(kb));
    kb_free(&kb);
}

/* Reads the one-line expectation next to a bad sample into out. */
static void read_expect(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");

    if (!f)
        fail_msg("cannot open %s", path);
    if (!fgets(out, (int)n, f))
        fail_msg("%s is empty", path);
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    assert_true(strlen(out) > 0);
}

static void check_bad_sample(const char *dir, const char *file)
{
    char path[4096], expect_path[4096], expect[512];
    size_t stem = strlen(file) - strlen(".json");
    struct error err;
    struct kb *kb;

    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path ||
        snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", dir, (int)stem, file) >= (int)sizeof expect_path)
        fail_msg("path too long: %s/%s", dir, file);
    read_expect(expect_path, expect, sizeof expect);
    error_clear(&err);
    kb = kb_load(path, &err);
    if (kb || err.code != LLMSYN_E_INPUT || !strstr(err.msg, expect) || !strstr(err.msg, file))
        fail_msg("%s: got status %d, message '%s'; want LLMSYN_E_INPUT and '%s'", file, (int)err.code,
                 err.msg, expect);
}

static void test_bad_samples(void **state)
{
    char dir[4096];
    struct dirent *e;
    size_t n = 0, len;
    DIR *d;

    (void)state;
    if (snprintf(dir, sizeof dir, "%s/tests/data/knowledge", repo_root()) >= (int)sizeof dir)
        fail_msg("LLMSYN_ROOT too long");
    d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    while ((e = readdir(d))) {
        len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        check_bad_sample(dir, e->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= MIN_BAD_SAMPLES);
}

static void expect_error(const char *text, const char *want)
{
    struct error err;
    struct kb *kb = parse_str(text, &err);

    if (kb || err.code != LLMSYN_E_INPUT || !strstr(err.msg, want) || !strstr(err.msg, "inline.json"))
        fail_msg("got status %d, message '%s'; want '%s'", (int)err.code, err.msg, want);
}

static void test_limits(void **state)
{
    struct buf b;
    int i;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_puts(&b, "{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0\", \"name\": \"n\","
                                  " \"treatments\": \"t\", \"complications\": \""), 0);
    for (i = 0; i < 9000; i++)
        assert_int_equal(buf_putc(&b, 'a'), 0);
    assert_int_equal(buf_puts(&b, "\"}]}"), 0);
    expect_error(buf_str(&b), "cards[0].complications: longer than 8192 bytes");

    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0\", \"name\": \"n\","
                                  " \"treatments\": \"t\", \"complications\": \"c\", \"complication_codes\": ["), 0);
    for (i = 0; i < 65; i++)
        assert_int_equal(buf_printf(&b, "%s{\"code\": \"584.9\", \"weight\": 1}", i ? "," : ""), 0);
    assert_int_equal(buf_puts(&b, "]}]}"), 0);
    expect_error(buf_str(&b), "cards[0].complication_codes: more than 64 entries");
    buf_free(&b);

    expect_error("{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0\", \"name\": \"a\\u0001b\"}]}",
                 "cards[0].name: contains a control character");
    expect_error("{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0000000000000\"}]}",
                 "cards[0].icd9: longer than 15 bytes");
    expect_error("{\"source\": 5, \"cards\": []}", "source: must be a string");
    expect_error("{\"source\": \"x\", \"cards\": [], \"extra\": 1}", "extra: unknown field");
    expect_error("", "inline.json:1:1: invalid json");
    expect_error("{\"source\": \"x\", \"cards\": [], \"a\\nb\": 1}", "a?b: unknown field");
}

/* icd9_procedure_codes: optional, stored dotted after two digits, hostile forms refused with their path. */
static void test_icd9_procedure_hints(void **state)
{
    static const char text[] =
        "{\"source\": \"x\", \"cards\": ["
        "{\"icd9\": \"*\", \"name\": \"generic\", \"complications\": \"c\", \"treatments\": \"t\","
        " \"complication_codes\": [], \"procedure_codes\": [],"
        " \"icd9_procedure_codes\": [{\"code\": \"9671\", \"display\": \"vent\", \"weight\": 0.4},"
        "                            {\"code\": \"3.91\", \"weight\": 1}, {\"code\": \"38.93\", \"weight\": 0.5}]},"
        "{\"icd9\": \"428.0\", \"name\": \"HF\", \"complications\": \"c\", \"treatments\": \"t\","
        " \"complication_codes\": [], \"procedure_codes\": []}]}";
    static const char *const bad[] = { "96.71 x", "96..71", "967.1", "V58.6", "", "96.711", "-9671" };
    const struct kb_card *g, *hf;
    struct error err;
    struct buf b;
    struct kb *kb = parse_str(text, &err);
    size_t i;

    (void)state;
    if (!kb)
        fail_msg("%s", err.msg);
    g = kb_generic(kb);
    hf = kb_find(kb, "428.0");
    assert_non_null(g);
    assert_non_null(hf);
    assert_int_equal(g->nicd9_procedure_hints, 3);
    assert_string_equal(g->icd9_procedure_hints[0].code, "96.71");
    assert_string_equal(g->icd9_procedure_hints[0].display, "vent");
    assert_string_equal(g->icd9_procedure_hints[1].code, "03.91");
    assert_null(g->icd9_procedure_hints[1].display);
    assert_string_equal(g->icd9_procedure_hints[2].code, "38.93");
    assert_true(g->icd9_procedure_hints[2].weight == 0.5);
    assert_int_equal(hf->nicd9_procedure_hints, 0);
    assert_null(hf->icd9_procedure_hints);
    kb_free(&kb);
    buf_init(&b, 0);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&b);
        assert_int_equal(buf_printf(&b, "{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0\", \"name\": \"n\","
                                        " \"complications\": \"c\", \"treatments\": \"t\", \"complication_codes\": [],"
                                        " \"procedure_codes\": [], \"icd9_procedure_codes\": [{\"code\": \"%s\","
                                        " \"weight\": 1}]}]}", bad[i]), 0);
        expect_error(buf_str(&b), bad[i][0] ? "cards[0].icd9_procedure_codes[0].code: '" : "code: must not be empty");
    }
    buf_free(&b);
    expect_error("{\"source\": \"x\", \"cards\": [{\"icd9\": \"428.0\", \"name\": \"n\", \"complications\": \"c\","
                 " \"treatments\": \"t\", \"complication_codes\": [], \"procedure_codes\": [],"
                 " \"icd9_procedure_codes\": {}}]}",
                 "cards[0].icd9_procedure_codes: must be an array");
}

/* The shipped generic card has ICD-9-CM procedure hints (the builtin backend's fallback), all dotted. */
static void test_shipped_icd9_procedure_hints(void **state)
{
    struct kb *kb = load_shipped();
    const struct kb_card *g = kb_generic(kb), *c;
    size_t i, j, with = 0;

    (void)state;
    assert_non_null(g);
    assert_true(g->nicd9_procedure_hints >= 3);
    for (i = 0; i < kb->ncards; i++) {
        c = &kb->cards[i];
        with += c->nicd9_procedure_hints > 0;
        for (j = 0; j < c->nicd9_procedure_hints; j++) {
            const char *code = c->icd9_procedure_hints[j].code;

            assert_true(strlen(code) >= 4 && strlen(code) <= 5 && code[2] == '.');
            assert_true(c->icd9_procedure_hints[j].weight > 0.0 && c->icd9_procedure_hints[j].weight <= 1.0);
        }
    }
    assert_true(with >= 21); /* the generic card and the 20 most frequent diagnoses of the prior */
    kb_free(&kb);
}

static void test_length_bounded_parse(void **state)
{
    size_t len = sizeof INLINE_KB - 1;
    char *copy = malloc(len);
    struct error err;
    struct kb *kb;

    (void)state;
    assert_non_null(copy);
    memcpy(copy, INLINE_KB, len); /* no NUL terminator: the parser must stay inside len */
    error_clear(&err);
    kb = kb_parse(copy, len, "inline.json", &err);
    assert_non_null(kb);
    assert_int_equal(kb->ncards, 2);
    kb_free(&kb);
    error_clear(&err);
    assert_null(kb_parse(copy, len - 3, "inline.json", &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "invalid json"));
    free(copy);
}

static void test_load_missing_file(void **state)
{
    struct error err;

    (void)state;
    error_clear(&err);
    assert_null(kb_load("no/such/dir/knowledge.json", &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "no/such/dir/knowledge.json"));
    kb_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_loads),
        cmocka_unit_test(test_find_dotted_and_undotted),
        cmocka_unit_test(test_cards_sorted_by_undotted_code),
        cmocka_unit_test(test_display_shipped),
        cmocka_unit_test(test_display_precedence),
        cmocka_unit_test(test_bad_samples),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_icd9_procedure_hints),
        cmocka_unit_test(test_shipped_icd9_procedure_hints),
        cmocka_unit_test(test_length_bounded_parse),
        cmocka_unit_test(test_load_missing_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
