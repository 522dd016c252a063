/* test_csv.c - unit tests of the bounded RFC 4180 CSV reader: quoting, line numbers, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/csv.h"

static char tmpl[] = "/tmp/test_csv_XXXXXX";
static char path[256];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(path, sizeof path, "%s/in.csv", tmpl);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(tmpl);
}

static void write_bytes(const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Reads the whole file; returns the csv_next code that ended it, the error in err, the records in *n. */
static int read_all(size_t max_record, size_t max_fields, int header, struct error *err, size_t *n)
{
    struct csv_reader r;
    int rc = 0;

    error_clear(err);
    *n = 0;
    if (csv_open(&r, path, max_record, max_fields, err)) {
        csv_close(&r);
        return -1;
    }
    if (header && csv_read_header(&r, err)) {
        csv_close(&r);
        return -1;
    }
    while ((rc = csv_next(&r, err)) == 1)
        (*n)++;
    csv_close(&r);
    return rc;
}

static void expect_error(const char *data, size_t len, size_t max_record, size_t max_fields, int header,
                         const char *where, const char *why)
{
    struct error err;
    size_t n = 0;
    char want[300];

    write_bytes(data, len);
    assert_int_equal(read_all(max_record, max_fields, header, &err, &n), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    snprintf(want, sizeof want, "%s:%s: ", path, where);
    if (strncmp(err.msg, want, strlen(want)) != 0 || !strstr(err.msg, why))
        fail_msg("got '%s', want '%s...%s'", err.msg, want, why);
}

static void test_quoting_and_lines(void **state)
{
    static const char data[] = "\xEF\xBB\xBF" "a,B,c\r\n"
                               "1,\"x, \"\"y\"\"\",\"multi\nline\"\n"
                               "\n"
                               ",,\n"
                               "\"\",caf\xC3\xA9,z";
    struct csv_reader r;
    struct error err = {LLMSYN_OK, ""};
    char **hdr = NULL;

    (void)state;
    write_bytes(data, sizeof data - 1);
    assert_int_equal(csv_open(&r, path, 0, 0, &err), 0);
    assert_int_equal(csv_read_header(&r, &err), 0);
    hdr = csv_copy_fields(&r);
    assert_non_null(hdr);
    assert_string_equal(hdr[0], "a"); /* the BOM is skipped */
    assert_int_equal(csv_column(hdr, 3, "b"), 1);
    assert_int_equal(csv_column(hdr, 3, "C"), 2);
    assert_int_equal(csv_column(hdr, 3, "d"), -1);
    csv_strings_free(&hdr, 3);
    assert_null(hdr);
    assert_int_equal(csv_next(&r, &err), 1);
    assert_int_equal(r.line, 2);
    assert_string_equal(csv_field(&r, 1), "x, \"y\"");
    assert_string_equal(csv_field(&r, 2), "multi\nline");
    assert_int_equal(csv_next(&r, &err), 1);
    assert_int_equal(r.line, 5); /* after the two-line record and the skipped blank line */
    assert_int_equal(csv_nfields(&r), 3);
    assert_string_equal(csv_field(&r, 0), "");
    assert_int_equal(csv_next(&r, &err), 1);
    assert_string_equal(csv_field(&r, 1), "caf\xC3\xA9");
    assert_string_equal(csv_field(&r, 2), "z");
    assert_string_equal(csv_field(&r, 9), "");
    assert_int_equal(csv_next(&r, &err), 0);
    assert_int_equal(err.code, LLMSYN_OK);
    csv_close(&r);
}

static void test_hostile(void **state)
{
    char *big = NULL;
    size_t n = 3 * 1024 * 1024;

    (void)state;
    expect_error("a,b\n1,2\n3,\"open\n4,5\n", 20, 0, 0, 1, "3", "unterminated quoted field");
    expect_error("a,b\n1,2,3\n", 10, 0, 0, 1, "2", "3 fields, the header has 2");
    expect_error("a,b,c,d,e\n", 10, 0, 4, 0, "1", "too many fields");
    expect_error("a,b\n1,\xC3\x28\n", 9, 0, 0, 1, "2", "field 2 is not valid UTF-8");
    expect_error("a,b\n\xC0\x80,1\n", 9, 0, 0, 1, "2", "not valid UTF-8");
    expect_error("a,b\n\"x\"y,1\n", 11, 0, 0, 1, "2", "unexpected character after closing quote");
    expect_error("a,b\nx\"y,1\n", 10, 0, 0, 1, "2", "quote inside an unquoted field");
    expect_error("a,b\nx\0y,1\n", 10, 0, 0, 1, "2", "NUL byte");
    expect_error("", 0, 0, 0, 1, "1", "empty file");
    big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "a\nb\n", 4);
    memset(big + 4, 'x', n);
    big[n + 4] = '\n';
    expect_error(big, n + 5, 0, 0, 1, "3", "record too long"); /* over the 1 MiB default */
    expect_error(big, n + 5, 1000, 0, 1, "3", "record too long");
    free(big);
}

/* max_record bytes of fields are accepted, one more is not, however they are split (found by fuzz_csv). */
static void test_record_limit_exact(void **state)
{
    struct error err;
    size_t n = 0;

    (void)state;
    write_bytes("abcd,efgh\n\"ab\"\"c\",d,e\n", 22);
    assert_int_equal(read_all(8, 0, 0, &err, &n), 0);
    assert_int_equal(n, 2);
    expect_error("abcd,efghi\n", 11, 8, 0, 0, "1", "record too long");
    expect_error("123456789\n", 10, 8, 0, 0, "1", "record too long");
    expect_error("a,b,c,d,e,f,g,h,i\n", 18, 8, 0, 0, "1", "record too long");
    expect_error("x\n\"abcd\",\"ef\"\"gh\"\n", 18, 8, 0, 0, "2", "record too long");
}

static void test_missing_file(void **state)
{
    struct csv_reader r;
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    assert_int_equal(csv_open(&r, "/nonexistent/x.csv", 0, 0, &err), LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "cannot open '/nonexistent/x.csv'"));
    csv_close(&r);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(csv_utf8_valid("plain", 5));
    assert_true(csv_utf8_valid("\xE2\x82\xAC\xF0\x9F\x98\x80", 7));
    assert_false(csv_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(csv_utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
    assert_false(csv_utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(csv_utf8_valid("\xE2\x82", 2));         /* truncated */
    assert_false(csv_utf8_valid("\xFF", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting_and_lines),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_record_limit_exact),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
