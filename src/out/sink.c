/* sink.c - the output folder: record files written atomically, appended files kept hidden until sink_close. */
#include "out/sink.h"
#include "out/sink_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* One appended output (NDJSON per resource type, records.csv): written to a hidden ".<name>.partial". */
struct appender {
    char name[64];  /* visible name, e.g. "Patient.ndjson" */
    char *partial;  /* owned: "<dir>/.<name>.partial" */
    char *final;    /* owned: "<dir>/<name>" */
    FILE *fp;       /* owned; NULL once closed */
    uint64_t len;   /* bytes written to it so far (the run journal records them) */
};

struct sink {
    char *dir;              /* owned: the output folder as given */
    llmsyn_format format;
    int broken;             /* an append failed: the appended files are incomplete */
    int resumed;            /* opened by sink_open_resume: the partial files hold journaled records */
    size_t napp;
    struct appender app[SINK_MAX_PARTS];
};

static int io_error(struct error *err, const char *path, int e)
{
    return error_set(err, e == ENOMEM ? LLMSYN_E_NOMEM : LLMSYN_E_OUTPUT, "cannot write '%s': %s", path,
                     strerror(e));
}

/* Creates dir (and parents), checks it can be written and, unless force, that it is empty. */
static int prepare_dir(const char *dir, int force, struct error *err)
{
    int empty = 0;

    if (fs_mkdir_p(dir, 0755) < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot create output folder '%s': %s", dir, strerror(errno));
    if (access(dir, W_OK | X_OK) != 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot write to output folder '%s': %s", dir, strerror(errno));
    if (fs_dir_is_empty(dir, &empty) < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot read output folder '%s': %s", dir, strerror(errno));
    if (!empty && !force)
        return error_set(err, LLMSYN_E_OUTPUT, "output folder '%s' is not empty (use --force to write into it)",
                         dir);
    return LLMSYN_OK;
}

/* Sets *out to the appender of `name`, creating its partial file the first time. */
static int appender_get(struct sink *s, const char *name, struct appender **out, struct error *err)
{
    struct appender *a;
    size_t i;

    for (i = 0; i < s->napp; i++) {
        if (!strcmp(s->app[i].name, name)) {
            *out = &s->app[i];
            return LLMSYN_OK;
        }
    }
    if (s->napp == SINK_MAX_PARTS)
        return error_set(err, LLMSYN_E_OUTPUT, "too many output files in '%s' (at most %d, at '%s')", s->dir,
                         SINK_MAX_PARTS, name);
    a = &s->app[s->napp];
    memcpy(a->name, name, strlen(name) + 1); /* the caller checked it fits */
    a->partial = fs_join(s->dir, ".", name, ".partial");
    a->final = fs_join(s->dir, "", name, "");
    if (a->partial && a->final)
        a->fp = fs_create(a->partial);
    if (!a->fp) {
        int e = errno;

        io_error(err, a->final ? a->final : name, e);
        free(a->partial);
        free(a->final);
        memset(a, 0, sizeof *a);
        return e == ENOMEM ? LLMSYN_E_NOMEM : LLMSYN_E_OUTPUT;
    }
    s->napp++;
    *out = a;
    return LLMSYN_OK;
}

static int append(struct sink *s, const char *name, const char *data, size_t len, struct error *err)
{
    struct appender *a = NULL; /* borrowed from s */
    int rc = appender_get(s, name, &a, err);

    if (rc != LLMSYN_OK)
        return rc;
    if (fs_write_all(a->fp, data, len) < 0) {
        s->broken = 1;
        return io_error(err, a->final, errno);
    }
    a->len += len;
    return LLMSYN_OK;
}

/* Writes the header line of each of Synthea's four files, so they exist even for an empty run. */
static int append_synthea_headers(struct sink *s, struct error *err)
{
    static const char *const files[][2] = {
        {SINK_SYNTHEA_PATIENTS, SINK_SYNTHEA_PATIENTS_HEADER},
        {SINK_SYNTHEA_ENCOUNTERS, SINK_SYNTHEA_ENCOUNTERS_HEADER},
        {SINK_SYNTHEA_CONDITIONS, SINK_SYNTHEA_CONDITIONS_HEADER},
        {SINK_SYNTHEA_PROCEDURES, SINK_SYNTHEA_PROCEDURES_HEADER},
    };
    size_t i;
    int rc = LLMSYN_OK;

    for (i = 0; rc == LLMSYN_OK && i < sizeof files / sizeof files[0]; i++)
        rc = append(s, files[i][0], files[i][1], strlen(files[i][1]), err);
    return rc;
}

struct sink *sink_open(const char *dir, llmsyn_format format, int force, struct error *err)
{
    struct sink *s = NULL; /* owned until returned */

    if (!dir || !*dir) {
        error_set(err, LLMSYN_E_USAGE, "no output folder given");
        return NULL;
    }
    if (format != LLMSYN_FORMAT_BUNDLES && format != LLMSYN_FORMAT_NDJSON && format != LLMSYN_FORMAT_CSV &&
        format != LLMSYN_FORMAT_SYNTHEA_CSV) {
        error_set(err, LLMSYN_E_INTERNAL, "unknown output format %d", (int)format);
        return NULL;
    }
    if (prepare_dir(dir, force, err) != LLMSYN_OK)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s)
        s->dir = strdup(dir);
    if (!s || !s->dir) {
        free(s);
        error_set(err, LLMSYN_E_NOMEM, "out of memory opening output folder '%s'", dir);
        return NULL;
    }
    s->format = format;
    if (format == LLMSYN_FORMAT_CSV &&
        append(s, SINK_CSV_NAME, SINK_CSV_HEADER, strlen(SINK_CSV_HEADER), err) != LLMSYN_OK)
        sink_close(&s, 0, err);
    if (s && format == LLMSYN_FORMAT_SYNTHEA_CSV && append_synthea_headers(s, err) != LLMSYN_OK)
        sink_close(&s, 0, err);
    return s;
}

/* 1 when a part's name is NUL-terminated in its array and a plain visible file name. */
static int part_name_ok(const char *name, size_t size)
{
    return memchr(name, '\0', size) != NULL && fs_plain_name(name);
}

static int write_atomic_in(struct sink *s, const char *name, const char *data, size_t len, int sync,
                           struct error *err)
{
    char *path = fs_join(s->dir, "", name, ""); /* owned */
    int rc;

    if (!path)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory writing '%s' in '%s'", name, s->dir);
    rc = fs_write_atomic(path, data, len, sync, err);
    free(path);
    return rc;
}

int sink_write(struct sink *s, const struct sink_chunk *c, struct error *err)
{
    size_t i;
    int rc = LLMSYN_OK;

    if (!s || !c || c->nparts > SINK_MAX_PARTS)
        return error_set(err, LLMSYN_E_INTERNAL, "sink_write: no sink or a malformed chunk");
    if (s->broken)
        return error_set(err, LLMSYN_E_OUTPUT, "not writing record %" PRIu64 ": an earlier write in '%s' failed",
                         c->index, s->dir);
    for (i = 0; i < c->nparts && rc == LLMSYN_OK; i++) {
        const char *name = c->parts[i].name;
        const struct buf *b = &c->parts[i].data;

        if (!part_name_ok(name, sizeof c->parts[i].name))
            return error_set(err, LLMSYN_E_INTERNAL, "record %" PRIu64 " has an unsafe output name", c->index);
        if (s->format == LLMSYN_FORMAT_BUNDLES)
            rc = write_atomic_in(s, name, buf_str(b), b->len, 0, err); /* made durable at close */
        else
            rc = append(s, name, buf_str(b), b->len, err);
    }
    return rc;
}

int sink_write_file(struct sink *s, const char *name, const char *data, size_t len, struct error *err)
{
    if (!s || !name || (!data && len > 0))
        return error_set(err, LLMSYN_E_INTERNAL, "sink_write_file: no sink, name or data");
    if (!fs_plain_name(name))
        return error_set(err, LLMSYN_E_INTERNAL, "refusing to write '%s' into '%s': not a plain file name", name,
                         s->dir);
    return write_atomic_in(s, name, data, len, 1, err);
}

/* Flushes, fsyncs and closes every appended file; stops at the first failure (sink_free closes the rest). */
static int finish_appenders(struct sink *s, struct error *err)
{
    size_t i;

    for (i = 0; i < s->napp; i++)
        if (fs_close_synced(&s->app[i].fp) < 0)
            return io_error(err, s->app[i].final, errno);
    return LLMSYN_OK;
}

/* Moves the finished partial files to their visible names and makes the renames durable. */
static int publish(struct sink *s, struct error *err)
{
    size_t i;

    for (i = 0; i < s->napp; i++)
        if (rename(s->app[i].partial, s->app[i].final) != 0)
            return io_error(err, s->app[i].final, errno);
    /* Record files were renamed into place unsynced (an fsync each would cost ~1 ms); one syncfs makes
     * them all durable. */
    if (s->format == LLMSYN_FORMAT_BUNDLES && fs_sync_filesystem(s->dir) < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot sync output folder '%s': %s", s->dir, strerror(errno));
    if (fs_sync_dir(s->dir) < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot sync output folder '%s': %s", s->dir, strerror(errno));
    return LLMSYN_OK;
}

/* Frees s; with keep, its hidden partial files stay for --resume (the run journal names their lengths). */
static void sink_free(struct sink *s, int keep)
{
    size_t i;

    for (i = 0; i < s->napp; i++) {
        if (s->app[i].fp)
            fclose(s->app[i].fp);
        if (!keep && s->app[i].partial)
            unlink(s->app[i].partial); /* gone already when published */
        free(s->app[i].partial);
        free(s->app[i].final);
    }
    free(s->dir);
    free(s);
}

int sink_close(struct sink **sp, int ok, struct error *err)
{
    struct sink *s = sp ? *sp : NULL;
    int rc = LLMSYN_OK;

    if (!s)
        return LLMSYN_OK;
    *sp = NULL;
    if (ok && s->broken)
        rc = error_set(err, LLMSYN_E_OUTPUT, "output in '%s' is incomplete after a failed write; not publishing it",
                       s->dir);
    else if (ok)
        rc = finish_appenders(s, err);
    if (ok && rc == LLMSYN_OK)
        rc = publish(s, err);
    /* Unpublished appended files hold records the run journal lists: a failed close (disk full) or a
     * resumed folder keeps them hidden for --resume; only a fresh sink given up before use drops them. */
    sink_free(s, (ok && rc != LLMSYN_OK) || s->resumed);
    return rc;
}

/* ---- resume (--resume): reopen the appended files of an interrupted run ---- */

struct keep_list {
    const struct sink_length *files;
    size_t n;
};

static int keep_listed(const char *name, void *user)
{
    const struct keep_list *k = user;
    size_t i;

    for (i = 0; i < k->n; i++)
        if (!strcmp(k->files[i].name, name))
            return 1;
    return 0;
}

/* Reopens one appended file cut back to its journaled length; its partial file, or the visible file an
 * interrupted run published, which goes back to being the partial file. */
static int appender_resume(struct sink *s, const struct sink_length *f, struct error *err)
{
    struct appender *a = &s->app[s->napp];
    struct stat st;

    if (!part_name_ok(f->name, sizeof f->name))
        return error_set(err, LLMSYN_E_OUTPUT, "cannot resume in '%s': unsafe file name in the run journal", s->dir);
    memcpy(a->name, f->name, strlen(f->name) + 1);
    a->partial = fs_join(s->dir, ".", f->name, ".partial");
    a->final = fs_join(s->dir, "", f->name, "");
    s->napp++; /* sink_free releases it whatever happens below */
    if (!a->partial || !a->final)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory resuming in '%s'", s->dir);
    if (lstat(a->partial, &st) != 0 && rename(a->final, a->partial) != 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot resume: '%s' is gone: %s (use --force to start over)",
                         a->final, strerror(errno));
    a->fp = fs_reopen_truncated(a->partial, (unsigned long long)f->len);
    if (!a->fp && errno == ENODATA)
        return error_set(err, LLMSYN_E_OUTPUT,
                         "cannot resume: '%s' is shorter than the run journal says (%" PRIu64 " bytes); "
                         "use --force to start over", a->final, f->len);
    if (!a->fp)
        return io_error(err, a->final, errno);
    a->len = f->len;
    return LLMSYN_OK;
}

struct sink *sink_open_resume(const char *dir, llmsyn_format format, const struct sink_length *files, size_t nfiles,
                              struct error *err)
{
    struct keep_list keep = { files, nfiles };
    struct sink *s = NULL; /* owned until returned */
    size_t i;

    if (!dir || !*dir || nfiles > SINK_MAX_PARTS || (nfiles && !files)) {
        error_set(err, LLMSYN_E_INTERNAL, "sink_open_resume: no folder or too many files");
        return NULL;
    }
    if (prepare_dir(dir, 1, err) != LLMSYN_OK)
        return NULL;
    if (fs_remove_leftovers(dir, keep_listed, &keep) < 0) {
        error_set(err, LLMSYN_E_OUTPUT, "cannot clean output folder '%s': %s", dir, strerror(errno));
        return NULL;
    }
    if (nfiles == 0) /* no record was journaled: start the appended files afresh */
        return sink_open(dir, format, 1, err);
    s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        error_set(err, LLMSYN_E_NOMEM, "out of memory opening output folder '%s'", dir);
        return NULL;
    }
    s->format = format;
    s->resumed = 1;
    for (i = 0; i < nfiles; i++)
        if (appender_resume(s, &files[i], err) != LLMSYN_OK) {
            sink_close(&s, 0, &(struct error){ LLMSYN_OK, "" });
            return NULL;
        }
    return s;
}

int sink_lengths(const struct sink *s, const struct sink_chunk *c, struct sink_length *out, size_t *n,
                 struct error *err)
{
    size_t i;

    (void)c; /* every appended file is listed, so headers written at open are never lost on resume */
    *n = 0;
    if (!s)
        return error_set(err, LLMSYN_E_INTERNAL, "sink_lengths: no sink");
    for (i = 0; i < s->napp; i++) {
        memcpy(out[i].name, s->app[i].name, sizeof out[i].name);
        out[i].len = s->app[i].len;
        (*n)++;
    }
    return LLMSYN_OK;
}

int sink_sync(struct sink *s, struct error *err)
{
    size_t i;

    for (i = 0; i < s->napp; i++)
        if (s->app[i].fp && (fflush(s->app[i].fp) != 0 || fdatasync(fileno(s->app[i].fp)) != 0))
            return io_error(err, s->app[i].final, errno);
    if (s->format == LLMSYN_FORMAT_BUNDLES && fs_sync_filesystem(s->dir) < 0)
        return error_set(err, LLMSYN_E_OUTPUT, "cannot sync output folder '%s': %s", s->dir, strerror(errno));
    return LLMSYN_OK;
}
