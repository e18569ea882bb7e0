#include "net/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "codec/json.h"
#include "net/listener.h"
#include "net/send_now.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/timeval.h"

/* After the last answer the connection lingers: closing a socket that still
 * has unread input (say the rest of a body we refused with 413) makes the
 * kernel send a reset, which can destroy the answer before the client has
 * read it. So we shut our side, read and drop what the client still sends,
 * and close at its EOF, after LINGER_S of silence or LINGER_BYTES. */
#define LINGER_S 2
#define LINGER_BYTES (1 << 20)

/* Bodies of requests still arriving, over all connections, are held to
 * this (or to two bodies of the largest size, when that is more): without
 * it, clients that each send all but the last bytes of a body and then
 * trickle would make the node hold max_connections full bodies. */
#define HELD_BYTES_MIN (32u << 20)

/* Answers waiting to be written to one connection; beyond this, its
 * pipelined requests are not read until they are written: a client that
 * sends requests and never reads the answers would otherwise make the node
 * hold every answer (a whole chain for a few bytes of GET /getblocks). */
#define OUTPUT_PAUSE_BYTES (1u << 20)

typedef struct connection connection;

struct cc_http_server {
    cc_http_server_config cfg;
    struct event_base *base;
    cc_listener *listener;
    connection *connections; /* doubly linked, for cleanup and counting */
    size_t n_connections;
    size_t held;      /* body bytes of unfinished requests, over all connections */
    size_t held_max;
};

struct connection {
    cc_http_server *server;
    struct bufferevent *bev; /* writes; reads go through reader */
    struct event *reader;    /* the socket's input, read with one recv() (on_readable) */
    struct evbuffer *input;  /* what was read and not parsed yet */
    struct timeval read_timeout;
    cc_http_parser *parser;
    char peer_ip[INET6_ADDRSTRLEN];
    bool closing;   /* answer sent, close once it is written */
    bool lingering; /* answer written and our side shut: discarding input until EOF */
    bool paused;    /* not reading until the answers waiting are written */
    size_t discarded;
    double last_active; /* monotonic time of the last bytes read (or of accept) */
    size_t held;        /* this connection's share of server->held */
    cc_http_pending *pending; /* an answer being worked on: read nothing meanwhile */
    cc_http_stream stream;    /* a body being streamed (stream.next set): read nothing */
    bool stream_keep_alive;
    connection *prev, *next;
};

struct cc_http_pending {
    connection *conn; /* NULL once the connection is gone */
    bool keep_alive;
};

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void cc_http_error(cc_http_response *resp, int status, const char *message)
{
    resp->status = status;
    cc_buf_reset(&resp->body);
    cc_buf_printf(&resp->body, "{\"errcode\": %d, \"errmsg\": ", status);
    cc_json_append_quoted(&resp->body, message);
    cc_buf_putc(&resp->body, '}');
}

/* Streamed bodies are written in pieces of about this size, and the next
 * piece is made when the socket's queue falls under STREAM_LOW: memory per
 * connection stays near the sum of the two. */
#define STREAM_PIECE (256u << 10)
#define STREAM_LOW (64u << 10)

static void end_stream(connection *conn)
{
    if (!conn->stream.next)
        return;
    if (conn->stream.free_ctx)
        conn->stream.free_ctx(conn->stream.ctx);
    conn->stream = (cc_http_stream){0};
}

static void reading_on(connection *conn) { event_add(conn->reader, &conn->read_timeout); }

static void reading_off(connection *conn) { event_del(conn->reader); }

static void connection_free(connection *conn)
{
    cc_http_server *server = conn->server;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->connections = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    server->n_connections--;
    server->held -= conn->held;
    if (conn->pending)
        conn->pending->conn = NULL;
    end_stream(conn);
    event_free(conn->reader);
    evbuffer_free(conn->input);
    bufferevent_free(conn->bev);
    cc_http_parser_free(conn->parser);
    free(conn);
}

/* Once the last answer is written: shut our side and read until the
 * client's EOF (LINGER_S). */
static void linger_when_written(connection *conn)
{
    struct bufferevent *bev = conn->bev;
    if (!conn->closing || conn->lingering || conn->stream.next ||
        evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    conn->lingering = true;
    shutdown(bufferevent_getfd(bev), SHUT_WR);
    conn->read_timeout = (struct timeval){LINGER_S, 0};
    bufferevent_set_timeouts(bev, NULL, NULL);
    reading_on(conn);
}

static void after_answer(connection *conn, bool keep_alive)
{
    if (!keep_alive) {
        conn->closing = true;
        reading_off(conn);
        linger_when_written(conn);
    }
}

static void on_read(struct bufferevent *bev, void *arg);

/* Writes the next pieces of a streamed body until the socket's queue is
 * full enough; after the last, the connection goes on as after any answer.
 * False when the connection was freed. */
static bool pump_stream(connection *conn)
{
    struct evbuffer *output = bufferevent_get_output(conn->bev);
    bool done = false;
    while (!done && evbuffer_get_length(output) < STREAM_LOW) {
        cc_buf piece = CC_BUF_INIT;
        bool ok = conn->stream.next(conn->stream.ctx, &piece, &done);
        if (ok)
            bufferevent_write(conn->bev, piece.data, piece.len);
        cc_buf_free(&piece);
        if (!ok) {
            cc_warn(conn->server->cfg.log, "answer to %s cut short", conn->peer_ip);
            connection_free(conn);
            return false;
        }
    }
    if (!done)
        return true;
    end_stream(conn);
    bufferevent_setwatermark(conn->bev, EV_WRITE, 0, 0);
    after_answer(conn, conn->stream_keep_alive);
    if (!conn->closing && !conn->pending) {
        reading_on(conn);
        if (evbuffer_get_length(conn->input) > 0)
            on_read(conn->bev, conn);
    }
    return true;
}

static void put_decimal(cc_buf *out, size_t value)
{
    char digits[24];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    cc_buf_append(out, digits + n, sizeof digits - n);
}

/* Every answer is rendered: no printf on the path of each request. */
static void put_head(cc_buf *out, const cc_http_response *resp, size_t length, bool keep_alive)
{
    cc_buf_puts(out, "HTTP/1.1 ");
    put_decimal(out, (size_t)resp->status);
    cc_buf_putc(out, ' ');
    cc_buf_puts(out, status_text(resp->status));
    cc_buf_puts(out, "\r\nContent-Type: ");
    cc_buf_puts(out, resp->content_type ? resp->content_type : "application/json");
    cc_buf_puts(out, "\r\nContent-Length: ");
    put_decimal(out, length);
    cc_buf_puts(out, keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n");
    cc_buf_append(out, resp->headers.data, resp->headers.len);
    cc_buf_puts(out, "\r\n");
}

static void send_response(connection *conn, const cc_http_response *resp, bool keep_alive)
{
    const cc_http_stream *stream = &resp->stream;
    cc_buf out = CC_BUF_INIT;
    cc_buf_reserve(&out, 160 + resp->headers.len + (stream->next ? 0 : resp->body.len));
    put_head(&out, resp, stream->next ? stream->length : resp->body.len, keep_alive);
    if (!stream->next)
        cc_buf_append(&out, resp->body.data, resp->body.len);
    cc_send_now(conn->bev, out.data, out.len);
    cc_buf_free(&out);
    if (!stream->next) {
        after_answer(conn, keep_alive);
        return;
    }
    /* The first piece goes with the headers when it is small: a short
     * chain is still answered in one write. */
    conn->stream = *stream;
    conn->stream_keep_alive = keep_alive;
    reading_off(conn);
    bufferevent_setwatermark(conn->bev, EV_WRITE, STREAM_LOW, 0);
    pump_stream(conn);
}

static void send_error(connection *conn, const cc_err *err)
{
    cc_http_response resp = {0};
    cc_http_error(&resp, err->code ? err->code : 400, err->msg);
    send_response(conn, &resp, false);
    cc_buf_free(&resp.body);
}

/* Brings the server's count of held body bytes up to date with conn's. */
static void note_held(connection *conn)
{
    size_t now = cc_http_parser_request(conn->parser)->body.len;
    conn->server->held = conn->server->held - conn->held + now;
    conn->held = now;
}

/* The connection that has sent nothing for longest; with holding, only
 * among those holding part of a body. NULL when there is none. */
static connection *quietest(const cc_http_server *server, bool holding)
{
    connection *found = NULL;
    for (connection *c = server->connections; c; c = c->next)
        if ((!holding || c->held > 0) && (!found || c->last_active < found->last_active))
            found = c;
    return found;
}

static void evict(connection *conn, const char *why)
{
    cc_debug(conn->server->cfg.log, "%s: closing the connection from %s, silent for %.1f s", why,
             conn->peer_ip, cc_clock_mono() - conn->last_active);
    connection_free(conn);
}

/* Closes the quietest connections holding body bytes until the total is
 * within bounds: a client that is sending steadily is the last one chosen.
 * False when conn itself was closed. */
static bool keep_held_within_bounds(connection *conn)
{
    cc_http_server *server = conn->server;
    note_held(conn);
    while (server->held > server->held_max) {
        connection *victim = quietest(server, true);
        bool self = victim == conn;
        evict(victim, "too many request bytes held");
        if (self)
            return false;
    }
    return true;
}

static void dispatch(connection *conn)
{
    const cc_http_request *req = cc_http_parser_request(conn->parser);
    cc_http_response resp = {.status = 200, .server_private = conn};
    conn->server->cfg.handler(conn->server->cfg.handler_ctx, req, conn->peer_ip, &resp);
    bool keep_alive = req->keep_alive && !req->body_until_close;
    if (conn->pending)
        conn->pending->keep_alive = keep_alive;
    else
        send_response(conn, &resp, keep_alive);
    cc_buf_free(&resp.body);
    cc_buf_free(&resp.headers);
    cc_http_parser_reset(conn->parser);
    note_held(conn);
}

cc_http_pending *cc_http_defer(cc_http_response *resp)
{
    connection *conn = resp->server_private;
    cc_http_pending *pending = cc_calloc(1, sizeof *pending);
    pending->conn = conn;
    conn->pending = pending;
    reading_off(conn);
    return pending;
}

void cc_http_answer(cc_http_pending *pending, const cc_http_response *resp)
{
    connection *conn = pending->conn;
    bool keep_alive = pending->keep_alive;
    free(pending);
    if (!conn)
        return;
    conn->pending = NULL;
    send_response(conn, resp, keep_alive && !conn->closing);
    if (conn->closing)
        return;
    reading_on(conn);
    /* Requests that arrived meanwhile wait in the input buffer: no new
     * bytes need come to have them answered. */
    if (evbuffer_get_length(conn->input) > 0)
        on_read(conn->bev, conn);
}

/* Feeds what has arrived to the parser, answering every complete request
 * (pipelined ones included) until the input is used up or we close. */
static void on_read(struct bufferevent *bev, void *arg)
{
    connection *conn = arg;
    struct evbuffer *input = conn->input;
    conn->last_active = cc_clock_mono();
    if (conn->lingering) {
        conn->discarded += evbuffer_get_length(input);
        evbuffer_drain(input, evbuffer_get_length(input));
        if (conn->discarded > LINGER_BYTES)
            connection_free(conn);
        return;
    }
    while (!conn->closing && !conn->pending && !conn->stream.next &&
           evbuffer_get_length(input) > 0) {
        if (evbuffer_get_length(bufferevent_get_output(bev)) > OUTPUT_PAUSE_BYTES) {
            conn->paused = true;
            reading_off(conn);
            return;
        }
        struct evbuffer_iovec chunk;
        if (evbuffer_peek(input, -1, NULL, &chunk, 1) < 1)
            break;
        size_t consumed = 0;
        cc_err err = {0};
        cc_http_parse_status st =
            cc_http_parser_feed(conn->parser, chunk.iov_base, chunk.iov_len, &consumed, &err);
        evbuffer_drain(input, st == CC_HTTP_ERROR ? evbuffer_get_length(input) : consumed);
        if (st == CC_HTTP_ERROR)
            send_error(conn, &err);
        else if (st == CC_HTTP_DONE)
            dispatch(conn);
        else if (!keep_held_within_bounds(conn))
            return;
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    connection *conn = arg;
    if (conn->stream.next) {
        pump_stream(conn);
        return;
    }
    if (conn->paused && !conn->closing) {
        conn->paused = false;
        reading_on(conn);
        on_read(bev, conn); /* requests already read wait for no new input */
        return;
    }
    linger_when_written(conn);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    connection *conn = arg;
    /* A body without a length ends when the client closes; a client that
     * instead falls silent is taken to have finished, as the reference
     * nodes' clients would otherwise wait forever for an answer. */
    bool silent_after_body = (what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
                             cc_http_parser_request(conn->parser)->body_until_close;
    if (((what & BEV_EVENT_EOF) || silent_after_body) && !conn->closing) {
        cc_err err = {0};
        cc_http_parse_status st = cc_http_parser_finish(conn->parser, &err);
        if (st == CC_HTTP_DONE) {
            dispatch(conn);
            conn->closing = true;
            if (!conn->pending)
                linger_when_written(conn);
            return;
        }
        if (st == CC_HTTP_ERROR) {
            send_error(conn, &err);
            return;
        }
    }
    /* A client that half-closed after its request still gets the answer
     * queued for it (a deferred one is queued just before reading resumes
     * and meets the end of input at once): close once it is written. */
    if ((what & BEV_EVENT_EOF) && !conn->closing &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        conn->closing = true;
        reading_off(conn);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING))
        cc_debug(conn->server->cfg.log, "closing idle connection from %s", conn->peer_ip);
    connection_free(conn);
}

/* Reads what the socket holds with one recv() into the input buffer:
 * libevent's own read asks the kernel first how much there is (an ioctl
 * per read). End of input, an error and silence past read_timeout go to
 * on_event as the bufferevent would report them, reading stopped as it
 * would stop it. */
#define READ_CHUNK 16384

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    connection *conn = arg;
    if (what & EV_TIMEOUT) {
        reading_off(conn);
        on_event(conn->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, conn);
        return;
    }
    struct evbuffer *input = conn->input;
    struct evbuffer_iovec space;
    if (evbuffer_reserve_space(input, READ_CHUNK, &space, 1) < 1)
        return; /* out of memory: the next readiness tries again */
    ssize_t got = recv(fd, space.iov_base, space.iov_len, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (got <= 0) {
        reading_off(conn);
        on_event(conn->bev, BEV_EVENT_READING | (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
                 conn);
        return;
    }
    space.iov_len = (size_t)got;
    evbuffer_commit_space(input, &space, 1);
    on_read(conn->bev, conn);
}

static void peer_ip_text(const struct sockaddr *addr, char out[INET6_ADDRSTRLEN])
{
    out[0] = '\0';
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

/* The connection that has sent nothing for longest makes room for a new
 * one (net/listener.h): trickling counts as silence, so a client that just
 * connected and sent its request is the last one chosen. */
static bool evict_quietest(void *ctx, const char *why)
{
    cc_http_server *server = ctx;
    connection *victim = quietest(server, false);
    if (victim)
        evict(victim, why);
    return victim != NULL;
}

static void accept_connection(void *ctx, evutil_socket_t fd, const struct sockaddr *addr)
{
    cc_http_server *server = ctx;
    connection *conn = cc_calloc(1, sizeof *conn);
    conn->server = server;
    conn->parser = cc_http_parser_new(&server->cfg.limits);
    conn->bev = bufferevent_socket_new(server->base, fd, BEV_OPT_CLOSE_ON_FREE);
    peer_ip_text(addr, conn->peer_ip);
    conn->next = server->connections;
    if (conn->next)
        conn->next->prev = conn;
    server->connections = conn;
    server->n_connections++;
    conn->last_active = cc_clock_mono();
    struct timeval idle = cc_timeval_of(server->cfg.idle_timeout_s);
    conn->read_timeout = idle;
    bufferevent_set_timeouts(conn->bev, NULL, &idle);
    bufferevent_setcb(conn->bev, NULL, on_write, on_event, conn);
    bufferevent_enable(conn->bev, EV_WRITE);
    conn->reader = event_new(server->base, fd, EV_READ | EV_PERSIST, on_readable, conn);
    conn->input = evbuffer_new();
    cc_alloc_check(conn->reader);
    cc_alloc_check(conn->input);
    reading_on(conn);
}

static size_t count(void *ctx)
{
    const cc_http_server *server = ctx;
    return server->n_connections;
}

cc_http_server *cc_http_server_start(struct event_base *base, const cc_http_server_config *cfg,
                                     cc_err *err)
{
    cc_http_server *server = cc_calloc(1, sizeof *server);
    server->cfg = *cfg;
    server->base = base;
    server->held_max = cfg->limits.max_body_bytes > HELD_BYTES_MIN / 2
                           ? 2 * cfg->limits.max_body_bytes
                           : HELD_BYTES_MIN;
    static const cc_listener_owner owner = {
        .accepted = accept_connection, .connections = count, .evict_quietest = evict_quietest};
    cc_listen_at at = {cfg->host, cfg->port, 512, cfg->max_connections};
    server->listener = cc_listener_start(base, &at, &owner, server, cfg->log, err);
    if (server->listener)
        return server;
    cc_http_server_free(server);
    return NULL;
}

void cc_http_server_free(cc_http_server *server)
{
    if (!server)
        return;
    while (server->connections)
        connection_free(server->connections);
    cc_listener_free(server->listener);
    free(server);
}

size_t cc_http_server_connections(const cc_http_server *server) { return server->n_connections; }
