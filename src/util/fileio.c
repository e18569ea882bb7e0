#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_file.h"
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

bool cc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          cc_err *err)
{
    cc_atomic_file f;
    if (!cc_atomic_file_open(&f, path, mode, err))
        return false;
    if (!cc_atomic_file_write(&f, data, len, err)) {
        cc_atomic_file_abort(&f);
        return false;
    }
    return cc_atomic_file_commit(&f, err);
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

bool cc_restrict_to_owner(const char *path, const cc_log *log, cc_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot examine %s: %s", path, strerror(errno));
    if ((st.st_mode & 077) == 0)
        return true;
    cc_warn(log, "%s was open to other users (mode %03o); restricting it to its owner", path,
            (unsigned)(st.st_mode & 0777));
    if (chmod(path, st.st_mode & 0700) != 0)
        return cc_fail(err, CC_ERR_INTERNAL, "%s is open to other users and cannot be "
                       "restricted: %s", path, strerror(errno));
    return true;
}

void cc_raise_fd_limit(const cc_log *log)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max)
        return;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        cc_warn(log, "cannot raise the open-file limit: %s", strerror(errno));
}
