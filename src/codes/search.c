/* search.c - dict_search: valid codes ranked by a shared code prefix (when the text starts like a code), then
 * by idf-weighted overlap of lower-cased word stems with the description, then query words found side by side,
 * then Jaccard similarity of the word sets, then code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codes/dict_internal.h"

#define MAX_TERMS 32   /* query words used (a bit each); later ones are ignored */
#define TERM_MAX 24    /* bytes of a word compared, after stemming */
#define KEY_MAX 8      /* characters of a code-like start compared */
#define MAX_SOURCES 2  /* tables searched for one system (CPT: licensed CPT and HCPCS) */

struct query {
    char terms[MAX_TERMS][TERM_MAX];
    size_t nterms;
    double idf[MAX_TERMS], idf_sum;
    char key[KEY_MAX + 1]; /* code-like start: upper case, no dots; "" when none */
    size_t keylen, min_prefix;
};

struct hit {
    const struct code_entry *e; /* borrowed */
    size_t prefix;
    double cover, jaccard;
    unsigned pairs;
};

struct source {
    const struct code_table *t; /* borrowed */
    uint32_t *mask;             /* per entry: query terms found in its display (owned by the search) */
    uint16_t *words;            /* per entry: words of its display */
    uint8_t *pairs;             /* per entry: query word pairs found next to each other, in order */
};

static const char *const stop_words[] = { "a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or",
                                          "the", "to", "with" };

static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Word comparisons are plain loops: this runs over every description for every search, and the C library's
 * (and a fuzzer's intercepted) strcmp costs a call per word. */
static int same_word(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = 0;

    while (suffix[k])
        k++;
    if (n <= k)
        return 0;
    w += n - k;
    while (*suffix && *w == *suffix) {
        w++;
        suffix++;
    }
    return *suffix == '\0';
}

/* A light stemmer: plurals and -ing/-ed ("infections" -> "infection", "bleeding" -> "bleed"). */
static size_t stem(char *w, size_t n)
{
    if (n > 4 && ends_with(w, n, "ies")) {
        w[n - 3] = 'y';
        n -= 2;
    } else if (n > 3 && w[n - 1] == 's' && !ends_with(w, n, "ss") && !ends_with(w, n, "us") &&
               !ends_with(w, n, "is")) {
        n--;
    }
    if (n > 5 && ends_with(w, n, "ing"))
        n -= 3;
    else if (n > 4 && ends_with(w, n, "ed"))
        n -= 2;
    w[n] = '\0';
    return n;
}

static int is_stop_word(const char *w)
{
    size_t i;

    for (i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++)
        if (same_word(w, stop_words[i]))
            return 1;
    return 0;
}

/* Reads the next word at *p into w (lower case, stemmed, at most TERM_MAX - 1 bytes). Returns 0 at the end. */
static int next_word(const char **p, char w[TERM_MAX])
{
    const unsigned char *s = (const unsigned char *)*p;
    size_t n = 0;

    for (;;) {
        while (*s && !word_byte(*s))
            s++;
        if (!*s)
            break;
        n = 0;
        while (word_byte(*s)) {
            if (n < TERM_MAX - 1)
                w[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
            s++;
        }
        w[n] = '\0';
        if ((n > 4 || !is_stop_word(w)) && stem(w, n) > 0) /* stop words are short */
            break;
        n = 0;
    }
    *p = (const char *)s;
    return n > 0;
}

/* A code-like start ("428.9x", "V58", "9922"): letters, digits and dots with a digit, up to KEY_MAX
 * characters, then no more letters or digits. Returns its length in text, or 0. */
static size_t code_like(const char *text, struct query *q, enum code_system system)
{
    char norm[DICT_CODE_MAX];
    size_t n = 0, digits = 0, i, k = 0;
    const char *src;

    while (word_byte((unsigned char)text[n]) || text[n] == '.') {
        if ((unsigned char)text[n] >= 0x80)
            return 0;
        digits += text[n] >= '0' && text[n] <= '9';
        n++;
    }
    if (!digits || n > KEY_MAX + 2)
        return 0;
    src = code_normalise(system, text, norm, sizeof norm) == 0 ? norm : text;
    for (i = 0; src[i] && (src != text || i < n) && k < KEY_MAX; i++)
        if (src[i] != '.')
            q->key[k++] = (char)((src[i] >= 'a' && src[i] <= 'z') ? src[i] - 32 : src[i]);
    q->key[k] = '\0';
    q->keylen = k;
    q->min_prefix = system == CODE_ICD9_PX ? 2 : 3;
    if (k < q->min_prefix) {
        q->key[0] = '\0';
        q->keylen = 0;
    }
    return n;
}

static void parse_query(const char *text, struct query *q, enum code_system system)
{
    char w[TERM_MAX];
    size_t i;

    memset(q, 0, sizeof *q);
    while (*text == ' ' || *text == '\t')
        text++;
    text += code_like(text, q, system);
    while (q->nterms < MAX_TERMS && next_word(&text, w)) {
        for (i = 0; i < q->nterms && strcmp(q->terms[i], w) != 0; i++)
            ;
        if (i == q->nterms)
            memcpy(q->terms[q->nterms++], w, TERM_MAX);
    }
}

/* Query terms found in one description (a bit each), its word count, and how many consecutive query terms
 * follow each other in it ("acute myocardial infarction" has two such pairs). */
static uint32_t match_words(const struct query *q, const char *text, uint16_t *words, uint8_t *pairs)
{
    char w[TERM_MAX];
    uint32_t mask = 0;
    unsigned n = 0, np = 0;
    size_t i, prev = MAX_TERMS;

    *words = 0;
    *pairs = 0;
    if (!text || !q->nterms)
        return 0;
    while (next_word(&text, w)) {
        n++;
        for (i = 0; i < q->nterms; i++)
            if (w[0] == q->terms[i][0] && same_word(w, q->terms[i]))
                break;
        if (i < q->nterms) {
            mask |= 1u << i;
            np += prev + 1 == i;
        }
        prev = i < q->nterms ? i : MAX_TERMS;
    }
    *words = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
    *pairs = (uint8_t)(np > UINT8_MAX ? UINT8_MAX : np);
    return mask;
}

/* Characters shared by the key and the start of code (dots skipped). */
static size_t prefix_len(const struct query *q, const char *code)
{
    size_t k = 0;

    for (; *code && k < q->keylen; code++) {
        if (*code == '.')
            continue;
        if (*code != q->key[k])
            break;
        k++;
    }
    return k >= q->min_prefix ? k : 0;
}

/* Pass 1: masks of every valid entry and the document frequency of each term; sets the idf weights. */
static void count_terms(struct query *q, struct source *src, size_t nsrc)
{
    size_t df[MAX_TERMS] = { 0 }, docs = 0, s, i, t;

    for (s = 0; s < nsrc; s++)
        for (i = 0; i < src[s].t->n; i++) {
            const struct code_entry *e = &src[s].t->e[i];

            src[s].mask[i] =
                e->status == CODE_VALID ? match_words(q, e->display, &src[s].words[i], &src[s].pairs[i]) : 0;
            docs += e->status == CODE_VALID;
            for (t = 0; t < q->nterms; t++)
                df[t] += (src[s].mask[i] >> t) & 1u;
        }
    for (t = 0; t < q->nterms; t++) {
        q->idf[t] = df[t] ? log(1.0 + (double)docs / (double)df[t]) : 0.0;
        q->idf_sum += q->idf[t];
    }
}

/* 1 when a ranks before b. */
static int better(const struct hit *a, const struct hit *b)
{
    if (a->prefix != b->prefix)
        return a->prefix > b->prefix;
    if (a->cover != b->cover)
        return a->cover > b->cover;
    if (a->pairs != b->pairs)
        return a->pairs > b->pairs;
    if (a->jaccard != b->jaccard)
        return a->jaccard > b->jaccard;
    return strcmp(a->e->code, b->e->code) < 0;
}

/* Inserts h into the sorted top list (n used of limit). Returns the new count. */
static size_t keep_top(struct hit *top, size_t n, size_t limit, const struct hit *h)
{
    size_t i;

    if (n == limit && !better(h, &top[n - 1]))
        return n;
    i = n < limit ? n++ : n - 1;
    while (i > 0 && better(h, &top[i - 1])) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = *h;
    return n;
}

static int score(const struct query *q, const struct source *s, size_t i, struct hit *h)
{
    const struct code_entry *e = &s->t->e[i];
    uint32_t mask = s->mask[i];
    unsigned m = 0;
    size_t t;

    if (e->status != CODE_VALID)
        return 0;
    h->e = e;
    h->prefix = q->keylen ? prefix_len(q, e->code) : 0;
    if (!h->prefix && !mask)
        return 0;
    h->cover = 0.0;
    for (t = 0; t < q->nterms; t++)
        if ((mask >> t) & 1u) {
            h->cover += q->idf[t];
            m++;
        }
    h->cover = q->idf_sum > 0 ? h->cover / q->idf_sum : 0.0;
    h->jaccard = m ? (double)m / (double)(q->nterms + s->words[i] - m) : 0.0;
    h->pairs = s->pairs[i];
    return 1;
}

static size_t sources_of(const struct dict *d, enum code_system system, struct source *src)
{
    switch (system) {
    case CODE_ICD9_DX: src[0].t = &d->tables[TABLE_DX]; return 1;
    case CODE_ICD9_PX: src[0].t = &d->tables[TABLE_PX]; return 1;
    case CODE_HCPCS: src[0].t = &d->tables[TABLE_HCPCS]; return 1;
    case CODE_CPT:
        src[0].t = &d->tables[TABLE_HCPCS];
        if (!d->cpt_exact)
            return 1;
        src[1].t = &d->tables[TABLE_CPT];
        return 2;
    }
    return 0;
}

static size_t rank(const struct query *q, const struct source *src, size_t nsrc, struct hit *top, size_t limit)
{
    struct hit h;
    size_t n = 0, s, i;

    for (s = 0; s < nsrc; s++)
        for (i = 0; i < src[s].t->n; i++)
            if (score(q, &src[s], i, &h))
                n = keep_top(top, n, limit, &h);
    return n;
}

size_t dict_search(const struct dict *d, enum code_system system, const char *text, struct code_info *out,
                   size_t limit)
{
    struct source src[MAX_SOURCES];
    struct query q;
    struct hit *top = NULL;
    size_t nsrc, total = 0, n = 0, s, i;

    memset(src, 0, sizeof src);
    if (!d || !text || !out || limit == 0)
        return 0;
    nsrc = sources_of(d, system, src);
    parse_query(text, &q, system);
    if (!nsrc || (!q.nterms && !q.keylen))
        return 0;
    for (s = 0; s < nsrc; s++)
        total += src[s].t->n;
    if (limit > total)
        limit = total;
    top = malloc((limit ? limit : 1) * sizeof *top);
    for (s = 0; s < nsrc && top; s++) {
        src[s].mask = calloc(src[s].t->n + 1, sizeof *src[s].mask);
        src[s].words = calloc(src[s].t->n + 1, sizeof *src[s].words);
        src[s].pairs = calloc(src[s].t->n + 1, sizeof *src[s].pairs);
        if (!src[s].mask || !src[s].words || !src[s].pairs)
            goto out;
    }
    if (!top || limit == 0)
        goto out;
    count_terms(&q, src, nsrc);
    n = rank(&q, src, nsrc, top, limit);
    for (i = 0; i < n; i++)
        dict_lookup(d, system, top[i].e->code, &out[i]);
out:
    for (s = 0; s < nsrc; s++) {
        free(src[s].mask);
        free(src[s].words);
        free(src[s].pairs);
    }
    free(top);
    return n;
}
