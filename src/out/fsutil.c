/* fsutil.c - file-system helpers of the output sinks: folder creation, checked writes, atomic replace. */
#define _GNU_SOURCE /* syncfs */
#include "out/sink_internal.h"
#include "out/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fs_join(const char *dir, const char *prefix, const char *name, const char *suffix)
{
    size_t ld = strlen(dir), lp = strlen(prefix), ln = strlen(name), ls = strlen(suffix);
    size_t sep = ld > 0 && dir[ld - 1] != '/';
    char *p = malloc(ld + sep + lp + ln + ls + 1); /* caller frees */
    char *q = p;

    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(q, dir, ld);
    q += ld;
    if (sep)
        *q++ = '/';
    memcpy(q, prefix, lp);
    q += lp;
    memcpy(q, name, ln);
    q += ln;
    memcpy(q, suffix, ls);
    q[ls] = '\0';
    return p;
}

/* Makes one folder unless a folder is already there. 0, or -1 with errno. */
static int mkdir_one(const char *path, mode_t mode)
{
    struct stat st;

    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
        return -1;
    }
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* another process made it meanwhile */
    return -1;
}

int fs_mkdir_p(const char *dir, mode_t mode)
{
    size_t n = strlen(dir);
    char *p = malloc(n + 1); /* owned: a copy cut at each '/' in turn */
    char *s, c;
    int rc = -1, saved = 0;

    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(p, dir, n + 1);
    for (s = p + 1; s <= p + n; s++) { /* p + 1: a leading '/' is the root, not a folder to make */
        if (*s != '/' && *s != '\0')
            continue;
        c = *s;
        *s = '\0';
        if (s[-1] != '/' && mkdir_one(p, mode) < 0) {
            saved = errno;
            goto out;
        }
        *s = c;
    }
    rc = 0;
out:
    free(p);
    if (rc < 0)
        errno = saved;
    return rc;
}

int fs_dir_is_empty(const char *dir, int *empty)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int saved;

    if (!d)
        return -1;
    *empty = 1;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            *empty = 0;
            break;
        }
    }
    saved = errno;
    closedir(d);
    errno = saved;
    return saved ? -1 : 0;
}

FILE *fs_create(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    FILE *fp;
    int saved;

    if (fd < 0)
        return NULL;
    fp = fdopen(fd, "wb");
    if (!fp) {
        saved = errno;
        close(fd);
        errno = saved;
    }
    return fp;
}

int fs_write_all(FILE *fp, const char *data, size_t len)
{
    errno = 0;
    if ((len > 0 && fwrite(data, 1, len, fp) != len) || fflush(fp) != 0) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* Flushes (and with sync, fsyncs) then closes; 0, or -1 with errno of the first failure. */
static int fs_close_checked(FILE **fp, int sync)
{
    int saved = 0;

    if (!*fp)
        return 0;
    errno = 0;
    if (fflush(*fp) != 0 || (sync && fsync(fileno(*fp)) != 0))
        saved = errno ? errno : EIO;
    errno = 0;
    if (fclose(*fp) != 0 && saved == 0)
        saved = errno ? errno : EIO;
    *fp = NULL;
    errno = saved;
    return saved ? -1 : 0;
}

int fs_close_synced(FILE **fp)
{
    return fs_close_checked(fp, 1);
}

int fs_sync_filesystem(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc, saved;

    if (fd < 0)
        return -1;
    rc = syncfs(fd);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0, saved = 0;

    if (fd < 0)
        return -1;
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        saved = errno;
        rc = -1;
    }
    close(fd);
    errno = saved;
    return rc;
}

int fs_plain_name(const char *name)
{
    return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL;
}

int fs_write_atomic(const char *path, const char *data, size_t len, int sync, struct error *err)
{
    char *tmp = NULL; /* owned: "<path>.tmp" */
    FILE *fp = NULL;  /* owned */
    int created = 0, saved;

    if (!path || !*path || (!data && len > 0))
        return error_set(err, LLMSYN_E_INTERNAL, "write_file_atomic: no path or no data");
    tmp = fs_join("", path, "", ".tmp");
    if (!tmp)
        goto fail;
    fp = fs_create(tmp);
    if (!fp)
        goto fail;
    created = 1;
    if (fs_write_all(fp, data, len) < 0 || fs_close_checked(&fp, sync) < 0 || rename(tmp, path) != 0)
        goto fail;
    free(tmp);
    return LLMSYN_OK;
fail:
    saved = errno;
    if (fp)
        fclose(fp);
    if (created)
        unlink(tmp);
    free(tmp);
    return error_set(err, saved == ENOMEM ? LLMSYN_E_NOMEM : LLMSYN_E_OUTPUT, "cannot write '%s': %s", path,
                     strerror(saved));
}

int write_file_atomic(const char *path, const char *data, size_t len, struct error *err)
{
    return fs_write_atomic(path, data, len, 1, err);
}

FILE *fs_reopen_truncated(const char *path, unsigned long long len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    FILE *fp = NULL;
    int saved = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0)
        saved = errno;
    else if (!S_ISREG(st.st_mode))
        saved = EINVAL;
    else if ((unsigned long long)st.st_size < len)
        saved = ENODATA;
    else if (ftruncate(fd, (off_t)len) != 0 || lseek(fd, (off_t)len, SEEK_SET) < 0)
        saved = errno;
    else if (!(fp = fdopen(fd, "wb")))
        saved = errno;
    if (!fp) {
        close(fd);
        errno = saved;
    }
    return fp;
}

/* 1 when name ends in suffix. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);

    return n > k && !memcmp(name + n - k, suffix, k);
}

/* Removes dir/name when it is a leftover: "*.tmp", or ".X.partial" that keep() does not keep. */
static int remove_if_leftover(const char *dir, const char *name, int (*keep)(const char *, void *), void *user)
{
    char visible[256];
    size_t n = strlen(name);
    char *path = NULL; /* owned */
    int rc = 0;

    if (ends_with(name, ".tmp")) {
        /* a killed atomic write */
    } else if (name[0] == '.' && ends_with(name, ".partial") && n - 9 < sizeof visible) {
        memcpy(visible, name + 1, n - 9);
        visible[n - 9] = '\0';
        if (keep(visible, user))
            return 0;
    } else {
        return 0;
    }
    path = fs_join(dir, "", name, "");
    if (!path || (unlink(path) != 0 && errno != ENOENT))
        rc = -1;
    free(path);
    return rc;
}

int fs_remove_leftovers(const char *dir, int (*keep)(const char *name, void *user), void *user)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int saved = 0;

    if (!d)
        return -1;
    errno = 0;
    while ((e = readdir(d)) != NULL && saved == 0) {
        if (remove_if_leftover(dir, e->d_name, keep, user) < 0)
            saved = errno ? errno : EIO;
        errno = 0;
    }
    if (saved == 0)
        saved = errno;
    closedir(d);
    errno = saved;
    return saved ? -1 : 0;
}
