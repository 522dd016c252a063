/* codes_bench.c - figures of the code dictionaries: load time of all tables (median of several loads),
 * lookups per second over a mix of valid, header, retired, invalid and unparseable codes, search time.
 * Prints figures; asserts nothing. Usage: codes_bench [MAPPINGS_DIR] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "codes/dict.h"

#define LOADS 15
#define LOOKUP_ROUNDS 200000
#define SEARCHES 15

struct probe {
    enum code_system sys;
    const char *raw;
};

static const struct probe probes[] = {
    { CODE_ICD9_DX, "428.0" },  { CODE_ICD9_DX, "58381" },   { CODE_ICD9_DX, "v5861" },
    { CODE_ICD9_DX, "E878.8" }, { CODE_ICD9_DX, "428" },     { CODE_ICD9_DX, "585" },
    { CODE_ICD9_DX, "999.99" }, { CODE_ICD9_DX, "E87" },     { CODE_ICD9_PX, "9671" },
    { CODE_ICD9_PX, "36.05" },  { CODE_CPT, "99223" },       { CODE_CPT, "J1815" },
    { CODE_CPT, "0503U" },      { CODE_HCPCS, "A0021" },     { CODE_ICD9_DX, "583.81 (Glomerulonephritis)" },
    { CODE_ICD9_DX, "038.9" },
};

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_load(const char *dir)
{
    double t[LOADS], t0, med;
    struct error err = { LLMSYN_OK, "" };
    struct dict *d;
    size_t i;

    for (i = 0; i < LOADS; i++) {
        t0 = now_ms();
        d = dict_load(dir, NULL, &err);
        t[i] = now_ms() - t0;
        if (!d) {
            fprintf(stderr, "codes_bench: %s\n", err.msg);
            return -1;
        }
        dict_free(&d);
    }
    med = median(t, LOADS); /* sorts t */
    printf("codes: dict_load of all tables: %.1f ms (median of %d loads; min %.1f, max %.1f)\n", med, LOADS, t[0],
           t[LOADS - 1]);
    return 0;
}

static void bench_lookup(const struct dict *d)
{
    size_t n = sizeof probes / sizeof probes[0], i, r, valid = 0;
    struct code_info c;
    double t0 = now_ms(), secs;

    for (r = 0; r < LOOKUP_ROUNDS; r++)
        for (i = 0; i < n; i++)
            valid += dict_lookup(d, probes[i].sys, probes[i].raw, &c) == CODE_VALID;
    secs = (now_ms() - t0) / 1e3;
    printf("codes: dict_lookup: %.2f million lookups/s (%zu lookups of %zu codes, one thread; %zu valid)\n",
           (double)(LOOKUP_ROUNDS * n) / secs / 1e6, (size_t)LOOKUP_ROUNDS * n, n, valid);
}

static void bench_search(const struct dict *d)
{
    static const char *const texts[] = { "acute myocardial infarction", "428.9x", "respiratory failure" };
    double t[SEARCHES], t0;
    struct code_info r[5];
    size_t i;

    for (i = 0; i < SEARCHES; i++) {
        t0 = now_ms();
        dict_search(d, CODE_ICD9_DX, texts[i % 3], r, 5);
        t[i] = now_ms() - t0;
    }
    printf("codes: dict_search (icd9-dx, 5 results): %.2f ms (median of %d)\n", median(t, SEARCHES), SEARCHES);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "mappings";
    struct error err = { LLMSYN_OK, "" };
    struct dict *d;

    if (bench_load(dir) < 0)
        return 1;
    d = dict_load(dir, NULL, &err);
    if (!d)
        return 1;
    bench_lookup(d);
    bench_search(d);
    dict_free(&d);
    return 0;
}
