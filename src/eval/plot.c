/* plot.c - plot data files, a gnuplot script and the gnuplot run that turns them into the report's PNGs. */
#include "eval/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eval/fidelity.h"

const char *const eval_plot_names[EVAL_NPLOTS] = {"distributions.png", "top15_icd9.png", "mortality.png"};

#define PLOT_MAX_BARS 8   /* categories per distribution panel; the rest pooled as (other) */
#define PLOT_LABEL_MAX 24 /* bytes of a bar label */

/* Copies a label fit for a tab-separated gnuplot data file. */
static void label(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    if (!*s)
        s = "(missing)";
    for (; *s && k + 1 < cap && k < PLOT_LABEL_MAX; s++)
        out[k++] = *s == '\t' || *s == '"' || (unsigned char)*s < 0x20 ? ' ' : *s;
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) /* never cut a UTF-8 sequence */
        k--;
    if (k > 0 && (unsigned char)out[k - 1] >= 0xC0)
        k--;
    out[k] = '\0';
}

static FILE *open_in(const char *dir, const char *name, char *path, size_t cap, struct error *err)
{
    FILE *fp = NULL;
    snprintf(path, cap, "%s/%s", dir, name);
    if (!(fp = fopen(path, "w")))
        error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno));
    return fp;
}

static int close_checked(FILE *fp, const char *path, struct error *err)
{
    int bad = ferror(fp) != 0;
    bad |= fclose(fp) != 0;
    return bad ? error_set(err, LLMSYN_E_OUTPUT, "cannot write '%s': %s", path, strerror(errno)) : 0;
}

struct bar {
    const char *key;
    double real, syn;
};

static int bar_cmp(const void *a, const void *b)
{
    const struct bar *x = a, *y = b;
    double mx = x->real > x->syn ? x->real : x->syn, my = y->real > y->syn ? y->real : y->syn;
    if (mx != my)
        return mx > my ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Writes "label \t real \t synthetic" proportions of a feature, largest first, the rest as (other). */
static int write_dist(FILE *fp, const struct eval_dist *a, const struct eval_dist *b)
{
    struct bar *v = calloc(a->n + b->n + 1, sizeof *v);
    size_t n = 0;
    double oa = 0, ob = 0;
    char lab[64];

    if (!v)
        return -1;
    for (size_t i = 0; i < a->n; i++)
        v[n++] = (struct bar){a->key[i], a->count[i] / a->total, eval_dist_count(b, a->key[i]) / (b->total > 0 ? b->total : 1)};
    for (size_t i = 0; i < b->n; i++)
        if (eval_dist_count(a, b->key[i]) == 0)
            v[n++] = (struct bar){b->key[i], 0, b->count[i] / b->total};
    qsort(v, n, sizeof *v, bar_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i >= PLOT_MAX_BARS) {
            oa += v[i].real;
            ob += v[i].syn;
            continue;
        }
        label(v[i].key, lab, sizeof lab);
        fprintf(fp, "%s\t%.6f\t%.6f\n", lab, v[i].real, v[i].syn);
    }
    if (n > PLOT_MAX_BARS)
        fprintf(fp, "(other)\t%.6f\t%.6f\n", oa, ob);
    free(v);
    return 0;
}

static int dist_file(const char *pdir, const struct eval_table *real, const struct eval_table *syn, int f,
                     struct error *err)
{
    struct eval_dist a, b;
    char name[64], path[4200];
    FILE *fp = NULL;
    int rc = 0;

    memset(&b, 0, sizeof b);
    if ((rc = eval_feature_dist(real, (enum eval_feature)f, &a, err)) != 0)
        return rc;
    if ((rc = eval_feature_dist(syn, (enum eval_feature)f, &b, err)) != 0)
        goto out;
    snprintf(name, sizeof name, "dist_%s.dat", eval_feature_name((enum eval_feature)f));
    if (!(fp = open_in(pdir, name, path, sizeof path, err))) {
        rc = err->code;
        goto out;
    }
    if (a.total > 0 && b.total > 0 && write_dist(fp, &a, &b))
        rc = error_set(err, LLMSYN_E_NOMEM, "out of memory");
    if (!a.total || !b.total)
        fprintf(fp, "(none)\t0\t0\n");
    rc = close_checked(fp, path, err) ? (int)err->code : rc;
out:
    eval_dist_free(&a);
    eval_dist_free(&b);
    return rc;
}

static double rate(const struct eval_table *t)
{
    double d = 0, n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].expire >= 0) {
            n++;
            d += t->rows[i].expire == 1;
        }
    return n > 0 ? d / n : NAN;
}

static int small_files(const char *pdir, const struct eval_table *real, const struct eval_table *syn,
                       struct error *err)
{
    struct eval_top top;
    char path[4200], lab[64];
    FILE *fp = NULL;
    int rc = eval_top_icd9(real, syn, &top, err);

    if (rc)
        return rc;
    if (!(fp = open_in(pdir, "top15.dat", path, sizeof path, err)))
        return err->code;
    for (size_t i = 0; i < top.n; i++) {
        label(top.code[i], lab, sizeof lab);
        fprintf(fp, "%s\t%.6f\t%.6f\n", lab, top.real[i], top.syn[i]);
    }
    fprintf(fp, "OTHER\t%.6f\t%.6f\n", top.real_other, top.syn_other);
    if (close_checked(fp, path, err))
        return err->code;
    if (!(fp = open_in(pdir, "mortality.dat", path, sizeof path, err)))
        return err->code;
    fprintf(fp, "real\t%.6f\nsynthetic\t%.6f\n", rate(real), rate(syn));
    return close_checked(fp, path, err) ? (int)err->code : 0;
}

static const char script_head[] =
    "# plots.gp - written by llmsyn-fhir eval; run in this folder: gnuplot plots.gp\n"
    "set terminal pngcairo size 1500,1000 noenhanced font ',9'\n"
    "set datafile separator '\\t'\n"
    "set style data histograms\n"
    "set style histogram clustered gap 1\n"
    "set style fill solid 0.8 border -1\n"
    "set yrange [0:*]\n"
    "set ylabel 'proportion'\n"
    "set xtics rotate by 35 right\n"
    "set key top right\n";

static int write_script(const char *pdir, struct error *err)
{
    char path[4200];
    FILE *fp = open_in(pdir, "plots.gp", path, sizeof path, err);

    if (!fp)
        return err->code;
    fputs(script_head, fp);
    fprintf(fp, "set output '../%s'\nset multiplot layout 2,3 title 'real vs synthetic: share of rows per value'\n",
            eval_plot_names[0]);
    for (int f = 0; f <= EVAL_F_EXPIRE_FLAG; f++)
        fprintf(fp, "set title '%s'\nplot 'dist_%s.dat' using 2:xtic(1) title 'real', '' using 3 title 'synthetic'\n",
                eval_feature_name((enum eval_feature)f), eval_feature_name((enum eval_feature)f));
    fprintf(fp, "unset multiplot\nset output '../%s'\nset title 'top-15 ICD-9 codes of the real data: share of all codes'\n"
                "plot 'top15.dat' using 2:xtic(1) title 'real', '' using 3 title 'synthetic'\n",
            eval_plot_names[1]);
    fprintf(fp, "set terminal pngcairo size 600,500 noenhanced font ',10'\nset output '../%s'\n"
                "set title 'in-hospital mortality'\nset ylabel 'death rate'\nset xtics norotate\n"
                "plot 'mortality.dat' using 2:xtic(1) notitle\nset output\n",
            eval_plot_names[2]);
    return close_checked(fp, path, err) ? (int)err->code : 0;
}

/* Runs gnuplot plots.gp in pdir with its output discarded. */
static int run_gnuplot(const char *pdir, struct error *err)
{
    int status = 0;
    pid_t pid = fork();

    if (pid < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot run gnuplot: %s", strerror(errno));
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (chdir(pdir) == 0)
            execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return error_set(err, LLMSYN_E_OUTPUT, "cannot run gnuplot: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return error_set(err, LLMSYN_E_NOT_FOUND, "gnuplot not found (Debian package gnuplot-nox): plots not made");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return error_set(err, LLMSYN_E_OUTPUT, "gnuplot failed on '%s/plots.gp'", pdir);
    return 0;
}

int eval_plot(const char *dir, const struct eval_table *real, const struct eval_table *syn, struct error *err)
{
    char pdir[4096];
    int rc = 0;

    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    if (mkdir(pdir, 0755) != 0 && errno != EEXIST)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot create '%s': %s", pdir, strerror(errno));
    for (int f = 0; f <= EVAL_F_EXPIRE_FLAG && !rc; f++)
        rc = dist_file(pdir, real, syn, f, err);
    if (rc || (rc = small_files(pdir, real, syn, err)) != 0 || (rc = write_script(pdir, err)) != 0)
        return rc;
    return run_gnuplot(pdir, err);
}
