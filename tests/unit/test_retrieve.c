/* test_retrieve.c - unit tests of BM25 retrieval over cards and MedlinePlus topics (src/knowledge/retrieve.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knowledge/kb.h"
#include "knowledge/medlineplus.h"
#include "knowledge/retrieve.h"
#include "prior/prior.h"
#include "util/buf.h"

#define NTHREADS 4
#define MAX_HITS 16

static const char *repo_root(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

static void path_of(char *out, size_t len, const char *rel)
{
    if (snprintf(out, len, "%s/%s", repo_root(), rel) >= (int)len)
        fail_msg("LLMSYN_ROOT too long");
}

static struct kb *load_kb(void)
{
    char path[4096];
    struct error err = { 0 };
    struct kb *kb;

    path_of(path, sizeof path, "mappings/knowledge.json");
    if (!(kb = kb_load(path, &err)))
        fail_msg("%s", err.msg);
    return kb;
}

static struct prior *load_prior(void)
{
    char path[4096];
    struct error err = { 0 };
    struct prior *p;

    path_of(path, sizeof path, "mappings/prior.json");
    if (!(p = prior_load(path, &err)))
        fail_msg("%s", err.msg);
    return p;
}

static struct knowledge_index *build(const struct kb *kb)
{
    struct error err = { 0 };
    struct knowledge_index *ix = knowledge_index_build(kb, &err);

    if (!ix)
        fail_msg("%s", err.msg);
    return ix;
}

/* Code of the card a hit belongs to ("" for passages without one). */
static const char *hit_code(const struct knowledge_index *ix, const struct knowledge_hit *h)
{
    struct knowledge_passage ps;

    assert_int_equal(knowledge_passage_get(ix, h->passage, &ps), 0);
    assert_int_equal(ps.id, h->passage);
    return ps.icd9 ? ps.icd9 : "";
}

/* Scores never increase down the list; equal scores are in passage-id order. */
static void assert_ranked(const struct knowledge_hit *h, int n)
{
    int i;

    for (i = 1; i < n; i++) {
        assert_true(h[i].score > 0.0);
        if (h[i].score > h[i - 1].score)
            fail_msg("hit %d scores %.9f above hit %d (%.9f)", i, h[i].score, i - 1, h[i - 1].score);
        if (h[i].score == h[i - 1].score)
            assert_true(h[i].passage > h[i - 1].passage);
    }
}

/* The test: every one of the prior's 100 diagnoses has a card, and retrieval puts that card first
 * when asked by code (both of its passages on top) and by name (the prior's description text). */
static void test_every_prior_disease_by_code_and_name(void **state)
{
    struct kb *kb = load_kb();
    struct prior *p = load_prior();
    struct knowledge_index *ix = build(kb);
    struct knowledge_hit h[MAX_HITS];
    struct error err = { 0 };
    size_t i;
    int n;

    (void)state;
    assert_int_equal(p->ndiagnoses, 100);
    assert_int_equal(knowledge_index_size(ix), 2 * (kb->ncards - 1));
    for (i = 0; i < p->ndiagnoses; i++) {
        const struct prior_diagnosis *d = &p->diagnoses[i];
        const struct kb_card *card = kb_find(kb, d->code);
        const char *name = d->description;

        if (!card)
            fail_msg("no card for prior diagnosis %s", d->code);
        n = knowledge_search(ix, NULL, d->code, NULL, h, 5, &err);
        assert_true(n >= 2);
        assert_ranked(h, n);
        if (strcmp(hit_code(ix, &h[0]), card->icd9) || strcmp(hit_code(ix, &h[1]), card->icd9))
            fail_msg("by code %s: top hits are %s, %s", d->code, hit_code(ix, &h[0]), hit_code(ix, &h[1]));
        if (!name)
            name = card->name; /* the prior format allows a diagnosis without a description */
        n = knowledge_search(ix, NULL, NULL, name, h, 5, &err);
        assert_true(n >= 1);
        assert_ranked(h, n);
        if (strcmp(hit_code(ix, &h[0]), card->icd9))
            fail_msg("by name '%s' (%s): top hit is %s", name, d->code, hit_code(ix, &h[0]));
    }
    assert_int_equal(err.code, LLMSYN_OK);
    knowledge_index_free(&ix);
    assert_null(ix);
    prior_free(&p);
    kb_free(&kb);
}

/* Three cards with one-word names, no synonyms and prose whose words survive tokenising unchanged. */
static const char BM25_KB[] =
    "{\"source\": \"t\", \"cards\": ["
    "{\"icd9\": \"401.9\", \"name\": \"alpha\", \"complications\": \"zebra zebra quartz\", \"treatments\": \"quartz\","
    " \"complication_codes\": [], \"procedure_codes\": []},"
    "{\"icd9\": \"428.0\", \"name\": \"beta\", \"complications\": \"zebra quartz quartz quartz quartz\","
    " \"treatments\": \"quartz\", \"complication_codes\": [], \"procedure_codes\": []},"
    "{\"icd9\": \"486\", \"name\": \"gamma\", \"complications\": \"zebra quartz quartz quartz quartz\","
    " \"treatments\": \"violet\", \"complication_codes\": [], \"procedure_codes\": []}]}";

/* BM25 written out independently of the implementation. */
static double bm25(double tf, double df, double n, double dl, double avgdl)
{
    const double k1 = KNOWLEDGE_BM25_K1, b = KNOWLEDGE_BM25_B;

    return log(1.0 + (n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl));
}

static void test_bm25_scores_and_ties(void **state)
{
    struct error err = { 0 };
    struct kb *kb = kb_parse(BM25_KB, strlen(BM25_KB), "bm25.json", &err);
    struct knowledge_index *ix;
    struct knowledge_hit h[MAX_HITS];
    struct knowledge_passage ps;
    /* Passage lengths: name twice (NAME_WEIGHT), prose words, the code token and the name-phrase token. */
    const double w = KNOWLEDGE_NAME_WEIGHT;
    const double dl[6] = { w + 3 + 2, w + 1 + 2, w + 5 + 2, w + 1 + 2, w + 5 + 2, w + 1 + 2 };
    double avgdl = 0.0;
    int n, i;

    (void)state;
    if (!kb)
        fail_msg("%s", err.msg);
    ix = build(kb);
    assert_int_equal(knowledge_index_size(ix), 6);
    for (i = 0; i < 6; i++)
        avgdl += dl[i] / 6.0;
    /* "zebra" is in passages 0 (twice), 2 and 4: passage 0 first, then the tie 2/4 in id order. */
    n = knowledge_search(ix, NULL, NULL, "zebra", h, MAX_HITS, &err);
    assert_int_equal(n, 3);
    assert_int_equal(h[0].passage, 0);
    assert_int_equal(h[1].passage, 2);
    assert_int_equal(h[2].passage, 4);
    assert_true(fabs(h[0].score - bm25(2, 3, 6, dl[0], avgdl)) < 1e-9);
    assert_true(fabs(h[1].score - bm25(1, 3, 6, dl[2], avgdl)) < 1e-9);
    assert_true(h[1].score == h[2].score);
    /* A rarer term outweighs a common one: "violet" (1 passage) plus "quartz" (5 passages). */
    n = knowledge_search(ix, NULL, NULL, "violet quartz", h, MAX_HITS, &err);
    assert_int_equal(n, 6);
    assert_int_equal(h[0].passage, 5);
    assert_true(fabs(h[0].score - bm25(1, 1, 6, dl[5], avgdl)) < 1e-9);
    assert_ranked(h, n);
    /* Code look-up: the card's name word, its code token and its name phrase; of its two passages the
     * shorter one (treatments) ranks first. */
    n = knowledge_search(ix, NULL, "4280", NULL, h, MAX_HITS, &err);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].passage, 3);
    assert_int_equal(h[1].passage, 2);
    assert_true(h[0].score > h[1].score);
    assert_int_equal(knowledge_passage_get(ix, 2, &ps), 0);
    assert_string_equal(ps.icd9, "428.0");
    assert_int_equal(ps.source, KNOWLEDGE_SRC_CARD);
    assert_string_equal(ps.title, "beta (ICD-9-CM 428.0): complications");
    assert_string_equal(ps.text, "zebra quartz quartz quartz quartz");
    assert_string_equal(ps.attribution, "llmsyn-fhir knowledge base, card 428.0");
    assert_int_equal(knowledge_passage_get(ix, 6, &ps), -1);
    /* Nothing relevant: no hits. */
    assert_int_equal(knowledge_search(ix, NULL, NULL, "the of and", h, MAX_HITS, &err), 0);
    assert_int_equal(knowledge_search(ix, NULL, "999.9", NULL, h, MAX_HITS, &err), 0);
    assert_int_equal(knowledge_search(ix, NULL, NULL, NULL, h, MAX_HITS, &err), 0);
    assert_int_equal(knowledge_search(ix, NULL, NULL, "zebra", h, 1, &err), 1);
    assert_int_equal(err.code, LLMSYN_OK);
    assert_int_equal(knowledge_search(ix, NULL, NULL, "zebra", h, KNOWLEDGE_MAX_K + 1, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_USAGE);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

static int count_of(const char *s, const char *what)
{
    int n = 0;

    for (s = strstr(s, what); s; s = strstr(s + 1, what))
        n++;
    return n;
}

static void test_rendered_text(void **state)
{
    struct kb *kb = load_kb();
    struct knowledge_index *ix = build(kb);
    struct error err = { 0 };
    struct buf out;
    int n;

    (void)state;
    buf_init(&out, 0);
    n = knowledge_retrieve(ix, "428.0", "heart failure with fluid overload", 3, 0, &out, &err);
    assert_int_equal(n, 3);
    assert_int_equal(strncmp(buf_str(&out), "Retrieved reference knowledge, most relevant first:\n\n[1] ", 57), 0);
    assert_non_null(strstr(buf_str(&out), "\n[1] Congestive heart failure, unspecified (ICD-9-CM 428.0): complications\n"
                                          "When the heart cannot pump well"));
    assert_non_null(strstr(buf_str(&out), "\nSource: llmsyn-fhir knowledge base, card 428.0\n"));
    assert_int_equal(count_of(buf_str(&out), "\nSource: "), 3);
    assert_non_null(strstr(buf_str(&out), "\n[3] "));
    assert_null(strstr(buf_str(&out), "\n[4] "));
    assert_int_equal(out.data[out.len - 1], '\n');
    /* k = 0 and an unknown code without text write nothing and keep what the buffer held. */
    buf_reset(&out);
    assert_int_equal(buf_puts(&out, "kept"), 0);
    assert_int_equal(knowledge_retrieve(ix, "428.0", NULL, 0, 0, &out, &err), 0);
    assert_int_equal(knowledge_retrieve(ix, "999.9", NULL, 3, 0, &out, &err), 0);
    assert_int_equal(knowledge_retrieve(ix, "not-a-code", NULL, 3, 0, &out, &err), 0);
    assert_string_equal(buf_str(&out), "kept");
    assert_int_equal(err.code, LLMSYN_OK);
    assert_int_equal(knowledge_retrieve(ix, "428.0", NULL, 3, 0, NULL, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    buf_free(&out);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

/* The text written never passes the budget (bytes / 4), more budget never means fewer passages, and a
 * budget too small for any passage writes nothing. */
static void test_token_budget(void **state)
{
    static const char *const codes[] = { "428.0", "V05.3", "995.92", "E878.2", "276.50" };
    struct kb *kb = load_kb();
    struct knowledge_index *ix = build(kb);
    struct error err = { 0 };
    struct buf out;
    size_t c, budget, tokens;
    int n, prev, unlimited;

    (void)state;
    buf_init(&out, 0);
    for (c = 0; c < sizeof codes / sizeof codes[0]; c++) {
        unlimited = knowledge_retrieve(ix, codes[c], NULL, 6, 0, &out, &err);
        assert_int_equal(unlimited, 6);
        prev = 0;
        for (budget = 10; budget <= 2000; budget += 10) {
            buf_reset(&out);
            assert_int_equal(buf_puts(&out, "x"), 0);
            n = knowledge_retrieve(ix, codes[c], NULL, 6, budget, &out, &err);
            assert_true(n >= 0 && n <= 6);
            tokens = KNOWLEDGE_TOKENS(out.len - 1);
            if (tokens > budget)
                fail_msg("%s: %zu tokens over a budget of %zu", codes[c], tokens, budget);
            assert_true(n >= prev);
            assert_int_equal(count_of(buf_str(&out), "\nSource: "), n);
            if (n == 0)
                assert_string_equal(buf_str(&out), "x");
            prev = n;
        }
        assert_int_equal(prev, 6); /* 2000 tokens hold six card passages */
        buf_reset(&out);
        assert_int_equal(knowledge_retrieve(ix, codes[c], NULL, 6, 20, &out, &err), 0);
        assert_int_equal(out.len, 0);
    }
    assert_int_equal(err.code, LLMSYN_OK);
    buf_free(&out);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

static void test_medlineplus_topics_in_index(void **state)
{
    char path[4096], bad[4096];
    struct kb *kb = load_kb();
    struct knowledge_index *ix = build(kb);
    struct knowledge_hit h[MAX_HITS];
    struct knowledge_passage ps;
    struct error err = { 0 };
    size_t before = knowledge_index_size(ix);
    struct buf out;
    int n, i, found = -1;

    (void)state;
    buf_init(&out, 0);
    path_of(path, sizeof path, "tests/data/medlineplus/mplus_topics_sample.xml");
    path_of(bad, sizeof bad, "tests/data/medlineplus/bad-tag-mismatch.xml");
    assert_int_equal(knowledge_index_add_medlineplus(ix, path, &err), 3); /* 3 English topics, 1 chunk each */
    assert_int_equal(knowledge_index_size(ix), before + 3);
    n = knowledge_search(ix, NULL, NULL, "gout flare with uric acid crystals", h, 3, &err);
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        assert_int_equal(knowledge_passage_get(ix, h[i].passage, &ps), 0);
        if (ps.source == KNOWLEDGE_SRC_MEDLINEPLUS && !strcmp(ps.title, "Gout"))
            found = i;
    }
    if (found < 0)
        fail_msg("the MedlinePlus topic 'Gout' is not among the top %d", n);
    assert_int_equal(knowledge_passage_get(ix, h[found].passage, &ps), 0);
    assert_null(ps.icd9);
    assert_string_equal(ps.attribution, "MedlinePlus, 'Gout', https://medlineplus.gov/gout.html");
    assert_non_null(strstr(ps.text, "needle-like crystals"));
    /* A synonym from also-called finds its topic: "CHF" is only in the Heart Failure topic and a card. */
    n = knowledge_search(ix, NULL, NULL, "obstructive sleep apnea", h, 3, &err);
    assert_true(n > 0);
    assert_int_equal(knowledge_passage_get(ix, h[0].passage, &ps), 0);
    assert_true(!strcmp(ps.title, "Sleep Apnea") || (ps.icd9 && !strcmp(ps.icd9, "327.23")));
    /* Rendered with its attribution. */
    assert_int_equal(knowledge_retrieve(ix, "274.9", "gout", 4, 0, &out, &err), 4);
    assert_non_null(strstr(buf_str(&out), "\nSource: MedlinePlus, 'Gout', https://medlineplus.gov/gout.html\n"));
    /* A malformed file: -1 naming file:line, and the index is as it was. */
    assert_int_equal(knowledge_index_add_medlineplus(ix, bad, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "bad-tag-mismatch.xml:6: "));
    assert_int_equal(knowledge_index_size(ix), before + 3);
    buf_free(&out);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

/* A long summary becomes several passages of at most KNOWLEDGE_MAX_CHUNK bytes that keep every word. */
static void test_long_summary_chunks(void **state)
{
    struct kb *kb = load_kb();
    struct knowledge_index *ix = build(kb);
    struct mplus_topics topics = { NULL, 0, 0 };
    struct mplus_topic t;
    struct knowledge_passage ps;
    struct error err = { 0 };
    struct buf summary, joined;
    size_t before = knowledge_index_size(ix), i;
    int n, words = 0;

    (void)state;
    buf_init(&summary, 0);
    buf_init(&joined, 0);
    for (i = 0; i < 120; i++)
        assert_int_equal(buf_printf(&summary, "Sentence number w%zu talks about kidneys and fluid balance. %s", i,
                                    i % 20 == 19 ? "\n" : ""), 0);
    for (i = 0; i < 3000; i++) /* one line with no sentence end at all */
        assert_int_equal(buf_putc(&summary, (char)('a' + i % 26)), 0);
    memset(&t, 0, sizeof t);
    t.title = (char *)(uintptr_t)"Long Topic";
    t.url = (char *)(uintptr_t)"";
    t.id = (char *)(uintptr_t)"";
    t.institute = (char *)(uintptr_t)"";
    t.summary = summary.data;
    topics.items = &t;
    topics.n = 1;
    n = knowledge_index_add_topics(ix, &topics, &err);
    assert_true(n > 4);
    assert_int_equal(knowledge_index_size(ix), before + (size_t)n);
    for (i = before; i < knowledge_index_size(ix); i++) {
        char want[64];

        assert_int_equal(knowledge_passage_get(ix, i, &ps), 0);
        assert_true(strlen(ps.text) <= KNOWLEDGE_MAX_CHUNK && strlen(ps.text) > 0);
        snprintf(want, sizeof want, "Long Topic (part %zu of %d)", i - before + 1, n);
        assert_string_equal(ps.title, want);
        assert_int_equal(buf_puts(&joined, ps.text), 0);
        assert_int_equal(buf_putc(&joined, ' '), 0);
    }
    for (i = 0; i < 120; i++) {
        char w[16];

        snprintf(w, sizeof w, "w%zu ", i);
        words += strstr(buf_str(&joined), w) != NULL;
    }
    assert_int_equal(words, 120);
    buf_free(&summary);
    buf_free(&joined);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

/* Topics of a live answer are scored with the index without being added to it. */
static void test_extra_topics(void **state)
{
    char path[4096];
    struct kb *kb = load_kb();
    struct knowledge_index *ix = build(kb);
    struct mplus_topics live = { NULL, 0, 0 };
    struct knowledge_hit h[MAX_HITS];
    struct error err = { 0 };
    struct buf xml, out;
    size_t before = knowledge_index_size(ix);
    FILE *f;
    char chunk[4096];
    size_t got;
    int n, i, seen = 0;

    (void)state;
    buf_init(&xml, 0);
    buf_init(&out, 0);
    path_of(path, sizeof path, "tests/data/medlineplus/connect/428.0.xml");
    assert_non_null(f = fopen(path, "rb"));
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&xml, chunk, got), 0);
    fclose(f);
    assert_int_equal(mplus_parse_connect(xml.data, xml.len, "428.0.xml", "428.0", &live, &err), 0);
    n = knowledge_search(ix, &live, "428.0", NULL, h, 5, &err);
    assert_true(n >= 3);
    for (i = 0; i < n; i++)
        seen += h[i].passage >= before;
    assert_int_equal(seen, 1); /* the Connect topic carries the code token and ranks with the card */
    assert_int_equal(knowledge_retrieve_extra(ix, &live, "428.0", NULL, 3, 0, &out, &err), 3);
    assert_non_null(strstr(buf_str(&out), "Source: MedlinePlus Connect, 'Heart Failure', "
                                          "https://medlineplus.gov/heartfailure.html?utm_source=mplusconnect"));
    assert_int_equal(knowledge_index_size(ix), before);
    mplus_topics_free(&live);
    buf_free(&xml);
    buf_free(&out);
    knowledge_index_free(&ix);
    kb_free(&kb);
}

struct worker {
    const struct knowledge_index *ix;
    const struct prior *prior;
    char **want; /* reference text per diagnosis */
    int failures;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct error err = { 0 };
    struct buf out;
    size_t i, round;

    buf_init(&out, 0);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < w->prior->ndiagnoses; i++) {
            buf_reset(&out);
            if (knowledge_retrieve(w->ix, w->prior->diagnoses[i].code, w->prior->diagnoses[i].description, 3, 800,
                                   &out, &err) < 0 ||
                strcmp(buf_str(&out), w->want[i]))
                w->failures++;
        }
    }
    buf_free(&out);
    return NULL;
}

/* Concurrent readers of one index get exactly the single-threaded answers. */
static void test_concurrent_readers(void **state)
{
    struct kb *kb = load_kb();
    struct prior *p = load_prior();
    struct knowledge_index *ix = build(kb);
    struct worker w[NTHREADS];
    pthread_t th[NTHREADS];
    struct error err = { 0 };
    char **want = calloc(p->ndiagnoses, sizeof *want);
    struct buf out;
    size_t i;

    (void)state;
    assert_non_null(want);
    for (i = 0; i < p->ndiagnoses; i++) {
        buf_init(&out, 0);
        assert_true(knowledge_retrieve(ix, p->diagnoses[i].code, p->diagnoses[i].description, 3, 800, &out,
                                       &err) > 0);
        want[i] = out.data;
    }
    for (i = 0; i < NTHREADS; i++) {
        w[i].ix = ix;
        w[i].prior = p;
        w[i].want = want;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    for (i = 0; i < p->ndiagnoses; i++)
        free(want[i]);
    free(want);
    knowledge_index_free(&ix);
    prior_free(&p);
    kb_free(&kb);
}

static void test_bad_arguments(void **state)
{
    struct error err = { 0 };
    struct buf out;

    (void)state;
    buf_init(&out, 0);
    assert_null(knowledge_index_build(NULL, &err));
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    error_clear(&err);
    assert_int_equal(knowledge_retrieve(NULL, "428.0", NULL, 3, 0, &out, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    assert_int_equal(knowledge_index_size(NULL), 0);
    knowledge_index_free(NULL);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_prior_disease_by_code_and_name),
        cmocka_unit_test(test_bm25_scores_and_ties),
        cmocka_unit_test(test_rendered_text),
        cmocka_unit_test(test_token_budget),
        cmocka_unit_test(test_medlineplus_topics_in_index),
        cmocka_unit_test(test_long_summary_chunks),
        cmocka_unit_test(test_extra_topics),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
