/* report.h - the run report: run-report.json (stable keys) and run-report.txt (a short summary). */
#ifndef CORE_REPORT_H
#define CORE_REPORT_H

#include <stdint.h>

#include "core/pipeline.h"
#include "util/buf.h"

#define REPORT_MAX_FAILURES 1000 /* failures listed one by one; the count covers all */

struct report_failure {
    uint64_t record;
    char reason[384];
};

#define REPORT_MAX_DROPS 1000 /* dropped codes listed one by one; the per-step counts cover all */

struct run_report {
    const struct pipeline *pl;
    uint64_t first, end;        /* record indices of this shard: [first, end) */
    uint64_t ok, failed;
    struct step_stats steps[PIPELINE_MAX_STEPS];
    struct report_failure *failures; /* owned; at most REPORT_MAX_FAILURES */
    size_t nfailures;
    struct report_drop { uint64_t record; struct dropped_code code; } *drops; /* owned; at most REPORT_MAX_DROPS */
    size_t ndrops;
    const char *status;         /* "complete", "interrupted", "failed" */
    const char *error;          /* the run-stopping error, or NULL */
    double seconds;
};

int report_add_failure(struct run_report *r, uint64_t record, const char *reason);
int report_add_drops(struct run_report *r, uint64_t record, const struct dropped_code *drops, size_t n);
void report_add_stats(struct run_report *r, const struct step_stats *stats, size_t n);
int report_json(const struct run_report *r, struct buf *out);
int report_text(const struct run_report *r, struct buf *out);
void report_free(struct run_report *r);

#endif
