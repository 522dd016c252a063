/* fuzz_tables.c - libFuzzer target: the dictionary table reader (tsv.c) and the licensed CPT CSV parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codes/dict_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tsv(char *buf, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct tsv t;
    char *f[4];
    int rc;

    if (tsv_init(&t, "fuzz.tsv", buf, size, "#code\tstatus\tccs\tdisplay", &err) < 0) {
        if (err.code != LLMSYN_E_INPUT || !strstr(err.msg, "fuzz.tsv:"))
            abort();
        return;
    }
    while ((rc = tsv_next(&t, f, 4, &err)) == 1)
        if (strlen(f[0]) + strlen(f[1]) + strlen(f[2]) + strlen(f[3]) > size)
            abort();
    if (rc < 0 && !strstr(err.msg, "fuzz.tsv:"))
        abort();
}

static void fuzz_cpt(char *buf, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct dict *d = calloc(1, sizeof *d);
    struct code_info info;

    if (!d)
        return;
    if (cpt_dict_parse(d, "fuzz.csv", buf, size, &err) == 0) {
        if (!dict_cpt_exact(d) || d->tables[TABLE_CPT].n == 0)
            abort();
        /* every loaded code looks itself up */
        if (dict_lookup(d, CODE_CPT, d->tables[TABLE_CPT].e[0].code, &info) != CODE_VALID || !info.display)
            abort();
    } else if (err.code == LLMSYN_OK || (err.code == LLMSYN_E_INPUT && !strstr(err.msg, "fuzz.csv:"))) {
        abort();
    }
    dict_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf;

    if (size < 1 || size > 65536)
        return 0;
    buf = malloc(size + 1); /* the parsers may write a NUL at buf[size - 1 + 1] */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    if (data[0] & 1)
        fuzz_cpt(buf, size - 1);
    else
        fuzz_tsv(buf, size - 1);
    free(buf);
    return 0;
}
