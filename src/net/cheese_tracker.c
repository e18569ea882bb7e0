#include "net/cheese_tracker.h"

#include <arpa/inet.h>
#include <event2/dns.h>
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
#include "net/cheese_conn.h"
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
#define LOOKUP_S 10                             /* longest look-up of a name a peer joins with */
#define FIRST_BUCKETS 1024
#define POOL_WORDS 512                          /* 4 KiB of kernel randomness: ~20 lists */

typedef struct conn conn;

/* The joined peers: an array for drawing at random, a hash table by id. */
typedef struct registry {
    conn **peers;
    size_t n, cap;
    conn **buckets;
    size_t n_buckets; /* a power of two */
} registry;

/* Random words for drawing peer lists, fetched from the kernel in bulk: a
 * getrandom() call per list was one system call more per answer. The words
 * are the kernel's own, so the lists stay as unpredictable. */
typedef struct random_pool {
    uint64_t words[POOL_WORDS];
    size_t used; /* words[used..] are fresh; POOL_WORDS: empty */
} random_pool;

struct cc_cheese_tracker {
    cc_cheese_tracker_config cfg;
    struct event_base *base;
    cc_listener *listener;
    conn *conns; /* doubly linked, for cleanup and counting */
    size_t n_conns;
    registry reg;
    random_pool pool;
    cc_buf list; /* the peer list being answered, kept to spare an allocation per list */
};

/* What the liveness timer of a joined peer waits for. */
typedef enum check_state {
    CHECK_IDLE,  /* the next check, one health interval on */
    CHECK_HCK,   /* HCKACK */
    CHECK_PROBE, /* a greeting on the peer's own port */
} check_state;

/* One client of the tracker: its connection (net/cheese_conn.h), and the
 * peer it joined as. The conn lives exactly as long as its link. */
struct conn {
    cc_cheese_tracker *t;
    cc_cheese_conn *link;
    struct event *timer;   /* join deadline, then the liveness check */
    char ip[INET6_ADDRSTRLEN];
    cc_lookup *lookup; /* a join by name being looked up: reading paused */
    cc_cheese_spelling lookup_spelling; /* the spelling that join came in */
    unsigned garbage;
    /* the peer, once joined */
    bool joined;
    cc_cheese_spelling spelling;
    char id[ID_LEN + 1];
    char host[CC_ADDR_HOST_MAX]; /* canonical (net/address.h) */
    char port[6];
    /* Its entry in peer lists, rendered once per address it joins with:
     * quoting three strings for each of ten entries of every list was
     * most of what a list cost. */
    cc_buf entry;
    size_t index;        /* in registry.peers */
    conn *bucket_next;
    check_state check;
    bool hck_unanswered; /* checked by probes only from then on */
    double hck_sent_at;
    cc_cheese_conn *probe; /* to host:port, while check is CHECK_PROBE */
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

/* The next random word, refilling the pool from the kernel when it is used up. */
static uint64_t random_word(random_pool *p)
{
    if (p->used == POOL_WORDS) {
        cc_random_bytes(p->words, sizeof p->words);
        p->used = 0;
    }
    return p->words[p->used++];
}

/* Up to `want` (<= LIST_MAX) peers drawn uniformly at random, skipping two.
 * Floyd's algorithm draws want+2 distinct indices without a pass over all
 * peers, so a list costs the same with 20 peers or 100,000; shuffling them
 * before the skipped ones are removed keeps every subset equally likely.
 * A 64-bit draw modulo a peer count is biased by less than 2^-32. */
static size_t pick_peers(const registry *r, random_pool *pool, const conn *skip1,
                         const conn *skip2, conn **out, size_t want)
{
    size_t draw = want + 2 < r->n ? want + 2 : r->n;
    size_t idx[LIST_MAX + 2];
    for (size_t j = r->n - draw, k = 0; j < r->n; j++, k++) {
        size_t pick = (size_t)(random_word(pool) % (j + 1));
        idx[k] = contains(idx, k, pick) ? j : pick;
    }
    for (size_t i = draw; i > 1; i--) {
        size_t other = (size_t)(random_word(pool) % i);
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

/* One message, one write, no terminator (PROTOCOL.md B.1); a client that
 * asks without reading stops being read (net/cheese_conn.h). */
static void send_msg(conn *c, cc_cheese_cmd cmd, cc_cheese_spelling spelling, const char *arg,
                     const cc_buf *payload)
{
    cc_cheese_conn_send(c->link, cmd, spelling, arg, payload ? payload->data : NULL,
                        payload ? payload->len : 0);
}

static void refuse(conn *c, const char *reason)
{
    cc_cheese_conn_refuse(c->link, reason);
}

/* ---- connections ---- */

static void probe_end(conn *c)
{
    cc_cheese_conn_close(c->probe);
    c->probe = NULL;
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
    event_free(c->timer);
    cc_cheese_conn_close(c->link);
    cc_lookup_cancel(c->lookup);
    cc_buf_free(&c->entry);
    free(c);
}

/* Sends a last message and closes once it is written: the peer is gone
 * from the list at once, the connection a little later. */
static void close_after(conn *c, const char *reason, const char *why)
{
    refuse(c, reason);
    cc_cheese_conn_finish(c->link);
    c->link = NULL;
    conn_free(c, why);
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

/* The peer's entry in lists, as reference trackers print it. */
static void render_entry(conn *c)
{
    cc_buf *out = &c->entry;
    cc_buf_reset(out);
    cc_buf_puts(out, "{\"peer_id\": ");
    cc_json_append_quoted(out, c->id);
    cc_buf_puts(out, ", \"host\": ");
    cc_json_append_quoted(out, c->host);
    cc_buf_puts(out, ", \"port\": ");
    cc_json_append_quoted(out, c->port);
    cc_buf_putc(out, '}');
}

/* --allow: a private network's tracker registers only its own nodes. */
static bool allowed(const cc_cheese_tracker *t, const cc_addr *addr)
{
    for (size_t i = 0; i < t->cfg.n_allow; i++)
        if (cc_addr_equal(addr, &t->cfg.allow[i]))
            return true;
    return t->cfg.n_allow == 0;
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
    if (!allowed(t, addr)) {
        cc_info(t->cfg.log, "join from %s as %s:%d refused: not an address this tracker allows",
                c->ip, addr->host, addr->port);
        refuse(c, "join refused: this tracker takes only the addresses it was told to allow");
        return;
    }
    char port[sizeof c->port];
    snprintf(port, sizeof port, "%d", addr->port);
    bool moved = !c->joined || strcmp(c->host, addr->host) != 0 || strcmp(c->port, port) != 0;
    snprintf(c->host, sizeof c->host, "%s", addr->host);
    memcpy(c->port, port, sizeof port);
    c->spelling = spelling;
    if (!c->joined) {
        new_peer_id(&t->reg, c->id);
        registry_add(&t->reg, c);
        c->joined = true;
    }
    if (moved)
        render_entry(c);
    watch_liveness(c);
    cc_info(t->cfg.log, "peer %s joined from %s as %s:%s (%s spelling); %zu peers", c->id, c->ip,
            c->host, c->port, spelling == CC_CHEESE_LATER ? "later" : "seed", t->reg.n);
    send_msg(c, CC_CHEESE_JOINED, spelling, c->id, NULL);
}

static void on_join_lookup(void *ctx, const cc_addr *addr, const cc_err *err)
{
    conn *c = ctx;
    c->lookup = NULL;
    if (addr)
        finish_join(c, addr, c->lookup_spelling);
    else
        refuse_join(c, "join needs a host name that has an address", err->msg);
    cc_cheese_conn_pause(c->link, false); /* what arrived meanwhile is read now */
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
    cc_cheese_conn_pause(c->link, true);
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
    cc_cheese_tracker *t = c->t;
    conn *picked[LIST_MAX];
    size_t n = pick_peers(&t->reg, &t->pool, named, c->joined ? c : NULL, picked, LIST_MAX);
    cc_buf *list = &t->list;
    cc_buf_reset(list);
    cc_buf_putc(list, '[');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cc_buf_append(list, ", ", 2);
        cc_buf_append(list, picked[i]->entry.data, picked[i]->entry.len);
    }
    cc_buf_putc(list, ']');
    send_msg(c, CC_CHEESE_PEERS, m->spelling, NULL, list);
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

static void on_message(void *ctx, const cc_cheese_msg *m)
{
    handle(ctx, m);
}

static void on_closed(void *ctx, const char *why)
{
    conn *c = ctx;
    cc_debug(c->t->cfg.log, "connection from %s closed: %s", c->ip, why);
    c->link = NULL; /* gone already */
    conn_free(c, why);
}

static const cc_cheese_conn_handlers link_handlers = {.message = on_message, .closed = on_closed};

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

static void on_probe_message(void *ctx, const cc_cheese_msg *m)
{
    conn *c = ctx;
    if (m->cmd == CC_CHEESE_PEER_GREETING)
        probe_passed(c);
    else
        conn_free(c, "sent something else than a greeting on its port");
}

static void on_probe_closed(void *ctx, const char *why)
{
    conn *c = ctx;
    cc_debug(c->t->cfg.log, "probe of %s:%s: %s", c->host, c->port, why);
    c->probe = NULL; /* gone already */
    conn_free(c, "no greeting on its port");
}

static const cc_cheese_conn_handlers probe_handlers = {.message = on_probe_message,
                                                       .closed = on_probe_closed};

static cc_cheese_conn_config link_config(const cc_cheese_tracker *t)
{
    return (cc_cheese_conn_config){.base = t->base,
                                   .limits = t->cfg.limits,
                                   .silence_s = t->cfg.silence_s,
                                   .max_output = OUTPUT_MAX,
                                   .log = t->cfg.log};
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
    arm_timer(c, t->cfg.health_timeout_s);
    /* The host is canonical, so it is an address: nothing is looked up. A
     * connect refused at once is reported from the loop (closed). */
    cc_cheese_conn_config cfg = link_config(t);
    cc_err err = {0};
    c->probe = cc_cheese_conn_connect(&cfg, c->host, atoi(c->port), &probe_handlers, c, &err);
    if (!c->probe)
        conn_free(c, "cannot be reached on its port");
}

/* ---- accepting ---- */

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
    cc_cheese_conn_config cfg = link_config(t);
    c->link = cc_cheese_conn_accept(&cfg, fd, addr, &link_handlers, c);
    c->timer = evtimer_new(t->base, on_timer, c);
    cc_alloc_check(c->timer);
    snprintf(c->ip, sizeof c->ip, "%s", cc_cheese_conn_ip(c->link));
    c->next = t->conns;
    if (c->next)
        c->next->prev = c;
    t->conns = c;
    t->n_conns++;
    return c;
}

bool cc_cheese_tracker_adopt(cc_cheese_tracker *t, evutil_socket_t fd, const struct sockaddr *addr)
{
    if (!cc_listener_make_room(t->listener)) {
        evutil_closesocket(fd);
        return false;
    }
    tune_socket(fd);
    conn *c = conn_new(t, fd, addr);
    arm_timer(c, t->cfg.join_timeout_s);
    send_msg(c, CC_CHEESE_GREETING, CC_CHEESE_ANY, NULL, NULL);
    return true;
}

static void adopt(void *ctx, evutil_socket_t fd, const struct sockaddr *addr)
{
    cc_cheese_tracker_adopt(ctx, fd, addr);
}

static size_t joined_or_joining(void *ctx)
{
    const cc_cheese_tracker *t = ctx;
    return t->n_conns;
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

cc_cheese_tracker *cc_cheese_tracker_start(struct event_base *base,
                                           const cc_cheese_tracker_config *cfg, cc_err *err)
{
    if (!check_config(cfg, err))
        return NULL;
    cc_cheese_tracker *t = cc_calloc(1, sizeof *t);
    t->cfg = *cfg;
    t->base = base;
    t->pool.used = POOL_WORDS;
    /* No eviction: a peer's connection is its membership. */
    static const cc_listener_owner owner = {.accepted = adopt, .connections = joined_or_joining};
    /* A large backlog: thousands of peers may connect at once after a restart. */
    cc_listen_at at = {cfg->host, cfg->port, 4096, cfg->max_connections};
    t->listener = cc_listener_start(base, &at, &owner, t, cfg->log, err);
    if (t->listener)
        return t;
    cc_cheese_tracker_free(t);
    return NULL;
}

void cc_cheese_tracker_free(cc_cheese_tracker *t)
{
    if (!t)
        return;
    while (t->conns)
        conn_free(t->conns, "tracker stopping");
    cc_listener_free(t->listener);
    registry_free(&t->reg);
    cc_buf_free(&t->list);
    free(t);
}

int cc_cheese_tracker_port(const cc_cheese_tracker *t) { return cc_listener_port(t->listener); }

size_t cc_cheese_tracker_peers(const cc_cheese_tracker *t) { return t->reg.n; }

size_t cc_cheese_tracker_connections(const cc_cheese_tracker *t) { return t->n_conns; }
