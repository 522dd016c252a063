/* anthropic.c - Anthropic's Messages API (POST /v1/messages, x-api-key and anthropic-version headers). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/backend.h"
#include "llm/llm_internal.h"

#define ANTHROPIC_DEFAULT_URL "https://api.anthropic.com"
#define ANTHROPIC_PATH "/v1/messages"
#define ANTHROPIC_DEFAULT_VERSION "2023-06-01"
#define ANTHROPIC_KEY_PREFIX "x-api-key: "

struct anthropic_state {
    struct llm_wire wire; /* owned */
    char *auth;           /* owned: "x-api-key: <key>", or NULL; wiped before free */
    char version[96];     /* "anthropic-version: <v>" */
    double temperature;   /* 0..1 */
    int max_tokens;       /* required by the API */
};

/* The secret inside st->auth, or NULL. Borrowed. */
static const char *anthropic_key(const struct anthropic_state *st)
{
    return st->auth ? st->auth + strlen(ANTHROPIC_KEY_PREFIX) : NULL;
}

/* {"model","max_tokens","system","messages","temperature"}. Caller frees with cJSON_free. */
static char *anthropic_request(const struct anthropic_state *st, const struct llm_request *req)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;

    if (!root || !cJSON_AddStringToObject(root, "model", st->wire.model) ||
        !cJSON_AddNumberToObject(root, "max_tokens", st->max_tokens))
        goto out;
    if (req->system && !cJSON_AddStringToObject(root, "system", req->system))
        goto out;
    if (llm_add_messages(root, req, 0) < 0 || !cJSON_AddNumberToObject(root, "temperature", st->temperature))
        goto out;
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

/* The text blocks of content[] joined, into answer. 0, 1 when there is no text block, -1 when too long. */
static int take_text(const cJSON *content, struct buf *answer)
{
    const cJSON *blk;
    int found = 0;

    cJSON_ArrayForEach(blk, content) {
        const char *type = llm_json_string(blk, "type"), *text = llm_json_string(blk, "text");

        if (!type || strcmp(type, "text") != 0 || !text)
            continue;
        if (buf_puts(answer, text) < 0)
            return -1;
        found = 1;
    }
    return found ? 0 : 1;
}

/* llm_reply_fn: {"content":[{"type":"text","text"}],"usage":{"input_tokens","output_tokens"}} or
 * {"type":"error","error":{"type","message"}}. */
static int anthropic_reply(void *ctx, const struct http_response *r, struct buf *answer, struct llm_usage *usage,
                           struct error *err)
{
    const struct anthropic_state *st = ctx;
    cJSON *root = r->body.len ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
    const char *msg = llm_json_string(cJSON_GetObjectItemCaseSensitive(root, "error"), "message");
    const char *stop = llm_json_string(root, "stop_reason");
    char where[256], quote[LLM_QUOTE_MAX + 8] = "";
    int rc = -1, t;

    http_redact_url(st->wire.url, where, sizeof where);
    if (msg)
        llm_quote(anthropic_key(st), msg, strlen(msg), quote, sizeof quote);
    if (r->status < 200 || r->status > 299) {
        error_set(err, LLMSYN_E_BACKEND, "anthropic backend: %s answered HTTP %ld%s%s%s", where, r->status,
                  r->status == 401 ? " (check the API key)" : r->status == 529 ? " (overloaded)" : "",
                  quote[0] ? ": " : "", quote);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        error_set(err, LLMSYN_E_BACKEND, "anthropic backend: reply from %s is not a JSON object (%zu bytes)", where,
                  r->body.len);
        goto out;
    }
    if ((t = take_text(cJSON_GetObjectItemCaseSensitive(root, "content"), answer)) != 0) {
        if (stop) /* server text: bounded, control characters blanked, the key redacted (found by fuzzing) */
            llm_quote(anthropic_key(st), stop, strlen(stop), quote, sizeof quote);
        error_set(err, LLMSYN_E_BACKEND, "anthropic backend: %s from %s%s%s%s",
                  t < 0 ? "answer too long" : "no text block in the reply's content", where,
                  stop ? " (stop_reason " : "", stop ? quote : "", stop ? ")" : "");
        goto out;
    }
    usage->prompt_tokens = llm_json_count(cJSON_GetObjectItemCaseSensitive(root, "usage"), "input_tokens");
    usage->completion_tokens = llm_json_count(cJSON_GetObjectItemCaseSensitive(root, "usage"), "output_tokens");
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

static int anthropic_complete(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                              struct llm_usage *usage, struct error *err)
{
    struct anthropic_state *st = b->state;
    const char *headers[3] = { st->version, st->auth, NULL };
    struct llm_usage local;
    char *body = NULL;
    int rc = -1;

    if (!usage)
        usage = &local;
    memset(usage, 0, sizeof *usage);
    if (!req || !req->prompt) {
        error_set(err, LLMSYN_E_INTERNAL, "anthropic backend: request has no prompt");
        goto out;
    }
    if (!(body = anthropic_request(st, req))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    rc = llm_wire_call(&st->wire, headers, body, anthropic_reply, st, answer, usage, err);
out:
    cJSON_free(body);
    return rc;
}

static void anthropic_destroy(struct llm_backend *b)
{
    struct anthropic_state *st = b->state;

    if (st) {
        llm_wire_free(&st->wire);
        if (st->auth)
            explicit_bzero(st->auth, strlen(st->auth));
        free(st->auth);
    }
    free(st);
    b->state = NULL;
}

/* Checks the options and fills st. 0, or -1 with err. */
static int anthropic_configure(struct anthropic_state *st, const struct llmsyn_options *o, struct error *err)
{
    const char *ver = o->anthropic_version && *o->anthropic_version ? o->anthropic_version
                                                                     : ANTHROPIC_DEFAULT_VERSION;
    size_t klen = o->api_key ? strlen(o->api_key) : 0, plen = strlen(ANTHROPIC_KEY_PREFIX);
    char *url = NULL;

    if (!o->model || !*o->model)
        return error_set(err, LLMSYN_E_USAGE, "--model is required for the anthropic backend"), -1;
    if (!(o->temperature >= 0.0 && o->temperature <= 1.0))
        return error_set(err, LLMSYN_E_USAGE, "--temperature %g is outside 0..1 (anthropic)", o->temperature), -1;
    if (strpbrk(ver, "\r\n") || snprintf(st->version, sizeof st->version, "anthropic-version: %s", ver) >=
                                    (int)sizeof st->version)
        return error_set(err, LLMSYN_E_USAGE, "--anthropic-version is too long or holds a line break"), -1;
    if (klen && strpbrk(o->api_key, "\r\n"))
        return error_set(err, LLMSYN_E_USAGE, "the API key contains a line break"), -1;
    if (klen && !(st->auth = malloc(plen + klen + 1)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    if (klen) {
        memcpy(st->auth, ANTHROPIC_KEY_PREFIX, plen);
        memcpy(st->auth + plen, o->api_key, klen + 1);
    }
    st->temperature = o->temperature;
    st->max_tokens = o->max_tokens > 0 ? o->max_tokens : 2048;
    if (!(url = llm_join_url(o->llm_url && *o->llm_url ? o->llm_url : ANTHROPIC_DEFAULT_URL, ANTHROPIC_PATH, err)))
        return -1;
    return llm_wire_init(&st->wire, "anthropic", o->model, url, o, err);
}

struct llm_backend *anthropic_backend_new(const struct llm_config *cfg, struct error *err)
{
    struct llm_backend *b = calloc(1, sizeof *b);
    struct anthropic_state *st = calloc(1, sizeof *st);

    if (!b || !st) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    b->state = st;
    b->destroy = anthropic_destroy;
    if (!cfg || !cfg->opts) {
        error_set(err, LLMSYN_E_INTERNAL, "anthropic backend: no options");
        goto fail;
    }
    if (anthropic_configure(st, cfg->opts, err) < 0)
        goto fail;
    b->name = "anthropic";
    b->complete = anthropic_complete;
    return b;
fail:
    if (b)
        llm_backend_free(&b); /* frees st through anthropic_destroy */
    else
        free(st);
    return NULL;
}
