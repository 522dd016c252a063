/* fuzz_prior.c - libFuzzer target: prior_parse on arbitrary JSON text, then sampling from what it accepted. */
#include <stdint.h>
#include <stdlib.h>

#include "prior/prior.h"
#include "util/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct prior *p = prior_parse((const char *)data, size, "fuzz.json", &err);
    struct prior_draw draw;
    struct rng r;
    int i;

    if (!p) {
        if (err.code == LLMSYN_OK)
            abort(); /* a rejection always says why */
        return 0;
    }
    rng_seed(&r, size, 1);
    for (i = 0; i < 4; i++)
        prior_sample(p, &r, i & 1, &draw); /* an accepted prior can always be sampled */
    prior_free(&p);
    return 0;
}
