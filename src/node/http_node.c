#include "node/http_node.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "codec/json.h"
#include "consensus/http.h"
#include "crypto/random.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "node/miner.h"
#include "node/peers.h"
#include "node/wallet.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"

#define POW_ZERO_DIGITS 4
#define MAX_OUTGOING 512        /* requests to peers under way at once */
#define MAX_PROBES 32           /* of which checks of would-be peers */
#define PEER_TIMEOUT_S 5
#define MAX_PEER_ANSWER (4 << 20)
#define GOSSIP_S 60

typedef struct http_node {
    const cc_http_node_config *cfg;
    struct event_base *base;
    cc_chain *chain;
    cc_http_server *server;
    cc_http_client *client;
    cc_miner *miner;
    cc_faucet *faucet;
    cc_peers *peers;
    cc_p192_key key;
    char self[96];
    char instance[17]; /* random, sent in our /getpeers: recognises ourselves */
    /* the block being mined */
    uint64_t job_id;
    uint64_t job_generation;
    cc_http_template tpl;
    size_t probes; /* peer checks under way */
    struct event *gossip_timer;
} http_node;

void cc_http_node_defaults(cc_http_node_config *config)
{
    *config = (cc_http_node_config){
        .host = "127.0.0.1",
        .port = 6000,
        .n_transactions = 2,
        .mine_on_start = true,
        .faucet = {.enabled = true, .max_per_request = 5, .max_per_recipient = 10,
                   .max_total = 50, .window_s = 3600},
        .max_body_bytes = 1 << 20,
        .max_header_bytes = 16 << 10,
        .idle_timeout_s = 10,
        .max_connections = 1024,
        .max_mempool = 10000,
        .max_orphans = 256,
        .max_peers = 128,
    };
}

/* ---- mining ------------------------------------------------------------ */

static void start_job(http_node *node)
{
    cc_tx *txs = NULL;
    size_t n = 0;
    cc_err err = {0};
    if (!cc_chain_mempool_take(node->chain, CC_HTTP_MAX_BLOCK_TXS - 1, &txs, &n, &err)) {
        cc_error(node->cfg->log, "cannot read the mempool: %s", err.msg);
        return;
    }
    txs = cc_realloc(txs, (n + 1) * sizeof *txs);
    char now[27];
    cc_clock_iso_now(now);
    cc_number reward = {.is_int = true, .i = 1};
    cc_http_tx_reward(node->key.pub_hex, &reward, now, &txs[n++]);
    cc_http_template_clear(&node->tpl);
    cc_http_template_build(&node->tpl, cc_chain_height(node->chain) + 1, cc_chain_tip(node->chain),
                           now, node->key.pub_hex, txs, n);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    node->job_id++;
    node->job_generation = cc_chain_tip_generation(node->chain);
    cc_info(node->cfg->log, "mining block %lld with %zu transactions",
            (long long)node->tpl.height, n);
    cc_miner_start(node->miner, node->job_id, node->tpl.prefix.data, node->tpl.prefix.len,
                   node->tpl.suffix.data, node->tpl.suffix.len, POW_ZERO_DIGITS);
}

/* Mines when the chain is only the genesis (the reference's first block)
 * or when enough transactions wait; drops a job whose tip has moved. */
static void maybe_mine(http_node *node)
{
    bool busy = cc_miner_job(node->miner) != 0;
    bool stale = node->job_generation != cc_chain_tip_generation(node->chain);
    if (busy && !stale)
        return;
    bool want = (cc_chain_height(node->chain) == 0 && node->cfg->mine_on_start) ||
                cc_chain_mempool_size(node->chain) >= node->cfg->n_transactions;
    if (want)
        start_job(node);
    else if (busy)
        cc_miner_cancel(node->miner);
}

/* ---- talking to peers ------------------------------------------------------ */

static bool split_address(const char *address, char host[64], int *port)
{
    const char *colon = strrchr(address, ':');
    if (!colon || colon - address >= 64)
        return false;
    snprintf(host, 64, "%.*s", (int)(colon - address), address);
    *port = atoi(colon + 1);
    return true;
}

/* Sends one request to a peer; false (and done never called) when too many
 * are under way already. */
static bool send_to(http_node *node, const char *address, const char *method, const char *path,
                    const cc_buf *body, cc_http_client_done done, void *ctx)
{
    char host[64];
    int port;
    if (cc_http_client_pending(node->client) >= MAX_OUTGOING ||
        !split_address(address, host, &port))
        return false;
    cc_http_client_request req = {.host = host,
                                  .port = port,
                                  .method = method,
                                  .path = path,
                                  .host_header = node->self,
                                  .body = body ? body->data : NULL,
                                  .body_len = body ? body->len : 0,
                                  .timeout_s = PEER_TIMEOUT_S,
                                  .max_response_bytes = MAX_PEER_ANSWER};
    cc_http_client_send(node->client, &req, done, ctx);
    return true;
}

typedef void (*peer_answer_fn)(http_node *node, const char *body, size_t len);

typedef struct peer_call {
    http_node *node;
    peer_answer_fn on_ok; /* NULL: the answer does not matter */
} peer_call;

static void on_peer_answer(void *ctx, int status, const char *body, size_t len)
{
    peer_call *call = ctx;
    if (status == 200 && call->on_ok)
        call->on_ok(call->node, body, len);
    free(call);
}

/* The same request to every peer. Blocks and transactions go back to their
 * sender too (we cannot tell its listening port): it answers that it has
 * them already, which ends the relay. */
static void send_to_all(http_node *node, const char *method, const char *path,
                        const cc_buf *body, peer_answer_fn on_ok)
{
    for (size_t i = 0; i < cc_peers_count(node->peers); i++) {
        peer_call *call = cc_calloc(1, sizeof *call);
        *call = (peer_call){node, on_ok};
        if (!send_to(node, cc_peers_at(node->peers, i), method, path, body, on_peer_answer,
                     call)) {
            free(call);
            cc_warn(node->cfg->log, "%s %s not sent to %s and later peers: too many requests "
                    "under way", method, path, cc_peers_at(node->peers, i));
            return;
        }
    }
}

static void on_block_text(http_node *node, const char *text, size_t len);

/* Stores a block from a client, a peer or our miner; relays it when it is
 * new and valid, and asks the peers for the parent of an orphan. */
static bool accept_block(http_node *node, const char *text, size_t len, cc_block_result *res,
                         cc_err *err)
{
    if (!cc_chain_submit_block(node->chain, text, len, res, err))
        return false;
    cc_buf body = {.data = (char *)text, .len = len};
    if (res->outcome == CC_BLOCK_ORPHAN) {
        char path[96];
        snprintf(path, sizeof path, "/getdata?id=%s", res->missing_parent);
        send_to_all(node, "GET", path, NULL, on_block_text);
    } else {
        send_to_all(node, "POST", "/block", &body, NULL);
    }
    /* Orphans waiting for this block were connected on top of it: peers get
     * the new tip too, and fetch what they lack in between. */
    cc_buf tip = CC_BUF_INIT;
    if (res->tip_changed && strcmp(cc_chain_tip(node->chain), res->hash) != 0 &&
        cc_chain_block_text(node->chain, cc_chain_tip(node->chain), &tip, NULL))
        send_to_all(node, "POST", "/block", &tip, NULL);
    cc_buf_free(&tip);
    maybe_mine(node);
    return true;
}

/* A block a peer sent us when we asked for a missing parent. */
static void on_block_text(http_node *node, const char *text, size_t len)
{
    cc_block_result res;
    cc_err err = {0};
    if (accept_block(node, text, len, &res, &err))
        cc_info(node->cfg->log, "fetched block %s", res.hash);
}

static void on_block_found(void *ctx, uint64_t job_id, const char *nonce)
{
    http_node *node = ctx;
    if (job_id != node->job_id)
        return;
    cc_buf text = CC_BUF_INIT;
    cc_http_template_finish(&node->tpl, nonce, &text);
    cc_block_result res;
    cc_err err = {0};
    if (accept_block(node, text.data, text.len, &res, &err)) {
        cc_info(node->cfg->log, "mined block %lld %s", (long long)node->tpl.height, res.hash);
    } else {
        cc_warn(node->cfg->log, "mined block refused: %s", err.msg);
        maybe_mine(node);
    }
    cc_buf_free(&text);
}

/* ---- peers --------------------------------------------------------------- */

typedef struct probe {
    http_node *node;
    char address[96];
} probe;

static void on_probe_answer(void *ctx, int status, const char *body, size_t len)
{
    probe *p = ctx;
    http_node *node = p->node;
    node->probes--;
    json_t *doc = status == 200 ? cc_json_parse(body, len, 4, NULL) : NULL;
    if (json_is_array(json_object_get(doc, "peers"))) {
        cc_err err = {0};
        if (cc_peers_add(node->peers, p->address, &err))
            cc_info(node->cfg->log, "new peer %s", p->address);
    }
    json_decref(doc);
    free(p);
}

/* The /getpeers we send: our port, so that the peer lists us, and our
 * instance id, so that we notice when an address leads back to us. */
static void getpeers_path(const http_node *node, char path[96])
{
    snprintf(path, 96, "/getpeers?port=%d&node=%s", node->cfg->port, node->instance);
}

/* A requester becomes a peer only once its address answers /getpeers. */
static void consider_peer(http_node *node, const char *address)
{
    if (!cc_peer_address_valid(address) || cc_peers_is_self(node->peers, address) ||
        cc_peers_contains(node->peers, address) || node->probes >= MAX_PROBES)
        return;
    probe *p = cc_calloc(1, sizeof *p);
    p->node = node;
    snprintf(p->address, sizeof p->address, "%s", address);
    char path[96];
    getpeers_path(node, path);
    if (send_to(node, address, "GET", path, NULL, on_probe_answer, p))
        node->probes++;
    else
        free(p);
}

/* A peer's list: every address in it that answers becomes our peer too. */
static void on_peer_list(http_node *node, const char *body, size_t len)
{
    json_t *doc = cc_json_parse(body, len, 4, NULL);
    json_t *list = json_object_get(doc, "peers");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *address = json_string_value(json_array_get(list, i));
        if (address)
            consider_peer(node, address);
    }
    json_decref(doc);
}

/* At start and then every GOSSIP_S: ask every peer for its peers, telling
 * it our port so that it lists us (PROTOCOL.md A.5). */
static void gossip(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_node *node = arg;
    char path[96];
    getpeers_path(node, path);
    send_to_all(node, "GET", path, NULL, on_peer_list);
}

static void register_requester(http_node *node, const cc_http_request *req, const char *peer_ip)
{
    char port[16], address[96];
    if (cc_http_query_get(req->query, "port", port, sizeof port)) {
        snprintf(address, sizeof address, "%s:%s", peer_ip, port);
        consider_peer(node, address);
    } else if (req->host) {
        consider_peer(node, req->host);
    }
}

/* ---- endpoints ------------------------------------------------------------- */

static void reply_error(cc_http_response *resp, const cc_err *err)
{
    cc_http_error(resp, err->code ? err->code : CC_ERR_BAD_REQUEST, err->msg);
}

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

static void get_blocks(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    (void)peer_ip;
    cc_err err = {0};
    char id[CC_HASH_HEX_LEN + 1];
    bool ok;
    if (query_has(req, "id"))
        ok = block_id_param(req, id, &err) && cc_chain_write_from(node->chain, id, &resp->body, &err);
    else
        ok = cc_chain_write_all(node->chain, &resp->body, &err);
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
    char instance[sizeof node->instance];
    if (cc_http_query_get(req->query, "node", instance, sizeof instance) &&
        strcmp(instance, node->instance) == 0) {
        /* Our own check, come back through an address we did not know as
         * ours (0.0.0.0, a LAN address, ...): fail it, so it is not listed. */
        cc_http_error(resp, CC_ERR_BAD_REQUEST, "This address leads to the asking node itself");
        return;
    }
    cc_peers_write_json(node->peers, &resp->body);
    register_requester(node, req, peer_ip);
}

static void post_block(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_err err = {0};
    cc_block_result res;
    if (!accept_block(node, req->body.data, req->body.len, &res, &err)) {
        cc_info(node->cfg->log, "block from %s refused: %s", peer_ip, err.msg);
        reply_error(resp, &err);
        return;
    }
    static const char *const outcome[] = {"Block accepted", "Block stored on a side branch",
                                          "Block held until its parent arrives"};
    cc_buf_printf(&resp->body, "{\"message\": \"%s\", \"hash\": \"%s\", \"height\": %lld}",
                  outcome[res.outcome], res.hash, (long long)cc_chain_height(node->chain));
    cc_info(node->cfg->log, "block %s from %s: %s", res.hash, peer_ip, outcome[res.outcome]);
}

static void post_inv(http_node *node, const cc_http_request *req, const char *peer_ip,
                     cc_http_response *resp)
{
    cc_err err = {0};
    char txid[CC_HASH_HEX_LEN + 1];
    if (!cc_chain_submit_tx(node->chain, req->body.data, req->body.len, txid, &err)) {
        cc_info(node->cfg->log, "transaction from %s refused: %s", peer_ip, err.msg);
        reply_error(resp, &err);
        return;
    }
    cc_buf_printf(&resp->body, "{\"message\": \"Transaction accepted\", \"txid\": \"%s\"}", txid);
    send_to_all(node, "POST", "/inv", &req->body, NULL);
    maybe_mine(node);
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
    const char *to;
    cc_number sum;
    json_t *doc;
    cc_tx tx = {0};
    char now[27];
    cc_clock_iso_now(now);
    double amount = 0;
    bool ok = read_money_request(req, &to, &sum, &doc, &err);
    if (ok) {
        amount = sum.is_int ? (double)sum.i : sum.d;
        ok = cc_http_tx_create(&node->key, to, &sum, now, &tx, &err) &&
             cc_faucet_check(node->faucet, to, amount, cc_clock_mono(), &err) &&
             cc_chain_accept_tx(node->chain, &tx, &err);
    }
    if (ok) {
        cc_faucet_record(node->faucet, to, amount, cc_clock_mono());
        cc_buf_printf(&resp->body, "{\"message\": \"Transaction created\", \"txid\": \"%s\", "
                                   "\"transaction\": %s}", tx.txid, tx.text);
        cc_info(node->cfg->log, "paid %s to %s for %s", tx.txid, to, peer_ip);
        cc_buf text = {.data = tx.text, .len = tx.text_len};
        send_to_all(node, "POST", "/inv", &text, NULL);
        maybe_mine(node);
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
} routes[] = {
    {"/getblocks", "GET", get_blocks}, {"/getdata", "GET", get_data},
    {"/getpeers", "GET", get_peers},   {"/block", "POST", post_block},
    {"/inv", "POST", post_inv},        {"/money", "POST", post_money},
};

/* "/getpeers/" is the same resource as "/getpeers". */
static bool path_is(const char *path, const char *route)
{
    size_t len = strlen(route);
    return strncmp(path, route, len) == 0 && (path[len] == '\0' || strcmp(path + len, "/") == 0);
}

static void handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                   cc_http_response *resp)
{
    http_node *node = ctx;
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
        routes[i].fn(node, req, peer_ip, resp);
        return;
    }
    cc_http_error(resp, CC_ERR_NOT_FOUND, "Not found");
}

/* ---- start and stop ---------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    http_node *node = arg;
    cc_info(node->cfg->log, "signal %d: shutting down", (int)sig);
    event_base_loopbreak(node->base);
}

static bool open_state(http_node *node, cc_err *err)
{
    const cc_http_node_config *cfg = node->cfg;
    if (!cc_mkdir_p(cfg->datadir, err))
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/wallet.key", cfg->datadir);
    bool created;
    if (!cc_wallet_load_or_create(path, &node->key, &created, cfg->log, err))
        return false;
    fprintf(stderr, "public key: %s (%s)\n", node->key.pub_hex, created ? "new wallet" : path);
    snprintf(path, sizeof path, "%s/chain.sqlite", cfg->datadir);
    cc_chain_config chain_cfg = {.db_path = path,
                                 .rules = cc_rules_http(),
                                 .log = cfg->log,
                                 .max_orphans = cfg->max_orphans,
                                 .max_mempool = cfg->max_mempool};
    node->chain = cc_chain_open(&chain_cfg, err);
    if (!node->chain)
        return false;
    snprintf(node->self, sizeof node->self, "%s:%d", cfg->host, cfg->port);
    uint8_t instance[8];
    cc_random_bytes(instance, sizeof instance);
    cc_hex_encode(instance, sizeof instance, node->instance);
    snprintf(path, sizeof path, "%s/peers-%d.json", cfg->datadir, cfg->port);
    node->peers = cc_peers_open(path, cfg->peers_default, node->self, cfg->port, cfg->max_peers,
                                cfg->log, err);
    return node->peers != NULL;
}

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
        .log = cfg->log,
    };
    node->server = cc_http_server_start(node->base, &server_cfg, err);
    return node->server != NULL;
}

static void close_node(http_node *node)
{
    if (node->gossip_timer)
        event_free(node->gossip_timer);
    cc_http_client_free(node->client);
    cc_miner_free(node->miner);
    cc_http_server_free(node->server);
    cc_http_template_clear(&node->tpl);
    cc_peers_free(node->peers);
    cc_faucet_free(node->faucet);
    cc_chain_close(node->chain);
    if (node->base)
        event_base_free(node->base);
}

bool cc_http_node_run(const cc_http_node_config *cfg, cc_err *err)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    http_node node = {.cfg = cfg};
    node.base = event_base_new();
    node.faucet = cc_faucet_new(&cfg->faucet);
    node.client = node.base ? cc_http_client_new(node.base) : NULL;
    bool ok = node.base && open_state(&node, err) && start_server(&node, err);
    if (!ok) {
        close_node(&node);
        return false;
    }
    node.miner = cc_miner_new(node.base, cfg->miner_threads, on_block_found, &node);
    struct event *sigint = evsignal_new(node.base, SIGINT, on_signal, &node);
    struct event *sigterm = evsignal_new(node.base, SIGTERM, on_signal, &node);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    cc_info(cfg->log, "http node listening on %s, height %lld, tip %s", node.self,
            (long long)cc_chain_height(node.chain), cc_chain_tip(node.chain));
    fprintf(stderr, "listening on http://%s\n", node.self);
    node.gossip_timer = event_new(node.base, -1, EV_PERSIST, gossip, &node);
    event_add(node.gossip_timer, &(struct timeval){GOSSIP_S, 0});
    gossip(-1, 0, &node);
    maybe_mine(&node);
    event_base_dispatch(node.base);
    event_free(sigint);
    event_free(sigterm);
    close_node(&node);
    return true;
}
