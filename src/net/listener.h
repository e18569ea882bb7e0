/* The listening side of every server of net/ and node/ (the HTTP server,
 * the cheese node's peer port, the tracker), written once: the socket
 * (the host must be an IP address, IPv6 written bare as in "::1"; bound
 * with SO_REUSEADDR, closed on free and on exec), the connection cap, and
 * what happens when the process runs out of file descriptors.
 *
 * At the cap, or out of descriptors, the owner's connection silent longest
 * is closed to make room (evict_quietest): refusing newcomers instead would
 * let anyone holding that many silent connections lock every client out,
 * while the one that just connected is the last chosen. An owner without
 * evict_quietest refuses newcomers at the cap. Out of descriptors with
 * nothing to close, accepting pauses for a second: the pending connection
 * stays in the backlog, and the listener would otherwise fire again at
 * once and spin.
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NET_LISTENER_H
#define CC_NET_LISTENER_H

#include <event2/listener.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/log.h"

/* Where to listen, and how many connections the owner takes at most. */
typedef struct cc_listen_at {
    const char *host;
    int port; /* 0: any free port (cc_listener_port tells which) */
    int backlog;
    size_t max_connections;
} cc_listen_at;

/* The owner's side; ctx is the owner's. */
typedef struct cc_listener_owner {
    /* Optional: false closes a new connection at once, before any room
     * is made for it (a banned address). */
    bool (*admit)(void *ctx, const struct sockaddr *addr);
    /* Takes over an accepted socket; there is room for it. */
    void (*accepted)(void *ctx, evutil_socket_t fd, const struct sockaddr *addr);
    /* How many connections the owner has open. */
    size_t (*connections)(void *ctx);
    /* Optional: closes the owner's connection silent longest (why: for
     * its log); false when it has none to close. */
    bool (*evict_quietest)(void *ctx, const char *why);
} cc_listener_owner;

typedef struct cc_listener cc_listener;

/* Binds and starts accepting. On failure returns NULL with
 * CC_ERR_BAD_REQUEST (host is not an IP address) or CC_ERR_INTERNAL (the
 * bind or listen failed). */
cc_listener *cc_listener_start(struct event_base *base, const cc_listen_at *at,
                               const cc_listener_owner *owner, void *ctx, const cc_log *log,
                               cc_err *err);
void cc_listener_free(cc_listener *listener);

/* True when the owner may take one more connection: under the cap, or
 * once its quietest one was closed. For sockets handed over without the
 * listener (cc_http_server_adopt and the like) as for accepted ones. */
bool cc_listener_make_room(cc_listener *listener);

/* The port it listens on. */
int cc_listener_port(const cc_listener *listener);

/* Whether host:port can be bound now (bound and closed again, as the
 * listener would bind it): a program checks its ports before it creates
 * anything (a data directory, a wallet), so that a port in use leaves
 * nothing behind. A port taken between the check and the real bind still
 * fails there. Errors as cc_listener_start. */
bool cc_listener_can_bind(const char *host, int port, cc_err *err);

/* The bare socket: listens on host:port and hands accepted sockets to cb
 * (what cc_listener_start builds on; for a program that needs nothing
 * more, such as a benchmark's echo server). Errors as cc_listener_start. */
struct evconnlistener *cc_listener_bind(struct event_base *base, const char *host, int port,
                                        int backlog, evconnlistener_cb cb, void *ctx,
                                        cc_err *err);

#endif
