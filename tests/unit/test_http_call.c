/* net/http_call: one blocking request against a canned server thread:
 * the bytes sent (Content-Length always, the bearer token), the answer
 * forms read (Content-Length, chunked, until close), the sink, and every
 * failure kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http_call.h"

typedef struct server {
    int listen_fd;
    int port;
    const char *reply;  /* sent after the request; NULL: say nothing */
    size_t reply_len;
    double hold_s;      /* keep the connection open this long after replying */
    char request[8192]; /* what the client sent */
    size_t request_len;
    pthread_t thread;
} server;

/* Reads the request: headers, then Content-Length bytes of body. */
static void read_request(server *s, int fd)
{
    for (;;) {
        size_t room = sizeof s->request - 1 - s->request_len;
        ssize_t n = recv(fd, s->request + s->request_len, room, 0);
        if (n <= 0)
            return;
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strstr(s->request, "Content-Length: ");
        size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
        if (s->request_len >= (size_t)(end + 4 - s->request) + body)
            return;
    }
}

static void *serve(void *arg)
{
    server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    read_request(s, fd);
    if (s->reply)
        (void)!send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
    if (s->hold_s > 0)
        usleep((useconds_t)(s->hold_s * 1e6));
    close(fd);
    return NULL;
}

static void start_server(server *s, const char *reply, size_t reply_len, double hold_s)
{
    memset(s, 0, sizeof *s);
    s->reply = reply;
    s->reply_len = reply ? (reply_len ? reply_len : strlen(reply)) : 0;
    s->hold_s = hold_s;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    socklen_t len = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void stop_server(server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static bool run(server *s, const char *method, const char *body, const char *token,
                cc_http_call_answer *ans, cc_err *err)
{
    cc_http_call_request req = {.host = "127.0.0.1", .port = s->port, .method = method,
                                .path = "/api/x?y=1", .body = body,
                                .body_len = body ? strlen(body) : 0, .bearer_token = token,
                                .timeout_s = 5};
    return cc_http_call(&req, ans, err);
}

static void test_get_sends_content_length_zero(void **state)
{
    (void)state;
    server s;
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 0);
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    assert_true(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.status, 200);
    assert_string_equal(ans.body.data, "{}");
    assert_int_equal(ans.failure, CC_CALL_OK);
    assert_non_null(strstr(s.request, "GET /api/x?y=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nHost: 127.0.0.1:"));
    assert_non_null(strstr(s.request, "\r\nContent-Length: 0\r\n"));
    assert_null(strstr(s.request, "Authorization"));
    cc_buf_free(&ans.body);
}

static void test_empty_post_with_token(void **state)
{
    (void)state;
    server s;
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"mining\": 2}", 0, 0);
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    assert_true(run(&s, "POST", NULL, "abc123", &ans, &err));
    stop_server(&s);
    assert_non_null(strstr(s.request, "POST /api/x?y=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nContent-Length: 0\r\n"));
    assert_non_null(strstr(s.request, "\r\nAuthorization: Bearer abc123\r\n"));
    assert_string_equal(ans.body.data, "{\"mining\": 2}");
    cc_buf_free(&ans.body);
}

static void test_post_body(void **state)
{
    (void)state;
    server s;
    start_server(&s, "HTTP/1.0 404 Not Found\r\ncontent-length: 5\r\n\r\nnope!", 0, 0);
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    const char *body = "{\"to\": \"k\", \"sum\": 2}";
    assert_true(run(&s, "POST", body, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.status, 404);
    assert_string_equal(ans.body.data, "nope!");
    assert_non_null(strstr(s.request, "\r\nContent-Length: 21\r\n"));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"to\": \"k\", \"sum\": 2}"));
    cc_buf_free(&ans.body);
}

static void test_chunked(void **state)
{
    (void)state;
    server s;
    start_server(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "4\r\n{\"a\"\r\n5;ext=1\r\n: 12}\r\n0\r\nX-Trailer: 1\r\n\r\n", 0, 0);
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    assert_true(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_string_equal(ans.body.data, "{\"a\": 12}");
    cc_buf_free(&ans.body);
}

static void test_until_close(void **state)
{
    (void)state;
    server s;
    start_server(&s, "HTTP/1.1 200 OK\nContent-Type: application/json\n\n[1, 2, 3]", 0, 0);
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    assert_true(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_string_equal(ans.body.data, "[1, 2, 3]");
    cc_buf_free(&ans.body);
}

static bool collect(void *ctx, const char *data, size_t len, cc_err *err)
{
    (void)err;
    cc_buf_append(ctx, data, len);
    return true;
}

static bool refuse(void *ctx, const char *data, size_t len, cc_err *err)
{
    (void)ctx;
    (void)data;
    (void)len;
    return cc_fail(err, 507, "disk full");
}

static void test_sink_takes_success_only(void **state)
{
    (void)state;
    /* a body larger than the in-memory limit streams to the sink */
    static char reply[300000];
    size_t head = (size_t)sprintf(reply, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 250000);
    memset(reply + head, 'x', 250000);
    server s;
    start_server(&s, reply, head + 250000, 0);
    cc_buf got = CC_BUF_INIT;
    cc_http_call_request req = {.host = "127.0.0.1", .port = s.port, .method = "GET",
                                .path = "/getblocks", .timeout_s = 5, .max_body_bytes = 1000,
                                .sink = collect, .sink_ctx = &got};
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    assert_true(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(got.len, 250000);
    assert_int_equal(ans.body.len, 0);
    cc_buf_free(&ans.body);

    /* an error answer is kept in memory for its message */
    start_server(&s, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!", 0, 0);
    req.port = s.port;
    cc_buf_reset(&got);
    assert_true(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.status, 404);
    assert_string_equal(ans.body.data, "no!");
    assert_int_equal(got.len, 0);
    cc_buf_free(&got);

    /* a sink that refuses ends the request with its own error */
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", 0, 0);
    req.port = s.port;
    req.sink = refuse;
    assert_false(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_SINK);
    assert_int_equal(err.code, 507);
    assert_string_equal(err.msg, "disk full");
    cc_buf_free(&ans.body);
}

static void test_failures(void **state)
{
    (void)state;
    cc_http_call_answer ans = {0};
    cc_err err = {0};
    server s;

    /* too large for memory */
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, 0);
    cc_http_call_request req = {.host = "127.0.0.1", .port = s.port, .method = "GET",
                                .path = "/", .timeout_s = 5, .max_body_bytes = 10};
    assert_false(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_TOO_LARGE);

    /* closed before the promised body */
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, 0);
    assert_false(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_CLOSED);

    /* closed without a word */
    start_server(&s, NULL, 0, 0);
    assert_false(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_CLOSED);

    /* not HTTP */
    start_server(&s, "SSH-2.0-OpenSSH\r\n\r\n", 0, 0);
    assert_false(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_GARBAGE);

    /* another protocol's greeting, no line end, the connection held open:
     * refused on its first bytes (waiting would end in CC_CALL_CLOSED when
     * the server gives up after a second, or in a timeout) */
    start_server(&s, "Connection Successful", 0, 1.0);
    req.port = s.port;
    req.timeout_s = 60;
    req.max_body_bytes = 0;
    assert_false(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_GARBAGE);
    assert_non_null(strstr(err.msg, "not an HTTP answer: Connection Successful"));

    /* a prefix of "HTTP/1." is waited on, not refused */
    start_server(&s, "HTT", 0, 0);
    assert_false(run(&s, "GET", NULL, NULL, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_CLOSED);

    /* silent */
    start_server(&s, NULL, 0, 1.0);
    req.port = s.port;
    req.timeout_s = 0.2;
    req.max_body_bytes = 0;
    assert_false(cc_http_call(&req, &ans, &err));
    stop_server(&s);
    assert_int_equal(ans.failure, CC_CALL_TIMEOUT);
    assert_int_equal(err.code, CC_ERR_TIMEOUT);

    /* nobody listening: the port of a closed server */
    start_server(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0);
    int port = s.port;
    assert_true(cc_tcp_can_connect("127.0.0.1", port, 1));
    stop_server(&s);
    req.port = port;
    assert_false(cc_http_call(&req, &ans, &err));
    assert_int_equal(ans.failure, CC_CALL_CONNECT);
    assert_int_equal(err.code, CC_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "refused"));
    assert_false(cc_tcp_can_connect("127.0.0.1", port, 1));
    cc_buf_free(&ans.body);
}

static void test_parse_host_port(void **state)
{
    (void)state;
    char host[64];
    int port = 0;
    assert_true(cc_parse_host_port("127.0.0.1:6000", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6000);
    assert_true(cc_parse_host_port("6001", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6001);
    assert_true(cc_parse_host_port("localhost:1", host, sizeof host, &port));
    assert_string_equal(host, "localhost");
    assert_true(cc_parse_host_port("[::1]:65535", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    const char *bad[] = {"", ":6000", "host:", "host:0", "host:65536", "host:-1", "host:+1",
                         "host:6000x", "::1:6000", "[::1]6000", "[]:6000", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(cc_parse_host_port(bad[i], host, sizeof host, &port));
    assert_false(cc_parse_host_port("averyveryverylonghostname:1", host, 8, &port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_sends_content_length_zero),
        cmocka_unit_test(test_empty_post_with_token),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_sink_takes_success_only),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_parse_host_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
