/* One blocking HTTP/1.1 request over a plain socket (see http_call.h for
 * why not libevent). The socket is non-blocking and every wait goes through
 * poll(), so a silent server costs at most timeout_s per wait and
 * deadline_s in all. */
#include "net/http_call.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/mem.h"

#define CALL_DEFAULT_TIMEOUT_S 30.0
#define CALL_DEFAULT_MAX_BODY ((size_t)64 << 20)
#define CALL_MAX_HEADERS (16 << 10)
#define CALL_MAX_LINE 1024 /* a chunk-size line or trailer line */

typedef struct call {
    const cc_http_call_request *req;
    cc_http_call_answer *answer;
    cc_err *err;
    int fd;
    double timeout_s;
    double deadline; /* absolute, 0: none */
    char in[16384];
    size_t start, end; /* unread bytes in[start..end) */
    bool eof;
    bool to_sink; /* a 2xx answer with a sink */
    size_t max_body;
    size_t body_len;
} call;

static bool failed(call *c, cc_http_call_failure failure, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool failed(call *c, cc_http_call_failure failure, int code, const char *fmt, ...)
{
    char msg[sizeof c->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->answer->failure = failure;
    return cc_fail(c->err, code, "%s:%d: %s", c->req->host, c->req->port, msg);
}

/* Waits until fd is ready for `events`; false (failed) on timeout. */
static bool wait_for(call *c, short events, const char *doing)
{
    for (;;) {
        double wait = c->timeout_s;
        if (c->deadline) {
            double left = c->deadline - cc_clock_mono();
            if (left <= 0)
                return failed(c, CC_CALL_TIMEOUT, CC_ERR_TIMEOUT,
                              "no complete answer within %.3g s", c->req->deadline_s);
            if (left < wait)
                wait = left;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int ms = (int)(wait * 1000) + 1;
        int n = poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return failed(c, CC_CALL_CLOSED, CC_ERR_UNAVAILABLE, "poll: %s", strerror(errno));
        if (!c->deadline || c->deadline - cc_clock_mono() > 0.001)
            return failed(c, CC_CALL_TIMEOUT, CC_ERR_TIMEOUT, "no answer for %.3g s while %s",
                          c->timeout_s, doing);
    }
}

/* Opens a non-blocking connection to one address; -1 with errno set. */
static int connect_one(const struct addrinfo *ai, double timeout_s, bool *timed_out)
{
    *timed_out = false;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    double deadline = cc_clock_mono() + timeout_s;
    int n;
    for (;;) {
        double left = deadline - cc_clock_mono();
        n = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
        return fd;
    if (n == 0) {
        *timed_out = true;
        soerr = ETIMEDOUT;
    } else if (n < 0) {
        soerr = errno;
    }
    close(fd);
    errno = soerr ? soerr : ECONNREFUSED;
    return -1;
}

/* Tries every address of host:port in turn. -1 with *failure and errno. */
static int open_connection(const char *host, int port, double timeout_s,
                           cc_http_call_failure *failure, char *why, size_t why_size)
{
    /* no AI_ADDRCONFIG: glibc would then refuse 127.0.0.1 on a machine
     * whose only IPv4 address is the loopback */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *list = NULL;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        *failure = CC_CALL_RESOLVE;
        snprintf(why, why_size, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    bool timed_out = false;
    int saved = ECONNREFUSED;
    for (const struct addrinfo *ai = list; ai && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, timeout_s, &timed_out);
        if (fd < 0)
            saved = errno;
    }
    freeaddrinfo(list);
    if (fd < 0) {
        *failure = timed_out ? CC_CALL_TIMEOUT : CC_CALL_CONNECT;
        snprintf(why, why_size, "cannot connect: %s", strerror(saved));
    }
    return fd;
}

bool cc_tcp_can_connect(const char *host, int port, double timeout_s)
{
    cc_http_call_failure failure;
    char why[256];
    int fd = open_connection(host, port, timeout_s, &failure, why, sizeof why);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static bool send_all(call *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(c, POLLOUT, "sending the request"))
                return false;
            continue;
        }
        return failed(c, CC_CALL_CLOSED, CC_ERR_UNAVAILABLE, "sending the request: %s",
                      strerror(errno));
    }
    return true;
}

/* Reads more into c->in (moving unread bytes to the front first). False
 * on a failure; at the end of the stream sets c->eof and returns true. */
static bool fill(call *c)
{
    if (c->start > 0) {
        memmove(c->in, c->in + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof c->in)
        return true; /* full: the caller consumes first */
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->end, sizeof c->in - c->end, 0);
        if (n > 0) {
            c->end += (size_t)n;
            return true;
        }
        if (n == 0) {
            c->eof = true;
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_for(c, POLLIN, "waiting for the answer"))
                return false;
            continue;
        }
        if (errno == ECONNRESET)
            return failed(c, CC_CALL_CLOSED, CC_ERR_UNAVAILABLE,
                          "the node reset the connection before a complete answer");
        return failed(c, CC_CALL_CLOSED, CC_ERR_UNAVAILABLE, "receiving: %s", strerror(errno));
    }
}

static bool closed_early(call *c)
{
    return failed(c, CC_CALL_CLOSED, CC_ERR_UNAVAILABLE,
                  "the connection closed before a complete answer");
}

/* Hands body bytes to the sink, or keeps them. */
static bool deliver(call *c, const char *data, size_t len)
{
    if (len == 0)
        return true;
    c->body_len += len;
    if (c->to_sink) {
        if (c->req->sink(c->req->sink_ctx, data, len, c->err))
            return true;
        c->answer->failure = CC_CALL_SINK;
        return false;
    }
    if (c->body_len > c->max_body)
        return failed(c, CC_CALL_TOO_LARGE, CC_ERR_TOO_LARGE, "answer larger than %zu bytes",
                      c->max_body);
    cc_buf_append(&c->answer->body, data, len);
    return true;
}

/* One line (without its "\r\n" or "\n") of at most max bytes, copied out. */
static bool read_line(call *c, char *out, size_t max)
{
    for (;;) {
        char *nl = memchr(c->in + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t len = (size_t)(nl - (c->in + c->start));
            size_t keep = len && nl[-1] == '\r' ? len - 1 : len;
            if (keep >= max)
                return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "answer line too long");
            memcpy(out, c->in + c->start, keep);
            out[keep] = '\0';
            c->start += len + 1;
            return true;
        }
        if (c->end - c->start >= max)
            return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "answer line too long");
        if (c->eof)
            return closed_early(c);
        if (!fill(c))
            return false;
    }
}

/* Exactly n bytes of body. */
static bool read_exact(call *c, uint64_t n)
{
    while (n > 0) {
        if (c->start == c->end) {
            if (c->eof)
                return closed_early(c);
            if (!fill(c))
                return false;
            continue;
        }
        size_t have = c->end - c->start;
        size_t take = (uint64_t)have < n ? have : (size_t)n;
        if (!deliver(c, c->in + c->start, take))
            return false;
        c->start += take;
        n -= take;
    }
    return true;
}

static bool read_until_close(call *c)
{
    for (;;) {
        if (!deliver(c, c->in + c->start, c->end - c->start))
            return false;
        c->start = c->end = 0;
        if (c->eof)
            return true;
        if (!fill(c))
            return false;
    }
}

static bool parse_hex_size(const char *line, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = line;
    int digits = 0;
    for (; *p; p++, digits++) {
        int d = (*p >= '0' && *p <= '9')   ? *p - '0'
                : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                : (*p >= 'A' && *p <= 'F') ? *p - 'A' + 10
                                           : -1;
        if (d < 0)
            break;
        if (digits >= 15)
            return false;
        v = v * 16 + (uint64_t)d;
    }
    if (digits == 0 || (*p && *p != ';' && *p != ' ' && *p != '\t'))
        return false;
    *out = v;
    return true;
}

static bool read_chunked(call *c)
{
    char line[CALL_MAX_LINE];
    for (;;) {
        uint64_t size;
        if (!read_line(c, line, sizeof line))
            return false;
        if (!parse_hex_size(line, &size))
            return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "bad chunk size line");
        if (size == 0)
            break;
        if (!read_exact(c, size) || !read_line(c, line, sizeof line))
            return false;
        if (line[0])
            return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "chunk not followed by CRLF");
    }
    do { /* trailers, up to the empty line */
        if (!read_line(c, line, sizeof line))
            return false;
    } while (line[0]);
    return true;
}

/* Value of header `name` in a "Name: value" line, or NULL. */
static const char *header_value(const char *line, const char *name)
{
    size_t len = strlen(name);
    if (strncasecmp(line, name, len) != 0 || line[len] != ':')
        return NULL;
    const char *v = line + len + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    return v;
}

/* Fails as soon as the answer's first bytes cannot begin "HTTP/1.": a
 * server of another protocol that greets first and then waits (a cheese
 * tracker says "Connection Successful") is told apart at once, not after
 * the timeout. */
static bool answer_starts_as_http(call *c)
{
    static const char start[] = "HTTP/1.";
    for (;;) {
        size_t have = c->end - c->start;
        size_t n = have < sizeof start - 1 ? have : sizeof start - 1;
        if (memcmp(c->in + c->start, start, n) != 0) {
            char seen[64];
            size_t shown = have < sizeof seen - 1 ? have : sizeof seen - 1;
            memcpy(seen, c->in + c->start, shown);
            seen[shown] = '\0';
            seen[strcspn(seen, "\r\n")] = '\0';
            return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "not an HTTP answer: %s", seen);
        }
        if (n == sizeof start - 1)
            return true;
        if (c->eof)
            return closed_early(c);
        if (!fill(c))
            return false;
    }
}

static bool read_answer(call *c)
{
    char line[CALL_MAX_HEADERS];
    size_t header_bytes = 0;
    if (!answer_starts_as_http(c) || !read_line(c, line, sizeof line))
        return false;
    int status = 0;
    char version[16];
    if (sscanf(line, "%15s %3d", version, &status) != 2 || strncmp(version, "HTTP/1.", 7) != 0 ||
        status < 100 || status > 999)
        return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "not an HTTP answer: %.60s", line);
    header_bytes += strlen(line);
    bool chunked = false, have_length = false;
    uint64_t length = 0;
    for (;;) {
        if (header_bytes + 2 >= sizeof line)
            return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "answer headers over 16 KiB");
        if (!read_line(c, line, sizeof line - header_bytes))
            return false;
        if (!line[0])
            break;
        header_bytes += strlen(line) + 2;
        const char *v;
        if ((v = header_value(line, "Content-Length"))) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(v, &end, 10);
            if (errno || end == v || (*end && *end != ' ' && *end != '\t') || *v == '-' ||
                (have_length && n != length))
                return failed(c, CC_CALL_GARBAGE, CC_ERR_INTERNAL, "bad Content-Length");
            have_length = true;
            length = n;
        } else if ((v = header_value(line, "Transfer-Encoding"))) {
            chunked = strcasestr(v, "chunked") != NULL;
        }
    }
    c->answer->status = status;
    c->to_sink = c->req->sink && status >= 200 && status < 300;
    if (!c->to_sink && have_length && !chunked && length > c->max_body)
        return failed(c, CC_CALL_TOO_LARGE, CC_ERR_TOO_LARGE, "answer of %llu bytes, over %zu",
                      (unsigned long long)length, c->max_body);
    bool no_body = status == 204 || status == 304 || status < 200 ||
                   strcmp(c->req->method, "HEAD") == 0;
    bool ok = no_body    ? true
              : chunked  ? read_chunked(c)
              : have_length ? read_exact(c, length)
                            : read_until_close(c);
    return ok;
}

bool cc_http_call(const cc_http_call_request *req, cc_http_call_answer *answer, cc_err *err)
{
    answer->status = 0;
    answer->failure = CC_CALL_OK;
    cc_buf_reset(&answer->body);
    cc_buf_append(&answer->body, "", 0);
    call *c = cc_calloc(1, sizeof *c);
    c->req = req;
    c->answer = answer;
    c->err = err;
    c->timeout_s = req->timeout_s > 0 ? req->timeout_s : CALL_DEFAULT_TIMEOUT_S;
    c->deadline = req->deadline_s > 0 ? cc_clock_mono() + req->deadline_s : 0;
    c->max_body = req->max_body_bytes ? req->max_body_bytes : CALL_DEFAULT_MAX_BODY;

    char why[300];
    cc_http_call_failure failure = CC_CALL_OK;
    double connect_s = c->timeout_s;
    if (c->deadline && req->deadline_s < connect_s)
        connect_s = req->deadline_s;
    c->fd = open_connection(req->host, req->port, connect_s, &failure, why, sizeof why);
    if (c->fd < 0) {
        failed(c, failure, failure == CC_CALL_TIMEOUT ? CC_ERR_TIMEOUT : CC_ERR_UNAVAILABLE,
               "%s", why);
        free(c);
        return false;
    }

    cc_buf head = CC_BUF_INIT;
    bool v6 = strchr(req->host, ':') != NULL;
    cc_buf_printf(&head, "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n", req->method, req->path,
                  v6 ? "[" : "", req->host, v6 ? "]" : "", req->port);
    cc_buf_puts(&head, "User-Agent: cheesechain\r\nAccept: application/json\r\n"
                       "Connection: close\r\n");
    if (req->bearer_token)
        cc_buf_printf(&head, "Authorization: Bearer %s\r\n", req->bearer_token);
    if (req->body && req->body_len)
        cc_buf_puts(&head, "Content-Type: application/json\r\n");
    cc_buf_printf(&head, "Content-Length: %zu\r\n\r\n", req->body ? req->body_len : 0);
    if (req->body)
        cc_buf_append(&head, req->body, req->body_len);
    bool ok = send_all(c, head.data, head.len) && read_answer(c);
    cc_buf_free(&head);
    close(c->fd);
    free(c);
    return ok;
}

bool cc_parse_host_port(const char *text, char *host, size_t host_size, int *port)
{
    const char *port_text;
    size_t host_len;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return false;
        host_len = (size_t)(close - text - 1);
        text++;
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon) {
            host_len = 0;
            port_text = text;
        } else {
            if (strchr(text, ':') != colon)
                return false; /* bare IPv6 needs brackets */
            host_len = (size_t)(colon - text);
            port_text = colon + 1;
        }
    }
    char *end;
    errno = 0;
    long n = strtol(port_text, &end, 10);
    if (errno || end == port_text || *end || n < 1 || n > 65535 || *port_text == '+' ||
        *port_text == '-' || *port_text == ' ')
        return false;
    if (host_len == 0 && text[0] != '[') {
        if (port_text != text)
            return false; /* ":6000" */
        snprintf(host, host_size, "127.0.0.1");
    } else {
        if (host_len == 0 || host_len >= host_size)
            return false;
        memcpy(host, text, host_len);
        host[host_len] = '\0';
    }
    *port = (int)n;
    return true;
}
