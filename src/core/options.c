/* options.c - option defaults and status texts of the public API. */
#include <string.h>

#include "llmsyn/llmsyn.h"

void llmsyn_options_init(struct llmsyn_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->count = 100;
    opts->seed = 1;
    opts->shard_count = 1;
    opts->jobs = 1;
    opts->mode = LLMSYN_MODE_FULL;
    opts->format = LLMSYN_FORMAT_BUNDLES;
    opts->backend = "builtin";
    opts->temperature = 0.7;
    opts->max_tokens = 2048;
    opts->timeout_ms = 120000;
    opts->knowledge_k = 3;
    opts->knowledge_budget = 1500;
    opts->retry_base_ms = 500;
}

const char *llmsyn_strerror(llmsyn_status status)
{
    switch (status) {
    case LLMSYN_OK: return "ok";
    case LLMSYN_E_USAGE: return "usage error";
    case LLMSYN_E_INPUT: return "bad input file";
    case LLMSYN_E_BACKEND: return "model backend error";
    case LLMSYN_E_VALIDATION: return "validation failed";
    case LLMSYN_E_UPLOAD: return "upload failed";
    case LLMSYN_E_OUTPUT: return "cannot write output";
    case LLMSYN_E_INTERRUPTED: return "interrupted";
    case LLMSYN_E_NOMEM: return "out of memory";
    case LLMSYN_E_INTERNAL: return "internal error";
    case LLMSYN_E_NOT_FOUND: return "not found";
    }
    return "unknown status";
}
