/* The one way errors are reported across cheesechain.
 *
 * A function that can fail returns bool (true on success) and, on failure,
 * fills a caller-owned cc_err. The code is a protocol-level status (the
 * HTTP-style numbers the http network puts in "errcode"), so a message can
 * travel unchanged from the layer that detected the problem to the wire.
 * Passing NULL for the cc_err is allowed when the caller does not care why.
 * Thread: cc_err is plain data; each thread uses its own. */
#ifndef CC_UTIL_ERR_H
#define CC_UTIL_ERR_H

#include <stdbool.h>

enum cc_err_code {
    CC_ERR_BAD_REQUEST = 400,
    CC_ERR_FORBIDDEN = 403,
    CC_ERR_NOT_FOUND = 404,
    CC_ERR_METHOD = 405,
    CC_ERR_TIMEOUT = 408,
    CC_ERR_TOO_LARGE = 413,
    CC_ERR_TOO_MANY = 429,
    CC_ERR_HEADERS_TOO_LARGE = 431,
    CC_ERR_INTERNAL = 500,
    CC_ERR_UNAVAILABLE = 503,
};

typedef struct cc_err {
    int code;
    char msg[240];
} cc_err;

/* Records code and message in err (when err is not NULL); always returns
 * false so that callers can write `return cc_fail(err, ...)`. */
bool cc_fail(cc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts context in front of the message already in err ("transaction 3: "
 * + message); keeps the code. Returns false like cc_fail. */
bool cc_err_prefix(cc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to "no error" (code 0, empty message). */
void cc_err_clear(cc_err *err);

#endif
