/* literal_refs.c - bulk-data (NDJSON) export: a bundle's "urn:uuid:X" references become literal "Type/X". */
#include "out/sink_internal.h"

#include <string.h>

#define REF_KEY "\"reference\":\"urn:uuid:"
#define REF_KEY_LEN (sizeof REF_KEY - 1)
#define URN_LEN (sizeof "urn:uuid:" - 1)

/* The type of the entry whose fullUrl is "urn:uuid:<id>" (id: n bytes) and whose resource has that id
 * (bundle.c makes them equal); borrowed, NULL when no entry is that urn. */
static const char *entry_type(const cJSON *entries, const char *id, size_t n)
{
    const cJSON *entry, *url, *res, *type, *rid;

    cJSON_ArrayForEach(entry, entries) {
        url = cJSON_GetObjectItemCaseSensitive(entry, "fullUrl");
        res = cJSON_GetObjectItemCaseSensitive(entry, "resource");
        type = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
        rid = cJSON_GetObjectItemCaseSensitive(res, "id");
        if (cJSON_IsString(url) && strlen(url->valuestring) == URN_LEN + n &&
            !memcmp(url->valuestring + URN_LEN, id, n) && cJSON_IsString(type) && cJSON_IsString(rid) &&
            strlen(rid->valuestring) == n && !memcmp(rid->valuestring, id, n))
            return type->valuestring;
    }
    return NULL;
}

/* In cJSON's unformatted print every quote inside a string is escaped, so REF_KEY can only match a real
 * "reference" member: the text is rewritten without parsing or copying the tree. */
int literal_refs_append(struct buf *b, const char *text, const cJSON *entries)
{
    const char *at, *id, *end;
    const char *type;

    while ((at = strstr(text, REF_KEY))) {
        id = at + REF_KEY_LEN;
        end = strchr(id, '"');
        type = end ? entry_type(entries, id, (size_t)(end - id)) : NULL;
        if (!type) { /* not an entry of this bundle: keep the urn as it is */
            if (buf_append(b, text, (size_t)(id - text)) < 0)
                return -1;
            text = id;
            continue;
        }
        if (buf_append(b, text, (size_t)(at - text)) < 0 || buf_printf(b, "\"reference\":\"%s/", type) < 0 ||
            buf_append(b, id, (size_t)(end - id)) < 0)
            return -1;
        text = end;
    }
    return buf_puts(b, text);
}
