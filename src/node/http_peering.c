#include "node/http_peering.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "net/address.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/mem.h"

#define MAX_OUTGOING 512                /* requests to peers under way at once */
#define MAX_PROBES 32                   /* of which checks of would-be peers */
#define MAX_QUEUED_BYTES (16u << 20)    /* bodies waiting in every per-peer queue */
#define PEER_SILENCE_S 5                /* longest silence of a peer */
#define PEER_DEADLINE_S 10              /* longest request to a peer in all */
#define MAX_PEER_ANSWER (4u << 20)      /* blocks, chains */
#define MAX_SMALL_ANSWER (64u << 10)    /* peer lists, answers to our POSTs */
#define MAX_LISTED_CONSIDERED 256       /* addresses read from one peer list */
#define KNOWN_ITEMS 1024                /* items remembered per peer */
#define MAX_SCORED 1024                 /* addresses whose health is remembered */
#define SEED_READ_BYTES 4096            /* what a reference node reads of a request */
#define SEED_HEADER_BYTES 192           /* our request line and headers, at most, less the path
                                         * and our own address */

typedef struct pending pending;
struct pending {
    pending *next;
    char method[8];
    char *path;
    char *body;
    size_t len;
    uint64_t item; /* item_key of a POST's body (0 otherwise) */
    size_t max_answer;
    cc_peering_answer done;
    void *ctx;
};

/* What we know of one address we talk to. */
typedef struct peer_link peer_link;
struct peer_link {
    peer_link *next;
    char address[96];
    unsigned inflight;
    pending *head, *tail;
    size_t queued;
    uint64_t *known; /* ring of item keys it has; allocated on first use */
    size_t known_next, known_n;
    cc_peer_api api; /* what its latest answer to /getpeers showed */
};

struct cc_peering {
    cc_peering_config cfg;
    char instance[17];
    size_t probes;
    size_t queued_bytes;
    bool stopping; /* the client is dropping everything: send nothing more */
    struct event *gossip_timer;
    struct event *pump;
    peer_link *links;
    cc_peer_scores *scores;
};

typedef struct call {
    cc_peering *peering;
    char peer[96];
    bool getpeers; /* every node answers it: it shows whether the peer is up, and its API */
    cc_peering_answer done;
    void *ctx;
} call;

static double now(void) { return cc_clock_mono(); }

/* A canonical address (node/peers.h) into the numeric host and port to
 * dial: nothing is ever looked up on the loop, and libevent is never
 * handed a spelling it would read otherwise than the peer meant. */
static bool split_address(const char *address, char host[64], int *port)
{
    cc_addr a;
    if (!cc_addr_parse(address, strlen(address), &a, NULL))
        return false;
    snprintf(host, 64, "%s", a.host);
    *port = a.port;
    return true;
}

static uint64_t item_key(const char *body, size_t len)
{
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(body, len, digest);
    uint64_t key = 0;
    for (int i = 0; i < 8; i++)
        key = key << 8 | digest[i];
    return key;
}

/* ---- links -------------------------------------------------------------------- */

static peer_link *find_link(const cc_peering *peering, const char *address)
{
    for (peer_link *l = peering->links; l; l = l->next)
        if (strcmp(l->address, address) == 0)
            return l;
    return NULL;
}

static peer_link *get_link(cc_peering *peering, const char *address)
{
    peer_link *l = find_link(peering, address);
    if (l)
        return l;
    l = cc_calloc(1, sizeof *l);
    snprintf(l->address, sizeof l->address, "%s", address);
    l->next = peering->links;
    peering->links = l;
    return l;
}

static bool link_knows(const peer_link *l, uint64_t key)
{
    for (size_t i = 0; l && i < l->known_n; i++)
        if (l->known[i] == key)
            return true;
    return false;
}

static void link_learn(peer_link *l, uint64_t key)
{
    if (link_knows(l, key))
        return;
    if (!l->known)
        l->known = cc_calloc(KNOWN_ITEMS, sizeof *l->known);
    l->known[l->known_next] = key;
    l->known_next = (l->known_next + 1) % KNOWN_ITEMS;
    if (l->known_n < KNOWN_ITEMS)
        l->known_n++;
}

static void free_pending(cc_peering *peering, pending *p)
{
    peering->queued_bytes -= p->len;
    free(p->path);
    free(p->body);
    free(p);
}

/* Drops what waits for a peer; each waiting caller hears status 0. */
static void drop_queue(cc_peering *peering, peer_link *l)
{
    while (l->head) {
        pending *p = l->head;
        l->head = p->next;
        l->queued--;
        cc_peering_answer done = p->done;
        void *ctx = p->ctx;
        free_pending(peering, p);
        static const cc_http_client_answer dropped = {.failure = CC_HTTP_FAIL_DROPPED};
        if (done)
            done(ctx, l->address, &dropped);
    }
    l->tail = NULL;
}

/* The peer sent us an item that still waits in its queue: it has it, so
 * the item is not sent back (a reference node would take a payment it
 * already mined as new, and mine it again). */
static void drop_queued_item(cc_peering *peering, peer_link *l, uint64_t key)
{
    pending *removed = NULL;
    pending **p = &l->head;
    l->tail = NULL;
    while (*p) {
        pending *item = *p;
        if (item->item == 0 || item->item != key) {
            l->tail = item;
            p = &item->next;
            continue;
        }
        *p = item->next;
        item->next = removed;
        removed = item;
        l->queued--;
    }
    /* The queue is whole again before anyone hears: a caller may send. */
    static const cc_http_client_answer dropped = {.failure = CC_HTTP_FAIL_DROPPED};
    while (removed) {
        pending *item = removed;
        removed = item->next;
        cc_peering_answer done = item->done;
        void *ctx = item->ctx;
        free_pending(peering, item);
        if (done)
            done(ctx, l->address, &dropped);
    }
}

static bool wanted(const cc_peering *peering, const peer_link *l)
{
    return l->inflight || l->queued || cc_peers_contains(peering->cfg.peers, l->address) ||
           cc_peers_is_candidate(peering->cfg.peers, l->address);
}

/* Forgets the links of addresses we no longer talk to. */
static void collect_links(cc_peering *peering)
{
    for (peer_link **p = &peering->links; *p;) {
        peer_link *l = *p;
        if (wanted(peering, l)) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        free(l->known);
        free(l);
    }
}

/* ---- health ----------------------------------------------------------------- */

bool cc_peering_banned(const cc_peering *peering, const char *address)
{
    return cc_scores_banned(peering->scores, address, now(), NULL);
}

static void unlist(cc_peering *peering, const char *address)
{
    cc_err err = {0};
    if (cc_peers_contains(peering->cfg.peers, address) &&
        !cc_peers_remove(peering->cfg.peers, address, &err))
        cc_warn(peering->cfg.log, "peer list: %s", err.msg);
}

static void ban(cc_peering *peering, const char *address, const char *why)
{
    cc_warn(peering->cfg.log, "banned peer %s for %.0f s: %s", address, peering->cfg.ban_time_s,
            why);
    unlist(peering, address);
    peer_link *l = find_link(peering, address);
    if (l)
        drop_queue(peering, l);
}

void cc_peering_misbehaved(cc_peering *peering, const char *address, cc_misbehaviour kind,
                           const char *why)
{
    if (cc_peering_banned(peering, address)) {
        cc_debug(peering->cfg.log, "banned peer %s: %s", address, why);
        return;
    }
    cc_info(peering->cfg.log, "peer %s misbehaved (%s, %d points): %s", address,
            cc_misbehaviour_name(kind), cc_misbehaviour_points(kind), why);
    if (cc_scores_misbehaved(peering->scores, address, kind, now()))
        ban(peering, address, cc_misbehaviour_name(kind));
}

static void failed(cc_peering *peering, const char *address, const char *why)
{
    unsigned n = cc_scores_failed(peering->scores, address, now());
    cc_debug(peering->cfg.log, "peer %s failed (%u in a row): %s", address, n, why);
    if (n >= CC_PEERING_MAX_FAILURES && cc_peers_contains(peering->cfg.peers, address)) {
        cc_info(peering->cfg.log, "dropped peer %s after %u failures in a row", address, n);
        unlist(peering, address);
    }
}

/* Judges the transport side of an answer: failures, and answers a
 * well-behaved peer never gives. A connection closed without an answer to
 * anything but /getpeers is no failure: the peer is up and only could not
 * handle that request (a reference node's handler dies on requests it does
 * not understand), so relays to it go on. */
static void account(cc_peering *peering, const char *address, bool getpeers,
                    const cc_http_client_answer *a)
{
    const char *why = cc_http_failure_name(a->failure);
    switch (a->failure) {
    case CC_HTTP_ANSWERED:
        cc_scores_answered(peering->scores, address);
        cc_peers_heard(peering->cfg.peers, address, cc_clock_unix());
        return;
    case CC_HTTP_FAIL_DROPPED:
        return;
    case CC_HTTP_FAIL_CLOSED:
        if (getpeers)
            failed(peering, address, why);
        else
            cc_debug(peering->cfg.log, "peer %s %s: not a failure", address, why);
        return;
    case CC_HTTP_FAIL_DEADLINE:
        failed(peering, address, why);
        cc_peering_misbehaved(peering, address, CC_MISBEHAVE_SLOW, why);
        return;
    case CC_HTTP_FAIL_GARBAGE:
        failed(peering, address, why);
        cc_peering_misbehaved(peering, address, CC_MISBEHAVE_GARBAGE, why);
        return;
    case CC_HTTP_FAIL_TOO_LARGE:
        failed(peering, address, why);
        cc_peering_misbehaved(peering, address, CC_MISBEHAVE_OVERSIZED, why);
        return;
    default:
        failed(peering, address, why);
        return;
    }
}

/* ---- sending -------------------------------------------------------------- */

static void schedule_pump(cc_peering *peering)
{
    static const struct timeval soon = {0, 0};
    if (!peering->stopping)
        event_add(peering->pump, &soon);
}

static void on_answer(void *ctx, const cc_http_client_answer *a)
{
    call *c = ctx;
    cc_peering *peering = c->peering;
    peer_link *l = find_link(peering, c->peer);
    if (l)
        l->inflight--;
    if (a->failure == CC_HTTP_FAIL_DROPPED)
        peering->stopping = true;
    account(peering, c->peer, c->getpeers, a);
    if (l && c->getpeers && a->status == 200)
        l->api = a->header && strcmp(a->header, CC_PEERING_API_VALUE) == 0 ? CC_PEER_API_EXTENDED
                                                                          : CC_PEER_API_SEED;
    if (c->done)
        c->done(c->ctx, c->peer, a);
    free(c);
    schedule_pump(peering);
}

static void start(cc_peering *peering, peer_link *l, const char *method, const char *path,
                  const char *body, size_t len, size_t max_answer, cc_peering_answer done,
                  void *ctx)
{
    char host[64];
    int port = 0;
    split_address(l->address, host, &port); /* checked before anything was queued */
    call *c = cc_calloc(1, sizeof *c);
    *c = (call){.peering = peering,
                .getpeers = strncmp(path, "/getpeers", 9) == 0,
                .done = done,
                .ctx = ctx};
    snprintf(c->peer, sizeof c->peer, "%s", l->address);
    cc_http_client_request req = {.host = host,
                                  .port = port,
                                  .method = method,
                                  .path = path,
                                  .host_header = peering->cfg.self,
                                  .body = body,
                                  .body_len = len,
                                  .timeout_s = PEER_SILENCE_S,
                                  .deadline_s = PEER_DEADLINE_S,
                                  .max_response_bytes = max_answer,
                                  .read_header = c->getpeers ? CC_PEERING_API_HEADER : NULL};
    l->inflight++;
    bool debug = peering->cfg.log && peering->cfg.log->threshold <= CC_LOG_DEBUG;
    if (body && debug) /* hashing every body only to log it would cost */
        cc_debug(peering->cfg.log, "sent %s %s to %s (item %016llx, %zu bytes)", method, path,
                 l->address, (unsigned long long)item_key(body, len), len);
    else if (debug)
        cc_debug(peering->cfg.log, "sent %s %s to %s", method, path, l->address);
    cc_http_client_send(peering->cfg.client, &req, on_answer, c);
}

/* A reference node's handler threads read and rewrite its files with no
 * lock: two of our requests at once can make one of them read a file half
 * written, and die. */
static unsigned inflight_cap(const peer_link *l)
{
    return l->api == CC_PEER_API_SEED ? 1 : CC_PEERING_PER_PEER_INFLIGHT;
}

static bool room(const cc_peering *peering, const peer_link *l)
{
    return l->inflight < inflight_cap(l) &&
           cc_http_client_pending(peering->cfg.client) < MAX_OUTGOING;
}

/* A reference node reads one recv(4096) of a request: a longer one reaches
 * it cut off, and its handler dies on the broken JSON. Such a request is
 * not sent at all. */
static bool readable_whole(const cc_peering *peering, const peer_link *l, const char *path,
                           size_t len)
{
    if (l->api != CC_PEER_API_SEED ||
        strlen(path) + strlen(peering->cfg.self) + SEED_HEADER_BYTES + len <= SEED_READ_BYTES)
        return true;
    cc_debug(peering->cfg.log, "not sent to %s: %s of %zu bytes would reach it cut off",
             l->address, path, len);
    return false;
}

/* Starts what waits, as far as the limits allow. */
static void pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_peering *peering = arg;
    for (peer_link *l = peering->links; l && !peering->stopping; l = l->next) {
        while (l->head && room(peering, l)) {
            pending *p = l->head;
            l->head = p->next;
            if (!l->head)
                l->tail = NULL;
            l->queued--;
            start(peering, l, p->method, p->path, p->body, p->len, p->max_answer, p->done, p->ctx);
            free_pending(peering, p);
        }
    }
}

static bool send_to(cc_peering *peering, const char *given, const char *method,
                    const char *path, const char *body, size_t len, size_t max_answer,
                    cc_peering_answer done, void *ctx)
{
    /* one link, one score and one queue per peer, however it was spelt */
    char address[CC_ADDR_TEXT_MAX];
    if (peering->stopping || !cc_peer_address(given, address, NULL) ||
        !cc_peers_allowed(peering->cfg.peers, address) || /* --connect: never dialled */
        !cc_scores_may_send(peering->scores, address, now()))
        return false;
    peer_link *l = get_link(peering, address);
    if (!readable_whole(peering, l, path, len))
        return false;
    if (room(peering, l) && !l->head) {
        start(peering, l, method, path, body, len, max_answer, done, ctx);
        return true;
    }
    if (l->queued >= CC_PEERING_PER_PEER_QUEUE || peering->queued_bytes + len > MAX_QUEUED_BYTES) {
        cc_warn(peering->cfg.log, "%s %s to %s dropped: %u requests under way and %zu waiting",
                method, path, address, l->inflight, l->queued);
        return false;
    }
    pending *p = cc_calloc(1, sizeof *p);
    snprintf(p->method, sizeof p->method, "%s", method);
    p->path = cc_strdup(path);
    p->body = body ? cc_strndup(body, len) : NULL;
    p->len = body ? len : 0;
    p->item = body && strcmp(method, "POST") == 0 ? item_key(body, len) : 0;
    p->max_answer = max_answer;
    p->done = done;
    p->ctx = ctx;
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->queued++;
    peering->queued_bytes += p->len;
    cc_debug(peering->cfg.log, "%s %s to %s waits: %u requests under way", method, path, address,
             l->inflight);
    return true;
}

bool cc_peering_send(cc_peering *peering, const char *address, const char *method,
                     const char *path, const char *body, size_t len, cc_peering_answer done,
                     void *ctx)
{
    return send_to(peering, address, method, path, body, len, MAX_PEER_ANSWER, done, ctx);
}

void cc_peering_broadcast(cc_peering *peering, const char *method, const char *path,
                          const char *body, size_t len, const char *source,
                          cc_peering_answer done, void *ctx)
{
    const cc_peers *peers = peering->cfg.peers;
    bool item = body && strcmp(method, "POST") == 0;
    uint64_t key = item ? item_key(body, len) : 0;
    size_t max_answer = item ? MAX_SMALL_ANSWER : MAX_PEER_ANSWER;
    /* answers come on later loop turns, so the list cannot change under us;
     * a copy keeps it that way should that ever change */
    size_t n = cc_peers_count(peers);
    char(*targets)[96] = cc_calloc(n ? n : 1, sizeof *targets);
    for (size_t i = 0; i < n; i++)
        snprintf(targets[i], sizeof targets[i], "%s", cc_peers_at(peers, i));
    for (size_t i = 0; i < n; i++) {
        const char *address = targets[i];
        if (source && strcmp(address, source) == 0)
            continue;
        peer_link *l = find_link(peering, address);
        if (item && link_knows(l, key))
            continue;
        if (!send_to(peering, address, method, path, body, len, max_answer, done, ctx))
            continue;
        if (item)
            link_learn(get_link(peering, address), key);
    }
    free(targets);
}

void cc_peering_fetch(cc_peering *peering, const char *path, const char *source,
                      cc_peering_answer done, void *ctx)
{
    if (source)
        send_to(peering, source, "GET", path, NULL, 0, MAX_PEER_ANSWER, done, ctx);
    const cc_peers *peers = peering->cfg.peers;
    size_t n = cc_peers_count(peers);
    char(*targets)[96] = cc_calloc(n ? n : 1, sizeof *targets);
    for (size_t i = 0; i < n; i++)
        snprintf(targets[i], sizeof targets[i], "%s", cc_peers_at(peers, i));
    for (size_t i = 0; i < n; i++)
        if ((!source || strcmp(targets[i], source) != 0) &&
            cc_peering_api(peering, targets[i]) == CC_PEER_API_EXTENDED)
            send_to(peering, targets[i], "GET", path, NULL, 0, MAX_PEER_ANSWER, done, ctx);
    free(targets);
}

cc_peer_api cc_peering_api(const cc_peering *peering, const char *address)
{
    const peer_link *l = find_link(peering, address);
    return l ? l->api : CC_PEER_API_UNKNOWN;
}

/* ---- who is asking ------------------------------------------------------------ */

/* ?port= with the connection's IP, as an address; false when absent or
 * not a port. */
static bool port_param(const cc_http_request *req, const char *peer_ip, cc_addr *out)
{
    char port_text[16];
    int port;
    return cc_http_query_get(req->query, "port", port_text, sizeof port_text) &&
           cc_addr_port(port_text, strlen(port_text), &port, NULL) &&
           cc_addr_make(peer_ip, strlen(peer_ip), port, out, NULL);
}

/* The listed peer whose canonical text is address, or NULL. */
static const char *listed(const cc_peers *peers, const char *address)
{
    for (size_t i = 0; i < cc_peers_count(peers); i++)
        if (strcmp(cc_peers_at(peers, i), address) == 0)
            return cc_peers_at(peers, i);
    return NULL;
}

const char *cc_peering_source(const cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip)
{
    const cc_peers *peers = peering->cfg.peers;
    char address[CC_ADDR_TEXT_MAX];
    cc_addr a;
    const char *found = NULL;
    if (port_param(req, peer_ip, &a)) {
        cc_addr_format(&a, address);
        found = listed(peers, address);
    }
    if (!found && req->host && cc_peer_address(req->host, address, NULL))
        found = listed(peers, address);
    return found;
}

bool cc_peering_sender(const cc_peering *peering, const cc_http_request *req,
                       const char *peer_ip, char out[96])
{
    cc_addr a;
    char port_text[16];
    if (cc_http_query_get(req->query, "port", port_text, sizeof port_text)) {
        if (!port_param(req, peer_ip, &a))
            return false;
    } else {
        /* a Host is the sender's own address only when its host is the
         * connection's IP, in any spelling ("localhost" from 127.0.0.1) */
        cc_addr from;
        if (!req->host || !cc_addr_parse(req->host, strlen(req->host), &a, NULL) ||
            !cc_addr_make(peer_ip, strlen(peer_ip), a.port, &from, NULL) ||
            !cc_addr_equal(&a, &from))
            return false;
    }
    /* What cc_peer_address would make of it, without formatting and
     * parsing it again: this runs for every request a peer sends. */
    if (a.family != AF_INET || cc_peers_reach_self(peering->cfg.peers, &a))
        return false;
    cc_addr_format(&a, out);
    return true;
}

void cc_peering_heard_from(cc_peering *peering, const cc_http_request *req, const char *peer_ip)
{
    char sender[96];
    if (!cc_peering_sender(peering, req, peer_ip, sender))
        return;
    if (cc_scores_failures(peering->scores, sender))
        cc_debug(peering->cfg.log, "peer %s is up: it sent us %s %s", sender, req->method,
                 req->path);
    cc_scores_answered(peering->scores, sender);
    cc_peers_heard(peering->cfg.peers, sender, cc_clock_unix());
}

bool cc_peering_outsider(const cc_peering *peering, const cc_http_request *req,
                         const char *peer_ip, cc_err *err)
{
    char sender[96];
    if (!cc_peering_sender(peering, req, peer_ip, sender) ||
        cc_peers_allowed(peering->cfg.peers, sender))
        return false;
    cc_info(peering->cfg.log, "refused %s %s from %s: not one of the --connect peers",
            req->method, req->path, sender);
    cc_fail(err, CC_ERR_FORBIDDEN,
            "This node talks only to its --connect peers, and %s is not one of them", sender);
    return true;
}

bool cc_peering_admit(cc_peering *peering, const cc_http_request *req, const char *peer_ip,
                      cc_err *err)
{
    char sender[96];
    if (cc_peering_outsider(peering, req, peer_ip, err))
        return false;
    if (!cc_peering_sender(peering, req, peer_ip, sender))
        return true;
    double until;
    if (cc_scores_banned(peering->scores, sender, now(), &until))
        return cc_fail(err, CC_ERR_FORBIDDEN,
                       "Peer %s is banned for misbehaviour (%.0f s left)", sender, until - now());
    peer_link *l = cc_peers_contains(peering->cfg.peers, sender) ? get_link(peering, sender) : NULL;
    if (!l)
        return true;
    uint64_t key = item_key(req->body.data, req->body.len);
    link_learn(l, key);
    drop_queued_item(peering, l, key);
    return true;
}

bool cc_peering_is_invalid_block(const cc_err *why)
{
    switch (cc_err_refusal(why)) {
    case CC_REFUSAL_NONE:
    case CC_REFUSAL_DUPLICATE:
    case CC_REFUSAL_MEMPOOL_FULL: return false;
    default: return true;
    }
}

bool cc_peering_is_error_answer(const char *body, size_t len)
{
    json_t *doc = cc_json_parse(body, len, 4, NULL);
    bool error = json_is_object(doc) && json_object_get(doc, "errcode") &&
                 !json_object_get(doc, "hash");
    json_decref(doc);
    return error;
}

void cc_peering_served_block_refused(cc_peering *peering, const char *peer, const char *body,
                                     size_t len, const cc_err *why)
{
    if (cc_peering_is_invalid_block(why) && !cc_peering_is_error_answer(body, len))
        cc_peering_misbehaved(peering, peer, CC_MISBEHAVE_INVALID_BLOCK, why->msg);
}

void cc_peering_block_refused(cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip, const cc_err *why)
{
    char sender[96];
    if (cc_peering_is_invalid_block(why) && cc_peering_sender(peering, req, peer_ip, sender))
        cc_peering_misbehaved(peering, sender, CC_MISBEHAVE_INVALID_BLOCK, why->msg);
}

/* ---- the peer-list exchange ---------------------------------------------- */

static void consider_peer(cc_peering *peering, const char *address);

/* An answer to our /getpeers: a peer list makes the address a peer (it
 * answered), and every address in it a would-be peer. */
static void on_peer_list(void *ctx, const char *peer, const cc_http_client_answer *a)
{
    cc_peering *peering = ctx;
    if (a->status == 0)
        return; /* counted as a failure already */
    if (a->status != 200) {
        /* for instance our own check, come back to us through an alias */
        failed(peering, peer, "no peer list");
        return;
    }
    json_t *doc = cc_json_parse(a->body, a->len, 4, NULL);
    json_t *list = json_object_get(doc, "peers");
    if (!json_is_array(list)) {
        failed(peering, peer, "no peer list");
        cc_peering_misbehaved(peering, peer, CC_MISBEHAVE_GARBAGE,
                              "answered /getpeers without a peer list");
        json_decref(doc);
        return;
    }
    cc_debug(peering->cfg.log, "peer list from %s: %zu addresses", peer, json_array_size(list));
    cc_err err = {0};
    if (!cc_peers_contains(peering->cfg.peers, peer) && !cc_peering_banned(peering, peer)) {
        if (cc_peers_add(peering->cfg.peers, peer, &err)) {
            cc_info(peering->cfg.log, "new peer %s", peer);
            if (peering->cfg.new_peer)
                peering->cfg.new_peer(peering->cfg.new_peer_ctx, peer);
        } else
            cc_debug(peering->cfg.log, "not listing %s: %s", peer, err.msg);
    }
    for (size_t i = 0; i < json_array_size(list) && i < MAX_LISTED_CONSIDERED; i++) {
        const char *address = json_string_value(json_array_get(list, i));
        if (address)
            consider_peer(peering, address);
    }
    json_decref(doc);
}

static void on_probe_answer(void *ctx, const char *peer, const cc_http_client_answer *a)
{
    cc_peering *peering = ctx;
    peering->probes--;
    on_peer_list(ctx, peer, a);
}

/* The /getpeers we send: our port, so that the peer lists us, and our
 * instance id, so that we notice when an address leads back to us. */
static void getpeers_path(const cc_peering *peering, char path[96])
{
    snprintf(path, 96, "/getpeers?port=%d&node=%s", peering->cfg.port, peering->instance);
}

/* A would-be peer becomes a peer only once its address answers /getpeers.
 * Its canonical form is what is checked, compared and asked: one peer
 * under many spellings is one peer, and this node under any spelling is
 * never asked at all. */
static void consider_peer(cc_peering *peering, const char *given)
{
    const cc_peers *peers = peering->cfg.peers;
    char address[CC_ADDR_TEXT_MAX];
    cc_err why = {0};
    if (!cc_peer_address(given, address, &why)) {
        cc_debug(peering->cfg.log, "not a would-be peer: %s", why.msg);
        return;
    }
    if (!cc_peers_allowed(peers, address)) {
        cc_debug(peering->cfg.log, "not a would-be peer: %s is not one of the --connect peers",
                 address);
        return;
    }
    if (cc_peers_is_self(peers, address) || cc_peers_contains(peers, address) ||
        peering->probes >= MAX_PROBES || cc_peers_full(peers))
        return;
    const peer_link *l = find_link(peering, address);
    if (l && (l->inflight || l->queued))
        return; /* already asked */
    char path[96];
    getpeers_path(peering, path);
    if (send_to(peering, address, "GET", path, NULL, 0, MAX_SMALL_ANSWER, on_probe_answer, peering))
        peering->probes++;
}

static void arm_gossip(cc_peering *peering)
{
    uint8_t r[2];
    cc_random_bytes(r, sizeof r);
    double jitter = 0.75 + 0.5 * ((double)(r[0] << 8 | r[1]) / 65535.0);
    double period = peering->cfg.gossip_interval_s * jitter;
    struct timeval tv = {(time_t)period, (suseconds_t)((period - (double)(time_t)period) * 1e6)};
    event_add(peering->gossip_timer, &tv);
}

/* Asks every peer and every default candidate for its peers, telling it our
 * port so that it lists us; then waits a jittered period. */
static void gossip(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_peering *peering = arg;
    const cc_peers *peers = peering->cfg.peers;
    char path[96];
    getpeers_path(peering, path);
    size_t n = cc_peers_count(peers), m = cc_peers_candidate_count(peers);
    char(*targets)[96] = cc_calloc(n + m + 1, sizeof *targets);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(targets[count++], 96, "%s", cc_peers_at(peers, i));
    for (size_t i = 0; i < m; i++)
        if (!cc_peers_contains(peers, cc_peers_candidate_at(peers, i)))
            snprintf(targets[count++], 96, "%s", cc_peers_candidate_at(peers, i));
    for (size_t i = 0; i < count; i++) {
        const peer_link *l = find_link(peering, targets[i]);
        if (l && l->inflight >= CC_PEERING_PER_PEER_INFLIGHT)
            continue; /* still busy with earlier requests: no pile-up */
        send_to(peering, targets[i], "GET", path, NULL, 0, MAX_SMALL_ANSWER, on_peer_list,
                peering);
    }
    free(targets);
    collect_links(peering);
    arm_gossip(peering);
}

void cc_peering_register_requester(cc_peering *peering, const cc_http_request *req,
                                   const char *peer_ip)
{
    char port_text[16], address[CC_ADDR_TEXT_MAX];
    cc_addr a;
    if (cc_http_query_get(req->query, "port", port_text, sizeof port_text)) {
        if (port_param(req, peer_ip, &a)) {
            cc_addr_format(&a, address);
            consider_peer(peering, address);
        }
    } else if (req->host) {
        consider_peer(peering, req->host);
    }
}

/* ---- life ------------------------------------------------------------------- */

cc_peering *cc_peering_new(const cc_peering_config *cfg)
{
    cc_peering *peering = cc_calloc(1, sizeof *peering);
    peering->cfg = *cfg;
    if (peering->cfg.gossip_interval_s <= 0)
        peering->cfg.gossip_interval_s = 60;
    uint8_t instance[8];
    cc_random_bytes(instance, sizeof instance);
    cc_hex_encode(instance, sizeof instance, peering->instance);
    peering->gossip_timer = evtimer_new(cfg->base, gossip, peering);
    peering->pump = evtimer_new(cfg->base, pump, peering);
    /* Back-off: a quarter of the gossip period at first, doubling up to 16
     * times that (a listed peer is dropped after 5 failures in a row, after
     * waiting about 4 gossip periods in all); points fade at one ban's worth
     * per ban time, so an honest peer's rare slip never adds up to a ban. */
    double base = peering->cfg.gossip_interval_s / 4;
    cc_score_config score_cfg = {.ban_time_s = cfg->ban_time_s,
                                 .ban_threshold = 100,
                                 .decay_per_s = cfg->ban_time_s > 0 ? 100 / cfg->ban_time_s : 0,
                                 .backoff_base_s = base,
                                 .backoff_max_s = 16 * base,
                                 .max_entries = MAX_SCORED};
    peering->scores = cc_scores_new(&score_cfg);
    return peering;
}

void cc_peering_free(cc_peering *peering)
{
    if (!peering)
        return;
    peering->stopping = true;
    while (peering->links) {
        peer_link *l = peering->links;
        peering->links = l->next;
        drop_queue(peering, l);
        free(l->known);
        free(l);
    }
    event_free(peering->gossip_timer);
    event_free(peering->pump);
    cc_scores_free(peering->scores);
    free(peering);
}

void cc_peering_start(cc_peering *peering) { gossip(-1, 0, peering); }

const char *cc_peering_instance(const cc_peering *peering) { return peering->instance; }
