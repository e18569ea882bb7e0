/* The node's list of peers ("host:port" strings), persisted as
 * peers-PORT.json in the seed's {"peers": [...]} form, written atomically.
 *
 * Two kinds of address: listed peers, which have answered us (these are
 * the ones /getpeers shows, relays go to and the file keeps), and
 * candidates, the addresses of the peers-default file, which are only asked
 * for their peers until they answer and get listed. A listed peer that is
 * dropped stays a candidate when it came from the default file, so a node
 * whose every peer went away can still find its way back.
 *
 * Every address is kept, compared and written in its canonical form
 * (net/address.h): "127.0.0.1:6001", however a peer list, a Host header or
 * the default file spelt it ("localhost:06001", "0177.0.0.1:6001", ...),
 * so that one peer is listed once. Peers of the http network are IPv4.
 * The node's own address, in any spelling, is never listed; both lists
 * are capped.
 *
 * Under --connect (cc_peers_only) the given addresses are the candidates
 * and nothing else is ever listed: a private network (cheese-devnet's)
 * must not grow by an outsider that happens to dial it.
 * Thread: the loop thread. */
#ifndef CC_NODE_PEERS_H
#define CC_NODE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/address.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_peers cc_peers;

/* Loads the listed peers from path (creating it, empty, when missing) and
 * the candidates from default_path (which may be NULL or missing), each
 * entry canonical, skipping what is not a peer address, the node itself
 * and repeats. self is the node's own listening "host:port" (an IP
 * address; port is its port). Fails (err) when self is not an address or
 * path cannot be read or written. */
cc_peers *cc_peers_open(const char *path, const char *default_path, const char *self, int port,
                        size_t max, const cc_log *log, cc_err *err);
void cc_peers_free(cc_peers *peers);

/* The canonical text of a peer address: an IPv4 address (or localhost)
 * and a port, in any spelling net/address.h reads. False (err 400, out
 * untouched) for anything else, IPv6 and host names included. */
bool cc_peer_address(const char *given, char out[CC_ADDR_TEXT_MAX], cc_err *err);
/* True when address, in any spelling, reaches this node: its own address,
 * or a loopback one when it listens on every address (cc_addr_reaches). */
bool cc_peers_is_self(const cc_peers *peers, const char *address);
/* The same for an address already parsed. */
bool cc_peers_reach_self(const cc_peers *peers, const cc_addr *address);
/* --connect: the node's peers are exactly `addresses` (any spelling; the
 * node itself and repeats are skipped), n of them, maybe none. They become
 * the candidates in place of the default file's, a listed peer that is
 * none of them is unlisted (and the file saved), and from then on
 * cc_peers_add lists nothing else. False (err) for an entry that is not a
 * peer address (CC_ERR_BAD_REQUEST), or when the file cannot be written. */
bool cc_peers_only(cc_peers *peers, const char *const *addresses, size_t n, cc_err *err);
/* Whether the node may talk to address (any spelling): always, unless
 * cc_peers_only restricted it to addresses that do not include this one. */
bool cc_peers_allowed(const cc_peers *peers, const char *address);
/* Whether address (in any spelling) is listed / a candidate. */
bool cc_peers_contains(const cc_peers *peers, const char *address);
/* Lists an address that answered (in its canonical form), and saves; false
 * (with err) when it is not a peer address, self, listed already, not
 * allowed (cc_peers_allowed: CC_ERR_FORBIDDEN) or the list is full. */
bool cc_peers_add(cc_peers *peers, const char *address, cc_err *err);
/* Unlists and saves; false when it was not listed (or saving failed). */
bool cc_peers_remove(cc_peers *peers, const char *address, cc_err *err);
/* True when no more peers can be listed. */
bool cc_peers_full(const cc_peers *peers);
/* The listed peers, canonical. */
size_t cc_peers_count(const cc_peers *peers);
const char *cc_peers_at(const cc_peers *peers, size_t i);
/* A listed peer (canonical address) answered us at unix_time; an address
 * not listed is ignored. */
void cc_peers_heard(cc_peers *peers, const char *address, int64_t unix_time);
/* When listed peer i last answered (0: not since the node started). */
int64_t cc_peers_heard_at(const cc_peers *peers, size_t i);
/* The candidates from the default file (listed or not), canonical. */
size_t cc_peers_candidate_count(const cc_peers *peers);
const char *cc_peers_candidate_at(const cc_peers *peers, size_t i);
bool cc_peers_is_candidate(const cc_peers *peers, const char *address);
/* {"peers": ["a", "b"]} */
void cc_peers_write_json(const cc_peers *peers, cc_buf *out);

#endif
