/* test_ndjson_plan.c - NDJSON upload planning: components kept whole, phases by dependency, chunks under caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/ndjson_plan.h"

#define MAX_NODES 200000
#define MAX_EDGES 400000

/* A graph built edge by edge; edges must be added in source order. */
struct g {
    size_t n, ne;
    size_t *start, *to, *bytes;
    struct ndplan_graph view;
};

static struct g *g_new(size_t n, size_t bytes_each)
{
    struct g *g = calloc(1, sizeof *g);
    size_t i;

    assert_non_null(g);
    g->n = n;
    g->start = calloc(n + 1, sizeof *g->start);
    g->to = calloc(MAX_EDGES, sizeof *g->to);
    g->bytes = calloc(n ? n : 1, sizeof *g->bytes);
    assert_true(g->start && g->to && g->bytes);
    for (i = 0; i < n; i++)
        g->bytes[i] = bytes_each;
    return g;
}

/* Adds u -> v; u must not be below the last source added. Call view() before reading start. */
static void edge(struct g *g, size_t u, size_t v)
{
    assert_true(g->ne < MAX_EDGES);
    g->to[g->ne++] = v;
    g->start[u + 1] = g->ne;  /* view() carries it over nodes without edges */
}

static const struct ndplan_graph *view(struct g *g)
{
    size_t i;

    for (i = 1; i <= g->n; i++)  /* nodes without edges start where the one before ends */
        if (g->start[i] < g->start[i - 1])
            g->start[i] = g->start[i - 1];
    g->view.n = g->n;
    g->view.start = g->start;
    g->view.to = g->to;
    g->view.bytes = g->bytes;
    return &g->view;
}

static void g_free(struct g *g)
{
    free(g->start);
    free(g->to);
    free(g->bytes);
    free(g);
}

/* The chunk holding node v. */
static size_t chunk_of(const struct ndplan *p, size_t v)
{
    size_t c, k;

    for (c = 0; c < p->nchunks; c++)
        for (k = 0; k < p->chunks[c].count; k++)
            if (p->order[p->chunks[c].first + k] == v)
                return c;
    fail_msg("node %zu is in no chunk", v);
    return SIZE_MAX;
}

/* Checks what every plan must satisfy: each node once, caps, phases sorted, every reference to the same
 * chunk or an earlier phase, mutual references in one chunk. */
static void check_plan(const struct g *g, const struct ndplan *p, size_t max_entries, size_t max_bytes)
{
    unsigned char *seen = calloc(g->n ? g->n : 1, 1);
    size_t *where = calloc(g->n ? g->n : 1, sizeof *where);
    size_t c, k, u, e, total = 0;

    assert_true(seen && where);
    for (c = 0; c < p->nchunks; c++) {
        const struct ndplan_chunk *ch = &p->chunks[c];
        size_t bytes = 0;

        assert_true(ch->count > 0);
        assert_true(ch->count <= max_entries);
        assert_int_equal(ch->first, total);
        if (c > 0)
            assert_true(ch->phase >= p->chunks[c - 1].phase);
        assert_true(ch->phase < p->nphases);
        for (k = 0; k < ch->count; k++) {
            size_t v = p->order[ch->first + k];

            assert_true(v < g->n);
            assert_false(seen[v]);
            seen[v] = 1;
            where[v] = c;
            bytes += g->bytes[v];
        }
        assert_int_equal(bytes, ch->bytes);
        if (max_bytes)
            assert_true(bytes <= max_bytes);
        total += ch->count;
    }
    assert_int_equal(total, g->n);
    for (u = 0; u < g->n; u++)
        for (e = g->start[u]; e < g->start[u + 1]; e++) {
            size_t v = g->to[e], f;

            assert_true(where[v] == where[u] || p->chunks[where[v]].phase < p->chunks[where[u]].phase);
            for (f = g->start[v]; f < g->start[v + 1]; f++)
                if (g->to[f] == u)
                    assert_int_equal(where[u], where[v]);
        }
    free(seen);
    free(where);
}

static void test_empty(void **state)
{
    struct g *g = g_new(0, 10);
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    assert_int_equal(ndplan_build(view(g), 100, 0, &p, &err), 0);
    assert_int_equal(p.nchunks, 0);
    assert_int_equal(p.nphases, 0);
    ndplan_free(&p);
    g_free(g);
}

/* 0 -> 1 -> 2: three phases, the referenced first. */
static void test_chain_phases(void **state)
{
    struct g *g = g_new(3, 10);
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    edge(g, 0, 1);
    edge(g, 1, 2);
    assert_int_equal(ndplan_build(view(g), 100, 0, &p, &err), 0);
    assert_int_equal(p.nphases, 3);
    assert_int_equal(p.nchunks, 3);
    assert_int_equal(p.order[0], 2);
    assert_int_equal(p.order[1], 1);
    assert_int_equal(p.order[2], 0);
    assert_int_equal(p.chunks[2].phase, 2);
    check_plan(g, &p, 100, 0);
    ndplan_free(&p);
    g_free(g);
}

/* Two generated records laid out as NDJSON: Patients 0-1, Encounters 2-3, Conditions 4-7 (two each,
 * referencing their Encounter, which references them), Procedures 8-9. Three phases; an Encounter with
 * its Conditions never split, even when the entry cap would fit part of the next one. */
static struct g *two_records(void)
{
    struct g *g = g_new(10, 100);

    edge(g, 2, 0);
    edge(g, 2, 4);
    edge(g, 2, 5);
    edge(g, 3, 1);
    edge(g, 3, 6);
    edge(g, 3, 7);
    edge(g, 4, 0);
    edge(g, 4, 2);
    edge(g, 5, 0);
    edge(g, 5, 2);
    edge(g, 6, 1);
    edge(g, 6, 3);
    edge(g, 7, 1);
    edge(g, 7, 3);
    edge(g, 8, 2);
    edge(g, 8, 0);
    edge(g, 9, 3);
    edge(g, 9, 6);
    return g;
}

static void test_cycles_stay_whole(void **state)
{
    struct g *g = two_records();
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    assert_int_equal(ndplan_build(view(g), 4, 0, &p, &err), 0);
    assert_int_equal(p.nphases, 3);
    /* phase 0: both Patients; phase 1: {2,4,5} and {3,6,7} apart (3 + 3 > 4); phase 2: both Procedures */
    assert_int_equal(p.nchunks, 4);
    assert_int_equal(p.chunks[0].count, 2);
    assert_int_equal(p.chunks[1].count, 3);
    assert_int_equal(p.chunks[2].count, 3);
    assert_int_equal(p.chunks[3].count, 2);
    assert_int_equal(p.chunks[1].phase, 1);
    assert_int_equal(p.order[2], 2);  /* input order inside a component */
    assert_int_equal(p.order[3], 4);
    assert_int_equal(p.order[4], 5);
    assert_int_equal(chunk_of(&p, 6), chunk_of(&p, 3));
    check_plan(g, &p, 4, 0);
    ndplan_free(&p);
    /* with room, both components share a request */
    assert_int_equal(ndplan_build(view(g), 6, 0, &p, &err), 0);
    assert_int_equal(p.nchunks, 3);
    assert_int_equal(p.chunks[1].count, 6);
    check_plan(g, &p, 6, 0);
    ndplan_free(&p);
    g_free(g);
}

static void test_component_over_cap(void **state)
{
    struct g *g = two_records();
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    assert_int_equal(ndplan_build(view(g), 2, 0, &p, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_int_equal(p.big_node, 2);
    assert_int_equal(p.big_count, 3);
    assert_int_equal(p.big_bytes, 300);
    assert_non_null(strstr(err.msg, "reference one another"));
    ndplan_free(&p);
    error_clear(&err);
    /* the byte cap: a component of 300 bytes under a 250-byte cap */
    assert_int_equal(ndplan_build(view(g), 100, 250, &p, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_int_equal(p.big_count, 3);
    ndplan_free(&p);
    g_free(g);
}

/* Independent nodes: input order, entry and byte caps. */
static void test_caps_and_order(void **state)
{
    struct g *g = g_new(10, 100);
    struct ndplan p;
    struct error err = { 0 };
    size_t i;

    (void)state;
    assert_int_equal(ndplan_build(view(g), 4, 0, &p, &err), 0);
    assert_int_equal(p.nphases, 1);
    assert_int_equal(p.nchunks, 3);
    assert_int_equal(p.chunks[2].count, 2);
    for (i = 0; i < 10; i++)
        assert_int_equal(p.order[i], i);
    ndplan_free(&p);
    assert_int_equal(ndplan_build(view(g), 100, 250, &p, &err), 0);
    assert_int_equal(p.nchunks, 5);
    assert_int_equal(p.chunks[0].bytes, 200);
    check_plan(g, &p, 100, 250);
    ndplan_free(&p);
    assert_int_equal(ndplan_build(view(g), 0, 0, &p, &err), 0);  /* 0: no entry cap */
    assert_int_equal(p.nchunks, 1);
    ndplan_free(&p);
    g_free(g);
}

static void test_self_and_repeated_refs(void **state)
{
    struct g *g = g_new(3, 10);
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    edge(g, 0, 0);
    edge(g, 1, 0);
    edge(g, 1, 0);
    edge(g, 2, 2);
    assert_int_equal(ndplan_build(view(g), 10, 0, &p, &err), 0);
    assert_int_equal(p.nphases, 2);
    assert_int_equal(p.nchunks, 2);
    assert_int_equal(p.chunks[0].count, 2);  /* 0 and 2 reference only themselves */
    assert_int_equal(p.order[0], 0);
    assert_int_equal(p.order[1], 2);
    check_plan(g, &p, 10, 0);
    ndplan_free(&p);
    g_free(g);
}

static void test_bad_target(void **state)
{
    struct g *g = g_new(2, 10);
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    edge(g, 0, 5);
    assert_int_equal(ndplan_build(view(g), 10, 0, &p, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    ndplan_free(&p);
    g_free(g);
}

/* A chain of 150,000 nodes: the component search must not recurse. */
static void test_long_chain(void **state)
{
    size_t n = 150000, i;
    struct g *g = g_new(n, 1);
    struct ndplan p;
    struct error err = { 0 };

    (void)state;
    for (i = 0; i + 1 < n; i++)
        edge(g, i, i + 1);
    edge(g, n - 1, 0);  /* closing the ring: one component of n */
    assert_int_equal(ndplan_build(view(g), n, 0, &p, &err), 0);
    assert_int_equal(p.nchunks, 1);
    assert_int_equal(p.nphases, 1);
    ndplan_free(&p);
    assert_int_equal(ndplan_build(view(g), n - 1, 0, &p, &err), -1);
    assert_int_equal(p.big_count, n);
    ndplan_free(&p);
    g_free(g);
}

/* Random graphs: the invariants hold for every cap. */
static void test_random_invariants(void **state)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int round, planned = 0;

    (void)state;
    for (round = 0; round < 40; round++) {
        size_t n = 50 + (size_t)round * 7, u, k;
        struct g *g = g_new(n, 0);
        struct ndplan p;
        struct error err = { 0 };
        size_t cap = 3 + (size_t)round % 9;

        for (u = 0; u < n; u++) {
            g->bytes[u] = 10 + u % 13;
            for (k = 0; k < 3; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* mostly backwards (a DAG), sometimes forwards within 2 (small cycles) */
                if (x % 3 == 0 && u > 0)
                    edge(g, u, (size_t)(x >> 8) % u);
                else if (x % 7 == 1 && u + 2 < n)
                    edge(g, u, u + 1 + (size_t)(x >> 8) % 2);
            }
        }
        if (ndplan_build(view(g), cap, 0, &p, &err) == 0) {
            check_plan(g, &p, cap, 0);
            planned++;
        } else {
            assert_int_equal(err.code, LLMSYN_E_INPUT);
            assert_true(p.big_count > cap);
        }
        ndplan_free(&p);
        error_clear(&err);
        assert_int_equal(ndplan_build(view(g), n, 0, &p, &err), 0);
        check_plan(g, &p, n, 0);
        ndplan_free(&p);
        g_free(g);
    }
    assert_true(planned >= 10);  /* the small caps were really exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_chain_phases),
        cmocka_unit_test(test_cycles_stay_whole),
        cmocka_unit_test(test_component_over_cap),
        cmocka_unit_test(test_caps_and_order),
        cmocka_unit_test(test_self_and_repeated_refs),
        cmocka_unit_test(test_bad_target),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_random_invariants),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
