#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "notice", "warn", "error"};
#define N_LEVELS (sizeof level_names / sizeof level_names[0])

bool cc_log_level_parse(const char *name, cc_log_level *out)
{
    for (size_t i = 0; i < N_LEVELS; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (cc_log_level)i;
            return true;
        }
    }
    return false;
}

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

bool cc_log_open_file(cc_log *log, cc_err *err)
{
    int fd = open_append(log->path);
    if (fd < 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot open log file %s: %s", log->path,
                       strerror(errno));
    log->fd = fd;
    return true;
}

bool cc_log_reopen(const cc_log *log, cc_err *err)
{
    if (!log || !log->path || log->fd <= 0)
        return true;
    int fd = open_append(log->path);
    if (fd < 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot open log file %s again: %s", log->path,
                       strerror(errno));
    /* dup3 swaps the file under the descriptor every thread writes to:
     * a line goes whole to the old file or whole to the new one. */
    bool ok = dup3(fd, log->fd, O_CLOEXEC) >= 0;
    int saved = errno;
    close(fd);
    return ok || cc_fail(err, CC_ERR_INTERNAL, "cannot switch to log file %s: %s", log->path,
                         strerror(saved));
}

/* "2026-12-07T12:30:01.234Z" */
static void utc_stamp(char out[32])
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", (long)now.tv_usec / 1000);
}

void cc_logf(const cc_log *log, cc_log_level level, const char *fmt, ...)
{
    cc_log_level threshold = log ? log->threshold : CC_LOG_NOTICE;
    if (level < threshold)
        return;
    char stamp[32];
    utc_stamp(stamp);
    char line[1200];
    int head = snprintf(line, sizeof line, "%s %s %s: ", stamp, level_names[level],
                        log && log->component ? log->component : "cheese");
    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)head + (body < 0 ? 0 : (size_t)body);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* cut: the line still ends */
    line[len++] = '\n';
    int fd = log && log->fd > 0 ? log->fd : STDERR_FILENO;
    /* One write: lines of several threads never interleave. */
    (void)!write(fd, line, len);
}
