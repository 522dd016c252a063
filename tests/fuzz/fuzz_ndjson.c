/* fuzz_ndjson.c - libFuzzer target: `post`'s NDJSON input (src/net/ndjson_input.c) on an arbitrary file, then every
 * request body it plans. The input is written to a file because ndjson_open reads paths, as `post` does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "net/ndjson_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input's path: one file per process, rewritten for each input. */
static const char *input_path(void)
{
    static char path[64];

    if (!path[0])
        snprintf(path, sizeof path, "/tmp/llmsyn-fuzz-%ld.ndjson", (long)getpid());
    return path;
}

static int write_input(const uint8_t *data, size_t size)
{
    FILE *fp = fopen(input_path(), "wb");
    int ok;

    if (!fp)
        return -1;
    ok = fwrite(data, 1, size, fp) == size;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

/* Every planned request must be a parseable transaction of at most `cap` entries. */
static void check_requests(struct ndjson_input *in, size_t cap)
{
    struct upload_source src;
    char reason[256], *body = NULL;
    size_t i, len = 0;
    cJSON *root = NULL;

    ndjson_source(in, &src);
    for (i = 0; i < src.n; i++) {
        if (src.phase_end(src.user, i) <= i || src.phase_end(src.user, i) > src.n || !src.name(src.user, i))
            abort();
        if (src.load(src.user, i, &body, &len, reason, sizeof reason) < 0)
            continue; /* a body over the byte cap is refused with a reason */
        root = cJSON_ParseWithLength(body, len);
        if (!root || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "entry")) > (int)cap)
            abort();
        cJSON_Delete(root);
        free(body);
        body = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct error err = { LLMSYN_OK, "" };
    struct ndjson_input *in = NULL;
    const size_t cap = 3;

    if (write_input(data, size) < 0)
        return 0;
    in = ndjson_open(input_path(), cap, 1 << 16, &err);
    if (!in) {
        if (err.code == LLMSYN_OK)
            abort(); /* a rejection always says why */
        return 0;
    }
    check_requests(in, cap);
    ndjson_close(&in);
    return 0;
}
