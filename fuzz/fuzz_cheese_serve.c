/* Drives the listening side of a cheese node (node/cheese_serve.c, over
 * net/cheese_conn.c) through its own event loop: a client, one end of a
 * socketpair the server adopts, sends fuzzed bytes in bursts; after each
 * burst the loop runs until the server has read everything, its silence
 * timer has ended any open argument and nothing more arrives. The node
 * behind it is a stub: its chain is the genesis, nothing waits, a block or
 * list of blocks is taken when every block decodes, a transaction when it
 * decodes and verifies.
 *
 * A model reading the same bytes with the same wire reader predicts every
 * answer: the greeting with the node's id in the later spelling when the
 * greeting timer comes before the client's first message, none when the
 * client speaks first; the chain or the open transactions, in the spelling
 * asked, for the one id the node knows (a third field after it, as in
 * "GET_CHAIN:ID:PORT", ignored), INVALID_PEER_ID for any other; BRCHEESEACK / BRTRANSACTIONACK
 * or a REFUSED for announcements (none for the seed's NEW_CHEESE); HCKACK
 * for HCK; REFUSED for tracker requests and unknown text; silence for
 * answers nobody asked for; a REFUSED and a close after 16 of those or a
 * message over the limits; no close otherwise. A REFUSED reason must be
 * lower case and printable. The stub checks that a broadcast's source is
 * absent or a valid peer id. Memory errors, leaks and undefined behaviour
 * abort through the sanitizers.
 *
 * Input: byte 0 picks the limits and whether the greeting timer is a
 * microsecond; then 0xC0 stands for the id the node knows and 0xC1 for a
 * well-formed id it does not, 0xD0..0xDF reconnects, 0xE0..0xFF is a
 * pause, and every other byte is data. Each control byte ends a burst. */
#include <ctype.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/json.h"
#include "consensus/block.h"
#include "consensus/cheese.h"
#include "net/cheese_wire.h"
#include "node/cheese_peers.h"
#include "node/cheese_serve.h"
#include "node/cheese_tracker_client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#include "fuzz_loop.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SELF_ID "PID00112233445566778899"
#define KNOWN_ID "PID0123456789ABCDEF0123"
#define STRANGER_ID "PIDFEDCBA9876543210FEDC"
#define CHAIN "[" CC_CHEESE_GENESIS_TEXT "]"
#define OPEN_TXS "[]"
#define GARBAGE_MAX 16
#define INPUT_MAX 16384 /* bursts then fit any socket buffer in one write */
#define PUMP_MAX 400
#define QUIET_ROUNDS 4
#define B_KNOWN 0xC0
#define B_STRANGER 0xC1
#define B_RECONNECT 0xD0
#define B_PAUSE 0xE0

static void check(bool ok, const char *what) { fuzz_check("fuzz_cheese_serve", ok, what); }

typedef enum expect_kind {
    E_GREETING, E_CHAIN, E_OPEN_TXS, E_INVALID, E_BLOCK_ACK, E_TX_ACK, E_HEALTH_ACK, E_REFUSED
} expect_kind;

typedef struct expect {
    expect_kind kind;
    cc_cheese_spelling spelling;
} expect;

typedef struct run {
    struct event_base *base;
    cc_cheese_serve *serve;
    cc_tracker_client *tracker;
    cc_cheese_peers *peers;
    cc_cheese_serve_config cfg;
    bool greet_at_once;
    int fd;            /* our end, -1 when closed */
    bool eof;          /* the server closed its end */
    bool doomed;       /* model: the server closes after its last answer */
    bool greeted;      /* model */
    unsigned garbage;  /* model */
    cc_cheese_wire *model;
    cc_buf out, in;
    expect *exp;
    size_t n_exp, cap_exp;
} run;

/* ---- the node behind the server ---- */

static const char *self_id(void *ctx)
{
    (void)ctx;
    return SELF_ID;
}

static void chain(void *ctx, cc_buf *out)
{
    (void)ctx;
    cc_buf_puts(out, CHAIN);
}

static void open_txs(void *ctx, cc_buf *out)
{
    (void)ctx;
    cc_buf_puts(out, OPEN_TXS);
}

static void check_source(const char *source)
{
    check(!source || cc_cheese_peer_id_valid(source, strlen(source)),
          "a broadcast's source is not a peer id");
}

/* A block, or a list of blocks as BRCHEESE[...] carries them. */
static bool take_blocks(const char *payload, size_t len, cc_err *err)
{
    if (payload[0] == '{') {
        cc_block block;
        bool ok = cc_cheese_block_decode(payload, len, &block, err);
        cc_block_clear(&block);
        return ok;
    }
    json_t *list = cc_json_parse(payload, len, CC_CHEESE_MAX_JSON_DEPTH + 1, err);
    bool ok = list != NULL;
    size_t i;
    json_t *element;
    json_array_foreach(list, i, element) {
        cc_block block;
        ok = ok && cc_cheese_block_from_json(element, &block, err);
        cc_block_clear(&block);
    }
    json_decref(list);
    return ok;
}

static bool take_tx(const char *payload, size_t len, cc_err *err)
{
    cc_tx tx;
    bool ok = cc_cheese_tx_decode(payload, len, &tx, err);
    if (ok && !cc_cheese_tx_verify(&tx))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "invalid signature");
    cc_tx_clear(&tx);
    return ok;
}

/* The node's verdict at once, as a node whose checks all end at once. */
static void on_blocks(void *ctx, const char *payload, size_t len, const char *source,
                      cc_cheese_verdict *verdict)
{
    (void)ctx;
    check_source(source);
    cc_err err = {0};
    bool ok = take_blocks(payload, len, &err);
    cc_cheese_verdict_give(verdict, ok, &err);
}

static void on_tx(void *ctx, const char *payload, size_t len, const char *source,
                  cc_cheese_verdict *verdict)
{
    (void)ctx;
    check_source(source);
    cc_err err = {0};
    bool ok = take_tx(payload, len, &err);
    cc_cheese_verdict_give(verdict, ok, &err);
}

/* ---- the model ---- */

static void push(run *r, expect_kind kind, cc_cheese_spelling spelling)
{
    if (r->n_exp == r->cap_exp) {
        r->cap_exp = r->cap_exp ? 2 * r->cap_exp : 16;
        r->exp = cc_realloc(r->exp, r->cap_exp * sizeof *r->exp);
    }
    r->exp[r->n_exp++] = (expect){kind, spelling};
}

static cc_cheese_spelling answer_spelling(cc_cheese_spelling s)
{
    return s == CC_CHEESE_SEED ? CC_CHEESE_SEED : CC_CHEESE_LATER;
}

/* "PID" and 1 to 64 hex digits, up to the end or a ':' (a third field). */
static bool id_form(const char *s, size_t len)
{
    return len > 3 && len <= 67 && memcmp(s, "PID", 3) == 0 &&
           strspn(s + 3, "0123456789ABCDEFabcdef") == len - 3;
}

static void garbage(run *r, bool refused)
{
    if (++r->garbage > GARBAGE_MAX) {
        push(r, E_REFUSED, CC_CHEESE_ANY);
        r->doomed = true;
    } else if (refused) {
        push(r, E_REFUSED, CC_CHEESE_ANY);
    }
}

static void model_request(run *r, const cc_cheese_msg *m)
{
    cc_cheese_spelling spelling = answer_spelling(m->spelling);
    const char *colon = memchr(m->arg, ':', m->arg_len);
    size_t id_len = colon ? (size_t)(colon - m->arg) : m->arg_len;
    bool known = id_form(m->arg, id_len) && id_len == strlen(KNOWN_ID) &&
                 memcmp(m->arg, KNOWN_ID, id_len) == 0;
    if (!known)
        push(r, E_INVALID, spelling);
    else
        push(r, m->cmd == CC_CHEESE_GET_CHAIN ? E_CHAIN : E_OPEN_TXS, spelling);
}

static void model_msg(run *r, const cc_cheese_msg *m)
{
    if (r->doomed)
        return;
    r->greeted = true; /* speaking first: no greeting comes */
    switch (m->cmd) {
    case CC_CHEESE_GET_CHAIN:
    case CC_CHEESE_GET_OPEN_TXS:
        model_request(r, m);
        break;
    case CC_CHEESE_NEW_CHEESE:
        if (m->spelling != CC_CHEESE_SEED)
            push(r, take_blocks(m->payload, m->payload_len, NULL) ? E_BLOCK_ACK : E_REFUSED,
                 CC_CHEESE_LATER);
        break;
    case CC_CHEESE_NEW_TX:
        push(r, take_tx(m->payload, m->payload_len, NULL) ? E_TX_ACK : E_REFUSED, CC_CHEESE_LATER);
        break;
    case CC_CHEESE_HEALTH_CHECK:
        push(r, E_HEALTH_ACK, CC_CHEESE_LATER);
        break;
    case CC_CHEESE_HEALTH_ACK:
    case CC_CHEESE_CHEESE_ACK:
    case CC_CHEESE_TX_ACK:
    case CC_CHEESE_PEER_GREETING:
    case CC_CHEESE_GREETING:
        break;
    case CC_CHEESE_JOIN:
    case CC_CHEESE_GET_PEERS:
    case CC_CHEESE_UNKNOWN:
        garbage(r, true);
        break;
    default:
        garbage(r, false);
        break;
    }
}

/* What the server makes of a burst: the same reader, then silence. */
static void model_burst(run *r, const char *data, size_t len)
{
    cc_cheese_msg m;
    for (;;) {
        size_t used = 0;
        cc_cheese_status st = cc_cheese_wire_feed(r->model, data, len, &used, &m, NULL);
        data += used;
        len -= used;
        if (st == CC_CHEESE_ERROR) {
            if (!r->doomed)
                push(r, E_REFUSED, CC_CHEESE_ANY);
            r->doomed = true;
            return;
        }
        if (st == CC_CHEESE_NEED_MORE)
            break;
        model_msg(r, &m);
    }
    cc_cheese_status st;
    while ((st = cc_cheese_wire_flush(r->model, &m, NULL)) == CC_CHEESE_MSG)
        model_msg(r, &m);
    if (st == CC_CHEESE_ERROR && !r->doomed) {
        push(r, E_REFUSED, CC_CHEESE_ANY);
        r->doomed = true;
    }
}

/* ---- matching ---- */

static void expect_ok(const run *r, bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cheese_serve: received %zu bytes: %.*s\nexpected:", r->in.len,
                (int)r->in.len, r->in.data);
        for (size_t i = 0; i < r->n_exp; i++)
            fprintf(stderr, " %d/%d", (int)r->exp[i].kind, (int)r->exp[i].spelling);
        fputc('\n', stderr);
    }
    check(ok, what);
}

/* The whole answer for each kind, or for a REFUSED where its reason ends. */
static const char *answer_text(const expect *e)
{
    bool seed = e->spelling == CC_CHEESE_SEED;
    switch (e->kind) {
    case E_GREETING:
        return seed ? "Connection to peer " SELF_ID : "PCONNECTACK:" SELF_ID;
    case E_CHAIN:
        return seed ? "CHAIN" CHAIN : "GETCHAINRESP" CHAIN;
    case E_OPEN_TXS:
        return seed ? "TR" OPEN_TXS : "GETOPENTRANSACTIONSRESP" OPEN_TXS;
    case E_INVALID:
        return seed ? "INVALID_PEER_ID" : "INVALIDPEERID";
    case E_BLOCK_ACK:
        return "BRCHEESEACK";
    case E_TX_ACK:
        return "BRTRANSACTIONACK";
    case E_HEALTH_ACK:
        return "HCKACK";
    default:
        return "REFUSED:";
    }
}

static void match_refused(run *r, const expect *next, size_t *pos)
{
    expect_ok(r, fuzz_take(&r->in, pos, "REFUSED:"), "REFUSED expected");
    size_t end = r->in.len;
    if (next) {
        const char *start = answer_text(next);
        const char *at = memmem(r->in.data + *pos, r->in.len - *pos, start, strlen(start));
        expect_ok(r, at != NULL, "the answer after a REFUSED is missing");
        end = (size_t)(at - r->in.data);
    }
    for (size_t i = *pos; i < end; i++) {
        unsigned char ch = (unsigned char)r->in.data[i];
        expect_ok(r, ch >= 0x20 && ch < 0x7f && !isupper(ch),
                  "a REFUSED reason is not lower-case printable text");
    }
    *pos = end;
}

static void match(run *r)
{
    size_t pos = 0;
    for (size_t i = 0; i < r->n_exp; i++) {
        const expect *e = &r->exp[i];
        if (e->kind == E_REFUSED)
            match_refused(r, i + 1 < r->n_exp ? &r->exp[i + 1] : NULL, &pos);
        else
            expect_ok(r, fuzz_take(&r->in, &pos, answer_text(e)), "another answer expected");
    }
    expect_ok(r, pos == r->in.len, "an answer nobody asked for");
    expect_ok(r, r->eof == r->doomed,
              r->eof ? "closed a connection that did nothing wrong"
                     : "kept a connection it should have closed");
    r->n_exp = 0;
    cc_buf_reset(&r->in);
}

/* ---- the loop ---- */

static bool settled(const run *r)
{
    if (r->fd >= 0 && (!fuzz_all_read(r->fd) || r->doomed))
        return false;
    return cc_cheese_serve_connections(r->serve) == (r->fd >= 0 && !r->doomed ? 1u : 0u);
}

static void pump(run *r)
{
    int quiet = 0;
    for (int round = 0; round < PUMP_MAX && quiet < QUIET_ROUNDS; round++) {
        event_base_loop(r->base, EVLOOP_NONBLOCK);
        bool news = r->fd >= 0 && fuzz_receive(r->fd, &r->in, &r->eof);
        if (r->eof && r->fd >= 0) {
            close(r->fd);
            r->fd = -1;
        }
        quiet = news || !settled(r) ? 0 : quiet + 1;
    }
    match(r);
}

static void disconnect(run *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

static void connect_client(run *r)
{
    int sv[2];
    check(fuzz_socketpair(sv), "socketpair");
    r->fd = sv[0];
    r->eof = r->doomed = r->greeted = false;
    r->garbage = 0;
    cc_cheese_wire_free(r->model);
    r->model = cc_cheese_wire_new(&r->cfg.limits);
    struct sockaddr_in addr = fuzz_loopback(40000);
    check(cc_cheese_serve_adopt(r->serve, sv[1], (const struct sockaddr *)&addr),
          "the server turned a connection away");
    if (r->greet_at_once) {
        push(r, E_GREETING, CC_CHEESE_LATER);
        r->greeted = true;
    }
}

static void write_burst(run *r)
{
    if (r->out.len == 0)
        return;
    if (r->fd < 0) {
        connect_client(r);
        pump(r); /* a greeting timer falls due before anything is read */
    }
    ssize_t n = send(r->fd, r->out.data, r->out.len, MSG_NOSIGNAL);
    check(n == (ssize_t)r->out.len, "a burst did not fit the socket");
    model_burst(r, r->out.data, r->out.len);
    cc_buf_reset(&r->out);
    pump(r);
}

static void control(run *r, uint8_t b)
{
    bool wrote = r->out.len > 0;
    write_burst(r);
    if (b >= B_RECONNECT && b < B_PAUSE) {
        disconnect(r);
        pump(r);
        connect_client(r);
        pump(r);
    } else if (!wrote) {
        pump(r);
    }
}

static void append(run *r, uint8_t b)
{
    if (b == B_KNOWN || b == B_STRANGER)
        cc_buf_puts(&r->out, b == B_KNOWN ? KNOWN_ID : STRANGER_ID);
    else
        cc_buf_putc(&r->out, (char)b);
}

/* ---- set-up ---- */

static void start(run *r, uint8_t b, const cc_log *log)
{
    static const cc_cheese_wire_limits limits[4] = {
        {64, 64}, {64, 1024}, {256, 8192}, {1024, 65536}};
    r->base = fuzz_base_new();
    r->fd = -1;
    r->greet_at_once = b & 4;
    cc_tracker_client_config tc = {.base = r->base, .host = "127.0.0.1", .port = 9,
                                   .self_host = "127.0.0.1", .self_port = 9,
                                   .limits = limits[3], .log = log};
    r->tracker = cc_tracker_client_new(&tc); /* never started: no id can be checked */
    cc_cheese_peers_config pc = {.base = r->base, .max_peers = 16, .max_queue = 16,
                                 .known_ttl_s = 1e9, .limits = limits[3], .log = log};
    r->peers = cc_cheese_peers_new(&pc);
    cc_cheese_peers_vouch(r->peers, KNOWN_ID);
    r->cfg = (cc_cheese_serve_config){
        .base = r->base, .host = "127.0.0.1", .port = 0, .idle_timeout_s = 1e9,
        .greet_wait_s = r->greet_at_once ? 1e-6 : 1e9, .silence_s = 1e-6,
        .max_connections = 4, .limits = limits[b & 3], .tracker = r->tracker,
        .peers = r->peers, .self_id = self_id, .chain = chain, .open_txs = open_txs,
        .blocks = on_blocks, .tx = on_tx, .log = log};
    cc_err err = {0};
    r->serve = cc_cheese_serve_start(&r->cfg, &err);
    check(r->serve != NULL, err.msg);
}

static void stop(run *r)
{
    disconnect(r);
    pump(r);
    check(cc_cheese_serve_connections(r->serve) == 0, "connections left after the client closed");
    cc_cheese_serve_free(r->serve);
    cc_tracker_client_free(r->tracker);
    cc_cheese_peers_free(r->peers);
    event_base_free(r->base);
    cc_cheese_wire_free(r->model);
    cc_buf_free(&r->out);
    cc_buf_free(&r->in);
    free(r->exp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > INPUT_MAX)
        return 0;
    static const cc_log quiet_log = {.threshold = CC_LOG_WARN, .component = "fuzz-serve"};
    run r = {0};
    start(&r, data[0], &quiet_log);
    connect_client(&r);
    pump(&r);
    for (size_t i = 1; i < size; i++) {
        if (data[i] >= B_RECONNECT)
            control(&r, data[i]);
        else
            append(&r, data[i]);
    }
    control(&r, B_PAUSE);
    stop(&r);
    return 0;
}
