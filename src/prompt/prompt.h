/* prompt.h - prompt templates (one file per step) and the prompt adaptor x_i = y_{i-1} + z_P + R(z_R|y_{i-1}). */
#ifndef PROMPT_PROMPT_H
#define PROMPT_PROMPT_H

#include "core/record.h"
#include "core/steps.h"
#include "knowledge/kb.h"
#include "llmsyn/llmsyn.h"
#include "prior/prior.h"
#include "util/buf.h"
#include "util/error.h"

struct prompt_template;

/* Loads prompts/<step>.prompt and checks its sections and placeholders
 * (errors name file:line). Caller frees with prompt_template_free. */
struct prompt_template *prompt_template_load(const char *dir, const struct step_def *step, struct error *err);
struct prompt_template *prompt_template_parse(const char *text, const char *name, const struct step_def *step,
                                              struct error *err);
void prompt_template_free(struct prompt_template **t);

/* What the adaptor concatenates into the [Retrieval] section. */
struct prompt_inputs {
    llmsyn_mode mode;
    const struct record *previous;     /* y_<i: fields produced so far */
    const struct prior_draw *draw;     /* z_P draws (ignored in mode base) */
    const struct prior *prior;
    const struct kb_card *card;        /* R(z_R | y_1) (mode full only); may be NULL */
    const char *retrieved;             /* retrieved passages (knowledge_retrieve) for {{knowledge}} in mode full;
                                        * borrowed; NULL renders the card's prose instead */
};

/* Renders x_i into out. Returns 0 or -1 with err. */
int prompt_render(const struct prompt_template *t, const struct prompt_inputs *in, struct buf *out,
                  struct error *err);

/* Loads <dir>/system.txt, the system message ('#' comment lines dropped, blank edges trimmed).
 * Returns the text (caller frees with free) or NULL with err (LLMSYN_E_INPUT naming the file). */
char *prompt_system_load(const char *dir, struct error *err);

#endif
