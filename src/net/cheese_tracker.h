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
 * A peer is registered, and listed, under the canonical form of the address
 * it joined with (net/address.h): "localhost:09009", "127.000.000.001:9009"
 * and "0177.0.0.1:9009" are all 127.0.0.1 and 9009. A host name is looked
 * up first (cfg.dns), the connection read no further until its join is
 * answered. With an allow list (cfg.allow) a join with any other address
 * is refused.
 *
 * One peer per connection; a second join on the same connection updates
 * its address and keeps its id. Joins of one address from two connections
 * are two peers with two ids: dropping either would let anyone knock a peer
 * off the tracker, or keep it off, by naming its address. A peer is dropped when its connection
 * closes, and when it fails the liveness check made every health interval:
 * a peer that joined in the later spelling is sent "HCK" and must answer
 * "HCKACK" within the health timeout; a seed-spelling peer (the seed
 * spelling has no HCK), or a later one that let an HCK go unanswered (the
 * later reference never answers it), is probed instead: the tracker
 * connects to the address it joined with, where a live peer greets
 * ("Connection to peer PID...", "Connected to peer: PID..." or
 * "PCONNECTACK:PID...") within the health timeout. A peer that fails is
 * dropped and its connection closed. A connection that has not joined
 * within join_timeout_s is closed.
 *
 * Peer ids are "PID" + 20 upper-case hex digits from the kernel's
 * randomness: knowing one is the network's only access control, so it
 * must not be guessable.
 *
 * Every answer is one write with no terminator (seed-era peers read
 * answers one recv() at a time and keep every byte). Thread: everything
 * runs on the event loop thread of `base`, one bufferevent per connection
 * and per probe. */
#ifndef CC_NET_CHEESE_TRACKER_H
#define CC_NET_CHEESE_TRACKER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/address.h"
#include "net/cheese_wire.h"
#include "util/err.h"
#include "util/log.h"

struct evdns_base;
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
    /* Probes of peers' ports (see above). Off, seed-spelling peers stay
     * until their connection closes and later ones are dropped on a missed
     * HCKACK: for the fuzz target, which must not connect to the addresses
     * in its input. */
    bool probe_ports;
    /* Looks up the hosts of peers that join by name (not owned). NULL:
     * only IP addresses and "localhost" can join. */
    struct evdns_base *dns;
    /* n_allow > 0: only joins with one of these addresses (compared in
     * canonical form) are taken; any other is refused and registers
     * nothing, so a private network's tracker (cheese-devnet's) never
     * lists an outsider to its nodes nor vouches for its id. Not owned. */
    const cc_addr *allow;
    size_t n_allow;
    const cc_log *log;
} cc_cheese_tracker_config;

/* Port 9999, a liveness check every 15 s with 5 s to answer, 60 s to join,
 * 100 ms of silence, 100,000 connections, 1 KiB arguments and 16 KiB
 * payloads, probes on, no name look-ups. */
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
