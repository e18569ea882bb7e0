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

#include "consensus/rules.h"
#include "node/faucet.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_http_node_config {
    const cc_rules *rules;     /* the http network's (set by the program) */
    const char *host;          /* listen and advertised address */
    int port;
    const char *datadir;
    const char *peers_default; /* NULL: none */
    size_t n_transactions;     /* mempool size that triggers mining */
    unsigned miner_threads;    /* 0: one per core */
    int miner_nice;            /* the mining threads' niceness, 0 to 19 */
    unsigned verify_threads;   /* signature-checking workers; 0: one per core */
    bool mine_on_start;        /* mine block 1 when the chain is only the genesis */
    cc_faucet_config faucet;
    size_t max_body_bytes;
    size_t max_header_bytes;
    double idle_timeout_s;
    size_t max_connections;
    size_t max_mempool;
    size_t max_orphans;
    size_t max_peers;
    double gossip_interval_s;  /* peer-list exchange period, jittered +-25% */
    double ban_time_s;         /* how long a misbehaving peer stays banned */
    bool api_trust_loopback;   /* /api/send and /api/mine answer loopback without the token */
    const cc_log *log;
} cc_http_node_config;

/* Fills config with the documented defaults (docs/configuration.md). */
void cc_http_node_defaults(cc_http_node_config *config);

/* Runs the node; returns true after a clean shutdown. */
bool cc_http_node_run(const cc_http_node_config *config, cc_err *err);

#endif
