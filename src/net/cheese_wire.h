/* The cheese network's wire (PROTOCOL.md B.1): a stream reader that turns
 * bytes from a TCP connection into messages, and the writer of the same
 * messages.
 *
 * The wire has no framing: a message is a command glued to `:`-separated
 * arguments or to a JSON payload, and senders of the later spelling add no
 * terminator (the seed era's code ends its requests with "\r\n"). So:
 *   - a JSON payload ends where its brackets balance (outside strings,
 *     escapes honoured);
 *   - an argument ends at a newline, where the next command keyword starts
 *     (e.g. "PID...HCK"), or when the sender falls silent and waits for an
 *     answer. Silence is not visible in the bytes: the caller notices it (a
 *     timer after the last read) and calls cc_cheese_wire_flush();
 *   - "HCK" and "BRCHEESE{...}" / "BRTRANSACTION{...}" may continue
 *     ("HCKACK", ";PEER_ID" / ":PEER_ID"), so they too complete at the next
 *     byte or at silence.
 * Both spellings of every command are read (seed and later revision); each
 * message says which one it came in, so that it can be answered in kind.
 * Bytes that start no known command come out as CC_CHEESE_UNKNOWN messages
 * (up to the next newline or keyword), so one stray byte never desynchronises
 * the stream.
 *
 * The outcome never depends on how the bytes are split between feeds: the
 * reader decides one byte at a time. Limits on argument and payload length
 * are enforced as bytes arrive.
 *
 * Pure: no sockets, no clock. Not thread-safe; one reader per connection.
 * Ownership: the reader owns the texts a message points to; they stay valid
 * until the next feed/flush/done/free on that reader. */
#ifndef CC_NET_CHEESE_WIRE_H
#define CC_NET_CHEESE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct evbuffer;

typedef enum cc_cheese_cmd {
    CC_CHEESE_UNKNOWN,         /* text that starts no command: arg holds it */
    CC_CHEESE_GREETING,        /* tracker on connect: "Connection Successful" */
    CC_CHEESE_JOIN,            /* JOIN_CHAIN:HOST:PORT / PCONNECT:HOST:PORT; arg "HOST:PORT" */
    CC_CHEESE_JOINED,          /* PID... / TCONNECTRESP:PID...; arg the id "PID..." */
    CC_CHEESE_GET_PEERS,       /* GET_PEERS:ID / GETPEERS:ID */
    CC_CHEESE_PEERS,           /* CPSS[...] / GETPEERSRESP[...] */
    CC_CHEESE_INVALID_PEER_ID, /* INVALID_PEER_ID / INVALIDPEERID */
    CC_CHEESE_PEER_GREETING,   /* "Connection to peer PID..." (the seed era's code: "Connected
                                  to peer: PID...") / PCONNECTACK:PID...; arg the id */
    CC_CHEESE_GET_CHAIN,       /* GET_CHAIN:ID / GETCHAIN:ID */
    CC_CHEESE_CHAIN,           /* CHAIN[...] / GETCHAINRESP[...] */
    CC_CHEESE_GET_OPEN_TXS,    /* GET_OPEN_TRANSACTIONS:ID / GETOPENTRANSACTIONS:ID */
    CC_CHEESE_OPEN_TXS,        /* TR[...] / GETOPENTRANSACTIONSRESP[...] */
    CC_CHEESE_NEW_CHEESE,      /* NEW_CHEESE{...} / BRCHEESE{...} or [...], arg ";ID" if any */
    CC_CHEESE_CHEESE_ACK,      /* BRCHEESEACK */
    CC_CHEESE_NEW_TX,          /* BRTRANSACTION{...}, arg ":ID" if any */
    CC_CHEESE_TX_ACK,          /* BRTRANSACTIONACK */
    CC_CHEESE_HEALTH_CHECK,    /* HCK */
    CC_CHEESE_HEALTH_ACK,      /* HCKACK */
    CC_CHEESE_REFUSED,         /* ours: "REFUSED:reason", a request we will not serve */
} cc_cheese_cmd;

typedef enum cc_cheese_spelling {
    CC_CHEESE_SEED,  /* the seed document's spelling (JOIN_CHAIN, CPSS, ...) */
    CC_CHEESE_LATER, /* the later revision's (PCONNECT, GETPEERSRESP, ...) */
    CC_CHEESE_ANY,   /* the same in both (greeting, REFUSED, unknown text) */
} cc_cheese_spelling;

typedef struct cc_cheese_msg {
    cc_cheese_cmd cmd;
    cc_cheese_spelling spelling;
    /* The argument (NUL-terminated; arg_len excludes the NUL): "HOST:PORT"
     * of a join, a peer id, the peer-id suffix of a broadcast, the text of
     * an unknown message; "" when there is none. Not checked: it may hold any
     * byte but a newline, so validate before use. A trailing "\r" before a
     * newline is removed. */
    const char *arg;
    size_t arg_len;
    /* The JSON payload including its outer brackets, exactly as received
     * (NUL-terminated); NULL for commands without one. Only its brackets are
     * checked: parse it with codec/json.h under that reader's limits. */
    const char *payload;
    size_t payload_len;
} cc_cheese_msg;

typedef struct cc_cheese_wire_limits {
    size_t max_line;    /* argument or unknown text, bytes; beyond: CC_ERR_TOO_LARGE */
    size_t max_payload; /* JSON payload, brackets included; beyond: CC_ERR_TOO_LARGE */
} cc_cheese_wire_limits;

typedef enum cc_cheese_status {
    CC_CHEESE_NEED_MORE, /* every byte consumed; nothing complete yet */
    CC_CHEESE_MSG,       /* a message is complete: *msg holds it */
    CC_CHEESE_ERROR,     /* over a limit; err says why; the reader stays failed
                            and the connection should be closed */
} cc_cheese_status;

typedef struct cc_cheese_wire cc_cheese_wire;

/* limits must not be NULL; they are copied. */
cc_cheese_wire *cc_cheese_wire_new(const cc_cheese_wire_limits *limits);
void cc_cheese_wire_free(cc_cheese_wire *w);

/* Feeds len bytes (len may be 0). On CC_CHEESE_MSG, *consumed says how many
 * were used and the rest belong to later messages. The reader may hold back
 * bytes it has already consumed (a keyword that ended the previous
 * argument), so call it again, with the remaining bytes or with none, until
 * it returns CC_CHEESE_NEED_MORE or CC_CHEESE_ERROR. */
cc_cheese_status cc_cheese_wire_feed(cc_cheese_wire *w, const char *data, size_t len,
                                     size_t *consumed, cc_cheese_msg *msg, cc_err *err);

/* The sender has fallen silent: completes an argument, an unknown text, an
 * "HCK" or a broadcast that was waiting for its optional suffix. Returns
 * one message per call; call it until CC_CHEESE_NEED_MORE. A JSON payload
 * in progress is not completed: it is self-delimiting and may be slow. */
cc_cheese_status cc_cheese_wire_flush(cc_cheese_wire *w, cc_cheese_msg *msg, cc_err *err);

/* True when cc_cheese_wire_flush could complete something, i.e. when the
 * caller should start its silence timer. */
bool cc_cheese_wire_flushable(const cc_cheese_wire *w);

/* The command whose keyword has been read whole while its argument or
 * payload is still coming ("PCONNECTACK:PID0" so far: the peer greeting);
 * CC_CHEESE_UNKNOWN when none is. What a message is about is known before
 * it completes, which may take a silence the caller does not want to wait
 * for. */
cc_cheese_cmd cc_cheese_wire_pending(const cc_cheese_wire *w);

/* True once any byte of an unfinished message is held. */
bool cc_cheese_wire_busy(const cc_cheese_wire *w);

/* Bytes held for messages not complete yet: the keyword, argument and
 * payload read so far and bytes to be read again; 0 between messages.
 * What bounds a connection's share of memory (a payload may be up to
 * max_payload): the caller sums it over connections to bound them all. The
 * texts of the message handed out last are not counted; they are freed
 * at the next call, or at once by cc_cheese_wire_done. */
size_t cc_cheese_wire_held(const cc_cheese_wire *w);

/* The message handed out last is done with: its texts are freed now (a
 * large buffer returned to the allocator, a small one kept for the next
 * message) rather than at the next feed, which may be long in coming. The
 * message's pointers die. */
void cc_cheese_wire_done(cc_cheese_wire *w);

/* Appends the wire form of msg to out: the command of msg->cmd in
 * msg->spelling (CC_CHEESE_ANY picks the seed's), then its argument or
 * payload (PROTOCOL.md B.1). The later spelling has no terminator; seed
 * requests (JOIN_CHAIN, GET_PEERS, GET_CHAIN, GET_OPEN_TRANSACTIONS,
 * NEW_CHEESE) end with "\r\n", since the seed era's code reads them as
 * lines, and seed answers stay bare, as that code sends and reads them.
 * Refuses (CC_ERR_BAD_REQUEST)
 * a command that spelling lacks, a missing or unexpected payload, and an
 * argument the reader could not get back intact: one holding a control
 * character, a non-ASCII byte, or a command keyword. A JOINED or
 * PEER_GREETING argument must be a peer id (cc_cheese_peer_id_valid). */
bool cc_cheese_wire_format(cc_buf *out, const cc_cheese_msg *msg, cc_err *err);

/* True for "PID" followed by 1 to 64 hex digits. The document and the
 * later revision use upper case; the seed era's tracker hands out lower
 * case, so both are accepted. Ids are compared byte for byte. */
bool cc_cheese_peer_id_valid(const char *s, size_t len);

/* True for a host a peer may announce or be listed with: 1 to 253 of
 * letters, digits, '.', '-', '_' and ':' (an IPv6 address). */
bool cc_cheese_host_valid(const char *s, size_t len);

/* Feeds what `in` holds (its first contiguous chunk, or nothing) to
 * cc_cheese_wire_feed and drains the bytes used. Call again while it returns
 * CC_CHEESE_MSG, or on CC_CHEESE_NEED_MORE while `in` is not empty. */
cc_cheese_status cc_cheese_wire_feed_evbuffer(cc_cheese_wire *w, struct evbuffer *in,
                                              cc_cheese_msg *msg, cc_err *err);

/* The command's keyword in a spelling ("GETPEERS", "CPSS", ...), for logs;
 * "?" when that spelling has none. */
const char *cc_cheese_cmd_name(cc_cheese_cmd cmd, cc_cheese_spelling spelling);

#endif
