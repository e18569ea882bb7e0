#include "node/http_peering.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "crypto/random.h"
#include "util/hex.h"
#include "util/mem.h"

#define MAX_OUTGOING 512 /* requests to peers under way at once */
#define MAX_PROBES 32    /* of which checks of would-be peers */
#define PEER_TIMEOUT_S 5
#define MAX_PEER_ANSWER (4 << 20)

struct cc_peering {
    cc_peering_config cfg;
    char instance[17];
    size_t probes;
    struct event *gossip_timer;
};

typedef struct call {
    cc_peering *peering;
    char peer[96];
    cc_peering_answer done;
    void *ctx;
} call;

static bool split_address(const char *address, char host[64], int *port)
{
    const char *colon = strrchr(address, ':');
    if (!colon || colon - address >= 64)
        return false;
    snprintf(host, 64, "%.*s", (int)(colon - address), address);
    *port = atoi(colon + 1);
    return true;
}

static void on_answer(void *ctx, int status, const char *body, size_t len)
{
    call *c = ctx;
    if (c->done)
        c->done(c->ctx, c->peer, status, body, len);
    free(c);
}

bool cc_peering_send(cc_peering *peering, const char *address, const char *method,
                     const char *path, const char *body, size_t len, cc_peering_answer done,
                     void *ctx)
{
    char host[64];
    int port;
    if (cc_http_client_pending(peering->cfg.client) >= MAX_OUTGOING ||
        !split_address(address, host, &port))
        return false;
    call *c = cc_calloc(1, sizeof *c);
    *c = (call){.peering = peering, .done = done, .ctx = ctx};
    snprintf(c->peer, sizeof c->peer, "%s", address);
    cc_http_client_request req = {.host = host,
                                  .port = port,
                                  .method = method,
                                  .path = path,
                                  .host_header = peering->cfg.self,
                                  .body = body,
                                  .body_len = len,
                                  .timeout_s = PEER_TIMEOUT_S,
                                  .max_response_bytes = MAX_PEER_ANSWER};
    cc_http_client_send(peering->cfg.client, &req, on_answer, c);
    return true;
}

void cc_peering_broadcast(cc_peering *peering, const char *method, const char *path,
                          const char *body, size_t len, const char *source,
                          cc_peering_answer done, void *ctx)
{
    const cc_peers *peers = peering->cfg.peers;
    for (size_t i = 0; i < cc_peers_count(peers); i++) {
        const char *address = cc_peers_at(peers, i);
        if (source && strcmp(address, source) == 0)
            continue;
        if (!cc_peering_send(peering, address, method, path, body, len, done, ctx)) {
            cc_warn(peering->cfg.log, "%s %s not sent to %s and later peers: too many requests "
                    "under way", method, path, address);
            return;
        }
    }
}

const char *cc_peering_source(const cc_peering *peering, const cc_http_request *req,
                              const char *peer_ip)
{
    const cc_peers *peers = peering->cfg.peers;
    char port[16], address[96];
    if (cc_http_query_get(req->query, "port", port, sizeof port)) {
        snprintf(address, sizeof address, "%s:%s", peer_ip, port);
        for (size_t i = 0; i < cc_peers_count(peers); i++)
            if (strcmp(cc_peers_at(peers, i), address) == 0)
                return cc_peers_at(peers, i);
    }
    for (size_t i = 0; req->host && i < cc_peers_count(peers); i++)
        if (strcmp(cc_peers_at(peers, i), req->host) == 0)
            return cc_peers_at(peers, i);
    return NULL;
}

/* ---- the peer-list exchange ---------------------------------------------- */

static void on_probe_answer(void *ctx, const char *peer, int status, const char *body,
                            size_t len)
{
    cc_peering *peering = ctx;
    peering->probes--;
    json_t *doc = status == 200 ? cc_json_parse(body, len, 4, NULL) : NULL;
    if (json_is_array(json_object_get(doc, "peers"))) {
        cc_err err = {0};
        if (cc_peers_add(peering->cfg.peers, peer, &err))
            cc_info(peering->cfg.log, "new peer %s", peer);
    }
    json_decref(doc);
}

/* The /getpeers we send: our port, so that the peer lists us, and our
 * instance id, so that we notice when an address leads back to us. */
static void getpeers_path(const cc_peering *peering, char path[96])
{
    snprintf(path, 96, "/getpeers?port=%d&node=%s", peering->cfg.port, peering->instance);
}

/* A would-be peer becomes a peer only once its address answers /getpeers. */
static void consider_peer(cc_peering *peering, const char *address)
{
    const cc_peers *peers = peering->cfg.peers;
    if (!cc_peer_address_valid(address) || cc_peers_is_self(peers, address) ||
        cc_peers_contains(peers, address) || peering->probes >= MAX_PROBES)
        return;
    char path[96];
    getpeers_path(peering, path);
    if (cc_peering_send(peering, address, "GET", path, NULL, 0, on_probe_answer, peering))
        peering->probes++;
}

/* A peer's list: every address in it that answers becomes our peer too. */
static void on_peer_list(void *ctx, const char *peer, int status, const char *body, size_t len)
{
    (void)peer;
    cc_peering *peering = ctx;
    if (status != 200)
        return;
    json_t *doc = cc_json_parse(body, len, 4, NULL);
    json_t *list = json_object_get(doc, "peers");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *address = json_string_value(json_array_get(list, i));
        if (address)
            consider_peer(peering, address);
    }
    json_decref(doc);
}

/* Asks every peer for its peers, telling it our port so that it lists us. */
static void gossip(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_peering *peering = arg;
    char path[96];
    getpeers_path(peering, path);
    cc_peering_broadcast(peering, "GET", path, NULL, 0, NULL, on_peer_list, peering);
}

void cc_peering_register_requester(cc_peering *peering, const cc_http_request *req,
                                   const char *peer_ip)
{
    char port[16], address[96];
    if (cc_http_query_get(req->query, "port", port, sizeof port)) {
        snprintf(address, sizeof address, "%s:%s", peer_ip, port);
        consider_peer(peering, address);
    } else if (req->host) {
        consider_peer(peering, req->host);
    }
}

/* ---- life ------------------------------------------------------------------- */

cc_peering *cc_peering_new(const cc_peering_config *cfg)
{
    cc_peering *peering = cc_calloc(1, sizeof *peering);
    peering->cfg = *cfg;
    uint8_t instance[8];
    cc_random_bytes(instance, sizeof instance);
    cc_hex_encode(instance, sizeof instance, peering->instance);
    peering->gossip_timer = event_new(cfg->base, -1, EV_PERSIST, gossip, peering);
    return peering;
}

void cc_peering_free(cc_peering *peering)
{
    if (!peering)
        return;
    event_free(peering->gossip_timer);
    free(peering);
}

void cc_peering_start(cc_peering *peering)
{
    double period = peering->cfg.gossip_interval_s;
    struct timeval tv = {(time_t)period, (suseconds_t)((period - (double)(time_t)period) * 1e6)};
    event_add(peering->gossip_timer, &tv);
    gossip(-1, 0, peering);
}

const char *cc_peering_instance(const cc_peering *peering) { return peering->instance; }
