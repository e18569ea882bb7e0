/* The node's list of peers ("host:port" strings), persisted as
 * peers-PORT.json in the seed's {"peers": [...]} form, written atomically.
 * A new list starts from the peers-default file. The node's own address is
 * never listed; the list is capped. Thread: the loop thread. */
#ifndef CC_NODE_PEERS_H
#define CC_NODE_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_peers cc_peers;

/* Loads path, or when it does not exist seeds it from default_path (which
 * may be NULL or missing). self is the node's own "host:port". */
cc_peers *cc_peers_open(const char *path, const char *default_path, const char *self, int port,
                        size_t max, const cc_log *log, cc_err *err);
void cc_peers_free(cc_peers *peers);

/* True for "IPv4-or-localhost:port" with a port in 1..65535. */
bool cc_peer_address_valid(const char *address);
/* True when address names this node (its own address, or loopback with its port). */
bool cc_peers_is_self(const cc_peers *peers, const char *address);
bool cc_peers_contains(const cc_peers *peers, const char *address);
/* Adds and saves; false (with err) when invalid, self, known or full. */
bool cc_peers_add(cc_peers *peers, const char *address, cc_err *err);
size_t cc_peers_count(const cc_peers *peers);
const char *cc_peers_at(const cc_peers *peers, size_t i);
/* {"peers": ["a", "b"]} */
void cc_peers_write_json(const cc_peers *peers, cc_buf *out);

#endif
