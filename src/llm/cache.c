/* cache.c - disk cache of model answers keyed by SHA-256 of (backend, endpoint, model, request body). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llm/llm_internal.h"
#include "util/limits.h"

#define CACHE_ENTRY_MAX ((size_t)16 << 20) /* a stored entry larger than this is ignored */
#define CACHE_SUBDIR "llmsyn-fhir"

int llmsyn_default_cache_dir(char *out, size_t n)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int len;

    if (xdg && xdg[0] == '/')
        len = snprintf(out, n, "%s/" CACHE_SUBDIR, xdg);
    else if (home && *home)
        len = snprintf(out, n, "%s/.cache/" CACHE_SUBDIR, home);
    else
        return -1;
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int llm_cache_key(const char *backend, const char *endpoint, const char *model, const char *body, size_t len,
                  char hex[LLM_CACHE_KEY_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -1;

    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, backend, strlen(backend) + 1) != 1 ||
        EVP_DigestUpdate(ctx, endpoint, strlen(endpoint) + 1) != 1 ||
        EVP_DigestUpdate(ctx, model, strlen(model) + 1) != 1 || EVP_DigestUpdate(ctx, body, len) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (i = 0; i < mdlen; i++) {
        hex[2 * (size_t)i] = digits[md[i] >> 4];
        hex[2 * (size_t)i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* "<dir>/<hex[0..1]>/<hex>.json" (sub = 0) or the subfolder (sub = 1). 0, or -1 when it does not fit. */
static int entry_path(const char *dir, const char *hex, int sub, char *out, size_t n)
{
    int len = sub ? snprintf(out, n, "%s/%.2s", dir, hex) : snprintf(out, n, "%s/%.2s/%s.json", dir, hex, hex);

    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Reads a whole small file into b. 0, or -1 (missing, unreadable, over CACHE_ENTRY_MAX, no memory). */
static int read_small(const char *path, struct buf *b)
{
    char chunk[8192];
    FILE *fp = fopen(path, "rb");
    size_t n;
    int rc = 0;

    if (!fp)
        return -1;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (b->len + n > CACHE_ENTRY_MAX || buf_append(b, chunk, n) < 0) {
            rc = -1;
            break;
        }
    if (ferror(fp))
        rc = -1;
    fclose(fp);
    return rc;
}

int llm_cache_get(const char *dir, const char *hex, struct buf *answer, struct llm_usage *usage)
{
    char path[4096];
    struct buf raw;
    cJSON *root = NULL;
    const cJSON *a;
    int rc = 0;

    buf_init(&raw, CACHE_ENTRY_MAX);
    if (!dir || entry_path(dir, hex, 0, path, sizeof path) < 0 || read_small(path, &raw) < 0 || raw.len == 0)
        goto out;
    if (limits_json_too_deep(raw.data, raw.len, LIMIT_JSON_DEPTH) >= 0)
        goto out; /* not an entry we wrote: a miss */
    root = cJSON_ParseWithLength(raw.data, raw.len);
    a = cJSON_GetObjectItemCaseSensitive(root, "answer");
    if (!cJSON_IsString(a) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "key")) ||
        strcmp(cJSON_GetObjectItemCaseSensitive(root, "key")->valuestring, hex) != 0)
        goto out;
    if (buf_puts(answer, a->valuestring) < 0) {
        rc = -1;
        goto out;
    }
    if (usage) {
        usage->prompt_tokens = llm_json_count(root, "prompt_tokens");
        usage->completion_tokens = llm_json_count(root, "completion_tokens");
    }
    rc = 1;
out:
    cJSON_Delete(root);
    buf_free(&raw);
    return rc;
}

/* The entry's JSON text, or NULL when out of memory. Caller frees with cJSON_free. */
static char *entry_json(const char *hex, const char *answer, size_t len, const struct llm_usage *usage)
{
    cJSON *root = cJSON_CreateObject();
    char *copy = malloc(len + 1), *text = NULL;

    if (!root || !copy)
        goto out;
    memcpy(copy, answer, len);
    copy[len] = '\0';
    if (!cJSON_AddStringToObject(root, "key", hex) || !cJSON_AddStringToObject(root, "answer", copy) ||
        !cJSON_AddNumberToObject(root, "prompt_tokens", usage ? (double)usage->prompt_tokens : 0) ||
        !cJSON_AddNumberToObject(root, "completion_tokens", usage ? (double)usage->completion_tokens : 0))
        goto out;
    text = cJSON_PrintUnformatted(root);
out:
    free(copy);
    cJSON_Delete(root);
    return text;
}

/* Creates dir and its parents (mode 0700: answers may be private). 0 or -1 with errno. */
static int mkdirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir), i;

    if (n == 0 || n >= sizeof path)
        return errno = ENAMETOOLONG, -1;
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        path[i] = i == n ? '\0' : '/';
    }
    return 0;
}

/* Writes data to a unique temporary file in sub and renames it to path. 0 or -1 with errno. */
static int write_atomic(const char *sub, const char *path, const char *data, size_t len)
{
    char tmp[4200];
    int fd, saved;
    size_t done = 0;
    ssize_t w;

    if (snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", sub) >= (int)sizeof tmp)
        return errno = ENAMETOOLONG, -1;
    if ((fd = mkstemp(tmp)) < 0)
        return -1;
    while (done < len) {
        w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        done += (size_t)w;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) == 0)
        return 0;
    fd = -1;
fail:
    saved = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
}

int llm_cache_put(const char *dir, const char *hex, const char *answer, size_t len, const struct llm_usage *usage,
                  struct error *err)
{
    char sub[4096], path[4096];
    char *text = NULL;
    int rc = -1;

    if (!dir || entry_path(dir, hex, 1, sub, sizeof sub) < 0 || entry_path(dir, hex, 0, path, sizeof path) < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cache folder path is too long");
        goto out;
    }
    if (!(text = entry_json(hex, answer, len, usage))) {
        error_set(err, LLMSYN_E_NOMEM, "out of memory");
        goto out;
    }
    if (mkdirs(sub) < 0 || write_atomic(sub, path, text, strlen(text)) < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot write cache entry '%s': %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    cJSON_free(text);
    return rc;
}
