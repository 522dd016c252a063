/* structured.c - optional structured output: a JSON schema per step, and its JSON answer back to text. */
#include <cjson/cJSON.h>
#include <string.h>

#include "llm/llm_internal.h"
#include "util/limits.h"

#define REASONING_KEY "reasoning"

/* Adds {"type": "string"} (or an array of strings) as property `name`. Returns 0 or -1. */
static int add_property(cJSON *props, cJSON *required, const char *name, int array)
{
    cJSON *p = cJSON_AddObjectToObject(props, name), *items;

    if (!p || !cJSON_AddStringToObject(p, "type", array ? "array" : "string"))
        return -1;
    if (array && (!(items = cJSON_AddObjectToObject(p, "items")) || !cJSON_AddStringToObject(items, "type", "string")))
        return -1;
    return cJSON_AddItemToArray(required, cJSON_CreateString(name)) ? 0 : -1;
}

cJSON *llm_step_schema(const struct step_def *step)
{
    cJSON *s = cJSON_CreateObject(), *props = NULL, *req = NULL;
    size_t i;

    if (!s || !step || !cJSON_AddStringToObject(s, "type", "object") ||
        !(props = cJSON_AddObjectToObject(s, "properties")) || !(req = cJSON_AddArrayToObject(s, "required")) ||
        add_property(props, req, REASONING_KEY, 0) < 0)
        goto fail;
    for (i = 0; step->fields && step->fields[i]; i++)
        if (add_property(props, req, step->fields[i], 0) < 0)
            goto fail;
    if (step->repeated && add_property(props, req, step->repeated, 1) < 0)
        goto fail;
    if (!cJSON_AddFalseToObject(s, "additionalProperties"))
        goto fail;
    return s;
fail:
    cJSON_Delete(s);
    return NULL;
}

/* Appends "[name]: value\n" when value is a string without line breaks. Returns 0 or -1. */
static int put_line(struct buf *out, const char *name, const cJSON *v)
{
    if (!cJSON_IsString(v) || strpbrk(v->valuestring, "\r\n"))
        return 0;
    return buf_printf(out, "[%s]: %s\n", name, v->valuestring);
}

int llm_structured_to_text(const struct step_def *step, const char *json, struct buf *out)
{
    cJSON *root = NULL;
    const cJSON *v, *item;
    size_t i;
    int rc = 1;

    /* an answer nested past LIMIT_JSON_DEPTH is not taken as structured */
    if (step && json && limits_json_too_deep(json, strlen(json), LIMIT_JSON_DEPTH) < 0)
        root = cJSON_Parse(json);
    if (!cJSON_IsObject(root))
        goto out;
    rc = -1;
    v = cJSON_GetObjectItemCaseSensitive(root, REASONING_KEY);
    if (cJSON_IsString(v) && (buf_puts(out, v->valuestring) < 0 || buf_puts(out, "\n\n") < 0))
        goto out;
    if (buf_puts(out, "Final Output:\n") < 0)
        goto out;
    for (i = 0; step->fields && step->fields[i]; i++)
        if (put_line(out, step->fields[i], cJSON_GetObjectItemCaseSensitive(root, step->fields[i])) < 0)
            goto out;
    v = step->repeated ? cJSON_GetObjectItemCaseSensitive(root, step->repeated) : NULL;
    cJSON_ArrayForEach(item, v) {
        if (put_line(out, step->repeated, item) < 0)
            goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}
