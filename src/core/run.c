/* run.c - llmsyn_generate(): workers make records in parallel, one writer emits them in index order. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pipeline.h"
#include "core/report.h"

#define MAX_JOBS 256
#define SLOTS_PER_JOB 8 /* reorder window: how far a fast worker may run ahead of the writer */

static volatile sig_atomic_t stop_requested;

void llmsyn_request_stop(void)
{
    stop_requested = 1;
}

struct slot {
    int ready;
    struct sink_chunk chunk;
    struct record_result res;
};

struct run {
    struct pipeline pl;
    struct sink *sink;
    struct pipeline_worker *workers; /* owned; opts->jobs of them */
    pthread_t *threads;
    struct slot *slots;              /* owned; `window` of them, indexed by record % window */
    size_t window;
    uint64_t first, end, next_take, next_write, in_flight;
    int stop;
    struct error err;                /* the run-stopping error (first wins); guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_space;
    const struct llmsyn_callbacks *cb;
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
        }
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
    if ((unsigned)o->mode > LLMSYN_MODE_BASE || (unsigned)o->format > LLMSYN_FORMAT_CSV)
        return error_set(err, LLMSYN_E_USAGE, "unknown mode or format"), -1;
    return 0;
}

/* Creates the workers (and so the backends) before anything is written, so a bad backend
 * option leaves no output folder behind. */
static int init_workers(struct run *run, const struct llmsyn_options *o, struct error *err)
{
    unsigned i;

    run->window = (size_t)o->jobs * SLOTS_PER_JOB;
    run->slots = calloc(run->window, sizeof *run->slots);
    run->workers = calloc(o->jobs, sizeof *run->workers);
    run->threads = calloc(o->jobs, sizeof *run->threads);
    if (!run->slots || !run->workers || !run->threads)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    for (i = 0; i < o->jobs; i++) {
        if (pipeline_worker_init(&run->workers[i], &run->pl, err) < 0)
            return -1;
        run->workers[i].user = run;
    }
    return 0;
}

/* Returns how many threads started. */
static int start_threads(struct run *run, unsigned jobs)
{
    unsigned i;

    for (i = 0; i < jobs; i++)
        if (pthread_create(&run->threads[i], NULL, worker_main, &run->workers[i]) != 0) {
            fail_run(run, &(struct error){ LLMSYN_E_INTERNAL, "cannot start a worker thread" });
            break;
        }
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
    stop_requested = 0;
    if (check_options(opts, &run.err) < 0 || pipeline_load(&run.pl, opts, &run.err) < 0)
        goto out;
    run.first = opts->count * opts->shard_index / opts->shard_count;
    run.end = opts->count * (opts->shard_index + 1) / opts->shard_count;
    run.next_take = run.next_write = run.first;
    rep.pl = &run.pl;
    rep.first = run.first;
    rep.end = run.end;
    if (init_workers(&run, opts, &run.err) < 0)
        goto out;
    run.sink = sink_open(opts->out_dir, opts->format, opts->force, &run.err);
    if (!run.sink)
        goto out;
    started = start_threads(&run, opts->jobs);
    write_records(&run, &rep);
    finish_run(&run, &rep, started, t0);
out:
    if (summary)
        fill_summary(summary, &rep);
    if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", run.err.msg);
    if (run.sink)
        sink_close(&run.sink, 0, &(struct error){ LLMSYN_OK, "" });
    run_free(&run, opts->jobs);
    report_free(&rep);
    return run.err.code;
}
