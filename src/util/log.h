/* Levelled logging to stderr.
 *
 * There is no process-wide logger: each component that logs holds a
 * `const cc_log *` handed down from main(), so the threshold is set in one
 * place (tools/) without global mutable state. A NULL logger logs warnings
 * and errors only. Thread-safe: each line is written with one fprintf. */
#ifndef CC_UTIL_LOG_H
#define CC_UTIL_LOG_H

#include <stdbool.h>

typedef enum cc_log_level {
    CC_LOG_DEBUG = 0,
    CC_LOG_INFO = 1,
    CC_LOG_WARN = 2,
    CC_LOG_ERROR = 3,
} cc_log_level;

typedef struct cc_log {
    cc_log_level threshold;
    const char *component; /* printed in each line, e.g. "http-6000" */
} cc_log;

/* Parses "debug", "info", "warn" or "error". */
bool cc_log_level_parse(const char *name, cc_log_level *out);

void cc_logf(const cc_log *log, cc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cc_debug(log, ...) cc_logf((log), CC_LOG_DEBUG, __VA_ARGS__)
#define cc_info(log, ...) cc_logf((log), CC_LOG_INFO, __VA_ARGS__)
#define cc_warn(log, ...) cc_logf((log), CC_LOG_WARN, __VA_ARGS__)
#define cc_error(log, ...) cc_logf((log), CC_LOG_ERROR, __VA_ARGS__)

#endif
