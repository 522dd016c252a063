/* llm_internal.h - what the HTTP model backends share: the disk cache, retries, rate limits, quoting. */
#ifndef LLM_INTERNAL_H
#define LLM_INTERNAL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "llm/backend.h"
#include "net/http.h"
#include "util/buf.h"
#include "util/error.h"

#define LLM_CACHE_KEY_HEX 65       /* 64 hex digits of SHA-256 and a NUL */
#define LLM_QUOTE_MAX 200          /* server text quoted in an error, in bytes */
#define LLM_BACKOFF_CAP_MS 30000L  /* longest computed backoff before jitter */
#define LLM_RETRY_AFTER_CAP_S 600L /* longest Retry-After honoured */

/* ---- disk cache (cache.c) ---- */

/* hex = SHA-256 of backend NUL endpoint NUL model NUL body (lowercase hex). The endpoint URL is part of
 * the key so two servers that serve the same model name never share answers; it is hashed, never stored.
 * Returns 0 or -1 (OpenSSL failed). */
int llm_cache_key(const char *backend, const char *endpoint, const char *model, const char *body, size_t len,
                  char hex[LLM_CACHE_KEY_HEX]);
/* Looks the key up in dir: 1 on a hit (answer appended, usage tokens filled), 0 on a miss or an
 * unreadable or malformed entry (treated as a miss), -1 when out of memory. */
int llm_cache_get(const char *dir, const char *hex, struct buf *answer, struct llm_usage *usage);
/* Stores answer and token counts under the key, atomically (unique temporary file, then rename).
 * Returns 0, or -1 with err (LLMSYN_E_OUTPUT). */
int llm_cache_put(const char *dir, const char *hex, const char *answer, size_t len, const struct llm_usage *usage,
                  struct error *err);

/* ---- retries and rate limits (retry.c) ---- */

/* Turns a received response into the answer: 0, or -1 with err. Called for every status. */
typedef int (*llm_reply_fn)(void *ctx, const struct http_response *resp, struct buf *answer,
                            struct llm_usage *usage, struct error *err);

/* One backend instance's transport: HTTP client, retry policy and cache. Not shared between threads. */
struct llm_wire {
    const char *backend;        /* cache-key backend name; static string */
    char *model;                /* owned; cache-key model name */
    char *url;                  /* owned; endpoint */
    struct http_client *http;   /* owned */
    struct http_response resp;  /* owned; reused between calls */
    long timeout_ms;            /* per attempt */
    unsigned max_retries;       /* attempts after the first */
    unsigned max_consecutive;   /* failed attempts in a row, process-wide, that stop the run; 0: off */
    long backoff_ms;            /* first backoff before jitter */
    char *cache_dir;            /* owned; NULL: no cache */
    unsigned seed;              /* jitter stream (timing only, never output) */
};

/* Fills w from the options (url is taken over), including the model server's TLS (o->llm_cacert, checked
 * readable here so a bad file is refused before any request, LLMSYN_E_INPUT; o->llm_insecure). A TLS
 * verification failure is never retried. Returns 0, or -1 with err (url freed). */
int llm_wire_init(struct llm_wire *w, const char *backend, const char *model, char *url,
                  const struct llmsyn_options *o, struct error *err);
void llm_wire_free(struct llm_wire *w);

/* Answers from the cache, or POSTs body to w->url with the headers (NULL-terminated, may hold the key),
 * retrying transport failures, 408/409/429/5xx and unparseable 2xx replies with exponential backoff and
 * jitter (Retry-After honoured), inside the process-wide --rpm/--tpm limits. usage gets tokens,
 * cache_hit, requests, retries and failures. Returns 0, or -1 with err (LLMSYN_E_BACKEND). */
int llm_wire_call(struct llm_wire *w, const char *const *headers, const char *body, llm_reply_fn reply,
                  void *ctx, struct buf *answer, struct llm_usage *usage, struct error *err);

/* Sets the process-wide limits (0: none); a change resets the buckets. Thread-safe. */
void llm_ratelimit_configure(double rpm, double tpm);
/* Milliseconds to wait before `tokens` more tokens and one more request fit (0: go now, debited). */
long llm_ratelimit_take(double tokens, long now_ms);
/* Corrects the token bucket once the real count is known (est was debited). */
void llm_ratelimit_settle(double est, double actual);
/* Makes every worker of the process wait until now + ms (a 429's Retry-After). */
void llm_ratelimit_pause(long now_ms, long ms);
/* Delay before retry `attempt` (1-based): base * 2^(attempt-1) capped, jittered into [d/2, d]; or the
 * server's Retry-After (seconds, capped) when >= 0. */
long llm_backoff_ms(long base_ms, unsigned attempt, long retry_after_s, unsigned *seed);
/* Resets the process-wide count of consecutive failed attempts (tests). */
void llm_failures_reset(void);

/* ---- structured output (structured.c) ---- */

/* The JSON schema of a step's answer: "reasoning" first, then one string per field and an array of
 * strings for the repeated field; all required, nothing else. Caller frees with cJSON_Delete; NULL when
 * out of memory. */
cJSON *llm_step_schema(const struct step_def *step);
/* Turns a JSON answer in that schema back into text the extractor reads: the reasoning, then
 * "Final Output:" and one "[FIELD]: value" line per value. Returns 0 (appended), 1 when json is not a
 * JSON object (nothing appended: the caller keeps the text as it came), -1 when out of memory. */
int llm_structured_to_text(const struct step_def *step, const char *json, struct buf *out);

/* ---- quoting server text in errors (openai.c) ---- */

/* Writes at most LLM_QUOTE_MAX bytes of text as one line with every occurrence of secret replaced by
 * "[redacted]" (control bytes become spaces; a cut falls on a UTF-8 boundary and ends in "..."). */
void llm_quote(const char *secret, const char *text, size_t len, char *out, size_t outlen);
/* base (http:// or https://, trailing slashes dropped) + path, unless base already ends in path
 * (path without query). Malloc'd; NULL with err (LLMSYN_E_USAGE names --llm-url, redacted). */
char *llm_join_url(const char *base, const char *path, struct error *err);
/* Appends "messages": [system (when with_system)], user prompt, and for a re-ask the previous answer
 * and the re-ask. Returns 0, or -1 when out of memory. */
int llm_add_messages(cJSON *root, const struct llm_request *req, int with_system);
/* The 64-bit request seed folded into 0..2^31-1: an exact JSON integer every server accepts. */
double llm_wire_seed(uint64_t seed);
/* A JSON string member of obj, or NULL. Borrowed. */
const char *llm_json_string(const cJSON *obj, const char *name);
/* A non-negative token count member of obj, or 0. */
uint64_t llm_json_count(const cJSON *obj, const char *name);

#endif
