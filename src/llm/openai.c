/* openai.c - the OpenAI-compatible chat-completions backend (OpenAI, Azure OpenAI, vLLM, llama.cpp, Ollama /v1). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm/backend.h"
#include "llm/llm_internal.h"
#include "net/http.h"

#define OPENAI_DEFAULT_URL "https://api.openai.com/v1"
#define OPENAI_PATH "/chat/completions"
#define OPENAI_DEFAULT_TIMEOUT_MS 120000L
#define OPENAI_AUTH_PREFIX "Authorization: Bearer "
#define AZURE_AUTH_PREFIX "api-key: "
#define AZURE_DEFAULT_API_VERSION "2024-10-21"
#define OPENAI_QUOTE_MAX LLM_QUOTE_MAX
#define OPENAI_SCRUB_WINDOW 65536     /* server text scanned for the key before quoting */

struct openai_state {
    struct llm_wire wire;      /* owned: HTTP client, retries, cache; wire.url is the endpoint */
    const char *name;          /* "openai" or "azure"; static */
    char *url;                 /* borrowed: wire.url */
    char *model;               /* borrowed: wire.model */
    char *auth;                /* owned: "<auth header prefix><key>", or NULL; wiped before free */
    size_t auth_prefix;        /* length of the header name part of auth */
    double temperature;
    int max_tokens;            /* 0: not sent */
    int structured;            /* send response_format json_schema (--structured-output) */
    const struct step_def *step; /* borrowed: the step of the call in progress (structured output) */
};

/* The secret inside st->auth, or NULL. Borrowed. */
static const char *openai_key(const struct openai_state *st)
{
    return st->auth ? st->auth + st->auth_prefix : NULL;
}

/* Copies text into out replacing every occurrence of key with "[redacted]". Returns 0 or -1. */
static int scrub_key(const char *text, size_t len, const char *key, struct buf *out)
{
    size_t klen = key ? strlen(key) : 0;
    size_t i = 0, start = 0;

    if (klen == 0)
        return buf_append(out, text, len);
    while (i + klen <= len) {
        if (memcmp(text + i, key, klen) == 0) {
            if (buf_append(out, text + start, i - start) < 0 || buf_puts(out, "[redacted]") < 0)
                return -1;
            i += klen;
            start = i;
        } else {
            i++;
        }
    }
    return buf_append(out, text + start, len - start);
}

void llm_quote(const char *secret, const char *text, size_t len, char *out, size_t outlen)
{
    struct buf clean;
    size_t n, i;

    if (outlen < 4)
        return;
    out[0] = '\0';
    buf_init(&clean, 0);
    if (len > OPENAI_SCRUB_WINDOW)
        len = OPENAI_SCRUB_WINDOW;
    if (scrub_key(text, len, secret, &clean) < 0 || clean.len == 0)
        goto out;
    n = clean.len;
    if (n > OPENAI_QUOTE_MAX)
        n = OPENAI_QUOTE_MAX;
    if (n > outlen - 4)
        n = outlen - 4;
    while (n < clean.len && n > 0 && ((unsigned char)clean.data[n] & 0xC0) == 0x80)
        n--;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)clean.data[i];

        out[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    out[n] = '\0';
    if (n < clean.len)
        memcpy(out + n, "...", 4);
out:
    buf_free(&clean);
}

/* llm_quote with this backend's key. */
static void quote_text(const struct openai_state *st, const char *text, size_t len, char *out, size_t outlen)
{
    llm_quote(openai_key(st), text, len, out, outlen);
}

const char *llm_json_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The server's own explanation in a parsed reply: {"error": {"message"}}, {"error": "..."} (Ollama)
 * or a top-level "message" (vLLM). Borrowed from root, or NULL. */
static const char *server_message(const cJSON *root)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *m = NULL;

    if (cJSON_IsObject(e))
        m = cJSON_GetObjectItemCaseSensitive(e, "message");
    else if (cJSON_IsString(e))
        m = e;
    else
        m = cJSON_GetObjectItemCaseSensitive(root, "message");
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

/* Quotes the server's error text from a body: error.message when JSON, else the raw body. */
static void quote_server_error(const struct openai_state *st, const struct buf *body, char *out, size_t outlen)
{
    cJSON *root = body->len ? cJSON_ParseWithLength(body->data, body->len) : NULL;
    const char *msg = root ? server_message(root) : NULL;

    out[0] = '\0';
    if (msg)
        quote_text(st, msg, strlen(msg), out, outlen);
    else if (!root && body->len)
        quote_text(st, body->data, body->len, out, outlen);
    cJSON_Delete(root);
}

static const char *status_hint(long status)
{
    if (status >= 300 && status < 400)
        return " (redirects are not followed; check --llm-url)";
    if (status == 401 || status == 403)
        return " (check the API key)";
    if (status == 404)
        return " (check --llm-url and --model)";
    if (status == 408)
        return " (request timeout)";
    if (status == 429)
        return " (rate limited or out of quota)";
    if (status >= 500 && status < 600)
        return " (server error)";
    return "";
}

/* err for a non-2xx reply: names the URL, the status and the server's message. */
static void report_status(const struct openai_state *st, const struct http_response *r, struct error *err)
{
    char where[256], quote[OPENAI_QUOTE_MAX + 8];

    http_redact_url(st->url, where, sizeof where);
    quote_server_error(st, &r->body, quote, sizeof quote);
    error_set(err, LLMSYN_E_BACKEND, "%s backend: %s answered HTTP %ld%s%s%s", st->name, where, r->status,
              status_hint(r->status), quote[0] ? ": " : "", quote);
}

/* Appends {"role": role, "content": content} to arr. Returns 0 or -1. */
static int add_message(cJSON *arr, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();

    if (!m)
        return -1;
    if (!cJSON_AddItemToArray(arr, m))
        return cJSON_Delete(m), -1;
    if (!cJSON_AddStringToObject(m, "role", role) || !cJSON_AddStringToObject(m, "content", content))
        return -1;
    return 0;
}

int llm_add_messages(cJSON *root, const struct llm_request *req, int with_system)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "messages");

    if (!arr)
        return -1;
    if (with_system && req->system && add_message(arr, "system", req->system) < 0)
        return -1;
    if (add_message(arr, "user", req->prompt) < 0)
        return -1;
    if (!req->reask)
        return 0;
    if (req->previous_answer && add_message(arr, "assistant", req->previous_answer) < 0)
        return -1;
    return add_message(arr, "user", req->reask);
}

/* The 64-bit request seed folded into 0..2^31-1: an exact JSON integer every server accepts. */
double llm_wire_seed(uint64_t seed)
{
    return (double)((seed ^ (seed >> 32)) & 0x7fffffffu);
}

/* "response_format": {"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}. 0 or -1. */
static int add_response_format(cJSON *root, const struct step_def *step)
{
    cJSON *rf = cJSON_AddObjectToObject(root, "response_format"), *js, *schema;
    char name[64];

    snprintf(name, sizeof name, "llmsyn_%s", step->name);
    if (!rf || !cJSON_AddStringToObject(rf, "type", "json_schema") ||
        !(js = cJSON_AddObjectToObject(rf, "json_schema")) || !cJSON_AddStringToObject(js, "name", name) ||
        !cJSON_AddTrueToObject(js, "strict"))
        return -1;
    if (!(schema = llm_step_schema(step)))
        return -1;
    cJSON_AddItemToObject(js, "schema", schema);
    return 0;
}

/* Request body as compact JSON, or NULL on out-of-memory. Caller frees with cJSON_free. */
static char *build_request(const struct openai_state *st, const struct llm_request *req)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;

    if (!root || !cJSON_AddStringToObject(root, "model", st->model) || llm_add_messages(root, req, 1) < 0 ||
        !cJSON_AddNumberToObject(root, "temperature", st->temperature) ||
        !cJSON_AddNumberToObject(root, "seed", llm_wire_seed(req->seed)) ||
        !cJSON_AddFalseToObject(root, "stream"))
        goto out;
    if (st->max_tokens > 0 && !cJSON_AddNumberToObject(root, "max_tokens", st->max_tokens))
        goto out;
    if (st->structured && req->step && add_response_format(root, req->step) < 0)
        goto out;
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

uint64_t llm_json_count(const cJSON *usage, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(usage, name);

    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e15)
        return 0;
    return (uint64_t)v->valuedouble;
}

/* The message object of choices[0], or NULL with err. Borrowed from root. */
static const cJSON *first_message(const struct openai_state *st, const cJSON *root, const char *where,
                                  struct error *err)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice, *msg;
    const char *smsg = server_message(root);
    char quote[OPENAI_QUOTE_MAX + 8] = "";

    if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) < 1) {
        if (smsg)
            quote_text(st, smsg, strlen(smsg), quote, sizeof quote);
        error_set(err, LLMSYN_E_BACKEND, "openai backend: reply from %s has no choices%s%s", where,
                  quote[0] ? ": " : "", quote);
        return NULL;
    }
    choice = cJSON_GetArrayItem(choices, 0);
    msg = cJSON_IsObject(choice) ? cJSON_GetObjectItemCaseSensitive(choice, "message") : NULL;
    if (!cJSON_IsObject(msg)) {
        error_set(err, LLMSYN_E_BACKEND, "openai backend: reply from %s has no choices[0].message", where);
        return NULL;
    }
    return msg;
}

/* err when choices[0].message.content is not a string, with the refusal or finish_reason if any. */
static void report_no_content(const struct openai_state *st, const cJSON *root, const cJSON *msg,
                              const char *where, struct error *err)
{
    const cJSON *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
    const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    char quote[OPENAI_QUOTE_MAX + 8] = "";

    if (cJSON_IsString(refusal))
        quote_text(st, refusal->valuestring, strlen(refusal->valuestring), quote, sizeof quote);
    else if (cJSON_IsString(finish))
        quote_text(st, finish->valuestring, strlen(finish->valuestring), quote, sizeof quote);
    error_set(err, LLMSYN_E_BACKEND, "openai backend: reply from %s has no text in choices[0].message.content%s%s%s",
              where, quote[0] ? " (" : "", quote, quote[0] ? ")" : "");
}

/* Takes the answer text and token counts from a 2xx reply. Returns 0 or -1 with err. */
static int parse_reply(const struct openai_state *st, const struct buf *body, struct buf *answer,
                       struct llm_usage *usage, struct error *err)
{
    char where[256];
    cJSON *root = NULL;
    const cJSON *msg, *content, *u;
    int rc = -1;

    http_redact_url(st->url, where, sizeof where);
    root = body->len ? cJSON_ParseWithLength(body->data, body->len) : NULL;
    if (!cJSON_IsObject(root)) {
        error_set(err, LLMSYN_E_BACKEND, "openai backend: reply from %s is not a JSON object (%zu bytes)", where,
                  body->len);
        goto out;
    }
    if (!(msg = first_message(st, root, where, err)))
        goto out;
    content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (!cJSON_IsString(content)) {
        report_no_content(st, root, msg, where, err);
        goto out;
    }
    if (st->structured && st->step) {
        int t = llm_structured_to_text(st->step, content->valuestring, answer);

        if (t < 0 || (t == 1 && buf_puts(answer, content->valuestring) < 0)) {
            error_set(err, LLMSYN_E_BACKEND, "openai backend: answer from %s is too long", where);
            goto out;
        }
    } else if (buf_puts(answer, content->valuestring) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "openai backend: answer from %s is too long (%zu bytes)", where,
                  strlen(content->valuestring));
        goto out;
    }
    u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (usage && cJSON_IsObject(u)) {
        usage->prompt_tokens = llm_json_count(u, "prompt_tokens");
        usage->completion_tokens = llm_json_count(u, "completion_tokens");
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* llm_reply_fn: the error of a non-2xx reply, or the answer of a 2xx one. */
static int openai_reply(void *ctx, const struct http_response *r, struct buf *answer, struct llm_usage *usage,
                        struct error *err)
{
    const struct openai_state *st = ctx;

    if (r->status < 200 || r->status > 299) {
        report_status(st, r, err);
        return -1;
    }
    return parse_reply(st, &r->body, answer, usage, err);
}

static int openai_complete(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                           struct llm_usage *usage, struct error *err)
{
    struct openai_state *st = b->state;
    const char *headers[2] = { st->auth, NULL };
    struct llm_usage local;
    char *body = NULL;
    int rc = -1;

    if (!usage)
        usage = &local;
    memset(usage, 0, sizeof *usage);
    if (!req || !req->prompt) {
        error_set(err, LLMSYN_E_INTERNAL, "%s backend: request has no prompt", st->name);
        goto out;
    }
    if (!(body = build_request(st, req))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    st->step = req->step;
    rc = llm_wire_call(&st->wire, headers, body, openai_reply, st, answer, usage, err);
    st->step = NULL;
out:
    cJSON_free(body);
    return rc;
}

static void openai_state_free(struct openai_state *st)
{
    if (!st)
        return;
    llm_wire_free(&st->wire);
    if (st->auth)
        explicit_bzero(st->auth, strlen(st->auth));
    free(st->auth);
    free(st);
}

static void openai_destroy(struct llm_backend *b)
{
    openai_state_free(b->state);
    b->state = NULL;
}

char *llm_join_url(const char *base, const char *path, struct error *err)
{
    size_t n = strlen(base), plen = strlen(path), q = strcspn(path, "?");
    char shown[256];
    char *url;

    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
        http_redact_url(base, shown, sizeof shown);
        error_set(err, LLMSYN_E_USAGE, "--llm-url '%s' must start with http:// or https://", shown);
        return NULL;
    }
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= q && memcmp(base + n - q, path, q) == 0 && path[q] == '\0')
        plen = 0;
    if (!(url = malloc(n + plen + 1))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(url, base, n);
    memcpy(url + n, path, plen);
    url[n + plen] = '\0';
    return url;
}

/* 1 when s is a non-empty run of URL-safe characters [A-Za-z0-9._-]. */
static int url_safe(const char *s)
{
    return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(s);
}

/* The endpoint: <base>/chat/completions, or for Azure
 * <base>/openai/deployments/<model>/chat/completions?api-version=<v>. Malloc'd, or NULL with err. */
static char *endpoint(const struct openai_state *st, const struct llmsyn_options *o, struct error *err)
{
    const char *ver = o->azure_api_version && *o->azure_api_version ? o->azure_api_version
                                                                     : AZURE_DEFAULT_API_VERSION;
    char path[512];

    if (strcmp(st->name, "azure") != 0)
        return llm_join_url(o->llm_url && *o->llm_url ? o->llm_url : OPENAI_DEFAULT_URL, OPENAI_PATH, err);
    if (!o->llm_url || !*o->llm_url) {
        error_set(err, LLMSYN_E_USAGE, "--llm-url https://<resource>.openai.azure.com is required for azure");
        return NULL;
    }
    if (!url_safe(o->model) || !url_safe(ver)) {
        error_set(err, LLMSYN_E_USAGE, "azure deployment (--model) and --azure-api-version may hold only "
                  "letters, digits, '.', '_' and '-'");
        return NULL;
    }
    if (snprintf(path, sizeof path, "/openai/deployments/%s" OPENAI_PATH "?api-version=%s", o->model, ver) >=
        (int)sizeof path) {
        error_set(err, LLMSYN_E_USAGE, "azure deployment name is too long");
        return NULL;
    }
    return llm_join_url(o->llm_url, path, err);
}

/* "<prefix><key>" into st->auth (none for a NULL or empty key). Returns 0 or -1 with err. */
static int set_auth(struct openai_state *st, const char *prefix, const char *key, struct error *err)
{
    size_t plen = strlen(prefix), klen;

    if (!key || !*key)
        return 0;
    if (strpbrk(key, "\r\n")) {
        error_set(err, LLMSYN_E_USAGE, "the API key contains a line break");
        return -1;
    }
    klen = strlen(key);
    if (!(st->auth = malloc(plen + klen + 1))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return -1;
    }
    memcpy(st->auth, prefix, plen);
    memcpy(st->auth + plen, key, klen + 1);
    st->auth_prefix = plen;
    return 0;
}

/* Checks the options and fills st. Returns 0 or -1 with err. */
static int openai_configure(struct openai_state *st, const struct llmsyn_options *o, struct error *err)
{
    int azure = !strcmp(st->name, "azure");
    char *url;

    if (!o->model || !*o->model) {
        error_set(err, LLMSYN_E_USAGE, "--model is required for the %s backend%s", st->name,
                  azure ? " (the deployment name)" : "");
        return -1;
    }
    if (!(o->temperature >= 0.0 && o->temperature <= 2.0)) {
        error_set(err, LLMSYN_E_USAGE, "--temperature %g is outside 0..2", o->temperature);
        return -1;
    }
    if (o->max_tokens < 0) {
        error_set(err, LLMSYN_E_USAGE, "--max-tokens %d is negative", o->max_tokens);
        return -1;
    }
    if (!(url = endpoint(st, o, err)) || llm_wire_init(&st->wire, st->name, o->model, url, o, err) < 0)
        return -1;
    st->url = st->wire.url;
    st->model = st->wire.model;
    st->temperature = o->temperature;
    st->max_tokens = o->max_tokens;
    st->structured = o->structured_output;
    return set_auth(st, azure ? AZURE_AUTH_PREFIX : OPENAI_AUTH_PREFIX, o->api_key, err);
}

/* The openai or azure backend. */
static struct llm_backend *chat_backend_new(const char *name, const struct llm_config *cfg, struct error *err)
{
    struct llm_backend *b = NULL;
    struct openai_state *st = NULL;

    if (!cfg || !cfg->opts) {
        error_set(err, LLMSYN_E_INTERNAL, "%s backend: no options", name);
        return NULL;
    }
    b = calloc(1, sizeof *b);
    st = calloc(1, sizeof *st);
    if (!b || !st) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    st->name = name;
    if (openai_configure(st, cfg->opts, err) < 0)
        goto fail;
    b->name = name;
    b->complete = openai_complete;
    b->destroy = openai_destroy;
    b->state = st;
    return b;
fail:
    openai_state_free(st);
    free(b);
    return NULL;
}

struct llm_backend *openai_backend_new(const struct llm_config *cfg, struct error *err)
{
    return chat_backend_new("openai", cfg, err);
}

struct llm_backend *azure_backend_new(const struct llm_config *cfg, struct error *err)
{
    return chat_backend_new("azure", cfg, err);
}
