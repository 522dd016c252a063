/* smart.h - SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384). */
#ifndef NET_SMART_H
#define NET_SMART_H

#include <stddef.h>

#include "net/http.h"
#include "util/error.h"

struct smart_opts {
    const char *client_id;   /* iss and sub of the assertion */
    const char *key_file;    /* PEM private key: RSA (>= 2048 bits, RS384) or EC P-384 (ES384) */
    const char *kid;         /* the key's id in the client's JWKS */
    const char *scope;       /* NULL: the default, "system/" "*.write" (all system-level writes) */
};

struct smart;

/* Loads the key and picks the algorithm. Returns a client (caller frees with smart_free), or NULL with
 * err (LLMSYN_E_USAGE naming the file; the key's bytes never appear). */
struct smart *smart_new(const struct smart_opts *o, struct error *err);
void smart_free(struct smart **s);

/* "RS384" or "ES384". */
const char *smart_alg(const struct smart *s);

/* Builds a signed assertion for token endpoint `aud` at unix time `now`: header {alg, kid, typ}, claims
 * iss = sub = client_id, aud, exp = now + 300, jti (128 random bits). Returns it (caller frees), or NULL. */
char *smart_assertion(const struct smart *s, const char *aud, long now, struct error *err);

/* The access token for FHIR base `base` (borrowed until the next call): discovers the token endpoint
 * from base/.well-known/smart-configuration on first use, then requests a token, cached until a fifth
 * of its lifetime (at most 60 s) is left. `m` is a pool with a free slot, driven here until done.
 * Returns NULL with err (LLMSYN_E_UPLOAD) on refusal; neither key nor token ever appears in err. */
const char *smart_token(struct smart *s, struct http_multi *m, const char *base, struct error *err);

/* Tokens requested so far. */
unsigned smart_tokens_requested(const struct smart *s);

#endif
