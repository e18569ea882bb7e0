#include "util/log.h"

#include "util/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool cc_log_level_parse(const char *name, cc_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (cc_log_level)i;
            return true;
        }
    }
    return false;
}

void cc_logf(const cc_log *log, cc_log_level level, const char *fmt, ...)
{
    cc_log_level threshold = log ? log->threshold : CC_LOG_WARN;
    if (level < threshold)
        return;
    char stamp[20];
    long micros;
    cc_clock_local(' ', stamp, &micros);

    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ld %-5s %s: %s\n", stamp, micros / 1000,
            level_names[level], log && log->component ? log->component : "cheese", message);
}
