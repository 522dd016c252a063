/* test_extract.c - extractor tests: answer shapes as a table, canned model answers, code-shape tables, hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "core/steps.h"
#include "extract/extract.h"
#include "util/buf.h"
#include "util/error.h"

/* ---- helpers ---- */

/* "NAME=value\n" per field, in order. Caller frees. */
static char *render(const struct record *r)
{
    struct buf b = { 0 };
    size_t i;

    for (i = 0; i < r->nfields; i++)
        assert_int_equal(buf_printf(&b, "%s=%s\n", r->fields[i].name, r->fields[i].value), 0);
    if (!b.data)
        assert_int_equal(buf_puts(&b, ""), 0);
    return b.data;
}

static const struct step_def *step(const char *name)
{
    const struct step_def *s = step_find(name);

    assert_non_null(s);
    return s;
}

/* Runs the extractor and checks either the exact fields or the exact error. */
static void check(const char *stepname, const char *answer, size_t len, const char *expect, const char *error)
{
    struct record r = { 0 };
    struct error err = { 0 };
    char *got;
    int rc = extract_answer(answer, len, step(stepname), &r, &err);

    if (error) {
        assert_int_equal(rc, -1);
        assert_int_equal(err.code, LLMSYN_E_BACKEND);
        assert_string_equal(err.msg, error);
        assert_int_equal(r.nfields, 0);
    } else {
        if (rc != 0)
            print_error("unexpected error: %s\n", err.msg);
        assert_int_equal(rc, 0);
        assert_int_equal(err.code, LLMSYN_OK);
        got = render(&r);
        assert_string_equal(got, expect);
        free(got);
    }
    record_free(&r);
}

/* ---- extract_answer over answer shapes ---- */

struct answer_case {
    const char *step;
    const char *answer;
    size_t len;         /* bytes of answer (string literal size: embedded NULs count) */
    const char *expect; /* rendered fields, or NULL when error is set */
    const char *error;  /* exact message, or NULL */
};

#define OK(st, ans, exp) { st, ans, sizeof(ans) - 1, exp, NULL }
#define ERR(st, ans, msg) { st, ans, sizeof(ans) - 1, NULL, msg }

#define DEMO_EXPECT                                                                                                   \
    "GENDER=M\nAGE=67\nINSURANCE=Medicare\nLANGUAGE=ENGL\nRELIGION=CATHOLIC\nMARITAL_STATUS=MARRIED\n"              \
    "ETHNICITY=WHITE\n"
#define DEMO_LINES(pre, post)                                                                                         \
    pre "GENDER" post " M\n" pre "AGE" post " 67\n" pre "INSURANCE" post " Medicare\n" pre "LANGUAGE" post " ENGL\n"  \
    pre "RELIGION" post " CATHOLIC\n" pre "MARITAL_STATUS" post " MARRIED\n" pre "ETHNICITY" post " WHITE\n"

static const struct answer_case answer_cases[] = {
    /* 0: the paper's plain final-output block */
    OK("demographics", "Final Output:\n" DEMO_LINES("[", "]:"), DEMO_EXPECT),
    /* 1: bold brackets, bold heading */
    OK("demographics", "Reasoning first.\n\n**Final output**\n" DEMO_LINES("**[", "]**:"), DEMO_EXPECT),
    /* 2: bold key with the colon inside, ### heading */
    OK("demographics", "### FINAL OUTPUT\n" DEMO_LINES("**", ":**"), DEMO_EXPECT),
    /* 3: bullets, numbers, stars */
    OK("demographics",
       "Final Output:\n- [GENDER]: M\n* AGE: 67\n+ INSURANCE: Medicare\n1. LANGUAGE: ENGL\n2) RELIGION: CATHOLIC\n"
       "\xE2\x80\xA2 MARITAL_STATUS: MARRIED\n- **ETHNICITY**: WHITE\n",
       DEMO_EXPECT),
    /* 4: KEY = value */
    OK("demographics", DEMO_LINES("", " ="), DEMO_EXPECT),
    /* 5: KEY: value without brackets, mixed-case names, spaces for underscores */
    OK("demographics",
       "final output\ngender: male\nAge: 45 y/o\ninsurance: Private\nLanguage: Spanish\nReligion: Jewish\n"
       "Marital Status: Single\nEthnicity: Hispanic or Latino\n",
       "GENDER=M\nAGE=45\nINSURANCE=Private\nLANGUAGE=Spanish\nRELIGION=Jewish\nMARITAL_STATUS=Single\n"
       "ETHNICITY=Hispanic or Latino\n"),
    /* 6: CRLF line ends */
    OK("demographics", "Final Output:\r\n[GENDER]: M\r\n[AGE]: 67\r\n[INSURANCE]: Medicare\r\n[LANGUAGE]: ENGL\r\n"
                       "[RELIGION]: CATHOLIC\r\n[MARITAL_STATUS]: MARRIED\r\n[ETHNICITY]: WHITE\r\n",
       DEMO_EXPECT),
    /* 7: lone CR line ends */
    OK("demographics", "Final Output:\r[GENDER]: M\r[AGE]: 67\r[INSURANCE]: Medicare\r[LANGUAGE]: ENGL\r"
                       "[RELIGION]: CATHOLIC\r[MARITAL_STATUS]: MARRIED\r[ETHNICITY]: WHITE",
       DEMO_EXPECT),
    /* 8: quotes, curly quotes, trailing full stops, backticks */
    OK("demographics",
       "Final Output:\n[GENDER]: \"F\".\n[AGE]: '81'\n[INSURANCE]: \xE2\x80\x9CMedicaid\xE2\x80\x9D.\n"
       "[LANGUAGE]: `ENGL`\n[RELIGION]: 'PROTESTANT QUAKER'.\n[MARITAL_STATUS]: WIDOWED;\n[ETHNICITY]: *BLACK/AFRICAN AMERICAN*\n",
       "GENDER=F\nAGE=81\nINSURANCE=Medicaid\nLANGUAGE=ENGL\nRELIGION=PROTESTANT QUAKER\nMARITAL_STATUS=WIDOWED\n"
       "ETHNICITY=BLACK/AFRICAN AMERICAN\n"),
    /* 9: reasoning mentions fields before the final output */
    OK("demographics",
       "The patient is elderly; the AGE: 50 would be too young, so [AGE]: 55 was my first idea.\n"
       "[AGE]: 55\n[GENDER]: F\nthe GENDER could be F but the prior says male.\n\nFinal Output:\n" DEMO_LINES("[", "]:"),
       DEMO_EXPECT),
    /* 10: no final-output heading: the last occurrence of each field wins */
    OK("demographics", "[AGE]: 50\n[GENDER]: F\nOn reflection the patient is older and male.\n" DEMO_LINES("[", "]:"),
       DEMO_EXPECT),
    /* 11: two final-output blocks: the last complete one wins */
    OK("demographics",
       "Final Output:\n" DEMO_LINES("[", "]:") "Wait, the age is off by one.\nRevised final output:\n"
       "[GENDER]: M\n[AGE]: 68\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n[RELIGION]: CATHOLIC\n"
       "[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
       "GENDER=M\nAGE=68\nINSURANCE=Medicare\nLANGUAGE=ENGL\nRELIGION=CATHOLIC\nMARITAL_STATUS=MARRIED\n"
       "ETHNICITY=WHITE\n"),
    /* 12: a closing remark that mentions the final output does not hide the block above it */
    OK("demographics", "Final Output:\n" DEMO_LINES("[", "]:") "\nThis final output is synthetic.\n", DEMO_EXPECT),
    /* 13: a `| Field | Value |` table */
    OK("demographics",
       "### Final Output\n\n| Field | Value |\n|-------|-------|\n| GENDER | M |\n| **AGE** | 67 |\n"
       "| INSURANCE | Medicare |\n| LANGUAGE | ENGL |\n| RELIGION | CATHOLIC |\n| MARITAL_STATUS | MARRIED |\n"
       "| ETHNICITY | WHITE |\n",
       DEMO_EXPECT),
    /* 14: a table whose header row is the field names */
    OK("demographics",
       "Final output:\n| GENDER | AGE | INSURANCE | LANGUAGE | RELIGION | MARITAL_STATUS | ETHNICITY |\n"
       "|:---:|---|---|---|---|---|---|\n| M | 67 | Medicare | ENGL | CATHOLIC | MARRIED | WHITE |\n",
       DEMO_EXPECT),
    /* 15: a code fence around the block */
    OK("demographics", "Here it is.\n```\n" DEMO_LINES("[", "]:") "```\n", DEMO_EXPECT),
    /* 16: categories kept exactly as given, parentheses and dashes included */
    OK("demographics",
       "Final Output:\n[GENDER]: F\n[AGE]: 30\n[INSURANCE]: self pay\n[LANGUAGE]: *Cantonese*\n"
       "[RELIGION]: NOT SPECIFIED\n[MARITAL_STATUS]: UNKNOWN (DEFAULT)\n[ETHNICITY]: ASIAN - CHINESE\n",
       "GENDER=F\nAGE=30\nINSURANCE=self pay\nLANGUAGE=Cantonese\nRELIGION=NOT SPECIFIED\n"
       "MARITAL_STATUS=UNKNOWN (DEFAULT)\nETHNICITY=ASIAN - CHINESE\n"),
    /* 17: markdown-escaped underscores in names and values */
    OK("demographics",
       "Final Output:\n[GENDER]: M\n[AGE]: 67\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n[RELIGION]: NOT\\_SPECIFIED\n"
       "[MARITAL\\_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
       "GENDER=M\nAGE=67\nINSURANCE=Medicare\nLANGUAGE=ENGL\nRELIGION=NOT_SPECIFIED\nMARITAL_STATUS=MARRIED\n"
       "ETHNICITY=WHITE\n"),
    /* 18: flat JSON in a fence */
    OK("demographics",
       "```json\n{\n  \"GENDER\": \"M\",\n  \"AGE\": 67,\n  \"INSURANCE\": \"Medicare\",\n  \"LANGUAGE\": \"ENGL\",\n"
       "  \"RELIGION\": \"CATHOLIC\",\n  \"MARITAL_STATUS\": \"MARRIED\",\n  \"ETHNICITY\": \"WHITE\"\n}\n```\n",
       DEMO_EXPECT),
    /* 19: value on the line after a bold field name; Sex and Race aliases; "(years)" remark */
    OK("demographics",
       "Final Output:\n**Sex:**\nMale\n**Age (years):**\n\n67\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
       "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\nRace/Ethnicity: WHITE\n",
       DEMO_EXPECT),
    /* 20: embedded NUL bytes are blanks (len is authoritative) */
    OK("demographics",
       "Final Output:\n[GENDER]: M\0\n[AGE]: 6\0 7\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
       "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\0\0\n",
       "GENDER=M\nAGE=6\nINSURANCE=Medicare\nLANGUAGE=ENGL\nRELIGION=CATHOLIC\nMARITAL_STATUS=MARRIED\n"
       "ETHNICITY=WHITE\n"),
    /* 21: invalid UTF-8 in the prose, a BOM and no-break spaces around values are harmless */
    OK("demographics", "\xEF\xBB\xBFThinking \xFF\xFE\xC0 about it.\nFinal Output:\n[GENDER]:\xC2\xA0M\n[AGE]: 067\n"
                       "[INSURANCE]: Medicare\xC2\xA0\n[LANGUAGE]: ENGL\n[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n"
                       "[ETHNICITY]: WHITE\n",
       DEMO_EXPECT),
    /* 22: UTF-8 categories survive */
    OK("demographics",
       "Final Output:\n[GENDER]: F\n[AGE]: 0\n[INSURANCE]: Medicaid\n[LANGUAGE]: Espa\xC3\xB1ol\n[RELIGION]: none\n"
       "[MARITAL_STATUS]: SINGLE\n[ETHNICITY]: \xE4\xB8\xAD\xE5\x9B\xBD\n",
       "GENDER=F\nAGE=0\nINSURANCE=Medicaid\nLANGUAGE=Espa\xC3\xB1ol\nRELIGION=none\nMARITAL_STATUS=SINGLE\n"
       "ETHNICITY=\xE4\xB8\xAD\xE5\x9B\xBD\n"),
    /* 23-29: demographics errors */
    ERR("demographics", "Final Output:\n[GENDER]: M\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n[RELIGION]: CATHOLIC\n"
                        "[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "answer has no AGE field"),
    ERR("demographics", "Final Output:\n[GENDER]: M\n[AGE]: sixty\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "AGE 'sixty' is not a number of years"),
    ERR("demographics", "Final Output:\n[GENDER]: M\n[AGE]: 150\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "AGE '150' is not between 0 and 120 years"),
    ERR("demographics", "Final Output:\n[GENDER]: M\n[AGE]: 67.5\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "AGE '67.5' is not a number of years"),
    ERR("demographics", "Final Output:\n[GENDER]: unknown\n[AGE]: 67\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "GENDER 'unknown' is not M or F"),
    ERR("demographics", "Final Output:\n[GENDER]: M\n[AGE]: 67\n[INSURANCE]:\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "answer has an empty INSURANCE field"),
    ERR("demographics", "Final Output:\n[GENDER]: M\n[AGE]: 67\n[INSURANCE]: Medi\xFF" "care\n[LANGUAGE]: ENGL\n"
                        "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
        "INSURANCE value is not valid UTF-8"),
    ERR("demographics", "I cannot help with generating patient data.\nFinal output: none.\n", "answer has no GENDER field"),
    /* 31: main diagnosis with a dash description and a remark after the flag */
    OK("main_diagnosis",
       "Final Output:\n[ICD9_CODE]: 428.0 - Congestive heart failure, unspecified\n"
       "[HOSPITAL_EXPIRE_FLAG]: 0 (the patient did not expire)\n",
       "ICD9_CODE=428.0\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 32: a code without its dot, yes for 1 */
    OK("main_diagnosis", "**Final Output**\n- **ICD9_CODE:** 58381\n- **HOSPITAL_EXPIRE_FLAG:** Yes\n",
       "ICD9_CODE=583.81\nHOSPITAL_EXPIRE_FLAG=1\n"),
    /* 33: description in parentheses, true/false */
    OK("main_diagnosis", "Final Output:\n[ICD9_CODE]: 583.81 (Glomerulonephritis)\n[HOSPITAL_EXPIRE_FLAG]: false\n",
       "ICD9_CODE=583.81\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 34: leading zeros: 38.9 is 038.9 */
    OK("main_diagnosis", "Final Output:\n[ICD9_CODE]: 38.9\n[HOSPITAL_EXPIRE_FLAG]: TRUE\n",
       "ICD9_CODE=038.9\nHOSPITAL_EXPIRE_FLAG=1\n"),
    /* 35: MIMIC-style 0389 and a lower-case V code */
    OK("main_diagnosis", "ICD9_CODE: 0389\nHOSPITAL_EXPIRE_FLAG: no\n", "ICD9_CODE=038.9\nHOSPITAL_EXPIRE_FLAG=0\n"),
    OK("main_diagnosis", "[ICD9_CODE]: v5861\n[HOSPITAL_EXPIRE_FLAG]: 0\n", "ICD9_CODE=V58.61\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 37: prose mentions a code mid-line; no final-output heading */
    OK("main_diagnosis",
       "The ICD9_CODE could be 428.0 but the kidney picture fits better.\nICD9_CODE: 584.9\n"
       "HOSPITAL_EXPIRE_FLAG: 1\n",
       "ICD9_CODE=584.9\nHOSPITAL_EXPIRE_FLAG=1\n"),
    /* 38: several codes on the main-diagnosis line: the first one is the main diagnosis */
    OK("main_diagnosis", "Final Output:\n[ICD9_CODE]: 428.0, 584.9\n[HOSPITAL_EXPIRE_FLAG]: 0\n",
       "ICD9_CODE=428.0\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 39: header-row table with the two fields */
    OK("main_diagnosis",
       "## Final output\n| ICD9_CODE | Description | HOSPITAL_EXPIRE_FLAG |\n|---|---|---|\n"
       "| 486 | Pneumonia, organism unspecified | 0 |\n",
       "ICD9_CODE=486\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 40-42: main diagnosis errors */
    ERR("main_diagnosis", "Final Output:\n[ICD9_CODE]: heart failure\n[HOSPITAL_EXPIRE_FLAG]: 0\n",
        "ICD9_CODE 'heart failure' is not an ICD-9-CM code"),
    ERR("main_diagnosis", "Final Output:\n[ICD9_CODE]: 428.0\n[HOSPITAL_EXPIRE_FLAG]: maybe\n",
        "HOSPITAL_EXPIRE_FLAG 'maybe' is not 0 or 1"),
    ERR("main_diagnosis", "Final Output:\n[ICD9_CODE]: 428.0\n", "answer has no HOSPITAL_EXPIRE_FLAG field"),
    /* 43: complications, one per line, duplicates dropped in first order */
    OK("complications",
       "Final Output:\n[ICD9_CODE]: 584.9\n[ICD9_CODE]: 276.1\n[ICD9_CODE]: 584.9\n[ICD9_CODE]: 285.9\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\nICD9_CODE=285.9\n"),
    /* 44: several codes on a line, comma and semicolon, E code without its dot */
    OK("complications", "Final Output:\n[ICD9_CODE]: 584.9, 276.1; 285.9\n[ICD9_CODE]: E8788\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\nICD9_CODE=285.9\nICD9_CODE=E878.8\n"),
    /* 45: descriptions that themselves contain commas */
    OK("complications",
       "Final Output:\n[ICD9_CODE]: 428.0 - Congestive heart failure, unspecified, 584.9 (Acute kidney failure, "
       "unspecified)\n",
       "ICD9_CODE=428.0\nICD9_CODE=584.9\n"),
    /* 46: a list under a bare field name */
    OK("complications",
       "### Final Output\n**ICD9_CODE:**\n\n1. 584.9 - Acute kidney failure\n2. 276.1 - Hyposmolality\n"
       "3. `V45.81`\n\nThese complications follow from the main diagnosis.\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\nICD9_CODE=V45.81\n"),
    /* 47: no heading: only the last run of lines naming the field counts */
    OK("complications",
       "Possible complications considered:\n- ICD9_CODE: 401.9 (hypertension)\n- ICD9_CODE: 250.00\n"
       "I rejected those because the chart does not support them.\n\n[ICD9_CODE]: 584.9\n\n[ICD9_CODE]: 276.1\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\n"),
    /* 48: echoed demographics and main diagnosis in the block; other fields are ignored */
    OK("complications",
       "Final Output:\n[GENDER]: M\n[AGE]: 67\n[ICD9_CODE]: 428.0\n[HOSPITAL_EXPIRE_FLAG]: 0\n[ICD9_CODE]: 584.9\n",
       "ICD9_CODE=428.0\nICD9_CODE=584.9\n"),
    /* 49: a code/description table */
    OK("complications",
       "Final Output:\n| ICD9_CODE | Description |\n| --- | --- |\n| 584.9 | Acute kidney failure |\n"
       "| **2761** | Hyposmolality |\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\n"),
    /* 50: a JSON array, on one line and over several lines */
    OK("complications", "```json\n{\"ICD9_CODE\": [\"584.9\", \"276.1\"]}\n```\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\n"),
    OK("complications", "{\n  \"ICD9_CODE\": [\n    \"584.9\",\n    \"2761\"\n  ]\n}\n",
       "ICD9_CODE=584.9\nICD9_CODE=276.1\n"),
    /* 52-54: complication errors */
    ERR("complications", "Final Output:\nNo complications are expected.\n", "answer has no ICD9_CODE values"),
    ERR("complications", "Final Output:\n[ICD9_CODE]: 9999999\n", "ICD9_CODE '9999999' is not an ICD-9-CM code"),
    ERR("complications", "Final Output:\n[ICD9_CODE]: 584.9, 2761111\n", "ICD9_CODE '2761111' is not an ICD-9-CM code"),
    /* 55: procedures on one line, mixed separators */
    OK("procedures", "Final Output:\n[CPT_CD]: 99223, 93306; 71045\n",
       "CPT_CD=99223\nCPT_CD=93306\nCPT_CD=71045\n"),
    /* 56: HCPCS, category II/III, modifiers, lower case */
    OK("procedures", "Final Output:\n[CPT_CD]: j1815\n[CPT_CD]: 0001f\n[CPT_CD]: 99223-25\n[CPT_CD]: 0042T\n",
       "CPT_CD=J1815\nCPT_CD=0001F\nCPT_CD=99223\nCPT_CD=0042T\n"),
    /* 57: codes separated by spaces and "and" */
    OK("procedures", "CPT_CD: 99223 99232 and 99238\n", "CPT_CD=99223\nCPT_CD=99232\nCPT_CD=99238\n"),
    /* 58: descriptions after each code */
    OK("procedures", "**Final Output:**\n**CPT_CD:** 99223 (admission visit), 93306 (heart ultrasound)\n",
       "CPT_CD=99223\nCPT_CD=93306\n"),
    /* 59: a bare "Code" column names the step's code field */
    OK("procedures", "Final Output:\n| # | Code | Description |\n|---|---|---|\n| 1 | 99223 | admission |\n"
                     "| 2 | 93306 | echo |\n",
       "CPT_CD=99223\nCPT_CD=93306\n"),
    /* 60: a field/value table repeating the field; "CPT code" alias in a bullet list */
    OK("procedures", "Final Output:\n| Field | Value |\n|---|---|\n| CPT_CD | 99223 |\n| CPT_CD | 36556 | line |\n",
       "CPT_CD=99223\nCPT_CD=36556\n"),
    OK("procedures", "Final output:\n- CPT code: 31500\n- CPT code: 94002\n", "CPT_CD=31500\nCPT_CD=94002\n"),
    /* 62-63: procedure errors */
    ERR("procedures", "Final Output:\nThe patient needs an echocardiogram and a chest film.\n",
        "answer has no CPT_CD values"),
    ERR("procedures", "Final Output:\n[CPT_CD]: 9922\n", "CPT_CD '9922' is not a CPT or HCPCS code"),
    ERR("procedures", "Final Output:\n[CPT_CD]: chest x-ray, 71045\n", "CPT_CD 'chest x-ray' is not a CPT or HCPCS code"),
    /* 65: prescriptions as lines */
    OK("prescriptions",
       "Final Output:\n[PRESCRIPTION]: MAIN | Insulin Glargine | INGLA | 30 | Units | 1 | Vial | SC\n"
       "[PRESCRIPTION]:  BASE|D5W|D5W500|500|ml|1|Bag|IV.\n",
       "PRESCRIPTION=MAIN | Insulin Glargine | INGLA | 30 | Units | 1 | Vial | SC\n"
       "PRESCRIPTION=BASE | D5W | D5W500 | 500 | ml | 1 | Bag | IV\n"),
    /* 66: a table in the paper's column order, plus an extra column, re-ordered canonically */
    OK("prescriptions",
       "Final Output:\n| # | DRUG_TYPE | DRUG | FORMULARY_DRUG_CD | DOSE_UNIT_RX | FORM_VAL_DISP | FORM_UNIT_DISP | "
       "ROUTE | DOSE_VAL_RX |\n|---|---|---|---|---|---|---|---|---|\n"
       "| 1 | MAIN | Lisinopril | LIS5 | mg | 1 | Tab | PO | 5 |\n"
       "| 2 | MAIN | Potassium Chloride | KCL20 | mEq | 1 | Bag | IV | 20 |\n",
       "PRESCRIPTION=MAIN | Lisinopril | LIS5 | 5 | mg | 1 | Tab | PO\n"
       "PRESCRIPTION=MAIN | Potassium Chloride | KCL20 | 20 | mEq | 1 | Bag | IV\n"),
    /* 67: table without outer pipes, under a bold PRESCRIPTION heading, missing formulary code */
    OK("prescriptions",
       "**PRESCRIPTION:**\nDRUG_TYPE | DRUG | DOSE_VAL_RX | DOSE_UNIT_RX | FORM_VAL_DISP | FORM_UNIT_DISP | ROUTE\n"
       "--- | --- | --- | --- | --- | --- | ---\nMAIN | Heparin | 5000 | UNIT | 1 | mL | SC\n",
       "PRESCRIPTION=MAIN | Heparin |  | 5000 | UNIT | 1 | mL | SC\n"),
    /* 68-69: prescription errors */
    ERR("prescriptions", "Final Output:\n[PRESCRIPTION]: MAIN | Insulin | 10 | Units\n",
        "PRESCRIPTION 'MAIN | Insulin | 10 | Units' is not the 8 parts DRUG_TYPE | DRUG | FORMULARY_DRUG_CD | "
        "DOSE_VAL_RX | DOSE_UNIT_RX | FORM_VAL_DISP | FORM_UNIT_DISP | ROUTE"),
    ERR("prescriptions", "Final Output:\n[PRESCRIPTION]: MAIN |  | INGLA | 30 | Units | 1 | Vial | SC\n",
        "PRESCRIPTION 'MAIN |  | INGLA | 30 | Units | 1 | Vial | SC' has no DRUG"),
    /* 70: fields on the "Final Output:" line itself */
    OK("demographics", "Final Output: [GENDER]: M\n[AGE]: 67\n[INSURANCE]: Medicare\n[LANGUAGE]: ENGL\n"
                       "[RELIGION]: CATHOLIC\n[MARITAL_STATUS]: MARRIED\n[ETHNICITY]: WHITE\n",
       DEMO_EXPECT),
    /* 71: a bare field-name heading followed by a list */
    OK("procedures", "**Final Output:**\n\n**CPT_CD**\n- 99223\n- 93306\n\nDone.\n", "CPT_CD=99223\nCPT_CD=93306\n"),
    OK("complications", "### ICD9 codes\n1. 584.9\n2. 276.1\n", "ICD9_CODE=584.9\nICD9_CODE=276.1\n"),
    /* 73: remarks after the field name in a table's field column */
    OK("complications",
       "| Field | Value |\n|---|---|\n| ICD9_CODE (main) | 428.0 |\n| ICD9_CODE (complication) | 584.9 |\n",
       "ICD9_CODE=428.0\nICD9_CODE=584.9\n"),
    /* 74: prescription parts carrying their labels */
    OK("prescriptions",
       "[PRESCRIPTION]: DRUG_TYPE: MAIN | DRUG: Insulin | FORMULARY_DRUG_CD: INS | DOSE_VAL_RX: 10 | "
       "DOSE_UNIT_RX: Units | FORM_VAL_DISP: 1 | FORM_UNIT_DISP: Vial | ROUTE: SC\n",
       "PRESCRIPTION=MAIN | Insulin | INS | 10 | Units | 1 | Vial | SC\n"),
    /* 75: the first block is complete, the later one lacks a field: the complete one wins */
    OK("main_diagnosis",
       "Final output\nICD9_CODE: 428.0\nHOSPITAL_EXPIRE_FLAG: 0\nUpdated final output\nICD9_CODE: 584.9\n",
       "ICD9_CODE=428.0\nHOSPITAL_EXPIRE_FLAG=0\n"),
    /* 76: a final output naming some fields only, with no complete block: its gap is the error */
    ERR("main_diagnosis", "ICD9_CODE: 428.0\nHOSPITAL_EXPIRE_FLAG: 0\nFinal output:\nICD9_CODE: 584.9\n",
        "answer has no HOSPITAL_EXPIRE_FLAG field"),
    /* 77-78: empty answers */
    ERR("demographics", "", "answer is empty"),
    ERR("procedures", " \r\n\t\n\0\0 ", "answer is empty"),
    /* 79-87: ICD-9-CM volume 3 procedure codes (step procedures_icd9, --procedure-codes icd9) */
    OK("procedures_icd9", "Reasoning.\nFinal Output:\n[ICD9_PROC_CODE]: 96.04\n[ICD9_PROC_CODE]: 9671\n",
       "ICD9_PROC_CODE=96.04\nICD9_PROC_CODE=96.71\n"),
    OK("procedures_icd9", "Final Output:\n[ICD9_PROC_CODE]: 3893, 99.04 (packed cells); 3.91\n",
       "ICD9_PROC_CODE=38.93\nICD9_PROC_CODE=99.04\nICD9_PROC_CODE=03.91\n"),
    OK("procedures_icd9", "**Final Output:**\n**ICD-9-CM procedure codes:** 88.72 (heart ultrasound), 39.95\n",
       "ICD9_PROC_CODE=88.72\nICD9_PROC_CODE=39.95\n"),
    OK("procedures_icd9", "Final Output:\n| # | Code | Description |\n|---|---|---|\n| 1 | 96.04 | tube |\n"
       "| 2 | 96.71 | ventilation for 96 hours |\n",
       "ICD9_PROC_CODE=96.04\nICD9_PROC_CODE=96.71\n"),
    OK("procedures_icd9", "Final Output:\nICD9_PROC:\n- 38.93\n- 99.04\n\nDone.\n",
       "ICD9_PROC_CODE=38.93\nICD9_PROC_CODE=99.04\n"),
    ERR("procedures_icd9", "Final Output:\n[ICD9_PROC_CODE]: 967.1\n",
        "ICD9_PROC_CODE '967.1' is not an ICD-9-CM procedure code"),
    ERR("procedures_icd9", "Final Output:\n[ICD9_PROC_CODE]: mechanical ventilation\n",
        "ICD9_PROC_CODE 'mechanical ventilation' is not an ICD-9-CM procedure code"),
    /* CPT lines are not this step's field */
    ERR("procedures_icd9", "Final Output:\n[CPT_CD]: 99223\n", "answer has no ICD9_PROC_CODE values"),
    ERR("procedures", "Final Output:\n[ICD9_PROC_CODE]: 96.71\n", "answer has no CPT_CD values"),
};

static void test_answer_case(void **state)
{
    const struct answer_case *c = *state;

    check(c->step, c->answer, c->len, c->expect, c->error);
}

/* ---- canned answers: tests/data/answers/<name>.txt with <name>.expected ---- */

static const char *const canned[] = {
    "gpt4_demographics", "gpt4_main_diagnosis", "gpt4_complications", "gpt4_procedures", "gpt4_prescriptions",
    "markdown_table",    "code_fence",          "codes_without_dots", "malformed_codes",  "malformed_truncated",
};

/* Reads a whole file; caller frees. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = { 0 };
    char chunk[4096];
    size_t n;

    if (!f)
        print_error("cannot open '%s'\n", path);
    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), 0);
    assert_int_equal(ferror(f), 0);
    fclose(f);
    assert_non_null(b.data);
    *len = b.len;
    return b.data;
}

static void data_path(char *out, size_t cap, const char *name, const char *ext)
{
    const char *root = getenv("LLMSYN_ROOT");
    int n = snprintf(out, cap, "%s/tests/data/answers/%s.%s", root && *root ? root : ".", name, ext);

    assert_true(n > 0 && (size_t)n < cap);
}

/* <name>.expected: "step NAME", then "error MESSAGE" or FIELD=value lines. */
static void test_canned(void **state)
{
    const char *name = *state;
    char path[1024], stepname[64];
    size_t alen, elen;
    char *answer, *expected, *body, *nl;

    data_path(path, sizeof path, name, "txt");
    answer = slurp(path, &alen);
    data_path(path, sizeof path, name, "expected");
    expected = slurp(path, &elen);
    nl = strchr(expected, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_int_equal(sscanf(expected, "step %63s", stepname), 1);
    body = nl + 1;
    if (!strncmp(body, "error ", 6)) {
        nl = strchr(body, '\n');
        if (nl)
            *nl = '\0';
        check(stepname, answer, alen, NULL, body + 6);
    } else {
        check(stepname, answer, alen, body, NULL);
    }
    free(answer);
    free(expected);
}

/* ---- code shapes ---- */

struct code_case {
    int cpt;            /* 0 extract_icd9_dx, 1 extract_cpt */
    const char *in;
    const char *expect; /* NULL: must be refused */
};

static const struct code_case code_cases[] = {
    { 0, "428.0", "428.0" },
    { 0, "4280", "428.0" },
    { 0, "58381", "583.81" },
    { 0, "583.81 (Glomerulonephritis)", "583.81" },
    { 0, "0389", "038.9" },
    { 0, "38.9", "038.9" },
    { 0, "8.9", "008.9" },
    { 0, "042", "042" },
    { 0, "250.00", "250.00" },
    { 0, "v5861", "V58.61" },
    { 0, "V58.61", "V58.61" },
    { 0, "V58", "V58" },
    { 0, "E8788", "E878.8" },
    { 0, "e878.8", "E878.8" },
    { 0, "E878", "E878" },
    { 0, "  428.0", "428.0" },
    { 0, "428.0.", "428.0" },
    { 0, "428.", "428" },
    { 0, "428.0-chf", "428.0" },
    { 0, "", NULL },
    { 0, ".", NULL },
    { 0, "9999999", NULL },
    { 0, "E87", NULL },
    { 0, "E87.8", NULL },
    { 0, "E878.81", NULL },
    { 0, "V5", NULL },
    { 0, "V5.8", NULL },
    { 0, "\xEF\xBC\x94\xEF\xBC\x92\xEF\xBC\x98", NULL }, /* fullwidth 428 */
    { 0, "428\xEF\xBC\x94", NULL },
    { 0, "428.0.1", NULL },
    { 0, "428.000", NULL },
    { 0, "42", NULL },
    { 0, "0038.9", NULL },
    { 0, "heart failure", NULL },
    { 0, "428x", NULL },
    { 0, "428.x", NULL },
    { 0, "-428.0", NULL },
    { 0, ".5", NULL },
    { 1, "99223", "99223" },
    { 1, "99223-25", "99223" },
    { 1, " 93306 (echo)", "93306" },
    { 1, "0001f", "0001F" },
    { 1, "0042T", "0042T" },
    { 1, "0503u", "0503U" },
    { 1, "j1815", "J1815" },
    { 1, "G0378", "G0378" },
    { 1, "99223.", "99223" },
    { 1, "", NULL },
    { 1, ".", NULL },
    { 1, "9922", NULL },
    { 1, "992231", NULL },
    { 1, "9999999", NULL },
    { 1, "1234A", NULL },
    { 1, "ABCDE", NULL },
    { 1, "A123", NULL },
    { 1, "99223.5", NULL },
    { 1, "99 223", NULL },
    { 1, "\xEF\xBC\x99\xEF\xBC\x99\xEF\xBC\x92\xEF\xBC\x92\xEF\xBC\x93", NULL }, /* fullwidth 99223 */
    { 1, "99223\xEF\xBC\x94", NULL },
};

static void test_code_table(void **state)
{
    size_t i;
    char out[16];
    int rc;

    (void)state;
    assert_true(sizeof code_cases / sizeof code_cases[0] >= 30);
    for (i = 0; i < sizeof code_cases / sizeof code_cases[0]; i++) {
        const struct code_case *c = &code_cases[i];

        memset(out, 'x', sizeof out);
        rc = c->cpt ? extract_cpt(c->in, out, sizeof out) : extract_icd9_dx(c->in, out, sizeof out);
        if (rc != (c->expect ? 0 : -1) || (c->expect && strcmp(out, c->expect)))
            print_error("case %zu '%s': rc %d out '%.15s'\n", i, c->in, rc, out);
        assert_int_equal(rc, c->expect ? 0 : -1);
        if (c->expect)
            assert_string_equal(out, c->expect);
        else
            assert_string_equal(out, "");
    }
}

static void test_code_hostile(void **state)
{
    char out[16], small[4];
    char *longs = malloc(100001);

    (void)state;
    assert_non_null(longs);
    memset(longs, '9', 100000);
    longs[100000] = '\0';
    assert_int_equal(extract_icd9_dx(longs, out, sizeof out), -1);
    assert_int_equal(extract_cpt(longs, out, sizeof out), -1);
    memcpy(longs, "428.0 ", 6);
    memset(longs + 6, 'x', 100000 - 6);
    assert_int_equal(extract_icd9_dx(longs, out, sizeof out), 0);
    assert_string_equal(out, "428.0");
    /* too small an output buffer is refused, never truncated */
    assert_int_equal(extract_icd9_dx("583.81", small, sizeof small), -1);
    assert_int_equal(extract_cpt("99223", small, sizeof small), -1);
    assert_int_equal(extract_icd9_dx("428", small, sizeof small), 0);
    assert_string_equal(small, "428");
    assert_int_equal(extract_icd9_dx(NULL, out, sizeof out), -1);
    assert_int_equal(extract_cpt(NULL, out, sizeof out), -1);
    assert_int_equal(extract_cpt("99223", NULL, 8), -1);
    assert_int_equal(extract_icd9_dx("428.0", out, 0), -1);
    free(longs);
}

/* ---- extract_value on its own ---- */

struct value_case {
    const char *field;
    const char *value;
    int multi;
    const char *expect; /* rendered, or NULL */
    const char *error;
};

static const struct value_case value_cases[] = {
    { "ICD9_CODE", " **58381** (Glomerulonephritis). ", 0, "ICD9_CODE=583.81\n", NULL },
    { "ICD9_CODE", "[\"584.9\", \"2761\", \"584.9\"]", 1, "ICD9_CODE=584.9\nICD9_CODE=276.1\n", NULL },
    { "CPT_CD", "#99223 / 99232 & 99238", 1, "CPT_CD=99223\nCPT_CD=99232\nCPT_CD=99238\n", NULL },
    { "AGE", "`67 years old`", 0, "AGE=67\n", NULL },
    { "GENDER", "Female (F)", 0, "GENDER=F\n", NULL },
    { "ETHNICITY", "  \"WHITE - RUSSIAN\".  ", 0, "ETHNICITY=WHITE - RUSSIAN\n", NULL },
    { "LAB_ITEM", "Potassium", 1, "LAB_ITEM=Potassium\n", NULL }, /* a future step's field: a category */
    { "AGE", "-5", 0, NULL, "AGE '-5' is not a number of years" },
    { "AGE", "1234", 0, NULL, "AGE '1234' is not a number of years" },
    { "HOSPITAL_EXPIRE_FLAG", "alive", 0, NULL, "HOSPITAL_EXPIRE_FLAG 'alive' is not 0 or 1" },
    { "CPT_CD", "", 1, NULL, "CPT_CD '' is not a CPT or HCPCS code" },
    { "ICD9_PROC_CODE", " **9604** (endotracheal tube), 96.71 ", 1, "ICD9_PROC_CODE=96.04\nICD9_PROC_CODE=96.71\n",
      NULL },
    { "ICD9_PROC_CODE", "428.0", 1, NULL, "ICD9_PROC_CODE '428.0' is not an ICD-9-CM procedure code" },
    { "RELIGION", "**", 0, NULL, "answer has an empty RELIGION field" },
};

static void test_value_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        const struct value_case *c = &value_cases[i];
        struct record r = { 0 };
        struct error err = { 0 };
        int rc = extract_value(c->field, c->value, c->multi, &r, &err);
        char *got = render(&r);

        if (c->expect && (rc != 0 || strcmp(got, c->expect)))
            print_error("case %zu: rc %d '%s' %s\n", i, rc, got, err.msg);
        if (c->expect) {
            assert_int_equal(rc, 0);
            assert_string_equal(got, c->expect);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.code, LLMSYN_E_BACKEND);
            assert_string_equal(err.msg, c->error);
            assert_string_equal(got, "");
        }
        free(got);
        record_free(&r);
    }
}

/* ---- API behaviour ---- */

static void test_appends_and_dedupes(void **state)
{
    struct record r = { 0 };
    struct error err = { 0 };
    static const char answer[] = "Final Output:\n[ICD9_CODE]: 428.0\n[ICD9_CODE]: 584.9\n";
    char *got;

    (void)state;
    assert_int_equal(record_add(&r, "GENDER", "F"), 0);
    assert_int_equal(record_add(&r, "ICD9_CODE", "428.0"), 0);
    assert_int_equal(extract_answer(answer, sizeof answer - 1, step("complications"), &r, &err), 0);
    got = render(&r);
    assert_string_equal(got, "GENDER=F\nICD9_CODE=428.0\nICD9_CODE=584.9\n");
    free(got);
    record_free(&r);
}

static void test_error_leaves_record(void **state)
{
    struct record r = { 0 };
    struct error err = { 0 };
    static const char answer[] = "Final Output:\n[ICD9_CODE]: 584.9\n[ICD9_CODE]: heart\n";
    char *got;

    (void)state;
    assert_int_equal(record_add(&r, "AGE", "70"), 0);
    assert_int_equal(extract_answer(answer, sizeof answer - 1, step("complications"), &r, &err), -1);
    assert_string_equal(err.msg, "ICD9_CODE 'heart' is not an ICD-9-CM code");
    got = render(&r);
    assert_string_equal(got, "AGE=70\n");
    free(got);
    /* first error wins: a second failure keeps the first message */
    assert_int_equal(extract_answer("", 0, step("complications"), &r, &err), -1);
    assert_string_equal(err.msg, "ICD9_CODE 'heart' is not an ICD-9-CM code");
    assert_int_equal(extract_answer(answer, sizeof answer - 1, NULL, &r, &err), -1);
    error_clear(&err);
    assert_int_equal(extract_answer(answer, sizeof answer - 1, NULL, &r, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INTERNAL);
    record_free(&r);
}

static void test_size_limit(void **state)
{
    struct record r = { 0 };
    struct error err = { 0 };
    static const char tail[] = "\nFinal Output:\n[CPT_CD]: 99223\n";
    size_t len = EXTRACT_MAX_ANSWER;
    char *big = malloc(len + 1);
    char msg[128];

    (void)state;
    assert_non_null(big);
    memset(big, 'a', len + 1);
    memcpy(big + len - (sizeof tail - 1), tail, sizeof tail - 1);
    assert_int_equal(extract_answer(big, len, step("procedures"), &r, &err), 0);
    assert_string_equal(record_get(&r, "CPT_CD"), "99223");
    record_free(&r);
    assert_int_equal(extract_answer(big, len + 1, step("procedures"), &r, &err), -1);
    snprintf(msg, sizeof msg, "answer is %zu bytes, over the %zu-byte limit", len + 1, len);
    assert_string_equal(err.msg, msg);
    assert_int_equal(r.nfields, 0);
    free(big);
}

static void test_caps(void **state)
{
    struct record r = { 0 };
    struct error err = { 0 };
    struct buf b = { 0 };
    int i;

    (void)state;
    assert_int_equal(buf_puts(&b, "Final Output:\n[CPT_CD]: "), 0);
    for (i = 0; i < 300; i++)
        assert_int_equal(buf_printf(&b, "%05d, ", 10000 + i), 0);
    assert_int_equal(extract_answer(b.data, b.len, step("procedures"), &r, &err), -1);
    assert_string_equal(err.msg, "answer has more than 200 CPT_CD values");
    buf_reset(&b);
    error_clear(&err);
    assert_int_equal(buf_puts(&b, "Final Output:\n[GENDER]: M\n[AGE]: 67\n[INSURANCE]: "), 0);
    for (i = 0; i < 300; i++)
        assert_int_equal(buf_putc(&b, 'x'), 0);
    assert_int_equal(buf_puts(&b, "\n[LANGUAGE]: E\n[RELIGION]: C\n[MARITAL_STATUS]: M\n[ETHNICITY]: W\n"), 0);
    assert_int_equal(extract_answer(b.data, b.len, step("demographics"), &r, &err), -1);
    assert_string_equal(err.msg, "INSURANCE value is longer than 256 bytes");
    /* a long, unprintable value is quoted short and clean in the message */
    buf_reset(&b);
    error_clear(&err);
    assert_int_equal(buf_puts(&b, "[ICD9_CODE]: zz\x01\xff"), 0);
    for (i = 0; i < 300; i++)
        assert_int_equal(buf_putc(&b, 'y'), 0);
    assert_int_equal(extract_answer(b.data, b.len, step("complications"), &r, &err), -1);
    assert_string_equal(err.msg, "ICD9_CODE 'zz ?" "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...' is not an ICD-9-CM code");
    assert_int_equal(r.nfields, 0);
    buf_free(&b);
}

/* Deterministic xorshift for the robustness loop. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Random bytes and mutated good answers: never a crash, never an empty field, always a reason on failure. */
static void test_robust(void **state)
{
    static const char *const seeds[] = {
        "Final Output:\n" DEMO_LINES("[", "]:"),
        "| Field | Value |\n|---|---|\n| ICD9_CODE | 428.0 |\n| HOSPITAL_EXPIRE_FLAG | 0 |\n",
        "**ICD9_CODE:**\n- 584.9\n- 2761\n[CPT_CD]: 99223, 93306\n",
        "| DRUG_TYPE | DRUG | ROUTE |\n|---|---|---|\n| MAIN | X | PO |\n[PRESCRIPTION]: A|B|C|D|E|F|G|H\n",
    };
    static const char alphabet[] = "[]|:=*-#`\"'\n\r 0123456789.VEFAGEICD_PRESCRIPTION,;()\xC2\xA0\xFF\0";
    uint32_t s = 12345;
    char buf[512];
    size_t it, i, n, si;

    (void)state;
    for (it = 0; it < 20000; it++) {
        struct record r = { 0 };
        struct error err = { 0 };
        const struct step_def *st = &step_table[it % step_count];

        si = next_rand(&s) % (sizeof seeds / sizeof seeds[0]);
        n = strlen(seeds[si]);
        memcpy(buf, seeds[si], n);
        for (i = next_rand(&s) % 8; i > 0; i--)
            buf[next_rand(&s) % n] = alphabet[next_rand(&s) % (sizeof alphabet - 1)];
        if (it % 4 == 0)
            for (n = next_rand(&s) % sizeof buf, i = 0; i < n; i++)
                buf[i] = (char)(next_rand(&s) & 0xFF);
        if (extract_answer(buf, n, st, &r, &err) == 0) {
            for (i = 0; i < r.nfields; i++)
                assert_true(r.fields[i].value[0] != '\0');
        } else {
            assert_true(err.code == LLMSYN_E_BACKEND);
            assert_true(err.msg[0] != '\0' && !strchr(err.msg, '\n'));
            assert_int_equal(r.nfields, 0);
        }
        record_free(&r);
    }
}

int main(void)
{
    size_t na = sizeof answer_cases / sizeof answer_cases[0], nc = sizeof canned / sizeof canned[0], i, k = 0;
    struct CMUnitTest *tests = calloc(na + nc + 16, sizeof *tests);
    char (*names)[48] = calloc(na, sizeof *names);
    int rc;

    if (!tests || !names)
        return 1;
    for (i = 0; i < na; i++, k++) {
        snprintf(names[i], sizeof names[i], "answer_%02zu_%s", i, answer_cases[i].step);
        tests[k].name = names[i];
        tests[k].test_func = test_answer_case;
        tests[k].initial_state = (void *)(uintptr_t)&answer_cases[i];
    }
    for (i = 0; i < nc; i++, k++) {
        tests[k].name = canned[i];
        tests[k].test_func = test_canned;
        tests[k].initial_state = (void *)(uintptr_t)canned[i];
    }
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_code_table);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_code_hostile);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_value_table);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_appends_and_dedupes);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_error_leaves_record);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_size_limit);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_caps);
    tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_robust);
    rc = _cmocka_run_group_tests("extract", tests, k, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
