/* ndjson_plan.h - plans an NDJSON upload: reference cycles kept together, referenced resources in earlier phases, chunks under caps. */
#ifndef NET_NDJSON_PLAN_H
#define NET_NDJSON_PLAN_H

#include <stddef.h>

#include "util/error.h"

/* The reference graph: node i (a resource, nodes in input order) references the nodes
 * to[start[i] .. start[i + 1]); self references and repeats are allowed. All borrowed. */
struct ndplan_graph {
    size_t n;
    const size_t *start;   /* n + 1 offsets into to */
    const size_t *to;      /* each < n */
    const size_t *bytes;   /* each node's size in a request (estimated) */
};

/* One request: the nodes order[first .. first + count). */
struct ndplan_chunk {
    size_t first, count;
    unsigned phase;        /* chunks are sorted by phase, 0 first */
    size_t bytes;          /* the sum of its nodes' bytes */
};

struct ndplan {
    size_t *order;               /* owned; every node once, in send order */
    struct ndplan_chunk *chunks; /* owned; nchunks of them */
    size_t nchunks;
    unsigned nphases;
    size_t big_node, big_count;  /* after a cap error: the first node of the component too big, its size */
    size_t big_bytes;            /* and its bytes */
};

/* Plans the upload of g. Nodes that reference one another in a cycle (a strongly connected component:
 * an Encounter and its Conditions) go into the same chunk. A component's phase is 0 when it references
 * no other component, else 1 + the highest phase of those it references, so everything a chunk references
 * is in the same chunk or an earlier phase. Within a phase, components are packed in input order (by their
 * first node; a component's nodes in input order) greedily into chunks of at most max_entries nodes and
 * max_bytes bytes (0: no byte cap). Returns 0 with *p filled (free with ndplan_free), or -1 with err:
 * LLMSYN_E_INPUT when one component is larger than a cap (p->big_node, big_count and big_bytes name it),
 * LLMSYN_E_NOMEM, or LLMSYN_E_INTERNAL for a target out of range. */
int ndplan_build(const struct ndplan_graph *g, size_t max_entries, size_t max_bytes, struct ndplan *p,
                 struct error *err);

/* Frees the arrays; p may be partly filled. */
void ndplan_free(struct ndplan *p);

#endif
