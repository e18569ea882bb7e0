/* An HTTP/1.1 server on libevent that reads requests with the lenient
 * reader (net/http_request.h) and answers each with one write: status line,
 * headers and body in a single buffer, since reference nodes read one
 * recv() and drop the rest (PROTOCOL.md A.5).
 *
 * Every connection has an idle timeout, so a client that connects and says
 * nothing (or stops half-way) is dropped without holding anyone else up.
 * A new connection beyond max_connections, or one that finds the process
 * out of file descriptors, closes the connection that has been silent
 * longest to make room.
 *
 * Thread: everything runs on the event loop thread of `base`, handlers
 * included. Ownership: the server owns its connections; handlers fill a
 * response the server sends and frees. */
#ifndef CC_NET_HTTP_SERVER_H
#define CC_NET_HTTP_SERVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/http_request.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_http_response {
    int status;
    const char *content_type; /* default "application/json" */
    cc_buf body;
    cc_buf headers; /* extra header lines, each ending in "\r\n" (usually empty) */
} cc_http_response;

/* Called for each complete request; peer_ip is the client's address. */
typedef void (*cc_http_handler)(void *ctx, const cc_http_request *req, const char *peer_ip,
                                cc_http_response *resp);

typedef struct cc_http_server_config {
    const char *host;
    int port;
    cc_http_limits limits;
    double idle_timeout_s;
    size_t max_connections;
    cc_http_handler handler;
    void *handler_ctx;
    const cc_log *log;
} cc_http_server_config;

typedef struct cc_http_server cc_http_server;

/* Binds (with SO_REUSEADDR, so a restarted node gets its port back at
 * once) and starts accepting. Fails with CC_ERR_INTERNAL when the address
 * cannot be bound. */
cc_http_server *cc_http_server_start(struct event_base *base, const cc_http_server_config *cfg,
                                     cc_err *err);
/* Closes the listener and every connection. */
void cc_http_server_free(cc_http_server *server);

/* Fills resp with {"errcode": status, "errmsg": message}. */
void cc_http_error(cc_http_response *resp, int status, const char *message);

size_t cc_http_server_connections(const cc_http_server *server);

#endif
