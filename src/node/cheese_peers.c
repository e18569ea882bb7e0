#include "node/cheese_peers.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "crypto/random.h"
#include "net/address.h"
#include "net/cheese_conn.h"
#include "util/clock.h"
#include "util/mem.h"

#define ID_MAX 67           /* "PID" + 64 hex digits */
#define MAX_VOUCHED 1024    /* ids remembered for the access check */
#define SEED_PAUSE_S 0.2    /* between two messages to a seed peer, which has no acks */
#define OUTPUT_MAX (4 * 1024 * 1024)

typedef enum job_kind { JOB_GET_CHAIN, JOB_GET_OPEN_TXS, JOB_BLOCK, JOB_TX } job_kind;

typedef struct job {
    job_kind kind;
    char *text; /* block or transaction text */
    size_t len;
    struct job *next;
} job;

typedef enum link_state {
    LINK_IDLE,       /* no connection */
    LINK_CONNECTING,
    LINK_GREETING,   /* waiting for the peer's greeting */
    LINK_READY,      /* connected, nothing in flight */
    LINK_WAITING,    /* a message sent, waiting for its answer */
    LINK_PAUSING,    /* seed peer: a moment between messages */
    LINK_TESTING,    /* HCK sent before a first transaction, waiting for HCKACK */
} link_state;

/* Whether a later-spelling peer can take BRTRANSACTION. The later
 * reference cannot (it cuts the message at ':' before parsing the JSON and
 * its handler dies) and it answers no HCK, while our nodes answer HCK on
 * their port: so an HCKACK is asked for before the first transaction. */
typedef enum tx_support { TX_UNTESTED, TX_TAKES, TX_REFUSES } tx_support;

typedef struct peer {
    struct cc_cheese_peers *owner;
    char id[ID_MAX + 1];
    char *host;
    int port;
    double listed; /* last listed by the tracker (monotonic seconds) */
    bool spelling_known;
    cc_cheese_spelling spelling;
    tx_support txs;
    cc_cheese_conn *conn;
    link_state state;
    struct event *timer; /* greeting wait, seed pause, idle close */
    job *head, *tail;    /* head is in flight while WAITING / PAUSING */
    size_t n_jobs;
    unsigned done_on_conn; /* jobs completed on the current connection */
    int64_t height;        /* of the last chain it sent us (-1: none yet) */
    int64_t heard;         /* when it last sent us anything (unix time, 0: never) */
    struct peer *next;
} peer;

typedef struct vouched {
    char id[ID_MAX + 1];
    double at;
} vouched;

struct cc_cheese_peers {
    cc_cheese_peers_config cfg;
    char self[ID_MAX + 1]; /* "" while not joined */
    cc_addr self_addr;     /* where we listen */
    bool self_addr_known;
    peer *peers;
    size_t n_peers;
    vouched *ids; /* a ring of ids the tracker vouched for */
    size_t n_ids, next_id;
    cc_addr *allowed; /* --connect, parsed (only with cfg.only_connect) */
    size_t n_allowed;
    cc_cheese_budget *held; /* unfinished answers, over all links */
};

static void arm(struct event *ev, double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
    evtimer_add(ev, &tv);
}

/* ---- jobs ---- */

static void job_free(job *j)
{
    free(j->text);
    free(j);
}

static job *pop_job(peer *pe)
{
    job *j = pe->head;
    if (j) {
        pe->head = j->next;
        if (!pe->head)
            pe->tail = NULL;
        pe->n_jobs--;
    }
    return j;
}

static void drop_jobs(peer *pe)
{
    job *j;
    while ((j = pop_job(pe)))
        job_free(j);
}

static bool has_job(const peer *pe, job_kind kind)
{
    for (const job *j = pe->head; j; j = j->next)
        if (j->kind == kind)
            return true;
    return false;
}

/* Every transaction waiting, but not the job in flight. */
static void drop_tx_jobs(peer *pe)
{
    job **link = pe->state == LINK_WAITING || pe->state == LINK_PAUSING ? &pe->head->next
                                                                         : &pe->head;
    pe->tail = NULL;
    while (*link) {
        job *j = *link;
        if (j->kind == JOB_TX) {
            *link = j->next;
            pe->n_jobs--;
            job_free(j);
        } else {
            link = &j->next;
        }
    }
    for (job *j = pe->head; j; j = j->next)
        pe->tail = j;
}

/* ---- the link ---- */

static void link_next(peer *pe);
static void peer_remove(peer *pe);

static void tx_test_passed(peer *pe)
{
    pe->txs = TX_TAKES;
    if (pe->state != LINK_TESTING)
        return;
    evtimer_del(pe->timer);
    pe->state = LINK_READY;
    link_next(pe);
}

static void tx_refused(peer *pe, const char *why)
{
    cc_info(pe->owner->cfg.log, "peer %s %s: it gets no transactions (it can fetch them with "
            "GETOPENTRANSACTIONS)", pe->id, why);
    pe->txs = TX_REFUSES;
    drop_tx_jobs(pe);
}

static void tx_test_failed(peer *pe)
{
    tx_refused(pe, "answers no HCK");
    pe->state = LINK_READY;
    link_next(pe);
}

static void link_close(peer *pe)
{
    cc_cheese_conn_close(pe->conn);
    pe->conn = NULL;
    pe->state = LINK_IDLE;
    evtimer_del(pe->timer);
}

static void on_link_connected(void *ctx)
{
    peer *pe = ctx;
    pe->state = LINK_GREETING;
    pe->done_on_conn = 0;
    arm(pe->timer, pe->owner->cfg.greeting_wait_s);
}

static void job_done(peer *pe)
{
    job_free(pop_job(pe));
    pe->done_on_conn++;
    pe->state = LINK_READY;
    cc_cheese_conn_set_idle(pe->conn, 0);
    link_next(pe);
}

static void on_link_message(void *ctx, const cc_cheese_msg *m)
{
    peer *pe = ctx;
    cc_cheese_peers *p = pe->owner;
    pe->heard = cc_clock_unix();
    if (m->cmd == CC_CHEESE_HEALTH_CHECK) {
        cc_cheese_conn_send(pe->conn, CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, NULL, NULL, 0);
        return;
    }
    if (m->cmd == CC_CHEESE_HEALTH_ACK) {
        tx_test_passed(pe); /* late answers count too */
        return;
    }
    if (pe->state == LINK_GREETING && m->cmd == CC_CHEESE_PEER_GREETING) {
        pe->spelling = m->spelling == CC_CHEESE_SEED ? CC_CHEESE_SEED : CC_CHEESE_LATER;
        pe->spelling_known = true;
        pe->state = LINK_READY;
        evtimer_del(pe->timer);
        link_next(pe);
        return;
    }
    if (pe->state != LINK_WAITING || !pe->head) {
        cc_debug(p->cfg.log, "peer %s sent %s unasked (ignored)", pe->id,
                 m->cmd == CC_CHEESE_UNKNOWN ? "unknown text" : cc_cheese_cmd_name(m->cmd,
                                                                                   m->spelling));
        return;
    }
    job_kind kind = pe->head->kind;
    switch (m->cmd) {
    case CC_CHEESE_CHAIN:
        if (kind != JOB_GET_CHAIN)
            return;
        p->cfg.chain(p->cfg.ctx, pe->id, m->payload, m->payload_len);
        break;
    case CC_CHEESE_OPEN_TXS:
        if (kind != JOB_GET_OPEN_TXS)
            return;
        p->cfg.open_txs(p->cfg.ctx, pe->id, m->payload, m->payload_len);
        break;
    case CC_CHEESE_CHEESE_ACK:
    case CC_CHEESE_TX_ACK:
        if (kind != JOB_BLOCK && kind != JOB_TX)
            return;
        /* The later reference acknowledges a block with BRTRANSACTIONACK */
        if (kind == JOB_BLOCK && m->cmd == CC_CHEESE_TX_ACK && pe->txs == TX_UNTESTED)
            tx_refused(pe, "acknowledges blocks as transactions");
        break;
    case CC_CHEESE_INVALID_PEER_ID:
        cc_info(p->cfg.log, "peer %s does not know our id (yet)", pe->id);
        break;
    case CC_CHEESE_REFUSED:
        cc_info(p->cfg.log, "peer %s refused: %s", pe->id, m->arg);
        break;
    default:
        cc_debug(p->cfg.log, "peer %s answered with %s (ignored)", pe->id,
                 m->cmd == CC_CHEESE_UNKNOWN ? "unknown text" : cc_cheese_cmd_name(m->cmd,
                                                                                   m->spelling));
        return;
    }
    /* the callbacks above may have dropped this peer's link */
    if (pe->conn && pe->state == LINK_WAITING)
        job_done(pe);
}

static void on_link_drained(void *ctx)
{
    peer *pe = ctx;
    /* The seed's NEW_CHEESE has no answer: done once written, after a
     * pause, so that a peer reading one recv() per message gets it alone. */
    if (pe->state == LINK_WAITING && pe->spelling == CC_CHEESE_SEED && pe->head &&
        pe->head->kind == JOB_BLOCK) {
        pe->state = LINK_PAUSING;
        arm(pe->timer, SEED_PAUSE_S);
    }
}

static void on_link_closed(void *ctx, const char *why)
{
    peer *pe = ctx;
    cc_cheese_peers *p = pe->owner;
    bool never_connected = pe->state == LINK_CONNECTING;
    link_state was = pe->state;
    pe->conn = NULL;
    pe->state = LINK_IDLE;
    evtimer_del(pe->timer);
    if (was == LINK_WAITING || was == LINK_PAUSING) {
        /* the message in flight is not sent again: a peer that cannot
         * answer it once will not answer it twice (a NEW_CHEESE to a seed
         * peer was written: it counts as done) */
        job_free(pop_job(pe));
        pe->done_on_conn += was == LINK_PAUSING;
    }
    bool made_progress = pe->done_on_conn > 0;
    if (never_connected) {
        cc_info(p->cfg.log, "peer %s at %s:%d unreachable (%s): dropped", pe->id, pe->host,
                pe->port, why);
        peer_remove(pe);
        return;
    }
    if (pe->n_jobs == 0)
        return;
    if (made_progress) {
        /* Peers that close after each answer: carry on with a new connection. */
        link_next(pe);
        return;
    }
    cc_info(p->cfg.log, "link to peer %s failed (%s); %zu messages dropped", pe->id, why,
            pe->n_jobs);
    drop_jobs(pe);
}

static const cc_cheese_conn_handlers link_handlers = {
    .connected = on_link_connected,
    .message = on_link_message,
    .drained = on_link_drained,
    .closed = on_link_closed,
};

static void link_connect(peer *pe)
{
    cc_cheese_peers *p = pe->owner;
    cc_cheese_conn_config cfg = {.base = p->cfg.base,
                                 .dns = p->cfg.dns,
                                 .limits = p->cfg.limits,
                                 .silence_s = p->cfg.silence_s,
                                 .max_output = OUTPUT_MAX,
                                 .budget = p->held,
                                 .log = p->cfg.log};
    cc_err err = {0};
    pe->state = LINK_CONNECTING;
    pe->conn = cc_cheese_conn_connect(&cfg, pe->host, pe->port, &link_handlers, pe, &err);
    if (!pe->conn) {
        cc_info(p->cfg.log, "peer %s: %s: dropped", pe->id, err.msg);
        peer_remove(pe);
        return;
    }
    /* connecting and greeting must not take longer than an answer */
    cc_cheese_conn_set_idle(pe->conn, p->cfg.answer_timeout_s);
}

/* Our id, and for a seed peer our port after it: the seed era's code reads
 * a third field ("GET_CHAIN:ID:PORT") and fails without one. */
static bool send_request(peer *pe, cc_cheese_cmd cmd)
{
    cc_cheese_peers *p = pe->owner;
    char arg[ID_MAX + 8];
    if (pe->spelling == CC_CHEESE_SEED)
        snprintf(arg, sizeof arg, "%s:%d", p->self, p->cfg.self_port);
    else
        snprintf(arg, sizeof arg, "%s", p->self);
    return cc_cheese_conn_send(pe->conn, cmd, pe->spelling, arg, NULL, 0);
}

static void start_tx_test(peer *pe)
{
    if (!cc_cheese_conn_send(pe->conn, CC_CHEESE_HEALTH_CHECK, CC_CHEESE_LATER, NULL, NULL, 0)) {
        tx_test_failed(pe);
        return;
    }
    pe->state = LINK_TESTING;
    arm(pe->timer, pe->owner->cfg.hck_wait_s);
}

/* Sends the next job, or closes an idle link after a while. */
static void link_next(peer *pe)
{
    cc_cheese_peers *p = pe->owner;
    if (pe->state == LINK_IDLE) {
        if (pe->n_jobs > 0 && p->self[0])
            link_connect(pe);
        return;
    }
    if (pe->state != LINK_READY)
        return;
    while (pe->head) {
        job *j = pe->head;
        bool seed = pe->spelling == CC_CHEESE_SEED;
        bool sent = false;
        if (!p->self[0])
            break; /* not joined: wait */
        if (j->kind == JOB_TX && !seed && pe->txs == TX_UNTESTED) {
            start_tx_test(pe);
            return;
        }
        switch (j->kind) {
        case JOB_GET_CHAIN:
        case JOB_GET_OPEN_TXS:
            sent = send_request(pe, j->kind == JOB_GET_CHAIN ? CC_CHEESE_GET_CHAIN
                                                             : CC_CHEESE_GET_OPEN_TXS);
            break;
        case JOB_BLOCK:
            sent = cc_cheese_conn_send(pe->conn, CC_CHEESE_NEW_CHEESE, pe->spelling,
                                       seed ? NULL : p->self, j->text, j->len);
            break;
        case JOB_TX:
            /* the seed spelling has no transaction announcement */
            sent = !seed && pe->txs == TX_TAKES &&
                   cc_cheese_conn_send(pe->conn, CC_CHEESE_NEW_TX, pe->spelling, p->self, j->text,
                                       j->len);
            break;
        }
        if (sent) {
            pe->state = LINK_WAITING;
            cc_cheese_conn_set_idle(pe->conn, p->cfg.answer_timeout_s);
            return;
        }
        job_free(pop_job(pe));
    }
    if (pe->state == LINK_READY)
        arm(pe->timer, p->cfg.link_idle_s);
}

static void on_peer_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    peer *pe = arg;
    switch (pe->state) {
    case LINK_GREETING:
        /* No greeting: assume the later spelling (it can say everything). */
        if (!pe->spelling_known)
            pe->spelling = CC_CHEESE_LATER;
        pe->state = LINK_READY;
        link_next(pe);
        break;
    case LINK_PAUSING:
        job_done(pe);
        break;
    case LINK_TESTING:
        tx_test_failed(pe);
        break;
    case LINK_READY:
        if (pe->n_jobs == 0)
            link_close(pe);
        break;
    default:
        break;
    }
}

static bool banned(const cc_cheese_peers *p, const char *host)
{
    return p->cfg.banned && p->cfg.banned(p->cfg.ctx, host);
}

static void enqueue(peer *pe, job_kind kind, const char *text, size_t len)
{
    cc_cheese_peers *p = pe->owner;
    if (banned(p, pe->host)) {
        cc_debug(p->cfg.log, "peer %s at %s is banned: not asked", pe->id, pe->host);
        return;
    }
    if (pe->n_jobs >= p->cfg.max_queue) {
        /* A peer that cannot keep up loses the oldest waiting news (not the
         * one in flight). */
        job *victim = pe->head ? pe->head->next : NULL;
        if (!victim) {
            cc_debug(p->cfg.log, "peer %s: queue full", pe->id);
            return;
        }
        pe->head->next = victim->next;
        if (pe->tail == victim)
            pe->tail = pe->head;
        pe->n_jobs--;
        job_free(victim);
    }
    job *j = cc_calloc(1, sizeof *j);
    j->kind = kind;
    if (text) {
        j->text = cc_strndup(text, len);
        j->len = len;
    }
    if (pe->tail)
        pe->tail->next = j;
    else
        pe->head = j;
    pe->tail = j;
    pe->n_jobs++;
    if (pe->state == LINK_READY)
        evtimer_del(pe->timer);
    link_next(pe);
}

/* ---- the table ---- */

static peer *find(const cc_cheese_peers *p, const char *id)
{
    for (peer *pe = p->peers; pe; pe = pe->next)
        if (strcmp(pe->id, id) == 0)
            return pe;
    return NULL;
}

static peer *find_address(const cc_cheese_peers *p, const char *host, int port)
{
    for (peer *pe = p->peers; pe; pe = pe->next)
        if (pe->port == port && strcmp(pe->host, host) == 0)
            return pe;
    return NULL;
}

static void peer_free(peer *pe)
{
    cc_cheese_conn_close(pe->conn);
    drop_jobs(pe);
    event_free(pe->timer);
    free(pe->host);
    free(pe);
}

static void peer_remove(peer *pe)
{
    cc_cheese_peers *p = pe->owner;
    for (peer **link = &p->peers; *link; link = &(*link)->next) {
        if (*link == pe) {
            *link = pe->next;
            p->n_peers--;
            peer_free(pe);
            return;
        }
    }
}

cc_cheese_peers *cc_cheese_peers_new(const cc_cheese_peers_config *cfg)
{
    cc_cheese_peers *p = cc_calloc(1, sizeof *p);
    p->cfg = *cfg;
    p->cfg.self_host = NULL; /* borrowed: only its parsed form is kept */
    p->self_addr_known = cfg->self_host && cc_addr_make(cfg->self_host, strlen(cfg->self_host),
                                                        cfg->self_port, &p->self_addr, NULL);
    p->ids = cc_calloc(MAX_VOUCHED, sizeof *p->ids);
    /* borrowed too: the parsed addresses are kept */
    p->cfg.connect = NULL;
    p->allowed = cc_calloc(cfg->n_connect + 1, sizeof *p->allowed);
    for (size_t i = 0; i < cfg->n_connect; i++)
        if (cc_addr_parse(cfg->connect[i], strlen(cfg->connect[i]), &p->allowed[p->n_allowed],
                          NULL))
            p->n_allowed++;
    p->held = cc_cheese_budget_new(
        cfg->max_held ? cfg->max_held : cc_cheese_budget_default(cfg->limits.max_payload),
        cfg->log);
    return p;
}

void cc_cheese_peers_free(cc_cheese_peers *p)
{
    if (!p)
        return;
    while (p->peers) {
        peer *pe = p->peers;
        p->peers = pe->next;
        peer_free(pe);
    }
    free(p->ids);
    free(p->allowed);
    cc_cheese_budget_free(p->held); /* and with it the links still finishing */
    free(p);
}

void cc_cheese_peers_set_self(cc_cheese_peers *p, const char *id)
{
    snprintf(p->self, sizeof p->self, "%s", id ? id : "");
    if (!id)
        return;
    for (peer *pe = p->peers; pe; pe = pe->next)
        link_next(pe);
}

static bool connect_peer(const cc_cheese_peers *p, const cc_addr *address)
{
    for (size_t i = 0; i < p->n_allowed; i++)
        if (cc_addr_equal(address, &p->allowed[i]))
            return true;
    return false;
}

/* The canonical address of a listed peer, or false (logged) when it is
 * none, it is this node (a link to ourselves would bring our own blocks
 * back to us, and each spelling of our address would be one more), or
 * --connect leaves it out. */
static bool listed_address(const cc_cheese_peers *p, const char *id, const char *host, int port,
                           cc_addr *out)
{
    cc_err why = {0};
    if (!cc_addr_make(host, strlen(host), port, out, &why)) {
        cc_debug(p->cfg.log, "listed peer %s skipped: %s", id, why.msg);
        return false;
    }
    if (p->self_addr_known && cc_addr_reaches(out, &p->self_addr)) {
        cc_debug(p->cfg.log, "listed peer %s at %s:%d is this node: skipped", id, out->host, port);
        return false;
    }
    if (p->cfg.only_connect && !connect_peer(p, out)) {
        cc_debug(p->cfg.log, "listed peer %s at %s:%d is not one of the --connect peers: skipped",
                 id, out->host, port);
        return false;
    }
    return true;
}

bool cc_cheese_peers_add(cc_cheese_peers *p, const char *id, const char *listed_host, int port)
{
    cc_addr addr;
    if (!listed_address(p, id, listed_host, port, &addr))
        return false;
    const char *host = addr.host;
    if (banned(p, host))
        return false;
    cc_cheese_peers_vouch(p, id);
    peer *pe = find(p, id);
    if (pe) {
        pe->listed = cc_clock_mono();
        if (pe->port != port || strcmp(pe->host, host) != 0) {
            link_close(pe);
            drop_jobs(pe);
            free(pe->host);
            pe->host = cc_strdup(host);
            pe->port = port;
            pe->spelling_known = false;
            pe->txs = TX_UNTESTED;
        }
        return false;
    }
    pe = find_address(p, host, port);
    if (pe) {
        /* The same peer joined again (the tracker restarted, or the peer
         * did): its new id replaces the old one, the link stays. */
        cc_info(p->cfg.log, "peer %s at %s:%d is now %s", pe->id, host, port, id);
        snprintf(pe->id, sizeof pe->id, "%s", id);
        pe->listed = cc_clock_mono();
        return false;
    }
    if (p->n_peers >= p->cfg.max_peers) {
        /* make room: the least recently listed idle peer goes */
        peer *oldest = NULL;
        for (peer *q = p->peers; q; q = q->next)
            if (q->state == LINK_IDLE && (!oldest || q->listed < oldest->listed))
                oldest = q;
        if (!oldest)
            return false;
        peer_remove(oldest);
    }
    pe = cc_calloc(1, sizeof *pe);
    pe->owner = p;
    snprintf(pe->id, sizeof pe->id, "%s", id);
    pe->host = cc_strdup(host);
    pe->port = port;
    pe->listed = cc_clock_mono();
    pe->spelling = CC_CHEESE_LATER;
    pe->height = -1;
    pe->timer = evtimer_new(p->cfg.base, on_peer_timer, pe);
    cc_alloc_check(pe->timer);
    pe->next = p->peers;
    p->peers = pe;
    p->n_peers++;
    cc_info(p->cfg.log, "new peer %s at %s:%d", id, host, port);
    return true;
}

void cc_cheese_peers_vouch(cc_cheese_peers *p, const char *id)
{
    double now = cc_clock_mono();
    for (size_t i = 0; i < p->n_ids; i++) {
        if (strcmp(p->ids[i].id, id) == 0) {
            p->ids[i].at = now;
            return;
        }
    }
    vouched *v = &p->ids[p->next_id];
    p->next_id = (p->next_id + 1) % MAX_VOUCHED;
    if (p->n_ids < MAX_VOUCHED)
        p->n_ids++;
    snprintf(v->id, sizeof v->id, "%s", id);
    v->at = now;
}

bool cc_cheese_peers_known(cc_cheese_peers *p, const char *id)
{
    double now = cc_clock_mono();
    for (size_t i = 0; i < p->n_ids; i++)
        if (strcmp(p->ids[i].id, id) == 0)
            return now - p->ids[i].at <= p->cfg.known_ttl_s;
    return false;
}

bool cc_cheese_peers_has(const cc_cheese_peers *p, const char *id)
{
    return find(p, id) != NULL;
}

const char *cc_cheese_peers_host(const cc_cheese_peers *p, const char *id)
{
    const peer *pe = find(p, id);
    return pe ? pe->host : NULL;
}

static void fetch_one(peer *pe)
{
    /* a chain asked for and not yet answered is still coming */
    if (!has_job(pe, JOB_GET_CHAIN))
        enqueue(pe, JOB_GET_CHAIN, NULL, 0);
    if (!has_job(pe, JOB_GET_OPEN_TXS))
        enqueue(pe, JOB_GET_OPEN_TXS, NULL, 0);
}

void cc_cheese_peers_fetch(cc_cheese_peers *p, const char *id)
{
    if (id) {
        peer *pe = find(p, id);
        if (pe)
            fetch_one(pe);
        return;
    }
    for (peer *pe = p->peers, *next; pe; pe = next) {
        next = pe->next; /* a peer found unreachable is removed on the way */
        fetch_one(pe);
    }
}

static void announce(cc_cheese_peers *p, job_kind kind, const char *text, size_t len,
                     const char *except)
{
    for (peer *pe = p->peers, *next; pe; pe = next) {
        next = pe->next;
        if (except && strcmp(pe->id, except) == 0)
            continue;
        if (kind == JOB_TX && ((pe->spelling_known && pe->spelling == CC_CHEESE_SEED) ||
                               pe->txs == TX_REFUSES))
            continue;
        enqueue(pe, kind, text, len);
    }
}

void cc_cheese_peers_announce_block(cc_cheese_peers *p, const char *text, size_t len,
                                    const char *except)
{
    announce(p, JOB_BLOCK, text, len, except);
}

void cc_cheese_peers_announce_tx(cc_cheese_peers *p, const char *text, size_t len,
                                 const char *except)
{
    announce(p, JOB_TX, text, len, except);
}

void cc_cheese_peers_fetch_random(cc_cheese_peers *p)
{
    if (p->n_peers == 0)
        return;
    uint32_t r;
    cc_random_bytes(&r, sizeof r);
    peer *pe = p->peers;
    for (size_t i = r % p->n_peers; i > 0; i--)
        pe = pe->next;
    fetch_one(pe);
}

size_t cc_cheese_peers_count(const cc_cheese_peers *p) { return p->n_peers; }

size_t cc_cheese_peers_fetching(const cc_cheese_peers *p)
{
    size_t n = 0;
    for (const peer *pe = p->peers; pe; pe = pe->next)
        n += has_job(pe, JOB_GET_CHAIN);
    return n;
}

void cc_cheese_peers_note_height(cc_cheese_peers *p, const char *id, int64_t height)
{
    peer *pe = find(p, id);
    if (pe)
        pe->height = height;
}

static const char *spelling_name(const peer *pe)
{
    return !pe->spelling_known ? "unknown" : pe->spelling == CC_CHEESE_SEED ? "seed" : "later";
}

void cc_cheese_peers_write_table(const cc_cheese_peers *p, cc_buf *out)
{
    cc_buf_putc(out, '[');
    for (const peer *pe = p->peers; pe; pe = pe->next) {
        if (pe != p->peers)
            cc_buf_puts(out, ", ");
        char address[320]; /* the host (an IPv6 one in brackets) and the port */
        bool v6 = strchr(pe->host, ':') != NULL;
        snprintf(address, sizeof address, v6 ? "[%s]:%d" : "%s:%d", pe->host, pe->port);
        cc_buf_puts(out, "{\"address\": ");
        cc_json_append_quoted(out, address);
        cc_buf_printf(out, ", \"peer_id\": \"%s\", ", pe->id);
        cc_json_append_int_member(out, "height", pe->height, pe->height >= 0);
        cc_buf_printf(out, ", \"spelling\": \"%s\", ", spelling_name(pe));
        cc_json_append_int_member(out, "last_answer", pe->heard, pe->heard > 0);
        cc_buf_putc(out, '}');
    }
    cc_buf_putc(out, ']');
}

void cc_cheese_peers_write_json(const cc_cheese_peers *p, cc_buf *out)
{
    cc_buf_putc(out, '[');
    for (const peer *pe = p->peers; pe; pe = pe->next) {
        if (pe != p->peers)
            cc_buf_puts(out, ", ");
        cc_buf_printf(out, "{\"peer_id\": \"%s\", \"host\": ", pe->id);
        cc_json_append_quoted(out, pe->host);
        cc_buf_printf(out, ", \"port\": \"%d\", \"spelling\": \"%s\", \"queued\": %zu}", pe->port,
                      spelling_name(pe), pe->n_jobs);
    }
    cc_buf_putc(out, ']');
}
