/* datadir.c - finds the data folder: --data-dir, $LLMSYN_DATA_DIR, the tree around the binary, the prefix. */
#include "util/datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LLMSYN_DATADIR
#define LLMSYN_DATADIR "/usr/local/share/llmsyn-fhir"
#endif

/* out = a + b; returns 0, or -1 when the result would not fit. */
static int join(char *out, size_t n, const char *a, const char *b)
{
    int len = snprintf(out, n, "%s%s", a, b);

    return len < 0 || (size_t)len >= n ? -1 : 0;
}

static int dir_has_prompts(const char *dir)
{
    char path[PATH_MAX];

    return join(path, sizeof path, dir, "/prompts/demographics.prompt") == 0 && access(path, R_OK) == 0;
}

/* The folder above the running binary when it holds prompts/: 0 with out set, else -1. */
static int from_exe(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = NULL;

    if (len <= 0)
        return -1;
    exe[len] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return join(out, n, exe, "/..") == 0 && dir_has_prompts(out) ? 0 : -1;
}

int find_data_dir(const char *override, char *out, size_t n)
{
    const char *env = getenv("LLMSYN_DATA_DIR");
    const char *pick = override ? override : env && *env ? env : NULL;

    if (!n)
        return -1;
    if (!pick && from_exe(out, n) == 0)
        return 0;
    if (join(out, n, pick ? pick : LLMSYN_DATADIR, "") != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}
