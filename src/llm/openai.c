/* openai.c - the OpenAI-compatible chat-completions backend (OpenAI, vLLM, llama.cpp, Ollama /v1, ...). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm/backend.h"
#include "net/http.h"

#define OPENAI_DEFAULT_URL "https://api.openai.com/v1"
#define OPENAI_PATH "/chat/completions"
#define OPENAI_DEFAULT_TIMEOUT_MS 120000L
#define OPENAI_AUTH_PREFIX "Authorization: Bearer "
#define OPENAI_QUOTE_MAX 200          /* server text quoted in an error, in bytes */
#define OPENAI_SCRUB_WINDOW 65536     /* server text scanned for the key before quoting */
#define OPENAI_KEEP_BODY ((size_t)1 << 20) /* response memory kept between calls */

struct openai_state {
    struct http_client *http;  /* owned */
    char *url;                 /* owned: <base>/chat/completions */
    char *model;               /* owned */
    char *auth;                /* owned: OPENAI_AUTH_PREFIX <key>, or NULL; wiped before free */
    double temperature;
    int max_tokens;            /* 0: not sent */
    long timeout_ms;
    struct http_response resp; /* owned; reused between calls */
};

/* The secret inside st->auth, or NULL. Borrowed. */
static const char *openai_key(const struct openai_state *st)
{
    return st->auth ? st->auth + strlen(OPENAI_AUTH_PREFIX) : NULL;
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

/* Writes at most OPENAI_QUOTE_MAX bytes of text as one line (control bytes become spaces, the cut
 * falls on a UTF-8 boundary, "..." marks a cut) with the key scrubbed. out is always terminated. */
static void quote_text(const struct openai_state *st, const char *text, size_t len, char *out, size_t outlen)
{
    struct buf clean;
    size_t n, i;

    if (outlen < 4)
        return;
    out[0] = '\0';
    buf_init(&clean, 0);
    if (len > OPENAI_SCRUB_WINDOW)
        len = OPENAI_SCRUB_WINDOW;
    if (scrub_key(text, len, openai_key(st), &clean) < 0 || clean.len == 0)
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
    error_set(err, LLMSYN_E_BACKEND, "openai backend: %s answered HTTP %ld%s%s%s", where, r->status,
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

static int add_messages(cJSON *root, const struct llm_request *req)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "messages");

    if (!arr)
        return -1;
    if (req->system && add_message(arr, "system", req->system) < 0)
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
static double wire_seed(uint64_t seed)
{
    return (double)((seed ^ (seed >> 32)) & 0x7fffffffu);
}

/* Request body as compact JSON, or NULL on out-of-memory. Caller frees with cJSON_free. */
static char *build_request(const struct openai_state *st, const struct llm_request *req)
{
    cJSON *root = cJSON_CreateObject();
    char *out = NULL;

    if (!root || !cJSON_AddStringToObject(root, "model", st->model) || add_messages(root, req) < 0 ||
        !cJSON_AddNumberToObject(root, "temperature", st->temperature) ||
        !cJSON_AddNumberToObject(root, "seed", wire_seed(req->seed)) ||
        !cJSON_AddFalseToObject(root, "stream"))
        goto out;
    if (st->max_tokens > 0 && !cJSON_AddNumberToObject(root, "max_tokens", st->max_tokens))
        goto out;
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}

/* A token count from usage, or 0 when absent or not a sane number. */
static uint64_t usage_count(const cJSON *usage, const char *name)
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
    if (buf_puts(answer, content->valuestring) < 0) {
        error_set(err, LLMSYN_E_BACKEND, "openai backend: answer from %s is too long (%zu bytes)", where,
                  strlen(content->valuestring));
        goto out;
    }
    u = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (usage && cJSON_IsObject(u)) {
        usage->prompt_tokens = usage_count(u, "prompt_tokens");
        usage->completion_tokens = usage_count(u, "completion_tokens");
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

static int openai_complete(struct llm_backend *b, const struct llm_request *req, struct buf *answer,
                           struct llm_usage *usage, struct error *err)
{
    struct openai_state *st = b->state;
    const char *headers[2] = { st->auth, NULL };
    struct error herr;
    char *body = NULL;
    int rc = -1;

    if (usage)
        memset(usage, 0, sizeof *usage);
    if (!req || !req->prompt) {
        error_set(err, LLMSYN_E_INTERNAL, "openai backend: request has no prompt");
        goto out;
    }
    if (!(body = build_request(st, req))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    error_clear(&herr);
    if (http_post_json(st->http, st->url, headers, body, strlen(body), st->timeout_ms, &st->resp, &herr) < 0) {
        error_set(err, herr.code, "openai backend: %s", herr.msg);
        goto out;
    }
    if (st->resp.status < 200 || st->resp.status > 299) {
        report_status(st, &st->resp, err);
        goto out;
    }
    rc = parse_reply(st, &st->resp.body, answer, usage, err);
out:
    cJSON_free(body);
    if (st->resp.body.cap > OPENAI_KEEP_BODY)
        buf_free(&st->resp.body);
    return rc;
}

static void openai_state_free(struct openai_state *st)
{
    if (!st)
        return;
    http_client_free(&st->http);
    http_response_free(&st->resp);
    if (st->auth)
        explicit_bzero(st->auth, strlen(st->auth));
    free(st->auth);
    free(st->url);
    free(st->model);
    free(st);
}

static void openai_destroy(struct llm_backend *b)
{
    openai_state_free(b->state);
    b->state = NULL;
}

/* <base>/chat/completions from --llm-url (trailing slashes dropped; a base already ending in
 * /chat/completions is kept). Returns a malloc'd string, or NULL with err. */
static char *build_url(const char *base, struct error *err)
{
    size_t n = strlen(base), plen = strlen(OPENAI_PATH);
    char shown[256];
    char *url;

    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
        http_redact_url(base, shown, sizeof shown);
        error_set(err, LLMSYN_E_USAGE, "--llm-url '%s' must start with http:// or https://", shown);
        return NULL;
    }
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= plen && memcmp(base + n - plen, OPENAI_PATH, plen) == 0)
        plen = 0;
    if (!(url = malloc(n + plen + 1))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(url, base, n);
    memcpy(url + n, OPENAI_PATH, plen);
    url[n + plen] = '\0';
    return url;
}

/* "Authorization: Bearer <key>" into st->auth (none for a NULL or empty key). Returns 0 or -1 with err. */
static int set_auth(struct openai_state *st, const char *key, struct error *err)
{
    size_t plen = strlen(OPENAI_AUTH_PREFIX), klen;

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
    memcpy(st->auth, OPENAI_AUTH_PREFIX, plen);
    memcpy(st->auth + plen, key, klen + 1);
    return 0;
}

/* Checks the options and fills st (all but the HTTP client). Returns 0 or -1 with err. */
static int openai_configure(struct openai_state *st, const struct llmsyn_options *o, struct error *err)
{
    if (!o->model || !*o->model) {
        error_set(err, LLMSYN_E_USAGE, "--model is required for the openai backend");
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
    if (!(st->url = build_url(o->llm_url && *o->llm_url ? o->llm_url : OPENAI_DEFAULT_URL, err)))
        return -1;
    if (!(st->model = strdup(o->model))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        return -1;
    }
    st->temperature = o->temperature;
    st->max_tokens = o->max_tokens;
    st->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : OPENAI_DEFAULT_TIMEOUT_MS;
    return set_auth(st, o->api_key, err);
}

struct llm_backend *openai_backend_new(const struct llm_config *cfg, struct error *err)
{
    struct llm_backend *b = NULL;
    struct openai_state *st = NULL;

    if (!cfg || !cfg->opts) {
        error_set(err, LLMSYN_E_INTERNAL, "openai backend: no options");
        return NULL;
    }
    b = calloc(1, sizeof *b);
    st = calloc(1, sizeof *st);
    if (!b || !st) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    http_response_init(&st->resp);
    if (openai_configure(st, cfg->opts, err) < 0 || !(st->http = http_client_new(err)))
        goto fail;
    b->name = "openai";
    b->complete = openai_complete;
    b->destroy = openai_destroy;
    b->state = st;
    return b;
fail:
    openai_state_free(st);
    free(b);
    return NULL;
}
