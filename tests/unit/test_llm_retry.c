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
#include "net/http.h"

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

/* Reset durations of x-ratelimit-reset-*: Go-style sequences, rounding up, the clamp, and hostile input. */
static void test_duration_parser(void **state)
{
    static const struct {
        const char *s;
        long ms;
    } cases[] = {
        { "1s", 1000 }, { "6m0s", 360000 }, { "120ms", 120 }, { "1h2m3.5s", 3723500 }, { "0s", 0 },
        { "2", 2000 }, { "0.5", 500 }, { "1.0001s", 1001 }, { "20ns", 1 }, { "5us", 1 }, { "5\xc2\xb5s", 1 },
        { "1m1m", 120000 }, { "23h59m", 86340000 }, { "48h", HTTP_RL_MAX_MS },
        { "99999999999999999999999999999999999999h", HTTP_RL_MAX_MS },
        { "", -1 }, { "s", -1 }, { "ms", -1 }, { "-1s", -1 }, { "+1s", -1 }, { "1x", -1 }, { "1s5", -1 },
        { "1.s", -1 }, { ".5s", -1 }, { "1 s", -1 }, { " 1s", -1 }, { "1s ", -1 }, { "nan", -1 }, { "inf", -1 },
        { "1e3s", -1 }, { "0x10s", -1 }, { "1,5s", -1 }, { "1S", -1 }, { "1\xc2s", -1 }, { "\xff", -1 },
        { "11111111111111111111111111111111111111111111111111111111111111111s", -1 }, /* 66 bytes: too long */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long got = http_parse_duration_ms(cases[i].s, strlen(cases[i].s));

        if (got != cases[i].ms)
            fail_msg("\"%s\": got %ld, want %ld", cases[i].s, got, cases[i].ms);
    }
    assert_int_equal(http_parse_duration_ms("120ms", 4), 7200000); /* only n bytes are read: "120m" */
    assert_int_equal(http_parse_duration_ms("1\0s", 3), -1);
    assert_int_equal(http_parse_duration_ms(NULL, 2), -1);
}

/* Anthropic's reset times (RFC 3339): zones, fractions, and malformed times refused. */
static void test_rfc3339_parser(void **state)
{
    static const char *const bad[] = { "", "2024-05-01", "2024-05-01T12:00:30", "2024-13-01T00:00:00Z",
                                       "2024-05-01T24:00:00Z", "2024-05-01T12:00:30Zjunk", "2024-05-01T12:00:30+2:00",
                                       "2024-05-01T12:00:30.Z", "2024-5-01T12:00:30Z", "2024-05-01X12:00:30Z",
                                       "2024-05-01T12:00:30+24:00", "abcd-05-01T12:00:30Z" };
    long long t = 0;
    size_t i;

    (void)state;
    assert_int_equal(http_parse_rfc3339_ms("1970-01-01T00:00:00Z", 20, &t), 0);
    assert_true(t == 0);
    assert_int_equal(http_parse_rfc3339_ms("2000-03-01T00:00:00Z", 20, &t), 0);
    assert_true(t == 11017LL * 86400000LL); /* 30 years, 7 leap days, Jan + Feb 2000 (60 days) */
    assert_int_equal(http_parse_rfc3339_ms("2024-05-01T12:00:30Z", 20, &t), 0);
    assert_true(t == 1714564830000LL);
    assert_int_equal(http_parse_rfc3339_ms("2024-05-01T14:00:30.25+02:00", 28, &t), 0);
    assert_true(t == 1714564830250LL);
    assert_int_equal(http_parse_rfc3339_ms("2024-05-01t12:30:30-00:30", 25, &t), 0);
    assert_true(t == 1714564830000LL + 3600000LL);
    assert_int_equal(http_parse_rfc3339_ms("1969-12-31T23:59:59Z", 20, &t), 0);
    assert_true(t == -1000);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (http_parse_rfc3339_ms(bad[i], strlen(bad[i]), &t) == 0)
            fail_msg("\"%s\" was accepted", bad[i]);
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
        cmocka_unit_test(test_duration_parser),
        cmocka_unit_test(test_rfc3339_parser),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
