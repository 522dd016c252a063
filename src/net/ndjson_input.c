/* ndjson_input.c - NDJSON upload input: every line checked and indexed, references resolved, requests planned and built. */
#include "net/ndjson_input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "net/journal.h"
#include "net/ndjson_plan.h"
#include "util/buf.h"
#include "util/limits.h"

#define ARENA_MAX ((size_t)1 << 40)
#define BUNDLE_OVERHEAD 64  /* {"resourceType":"Bundle","type":"transaction","entry":[]} */
#define ENTRY_OVERHEAD 96   /* {"fullUrl":"urn:uuid:","resource":,"request":{"method":"PUT","url":"/"}}, */
#define REF_GROWTH 64       /* a urn:uuid: reference rewritten to Type/id grows by at most this */
#define MAX_ID 64
#define NO_NODE SIZE_MAX
#define URN "urn:uuid:"

struct nd_file {
    char *path;          /* owned; as opened (the folder joined with the name) */
    const char *name;    /* borrowed: path's last component */
    int fd;              /* owned; -1 when not open */
};

/* One resource: one non-blank line. */
struct nd_res {
    uint64_t off;        /* the line's offset in its file */
    size_t id;           /* offset of the id in ids */
    size_t ref0;         /* its references: ref_off[ref0 .. ref0 + nrefs) (until resolved) */
    uint32_t len, line, file, nrefs;
    uint16_t type;       /* index into types */
    unsigned char urn_target; /* referenced as urn:uuid:<id>: its entry gets that fullUrl */
};

struct ndjson_input {
    char dir[4096];
    struct nd_file *files;          /* owned */
    size_t nfiles;
    char *types[NDJSON_MAX_TYPES];  /* owned */
    size_t ntypes;
    struct nd_res *res;             /* owned */
    size_t nres, rescap;
    struct buf ids;                 /* NUL-separated ids */
    struct buf refs;                /* NUL-separated reference strings; freed once resolved */
    size_t *ref_off;                /* owned; offsets into refs */
    size_t nref, refcap;
    size_t *slots, nslots;          /* owned; id hash: node + 1, 0 empty; nslots a power of two */
    size_t *start, *to, *bytes;     /* owned; the reference graph */
    struct ndplan plan;
    size_t *chunk_of;               /* owned; each node's chunk */
    struct buf names;               /* chunk names, NUL-separated */
    size_t *name_off;               /* owned; per chunk */
    size_t *phase_end;              /* owned; per chunk */
    size_t max_entries;
};

/* ---- names ---- */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    return n > t && !strcmp(s + n - t, tail);
}

static int is_ndjson_name(const char *name)
{
    return name[0] != '.' && ends_with(name, ".ndjson") && strcmp(name, JOURNAL_NAME) != 0;
}

static int is_bundle_name(const char *name)
{
    return strlen(name) > 12 && !strncmp(name, "record-", 7) && ends_with(name, ".json");
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* [A-Z][A-Za-z0-9]{0,63}, n characters of s. */
static int valid_type(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 64 || s[0] < 'A' || s[0] > 'Z')
        return 0;
    for (i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* A FHIR id: [A-Za-z0-9\-.]{1,64}, n characters of s. */
static int valid_id(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > MAX_ID)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '.'))
            return 0;
    return 1;
}

/* Whether s looks like a UUID (8-4-4-4-12 hex digits). */
static int uuid_shaped(const char *s)
{
    size_t i;

    for (i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                                   (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    }
    return s[36] == '\0';
}

/* Splits a relative reference "Type/id" (or "Type/id/_history/n") into its parts (NUL-terminated).
 * Returns 0, or -1 when ref is not of that form. */
static int split_typed(const char *ref, char type[65], char id[MAX_ID + 1])
{
    const char *slash = strchr(ref, '/'), *end;
    size_t tn, in;

    if (!slash || !valid_type(ref, (size_t)(slash - ref)))
        return -1;
    end = strchr(slash + 1, '/');
    in = end ? (size_t)(end - slash - 1) : strlen(slash + 1);
    if (!valid_id(slash + 1, in) || (end && strncmp(end, "/_history/", 10) != 0))
        return -1;
    tn = (size_t)(slash - ref);
    memcpy(type, ref, tn);
    type[tn] = '\0';
    memcpy(id, slash + 1, in);
    id[in] = '\0';
    return 0;
}

int ndjson_detect(const char *path, struct error *err)
{
    struct stat st;
    struct dirent *de;
    size_t nd = 0, nb = 0;
    DIR *d;

    if (stat(path, &st) < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    if (!S_ISDIR(st.st_mode)) {
        if (!strcmp(base_name(path), JOURNAL_NAME))
            return error_set(err, LLMSYN_E_INPUT, "'%s' is the post journal, not input", path), -1;
        return ends_with(base_name(path), ".ndjson");
    }
    if (!(d = opendir(path)))
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    while ((de = readdir(d))) {
        nd += is_ndjson_name(de->d_name);
        nb += is_bundle_name(de->d_name);
    }
    closedir(d);
    if (nd && nb)
        return error_set(err, LLMSYN_E_INPUT, "'%s' holds both record-*.json bundles and *.ndjson files; post them "
                         "from separate folders", path), -1;
    return nd > 0;
}

/* ---- listing ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the file dir/name (dir NULL: name is the path) and opens it. Returns 0 or -1 with err. */
static int add_file(struct ndjson_input *in, const char *dir, const char *name, struct error *err)
{
    struct nd_file *f = &in->files[in->nfiles];
    size_t n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1, i;

    if (!(f->path = malloc(n)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    snprintf(f->path, n, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    f->name = base_name(f->path);
    f->fd = -1;
    in->nfiles++;
    for (i = 0; f->name[i]; i++)
        if ((unsigned char)f->name[i] < 0x20)
            return error_set(err, LLMSYN_E_INPUT, "file name in '%s' holds control characters", dir ? dir : "."), -1;
    if ((f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", f->path, strerror(errno)), -1;
    return 0;
}

/* The folder's *.ndjson names, sorted, into *names (caller frees each and the array). Returns 0 or -1. */
static int folder_names(const char *path, char ***names, size_t *n, struct error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;

    *names = NULL;
    *n = 0;
    if (!d)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    if (!(*names = calloc(NDJSON_MAX_FILES, sizeof **names))) {
        closedir(d);
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    }
    while ((de = readdir(d)) && !err->code) {
        if (!is_ndjson_name(de->d_name))
            continue;
        if (*n == NDJSON_MAX_FILES)
            error_set(err, LLMSYN_E_INPUT, "'%s' holds more than %d *.ndjson files", path, NDJSON_MAX_FILES);
        else if (!((*names)[*n] = strdup(de->d_name)))
            error_set(err, LLMSYN_E_NOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (!err->code && *n == 0)
        error_set(err, LLMSYN_E_INPUT, "'%s' holds no *.ndjson files", path);
    qsort(*names, *n, sizeof **names, cmp_str);
    return err->code ? -1 : 0;
}

/* Lists and opens the input files; sets the journal folder. Returns 0 or -1 with err. */
static int list_files(struct ndjson_input *in, const char *path, struct error *err)
{
    struct stat st;
    char **names = NULL;
    size_t n = 0, i;
    int ret = -1;

    if (stat(path, &st) < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    if (!S_ISDIR(st.st_mode)) {
        const char *slash = strrchr(path, '/');

        if (slash)
            snprintf(in->dir, sizeof in->dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
        else
            snprintf(in->dir, sizeof in->dir, ".");
        if (!(in->files = calloc(1, sizeof *in->files)))
            return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
        return add_file(in, NULL, path, err);
    }
    snprintf(in->dir, sizeof in->dir, "%s", path);
    if (folder_names(path, &names, &n, err) < 0)
        goto out;
    if (!(in->files = calloc(n, sizeof *in->files))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        if (add_file(in, path, names[i], err) < 0)
            goto out;
    ret = 0;
out:
    for (i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return ret;
}

/* ---- reading and checking lines ---- */

static int only_space(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

/* The index of the type name, added when new. Returns -1 when the table is full or memory runs out. */
static int intern_type(struct ndjson_input *in, const char *name)
{
    size_t i;

    for (i = 0; i < in->ntypes; i++)
        if (!strcmp(in->types[i], name))
            return (int)i;
    if (in->ntypes == NDJSON_MAX_TYPES || !(in->types[in->ntypes] = strdup(name)))
        return -1;
    return (int)in->ntypes++;
}

static int push_ref(struct ndjson_input *in, const char *ref)
{
    if (in->nref == in->refcap) {
        size_t nc = in->refcap ? in->refcap * 2 : 1024;
        size_t *tmp = realloc(in->ref_off, nc * sizeof *tmp);

        if (!tmp)
            return -1;
        in->ref_off = tmp;
        in->refcap = nc;
    }
    in->ref_off[in->nref++] = in->refs.len;
    return buf_append(&in->refs, ref, strlen(ref) + 1);
}

/* Collects the urn:uuid: and Type/id references under node. Returns 0 or -1 (out of memory). */
static int collect_refs(struct ndjson_input *in, const cJSON *node)
{
    const cJSON *c;
    char type[65], id[MAX_ID + 1];

    for (c = node->child; c; c = c->next) {
        if (c->string && !strcmp(c->string, "reference") && cJSON_IsString(c) && c->valuestring) {
            if ((!strncmp(c->valuestring, URN, strlen(URN)) || split_typed(c->valuestring, type, id) == 0) &&
                push_ref(in, c->valuestring) < 0)
                return -1;
        } else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && collect_refs(in, c) < 0)
            return -1;
    }
    return 0;
}

static int push_res(struct ndjson_input *in, const struct nd_res *r)
{
    if (in->nres == in->rescap) {
        size_t nc = in->rescap ? in->rescap * 2 : 1024;
        struct nd_res *tmp = realloc(in->res, nc * sizeof *tmp);

        if (!tmp)
            return -1;
        in->res = tmp;
        in->rescap = nc;
    }
    in->res[in->nres++] = *r;
    return 0;
}

/* Checks the parsed line and indexes it. Returns 0 or -1 with err. */
static int index_resource(struct ndjson_input *in, const cJSON *root, struct nd_res *r, struct error *err)
{
    const char *path = in->files[r->file].path;
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    int type;

    if (!cJSON_IsObject(root))
        return error_set(err, LLMSYN_E_INPUT, "%s:%u: not a JSON object", path, r->line), -1;
    if (!cJSON_IsString(rt) || !rt->valuestring || !valid_type(rt->valuestring, strlen(rt->valuestring)))
        return error_set(err, LLMSYN_E_INPUT, "%s:%u: no valid resourceType", path, r->line), -1;
    if (!cJSON_IsString(id) || !id->valuestring || !valid_id(id->valuestring, strlen(id->valuestring)))
        return error_set(err, LLMSYN_E_INPUT, "%s:%u: no valid id (1 to 64 of A-Z a-z 0-9 - .)", path, r->line), -1;
    if ((type = intern_type(in, rt->valuestring)) < 0)
        return error_set(err, LLMSYN_E_INPUT, "%s:%u: more than %d resource types", path, r->line,
                         NDJSON_MAX_TYPES), -1;
    r->type = (uint16_t)type;
    r->id = in->ids.len;
    r->ref0 = in->nref;
    if (buf_append(&in->ids, id->valuestring, strlen(id->valuestring) + 1) < 0 || collect_refs(in, root) < 0 ||
        push_res(in, r) < 0)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    in->res[in->nres - 1].nrefs = (uint32_t)(in->nref - r->ref0);
    return 0;
}

/* Parses one non-blank line. Returns 0 or -1 with err naming path:line. */
static int add_line(struct ndjson_input *in, uint32_t file, uint32_t line, uint64_t off, const char *text, size_t len,
                    struct error *err)
{
    const char *path = in->files[file].path, *end = NULL;
    long deep = limits_json_too_deep(text, len, LIMIT_JSON_DEPTH);
    cJSON *root = NULL;
    struct nd_res r;
    int ret = -1;

    memset(&r, 0, sizeof r);
    r.off = off;
    r.len = (uint32_t)len;
    r.line = line;
    r.file = file;
    if (deep >= 0)
        error_set(err, LLMSYN_E_INPUT, "%s:%u: nests deeper than %d levels at byte %ld", path, line, LIMIT_JSON_DEPTH,
                  deep + 1);
    else if (!(root = cJSON_ParseWithLengthOpts(text, len, &end, 0)))
        error_set(err, LLMSYN_E_INPUT, "%s:%u: not valid JSON (at byte %zu)", path, line,
                  end && end >= text && end <= text + len ? (size_t)(end - text) + 1 : (size_t)0);
    else if (!end || end < text || end > text + len || !only_space(end, len - (size_t)(end - text)))
        error_set(err, LLMSYN_E_INPUT, "%s:%u: more than one JSON value on the line", path, line);
    else
        ret = index_resource(in, root, &r, err);
    cJSON_Delete(root);
    return ret;
}

/* Reads every line of file fi. Returns 0 or -1 with err. */
static int read_lines(struct ndjson_input *in, size_t fi, struct error *err)
{
    const char *path = in->files[fi].path;
    FILE *f = fopen(path, "rb");
    struct buf line;
    uint64_t off = 0;
    uint32_t no = 0;
    int got, too_long = 0, ret = -1;

    buf_init(&line, NDJSON_MAX_LINE);
    if (!f)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    while ((got = limits_read_line(f, &line, NDJSON_MAX_LINE, &too_long)) > 0) {
        size_t len = line.len;

        if (no == UINT32_MAX - 1) {
            error_set(err, LLMSYN_E_INPUT, "%s: more than %u lines", path, no);
            goto out;
        }
        no++;
        if (too_long) {
            error_set(err, LLMSYN_E_INPUT, "%s:%u: longer than %zu bytes", path, no, NDJSON_MAX_LINE);
            goto out;
        }
        while (len > 0 && (line.data[len - 1] == '\n' || line.data[len - 1] == '\r'))
            len--;
        if (!only_space(line.data, len) && add_line(in, (uint32_t)fi, no, off, line.data, len, err) < 0)
            goto out;
        off += line.len;
    }
    if (got < 0 || ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "cannot read '%s': %s", path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    buf_free(&line);
    fclose(f);
    return ret;
}

/* ---- the id index ---- */

static const char *id_of(const struct ndjson_input *in, size_t node)
{
    return in->ids.data + in->res[node].id;
}

static size_t slot_start(const struct ndjson_input *in, const char *id)
{
    return (size_t)journal_hash(id, strlen(id)) & (in->nslots - 1);
}

/* The node with this id (and type index, or any type when type < 0), or NO_NODE; *ambiguous is set when
 * type < 0 and resources of two types have the id. */
static size_t find(const struct ndjson_input *in, int type, const char *id, int *ambiguous)
{
    size_t i = slot_start(in, id), hit = NO_NODE;

    *ambiguous = 0;
    for (; in->slots[i]; i = (i + 1) & (in->nslots - 1)) {
        size_t node = in->slots[i] - 1;

        if (strcmp(id_of(in, node), id) || (type >= 0 && in->res[node].type != type))
            continue;
        if (hit == NO_NODE)
            hit = node;
        else
            *ambiguous = 1;
    }
    return hit;
}

/* Indexes every resource by id; a Type/id given twice is an error. Returns 0 or -1 with err. */
static int build_index(struct ndjson_input *in, struct error *err)
{
    size_t v;

    for (in->nslots = 16; in->nslots < in->nres * 2; in->nslots *= 2)
        ;
    if (!(in->slots = calloc(in->nslots, sizeof *in->slots)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    for (v = 0; v < in->nres; v++) {
        const struct nd_res *r = &in->res[v];
        size_t i = slot_start(in, id_of(in, v));

        for (; in->slots[i]; i = (i + 1) & (in->nslots - 1)) {
            const struct nd_res *o = &in->res[in->slots[i] - 1];

            if (o->type == r->type && !strcmp(id_of(in, in->slots[i] - 1), id_of(in, v)))
                return error_set(err, LLMSYN_E_INPUT, "%s:%u: %s/%s is also at %s:%u", in->files[r->file].path,
                                 r->line, in->types[r->type], id_of(in, v), in->files[o->file].path, o->line), -1;
        }
        in->slots[i] = v + 1;
    }
    return 0;
}

/* ---- references and the plan ---- */

/* The node a reference of node v names, NO_NODE when none in the input (for Type/id: it may be on the
 * server). Marks urn:uuid targets. Returns 0, or -1 with err for a urn:uuid naming nothing or two types. */
static int resolve_ref(struct ndjson_input *in, size_t v, const char *ref, size_t *target, struct error *err)
{
    const struct nd_res *r = &in->res[v];
    char type[65], id[MAX_ID + 1];
    int amb = 0, t = -1;
    size_t i;

    *target = NO_NODE;
    if (!strncmp(ref, URN, strlen(URN))) {
        *target = find(in, -1, ref + strlen(URN), &amb);
        if (*target == NO_NODE || amb)
            return error_set(err, LLMSYN_E_INPUT, "%s:%u: reference '%.80s' %s", in->files[r->file].path, r->line,
                             ref, amb ? "is ambiguous: resources of two types have that id"
                                      : "names no resource of the input (post the whole folder)"), -1;
        in->res[*target].urn_target = 1;
        return 0;
    }
    if (split_typed(ref, type, id) < 0)
        return 0;
    for (i = 0; i < in->ntypes; i++)
        if (!strcmp(in->types[i], type))
            t = (int)i;
    if (t >= 0)
        *target = find(in, t, id, &amb);
    return 0;
}

/* Builds the reference graph (and each node's byte estimate); frees the reference strings. */
static int build_graph(struct ndjson_input *in, struct error *err)
{
    size_t v, k, e = 0, n = in->nres ? in->nres : 1;

    in->start = malloc((n + 1) * sizeof *in->start);
    in->to = malloc((in->nref ? in->nref : 1) * sizeof *in->to);
    in->bytes = malloc(n * sizeof *in->bytes);
    if (!in->start || !in->to || !in->bytes)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    for (v = 0; v < in->nres; v++) {
        const struct nd_res *r = &in->res[v];

        in->start[v] = e;
        in->bytes[v] = r->len + ENTRY_OVERHEAD + 2 * strlen(id_of(in, v)) + strlen(in->types[r->type]) +
                       (size_t)r->nrefs * REF_GROWTH;
        for (k = 0; k < r->nrefs; k++) {
            size_t t;

            if (resolve_ref(in, v, in->refs.data + in->ref_off[r->ref0 + k], &t, err) < 0)
                return -1;
            if (t != NO_NODE)
                in->to[e++] = t;
        }
    }
    in->start[in->nres] = e;
    buf_free(&in->refs);
    free(in->ref_off);
    in->ref_off = NULL;
    return 0;
}

static int plan(struct ndjson_input *in, size_t max_bytes, struct error *err)
{
    struct ndplan_graph g = { in->nres, in->start, in->to, in->bytes };
    struct error e = { 0 };
    const struct ndplan *p = &in->plan;
    const struct nd_res *r;

    if (ndplan_build(&g, in->max_entries, max_bytes ? max_bytes - BUNDLE_OVERHEAD : 0, &in->plan, &e) == 0)
        return 0;
    if (e.code != LLMSYN_E_INPUT)
        return error_set(err, e.code, "%s", e.msg), -1;
    r = &in->res[p->big_node];
    if (p->big_count == 1)
        return error_set(err, LLMSYN_E_INPUT, "%s:%u: about %zu bytes in a request, more than --max-bundle-bytes %zu "
                         "allows", in->files[r->file].path, r->line, p->big_bytes + BUNDLE_OVERHEAD, max_bytes), -1;
    if (p->big_count > in->max_entries)
        return error_set(err, LLMSYN_E_INPUT, "%s:%u and %zu other resources reference one another; more than "
                         "--max-bundle-entries %zu allows", in->files[r->file].path, r->line, p->big_count - 1,
                         in->max_entries), -1;
    return error_set(err, LLMSYN_E_INPUT, "%s:%u and %zu other resources reference one another (about %zu bytes); "
                     "more than --max-bundle-bytes %zu allows", in->files[r->file].path, r->line, p->big_count - 1,
                     p->big_bytes + BUNDLE_OVERHEAD, max_bytes), -1;
}

/* Appends chunk c's name, e.g. "Condition.ndjson#1-262+Encounter.ndjson#1-100", to names (NUL-ended).
 * lo/hi are nfiles zeroed arrays, zeroed again on return; touched has room for nfiles. */
static int name_chunk(struct ndjson_input *in, size_t c, uint32_t *lo, uint32_t *hi, size_t *touched)
{
    const struct ndplan_chunk *ch = &in->plan.chunks[c];
    size_t k, nt = 0;
    int bad = 0;

    for (k = 0; k < ch->count; k++) {
        const struct nd_res *r = &in->res[in->plan.order[ch->first + k]];

        in->chunk_of[in->plan.order[ch->first + k]] = c;
        if (!lo[r->file])
            touched[nt++] = r->file;
        lo[r->file] = !lo[r->file] || r->line < lo[r->file] ? r->line : lo[r->file];
        hi[r->file] = r->line > hi[r->file] ? r->line : hi[r->file];
    }
    for (k = 1; k < nt; k++) /* insertion sort: a chunk touches few files */
        for (size_t m = k; m > 0 && touched[m - 1] > touched[m]; m--) {
            size_t t = touched[m];

            touched[m] = touched[m - 1];
            touched[m - 1] = t;
        }
    in->name_off[c] = in->names.len;
    for (k = 0; k < nt; k++) {
        size_t f = touched[k];

        bad |= buf_printf(&in->names, "%s%s#%u", k ? "+" : "", in->files[f].name, lo[f]) < 0;
        if (hi[f] != lo[f])
            bad |= buf_printf(&in->names, "-%u", hi[f]) < 0;
        lo[f] = hi[f] = 0;
    }
    return bad || buf_putc(&in->names, '\0') < 0 ? -1 : 0;
}

/* Names every chunk and records each node's chunk and each chunk's phase end. Returns 0 or -1. */
static int name_chunks(struct ndjson_input *in, struct error *err)
{
    size_t nc = in->plan.nchunks, c, m = in->nfiles;
    uint32_t *lo = calloc(m, sizeof *lo), *hi = calloc(m, sizeof *hi);
    size_t *touched = calloc(m, sizeof *touched);
    int ret = -1;

    in->chunk_of = malloc((in->nres ? in->nres : 1) * sizeof *in->chunk_of);
    in->name_off = malloc((nc ? nc : 1) * sizeof *in->name_off);
    in->phase_end = malloc((nc ? nc : 1) * sizeof *in->phase_end);
    if (!lo || !hi || !touched || !in->chunk_of || !in->name_off || !in->phase_end)
        goto out;
    for (c = 0; c < nc; c++)
        if (name_chunk(in, c, lo, hi, touched) < 0)
            goto out;
    for (c = nc; c-- > 0;)
        in->phase_end[c] = c + 1 < nc && in->plan.chunks[c + 1].phase == in->plan.chunks[c].phase
                               ? in->phase_end[c + 1] : c + 1;
    ret = 0;
out:
    if (ret < 0)
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
    free(lo);
    free(hi);
    free(touched);
    return ret;
}

struct ndjson_input *ndjson_open(const char *path, size_t max_entries, size_t max_bytes, struct error *err)
{
    struct ndjson_input *in = calloc(1, sizeof *in);
    size_t i;

    if (!in)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), NULL;
    in->max_entries = max_entries ? max_entries : NDJSON_DEFAULT_ENTRIES;
    buf_init(&in->ids, ARENA_MAX);
    buf_init(&in->refs, ARENA_MAX);
    buf_init(&in->names, ARENA_MAX);
    if (list_files(in, path, err) < 0)
        goto fail;
    for (i = 0; i < in->nfiles; i++)
        if (read_lines(in, i, err) < 0)
            goto fail;
    if (in->nres == 0) {
        error_set(err, LLMSYN_E_INPUT, "'%s' holds no resources", path);
        goto fail;
    }
    if (build_index(in, err) < 0 || build_graph(in, err) < 0 || plan(in, max_bytes, err) < 0 ||
        name_chunks(in, err) < 0)
        goto fail;
    return in;
fail:
    ndjson_close(&in);
    return NULL;
}

/* ---- requests ---- */

/* Reads node's line back into *text (caller frees). Returns 0 or -1 with reason. */
static int read_back(const struct ndjson_input *in, const struct nd_res *r, char **text, char *reason, size_t rlen)
{
    const struct nd_file *f = &in->files[r->file];
    size_t got = 0;

    if (!(*text = malloc((size_t)r->len + 1)))
        return snprintf(reason, rlen, "out of memory"), -1;
    while (got < r->len) {
        ssize_t n = pread(f->fd, *text + got, r->len - got, (off_t)(r->off + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return snprintf(reason, rlen, "%s:%u: %s", f->name, r->line,
                            n < 0 ? strerror(errno) : "the file shrank since it was read; run again"), -1;
        got += (size_t)n;
    }
    (*text)[got] = '\0';
    return 0;
}

/* Rewrites urn:uuid references to resources of other chunks into their Type/id. Returns 0 or -1. */
static int rewrite_refs(const struct ndjson_input *in, cJSON *node, size_t chunk)
{
    cJSON *c;
    char url[140];
    int amb;

    for (c = node->child; c; c = c->next) {
        if (c->string && !strcmp(c->string, "reference") && cJSON_IsString(c) && c->valuestring &&
            !strncmp(c->valuestring, URN, strlen(URN))) {
            size_t t = find(in, -1, c->valuestring + strlen(URN), &amb);

            if (t == NO_NODE || in->chunk_of[t] == chunk)
                continue;
            snprintf(url, sizeof url, "%s/%s", in->types[in->res[t].type], id_of(in, t));
            if (!cJSON_SetValuestring(c, url))
                return -1;
        } else if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && rewrite_refs(in, c, chunk) < 0)
            return -1;
    }
    return 0;
}

/* Whether the resource read back is the one indexed (the file did not change). */
static int same_resource(const struct ndjson_input *in, size_t node, const cJSON *res)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");

    return cJSON_IsString(rt) && cJSON_IsString(id) && !strcmp(rt->valuestring, in->types[in->res[node].type]) &&
           !strcmp(id->valuestring, id_of(in, node));
}

/* Appends node's entry to entries: PUT Type/id, with fullUrl urn:uuid:<id> when the id is a UUID or is
 * referenced so (the same whichever other files are posted with it). Returns 0 or -1. */
static int add_entry(const struct ndjson_input *in, cJSON *entries, size_t node, size_t chunk, char *reason,
                     size_t rlen)
{
    const struct nd_res *r = &in->res[node];
    char *text = NULL, url[140];
    cJSON *res = NULL, *entry = NULL, *req = NULL;
    int ret = -1;

    if (read_back(in, r, &text, reason, rlen) < 0)
        goto out;
    if (!(res = cJSON_ParseWithLength(text, r->len)) || !same_resource(in, node, res)) {
        snprintf(reason, rlen, "%s:%u: changed since it was read; run again", in->files[r->file].name, r->line);
        goto out;
    }
    snprintf(url, sizeof url, "%s%s", URN, id_of(in, node));
    if (rewrite_refs(in, res, chunk) < 0 || !(entry = cJSON_CreateObject()) ||
        !cJSON_AddItemToArray(entries, entry) || ((r->urn_target || uuid_shaped(id_of(in, node))) && !cJSON_AddStringToObject(entry, "fullUrl", url)))
        goto oom;
    cJSON_AddItemToObject(entry, "resource", res);
    res = NULL;
    snprintf(url, sizeof url, "%s/%s", in->types[r->type], id_of(in, node));
    if (!(req = cJSON_AddObjectToObject(entry, "request")) || !cJSON_AddStringToObject(req, "method", "PUT") ||
        !cJSON_AddStringToObject(req, "url", url))
        goto oom;
    ret = 0;
    goto out;
oom:
    snprintf(reason, rlen, "out of memory");
out:
    free(text);
    cJSON_Delete(res);
    return ret;
}

static const char *src_name(void *user, size_t i)
{
    const struct ndjson_input *in = user;

    return in->names.data + in->name_off[i];
}

static size_t src_phase_end(void *user, size_t i)
{
    const struct ndjson_input *in = user;

    return in->phase_end[i];
}

/* Builds chunk i's transaction bundle. */
static int src_load(void *user, size_t i, char **data, size_t *len, char *reason, size_t rlen)
{
    const struct ndjson_input *in = user;
    const struct ndplan_chunk *ch = &in->plan.chunks[i];
    cJSON *bundle = cJSON_CreateObject(), *entries = NULL;
    size_t k;
    int ret = -1;

    if (!bundle || !cJSON_AddStringToObject(bundle, "resourceType", "Bundle") ||
        !cJSON_AddStringToObject(bundle, "type", "transaction") || !(entries = cJSON_AddArrayToObject(bundle, "entry"))) {
        snprintf(reason, rlen, "out of memory");
        goto out;
    }
    for (k = 0; k < ch->count; k++)
        if (add_entry(in, entries, in->plan.order[ch->first + k], i, reason, rlen) < 0)
            goto out;
    if (!(*data = cJSON_PrintUnformatted(bundle))) {
        snprintf(reason, rlen, "out of memory");
        goto out;
    }
    *len = strlen(*data);
    ret = 0;
out:
    cJSON_Delete(bundle);
    return ret;
}

void ndjson_source(struct ndjson_input *in, struct upload_source *src)
{
    memset(src, 0, sizeof *src);
    src->n = in->plan.nchunks;
    src->user = in;
    src->name = src_name;
    src->phase_end = src_phase_end;
    src->load = src_load;
}

const char *ndjson_dir(const struct ndjson_input *in)
{
    return in->dir;
}

void ndjson_counts(const struct ndjson_input *in, struct ndjson_counts *c)
{
    c->files = in->nfiles;
    c->resources = in->nres;
    c->chunks = in->plan.nchunks;
    c->entries_cap = in->max_entries;
    c->phases = in->plan.nphases;
}

void ndjson_close(struct ndjson_input **inp)
{
    struct ndjson_input *in;
    size_t i;

    if (!inp || !*inp)
        return;
    in = *inp;
    for (i = 0; i < in->nfiles; i++) {
        if (in->files[i].fd >= 0)
            close(in->files[i].fd);
        free(in->files[i].path);
    }
    free(in->files);
    for (i = 0; i < in->ntypes; i++)
        free(in->types[i]);
    free(in->res);
    buf_free(&in->ids);
    buf_free(&in->refs);
    buf_free(&in->names);
    free(in->ref_off);
    free(in->slots);
    free(in->start);
    free(in->to);
    free(in->bytes);
    ndplan_free(&in->plan);
    free(in->chunk_of);
    free(in->name_off);
    free(in->phase_end);
    free(in);
    *inp = NULL;
}
