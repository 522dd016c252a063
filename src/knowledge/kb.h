/* kb.h - the knowledge base z_R: one card per disease, prose for prompts and coded hints for the builtin backend. */
#ifndef KNOWLEDGE_KB_H
#define KNOWLEDGE_KB_H

#include <stddef.h>

#include "util/error.h"

struct kb_hint {
    char *code;    /* ICD-9-CM with dot (complications, ICD-9-CM procedures) or CPT (procedures); owned */
    char *display; /* plain-language label written by the project; owned; may be NULL */
    double weight; /* probability-like weight in (0, 1] that the hint applies to a patient */
};

struct kb_drug {
    char *type, *drug, *formulary_cd, *dose_val, *dose_unit, *form_val, *form_unit, *route; /* owned */
    double weight;
};

struct kb_card {
    char *icd9;           /* main-diagnosis code with dot; owned */
    char *name;           /* disease name; owned */
    char **synonyms;      /* owned */
    size_t nsynonyms;
    char *complications;  /* prose for the prompt; owned */
    char *treatments;     /* prose for the prompt; owned */
    struct kb_hint *complication_hints; size_t ncomplication_hints;
    struct kb_hint *procedure_hints;    size_t nprocedure_hints;
    struct kb_drug *drugs;              size_t ndrugs;
    struct kb_hint *icd9_procedure_hints; size_t nicd9_procedure_hints; /* ICD-9-CM vol. 3, dotted; may be 0 */
};

struct kb {
    char *source;          /* provenance note; owned */
    struct kb_card *cards; /* owned */
    size_t ncards;
};

/* Loads mappings/knowledge.json (docs/knowledge-format.md). Errors name the file and field. Caller frees with kb_free. */
struct kb *kb_load(const char *path, struct error *err);
struct kb *kb_parse(const char *text, size_t len, const char *name, struct error *err);
void kb_free(struct kb **kb);

/* The card for an ICD-9-CM code (dotted or not), or NULL; borrowed. */
const struct kb_card *kb_find(const struct kb *kb, const char *icd9);
/* The generic card used when a diagnosis has none of its own, or NULL; borrowed. */
const struct kb_card *kb_generic(const struct kb *kb);
/* Display label of a code among all hints and card names, or NULL; borrowed. */
const char *kb_display(const struct kb *kb, const char *code);

#endif
