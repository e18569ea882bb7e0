#include "net/http_client.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define MAX_RESPONSE_HEADERS (16 << 10)

typedef struct exchange exchange;

struct cc_http_client {
    struct event_base *base;
    exchange *list; /* doubly linked: every request not yet reported */
    size_t pending;
};

struct exchange {
    cc_http_client *client;
    struct evhttp_connection *conn;
    struct event *report;   /* reports and frees on the loop turn after the answer */
    struct event *deadline; /* ends the request when it takes too long in all */
    cc_http_client_done done;
    void *ctx;
    size_t max_response_bytes;
    char *read_header;     /* name of the response header to report, or NULL */
    char *header;          /* its value in the answer, or NULL */
    bool answered;
    cc_http_failure error; /* what libevent's error callback said, if it did */
    cc_http_client_answer result; /* kept until it is reported */
    char *body;
    exchange *prev, *next;
};

const char *cc_http_failure_name(cc_http_failure failure)
{
    static const char *const names[] = {
        [CC_HTTP_ANSWERED] = "answered",
        [CC_HTTP_FAIL_CONNECT] = "connection failed",
        [CC_HTTP_FAIL_CLOSED] = "closed before answering",
        [CC_HTTP_FAIL_TIMEOUT] = "timed out",
        [CC_HTTP_FAIL_DEADLINE] = "answer not complete by the deadline",
        [CC_HTTP_FAIL_GARBAGE] = "not an HTTP answer",
        [CC_HTTP_FAIL_TOO_LARGE] = "answer too large",
        [CC_HTTP_FAIL_DROPPED] = "dropped",
    };
    return (unsigned)failure < sizeof names / sizeof names[0] ? names[failure] : "unknown";
}

/* Calls back with the answer and frees everything. */
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
    x->result.body = x->body;
    x->result.header = x->header;
    x->done(x->ctx, &x->result);
    /* frees a request still under way without calling it back */
    evhttp_connection_free(x->conn);
    event_free(x->report);
    event_free(x->deadline);
    free(x->body);
    free(x->read_header);
    free(x->header);
    free(x);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    report_and_free(arg);
}

/* Keeps the outcome and reports it on the next loop turn: libevent still
 * uses the connection after its callback returns, and may call back
 * before cc_http_client_send has returned. */
static void finish(exchange *x, int status, cc_http_failure failure, const char *body, size_t len)
{
    if (x->answered)
        return;
    x->answered = true;
    x->client->pending--;
    evtimer_del(x->deadline);
    x->result.status = status;
    x->result.failure = status ? CC_HTTP_ANSWERED : failure;
    if (status) {
        x->body = cc_malloc(len + 1);
        if (len)
            memcpy(x->body, body, len);
        x->body[len] = '\0';
        x->result.len = len;
    }
    static const struct timeval now = {0, 0};
    evtimer_add(x->report, &now);
}

static void on_error(enum evhttp_request_error error, void *arg)
{
    exchange *x = arg;
    switch (error) {
    case EVREQ_HTTP_TIMEOUT:
        x->error = CC_HTTP_FAIL_TIMEOUT;
        break;
    case EVREQ_HTTP_INVALID_HEADER:
        x->error = CC_HTTP_FAIL_GARBAGE;
        break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        x->error = CC_HTTP_FAIL_TOO_LARGE;
        break;
    default: /* EOF, reset, buffer error */
        x->error = CC_HTTP_FAIL_CLOSED;
        break;
    }
}

static void on_done(struct evhttp_request *req, void *arg)
{
    exchange *x = arg;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    struct evbuffer *input = req ? evhttp_request_get_input_buffer(req) : NULL;
    size_t len = input ? evbuffer_get_length(input) : 0;
    if (status == 0) {
        /* no error callback: libevent could not connect at all */
        finish(x, 0, x->error ? x->error : CC_HTTP_FAIL_CONNECT, NULL, 0);
        return;
    }
    if (len > x->max_response_bytes) {
        finish(x, 0, CC_HTTP_FAIL_TOO_LARGE, NULL, 0);
        return;
    }
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    const char *value = x->read_header ? evhttp_find_header(headers, x->read_header) : NULL;
    if (value)
        x->header = cc_strdup(value);
    finish(x, status, CC_HTTP_ANSWERED, (const char *)evbuffer_pullup(input, -1), len);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish(arg, 0, CC_HTTP_FAIL_DEADLINE, NULL, 0);
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
        /* dropped, even when an answer is waiting to be reported */
        x->result = (cc_http_client_answer){.failure = CC_HTTP_FAIL_DROPPED};
        free(x->body);
        x->body = NULL;
        free(x->header);
        x->header = NULL;
        report_and_free(x);
    }
    free(client);
}

size_t cc_http_client_pending(const cc_http_client *client) { return client->pending; }

static struct timeval seconds(double s)
{
    if (s < 0)
        s = 0;
    return (struct timeval){(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
}

void cc_http_client_send(cc_http_client *client, const cc_http_client_request *req,
                         cc_http_client_done done, void *ctx)
{
    exchange *x = cc_calloc(1, sizeof *x);
    x->client = client;
    x->done = done;
    x->ctx = ctx;
    x->max_response_bytes = req->max_response_bytes;
    x->read_header = req->read_header ? cc_strdup(req->read_header) : NULL;
    x->report = evtimer_new(client->base, on_report, x);
    x->deadline = evtimer_new(client->base, on_deadline, x);
    x->conn = evhttp_connection_base_new(client->base, NULL, req->host, (unsigned short)req->port);
    x->next = client->list;
    if (x->next)
        x->next->prev = x;
    client->list = x;
    client->pending++;

    struct timeval timeout = seconds(req->timeout_s);
    evhttp_connection_set_timeout_tv(x->conn, &timeout);
    evhttp_connection_set_retries(x->conn, 0);
    evhttp_connection_set_max_body_size(x->conn, (ev_ssize_t)req->max_response_bytes);
    evhttp_connection_set_max_headers_size(x->conn, MAX_RESPONSE_HEADERS);
    if (req->deadline_s > 0) {
        struct timeval deadline = seconds(req->deadline_s);
        evtimer_add(x->deadline, &deadline);
    }
    struct evhttp_request *http = evhttp_request_new(on_done, x);
    evhttp_request_set_error_cb(http, on_error);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(http);
    char text[300];
    snprintf(text, sizeof text, "%s:%d", req->host, req->port);
    evhttp_add_header(headers, "Host", req->host_header ? req->host_header : text);
    evhttp_add_header(headers, "Connection", "close");
    bool post = strcmp(req->method, "POST") == 0;
    if (post) {
        evhttp_add_header(headers, "Content-Type", "application/json");
        snprintf(text, sizeof text, "%zu", req->body ? req->body_len : 0);
        evhttp_add_header(headers, "Content-Length", text);
        if (req->body && req->body_len)
            evbuffer_add(evhttp_request_get_output_buffer(http), req->body, req->body_len);
    }
    /* Fails only when out of memory; libevent has freed the request then. */
    if (evhttp_make_request(x->conn, http, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, req->path) != 0)
        finish(x, 0, CC_HTTP_FAIL_CONNECT, NULL, 0);
}
