#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/http_request.h"

#define HDR_LIMIT 1024
#define BODY_LIMIT 256

static const cc_http_limits limits = {HDR_LIMIT, BODY_LIMIT};

/* Piece sizes every case is fed in; 0 means all at once. Splitting must
 * never change the outcome. */
static const size_t steps[] = {0, 1, 2, 3, 5, 7, 64};
#define NSTEPS (sizeof steps / sizeof steps[0])

typedef struct outcome {
    cc_http_parse_status status;
    size_t consumed;
    cc_err err;
} outcome;

/* Feeds text in pieces of `step` bytes until DONE or ERROR; with `close`,
 * the client then closes (cc_http_parser_finish). */
static outcome run(cc_http_parser *p, const char *text, size_t len, size_t step, bool close)
{
    outcome o = {CC_HTTP_NEED_MORE, 0, {0}};
    size_t piece = step ? step : len;
    while (o.consumed < len) {
        size_t n = len - o.consumed < piece ? len - o.consumed : piece;
        size_t used = 0;
        o.status = cc_http_parser_feed(p, text + o.consumed, n, &used, &o.err);
        o.consumed += used;
        if (o.status != CC_HTTP_NEED_MORE)
            return o;
        assert_int_equal(used, n);
    }
    if (close)
        o.status = cc_http_parser_finish(p, &o.err);
    return o;
}

typedef struct expect {
    const char *method;
    const char *target;
    const char *path;
    const char *query;
    const char *host; /* NULL: no Host header */
    int64_t content_length;
    bool keep_alive;
    bool until_close;
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    size_t consumed; /* 0: the whole input */
} expect;

static void check_request(const cc_http_request *r, const expect *e)
{
    assert_string_equal(r->method, e->method);
    assert_string_equal(r->target, e->target);
    assert_string_equal(r->path, e->path);
    assert_string_equal(r->query, e->query);
    if (e->host)
        assert_string_equal(r->host, e->host);
    else
        assert_null(r->host);
    assert_int_equal(r->content_length, e->content_length);
    assert_int_equal(r->keep_alive, e->keep_alive);
    assert_int_equal(r->body_until_close, e->until_close);
    size_t body_len = e->body_len ? e->body_len : strlen(e->body);
    assert_int_equal(r->body.len, body_len);
    if (body_len)
        assert_memory_equal(cc_buf_str(&r->body), e->body, body_len);
}

static void expect_request_len(const char *text, size_t len, bool close, const expect *e)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        cc_http_parser *p = cc_http_parser_new(&limits);
        outcome o = run(p, text, len, steps[i], close);
        if (o.status != CC_HTTP_DONE)
            fail_msg("step %zu: status %d, error %d %s", steps[i], o.status, o.err.code,
                     o.err.msg);
        assert_int_equal(o.consumed, e->consumed ? e->consumed : len);
        assert_true(cc_http_parser_started(p));
        check_request(cc_http_parser_request(p), e);
        cc_http_parser_free(p);
    }
}

static void expect_request(const char *text, bool close, const expect *e)
{
    expect_request_len(text, strlen(text), close, e);
}

/* After the error, the parser keeps reporting it, and a reset parser reads
 * a good request normally: nothing else breaks. */
static void check_recovery(cc_http_parser *p, int code)
{
    cc_err again = {0};
    size_t used = 99;
    assert_int_equal(cc_http_parser_feed(p, "x", 1, &used, &again), CC_HTTP_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(again.code, code);
    assert_int_equal(cc_http_parser_finish(p, &again), CC_HTTP_ERROR);
    cc_http_parser_reset(p);
    assert_false(cc_http_parser_started(p));
    static const char good[] = "GET /ok HTTP/1.1\r\n\r\n";
    outcome o = run(p, good, strlen(good), 0, false);
    assert_int_equal(o.status, CC_HTTP_DONE);
    assert_string_equal(cc_http_parser_request(p)->path, "/ok");
}

static void expect_error_with(const cc_http_limits *lim, const char *text, size_t len,
                              bool close, int code, const char *msg_part)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        cc_http_parser *p = cc_http_parser_new(lim);
        outcome o = run(p, text, len, steps[i], close);
        if (o.status != CC_HTTP_ERROR)
            fail_msg("step %zu: status %d instead of error %d for [%s]", steps[i], o.status,
                     code, text);
        assert_int_equal(o.err.code, code);
        if (!strstr(o.err.msg, msg_part))
            fail_msg("message '%s' lacks '%s'", o.err.msg, msg_part);
        check_recovery(p, code);
        cc_http_parser_free(p);
    }
}

static void expect_error(const char *text, int code, const char *msg_part)
{
    expect_error_with(&limits, text, strlen(text), true, code, msg_part);
}

/* ---- request line and headers ---- */

static void test_simple_get(void **state)
{
    (void)state;
    expect e = {"GET", "/getblocks?id=00ab&n=2", "/getblocks", "id=00ab&n=2", "node1:6000",
                -1, true, false, "", 0, 0};
    expect_request("GET /getblocks?id=00ab&n=2 HTTP/1.1\r\nHost: node1:6000\r\n"
                   "Accept: */*\r\n\r\n",
                   false, &e);
}

static void test_bare_lf_and_odd_headers(void **state)
{
    (void)state;
    expect e = {"POST", "/tx", "/tx", "", "h", 4, true, false, "{}\r\n", 0, 0};
    expect_request("POST /tx HTTP/1.1\nhOsT:h\nUser-agent: Python-urllib/3.11\n"
                   "Content-Type: json/application\ncontent-LENGTH:   4  \n\n{}\r\n",
                   false, &e);
    expect none = {"POST", "/tx", "/tx", "", NULL, 2, true, false, "{}", 0, 0};
    expect_request("POST /tx HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", false, &none);
}

static void test_target_split(void **state)
{
    (void)state;
    expect q = {"GET", "/a?b?c", "/a", "b?c", NULL, -1, true, false, "", 0, 0};
    expect_request("GET /a?b?c HTTP/1.1\r\n\r\n", false, &q);
    expect empty = {"GET", "/x?", "/x", "", NULL, -1, true, false, "", 0, 0};
    expect_request("GET /x? HTTP/1.1\r\n\r\n", false, &empty);
    expect pct = {"GET", "/a%20b", "/a%20b", "", NULL, -1, true, false, "", 0, 0};
    expect_request("GET /a%20b HTTP/1.1\r\n\r\n", false, &pct);
}

static void test_methods_without_body(void **state)
{
    (void)state;
    static const char *const methods[] = {"GET", "HEAD", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < 4; i++) {
        char text[128];
        snprintf(text, sizeof text, "%s /r HTTP/1.1\r\n\r\nNEXT", methods[i]);
        expect e = {methods[i], "/r", "/r", "", NULL, -1, true, false, "", 0,
                    strlen(text) - 4};
        expect_request(text, false, &e);
    }
    /* 15 letters is the longest method that fits. */
    expect longest = {"ABCDEFGHIJKLMNO", "/", "/", "", NULL, -1, true, false, "", 0, 0};
    expect_request("ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n", false, &longest);
}

static void test_keep_alive(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n", false},
        {"GET / HTTP/1.9\r\n\r\n", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect e = {"GET", "/", "/", "", NULL, -1, cases[i].keep_alive, false, "", 0, 0};
        expect_request(cases[i].text, false, &e);
    }
}

static void test_leading_blank_lines(void **state)
{
    (void)state;
    expect e = {"GET", "/", "/", "", NULL, -1, true, false, "", 0, 0};
    expect_request("\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", false, &e);

    cc_http_parser *p = cc_http_parser_new(&limits);
    cc_err err;
    size_t used;
    assert_int_equal(cc_http_parser_feed(p, "\r\n\r\n", 4, &used, &err), CC_HTTP_NEED_MORE);
    assert_false(cc_http_parser_started(p));
    assert_int_equal(cc_http_parser_finish(p, &err), CC_HTTP_NEED_MORE);
    assert_int_equal(cc_http_parser_feed(p, "G", 1, &used, &err), CC_HTTP_NEED_MORE);
    assert_true(cc_http_parser_started(p));
    cc_http_parser_free(p);
}

static void test_bad_request_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"get / HTTP/1.1\r\n\r\n", "method"},
        {"G3T / HTTP/1.1\r\n\r\n", "method"},
        {"ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n", "method"},
        {" / HTTP/1.1\r\n\r\n", "method"},
        {"GET  / HTTP/1.1\r\n\r\n", "target"},
        {"GET x HTTP/1.1\r\n\r\n", "target"},
        {"GET http://h/ HTTP/1.1\r\n\r\n", "target"},
        {"GET * HTTP/1.1\r\n\r\n", "target"},
        {"GET /\r\n\r\n", "malformed request line"},
        {"GET\r\n\r\n", "malformed request line"},
        {"GET / HTTP/2.0\r\n\r\n", "HTTP version"},
        {"GET / HTTP/1.10\r\n\r\n", "HTTP version"},
        {"GET / http/1.1\r\n\r\n", "HTTP version"},
        {"GET / HTTP/1.1 \r\n\r\n", "HTTP version"},
        {"GET / HTTP/1.1 extra\r\n\r\n", "HTTP version"},
        {"GET / HTTP/0.9\r\n\r\n", "HTTP version"},
        {"GET /a\tb HTTP/1.1\r\n\r\n", "target"},
        {"GET /a\rb HTTP/1.1\r\n\r\n", "control character"},
        {"GET / HTTP/1.1\r\r\n\r\n", "control character"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].text, CC_ERR_BAD_REQUEST, cases[i].msg);
    /* A NUL inside the target is a control character, not an end. */
    static const char nul[] = "GET /a\0b HTTP/1.1\r\n\r\n";
    expect_error_with(&limits, nul, sizeof nul - 1, true, CC_ERR_BAD_REQUEST,
                      "control character");
}

static void test_bad_headers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "without ':'"},
        {"GET / HTTP/1.1\r\n: v\r\n\r\n", "empty header name"},
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "header name"},
        {"GET / HTTP/1.1\r\nX(y): 1\r\n\r\n", "header name"},
        {"GET / HTTP/1.1\r\nX: 1\r\n  folded\r\n\r\n", "folded"},
        {"GET / HTTP/1.1\r\n\tX: 1\r\n\r\n", "folded"},
        {"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "control character"},
        {"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "control character"},
        {"GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n", "repeated Host"},
        {"POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", "digits only"},
        {"POST / HTTP/1.1\r\nContent-Length:  \r\n\r\n", "empty Content-Length"},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
         "conflicting"},
        {"POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
         "both"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ncontent-length: 2\r\n\r\n",
         "both"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         "repeated Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].text, CC_ERR_BAD_REQUEST, cases[i].msg);
}

static void test_duplicate_equal_content_length(void **state)
{
    (void)state;
    expect e = {"POST", "/", "/", "", NULL, 3, true, false, "abc", 0, 0};
    expect_request("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 003\r\n\r\nabc",
                   false, &e);
}

/* ---- limits ---- */

/* "GET / HTTP/1.1\r\nX: aaa...\r\n\r\n" exactly `total` bytes long. */
static char *head_of_size(size_t total)
{
    static const char start[] = "GET / HTTP/1.1\r\nX: ";
    static const char end[] = "\r\n\r\n";
    size_t fixed = strlen(start) + strlen(end);
    assert_true(total > fixed);
    char *text = test_calloc(1, total + 1);
    memcpy(text, start, strlen(start));
    memset(text + strlen(start), 'a', total - fixed);
    memcpy(text + total - strlen(end), end, strlen(end));
    return text;
}

static void test_header_limit(void **state)
{
    (void)state;
    char *fits = head_of_size(HDR_LIMIT);
    cc_http_parser *p = cc_http_parser_new(&limits);
    assert_int_equal(run(p, fits, HDR_LIMIT, 1, false).status, CC_HTTP_DONE);
    cc_http_parser_free(p);
    test_free(fits);

    char *over = head_of_size(HDR_LIMIT + 1);
    expect_error_with(&limits, over, HDR_LIMIT + 1, false, CC_ERR_HEADERS_TOO_LARGE,
                      "exceed");
    test_free(over);
}

/* A header that never ends is cut off at the first byte past the limit,
 * without waiting for a line end. */
static void test_endless_header_cut_off(void **state)
{
    (void)state;
    static const char start[] = "GET / HTTP/1.1\r\nX: ";
    char *text = test_calloc(1, HDR_LIMIT + 1);
    memcpy(text, start, strlen(start));
    memset(text + strlen(start), 'a', HDR_LIMIT - strlen(start));
    for (size_t i = 0; i < NSTEPS; i++) {
        cc_http_parser *p = cc_http_parser_new(&limits);
        outcome o = run(p, text, HDR_LIMIT, steps[i], false);
        assert_int_equal(o.status, CC_HTTP_NEED_MORE);
        cc_err err;
        size_t used;
        assert_int_equal(cc_http_parser_feed(p, "a", 1, &used, &err), CC_HTTP_ERROR);
        assert_int_equal(err.code, CC_ERR_HEADERS_TOO_LARGE);
        cc_http_parser_free(p);
    }
    test_free(text);
}

static void test_blank_lines_count_toward_limit(void **state)
{
    (void)state;
    char text[HDR_LIMIT + 2];
    for (size_t i = 0; i + 1 < sizeof text; i += 2)
        memcpy(text + i, "\r\n", 2);
    expect_error_with(&limits, text, sizeof text, false, CC_ERR_HEADERS_TOO_LARGE, "exceed");
}

static void test_content_length_limit(void **state)
{
    (void)state;
    /* Refused on the header alone, before any body byte arrives. */
    expect_error_with(&limits, "POST / HTTP/1.1\r\nContent-Length: 257\r\n", 38, false,
                      CC_ERR_TOO_LARGE, "limit");
    expect_error("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
                 CC_ERR_TOO_LARGE, "limit");
    expect_error("POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
                 CC_ERR_TOO_LARGE, "limit");

    char text[64 + BODY_LIMIT];
    int n = snprintf(text, sizeof text, "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
                     BODY_LIMIT);
    memset(text + n, 'b', BODY_LIMIT);
    cc_http_parser *p = cc_http_parser_new(&limits);
    outcome o = run(p, text, (size_t)n + BODY_LIMIT, 1, false);
    assert_int_equal(o.status, CC_HTTP_DONE);
    assert_int_equal(cc_http_parser_request(p)->body.len, BODY_LIMIT);
    cc_http_parser_free(p);
}

static void test_until_close_limit(void **state)
{
    (void)state;
    static const char head[] = "POST / HTTP/1.1\r\n\r\n";
    char text[sizeof head + BODY_LIMIT];
    memcpy(text, head, sizeof head - 1);
    memset(text + sizeof head - 1, '7', BODY_LIMIT + 1);

    cc_http_parser *p = cc_http_parser_new(&limits);
    outcome o = run(p, text, sizeof head - 1 + BODY_LIMIT, 3, true);
    assert_int_equal(o.status, CC_HTTP_DONE);
    assert_int_equal(cc_http_parser_request(p)->body.len, BODY_LIMIT);
    cc_http_parser_free(p);

    expect_error_with(&limits, text, sizeof text, false, CC_ERR_TOO_LARGE, "limit");
}

/* ---- bodies ---- */

static void test_content_length_body(void **state)
{
    (void)state;
    static const char text[] = "PUT /b HTTP/1.1\r\nContent-Length: 5\r\n\r\na\0b\r\nGET";
    expect e = {"PUT", "/b", "/b", "", NULL, 5, true, false, "a\0b\r\n", 5,
                sizeof text - 1 - 3};
    expect_request_len(text, sizeof text - 1, false, &e);

    expect zero = {"POST", "/", "/", "", NULL, 0, true, false, "", 0, 0};
    expect_request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", false, &zero);

    expect get = {"GET", "/", "/", "", NULL, 2, true, false, "{}", 0, 0};
    expect_request("GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", false, &get);
}

/* What a Python reference node sends: no Content-Length, body ends when it
 * closes its side. */
static void test_python_post_until_close(void **state)
{
    (void)state;
    static const char text[] = "POST /newblock HTTP/1.1\r\nHost: 127.0.0.1:6001\r\n"
                               "User-agent: cheese-ref\r\nContent-Type: json/application\r\n"
                               "\r\n\"not a container\"";
    expect e = {"POST", "/newblock", "/newblock", "", "127.0.0.1:6001", -1, false, true,
                "\"not a container\"", 0, 0};
    expect_request(text, true, &e);

    expect empty = {"PUT", "/", "/", "", NULL, -1, false, true, "", 0, 0};
    expect_request("PUT / HTTP/1.1\r\n\r\n", true, &empty);

    /* An unterminated object is also completed by the close. */
    expect open = {"POST", "/", "/", "", NULL, -1, false, true, "{\"a\": [1, ", 0, 0};
    expect_request("POST / HTTP/1.0\r\n\r\n{\"a\": [1, ", true, &open);

    cc_http_parser *p = cc_http_parser_new(&limits);
    assert_int_equal(run(p, text, sizeof text - 1, 4, false).status, CC_HTTP_NEED_MORE);
    cc_http_parser_free(p);
}

/* A client that neither closes nor sends a length: the body ends with its
 * JSON value, and anything after it is left for the caller. */
static void test_body_ends_at_complete_json(void **state)
{
    (void)state;
    static const char head[] = "POST /tx HTTP/1.1\r\nConnection: keep-alive\r\n\r\n";
    static const struct {
        const char *body;
        const char *rest;
    } cases[] = {
        {"{\"a\": 1}", ""},
        {"{\"a\": 1}", "\r\nGET / HTTP/1.1\r\n\r\n"},
        {" \r\n\t[1, [2, {\"x\": []}], 3]", "]]]"},
        {"{\"s\": \"}]{[\"}", "tail"},
        {"{\"s\": \"quote \\\" } still string\"}", "}"},
        {"{\"s\": \"backslash \\\\\"}", "\"}"},
        {"[]", "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s%s", head, cases[i].body, cases[i].rest);
        expect e = {"POST", "/tx", "/tx", "", NULL, -1, false, true, cases[i].body, 0,
                    strlen(text) - strlen(cases[i].rest)};
        expect_request(text, false, &e);
    }
}

static void test_chunked(void **state)
{
    (void)state;
    expect e = {"POST", "/c", "/c", "", NULL, -1, true, false, "hello, chunked world", 0, 0};
    expect_request("POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                   "5\r\nhello\r\n"
                   "2;name=value\r\n, \r\n"
                   "0D ; ext\r\nchunked world\r\n"
                   "0\r\nX-Trailer: 1\r\nChecksum:  abc\r\n\r\n",
                   false, &e);
    expect lf = {"POST", "/c", "/c", "", NULL, -1, true, false, "{\"a\":1}", 0, 0};
    expect_request("POST /c HTTP/1.1\nTransfer-Encoding: chunked\n\n7\n{\"a\":1}\n0\n\n",
                   false, &lf);
    expect none = {"POST", "/c", "/c", "", NULL, -1, true, false, "", 0, 0};
    static const char text[] = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "000\r\n\r\nGET";
    none.consumed = sizeof text - 1 - 3;
    expect_request(text, false, &none);
}

static void test_chunked_errors(void **state)
{
    (void)state;
    static const char head[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    static const struct {
        const char *chunks;
        int code;
        const char *msg;
    } cases[] = {
        {"zz\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {"\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {";ext\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {"-1\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {"5 5\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {"0x5\r\n", CC_ERR_BAD_REQUEST, "malformed chunk size"},
        {"2\r\nabc\r\n", CC_ERR_BAD_REQUEST, "line end"},
        {"2\r\nab\r\r\n", CC_ERR_BAD_REQUEST, "line end"},
        {"2;a\x01\r\n", CC_ERR_BAD_REQUEST, "control character"},
        {"0\r\nbad trailer\r\n\r\n", CC_ERR_BAD_REQUEST, "trailer"},
        {"101\r\n", CC_ERR_TOO_LARGE, "limit"},
        {"80\r\n", CC_ERR_BAD_REQUEST, "cut short"},
        {"fffffffffffffffffffffff\r\n", CC_ERR_TOO_LARGE, "limit"},
        /* Wraps to 0 in 64 bits: must not pass for the last chunk. */
        {"10000000000000000\r\n\r\n", CC_ERR_TOO_LARGE, "limit"},
        {"10000000000000001\r\nx\r\n0\r\n\r\n", CC_ERR_TOO_LARGE, "limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s", head, cases[i].chunks);
        expect_error(text, cases[i].code, cases[i].msg);
    }
}

/* The limit applies to the sum of the chunks, checked at each size line. */
static void test_chunked_total_limit(void **state)
{
    (void)state;
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n");
    memset(text + n, 'x', 0x80);
    n += 0x80;
    n += (size_t)snprintf(text + n, sizeof text - n, "\r\n81\r\n");
    expect_error_with(&limits, text, n, false, CC_ERR_TOO_LARGE, "limit");

    memcpy(text + n - 4, "80\r\n", 4);
    memset(text + n, 'y', 0x80);
    n += 0x80;
    n += (size_t)snprintf(text + n, sizeof text - n, "\r\n0\r\n\r\n");
    cc_http_parser *p = cc_http_parser_new(&limits);
    assert_int_equal(run(p, text, n, 1, false).status, CC_HTTP_DONE);
    assert_int_equal(cc_http_parser_request(p)->body.len, BODY_LIMIT);
    cc_http_parser_free(p);
}

static void test_chunk_line_limits(void **state)
{
    (void)state;
    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    memset(text + n, 'e', 1100);
    expect_error_with(&limits, text, n + 1100, false, CC_ERR_BAD_REQUEST, "chunk size line");

    /* 1 KiB with the line end is the limit: a line of exactly 1,024 bytes
     * passes, one of 1,025 does not, in pieces of any size. */
    for (size_t extra = 0; extra < 2; extra++) {
        n = (size_t)snprintf(text, sizeof text,
                             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        size_t line = n;
        n += (size_t)snprintf(text + n, sizeof text - n, "1;");
        memset(text + n, 'e', 1020 + extra);
        n += 1020 + extra;
        n += (size_t)snprintf(text + n, sizeof text - n, "\r\n");
        assert_int_equal(n - line, 1024 + extra);
        n += (size_t)snprintf(text + n, sizeof text - n, "z\r\n0\r\n\r\n");
        if (extra) {
            expect_error_with(&limits, text, n, false, CC_ERR_BAD_REQUEST,
                              "chunk size line longer than 1024 bytes");
        } else {
            expect e = {"POST", "/", "/", "", NULL, -1, true, false, "z", 0, 0};
            expect_request_len(text, n, false, &e);
        }
    }

    n = (size_t)snprintf(text, sizeof text,
                         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ");
    memset(text + n, 't', HDR_LIMIT);
    expect_error_with(&limits, text, n + HDR_LIMIT, false, CC_ERR_HEADERS_TOO_LARGE,
                      "trailers");
}

/* ---- connection handling ---- */

static void test_pipelining(void **state)
{
    (void)state;
    static const char text[] = "GET /one HTTP/1.1\r\n\r\n"
                               "POST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                               "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "1\r\nz\r\n0\r\n\r\n"
                               "HEAD /four HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                               "POST /five HTTP/1.1\r\n\r\n{\"last\": true}";
    static const char *const paths[] = {"/one", "/two", "/three", "/four", "/five"};
    static const char *const bodies[] = {"", "abc", "z", "", "{\"last\": true}"};
    for (size_t s = 0; s < NSTEPS; s++) {
        cc_http_parser *p = cc_http_parser_new(&limits);
        size_t off = 0;
        for (size_t i = 0; i < 5; i++) {
            outcome o = run(p, text + off, sizeof text - 1 - off, steps[s], i == 4);
            assert_int_equal(o.status, CC_HTTP_DONE);
            const cc_http_request *r = cc_http_parser_request(p);
            assert_string_equal(r->path, paths[i]);
            assert_string_equal(cc_buf_str(&r->body), bodies[i]);
            assert_int_equal(r->keep_alive, i < 4);
            off += o.consumed;
            cc_http_parser_reset(p);
        }
        assert_int_equal(off, sizeof text - 1);
        cc_http_parser_free(p);
    }
}

static void test_finish(void **state)
{
    (void)state;
    static const char *const cut[] = {
        "G",
        "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: x",
        "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab",
        "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n",
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        expect_error(cut[i], CC_ERR_BAD_REQUEST, "request cut short");

    cc_http_parser *p = cc_http_parser_new(&limits);
    cc_err err = {0};
    assert_false(cc_http_parser_started(p));
    assert_int_equal(cc_http_parser_finish(p, &err), CC_HTTP_NEED_MORE);
    assert_int_equal(cc_http_parser_finish(p, NULL), CC_HTTP_NEED_MORE);
    assert_int_equal(err.code, 0);
    cc_http_parser_free(p);
}

static void test_done_is_sticky_until_reset(void **state)
{
    (void)state;
    cc_http_parser *p = cc_http_parser_new(&limits);
    size_t used = 99;
    static const char text[] = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(cc_http_parser_feed(p, text, sizeof text - 1, &used, NULL), CC_HTTP_DONE);
    assert_int_equal(used, sizeof text - 1);
    assert_int_equal(cc_http_parser_feed(p, text, sizeof text - 1, &used, NULL), CC_HTTP_DONE);
    assert_int_equal(used, 0);
    assert_int_equal(cc_http_parser_finish(p, NULL), CC_HTTP_DONE);
    assert_int_equal(cc_http_parser_feed(p, NULL, 0, &used, NULL), CC_HTTP_DONE);
    cc_http_parser_reset(p);
    assert_int_equal(cc_http_parser_feed(p, NULL, 0, &used, NULL), CC_HTTP_NEED_MORE);
    assert_int_equal(cc_http_parser_request(p)->content_length, -1);
    assert_null(cc_http_parser_request(p)->target);
    cc_http_parser_free(p);
    cc_http_parser_free(NULL);
}

/* Authorization and Origin are kept for the API's access rule (node/api.h);
 * repeated, either copy could be the one checked, so they are refused. */
static void test_authorization_and_origin(void **state)
{
    (void)state;
    static const char text[] = "POST /api/mine HTTP/1.1\r\nHost: h\r\n"
                               "authorization:   Bearer 0123abcd  \r\n"
                               "ORIGIN: http://127.0.0.1:6000\r\nContent-Length: 0\r\n\r\n"
                               "GET /api/info HTTP/1.1\r\n\r\n";
    for (size_t i = 0; i < NSTEPS; i++) {
        cc_http_parser *p = cc_http_parser_new(&limits);
        outcome o = run(p, text, sizeof text - 1, steps[i], false);
        assert_int_equal(o.status, CC_HTTP_DONE);
        const cc_http_request *r = cc_http_parser_request(p);
        assert_string_equal(r->authorization, "Bearer 0123abcd");
        assert_string_equal(r->origin, "http://127.0.0.1:6000");
        /* The next request on the connection carries neither. */
        cc_http_parser_reset(p);
        size_t used = 0;
        cc_err err = {0};
        assert_int_equal(cc_http_parser_feed(p, text + o.consumed, sizeof text - 1 - o.consumed,
                                             &used, &err),
                         CC_HTTP_DONE);
        r = cc_http_parser_request(p);
        assert_string_equal(r->path, "/api/info");
        assert_null(r->authorization);
        assert_null(r->origin);
        cc_http_parser_free(p);
    }
    expect_error("GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
                 CC_ERR_BAD_REQUEST, "repeated Authorization");
    expect_error("GET / HTTP/1.1\r\nOrigin: null\r\nOrigin: http://a\r\n\r\n",
                 CC_ERR_BAD_REQUEST, "repeated Origin");
}

/* Reset in the middle of a request (e.g. on timeout) must free what was
 * gathered; ASan's leak check verifies that. */
static void test_reset_mid_request(void **state)
{
    (void)state;
    cc_http_parser *p = cc_http_parser_new(&limits);
    static const char text[] = "POST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc";
    assert_int_equal(run(p, text, sizeof text - 1, 0, false).status, CC_HTTP_NEED_MORE);
    cc_http_parser_reset(p);
    static const char partial[] = "GET /half HTTP/1.1\r\nX: y";
    assert_int_equal(run(p, partial, sizeof partial - 1, 0, false).status, CC_HTTP_NEED_MORE);
    cc_http_parser_free(p);
}

/* ---- query strings ---- */

static void test_query_get(void **state)
{
    (void)state;
    char out[16];
    static const char q[] = "id=00ab&name=a+b%20c&pct=100%&e=&flag&id=second&k%5Fx=%41";
    assert_true(cc_http_query_get(q, "id", out, sizeof out));
    assert_string_equal(out, "00ab");
    assert_true(cc_http_query_get(q, "name", out, sizeof out));
    assert_string_equal(out, "a b c");
    assert_true(cc_http_query_get(q, "pct", out, sizeof out));
    assert_string_equal(out, "100%");
    assert_true(cc_http_query_get(q, "e", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(cc_http_query_get(q, "flag", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(cc_http_query_get(q, "k_x", out, sizeof out));
    assert_string_equal(out, "A");
    assert_false(cc_http_query_get(q, "i", out, sizeof out));
    assert_false(cc_http_query_get(q, "idx", out, sizeof out));
    assert_false(cc_http_query_get(q, "missing", out, sizeof out));
    assert_false(cc_http_query_get("", "id", out, sizeof out));
    assert_false(cc_http_query_get("&&", "", out, sizeof out));
}

static void test_query_get_limits(void **state)
{
    (void)state;
    char out[4];
    assert_true(cc_http_query_get("v=abc", "v", out, sizeof out));
    assert_string_equal(out, "abc");
    assert_false(cc_http_query_get("v=abcd", "v", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(cc_http_query_get("v=%61%62%63", "v", out, sizeof out));
    assert_string_equal(out, "abc");
    assert_false(cc_http_query_get("v=a%00b", "v", out, sizeof out));
    assert_true(cc_http_query_get("v=%4", "v", out, sizeof out));
    assert_string_equal(out, "%4");
    assert_true(cc_http_query_get("v=%zz", "v", out, sizeof out));
    assert_string_equal(out, "%zz");
    assert_false(cc_http_query_get("v=1", "v", out, 0));
    assert_false(cc_http_query_get("v=1", "v", out, 1));
    assert_true(cc_http_query_get("v=", "v", out, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_bare_lf_and_odd_headers),
        cmocka_unit_test(test_target_split),
        cmocka_unit_test(test_methods_without_body),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_leading_blank_lines),
        cmocka_unit_test(test_bad_request_lines),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_duplicate_equal_content_length),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_endless_header_cut_off),
        cmocka_unit_test(test_blank_lines_count_toward_limit),
        cmocka_unit_test(test_content_length_limit),
        cmocka_unit_test(test_until_close_limit),
        cmocka_unit_test(test_content_length_body),
        cmocka_unit_test(test_python_post_until_close),
        cmocka_unit_test(test_body_ends_at_complete_json),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_chunked_total_limit),
        cmocka_unit_test(test_chunk_line_limits),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_done_is_sticky_until_reset),
        cmocka_unit_test(test_reset_mid_request),
        cmocka_unit_test(test_authorization_and_origin),
        cmocka_unit_test(test_query_get),
        cmocka_unit_test(test_query_get_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
