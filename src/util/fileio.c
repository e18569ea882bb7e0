#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

bool cc_read_file(const char *path, size_t max_len, cc_buf *out, cc_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cc_fail(err, errno == ENOENT ? CC_ERR_NOT_FOUND : CC_ERR_INTERNAL,
                       "cannot open %s: %s", path, strerror(errno));
    cc_buf_reset(out);
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            return cc_fail(err, CC_ERR_INTERNAL, "cannot read %s: %s", path, strerror(saved));
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max_len) {
            close(fd);
            return cc_fail(err, CC_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max_len);
        }
        cc_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    if (!out->data)
        cc_buf_append(out, "", 0);
    return true;
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static void fsync_parent_dir(const char *path)
{
    char *dir = cc_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

bool cc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          cc_err *err)
{
    size_t tmp_len = strlen(path) + 32;
    char *tmp = cc_malloc(tmp_len);
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = write_all(fd, data, len) && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        cc_fail(err, CC_ERR_INTERNAL, "cannot write %s: %s", path, strerror(saved));
    } else {
        fsync_parent_dir(path);
    }
    free(tmp);
    return ok;
}

bool cc_mkdir_p(const char *path, cc_err *err)
{
    char *copy = cc_strdup(path);
    bool ok = true;
    for (char *p = copy + 1; ok; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end)
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST)
            ok = cc_fail(err, CC_ERR_INTERNAL, "cannot create directory %s: %s", copy,
                         strerror(errno));
        if (end)
            break;
        *p = '/';
    }
    free(copy);
    return ok;
}
