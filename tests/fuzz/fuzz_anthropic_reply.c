/* fuzz_anthropic_reply.c - libFuzzer target: the Anthropic messages reply reader (static in
 * src/llm/anthropic.c, so that file is compiled into this target). */
#include "../../src/llm/anthropic.c"
#include "llm_reply_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct anthropic_state st = { .wire = { .url = (char *)(uintptr_t)FUZZ_URL } };
    char auth[] = ANTHROPIC_KEY_PREFIX FUZZ_SECRET;
    struct error err = { LLMSYN_OK, "" };
    struct llm_usage usage = { 0 };
    struct http_response r;
    struct buf answer = { 0 };

    if (size < 1 || fuzz_reply_init(&r, data, size) < 0)
        return 0;
    st.auth = auth;
    fuzz_reply_check(anthropic_reply(&st, &r, &answer, &usage, &err), &answer, &err);
    buf_free(&answer);
    http_response_free(&r);
    return 0;
}
