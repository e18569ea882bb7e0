/* How an http-network node talks to its peers: one request to one peer,
 * the same request to every peer but the one an item came from, the
 * periodic peer-list exchange (PROTOCOL.md A.5) and the check that a
 * would-be peer answers before it is listed.
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
#include "node/peers.h"
#include "util/log.h"

typedef struct cc_peering_config {
    struct event_base *base;
    cc_http_client *client;
    cc_peers *peers;
    const char *self;          /* advertised "host:port" */
    int port;
    double gossip_interval_s;  /* peer-list exchange period, jittered */
    const cc_log *log;
} cc_peering_config;

/* status 0: no answer. peer is the address asked. */
typedef void (*cc_peering_answer)(void *ctx, const char *peer, int status, const char *body,
                                  size_t len);

typedef struct cc_peering cc_peering;

cc_peering *cc_peering_new(const cc_peering_config *cfg);
void cc_peering_free(cc_peering *peering);

/* Asks every peer for its peers now, then on the gossip period. */
void cc_peering_start(cc_peering *peering);

/* The random id this process puts in its /getpeers, to recognise itself. */
const char *cc_peering_instance(const cc_peering *peering);

/* One request to one peer; false (and done never called) when too many
 * requests are under way. done may be NULL. */
bool cc_peering_send(cc_peering *peering, const char *address, const char *method,
                     const char *path, const char *body, size_t len, cc_peering_answer done,
                     void *ctx);

/* The same request to every peer except source (NULL: to all). */
void cc_peering_broadcast(cc_peering *peering, const char *method, const char *path,
                          const char *body, size_t len, const char *source,
                          cc_peering_answer done, void *ctx);

/* The listed peer a request came from, judged by its Host header (reference
 * nodes and ours name their own address there) or ?port=; NULL if none. */
const char *cc_peering_source(const cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip);

/* A /getpeers requester: checked, then listed once its address answers. */
void cc_peering_register_requester(cc_peering *peering, const cc_http_request *req,
                                   const char *peer_ip);

#endif
