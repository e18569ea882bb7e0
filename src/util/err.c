#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The one place a failure is written: code, reason and message. */
__attribute__((format(printf, 4, 0)))
static void record(cc_err *err, int code, cc_refusal refusal, const char *fmt, va_list ap)
{
    err->code = code;
    err->refusal = refusal;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

bool cc_fail(cc_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return false;
    va_list ap;
    va_start(ap, fmt);
    record(err, code, CC_REFUSAL_NONE, fmt, ap);
    va_end(ap);
    return false;
}

bool cc_refuse(cc_err *err, cc_refusal refusal, const char *fmt, ...)
{
    if (!err)
        return false;
    int code = refusal == CC_REFUSAL_MEMPOOL_FULL ? CC_ERR_UNAVAILABLE : CC_ERR_BAD_REQUEST;
    va_list ap;
    va_start(ap, fmt);
    record(err, code, refusal, fmt, ap);
    va_end(ap);
    return false;
}

cc_refusal cc_err_refusal(const cc_err *err)
{
    if (err->refusal != CC_REFUSAL_NONE)
        return err->refusal;
    return err->code == CC_ERR_BAD_REQUEST ? CC_REFUSAL_MALFORMED : CC_REFUSAL_NONE;
}

void cc_err_clear(cc_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->refusal = CC_REFUSAL_NONE;
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
