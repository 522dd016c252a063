/* fuzz_kb.c - libFuzzer target: kb_parse (the knowledge base loader) on arbitrary JSON text. */
#include <stdint.h>
#include <stdlib.h>

#include "knowledge/kb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct kb *kb = kb_parse((const char *)data, size, "fuzz.json", &err);

    if (!kb) {
        if (err.code == LLMSYN_OK)
            abort(); /* a rejection always says why */
        return 0;
    }
    (void)kb_find(kb, "428.0"); /* lookups on whatever was accepted */
    (void)kb_generic(kb);
    (void)kb_display(kb, "428.0");
    kb_free(&kb);
    return 0;
}
