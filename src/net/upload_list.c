/* upload_list.c - which files `post` sends: a folder's record-*.json bundles in name order, or one file. */
#include "net/upload.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_bundle_name(const char *name)
{
    size_t n = strlen(name);

    return n > 12 && !strncmp(name, "record-", 7) && !strcmp(name + n - 5, ".json");
}

/* Appends dir/name to the list. Returns 0 or -1. */
static int list_push(char ***files, size_t *n, size_t *cap, const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p;

    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        char **tmp = realloc(*files, nc * sizeof *tmp);

        if (!tmp)
            return -1;
        *files = tmp;
        *cap = nc;
    }
    if (!(p = malloc(len)))
        return -1;
    snprintf(p, len, "%s/%s", dir, name);
    (*files)[(*n)++] = p;
    return 0;
}

static int list_dir(const char *path, char ***files, size_t *n, struct error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    size_t cap = 0;

    if (!d)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    while ((de = readdir(d)))
        if (is_bundle_name(de->d_name) && list_push(files, n, &cap, path, de->d_name) < 0) {
            closedir(d);
            return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
        }
    closedir(d);
    if (*n == 0)
        return error_set(err, LLMSYN_E_INPUT, "'%s' holds no record-*.json bundles and no *.ndjson files", path), -1;
    qsort(*files, *n, sizeof **files, cmp_str);
    return 0;
}

int upload_list(const char *path, char ***files, size_t *n, char *dir, size_t dirlen, struct error *err)
{
    struct stat st;
    const char *slash;

    *files = NULL;
    *n = 0;
    if (stat(path, &st) < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno)), -1;
    if (S_ISDIR(st.st_mode)) {
        snprintf(dir, dirlen, "%s", path);
        return list_dir(path, files, n, err);
    }
    slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, dirlen, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    else
        snprintf(dir, dirlen, ".");
    if (!(*files = malloc(sizeof **files)) || !((*files)[0] = strdup(path)))
        return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
    *n = 1;
    return 0;
}
