/* steps.h - the Markov steps of the pipeline as data: one row and one prompt file per step. */
#ifndef CORE_STEPS_H
#define CORE_STEPS_H

#include <stddef.h>

struct step_def {
    const char *name;          /* prompts/<name>.prompt; enabled with --steps +<name> when optional */
    const char *const *fields; /* single-valued fields the final output must give; NULL-terminated */
    const char *repeated;      /* the field that may repeat in the final output, or NULL */
    unsigned min_repeated;     /* at least this many `repeated` values */
    int default_on;            /* part of the paper's four steps */
};

extern const struct step_def step_table[];
extern const size_t step_count;

/* The step with that name, or NULL. */
const struct step_def *step_find(const char *name);

#endif
