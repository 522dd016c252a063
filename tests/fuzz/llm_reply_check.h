/* llm_reply_check.h - shared by the model-reply fuzz targets: builds the reply and checks the secret never leaks. */
#ifndef FUZZ_LLM_REPLY_CHECK_H
#define FUZZ_LLM_REPLY_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SECRET "sk-fuzz-7Qx9SECRET"
#define FUZZ_URL "https://user:pw@api.example.test/v1/chat?key=" FUZZ_SECRET

/* Status from the first byte (2xx for half the inputs), body from the rest, NUL-terminated in a buf. */
static int fuzz_reply_init(struct http_response *r, const uint8_t *data, size_t size)
{
    http_response_init(r);
    r->status = data[0] & 1 ? 200 : 400 + data[0] % 130;
    return buf_append(&r->body, (const char *)data + 1, size - 1);
}

/* The key never appears in an error (even when the server echoes it); a failure says why. */
static void fuzz_reply_check(int rc, const struct buf *answer, const struct error *err)
{
    if (strstr(err->msg, FUZZ_SECRET) || (rc != 0 && err->code == LLMSYN_OK))
        abort();
    if (rc == 0 && err->code != LLMSYN_OK)
        abort();
    (void)answer;
}

#endif
