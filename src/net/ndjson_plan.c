/* ndjson_plan.c - NDJSON upload plan: Tarjan's components (iterative), phases by dependency depth, greedy chunks. */
#include "net/ndjson_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmsyn/llmsyn.h"

#define UNSEEN SIZE_MAX

/* Working state of Tarjan's algorithm; every array has n elements. */
struct tarjan {
    const struct ndplan_graph *g;
    size_t *index, *low;   /* owned; index UNSEEN = not visited */
    size_t *stack, sp;     /* owned; the component stack */
    size_t *calls, *edge;  /* owned; the DFS call stack: node and next edge position */
    unsigned char *on_stack; /* owned */
    size_t *comp;          /* borrowed; the output: component of each node, dependencies first */
    size_t ncomp, next;
};

/* A component's sort key: its phase, then its first node. */
struct comp_key {
    unsigned phase;
    size_t first;  /* its lowest node */
    size_t comp;
};

static int tarjan_alloc(struct tarjan *t, size_t n)
{
    size_t m = n ? n : 1;

    t->index = malloc(m * sizeof *t->index);
    t->low = malloc(m * sizeof *t->low);
    t->stack = malloc(m * sizeof *t->stack);
    t->calls = malloc(m * sizeof *t->calls);
    t->edge = malloc(m * sizeof *t->edge);
    t->on_stack = calloc(m, 1);
    if (!t->index || !t->low || !t->stack || !t->calls || !t->edge || !t->on_stack)
        return -1;
    memset(t->index, 0xff, m * sizeof *t->index);
    return 0;
}

static void tarjan_free(struct tarjan *t)
{
    free(t->index);
    free(t->low);
    free(t->stack);
    free(t->calls);
    free(t->edge);
    free(t->on_stack);
}

/* Enters node v: pushes it on both stacks. */
static void visit(struct tarjan *t, size_t v, size_t *depth)
{
    t->index[v] = t->low[v] = t->next++;
    t->stack[t->sp++] = v;
    t->on_stack[v] = 1;
    t->calls[*depth] = v;
    t->edge[*depth] = t->g->start[v];
    (*depth)++;
}

/* Leaves node v: pops its component when v is the root of one. */
static void leave(struct tarjan *t, size_t v)
{
    size_t w;

    if (t->low[v] != t->index[v])
        return;
    do {
        w = t->stack[--t->sp];
        t->on_stack[w] = 0;
        t->comp[w] = t->ncomp;
    } while (w != v);
    t->ncomp++;
}

/* The strongly connected components reachable from root, without recursion. */
static void strong_from(struct tarjan *t, size_t root)
{
    size_t depth = 0;

    visit(t, root, &depth);
    while (depth > 0) {
        size_t v = t->calls[depth - 1];

        if (t->edge[depth - 1] < t->g->start[v + 1]) {
            size_t w = t->g->to[t->edge[depth - 1]++];

            if (t->index[w] == UNSEEN)
                visit(t, w, &depth);
            else if (t->on_stack[w] && t->index[w] < t->low[v])
                t->low[v] = t->index[w];
            continue;
        }
        leave(t, v);
        if (--depth > 0 && t->low[v] < t->low[t->calls[depth - 1]])
            t->low[t->calls[depth - 1]] = t->low[v];
    }
}

/* Fills comp[] (component numbers in an order where referenced components come first). Returns the
 * number of components, or 0 with err when memory runs out. */
static size_t components(const struct ndplan_graph *g, size_t *comp, struct error *err)
{
    struct tarjan t;
    size_t v;

    memset(&t, 0, sizeof t);
    t.g = g;
    t.comp = comp;
    if (tarjan_alloc(&t, g->n) < 0) {
        tarjan_free(&t);
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), 0;
    }
    for (v = 0; v < g->n; v++)
        if (t.index[v] == UNSEEN)
            strong_from(&t, v);
    tarjan_free(&t);
    return t.ncomp;
}

/* Groups nodes by component: members[first[c] .. first[c + 1]) in node order (a counting sort). */
static void group(const size_t *comp, size_t n, size_t ncomp, size_t *first, size_t *members)
{
    size_t v, c;

    memset(first, 0, (ncomp + 1) * sizeof *first);
    for (v = 0; v < n; v++)
        first[comp[v] + 1]++;
    for (c = 0; c < ncomp; c++)
        first[c + 1] += first[c];
    for (v = n; v-- > 0;)  /* first[c + 1] is the end of c; filling backwards leaves it at c's start */
        members[--first[comp[v] + 1]] = v;
    memmove(first, first + 1, ncomp * sizeof *first);
    first[ncomp] = n;
}

/* Each component's phase; components reference only components numbered before them. */
static unsigned phases(const struct ndplan_graph *g, const size_t *comp, const size_t *first, const size_t *members,
                       size_t ncomp, unsigned *phase)
{
    size_t c, k, e;
    unsigned most = 0;

    for (c = 0; c < ncomp; c++) {
        phase[c] = 0;
        for (k = first[c]; k < first[c + 1]; k++)
            for (e = g->start[members[k]]; e < g->start[members[k] + 1]; e++) {
                size_t d = comp[g->to[e]];

                if (d != c && phase[d] + 1 > phase[c])
                    phase[c] = phase[d] + 1;
            }
        most = phase[c] > most ? phase[c] : most;
    }
    return most;
}

static int cmp_key(const void *a, const void *b)
{
    const struct comp_key *x = a, *y = b;

    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Packs the sorted components into chunks. Returns 0, or -1 with err when one is over a cap. */
static int pack(const struct ndplan_graph *g, const struct comp_key *keys, size_t ncomp, const size_t *first,
                const size_t *members, size_t max_entries, size_t max_bytes, struct ndplan *p, struct error *err)
{
    size_t i, k, out = 0;
    struct ndplan_chunk *cur = NULL;

    for (i = 0; i < ncomp; i++) {
        size_t c = keys[i].comp, size = first[c + 1] - first[c], bytes = 0;

        for (k = first[c]; k < first[c + 1]; k++)
            bytes += g->bytes[members[k]];
        if (size > max_entries || (max_bytes && bytes > max_bytes)) {
            p->big_node = keys[i].first;
            p->big_count = size;
            p->big_bytes = bytes;
            return error_set(err, LLMSYN_E_INPUT, "%zu resources (%zu bytes) reference one another; they cannot be "
                             "sent under the caps", size, bytes), -1;
        }
        if (!cur || cur->phase != keys[i].phase || cur->count + size > max_entries ||
            (max_bytes && cur->bytes + bytes > max_bytes)) {
            cur = &p->chunks[p->nchunks++];
            cur->first = out;
            cur->phase = keys[i].phase;
        }
        for (k = first[c]; k < first[c + 1]; k++)
            p->order[out++] = members[k];
        cur->count += size;
        cur->bytes += bytes;
    }
    return 0;
}

/* Checks that every edge names a node. */
static int check_graph(const struct ndplan_graph *g, struct error *err)
{
    size_t e;

    for (e = 0; e < g->start[g->n]; e++)
        if (g->to[e] >= g->n)
            return error_set(err, LLMSYN_E_INTERNAL, "reference graph edge %zu names node %zu of %zu", e, g->to[e],
                             g->n), -1;
    return 0;
}

int ndplan_build(const struct ndplan_graph *g, size_t max_entries, size_t max_bytes, struct ndplan *p,
                 struct error *err)
{
    size_t *comp = NULL, *first = NULL, *members = NULL, ncomp = 0, c, m = g->n ? g->n : 1;
    unsigned *phase = NULL;
    struct comp_key *keys = NULL;
    int ret = -1;

    memset(p, 0, sizeof *p);
    if (max_entries == 0)
        max_entries = SIZE_MAX;
    if (check_graph(g, err) < 0)
        return -1;
    comp = malloc(m * sizeof *comp);
    members = malloc(m * sizeof *members);
    p->order = malloc(m * sizeof *p->order);
    p->chunks = calloc(m, sizeof *p->chunks);
    if (!comp || !members || !p->order || !p->chunks) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (g->n && (ncomp = components(g, comp, err)) == 0)
        goto out;
    first = malloc((ncomp + 1) * sizeof *first);
    phase = malloc((ncomp ? ncomp : 1) * sizeof *phase);
    keys = malloc((ncomp ? ncomp : 1) * sizeof *keys);
    if (!first || !phase || !keys) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    group(comp, g->n, ncomp, first, members);
    p->nphases = g->n ? phases(g, comp, first, members, ncomp, phase) + 1 : 0;
    for (c = 0; c < ncomp; c++) {
        keys[c].phase = phase[c];
        keys[c].first = members[first[c]];
        keys[c].comp = c;
    }
    qsort(keys, ncomp, sizeof *keys, cmp_key);
    ret = pack(g, keys, ncomp, first, members, max_entries, max_bytes, p, err);
out:
    free(comp);
    free(first);
    free(members);
    free(phase);
    free(keys);
    return ret;
}

void ndplan_free(struct ndplan *p)
{
    if (!p)
        return;
    free(p->order);
    free(p->chunks);
    p->order = NULL;
    p->chunks = NULL;
    p->nchunks = 0;
}
