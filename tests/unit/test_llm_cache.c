/* test_llm_cache.c - the disk answer cache: keys, round trips, atomic files, hostile entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm/llm_internal.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/llmsyn-cache-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* SHA-256("openai\0http://h/v1\0m\0{}") computed independently of the code under test (python hashlib). */
static void test_key_known_value(void **state)
{
    char hex[LLM_CACHE_KEY_HEX];
    char want[128];
    FILE *p;

    (void)state;
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "{}", 2, hex), 0);
    p = popen("python3 -c \"import hashlib;print(hashlib.sha256(b'openai\\0http://h/v1\\0m\\0{}').hexdigest())\"", "r");
    assert_non_null(p);
    assert_non_null(fgets(want, sizeof want, p));
    pclose(p);
    want[strcspn(want, "\n")] = '\0';
    assert_string_equal(hex, want);
}

/* Backend, model and body each change the key; the boundary between them matters. */
static void test_key_parts(void **state)
{
    char a[LLM_CACHE_KEY_HEX], b[LLM_CACHE_KEY_HEX];

    (void)state;
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "{\"x\":1}", 7, a), 0);
    assert_int_equal(llm_cache_key("ollama", "http://h/v1", "m", "{\"x\":1}", 7, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m2", "{\"x\":1}", 7, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "{\"x\":2}", 7, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(llm_cache_key("openaim", "http://h/v1", "", "{\"x\":1}", 7, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(llm_cache_key("openai", "http://other/v1", "m", "{\"x\":1}", 7, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "{\"x\":1}", 7, b), 0);
    assert_string_equal(a, b);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
}

static void test_round_trip(void **state)
{
    char hex[LLM_CACHE_KEY_HEX], path[256];
    const char *answer = "Final Output:\n[ICD9_CODE]: 428.0\n\"quoted\" \xc3\xa9";
    struct llm_usage in = { 123, 45, 0, 0, 0, 0 }, out;
    struct buf got;
    struct error err;
    struct stat st;

    (void)state;
    error_clear(&err);
    buf_init(&got, 0);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "body", 4, hex), 0);
    assert_int_equal(llm_cache_get(dir, hex, &got, &out), 0);
    assert_int_equal(llm_cache_put(dir, hex, answer, strlen(answer), &in, &err), 0);
    snprintf(path, sizeof path, "%s/%.2s/%s.json", dir, hex, hex);
    assert_int_equal(stat(path, &st), 0);
    memset(&out, 0, sizeof out);
    assert_int_equal(llm_cache_get(dir, hex, &got, &out), 1);
    assert_string_equal(buf_str(&got), answer);
    assert_int_equal(out.prompt_tokens, 123);
    assert_int_equal(out.completion_tokens, 45);
    buf_free(&got);
}

/* No temporary file is left behind; a second put replaces the entry. */
static void test_atomic_no_leftovers(void **state)
{
    char hex[LLM_CACHE_KEY_HEX], sub[128];
    struct llm_usage u = { 1, 2, 0, 0, 0, 0 };
    struct error err;
    struct buf got;
    struct dirent *e;
    DIR *d;
    int files = 0;

    (void)state;
    error_clear(&err);
    buf_init(&got, 0);
    assert_int_equal(llm_cache_key("anthropic", "http://h/v1", "c", "x", 1, hex), 0);
    assert_int_equal(llm_cache_put(dir, hex, "one", 3, &u, &err), 0);
    assert_int_equal(llm_cache_put(dir, hex, "two", 3, &u, &err), 0);
    snprintf(sub, sizeof sub, "%s/%.2s", dir, hex);
    assert_non_null(d = opendir(sub));
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            files++;
        else
            assert_true(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
    closedir(d);
    assert_int_equal(files, 1);
    assert_int_equal(llm_cache_get(dir, hex, &got, NULL), 1);
    assert_string_equal(buf_str(&got), "two");
    buf_free(&got);
}

/* Writes text as the entry of hex. */
static void plant(const char *hex, const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "%s/%.2s", dir, hex);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%.2s/%s.json", dir, hex, hex);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

/* Truncated, mistyped or misfiled entries are misses, never answers. */
static void test_hostile_entries(void **state)
{
    char hex[LLM_CACHE_KEY_HEX], other[LLM_CACHE_KEY_HEX], text[256];
    struct buf got;

    (void)state;
    buf_init(&got, 0);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "a", 1, hex), 0);
    assert_int_equal(llm_cache_key("openai", "http://h/v1", "m", "b", 1, other), 0);
    plant(hex, "{\"key\":\"");
    assert_int_equal(llm_cache_get(dir, hex, &got, NULL), 0);
    plant(hex, "{\"answer\":42}");
    assert_int_equal(llm_cache_get(dir, hex, &got, NULL), 0);
    snprintf(text, sizeof text, "{\"key\":\"%s\",\"answer\":\"stolen\"}", other);
    plant(hex, text);
    assert_int_equal(llm_cache_get(dir, hex, &got, NULL), 0);
    snprintf(text, sizeof text, "{\"key\":\"%s\",\"answer\":\"ok\",\"prompt_tokens\":-5}", hex);
    plant(hex, text);
    assert_int_equal(llm_cache_get(dir, hex, &got, NULL), 1);
    assert_string_equal(buf_str(&got), "ok");
    buf_free(&got);
}

static void test_default_dir(void **state)
{
    char out[256];

    (void)state;
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    assert_int_equal(llmsyn_default_cache_dir(out, sizeof out), 0);
    assert_string_equal(out, "/x/cache/llmsyn-fhir");
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(llmsyn_default_cache_dir(out, sizeof out), 0);
    assert_string_equal(out, "/home/u/.cache/llmsyn-fhir");
    assert_int_equal(llmsyn_default_cache_dir(out, 8), -1);
    setenv("XDG_CACHE_HOME", "relative", 1); /* the XDG spec ignores relative paths */
    assert_int_equal(llmsyn_default_cache_dir(out, sizeof out), 0);
    assert_string_equal(out, "/home/u/.cache/llmsyn-fhir");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_known_value),
        cmocka_unit_test(test_key_parts),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_no_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_entries, setup, teardown),
        cmocka_unit_test(test_default_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
