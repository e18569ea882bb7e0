/* Levelled logging, one line per message: UTC time (ISO 8601, to the
 * millisecond), level, component, message:
 *
 *     2026-12-07T12:30:01.234Z notice http-6000: listening on http://127.0.0.1:6000
 *
 * There is no process-wide logger: each component that logs holds a
 * `const cc_log *` handed down from main(), so the threshold is set in one
 * place (tools/) without global mutable state. A NULL logger logs notices,
 * warnings and errors. Lines go to stderr, or to a file (cc_log_open_file)
 * that cc_log_reopen opens again under the same descriptor, for log
 * rotation. Thread-safe: each line is one write(2) (O_APPEND for a file). */
#ifndef CC_UTIL_LOG_H
#define CC_UTIL_LOG_H

#include <stdbool.h>

#include "util/err.h"

typedef enum cc_log_level {
    CC_LOG_DEBUG = 0,
    CC_LOG_INFO = 1,
    CC_LOG_NOTICE = 2, /* what a user should see of a node that runs well */
    CC_LOG_WARN = 3,
    CC_LOG_ERROR = 4,
} cc_log_level;

typedef struct cc_log {
    cc_log_level threshold;
    const char *component; /* printed in each line, e.g. "http-6000" */
    const char *path;      /* the log file, or NULL: stderr */
    int fd;                /* where lines go once a file is open; 0 (unset): stderr */
} cc_log;

/* Parses "debug", "info", "notice", "warn" or "error". */
bool cc_log_level_parse(const char *name, cc_log_level *out);

/* Opens log->path for appending (mode 0640) and sends lines there. False
 * (err names the file) when it cannot be opened; lines stay on stderr. */
bool cc_log_open_file(cc_log *log, cc_err *err);

/* Opens log->path again under the same descriptor (after a rotation moved
 * the old file away); lines written meanwhile go to one file or the other,
 * never lost. No-op without a file. */
bool cc_log_reopen(const cc_log *log, cc_err *err);

void cc_logf(const cc_log *log, cc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cc_debug(log, ...) cc_logf((log), CC_LOG_DEBUG, __VA_ARGS__)
#define cc_info(log, ...) cc_logf((log), CC_LOG_INFO, __VA_ARGS__)
#define cc_notice(log, ...) cc_logf((log), CC_LOG_NOTICE, __VA_ARGS__)
#define cc_warn(log, ...) cc_logf((log), CC_LOG_WARN, __VA_ARGS__)
#define cc_error(log, ...) cc_logf((log), CC_LOG_ERROR, __VA_ARGS__)

#endif
