/* fuzz_extract.c - libFuzzer target: extract_answer on arbitrary model answers, for every step of step_table. */
#include <stdint.h>
#include <stdlib.h>

#include "core/steps.h"
#include "extract/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i;

    for (i = 0; i < step_count; i++) { /* data is not NUL-terminated: the extractor must honour len */
        struct error err = { LLMSYN_OK, "" };
        struct record rec = { 0 };
        int rc = extract_answer((const char *)data, size, &step_table[i], &rec, &err);

        if (rc != 0 && err.code == LLMSYN_OK)
            abort(); /* a failure always says why */
        record_free(&rec);
    }
    return 0;
}
