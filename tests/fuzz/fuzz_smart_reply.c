/* fuzz_smart_reply.c - libFuzzer target: the SMART token endpoint's reply (take_token, token_error: static in
 * src/net/smart.c, so that file is compiled into this target). */
#include "../../src/net/smart.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smart s = { 0 };
    struct error err = { LLMSYN_OK, "" };
    char reason[300];

    /* the body as received: exactly size bytes, not NUL-terminated */
    if (take_token(&s, (const char *)data, size, "https://auth.example.test/token", &err) == 0) {
        if (!s.token || !*s.token || strlen(s.token) > MAX_TOKEN_LEN || strpbrk(s.token, "\r\n"))
            abort(); /* only a usable token is kept */
    } else if (err.code == LLMSYN_OK || s.token) {
        abort();
    }
    token_error((const char *)data, size, reason, sizeof reason);
    if (strlen(reason) > 64 + 2 + 200)
        abort();
    free(s.token);
    return 0;
}
