/* test_prompt.c - unit tests of prompt templates: shipped prompts in every mode, format errors, system message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prompt/prompt.h"

#define NOTE_NO_PRIOR "No population statistics are given; use your own judgement."
#define NOTE_NO_CARD "No reference knowledge is available for this disease."

static const char *const sections[] = {
    "[Task]", "[Examples]", "[Description]", "[Retrieval]", "[Steps]", "[Final Output]",
};

/* Values the record-so-far holds; none of them appears in a shipped template. */
static const struct {
    const char *field;
    const char *values[3]; /* [0] for a single field, [1] and [2] when the field repeats */
} record_values[] = {
    { F_GENDER, { "M", NULL, NULL } },
    { F_AGE, { "58", NULL, NULL } },
    { F_INSURANCE, { "Private", NULL, NULL } },
    { F_LANGUAGE, { "SPAN", NULL, NULL } },
    { F_RELIGION, { "JEWISH", NULL, NULL } },
    { F_MARITAL, { "DIVORCED", NULL, NULL } },
    { F_ETHNICITY, { "HISPANIC/LATINO - DOMINICAN", NULL, NULL } },
    { F_ICD9, { "577.0", "303.90", "276.51" } },
    { F_EXPIRE, { "0", NULL, NULL } },
    { F_CPT, { NULL, "74177", "43262" } },
    { F_ICD9_PROC, { NULL, "54.91", "34.91" } },
    { F_PRESCRIPTION, { NULL, "MAIN | Hydromorphone | HYDR2I | 0.5 | mg | 1 | SYR | IV",
                        "BASE | NS | NS1000 | 1000 | ml | 1 | BAG | IV" } },
};

/* What the prior draw puts into the prompt (modes full and prior). */
static const char *const demo_strings[] = {
    "[GENDER]: F", "[AGE]: 83", "[ETHNICITY]: ASIAN - VIETNAMESE", "[INSURANCE]: Medicaid", "[LANGUAGE]: VIET",
    "[RELIGION]: BUDDHIST", "[MARITAL_STATUS]: WIDOWED",
    "These values were drawn from the target population's statistics",
};
static const char *const dx_strings[] = {
    "[ICD9_CODE]: 995.92", "Severe sepsis", "[HOSPITAL_EXPIRE_FLAG]: 1", "27.3%",
};
static const char *const kb_strings[] = {
    "Acute pancreatitis",
    "Pseudocyst formation and pancreatic necrosis can follow.",
    "Fluid resuscitation, analgesia and early enteral feeding.",
};

struct fixture {
    struct prior_diagnosis dx;
    struct prior_draw draw;
    struct prior prior;
    struct kb_card card;
};

static void make_fixture(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->dx.code = (char *)(uintptr_t)"995.92";
    f->dx.description = (char *)(uintptr_t)"Severe sepsis";
    f->dx.weight = 1.0;
    f->dx.mortality = 0.273;
    f->draw.diagnosis = &f->dx;
    f->draw.expire = 1;
    f->draw.gender = "F";
    f->draw.age = 83;
    f->draw.ethnicity = "ASIAN - VIETNAMESE";
    f->draw.insurance = "Medicaid";
    f->draw.language = "VIET";
    f->draw.religion = "BUDDHIST";
    f->draw.marital_status = "WIDOWED";
    f->prior.mortality = 0.099;
    f->card.icd9 = (char *)(uintptr_t)"577.0";
    f->card.name = (char *)(uintptr_t)"Acute pancreatitis";
    f->card.complications = (char *)(uintptr_t)"Pseudocyst formation and pancreatic necrosis can follow.";
    f->card.treatments = (char *)(uintptr_t)"Fluid resuscitation, analgesia and early enteral feeding.";
}

static const char *record_value(const char *field, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof record_values / sizeof record_values[0]; i++)
        if (!strcmp(record_values[i].field, field))
            return record_values[i].values[n];
    return NULL;
}

/* y_<i: the fields every step before `upto` produces. */
static void make_record(struct record *r, size_t upto)
{
    size_t j, k;
    const char *v;

    for (j = 0; j < upto; j++) {
        for (k = 0; step_table[j].fields[k]; k++) {
            v = record_value(step_table[j].fields[k], 0);
            assert_non_null(v);
            assert_int_equal(record_add(r, step_table[j].fields[k], v), 0);
        }
        for (k = 1; step_table[j].repeated && k <= 2; k++) {
            v = record_value(step_table[j].repeated, k);
            assert_non_null(v);
            assert_int_equal(record_add(r, step_table[j].repeated, v), 0);
        }
    }
}

static const char *root_dir(void)
{
    const char *root = getenv("LLMSYN_ROOT");

    return root && *root ? root : ".";
}

static char *path_of(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

static void render_ok(const struct prompt_template *t, const struct prompt_inputs *in, struct buf *out)
{
    struct error err = { 0 };

    buf_reset(out);
    if (prompt_render(t, in, out, &err) != 0)
        fail_msg("render failed: %s", err.msg);
    assert_int_equal(err.code, LLMSYN_OK);
}

/* The six headers each once, on their own lines, in order; every placeholder replaced. */
static void check_structure(const char *text, const struct step_def *st)
{
    char line[128], hdr[32];
    const char *at = text, *p;
    size_t i, k;

    snprintf(line, sizeof line, "Step: %s\n", st->name);
    assert_memory_equal(text, line, strlen(line));
    for (i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        snprintf(hdr, sizeof hdr, "\n%s\n", sections[i]);
        assert_int_equal(count_of(text, hdr), 1);
        p = strstr(text, hdr);
        assert_true(p > at);
        at = p;
    }
    assert_null(strstr(text, "{{"));
    assert_null(strstr(text, "\n#"));
    for (k = 0; st->fields[k]; k++) {
        snprintf(line, sizeof line, "[%s]:", st->fields[k]);
        assert_non_null(strstr(at, line));
    }
    if (st->repeated) {
        snprintf(line, sizeof line, "[%s]:", st->repeated);
        assert_true(count_of(at, line) >= 2);
    }
}

static void check_strings(const char *text, const char *const *s, size_t n, int present)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (present && !strstr(text, s[i]))
            fail_msg("'%s' missing from:\n%s", s[i], text);
        if (!present && strstr(text, s[i]))
            fail_msg("'%s' unexpectedly in:\n%s", s[i], text);
    }
}

/* Every value of the record appears as a `[FIELD]: value` line, and not without the record. */
static void check_previous(const struct record *r, const char *with, const char *without)
{
    char line[256];
    size_t i;

    for (i = 0; i < r->nfields; i++) {
        snprintf(line, sizeof line, "\n[%s]: %s\n", r->fields[i].name, r->fields[i].value);
        if (!strstr(with, line))
            fail_msg("previous field '%s' missing from:\n%s", line, with);
        assert_null(strstr(without, line));
    }
}

static void check_step(const struct prompt_template *t, const struct step_def *st, size_t idx, llmsyn_mode mode)
{
    struct fixture f;
    struct record rec = { 0 }, empty = { 0 };
    struct prompt_inputs in = { 0 };
    struct buf with, without, nocard;
    int is_demo = !strcmp(st->name, "demographics"), is_dx = !strcmp(st->name, "main_diagnosis");
    int uses_kb = !is_demo && !is_dx, has_prior = mode != LLMSYN_MODE_BASE;

    buf_init(&with, 0);
    buf_init(&without, 0);
    buf_init(&nocard, 0);
    make_fixture(&f);
    make_record(&rec, idx);
    in.mode = mode;
    in.draw = &f.draw;
    in.prior = &f.prior;
    in.card = &f.card;
    in.previous = &rec;
    render_ok(t, &in, &with);
    in.previous = &empty;
    render_ok(t, &in, &without);
    in.previous = &rec;
    in.card = NULL;
    render_ok(t, &in, &nocard);

    check_structure(buf_str(&with), st);
    check_structure(buf_str(&without), st);
    check_previous(&rec, buf_str(&with), buf_str(&without));
    if (!is_demo)
        assert_non_null(strstr(buf_str(&without), "(none)"));
    check_strings(buf_str(&with), demo_strings, sizeof demo_strings / sizeof demo_strings[0], is_demo && has_prior);
    check_strings(buf_str(&with), dx_strings, sizeof dx_strings / sizeof dx_strings[0], is_dx && has_prior);
    assert_int_equal(strstr(buf_str(&with), NOTE_NO_PRIOR) != NULL, (is_demo || is_dx) && !has_prior);
    check_strings(buf_str(&with), kb_strings, sizeof kb_strings / sizeof kb_strings[0],
                  uses_kb && mode == LLMSYN_MODE_FULL);
    check_strings(buf_str(&nocard), kb_strings, sizeof kb_strings / sizeof kb_strings[0], 0);
    assert_int_equal(strstr(buf_str(&nocard), NOTE_NO_CARD) != NULL, uses_kb && mode == LLMSYN_MODE_FULL);
    assert_null(strstr(buf_str(&with), NOTE_NO_CARD));

    record_free(&rec);
    buf_free(&with);
    buf_free(&without);
    buf_free(&nocard);
}

static void test_shipped_prompts(void **state)
{
    static const llmsyn_mode modes[] = { LLMSYN_MODE_FULL, LLMSYN_MODE_PRIOR, LLMSYN_MODE_BASE };
    char *dir = path_of(root_dir(), "prompts");
    size_t i, m;

    (void)state;
    assert_true(step_count >= 5);
    for (i = 0; i < step_count; i++) {
        struct error err = { 0 };
        struct prompt_template *t = prompt_template_load(dir, &step_table[i], &err);

        if (!t)
            fail_msg("%s: %s", step_table[i].name, err.msg);
        for (m = 0; m < sizeof modes / sizeof modes[0]; m++)
            check_step(t, &step_table[i], i, modes[m]);
        prompt_template_free(&t);
        assert_null(t);
    }
    free(dir);
}

static const struct {
    const char *name;
} bad_cases[] = {
    { "missing_section" }, { "missing_final_output" }, { "out_of_order" }, { "duplicate_section" },
    { "unknown_placeholder" }, { "unterminated" }, { "misspelt_header" }, { "text_before_task" },
    { "invalid_utf8" },
};

static char *read_expected(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t n;
    char *out;

    if (!f)
        fail_msg("cannot open '%s'", path);
    if (!fgets(line, sizeof line, f))
        fail_msg("'%s' is empty", path);
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    assert_true(n > 0);
    out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, line, n + 1);
    return out;
}

/* "<something>.prompt:<digits>: " somewhere in msg. */
static int names_file_line(const char *msg)
{
    const char *p = strstr(msg, ".prompt:");
    size_t digits;

    if (!p)
        return 0;
    p += strlen(".prompt:");
    digits = strspn(p, "0123456789");
    return digits > 0 && p[digits] == ':';
}

static void test_bad_templates(void **state)
{
    char *data = path_of(root_dir(), "tests/data/prompts");
    const struct step_def *st = step_find("demographics");
    size_t i;

    (void)state;
    assert_non_null(st);
    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        struct error err = { 0 };
        char *dir = path_of(data, bad_cases[i].name);
        char *exp_path = path_of(dir, "expected");
        char *expected = read_expected(exp_path);
        struct prompt_template *t = prompt_template_load(dir, st, &err);

        if (t)
            fail_msg("%s: loaded a bad template", bad_cases[i].name);
        assert_int_equal(err.code, LLMSYN_E_INPUT);
        if (!names_file_line(err.msg) || !strstr(err.msg, expected))
            fail_msg("%s: message '%s' lacks '%s'", bad_cases[i].name, err.msg, expected);
        assert_non_null(strstr(err.msg, dir));
        free(expected);
        free(exp_path);
        free(dir);
    }
    free(data);
}

static const char *const mini_fields[] = { "A", NULL };
static const struct step_def mini_step = { "mini", mini_fields, "B", 2, 0 };

static void test_parse_and_render_exact(void **state)
{
    const char *text = "\xef\xbb\xbf# comment\r\n\r\n[Task]\r\nDo {{ step }} now.\r\n# dropped\n[Examples]  \nE\n"
                       "[Description]\nD {{x\n[Retrieval]\n{{previous}}\n[Steps]\nS\n[Final Output]\n{{fields}}";
    const char *want;
    struct error err = { 0 };
    struct prompt_template *t;
    struct prompt_inputs in = { 0 };
    struct buf out;

    (void)state;
    /* "{{x" has no closing braces on its line: an error, even though "}}" follows later in the file. */
    t = prompt_template_parse(text, "mini.prompt", &mini_step, &err);
    assert_null(t);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "mini.prompt:9: unterminated"));

    error_clear(&err);
    text = "\xef\xbb\xbf# comment\r\n\r\n[Task]\r\nDo {{ step }} now.\r\n# dropped\n[Examples]  \nE\n"
           "[Description]\nD {x} }}\n[Retrieval]\n{{previous}}\n[Steps]\nS\n[Final Output]\n{{fields}}";
    want = "Step: mini\n\n[Task]\nDo mini now.\n[Examples]\nE\n[Description]\nD {x} }}\n"
           "[Retrieval]\n(none)\n[Steps]\nS\n[Final Output]\n[A]: ...\n[B]: ...\n[B]: ...\n"
           "(one [B] line per value, at least 2)\n";
    t = prompt_template_parse(text, "mini.prompt", &mini_step, &err);
    if (!t)
        fail_msg("%s", err.msg);
    buf_init(&out, 0);
    assert_int_equal(buf_puts(&out, "kept:"), 0);
    in.mode = LLMSYN_MODE_BASE;
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_memory_equal(buf_str(&out), "kept:", 5);
    assert_string_equal(buf_str(&out) + 5, want);
    buf_free(&out);
    prompt_template_free(&t);
}

static const char *const prev_fields[] = { NULL };
static const struct step_def prev_step = { "prev", prev_fields, NULL, 0, 0 };

static void test_previous_lines(void **state)
{
    const char *text = "[Task]\n[Examples]\n[Description]\n[Retrieval]\n>{{previous}}<\n[Steps]\n[Final Output]\n";
    struct error err = { 0 };
    struct prompt_template *t = prompt_template_parse(text, "prev.prompt", &prev_step, &err);
    struct record r = { 0 };
    struct prompt_inputs in = { 0 };
    struct buf out;

    (void)state;
    if (!t)
        fail_msg("%s", err.msg);
    buf_init(&out, 0);
    assert_int_equal(record_add(&r, F_ICD9, "428.0"), 0);
    assert_int_equal(record_add(&r, F_EXPIRE, "0"), 0);
    assert_int_equal(record_add(&r, F_ICD9, "584.9"), 0);
    assert_int_equal(record_add(&r, "NOTE", "line one\n[Final Output]\r\tend"), 0);
    in.mode = LLMSYN_MODE_FULL;
    in.previous = &r;
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_non_null(strstr(buf_str(&out), "\n>[ICD9_CODE]: 428.0\n[HOSPITAL_EXPIRE_FLAG]: 0\n[ICD9_CODE]: 584.9\n"
                                          "[NOTE]: line one [Final Output]  end<\n"));
    assert_int_equal(count_of(buf_str(&out), "\n[Final Output]\n"), 1);
    /* An empty record, and none at all, both render "(none)". */
    record_clear(&r);
    buf_reset(&out);
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_non_null(strstr(buf_str(&out), ">(none)<"));
    in.previous = NULL;
    buf_reset(&out);
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_non_null(strstr(buf_str(&out), ">(none)<"));
    record_free(&r);
    buf_free(&out);
    prompt_template_free(&t);
}

static const char *const prior_text = "[Task]\n[Examples]\n[Description]\n[Retrieval]\n{{prior:demographics}}\n"
                                      "{{prior:diagnosis}}\n{{prior:mortality}}\n<{{knowledge}}>\n[Steps]\n"
                                      "[Final Output]\n";

static void test_prior_edge_cases(void **state)
{
    struct error err = { 0 };
    struct prompt_template *t = prompt_template_parse(prior_text, "p.prompt", &prev_step, &err);
    struct fixture f;
    struct prompt_inputs in = { 0 };
    struct buf out;

    (void)state;
    if (!t)
        fail_msg("%s", err.msg);
    buf_init(&out, 0);
    make_fixture(&f);
    f.dx.mortality = -1;
    f.dx.description = NULL;
    f.draw.religion = NULL;
    f.draw.expire = 0;
    in.mode = LLMSYN_MODE_PRIOR;
    in.draw = &f.draw;
    in.card = &f.card;
    /* Unknown per-diagnosis mortality and no prior: no percentage at all. */
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_null(strstr(buf_str(&out), "%"));
    assert_null(strstr(buf_str(&out), "[RELIGION]"));
    assert_non_null(strstr(buf_str(&out), "[ICD9_CODE]: 995.92\n"));
    assert_non_null(strstr(buf_str(&out), "[HOSPITAL_EXPIRE_FLAG]: 0\n"));
    assert_non_null(strstr(buf_str(&out), "\n<>\n"));
    /* With the prior: the overall mortality instead. */
    in.prior = &f.prior;
    buf_reset(&out);
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_non_null(strstr(buf_str(&out), "overall in-hospital mortality: 9.9%"));
    /* Mode prior without draws is a caller bug: error, and the buffer is left as it was. */
    in.draw = NULL;
    buf_reset(&out);
    assert_int_equal(buf_puts(&out, "before"), 0);
    assert_int_equal(prompt_render(t, &in, &out, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    assert_string_equal(buf_str(&out), "before");
    assert_int_equal(out.len, 6);
    /* Mode base needs no draws. */
    error_clear(&err);
    in.mode = LLMSYN_MODE_BASE;
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_int_equal(count_of(buf_str(&out), NOTE_NO_PRIOR), 3);
    buf_free(&out);
    prompt_template_free(&t);
}

static void test_render_cap(void **state)
{
    struct error err = { 0 };
    struct prompt_template *t = prompt_template_parse(prior_text, "p.prompt", &prev_step, &err);
    struct fixture f;
    struct prompt_inputs in = { 0 };
    struct buf out;

    (void)state;
    if (!t)
        fail_msg("%s", err.msg);
    make_fixture(&f);
    in.mode = LLMSYN_MODE_FULL;
    in.draw = &f.draw;
    in.card = &f.card;
    buf_init(&out, 64);
    assert_int_equal(prompt_render(t, &in, &out, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_NOMEM);
    assert_int_equal(out.len, 0);
    assert_string_equal(buf_str(&out), "");
    buf_free(&out);
    prompt_template_free(&t);
}

static void test_parse_errors_inline(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "", "e.prompt:1: missing section [Task]" },
        { "# only a comment\n", "e.prompt:1: missing section [Task]" },
        { "[Task]\n[Examples]\n[Description]\n[Retrieval]\n{{ }}\n", "e.prompt:5: unknown placeholder '{{ }}'" },
        { "[Task]\n  [Examples]\n", "e.prompt:2: section header '  [Examples]' must be written exactly" },
        { "[Task]\n[Task]\n", "e.prompt:2: duplicate section [Task] (first at line 1)" },
        { "[Task]\n{{knowledge}} {{nope}}\n", "e.prompt:2: unknown placeholder '{{nope}}'" },
        { "[Task]\n\xc0\x80\n", "e.prompt:2: invalid utf-8" },
        { "[Task]\n\xed\xa0\x80\n", "e.prompt:2: invalid utf-8" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct error err = { 0 };
        struct prompt_template *t = prompt_template_parse(cases[i].text, "e.prompt", &prev_step, &err);

        assert_null(t);
        assert_int_equal(err.code, LLMSYN_E_INPUT);
        if (!strstr(err.msg, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].want);
    }
}

static void test_load_missing(void **state)
{
    struct error err = { 0 };

    (void)state;
    assert_null(prompt_template_load("/nonexistent-llmsyn-dir", &step_table[0], &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "/nonexistent-llmsyn-dir/demographics.prompt"));
    error_clear(&err);
    assert_null(prompt_system_load("/nonexistent-llmsyn-dir", &err));
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_non_null(strstr(err.msg, "/nonexistent-llmsyn-dir/system.txt"));
}

/* {{knowledge}} shows the retrieved passages when the pipeline passes them (mode full), the card's prose
 * when it does not, and nothing in the other modes. */
static void test_retrieved_knowledge(void **state)
{
    const char *text = "[Task]\n[Examples]\n[Description]\n[Retrieval]\n<{{knowledge}}>\n[Steps]\n[Final Output]\n";
    const char *retrieved = "Retrieved reference knowledge, most relevant first:\n\n[1] Gout\nJoint pain.\r\x01"
                            "\nSource: MedlinePlus, 'Gout'\n";
    struct error err = { 0 };
    struct prompt_template *t = prompt_template_parse(text, "k.prompt", &prev_step, &err);
    struct fixture f;
    struct prompt_inputs in = { 0 };
    struct buf out;
    size_t i;

    (void)state;
    if (!t)
        fail_msg("%s", err.msg);
    buf_init(&out, 0);
    make_fixture(&f);
    in.mode = LLMSYN_MODE_FULL;
    in.card = &f.card;
    in.retrieved = retrieved;
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    /* Line breaks kept, other control characters made spaces, the trailing newline dropped. */
    assert_non_null(strstr(buf_str(&out), "\n<Retrieved reference knowledge, most relevant first:\n\n[1] Gout\n"
                                          "Joint pain.  \nSource: MedlinePlus, 'Gout'>\n"));
    for (i = 0; i < sizeof kb_strings / sizeof kb_strings[0]; i++)
        assert_null(strstr(buf_str(&out), kb_strings[i]));
    in.retrieved = NULL;
    buf_reset(&out);
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    check_strings(buf_str(&out), kb_strings, sizeof kb_strings / sizeof kb_strings[0], 1);
    assert_null(strstr(buf_str(&out), "[1] Gout"));
    in.retrieved = retrieved;
    in.mode = LLMSYN_MODE_PRIOR;
    in.draw = &f.draw;
    buf_reset(&out);
    assert_int_equal(prompt_render(t, &in, &out, &err), 0);
    assert_non_null(strstr(buf_str(&out), "\n<>\n"));
    buf_free(&out);
    prompt_template_free(&t);
}

static void test_system_message(void **state)
{
    char *dir = path_of(root_dir(), "prompts");
    struct error err = { 0 };
    char *sys = prompt_system_load(dir, &err);
    size_t n;

    (void)state;
    if (!sys)
        fail_msg("%s", err.msg);
    assert_non_null(strstr(sys, "You are a professional medical doctor"));
    assert_int_not_equal(sys[0], '#');
    assert_null(strstr(sys, "\n#"));
    n = strlen(sys);
    assert_true(n > 0 && sys[n - 1] != '\n' && sys[0] != '\n');
    free(sys);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_prompts),
        cmocka_unit_test(test_bad_templates),
        cmocka_unit_test(test_parse_and_render_exact),
        cmocka_unit_test(test_previous_lines),
        cmocka_unit_test(test_prior_edge_cases),
        cmocka_unit_test(test_render_cap),
        cmocka_unit_test(test_parse_errors_inline),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_system_message),
        cmocka_unit_test(test_retrieved_knowledge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
