/* Outgoing HTTP requests on the event loop (libevent's evhttp client):
 * never blocking, bodies sent with Content-Length, and bounded in every
 * way a hostile server could stretch them:
 *   - timeout_s:  the longest silence (connect, send, receive);
 *   - deadline_s: the longest the whole request may take, however steadily
 *                 the server trickles its answer (an event timer);
 *   - max_response_bytes: the body is cut off (and the request failed)
 *                 beyond it; headers are limited to 16 KiB.
 * Each failure says why (cc_http_failure), so that callers can tell a peer
 * that is down from one that answers garbage.
 *
 * The client owns every connection it opens and frees each one once its
 * answer is reported (on a later loop turn: libevent still uses a
 * connection right after calling back), or all at once in
 * cc_http_client_free, so a node that stops with requests under way leaks
 * nothing.
 *
 * Hosts must be numeric addresses: a name would be resolved with a blocking
 * call on the loop.
 *
 * Thread: the loop thread of `base`. Ownership: the callback receives a
 * body and a header value that are valid only during the call. */
#ifndef CC_NET_HTTP_CLIENT_H
#define CC_NET_HTTP_CLIENT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum cc_http_failure {
    CC_HTTP_ANSWERED = 0,   /* an answer came (any status) */
    CC_HTTP_FAIL_CONNECT,   /* refused or unreachable */
    CC_HTTP_FAIL_CLOSED,    /* the server closed or reset before a complete answer */
    CC_HTTP_FAIL_TIMEOUT,   /* silent for timeout_s */
    CC_HTTP_FAIL_DEADLINE,  /* not complete after deadline_s */
    CC_HTTP_FAIL_GARBAGE,   /* not an HTTP answer, or headers over 16 KiB */
    CC_HTTP_FAIL_TOO_LARGE, /* body over max_response_bytes */
    CC_HTTP_FAIL_DROPPED,   /* never finished: the client was freed */
} cc_http_failure;

const char *cc_http_failure_name(cc_http_failure failure);

typedef struct cc_http_client_answer {
    int status;              /* HTTP status; 0 when no answer */
    cc_http_failure failure; /* CC_HTTP_ANSWERED when status != 0 */
    const char *body;        /* NUL-terminated; NULL when no answer */
    size_t len;
    const char *header;      /* the value of the request's read_header in the
                              * answer; NULL when absent or not asked for */
} cc_http_client_answer;

typedef void (*cc_http_client_done)(void *ctx, const cc_http_client_answer *answer);

typedef struct cc_http_client_request {
    const char *host;        /* numeric IPv4 address */
    int port;
    const char *method;      /* "GET" or "POST" */
    const char *path;        /* with query */
    const char *host_header; /* sent as Host; NULL for host:port */
    const char *body;        /* POST body or NULL */
    size_t body_len;
    double timeout_s;        /* longest silence */
    double deadline_s;       /* longest request in all; 0: none */
    size_t max_response_bytes;
    const char *read_header; /* a response header to report (NULL: none) */
} cc_http_client_request;

typedef struct cc_http_client cc_http_client;

cc_http_client *cc_http_client_new(struct event_base *base);
/* Reports every request not reported yet as CC_HTTP_FAIL_DROPPED, so that
 * callbacks only free what they own, and frees every connection. Callbacks
 * must not send from here. Call before freeing the event base. */
void cc_http_client_free(cc_http_client *client);

/* Starts the request; done is called exactly once, always later: on the
 * loop, or from cc_http_client_free. */
void cc_http_client_send(cc_http_client *client, const cc_http_client_request *req,
                         cc_http_client_done done, void *ctx);

/* Requests whose answer has not arrived yet. */
size_t cc_http_client_pending(const cc_http_client *client);

#endif
