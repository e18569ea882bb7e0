#include "node/cheese_node.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "codec/json.h"
#include "consensus/cheese.h"
#include "crypto/random.h"
#include "net/http_server.h"
#include "node/api.h"
#include "node/cheese_peers.h"
#include "node/cheese_serve.h"
#include "node/cheese_tracker_client.h"
#include "node/metrics.h"
#include "node/miner.h"
#include "node/node_common.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/mem.h"
#include "util/timeval.h"
#include "wallet/keys.h"
#include "wallet/payment.h"

#define GREET_WAIT_S 0.15     /* a connecting peer silent this long is greeted */
#define SILENCE_S 0.1         /* silence that ends an argument (as the tracker) */
#define SPELLING_WAIT_S 1.0   /* tracker silent this long: try the other spelling */
#define ANSWER_TIMEOUT_S 10.0 /* tracker or peer answers, and progress on long ones */
#define LINK_IDLE_S 5.0       /* outbound links with nothing to do close */
#define GREETING_WAIT_S 1.0   /* a peer that does not greet is taken to speak the later spelling */
#define HCK_WAIT_S 3.0        /* a later peer silent on HCK this long gets no transactions */
#define RETRY_MIN_S 0.25      /* tracker reconnect back-off */
#define RETRY_MAX_S 5.0
#define MAX_LINE 1024         /* argument or unknown text */
#define TRACKER_PAYLOAD (1 << 20)
#define LINK_QUEUE 256        /* messages waiting per outbound link */
#define ORPHAN_FETCH_GAP_S 2.0 /* between chain fetches from every peer for orphans */
#define OPEN_TXS_MAX 1000     /* transactions in one TR[...] answer */
#define LIST_DEPTH (CC_CHEESE_MAX_JSON_DEPTH + 1)
#define ID_RANDOM_BYTES 10

typedef struct cheese_node {
    const cc_cheese_node_config *cfg;
    cc_dir_lock datadir_lock;
    const cc_rules *rules;
    struct event_base *base;
    struct evdns_base *dns;
    cc_chain *chain;
    cc_miner *miner;
    cc_rsa_key key;
    cc_tracker_client *tracker;
    cc_cheese_peers *peers;
    cc_cheese_serve *serve;
    cc_http_server *api;
    cc_api_backend backend;
    cc_node_web web; /* /metrics, /api/ and the explorer on the API port */
    char token[65];
    char greet_id[3 + 2 * ID_RANDOM_BYTES + 1]; /* until the tracker gives us one */
    struct event *resync;
    double last_orphan_fetch;
    int api_port;
    /* the block being mined */
    uint64_t job_id;
    uint64_t job_generation;
    bool mine_requested; /* through the API: mine even with nothing waiting */
    cc_cheese_template tpl;
    cc_metrics metrics;
} cheese_node;

void cc_cheese_node_defaults(cc_cheese_node_config *config)
{
    *config = (cc_cheese_node_config){
        .host = "127.0.0.1",
        .port = 9009,
        .tracker_host = "127.0.0.1",
        .tracker_port = 9999,
        .n_transactions = 2,
        .miner_nice = CC_MINER_NICE_DEFAULT,
        .idle_timeout_s = 10,
        .max_connections = 1024,
        .max_mempool = 10000,
        .max_orphans = 256,
        .max_peers = 128,
        .tracker_interval_s = 10,
        .resync_interval_s = 60,
        .max_chain_bytes = 64 << 20,
        .max_message_bytes = 16 << 20,
        .api_trust_loopback = true,
    };
}

static cc_number now_number(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cc_number){.is_int = false, .d = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9};
}

/* ---- mining ---- */

static void start_job(cheese_node *node)
{
    cc_tx *txs = NULL;
    size_t n = 0;
    cc_err err = {0};
    if (!cc_chain_mempool_take(node->chain, node->rules->max_block_txs - 1, &txs, &n, &err)) {
        cc_error(node->cfg->log, "cannot read the mempool: %s", err.msg);
        return;
    }
    txs = cc_realloc(txs, (n + 1) * sizeof *txs);
    cc_cheese_tx_reward(node->key.pub_hex, &txs[n++]);
    cc_number now = now_number();
    cc_cheese_template_clear(&node->tpl);
    cc_cheese_template_build(&node->tpl, cc_chain_height(node->chain) + 1,
                             cc_chain_tip(node->chain), &now, txs, n);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    node->job_id++;
    node->job_generation = cc_chain_tip_generation(node->chain);
    cc_info(node->cfg->log, "mining block %lld with %zu payments", (long long)node->tpl.height,
            n - 1);
    cc_miner_start(node->miner, node->job_id, node->tpl.prefix.data, node->tpl.prefix.len,
                   node->tpl.suffix.data, node->tpl.suffix.len, node->rules->pow_zero_digits,
                   node->rules->nonce_style);
}

/* Mines when enough payments wait or a block was asked for; a job whose
 * tip has moved is rebuilt (or dropped). */
static void maybe_mine(cheese_node *node)
{
    bool busy = cc_miner_job(node->miner) != 0;
    bool stale = node->job_generation != cc_chain_tip_generation(node->chain);
    if (busy && !stale)
        return;
    bool want = node->mine_requested ||
                cc_chain_mempool_size(node->chain) >= node->cfg->n_transactions;
    if (want)
        start_job(node);
    else if (busy)
        cc_miner_cancel(node->miner);
}

/* ---- blocks and transactions ---- */

static bool is_duplicate(const cc_err *err)
{
    return cc_err_refusal(err) == CC_REFUSAL_DUPLICATE;
}

/* Every transaction offered to the mempool one by one goes through here,
 * so that /metrics counts each outcome. */
static bool accept_tx(cheese_node *node, const cc_tx *tx, cc_err *err)
{
    bool ok = cc_chain_accept_tx(node->chain, tx, err);
    cc_metrics_tx(&node->metrics, ok, err);
    return ok;
}

static void relay_stored(cheese_node *node, const char *hash, const char *except)
{
    cc_buf text = CC_BUF_INIT;
    if (cc_chain_block_text(node->chain, hash, &text, NULL))
        cc_cheese_peers_announce_block(node->peers, text.data, text.len, except);
    cc_buf_free(&text);
}

/* A block whose parent we lack: someone has the chain it belongs to. */
static void fetch_for_orphan(cheese_node *node, const char *source)
{
    if (source && cc_cheese_peers_has(node->peers, source)) {
        cc_cheese_peers_fetch(node->peers, source);
        return;
    }
    double now = cc_clock_mono();
    if (now - node->last_orphan_fetch < ORPHAN_FETCH_GAP_S)
        return;
    node->last_orphan_fetch = now;
    cc_cheese_peers_fetch(node->peers, NULL);
}

/* Stores one block (wire text) from a peer (source: its id or NULL) or
 * from our miner. A block we have is fine; anything else invalid is
 * refused. New valid blocks are relayed when relay is set. */
static bool take_block(cheese_node *node, const char *text, size_t len, const char *source,
                       bool relay, cc_block_result *res, cc_err *err)
{
    bool ok = cc_chain_submit_block(node->chain, text, len, res, err);
    cc_metrics_block(&node->metrics, ok, res, err);
    if (!ok) {
        if (!is_duplicate(err))
            return false;
        cc_err_clear(err);
        res->outcome = CC_BLOCK_SIDE;
        res->tip_changed = false;
        res->hash[0] = '\0';
        return true;
    }
    if (res->outcome == CC_BLOCK_ORPHAN) {
        cc_info(node->cfg->log, "block %lld %s: parent unknown, fetching chains",
                (long long)res->height, res->hash);
        fetch_for_orphan(node, source);
        return true;
    }
    cc_info(node->cfg->log, "block %lld %s stored%s; height %lld", (long long)res->height,
            res->hash, res->outcome == CC_BLOCK_NEW_TIP ? " as the new tip" : " on a side branch",
            (long long)cc_chain_height(node->chain));
    if (relay) {
        relay_stored(node, res->hash, source);
        /* orphans that waited for this block now sit on top of it */
        if (res->tip_changed && strcmp(cc_chain_tip(node->chain), res->hash) != 0)
            relay_stored(node, cc_chain_tip(node->chain), NULL);
    }
    return true;
}

/* A list of blocks, in order: each is stored (or found known) until the
 * first invalid one, which refuses the rest (they build on it). With
 * relay_each every new block is relayed; otherwise only the tip, once, if
 * it moved (a chain fetched while catching up). */
static bool take_block_list(cheese_node *node, const char *payload, size_t len,
                            const char *source, bool relay_each, cc_err *err)
{
    json_t *doc = cc_json_parse(payload, len, LIST_DEPTH, err);
    if (!doc)
        return false;
    if (!json_is_array(doc)) {
        json_decref(doc);
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a chain must be a list of blocks");
    }
    uint64_t generation = cc_chain_tip_generation(node->chain);
    bool ok = true;
    size_t i;
    json_t *item;
    json_array_foreach(doc, i, item) {
        cc_block block = {0};
        cc_block_result res;
        ok = cc_cheese_block_from_json(item, &block, err) &&
             (block.height == 0 ||
              take_block(node, block.text, block.text_len, source, relay_each, &res, err));
        cc_block_clear(&block);
        if (!ok) {
            cc_err_prefix(err, "block %zu of the list: ", i);
            break;
        }
    }
    json_decref(doc);
    if (!relay_each && generation != cc_chain_tip_generation(node->chain))
        relay_stored(node, cc_chain_tip(node->chain), source);
    maybe_mine(node);
    return ok;
}

static bool on_peer_blocks(void *ctx, const char *payload, size_t len, const char *source,
                           cc_err *err)
{
    cheese_node *node = ctx;
    if (payload[0] == '[')
        return take_block_list(node, payload, len, source, true, err);
    cc_block_result res;
    bool ok = take_block(node, payload, len, source, true, &res, err);
    maybe_mine(node);
    return ok;
}

static bool on_peer_tx(void *ctx, const char *payload, size_t len, const char *source,
                       cc_err *err)
{
    cheese_node *node = ctx;
    char txid[CC_HASH_HEX_LEN + 1];
    bool ok = cc_chain_submit_tx(node->chain, payload, len, txid, err);
    cc_metrics_tx(&node->metrics, ok, err);
    if (!ok) {
        if (cc_err_refusal(err) != CC_REFUSAL_DUPLICATE)
            return false;
        cc_err_clear(err);
        return true; /* gossip reaching us twice */
    }
    cc_info(node->cfg->log, "transaction %s accepted; %zu waiting", txid,
            cc_chain_mempool_size(node->chain));
    /* relay the canonical text, the one we hashed */
    cc_tx tx = {0};
    if (cc_cheese_tx_decode(payload, len, &tx, NULL))
        cc_cheese_peers_announce_tx(node->peers, tx.text, tx.text_len, source);
    cc_tx_clear(&tx);
    maybe_mine(node);
    return true;
}

static void on_block_found(void *ctx, uint64_t job_id, const char *nonce)
{
    cheese_node *node = ctx;
    if (job_id != node->job_id)
        return;
    cc_buf text = CC_BUF_INIT;
    cc_block_result res;
    cc_err err = {0};
    if (!cc_cheese_template_finish(&node->tpl, nonce, &text)) {
        cc_error(node->cfg->log, "the miner found an unusable nonce %s", nonce);
    } else if (take_block(node, text.data, text.len, NULL, true, &res, &err)) {
        cc_info(node->cfg->log, "mined block %lld %s", (long long)node->tpl.height, res.hash);
        node->mine_requested = false;
    } else {
        cc_warn(node->cfg->log, "mined block refused: %s", err.msg);
    }
    cc_buf_free(&text);
    maybe_mine(node);
}

/* ---- what peers answer us ---- */

static void on_chain(void *ctx, const char *peer_id, const char *payload, size_t len)
{
    cheese_node *node = ctx;
    int64_t before = cc_chain_height(node->chain);
    cc_err err = {0};
    if (!take_block_list(node, payload, len, peer_id, false, &err))
        cc_info(node->cfg->log, "chain from %s: %s", peer_id, err.msg);
    if (cc_chain_height(node->chain) != before)
        cc_info(node->cfg->log, "caught up with %s: height %lld -> %lld", peer_id,
                (long long)before, (long long)cc_chain_height(node->chain));
}

static void on_open_txs(void *ctx, const char *peer_id, const char *payload, size_t len)
{
    cheese_node *node = ctx;
    json_t *doc = cc_json_parse(payload, len, LIST_DEPTH, NULL);
    size_t taken = 0;
    if (doc && json_is_array(doc)) {
        size_t i;
        json_t *item;
        json_array_foreach(doc, i, item) {
            cc_tx tx = {0};
            cc_err why = {0};
            if (cc_cheese_tx_from_json(item, &tx, NULL) && !tx.is_reward &&
                accept_tx(node, &tx, &why))
                taken++;
            cc_tx_clear(&tx);
        }
    }
    json_decref(doc);
    if (taken > 0) {
        cc_info(node->cfg->log, "%zu open transactions from %s", taken, peer_id);
        maybe_mine(node);
    }
}

/* ---- what we serve peers ---- */

static const char *self_id(void *ctx)
{
    cheese_node *node = ctx;
    const char *id = cc_tracker_client_id(node->tracker);
    return id ? id : node->greet_id;
}

/* The best chain from the genesis, as a JSON list: the "chain" member of
 * cc_chain_write_from's {"chain": [...]}. */
static void serve_chain(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_buf doc = CC_BUF_INIT;
    static const char head[] = "{\"chain\": ";
    cc_err err = {0};
    if (cc_chain_write_from(node->chain, node->rules->genesis_hash, &doc, &err) &&
        doc.len > sizeof head && memcmp(doc.data, head, sizeof head - 1) == 0) {
        cc_buf_append(out, doc.data + sizeof head - 1, doc.len - sizeof head);
    } else {
        cc_error(node->cfg->log, "cannot read the chain: %s", err.msg);
        cc_buf_puts(out, "[");
        cc_buf_puts(out, node->rules->genesis_text);
        cc_buf_puts(out, "]");
    }
    cc_buf_free(&doc);
}

static void serve_open_txs(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_tx *txs = NULL;
    size_t n = 0;
    cc_buf_putc(out, '[');
    if (cc_chain_mempool_take(node->chain, OPEN_TXS_MAX, &txs, &n, NULL)) {
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                cc_buf_puts(out, ", ");
            cc_buf_append(out, txs[i].text, txs[i].text_len);
            cc_tx_clear(&txs[i]);
        }
        free(txs);
    }
    cc_buf_putc(out, ']');
}

/* ---- the tracker ---- */

static void on_joined(void *ctx, const char *id, cc_cheese_spelling spelling)
{
    (void)spelling;
    cheese_node *node = ctx;
    cc_cheese_peers_set_self(node->peers, id);
}

static void on_tracker_lost(void *ctx)
{
    cheese_node *node = ctx;
    cc_cheese_peers_set_self(node->peers, NULL);
}

static void on_tracker_peers(void *ctx, const cc_cheese_peer_entry *entries, size_t n)
{
    cheese_node *node = ctx;
    for (size_t i = 0; i < n; i++)
        if (cc_cheese_peers_add(node->peers, entries[i].id, entries[i].host, entries[i].port))
            cc_cheese_peers_fetch(node->peers, entries[i].id); /* catch up with it */
}

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cheese_node *node = arg;
    /* Announcements can be missed (we or a peer were down for a moment):
     * now and then one peer's chain is compared with ours. Peers answer
     * with their whole chain, so this is kept rare. */
    cc_cheese_peers_fetch_random(node->peers);
    struct timeval tv = cc_timeval_of(node->cfg->resync_interval_s);
    evtimer_add(node->resync, &tv);
}

/* ---- the JSON API ---- */

static void api_peers(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_cheese_peers_write_json(node->peers, out);
}

static void api_sync(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    size_t fetching = cc_cheese_peers_fetching(node->peers);
    cc_buf_printf(out, "{\"state\": \"%s\", \"height\": %lld, \"peers\": %zu, \"fetching\": %zu, "
                       "\"tracker\": ",
                  fetching ? "syncing" : "idle", (long long)cc_chain_height(node->chain),
                  cc_cheese_peers_count(node->peers), fetching);
    cc_tracker_client_write_json(node->tracker, out);
    cc_buf_putc(out, '}');
}

static size_t api_peer_count(void *ctx)
{
    cheese_node *node = ctx;
    return cc_cheese_peers_count(node->peers);
}

static bool api_key_valid(const char *key, cc_err *err)
{
    return cc_rsa_pubkey_valid(key) ||
           cc_fail(err, CC_ERR_BAD_REQUEST, "a key of the cheese network is the lowercase hex "
                                            "of a DER RSA public key (30819f30...)");
}

static bool api_send(void *ctx, const char *to, const cc_number *amount, cc_buf *out, cc_err *err)
{
    cheese_node *node = ctx;
    cc_tx tx = {0};
    bool ok = cc_cheese_tx_create(&node->key, to, amount, &tx, err) &&
              accept_tx(node, &tx, err);
    if (ok) {
        cc_buf_printf(out, "{\"txid\": \"%s\", \"transaction\": %s}", tx.txid, tx.text);
        cc_info(node->cfg->log, "paid %s from our wallet", tx.txid);
        cc_cheese_peers_announce_tx(node->peers, tx.text, tx.text_len, NULL);
        maybe_mine(node);
    }
    cc_tx_clear(&tx);
    return ok;
}

static bool api_mine(void *ctx, cc_buf *out, cc_err *err)
{
    (void)err;
    cheese_node *node = ctx;
    node->mine_requested = true;
    if (cc_miner_job(node->miner) == 0 ||
        node->job_generation != cc_chain_tip_generation(node->chain))
        start_job(node);
    cc_buf_printf(out, "{\"mining\": %lld}", (long long)node->tpl.height);
    return true;
}

static void metrics_gauges(void *ctx, cc_metrics_gauges *gauges)
{
    cheese_node *node = ctx;
    *gauges = (cc_metrics_gauges){.height = cc_chain_height(node->chain),
                                  .peers = cc_cheese_peers_count(node->peers),
                                  .mempool = cc_chain_mempool_size(node->chain)};
}

static void api_answer(void *ctx, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cheese_node *node = ctx;
    if (!cc_node_web_answer(&node->web, req, peer_ip, resp))
        cc_http_error(resp, CC_ERR_NOT_FOUND, "Not found: this port serves the explorer at /, "
                                              "the JSON API under /api/ and /metrics");
}

static void api_handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cheese_node *node = ctx;
    cc_node_timed(&node->metrics, api_answer, node, req, peer_ip, resp);
}

/* ---- start and stop ---- */

static bool open_state(cheese_node *node, cc_err *err)
{
    const cc_cheese_node_config *cfg = node->cfg;
    if (!cc_node_datadir_open(cfg->datadir, &node->datadir_lock, cfg->log, err))
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg->datadir, cfg->rules->wallet_file);
    bool created;
    if (!cc_wallet_rsa_load_or_create(path, &node->key, &created, cfg->log, err))
        return false;
    cc_node_report_key(node->key.pub_hex, created, path);
    node->chain = cc_node_chain_open(cfg->datadir, node->rules, cfg->log, cfg->max_orphans,
                                     cfg->max_mempool,
                                     0 /* chains arrive whole: see cheese-node.md */, err);
    return node->chain && cc_api_token_load(cfg->datadir, node->token, cfg->log, err);
}

static void make_greet_id(char out[3 + 2 * ID_RANDOM_BYTES + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char bytes[ID_RANDOM_BYTES];
    cc_random_bytes(bytes, sizeof bytes);
    memcpy(out, "PID", 3);
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[3 + 2 * i] = digits[bytes[i] >> 4];
        out[4 + 2 * i] = digits[bytes[i] & 15];
    }
    out[3 + 2 * ID_RANDOM_BYTES] = '\0';
}

static bool start_network(cheese_node *node, cc_err *err)
{
    const cc_cheese_node_config *cfg = node->cfg;
    node->dns = evdns_base_new(node->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    cc_cheese_peers_config peers_cfg = {
        .base = node->base,
        .dns = node->dns,
        .self_host = cfg->host,
        .self_port = cfg->port,
        .max_peers = cfg->max_peers,
        .max_queue = LINK_QUEUE,
        .known_ttl_s = 3 * cfg->tracker_interval_s > 30 ? 3 * cfg->tracker_interval_s : 30,
        .answer_timeout_s = ANSWER_TIMEOUT_S,
        .greeting_wait_s = GREETING_WAIT_S,
        .hck_wait_s = HCK_WAIT_S,
        .link_idle_s = LINK_IDLE_S,
        .silence_s = SILENCE_S,
        .limits = {.max_line = MAX_LINE, .max_payload = cfg->max_chain_bytes},
        .chain = on_chain,
        .open_txs = on_open_txs,
        .ctx = node,
        .log = cfg->log,
    };
    node->peers = cc_cheese_peers_new(&peers_cfg);
    cc_tracker_client_config tracker_cfg = {
        .base = node->base,
        .dns = node->dns,
        .host = cfg->tracker_host,
        .port = cfg->tracker_port,
        .self_host = cfg->host,
        .self_port = cfg->port,
        .poll_interval_s = cfg->tracker_interval_s,
        .answer_timeout_s = ANSWER_TIMEOUT_S,
        .spelling_wait_s = SPELLING_WAIT_S,
        .silence_s = SILENCE_S,
        .retry_min_s = RETRY_MIN_S,
        .retry_max_s = RETRY_MAX_S,
        .limits = {.max_line = MAX_LINE, .max_payload = TRACKER_PAYLOAD},
        .joined = on_joined,
        .lost = on_tracker_lost,
        .peers = on_tracker_peers,
        .ctx = node,
        .log = cfg->log,
    };
    node->tracker = cc_tracker_client_new(&tracker_cfg);
    cc_cheese_serve_config serve_cfg = {
        .base = node->base,
        .host = cfg->host,
        .port = cfg->port,
        .idle_timeout_s = cfg->idle_timeout_s,
        .greet_wait_s = GREET_WAIT_S,
        .silence_s = SILENCE_S,
        .max_connections = cfg->max_connections,
        .limits = {.max_line = MAX_LINE, .max_payload = cfg->max_message_bytes},
        .tracker = node->tracker,
        .peers = node->peers,
        .self_id = self_id,
        .chain = serve_chain,
        .open_txs = serve_open_txs,
        .blocks = on_peer_blocks,
        .tx = on_peer_tx,
        .ctx = node,
        .log = cfg->log,
    };
    node->serve = cc_cheese_serve_start(&serve_cfg, err);
    if (!node->serve)
        return false;
    node->backend = (cc_api_backend){.network = "cheese",
                                     .chain = node->chain,
                                     .node_key = node->key.pub_hex,
                                     .token = node->token,
                                     .token_only = !cfg->api_trust_loopback,
                                     .ctx = node,
                                     .peers = api_peers,
                                     .sync = api_sync,
                                     .send = api_send,
                                     .mine = api_mine,
                                     .peer_count = api_peer_count,
                                     .key_valid = api_key_valid};
    node->web = (cc_node_web){.metrics = &node->metrics,
                              .api = &node->backend,
                              .gauges = metrics_gauges,
                              .ctx = node};
    cc_http_server_config api_cfg = {
        .host = cfg->host,
        .port = node->api_port,
        .limits = {.max_header_bytes = 16 << 10, .max_body_bytes = 64 << 10},
        .idle_timeout_s = cfg->idle_timeout_s,
        .max_connections = 256,
        .handler = api_handle,
        .handler_ctx = node,
        .log = cfg->log,
    };
    node->api = cc_http_server_start(node->base, &api_cfg, err);
    return node->api != NULL;
}

static void close_node(cheese_node *node)
{
    /* Inbound connections first: they may wait on the tracker's checks. */
    cc_cheese_serve_free(node->serve);
    cc_tracker_client_free(node->tracker);
    cc_cheese_peers_free(node->peers);
    cc_http_server_free(node->api);
    cc_miner_free(node->miner);
    cc_cheese_template_clear(&node->tpl);
    if (node->resync)
        event_free(node->resync);
    if (node->dns)
        evdns_base_free(node->dns, 0);
    cc_chain_close(node->chain);
    cc_rsa_key_clear(&node->key);
    if (node->base)
        event_base_free(node->base);
    cc_dir_lock_release(&node->datadir_lock); /* last: the database is closed */
}

bool cc_cheese_node_run(const cc_cheese_node_config *cfg, cc_err *err)
{
    cc_node_process_init();
    cheese_node node = {.cfg = cfg, .rules = cfg->rules, .datadir_lock = CC_DIR_LOCK_INIT};
    node.api_port = cfg->api_port ? cfg->api_port : cc_rules_api_port(cfg->rules, cfg->port);
    if (node.api_port == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "--port %d leaves no default API port "
                                                "(port + %d): give --api-port",
                       cfg->port, cfg->rules->api_port_offset);
    make_greet_id(node.greet_id);
    node.base = event_base_new();
    bool ok = node.base && open_state(&node, err) && start_network(&node, err);
    if (!ok) {
        close_node(&node);
        return false;
    }
    node.miner =
        cc_miner_new(node.base, cfg->miner_threads, cfg->miner_nice, on_block_found, &node);
    cc_node_signals signals;
    cc_node_signals_start(&signals, node.base, cfg->log);
    node.resync = evtimer_new(node.base, on_resync, &node);
    struct timeval first = {(time_t)cfg->resync_interval_s, 0};
    evtimer_add(node.resync, &first);
    cc_info(cfg->log, "cheese node listening on %s:%d (API on port %d), height %lld, tip %s",
            cfg->host, cfg->port, node.api_port, (long long)cc_chain_height(node.chain),
            cc_chain_tip(node.chain));
    fprintf(stderr, "listening on cheese://%s:%d, JSON API on http://%s:%d/api/\n", cfg->host,
            cfg->port, cfg->host, node.api_port);
    cc_tracker_client_start(node.tracker);
    maybe_mine(&node);
    event_base_dispatch(node.base);
    cc_node_signals_stop(&signals);
    close_node(&node);
    return true;
}
