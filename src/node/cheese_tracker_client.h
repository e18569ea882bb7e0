/* A node's connection to the cheese network's tracker (PROTOCOL.md B.1),
 * kept open for the node's life: it joins, asks for peers every poll
 * interval, answers the tracker's liveness checks (HCK -> HCKACK), checks
 * peer ids for the node's access control, and joins again (with back-off)
 * whenever the connection is lost, e.g. when the tracker restarts.
 *
 * Spelling: a tracker of the later revision ignores the seed's JOIN_CHAIN
 * and one of the seed's era ignores PCONNECT, silently. So the client sends
 * its join in one spelling (the one that worked last, the later one at
 * first) and, after spelling_wait_s of silence, in the other; the spelling
 * of the answer is the tracker's, used for everything after on that
 * connection. If neither is answered, or the tracker closes the connection
 * before answering, the next attempt starts with the other spelling. The
 * seed-spelling join after an unanswered later one comes after a line end:
 * a seed-era tracker reads lines and still holds the PCONNECT.
 *
 * The seed era's tracker (it answers with a lower-case id, the same for
 * every peer) fails on GET_PEERS, so it is never asked for peers or about
 * ids: with it, checks are refused (the caller knows only its own id).
 *
 * Requests go one at a time (answers do not say what they answer): a
 * queue of peer-list requests and id checks. An answer that does not come
 * within answer_timeout_s ends the connection, which is then rebuilt.
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NODE_CHEESE_TRACKER_CLIENT_H
#define CC_NODE_CHEESE_TRACKER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "net/cheese_wire.h"
#include "util/buf.h"
#include "util/log.h"

struct event_base;
struct evdns_base;

/* One entry of a peer list, checked: a valid peer id, a host of plain
 * characters, a port 1..65535. */
typedef struct cc_cheese_peer_entry {
    const char *id;
    const char *host;
    int port;
} cc_cheese_peer_entry;

typedef struct cc_tracker_client_config {
    struct event_base *base;
    struct evdns_base *dns;
    const char *host; /* the tracker */
    int port;
    const char *self_host; /* what we advertise in the join */
    int self_port;
    double poll_interval_s;  /* ask for peers this often */
    double answer_timeout_s; /* an answer must come within this */
    double spelling_wait_s;  /* silence before the join is tried in the other spelling */
    double silence_s;        /* silence that ends an argument */
    double retry_min_s;      /* reconnect back-off, doubling up to retry_max_s */
    double retry_max_s;
    cc_cheese_wire_limits limits;
    /* Joined (again): the id the tracker gave us. */
    void (*joined)(void *ctx, const char *id, cc_cheese_spelling spelling);
    /* The connection is lost; our id is no longer valid. */
    void (*lost)(void *ctx);
    /* Entries of a peer list, hosts in canonical form (net/address.h):
     * host names are looked up first (dns; at most 16 at once) and come
     * later, one entry per call. Our own id is never among them; our own
     * address under another id may be. */
    void (*peers)(void *ctx, const cc_cheese_peer_entry *entries, size_t n);
    void *ctx;
    const cc_log *log;
} cc_tracker_client_config;

typedef struct cc_tracker_client cc_tracker_client;

/* Answer of an id check: known is true when the tracker knows the id. */
typedef void (*cc_tracker_check_fn)(void *ctx, bool known);

cc_tracker_client *cc_tracker_client_new(const cc_tracker_client_config *cfg);
/* Connects (and keeps reconnecting). */
void cc_tracker_client_start(cc_tracker_client *tc);
/* Closes; pending checks are answered "unknown" first. */
void cc_tracker_client_free(cc_tracker_client *tc);

/* Our peer id, or NULL while not joined. */
const char *cc_tracker_client_id(const cc_tracker_client *tc);
cc_cheese_spelling cc_tracker_client_spelling(const cc_tracker_client *tc);

/* Asks the tracker whether it knows id. False (and fn is not called) when
 * it cannot be asked now: not joined, a tracker that cannot list, or too
 * many checks waiting; the caller then treats the id as unknown. Otherwise fn(ctx, known) comes
 * later, from the loop. */
bool cc_tracker_client_check(cc_tracker_client *tc, const char *id, cc_tracker_check_fn fn,
                             void *ctx);
/* Forgets every waiting check made with ctx (fn will not be called). */
void cc_tracker_client_cancel(cc_tracker_client *tc, void *ctx);
/* Asks for peers now (besides the poll). */
void cc_tracker_client_poll(cc_tracker_client *tc);

/* Appends {"state": ..., "host": ..., "peer_id": ..., "spelling": ...,
 * "lists": true|false}. */
void cc_tracker_client_write_json(const cc_tracker_client *tc, cc_buf *out);

/* Parses a peer list payload ([{"peer_id", "host", "port"}, ...]); entries
 * that are malformed are skipped. Returns the count; *entries (owned by the
 * caller: free each host and id via cc_cheese_peer_entries_free) may be
 * NULL when 0. */
size_t cc_cheese_peer_list_parse(const char *payload, size_t len, cc_cheese_peer_entry **entries);
void cc_cheese_peer_entries_free(cc_cheese_peer_entry *entries, size_t n);

#endif
