/* test_llm_structured.c - structured output: the per-step schema and its JSON answers back to text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/steps.h"
#include "extract/extract.h"
#include "llm/llm_internal.h"

static void test_schema(void **state)
{
    cJSON *s = llm_step_schema(step_find("demographics"));
    const cJSON *props, *req;

    (void)state;
    assert_non_null(s);
    props = cJSON_GetObjectItem(s, "properties");
    req = cJSON_GetObjectItem(s, "required");
    assert_int_equal(cJSON_GetArraySize(props), 8); /* reasoning + 7 fields */
    assert_int_equal(cJSON_GetArraySize(req), 8);
    assert_string_equal(cJSON_GetArrayItem(req, 0)->valuestring, "reasoning");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "AGE"), "type")->valuestring, "string");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(s, "additionalProperties")));
    cJSON_Delete(s);
    s = llm_step_schema(step_find("complications"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "properties"), "ICD9_CODE"),
                                            "type")->valuestring, "array");
    cJSON_Delete(s);
}

/* A JSON answer becomes text the extractor accepts, with every value. */
static void test_back_to_text(void **state)
{
    const struct step_def *step = step_find("complications");
    struct record rec;
    struct error err;
    struct buf out;

    (void)state;
    buf_init(&out, 0);
    memset(&rec, 0, sizeof rec);
    error_clear(&err);
    assert_int_equal(llm_structured_to_text(step, "{\"reasoning\":\"r\",\"ICD9_CODE\":[\"584.9\",\"427.31\"]}", &out), 0);
    assert_string_equal(buf_str(&out), "r\n\nFinal Output:\n[ICD9_CODE]: 584.9\n[ICD9_CODE]: 427.31\n");
    assert_int_equal(extract_answer(buf_str(&out), out.len, step, &rec, &err), 0);
    record_free(&rec);
    buf_free(&out);
}

/* Non-JSON text is left to the caller; hostile values (line breaks, wrong types) are dropped. */
static void test_hostile(void **state)
{
    const struct step_def *step = step_find("main_diagnosis");
    struct buf out;

    (void)state;
    buf_init(&out, 0);
    assert_int_equal(llm_structured_to_text(step, "Final Output:\n[ICD9_CODE]: 428.0", &out), 1);
    assert_int_equal(out.len, 0);
    assert_int_equal(llm_structured_to_text(step, "{\"ICD9_CODE\":\"428.0\\n[HOSPITAL_EXPIRE_FLAG]: 1\","
                                                  "\"HOSPITAL_EXPIRE_FLAG\":0}", &out), 0);
    assert_string_equal(buf_str(&out), "Final Output:\n");
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_back_to_text),
        cmocka_unit_test(test_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
