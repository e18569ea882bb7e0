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

/* Why input was refused, for the callers that act on it (ban a peer, count
 * a duplicate, pass a known block over). It is set where the rule is
 * checked; nobody reads the message to decide anything, so messages may be
 * reworded freely. */
typedef enum cc_refusal {
    CC_REFUSAL_NONE = 0,       /* success, or not the input's fault (ours, busy) */
    CC_REFUSAL_MALFORMED,      /* form or a rule that needs no chain; any other 400 */
    CC_REFUSAL_DUPLICATE,      /* already held: not the sender's fault */
    CC_REFUSAL_PAYMENT_REPEATED, /* a block repeats a payment already on its branch */
    CC_REFUSAL_KNOWN_INVALID,  /* a block found invalid before, sent again */
    CC_REFUSAL_INVALID_PARENT, /* builds on a block found invalid */
    CC_REFUSAL_BAD_SIGNATURE,
    CC_REFUSAL_BAD_POW,
    CC_REFUSAL_FUNDS,          /* a sender cannot afford a payment */
    CC_REFUSAL_MEMPOOL_FULL,   /* valid, but no room (503) */
} cc_refusal;

typedef struct cc_err {
    int code;
    cc_refusal refusal; /* read it through cc_err_refusal */
    char msg[240];
} cc_err;

/* Records code and message in err (when err is not NULL), with no refusal
 * reason of its own; always returns false so that callers can write
 * `return cc_fail(err, ...)`. */
bool cc_fail(cc_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Refuses input for `refusal`: code 400, or 503 for a full mempool. */
bool cc_refuse(cc_err *err, cc_refusal refusal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The refusal reason of err: the one recorded by cc_refuse, else
 * CC_REFUSAL_MALFORMED for any other 400 (bad input, typed no further),
 * else CC_REFUSAL_NONE. */
cc_refusal cc_err_refusal(const cc_err *err);

/* Puts context in front of the message already in err ("transaction 3: "
 * + message); keeps the code. Returns false like cc_fail. */
bool cc_err_prefix(cc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to "no error" (code 0, empty message). */
void cc_err_clear(cc_err *err);

#endif
