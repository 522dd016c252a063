/* medlineplus.h - NLM MedlinePlus health topics: the mplus_topics XML files and MedlinePlus Connect Atom answers. */
#ifndef KNOWLEDGE_MEDLINEPLUS_H
#define KNOWLEDGE_MEDLINEPLUS_H

#include <stddef.h>

#include "util/error.h"

/* Named limits; input beyond them is an error naming the file and line, never silently cut. */
#define MPLUS_MAX_FILE ((size_t)128 << 20) /* bytes of one XML file (the full NLM dump is about 30 MB) */
#define MPLUS_MAX_TOPICS 20000             /* topics in one file */
#define MPLUS_MAX_NAMES 128                /* also-called / see-reference / MeSH names of one topic */
#define MPLUS_MAX_NAME 1024                /* bytes of a title, name, URL or institute */
#define MPLUS_MAX_SUMMARY ((size_t)64 << 10) /* bytes of one summary as plain text */

/* One health topic, as plain text. */
struct mplus_topic {
    char *title;        /* topic title, e.g. "Heart Failure"; owned; never NULL */
    char *url;          /* topic page; owned; "" when absent */
    char *id;           /* MedlinePlus topic id; owned; "" when absent */
    char **names;       /* other names: also-called, see-reference; owned */
    size_t nnames;
    char **mesh;        /* MeSH descriptor names; owned */
    size_t nmesh;
    char *institute;    /* primary NIH institute, or the Connect attribution line; owned; "" when absent */
    char *summary;      /* the full summary as text: one paragraph or list item per line; owned */
    char *icd9;         /* dotted ICD-9-CM code a Connect answer was given for; owned; NULL for XML files */
    int from_connect;   /* 1 for topics of a MedlinePlus Connect answer */
};

struct mplus_topics {
    struct mplus_topic *items; /* owned */
    size_t n;
    size_t skipped;            /* topics left out because they are not in English */
};

/* Loads an mplus_topics XML file (root <health-topics>, one <health-topic> per topic; the format of
 * https://medlineplus.gov/xml.html). Only English topics are kept. The file is read without the network
 * and without loading the external DTD; a document that declares entities is refused. Appends to *out
 * (zero-initialise it first). Returns 0, or -1 with err (LLMSYN_E_INPUT, "<file>:<line>: <what>";
 * LLMSYN_E_NOMEM). On error *out keeps what it held before the call. Free with mplus_topics_free. */
int mplus_load(const char *path, struct mplus_topics *out, struct error *err);
/* The same for a document in memory; `name` stands for the file in messages. */
int mplus_parse(const char *xml, size_t len, const char *name, struct mplus_topics *out, struct error *err);

/* Parses a MedlinePlus Connect answer (an Atom <feed>, one <entry> per matched topic, with the summary as
 * HTML: <p class="NLMalsoCalled"> gives names, <p class="NLMattribution"> the institute, related links are
 * dropped). The code of the feed's mainSearchCriteria.v.c category, or `icd9` when the feed has none, is
 * stored in each topic. Appends to *out; errors as for mplus_parse. */
int mplus_parse_connect(const char *xml, size_t len, const char *name, const char *icd9, struct mplus_topics *out,
                        struct error *err);

/* Frees the topics from index n on and keeps the first n (with none left, the array is freed too). */
void mplus_topics_truncate(struct mplus_topics *t, size_t n);
void mplus_topics_free(struct mplus_topics *t);

#endif
