/* utility.c - eval --utility: the flat records.csv, the tools/utility.py run (no shell), the report merge. */
#include "eval/utility.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "util/buf.h"

extern char **environ;

static const char *const csv_header = "RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,"
                                      "ETHNICITY,HOSPITAL_EXPIRE_FLAG,ICD9_CODE,COMPLICATION_CODES,CPT_CD\n";

/* ---- records.csv ---- */

/* Writes s as one RFC 4180 field (quoted when it holds a comma, quote, CR or LF). */
static void put_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* codes[from..n) joined with ';' as one field. */
static void put_codes(FILE *f, char *const *codes, size_t from, size_t n)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = from; i < n; i++)
        if (buf_puts(&b, i > from ? ";" : "") != 0 || buf_puts(&b, codes[i]) != 0)
            break;
    put_field(f, buf_str(&b));
    buf_free(&b);
}

static void put_row(FILE *f, const struct eval_row *r, size_t id)
{
    static const enum eval_cat order[] = {EVAL_INSURANCE, EVAL_LANGUAGE, EVAL_RELIGION, EVAL_MARITAL_STATUS,
                                          EVAL_ETHNICITY};

    fprintf(f, "%zu,", id);
    put_field(f, r->gender);
    fputc(',', f);
    if (r->age >= 0)
        fprintf(f, "%d", r->age);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        fputc(',', f);
        put_field(f, eval_row_cat(r, order[i]));
    }
    fputc(',', f);
    if (r->expire >= 0)
        fprintf(f, "%d", r->expire);
    fputc(',', f);
    put_field(f, r->nicd9 ? r->icd9[0] : "");
    fputc(',', f);
    put_codes(f, r->icd9, 1, r->nicd9);
    fputc(',', f);
    put_codes(f, r->cpt, 0, r->ncpt);
    fputc('\n', f);
}

int eval_write_records_csv(const char *path, const struct eval_table *t, struct error *err)
{
    FILE *f = fopen(path, "w");
    int bad = 0;

    if (!f)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno));
    fputs(csv_header, f);
    for (size_t i = 0; i < t->n; i++)
        put_row(f, &t->rows[i], i + 1);
    bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    return 0;
}

/* ---- running Python without a shell ---- */

/* Spawns argv (searching PATH when search is set), waits; quiet sends stdout and stderr to /dev/null.
 * Returns the exit status, 128 + signal, or -1 when it could not start (errno-like code in *why). */
static int spawn_wait(char *const *argv, int search, int quiet, int *why)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = 0;
    int st = 0, rc = 0;

    *why = 0;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return *why = ENOMEM, -1;
    if (quiet && (posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
                  posix_spawn_file_actions_adddup2(&fa, 1, 2) != 0)) {
        posix_spawn_file_actions_destroy(&fa);
        return *why = ENOMEM, -1;
    }
    rc = search ? posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)
                : posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return *why = rc, -1;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return *why = errno, -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

const char *eval_utility_python(struct error *err)
{
    static char sys_py[] = "/usr/bin/python3", path_py[] = "python3", dash_c[] = "-c",
                probe[] = "import sklearn";
    char *a1[] = {sys_py, dash_c, probe, NULL}, *a2[] = {path_py, dash_c, probe, NULL};
    int why = 0;

    if (spawn_wait(a1, 0, 1, &why) == 0)
        return sys_py;
    if (spawn_wait(a2, 1, 1, &why) == 0)
        return path_py;
    error_set(err, LLMSYN_E_INPUT, "--utility needs python3 with scikit-learn: neither /usr/bin/python3 nor "
              "python3 on PATH imports sklearn (Debian: apt-get install python3-sklearn)");
    return NULL;
}

/* out = a + b + c; -1 when it does not fit. */
static int join3(char *out, size_t n, const char *a, const char *b, const char *c)
{
    int len = snprintf(out, n, "%s%s%s", a, b, c);

    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int eval_utility_run(const char *python, const char *datadir, const char *csv, const char *real,
                     const char *report, struct error *err)
{
    char script[PATH_MAX], codes[PATH_MAX], json[PATH_MAX], md[PATH_MAX];
    char o_syn[] = "--synthetic", o_real[] = "--real", o_codes[] = "--codes", o_seeds[] = "--seeds",
         five[] = "5", o_seed[] = "--seed", one[] = "1", o_json[] = "--json", o_md[] = "--md";
    char py[PATH_MAX], syn[PATH_MAX], rl[PATH_MAX];
    int why = 0, st = 0;

    if (join3(script, sizeof script, datadir, "/tools/utility.py", "") || join3(codes, sizeof codes, datadir,
        "/mappings/codes", "") || join3(json, sizeof json, report, "/utility.json", "") ||
        join3(md, sizeof md, report, "/utility.md", "") || join3(py, sizeof py, python, "", "") ||
        join3(syn, sizeof syn, csv, "", "") || join3(rl, sizeof rl, real, "", ""))
        return error_set(err, LLMSYN_E_USAGE, "utility: a path is too long (data folder '%s')", datadir);
    {
        char *argv[] = {py, script, o_syn, syn, o_real, rl, o_codes, codes, o_seeds, five, o_seed, one,
                        o_json, json, o_md, md, NULL};
        st = spawn_wait(argv, strchr(py, '/') == NULL, 0, &why);
    }
    if (st < 0)
        return error_set(err, LLMSYN_E_INPUT, "cannot run '%s %s': %s", python, script, strerror(why));
    if (st != 0)
        return error_set(err, LLMSYN_E_INPUT, "'%s' failed with exit status %d (its message is above)", script,
                         st);
    return 0;
}

/* ---- merging utility.json / utility.md into the report ---- */

/* Reads a whole file (at most EVAL_UTILITY_MAX_JSON bytes) into b. 0 or status. */
static int slurp(const char *path, struct buf *b, struct error *err)
{
    char chunk[8192];
    FILE *f = fopen(path, "r");
    size_t got = 0;
    int rc = 0;

    if (!f)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(b, chunk, got) != 0) {
            rc = error_set(err, LLMSYN_E_INPUT, "'%s' is larger than %zu bytes", path, EVAL_UTILITY_MAX_JSON);
            break;
        }
    if (!rc && ferror(f))
        rc = error_set(err, LLMSYN_E_INPUT, "cannot read '%s'", path);
    fclose(f);
    return rc;
}

static int write_text(const char *path, const char *mode, const char *text, struct error *err)
{
    FILE *f = fopen(path, mode);
    int bad = 0;

    if (!f)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno));
    fputs(text, f);
    bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s'", path);
    return 0;
}

/* Length of s without trailing white space. */
static size_t trimmed_len(const char *s, size_t n)
{
    while (n && strchr(" \t\r\n", s[n - 1]))
        n--;
    return n;
}

/* The utility figures are spliced in as utility.py wrote them (re-printing through cJSON would round the
 * last digit of some doubles); both files are parsed first, so only two JSON objects are joined. */
static int merge_json(const char *report, struct error *err)
{
    char upath[PATH_MAX], rpath[PATH_MAX];
    struct buf rep, util, out;
    cJSON *ro = NULL, *uo = NULL;
    size_t rn = 0;
    int rc = 0;

    if (join3(upath, sizeof upath, report, "/utility.json", "") || join3(rpath, sizeof rpath, report,
                                                                          "/report.json", ""))
        return error_set(err, LLMSYN_E_USAGE, "report folder path '%s' is too long", report);
    buf_init(&rep, EVAL_UTILITY_MAX_JSON);
    buf_init(&util, EVAL_UTILITY_MAX_JSON);
    buf_init(&out, 0);
    if ((rc = slurp(rpath, &rep, err)) != 0 || (rc = slurp(upath, &util, err)) != 0)
        goto out;
    ro = cJSON_ParseWithLength(buf_str(&rep), rep.len);
    uo = cJSON_ParseWithLength(buf_str(&util), util.len);
    rn = trimmed_len(buf_str(&rep), rep.len);
    if (!cJSON_IsObject(ro) || cJSON_GetObjectItemCaseSensitive(ro, "utility") || !rn || rep.data[rn - 1] != '}'
        || cJSON_GetArraySize(ro) < 1) {
        rc = error_set(err, LLMSYN_E_INPUT, "'%s' is not a report without a utility key", rpath);
        goto out;
    }
    if (!cJSON_IsObject(uo)) {
        rc = error_set(err, LLMSYN_E_INPUT, "'%s' is not a JSON object", upath);
        goto out;
    }
    if (buf_append(&out, rep.data, rn - 1) != 0 || buf_puts(&out, ",\n\t\"utility\": ") != 0 ||
        buf_append(&out, util.data, trimmed_len(util.data, util.len)) != 0 || buf_puts(&out, "\n}\n") != 0) {
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory merging '%s'", upath);
        goto out;
    }
    rc = write_text(rpath, "w", buf_str(&out), err);
out:
    cJSON_Delete(ro);
    cJSON_Delete(uo);
    buf_free(&rep);
    buf_free(&util);
    buf_free(&out);
    return rc;
}

static int merge_md(const char *report, struct error *err)
{
    char upath[PATH_MAX], rpath[PATH_MAX];
    struct buf in, out;
    const char *p = NULL;
    int rc = 0;

    if (join3(upath, sizeof upath, report, "/utility.md", "") || join3(rpath, sizeof rpath, report,
                                                                        "/report.md", ""))
        return error_set(err, LLMSYN_E_USAGE, "report folder path '%s' is too long", report);
    buf_init(&in, EVAL_UTILITY_MAX_JSON);
    buf_init(&out, 0);
    if ((rc = slurp(upath, &in, err)) != 0)
        goto out;
    if (buf_puts(&out, "\n") != 0) /* one blank line between the report and the utility section */
        goto nomem;
    for (p = buf_str(&in); *p; p++) /* headings one level down: the section sits under the report title */
        if (((p == buf_str(&in) || p[-1] == '\n') && *p == '#' && buf_putc(&out, '#') != 0) ||
            buf_putc(&out, *p) != 0)
            goto nomem;
    rc = write_text(rpath, "a", buf_str(&out), err);
    goto out;
nomem:
    rc = error_set(err, LLMSYN_E_NOMEM, "out of memory merging '%s'", upath);
out:
    buf_free(&in);
    buf_free(&out);
    return rc;
}

int eval_utility_merge(const char *report, struct error *err)
{
    int rc = merge_json(report, err);

    return rc ? rc : merge_md(report, err);
}
