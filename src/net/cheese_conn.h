/* One TCP connection speaking the cheese wire (net/cheese_wire.h), inbound
 * or outbound, on libevent: bytes in become messages handed to the owner,
 * messages out are formatted and written one per write, as the wire writer
 * forms them (no terminator in the later spelling, "\r\n" after seed
 * requests; PROTOCOL.md B.1). A message with nothing queued before it goes
 * to the kernel inside cc_cheese_conn_send; what the kernel does not take
 * at once is queued and written from the loop, in order. It notices the
 * sender's silence (which ends an argument), bounds what it buffers for a
 * peer that does not read, and has an optional idle timeout.
 *
 * Lifetime: the owner holds the pointer until it calls cc_cheese_conn_close
 * or cc_cheese_conn_finish, or until its `closed` handler runs (the
 * connection failed, timed out, was closed by the other side, sent more
 * than the limits allow, or was closed to keep its budget); in every case
 * the pointer is dead afterwards.
 * Closing from inside a handler is safe: the memory goes once the handler
 * returns. No handler runs after close/finish. A connection that is still
 * writing its last answer or lingering when its budget is freed goes with
 * it.
 *
 * Thread: the event loop thread of `base`. */
#ifndef CC_NET_CHEESE_CONN_H
#define CC_NET_CHEESE_CONN_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/cheese_wire.h"
#include "util/err.h"
#include "util/log.h"

struct evdns_base;
struct sockaddr;

typedef struct cc_cheese_conn cc_cheese_conn;

/* A bound on the bytes a set of connections (the peer port's, or our
 * outbound links) hold for messages still arriving, over all of them. One
 * connection's reader may hold a whole payload (16 MiB from a peer that
 * connects, a 64 MiB chain from a peer we asked), so without a total,
 * connections that each stop just short of a payload's end would make the
 * node hold that much for every one of them. When a read takes the total
 * over the bound, connections holding part of a message are refused and
 * closed (their owners told through `closed`, as for a message over the
 * limits), the one that sent nothing for longest first, until the total is
 * back within it: a peer sending steadily is the last one chosen, one
 * holding nothing is never chosen, and one holding a few bytes (less than
 * 1/64 of the bound: a request waiting for the silence that ends it) only
 * once no larger holder is left.
 *
 * Ownership: its creator frees it, after closing every connection it
 * holds a pointer to; that also frees the connections given it that are
 * still writing a last answer or lingering (let go by their owners). */
typedef struct cc_cheese_budget cc_cheese_budget;

/* The smallest default bound: with the default 16 MiB payload, four
 * messages of that size may arrive at once, far more than peers announcing
 * blocks need, while a thousand connections hold 64 MiB and not 16 GiB. */
#define CC_CHEESE_HELD_MIN ((size_t)64 << 20)

/* The default bound for messages of up to max_message bytes: twice that
 * (so a message of the largest size can always complete beside another),
 * and at least CC_CHEESE_HELD_MIN. */
size_t cc_cheese_budget_default(size_t max_message);
/* max_bytes: the bound (> 0); log: where closings are told (info). */
cc_cheese_budget *cc_cheese_budget_new(size_t max_bytes, const cc_log *log);
void cc_cheese_budget_free(cc_cheese_budget *b);
/* Bytes held now, over its connections; never above max after a read. */
size_t cc_cheese_budget_held(const cc_cheese_budget *b);
size_t cc_cheese_budget_max(const cc_cheese_budget *b);

typedef struct cc_cheese_conn_handlers {
    /* Outbound: the TCP connection is up (optional). */
    void (*connected)(void *ctx);
    /* A complete message; its texts live until the handler returns. */
    void (*message)(void *ctx, const cc_cheese_msg *m);
    /* Everything written so far has left our buffer (optional). With it
     * set, every message is queued and written from the loop, which tells
     * this once each has gone. */
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
    cc_cheese_budget *budget; /* shared bound on unfinished messages; NULL: none */
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

/* Closes now; what is still queued is dropped. */
void cc_cheese_conn_close(cc_cheese_conn *c);
/* Closes once what was sent is written (and the other side has had a
 * moment to read it). */
void cc_cheese_conn_finish(cc_cheese_conn *c);

/* The other side's IP address as text. */
const char *cc_cheese_conn_ip(const cc_cheese_conn *c);
/* Bytes held for an unfinished message (cc_cheese_wire_held); 0 once the
 * connection stopped reading. */
size_t cc_cheese_conn_held(const cc_cheese_conn *c);
/* True when the other side has sent bytes not yet handled: still in the
 * socket, read but not parsed, or part of an unfinished message. A timer
 * that fires in the same turn of the loop as their arrival sees them. */
bool cc_cheese_conn_has_input(const cc_cheese_conn *c);

#endif
