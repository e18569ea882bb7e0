#include "net/cheese_conn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net/send_now.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/timeval.h"

#define LINGER_S 2                /* see linger() */
#define LINGER_BYTES (64 * 1024)
#define WRITE_STALL_S 60          /* a peer that reads nothing this long is gone */
#define REASON_MAX 200
#define OVER_BUDGET "the node holds too many unfinished messages"

typedef enum conn_state {
    ST_OPEN,      /* connected (or connecting): reading and writing */
    ST_CLOSING,   /* finishing: writing what is left, reading nothing */
    ST_LINGERING, /* written and our side shut: discarding input until EOF */
    ST_DEAD,      /* closed inside a handler: freed when the handler returns */
} conn_state;

struct cc_cheese_conn {
    cc_cheese_conn_config cfg;
    cc_cheese_conn_handlers h;
    void *ctx;
    struct bufferevent *bev;
    cc_cheese_wire *wire;
    struct event *silence;
    char ip[INET6_ADDRSTRLEN];
    conn_state state;
    bool paused;    /* by the owner */
    bool suspended; /* by us: the other side does not read what we write */
    bool connected; /* the socket is up: a message may go to it directly */
    double idle_s;
    int busy;       /* depth of our libevent callbacks on the stack */
    bool starting;  /* inside cc_cheese_conn_connect: failures are returned, not told */
    size_t discarded;
    /* the budget this connection belongs to (NULL: none), its share (0
     * once it stopped reading), and its place in the budget's list */
    cc_cheese_budget *budget;
    size_t held;
    double last_read; /* monotonic time of the last bytes read (or of the start) */
    cc_cheese_conn *budget_prev, *budget_next;
};

struct cc_cheese_budget {
    size_t max;
    size_t held;
    /* Every connection given it, until freed: also those that their owners
     * let go while they write a last answer or linger, which would
     * otherwise outlive the loop when the node stops. */
    cc_cheese_conn *conns;
    const cc_log *log;
};

static void destroy(cc_cheese_conn *c);

static struct timeval timeval_of(double s)
{
    return cc_timeval_of(s < 0 ? 0 : s);
}

/* ---- the budget ---- */

size_t cc_cheese_budget_default(size_t max_message)
{
    return max_message > CC_CHEESE_HELD_MIN / 2 ? 2 * max_message : CC_CHEESE_HELD_MIN;
}

cc_cheese_budget *cc_cheese_budget_new(size_t max_bytes, const cc_log *log)
{
    cc_cheese_budget *b = cc_calloc(1, sizeof *b);
    b->max = max_bytes;
    b->log = log;
    return b;
}

void cc_cheese_budget_free(cc_cheese_budget *b)
{
    if (!b)
        return;
    while (b->conns)
        destroy(b->conns); /* finishing ones: their owners let them go */
    free(b);
}

size_t cc_cheese_budget_held(const cc_cheese_budget *b) { return b->held; }

size_t cc_cheese_budget_max(const cc_cheese_budget *b) { return b->max; }

static void budget_join(cc_cheese_conn *c, cc_cheese_budget *b)
{
    c->budget = b;
    c->budget_next = b->conns;
    if (b->conns)
        b->conns->budget_prev = c;
    b->conns = c;
}

/* A connection that stops reading holds nothing more for long: its share
 * goes at once. */
static void budget_release(cc_cheese_conn *c)
{
    if (!c->budget)
        return;
    c->budget->held -= c->held;
    c->held = 0;
}

static void budget_leave(cc_cheese_conn *c)
{
    cc_cheese_budget *b = c->budget;
    if (!b)
        return;
    budget_release(c);
    if (c->budget_prev)
        c->budget_prev->budget_next = c->budget_next;
    else
        b->conns = c->budget_next;
    if (c->budget_next)
        c->budget_next->budget_prev = c->budget_prev;
    c->budget = NULL;
    c->budget_prev = c->budget_next = NULL;
}

static void note_held(cc_cheese_conn *c)
{
    if (!c->budget || c->state != ST_OPEN)
        return;
    size_t now = cc_cheese_wire_held(c->wire);
    c->budget->held = c->budget->held - c->held + now;
    c->held = now;
}

/* Among the connections holding at least `least` (> 0) bytes of a
 * message, the one that sent nothing for longest. */
static cc_cheese_conn *quietest_holding(const cc_cheese_budget *b, size_t least)
{
    cc_cheese_conn *found = NULL;
    for (cc_cheese_conn *c = b->conns; c; c = c->budget_next)
        if (c->held >= least && (!found || c->last_read < found->last_read))
            found = c;
    return found;
}

/* The connection to close: the quietest holder, but among those holding at
 * least 1/SMALL_SHARE of the bound while there are any. A well-behaved peer
 * holds a few bytes for as long as the silence that ends its request takes
 * ("HCK", "GETCHAIN:ID", a greeting; a tenth of a second), which can be
 * longer than since the last read of a peer streaming megabytes: closing it
 * would free next to nothing. */
#define SMALL_SHARE 64
static cc_cheese_conn *victim_of(const cc_cheese_budget *b)
{
    size_t small = b->max / SMALL_SHARE;
    cc_cheese_conn *large = small > 1 ? quietest_holding(b, small) : NULL;
    return large ? large : quietest_holding(b, 1);
}

/* ---- lifetime ---- */

static void destroy(cc_cheese_conn *c)
{
    budget_leave(c);
    event_free(c->silence);
    bufferevent_free(c->bev);
    cc_cheese_wire_free(c->wire);
    free(c);
}

/* Every libevent callback runs between enter and leave, so that a handler
 * may close the connection it was called for. */
static void enter(cc_cheese_conn *c) { c->busy++; }

/* A connection that no longer reads needs no reader: what it held for an
 * unfinished message goes now, not when its last bytes are written. */
static void drop_reader(cc_cheese_conn *c)
{
    cc_cheese_wire_free(c->wire);
    c->wire = NULL;
}

static void leave(cc_cheese_conn *c)
{
    if (--c->busy > 0)
        return;
    if (c->state == ST_DEAD)
        destroy(c);
    else if (c->state != ST_OPEN)
        drop_reader(c);
}

static void kill_conn(cc_cheese_conn *c)
{
    if (c->busy > 0) {
        c->state = ST_DEAD;
        budget_release(c);
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        evtimer_del(c->silence);
    } else {
        destroy(c);
    }
}

static void linger(cc_cheese_conn *c);
static bool output_pending(const cc_cheese_conn *c);

/* The connection is gone on its own: tell the owner once, then free, or,
 * when the other side only shut its sending half and answers are still
 * being written, free once they are. */
static void gone(cc_cheese_conn *c, const char *why, bool can_write)
{
    bool tell = c->state == ST_OPEN && c->h.closed && !c->starting;
    c->state = ST_DEAD;
    budget_release(c);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evtimer_del(c->silence);
    if (tell)
        c->h.closed(c->ctx, why);
    if (can_write && c->state == ST_DEAD && output_pending(c)) {
        c->state = ST_CLOSING;
        bufferevent_enable(c->bev, EV_WRITE);
    }
}

/* Closing a socket with unread input makes the kernel send a reset, which
 * can destroy our last message before the other side reads it. So our side
 * is shut, and what still arrives is read and dropped until the other side
 * closes, LINGER_S pass or LINGER_BYTES arrive. */
static void linger(cc_cheese_conn *c)
{
    c->state = ST_LINGERING;
    evtimer_del(c->silence);
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    struct timeval tv = {LINGER_S, 0};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
}

static bool output_pending(const cc_cheese_conn *c)
{
    return evbuffer_get_length(bufferevent_get_output(c->bev)) > 0;
}

static void update_reading(cc_cheese_conn *c)
{
    if (c->state != ST_OPEN)
        return;
    if (c->paused || c->suspended)
        bufferevent_disable(c->bev, EV_READ);
    else
        bufferevent_enable(c->bev, EV_READ);
}

/* ---- reading ---- */

static void arm_silence(cc_cheese_conn *c)
{
    bool input_left = evbuffer_get_length(bufferevent_get_input(c->bev)) > 0;
    if (c->state == ST_OPEN && !input_left && cc_cheese_wire_flushable(c->wire)) {
        struct timeval tv = timeval_of(c->cfg.silence_s);
        evtimer_add(c->silence, &tv);
    } else {
        evtimer_del(c->silence);
    }
}

/* Refuses with reason, closes once that is written, and tells the owner. */
/* Reads nothing more; closes once what was sent is written. */
static void begin_closing(cc_cheese_conn *c)
{
    c->state = ST_CLOSING;
    budget_release(c);
    bufferevent_disable(c->bev, EV_READ);
    evtimer_del(c->silence);
    if (!output_pending(c))
        linger(c);
}

static void close_refusing(cc_cheese_conn *c, const char *reason)
{
    cc_cheese_conn_refuse(c, reason);
    bool tell = c->h.closed != NULL;
    begin_closing(c);
    if (tell)
        c->h.closed(c->ctx, reason);
}

static void on_wire_error(cc_cheese_conn *c, const cc_err *err)
{
    cc_info(c->cfg.log, "closing connection with %s: %s", c->ip, err->msg);
    close_refusing(c, err->msg);
}

/* Brings c's share up to date after a read made its message grow, and
 * closes the quietest holders while the total is over the bound (c among
 * them, when it is the quietest). */
static void keep_within_budget(cc_cheese_conn *c)
{
    note_held(c);
    cc_cheese_budget *b = c->budget;
    while (b && b->held > b->max) {
        cc_cheese_conn *victim = victim_of(b);
        if (!victim)
            break;
        cc_info(b->log, "closing connection with %s, silent for %.1f s in the middle of a "
                "message of %zu bytes so far: %zu bytes of unfinished messages held in all, "
                "over %zu", victim->ip, cc_clock_mono() - victim->last_read, victim->held,
                b->held, b->max);
        enter(victim);
        close_refusing(victim, OVER_BUDGET);
        leave(victim);
    }
}

/* Hands a message to the owner, then lets its texts go: a reader that
 * stops being fed (paused, or the other side not reading) would otherwise
 * keep the last message, however large, uncounted. */
static void deliver(cc_cheese_conn *c, const cc_cheese_msg *m)
{
    c->h.message(c->ctx, m);
    cc_cheese_wire_done(c->wire);
}

static bool reading(const cc_cheese_conn *c)
{
    return c->state == ST_OPEN && !c->paused && !c->suspended;
}

static void process_input(cc_cheese_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (reading(c)) {
        cc_cheese_msg m;
        cc_err err = {0};
        cc_cheese_status st = cc_cheese_wire_feed_evbuffer(c->wire, in, &m, &err);
        if (st == CC_CHEESE_ERROR) {
            on_wire_error(c, &err);
        } else if (st == CC_CHEESE_MSG) {
            deliver(c, &m);
        } else {
            keep_within_budget(c); /* a message grew */
            if (evbuffer_get_length(in) == 0)
                break;
        }
    }
    note_held(c); /* a message may have ended */
    arm_silence(c);
}

static void on_silence(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_cheese_conn *c = arg;
    enter(c);
    while (reading(c)) {
        cc_cheese_msg m;
        cc_err err = {0};
        cc_cheese_status st = cc_cheese_wire_flush(c->wire, &m, &err);
        if (st == CC_CHEESE_NEED_MORE)
            break;
        if (st == CC_CHEESE_ERROR)
            on_wire_error(c, &err);
        else
            deliver(c, &m);
    }
    if (reading(c)) {
        note_held(c);
        arm_silence(c);
    }
    leave(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    cc_cheese_conn *c = arg;
    enter(c);
    if (c->state == ST_LINGERING) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->discarded += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->discarded > LINGER_BYTES)
            c->state = ST_DEAD;
    } else if (c->state == ST_OPEN) {
        c->last_read = cc_clock_mono();
        process_input(c);
    }
    leave(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    cc_cheese_conn *c = arg;
    enter(c);
    if (c->state == ST_CLOSING) {
        linger(c);
    } else if (c->state == ST_OPEN) {
        if (c->suspended) {
            c->suspended = false;
            update_reading(c);
            process_input(c); /* what arrived while suspended is already buffered */
        }
        if (c->state == ST_OPEN && c->h.drained)
            c->h.drained(c->ctx);
    }
    leave(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    cc_cheese_conn *c = arg;
    enter(c);
    if (c->state == ST_LINGERING || c->state == ST_CLOSING) {
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
            c->state = ST_DEAD;
    } else if (c->state == ST_OPEN) {
        if (what & BEV_EVENT_CONNECTED) {
            int on = 1;
            setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            c->connected = true;
            if (c->h.connected)
                c->h.connected(c->ctx);
        } else if (what & BEV_EVENT_EOF) {
            /* A message may end at the close (an argument nobody ends). */
            cc_cheese_msg m;
            cc_err err = {0};
            while (c->state == ST_OPEN && cc_cheese_wire_flush(c->wire, &m, &err) == CC_CHEESE_MSG)
                c->h.message(c->ctx, &m);
            gone(c, "closed by the other side", true);
        } else if (what & BEV_EVENT_ERROR) {
            /* A name that did not resolve shows as the DNS error, not as
             * whatever errno was left behind ("Resource temporarily
             * unavailable"). */
            int dns = bufferevent_socket_get_dns_error(c->bev);
            int e = EVUTIL_SOCKET_ERROR();
            char why[160];
            if (dns)
                snprintf(why, sizeof why, "cannot resolve the name: %s", evutil_gai_strerror(dns));
            gone(c, dns ? why : e ? evutil_socket_error_to_string(e) : "connection failed", false);
        } else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
            gone(c, "reads nothing we send", false);
        } else if (what & BEV_EVENT_TIMEOUT) {
            gone(c, "silent too long", false);
        }
    }
    leave(c);
}

/* ---- set-up ---- */

static void apply_timeouts(cc_cheese_conn *c)
{
    struct timeval idle = timeval_of(c->idle_s);
    struct timeval stall = {WRITE_STALL_S, 0};
    bufferevent_set_timeouts(c->bev, c->idle_s > 0 ? &idle : NULL, &stall);
}

static cc_cheese_conn *conn_new(const cc_cheese_conn_config *cfg, struct bufferevent *bev,
                                const cc_cheese_conn_handlers *h, void *ctx)
{
    cc_cheese_conn *c = cc_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->h = *h;
    c->ctx = ctx;
    c->bev = bev;
    c->wire = cc_cheese_wire_new(&cfg->limits);
    c->silence = evtimer_new(cfg->base, on_silence, c);
    c->last_read = cc_clock_mono();
    if (cfg->budget)
        budget_join(c, cfg->budget);
    cc_alloc_check(c->bev);
    cc_alloc_check(c->silence);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    apply_timeouts(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
}

cc_cheese_conn *cc_cheese_conn_accept(const cc_cheese_conn_config *cfg, evutil_socket_t fd,
                                      const struct sockaddr *addr,
                                      const cc_cheese_conn_handlers *h, void *ctx)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    evutil_make_socket_nonblocking(fd);
    cc_cheese_conn *c =
        conn_new(cfg, bufferevent_socket_new(cfg->base, fd, BEV_OPT_CLOSE_ON_FREE), h, ctx);
    c->connected = true;
    if (addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, c->ip, sizeof c->ip);
    else if (addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, c->ip,
                  sizeof c->ip);
    return c;
}

cc_cheese_conn *cc_cheese_conn_connect(const cc_cheese_conn_config *cfg, const char *host,
                                       int port, const cc_cheese_conn_handlers *h, void *ctx,
                                       cc_err *err)
{
    const char *target = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    struct sockaddr_storage addr;
    int addr_len = sizeof addr;
    char spec[300];
    snprintf(spec, sizeof spec, strchr(target, ':') ? "[%s]:%d" : "%s:%d", target, port);
    bool literal = evutil_parse_sockaddr_port(spec, (struct sockaddr *)&addr, &addr_len) == 0;
    if (!literal && !cfg->dns) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "cannot look up host %s", host);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_socket_new(cfg->base, -1, BEV_OPT_CLOSE_ON_FREE);
    cc_cheese_conn *c = conn_new(cfg, bev, h, ctx);
    snprintf(c->ip, sizeof c->ip, "%.*s", (int)sizeof c->ip - 1, host);
    /* libevent reports a failure to start connecting at once, through the
     * event callback: it is returned here instead of told to the owner,
     * who has no pointer yet. Later failures come from the loop. */
    enter(c);
    c->starting = true;
    int rc = literal ? bufferevent_socket_connect(bev, (struct sockaddr *)&addr, addr_len)
                     : bufferevent_socket_connect_hostname(bev, cfg->dns, AF_UNSPEC, target, port);
    c->starting = false;
    c->busy--;
    if (rc != 0 || c->state == ST_DEAD) {
        destroy(c);
        cc_fail(err, CC_ERR_UNAVAILABLE, "cannot connect to %s", spec);
        return NULL;
    }
    return c;
}

/* ---- writing ---- */

/* Writes bytes behind everything sent before, at once when it can
 * (net/send_now.h). An owner that wants `drained` gets every write queued,
 * so that it is told as before; an error the loop then reports through
 * `closed`. */
static void write_bytes(cc_cheese_conn *c, const char *data, size_t len)
{
    if (c->connected && !c->h.drained)
        cc_send_now(c->bev, data, len);
    else
        bufferevent_write(c->bev, data, len);
}

bool cc_cheese_conn_send(cc_cheese_conn *c, cc_cheese_cmd cmd, cc_cheese_spelling spelling,
                         const char *arg, const char *payload, size_t payload_len)
{
    if (c->state != ST_OPEN)
        return false;
    cc_cheese_msg m = {.cmd = cmd,
                       .spelling = spelling,
                       .arg = arg,
                       .arg_len = arg ? strlen(arg) : 0,
                       .payload = payload,
                       .payload_len = payload ? payload_len : 0};
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    bool ok = cc_cheese_wire_format(&out, &m, &err);
    if (ok)
        write_bytes(c, out.data, out.len);
    else
        cc_error(c->cfg.log, "not sending %s to %s: %s", cc_cheese_cmd_name(cmd, spelling), c->ip,
                 err.msg);
    cc_buf_free(&out);
    if (ok && !c->suspended && evbuffer_get_length(bufferevent_get_output(c->bev)) >
                                   c->cfg.max_output) {
        c->suspended = true;
        update_reading(c);
    }
    return ok;
}

void cc_cheese_conn_send_line_end(cc_cheese_conn *c)
{
    if (c->state == ST_OPEN)
        write_bytes(c, "\r\n", 2);
}

void cc_cheese_conn_refuse(cc_cheese_conn *c, const char *reason)
{
    char text[REASON_MAX + 1];
    size_t n = 0;
    for (const char *p = reason; *p && n < REASON_MAX; p++) {
        char ch = (char)tolower((unsigned char)*p);
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                     strchr(" .,;:_()'-", ch) != NULL;
        text[n++] = plain ? ch : ' ';
    }
    text[n] = '\0';
    if (!cc_cheese_conn_send(c, CC_CHEESE_REFUSED, CC_CHEESE_ANY, text, NULL, 0))
        cc_cheese_conn_send(c, CC_CHEESE_REFUSED, CC_CHEESE_ANY, "refused", NULL, 0);
}

/* ---- control ---- */

void cc_cheese_conn_set_idle(cc_cheese_conn *c, double s)
{
    c->idle_s = s;
    if (c->state == ST_OPEN)
        apply_timeouts(c);
}

void cc_cheese_conn_pause(cc_cheese_conn *c, bool paused)
{
    if (c->paused == paused)
        return;
    c->paused = paused;
    update_reading(c);
    if (!paused && c->state == ST_OPEN) {
        /* Messages that arrived before the pause are still buffered: read
         * them from the loop, not from inside the caller. */
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

void cc_cheese_conn_close(cc_cheese_conn *c)
{
    if (c)
        kill_conn(c);
}

void cc_cheese_conn_finish(cc_cheese_conn *c)
{
    if (!c)
        return;
    if (c->state != ST_OPEN) {
        kill_conn(c);
        return;
    }
    begin_closing(c);
    if (c->busy == 0)
        drop_reader(c);
}

const char *cc_cheese_conn_ip(const cc_cheese_conn *c) { return c->ip; }

size_t cc_cheese_conn_held(const cc_cheese_conn *c)
{
    return c->state == ST_OPEN ? cc_cheese_wire_held(c->wire) : 0;
}

bool cc_cheese_conn_has_input(const cc_cheese_conn *c)
{
    if (cc_cheese_conn_held(c) > 0 || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        return true;
    int waiting = 0;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    return fd >= 0 && ioctl(fd, FIONREAD, &waiting) == 0 && waiting > 0;
}
