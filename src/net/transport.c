/* transport.c - one curl multi handle and one event-loop thread that carry every model request of the process. */
#include "net/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"

#define LOOP_TICK_MS 100 /* longest wait in poll(): the loop sees a stop request this often */
#define WATCH_MIN 16     /* first size of the socket table */

/* One submitted transfer. Lives on the submitting worker's stack until done is set. */
struct transfer {
    CURL *easy;                   /* borrowed: the worker's handle */
    CURLcode rc;                  /* the result, once done */
    int done, stopped;            /* guarded by the transport's mu */
    pthread_cond_t cv;            /* signalled when done is set */
    struct transfer *prev, *next; /* submit queue (next only, under mu) or running list (loop thread) */
};

/* The loop waits in poll() on the sockets libcurl asks it to watch (CURLMOPT_SOCKETFUNCTION) and on a
 * wake pipe, and drives only the sockets that are ready (curl_multi_socket_action): its cost per event
 * does not grow with the number of transfers in flight, unlike curl_multi_perform's. */
struct transport {
    pthread_mutex_t mu;
    CURLM *multi;                        /* owned; the loop thread's only */
    pthread_t thread;
    int wake[2];                         /* owned pipe, both ends non-blocking: a byte wakes the loop */
    struct pollfd *watch;                /* owned; watch[0] is wake[0], then libcurl's sockets; loop only */
    size_t nwatch, watch_cap;
    long long deadline_ms;               /* libcurl's timer (monotonic ms), -1 when none; loop only */
    struct transfer *queue, *queue_tail; /* submitted, not yet in the multi handle; guarded by mu */
    struct transfer *running;            /* in the multi handle; loop thread only */
    unsigned conns;                      /* wanted connection limit (the holders); guarded by mu */
    unsigned conns_set;                  /* the limit last applied; loop thread only */
    int quit;                            /* guarded by mu */
};

static pthread_mutex_t holders_lock = PTHREAD_MUTEX_INITIALIZER;
static struct transport *shared; /* guarded by holders_lock */
static unsigned holders;         /* guarded by holders_lock */
static atomic_int stop_flag; /* lock-free, so safe to set from a signal handler */

void http_request_stop(void)
{
    atomic_store(&stop_flag, 1);
}

void http_clear_stop(void)
{
    atomic_store(&stop_flag, 0);
}

int http_stop_requested(void)
{
    return atomic_load(&stop_flag) != 0;
}

/* Hands a transfer's result back to its waiting worker (who may free it as soon as mu is released). */
static void finish(struct transport *t, struct transfer *tr, CURLcode rc, int stopped)
{
    pthread_mutex_lock(&t->mu);
    tr->rc = rc;
    tr->stopped = stopped;
    tr->done = 1;
    pthread_cond_signal(&tr->cv);
    pthread_mutex_unlock(&t->mu);
}

static void running_add(struct transport *t, struct transfer *tr)
{
    tr->prev = NULL;
    tr->next = t->running;
    if (t->running)
        t->running->prev = tr;
    t->running = tr;
}

static void running_remove(struct transport *t, struct transfer *tr)
{
    if (tr->prev)
        tr->prev->next = tr->next;
    else
        t->running = tr->next;
    if (tr->next)
        tr->next->prev = tr->prev;
    tr->prev = tr->next = NULL;
}

/* Connections per host and in the cache: one per holder, so N workers get N connections at most
 * (fewer with HTTP/2, whose streams share one). */
static void apply_limits(struct transport *t, unsigned conns)
{
    long n = conns > 0 ? (long)conns : 1L;

    curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, n);
    t->conns_set = conns;
}

/* Moves the submitted transfers into the multi handle. Returns 1 when the loop should end. */
static int take_submitted(struct transport *t)
{
    struct transfer *q, *next;
    unsigned conns;
    int quit;

    pthread_mutex_lock(&t->mu);
    q = t->queue;
    t->queue = t->queue_tail = NULL;
    conns = t->conns;
    quit = t->quit;
    pthread_mutex_unlock(&t->mu);
    if (conns != t->conns_set)
        apply_limits(t, conns);
    for (; q; q = next) {
        next = q->next; /* q may be gone once finished */
        if (http_stop_requested())
            finish(t, q, CURLE_ABORTED_BY_CALLBACK, 1);
        else if (curl_multi_add_handle(t->multi, q->easy) != CURLM_OK)
            finish(t, q, CURLE_FAILED_INIT, 0);
        else
            running_add(t, q);
    }
    return quit;
}

/* Ends every running transfer with rc (stopped: abandoned on a stop request). */
static void abandon_running(struct transport *t, CURLcode rc, int stopped)
{
    struct transfer *tr;

    while ((tr = t->running) != NULL) {
        running_remove(t, tr);
        curl_multi_remove_handle(t->multi, tr->easy);
        finish(t, tr, rc, stopped);
    }
}

/* Hands every finished transfer back to its worker. */
static void drain(struct transport *t)
{
    CURLMsg *msg;
    int left = 0;

    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result; /* msg is invalid once the handle is removed */
        char *priv = NULL;
        struct transfer *tr;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        tr = (struct transfer *)(void *)priv;
        if (tr)
            running_remove(t, tr);
        curl_multi_remove_handle(t->multi, easy);
        if (tr)
            finish(t, tr, rc, 0);
    }
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wakes the loop (any thread). A full pipe already holds a wake-up, so a failed write loses nothing. */
static void wake_loop(struct transport *t)
{
    char b = 1;
    ssize_t n;

    do
        n = write(t->wake[1], &b, 1);
    while (n < 0 && errno == EINTR);
}

/* Empties the wake pipe (loop thread). */
static void drain_wake(struct transport *t)
{
    char b[64];

    while (read(t->wake[0], b, sizeof b) == (ssize_t)sizeof b) /* a short read emptied it */
        ;
}

/* CURLMOPT_SOCKETFUNCTION: keeps the poll table in step with what libcurl wants watched. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct transport *t = userp;
    short events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    size_t i;

    (void)easy;
    (void)socketp;
    for (i = 1; i < t->nwatch && t->watch[i].fd != s; i++)
        ;
    if (what == CURL_POLL_REMOVE) {
        if (i < t->nwatch)
            t->watch[i] = t->watch[--t->nwatch];
        return 0;
    }
    if (i == t->nwatch) {
        if (t->nwatch == t->watch_cap) {
            struct pollfd *grown = realloc(t->watch, t->watch_cap * 2 * sizeof *grown);

            if (!grown)
                return -1;
            t->watch = grown;
            t->watch_cap *= 2;
        }
        t->watch[t->nwatch++].fd = s;
    }
    t->watch[i].events = events;
    t->watch[i].revents = 0;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: when libcurl next wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct transport *t = userp;

    (void)multi;
    t->deadline_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

/* How long poll() may wait: until libcurl's timer, at most LOOP_TICK_MS. */
static int poll_wait_ms(const struct transport *t)
{
    long long left;

    if (t->deadline_ms < 0)
        return LOOP_TICK_MS;
    left = t->deadline_ms - now_ms();
    return left <= 0 ? 0 : left < LOOP_TICK_MS ? (int)left : LOOP_TICK_MS;
}

/* Hands the ready sockets (and an expired timer) to libcurl. Returns CURLM_OK or its error. */
static CURLMcode drive(struct transport *t, int nready)
{
    struct pollfd ready[64];
    size_t i, n = 0;
    int still = 0;
    CURLMcode mc = CURLM_OK;

    if (nready > 0 && t->watch[0].revents)
        drain_wake(t);
    /* Callbacks change the table while libcurl works: act on a copy of what was ready, in chunks. */
    for (i = 1; i < t->nwatch || n > 0;) {
        for (; i < t->nwatch && n < sizeof ready / sizeof ready[0]; i++)
            if (nready > 0 && t->watch[i].revents)
                ready[n++] = t->watch[i];
        while (n > 0 && mc == CURLM_OK) {
            short r = ready[--n].revents;
            int ev = ((r & POLLIN) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                     ((r & (POLLERR | POLLHUP | POLLNVAL)) ? CURL_CSELECT_ERR : 0);

            mc = curl_multi_socket_action(t->multi, ready[n].fd, ev, &still);
        }
        if (mc != CURLM_OK)
            return mc;
    }
    if (t->deadline_ms >= 0 && now_ms() >= t->deadline_ms) {
        t->deadline_ms = -1;
        mc = curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    return mc;
}

/* The event loop: add what was submitted, wait for sockets or the timer, drive them, hand back results. */
static void *loop_main(void *arg)
{
    struct transport *t = arg;
    CURLMcode mc;
    int nready;
    size_t i;

    for (;;) {
        int quit = take_submitted(t);

        if (http_stop_requested() || quit)
            abandon_running(t, CURLE_ABORTED_BY_CALLBACK, 1);
        if (quit)
            break;
        for (i = 0; i < t->nwatch; i++)
            t->watch[i].revents = 0;
        nready = poll(t->watch, (nfds_t)t->nwatch, poll_wait_ms(t));
        if (nready < 0 && errno != EINTR)
            nap_ms(10);
        mc = drive(t, nready);
        drain(t);
        if (mc != CURLM_OK) { /* libcurl itself failed: fail what runs, do not spin */
            abandon_running(t, mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT, 0);
            nap_ms(10);
        }
    }
    return NULL;
}

/* Frees a transport whose loop thread is not running (or was joined). */
static void transport_destroy(struct transport *t)
{
    if (t->multi)
        curl_multi_cleanup(t->multi);
    if (t->wake[0] >= 0)
        close(t->wake[0]);
    if (t->wake[1] >= 0)
        close(t->wake[1]);
    free(t->watch);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The wake pipe: non-blocking, closed on exec. Returns 0 or -1. */
static int open_wake_pipe(int fd[2])
{
    int i;

    if (pipe(fd) != 0) {
        fd[0] = fd[1] = -1;
        return -1;
    }
    for (i = 0; i < 2; i++)
        if (fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK) != 0 ||
            fcntl(fd[i], F_SETFD, FD_CLOEXEC) != 0)
            return -1;
    return 0;
}

/* The multi handle with its callbacks and the poll table. Returns 0 or -1. */
static int setup_multi(struct transport *t)
{
    if (!(t->watch = calloc(WATCH_MIN, sizeof *t->watch)))
        return -1;
    t->watch_cap = WATCH_MIN;
    t->watch[0].fd = t->wake[0];
    t->watch[0].events = POLLIN;
    t->nwatch = 1;
    t->deadline_ms = -1;
    t->multi = curl_multi_init();
    if (!t->multi || curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX) != CURLM_OK ||
        curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, (void *)t) != CURLM_OK ||
        curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, (void *)t) != CURLM_OK)
        return -1;
    return 0;
}

static struct transport *transport_new(struct error *err)
{
    struct transport *t = calloc(1, sizeof *t);

    if (!t) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    t->wake[0] = t->wake[1] = -1;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        error_set(err, LLMSYN_E_BACKEND, "cannot create the http transport's lock");
        return NULL;
    }
    if (open_wake_pipe(t->wake) < 0 || setup_multi(t) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot set up the http transport (libcurl multi handle, wake pipe)");
        transport_destroy(t);
        return NULL;
    }
    if (pthread_create(&t->thread, NULL, loop_main, t) != 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot start the http transport thread");
        transport_destroy(t);
        return NULL;
    }
    return t;
}

/* Sets the connection limit to the number of holders; the loop applies it before its next transfer. */
static void want_conns(struct transport *t, unsigned n)
{
    pthread_mutex_lock(&t->mu);
    t->conns = n;
    pthread_mutex_unlock(&t->mu);
}

struct transport *transport_acquire(struct error *err)
{
    struct transport *t = NULL;

    if (http_global_init() < 0) {
        error_set(err, LLMSYN_E_BACKEND, "cannot initialise libcurl");
        return NULL;
    }
    pthread_mutex_lock(&holders_lock);
    if (!shared)
        shared = transport_new(err);
    if (shared) {
        t = shared;
        want_conns(t, ++holders);
    }
    pthread_mutex_unlock(&holders_lock);
    return t;
}

void transport_release(struct transport **tp)
{
    struct transport *t;

    if (!tp || !*tp)
        return;
    t = *tp;
    *tp = NULL;
    pthread_mutex_lock(&holders_lock);
    if (--holders > 0) {
        want_conns(t, holders);
        pthread_mutex_unlock(&holders_lock);
        return;
    }
    shared = NULL;
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_mutex_unlock(&t->mu);
    wake_loop(t);
    pthread_join(t->thread, NULL);
    pthread_mutex_unlock(&holders_lock);
    transport_destroy(t);
}

int transport_run(struct transport *t, CURL *easy, CURLcode *rc)
{
    struct transfer tr;
    int queued = 0;

    memset(&tr, 0, sizeof tr);
    tr.easy = easy;
    *rc = CURLE_OK;
    if (pthread_cond_init(&tr.cv, NULL) != 0) {
        *rc = CURLE_OUT_OF_MEMORY;
        return 0;
    }
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)&tr);
    pthread_mutex_lock(&t->mu);
    if (!http_stop_requested() && !t->quit) {
        if (t->queue_tail)
            t->queue_tail->next = &tr;
        else
            t->queue = &tr;
        t->queue_tail = &tr;
        queued = 1;
    }
    pthread_mutex_unlock(&t->mu);
    if (queued) {
        wake_loop(t);
        pthread_mutex_lock(&t->mu);
        while (!tr.done)
            pthread_cond_wait(&tr.cv, &t->mu);
        pthread_mutex_unlock(&t->mu);
    }
    pthread_cond_destroy(&tr.cv);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)NULL);
    *rc = tr.rc;
    return queued ? tr.stopped : 1;
}
