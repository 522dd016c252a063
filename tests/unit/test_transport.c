/* test_transport.c - model POSTs from many threads share one multi loop: in flight together, pooled, stoppable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"

extern char **environ;

#define WORKERS 8
#define ROUNDS 3
#define BODY "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Step: demographics\\n\"}]}"

/* A fake_openai.py server and the files it writes. */
struct server {
    pid_t pid;
    int port;
    char stats[64];   /* --stats FILE: written when the server stops */
    char arrivals[64];/* --time-log FILE: one line per completion request received */
    char url[128];
};

/* One worker thread's requests. */
struct worker {
    const char *url;
    unsigned rounds;
    long statuses[ROUNDS]; /* status of each reply */
    int rc;                /* last http_post_json result */
    struct error err;
};

static const char *root_dir(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

/* Reads the server's first stdout line (its port) within 15 s. */
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

static void temp_name(char *out, size_t len, const char *tag)
{
    int fd;

    snprintf(out, len, "/tmp/llmsyn-transport-%s-XXXXXX", tag);
    assert_true((fd = mkstemp(out)) >= 0);
    close(fd);
}

/* Starts fake_openai.py with the extra arguments (NULL-terminated, at most 8). */
static void server_start(struct server *s, const char *const *extra)
{
    char script[512], answers[512];
    const char *argv[24];
    posix_spawn_file_actions_t fa;
    size_t n = 0, i;
    int fds[2];

    snprintf(script, sizeof script, "%s/tests/servers/fake_openai.py", root_dir());
    snprintf(answers, sizeof answers, "%s/tests/data/openai/good", root_dir());
    temp_name(s->stats, sizeof s->stats, "stats");
    temp_name(s->arrivals, sizeof s->arrivals, "arrivals");
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--answers";
    argv[n++] = answers;
    argv[n++] = "--stats";
    argv[n++] = s->stats;
    argv[n++] = "--time-log";
    argv[n++] = s->arrivals;
    for (i = 0; extra && extra[i] && i < 8; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, fds[1], 1), 0);
    assert_int_equal(posix_spawn_file_actions_addclose(&fa, fds[0]), 0);
    /* posix_spawnp's argv type predates const; the strings are not modified. */
    assert_int_equal(posix_spawnp(&s->pid, "python3", &fa, NULL, (char *const *)(uintptr_t)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    s->port = read_port(fds[0]);
    close(fds[0]);
    assert_true(s->port > 0);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/v1/chat/completions", s->port);
}

/* Stops the server (SIGTERM) and returns its --stats JSON; caller frees with cJSON_Delete. */
static cJSON *server_stop(struct server *s)
{
    char text[1024];
    size_t n;
    FILE *f;
    int status = 0;

    kill(s->pid, SIGTERM);
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    f = fopen(s->stats, "rb");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    unlink(s->stats);
    unlink(s->arrivals);
    return cJSON_Parse(text);
}

static long stat_of(const cJSON *stats, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(stats, name);

    assert_true(cJSON_IsNumber(v));
    return (long)v->valuedouble;
}

/* Threads of this process (entries of /proc/self/task). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void *no_op(void *arg)
{
    return arg;
}

/* Threads of the process once a first thread was made and joined (a sanitizer's runtime starts a
 * helper thread of its own with the first pthread_create). */
static int settled_thread_count(void)
{
    pthread_t th;

    assert_int_equal(pthread_create(&th, NULL, no_op, NULL), 0);
    pthread_join(th, NULL);
    return thread_count();
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct http_response resp;
    struct http_client *c = NULL;
    unsigned i;

    http_response_init(&resp);
    error_clear(&w->err);
    w->rc = -1;
    c = http_client_new(&w->err);
    for (i = 0; c && i < w->rounds; i++) {
        w->rc = http_post_json(c, w->url, NULL, BODY, strlen(BODY), 20000, &resp, &w->err);
        if (w->rc < 0)
            break;
        w->statuses[i] = resp.status;
    }
    http_client_free(&c);
    http_response_free(&resp);
    return NULL;
}

/* Runs `count` workers of `rounds` requests each against url; every request must get a 200. */
static void run_workers(const char *url, unsigned count, unsigned rounds)
{
    pthread_t th[WORKERS];
    struct worker w[WORKERS];
    unsigned i, r;

    memset(w, 0, sizeof w);
    for (i = 0; i < count; i++) {
        w[i].url = url;
        w[i].rounds = rounds;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < count; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < count; i++) {
        assert_int_equal(w[i].rc, 0);
        for (r = 0; r < rounds; r++)
            assert_int_equal(w[i].statuses[r], 200);
    }
}

/* Eight threads each blocked on a request: the server holds eight at once; over three rounds the
 * eight connections are reused (never more than one per client), and the loop thread ends with the
 * last client. */
static void test_in_flight_and_reuse(void **state)
{
    const char *const extra[] = { "--delay", "0.3", NULL };
    struct server s;
    cJSON *stats;
    int before = settled_thread_count();

    (void)state;
    server_start(&s, extra);
    run_workers(s.url, WORKERS, ROUNDS);
    assert_int_equal(thread_count(), before);
    stats = server_stop(&s);
    assert_non_null(stats);
    assert_int_equal(stat_of(stats, "requests"), WORKERS * ROUNDS);
    assert_int_equal(stat_of(stats, "peak_inflight"), WORKERS);
    assert_true(stat_of(stats, "connections") >= 1);
    assert_true(stat_of(stats, "connections") <= WORKERS);
    cJSON_Delete(stats);
}

/* The pool belongs to the transport, not to a client: workers that take turns (each a new client, so a
 * new easy handle) all reuse the first one's connection. Per-client connections would make eight. */
static void test_pool_shared_across_clients(void **state)
{
    struct http_client *keep = NULL; /* holds the transport (and so its pool) between the turns */
    struct server s;
    struct error err;
    cJSON *stats;
    unsigned i;

    (void)state;
    error_clear(&err);
    server_start(&s, NULL);
    keep = http_client_new(&err);
    assert_non_null(keep);
    for (i = 0; i < WORKERS; i++)
        run_workers(s.url, 1, 1);
    http_client_free(&keep);
    stats = server_stop(&s);
    assert_non_null(stats);
    assert_int_equal(stat_of(stats, "requests"), WORKERS);
    assert_int_equal(stat_of(stats, "connections"), 1);
    cJSON_Delete(stats);
}

/* The first client starts one loop thread, more clients share it, the last one's free stops it. */
static void test_one_loop_thread(void **state)
{
    struct http_client *c[3] = { NULL, NULL, NULL };
    struct error err;
    int before = settled_thread_count();
    size_t i;

    (void)state;
    error_clear(&err);
    for (i = 0; i < 3; i++) {
        c[i] = http_client_new(&err);
        assert_non_null(c[i]);
        assert_int_equal(thread_count(), before + 1);
    }
    for (i = 0; i < 3; i++) {
        http_client_free(&c[i]);
        assert_null(c[i]);
        assert_int_equal(thread_count(), i < 2 ? before + 1 : before);
    }
    /* A new client after the last one went starts a new loop. */
    c[0] = http_client_new(&err);
    assert_non_null(c[0]);
    assert_int_equal(thread_count(), before + 1);
    http_client_free(&c[0]);
    assert_int_equal(thread_count(), before);
}

/* Size of a file, 0 when missing. */
static long file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* A stop request abandons a request the server is holding (it would answer only after 30 s), makes
 * later requests fail at once, and a cleared stop lets them through again. */
static void test_stop_abandons_in_flight(void **state)
{
    const char *const extra[] = { "--fault", "slow", "--slow", "30", NULL };
    struct http_client *c = NULL;
    struct http_response resp;
    struct worker w;
    struct server s;
    pthread_t th;
    cJSON *stats;

    (void)state;
    http_response_init(&resp);
    server_start(&s, extra);
    memset(&w, 0, sizeof w);
    w.url = s.url;
    w.rounds = 1;
    assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
    while (file_size(s.arrivals) == 0) /* the server has the request */
        usleep(10000);
    http_request_stop();
    pthread_join(th, NULL);
    assert_int_equal(w.rc, -1);
    assert_int_equal(w.err.code, LLMSYN_E_INTERRUPTED);
    assert_non_null(strstr(w.err.msg, "interrupted"));
    assert_true(http_stop_requested());

    error_clear(&w.err);
    c = http_client_new(&w.err);
    assert_non_null(c);
    assert_int_equal(http_post_json(c, s.url, NULL, BODY, strlen(BODY), 20000, &resp, &w.err), -1);
    assert_int_equal(w.err.code, LLMSYN_E_INTERRUPTED);
    http_clear_stop();
    error_clear(&w.err);
    assert_int_equal(http_post_json(c, s.url, NULL, BODY, strlen(BODY), 20000, &resp, &w.err), 0);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(buf_str(&resp.body), "chat.completion"));
    http_client_free(&c);
    http_response_free(&resp);
    stats = server_stop(&s);
    assert_non_null(stats);
    assert_int_equal(stat_of(stats, "requests"), 2); /* the refused request never reached the server */
    cJSON_Delete(stats);
}

/* Through the loop, a failed transfer still names the URL without userinfo or query, and a body over
 * the cap is an error rather than a cut. */
static void test_errors_keep_contract(void **state)
{
    const char *const extra[] = { "--mode", "huge", NULL };
    struct http_client *c = NULL;
    struct http_response resp;
    struct error err;
    struct server s;
    char url[160];
    cJSON *stats;

    (void)state;
    http_response_init(&resp);
    error_clear(&err);
    c = http_client_new(&err);
    assert_non_null(c);
    assert_int_equal(http_post_json(c, "http://user:secret@127.0.0.1:1/v1/chat/completions?key=abc", NULL, BODY,
                                    strlen(BODY), 5000, &resp, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_BACKEND);
    assert_non_null(strstr(err.msg, "http://127.0.0.1:1/v1/chat/completions"));
    assert_null(strstr(err.msg, "secret"));
    assert_null(strstr(err.msg, "abc"));
    assert_int_equal(resp.status, 0);

    server_start(&s, extra);
    snprintf(url, sizeof url, "%s", s.url);
    error_clear(&err);
    assert_int_equal(http_post_json(c, url, NULL, BODY, strlen(BODY), 20000, &resp, &err), -1);
    assert_non_null(strstr(err.msg, "byte cap"));
    assert_int_equal(resp.body.len, 0);
    http_client_free(&c);
    http_response_free(&resp);
    stats = server_stop(&s);
    cJSON_Delete(stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_loop_thread),
        cmocka_unit_test(test_in_flight_and_reuse),
        cmocka_unit_test(test_pool_shared_across_clients),
        cmocka_unit_test(test_stop_abandons_in_flight),
        cmocka_unit_test(test_errors_keep_contract),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
