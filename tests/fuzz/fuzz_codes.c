/* fuzz_codes.c - libFuzzer target: the code normaliser, dict_lookup and dict_search on arbitrary text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codes/dict.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_ROWS 600 /* rows of each code table in the dictionary searched (search scans every row) */

static struct dict *dict;  /* the shipped tables, loaded once: lookups */
static struct dict *small; /* the same with the first SMALL_ROWS codes of each system: searches */

static const char *const TABLES[] = { "ccs.tsv", "ccs_services.tsv", "cpt_sections.tsv", "hcpcs.tsv",
                                      "icd9_chapters.tsv", "icd9_dx.tsv", "icd9_px.tsv" };

/* Copies a table, only its first SMALL_ROWS lines for the code tables. */
static void copy_head(const char *from, const char *to, int all)
{
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    char line[8192];
    long n = 0;

    if (!in || !out)
        abort();
    while (fgets(line, sizeof line, in) && (all || n++ <= SMALL_ROWS))
        fputs(line, out);
    fclose(in);
    if (fclose(out) != 0)
        abort();
}

static struct dict *load_or_die(const char *dir)
{
    struct error err = { LLMSYN_OK, "" };
    struct dict *d = dict_load(dir, NULL, &err);

    if (!d) {
        fprintf(stderr, "fuzz_codes: %s\n", err.msg);
        abort();
    }
    return d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *root = getenv("LLMSYN_ROOT");
    char path[4096], tmp[] = "/tmp/fuzz_codes.XXXXXX", from[4096], to[4096];
    size_t i;

    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "%s/mappings", root && *root ? root : ".");
    dict = load_or_die(path);
    if (!mkdtemp(tmp))
        abort();
    for (i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        snprintf(from, sizeof from, "%s/codes/%s", path, TABLES[i]);
        snprintf(to, sizeof to, "%s/%s", tmp, TABLES[i]);
        copy_head(from, to, strncmp(TABLES[i], "icd9_d", 6) && strncmp(TABLES[i], "icd9_p", 6) &&
                                strcmp(TABLES[i], "hcpcs.tsv"));
    }
    small = load_or_die(tmp);
    for (i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
        snprintf(to, sizeof to, "%s/%s", tmp, TABLES[i]);
        unlink(to);
    }
    rmdir(tmp);
    return 0;
}

/* A normal form is non-empty, short, upper-case letters, digits and dots, and a fixed point. */
static void check_normal(enum code_system s, const char *out)
{
    char again[16];
    size_t i, n = strlen(out);

    if (n == 0 || n > 7)
        abort();
    for (i = 0; i < n; i++)
        if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'A' && out[i] <= 'Z') || out[i] == '.'))
            abort();
    if (code_normalise(s, out, again, sizeof again) != 0 || strcmp(again, out) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s, out[16];
    struct code_info info, res[4];
    size_t i, n;
    int sys;

    if (size > 4096)
        return 0;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (sys = CODE_ICD9_DX; sys <= CODE_HCPCS; sys++) {
        if (code_normalise((enum code_system)sys, s, out, sizeof out) == 0)
            check_normal((enum code_system)sys, out);
        else if (out[0] != '\0')
            abort();
        if (dict_lookup(dict, (enum code_system)sys, s, &info) != info.status || info.status > CODE_INVALID)
            abort();
        if (info.status != CODE_INVALID && strcmp(info.code, out) != 0)
            abort();
    }
    if (size > 1 && data[0] % 4 == 0) { /* a quarter of the inputs are searches */
        n = dict_search(small, (enum code_system)(data[1] % 4), s + 2, res, 4);
        for (i = 0; i < n; i++)
            if (n > 4 || res[i].status != CODE_VALID)
                abort();
    }
    free(s);
    return 0;
}
