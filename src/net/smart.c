/* smart.c - SMART Backend Services: a JWT client assertion signed with OpenSSL EVP, token discovery and caching. */
#include "net/smart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "llmsyn/llmsyn.h"
#include "util/buf.h"
#include "util/limits.h"

#define ASSERTION_TTL_S 300L
#define DEFAULT_SCOPE "system/*.write"
#define MAX_TOKEN_LEN 8192u
#define WAIT_MS 200L

struct smart {
    EVP_PKEY *key;           /* owned */
    const char *alg;         /* static: "RS384" or "ES384" */
    char *client_id, *kid, *scope; /* owned */
    char token_url[2048];    /* "" until discovered */
    char *token;             /* owned; the cached access token, or NULL */
    double expires_at;       /* monotonic seconds after which token is refreshed */
    unsigned requested;
};

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Which algorithm the key signs with. Returns "RS384", "ES384", or NULL with err. */
static const char *pick_alg(EVP_PKEY *key, const char *file, struct error *err)
{
    char group[64] = "";
    size_t glen = 0;

    if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(key) < 2048)
            return error_set(err, LLMSYN_E_USAGE, "--smart-key '%s': an RSA key needs at least 2048 bits", file), NULL;
        return "RS384";
    }
    if (EVP_PKEY_base_id(key) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &glen) == 1 &&
        (!strcmp(group, "secp384r1") || !strcmp(group, "P-384")))
        return "ES384";
    return error_set(err, LLMSYN_E_USAGE, "--smart-key '%s': not an RSA or EC P-384 private key (RS384/ES384)", file),
           NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct smart *smart_new(const struct smart_opts *o, struct error *err)
{
    struct smart *s = calloc(1, sizeof *s);
    FILE *f = NULL;

    if (!s)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), NULL;
    if (!o->client_id || !*o->client_id || !o->key_file || !o->kid || !*o->kid) {
        error_set(err, LLMSYN_E_USAGE, "SMART needs --smart-client-id, --smart-key and --smart-kid");
        goto fail;
    }
    if (!(f = fopen(o->key_file, "r"))) {
        error_set(err, LLMSYN_E_USAGE, "cannot open --smart-key '%s'", o->key_file);
        goto fail;
    }
    s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!s->key) {
        error_set(err, LLMSYN_E_USAGE, "--smart-key '%s' holds no PEM private key", o->key_file);
        goto fail;
    }
    if (!(s->alg = pick_alg(s->key, o->key_file, err)))
        goto fail;
    s->client_id = strdup(o->client_id);
    s->kid = strdup(o->kid);
    s->scope = dup_or_null(o->scope ? o->scope : DEFAULT_SCOPE);
    if (!s->client_id || !s->kid || !s->scope) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto fail;
    }
    return s;
fail:
    smart_free(&s);
    return NULL;
}

void smart_free(struct smart **sp)
{
    struct smart *s = sp ? *sp : NULL;

    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s->client_id);
    free(s->kid);
    free(s->scope);
    if (s->token)
        OPENSSL_cleanse(s->token, strlen(s->token));
    free(s->token);
    free(s);
    *sp = NULL;
}

const char *smart_alg(const struct smart *s)
{
    return s->alg;
}

unsigned smart_tokens_requested(const struct smart *s)
{
    return s->requested;
}

/* Appends base64url (no padding) of n bytes to b. Returns 0 or -1. */
static int put_b64url(struct buf *b, const unsigned char *p, size_t n)
{
    char *tmp = malloc(4 * ((n + 2) / 3) + 1);
    size_t i, len;
    int ret;

    if (!tmp || n > 1u << 20) {
        free(tmp);
        return -1;
    }
    len = (size_t)EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
    while (len > 0 && tmp[len - 1] == '=')
        len--;
    for (i = 0; i < len; i++)
        tmp[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
    ret = buf_append(b, tmp, len);
    free(tmp);
    return ret;
}

/* Appends base64url of a JSON object's compact text. Returns 0 or -1. */
static int put_json_b64url(struct buf *b, const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    int ret = text ? put_b64url(b, (const unsigned char *)text, strlen(text)) : -1;

    free(text);
    return ret;
}

/* An ECDSA DER signature as JOSE wants it: R || S, 48 bytes each. Returns 0 or -1. */
static int der_to_raw(const unsigned char *der, size_t len, unsigned char raw[96])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
    const BIGNUM *r = NULL, *s = NULL;
    int ok;

    if (!sig)
        return -1;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, 48) == 48 && BN_bn2binpad(s, raw + 48, 48) == 48;
    ECDSA_SIG_free(sig);
    return ok ? 0 : -1;
}

/* Signs the first n bytes of b (header.claims) with SHA-384 and appends "." and the signature. */
static int sign_append(const struct smart *s, struct buf *b)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL, raw[96];
    size_t siglen = 0;
    int ret = -1;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, s->key) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)b->data, b->len) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)b->data, b->len) != 1)
        goto out;
    if (buf_putc(b, '.') < 0)
        goto out;
    if (!strcmp(s->alg, "ES384"))
        ret = der_to_raw(sig, siglen, raw) < 0 ? -1 : put_b64url(b, raw, sizeof raw);
    else
        ret = put_b64url(b, sig, siglen);
out:
    free(sig);
    EVP_MD_CTX_free(ctx);
    return ret;
}

char *smart_assertion(const struct smart *s, const char *aud, long now, struct error *err)
{
    cJSON *hdr = cJSON_CreateObject(), *claims = cJSON_CreateObject();
    unsigned char rnd[16];
    char jti[33];
    struct buf b;
    size_t i;
    char *out = NULL;

    buf_init(&b, 64 << 10);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        error_set(err, LLMSYN_E_INTERNAL, "no random bytes for the JWT id");
        goto out;
    }
    for (i = 0; i < sizeof rnd; i++)
        snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
    if (!hdr || !claims || !cJSON_AddStringToObject(hdr, "alg", s->alg) || !cJSON_AddStringToObject(hdr, "kid", s->kid) ||
        !cJSON_AddStringToObject(hdr, "typ", "JWT") || !cJSON_AddStringToObject(claims, "iss", s->client_id) ||
        !cJSON_AddStringToObject(claims, "sub", s->client_id) || !cJSON_AddStringToObject(claims, "aud", aud) ||
        !cJSON_AddNumberToObject(claims, "exp", (double)(now + ASSERTION_TTL_S)) ||
        !cJSON_AddStringToObject(claims, "jti", jti) || put_json_b64url(&b, hdr) < 0 || buf_putc(&b, '.') < 0 ||
        put_json_b64url(&b, claims) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (sign_append(s, &b) < 0) {
        error_set(err, LLMSYN_E_INTERNAL, "cannot sign the SMART client assertion with %s", s->alg);
        goto out;
    }
    out = strdup(buf_str(&b));
out:
    cJSON_Delete(hdr);
    cJSON_Delete(claims);
    buf_free(&b);
    return out;
}

/* ---- the two HTTP exchanges, driven synchronously over the pool ---- */

struct fetch {
    int done, transport_failed;
    long status;
    char detail[256];
    struct buf body;
};

static void on_fetch(void *user, const struct http_request *req, const struct http_result *res)
{
    struct fetch *f = user;

    (void)req;
    f->done = 1;
    f->status = res->status;
    f->transport_failed = res->transport_failed;
    snprintf(f->detail, sizeof f->detail, "%s", res->detail ? res->detail : "");
    if (res->body && buf_append(&f->body, res->body, res->len) < 0)
        f->transport_failed = 1;
}

/* Runs one request to completion. Returns 0 (f filled, whatever the status) or -1 with err. */
static int fetch(struct http_multi *m, const struct http_request *req, struct fetch *f, struct error *err)
{
    if (http_multi_add(m, req, err) < 0)
        return -1;
    while (!f->done)
        if (http_multi_perform(m, WAIT_MS, on_fetch, f, err) < 0)
            return -1;
    return 0;
}

/* GET base/.well-known/smart-configuration; keeps token_endpoint. Returns 0 or -1 with err. */
static int discover(struct smart *s, struct http_multi *m, const char *base, struct error *err)
{
    char url[2200], where[2200];
    struct http_request req = { "GET", url, NULL, NULL, 0, NULL, NULL, NULL };
    struct fetch f = { 0 };
    cJSON *doc = NULL;
    const cJSON *te;
    int ret = -1;

    buf_init(&f.body, HTTP_MAX_RESPONSE);
    snprintf(url, sizeof url, "%s/.well-known/smart-configuration", base);
    http_redact_url(url, where, sizeof where);
    if (fetch(m, &req, &f, err) < 0)
        goto out;
    if (f.transport_failed || f.status != 200) {
        error_set(err, LLMSYN_E_UPLOAD, "SMART discovery: GET %s %s%s", where,
                  f.transport_failed ? "failed: " : "answered HTTP ", f.transport_failed ? f.detail : "");
        if (!f.transport_failed)
            snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg), "%ld", f.status);
        goto out;
    }
    doc = limits_json_parse(buf_str(&f.body), f.body.len, "SMART discovery reply", LLMSYN_E_UPLOAD, err);
    te = cJSON_GetObjectItemCaseSensitive(doc, "token_endpoint");
    if (!cJSON_IsString(te) || strncmp(te->valuestring, "http", 4) || strlen(te->valuestring) >= sizeof s->token_url) {
        error_set(err, LLMSYN_E_UPLOAD, "SMART discovery: %s has no http(s) token_endpoint", where);
        goto out;
    }
    memcpy(s->token_url, te->valuestring, strlen(te->valuestring) + 1);
    ret = 0;
out:
    cJSON_Delete(doc);
    buf_free(&f.body);
    return ret;
}

/* Percent-encodes s for a form body. Returns 0 or -1. */
static int put_form(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c);
        char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

        if ((plain ? buf_putc(b, (char)c) : buf_append(b, esc, 3)) < 0)
            return -1;
    }
    return 0;
}

/* The reason a token endpoint gave: "error: error_description" (both bounded), or "". */
static void token_error(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *doc = limits_json_too_deep(body, len, LIMIT_JSON_DEPTH) < 0 ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "error_description");

    snprintf(out, outlen, "%.64s%s%.200s", cJSON_IsString(e) ? e->valuestring : "",
             cJSON_IsString(e) && cJSON_IsString(d) ? ": " : "", cJSON_IsString(d) ? d->valuestring : "");
    cJSON_Delete(doc);
}

/* Reads access_token and expires_in from a 200 reply. Returns 0 or -1 with err. */
static int take_token(struct smart *s, const char *body, size_t len, const char *where, struct error *err)
{
    cJSON *doc = limits_json_parse(body, len, "SMART token reply", LLMSYN_E_UPLOAD, err);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(doc, "expires_in");
    double ttl = cJSON_IsNumber(exp) && exp->valuedouble > 0 && exp->valuedouble < 1e7 ? exp->valuedouble : 300;
    double margin = ttl / 5 < 60 ? ttl / 5 : 60;
    int ret = -1;

    if (!cJSON_IsString(tok) || !*tok->valuestring || strlen(tok->valuestring) > MAX_TOKEN_LEN ||
        strpbrk(tok->valuestring, "\r\n")) {
        error_set(err, LLMSYN_E_UPLOAD, "SMART token endpoint %s answered without a usable access_token", where);
        goto out;
    }
    if (s->token)
        OPENSSL_cleanse(s->token, strlen(s->token));
    free(s->token);
    if (!(s->token = strdup(tok->valuestring))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    s->expires_at = mono_s() + ttl - margin;
    ret = 0;
out:
    cJSON_Delete(doc);
    return ret;
}

/* POSTs the client_credentials grant. Returns 0 (token cached) or -1 with err. */
static int request_token(struct smart *s, struct http_multi *m, struct error *err)
{
    char *jwt = smart_assertion(s, s->token_url, (long)time(NULL), err);
    char where[2200], why[300];
    struct buf form;
    struct fetch f = { 0 };
    struct http_request req = { "POST", s->token_url, "application/x-www-form-urlencoded", NULL, 0, NULL, NULL, NULL };
    int ret = -1;

    buf_init(&form, 64 << 10);
    buf_init(&f.body, HTTP_MAX_RESPONSE);
    http_redact_url(s->token_url, where, sizeof where);
    if (!jwt)
        goto out;
    if (buf_puts(&form, "grant_type=client_credentials&scope=") < 0 || put_form(&form, s->scope) < 0 ||
        buf_puts(&form, "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                        "&client_assertion=") < 0 || buf_puts(&form, jwt) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    req.body = form.data;
    req.len = form.len;
    s->requested++;
    if (fetch(m, &req, &f, err) < 0)
        goto out;
    if (f.transport_failed) {
        error_set(err, LLMSYN_E_UPLOAD, "SMART token request to %s failed: %s", where, f.detail);
        goto out;
    }
    if (f.status != 200) {
        token_error(buf_str(&f.body), f.body.len, why, sizeof why);
        error_set(err, LLMSYN_E_UPLOAD, "SMART token endpoint %s refused the client assertion (HTTP %ld%s%s); "
                  "check --smart-client-id, --smart-kid and that --smart-key matches the registered public key",
                  where, f.status, *why ? ": " : "", why);
        goto out;
    }
    ret = take_token(s, buf_str(&f.body), f.body.len, where, err);
out:
    if (jwt)
        OPENSSL_cleanse(jwt, strlen(jwt));
    free(jwt);
    buf_free(&form);
    buf_free(&f.body);
    return ret;
}

const char *smart_token(struct smart *s, struct http_multi *m, const char *base, struct error *err)
{
    if (s->token && mono_s() < s->expires_at)
        return s->token;
    if (!s->token_url[0] && discover(s, m, base, err) < 0)
        return NULL;
    return request_token(s, m, err) < 0 ? NULL : s->token;
}
