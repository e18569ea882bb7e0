/* Outgoing HTTP requests on the event loop (libevent's evhttp client):
 * never blocking, always with a timeout, bodies sent with Content-Length.
 *
 * Thread: the loop thread of `base`. Ownership: the callback receives a
 * body that is valid only during the call. */
#ifndef CC_NET_HTTP_CLIENT_H
#define CC_NET_HTTP_CLIENT_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

/* status 0 means no answer (refused, timed out, malformed). */
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

/* Starts the request; done is called exactly once, later, on the loop. */
void cc_http_client_send(struct event_base *base, const cc_http_client_request *req,
                         cc_http_client_done done, void *ctx);

#endif
