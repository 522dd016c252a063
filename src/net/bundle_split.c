/* bundle_split.c - splits a bundle by its reference graph: cycles kept whole, referenced entries sent first. */
#include "net/bundle_split.h"

#include <stdlib.h>
#include <string.h>

#include "llmsyn/llmsyn.h"


struct node {
    const cJSON *entry;     /* borrowed */
    const char *full;       /* borrowed fullUrl (urn:uuid:...), or NULL */
    const char *put_url;    /* borrowed request.url of a PUT, or NULL */
    size_t *refs;           /* owned: indices of the entries this one references */
    size_t nrefs, cap;
    size_t bytes;           /* serialised size (and a comma), with room for rewritten references */
    long index, low;        /* Tarjan's; index -1 = not visited */
    int on_stack;
    size_t comp, part;
};

struct url_ix {
    const char *url;        /* borrowed */
    size_t node;
};

struct graph {
    struct node *n;         /* owned */
    size_t count;
    struct url_ix *ix;      /* owned; sorted by url */
    size_t nix;
    size_t *stack, sp;      /* owned; Tarjan's stack */
    size_t *order, norder;  /* owned; nodes in component order, dependencies first */
    size_t *comp_first;     /* owned; start of each component in order */
    size_t ncomp;
    long next_index;
};

static const char *str_of(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static int cmp_ix(const void *a, const void *b)
{
    return strcmp(((const struct url_ix *)a)->url, ((const struct url_ix *)b)->url);
}

/* The node whose fullUrl is url, or -1. */
static long find_node(const struct graph *g, const char *url)
{
    struct url_ix key = { url, 0 };
    const struct url_ix *hit = g->nix ? bsearch(&key, g->ix, g->nix, sizeof *g->ix, cmp_ix) : NULL;

    return hit ? (long)hit->node : -1;
}

static int add_ref(struct node *v, size_t target)
{
    size_t i;

    for (i = 0; i < v->nrefs; i++)
        if (v->refs[i] == target)
            return 0;
    if (v->nrefs == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        size_t *tmp = realloc(v->refs, nc * sizeof *tmp);

        if (!tmp)
            return -1;
        v->refs = tmp;
        v->cap = nc;
    }
    v->refs[v->nrefs++] = target;
    return 0;
}

/* Adds an edge for every urn:uuid reference under node that names another entry; adds to *growth the
 * bytes the references would grow by if rewritten to the target's Type/id. */
static int collect_refs(struct graph *g, size_t self, const cJSON *node, size_t *growth)
{
    const cJSON *child;
    const char *ref = cJSON_IsObject(node) ? str_of(node, "reference") : NULL;

    if (ref && !strncmp(ref, "urn:uuid:", 9)) {
        long t = find_node(g, ref);

        if (t >= 0 && g->n[t].put_url && strlen(g->n[t].put_url) > strlen(ref))
            *growth += strlen(g->n[t].put_url) - strlen(ref);
        if (t >= 0 && (size_t)t != self && add_ref(&g->n[self], (size_t)t) < 0)
            return -1;
    }
    cJSON_ArrayForEach(child, node)
        if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && collect_refs(g, self, child, growth) < 0)
            return -1;
    return 0;
}

/* Fills the nodes and the fullUrl index. Returns 0 or -1 with err. */
static int build_graph(struct graph *g, const cJSON *entries, struct error *err)
{
    const cJSON *e;
    size_t i = 0;

    g->count = (size_t)cJSON_GetArraySize(entries);
    if (g->count > SPLIT_MAX_ENTRIES)
        return error_set(err, LLMSYN_E_INPUT, "bundle has %zu entries; at most %u can be split", g->count,
                         SPLIT_MAX_ENTRIES), -1;
    g->n = calloc(g->count ? g->count : 1, sizeof *g->n);
    g->ix = calloc(g->count ? g->count : 1, sizeof *g->ix);
    g->stack = calloc(g->count ? g->count : 1, sizeof *g->stack);
    g->order = calloc(g->count ? g->count : 1, sizeof *g->order);
    g->comp_first = calloc(g->count + 1, sizeof *g->comp_first);
    if (!g->n || !g->ix || !g->stack || !g->order || !g->comp_first)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    cJSON_ArrayForEach(e, entries) {
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request");
        const char *method = str_of(req, "method");

        g->n[i].entry = e;
        g->n[i].index = -1;
        g->n[i].full = str_of(e, "fullUrl");
        g->n[i].put_url = method && !strcmp(method, "PUT") ? str_of(req, "url") : NULL;
        if (g->n[i].full && !strncmp(g->n[i].full, "urn:uuid:", 9))
            g->ix[g->nix++] = (struct url_ix){ g->n[i].full, i };
        i++;
    }
    qsort(g->ix, g->nix, sizeof *g->ix, cmp_ix);
    return 0;
}

/* Sizes each entry and collects its references. Returns 0 or -1 with err. */
static int measure(struct graph *g, struct error *err)
{
    size_t i;

    for (i = 0; i < g->count; i++) {
        char *text = cJSON_PrintUnformatted(g->n[i].entry);
        size_t growth = 0;

        if (!text || collect_refs(g, i, cJSON_GetObjectItemCaseSensitive(g->n[i].entry, "resource"), &growth) < 0) {
            free(text);
            return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
        }
        g->n[i].bytes = strlen(text) + 1 + growth;
        free(text);
    }
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* Tarjan's strongly connected components: a component is emitted after every component it references. */
static void strongconnect(struct graph *g, size_t v)
{
    struct node *n = &g->n[v];
    size_t i, first;

    n->index = n->low = g->next_index++;
    g->stack[g->sp++] = v;
    n->on_stack = 1;
    for (i = 0; i < n->nrefs; i++) {
        struct node *w = &g->n[n->refs[i]];

        if (w->index < 0) {
            strongconnect(g, n->refs[i]);
            n->low = w->low < n->low ? w->low : n->low;
        } else if (w->on_stack && w->index < n->low) {
            n->low = w->index;
        }
    }
    if (n->low != n->index)
        return;
    first = g->norder;
    g->comp_first[g->ncomp] = first;
    do {
        size_t w = g->stack[--g->sp];

        g->n[w].on_stack = 0;
        g->n[w].comp = g->ncomp;
        g->order[g->norder++] = w;
    } while (g->order[g->norder - 1] != v);
    qsort(g->order + first, g->norder - first, sizeof *g->order, cmp_size); /* bundle order within */
    g->ncomp++;
}

/* Assigns parts to components in order. Returns the number of parts, or 0 with err. */
static size_t pack(struct graph *g, size_t header, size_t max_entries, size_t max_bytes, struct error *err)
{
    size_t c, part = 0, count = 0, bytes = header;

    g->comp_first[g->ncomp] = g->norder;
    for (c = 0; c < g->ncomp; c++) {
        size_t k, ccount = g->comp_first[c + 1] - g->comp_first[c], cbytes = 0;

        for (k = g->comp_first[c]; k < g->comp_first[c + 1]; k++)
            cbytes += g->n[g->order[k]].bytes;
        if ((max_entries && ccount > max_entries) || (max_bytes && header + cbytes > max_bytes))
            return error_set(err, LLMSYN_E_INPUT,
                             "entry %zu and %zu others reference one another (%zu bytes); they cannot be split "
                             "under the caps", g->order[g->comp_first[c]], ccount - 1, cbytes), 0;
        if (count && ((max_entries && count + ccount > max_entries) || (max_bytes && bytes + cbytes > max_bytes))) {
            part++;
            count = 0;
            bytes = header;
        }
        count += ccount;
        bytes += cbytes;
        for (k = g->comp_first[c]; k < g->comp_first[c + 1]; k++)
            g->n[g->order[k]].part = part;
    }
    return part + 1;
}

/* Rewrites urn:uuid references under node whose target lies in another part. Returns 0 or -1 with err. */
static int rewrite_cross(const struct graph *g, size_t part, cJSON *node, struct error *err)
{
    cJSON *child;
    const char *ref = cJSON_IsObject(node) ? str_of(node, "reference") : NULL;

    if (ref && !strncmp(ref, "urn:uuid:", 9)) {
        long t = find_node(g, ref);

        if (t >= 0 && g->n[t].part != part) {
            if (!g->n[t].put_url || !strchr(g->n[t].put_url, '/'))
                return error_set(err, LLMSYN_E_INPUT, "reference %.60s crosses parts but its entry is no PUT Type/id",
                                 ref), -1;
            if (!cJSON_ReplaceItemInObjectCaseSensitive(node, "reference", cJSON_CreateString(g->n[t].put_url)))
                return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
        }
    }
    cJSON_ArrayForEach(child, node)
        if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && rewrite_cross(g, part, child, err) < 0)
            return -1;
    return 0;
}

/* Builds one part: the bundle's other members, then its entries in component order. */
static cJSON *make_part(const struct graph *g, const cJSON *shell, size_t part, struct error *err)
{
    cJSON *b = cJSON_Duplicate(shell, 1), *entries = NULL;
    size_t k;

    if (!b || !(entries = cJSON_AddArrayToObject(b, "entry")))
        goto nomem;
    for (k = 0; k < g->norder; k++) {
        const struct node *n = &g->n[g->order[k]];
        cJSON *e;

        if (n->part != part)
            continue;
        if (!(e = cJSON_Duplicate(n->entry, 1)))
            goto nomem;
        cJSON_AddItemToArray(entries, e);
        if (rewrite_cross(g, part, cJSON_GetObjectItemCaseSensitive(e, "resource"), err) < 0) {
            cJSON_Delete(b);
            return NULL;
        }
    }
    return b;
nomem:
    cJSON_Delete(b);
    error_set(err, LLMSYN_E_NOMEM, "out of memory");
    return NULL;
}

static void graph_free(struct graph *g)
{
    size_t i;

    for (i = 0; g->n && i < g->count; i++)
        free(g->n[i].refs);
    free(g->n);
    free(g->ix);
    free(g->stack);
    free(g->order);
    free(g->comp_first);
}

void split_free(cJSON ***parts, size_t nparts)
{
    size_t i;

    if (!parts || !*parts)
        return;
    for (i = 0; i < nparts; i++)
        cJSON_Delete((*parts)[i]);
    free(*parts);
    *parts = NULL;
}

/* The bundle without its entries (owned by the caller) and its serialised size. */
static cJSON *make_shell(const cJSON *bundle, size_t *bytes)
{
    cJSON *shell = cJSON_Duplicate(bundle, 1);
    char *text = NULL;

    if (!shell)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(shell, "entry");
    if (!(text = cJSON_PrintUnformatted(shell))) {
        cJSON_Delete(shell);
        return NULL;
    }
    *bytes = strlen(text) + sizeof ",\"entry\":[]";
    free(text);
    return shell;
}

int bundle_split(const cJSON *bundle, size_t max_entries, size_t max_bytes, cJSON ***parts, size_t *nparts,
                 struct error *err)
{
    struct graph g;
    cJSON *shell = NULL;
    size_t header = 0, i, v, count = 0;
    int ret = -1;

    memset(&g, 0, sizeof g);
    *parts = NULL;
    *nparts = 0;
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(bundle, "entry")))
        return error_set(err, LLMSYN_E_INPUT, "bundle has no entry array"), -1;
    if (!(shell = make_shell(bundle, &header))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (build_graph(&g, cJSON_GetObjectItemCaseSensitive(bundle, "entry"), err) < 0 || measure(&g, err) < 0)
        goto out;
    for (v = 0; v < g.count; v++)
        if (g.n[v].index < 0)
            strongconnect(&g, v);
    if (!(count = pack(&g, header, max_entries, max_bytes, err)))
        goto out;
    /* an array of part pointers */
    if (!(*parts = calloc(count, sizeof **parts))) { /* NOLINT(bugprone-sizeof-expression) */
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < count; i++)
        if (!((*parts)[i] = make_part(&g, shell, i, err)))
            goto out;
    *nparts = count;
    ret = 0;
out:
    if (ret < 0)
        split_free(parts, count);
    cJSON_Delete(shell);
    graph_free(&g);
    return ret;
}
