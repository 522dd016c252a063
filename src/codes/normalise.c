/* normalise.c - the one normaliser of code shapes (ICD-9-CM dx/px dotted, CPT/HCPCS 5 characters), shared by
 * the dictionaries and the answer extractor. */
#include <string.h>

#include "codes/dict.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static size_t count_digits(const char *s)
{
    size_t n = 0;

    while (is_digit(s[n]))
        n++;
    return n;
}

/* A code ends at the end of the text or at an ASCII character that is neither a letter nor a digit;
 * a dot counts as an end only when no letter or digit follows it ("428.0." ends, "428.0.1" does not).
 * Non-ASCII bytes do not end a code: "428４" is not 428. */
static int at_code_end(const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c == '\0')
        return 1;
    if (c >= 0x80 || is_digit(*p) || is_alpha(*p))
        return 0;
    if (*p == '.' && (is_digit(p[1]) || is_alpha(p[1]) || (unsigned char)p[1] >= 0x80))
        return 0;
    return 1;
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* The shape of one ICD-9-CM code family: integer digits, most decimals, whether a dotted integer
 * part may be shorter (and is padded with zeros: "38.9" is 038.9). */
struct icd_shape {
    size_t want;
    size_t maxdec;
    int pad;
};

/* Parses digits at p as shape->want integer digits then up to maxdec decimals, dotted or not.
 * Sets the integer length, decimals and their count; returns the end of the code, or NULL. */
static const char *split_digits(const char *p, const struct icd_shape *sh, size_t *in, const char **dp, size_t *dn)
{
    size_t n = count_digits(p);

    if (p[n] == '.' && is_digit(p[n + 1])) {
        size_t d = count_digits(p + n + 1);

        if (n == 0 || n > sh->want || (n < sh->want && !sh->pad) || d > sh->maxdec)
            return NULL;
        *in = n;
        *dp = p + n + 1;
        *dn = d;
        return p + n + 1 + d;
    }
    if (n < sh->want || n > sh->want + sh->maxdec)
        return NULL;
    *in = sh->want;
    *dp = p + sh->want;
    *dn = n - sh->want;
    return p + n;
}

/* Writes prefix + zero-padded integer part (+ "." + decimals). Returns 0, or -1 when out is too small.
 * (Plain copies, not snprintf: this runs for every row of the tables at load and every lookup.) */
static int write_icd(char *out, size_t outlen, const char *prefix, const char *ip, size_t in, size_t want,
                     const char *dp, size_t dn)
{
    size_t np = strlen(prefix), n = np + want + (dn ? 1 + dn : 0), i;

    if (n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, prefix, np);
    for (i = 0; i < want - in; i++)
        out[np + i] = '0';
    memcpy(out + np + want - in, ip, in);
    if (dn) {
        out[np + want] = '.';
        memcpy(out + np + want + 1, dp, dn);
    }
    out[n] = '\0';
    return 0;
}

/* Diagnoses: 3 digits + up to 2 decimals, V + 2 digits + up to 2, E + 3 digits + up to 1. */
static int norm_dx(const char *s, char *out, size_t outlen)
{
    char prefix[2] = "";
    struct icd_shape sh = { 3, 2, 1 };
    const char *p = skip_blanks(s), *end, *dp = NULL;
    size_t in = 0, dn = 0;

    if (to_upper(*p) == 'V' || to_upper(*p) == 'E') {
        prefix[0] = to_upper(*p);
        sh.want = prefix[0] == 'V' ? 2 : 3;
        sh.maxdec = prefix[0] == 'V' ? 2 : 1;
        sh.pad = 0;
        p++;
    }
    end = split_digits(p, &sh, &in, &dp, &dn);
    if (!end || !at_code_end(end))
        return -1;
    return write_icd(out, outlen, prefix, p, in, sh.want, dp, dn);
}

/* Procedures (volume 3): 2 digits + up to 2 decimals ("9671" -> "96.71", "3.91" -> "03.91"). */
static int norm_px(const char *s, char *out, size_t outlen)
{
    static const struct icd_shape sh = { 2, 2, 1 };
    const char *p = skip_blanks(s), *end, *dp = NULL;
    size_t in = 0, dn = 0;

    end = split_digits(p, &sh, &in, &dp, &dn);
    if (!end || !at_code_end(end))
        return -1;
    return write_icd(out, outlen, "", p, in, sh.want, dp, dn);
}

/* CPT: 5 digits or 4 digits + F/T/U; HCPCS Level II: a letter + 4 digits. */
static int norm_cpt(const char *s, char *out, size_t outlen, int allow_cpt)
{
    const char *p = skip_blanks(s);
    char code[6];
    size_t i;
    int hcpcs, cpt;

    for (i = 0; i < 5; i++) {
        if (!is_digit(p[i]) && !is_alpha(p[i]))
            return -1;
        code[i] = to_upper(p[i]);
    }
    code[5] = '\0';
    if (!at_code_end(p + 5))
        return -1;
    hcpcs = is_alpha(code[0]) && count_digits(code + 1) == 4;
    cpt = count_digits(code) == 5 ||
          (count_digits(code) == 4 && (code[4] == 'F' || code[4] == 'T' || code[4] == 'U'));
    if (!(hcpcs || (allow_cpt && cpt)) || outlen < sizeof code)
        return -1;
    memcpy(out, code, sizeof code);
    return 0;
}

int code_normalise(enum code_system system, const char *raw, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!raw)
        return -1;
    switch (system) {
    case CODE_ICD9_DX: return norm_dx(raw, out, outlen);
    case CODE_ICD9_PX: return norm_px(raw, out, outlen);
    case CODE_CPT: return norm_cpt(raw, out, outlen, 1);
    case CODE_HCPCS: return norm_cpt(raw, out, outlen, 0);
    }
    return -1;
}
