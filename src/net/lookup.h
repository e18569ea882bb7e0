/* Host names looked up without blocking the event loop (libevent's evdns,
 * which also reads /etc/hosts), the answer handed back in canonical form
 * (net/address.h): the first IPv4 address found, or else the first IPv6
 * one. Names are looked up once, where they are read (a join, a peer
 * list), so that what is compared, stored and dialled is always an
 * address.
 *
 * done is called exactly once, later, from the loop (never inside
 * cc_lookup_start), with the address or with an error (CC_ERR_NOT_FOUND:
 * the name has no address; CC_ERR_UNAVAILABLE: the look-up failed or took
 * longer than its deadline), and not at all after cc_lookup_cancel. The
 * handle is gone once done has been called or the look-up cancelled.
 *
 * Ownership: base and dns are borrowed and must outlive every look-up; a
 * look-up still under way when dns is freed is lost with libevent's own
 * request. Thread: the loop thread of base. */
#ifndef CC_NET_LOOKUP_H
#define CC_NET_LOOKUP_H

#include "net/address.h"
#include "util/err.h"

struct event_base;
struct evdns_base;

typedef struct cc_lookup cc_lookup;

/* addr is NULL and err set when the name has no usable address. */
typedef void (*cc_lookup_done)(void *ctx, const cc_addr *addr, const cc_err *err);

/* Looks name (NUL-terminated, at most CC_ADDR_NAME_MAX bytes) up; the
 * address comes with port; no answer within deadline_s is a failure. */
cc_lookup *cc_lookup_start(struct event_base *base, struct evdns_base *dns, const char *name,
                           int port, double deadline_s, cc_lookup_done done, void *ctx);

/* Stops caring: done will not be called. NULL is allowed. */
void cc_lookup_cancel(cc_lookup *l);

#endif
