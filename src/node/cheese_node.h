/* One node of the cheese network (seed 000, PROTOCOL.md B): chain, RSA
 * wallet, miner, the tracker connection (node/cheese_tracker_client.h), the
 * peer table and outbound links (node/cheese_peers.h), the listener that
 * serves peers on --port, and the JSON API (node/api.h) on --api-port,
 * wired on one libevent loop.
 *
 * Peers that connect are greeted in their spelling ("Connection to peer
 * PID..." or "PCONNECTACK:PID...": whichever they speak first; the later
 * one when they wait to be greeted), get GET_CHAIN / GET_OPEN_TRANSACTIONS
 * answered only for ids the tracker knows, and may announce blocks
 * (NEW_CHEESE{...}, BRCHEESE{...}, BRCHEESE[...]) and transactions
 * (BRTRANSACTION{...}), each validated in full before it is stored and
 * relayed. At start, and whenever the tracker lists a new peer, the node
 * fetches that peer's chain and open transactions and adopts the longest
 * valid chain. It mines when n_transactions payments wait, or on demand
 * through the API. Runs until SIGINT or SIGTERM, then shuts down cleanly.
 *
 * Errors: cc_err for anything that stops the node from starting.
 * Thread: call from the main thread. docs/cheese-node.md has the details. */
#ifndef CC_NODE_CHEESE_NODE_H
#define CC_NODE_CHEESE_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "node/core.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_cheese_node_config {
    cc_node_core_config core;  /* rules: the cheese network's (set by the program) */
    const char *host;          /* listen address */
    const char *advertise;     /* the address announced to the tracker; NULL: host */
    int port;                  /* peers connect here */
    const char *tracker_host;
    int tracker_port;
    /* --connect: with only_connect, of the peers the tracker lists only
     * those at connect[0..n_connect) are used (node/cheese_peers.h). */
    bool only_connect;
    const char *const *connect;
    size_t n_connect;
    int api_port;              /* 0: port + 1000 */
    double idle_timeout_s;     /* a peer connection silent this long is closed */
    size_t max_connections;    /* inbound peer connections */
    size_t max_peers;
    double tracker_interval_s; /* ask the tracker for peers this often */
    double resync_interval_s;  /* fetch a random peer's chain this often */
    size_t max_chain_bytes;    /* largest CHAIN[...] answer read from a peer */
    size_t max_message_bytes;  /* largest announcement a peer may send us */
    double ban_time_s;         /* how long a misbehaving peer address stays banned */
} cc_cheese_node_config;

/* Fills config with the documented defaults (docs/cheese-node.md). */
void cc_cheese_node_defaults(cc_cheese_node_config *config);

/* Runs the node; returns true after a clean shutdown. */
bool cc_cheese_node_run(const cc_cheese_node_config *config, cc_err *err);

#endif
