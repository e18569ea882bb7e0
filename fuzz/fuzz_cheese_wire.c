/* Feeds the same bytes to the cheese wire reader twice, once whole and once
 * cut into pieces, with silence (a flush) at the same places, and aborts
 * when the two transcripts differ: the messages read must never depend on
 * how the network splits the stream. Every message read must also keep the
 * reader's promises (limits, NUL-terminated texts, balanced payloads) and,
 * when the writer accepts it, read back as itself. What the reader holds
 * for messages still arriving stays within its limits. A peer list goes on
 * through the node's parser (cc_cheese_peer_list_parse), which may skip
 * entries but must return only valid ids, hosts and ports.
 *
 * Input layout: byte 0 picks the piece sizes, byte 1 the limits (small, so
 * that every limit is reachable) and, in its top bit, whether 0xFE bytes in
 * the stream stand for silence; the rest is the stream. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/cheese_wire.h"
#include "node/cheese_tracker_client.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SILENCE 0xFE

static void check(int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_cheese_wire: %s\n", what);
    abort();
}

static size_t piece_size(uint8_t step, size_t index)
{
    if (step & 0x80)
        return index % ((size_t)(step & 7) + 1) + 1;
    return (size_t)step + 1;
}

static void check_msg(const cc_cheese_msg *m, const cc_cheese_wire_limits *lim)
{
    check(m->arg != NULL && m->arg[m->arg_len] == '\0', "argument NUL-terminated");
    check(m->arg_len <= lim->max_line, "argument within limit");
    check(memchr(m->arg, '\n', m->arg_len) == NULL, "no line end in an argument");
    check(m->cmd != CC_CHEESE_UNKNOWN || m->arg_len > 0, "unknown text is not empty");
    if (!m->payload)
        return;
    check(m->payload[m->payload_len] == '\0', "payload NUL-terminated");
    check(m->payload_len >= 2 && m->payload_len <= lim->max_payload, "payload within limit");
    check(m->payload[0] == '[' || m->payload[0] == '{', "payload opens with a bracket");
    char last = m->payload[m->payload_len - 1];
    check(last == ']' || last == '}', "payload closes with a bracket");
}

static bool same_msg(const cc_cheese_msg *a, const cc_cheese_msg *b)
{
    if (a->cmd != b->cmd || a->arg_len != b->arg_len || memcmp(a->arg, b->arg, a->arg_len) != 0)
        return false;
    if ((a->payload == NULL) != (b->payload == NULL))
        return false;
    return !a->payload || (a->payload_len == b->payload_len &&
                           memcmp(a->payload, b->payload, a->payload_len) == 0);
}

/* What the writer makes of a message must read back as that message. */
static void check_round_trip(const cc_cheese_msg *m, const cc_cheese_wire_limits *lim)
{
    cc_buf out = CC_BUF_INIT;
    if (!cc_cheese_wire_format(&out, m, NULL)) {
        cc_buf_free(&out);
        return;
    }
    cc_cheese_wire *w = cc_cheese_wire_new(lim);
    cc_cheese_msg back;
    size_t used = 0;
    cc_cheese_status st = cc_cheese_wire_feed(w, out.data, out.len, &used, &back, NULL);
    if (st == CC_CHEESE_NEED_MORE)
        st = cc_cheese_wire_flush(w, &back, NULL);
    check(st == CC_CHEESE_MSG, "a written message reads back");
    check(same_msg(m, &back), "a written message reads back unchanged");
    check(m->spelling == CC_CHEESE_ANY || back.spelling == m->spelling, "spelling kept");
    cc_cheese_wire_free(w);
    cc_buf_free(&out);
}

static void check_peer_list(const cc_cheese_msg *m)
{
    if (m->cmd != CC_CHEESE_PEERS || !m->payload)
        return;
    cc_cheese_peer_entry *entries;
    size_t n = cc_cheese_peer_list_parse(m->payload, m->payload_len, &entries);
    check(n == 0 || entries != NULL, "entries returned");
    for (size_t i = 0; i < n; i++) {
        const cc_cheese_peer_entry *e = &entries[i];
        check(cc_cheese_peer_id_valid(e->id, strlen(e->id)) &&
                  cc_cheese_host_valid(e->host, strlen(e->host)) && e->port >= 1 &&
                  e->port <= 65535,
              "the peer-list parser returned an invalid entry");
    }
    cc_cheese_peer_entries_free(entries, n);
}

static void record(cc_buf *log, const cc_cheese_msg *m, const cc_cheese_wire_limits *lim)
{
    check_msg(m, lim);
    check_peer_list(m);
    check_round_trip(m, lim);
    cc_buf_printf(log, "MSG %d %d arg=%zu:", (int)m->cmd, (int)m->spelling, m->arg_len);
    cc_buf_append(log, m->arg, m->arg_len);
    if (m->payload) {
        cc_buf_printf(log, " payload=%zu:", m->payload_len);
        cc_buf_append(log, m->payload, m->payload_len);
    }
    cc_buf_putc(log, '\n');
}

typedef struct run {
    cc_cheese_wire *w;
    const cc_cheese_wire_limits *lim;
    cc_buf *log;
    bool failed;
    bool whole;
    uint8_t step;
    size_t index;
} run;

static void fail(run *r, const cc_err *err)
{
    check(err->code == 413, "errors are limits");
    cc_buf_printf(r->log, "ERROR %d %s\n", err->code, err->msg);
    r->failed = true;
}

static void feed_piece(run *r, const char *d, size_t n)
{
    for (;;) {
        cc_cheese_msg m;
        cc_err err = {0};
        size_t used = 0;
        cc_cheese_status st = cc_cheese_wire_feed(r->w, d, n, &used, &m, &err);
        check(used <= n, "consumed within the piece");
        if (st == CC_CHEESE_ERROR) {
            fail(r, &err);
            return;
        }
        d += used;
        n -= used;
        /* what a node sums over connections to bound them all: one
         * connection's share stays within the limits (and a few keywords
         * read ahead) */
        check(cc_cheese_wire_held(r->w) <= r->lim->max_payload + r->lim->max_line + 128,
              "the bytes held stay within the limits");
        if (st == CC_CHEESE_NEED_MORE) {
            check(n == 0, "NEED_MORE consumes everything");
            return;
        }
        record(r->log, &m, r->lim);
    }
}

static void feed_segment(run *r, const char *d, size_t n)
{
    size_t off = 0;
    while (off < n && !r->failed) {
        size_t piece = r->whole ? n : piece_size(r->step, r->index++);
        if (piece > n - off)
            piece = n - off;
        feed_piece(r, d + off, piece);
        off += piece;
    }
}

static void silence(run *r)
{
    bool flushable = cc_cheese_wire_flushable(r->w);
    cc_cheese_msg m;
    cc_err err = {0};
    cc_cheese_status st;
    bool any = false;
    while ((st = cc_cheese_wire_flush(r->w, &m, &err)) == CC_CHEESE_MSG) {
        record(r->log, &m, r->lim);
        any = true;
    }
    check(flushable || !any, "flushable tells when silence completes something");
    if (st == CC_CHEESE_ERROR)
        fail(r, &err);
    else
        check(!cc_cheese_wire_flushable(r->w), "nothing left to flush");
    cc_buf_puts(r->log, "SILENCE\n");
}

static void transcript(const uint8_t *in, size_t n, bool marks, bool whole, uint8_t step,
                       const cc_cheese_wire_limits *lim, cc_buf *log)
{
    run r = {cc_cheese_wire_new(lim), lim, log, false, whole, step, 0};
    const char *s = (const char *)in;
    size_t start = 0;
    for (size_t i = 0; i <= n && !r.failed; i++) {
        if (i < n && !(marks && in[i] == SILENCE))
            continue;
        feed_segment(&r, s + start, i - start);
        if (!r.failed)
            silence(&r);
        start = i + 1;
    }
    cc_cheese_wire_free(r.w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    cc_cheese_wire_limits lim = {
        .max_line = 8 + (size_t)(data[1] & 0x07) * 8,
        .max_payload = 8 + (size_t)((data[1] >> 3) & 0x0f) * 16,
    };
    bool marks = data[1] & 0x80;
    cc_buf whole = CC_BUF_INIT, split = CC_BUF_INIT;
    transcript(data + 2, size - 2, marks, true, 0, &lim, &whole);
    transcript(data + 2, size - 2, marks, false, data[0], &lim, &split);
    if (whole.len != split.len || memcmp(whole.data, split.data, whole.len) != 0) {
        fprintf(stderr, "whole:\n%s\nsplit (step %u):\n%s\n", cc_buf_str(&whole), data[0],
                cc_buf_str(&split));
        abort();
    }
    cc_buf_free(&whole);
    cc_buf_free(&split);
    return 0;
}
