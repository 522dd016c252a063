/* fuzz_fhir_reply.c - libFuzzer target: the server-reply readers of net/fhir_client.h (transaction-response,
 * OperationOutcome text, CapabilityStatement check, Location header). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "net/fhir_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_text(const char *s, size_t len)
{
    struct error err = { LLMSYN_OK, "" };
    char type[64], id[128], ver[64], text[256];
    cJSON *oo = cJSON_ParseWithLength(s, len);

    fhir_outcome_text(oo, text, sizeof text);
    if (strlen(text) >= sizeof text)
        abort();
    cJSON_Delete(oo);
    if (fhir_check_capability(s, len, "transaction", "fuzz", &err) != 0 && err.code == LLMSYN_OK)
        abort();
    (void)fhir_status_code(s);
    (void)fhir_parse_location(s, type, sizeof type, id, sizeof id, ver, sizeof ver);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fhir_reply r;
    char *s;

    if (size < 1)
        return 0;
    /* the reply body as received: exactly len bytes, not NUL-terminated */
    fhir_read_reply(data[0] & 1 ? 200 : 400 + data[0] % 200, -1, (const char *)data + 1, size - 1, data[0] % 5, &r);
    if (!memchr(r.reason, '\0', sizeof r.reason))
        abort(); /* the reason is always NUL-terminated */
    s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    fuzz_text(s, size - 1);
    free(s);
    return 0;
}
