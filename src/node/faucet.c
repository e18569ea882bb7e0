#include "node/faucet.h"

#include <gmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define BUCKETS 1024 /* a power of two; at most CC_FAUCET_MAX_PAYOUTS keys */

/* What one key received within the window. */
typedef struct recipient {
    char *key;
    mpq_t sum;
    size_t payouts; /* live payouts to this key; freed at 0 */
    struct recipient *next;
} recipient;

typedef struct payout {
    recipient *to;
    mpq_t amount;
    double when;
} payout;

struct cc_faucet {
    cc_faucet_config config;
    mpq_t min, max_request, max_recipient, max_total;
    mpq_t total; /* of the payouts in the ring */
    mpq_t zero;  /* what an unknown key has received */
    payout ring[CC_FAUCET_MAX_PAYOUTS];
    size_t head, count; /* oldest first */
    recipient *buckets[BUCKETS];
};

static void number_to_mpq(mpq_t out, const cc_number *n)
{
    if (n->is_int)
        mpq_set_si(out, (long)n->i, 1);
    else
        mpq_set_d(out, n->d);
}

cc_faucet *cc_faucet_new(const cc_faucet_config *config)
{
    cc_faucet *f = cc_calloc(1, sizeof *f);
    f->config = *config;
    mpq_inits(f->min, f->max_request, f->max_recipient, f->max_total, f->total, f->zero, NULL);
    mpq_set_d(f->min, config->min_per_request);
    mpq_set_d(f->max_request, config->max_per_request);
    mpq_set_d(f->max_recipient, config->max_per_recipient);
    mpq_set_d(f->max_total, config->max_total);
    for (size_t i = 0; i < CC_FAUCET_MAX_PAYOUTS; i++)
        mpq_init(f->ring[i].amount);
    return f;
}

void cc_faucet_free(cc_faucet *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (recipient *r = f->buckets[i], *next; r; r = next) {
            next = r->next;
            mpq_clear(r->sum);
            free(r->key);
            free(r);
        }
    }
    for (size_t i = 0; i < CC_FAUCET_MAX_PAYOUTS; i++)
        mpq_clear(f->ring[i].amount);
    mpq_clears(f->min, f->max_request, f->max_recipient, f->max_total, f->total, f->zero, NULL);
    free(f);
}

/* ---- recipients ---- */

static recipient **slot_of(cc_faucet *f, const char *key)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    recipient **slot = &f->buckets[h & (BUCKETS - 1)];
    while (*slot && strcmp((*slot)->key, key) != 0)
        slot = &(*slot)->next;
    return slot;
}

static recipient *recipient_get(cc_faucet *f, const char *key)
{
    recipient **slot = slot_of(f, key);
    if (*slot)
        return *slot;
    recipient *r = cc_calloc(1, sizeof *r);
    r->key = cc_strdup(key);
    mpq_init(r->sum);
    *slot = r;
    return r;
}

static void recipient_drop(cc_faucet *f, recipient *r)
{
    recipient **slot = slot_of(f, r->key);
    *slot = r->next;
    mpq_clear(r->sum);
    free(r->key);
    free(r);
}

/* ---- the window ---- */

static void expire(cc_faucet *f, double now)
{
    while (f->count > 0) {
        payout *p = &f->ring[f->head];
        if (p->when > now - f->config.window_s)
            return;
        mpq_sub(f->total, f->total, p->amount);
        mpq_sub(p->to->sum, p->to->sum, p->amount);
        if (--p->to->payouts == 0)
            recipient_drop(f, p->to);
        f->head = (f->head + 1) % CC_FAUCET_MAX_PAYOUTS;
        f->count--;
    }
}

/* Would base + amount pass limit? */
static bool passes(mpq_srcptr base, mpq_srcptr amount, mpq_srcptr limit)
{
    mpq_t sum;
    mpq_init(sum);
    mpq_add(sum, base, amount);
    bool over = mpq_cmp(sum, limit) > 0;
    mpq_clear(sum);
    return over;
}

static bool within_limits(cc_faucet *f, const char *to, mpq_srcptr amount, cc_err *err)
{
    const cc_faucet_config *c = &f->config;
    if (mpq_cmp(amount, f->min) < 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "The faucet pays at least %g per request",
                       c->min_per_request);
    if (mpq_cmp(amount, f->max_request) > 0)
        return cc_fail(err, CC_ERR_TOO_MANY, "The faucet pays at most %g per request",
                       c->max_per_request);
    if (f->count == CC_FAUCET_MAX_PAYOUTS)
        return cc_fail(err, CC_ERR_TOO_MANY, "The faucet has made %d payouts in the last %g "
                       "seconds; try again later", CC_FAUCET_MAX_PAYOUTS, c->window_s);
    recipient *known = *slot_of(f, to);
    if (passes(known ? known->sum : f->zero, amount, f->max_recipient))
        return cc_fail(err, CC_ERR_TOO_MANY,
                       "The faucet pays at most %g to one key every %g seconds",
                       c->max_per_recipient, c->window_s);
    if (passes(f->total, amount, f->max_total))
        return cc_fail(err, CC_ERR_TOO_MANY, "The faucet pays at most %g in all every %g seconds",
                       c->max_total, c->window_s);
    return true;
}

bool cc_faucet_check(cc_faucet *f, const char *to, const cc_number *amount, double now,
                     cc_err *err)
{
    if (!f->config.enabled)
        return cc_fail(err, CC_ERR_FORBIDDEN, "This node's faucet is switched off");
    expire(f, now);
    mpq_t exact;
    mpq_init(exact);
    number_to_mpq(exact, amount);
    bool ok = within_limits(f, to, exact, err);
    mpq_clear(exact);
    return ok;
}

void cc_faucet_record(cc_faucet *f, const char *to, const cc_number *amount, double now)
{
    expire(f, now);
    if (f->count == CC_FAUCET_MAX_PAYOUTS)
        return; /* not reached: a check at the same time refused it */
    payout *p = &f->ring[(f->head + f->count) % CC_FAUCET_MAX_PAYOUTS];
    p->to = recipient_get(f, to);
    p->to->payouts++;
    p->when = now;
    number_to_mpq(p->amount, amount);
    mpq_add(p->to->sum, p->to->sum, p->amount);
    mpq_add(f->total, f->total, p->amount);
    f->count++;
}
