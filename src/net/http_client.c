#include "net/http_client.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct exchange exchange;

struct cc_http_client {
    struct event_base *base;
    exchange *list; /* doubly linked: every request not yet reported */
    size_t pending;
};

struct exchange {
    cc_http_client *client;
    struct evhttp_connection *conn;
    struct event *report; /* reports and frees on the loop turn after the answer */
    cc_http_client_done done;
    void *ctx;
    size_t max_response_bytes;
    bool answered;
    int status; /* the answer, kept until it is reported */
    char *body;
    size_t len;
    exchange *prev, *next;
};

/* Calls back with the answer (status 0 if none came) and frees everything. */
static void report_and_free(exchange *x)
{
    cc_http_client *client = x->client;
    if (x->prev)
        x->prev->next = x->next;
    else
        client->list = x->next;
    if (x->next)
        x->next->prev = x->prev;
    if (!x->answered)
        client->pending--;
    x->done(x->ctx, x->status, x->body, x->len);
    evhttp_connection_free(x->conn);
    event_free(x->report);
    free(x->body);
    free(x);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    report_and_free(arg);
}

/* Keeps the answer and reports it on the next loop turn: libevent still
 * uses the connection after its callback returns, and may call back
 * before cc_http_client_send has returned. */
static void answer(exchange *x, int status, const char *body, size_t len)
{
    if (x->answered)
        return;
    x->answered = true;
    x->client->pending--;
    x->status = status;
    if (status) {
        x->body = cc_malloc(len + 1);
        if (len)
            memcpy(x->body, body, len);
        x->body[len] = '\0';
        x->len = len;
    }
    static const struct timeval now = {0, 0};
    evtimer_add(x->report, &now);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    exchange *x = arg;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    struct evbuffer *input = req ? evhttp_request_get_input_buffer(req) : NULL;
    size_t len = input ? evbuffer_get_length(input) : 0;
    if (status == 0 || len > x->max_response_bytes) {
        answer(x, 0, NULL, 0);
        return;
    }
    answer(x, status, (const char *)evbuffer_pullup(input, -1), len);
}

cc_http_client *cc_http_client_new(struct event_base *base)
{
    cc_http_client *client = cc_calloc(1, sizeof *client);
    client->base = base;
    return client;
}

void cc_http_client_free(cc_http_client *client)
{
    if (!client)
        return;
    while (client->list) {
        exchange *x = client->list;
        x->status = 0; /* dropped, even when an answer is waiting to be reported */
        free(x->body);
        x->body = NULL;
        x->len = 0;
        report_and_free(x);
    }
    free(client);
}

size_t cc_http_client_pending(const cc_http_client *client) { return client->pending; }

void cc_http_client_send(cc_http_client *client, const cc_http_client_request *req,
                         cc_http_client_done done, void *ctx)
{
    exchange *x = cc_calloc(1, sizeof *x);
    x->client = client;
    x->done = done;
    x->ctx = ctx;
    x->max_response_bytes = req->max_response_bytes;
    x->report = evtimer_new(client->base, on_report, x);
    x->conn = evhttp_connection_base_new(client->base, NULL, req->host, (unsigned short)req->port);
    x->next = client->list;
    if (x->next)
        x->next->prev = x;
    client->list = x;
    client->pending++;

    struct timeval timeout = {(time_t)req->timeout_s,
                              (suseconds_t)((req->timeout_s - (double)(time_t)req->timeout_s) * 1e6)};
    evhttp_connection_set_timeout_tv(x->conn, &timeout);
    evhttp_connection_set_retries(x->conn, 0);
    evhttp_connection_set_max_body_size(x->conn, (ev_ssize_t)req->max_response_bytes);
    struct evhttp_request *http = evhttp_request_new(on_done, x);
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
    /* Fails only when out of memory; libevent has freed the request then. */
    if (evhttp_make_request(x->conn, http, cmd, req->path) != 0)
        answer(x, 0, NULL, 0);
}
