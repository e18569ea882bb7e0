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

/* A body written piece by piece as the socket drains, for answers too
 * large to hold (the whole chain). `length` is announced as Content-Length
 * and must be exactly what the pieces add up to; next appends the next
 * piece to out and sets *done after the last one; false (an error) cuts
 * the connection. free_ctx(ctx) runs once, whatever happens. */
typedef struct cc_http_stream {
    size_t length;
    bool (*next)(void *ctx, cc_buf *out, bool *done);
    void (*free_ctx)(void *ctx);
    void *ctx;
} cc_http_stream;

typedef struct cc_http_response {
    int status;
    const char *content_type; /* default "application/json" */
    cc_buf body;
    cc_buf headers; /* extra header lines, each ending in "\r\n" (usually empty) */
    cc_http_stream stream; /* when stream.next is set, body is not used */
    void *server_private;  /* the server's own; handlers leave it alone */
} cc_http_response;

/* A request whose answer comes later (cc_http_defer). */
typedef struct cc_http_pending cc_http_pending;

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

/* For a handler whose answer needs work off the loop thread (signature
 * checks): instead of filling resp it takes a pending answer, and gives it
 * later to cc_http_answer. Until then the connection reads nothing more,
 * so that pipelined requests are still answered in order. The request
 * (and resp) are only valid during the handler: copy what the answer
 * needs. Call at most once per request. */
cc_http_pending *cc_http_defer(cc_http_response *resp);

/* Sends the answer to a deferred request (one write, as always) and frees
 * pending; when the client has gone meanwhile, it only frees. resp stays
 * the caller's. Loop thread. */
void cc_http_answer(cc_http_pending *pending, const cc_http_response *resp);

/* Fills resp with {"errcode": status, "errmsg": message}. */
void cc_http_error(cc_http_response *resp, int status, const char *message);

size_t cc_http_server_connections(const cc_http_server *server);

#endif
