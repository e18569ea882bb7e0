/* Outgoing HTTP requests on the event loop (libevent's evhttp client):
 * never blocking, always with a timeout, bodies sent with Content-Length.
 *
 * The client owns every connection it opens and frees each one once its
 * answer is reported (on a later loop turn: libevent still uses a
 * connection right after calling back), or all at once in
 * cc_http_client_free, so a node that stops with requests under way leaks
 * nothing.
 *
 * Thread: the loop thread of `base`. Ownership: the callback receives a
 * body that is valid only during the call. */
#ifndef CC_NET_HTTP_CLIENT_H
#define CC_NET_HTTP_CLIENT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

/* status 0 means no answer (refused, timed out, malformed, dropped). */
typedef void (*cc_http_client_done)(void *ctx, int status, const char *body, size_t len);

typedef struct cc_http_client_request {
    const char *host;
    int port;
    const char *method;      /* "GET" or "POST" */
    const char *path;        /* with query */
    const char *host_header; /* sent as Host; NULL for host:port */
    const char *body;        /* POST body or NULL */
    size_t body_len;
    double timeout_s;
    size_t max_response_bytes;
} cc_http_client_request;

typedef struct cc_http_client cc_http_client;

cc_http_client *cc_http_client_new(struct event_base *base);
/* Reports every request not reported yet with status 0 (dropped), so that
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
