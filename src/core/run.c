/* run.c - llmsyn_generate(): workers make records in parallel, one writer emits them in index order. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pipeline.h"
#include "core/report.h"
#include "core/run_journal.h"
#include "net/http.h"

#define MAX_JOBS 256
#define SLOTS_PER_JOB 8 /* reorder window: how far a fast worker may run ahead of the writer */
#define WORKER_STACK ((size_t)2 << 20) /* 2 MiB per worker: 64 or 256 workers stay small */

static volatile sig_atomic_t stop_requested;

void llmsyn_request_stop(void)
{
    stop_requested = 1;
    http_request_stop(); /* model requests in flight give up (async-signal-safe: sets a flag) */
}

struct slot {
    int ready;
    struct sink_chunk chunk;
    struct record_result res;
};

struct run {
    struct pipeline pl;
    struct sink *sink;
    struct run_journal *journal;     /* owned; records handed to the sink, for --resume */
    struct pipeline_worker *workers; /* owned; nworkers of them */
    unsigned nworkers;               /* --concurrency, else --jobs */
    pthread_t *threads;
    struct slot *slots;              /* owned; `window` of them, indexed by record % window */
    size_t window;
    uint64_t first, end, next_take, next_write, in_flight;
    int stop;
    struct error err;                /* the run-stopping error (first wins); guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_space;
    const struct llmsyn_callbacks *cb;
    int notify;                      /* call cb->record_written (bundles format) */
};

static struct slot *slot_of(struct run *run, uint64_t index)
{
    return &run->slots[(index - run->first) % run->window];
}

/* Takes the next record index, waiting while the reorder window is full. Returns 0 when none is left. */
static int take_index(struct run *run, uint64_t *index)
{
    int ok;

    pthread_mutex_lock(&run->mu);
    while (!run->stop && !stop_requested && run->next_take < run->end &&
           run->next_take >= run->next_write + run->window)
        pthread_cond_wait(&run->cv_space, &run->mu);
    ok = !run->stop && !stop_requested && run->next_take < run->end;
    if (ok) {
        *index = run->next_take++;
        run->in_flight++;
    }
    pthread_mutex_unlock(&run->mu);
    return ok;
}

static void *worker_main(void *arg)
{
    struct pipeline_worker *w = arg;
    struct run *run = (struct run *)w->user;
    struct error err = { LLMSYN_OK, "" };
    uint64_t index;

    while (take_index(run, &index)) {
        struct slot *s = slot_of(run, index);
        int rc = pipeline_generate(w, index, &s->chunk, &s->res, &err);

        pthread_mutex_lock(&run->mu);
        run->in_flight--;
        if (rc < 0) {
            /* A record cut short by a stop request is not an error: it is neither written nor journaled,
             * and finish_run reports the interruption. */
            if (err.code != LLMSYN_E_INTERRUPTED || !stop_requested)
                error_set(&run->err, err.code, "%s", err.msg);
            run->stop = 1;
            pthread_cond_broadcast(&run->cv_space);
        } else {
            s->ready = 1;
        }
        pthread_cond_broadcast(&run->cv_ready);
        pthread_mutex_unlock(&run->mu);
        if (rc < 0)
            break;
    }
    /* A stop request (a signal handler cannot signal a condition) may have come while the writer waited:
     * wake it so it sees that no record is in flight and none will be taken. */
    pthread_mutex_lock(&run->mu);
    pthread_cond_broadcast(&run->cv_ready);
    pthread_mutex_unlock(&run->mu);
    return NULL;
}

/* Waits for the next record in order; returns it, or NULL when no more will come. */
static struct slot *next_ready(struct run *run)
{
    struct slot *s = slot_of(run, run->next_write);
    struct slot *found = NULL;

    pthread_mutex_lock(&run->mu);
    while (run->next_write < run->end) {
        if (s->ready) {
            found = s;
            break;
        }
        /* Nothing in flight and nothing more to take: this slot will never fill. */
        if (run->in_flight == 0 && (run->stop || stop_requested || run->next_take >= run->end))
            break;
        pthread_cond_wait(&run->cv_ready, &run->mu);
    }
    pthread_mutex_unlock(&run->mu);
    return found;
}

static void release_slot(struct run *run, struct slot *s)
{
    pthread_mutex_lock(&run->mu);
    s->ready = 0;
    run->next_write++;
    pthread_cond_broadcast(&run->cv_space);
    pthread_mutex_unlock(&run->mu);
}

static void fail_run(struct run *run, const struct error *err)
{
    pthread_mutex_lock(&run->mu);
    error_set(&run->err, err->code, "%s", err->msg);
    run->stop = 1;
    pthread_cond_broadcast(&run->cv_space);
    pthread_mutex_unlock(&run->mu);
}

/* Notes a record handed to the sink (or failed) in the run journal; every RUN_JOURNAL_SYNC_EVERY records
 * the output is synced before the journal, so a durable journal line never names lost bytes. */
static int journal_record(struct run *run, const struct slot *s, struct error *err)
{
    struct sink_length lens[SINK_MAX_PARTS];
    size_t n = 0;

    if (!s->res.failed && sink_lengths(run->sink, &s->chunk, lens, &n, err) != LLMSYN_OK)
        return -1;
    if (run_journal_sync_due(run->journal) && sink_sync(run->sink, err) != LLMSYN_OK)
        return -1;
    return run_journal_add(run->journal, s->chunk.index, s->res.failed ? s->res.reason : NULL, lens, n, err) ==
                   LLMSYN_OK ? 0 : -1;
}

/* Tells the caller about each record file just written (bundles format only). */
static void notify_written(const struct run *run, const struct sink_chunk *c)
{
    size_t i;

    if (!run->notify || !run->cb || !run->cb->record_written)
        return;
    for (i = 0; i < c->nparts; i++)
        run->cb->record_written(run->cb->user, c->parts[i].name);
}

/* The writer: emits records in index order, keeps the report. */
static void write_records(struct run *run, struct run_report *rep)
{
    struct error err = { LLMSYN_OK, "" };
    struct slot *s;

    while ((s = next_ready(run)) != NULL) {
        if (report_add_drops(rep, s->chunk.index, s->res.drops, s->res.ndrops) < 0)
            error_set(&err, LLMSYN_E_NOMEM, "out of memory");
        if (s->res.failed) {
            if (report_add_failure(rep, s->chunk.index, s->res.reason) < 0)
                error_set(&err, LLMSYN_E_NOMEM, "out of memory");
        } else if (sink_write(run->sink, &s->chunk, &err) == 0) {
            rep->ok++;
            notify_written(run, &s->chunk);
        }
        if (err.code == LLMSYN_OK)
            journal_record(run, s, &err);
        if (err.code != LLMSYN_OK) {
            fail_run(run, &err);
            release_slot(run, s);
            break;
        }
        release_slot(run, s);
        if (run->cb && run->cb->progress)
            run->cb->progress(run->cb->user, run->next_write - run->first, run->end - run->first, rep->failed);
    }
}

static int check_options(const struct llmsyn_options *o, struct error *err)
{
    if (!o->out_dir || !*o->out_dir)
        return error_set(err, LLMSYN_E_USAGE, "an output folder is required (--out DIR)"), -1;
    if (o->count == 0)
        return error_set(err, LLMSYN_E_USAGE, "-n: the record count must be at least 1"), -1;
    if (o->shard_count == 0 || o->shard_index >= o->shard_count)
        return error_set(err, LLMSYN_E_USAGE, "--shard: K must be below N (K/N, K counted from 0)"), -1;
    if (o->jobs == 0 || o->jobs > MAX_JOBS)
        return error_set(err, LLMSYN_E_USAGE, "--jobs: must be between 1 and %d", MAX_JOBS), -1;
    if (o->concurrency > MAX_JOBS)
        return error_set(err, LLMSYN_E_USAGE, "--concurrency: must be between 1 and %d", MAX_JOBS), -1;
    if ((unsigned)o->mode > LLMSYN_MODE_BASE || (unsigned)o->format > LLMSYN_FORMAT_SYNTHEA_CSV)
        return error_set(err, LLMSYN_E_USAGE, "unknown mode or format"), -1;
    return 0;
}

/* Creates the workers (and so the backends) before anything is written, so a bad backend
 * option leaves no output folder behind. */
static int init_workers(struct run *run, const struct llmsyn_options *o, struct error *err)
{
    unsigned i;

    /* --concurrency N: N records (so N model requests) in flight, one worker each; else --jobs. */
    run->nworkers = o->concurrency ? o->concurrency : o->jobs;
    run->window = (size_t)run->nworkers * SLOTS_PER_JOB;
    run->slots = calloc(run->window, sizeof *run->slots);
    run->workers = calloc(run->nworkers, sizeof *run->workers);
    run->threads = calloc(run->nworkers, sizeof *run->threads);
    if (!run->slots || !run->workers || !run->threads)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    for (i = 0; i < run->nworkers; i++) {
        if (pipeline_worker_init(&run->workers[i], &run->pl, err) < 0)
            return -1;
        run->workers[i].user = run;
    }
    return 0;
}

/* Returns how many threads started. */
static int start_threads(struct run *run, unsigned jobs)
{
    pthread_attr_t attr;
    unsigned i;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    for (i = 0; i < jobs; i++)
        if (pthread_create(&run->threads[i], &attr, worker_main, &run->workers[i]) != 0) {
            fail_run(run, &(struct error){ LLMSYN_E_INTERNAL, "cannot start a worker thread" });
            break;
        }
    pthread_attr_destroy(&attr);
    return (int)i;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_reports(struct run *run, struct run_report *rep, struct error *err)
{
    struct buf json = { 0 }, text = { 0 };

    if (report_json(rep, &json) < 0 || report_text(rep, &text) < 0)
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
    else if (sink_write_file(run->sink, "run-report.json", json.data, json.len, err) == 0)
        sink_write_file(run->sink, "run-report.txt", text.data, text.len, err);
    buf_free(&json);
    buf_free(&text);
}

static void run_free(struct run *run, unsigned nworkers)
{
    size_t i;

    for (i = 0; run->workers && i < nworkers; i++)
        pipeline_worker_free(&run->workers[i]);
    for (i = 0; run->slots && i < run->window; i++)
        sink_chunk_free(&run->slots[i].chunk);
    free(run->workers);
    free(run->threads);
    free(run->slots);
    pipeline_unload(&run->pl);
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->cv_ready);
    pthread_cond_destroy(&run->cv_space);
}

static void fill_summary(struct llmsyn_summary *sum, const struct run_report *rep)
{
    size_t i;

    memset(sum, 0, sizeof *sum);
    sum->records_ok = rep->ok;
    sum->records_failed = rep->failed;
    sum->seconds = rep->seconds;
    for (i = 0; i < PIPELINE_MAX_STEPS; i++) {
        sum->model_calls += rep->steps[i].calls;
        sum->reasks += rep->steps[i].reasks;
    }
}

/* Joins the workers, closes the output with its report. */
static void finish_run(struct run *run, struct run_report *rep, int started, double t0)
{
    struct error err = { LLMSYN_OK, "" };
    int i;

    for (i = 0; i < started; i++)
        pthread_join(run->threads[i], NULL);
    for (i = 0; i < started; i++)
        report_add_stats(rep, run->workers[i].stats, PIPELINE_MAX_STEPS);
    if (run->err.code == LLMSYN_OK && stop_requested && run->next_write < run->end)
        error_set(&run->err, LLMSYN_E_INTERRUPTED, "interrupted after %llu of %llu records",
                  (unsigned long long)(run->next_write - run->first), (unsigned long long)(run->end - run->first));
    rep->status = run->err.code == LLMSYN_OK ? "complete"
                  : run->err.code == LLMSYN_E_INTERRUPTED ? "interrupted" : "failed";
    rep->error = run->err.code == LLMSYN_OK ? NULL : run->err.msg;
    rep->seconds = now_seconds() - t0;
    /* Records already written are complete; keep them (and the report) even when the run failed. */
    write_reports(run, rep, &err);
    if (sink_close(&run->sink, 1, &err) != 0 || err.code != LLMSYN_OK)
        error_set(&run->err, err.code, "%s", err.msg);
    /* A complete run needs no journal; any other keeps it for --resume. */
    if (run_journal_close(&run->journal, run->err.code == LLMSYN_OK, &err) != LLMSYN_OK)
        error_set(&run->err, err.code, "%s", err.msg);
}

/* 1 when dir is missing or holds nothing. */
static int dir_missing_or_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (!d)
        return errno == ENOENT;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

static int add_journaled_failure(void *user, uint64_t index, const char *reason)
{
    return report_add_failure(user, index, reason);
}

/* Reads the journal of the run to resume into st (st->next = run->first when there is none). */
static int load_journal(struct run *run, const struct llmsyn_options *o, const char *header, struct run_report *rep,
                        struct run_journal_state *st, int *found)
{
    char path[4096];
    char *data = NULL; /* owned */
    size_t len = 0;
    int rc;

    memset(st, 0, sizeof *st);
    st->next = run->first;
    *found = 0;
    rc = run_journal_read(o->out_dir, &data, &len, &run->err);
    if (rc == 1 && !dir_missing_or_empty(o->out_dir))
        return error_set(&run->err, LLMSYN_E_USAGE,
                         "--resume: no run journal in '%s' (its run finished, or was not made by " "llmsyn-fhir)",
                         o->out_dir), -1;
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    snprintf(path, sizeof path, "%s/%s", o->out_dir, RUN_JOURNAL_NAME);
    rc = run_journal_parse(path, data, len, header, run->first, st, add_journaled_failure, rep, &run->err);
    free(data);
    /* Checked before the output folder is touched: a journal that cannot be appended to (read-only)
     * must not leave the folder half-prepared for a resume. */
    if (rc == 0 && access(path, W_OK) != 0)
        return error_set(&run->err, LLMSYN_E_OUTPUT, "cannot write run journal '%s': %s", path, strerror(errno)), -1;
    *found = rc == 0;
    return rc;
}

/* Opens the output folder and the run journal; with --resume goes on where the journal stops. */
static int open_output(struct run *run, const struct llmsyn_options *o, struct run_report *rep)
{
    char header[RUN_JOURNAL_MAX_HEADER];
    struct run_journal_state st;
    int found = 0;

    if (run_journal_header(o, header, sizeof header) < 0)
        return error_set(&run->err, LLMSYN_E_USAGE, "--steps/--model: too long for the run journal"), -1;
    memset(&st, 0, sizeof st);
    st.next = run->first;
    if (o->resume && load_journal(run, o, header, rep, &st, &found) < 0)
        return -1;
    run->sink = found ? sink_open_resume(o->out_dir, o->format, st.files, st.nfiles, &run->err)
                      : sink_open(o->out_dir, o->format, o->force || o->resume, &run->err);
    if (!run->sink)
        return -1;
    run->journal = run_journal_open(o->out_dir, header, found ? st.valid : 0, &run->err);
    if (!run->journal)
        return -1;
    run->next_take = run->next_write = st.next;
    rep->ok = st.ok;
    return 0;
}

llmsyn_status llmsyn_generate(const struct llmsyn_options *opts, const struct llmsyn_callbacks *cb,
                              struct llmsyn_summary *summary, char *errbuf, size_t errlen)
{
    struct run run;
    struct run_report rep;
    double t0 = now_seconds();
    int started = 0;

    memset(&run, 0, sizeof run);
    memset(&rep, 0, sizeof rep);
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv_ready, NULL);
    pthread_cond_init(&run.cv_space, NULL);
    run.cb = cb;
    run.notify = opts->format == LLMSYN_FORMAT_BUNDLES;
    stop_requested = 0;
    http_clear_stop();
    if (check_options(opts, &run.err) < 0 || pipeline_load(&run.pl, opts, &run.err) < 0)
        goto out;
    run.first = opts->count * opts->shard_index / opts->shard_count;
    run.end = opts->count * (opts->shard_index + 1) / opts->shard_count;
    rep.pl = &run.pl;
    rep.first = run.first;
    rep.end = run.end;
    if (init_workers(&run, opts, &run.err) < 0)
        goto out;
    if (open_output(&run, opts, &rep) < 0)
        goto out;
    started = start_threads(&run, run.nworkers);
    write_records(&run, &rep);
    finish_run(&run, &rep, started, t0);
out:
    if (summary)
        fill_summary(summary, &rep);
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", run.err.msg);
    if (run.sink)
        sink_close(&run.sink, 0, &(struct error){ LLMSYN_OK, "" });
    run_journal_close(&run.journal, 0, &(struct error){ LLMSYN_OK, "" });
    run_free(&run, run.nworkers);
    report_free(&rep);
    return run.err.code;
}
