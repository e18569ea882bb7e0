/* One blocking HTTP/1.1 request, for command-line programs (cheese-cli,
 * cheese-devnet's readiness checks); never for a node's event loop, which
 * uses net/http_client.h.
 *
 * Why plain sockets and not libevent: a command-line program makes one
 * request and exits. A non-blocking socket driven by poll() needs no event
 * base, callbacks or ownership hand-offs; it writes exactly the bytes we
 * choose (Content-Length on every request, "Content-Length: 0" on an empty
 * POST, which reference-style servers need to stop waiting for a body); and
 * it hands the answer's body to a sink as it arrives, so a whole chain can
 * be streamed to a file without being held in memory.
 *
 * Bounds: timeout_s is the longest silence (connecting, sending, each
 * wait for more of the answer), deadline_s the longest the whole request
 * may take; headers are limited to 16 KiB and a body kept in memory to
 * max_body_bytes. Answers with Content-Length, chunked answers and answers
 * that run until the server closes are all read.
 *
 * Thread-safe: no shared state (getaddrinfo may block on DNS for a name). */
#ifndef CC_NET_HTTP_CALL_H
#define CC_NET_HTTP_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

typedef enum cc_http_call_failure {
    CC_CALL_OK = 0,      /* an answer came (any status) */
    CC_CALL_RESOLVE,     /* the host name does not resolve */
    CC_CALL_CONNECT,     /* refused or unreachable */
    CC_CALL_TIMEOUT,     /* silent for timeout_s, or past deadline_s */
    CC_CALL_CLOSED,      /* the server closed or reset before a complete answer */
    CC_CALL_GARBAGE,     /* not an HTTP answer, or headers over 16 KiB */
    CC_CALL_TOO_LARGE,   /* a body kept in memory went over max_body_bytes */
    CC_CALL_SINK,        /* the sink refused the body (its own error) */
} cc_http_call_failure;

/* Receives a successful (2xx) answer's body piece by piece; returns false
 * (having filled err) to abandon the request. */
typedef bool (*cc_http_call_sink)(void *ctx, const char *data, size_t len, cc_err *err);

typedef struct cc_http_call_request {
    const char *host;         /* name or numeric address; IPv6 without brackets */
    int port;
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* with query */
    const char *body;         /* NULL: empty (still sent as Content-Length: 0) */
    size_t body_len;
    const char *bearer_token; /* sent as "Authorization: Bearer <token>"; NULL: none */
    double timeout_s;         /* longest silence; 0: 30 s */
    double deadline_s;        /* longest request in all; 0: none */
    size_t max_body_bytes;    /* for a body kept in memory; 0: 64 MiB */
    cc_http_call_sink sink;   /* NULL: every body is kept in answer->body */
    void *sink_ctx;
} cc_http_call_request;

typedef struct cc_http_call_answer {
    int status;   /* the HTTP status; 0 when no answer came */
    cc_buf body;  /* the body (NUL-terminated), unless a sink took it; the caller frees */
    cc_http_call_failure failure;
} cc_http_call_answer;

/* Sends the request and reads the answer. True when a complete answer
 * came, whatever its status; false with answer->failure and err saying why
 * (err's code: 503 for RESOLVE, CONNECT and CLOSED, 408 for TIMEOUT,
 * 500 for GARBAGE, 413 for TOO_LARGE, the sink's own for SINK). The caller
 * frees answer->body in both cases. */
bool cc_http_call(const cc_http_call_request *req, cc_http_call_answer *answer, cc_err *err);

/* True when a TCP connection to host:port opens within timeout_s (it is
 * closed at once). For waiting until a server listens. */
bool cc_tcp_can_connect(const char *host, int port, double timeout_s);

/* Splits "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (meaning
 * 127.0.0.1:PORT) into host (without brackets) and port 1..65535. */
bool cc_parse_host_port(const char *text, char *host, size_t host_size, int *port);

#endif
