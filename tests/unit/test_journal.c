/* test_journal.c - the run journal (.llmsyn-journal): header, parser (torn, garbage, mismatched), file round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/run_journal.h"

static void opts_for(struct llmsyn_options *o, uint64_t seed)
{
    llmsyn_options_init(o);
    o->seed = seed;
    o->count = 1000;
    o->format = LLMSYN_FORMAT_NDJSON;
    o->model = "gpt\tx\n";
}

static char header[RUN_JOURNAL_MAX_HEADER];

static int parse(const char *text, uint64_t first, struct run_journal_state *st, struct error *err)
{
    return run_journal_parse("j", text, strlen(text), header, first, st, NULL, NULL, err);
}

/* Builds "<header><rest>" into out. */
static const char *with_header(char *out, size_t size, const char *rest)
{
    snprintf(out, size, "%s%s", header, rest);
    return out;
}

static int setup(void **state)
{
    struct llmsyn_options o;

    (void)state;
    opts_for(&o, 42);
    return run_journal_header(&o, header, sizeof header);
}

static void test_header_escapes_values(void **state)
{
    (void)state;
    assert_non_null(strstr(header, "\tseed=42\t"));
    assert_non_null(strstr(header, "\tformat=ndjson\t"));
    assert_non_null(strstr(header, "\tmodel=gpt\\x09x\\x0a\n"));
    assert_ptr_equal(strchr(header, '\n'), header + strlen(header) - 1);
}

static void test_records_and_lengths(void **state)
{
    char text[4096];
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };

    (void)state;
    with_header(text, sizeof text, "10 o A.ndjson=5 B.ndjson=7\n11 o A.ndjson=9 B.ndjson=7\n12 f bad\n");
    assert_int_equal(parse(text, 10, &st, &err), 0);
    assert_int_equal(st.next, 13);
    assert_int_equal(st.ok, 2);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.nfiles, 2);
    assert_string_equal(st.files[0].name, "A.ndjson");
    assert_int_equal(st.files[0].len, 9);
    assert_int_equal(st.files[1].len, 7);
    assert_int_equal(st.valid, strlen(text));
}

static void test_torn_last_line_ignored(void **state)
{
    char text[4096];
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };

    (void)state;
    with_header(text, sizeof text, "0 o A.ndjson=5\n1 o A.ndjson=1");
    assert_int_equal(parse(text, 0, &st, &err), 0);
    assert_int_equal(st.next, 1);
    assert_int_equal(st.files[0].len, 5);
    assert_int_equal(st.valid, strlen(header) + strlen("0 o A.ndjson=5\n"));
    /* A torn header: nothing was journaled; start over. */
    assert_int_equal(run_journal_parse("j", header, 10, header, 7, &st, NULL, NULL, &err), 0);
    assert_int_equal(st.next, 7);
    assert_int_equal(st.valid, 0);
}

static void expect_garbage(const char *rest, const char *why)
{
    char text[4096];
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };

    with_header(text, sizeof text, rest);
    assert_int_equal(parse(text, 0, &st, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_OUTPUT);
    assert_non_null(strstr(err.msg, why));
}

static void test_garbage_lines_refused(void **state)
{
    (void)state;
    expect_garbage("0 o A.ndjson=5\nxyz\n", "line 3");
    expect_garbage("1 o A.ndjson=5\n", "next record's index");         /* skips record 0 */
    expect_garbage("0 o A.ndjson=5\n0 o A.ndjson=6\n", "line 3");    /* duplicate */
    expect_garbage("0 o ../x=5\n", "bad file name");
    expect_garbage("0 o .hidden=5\n", "bad file name");
    expect_garbage("0 o A.ndjson=99999999999999999999999\n", "bad file length");
    expect_garbage("0 o A.ndjson=5x\n", "bad file length");
    expect_garbage("0 q\n", "expected 'o' or 'f'");
    expect_garbage("0 f bad\\x4\n", "bad failure reason");
}

static int collect(void *user, uint64_t index, const char *reason)
{
    char *out = user;

    snprintf(out, 64, "%llu:%s", (unsigned long long)index, reason);
    return 0;
}

static void test_failed_reason_unescaped(void **state)
{
    char text[4096], got[64] = "";
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };

    (void)state;
    with_header(text, sizeof text, "0 f step x\\x0ay\\x5c\n");
    assert_int_equal(run_journal_parse("j", text, strlen(text), header, 0, &st, collect, got, &err), 0);
    assert_string_equal(got, "0:step x\ny\\");
}

static void test_mismatched_options_named(void **state)
{
    struct llmsyn_options o;
    char other[RUN_JOURNAL_MAX_HEADER];
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };

    (void)state;
    opts_for(&o, 7);
    assert_int_equal(run_journal_header(&o, other, sizeof other), 0);
    assert_int_equal(run_journal_parse("dir", header, strlen(header), other, 0, &st, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_USAGE);
    assert_non_null(strstr(err.msg, "--seed '42', this command has '7'"));
    error_clear(&err);
    opts_for(&o, 42);
    o.shard_index = 1;
    o.shard_count = 2;
    assert_int_equal(run_journal_header(&o, other, sizeof other), 0);
    assert_int_equal(run_journal_parse("dir", header, strlen(header), other, 0, &st, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "--shard '0/1', this command has '1/2'"));
    error_clear(&err);
    assert_int_equal(run_journal_parse("dir", "not a journal\n", 14, header, 0, &st, NULL, NULL, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_OUTPUT);
}

static void test_file_round_trip(void **state)
{
    char dir[] = "/tmp/test_journal.XXXXXX";
    struct sink_length files[2] = { { "A.ndjson", 12 }, { "B.ndjson", 3 } };
    struct run_journal *j = NULL;
    struct run_journal_state st;
    struct error err = { LLMSYN_OK, "" };
    char *data = NULL, path[64];
    size_t len = 0;
    uint64_t i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(run_journal_read(dir, &data, &len, &err), 1);
    j = run_journal_open(dir, header, 0, &err);
    assert_non_null(j);
    for (i = 0; i < RUN_JOURNAL_SYNC_EVERY + 3; i++) {
        files[0].len += i;
        assert_int_equal(run_journal_add(j, i, i == 5 ? "why" : NULL, files, 2, &err), LLMSYN_OK);
    }
    assert_int_equal(run_journal_close(&j, 0, &err), LLMSYN_OK);
    assert_int_equal(run_journal_read(dir, &data, &len, &err), 0);
    assert_int_equal(run_journal_parse("j", data, len, header, 0, &st, NULL, NULL, &err), 0);
    assert_int_equal(st.next, RUN_JOURNAL_SYNC_EVERY + 3);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.files[0].len, files[0].len);
    /* Reopen keeping the first lines only: later lines are cut off. */
    free(data);
    j = run_journal_open(dir, header, strlen(header) + 4, &err);
    assert_non_null(j);
    assert_int_equal(run_journal_close(&j, 0, &err), LLMSYN_OK);
    assert_int_equal(run_journal_read(dir, &data, &len, &err), 0);
    assert_int_equal(len, strlen(header) + 4);
    assert_int_equal(run_journal_parse("j", data, len, header, 0, &st, NULL, NULL, &err), 0);
    assert_int_equal(st.next, 0); /* "0 o " is a torn line now */
    j = run_journal_open(dir, header, st.valid, &err);
    assert_non_null(j);
    assert_int_equal(run_journal_close(&j, 1, &err), LLMSYN_OK);
    snprintf(path, sizeof path, "%s/%s", dir, RUN_JOURNAL_NAME);
    assert_int_equal(access(path, F_OK), -1);
    free(data);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_escapes_values),  cmocka_unit_test(test_records_and_lengths),
        cmocka_unit_test(test_torn_last_line_ignored), cmocka_unit_test(test_garbage_lines_refused),
        cmocka_unit_test(test_failed_reason_unescaped), cmocka_unit_test(test_mismatched_options_named),
        cmocka_unit_test(test_file_round_trip),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
