/* test_prior.c - unit tests of the prior z_P: the shipped prior, sampling frequencies, age ranges, per-diagnosis
 * marginals, determinism, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prior/prior.h"
#include "util/buf.h"

#define DRAWS 200000
#define SEED UINT64_C(20240601)

/* Tests run from the repository root, or from $LLMSYN_ROOT when set. */
static void repo_path(char *out, size_t size, const char *rel)
{
    const char *root = getenv("LLMSYN_ROOT");

    snprintf(out, size, "%s/%s", root && root[0] ? root : ".", rel);
}

static struct prior *load_rel(const char *rel, struct error *err)
{
    char path[4096];

    repo_path(path, sizeof path, rel);
    error_clear(err);
    return prior_load(path, err);
}

static struct prior *load_ok(const char *rel)
{
    struct error err;
    struct prior *p = load_rel(rel, &err);

    if (!p)
        fail_msg("%s did not load: %s", rel, err.msg);
    assert_int_equal(err.code, LLMSYN_OK);
    return p;
}

/* |observed - expected| within 5 standard deviations of a binomial proportion over n draws (plus slack). */
static void assert_frequency(const char *what, size_t hits, size_t n, double expected)
{
    double observed = (double)hits / (double)n;
    double tolerance = 5.0 * sqrt(expected * (1.0 - expected) / (double)n) + 1e-4;

    if (fabs(observed - expected) > tolerance)
        fail_msg("%s: observed %.5f, expected %.5f (tolerance %.5f)", what, observed, expected, tolerance);
}

/* Index of a drawn value; it must be the marginal's own string, not a copy. */
static size_t category_index(const struct prior_marginal *m, const char *value)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->items[i].value == value)
            return i;
    fail_msg("drawn value %s is not one of the marginal's own strings", value ? value : "(null)");
    return 0;
}

static size_t diagnosis_index(const struct prior *p, const struct prior_diagnosis *d)
{
    assert_non_null(d);
    assert_true(d >= p->diagnoses && d < p->diagnoses + p->ndiagnoses);
    return (size_t)(d - p->diagnoses);
}

static size_t age_bin_index(const struct prior *p, int age)
{
    size_t i;

    for (i = 0; i < p->nage_bins; i++)
        if (age >= p->age_bins[i].min && age <= p->age_bins[i].max)
            return i;
    fail_msg("age %d lies in no bin", age);
    return 0;
}

static int code_shaped(const char *code)
{
    size_t n = strlen(code);
    const char *dot = strchr(code, '.');

    if (n == 3 || (code[0] == 'E' && n == 4))
        return dot == NULL;
    return dot && (size_t)(dot - code) == (code[0] == 'E' ? 4u : 3u) && dot[1] != '\0';
}

static void check_marginal(const struct prior_marginal *m)
{
    double sum = 0;
    size_t i;

    assert_true(m->n > 0);
    for (i = 0; i < m->n; i++) {
        assert_non_null(m->items[i].value);
        assert_true(m->items[i].weight > 0);
        sum += m->items[i].weight;
    }
    assert_true(fabs(sum - m->total) < 1e-9 * sum);
}

static void test_shipped_counts(void **state)
{
    struct prior *p = load_ok("mappings/prior.json");
    const struct prior_marginal *ms[] = {&p->gender, &p->ethnicity, &p->insurance, &p->language,
                                         &p->religion, &p->marital_status};
    double sum = 0;
    size_t i;

    (void)state;
    assert_int_equal(p->ndiagnoses, 100);
    assert_non_null(p->source);
    assert_true(p->mortality > 0 && p->mortality < 1);
    for (i = 0; i < p->ndiagnoses; i++) {
        const struct prior_diagnosis *d = &p->diagnoses[i];

        assert_true(code_shaped(d->code));
        assert_true(d->weight > 0);
        assert_true(d->weight == p->diagnosis_weights[i]);
        assert_true(d->mortality >= 0 && d->mortality <= 1); /* the shipped prior gives every code's rate */
        assert_true((d->age_min == -1 && d->age_max == -1) || (d->age_min >= 0 && d->age_min <= d->age_max));
        if (i > 0)
            assert_true(d->weight <= p->diagnoses[i - 1].weight); /* admissions descending */
        sum += d->weight;
    }
    assert_true(fabs(sum - p->diagnoses_total) < 1e-9 * sum);
    assert_true(p->nage_bins > 0);
    for (i = 0, sum = 0; i < p->nage_bins; i++) {
        assert_true(p->age_weights[i] == p->age_bins[i].weight);
        assert_true(p->age_bins[i].min >= 0 && p->age_bins[i].max <= 89); /* ages over 89 are not drawn */
        sum += p->age_weights[i];
    }
    assert_true(fabs(sum - p->age_total) < 1e-9);
    for (i = 0; i < sizeof ms / sizeof ms[0]; i++)
        check_marginal(ms[i]);
    assert_true(p->gender.n == 2);
    prior_free(&p);
    assert_null(p);
}

/* The newborn rule of tools/import-prior.py, written again here: V05.3, V29.x, V30-V39, V50.2, 760-779. */
static int newborn_code(const char *code)
{
    if (strcmp(code, "V05.3") == 0 || strcmp(code, "V50.2") == 0 || strncmp(code, "V29", 3) == 0)
        return 1;
    if (code[0] == 'V')
        return strncmp(code + 1, "30", 2) >= 0 && strncmp(code + 1, "39", 2) <= 0;
    return code[0] >= '0' && code[0] <= '9' && strncmp(code, "760", 3) >= 0 && strncmp(code, "779", 3) <= 0;
}

static const struct prior_diagnosis *find_code(const struct prior *p, const char *code)
{
    size_t i;

    for (i = 0; i < p->ndiagnoses; i++)
        if (strcmp(p->diagnoses[i].code, code) == 0)
            return &p->diagnoses[i];
    return NULL;
}

/* Every newborn main diagnosis of the shipped prior is pinned to age 0, and no other diagnosis has a range. */
static void test_shipped_newborn_ages(void **state)
{
    static const char *const expected[] = {"V05.3", "V29.0", "V30.00", "V30.01", "774.2", "V50.2", "769"};
    struct prior *p = load_ok("mappings/prior.json");
    const struct prior_diagnosis *d = NULL;
    size_t i, newborn = 0;

    (void)state;
    for (i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (!(d = find_code(p, expected[i])))
            fail_msg("newborn code %s is missing from the shipped prior", expected[i]);
        assert_true(newborn_code(d->code));
    }
    for (i = 0; i < p->ndiagnoses; i++) {
        d = &p->diagnoses[i];
        if (newborn_code(d->code)) {
            newborn++;
            if (d->age_min != 0 || d->age_max != 0)
                fail_msg("newborn code %s has age range %d-%d, not 0-0", d->code, d->age_min, d->age_max);
        } else if (d->age_min != -1 || d->age_max != -1) {
            fail_msg("code %s has age range %d-%d but is no newborn code", d->code, d->age_min, d->age_max);
        }
    }
    assert_int_equal(newborn, sizeof expected / sizeof expected[0]);
    prior_free(&p);
}

/* Counts what 200000 weighted draws from the shipped prior give. */
struct tally {
    size_t diagnosis[128], gender[8], age_bin[32], expire;
    size_t ranged, unranged; /* draws whose diagnosis has an age range, and the rest (tallied in age_bin) */
    size_t insurance[16], marital[16]; /* like gender: tallied only over draws that use the global marginal */
    size_t global_gender, global_insurance, global_marital; /* how many draws those are */
};

/* Tallies a value into counts[] when it came from the global marginal, else checks it is the diagnosis's own. */
static void tally_value(const struct prior_marginal *own, const struct prior_marginal *global, const char *value,
                        size_t *counts, size_t *nglobal)
{
    size_t i = category_index(own->n > 0 ? own : global, value); /* the diagnosis's own marginal if it has one */

    if (own->n == 0) {
        counts[i]++;
        (*nglobal)++;
    }
}

static void draw_many(const struct prior *p, int uniform, struct tally *t)
{
    struct prior_draw d;
    struct rng r;
    size_t i;

    memset(t, 0, sizeof *t);
    assert_true(p->ndiagnoses <= 128 && p->gender.n <= 8 && p->nage_bins <= 32);
    assert_true(p->insurance.n <= 16 && p->marital_status.n <= 16);
    rng_seed(&r, SEED, 7);
    for (i = 0; i < DRAWS; i++) {
        prior_sample(p, &r, uniform, &d);
        t->diagnosis[diagnosis_index(p, d.diagnosis)]++;
        tally_value(&d.diagnosis->gender, &p->gender, d.gender, t->gender, &t->global_gender);
        tally_value(&d.diagnosis->insurance, &p->insurance, d.insurance, t->insurance, &t->global_insurance);
        tally_value(&d.diagnosis->marital_status, &p->marital_status, d.marital_status, t->marital,
                    &t->global_marital);
        if (d.diagnosis->age_min >= 0) { /* the diagnosis's range decides the age */
            if (d.age < d.diagnosis->age_min || d.age > d.diagnosis->age_max)
                fail_msg("%s drew age %d outside its range %d-%d", d.diagnosis->code, d.age, d.diagnosis->age_min,
                         d.diagnosis->age_max);
            t->ranged++;
        } else {
            t->age_bin[age_bin_index(p, d.age)]++;
            t->unranged++;
        }
        category_index(&p->ethnicity, d.ethnicity);
        category_index(&p->language, d.language);
        category_index(&p->religion, d.religion);
        assert_true(d.expire == 0 || d.expire == 1);
        t->expire += (size_t)d.expire;
    }
}

static void test_shipped_frequencies(void **state)
{
    struct prior *p = load_ok("mappings/prior.json");
    struct tally *t = calloc(1, sizeof *t);
    double expected_mortality = 0, ranged_share = 0;
    char what[64];
    size_t i;

    (void)state;
    assert_non_null(t);
    draw_many(p, 0, t);
    for (i = 0; i < p->ndiagnoses; i++) {
        double share = p->diagnoses[i].weight / p->diagnoses_total;

        snprintf(what, sizeof what, "diagnosis %s", p->diagnoses[i].code);
        assert_frequency(what, t->diagnosis[i], DRAWS, share);
        expected_mortality += share * p->diagnoses[i].mortality;
        if (p->diagnoses[i].age_min >= 0)
            ranged_share += share;
    }
    assert_true(ranged_share > 0.01); /* the newborn codes carry weight, so the split below means something */
    assert_frequency("diagnoses with an age range", t->ranged, DRAWS, ranged_share);
    /* Gender, insurance and marital status follow the global marginals on the draws whose diagnosis has none
     * of its own (the newborn codes have insurance and marital status, V50.2 gender: those draws are checked
     * in test_shipped_newborn_demographics); over all draws M is now about 0.0028 more frequent. */
    assert_true(t->global_gender < DRAWS && t->global_gender > DRAWS * 9 / 10);
    assert_true(t->global_insurance < t->global_gender && t->global_insurance > DRAWS * 9 / 10);
    assert_int_equal(t->global_marital, t->global_insurance);
    for (i = 0; i < p->gender.n; i++) {
        snprintf(what, sizeof what, "gender %s", p->gender.items[i].value);
        assert_frequency(what, t->gender[i], t->global_gender, p->gender.items[i].weight / p->gender.total);
    }
    for (i = 0; i < p->insurance.n; i++) {
        snprintf(what, sizeof what, "insurance %s", p->insurance.items[i].value);
        assert_frequency(what, t->insurance[i], t->global_insurance, p->insurance.items[i].weight / p->insurance.total);
    }
    for (i = 0; i < p->marital_status.n; i++) {
        snprintf(what, sizeof what, "marital status %s", p->marital_status.items[i].value);
        assert_frequency(what, t->marital[i], t->global_marital,
                         p->marital_status.items[i].weight / p->marital_status.total);
    }
    for (i = 0; i < p->nage_bins; i++) { /* diagnoses without a range still follow the bins */
        snprintf(what, sizeof what, "age bin %d-%d", p->age_bins[i].min, p->age_bins[i].max);
        assert_frequency(what, t->age_bin[i], t->unranged, p->age_weights[i] / p->age_total);
    }
    /* expire follows each diagnosis's own rate, so its frequency is their weighted mean. */
    assert_frequency("expire", t->expire, DRAWS, expected_mortality);
    free(t);
    prior_free(&p);
}

static void test_shipped_uniform(void **state)
{
    struct prior *p = load_ok("mappings/prior.json");
    struct tally *t = calloc(1, sizeof *t);
    char what[64];
    size_t i;

    (void)state;
    assert_non_null(t);
    draw_many(p, 1, t);
    for (i = 0; i < p->ndiagnoses; i++) {
        snprintf(what, sizeof what, "uniform diagnosis %s", p->diagnoses[i].code);
        assert_frequency(what, t->diagnosis[i], DRAWS, 1.0 / (double)p->ndiagnoses);
    }
    for (i = 0; i < p->gender.n; i++) /* over the draws whose diagnosis has no gender of its own */
        assert_frequency("uniform gender", t->gender[i], t->global_gender, 1.0 / (double)p->gender.n);
    for (i = 0; i < p->marital_status.n; i++)
        assert_frequency("uniform marital status", t->marital[i], t->global_marital,
                         1.0 / (double)p->marital_status.n);
    assert_true(t->ranged > 0 && t->unranged > 0);
    for (i = 0; i < p->nage_bins; i++)
        assert_frequency("uniform age bin", t->age_bin[i], t->unranged, 1.0 / (double)p->nage_bins);
    free(t);
    prior_free(&p);
}

static const struct prior_category *find_value(const struct prior_marginal *m, const char *value)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (strcmp(m->items[i].value, value) == 0)
            return &m->items[i];
    return NULL;
}

/* The shipped prior gives the newborn codes marital status SINGLE and the global insurance without Medicare,
 * V50.2 gender M, and no other diagnosis a marginal of its own. */
static void check_shipped_own_marginals(const struct prior *p)
{
    size_t i, k, newborn = 0;

    for (i = 0; i < p->ndiagnoses; i++) {
        const struct prior_diagnosis *d = &p->diagnoses[i];
        int male_only = strcmp(d->code, "V50.2") == 0;

        assert_int_equal(d->gender.n, male_only ? 1 : 0);
        if (male_only)
            assert_string_equal(d->gender.items[0].value, "M");
        if (!newborn_code(d->code)) {
            assert_true(d->insurance.n == 0 && d->marital_status.n == 0);
            continue;
        }
        newborn++;
        assert_int_equal(d->marital_status.n, 1);
        assert_string_equal(d->marital_status.items[0].value, "SINGLE");
        assert_int_equal(d->insurance.n, p->insurance.n - 1);
        for (k = 0; k < d->insurance.n; k++) { /* the global weights, Medicare left out */
            const struct prior_category *g = find_value(&p->insurance, d->insurance.items[k].value);

            assert_string_not_equal(d->insurance.items[k].value, "Medicare");
            assert_true(g && g->weight == d->insurance.items[k].weight);
        }
    }
    assert_int_equal(newborn, 7);
    assert_non_null(find_value(&p->insurance, "Medicare"));
}

/* Records with a newborn main diagnosis are never married nor on Medicare and V50.2 is always M, weighted and
 * uniform; the newborns' insurance follows their own marginal's weights. */
static void test_shipped_newborn_demographics(void **state)
{
    struct prior *p = load_ok("mappings/prior.json");
    const struct prior_diagnosis *v302 = NULL;
    size_t i, newborn = 0, v502 = 0, private_ins = 0, private_k = 0;
    struct prior_draw d;
    struct rng r;
    int uniform;

    (void)state;
    check_shipped_own_marginals(p);
    assert_non_null(v302 = find_code(p, "V30.00"));
    for (private_k = 0; strcmp(v302->insurance.items[private_k].value, "Private") != 0; private_k++)
        assert_true(private_k + 1 < v302->insurance.n);
    for (uniform = 0; uniform <= 1; uniform++) {
        rng_seed(&r, SEED, 11 + (uint64_t)uniform);
        newborn = v502 = private_ins = 0;
        for (i = 0; i < DRAWS; i++) {
            prior_sample(p, &r, uniform, &d);
            if (strcmp(d.diagnosis->code, "V50.2") == 0) {
                v502++;
                assert_string_equal(d.gender, "M");
            }
            if (!newborn_code(d.diagnosis->code))
                continue;
            newborn++;
            assert_string_equal(d.marital_status, "SINGLE");
            assert_string_not_equal(d.insurance, "Medicare");
            assert_int_equal(d.age, 0);
            private_ins += strcmp(d.insurance, "Private") == 0;
        }
        assert_true(newborn > DRAWS / 50 && v502 > DRAWS / 500);
        assert_frequency(uniform ? "uniform newborn insurance Private" : "newborn insurance Private", private_ins,
                         newborn, uniform ? 1.0 / (double)v302->insurance.n
                                          : v302->insurance.items[private_k].weight / v302->insurance.total);
    }
    prior_free(&p);
}

static int same_draw(const struct prior_draw *a, const struct prior_draw *b)
{
    return strcmp(a->diagnosis->code, b->diagnosis->code) == 0 && a->expire == b->expire && a->age == b->age &&
           strcmp(a->gender, b->gender) == 0 && strcmp(a->ethnicity, b->ethnicity) == 0 &&
           strcmp(a->insurance, b->insurance) == 0 && strcmp(a->language, b->language) == 0 &&
           strcmp(a->religion, b->religion) == 0 && strcmp(a->marital_status, b->marital_status) == 0;
}

static void test_determinism(void **state)
{
    struct prior *p = load_ok("mappings/prior.json");
    struct prior *q = load_ok("mappings/prior.json"); /* a second copy: the draws must not hang on addresses */
    struct prior_draw a, b, c;
    struct rng ra, rb, rc;
    size_t i, differ = 0;

    (void)state;
    rng_seed(&ra, 42, 3);
    rng_seed(&rb, 42, 3);
    rng_seed(&rc, 42, 4);
    for (i = 0; i < 1000; i++) {
        prior_sample(p, &ra, 0, &a);
        prior_sample(q, &rb, 0, &b);
        prior_sample(p, &rc, 0, &c);
        assert_true(same_draw(&a, &b));
        differ += !same_draw(&a, &c);
    }
    assert_true(differ > 900); /* another stream gives other records */
    prior_free(&p);
    prior_free(&q);
}

static void test_good_small(void **state)
{
    struct prior *p = load_ok("tests/data/priors/good-small.json");

    (void)state;
    assert_int_equal(p->ndiagnoses, 4);
    assert_string_equal(p->diagnoses[0].code, "428.0");
    assert_string_equal(p->diagnoses[1].code, "V05.3");
    assert_string_equal(p->diagnoses[2].code, "E878.8");
    assert_string_equal(p->diagnoses[3].code, "486");
    assert_null(p->diagnoses[1].description);
    assert_string_equal(p->diagnoses[3].description, "Pneumonia, organism unspecified");
    assert_true(p->diagnoses[0].mortality == 1.0 && p->diagnoses[1].mortality == 0.0);
    assert_true(p->diagnoses[2].mortality == -1.0 && p->diagnoses[3].mortality == -1.0);
    for (size_t i = 0; i < p->ndiagnoses; i++) /* no "age" member: the bins apply */
        assert_true(p->diagnoses[i].age_min == -1 && p->diagnoses[i].age_max == -1);
    assert_true(p->diagnoses_total == 8.0 && p->diagnosis_weights[2] == 2.0);
    assert_true(p->mortality == 0.25);
    assert_int_equal(p->nage_bins, 2);
    assert_true(p->age_total == 4.0 && p->age_weights[1] == 3.0);
    assert_int_equal(p->gender.n, 2);
    assert_string_equal(p->gender.items[0].value, "M");
    assert_true(p->gender.total == 4.0);
    assert_string_equal(p->marital_status.items[0].value, "UNKNOWN (DEFAULT)");
    assert_string_equal(p->source, "hand-made test prior");
    prior_free(&p);
}

/* On the small prior: expire is certain, impossible, or the overall rate, by diagnosis; ages cover their bins. */
static void test_small_conditional(void **state)
{
    struct prior *p = load_ok("tests/data/priors/good-small.json");
    size_t n[4] = {0}, dead[4] = {0}, ages[121] = {0}, male = 0, i;
    struct prior_draw d;
    struct rng r;

    (void)state;
    rng_seed(&r, SEED, 1);
    for (i = 0; i < DRAWS; i++) {
        size_t k;

        prior_sample(p, &r, 0, &d);
        k = diagnosis_index(p, d.diagnosis);
        n[k]++;
        dead[k] += (size_t)d.expire;
        assert_true(d.age >= 0 && d.age <= 120);
        ages[d.age]++;
        male += strcmp(d.gender, "M") == 0;
    }
    assert_int_equal(dead[0], n[0]);
    assert_int_equal(dead[1], 0);
    assert_frequency("fallback mortality E878.8", dead[2], n[2], 0.25);
    assert_frequency("fallback mortality 486", dead[3], n[3], 0.25);
    assert_frequency("diagnosis 428.0", n[0], DRAWS, 3.0 / 8.0);
    assert_frequency("gender M", male, DRAWS, 0.75);
    assert_frequency("age 0", ages[0], DRAWS, 0.25);
    for (i = 40; i <= 44; i++)
        assert_frequency("age within 40-44", ages[i], DRAWS, 0.75 / 5.0);
    assert_int_equal(ages[0] + ages[40] + ages[41] + ages[42] + ages[43] + ages[44], DRAWS);
    prior_free(&p);
}

/* good-age-range.json: V30.00 pinned to 0, 493.90 to 5-9 (outside every bin), 428.0 and 486 on the bins. */
static void test_age_range_file(void **state)
{
    struct prior *p = load_ok("tests/data/priors/good-age-range.json");
    size_t n[4] = {0}, ages[121] = {0}, i;
    struct prior_draw d;
    struct rng r;

    (void)state;
    assert_int_equal(p->ndiagnoses, 4);
    assert_true(p->diagnoses[0].age_min == 0 && p->diagnoses[0].age_max == 0);
    assert_true(p->diagnoses[1].age_min == -1 && p->diagnoses[1].age_max == -1);
    assert_true(p->diagnoses[2].age_min == 5 && p->diagnoses[2].age_max == 9);
    assert_true(p->diagnoses[3].age_min == -1 && p->diagnoses[3].age_max == -1);
    rng_seed(&r, SEED, 2);
    for (i = 0; i < DRAWS; i++) {
        size_t k;

        prior_sample(p, &r, 0, &d);
        k = diagnosis_index(p, d.diagnosis);
        n[k]++;
        assert_true(d.age >= 0 && d.age <= 120);
        if (k == 0)
            assert_int_equal(d.age, 0);
        else if (k == 2)
            assert_true(d.age >= 5 && d.age <= 9);
        else
            assert_true((d.age >= 40 && d.age <= 44) || (d.age >= 70 && d.age <= 79));
        if (k == 2)
            ages[d.age]++;
    }
    assert_frequency("diagnosis V30.00", n[0], DRAWS, 2.0 / 8.0); /* ranges leave the diagnosis weights alone */
    assert_frequency("diagnosis 493.90", n[2], DRAWS, 1.0 / 8.0);
    for (i = 5; i <= 9; i++) /* uniform within the range */
        assert_frequency("age within 5-9", ages[i], n[2], 1.0 / 5.0);
    prior_free(&p);
}

static int rng_equal(const struct rng *a, const struct rng *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0;
}

/* The documented draw order: the bin and the age within it are drawn as before, and a diagnosis with a range
 * costs exactly one more rng_below over the range; every other value is what the prior without ranges gives. */
static void test_age_range_draw_order(void **state)
{
    struct prior *ranged = load_ok("tests/data/priors/good-age-range.json");
    struct prior *plain = load_ok("tests/data/priors/good-age-range.json");
    struct prior_draw a, b;
    struct rng ra, rb;
    size_t i, k, extra = 0;

    (void)state;
    for (i = 0; i < plain->ndiagnoses; i++)
        plain->diagnoses[i].age_min = plain->diagnoses[i].age_max = -1;
    for (i = 0; i < 2000; i++) {
        rng_seed(&ra, SEED, i);
        rng_seed(&rb, SEED, i);
        prior_sample(ranged, &ra, (int)(i & 1), &a);
        prior_sample(plain, &rb, (int)(i & 1), &b);
        k = diagnosis_index(ranged, a.diagnosis);
        assert_int_equal(k, diagnosis_index(plain, b.diagnosis));
        assert_true(a.expire == b.expire && strcmp(a.gender, b.gender) == 0 &&
                    strcmp(a.insurance, b.insurance) == 0 && strcmp(a.marital_status, b.marital_status) == 0);
        if (ranged->diagnoses[k].age_min >= 0) {
            const struct prior_diagnosis *dx = &ranged->diagnoses[k];

            assert_int_equal(a.age, dx->age_min + (int)rng_below(&rb, (uint64_t)(dx->age_max - dx->age_min) + 1));
            extra++;
        } else {
            assert_int_equal(a.age, b.age);
        }
        assert_true(rng_equal(&ra, &rb)); /* both streams stand at the same place afterwards */
    }
    assert_true(extra > 200 && extra < 2000);
    prior_free(&ranged);
    prior_free(&plain);
}

/* Pieces of a valid inline prior, so each bad case changes one thing. */
#define DX "[{\"code\":\"428.0\",\"weight\":2},{\"code\":\"038.9\",\"weight\":1,\"mortality\":0.3}]"
#define GENDER "{\"M\":1,\"F\":1}"
#define AGE "[{\"min\":18,\"max\":34,\"weight\":1},{\"min\":35,\"max\":49,\"weight\":2}]"
#define REST "\"ethnicity\":{\"WHITE\":1},\"insurance\":{\"Medicare\":1},\"language\":{\"ENGL\":1}," \
             "\"religion\":{\"CATHOLIC\":1},\"marital_status\":{\"MARRIED\":1}"
#define PRIOR(mort, dx, gender, age) \
    "{\"source\":\"t\",\"mortality\":" mort ",\"diagnoses\":" dx ",\"demographics\":{\"gender\":" gender \
    ",\"age\":" age "," REST "}}"
#define DX3(third) "[{\"code\":\"428.0\",\"weight\":2},{\"code\":\"038.9\",\"weight\":1},{\"code\":\"401.9\"," \
                   "\"weight\":1}," third "]"

struct bad_case {
    const char *text;   /* inline prior, or NULL to load `file` */
    const char *file;   /* under the repository root */
    const char *expect; /* part of the message after "<file>: " (all of it in age_cases), or NULL if valid */
};

#define AGED(age) DX3("{\"code\":\"V30.00\",\"weight\":1,\"age\":" age "}")

static const struct bad_case bad_cases[] = {
    {PRIOR("0.1", DX, GENDER, AGE), NULL, NULL}, /* the control: the pieces make a valid prior */
    {PRIOR("0.1", DX3("{\"code\":\"414.01\",\"weight\":0}"), GENDER, AGE), NULL,
     "diagnoses[3].weight: must be a positive number"},
    {PRIOR("0.1", DX3("{\"code\":\"414.01\",\"weight\":-2}"), GENDER, AGE), NULL,
     "diagnoses[3].weight: must be a positive number"},
    {PRIOR("0.1", DX3("{\"code\":\"414.01\",\"weight\":\"2\"}"), GENDER, AGE), NULL,
     "diagnoses[3].weight: must be a positive number"},
    {PRIOR("0.1", DX3("{\"code\":\"414.01\",\"weight\":1e999}"), GENDER, AGE), NULL,
     "diagnoses[3].weight: must be a positive number"},
    {PRIOR("0.1", DX3("{\"code\":\"414.01\"}"), GENDER, AGE), NULL, "diagnoses[3].weight: missing"},
    {PRIOR("0.1", DX3("{\"code\":\"414.01\",\"weight\":1,\"mortality\":1.5}"), GENDER, AGE), NULL,
     "diagnoses[3].mortality: must be a number in [0, 1]"},
    {PRIOR("0.1", DX3("{\"code\":\"41401\",\"weight\":1,\"mortalty\":0.5}"), GENDER, AGE), NULL,
     "diagnoses[3].mortalty: unknown field"},
    {PRIOR("0.1", DX3("{\"code\":\"XYZ\",\"weight\":1}"), GENDER, AGE), NULL,
     "diagnoses[3].code: \"XYZ\" is not an ICD-9-CM diagnosis code"},
    {PRIOR("0.1", DX3("{\"code\":\"428.123\",\"weight\":1}"), GENDER, AGE), NULL, "diagnoses[3].code: \"428.123\""},
    {PRIOR("0.1", DX3("{\"code\":\"E87\",\"weight\":1}"), GENDER, AGE), NULL, "diagnoses[3].code: \"E87\""},
    {PRIOR("0.1", DX3("{\"code\":\"V5\",\"weight\":1}"), GENDER, AGE), NULL, "diagnoses[3].code: \"V5\""},
    {PRIOR("0.1", DX3("{\"code\":\"428.\",\"weight\":1}"), GENDER, AGE), NULL, "diagnoses[3].code: \"428.\""},
    {PRIOR("0.1", DX3("{\"code\":4019,\"weight\":1}"), GENDER, AGE), NULL, "diagnoses[3].code: must be a string"},
    {PRIOR("0.1", DX3("{\"code\":\"4019\",\"weight\":1}"), GENDER, AGE), NULL,
     "diagnoses[3].code: duplicate of diagnoses[2] (401.9)"},
    {PRIOR("0.1", DX3("{\"code\":\"4140\",\"weight\":1,\"description\":7}"), GENDER, AGE), NULL,
     "diagnoses[3].description: must be a string"},
    {PRIOR("0.1", DX3("17"), GENDER, AGE), NULL, "diagnoses[3]: must be an object"},
    {PRIOR("0.1", "[]", GENDER, AGE), NULL, "diagnoses: must not be empty"},
    {PRIOR("0.1", "{\"428.0\":1}", GENDER, AGE), NULL, "diagnoses: must be an array"},
    {PRIOR("1.01", DX, GENDER, AGE), NULL, "mortality: must be a number in [0, 1]"},
    {PRIOR("-0.2", DX, GENDER, AGE), NULL, "mortality: must be a number in [0, 1]"},
    {PRIOR("null", DX, GENDER, AGE), NULL, "mortality: must be a number in [0, 1]"},
    {PRIOR("0.1", DX, "{}", AGE), NULL, "demographics.gender: must not be empty"},
    {PRIOR("0.1", DX, "[\"M\",\"F\"]", AGE), NULL, "demographics.gender: must be an object"},
    {PRIOR("0.1", DX, "{\"M\":1,\"F\":0}", AGE), NULL, "demographics.gender[\"F\"]: must be a positive number"},
    {PRIOR("0.1", DX, "{\"M\":1,\"F\":true}", AGE), NULL, "demographics.gender[\"F\"]: must be a positive number"},
    {PRIOR("0.1", DX, "{\"M\":1,\"F\":2,\"M\":3}", AGE), NULL, "demographics.gender[\"M\"]: duplicate value"},
    {PRIOR("0.1", DX, "{\"M\":1,\"\":2}", AGE), NULL, "demographics.gender[\"\"]: a value must be"},
    {PRIOR("0.1", DX, GENDER, "[]"), NULL, "demographics.age: must not be empty"},
    {PRIOR("0.1", DX, GENDER, "[{\"min\":18,\"max\":34,\"weight\":1},{\"min\":50,\"max\":40,\"weight\":1}]"), NULL,
     "demographics.age[1]: min 50 is greater than max 40"},
    {PRIOR("0.1", DX, GENDER, "[{\"min\":18,\"max\":130,\"weight\":1}]"), NULL,
     "demographics.age[0].max: must be an integer in [0, 120]"},
    {PRIOR("0.1", DX, GENDER, "[{\"min\":-1,\"max\":17,\"weight\":1}]"), NULL,
     "demographics.age[0].min: must be an integer in [0, 120]"},
    {PRIOR("0.1", DX, GENDER, "[{\"min\":18.5,\"max\":30,\"weight\":1}]"), NULL,
     "demographics.age[0].min: must be an integer in [0, 120]"},
    {PRIOR("0.1", DX, GENDER, "[{\"min\":18,\"max\":30}]"), NULL, "demographics.age[0].weight: missing"},
    {"{\"mortality\":0.1,\"diagnoses\":" DX ",\"demographics\":{\"age\":" AGE "," REST "}}", NULL,
     "demographics.gender: missing"},
    {"{\"mortality\":0.1,\"diagnoses\":" DX "}", NULL, "demographics: missing"},
    {"{\"mortality\":0.1,\"demographics\":{}}", NULL, "diagnoses: missing"},
    {"{\"diagnoses\":" DX "}", NULL, "mortality: missing"},
    {"{\"mortality\":0.1,\"diagnosis\":" DX "}", NULL, "diagnosis: unknown field"},
    {"{\"mortality\":0.1,\"mortality\":0.2}", NULL, "mortality: duplicate field"},
    {"{\"source\":[\"x\"],\"mortality\":0.1}", NULL, "source: must be a string"},
    {"[1,2,3]", NULL, "the top level must be a JSON object"},
    {"", NULL, "not valid JSON near byte 0"},
    {NULL, "tests/data/priors/bad-duplicate-code.json", "diagnoses[2].code: duplicate of diagnoses[0] (428.0)"},
    {NULL, "tests/data/priors/bad-age-overlap.json", "demographics.age[2]: overlaps demographics.age[1]"},
    {NULL, "tests/data/priors/bad-missing-religion.json", "demographics.religion: missing"},
};

/* A diagnosis's "age" range; the message after "<file>: " must be exactly `expect`. */
static const struct bad_case age_cases[] = {
    {PRIOR("0.1", AGED("{\"min\":0,\"max\":0}"), GENDER, AGE), NULL, NULL}, /* controls: valid ranges */
    {PRIOR("0.1", AGED("{\"max\":120,\"min\":0,\"_c\":1}"), GENDER, AGE), NULL, NULL},
    {PRIOR("0.1", AGED("0"), GENDER, AGE), NULL, "diagnoses[3].age: must be an object"},
    {PRIOR("0.1", AGED("[0,0]"), GENDER, AGE), NULL, "diagnoses[3].age: must be an object"},
    {PRIOR("0.1", AGED("null"), GENDER, AGE), NULL, "diagnoses[3].age: must be an object"},
    {PRIOR("0.1", AGED("{\"min\":0}"), GENDER, AGE), NULL, "diagnoses[3].age.max: missing"},
    {PRIOR("0.1", AGED("{\"max\":0}"), GENDER, AGE), NULL, "diagnoses[3].age.min: missing"},
    {PRIOR("0.1", AGED("{\"min\":5,\"max\":2}"), GENDER, AGE), NULL,
     "diagnoses[3].age: min 5 is greater than max 2"},
    {PRIOR("0.1", AGED("{\"min\":0,\"max\":121}"), GENDER, AGE), NULL,
     "diagnoses[3].age.max: must be an integer in [0, 120]"},
    {PRIOR("0.1", AGED("{\"min\":-1,\"max\":0}"), GENDER, AGE), NULL,
     "diagnoses[3].age.min: must be an integer in [0, 120]"},
    {PRIOR("0.1", AGED("{\"min\":1.5,\"max\":3}"), GENDER, AGE), NULL,
     "diagnoses[3].age.min: must be an integer in [0, 120]"},
    {PRIOR("0.1", AGED("{\"min\":0,\"max\":\"0\"}"), GENDER, AGE), NULL,
     "diagnoses[3].age.max: must be an integer in [0, 120]"},
    {PRIOR("0.1", AGED("{\"min\":0,\"max\":0,\"weight\":1}"), GENDER, AGE), NULL,
     "diagnoses[3].age.weight: unknown field"},
    {PRIOR("0.1", AGED("{\"min\":0,\"max\":0,\"min\":0}"), GENDER, AGE), NULL,
     "diagnoses[3].age.min: duplicate field"},
};

/* A fourth diagnosis, V50.2, with extra members: per-diagnosis marginals. */
#define OWN(members) DX3("{\"code\":\"V50.2\",\"weight\":1" members "}")
#define OWN_ALL ",\"gender\":{\"M\":1},\"insurance\":{\"Private\":3,\"Medicaid\":1},\"marital_status\":{\"SINGLE\":1}"

/* Per-diagnosis marginals; the message after "<file>: " must be exactly `expect`. */
static const struct bad_case own_cases[] = {
    {PRIOR("0.1", OWN(OWN_ALL), GENDER, AGE), NULL, NULL}, /* controls: valid marginals */
    {PRIOR("0.1", OWN(",\"marital_status\":{\"NEVER MARRIED\":2,\"_c\":1}"), GENDER, AGE), NULL, NULL},
    {PRIOR("0.1", OWN(",\"gender\":\"M\""), GENDER, AGE), NULL, "diagnoses[3].gender: must be an object"},
    {PRIOR("0.1", OWN(",\"gender\":[\"M\"]"), GENDER, AGE), NULL, "diagnoses[3].gender: must be an object"},
    {PRIOR("0.1", OWN(",\"insurance\":null"), GENDER, AGE), NULL, "diagnoses[3].insurance: must be an object"},
    {PRIOR("0.1", OWN(",\"insurance\":{}"), GENDER, AGE), NULL, "diagnoses[3].insurance: must not be empty"},
    {PRIOR("0.1", OWN(",\"marital_status\":{\"SINGLE\":0}"), GENDER, AGE), NULL,
     "diagnoses[3].marital_status[\"SINGLE\"]: must be a positive number"},
    {PRIOR("0.1", OWN(",\"marital_status\":{\"SINGLE\":\"1\"}"), GENDER, AGE), NULL,
     "diagnoses[3].marital_status[\"SINGLE\"]: must be a positive number"},
    {PRIOR("0.1", OWN(",\"insurance\":{\"Private\":1,\"Medicaid\":-1}"), GENDER, AGE), NULL,
     "diagnoses[3].insurance[\"Medicaid\"]: must be a positive number"},
    {PRIOR("0.1", OWN(",\"gender\":{\"M\":1,\"M\":2}"), GENDER, AGE), NULL,
     "diagnoses[3].gender[\"M\"]: duplicate value"},
    {PRIOR("0.1", OWN(",\"gender\":{\"\":1}"), GENDER, AGE), NULL,
     "diagnoses[3].gender[\"\"]: a value must be 1 to 256 bytes without control characters"},
    {PRIOR("0.1", OWN(",\"gender\":{\"M\":1},\"gender\":{\"F\":1}"), GENDER, AGE), NULL,
     "diagnoses[3].gender: duplicate field"},
    {PRIOR("0.1", OWN(",\"religion\":{\"CATHOLIC\":1}"), GENDER, AGE), NULL, "diagnoses[3].religion: unknown field"},
    {PRIOR("0.1", OWN(",\"ethnicity\":{\"WHITE\":1}"), GENDER, AGE), NULL, "diagnoses[3].ethnicity: unknown field"},
};

static void check_bad(const struct bad_case *c, int exact)
{
    char path[4096];
    struct error err;
    struct prior *p = NULL;
    const char *name = "prior.json";

    error_clear(&err);
    if (c->text) {
        p = prior_parse(c->text, strlen(c->text), name, &err);
    } else {
        repo_path(path, sizeof path, c->file);
        name = path;
        p = prior_load(path, &err);
    }
    if (!c->expect) {
        if (!p)
            fail_msg("control case rejected: %s", err.msg);
        prior_free(&p);
        return;
    }
    if (p)
        fail_msg("accepted a bad prior (expected \"%s\")", c->expect);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    if (strncmp(err.msg, name, strlen(name)) != 0 || strncmp(err.msg + strlen(name), ": ", 2) != 0)
        fail_msg("message does not start with the file name: %s", err.msg);
    if (exact ? strcmp(err.msg + strlen(name) + 2, c->expect) != 0 : !strstr(err.msg, c->expect))
        fail_msg("message \"%s\" %s \"%s\"", err.msg, exact ? "is not \"<file>: \" and" : "lacks", c->expect);
}

static void test_bad_priors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        check_bad(&bad_cases[i], 0);
    for (i = 0; i < sizeof age_cases / sizeof age_cases[0]; i++)
        check_bad(&age_cases[i], 1);
    for (i = 0; i < sizeof own_cases / sizeof own_cases[0]; i++)
        check_bad(&own_cases[i], 1);
}

static struct prior *parse_ok(const char *text)
{
    struct error err;
    struct prior *p = NULL;

    error_clear(&err);
    if (!(p = prior_parse(text, strlen(text), "prior.json", &err)))
        fail_msg("rejected: %s", err.msg);
    return p;
}

/* The members are parsed in the file's order with their weights; diagnoses without them have none. */
static void test_own_marginals_parse(void **state)
{
    struct prior *p = parse_ok(PRIOR("0.1", OWN(OWN_ALL), GENDER, AGE));
    const struct prior_diagnosis *d = NULL;
    size_t i;

    (void)state;
    assert_int_equal(p->ndiagnoses, 4);
    for (i = 0; i < 3; i++)
        assert_true(p->diagnoses[i].gender.n == 0 && p->diagnoses[i].insurance.n == 0 &&
                    p->diagnoses[i].marital_status.n == 0 && !p->diagnoses[i].gender.items);
    d = &p->diagnoses[3];
    assert_true(d->gender.n == 1 && d->insurance.n == 2 && d->marital_status.n == 1);
    assert_string_equal(d->gender.items[0].value, "M");
    assert_string_equal(d->insurance.items[0].value, "Private");
    assert_string_equal(d->insurance.items[1].value, "Medicaid");
    assert_true(d->insurance.items[0].weight == 3.0 && d->insurance.total == 4.0);
    assert_string_equal(d->marital_status.items[0].value, "SINGLE");
    assert_int_equal(p->insurance.n, 1); /* the global marginals are untouched */
    assert_string_equal(p->insurance.items[0].value, "Medicare");
    prior_free(&p);
}

static void drop_own(struct prior_marginal *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->items[i].value);
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

/* One draw each: a prior with per-diagnosis marginals and the same prior without them leave every stream at the
 * same place and agree on every value but the three, which come from the diagnosis's own marginal. */
static void test_own_marginals_draw_order(void **state)
{
    struct prior *own = parse_ok(PRIOR("0.1", OWN(OWN_ALL), GENDER, AGE));
    struct prior *plain = parse_ok(PRIOR("0.1", OWN(OWN_ALL), GENDER, AGE));
    const struct prior_diagnosis *dx = NULL;
    size_t i, n[2] = {0}, private_ins[2] = {0}, flipped = 0;
    struct prior_draw a, b;
    struct rng ra, rb;

    (void)state;
    drop_own(&plain->diagnoses[3].gender);
    drop_own(&plain->diagnoses[3].insurance);
    drop_own(&plain->diagnoses[3].marital_status);
    for (i = 0; i < 40000; i++) {
        int uniform = (int)(i & 1);

        rng_seed(&ra, SEED, i);
        rng_seed(&rb, SEED, i);
        prior_sample(own, &ra, uniform, &a);
        prior_sample(plain, &rb, uniform, &b);
        assert_true(rng_equal(&ra, &rb));
        dx = a.diagnosis;
        assert_string_equal(dx->code, b.diagnosis->code);
        assert_true(a.expire == b.expire && a.age == b.age && strcmp(a.ethnicity, b.ethnicity) == 0 &&
                    strcmp(a.language, b.language) == 0 && strcmp(a.religion, b.religion) == 0);
        if (diagnosis_index(own, dx) != 3) {
            assert_true(same_draw(&a, &b));
            continue;
        }
        category_index(&dx->gender, a.gender); /* the diagnosis's own strings */
        category_index(&dx->insurance, a.insurance);
        category_index(&dx->marital_status, a.marital_status);
        assert_string_equal(b.insurance, "Medicare");
        flipped += strcmp(b.gender, "F") == 0;
        n[uniform]++;
        private_ins[uniform] += strcmp(a.insurance, "Private") == 0;
    }
    assert_true(flipped > 0); /* without its own marginal V50.2 met F */
    assert_frequency("own insurance Private", private_ins[0], n[0], 3.0 / 4.0);
    assert_frequency("uniform own insurance Private", private_ins[1], n[1], 1.0 / 2.0);
    prior_free(&own);
    prior_free(&plain);
}

static void expect_error(const char *text, size_t len, const char *expect)
{
    struct error err;
    struct prior *p = NULL;

    error_clear(&err);
    p = prior_parse(text, len, "x.json", &err);
    assert_null(p);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    if (!strstr(err.msg, expect))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, expect);
}

/* The byte offset in a "not valid JSON near byte N" message; cJSON may point at the bad byte or the next. */
static void assert_near(const char *msg, size_t bad)
{
    const char *at = strstr(msg, "not valid JSON near byte ");
    char *end = NULL;
    unsigned long n;

    if (!at)
        fail_msg("no syntax error in \"%s\"", msg);
    n = strtoul(at + strlen("not valid JSON near byte "), &end, 10);
    if (n < bad || n > bad + 1)
        fail_msg("\"%s\": expected byte %zu or %zu", msg, bad, bad + 1);
}

static void syntax_error_at(const char *text, size_t len, size_t bad)
{
    struct error err;

    error_clear(&err);
    assert_null(prior_parse(text, len, "x.json", &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_near(err.msg, bad);
}

/* Syntax errors and trailing data name the byte (and line) where the parser stopped. */
static void test_syntax_offsets(void **state)
{
    static const char doubled[] = "{\"mortality\": 0.1,, \"diagnoses\": []}";
    static const char trailing[] = PRIOR("0.1", DX, GENDER, AGE) "  x";
    char path[4096], text[1024];
    struct error err;
    size_t len;
    FILE *f = NULL;

    (void)state;
    syntax_error_at(doubled, strlen(doubled), (size_t)(strstr(doubled, ",,") - doubled) + 1);
    syntax_error_at(trailing, strlen(trailing), strlen(trailing) - 1);
    /* bad-syntax.json lacks the comma before "demographics" on its fourth line. */
    repo_path(path, sizeof path, "tests/data/priors/bad-syntax.json");
    assert_non_null(f = fopen(path, "rb"));
    len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    assert_non_null(strstr(text, "\"demographics\""));
    error_clear(&err);
    assert_null(prior_load(path, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_near(err.msg, (size_t)(strstr(text, "\"demographics\"") - text));
    assert_non_null(strstr(err.msg, "(line 4, column "));
}

/* A valid prior whose comment field nests `depth` arrays. */
static void nested_prior(struct buf *b, size_t depth)
{
    size_t i;

    buf_reset(b);
    assert_int_equal(buf_puts(b, "{\"_c\":"), 0);
    for (i = 0; i < depth; i++)
        assert_int_equal(buf_putc(b, '['), 0);
    for (i = 0; i < depth; i++)
        assert_int_equal(buf_putc(b, ']'), 0);
    assert_int_equal(buf_puts(b, ",\"mortality\":0.1,\"diagnoses\":" DX ",\"demographics\":{\"gender\":" GENDER
                                 ",\"age\":" AGE "," REST "}}"),
                     0);
}

static void test_limits(void **state)
{
    static const char nul[] = "{\"mortality\":0.1,\0\"diagnoses\":[]}";
    struct buf b;
    struct error err;
    struct prior *p = NULL;
    char expect[64];
    size_t i;

    (void)state;
    buf_init(&b, 0);
    snprintf(expect, sizeof expect, "NUL byte at byte %zu", strlen(nul));
    expect_error(nul, sizeof nul - 1, expect);
    nested_prior(&b, 20); /* reasonable nesting in a comment is fine */
    error_clear(&err);
    p = prior_parse(b.data, b.len, "x.json", &err);
    if (!p)
        fail_msg("20 levels rejected: %s", err.msg);
    prior_free(&p);
    nested_prior(&b, 5000); /* absurd nesting is refused before the recursive parser runs */
    expect_error(b.data, b.len, "nested deeper than");
    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "{\"mortality\":0.1,\"diagnoses\":["), 0);
    for (i = 0; i < 100001; i++)
        assert_int_equal(buf_printf(&b, "%s{\"code\":\"428.0\",\"weight\":1}", i ? "," : ""), 0);
    assert_int_equal(buf_puts(&b, "]}"), 0);
    expect_error(b.data, b.len, "x.json: diagnoses: more than 100000 entries");
    buf_free(&b);
}

static void test_load_errors(void **state)
{
    struct error err;
    struct prior *p = NULL;

    (void)state;
    error_clear(&err);
    p = prior_load("tests/data/priors/no-such-prior.json", &err);
    assert_null(p);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "cannot open 'tests/data/priors/no-such-prior.json'"));
    prior_free(&p); /* NULL is fine */
    prior_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_counts),   cmocka_unit_test(test_shipped_newborn_ages),
        cmocka_unit_test(test_shipped_frequencies), cmocka_unit_test(test_shipped_uniform),
        cmocka_unit_test(test_shipped_newborn_demographics),
        cmocka_unit_test(test_determinism),      cmocka_unit_test(test_good_small),
        cmocka_unit_test(test_small_conditional), cmocka_unit_test(test_age_range_file),
        cmocka_unit_test(test_age_range_draw_order), cmocka_unit_test(test_own_marginals_parse),
        cmocka_unit_test(test_own_marginals_draw_order),
        cmocka_unit_test(test_bad_priors),       cmocka_unit_test(test_syntax_offsets),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_load_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
