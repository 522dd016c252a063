/* literal_refs.c - bulk-data (NDJSON) export: a bundle's "urn:uuid:X" references become literal "Type/X". */
#include "out/sink_internal.h"

#include <stdlib.h>
#include <string.h>

#define URN_PREFIX "urn:uuid:"
#define URN_LEN (sizeof URN_PREFIX - 1)
#define MAX_REF_DEPTH 32 /* our own bundles nest a few levels; deeper is never a reference we made */

/* The "Type/id" an entry's fullUrl stands for, into out; 0, or -1 when the entry has no urn fullUrl or
 * resource with a type and an id equal to the urn's uuid (bundle.c makes them equal). */
static int entry_literal(const cJSON *entry, const char *urn, char *out, size_t outlen)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(entry, "fullUrl");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
    int n;

    if (!cJSON_IsString(url) || strcmp(url->valuestring, urn) || !cJSON_IsString(type) || !cJSON_IsString(id) ||
        strcmp(id->valuestring, urn + URN_LEN))
        return -1;
    n = snprintf(out, outlen, "%s/%s", type->valuestring, id->valuestring);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Finds the literal form of urn among entries; 0 with out filled, or -1 when no entry is that urn. */
static int literal_of(const cJSON *entries, const char *urn, char *out, size_t outlen)
{
    const cJSON *entry;

    cJSON_ArrayForEach(entry, entries) {
        if (entry_literal(entry, urn, out, outlen) == 0)
            return 0;
    }
    return -1;
}

/* Whether item holds, at any depth, a "reference" string that names an entry by its urn. */
static int has_urn_ref(const cJSON *item, int depth)
{
    const cJSON *child;

    if (depth > MAX_REF_DEPTH)
        return 0;
    cJSON_ArrayForEach(child, item) {
        if (child->string && !strcmp(child->string, "reference") && cJSON_IsString(child) &&
            !strncmp(child->valuestring, URN_PREFIX, URN_LEN))
            return 1;
        if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && has_urn_ref(child, depth + 1))
            return 1;
    }
    return 0;
}

/* Rewrites, in the copy `item`, every urn reference that names an entry. 0, or -1 when memory runs out. */
static int rewrite(cJSON *item, const cJSON *entries, int depth)
{
    cJSON *child;
    char lit[160];

    if (depth > MAX_REF_DEPTH)
        return 0;
    cJSON_ArrayForEach(child, item) {
        if (child->string && !strcmp(child->string, "reference") && cJSON_IsString(child) &&
            !strncmp(child->valuestring, URN_PREFIX, URN_LEN)) {
            if (literal_of(entries, child->valuestring, lit, sizeof lit) == 0 && !cJSON_SetValuestring(child, lit))
                return -1;
        } else if ((cJSON_IsObject(child) || cJSON_IsArray(child)) && rewrite(child, entries, depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

int literal_refs(const cJSON *res, const cJSON *entries, cJSON **out)
{
    *out = NULL;
    if (!has_urn_ref(res, 0))
        return 0;
    if (!(*out = cJSON_Duplicate(res, 1)))
        return -1;
    if (rewrite(*out, entries, 0) < 0) {
        cJSON_Delete(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}
