/* details.c - the parts of a record no model is asked for: stay dates, birth date, synthetic name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipeline.h"
#include "util/date.h"
#include "util/rng.h"

/* A stream of its own, so the details do not depend on how many draws the backend made. */
#define DETAILS_STREAM_SALT UINT64_C(0x6C6C6D73796E6474)
/* Admissions fall in [2020-01-01, 2025-01-01). */
#define ADMIT_FIRST_YEAR 2020
#define ADMIT_SPAN_DAYS 1827
#define MAX_STAY_DAYS 60

static const char *const given_female[] = {
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan", "Margaret", "Dorothy",
    "Lisa", "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth", "Sharon", "Michelle",
    "Laura", "Sarah", "Kimberly", "Deborah", "Jessica", "Shirley", "Cynthia", "Angela", "Melissa",
};
static const char *const given_male[] = {
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Charles", "Joseph", "Thomas",
    "Christopher", "Daniel", "Paul", "Mark", "Donald", "George", "Kenneth", "Steven", "Edward", "Brian",
    "Ronald", "Anthony", "Kevin", "Jason", "Matthew", "Gary", "Timothy", "Jose", "Larry", "Jeffrey",
};
static const char *const family_names[] = {
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void format_datetime(int64_t day, unsigned minute_of_day, char *out, size_t n)
{
    int y;
    unsigned m, d;

    civil_from_days(day, &y, &m, &d);
    snprintf(out, n, "%04d-%02u-%02uT%02u:%02u:00Z", y, m, d, minute_of_day / 60, minute_of_day % 60);
}

/* Length of stay in days: log-normal around 4 days, as inpatient stays are right-skewed. */
static int64_t draw_stay_days(struct rng *r)
{
    double days = exp(1.4 + 0.7 * rng_normal(r));

    if (days < 1)
        days = 1;
    if (days > MAX_STAY_DAYS)
        days = MAX_STAY_DAYS;
    return (int64_t)days;
}

static int add_dates(struct record *rec, struct rng *r)
{
    int64_t admit_day = days_from_civil(ADMIT_FIRST_YEAR, 1, 1) + (int64_t)rng_below(r, ADMIT_SPAN_DAYS);
    unsigned admit_minute = (unsigned)rng_below(r, (uint64_t)24 * 60);
    int64_t disch_day = admit_day + draw_stay_days(r);
    unsigned disch_minute = (unsigned)rng_below(r, (uint64_t)24 * 60);
    const char *age_s = record_get(rec, F_AGE);
    long age = age_s ? strtol(age_s, NULL, 10) : 0;
    int y;
    unsigned m, d;
    char buf[32];

    format_datetime(admit_day, admit_minute, buf, sizeof buf);
    if (record_set(rec, F_ADMITTIME, buf) < 0)
        return -1;
    format_datetime(disch_day, disch_minute, buf, sizeof buf);
    if (record_set(rec, F_DISCHTIME, buf) < 0)
        return -1;
    /* Birth date: `age` whole years before admission, on a random earlier day of that year of life. */
    civil_from_days(admit_day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    civil_from_days(days_from_civil(y - (int)age, m, d) - (int64_t)rng_below(r, 365), &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
    return record_set(rec, F_BIRTHDATE, buf);
}

static int add_name(struct record *rec, struct rng *r)
{
    const char *gender = record_get(rec, F_GENDER);
    int female = gender && (gender[0] == 'F' || gender[0] == 'f');
    const char *given = female ? given_female[rng_below(r, COUNT(given_female))]
                               : given_male[rng_below(r, COUNT(given_male))];

    if (record_set(rec, F_NAME_GIVEN, given) < 0)
        return -1;
    return record_set(rec, F_NAME_FAMILY, family_names[rng_below(r, COUNT(family_names))]);
}

int record_add_synthetic_details(struct record *rec, uint64_t seed)
{
    struct rng r;

    rng_seed(&r, seed ^ DETAILS_STREAM_SALT, rec->index);
    if (add_dates(rec, &r) < 0)
        return -1;
    return add_name(rec, &r);
}
