/* One node of the http network: chain, HTTP server with the endpoints of
 * PROTOCOL.md A.5 and the JSON API (node/api.h, under /api/), miner,
 * wallet, faucet and peer list, wired on one
 * libevent loop. It relays new blocks and transactions to its peers, catches
 * up with them page by page (node/http_sync.h), asks them for the parent of
 * an orphan block, asks them for their peers at
 * start and every gossip interval, and bans peers that misbehave
 * (node/http_peering.h). Runs until SIGINT or SIGTERM, then shuts down cleanly
 * (miner joined, database closed). Errors: cc_err for anything that stops
 * the node from starting. Thread: call from the main thread. */
#ifndef CC_NODE_HTTP_NODE_H
#define CC_NODE_HTTP_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "node/core.h"
#include "node/faucet.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_http_node_config {
    cc_node_core_config core;  /* rules: the http network's (set by the program) */
    const char *host;          /* listen address */
    const char *advertise;     /* the address peers dial; NULL: host */
    int port;
    int web_port;              /* explorer, JSON API, /metrics; 0: port + 1000 */
    const char *peers_default; /* NULL: none */
    /* --connect: with only_connect the node's peers are exactly connect[0..
     * n_connect) (maybe none), peers_default is not read, and no other node
     * is listed, asked or sent anything (node/peers.h, cc_peers_only). */
    bool only_connect;
    const char *const *connect;
    size_t n_connect;
    cc_faucet_config faucet;
    size_t max_body_bytes;
    size_t max_header_bytes;
    double idle_timeout_s;
    size_t max_connections;
    size_t max_peers;
    double gossip_interval_s;  /* peer-list exchange period, jittered +-25% */
    double ban_time_s;         /* how long a misbehaving peer stays banned */
} cc_http_node_config;

/* Fills config with the documented defaults (docs/configuration.md). */
void cc_http_node_defaults(cc_http_node_config *config);

/* Runs the node; returns true after a clean shutdown. */
bool cc_http_node_run(const cc_http_node_config *config, cc_err *err);

#endif
