/* Limits on what POST /money pays out of the node's wallet: it is a public
 * faucet, so without limits anyone could drain the node. Amounts here are
 * compared as doubles: they are limits, not ledger arithmetic.
 * Thread: the loop thread. */
#ifndef CC_NODE_FAUCET_H
#define CC_NODE_FAUCET_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct cc_faucet_config {
    bool enabled;
    double max_per_request;
    double max_per_recipient; /* per window */
    double max_total;         /* per window, all recipients */
    double window_s;
} cc_faucet_config;

typedef struct cc_faucet cc_faucet;

cc_faucet *cc_faucet_new(const cc_faucet_config *config);
void cc_faucet_free(cc_faucet *faucet);

/* May `to` receive amount at time now? CC_ERR_FORBIDDEN when the faucet is
 * off, CC_ERR_TOO_MANY when a limit would be passed (the message says which). */
bool cc_faucet_check(cc_faucet *faucet, const char *to, double amount, double now, cc_err *err);
/* Records a payment that was made. */
void cc_faucet_record(cc_faucet *faucet, const char *to, double amount, double now);

#endif
