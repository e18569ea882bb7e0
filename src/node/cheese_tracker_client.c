#include "node/cheese_tracker_client.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "net/address.h"
#include "net/lookup.h"
#include "net/cheese_conn.h"
#include "util/mem.h"
#include "util/timeval.h"

#define MAX_CHECKS 64      /* id checks waiting at most */
#define MAX_LOOKUPS 16     /* host names of listed peers looked up at once */
#define LOOKUP_S 10        /* longest look-up of one */
#define MAX_ID_LEN 67      /* "PID" + 64 hex digits */
#define OUTPUT_MAX (64 * 1024)

typedef enum tc_state {
    TC_WAITING,    /* not connected; a reconnect is scheduled */
    TC_CONNECTING,
    TC_GREETING,   /* connected; waiting a moment for "Connection Successful" */
    TC_JOINING,    /* join sent; attempt says in which spelling */
    TC_JOINED,
} tc_state;

typedef struct request {
    bool is_check;
    char id[MAX_ID_LEN + 1];
    cc_tracker_check_fn fn; /* NULL once cancelled */
    void *ctx;
    struct request *next;
} request;

/* A listed peer whose host is a name, being looked up. */
typedef struct name_lookup {
    struct cc_tracker_client *tc;
    cc_lookup *lookup;
    char id[MAX_ID_LEN + 1];
    struct name_lookup *next;
} name_lookup;

struct cc_tracker_client {
    cc_tracker_client_config cfg;
    cc_cheese_conn *conn;
    struct event *timer; /* reconnect, greeting, join attempts, answer deadline */
    struct event *poll;
    tc_state state;
    int attempt;                  /* joining: 0 first spelling, 1 the other */
    cc_cheese_spelling preferred; /* tried first */
    cc_cheese_spelling spelling;  /* the tracker's, once joined */
    char id[MAX_ID_LEN + 1];
    bool lists;  /* the tracker can be asked for peers (and about ids) */
    double retry_s;
    bool said_unreachable; /* warned since the last join (or the start) */
    request *head, *tail; /* head is in flight when sent is true */
    bool sent;
    size_t n_checks;
    name_lookup *lookups;
    size_t n_lookups;
};

static cc_cheese_spelling other(cc_cheese_spelling s)
{
    return s == CC_CHEESE_LATER ? CC_CHEESE_SEED : CC_CHEESE_LATER;
}

static const char *spelling_name(cc_cheese_spelling s)
{
    return s == CC_CHEESE_LATER ? "later" : "seed";
}

static void arm(struct event *ev, double s)
{
    struct timeval tv = cc_timeval_of(s < 0 ? 0 : s);
    evtimer_add(ev, &tv);
}

/* ---- peer lists ---- */

/* The port as a string of digits (the protocol's form) or a number. */
static int entry_port(const json_t *v)
{
    long long port = -1;
    if (json_is_integer(v)) {
        port = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = strlen(s);
        if (len == 0 || len > 5 || strspn(s, "0123456789") != len)
            return -1;
        port = atoll(s);
    }
    return port >= 1 && port <= 65535 ? (int)port : -1;
}

size_t cc_cheese_peer_list_parse(const char *payload, size_t len, cc_cheese_peer_entry **entries)
{
    *entries = NULL;
    json_t *doc = cc_json_parse(payload, len, 4, NULL);
    if (!doc || !json_is_array(doc)) {
        json_decref(doc);
        return 0;
    }
    size_t n = 0;
    *entries = cc_calloc(json_array_size(doc) + 1, sizeof **entries);
    size_t i;
    json_t *item;
    json_array_foreach(doc, i, item) {
        const char *id = json_string_value(json_object_get(item, "peer_id"));
        const char *host = json_string_value(json_object_get(item, "host"));
        int port = entry_port(json_object_get(item, "port"));
        if (!id || !host || port < 0 || !cc_cheese_peer_id_valid(id, strlen(id)) ||
            !cc_cheese_host_valid(host, strlen(host)))
            continue;
        (*entries)[n++] = (cc_cheese_peer_entry){cc_strdup(id), cc_strdup(host), port};
    }
    json_decref(doc);
    return n;
}

void cc_cheese_peer_entries_free(cc_cheese_peer_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)entries[i].id);
        free((char *)entries[i].host);
    }
    free(entries);
}

static void lookup_unlink(cc_tracker_client *tc, name_lookup *nl)
{
    for (name_lookup **link = &tc->lookups; *link; link = &(*link)->next) {
        if (*link == nl) {
            *link = nl->next;
            tc->n_lookups--;
            return;
        }
    }
}

static void on_name_looked_up(void *ctx, const cc_addr *addr, const cc_err *err)
{
    name_lookup *nl = ctx;
    cc_tracker_client *tc = nl->tc;
    lookup_unlink(tc, nl);
    if (!addr) {
        cc_debug(tc->cfg.log, "listed peer %s skipped: %s", nl->id, err->msg);
    } else if (tc->cfg.peers) {
        cc_cheese_peer_entry entry = {nl->id, addr->host, addr->port};
        tc->cfg.peers(tc->cfg.ctx, &entry, 1);
    }
    free(nl);
}

/* A listed peer's host name is looked up each time a list names it, a few
 * at a time (lists come every poll interval, so this stays rare); an entry
 * beyond that, or one already being looked up, waits for the next list. */
static void look_up_peer(cc_tracker_client *tc, const cc_cheese_peer_entry *e)
{
    if (!tc->cfg.dns || tc->n_lookups >= MAX_LOOKUPS)
        return;
    for (const name_lookup *nl = tc->lookups; nl; nl = nl->next)
        if (strcmp(nl->id, e->id) == 0)
            return;
    name_lookup *nl = cc_calloc(1, sizeof *nl);
    nl->tc = tc;
    snprintf(nl->id, sizeof nl->id, "%s", e->id);
    nl->next = tc->lookups;
    tc->lookups = nl;
    tc->n_lookups++;
    nl->lookup = cc_lookup_start(tc->cfg.base, tc->cfg.dns, e->host, e->port, LOOKUP_S,
                                 on_name_looked_up, nl);
}

/* The entry's host in canonical form (net/address.h), so that the node
 * compares, stores and dials one form of each address: false when it is
 * not an address (a name is looked up meanwhile). */
static bool canonical_entry(cc_tracker_client *tc, cc_cheese_peer_entry *e)
{
    cc_addr a;
    cc_err why = {0};
    size_t len = strlen(e->host);
    if (cc_addr_make(e->host, len, e->port, &a, &why)) {
        free((char *)e->host);
        e->host = cc_strdup(a.host);
        return true;
    }
    if (cc_addr_host_is_name(e->host, len))
        look_up_peer(tc, e);
    else
        cc_debug(tc->cfg.log, "listed peer %s skipped: %s", e->id, why.msg);
    return false;
}

static void deliver_peers(cc_tracker_client *tc, const cc_cheese_msg *m)
{
    cc_cheese_peer_entry *entries;
    size_t n = cc_cheese_peer_list_parse(m->payload, m->payload_len, &entries);
    /* Never our own join (a tracker may still list an old one of ours);
     * our address under another id is refused by the peer table. */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(entries[i].id, tc->id) != 0 && canonical_entry(tc, &entries[i])) {
            entries[kept++] = entries[i];
        } else {
            free((char *)entries[i].id);
            free((char *)entries[i].host);
        }
    }
    cc_debug(tc->cfg.log, "tracker listed %zu peers", kept);
    if (kept > 0 && tc->cfg.peers)
        tc->cfg.peers(tc->cfg.ctx, entries, kept);
    cc_cheese_peer_entries_free(entries, kept);
}

/* ---- requests ---- */

static request *pop(cc_tracker_client *tc)
{
    request *r = tc->head;
    if (r) {
        tc->head = r->next;
        if (!tc->head)
            tc->tail = NULL;
        if (r->is_check)
            tc->n_checks--;
    }
    tc->sent = false;
    return r;
}

static void send_next(cc_tracker_client *tc)
{
    if (tc->state != TC_JOINED || tc->sent || !tc->head)
        return;
    request *r = tc->head;
    const char *id = r->is_check ? r->id : tc->id;
    if (!cc_cheese_conn_send(tc->conn, CC_CHEESE_GET_PEERS, tc->spelling, id, NULL, 0)) {
        /* an id the writer refuses cannot be asked about: it is unknown */
        request *done = pop(tc);
        if (done->fn)
            done->fn(done->ctx, false);
        free(done);
        send_next(tc);
        return;
    }
    tc->sent = true;
    arm(tc->timer, tc->cfg.answer_timeout_s);
}

static void enqueue(cc_tracker_client *tc, request *r)
{
    if (tc->tail)
        tc->tail->next = r;
    else
        tc->head = r;
    tc->tail = r;
    if (r->is_check)
        tc->n_checks++;
    send_next(tc);
}

static bool list_queued(const cc_tracker_client *tc)
{
    for (const request *r = tc->head; r; r = r->next)
        if (!r->is_check)
            return true;
    return false;
}

void cc_tracker_client_poll(cc_tracker_client *tc)
{
    if (tc->state != TC_JOINED || !tc->lists || list_queued(tc))
        return;
    enqueue(tc, cc_calloc(1, sizeof(request)));
}

/* Answers every waiting check "unknown" (the queue is detached first: a
 * callback may ask again, and is refused at once). */
static void fail_requests(cc_tracker_client *tc)
{
    request *r = tc->head;
    tc->head = tc->tail = NULL;
    tc->n_checks = 0;
    tc->sent = false;
    while (r) {
        request *next = r->next;
        if (r->is_check && r->fn)
            r->fn(r->ctx, false);
        free(r);
        r = next;
    }
}

/* ---- the connection ---- */

static void connect_now(cc_tracker_client *tc);

static void disconnect(cc_tracker_client *tc, const char *why, bool retry_soon)
{
    bool was_joined = tc->state == TC_JOINED;
    if (tc->conn)
        cc_cheese_conn_close(tc->conn);
    tc->conn = NULL;
    evtimer_del(tc->poll);
    tc->state = TC_WAITING;
    tc->id[0] = '\0';
    double delay = retry_soon ? tc->cfg.retry_min_s : tc->retry_s;
    if (!retry_soon)
        tc->retry_s = tc->retry_s * 2 < tc->cfg.retry_max_s ? tc->retry_s * 2 : tc->cfg.retry_max_s;
    /* At the default level a user hears once that the tracker cannot be
     * had (at start, or after losing it); the retries after that at info. */
    cc_log_level level = was_joined || !tc->said_unreachable ? CC_LOG_WARN : CC_LOG_INFO;
    tc->said_unreachable = true;
    cc_logf(tc->cfg.log, level, "tracker %s:%d: %s; trying again in %.2g s", tc->cfg.host,
            tc->cfg.port, why, delay);
    arm(tc->timer, delay);
    fail_requests(tc);
    if (was_joined && tc->cfg.lost)
        tc->cfg.lost(tc->cfg.ctx);
}

static void send_join(cc_tracker_client *tc)
{
    cc_cheese_spelling s = tc->attempt == 0 ? tc->preferred : other(tc->preferred);
    char arg[300];
    snprintf(arg, sizeof arg, "%s:%d", tc->cfg.self_host, tc->cfg.self_port);
    tc->state = TC_JOINING;
    cc_debug(tc->cfg.log, "joining the tracker in the %s spelling", spelling_name(s));
    /* A seed-era tracker reads lines: the unanswered PCONNECT before is
     * still the start of its current line, and a JOIN_CHAIN glued to it
     * would never be read as one. Ending that line first makes it a line
     * of its own, which it ignores. */
    if (tc->attempt == 1 && s == CC_CHEESE_SEED)
        cc_cheese_conn_send_line_end(tc->conn);
    if (!cc_cheese_conn_send(tc->conn, CC_CHEESE_JOIN, s, arg, NULL, 0)) {
        disconnect(tc, "cannot write our join", false);
        return;
    }
    arm(tc->timer, tc->attempt == 0 ? tc->cfg.spelling_wait_s : tc->cfg.answer_timeout_s);
}

/* The seed era's tracker hands every peer the same lower-case id, and its
 * GET_PEERS fails for any id it knows (its thread dies writing a socket
 * object as JSON): it cannot be asked for peers, nor about ids. A tracker
 * following the document (upper-case ids) can. */
static bool tracker_lists(cc_cheese_spelling spelling, const char *id)
{
    return spelling == CC_CHEESE_LATER || strpbrk(id + 3, "abcdef") == NULL;
}

static void on_joined(cc_tracker_client *tc, const cc_cheese_msg *m)
{
    if (!cc_cheese_peer_id_valid(m->arg, m->arg_len)) {
        disconnect(tc, "the tracker answered our join with a malformed id", false);
        return;
    }
    memcpy(tc->id, m->arg, m->arg_len + 1);
    tc->spelling = m->spelling == CC_CHEESE_LATER ? CC_CHEESE_LATER : CC_CHEESE_SEED;
    tc->lists = tracker_lists(tc->spelling, tc->id);
    if (!tc->lists)
        cc_warn(tc->cfg.log, "the tracker hands out lower-case ids: the seed era's tracker, "
                             "which fails on peer-list requests; not asking it for peers");
    tc->preferred = tc->spelling;
    tc->state = TC_JOINED;
    tc->said_unreachable = false;
    tc->retry_s = tc->cfg.retry_min_s;
    evtimer_del(tc->timer);
    cc_info(tc->cfg.log, "joined the tracker %s:%d as %s (%s spelling)", tc->cfg.host,
            tc->cfg.port, tc->id, spelling_name(tc->spelling));
    if (tc->cfg.joined)
        tc->cfg.joined(tc->cfg.ctx, tc->id, tc->spelling);
    if (tc->state != TC_JOINED)
        return;
    cc_tracker_client_poll(tc);
    arm(tc->poll, tc->cfg.poll_interval_s);
}

static void on_answer(cc_tracker_client *tc, const cc_cheese_msg *m)
{
    if (!tc->sent) {
        cc_debug(tc->cfg.log, "tracker sent %s unasked", cc_cheese_cmd_name(m->cmd, m->spelling));
        return;
    }
    evtimer_del(tc->timer);
    request *r = pop(tc);
    bool known = m->cmd == CC_CHEESE_PEERS;
    if (known)
        deliver_peers(tc, m);
    if (r->is_check) {
        if (r->fn)
            r->fn(r->ctx, known);
    } else if (!known && tc->state == TC_JOINED) {
        free(r);
        disconnect(tc, "the tracker no longer knows our id", true);
        return;
    }
    free(r);
    send_next(tc);
}

static void on_message(void *ctx, const cc_cheese_msg *m)
{
    cc_tracker_client *tc = ctx;
    switch (m->cmd) {
    case CC_CHEESE_HEALTH_CHECK:
        cc_cheese_conn_send(tc->conn, CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, NULL, NULL, 0);
        return;
    case CC_CHEESE_GREETING:
        if (tc->state == TC_GREETING)
            send_join(tc);
        return;
    case CC_CHEESE_JOINED:
        if (tc->state == TC_JOINING)
            on_joined(tc, m);
        else
            cc_debug(tc->cfg.log, "tracker answered a second join (ignored)");
        return;
    case CC_CHEESE_PEERS:
    case CC_CHEESE_INVALID_PEER_ID:
        if (tc->state == TC_JOINED)
            on_answer(tc, m);
        return;
    case CC_CHEESE_REFUSED:
        cc_warn(tc->cfg.log, "tracker refused: %s", m->arg);
        if (tc->state == TC_JOINING)
            disconnect(tc, "the tracker refused our join", false);
        else if (tc->state == TC_JOINED)
            on_answer(tc, m);
        return;
    default:
        cc_debug(tc->cfg.log, "tracker sent %s (ignored)",
                 m->cmd == CC_CHEESE_UNKNOWN ? "unknown text" : cc_cheese_cmd_name(m->cmd,
                                                                                   m->spelling));
        return;
    }
}

static void on_connected(void *ctx)
{
    cc_tracker_client *tc = ctx;
    tc->state = TC_GREETING;
    tc->attempt = 0;
    /* The tracker greets first; the join goes at the greeting, or after a
     * moment without one. */
    arm(tc->timer, tc->cfg.spelling_wait_s);
}

static void on_closed(void *ctx, const char *why)
{
    cc_tracker_client *tc = ctx;
    tc->conn = NULL;
    if (tc->state == TC_JOINING) {
        /* Some trackers close on a spelling they do not know. */
        tc->preferred = other(tc->attempt == 0 ? tc->preferred : other(tc->preferred));
        disconnect(tc, why, true);
        return;
    }
    disconnect(tc, why, tc->state == TC_JOINED);
}

static const cc_cheese_conn_handlers handlers = {
    .connected = on_connected,
    .message = on_message,
    .closed = on_closed,
};

static void connect_now(cc_tracker_client *tc)
{
    cc_cheese_conn_config cfg = {.base = tc->cfg.base,
                                 .dns = tc->cfg.dns,
                                 .limits = tc->cfg.limits,
                                 .silence_s = tc->cfg.silence_s,
                                 .max_output = OUTPUT_MAX,
                                 .log = tc->cfg.log};
    cc_err err = {0};
    tc->state = TC_CONNECTING;
    tc->conn = cc_cheese_conn_connect(&cfg, tc->cfg.host, tc->cfg.port, &handlers, tc, &err);
    if (!tc->conn) {
        disconnect(tc, err.msg, false);
        return;
    }
    arm(tc->timer, tc->cfg.answer_timeout_s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_tracker_client *tc = arg;
    switch (tc->state) {
    case TC_WAITING:
        connect_now(tc);
        break;
    case TC_CONNECTING:
        disconnect(tc, "connecting takes too long", false);
        break;
    case TC_GREETING:
        send_join(tc);
        break;
    case TC_JOINING:
        if (tc->attempt == 0) {
            cc_info(tc->cfg.log, "tracker silent on a %s-spelling join; trying the %s spelling",
                    spelling_name(tc->preferred), spelling_name(other(tc->preferred)));
            tc->attempt = 1;
            send_join(tc);
        } else {
            tc->preferred = other(tc->preferred);
            disconnect(tc, "no answer to a join in either spelling", false);
        }
        break;
    case TC_JOINED:
        disconnect(tc, "no answer within the time allowed", true);
        break;
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_tracker_client *tc = arg;
    cc_tracker_client_poll(tc);
    arm(tc->poll, tc->cfg.poll_interval_s);
}

/* ---- interface ---- */

cc_tracker_client *cc_tracker_client_new(const cc_tracker_client_config *cfg)
{
    cc_tracker_client *tc = cc_calloc(1, sizeof *tc);
    tc->cfg = *cfg;
    tc->timer = evtimer_new(cfg->base, on_timer, tc);
    tc->poll = evtimer_new(cfg->base, on_poll, tc);
    cc_alloc_check(tc->timer);
    cc_alloc_check(tc->poll);
    tc->preferred = CC_CHEESE_LATER;
    tc->retry_s = cfg->retry_min_s;
    return tc;
}

void cc_tracker_client_start(cc_tracker_client *tc) { connect_now(tc); }

void cc_tracker_client_free(cc_tracker_client *tc)
{
    if (!tc)
        return;
    cc_cheese_conn_close(tc->conn);
    tc->conn = NULL;
    tc->state = TC_WAITING;
    fail_requests(tc);
    while (tc->lookups) {
        name_lookup *nl = tc->lookups;
        tc->lookups = nl->next;
        cc_lookup_cancel(nl->lookup);
        free(nl);
    }
    event_free(tc->timer);
    event_free(tc->poll);
    free(tc);
}

const char *cc_tracker_client_id(const cc_tracker_client *tc)
{
    return tc->state == TC_JOINED ? tc->id : NULL;
}

cc_cheese_spelling cc_tracker_client_spelling(const cc_tracker_client *tc)
{
    return tc->spelling;
}

bool cc_tracker_client_check(cc_tracker_client *tc, const char *id, cc_tracker_check_fn fn,
                             void *ctx)
{
    size_t len = strlen(id);
    if (tc->state != TC_JOINED || !tc->lists || tc->n_checks >= MAX_CHECKS || len > MAX_ID_LEN)
        return false;
    request *r = cc_calloc(1, sizeof *r);
    r->is_check = true;
    memcpy(r->id, id, len + 1);
    r->fn = fn;
    r->ctx = ctx;
    enqueue(tc, r);
    return true;
}

void cc_tracker_client_cancel(cc_tracker_client *tc, void *ctx)
{
    for (request *r = tc->head; r; r = r->next)
        if (r->is_check && r->ctx == ctx)
            r->fn = NULL;
}

void cc_tracker_client_write_json(const cc_tracker_client *tc, cc_buf *out)
{
    static const char *const names[] = {"waiting", "connecting", "connecting", "joining",
                                        "joined"};
    cc_buf_printf(out, "{\"state\": \"%s\", \"host\": ", names[tc->state]);
    char where[300];
    snprintf(where, sizeof where, "%s:%d", tc->cfg.host, tc->cfg.port);
    cc_json_append_quoted(out, where);
    if (tc->state == TC_JOINED)
        cc_buf_printf(out, ", \"peer_id\": \"%s\", \"spelling\": \"%s\", \"lists\": %s", tc->id,
                      spelling_name(tc->spelling), tc->lists ? "true" : "false");
    cc_buf_putc(out, '}');
}
