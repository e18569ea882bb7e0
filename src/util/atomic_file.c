#include "util/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mem.h"

static void release(cc_atomic_file *f)
{
    if (f->path && f->fd >= 0) /* a zeroed f has fd 0, which is not ours */
        close(f->fd);
    free(f->path);
    free(f->tmp);
    *f = (cc_atomic_file){.fd = -1};
}

bool cc_atomic_file_open(cc_atomic_file *f, const char *path, mode_t mode, cc_err *err)
{
    *f = (cc_atomic_file){.fd = -1, .path = cc_strdup(path)};
    size_t len = strlen(path) + 40;
    f->tmp = cc_malloc(len);
    /* O_EXCL: two writers of one target never share a temporary file */
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(f->tmp, len, "%s.tmp.%ld.%d", path, (long)getpid(), attempt);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd >= 0)
        return true;
    cc_fail(err, CC_ERR_INTERNAL, "cannot create %s: %s", f->tmp, strerror(errno));
    free(f->tmp);
    f->tmp = NULL; /* nothing to remove */
    release(f);
    return false;
}

bool cc_atomic_file_write(cc_atomic_file *f, const void *data, size_t len, cc_err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cc_fail(err, CC_ERR_INTERNAL, "cannot write %s: %s", f->tmp, strerror(errno));
        p += n;
        len -= (size_t)n;
        f->written += (size_t)n;
    }
    return true;
}

void cc_fsync_dir_of(const char *path)
{
    char *dir = cc_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

bool cc_atomic_file_commit(cc_atomic_file *f, cc_err *err)
{
    int saved = 0;
    if (fsync(f->fd) != 0)
        saved = errno;
    if (close(f->fd) != 0 && !saved)
        saved = errno;
    f->fd = -1;
    if (!saved && rename(f->tmp, f->path) != 0)
        saved = errno;
    bool ok = saved == 0;
    if (!ok) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot write %s: %s", f->path, strerror(saved));
        unlink(f->tmp);
    } else {
        cc_fsync_dir_of(f->path);
    }
    release(f);
    return ok;
}

void cc_atomic_file_abort(cc_atomic_file *f)
{
    if (!f->path)
        return;
    if (f->tmp && f->fd >= 0)
        unlink(f->tmp);
    release(f);
}

/* "<base>.tmp.<pid>.<n>": the pid, or 0 when name is not such a file. */
static long writer_of(const char *name, const char *base)
{
    size_t len = strlen(base);
    if (strncmp(name, base, len) != 0 || strncmp(name + len, ".tmp.", 5) != 0)
        return 0;
    char *end;
    long pid = strtol(name + len + 5, &end, 10);
    return *end == '.' && pid > 0 ? pid : 0;
}

void cc_atomic_file_sweep(const char *path)
{
    char *copy_dir = cc_strdup(path), *copy_base = cc_strdup(path);
    const char *dir = dirname(copy_dir), *base = basename(copy_base);
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d && (entry = readdir(d)) != NULL) {
        long pid = writer_of(entry->d_name, base);
        if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *stale = cc_malloc(strlen(dir) + strlen(entry->d_name) + 2);
        sprintf(stale, "%s/%s", dir, entry->d_name);
        unlink(stale);
        free(stale);
    }
    if (d)
        closedir(d);
    free(copy_dir);
    free(copy_base);
}
