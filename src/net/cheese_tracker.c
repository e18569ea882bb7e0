#include "net/cheese_tracker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "codec/json.h"
#include "crypto/random.h"
#include "net/address.h"
#include "net/listener.h"
#include "net/lookup.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/timeval.h"

#define ID_RANDOM_BYTES 10                      /* 80 bits: "PID" + 20 hex digits */
#define ID_LEN (3 + 2 * ID_RANDOM_BYTES)
#define LIST_MAX 10                             /* peers per list (PROTOCOL.md B.1) */
#define GARBAGE_MAX 16                          /* unknown messages tolerated per connection */
#define OUTPUT_MAX (256 * 1024)                 /* unread answers before we stop reading */
#define LINGER_S 2                              /* see conn_linger */
#define LINGER_BYTES (64 * 1024)
#define WRITE_STALL_S 60                        /* a peer that reads nothing this long is gone */
#define LOOKUP_S 10                             /* longest look-up of a name a peer joins with */
#define FIRST_BUCKETS 1024

typedef struct conn conn;

/* The joined peers: an array for drawing at random, a hash table by id. */
typedef struct registry {
    conn **peers;
    size_t n, cap;
    conn **buckets;
    size_t n_buckets; /* a power of two */
} registry;

struct cc_cheese_tracker {
    cc_cheese_tracker_config cfg;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *accept_retry; /* re-enables accepting after the process ran out of fds */
    int port;
    conn *conns; /* doubly linked, for cleanup and counting */
    size_t n_conns;
    registry reg;
};

/* What the liveness timer of a joined peer waits for. */
typedef enum check_state {
    CHECK_IDLE,  /* the next check, one health interval on */
    CHECK_HCK,   /* HCKACK */
    CHECK_PROBE, /* a greeting on the peer's own port */
} check_state;

typedef enum conn_state {
    CONN_OPEN,
    CONN_CLOSING,   /* a last answer is being written; nothing more is read */
    CONN_LINGERING, /* written and our side shut: discarding input until EOF */
} conn_state;

struct conn {
    cc_cheese_tracker *t;
    struct bufferevent *bev;
    cc_cheese_wire *wire;
    struct event *silence; /* ends an argument the sender stopped after */
    struct event *timer;   /* join deadline, then (later spelling) the liveness check */
    char ip[INET6_ADDRSTRLEN];
    conn_state state;
    bool suspended; /* reading paused until the peer reads our answers */
    cc_lookup *lookup; /* a join by name being looked up: reading paused */
    cc_cheese_spelling lookup_spelling; /* the spelling that join came in */
    unsigned garbage;
    size_t discarded;
    /* the peer, once joined */
    bool joined;
    cc_cheese_spelling spelling;
    char id[ID_LEN + 1];
    char host[CC_ADDR_HOST_MAX]; /* canonical (net/address.h) */
    char port[6];
    size_t index;        /* in registry.peers */
    conn *bucket_next;
    check_state check;
    bool hck_unanswered; /* checked by probes only from then on */
    double hck_sent_at;
    struct bufferevent *probe; /* to host:port, while check is CHECK_PROBE */
    cc_cheese_wire *probe_wire;
    conn *prev, *next;
};

/* ---- registry ---- */

/* FNV-1a: ids are random, and a client can only look ids up, not insert
 * them, so a crafted id cannot lengthen the chains it walks. */
static size_t hash_id(const char *id, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211u;
    return (size_t)h;
}

static void bucket_insert(registry *r, conn *c)
{
    size_t b = hash_id(c->id, ID_LEN) & (r->n_buckets - 1);
    c->bucket_next = r->buckets[b];
    r->buckets[b] = c;
}

static void registry_grow_buckets(registry *r)
{
    free(r->buckets);
    r->n_buckets = r->n_buckets ? r->n_buckets * 2 : FIRST_BUCKETS;
    r->buckets = cc_calloc(r->n_buckets, sizeof *r->buckets);
    for (size_t i = 0; i < r->n; i++)
        bucket_insert(r, r->peers[i]);
}

static conn *registry_find(const registry *r, const char *id, size_t len)
{
    if (len != ID_LEN || r->n_buckets == 0)
        return NULL;
    for (conn *c = r->buckets[hash_id(id, len) & (r->n_buckets - 1)]; c; c = c->bucket_next)
        if (memcmp(c->id, id, len) == 0)
            return c;
    return NULL;
}

static void registry_add(registry *r, conn *c)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->peers = cc_realloc(r->peers, r->cap * sizeof *r->peers);
    }
    c->index = r->n;
    r->peers[r->n++] = c;
    if (r->n > r->n_buckets)
        registry_grow_buckets(r);
    else
        bucket_insert(r, c);
}

static void registry_remove(registry *r, conn *c)
{
    conn **link = &r->buckets[hash_id(c->id, ID_LEN) & (r->n_buckets - 1)];
    while (*link != c)
        link = &(*link)->bucket_next;
    *link = c->bucket_next;
    conn *last = r->peers[--r->n];
    r->peers[c->index] = last;
    last->index = c->index;
}

static void registry_free(registry *r)
{
    free(r->peers);
    free(r->buckets);
}

/* A fresh id no peer has. With 80 random bits a repeat is practically
 * impossible, but checking costs one lookup. */
static void new_peer_id(const registry *r, char out[ID_LEN + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    do {
        unsigned char bytes[ID_RANDOM_BYTES];
        cc_random_bytes(bytes, sizeof bytes);
        memcpy(out, "PID", 3);
        for (size_t i = 0; i < sizeof bytes; i++) {
            out[3 + 2 * i] = digits[bytes[i] >> 4];
            out[4 + 2 * i] = digits[bytes[i] & 15];
        }
        out[ID_LEN] = '\0';
    } while (registry_find(r, out, ID_LEN));
}

static bool contains(const size_t *v, size_t n, size_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Up to `want` (<= LIST_MAX) peers drawn uniformly at random, skipping two.
 * Floyd's algorithm draws want+2 distinct indices without a pass over all
 * peers, so a list costs the same with 20 peers or 100,000; shuffling them
 * before the skipped ones are removed keeps every subset equally likely.
 * A 64-bit draw modulo a peer count is biased by less than 2^-32. */
static size_t pick_peers(const registry *r, const conn *skip1, const conn *skip2, conn **out,
                         size_t want)
{
    size_t draw = want + 2 < r->n ? want + 2 : r->n;
    size_t idx[LIST_MAX + 2];
    uint64_t rnd[2 * (LIST_MAX + 2)];
    cc_random_bytes(rnd, sizeof rnd);
    for (size_t j = r->n - draw, k = 0; j < r->n; j++, k++) {
        size_t pick = (size_t)(rnd[k] % (j + 1));
        idx[k] = contains(idx, k, pick) ? j : pick;
    }
    for (size_t i = draw; i > 1; i--) {
        size_t other = (size_t)(rnd[LIST_MAX + 2 + i - 1] % i);
        size_t tmp = idx[i - 1];
        idx[i - 1] = idx[other];
        idx[other] = tmp;
    }
    size_t n = 0;
    for (size_t i = 0; i < draw && n < want; i++)
        if (r->peers[idx[i]] != skip1 && r->peers[idx[i]] != skip2)
            out[n++] = r->peers[idx[i]];
    return n;
}

/* ---- sending ---- */

/* One message, one write, no terminator (PROTOCOL.md B.1). */
static void send_msg(conn *c, cc_cheese_cmd cmd, cc_cheese_spelling spelling, const char *arg,
                     const cc_buf *payload)
{
    cc_cheese_msg m = {.cmd = cmd,
                       .spelling = spelling,
                       .arg = arg,
                       .arg_len = arg ? strlen(arg) : 0,
                       .payload = payload ? payload->data : NULL,
                       .payload_len = payload ? payload->len : 0};
    cc_cheese_wire_send(c->bev, &m, c->t->cfg.log, c->ip);
    /* A client that asks without reading must not make us buffer without
     * bound: stop reading from it until it has caught up. */
    if (c->state == CONN_OPEN && evbuffer_get_length(bufferevent_get_output(c->bev)) > OUTPUT_MAX) {
        c->suspended = true;
        bufferevent_disable(c->bev, EV_READ);
    }
}

static void refuse(conn *c, const char *reason)
{
    send_msg(c, CC_CHEESE_REFUSED, CC_CHEESE_ANY, reason, NULL);
}

static bool output_pending(const conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) > 0;
}

/* ---- connections ---- */

static void probe_end(conn *c)
{
    if (c->probe)
        bufferevent_free(c->probe);
    cc_cheese_wire_free(c->probe_wire);
    c->probe = NULL;
    c->probe_wire = NULL;
}

static void drop_peer(conn *c, const char *why)
{
    if (!c->joined)
        return;
    registry_remove(&c->t->reg, c);
    c->joined = false;
    c->check = CHECK_IDLE;
    probe_end(c);
    evtimer_del(c->timer);
    cc_info(c->t->cfg.log, "peer %s (%s:%s) dropped: %s; %zu peers", c->id, c->host, c->port, why,
            c->t->reg.n);
}

static void conn_free(conn *c, const char *why)
{
    cc_cheese_tracker *t = c->t;
    drop_peer(c, why);
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->n_conns--;
    probe_end(c);
    event_free(c->silence);
    event_free(c->timer);
    bufferevent_free(c->bev);
    cc_cheese_wire_free(c->wire);
    cc_lookup_cancel(c->lookup);
    free(c);
}

/* Closing a socket with unread input makes the kernel send a reset, which
 * can destroy our last message before the client reads it. So our side is
 * shut, and what still arrives is read and dropped until the client closes,
 * LINGER_S pass or LINGER_BYTES arrive. */
static void conn_linger(conn *c)
{
    c->state = CONN_LINGERING;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    evtimer_del(c->timer);
    struct timeval tv = {LINGER_S, 0};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
}

/* Sends a last message and closes once it is written: the peer is gone
 * from the list at once, the connection a little later. */
static void close_after(conn *c, const char *reason, const char *why)
{
    refuse(c, reason);
    drop_peer(c, why);
    c->state = CONN_CLOSING;
    c->suspended = false;
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->silence);
    if (!output_pending(c))
        conn_linger(c);
}

static void arm_timer(conn *c, double s)
{
    struct timeval tv = cc_timeval_of(s > 0 ? s : 0);
    evtimer_add(c->timer, &tv);
}

/* ---- requests ---- */

/* Every peer is checked once per health interval: with HCK when it joined
 * in the later spelling, else (the seed spelling has none, and would read
 * HCK as an answer) by a probe of its own port. */
static void watch_liveness(conn *c)
{
    probe_end(c);
    c->check = CHECK_IDLE;
    c->hck_unanswered = false;
    arm_timer(c, c->t->cfg.health_interval_s);
}

/* reason goes on the wire, so it is fixed lower-case prose and never
 * quotes what the peer sent (which may hold keywords or control bytes);
 * why, for the log, says more. */
static void refuse_join(conn *c, const char *reason, const char *why)
{
    cc_debug(c->t->cfg.log, "join from %s refused: %s", c->ip, why);
    refuse(c, reason);
}

/* Registers the peer under the canonical form of the address it joined
 * with: the same peer spelt "localhost", "127.000.000.001" or "0177.0.0.1"
 * is listed as 127.0.0.1 every time. Each join still gets its own id, even
 * when another connection joined with the same address: an id is the
 * network's only access control, so replacing the other join would let
 * anyone cut a peer off by naming its address, and refusing this one would
 * let anyone claim an address before its owner joins. Nodes merge the
 * entries, which now compare equal. */
static void finish_join(conn *c, const cc_addr *addr, cc_cheese_spelling spelling)
{
    cc_cheese_tracker *t = c->t;
    snprintf(c->host, sizeof c->host, "%s", addr->host);
    snprintf(c->port, sizeof c->port, "%d", addr->port);
    c->spelling = spelling;
    if (!c->joined) {
        new_peer_id(&t->reg, c->id);
        registry_add(&t->reg, c);
        c->joined = true;
    }
    watch_liveness(c);
    cc_info(t->cfg.log, "peer %s joined from %s as %s:%s (%s spelling); %zu peers", c->id, c->ip,
            c->host, c->port, spelling == CC_CHEESE_LATER ? "later" : "seed", t->reg.n);
    send_msg(c, CC_CHEESE_JOINED, spelling, c->id, NULL);
}

static void process_input(conn *c);

static void on_join_lookup(void *ctx, const cc_addr *addr, const cc_err *err)
{
    conn *c = ctx;
    c->lookup = NULL;
    if (addr)
        finish_join(c, addr, c->lookup_spelling);
    else
        refuse_join(c, "join needs a host name that has an address", err->msg);
    if (c->state != CONN_OPEN || c->suspended)
        return;
    bufferevent_enable(c->bev, EV_READ);
    process_input(c); /* what arrived meanwhile */
}

/* "HOST:PORT", split at the last ':' (or an IPv6 host in brackets); the
 * port is digits only, 1 to 65535. An address is registered at once; a
 * host name is looked up first, and nothing more is read from the
 * connection until the join is answered, so that answers keep the order
 * of the requests. */
static void handle_join(conn *c, const cc_cheese_msg *m)
{
    cc_cheese_tracker *t = c->t;
    const char *host;
    size_t host_len;
    int port;
    cc_addr addr;
    cc_err err = {0};
    if (!cc_addr_split(m->arg, m->arg_len, &host, &host_len, &port, &err)) {
        refuse_join(c, "join needs host:port with a port from 1 to 65535", err.msg);
        return;
    }
    if (cc_addr_make(host, host_len, port, &addr, &err)) {
        finish_join(c, &addr, m->spelling);
        return;
    }
    if (!cc_addr_host_is_name(host, host_len)) {
        refuse_join(c, "join needs a host that is an ip address or a name", err.msg);
        return;
    }
    if (!t->cfg.dns) {
        refuse_join(c, "join needs an ip address: this tracker looks no names up", err.msg);
        return;
    }
    char name[CC_ADDR_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)host_len, host);
    c->lookup_spelling = m->spelling;
    c->lookup = cc_lookup_start(t->base, t->cfg.dns, name, port, LOOKUP_S, on_join_lookup, c);
    bufferevent_disable(c->bev, EV_READ);
}

static void append_entry(cc_buf *out, const conn *p)
{
    cc_buf_puts(out, "{\"peer_id\": ");
    cc_json_append_quoted(out, p->id);
    cc_buf_puts(out, ", \"host\": ");
    cc_json_append_quoted(out, p->host);
    cc_buf_puts(out, ", \"port\": ");
    cc_json_append_quoted(out, p->port);
    cc_buf_putc(out, '}');
}

/* Any known id may be asked about, not only the connection's own: that is
 * how a node learns whether an id is real (docs/cheese-network-wire.md). */
static void handle_get_peers(conn *c, const cc_cheese_msg *m)
{
    const conn *named = registry_find(&c->t->reg, m->arg, m->arg_len);
    if (!named) {
        cc_debug(c->t->cfg.log, "%s asked for peers with an unknown id", c->ip);
        send_msg(c, CC_CHEESE_INVALID_PEER_ID, m->spelling, NULL, NULL);
        return;
    }
    conn *picked[LIST_MAX];
    size_t n = pick_peers(&c->t->reg, named, c->joined ? c : NULL, picked, LIST_MAX);
    cc_buf list = CC_BUF_INIT;
    cc_buf_putc(&list, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cc_buf_puts(&list, ", ");
        append_entry(&list, picked[i]);
    }
    cc_buf_putc(&list, ']');
    send_msg(c, CC_CHEESE_PEERS, m->spelling, NULL, &list);
    cc_buf_free(&list);
}

/* A late HCKACK (its probe already under way) counts as well. */
static void handle_ack(conn *c)
{
    if (c->check == CHECK_IDLE || c->hck_sent_at == 0)
        return; /* unasked for: nothing to do */
    probe_end(c);
    c->check = CHECK_IDLE;
    c->hck_unanswered = false;
    arm_timer(c, c->hck_sent_at + c->t->cfg.health_interval_s - cc_clock_mono());
    c->hck_sent_at = 0;
}

/* Reference trackers answer what they do not understand with silence; so
 * do we, up to a point: a connection that keeps sending it is closed. */
static void handle_other(conn *c, const cc_cheese_msg *m)
{
    const char *what = m->cmd == CC_CHEESE_UNKNOWN ? "unknown text"
                                                   : cc_cheese_cmd_name(m->cmd, m->spelling);
    cc_debug(c->t->cfg.log, "%s sent %s, which a tracker does not serve", c->ip, what);
    if (++c->garbage > GARBAGE_MAX) {
        cc_info(c->t->cfg.log, "closing connection from %s: more than %d messages a tracker "
                "does not serve", c->ip, GARBAGE_MAX);
        close_after(c, "too many messages a tracker does not serve", "sent too much garbage");
    }
}

static void handle(conn *c, const cc_cheese_msg *m)
{
    switch (m->cmd) {
    case CC_CHEESE_JOIN:
        handle_join(c, m);
        break;
    case CC_CHEESE_GET_PEERS:
        handle_get_peers(c, m);
        break;
    case CC_CHEESE_HEALTH_ACK:
        handle_ack(c);
        break;
    default:
        handle_other(c, m);
        break;
    }
}

/* ---- events ---- */

static void arm_silence(conn *c)
{
    bool input_left = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
    if (c->state == CONN_OPEN && !c->lookup && !input_left && cc_cheese_wire_flushable(c->wire)) {
        struct timeval tv = cc_timeval_of(c->t->cfg.silence_s);
        evtimer_add(c->silence, &tv);
    } else {
        evtimer_del(c->silence);
    }
}

static void on_wire_error(conn *c, const cc_err *err)
{
    cc_info(c->t->cfg.log, "closing connection from %s: %s", c->ip, err->msg);
    close_after(c, err->msg, "sent a message over the limits");
}

/* Reads every complete message held in the input, unless the connection
 * closes or is paused on the way. */
static void process_input(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->state == CONN_OPEN && !c->suspended && !c->lookup) {
        cc_cheese_msg m;
        cc_err err = {0};
        cc_cheese_status st = cc_cheese_wire_feed_evbuffer(c->wire, in, &m, &err);
        if (st == CC_CHEESE_ERROR)
            on_wire_error(c, &err);
        else if (st == CC_CHEESE_MSG)
            handle(c, &m);
        else if (evbuffer_get_length(in) == 0)
            break;
    }
    arm_silence(c);
}

static void on_silence(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    cc_cheese_msg m;
    cc_err err = {0};
    while (c->state == CONN_OPEN && !c->lookup) {
        cc_cheese_status st = cc_cheese_wire_flush(c->wire, &m, &err);
        if (st == CC_CHEESE_NEED_MORE)
            break;
        if (st == CC_CHEESE_ERROR)
            on_wire_error(c, &err);
        else
            handle(c, &m);
    }
    arm_silence(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->state == CONN_LINGERING) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->discarded += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->discarded > LINGER_BYTES)
            conn_free(c, "closed");
        return;
    }
    process_input(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (c->state == CONN_CLOSING) {
        conn_linger(c);
    } else if (c->state == CONN_OPEN && c->suspended) {
        c->suspended = false;
        if (c->lookup)
            return; /* reading resumes once the join is answered */
        bufferevent_enable(c->bev, EV_READ);
        process_input(c); /* what arrived while paused is already in the buffer */
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_EOF)
        conn_free(c, "connection closed");
    else if (what & BEV_EVENT_ERROR)
        conn_free(c, "connection failed");
    else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING))
        conn_free(c, "reads nothing we send");
    else if (what & BEV_EVENT_TIMEOUT)
        conn_free(c, "closed");
}

static void start_probe(conn *c);

static void send_hck(conn *c)
{
    send_msg(c, CC_CHEESE_HEALTH_CHECK, CC_CHEESE_LATER, NULL, NULL);
    c->check = CHECK_HCK;
    c->hck_sent_at = cc_clock_mono();
    arm_timer(c, c->t->cfg.health_timeout_s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    cc_cheese_tracker *t = c->t;
    if (c->state != CONN_OPEN)
        return;
    if (!c->joined) {
        cc_debug(t->cfg.log, "closing connection from %s: no join within %g s", c->ip,
                 t->cfg.join_timeout_s);
        conn_free(c, "did not join");
        return;
    }
    switch (c->check) {
    case CHECK_IDLE:
        if (c->spelling == CC_CHEESE_LATER && !c->hck_unanswered)
            send_hck(c);
        else
            start_probe(c);
        break;
    case CHECK_HCK:
        /* The later reference never answers HCK: nothing reads its tracker
         * connection between requests. A peer that greets on its port is
         * alive all the same. */
        cc_debug(t->cfg.log, "peer %s sent no HCKACK in time; probing %s:%s", c->id, c->host,
                 c->port);
        c->hck_unanswered = true;
        start_probe(c);
        break;
    case CHECK_PROBE:
        conn_free(c, "no greeting on its port in time");
        break;
    }
}

/* ---- probes: a live peer greets whoever connects to its port ---- */

static void probe_passed(conn *c)
{
    probe_end(c);
    c->check = CHECK_IDLE;
    arm_timer(c, c->t->cfg.health_interval_s);
}

/* A greeting counts as soon as its keyword is in: its id may end only at
 * the silence of the peer, and it is not needed. */
static void on_probe_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    for (;;) {
        cc_cheese_msg m;
        cc_err err = {0};
        cc_cheese_status st = cc_cheese_wire_feed_evbuffer(c->probe_wire,
                                                           bufferevent_get_input(bev), &m, &err);
        if (st == CC_CHEESE_ERROR) {
            conn_free(c, "sent something else than a greeting on its port");
            return;
        }
        if ((st == CC_CHEESE_MSG && m.cmd == CC_CHEESE_PEER_GREETING) ||
            cc_cheese_wire_pending(c->probe_wire) == CC_CHEESE_PEER_GREETING) {
            probe_passed(c);
            return;
        }
        if (st == CC_CHEESE_NEED_MORE && evbuffer_get_length(bufferevent_get_input(bev)) == 0)
            return;
    }
}

static void on_probe_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    conn_free(c, what & BEV_EVENT_EOF ? "closed its port without a greeting"
                                      : "cannot be reached on its port");
}

/* The host is canonical, so libevent reads it as we do. */
static bool probe_connect(conn *c)
{
    char spec[CC_ADDR_TEXT_MAX];
    snprintf(spec, sizeof spec, strchr(c->host, ':') ? "[%s]:%s" : "%s:%s", c->host, c->port);
    struct sockaddr_storage addr;
    int addr_len = sizeof addr;
    return evutil_parse_sockaddr_port(spec, (struct sockaddr *)&addr, &addr_len) == 0 &&
           bufferevent_socket_connect(c->probe, (struct sockaddr *)&addr, addr_len) == 0;
}

static void start_probe(conn *c)
{
    cc_cheese_tracker *t = c->t;
    if (!t->cfg.probe_ports) {
        if (c->check == CHECK_HCK)
            conn_free(c, "no HCKACK in time");
        else
            c->check = CHECK_IDLE; /* unchecked: only a close drops it */
        return;
    }
    c->check = CHECK_PROBE;
    /* Deferred callbacks: a connect refused at once is reported from the
     * loop, never from inside this function. */
    c->probe = bufferevent_socket_new(t->base, -1,
                                      BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    c->probe_wire = cc_cheese_wire_new(&t->cfg.limits);
    if (!c->probe) {
        fputs("cheesechain: out of memory\n", stderr);
        abort();
    }
    bufferevent_setcb(c->probe, on_probe_read, NULL, on_probe_event, c);
    bufferevent_enable(c->probe, EV_READ);
    arm_timer(c, t->cfg.health_timeout_s);
    if (!probe_connect(c))
        conn_free(c, "cannot be reached on its port");
}

/* ---- accepting ---- */

static void peer_ip_text(const struct sockaddr *addr, char out[INET6_ADDRSTRLEN])
{
    out[0] = '\0';
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

/* Each message is complete when written, so Nagle's delay only holds it
 * back (and would glue messages that reference peers read one recv() at a
 * time). Keepalive finds seed-spelling peers whose host vanished, since
 * they have no HCK: gone after about 2 minutes of silence from the host. */
static void tune_socket(evutil_socket_t fd)
{
    int on = 1, idle = 60, interval = 10, count = 6;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

static conn *conn_new(cc_cheese_tracker *t, evutil_socket_t fd, const struct sockaddr *addr)
{
    conn *c = cc_calloc(1, sizeof *c);
    c->t = t;
    c->wire = cc_cheese_wire_new(&t->cfg.limits);
    c->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->silence = evtimer_new(t->base, on_silence, c);
    c->timer = evtimer_new(t->base, on_timer, c);
    if (!c->bev || !c->silence || !c->timer) {
        fputs("cheesechain: out of memory\n", stderr);
        abort();
    }
    peer_ip_text(addr, c->ip);
    c->next = t->conns;
    if (c->next)
        c->next->prev = c;
    t->conns = c;
    t->n_conns++;
    return c;
}

bool cc_cheese_tracker_adopt(cc_cheese_tracker *t, evutil_socket_t fd, const struct sockaddr *addr)
{
    if (t->n_conns >= t->cfg.max_connections) {
        evutil_closesocket(fd);
        return false;
    }
    tune_socket(fd);
    conn *c = conn_new(t, fd, addr);
    struct timeval stall = {WRITE_STALL_S, 0};
    bufferevent_set_timeouts(c->bev, NULL, &stall);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    arm_timer(c, t->cfg.join_timeout_s);
    send_msg(c, CC_CHEESE_GREETING, CC_CHEESE_ANY, NULL, NULL);
    return true;
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                      int addr_len, void *arg)
{
    (void)listener;
    (void)addr_len;
    cc_cheese_tracker_adopt(arg, fd, addr);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_cheese_tracker *t = arg;
    evconnlistener_enable(t->listener);
}

/* Out of file descriptors, the pending connection stays in the backlog and
 * the listener would fire again at once: pause accepting for a second. */
static void on_accept_error(struct evconnlistener *listener, void *arg)
{
    cc_cheese_tracker *t = arg;
    int e = EVUTIL_SOCKET_ERROR();
    cc_warn(t->cfg.log, "accept failed: %s", evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        evconnlistener_disable(listener);
        struct timeval second = {1, 0};
        evtimer_add(t->accept_retry, &second);
    }
}

/* ---- start and stop ---- */

void cc_cheese_tracker_defaults(cc_cheese_tracker_config *cfg)
{
    *cfg = (cc_cheese_tracker_config){
        .host = "127.0.0.1",
        .port = 9999,
        .health_interval_s = 15,
        .health_timeout_s = 5,
        .join_timeout_s = 60,
        .silence_s = 0.1,
        .max_connections = 100000,
        .probe_ports = true,
        .limits = {.max_line = 1024, .max_payload = 16 * 1024},
    };
}

static bool check_config(const cc_cheese_tracker_config *cfg, cc_err *err)
{
    if (!(cfg->health_interval_s > 0) || !(cfg->health_timeout_s > 0) ||
        !(cfg->join_timeout_s > 0) || !(cfg->silence_s > 0))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "tracker timings must be positive");
    if (cfg->limits.max_line < 64 || cfg->limits.max_payload < 64 || cfg->max_connections == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "tracker limits are too small");
    return true;
}

static int bound_port(struct evconnlistener *listener)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(evconnlistener_get_fd(listener), (struct sockaddr *)&addr, &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

cc_cheese_tracker *cc_cheese_tracker_start(struct event_base *base,
                                           const cc_cheese_tracker_config *cfg, cc_err *err)
{
    if (!check_config(cfg, err))
        return NULL;
    cc_cheese_tracker *t = cc_calloc(1, sizeof *t);
    t->cfg = *cfg;
    t->base = base;
    /* A large backlog: thousands of peers may connect at once after a restart. */
    t->listener = cc_listener_bind(base, cfg->host, cfg->port, 4096, on_accept, t, err);
    if (!t->listener) {
        free(t);
        return NULL;
    }
    evconnlistener_set_error_cb(t->listener, on_accept_error);
    t->accept_retry = evtimer_new(base, on_accept_retry, t);
    t->port = bound_port(t->listener);
    return t;
}

void cc_cheese_tracker_free(cc_cheese_tracker *t)
{
    if (!t)
        return;
    while (t->conns)
        conn_free(t->conns, "tracker stopping");
    evconnlistener_free(t->listener);
    event_free(t->accept_retry);
    registry_free(&t->reg);
    free(t);
}

int cc_cheese_tracker_port(const cc_cheese_tracker *t) { return t->port; }

size_t cc_cheese_tracker_peers(const cc_cheese_tracker *t) { return t->reg.n; }

size_t cc_cheese_tracker_connections(const cc_cheese_tracker *t) { return t->n_conns; }
