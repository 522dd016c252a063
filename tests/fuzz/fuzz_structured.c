/* fuzz_structured.c - libFuzzer target: a structured-output model reply (llm_structured_to_text), then the
 * extractor on the text it produced, for every step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/steps.h"
#include "extract/extract.h"
#include "llm/llm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    size_t i;

    if (!json)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    for (i = 0; i < step_count; i++) {
        struct error err = { LLMSYN_OK, "" };
        struct record rec = { 0 };
        struct buf text = { 0 };

        if (llm_structured_to_text(&step_table[i], json, &text) == 0)
            (void)extract_answer(text.data ? text.data : "", text.len, &step_table[i], &rec, &err);
        record_free(&rec);
        buf_free(&text);
    }
    free(json);
    return 0;
}
