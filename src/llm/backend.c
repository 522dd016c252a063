/* backend.c - picks the backend named by --llm. */
#include <stdlib.h>
#include <string.h>

#include "llm/backend.h"

struct llm_backend *llm_backend_new(const struct llm_config *cfg, struct error *err)
{
    const char *name = cfg->opts->backend ? cfg->opts->backend : "builtin";

    if (!strcmp(name, "builtin"))
        return builtin_backend_new(cfg, err);
    if (!strcmp(name, "openai"))
        return openai_backend_new(cfg, err);
    if (!strcmp(name, "azure"))
        return azure_backend_new(cfg, err);
    if (!strcmp(name, "ollama"))
        return ollama_backend_new(cfg, err);
    if (!strcmp(name, "anthropic"))
        return anthropic_backend_new(cfg, err);
    error_set(err, LLMSYN_E_USAGE, "unknown backend '%s' (expected builtin, openai, azure, ollama or anthropic)",
              name);
    return NULL;
}

void llm_backend_free(struct llm_backend **b)
{
    if (!b || !*b)
        return;
    if ((*b)->destroy)
        (*b)->destroy(*b);
    free(*b);
    *b = NULL;
}
