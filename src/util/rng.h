/* rng.h - deterministic per-record random streams (splitmix64 seeding, xoshiro256**). */
#ifndef UTIL_RNG_H
#define UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seeds the stream for (seed, stream): record i of a run uses stream i, so any
 * split of the run over jobs or shards draws the same numbers for the same record. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
/* Uniform double in [0, 1). */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Index drawn with probability weights[i] / total; total = sum of weights (> 0). */
size_t rng_weighted(struct rng *r, const double *weights, size_t n, double total);
/* Standard normal draw (Box-Muller). */
double rng_normal(struct rng *r);

#endif
