/* test_llm_backends.c - every backend against tests/servers/fake_openai.py: reply-shape fixtures,
 * retries through injected faults, the consecutive-failure stop and the answer cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/steps.h"
#include "llm/backend.h"
#include "llm/llm_internal.h"

extern char **environ;

#define PROMPT "Generate the main diagnosis of the patient.\nStep: main_diagnosis\n[GENDER]: M\n"
#define SYSTEM "You are a professional medical doctor."
#define SECRET "sk-test-SECRET-777"

struct fixture {
    pid_t pid;
    char url[128];          /* http://127.0.0.1:<port> */
    char stats[64];         /* the server's counters, written on exit */
    char cache[64];         /* a temporary cache folder */
    struct llmsyn_options opts;
    struct llm_config cfg;
    struct llm_backend *b;  /* owned */
    struct llm_request req;
    struct llm_usage usage;
    struct buf answer;      /* owned */
    struct error err;
};

static const char *root_dir(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

static int read_port(int fd)
{
    char line[32];
    size_t used = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    long port;
    char *end;

    while (used < sizeof line - 1 && poll(&p, 1, 15000) == 1) {
        if (read(fd, line + used, 1) != 1 || line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    port = strtol(line, &end, 10);
    return (end != line && port > 0 && port < 65536) ? (int)port : -1;
}

/* Starts the fake server with the extra arguments (NULL-terminated). */
static void fake_start(struct fixture *fx, const char *const *extra)
{
    char script[512];
    const char *argv[32];
    posix_spawn_file_actions_t fa;
    int fds[2], port, fd;
    size_t n = 0, i;

    snprintf(script, sizeof script, "%s/tests/servers/fake_openai.py", root_dir());
    snprintf(fx->stats, sizeof fx->stats, "/tmp/llmsyn-stats-XXXXXX");
    assert_true((fd = mkstemp(fx->stats)) >= 0);
    close(fd);
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--stats";
    argv[n++] = fx->stats;
    for (i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
    assert_int_equal(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
    assert_int_equal(posix_spawnp(&fx->pid, "python3", &fa, NULL, (char *const *)(uintptr_t)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    port = read_port(fds[0]);
    close(fds[0]);
    assert_true(port > 0);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d", port);
}

/* Stops the server and returns its counter `name` (requests, peak_inflight, ...). */
static long fake_stop(struct fixture *fx, const char *name)
{
    char text[1024] = "";
    FILE *f;
    cJSON *j;
    long v;
    int status = 0;

    kill(fx->pid, SIGTERM);
    assert_int_equal(waitpid(fx->pid, &status, 0), fx->pid);
    fx->pid = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(f = fopen(fx->stats, "r"));
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    unlink(fx->stats);
    assert_non_null(j = cJSON_Parse(text));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, name)));
    v = (long)cJSON_GetObjectItem(j, name)->valuedouble;
    cJSON_Delete(j);
    return v;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    llmsyn_options_init(&fx->opts);
    fx->opts.backend = "openai";
    fx->opts.model = "fake-gpt";
    fx->opts.temperature = 0.5;
    fx->opts.max_tokens = 256;
    fx->opts.timeout_ms = 10000;
    fx->opts.retry_base_ms = 20;
    fx->cfg.opts = &fx->opts;
    fx->req.step = step_find("main_diagnosis");
    fx->req.system = SYSTEM;
    fx->req.prompt = PROMPT;
    fx->req.seed = 99;
    buf_init(&fx->answer, 0);
    error_clear(&fx->err);
    snprintf(fx->cache, sizeof fx->cache, "/tmp/llmsyn-llmcache-XXXXXX");
    if (!mkdtemp(fx->cache))
        return -1;
    llm_failures_reset();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    llm_backend_free(&fx->b);
    buf_free(&fx->answer);
    if (fx->pid > 0) {
        kill(fx->pid, SIGTERM);
        waitpid(fx->pid, NULL, 0);
        unlink(fx->stats);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->cache);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

/* A backend for opts.backend, pointed at the server (openai needs the /v1 base). */
static void new_backend(struct fixture *fx)
{
    static char base[160];

    snprintf(base, sizeof base, "%s%s", fx->url, !strcmp(fx->opts.backend, "openai") ? "/v1" : "");
    fx->opts.llm_url = base;
    llm_backend_free(&fx->b);
    error_clear(&fx->err);
    fx->b = llm_backend_new(&fx->cfg, &fx->err);
    if (!fx->b)
        fail_msg("backend %s: %s", fx->opts.backend, fx->err.msg);
    assert_string_equal(fx->b->name, fx->opts.backend);
}

static int complete(struct fixture *fx)
{
    buf_reset(&fx->answer);
    error_clear(&fx->err);
    return fx->b->complete(fx->b, &fx->req, &fx->answer, &fx->usage, &fx->err);
}

static void assert_err_has(const struct fixture *fx, const char *needle)
{
    assert_int_equal(fx->err.code, LLMSYN_E_BACKEND);
    if (!strstr(fx->err.msg, needle))
        fail_msg("error '%s' lacks '%s'", fx->err.msg, needle);
}

/* Every fixture of tests/data/openai/shapes/index.json through its backend: the answer and token counts,
 * or the expected error. */
static void test_reply_shapes(void **state)
{
    struct fixture *fx = *state;
    char dir[512], path[600], text[16384];
    const char *args[] = { "--shapes", dir, "--require-key", SECRET, NULL };
    const cJSON *e;
    cJSON *index;
    FILE *f;
    size_t n;
    int count = 0;

    snprintf(dir, sizeof dir, "%s/tests/data/openai/shapes", root_dir());
    snprintf(path, sizeof path, "%s/index.json", dir);
    assert_non_null(f = fopen(path, "r"));
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(index = cJSON_Parse(text));
    fake_start(fx, args);
    fx->opts.api_key = SECRET;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(index, "fixtures")) {
        const char *want_err = llm_json_string(e, "error"), *want = llm_json_string(e, "answer");

        fx->opts.backend = llm_json_string(e, "backend");
        fx->opts.model = llm_json_string(e, "name");
        new_backend(fx);
        if (want_err) {
            if (complete(fx) != -1)
                fail_msg("fixture %s parsed but should fail", fx->opts.model);
            assert_err_has(fx, want_err);
            assert_null(strstr(fx->err.msg, SECRET));
        } else {
            if (complete(fx) != 0)
                fail_msg("fixture %s: %s", fx->opts.model, fx->err.msg);
            assert_non_null(strstr(buf_str(&fx->answer), want));
            assert_int_equal(fx->usage.prompt_tokens, llm_json_count(e, "prompt_tokens"));
            assert_int_equal(fx->usage.completion_tokens, llm_json_count(e, "completion_tokens"));
            assert_int_equal(fx->usage.requests, 1);
        }
        count++;
    }
    cJSON_Delete(index);
    assert_true(count >= 15);
    assert_int_equal(fake_stop(fx, "requests"), count);
}

/* Azure, Ollama native and Anthropic end to end with their own paths, headers and keys. */
static void test_native_apis(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--require-key", SECRET, "--api-version", "2024-10-21", NULL };
    static const char *const names[] = { "azure", "ollama", "anthropic", "openai" };
    size_t i;

    fake_start(fx, args);
    for (i = 0; i < 4; i++) {
        fx->opts.backend = names[i];
        fx->opts.api_key = SECRET;
        new_backend(fx);
        if (complete(fx) != 0)
            fail_msg("%s: %s", names[i], fx->err.msg);
        assert_non_null(strstr(buf_str(&fx->answer), "ICD9_CODE"));
        assert_true(fx->usage.prompt_tokens > 0 && fx->usage.completion_tokens > 0);
        if (!strcmp(names[i], "ollama"))
            continue; /* Ollama takes no key */
        fx->opts.api_key = "sk-wrong-SECRET-1";
        new_backend(fx);
        assert_int_equal(complete(fx), -1);
        assert_err_has(fx, "HTTP 401");
        assert_null(strstr(fx->err.msg, "sk-wrong"));
    }
    fx->opts.backend = "azure";
    fx->opts.api_key = SECRET;
    fx->opts.azure_api_version = "2099-01-01";
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, "HTTP 404");
    assert_int_equal(fake_stop(fx, "requests"), 8);
}

/* A reset connection, 429 with Retry-After, 500, 503, a garbage and a truncated 200 are retried and the
 * call succeeds; the usage counts every attempt. (The reset comes first: on a reused connection libcurl
 * itself re-sends once, which the server would count and the client not.) */
static void test_retries_survive_faults(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fault", "reset,429,500,garbage,truncated,503", "--retry-after", "1",
                                        NULL };

    fake_start(fx, args);
    fx->opts.max_retries = 6;
    new_backend(fx);
    if (complete(fx) != 0)
        fail_msg("%s", fx->err.msg);
    assert_non_null(strstr(buf_str(&fx->answer), "ICD9_CODE"));
    assert_int_equal(fx->usage.requests, 7);
    assert_int_equal(fx->usage.retries, 6);
    assert_int_equal(fx->usage.failures, 6);
    assert_int_equal(fx->usage.cache_hit, 0);
    assert_true(fx->usage.prompt_tokens > 0);
    assert_int_equal(fake_stop(fx, "requests"), 7);
}

/* A reply slower than the timeout is retried; the second attempt answers. */
static void test_timeout_retried(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fault", "slow", "--slow", "2", NULL };

    fake_start(fx, args);
    fx->opts.max_retries = 2;
    fx->opts.timeout_ms = 500;
    new_backend(fx);
    if (complete(fx) != 0)
        fail_msg("%s", fx->err.msg);
    assert_int_equal(fx->usage.requests, 2);
    assert_int_equal(fx->usage.failures, 1);
    fake_stop(fx, "requests");
}

/* Out of retries: the last error and the number of attempts; a 400-class error is never retried. */
static void test_gives_up(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fail-first", "100", "--require-key", SECRET, NULL };

    fake_start(fx, args);
    fx->opts.max_retries = 2;
    fx->opts.api_key = SECRET;
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, "HTTP 500");
    assert_err_has(fx, "gave up after 3 attempts");
    assert_int_equal(fx->usage.requests, 3);
    fx->opts.api_key = "sk-wrong";
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, "HTTP 401");
    assert_int_equal(fx->usage.requests, 1);
    assert_int_equal(fake_stop(fx, "requests"), 4);
}

/* M failed attempts in a row stop the calls even with retries left, across backend instances. */
static void test_consecutive_failures_stop(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fail-first", "100", NULL };
    struct llm_backend *other;

    fake_start(fx, args);
    fx->opts.max_retries = 50;
    fx->opts.max_consecutive_failures = 4;
    new_backend(fx);
    fx->opts.max_retries = 1;
    other = llm_backend_new(&fx->cfg, &fx->err);
    assert_non_null(other);
    assert_int_equal(other->complete(other, &fx->req, &fx->answer, &fx->usage, &fx->err), -1); /* 2 failures */
    llm_backend_free(&other);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, "stopping after 4 consecutive failed model requests");
    assert_err_has(fx, "HTTP 500");
    assert_int_equal(fx->usage.requests, 2);
    assert_int_equal(fake_stop(fx, "requests"), 4);
}

/* A second identical request is answered from the cache: same text, same usage, no request; another
 * model or --no-cache asks again. */
static void test_cache_hit(void **state)
{
    struct fixture *fx = *state;
    char first[4096];
    struct llm_usage u1;

    fake_start(fx, NULL);
    fx->opts.cache_dir = fx->cache;
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 0);
    snprintf(first, sizeof first, "%s", buf_str(&fx->answer));
    u1 = fx->usage;
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 1);
    assert_int_equal(fx->usage.requests, 0);
    assert_string_equal(buf_str(&fx->answer), first);
    assert_int_equal(fx->usage.prompt_tokens, u1.prompt_tokens);
    assert_int_equal(fx->usage.completion_tokens, u1.completion_tokens);
    fx->req.seed = 100; /* another body */
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 0);
    fx->opts.no_cache = 1;
    fx->req.seed = 99;
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 0);
    assert_int_equal(fake_stop(fx, "requests"), 3);
}

/* A failed call leaves nothing in the cache. */
static void test_cache_skips_failures(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fail-first", "1", NULL };

    fake_start(fx, args);
    fx->opts.cache_dir = fx->cache;
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 0);
    assert_int_equal(complete(fx), 0);
    assert_int_equal(fx->usage.cache_hit, 1);
    assert_int_equal(fake_stop(fx, "requests"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_native_apis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_survive_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consecutive_failures_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_skips_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
