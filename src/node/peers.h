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
 * The node's own address is never listed; both lists are capped.
 * Thread: the loop thread. */
#ifndef CC_NODE_PEERS_H
#define CC_NODE_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_peers cc_peers;

/* Loads the listed peers from path (creating it, empty, when missing) and
 * the candidates from default_path (which may be NULL or missing). self is
 * the node's own "host:port". */
cc_peers *cc_peers_open(const char *path, const char *default_path, const char *self, int port,
                        size_t max, const cc_log *log, cc_err *err);
void cc_peers_free(cc_peers *peers);

/* True for "IPv4-or-localhost:port" with a port in 1..65535. */
bool cc_peer_address_valid(const char *address);
/* True when address names this node (its own address, or loopback with its port). */
bool cc_peers_is_self(const cc_peers *peers, const char *address);
bool cc_peers_contains(const cc_peers *peers, const char *address);
/* Lists an address that answered, and saves; false (with err) when
 * invalid, self, listed already or the list is full. */
bool cc_peers_add(cc_peers *peers, const char *address, cc_err *err);
/* Unlists and saves; false when it was not listed (or saving failed). */
bool cc_peers_remove(cc_peers *peers, const char *address, cc_err *err);
/* True when no more peers can be listed. */
bool cc_peers_full(const cc_peers *peers);
/* The listed peers. */
size_t cc_peers_count(const cc_peers *peers);
const char *cc_peers_at(const cc_peers *peers, size_t i);
/* The candidates from the default file (listed or not). */
size_t cc_peers_candidate_count(const cc_peers *peers);
const char *cc_peers_candidate_at(const cc_peers *peers, size_t i);
bool cc_peers_is_candidate(const cc_peers *peers, const char *address);
/* {"peers": ["a", "b"]} */
void cc_peers_write_json(const cc_peers *peers, cc_buf *out);

#endif
