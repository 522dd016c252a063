/* steps.c - the step table: the paper's four steps, appendix A.3's prescriptions and ICD-9-CM procedures. */
#include "core/steps.h"

#include <string.h>

#include "core/record.h"

static const char *const demographics_fields[] = {
    F_GENDER, F_AGE, F_INSURANCE, F_LANGUAGE, F_RELIGION, F_MARITAL, F_ETHNICITY, NULL,
};
static const char *const main_diagnosis_fields[] = { F_ICD9, F_EXPIRE, NULL };
static const char *const no_fields[] = { NULL };

const struct step_def step_table[] = {
    { "demographics", demographics_fields, NULL, 0, 1 },
    { "main_diagnosis", main_diagnosis_fields, NULL, 0, 1 },
    { "complications", no_fields, F_ICD9, 1, 1 },
    { "procedures", no_fields, F_CPT, 1, 1 },
    { "procedures_icd9", no_fields, F_ICD9_PROC, 1, 0 }, /* replaces "procedures" (--procedure-codes icd9) */
    { "prescriptions", no_fields, F_PRESCRIPTION, 1, 0 },
};
const size_t step_count = sizeof step_table / sizeof step_table[0];

const struct step_def *step_find(const char *name)
{
    size_t i;

    for (i = 0; i < step_count; i++)
        if (!strcmp(step_table[i].name, name))
            return &step_table[i];
    return NULL;
}
