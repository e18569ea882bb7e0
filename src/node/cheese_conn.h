/* One TCP connection speaking the cheese wire (net/cheese_wire.h), inbound
 * or outbound, on libevent: bytes in become messages handed to the owner,
 * messages out are formatted and written one per write, as the wire writer
 * forms them (no terminator in the later spelling, "\r\n" after seed
 * requests; PROTOCOL.md B.1). It notices the sender's silence (which ends an
 * argument), bounds what it buffers for a peer that does not read, and has
 * an optional idle timeout.
 *
 * Lifetime: the owner holds the pointer until it calls cc_cheese_conn_close
 * or cc_cheese_conn_finish, or until its `closed` handler runs (the
 * connection failed, timed out, was closed by the other side, or sent more
 * than the limits allow); in every case the pointer is dead afterwards.
 * Closing from inside a handler is safe: the memory goes once the handler
 * returns. No handler runs after close/finish.
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NODE_CHEESE_CONN_H
#define CC_NODE_CHEESE_CONN_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/cheese_wire.h"
#include "util/err.h"
#include "util/log.h"

struct evdns_base;
struct sockaddr;

typedef struct cc_cheese_conn cc_cheese_conn;

typedef struct cc_cheese_conn_handlers {
    /* Outbound: the TCP connection is up (optional). */
    void (*connected)(void *ctx);
    /* A complete message; its texts live until the handler returns. */
    void (*message)(void *ctx, const cc_cheese_msg *m);
    /* Everything written so far has left our buffer (optional). */
    void (*drained)(void *ctx);
    /* The connection is gone (why says how); the pointer dies on return. */
    void (*closed)(void *ctx, const char *why);
} cc_cheese_conn_handlers;

typedef struct cc_cheese_conn_config {
    struct event_base *base;
    struct evdns_base *dns; /* for outbound host names; NULL: IP addresses only */
    cc_cheese_wire_limits limits;
    double silence_s;       /* silence that ends an argument */
    size_t max_output;      /* unread output beyond which reading pauses */
    const cc_log *log;
} cc_cheese_conn_config;

/* Takes over an accepted socket. */
cc_cheese_conn *cc_cheese_conn_accept(const cc_cheese_conn_config *cfg, evutil_socket_t fd,
                                      const struct sockaddr *addr,
                                      const cc_cheese_conn_handlers *h, void *ctx);
/* Starts connecting to host:port; the result comes as `connected` or
 * `closed`. Fails at once only for a host that cannot be looked up. */
cc_cheese_conn *cc_cheese_conn_connect(const cc_cheese_conn_config *cfg, const char *host,
                                       int port, const cc_cheese_conn_handlers *h, void *ctx,
                                       cc_err *err);

/* Formats and writes one message (arg: NULL or a string; payload may be
 * NULL). False when it cannot be written: the connection is closing, or
 * the writer refuses the message (logged). */
bool cc_cheese_conn_send(cc_cheese_conn *c, cc_cheese_cmd cmd, cc_cheese_spelling spelling,
                         const char *arg, const char *payload, size_t payload_len);
/* Writes a bare "\r\n": ends the line a line-reading peer (the seed era's
 * code) still holds from a message of ours without one. Readers of the
 * later spelling skip it as blanks between messages. */
void cc_cheese_conn_send_line_end(cc_cheese_conn *c);
/* Sends "REFUSED:<reason>" with reason made writable (lower case, plain
 * characters only). */
void cc_cheese_conn_refuse(cc_cheese_conn *c, const char *reason);

/* Closes when the other side has said nothing for s seconds while we were
 * reading (0: never). Applies from now on. */
void cc_cheese_conn_set_idle(cc_cheese_conn *c, double s);
/* Stops or resumes reading (messages already received wait too). */
void cc_cheese_conn_pause(cc_cheese_conn *c, bool paused);

/* Closes now; nothing more is written. */
void cc_cheese_conn_close(cc_cheese_conn *c);
/* Closes once what was sent is written (and the other side has had a
 * moment to read it). */
void cc_cheese_conn_finish(cc_cheese_conn *c);

/* The other side's IP address as text. */
const char *cc_cheese_conn_ip(const cc_cheese_conn *c);

#endif
