/* fuzz_csv.c - libFuzzer target: the bounded CSV reader (util/csv.h) on arbitrary bytes, with a header. */
#define _GNU_SOURCE 1 /* fmemopen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every record; small limits so that the limit paths are reached. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct csv_reader r;
    size_t i, total;
    int rc;

    if (size < 2)
        return 0;
    if (csv_open(&r, "/dev/null", 256, 16, &err) != 0)
        abort();
    fclose(r.fp); /* the reader's stream becomes the input (csv_close closes it) */
    r.fp = fmemopen((void *)(uintptr_t)(data + 1), size - 1, "r");
    if (!r.fp)
        abort();
    rc = (data[0] & 1) ? csv_read_header(&r, &err) : 0;
    while (rc == 0 && (rc = csv_next(&r, &err)) == 1) {
        for (i = total = 0; i < csv_nfields(&r); i++) {
            total += strlen(csv_field(&r, i));
            if (!csv_utf8_valid(csv_field(&r, i), strlen(csv_field(&r, i))))
                abort(); /* the reader promises valid UTF-8 fields */
        }
        if (csv_nfields(&r) > 16 || total > 256)
            abort(); /* the limits hold */
        rc = 0;
    }
    if (rc < 0 && (err.code != LLMSYN_E_INPUT || strncmp(err.msg, "/dev/null:", 10) != 0))
        abort(); /* errors are input errors naming file:line */
    csv_close(&r);
    return 0;
}
