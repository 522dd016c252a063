/* fuzz_ollama_reply.c - libFuzzer target: the native Ollama /api/chat reply reader (static in
 * src/llm/ollama.c, so that file is compiled into this target). */
#include "../../src/llm/ollama.c"
#include "llm_reply_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ollama_state st = { .wire = { .url = (char *)(uintptr_t)FUZZ_URL } };
    char auth[] = OLLAMA_AUTH_PREFIX FUZZ_SECRET;
    struct error err = { LLMSYN_OK, "" };
    struct llm_usage usage = { 0 };
    struct http_response r;
    struct buf answer = { 0 };

    if (size < 1 || fuzz_reply_init(&r, data, size) < 0)
        return 0;
    st.auth = auth;
    st.structured = data[0] >> 7;
    st.step = &step_table[data[0] % step_count];
    fuzz_reply_check(ollama_reply(&st, &r, &answer, &usage, &err), &answer, &err);
    buf_free(&answer);
    http_response_free(&r);
    return 0;
}
