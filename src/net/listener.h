/* A listening TCP socket on libevent, shared by the servers of net/: the
 * host must be an IP address (IPv6 written bare, as in "::1"), the socket is
 * bound with SO_REUSEADDR and closed on free and on exec.
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NET_LISTENER_H
#define CC_NET_LISTENER_H

#include <event2/listener.h>

#include "util/err.h"

/* Listens on host:port and hands accepted sockets to `cb`. On failure
 * returns NULL with CC_ERR_BAD_REQUEST (host is not an IP address) or
 * CC_ERR_INTERNAL (the bind or listen failed) in `err`. */
struct evconnlistener *cc_listener_bind(struct event_base *base, const char *host, int port,
                                        int backlog, evconnlistener_cb cb, void *ctx,
                                        cc_err *err);

#endif
