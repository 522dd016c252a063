/* test_openai.c - the openai backend and the HTTP client against tests/servers/fake_openai.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/steps.h"
#include "llm/backend.h"
#include "net/http.h"

extern char **environ;

#define PROMPT "Generate the main diagnosis of the patient.\nStep: main_diagnosis\n[GENDER]: M\n"
#define SYSTEM "You are a professional medical doctor."
#define REASK "Your answer has no ICD9_CODE field. Answer again with a Final Output block."

/* One test's world: a fake server, options pointing at it, a backend and its answer. */
struct fixture {
    pid_t pid;                  /* the fake server, or 0 */
    int port;
    char log[64];               /* request log written by the server */
    char url[128];              /* http://127.0.0.1:<port>/v1/ */
    struct llmsyn_options opts;
    struct llm_config cfg;
    struct llm_backend *b;      /* owned */
    struct llm_request req;
    struct llm_usage usage;
    struct buf answer;          /* owned */
    struct error err;
};

static const char *root_dir(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

/* Reads tests/data/openai/<rel> into a malloc'd string. */
static char *read_answer(const char *rel)
{
    char path[512];
    FILE *f;
    char *s;
    long n;

    snprintf(path, sizeof path, "%s/tests/data/openai/%s", root_dir(), rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Reads the server's first stdout line (its port) within 15 s. */
static int read_port(int fd)
{
    char line[32];
    size_t used = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    ssize_t n;
    long port;
    char *end;

    while (used < sizeof line - 1 && poll(&p, 1, 15000) == 1) {
        n = read(fd, line + used, 1);
        if (n != 1 || line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    port = strtol(line, &end, 10);
    return (end != line && port > 0 && port < 65536) ? (int)port : -1;
}

/* Starts fake_openai.py with --answers <answers> --log <tmp> and the extra arguments. */
static void fake_start(struct fixture *fx, const char *answers, const char *const *extra)
{
    char script[512], dir[512];
    const char *argv[24];
    posix_spawn_file_actions_t fa;
    int fds[2], fd;
    size_t n = 0, i;

    snprintf(script, sizeof script, "%s/tests/servers/fake_openai.py", root_dir());
    snprintf(dir, sizeof dir, "%s/tests/data/openai/%s", root_dir(), answers);
    snprintf(fx->log, sizeof fx->log, "/tmp/llmsyn-openai-log-XXXXXX");
    assert_true((fd = mkstemp(fx->log)) >= 0);
    close(fd);
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--answers";
    argv[n++] = dir;
    argv[n++] = "--log";
    argv[n++] = fx->log;
    for (i = 0; extra && extra[i] && n < 23; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
    assert_int_equal(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
    /* posix_spawnp's argv type predates const; the strings are not modified. */
    assert_int_equal(posix_spawnp(&fx->pid, "python3", &fa, NULL, (char *const *)(uintptr_t)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fx->port = read_port(fds[0]);
    close(fds[0]);
    assert_true(fx->port > 0);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d/v1/", fx->port);
    fx->opts.llm_url = fx->url;
}

/* SIGTERM must end the server cleanly (exit status 0). */
static void fake_stop(struct fixture *fx)
{
    int status = 0;

    if (fx->pid <= 0)
        return;
    kill(fx->pid, SIGTERM);
    assert_int_equal(waitpid(fx->pid, &status, 0), fx->pid);
    fx->pid = 0;
    unlink(fx->log);
    fx->log[0] = '\0';
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    llmsyn_options_init(&fx->opts);
    fx->opts.backend = "openai";
    fx->opts.model = "test-model";
    fx->opts.temperature = 0.25;
    fx->opts.max_tokens = 512;
    fx->opts.timeout_ms = 10000;
    fx->cfg.opts = &fx->opts;
    fx->req.step = step_find("main_diagnosis");
    fx->req.system = SYSTEM;
    fx->req.prompt = PROMPT;
    fx->req.seed = 42;
    buf_init(&fx->answer, 0);
    error_clear(&fx->err);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    llm_backend_free(&fx->b);
    buf_free(&fx->answer);
    if (fx->pid > 0) {
        kill(fx->pid, SIGTERM);
        waitpid(fx->pid, NULL, 0);
    }
    if (fx->log[0])
        unlink(fx->log);
    free(fx);
    return 0;
}

static void new_backend(struct fixture *fx)
{
    fx->b = openai_backend_new(&fx->cfg, &fx->err);
    assert_non_null(fx->b);
    assert_string_equal(fx->b->name, "openai");
}

static int complete(struct fixture *fx)
{
    buf_reset(&fx->answer);
    error_clear(&fx->err);
    return fx->b->complete(fx->b, &fx->req, &fx->answer, &fx->usage, &fx->err);
}

/* The n-th (0-based) request body the server logged; caller frees with cJSON_Delete. */
static cJSON *logged_request(const struct fixture *fx, int n, char *raw, size_t rawlen)
{
    FILE *f = fopen(fx->log, "r");
    char line[65536];
    cJSON *j = NULL;
    int i = 0;

    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        if (i++ == n) {
            j = cJSON_Parse(line);
            if (raw) {
                size_t len = strlen(line) < rawlen ? strlen(line) : rawlen - 1;

                memcpy(raw, line, len);
                raw[len] = '\0';
            }
            break;
        }
    }
    fclose(f);
    assert_non_null(j);
    return j;
}

static void assert_message(const cJSON *msgs, int i, const char *role, const char *content)
{
    const cJSON *m = cJSON_GetArrayItem(msgs, i);

    assert_non_null(m);
    assert_string_equal(cJSON_GetObjectItem(m, "role")->valuestring, role);
    assert_string_equal(cJSON_GetObjectItem(m, "content")->valuestring, content);
}

static void assert_err_has(const struct fixture *fx, llmsyn_status code, const char *needle)
{
    if (getenv("TEST_VERBOSE"))
        print_message("error: %s\n", fx->err.msg);
    assert_int_equal(fx->err.code, code);
    if (!strstr(fx->err.msg, needle))
        fail_msg("error '%s' lacks '%s'", fx->err.msg, needle);
}

/* A normal completion returns the canned text (round-robin by name) and the token counts. */
static void test_completion(void **state)
{
    struct fixture *fx = *state;
    char *first = read_answer("good/main_diagnosis.fence.txt");
    char *second = read_answer("good/main_diagnosis.prose.txt");

    fake_start(fx, "good", NULL);
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    assert_string_equal(buf_str(&fx->answer), first);
    assert_true(fx->usage.prompt_tokens > 0);
    assert_true(fx->usage.completion_tokens > 0);
    assert_int_equal(complete(fx), 0);
    assert_string_equal(buf_str(&fx->answer), second);
    assert_int_equal(fx->err.code, LLMSYN_OK);
    free(first);
    free(second);
    fake_stop(fx);
}

/* The body on the wire: model, system + user messages, temperature, seed, max_tokens. */
static void test_request_body(void **state)
{
    struct fixture *fx = *state;
    cJSON *j, *msgs;

    fake_start(fx, "good", NULL);
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    j = logged_request(fx, 0, NULL, 0);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "test-model");
    msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_message(msgs, 0, "system", SYSTEM);
    assert_message(msgs, 1, "user", PROMPT);
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0.25);
    assert_true(cJSON_GetObjectItem(j, "seed")->valuedouble == 42.0);
    assert_true(cJSON_GetObjectItem(j, "max_tokens")->valuedouble == 512.0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "stream")));
    cJSON_Delete(j);
    fake_stop(fx);
}

/* A 64-bit seed goes out as an exact integer below 2^31: (s ^ s >> 32) & 0x7fffffff. */
static void test_seed_on_wire(void **state)
{
    struct fixture *fx = *state;
    char raw[4096];
    cJSON *j;

    fake_start(fx, "good", NULL);
    fx->opts.max_tokens = 0;
    new_backend(fx);
    fx->req.seed = 0x123456789abcdef0ULL;
    assert_int_equal(complete(fx), 0);
    j = logged_request(fx, 0, raw, sizeof raw);
    assert_non_null(strstr(raw, "\"seed\":143165576"));
    assert_true(cJSON_GetObjectItem(j, "seed")->valuedouble == 143165576.0);
    assert_null(cJSON_GetObjectItem(j, "max_tokens"));
    cJSON_Delete(j);
    fake_stop(fx);
}

/* A re-ask sends user prompt, assistant's previous answer, user follow-up; the server answers it. */
static void test_reask(void **state)
{
    struct fixture *fx = *state;
    char *bad = read_answer("reask/main_diagnosis.malformed.txt");
    char *fixed = read_answer("reask/main_diagnosis.reask.txt");
    cJSON *j, *msgs;

    fake_start(fx, "reask", NULL);
    new_backend(fx);
    fx->req.system = NULL;
    assert_int_equal(complete(fx), 0);
    assert_string_equal(buf_str(&fx->answer), bad);
    assert_null(strstr(bad, "ICD9_CODE"));
    fx->req.previous_answer = bad;
    fx->req.reask = REASK;
    assert_int_equal(complete(fx), 0);
    assert_string_equal(buf_str(&fx->answer), fixed);
    j = logged_request(fx, 1, NULL, 0);
    msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_message(msgs, 0, "user", PROMPT);
    assert_message(msgs, 1, "assistant", bad);
    assert_message(msgs, 2, "user", REASK);
    cJSON_Delete(j);
    free(bad);
    free(fixed);
    fake_stop(fx);
}

/* A 500 names the status and the server's message; the same backend works on the next call. */
static void test_server_error(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fail-first", "1", NULL };

    fake_start(fx, "good", args);
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "HTTP 500");
    assert_err_has(fx, LLMSYN_E_BACKEND, "The server had an error");
    assert_err_has(fx, LLMSYN_E_BACKEND, "127.0.0.1");
    assert_int_equal(complete(fx), 0);
    assert_true(fx->answer.len > 0);
    fake_stop(fx);
}

static void test_rate_limited(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--fail-first", "1", "--fail-status", "429", NULL };

    fake_start(fx, "good", args);
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "HTTP 429");
    assert_err_has(fx, LLMSYN_E_BACKEND, "rate limited");
    fake_stop(fx);
}

/* A long server message is cut to 200 bytes and marked. */
static void test_long_error_cut(void **state)
{
    struct fixture *fx = *state;
    char longmsg[1001];
    const char *args[] = { "--fail-first", "1", "--fail-message", longmsg, NULL };
    const char *quote;

    memset(longmsg, 'a', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    fake_start(fx, "good", args);
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "HTTP 500");
    quote = strstr(fx->err.msg, "aaa");
    assert_non_null(quote);
    assert_int_equal(strspn(quote, "a"), 200);
    assert_string_equal(quote + 200, "...");
    fake_stop(fx);
}

/* A wrong key gives 401; the server echoes the key, the error must not. */
static void test_wrong_key(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--require-key", "sk-right-key-123", NULL };
    const char *wrong = "sk-wrong-SECRET-987";

    fake_start(fx, "good", args);
    fx->opts.api_key = wrong;
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "HTTP 401");
    assert_err_has(fx, LLMSYN_E_BACKEND, "Incorrect API key provided: [redacted]");
    assert_null(strstr(fx->err.msg, wrong));
    assert_null(strstr(fx->err.msg, "SECRET"));
    llm_backend_free(&fx->b);
    fx->opts.api_key = "sk-right-key-123";
    new_backend(fx);
    assert_int_equal(complete(fx), 0);
    fx->opts.api_key = NULL;
    llm_backend_free(&fx->b);
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "didn't provide an API key");
    fake_stop(fx);
}

static void test_options_checked(void **state)
{
    struct fixture *fx = *state;

    fx->opts.model = NULL;
    assert_null(openai_backend_new(&fx->cfg, &fx->err));
    assert_int_equal(fx->err.code, LLMSYN_E_USAGE);
    assert_string_equal(fx->err.msg, "--model is required for the openai backend");
    error_clear(&fx->err);
    fx->opts.model = "";
    assert_null(openai_backend_new(&fx->cfg, &fx->err));
    assert_int_equal(fx->err.code, LLMSYN_E_USAGE);
    error_clear(&fx->err);
    fx->opts.model = "m";
    fx->opts.llm_url = "ftp://user:pw@example.com/v1";
    assert_null(openai_backend_new(&fx->cfg, &fx->err));
    assert_err_has(fx, LLMSYN_E_USAGE, "must start with http:// or https://");
    assert_null(strstr(fx->err.msg, "pw"));
    error_clear(&fx->err);
    fx->opts.llm_url = NULL;
    fx->opts.temperature = 3.0;
    assert_null(openai_backend_new(&fx->cfg, &fx->err));
    assert_int_equal(fx->err.code, LLMSYN_E_USAGE);
    error_clear(&fx->err);
    fx->opts.temperature = 0.7;
    fx->opts.api_key = "line\r\nX-Evil: 1";
    assert_null(openai_backend_new(&fx->cfg, &fx->err));
    assert_int_equal(fx->err.code, LLMSYN_E_USAGE);
    assert_null(strstr(fx->err.msg, "Evil"));
}

/* A port with nothing listening gives a clear error naming the URL. */
static void test_connection_refused(void **state)
{
    struct fixture *fx = *state;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(s >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    snprintf(fx->url, sizeof fx->url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    fx->opts.llm_url = fx->url;
    new_backend(fx);
    assert_int_equal(complete(fx), -1);
    close(s);
    assert_err_has(fx, LLMSYN_E_BACKEND, "Couldn't connect to server");
    assert_err_has(fx, LLMSYN_E_BACKEND, fx->url);
}

static double now_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_timeout(void **state)
{
    struct fixture *fx = *state;
    static const char *const args[] = { "--delay", "3", NULL };
    double t0;

    fake_start(fx, "good", args);
    fx->opts.timeout_ms = 300;
    new_backend(fx);
    t0 = now_s();
    assert_int_equal(complete(fx), -1);
    assert_true(now_s() - t0 < 2.0);
    assert_err_has(fx, LLMSYN_E_BACKEND, "Timeout was reached");
    fake_stop(fx);
}

/* Starts a server in --mode mode and makes one call. */
static int call_in_mode(struct fixture *fx, const char *mode)
{
    const char *args[] = { "--mode", mode, NULL };
    int rc;

    fake_start(fx, "good", args);
    new_backend(fx);
    rc = complete(fx);
    llm_backend_free(&fx->b);
    fake_stop(fx);
    return rc;
}

static void test_reply_shapes(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(call_in_mode(fx, "no-choices"), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "reply from http://127.0.0.1");
    assert_err_has(fx, LLMSYN_E_BACKEND, "has no choices");
    assert_int_equal(call_in_mode(fx, "null-content"), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "choices[0].message.content (I can't help with that.)");
    assert_int_equal(call_in_mode(fx, "not-json"), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "is not a JSON object");
    assert_int_equal(call_in_mode(fx, "huge"), -1);
    assert_err_has(fx, LLMSYN_E_BACKEND, "larger than the 8388608-byte cap");
    assert_int_equal(fx->answer.len, 0);
    assert_int_equal(call_in_mode(fx, "length"), 0);
    assert_non_null(strstr(buf_str(&fx->answer), "ICD9_CODE"));
    assert_int_equal(call_in_mode(fx, "no-usage"), 0);
    assert_true(fx->answer.len > 0);
    assert_true(fx->usage.prompt_tokens == 0 && fx->usage.completion_tokens == 0);
}

static void test_redact_url(void **state)
{
    char out[64];

    (void)state;
    http_redact_url("https://user:secret@api.example.com:8443/v1/chat?api-key=XYZ#frag", out, sizeof out);
    assert_string_equal(out, "https://api.example.com:8443/v1/chat");
    http_redact_url("http://127.0.0.1:8080/v1", out, sizeof out);
    assert_string_equal(out, "http://127.0.0.1:8080/v1");
    http_redact_url("http://a@b/c@d", out, sizeof out);
    assert_string_equal(out, "http://b/c@d");
    http_redact_url("http://example.com/a-very-long-path-that-does-not-fit-in-the-buffer", out, 16);
    assert_string_equal(out, "http://example.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_on_wire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_error_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_shapes, setup, teardown),
        cmocka_unit_test(test_redact_url),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
