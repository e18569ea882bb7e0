#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool cc_fail(cc_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return false;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return false;
}

void cc_err_clear(cc_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

bool cc_err_prefix(cc_err *err, const char *fmt, ...)
{
    if (!err)
        return false;
    char prefix[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t used = strlen(prefix);
    size_t kept = strnlen(err->msg, sizeof err->msg - 1);
    if (used + kept >= sizeof err->msg)
        kept = sizeof err->msg - 1 - used;
    memmove(err->msg + used, err->msg, kept);
    memcpy(err->msg, prefix, used);
    err->msg[used + kept] = '\0';
    return false;
}
