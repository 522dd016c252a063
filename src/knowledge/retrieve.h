/* retrieve.h - R(z_R | y_1): BM25 retrieval over knowledge-base cards and MedlinePlus topics (docs/knowledge-retrieval.md). */
#ifndef KNOWLEDGE_RETRIEVE_H
#define KNOWLEDGE_RETRIEVE_H

#include <stddef.h>

#include "knowledge/kb.h"
#include "knowledge/medlineplus.h"
#include "util/buf.h"
#include "util/error.h"

#define KNOWLEDGE_DEFAULT_K 3         /* passages per prompt (--knowledge-k) */
#define KNOWLEDGE_DEFAULT_BUDGET 1500 /* estimated tokens of retrieved text per prompt */
#define KNOWLEDGE_MAX_K 64            /* k above this is an error */
#define KNOWLEDGE_BM25_K1 1.2         /* term-frequency saturation */
#define KNOWLEDGE_BM25_B 0.75         /* passage-length normalisation */
#define KNOWLEDGE_MAX_CHUNK 1600      /* bytes of text of one MedlinePlus passage */
#define KNOWLEDGE_MAX_QUERY_TERMS 512 /* distinct query terms that count; later ones are ignored */
#define KNOWLEDGE_MAX_PASSAGES 1000000
#define KNOWLEDGE_NAME_WEIGHT 2       /* a word of a name, synonym or title counts this many times */

/* Retrieval tokens are estimated as bytes / 4, rounded up. */
#define KNOWLEDGE_TOKENS(bytes) (((bytes) + 3) / 4)

struct knowledge_index;

enum knowledge_source {
    KNOWLEDGE_SRC_CARD,        /* a card of mappings/knowledge.json */
    KNOWLEDGE_SRC_MEDLINEPLUS, /* a topic of an mplus_topics XML file */
    KNOWLEDGE_SRC_CONNECT      /* a topic of a MedlinePlus Connect answer */
};

/* A passage as stored; all strings borrowed from the index. */
struct knowledge_passage {
    size_t id;                    /* position in the index; ties in ranking go to the lower id */
    enum knowledge_source source;
    const char *icd9;             /* dotted code of the card / Connect answer; NULL for XML topics */
    const char *title;            /* heading, one line */
    const char *text;             /* body; lines separated by '\n' */
    const char *attribution;      /* what the "Source:" line names */
};

struct knowledge_hit {
    size_t passage; /* id; ids at or past knowledge_index_size() are passages of the `extra` topics */
    double score;   /* BM25 score, > 0 */
};

/* Builds the index from the cards of kb (the generic card "*" is left out): each card gives two
 * passages, name + synonyms + complications and name + synonyms + treatments, both tagged with the
 * card's code. The index copies what it needs; kb may be freed afterwards. Returns the index (caller
 * frees with knowledge_index_free) or NULL with err. */
struct knowledge_index *knowledge_index_build(const struct kb *kb, struct error *err);

/* Adds the English topics of an mplus_topics XML file (see mplus_load): each topic's summary, cut at
 * line ends into passages of at most KNOWLEDGE_MAX_CHUNK bytes, indexed together with the topic's
 * title, other names and MeSH headings. Call before the index is shared between threads. Returns the
 * number of passages added, or -1 with err (the index is then unchanged). */
int knowledge_index_add_medlineplus(struct knowledge_index *ix, const char *xml_path, struct error *err);
/* The same for topics already parsed (for example a MedlinePlus Connect answer). */
int knowledge_index_add_topics(struct knowledge_index *ix, const struct mplus_topics *topics, struct error *err);

void knowledge_index_free(struct knowledge_index **ix);

/* Number of passages in the index. */
size_t knowledge_index_size(const struct knowledge_index *ix);
/* Fills *out with passage `id`. Returns 0, or -1 when id is out of range. */
int knowledge_passage_get(const struct knowledge_index *ix, size_t id, struct knowledge_passage *out);

/* Ranks passages with BM25 (k1, b above) for a query made of: the name and synonyms of the card for
 * icd9_code (dotted or not; may be NULL), a token standing for the code itself, and the words of
 * query_text (may be NULL; e.g. the diagnosis description the model wrote). `extra` (may be NULL)
 * holds topics scored together with the index, as if added to it, without changing it (used for live
 * MedlinePlus Connect answers). Writes up to k hits with a score above 0 to hits, best first, ties by
 * passage id. Safe to call from many threads at once on one index. Returns the number of hits, or -1
 * with err. */
int knowledge_search(const struct knowledge_index *ix, const struct mplus_topics *extra, const char *icd9_code,
                     const char *query_text, struct knowledge_hit *hits, size_t k, struct error *err);

/* Searches as knowledge_search and appends the best passages to out, each as
 *   [n] <title>\n<text>\nSource: <attribution>\n
 * after a one-line heading, most relevant first. A passage that would take the text past token_budget
 * estimated tokens (KNOWLEDGE_TOKENS of the bytes written by this call; 0 means no budget) is skipped
 * and the next one tried, until k passages are written or none is left. Returns the number of passages
 * written (0: nothing relevant fits; out is unchanged), or -1 with err (out unchanged). */
int knowledge_retrieve(const struct knowledge_index *ix, const char *icd9_code, const char *query_text, size_t k,
                       size_t token_budget, struct buf *out, struct error *err);
/* The same with extra topics scored alongside the index (see knowledge_search). */
int knowledge_retrieve_extra(const struct knowledge_index *ix, const struct mplus_topics *extra,
                             const char *icd9_code, const char *query_text, size_t k, size_t token_budget,
                             struct buf *out, struct error *err);

#endif
