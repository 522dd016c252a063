/* validate.c - the validate subcommand: checks bundle files (or folders of them) against conformance/. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "fhir/check.h"

static int is_bundle_name(const char *name)
{
    size_t n = strlen(name);

    return n > 5 && !strcmp(name + n - 5, ".json") && strncmp(name, "run-report", 10) != 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks one file; prints its error. Returns 1 when it failed. */
static int check_one(const char *path)
{
    struct error err = { LLMSYN_OK, "" };

    if (fhir_check_file(path, &err) == 0)
        return 0;
    msg_error("%s", err.msg);
    return 1;
}

static int check_dir(const char *dir, unsigned long *checked)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, i;
    int failed = 0;

    if (!d) {
        msg_error("cannot open folder '%s'", dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_bundle_name(e->d_name))
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *p);
            if (!p)
                break;
            names = p;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    if (e) { /* the listing stopped early: out of memory */
        msg_error("out of memory listing folder '%s'", dir);
        failed++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        failed += check_one(path);
        free(names[i]);
    }
    free(names);
    *checked += n;
    return failed;
}

int cmd_validate(int argc, char **argv)
{
    unsigned long checked = 0, failed = 0;
    struct stat st;
    int i;

    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: " CLI_NAME " validate PATH...\nChecks bundle files, or every *.json in folders (run-report.json excepted):\n"
               "transaction type, urn:uuid fullUrls, PUT Type/id requests, Patient/Encounter/Condition/Procedure\n"
               "present, every reference resolving inside the bundle, time zones on dateTimes.\n");
        return argc < 2 ? LLMSYN_E_USAGE : 0;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            failed += (unsigned long)check_dir(argv[i], &checked);
        } else {
            failed += (unsigned long)check_one(argv[i]);
            checked++;
        }
    }
    printf("%lu bundles checked, %lu invalid\n", checked, failed);
    return failed ? LLMSYN_E_VALIDATION : 0;
}
