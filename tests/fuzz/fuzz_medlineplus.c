/* fuzz_medlineplus.c - libFuzzer target: the MedlinePlus topics XML loader and the Connect Atom reader. */
#include <stdint.h>
#include <stdlib.h>

#include "knowledge/medlineplus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct mplus_topics t = { 0 };
    int rc;

    if (size < 1)
        return 0;
    if (data[0] & 1)
        rc = mplus_parse((const char *)data + 1, size - 1, "fuzz.xml", &t, &err);
    else
        rc = mplus_parse_connect((const char *)data + 1, size - 1, "fuzz.xml", "428.0", &t, &err);
    if (rc != 0 && err.code == LLMSYN_OK)
        abort(); /* a rejection always says why */
    mplus_topics_truncate(&t, 1);
    mplus_topics_free(&t);
    return 0;
}
