#include "net/lookup.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "util/mem.h"
#include "util/timeval.h"

struct cc_lookup {
    struct evdns_getaddrinfo_request *req; /* while evdns works on it */
    struct event *deliver;                 /* the deadline, then hands the answer over */
    cc_lookup_done done;                   /* NULL once cancelled */
    void *ctx;
    int port;
    double deadline_s;
    bool answered; /* evdns called back (perhaps inside evdns_getaddrinfo) */
    bool found;
    cc_addr addr;
    cc_err err;
    char name[CC_ADDR_NAME_MAX + 1];
};

static void lookup_free(cc_lookup *l)
{
    event_free(l->deliver);
    free(l);
}

/* evdns gave no answer in time (it waits for ever when it has no server
 * to ask): the caller hears so now, and the look-up lets go of evdns. */
static void give_up(cc_lookup *l)
{
    cc_lookup_done done = l->done;
    void *ctx = l->ctx;
    cc_err err;
    cc_fail(&err, CC_ERR_UNAVAILABLE, "looking %s up took more than %g s", l->name,
            l->deadline_s);
    l->done = NULL;
    evdns_getaddrinfo_cancel(l->req); /* on_answer frees l when evdns lets go */
    done(ctx, NULL, &err);
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_lookup *l = arg;
    if (!l->answered) {
        give_up(l);
        return;
    }
    cc_lookup_done done = l->done;
    void *ctx = l->ctx;
    bool found = l->found;
    cc_addr addr = l->addr;
    cc_err err = l->err;
    lookup_free(l); /* first: done may start or cancel other look-ups */
    done(ctx, found ? &addr : NULL, found ? NULL : &err);
}

/* The first IPv4 answer, else the first IPv6 one: peers dial IPv4 first,
 * and one name must give one address every time it is read. */
static void take_answer(cc_lookup *l, int code, const struct evutil_addrinfo *res)
{
    const struct evutil_addrinfo *v4 = NULL, *v6 = NULL;
    for (const struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET && !v4)
            v4 = ai;
        else if (ai->ai_family == AF_INET6 && !v6)
            v6 = ai;
    }
    const struct evutil_addrinfo *pick = v4 ? v4 : v6;
    if (code == EVUTIL_EAI_NONAME || (code == 0 && !pick)) {
        cc_fail(&l->err, CC_ERR_NOT_FOUND, "the name %s has no address", l->name);
        return;
    }
    if (code != 0) {
        cc_fail(&l->err, CC_ERR_UNAVAILABLE, "cannot look up %s: %s", l->name,
                evutil_gai_strerror(code));
        return;
    }
    l->found = cc_addr_from_sockaddr(pick->ai_addr, l->port, &l->addr, &l->err);
}

static void on_answer(int code, struct evutil_addrinfo *res, void *arg)
{
    cc_lookup *l = arg;
    l->answered = true;
    l->req = NULL;
    if (l->done)
        take_answer(l, code, res);
    if (res)
        evutil_freeaddrinfo(res);
    if (!l->done) {
        lookup_free(l); /* cancelled: this was evdns letting go */
        return;
    }
    event_del(l->deliver); /* the deadline */
    event_active(l->deliver, EV_TIMEOUT, 1);
}

cc_lookup *cc_lookup_start(struct event_base *base, struct evdns_base *dns, const char *name,
                           int port, double deadline_s, cc_lookup_done done, void *ctx)
{
    cc_lookup *l = cc_calloc(1, sizeof *l);
    l->deliver = event_new(base, -1, 0, on_deliver, l);
    cc_alloc_check(l->deliver);
    l->done = done;
    l->ctx = ctx;
    l->port = port;
    l->deadline_s = deadline_s;
    snprintf(l->name, sizeof l->name, "%s", name);
    struct evutil_addrinfo hints = {.ai_family = AF_UNSPEC,
                                    .ai_socktype = SOCK_STREAM,
                                    .ai_protocol = IPPROTO_TCP};
    /* evdns answers names of /etc/hosts (and failures) at once, inside
     * this call: on_answer then only leaves the answer for on_deliver. */
    struct evdns_getaddrinfo_request *req = evdns_getaddrinfo(dns, l->name, NULL, &hints,
                                                              on_answer, l);
    if (!l->answered && req) {
        l->req = req;
        struct timeval tv = cc_timeval_of(deadline_s);
        evtimer_add(l->deliver, &tv);
    } else if (!l->answered) {
        l->answered = true;
        cc_fail(&l->err, CC_ERR_UNAVAILABLE, "cannot look up %s", l->name);
        event_active(l->deliver, EV_TIMEOUT, 1);
    }
    return l;
}

void cc_lookup_cancel(cc_lookup *l)
{
    if (!l)
        return;
    l->done = NULL;
    if (l->req) {
        /* evdns calls back once more (EVUTIL_EAI_CANCEL), from the loop:
         * the look-up is freed there. The deadline no longer matters. */
        event_del(l->deliver);
        evdns_getaddrinfo_cancel(l->req);
        return;
    }
    lookup_free(l); /* the answer was only waiting to be handed over */
}
