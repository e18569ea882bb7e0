/* Limits on what POST /money pays out of the node's wallet: it is a public
 * faucet, so without limits anyone could drain the node.
 *
 * The accounting is exact: every amount is the rational the ledger makes of
 * it (an integer, or the exact value of a double), so a window whose total
 * is used up stays used up however small the next request (with doubles,
 * 50 + 1e-300 is 50). Requests below a minimum are refused, and the payouts
 * remembered within a window are bounded; per-recipient sums and the total
 * are kept up to date as payouts are recorded and expire, so a check costs
 * the same however many payouts the window holds.
 * Errors: cc_err (below). Thread: the loop thread. */
#ifndef CC_NODE_FAUCET_H
#define CC_NODE_FAUCET_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/pynum.h"
#include "util/err.h"

/* Payouts remembered within one window; a request beyond waits for the
 * oldest to leave the window. */
#define CC_FAUCET_MAX_PAYOUTS 4096

typedef struct cc_faucet_config {
    bool enabled;
    double min_per_request;
    double max_per_request;
    double max_per_recipient; /* per window */
    double max_total;         /* per window, all recipients */
    double window_s;
} cc_faucet_config;

typedef struct cc_faucet cc_faucet;

/* The limits are taken as the exact values of the doubles given. */
cc_faucet *cc_faucet_new(const cc_faucet_config *config);
void cc_faucet_free(cc_faucet *faucet);

/* May `to` receive amount at time now (seconds, monotonic)? Fails with
 * CC_ERR_FORBIDDEN when the faucet is off, CC_ERR_BAD_REQUEST below the
 * minimum, CC_ERR_TOO_MANY when a limit would be passed (the message says
 * which). amount must be positive and finite (the caller checked it). */
bool cc_faucet_check(cc_faucet *faucet, const char *to, const cc_number *amount, double now,
                     cc_err *err);

/* Records a payment that was made, after a successful check at the same
 * time now. */
void cc_faucet_record(cc_faucet *faucet, const char *to, const cc_number *amount, double now);

#endif
