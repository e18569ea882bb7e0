/* Feeds the same bytes to the HTTP request parser twice, once whole and
 * once cut into pieces, reading pipelined requests until the input ends,
 * and aborts when the two transcripts differ: the outcome must never depend
 * on how the network splits the stream.
 *
 * Input layout: byte 0 picks the piece sizes, byte 1 the limits (small, so
 * that every limit is reachable), the rest is the stream. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_request.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_http_request: %s\n", what);
    abort();
}

/* Piece sizes cycle through 1..(step & 7)+1 when bit 7 is set, so that
 * cuts land at varying offsets; otherwise every piece is step+1 bytes. */
static size_t piece_size(uint8_t step, size_t index)
{
    if (step & 0x80)
        return index % ((size_t)(step & 7) + 1) + 1;
    return (size_t)step + 1;
}

static void check_request(const cc_http_request *r, const cc_http_limits *lim)
{
    check(r->method[0] != '\0' && strlen(r->method) < sizeof r->method, "method length");
    for (const char *m = r->method; *m; m++)
        check(*m >= 'A' && *m <= 'Z', "method characters");
    check(r->target && r->target[0] == '/', "target starts with /");
    size_t path_len = strlen(r->path);
    check(strncmp(r->target, r->path, path_len) == 0, "path is a prefix of target");
    check(r->target[path_len] == '\0' ? r->query[0] == '\0'
                                      : strcmp(r->target + path_len + 1, r->query) == 0,
          "query follows '?'");
    check(r->body.len <= lim->max_body_bytes, "body within limit");
    check(!r->body_until_close || (!r->keep_alive && r->content_length == -1),
          "until-close bodies end the connection");
    check(r->content_length < 0 || (size_t)r->content_length == r->body.len,
          "sized body has its length");
}

static void record_request(cc_buf *log, const cc_http_request *r)
{
    cc_buf_printf(log, "DONE %s %s|%s|%s host=%s cl=%lld ka=%d uc=%d body=%zu:", r->method,
                  r->target, r->path, r->query, r->host ? r->host : "(none)",
                  (long long)r->content_length, r->keep_alive, r->body_until_close,
                  r->body.len);
    cc_buf_append(log, cc_buf_str(&r->body), r->body.len);
    cc_buf_putc(log, '\n');
}

static void record_end(cc_buf *log, cc_http_parse_status st, const cc_err *err)
{
    if (st == CC_HTTP_ERROR)
        cc_buf_printf(log, "ERROR %d %s\n", err->code, err->msg);
    else
        cc_buf_printf(log, "END %d\n", (int)st);
}

/* Reads requests from in[0..n) as a server would: feed, on DONE reset and
 * feed the rest, at the end of input treat it as the client closing. */
static void transcript(const uint8_t *in, size_t n, bool whole, uint8_t step,
                       const cc_http_limits *lim, cc_buf *log)
{
    cc_http_parser *p = cc_http_parser_new(lim);
    cc_err err = {0};
    size_t off = 0, index = 0;
    cc_http_parse_status st = CC_HTTP_NEED_MORE;
    while (off < n) {
        size_t piece = whole ? n : piece_size(step, index++);
        if (piece > n - off)
            piece = n - off;
        size_t used = 0;
        st = cc_http_parser_feed(p, (const char *)in + off, piece, &used, &err);
        check(used <= piece, "consumed within the piece");
        off += used;
        if (st == CC_HTTP_ERROR)
            break;
        if (st == CC_HTTP_NEED_MORE) {
            check(used == piece, "NEED_MORE consumes everything");
            continue;
        }
        check(used > 0, "DONE consumed something");
        check_request(cc_http_parser_request(p), lim);
        record_request(log, cc_http_parser_request(p));
        cc_http_parser_reset(p);
        check(!cc_http_parser_started(p), "reset clears started");
    }
    if (st != CC_HTTP_ERROR) {
        st = cc_http_parser_finish(p, &err);
        if (st == CC_HTTP_DONE) {
            check_request(cc_http_parser_request(p), lim);
            record_request(log, cc_http_parser_request(p));
        }
    }
    record_end(log, st, &err);
    cc_http_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    cc_http_limits lim = {
        .max_header_bytes = 16 + (size_t)(data[1] & 0x0f) * 32,
        .max_body_bytes = (size_t)(data[1] >> 4) * 24,
    };
    cc_buf whole = CC_BUF_INIT, split = CC_BUF_INIT;
    transcript(data + 2, size - 2, true, 0, &lim, &whole);
    transcript(data + 2, size - 2, false, data[0], &lim, &split);
    if (whole.len != split.len || memcmp(whole.data, split.data, whole.len) != 0) {
        fprintf(stderr, "whole:\n%s\nsplit (step %u):\n%s\n", cc_buf_str(&whole), data[0],
                cc_buf_str(&split));
        abort();
    }
    cc_buf_free(&whole);
    cc_buf_free(&split);

    char out[32];
    char query[64];
    size_t qlen = size - 2 < sizeof query - 1 ? size - 2 : sizeof query - 1;
    memcpy(query, data + 2, qlen);
    query[qlen] = '\0';
    if (cc_http_query_get(query, "id", out, sizeof out))
        check(strlen(out) < sizeof out, "query value fits");
    return 0;
}
