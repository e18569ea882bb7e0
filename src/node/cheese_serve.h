/* The listening side of a cheese node (PROTOCOL.md B.1): peers connect,
 * are greeted, and may ask for the chain and the open transactions, announce
 * blocks and transactions, and check liveness.
 *
 * - Greeting: "PCONNECTACK:PID..." when the peer has said nothing for
 *   greet_wait_s. A peer that speaks first is not greeted: it did not wait
 *   for a greeting, and the reference clients take whatever one recv()
 *   returns as the answer, so a greeting in front would hide it.
 * - GET_CHAIN:ID / GET_OPEN_TRANSACTIONS:ID (either spelling; a third
 *   field, "ID:PORT" as the seed era's code sends, is ignored) are answered
 *   (CHAIN[...] / TR[...] or GETCHAINRESP[...] / GETOPENTRANSACTIONSRESP[...])
 *   only for an id the tracker vouched for recently, or our own (a seed-era
 *   tracker gives every peer the same one); an id not seen yet is checked
 *   with the tracker first (reading from that peer pauses meanwhile);
 *   unknown ids get INVALID_PEER_ID / INVALIDPEERID.
 * - NEW_CHEESE{...} / BRCHEESE{...} / BRCHEESE[...] and BRTRANSACTION{...}
 *   go to the node; the later spelling is answered BRCHEESEACK /
 *   BRTRANSACTIONACK, or REFUSED:<reason> when the node refuses them. The
 *   seed's NEW_CHEESE has no answer.
 * - HCK -> HCKACK.
 * - Unknown text and tracker requests get REFUSED:<reason>; after 16 of
 *   them, or a message over the limits, the connection is closed. So is one
 *   silent for idle_timeout_s.
 * - The bytes held for messages still arriving are bounded over all
 *   connections (max_held): beyond it, connections holding part of a
 *   message get REFUSED:<reason> and are closed, the one silent longest
 *   first (net/cheese_conn.h, cc_cheese_budget).
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NODE_CHEESE_SERVE_H
#define CC_NODE_CHEESE_SERVE_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/cheese_wire.h"
#include "node/cheese_peers.h"
#include "node/cheese_tracker_client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

struct event_base;
struct sockaddr;

/* A peer's announcement waiting for the node's verdict: its connection
 * reads nothing more until the verdict is given. */
typedef struct cc_cheese_verdict cc_cheese_verdict;

typedef struct cc_cheese_serve_config {
    struct event_base *base;
    const char *host;
    int port;
    double idle_timeout_s;
    double greet_wait_s;
    double silence_s;
    size_t max_connections;
    cc_cheese_wire_limits limits;
    /* bytes of unfinished messages over all connections; 0: the default,
     * cc_cheese_budget_default(limits.max_payload) */
    size_t max_held;
    cc_tracker_client *tracker; /* id checks */
    cc_cheese_peers *peers;     /* ids vouched for */
    /* The node's side. */
    const char *(*self_id)(void *ctx);                 /* the id we greet with */
    void (*chain)(void *ctx, cc_buf *json_list);       /* our best chain, "[...]" */
    void (*open_txs)(void *ctx, cc_buf *json_list);    /* our mempool, "[...]" */
    /* A block ({...}) or a list of blocks ([...]) / a transaction from a
     * peer (source: its id when it gave one, else NULL; payload only lives
     * for the call). The node answers through cc_cheese_verdict_give, then
     * or later. */
    void (*blocks)(void *ctx, const char *payload, size_t len, const char *source,
                   cc_cheese_verdict *verdict);
    void (*tx)(void *ctx, const char *payload, size_t len, const char *source,
               cc_cheese_verdict *verdict);
    /* Optional: a peer at ip broke the rules (refused announcements,
     * garbage); true when it is now banned. Banned addresses are refused
     * at accept while ip_banned says so. */
    bool (*misbehaved)(void *ctx, const char *ip, cc_refusal why);
    bool (*ip_banned)(void *ctx, const char *ip);
    void *ctx;
    const cc_log *log;
} cc_cheese_serve_config;

typedef struct cc_cheese_serve cc_cheese_serve;

/* Binds (SO_REUSEADDR; port 0: any free port) and starts accepting;
 * CC_ERR_BAD_REQUEST when the host is not an IP address, CC_ERR_INTERNAL
 * when the address cannot be bound. */
cc_cheese_serve *cc_cheese_serve_start(const cc_cheese_serve_config *cfg, cc_err *err);
/* Closes the listener and every connection. */
void cc_cheese_serve_free(cc_cheese_serve *s);

/* Serves a connected socket as if the listener had accepted it from addr:
 * the listener's own path, open so that a caller holding one end of a
 * socketpair (the fuzz target) can drive the message handling without TCP.
 * Takes fd over. With max_connections open, the connection whose last
 * message is oldest is closed to make room; false, and fd closed, only
 * when there is none (max_connections 0). */
bool cc_cheese_serve_adopt(cc_cheese_serve *s, evutil_socket_t fd, const struct sockaddr *addr);

size_t cc_cheese_serve_connections(const cc_cheese_serve *s);

/* The node's word on an announcement: accepted (BRCHEESEACK /
 * BRTRANSACTIONACK), or refused (REFUSED:<err's message>). Call it exactly
 * once; it frees verdict. When the peer has gone meanwhile, nothing is
 * sent. */
void cc_cheese_verdict_give(cc_cheese_verdict *verdict, bool ok, const cc_err *err);

#endif
