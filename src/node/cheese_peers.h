/* The peers of a cheese node: the table of peers the tracker listed (id,
 * address, the spelling each speaks), the ids the tracker vouched for
 * recently (the network's access control, PROTOCOL.md B.1), and one
 * outbound link per peer that carries our requests and announcements.
 *
 * A link connects when it has work, reads the peer's greeting (whose
 * spelling is the peer's: "Connection to peer PID..." or "Connected to
 * peer: PID..." seed, "PCONNECTACK:PID..." later; none within
 * greeting_wait_s: later), then sends one message per write and waits for
 * its answer before the next (GET_CHAIN -> CHAIN[...],
 * GET_OPEN_TRANSACTIONS -> TR[...], BRCHEESE -> BRCHEESEACK, BRTRANSACTION
 * -> BRTRANSACTIONACK; either acknowledgement ends either announcement, as
 * the later reference acknowledges blocks with BRTRANSACTIONACK). Seed
 * requests carry our port as a third field ("GET_CHAIN:ID:PORT"), which
 * the seed era's code needs. The seed spelling has no acknowledgements and
 * no transaction announcement: NEW_CHEESE is done once written, and
 * transactions are not sent to seed peers. Before the first transaction
 * to a later-spelling peer the link sends HCK: a peer that does not answer
 * HCKACK within hck_wait_s (the later reference, which cannot read
 * BRTRANSACTION either) gets no transactions from then on. A link with
 * nothing to do closes after link_idle_s. A peer that cannot be reached is
 * dropped from the table (the tracker lists it again if it is alive).
 * Answers still arriving are bounded over all links (max_held): beyond it,
 * the links holding part of one are closed, the one silent longest first,
 * and the request in flight on each is dropped (net/cheese_conn.h,
 * cc_cheese_budget).
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NODE_CHEESE_PEERS_H
#define CC_NODE_CHEESE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/cheese_wire.h"
#include "util/buf.h"
#include "util/log.h"

struct event_base;
struct evdns_base;

typedef struct cc_cheese_peers_config {
    struct event_base *base;
    struct evdns_base *dns;
    const char *self_host;   /* the address we listen on (an IP address), to know ourselves */
    int self_port;           /* our port, the third field of seed requests */
    size_t max_peers;        /* table size; the least recently listed goes first */
    size_t max_queue;        /* messages waiting per link */
    double known_ttl_s;      /* how long an id the tracker listed stays known */
    double answer_timeout_s; /* an answer (or progress on it) must come within this */
    double greeting_wait_s;
    double hck_wait_s;       /* for the HCKACK before a first transaction */
    double link_idle_s;
    double silence_s;
    cc_cheese_wire_limits limits; /* answers: payloads as large as a whole chain */
    /* bytes of unfinished answers over all links; 0: the default,
     * cc_cheese_budget_default(limits.max_payload) */
    size_t max_held;
    /* A peer's CHAIN[...] / TR[...] answer (the JSON list). */
    void (*chain)(void *ctx, const char *peer_id, const char *payload, size_t len);
    void (*open_txs)(void *ctx, const char *peer_id, const char *payload, size_t len);
    /* --connect: with only_connect a listed peer is added only when its
     * address is one of connect[0..n_connect) ("host:port" in any spelling
     * net/address.h reads; the caller has checked them): the tracker may
     * list anyone who joined it, and a private network (cheese-devnet's)
     * must not link to an outsider that did. */
    bool only_connect;
    const char *const *connect;
    size_t n_connect;
    /* Optional: true while the node bans host (node/cheese_node.c): a
     * banned peer is neither added nor sent anything. */
    bool (*banned)(void *ctx, const char *host);
    void *ctx;
    const cc_log *log;
} cc_cheese_peers_config;

typedef struct cc_cheese_peers cc_cheese_peers;

cc_cheese_peers *cc_cheese_peers_new(const cc_cheese_peers_config *cfg);
void cc_cheese_peers_free(cc_cheese_peers *p);

/* Our own id, sent with requests and announcements (NULL: not joined; no
 * requests are sent then, and queued ones wait). */
void cc_cheese_peers_set_self(cc_cheese_peers *p, const char *id);

/* A peer the tracker listed: added or refreshed. True when it is new.
 * Its address is taken in canonical form (net/address.h), so that one
 * peer spelt two ways is one entry; an entry that is not an IP address,
 * or that reaches this node (our address in any spelling, or a loopback
 * one when we listen on every address), is skipped: a node never links
 * to itself. Under only_connect an entry at any other address is skipped
 * too, its id not vouched for. */
bool cc_cheese_peers_add(cc_cheese_peers *p, const char *id, const char *host, int port);
/* An id the tracker vouched for (as a list entry or through a check). */
void cc_cheese_peers_vouch(cc_cheese_peers *p, const char *id);
/* True when the tracker vouched for id within known_ttl_s. */
bool cc_cheese_peers_known(cc_cheese_peers *p, const char *id);
/* True when id is in the table. */
bool cc_cheese_peers_has(const cc_cheese_peers *p, const char *id);
/* The canonical host of the peer listed under id; NULL when none is. */
const char *cc_cheese_peers_host(const cc_cheese_peers *p, const char *id);

/* Asks a peer (id) or every peer (NULL) for its chain and its open
 * transactions (unless already asked and not yet answered). */
void cc_cheese_peers_fetch(cc_cheese_peers *p, const char *id);
/* The same from one peer drawn at random (none when the table is empty). */
void cc_cheese_peers_fetch_random(cc_cheese_peers *p);
/* Announces a block (wire text) / transaction to every peer but `except`
 * (a peer id or NULL). */
void cc_cheese_peers_announce_block(cc_cheese_peers *p, const char *text, size_t len,
                                    const char *except);
void cc_cheese_peers_announce_tx(cc_cheese_peers *p, const char *text, size_t len,
                                 const char *except);

size_t cc_cheese_peers_count(const cc_cheese_peers *p);
/* Peers asked for their chain that have not answered yet. */
size_t cc_cheese_peers_fetching(const cc_cheese_peers *p);
/* The height of the chain peer id sent us last (its length less one). */
void cc_cheese_peers_note_height(cc_cheese_peers *p, const char *id, int64_t height);
/* Appends the explorer's table: [{"address": "HOST:PORT", "peer_id",
 * "height" (null before its chain came), "spelling", "last_answer" (unix
 * time of its last message to us, null: none)}, ...]. */
void cc_cheese_peers_write_table(const cc_cheese_peers *p, cc_buf *out);
/* Appends [{"peer_id", "host", "port", "spelling", "queued"}, ...]. */
void cc_cheese_peers_write_json(const cc_cheese_peers *p, cc_buf *out);

#endif
