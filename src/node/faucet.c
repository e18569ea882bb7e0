#include "node/faucet.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct payout {
    char *to;
    double amount;
    double when;
} payout;

struct cc_faucet {
    cc_faucet_config config;
    payout *payouts; /* within the window, oldest first */
    size_t n;
};

cc_faucet *cc_faucet_new(const cc_faucet_config *config)
{
    cc_faucet *faucet = cc_calloc(1, sizeof *faucet);
    faucet->config = *config;
    return faucet;
}

void cc_faucet_free(cc_faucet *faucet)
{
    if (!faucet)
        return;
    for (size_t i = 0; i < faucet->n; i++)
        free(faucet->payouts[i].to);
    free(faucet->payouts);
    free(faucet);
}

static void expire(cc_faucet *faucet, double now)
{
    size_t old = 0;
    while (old < faucet->n && faucet->payouts[old].when <= now - faucet->config.window_s)
        free(faucet->payouts[old++].to);
    if (old == 0)
        return; /* also keeps a NULL payouts away from memmove */
    memmove(faucet->payouts, faucet->payouts + old, (faucet->n - old) * sizeof *faucet->payouts);
    faucet->n -= old;
}

bool cc_faucet_check(cc_faucet *faucet, const char *to, double amount, double now, cc_err *err)
{
    const cc_faucet_config *c = &faucet->config;
    if (!c->enabled)
        return cc_fail(err, CC_ERR_FORBIDDEN, "This node's faucet is switched off");
    if (amount > c->max_per_request)
        return cc_fail(err, CC_ERR_TOO_MANY, "The faucet pays at most %g per request",
                       c->max_per_request);
    expire(faucet, now);
    double to_recipient = 0, total = 0;
    for (size_t i = 0; i < faucet->n; i++) {
        total += faucet->payouts[i].amount;
        if (strcmp(faucet->payouts[i].to, to) == 0)
            to_recipient += faucet->payouts[i].amount;
    }
    if (to_recipient + amount > c->max_per_recipient)
        return cc_fail(err, CC_ERR_TOO_MANY,
                       "The faucet pays at most %g to one key every %g seconds",
                       c->max_per_recipient, c->window_s);
    if (total + amount > c->max_total)
        return cc_fail(err, CC_ERR_TOO_MANY, "The faucet pays at most %g in all every %g seconds",
                       c->max_total, c->window_s);
    return true;
}

void cc_faucet_record(cc_faucet *faucet, const char *to, double amount, double now)
{
    faucet->payouts = cc_realloc(faucet->payouts, (faucet->n + 1) * sizeof *faucet->payouts);
    faucet->payouts[faucet->n++] = (payout){cc_strdup(to), amount, now};
}
