/* The tracker of the cheese network (PROTOCOL.md B.1): keeps the list of
 * peers, hands each a random sample of the others, and drops the dead.
 *
 * On connect it greets with "Connection Successful". Then, in either
 * spelling and answered in the spelling asked:
 *   JOIN_CHAIN:HOST:PORT  -> PID<20 hex>       PCONNECT:HOST:PORT -> TCONNECTRESP:PID<20 hex>
 *   GET_PEERS:PEER_ID     -> CPSS[...]         GETPEERS:PEER_ID   -> GETPEERSRESP[...]
 *   (unknown PEER_ID)     -> INVALID_PEER_ID                        -> INVALIDPEERID
 * A peer list holds at most 10 peers drawn at random, never the one named
 * in the request nor the asking connection's own peer. A known PEER_ID is
 * what a node checks before serving GET_CHAIN to someone
 * (docs/cheese-network-wire.md). A join whose host or port is unusable gets
 * "REFUSED:<reason>" and registers nothing.
 *
 * One peer per connection; a second join on the same connection updates
 * its address and keeps its id. A peer is dropped when its connection
 * closes; a peer that joined in the later spelling is also sent "HCK"
 * every health interval and dropped when "HCKACK" does not come within the
 * health timeout. Seed-spelling peers have no HCK, so they stay as long as
 * their connection does (TCP keepalive finds hosts that vanished).
 * A connection that has not joined within join_timeout_s is closed.
 *
 * Peer ids are "PID" + 20 upper-case hex digits from the kernel's
 * randomness: knowing one is the network's only access control, so it
 * must not be guessable.
 *
 * Every answer is one write with no terminator. Thread: everything runs on
 * the event loop thread of `base`, one bufferevent per connection. */
#ifndef CC_NET_CHEESE_TRACKER_H
#define CC_NET_CHEESE_TRACKER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/cheese_wire.h"
#include "util/err.h"
#include "util/log.h"

struct sockaddr;

typedef struct cc_cheese_tracker_config {
    const char *host;         /* IP address to listen on */
    int port;                 /* 0: any free port (see cc_cheese_tracker_port) */
    double health_interval_s; /* HCK to each later-spelling peer this often */
    double health_timeout_s;  /* HCKACK must come within this */
    double join_timeout_s;    /* close a connection that has not joined by then */
    double silence_s;         /* silence that ends an argument (the wire has no framing) */
    size_t max_connections;   /* beyond: closed at once */
    cc_cheese_wire_limits limits;
    const cc_log *log;
} cc_cheese_tracker_config;

/* Port 9999, HCK every 15 s with 5 s to answer, 60 s to join, 100 ms of
 * silence, 100,000 connections, 1 KiB arguments and 16 KiB payloads. */
void cc_cheese_tracker_defaults(cc_cheese_tracker_config *cfg);

typedef struct cc_cheese_tracker cc_cheese_tracker;

/* Binds and starts accepting. Fails with CC_ERR_BAD_REQUEST for a host that
 * is not an IP address or bad timings, CC_ERR_INTERNAL when the address
 * cannot be bound. */
cc_cheese_tracker *cc_cheese_tracker_start(struct event_base *base,
                                           const cc_cheese_tracker_config *cfg, cc_err *err);
/* Closes the listener and every connection. */
void cc_cheese_tracker_free(cc_cheese_tracker *t);

/* Serves a connected socket as if the listener had accepted it from addr
 * (used for logs): greeted, read and answered like any other. This is the
 * listener's own path, open so that a caller holding one end of a
 * socketpair (the fuzz target) can drive the message handling without TCP.
 * Takes fd over; false, and fd closed, when max_connections are open. */
bool cc_cheese_tracker_adopt(cc_cheese_tracker *t, evutil_socket_t fd,
                             const struct sockaddr *addr);

int cc_cheese_tracker_port(const cc_cheese_tracker *t);
size_t cc_cheese_tracker_peers(const cc_cheese_tracker *t);
size_t cc_cheese_tracker_connections(const cc_cheese_tracker *t);

#endif
