/* How an http-network node talks to its peers (docs/http-network.md,
 * "Peers", "Relay", "Hostile peers"):
 *   - discovery: every peer and every default candidate is asked
 *     GET /getpeers on a jittered period; an address is listed only once it
 *     has answered; requesters are checked the same way (PROTOCOL.md A.5);
 *     under --connect (cc_peers_only) no other address is ever asked,
 *     listed or sent anything;
 *   - relay: an item goes to every listed peer except those known to have
 *     it (its sender, or a peer we sent it to already), at most once each;
 *   - limits: at most PER_PEER_INFLIGHT requests under way per peer, a
 *     short bounded queue beyond that, a total deadline and a size limit on
 *     every answer;
 *   - the seed's API or ours: a peer's answers to /getpeers show which it
 *     speaks (CC_PEERING_API_HEADER). A peer that has not shown it speaks
 *     ours is sent only what a reference node reads whole: one request at a
 *     time (their handlers race on their files), none it would read cut off;
 *   - health: failures in a row give an exponential back-off, and a listed
 *     peer is dropped after MAX_FAILURES of them; a peer's own request to us
 *     ends its back-off (it is up); misbehaviour (garbage,
 *     oversized or endlessly slow answers, invalid blocks) earns points and
 *     a ban (node/peer_score.h), during which the peer is sent nothing and
 *     its POST /block and /inv get 403.
 *
 * Thread: the loop thread. Ownership: the peering object borrows the event
 * base, the HTTP client and the peer list, which must outlive it; answer
 * callbacks get a body valid only during the call. */
#ifndef CC_NODE_HTTP_PEERING_H
#define CC_NODE_HTTP_PEERING_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/http_client.h"
#include "net/http_request.h"
#include "node/peer_score.h"
#include "node/peers.h"
#include "util/err.h"
#include "util/log.h"

#define CC_PEERING_PER_PEER_INFLIGHT 8 /* requests under way to one peer */
#define CC_PEERING_PER_PEER_QUEUE 32   /* waiting beyond those, per peer */
#define CC_PEERING_MAX_FAILURES 5      /* failures in a row that drop a peer */

/* Our nodes put this header in their answers to /getpeers: they serve the
 * catch-up forms of /getblocks (?locator=...&limit=N, ?id=H&limit=N) and
 * answer unknown ids with 404. A reference node's handler dies on a query
 * with two '=' and on /getdata of a block it does not hold, so a peer is
 * sent those only once it has shown this header. */
#define CC_PEERING_API_HEADER "Cheese-Sync"
#define CC_PEERING_API_VALUE "locator"

/* What a peer has shown it speaks. */
typedef enum cc_peer_api {
    CC_PEER_API_UNKNOWN,  /* it has not answered /getpeers yet */
    CC_PEER_API_SEED,     /* the seed's requests only (a reference node) */
    CC_PEER_API_EXTENDED, /* ours as well */
} cc_peer_api;

typedef struct cc_peering_config {
    struct event_base *base;
    cc_http_client *client;
    cc_peers *peers;
    const char *self;          /* advertised "host:port" */
    int port;
    double gossip_interval_s;  /* peer-list exchange period, +-25% jitter */
    double ban_time_s;         /* how long a misbehaving peer stays banned */
    /* Called when an address is listed (it answered); may be NULL. */
    void (*new_peer)(void *ctx, const char *address);
    void *new_peer_ctx;
    const cc_log *log;
} cc_peering_config;

/* peer is the address asked; answer->status is 0 when no answer came
 * (answer->failure says why: CC_HTTP_FAIL_DROPPED when the request was
 * dropped unsent). */
typedef void (*cc_peering_answer)(void *ctx, const char *peer, const cc_http_client_answer *answer);

typedef struct cc_peering cc_peering;

cc_peering *cc_peering_new(const cc_peering_config *cfg);
void cc_peering_free(cc_peering *peering);

/* Asks every peer and candidate for its peers now, then on the gossip period. */
void cc_peering_start(cc_peering *peering);

/* The random id this process puts in its /getpeers, to recognise itself. */
const char *cc_peering_instance(const cc_peering *peering);

/* One request to one peer (answers up to 4 MiB, 10 s in all). Queued when
 * PER_PEER_INFLIGHT requests to it are under way. False (and done never
 * called) when the peer is banned or backing off, the queue is full, or the
 * node is stopping. done may be NULL; it is called with status 0 when the
 * request fails or is dropped. */
bool cc_peering_send(cc_peering *peering, const char *address, const char *method,
                     const char *path, const char *body, size_t len, cc_peering_answer done,
                     void *ctx);

/* The same request to every listed peer except source (NULL: none), those
 * banned or backing off, and, for a POST, those known to have the item
 * already (they sent it to us, or we sent it to them). */
void cc_peering_broadcast(cc_peering *peering, const char *method, const char *path,
                          const char *body, size_t len, const char *source,
                          cc_peering_answer done, void *ctx);

/* A GET for something only some peers may hold (a block by id): sent to
 * source (NULL: none), which showed it holds it, and to every listed peer
 * that speaks our API, since only those answer an unknown id. */
void cc_peering_fetch(cc_peering *peering, const char *path, const char *source,
                      cc_peering_answer done, void *ctx);

/* What address has shown it speaks (its latest answer to /getpeers). */
cc_peer_api cc_peering_api(const cc_peering *peering, const char *address);

/* A request to us from a peer (cc_peering_sender names it): it is up, so
 * its back-off ends and it is sent to again at once. */
void cc_peering_heard_from(cc_peering *peering, const cc_http_request *req, const char *peer_ip);

/* The listed peer a request came from, judged by its Host header (reference
 * nodes and ours name their own address there) or ?port=; NULL if none. */
const char *cc_peering_source(const cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip);

/* The address a request to us came from, listed or not: ?port= with the
 * connection's IP, or a Host header whose host is the connection's IP (or
 * localhost from 127.0.0.1) and which is not this node. False when the
 * request does not say: such clients are anonymous and never scored. */
bool cc_peering_sender(const cc_peering *peering, const cc_http_request *req,
                       const char *peer_ip, char out[96]);

/* A /getpeers requester: checked, then listed once its address answers. */
void cc_peering_register_requester(cc_peering *peering, const cc_http_request *req,
                                   const char *peer_ip);

/* Under --connect (cc_peers_only): true, with err 403 and a line at info,
 * when the request comes from a node (cc_peering_sender) that is none of
 * the listed peers. Such a node is answered no peer list and none of its
 * blocks or payments are taken, so an outsider that dials a private
 * network never becomes part of it. Anonymous clients (curl, cheese-cli,
 * the explorer) are no nodes and pass. */
bool cc_peering_outsider(const cc_peering *peering, const cc_http_request *req,
                         const char *peer_ip, cc_err *err);

/* An item pushed to us (POST /block, /inv): false with err (403) when the
 * sender is banned or an outsider (cc_peering_outsider); otherwise
 * remembers that the sender has the item, so that it is not relayed back. */
bool cc_peering_admit(cc_peering *peering, const cc_http_request *req, const char *peer_ip,
                      cc_err *err);

/* A block pushed to us was refused with why: when it broke the rules (not
 * a mere duplicate or our own trouble), the sender is scored. */
void cc_peering_block_refused(cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip, const cc_err *why);

/* True when a block refused with why broke the rules (a duplicate does not). */
bool cc_peering_is_invalid_block(const cc_err *why);

/* True when an answer is an error document ({"errcode": ...}): reference
 * nodes send those with status 200, and they are no offence. */
bool cc_peering_is_error_answer(const char *body, size_t len);

/* A block that peer served us (status 200, body) was refused with why:
 * scored when it is a block that breaks the rules, not an error answer. */
void cc_peering_served_block_refused(cc_peering *peering, const char *peer, const char *body,
                                     size_t len, const cc_err *why);

/* Scores address for one offence (e.g. it served an invalid block); bans
 * it when that crosses the threshold. */
void cc_peering_misbehaved(cc_peering *peering, const char *address, cc_misbehaviour kind,
                           const char *why);

/* True while address is banned. */
bool cc_peering_banned(const cc_peering *peering, const char *address);

#endif
