/* test_eval.c - unit tests of the evaluation: K-S, TVD, MMD, k-anonymity, DCR on hand-made tables; readers; prior extraction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval/fidelity.h"
#include "eval/mimic.h"
#include "eval/prior_extract.h"
#include "eval/privacy.h"
#include "eval/synthetic.h"
#include "eval/table.h"
#include "prior/prior.h"

#define EPS 1e-12

/* Adds a row: ethnicity, religion, expire, codes "A;B" (main first), cpts "X;Y". */
static void add_row(struct eval_table *t, const char *eth, const char *rel, int expire, const char *icd,
                    const char *cpt)
{
    struct error err = {LLMSYN_OK, ""};
    struct eval_row *r = eval_table_add(t, &err);
    char buf[256], *p = NULL, *semi = NULL;

    assert_non_null(r);
    assert_int_equal(eval_row_set_cat(r, EVAL_ETHNICITY, eth, &err), 0);
    assert_int_equal(eval_row_set_cat(r, EVAL_RELIGION, rel, &err), 0);
    r->expire = expire;
    for (int k = 0; k < 2; k++) {
        snprintf(buf, sizeof buf, "%s", k ? cpt : icd);
        for (p = buf; p && *p; p = semi ? semi + 1 : NULL) {
            semi = strchr(p, ';');
            if (semi)
                *semi = '\0';
            assert_int_equal(k ? eval_row_add_cpt(r, p, &err) : eval_row_add_icd9(r, p, &err), 0);
        }
    }
}

static struct eval_dist dist_of(const char *const *keys, size_t n)
{
    struct eval_dist d;
    struct error err = {LLMSYN_OK, ""};
    assert_int_equal(eval_dist_from(keys, n, &d, &err), 0);
    return d;
}

static void test_ks_tvd(void **state)
{
    const char *const a[] = {"A", "A", "B", "B"}, *const b[] = {"A", "A", "A", "B"};
    const char *const c[] = {"A", "A", "A", "B"}, *const d[] = {"B", "B", "B", "A"};
    const char *const x[] = {"X", "Y"};
    struct eval_dist da = dist_of(a, 4), db = dist_of(b, 4), dc = dist_of(c, 4), dd = dist_of(d, 4);
    struct eval_dist dx = dist_of(x, 2), empty = dist_of(x, 0);

    (void)state;
    assert_int_equal(da.n, 2);
    assert_true(fabs(eval_dist_count(&da, "B") - 2) < EPS);
    assert_true(fabs(eval_dist_count(&da, "Z")) < EPS);
    assert_true(fabs(eval_ks(&da, &da)) < EPS);
    assert_true(fabs(eval_tvd(&da, &da)) < EPS);
    /* ties in real frequency go in byte order: A then B; F_real(A) = 0.5, F_syn(A) = 0.75 */
    assert_true(fabs(eval_ks(&da, &db) - 0.25) < EPS);
    assert_true(fabs(eval_tvd(&da, &db) - 0.25) < EPS);
    /* real A 3/4 ranks first: |0.75 - 0.25| = 0.5 */
    assert_true(fabs(eval_ks(&dc, &dd) - 0.5) < EPS);
    assert_true(fabs(eval_tvd(&dc, &dd) - 0.5) < EPS);
    /* disjoint support: 1 for both */
    assert_true(fabs(eval_ks(&da, &dx) - 1) < EPS);
    assert_true(fabs(eval_tvd(&da, &dx) - 1) < EPS);
    assert_true(isnan(eval_ks(&da, &empty)));
    assert_true(isnan(eval_tvd(&empty, &da)));
    eval_dist_free(&da);
    eval_dist_free(&db);
    eval_dist_free(&dc);
    eval_dist_free(&dd);
    eval_dist_free(&dx);
    eval_dist_free(&empty);
}

static double mmd(const struct eval_table *a, const struct eval_table *b, enum eval_pair p)
{
    struct error err = {LLMSYN_OK, ""};
    double v = -1;
    assert_int_equal(eval_mmd2(a, b, p, &v, &err), 0);
    return v;
}

/* Brute force over every pair of points, straight from the paper's formula; k from the one-hot distance. */
static double brute_mmd_main_cpt(const struct eval_table *a, const struct eval_table *b)
{
    const struct eval_table *t[2] = {a, b};
    double s[3] = {0, 0, 0}, n[2] = {0, 0};

    for (int u = 0; u < 2; u++)
        for (size_t i = 0; i < t[u]->n; i++)
            n[u] += (double)t[u]->rows[i].ncpt;
    for (int u = 0; u < 2; u++)
        for (int v = u; v < 2; v++)
            for (size_t i = 0; i < t[u]->n; i++)
                for (size_t j = 0; j < t[v]->n; j++)
                    for (size_t x = 0; x < t[u]->rows[i].ncpt; x++)
                        for (size_t y = 0; y < t[v]->rows[j].ncpt; y++) {
                            const struct eval_row *r = &t[u]->rows[i], *q = &t[v]->rows[j];
                            double dist2 = 2.0 * (strcmp(r->icd9[0], q->icd9[0]) != 0) +
                                           2.0 * (strcmp(r->cpt[x], q->cpt[y]) != 0);
                            s[u + v] += exp(-dist2 / 2.0);
                        }
    return s[0] / (n[0] * n[0]) + s[2] / (n[1] * n[1]) - 2 * s[1] / (n[0] * n[1]);
}

static void test_mmd(void **state)
{
    struct eval_table a = {NULL, 0, 0}, b = {NULL, 0, 0}, c = {NULL, 0, 0}, e = {NULL, 0, 0};
    struct eval_table r1 = {NULL, 0, 0}, r2 = {NULL, 0, 0};

    (void)state;
    add_row(&a, "WHITE", "", 0, "4280", "99223");
    add_row(&b, "WHITE", "", 0, "486", "93306");   /* nothing shared */
    add_row(&c, "WHITE", "", 0, "4280", "93306");  /* main shared, CPT not */
    add_row(&e, "WHITE", "", 0, "4280", "");       /* no pair at all */
    assert_true(fabs(mmd(&a, &a, EVAL_P_MAIN_CPT)) < EPS);
    assert_true(fabs(mmd(&a, &b, EVAL_P_MAIN_CPT) - (2 - 2 * exp(-2.0))) < EPS);
    assert_true(fabs(mmd(&a, &c, EVAL_P_MAIN_CPT) - (2 - 2 * exp(-1.0))) < EPS);
    assert_true(isnan(mmd(&a, &e, EVAL_P_MAIN_CPT)));
    /* the closed form equals the brute-force sum on uneven tables */
    add_row(&r1, "", "", 0, "4280", "99223;93306;99223");
    add_row(&r1, "", "", 1, "486", "99223");
    add_row(&r1, "", "", 0, "0389", "36556;99291");
    add_row(&r2, "", "", 0, "4280", "93306");
    add_row(&r2, "", "", 0, "486", "99291;99223");
    assert_true(fabs(mmd(&r1, &r2, EVAL_P_MAIN_CPT) - brute_mmd_main_cpt(&r1, &r2)) < 1e-12);
    assert_true(mmd(&r1, &r2, EVAL_P_MAIN_CPT) > 0.01);
    /* main-ICD9 pairs: 4280 with 5849 vs 4280 with 5849 = 0; ICD9-CPT on identical tables = 0 */
    assert_true(fabs(mmd(&r1, &r1, EVAL_P_ICD9_CPT)) < EPS);
    eval_table_free(&a);
    eval_table_free(&b);
    eval_table_free(&c);
    eval_table_free(&e);
    eval_table_free(&r1);
    eval_table_free(&r2);
}

static void test_top15(void **state)
{
    struct eval_table real = {NULL, 0, 0}, syn = {NULL, 0, 0};
    struct eval_top top;
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    add_row(&real, "", "", 0, "428.0;401.9;V58.67", "");
    add_row(&real, "", "", 0, "4280;5849", "");
    add_row(&syn, "", "", 0, "4019;0389", "");
    assert_int_equal(eval_top_icd9(&real, &syn, &top, &err), 0);
    assert_int_equal(top.n, 4);
    assert_string_equal(top.code[0], "4280"); /* dots removed: 428.0 and 4280 are one code */
    assert_true(fabs(top.real[0] - 0.4) < EPS);
    assert_true(fabs(top.syn[0]) < EPS);
    assert_true(fabs(top.real_other) < EPS);
    assert_true(fabs(top.syn_other - 0.5) < EPS); /* 0389 is not among the real codes */
    eval_table_free(&real);
    eval_table_free(&syn);
}

static void test_kanonymity(void **state)
{
    struct eval_table t = {NULL, 0, 0};
    struct eval_quasi q;
    struct eval_kanon k;
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    for (int i = 0; i < 8; i++)
        add_row(&t, "WHITE", i % 2 ? "CATHOLIC" : "JEWISH", 0, "4280;5849", "99223");
    add_row(&t, "ASIAN", "", 0, "486", "");
    add_row(&t, "ASIAN", "", 1, "486;4019", "");
    add_row(&t, "WHITE", "", 1, "486", "");
    assert_int_equal(eval_quasi_parse("ethnicity,ICD9_CODE", &q, &err), 0);
    assert_int_equal(q.n, 2);
    assert_int_equal(eval_kanonymity(&t, &q, 7, &k, &err), 0);
    assert_int_equal(k.groups, 3);
    assert_int_equal(k.violating_groups, 2);
    assert_int_equal(k.violating_records, 3);
    assert_int_equal(eval_kanonymity(&t, &q, 15, &k, &err), 0);
    assert_int_equal(k.violating_groups, 3);
    assert_int_equal(k.violating_records, 11);
    assert_int_equal(eval_kanonymity(&t, &q, 1, &k, &err), 0);
    assert_int_equal(k.violating_groups, 0);
    assert_int_equal(eval_quasi_parse("ETHNICITY,RELIGION,EXPIRE_FLAG", &q, &err), 0);
    assert_int_equal(eval_kanonymity(&t, &q, 2, &k, &err), 0);
    assert_int_equal(k.groups, 5); /* WHITE/CATHOLIC, WHITE/JEWISH, ASIAN//0, ASIAN//1, WHITE//1 */
    assert_int_equal(k.violating_records, 3);
    assert_int_equal(eval_quasi_parse("ETHNICITY,BOGUS", &q, &err), LLMSYN_E_USAGE);
    assert_non_null(strstr(err.msg, "'BOGUS'"));
    eval_table_free(&t);
}

static void test_dcr(void **state)
{
    struct eval_table real = {NULL, 0, 0}, syn = {NULL, 0, 0};
    struct eval_dcr d;
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    add_row(&real, "WHITE", "CATHOLIC", 0, "4280;5849", "99223");
    add_row(&real, "ASIAN", "JEWISH", 1, "486", "93306;99291");
    add_row(&syn, "WHITE", "CATHOLIC", 0, "4280;5849", "99223");   /* exact copy of real row 0 */
    add_row(&syn, "WHITE", "JEWISH", 0, "4280", "99223");          /* religion differs, dx {4280} vs {4280,5849} */
    assert_true(fabs(eval_row_distance(&syn.rows[1], &real.rows[0]) - 1.5 / 8) < EPS);
    assert_int_equal(eval_dcr(&real, &syn, &d, &err), 0);
    assert_int_equal(d.exact_matches, 1);
    assert_true(fabs(d.exact_match_rate - 0.5) < EPS);
    assert_true(fabs(d.min) < EPS);
    assert_true(fabs(d.mean - 1.5 / 16) < EPS);
    /* "NOT SPECIFIED" and "UNOBTAINABLE" both mean "not given": equal after folding */
    assert_int_equal(eval_row_set_cat(&syn.rows[1], EVAL_RELIGION, " NOT SPECIFIED ", &err), 0);
    assert_string_equal(eval_row_cat(&syn.rows[1], EVAL_RELIGION), "");
    eval_table_free(&real);
    eval_table_free(&syn);
}

/* Tests run from the repository root, or from $LLMSYN_ROOT when set. */
static void data_path(char *out, size_t size, const char *rel)
{
    const char *root = getenv("LLMSYN_ROOT");
    snprintf(out, size, "%s/../shared/data/%s", root && root[0] ? root : ".", rel);
}

static void test_mimic_and_prior(void **state)
{
    struct eval_table t = {NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};
    struct prior_extract_stats st;
    struct prior *p = NULL;
    char dir[4096], out[] = "/tmp/test_eval_prior_XXXXXX";
    char *text = NULL;
    FILE *fp = NULL;
    int fd = -1;

    (void)state;
    data_path(dir, sizeof dir, "mimic3-demo");
    assert_int_equal(mimic_read(dir, &t, &err), 0);
    assert_int_equal(t.n, 129);
    for (size_t i = 0; i < t.n; i++) {
        assert_true(t.rows[i].expire == 0 || t.rows[i].expire == 1);
        assert_true(t.rows[i].age >= 0 && t.rows[i].age <= 89);
        assert_non_null(strchr("MF", t.rows[i].gender[0]));
    }
    text = prior_extract_json(&t, 11, "test", &st, &err);
    assert_non_null(text);
    assert_int_equal(st.admissions, 129);
    assert_true(st.diagnoses >= 1);
    assert_true(st.suppressed_cells > 0);
    fd = mkstemp(out);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    p = prior_load(out, &err);
    if (!p)
        fail_msg("prior_load: %s", err.msg);
    assert_int_equal(p->ndiagnoses, st.diagnoses);
    for (size_t i = 0; i < p->ndiagnoses; i++)
        assert_true(p->diagnoses[i].weight >= 11);
    for (size_t i = 0; i < p->language.n; i++)
        assert_true(p->language.items[i].weight >= 11);
    prior_free(&p);
    unlink(out);
    free(text);
    /* a threshold no cell reaches fails instead of writing an empty list */
    error_clear(&err);
    assert_null(prior_extract_json(&t, 1000, "test", &st, &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    eval_table_free(&t);
}

static void test_synthetic_missing(void **state)
{
    struct eval_table t = {NULL, 0, 0};
    struct error err = {LLMSYN_OK, ""};

    (void)state;
    assert_int_equal(synthetic_read("/nonexistent/out", &t, &err), LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "/nonexistent/out"));
    eval_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ks_tvd),
        cmocka_unit_test(test_mmd),
        cmocka_unit_test(test_top15),
        cmocka_unit_test(test_kanonymity),
        cmocka_unit_test(test_dcr),
        cmocka_unit_test(test_mimic_and_prior),
        cmocka_unit_test(test_synthetic_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
