/* backend.h - one interface for every model backend (builtin, openai, ...). */
#ifndef LLM_BACKEND_H
#define LLM_BACKEND_H

#include <stdint.h>

#include "core/record.h"
#include "core/steps.h"
#include "knowledge/kb.h"
#include "llmsyn/llmsyn.h"
#include "prior/prior.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/rng.h"

/* One model call: the rendered prompt plus what the builtin backend reads directly. */
struct llm_request {
    const struct step_def *step;
    const char *system;              /* system message, may be NULL */
    const char *prompt;              /* rendered x_i */
    const char *reask;               /* NULL, or the follow-up quoting a parse error */
    const char *previous_answer;     /* the answer being re-asked about, or NULL */
    const struct record *record;     /* y_<i so far; borrowed */
    const struct prior_draw *draw;   /* this record's prior draws; borrowed */
    llmsyn_mode mode;
    uint64_t seed;                   /* per request, derived from (run seed, record, step) */
    struct rng *rng;                 /* the record's stream (builtin only) */
};

struct llm_usage {
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    int cache_hit;           /* the answer came from the disk cache: no request was sent */
    unsigned requests;       /* HTTP requests actually sent for this call (0 on a cache hit) */
    unsigned retries;        /* of those, the ones after the first */
    unsigned failures;       /* attempts that failed (transport, 408/429/5xx, unusable reply) */
};

/* Shared, read-only inputs every backend may use. */
struct llm_config {
    const struct llmsyn_options *opts;
    const struct prior *prior;
    const struct kb *kb;
};

struct llm_backend {
    const char *name;
    /* Fills `answer` with the model's text. Returns 0, or -1 with err (LLMSYN_E_BACKEND). */
    int (*complete)(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                    struct llm_usage *usage, struct error *err);
    void (*destroy)(struct llm_backend *b);
    void *state;
};

/* One backend instance per worker thread (instances are not shared). Caller frees with llm_backend_free. */
struct llm_backend *llm_backend_new(const struct llm_config *cfg, struct error *err);
void llm_backend_free(struct llm_backend **b);

/* Constructors behind llm_backend_new. */
struct llm_backend *builtin_backend_new(const struct llm_config *cfg, struct error *err);
struct llm_backend *openai_backend_new(const struct llm_config *cfg, struct error *err);
struct llm_backend *azure_backend_new(const struct llm_config *cfg, struct error *err);
struct llm_backend *ollama_backend_new(const struct llm_config *cfg, struct error *err);
struct llm_backend *anthropic_backend_new(const struct llm_config *cfg, struct error *err);

#endif
