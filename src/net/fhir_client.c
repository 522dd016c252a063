/* fhir_client.c - reads FHIR servers' replies (statuses, Location, OperationOutcome) and rewrites bundles. */
#include "net/fhir_client.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/limits.h"

#define MAX_REASON_ISSUES 3

int fhir_status_code(const char *status)
{
    if (!status || !isdigit((unsigned char)status[0]) || !isdigit((unsigned char)status[1]) ||
        !isdigit((unsigned char)status[2]) || isdigit((unsigned char)status[3]))
        return -1;
    return (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
}

/* Copies n bytes of s into out (size outlen) when they fit. Returns 0 or -1. */
static int copy_span(char *out, size_t outlen, const char *s, size_t n)
{
    if (!out || outlen == 0 || n >= outlen)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A FHIR resource type: an upper-case letter then letters. */
static int is_type(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 64 || !isupper((unsigned char)s[0]))
        return 0;
    for (i = 1; i < n; i++)
        if (!isalpha((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A FHIR id: [A-Za-z0-9-.]{1,64}. */
static int is_id(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

int fhir_parse_location(const char *loc, char *type, size_t tlen, char *id, size_t ilen, char *ver, size_t vlen)
{
    const char *seg[64];
    size_t seglen[64], n = 0, end, i, t;
    const char *p;

    if (type && tlen) type[0] = '\0';
    if (id && ilen) id[0] = '\0';
    if (ver && vlen) ver[0] = '\0';
    if (!loc)
        return -1;
    end = strcspn(loc, "?#");
    for (p = loc; p < loc + end && n < 64;) {
        size_t len = strcspn(p, "/?#");

        if (p + len > loc + end)
            len = (size_t)(loc + end - p);
        seg[n] = p;
        seglen[n++] = len;
        p += len + 1;
    }
    t = n;
    for (i = 0; i < n; i++)
        if (seglen[i] == 8 && !memcmp(seg[i], "_history", 8))
            t = i;
    if (t < 2 || (t < n && t + 1 >= n) || !is_type(seg[t - 2], seglen[t - 2]) || !is_id(seg[t - 1], seglen[t - 1]))
        return -1;
    if (copy_span(type, tlen, seg[t - 2], seglen[t - 2]) < 0 || copy_span(id, ilen, seg[t - 1], seglen[t - 1]) < 0)
        return -1;
    if (t < n && (!is_id(seg[t + 1], seglen[t + 1]) || copy_span(ver, vlen, seg[t + 1], seglen[t + 1]) < 0))
        return -1;
    return 0;
}

/* A string member, or NULL. */
static const char *str_of(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* Appends s to out (size outlen, *used so far), truncating at the end. */
static void add(char *out, size_t outlen, size_t *used, const char *s)
{
    size_t n = strlen(s);

    if (*used >= outlen - 1)
        return;
    if (n > outlen - 1 - *used)
        n = outlen - 1 - *used;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

/* One issue as "error invalid: text (at expr)". */
static void issue_text(const cJSON *issue, char *out, size_t outlen, size_t *used)
{
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(issue, "details");
    const cJSON *expr = cJSON_GetObjectItemCaseSensitive(issue, "expression");
    const char *text = str_of(issue, "diagnostics");
    const char *sev = str_of(issue, "severity"), *code = str_of(issue, "code");

    if (!text)
        text = str_of(details, "text");
    if (!expr || !cJSON_IsArray(expr))
        expr = cJSON_GetObjectItemCaseSensitive(issue, "location");
    add(out, outlen, used, sev ? sev : "error");
    add(out, outlen, used, " ");
    add(out, outlen, used, code ? code : "unknown");
    if (text) {
        add(out, outlen, used, ": ");
        add(out, outlen, used, text);
    }
    if (cJSON_IsArray(expr) && cJSON_IsString(cJSON_GetArrayItem(expr, 0))) {
        add(out, outlen, used, " (at ");
        add(out, outlen, used, cJSON_GetArrayItem(expr, 0)->valuestring);
        add(out, outlen, used, ")");
    }
}

void fhir_outcome_text(const cJSON *oo, char *out, size_t outlen)
{
    const cJSON *issues, *issue;
    size_t used = 0;
    int n = 0;

    if (!out || outlen == 0)
        return;
    out[0] = '\0';
    if (!cJSON_IsObject(oo) || !str_of(oo, "resourceType") || strcmp(str_of(oo, "resourceType"), "OperationOutcome"))
        return;
    issues = cJSON_GetObjectItemCaseSensitive(oo, "issue");
    cJSON_ArrayForEach(issue, issues) {
        if (!cJSON_IsObject(issue))
            continue;
        if (n == MAX_REASON_ISSUES) {
            add(out, outlen, &used, "; ...");
            break;
        }
        if (n++)
            add(out, outlen, &used, "; ");
        issue_text(issue, out, outlen, &used);
    }
}

static int transient_status(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/* A non-2xx reply: retry or fail, with the OperationOutcome (if any) as the reason. */
static void read_error_reply(long status, const cJSON *root, struct fhir_reply *out)
{
    char oo[400];

    fhir_outcome_text(root, oo, sizeof oo);
    out->kind = transient_status(status) ? FHIR_REPLY_RETRY : FHIR_REPLY_FAILED;
    out->auth_refused = status == 401 || status == 403;
    if (out->auth_refused)
        snprintf(out->reason, sizeof out->reason, "the server refused the credentials (HTTP %ld)%s%s", status,
                 oo[0] ? ": " : "", oo);
    else
        snprintf(out->reason, sizeof out->reason, "HTTP %ld%s%s", status, oo[0] ? ": " : "",
                 oo[0] ? oo : (root ? "" : " with no OperationOutcome"));
}

/* Reads one response entry; records the first failure into out->reason. */
static void read_entry(const cJSON *entry, unsigned index, struct fhir_reply *out, int *transient)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(entry, "response");
    const char *loc = str_of(resp, "location");
    int code = fhir_status_code(str_of(resp, "status"));
    char oo[300], type[65], id[65], ver[65];

    if (code >= 200 && code < 300 && (!loc || fhir_parse_location(loc, type, sizeof type, id, sizeof id, ver,
                                                                    sizeof ver) == 0)) {
        if (code == 201)
            out->created++;
        else
            out->updated++;
        return;
    }
    out->failed_entries++;
    if (code < 0 || transient_status(code))
        *transient = 1;
    if (out->failed_entries > 1)
        return;
    fhir_outcome_text(cJSON_GetObjectItemCaseSensitive(resp, "outcome"), oo, sizeof oo);
    if (code >= 200 && code < 300)
        snprintf(oo, sizeof oo, "unreadable location");
    snprintf(out->reason, sizeof out->reason, "entry %u: status %d%s%s", index, code, oo[0] ? ": " : "", oo);
}

/* A 2xx reply: a transaction-response or batch-response with one response per entry sent. */
static void read_bundle_reply(const cJSON *root, unsigned sent, struct fhir_reply *out)
{
    const char *rt = str_of(root, "resourceType"), *type = str_of(root, "type");
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry"), *e;
    int transient = 0;

    if (!rt || strcmp(rt, "Bundle") || !type || (strcmp(type, "transaction-response") && strcmp(type, "batch-response"))
        || !cJSON_IsArray(entries)) {
        out->kind = FHIR_REPLY_RETRY;
        snprintf(out->reason, sizeof out->reason, "reply is not a transaction-response or batch-response bundle");
        return;
    }
    cJSON_ArrayForEach(e, entries)
        read_entry(e, out->entries++, out, &transient);
    if (sent && out->entries != sent) {
        out->kind = FHIR_REPLY_FAILED;
        snprintf(out->reason, sizeof out->reason, "reply has %u entries for the %u sent", out->entries, sent);
        return;
    }
    if (out->failed_entries)
        out->kind = transient ? FHIR_REPLY_RETRY : FHIR_REPLY_FAILED;
}

void fhir_read_reply(long http_status, long retry_after_s, const char *body, size_t len, unsigned sent_entries,
                     struct fhir_reply *out)
{
    cJSON *root = NULL;

    memset(out, 0, sizeof *out);
    out->retry_after_s = retry_after_s;
    if (body && len && limits_json_too_deep(body, len, LIMIT_JSON_DEPTH) < 0)
        root = cJSON_ParseWithLength(body, len);
    if (http_status < 200 || http_status >= 300)
        read_error_reply(http_status, root, out);
    else if (!root && body && len && limits_json_too_deep(body, len, LIMIT_JSON_DEPTH) >= 0) {
        out->kind = FHIR_REPLY_RETRY;
        snprintf(out->reason, sizeof out->reason, "HTTP %ld with a body that nests deeper than LIMIT_JSON_DEPTH "
                 "(%d levels)", http_status, LIMIT_JSON_DEPTH);
    } else if (!root) {
        out->kind = FHIR_REPLY_RETRY;
        snprintf(out->reason, sizeof out->reason, "HTTP %ld with a body that is not JSON", http_status);
    } else
        read_bundle_reply(root, sent_entries, out);
    cJSON_Delete(root);
}

/* Whether rest[].interaction[] lists `code`. */
static int has_interaction(const cJSON *root, const char *code)
{
    const cJSON *rest, *r, *it;

    rest = cJSON_GetObjectItemCaseSensitive(root, "rest");
    cJSON_ArrayForEach(r, rest) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r, "interaction")) {
            const char *c = str_of(it, "code");

            if (c && !strcmp(c, code))
                return 1;
        }
    }
    return 0;
}

int fhir_check_capability(const char *body, size_t len, const char *need, const char *where, struct error *err)
{
    cJSON *root = body && len ? limits_json_parse(body, len, "the /metadata reply", LLMSYN_E_UPLOAD, err) : NULL;
    const char *rt = str_of(root, "resourceType"), *ver = str_of(root, "fhirVersion");
    int ret = -1;

    if (!rt || strcmp(rt, "CapabilityStatement"))
        error_set(err, LLMSYN_E_UPLOAD, "%s/metadata did not return a CapabilityStatement (is the URL a FHIR base?)",
                  where);
    else if (!ver || strncmp(ver, "4.0.", 4))
        error_set(err, LLMSYN_E_UPLOAD, "%s speaks FHIR %.20s, not R4 (4.0.x)", where, ver ? ver : "(no fhirVersion)");
    else if (need && !has_interaction(root, need))
        error_set(err, LLMSYN_E_UPLOAD, "%s does not declare the '%s' interaction (use --no-preflight to post anyway)",
                  where, need);
    else
        ret = 0;
    cJSON_Delete(root);
    return ret;
}

/* Replaces every reference string found in `map` (fullUrl -> Type/id pairs) under node. */
static void rewrite_refs(cJSON *node, const cJSON *map)
{
    cJSON *child;

    if (cJSON_IsObject(node)) {
        cJSON *ref = cJSON_GetObjectItemCaseSensitive(node, "reference");
        const char *to = NULL;

        if (cJSON_IsString(ref) && ref->valuestring && !strncmp(ref->valuestring, "urn:uuid:", 9))
            to = str_of(map, ref->valuestring);
        if (to)
            cJSON_ReplaceItemInObjectCaseSensitive(node, "reference", cJSON_CreateString(to));
    }
    cJSON_ArrayForEach(child, node)
        if (cJSON_IsObject(child) || cJSON_IsArray(child))
            rewrite_refs(child, map);
}

/* Collects fullUrl -> request.url of PUT entries. Returns 0, or -1 when memory ran out. */
static int collect_put_targets(const cJSON *entries, cJSON *map)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, entries) {
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request");
        const char *full = str_of(e, "fullUrl"), *method = str_of(req, "method"), *url = str_of(req, "url");
        char type[65], id[65];

        if (!full || !method || !url || strcmp(method, "PUT") || strncmp(full, "urn:uuid:", 9) ||
            fhir_parse_location(url, type, sizeof type, id, sizeof id, NULL, 0) < 0)
            continue;
        if (!cJSON_AddStringToObject(map, full, url))
            return -1;
    }
    return 0;
}

/* Whether any reference under node is still a urn:uuid. */
static const char *find_urn(const cJSON *node)
{
    const cJSON *child;
    const char *ref = cJSON_IsObject(node) ? str_of(node, "reference") : NULL;

    if (ref && !strncmp(ref, "urn:uuid:", 9))
        return ref;
    cJSON_ArrayForEach(child, node) {
        const char *r = (cJSON_IsObject(child) || cJSON_IsArray(child)) ? find_urn(child) : NULL;

        if (r)
            return r;
    }
    return NULL;
}

int fhir_bundle_to_batch(cJSON *bundle, struct error *err)
{
    cJSON *entries = cJSON_GetObjectItemCaseSensitive(bundle, "entry"), *map = cJSON_CreateObject(), *e;
    const char *left = NULL;
    int ret = -1;

    if (!map || collect_put_targets(entries, map) < 0) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(e, entries) {
        rewrite_refs(cJSON_GetObjectItemCaseSensitive(e, "resource"), map);
        if (!left)
            left = find_urn(cJSON_GetObjectItemCaseSensitive(e, "resource"));
    }
    if (left) {
        error_set(err, LLMSYN_E_INPUT, "reference %.60s names no PUT Type/id entry, so it cannot travel in a batch", left);
        goto out;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(bundle, "type", cJSON_CreateString("batch"));
    ret = 0;
out:
    cJSON_Delete(map);
    return ret;
}

/* Appends %XX-escaped s to out (size outlen, *used so far); returns -1 when it does not fit. */
static int put_escaped(char *out, size_t outlen, size_t *used, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = isalnum(c) || strchr("-._~:", c);

        if (*used + (plain ? 1 : 3) >= outlen)
            return -1;
        if (plain) {
            out[(*used)++] = (char)c;
        } else {
            out[(*used)++] = '%';
            out[(*used)++] = hex[c >> 4];
            out[(*used)++] = hex[c & 15];
        }
    }
    out[*used] = '\0';
    return 0;
}

/* The identifier to condition on: the first with system and value, or a new urn:llmsyn-fhir:id one. */
static const cJSON *condition_identifier(cJSON *res, const char *id)
{
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(res, "identifier"), *it, *mine;

    cJSON_ArrayForEach(it, ids)
        if (str_of(it, "system") && str_of(it, "value"))
            return it;
    if (!ids && !(ids = cJSON_AddArrayToObject(res, "identifier")))
        return NULL;
    if (!cJSON_IsArray(ids) || !(mine = cJSON_CreateObject()))
        return NULL;
    cJSON_AddItemToArray(ids, mine);
    if (!cJSON_AddStringToObject(mine, "system", FHIR_ID_SYSTEM) || !cJSON_AddStringToObject(mine, "value", id))
        return NULL;
    return mine;
}

/* Rewrites one PUT entry. Returns 0 (also for entries left alone) or -1 with err. */
static int entry_to_conditional(cJSON *e, unsigned index, struct error *err)
{
    cJSON *req = cJSON_GetObjectItemCaseSensitive(e, "request"), *res = cJSON_GetObjectItemCaseSensitive(e, "resource");
    const char *method = str_of(req, "method"), *url = str_of(req, "url");
    char type[65], id[65], cond[512];
    const cJSON *ident;
    size_t used = 0;

    if (!method || strcmp(method, "PUT") || !cJSON_IsObject(res))
        return 0;
    if (!url || fhir_parse_location(url, type, sizeof type, id, sizeof id, NULL, 0) < 0)
        return error_set(err, LLMSYN_E_INPUT, "entry %u: request.url is not Type/id", index), -1;
    if (!(ident = condition_identifier(res, id)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    memcpy(cond, "identifier=", 11);
    used = 11;
    if (put_escaped(cond, sizeof cond, &used, str_of(ident, "system")) < 0 || used + 1 >= sizeof cond)
        return error_set(err, LLMSYN_E_INPUT, "entry %u: identifier too long", index), -1;
    cond[used++] = '|';
    if (put_escaped(cond, sizeof cond, &used, str_of(ident, "value")) < 0)
        return error_set(err, LLMSYN_E_INPUT, "entry %u: identifier too long", index), -1;
    cJSON_DeleteItemFromObjectCaseSensitive(res, "id");
    cJSON_ReplaceItemInObjectCaseSensitive(req, "method", cJSON_CreateString("POST"));
    cJSON_ReplaceItemInObjectCaseSensitive(req, "url", cJSON_CreateString(type));
    cJSON_DeleteItemFromObjectCaseSensitive(req, "ifNoneExist");
    if (!cJSON_AddStringToObject(req, "ifNoneExist", cond))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    return 0;
}

int fhir_bundle_to_conditional(cJSON *bundle, struct error *err)
{
    cJSON *e;
    unsigned i = 0;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(bundle, "entry"))
        if (entry_to_conditional(e, i++, err) < 0)
            return -1;
    return 0;
}
