/* test_limits.c - unit tests of the named input limits: JSON nesting pre-scan, bounded lines, their users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/synthetic.h"
#include "eval/table.h"
#include "net/fhir_client.h"
#include "net/journal.h"
#include "util/limits.h"

/* prefix, '[' * depth, ']' * depth, suffix; caller frees. */
static char *nested_in(const char *prefix, int depth, const char *suffix)
{
    size_t lp = strlen(prefix), ls = strlen(suffix), d = (size_t)depth;
    char *s = malloc(lp + 2 * d + ls + 1);

    assert_non_null(s);
    memcpy(s, prefix, lp);
    memset(s + lp, '[', d);
    memset(s + lp + d, ']', d);
    memcpy(s + lp + 2 * d, suffix, ls + 1);
    return s;
}

static char *nested(const char *prefix, int depth)
{
    return nested_in(prefix, depth, "");
}

static void test_depth_boundary(void **state)
{
    char *ok = nested("", LIMIT_JSON_DEPTH), *deep = nested("  ", LIMIT_JSON_DEPTH + 1);

    (void)state;
    assert_int_equal(limits_json_too_deep(ok, strlen(ok), LIMIT_JSON_DEPTH), -1);
    /* the bracket that opens level 65 sits after the two blanks and 64 brackets */
    assert_int_equal(limits_json_too_deep(deep, strlen(deep), LIMIT_JSON_DEPTH), 2 + LIMIT_JSON_DEPTH);
    /* the length bounds the scan: the first 64 brackets alone are within the limit */
    assert_int_equal(limits_json_too_deep(deep, 2 + LIMIT_JSON_DEPTH, LIMIT_JSON_DEPTH), -1);
    free(ok);
    free(deep);
}

static void test_depth_strings_skipped(void **state)
{
    const char *s = "{\"a\":\"[[[{{{\\\"[[[\",\"b\":[{\"c\":\"]]]\"}]}";
    const char *closing = "]]]]]]]]]]{}";

    (void)state;
    /* three levels outside the strings; the brackets and the escaped quote inside them do not count */
    assert_int_equal(limits_json_too_deep(s, strlen(s), 3), -1);
    assert_int_equal(limits_json_too_deep(s, strlen(s), 2), (long)(strstr(s, ":[{") + 2 - s));
    assert_int_equal(limits_json_too_deep(s, strlen(s), 1), (long)(strstr(s, ":[{") + 1 - s));
    /* stray closers do not lower the depth below zero */
    assert_int_equal(limits_json_too_deep(closing, strlen(closing), 0), 10);
}

static void test_parse_names_limit(void **state)
{
    struct error err = { 0 };
    char *ok = nested("", LIMIT_JSON_DEPTH), *deep = nested("", LIMIT_JSON_DEPTH + 1);
    cJSON *doc = limits_json_parse(ok, strlen(ok), "'ok.json'", LLMSYN_E_INPUT, &err);

    (void)state;
    assert_true(cJSON_IsArray(doc));
    assert_int_equal(err.code, LLMSYN_OK);
    cJSON_Delete(doc);
    assert_null(limits_json_parse(deep, strlen(deep), "'x.json'", LLMSYN_E_INPUT, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_string_equal(err.msg, "'x.json' nests deeper than LIMIT_JSON_DEPTH (64 levels) at byte 64");
    error_clear(&err);
    assert_null(limits_json_parse("{nope", 5, "'y.json'", LLMSYN_E_INPUT, &err));
    assert_int_equal(err.code, LLMSYN_OK); /* not JSON is the caller's to name */
    free(ok);
    free(deep);
}

static FILE *file_of(const char *text)
{
    FILE *f = tmpfile();

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    rewind(f);
    return f;
}

static void test_read_line_bounded(void **state)
{
    FILE *f = file_of("short\nthis line is far too long\nnext\nlast");
    struct buf line;
    int too_long = -1;

    (void)state;
    buf_init(&line, 8);
    assert_int_equal(limits_read_line(f, &line, 8, &too_long), 1);
    assert_string_equal(buf_str(&line), "short\n");
    assert_int_equal(too_long, 0);
    assert_int_equal(limits_read_line(f, &line, 8, &too_long), 1);
    assert_int_equal(too_long, 1);
    assert_int_equal(line.len, 8); /* never more than the limit held */
    assert_memory_equal(line.data, "this lin", 8);
    assert_int_equal(limits_read_line(f, &line, 8, &too_long), 1); /* the rest of the long line was consumed */
    assert_string_equal(buf_str(&line), "next\n");
    assert_int_equal(limits_read_line(f, &line, 8, &too_long), 1);
    assert_string_equal(buf_str(&line), "last");
    assert_int_equal(limits_read_line(f, &line, 8, &too_long), 0);
    buf_free(&line);
    fclose(f);
}

static void test_fhir_reply_too_deep(void **state)
{
    char *deep = nested("", LIMIT_JSON_DEPTH + 1);
    struct fhir_reply r;
    struct error err = { 0 };

    (void)state;
    fhir_read_reply(200, -1, deep, strlen(deep), 1, &r);
    assert_int_equal(r.kind, FHIR_REPLY_RETRY);
    assert_non_null(strstr(r.reason, "nests deeper than LIMIT_JSON_DEPTH (64 levels)"));
    assert_int_equal(fhir_check_capability(deep, strlen(deep), NULL, "http://h", &err), -1);
    assert_string_equal(err.msg, "the /metadata reply nests deeper than LIMIT_JSON_DEPTH (64 levels) at byte 64");
    free(deep);
}

#define GOOD_LINE "{\"file\":\"%s\",\"hash\":\"%016llx\",\"target\":\"http://t\",\"outcome\":\"ok\"}\n"

/* A journal with an overlong line between two good ones: the long line is skipped, both good ones load. */
static void test_journal_long_line(void **state)
{
    char dir[] = "/tmp/test_limits_XXXXXX", path[128];
    uint64_t h1 = journal_hash("a", 1), h2 = journal_hash("b", 1);
    struct journal *j = NULL;
    struct error err = { 0 };
    FILE *f = NULL;
    size_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/post-journal.ndjson", dir);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f, GOOD_LINE, "a.json", (unsigned long long)h1);
    for (i = 0; i < (70u << 10); i++) /* past JOURNAL_MAX_LINE (64 KiB) */
        fputc('x', f);
    fputc('\n', f);
    fprintf(f, GOOD_LINE, "b.json", (unsigned long long)h2);
    assert_int_equal(fclose(f), 0);
    j = journal_open(dir, "http://t", &err);
    assert_non_null(j);
    assert_int_equal(journal_ok_count(j), 2);
    assert_true(journal_has_ok(j, "a.json", h1));
    assert_true(journal_has_ok(j, "b.json", h2));
    journal_close(&j);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* Writes dir/Patient.ndjson: a good Patient line, then `bad` bytes of the second line (NUL-free). */
static void write_ndjson(const char *dir, const char *bad, size_t pad)
{
    char path[128];
    FILE *f;
    size_t i;

    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    assert_non_null(f = fopen(path, "w"));
    fputs("{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n", f);
    fputs(bad, f);
    for (i = 0; i < pad; i++)
        fputc(' ', f);
    fputs("\n", f);
    assert_int_equal(fclose(f), 0);
}

/* eval's NDJSON reader: a line deeper than LIMIT_JSON_DEPTH, and one longer than SYN_MAX_LINE, named by line. */
static void test_ndjson_limits(void **state)
{
    char dir[] = "/tmp/test_limits_XXXXXX", path[128], want[256];
    char *deep = nested_in("{\"resourceType\":\"Patient\",\"id\":\"p2\",\"x\":", LIMIT_JSON_DEPTH, "}");
    struct eval_table t = { NULL, 0, 0 };
    struct error err = { 0 };

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Patient.ndjson", dir);
    write_ndjson(dir, deep, 0);
    assert_int_equal(synthetic_read(dir, &t, &err), LLMSYN_E_INPUT);
    snprintf(want, sizeof want, "%s:2 nests deeper than LIMIT_JSON_DEPTH (64 levels) at byte", path);
    assert_non_null(strstr(err.msg, want));
    eval_table_free(&t);
    error_clear(&err);
    write_ndjson(dir, "{\"resourceType\":\"Patient\",\"id\":\"p3\"}", SYN_MAX_LINE);
    assert_int_equal(synthetic_read(dir, &t, &err), LLMSYN_E_INPUT);
    snprintf(want, sizeof want, "%s:2: line exceeds SYN_MAX_LINE (16 MiB)", path);
    assert_string_equal(err.msg, want);
    eval_table_free(&t);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_boundary),
        cmocka_unit_test(test_depth_strings_skipped),
        cmocka_unit_test(test_parse_names_limit),
        cmocka_unit_test(test_read_line_bounded),
        cmocka_unit_test(test_fhir_reply_too_deep),
        cmocka_unit_test(test_journal_long_line),
        cmocka_unit_test(test_ndjson_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
