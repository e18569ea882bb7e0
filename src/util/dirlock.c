#include "util/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The pid the holder wrote, or 0 when the file holds none (yet). */
static long holder_pid(int fd)
{
    char text[32] = {0};
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    char *end;
    long pid = strtol(text, &end, 10);
    return end != text && pid > 0 ? pid : 0;
}

static bool refuse_busy(int fd, const char *dir, cc_err *err)
{
    long pid = holder_pid(fd);
    if (pid > 0)
        return cc_fail(err, CC_ERR_UNAVAILABLE,
                       "data directory %s is in use by process %ld; stop it first or "
                       "choose another data directory", dir, pid);
    return cc_fail(err, CC_ERR_UNAVAILABLE,
                   "data directory %s is in use by another process; stop it first or "
                   "choose another data directory", dir);
}

static bool write_pid(int fd)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    return ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)len, 0) == len;
}

bool cc_dir_lock_take(cc_dir_lock *lock, const char *dir, cc_err *err)
{
    lock->fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.lock", dir) >= (int)sizeof path)
        return cc_fail(err, CC_ERR_INTERNAL, "data directory path too long: %s", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot open %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int why = errno;
        bool busy = why == EWOULDBLOCK;
        if (busy)
            refuse_busy(fd, dir, err);
        else
            cc_fail(err, CC_ERR_INTERNAL, "cannot lock %s: %s", path, strerror(why));
        close(fd);
        return false;
    }
    /* The pid only improves a second program's message: a failed write
     * leaves the lock itself intact, so it is not an error. */
    write_pid(fd);
    lock->fd = fd;
    return true;
}

void cc_dir_lock_release(cc_dir_lock *lock)
{
    if (lock->fd < 0)
        return;
    close(lock->fd);
    lock->fd = -1;
}
