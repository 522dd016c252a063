/* ids.c - deterministic resource ids: UUIDv5 (SHA-1, RFC 4122) of "<seed>/<index>/<resource>/<n>". */
#include <inttypes.h>
#include <stdio.h>
#include <uuid/uuid.h>

#include "fhir/bundle.h"

/* The project's own namespace for resource ids (chosen once at random; never change it:
 * every id ever written depends on it). Documented in docs/fhir-mapping.md. */
static const uuid_t llmsyn_namespace = {
    0x73, 0x36, 0xde, 0x9a, 0x77, 0x07, 0x44, 0x3e, 0x9e, 0xa6, 0x68, 0xa9, 0x5e, 0xb1, 0xe1, 0x8f,
};

void fhir_resource_id(uint64_t seed, uint64_t index, const char *resource, unsigned n, char out[37])
{
    char name[256]; /* resource is a FHIR type name; longer names hash their first ~200 bytes */
    int len;
    uuid_t u;

    len = snprintf(name, sizeof name, "%" PRIu64 "/%" PRIu64 "/%s/%u", seed, index, resource ? resource : "", n);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof name)
        len = (int)sizeof name - 1;
    uuid_generate_sha1(u, llmsyn_namespace, name, (size_t)len);
    uuid_unparse_lower(u, out);
}
