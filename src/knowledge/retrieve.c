/* retrieve.c - an inverted index of knowledge passages, BM25 ranking and the retrieved text for the prompt. */
#include "knowledge/retrieve.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knowledge/text.h"

#define HEADING "Retrieved reference knowledge, most relevant first:\n"
#define CARD_SOURCE "llmsyn-fhir knowledge base, card"

struct passage {
    enum knowledge_source source;
    char *icd9;        /* dotted code; owned; NULL for XML topics */
    char *title;       /* owned */
    char *text;        /* owned */
    char *attribution; /* owned */
    size_t len;        /* tokens indexed */
};

struct posting {
    size_t passage;
    size_t tf;
};

struct term {
    char *text;            /* owned */
    struct posting *post;  /* owned; sorted by passage (passages are added in id order) */
    size_t n, cap;
};

/* A set of passages with its own vocabulary: the index, or the extra topics of one search. */
struct part {
    struct passage *p;  /* owned */
    size_t n, cap;
    struct term *terms; /* owned */
    size_t nterms, tcap;
    size_t *slots;      /* open-addressing hash of terms: index + 1, 0 = empty; owned */
    size_t nslots;      /* a power of two, or 0 */
    double total_len;   /* sum of passage lengths */
};

/* The words a code stands for in a query: the card's name and synonyms. */
struct card_query {
    char key[KTEXT_MAX_CODE];       /* undotted code */
    char phrase[KTEXT_MAX_TOKEN];   /* phrase token of the card's name */
    char *text;                     /* name and synonyms, one per line; owned */
};

struct knowledge_index {
    struct part part;
    struct card_query *cards; /* sorted by key; owned */
    size_t ncards;
};

/* A piece of text to index; each of its words counts `weight` times. */
struct span {
    const char *s;
    size_t n;
    unsigned weight;
};

/* Up to three literal terms of a passage: its code token and its name's phrase token. */
#define MAX_LITERALS 3

/* The distinct terms of one query, in order of first appearance. */
struct query {
    char (*t)[KTEXT_MAX_TOKEN]; /* owned */
    size_t n;
};

static int nomem(struct error *err)
{
    error_set(err, LLMSYN_E_NOMEM, "knowledge index: out of memory");
    return -1;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A formatted copy (caller frees), or NULL when memory runs out. */
static char *dup_printf(const char *fmt, ...)
{
    struct buf b;
    va_list ap;
    int rc;

    buf_init(&b, 0);
    va_start(ap, fmt);
    rc = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc < 0 || buf_append(&b, "", 0) < 0) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

static char *dup_span(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- the term table ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Index of term `tok` in pt, or SIZE_MAX. */
static size_t part_find(const struct part *pt, const char *tok)
{
    size_t mask, i;

    if (!pt->nslots)
        return SIZE_MAX;
    mask = pt->nslots - 1;
    for (i = (size_t)hash_str(tok) & mask; pt->slots[i]; i = (i + 1) & mask)
        if (!strcmp(pt->terms[pt->slots[i] - 1].text, tok))
            return pt->slots[i] - 1;
    return SIZE_MAX;
}

static void slot_put(size_t *slots, size_t nslots, const char *tok, size_t index)
{
    size_t mask = nslots - 1, i;

    for (i = (size_t)hash_str(tok) & mask; slots[i]; i = (i + 1) & mask)
        ;
    slots[i] = index + 1;
}

/* Rebuilds the hash for the first pt->nterms terms in a table of nslots. Returns 0 or -1. */
static int rehash(struct part *pt, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots), i;

    if (!slots)
        return -1;
    for (i = 0; i < pt->nterms; i++)
        slot_put(slots, nslots, pt->terms[i].text, i);
    free(pt->slots);
    pt->slots = slots;
    pt->nslots = nslots;
    return 0;
}

/* Index of term `tok`, added when new. Returns SIZE_MAX when memory runs out. */
static size_t part_intern(struct part *pt, const char *tok)
{
    size_t i = part_find(pt, tok), cap;
    struct term *grown;

    if (i != SIZE_MAX)
        return i;
    if ((pt->nterms + 1) * 10 >= pt->nslots * 7 && rehash(pt, pt->nslots ? pt->nslots * 2 : 1024) < 0)
        return SIZE_MAX;
    if (pt->nterms == pt->tcap) {
        cap = pt->tcap ? pt->tcap * 2 : 1024;
        if (!(grown = realloc(pt->terms, cap * sizeof *grown)))
            return SIZE_MAX;
        pt->terms = grown;
        pt->tcap = cap;
    }
    memset(&pt->terms[pt->nterms], 0, sizeof pt->terms[0]);
    if (!(pt->terms[pt->nterms].text = dup_span(tok, strlen(tok))))
        return SIZE_MAX;
    slot_put(pt->slots, pt->nslots, tok, pt->nterms);
    return pt->nterms++;
}

static int posting_add(struct term *t, size_t passage, size_t tf)
{
    struct posting *grown;
    size_t cap;

    if (t->n == t->cap) {
        cap = t->cap ? t->cap * 2 : 4;
        if (!(grown = realloc(t->post, cap * sizeof *grown)))
            return -1;
        t->post = grown;
        t->cap = cap;
    }
    t->post[t->n].passage = passage;
    t->post[t->n].tf = tf;
    t->n++;
    return 0;
}

/* ---- adding passages ---- */

/* Growable list of term ids of one passage. */
struct ids {
    size_t *v;
    size_t n, cap;
};

static int ids_push(struct ids *ids, size_t id)
{
    size_t *grown, cap;

    if (ids->n == ids->cap) {
        cap = ids->cap ? ids->cap * 2 : 64;
        if (!(grown = realloc(ids->v, cap * sizeof *grown)))
            return -1;
        ids->v = grown;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* Term ids of the spans' tokens (each `weight` times) plus the literal terms. Returns 0 or -1. */
static int collect_ids(struct part *pt, const struct span *sp, size_t nsp, const char *const *lit, size_t nlit,
                       struct ids *ids)
{
    char tok[KTEXT_MAX_TOKEN];
    const char *p, *end;
    size_t i, id;
    unsigned w;

    for (i = 0; i < nsp; i++) {
        p = sp[i].s;
        end = sp[i].s + sp[i].n;
        while (ktext_next_token(&p, end, tok) > 0) {
            if ((id = part_intern(pt, tok)) == SIZE_MAX)
                return -1;
            for (w = 0; w < sp[i].weight; w++)
                if (ids_push(ids, id) < 0)
                    return -1;
        }
    }
    for (i = 0; i < nlit; i++)
        if ((id = part_intern(pt, lit[i])) == SIZE_MAX || ids_push(ids, id) < 0)
            return -1;
    return 0;
}

/* Appends passage *ps (its strings move into pt) indexed by the spans. Returns 0, -1 when memory runs out
 * or -2 when the part is full; after a failure terms may have been added (see part_truncate). */
static int part_add(struct part *pt, struct passage *ps, const struct span *sp, size_t nsp,
                    const char *const *lit, size_t nlit)
{
    struct ids ids = { NULL, 0, 0 };
    struct passage *grown;
    size_t i, run, cap;
    int rc = -1;

    if (pt->n >= KNOWLEDGE_MAX_PASSAGES)
        return -2;
    if (pt->n == pt->cap) {
        cap = pt->cap ? pt->cap * 2 : 64;
        if (!(grown = realloc(pt->p, cap * sizeof *grown)))
            return -1;
        pt->p = grown;
        pt->cap = cap;
    }
    if (collect_ids(pt, sp, nsp, lit, nlit, &ids) < 0)
        goto out;
    qsort(ids.v, ids.n, sizeof *ids.v, cmp_size);
    for (i = 0; i < ids.n; i += run) {
        for (run = 1; i + run < ids.n && ids.v[i + run] == ids.v[i]; run++)
            ;
        if (posting_add(&pt->terms[ids.v[i]], pt->n, run) < 0)
            goto out;
    }
    ps->len = ids.n;
    pt->p[pt->n++] = *ps;
    memset(ps, 0, sizeof *ps);
    pt->total_len += (double)ids.n;
    rc = 0;
out:
    free(ids.v);
    return rc;
}

static void passage_free(struct passage *ps)
{
    free(ps->icd9);
    free(ps->title);
    free(ps->text);
    free(ps->attribution);
    memset(ps, 0, sizeof *ps);
}

/* Drops passages from id `n` on and terms from index `nterms` on: the part as it was before an add. */
static void part_truncate(struct part *pt, size_t n, size_t nterms)
{
    size_t i;

    for (i = n; i < pt->n; i++) {
        pt->total_len -= (double)pt->p[i].len;
        passage_free(&pt->p[i]);
    }
    pt->n = n;
    for (i = 0; i < pt->nterms; i++)
        while (pt->terms[i].n && pt->terms[i].post[pt->terms[i].n - 1].passage >= n)
            pt->terms[i].n--;
    for (i = nterms; i < pt->nterms; i++) {
        free(pt->terms[i].text);
        free(pt->terms[i].post);
    }
    if (pt->nterms > nterms) {
        pt->nterms = nterms;
        memset(pt->slots, 0, pt->nslots * sizeof *pt->slots);
        for (i = 0; i < nterms; i++)
            slot_put(pt->slots, pt->nslots, pt->terms[i].text, i);
    }
}

static void part_free(struct part *pt)
{
    part_truncate(pt, 0, 0);
    free(pt->p);
    free(pt->terms);
    free(pt->slots);
    memset(pt, 0, sizeof *pt);
}

/* ---- cards ---- */

/* One passage of a card: `what` is "complications" or "treatments", prose its text; lit holds the card's
 * code and name-phrase tokens. */
static int add_card_passage(struct part *pt, const struct kb_card *c, const char *what, const char *prose,
                            const char *const *lit, size_t nlit)
{
    struct passage ps;
    struct span sp[2 + 64];
    size_t nsp = 0, i;
    int rc = -1;

    memset(&ps, 0, sizeof ps);
    ps.source = KNOWLEDGE_SRC_CARD;
    ps.icd9 = dup_span(c->icd9, strlen(c->icd9));
    ps.title = dup_printf("%s (ICD-9-CM %s): %s", c->name, c->icd9, what);
    ps.text = dup_span(prose, strlen(prose));
    ps.attribution = dup_printf("%s %s", CARD_SOURCE, c->icd9);
    if (!ps.icd9 || !ps.title || !ps.text || !ps.attribution)
        goto out;
    sp[nsp].s = c->name;
    sp[nsp].n = strlen(c->name);
    sp[nsp++].weight = KNOWLEDGE_NAME_WEIGHT;
    for (i = 0; i < c->nsynonyms && nsp < sizeof sp / sizeof sp[0] - 1; i++) {
        sp[nsp].s = c->synonyms[i];
        sp[nsp].n = strlen(c->synonyms[i]);
        sp[nsp++].weight = KNOWLEDGE_NAME_WEIGHT;
    }
    sp[nsp].s = prose;
    sp[nsp].n = strlen(prose);
    sp[nsp++].weight = 1;
    rc = part_add(pt, &ps, sp, nsp, lit, nlit);
out:
    passage_free(&ps);
    return rc;
}

/* The card's name and synonyms as query text for its code. */
static int card_query_set(struct card_query *q, const struct kb_card *c)
{
    struct buf b;
    size_t i;
    int rc = 0;

    buf_init(&b, 0);
    rc |= buf_puts(&b, c->name);
    for (i = 0; i < c->nsynonyms; i++)
        rc |= buf_printf(&b, "\n%s", c->synonyms[i]);
    if (rc < 0 || buf_append(&b, "", 0) < 0) {
        buf_free(&b);
        return -1;
    }
    q->text = b.data;
    if (ktext_phrase_token(c->name, strlen(c->name), q->phrase) < 0)
        q->phrase[0] = '\0';
    return 0;
}

static int cmp_card_query(const void *a, const void *b)
{
    return strcmp(((const struct card_query *)a)->key, ((const struct card_query *)b)->key);
}

/* Adds one card: its two passages and its query words. */
static int add_card(struct knowledge_index *ix, const struct kb_card *c)
{
    char tok[KTEXT_MAX_TOKEN];
    struct card_query *q = &ix->cards[ix->ncards];
    const char *lit[2];

    if (!c->icd9 || !c->name || ktext_icd9_undot(c->icd9, q->key) < 0 || ktext_code_token(c->icd9, tok) < 0)
        return 0; /* the generic card "*" */
    if (card_query_set(q, c) < 0)
        return -1;
    ix->ncards++;
    lit[0] = tok;
    lit[1] = q->phrase;
    if (add_card_passage(&ix->part, c, "complications", c->complications ? c->complications : "", lit,
                         q->phrase[0] ? 2 : 1) < 0)
        return -1;
    return add_card_passage(&ix->part, c, "treatments", c->treatments ? c->treatments : "", lit,
                            q->phrase[0] ? 2 : 1);
}

struct knowledge_index *knowledge_index_build(const struct kb *kb, struct error *err)
{
    struct knowledge_index *ix = NULL;
    size_t i;

    if (!kb) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge index: no knowledge base");
        return NULL;
    }
    if (!(ix = calloc(1, sizeof *ix)) || !(ix->cards = calloc(kb->ncards ? kb->ncards : 1, sizeof *ix->cards)))
        goto fail;
    for (i = 0; i < kb->ncards; i++)
        if (add_card(ix, &kb->cards[i]) < 0)
            goto fail;
    qsort(ix->cards, ix->ncards, sizeof *ix->cards, cmp_card_query);
    return ix;
fail:
    nomem(err);
    knowledge_index_free(&ix);
    return NULL;
}

/* ---- MedlinePlus topics ---- */

/* Where to cut a line longer than KNOWLEDGE_MAX_CHUNK: after the last ". " that fits, else at the last
 * space, else at a UTF-8 character boundary. Returns the length of the first piece (> 0). */
static size_t cut_point(const char *s, size_t n)
{
    size_t i, max = n < KNOWLEDGE_MAX_CHUNK ? n : KNOWLEDGE_MAX_CHUNK;

    if (n <= KNOWLEDGE_MAX_CHUNK)
        return n;
    for (i = max - 1; i > max / 2; i--)
        if (s[i] == ' ' && s[i - 1] == '.')
            return i;
    for (i = max - 1; i > max / 2; i--)
        if (s[i] == ' ')
            return i;
    for (i = max; i > 1 && ((unsigned char)s[i] & 0xc0) == 0x80; i--)
        ;
    return i;
}

/* Splits a summary into chunks of whole lines (or pieces of a too-long line) of at most
 * KNOWLEDGE_MAX_CHUNK bytes. Fills up to max spans; returns the count, or SIZE_MAX on overflow. */
static size_t chunk_summary(const char *s, struct span *out, size_t max)
{
    size_t n = 0, line, cut;
    const char *start = NULL, *p = s;

    while (*p) {
        line = strcspn(p, "\n");
        if (start && (size_t)(p - start) + line > KNOWLEDGE_MAX_CHUNK) {
            out[n].s = start;
            out[n].n = (size_t)(p - start) - 1;
            start = NULL;
            if (++n >= max)
                return SIZE_MAX;
        }
        while (line > KNOWLEDGE_MAX_CHUNK) {
            cut = cut_point(p, line);
            out[n].s = p;
            out[n].n = cut;
            if (++n >= max)
                return SIZE_MAX;
            for (p += cut, line -= cut; line && *p == ' '; p++, line--)
                ;
        }
        if (!start && line)
            start = p;
        p += line;
        if (*p == '\n')
            p++;
    }
    if (start) {
        out[n].s = start;
        out[n].n = strlen(start);
        while (out[n].n && start[out[n].n - 1] == '\n')
            out[n].n--;
        n++;
    }
    return n;
}

/* Title and attribution of passage `i` of `n` of a topic. */
static int topic_labels(struct passage *ps, const struct mplus_topic *t, size_t i, size_t n)
{
    const char *who = t->from_connect ? "MedlinePlus Connect" : "MedlinePlus";

    if (n > 1)
        ps->title = dup_printf("%s (part %zu of %zu)", t->title, i + 1, n);
    else
        ps->title = dup_span(t->title, strlen(t->title));
    if (t->url && t->url[0])
        ps->attribution = dup_printf("%s, '%s', %s", who, t->title, t->url);
    else
        ps->attribution = dup_printf("%s, '%s'", who, t->title);
    if (t->icd9 && !(ps->icd9 = dup_span(t->icd9, strlen(t->icd9))))
        return -1;
    return ps->title && ps->attribution ? 0 : -1;
}

/* Chunks of one summary: two neighbouring chunks hold more than KNOWLEDGE_MAX_CHUNK bytes together and a
 * summary at most MPLUS_MAX_SUMMARY, so 2 * 65536 / 1600 + 1 = 83 is the most there can be. */
#define TOPIC_MAX_CHUNKS 160

/* Index spans of one topic passage: title, names, MeSH headings, then the chunk. Returns the count. */
static size_t topic_spans(const struct mplus_topic *t, const struct span *chunk, struct span *sp, size_t max)
{
    size_t n = 0, i;

    sp[n].s = t->title;
    sp[n].n = strlen(t->title);
    sp[n++].weight = KNOWLEDGE_NAME_WEIGHT;
    for (i = 0; i < t->nnames && n < max - 1; i++) {
        sp[n].s = t->names[i];
        sp[n].n = strlen(t->names[i]);
        sp[n++].weight = KNOWLEDGE_NAME_WEIGHT;
    }
    for (i = 0; i < t->nmesh && n < max - 1; i++) {
        sp[n].s = t->mesh[i];
        sp[n].n = strlen(t->mesh[i]);
        sp[n++].weight = KNOWLEDGE_NAME_WEIGHT;
    }
    sp[n] = *chunk;
    sp[n++].weight = 1;
    return n;
}

/* Literal terms of a topic's passages: its code token (Connect answers) and its title's phrase token. */
static size_t topic_literals(const struct mplus_topic *t, char toks[MAX_LITERALS][KTEXT_MAX_TOKEN],
                             const char *lit[MAX_LITERALS])
{
    size_t n = 0;

    if (t->icd9 && ktext_code_token(t->icd9, toks[n]) == 0) {
        lit[n] = toks[n];
        n++;
    }
    if (ktext_phrase_token(t->title, strlen(t->title), toks[n]) == 0) {
        lit[n] = toks[n];
        n++;
    }
    return n;
}

static int add_topic(struct part *pt, const struct mplus_topic *t)
{
    struct span chunks[TOPIC_MAX_CHUNKS], sp[2 * MPLUS_MAX_NAMES + 2];
    char toks[MAX_LITERALS][KTEXT_MAX_TOKEN];
    const char *lit[MAX_LITERALS];
    size_t nlit = topic_literals(t, toks, lit);
    struct passage ps;
    size_t n = chunk_summary(t->summary ? t->summary : "", chunks, TOPIC_MAX_CHUNKS), i, nsp;
    int rc = 0;

    if (n == SIZE_MAX)
        return -1;
    for (i = 0; i < n && rc == 0; i++) {
        memset(&ps, 0, sizeof ps);
        ps.source = t->from_connect ? KNOWLEDGE_SRC_CONNECT : KNOWLEDGE_SRC_MEDLINEPLUS;
        if (topic_labels(&ps, t, i, n) < 0 || !(ps.text = dup_span(chunks[i].s, chunks[i].n))) {
            rc = -1;
        } else {
            nsp = topic_spans(t, &chunks[i], sp, sizeof sp / sizeof sp[0]);
            rc = part_add(pt, &ps, sp, nsp, lit, nlit);
        }
        passage_free(&ps);
    }
    return rc;
}

/* Adds every topic; on failure the part is as before. Returns the number of passages added, -1 when
 * memory runs out or -2 when the part is full. */
static int add_topics(struct part *pt, const struct mplus_topics *topics)
{
    size_t n0 = pt->n, t0 = pt->nterms, i;
    int rc;

    for (i = 0; i < topics->n; i++) {
        if ((rc = add_topic(pt, &topics->items[i])) < 0) {
            part_truncate(pt, n0, t0);
            return rc;
        }
    }
    return pt->n - n0 > (size_t)0x7fffffff ? 0x7fffffff : (int)(pt->n - n0);
}

int knowledge_index_add_topics(struct knowledge_index *ix, const struct mplus_topics *topics, struct error *err)
{
    int rc;

    if (!ix || !topics) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge index: no index or no topics");
        return -1;
    }
    if ((rc = add_topics(&ix->part, topics)) >= 0)
        return rc;
    if (rc == -2) {
        error_set(err, LLMSYN_E_INPUT, "knowledge index: more than %d passages", KNOWLEDGE_MAX_PASSAGES);
        return -1;
    }
    return nomem(err);
}

int knowledge_index_add_medlineplus(struct knowledge_index *ix, const char *xml_path, struct error *err)
{
    struct mplus_topics topics = { NULL, 0, 0 };
    int rc = -1;

    if (!ix) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge index: no index");
        return -1;
    }
    if (mplus_load(xml_path, &topics, err) == 0)
        rc = knowledge_index_add_topics(ix, &topics, err);
    mplus_topics_free(&topics);
    return rc;
}

void knowledge_index_free(struct knowledge_index **ix)
{
    size_t i;

    if (!ix || !*ix)
        return;
    part_free(&(*ix)->part);
    for (i = 0; i < (*ix)->ncards; i++)
        free((*ix)->cards[i].text);
    free((*ix)->cards);
    free(*ix);
    *ix = NULL;
}

size_t knowledge_index_size(const struct knowledge_index *ix)
{
    return ix ? ix->part.n : 0;
}

static void passage_view(const struct passage *ps, size_t id, struct knowledge_passage *out)
{
    out->id = id;
    out->source = ps->source;
    out->icd9 = ps->icd9;
    out->title = ps->title;
    out->text = ps->text;
    out->attribution = ps->attribution;
}

int knowledge_passage_get(const struct knowledge_index *ix, size_t id, struct knowledge_passage *out)
{
    if (!ix || !out || id >= ix->part.n)
        return -1;
    passage_view(&ix->part.p[id], id, out);
    return 0;
}

/* ---- search ---- */

static void query_add(struct query *q, const char *tok)
{
    size_t i;

    for (i = 0; i < q->n; i++)
        if (!strcmp(q->t[i], tok))
            return;
    if (q->n < KNOWLEDGE_MAX_QUERY_TERMS)
        memcpy(q->t[q->n++], tok, strlen(tok) + 1);
}

static void query_words(struct query *q, const char *text)
{
    char tok[KTEXT_MAX_TOKEN];
    const char *p = text, *end = text + strlen(text);

    while (ktext_next_token(&p, end, tok) > 0)
        query_add(q, tok);
}

static int cmp_card_key(const void *key, const void *elem)
{
    return strcmp(key, ((const struct card_query *)elem)->key);
}

/* The query: the card's words and name phrase for the code, the code token, then the free text and its
 * phrase token. */
static void query_build(const struct knowledge_index *ix, const char *icd9, const char *text, struct query *q)
{
    char key[KTEXT_MAX_CODE], tok[KTEXT_MAX_TOKEN];
    const struct card_query *cq;

    if (icd9 && ktext_icd9_undot(icd9, key) == 0) {
        cq = bsearch(key, ix->cards, ix->ncards, sizeof *ix->cards, cmp_card_key);
        if (cq) {
            query_words(q, cq->text);
            if (cq->phrase[0])
                query_add(q, cq->phrase);
        }
        if (ktext_code_token(icd9, tok) == 0)
            query_add(q, tok);
    }
    if (text) {
        query_words(q, text);
        if (ktext_phrase_token(text, strlen(text), tok) == 0)
            query_add(q, tok);
    }
}

/* Adds BM25 contributions of term `tok` in part pt (ids offset by `base`) to scores. */
static void score_term(const struct part *pt, const char *tok, double idf, double avgdl, size_t base,
                       double *scores)
{
    const double k1 = KNOWLEDGE_BM25_K1, b = KNOWLEDGE_BM25_B;
    size_t t = part_find(pt, tok), i;
    const struct term *tm;
    double tf, dl;

    if (t == SIZE_MAX)
        return;
    tm = &pt->terms[t];
    for (i = 0; i < tm->n; i++) {
        tf = (double)tm->post[i].tf;
        dl = (double)pt->p[tm->post[i].passage].len;
        scores[base + tm->post[i].passage] += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl));
    }
}

static size_t term_df(const struct part *pt, const char *tok)
{
    size_t t = part_find(pt, tok);

    return t == SIZE_MAX ? 0 : pt->terms[t].n;
}

/* BM25 of every passage of main (ids 0..) and extra (ids after main's) for query q. */
static void score_all(const struct part *main_pt, const struct part *extra, const struct query *q, double *scores)
{
    double n = (double)(main_pt->n + extra->n), avgdl, df, idf;
    size_t i;

    avgdl = (main_pt->total_len + extra->total_len) / n;
    if (avgdl <= 0.0)
        return;
    for (i = 0; i < q->n; i++) {
        df = (double)(term_df(main_pt, q->t[i]) + term_df(extra, q->t[i]));
        if (df == 0.0)
            continue;
        idf = log(1.0 + (n - df + 0.5) / (df + 0.5));
        score_term(main_pt, q->t[i], idf, avgdl, 0, scores);
        score_term(extra, q->t[i], idf, avgdl, main_pt->n, scores);
    }
}

static int cmp_hit(const void *a, const void *b)
{
    const struct knowledge_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->passage < y->passage ? -1 : x->passage > y->passage;
}

/* Ranks all passages; *hits (caller frees) gets every passage with a score above 0, best first. */
static int rank(const struct knowledge_index *ix, const struct part *extra, const char *icd9, const char *text,
                struct knowledge_hit **hits, size_t *nhits)
{
    struct query q = { NULL, 0 };
    size_t total = ix->part.n + extra->n, i;
    double *scores = NULL;
    int rc = -1;

    *hits = NULL;
    *nhits = 0;
    if (!(q.t = malloc(KNOWLEDGE_MAX_QUERY_TERMS * sizeof *q.t)))
        return -1;
    query_build(ix, icd9, text, &q);
    if (!q.n || !total) {
        rc = 0;
        goto out;
    }
    if (!(scores = calloc(total, sizeof *scores)) || !(*hits = malloc(total * sizeof **hits)))
        goto out;
    score_all(&ix->part, extra, &q, scores);
    for (i = 0; i < total; i++) {
        if (scores[i] > 0.0) {
            (*hits)[*nhits].passage = i;
            (*hits)[(*nhits)++].score = scores[i];
        }
    }
    qsort(*hits, *nhits, sizeof **hits, cmp_hit);
    rc = 0;
out:
    free(q.t);
    free(scores);
    return rc;
}

/* Indexes the extra topics into a temporary part. */
static int extra_part(const struct mplus_topics *extra, struct part *pt, struct error *err)
{
    memset(pt, 0, sizeof *pt);
    if (extra && add_topics(pt, extra) < 0) {
        part_free(pt);
        return nomem(err);
    }
    return 0;
}

static int check_args(const struct knowledge_index *ix, size_t k, struct error *err)
{
    if (!ix) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge retrieval: no index");
        return -1;
    }
    if (k > KNOWLEDGE_MAX_K) {
        error_set(err, LLMSYN_E_USAGE, "knowledge retrieval: k is %zu, at most %d passages", k, KNOWLEDGE_MAX_K);
        return -1;
    }
    return 0;
}

int knowledge_search(const struct knowledge_index *ix, const struct mplus_topics *extra, const char *icd9_code,
                     const char *query_text, struct knowledge_hit *hits, size_t k, struct error *err)
{
    struct knowledge_hit *all = NULL;
    struct part ex;
    size_t n = 0;
    int rc = -1;

    if (check_args(ix, k, err) < 0)
        return -1;
    if (k && !hits) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge retrieval: no hit array");
        return -1;
    }
    if (extra_part(extra, &ex, err) < 0)
        return -1;
    if (rank(ix, &ex, icd9_code, query_text, &all, &n) < 0) {
        nomem(err);
        goto out;
    }
    if (n > k)
        n = k;
    if (n)
        memcpy(hits, all, n * sizeof *hits);
    rc = (int)n;
out:
    free(all);
    part_free(&ex);
    return rc;
}

/* ---- the retrieved text ---- */

/* Appends one "[n] title / text / Source:" block to b. */
static int render_passage(struct buf *b, size_t n, const struct passage *ps)
{
    const char *t = ps->text;
    size_t len = strlen(t);

    while (len && (t[len - 1] == '\n' || t[len - 1] == ' '))
        len--;
    if (buf_printf(b, "\n[%zu] %s\n", n, ps->title) < 0 || buf_append(b, t, len) < 0 ||
        buf_printf(b, "\nSource: %s\n", ps->attribution) < 0)
        return -1;
    return 0;
}

/* Writes the best hits that fit the budget into b; returns the number written or -1 (memory). */
static int render_hits(const struct knowledge_index *ix, const struct part *ex, const struct knowledge_hit *hits,
                       size_t nhits, size_t k, size_t budget, struct buf *b)
{
    struct buf block;
    const struct passage *ps;
    size_t i, written = 0;
    int rc = 0;

    buf_init(&block, 0);
    for (i = 0; i < nhits && written < k && rc == 0; i++) {
        ps = hits[i].passage < ix->part.n ? &ix->part.p[hits[i].passage] : &ex->p[hits[i].passage - ix->part.n];
        buf_reset(&block);
        if ((!written && buf_puts(&block, HEADING) < 0) || render_passage(&block, written + 1, ps) < 0) {
            rc = -1;
            break;
        }
        if (budget && KNOWLEDGE_TOKENS(b->len + block.len) > budget)
            continue;
        if (buf_append(b, block.data, block.len) < 0)
            rc = -1;
        else
            written++;
    }
    buf_free(&block);
    return rc < 0 ? -1 : (int)written;
}

int knowledge_retrieve_extra(const struct knowledge_index *ix, const struct mplus_topics *extra,
                             const char *icd9_code, const char *query_text, size_t k, size_t token_budget,
                             struct buf *out, struct error *err)
{
    struct knowledge_hit *hits = NULL;
    struct part ex;
    struct buf text;
    size_t nhits = 0;
    int rc = -1;

    if (check_args(ix, k, err) < 0)
        return -1;
    if (!out) {
        error_set(err, LLMSYN_E_INTERNAL, "knowledge retrieval: no output buffer");
        return -1;
    }
    if (extra_part(extra, &ex, err) < 0)
        return -1;
    buf_init(&text, 0);
    if (rank(ix, &ex, icd9_code, query_text, &hits, &nhits) < 0 ||
        (rc = render_hits(ix, &ex, hits, nhits, k, token_budget, &text)) < 0) {
        rc = nomem(err);
        goto out;
    }
    if (rc > 0 && buf_append(out, text.data, text.len) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "knowledge retrieval: out of memory or over the output cap");
        rc = -1;
    }
out:
    free(hits);
    part_free(&ex);
    buf_free(&text);
    return rc;
}

int knowledge_retrieve(const struct knowledge_index *ix, const char *icd9_code, const char *query_text, size_t k,
                       size_t token_budget, struct buf *out, struct error *err)
{
    return knowledge_retrieve_extra(ix, NULL, icd9_code, query_text, k, token_budget, out, err);
}
