/* test_smart.c - the SMART client assertion: header, claims and an RS384/ES384 signature OpenSSL verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "net/smart.h"

#define AUD "https://fhir.example.org/auth/token"

/* Writes a PEM private key to a temporary file; returns its path (caller unlinks and frees). */
static char *write_key(EVP_PKEY *key)
{
    char *path = strdup("/tmp/test_smart_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    return path;
}

/* Decodes base64url (no padding) into a NUL-terminated buffer; *n gets the length. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *n)
{
    size_t padded = (len + 3) / 4 * 4, i;
    char *tmp = calloc(padded + 1, 1);
    unsigned char *out = calloc(padded + 1, 1);
    int got;

    for (i = 0; i < len; i++)
        tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    for (; i < padded; i++)
        tmp[i] = '=';
    got = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
    assert_true(got >= 0);
    *n = (size_t)got - (padded - len);
    free(tmp);
    return out;
}

/* Raw R||S (48 + 48) to DER, for EVP_DigestVerify. */
static unsigned char *raw_to_der(const unsigned char *raw, size_t *derlen)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    unsigned char *der = NULL;
    int n;

    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(raw, 48, NULL), BN_bin2bn(raw + 48, 48, NULL)), 1);
    n = i2d_ECDSA_SIG(sig, &der);
    assert_true(n > 0);
    *derlen = (size_t)n;
    ECDSA_SIG_free(sig);
    return der;
}

/* Checks one assertion made with key: header, claims and signature. Returns the jti (caller frees). */
static char *check_assertion(EVP_PKEY *key, const char *jwt, const char *alg)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    size_t n = 0, slen = 0, dlen = 0;
    unsigned char *hdr, *claims, *sig, *der = NULL;
    cJSON *h, *c;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char *jti;

    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strpbrk(jwt, "+/="));
    hdr = b64url_decode(jwt, (size_t)(dot1 - jwt), &n);
    claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
    h = cJSON_Parse((char *)hdr);
    c = cJSON_Parse((char *)claims);
    assert_string_equal(cJSON_GetObjectItem(h, "alg")->valuestring, alg);
    assert_string_equal(cJSON_GetObjectItem(h, "kid")->valuestring, "kid-7");
    assert_string_equal(cJSON_GetObjectItem(h, "typ")->valuestring, "JWT");
    assert_string_equal(cJSON_GetObjectItem(c, "iss")->valuestring, "client-9");
    assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring, "client-9");
    assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring, AUD);
    assert_true(cJSON_GetObjectItem(c, "exp")->valuedouble == 1700000000.0 + 300);
    jti = strdup(cJSON_GetObjectItem(c, "jti")->valuestring);
    assert_int_equal(strlen(jti), 32);
    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &slen);
    if (!strcmp(alg, "ES384")) {
        assert_int_equal(slen, 96);
        der = raw_to_der(sig, &dlen);
    }
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(ctx, der ? der : sig, der ? dlen : slen, (const unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)), 1);
    /* a changed claim no longer verifies */
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key), 1);
    assert_int_not_equal(EVP_DigestVerify(ctx, der ? der : sig, der ? dlen : slen, (const unsigned char *)jwt,
                                          (size_t)(dot2 - jwt) - 1), 1);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    cJSON_Delete(h);
    cJSON_Delete(c);
    free(hdr);
    free(claims);
    free(sig);
    return jti;
}

static void run_key(EVP_PKEY *key, const char *alg)
{
    char *path = write_key(key), *a1, *a2, *j1, *j2;
    struct smart_opts o = { "client-9", path, "kid-7", NULL };
    struct error err = { 0 };
    struct smart *s = smart_new(&o, &err);

    assert_non_null(s);
    assert_string_equal(smart_alg(s), alg);
    a1 = smart_assertion(s, AUD, 1700000000L, &err);
    a2 = smart_assertion(s, AUD, 1700000000L, &err);
    assert_non_null(a1);
    assert_non_null(a2);
    j1 = check_assertion(key, a1, alg);
    j2 = check_assertion(key, a2, alg);
    assert_string_not_equal(j1, j2); /* jti is random */
    smart_free(&s);
    assert_null(s);
    unlink(path);
    free(path);
    free(a1);
    free(a2);
    free(j1);
    free(j2);
}

static void test_rs384(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

    (void)state;
    assert_non_null(key);
    run_key(key, "RS384");
    EVP_PKEY_free(key);
}

static void test_es384(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

    (void)state;
    assert_non_null(key);
    run_key(key, "ES384");
    EVP_PKEY_free(key);
}

static void test_refused_keys(void **state)
{
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    char *path = write_key(p256);
    struct smart_opts o = { "client-9", path, "kid-7", NULL };
    struct error err = { 0 };

    (void)state;
    assert_null(smart_new(&o, &err));
    assert_non_null(strstr(err.msg, "not an RSA or EC P-384 private key"));
    memset(&err, 0, sizeof err);
    o.key_file = "/nonexistent/key.pem";
    assert_null(smart_new(&o, &err));
    assert_non_null(strstr(err.msg, "cannot open --smart-key"));
    memset(&err, 0, sizeof err);
    o.key_file = path;
    o.kid = NULL;
    assert_null(smart_new(&o, &err));
    assert_non_null(strstr(err.msg, "--smart-kid"));
    unlink(path);
    free(path);
    EVP_PKEY_free(p256);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs384),
        cmocka_unit_test(test_es384),
        cmocka_unit_test(test_refused_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
