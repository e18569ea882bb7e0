/* The explorer page (node/explorer.h, docs/explorer.md). */
#include "node/explorer.h"

#include <stdint.h>
#include <string.h>

#include "crypto/hash.h"
#include "util/err.h"

static const char *page_text(void)
{
    return (const char *)cc_explorer_html;
}

bool cc_explorer_is_page(const cc_http_request *req)
{
    static const char *const paths[] = {"/", "/explorer", "/explorer/", "/index.html"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (req->path && strcmp(req->path, paths[i]) == 0)
            return true;
    return false;
}

static void put_base64(cc_buf *out, const uint8_t *data, size_t len)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t n = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            n |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            n |= data[i + 2];
        cc_buf_putc(out, digits[(n >> 18) & 63]);
        cc_buf_putc(out, digits[(n >> 12) & 63]);
        cc_buf_putc(out, i + 1 < len ? digits[(n >> 6) & 63] : '=');
        cc_buf_putc(out, i + 2 < len ? digits[n & 63] : '=');
    }
}

/* 'sha256-<base64>' of the text between the first `open` tag and the next
 * `close`, exactly as the browser hashes an inline element's content;
 * 'none' when the page has no such element. */
static void put_element_hash(cc_buf *out, const char *open, const char *close)
{
    const char *start = strstr(page_text(), open);
    const char *end = start ? strstr(start + strlen(open), close) : NULL;
    if (!end) {
        cc_buf_puts(out, "'none'");
        return;
    }
    start += strlen(open);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(start, (size_t)(end - start), digest);
    cc_buf_puts(out, "'sha256-");
    put_base64(out, digest, sizeof digest);
    cc_buf_putc(out, '\'');
}

void cc_explorer_csp(cc_buf *out)
{
    cc_buf_puts(out, "default-src 'self'; script-src ");
    put_element_hash(out, "<script>", "</script>");
    cc_buf_puts(out, "; style-src ");
    put_element_hash(out, "<style>", "</style>");
    /* img: the page's icon is a data: SVG; connect: the API, same origin. */
    cc_buf_puts(out, "; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
}

bool cc_explorer_handle(const cc_http_request *req, cc_http_response *resp)
{
    if (!cc_explorer_is_page(req))
        return false;
    if (strcmp(req->method, "GET") != 0) {
        cc_http_error(resp, CC_ERR_METHOD, "Method not allowed: the explorer page takes GET");
        return true;
    }
    resp->status = 200;
    resp->content_type = "text/html; charset=utf-8";
    cc_buf_reset(&resp->body);
    cc_buf_append(&resp->body, cc_explorer_html, cc_explorer_html_len);
    cc_buf_reset(&resp->headers);
    cc_buf_puts(&resp->headers, "Content-Security-Policy: ");
    cc_explorer_csp(&resp->headers);
    cc_buf_puts(&resp->headers, "\r\nCache-Control: no-cache\r\n"
                                "X-Content-Type-Options: nosniff\r\n"
                                "Referrer-Policy: no-referrer\r\n"
                                "X-Frame-Options: DENY\r\n");
    return true;
}
