#include "net/http_client.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct pending {
    struct evhttp_connection *conn;
    cc_http_client_done done;
    void *ctx;
    size_t max_response_bytes;
} pending;

static void finish(pending *p, int status, const char *body, size_t len)
{
    p->done(p->ctx, status, body, len);
    /* The connection may not be freed inside its own callback. */
    evhttp_connection_free_on_completion(p->conn);
    free(p);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    pending *p = arg;
    if (!req || evhttp_request_get_response_code(req) == 0) {
        finish(p, 0, NULL, 0);
        return;
    }
    struct evbuffer *input = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(input);
    if (len > p->max_response_bytes) {
        finish(p, 0, NULL, 0);
        return;
    }
    char *body = cc_malloc(len + 1);
    evbuffer_copyout(input, body, len);
    body[len] = '\0';
    finish(p, evhttp_request_get_response_code(req), body, len);
    free(body);
}

void cc_http_client_send(struct event_base *base, const cc_http_client_request *req,
                         cc_http_client_done done, void *ctx)
{
    pending *p = cc_calloc(1, sizeof *p);
    p->done = done;
    p->ctx = ctx;
    p->max_response_bytes = req->max_response_bytes;
    p->conn = evhttp_connection_base_new(base, NULL, req->host, (unsigned short)req->port);
    struct timeval timeout = {(time_t)req->timeout_s,
                              (suseconds_t)((req->timeout_s - (double)(time_t)req->timeout_s) * 1e6)};
    evhttp_connection_set_timeout_tv(p->conn, &timeout);
    evhttp_connection_set_retries(p->conn, 0);
    evhttp_connection_set_max_body_size(p->conn, (ev_ssize_t)req->max_response_bytes);
    struct evhttp_request *http = evhttp_request_new(on_done, p);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(http);
    char host[300];
    snprintf(host, sizeof host, "%s:%d", req->host, req->port);
    evhttp_add_header(headers, "Host", req->host_header ? req->host_header : host);
    evhttp_add_header(headers, "Connection", "close");
    if (req->body) {
        evhttp_add_header(headers, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(http), req->body, req->body_len);
    }
    enum evhttp_cmd_type cmd = strcmp(req->method, "POST") == 0 ? EVHTTP_REQ_POST : EVHTTP_REQ_GET;
    if (evhttp_make_request(p->conn, http, cmd, req->path) != 0) {
        /* evhttp already called on_done(NULL) and freed the request. */
        return;
    }
}
