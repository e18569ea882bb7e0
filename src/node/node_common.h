/* What the HTTP node (http_node.c) and the cheese node (cheese_node.c) wire
 * up the same way: process set-up, the signals that stop the loop, the chain
 * in the data directory, and the endpoints every node serves on its HTTP
 * port (/metrics, the JSON API under /api/, the explorer page).
 *
 * Thread: the event loop thread, except cc_node_process_init (call it first,
 * from main's thread). */
#ifndef CC_NODE_NODE_COMMON_H
#define CC_NODE_NODE_COMMON_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "chain/chain.h"
#include "net/http_server.h"
#include "node/api.h"
#include "node/metrics.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "util/log.h"

/* SIGPIPE ignored (a peer closing mid-write is an error code, not a death)
 * and libevent made thread-aware for the miner threads. */
void cc_node_process_init(void);

/* SIGINT and SIGTERM log "signal N: shutting down" and break the loop;
 * SIGHUP opens the log file again (after a rotation). */
typedef struct cc_node_signals {
    struct event_base *base;
    const cc_log *log;
    struct event *sigint;
    struct event *sigterm;
    struct event *sighup;
} cc_node_signals;

void cc_node_signals_start(cc_node_signals *s, struct event_base *base, const cc_log *log);
void cc_node_signals_stop(cc_node_signals *s);

/* Makes the data directory ready for one node: creates it when new,
 * restricts it to its owner (it holds the wallet and the API token) and
 * takes its lock (util/dirlock.h), which the node holds until it releases
 * *lock at shut-down. Fails when another process holds the directory. */
bool cc_node_datadir_open(const char *datadir, cc_dir_lock *lock, const cc_log *log,
                          cc_err *err);

/* Opens (creating when new) DATADIR/chain.sqlite. reorg_inline_max: see
 * cc_chain_config (0: every reorganisation at once). */
cc_chain *cc_node_chain_open(const char *datadir, const cc_rules *rules, const cc_log *log,
                             size_t max_orphans, size_t max_mempool, size_t reorg_inline_max,
                             cc_err *err);

/* Tells the operator the node's public key on stderr, and where the wallet
 * file is (or that it was just created). */
/* The address peers are told to dial: advertise when given, else host;
 * NULL (err, CC_ERR_BAD_REQUEST) when host listens on every address
 * (0.0.0.0, ::) and no advertise says which one is ours. */
const char *cc_node_advertised(const char *host, const char *advertise, cc_err *err);

void cc_node_report_key(const cc_log *log, const char *pub_hex, bool created, const char *path);

/* The endpoints every node serves on its HTTP port. */
typedef struct cc_node_web {
    cc_metrics *metrics;
    const cc_api_backend *api;
    /* The gauges of /metrics, read only when /metrics is asked for. */
    void (*gauges)(void *ctx, cc_metrics_gauges *out);
    void *ctx;
} cc_node_web;

/* Answers /metrics, /api/... and the explorer page; false (resp untouched)
 * for any other request. */
bool cc_node_web_answer(const cc_node_web *web, const cc_http_request *req, const char *peer_ip,
                        cc_http_response *resp);

/* Runs `handler` and records its time for the latency histogram of /metrics. */
void cc_node_timed(cc_metrics *metrics, cc_http_handler handler, void *ctx,
                   const cc_http_request *req, const char *peer_ip, cc_http_response *resp);

#endif
