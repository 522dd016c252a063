/* ollama.c - Ollama's native chat API (POST /api/chat, stream false). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/backend.h"
#include "llm/llm_internal.h"

#define OLLAMA_DEFAULT_URL "http://localhost:11434"
#define OLLAMA_PATH "/api/chat"

#define OLLAMA_AUTH_PREFIX "Authorization: Bearer "

struct ollama_state {
    struct llm_wire wire; /* owned */
    char *auth;           /* owned: bearer header for a proxy or hosted Ollama, or NULL; wiped before free */
    double temperature;
    int max_tokens;       /* options.num_predict; 0: not sent */
    int structured;       /* send "format": <schema> (--structured-output) */
    const struct step_def *step; /* borrowed: the step of the call in progress */
};

/* {"model","messages","stream":false,"options":{temperature,seed,num_predict}}. Caller frees with cJSON_free. */
static char *ollama_request(const struct ollama_state *st, const struct llm_request *req)
{
    cJSON *root = cJSON_CreateObject(), *opt = NULL;
    char *out = NULL;

    if (!root || !cJSON_AddStringToObject(root, "model", st->wire.model) || llm_add_messages(root, req, 1) < 0 ||
        !cJSON_AddFalseToObject(root, "stream") || !(opt = cJSON_AddObjectToObject(root, "options")) ||
        !cJSON_AddNumberToObject(opt, "temperature", st->temperature) ||
        !cJSON_AddNumberToObject(opt, "seed", llm_wire_seed(req->seed)))
        goto out;
    if (st->max_tokens > 0 && !cJSON_AddNumberToObject(opt, "num_predict", st->max_tokens))
        goto out;
    if (st->structured && req->step) {
        cJSON *schema = llm_step_schema(req->step);

        if (!schema)
            goto out;
        cJSON_AddItemToObject(root, "format", schema);
    }
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

/* llm_reply_fn: {"message":{"content"},"prompt_eval_count","eval_count"} or {"error":"..."}. */
static int ollama_reply(void *ctx, const struct http_response *r, struct buf *answer, struct llm_usage *usage,
                        struct error *err)
{
    const struct ollama_state *st = ctx;
    cJSON *root = r->body.len ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
    const char *text = NULL, *msg = llm_json_string(root, "error");
    char where[256], quote[LLM_QUOTE_MAX + 8] = "";
    int rc = -1;

    http_redact_url(st->wire.url, where, sizeof where);
    if (msg)
        llm_quote(st->auth ? st->auth + strlen(OLLAMA_AUTH_PREFIX) : NULL, msg, strlen(msg), quote, sizeof quote);
    if (r->status < 200 || r->status > 299) {
        error_set(err, LLMSYN_E_BACKEND, "ollama backend: %s answered HTTP %ld%s%s", where, r->status,
                  quote[0] ? ": " : "", quote);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        error_set(err, LLMSYN_E_BACKEND, "ollama backend: reply from %s is not a JSON object (%zu bytes)", where,
                  r->body.len);
        goto out;
    }
    if (!(text = llm_json_string(cJSON_GetObjectItemCaseSensitive(root, "message"), "content"))) {
        error_set(err, LLMSYN_E_BACKEND, "ollama backend: reply from %s has no text in message.content%s%s", where,
                  quote[0] ? ": " : "", quote);
        goto out;
    }
    if (st->structured && st->step) {
        int t = llm_structured_to_text(st->step, text, answer);

        if (t < 0 || (t == 1 && buf_puts(answer, text) < 0)) {
            error_set(err, LLMSYN_E_BACKEND, "ollama backend: answer from %s is too long", where);
            goto out;
        }
    } else if (buf_puts(answer, text) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "ollama backend: answer from %s is too long", where);
        goto out;
    }
    usage->prompt_tokens = llm_json_count(root, "prompt_eval_count");
    usage->completion_tokens = llm_json_count(root, "eval_count");
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

static int ollama_complete(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                           struct llm_usage *usage, struct error *err)
{
    struct ollama_state *st = b->state;
    const char *headers[2] = { st->auth, NULL };
    struct llm_usage local;
    char *body = NULL;
    int rc = -1;

    if (!usage)
        usage = &local;
    memset(usage, 0, sizeof *usage);
    if (!req || !req->prompt) {
        error_set(err, LLMSYN_E_INTERNAL, "ollama backend: request has no prompt");
        goto out;
    }
    if (!(body = ollama_request(st, req))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    st->step = req->step;
    rc = llm_wire_call(&st->wire, headers, body, ollama_reply, st, answer, usage, err);
    st->step = NULL;
out:
    cJSON_free(body);
    return rc;
}

static void ollama_destroy(struct llm_backend *b)
{
    struct ollama_state *st = b->state;

    if (st) {
        llm_wire_free(&st->wire);
        if (st->auth)
            explicit_bzero(st->auth, strlen(st->auth));
        free(st->auth);
    }
    free(st);
    b->state = NULL;
}

/* "Authorization: Bearer <key>" into st->auth. 0, or -1 with err. */
static int set_bearer(struct ollama_state *st, const char *key, struct error *err)
{
    size_t plen = strlen(OLLAMA_AUTH_PREFIX), klen = strlen(key);

    if (strpbrk(key, "\r\n"))
        return error_set(err, LLMSYN_E_USAGE, "the API key contains a line break"), -1;
    if (!(st->auth = malloc(plen + klen + 1)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    memcpy(st->auth, OLLAMA_AUTH_PREFIX, plen);
    memcpy(st->auth + plen, key, klen + 1);
    return 0;
}

struct llm_backend *ollama_backend_new(const struct llm_config *cfg, struct error *err)
{
    const struct llmsyn_options *o = cfg ? cfg->opts : NULL;
    struct llm_backend *b = calloc(1, sizeof *b);
    struct ollama_state *st = calloc(1, sizeof *st);
    char *url = NULL;

    if (!b || !st) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    b->state = st;
    b->destroy = ollama_destroy;
    if (!o || !o->model || !*o->model) {
        error_set(err, LLMSYN_E_USAGE, "--model is required for the ollama backend");
        goto fail;
    }
    if (!(url = llm_join_url(o->llm_url && *o->llm_url ? o->llm_url : OLLAMA_DEFAULT_URL, OLLAMA_PATH, err)) ||
        llm_wire_init(&st->wire, "ollama", o->model, url, o, err) < 0)
        goto fail;
    if (o->api_key && *o->api_key && set_bearer(st, o->api_key, err) < 0)
        goto fail;
    st->temperature = o->temperature;
    st->max_tokens = o->max_tokens;
    st->structured = o->structured_output;
    b->name = "ollama";
    b->complete = ollama_complete;
    return b;
fail:
    if (b)
        llm_backend_free(&b); /* frees st through ollama_destroy */
    else
        free(st);
    return NULL;
}
