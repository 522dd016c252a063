/* test_llm_retry.c - the retry policy: backoff with jitter, Retry-After, and the process-wide buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "llm/llm_internal.h"

/* Exponential growth, jitter inside [d/2, d], the cap, and different draws for different seeds. */
static void test_backoff(void **state)
{
    unsigned seed = 7, i, attempt;
    long lo, hi, d, first = -1;
    int varied = 0;

    (void)state;
    for (attempt = 1; attempt <= 12; attempt++) {
        hi = 100L << (attempt - 1);
        if (hi > LLM_BACKOFF_CAP_MS)
            hi = LLM_BACKOFF_CAP_MS;
        lo = hi / 2;
        for (i = 0; i < 50; i++) {
            d = llm_backoff_ms(100, attempt, -1, &seed);
            assert_true(d >= lo && d <= hi);
            if (first < 0)
                first = d;
            else if (d != first)
                varied = 1;
        }
    }
    assert_true(varied);
}

/* Retry-After wins over the computed backoff and is capped. */
static void test_retry_after(void **state)
{
    unsigned seed = 1;
    long d;

    (void)state;
    d = llm_backoff_ms(100, 1, 2, &seed);
    assert_true(d >= 2000 && d < 2250);
    d = llm_backoff_ms(100, 5, 0, &seed);
    assert_true(d >= 0 && d < 250);
    d = llm_backoff_ms(100, 1, 1000000, &seed);
    assert_true(d >= LLM_RETRY_AFTER_CAP_S * 1000 && d < LLM_RETRY_AFTER_CAP_S * 1000 + 250);
}

/* --rpm 60: a full bucket of 60 requests, then one per second. */
static void test_rpm_bucket(void **state)
{
    long t = 1000000, wait;
    int i;

    (void)state;
    llm_ratelimit_configure(0, 0);
    llm_ratelimit_configure(60, 0);
    for (i = 0; i < 60; i++)
        assert_int_equal(llm_ratelimit_take(10, t), 0);
    wait = llm_ratelimit_take(10, t);
    assert_true(wait > 0);
    /* the clock of configure() is the real one; use a time far enough after it */
    llm_ratelimit_configure(0, 0);
}

/* --tpm: a request bigger than the bucket waits for a full bucket, not forever; settle() corrects. */
static void test_tpm_bucket(void **state)
{
    long t;
    struct timespec now;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t = (long)now.tv_sec * 1000L + now.tv_nsec / 1000000L;
    llm_ratelimit_configure(0, 0);
    llm_ratelimit_configure(0, 600);
    assert_int_equal(llm_ratelimit_take(500, t), 0);
    assert_true(llm_ratelimit_take(500, t) > 0);
    llm_ratelimit_settle(500, 100); /* the first request really used 100 tokens */
    assert_int_equal(llm_ratelimit_take(500, t), 0);
    assert_true(llm_ratelimit_take(100000, t) > 0); /* waits for a full bucket (600) */
    assert_int_equal(llm_ratelimit_take(1, t + 60000 + 1000), 0); /* a minute later it is full again */
    llm_ratelimit_configure(0, 0);
}

/* A 429's pause holds every worker; unlimited buckets never wait otherwise. */
static void test_pause(void **state)
{
    long t = 5000000;

    (void)state;
    llm_ratelimit_configure(0, 0);
    assert_int_equal(llm_ratelimit_take(1e9, t), 0);
    llm_ratelimit_pause(t, 1500);
    assert_true(llm_ratelimit_take(1, t + 10) > 0);
    assert_int_equal(llm_ratelimit_take(1, t + 1501), 0);
}

struct taker {
    long t;
    int granted;
};

static void *take_many(void *arg)
{
    struct taker *k = arg;
    int i;

    for (i = 0; i < 1000; i++)
        if (llm_ratelimit_take(1, k->t) == 0)
            k->granted++;
    return NULL;
}

/* Eight threads at one instant share one bucket of 100: exactly 100 requests are granted. */
static void test_threads_share_bucket(void **state)
{
    pthread_t th[8];
    struct taker k[8];
    struct timespec now;
    long t;
    int i, total = 0;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &now);
    t = (long)now.tv_sec * 1000L + now.tv_nsec / 1000000L - 1; /* not after the refill clock: no refill */
    llm_ratelimit_configure(0, 0);
    llm_ratelimit_configure(100, 0);
    for (i = 0; i < 8; i++) {
        k[i].t = t;
        k[i].granted = 0;
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &k[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += k[i].granted;
    }
    assert_int_equal(total, 100);
    llm_ratelimit_configure(0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_rpm_bucket),
        cmocka_unit_test(test_tpm_bucket),
        cmocka_unit_test(test_pause),
        cmocka_unit_test(test_threads_share_bucket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
