#include "node/cheese_serve.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/address.h"
#include "net/listener.h"
#include "net/cheese_conn.h"
#include "util/clock.h"
#include "util/mem.h"

#define GARBAGE_MAX 16              /* messages we do not serve, per connection */
#define OUTPUT_MAX (8 * 1024 * 1024) /* unread answers before we stop reading */
#define ID_MAX 67

typedef struct inbound inbound;

struct cc_cheese_serve {
    cc_cheese_serve_config cfg;
    cc_listener *listener;
    inbound *conns;
    size_t n_conns;
    cc_cheese_budget *held; /* unfinished messages, over all connections */
};

struct inbound {
    cc_cheese_serve *s;
    cc_cheese_conn *conn;
    struct event *greet_timer;
    bool greeted;
    unsigned garbage;
    double last_active; /* monotonic time of its last message (or of accept) */
    /* a request waiting for the tracker's word on its id */
    bool checking;
    cc_cheese_cmd pending_cmd;
    cc_cheese_spelling pending_spelling;
    char pending_id[ID_MAX + 1];
    cc_cheese_verdict *awaiting; /* an announcement the node is checking */
    inbound *prev, *next;
};

struct cc_cheese_verdict {
    inbound *in; /* NULL once the connection is gone */
    bool block;  /* else a transaction */
    cc_cheese_spelling spelling;
};

static cc_cheese_spelling answer_spelling(cc_cheese_spelling s)
{
    return s == CC_CHEESE_SEED ? CC_CHEESE_SEED : CC_CHEESE_LATER;
}

static void inbound_free(inbound *in)
{
    cc_cheese_serve *s = in->s;
    if (in->checking)
        cc_tracker_client_cancel(s->cfg.tracker, in);
    if (in->awaiting)
        in->awaiting->in = NULL;
    if (in->prev)
        in->prev->next = in->next;
    else
        s->conns = in->next;
    if (in->next)
        in->next->prev = in->prev;
    s->n_conns--;
    event_free(in->greet_timer);
    free(in);
}

static void greet(inbound *in)
{
    if (in->greeted)
        return;
    in->greeted = true;
    const char *id = in->s->cfg.self_id(in->s->cfg.ctx);
    cc_cheese_conn_send(in->conn, CC_CHEESE_PEER_GREETING, CC_CHEESE_LATER, id, NULL, 0);
}

/* Closes after a last refusal. */
static void finish(inbound *in, const char *reason)
{
    cc_cheese_conn_refuse(in->conn, reason);
    cc_cheese_conn_finish(in->conn);
    inbound_free(in);
}

/* ---- requests ---- */

static void serve(inbound *in, cc_cheese_cmd cmd, cc_cheese_spelling spelling)
{
    cc_cheese_serve *s = in->s;
    cc_buf list = CC_BUF_INIT;
    if (cmd == CC_CHEESE_GET_CHAIN) {
        s->cfg.chain(s->cfg.ctx, &list);
        cc_cheese_conn_send(in->conn, CC_CHEESE_CHAIN, spelling, NULL, list.data, list.len);
    } else {
        s->cfg.open_txs(s->cfg.ctx, &list);
        cc_cheese_conn_send(in->conn, CC_CHEESE_OPEN_TXS, spelling, NULL, list.data, list.len);
    }
    cc_buf_free(&list);
}

static void refuse_id(inbound *in, cc_cheese_spelling spelling)
{
    cc_cheese_conn_send(in->conn, CC_CHEESE_INVALID_PEER_ID, spelling, NULL, NULL, 0);
}

static void on_checked(void *ctx, bool known)
{
    inbound *in = ctx;
    cc_cheese_serve *s = in->s;
    in->checking = false;
    if (known) {
        cc_cheese_peers_vouch(s->cfg.peers, in->pending_id);
        serve(in, in->pending_cmd, in->pending_spelling);
    } else {
        cc_debug(s->cfg.log, "%s asked with id %s, which the tracker does not know",
                 cc_cheese_conn_ip(in->conn), in->pending_id);
        refuse_id(in, in->pending_spelling);
    }
    cc_cheese_conn_pause(in->conn, false);
}

/* The seed era's code adds a field ("GET_CHAIN:ID:PORT", the port of the
 * node whose chain file it wants): the id is what comes before it. */
static size_t request_id_len(const cc_cheese_msg *m)
{
    const char *colon = memchr(m->arg, ':', m->arg_len);
    return colon ? (size_t)(colon - m->arg) : m->arg_len;
}

/* The id the tracker gave us is one it knows. A seed-era tracker gives
 * every peer that same id and cannot be asked about any. */
static bool our_own_id(const cc_cheese_serve *s, const char *id)
{
    const char *self = cc_tracker_client_id(s->cfg.tracker);
    return self && strcmp(self, id) == 0;
}

static void handle_request(inbound *in, const cc_cheese_msg *m)
{
    cc_cheese_serve *s = in->s;
    cc_cheese_spelling spelling = answer_spelling(m->spelling);
    size_t id_len = request_id_len(m);
    if (!cc_cheese_peer_id_valid(m->arg, id_len)) {
        refuse_id(in, spelling);
        return;
    }
    memcpy(in->pending_id, m->arg, id_len);
    in->pending_id[id_len] = '\0';
    if (cc_cheese_peers_known(s->cfg.peers, in->pending_id) || our_own_id(s, in->pending_id)) {
        serve(in, m->cmd, spelling);
        return;
    }
    /* Not seen lately: the tracker has the last word. */
    in->pending_cmd = m->cmd;
    in->pending_spelling = spelling;
    if (!cc_tracker_client_check(s->cfg.tracker, in->pending_id, on_checked, in)) {
        refuse_id(in, spelling);
        return;
    }
    in->checking = true;
    cc_cheese_conn_pause(in->conn, true);
}

/* ";PID..." or ":PID..." (or the bare id) -> the id, or NULL. */
static const char *source_id(const cc_cheese_msg *m)
{
    const char *arg = m->arg;
    size_t len = m->arg_len;
    if (len > 0 && (arg[0] == ';' || arg[0] == ':')) {
        arg++;
        len--;
    }
    return len > 0 && cc_cheese_peer_id_valid(arg, len) ? arg : NULL;
}

/* The node scores what it refused; a peer it bans is closed. */
static bool banned_for(inbound *in, const cc_err *err)
{
    cc_cheese_serve *s = in->s;
    return s->cfg.misbehaved &&
           s->cfg.misbehaved(s->cfg.ctx, cc_cheese_conn_ip(in->conn), cc_err_refusal(err));
}

void cc_cheese_verdict_give(cc_cheese_verdict *v, bool ok, const cc_err *err)
{
    inbound *in = v->in;
    bool block = v->block;
    cc_cheese_spelling spelling = v->spelling;
    free(v);
    if (!in)
        return;
    in->awaiting = NULL;
    cc_cheese_serve *s = in->s;
    if (!ok)
        cc_info(s->cfg.log, "%s from %s refused: %s", block ? "block" : "transaction",
                cc_cheese_conn_ip(in->conn), err->msg);
    if (!ok && banned_for(in, err)) {
        finish(in, "banned: too many invalid messages");
        return;
    }
    cc_cheese_conn_pause(in->conn, in->checking);
    if (block && spelling == CC_CHEESE_SEED)
        return; /* NEW_CHEESE has no answer */
    if (ok)
        cc_cheese_conn_send(in->conn, block ? CC_CHEESE_CHEESE_ACK : CC_CHEESE_TX_ACK,
                            CC_CHEESE_LATER, NULL, NULL, 0);
    else
        cc_cheese_conn_refuse(in->conn, err->msg);
}

/* Reading stops until the node's verdict: answers go out in the order the
 * announcements came. */
static void hand_over(inbound *in, const cc_cheese_msg *m, bool block)
{
    cc_cheese_serve *s = in->s;
    cc_cheese_verdict *v = cc_calloc(1, sizeof *v);
    *v = (cc_cheese_verdict){.in = in, .block = block, .spelling = m->spelling};
    in->awaiting = v;
    cc_cheese_conn_pause(in->conn, true);
    if (block)
        s->cfg.blocks(s->cfg.ctx, m->payload, m->payload_len, source_id(m), v);
    else
        s->cfg.tx(s->cfg.ctx, m->payload, m->payload_len, source_id(m), v);
}

/* Returns false when the connection was closed. */
static bool count_garbage(inbound *in, const char *reason)
{
    if (++in->garbage > GARBAGE_MAX) {
        cc_info(in->s->cfg.log, "closing connection from %s: more than %d messages a node does "
                "not serve", cc_cheese_conn_ip(in->conn), GARBAGE_MAX);
        cc_err why = {0};
        cc_refuse(&why, CC_REFUSAL_MALFORMED, "garbage");
        banned_for(in, &why);
        finish(in, "too many messages a node does not serve");
        return false;
    }
    if (reason)
        cc_cheese_conn_refuse(in->conn, reason);
    return true;
}

static void on_message(void *ctx, const cc_cheese_msg *m)
{
    inbound *in = ctx;
    in->last_active = cc_clock_mono();
    /* A peer that spoke before being greeted does not wait for a greeting,
     * and the references read each answer as whatever one recv() returns:
     * a greeting in front of the answer would hide the answer from them. */
    in->greeted = true;
    evtimer_del(in->greet_timer);
    switch (m->cmd) {
    case CC_CHEESE_GET_CHAIN:
    case CC_CHEESE_GET_OPEN_TXS:
        handle_request(in, m);
        break;
    case CC_CHEESE_NEW_CHEESE:
        hand_over(in, m, true);
        break;
    case CC_CHEESE_NEW_TX:
        hand_over(in, m, false);
        break;
    case CC_CHEESE_HEALTH_CHECK:
        cc_cheese_conn_send(in->conn, CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, NULL, NULL, 0);
        break;
    case CC_CHEESE_HEALTH_ACK:
    case CC_CHEESE_CHEESE_ACK:
    case CC_CHEESE_TX_ACK:
    case CC_CHEESE_PEER_GREETING:
    case CC_CHEESE_GREETING:
        break; /* harmless: nothing to answer */
    case CC_CHEESE_JOIN:
    case CC_CHEESE_GET_PEERS:
        count_garbage(in, "this is a peer, not the tracker");
        break;
    case CC_CHEESE_UNKNOWN:
        cc_debug(in->s->cfg.log, "%s sent unknown text", cc_cheese_conn_ip(in->conn));
        count_garbage(in, "unknown command");
        break;
    default:
        count_garbage(in, NULL); /* an answer nobody asked for */
        break;
    }
}

static void on_closed(void *ctx, const char *why)
{
    inbound *in = ctx;
    cc_debug(in->s->cfg.log, "peer connection from %s closed: %s", cc_cheese_conn_ip(in->conn),
             why);
    inbound_free(in);
}

static const cc_cheese_conn_handlers handlers = {
    .message = on_message,
    .closed = on_closed,
};

/* The silence that earns a greeting must be real: on a busy machine the
 * timer and the peer's first bytes can come due in one turn of the loop,
 * and a greeting then would land in front of the answer the peer waits
 * for (the references read one recv() as the answer). */
static void on_greet_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    inbound *in = arg;
    if (!cc_cheese_conn_has_input(in->conn))
        greet(in);
}

/* ---- accepting ---- */

/* The connection whose last message is oldest makes room for a new one
 * (net/listener.h). */
static bool evict_quietest(void *ctx, const char *why)
{
    cc_cheese_serve *s = ctx;
    inbound *quietest = NULL;
    for (inbound *in = s->conns; in; in = in->next)
        if (!quietest || in->last_active < quietest->last_active)
            quietest = in;
    if (!quietest)
        return false;
    cc_debug(s->cfg.log, "%s: closing the connection from %s, silent for %.1f s", why,
             cc_cheese_conn_ip(quietest->conn), cc_clock_mono() - quietest->last_active);
    cc_cheese_conn_close(quietest->conn);
    inbound_free(quietest);
    return true;
}

/* A banned peer is closed before it costs anything, or pushes anyone out. */
static bool admit(void *ctx, const struct sockaddr *addr)
{
    const cc_cheese_serve *s = ctx;
    cc_addr a;
    return !s->cfg.ip_banned || !cc_addr_from_sockaddr(addr, 1, &a, NULL) ||
           !s->cfg.ip_banned(s->cfg.ctx, a.host);
}

bool cc_cheese_serve_adopt(cc_cheese_serve *s, evutil_socket_t fd, const struct sockaddr *addr)
{
    if (!admit(s, addr)) {
        evutil_closesocket(fd);
        return false;
    }
    if (!cc_listener_make_room(s->listener)) {
        evutil_closesocket(fd);
        return false;
    }
    inbound *in = cc_calloc(1, sizeof *in);
    in->s = s;
    in->last_active = cc_clock_mono();
    in->greet_timer = evtimer_new(s->cfg.base, on_greet_timer, in);
    cc_alloc_check(in->greet_timer);
    cc_cheese_conn_config cfg = {.base = s->cfg.base,
                                 .limits = s->cfg.limits,
                                 .silence_s = s->cfg.silence_s,
                                 .max_output = OUTPUT_MAX,
                                 .budget = s->held,
                                 .log = s->cfg.log};
    in->conn = cc_cheese_conn_accept(&cfg, fd, addr, &handlers, in);
    cc_cheese_conn_set_idle(in->conn, s->cfg.idle_timeout_s);
    in->next = s->conns;
    if (in->next)
        in->next->prev = in;
    s->conns = in;
    s->n_conns++;
    double w = s->cfg.greet_wait_s;
    struct timeval tv = {(time_t)w, (suseconds_t)((w - (double)(time_t)w) * 1e6)};
    evtimer_add(in->greet_timer, &tv);
    return true;
}

static void adopt(void *ctx, evutil_socket_t fd, const struct sockaddr *addr)
{
    cc_cheese_serve_adopt(ctx, fd, addr);
}

static size_t connections(void *ctx) { return cc_cheese_serve_connections(ctx); }

cc_cheese_serve *cc_cheese_serve_start(const cc_cheese_serve_config *cfg, cc_err *err)
{
    cc_cheese_serve *s = cc_calloc(1, sizeof *s);
    s->cfg = *cfg;
    static const cc_listener_owner owner = {.admit = admit,
                                            .accepted = adopt,
                                            .connections = connections,
                                            .evict_quietest = evict_quietest};
    cc_listen_at at = {cfg->host, cfg->port, 512, cfg->max_connections};
    s->listener = cc_listener_start(cfg->base, &at, &owner, s, cfg->log, err);
    if (!s->listener) {
        free(s);
        return NULL;
    }
    s->held = cc_cheese_budget_new(
        cfg->max_held ? cfg->max_held : cc_cheese_budget_default(cfg->limits.max_payload),
        cfg->log);
    return s;
}

void cc_cheese_serve_free(cc_cheese_serve *s)
{
    if (!s)
        return;
    while (s->conns) {
        inbound *in = s->conns;
        cc_cheese_conn_close(in->conn);
        inbound_free(in);
    }
    cc_listener_free(s->listener);
    cc_cheese_budget_free(s->held); /* and with it those still finishing */
    free(s);
}

size_t cc_cheese_serve_connections(const cc_cheese_serve *s) { return s->n_conns; }
