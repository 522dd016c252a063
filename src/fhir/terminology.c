/* terminology.c - value maps from MIMIC-III demographic strings to FHIR code systems (see docs/fhir-mapping.md). */
#include "fhir/terminology.h"

#include <stddef.h>
#include <string.h>

/* Values are compared by a key of their letters and digits, upper-cased: "Hispanic/Latino - Cuban",
 * "HISPANIC/LATINO - CUBAN" and "hispanic latino cuban" share the key HISPANICLATINOCUBAN. */
#define KEY_MAX 64

struct key {
    char s[KEY_MAX];
    int overlong; /* more letters and digits than fit: no exact match, prefixes still work */
};

static void make_key(const char *value, struct key *k)
{
    size_t n = 0;
    const char *p;

    k->overlong = 0;
    for (p = value ? value : ""; *p; p++) {
        char c = *p;

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            continue;
        if (n == KEY_MAX - 1) {
            k->overlong = 1;
            break;
        }
        k->s[n++] = c;
    }
    k->s[n] = '\0';
}

static int key_is(const struct key *k, const char *lit)
{
    return !k->overlong && !strcmp(k->s, lit);
}

static int key_starts(const struct key *k, const char *lit)
{
    return !strncmp(k->s, lit, strlen(lit));
}

/* ---- race and ethnicity (CDC Race & Ethnicity code set, OMB categories) ---- */

static const struct term_coding NONE = { NULL, NULL, NULL };
static const struct term_coding UNK = { TERM_SYS_NULLFLAVOR, "UNK", "unknown" };
static const struct term_coding ASKU = { TERM_SYS_NULLFLAVOR, "ASKU", "asked but unknown" };
/* OMB race categories */
static const struct term_coding AIAN = { TERM_SYS_CDCREC, "1002-5", "American Indian or Alaska Native" };
static const struct term_coding ASIAN = { TERM_SYS_CDCREC, "2028-9", "Asian" };
static const struct term_coding BLACK = { TERM_SYS_CDCREC, "2054-5", "Black or African American" };
static const struct term_coding NHPI = { TERM_SYS_CDCREC, "2076-8", "Native Hawaiian or Other Pacific Islander" };
static const struct term_coding WHITE = { TERM_SYS_CDCREC, "2106-3", "White" };
/* OMB ethnicity categories */
static const struct term_coding HISP = { TERM_SYS_CDCREC, "2135-2", "Hispanic or Latino" };
static const struct term_coding NOTHISP = { TERM_SYS_CDCREC, "2186-5", "Not Hispanic or Latino" };

struct eth_rule {
    const char *key;    /* normalised MIMIC string */
    int prefix;         /* match key as a prefix */
    enum term_match race, eth;
    const struct term_coding *race_omb, *race_det, *eth_omb, *eth_det;
};

#define R_CODED(omb, det) TERM_CODED, TERM_ABSENT, &(omb), (det), &NONE, &NONE
#define E_CODED(det) TERM_ABSENT, TERM_CODED, &NONE, &NONE, &HISP, (det)
#define DET(code, display) (&(const struct term_coding){ TERM_SYS_CDCREC, code, display })

/* Exact strings first (detailed codes only where the CDC code set has the very concept), then prefixes. */
static const struct eth_rule eth_rules[] = {
    { "WHITE", 0, R_CODED(WHITE, &NONE) },
    { "WHITEOTHEREUROPEAN", 0, R_CODED(WHITE, DET("2108-9", "European")) },
    { "WHITEEASTERNEUROPEAN", 0, R_CODED(WHITE, DET("2108-9", "European")) },
    { "MIDDLEEASTERN", 0, R_CODED(WHITE, DET("2118-8", "Middle Eastern or North African")) },
    { "PORTUGUESE", 0, R_CODED(WHITE, &NONE) },
    { "BLACKAFRICANAMERICAN", 0, R_CODED(BLACK, DET("2058-6", "African American")) },
    { "BLACKAFRICAN", 0, R_CODED(BLACK, DET("2060-2", "African")) },
    { "BLACKHAITIAN", 0, R_CODED(BLACK, DET("2071-9", "Haitian")) },
    { "ASIANCHINESE", 0, R_CODED(ASIAN, DET("2034-7", "Chinese")) },
    { "ASIANASIANINDIAN", 0, R_CODED(ASIAN, DET("2029-7", "Asian Indian")) },
    { "ASIANVIETNAMESE", 0, R_CODED(ASIAN, DET("2047-9", "Vietnamese")) },
    { "ASIANFILIPINO", 0, R_CODED(ASIAN, DET("2036-2", "Filipino")) },
    { "ASIANCAMBODIAN", 0, R_CODED(ASIAN, DET("2033-9", "Cambodian")) },
    { "ASIANKOREAN", 0, R_CODED(ASIAN, DET("2040-4", "Korean")) },
    { "ASIANJAPANESE", 0, R_CODED(ASIAN, DET("2039-6", "Japanese")) },
    { "ASIANTHAI", 0, R_CODED(ASIAN, DET("2046-1", "Thai")) },
    { "HISPANICLATINOPUERTORICAN", 0, E_CODED(DET("2180-8", "Puerto Rican")) },
    { "HISPANICLATINODOMINICAN", 0, E_CODED(DET("2184-0", "Dominican")) },
    { "HISPANICLATINOGUATEMALAN", 0, E_CODED(DET("2157-6", "Guatemalan")) },
    { "HISPANICLATINOCUBAN", 0, E_CODED(DET("2182-4", "Cuban")) },
    { "HISPANICLATINOSALVADORAN", 0, E_CODED(DET("2161-8", "Salvadoran")) },
    { "HISPANICLATINOCENTRALAMERICANOTHER", 0, E_CODED(DET("2155-0", "Central American")) },
    { "HISPANICLATINOMEXICAN", 0, E_CODED(DET("2148-5", "Mexican")) },
    { "HISPANICLATINOCOLOMBIAN", 0, E_CODED(DET("2169-1", "Colombian")) },
    { "HISPANICLATINOHONDURAN", 0, E_CODED(DET("2158-4", "Honduran")) },
    { "NOTHISPANICORLATINO", 0, TERM_ABSENT, TERM_CODED, &NONE, &NONE, &NOTHISP, &NONE },
    /* whole-string unknowns: both dimensions carry the null flavour */
    { "UNKNOWNNOTSPECIFIED", 0, TERM_CODED, TERM_CODED, &UNK, &NONE, &UNK, &NONE },
    { "UNKNOWN", 0, TERM_CODED, TERM_CODED, &UNK, &NONE, &UNK, &NONE },
    { "UNABLETOOBTAIN", 0, TERM_CODED, TERM_CODED, &UNK, &NONE, &UNK, &NONE },
    { "PATIENTDECLINEDTOANSWER", 0, TERM_CODED, TERM_CODED, &ASKU, &NONE, &ASKU, &NONE },
    /* no OMB category is certain: race text only */
    { "CARIBBEANISLAND", 0, TERM_TEXT, TERM_ABSENT, &NONE, &NONE, &NONE, &NONE },
    { "MULTIRACEETHNICITY", 0, TERM_TEXT, TERM_ABSENT, &NONE, &NONE, &NONE, &NONE },
    { "OTHER", 0, TERM_TEXT, TERM_ABSENT, &NONE, &NONE, &NONE, &NONE },
    /* an origin, not necessarily Hispanic (Brazil): ethnicity text only */
    { "SOUTHAMERICAN", 0, TERM_ABSENT, TERM_TEXT, &NONE, &NONE, &NONE, &NONE },
    /* families */
    { "WHITE", 1, R_CODED(WHITE, &NONE) },
    { "BLACK", 1, R_CODED(BLACK, &NONE) },
    { "AFRICANAMERICAN", 1, R_CODED(BLACK, &NONE) },
    { "ASIAN", 1, R_CODED(ASIAN, &NONE) },
    { "AMERICANINDIAN", 1, R_CODED(AIAN, &NONE) },
    { "NATIVEHAWAIIAN", 1, R_CODED(NHPI, &NONE) },
    { "HISPANIC", 1, E_CODED(&NONE) },
    { "LATINO", 1, E_CODED(&NONE) },
};

static void set_origin(struct term_origin *o, enum term_match m, const struct term_coding *omb,
                       const struct term_coding *det)
{
    o->match = m;
    o->omb = m == TERM_CODED ? *omb : NONE;
    o->detailed = m == TERM_CODED ? *det : NONE;
}

void term_race_ethnicity(const char *value, struct term_race_ethnicity *out)
{
    struct key k;
    size_t i;

    make_key(value, &k);
    if (!k.s[0]) { /* missing (or nothing but punctuation) */
        set_origin(&out->race, TERM_CODED, &UNK, &NONE);
        set_origin(&out->ethnicity, TERM_CODED, &UNK, &NONE);
        return;
    }
    for (i = 0; i < sizeof eth_rules / sizeof eth_rules[0]; i++) {
        const struct eth_rule *r = &eth_rules[i];

        if (r->prefix ? key_starts(&k, r->key) : key_is(&k, r->key)) {
            set_origin(&out->race, r->race, r->race_omb, r->race_det);
            set_origin(&out->ethnicity, r->eth, r->eth_omb, r->eth_det);
            return;
        }
    }
    /* unrecognised: keep what was said as race text */
    set_origin(&out->race, TERM_TEXT, &NONE, &NONE);
    set_origin(&out->ethnicity, TERM_ABSENT, &NONE, &NONE);
}

/* ---- language (MIMIC-III LANGUAGE codes -> BCP-47; names from the IANA subtag registry) ---- */

struct lang_rule {
    const char *key;  /* normalised MIMIC code */
    const char *name; /* normalised English name */
    const char *tag;
    const char *display;
};

static const struct lang_rule lang_rules[] = {
    { "ENGL", "ENGLISH", "en", "English" },
    { "SPAN", "SPANISH", "es", "Spanish" },
    { "RUSS", "RUSSIAN", "ru", "Russian" },
    { "PORT", "PORTUGUESE", "pt", "Portuguese" },
    { "CANT", "CANTONESE", "yue", "Yue Chinese" },
    { "CAPE", "CAPEVERDEANCREOLE", "kea", "Kabuverdianu" },
    { "MAND", "MANDARIN", "cmn", "Mandarin Chinese" },
    { "HAIT", "HAITIANCREOLE", "ht", "Haitian" },
    { "ITAL", "ITALIAN", "it", "Italian" },
    { "VIET", "VIETNAMESE", "vi", "Vietnamese" },
    { "GREE", "GREEK", "el", "Modern Greek (1453-)" },
    { "ARAB", "ARABIC", "ar", "Arabic" },
    { "PERS", "PERSIAN", "fa", "Persian" },
    { "CAMB", "KHMER", "km", "Khmer" },
    { "POLI", "POLISH", "pl", "Polish" },
    { "HIND", "HINDI", "hi", "Hindi" },
    { "KORE", "KOREAN", "ko", "Korean" },
    { "ALBA", "ALBANIAN", "sq", "Albanian" },
    { "FREN", "FRENCH", "fr", "French" },
    { "SOMA", "SOMALI", "so", "Somali" },
    { "THAI", "THAI", "th", "Thai" },
    { "LAOT", "LAO", "lo", "Lao" },
    { "JAPA", "JAPANESE", "ja", "Japanese" },
    { "TAGA", "TAGALOG", "tl", "Tagalog" },
    { "URDU", "URDU", "ur", "Urdu" },
    { "URD", "URDU", "ur", "Urdu" },         /* *URD */
    { "ARM", "ARMENIAN", "hy", "Armenian" }, /* *ARM */
    { "BEN", "BENGALI", "bn", "Bengali" },   /* *BEN */
    { "HUN", "HUNGARIAN", "hu", "Hungarian" },
    { "GUJ", "GUJARATI", "gu", "Gujarati" },
    { "YID", "YIDDISH", "yi", "Yiddish" },
    { "BUL", "BULGARIAN", "bg", "Bulgarian" },
    { "BUR", "BURMESE", "my", "Burmese" },
    { "TEL", "TELUGU", "te", "Telugu" },
    { "IBO", "IGBO", "ig", "Igbo" },
};

enum term_match term_language(const char *value, struct term_coding *out)
{
    struct key k;
    size_t i;

    *out = NONE;
    make_key(value, &k);
    if (!k.s[0] || key_is(&k, "UNKNOWN") || key_is(&k, "UNK"))
        return TERM_ABSENT;
    for (i = 0; i < sizeof lang_rules / sizeof lang_rules[0]; i++) {
        if (key_is(&k, lang_rules[i].key) || key_is(&k, lang_rules[i].name)) {
            out->system = TERM_SYS_BCP47;
            out->code = lang_rules[i].tag;
            out->display = lang_rules[i].display;
            return TERM_CODED;
        }
    }
    return TERM_TEXT; /* e.g. PTUN, AMER, ETHI, *CHI, *CDI, *MAN, **TO: meaning not certain */
}

/* ---- marital status ---- */

struct marital_rule {
    const char *key;
    struct term_coding coding;
};

static const struct marital_rule marital_rules[] = {
    { "MARRIED", { TERM_SYS_MARITAL, "M", "Married" } },
    { "SINGLE", { TERM_SYS_MARITAL, "S", "Never Married" } },
    { "NEVERMARRIED", { TERM_SYS_MARITAL, "S", "Never Married" } },
    { "WIDOWED", { TERM_SYS_MARITAL, "W", "Widowed" } },
    { "DIVORCED", { TERM_SYS_MARITAL, "D", "Divorced" } },
    { "SEPARATED", { TERM_SYS_MARITAL, "L", "Legally Separated" } },
    { "LEGALLYSEPARATED", { TERM_SYS_MARITAL, "L", "Legally Separated" } },
    { "LIFEPARTNER", { TERM_SYS_MARITAL, "T", "Domestic partner" } },
    { "DOMESTICPARTNER", { TERM_SYS_MARITAL, "T", "Domestic partner" } },
    { "UNKNOWN", { TERM_SYS_NULLFLAVOR, "UNK", "unknown" } },
    { "UNKNOWNDEFAULT", { TERM_SYS_NULLFLAVOR, "UNK", "unknown" } },
};

enum term_match term_marital(const char *value, struct term_coding *out)
{
    struct key k;
    size_t i;

    *out = NONE;
    make_key(value, &k);
    if (!k.s[0])
        return TERM_ABSENT;
    for (i = 0; i < sizeof marital_rules / sizeof marital_rules[0]; i++) {
        if (key_is(&k, marital_rules[i].key)) {
            *out = marital_rules[i].coding;
            return TERM_CODED;
        }
    }
    return TERM_TEXT;
}

/* ---- code shapes ---- */

static int is_blank_byte(char c)
{
    return (unsigned char)c <= 0x20 || c == 0x7f;
}

static const char *skip_blank(const char *s)
{
    while (*s && is_blank_byte(*s))
        s++;
    return s;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int term_icd9_dotted(const char *value, char out[8])
{
    char t[8];
    size_t n = 0, head, maxdec, i, o;
    const char *p = skip_blank(value ? value : "");

    while (p[n] && !is_blank_byte(p[n]) && n < sizeof t - 1)
        n++;
    if (n == 0 || *skip_blank(p + n) != '\0')
        return -1;
    memcpy(t, p, n);
    t[n] = '\0';
    if (t[0] == 'v' || t[0] == 'e')
        t[0] = (char)(t[0] - 'a' + 'A');
    head = t[0] == 'E' ? 4 : 3; /* E + 3 digits; V + 2 digits; 3 digits */
    maxdec = t[0] == 'E' ? 1 : 2;
    if (n < head || !(t[0] == 'V' || t[0] == 'E' || is_digit(t[0])))
        return -1;
    for (i = 1; i < head; i++)
        if (!is_digit(t[i]))
            return -1;
    memcpy(out, t, head);
    o = head;
    i = head + (t[head] == '.');
    if (t[head] == '.' && t[i] == '\0')
        return -1; /* "250." */
    if (t[i] != '\0')
        out[o++] = '.';
    for (; t[i]; i++) {
        if (!is_digit(t[i]) || o - head - 1 >= maxdec)
            return -1;
        out[o++] = t[i];
    }
    out[o] = '\0';
    return 0;
}

int term_cpt_code(const char *value, char out[6])
{
    const char *p = skip_blank(value ? value : "");
    int i;
    char last;

    for (i = 0; i < 4; i++)
        if (!is_digit(p[i]))
            return -1;
    last = p[4] >= 'a' && p[4] <= 'z' ? (char)(p[4] - 'a' + 'A') : p[4];
    if (!(is_digit(last) || last == 'F' || last == 'T' || last == 'U') || *skip_blank(p + 5) != '\0')
        return -1;
    memcpy(out, p, 4);
    out[4] = last;
    out[5] = '\0';
    return 0;
}

/* ---- small ones ---- */

const char *term_gender(const char *value)
{
    struct key k;

    make_key(value, &k);
    if (key_is(&k, "M") || key_is(&k, "MALE"))
        return "male";
    if (key_is(&k, "F") || key_is(&k, "FEMALE"))
        return "female";
    if (key_is(&k, "O") || key_is(&k, "OTHER"))
        return "other";
    return "unknown";
}

int term_religion_known(const char *value)
{
    struct key k;

    make_key(value, &k);
    return k.s[0] && !key_is(&k, "NOTSPECIFIED") && !key_is(&k, "UNOBTAINABLE") && !key_is(&k, "UNKNOWN");
}

int term_insurance_self_pay(const char *value)
{
    struct key k;

    make_key(value, &k);
    return key_is(&k, "SELFPAY");
}
