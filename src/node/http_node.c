#include "node/http_node.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/chain_reader.h"
#include "codec/json.h"
#include "consensus/http.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/listener.h"
#include "node/api.h"
#include "node/metrics.h"
#include "node/miner.h"
#include "node/core.h"
#include "node/http_peering.h"
#include "node/http_sync.h"
#include "node/peers.h"
#include "node/verifier.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/keys.h"
#include "wallet/payment.h"

#define SYNC_S 4             /* between catch-up rounds (jittered) */
#define PARENT_FETCH_GAP 8   /* orphans further ahead are left to the sync */
/* A switch to a branch forking deeper than this runs in steps of
 * REORG_STEP_BLOCKS, the loop serving everyone else in between (chain.h);
 * a step takes a few milliseconds. */
#define REORG_INLINE_MAX 32
#define REORG_STEP_BLOCKS 16

typedef struct http_node {
    const cc_http_node_config *cfg;
    cc_node_core core;
    cc_chain *chain; /* the core's */
    cc_http_server *server;
    cc_http_server *web; /* the explorer's port: browsers refuse 6000 */
    const char *advertised; /* the address peers dial (cc_node_advertised) */
    int web_port;
    cc_http_client *client;
    cc_faucet *faucet;
    cc_peers *peers;
    char self[96];
    cc_peering *peering;
    cc_sync *sync;
    bool sync_reorged; /* a page being fed reorganised the chain */
} http_node;

void cc_http_node_defaults(cc_http_node_config *config)
{
    *config = (cc_http_node_config){
        .host = "127.0.0.1",
        .port = 6000,
        .faucet = {.enabled = true, .min_per_request = 1e-8, .max_per_request = 5,
                   .max_per_recipient = 10, .max_total = 50, .window_s = 3600},
        .max_body_bytes = 1 << 20,
        .max_header_bytes = 16 << 10,
        .idle_timeout_s = 10,
        .max_connections = 1024,
        .max_peers = 128,
        .gossip_interval_s = 60,
        .ban_time_s = 600,
    };
    cc_node_core_defaults(&config->core);
    config->core.mine_on_start = true;
    config->core.reorg_inline_max = REORG_INLINE_MAX;
    config->core.reorg_step_blocks = REORG_STEP_BLOCKS;
}

static void on_fetched_block(void *ctx, const char *peer, const cc_http_client_answer *a);

/* After a reorganisation the payments of the abandoned blocks are back in
 * our mempool, but the peers that were on the winning branch never had
 * them (they may have been cut off from us): they are offered again, so
 * that whoever mines next can mine them. Peers drop what they hold. */
#define REORG_RELAY_MAX 256

static void relay_mempool(http_node *node)
{
    cc_tx *txs = NULL;
    size_t n = 0;
    if (!cc_chain_mempool_take(node->chain, REORG_RELAY_MAX, &txs, &n, NULL))
        return;
    for (size_t i = 0; i < n; i++) {
        cc_peering_broadcast(node->peering, "POST", "/inv", txs[i].text, txs[i].text_len, NULL,
                             NULL, NULL);
        cc_tx_clear(&txs[i]);
    }
    free(txs);
    if (n)
        cc_info(node->cfg->core.log, "offered %zu waiting payments to peers after a reorganisation", n);
}

/* ---- the adapter (node/core.h) ------------------------------------------- */

static void http_announce_block(void *ctx, const char *text, size_t len, const char *except)
{
    http_node *node = ctx;
    cc_peering_broadcast(node->peering, "POST", "/block", text, len, except, NULL, NULL);
}

static void http_announce_tx(void *ctx, const char *text, size_t len, const char *except)
{
    http_node *node = ctx;
    cc_peering_broadcast(node->peering, "POST", "/inv", text, len, except, NULL, NULL);
}

/* A short gap is filled by asking the peers for the parent at once; the
 * sync (which pages) takes on whatever a longer gap or a fork needs. */
static void http_fetch_parent(void *ctx, const cc_block_result *res, const char *source)
{
    http_node *node = ctx;
    cc_sync_orphan(node->sync, source, res->height);
    char path[96];
    snprintf(path, sizeof path, "/getdata?id=%s", res->missing_parent);
    if (res->height <= cc_chain_height(node->chain) + PARENT_FETCH_GAP)
        cc_peering_fetch(node->peering, path, source, on_fetched_block, node);
}

static void reorganised(void *ctx)
{
    relay_mempool(ctx);
}

/* ---- answers to what the core checks (node/core.h) -----------------------------
 *
 * A block or payment is checked by the core, its signatures on the
 * workers; the answer is written when the check ends: into the response
 * of the request being handled when it ended at once, to the deferred
 * request otherwise, or nowhere for a block we fetched ourselves. */

typedef struct reply {
    http_node *node;
    bool in_call;                /* the check is still inside its request's handler */
    bool finished;               /* it ended there */
    cc_http_response *direct;    /* the handler's response, while in_call */
    cc_http_pending *pending;    /* the request, deferred; NULL: nobody asked */
    cc_http_response deferred;
    char source[96]; /* the listed peer it came from, not relayed back to ("" none) */
    char sender[96]; /* who is scored when it breaks the rules ("" nobody) */
    char peer_ip[64];
} reply;

static reply *reply_new(http_node *node, const char *peer_ip, cc_http_response *direct)
{
    reply *r = cc_calloc(1, sizeof *r);
    *r = (reply){.node = node, .in_call = true, .direct = direct,
                 .deferred = {.status = 200}};
    snprintf(r->peer_ip, sizeof r->peer_ip, "%s", peer_ip);
    return r;
}

static cc_http_response *reply_target(reply *r)
{
    return r->in_call ? r->direct : r->pending ? &r->deferred : NULL;
}

/* Once the check is over: a deferred answer goes out. */
static void reply_done(reply *r)
{
    if (r->in_call) {
        r->finished = true; /* the handler frees it */
        return;
    }
    if (r->pending)
        cc_http_answer(r->pending, &r->deferred);
    cc_buf_free(&r->deferred.body);
    cc_buf_free(&r->deferred.headers);
    free(r);
}

/* After the core was handed the check: either it ended, or the request
 * waits for it. */
static void reply_handed_over(reply *r, cc_http_response *resp)
{
    r->in_call = false;
    if (r->finished) {
        free(r);
        return;
    }
    r->pending = resp ? cc_http_defer(resp) : NULL;
}

static void reply_error(cc_http_response *resp, const cc_err *err)
{
    cc_http_error(resp, err->code ? err->code : CC_ERR_BAD_REQUEST, err->msg);
}

static bool block_taken(void *ctx, const cc_block *block, bool ok, const cc_block_result *res,
                        cc_err *err)
{
    static const char *const outcome[] = {"Block accepted", "Block stored on a side branch",
                                          "Block held until its parent arrives"};
    reply *r = ctx;
    http_node *node = r->node;
    /* the peer's address when the request names it, else its IP */
    const char *from = r->sender[0] ? r->sender : r->peer_ip;
    cc_http_response *resp = reply_target(r);
    if (!ok) {
        cc_info(node->cfg->core.log, "block %s from %s refused: %s", block->hash, from, err->msg);
        if (r->sender[0] && cc_peering_is_invalid_block(err))
            cc_peering_misbehaved(node->peering, r->sender, CC_MISBEHAVE_INVALID_BLOCK,
                                  err->msg);
        if (resp)
            reply_error(resp, err);
        return false;
    }
    if (!resp) {
        cc_info(node->cfg->core.log, "fetched block %s from %s", res->hash,
                r->source[0] ? r->source : from);
        return true;
    }
    cc_buf_printf(&resp->body, "{\"message\": \"%s\", \"hash\": \"%s\", \"height\": %lld}",
                  outcome[res->outcome], res->hash, (long long)cc_chain_height(node->chain));
    cc_info(node->cfg->core.log, "block %s from %s: %s", res->hash, from, outcome[res->outcome]);
    return true;
}

static void block_done(void *ctx, bool cancelled)
{
    reply *r = ctx;
    cc_http_response *resp = reply_target(r);
    if (cancelled && resp)
        cc_http_error(resp, CC_ERR_UNAVAILABLE, "the node is shutting down");
    reply_done(r);
}

/* Hands block (taken) to the core's checks; resp: the request asking, or
 * NULL for a block we fetched. */
static void check_block(reply *r, cc_block *block, cc_http_response *resp)
{
    cc_block *one = cc_malloc(sizeof *one);
    *one = *block;
    cc_node_block_intake intake = {.taken = block_taken, .done = block_done, .ctx = r};
    cc_node_core_check_blocks(&r->node->core, one, 1, r->source[0] ? r->source : NULL, true,
                              &intake);
    reply_handed_over(r, resp);
}

static void on_new_peer(void *ctx, const char *address)
{
    http_node *node = ctx;
    if (node->sync)
        cc_sync_new_peer(node->sync, address);
}

/* A block of a sync page: stored only. A catch-up of thousands of blocks
 * is not relayed block by block; sync_advanced relays the tip once a page. */
static bool sync_submit(void *ctx, cc_block *block, cc_block_result *res, cc_err *err)
{
    http_node *node = ctx;
    bool ok = cc_node_core_store_block(&node->core, block, res, err);
    node->sync_reorged = node->sync_reorged || (ok && res->reorg_depth > 0);
    return ok;
}

static void sync_advanced(void *ctx, const char *peer)
{
    http_node *node = ctx;
    cc_node_core_announce_tip(&node->core, peer);
    if (node->sync_reorged)
        relay_mempool(node);
    node->sync_reorged = false;
    cc_node_core_maybe_mine(&node->core);
}

/* A block a peer sent us when we asked for a missing parent. */
static void on_fetched_block(void *ctx, const char *peer, const cc_http_client_answer *a)
{
    http_node *node = ctx;
    if (a->status != 200)
        return;
    cc_block block = {0};
    cc_err err = {0};
    if (!cc_node_core_decode_block(&node->core, a->body, a->len, &block, &err)) {
        cc_peering_served_block_refused(node->peering, peer, a->body, a->len, &err);
        return;
    }
    reply *r = reply_new(node, peer, NULL);
    snprintf(r->source, sizeof r->source, "%s", peer);
    snprintf(r->sender, sizeof r->sender, "%s", peer);
    check_block(r, &block, NULL);
}

/* ---- endpoints ------------------------------------------------------------- */


static bool block_id_param(const cc_http_request *req, char id[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    if (!cc_http_query_get(req->query, "id", id, CC_HASH_HEX_LEN + 1) ||
        !cc_is_lower_hex(id, CC_HASH_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "id must be a block hash of 64 lowercase hex characters");
    return true;
}

/* True when the query names the parameter, with any value or none. */
static bool query_has(const cc_http_request *req, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = req->query; p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0 && strchr("=&", p[len])) /* or p[len] == '\0' */
            return true;
    return false;
}

/* ?limit=N bounds a page: at most N blocks (capped) and about a MiB of
 * text, so that an answer always fits the asking node's answer limit. */
static bool page_param(const cc_http_request *req, cc_chain_page *page, cc_err *err)
{
    *page = (cc_chain_page){.max_blocks = CC_SYNC_PAGE_MAX_BLOCKS,
                            .max_bytes = CC_SYNC_PAGE_MAX_BYTES};
    char value[24];
    if (!query_has(req, "limit"))
        return true;
    char *end = NULL;
    long long n = cc_http_query_get(req->query, "limit", value, sizeof value)
                      ? strtoll(value, &end, 10) : 0;
    if (!end || *end != '\0' || n < 1)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "limit must be a positive number of blocks");
    if ((unsigned long long)n < page->max_blocks)
        page->max_blocks = (size_t)n;
    return true;
}

/* ?locator=h1,h2,...: block hashes, newest first (cc_chain_locator). */
static bool locator_param(const cc_http_request *req,
                          char (*hashes)[CC_HASH_HEX_LEN + 1], size_t *n, cc_err *err)
{
    char value[CC_SYNC_MAX_LOCATOR * (CC_HASH_HEX_LEN + 1) + 1];
    if (!cc_http_query_get(req->query, "locator", value, sizeof value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "locator: at most %d block hashes",
                       CC_SYNC_MAX_LOCATOR);
    *n = 0;
    for (char *save = NULL, *h = strtok_r(value, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        if (strlen(h) != CC_HASH_HEX_LEN || !cc_is_lower_hex(h, CC_HASH_HEX_LEN))
            return cc_fail(err, CC_ERR_BAD_REQUEST,
                           "locator: block hashes of 64 lowercase hex characters, "
                           "separated by commas");
        memcpy(hashes[(*n)++], h, CC_HASH_HEX_LEN + 1);
    }
    return true;
}

/* A long whole chain is streamed from a snapshot of the database
 * (chain/chain_reader.h): its size grows with the chain, the node's memory
 * must not. */
#define CHAIN_PIECE_BYTES (256u << 10)

static bool chain_piece(void *ctx, cc_buf *out, bool *done)
{
    cc_err err = {0};
    return cc_chain_reader_next(ctx, CHAIN_PIECE_BYTES, out, done, &err);
}

static void chain_reader_done(void *ctx) { cc_chain_reader_free(ctx); }

static bool stream_whole_chain(http_node *node, cc_http_response *resp, cc_err *err)
{
    size_t length;
    if (!cc_chain_whole_length(node->chain, &length, err))
        return false;
    if (length <= CHAIN_PIECE_BYTES) /* the common short chain: no snapshot needed */
        return cc_chain_write_all(node->chain, &resp->body, err);
    cc_chain_reader *reader = cc_chain_reader_all(node->chain, err);
    if (!reader)
        return false;
    resp->stream = (cc_http_stream){.length = cc_chain_reader_length(reader),
                                    .next = chain_piece,
                                    .free_ctx = chain_reader_done,
                                    .ctx = reader};
    return true;
}

/* The seed's two forms, plus two for nodes that catch up (docs/http-network.md):
 * ?id=H&limit=N pages the flat list, and ?locator=... answers from the
 * newest of the asker's blocks that is on our best chain. Without them the
 * answers are exactly the seed's. */
static void get_blocks(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    (void)peer_ip;
    cc_err err = {0};
    char id[CC_HASH_HEX_LEN + 1];
    cc_chain_page page;
    bool ok;
    if (query_has(req, "locator")) {
        char locator[CC_SYNC_MAX_LOCATOR][CC_HASH_HEX_LEN + 1];
        size_t n = 0;
        ok = locator_param(req, locator, &n, &err) && page_param(req, &page, &err) &&
             cc_chain_write_after(node->chain, (const char(*)[CC_HASH_HEX_LEN + 1])locator, n,
                                  &page, &resp->body, &err);
    } else if (query_has(req, "id")) {
        ok = block_id_param(req, id, &err) &&
             (query_has(req, "limit")
                  ? page_param(req, &page, &err) &&
                        cc_chain_write_from_page(node->chain, id, &page, &resp->body, &err)
                  : cc_chain_write_from(node->chain, id, &resp->body, &err));
    } else {
        ok = stream_whole_chain(node, resp, &err);
    }
    if (!ok)
        reply_error(resp, &err);
}

static void get_data(http_node *node, const cc_http_request *req, const char *peer_ip,
                     cc_http_response *resp)
{
    (void)peer_ip;
    cc_err err = {0};
    char id[CC_HASH_HEX_LEN + 1];
    if (!block_id_param(req, id, &err) || !cc_chain_block_text(node->chain, id, &resp->body, &err))
        reply_error(resp, &err);
}

static void get_peers(http_node *node, const cc_http_request *req, const char *peer_ip,
                      cc_http_response *resp)
{
    char instance[32];
    if (cc_http_query_get(req->query, "node", instance, sizeof instance) &&
        strcmp(instance, cc_peering_instance(node->peering)) == 0) {
        /* Our own check, come back through an address we did not know as
         * ours (0.0.0.0, a LAN address, ...): fail it, so it is not listed. */
        cc_http_error(resp, CC_ERR_BAD_REQUEST, "This address leads to the asking node itself");
        return;
    }
    /* An outsider gets no peer list: without one it never lists us, so it
     * neither relays to us nor catches up from us. */
    cc_err err = {0};
    if (cc_peering_outsider(node->peering, req, peer_ip, &err)) {
        reply_error(resp, &err);
        return;
    }
    cc_peers_write_json(node->peers, &resp->body);
    /* Tells peers that we serve the catch-up forms (node/http_peering.h). */
    cc_buf_puts(&resp->headers, CC_PEERING_API_HEADER ": " CC_PEERING_API_VALUE "\r\n");
    cc_peering_register_requester(node->peering, req, peer_ip);
}

static void post_block(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_err err = {0};
    cc_block block = {0};
    if (!cc_peering_admit(node->peering, req, peer_ip, &err)) {
        reply_error(resp, &err);
        return;
    }
    if (!cc_node_core_decode_block(&node->core, req->body.data, req->body.len, &block, &err)) {
        cc_info(node->cfg->core.log, "block from %s refused: %s", peer_ip, err.msg);
        cc_peering_block_refused(node->peering, req, peer_ip, &err);
        reply_error(resp, &err);
        return;
    }
    reply *r = reply_new(node, peer_ip, resp);
    const char *source = cc_peering_source(node->peering, req, peer_ip);
    snprintf(r->source, sizeof r->source, "%s", source ? source : "");
    if (!cc_peering_sender(node->peering, req, peer_ip, r->sender))
        r->sender[0] = '\0';
    check_block(r, &block, resp);
}

static void inv_done(void *ctx, const cc_tx *tx, bool accepted, const cc_err *err)
{
    reply *r = ctx;
    cc_http_response *resp = reply_target(r);
    if (accepted) {
        cc_buf_printf(&resp->body, "{\"message\": \"Transaction accepted\", \"txid\": \"%s\"}",
                      tx->txid);
    } else {
        cc_info(r->node->cfg->core.log, "transaction from %s refused: %s", r->peer_ip, err->msg);
        reply_error(resp, err);
    }
    reply_done(r);
}

/* The cheap refusals (malformed, a reward, a payment we hold) come back at
 * once; only then is a worker spent on the signature (node/core.h). */
static void post_inv(http_node *node, const cc_http_request *req, const char *peer_ip,
                     cc_http_response *resp)
{
    cc_err err = {0};
    cc_tx tx = {0};
    bool ok = cc_peering_admit(node->peering, req, peer_ip, &err) &&
              node->cfg->core.rules->tx_decode(req->body.data, req->body.len, &tx, &err);
    if (!ok) {
        if (err.code != CC_ERR_FORBIDDEN)
            cc_metrics_tx(&node->core.metrics, false, &err);
        cc_info(node->cfg->core.log, "transaction from %s refused: %s", peer_ip, err.msg);
        reply_error(resp, &err);
        cc_tx_clear(&tx);
        return;
    }
    reply *r = reply_new(node, peer_ip, resp);
    const char *source = cc_peering_source(node->peering, req, peer_ip);
    cc_node_core_check_tx(&node->core, &tx, source, true, inv_done, r);
    reply_handed_over(r, resp);
}

static bool read_money_request(const cc_http_request *req, const char **to, cc_number *sum,
                               json_t **doc, cc_err *err)
{
    *doc = cc_json_parse(req->body.data, req->body.len, CC_HTTP_MAX_JSON_DEPTH, err);
    if (!*doc)
        return false;
    if (!json_is_object(*doc))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the body must be a JSON object {\"to\", \"sum\"}");
    return cc_json_get_text(*doc, "to", CC_HTTP_MAX_FIELD, to, err) &&
           cc_json_get_number(*doc, "sum", sum, err);
}

static void post_money(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_err err = {0};
    const char *given;
    char to[CC_HTTP_MAX_FIELD + 1] = "";
    cc_number sum;
    json_t *doc;
    cc_tx tx = {0};
    double when = cc_clock_mono();
    bool ok = read_money_request(req, &given, &sum, &doc, &err);
    if (ok) {
        /* A key pasted in upper case is the same key: paid, and counted by
         * the faucet, in the one spelling the wire carries. */
        snprintf(to, sizeof to, "%s", given);
        cc_hex_lowercase(to);
    }
    ok = ok && cc_faucet_check(node->faucet, to, &sum, when, &err) &&
              cc_node_core_pay(&node->core, to, &sum, &tx, &err);
    if (ok) {
        cc_faucet_record(node->faucet, to, &sum, when);
        cc_buf_printf(&resp->body, "{\"message\": \"Transaction created\", \"txid\": \"%s\", "
                                   "\"transaction\": %s}", tx.txid, tx.text);
        cc_info(node->cfg->core.log, "paid %s to %s for %s", tx.txid, to, peer_ip);
    } else {
        reply_error(resp, &err);
    }
    cc_tx_clear(&tx);
    json_decref(doc);
}

typedef void (*endpoint_fn)(http_node *, const cc_http_request *, const char *,
                            cc_http_response *);

static const struct route {
    const char *path;
    const char *method;
    endpoint_fn fn;
    bool between_nodes; /* what peers ask each other: a peer asking is up */
} routes[] = {
    {"/getblocks", "GET", get_blocks, true}, {"/getdata", "GET", get_data, true},
    {"/getpeers", "GET", get_peers, true},   {"/block", "POST", post_block, true},
    {"/inv", "POST", post_inv, true},        {"/money", "POST", post_money, false},
};

/* "/getpeers/" is the same resource as "/getpeers". */
static bool path_is(const char *path, const char *route)
{
    size_t len = strlen(route);
    return strncmp(path, route, len) == 0 && (path[len] == '\0' || strcmp(path + len, "/") == 0);
}

static void answer(void *ctx, const cc_http_request *req, const char *peer_ip,
                   cc_http_response *resp)
{
    http_node *node = ctx;
    if (cc_node_web_answer(&node->core.web, req, peer_ip, resp)) /* /metrics, /api/, explorer */
        return;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!path_is(req->path, routes[i].path))
            continue;
        if (strcmp(req->method, routes[i].method) != 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "Method not allowed: %s takes %s", routes[i].path,
                     routes[i].method);
            cc_http_error(resp, CC_ERR_METHOD, msg);
            return;
        }
        if (routes[i].between_nodes)
            cc_peering_heard_from(node->peering, req, peer_ip);
        routes[i].fn(node, req, peer_ip, resp);
        return;
    }
    cc_http_error(resp, CC_ERR_NOT_FOUND, "Not found");
}

/* Every request, timed for the latency histogram of /metrics. */
static void handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                   cc_http_response *resp)
{
    http_node *node = ctx;
    cc_node_timed(&node->core.metrics, answer, node, req, peer_ip, resp);
}

/* ---- what the JSON API asks of the network (node/core.h) ---------------------- */

static void http_peers_json(void *ctx, cc_buf *out)
{
    const http_node *node = ctx;
    cc_buf_putc(out, '[');
    for (size_t i = 0; i < cc_peers_count(node->peers); i++) {
        if (i)
            cc_buf_puts(out, ", ");
        cc_json_append_quoted(out, cc_peers_at(node->peers, i));
    }
    cc_buf_putc(out, ']');
}

static size_t http_peer_count(void *ctx)
{
    const http_node *node = ctx;
    return cc_peers_count(node->peers);
}

static void append_text_or_null(cc_buf *out, const char *text)
{
    if (*text)
        cc_json_append_quoted(out, text);
    else
        cc_buf_puts(out, "null");
}

/* The explorer's peers table: each listed peer, the height it has shown
 * while we caught up with it, when it last answered (node/api.h). */
static void http_peer_table(void *ctx, cc_buf *out)
{
    const http_node *node = ctx;
    cc_buf_putc(out, '[');
    for (size_t i = 0; i < cc_peers_count(node->peers); i++) {
        const char *address = cc_peers_at(node->peers, i);
        cc_buf_puts(out, i ? ", {\"address\": " : "{\"address\": ");
        cc_json_append_quoted(out, address);
        cc_buf_puts(out, ", ");
        int64_t height = node->sync ? cc_sync_peer_height(node->sync, address) : -1;
        cc_json_append_int_member(out, "height", height, height >= 0);
        cc_buf_puts(out, ", \"spelling\": null, ");
        int64_t heard = cc_peers_heard_at(node->peers, i);
        cc_json_append_int_member(out, "last_answer", heard, heard > 0);
        cc_buf_putc(out, '}');
    }
    cc_buf_putc(out, ']');
}

/* {"state": "syncing" | "idle", "asking": peer | null, "best_peer": ...,
 * "best_peer_height": n | null, "behind": blocks} */
static void http_sync_json(void *ctx, cc_buf *out)
{
    const http_node *node = ctx;
    cc_sync_status st;
    cc_sync_get_status(node->sync, &st);
    int64_t height = cc_chain_height(node->chain);
    int64_t behind = st.best_height > height ? st.best_height - height : 0;
    cc_buf_printf(out, "{\"state\": \"%s\", \"asking\": ", behind ? "syncing" : "idle");
    append_text_or_null(out, st.peer);
    cc_buf_puts(out, ", \"best_peer\": ");
    append_text_or_null(out, st.best_peer);
    if (st.best_height >= 0)
        cc_buf_printf(out, ", \"best_peer_height\": %lld", (long long)st.best_height);
    else
        cc_buf_puts(out, ", \"best_peer_height\": null");
    cc_buf_printf(out, ", \"behind\": %lld}", (long long)behind);
}

/* ---- start and stop ---------------------------------------------------------- */

static bool open_state(http_node *node, cc_err *err)
{
    const cc_http_node_config *cfg = node->cfg;
    if (!cc_node_core_open(&node->core, &cfg->core, err))
        return false;
    node->chain = node->core.chain;
    snprintf(node->self, sizeof node->self, "%s:%d", node->advertised, cfg->port);
    char path[4096];
    snprintf(path, sizeof path, "%s/peers-%d.json", cfg->core.datadir, cfg->port);
    node->peers = cc_peers_open(path, cfg->only_connect ? NULL : cfg->peers_default, node->self,
                                cfg->port, cfg->max_peers, cfg->core.log, err);
    return node->peers != NULL &&
           (!cfg->only_connect || cc_peers_only(node->peers, cfg->connect, cfg->n_connect, err));
}

/* The protocol's port (which serves the explorer and the API too, as
 * before), and the web port for browsers. */
static bool start_server(http_node *node, cc_err *err)
{
    const cc_http_node_config *cfg = node->cfg;
    cc_http_server_config server_cfg = {
        .host = cfg->host,
        .port = cfg->port,
        .limits = {.max_header_bytes = cfg->max_header_bytes, .max_body_bytes = cfg->max_body_bytes},
        .idle_timeout_s = cfg->idle_timeout_s,
        .max_connections = cfg->max_connections,
        .handler = handle,
        .handler_ctx = node,
        .log = cfg->core.log,
    };
    node->server = cc_http_server_start(node->core.base, &server_cfg, err);
    if (!node->server)
        return false;
    server_cfg.port = node->web_port;
    server_cfg.max_connections = 256;
    server_cfg.handler = cc_node_core_web_handle;
    server_cfg.handler_ctx = &node->core;
    node->web = cc_http_server_start(node->core.base, &server_cfg, err);
    return node->web != NULL;
}

static void close_node(http_node *node)
{
    /* Checks still under way end first (answered "shutting down"), while
     * everything they use is still there. */
    cc_verifier_free(node->core.verifier);
    node->core.verifier = NULL;
    /* The client reports dropped requests to their callbacks, which still
     * use the peering object and the chain: it goes first. */
    cc_http_client_free(node->client);
    cc_peering_free(node->peering); /* reports its queued requests too: sync's among them */
    cc_sync_free(node->sync);
    cc_http_server_free(node->server);
    cc_http_server_free(node->web);
    cc_peers_free(node->peers);
    cc_faucet_free(node->faucet);
    cc_node_core_close(&node->core);
}

static void start_peering(http_node *node)
{
    const cc_http_node_config *cfg = node->cfg;
    cc_peering_config peering_cfg = {.base = node->core.base,
                                     .client = node->client,
                                     .peers = node->peers,
                                     .self = node->self,
                                     .port = cfg->port,
                                     .gossip_interval_s = cfg->gossip_interval_s,
                                     .ban_time_s = cfg->ban_time_s,
                                     .new_peer = on_new_peer,
                                     .new_peer_ctx = node,
                                     .log = cfg->core.log};
    node->peering = cc_peering_new(&peering_cfg);
    cc_peering_start(node->peering);
    cc_sync_config sync_cfg = {.base = node->core.base,
                               .peering = node->peering,
                               .peers = node->peers,
                               .rules = cfg->core.rules,
                               .chain = node->chain,
                               .verifier = node->core.verifier,
                               .submit = sync_submit,
                               .advanced = sync_advanced,
                               .ctx = node,
                               .interval_s = SYNC_S,
                               .page_blocks = CC_SYNC_PAGE_MAX_BLOCKS,
                               .log = cfg->core.log};
    node->sync = cc_sync_new(&sync_cfg);
    cc_sync_start(node->sync);
}

bool cc_http_node_run(const cc_http_node_config *cfg, cc_err *err)
{
    http_node node = {.cfg = cfg};
    node.advertised = cc_node_advertised(cfg->host, cfg->advertise, err);
    if (!node.advertised)
        return false;
    node.web_port = cfg->web_port ? cfg->web_port : cfg->port + CC_NODE_WEB_PORT_OFFSET;
    if (node.web_port > 65535)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "--port %d leaves no default explorer port "
                       "(port + %d): give --api-port", cfg->port, CC_NODE_WEB_PORT_OFFSET);
    /* Before anything is created: a port in use leaves no data directory. */
    if (!cc_listener_can_bind(cfg->host, cfg->port, err) ||
        !cc_listener_can_bind(cfg->host, node.web_port, err))
        return false;
    node.faucet = cc_faucet_new(&cfg->faucet);
    bool ok = open_state(&node, err) && (node.client = cc_http_client_new(node.core.base)) &&
              start_server(&node, err);
    if (!ok) {
        close_node(&node);
        return false;
    }
    cc_node_adapter adapter = {.announce_block = http_announce_block,
                               .announce_tx = http_announce_tx,
                               .orphan = http_fetch_parent,
                               .reorganised = reorganised,
                               .peers_json = http_peers_json,
                               .peer_table = http_peer_table,
                               .sync_json = http_sync_json,
                               .peer_count = http_peer_count,
                               .ctx = &node};
    cc_node_core_start(&node.core, &adapter);
    cc_info(cfg->core.log, "http node listening on %s, height %lld, tip %s", node.self,
            (long long)cc_chain_height(node.chain), cc_chain_tip(node.chain));
    cc_notice(cfg->core.log, "listening on http://%s", node.self);
    cc_notice(cfg->core.log, "explorer on http://%s:%d/", node.advertised, node.web_port);
    start_peering(&node);
    cc_node_core_run(&node.core);
    close_node(&node);
    return true;
}
