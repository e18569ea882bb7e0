/* Unit tests for node/explorer.c: which paths are the page, the answer
 * (status, type, body, headers), the Content-Security-Policy's hashes
 * against the page's inline script and style, and the page loading nothing
 * from elsewhere. The browser tests (tests/functional/test_explorer.py)
 * check the same policy in Chromium. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "node/explorer.h"

static const char *page(void)
{
    return (const char *)cc_explorer_html;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static cc_http_request request(const char *method, const char *path)
{
    cc_http_request req = {.content_length = -1};
    snprintf(req.method, sizeof req.method, "%s", method);
    req.path = (char *)path;
    req.target = (char *)path;
    req.query = (char *)"";
    return req;
}

static void test_paths(void **state)
{
    (void)state;
    static const char *const yes[] = {"/", "/explorer", "/explorer/", "/index.html"};
    static const char *const no[] = {"", "//", "/explorerx", "/explorer/x", "/api/info",
                                     "/getblocks", "/index.htm", "/favicon.ico"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        cc_http_request req = request("GET", yes[i]);
        assert_true(cc_explorer_is_page(&req));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        cc_http_request req = request("GET", no[i]);
        assert_false(cc_explorer_is_page(&req));
        cc_http_response resp = {.status = 200};
        assert_false(cc_explorer_handle(&req, &resp));
        assert_int_equal(resp.status, 200);
        assert_int_equal(resp.body.len, 0);
        assert_int_equal(resp.headers.len, 0);
    }
}

static void test_answer(void **state)
{
    (void)state;
    cc_http_request req = request("GET", "/");
    cc_http_response resp = {.status = 200};
    assert_true(cc_explorer_handle(&req, &resp));
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/html; charset=utf-8");
    assert_int_equal(resp.body.len, cc_explorer_html_len);
    assert_memory_equal(resp.body.data, cc_explorer_html, cc_explorer_html_len);
    assert_int_equal(strlen(page()), cc_explorer_html_len); /* NUL-terminated, no NUL inside */
    const char *headers = cc_buf_str(&resp.headers);
    assert_non_null(strstr(headers, "Content-Security-Policy: default-src 'self'; "));
    assert_non_null(strstr(headers, "\r\nCache-Control: no-cache\r\n"));
    assert_non_null(strstr(headers, "X-Content-Type-Options: nosniff\r\n"));
    assert_int_equal(headers[strlen(headers) - 1], '\n');
    assert_null(strstr(headers, "unsafe"));
    cc_buf_free(&resp.body);
    cc_buf_free(&resp.headers);

    /* other methods: 405 in the API's error format, no page */
    req = request("POST", "/explorer");
    resp = (cc_http_response){.status = 200};
    assert_true(cc_explorer_handle(&req, &resp));
    assert_int_equal(resp.status, 405);
    assert_null(resp.content_type);
    assert_non_null(strstr(cc_buf_str(&resp.body), "\"errcode\": 405"));
    assert_int_equal(resp.headers.len, 0);
    cc_buf_free(&resp.body);
}

/* base64 of SHA-256 of the text between open and close, written here
 * independently of explorer.c's encoder. */
static void element_hash(const char *open, const char *close, char out[45])
{
    const char *start = strstr(page(), open);
    assert_non_null(start);
    start += strlen(open);
    const char *end = strstr(start, close);
    assert_non_null(end);
    uint8_t d[CC_SHA256_LEN + 1] = {0}; /* one spare zero byte for the last group */
    cc_sha256(start, (size_t)(end - start), d);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t bit = 0; bit < CC_SHA256_LEN * 8; bit += 6) {
        unsigned v = 0;
        for (size_t b = bit; b < bit + 6; b++)
            v = v << 1 | ((d[b / 8] >> (7 - b % 8)) & 1u);
        out[o++] = b64[v];
    }
    out[o++] = '=';
    out[o] = '\0';
    assert_int_equal(o, 44);
}

static void test_policy_hashes(void **state)
{
    (void)state;
    cc_buf csp = CC_BUF_INIT;
    cc_explorer_csp(&csp);
    char want[96], hash[45];
    element_hash("<script>", "</script>", hash);
    snprintf(want, sizeof want, "script-src 'sha256-%s';", hash);
    assert_non_null(strstr(cc_buf_str(&csp), want));
    element_hash("<style>", "</style>", hash);
    snprintf(want, sizeof want, "style-src 'sha256-%s';", hash);
    assert_non_null(strstr(cc_buf_str(&csp), want));
    assert_non_null(strstr(cc_buf_str(&csp), "connect-src 'self'"));
    assert_non_null(strstr(cc_buf_str(&csp), "frame-ancestors 'none'"));
    cc_buf_free(&csp);
}

static void test_page_is_self_contained(void **state)
{
    (void)state;
    const char *p = page();
    /* one inline script and one inline style: exactly what the policy hashes */
    assert_int_equal(count(p, "<script"), 1);
    assert_int_equal(count(p, "</script>"), 1);
    assert_int_equal(count(p, "<style"), 1);
    assert_int_equal(count(p, "</style>"), 1);
    assert_non_null(strstr(p, "<script>"));
    assert_non_null(strstr(p, "<style>"));
    /* nothing from elsewhere: the only URL is the SVG namespace (of the
     * data: icon, and of the charts the script draws), which is a name, not
     * a load */
    assert_int_equal(count(p, "https:"), 0);
    assert_int_equal(count(p, "http://"), count(p, "http://www.w3.org/2000/svg"));
    assert_int_equal(count(p, "//fonts"), 0);
    assert_int_equal(count(p, "@import"), 0);
    assert_int_equal(count(p, "url("), 0);
    assert_int_equal(count(p, " src="), 0);
    assert_int_equal(count(p, "rel=\"stylesheet\""), 0);
    /* nothing the policy would refuse: inline handlers, style attributes, eval */
    assert_int_equal(count(p, " onclick="), 0);
    assert_int_equal(count(p, " onload="), 0);
    assert_int_equal(count(p, " style=\""), 0);
    assert_int_equal(count(p, "eval("), 0);
    assert_int_equal(count(p, "innerHTML"), 0);
    /* the API calls it makes are relative: same origin */
    assert_non_null(strstr(p, "fetch(\"/api/\" + path"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_policy_hashes),
        cmocka_unit_test(test_page_is_self_contained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
