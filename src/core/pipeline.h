/* pipeline.h - one record's way through the Markov steps, and the run-wide inputs it reads. */
#ifndef CORE_PIPELINE_H
#define CORE_PIPELINE_H

#include <stdint.h>

#include "core/record.h"
#include "codes/dict.h"
#include "core/steps.h"
#include "fhir/bundle.h"
#include "knowledge/connect.h"
#include "knowledge/kb.h"
#include "knowledge/retrieve.h"
#include "llm/backend.h"
#include "llmsyn/llmsyn.h"
#include "out/sink.h"
#include "prior/prior.h"
#include "prompt/prompt.h"
#include "util/buf.h"
#include "util/error.h"

#define PIPELINE_MAX_STEPS 16

/* Read-only inputs shared by every worker of a run. */
struct pipeline {
    const struct llmsyn_options *opts;
    struct prior *prior;                              /* owned */
    struct kb *kb;                                    /* owned */
    struct dict *dict;                                /* owned: every code is checked against it */
    struct knowledge_index *kix;                      /* owned; NULL unless mode full retrieves passages */
    char *system_prompt;                              /* owned */
    const struct step_def *steps[PIPELINE_MAX_STEPS]; /* enabled steps in table order */
    struct prompt_template *templates[PIPELINE_MAX_STEPS]; /* owned, parallel to steps */
    size_t nsteps;
};

/* Per-step counters one worker accumulates (summed by the run). */
struct step_stats {
    uint64_t calls, reasks, failures, prompt_tokens, completion_tokens;
    uint64_t repairs;                                        /* re-asks quoting invalid codes */
    uint64_t codes_valid, codes_repaired, codes_dropped;     /* valid first time / after repair / dropped */
    uint64_t requests, retries, cache_hits, request_failures;/* HTTP traffic behind the calls (llm_usage) */
};

/* A code left out of a record, and why. */
struct dropped_code {
    char step[24];
    char code[32];
    char reason[96];
};
#define RESULT_MAX_DROPS 8

/* An invalid code of an answer, waiting for repair. */
struct invalid_code {
    char field[24];
    char code[32];
    enum code_status status;
    int repaired;       /* a valid code of the repair answer took its place */
};
#define STEP_MAX_INVALID 16

/* One worker's reusable state. */
struct pipeline_worker {
    struct pipeline *pl;          /* borrowed; read-only while records are made */
    struct llm_backend *backend;  /* owned */
    struct record rec;
    struct record step_out;
    struct record repair_out;
    struct invalid_code invalid[STEP_MAX_INVALID];
    size_t ninvalid;
    struct buf prompt, answer, reask, reanswer;
    struct connect_client *connect;  /* owned; NULL unless --knowledge-live */
    struct mplus_topics live;        /* this record's live MedlinePlus answer */
    struct buf retrieved;            /* R(z_R | y_1) of this record */
    struct step_stats stats[PIPELINE_MAX_STEPS];
    void *user;                   /* the run that owns this worker; borrowed */
};

/* Result of one record. A failed record carries its reason and renders nothing. */
struct record_result {
    int failed;
    char reason[384];
    struct dropped_code drops[RESULT_MAX_DROPS]; /* the first dropped codes */
    size_t ndrops;
};

int pipeline_load(struct pipeline *pl, const struct llmsyn_options *opts, struct error *err);
void pipeline_unload(struct pipeline *pl);

int pipeline_worker_init(struct pipeline_worker *w, struct pipeline *pl, struct error *err);
void pipeline_worker_free(struct pipeline_worker *w);

/* Generates record `index` into chunk c. Returns 0 (the record succeeded or failed on its own, see
 * res) or -1 for an error that stops the run (backend unreachable, out of memory) with err set. */
int pipeline_generate(struct pipeline_worker *w, uint64_t index, struct sink_chunk *c, struct record_result *res,
                      struct error *err);

/* Checks the codes of w->step_out against the dictionaries (normalising the valid ones) and repairs
 * invalid ones with one re-ask quoting them and their nearest valid candidates; what stays invalid is
 * dropped with its reason. Returns 0, 1 when the record fails (res filled), -1 on a run-stopping error. */
int pipeline_check_codes(struct pipeline_worker *w, size_t si, struct llm_request *req, struct record_result *res,
                         struct error *err);
/* One model call for step si into `answer`, counted in the step's stats. */
int pipeline_ask(struct pipeline_worker *w, size_t si, const struct llm_request *req, struct buf *answer,
                 struct error *err);

/* Adds the non-model details of a record: admission and discharge times, birth date, synthetic name.
 * Deterministic in (seed, index). */
int record_add_synthetic_details(struct record *rec, uint64_t seed);

#endif
