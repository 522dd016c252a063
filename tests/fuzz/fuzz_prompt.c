/* fuzz_prompt.c - libFuzzer target: prompt_template_parse on arbitrary template text, for every step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/steps.h"
#include "prompt/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    size_t i;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (i = 0; i < step_count; i++) {
        struct error err = { LLMSYN_OK, "" };
        struct prompt_template *t = prompt_template_parse(text, "fuzz.prompt", &step_table[i], &err);

        if (!t && err.code == LLMSYN_OK)
            abort(); /* a rejection always says why */
        prompt_template_free(&t);
    }
    free(text);
    return 0;
}
