/* terminology.h - value maps from MIMIC-III demographic strings to FHIR code systems. */
#ifndef FHIR_TERMINOLOGY_H
#define FHIR_TERMINOLOGY_H

#define TERM_SYS_CDCREC "urn:oid:2.16.840.1.113883.6.238"
#define TERM_SYS_NULLFLAVOR "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
#define TERM_SYS_MARITAL "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
#define TERM_SYS_BCP47 "urn:ietf:bcp:47"

/* A coding from a static table; every string is static. code == NULL means "no coding". */
struct term_coding {
    const char *system;
    const char *code;
    const char *display;
};

/* How a value maps. */
enum term_match {
    TERM_ABSENT = 0, /* nothing to say: leave the element out */
    TERM_TEXT,       /* keep the source text, no code is certain */
    TERM_CODED       /* the coding applies (the source text goes along as text) */
};

/* One of the US Core race / ethnicity extensions. */
struct term_origin {
    enum term_match match;       /* ABSENT: the source string does not speak to this dimension */
    struct term_coding omb;      /* OMB category, or UNK/ASKU from v3-NullFlavor; code NULL when TEXT */
    struct term_coding detailed; /* CDC detailed code; code NULL when none is certain */
};

struct term_race_ethnicity {
    struct term_origin race;
    struct term_origin ethnicity;
};

/* Maps a MIMIC ETHNICITY string (case, spacing and punctuation are ignored; NULL or blank
 * means missing, which maps to UNK on both dimensions). Never fails. */
void term_race_ethnicity(const char *value, struct term_race_ethnicity *out);

/* MIMIC LANGUAGE (4-letter code, or an English language name) -> BCP-47.
 * ABSENT for missing/UNKNOWN, TEXT for codes whose language is not certain. */
enum term_match term_language(const char *value, struct term_coding *out);

/* MIMIC MARITAL_STATUS -> v3-MaritalStatus; UNKNOWN and UNKNOWN (DEFAULT) -> UNK (v3-NullFlavor).
 * ABSENT for missing, TEXT for anything unrecognised. */
enum term_match term_marital(const char *value, struct term_coding *out);

/* MIMIC GENDER (M/F, or male/female/other) -> FHIR administrative-gender code; "unknown" otherwise. */
const char *term_gender(const char *value);

/* 1 when a RELIGION value carries information (not blank, NOT SPECIFIED, UNOBTAINABLE, UNKNOWN). */
int term_religion_known(const char *value);

/* 1 when an INSURANCE value means the patient pays (Self Pay). */
int term_insurance_self_pay(const char *value);

/* ICD-9-CM diagnosis code in its dotted form ("58381" -> "583.81", "v1052" -> "V10.52", "E8497" -> "E849.7";
 * surrounding blanks ignored). Returns 0, or -1 when value is not shaped like one (then out is unspecified). */
int term_icd9_dotted(const char *value, char out[8]);

/* CPT code: four digits then a digit, F (category II), T (category III) or U (PLA); surrounding blanks
 * ignored, the letter upper-cased. Returns 0, or -1 when value is not shaped like one. */
int term_cpt_code(const char *value, char out[6]);

#endif
