/* Drives the tracker (net/cheese_tracker.c) through its own event loop:
 * up to 16 clients, each one end of a socketpair the tracker adopts, send
 * fuzzed bytes in bursts; after each burst the loop runs until the tracker
 * has read everything, its silence timer has ended any open argument and
 * nothing more arrives.
 *
 * With the usual timers (no liveness check falls due during a run) every
 * answer is predicted by a model that reads the same bytes with the wire
 * reader the tracker uses (net/cheese_wire.h) and keeps its own peer table:
 * the greeting; a JOINED with a fresh "PID" + 20 hex id in the spelling
 * asked, the same id on a second join; REFUSED for an unusable host:port
 * (or a host name: no resolver here); a peer list in the spelling asked
 * for a known id, holding exactly the joined peers but the named one and
 * the asker (at most 10), each with the canonical form of the address it
 * joined with, printed as reference nodes print it and read in full by
 * the node's own peer-list parser; INVALID_PEER_ID for any other
 * id; REFUSED and a close after the 17th message a tracker does not serve
 * or a message over the limits; nothing else, and no close otherwise. The
 * peer and connection counts must match the model after every burst.
 * With liveness checks every microsecond (and, as byte 0 says, joins and
 * HCKACKs due within one too) only the form of what arrives is checked.
 * Memory errors, leaks and undefined behaviour abort through the
 * sanitizers.
 *
 * Input: byte 0 picks the limits, the timers and the connection cap; then
 * bytes below 0xC0 are data for the current client, 0xC0 + k stands for
 * client k's last peer id (so that a request can name a real one),
 * 0xD0 + k makes client k current (connecting it), 0xE0 + k closes client
 * k, and 0xF0..0xFF is a pause. Each control byte ends a burst. */
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/address.h"
#include "net/cheese_tracker.h"
#include "net/cheese_wire.h"
#include "node/cheese_tracker_client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#include "fuzz_loop.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLIENTS 16
#define ID_LEN 23                /* "PID" + 20 hex digits */
#define LIST_MAX 10              /* peers per list */
#define GARBAGE_MAX 16           /* messages a tracker does not serve, then closed */
#define INPUT_MAX 4096           /* bursts then fit any socket buffer in one write */
#define PUMP_MAX 400             /* loop rounds per burst; a burst settles in a few */
#define QUIET_ROUNDS 4           /* rounds without news before a burst is done */
#define B_ID 0xC0
#define B_SELECT 0xD0
#define B_CLOSE 0xE0
#define B_PAUSE 0xF0
#define UNKNOWN_ID "PID00000000000000000000"

static void check(bool ok, const char *what) { fuzz_check("fuzz_tracker", ok, what); }

typedef enum expect_kind { E_GREETING, E_JOINED, E_PEERS, E_INVALID, E_REFUSED } expect_kind;

typedef struct expect {
    expect_kind kind;
    cc_cheese_spelling spelling;
    bool first_join;   /* E_JOINED: a new id, learned from the answer */
    char reason[240];  /* E_REFUSED: the exact reason, or "" for any */
    uint32_t joined;   /* E_PEERS: the slots in the tracker's table when asked */
    int named, asker;  /* E_PEERS: slots (asker -1 when it had not joined) */
} expect;

typedef struct client {
    int fd;            /* our end, -1 when closed */
    bool eof;          /* the tracker closed its end */
    bool turned_away;  /* the tracker was full when it connected */
    bool doomed;       /* model: the tracker closes after its last answer */
    unsigned garbage;
    bool joined;       /* model: in the tracker's table */
    char host[256];
    char port[6];
    bool id_known;     /* id holds the last id this slot was given (maybe stale) */
    bool id_current;   /* ... given on the current connection */
    char id[ID_LEN + 1];
    cc_cheese_wire *model; /* the tracker's reading of our bytes */
    cc_buf out;        /* the burst being written */
    cc_buf in;         /* received, not yet matched */
    expect *exp;
    size_t n_exp, cap_exp;
} client;

typedef struct run {
    struct event_base *base;
    cc_cheese_tracker *t;
    cc_cheese_tracker_config cfg;
    bool model;
    client c[CLIENTS];
    int cur;
} run;

/* ---- the model ---- */

static expect *push(client *c, expect_kind kind, cc_cheese_spelling spelling)
{
    if (c->n_exp == c->cap_exp) {
        c->cap_exp = c->cap_exp ? 2 * c->cap_exp : 16;
        c->exp = cc_realloc(c->exp, c->cap_exp * sizeof *c->exp);
    }
    expect *e = &c->exp[c->n_exp++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->spelling = spelling;
    return e;
}

static void doom(client *c, const char *reason)
{
    snprintf(push(c, E_REFUSED, CC_CHEESE_ANY)->reason, sizeof c->exp->reason, "%s", reason);
    c->doomed = true;
    c->joined = false;
}

/* HOST:PORT as net/address.h reads it (its own target, fuzz_address,
 * checks that reading against the C library's): the peer is listed under
 * the canonical host and port. A host name is refused, since this tracker
 * has no resolver. */
static bool join_ok(const char *arg, size_t len, char host[256], char port[6])
{
    cc_addr a;
    if (!cc_addr_parse(arg, len, &a, NULL))
        return false;
    snprintf(host, 256, "%s", a.host);
    snprintf(port, 6, "%d", a.port);
    return true;
}

static uint32_t joined_slots(const run *r)
{
    uint32_t set = 0;
    for (int k = 0; k < CLIENTS; k++)
        if (r->c[k].joined)
            set |= 1u << k;
    return set;
}

static int slot_of_id(const run *r, const char *id, size_t len)
{
    for (int k = 0; k < CLIENTS; k++)
        if (r->c[k].joined && r->c[k].id_current && len == ID_LEN &&
            memcmp(r->c[k].id, id, ID_LEN) == 0)
            return k;
    return -1;
}

static void model_msg(run *r, int k, const cc_cheese_msg *m)
{
    client *c = &r->c[k];
    if (c->doomed)
        return;
    if (m->cmd == CC_CHEESE_JOIN) {
        char host[256], port[6];
        if (!join_ok(m->arg, m->arg_len, host, port)) {
            push(c, E_REFUSED, CC_CHEESE_ANY);
            return;
        }
        push(c, E_JOINED, m->spelling)->first_join = !c->joined;
        c->joined = true;
        memcpy(c->host, host, sizeof host);
        memcpy(c->port, port, sizeof port);
    } else if (m->cmd == CC_CHEESE_GET_PEERS) {
        int named = slot_of_id(r, m->arg, m->arg_len);
        if (named < 0) {
            push(c, E_INVALID, m->spelling);
            return;
        }
        expect *e = push(c, E_PEERS, m->spelling);
        e->joined = joined_slots(r);
        e->named = named;
        e->asker = c->joined ? k : -1;
    } else if (m->cmd != CC_CHEESE_HEALTH_ACK && ++c->garbage > GARBAGE_MAX) {
        doom(c, "too many messages a tracker does not serve");
    }
}

/* What the tracker makes of a burst: the same reader, then silence. */
static void model_burst(run *r, int k, const char *data, size_t len)
{
    client *c = &r->c[k];
    cc_cheese_msg m;
    cc_err err = {0};
    for (;;) {
        size_t used = 0;
        cc_cheese_status st = cc_cheese_wire_feed(c->model, data, len, &used, &m, &err);
        data += used;
        len -= used;
        if (st == CC_CHEESE_ERROR) {
            if (!c->doomed)
                doom(c, err.msg);
            return;
        }
        if (st == CC_CHEESE_NEED_MORE)
            break;
        model_msg(r, k, &m);
    }
    cc_cheese_status st;
    while ((st = cc_cheese_wire_flush(c->model, &m, &err)) == CC_CHEESE_MSG)
        model_msg(r, k, &m);
    if (st == CC_CHEESE_ERROR && !c->doomed)
        doom(c, err.msg);
}

/* ---- matching what arrived against the model ---- */

static void dump(const client *c)
{
    fprintf(stderr, "fuzz_tracker: received %zu bytes: %.*s\nexpected:", c->in.len,
            (int)c->in.len, c->in.data);
    for (size_t i = 0; i < c->n_exp; i++)
        fprintf(stderr, " %d/%d", (int)c->exp[i].kind, (int)c->exp[i].spelling);
    fputc('\n', stderr);
}

/* A failed expectation shows what arrived and what the model expected. */
static void expect_ok(const client *c, bool ok, const char *what)
{
    if (!ok)
        dump(c);
    check(ok, what);
}

static const char *joined_prefix(cc_cheese_spelling s)
{
    return s == CC_CHEESE_SEED ? "PID" : "TCONNECTRESP:PID";
}

static const char *peers_prefix(cc_cheese_spelling s)
{
    return s == CC_CHEESE_SEED ? "CPSS" : "GETPEERSRESP";
}

static const char *invalid_text(cc_cheese_spelling s)
{
    return s == CC_CHEESE_SEED ? "INVALID_PEER_ID" : "INVALIDPEERID";
}

/* Where the answer to `next` starts, for a REFUSED reason we do not know. */
static const char *start_of(const expect *next)
{
    switch (next->kind) {
    case E_JOINED:
        return next->spelling == CC_CHEESE_SEED ? "PID" : "TCONNECTRESP:";
    case E_PEERS:
        return peers_prefix(next->spelling);
    case E_INVALID:
        return invalid_text(next->spelling);
    default:
        return "REFUSED:";
    }
}

static void match_joined(run *r, int k, const expect *e, size_t *pos)
{
    client *c = &r->c[k];
    const cc_buf *in = &c->in;
    expect_ok(c, fuzz_take(in, pos, joined_prefix(e->spelling)),
              "JOINED expected, in the spelling asked");
    expect_ok(c, in->len - *pos >= ID_LEN - 3, "peer id cut short");
    char id[ID_LEN + 1] = "PID";
    memcpy(id + 3, in->data + *pos, ID_LEN - 3);
    id[ID_LEN] = '\0';
    *pos += ID_LEN - 3;
    expect_ok(c, strspn(id + 3, "0123456789ABCDEF") == ID_LEN - 3,
              "peer id is not 20 upper-case hex");
    if (!e->first_join) {
        expect_ok(c, c->id_current && strcmp(id, c->id) == 0, "a second join changed the peer id");
        return;
    }
    for (int j = 0; j < CLIENTS; j++)
        expect_ok(c, !r->c[j].id_known || strcmp(r->c[j].id, id) != 0,
                  "a peer id was handed out twice");
    memcpy(c->id, id, sizeof id);
    c->id_known = c->id_current = true;
}

static int slot_listed(const run *r, const char *id)
{
    for (int j = 0; j < CLIENTS; j++)
        if (r->c[j].id_current && strcmp(r->c[j].id, id) == 0)
            return j;
    return -1;
}

/* Each entry is a peer in the table when asked, neither the one named nor
 * the asker, listed once, with the address it joined with. */
static void check_entries(const run *r, int k, const expect *e, const json_t *list,
                          cc_buf *printed)
{
    const client *c = &r->c[k];
    uint32_t seen = 0;
    size_t i;
    const json_t *entry;
    json_array_foreach(list, i, entry) {
        const char *id = json_string_value(json_object_get(entry, "peer_id"));
        const char *host = json_string_value(json_object_get(entry, "host"));
        const char *port = json_string_value(json_object_get(entry, "port"));
        expect_ok(c, json_object_size(entry) == 3 && id && host && port, "entry of a peer list");
        int j = slot_listed(r, id);
        expect_ok(c, j >= 0 && (e->joined >> j & 1), "listed a peer that is not in the table");
        expect_ok(c, j != e->named && j != e->asker, "listed the peer named or the asker");
        expect_ok(c, !(seen >> j & 1), "listed a peer twice");
        seen |= 1u << j;
        expect_ok(c, strcmp(host, r->c[j].host) == 0 && strcmp(port, r->c[j].port) == 0,
              "listed a peer with another address");
        cc_buf_printf(printed, "%s{\"peer_id\": \"%s\", \"host\": \"%s\", \"port\": \"%s\"}",
                      i ? ", " : "", id, host, port);
    }
}

static void match_peers(run *r, int k, const expect *e, size_t *pos)
{
    const client *c = &r->c[k];
    const cc_buf *in = &c->in;
    expect_ok(c, fuzz_take(in, pos, peers_prefix(e->spelling)),
              "peer list expected, in the spelling asked");
    json_error_t jerr;
    json_t *list = json_loadb(in->data + *pos, in->len - *pos,
                              JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
    expect_ok(c, json_is_array(list), "a peer list is not a JSON list");
    const char *payload = in->data + *pos;
    size_t len = (size_t)jerr.position;
    *pos += len;
    uint32_t candidates = e->joined & ~(1u << e->named);
    if (e->asker >= 0)
        candidates &= ~(1u << e->asker);
    size_t want = (size_t)__builtin_popcount(candidates);
    expect_ok(c, json_array_size(list) == (want < LIST_MAX ? want : LIST_MAX), "peer list length");
    cc_buf printed = CC_BUF_INIT;
    cc_buf_putc(&printed, '[');
    check_entries(r, k, e, list, &printed);
    cc_buf_putc(&printed, ']');
    expect_ok(c, printed.len == len && memcmp(printed.data, payload, len) == 0,
          "peer list not printed as reference nodes print it");
    cc_cheese_peer_entry *entries = NULL;
    size_t n = cc_cheese_peer_list_parse(payload, len, &entries);
    expect_ok(c, n == json_array_size(list), "the node's parser drops entries of a tracker's list");
    cc_cheese_peer_entries_free(entries, n);
    cc_buf_free(&printed);
    json_decref(list);
}

static void match_refused(const client *c, const expect *e, const expect *next, size_t *pos)
{
    const cc_buf *in = &c->in;
    expect_ok(c, fuzz_take(in, pos, "REFUSED:"), "REFUSED expected");
    if (e->reason[0]) {
        expect_ok(c, fuzz_take(in, pos, e->reason), "REFUSED with another reason");
        return;
    }
    size_t end = in->len;
    if (next) {
        const char *start = start_of(next);
        const char *at = memmem(in->data + *pos, in->len - *pos, start, strlen(start));
        expect_ok(c, at != NULL, "the answer after a REFUSED is missing");
        end = (size_t)(at - in->data);
    }
    expect_ok(c, end > *pos, "REFUSED without a reason");
    for (size_t i = *pos; i < end; i++)
        expect_ok(c, in->data[i] >= 0x20 && in->data[i] < 0x7f, "REFUSED reason not printable");
    *pos = end;
}

static void match(run *r, int k)
{
    client *c = &r->c[k];
    size_t pos = 0;
    if (c->turned_away) {
        check(c->in.len == 0 && c->eof, "a connection over the cap is closed unanswered");
        c->n_exp = 0;
        return;
    }
    for (size_t i = 0; i < c->n_exp; i++) {
        const expect *e = &c->exp[i];
        if (e->kind == E_GREETING)
            expect_ok(c, fuzz_take(&c->in, &pos, "Connection Successful"), "greeting expected");
        if (e->kind == E_INVALID)
            expect_ok(c, fuzz_take(&c->in, &pos, invalid_text(e->spelling)),
                      "INVALID_PEER_ID expected, in the spelling asked");
        if (e->kind == E_JOINED)
            match_joined(r, k, e, &pos);
        if (e->kind == E_PEERS)
            match_peers(r, k, e, &pos);
        if (e->kind == E_REFUSED)
            match_refused(c, e, i + 1 < c->n_exp ? &c->exp[i + 1] : NULL, &pos);
    }
    expect_ok(c, pos == c->in.len, "an answer nobody asked for");
    expect_ok(c, c->eof == c->doomed,
              c->eof ? "closed a connection that did nothing wrong"
                     : "kept a connection it should have closed");
    c->n_exp = 0;
    cc_buf_reset(&c->in);
}

/* Without the model: whatever arrives must read as tracker answers. */
static void look_over(run *r, int k)
{
    client *c = &r->c[k];
    if (c->in.len == 0)
        return;
    cc_cheese_wire_limits lim = {.max_line = 1 << 16, .max_payload = 1 << 20};
    cc_cheese_wire *w = cc_cheese_wire_new(&lim);
    cc_cheese_msg m;
    size_t used = 0, off = 0;
    cc_cheese_status st;
    for (;;) {
        st = cc_cheese_wire_feed(w, c->in.data + off, c->in.len - off, &used, &m, NULL);
        off += used;
        if (st != CC_CHEESE_MSG)
            st = cc_cheese_wire_flush(w, &m, NULL);
        check(st != CC_CHEESE_ERROR, "an answer over the reader's limits");
        if (st != CC_CHEESE_MSG)
            break;
        check(m.cmd == CC_CHEESE_GREETING || m.cmd == CC_CHEESE_JOINED ||
                  m.cmd == CC_CHEESE_PEERS || m.cmd == CC_CHEESE_INVALID_PEER_ID ||
                  m.cmd == CC_CHEESE_REFUSED || m.cmd == CC_CHEESE_HEALTH_CHECK,
              "a tracker sent something no tracker sends");
        if (m.cmd == CC_CHEESE_JOINED && m.arg_len >= ID_LEN) {
            memcpy(c->id, m.arg, ID_LEN);
            c->id[ID_LEN] = '\0';
            c->id_known = true;
        }
    }
    cc_cheese_wire_free(w);
    c->n_exp = 0;
    cc_buf_reset(&c->in);
}

/* ---- sockets and the loop ---- */

static void client_reset(client *c)
{
    c->eof = c->turned_away = c->doomed = c->joined = c->id_current = false;
    c->garbage = 0;
}

static void connect_client(run *r, int k)
{
    client *c = &r->c[k];
    int sv[2];
    check(fuzz_socketpair(sv), "socketpair");
    client_reset(c);
    c->fd = sv[0];
    cc_cheese_wire_free(c->model);
    c->model = cc_cheese_wire_new(&r->cfg.limits);
    struct sockaddr_in addr = fuzz_loopback(40000 + (unsigned)k);
    if (!cc_cheese_tracker_adopt(r->t, sv[1], (const struct sockaddr *)&addr)) {
        c->turned_away = c->doomed = true;
        return;
    }
    push(c, E_GREETING, CC_CHEESE_ANY);
}

static void close_client(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->joined = c->id_current = false;
}

/* Reads what each client was sent; true when anything arrived. At the end
 * of a stream the tracker has let go, and so do we, so that it can free
 * its side. */
static bool receive(run *r)
{
    bool news = false;
    for (int k = 0; k < CLIENTS; k++) {
        client *c = &r->c[k];
        if (c->fd < 0 || !fuzz_receive(c->fd, &c->in, &c->eof))
            continue;
        news = true;
        if (c->eof) {
            close(c->fd);
            c->fd = -1;
            c->joined = false;
        }
    }
    return news;
}

/* The tracker has read all we wrote and holds one connection per open
 * client; in the model, a connection it closes has been seen to close. */
static bool settled(const run *r)
{
    size_t open = 0;
    for (int k = 0; k < CLIENTS; k++) {
        const client *c = &r->c[k];
        if (c->fd < 0)
            continue;
        if (!fuzz_all_read(c->fd))
            return false;
        if (r->model && c->doomed)
            return false;
        open++;
    }
    return cc_cheese_tracker_connections(r->t) == open;
}

static void pump(run *r)
{
    int quiet = 0;
    for (int round = 0; round < PUMP_MAX && quiet < QUIET_ROUNDS; round++) {
        event_base_loop(r->base, EVLOOP_NONBLOCK);
        quiet = receive(r) || !settled(r) ? 0 : quiet + 1;
    }
    for (int k = 0; k < CLIENTS; k++) {
        if (r->model)
            match(r, k);
        else
            look_over(r, k);
    }
    if (r->model)
        check(cc_cheese_tracker_peers(r->t) == (size_t)__builtin_popcount(joined_slots(r)),
              "the tracker's peer count differs from the peers that joined");
}

static void write_burst(run *r)
{
    client *c = &r->c[r->cur];
    if (c->out.len == 0)
        return;
    if (c->fd < 0)
        connect_client(r, r->cur);
    ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
    /* One write, so the tracker never falls silent halfway; a connection it
     * already refused may have gone. */
    check(n == (ssize_t)c->out.len || c->turned_away, "a burst did not fit the socket");
    if (r->model)
        model_burst(r, r->cur, c->out.data, c->out.len);
    cc_buf_reset(&c->out);
}

/* A burst is answered before anything else happens, so that closing a
 * client never races its own answers. */
static void control(run *r, uint8_t b)
{
    bool wrote = r->c[r->cur].out.len > 0;
    if (wrote) {
        write_burst(r);
        pump(r);
    }
    int k = b & 0x0f;
    if ((b & 0xf0) == B_SELECT) {
        r->cur = k;
        if (r->c[k].fd < 0) {
            connect_client(r, k);
            pump(r);
        }
    } else if ((b & 0xf0) == B_CLOSE) {
        close_client(&r->c[k]);
        pump(r);
    } else if (!wrote) {
        pump(r); /* a pause lets timers fall due */
    }
}

static void append(run *r, uint8_t b)
{
    client *c = &r->c[r->cur];
    if ((b & 0xf0) != B_ID) {
        cc_buf_putc(&c->out, (char)b);
        return;
    }
    const client *named = &r->c[b & 0x0f];
    cc_buf_puts(&c->out, named->id_known ? named->id : UNKNOWN_ID);
}

static void configure(run *r, uint8_t b)
{
    static const cc_cheese_wire_limits limits[4] = {
        {64, 64}, {64, 512}, {256, 4096}, {1024, 16384}};
    cc_cheese_tracker_defaults(&r->cfg);
    r->cfg.host = "127.0.0.1";
    r->cfg.port = 0;
    r->cfg.limits = limits[b & 3];
    r->cfg.silence_s = 1e-6;
    r->cfg.probe_ports = false; /* never connect to addresses from the input */
    r->model = !(b & 4);
    double fast = 1e-6, slow = 1e6;
    r->cfg.health_interval_s = r->model ? slow : fast;
    r->cfg.health_timeout_s = r->model || (b & 0x40) ? slow : fast;
    r->cfg.join_timeout_s = r->model || !(b & 8) ? slow : fast;
    r->cfg.max_connections = ((b >> 4) & 3) == 1 ? 2 : 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > INPUT_MAX)
        return 0;
    static const cc_log quiet_log = {.threshold = CC_LOG_WARN, .component = "fuzz-tracker"};
    run r = {0};
    configure(&r, data[0]);
    r.cfg.log = &quiet_log;
    for (int k = 0; k < CLIENTS; k++)
        r.c[k].fd = -1;
    r.base = fuzz_base_new();
    cc_err err = {0};
    r.t = cc_cheese_tracker_start(r.base, &r.cfg, &err);
    check(r.t != NULL, err.msg);
    for (size_t i = 1; i < size; i++) {
        if (data[i] >= B_SELECT)
            control(&r, data[i]);
        else
            append(&r, data[i]);
    }
    control(&r, B_PAUSE);
    for (int k = 0; k < CLIENTS; k++)
        close_client(&r.c[k]);
    pump(&r);
    check(cc_cheese_tracker_peers(r.t) == 0, "peers left after every client closed");
    check(cc_cheese_tracker_connections(r.t) == 0, "connections left after every client closed");
    cc_cheese_tracker_free(r.t);
    event_base_free(r.base);
    for (int k = 0; k < CLIENTS; k++) {
        cc_cheese_wire_free(r.c[k].model);
        cc_buf_free(&r.c[k].out);
        cc_buf_free(&r.c[k].in);
        free(r.c[k].exp);
    }
    return 0;
}
