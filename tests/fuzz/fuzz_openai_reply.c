/* fuzz_openai_reply.c - libFuzzer target: the OpenAI-compatible chat-completions reply reader (static in
 * src/llm/openai.c, so that file is compiled into this target). */
#include "../../src/llm/openai.c"
#include "llm_reply_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct openai_state st = { .name = "openai", .url = (char *)(uintptr_t)FUZZ_URL };
    char auth[] = OPENAI_AUTH_PREFIX FUZZ_SECRET;
    struct error err = { LLMSYN_OK, "" };
    struct llm_usage usage = { 0 };
    struct http_response r;
    struct buf answer = { 0 };

    if (size < 1 || fuzz_reply_init(&r, data, size) < 0)
        return 0;
    st.auth = auth;
    st.auth_prefix = strlen(OPENAI_AUTH_PREFIX);
    st.structured = data[0] >> 7;
    st.step = &step_table[data[0] % step_count];
    fuzz_reply_check(openai_reply(&st, &r, &answer, &usage, &err), &answer, &err);
    buf_free(&answer);
    http_response_free(&r);
    return 0;
}
